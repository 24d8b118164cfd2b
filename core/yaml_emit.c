/*
 * yaml_emit.c: JSON tree -> readable block YAML.
 *
 * Written by hand instead of through libyaml's emitter so the layout is
 * ours to fix: 2-space indentation, sequences under a mapping key flush
 * with the key (as kubectl prints them), "{}" and "[]" for empty
 * collections, literal block scalars for multi-line text. A string is left
 * plain only when it cannot read back as anything else, neither under our
 * YAML 1.2 resolver nor under YAML 1.1 readers (yes/no/on/off, 0b1, 1_000,
 * 1:30); otherwise it is double-quoted with escapes. Reals are printed with
 * the shortest %.Ng that reads back as the same double, always with a '.'
 * so they stay reals.
 */
#include "core/yaml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMIT_MAX_DEPTH 1000u
#define EMIT_MAX_IMPLICIT_KEY 1000u /* libyaml refuses implicit keys over 1024 chars */

enum ctx { CTX_ROOT, CTX_MAP_VALUE, CTX_SEQ_ITEM };
enum style { STYLE_PLAIN, STYLE_LITERAL, STYLE_DOUBLE };

struct emitter {
    struct ks_buf *out;
    unsigned indent;
    bool sort_keys;
    unsigned depth;
};

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or 0
 * when the bytes are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        len = 2, min = 0x80, *cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, min = 0x800, *cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, *cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

/* Characters that YAML readers treat as breaks or refuse raw, besides
 * ASCII controls: C1 controls (incl. NEL), LS, PS, BOM, U+FFFE/U+FFFF. */
static bool needs_escape(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

static bool word_in(const char *s, size_t len, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == len && memcmp(s, words[i], len) == 0)
            return true;
    return false;
}

/* Would a YAML 1.1 reader (go-yaml v2, PyYAML) type this plain text? */
static bool yaml11_special(const char *s, size_t len)
{
    static const char *const words[] = {"y",   "Y",   "yes", "Yes", "YES", "n",  "N",
                                        "no",  "No",  "NO",  "on",  "On",  "ON", "off",
                                        "Off", "OFF", "=",   "<<",  NULL};
    if (word_in(s, len, words))
        return true;
    if (!strchr("0123456789+-.", s[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdefABCDEFxXoO+-._:", s[i]) || s[i] == '\0')
            return false;
    return true;
}

static bool resolves_to_string(const char *s, size_t len)
{
    struct ks_yaml_scalar sc = {.text = s, .len = len, .plain = true};
    char saved[2048];
    snprintf(saved, sizeof(saved), "%s", ks_error_last());
    int saved_code = ks_error_last_code();
    json_t *v = ks_yaml_resolve_core(NULL, &sc);
    bool is_string = v && json_is_string(v);
    json_decref(v);
    if (!v) /* the resolver's complaint is not an error of the emitter */
        ks_error_set(saved_code, "%s", saved);
    return is_string;
}

static bool plain_ok(const char *s, size_t len)
{
    unsigned char c0 = (unsigned char)s[0];
    if (strchr("-?:,[]{}#&*!|>'\"%@` \t", c0)) {
        /* "-foo" and "--flag" read back as strings; "- x" and "---" do not */
        bool dash_word = c0 == '-' && len > 1 &&
                         ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z') ||
                          (s[1] == '-' && len > 2 && s[2] != '-'));
        if (!dash_word)
            return false;
    }
    char last = s[len - 1];
    if (last == ' ' || last == ':')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ':' && (s[i + 1] == ' '))
            return false;
        if (c == '#' && i > 0 && s[i - 1] == ' ')
            return false;
    }
    /* only these first characters can start a typed plain scalar */
    bool may_type = strchr("~nNtTfF+-.0123456789", c0) != NULL;
    return !yaml11_special(s, len) && (!may_type || resolves_to_string(s, len));
}

/* Picks how to write a string; KS_EINVALID if it is not valid UTF-8. */
static int choose_style(enum style *out, const char *s, size_t len, bool is_key)
{
    bool escapes = false, newline = false, tab = false, content = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0)
            return ks_error_set(KS_EINVALID, "cannot emit YAML: string is not valid UTF-8");
        if (cp == '\n')
            newline = true;
        else if (cp == '\t')
            tab = true;
        else if (needs_escape(cp))
            escapes = true;
        else
            content = true;
        i += n;
    }
    if (len > 0 && !escapes && !newline && !tab && plain_ok(s, len))
        *out = STYLE_PLAIN;
    else if (!is_key && newline && content && !escapes)
        *out = STYLE_LITERAL;
    else
        *out = STYLE_DOUBLE;
    return 0;
}

static void put_spaces(struct ks_buf *b, unsigned n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        unsigned k = n < sizeof(spaces) - 1 ? n : (unsigned)(sizeof(spaces) - 1);
        ks_buf_put(b, spaces, k);
        n -= k;
    }
}

static void put_double_quoted(struct ks_buf *b, const char *s, size_t len)
{
    ks_buf_putc(b, '"');
    size_t run = 0; /* start of bytes not yet written */
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        const char *esc = NULL;
        switch (cp) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\0':
            esc = "\\0";
            break;
        default:
            break;
        }
        if (esc || needs_escape(cp)) {
            ks_buf_put(b, s + run, i - run);
            if (esc)
                ks_buf_puts(b, esc);
            else if (cp <= 0xFF)
                ks_buf_printf(b, "\\x%02X", (unsigned)cp);
            else
                ks_buf_printf(b, "\\u%04X", (unsigned)cp);
            run = i + n;
        }
        i += n;
    }
    ks_buf_put(b, s + run, len - run);
    ks_buf_putc(b, '"');
}

/* Literal block: "|" + indentation indicator when the text starts with a
 * space or newline + chomping ("-" no final newline, "" one, "+" more). */
static void put_literal(struct ks_buf *b, const char *s, size_t len, unsigned parent_col,
                        unsigned content_col)
{
    size_t trailing = 0;
    while (trailing < len && s[len - 1 - trailing] == '\n')
        trailing++;
    ks_buf_putc(b, '|');
    if (s[0] == ' ' || s[0] == '\n')
        ks_buf_printf(b, "%u", content_col - parent_col);
    if (trailing == 0)
        ks_buf_putc(b, '-');
    else if (trailing > 1)
        ks_buf_putc(b, '+');
    ks_buf_putc(b, '\n');
    size_t body = len - trailing; /* non-empty: the caller checked for content */
    for (size_t start = 0; start <= body;) {
        const char *nl = memchr(s + start, '\n', body - start);
        size_t end = nl ? (size_t)(nl - s) : body;
        if (end > start)
            put_spaces(b, content_col);
        ks_buf_put(b, s + start, end - start);
        ks_buf_putc(b, '\n');
        start = end + 1;
    }
    for (size_t i = 1; i < trailing; i++)
        ks_buf_putc(b, '\n');
}

static void put_real(struct ks_buf *b, double d)
{
    char text[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, sizeof(text), "%.*g", prec, d);
        if (strtod(text, NULL) == d)
            break;
    }
    char *e = strchr(text, 'e');
    if (strchr(text, '.')) {
        ks_buf_puts(b, text);
    } else if (e) {
        ks_buf_put(b, text, (size_t)(e - text));
        ks_buf_puts(b, ".0");
        ks_buf_puts(b, e);
    } else {
        ks_buf_puts(b, text);
        ks_buf_puts(b, ".0");
    }
}

/* Writes a scalar (not a non-empty collection); for block literals the
 * caller's column decides the content indentation. */
static int put_scalar(struct emitter *e, const json_t *v, unsigned parent_col, unsigned content_col)
{
    struct ks_buf *b = e->out;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        ks_buf_puts(b, "{}");
        break;
    case JSON_ARRAY:
        ks_buf_puts(b, "[]");
        break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        enum style st;
        int rc = choose_style(&st, s, len, false);
        if (rc)
            return rc;
        if (st == STYLE_PLAIN)
            ks_buf_put(b, s, len);
        else if (st == STYLE_DOUBLE)
            put_double_quoted(b, s, len);
        else {
            put_literal(b, s, len, parent_col, content_col);
            return 0; /* ends with its own newline */
        }
        break;
    }
    case JSON_INTEGER:
        ks_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        put_real(b, json_real_value(v));
        break;
    case JSON_TRUE:
        ks_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        ks_buf_puts(b, "false");
        break;
    case JSON_NULL:
        ks_buf_puts(b, "null");
        break;
    }
    ks_buf_putc(b, '\n');
    return 0;
}

static bool is_block_collection(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) > 0) ||
           (json_is_array(v) && json_array_size(v) > 0);
}

static int emit_node(struct emitter *e, const json_t *v, unsigned col, enum ctx ctx);

struct key_ref {
    const char *key;
    size_t len;
};

static int key_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int emit_member(struct emitter *e, const char *key, size_t len, const json_t *v,
                       unsigned col, bool at_col)
{
    struct ks_buf *b = e->out;
    enum style st;
    int rc = choose_style(&st, key, len, true);
    if (rc)
        return rc;
    if (!at_col)
        put_spaces(b, col);
    size_t before = ks_buf_len(b);
    if (st == STYLE_PLAIN)
        ks_buf_put(b, key, len);
    else
        put_double_quoted(b, key, len);
    if (ks_buf_len(b) - before > EMIT_MAX_IMPLICIT_KEY && !ks_buf_error(b)) {
        /* too long for an implicit key: rewrite as "? key\n: value" */
        b->len = before;
        ks_buf_puts(b, "? ");
        put_double_quoted(b, key, len);
        ks_buf_putc(b, '\n');
        put_spaces(b, col);
    }
    ks_buf_putc(b, ':');
    return emit_node(e, v, col, CTX_MAP_VALUE);
}

static int emit_mapping(struct emitter *e, const json_t *obj, unsigned col, bool first_inline)
{
    size_t n = json_object_size(obj), i = 0;
    struct key_ref *keys = malloc(n * sizeof(*keys));
    int rc = 0;
    const char *key;
    size_t len;
    json_t *v;
    if (!keys)
        return ks_error_set(KS_ENOMEM, "out of memory emitting YAML");
    json_object_keylen_foreach((json_t *)obj, key, len, v)
    {
        keys[i].key = key;
        keys[i].len = len;
        i++;
    }
    if (e->sort_keys)
        qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; i < n && rc == 0; i++)
        rc = emit_member(e, keys[i].key, keys[i].len,
                         json_object_getn(obj, keys[i].key, keys[i].len), col,
                         i == 0 && first_inline);
    free(keys);
    return rc;
}

static int emit_sequence(struct emitter *e, const json_t *arr, unsigned col, bool first_inline)
{
    int rc = 0;
    for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
        if (i > 0 || !first_inline)
            put_spaces(e->out, col);
        ks_buf_puts(e->out, "- ");
        rc = emit_node(e, json_array_get(arr, i), col, CTX_SEQ_ITEM);
    }
    return rc;
}

static int emit_node(struct emitter *e, const json_t *v, unsigned col, enum ctx ctx)
{
    struct ks_buf *b = e->out;
    int rc = 0;
    if (++e->depth > EMIT_MAX_DEPTH) {
        rc = ks_error_set(KS_ELIMIT, "YAML emit depth limit of %u exceeded", EMIT_MAX_DEPTH);
        goto done;
    }
    if (!is_block_collection(v)) {
        if (ctx == CTX_MAP_VALUE)
            ks_buf_putc(b, ' ');
        unsigned content =
            ctx == CTX_ROOT ? e->indent : col + (ctx == CTX_SEQ_ITEM ? 2 : e->indent);
        rc = put_scalar(e, v, ctx == CTX_ROOT ? 0 : col, content);
        goto done;
    }
    bool inline_first = ctx == CTX_SEQ_ITEM;
    if (ctx == CTX_MAP_VALUE)
        ks_buf_putc(b, '\n');
    if (json_is_object(v)) {
        unsigned inner = ctx == CTX_ROOT ? 0 : col + (ctx == CTX_SEQ_ITEM ? 2 : e->indent);
        rc = emit_mapping(e, v, inner, inline_first);
    } else {
        unsigned inner = ctx == CTX_SEQ_ITEM ? col + 2 : col;
        rc = emit_sequence(e, v, inner, inline_first);
    }
done:
    e->depth--;
    return rc;
}

int ks_yaml_emit(struct ks_buf *out, const json_t *doc, const struct ks_yaml_emit_opts *opts)
{
    struct emitter e = {
        .out = out,
        .indent = opts && opts->indent ? opts->indent : 2,
        .sort_keys = opts && opts->sort_keys,
    };
    if (e.indent > 9)
        e.indent = 9; /* the largest block scalar indentation indicator */
    if (!doc)
        return ks_error_set(KS_EINVALID, "cannot emit YAML: no document");
    if (opts && opts->document_start)
        ks_buf_puts(out, "---\n");
    int rc = emit_node(&e, doc, 0, CTX_ROOT);
    if (rc == 0)
        rc = ks_buf_error(out);
    return rc;
}

int ks_yaml_emit_stream(struct ks_buf *out, const json_t *docs,
                        const struct ks_yaml_emit_opts *opts)
{
    struct ks_yaml_emit_opts o = {0};
    if (opts)
        o = *opts;
    o.document_start = true;
    int rc = 0;
    if (!json_is_array(docs))
        return ks_error_set(KS_EINVALID, "cannot emit a YAML stream: documents are not an array");
    for (size_t i = 0; i < json_array_size(docs) && rc == 0; i++)
        rc = ks_yaml_emit(out, json_array_get(docs, i), &o);
    return rc;
}
