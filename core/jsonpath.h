/*
 * jsonpath.h: typed reads of fields out of jansson trees, with errors that
 * name the field and what was wrong ("spec.replicas: expected an integer,
 * got string"), so every component reports bad input the same way.
 */
#ifndef KS_CORE_JSONPATH_H
#define KS_CORE_JSONPATH_H

#include <jansson.h>

/* "object", "array", "string", "integer", "number", "boolean", "null";
 * "nothing" for NULL. Static storage. */
const char *ks_json_type_name(const json_t *v);

#endif
