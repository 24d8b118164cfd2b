/*
 * toml_parse.c: Helm's fromToml, i.e. BurntSushi/toml (v1.4) decoding a
 * document into map[string]interface{}: tables are dicts, integers Go
 * int64 (marked for the engine), floats float64 (inf/nan too), strings
 * with TOML's escapes and multi-line forms, arrays, inline tables, dotted
 * and quoted keys, [tables] and [[arrays of tables]]. As in Helm a parse
 * error is not a template error: the result is a dict whose "Error" key
 * holds the decoder's message ("toml: line N (last key \"k\"): ...", line 0
 * when the input ended early, as BurntSushi reports it).
 *
 * Not reproduced: TOML date-times (Go time.Time / toml.Local* values) and
 * inf/nan floats (the value model has no such numbers) fail the call with
 * an error saying so, and arrays of tables are plain lists (Go's
 * []map[string]interface {} type name is not kept).
 */
#include "renderer/funcs/funcs.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/gofmt.h"
#include "renderer/template.h"

#define TOML_MAX_DEPTH 100
#define TOML_MAX_INPUT ((size_t)16 * 1024 * 1024)

/* meta kinds, per full key path */
enum { M_VALUE = 1, M_TABLE = 2, M_IMPLICIT = 3, M_ARRAY = 4 };

struct tp {
    const char *s;
    size_t n, i;
    struct ks_tpl_call *call;
    json_t *root;
    json_t *meta;       /* path -> kind */
    struct ks_buf path; /* meta path of the current table */
    char lastkey[512];  /* dotted key for messages */
    char hname[512];    /* the table header being added */
    char err[1024];     /* the decoder's message once failed */
    bool unsupported;   /* date-time: a real error, not an "Error" key */
    bool line_bump;     /* the error is about a newline: report the next line */
    int depth;
};

static int line_at(const struct tp *t, size_t pos)
{
    /* BurntSushi reports end-of-input errors one line up (line 0 for a
     * one-line document) */
    int line = pos >= t->n ? 0 : 1;
    for (size_t k = 0; k < pos && k < t->n; k++)
        line += t->s[k] == '\n';
    return line + (t->line_bump ? 1 : 0);
}

static int fail_at(struct tp *t, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* BurntSushi names the "last key": the current table's path plus the key
 * whose value is being read (t->lastkey, kept so by the parser). */
static int fail_at(struct tp *t, size_t pos, const char *fmt, ...)
{
    if (t->err[0])
        return -1;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (t->lastkey[0])
        snprintf(t->err, sizeof(t->err), "toml: line %d (last key \"%s\"): %s", line_at(t, pos),
                 t->lastkey, msg);
    else
        snprintf(t->err, sizeof(t->err), "toml: line %d: %s", line_at(t, pos), msg);
    return -1;
}

static bool eof(const struct tp *t)
{
    return t->i >= t->n;
}

static char peek(const struct tp *t, size_t k)
{
    return t->i + k < t->n ? t->s[t->i + k] : '\0';
}

static void skip_ws(struct tp *t)
{
    while (!eof(t) && (t->s[t->i] == ' ' || t->s[t->i] == '\t'))
        t->i++;
}

static void skip_comment(struct tp *t)
{
    if (peek(t, 0) == '#')
        while (!eof(t) && t->s[t->i] != '\n')
            t->i++;
}

/* Whitespace, newlines and comments (inside arrays). */
static void skip_all(struct tp *t)
{
    for (;;) {
        skip_ws(t);
        skip_comment(t);
        if (peek(t, 0) == '\n' || (peek(t, 0) == '\r' && peek(t, 1) == '\n'))
            t->i += peek(t, 0) == '\r' ? 2 : 1;
        else
            return;
    }
}

static bool is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int utf8_put(struct tp *t, struct ks_buf *b, unsigned long cp, size_t pos)
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail_at(t, pos, "invalid escape: '\\u%04lX'", cp);
    return ks_funcs_utf8_put(b, (uint32_t)cp) < 0 ? fail_at(t, pos, "out of memory") : 0;
}

/* One escape after a backslash in a basic string. */
static int escape(struct tp *t, struct ks_buf *b)
{
    size_t at = t->i;
    char c = peek(t, 0);
    t->i++;
    switch (c) {
    case 'b':
        return ks_buf_putc(b, '\b');
    case 't':
        return ks_buf_putc(b, '\t');
    case 'n':
        return ks_buf_putc(b, '\n');
    case 'f':
        return ks_buf_putc(b, '\f');
    case 'r':
        return ks_buf_putc(b, '\r');
    case '"':
        return ks_buf_putc(b, '"');
    case '\\':
        return ks_buf_putc(b, '\\');
    case 'u':
    case 'U': {
        size_t len = c == 'u' ? 4 : 8;
        unsigned long cp = 0;
        for (size_t k = 0; k < len; k++) {
            char h = peek(t, k);
            int v = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (v < 0) {
                size_t avail = t->n - t->i < len ? t->n - t->i : len;
                struct ks_buf raw, q;
                ks_buf_init(&raw, 0);
                ks_buf_init(&q, 0);
                ks_buf_putc(&raw, '\\');
                ks_buf_putc(&raw, c);
                ks_buf_put(&raw, t->s + t->i, avail);
                ks_gofmt_quote(&q, ks_buf_data(&raw), raw.len);
                fail_at(t, at, "expected %s hexadecimal digits after '\\%c', but got %s instead",
                        c == 'u' ? "four" : "eight", c, ks_buf_data(&q));
                ks_buf_release(&raw);
                ks_buf_release(&q);
                return -1;
            }
            cp = cp * 16 + (unsigned long)v;
        }
        t->i += len;
        return utf8_put(t, b, cp, at);
    }
    default:
        if (c == '\0' && at >= t->n)
            return fail_at(t, at, "unexpected EOF; expected '\"'");
        return fail_at(t, at, "invalid escape in string '\\%c'", c);
    }
}

/* A string at t->i (opening quote included); result in b. */
static int string_value(struct tp *t, struct ks_buf *b, bool allow_multi)
{
    char q = peek(t, 0);
    bool multi = allow_multi && peek(t, 1) == q && peek(t, 2) == q;
    t->i += multi ? 3 : 1;
    if (multi && peek(t, 0) == '\n')
        t->i++;
    else if (multi && peek(t, 0) == '\r' && peek(t, 1) == '\n')
        t->i += 2;
    for (;;) {
        if (eof(t))
            return fail_at(t, t->i, "unexpected EOF; expected '%s'",
                           multi ? (q == '"' ? "\"\"\"" : "'''") : (q == '"' ? "\"" : "'"));
        char c = t->s[t->i];
        if (c == q) {
            if (!multi) {
                t->i++;
                return 0;
            }
            if (peek(t, 1) == q && peek(t, 2) == q) {
                /* up to two more quotes belong to the content */
                size_t extra = 0;
                while (extra < 2 && peek(t, 3 + extra) == q)
                    extra++;
                ks_buf_put(b, t->s + t->i, extra);
                t->i += 3 + extra;
                return 0;
            }
        }
        if (c == '\n' && !multi)
            return fail_at(t, t->i, "strings cannot contain newlines");
        if (c == '\\' && q == '"') {
            t->i++;
            if (multi) {
                /* line-ending backslash: drop whitespace up to the next text */
                size_t k = t->i;
                while (k < t->n && (t->s[k] == ' ' || t->s[k] == '\t'))
                    k++;
                if (k < t->n && (t->s[k] == '\n' || t->s[k] == '\r')) {
                    while (k < t->n && (t->s[k] == ' ' || t->s[k] == '\t' || t->s[k] == '\n' ||
                                        t->s[k] == '\r'))
                        k++;
                    t->i = k;
                    continue;
                }
            }
            if (escape(t, b) < 0)
                return -1;
            continue;
        }
        ks_buf_putc(b, c);
        t->i++;
    }
}

/* Go's %q of the rune at p (strconv.QuoteRune) for messages. */
static void quote_rune(char *out, size_t cap, const char *p, size_t left)
{
    unsigned char c = (unsigned char)p[0];
    if (c == '\'' || c == '\\')
        snprintf(out, cap, "'\\%c'", c);
    else if (c == '\n')
        snprintf(out, cap, "'\\n'");
    else if (c == '\t')
        snprintf(out, cap, "'\\t'");
    else if (c == '\r')
        snprintf(out, cap, "'\\r'");
    else if (c < 0x20 || c == 0x7F)
        snprintf(out, cap, "'\\x%02x'", c);
    else {
        size_t w = 1;
        while (c >= 0x80 && w < left && w < 4 && ((unsigned char)p[w] & 0xC0) == 0x80)
            w++;
        snprintf(out, cap, "'%.*s'", (int)w, p);
    }
}

/* A key (bare, quoted, dotted) into a json array of segments, up to the
 * '=' (mode 0), the ']' of a [table] (1) or the "]]" of an [[array]] (2),
 * which is left unread; BurntSushi's lexer messages. */
static int key_path(struct tp *t, json_t *segs, int mode)
{
    char q[16];
    for (;;) {
        skip_ws(t);
        size_t start = t->i;
        char c = peek(t, 0);
        json_t *seg = NULL;
        if (mode && (eof(t) || c == ']'))
            return fail_at(t, start > 0 ? start - 1 : 0,
                           "unexpected end of table name (table names cannot be empty)");
        if (mode && c == '.')
            return fail_at(t, start, "unexpected table separator (table names cannot be empty)");
        if (!mode && c == '=')
            return fail_at(t, start, "unexpected '=': key name appears blank");
        if (!mode && c == '.')
            return fail_at(t, start, "unexpected '.': keys cannot start with a '.'");
        if (c == '"' || c == '\'') {
            struct ks_buf b;
            ks_buf_init(&b, TOML_MAX_INPUT);
            int rc = string_value(t, &b, false);
            if (rc == 0)
                seg = json_stringn(ks_buf_data(&b), b.len);
            ks_buf_release(&b);
            if (rc < 0)
                return -1;
        } else {
            while (!eof(t) && is_bare(t->s[t->i]))
                t->i++;
            seg = json_stringn(t->s + start, t->i - start);
        }
        if (!seg || json_array_append_new(segs, seg) < 0)
            return fail_at(t, start, "out of memory");
        skip_ws(t);
        c = peek(t, 0);
        if (!eof(t) && c == '.') {
            t->i++;
            continue;
        }
        if (!eof(t) && c == (mode ? ']' : '=')) {
            if (mode == 2 && peek(t, 1) != ']') {
                if (t->i + 1 >= t->n)
                    return fail_at(t, t->n, "unexpected EOF; expected ']'");
                quote_rune(q, sizeof(q), t->s + t->i + 1, t->n - t->i - 1);
                t->line_bump = t->s[t->i + 1] == '\n';
                return fail_at(t, t->i + 1,
                               "expected end of table array name delimiter ']', but got %s instead",
                               q);
            }
            return 0;
        }
        if (eof(t) && mode)
            return fail_at(t, t->i,
                           "expected '.' or ']' to end table name, but got '\\x00' "
                           "instead");
        if (eof(t))
            return fail_at(t, t->i, "unexpected EOF; expected key separator '='");
        quote_rune(q, sizeof(q), t->s + t->i, t->n - t->i);
        /* the lexer has read a newline it complains about: next line */
        t->line_bump = t->s[t->i] == '\n';
        return fail_at(t, t->i,
                       mode ? "expected '.' or ']' to end table name, but got %s instead"
                            : "expected '.' or '=', but got %s instead",
                       q);
    }
}

static void set_lastkey(struct tp *t, const json_t *prefix, const json_t *segs)
{
    t->lastkey[0] = '\0';
    size_t len = 0;
    const json_t *lists[2] = {prefix, segs};
    for (int l = 0; l < 2; l++) {
        size_t k;
        json_t *s;
        json_array_foreach(lists[l], k, s)
        {
            int w = snprintf(t->lastkey + len, sizeof(t->lastkey) - len, "%s%s", len ? "." : "",
                             json_string_value(s));
            if (w < 0 || (size_t)w >= sizeof(t->lastkey) - len)
                return;
            len += (size_t)w;
        }
    }
}

static int value(struct tp *t, json_t **out, json_t *keyprefix);

/* Integers and floats per TOML (underscores between digits only). */
static int number(struct tp *t, json_t **out)
{
    size_t start = t->i;
    char first = peek(t, 0);
    bool word = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z');
    while (!eof(t) && (is_bare(t->s[t->i]) || (!word && (t->s[t->i] == '+' || t->s[t->i] == '.'))))
        t->i++;
    size_t len = t->i - start;
    const char *w = t->s + start;
    char buf[128];
    if (len == 0) {
        char q[16];
        quote_rune(q, sizeof(q), t->s + t->i, t->n - t->i);
        return fail_at(t, start, "expected value but found %s instead", q);
    }
    if (len >= sizeof(buf))
        return fail_at(t, start, "expected value but found \"%.*s\" instead", (int)len, w);
    size_t n = 0;
    for (size_t k = 0; k < len; k++)
        if (w[k] != '_')
            buf[n++] = w[k];
    buf[n] = '\0';
    const char *d = buf + (buf[0] == '+' || buf[0] == '-');
    if (strcmp(d, "inf") == 0 || strcmp(d, "nan") == 0) {
        /* the value model (JSON numbers) has no infinities or NaN */
        t->unsupported = true;
        return fail_at(t, start, "fromToml: %s cannot be represented (no inf/nan values)", buf);
    }
    for (size_t k = 0; k < len; k++) {
        if (w[k] == '_' &&
            (k == 0 || k + 1 == len || !is_bare(w[k - 1]) || w[k + 1] == '_' ||
             !((w[k - 1] >= '0' && w[k - 1] <= '9') || (w[k - 1] >= 'a' && w[k - 1] <= 'f') ||
               (w[k - 1] >= 'A' && w[k - 1] <= 'F'))))
            return fail_at(t, start,
                           "Invalid number \"%.*s\": underscores must be surrounded by digits",
                           (int)len, w);
    }
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'o' || d[1] == 'b') && d == buf) {
        int base = d[1] == 'x' ? 16 : d[1] == 'o' ? 8 : 2;
        char *end;
        errno = 0;
        unsigned long long u = strtoull(d + 2, &end, base);
        if (d[2] == '\0' || *end || d[2] == '-' || d[2] == '+')
            return fail_at(t, start, "expected value but found \"%.*s\" instead", (int)len, w);
        if (errno == ERANGE || u > INT64_MAX)
            return fail_at(t, start, "%.*s is out of range for int64", (int)len, w);
        *out = json_integer((json_int_t)u);
        return *out ? ks_tpl_call_mark_int64(t->call, *out) : fail_at(t, start, "oom");
    }
    bool is_float = strpbrk(d, ".eE") != NULL;
    for (const char *p = d; *p; p++)
        if (!((*p >= '0' && *p <= '9') || strchr(".eE+-", *p)))
            return fail_at(t, start, "expected value but found \"%.*s\" instead", (int)len, w);
    if (!(d[0] >= '0' && d[0] <= '9'))
        return fail_at(t, start, "expected value but found \"%.*s\" instead", (int)len, w);
    if (is_float) {
        const char *dot = strchr(d, '.');
        if (dot && !(dot[1] >= '0' && dot[1] <= '9'))
            return fail_at(t, start,
                           "Invalid float \"%.*s\": '.' must be followed by one or more digits",
                           (int)len, w);
        if (d[0] == '0' && d[1] >= '0' && d[1] <= '9')
            return fail_at(t, start, "Invalid float \"%.*s\": cannot have leading zeroes", (int)len,
                           w);
        char *end;
        double f = strtod(buf, &end);
        if (*end)
            return fail_at(t, start, "Invalid float value: \"%.*s\"", (int)len, w);
        *out = json_real(f);
        return *out ? 0 : fail_at(t, start, "out of memory");
    }
    if (d[0] == '0' && d[1] != '\0')
        return fail_at(t, start, "Invalid integer \"%.*s\": cannot have leading zeroes", (int)len,
                       w);
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end)
        return fail_at(t, start, "expected value but found \"%.*s\" instead", (int)len, w);
    if (errno == ERANGE)
        return fail_at(t, start, "%.*s is out of range for int64", (int)len, w);
    *out = json_integer((json_int_t)v);
    return *out ? ks_tpl_call_mark_int64(t->call, *out) : fail_at(t, start, "oom");
}

/* Looks like a date or time (1979-05-27, 07:32:00)? */
static bool datetime_ahead(const struct tp *t)
{
    const char *p = t->s + t->i;
    size_t left = t->n - t->i;
    bool digits4 = left >= 5 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
                   p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9' && p[4] == '-';
    bool time =
        left >= 3 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] == ':';
    return digits4 || time;
}

static int array(struct tp *t, json_t **out, json_t *keyprefix)
{
    json_t *arr = json_array();
    if (!arr)
        return fail_at(t, t->i, "out of memory");
    t->i++; /* [ */
    for (;;) {
        skip_all(t);
        if (eof(t)) {
            json_decref(arr);
            return fail_at(t, t->i, "unexpected EOF; expected value");
        }
        if (peek(t, 0) == ']') {
            t->i++;
            *out = arr;
            return 0;
        }
        json_t *v = NULL;
        if (value(t, &v, keyprefix) < 0 || json_array_append_new(arr, v) < 0) {
            json_decref(arr);
            return fail_at(t, t->i, "out of memory");
        }
        skip_all(t);
        if (peek(t, 0) == ',') {
            t->i++;
            continue;
        }
        if (peek(t, 0) == ']')
            continue;
        json_decref(arr);
        if (eof(t))
            return fail_at(t, t->i,
                           "expected a comma (',') or array terminator (']'), but "
                           "got end of file");
        return fail_at(t, t->i, "expected a comma (',') or array terminator (']'), but got '%c'",
                       t->s[t->i]);
    }
}

/* Sets segs (relative to table tbl) to v, creating implicit tables. */
static int assign(struct tp *t, json_t *tbl, const char *metapath, json_t *segs, json_t *v,
                  size_t pos)
{
    struct ks_buf p;
    ks_buf_init(&p, 0);
    ks_buf_puts(&p, metapath);
    size_t n = json_array_size(segs);
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        const char *seg = json_string_value(json_array_get(segs, k));
        ks_buf_putc(&p, '\x1f');
        ks_buf_puts(&p, seg);
        json_t *cur = json_object_get(tbl, seg);
        if (k + 1 == n) {
            int kind = (int)json_integer_value(json_object_get(t->meta, ks_buf_data(&p)));
            if (cur && kind == M_IMPLICIT) {
                /* BurntSushi: a table defined implicitly "may be defined
                 * concretely": it stops being implicit and keeps its
                 * contents; the new value is dropped */
                if (json_object_set_new(t->meta, ks_buf_data(&p), json_integer(M_VALUE)) < 0)
                    rc = fail_at(t, pos, "out of memory");
                break;
            }
            if (cur && kind != M_ARRAY) {
                rc = fail_at(t, pos, "Key '%s' has already been defined.", t->lastkey);
                break;
            }
            /* an array of tables is replaced by the value, as BurntSushi does */
            if (json_object_set(tbl, seg, v) < 0 ||
                json_object_set_new(t->meta, ks_buf_data(&p), json_integer(M_VALUE)) < 0)
                rc = fail_at(t, pos, "out of memory");
            break;
        }
        if (!cur) {
            cur = json_object();
            if (!cur || json_object_set_new(tbl, seg, cur) < 0 ||
                json_object_set_new(t->meta, ks_buf_data(&p), json_integer(M_IMPLICIT)) < 0) {
                rc = fail_at(t, pos, "out of memory");
                break;
            }
        } else if (!json_is_object(cur) ||
                   json_integer_value(json_object_get(t->meta, ks_buf_data(&p))) != M_IMPLICIT) {
            rc = fail_at(t, pos, "Key '%s' has already been defined.", t->lastkey);
            break;
        }
        tbl = cur;
    }
    ks_buf_release(&p);
    json_decref(v);
    return rc;
}

static int inline_table(struct tp *t, json_t **out, json_t *keyprefix)
{
    json_t *tbl = json_object();
    json_t *saved_meta = t->meta;
    t->meta = json_object(); /* an inline table is its own namespace */
    int rc = tbl && t->meta ? 0 : fail_at(t, t->i, "out of memory");
    t->i++; /* { */
    skip_ws(t);
    if (rc == 0 && peek(t, 0) == '}') {
        t->i++;
        goto done;
    }
    while (rc == 0) {
        json_t *segs = json_array();
        json_t *full = json_deep_copy(keyprefix);
        json_t *v = NULL;
        if (!segs || !full) {
            rc = fail_at(t, t->i, "out of memory");
        } else if ((rc = key_path(t, segs, 0)) == 0) {
            json_array_extend(full, segs);
            set_lastkey(t, keyprefix, segs);
            t->i++; /* = */
            size_t pos = t->i;
            rc = value(t, &v, full);
            if (rc == 0) {
                set_lastkey(t, keyprefix, segs);
                rc = assign(t, tbl, "", segs, v, pos);
            }
        }
        json_decref(segs);
        json_decref(full);
        if (rc)
            break;
        skip_ws(t);
        if (peek(t, 0) == ',') {
            t->i++;
            continue;
        }
        if (peek(t, 0) == '}') {
            t->i++;
            break;
        }
        rc = eof(t) ? fail_at(t, t->i,
                              "expected a comma or an inline table terminator '}', but got end of "
                              "file instead")
                    : fail_at(t, t->i,
                              "expected a comma or an inline table terminator '}', but got '%c' "
                              "instead",
                              t->s[t->i]);
    }
done:
    json_decref(t->meta);
    t->meta = saved_meta;
    if (rc) {
        json_decref(tbl);
        return rc;
    }
    *out = tbl;
    return 0;
}

static int value(struct tp *t, json_t **out, json_t *keyprefix)
{
    skip_ws(t);
    if (eof(t))
        return fail_at(t, t->i, "unexpected EOF; expected value");
    if (++t->depth > TOML_MAX_DEPTH) {
        t->depth--;
        return fail_at(t, t->i, "nesting deeper than %d levels", TOML_MAX_DEPTH);
    }
    int rc;
    char c = t->s[t->i];
    if (c == '"' || c == '\'') {
        struct ks_buf b;
        ks_buf_init(&b, TOML_MAX_INPUT);
        rc = string_value(t, &b, true);
        if (rc == 0) {
            *out = json_stringn(ks_buf_data(&b), b.len);
            if (!*out)
                rc = fail_at(t, t->i, "out of memory");
        }
        ks_buf_release(&b);
    } else if (c == '[') {
        rc = array(t, out, keyprefix);
    } else if (c == '{') {
        rc = inline_table(t, out, keyprefix);
    } else if (strncmp(t->s + t->i, "true", 4) == 0 && !is_bare(peek(t, 4))) {
        t->i += 4;
        *out = json_true();
        rc = 0;
    } else if (strncmp(t->s + t->i, "false", 5) == 0 && !is_bare(peek(t, 5))) {
        t->i += 5;
        *out = json_false();
        rc = 0;
    } else if (datetime_ahead(t)) {
        t->unsupported = true;
        rc = fail_at(t, t->i, "fromToml: TOML date-time values are not supported");
    } else {
        rc = number(t, out);
    }
    t->depth--;
    return rc;
}

/* The table a header path names (creating implicit ones); arrays of tables
 * resolve to their last element. Updates t->path. */
static int walk_header(struct tp *t, json_t *segs, bool array_of_tables, size_t pos)
{
    json_t *tbl = t->root;
    ks_buf_reset(&t->path);
    size_t n = json_array_size(segs);
    for (size_t k = 0; k < n; k++) {
        const char *seg = json_string_value(json_array_get(segs, k));
        ks_buf_putc(&t->path, '\x1f');
        ks_buf_puts(&t->path, seg);
        json_t *cur = json_object_get(tbl, seg);
        int kind = (int)json_integer_value(json_object_get(t->meta, ks_buf_data(&t->path)));
        bool last = k + 1 == n;
        if (last && array_of_tables) {
            if (cur && kind != M_ARRAY)
                return fail_at(t, pos, "Key '%s' has already been defined.", t->hname);
            if (!cur) {
                cur = json_array();
                if (!cur || json_object_set_new(tbl, seg, cur) < 0 ||
                    json_object_set_new(t->meta, ks_buf_data(&t->path), json_integer(M_ARRAY)) < 0)
                    return fail_at(t, pos, "out of memory");
            }
            json_t *elem = json_object();
            if (!elem || json_array_append_new(cur, elem) < 0)
                return fail_at(t, pos, "out of memory");
            ks_buf_printf(&t->path, "\x1f#%zu", json_array_size(cur) - 1);
            return 0;
        }
        if (last) {
            if (cur && (kind != M_IMPLICIT || !json_is_object(cur)))
                return fail_at(t, pos, "Key '%s' has already been defined.", t->hname);
            if (!cur) {
                cur = json_object();
                if (!cur || json_object_set_new(tbl, seg, cur) < 0)
                    return fail_at(t, pos, "out of memory");
            }
            if (json_object_set_new(t->meta, ks_buf_data(&t->path), json_integer(M_TABLE)) < 0)
                return fail_at(t, pos, "out of memory");
            return 0;
        }
        if (!cur) {
            cur = json_object();
            if (!cur || json_object_set_new(tbl, seg, cur) < 0 ||
                json_object_set_new(t->meta, ks_buf_data(&t->path), json_integer(M_IMPLICIT)) < 0)
                return fail_at(t, pos, "out of memory");
        } else if (kind == M_ARRAY) {
            cur = json_array_get(cur, json_array_size(cur) - 1);
            ks_buf_printf(&t->path, "\x1f#%zu", json_array_size(json_object_get(tbl, seg)) - 1);
        } else if (!json_is_object(cur)) {
            /* (an inline table may be extended by a header below it) */
            return fail_at(t, pos, "Key '%s' has already been defined.", t->hname);
        }
        tbl = cur;
    }
    return 0;
}

/* The table object at t->path (after walk_header). */
static json_t *current_table(struct tp *t, json_t *segs)
{
    json_t *tbl = t->root;
    size_t n = json_array_size(segs);
    for (size_t k = 0; k < n && tbl; k++) {
        json_t *cur = json_object_get(tbl, json_string_value(json_array_get(segs, k)));
        if (json_is_array(cur))
            cur = json_array_get(cur, json_array_size(cur) - 1);
        tbl = cur;
    }
    return tbl;
}

static int parse(struct tp *t)
{
    json_t *table_segs = json_array();
    if (!table_segs)
        return fail_at(t, 0, "out of memory");
    int rc = 0;
    json_t *tbl = t->root;
    while (rc == 0) {
        skip_all(t);
        if (eof(t))
            break;
        size_t pos = t->i;
        if (peek(t, 0) == '[') {
            bool aot = peek(t, 1) == '[';
            t->i += aot ? 2 : 1;
            json_t *segs = json_array();
            if (!segs) {
                rc = fail_at(t, pos, "out of memory");
                break;
            }
            rc = key_path(t, segs, aot ? 2 : 1);
            if (rc == 0) {
                t->i += aot ? 2 : 1;
                /* the header's name for messages; while it is added the
                 * last key is its parent's path */
                json_t *parent = json_array();
                if (!parent) {
                    json_decref(segs);
                    rc = fail_at(t, pos, "out of memory");
                    break;
                }
                set_lastkey(t, segs, parent);
                snprintf(t->hname, sizeof(t->hname), "%s", t->lastkey);
                for (size_t k = 0; k + 1 < json_array_size(segs); k++)
                    json_array_append(parent, json_array_get(segs, k));
                json_t *none = json_array();
                set_lastkey(t, parent, none);
                json_decref(none);
                json_decref(parent);
                rc = walk_header(t, segs, aot, pos);
            }
            if (rc == 0) {
                json_decref(table_segs);
                table_segs = segs;
                segs = NULL;
                tbl = current_table(t, table_segs);
            }
            json_decref(segs);
        } else {
            json_t *segs = json_array();
            json_t *full = json_deep_copy(table_segs);
            json_t *v = NULL;
            if (!segs || !full) {
                json_decref(segs);
                json_decref(full);
                rc = fail_at(t, pos, "out of memory");
                break;
            }
            rc = key_path(t, segs, 0);
            if (rc == 0) {
                json_array_extend(full, segs);
                set_lastkey(t, table_segs, segs);
                t->i++; /* = */
                rc = value(t, &v, full);
            }
            if (rc == 0) {
                set_lastkey(t, table_segs, segs);
                rc = assign(t, tbl, ks_buf_data(&t->path), segs, v, pos);
            }
            json_decref(segs);
            json_decref(full);
        }
        if (rc)
            break;
        json_t *none = json_array();
        set_lastkey(t, table_segs, none);
        json_decref(none);
        skip_ws(t);
        skip_comment(t);
        if (!eof(t) && t->s[t->i] != '\n' && !(t->s[t->i] == '\r' && peek(t, 1) == '\n'))
            rc = fail_at(t, t->i,
                         "expected a top-level item to end with a newline, comment, or EOF, but "
                         "got '%c' instead",
                         t->s[t->i]);
    }
    json_decref(table_segs);
    return rc;
}

KS_FUNCS_DECL(ks_funcs_from_toml)
{
    (void)nargs;
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    if (n > TOML_MAX_INPUT)
        return ks_tpl_call_error(call, KS_ELIMIT, "fromToml: input larger than %zu bytes",
                                 TOML_MAX_INPUT);
    struct tp t = {.s = s, .n = n, .call = call};
    t.root = json_object();
    t.meta = json_object();
    ks_buf_init(&t.path, 0);
    if (!t.root || !t.meta) {
        rc = ks_funcs_nomem(call);
        goto done;
    }
    if (parse(&t) < 0) {
        if (t.unsupported) {
            rc = ks_tpl_call_error(call, KS_EINVALID, "%s", t.err);
            goto done;
        }
        /* Helm: the decoder fails before filling the map, then
         * m["Error"] = err.Error() */
        json_decref(t.root);
        t.root = json_object();
        json_t *msg = json_string(t.err);
        if (!t.root || !msg || json_object_set_new(t.root, "Error", msg) < 0) {
            rc = ks_funcs_nomem(call);
            goto done;
        }
    }
    *out = t.root;
    t.root = NULL;
done:
    json_decref(t.root);
    json_decref(t.meta);
    ks_buf_release(&t.path);
    return rc;
}
