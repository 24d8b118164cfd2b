/*
 * bind.c: the scheduler's side of the control plane. Pods that controllers
 * (or Git) created without spec.nodeName are placed by the scheduler
 * library (kube-scheduler's default profile) onto the Nodes whose Ready
 * condition is True, with the live Pods already bound counted as load, and
 * bound by writing spec.nodeName (the agent of that node then sees the Pod
 * on its watch). A Pod that fits nowhere stays Pending with
 * PodScheduled=False, reason Unschedulable and kube-scheduler's
 * explanation, rewritten only when the explanation changes. A Pod the
 * scheduler cannot even read (a malformed request) is reported the same
 * way with the parse error, so one bad Pod never blocks the others.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/controllers/internal.h"
#include "scheduler/scheduler.h"

#include "core/error.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIND_BATCH 250 /* bindings per store transaction */

static bool pod_live(const json_t *pod)
{
    return ks_ctl_pod_active(pod) && !ks_ctl_at(pod, "metadata", "deletionTimestamp");
}

/* {"ns/name": pod} of the pods (borrowed references), so that writing the
 * results of 5,000 placements is not 5,000 walks over 5,000 pods. */
static json_t *index_pods(const json_t *pods)
{
    json_t *index = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        char key[512];
        snprintf(key, sizeof key, "%s/%s", ks_ctl_namespace(p), ks_ctl_name(p));
        json_object_set(index, key, p);
    }
    return index;
}

static json_t *find_pod(const json_t *index, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    return json_object_get(index, key);
}

static int mark_unschedulable(bool *changed, struct ks_store *store, const json_t *pod,
                              const char *message, json_t *report)
{
    json_t *cond = ks_ctl_condition(ks_ctl_at(pod, "status", "conditions"), "PodScheduled");
    const char *old = json_string_value(json_object_get(cond, "message"));
    const char *st = json_string_value(json_object_get(cond, "status"));
    if (old && st && !strcmp(st, "False") && !strcmp(old, message))
        return 0;
    json_t *next = json_deep_copy(pod);
    if (!ks_ctl_str(next, "status", "phase"))
        ks_ctl_set(next, "status", "phase", json_string("Pending"));
    ks_ctl_condition_put(next, "PodScheduled", "False", "Unschedulable", message, time(NULL));
    int rc = ks_ctl_write(changed, store, pod, next);
    json_decref(next);
    if (rc == 0) {
        char id[512];
        snprintf(id, sizeof id, "%s/%s", ks_ctl_namespace(pod), ks_ctl_name(pod));
        json_array_append_new(report, json_pack("{s:s, s:s}", "pod", id, "unschedulable", message));
        ks_log(KS_LOG_INFO, "pod unschedulable", "pod", id, "reason", message, NULL);
    }
    return rc;
}

static int bind_pod(bool *changed, struct ks_store *store, const json_t *pod, const char *node,
                    json_t *report)
{
    json_t *next = json_deep_copy(pod);
    ks_ctl_set(next, "spec", "nodeName", json_string(node));
    ks_ctl_condition_put(next, "PodScheduled", "True", "Scheduled", NULL, time(NULL));
    int rc = ks_ctl_write(changed, store, pod, next);
    json_decref(next);
    if (rc == 0) {
        char id[512];
        snprintf(id, sizeof id, "%s/%s", ks_ctl_namespace(pod), ks_ctl_name(pod));
        json_array_append_new(report, json_pack("{s:s, s:s}", "pod", id, "node", node));
        ks_log(KS_LOG_INFO, "pod bound", "pod", id, "node", node, NULL);
    }
    return rc;
}

/* Ready nodes into s (their names into ready); bound live pods as load;
 * pending live pods into pending[] (ids) or straight to bad (rejected). */
static int load(struct ks_sched *s, json_t *ready, uint32_t *pending, size_t *npending, json_t *bad,
                const json_t *nodes, const json_t *pods)
{
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(nodes, i, v)
    {
        if (!ks_node_is_ready(v))
            continue;
        if ((rc = ks_sched_node_set_json(s, v)))
            return ks_error_wrap(rc, "node %s", ks_ctl_name(v));
        json_object_set_new(ready, ks_ctl_name(v), json_true());
    }
    json_array_foreach(pods, i, v)
    {
        const char *node = ks_ctl_str(v, "spec", "nodeName");
        if (!pod_live(v) || !node || !*node || !json_object_get(ready, node))
            continue;
        uint32_t id;
        if (ks_sched_pod_add_json(&id, s, v))
            ks_log(KS_LOG_WARN, "bound pod not counted as load", "pod", ks_ctl_name(v), "error",
                   ks_error_last(), NULL);
    }
    json_array_foreach(pods, i, v)
    {
        const char *node = ks_ctl_str(v, "spec", "nodeName");
        if (!pod_live(v) || (node && *node))
            continue;
        json_t *copy = json_deep_copy(v);
        json_object_del(json_object_get(copy, "spec"), "nodeName");
        uint32_t id;
        if (ks_sched_pod_add_json(&id, s, copy) == 0)
            pending[(*npending)++] = id;
        else
            json_array_append_new(bad, json_pack("{s:O, s:s}", "pod", v, "error", ks_error_last()));
        json_decref(copy);
    }
    return 0;
}

static int write_results(bool *changed, struct ks_store *store, struct ks_sched *s,
                         const struct ks_sched_result *res, size_t n, const json_t *pods,
                         const json_t *bad, json_t *report)
{
    int rc = 0;
    json_t *index = index_pods(pods);
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* commit every BIND_BATCH results: agents' writes get the lock in between */
        if (i > 0 && i % BIND_BATCH == 0 && (rc = ks_store_commit(store)) == 0)
            rc = ks_store_begin(store);
        if (rc)
            break;
        const json_t *pod = find_pod(index, ks_sched_pod_namespace(s, res[i].pod),
                                     ks_sched_pod_name(s, res[i].pod));
        if (!pod)
            continue;
        if (res[i].status == KS_SCHED_BOUND && res[i].node)
            rc = bind_pod(changed, store, pod, res[i].node, report);
        else
            rc = mark_unschedulable(changed, store, pod,
                                    res[i].message ? res[i].message : "no node fits", report);
    }
    size_t i;
    json_t *b;
    json_array_foreach(bad, i, b)
    {
        if (rc)
            break;
        char msg[1024];
        snprintf(msg, sizeof msg, "cannot be scheduled: %s",
                 json_string_value(json_object_get(b, "error")));
        rc = mark_unschedulable(changed, store, json_object_get(b, "pod"), msg, report);
    }
    json_decref(index);
    return rc;
}

int ks_sched_bind_pending(json_t **out, bool *out_changed, struct ks_store *store, uint64_t seed)
{
    json_t *nodes = NULL, *pods = NULL, *ready = json_object(), *bad = json_array(),
           *report = json_array();
    struct ks_sched *s = NULL;
    struct ks_sched_result *res = NULL;
    uint32_t *pending = NULL;
    size_t npending = 0;
    bool changed = false;
    struct ks_sched_config cfg = {.seed = seed};
    /* read-only: pods are copied before they are written (bind_pod, mark_unschedulable) */
    int rc = ks_ctl_list_shared(&nodes, store, "Node", NULL);
    if (rc || (rc = ks_ctl_list_shared(&pods, store, "Pod", NULL)))
        goto done;
    size_t np = json_array_size(pods);
    bool any = false; /* an idle pass (nothing pending) skips loading 5,000 pods as load */
    for (size_t k = 0; k < np && !any; k++) {
        const json_t *v = json_array_get(pods, k);
        const char *node = ks_ctl_str(v, "spec", "nodeName");
        any = pod_live(v) && !(node && *node);
    }
    if (!any)
        goto done;
    if (!(pending = calloc(np ? np : 1, sizeof *pending))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_sched_new(&s, &cfg)) ||
        (rc = load(s, ready, pending, &npending, bad, nodes, pods)))
        goto done;
    if (npending == 0 && json_array_size(bad) == 0)
        goto done;
    if (!(res = calloc(npending ? npending : 1, sizeof *res))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (npending && (rc = ks_sched_batch(res, s, pending, npending, false)))
        goto done;
    if ((rc = ks_store_begin(store)))
        goto done;
    rc = write_results(&changed, store, s, res, npending, pods, bad, report);
    if (rc == 0)
        rc = ks_store_commit(store);
    else
        ks_store_rollback(store);
done:
    for (size_t i = 0; res && i < npending; i++)
        ks_sched_result_release(&res[i]);
    free(res);
    free(pending);
    ks_sched_free(s);
    json_decref(nodes);
    json_decref(pods);
    json_decref(ready);
    json_decref(bad);
    if (rc == 0) {
        if (out_changed)
            *out_changed = changed;
        if (out)
            *out = json_incref(report);
    }
    json_decref(report);
    return rc;
}
