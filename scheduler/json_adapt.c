/*
 * json_adapt.c: the parsers shared by the Node and Pod JSON adapters.
 * Every error names the field ("spec.tolerations[1].operator: ...") so a
 * bad manifest is easy to find; every array is capped.
 */
#include "scheduler/json_adapt.h"
#include "core/error.h"
#include "core/jsonpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ks_sched_arena_alloc(struct arena *a, size_t n, size_t elem)
{
    if (!n)
        n = 1;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void **b = realloc(a->blocks, cap * sizeof(void *));
        if (!b)
            return NULL;
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(n, elem);
    if (p)
        a->blocks[a->n++] = p;
    else
        ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    return p;
}

void ks_sched_arena_release(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    memset(a, 0, sizeof(*a));
}

int ks_sched_ja_array(json_t **out, size_t *n, const json_t *root, const char *path,
                      const char *where)
{
    json_t *arr = NULL;
    int rc = ks_json_get_array(&arr, root, path, false);
    if (rc)
        return ks_error_wrap(rc, "%s", where);
    *out = arr;
    *n = arr ? json_array_size(arr) : 0;
    if (*n > KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "%s.%s: %zu entries exceed the limit of %d", where, path, *n,
                            KS_SCHED_MAX_ITEMS);
    return 0;
}

int ks_sched_ja_items(json_t **arr, size_t *n, void *items, size_t elem, struct arena *a,
                      const json_t *root, const char *path, const char *where)
{
    int rc = ks_sched_ja_array(arr, n, root, path, where);
    void *p = rc ? NULL : ks_sched_arena_alloc(a, *n, elem);
    if (rc || !p)
        return rc ? rc : KS_ENOMEM;
    memcpy(items, &p, sizeof(p));
    return 0;
}

int ks_sched_ja_kv_map(const struct ks_sched_kv **out, size_t *n, struct arena *a,
                       const json_t *obj, const char *where)
{
    const char *key;
    json_t *v;
    size_t i = 0, size;
    struct ks_sched_kv *kv;
    *out = NULL;
    *n = 0;
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return ks_error_set(KS_EINVALID, "%s: expected an object, got %s", where,
                            ks_json_type_name(obj));
    if ((size = json_object_size(obj)) > KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "%s: %zu entries exceed the limit of %d", where, size,
                            KS_SCHED_MAX_ITEMS);
    if (!(kv = ks_sched_arena_alloc(a, size, sizeof(*kv))))
        return KS_ENOMEM;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!json_is_string(v))
            return ks_error_set(KS_EINVALID, "%s.%s: expected a string, got %s", where, key,
                                ks_json_type_name(v));
        kv[i++] = (struct ks_sched_kv){key, json_string_value(v)};
    }
    *out = kv;
    *n = i;
    return 0;
}

static int parse_op(enum ks_sched_op *out, const char *s, bool node, const char *where)
{
    static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};
    for (int i = 0; i < (node ? 6 : 4); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ks_sched_op)i;
            return 0;
        }
    }
    return ks_error_set(KS_EINVALID, "%s.operator: unknown operator \"%s\"", where, s);
}

int ks_sched_ja_reqs(const struct ks_sched_req **out, size_t *n, struct arena *a, const json_t *arr,
                     const char *where, bool node)
{
    int rc = 0;
    size_t count = arr ? json_array_size(arr) : 0;
    struct ks_sched_req *r;
    *out = NULL;
    *n = 0;
    if (count > KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "%s: %zu expressions exceed the limit of %d", where, count,
                            KS_SCHED_MAX_ITEMS);
    if (!(r = ks_sched_arena_alloc(a, count, sizeof(*r))))
        return KS_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        char at[256];
        const char *op = NULL;
        json_t *e = json_array_get(arr, i), *vals = NULL;
        size_t nv = 0;
        snprintf(at, sizeof(at), "%s[%zu]", where, i);
        if ((rc = ks_json_get_string(&r[i].key, e, "key", true)) ||
            (rc = ks_json_get_string(&op, e, "operator", true)) ||
            (rc = ks_sched_ja_array(&vals, &nv, e, "values", at)))
            return ks_error_wrap(rc, "%s", at);
        if ((rc = parse_op(&r[i].op, op, node, at)))
            return rc;
        const char **v = ks_sched_arena_alloc(a, nv, sizeof(char *));
        if (!v)
            return KS_ENOMEM;
        for (size_t j = 0; j < nv; j++) {
            if (!json_is_string(json_array_get(vals, j)))
                return ks_error_set(KS_EINVALID, "%s.values[%zu]: expected a string", at, j);
            v[j] = json_string_value(json_array_get(vals, j));
        }
        r[i].values = v;
        r[i].nvalues = nv;
    }
    *out = r;
    *n = count;
    return 0;
}

int ks_sched_ja_node_term(struct ks_sched_node_term *out, struct arena *a, const json_t *term,
                          const char *where)
{
    json_t *exprs = NULL, *fields = NULL;
    size_t ne, nf;
    char at[256];
    int rc;
    if ((rc = ks_sched_ja_array(&exprs, &ne, term, "matchExpressions", where)) ||
        (rc = ks_sched_ja_array(&fields, &nf, term, "matchFields", where)))
        return rc;
    snprintf(at, sizeof(at), "%s.matchExpressions", where);
    if ((rc = ks_sched_ja_reqs(&out->exprs, &out->nexprs, a, exprs, at, true)))
        return rc;
    snprintf(at, sizeof(at), "%s.matchFields", where);
    return ks_sched_ja_reqs(&out->fields, &out->nfields, a, fields, at, true);
}

int ks_sched_ja_selector(struct ks_sched_selector *out, struct arena *a, const json_t *sel,
                         const char *where)
{
    json_t *labels = NULL, *exprs = NULL;
    size_t ne;
    char at[256];
    int rc;
    memset(out, 0, sizeof(*out));
    if (!sel || json_is_null(sel)) {
        out->nothing = true;
        return 0;
    }
    if ((rc = ks_json_get_object(&labels, sel, "matchLabels", false)) ||
        (rc = ks_sched_ja_array(&exprs, &ne, sel, "matchExpressions", where)))
        return ks_error_wrap(rc, "%s", where);
    snprintf(at, sizeof(at), "%s.matchLabels", where);
    if ((rc = ks_sched_ja_kv_map(&out->match_labels, &out->nmatch_labels, a, labels, at)))
        return rc;
    snprintf(at, sizeof(at), "%s.matchExpressions", where);
    return ks_sched_ja_reqs(&out->exprs, &out->nexprs, a, exprs, at, false);
}
