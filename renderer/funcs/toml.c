/*
 * toml.c: Helm's toToml, i.e. BurntSushi/toml's encoder on template
 * values: a table's plain keys first (sorted), then its sub-tables and
 * arrays of tables (sorted), headers indented two spaces per level, a
 * blank line before top-level tables and every array-of-tables element,
 * nil values left out, floats always with a decimal point, inline arrays
 * and inline tables for lists that are not all tables. Encoding errors
 * are returned as the result text, as Helm does.
 */
#include "renderer/funcs/funcs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "renderer/gofmt.h"

#define TOML_MAX_DEPTH 100

struct toml {
    struct ks_buf *b;
    bool written;
    const char *error; /* first encoding error (returned as the result) */
};

static void put(struct toml *t, const char *s, size_t n)
{
    ks_buf_put(t->b, s, n);
    t->written = true;
}

static void newline(struct toml *t)
{
    if (t->written)
        ks_buf_putc(t->b, '\n');
}

static void indent(struct toml *t, size_t depth)
{
    for (size_t i = 1; i < depth; i++)
        put(t, "  ", 2);
}

static void quoted(struct toml *t, const char *s, size_t n)
{
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            put(t, "\\\"", 2);
            break;
        case '\\':
            put(t, "\\\\", 2);
            break;
        case '\b':
            put(t, "\\b", 2);
            break;
        case '\t':
            put(t, "\\t", 2);
            break;
        case '\n':
            put(t, "\\n", 2);
            break;
        case '\f':
            put(t, "\\f", 2);
            break;
        case '\r':
            put(t, "\\r", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7F)
                ks_buf_printf(t->b, "\\u%04x", c);
            else
                put(t, (const char *)&c, 1);
        }
    }
    put(t, "\"", 1);
}

static bool bare(const char *k, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static void key(struct toml *t, const char *k, size_t n)
{
    if (bare(k, n))
        put(t, k, n);
    else
        quoted(t, k, n);
}

/* The dotted path of a table header. */
static void path(struct toml *t, const json_t *keys)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        if (i)
            put(t, ".", 1);
        key(t, json_string_value(k), json_string_length(k));
    }
}

static bool is_table(const json_t *v)
{
    return json_is_object(v);
}

/* An array of tables: non-empty, every item a table. */
static bool is_table_array(const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!is_table(json_array_get(v, i)))
            return false;
    return true;
}

static void element(struct toml *t, const json_t *v, int depth);

static void inline_table(struct toml *t, const json_t *v, int depth)
{
    json_t *keys = json_array();
    const char *k;
    json_t *item;
    if (!keys)
        return;
    json_object_foreach((json_t *)v, k, item) json_array_append_new(keys, json_string(k));
    ks_funcs_sort_strings(keys);
    put(t, "{", 1);
    bool first = true;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *kj = json_array_get(keys, i);
        json_t *val = json_object_get(v, json_string_value(kj));
        if (json_is_null(val))
            continue;
        if (!first)
            put(t, ", ", 2);
        first = false;
        key(t, json_string_value(kj), json_string_length(kj));
        put(t, " = ", 3);
        element(t, val, depth + 1);
    }
    put(t, "}", 1);
    json_decref(keys);
}

static void element(struct toml *t, const json_t *v, int depth)
{
    char tmp[64];
    if (depth > TOML_MAX_DEPTH) {
        t->error = "toml: nesting too deep";
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        quoted(t, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        put(t, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v)));
        break;
    case JSON_REAL: {
        struct ks_buf f;
        ks_buf_init(&f, 1024);
        ks_gofmt_float(&f, json_real_value(v), 'f', -1);
        put(t, ks_buf_data(&f), f.len);
        if (!strchr(ks_buf_data(&f), '.'))
            put(t, ".0", 2);
        ks_buf_release(&f);
        break;
    }
    case JSON_TRUE:
        put(t, "true", 4);
        break;
    case JSON_FALSE:
        put(t, "false", 5);
        break;
    case JSON_ARRAY:
        put(t, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            if (json_is_null(item)) {
                t->error = "toml: cannot encode array with nil element";
                return;
            }
            if (i)
                put(t, ", ", 2);
            element(t, item, depth + 1);
        }
        put(t, "]", 1);
        break;
    case JSON_OBJECT:
        inline_table(t, v, depth);
        break;
    default:
        break;
    }
}

static void table(struct toml *t, json_t *keys, const json_t *v, int depth);

/* Writes a table's contents: plain keys, then tables and arrays of
 * tables; keys is the path of this table. */
static void contents(struct toml *t, json_t *keys, const json_t *v, int depth)
{
    json_t *names = json_array();
    const char *k;
    json_t *item;
    if (!names)
        return;
    json_object_foreach((json_t *)v, k, item) json_array_append_new(names, json_string(k));
    ks_funcs_sort_strings(names);
    for (int pass = 0; pass < 2 && !t->error; pass++) {
        for (size_t i = 0; i < json_array_size(names) && !t->error; i++) {
            json_t *kj = json_array_get(names, i);
            json_t *val = json_object_get(v, json_string_value(kj));
            bool sub = is_table(val) || is_table_array(val);
            if (json_is_null(val) || sub != (pass == 1))
                continue;
            json_array_append(keys, kj);
            if (!sub) {
                indent(t, json_array_size(keys));
                key(t, json_string_value(kj), json_string_length(kj));
                put(t, " = ", 3);
                element(t, val, depth + 1);
                put(t, "\n", 1);
            } else if (is_table(val)) {
                if (json_array_size(keys) == 1)
                    newline(t);
                table(t, keys, val, depth + 1);
            } else {
                for (size_t j = 0; j < json_array_size(val) && !t->error; j++) {
                    newline(t);
                    indent(t, json_array_size(keys));
                    put(t, "[[", 2);
                    path(t, keys);
                    put(t, "]]\n", 3);
                    contents(t, keys, json_array_get(val, j), depth + 1);
                }
            }
            json_array_remove(keys, json_array_size(keys) - 1);
        }
    }
    json_decref(names);
}

static void table(struct toml *t, json_t *keys, const json_t *v, int depth)
{
    if (depth > TOML_MAX_DEPTH) {
        t->error = "toml: nesting too deep";
        return;
    }
    indent(t, json_array_size(keys));
    put(t, "[", 1);
    path(t, keys);
    put(t, "]\n", 2);
    contents(t, keys, v, depth);
}

int ks_funcs_to_toml(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const json_t *v = args[0];
    if (json_is_null(v))
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "reflect: call of reflect.Value.Type on zero Value");
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    struct toml t = {&b, false, NULL};
    json_t *keys = json_array();
    if (!keys) {
        ks_buf_release(&b);
        return ks_funcs_nomem(call);
    }
    if (json_is_object(v))
        contents(&t, keys, v, 0);
    else
        element(&t, v, 0);
    json_decref(keys);
    if (t.error) {
        ks_buf_reset(&b);
        ks_buf_puts(&b, t.error);
    }
    return ks_funcs_ret_buf(out, call, &b);
}
