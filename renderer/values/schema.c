/*
 * schema.c: values.schema.json validation as helm 3.17 does it (the
 * gojsonschema library, JSON Schema draft 4-7), for the keywords charts
 * use: type, required, properties, additionalProperties, patternProperties,
 * items (one schema or a tuple), enum, const, minimum/maximum and their
 * exclusive forms, multipleOf, minLength/maxLength, pattern,
 * minItems/maxItems, uniqueItems, minProperties/maxProperties,
 * allOf/anyOf/oneOf/not, boolean schemas and local $ref (#, #/definitions/..,
 * any JSON pointer into the same document).
 *
 * Messages are gojsonschema's ("- image.tag: Invalid type. Expected: string,
 * given: integer"), one line per error, under the chart's name, behind
 * helm's "values don't meet the specifications of the schema(s) in the
 * following chart(s):" line. gojsonschema reports properties in Go map
 * order (random); here they follow the schema's order. Patterns are
 * Go/RE2 syntax run through POSIX extended regexps after rewriting \d and
 * \D, which covers what chart schemas write.
 */
#include "renderer/values.h"

#include "core/error.h"
#include "core/jsonequal.h"
#include "core/str.h"
#include "renderer/goenc.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_DEPTH 200
#define SCHEMA_MAX_ERRORS_BYTES (64u * 1024u)

struct validator {
    const json_t *root;
    struct ks_buf *errors;
    unsigned depth;
    int fatal; /* a schema problem (bad $ref, bad pattern): stops validation */
};

static void add_error(struct validator *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct validator *v, const char *field, const char *fmt, ...)
{
    va_list ap;
    ks_buf_printf(v->errors, "- %s: ", field);
    va_start(ap, fmt);
    ks_buf_vprintf(v->errors, fmt, ap);
    va_end(ap);
    ks_buf_putc(v->errors, '\n');
}

static char *child_field(const char *field, const char *key)
{
    if (strcmp(field, "(root)") == 0)
        return strdup(key);
    return ks_strdupf("%s.%s", field, key);
}

static bool is_integral(const json_t *n)
{
    if (json_is_integer(n))
        return true;
    double d = json_real_value(n);
    return isfinite(d) && d == floor(d);
}

/* gojsonschema's name for the type of a value. */
static const char *type_of(const json_t *n)
{
    switch (json_typeof(n)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return is_integral(n) ? "integer" : "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* JSON equality where 1 and 1.0 are the same number. */
/* JSON Schema equality (enum, const, uniqueItems): numbers by value. */
static bool json_same(const json_t *a, const json_t *b)
{
    return ks_json_equal(a, b, KS_JSON_NUMBERS_BY_VALUE);
}

/* A number in a message (big.Float's %v: up to 10 significant digits). */
static void put_number(struct ks_buf *b, const json_t *n)
{
    if (json_is_integer(n))
        ks_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
    else
        ks_buf_printf(b, "%.10g", json_real_value(n));
}

static char *number_text(const json_t *n)
{
    struct ks_buf b;
    ks_buf_init(&b, 128);
    put_number(&b, n);
    char *s = ks_buf_detach(&b, NULL);
    return s ? s : strdup("?");
}

static char *json_text(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 4096);
    if (ks_gojson_marshal_opts(&b, v, 0, 0) != 0) {
        ks_buf_release(&b);
        return strdup("?");
    }
    char *s = ks_buf_detach(&b, NULL);
    return s ? s : strdup("?");
}

/* "Expected:" text: one name, or "[a,b]" for a list. */
static char *expected_types(const json_t *type)
{
    if (json_is_string(type))
        return strdup(json_string_value(type));
    struct ks_buf b;
    ks_buf_init(&b, 256);
    ks_buf_putc(&b, '[');
    for (size_t i = 0; i < json_array_size(type); i++) {
        if (i)
            ks_buf_putc(&b, ',');
        ks_buf_puts(&b, json_string_value(json_array_get(type, i)));
    }
    ks_buf_putc(&b, ']');
    char *s = ks_buf_detach(&b, NULL);
    return s ? s : strdup("?");
}

static bool type_allows(const json_t *type, const char *given)
{
    size_t n = json_is_array(type) ? json_array_size(type) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_is_array(type) ? json_array_get(type, i) : type;
        const char *name = json_string_value(t);
        if (!name)
            continue;
        if (strcmp(name, given) == 0)
            return true;
        if (strcmp(name, "number") == 0 && strcmp(given, "integer") == 0)
            return true;
    }
    return false;
}

/* Resolves a local $ref ("#", "#/definitions/x", any JSON pointer). */
static const json_t *resolve_ref(struct validator *v, const char *ref)
{
    if (ref[0] != '#') {
        v->fatal =
            ks_error_set(KS_EINVALID, "unable to validate schema: $ref %s is not local", ref);
        return NULL;
    }
    const json_t *cur = v->root;
    const char *p = ref + 1;
    while (*p == '/' && cur) {
        p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char tok[256];
        size_t t = 0;
        for (size_t i = 0; i < n && t + 1 < sizeof(tok); i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                tok[t++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[t++] = p[i];
            }
        }
        tok[t] = '\0';
        if (json_is_array(cur)) {
            char *e = NULL;
            long idx = strtol(tok, &e, 10);
            cur = (e && *e == '\0' && idx >= 0) ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            cur = json_object_get(cur, tok);
        }
        p += n;
    }
    if (!cur || *p) {
        v->fatal = ks_error_set(KS_EINVALID, "unable to validate schema: $ref %s not found", ref);
        return NULL;
    }
    return cur;
}

/* Compiles a Go regexp as POSIX ERE (\d, \D rewritten). */
static int compile_pattern(struct validator *v, regex_t *re, const char *pattern)
{
    struct ks_buf b;
    ks_buf_init(&b, 64 * 1024);
    bool in_class = false;
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '\\' && (p[1] == 'd' || p[1] == 'D')) {
            if (in_class)
                ks_buf_puts(&b, p[1] == 'd' ? "0-9" : "^0-9");
            else
                ks_buf_puts(&b, p[1] == 'd' ? "[0-9]" : "[^0-9]");
            p++;
            continue;
        }
        if (p[0] == '\\' && p[1]) {
            ks_buf_put(&b, p, 2);
            p++;
            continue;
        }
        if (*p == '[')
            in_class = true;
        else if (*p == ']')
            in_class = false;
        ks_buf_putc(&b, *p);
    }
    int rc = ks_buf_error(&b);
    if (rc == 0 && regcomp(re, ks_buf_data(&b), REG_EXTENDED | REG_NOSUB) != 0)
        rc = v->fatal =
            ks_error_set(KS_EINVALID, "unable to validate schema: bad pattern '%s'", pattern);
    ks_buf_release(&b);
    return rc;
}

static bool pattern_matches(struct validator *v, const char *pattern, const char *s, bool *ok)
{
    regex_t re;
    *ok = false;
    if (compile_pattern(v, &re, pattern) != 0)
        return false;
    *ok = true;
    bool m = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void validate(struct validator *v, const json_t *schema, const json_t *value,
                     const char *field);

/* Validates into a scratch buffer: returns whether value passed. */
static bool passes(struct validator *v, const json_t *schema, const json_t *value,
                   const char *field, struct ks_buf *into)
{
    struct ks_buf scratch;
    ks_buf_init(&scratch, SCHEMA_MAX_ERRORS_BYTES);
    struct ks_buf *saved = v->errors;
    v->errors = into ? into : &scratch;
    size_t before = v->errors->len;
    validate(v, schema, value, field);
    bool ok = v->errors->len == before;
    v->errors = saved;
    ks_buf_release(&scratch);
    return ok;
}

/* anyOf / oneOf / allOf / not. */
static void validate_combinators(struct validator *v, const json_t *s, const json_t *value,
                                 const char *field)
{
    const json_t *list;
    size_t i;
    const json_t *sub;
    /* anyOf/oneOf with no match also report the errors of one failing
     * branch (gojsonschema's best-scoring one; the first here) */
    static const char *const kinds[2][2] = {
        {"anyOf", "Must validate at least one schema (anyOf)"},
        {"oneOf", "Must validate one and only one schema (oneOf)"},
    };
    for (int kind = 0; kind < 2; kind++) {
        list = json_object_get(s, kinds[kind][0]);
        if (!json_is_array(list) || json_array_size(list) == 0)
            continue;
        size_t n = 0;
        json_array_foreach(list, i, sub) n += passes(v, sub, value, field, NULL) ? 1 : 0;
        if (kind == 0 ? n > 0 : n == 1)
            continue;
        add_error(v, field, "%s", kinds[kind][1]);
        if (n == 0)
            passes(v, json_array_get(list, 0), value, field, v->errors);
    }
    if ((list = json_object_get(s, "allOf")) && json_is_array(list)) {
        size_t n = 0;
        json_array_foreach(list, i, sub) n += passes(v, sub, value, field, v->errors) ? 1 : 0;
        if (n != json_array_size(list))
            add_error(v, field, "Must validate all the schemas (allOf)");
    }
    if ((sub = json_object_get(s, "not")) && passes(v, sub, value, field, NULL))
        add_error(v, field, "Must not validate the schema (not)");
}

/* const and enum. */
static void validate_common(struct validator *v, const json_t *s, const json_t *value,
                            const char *field)
{
    const json_t *c = json_object_get(s, "const");
    if (c && !json_same(c, value)) {
        char *t = json_text(c);
        add_error(v, field, "%s does not match: %s", field, t);
        free(t);
    }
    const json_t *e = json_object_get(s, "enum");
    if (json_is_array(e)) {
        size_t i;
        const json_t *x;
        json_array_foreach(e, i, x)
        {
            if (json_same(x, value))
                return;
        }
        struct ks_buf b;
        ks_buf_init(&b, 8192);
        json_array_foreach(e, i, x)
        {
            char *t = json_text(x);
            ks_buf_printf(&b, "%s%s", i ? ", " : "", t);
            free(t);
        }
        add_error(v, field, "%s must be one of the following: %s", field, ks_buf_data(&b));
        ks_buf_release(&b);
    }
}

static void validate_number(struct validator *v, const json_t *s, const json_t *value,
                            const char *field)
{
    double x = json_number_value(value);
    const json_t *k;
    if ((k = json_object_get(s, "multipleOf")) && json_is_number(k) && json_number_value(k) > 0) {
        double q = x / json_number_value(k);
        /* (no libm: floor and fabs are inlined, nearbyint and fmax are not) */
        double nearest = floor(q + 0.5), scale = fabs(q) > 1.0 ? fabs(q) : 1.0;
        if (fabs(q - nearest) > 1e-9 * scale) {
            char *t = number_text(k);
            add_error(v, field, "Must be a multiple of %s", t);
            free(t);
        }
    }
    static const struct {
        const char *limit, *exclusive, *incl_msg, *excl_msg;
        int sign;
    } bounds[] = {
        {"maximum", "exclusiveMaximum", "Must be less than or equal to", "Must be less than", 1},
        {"minimum", "exclusiveMinimum", "Must be greater than or equal to", "Must be greater than",
         -1},
    };
    for (size_t i = 0; i < 2; i++) {
        const json_t *lim = json_object_get(s, bounds[i].limit);
        const json_t *ex = json_object_get(s, bounds[i].exclusive);
        bool draft4_exclusive = json_is_true(ex);
        if (json_is_number(ex)) {
            double l = json_number_value(ex);
            if (bounds[i].sign > 0 ? x >= l : x <= l) {
                char *t = number_text(ex);
                add_error(v, field, "%s %s", bounds[i].excl_msg, t);
                free(t);
            }
        }
        if (json_is_number(lim)) {
            double l = json_number_value(lim);
            bool bad = bounds[i].sign > 0 ? (draft4_exclusive ? x >= l : x > l)
                                          : (draft4_exclusive ? x <= l : x < l);
            if (bad) {
                char *t = number_text(lim);
                add_error(v, field, "%s %s",
                          draft4_exclusive ? bounds[i].excl_msg : bounds[i].incl_msg, t);
                free(t);
            }
        }
    }
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void validate_string(struct validator *v, const json_t *s, const json_t *value,
                            const char *field)
{
    size_t n = utf8_count(json_string_value(value));
    const json_t *k;
    if ((k = json_object_get(s, "minLength")) && json_is_number(k) &&
        (double)n < json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "String length must be greater than or equal to %s", t);
        free(t);
    }
    if ((k = json_object_get(s, "maxLength")) && json_is_number(k) &&
        (double)n > json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "String length must be less than or equal to %s", t);
        free(t);
    }
    if ((k = json_object_get(s, "pattern")) && json_is_string(k)) {
        bool ok;
        bool m = pattern_matches(v, json_string_value(k), json_string_value(value), &ok);
        if (ok && !m)
            add_error(v, field, "Does not match pattern '%s'", json_string_value(k));
    }
}

static void validate_array(struct validator *v, const json_t *s, const json_t *value,
                           const char *field)
{
    const json_t *items = json_object_get(s, "items");
    size_t i;
    const json_t *x;
    json_array_foreach(value, i, x)
    {
        const json_t *sub = NULL;
        if (json_is_object(items) || json_is_boolean(items))
            sub = items;
        else if (json_is_array(items))
            sub = i < json_array_size(items) ? json_array_get(items, i)
                                             : json_object_get(s, "additionalItems");
        if (!sub)
            continue;
        char idx[32];
        snprintf(idx, sizeof(idx), "%zu", i);
        char *f = child_field(field, idx);
        if (f)
            validate(v, sub, x, f);
        free(f);
    }
    const json_t *k;
    if ((k = json_object_get(s, "minItems")) && json_is_number(k) &&
        (double)json_array_size(value) < json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "Array must have at least %s items", t);
        free(t);
    }
    if ((k = json_object_get(s, "maxItems")) && json_is_number(k) &&
        (double)json_array_size(value) > json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "Array must have at most %s items", t);
        free(t);
    }
    if (json_is_true(json_object_get(s, "uniqueItems"))) {
        for (size_t a = 0; a < json_array_size(value); a++)
            for (size_t b = a + 1; b < json_array_size(value); b++)
                if (json_same(json_array_get(value, a), json_array_get(value, b))) {
                    add_error(v, field, "array items[%zu,%zu] must be unique", a, b);
                    return;
                }
    }
}

static void validate_object(struct validator *v, const json_t *s, const json_t *value,
                            const char *field)
{
    const json_t *k;
    if ((k = json_object_get(s, "maxProperties")) && json_is_number(k) &&
        (double)json_object_size(value) > json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "Must have at most %s properties", t);
        free(t);
    }
    if ((k = json_object_get(s, "minProperties")) && json_is_number(k) &&
        (double)json_object_size(value) < json_number_value(k)) {
        char *t = number_text(k);
        add_error(v, field, "Must have at least %s properties", t);
        free(t);
    }
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(s, "required"), i, r)
    {
        if (json_is_string(r) && !json_object_get(value, json_string_value(r)))
            add_error(v, field, "%s is required", json_string_value(r));
    }
    const json_t *props = json_object_get(s, "properties");
    const json_t *pprops = json_object_get(s, "patternProperties");
    const json_t *addl = json_object_get(s, "additionalProperties");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)value, key, val)
    {
        bool found = json_object_get(props, key) != NULL;
        bool pmatch = false;
        const char *pat;
        json_t *psub;
        json_object_foreach((json_t *)pprops, pat, psub)
        {
            bool ok;
            if (pattern_matches(v, pat, key, &ok) && ok) {
                pmatch = true;
                char *f = child_field(field, key);
                if (f)
                    validate(v, psub, val, f);
                free(f);
            }
        }
        if (found || pmatch || !addl)
            continue;
        if (json_is_false(addl)) {
            add_error(v, field, "Additional property %s is not allowed", key);
        } else if (json_is_object(addl)) {
            char *f = child_field(field, key);
            if (f)
                validate(v, addl, val, f);
            free(f);
        }
    }
}

static void validate(struct validator *v, const json_t *schema, const json_t *value,
                     const char *field)
{
    if (v->fatal || ks_buf_error(v->errors))
        return;
    if (++v->depth > SCHEMA_MAX_DEPTH) {
        v->fatal = ks_error_set(KS_ELIMIT, "unable to validate schema: nested deeper than %d",
                                SCHEMA_MAX_DEPTH);
        goto done;
    }
    if (json_is_true(schema) || !schema)
        goto done;
    if (json_is_false(schema)) {
        add_error(v, field, "False always fails validation");
        goto done;
    }
    if (!json_is_object(schema))
        goto done;
    const json_t *ref = json_object_get(schema, "$ref");
    if (json_is_string(ref)) {
        const json_t *target = resolve_ref(v, json_string_value(ref));
        if (target)
            validate(v, target, value, field);
        goto done;
    }
    const json_t *type = json_object_get(schema, "type");
    bool typed = json_is_string(type) || json_is_array(type);
    const char *given = type_of(value);
    if (typed && !type_allows(type, given)) {
        char *exp = expected_types(type);
        add_error(v, field, "Invalid type. Expected: %s, given: %s", exp, given);
        free(exp);
        goto done;
    }
    validate_combinators(v, schema, value, field);
    switch (json_typeof(value)) {
    case JSON_INTEGER:
    case JSON_REAL:
        validate_number(v, schema, value, field);
        validate_common(v, schema, value, field);
        break;
    case JSON_STRING:
        validate_string(v, schema, value, field);
        validate_common(v, schema, value, field);
        break;
    case JSON_ARRAY:
        validate_array(v, schema, value, field);
        validate_common(v, schema, value, field);
        break;
    case JSON_OBJECT: {
        validate_object(v, schema, value, field);
        validate_common(v, schema, value, field);
        const char *key;
        json_t *sub;
        json_object_foreach((json_t *)json_object_get(schema, "properties"), key, sub)
        {
            const json_t *child = json_object_get(value, key);
            if (!child)
                continue;
            char *f = child_field(field, key);
            if (f)
                validate(v, sub, child, f);
            free(f);
        }
        break;
    }
    default:
        validate_common(v, schema, value, field);
        break;
    }
done:
    v->depth--;
}

static int validate_chart(struct ks_buf *out, const struct ks_values_chart *ch,
                          const json_t *values, unsigned depth)
{
    if (depth > 64)
        return ks_error_set(KS_ELIMIT, "charts nested deeper than 64 levels");
    if (ch->schema) {
        struct ks_buf errs;
        ks_buf_init(&errs, SCHEMA_MAX_ERRORS_BYTES);
        struct validator v = {.root = ch->schema, .errors = &errs};
        json_t *empty = json_object();
        validate(&v, ch->schema, values ? values : empty, "(root)");
        json_decref(empty);
        int rc = v.fatal;
        if (rc == 0 && ks_buf_error(&errs) == KS_ELIMIT) {
            ks_error_clear();
            ks_buf_reset(&errs);
            ks_buf_puts(&errs, "- (root): too many schema errors to list\n");
        }
        if (rc == 0 && errs.len)
            ks_buf_printf(out, "%s:\n%s", ch->name, ks_buf_data(&errs));
        ks_buf_release(&errs);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < ch->ndeps; i++) {
        const json_t *sub = json_object_get(values, ch->deps[i]->name);
        int rc = validate_chart(out, ch->deps[i], json_is_object(sub) ? sub : NULL, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

int ks_values_validate(const struct ks_values_chart *root, const json_t *values)
{
    struct ks_buf out;
    ks_buf_init(&out, 0);
    int rc = validate_chart(&out, root, values, 0);
    if (rc == 0 && out.len)
        rc = ks_error_set(KS_EINVALID,
                          "values don't meet the specifications of the schema(s) in the following "
                          "chart(s):\n%s",
                          ks_buf_data(&out));
    if (rc == 0)
        rc = ks_buf_error(&out);
    ks_buf_release(&out);
    return rc;
}
