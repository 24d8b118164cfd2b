/*
 * store_items.c: the store side of planning: normalising stored objects to
 * the form the desired set has, loading the managed ones, and applying a
 * plan in one transaction.
 */
#include "reconciler/plan/plan.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* Metadata the store or controllers add; never part of desired state. */
static const char *const server_metadata[] = {
    "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", NULL};

json_t *ks_plan_normalise(const json_t *obj)
{
    json_t *copy = json_deep_copy(obj);
    if (!copy)
        return NULL;
    json_object_del(copy, "status");
    json_t *meta = json_object_get(copy, "metadata");
    for (const char *const *k = server_metadata; *k; k++)
        json_object_del(meta, *k);
    json_t *ann = json_object_get(meta, "annotations");
    if (ann) {
        json_object_del(ann, KS_ANNOTATION_SOURCE);
        json_object_del(ann, KS_ANNOTATION_COMMIT);
        if (json_object_size(ann) == 0)
            json_object_del(meta, "annotations");
    }
    return copy;
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

int ks_plan_load_managed(struct ks_plan_item **out_items, size_t *out_n, json_t **out_objects,
                         struct ks_store *store)
{
    int rc = 0;
    json_t *kinds = NULL, *all = json_array(), *sources = json_array();
    struct ks_plan_item *items = NULL;
    if ((rc = ks_store_list_kinds(&kinds, store)))
        goto done;
    size_t i;
    json_t *kind;
    json_array_foreach(kinds, i, kind)
    {
        json_t *list = NULL;
        struct ks_store_list_opts lo = {.kind = json_string_value(kind)};
        if ((rc = ks_store_list(&list, store, &lo)))
            goto done;
        size_t j;
        json_t *obj;
        json_array_foreach(list, j, obj)
        {
            const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
            const char *source = json_string_value(json_object_get(ann, KS_ANNOTATION_SOURCE));
            if (!source)
                continue; /* derived objects (ReplicaSets, Pods) are not managed from Git */
            json_array_append_new(all, ks_plan_normalise(obj));
            json_array_append_new(sources, json_string(source));
        }
        json_decref(list);
    }
    size_t n = json_array_size(all);
    items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    /* the store lists kinds sorted and objects by namespace, name: already in order */
    for (i = 0; i < n; i++) {
        json_t *obj = json_array_get(all, i);
        const char *ns = str_at(obj, "metadata", "namespace");
        items[i] = (struct ks_plan_item){str_at(obj, "kind", NULL), ns ? ns : "",
                                         str_at(obj, "metadata", "name"), obj,
                                         json_string_value(json_array_get(sources, i))};
    }
    /* keep the source strings alive with the objects */
    json_array_append_new(all, sources);
    sources = NULL;
    *out_items = items;
    *out_n = n;
    *out_objects = all;
    all = NULL;
    items = NULL;
done:
    free(items);
    json_decref(kinds);
    json_decref(all);
    json_decref(sources);
    return rc;
}

static json_t *annotated(const struct ks_plan_change *c, const char *commit)
{
    json_t *obj = json_deep_copy(c->head);
    json_t *meta = json_object_get(obj, "metadata");
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    json_object_set_new(ann, KS_ANNOTATION_SOURCE, json_string(c->source));
    json_object_set_new(ann, KS_ANNOTATION_COMMIT, json_string(commit));
    return obj;
}

int ks_plan_apply(struct ks_store *store, const struct ks_plan *plan, const char *commit)
{
    int rc = ks_store_begin(store);
    if (rc)
        return rc;
    for (size_t i = 0; i < plan->count && rc == 0; i++) {
        const struct ks_plan_change *c = &plan->changes[i];
        struct ks_store_key key = {c->kind, c->namespace_, c->name};
        if (c->action == KS_PLAN_DELETE) {
            rc = ks_store_delete(NULL, store, &key, KS_STORE_ANY_REVISION);
            continue;
        }
        /* unchanged objects stay as they are: their commit annotation keeps
         * naming the commit that last changed them */
        if (c->action == KS_PLAN_UNCHANGED)
            continue;
        json_t *obj = annotated(c, commit);
        rc = obj ? ks_store_put(NULL, store, obj, KS_STORE_ANY_REVISION)
                 : ks_error_set(KS_ENOMEM, "out of memory");
        json_decref(obj);
    }
    if (rc) {
        ks_store_rollback(store);
        return rc;
    }
    return ks_store_commit(store);
}
