/*
 * jsonequal.h: deep equality of jansson trees with a choice of what makes
 * two numbers equal. Go's reflect.DeepEqual (Sprig's has, uniq, without,
 * deepEqual) keeps int and float64 apart; JSON Schema (enum, const,
 * uniqueItems) compares numbers by value, so 1 equals 1.0. jansson's own
 * json_equal does neither consistently across the two number types.
 */
#ifndef KS_CORE_JSONEQUAL_H
#define KS_CORE_JSONEQUAL_H

#include <jansson.h>
#include <stdbool.h>

enum ks_json_numbers {
    KS_JSON_NUMBERS_TYPED,    /* an integer never equals a real (Go) */
    KS_JSON_NUMBERS_BY_VALUE, /* numbers are equal when their values are (JSON Schema) */
};

bool ks_json_equal(const json_t *a, const json_t *b, enum ks_json_numbers numbers);

#endif
