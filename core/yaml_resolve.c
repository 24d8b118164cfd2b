/*
 * yaml_resolve.c: the default scalar resolver (YAML 1.2 core schema, as
 * Kubernetes users expect it) and explicit tag handling.
 *
 * Plain scalars are typed by a hand-written scanner rather than regular
 * expressions: it looks at the first byte to rule most strings out at once,
 * which keeps typing cheap on large manifests. Decisions (docs/yaml.md):
 *   - null: null Null NULL ~ and the empty scalar; bool: true/True/TRUE,
 *     false/False/FALSE; yes/no/on/off/y/n stay strings.
 *   - int: [-+]?[0-9]+ in base 10 (so 012 is 12, as YAML 1.2 says), 0x..
 *     hex and 0o.. octal (unsigned). Values outside int64 become reals.
 *   - float: [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?; .inf and
 *     .nan (and floats that overflow a double) are an error naming the
 *     position, because JSON cannot hold them.
 *   - explicit tags !!str !!int !!float !!bool !!null (and "!", which
 *     forces a string) are honoured; any other tag is an error.
 */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

enum num_kind { NUM_NONE, NUM_INT, NUM_FLOAT, NUM_INF_NAN };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool text_is(const char *s, size_t len, const char *a, const char *b, const char *c)
{
    size_t n = strlen(a); /* the three spellings have the same length */
    if (len != n)
        return false;
    return memcmp(s, a, n) == 0 || memcmp(s, b, n) == 0 || memcmp(s, c, n) == 0;
}

static bool is_null_text(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') || text_is(s, len, "null", "Null", "NULL");
}

/* 1 true, 0 false, -1 neither. */
static int bool_text(const char *s, size_t len)
{
    if (text_is(s, len, "true", "True", "TRUE"))
        return 1;
    if (text_is(s, len, "false", "False", "FALSE"))
        return 0;
    return -1;
}

/* Integer in base 16 or 8 after its prefix: int64 when it fits, else real. */
static json_t *based_int(const char *d, size_t n, int base)
{
    uint64_t v = 0;
    double dv = 0;
    bool overflow = false;
    for (size_t i = 0; i < n; i++) {
        int digit = hex_value(d[i]);
        if (!overflow && v > (UINT64_MAX - (uint64_t)digit) / (uint64_t)base)
            overflow = true;
        v = v * (uint64_t)base + (uint64_t)digit;
        dv = dv * base + digit;
    }
    if (!overflow && v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    return json_real(dv);
}

/* Classifies s (no NUL needed inside, but s[len] must be readable as the
 * terminator for strtod). */
static enum num_kind classify_number(const char *s, size_t len)
{
    size_t i = 0;
    if (len >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        for (i = 2; i < len; i++)
            if (s[1] == 'x' ? hex_value(s[i]) < 0 : (s[i] < '0' || s[i] > '7'))
                return NUM_NONE;
        return NUM_INT;
    }
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    const char *rest = s + i;
    size_t rlen = len - i;
    if (text_is(rest, rlen, ".inf", ".Inf", ".INF") ||
        (i == 0 && text_is(rest, rlen, ".nan", ".NaN", ".NAN")))
        return NUM_INF_NAN;
    size_t int_digits = 0, frac_digits = 0;
    while (i < len && is_digit(s[i])) {
        i++;
        int_digits++;
    }
    bool dot = false;
    if (i < len && s[i] == '.') {
        dot = true;
        i++;
        while (i < len && is_digit(s[i])) {
            i++;
            frac_digits++;
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return NUM_NONE;
    bool exp = false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        exp = true;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && is_digit(s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return NUM_NONE;
    }
    if (i != len)
        return NUM_NONE;
    return (dot || exp) ? NUM_FLOAT : NUM_INT;
}

static json_t *decimal_int(const char *s, size_t len)
{
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    bool neg = s[0] == '-';
    uint64_t v = 0;
    for (; i < len; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return json_real(strtod(s, NULL));
        v = v * 10 + digit;
    }
    if (!neg && v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    if (neg && v <= (uint64_t)INT64_MAX + 1)
        return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
    return json_real(strtod(s, NULL));
}

static json_t *non_finite_error(const struct ks_yaml_scalar *sc)
{
    ks_error_set_at(KS_EINVALID, &sc->pos,
                    "YAML float '%.40s' is infinite or NaN, which JSON cannot represent", sc->text);
    return NULL;
}

static json_t *to_number(const struct ks_yaml_scalar *sc, enum num_kind kind, bool as_float)
{
    const char *s = sc->text;
    size_t len = sc->len;
    if (kind == NUM_INF_NAN)
        return non_finite_error(sc);
    json_t *v;
    if (kind == NUM_FLOAT) {
        errno = 0;
        double d = strtod(s, NULL);
        if (!isfinite(d))
            return non_finite_error(sc);
        v = json_real(d);
    } else if (s[0] == '0' && len >= 3 && s[1] == 'x') {
        v = based_int(s + 2, len - 2, 16);
    } else if (s[0] == '0' && len >= 3 && s[1] == 'o') {
        v = based_int(s + 2, len - 2, 8);
    } else {
        v = decimal_int(s, len);
    }
    if (v && as_float && json_is_integer(v)) {
        json_t *r = json_real((double)json_integer_value(v));
        json_decref(v);
        v = r;
    }
    if (!v)
        ks_error_set(KS_ENOMEM, "out of memory building a YAML number");
    return v;
}

static json_t *new_string(const struct ks_yaml_scalar *sc)
{
    json_t *v = json_stringn_nocheck(sc->text, sc->len);
    if (!v)
        ks_error_set(KS_ENOMEM, "out of memory building a YAML string");
    return v;
}

static json_t *resolve_plain(const struct ks_yaml_scalar *sc)
{
    const char *s = sc->text;
    size_t len = sc->len;
    if (len == 0)
        return json_null();
    switch (s[0]) {
    case '~':
    case 'n':
    case 'N':
        if (is_null_text(s, len))
            return json_null();
        break;
    case 't':
    case 'T':
    case 'f':
    case 'F': {
        int b = bool_text(s, len);
        if (b >= 0)
            return json_boolean(b);
        break;
    }
    case '+':
    case '-':
    case '.':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        enum num_kind kind = classify_number(s, len);
        if (kind != NUM_NONE)
            return to_number(sc, kind, false);
        break;
    }
    default:
        break;
    }
    return new_string(sc);
}

/* "int" for both "tag:yaml.org,2002:int" and "!!int"; NULL for other tags. */
static const char *core_tag_name(const char *tag)
{
    size_t plen = strlen(YAML_TAG_PREFIX);
    if (strncmp(tag, YAML_TAG_PREFIX, plen) == 0)
        return tag + plen;
    if (tag[0] == '!' && tag[1] == '!')
        return tag + 2;
    return NULL;
}

static json_t *tag_mismatch(const struct ks_yaml_scalar *sc, const char *name)
{
    ks_error_set_at(KS_EINVALID, &sc->pos, "YAML value '%.40s' is not a valid !!%s", sc->text,
                    name);
    return NULL;
}

static json_t *resolve_tagged(const struct ks_yaml_scalar *sc)
{
    const char *name = core_tag_name(sc->tag);
    if (strcmp(sc->tag, "!") == 0 || (name && strcmp(name, "str") == 0))
        return new_string(sc);
    if (!name) {
        ks_error_set_at(KS_EINVALID, &sc->pos, "unknown YAML tag '%.60s'", sc->tag);
        return NULL;
    }
    if (strcmp(name, "null") == 0)
        return is_null_text(sc->text, sc->len) ? json_null() : tag_mismatch(sc, name);
    if (strcmp(name, "bool") == 0) {
        int b = bool_text(sc->text, sc->len);
        return b >= 0 ? json_boolean(b) : tag_mismatch(sc, name);
    }
    if (strcmp(name, "int") == 0 || strcmp(name, "float") == 0) {
        bool as_float = name[0] == 'f';
        enum num_kind kind = sc->len ? classify_number(sc->text, sc->len) : NUM_NONE;
        if (kind == NUM_NONE || (!as_float && kind != NUM_INT))
            return tag_mismatch(sc, name);
        return to_number(sc, kind, as_float);
    }
    if (strcmp(name, "map") == 0 || strcmp(name, "seq") == 0) {
        ks_error_set_at(KS_EINVALID, &sc->pos, "YAML tag !!%s used on a scalar", name);
        return NULL;
    }
    ks_error_set_at(KS_EINVALID, &sc->pos, "unsupported YAML tag '%.60s'", sc->tag);
    return NULL;
}

json_t *ks_yaml_resolve_core(void *ctx, const struct ks_yaml_scalar *scalar)
{
    (void)ctx;
    if (scalar->tag)
        return resolve_tagged(scalar);
    if (!scalar->plain)
        return new_string(scalar);
    return resolve_plain(scalar);
}
