/*
 * cronjob.c: the CronJob controller (Kubernetes' cronjob_controllerv2.go,
 * syncCronJob, and utils.go getMostRecentScheduleTime), one sync of one
 * CronJob against the store.
 *
 * The schedule (cron.c) is evaluated in spec.timeZone (tz.c; UTC when
 * absent) on the injected clock. The most recent scheduled time after
 * status.lastScheduleTime (or the CronJob's creation) and not after now is
 * due; with startingDeadlineSeconds only times within that many seconds
 * of now count. More than 100 missed times give a Warning event
 * TooManyMissedTimes, and only the most recent runs, as in Kubernetes. A
 * due run creates the Job <cronjob>-<scheduled time in minutes since the
 * epoch> from spec.jobTemplate (owned by the CronJob, with the
 * cronjob-scheduled-timestamp annotation), unless that Job exists already;
 * concurrencyPolicy Forbid skips it while a Job of the CronJob is active
 * (it runs when the active one finishes if still within the starting
 * deadline, as in Kubernetes), Replace deletes the active Jobs first,
 * Allow (the default) just creates. spec.suspend stops new runs. Finished
 * Jobs beyond successfulJobsHistoryLimit (3) / failedJobsHistoryLimit (1)
 * are deleted, oldest first; their pods follow through garbage collection.
 * status: active (references), lastScheduleTime, lastSuccessfulTime.
 *
 * The store does not set metadata.creationTimestamp; when a CronJob has
 * none, the controller records the time it first sees it there, so that
 * runs are counted from then.
 */
#include "reconciler/controllers/cron.h"
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MISSED_MAX 100 /* missed start times before the Warning event */
#define CHAIN_MAX 2000 /* schedule steps walked to find the most recent time */
#define SCHEDULED_ANNOTATION "batch.kubernetes.io/cronjob-scheduled-timestamp"

/* Complete or Failed condition True; *out_at its transition time. */
static const char *job_finished(const json_t *job, int64_t *out_at)
{
    const char *types[] = {"Complete", "Failed"};
    for (int i = 0; i < 2; i++) {
        const json_t *c = ks_ctl_condition(ks_ctl_at(job, "status", "conditions"), types[i]);
        const char *st = json_string_value(json_object_get(c, "status"));
        if (st && !strcmp(st, "True")) {
            *out_at = 0;
            ks_ctl_time_parse(out_at, json_string_value(json_object_get(c, "lastTransitionTime")));
            return types[i];
        }
    }
    return NULL;
}

struct finished_job {
    json_t *job;
    int64_t at;
};

static int by_finish(const void *pa, const void *pb)
{
    const struct finished_job *a = pa, *b = pb;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return strcmp(ks_ctl_name(a->job), ks_ctl_name(b->job));
}

/* Deletes the oldest finished Jobs of one kind beyond limit. */
static int cleanup(bool *changed, struct ks_store *store, json_t *owned, json_t *jobs,
                   const char *type, int64_t limit)
{
    size_t n = json_array_size(owned), k = 0, i;
    struct finished_job *f = calloc(n ? n : 1, sizeof *f);
    if (!f)
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_t *j;
    json_array_foreach(owned, i, j)
    {
        int64_t at;
        const char *t = job_finished(j, &at);
        if (t && !strcmp(t, type))
            f[k++] = (struct finished_job){j, at};
    }
    qsort(f, k, sizeof *f, by_finish);
    int rc = 0;
    for (i = 0; (int64_t)(k - i) > limit && !rc; i++) {
        rc = ks_ctl_delete(changed, store, f[i].job);
        if (!rc) {
            ks_ctl_array_remove(jobs, f[i].job);
            ks_ctl_array_remove(owned, f[i].job);
        }
    }
    free(f);
    return rc;
}

/* getMostRecentScheduleTime: *out_due (0 when none) in (earliest, now],
 * *out_missed the count (capped at MISSED_MAX + 1). */
static int most_recent(int64_t *out_due, int64_t *out_missed, const struct ks_cron *cron,
                       const struct ks_tz *tz, int64_t earliest, int64_t now)
{
    int64_t t = earliest, last = 0, missed = 0, next;
    int rc;
    while (missed <= MISSED_MAX) {
        if ((rc = ks_cron_next(&next, cron, tz, t)) == KS_ENOTFOUND || (!rc && next > now))
            break;
        if (rc)
            return rc;
        last = t = next;
        missed++;
    }
    if (missed > MISSED_MAX) {
        /* too many: find the most recent from windows before now */
        static const int64_t windows[] = {120, 7200, 172800, 5356800, 63244800, 316224000};
        last = 0;
        for (size_t w = 0; w < sizeof windows / sizeof windows[0] && !last; w++) {
            t = now - windows[w] > earliest ? now - windows[w] : earliest;
            for (int steps = 0; steps < CHAIN_MAX; steps++) {
                if ((rc = ks_cron_next(&next, cron, tz, t)) == KS_ENOTFOUND || (!rc && next > now))
                    break;
                if (rc)
                    return rc;
                last = t = next;
            }
        }
    }
    *out_due = last;
    *out_missed = missed;
    return 0;
}

static json_t *job_ref(const json_t *job)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "batch/v1", "kind", "Job", "name",
                     ks_ctl_name(job), "namespace", ks_ctl_namespace(job), "uid", ks_ctl_uid(job));
}

static json_t *new_job(const json_t *cj, const char *name, int64_t scheduled,
                       const struct ks_ctl_env *env)
{
    const json_t *tmpl = ks_ctl_at(cj, "spec", "jobTemplate");
    char ts[KS_CTL_TIME_LEN];
    json_t *meta = ks_ctl_child_meta(cj, name, env);
    json_t *labels = ks_ctl_at(tmpl, "metadata", "labels");
    json_t *ann = json_deep_copy(ks_ctl_at(tmpl, "metadata", "annotations"));
    if (labels)
        json_object_set_new(meta, "labels", json_deep_copy(labels));
    if (!json_is_object(ann)) {
        json_decref(ann);
        ann = json_object();
    }
    json_object_set_new(ann, SCHEDULED_ANNOTATION, json_string(ks_ctl_time_format(ts, scheduled)));
    json_object_set_new(meta, "annotations", ann);
    const json_t *spec = json_object_get(tmpl, "spec");
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
                     meta, "spec", spec ? json_deep_copy(spec) : json_object());
}

struct csync {
    bool *changed;
    struct ks_store *store;
    const json_t *cj;
    const struct ks_ctl_env *env;
    json_t *jobs, *owned, *next;
};

/* Reports a bad schedule or zone once (condition + event). */
static int invalid(struct csync *s, const char *msg)
{
    bool said = ks_ctl_condition(ks_ctl_at(s->cj, "status", "conditions"), "InvalidSchedule");
    ks_ctl_condition_put(s->next, "InvalidSchedule", "True", "UnparseableSchedule", msg,
                         s->env->now);
    return said ? 0 : ks_ctl_event(s->store, s->cj, "Warning", "UnparseableSchedule", msg);
}

static int run_due(struct csync *s, int64_t due, int64_t missed, int64_t active)
{
    char name[300], msg[300];
    int rc = 0;
    snprintf(name, sizeof name, "%s-%lld", ks_ctl_name(s->cj), (long long)(due / 60));
    json_t *existing = NULL;
    struct ks_store_key key = {"Job", ks_ctl_namespace(s->cj), name};
    if ((rc = ks_store_get(&existing, s->store, &key)) != KS_ENOTFOUND) {
        json_decref(existing);
        return rc; /* this run exists already (or a store error) */
    }
    const char *policy = ks_ctl_str(s->cj, "spec", "concurrencyPolicy");
    if (policy && !strcmp(policy, "Forbid") && active > 0)
        return 0; /* the run waits; lastScheduleTime stays */
    if (policy && !strcmp(policy, "Replace") && active > 0) {
        for (size_t i = json_array_size(s->owned); i-- > 0;) {
            json_t *j = json_array_get(s->owned, i);
            int64_t at;
            if (job_finished(j, &at))
                continue;
            snprintf(msg, sizeof msg, "Deleted job %s", ks_ctl_name(j));
            if ((rc = ks_ctl_delete(s->changed, s->store, j)) ||
                (rc = ks_ctl_event(s->store, s->cj, "Normal", "SuccessfulDelete", msg)))
                return rc;
            ks_ctl_array_remove(s->jobs, j);
            json_array_remove(s->owned, i);
        }
    }
    if (missed > MISSED_MAX &&
        (rc = ks_ctl_event(s->store, s->cj, "Warning", "TooManyMissedTimes",
                           "too many missed start times (> 100). Set or decrease "
                           ".spec.startingDeadlineSeconds or check clock skew")))
        return rc;
    json_t *job = new_job(s->cj, name, due, s->env);
    rc = ks_ctl_write(s->changed, s->store, NULL, job);
    if (!rc) {
        json_array_append(s->jobs, job);
        json_array_append(s->owned, job);
        snprintf(msg, sizeof msg, "Created job %s", name);
        rc = ks_ctl_event(s->store, s->cj, "Normal", "SuccessfulCreate", msg);
        char ts[KS_CTL_TIME_LEN];
        ks_ctl_set(s->next, "status", "lastScheduleTime", json_string(ks_ctl_time_format(ts, due)));
    }
    json_decref(job);
    return rc;
}

static int schedule(struct csync *s, int64_t active)
{
    struct ks_cron cron;
    struct ks_tz *tz = NULL;
    const char *text = ks_ctl_str(s->cj, "spec", "schedule");
    int rc = ks_cron_parse(&cron, text);
    if (!rc)
        rc = ks_tz_load(&tz, NULL, ks_ctl_str(s->cj, "spec", "timeZone"));
    int64_t probe;
    if (!rc && ks_cron_next(&probe, &cron, tz, s->env->now) == KS_ENOTFOUND) {
        ks_tz_free(tz);
        tz = NULL;
        rc = ks_error_set(KS_EINVALID, "schedule \"%s\": matches no time within %d years", text,
                          KS_CRON_SEARCH_YEARS);
    }
    if (rc == KS_EINVALID || rc == KS_ENOTFOUND || rc == KS_ELIMIT)
        return invalid(s, ks_error_last());
    if (rc)
        return rc;
    ks_ctl_condition_del(s->next, "InvalidSchedule");
    int64_t earliest = ks_ctl_created(s->next), deadline = -1, due = 0, missed = 0;
    const char *last = ks_ctl_str(s->cj, "status", "lastScheduleTime");
    if (last)
        ks_ctl_time_parse(&earliest, last);
    const json_t *sds = ks_ctl_at(s->cj, "spec", "startingDeadlineSeconds");
    if (json_is_integer(sds) && json_integer_value(sds) >= 0) {
        deadline = json_integer_value(sds);
        if (s->env->now - deadline > earliest)
            earliest = s->env->now - deadline;
    }
    if (!(rc = most_recent(&due, &missed, &cron, tz, earliest, s->env->now)) && due &&
        !(deadline >= 0 && due + deadline < s->env->now) &&
        !json_is_true(ks_ctl_at(s->cj, "spec", "suspend")))
        rc = run_due(s, due, missed, active);
    ks_tz_free(tz);
    return rc;
}

int ks_ctl_cronjob_sync(bool *out_changed, struct ks_store *store, const json_t *cj,
                        const struct ks_ctl_env *env, json_t *jobs)
{
    struct csync s = {.changed = out_changed, .store = store, .cj = cj, .env = env, .jobs = jobs};
    s.owned = json_array();
    s.next = json_deep_copy(cj);
    int64_t ok_limit = 3, fail_limit = 1, active = 0;
    int rc = 0;
    char ts[KS_CTL_TIME_LEN];
    if (!json_is_object(json_object_get(s.next, "status")))
        json_object_set_new(s.next, "status", json_object());
    if (!ks_ctl_str(cj, "metadata", "creationTimestamp"))
        ks_ctl_set(s.next, "metadata", "creationTimestamp",
                   json_string(ks_ctl_time_format(ts, env->now)));
    const char *uid = ks_ctl_uid(cj);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const char *owner = ks_ctl_controller_uid(j);
        if (owner && !strcmp(owner, uid))
            json_array_append(s.owned, j);
    }
    if ((rc = ks_ctl_int(&ok_limit, cj, "spec", "successfulJobsHistoryLimit", 3, 1000)) ||
        (rc = ks_ctl_int(&fail_limit, cj, "spec", "failedJobsHistoryLimit", 1, 1000))) {
        if (rc == KS_EINVALID || rc == KS_ELIMIT)
            rc = invalid(&s, ks_error_last());
        goto write;
    }
    json_array_foreach(s.owned, i, j)
    {
        int64_t at;
        active += job_finished(j, &at) == NULL;
    }
    if ((rc = schedule(&s, active)) ||
        (rc = cleanup(out_changed, store, s.owned, jobs, "Complete", ok_limit)) ||
        (rc = cleanup(out_changed, store, s.owned, jobs, "Failed", fail_limit)))
        goto done;
write:;
    json_t *refs = json_array();
    int64_t last_ok = 0;
    const char *prev_ok = ks_ctl_str(cj, "status", "lastSuccessfulTime");
    if (prev_ok)
        ks_ctl_time_parse(&last_ok, prev_ok);
    json_array_foreach(s.owned, i, j)
    {
        int64_t at = 0;
        const char *t = job_finished(j, &at);
        if (!t)
            json_array_append_new(refs, job_ref(j));
        else if (!strcmp(t, "Complete") && at > last_ok)
            last_ok = at;
    }
    json_t *st = json_object_get(s.next, "status");
    if (json_array_size(refs))
        json_object_set_new(st, "active", refs);
    else {
        json_object_del(st, "active");
        json_decref(refs);
    }
    if (last_ok)
        json_object_set_new(st, "lastSuccessfulTime", json_string(ks_ctl_time_format(ts, last_ok)));
    if (!json_array_size(json_object_get(st, "conditions")))
        json_object_del(st, "conditions");
    if (!rc)
        rc = ks_ctl_write(out_changed, store, cj, s.next);
done:
    json_decref(s.owned);
    json_decref(s.next);
    return rc;
}
