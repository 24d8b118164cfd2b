/*
 * nodes.c: node lifecycle, the control plane's half of Kubernetes' node
 * lifecycle controller. Agents heartbeat through the API every 10 s (which
 * sets Ready=True with lastHeartbeatTime); this pass notices the silence:
 * past the monitor grace (40 s) Ready becomes Unknown (the scheduler then
 * skips the node), past a further eviction grace (--node-grace, 60 s) the
 * node's live Pods are marked Failed with reason NodeLost so that their
 * ReplicaSets replace them elsewhere. When the node's agent is back (Ready
 * again), those NodeLost Pods are deleted from the store; the agent sees
 * the deletes on its watch and removes the containers, so no duplicate
 * survives. A restarted control plane counts silence from its own start:
 * it never evicts a node only because it was itself down.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#define REASON_NODE_LOST "NodeLost"

enum ks_node_verdict ks_node_verdict_of(int64_t last_heard_ms, int64_t now_ms,
                                        const struct ks_node_grace *grace)
{
    int64_t monitor = grace && grace->monitor_ms > 0 ? grace->monitor_ms : KS_NODE_MONITOR_GRACE_MS;
    int64_t evict =
        grace && grace->eviction_ms > 0 ? grace->eviction_ms : KS_NODE_EVICTION_GRACE_MS;
    int64_t silent = now_ms - last_heard_ms;
    if (silent >= monitor + evict)
        return KS_NODE_LOST;
    if (silent >= monitor)
        return KS_NODE_SILENT;
    return KS_NODE_HEALTHY;
}

static json_t *ready_condition(const json_t *node)
{
    return ks_ctl_condition(ks_ctl_at(node, "status", "conditions"), "Ready");
}

int64_t ks_node_heartbeat_ms(const json_t *node)
{
    const char *hb = json_string_value(json_object_get(ready_condition(node), "lastHeartbeatTime"));
    int64_t t;
    if (!hb || ks_ctl_time_parse(&t, hb))
        return -1;
    return t * 1000;
}

bool ks_node_is_ready(const json_t *node)
{
    const char *st = json_string_value(json_object_get(ready_condition(node), "status"));
    return st && strcmp(st, "True") == 0;
}

/* Ready=Unknown as Kubernetes writes it; lastHeartbeatTime kept. */
static int mark_unknown(bool *changed, struct ks_store *store, const json_t *node, int64_t now_s)
{
    json_t *cond = ready_condition(node);
    const char *st = json_string_value(json_object_get(cond, "status"));
    if (st && strcmp(st, "Unknown") == 0)
        return 0;
    json_t *next = json_deep_copy(node);
    json_t *hb = json_object_get(cond, "lastHeartbeatTime");
    if (hb)
        json_incref(hb);
    ks_ctl_condition_put(next, "Ready", "Unknown", "NodeStatusUnknown",
                         "Node agent stopped posting node status.", now_s);
    if (hb)
        json_object_set_new(ready_condition(next), "lastHeartbeatTime", hb);
    int rc = ks_ctl_write(changed, store, node, next);
    if (rc == 0)
        ks_log(KS_LOG_WARN, "node is not ready: no heartbeat", "node", ks_ctl_name(node), NULL);
    json_decref(next);
    return rc;
}

static int fail_pod(bool *changed, struct ks_store *store, const json_t *pod, const char *node,
                    int64_t now_s)
{
    json_t *next = json_deep_copy(pod);
    char msg[512];
    snprintf(msg, sizeof msg, "Node %s which was running pod %s is unresponsive", node,
             ks_ctl_name(pod));
    ks_ctl_set(next, "status", "phase", json_string("Failed"));
    ks_ctl_set(next, "status", "reason", json_string(REASON_NODE_LOST));
    ks_ctl_set(next, "status", "message", json_string(msg));
    ks_ctl_condition_put(next, "Ready", "False", REASON_NODE_LOST, msg, now_s);
    int rc = ks_ctl_write(changed, store, pod, next);
    if (rc == 0)
        ks_log(KS_LOG_WARN, "pod failed: node lost", "pod", ks_ctl_name(pod), "namespace",
               ks_ctl_namespace(pod), "node", node, NULL);
    json_decref(next);
    return rc;
}

static int lifecycle_txn(bool *changed, struct ks_store *store, const json_t *nodes,
                         const json_t *pods, int64_t now_ms, int64_t started_ms,
                         const struct ks_node_grace *grace)
{
    int rc = 0;
    size_t i;
    const json_t *node, *pod;
    /* node name -> "lost" or "back": the nodes whose pods need a look; the
     * pods are then walked once (not once per node: 100 nodes x 5,000 pods
     * made this the most expensive part of an idle pass) */
    json_t *act = json_object();
    json_array_foreach(nodes, i, node)
    {
        int64_t heard = ks_node_heartbeat_ms(node);
        if (heard < started_ms)
            heard = started_ms;
        enum ks_node_verdict v = ks_node_verdict_of(heard, now_ms, grace);
        if (v != KS_NODE_HEALTHY && (rc = mark_unknown(changed, store, node, now_ms / 1000)))
            goto done;
        if (v == KS_NODE_LOST)
            json_object_set_new(act, ks_ctl_name(node), json_string("lost"));
        else if (v == KS_NODE_HEALTHY && ks_node_is_ready(node))
            json_object_set_new(act, ks_ctl_name(node), json_string("back"));
    }
    json_array_foreach(pods, i, pod)
    {
        const char *bound = ks_ctl_str(pod, "spec", "nodeName");
        const char *what = bound ? json_string_value(json_object_get(act, bound)) : NULL;
        if (!what)
            continue;
        const char *reason = ks_ctl_str(pod, "status", "reason");
        bool lost = reason && strcmp(reason, REASON_NODE_LOST) == 0;
        if (!strcmp(what, "lost") && ks_ctl_pod_active(pod))
            rc = fail_pod(changed, store, pod, bound, now_ms / 1000);
        else if (!strcmp(what, "back") && lost) {
            rc = ks_ctl_delete(changed, store, pod);
            if (rc == 0)
                ks_log(KS_LOG_INFO, "node is back: deleting its lost pod", "node", bound, "pod",
                       ks_ctl_name(pod), NULL);
        }
        if (rc)
            goto done;
    }
done:
    json_decref(act);
    return rc;
}

int ks_node_lifecycle(bool *out_changed, struct ks_store *store, int64_t now_ms, int64_t started_ms,
                      const struct ks_node_grace *grace)
{
    json_t *nodes = NULL, *pods = NULL;
    bool changed = false;
    /* read-only: nodes and pods are copied before they are written */
    int rc = ks_ctl_list_shared(&nodes, store, "Node", NULL);
    if (rc == 0 && json_array_size(nodes) > 0)
        rc = ks_ctl_list_shared(&pods, store, "Pod", NULL);
    if (rc == 0 && json_array_size(nodes) > 0 && (rc = ks_store_begin(store)) == 0) {
        rc = lifecycle_txn(&changed, store, nodes, pods, now_ms, started_ms, grace);
        if (rc == 0)
            rc = ks_store_commit(store);
        else
            ks_store_rollback(store);
    }
    json_decref(nodes);
    json_decref(pods);
    if (rc == 0)
        *out_changed = changed;
    return rc;
}
