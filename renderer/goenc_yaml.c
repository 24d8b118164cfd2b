/*
 * goenc_yaml.c: sigs.k8s.io/yaml.Marshal (Helm's toYaml) byte for byte, and
 * go-yaml v2's typing of plain scalars.
 *
 * Marshal is json.Marshal, then go-yaml v2 reads that JSON back into
 * interface{} values (numbers become int, uint64 or float64 by v2's
 * resolver, map keys are re-sorted by v2's "natural" order: digit runs
 * compare as numbers, non-letters before letters) and writes them with its
 * emitter. Rather than producing and re-reading JSON text, this file walks
 * the jansson tree and applies the same decisions directly; the emitter
 * half is a faithful small model of go-yaml's emitterc.go for the events
 * Marshal produces (block mappings and sequences, "{}"/"[]" for empty ones,
 * scalars in plain, single-quoted, double-quoted or literal style with
 * 80-column folding), keeping its column/indent/whitespace state so every
 * space and line break lands where go-yaml puts it.
 */
#include "renderer/goenc.h"
#include "renderer/gofmt.h"

#include "core/error.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#define BEST_INDENT 2
#define BEST_WIDTH 80
#define MAX_DEPTH 1000

/* ---- go-yaml v2 resolution of plain scalars ---- */

enum plain_kind { PK_STR, PK_NULL, PK_TRUE, PK_FALSE, PK_INT, PK_UINT, PK_FLOAT, PK_TIMESTAMP };

struct plain_value {
    enum plain_kind kind;
    int64_t i;
    uint64_t u;
    double f;
};

static const struct {
    const char *s;
    enum plain_kind kind;
    double f;
} resolve_words[] = {
    {"y", PK_TRUE, 0},       {"Y", PK_TRUE, 0},       {"yes", PK_TRUE, 0},
    {"Yes", PK_TRUE, 0},     {"YES", PK_TRUE, 0},     {"true", PK_TRUE, 0},
    {"True", PK_TRUE, 0},    {"TRUE", PK_TRUE, 0},    {"on", PK_TRUE, 0},
    {"On", PK_TRUE, 0},      {"ON", PK_TRUE, 0},      {"n", PK_FALSE, 0},
    {"N", PK_FALSE, 0},      {"no", PK_FALSE, 0},     {"No", PK_FALSE, 0},
    {"NO", PK_FALSE, 0},     {"false", PK_FALSE, 0},  {"False", PK_FALSE, 0},
    {"FALSE", PK_FALSE, 0},  {"off", PK_FALSE, 0},    {"Off", PK_FALSE, 0},
    {"OFF", PK_FALSE, 0},    {"", PK_NULL, 0},        {"~", PK_NULL, 0},
    {"null", PK_NULL, 0},    {"Null", PK_NULL, 0},    {"NULL", PK_NULL, 0},
    {".nan", PK_FLOAT, NAN}, {".NaN", PK_FLOAT, NAN}, {".NAN", PK_FLOAT, NAN},
    {".inf", PK_FLOAT, 1},   {".Inf", PK_FLOAT, 1},   {".INF", PK_FLOAT, 1},
    {"+.inf", PK_FLOAT, 1},  {"+.Inf", PK_FLOAT, 1},  {"+.INF", PK_FLOAT, 1},
    {"-.inf", PK_FLOAT, -1}, {"-.Inf", PK_FLOAT, -1}, {"-.INF", PK_FLOAT, -1},
};

/* strconv.ParseUint(s, 0, 64) on a string without underscores. */
static int go_parse_uint(uint64_t *out, const char *s, size_t len)
{
    unsigned base = 10;
    if (len == 0)
        return -1;
    if (s[0] == '0') {
        char c1 = len >= 3 ? (char)(s[1] | 0x20) : 0;
        if (c1 == 'b' || c1 == 'o' || c1 == 'x') {
            base = c1 == 'b' ? 2 : c1 == 'o' ? 8 : 16;
            s += 2, len -= 2;
        } else {
            base = 8;
            s += 1, len -= 1;
        }
    }
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return -1;
        if (d >= base)
            return -1;
        if (n > (UINT64_MAX - d) / base)
            return -2; /* range */
        n = n * base + d;
    }
    *out = n;
    return 0;
}

/* strconv.ParseInt(s, 0, 64). */
static int go_parse_int(int64_t *out, const char *s, size_t len)
{
    bool neg = false;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++, len--;
    }
    uint64_t u;
    int rc = go_parse_uint(&u, s, len);
    if (rc)
        return rc;
    if (!neg && u > (uint64_t)INT64_MAX)
        return -2;
    if (neg && u > (uint64_t)INT64_MAX + 1)
        return -2;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t count_digits(const char *s, size_t len, size_t i)
{
    size_t n = 0;
    while (i + n < len && is_digit(s[i + n]))
        n++;
    return n;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < len && s[i] == '.') {
        size_t n = count_digits(s, len, i + 1);
        if (n == 0)
            return false;
        i += 1 + n;
    } else {
        size_t n = count_digits(s, len, i);
        if (n == 0)
            return false;
        i += n;
        if (i < len && s[i] == '.')
            i += 1 + count_digits(s, len, i + 1);
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t n = count_digits(s, len, i);
        if (n == 0)
            return false;
        i += n;
    }
    return i == len;
}

/* strconv.ParseFloat for the decimal forms the callers admit: fails on
 * overflow to infinity (Go's ErrRange); underflow is not an error. */
static bool go_parse_float(double *out, const char *s, size_t len)
{
    char buf[512];
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double f = strtod(buf, &end);
    if (end != buf + len || isinf(f))
        return false;
    *out = f;
    return true;
}

/* Reads 1..2 digits (Go's getnum for non-fixed layouts) or exactly n. */
static bool ts_num(const char *s, size_t len, size_t *i, int fixed, int *out)
{
    size_t n = count_digits(s, len, *i);
    if (fixed ? n != (size_t)fixed : (n < 1 || n > 2))
        return false;
    int v = 0;
    for (size_t k = 0; k < n; k++)
        v = v * 10 + (s[*i + k] - '0');
    *i += n;
    *out = v;
    return true;
}

static bool ts_expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == c) {
        (*i)++;
        return true;
    }
    return false;
}

static int days_in(int month, int year)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return 29;
    return d[month - 1];
}

/* go-yaml v2's parseTimestamp: the layouts "2006-1-2T15:4:5.999999999Z07:00"
 * (also with 't'), "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static bool is_timestamp(const char *s, size_t len)
{
    size_t i = 0;
    int year, month, day, h, m, sec;
    if (!ts_num(s, len, &i, 4, &year) || !ts_expect(s, len, &i, '-') ||
        !ts_num(s, len, &i, 0, &month) || !ts_expect(s, len, &i, '-') ||
        !ts_num(s, len, &i, 0, &day))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > days_in(month, year))
        return false;
    if (i == len)
        return true;
    char sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ')
        return false;
    if (!ts_num(s, len, &i, 0, &h) || !ts_expect(s, len, &i, ':') || !ts_num(s, len, &i, 0, &m) ||
        !ts_expect(s, len, &i, ':') || !ts_num(s, len, &i, 0, &sec))
        return false;
    if (h > 23 || m > 59 || sec > 59)
        return false;
    if (i < len && s[i] == '.') {
        size_t n = count_digits(s, len, i + 1);
        if (n == 0)
            return false;
        i += 1 + n;
    }
    if (sep == ' ')
        return i == len;
    if (i < len && s[i] == 'Z')
        return i + 1 == len;
    int zh, zm;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        i++;
        return ts_num(s, len, &i, 2, &zh) && ts_expect(s, len, &i, ':') &&
               ts_num(s, len, &i, 2, &zm) && i == len && zh <= 23 && zm <= 59;
    }
    return false;
}

static void classify_plain(struct plain_value *out, const char *s, size_t len)
{
    out->kind = PK_STR;
    char hint = 'N';
    if (len > 0) {
        char c = s[0];
        if (c == '+' || c == '-')
            hint = 'S';
        else if (is_digit(c))
            hint = 'D';
        else if (strchr("yYnNtTfFoO~", c))
            hint = 'M';
        else if (c == '.')
            hint = '.';
        else
            hint = 0;
    }
    if (!hint)
        return;
    for (size_t k = 0; k < sizeof(resolve_words) / sizeof(resolve_words[0]); k++) {
        if ((len == 0 || resolve_words[k].s[0] == s[0]) && strlen(resolve_words[k].s) == len &&
            memcmp(resolve_words[k].s, s, len) == 0) {
            out->kind = resolve_words[k].kind;
            double f = resolve_words[k].f;
            out->f = isnan(f) ? NAN : f > 0 ? INFINITY : -INFINITY;
            return;
        }
    }
    if (hint == '.') {
        /* ParseFloat on a string starting with '.': only ".digits[e..]" */
        if (yaml_style_float(s, len) && go_parse_float(&out->f, s, len))
            out->kind = PK_FLOAT;
        return;
    }
    if (hint != 'D' && hint != 'S')
        return;
    if (is_timestamp(s, len)) {
        out->kind = PK_TIMESTAMP;
        return;
    }
    char buf[512];
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '_')
            continue;
        if (n + 1 >= sizeof(buf))
            return; /* longer than any number v2 could read */
        buf[n++] = s[k];
    }
    buf[n] = '\0';
    if (go_parse_int(&out->i, buf, n) == 0) {
        out->kind = PK_INT;
    } else if (go_parse_uint(&out->u, buf, n) == 0) {
        out->kind = PK_UINT;
    } else if (yaml_style_float(buf, n) && go_parse_float(&out->f, buf, n)) {
        out->kind = PK_FLOAT;
    }
    /* v2's later "0b"/"-0b" fallbacks are covered by base 0 above */
}

json_t *ks_goyaml_resolve_plain(const char *s, size_t len)
{
    struct plain_value pv;
    classify_plain(&pv, s, len);
    switch (pv.kind) {
    case PK_NULL:
        return json_null();
    case PK_TRUE:
        return json_true();
    case PK_FALSE:
        return json_false();
    case PK_INT:
        return json_integer(pv.i);
    case PK_UINT:
        return json_real((double)pv.u);
    case PK_FLOAT:
        return json_real(pv.f);
    case PK_STR:
    case PK_TIMESTAMP:
        break;
    }
    return json_stringn(s, len);
}

/* Resolution details for goenc_parse.c: is this plain scalar a float that
 * JSON cannot carry (NaN, infinities)? Such values make Helm's YAML-to-JSON
 * step fail. */
int ks_goyaml_plain_special_float(const char *s, size_t len, double *out)
{
    struct plain_value pv;
    classify_plain(&pv, s, len);
    if (pv.kind == PK_FLOAT && (isnan(pv.f) || isinf(pv.f))) {
        *out = pv.f;
        return 1;
    }
    return 0;
}

bool ks_goyaml_plain_is_uint64(const char *s, size_t len)
{
    struct plain_value pv;
    classify_plain(&pv, s, len);
    return pv.kind == PK_UINT;
}

/* isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool is_base60_float(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i >= len || !is_digit(s[i]))
        return false;
    i++;
    while (i < len && (is_digit(s[i]) || s[i] == '_'))
        i++;
    int groups = 0;
    while (i < len && s[i] == ':') {
        i++;
        size_t n = count_digits(s, len, i);
        if (n == 2 && s[i] <= '5')
            i += 2;
        else if (n >= 1)
            i += 1;
        else
            return false;
        groups++;
    }
    if (groups == 0)
        return false;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && (is_digit(s[i]) || s[i] == '_'))
            i++;
    }
    return i == len;
}

/* ---- the emitter ---- */

enum scalar_style { ST_PLAIN, ST_SINGLE, ST_DOUBLE, ST_LITERAL };

struct emitter {
    struct ks_buf *out;
    bool v3; /* go-yaml v3's encoder (toYamlPretty): no folding, indented
              * sequences, floats in strconv 'g' form */
    int indent;
    int column;
    bool whitespace;
    bool indention;
    int flow_level;
    bool mapping_context;
    bool simple_key_context;
};

struct scalar_analysis {
    bool multiline;
    bool flow_plain_allowed;
    bool block_plain_allowed;
    bool single_quoted_allowed;
    bool block_allowed;
};

static size_t char_width(unsigned char c)
{
    if ((c & 0x80) == 0)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

static bool at(const unsigned char *v, size_t len, size_t i, unsigned char c)
{
    return i < len && v[i] == c;
}

static bool is_space_at(const unsigned char *v, size_t len, size_t i)
{
    return at(v, len, i, ' ');
}

static bool is_blank_at(const unsigned char *v, size_t len, size_t i)
{
    return at(v, len, i, ' ') || at(v, len, i, '\t');
}

static bool is_break_at(const unsigned char *v, size_t len, size_t i)
{
    if (i >= len)
        return false;
    if (v[i] == '\r' || v[i] == '\n')
        return true;
    if (v[i] == 0xC2 && at(v, len, i + 1, 0x85))
        return true;
    return v[i] == 0xE2 && at(v, len, i + 1, 0x80) &&
           (at(v, len, i + 2, 0xA8) || at(v, len, i + 2, 0xA9));
}

static bool is_blankz_at(const unsigned char *v, size_t len, size_t i)
{
    return i >= len || v[i] == 0 || is_blank_at(v, len, i) || is_break_at(v, len, i);
}

static bool is_printable_at(const unsigned char *v, size_t len, size_t i)
{
    unsigned char c = v[i];
    unsigned char c1 = i + 1 < len ? v[i + 1] : 0;
    unsigned char c2 = i + 2 < len ? v[i + 2] : 0;
    return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c == 0xC2 && c1 >= 0xA0) ||
           (c > 0xC2 && c < 0xED) || (c == 0xED && c1 < 0xA0) || c == 0xEE ||
           (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) &&
            !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)));
}

/* Letters, digits and _ / (also . - + after the first byte): no indicator,
 * space, break or special character, so every style is allowed. The common
 * case of keys and values, answered without the full analysis. */
static bool is_simple_word(const unsigned char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = v[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '/' || (i > 0 && (c == '.' || c == '-' || c == '+'));
        if (!ok)
            return false;
    }
    return true;
}

/* yaml_emitter_analyze_scalar. */
static void analyze_scalar(struct scalar_analysis *a, const unsigned char *v, size_t len)
{
    bool block_ind = false, flow_ind = false, line_breaks = false, special = false;
    bool leading_space = false, leading_break = false, trailing_space = false;
    bool trailing_break = false, break_space = false, space_break = false;
    bool preceded_ws = true, followed_ws, prev_space = false, prev_break = false;

    if (len == 0) {
        *a = (struct scalar_analysis){false, false, true, true, false};
        return;
    }
    if (is_simple_word(v, len)) {
        *a = (struct scalar_analysis){false, true, true, true, true};
        return;
    }
    if (len >= 3 && ((v[0] == '-' && v[1] == '-' && v[2] == '-') ||
                     (v[0] == '.' && v[1] == '.' && v[2] == '.'))) {
        block_ind = true;
        flow_ind = true;
    }
    for (size_t i = 0, w; i < len; i += w) {
        w = char_width(v[i]);
        followed_ws = i + w >= len || is_blank_at(v, len, i + w);
        if (i == 0) {
            if (strchr("#,[]{}&*!|>'\"%@`", v[i])) {
                flow_ind = block_ind = true;
            } else if (v[i] == '?' || v[i] == ':') {
                flow_ind = true;
                if (followed_ws)
                    block_ind = true;
            } else if (v[i] == '-' && followed_ws) {
                flow_ind = block_ind = true;
            }
        } else {
            if (strchr(",?[]{}", v[i])) {
                flow_ind = true;
            } else if (v[i] == ':') {
                flow_ind = true;
                if (followed_ws)
                    block_ind = true;
            } else if (v[i] == '#' && preceded_ws) {
                flow_ind = block_ind = true;
            }
        }
        if (!is_printable_at(v, len, i))
            special = true;
        if (is_space_at(v, len, i)) {
            if (i == 0)
                leading_space = true;
            if (i + w == len)
                trailing_space = true;
            if (prev_break)
                break_space = true;
            prev_space = true;
            prev_break = false;
        } else if (is_break_at(v, len, i)) {
            line_breaks = true;
            if (i == 0)
                leading_break = true;
            if (i + w == len)
                trailing_break = true;
            if (prev_space)
                space_break = true;
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = prev_break = false;
        }
        preceded_ws = is_blankz_at(v, len, i);
    }
    *a = (struct scalar_analysis){line_breaks, true, true, true, true};
    if (leading_space || leading_break || trailing_space || trailing_break)
        a->flow_plain_allowed = a->block_plain_allowed = false;
    if (trailing_space)
        a->block_allowed = false;
    if (break_space)
        a->flow_plain_allowed = a->block_plain_allowed = a->single_quoted_allowed = false;
    if (space_break || special)
        a->flow_plain_allowed = a->block_plain_allowed = a->single_quoted_allowed =
            a->block_allowed = false;
    if (line_breaks)
        a->flow_plain_allowed = a->block_plain_allowed = false;
    if (flow_ind)
        a->flow_plain_allowed = false;
    if (block_ind)
        a->block_plain_allowed = false;
}

static void put(struct emitter *e, char c)
{
    ks_buf_putc(e->out, c);
    e->column++;
}

static void put_break(struct emitter *e)
{
    ks_buf_putc(e->out, '\n');
    e->column = 0;
}

/* Copies one character (UTF-8 sequence) and counts one column. */
static void write_char(struct emitter *e, const unsigned char *v, size_t len, size_t *i)
{
    size_t w = char_width(v[*i]);
    if (*i + w > len)
        w = len - *i;
    ks_buf_put(e->out, v + *i, w);
    *i += w;
    e->column++;
}

static void write_break(struct emitter *e, const unsigned char *v, size_t len, size_t *i)
{
    if (v[*i] == '\n') {
        put_break(e);
        (*i)++;
    } else {
        write_char(e, v, len, i);
        e->column = 0;
    }
}

static void write_indent(struct emitter *e)
{
    static const char spaces[] = "                                ";
    int indent = e->indent < 0 ? 0 : e->indent;
    if (!e->indention || e->column > indent || (e->column == indent && !e->whitespace))
        put_break(e);
    while (e->column < indent) {
        int n = indent - e->column;
        if (n > (int)sizeof(spaces) - 1)
            n = (int)sizeof(spaces) - 1;
        ks_buf_put(e->out, spaces, (size_t)n);
        e->column += n;
    }
    e->whitespace = true;
    e->indention = true;
}

static void write_indicator(struct emitter *e, const char *ind, bool need_ws, bool is_ws,
                            bool is_indention)
{
    if (need_ws && !e->whitespace)
        put(e, ' ');
    size_t n = strlen(ind);
    ks_buf_put(e->out, ind, n);
    e->column += (int)n;
    e->whitespace = is_ws;
    e->indention = e->indention && is_indention;
}

static void increase_indent(struct emitter *e, bool flow, bool indentless)
{
    if (e->indent < 0)
        e->indent = flow ? BEST_INDENT : 0;
    else if (!indentless)
        e->indent += BEST_INDENT;
}

/* No byte that starts a space or a break (' ', CR, LF, U+0085, U+2028/9). */
static bool no_space_or_break(const unsigned char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] == ' ' || v[i] == '\r' || v[i] == '\n' || v[i] == 0xC2 || v[i] == 0xE2)
            return false;
    return true;
}

/* A plain scalar of ASCII bytes without spaces, breaks or indicators (what
 * write_plain_or_single does with one, without the checks). */
static void write_word(struct emitter *e, const char *s, size_t len)
{
    if (!e->whitespace)
        put(e, ' ');
    ks_buf_put(e->out, s, len);
    e->column += (int)len;
    e->whitespace = false;
    e->indention = false;
}

/* Plain and single-quoted writers share their folding logic. */
static void write_plain_or_single(struct emitter *e, const unsigned char *v, size_t len,
                                  bool allow_breaks, bool single)
{
    if (single)
        write_indicator(e, "'", true, false, false);
    else if (!e->whitespace)
        put(e, ' ');
    if (!single && no_space_or_break(v, len)) {
        /* the loop below would copy it character by character */
        ks_buf_put(e->out, v, len);
        for (size_t i = 0; i < len; i += char_width(v[i]))
            e->column++;
        e->whitespace = false;
        e->indention = false;
        return;
    }
    bool spaces = false, breaks = false;
    for (size_t i = 0; i < len;) {
        if (is_space_at(v, len, i)) {
            bool fold = allow_breaks && !spaces && !e->v3 && e->column > BEST_WIDTH &&
                        !is_space_at(v, len, i + 1);
            if (single)
                fold = fold && i > 0 && i < len - 1;
            if (fold) {
                write_indent(e);
                i++;
            } else {
                write_char(e, v, len, &i);
            }
            spaces = true;
        } else if (is_break_at(v, len, i)) {
            if (!breaks && v[i] == '\n')
                put_break(e);
            write_break(e, v, len, &i);
            e->indention = true;
            breaks = true;
        } else {
            if (breaks)
                write_indent(e);
            if (single && v[i] == '\'')
                put(e, '\'');
            write_char(e, v, len, &i);
            e->indention = false;
            spaces = breaks = false;
        }
    }
    if (single)
        write_indicator(e, "'", false, false, false);
    e->whitespace = false;
    e->indention = false;
}

static void write_double_quoted(struct emitter *e, const unsigned char *v, size_t len,
                                bool allow_breaks)
{
    static const char hexd[] = "0123456789ABCDEF";
    bool spaces = false;
    /* go-yaml's is_bom looks at the start of the value, not at i: a value
     * that starts with U+FEFF has every character escaped */
    bool bom = len >= 3 && v[0] == 0xEF && v[1] == 0xBB && v[2] == 0xBF;
    write_indicator(e, "\"", true, false, false);
    for (size_t i = 0; i < len;) {
        if (!is_printable_at(v, len, i) || bom || is_break_at(v, len, i) || v[i] == '"' ||
            v[i] == '\\') {
            size_t w = char_width(v[i]);
            uint32_t cp = w == 1   ? v[i]
                          : w == 2 ? (v[i] & 0x1Fu)
                          : w == 3 ? (v[i] & 0x0Fu)
                                   : (v[i] & 0x07u);
            for (size_t k = 1; k < w && i + k < len; k++)
                cp = (cp << 6) + (v[i + k] & 0x3Fu);
            i += w;
            put(e, '\\');
            const char *simple = NULL;
            switch (cp) {
            case 0x00:
                simple = "0";
                break;
            case 0x07:
                simple = "a";
                break;
            case 0x08:
                simple = "b";
                break;
            case 0x09:
                simple = "t";
                break;
            case 0x0A:
                simple = "n";
                break;
            case 0x0B:
                simple = "v";
                break;
            case 0x0C:
                simple = "f";
                break;
            case 0x0D:
                simple = "r";
                break;
            case 0x1B:
                simple = "e";
                break;
            case 0x22:
                simple = "\"";
                break;
            case 0x5C:
                simple = "\\";
                break;
            case 0x85:
                simple = "N";
                break;
            case 0xA0:
                simple = "_";
                break;
            case 0x2028:
                simple = "L";
                break;
            case 0x2029:
                simple = "P";
                break;
            default:
                break;
            }
            if (simple) {
                put(e, simple[0]);
            } else {
                int digits = cp <= 0xFF ? 2 : cp <= 0xFFFF ? 4 : 8;
                put(e, digits == 2 ? 'x' : digits == 4 ? 'u' : 'U');
                for (int k = (digits - 1) * 4; k >= 0; k -= 4)
                    put(e, hexd[(cp >> k) & 0xF]);
            }
            spaces = false;
        } else if (is_space_at(v, len, i)) {
            if (allow_breaks && !spaces && !e->v3 && e->column > BEST_WIDTH && i > 0 &&
                i < len - 1) {
                write_indent(e);
                if (is_space_at(v, len, i + 1))
                    put(e, '\\');
                i++;
            } else {
                write_char(e, v, len, &i);
            }
            spaces = true;
        } else {
            write_char(e, v, len, &i);
            spaces = false;
        }
    }
    write_indicator(e, "\"", false, false, false);
    e->whitespace = false;
    e->indention = false;
}

static void write_literal(struct emitter *e, const unsigned char *v, size_t len)
{
    write_indicator(e, "|", true, false, false);
    if (is_space_at(v, len, 0) || is_break_at(v, len, 0)) {
        char hint[2] = {(char)('0' + BEST_INDENT), '\0'};
        write_indicator(e, hint, false, false, false);
    }
    const char *chomp = NULL;
    if (len == 0) {
        chomp = "-";
    } else {
        size_t i = len - 1;
        while (i > 0 && (v[i] & 0xC0) == 0x80)
            i--;
        if (!is_break_at(v, len, i)) {
            chomp = "-";
        } else if (i == 0) {
            chomp = "+";
        } else {
            i--;
            while (i > 0 && (v[i] & 0xC0) == 0x80)
                i--;
            if (is_break_at(v, len, i))
                chomp = "+";
        }
    }
    if (chomp)
        write_indicator(e, chomp, false, false, false);
    put_break(e);
    e->indention = true;
    e->whitespace = true;
    bool breaks = true;
    for (size_t i = 0; i < len;) {
        if (is_break_at(v, len, i)) {
            write_break(e, v, len, &i);
            e->indention = true;
            breaks = true;
        } else {
            if (breaks)
                write_indent(e);
            write_char(e, v, len, &i);
            e->indention = false;
            breaks = false;
        }
    }
}

/* Emits one scalar; style is what go-yaml's encoder asked for. */
static void emit_scalar(struct emitter *e, const char *text, size_t len, enum scalar_style style)
{
    const unsigned char *v = (const unsigned char *)text;
    struct scalar_analysis a;
    analyze_scalar(&a, v, len);
    if (e->simple_key_context && a.multiline)
        style = ST_DOUBLE;
    if (style == ST_PLAIN) {
        if ((e->flow_level > 0 && !a.flow_plain_allowed) ||
            (e->flow_level == 0 && !a.block_plain_allowed))
            style = ST_SINGLE;
        if (len == 0 && (e->flow_level > 0 || e->simple_key_context))
            style = ST_SINGLE;
    }
    if (style == ST_SINGLE && !a.single_quoted_allowed)
        style = ST_DOUBLE;
    if (style == ST_LITERAL && (!a.block_allowed || e->flow_level > 0 || e->simple_key_context))
        style = ST_DOUBLE;

    int saved = e->indent;
    increase_indent(e, true, false);
    bool allow_breaks = !e->simple_key_context;
    switch (style) {
    case ST_PLAIN:
        write_plain_or_single(e, v, len, allow_breaks, false);
        break;
    case ST_SINGLE:
        write_plain_or_single(e, v, len, allow_breaks, true);
        break;
    case ST_DOUBLE:
        write_double_quoted(e, v, len, allow_breaks);
        break;
    case ST_LITERAL:
        write_literal(e, v, len);
        break;
    }
    e->indent = saved;
}

/* The style go-yaml v2's encoder requests for a string (encode.go stringv). */
static enum scalar_style string_style(const char *s, size_t len)
{
    struct plain_value pv;
    classify_plain(&pv, s, len);
    bool can_plain = pv.kind == PK_STR && !is_base60_float(s, len);
    if (memchr(s, '\n', len))
        return ST_LITERAL;
    return can_plain ? ST_PLAIN : ST_DOUBLE;
}

/* A float64 value as it comes back from the JSON text: v2 reads Go's JSON
 * number as an int or uint64 when it has no fraction or exponent. */
static int format_json_number(struct ks_buf *tmp, double f)
{
    if (f == floor(f) && fabs(f) < 9007199254740992.0) {
        /* an exact integer: JSON writes its digits, v2 reads them back as
         * an int ("-0" as 0) and prints that */
        char d[24];
        size_t n = 0;
        long long i = (long long)f;
        unsigned long long u = i < 0 ? (unsigned long long)-i : (unsigned long long)i;
        do {
            d[sizeof(d) - 1 - n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (i < 0)
            d[sizeof(d) - 1 - n++] = '-';
        ks_buf_put(tmp, d + sizeof(d) - n, n);
        return ks_buf_error(tmp);
    }
    int rc = ks_gojson_format_float(tmp, f);
    if (rc)
        return rc;
    struct plain_value pv;
    classify_plain(&pv, tmp->data, tmp->len);
    ks_buf_reset(tmp);
    if (pv.kind == PK_FLOAT)
        return ks_goyaml_format_float(tmp, pv.f);
    /* v2 prints the int it read: "-0" comes back as 0 */
    if (pv.kind == PK_INT)
        ks_buf_printf(tmp, "%lld", (long long)pv.i);
    else
        ks_buf_printf(tmp, "%llu", (unsigned long long)pv.u);
    return ks_buf_error(tmp);
}

/* ---- natural key order (yaml.v2 sorter.go) ---- */

static size_t to_runes(uint32_t *out, const char *s, size_t len)
{
    const unsigned char *v = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t w = ks_goenc_utf8_len(v + i, len - i);
        if (w == 0) {
            out[n++] = 0xFFFD;
            i++;
            continue;
        }
        uint32_t cp = w == 1   ? v[i]
                      : w == 2 ? (v[i] & 0x1Fu)
                      : w == 3 ? (v[i] & 0x0Fu)
                               : (v[i] & 0x07u);
        for (size_t k = 1; k < w; k++)
            cp = (cp << 6) | (v[i + k] & 0x3Fu);
        out[n++] = cp;
        i += w;
    }
    return n;
}

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* unicode.IsLetter: ASCII exactly; beyond ASCII the C library's Unicode
 * table (iswalpha in C.UTF-8), which classifies letters the same way for
 * everything but a few marks. */
static bool rune_is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    pthread_once(&utf8_locale_once, utf8_locale_init);
    if (utf8_locale == (locale_t)0)
        return c >= 0xC0 && c != 0xD7 && c != 0xF7;
    return iswalpha_l((wint_t)c, utf8_locale) != 0;
}

static bool rune_is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

/* One code unit of a key: a rune, or a byte of an all-ASCII key (where
 * bytes and runes are the same thing). */
struct units {
    const uint32_t *wide;
    const unsigned char *narrow;
    size_t n;
};

static uint32_t unit_at(const struct units *u, size_t i)
{
    return u->wide ? u->wide[i] : u->narrow[i];
}

/* sorter.go's keyList.Less on two keys as units. */
static bool natural_less_units(const struct units *a, const struct units *b)
{
    size_t na = a->n, nb = b->n;
    for (size_t i = 0; i < na && i < nb; i++) {
        uint32_t ac = unit_at(a, i), bc = unit_at(b, i);
        if (ac == bc)
            continue;
        bool al = rune_is_letter(ac), bl = rune_is_letter(bc);
        if (al && bl)
            return ac < bc;
        if (al || bl)
            return bl;
        uint64_t an = 0, bn = 0;
        if (ac == '0' || bc == '0') {
            for (size_t j = i; j-- > 0 && rune_is_digit(unit_at(a, j));) {
                if (unit_at(a, j) != '0') {
                    an = bn = 1;
                    break;
                }
            }
        }
        size_t ai = i, bi = i;
        for (; ai < na && rune_is_digit(unit_at(a, ai)); ai++)
            an = an * 10 + (unit_at(a, ai) - '0');
        for (; bi < nb && rune_is_digit(unit_at(b, bi)); bi++)
            bn = bn * 10 + (unit_at(b, bi) - '0');
        if (an != bn)
            return (int64_t)an < (int64_t)bn;
        if (ai != bi)
            return ai < bi;
        return ac < bc;
    }
    return na < nb;
}

/* A key of a mapping being written: its text and value, whether it is
 * all ASCII (then sorted by its bytes, without decoding runes). */
struct yaml_key {
    const char *s;
    size_t len;
    bool ascii;
    const json_t *value;
};

static bool natural_less(const struct yaml_key *a, const struct yaml_key *b)
{
    if (a->ascii && b->ascii) {
        struct units ua = {NULL, (const unsigned char *)a->s, a->len};
        struct units ub = {NULL, (const unsigned char *)b->s, b->len};
        return natural_less_units(&ua, &ub);
    }
    uint32_t abuf[64], bbuf[64];
    uint32_t *ar = a->len < 64 ? abuf : malloc((a->len + 1) * sizeof(*ar));
    uint32_t *br = b->len < 64 ? bbuf : malloc((b->len + 1) * sizeof(*br));
    bool less = strcmp(a->s, b->s) < 0;
    if (ar && br) {
        struct units ua = {ar, NULL, to_runes(ar, a->s, a->len)};
        struct units ub = {br, NULL, to_runes(br, b->s, b->len)};
        less = natural_less_units(&ua, &ub);
    }
    if (ar != abuf)
        free(ar);
    if (br != bbuf)
        free(br);
    return less;
}

/* Merge sort (stable, O(n log n)) on the keys, already in byte order. */
static void sort_natural(struct yaml_key *keys, struct yaml_key *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_natural(keys, tmp, h);
    sort_natural(keys + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = natural_less(&keys[j], &keys[i]) ? keys[j++] : keys[i++];
    while (i < h)
        tmp[k++] = keys[i++];
    while (j < n)
        tmp[k++] = keys[j++];
    memcpy(keys, tmp, n * sizeof(*keys));
}

static int cmp_key_bytes(const void *pa, const void *pb)
{
    const struct yaml_key *a = pa, *b = pb;
    return strcmp(a->s, b->s);
}

/* ---- tree walk ---- */

static int emit_node(struct emitter *e, const json_t *v, bool mapping, unsigned depth);

/* encoding/json writes U+0085 (NEL) unescaped, and go-yaml reading that
 * JSON back folds it like any line break inside a double-quoted scalar:
 * spaces around it go, one break becomes a space, n breaks n-1 newlines.
 * Every other character JSON leaves raw is a plain character or a space. */
static void fold_nel(struct ks_buf *out, const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (;;) {
        while (i < len && s[i] != ' ' && !(s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0x85))
            ks_buf_putc(out, (char)s[i++]);
        if (i >= len)
            break;
        size_t spaces = 0, breaks = 0;
        while (i < len && (s[i] == ' ' || (s[i] == 0xC2 && i + 1 < len && s[i + 1] == 0x85))) {
            if (s[i] == ' ') {
                spaces += breaks == 0;
                i++;
            } else {
                breaks++;
                i += 2;
            }
        }
        if (breaks == 0) {
            for (size_t k = 0; k < spaces; k++)
                ks_buf_putc(out, ' ');
        } else if (breaks == 1) {
            ks_buf_putc(out, ' ');
        } else {
            for (size_t k = 1; k < breaks; k++)
                ks_buf_putc(out, '\n');
        }
    }
}

/* True when go-yaml v2 writes s (non-empty) as a plain word: a simple word
 * (every style allowed, see is_simple_word) that v2's resolver reads back
 * as a string. Only digits (numbers, timestamps, base-60 floats) and the
 * bool/null words (at most 5 bytes, starting with one of yYnNtTfFoO) can
 * resolve to something else; those go through classify_plain. */
static bool is_plain_word(const char *s, size_t len)
{
    if (len == 0 || !is_simple_word((const unsigned char *)s, len))
        return false;
    char c = s[0];
    if (is_digit(c))
        return string_style(s, len) == ST_PLAIN;
    if (len <= 5 && strchr("yYnNtTfFoO", c)) {
        /* the words are case variants of these: others are strings */
        static const char *const lower[] = {"y",     "yes", "n",   "no",  "true",
                                            "false", "on",  "off", "null"};
        char w[6];
        for (size_t i = 0; i < len; i++)
            w[i] = (char)(s[i] | 0x20);
        for (size_t k = 0; k < sizeof(lower) / sizeof(lower[0]); k++)
            if (strlen(lower[k]) == len && memcmp(lower[k], w, len) == 0)
                return string_style(s, len) == ST_PLAIN;
    }
    return true;
}

static int emit_string_scalar(struct emitter *e, const char *s, size_t len)
{
    if (is_plain_word(s, len)) {
        write_word(e, s, len);
        return 0;
    }
    /* json.Marshal replaced invalid UTF-8 with U+FFFD before v2 saw it */
    const unsigned char *u = (const unsigned char *)s;
    bool valid = true, nel = false;
    size_t ascii = 0;
    while (ascii < len && u[ascii] < 0x80)
        ascii++;
    for (size_t i = ascii; i < len && valid;) {
        size_t w = ks_goenc_utf8_len(u + i, len - i);
        valid = w != 0;
        nel = nel || (w == 2 && u[i] == 0xC2 && u[i + 1] == 0x85);
        i += w;
    }
    if (valid && !nel) {
        emit_scalar(e, s, len, string_style(s, len));
        return 0;
    }
    /* after a raw NEL go-yaml is at the start of a line inside the quoted
     * JSON string, where "--- " or "... " is a document marker: it fails */
    for (size_t i = 0; nel && i + 5 < len; i++) {
        if (u[i] == 0xC2 && u[i + 1] == 0x85 &&
            (memcmp(u + i + 2, "---", 3) == 0 || memcmp(u + i + 2, "...", 3) == 0) &&
            (u[i + 5] == ' ' || (u[i + 5] == 0xC2 && i + 6 < len && u[i + 6] == 0x85)))
            return ks_error_set(KS_EINVALID,
                                "yaml: found unexpected document indicator (after U+0085)");
    }
    struct ks_buf fixed, folded;
    ks_buf_init(&fixed, 0);
    ks_buf_init(&folded, 0);
    for (size_t i = 0; i < len;) {
        size_t w = ks_goenc_utf8_len(u + i, len - i);
        if (w == 0) {
            ks_buf_puts(&fixed, "\xEF\xBF\xBD");
            i++;
        } else {
            ks_buf_put(&fixed, u + i, w);
            i += w;
        }
    }
    fold_nel(&folded, (const unsigned char *)ks_buf_data(&fixed), fixed.len);
    int rc = ks_buf_error(&fixed) ? ks_buf_error(&fixed) : ks_buf_error(&folded);
    if (rc == 0)
        emit_scalar(e, ks_buf_data(&folded), folded.len,
                    string_style(ks_buf_data(&folded), folded.len));
    ks_buf_release(&fixed);
    ks_buf_release(&folded);
    return rc;
}

static int emit_mapping(struct emitter *e, const json_t *v, unsigned depth)
{
    int rc = 0;
    size_t n = json_object_size(v);
    struct yaml_key small[32], small_tmp[32];
    struct yaml_key *keys = n <= 32 ? small : malloc(n * sizeof(*keys));
    struct yaml_key *tmp = n <= 32 ? small_tmp : malloc(n * sizeof(*tmp));
    if (!keys || !tmp) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    size_t i = 0;
    const char *k;
    json_t *kv;
    json_object_foreach((json_t *)v, k, kv)
    {
        struct yaml_key *y = &keys[i++];
        const unsigned char *u = (const unsigned char *)k;
        size_t len = 0;
        unsigned char high = 0;
        for (; u[len]; len++)
            high |= u[len];
        *y = (struct yaml_key){k, len, high < 0x80, kv};
        /* a raw NEL inside a JSON key breaks go-yaml's reading of the JSON
         * (a flow key cannot span lines): helm's toYaml fails */
        if (!y->ascii && strstr(k, "\xC2\x85")) {
            rc = ks_error_set(KS_EINVALID, "yaml: did not find expected ',' or '}' (U+0085 in a "
                                           "map key)");
            goto done;
        }
    }
    qsort(keys, n, sizeof(*keys), cmp_key_bytes);
    sort_natural(keys, tmp, n);
    int saved = e->indent;
    increase_indent(e, false, false);
    for (i = 0; i < n; i++) {
        const char *key = keys[i].s;
        size_t klen = keys[i].len;
        bool word = is_plain_word(key, klen);
        bool simple = klen <= 128;
        if (simple && !word) {
            struct scalar_analysis a;
            analyze_scalar(&a, (const unsigned char *)key, klen);
            simple = !a.multiline;
        }
        write_indent(e);
        if (!simple)
            write_indicator(e, "?", true, false, true);
        e->mapping_context = true;
        e->simple_key_context = simple;
        if (word)
            write_word(e, key, klen);
        else if ((rc = emit_string_scalar(e, key, klen)) != 0)
            goto done;
        if (simple) {
            write_indicator(e, ":", false, false, false);
        } else {
            write_indent(e);
            write_indicator(e, ":", true, false, true);
        }
        rc = emit_node(e, keys[i].value, true, depth + 1);
        if (rc)
            goto done;
    }
    e->indent = saved;
done:
    if (keys != small)
        free(keys);
    if (tmp != small_tmp)
        free(tmp);
    return rc;
}

/* Decimal digits of i into d (at least 21 bytes); returns the length. */
static size_t format_int(char *d, long long i)
{
    char r[24];
    size_t n = 0, k = 0;
    unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
    do {
        r[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        d[k++] = '-';
    while (n)
        d[k++] = r[--n];
    return k;
}

static int emit_node(struct emitter *e, const json_t *v, bool mapping, unsigned depth)
{
    int rc = 0;
    e->mapping_context = mapping;
    e->simple_key_context = false;
    if (depth > MAX_DEPTH)
        return ks_error_set(KS_ELIMIT, "yaml: nesting deeper than %d levels", MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (json_object_size(v) == 0) {
            write_indicator(e, "{", true, true, false);
            write_indicator(e, "}", false, false, false);
        } else {
            rc = emit_mapping(e, v, depth);
        }
        break;
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            write_indicator(e, "[", true, true, false);
            write_indicator(e, "]", false, false, false);
        } else {
            int saved = e->indent;
            increase_indent(e, false, !e->v3 && e->mapping_context && !e->indention);
            for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
                write_indent(e);
                write_indicator(e, "-", true, false, true);
                rc = emit_node(e, json_array_get(v, i), false, depth + 1);
            }
            e->indent = saved;
        }
        break;
    case JSON_STRING:
        rc = emit_string_scalar(e, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        char d[24];
        size_t n = format_int(d, (long long)json_integer_value(v));
        write_word(e, d, n);
        break;
    }
    case JSON_REAL: {
        double f = json_real_value(v);
        if (!e->v3 && f == floor(f) && fabs(f) < 9007199254740992.0) {
            /* an exact integer: JSON writes its digits, v2 reads them back
             * as an int ("-0" as 0) and prints that */
            char d[24];
            size_t n = format_int(d, (long long)f);
            write_word(e, d, n);
            break;
        }
        /* v3 encodes the Go float64 itself; v2 re-reads sigs.k8s.io's JSON */
        struct ks_buf tmp;
        ks_buf_init(&tmp, 0);
        rc = e->v3 ? ks_gofmt_float(&tmp, f, 'g', -1) : format_json_number(&tmp, f);
        if (rc == 0)
            rc = ks_buf_error(&tmp);
        if (rc == 0)
            emit_scalar(e, tmp.data, tmp.len, ST_PLAIN);
        ks_buf_release(&tmp);
        break;
    }
    case JSON_TRUE:
        write_word(e, "true", 4);
        break;
    case JSON_FALSE:
        write_word(e, "false", 5);
        break;
    case JSON_NULL:
        write_word(e, "null", 4);
        break;
    }
    return rc;
}

static int marshal(struct ks_buf *out, const json_t *v, bool v3)
{
    struct emitter e = {
        .out = out,
        .v3 = v3,
        .indent = -1,
        .column = 0,
        .whitespace = true,
        .indention = true,
    };
    int rc = emit_node(&e, v ? v : json_null(), false, 0);
    if (rc)
        return rc;
    /* implicit document end: write_indent ends the last line */
    write_indent(&e);
    return ks_buf_error(out);
}

int ks_goyaml_marshal(struct ks_buf *out, const json_t *v)
{
    return marshal(out, v, false);
}

int ks_goyaml3_marshal(struct ks_buf *out, const json_t *v)
{
    return marshal(out, v, true);
}
