/*
 * gofmt.c: Go's fmt and strconv formatting for template values (see
 * gofmt.h). Floats use the shortest representation that round-trips
 * (found by trying increasing precisions with the C library's correctly
 * rounded printf, which yields the same digits as Go's shortest algorithm)
 * and then Go's layout rules ('g' switches to exponent form when the
 * exponent is < -4 or >= 6 for shortest output, at least two exponent
 * digits). printf follows fmt's doPrintf: flags, width, precision, '*',
 * %!verb(type=value), %!v(MISSING), %!(EXTRA ...), and containers printed
 * element by element with the same verb.
 */
#include "renderer/gofmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/template/internal.h"

/* ---- strconv ---- */

/* Does p significant digits of a (printed correctly rounded) read back as a? */
static bool round_trips(double a, int bits, int p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*e", p - 1, a);
    double back = strtod(buf, NULL);
    return bits == 32 ? (float)back == (float)a : back == a;
}

int ks_gofmt_shortest_digits(double a, int bits, char *d, size_t cap, int *nd)
{
    int maxprec = bits == 32 ? 9 : 17;
    /* Integers below 2^24 / 2^53 are exact and their neighbours are at
     * most 1 away, so their decimal digits are already the shortest. */
    double exact = bits == 32 ? 16777216.0 : 9007199254740992.0;
    if (a >= 1 && a < exact && a == floor(a) && cap >= 20) {
        char tmp[24];
        int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)a);
        int dp = n;
        while (n > 1 && tmp[n - 1] == '0')
            n--;
        memcpy(d, tmp, (size_t)n);
        d[n] = '\0';
        *nd = n;
        return dp;
    }
    /* The shortest p that round-trips: a correctly rounded p+1-digit form
     * is never farther from a than the p-digit one, so round-tripping is
     * monotonic in p and a binary search finds the same p as counting up. */
    char buf[64];
    int lo = 1, hi = maxprec;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (round_trips(a, bits, mid, buf, sizeof(buf)))
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(buf, sizeof(buf), "%.*e", lo - 1, a);
    /* buf: d.ddddde[+-]xx */
    int n = 0;
    const char *s = buf;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (size_t)n + 1 < cap)
            d[n++] = *s;
    int exp = *s == 'e' ? (int)strtol(s + 1, NULL, 10) : 0;
    while (n > 1 && d[n - 1] == '0')
        n--;
    d[n] = '\0';
    *nd = n;
    return exp + 1;
}

static void put_exp(struct ks_buf *out, char e, int exp)
{
    ks_buf_putc(out, e);
    ks_buf_putc(out, exp < 0 ? '-' : '+');
    if (exp < 0)
        exp = -exp;
    if (exp < 10)
        ks_buf_printf(out, "0%d", exp);
    else
        ks_buf_printf(out, "%d", exp);
}

int ks_gofmt_float(struct ks_buf *out, double f, char fmt, int prec)
{
    if (isnan(f))
        return ks_buf_puts(out, "NaN");
    if (isinf(f))
        return ks_buf_puts(out, f > 0 ? "+Inf" : "-Inf");
    if (prec >= 0) {
        switch (fmt) {
        case 'e':
            return ks_buf_printf(out, "%.*e", prec, f);
        case 'E':
            return ks_buf_printf(out, "%.*E", prec, f);
        case 'f':
            return ks_buf_printf(out, "%.*f", prec, f);
        case 'G':
            return ks_buf_printf(out, "%.*G", prec, f);
        default:
            return ks_buf_printf(out, "%.*g", prec, f);
        }
    }
    if (signbit(f))
        ks_buf_putc(out, '-');
    double a = fabs(f);
    char d[32];
    int nd = 1, dp = 1;
    if (a == 0) {
        d[0] = '0';
        d[1] = '\0';
    } else {
        dp = ks_gofmt_shortest_digits(a, 64, d, sizeof(d), &nd);
    }
    char lower = fmt == 'G' || fmt == 'E' ? 'E' : 'e';
    bool use_e = fmt == 'e' || fmt == 'E';
    if (fmt == 'g' || fmt == 'G') {
        int exp = dp - 1;
        use_e = a != 0 && (exp < -4 || exp >= 6);
        if (a == 0)
            use_e = false;
        if (!use_e && nd > dp) {
            /* %f with the needed decimals */
        }
    }
    if (use_e) {
        ks_buf_putc(out, d[0]);
        if (nd > 1) {
            ks_buf_putc(out, '.');
            ks_buf_put(out, d + 1, (size_t)nd - 1);
        }
        put_exp(out, lower, a == 0 ? 0 : dp - 1);
        return ks_buf_error(out);
    }
    /* %f: integer part */
    if (dp <= 0) {
        ks_buf_putc(out, '0');
    } else {
        for (int i = 0; i < dp; i++)
            ks_buf_putc(out, i < nd ? d[i] : '0');
    }
    if (nd > dp) {
        ks_buf_putc(out, '.');
        for (int i = dp; i < 0; i++)
            ks_buf_putc(out, '0');
        for (int i = dp > 0 ? dp : 0; i < nd; i++)
            ks_buf_putc(out, d[i]);
    }
    return ks_buf_error(out);
}

static bool go_is_print(unsigned r)
{
    if (r < 0x20 || r == 0x7F)
        return false;
    if (r < 0x7F)
        return true;
    if (r <= 0xA0 || r == 0xAD)
        return false;
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
        (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF || r == 0x1680 || r == 0x180E ||
        (r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFFF0 && r <= 0xFFFF) ||
        (r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF || (r & 0xFFFE) == 0xFFFE || (r >= 0xF0000))
        return false;
    return true;
}

/* Decodes one UTF-8 rune; returns its length, 0 for an invalid byte. */
static size_t decode_rune(const unsigned char *s, size_t n, unsigned *r)
{
    if (s[0] < 0x80) {
        *r = s[0];
        return 1;
    }
    size_t len = (s[0] & 0xE0) == 0xC0   ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (!len || len > n)
        return 0;
    unsigned v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *r = v;
    return len;
}

static void quote_rune(struct ks_buf *out, unsigned r, char q)
{
    if (r == (unsigned)q || r == '\\') {
        ks_buf_putc(out, '\\');
        ks_buf_putc(out, (char)r);
        return;
    }
    static const char ctl[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
    const char *e = r && r < 0x20 ? strchr(ctl, (int)r) : NULL;
    if (e) {
        ks_buf_putc(out, '\\');
        ks_buf_putc(out, letters[e - ctl]);
        return;
    }
    if (r < 0x20 || r == 0x7F)
        ks_buf_printf(out, "\\x%02x", r);
    else if (r < 0x10000)
        ks_buf_printf(out, "\\u%04x", r);
    else
        ks_buf_printf(out, "\\U%08x", r);
}

int ks_gofmt_quote(struct ks_buf *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    ks_buf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        /* a run of printable ASCII needing no escape goes out at once */
        size_t run = i;
        while (run < len && u[run] >= 0x20 && u[run] < 0x7f && u[run] != '"' && u[run] != '\\')
            run++;
        if (run > i) {
            ks_buf_put(out, s + i, run - i);
            i = run;
            continue;
        }
        unsigned r;
        size_t n = decode_rune(u + i, len - i, &r);
        if (!n) {
            ks_buf_printf(out, "\\x%02x", u[i]);
            i++;
            continue;
        }
        if (r != '"' && r != '\\' && go_is_print(r))
            ks_buf_put(out, s + i, n);
        else
            quote_rune(out, r, '"');
        i += n;
    }
    ks_buf_putc(out, '"');
    return ks_buf_error(out);
}

const char *ks_gofmt_type_name(const json_t *v)
{
    if (!v)
        return "<nil>";
    switch (json_typeof(v)) {
    case JSON_NULL:
        return "<nil>";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_INTEGER: {
        const struct host_entry *h = ks_tpl_current_host(v);
        return h ? h->type->go_type : "int";
    }
    case JSON_REAL:
        return "float64";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_OBJECT: {
        const struct host_entry *h = ks_tpl_current_host(v);
        return h ? h->type->go_type : "map[string]interface {}";
    }
    }
    return "<nil>";
}

/* ---- fmt ---- */

struct spec {
    bool minus, plus, sharp, space, zero;
    int width, prec; /* -1 = absent */
    char verb;
};

static size_t rune_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* pads the formatted text per width */
static void pad(struct ks_buf *out, const struct spec *sp, const char *s, size_t n, bool numeric)
{
    size_t w = rune_count(s, n);
    size_t fill = sp->width > 0 && (size_t)sp->width > w ? (size_t)sp->width - w : 0;
    if (!fill) {
        ks_buf_put(out, s, n);
        return;
    }
    if (sp->minus) {
        ks_buf_put(out, s, n);
        for (size_t i = 0; i < fill; i++)
            ks_buf_putc(out, ' ');
        return;
    }
    if (sp->zero && numeric) {
        /* zeros go after the sign */
        size_t k = 0;
        if (n && (s[0] == '-' || s[0] == '+' || s[0] == ' '))
            ks_buf_putc(out, s[k++]);
        for (size_t i = 0; i < fill; i++)
            ks_buf_putc(out, '0');
        ks_buf_put(out, s + k, n - k);
        return;
    }
    char c = sp->zero && !numeric ? '0' : ' ';
    for (size_t i = 0; i < fill; i++)
        ks_buf_putc(out, c);
    ks_buf_put(out, s, n);
}

static void fmt_value(struct ks_buf *out, const json_t *v, const struct spec *sp, bool top);

static void bad_verb(struct ks_buf *out, const json_t *v, char verb)
{
    ks_buf_printf(out, "%%!%c(", verb);
    if (!v || json_is_null(v)) {
        ks_buf_puts(out, "<nil>");
    } else {
        ks_buf_puts(out, ks_gofmt_type_name(v));
        ks_buf_putc(out, '=');
        struct spec s = {0};
        s.width = s.prec = -1;
        s.verb = 'v';
        fmt_value(out, v, &s, false);
    }
    ks_buf_putc(out, ')');
}

static void fmt_int(struct ks_buf *out, long long x, const struct spec *sp)
{
    char body[128];
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    char digits[80];
    int nd = 0;
    int base = 10;
    bool upper = false;
    switch (sp->verb) {
    case 'b':
        base = 2;
        break;
    case 'o':
    case 'O':
        base = 8;
        break;
    case 'x':
        base = 16;
        break;
    case 'X':
        base = 16;
        upper = true;
        break;
    default:
        base = 10;
    }
    do {
        int dgt = (int)(u % (unsigned)base);
        digits[nd++] = (char)(dgt < 10 ? '0' + dgt : (upper ? 'A' : 'a') + dgt - 10);
        u /= (unsigned)base;
    } while (u && nd < 70);
    int minlen = sp->prec >= 0 ? sp->prec : 0;
    if (sp->prec == 0 && x == 0)
        nd = 0;
    size_t k = 0;
    if (x < 0)
        body[k++] = '-';
    else if (sp->plus)
        body[k++] = '+';
    else if (sp->space)
        body[k++] = ' ';
    if (sp->sharp || sp->verb == 'O') {
        if (base == 16) {
            body[k++] = '0';
            body[k++] = upper ? 'X' : 'x';
        } else if (base == 8 && sp->verb == 'O') {
            body[k++] = '0';
            body[k++] = 'o';
        } else if (base == 8 && (nd == 0 || digits[nd - 1] != '0')) {
            body[k++] = '0';
        } else if (base == 2) {
            body[k++] = '0';
            body[k++] = 'b';
        }
    }
    for (int i = nd; i < minlen && k < 100; i++)
        body[k++] = '0';
    for (int i = nd - 1; i >= 0 && k < sizeof(body) - 1; i--)
        body[k++] = digits[i];
    struct spec s2 = *sp;
    if (sp->prec >= 0)
        s2.zero = false;
    pad(out, &s2, body, k, true);
}

static void fmt_float(struct ks_buf *out, double f, const struct spec *sp)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    char verb = sp->verb;
    int prec = sp->prec;
    switch (verb) {
    case 'v':
        verb = 'g';
        prec = -1;
        if (sp->prec >= 0)
            prec = sp->prec;
        break;
    case 'F':
        verb = 'f';
        break;
    case 'e':
    case 'E':
    case 'f':
        if (prec < 0)
            prec = 6;
        break;
    default:
        break;
    }
    if (sp->plus && !signbit(f) && !isnan(f))
        ks_buf_putc(&b, '+');
    else if (sp->space && !signbit(f) && !isnan(f))
        ks_buf_putc(&b, ' ');
    ks_gofmt_float(&b, f, verb, prec);
    const char *s = ks_buf_data(&b);
    size_t n = ks_buf_len(&b);
    /* "+Inf" gets its sign from the flags only */
    if (isinf(f) && f > 0 && !sp->plus) {
        s = sp->space ? " Inf" : "Inf";
        n = strlen(s);
        if (sp->space) {
            s = " Inf";
        }
    }
    struct spec s2 = *sp;
    if (isinf(f) || isnan(f))
        s2.zero = false;
    pad(out, &s2, s, n, true);
    ks_buf_release(&b);
}

static void fmt_string(struct ks_buf *out, const char *s, size_t n, const struct spec *sp)
{
    switch (sp->verb) {
    case 'v':
    case 's': {
        size_t len = n;
        if (sp->prec >= 0) {
            size_t runes = 0, i = 0;
            while (i < n && runes < (size_t)sp->prec) {
                i++;
                while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
                    i++;
                runes++;
            }
            len = i;
        }
        pad(out, sp, s, len, false);
        return;
    }
    case 'q': {
        struct ks_buf b;
        ks_buf_init(&b, 0);
        ks_gofmt_quote(&b, s, n);
        pad(out, sp, ks_buf_data(&b), ks_buf_len(&b), false);
        ks_buf_release(&b);
        return;
    }
    case 'x':
    case 'X': {
        struct ks_buf b;
        ks_buf_init(&b, 0);
        const char *hex = sp->verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        size_t len = n;
        if (sp->prec >= 0 && (size_t)sp->prec < len)
            len = (size_t)sp->prec;
        for (size_t i = 0; i < len; i++) {
            if (sp->space && i)
                ks_buf_putc(&b, ' ');
            if (sp->sharp && (sp->space || i == 0)) {
                ks_buf_putc(&b, '0');
                ks_buf_putc(&b, sp->verb);
            }
            unsigned char c = (unsigned char)s[i];
            ks_buf_putc(&b, hex[c >> 4]);
            ks_buf_putc(&b, hex[c & 15]);
        }
        pad(out, sp, ks_buf_data(&b), ks_buf_len(&b), false);
        ks_buf_release(&b);
        return;
    }
    default:
        return;
    }
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void fmt_value(struct ks_buf *out, const json_t *v, const struct spec *sp, bool top)
{
    char verb = sp->verb;
    if (!v || json_is_null(v)) {
        if (top && verb != 'v' && verb != 'T')
            bad_verb(out, v, verb);
        else
            pad(out, sp, "<nil>", 5, false);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        if (verb == 'v' || verb == 't')
            pad(out, sp, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, false);
        else
            bad_verb(out, v, verb);
        return;
    case JSON_INTEGER: {
        long long x = (long long)json_integer_value(v);
        switch (verb) {
        case 'v':
        case 'd':
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X': {
            struct spec s2 = *sp;
            if (verb == 'v')
                s2.verb = 'd';
            fmt_int(out, x, &s2);
            return;
        }
        case 'c': {
            struct ks_buf b;
            ks_buf_init(&b, 0);
            unsigned r = x < 0 || x > 0x10FFFF ? 0xFFFD : (unsigned)x;
            char c[4];
            size_t n;
            if (r < 0x80) {
                c[0] = (char)r;
                n = 1;
            } else if (r < 0x800) {
                c[0] = (char)(0xC0 | (r >> 6));
                c[1] = (char)(0x80 | (r & 0x3F));
                n = 2;
            } else if (r < 0x10000) {
                c[0] = (char)(0xE0 | (r >> 12));
                c[1] = (char)(0x80 | ((r >> 6) & 0x3F));
                c[2] = (char)(0x80 | (r & 0x3F));
                n = 3;
            } else {
                c[0] = (char)(0xF0 | (r >> 18));
                c[1] = (char)(0x80 | ((r >> 12) & 0x3F));
                c[2] = (char)(0x80 | ((r >> 6) & 0x3F));
                c[3] = (char)(0x80 | (r & 0x3F));
                n = 4;
            }
            pad(out, sp, c, n, false);
            ks_buf_release(&b);
            return;
        }
        case 'q': {
            struct ks_buf b;
            ks_buf_init(&b, 0);
            unsigned r = x < 0 || x > 0x10FFFF ? 0xFFFD : (unsigned)x;
            ks_buf_putc(&b, '\'');
            if (r != '\'' && r != '\\' && go_is_print(r)) {
                struct spec s2 = {0};
                s2.width = s2.prec = -1;
                s2.verb = 'c';
                json_t *tmp = json_integer((json_int_t)r);
                fmt_value(&b, tmp, &s2, false);
                json_decref(tmp);
            } else {
                quote_rune(&b, r, '\'');
            }
            ks_buf_putc(&b, '\'');
            pad(out, sp, ks_buf_data(&b), ks_buf_len(&b), false);
            ks_buf_release(&b);
            return;
        }
        case 'U': {
            char b[32];
            int n = snprintf(b, sizeof(b), "U+%04llX", (unsigned long long)x);
            pad(out, sp, b, (size_t)n, false);
            return;
        }
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
        default:
            bad_verb(out, v, verb);
            return;
        }
    }
    case JSON_REAL:
        switch (verb) {
        case 'v':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
            fmt_float(out, json_real_value(v), sp);
            return;
        default:
            bad_verb(out, v, verb);
            return;
        }
    case JSON_STRING:
        if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')
            fmt_string(out, json_string_value(v), json_string_length(v), sp);
        else
            bad_verb(out, v, verb);
        return;
    case JSON_ARRAY: {
        ks_buf_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ks_buf_putc(out, ' ');
            fmt_value(out, json_array_get(v, i), sp, false);
        }
        ks_buf_putc(out, ']');
        return;
    }
    case JSON_OBJECT: {
        const struct host_entry *h = ks_tpl_current_host(v);
        if (h && h->type->string && (verb == 'v' || verb == 's')) {
            struct ks_buf b;
            ks_buf_init(&b, 0);
            h->type->string(&b, h->self);
            fmt_string(out, ks_buf_data(&b), ks_buf_len(&b), sp);
            ks_buf_release(&b);
            return;
        }
        size_t n = json_object_size(v);
        const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
        if (n && !keys) {
            out->error = KS_ENOMEM;
            return;
        }
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        if (n > 1)
            qsort(keys, n, sizeof(*keys), key_cmp);
        ks_buf_puts(out, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                ks_buf_putc(out, ' ');
            if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')
                fmt_string(out, keys[i], strlen(keys[i]), sp);
            else {
                json_t *ks = json_string_nocheck(keys[i]);
                bad_verb(out, ks, verb);
                json_decref(ks);
            }
            ks_buf_putc(out, ':');
            fmt_value(out, json_object_get(v, keys[i]), sp, false);
        }
        ks_buf_putc(out, ']');
        free(keys);
        return;
    }
    case JSON_NULL:
        return;
    }
}

int ks_gofmt_print_value(struct ks_buf *out, const json_t *v)
{
    struct spec sp = {0};
    sp.width = sp.prec = -1;
    sp.verb = 'v';
    if (v && json_is_string(v))
        return ks_buf_put(out, json_string_value(v), json_string_length(v));
    fmt_value(out, v, &sp, true);
    return ks_buf_error(out);
}

int ks_gofmt_sprint(struct ks_buf *out, json_t *const *args, size_t nargs)
{
    bool prev_string = false;
    for (size_t i = 0; i < nargs; i++) {
        bool is_string = args[i] && json_is_string(args[i]);
        if (i > 0 && !is_string && !prev_string)
            ks_buf_putc(out, ' ');
        ks_gofmt_print_value(out, args[i]);
        prev_string = is_string;
    }
    return ks_buf_error(out);
}

int ks_gofmt_sprintln(struct ks_buf *out, json_t *const *args, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++) {
        if (i)
            ks_buf_putc(out, ' ');
        ks_gofmt_print_value(out, args[i]);
    }
    ks_buf_putc(out, '\n');
    return ks_buf_error(out);
}

static int parse_num(const char *f, size_t *i, int *out)
{
    int n = 0;
    bool any = false;
    while (f[*i] >= '0' && f[*i] <= '9') {
        if (n < 1000000)
            n = n * 10 + (f[*i] - '0');
        (*i)++;
        any = true;
    }
    *out = n;
    return any;
}

static bool int_arg(const json_t *v, int *out)
{
    if (v && json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x > 1000000 || x < -1000000)
            return false;
        *out = (int)x;
        return true;
    }
    return false;
}

int ks_gofmt_sprintf(struct ks_buf *out, const char *format, json_t *const *args, size_t nargs)
{
    size_t argn = 0;
    const char *f = format;
    size_t i = 0;
    while (f[i]) {
        if (f[i] != '%') {
            size_t j = i;
            while (f[j] && f[j] != '%')
                j++;
            ks_buf_put(out, f + i, j - i);
            i = j;
            continue;
        }
        i++;
        struct spec sp = {0};
        sp.width = sp.prec = -1;
        for (;; i++) {
            char c = f[i];
            if (c == '#')
                sp.sharp = true;
            else if (c == '0')
                sp.zero = !sp.minus;
            else if (c == '+')
                sp.plus = true;
            else if (c == '-') {
                sp.minus = true;
                sp.zero = false;
            } else if (c == ' ')
                sp.space = true;
            else
                break;
        }
        if (f[i] == '*') {
            i++;
            if (argn < nargs && int_arg(args[argn], &sp.width)) {
                if (sp.width < 0) {
                    sp.minus = true;
                    sp.zero = false;
                    sp.width = -sp.width;
                }
            } else {
                ks_buf_puts(out, "%!(BADWIDTH)");
                sp.width = -1;
            }
            argn++;
        } else {
            int w;
            if (parse_num(f, &i, &w))
                sp.width = w;
        }
        if (f[i] == '.') {
            i++;
            if (f[i] == '*') {
                i++;
                if (argn < nargs && int_arg(args[argn], &sp.prec) && sp.prec >= 0) {
                } else {
                    ks_buf_puts(out, "%!(BADPREC)");
                    sp.prec = -1;
                }
                argn++;
            } else {
                int p = 0;
                parse_num(f, &i, &p);
                sp.prec = p;
            }
        }
        if (!f[i]) {
            ks_buf_puts(out, "%!(NOVERB)");
            break;
        }
        /* the verb is one rune */
        unsigned r;
        size_t rl = decode_rune((const unsigned char *)f + i, strlen(f + i), &r);
        if (!rl) {
            rl = 1;
            r = 0xFFFD;
        }
        if (r == '%') {
            ks_buf_putc(out, '%');
            i += rl;
            continue;
        }
        if (r >= 0x80) {
            ks_buf_puts(out, "%!");
            ks_buf_put(out, f + i, rl);
            if (argn < nargs) {
                ks_buf_putc(out, '(');
                ks_buf_puts(out, ks_gofmt_type_name(args[argn]));
                ks_buf_putc(out, '=');
                ks_gofmt_print_value(out, args[argn]);
                ks_buf_putc(out, ')');
                argn++;
            } else {
                ks_buf_puts(out, "(MISSING)");
            }
            i += rl;
            continue;
        }
        sp.verb = (char)r;
        i += rl;
        if (argn >= nargs) {
            ks_buf_printf(out, "%%!%c(MISSING)", sp.verb);
            continue;
        }
        const json_t *a = args[argn++];
        if (sp.verb == 'T') {
            const char *t = ks_gofmt_type_name(a);
            pad(out, &sp, t, strlen(t), false);
            continue;
        }
        if (sp.verb == 'w')
            sp.verb = 'v';
        fmt_value(out, a, &sp, true);
    }
    if (argn < nargs) {
        ks_buf_puts(out, "%!(EXTRA ");
        for (size_t k = argn; k < nargs; k++) {
            if (k > argn)
                ks_buf_puts(out, ", ");
            if (!args[k] || json_is_null(args[k])) {
                ks_buf_puts(out, "<nil>");
                continue;
            }
            ks_buf_puts(out, ks_gofmt_type_name(args[k]));
            ks_buf_putc(out, '=');
            ks_gofmt_print_value(out, args[k]);
        }
        ks_buf_putc(out, ')');
    }
    return ks_buf_error(out);
}
