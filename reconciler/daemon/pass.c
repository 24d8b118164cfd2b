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
#include "core/log.h"

#include <stdio.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_ctl_pass_run(struct ks_ctl_pass *pass, struct ks_store *store, int64_t now_ms)
{
    bool lifecycle_changed = false, bound = false;
    struct ks_ctl_env env = {.now = now_ms / 1000, .random = NULL, .random_arg = &pass->rng};
    json_t *report = NULL;
    unsigned steps = 0;
    int64_t t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID), t1 = t0,
            t2 = t0;
    int rc = ks_node_lifecycle(&lifecycle_changed, store, now_ms, pass->started_ms, &pass->grace);
    if (rc == 0) {
        t1 = clock_ms(CLOCK_MONOTONIC);
        rc = ks_controllers_reconcile_all(&steps, store, &env);
    }
    if (rc == 0) {
        t2 = clock_ms(CLOCK_MONOTONIC);
        rc = ks_sched_bind_pending(&report, &bound, store, pass->rng);
    }
    if (rc == 0) {
        /* the costs tests/bench/sim reads: wall time per part, thread CPU in all */
        int64_t t3 = clock_ms(CLOCK_MONOTONIC);
        char ms[24], cpu[24], lc[24], ctl[24], sched[24], nsteps[16], nbound[24];
        snprintf(ms, sizeof ms, "%lld", (long long)(t3 - t0));
        snprintf(cpu, sizeof cpu, "%lld", (long long)(clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0));
        snprintf(lc, sizeof lc, "%lld", (long long)(t1 - t0));
        snprintf(ctl, sizeof ctl, "%lld", (long long)(t2 - t1));
        snprintf(sched, sizeof sched, "%lld", (long long)(t3 - t2));
        snprintf(nsteps, sizeof nsteps, "%u", steps);
        snprintf(nbound, sizeof nbound, "%zu", json_array_size(report));
        ks_log(KS_LOG_DEBUG, "controller pass", "ms", ms, "cpu_ms", cpu, "lifecycle_ms", lc,
               "controllers_ms", ctl, "steps", nsteps, "scheduler_ms", sched, "scheduled", nbound,
               NULL);
    }
    if (rc == 0 && pass->placements && report)
        json_array_extend(pass->placements, report);
    json_decref(report);
    return rc;
}
