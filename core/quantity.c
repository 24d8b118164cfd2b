/*
 * quantity.c: exact parsing and canonical printing of Kubernetes resource
 * quantities (see quantity.h).
 *
 * A quantity is read into its significant decimal digits plus a power of
 * ten and a power of two (value = digits * 10^exp10 * 2^exp2). Scaling to
 * the requested unit is then done on the digit string itself: the binary
 * factor is applied by long multiplication, a negative power of ten drops
 * digits (rounding up when any dropped digit is non-zero), a positive one
 * appends zeros. Only the final integer is converted to int64, with an
 * overflow check, so there is no floating point and no intermediate
 * overflow however the input is written ("0.000001Ki", "1e-9999").
 */
#include "core/quantity.h"
#include "core/error.h"
#include "core/jsonpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digits of the scaled value: the input's digits plus what 2^60 adds (19). */
#define MAX_DIGITS (KS_QUANTITY_MAX_LEN + 24)
/* Exponents beyond this already over- or underflow any int64 result. */
#define EXP_CLAMP 100000L

struct qty {
    bool negative;
    unsigned char digit[MAX_DIGITS]; /* most significant first, no leading zero */
    int ndigits;                     /* 0 means the value is zero */
    long exp10;
    int exp2;
};

struct suffix {
    const char *text;
    int exp10;
    int exp2;
};

static const struct suffix suffixes[] = {
    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"", 0, 0},    {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
};

#define SUFFIX_LIST "n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int bad(const char *s, const char *why)
{
    return ks_error_set(KS_EINVALID, "quantity \"%s\": %s", s, why);
}

/* Reads "e3", "E-2", "e+6": *exp gets the value, clamped to +-EXP_CLAMP.
 * Returns false when text is not exactly an exponent. */
static bool read_exponent(long *exp, const char *text)
{
    const char *p = text;
    bool neg = false;
    long v = 0;
    if (*p != 'e' && *p != 'E')
        return false;
    p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!is_digit(*p))
        return false;
    for (; is_digit(*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > EXP_CLAMP)
            v = EXP_CLAMP;
    }
    if (*p)
        return false;
    *exp = neg ? -v : v;
    return true;
}

/* Explains why suffix text is not one of the valid ones. */
static int bad_suffix(const char *s, const char *text)
{
    if (strpbrk(text, " \t\r\n"))
        return bad(s, "must not contain spaces");
    if (text[0] == '.')
        return bad(s, "more than one decimal point");
    if ((text[0] == 'e' || text[0] == 'E') &&
        (is_digit(text[1]) || text[1] == '+' || text[1] == '-' || text[1] == '\0'))
        return ks_error_set(KS_EINVALID,
                            "quantity \"%s\": exponent \"%s\" must be e or E, an optional sign "
                            "and whole decimal digits",
                            s, text);
    return ks_error_set(KS_EINVALID,
                        "quantity \"%s\": unknown suffix \"%s\" (valid: " SUFFIX_LIST ")", s, text);
}

static int qty_parse(struct qty *q, const char *s)
{
    const char *p = s;
    int seen = 0; /* digits read, zeros included */
    size_t len = strlen(s);
    memset(q, 0, sizeof(*q));
    if (len == 0)
        return ks_error_set(KS_EINVALID, "quantity \"\": empty string");
    if (len > KS_QUANTITY_MAX_LEN)
        return ks_error_set(KS_EINVALID, "quantity \"%.32s...\": longer than %d characters", s,
                            KS_QUANTITY_MAX_LEN);
    if (*p == '+' || *p == '-')
        q->negative = *p++ == '-';
    for (; is_digit(*p); p++, seen++) {
        if (q->ndigits || *p != '0')
            q->digit[q->ndigits++] = (unsigned char)(*p - '0');
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++, seen++) {
            if (q->ndigits || *p != '0')
                q->digit[q->ndigits++] = (unsigned char)(*p - '0');
            q->exp10--;
        }
    }
    if (!seen)
        return bad(s, *p == ' ' ? "must not contain spaces" : "no digits before the suffix");
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcmp(p, suffixes[i].text) == 0) {
            q->exp10 += suffixes[i].exp10;
            q->exp2 = suffixes[i].exp2;
            return 0;
        }
    }
    long e;
    if (!read_exponent(&e, p))
        return bad_suffix(s, p);
    q->exp10 += e;
    return 0;
}

/* digit[0..n) *= m (m small), growing at the front; returns the new length. */
static int digits_mul(unsigned char *digit, int n, unsigned m)
{
    unsigned carry = 0;
    for (int i = n - 1; i >= 0; i--) {
        unsigned v = digit[i] * m + carry;
        digit[i] = (unsigned char)(v % 10);
        carry = v / 10;
    }
    int extra = 0;
    for (unsigned c = carry; c; c /= 10)
        extra++;
    memmove(digit + extra, digit, (size_t)n);
    for (int i = extra - 1; i >= 0; i--, carry /= 10)
        digit[i] = (unsigned char)(carry % 10);
    return n + extra;
}

/* The quantity in units of 10^-scale, rounded away from zero. */
static int qty_scaled(int64_t *out, const struct qty *q, int scale, const char *s, const char *unit)
{
    unsigned char digit[MAX_DIGITS];
    int n = q->ndigits;
    uint64_t v = 0;
    bool round_up = false;
    if (n == 0) {
        *out = 0;
        return 0;
    }
    memcpy(digit, q->digit, (size_t)n);
    for (int i = 0; i < q->exp2; i += 10)
        n = digits_mul(digit, n, 1024);
    long e = q->exp10 + scale;
    int keep = n; /* integer digits taken from digit[] */
    if (e < 0) {
        keep = -e >= n ? 0 : n + (int)e;
        for (int i = keep; i < n && !round_up; i++)
            round_up = digit[i] != 0;
    }
    if (keep + (e > 0 ? e : 0) > 19) /* 10^19 > INT64_MAX */
        goto overflow;
    for (int i = 0; i < keep; i++)
        v = v * 10 + digit[i];
    for (long i = 0; e > 0 && i < e; i++)
        v *= 10;
    v += round_up;
    if (v > (uint64_t)INT64_MAX)
        goto overflow;
    *out = q->negative ? -(int64_t)v : (int64_t)v;
    return 0;
overflow:
    return ks_error_set(KS_EINVALID,
                        "quantity \"%s\": too large (does not fit a 64-bit count of %s)", s, unit);
}

static int parse_scaled(int64_t *out, const char *s, int scale)
{
    struct qty q;
    int rc = qty_parse(&q, s);
    if (rc)
        return rc;
    return qty_scaled(out, &q, scale, s, scale ? "milli-units" : "units");
}

int ks_quantity_parse_milli(int64_t *out, const char *s)
{
    return parse_scaled(out, s, 3);
}

int ks_quantity_parse_value(int64_t *out, const char *s)
{
    return parse_scaled(out, s, 0);
}

/* Shortest "%.*g" text that reads back as exactly d. */
static void shortest_decimal(char *dst, size_t cap, double d)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(dst, cap, "%.*g", prec, d);
        if (strtod(dst, NULL) == d)
            return;
    }
}

static int json_scaled(int64_t *out, const json_t *v, int scale)
{
    char text[64];
    if (v && json_is_string(v))
        return parse_scaled(out, json_string_value(v), scale);
    if (v && json_is_integer(v)) {
        snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return parse_scaled(out, text, scale);
    }
    if (v && json_is_real(v)) {
        shortest_decimal(text, sizeof(text), json_real_value(v));
        return parse_scaled(out, text, scale);
    }
    return ks_error_set(KS_EINVALID, "quantity: expected a string or a number, got %s",
                        ks_json_type_name(v));
}

int ks_quantity_json_milli(int64_t *out, const json_t *v)
{
    return json_scaled(out, v, 3);
}

int ks_quantity_json_value(int64_t *out, const json_t *v)
{
    return json_scaled(out, v, 0);
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Kubernetes' DecimalSI canonical form of (neg ? -1 : 1) * mant * 10^exp,
 * exp a multiple of 3: fold factors of ten into the exponent while it
 * stays a multiple of 3 and name it with an SI suffix. */
static char *format_decimal(char *dst, unsigned cap, bool neg, uint64_t mant, int exp)
{
    static const char *const si[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    if (cap == 0)
        return dst;
    if (mant == 0) {
        snprintf(dst, cap, "0");
        return dst;
    }
    while (mant % 1000 == 0 && exp < 18) {
        mant /= 1000;
        exp += 3;
    }
    snprintf(dst, cap, "%s%llu%s", neg ? "-" : "", (unsigned long long)mant, si[(exp + 9) / 3]);
    return dst;
}

char *ks_quantity_format_milli(char *dst, unsigned cap, int64_t milli)
{
    return format_decimal(dst, cap, milli < 0, magnitude(milli), -3);
}

char *ks_quantity_format_bytes(char *dst, unsigned cap, int64_t bytes)
{
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    uint64_t mag = magnitude(bytes);
    int e = 0;
    if (mag == 0 || mag % 1024 != 0)
        return format_decimal(dst, cap, bytes < 0, mag, 0);
    while (mag % 1024 == 0 && e < 6) {
        mag /= 1024;
        e++;
    }
    if (cap)
        snprintf(dst, cap, "%s%llu%s", bytes < 0 ? "-" : "", (unsigned long long)mag, bin[e]);
    return dst;
}
