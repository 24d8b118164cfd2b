/*
 * health.c: per-object health in Argo CD's vocabulary, following the
 * checks of gitops-engine's pkg/health (health_deployment.go,
 * health_replicaset.go, health_pod.go, health_daemonset.go,
 * health_statefulset.go, health_job.go, health_service.go) and Argo CD's
 * CronJob check, with their messages. A generation
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
    return ks_ctl_condition(ks_ctl_at(obj, "status", "conditions"), type);
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

static bool condition_true(const json_t *obj, const char *type)
{
    return !strcmp(cond_str(condition(obj, type), "status"), "True");
}

/* A spec the controllers refused (InvalidSpec on any condition). */
static const json_t *invalid_spec(const json_t *obj)
{
    size_t i;
    json_t *c;
    json_array_foreach(ks_ctl_at(obj, "status", "conditions"), i, c)
    {
        if (!strcmp(cond_str(c, "reason"), "InvalidSpec") && !strcmp(cond_str(c, "status"), "True"))
            return c;
    }
    return NULL;
}

/* health_daemonset.go */
static enum ks_health_status daemonset(const json_t *ds, char *reason, size_t cap)
{
    if (generation_behind(ds))
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for rollout to finish: observed daemon set generation less than "
                   "desired generation");
    int64_t desired = num(ds, "status", "desiredNumberScheduled");
    int64_t updated = num(ds, "status", "updatedNumberScheduled");
    int64_t available = num(ds, "status", "numberAvailable");
    const char *type = ks_ctl_str(ks_ctl_at(ds, "spec", "updateStrategy"), "type", NULL);
    if (type && !strcmp(type, "OnDelete"))
        return say(KS_HEALTH_HEALTHY, reason, cap,
                   "daemon set %lld out of %lld new pods have been updated", (long long)updated,
                   (long long)desired);
    if (updated < desired)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods "
                   "have been updated...",
                   ks_ctl_name(ds), (long long)updated, (long long)desired);
    if (available < desired)
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods "
                   "are available...",
                   ks_ctl_name(ds), (long long)available, (long long)desired);
    return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "");
}

/* health_statefulset.go */
static enum ks_health_status statefulset(const json_t *sts, char *reason, size_t cap)
{
    if (generation_behind(sts))
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "Waiting for statefulset spec update to be observed...");
    const json_t *rep = ks_ctl_at(sts, "spec", "replicas");
    int64_t want = json_is_integer(rep) ? json_integer_value(rep) : 1;
    int64_t ready = num(sts, "status", "readyReplicas");
    int64_t updated = num(sts, "status", "updatedReplicas");
    if (ready < want)
        return say(KS_HEALTH_PROGRESSING, reason, cap, "Waiting for %lld pods to be ready...",
                   (long long)(want - ready));
    const json_t *strategy = ks_ctl_at(sts, "spec", "updateStrategy");
    const char *type = ks_ctl_str(strategy, "type", NULL);
    const json_t *partition =
        ks_ctl_at(ks_ctl_at(strategy, "rollingUpdate", NULL), "partition", NULL);
    if ((!type || !strcmp(type, "RollingUpdate")) && json_is_integer(partition)) {
        int64_t p = json_integer_value(partition);
        if (updated < want - p)
            return say(KS_HEALTH_PROGRESSING, reason, cap,
                       "Waiting for partitioned roll out to finish: %lld out of %lld new pods "
                       "have been updated...",
                       (long long)updated, (long long)(want - p));
        return say(KS_HEALTH_HEALTHY, reason, cap,
                   "partitioned roll out complete: %lld new pods have been updated...",
                   (long long)updated);
    }
    if (type && !strcmp(type, "OnDelete"))
        return say(KS_HEALTH_HEALTHY, reason, cap, "statefulset has %lld ready pods",
                   (long long)ready);
    const char *cur = ks_ctl_str(sts, "status", "currentRevision");
    const char *upd = ks_ctl_str(sts, "status", "updateRevision");
    if (cur && upd && strcmp(cur, upd))
        return say(KS_HEALTH_PROGRESSING, reason, cap,
                   "waiting for statefulset rolling update to complete %lld pods at revision "
                   "%s...",
                   (long long)updated, upd);
    return say(KS_HEALTH_HEALTHY, reason, cap,
               "statefulset rolling update complete %lld pods at revision %s...",
               (long long)num(sts, "status", "currentReplicas"), cur ? cur : "");
}

/* health_job.go */
static enum ks_health_status job(const json_t *j, char *reason, size_t cap)
{
    if (condition_true(j, "Failed"))
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s",
                   cond_str(condition(j, "Failed"), "message"));
    if (condition_true(j, "Complete"))
        return say(KS_HEALTH_HEALTHY, reason, cap, "%s",
                   cond_str(condition(j, "Complete"), "message"));
    if (condition_true(j, "Suspended"))
        return say(KS_HEALTH_SUSPENDED, reason, cap, "%s",
                   cond_str(condition(j, "Suspended"), "message"));
    return say(KS_HEALTH_PROGRESSING, reason, cap, "%s", "job is running");
}

/* Argo CD's built-in batch/CronJob health check (resource_customizations). */
static enum ks_health_status cronjob(const json_t *cj, char *reason, size_t cap)
{
    if (json_is_true(ks_ctl_at(cj, "spec", "suspend")))
        return say(KS_HEALTH_SUSPENDED, reason, cap, "%s", "CronJob is Suspended");
    if (condition_true(cj, "InvalidSchedule"))
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s",
                   cond_str(condition(cj, "InvalidSchedule"), "message"));
    int64_t scheduled = 0, succeeded = 0;
    const char *last = ks_ctl_str(cj, "status", "lastScheduleTime");
    const char *ok = ks_ctl_str(cj, "status", "lastSuccessfulTime");
    if (!last)
        return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "CronJob has not been scheduled yet");
    ks_ctl_time_parse(&scheduled, last);
    if (ok)
        ks_ctl_time_parse(&succeeded, ok);
    if (json_array_size(ks_ctl_at(cj, "status", "active")))
        return say(KS_HEALTH_PROGRESSING, reason, cap, "%s", "CronJob has active jobs");
    if (!ok || succeeded < scheduled)
        return say(KS_HEALTH_DEGRADED, reason, cap, "%s",
                   "CronJob has not completed its last execution successfully");
    return say(KS_HEALTH_HEALTHY, reason, cap, "%s",
               "CronJob has completed its last execution successfully");
}

/* health_service.go */
static enum ks_health_status service(const json_t *svc, char *reason, size_t cap)
{
    const char *type = ks_ctl_str(svc, "spec", "type");
    if (type && !strcmp(type, "LoadBalancer") &&
        !json_array_size(ks_ctl_at(ks_ctl_at(svc, "status", "loadBalancer"), "ingress", NULL)))
        return say(KS_HEALTH_PROGRESSING, reason, cap, "%s",
                   "Waiting for a load balancer (keelson provides none: use NodePort)");
    return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "");
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
    static const struct {
        const char *kind;
        enum ks_health_status (*fn)(const json_t *, char *, size_t);
    } kinds[] = {{"DaemonSet", daemonset},
                 {"StatefulSet", statefulset},
                 {"Job", job},
                 {"CronJob", cronjob},
                 {"Service", service}};
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kind, kinds[i].kind))
            continue;
        const json_t *bad = invalid_spec(obj); /* a spec the controller refused */
        if (bad)
            return say(KS_HEALTH_DEGRADED, reason, cap, "%s", cond_str(bad, "message"));
        return kinds[i].fn(obj, reason, cap);
    }
    if (kind &&
        (!strcmp(kind, "Endpoints") || !strcmp(kind, "ConfigMap") || !strcmp(kind, "Secret")))
        return say(KS_HEALTH_HEALTHY, reason, cap, "%s", "");
    return say(KS_HEALTH_HEALTHY, reason, cap, "no health check for kind %s", kind ? kind : "?");
}
