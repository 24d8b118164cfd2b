/*
 * yamledit.c: one value of a YAML manifest changed in place (yamledit.h).
 *
 * libyaml's events give every node's start and end byte offset. The stream
 * is read into a small tree of those spans (no values are converted), the
 * path is followed in it, and the text of the one value (or one new line)
 * is replaced; everything else of the file is copied byte for byte. The
 * result is then parsed with core/yaml.h and compared with the original
 * documents with the value set in JSON: an edit that would mean anything
 * else is refused, so a drift branch never carries a surprise.
 */
#include "reconciler/writeback/yamledit.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/yaml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 200
#define MAX_NODES 1000000u

enum ytype { Y_SCALAR, Y_MAP, Y_SEQ, Y_ALIAS };

struct ynode {
    enum ytype type;
    size_t start, end; /* byte offsets of the node's text */
    size_t line, col;  /* 0-based, of start */
    const char *value; /* scalar text (points into the tree's copy) */
    size_t vlen;
    bool plain, quoted, block_scalar, flow;
    size_t *kids; /* mapping: key, value, key, value...; sequence: items */
    size_t nkids, capkids;
};

struct ytree {
    struct ynode *nodes;
    size_t n, cap;
    size_t *docs; /* root node of each document (SIZE_MAX: empty) */
    size_t ndocs, capdocs;
    char **values; /* scalar copies */
    size_t nvalues, capvalues;
};

static void tree_free(struct ytree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->nodes[i].kids);
    for (size_t i = 0; i < t->nvalues; i++)
        free(t->values[i]);
    free(t->values);
    free(t->nodes);
    free(t->docs);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, c * size);
    if (!q)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *p = q;
    *cap = c;
    return 0;
}

static int add_node(size_t *out, struct ytree *t, enum ytype type, const yaml_event_t *ev)
{
    if (t->n >= MAX_NODES)
        return ks_error_set(KS_ELIMIT, "yamledit: more than %u nodes", MAX_NODES);
    int rc = grow((void **)&t->nodes, &t->cap, t->n, sizeof *t->nodes);
    if (rc)
        return rc;
    struct ynode *y = &t->nodes[t->n];
    memset(y, 0, sizeof *y);
    y->type = type;
    y->start = ev->start_mark.index;
    y->end = ev->end_mark.index;
    y->line = ev->start_mark.line;
    y->col = ev->start_mark.column;
    *out = t->n++;
    return 0;
}

static int add_kid(struct ytree *t, size_t parent, size_t kid)
{
    struct ynode *y = &t->nodes[parent];
    int rc = grow((void **)&y->kids, &y->capkids, y->nkids, sizeof *y->kids);
    if (rc == 0)
        y->kids[y->nkids++] = kid;
    return rc;
}

static int next_event(yaml_parser_t *p, yaml_event_t *ev)
{
    if (!yaml_parser_parse(p, ev))
        return ks_error_set(KS_EINVALID, "yamledit: line %zu: %s", p->problem_mark.line + 1,
                            p->problem ? p->problem : "cannot parse");
    return 0;
}

/* Reads the node that starts with ev (consumed by the caller afterwards). */
static int read_node(size_t *out, struct ytree *t, yaml_parser_t *p, const yaml_event_t *ev,
                     unsigned depth)
{
    size_t idx;
    int rc;
    if (depth > MAX_DEPTH)
        return ks_error_set(KS_ELIMIT, "yamledit: nesting deeper than %d", MAX_DEPTH);
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if ((rc = add_node(&idx, t, Y_SCALAR, ev)))
            return rc;
        if ((rc = grow((void **)&t->values, &t->capvalues, t->nvalues, sizeof *t->values)))
            return rc;
        char *v = malloc(ev->data.scalar.length + 1);
        if (!v)
            return ks_error_set(KS_ENOMEM, "out of memory");
        memcpy(v, ev->data.scalar.value, ev->data.scalar.length);
        v[ev->data.scalar.length] = '\0';
        t->values[t->nvalues++] = v;
        struct ynode *y = &t->nodes[idx];
        y->value = v;
        y->vlen = ev->data.scalar.length;
        y->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        y->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        y->block_scalar = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                          ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        break;
    }
    case YAML_ALIAS_EVENT:
        if ((rc = add_node(&idx, t, Y_ALIAS, ev)))
            return rc;
        break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        if ((rc = add_node(&idx, t, map ? Y_MAP : Y_SEQ, ev)))
            return rc;
        t->nodes[idx].flow = map ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                                 : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        for (;;) {
            yaml_event_t e;
            if ((rc = next_event(p, &e)))
                return rc;
            if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
                t->nodes[idx].end = e.end_mark.index;
                yaml_event_delete(&e);
                break;
            }
            size_t kid = 0;
            rc = read_node(&kid, t, p, &e, depth + 1);
            yaml_event_delete(&e);
            if (rc || (rc = add_kid(t, idx, kid)))
                return rc;
        }
        break;
    }
    default:
        return ks_error_set(KS_EINVALID, "yamledit: unexpected event %d", (int)ev->type);
    }
    *out = idx;
    return 0;
}

static int read_tree(struct ytree *t, const char *text, size_t len)
{
    yaml_parser_t p;
    int rc = 0;
    if (!yaml_parser_initialize(&p))
        return ks_error_set(KS_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t e;
        if ((rc = next_event(&p, &e)))
            break;
        switch (e.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT: {
            yaml_event_t r;
            if ((rc = next_event(&p, &r)))
                break;
            size_t root = SIZE_MAX;
            if (r.type != YAML_DOCUMENT_END_EVENT) {
                rc = read_node(&root, t, &p, &r, 0);
                yaml_event_delete(&r);
                yaml_event_t end;
                if (rc == 0 && (rc = next_event(&p, &end)) == 0)
                    yaml_event_delete(&end);
            } else {
                yaml_event_delete(&r);
            }
            if (rc == 0 && (rc = grow((void **)&t->docs, &t->capdocs, t->ndocs, sizeof *t->docs)))
                break;
            if (rc == 0)
                t->docs[t->ndocs++] = root;
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* Where the node's own text ends: block collections end where the next
 * token starts (after newlines and comments), so their last item decides. */
static size_t content_end(const struct ytree *t, const char *text, size_t i)
{
    const struct ynode *y = &t->nodes[i];
    if ((y->type == Y_MAP || y->type == Y_SEQ) && !y->flow && y->nkids)
        return content_end(t, text, y->kids[y->nkids - 1]);
    size_t e = y->end;
    if (y->block_scalar)
        while (e > y->start && strchr(" \t\r\n", text[e - 1]))
            e--;
    return e;
}

static bool scalar_is(const struct ynode *y, const char *s)
{
    return y->type == Y_SCALAR && y->vlen == strlen(s) && memcmp(y->value, s, y->vlen) == 0;
}

/* The sequence item (a mapping) whose members equal those of sel. */
static bool item_matches(const struct ytree *t, const struct ynode *item, const json_t *sel)
{
    const char *k;
    json_t *v;
    if (item->type != Y_MAP)
        return false;
    json_object_foreach((json_t *)sel, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i + 1 < item->nkids && !ok; i += 2)
            ok = scalar_is(&t->nodes[item->kids[i]], k) && json_is_string(v) &&
                 scalar_is(&t->nodes[item->kids[i + 1]], json_string_value(v));
        if (!ok)
            return false;
    }
    return true;
}

/* JSON side: the element a step selects, or NULL. */
static json_t *json_step(json_t *cur, const json_t *step)
{
    if (json_is_string(step))
        return json_object_get(cur, json_string_value(step));
    if (json_is_integer(step))
        return json_array_get(cur, (size_t)json_integer_value(step));
    size_t i;
    json_t *item;
    json_array_foreach(cur, i, item)
    {
        const char *k;
        json_t *v;
        bool ok = json_is_object(item);
        json_object_foreach((json_t *)step, k, v) ok =
            ok && json_equal(json_object_get(item, k), v);
        if (ok)
            return item;
    }
    return NULL;
}

/* Sets path in doc (JSON): the meaning the edited text must have. */
static int json_set_path(json_t *doc, const json_t *path, const json_t *value)
{
    json_t *cur = doc;
    size_t n = json_array_size(path);
    for (size_t i = 0; i + 1 < n; i++)
        if (!(cur = json_step(cur, json_array_get(path, i))))
            return KS_ENOTFOUND;
    const json_t *last = json_array_get(path, n - 1);
    if (json_is_string(last))
        return json_object_set_new(cur, json_string_value(last), json_deep_copy(value)) ? KS_ENOMEM
                                                                                        : 0;
    if (json_is_integer(last))
        return json_array_set_new(cur, (size_t)json_integer_value(last), json_deep_copy(value))
                   ? KS_ENOTFOUND
                   : 0;
    size_t i;
    json_t *item;
    json_array_foreach(cur, i, item)
    {
        if (item == json_step(cur, last))
            return json_array_set_new(cur, i, json_deep_copy(value)) ? KS_ENOMEM : 0;
    }
    return KS_ENOTFOUND;
}

/* A scalar's text: plain when it reads back as the same value. */
static int render_scalar(struct ks_buf *b, const json_t *value, bool force_quotes)
{
    char *dump = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!dump)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = 0;
    if (json_is_string(value) && !force_quotes) {
        const char *s = json_string_value(value);
        json_t *back = NULL;
        bool plain = *s && !strpbrk(s, "\n\r\t#\"'") && s[0] != ' ' && s[strlen(s) - 1] != ' ' &&
                     ks_yaml_parse_one(&back, s, strlen(s), NULL) == 0 && json_equal(back, value);
        json_decref(back);
        rc = ks_buf_puts(b, plain ? s : dump);
    } else {
        rc = ks_buf_puts(b, dump);
    }
    free(dump);
    return rc;
}

static int render_flow(struct ks_buf *b, const json_t *value)
{
    char *dump = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!dump)
        return ks_error_set(KS_ENOMEM, "out of memory");
    /* ", " and ": " read better than JSON's compact form in a manifest */
    for (const char *p = dump; *p; p++) {
        ks_buf_putc(b, *p);
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                ks_buf_putc(b, *p);
                if (*p == '\\' && p[1])
                    ks_buf_putc(b, *++p);
            }
            if (*p)
                ks_buf_putc(b, *p);
            else
                break;
        } else if (*p == ',' || *p == ':') {
            ks_buf_putc(b, ' ');
        }
    }
    free(dump);
    return ks_buf_error(b);
}

struct edit {
    size_t from, to; /* replaced span */
    struct ks_buf text;
};

/* Finds what to replace. */
static int plan_edit(struct edit *ed, const struct ytree *t, const char *text, size_t len,
                     size_t root, const json_t *path, const json_t *value)
{
    size_t cur = root, n = json_array_size(path);
    if (n == 0)
        return ks_error_set(KS_EINVALID, "yamledit: empty path");
    for (size_t s = 0; s < n; s++) {
        const json_t *step = json_array_get(path, s);
        const struct ynode *y = &t->nodes[cur];
        bool last = s + 1 == n;
        if (y->type == Y_ALIAS)
            return ks_error_set(KS_EINVALID, "yamledit: line %zu: an alias is not edited in place",
                                y->line + 1);
        size_t found = SIZE_MAX, key = SIZE_MAX;
        if (json_is_string(step)) {
            if (y->type != Y_MAP)
                return ks_error_set(KS_ENOTFOUND, "yamledit: line %zu: \"%s\" is not in a mapping",
                                    y->line + 1, json_string_value(step));
            for (size_t i = 0; i + 1 < y->nkids && found == SIZE_MAX; i += 2)
                if (scalar_is(&t->nodes[y->kids[i]], json_string_value(step))) {
                    key = y->kids[i];
                    found = y->kids[i + 1];
                }
            if (found == SIZE_MAX && last) {
                /* insert "key: value" after the mapping's first entry */
                if (y->flow || y->nkids < 2)
                    return ks_error_set(KS_EINVALID,
                                        "yamledit: line %zu: cannot add \"%s\" to a flow or "
                                        "empty mapping",
                                        y->line + 1, json_string_value(step));
                const struct ynode *k0 = &t->nodes[y->kids[0]];
                size_t vend = content_end(t, text, y->kids[1]);
                const char *nl = memchr(text + vend, '\n', len - vend);
                for (size_t i = k0->start; i < vend; i++)
                    if (text[i] == '\n')
                        return ks_error_set(KS_EINVALID,
                                            "yamledit: line %zu: cannot add \"%s\" after a "
                                            "multi-line entry",
                                            k0->line + 1, json_string_value(step));
                ed->from = ed->to = nl ? (size_t)(nl - text) + 1 : len;
                if (!nl)
                    ks_buf_putc(&ed->text, '\n');
                for (size_t i = 0; i < k0->col; i++)
                    ks_buf_putc(&ed->text, ' ');
                render_scalar(&ed->text, step, false);
                ks_buf_puts(&ed->text, ": ");
                if (json_is_array(value) || json_is_object(value))
                    render_flow(&ed->text, value);
                else
                    render_scalar(&ed->text, value, false);
                ks_buf_putc(&ed->text, '\n');
                return ks_buf_error(&ed->text);
            }
        } else if (json_is_integer(step) || json_is_object(step)) {
            if (y->type != Y_SEQ)
                return ks_error_set(KS_ENOTFOUND, "yamledit: line %zu: not a sequence",
                                    y->line + 1);
            if (json_is_integer(step)) {
                json_int_t i = json_integer_value(step);
                if (i >= 0 && (size_t)i < y->nkids)
                    found = y->kids[i];
            } else {
                for (size_t i = 0; i < y->nkids && found == SIZE_MAX; i++)
                    if (item_matches(t, &t->nodes[y->kids[i]], step))
                        found = y->kids[i];
            }
        } else {
            return ks_error_set(KS_EINVALID, "yamledit: a path step must be a key, an index or "
                                             "a selector object");
        }
        if (found == SIZE_MAX) {
            char *d = json_dumps(step, JSON_ENCODE_ANY | JSON_COMPACT);
            int rc = ks_error_set(KS_ENOTFOUND, "yamledit: line %zu: %s not found", y->line + 1,
                                  d ? d : "step");
            free(d);
            return rc;
        }
        if (!last) {
            cur = found;
            continue;
        }
        const struct ynode *v = &t->nodes[found];
        if (v->type == Y_ALIAS)
            return ks_error_set(KS_EINVALID, "yamledit: line %zu: an alias is not edited in place",
                                v->line + 1);
        bool scalar_value = !json_is_array(value) && !json_is_object(value);
        bool empty = v->type == Y_SCALAR && v->plain && v->vlen == 0;
        if (scalar_value && v->type == Y_SCALAR && !empty) {
            ed->from = v->start;
            ed->to = content_end(t, text, found);
            render_scalar(&ed->text, value, v->quoted);
            return ks_buf_error(&ed->text);
        }
        if (key != SIZE_MAX) {
            /* "key: <value>" from the end of the key on */
            const struct ynode *k = &t->nodes[key];
            ed->from = k->end;
            if (empty) {
                const char *colon = memchr(text + k->end, ':', len - k->end);
                if (!colon)
                    return ks_error_set(KS_EINVALID, "yamledit: line %zu: no ':' after the key",
                                        k->line + 1);
                ed->to = (size_t)(colon - text) + 1;
            } else {
                ed->to = content_end(t, text, found);
            }
            ks_buf_puts(&ed->text, ": ");
        } else {
            ed->from = v->start;
            ed->to = content_end(t, text, found);
        }
        if (scalar_value)
            render_scalar(&ed->text, value, false);
        else
            render_flow(&ed->text, value);
        return ks_buf_error(&ed->text);
    }
    return ks_error_set(KS_EINVALID, "yamledit: nothing to edit");
}

int ks_yamledit_set(char **out, size_t *out_len, int *out_changed, const char *text, size_t len,
                    int doc_line, const json_t *path, const json_t *value)
{
    struct ytree t = {0};
    struct edit ed = {0};
    json_t *docs = NULL, *after = NULL;
    char *result = NULL;
    int rc = 0;
    ks_buf_init(&ed.text, KS_YAMLEDIT_MAX_BYTES);
    if (len > KS_YAMLEDIT_MAX_BYTES)
        return ks_error_set(KS_ELIMIT, "yamledit: file of %zu bytes, over the limit of %u", len,
                            KS_YAMLEDIT_MAX_BYTES);
    if (!json_is_array(path) || !value)
        return ks_error_set(KS_EINVALID, "yamledit: a path (array) and a value are needed");
    struct ks_yaml_parse_opts po = {.max_bytes = KS_YAMLEDIT_MAX_BYTES};
    if ((rc = ks_yaml_parse_stream(&docs, text, len, &po)) || (rc = read_tree(&t, text, len)))
        goto done;
    if (t.ndocs != json_array_size(docs)) {
        rc = ks_error_set(KS_EINVALID, "yamledit: %zu documents read, %zu expected", t.ndocs,
                          json_array_size(docs));
        goto done;
    }
    /* the document whose root starts on doc_line (else the last one before) */
    size_t doc = SIZE_MAX;
    for (size_t i = 0; i < t.ndocs; i++) {
        if (t.docs[i] == SIZE_MAX)
            continue;
        if (doc == SIZE_MAX || (int)t.nodes[t.docs[i]].line + 1 <= doc_line)
            doc = i;
        if ((int)t.nodes[t.docs[i]].line + 1 >= doc_line)
            break;
    }
    if (doc == SIZE_MAX) {
        rc = ks_error_set(KS_ENOTFOUND, "yamledit: no document");
        goto done;
    }
    json_t *want = json_array_get(docs, doc);
    json_t *cur = want;
    for (size_t i = 0; cur && i + 1 < json_array_size(path); i++)
        cur = json_step(cur, json_array_get(path, i));
    json_t *have = cur ? json_step(cur, json_array_get(path, json_array_size(path) - 1)) : NULL;
    if (have && json_equal(have, value)) {
        if (!(result = malloc(len + 1))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(result, text, len);
        result[len] = '\0';
        *out = result;
        *out_len = len;
        if (out_changed)
            *out_changed = 0;
        result = NULL;
        goto done;
    }
    if ((rc = plan_edit(&ed, &t, text, len, t.docs[doc], path, value)))
        goto done;
    struct ks_buf b;
    ks_buf_init(&b, KS_YAMLEDIT_MAX_BYTES);
    ks_buf_put(&b, text, ed.from);
    ks_buf_put(&b, ks_buf_data(&ed.text), ks_buf_len(&ed.text));
    ks_buf_put(&b, text + ed.to, len - ed.to);
    if ((rc = ks_buf_error(&b))) {
        ks_buf_release(&b);
        rc = ks_error_set(KS_ELIMIT, "yamledit: the edited file is over %u bytes",
                          KS_YAMLEDIT_MAX_BYTES);
        goto done;
    }
    size_t rlen = 0;
    result = ks_buf_detach(&b, &rlen);
    /* the edit must mean exactly "set this value", nothing else */
    if ((rc = json_set_path(want, path, value)) == KS_ENOTFOUND) {
        rc = ks_error_set(KS_ENOTFOUND, "yamledit: the path is not in the document");
        goto done;
    } else if (rc) {
        rc = ks_error_set(rc, "out of memory");
        goto done;
    }
    if (ks_yaml_parse_stream(&after, result, rlen, &po) || !json_equal(after, docs)) {
        rc = ks_error_set(KS_EINVALID,
                          "yamledit: the edited text would not mean the intended change; "
                          "not edited");
        goto done;
    }
    *out = result;
    *out_len = rlen;
    if (out_changed)
        *out_changed = 1;
    result = NULL;
done:
    free(result);
    ks_buf_release(&ed.text);
    json_decref(docs);
    json_decref(after);
    tree_free(&t);
    return rc;
}
