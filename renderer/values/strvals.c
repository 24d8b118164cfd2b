/*
 * strvals.c: helm's --set family (pkg/strvals), so `--set a.b[0]=x,c=1`
 * builds exactly the tree helm builds, with helm's error texts.
 *
 * The parser is a small recursive reader over the argument, mirroring
 * strvals' key / listItem / valList structure because its corner cases
 * (`a.` silently ends parsing, `a.=x` is an error only when nothing was set, an existing non-map
 * under a dotted key is a Go panic turned into "unable to parse key: interface conversion: ...")
 * are part of what users see. Go's io.EOF, which ends parsing quietly even when wrapped, is the
 * return value SV_EOF here; other failures are negative KS_E* codes with the message set. Typed
 * --set values: true/false/null in any case, "0" and decimal integers not starting with 0 as int64
 * (json_integer), everything else a string; --set-json values are decoded as Go's JSON (numbers
 * float64); --set-file values come from the reader callback.
 */
#include "renderer/values.h"
#include "renderer/values/values_int.h"

#include "core/error.h"
#include "core/str.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SV_EOF 1
#define SV_MAX_INDEX 65536
#define SV_MAX_NESTED 30
#define SV_MAX_ARG_BYTES (1u << 20)

struct sv {
    const char *s;
    size_t len;
    size_t pos;
    enum ks_values_set_kind kind;
    ks_values_file_reader reader;
    void *reader_ctx;
};

/* Go's %q for the few strings strvals quotes in its errors. */
static void put_go_quoted(struct ks_buf *b, const char *s, size_t len)
{
    ks_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            ks_buf_putc(b, '\\');
            ks_buf_putc(b, (char)c);
        } else if (c == '\n') {
            ks_buf_puts(b, "\\n");
        } else if (c == '\t') {
            ks_buf_puts(b, "\\t");
        } else if (c == '\r') {
            ks_buf_puts(b, "\\r");
        } else if (c < 0x20 || c == 0x7F) {
            ks_buf_printf(b, "\\x%02x", c);
        } else {
            ks_buf_putc(b, (char)c);
        }
    }
    ks_buf_putc(b, '"');
}

/* Sets an error ending in Go's %q of a []rune: ['a' 'b']. */
static int error_runes(const char *before, const char *s, size_t len)
{
    struct ks_buf b;
    ks_buf_init(&b, 4096);
    ks_buf_puts(&b, before);
    ks_buf_putc(&b, '[');
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t w = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        if (i + w > len)
            w = len - i;
        if (i)
            ks_buf_putc(&b, ' ');
        ks_buf_putc(&b, '\'');
        if (c == '\'' || c == '\\') {
            ks_buf_putc(&b, '\\');
            ks_buf_putc(&b, (char)c);
        } else if (c == '\n') {
            ks_buf_puts(&b, "\\n");
        } else if (c == '\t') {
            ks_buf_puts(&b, "\\t");
        } else if (c < 0x20 || c == 0x7F) {
            ks_buf_printf(&b, "\\x%02x", c);
        } else {
            ks_buf_put(&b, s + i, w);
        }
        ks_buf_putc(&b, '\'');
        i += w;
    }
    ks_buf_putc(&b, ']');
    int rc = ks_error_set(KS_EINVALID, "%s", ks_buf_data(&b));
    ks_buf_release(&b);
    return rc;
}

/* Sets an error whose text is fmt with one %s replaced by Go's %q of s. */
static int error_quoted(const char *before, const char *s, size_t len, const char *after)
{
    struct ks_buf b;
    ks_buf_init(&b, 4096);
    ks_buf_puts(&b, before);
    put_go_quoted(&b, s, len);
    ks_buf_puts(&b, after);
    int rc = ks_error_set(KS_EINVALID, "%s", ks_buf_data(&b));
    ks_buf_release(&b);
    return rc;
}

const char *ks_values_go_type(const json_t *v)
{
    if (!v || json_is_null(v))
        return "nil";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int64";
    case JSON_REAL:
        return "float64";
    default:
        return "bool";
    }
}

/* The panic of a failed Go type assertion, as strvals' recover reports it. */
static int conversion_error(const json_t *have, const char *want)
{
    return ks_error_set(KS_EINVALID,
                        "unable to parse key: interface conversion: interface {} is %s, not %s",
                        ks_values_go_type(have), want);
}

static bool sv_literal(const struct sv *p)
{
    return p->kind == KS_VALUES_SET_LITERAL;
}

/* runesUntil: reads into out until a stop character (returned in *last) or
 * the end (SV_EOF). Outside literal mode a backslash takes the next
 * character as is. */
static int runes_until(struct sv *p, const char *stops, struct ks_buf *out, char *last)
{
    *last = 0;
    while (p->pos < p->len) {
        char c = p->s[p->pos++];
        if (c != '\0' && strchr(stops, c)) {
            *last = c;
            return 0;
        }
        if (c == '\\' && !sv_literal(p)) {
            if (p->pos >= p->len)
                return SV_EOF;
            unsigned char n = (unsigned char)p->s[p->pos];
            size_t w = n < 0x80 ? 1 : (n & 0xE0) == 0xC0 ? 2 : (n & 0xF0) == 0xE0 ? 3 : 4;
            if (p->pos + w > p->len)
                w = p->len - p->pos;
            ks_buf_put(out, p->s + p->pos, w);
            p->pos += w;
            continue;
        }
        ks_buf_putc(out, c);
    }
    return SV_EOF;
}

/* typedVal for --set (or the string itself for --set-string). */
static json_t *typed_val(const char *s, size_t len, bool as_string)
{
    if (as_string)
        return json_stringn(s, len);
    if (len == 4 && strncasecmp(s, "true", 4) == 0)
        return json_true();
    if (len == 5 && strncasecmp(s, "false", 5) == 0)
        return json_false();
    if (len == 4 && strncasecmp(s, "null", 4) == 0)
        return json_null();
    if (len == 1 && s[0] == '0')
        return json_integer(0);
    if (len > 0 && s[0] != '0') {
        /* strconv.ParseInt(s, 10, 64): optional sign, decimal digits only */
        size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
        bool digits = i < len;
        for (size_t k = i; k < len; k++)
            digits = digits && s[k] >= '0' && s[k] <= '9';
        if (digits && len < 32) {
            char buf[32];
            memcpy(buf, s, len);
            buf[len] = '\0';
            errno = 0;
            long long v = strtoll(buf, NULL, 10);
            if (errno == 0)
                return json_integer((json_int_t)v);
        }
    }
    return json_stringn(s, len);
}

/* The reader of the parser: typed/string conversion or the file reader. */
static int read_value(struct sv *p, json_t **out, const char *s, size_t len)
{
    if (p->kind != KS_VALUES_SET_FILE) {
        *out = typed_val(s, len, p->kind == KS_VALUES_SET_STRING);
        return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    }
    char *path = ks_strndup(s, len);
    char *data = NULL;
    size_t dlen = 0;
    int rc = path ? p->reader(p->reader_ctx, path, &data, &dlen)
                  : ks_error_set(KS_ENOMEM, "out of memory");
    free(path);
    if (rc)
        return rc;
    *out = json_stringn_nocheck(data, dlen);
    free(data);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* set(): an empty key is not set. Steals val. */
static int sv_set(json_t *data, const char *key, size_t klen, json_t *val)
{
    if (klen == 0) {
        json_decref(val);
        return 0;
    }
    if (json_object_setn_new_nocheck(data, key, klen, val) != 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* setIndex: list grows with nulls; returns 0 or an error. Steals val. */
static int set_index(json_t *list, long index, json_t *val)
{
    if (index < 0) {
        json_decref(val);
        return ks_error_set(KS_EINVALID, "negative %ld index not allowed", index);
    }
    if (index > SV_MAX_INDEX) {
        json_decref(val);
        return ks_error_set(KS_EINVALID,
                            "index of %ld is greater than maximum supported index of %d", index,
                            SV_MAX_INDEX);
    }
    while (json_array_size(list) <= (size_t)index)
        if (json_array_append(list, json_null()) != 0) {
            json_decref(val);
            return ks_error_set(KS_ENOMEM, "out of memory");
        }
    if (json_array_set_new(list, (size_t)index, val) != 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* keyIndex: the number up to ']' (strconv.Atoi). */
static int key_index(struct sv *p, long *out)
{
    struct ks_buf b;
    ks_buf_init(&b, SV_MAX_ARG_BYTES);
    char last;
    int rc = runes_until(p, "]", &b, &last);
    if (rc == SV_EOF) {
        /* helm 3.17 compares err == io.EOF: the wrapped EOF is an error */
        rc = ks_error_set(KS_EINVALID, "error parsing index: EOF");
        goto done;
    }
    const char *s = ks_buf_data(&b);
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    bool ok = b.len > i && b.len < 20;
    for (size_t k = i; ok && k < b.len; k++)
        ok = s[k] >= '0' && s[k] <= '9';
    if (!ok) {
        rc = error_quoted("error parsing index: strconv.Atoi: parsing ", s, b.len,
                          b.len >= 20 && i < b.len ? ": value out of range" : ": invalid syntax");
        goto done;
    }
    *out = strtol(s, NULL, 10);
done:
    ks_buf_release(&b);
    return rc;
}

/* emptyVal for --set-json: skips spaces up to a comma or the end. */
static bool empty_val(struct sv *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ',') {
            p->pos++;
            return true;
        }
        if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'))
            return false;
        p->pos++;
    }
    return true;
}

/* Decodes one JSON value at the current position (json.Decoder.Decode),
 * numbers as float64. */
static int json_value(struct sv *p, json_t **out)
{
    json_error_t jerr;
    json_t *v = json_loadb(
        p->s + p->pos, p->len - p->pos,
        JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return ks_error_set(KS_EINVALID, "%s", jerr.text);
    /* jansson reports the bytes it consumed, which may include the one
     * character that ended a bare number: give it back. */
    size_t used = jerr.position;
    if (used > 0 && (json_is_number(v)) && p->pos + used <= p->len) {
        char c = p->s[p->pos + used - 1];
        if (!(c >= '0' && c <= '9'))
            used--;
    }
    p->pos += used;
    *out = v;
    return 0;
}

static int parse_key(struct sv *p, json_t *data, int level);

/* The value after "=" (non-literal, non-JSON): {a,b} list or plain value. */
static int value_after_equals(struct sv *p, json_t **out)
{
    int rc = 0;
    json_t *list = NULL;
    struct ks_buf b;
    ks_buf_init(&b, SV_MAX_ARG_BYTES);
    if (p->pos >= p->len) {
        /* valList hit EOF: the value is "" and parsing ends */
        *out = json_string("");
        rc = SV_EOF;
        goto done;
    }
    if (p->s[p->pos] != '{') {
        char last;
        rc = runes_until(p, ",", &b, &last);
        int r2 = read_value(p, out, ks_buf_data(&b), b.len);
        if (r2)
            rc = r2;
        else if (rc == SV_EOF)
            rc = 0; /* val() at EOF is fine; the next key() sees the end */
        goto done;
    }
    p->pos++;
    list = json_array();
    for (;;) {
        char last;
        ks_buf_reset(&b);
        if (runes_until(p, ",}", &b, &last) == SV_EOF) {
            rc = ks_error_set(KS_EINVALID, "list must terminate with '}'");
            goto done;
        }
        json_t *item = NULL;
        rc = read_value(p, &item, ks_buf_data(&b), b.len);
        if (rc)
            goto done;
        json_array_append_new(list, item);
        if (last == '}') {
            if (p->pos < p->len && p->s[p->pos] == ',')
                p->pos++;
            break;
        }
    }
    *out = list;
    list = NULL;
done:
    json_decref(list);
    ks_buf_release(&b);
    if (rc == 0 && ks_buf_error(&b))
        rc = ks_buf_error(&b);
    return rc;
}

/* What follows "=": JSON, literal rest, or a --set value. */
static int read_assigned(struct sv *p, json_t **out)
{
    if (sv_literal(p)) {
        *out = json_stringn_nocheck(p->s + p->pos, p->len - p->pos);
        p->pos = p->len;
        return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    }
    if (p->kind == KS_VALUES_SET_JSON) {
        if (empty_val(p)) {
            *out = json_null();
            return 0;
        }
        int rc = json_value(p, out);
        if (rc == 0)
            empty_val(p);
        return rc;
    }
    return value_after_equals(p, out);
}

/* listItem: what follows "name[i]". *list is replaced by the new list. */
static int list_item(struct sv *p, json_t **list, long i, int level)
{
    int rc = 0;
    struct ks_buf k;
    ks_buf_init(&k, SV_MAX_ARG_BYTES);
    if (i < 0) {
        rc = ks_error_set(KS_EINVALID, "negative %ld index not allowed", i);
        goto done;
    }
    char last;
    int end = runes_until(p, "[.=", &k, &last);
    if (k.len > 0) {
        rc = error_runes("unexpected data at end of array index: ", ks_buf_data(&k), k.len);
        goto done;
    }
    if (end == SV_EOF) {
        rc = SV_EOF;
        goto done;
    }
    if (last == '=') {
        json_t *v = NULL;
        rc = read_assigned(p, &v);
        if (rc < 0)
            goto done;
        /* a value cut short by the end still lands in the list */
        rc = set_index(*list, i, v);
    } else if (last == '[') {
        long next;
        rc = key_index(p, &next);
        if (rc)
            goto done;
        json_t *crt = NULL;
        if (json_array_size(*list) > (size_t)i) {
            json_t *existed = json_array_get(*list, (size_t)i);
            if (!json_is_null(existed)) {
                if (!json_is_array(existed)) {
                    rc = conversion_error(existed, "[]interface {}");
                    goto done;
                }
                crt = json_incref(existed);
            }
        }
        if (!crt)
            crt = json_array();
        rc = list_item(p, &crt, next, level);
        if (rc) {
            json_decref(crt);
            goto done;
        }
        rc = set_index(*list, i, crt);
    } else { /* '.' */
        json_t *inner = NULL;
        if (json_array_size(*list) > (size_t)i) {
            inner = json_array_get(*list, (size_t)i);
            if (!json_is_object(inner)) {
                /* indices out of order: start an empty map there */
                json_array_set_new(*list, (size_t)i, json_object());
                inner = json_array_get(*list, (size_t)i);
            }
            json_incref(inner);
        } else {
            inner = json_object();
        }
        rc = parse_key(p, inner, level);
        if (rc) {
            json_decref(inner);
            goto done;
        }
        rc = set_index(*list, i, inner);
    }
done:
    ks_buf_release(&k);
    return rc;
}

/* key(): one "name...=value" item into data. */
static int parse_key(struct sv *p, json_t *data, int level)
{
    int rc = 0;
    struct ks_buf k;
    ks_buf_init(&k, SV_MAX_ARG_BYTES);
    char last;
    int end = runes_until(p, sv_literal(p) ? "=[." : "=[,.", &k, &last);
    const char *key = ks_buf_data(&k);
    if ((rc = ks_buf_error(&k)) != 0)
        goto done;
    if (end == SV_EOF) {
        rc = k.len == 0 ? SV_EOF : error_quoted("key ", key, k.len, " has no value");
        goto done;
    }
    switch (last) {
    case '[': {
        long i;
        rc = key_index(p, &i);
        if (rc)
            goto done;
        json_t *existing = json_object_getn(data, key, k.len);
        json_t *list;
        if (existing) {
            if (!json_is_array(existing)) {
                rc = conversion_error(existing, "[]interface {}");
                goto done;
            }
            list = json_incref(existing);
        } else {
            list = json_array();
        }
        rc = list_item(p, &list, i, level);
        int r2 = sv_set(data, key, k.len, list);
        if (r2)
            rc = r2;
        break;
    }
    case '=': {
        json_t *v = NULL;
        rc = read_assigned(p, &v);
        if (rc < 0)
            goto done;
        int r2 = sv_set(data, key, k.len, v);
        if (r2)
            rc = r2;
        break;
    }
    case ',':
        sv_set(data, key, k.len, json_string(""));
        rc = error_quoted("key ", key, k.len, " has no value (cannot end with ,)");
        break;
    default: { /* '.' */
        if (++level > SV_MAX_NESTED) {
            rc = ks_error_set(KS_ELIMIT,
                              "value name nested level is greater than maximum supported nested "
                              "level of %d",
                              SV_MAX_NESTED);
            goto done;
        }
        json_t *existing = json_object_getn(data, key, k.len);
        json_t *inner;
        if (existing) {
            if (!json_is_object(existing)) {
                rc = conversion_error(existing, "map[string]interface {}");
                goto done;
            }
            inner = json_incref(existing);
        } else {
            inner = json_object();
        }
        rc = parse_key(p, inner, level);
        if (rc == 0 && json_object_size(inner) == 0) {
            json_decref(inner);
            rc = error_quoted("key map ", key, k.len, " has no value");
            goto done;
        }
        if (json_object_size(inner) != 0) {
            int r2 = sv_set(data, key, k.len, inner);
            if (r2)
                rc = r2;
        } else {
            json_decref(inner);
        }
        break;
    }
    }
done:
    ks_buf_release(&k);
    return rc;
}

static const char *kind_prefix(enum ks_values_set_kind kind)
{
    switch (kind) {
    case KS_VALUES_SET:
        return "failed parsing --set data";
    case KS_VALUES_SET_STRING:
        return "failed parsing --set-string data";
    case KS_VALUES_SET_FILE:
        return "failed parsing --set-file data";
    case KS_VALUES_SET_LITERAL:
        return "failed parsing --set-literal data";
    case KS_VALUES_SET_JSON:
        break;
    }
    return "failed parsing --set-json data";
}

int ks_values_parse_set(json_t *dest, enum ks_values_set_kind kind, const char *arg,
                        ks_values_file_reader reader, void *reader_ctx)
{
    size_t len = strlen(arg);
    if (len > SV_MAX_ARG_BYTES)
        return ks_error_set(KS_ELIMIT, "%s: argument longer than %u bytes", kind_prefix(kind),
                            SV_MAX_ARG_BYTES);
    if (kind == KS_VALUES_SET_FILE && !reader)
        return ks_error_set(KS_EINVALID, "%s: no file reader", kind_prefix(kind));
    struct sv p = {.s = arg, .len = len, .kind = kind, .reader = reader, .reader_ctx = reader_ctx};
    int rc;
    while ((rc = parse_key(&p, dest, 0)) == 0)
        ;
    if (rc == SV_EOF)
        return 0;
    if (kind == KS_VALUES_SET_JSON)
        return ks_error_set(KS_EINVALID, "failed parsing --set-json data %s", arg);
    return ks_error_wrap(rc, "%s", kind_prefix(kind));
}
