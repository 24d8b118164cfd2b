/*
 * gc.c: garbage collection by ownerReferences, the store-wide sweep that
 * stands in for Kubernetes' garbage collector with background propagation:
 * an object whose every owner (matched by uid and kind) is gone is deleted,
 * and the sweep repeats on what that orphans, so deleting a Deployment
 * removes its ReplicaSets and then their Pods. An object with at least one
 * live owner is kept (Kubernetes would only drop the dangling reference).
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* uid -> kind of every object in the store; *out_all: every object. */
static int snapshot(json_t **out_uids, json_t **out_all, struct ks_store *store)
{
    json_t *kinds = NULL, *uids = json_object(), *all = json_array();
    int rc = ks_store_list_kinds(&kinds, store);
    size_t i;
    json_t *kind;
    json_array_foreach(kinds, i, kind)
    {
        json_t *list = NULL;
        if (rc || (rc = ks_ctl_list_shared(&list, store, json_string_value(kind), NULL)))
            break;
        size_t j;
        json_t *obj;
        json_array_foreach(list, j, obj)
        {
            json_object_set(uids, ks_ctl_uid(obj), kind);
            json_array_append(all, obj);
        }
        json_decref(list);
    }
    json_decref(kinds);
    if (rc) {
        json_decref(uids);
        json_decref(all);
        return rc;
    }
    *out_uids = uids;
    *out_all = all;
    return 0;
}

static bool orphaned(const json_t *obj, const json_t *uids)
{
    const json_t *refs = ks_ctl_at(obj, "metadata", "ownerReferences");
    if (!json_array_size(refs))
        return false;
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        const char *live = json_string_value(json_object_get(uids, uid ? uid : ""));
        if (live && kind && !strcmp(live, kind))
            return false;
    }
    return true;
}

int ks_ctl_gc_reconcile(bool *out_changed, struct ks_store *store)
{
    for (int round = 0; round < KS_CTL_MAX_GC_DEPTH; round++) {
        json_t *uids = NULL, *all = NULL;
        int rc = snapshot(&uids, &all, store);
        if (rc)
            return rc;
        bool deleted = false;
        size_t i;
        json_t *obj;
        json_array_foreach(all, i, obj)
        {
            if (!rc && orphaned(obj, uids))
                rc = ks_ctl_delete(&deleted, store, obj);
        }
        json_decref(uids);
        json_decref(all);
        if (rc)
            return rc;
        if (!deleted)
            return 0;
        *out_changed = true;
    }
    return 0; /* deeper chains are finished by the next call */
}
