/*
 * labels.c: label selectors (string and JSON forms) and label validation
 * (see labels.h).
 *
 * A selector is a flat array of requirements sorted by key, each holding
 * its operator and a sorted, deduplicated array of values, so matching is
 * one hash lookup in the label object per requirement plus a binary
 * search, and never allocates. The string parser is a hand-written
 * recursive descent over an on-demand lexer that mirrors Kubernetes'
 * grammar token for token (including its corner cases: `k in ()` means the
 * empty value, `in`/`notin` are plain identifiers outside the operator
 * position), so a selector that Kubernetes accepts means the same here.
 */
#include "core/labels.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonpath.h"
#include "core/object.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOT_EXISTS, OP_GT, OP_LT };

struct req {
    char *key;
    enum op op;
    char **values; /* sorted, unique; exactly one for EQ/NE/GT/LT */
    size_t nvalues;
    int64_t number; /* GT/LT operand */
    size_t seq;     /* input order, to make sorting deterministic */
};

struct ks_selector {
    struct req *reqs;
    size_t n, cap;
};

/* ---- building ---------------------------------------------------------- */

static void req_release(struct req *r)
{
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    free(r->key);
    memset(r, 0, sizeof(*r));
}

void ks_selector_free(struct ks_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        req_release(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

static int oom(void)
{
    return ks_error_set(KS_ENOMEM, "label selector: out of memory");
}

/* Strict decimal int64 (what Go's strconv.ParseInt(s, 10, 64) accepts). */
static bool parse_i64(int64_t *out, const char *s)
{
    char *end = NULL;
    if (!((*s >= '0' && *s <= '9') || ((*s == '+' || *s == '-') && s[1] >= '0' && s[1] <= '9')))
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Starts a requirement with a copy of key[0..len). */
static int req_start(struct req *r, const char *key, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->key = malloc(len + 1);
    if (!r->key)
        return oom();
    memcpy(r->key, key, len);
    r->key[len] = '\0';
    return 0;
}

static int req_add_value(struct req *r, const char *v, size_t len)
{
    if (r->nvalues >= KS_SELECTOR_MAX_VALUES)
        return ks_error_set(KS_ELIMIT, "requirement on \"%s\" has more than %d values", r->key,
                            KS_SELECTOR_MAX_VALUES);
    char **grown = realloc(r->values, (r->nvalues + 1) * sizeof(*grown));
    if (!grown)
        return oom();
    r->values = grown;
    char *copy = malloc(len + 1);
    if (!copy)
        return oom();
    memcpy(copy, v, len);
    copy[len] = '\0';
    r->values[r->nvalues++] = copy;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks r as Kubernetes' NewRequirement does, sorts and dedups its values
 * and moves it into sel (r is emptied either way). */
static int req_finish(struct ks_selector *sel, struct req *r)
{
    int rc = ks_label_key_validate(r->key);
    if (rc)
        goto done;
    switch (r->op) {
    case OP_IN:
    case OP_NOTIN:
        if (r->nvalues == 0)
            rc = ks_error_set(KS_EINVALID, "key \"%s\": operator %s needs at least one value",
                              r->key, r->op == OP_IN ? "In" : "NotIn");
        break;
    case OP_EXISTS:
    case OP_NOT_EXISTS:
        if (r->nvalues != 0)
            rc = ks_error_set(KS_EINVALID, "key \"%s\": operator %s takes no values", r->key,
                              r->op == OP_EXISTS ? "Exists" : "DoesNotExist");
        break;
    case OP_GT:
    case OP_LT:
        if (!parse_i64(&r->number, r->values[0]))
            rc = ks_error_set(KS_EINVALID, "key \"%s\": operator %s needs an integer, got \"%s\"",
                              r->key, r->op == OP_GT ? "'>'" : "'<'", r->values[0]);
        break;
    default:
        break;
    }
    for (size_t i = 0; !rc && i < r->nvalues; i++)
        rc = ks_label_value_validate(r->values[i]);
    if (rc)
        goto done;
    if (r->nvalues > 1) {
        size_t w = 1;
        qsort(r->values, r->nvalues, sizeof(*r->values), cmp_str);
        for (size_t i = 1; i < r->nvalues; i++) {
            if (strcmp(r->values[i], r->values[w - 1]) == 0)
                free(r->values[i]);
            else
                r->values[w++] = r->values[i];
        }
        r->nvalues = w;
    }
    if (sel->n >= KS_SELECTOR_MAX_REQUIREMENTS) {
        rc = ks_error_set(KS_ELIMIT, "more than %d requirements", KS_SELECTOR_MAX_REQUIREMENTS);
        goto done;
    }
    if (sel->n == sel->cap) {
        size_t cap = sel->cap ? sel->cap * 2 : 4;
        struct req *grown = realloc(sel->reqs, cap * sizeof(*grown));
        if (!grown) {
            rc = oom();
            goto done;
        }
        sel->reqs = grown;
        sel->cap = cap;
    }
    r->seq = sel->n;
    sel->reqs[sel->n++] = *r;
    memset(r, 0, sizeof(*r));
done:
    req_release(r);
    return rc;
}

static int cmp_req(const void *a, const void *b)
{
    const struct req *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct ks_selector *selector_new(void)
{
    return calloc(1, sizeof(struct ks_selector));
}

static void selector_sort(struct ks_selector *sel)
{
    if (sel->n > 1)
        qsort(sel->reqs, sel->n, sizeof(*sel->reqs), cmp_req);
}

/* ---- string form ------------------------------------------------------- */

enum tok {
    T_END,
    T_IDENT,
    T_EQ,
    T_DEQ,
    T_NEQ,
    T_BANG,
    T_IN,
    T_NOTIN,
    T_LPAR,
    T_RPAR,
    T_COMMA,
    T_GT,
    T_LT
};

struct token {
    enum tok t;
    const char *s;
    size_t len;
};

struct parser {
    const char *text;
    const char *p; /* next unread character */
    struct ks_selector *sel;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c && strchr("=!(),<>", c) != NULL;
}

/* Reads the token at *pp and advances past it. In value position
 * (`values`) the keywords in/notin are plain identifiers. */
static void lex_at(struct token *t, const char **pp, bool values)
{
    const char *p = *pp;
    while (is_space(*p))
        p++;
    t->s = p;
    t->len = 1;
    if (!*p) {
        t->t = T_END;
        t->len = 0;
    } else if ((p[0] == '!' || p[0] == '=') && p[1] == '=') {
        t->t = p[0] == '!' ? T_NEQ : T_DEQ;
        t->len = 2;
    } else if (is_special(*p)) {
        static const char sym[] = "=!(),<>";
        static const enum tok kind[] = {T_EQ, T_BANG, T_LPAR, T_RPAR, T_COMMA, T_LT, T_GT};
        t->t = kind[strchr(sym, *p) - sym];
    } else {
        size_t n = 0;
        while (p[n] && !is_space(p[n]) && !is_special(p[n]))
            n++;
        t->len = n;
        t->t = T_IDENT;
        if (!values && n == 2 && memcmp(p, "in", 2) == 0)
            t->t = T_IN;
        else if (!values && n == 5 && memcmp(p, "notin", 5) == 0)
            t->t = T_NOTIN;
    }
    *pp = p + t->len;
}

static void next(struct parser *ps, struct token *t, bool values)
{
    lex_at(t, &ps->p, values);
}

static void peek(struct parser *ps, struct token *t)
{
    const char *p = ps->p;
    lex_at(t, &p, true);
}

static int unexpected(struct parser *ps, const struct token *t, const char *expected)
{
    if (t->t == T_END)
        return ks_error_set(KS_EINVALID, "column %zu: found the end of the text, expected %s",
                            (size_t)(t->s - ps->text) + 1, expected);
    return ks_error_set(KS_EINVALID, "column %zu: found '%.*s', expected %s",
                        (size_t)(t->s - ps->text) + 1, (int)(t->len > 64 ? 64 : t->len), t->s,
                        expected);
}

/* `( v1, v2 )`, following Kubernetes' parseValues/parseIdentifiersList. */
static int parse_values(struct parser *ps, struct req *r)
{
    struct token t, la;
    int rc;
    next(ps, &t, true);
    if (t.t != T_LPAR)
        return unexpected(ps, &t, "'('");
    peek(ps, &la);
    if (la.t == T_RPAR) { /* "()" is the empty value */
        next(ps, &t, true);
        return req_add_value(r, "", 0);
    }
    if (la.t != T_IDENT && la.t != T_COMMA)
        return unexpected(ps, &la, "',', ')' or a value");
    for (;;) {
        next(ps, &t, true);
        if (t.t == T_IDENT) {
            if ((rc = req_add_value(r, t.s, t.len)))
                return rc;
            peek(ps, &la);
            if (la.t == T_RPAR)
                break;
            if (la.t != T_COMMA)
                return unexpected(ps, &la, "',' or ')'");
        } else if (t.t == T_COMMA) {
            peek(ps, &la);
            /* "(," "a,)" and "a,,b" stand for empty values */
            if (r->nvalues == 0 && (rc = req_add_value(r, "", 0)))
                return rc;
            if (la.t == T_RPAR) {
                if ((rc = req_add_value(r, "", 0)))
                    return rc;
                break;
            }
            if (la.t == T_COMMA) {
                next(ps, &t, true);
                if ((rc = req_add_value(r, "", 0)))
                    return rc;
            }
        } else {
            return unexpected(ps, &t, "',' or a value");
        }
    }
    next(ps, &t, true); /* the ')' seen above */
    return 0;
}

static int parse_requirement(struct parser *ps)
{
    struct req r;
    struct token t, la;
    bool bang = false;
    int rc = 0;
    memset(&r, 0, sizeof(r));
    next(ps, &t, true);
    if (t.t == T_BANG) {
        bang = true;
        next(ps, &t, true);
    }
    if (t.t != T_IDENT)
        return unexpected(ps, &t, "a label key");
    if ((rc = req_start(&r, t.s, t.len)))
        return rc;
    peek(ps, &la);
    if (bang || la.t == T_END || la.t == T_COMMA) {
        r.op = bang ? OP_NOT_EXISTS : OP_EXISTS;
        return req_finish(ps->sel, &r);
    }
    next(ps, &t, false);
    switch (t.t) {
    case T_EQ:
    case T_DEQ:
        r.op = OP_EQ;
        break;
    case T_NEQ:
        r.op = OP_NE;
        break;
    case T_IN:
        r.op = OP_IN;
        break;
    case T_NOTIN:
        r.op = OP_NOTIN;
        break;
    case T_GT:
        r.op = OP_GT;
        break;
    case T_LT:
        r.op = OP_LT;
        break;
    default:
        rc = unexpected(ps, &t, "an operator (=, ==, !=, in, notin, >, <)");
        goto fail;
    }
    if (r.op == OP_IN || r.op == OP_NOTIN) {
        rc = parse_values(ps, &r);
    } else {
        peek(ps, &la);
        if (la.t == T_END || la.t == T_COMMA) {
            rc = req_add_value(&r, "", 0);
        } else {
            next(ps, &t, true);
            rc = t.t == T_IDENT ? req_add_value(&r, t.s, t.len) : unexpected(ps, &t, "a value");
        }
    }
    if (rc)
        goto fail;
    return req_finish(ps->sel, &r);
fail:
    req_release(&r);
    return rc;
}

static int parse_text(struct parser *ps)
{
    struct token t;
    int rc;
    peek(ps, &t);
    if (t.t == T_END)
        return 0;
    for (;;) {
        if (t.t != T_IDENT && t.t != T_BANG)
            return unexpected(ps, &t, "'!' or a label key");
        if ((rc = parse_requirement(ps)))
            return rc;
        next(ps, &t, true);
        if (t.t == T_END)
            return 0;
        if (t.t != T_COMMA)
            return unexpected(ps, &t, "',' or the end of the text");
        peek(ps, &t);
    }
}

int ks_selector_parse(struct ks_selector **out, const char *text)
{
    int rc = 0;
    size_t len = strlen(text);
    struct parser ps = {text, text, NULL};
    if (len > KS_SELECTOR_MAX_TEXT) {
        rc = ks_error_set(KS_ELIMIT, "label selector: longer than %d bytes", KS_SELECTOR_MAX_TEXT);
        goto done;
    }
    ps.sel = selector_new();
    if (!ps.sel) {
        rc = oom();
        goto done;
    }
    rc = parse_text(&ps);
    if (rc) {
        rc = ks_error_wrap(rc, "label selector \"%.*s%s\"", len > 200 ? 200 : (int)len, text,
                           len > 200 ? "..." : "");
        goto done;
    }
    selector_sort(ps.sel);
    *out = ps.sel;
    ps.sel = NULL;
done:
    ks_selector_free(ps.sel);
    return rc;
}

/* ---- JSON form --------------------------------------------------------- */

static int from_match_labels(struct ks_selector *sel, const json_t *root)
{
    json_t *ml = NULL, *v;
    const char *k;
    int rc = ks_json_get_object(&ml, root, "matchLabels", false);
    if (rc || !ml)
        return rc;
    json_object_foreach(ml, k, v)
    {
        struct req r;
        if (!json_is_string(v))
            return ks_error_set(KS_EINVALID, "matchLabels.%s: expected a string, got %s", k,
                                ks_json_type_name(v));
        if ((rc = req_start(&r, k, strlen(k))) ||
            (rc = req_add_value(&r, json_string_value(v), json_string_length(v)))) {
            req_release(&r);
            return rc;
        }
        r.op = OP_EQ;
        if ((rc = req_finish(sel, &r)))
            return ks_error_wrap(rc, "matchLabels");
    }
    return 0;
}

/* Checks that e has no fields but key, operator and values. */
static int expression_fields(const json_t *e, size_t idx)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)e, k, v)
    {
        if (strcmp(k, "key") && strcmp(k, "operator") && strcmp(k, "values"))
            return ks_error_set(KS_EINVALID,
                                "matchExpressions[%zu]: unknown field \"%s\" (expected key, "
                                "operator, values)",
                                idx, k);
    }
    return 0;
}

static int from_expression(struct ks_selector *sel, const json_t *root, size_t idx)
{
    static const struct {
        const char *name;
        enum op op;
    } ops[] = {
        {"In", OP_IN}, {"NotIn", OP_NOTIN}, {"Exists", OP_EXISTS}, {"DoesNotExist", OP_NOT_EXISTS}};
    char path[80];
    const char *key = NULL, *opname = NULL;
    json_t *e = NULL, *values = NULL;
    struct req r;
    size_t i, nops = sizeof(ops) / sizeof(ops[0]);
    int rc;
    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof(path), "matchExpressions[%zu]", idx);
    if ((rc = ks_json_get_object(&e, root, path, true)) || (rc = expression_fields(e, idx)))
        return rc;
    snprintf(path, sizeof(path), "matchExpressions[%zu].key", idx);
    if ((rc = ks_json_get_string(&key, root, path, true)))
        return rc;
    snprintf(path, sizeof(path), "matchExpressions[%zu].operator", idx);
    if ((rc = ks_json_get_string(&opname, root, path, true)))
        return rc;
    for (i = 0; i < nops && strcmp(opname, ops[i].name) != 0; i++)
        ;
    if (i == nops)
        return ks_error_set(KS_EINVALID,
                            "%s: \"%s\" is not a valid label selector operator (In, NotIn, "
                            "Exists, DoesNotExist)",
                            path, opname);
    if ((rc = req_start(&r, key, strlen(key))))
        return rc;
    r.op = ops[i].op;
    snprintf(path, sizeof(path), "matchExpressions[%zu].values", idx);
    if ((rc = ks_json_get_array(&values, root, path, false)))
        goto fail;
    for (i = 0; values && i < json_array_size(values); i++) {
        const char *v = NULL;
        snprintf(path, sizeof(path), "matchExpressions[%zu].values[%zu]", idx, i);
        if ((rc = ks_json_get_string(&v, root, path, true)) ||
            (rc = req_add_value(&r, v, strlen(v))))
            goto fail;
    }
    if ((rc = req_finish(sel, &r)))
        return ks_error_wrap(rc, "matchExpressions[%zu]", idx);
    return 0;
fail:
    req_release(&r);
    return rc;
}

int ks_selector_from_json(struct ks_selector **out, const json_t *js)
{
    struct ks_selector *sel = selector_new();
    json_t *exprs = NULL, *v;
    const char *k;
    int rc = 0;
    if (!sel) {
        rc = oom();
        goto done;
    }
    if (!js || json_is_null(js))
        goto ok;
    if (!json_is_object(js)) {
        rc = ks_error_set(KS_EINVALID, "expected an object, got %s", ks_json_type_name(js));
        goto fail;
    }
    json_object_foreach((json_t *)js, k, v)
    {
        if (strcmp(k, "matchLabels") && strcmp(k, "matchExpressions")) {
            rc = ks_error_set(KS_EINVALID,
                              "unknown field \"%s\" (expected matchLabels, matchExpressions)", k);
            goto fail;
        }
    }
    if ((rc = from_match_labels(sel, js)) ||
        (rc = ks_json_get_array(&exprs, js, "matchExpressions", false)))
        goto fail;
    for (size_t i = 0; exprs && i < json_array_size(exprs); i++)
        if ((rc = from_expression(sel, js, i)))
            goto fail;
ok:
    selector_sort(sel);
    *out = sel;
    sel = NULL;
    goto done;
fail:
    rc = ks_error_wrap(rc, "label selector");
done:
    ks_selector_free(sel);
    return rc;
}

/* ---- matching and printing --------------------------------------------- */

static bool has_value(const struct req *r, const char *v)
{
    size_t lo = 0, hi = r->nvalues;
    if (!v)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v, r->values[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

static bool req_matches(const struct req *r, const json_t *labels)
{
    const json_t *v = labels ? json_object_get(labels, r->key) : NULL;
    const char *s = v && json_is_string(v) ? json_string_value(v) : NULL;
    int64_t n;
    switch (r->op) {
    case OP_EQ:
    case OP_IN:
        return has_value(r, s);
    case OP_NE:
    case OP_NOTIN:
        return !has_value(r, s);
    case OP_EXISTS:
        return v != NULL;
    case OP_NOT_EXISTS:
        return v == NULL;
    case OP_GT:
        return s && parse_i64(&n, s) && n > r->number;
    case OP_LT:
        return s && parse_i64(&n, s) && n < r->number;
    }
    return false;
}

bool ks_selector_matches(const struct ks_selector *sel, const json_t *labels)
{
    for (size_t i = 0; i < sel->n; i++)
        if (!req_matches(&sel->reqs[i], labels))
            return false;
    return true;
}

bool ks_selector_is_empty(const struct ks_selector *sel)
{
    return sel->n == 0;
}

char *ks_selector_to_string(const struct ks_selector *sel)
{
    static const char *const opstr[] = {"=", "!=", " in (", " notin (", "", "", ">", "<"};
    struct ks_buf b;
    if (sel->n == 0)
        return strdup("");
    ks_buf_init(&b, 0);
    for (size_t i = 0; i < sel->n; i++) {
        const struct req *r = &sel->reqs[i];
        if (i)
            ks_buf_putc(&b, ',');
        if (r->op == OP_NOT_EXISTS)
            ks_buf_putc(&b, '!');
        ks_buf_puts(&b, r->key);
        ks_buf_puts(&b, opstr[r->op]);
        for (size_t j = 0; j < r->nvalues; j++) {
            if (j)
                ks_buf_putc(&b, ',');
            ks_buf_puts(&b, r->values[j]);
        }
        if (r->op == OP_IN || r->op == OP_NOTIN)
            ks_buf_putc(&b, ')');
    }
    return ks_buf_detach(&b, NULL);
}

/* ---- validation -------------------------------------------------------- */

int ks_label_key_validate(const char *key)
{
    const char *slash = strchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    int rc = 0;
    if (slash) {
        char prefix[KS_NAME_MAX_SUBDOMAIN + 1];
        size_t plen = (size_t)(slash - key);
        if (strchr(name, '/'))
            return ks_error_set(KS_EINVALID, "label key \"%s\": more than one '/'", key);
        if (plen == 0)
            return ks_error_set(KS_EINVALID, "label key \"%s\": the prefix before '/' is empty",
                                key);
        if (plen > KS_NAME_MAX_SUBDOMAIN)
            return ks_error_set(KS_EINVALID,
                                "label key \"%s\": prefix must be no more than %d characters "
                                "(is %zu)",
                                key, KS_NAME_MAX_SUBDOMAIN, plen);
        memcpy(prefix, key, plen);
        prefix[plen] = '\0';
        if ((rc = ks_name_validate(KS_NAME_DNS1123_SUBDOMAIN, "prefix", prefix)))
            return ks_error_wrap(rc, "label key \"%s\"", key);
    }
    if ((rc = ks_name_validate(KS_NAME_QUALIFIED, "name", name)))
        return ks_error_wrap(rc, "label key \"%s\"", key);
    return 0;
}

int ks_label_value_validate(const char *value)
{
    return ks_name_validate(KS_NAME_LABEL_VALUE, "label value", value);
}

int ks_labels_validate(const json_t *labels)
{
    const char *k;
    json_t *v;
    int rc;
    if (!json_is_object(labels))
        return ks_error_set(KS_EINVALID, "labels: expected an object, got %s",
                            ks_json_type_name(labels));
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!json_is_string(v))
            return ks_error_set(KS_EINVALID, "labels.%s: expected a string, got %s", k,
                                ks_json_type_name(v));
        if ((rc = ks_label_key_validate(k)) || (rc = ks_label_value_validate(json_string_value(v))))
            return ks_error_wrap(rc, "labels");
    }
    return 0;
}
