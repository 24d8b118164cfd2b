/*
 * pass.c: the controller pass the control plane runs after every sync and
 * after every write an agent makes through the API (pod status, node
 * registration, heartbeats) and on the lifecycle tick: node lifecycle
 * first (a lost node's Pods fail), then the workload controllers to a fixed
 * point (ReplicaSets replace failed Pods), then the scheduler binds what is
 * pending. Each step is its own store transaction, so an agent's write that
 * lands in between is simply seen by the next pass.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/controllers/controllers.h"

#include "core/error.h"

int ks_ctl_pass_run(struct ks_ctl_pass *pass, struct ks_store *store, int64_t now_ms)
{
    bool lifecycle_changed = false, bound = false;
    struct ks_ctl_env env = {.now = now_ms / 1000, .random = NULL, .random_arg = &pass->rng};
    json_t *report = NULL;
    unsigned steps = 0;
    int rc = ks_node_lifecycle(&lifecycle_changed, store, now_ms, pass->started_ms, &pass->grace);
    if (rc == 0)
        rc = ks_controllers_reconcile_all(&steps, store, &env);
    if (rc == 0)
        rc = ks_sched_bind_pending(&report, &bound, store, pass->rng);
    if (rc == 0 && pass->placements && report)
        json_array_extend(pass->placements, report);
    json_decref(report);
    return rc;
}
