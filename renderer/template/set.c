/*
 * set.c: template sets (Go's *template.Template with its associated
 * templates), function lookup, the host-object registry and Helm's
 * error rewriting and parse order.
 *
 * Lookups are by string in small open-addressing maps; host objects are
 * registered by json_t identity (the set keeps a reference, so the address
 * cannot be reused while registered), which is why no user value can ever
 * pose as one.
 */
#include "renderer/template/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void *smap_get(const struct smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
        if (!m->keys[i])
            return NULL;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

static int smap_grow(struct smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 32;
    const char **keys = calloc(cap, sizeof(*keys));
    void **vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return ks_error_set(KS_ENOMEM, "out of memory growing a template table");
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j])
            continue;
        size_t i = hash_str(m->keys[j]) & (cap - 1);
        while (keys[i])
            i = (i + 1) & (cap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int smap_put(struct smap *m, const char *key, void *val)
{
    if ((m->n + 1) * 2 > m->cap) {
        int rc = smap_grow(m);
        if (rc)
            return rc;
    }
    size_t mask = m->cap - 1;
    size_t i = hash_str(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    if (!m->keys[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void smap_free(struct smap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

void ks_tpl_limits_default(struct ks_tpl_limits *out)
{
    out->max_source = 4u << 20;
    out->max_output = 64u << 20;
    out->max_steps = 50000000;
    out->max_include_depth = 1000;
    out->max_depth = 1500;
    out->max_parse_depth = 200;
}

int ks_tpl_set_new(struct ks_tpl_set **out, const struct ks_tpl_limits *limits, unsigned flags,
                   const struct ks_tpl_func_def *const *tables, size_t ntables)
{
    int rc = 0;
    struct ks_tpl_set *s = calloc(1, sizeof(*s));
    if (!s)
        return ks_error_set(KS_ENOMEM, "out of memory creating a template set");
    s->root = s;
    if (limits)
        s->limits = *limits;
    else
        ks_tpl_limits_default(&s->limits);
    s->flags = flags;
    for (const struct ks_tpl_func_def *f = ks_tpl_funcs_builtin; f->name; f++)
        if ((rc = smap_put(&s->funcs, f->name, (void *)f)))
            goto done;
    for (size_t t = 0; t < ntables; t++)
        for (const struct ks_tpl_func_def *f = tables[t]; f && f->name; f++)
            if ((rc = smap_put(&s->funcs, f->name, (void *)f)))
                goto done;
    *out = s;
    s = NULL;
done:
    ks_tpl_set_free(s);
    return rc;
}

void ks_tpl_set_free(struct ks_tpl_set *set)
{
    if (!set)
        return;
    struct tunit *u = set->units;
    while (u) {
        struct tunit *next = u->next;
        tunit_free(u);
        u = next;
    }
    for (size_t i = 0; i < set->caphosts; i++) {
        struct host_entry *h = &set->hosts[i];
        if (!h->obj)
            continue;
        if (h->type->release)
            h->type->release(h->self);
        json_decref((json_t *)h->obj);
    }
    free(set->hosts);
    smap_free(&set->funcs);
    smap_free(&set->templates);
    free(set);
}

int ks_tpl_set_add(struct ks_tpl_set *set, const char *name, const char *text, size_t len)
{
    int rc = tparse(set, name, name, text, len);
    if (rc && (set->flags & KS_TPL_HELM) && rc == KS_EINVALID) {
        /* engine.go cleanupParseError */
        char msg[2048];
        snprintf(msg, sizeof(msg), "%s", ks_error_last());
        char *first = strstr(msg, ": ");
        if (!first)
            return ks_error_set(rc, "parse error in (%s): %s", name, msg);
        char *loc = first + 2;
        char *loc_end = strstr(loc, ": ");
        const char *last = msg;
        for (char *p = strstr(msg, ": "); p; p = strstr(p + 2, ": "))
            last = p + 2;
        if (loc_end)
            *loc_end = '\0';
        char lastcopy[2048];
        snprintf(lastcopy, sizeof(lastcopy), "%s", last);
        return ks_error_set(rc, "parse error at (%s): %s", loc, lastcopy);
    }
    return rc;
}

const struct ttree *tset_lookup(const struct ks_tpl_set *set, const char *name)
{
    for (; set; set = set->parent) {
        const struct ttree *t = smap_get(&set->templates, name);
        if (t)
            return t;
    }
    return NULL;
}

int ks_tpl_set_has(const struct ks_tpl_set *set, const char *name)
{
    return tset_lookup(set, name) != NULL;
}

const struct ks_tpl_func_def *tset_func(const struct ks_tpl_set *set, const char *name)
{
    return smap_get(&set->root->funcs, name);
}

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

const struct host_entry *tset_host(const struct ks_tpl_set *set, const json_t *v)
{
    set = set->root;
    if (!set->nhosts || !v)
        return NULL;
    for (size_t i = hash_ptr(v, set->caphosts);; i = (i + 1) & (set->caphosts - 1)) {
        if (!set->hosts[i].obj)
            return NULL;
        if (set->hosts[i].obj == v)
            return &set->hosts[i];
    }
}

static int host_grow(struct ks_tpl_set *set)
{
    size_t cap = set->caphosts ? set->caphosts * 2 : 16;
    struct host_entry *h = calloc(cap, sizeof(*h));
    if (!h)
        return ks_error_set(KS_ENOMEM, "out of memory registering a host object");
    for (size_t j = 0; j < set->caphosts; j++) {
        if (!set->hosts[j].obj)
            continue;
        size_t i = hash_ptr(set->hosts[j].obj, cap);
        while (h[i].obj)
            i = (i + 1) & (cap - 1);
        h[i] = set->hosts[j];
    }
    free(set->hosts);
    set->hosts = h;
    set->caphosts = cap;
    return 0;
}

int ks_tpl_host_new(json_t **out, struct ks_tpl_set *set, const struct ks_tpl_host_type *type,
                    void *self, json_t *fields)
{
    return ks_tpl_host_new_flags(out, set, type, self, fields, 0);
}

/* Registers v (a reference the registry takes over) under type. */
static int host_insert(struct ks_tpl_set *set, json_t *v, const struct ks_tpl_host_type *type,
                       void *self, unsigned flags)
{
    set = set->root;
    if (tset_host(set, v))
        return ks_error_set(KS_ECONFLICT, "value is already registered as a host object");
    int rc;
    if ((set->nhosts + 1) * 2 > set->caphosts && (rc = host_grow(set)))
        return rc;
    size_t i = hash_ptr(v, set->caphosts);
    while (set->hosts[i].obj)
        i = (i + 1) & (set->caphosts - 1);
    set->hosts[i] = (struct host_entry){v, type, self, flags};
    set->nhosts++;
    return 0;
}

static const struct ks_tpl_host_type int64_type = {"int64", NULL, NULL, NULL, 0};

int ks_tpl_mark_int64(struct ks_tpl_set *set, json_t *v)
{
    if (!json_is_integer(v))
        return ks_error_set(KS_EINVALID, "only integers can be marked int64");
    if (tset_host(set, v))
        return 0;
    int rc = host_insert(set, json_incref(v), &int64_type, NULL, 0);
    if (rc)
        json_decref(v);
    return rc;
}

int ks_tpl_call_mark_int64(struct ks_tpl_call *call, json_t *v)
{
    return ks_tpl_mark_int64(call->st->set, v);
}

int ks_tpl_host_new_flags(json_t **out, struct ks_tpl_set *set, const struct ks_tpl_host_type *type,
                          void *self, json_t *fields, unsigned flags)
{
    int rc = 0;
    if (!fields)
        fields = json_object();
    if (!fields || !json_is_object(fields)) {
        rc = ks_error_set(fields ? KS_EINVALID : KS_ENOMEM, "host object fields must be an object");
        goto done;
    }
    if ((rc = host_insert(set, fields, type, self, flags)))
        goto done;
    *out = json_incref(fields); /* the registry keeps the stolen reference */
    return 0;
done:
    json_decref(fields);
    if (type && type->release)
        type->release(self);
    return rc;
}

int ks_tpl_call_host_new(json_t **out, struct ks_tpl_call *call,
                         const struct ks_tpl_host_type *type, void *self, json_t *fields)
{
    return ks_tpl_host_new(out, call->st->set, type, self, fields);
}

void *ks_tpl_call_host_self(struct ks_tpl_call *call, const json_t *v,
                            const struct ks_tpl_host_type *type)
{
    const struct host_entry *h = tset_host(call->st->set, v);
    if (!h || (type && h->type != type))
        return NULL;
    return h->self;
}

static int slash_count(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '/';
    return n;
}

static int helm_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int cx = slash_count(x), cy = slash_count(y);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    int c = strcmp(x, y);
    return c > 0 ? -1 : c < 0 ? 1 : 0;
}

void ks_tpl_sort_helm(const char **names, size_t n)
{
    if (n > 1)
        qsort(names, n, sizeof(*names), helm_order);
}
