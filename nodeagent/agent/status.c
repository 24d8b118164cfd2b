/*
 * status.c: the Kubernetes PodStatus (contracts §11) built from what a pod
 * worker knows: phase, conditions with transition times, container states,
 * restart counts, pod IP. Pure, so unit tests check every shape.
 */
#include "nodeagent/agent/internal.h"

#include <string.h>

static bool ctr_exited(const struct ks_ctr *c)
{
    return c->start_failed || (c->have_state && !c->st.running && c->st.started_ns > 0);
}

/* Exit code of an exited container; a failed start is 128, as the kubelet. */
static int exit_code(const struct ks_ctr *c)
{
    return c->start_failed ? 128 : c->st.exit_code;
}

const char *ks_agent_phase(const struct ks_pod_view *v)
{
    bool init_done = true, any_started = false, any_running = false, all_term = true, all_ok = true,
         pending_restart = false;
    for (size_t i = 0; i < v->nctrs; i++) {
        const struct ks_ctr *c = &v->ctrs[i];
        if (c->init) {
            if (!c->completed) {
                init_done = false;
                if (v->policy == KS_RESTART_NEVER && ctr_exited(c) && exit_code(c) != 0 &&
                    !c->restart_pending)
                    return "Failed";
            }
            continue;
        }
        if (c->start_failed || (c->have_state && c->st.started_ns > 0))
            any_started = true;
        if (c->have_state && c->st.running)
            any_running = true;
        /* an exit the policy restarts is never final, even before the
         * worker has scheduled the restart */
        if (c->restart_pending ||
            (ctr_exited(c) && !c->held && ks_agent_should_restart(v->policy, exit_code(c))))
            pending_restart = true;
        if (!ctr_exited(c) || pending_restart)
            all_term = false;
        else if (exit_code(c) != 0)
            all_ok = false;
    }
    if (!init_done || !any_started)
        return "Pending";
    if (any_running || pending_restart || !all_term)
        return "Running";
    return all_ok ? "Succeeded" : "Failed";
}

static void set_time(json_t *o, const char *key, int64_t ns)
{
    char t[32];
    if (ns <= 0)
        return;
    ks_agent_time_format(t, ns);
    json_object_set_new(o, key, json_string(t));
}

static json_t *terminated(const struct ks_podman_ctr_state *st)
{
    json_t *t = json_pack("{s:i, s:s}", "exitCode", st->exit_code, "reason",
                          st->oom_killed       ? "OOMKilled"
                          : st->exit_code == 0 ? "Completed"
                                               : "Error");
    set_time(t, "startedAt", st->started_ns);
    set_time(t, "finishedAt", st->finished_ns);
    return t;
}

static json_t *ctr_status(const struct ks_ctr *c)
{
    const char *image = json_string_value(json_object_get(c->spec, "image"));
    json_t *state, *s = json_object();
    if (c->start_failed) {
        json_t *t = json_pack("{s:i, s:s}", "exitCode", 128, "reason", "StartError");
        if (c->start_error)
            json_object_set_new(t, "message", json_string(c->start_error));
        state = json_pack("{s:o}", "terminated", t);
    } else if (c->have_state && c->st.running) {
        json_t *r = json_object();
        set_time(r, "startedAt", c->st.started_ns);
        state = json_pack("{s:o}", "running", r);
    } else if (c->wait_reason) {
        json_t *w = json_pack("{s:s}", "reason", c->wait_reason);
        if (c->wait_msg)
            json_object_set_new(w, "message", json_string(c->wait_msg));
        state = json_pack("{s:o}", "waiting", w);
    } else if (ctr_exited(c)) {
        state = json_pack("{s:o}", "terminated", terminated(&c->st));
    } else {
        state = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
    }
    json_object_set_new(s, "name", json_string(c->name));
    json_object_set_new(s, "image", json_string(image ? image : ""));
    json_object_set_new(s, "imageID", json_string(c->image_id ? c->image_id : ""));
    if (c->id)
        json_object_set_new(s, "containerID", json_sprintf("podman://%s", c->id));
    bool running = c->have_state && c->st.running;
    json_object_set_new(s, "ready", json_boolean(running && c->ready));
    json_object_set_new(s, "started", json_boolean(running && c->started));
    json_object_set_new(s, "restartCount", json_integer(c->restarts));
    json_object_set_new(s, "state", state);
    if (c->last_term)
        json_object_set_new(s, "lastState", json_pack("{s:O}", "terminated", c->last_term));
    else
        json_object_set_new(s, "lastState", json_object());
    return s;
}

/* The transition time of condition type with status in prev, if unchanged. */
static const char *prev_transition(const json_t *prev, const char *type, const char *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(prev, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t && st && strcmp(t, type) == 0 && strcmp(st, status) == 0)
            return json_string_value(json_object_get(c, "lastTransitionTime"));
    }
    return NULL;
}

static void add_cond(json_t *conds, const json_t *prev, const char *type, bool ok,
                     const char *reason, const char *now)
{
    const char *status = ok ? "True" : "False";
    const char *t = prev_transition(prev, type, status);
    json_t *c = json_pack("{s:s, s:s, s:s}", "type", type, "status", status, "lastTransitionTime",
                          t ? t : now);
    if (!ok && reason)
        json_object_set_new(c, "reason", json_string(reason));
    json_array_append_new(conds, c);
}

json_t *ks_agent_status_build(const struct ks_pod_view *v, const json_t *prev, int64_t now_ns)
{
    char now[32];
    ks_agent_time_format(now, now_ns);
    const char *phase = ks_agent_phase(v);
    json_t *st = json_object(), *conds = json_array(), *ctrs = json_array(), *inits = json_array();
    bool init_done = true, all_ready = true;
    size_t nmain = 0;
    for (size_t i = 0; i < v->nctrs; i++) {
        const struct ks_ctr *c = &v->ctrs[i];
        if (c->init) {
            init_done = init_done && c->completed;
            json_array_append_new(inits, ctr_status(c));
        } else {
            nmain++;
            if (!(c->have_state && c->st.running && c->ready))
                all_ready = false;
            json_array_append_new(ctrs, ctr_status(c));
        }
    }
    if (nmain == 0)
        all_ready = false;
    bool done = strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
    const char *nr = done         ? "PodCompleted"
                     : !init_done ? "ContainersNotInitialized"
                                  : "ContainersNotReady";
    json_object_set_new(st, "phase", json_string(phase));
    add_cond(conds, prev, "PodScheduled", true, NULL, now);
    add_cond(conds, prev, "Initialized", init_done, "ContainersNotInitialized", now);
    add_cond(conds, prev, "ContainersReady", all_ready, nr, now);
    add_cond(conds, prev, "Ready", all_ready, nr, now);
    json_object_set_new(st, "conditions", conds);
    if (json_array_size(inits))
        json_object_set_new(st, "initContainerStatuses", inits);
    else
        json_decref(inits);
    json_object_set_new(st, "containerStatuses", ctrs);
    if (v->pod_ip && *v->pod_ip) {
        json_object_set_new(st, "podIP", json_string(v->pod_ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", v->pod_ip));
    }
    if (v->host_ip && *v->host_ip)
        json_object_set_new(st, "hostIP", json_string(v->host_ip));
    set_time(st, "startTime", v->start_ns);
    if (v->reason)
        json_object_set_new(st, "reason", json_string(v->reason));
    if (v->message)
        json_object_set_new(st, "message", json_string(v->message));
    return st;
}
