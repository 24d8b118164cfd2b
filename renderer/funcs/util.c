/*
 * util.c: the conversions and argument checks every template function
 * shares (see funcs.h). They reproduce Go's reflect-based rules and the
 * spf13/cast conversions Sprig relies on, so that `int "12"`, `trunc 63`
 * with a float64 argument or `quote nil` behave as in Helm.
 */
#include "renderer/funcs/funcs.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/error.h"
#include "renderer/gofmt.h"

/* Go's type name of a value, as error messages print it: the engine's
 * names (int64 marks and host types included), with an untyped nil shown as
 * interface {} the way Sprig's messages show it. */
const char *ks_funcs_gotype(const json_t *v)
{
    return !v || json_is_null(v) ? "interface {}" : ks_gofmt_type_name(v);
}

const char *ks_funcs_gokind(const json_t *v)
{
    if (!v)
        return "invalid";
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_ARRAY:
        return "slice";
    case JSON_OBJECT:
        return "map";
    default:
        return "invalid";
    }
}

static int wrong_type(struct ks_tpl_call *call, const char *want, const json_t *v)
{
    return ks_tpl_call_error(call, KS_EINVALID, "wrong type for value; expected %s; got %s", want,
                             ks_funcs_gotype(v));
}

int ks_funcs_arg_str(const char **out, size_t *out_len, struct ks_tpl_call *call, const json_t *v)
{
    if (!json_is_string(v))
        return wrong_type(call, "string", v);
    *out = json_string_value(v);
    if (out_len)
        *out_len = json_string_length(v);
    return 0;
}

int ks_funcs_arg_int(long long *out, struct ks_tpl_call *call, const json_t *v)
{
    if (!json_is_integer(v))
        return wrong_type(call, "int", v);
    *out = (long long)json_integer_value(v);
    return 0;
}

int ks_funcs_arg_bool(bool *out, struct ks_tpl_call *call, const json_t *v)
{
    if (!json_is_boolean(v))
        return wrong_type(call, "bool", v);
    *out = json_is_true(v);
    return 0;
}

int ks_funcs_arg_map(json_t **out, struct ks_tpl_call *call, const json_t *v)
{
    if (!json_is_object(v))
        return wrong_type(call, "map[string]interface {}", v);
    *out = (json_t *)v;
    return 0;
}

int ks_funcs_arg_list(json_t **out, struct ks_tpl_call *call, const json_t *v)
{
    if (!json_is_array(v) && !json_is_null(v))
        return wrong_type(call, "[]interface {}", v);
    *out = (json_t *)v;
    return 0;
}

int ks_funcs_args_int_str(long long *i, const char **s, size_t *n, struct ks_tpl_call *call,
                          json_t *const *args)
{
    int rc = ks_funcs_arg_int(i, call, args[0]);
    return rc ? rc : ks_funcs_arg_str(s, n, call, args[1]);
}

int ks_funcs_args_str_str(const char **a, size_t *an, const char **b, size_t *bn,
                          struct ks_tpl_call *call, json_t *const *args)
{
    int rc = ks_funcs_arg_str(a, an, call, args[0]);
    return rc ? rc : ks_funcs_arg_str(b, bn, call, args[1]);
}

int ks_funcs_strval(struct ks_buf *out, const json_t *v)
{
    if (json_is_string(v))
        return ks_buf_put(out, json_string_value(v), json_string_length(v));
    return ks_gofmt_print_value(out, v ? v : json_null());
}

static int push_strval(json_t *list, const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    int rc = ks_funcs_strval(&b, v);
    if (rc == 0)
        rc = ks_buf_error(&b);
    if (rc == 0 && json_array_append_new(list, json_stringn_nocheck(ks_buf_data(&b), b.len)))
        rc = ks_error_set(KS_ENOMEM, "out of memory");
    ks_buf_release(&b);
    return rc;
}

int ks_funcs_strslice(json_t **out, const json_t *v)
{
    int rc = 0;
    json_t *list = json_array();
    if (!list)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (json_is_null(item))
                continue;
            if ((rc = push_strval(list, item)) != 0)
                goto done;
        }
    } else if (v && !json_is_null(v)) {
        rc = push_strval(list, v);
    }
done:
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* cast's trimZeroDecimal: "12.000" -> "12"; anything else unchanged. */
static void trim_zero_decimal(char *s)
{
    char *dot = strchr(s, '.');
    if (!dot || dot == s)
        return;
    for (const char *p = dot + 1; *p; p++)
        if (*p != '0')
            return;
    *dot = '\0';
}

/* strconv.ParseInt(s, 0, 64): sign, base prefixes 0x 0o 0b and leading 0
 * for octal, underscores between digits (base 0 allows them). */
static int parse_go_int(int64_t *out, const char *s)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    int base = 10;
    bool prefixed = false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16, p += 2, prefixed = true;
    } else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8, p += 2, prefixed = true;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2, p += 2, prefixed = true;
    } else if (p[0] == '0' && p[1]) {
        base = 8, p += 1, prefixed = true;
    }
    if (!*p)
        return -1;
    uint64_t acc = 0;
    bool last_us = prefixed; /* "0x_1" and "1_000" are valid, "_1", "1__0", "1_" are not */
    bool any = false;
    for (; *p; p++) {
        int d;
        if (*p == '_') {
            if ((!prefixed && !any) || (last_us && any))
                return -1;
            last_us = true;
            continue;
        }
        last_us = false;
        any = true;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'z')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'Z')
            d = *p - 'A' + 10;
        else
            return -1;
        if (d >= base)
            return -1;
        if (acc > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -1;
        acc = acc * (uint64_t)base + (uint64_t)d;
    }
    if (last_us && p[-1] == '_')
        return -1;
    if (neg ? acc > (uint64_t)INT64_MAX + 1 : acc > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

int64_t ks_funcs_float_to_int64(double f)
{
    if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)f;
}

int64_t ks_funcs_toint64(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return (int64_t)json_integer_value(v);
    case JSON_REAL:
        return ks_funcs_float_to_int64(json_real_value(v));
    case JSON_TRUE:
        return 1;
    case JSON_STRING: {
        size_t n = json_string_length(v);
        char *s = malloc(n + 1);
        int64_t r = 0;
        if (!s)
            return 0;
        memcpy(s, json_string_value(v), n + 1);
        if (strlen(s) == n) {
            trim_zero_decimal(s);
            if (parse_go_int(&r, s) != 0)
                r = 0;
        }
        free(s);
        return r;
    }
    default:
        return 0;
    }
}

/* strconv.ParseFloat(s, 64): decimal and hex floats, inf/infinity/nan,
 * no underscores (Go allows them only with a base prefix; refused). */
static double parse_go_float(const char *s, bool *ok)
{
    *ok = false;
    if (!*s || strchr(s, '_') || strchr(s, ' ') || strchr(s, '\t') || strchr(s, '\n'))
        return 0;
    if (strchr(s, '(')) /* C's "nan(chars)" form; Go has none */
        return 0;
    errno = 0;
    char *end = NULL;
    double f = strtod(s, &end);
    if (end == s || *end)
        return 0;
    if (errno == ERANGE && fabs(f) > 1.0)
        return 0; /* Go: "value out of range" error, cast gives 0 */
    *ok = true;
    return f;
}

double ks_funcs_tofloat64(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return (double)json_integer_value(v);
    case JSON_REAL:
        return json_real_value(v);
    case JSON_TRUE:
        return 1;
    case JSON_STRING: {
        bool ok;
        if (strlen(json_string_value(v)) != json_string_length(v))
            return 0;
        double f = parse_go_float(json_string_value(v), &ok);
        return ok ? f : 0;
    }
    default:
        return 0;
    }
}

bool ks_funcs_empty(const json_t *v)
{
    if (!v)
        return true;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0;
    case JSON_TRUE:
        return false;
    case JSON_FALSE:
        return true;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        return json_object_size(v) == 0;
    default:
        return true;
    }
}

int ks_funcs_nomem(struct ks_tpl_call *call)
{
    return ks_tpl_call_error(call, KS_ENOMEM, "out of memory");
}

int ks_funcs_ret(json_t **out, struct ks_tpl_call *call, json_t *v)
{
    if (!v)
        return ks_funcs_nomem(call);
    *out = v;
    return 0;
}

int ks_funcs_ret_str(json_t **out, struct ks_tpl_call *call, const char *s, size_t len)
{
    return ks_funcs_ret(out, call, json_stringn_nocheck(s, len));
}

int ks_funcs_buf_error(struct ks_tpl_call *call, const struct ks_buf *b)
{
    if (b->error == KS_ELIMIT)
        return ks_tpl_call_error(call, KS_ELIMIT, "result exceeds the limit of %zu bytes",
                                 b->limit);
    return ks_funcs_nomem(call);
}

int ks_funcs_ret_buf(json_t **out, struct ks_tpl_call *call, struct ks_buf *b)
{
    int rc;
    if (ks_buf_error(b))
        rc = ks_funcs_buf_error(call, b);
    else
        rc = ks_funcs_ret_str(out, call, ks_buf_data(b), ks_buf_len(b));
    ks_buf_release(b);
    return rc;
}

uint32_t ks_funcs_utf8_decode(const char *str, size_t len, size_t *width)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0) {
        *width = 0;
        return 0xFFFD;
    }
    *width = 1;
    if (s[0] < 0x80)
        return s[0];
    uint32_t r;
    size_t n;
    uint32_t min;
    if ((s[0] & 0xE0) == 0xC0)
        r = s[0] & 0x1F, n = 2, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        r = s[0] & 0x0F, n = 3, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        r = s[0] & 0x07, n = 4, min = 0x10000;
    else
        return 0xFFFD;
    if (len < n)
        return 0xFFFD;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return 0xFFFD;
    *width = n;
    return r;
}

int ks_funcs_utf8_put(struct ks_buf *b, uint32_t r)
{
    char tmp[4];
    size_t n;
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        tmp[0] = (char)r, n = 1;
    } else if (r < 0x800) {
        tmp[0] = (char)(0xC0 | (r >> 6)), tmp[1] = (char)(0x80 | (r & 0x3F)), n = 2;
    } else if (r < 0x10000) {
        tmp[0] = (char)(0xE0 | (r >> 12)), tmp[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (r & 0x3F)), n = 3;
    } else {
        tmp[0] = (char)(0xF0 | (r >> 18)), tmp[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        tmp[2] = (char)(0x80 | ((r >> 6) & 0x3F)), tmp[3] = (char)(0x80 | (r & 0x3F)), n = 4;
    }
    return ks_buf_put(b, tmp, n);
}

bool ks_funcs_is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

const struct ks_tpl_func_def *ks_funcs_find(const struct ks_tpl_func_def *table, const char *name)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

int ks_funcs_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return ks_error_set(KS_ERROR, "random number generator failed: %s",
                                got < 0 ? strerror(errno) : "no bytes");
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
