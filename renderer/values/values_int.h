/*
 * values_int.h: helpers shared by the files of renderer/values/ only.
 */
#ifndef KS_RENDERER_VALUES_INT_H
#define KS_RENDERER_VALUES_INT_H

#include <jansson.h>

/* Go's name for the dynamic type of a value as helm holds it ("string",
 * "int64" for --set integers, "float64", "bool", "[]interface {}",
 * "map[string]interface {}", "nil"), as Go prints it in error texts. */
const char *ks_values_go_type(const json_t *v);

#endif
