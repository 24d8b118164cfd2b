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
        json_object_del(ann, KS_ANNOTATION_HASH);
        if (json_object_size(ann) == 0)
            json_object_del(meta, "annotations");
    }
    return copy;
}

int ks_plan_load_managed(struct ks_plan_item **out_items, size_t *out_n, json_t **out_rows,
                         struct ks_store *store)
{
    json_t *rows = NULL;
    int rc = ks_store_list_managed(&rows, store);
    if (rc)
        return rc;
    size_t n = json_array_size(rows);
    struct ks_plan_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        json_decref(rows);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        items[i] = (struct ks_plan_item){
            json_string_value(json_object_get(r, "kind")),
            json_string_value(json_object_get(r, "namespace")),
            json_string_value(json_object_get(r, "name")),
            NULL,
            json_string_value(json_object_get(r, "source")),
            json_string_value(json_object_get(r, "hash")),
        };
    }
    *out_items = items;
    *out_n = n;
    *out_rows = rows;
    return 0;
}

int ks_plan_store_loader(json_t **out, void *store, const struct ks_plan_item *item)
{
    json_t *obj = NULL;
    struct ks_store_key key = {item->kind, item->namespace_, item->name};
    int rc = ks_store_get(&obj, store, &key);
    if (rc)
        return rc;
    *out = ks_plan_normalise(obj);
    json_decref(obj);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
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
    /* the desired set's hash of this object, computed once when it was built */
    if (c->hash[0])
        json_object_set_new(ann, KS_ANNOTATION_HASH, json_string(c->hash));
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
        /* unchanged objects stay as they are (their commit annotation keeps
         * naming the commit that last changed them), except those whose
         * stored content hash was missing or stale: the planner had to read
         * them (c->base is set), so record the hash once */
        if (c->action == KS_PLAN_UNCHANGED && !c->base)
            continue;
        json_t *obj = annotated(c, commit);
        if (!obj) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            break;
        }
        /* Git owns the spec; the status that controllers and agents wrote
         * survives an update of the spec */
        json_t *existing = NULL;
        if (c->action != KS_PLAN_CREATE && ks_store_get(&existing, store, &key) == 0 &&
            json_object_get(existing, "status"))
            json_object_set(obj, "status", json_object_get(existing, "status"));
        json_decref(existing);
        rc = ks_store_put(NULL, store, obj, KS_STORE_ANY_REVISION);
        json_decref(obj);
    }
    if (rc) {
        ks_store_rollback(store);
        return rc;
    }
    return ks_store_commit(store);
}
