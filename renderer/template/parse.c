/*
 * parse.c: lexer and parser of Go's text/template syntax.
 *
 * Follows Go's parse/lex.go and parse/parse.go closely (same token kinds,
 * same trim-marker and comment rules, same look-ahead, same error texts and
 * line numbers) because chart authors rely on every quirk and the error
 * messages are part of what `helm template` prints. The whole text is lexed
 * into a token array first; nodes and strings live in the unit's arena and
 * are freed together with the set.
 */
#include "renderer/template/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>

#include "core/error.h"
#include "renderer/gofmt.h"

/* ---- arena ---- */

struct tarena_block {
    struct tarena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

/* Block payload: small, so that the last block of each parsed text (there
 * is one arena per text, a chart has dozens) wastes little; the whole
 * block is resident once malloc writes the next chunk's header after it. */
#define TARENA_BLOCK (2048 - sizeof(struct tarena_block) - 16)

static void *arena_alloc(struct tarena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7; /* pointers and sizes: 8-byte alignment */
    struct tarena_block *b = a->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > TARENA_BLOCK ? size : TARENA_BLOCK;
        if (!b && a->first > cap)
            cap = a->first;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

static char *arena_strndup(struct tarena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void tunit_free(struct tunit *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nconstants; i++)
        json_decref(u->constants[i]);
    free(u->constants);
    struct tarena_block *b = u->arena.blocks;
    while (b) {
        struct tarena_block *next = b->next;
        free(b);
        b = next;
    }
    free(u->text);
    free(u->parse_name);
    free(u);
}

/* ---- lexer ---- */

enum tok {
    T_ERROR,
    T_EOF,
    T_TEXT,
    T_LEFT,  /* {{ */
    T_RIGHT, /* }} */
    T_SPACE,
    T_ASSIGN, /* = */
    T_DECLARE,
    T_PIPE,
    T_STRING,
    T_RAWSTRING,
    T_CHARCONST,
    T_NUMBER,
    T_BOOL,
    T_VARIABLE,
    T_FIELD,
    T_DOT,
    T_IDENT,
    T_LPAREN,
    T_RPAREN,
    T_CHAR,
    T_COMMENT,
    T_KEYWORD, /* keywords below */
    T_BLOCK,
    T_BREAK,
    T_CONTINUE,
    T_DEFINE,
    T_ELSE,
    T_END,
    T_IF,
    T_NIL,
    T_RANGE,
    T_TEMPLATE,
    T_WITH,
};

struct token {
    enum tok typ;
    int pos;
    int len;
    const char *msg; /* T_ERROR: static or arena message */
};

struct lexer {
    const char *in;
    size_t len;
    size_t pos, start;
    int paren;
    struct token *toks;
    size_t ntoks, cap;
    struct tarena *arena;
    bool failed;
};

static int lex_emit_at(struct lexer *l, enum tok typ, size_t start, size_t end)
{
    if (l->ntoks == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct token *t = realloc(l->toks, cap * sizeof(*t));
        if (!t)
            return KS_ENOMEM;
        l->toks = t;
        l->cap = cap;
    }
    l->toks[l->ntoks++] = (struct token){typ, (int)start, (int)(end - start), NULL};
    return 0;
}

static int lex_emit(struct lexer *l, enum tok typ)
{
    int rc = lex_emit_at(l, typ, l->start, l->pos);
    l->start = l->pos;
    return rc;
}

static int lex_error(struct lexer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_error(struct lexer *l, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int rc = lex_emit_at(l, T_ERROR, l->start, l->start);
    if (rc)
        return rc;
    l->toks[l->ntoks - 1].msg = arena_strndup(l->arena, msg, strlen(msg));
    l->failed = true;
    return 0;
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static bool has_prefix_at(const struct lexer *l, size_t pos, const char *p)
{
    size_t n = strlen(p);
    return pos <= l->len && l->len - pos >= n && memcmp(l->in + pos, p, n) == 0;
}

static bool left_trim_marker(const struct lexer *l, size_t pos)
{
    return pos + 2 <= l->len && l->in[pos] == '-' && is_space((unsigned char)l->in[pos + 1]);
}

/* At a right delimiter: returns 0 no, 1 "}}", 2 " -}}". */
static int at_right_delim(const struct lexer *l, size_t pos)
{
    if (pos + 2 <= l->len && is_space((unsigned char)l->in[pos]) && l->in[pos + 1] == '-' &&
        has_prefix_at(l, pos + 2, "}}"))
        return 2;
    if (has_prefix_at(l, pos, "}}"))
        return 1;
    return 0;
}

static size_t left_trim_len(const struct lexer *l, size_t pos)
{
    size_t n = 0;
    while (pos + n < l->len && is_space((unsigned char)l->in[pos + n]))
        n++;
    return n;
}

static bool at_terminator(const struct lexer *l)
{
    if (l->pos >= l->len)
        return true;
    int c = (unsigned char)l->in[l->pos];
    if (is_space(c))
        return true;
    switch (c) {
    case '.':
    case ',':
    case '|':
    case ':':
    case ')':
    case '(':
        return true;
    }
    return has_prefix_at(l, l->pos, "}}");
}

static int utf8_rune(const char *s, size_t len, size_t *adv)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len == 0) {
        *adv = 0;
        return -1;
    }
    if (u[0] < 0x80) {
        *adv = 1;
        return u[0];
    }
    int n = (u[0] & 0xE0) == 0xC0 ? 2 : (u[0] & 0xF0) == 0xE0 ? 3 : (u[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (size_t)n > len) {
        *adv = 1;
        return 0xFFFD;
    }
    int r = u[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *adv = 1;
            return 0xFFFD;
        }
        r = (r << 6) | (u[i] & 0x3F);
    }
    *adv = (size_t)n;
    return r;
}

static int lex_bad_char(struct lexer *l, const char *what)
{
    size_t adv;
    int r = utf8_rune(l->in + l->pos, l->len - l->pos, &adv);
    char buf[16];
    snprintf(buf, sizeof(buf), "%.*s", (int)adv, l->in + l->pos);
    if (r >= 0x20 && r != 0x7F)
        return lex_error(l, "%s U+%04X '%s'", what, (unsigned)r, buf);
    return lex_error(l, "%s U+%04X", what, (unsigned)r);
}

static int lex_word(struct lexer *l, enum tok typ)
{
    /* l->pos is after the leading '.' or '$' */
    if (at_terminator(l))
        return lex_emit(l, typ == T_VARIABLE ? T_VARIABLE : T_DOT);
    while (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos]))
        l->pos++;
    if (!at_terminator(l))
        return lex_bad_char(l, "bad character");
    return lex_emit(l, typ);
}

static const struct {
    const char *word;
    enum tok typ;
} keywords[] = {
    {"block", T_BLOCK},
    {"break", T_BREAK},
    {"continue", T_CONTINUE},
    {"define", T_DEFINE},
    {"else", T_ELSE},
    {"end", T_END},
    {"if", T_IF},
    {"nil", T_NIL},
    {"range", T_RANGE},
    {"template", T_TEMPLATE},
    {"with", T_WITH},
};

static int lex_identifier(struct lexer *l)
{
    while (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos]))
        l->pos++;
    if (!at_terminator(l))
        return lex_bad_char(l, "bad character");
    size_t n = l->pos - l->start;
    const char *w = l->in + l->start;
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, w, n) == 0)
            return lex_emit(l, keywords[i].typ);
    if ((n == 4 && memcmp(w, "true", 4) == 0) || (n == 5 && memcmp(w, "false", 5) == 0))
        return lex_emit(l, T_BOOL);
    return lex_emit(l, T_IDENT);
}

static bool accept(struct lexer *l, const char *set)
{
    if (l->pos < l->len && l->in[l->pos] && strchr(set, l->in[l->pos])) {
        l->pos++;
        return true;
    }
    return false;
}

static void accept_run(struct lexer *l, const char *set)
{
    while (accept(l, set))
        ;
}

static int lex_number(struct lexer *l)
{
    accept(l, "+-");
    const char *digits = "0123456789_";
    if (accept(l, "0")) {
        if (accept(l, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (accept(l, "oO"))
            digits = "01234567_";
        else if (accept(l, "bB"))
            digits = "01_";
    }
    accept_run(l, digits);
    if (accept(l, "."))
        accept_run(l, digits);
    if (strlen(digits) == 11 && accept(l, "eE")) {
        accept(l, "+-");
        accept_run(l, "0123456789_");
    }
    if (strlen(digits) == 23 && accept(l, "pP")) {
        accept(l, "+-");
        accept_run(l, "0123456789_");
    }
    accept(l, "i");
    if (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos])) {
        l->pos++;
        return lex_error(l, "bad number syntax: \"%.*s\"", (int)(l->pos - l->start),
                         l->in + l->start);
    }
    return lex_emit(l, T_NUMBER);
}

static int lex_quote(struct lexer *l, char q, enum tok typ, const char *unterminated)
{
    for (;;) {
        if (l->pos >= l->len)
            return lex_error(l, "%s", unterminated);
        char c = l->in[l->pos++];
        if (c == '\\' && q != '`') {
            if (l->pos >= l->len || l->in[l->pos] == '\n')
                return lex_error(l, "%s", unterminated);
            l->pos++;
            continue;
        }
        if (c == '\n' && q != '`')
            return lex_error(l, "%s", unterminated);
        if (c == q)
            break;
    }
    return lex_emit(l, typ);
}

static int lex_inside(struct lexer *l)
{
    for (;;) {
        int rd = at_right_delim(l, l->pos);
        if (rd) {
            if (l->paren)
                return lex_error(l, "unclosed left paren");
            if (rd == 2) {
                l->pos += 2;
                l->start = l->pos;
            }
            l->pos += 2;
            int rc = lex_emit(l, T_RIGHT);
            if (rc)
                return rc;
            if (rd == 2) {
                l->pos += left_trim_len(l, l->pos);
                l->start = l->pos;
            }
            return 0;
        }
        if (l->pos >= l->len)
            return lex_error(l, "unclosed action");
        int c = (unsigned char)l->in[l->pos++];
        int rc = 0;
        if (is_space(c)) {
            /* a run of spaces, stopping before " -}}" */
            l->pos--;
            while (l->pos < l->len && is_space((unsigned char)l->in[l->pos])) {
                if (at_right_delim(l, l->pos) == 2)
                    break;
                l->pos++;
            }
            if (l->pos > l->start)
                rc = lex_emit(l, T_SPACE);
        } else if (c == '=') {
            rc = lex_emit(l, T_ASSIGN);
        } else if (c == ':') {
            if (l->pos >= l->len || l->in[l->pos] != '=')
                return lex_error(l, "expected :=");
            l->pos++;
            rc = lex_emit(l, T_DECLARE);
        } else if (c == '|') {
            rc = lex_emit(l, T_PIPE);
        } else if (c == '"') {
            rc = lex_quote(l, '"', T_STRING, "unterminated quoted string");
        } else if (c == '`') {
            rc = lex_quote(l, '`', T_RAWSTRING, "unterminated raw quoted string");
        } else if (c == '$') {
            rc = lex_word(l, T_VARIABLE);
        } else if (c == '\'') {
            rc = lex_quote(l, '\'', T_CHARCONST, "unterminated character constant");
        } else if (c == '.' && !(l->pos < l->len && l->in[l->pos] >= '0' && l->in[l->pos] <= '9')) {
            rc = lex_word(l, T_FIELD);
        } else if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
            l->pos--;
            rc = lex_number(l);
        } else if (is_alnum(c)) {
            l->pos--;
            rc = lex_identifier(l);
        } else if (c == '(') {
            l->paren++;
            rc = lex_emit(l, T_LPAREN);
        } else if (c == ')') {
            l->paren--;
            if (l->paren < 0)
                return lex_error(l, "unexpected right paren");
            rc = lex_emit(l, T_RPAREN);
        } else if (c < 0x7F && c >= 0x20) {
            rc = lex_emit(l, T_CHAR);
        } else {
            l->pos--;
            return lex_bad_char(l, "unrecognized character in action:");
        }
        if (rc || l->failed)
            return rc;
    }
}

static int lex_all(struct lexer *l)
{
    int rc = 0;
    while (!l->failed) {
        /* text up to the next "{{" */
        const char *p = NULL;
        size_t from = l->pos;
        while (from + 1 < l->len) {
            const char *q = memchr(l->in + from, '{', l->len - from - 1);
            if (!q)
                break;
            if (q[1] == '{') {
                p = q;
                break;
            }
            from = (size_t)(q - l->in) + 1;
        }
        if (!p) {
            l->pos = l->len;
            if (l->pos > l->start && (rc = lex_emit(l, T_TEXT)))
                return rc;
            return lex_emit(l, T_EOF);
        }
        size_t delim = (size_t)(p - l->in);
        size_t text_end = delim;
        bool trim = left_trim_marker(l, delim + 2);
        if (trim)
            while (text_end > l->start && is_space((unsigned char)l->in[text_end - 1]))
                text_end--;
        if (text_end > l->start && (rc = lex_emit_at(l, T_TEXT, l->start, text_end)))
            return rc;
        l->pos = l->start = delim;
        size_t after = trim ? 4 : 2;
        if (has_prefix_at(l, delim + after, "/*")) {
            /* comment */
            l->pos = delim + after + 2;
            const char *end = NULL;
            for (size_t i = l->pos; i + 1 < l->len; i++)
                if (l->in[i] == '*' && l->in[i + 1] == '/') {
                    end = l->in + i;
                    break;
                }
            if (!end)
                return lex_error(l, "unclosed comment");
            l->pos = (size_t)(end - l->in) + 2;
            int rd = at_right_delim(l, l->pos);
            if (!rd)
                return lex_error(l, "comment ends before closing delimiter");
            l->pos += rd == 2 ? 4 : 2;
            if (rd == 2)
                l->pos += left_trim_len(l, l->pos);
            l->start = l->pos;
            continue;
        }
        l->pos = delim + 2;
        if ((rc = lex_emit(l, T_LEFT)))
            return rc;
        if (trim) {
            l->pos += 2;
            l->start = l->pos;
        }
        l->paren = 0;
        if ((rc = lex_inside(l)))
            return rc;
    }
    return 0;
}

/* ---- parser ---- */

struct parser {
    struct ks_tpl_set *set;
    struct tunit *unit;
    struct token *toks;
    size_t ntoks, i;
    const char **vars; /* declared variable names (arena) */
    size_t nvars, capvars;
    int range_depth;
    int action_pos; /* offset of the "{{" of the action being parsed, or -1 */
    int depth;

    struct ttree **trees; /* trees defined by this text */
    size_t ntrees, captrees;
    bool err;
};

static int tok_line(const struct parser *p, const struct token *t)
{
    int line = 1;
    for (int i = 0; i < t->pos && (size_t)i < p->unit->len; i++)
        if (p->unit->text[i] == '\n')
            line++;
    return line;
}

static int perrorf(struct parser *p, const struct token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perrorf(struct parser *p, const struct token *t, const char *fmt, ...)
{
    if (p->err)
        return KS_EINVALID;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->err = true;
    return ks_error_set(KS_EINVALID, "template: %s:%d: %s", p->unit->parse_name, tok_line(p, t),
                        msg);
}

static const struct token *peek(struct parser *p)
{
    return &p->toks[p->i < p->ntoks ? p->i : p->ntoks - 1];
}

static const struct token *next(struct parser *p)
{
    const struct token *t = peek(p);
    if (p->i < p->ntoks - 1)
        p->i++;
    return t;
}

static const struct token *next_nonspace(struct parser *p)
{
    const struct token *t;
    do {
        t = next(p);
    } while (t->typ == T_SPACE);
    return t;
}

static const struct token *peek_nonspace(struct parser *p)
{
    const struct token *t = next_nonspace(p);
    p->i = (size_t)(t - p->toks);
    return t;
}

/* Go's item.String() */
static void tok_describe(const struct parser *p, const struct token *t, char *buf, size_t cap)
{
    const char *v = p->unit->text + t->pos;
    if (t->typ == T_EOF)
        snprintf(buf, cap, "EOF");
    else if (t->typ == T_ERROR)
        snprintf(buf, cap, "%s", t->msg);
    else if (t->typ > T_KEYWORD)
        snprintf(buf, cap, "<%.*s>", t->len, v);
    else {
        struct ks_buf b;
        ks_buf_init(&b, 0);
        size_t n = (size_t)t->len;
        if (n > 10) {
            /* %.10q: quote the first 10 runes */
            size_t off = 0;
            for (int r = 0; r < 10 && off < n; r++) {
                size_t adv;
                utf8_rune(v + off, n - off, &adv);
                off += adv ? adv : 1;
            }
            ks_gofmt_quote(&b, v, off);
            ks_buf_puts(&b, "...");
        } else {
            ks_gofmt_quote(&b, v, n);
        }
        snprintf(buf, cap, "%s", ks_buf_data(&b));
        ks_buf_release(&b);
    }
}

static int unexpected(struct parser *p, const struct token *t, const char *context)
{
    char d[256];
    tok_describe(p, t, d, sizeof(d));
    if (t->typ == T_ERROR) {
        /* Go: "... in action started at NAME:LINE" (or "... action started
         * at" for "unclosed action") when the action began on another line */
        if (p->action_pos >= 0) {
            struct token start = {T_LEFT, p->action_pos, 0, NULL};
            int line = tok_line(p, &start);
            if (line != tok_line(p, t)) {
                size_t n = strlen(d);
                bool action_suffix = n >= 7 && strcmp(d + n - 7, " action") == 0;
                return perrorf(p, t, "%s%s started at %s:%d", d, action_suffix ? "" : " in action",
                               p->unit->parse_name, line);
            }
        }
        return perrorf(p, t, "%s", d);
    }
    return perrorf(p, t, "unexpected %s in %s", d, context);
}

static struct tnode *new_node(struct parser *p, enum tnode_type type, int pos)
{
    struct tnode *n = arena_alloc(&p->unit->arena, sizeof(*n));
    if (!n) {
        p->err = true;
        ks_error_set(KS_ENOMEM, "out of memory parsing a template");
        return NULL;
    }
    n->type = type;
    n->pos = pos;
    n->unit = p->unit;
    return n;
}

/* growable node arrays built in malloc'd memory, moved into the arena */
struct nvec {
    struct tnode **v;
    size_t n, cap;
};

/* Makes room for one more element in a malloc'd array. */
static int grow_one(struct parser *p, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *na = realloc(*arr, ncap * elem);
    if (!na) {
        p->err = true;
        return ks_error_set(KS_ENOMEM, "out of memory parsing a template");
    }
    *arr = na;
    *cap = ncap;
    return 0;
}

static int nvec_push(struct parser *p, struct nvec *v, struct tnode *n)
{
    int rc = grow_one(p, (void **)&v->v, &v->cap, v->n, sizeof(*v->v));
    if (!rc)
        v->v[v->n++] = n;
    return rc;
}

static struct tnode **nvec_finish(struct parser *p, struct nvec *v, size_t *n_out)
{
    struct tnode **a = NULL;
    *n_out = v->n;
    if (v->n) {
        a = arena_alloc(&p->unit->arena, v->n * sizeof(*a));
        if (a)
            memcpy(a, v->v, v->n * sizeof(*a));
        else
            p->err = true;
    }
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
    return a;
}

static const char *tok_text(struct parser *p, const struct token *t)
{
    return arena_strndup(&p->unit->arena, p->unit->text + t->pos, (size_t)t->len);
}

static int push_var(struct parser *p, const char *name)
{
    int rc = grow_one(p, (void **)&p->vars, &p->capvars, p->nvars, sizeof(*p->vars));
    if (!rc)
        p->vars[p->nvars++] = name;
    return rc;
}

/* Splits "a.b.c" (len bytes, after an optional leading '.') into idents;
 * tokens are split straight from the source (split_tok). */
static int split_idents(struct parser *p, struct tnode *n, const char *s, size_t len, bool skip_dot)
{
    const char *end = s + len;
    if (skip_dot && s < end && *s == '.')
        s++;
    size_t count = 1;
    for (const char *c = s; c < end; c++)
        count += *c == '.';
    n->idents = arena_alloc(&p->unit->arena, count * sizeof(char *));
    if (!n->idents) {
        p->err = true;
        return KS_ENOMEM;
    }
    n->nidents = 0;
    const char *start = s;
    for (const char *c = s;; c++) {
        if (c == end || *c == '.') {
            char *id = arena_strndup(&p->unit->arena, start, (size_t)(c - start));
            if (!id) {
                p->err = true;
                return KS_ENOMEM;
            }
            n->idents[n->nidents++] = id;
            if (c == end)
                break;
            start = c + 1;
        }
    }
    return 0;
}

static int split_tok(struct parser *p, struct tnode *n, const struct token *t, bool skip_dot)
{
    return split_idents(p, n, p->unit->text + t->pos, (size_t)t->len, skip_dot);
}

static int add_constant(struct parser *p, json_t *v)
{
    struct tunit *u = p->unit;
    if (!v) {
        p->err = true;
        return ks_error_set(KS_ENOMEM, "out of memory parsing a template");
    }
    if (u->nconstants == u->capconstants) {
        size_t cap = u->capconstants ? u->capconstants * 2 : 16;
        json_t **nc = realloc(u->constants, cap * sizeof(*nc));
        if (!nc) {
            json_decref(v);
            p->err = true;
            return ks_error_set(KS_ENOMEM, "out of memory parsing a template");
        }
        u->constants = nc;
        u->capconstants = cap;
    }
    u->constants[u->nconstants++] = v;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(struct ks_buf *b, uint32_t r)
{
    char c[4];
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        ks_buf_putc(b, (char)r);
    } else if (r < 0x800) {
        c[0] = (char)(0xC0 | (r >> 6));
        c[1] = (char)(0x80 | (r & 0x3F));
        ks_buf_put(b, c, 2);
    } else if (r < 0x10000) {
        c[0] = (char)(0xE0 | (r >> 12));
        c[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        c[2] = (char)(0x80 | (r & 0x3F));
        ks_buf_put(b, c, 3);
    } else {
        c[0] = (char)(0xF0 | (r >> 18));
        c[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        c[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        c[3] = (char)(0x80 | (r & 0x3F));
        ks_buf_put(b, c, 4);
    }
}

/* strconv.UnquoteChar for one escape or rune at s; returns bytes consumed,
 * 0 on a syntax error. *rune_out is the code point, or -1 - byte for \x/octal
 * escapes (raw bytes). */
static size_t unquote_char(const char *s, size_t n, char quote, long *rune_out)
{
    if (n == 0)
        return 0;
    unsigned char c = (unsigned char)s[0];
    if (c == (unsigned char)quote && (quote == '\'' || quote == '"'))
        return 0;
    if (c >= 0x80) {
        size_t adv;
        *rune_out = utf8_rune(s, n, &adv);
        return adv;
    }
    if (c != '\\') {
        *rune_out = c;
        return 1;
    }
    if (n < 2)
        return 0;
    char e = s[1];
    switch (e) {
    case 'a':
        *rune_out = 7;
        return 2;
    case 'b':
        *rune_out = 8;
        return 2;
    case 'f':
        *rune_out = 12;
        return 2;
    case 'n':
        *rune_out = 10;
        return 2;
    case 'r':
        *rune_out = 13;
        return 2;
    case 't':
        *rune_out = 9;
        return 2;
    case 'v':
        *rune_out = 11;
        return 2;
    case '\\':
        *rune_out = '\\';
        return 2;
    case '\'':
    case '"':
        if (e != quote)
            return 0;
        *rune_out = e;
        return 2;
    case 'x':
    case 'u':
    case 'U': {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (n < 2 + digits)
            return 0;
        long v = 0;
        for (size_t i = 0; i < digits; i++) {
            int h = hexval((unsigned char)s[2 + i]);
            if (h < 0)
                return 0;
            v = v * 16 + h;
        }
        if (e == 'x') {
            *rune_out = -1 - v;
        } else {
            if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
                return 0;
            *rune_out = v;
        }
        return 2 + digits;
    }
    default:
        if (e >= '0' && e <= '7') {
            if (n < 4)
                return 0;
            long v = 0;
            for (int i = 1; i <= 3; i++) {
                if (s[i] < '0' || s[i] > '7')
                    return 0;
                v = v * 8 + (s[i] - '0');
            }
            if (v > 255)
                return 0;
            *rune_out = -1 - v;
            return 4;
        }
        return 0;
    }
}

static int unquote(struct parser *p, const struct token *t, struct ks_buf *out)
{
    const char *s = p->unit->text + t->pos;
    size_t n = (size_t)t->len;
    if (t->typ == T_RAWSTRING) {
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] != '\r')
                ks_buf_putc(out, s[i]);
        return 0;
    }
    size_t i = 1;
    while (i + 1 < n) {
        long r;
        size_t adv = unquote_char(s + i, n - 1 - i, '"', &r);
        if (!adv)
            return perrorf(p, t, "invalid syntax");
        if (r < 0)
            ks_buf_putc(out, (char)(-1 - r));
        else if (s[i] != '\\' && (unsigned char)s[i] >= 0x80)
            ks_buf_put(out, s + i, adv); /* keep bytes as written */
        else
            put_utf8(out, (uint32_t)r);
        i += adv;
    }
    return 0;
}

static bool has_any(const char *s, const char *set)
{
    return strpbrk(s, set) != NULL;
}

static bool parse_go_int(const char *text, int64_t *out, bool *overflow)
{
    /* strconv.ParseInt(text, 0, 64) with underscores */
    const char *s = text;
    bool neg = false;
    *overflow = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    int base = 10;
    bool prefixed = false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        s += 1;
        prefixed = true;
    }
    if (!*s && !prefixed)
        return false;
    if (!*s && base != 8)
        return false;
    /* underscores: only between digits (or after a prefix) */
    uint64_t v = 0;
    int last = prefixed ? '_' : '^';
    bool any = false;
    for (; *s; s++) {
        if (*s == '_') {
            if (last == '_' && !(prefixed && !any))
                return false;
            if (!prefixed && !any)
                return false;
            last = '_';
            continue;
        }
        int d = hexval((unsigned char)*s);
        if (d < 0 || d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            *overflow = true;
        v = v * (uint64_t)base + (uint64_t)d;
        last = '0';
        any = true;
    }
    if (last == '_')
        return false;
    if (!any && !(prefixed && base == 8))
        return false;
    if (*overflow || v > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
        *overflow = true;
        return false;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static struct tnode *new_number(struct parser *p, const struct token *t)
{
    const char *text = tok_text(p, t);
    struct tnode *n = new_node(p, TN_NUMBER, t->pos);
    if (!n || !text)
        return NULL;
    n->src = n->text = text;
    json_t *v = NULL;
    if (t->typ == T_CHARCONST) {
        long r;
        size_t len = strlen(text);
        size_t adv = unquote_char(text + 1, len - 1, '\'', &r);
        if (!adv || adv + 2 != len) {
            perrorf(p, t, "malformed character constant: %s", text);
            return NULL;
        }
        v = json_integer(r < 0 ? -1 - r : r);
    } else {
        size_t len = strlen(text);
        if (len && text[len - 1] == 'i') {
            perrorf(p, t, "complex numbers are not supported: %s", text);
            return NULL;
        }
        int64_t i;
        bool overflow;
        bool is_hex = len > 2 && text[text[0] == '-' || text[0] == '+'] == '0' &&
                      (text[(text[0] == '-' || text[0] == '+') + 1] == 'x' ||
                       text[(text[0] == '-' || text[0] == '+') + 1] == 'X');
        if (parse_go_int(text, &i, &overflow)) {
            v = json_integer(i);
        } else {
            /* float: strip underscores, let strtod parse */
            char buf[128];
            size_t k = 0;
            for (size_t j = 0; text[j] && k + 1 < sizeof(buf); j++)
                if (text[j] != '_')
                    buf[k++] = text[j];
            buf[k] = '\0';
            char *end = NULL;
            errno = 0;
            double f = strtod(buf, &end);
            bool ok = end && *end == '\0' && k > 0 && strcmp(buf, "-") && strcmp(buf, "+") &&
                      strcmp(buf, ".");
            if (ok && (is_hex ? has_any(text, "pP") : true) && errno != ERANGE) {
                if (!has_any(text, ".eEpP")) {
                    perrorf(p, t, "integer overflow: \"%s\"", text);
                    return NULL;
                }
                v = json_real(f);
            } else if (ok && errno == ERANGE && has_any(text, ".eEpP") && fabs(f) < 1) {
                v = json_real(f);
            } else {
                perrorf(p, t, "illegal number syntax: \"%s\"", text);
                return NULL;
            }
        }
    }
    if (add_constant(p, v))
        return NULL;
    n->constant = v;
    return n;
}

static struct tnode *pipeline(struct parser *p, const char *context, enum tok end);

static struct tnode *term(struct parser *p)
{
    const struct token *t = next_nonspace(p);
    struct tnode *n;
    switch (t->typ) {
    case T_IDENT: {
        const char *name = tok_text(p, t);
        const struct ks_tpl_func_def *fn = name ? tset_func(p->set, name) : NULL;
        if (!fn) {
            perrorf(p, t, "function \"%s\" not defined", name ? name : "");
            return NULL;
        }
        n = new_node(p, TN_IDENT, t->pos);
        if (n) {
            n->text = name;
            n->fn = fn;
        }
        return n;
    }
    case T_DOT:
        return new_node(p, TN_DOT, t->pos);
    case T_NIL:
        return new_node(p, TN_NIL, t->pos);
    case T_VARIABLE: {
        n = new_node(p, TN_VAR, t->pos);
        if (!n || split_tok(p, n, t, false))
            return NULL;
        for (size_t i = p->nvars; i-- > 0;)
            if (strcmp(p->vars[i], n->idents[0]) == 0)
                return n;
        perrorf(p, t, "undefined variable \"%s\"", n->idents[0]);
        return NULL;
    }
    case T_FIELD:
        n = new_node(p, TN_FIELD, t->pos);
        if (!n || split_tok(p, n, t, true))
            return NULL;
        return n;
    case T_BOOL:
        n = new_node(p, TN_BOOL, t->pos);
        if (n)
            n->bval = p->unit->text[t->pos] == 't';
        return n;
    case T_CHARCONST:
    case T_NUMBER:
        return new_number(p, t);
    case T_LPAREN:
        if (++p->depth > p->set->root->limits.max_parse_depth) {
            perrorf(p, t, "nesting deeper than the limit of %d",
                    p->set->root->limits.max_parse_depth);
            return NULL;
        }
        n = pipeline(p, "parenthesized pipeline", T_RPAREN);
        p->depth--;
        return n;
    case T_STRING:
    case T_RAWSTRING: {
        struct ks_buf b;
        ks_buf_init(&b, 0);
        n = NULL;
        if (unquote(p, t, &b) == 0 && !ks_buf_error(&b)) {
            n = new_node(p, TN_STRING, t->pos);
            if (n) {
                n->src = tok_text(p, t);
                n->len = ks_buf_len(&b);
                n->text = arena_strndup(&p->unit->arena, ks_buf_data(&b), n->len);
                json_t *v = json_stringn_nocheck(ks_buf_data(&b), n->len);
                if (add_constant(p, v))
                    n = NULL;
                else
                    n->constant = v;
            }
        }
        ks_buf_release(&b);
        return n;
    }
    default:
        p->i = (size_t)(t - p->toks);
        return NULL;
    }
}

static struct tnode *operand(struct parser *p)
{
    struct tnode *n = term(p);
    if (!n || p->err)
        return NULL;
    if (peek(p)->typ != T_FIELD)
        return n;
    int chain_pos = peek(p)->pos;
    struct ks_buf names;
    ks_buf_init(&names, 0);
    while (peek(p)->typ == T_FIELD) {
        const struct token *t = next(p);
        ks_buf_put(&names, p->unit->text + t->pos, (size_t)t->len);
    }
    struct tnode *res = NULL;
    switch (n->type) {
    case TN_FIELD:
    case TN_VAR: {
        struct ks_buf full;
        ks_buf_init(&full, 0);
        if (n->type == TN_FIELD)
            ks_buf_putc(&full, '.');
        for (size_t i = 0; i < n->nidents; i++) {
            if (i)
                ks_buf_putc(&full, '.');
            ks_buf_puts(&full, n->idents[i]);
        }
        ks_buf_puts(&full, ks_buf_data(&names));
        res = new_node(p, n->type, chain_pos);
        if (res && split_idents(p, res, ks_buf_data(&full), ks_buf_len(&full), n->type == TN_FIELD))
            res = NULL;
        ks_buf_release(&full);
        break;
    }
    case TN_BOOL:
    case TN_STRING:
    case TN_NUMBER:
    case TN_NIL:
    case TN_DOT: {
        struct ks_buf s;
        ks_buf_init(&s, 0);
        tnode_string(&s, n);
        struct ks_buf q;
        ks_buf_init(&q, 0);
        ks_gofmt_quote(&q, ks_buf_data(&s), ks_buf_len(&s));
        perrorf(p, peek(p), "unexpected . after term %s", ks_buf_data(&q));
        ks_buf_release(&s);
        ks_buf_release(&q);
        break;
    }
    default:
        res = new_node(p, TN_CHAIN, chain_pos);
        if (res) {
            res->sub = n;
            if (split_idents(p, res, ks_buf_data(&names), ks_buf_len(&names), true))
                res = NULL;
        }
        break;
    }
    ks_buf_release(&names);
    return res;
}

static struct tnode *command(struct parser *p)
{
    struct tnode *cmd = new_node(p, TN_CMD, peek_nonspace(p)->pos);
    struct nvec args = {0};
    if (!cmd)
        return NULL;
    for (;;) {
        peek_nonspace(p);
        struct tnode *op = operand(p);
        if (p->err)
            goto fail;
        if (op && nvec_push(p, &args, op))
            goto fail;
        const struct token *t = next(p);
        if (t->typ == T_SPACE)
            continue;
        if (t->typ == T_RIGHT || t->typ == T_RPAREN) {
            p->i--;
        } else if (t->typ != T_PIPE) {
            unexpected(p, t, "operand");
            goto fail;
        }
        break;
    }
    if (args.n == 0) {
        perrorf(p, peek(p), "empty command");
        goto fail;
    }
    cmd->kids = nvec_finish(p, &args, &cmd->nkids);
    return cmd;
fail:
    free(args.v);
    return NULL;
}

static struct tnode *pipeline(struct parser *p, const char *context, enum tok end)
{
    const struct token *first = peek_nonspace(p);
    struct tnode *pipe = new_node(p, TN_PIPE, first->pos);
    struct nvec decl = {0}, cmds = {0};
    if (!pipe)
        return NULL;
decls:
    if (peek_nonspace(p)->typ == T_VARIABLE) {
        const struct token *v = next(p);
        size_t after_var = p->i;
        const struct token *after = peek(p);
        const struct token *nx = peek_nonspace(p);
        if (nx->typ == T_ASSIGN || nx->typ == T_DECLARE ||
            (nx->typ == T_CHAR && p->unit->text[nx->pos] == ',')) {
            bool comma = nx->typ == T_CHAR;
            pipe->is_assign = nx->typ == T_ASSIGN;
            next_nonspace(p);
            struct tnode *vn = new_node(p, TN_VAR, v->pos);
            if (!vn || split_tok(p, vn, v, false) || nvec_push(p, &decl, vn) ||
                push_var(p, vn->idents[0]))
                goto fail;
            if (comma) {
                if (strcmp(context, "range") == 0 && decl.n < 2) {
                    enum tok k = peek_nonspace(p)->typ;
                    if (k == T_VARIABLE || k == T_RIGHT || k == T_RPAREN)
                        goto decls;
                    perrorf(p, peek(p), "range can only initialize variables");
                    goto fail;
                }
                perrorf(p, peek(p), "too many declarations in %s", context);
                goto fail;
            }
        } else if (after->typ == T_SPACE) {
            p->i = (size_t)(v - p->toks);
        } else {
            (void)after_var;
            p->i = (size_t)(v - p->toks);
        }
    }
    for (;;) {
        const struct token *t = next_nonspace(p);
        if (t->typ == end) {
            if (cmds.n == 0) {
                perrorf(p, t, "missing value for %s", context);
                goto fail;
            }
            for (size_t i = 1; i < cmds.n; i++) {
                enum tnode_type k = cmds.v[i]->kids[0]->type;
                if (k == TN_BOOL || k == TN_DOT || k == TN_NIL || k == TN_NUMBER ||
                    k == TN_STRING) {
                    perrorf(p, t, "non executable command in pipeline stage %zu", i + 1);
                    goto fail;
                }
            }
            break;
        }
        switch (t->typ) {
        case T_BOOL:
        case T_CHARCONST:
        case T_DOT:
        case T_FIELD:
        case T_IDENT:
        case T_NUMBER:
        case T_NIL:
        case T_RAWSTRING:
        case T_STRING:
        case T_VARIABLE:
        case T_LPAREN: {
            p->i = (size_t)(t - p->toks);
            struct tnode *c = command(p);
            if (!c || nvec_push(p, &cmds, c))
                goto fail;
            continue;
        }
        default:
            unexpected(p, t, context);
            goto fail;
        }
    }
    pipe->decl = nvec_finish(p, &decl, &pipe->ndecl);
    pipe->kids = nvec_finish(p, &cmds, &pipe->nkids);
    return p->err ? NULL : pipe;
fail:
    free(decl.v);
    free(cmds.v);
    return NULL;
}

/* item list parsing: returns the list and the terminating else/end token */
enum stop { STOP_END, STOP_ELSE };

static struct tnode *text_or_action(struct parser *p, int *stop, const struct token **stop_tok);

static struct tnode *item_list(struct parser *p, int *stop, const struct token **stop_tok)
{
    struct tnode *list = new_node(p, TN_LIST, peek_nonspace(p)->pos);
    struct nvec v = {0};
    if (!list)
        return NULL;
    while (peek_nonspace(p)->typ != T_EOF) {
        int st = -1;
        struct tnode *n = text_or_action(p, &st, stop_tok);
        if (p->err)
            goto fail;
        if (st >= 0) {
            *stop = st;
            list->kids = nvec_finish(p, &v, &list->nkids);
            return p->err ? NULL : list;
        }
        if (n && nvec_push(p, &v, n))
            goto fail;
    }
    perrorf(p, peek(p), "unexpected EOF");
fail:
    free(v.v);
    return NULL;
}

static int pop_vars(struct parser *p, size_t n)
{
    p->nvars = n;
    return 0;
}

static struct tnode *control(struct parser *p, enum tnode_type type, const char *context, int pos);

static int parse_template_name(struct parser *p, const struct token *t, const char *context,
                               const char **out)
{
    if (t->typ != T_STRING && t->typ != T_RAWSTRING)
        return unexpected(p, t, context);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    int rc = unquote(p, t, &b);
    if (!rc) {
        *out = arena_strndup(&p->unit->arena, ks_buf_data(&b), ks_buf_len(&b));
        if (!*out)
            rc = KS_ENOMEM;
    }
    ks_buf_release(&b);
    return rc;
}

static bool is_empty_tree(const struct tnode *n)
{
    if (!n)
        return true;
    if (n->type == TN_LIST) {
        for (size_t i = 0; i < n->nkids; i++)
            if (!is_empty_tree(n->kids[i]))
                return false;
        return true;
    }
    if (n->type == TN_TEXT) {
        for (size_t i = 0; i < n->len; i++)
            if (!is_space((unsigned char)n->text[i]) && n->text[i] != '\v' && n->text[i] != '\f')
                return false;
        return true;
    }
    return false;
}

/* Go's Tree.add within one parse */
static int add_tree(struct parser *p, const char *name, struct tnode *root, const struct token *t)
{
    for (size_t i = 0; i < p->ntrees; i++) {
        if (strcmp(p->trees[i]->name, name) == 0) {
            if (is_empty_tree(p->trees[i]->root)) {
                p->trees[i]->root = root;
                return 0;
            }
            if (!is_empty_tree(root))
                return perrorf(p, t, "template: multiple definition of template \"%s\"", name);
            return 0;
        }
    }
    struct ttree *tr = arena_alloc(&p->unit->arena, sizeof(*tr));
    if (!tr)
        return KS_ENOMEM;
    tr->name = name;
    tr->root = root;
    tr->unit = p->unit;
    if (p->ntrees == p->captrees) {
        size_t cap = p->captrees ? p->captrees * 2 : 8;
        struct ttree **nt = realloc(p->trees, cap * sizeof(*nt));
        if (!nt)
            return ks_error_set(KS_ENOMEM, "out of memory parsing a template");
        p->trees = nt;
        p->captrees = cap;
    }
    p->trees[p->ntrees++] = tr;
    return 0;
}

static struct tnode *parse_body(struct parser *p, const char *context, const struct token *t)
{
    /* a define/block body: fresh variable scope with only "$" */
    const char **saved = p->vars;
    size_t saved_n = p->nvars, saved_cap = p->capvars;
    int saved_range = p->range_depth;
    p->vars = NULL;
    p->nvars = p->capvars = 0;
    p->range_depth = 0;
    struct tnode *list = NULL;
    if (push_var(p, "$") == 0) {
        int stop = -1;
        const struct token *st = NULL;
        list = item_list(p, &stop, &st);
        if (list && stop != STOP_END) {
            perrorf(p, st, "unexpected {{else}} in %s", context);
            list = NULL;
        }
    }
    free(p->vars);
    p->vars = saved;
    p->nvars = saved_n;
    p->capvars = saved_cap;
    p->range_depth = saved_range;
    (void)t;
    return list;
}

static struct tnode *action(struct parser *p, int *stop, const struct token **stop_tok)
{
    const struct token *t = next_nonspace(p);
    switch (t->typ) {
    case T_BLOCK: {
        const struct token *nt = next_nonspace(p);
        const char *name = NULL;
        if (parse_template_name(p, nt, "block clause", &name))
            return NULL;
        struct tnode *pipe = pipeline(p, "block clause", T_RIGHT);
        if (!pipe)
            return NULL;
        struct tnode *body = parse_body(p, "block clause", nt);
        if (!body || add_tree(p, name, body, nt))
            return NULL;
        struct tnode *n = new_node(p, TN_TEMPLATE, nt->pos);
        if (n) {
            n->text = name;
            n->sub = pipe;
        }
        return n;
    }
    case T_BREAK:
    case T_CONTINUE: {
        const char *what = t->typ == T_BREAK ? "{{break}}" : "{{continue}}";
        const struct token *r = next_nonspace(p);
        if (r->typ != T_RIGHT) {
            unexpected(p, r, what);
            return NULL;
        }
        if (p->range_depth == 0) {
            perrorf(p, r, "%s outside {{range}}", what);
            return NULL;
        }
        return new_node(p, t->typ == T_BREAK ? TN_BREAK : TN_CONTINUE, t->pos);
    }
    case T_ELSE: {
        const struct token *pk = peek_nonspace(p);
        if (pk->typ == T_IF || pk->typ == T_WITH) {
            *stop = STOP_ELSE;
            *stop_tok = pk;
            return NULL;
        }
        const struct token *r = next_nonspace(p);
        if (r->typ != T_RIGHT) {
            unexpected(p, r, "else");
            return NULL;
        }
        *stop = STOP_ELSE;
        *stop_tok = r;
        return NULL;
    }
    case T_END: {
        const struct token *r = next_nonspace(p);
        if (r->typ != T_RIGHT) {
            unexpected(p, r, "end");
            return NULL;
        }
        *stop = STOP_END;
        *stop_tok = r;
        return NULL;
    }
    case T_IF:
        return control(p, TN_IF, "if", t->pos);
    case T_RANGE:
        return control(p, TN_RANGE, "range", t->pos);
    case T_WITH:
        return control(p, TN_WITH, "with", t->pos);
    case T_TEMPLATE: {
        const struct token *nt = next_nonspace(p);
        const char *name = NULL;
        if (parse_template_name(p, nt, "template clause", &name))
            return NULL;
        struct tnode *pipe = NULL;
        if (next_nonspace(p)->typ != T_RIGHT) {
            p->i--;
            pipe = pipeline(p, "template clause", T_RIGHT);
            if (!pipe)
                return NULL;
        }
        struct tnode *n = new_node(p, TN_TEMPLATE, nt->pos);
        if (n) {
            n->text = name;
            n->sub = pipe;
        }
        return n;
    }
    default:
        break;
    }
    p->i = (size_t)(t - p->toks);
    int pos = peek(p)->pos;
    struct tnode *pipe = pipeline(p, "command", T_RIGHT);
    if (!pipe)
        return NULL;
    struct tnode *n = new_node(p, TN_ACTION, pos);
    if (n)
        n->sub = pipe;
    return n;
}

static struct tnode *control(struct parser *p, enum tnode_type type, const char *context, int pos)
{
    size_t nv = p->nvars;
    struct tnode *n = NULL;
    if (++p->depth > p->set->root->limits.max_parse_depth) {
        perrorf(p, peek(p), "nesting deeper than the limit of %d",
                p->set->root->limits.max_parse_depth);
        goto done;
    }
    struct tnode *pipe = pipeline(p, context, T_RIGHT);
    if (!pipe)
        goto done;
    if (type == TN_RANGE)
        p->range_depth++;
    int stop = -1;
    const struct token *st = NULL;
    struct tnode *list = item_list(p, &stop, &st);
    if (type == TN_RANGE)
        p->range_depth--;
    if (!list)
        goto done;
    struct tnode *else_list = NULL;
    if (stop == STOP_ELSE) {
        if ((type == TN_IF && peek(p)->typ == T_IF) ||
            (type == TN_WITH && peek(p)->typ == T_WITH)) {
            const struct token *kw = next(p);
            else_list = new_node(p, TN_LIST, st->pos);
            struct tnode *inner = control(p, type, context, kw->pos);
            if (!else_list || !inner)
                goto done;
            else_list->kids = arena_alloc(&p->unit->arena, sizeof(struct tnode *));
            if (!else_list->kids)
                goto done;
            else_list->kids[0] = inner;
            else_list->nkids = 1;
        } else {
            int stop2 = -1;
            const struct token *st2 = NULL;
            else_list = item_list(p, &stop2, &st2);
            if (!else_list)
                goto done;
            if (stop2 != STOP_END) {
                perrorf(p, st2, "expected end; found {{else}}");
                goto done;
            }
        }
    }
    n = new_node(p, type, pipe->pos);
    if (n) {
        n->sub = pipe;
        n->list = list;
        n->else_list = else_list;
    }
    (void)pos;
done:
    p->depth--;
    pop_vars(p, nv);
    return n;
}

static struct tnode *text_or_action(struct parser *p, int *stop, const struct token **stop_tok)
{
    const struct token *t = next_nonspace(p);
    switch (t->typ) {
    case T_TEXT: {
        struct tnode *n = new_node(p, TN_TEXT, t->pos);
        if (n) {
            n->text = p->unit->text + t->pos;
            n->len = (size_t)t->len;
        }
        return n;
    }
    case T_LEFT: {
        int saved = p->action_pos;
        p->action_pos = t->pos;
        struct tnode *n = action(p, stop, stop_tok);
        p->action_pos = saved;
        return n;
    }
    default:
        unexpected(p, t, "input");
        return NULL;
    }
}

static void parse_define(struct parser *p)
{
    const struct token *nt = next_nonspace(p);
    const char *name = NULL;
    if (parse_template_name(p, nt, "define clause", &name))
        return;
    const struct token *r = next_nonspace(p);
    if (r->typ != T_RIGHT) {
        unexpected(p, r, "define clause");
        return;
    }
    struct tnode *body = parse_body(p, "define clause", nt);
    if (body)
        add_tree(p, name, body, nt);
}

static void parse_top(struct parser *p, const char *name)
{
    struct tnode *root = new_node(p, TN_LIST, peek(p)->pos);
    struct nvec v = {0};
    if (!root || push_var(p, "$"))
        return;
    while (!p->err && peek(p)->typ != T_EOF) {
        if (peek(p)->typ == T_LEFT) {
            size_t save = p->i;
            next(p);
            if (next_nonspace(p)->typ == T_DEFINE) {
                parse_define(p);
                continue;
            }
            p->i = save;
        }
        int st = -1;
        const struct token *stt = NULL;
        struct tnode *n = text_or_action(p, &st, &stt);
        if (p->err)
            break;
        if (st >= 0) {
            perrorf(p, stt, "unexpected %s", st == STOP_END ? "{{end}}" : "{{else}}");
            break;
        }
        if (n && nvec_push(p, &v, n))
            break;
    }
    root->kids = nvec_finish(p, &v, &root->nkids);
    if (!p->err)
        add_tree(p, name, root, peek(p));
}

int tparse(struct ks_tpl_set *set, const char *name, const char *parse_name, const char *text,
           size_t len)
{
    struct tunit *u = NULL;
    struct lexer l = {0};
    struct parser p = {0};
    int rc = 0;
    if (len > set->root->limits.max_source) {
        rc = ks_error_set(KS_ELIMIT, "template %s: %zu bytes exceed the limit of %zu bytes", name,
                          len, set->root->limits.max_source);
        goto done;
    }
    u = calloc(1, sizeof(*u));
    if (!u || !(u->text = malloc(len + 1)) || !(u->parse_name = strdup(parse_name))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory parsing a template");
        goto done;
    }
    memcpy(u->text, text, len);
    u->text[len] = '\0';
    u->len = len;
    /* one block for the whole parse as a rule: parsed, a text takes about
     * 16 times its length (pages of the block left unused are never
     * touched, so a generous guess costs no memory) */
    u->arena.first = len < 4096 ? 16 * len + 1024 : 65536;
    const char *tree_name = arena_strndup(&u->arena, name, strlen(name));
    if (!tree_name) {
        rc = ks_error_set(KS_ENOMEM, "out of memory parsing a template");
        goto done;
    }
    l.in = u->text;
    l.len = len;
    l.arena = &u->arena;
    if ((rc = lex_all(&l)))
        goto done;
    if (l.failed) {
        /* ensure the error token is followed by EOF */
        if ((rc = lex_emit_at(&l, T_EOF, l.len, l.len)))
            goto done;
    }
    p.set = set;
    p.unit = u;
    p.action_pos = -1;
    p.toks = l.toks;
    p.ntoks = l.ntoks;
    parse_top(&p, tree_name);
    if (p.err) {
        rc = ks_error_last_code() ? ks_error_last_code() : KS_EINVALID;
        goto done;
    }
    for (size_t i = 0; i < p.ntrees; i++) {
        struct ttree *old = smap_get(&set->templates, p.trees[i]->name);
        if (old && is_empty_tree(p.trees[i]->root) && old->root)
            continue;
        if ((rc = smap_put(&set->templates, p.trees[i]->name, p.trees[i])))
            goto done;
    }
    u->next = set->units;
    set->units = u;
    u = NULL;
done:
    free(l.toks);
    free(p.vars);
    free(p.trees);
    tunit_free(u);
    return rc;
}

/* ---- node printing (Go's String methods) ---- */

static void idents_string(struct ks_buf *out, const struct tnode *n, bool lead_dot)
{
    for (size_t i = 0; i < n->nidents; i++) {
        if (i || lead_dot)
            ks_buf_putc(out, '.');
        ks_buf_puts(out, n->idents[i]);
    }
}

void tnode_string(struct ks_buf *out, const struct tnode *n)
{
    switch (n->type) {
    case TN_LIST:
        for (size_t i = 0; i < n->nkids; i++)
            tnode_string(out, n->kids[i]);
        break;
    case TN_TEXT:
        ks_gofmt_quote(out, n->text, n->len);
        break;
    case TN_ACTION:
        ks_buf_puts(out, "{{");
        tnode_string(out, n->sub);
        ks_buf_puts(out, "}}");
        break;
    case TN_IF:
    case TN_RANGE:
    case TN_WITH:
        ks_buf_puts(out, n->type == TN_IF ? "{{if " : n->type == TN_RANGE ? "{{range " : "{{with ");
        tnode_string(out, n->sub);
        ks_buf_puts(out, "}}");
        tnode_string(out, n->list);
        if (n->else_list) {
            ks_buf_puts(out, "{{else}}");
            tnode_string(out, n->else_list);
        }
        ks_buf_puts(out, "{{end}}");
        break;
    case TN_TEMPLATE:
        ks_buf_puts(out, "{{template ");
        ks_gofmt_quote(out, n->text, strlen(n->text));
        if (n->sub) {
            ks_buf_putc(out, ' ');
            tnode_string(out, n->sub);
        }
        ks_buf_puts(out, "}}");
        break;
    case TN_BREAK:
        ks_buf_puts(out, "{{break}}");
        break;
    case TN_CONTINUE:
        ks_buf_puts(out, "{{continue}}");
        break;
    case TN_PIPE:
        for (size_t i = 0; i < n->ndecl; i++) {
            if (i)
                ks_buf_puts(out, ", ");
            tnode_string(out, n->decl[i]);
        }
        if (n->ndecl)
            ks_buf_puts(out, n->is_assign ? " = " : " := ");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                ks_buf_puts(out, " | ");
            tnode_string(out, n->kids[i]);
        }
        break;
    case TN_CMD:
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                ks_buf_putc(out, ' ');
            if (n->kids[i]->type == TN_PIPE) {
                ks_buf_putc(out, '(');
                tnode_string(out, n->kids[i]);
                ks_buf_putc(out, ')');
            } else {
                tnode_string(out, n->kids[i]);
            }
        }
        break;
    case TN_FIELD:
        idents_string(out, n, true);
        break;
    case TN_VAR:
        idents_string(out, n, false);
        break;
    case TN_CHAIN:
        if (n->sub->type == TN_PIPE) {
            ks_buf_putc(out, '(');
            tnode_string(out, n->sub);
            ks_buf_putc(out, ')');
        } else {
            tnode_string(out, n->sub);
        }
        idents_string(out, n, true);
        break;
    case TN_IDENT:
        ks_buf_puts(out, n->text);
        break;
    case TN_DOT:
        ks_buf_putc(out, '.');
        break;
    case TN_NIL:
        ks_buf_puts(out, "nil");
        break;
    case TN_BOOL:
        ks_buf_puts(out, n->bval ? "true" : "false");
        break;
    case TN_NUMBER:
    case TN_STRING:
        ks_buf_puts(out, n->src);
        break;
    }
}

void tnode_location(struct ks_buf *out, const struct tnode *n)
{
    const char *text = n->unit->text;
    int line = 1;
    int line_start = -1;
    for (int i = 0; i < n->pos; i++)
        if (text[i] == '\n') {
            line++;
            line_start = i;
        }
    int col = line_start < 0 ? n->pos : n->pos - (line_start + 1);
    ks_buf_printf(out, "%s:%d:%d", n->unit->parse_name, line, col);
}
