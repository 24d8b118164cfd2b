/*
 * jsonpath.c: typed field access on jansson trees (see jsonpath.h).
 */
#include "core/jsonpath.h"

const char *ks_json_type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array",   "string",  "integer",
                                        "number", "boolean", "boolean", "null"};
    if (!v)
        return "nothing";
    return names[json_typeof(v)];
}
