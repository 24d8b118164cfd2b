/*
 * health.c: per-object health in Argo CD's vocabulary, following the
 * checks of gitops-engine's pkg/health (health_deployment.go,
 * health_replicaset.go, health_pod.go) with their messages. A generation
 * check is made only when both metadata.generation and
 * status.observedGeneration are present (the store does not keep
 * generations itself).
 */
#include "reconciler/controllers/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ks_health_name(enum ks_health_status status)
{
    switch (status) {
    case KS_HEALTH_HEALTHY:
        return "Healthy";
    case KS_HEALTH_PROGRESSING:
        return "Progressing";
    case KS_HEALTH_DEGRADED:
        return "Degraded";
    case KS_HEALTH_SUSPENDED:
        return "Suspended";
    case KS_HEALTH_MISSING:
        return "Missing";
    case KS_HEALTH_UNKNOWN:
        break;
    }
    return "Unknown";
}

__attribute__((format(printf, 4, 5))) static enum ks_health_status
say(enum ks_health_status st, char *reason, size_t cap, const char *fmt, ...)
{
    if (cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

static int64_t num(const json_t *obj, const char *a, const char *b)
{
    return json_integer_value(ks_ctl_at(obj, a, b));
}

static bool generation_behind(const json_t *obj)
{
    const json_t *gen = ks_ctl_at(obj, "metadata", "generation");
    const json_t *seen = ks_ctl_at(obj, "status", "observedGeneration");
    return json_is_integer(gen) && json_is_integer(seen) &&
           json_integer_value(gen) > json_integer_value(seen);
}

static const json_t *condition(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(ks_ctl_at(obj, "status", "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

static const char *cond_str(const json_t *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c, key));
    return s ? s : "";
}

static enum ks_health_status deployment(const json_t *d, char *reason, size_t cap)
{
    if (json_is_true(ks_ctl_at(d, "spec", "paused")))
        return say(KS_HEALTH_SUSPENDED, reason, cap, "Deployment is paused");
    if (generation_behind(d))
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: observed deployment generation less than "
                   "desired generation");
    const json_t *prog = condition(d, "Progressing");
    if (!strcmp(cond_str(prog, "reason"), "ProgressDeadlineExceeded"))
        return say(KS_HEALTH_DEGRADED, reason, cap,
                   "Deployment \"%s\" exceeded its progress deadline", ks_ctl_name(d));
    if (!strcmp(cond_str(prog, "reason"), "InvalidSpec"))
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s", cond_str(prog, "message"));
    const json_t *rep = ks_ctl_at(d, "spec", "replicas");
    int64_t want = json_is_integer(rep) ? json_integer_value(rep) : 1;
    int64_t updated = num(d, "status", "updatedReplicas"), total = num(d, "status", "replicas");
    int64_t available = num(d, "status", "availableReplicas");
    if (updated < want)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: %lld out of %lld new replicas have been "
                   "updated...",
                   (long long)updated, (long long)want);
    if (total > updated)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: %lld old replicas are pending termination...",
                   (long long)(total - updated));
    if (available < updated)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: %lld of %lld updated replicas are available...",
                   (long long)available, (long long)updated);
    return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "");
}

static enum ks_health_status replicaset(const json_t *rs, char *reason, size_t cap)
{
    if (generation_behind(rs))
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: observed replica set generation less than "
                   "desired generation");
    const json_t *fail = condition(rs, "ReplicaFailure");
    if (!strcmp(cond_str(fail, "status"), "True"))
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s", cond_str(fail, "message"));
    const json_t *rep = ks_ctl_at(rs, "spec", "replicas");
    int64_t want = json_is_integer(rep) ? json_integer_value(rep) : 1;
    int64_t available = num(rs, "status", "availableReplicas");
    if (available < want)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: %lld out of %lld new replicas are available...",
                   (long long)available, (long long)want);
    return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "");
}

/* Waiting reasons that mean the container cannot start (Err*, *Error, *BackOff). */
static bool bad_waiting(const char *r)
{
    size_t n = strlen(r);
    return !strncmp(r, "Err", 3) || (n >= 5 && !strcmp(r + n - 5, "Error")) ||
           (n >= 7 && !strcmp(r + n - 7, "BackOff"));
}

static enum ks_health_status pod(const json_t *p, char *reason, size_t cap)
{
    const char *policy = ks_ctl_str(p, "spec", "restartPolicy");
    bool always = !policy || !strcmp(policy, "Always");
    const char *phase = ks_ctl_str(p, "status", "phase");
    const char *msg = ks_ctl_str(p, "status", "message");
    if (always) {
        size_t i;
        json_t *cs;
        json_array_foreach(ks_ctl_at(p, "status", "containerStatuses"), i, cs)
        {
            const json_t *w = ks_ctl_at(cs, "state", "waiting");
            const char *r = json_string_value(json_object_get(w, "reason"));
            if (r && bad_waiting(r)) {
                const char *m = json_string_value(json_object_get(w, "message"));
                return say(KS_HEALTH_DEGRADED, reason, cap, "%s", m ? m : r);
            }
        }
    }
    if (!phase || !strcmp(phase, "Pending"))
        return say(KS_HEALTH_PROGRESSING, reason, cap, "%s", msg ? msg : "Pod is pending");
    if (!strcmp(phase, "Succeeded"))
        return say(KS_HEALTH_HEALTHY, reason, cap, "%s", msg ? msg : "");
    if (!strcmp(phase, "Failed"))
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s", msg ? msg : "Pod failed");
    if (!strcmp(phase, "Running")) {
        if (always && ks_ctl_pod_ready(p))
            return say(KS_HEALTH_HEALTHY, reason, cap, "%s", msg ? msg : "");
        return say(KS_HEALTH_PROGRESSING, reason, cap, "%s", msg ? msg : "Pod is not ready");
    }
    return say(KS_HEALTH_UNKNOWN, reason, cap, "%s", msg ? msg : "Pod phase is unknown");
}

enum ks_health_status ks_health_of(const json_t *obj, char *reason, size_t cap)
{
    if (!obj)
        return say(KS_HEALTH_MISSING, reason, cap, "%s", "object does not exist");
    const char *kind = ks_ctl_str(obj, "kind", NULL);
    if (kind && !strcmp(kind, "Deployment"))
        return deployment(obj, reason, cap);
    if (kind && !strcmp(kind, "ReplicaSet"))
        return replicaset(obj, reason, cap);
    if (kind && !strcmp(kind, "Pod"))
        return pod(obj, reason, cap);
    return say(KS_HEALTH_HEALTHY, reason, cap, "no health check for kind %s", kind ? kind : "?");
}
