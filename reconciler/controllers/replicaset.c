/*
 * replicaset.c: the ReplicaSet controller (Kubernetes' replica_set.go,
 * syncReplicaSet): claim the Pods the selector matches, create or delete
 * towards spec.replicas, write status.
 *
 * Scale-down picks victims in the order of Kubernetes' ActivePodsWithRanks
 * (controller_utils.go): unscheduled before scheduled, Pending before
 * Unknown before Running, not ready before ready, pods on nodes crowded with
 * this ReplicaSet's pods first, ready for less time first, more restarts
 * first, newest first. Two simplifications, documented in
 * docs/controllers.md: ranks count this ReplicaSet's pods only (Kubernetes
 * counts all pods of the owning Deployment), and times compare linearly
 * (no LogarithmicScaleDown buckets). Ties fall to the name so that the
 * order is total and tests are deterministic.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENERATED_BASE_MAX 58 /* maxGeneratedNameLength: 63 - 5 random chars */

struct victim {
    const json_t *pod;
    int64_t rank; /* pods of this ReplicaSet on the same node */
};

static int phase_ordinal(const json_t *pod)
{
    const char *p = ks_ctl_str(pod, "status", "phase");
    if (p && !strcmp(p, "Unknown"))
        return 1;
    if (p && !strcmp(p, "Running"))
        return 2;
    return 0;
}

static int64_t restarts(const json_t *pod)
{
    int64_t max = 0;
    size_t i;
    json_t *cs;
    json_array_foreach(ks_ctl_at(pod, "status", "containerStatuses"), i, cs)
    {
        json_int_t n = json_integer_value(json_object_get(cs, "restartCount"));
        if (n > max)
            max = n;
    }
    return max;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* ActivePodsWithRanks.Less: the pod to delete first sorts first. */
static int victim_cmp(const void *pa, const void *pb)
{
    const struct victim *va = pa, *vb = pb;
    const json_t *a = va->pod, *b = vb->pod;
    const char *na = ks_ctl_str(a, "spec", "nodeName"), *nb = ks_ctl_str(b, "spec", "nodeName");
    bool sa = na && *na, sb = nb && *nb;
    if (sa != sb)
        return sa ? 1 : -1;
    int c = phase_ordinal(a) - phase_ordinal(b);
    if (c)
        return c;
    bool ra = ks_ctl_pod_ready(a), rb = ks_ctl_pod_ready(b);
    if (ra != rb)
        return ra ? 1 : -1;
    if ((c = cmp_i64(vb->rank, va->rank)))
        return c;
    if (ra && (c = cmp_i64(ks_ctl_pod_ready_since(b), ks_ctl_pod_ready_since(a))))
        return c;
    if ((c = cmp_i64(restarts(b), restarts(a))))
        return c;
    if ((c = cmp_i64(ks_ctl_created(b), ks_ctl_created(a))))
        return c;
    return strcmp(ks_ctl_name(a), ks_ctl_name(b));
}

static int delete_pods(bool *changed, struct ks_store *store, json_t *active, size_t count,
                       json_t *pods)
{
    int rc = 0;
    size_t n = json_array_size(active);
    struct victim *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i].pod = json_array_get(active, i);
        const char *node = ks_ctl_str(v[i].pod, "spec", "nodeName");
        for (size_t j = 0; node && *node && j < n; j++) {
            const char *other = ks_ctl_str(json_array_get(active, j), "spec", "nodeName");
            v[i].rank += other && !strcmp(other, node);
        }
    }
    qsort(v, n, sizeof *v, victim_cmp);
    for (size_t i = 0; i < count && i < n; i++) {
        if ((rc = ks_ctl_delete(changed, store, v[i].pod)))
            goto done;
        ks_ctl_array_remove(pods, v[i].pod);
    }
    /* keep the survivors in active for the status */
    json_t *keep = json_array();
    for (size_t i = count; i < n; i++)
        json_array_append(keep, (json_t *)v[i].pod);
    json_array_clear(active);
    json_array_extend(active, keep);
    json_decref(keep);
done:
    free(v);
    return rc;
}

static int create_pods(bool *changed, struct ks_store *store, const json_t *rs, json_t *active,
                       size_t count, const struct ks_ctl_env *env, json_t *pods)
{
    const json_t *tmpl = ks_ctl_at(rs, "spec", "template");
    const char *ns = ks_ctl_namespace(rs);
    char name[80], base[GENERATED_BASE_MAX + 1];
    snprintf(base, sizeof base, "%s-", ks_ctl_name(rs));
    for (size_t i = 0; i < count; i++) {
        int rc = ks_ctl_generate_name(name, sizeof name, store, "Pod", ns, ks_ctl_name(rs), env);
        if (rc)
            return rc;
        json_t *pod = ks_ctl_pod_new(rs, tmpl, name, base, env);
        rc = ks_ctl_pod_create(changed, store, pod, pods);
        if (!rc)
            json_array_append(active, pod);
        json_decref(pod);
        if (rc)
            return rc;
    }
    return 0;
}

/* Checks the spec; *out_sel on success. */
static int check_spec(struct ks_selector **out_sel, int64_t *out_replicas, const json_t *rs)
{
    int rc = ks_ctl_int(out_replicas, rs, "spec", "replicas", 1, KS_CTL_MAX_REPLICAS);
    return rc ? rc : ks_ctl_selector(out_sel, rs);
}

static bool fully_labeled(const json_t *pod, const json_t *tmpl_labels)
{
    const char *k;
    json_t *v;
    const json_t *labels = ks_ctl_at(pod, "metadata", "labels");
    json_object_foreach((json_t *)tmpl_labels, k, v)
    {
        if (!json_equal(json_object_get(labels, k), v))
            return false;
    }
    return true;
}

static json_t *status_of(const json_t *rs, const json_t *active, int64_t min_ready, int64_t now)
{
    int64_t ready = 0, available = 0, labeled = 0;
    const json_t *tmpl_labels = ks_ctl_at(ks_ctl_at(rs, "spec", "template"), "metadata", "labels");
    size_t i;
    json_t *pod;
    json_array_foreach(active, i, pod)
    {
        ready += ks_ctl_pod_ready(pod);
        available += ks_ctl_pod_available(pod, min_ready, now);
        labeled += fully_labeled(pod, tmpl_labels);
    }
    json_t *st = json_pack("{s:I, s:I, s:I, s:I}", "replicas", (json_int_t)json_array_size(active),
                           "fullyLabeledReplicas", (json_int_t)labeled, "readyReplicas",
                           (json_int_t)ready, "availableReplicas", (json_int_t)available);
    json_t *gen = ks_ctl_at(rs, "metadata", "generation");
    if (json_is_integer(gen))
        json_object_set(st, "observedGeneration", gen);
    return st;
}

int ks_ctl_replicaset_reconcile(bool *out_changed, struct ks_store *store, const json_t *rs,
                                const struct ks_ctl_env *env)
{
    json_t *pods = NULL;
    int rc = ks_ctl_list(&pods, store, "Pod", ks_ctl_namespace(rs));
    if (!rc)
        rc = ks_ctl_replicaset_sync(out_changed, store, rs, env, pods);
    json_decref(pods);
    return rc;
}

int ks_ctl_replicaset_sync(bool *out_changed, struct ks_store *store, const json_t *rs,
                           const struct ks_ctl_env *env, json_t *pods)
{
    int rc = 0;
    struct ks_selector *sel = NULL;
    json_t *owned = NULL, *active = json_array();
    int64_t replicas = 0, min_ready = 0;
    if ((rc = check_spec(&sel, &replicas, rs)) ||
        (rc = ks_ctl_int(&min_ready, rs, "spec", "minReadySeconds", 0, INT32_MAX))) {
        if (rc != KS_EINVALID && rc != KS_ELIMIT)
            goto done;
        json_t *st = json_deep_copy(json_object_get(rs, "status"));
        if (!json_is_object(st)) {
            json_decref(st);
            st = json_object();
        }
        json_object_set_new(st, "conditions",
                            json_pack("[{s:s, s:s, s:s, s:s}]", "type", "ReplicaFailure", "status",
                                      "True", "reason", "InvalidSpec", "message", ks_error_last()));
        rc = ks_ctl_write_status(out_changed, store, rs, st);
        goto done;
    }
    if ((rc = ks_ctl_claim(&owned, out_changed, store, rs, sel, pods)))
        goto done;
    size_t i;
    json_t *pod;
    json_array_foreach(owned, i, pod)
    {
        if (ks_ctl_pod_active(pod))
            json_array_append(active, pod);
    }
    int64_t have = (int64_t)json_array_size(active);
    if (have < replicas) {
        int64_t n = replicas - have < KS_CTL_BURST ? replicas - have : KS_CTL_BURST;
        rc = create_pods(out_changed, store, rs, active, (size_t)n, env, pods);
    } else if (have > replicas) {
        int64_t n = have - replicas < KS_CTL_BURST ? have - replicas : KS_CTL_BURST;
        rc = delete_pods(out_changed, store, active, (size_t)n, pods);
    }
    if (rc)
        goto done;
    rc = ks_ctl_write_status(out_changed, store, rs, status_of(rs, active, min_ready, env->now));
done:
    ks_selector_free(sel);
    json_decref(owned);
    json_decref(active);
    return rc;
}
