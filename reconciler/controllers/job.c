/*
 * job.c: the Job controller (Kubernetes' pkg/controller/job,
 * syncJob/manageJob), one sync of one Job against the store.
 *
 * Pods are selected by the controller-uid label the controller puts on
 * them (spec.selector only with manualSelector: true), named
 * <job>-<5 random chars> (Indexed: <job>-<index>-<5 chars>, with the
 * completion-index annotation and label and JOB_COMPLETION_INDEX in every
 * container's env). Finished pods are kept and counted (status.succeeded,
 * status.failed), as Kubernetes does; they go with the Job.
 *
 * While not finished: up to parallelism pods run, never more than the
 * completions still missing (no completions: until one pod succeeds).
 * Failures (Failed pods, plus container restarts with restartPolicy
 * OnFailure) above backoffLimit (default 6) fail the Job with reason
 * BackoffLimitExceeded; after a pod fails, the next one is created only
 * after a back-off of 10 s doubling per consecutive failure (failed pods
 * since the last success) up to 6 min, counted from the last failure's
 * finish time on the injected clock. activeDeadlineSeconds after
 * status.startTime fails it with reason DeadlineExceeded. Failing deletes
 * the active pods. spec.suspend deletes the active pods and creates none
 * (condition Suspended). A finished Job (condition Complete or Failed) is
 * deleted ttlSecondsAfterFinished after finishing, with its pods.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_BASE 10 /* seconds: first pod-failure back-off */
#define BACKOFF_MAX 360 /* seconds: back-off ceiling (6 min) */
#define DEFAULT_BACKOFF_LIMIT 6
#define INDEX_ANNOTATION "batch.kubernetes.io/job-completion-index"

struct jsync {
    bool *changed;
    struct ks_store *store;
    const json_t *job;
    const struct ks_ctl_env *env;
    json_t *pods;
    int64_t parallelism, completions, backoff_limit, deadline, ttl;
    bool has_completions, has_deadline, has_ttl, indexed, suspend, on_failure;
};

/* When a finished pod finished: the latest container finishedAt, else
 * the latest condition transition, else its creation. */
static int64_t finished_at(const json_t *pod)
{
    int64_t best = 0, t;
    size_t i;
    json_t *x;
    json_array_foreach(ks_ctl_at(pod, "status", "containerStatuses"), i, x)
    {
        const char *s =
            json_string_value(json_object_get(ks_ctl_at(x, "state", "terminated"), "finishedAt"));
        if (s && !ks_ctl_time_parse(&t, s) && t > best)
            best = t;
    }
    if (best)
        return best;
    json_array_foreach(ks_ctl_at(pod, "status", "conditions"), i, x)
    {
        const char *s = json_string_value(json_object_get(x, "lastTransitionTime"));
        if (s && !ks_ctl_time_parse(&t, s) && t > best)
            best = t;
    }
    return best ? best : ks_ctl_created(pod);
}

static const char *phase_of(const json_t *pod)
{
    const char *p = ks_ctl_str(pod, "status", "phase");
    return p ? p : "Pending";
}

static int64_t pod_index(const json_t *pod)
{
    const char *s = json_string_value(
        json_object_get(ks_ctl_at(pod, "metadata", "annotations"), INDEX_ANNOTATION));
    int64_t v;
    if (!s || ks_str_to_i64(&v, s, "index") || v < 0)
        return -1;
    return v;
}

static int64_t restarts(const json_t *pod)
{
    int64_t n = 0;
    size_t i;
    json_t *cs;
    json_array_foreach(ks_ctl_at(pod, "status", "containerStatuses"), i, cs)
    {
        n += json_integer_value(json_object_get(cs, "restartCount"));
    }
    return n;
}

static bool finished(const json_t *job, const char **out_type)
{
    const char *types[] = {"Complete", "Failed"};
    for (int i = 0; i < 2; i++) {
        const json_t *c = ks_ctl_condition(ks_ctl_at(job, "status", "conditions"), types[i]);
        const char *st = json_string_value(json_object_get(c, "status"));
        if (st && !strcmp(st, "True")) {
            *out_type = types[i];
            return true;
        }
    }
    return false;
}

static int read_spec(struct jsync *s)
{
    int rc;
    const json_t *j = s->job, *spec = json_object_get(j, "spec");
    const json_t *comp = json_object_get(spec, "completions");
    s->has_completions = comp && !json_is_null(comp);
    s->has_deadline = json_is_integer(json_object_get(spec, "activeDeadlineSeconds"));
    s->has_ttl = json_is_integer(json_object_get(spec, "ttlSecondsAfterFinished"));
    if ((rc = ks_ctl_int(&s->parallelism, j, "spec", "parallelism", 1, KS_CTL_MAX_REPLICAS)) ||
        (rc = ks_ctl_int(&s->completions, j, "spec", "completions", 1, KS_CTL_MAX_REPLICAS)) ||
        (rc = ks_ctl_int(&s->backoff_limit, j, "spec", "backoffLimit", DEFAULT_BACKOFF_LIMIT,
                         INT32_MAX)) ||
        (rc = ks_ctl_int(&s->deadline, j, "spec", "activeDeadlineSeconds", 0, INT64_MAX / 4)) ||
        (rc = ks_ctl_int(&s->ttl, j, "spec", "ttlSecondsAfterFinished", 0, INT32_MAX)))
        return rc;
    const char *mode = json_string_value(json_object_get(spec, "completionMode"));
    if (mode && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed"))
        return ks_error_set(KS_EINVALID, "spec.completionMode: \"%s\" is not NonIndexed or Indexed",
                            mode);
    s->indexed = mode && !strcmp(mode, "Indexed");
    if (s->indexed && !s->has_completions)
        return ks_error_set(KS_EINVALID, "spec.completions: required when completionMode is "
                                         "Indexed");
    s->suspend = json_is_true(json_object_get(spec, "suspend"));
    const char *policy = ks_ctl_str(ks_ctl_at(spec, "template", "spec"), "restartPolicy", NULL);
    if (policy && strcmp(policy, "Never") && strcmp(policy, "OnFailure"))
        return ks_error_set(KS_EINVALID,
                            "spec.template.spec.restartPolicy: \"%s\" is not Never or OnFailure",
                            policy);
    s->on_failure = policy && !strcmp(policy, "OnFailure");
    return 0;
}

static int selector_of(struct ks_selector **out, const json_t *job)
{
    if (json_is_true(ks_ctl_at(job, "spec", "manualSelector")))
        return ks_ctl_selector(out, job);
    json_t *sel = json_pack("{s:{s:s}}", "matchLabels", "controller-uid", ks_ctl_uid(job));
    int rc = ks_selector_from_json(out, sel);
    json_decref(sel);
    return rc;
}

/* The template pods are made from: labels naming the Job, restartPolicy
 * Never when the template gives none. */
static json_t *pod_template(const struct jsync *s)
{
    const json_t *src = ks_ctl_at(s->job, "spec", "template");
    json_t *t = src ? json_deep_copy(src) : json_object();
    json_t *labels = ks_ctl_at(t, "metadata", "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        ks_ctl_set(t, "metadata", "labels", labels);
    }
    json_object_set_new(labels, "controller-uid", json_string(ks_ctl_uid(s->job)));
    json_object_set_new(labels, "batch.kubernetes.io/controller-uid",
                        json_string(ks_ctl_uid(s->job)));
    json_object_set_new(labels, "job-name", json_string(ks_ctl_name(s->job)));
    json_object_set_new(labels, "batch.kubernetes.io/job-name", json_string(ks_ctl_name(s->job)));
    if (!ks_ctl_str(json_object_get(t, "spec"), "restartPolicy", NULL))
        ks_ctl_set(t, "spec", "restartPolicy", json_string("Never"));
    return t;
}

static int create_pod(struct jsync *s, const json_t *tmpl, int64_t index)
{
    char base[80], name[100], idx[24];
    if (index >= 0)
        snprintf(base, sizeof base, "%.40s-%lld", ks_ctl_name(s->job), (long long)index);
    else
        snprintf(base, sizeof base, "%.58s", ks_ctl_name(s->job));
    int rc = ks_ctl_generate_name(name, sizeof name, s->store, "Pod", ks_ctl_namespace(s->job),
                                  base, s->env);
    if (rc)
        return rc;
    char gen[90];
    snprintf(gen, sizeof gen, "%s-", base);
    json_t *pod = ks_ctl_pod_new(s->job, tmpl, name, gen, s->env);
    if (index >= 0) {
        snprintf(idx, sizeof idx, "%lld", (long long)index);
        json_t *meta = json_object_get(pod, "metadata");
        if (!json_is_object(json_object_get(meta, "annotations")))
            json_object_set_new(meta, "annotations", json_object());
        json_object_set_new(json_object_get(meta, "annotations"), INDEX_ANNOTATION,
                            json_string(idx));
        json_object_set_new(json_object_get(meta, "labels"), INDEX_ANNOTATION, json_string(idx));
        size_t i;
        json_t *c;
        json_array_foreach(ks_ctl_at(pod, "spec", "containers"), i, c)
        {
            if (!json_is_array(json_object_get(c, "env")))
                json_object_set_new(c, "env", json_array());
            json_array_append_new(
                json_object_get(c, "env"),
                json_pack("{s:s, s:s}", "name", "JOB_COMPLETION_INDEX", "value", idx));
        }
        ks_ctl_set(pod, "spec", "hostname", json_string(base));
    }
    rc = ks_ctl_pod_create(s->changed, s->store, pod, s->pods);
    json_decref(pod);
    return rc;
}

/* "0-2,4" from the sorted flags done[0..n). */
static json_t *index_ranges(const bool *done, int64_t n)
{
    char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < n && len < sizeof buf - 48; i++) {
        if (!done[i])
            continue;
        int64_t j = i;
        while (j + 1 < n && done[j + 1])
            j++;
        len +=
            (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", len ? "," : "", (long long)i);
        if (j > i)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "-%lld", (long long)j);
        i = j;
    }
    return json_string(buf);
}

static int by_newest(const void *pa, const void *pb)
{
    return ks_ctl_by_creation(pb, pa);
}

static int delete_all(struct jsync *s, json_t *active)
{
    int rc = 0;
    size_t i;
    json_t *p;
    json_array_foreach(active, i, p)
    {
        if (!rc && !ks_ctl_pod_terminating(p))
            rc = ks_ctl_pod_remove(s->changed, s->store, p, s->pods);
    }
    return rc;
}

static int sync_running(struct jsync *s, json_t *next, json_t *owned)
{
    int rc = 0;
    json_t *active = json_array(), *tmpl = NULL;
    bool *done_idx = NULL, *busy_idx = NULL;
    int64_t succeeded = 0, failed = 0, failures = 0, ready = 0, consecutive = 0;
    int64_t last_success = 0, last_failure = 0, active_count = 0;
    size_t i;
    json_t *p;
    if (s->indexed) {
        done_idx = calloc((size_t)s->completions + 1, sizeof *done_idx);
        busy_idx = calloc((size_t)s->completions + 1, sizeof *busy_idx);
        if (!done_idx || !busy_idx) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    }
    json_array_foreach(owned, i, p)
    {
        const char *phase = phase_of(p);
        int64_t idx = s->indexed ? pod_index(p) : -1;
        if (!strcmp(phase, "Succeeded")) {
            succeeded++;
            if (finished_at(p) > last_success)
                last_success = finished_at(p);
            if (idx >= 0 && idx < s->completions)
                done_idx[idx] = true;
        } else if (!strcmp(phase, "Failed")) {
            failed++;
        } else if (!ks_ctl_pod_terminating(p)) {
            json_array_append(active, p);
            ready += ks_ctl_pod_ready(p);
            if (s->on_failure)
                failures += restarts(p);
            if (idx >= 0 && idx < s->completions)
                busy_idx[idx] = true;
        }
    }
    json_array_foreach(owned, i, p)
    {
        if (strcmp(phase_of(p), "Failed"))
            continue;
        int64_t t = finished_at(p);
        consecutive += t > last_success;
        if (t > last_failure)
            last_failure = t;
    }
    failures += failed;
    int64_t done_count = succeeded;
    if (s->indexed) {
        done_count = 0;
        for (int64_t k = 0; k < s->completions; k++)
            done_count += done_idx[k];
    }
    char ts[KS_CTL_TIME_LEN];
    int64_t now = s->env->now, start = 0;
    if (!ks_ctl_str(next, "status", "startTime") && !s->suspend)
        ks_ctl_set(next, "status", "startTime", json_string(ks_ctl_time_format(ts, now)));
    ks_ctl_time_parse(&start, ks_ctl_str(next, "status", "startTime"));
    bool complete = s->has_completions ? done_count >= s->completions
                                       : succeeded > 0 && json_array_size(active) == 0;
    const char *fail_reason = NULL, *fail_msg = NULL;
    if (!complete && failures > s->backoff_limit) {
        fail_reason = "BackoffLimitExceeded";
        fail_msg = "Job has reached the specified backoff limit";
    } else if (!complete && s->has_deadline && start && !s->suspend && now - start >= s->deadline) {
        fail_reason = "DeadlineExceeded";
        fail_msg = "Job was active longer than specified deadline";
    }
    if (fail_reason) {
        if ((rc = delete_all(s, active)))
            goto done;
        active_count = ready = 0;
        ks_ctl_condition_put(next, "Failed", "True", fail_reason, fail_msg, now);
    } else if (complete) {
        if ((rc = delete_all(s, active)))
            goto done;
        active_count = ready = 0;
        ks_ctl_condition_put(next, "Complete", "True", "CompletionsReached",
                             "Reached expected number of succeeded pods", now);
        ks_ctl_set(next, "status", "completionTime", json_string(ks_ctl_time_format(ts, now)));
    } else if (s->suspend) {
        if ((rc = delete_all(s, active)))
            goto done;
        active_count = ready = 0;
        ks_ctl_condition_put(next, "Suspended", "True", "JobSuspended", "Job suspended", now);
    } else {
        if (ks_ctl_condition(ks_ctl_at(next, "status", "conditions"), "Suspended"))
            ks_ctl_condition_put(next, "Suspended", "False", "JobResumed", "Job resumed", now);
        int64_t want = s->parallelism, have = (int64_t)json_array_size(active);
        if (s->has_completions && s->completions - done_count < want)
            want = s->completions - done_count;
        if (!s->has_completions && succeeded > 0)
            want = have < want ? have : want; /* no new pods; the running ones finish */
        if (have > want) {
            size_t n = json_array_size(active);
            json_t **v = malloc(n * sizeof *v);
            if (!v) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            for (size_t k = 0; k < n; k++)
                v[k] = json_array_get(active, k);
            qsort(v, n, sizeof *v, by_newest);
            for (int64_t k = 0; k < have - want && !rc; k++)
                rc = ks_ctl_pod_remove(s->changed, s->store, v[k], s->pods);
            free(v);
            if (rc)
                goto done;
            have = want;
        }
        int64_t delay = 0;
        if (consecutive > 0) {
            delay = BACKOFF_BASE;
            for (int64_t k = 1; k < consecutive && delay < BACKOFF_MAX; k++)
                delay *= 2;
            if (delay > BACKOFF_MAX)
                delay = BACKOFF_MAX;
        }
        bool backing_off = consecutive > 0 && now < last_failure + delay;
        if (have < want && !backing_off) {
            tmpl = pod_template(s);
            int64_t n = want - have < KS_CTL_BURST ? want - have : KS_CTL_BURST;
            int64_t next_idx = 0;
            for (int64_t k = 0; k < n && !rc; k++) {
                int64_t idx = -1;
                if (s->indexed) {
                    while (next_idx < s->completions && (done_idx[next_idx] || busy_idx[next_idx]))
                        next_idx++;
                    if (next_idx >= s->completions)
                        break;
                    idx = next_idx;
                    busy_idx[next_idx] = true;
                }
                rc = create_pod(s, tmpl, idx);
                have++;
            }
            if (rc)
                goto done;
        }
        active_count = have;
    }
    json_t *counts = json_pack("{s:I, s:I, s:I, s:I}", "active", (json_int_t)active_count, "ready",
                               (json_int_t)ready, "succeeded", (json_int_t)succeeded, "failed",
                               (json_int_t)failed);
    json_object_update(json_object_get(next, "status"), counts);
    json_decref(counts);
    if (s->indexed)
        ks_ctl_set(next, "status", "completedIndexes", index_ranges(done_idx, s->completions));
done:
    free(done_idx);
    free(busy_idx);
    json_decref(active);
    json_decref(tmpl);
    return rc;
}

int ks_ctl_job_sync(bool *out_changed, struct ks_store *store, const json_t *job,
                    const struct ks_ctl_env *env, json_t *pods)
{
    struct jsync s = {.changed = out_changed, .store = store, .job = job, .env = env, .pods = pods};
    struct ks_selector *sel = NULL;
    json_t *owned = NULL, *next = json_deep_copy(job);
    const char *kind_done = NULL;
    int rc = 0;
    if (!json_is_object(json_object_get(next, "status")))
        json_object_set_new(next, "status", json_object());
    if (finished(job, &kind_done)) {
        /* finished: only the TTL is left to act on */
        int64_t ttl = 0, at = 0;
        const json_t *c = ks_ctl_condition(ks_ctl_at(job, "status", "conditions"), kind_done);
        if (json_is_integer(ks_ctl_at(job, "spec", "ttlSecondsAfterFinished")) &&
            !ks_ctl_int(&ttl, job, "spec", "ttlSecondsAfterFinished", 0, INT32_MAX) &&
            !ks_ctl_time_parse(&at, json_string_value(json_object_get(c, "lastTransitionTime"))) &&
            at + ttl <= env->now)
            rc = ks_ctl_delete(out_changed, store, job);
        goto done;
    }
    if ((rc = read_spec(&s)) || (rc = selector_of(&sel, job))) {
        if (rc != KS_EINVALID && rc != KS_ELIMIT)
            goto done;
        /* not Failed: a spec fixed in Git runs then */
        ks_ctl_condition_put(next, "InvalidSpec", "True", "InvalidSpec", ks_error_last(), env->now);
        rc = ks_ctl_write(out_changed, store, job, next);
        goto done;
    }
    ks_ctl_condition_del(next, "InvalidSpec");
    if ((rc = ks_ctl_claim(&owned, out_changed, store, job, sel, pods)) ||
        (rc = sync_running(&s, next, owned)))
        goto done;
    rc = ks_ctl_write(out_changed, store, job, next);
done:
    ks_selector_free(sel);
    json_decref(owned);
    json_decref(next);
    return rc;
}
