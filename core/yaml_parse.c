/*
 * yaml_parse.c: YAML text -> jansson trees, driven by libyaml's event API.
 *
 * Events are folded into trees with an explicit stack of open containers
 * (no recursion, so depth is bounded by a limit rather than the C stack).
 * Aliases are expanded into deep copies, so the result is a plain tree that
 * callers may mutate; every copied node is counted against the alias limit,
 * which makes "billion laughs" documents fail early instead of exhausting
 * memory. Merge keys (<<) are applied as they are met: merged members never
 * replace members already present, and explicit members written after the
 * merge replace merged ones without counting as duplicates. Anchors are
 * scoped to their document. Scalar typing is delegated to the resolver.
 * Positions of a container's children are collected in its stack frame and
 * handed to the position table in one call when the container ends (see
 * yaml_positions.c for why). Equal short strings share one json_t.
 */
#include "core/yaml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A child's position, kept until its container is complete. */
struct pending {
    size_t key_off; /* into the frame's pend_keys */
    size_t key_len;
    int line;
    int column;
};

struct frame {
    json_t *node; /* object or array being filled */
    struct ks_pos pos;
    size_t nodes;  /* nodes in this subtree so far, itself included */
    char *anchor;  /* owned; bound when the container is complete */
    bool have_key; /* mappings: a key is waiting for its value */
    bool key_is_merge;
    char *key; /* owned, reused between keys; key_cap bytes */
    size_t key_len;
    size_t key_cap;
    struct ks_pos key_pos;
    json_t *merged;       /* keys that came from merges (may be overridden) */
    struct pending *pend; /* positions of the children, when recording */
    size_t npend, pend_cap;
    struct ks_buf pend_keys; /* key bytes of pend[] */
};

struct parser {
    yaml_parser_t yp;
    const char *text; /* the input, for positions of encoding errors */
    const char *file;
    unsigned max_depth;
    size_t max_alias_nodes;
    unsigned max_documents;
    ks_yaml_resolver resolver;
    void *resolver_ctx;
    bool allow_duplicate_keys;
    struct ks_yaml_positions *positions;

    struct frame *stack; /* stack_cap entries, grown on demand up to max_depth */
    unsigned stack_cap;
    unsigned depth;
    json_t *anchors; /* name -> [value, nodes, text-or-null] */
    size_t alias_nodes;
    json_t *docs;
    json_t *root;
    struct ks_pos root_pos;
    struct frame roots;                /* positions of the document roots */
    struct ks_yaml_child_pos *scratch; /* reused by flush_positions */
    size_t scratch_cap;
    bool share_strings;
    json_t **shared; /* open-addressing set of short strings, shared_cap slots */
    size_t nshared, shared_cap;
};

#define SHARED_MAX_LEN 64       /* longer strings are rarely repeated */
#define SHARED_MAX_COUNT 12288u /* the set stops growing at 16384 slots */

static uint32_t string_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static json_t **shared_slot(json_t **slots, size_t cap, const char *s, size_t len)
{
    size_t mask = cap - 1;
    for (size_t i = string_hash(s, len) & mask;; i = (i + 1) & mask) {
        json_t *v = slots[i];
        if (!v || (json_string_length(v) == len && memcmp(json_string_value(v), s, len) == 0))
            return &slots[i];
    }
}

/* Equal short strings become one shared json_t: manifests repeat values
 * ("TCP", "IfNotPresent", label values) so much that this saves about a
 * sixth of the tree's memory. Consumes v; returns the value to use. */
static json_t *share_string(struct parser *p, json_t *v)
{
    if (!p->share_strings || !json_is_string(v) || json_string_length(v) > SHARED_MAX_LEN)
        return v;
    if ((p->nshared + 1) * 4 > p->shared_cap * 3 && p->nshared < SHARED_MAX_COUNT) {
        size_t cap = p->shared_cap ? p->shared_cap * 2 : 1024;
        json_t **slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return v; /* not sharing is fine */
        for (size_t i = 0; i < p->shared_cap; i++)
            if (p->shared[i])
                *shared_slot(slots, cap, json_string_value(p->shared[i]),
                             json_string_length(p->shared[i])) = p->shared[i];
        free(p->shared);
        p->shared = slots;
        p->shared_cap = cap;
    }
    json_t **slot =
        shared_slot(p->shared, p->shared_cap, json_string_value(v), json_string_length(v));
    if (*slot) {
        json_decref(v);
        return json_incref(*slot);
    }
    if (p->nshared >= SHARED_MAX_COUNT)
        return v; /* full: repeats are shared, new strings no longer tracked */
    *slot = json_incref(v);
    p->nshared++;
    return v;
}

static void shared_release(struct parser *p)
{
    for (size_t i = 0; i < p->shared_cap; i++)
        json_decref(p->shared[i]);
    free(p->shared);
}

static struct ks_pos mark_pos(const struct parser *p, yaml_mark_t mark)
{
    struct ks_pos pos = {p->file, (int)mark.line + 1, (int)mark.column + 1};
    return pos;
}

static int libyaml_error(const struct parser *p)
{
    const yaml_parser_t *yp = &p->yp;
    struct ks_pos pos = mark_pos(p, yp->problem_mark);
    const char *problem = yp->problem ? yp->problem : "unknown YAML error";
    if (yp->error == YAML_MEMORY_ERROR)
        return ks_error_set(KS_ENOMEM, "out of memory parsing YAML");
    if (yp->error == YAML_READER_ERROR) {
        /* reader errors carry a byte offset, not a mark: count lines */
        pos.line = 1;
        pos.column = 1;
        for (size_t i = 0; i < yp->problem_offset; i++) {
            pos.column++;
            if (p->text[i] == '\n') {
                pos.line++;
                pos.column = 1;
            }
        }
        return ks_error_set_at(KS_EINVALID, &pos, "%s (byte offset %zu)", problem,
                               yp->problem_offset);
    }
    if (yp->context)
        return ks_error_set_at(KS_EINVALID, &pos, "%s (%s started at line %d column %d)", problem,
                               yp->context, (int)yp->context_mark.line + 1,
                               (int)yp->context_mark.column + 1);
    return ks_error_set_at(KS_EINVALID, &pos, "%s", problem);
}

static int nomem(void)
{
    return ks_error_set(KS_ENOMEM, "out of memory building a YAML tree");
}

/* Notes the position of the next child of f (key NULL for arrays). */
static int record(struct parser *p, struct frame *f, const char *key, size_t key_len,
                  const struct ks_pos *pos)
{
    if (!p->positions)
        return 0;
    if (f->npend == f->pend_cap) {
        size_t cap = f->pend_cap ? f->pend_cap * 2 : 16;
        struct pending *pend = realloc(f->pend, cap * sizeof(*pend));
        if (!pend)
            return nomem();
        f->pend = pend;
        f->pend_cap = cap;
    }
    struct pending *e = &f->pend[f->npend];
    e->key_off = ks_buf_len(&f->pend_keys);
    e->key_len = key_len;
    e->line = pos->line;
    e->column = pos->column;
    if (key && ks_buf_put(&f->pend_keys, key, key_len) != 0)
        return ks_buf_error(&f->pend_keys);
    f->npend++;
    return 0;
}

/* Hands the positions noted in f to the table as those of container. */
static int flush_positions(struct parser *p, struct frame *f, const json_t *container)
{
    if (!p->positions)
        return 0;
    if (f->npend > p->scratch_cap) {
        struct ks_yaml_child_pos *s = realloc(p->scratch, f->npend * sizeof(*s));
        if (!s)
            return nomem();
        p->scratch = s;
        p->scratch_cap = f->npend;
    }
    for (size_t i = 0; i < f->npend; i++) {
        p->scratch[i].key = f->pend_keys.data ? f->pend_keys.data + f->pend[i].key_off : "";
        p->scratch[i].key_len = f->pend[i].key_len;
        p->scratch[i].line = f->pend[i].line;
        p->scratch[i].column = f->pend[i].column;
    }
    bool is_object = container && json_is_object(container);
    return ks_yaml_positions_set_children(p->positions, container, is_object, p->file, p->scratch,
                                          f->npend);
}

static void pending_reset(struct frame *f)
{
    f->npend = 0;
    ks_buf_reset(&f->pend_keys);
}

static void pending_release(struct frame *f)
{
    free(f->pend);
    f->pend = NULL;
    f->npend = f->pend_cap = 0;
    ks_buf_release(&f->pend_keys);
}

/* Deep copy of an anchored value that also copies the positions of its
 * descendants, so errors about expanded nodes point at the anchor's text. */
static json_t *copy_tree(struct parser *p, json_t *src)
{
    json_t *dst = NULL;
    struct ks_yaml_child_pos *pos = NULL;
    size_t n = 0;
    struct ks_pos at;
    if (json_is_object(src)) {
        dst = json_object();
        pos = p->positions ? calloc(json_object_size(src) + 1, sizeof(*pos)) : NULL;
        const char *key;
        size_t key_len;
        json_t *v;
        json_object_keylen_foreach(src, key, key_len, v)
        {
            json_t *c = dst ? copy_tree(p, v) : NULL;
            if (!c || json_object_setn_new_nocheck(dst, key, key_len, c) != 0)
                goto fail;
            if (pos && ks_yaml_position_of_membern(&at, p->positions, src, key, key_len) == 0)
                pos[n++] = (struct ks_yaml_child_pos){key, key_len, at.line, at.column};
        }
    } else if (json_is_array(src)) {
        dst = json_array();
        pos = p->positions ? calloc(json_array_size(src) + 1, sizeof(*pos)) : NULL;
        for (size_t i = 0; dst && i < json_array_size(src); i++) {
            json_t *c = copy_tree(p, json_array_get(src, i));
            if (!c || json_array_append_new(dst, c) != 0)
                goto fail;
            if (pos && ks_yaml_position_of_index(&at, p->positions, src, i) != 0)
                at = (struct ks_pos){NULL, 0, 0};
            if (pos)
                pos[n++] = (struct ks_yaml_child_pos){NULL, 0, at.line, at.column};
        }
    } else {
        return json_copy(src); /* scalars: a fresh value (singletons stay shared) */
    }
    if (!dst || (p->positions && !pos))
        goto fail;
    if (p->positions &&
        ks_yaml_positions_set_children(p->positions, dst, json_is_object(dst), p->file, pos, n))
        goto fail;
    free(pos);
    return dst;
fail:
    free(pos);
    json_decref(dst);
    return NULL;
}

static void frame_release(struct frame *f)
{
    json_decref(f->node);
    json_decref(f->merged);
    free(f->anchor);
    f->node = NULL;
    f->merged = NULL;
    f->anchor = NULL;
}

static int bind_anchor(struct parser *p, const char *name, json_t *value, size_t nodes,
                       const char *text)
{
    json_t *entry = json_pack("[OIs?]", value, (json_int_t)nodes, text);
    if (!entry || json_object_set_new(p->anchors, name, entry) != 0)
        return nomem();
    return 0;
}

static int merge_one(struct parser *p, struct frame *f, json_t *src, const struct ks_pos *pos)
{
    const char *key;
    size_t key_len;
    json_t *v;
    if (!json_is_object(src))
        return ks_error_set_at(KS_EINVALID, pos,
                               "YAML merge key '<<' needs a mapping or a list of mappings");
    json_object_keylen_foreach(src, key, key_len, v)
    {
        if (json_object_getn(f->node, key, key_len))
            continue;
        if (!f->merged && !(f->merged = json_object()))
            return nomem();
        if (json_object_setn_nocheck(f->node, key, key_len, v) != 0 ||
            json_object_setn_nocheck(f->merged, key, key_len, json_true()) != 0)
            return nomem();
        struct ks_pos mpos;
        if (ks_yaml_position_of_membern(&mpos, p->positions, src, key, key_len) == 0) {
            int rc = record(p, f, key, key_len, &mpos);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int merge_value(struct parser *p, struct frame *f, json_t *v, const struct ks_pos *pos)
{
    if (!json_is_array(v))
        return merge_one(p, f, v, pos);
    for (size_t i = 0; i < json_array_size(v); i++) {
        int rc = merge_one(p, f, json_array_get(v, i), pos);
        if (rc)
            return rc;
    }
    return 0;
}

static int set_member(struct parser *p, struct frame *f, json_t *v)
{
    /* set first, then look at the size: saves a lookup per key; on a
     * duplicate the parse fails anyway, so the replaced value is moot */
    size_t before = json_object_size(f->node);
    json_incref(v);
    if (json_object_setn_new_nocheck(f->node, f->key, f->key_len, v) != 0)
        return nomem();
    if (json_object_size(f->node) == before) {
        if (f->merged && json_object_getn(f->merged, f->key, f->key_len))
            json_object_deln(f->merged, f->key, f->key_len);
        else if (!p->allow_duplicate_keys)
            return ks_error_set_at(KS_EINVALID, &f->key_pos, "duplicate YAML mapping key '%.80s'",
                                   f->key);
    }
    return record(p, f, f->key, f->key_len, &f->key_pos);
}

/* Hands a finished value (new reference, consumed) to its parent. */
static int add_value(struct parser *p, json_t *v, size_t nodes, const struct ks_pos *pos)
{
    int rc = 0;
    if (p->depth == 0) {
        json_decref(p->root);
        p->root = v;
        p->root_pos = *pos;
        return 0;
    }
    struct frame *f = &p->stack[p->depth - 1];
    f->nodes += nodes;
    if (json_is_array(f->node)) {
        if (json_array_append(f->node, v) != 0)
            rc = nomem();
        else
            rc = record(p, f, NULL, 0, pos);
    } else if (f->key_is_merge) {
        rc = merge_value(p, f, v, pos);
    } else {
        rc = set_member(p, f, v);
    }
    f->have_key = false;
    json_decref(v);
    return rc;
}

static int set_key(struct frame *f, const char *text, size_t len, const struct ks_pos *pos,
                   bool is_merge)
{
    if (memchr(text, '\0', len))
        return ks_error_set_at(KS_EINVALID, pos, "YAML mapping key contains a NUL character");
    if (len + 1 > f->key_cap) {
        size_t cap = len + 1 < 64 ? 64 : len + 1;
        char *k = realloc(f->key, cap);
        if (!k)
            return nomem();
        f->key = k;
        f->key_cap = cap;
    }
    memcpy(f->key, text, len);
    f->key[len] = '\0';
    f->key_len = len;
    f->key_pos = *pos;
    f->key_is_merge = is_merge;
    f->have_key = true;
    return 0;
}

static bool expecting_key(const struct parser *p)
{
    if (p->depth == 0)
        return false;
    const struct frame *f = &p->stack[p->depth - 1];
    return json_is_object(f->node) && !f->have_key;
}

static int on_scalar(struct parser *p, const yaml_event_t *ev)
{
    struct ks_yaml_scalar sc = {
        .text = (const char *)ev->data.scalar.value,
        .len = ev->data.scalar.length,
        .tag = (const char *)ev->data.scalar.tag,
        .plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
        .is_key = expecting_key(p),
        .pos = mark_pos(p, ev->start_mark),
    };
    const char *anchor = (const char *)ev->data.scalar.anchor;
    json_t *v = NULL;
    int rc = 0;
    if (sc.is_key && !sc.tag && p->resolver == ks_yaml_resolve_core) {
        /* fast path: an untagged key is its text under the core schema */
    } else {
        v = p->resolver(p->resolver_ctx, &sc);
        if (!v) {
            rc = ks_error_last_code() ? ks_error_last_code() : KS_EINVALID;
            goto done;
        }
    }
    if (sc.is_key) {
        struct frame *f = &p->stack[p->depth - 1];
        bool merge = sc.plain && !sc.tag && sc.len == 2 && memcmp(sc.text, "<<", 2) == 0;
        if (v && json_is_string(v))
            rc = set_key(f, json_string_value(v), json_string_length(v), &sc.pos, merge);
        else
            rc = set_key(f, sc.text, sc.len, &sc.pos, merge);
        if (rc == 0 && anchor) {
            json_t *s = json_stringn_nocheck(f->key, f->key_len);
            rc = s ? bind_anchor(p, anchor, s, 1, f->key) : nomem();
            json_decref(s);
        }
        goto done;
    }
    v = share_string(p, v);
    if (anchor && (rc = bind_anchor(p, anchor, v, 1, sc.text)) != 0)
        goto done;
    rc = add_value(p, v, 1, &sc.pos);
    v = NULL;
done:
    json_decref(v);
    return rc;
}

static int on_alias(struct parser *p, const yaml_event_t *ev)
{
    struct ks_pos pos = mark_pos(p, ev->start_mark);
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *entry = json_object_get(p->anchors, name);
    if (!entry)
        return ks_error_set_at(KS_EINVALID, &pos, "YAML alias '*%.60s' names no anchor", name);
    json_t *value = json_array_get(entry, 0);
    size_t nodes = (size_t)json_integer_value(json_array_get(entry, 1));
    if (expecting_key(p)) {
        struct frame *f = &p->stack[p->depth - 1];
        const char *text = json_string_value(json_array_get(entry, 2));
        if (json_is_object(value) || json_is_array(value))
            return ks_error_set_at(KS_EINVALID, &pos,
                                   "YAML mapping keys must be scalars (alias to a collection)");
        if (text)
            return set_key(f, text, strlen(text), &pos, false);
        char *dumped = json_dumps(value, JSON_ENCODE_ANY);
        int rc = dumped ? set_key(f, dumped, strlen(dumped), &pos, false) : nomem();
        free(dumped);
        return rc;
    }
    if (nodes > p->max_alias_nodes - p->alias_nodes)
        return ks_error_set_at(KS_ELIMIT, &pos, "YAML alias expansion limit of %zu nodes exceeded",
                               p->max_alias_nodes);
    p->alias_nodes += nodes;
    json_t *copy = copy_tree(p, value);
    if (!copy)
        return nomem();
    return add_value(p, copy, nodes, &pos);
}

static int check_collection_tag(const char *tag, const char *want, const struct ks_pos *pos)
{
    if (!tag || strcmp(tag, "!") == 0)
        return 0;
    const char *prefix = "tag:yaml.org,2002:";
    size_t plen = strlen(prefix);
    if (strncmp(tag, prefix, plen) == 0 && strcmp(tag + plen, want) == 0)
        return 0;
    return ks_error_set_at(KS_EINVALID, pos, "YAML tag '%.60s' not allowed on a %s", tag,
                           strcmp(want, "map") == 0 ? "mapping" : "sequence");
}

static int on_start(struct parser *p, const yaml_event_t *ev, bool mapping)
{
    struct ks_pos pos = mark_pos(p, ev->start_mark);
    const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (expecting_key(p))
        return ks_error_set_at(KS_EINVALID, &pos,
                               "YAML mapping keys must be scalars (found a %s as a key)",
                               mapping ? "mapping" : "sequence");
    if (p->depth >= p->max_depth)
        return ks_error_set_at(KS_ELIMIT, &pos, "YAML nesting depth limit of %u exceeded",
                               p->max_depth);
    int rc = check_collection_tag((const char *)tag, mapping ? "map" : "seq", &pos);
    if (rc)
        return rc;
    if (p->depth == p->stack_cap) {
        unsigned cap = p->stack_cap ? p->stack_cap * 2 : 32;
        struct frame *stack = realloc(p->stack, cap * sizeof(*stack));
        if (!stack)
            return nomem();
        memset(stack + p->stack_cap, 0, (cap - p->stack_cap) * sizeof(*stack));
        p->stack = stack;
        p->stack_cap = cap;
    }
    struct frame *f = &p->stack[p->depth];
    f->node = mapping ? json_object() : json_array();
    if (!f->node)
        return nomem();
    if (anchor) {
        size_t n = strlen((const char *)anchor);
        f->anchor = malloc(n + 1);
        if (!f->anchor) {
            frame_release(f);
            return nomem();
        }
        memcpy(f->anchor, anchor, n + 1);
    }
    f->pos = pos;
    f->nodes = 1;
    f->have_key = false;
    pending_reset(f);
    p->depth++;
    return 0;
}

static int on_end(struct parser *p)
{
    struct frame *f = &p->stack[--p->depth];
    int rc = 0;
    rc = flush_positions(p, f, f->node);
    if (rc == 0 && f->anchor)
        rc = bind_anchor(p, f->anchor, f->node, f->nodes, NULL);
    json_t *node = f->node;
    f->node = NULL;
    size_t nodes = f->nodes;
    struct ks_pos pos = f->pos;
    frame_release(f);
    if (rc) {
        json_decref(node);
        return rc;
    }
    return add_value(p, node, nodes, &pos);
}

static int on_document_start(struct parser *p, const yaml_event_t *ev)
{
    if (json_array_size(p->docs) >= p->max_documents) {
        struct ks_pos pos = mark_pos(p, ev->start_mark);
        return ks_error_set_at(KS_ELIMIT, &pos, "YAML document count limit of %u exceeded",
                               p->max_documents);
    }
    json_object_clear(p->anchors);
    json_decref(p->root);
    p->root = NULL;
    p->root_pos = mark_pos(p, ev->start_mark);
    return 0;
}

static int on_document_end(struct parser *p)
{
    json_t *root = p->root ? p->root : json_null();
    p->root = NULL;
    if (json_array_append_new(p->docs, root) != 0)
        return nomem();
    return record(p, &p->roots, NULL, 0, &p->root_pos);
}

static int on_event(struct parser *p, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        return on_document_start(p, ev);
    case YAML_DOCUMENT_END_EVENT:
        return on_document_end(p);
    case YAML_SCALAR_EVENT:
        return on_scalar(p, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(p, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(p, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_start(p, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(p);
    default:
        return 0;
    }
}

static void parser_init(struct parser *p, const struct ks_yaml_parse_opts *opts)
{
    static const struct ks_yaml_parse_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    memset(p, 0, sizeof(*p));
    p->file = opts->file;
    p->max_depth = opts->max_depth ? opts->max_depth : KS_YAML_DEFAULT_MAX_DEPTH;
    p->max_alias_nodes =
        opts->max_alias_nodes ? opts->max_alias_nodes : KS_YAML_DEFAULT_MAX_ALIAS_NODES;
    p->max_documents = opts->max_documents ? opts->max_documents : KS_YAML_DEFAULT_MAX_DOCUMENTS;
    p->resolver = opts->resolver ? opts->resolver : ks_yaml_resolve_core;
    p->resolver_ctx = opts->resolver_ctx;
    p->allow_duplicate_keys = opts->allow_duplicate_keys;
    p->positions = opts->positions;
    p->share_strings = !opts->unshared_strings;
}

static size_t max_bytes_of(const struct ks_yaml_parse_opts *opts)
{
    return opts && opts->max_bytes ? opts->max_bytes : KS_YAML_DEFAULT_MAX_BYTES;
}

int ks_yaml_parse_stream(json_t **out, const char *text, size_t len,
                         const struct ks_yaml_parse_opts *opts)
{
    struct parser p;
    bool yp_ready = false;
    int rc = 0;
    parser_init(&p, opts);
    if (!text && len) {
        rc = ks_error_set(KS_EINVALID, "YAML input is NULL");
        goto done;
    }
    if (!text)
        text = ""; /* libyaml asserts on a NULL input */
    p.text = text;
    if (len > max_bytes_of(opts)) {
        struct ks_pos pos = {p.file, 0, 0};
        rc = ks_error_set_at(KS_ELIMIT, &pos,
                             "YAML input size limit of %zu bytes exceeded (input is %zu bytes)",
                             max_bytes_of(opts), len);
        goto done;
    }
    p.anchors = json_object();
    p.docs = json_array();
    if (!p.anchors || !p.docs) {
        rc = nomem();
        goto done;
    }
    if (!yaml_parser_initialize(&p.yp)) {
        rc = nomem();
        goto done;
    }
    yp_ready = true;
    yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p.yp, &ev)) {
            rc = libyaml_error(&p);
            goto done;
        }
        rc = on_event(&p, &ev);
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc)
            goto done;
        if (end)
            break;
    }
    if ((rc = flush_positions(&p, &p.roots, NULL)) != 0 ||
        (rc = flush_positions(&p, &p.roots, p.docs)) != 0)
        goto done;
    *out = p.docs;
    p.docs = NULL;
done:
    if (yp_ready)
        yaml_parser_delete(&p.yp);
    for (unsigned i = 0; i < p.stack_cap; i++) {
        frame_release(&p.stack[i]);
        pending_release(&p.stack[i]);
        free(p.stack[i].key);
    }
    pending_release(&p.roots);
    free(p.scratch);
    shared_release(&p);
    free(p.stack);
    json_decref(p.root);
    json_decref(p.anchors);
    json_decref(p.docs);
    return rc;
}

int ks_yaml_parse_one(json_t **out, const char *text, size_t len,
                      const struct ks_yaml_parse_opts *opts)
{
    json_t *docs = NULL;
    int rc = ks_yaml_parse_stream(&docs, text, len, opts);
    if (rc)
        goto done;
    if (json_array_size(docs) > 1) {
        struct ks_pos pos = {opts ? opts->file : NULL, 0, 0};
        if (opts)
            ks_yaml_position_of_index(&pos, opts->positions, NULL, 1);
        rc = ks_error_set_at(KS_EINVALID, &pos,
                             "expected a single YAML document, found %zu documents",
                             json_array_size(docs));
        goto done;
    }
    *out = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
done:
    /* the document list is freed here: leave no record under its address */
    if (docs && opts && opts->positions)
        ks_yaml_positions_set_children(opts->positions, docs, false, NULL, NULL, 0);
    json_decref(docs);
    return rc;
}
