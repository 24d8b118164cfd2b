/*
 * jsonpath.h: typed reads of fields out of jansson trees, with errors that
 * name the field and what was wrong ("spec.replicas: expected an integer,
 * got string"), so every component reports bad input the same way.
 *
 * A path is dot-separated object keys, each optionally followed by array
 * indexes: "spec.replicas", "spec.template.spec.containers[0].image",
 * "matrix[1][2]". Keys cannot contain '.' or '[' (read such keys, e.g.
 * label keys, with json_object_get on the parent). JSON null counts as
 * absent everywhere, as Kubernetes treats it, so `replicas:` with no value
 * in YAML reads as "not set".
 *
 * The getters share one contract:
 *   - present with the right type: *out is set, 0;
 *   - absent (a missing key, an index past the end, null on the way) and
 *     required: KS_EINVALID "<path>: missing";
 *   - absent and optional: 0 and *out is left as it was, so the caller
 *     presets the default: `int64_t n = 1; ks_json_get_int(&n, o,
 *     "spec.replicas", false);`
 *   - present with another type, or a container on the way that is not an
 *     object/array: KS_EINVALID "<path>: expected an integer, got string";
 *   - a malformed path (a programming error): KS_EINVALID naming it.
 * Pointers handed out are borrowed from the tree (no reference taken).
 */
#ifndef KS_CORE_JSONPATH_H
#define KS_CORE_JSONPATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* "object", "array", "string", "integer", "number", "boolean", "null";
 * "nothing" for NULL. Static storage. */
const char *ks_json_type_name(const json_t *v);

/* *out = the value at path, or NULL when absent (see above). Fails only on
 * a wrong container type on the way or a malformed path. */
int ks_json_lookup(json_t **out, const json_t *root, const char *path);

/* A string; *out borrowed from the tree (NUL-terminated; a string holding
 * NUL bytes is cut at the first one). */
int ks_json_get_string(const char **out, const json_t *root, const char *path, bool required);

/* An integer (a JSON real such as 3.0 is not an integer, as in
 * Kubernetes). The _range form also requires min <= value <= max:
 * "spec.replicas: must be between 0 and 2147483647, got -1". */
int ks_json_get_int(int64_t *out, const json_t *root, const char *path, bool required);
int ks_json_get_int_range(int64_t *out, const json_t *root, const char *path, bool required,
                          int64_t min, int64_t max);

int ks_json_get_bool(bool *out, const json_t *root, const char *path, bool required);

/* An object / an array. *out is borrowed and non-const only because
 * jansson's iteration macros take json_t *: do not modify through it. */
int ks_json_get_object(json_t **out, const json_t *root, const char *path, bool required);
int ks_json_get_array(json_t **out, const json_t *root, const char *path, bool required);

#endif
