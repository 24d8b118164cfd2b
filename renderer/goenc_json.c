/*
 * goenc_json.c: Go's encoding/json.Marshal for the renderer's values, and
 * the float formatting both encoders share.
 *
 * Helm's toJson and the first half of toYaml are encoding/json, so the
 * output must match Go byte for byte: keys sorted by bytes, <>& and
 * U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD, float64 printed
 * with the shortest digits that read back to the same value ('f' between
 * 1e-6 and 1e21, else 'e' with "e-07" shortened to "e-7"). The shortest
 * digits come from printf at growing precision until strtod gives the same
 * double back, which is what Go's shortest formatting produces.
 */
#include "renderer/goenc.h"

#include "core/error.h"
#include "renderer/gofmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOENC_MAX_DEPTH 1000

/* Shortest decimal digits of |f| (f finite, non-zero): value =
 * 0.d1d2...dn x 10^dp. bits is 64 or 32 (float32 round trip). */
struct go_digits {
    char d[32];
    int nd;
    int dp;
};

static void shortest_digits(struct go_digits *out, double f, int bits)
{
    out->dp = ks_gofmt_shortest_digits(fabs(f), bits, out->d, sizeof(out->d), &out->nd);
}

/* strconv's %e with prec digits after the point. */
static void fmt_e(struct ks_buf *out, const struct go_digits *dg, int prec)
{
    ks_buf_putc(out, dg->nd > 0 ? dg->d[0] : '0');
    if (prec > 0) {
        ks_buf_putc(out, '.');
        for (int i = 1; i <= prec; i++)
            ks_buf_putc(out, i < dg->nd ? dg->d[i] : '0');
    }
    int exp = dg->nd == 0 ? 0 : dg->dp - 1;
    ks_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* strconv's %f with prec digits after the point. */
static void fmt_f(struct ks_buf *out, const struct go_digits *dg, int prec)
{
    if (dg->dp > 0) {
        for (int i = 0; i < dg->dp; i++)
            ks_buf_putc(out, i < dg->nd ? dg->d[i] : '0');
    } else {
        ks_buf_putc(out, '0');
    }
    if (prec > 0) {
        ks_buf_putc(out, '.');
        for (int i = 1; i <= prec; i++) {
            int j = dg->dp + i - 1;
            ks_buf_putc(out, j >= 0 && j < dg->nd ? dg->d[j] : '0');
        }
    }
}

/* strconv.FormatFloat(f, 'g', -1, bits) for finite f. */
static void format_g(struct ks_buf *out, double f, int bits)
{
    if (signbit(f))
        ks_buf_putc(out, '-');
    if (f == 0) {
        ks_buf_putc(out, '0');
        return;
    }
    struct go_digits dg;
    shortest_digits(&dg, f, bits);
    int exp = dg.dp - 1;
    if (exp < -4 || exp >= 6)
        fmt_e(out, &dg, dg.nd - 1);
    else
        fmt_f(out, &dg, dg.nd > dg.dp ? dg.nd - dg.dp : 0);
}

int ks_goyaml_format_float(struct ks_buf *out, double f)
{
    if (isnan(f))
        ks_buf_puts(out, ".nan");
    else if (isinf(f))
        ks_buf_puts(out, f > 0 ? ".inf" : "-.inf");
    else
        format_g(out, f, 64);
    return ks_buf_error(out);
}

/* Float key formatting of sigs.k8s.io/yaml: FormatFloat(k, 'g', -1, 32). */
int ks_goyaml_format_float32(struct ks_buf *out, double f)
{
    if (isnan(f))
        ks_buf_puts(out, ".nan");
    else if (isinf(f) || isinf((float)f))
        ks_buf_puts(out, f > 0 ? ".inf" : "-.inf");
    else
        format_g(out, (double)(float)f, 32);
    return ks_buf_error(out);
}

int ks_gojson_format_float(struct ks_buf *out, double f)
{
    if (isnan(f) || isinf(f)) {
        return ks_error_set(KS_EINVALID, "json: unsupported value: %s",
                            isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf"));
    }
    if (signbit(f))
        ks_buf_putc(out, '-');
    if (f == 0) {
        ks_buf_putc(out, '0');
        return ks_buf_error(out);
    }
    struct go_digits dg;
    shortest_digits(&dg, f, 64);
    double a = fabs(f);
    if (a < 1e-6 || a >= 1e21) {
        size_t start = out->len;
        fmt_e(out, &dg, dg.nd - 1);
        /* "e-07" -> "e-7" (positive exponents keep their zero) */
        size_t n = out->len;
        if (!ks_buf_error(out) && n - start >= 4 && out->data[n - 4] == 'e' &&
            out->data[n - 3] == '-' && out->data[n - 2] == '0') {
            out->data[n - 2] = out->data[n - 1];
            out->len--;
            out->data[out->len] = '\0';
        }
    } else {
        fmt_f(out, &dg, dg.nd > dg.dp ? dg.nd - dg.dp : 0);
    }
    return ks_buf_error(out);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t ks_goenc_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t min, cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void put_json_string(struct ks_buf *out, const char *str, size_t len, int escape_html)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    ks_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                ks_buf_putc(out, '\\');
                ks_buf_putc(out, (char)c);
            } else if (c == '\n') {
                ks_buf_puts(out, "\\n");
            } else if (c == '\r') {
                ks_buf_puts(out, "\\r");
            } else if (c == '\t') {
                ks_buf_puts(out, "\\t");
            } else if (c == '\b') {
                ks_buf_puts(out, "\\b");
            } else if (c == '\f') {
                ks_buf_puts(out, "\\f");
            } else if (c < 0x20 || (escape_html && (c == '<' || c == '>' || c == '&'))) {
                ks_buf_puts(out, "\\u00");
                ks_buf_putc(out, hex[c >> 4]);
                ks_buf_putc(out, hex[c & 0xF]);
            } else {
                ks_buf_putc(out, (char)c);
            }
            i++;
            continue;
        }
        size_t n = ks_goenc_utf8_len(s + i, len - i);
        if (n == 0) {
            ks_buf_puts(out, "\\ufffd");
            i++;
            continue;
        }
        if (n == 3 && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            ks_buf_puts(out, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        } else {
            ks_buf_put(out, s + i, n);
        }
        i += n;
    }
    ks_buf_putc(out, '"');
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object keys sorted by bytes (Go sorts map keys as strings). The returned
 * array is malloc'd; *out_n receives the count. */
const char **ks_goenc_sorted_keys(const json_t *obj, size_t *out_n)
{
    size_t n = json_object_size(obj);
    const char **keys = malloc((n ? n : 1) * sizeof(*keys));
    if (!keys)
        return NULL;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), cmp_keys);
    *out_n = i;
    return keys;
}

/* Newline plus indentation for json.MarshalIndent(v, "", "  "). */
static void put_indent(struct ks_buf *out, int pretty, unsigned depth)
{
    if (!pretty)
        return;
    ks_buf_putc(out, '\n');
    for (unsigned i = 0; i < depth; i++)
        ks_buf_puts(out, "  ");
}

static int marshal(struct ks_buf *out, const json_t *v, int escape_html, int pretty, unsigned depth)
{
    int rc = 0;
    const char **keys = NULL;
    if (depth > GOENC_MAX_DEPTH) {
        rc = ks_error_set(KS_ELIMIT, "json: nesting deeper than %d levels", GOENC_MAX_DEPTH);
        goto done;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = 0;
        keys = ks_goenc_sorted_keys(v, &n);
        if (!keys) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        ks_buf_putc(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                ks_buf_putc(out, ',');
            put_indent(out, pretty, depth + 1);
            put_json_string(out, keys[i], strlen(keys[i]), escape_html);
            ks_buf_puts(out, pretty ? ": " : ":");
            rc = marshal(out, json_object_get(v, keys[i]), escape_html, pretty, depth + 1);
            if (rc)
                goto done;
        }
        if (n)
            put_indent(out, pretty, depth);
        ks_buf_putc(out, '}');
        break;
    }
    case JSON_ARRAY:
        ks_buf_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ks_buf_putc(out, ',');
            put_indent(out, pretty, depth + 1);
            rc = marshal(out, json_array_get(v, i), escape_html, pretty, depth + 1);
            if (rc)
                goto done;
        }
        if (json_array_size(v))
            put_indent(out, pretty, depth);
        ks_buf_putc(out, ']');
        break;
    case JSON_STRING:
        put_json_string(out, json_string_value(v), json_string_length(v), escape_html);
        break;
    case JSON_INTEGER:
        ks_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        rc = ks_gojson_format_float(out, json_real_value(v));
        if (rc)
            goto done;
        break;
    case JSON_TRUE:
        ks_buf_puts(out, "true");
        break;
    case JSON_FALSE:
        ks_buf_puts(out, "false");
        break;
    case JSON_NULL:
        ks_buf_puts(out, "null");
        break;
    }
    rc = ks_buf_error(out);
done:
    free(keys);
    return rc;
}

int ks_gojson_marshal(struct ks_buf *out, const json_t *v)
{
    return marshal(out, v ? v : json_null(), 1, 0, 0);
}

int ks_gojson_marshal_opts(struct ks_buf *out, const json_t *v, int escape_html, int pretty)
{
    return marshal(out, v ? v : json_null(), escape_html, pretty, 0);
}
