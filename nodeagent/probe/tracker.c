/*
 * tracker.c: kubelet's probe worker arithmetic without the thread: when the
 * next check is due (initialDelaySeconds after start, then every
 * periodSeconds) and when consecutive outcomes flip the result
 * (successThreshold in a row to succeed, failureThreshold to fail).
 */
#include "nodeagent/probe/probe.h"

void ks_probe_tracker_init(struct ks_probe_tracker *t, const struct ks_probe_spec *spec,
                           int64_t container_started_ms)
{
    t->spec = spec;
    t->next_due_ms = container_started_ms + (int64_t)spec->initial_delay_s * 1000;
    t->consecutive_ok = 0;
    t->consecutive_fail = 0;
    t->result = -1;
}

bool ks_probe_tracker_due(const struct ks_probe_tracker *t, int64_t now_ms)
{
    return now_ms >= t->next_due_ms;
}

bool ks_probe_tracker_record(struct ks_probe_tracker *t, enum ks_probe_outcome o, int64_t now_ms)
{
    int before = t->result;

    if (o == KS_PROBE_SUCCESS) {
        t->consecutive_fail = 0;
        if (t->consecutive_ok < t->spec->success_threshold)
            t->consecutive_ok++;
        if (t->consecutive_ok >= t->spec->success_threshold)
            t->result = 1;
    } else {
        t->consecutive_ok = 0;
        if (t->consecutive_fail < t->spec->failure_threshold)
            t->consecutive_fail++;
        if (t->consecutive_fail >= t->spec->failure_threshold)
            t->result = 0;
    }
    t->next_due_ms = now_ms + (int64_t)t->spec->period_s * 1000;
    return t->result != before;
}
