/*
 * driver.c: runs the controllers over the whole store to a fixed point.
 * Owners' syncs are committed together every STAGE_TXN_MS (so the write
 * lock is never held for a whole step), the controllers running in the
 * order of stages[] below (CronJob, Job, DaemonSet, StatefulSet,
 * ReplicaSet, Deployment, endpoints), then garbage collection. Within a stage each namespace's
 * dependents are listed once and shared, not listed again per owner (which made an idle pass over
 * 200 Deployments x 10 replicas take seconds). Controllers write only
 * differences, so a step that writes nothing means the state is settled
 * until something outside (Git, pod status from agents, the clock)
 * changes.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <time.h>

#define STAGE_TXN_MS 5 /* longest a stage holds one transaction open */

typedef int (*sync_fn)(bool *, struct ks_store *, const json_t *, const struct ks_ctl_env *,
                       json_t *);

/* The dependents one owner's sync gets when the stage shares them by
 * owner: those whose controller reference names it, plus the orphans (it
 * may adopt them). Afterwards the orphans are what that list holds
 * without a controller: adopted ones have left, released ones joined. */
static int sync_by_owner(bool *changed, struct ks_store *store, const json_t *obj, sync_fn fn,
                         const struct ks_ctl_env *env, json_t *index)
{
    json_t *sub = json_array(), *orphans = json_object_get(index, "");
    json_array_extend(sub, json_object_get(index, ks_ctl_uid(obj)));
    json_array_extend(sub, orphans);
    int rc = fn(changed, store, obj, env, sub);
    if (!rc) {
        json_t *left = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(sub, i, d)
        {
            if (!ks_ctl_controller_uid(d))
                json_array_append(left, d);
        }
        json_object_set_new(index, "", left);
    }
    json_decref(sub);
    return rc;
}

/* {controller uid: [dependents], "": [orphans]} of a namespace's list. */
static json_t *index_by_owner(const json_t *deps)
{
    json_t *index = json_object();
    json_object_set_new(index, "", json_array());
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d)
    {
        const char *uid = ks_ctl_controller_uid(d);
        json_t *bucket = json_object_get(index, uid ? uid : "");
        if (!bucket) {
            bucket = json_array();
            json_object_set_new(index, uid, bucket);
        }
        json_array_append(bucket, d);
    }
    return index;
}

/* One stage: every object of kind, each namespace's dependents (dep_kind)
 * listed once and shared by the namespace's objects, whose syncs keep the
 * list current as they write. With by_owner each sync gets only its own
 * dependents and the orphans (an index built once per namespace), which
 * keeps a stage linear in the number of dependents instead of owners x
 * dependents. The owners themselves are used as listed: in a stage an
 * owner is written only by its own sync. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_stage(bool *changed, struct ks_store *store, const char *kind, const char *dep_kind,
                     bool by_owner, sync_fn fn, const struct ks_ctl_env *env)
{
    json_t *list = NULL, *by_ns = json_object();
    /* shared with the store's cache: controllers never modify a listed
     * object, they write a copy and replace the list entry */
    int rc = ks_ctl_list_shared(&list, store, kind, NULL);
    bool open = false; /* a transaction is open */
    int64_t opened = 0;
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        if (rc)
            break;
        const char *ns = ks_ctl_namespace(obj);
        json_t *deps = json_object_get(by_ns, ns);
        if (!deps) {
            if ((rc = ks_ctl_list_shared(&deps, store, dep_kind, ns)))
                break;
            if (by_owner) {
                json_t *index = index_by_owner(deps);
                json_decref(deps);
                deps = index;
            }
            json_object_set_new(by_ns, ns, deps);
        }
        /* owners' syncs share a transaction for at most STAGE_TXN_MS: the
         * store's write lock is held for milliseconds, not for a whole step
         * (seconds with 5,000 pods), so agents' status writes through the
         * API get in between, and 500 owners do not cost 500 commits; a
         * write that finds its object changed since the list is
         * KS_ECONFLICT: the transaction rolls back and the pass runs again */
        if (!open) {
            if ((rc = ks_store_begin(store)))
                break;
            open = true;
            opened = mono_ms();
        }
        rc = by_owner ? sync_by_owner(changed, store, obj, fn, env, deps)
                      : fn(changed, store, obj, env, deps);
        if (rc) {
            ks_store_rollback(store);
            open = false;
        } else if (mono_ms() - opened >= STAGE_TXN_MS) {
            open = false;
            rc = ks_store_commit(store);
        }
        if (rc)
            rc = ks_error_wrap(rc, "%s %s/%s", kind, ns, ks_ctl_name(obj));
    }
    if (open && (rc = ks_store_commit(store)))
        rc = ks_error_wrap(rc, "%s controller", kind);
    json_decref(by_ns);
    json_decref(list);
    return rc;
}

/* The stages of one step, in order: CronJobs create Jobs that the Job
 * stage then gives pods; ReplicaSets run before Deployments (which read
 * their status); the endpoints controller runs last so that it sees the
 * pods of this step. */
static const struct {
    const char *kind, *dep_kind;
    bool by_owner; /* dependents found through controller references */
    sync_fn fn;
} stages[] = {
    {"CronJob", "Job", true, ks_ctl_cronjob_sync},
    {"Job", "Pod", true, ks_ctl_job_sync},
    {"DaemonSet", "Pod", true, ks_ctl_daemonset_sync},
    {"StatefulSet", "Pod", true, ks_ctl_statefulset_sync},
    {"ReplicaSet", "Pod", true, ks_ctl_replicaset_sync},
    {"Deployment", "ReplicaSet", true, ks_ctl_deployment_sync},
    {"Service", "Pod", false, ks_ctl_endpoints_sync}, /* by label selector */
};

/* One step. *clean_rev: the store's revision after the last garbage
 * collection that found nothing to delete (-1: none); the same revision
 * means the same objects, so the collection is not run again (the last,
 * unchanged step of every pass). */
static int step(bool *changed, struct ks_store *store, const struct ks_ctl_env *env,
                int64_t *clean_rev)
{
    int rc = 0;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if ((rc = run_stage(changed, store, stages[i].kind, stages[i].dep_kind, stages[i].by_owner,
                            stages[i].fn, env)))
            return rc;
    }
    int64_t rev = -1;
    if (*clean_rev >= 0 && ks_store_revision(&rev, store) == 0 && rev == *clean_rev)
        return 0;
    bool collected = false;
    if ((rc = ks_store_begin(store)))
        return rc;
    if ((rc = ks_ctl_gc_reconcile(&collected, store))) {
        ks_store_rollback(store);
        return rc;
    }
    if ((rc = ks_store_commit(store)))
        return rc;
    *clean_rev = -1;
    if (collected)
        *changed = true;
    else if (ks_store_revision(&rev, store) == 0)
        *clean_rev = rev;
    return 0;
}

int ks_controllers_reconcile_all(unsigned *out_steps, struct ks_store *store,
                                 const struct ks_ctl_env *env)
{
    int64_t clean_rev = -1;
    for (unsigned n = 1; n <= KS_CTL_MAX_STEPS; n++) {
        bool changed = false;
        int rc = step(&changed, store, env, &clean_rev);
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
