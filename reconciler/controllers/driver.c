/*
 * driver.c: runs the controllers over the whole store to a fixed point.
 * Each step is one store transaction in which the ReplicaSet controller
 * runs first (so ReplicaSet status reflects the Pods the step starts with),
 * then the Deployment controller (which reads that status), then garbage
 * collection. Controllers write only differences, so a step that writes
 * nothing means the state is settled until something outside (Git, pod
 * status from agents, the clock) changes.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

typedef int (*reconcile_fn)(bool *, struct ks_store *, const json_t *, const struct ks_ctl_env *);

static int run_kind(bool *changed, struct ks_store *store, const char *kind, reconcile_fn fn,
                    const struct ks_ctl_env *env)
{
    json_t *list = NULL;
    int rc = ks_ctl_list(&list, store, kind, NULL);
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        if (rc)
            break;
        /* read again: an earlier reconcile in this step may have changed it */
        json_t *fresh = NULL;
        struct ks_store_key key = {kind, ks_ctl_namespace(obj), ks_ctl_name(obj)};
        rc = ks_store_get(&fresh, store, &key);
        if (rc == KS_ENOTFOUND) {
            rc = 0;
            continue;
        }
        if (!rc)
            rc = fn(changed, store, fresh, env);
        if (rc)
            rc = ks_error_wrap(rc, "%s %s/%s", kind, key.namespace_, key.name);
        json_decref(fresh);
    }
    json_decref(list);
    return rc;
}

static int step(bool *changed, struct ks_store *store, const struct ks_ctl_env *env)
{
    int rc = ks_store_begin(store);
    if (rc)
        return rc;
    if ((rc = run_kind(changed, store, "ReplicaSet", ks_ctl_replicaset_reconcile, env)) ||
        (rc = run_kind(changed, store, "Deployment", ks_ctl_deployment_reconcile, env)) ||
        (rc = ks_ctl_gc_reconcile(changed, store))) {
        ks_store_rollback(store);
        return rc;
    }
    return ks_store_commit(store);
}

int ks_controllers_reconcile_all(unsigned *out_steps, struct ks_store *store,
                                 const struct ks_ctl_env *env)
{
    for (unsigned n = 1; n <= KS_CTL_MAX_STEPS; n++) {
        bool changed = false;
        int rc = step(&changed, store, env);
        if (rc)
            return rc;
        if (!changed) {
            if (out_steps)
                *out_steps = n;
            return 0;
        }
    }
    return ks_error_set(KS_ELIMIT, "controllers: still changing after %d steps (KS_CTL_MAX_STEPS)",
                        KS_CTL_MAX_STEPS);
}
