/*
 * jsonpath.c: typed field access on jansson trees (see jsonpath.h).
 *
 * One walker (ks_json_lookup) resolves a path and reports a wrong
 * container type with the path prefix that led to it; every typed getter
 * is that walk plus one type check, so all of them word their errors the
 * same way. Paths are parsed in place (json_object_getn), never copied.
 */
#include "core/jsonpath.h"
#include "core/error.h"

#include <string.h>

const char *ks_json_type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array",   "string",  "integer",
                                        "number", "boolean", "boolean", "null"};
    if (!v)
        return "nothing";
    return names[json_typeof(v)];
}

static int bad_path(const char *path, const char *why)
{
    return ks_error_set(KS_EINVALID, "invalid JSON path \"%s\": %s", path, why);
}

/* The container reached through path[0..prefix) is not what the next step
 * needs. */
static int wrong_container(const char *path, size_t prefix, const char *want, const json_t *got)
{
    if (prefix == 0)
        return ks_error_set(KS_EINVALID, "expected %s, got %s (reading %s)", want,
                            ks_json_type_name(got), path);
    return ks_error_set(KS_EINVALID, "%.*s: expected %s, got %s", (int)prefix, path, want,
                        ks_json_type_name(got));
}

/* Reads "[N]" at *pp into *idx (SIZE_MAX when N does not fit: past any end). */
static int read_index(size_t *idx, const char **pp, const char *path)
{
    const char *p = *pp + 1;
    size_t v = 0;
    if (*p < '0' || *p > '9')
        return bad_path(path, "'[' must be followed by digits and ']'");
    for (; *p >= '0' && *p <= '9'; p++)
        v = v > (SIZE_MAX - 9) / 10 ? SIZE_MAX : v * 10 + (size_t)(*p - '0');
    if (*p != ']')
        return bad_path(path, "'[' must be followed by digits and ']'");
    *idx = v;
    *pp = p + 1;
    return 0;
}

int ks_json_lookup(json_t **out, const json_t *root, const char *path)
{
    json_t *cur = (json_t *)root; /* jansson getters are not const-correct */
    const char *p = path;
    int rc;
    if (!*path)
        return bad_path(path, "empty");
    while (*p) {
        size_t n = strcspn(p, ".[");
        if (n == 0)
            return bad_path(path, "empty key");
        if (cur) {
            if (!json_is_object(cur))
                return wrong_container(path, p == path ? 0 : (size_t)(p - path - 1), "an object",
                                       cur);
            cur = json_object_getn(cur, p, n);
        }
        p += n;
        while (*p == '[') {
            size_t idx = 0, prefix = (size_t)(p - path);
            if ((rc = read_index(&idx, &p, path)))
                return rc;
            if (cur && json_is_null(cur))
                cur = NULL;
            if (cur) {
                if (!json_is_array(cur))
                    return wrong_container(path, prefix, "an array", cur);
                cur = json_array_get(cur, idx);
            }
        }
        if (cur && json_is_null(cur))
            cur = NULL;
        if (*p == '.' && p[1] == '\0')
            return bad_path(path, "ends with '.'");
        if (*p == '.')
            p++;
        else if (*p)
            return bad_path(path, "']' must be followed by '.', '[' or the end");
    }
    *out = cur;
    return 0;
}

enum want { WANT_STRING, WANT_INT, WANT_BOOL, WANT_OBJECT, WANT_ARRAY };

static bool has_type(const json_t *v, enum want w)
{
    switch (w) {
    case WANT_STRING:
        return json_is_string(v);
    case WANT_INT:
        return json_is_integer(v);
    case WANT_BOOL:
        return json_is_boolean(v);
    case WANT_OBJECT:
        return json_is_object(v);
    case WANT_ARRAY:
        return json_is_array(v);
    }
    return false;
}

/* The one contract of all getters (see jsonpath.h); *out = NULL when
 * absent and optional. */
static int get_typed(json_t **out, const json_t *root, const char *path, bool required, enum want w)
{
    static const char *const want_name[] = {"a string", "an integer", "a boolean", "an object",
                                            "an array"};
    json_t *v = NULL;
    int rc = ks_json_lookup(&v, root, path);
    if (rc)
        return rc;
    *out = NULL;
    if (!v)
        return required ? ks_error_set(KS_EINVALID, "%s: missing", path) : 0;
    if (!has_type(v, w))
        return ks_error_set(KS_EINVALID, "%s: expected %s, got %s", path, want_name[w],
                            ks_json_type_name(v));
    *out = v;
    return 0;
}

int ks_json_get_string(const char **out, const json_t *root, const char *path, bool required)
{
    json_t *v;
    int rc = get_typed(&v, root, path, required, WANT_STRING);
    if (!rc && v)
        *out = json_string_value(v);
    return rc;
}

int ks_json_get_int_range(int64_t *out, const json_t *root, const char *path, bool required,
                          int64_t min, int64_t max)
{
    json_t *v;
    int rc = get_typed(&v, root, path, required, WANT_INT);
    if (rc || !v)
        return rc;
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return ks_error_set(KS_EINVALID, "%s: must be between %lld and %lld, got %lld", path,
                            (long long)min, (long long)max, (long long)n);
    *out = n;
    return 0;
}

int ks_json_get_int(int64_t *out, const json_t *root, const char *path, bool required)
{
    return ks_json_get_int_range(out, root, path, required, INT64_MIN, INT64_MAX);
}

int ks_json_get_bool(bool *out, const json_t *root, const char *path, bool required)
{
    json_t *v;
    int rc = get_typed(&v, root, path, required, WANT_BOOL);
    if (!rc && v)
        *out = json_is_true(v);
    return rc;
}

int ks_json_get_object(json_t **out, const json_t *root, const char *path, bool required)
{
    json_t *v;
    int rc = get_typed(&v, root, path, required, WANT_OBJECT);
    if (!rc && v)
        *out = v;
    return rc;
}

int ks_json_get_array(json_t **out, const json_t *root, const char *path, bool required)
{
    json_t *v;
    int rc = get_typed(&v, root, path, required, WANT_ARRAY);
    if (!rc && v)
        *out = v;
    return rc;
}
