/*
 * test_ctl_job.c: the Job controller through the driver on a real store,
 * the test finishing pods as an agent would and moving the injected
 * clock: completions 3 / parallelism 2 with a failing pod (the next pod
 * only after the 10 s back-off), backoffLimit with the doubling back-off
 * and BackoffLimitExceeded, activeDeadlineSeconds (DeadlineExceeded, pods
 * deleted), ttlSecondsAfterFinished (Job and pods deleted), Indexed
 * completion, suspend, and an invalid spec.
 */
#include "test_ctl_fixture.h"

static json_t *job(int completions, int parallelism)
{
    json_t *t = pod_template("pi", "busybox");
    ks_ctl_set(t, "spec", "restartPolicy", json_string("Never"));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:i, s:o}}", "apiVersion", "batch/v1",
                     "kind", "Job", "metadata", "name", "pi", "namespace", "default", "spec",
                     "completions", completions, "parallelism", parallelism, "template", t);
}

static void put_job(struct fixture *f, json_t *j, const char *field, json_t *value)
{
    if (field)
        ks_ctl_set(j, "spec", field, value);
    put_obj(f, j);
}

/* Pods of phases: "" when none; counts by phase "P2 S1 F1" style. */
static const char *phases(struct fixture *f)
{
    static char buf[64];
    int pending = 0, succeeded = 0, failed = 0;
    json_t *pods = list_kind(f, "Pod");
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *ph = ks_ctl_str(p, "status", "phase");
        succeeded += !strcmp(ph, "Succeeded");
        failed += !strcmp(ph, "Failed");
        pending += strcmp(ph, "Succeeded") && strcmp(ph, "Failed");
    }
    json_decref(pods);
    snprintf(buf, sizeof buf, "A%d S%d F%d", pending, succeeded, failed);
    return buf;
}

/* The agent: the first active pod (by name) finishes with phase now. */
static void finish_one(struct fixture *f, const char *phase)
{
    json_t *pods = list_kind(f, "Pod");
    size_t i;
    json_t *x, *p = NULL;
    json_array_foreach(pods, i, x)
    {
        if (!p && ks_ctl_pod_active(x))
            p = x;
    }
    assert_non_null(p);
    char ts[KS_CTL_TIME_LEN];
    ks_ctl_time_format(ts, f->env.now);
    json_t *next = json_deep_copy(p);
    json_object_set_new(next, "status",
                        json_pack("{s:s, s:[{s:s, s:{s:{s:s, s:i}}}]}", "phase", phase,
                                  "containerStatuses", "name", "main", "state", "terminated",
                                  "finishedAt", ts, "exitCode", strcmp(phase, "Failed") ? 0 : 1));
    put_obj(f, next);
    json_decref(pods);
}

static const char *condition_reason(struct fixture *f, const char *type)
{
    static char buf[64];
    json_t *j = get_obj(f, "Job", "pi");
    const json_t *c = ks_ctl_condition(ks_ctl_at(j, "status", "conditions"), type);
    snprintf(buf, sizeof buf, "%s", c ? json_string_value(json_object_get(c, "reason")) : "-");
    json_decref(j);
    return buf;
}

static void completions_with_failure(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(3, 2), NULL, NULL);
    run(f);
    assert_string_equal(phases(f), "A2 S0 F0");
    json_t *pods = list_kind(f, "Pod");
    const json_t *labels = ks_ctl_at(json_array_get(pods, 0), "metadata", "labels");
    json_t *j = get_obj(f, "Job", "pi");
    assert_string_equal(ks_ctl_str(labels, "controller-uid", NULL), ks_ctl_uid(j));
    assert_string_equal(ks_ctl_str(labels, "job-name", NULL), "pi");
    assert_non_null(ks_ctl_str(j, "status", "startTime"));
    json_decref(j);
    json_decref(pods);
    finish_one(f, "Failed");
    run(f);
    assert_string_equal(phases(f), "A1 S0 F1"); /* back-off: no new pod yet */
    f->env.now += 9;
    run(f);
    assert_string_equal(phases(f), "A1 S0 F1");
    f->env.now += 1;
    run(f);
    assert_string_equal(phases(f), "A2 S0 F1");
    finish_one(f, "Succeeded");
    finish_one(f, "Succeeded");
    run(f);
    assert_string_equal(phases(f), "A1 S2 F1"); /* only one completion is missing */
    j = get_obj(f, "Job", "pi");
    assert_int_equal(status_int(j, "active"), 1);
    assert_int_equal(status_int(j, "succeeded"), 2);
    assert_int_equal(status_int(j, "failed"), 1);
    char why[256];
    assert_int_equal(ks_health_of(j, why, sizeof why), KS_HEALTH_PROGRESSING);
    json_decref(j);
    finish_one(f, "Succeeded");
    run(f);
    assert_string_equal(phases(f), "A0 S3 F1");
    assert_string_equal(condition_reason(f, "Complete"), "CompletionsReached");
    j = get_obj(f, "Job", "pi");
    assert_non_null(ks_ctl_str(j, "status", "completionTime"));
    assert_int_equal(status_int(j, "active"), 0);
    assert_int_equal(ks_health_of(j, why, sizeof why), KS_HEALTH_HEALTHY);
    json_decref(j);
    run(f); /* finished: nothing more happens */
    assert_string_equal(phases(f), "A0 S3 F1");
}

static void backoff_limit(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(1, 1), "backoffLimit", json_integer(2));
    run(f);
    finish_one(f, "Failed");
    f->env.now += 10;
    run(f);
    assert_string_equal(phases(f), "A1 S0 F1");
    finish_one(f, "Failed"); /* second consecutive failure: 20 s */
    f->env.now += 19;
    run(f);
    assert_string_equal(phases(f), "A0 S0 F2");
    f->env.now += 1;
    run(f);
    assert_string_equal(phases(f), "A1 S0 F2");
    finish_one(f, "Failed"); /* three failures > backoffLimit 2 */
    run(f);
    assert_string_equal(phases(f), "A0 S0 F3");
    assert_string_equal(condition_reason(f, "Failed"), "BackoffLimitExceeded");
    json_t *j = get_obj(f, "Job", "pi");
    char why[256];
    assert_int_equal(ks_health_of(j, why, sizeof why), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(why, "backoff limit"));
    json_decref(j);
    f->env.now += 3600;
    run(f);
    assert_string_equal(phases(f), "A0 S0 F3");
}

static void backoff_caps_at_six_minutes(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(1, 1), "backoffLimit", json_integer(100));
    run(f);
    int64_t delays[] = {10, 20, 40, 80, 160, 320, 360, 360};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        finish_one(f, "Failed");
        f->env.now += delays[i] - 1;
        run(f);
        json_t *j = get_obj(f, "Job", "pi");
        assert_int_equal(status_int(j, "active"), 0);
        json_decref(j);
        f->env.now += 1;
        run(f);
        j = get_obj(f, "Job", "pi");
        assert_int_equal(status_int(j, "active"), 1);
        json_decref(j);
    }
}

static void deadline(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(1, 1), "activeDeadlineSeconds", json_integer(30));
    run(f);
    assert_string_equal(phases(f), "A1 S0 F0");
    f->env.now += 29;
    run(f);
    assert_string_equal(condition_reason(f, "Failed"), "-");
    f->env.now += 1;
    run(f);
    assert_string_equal(condition_reason(f, "Failed"), "DeadlineExceeded");
    assert_string_equal(phases(f), "A0 S0 F0"); /* the active pod was deleted */
}

static void ttl_after_finished(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(1, 1), "ttlSecondsAfterFinished", json_integer(60));
    run(f);
    finish_one(f, "Succeeded");
    run(f);
    assert_string_equal(condition_reason(f, "Complete"), "CompletionsReached");
    f->env.now += 59;
    run(f);
    json_t *j = get_obj(f, "Job", "pi");
    assert_non_null(j);
    json_decref(j);
    f->env.now += 1;
    run(f);
    assert_null(get_obj(f, "Job", "pi"));
    assert_string_equal(phases(f), "A0 S0 F0"); /* its pods went with it */
}

static void indexed(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(3, 2), "completionMode", json_string("Indexed"));
    run(f);
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 2);
    char seen[8] = "";
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *idx = json_string_value(json_object_get(
            ks_ctl_at(p, "metadata", "annotations"), "batch.kubernetes.io/job-completion-index"));
        assert_non_null(idx);
        size_t used = strlen(seen);
        snprintf(seen + used, sizeof(seen) - used, "%s", idx);
        const json_t *env =
            json_object_get(json_array_get(ks_ctl_at(p, "spec", "containers"), 0), "env");
        assert_string_equal(ks_ctl_str(json_array_get(env, 0), "name", NULL),
                            "JOB_COMPLETION_INDEX");
        assert_string_equal(ks_ctl_str(json_array_get(env, 0), "value", NULL), idx);
    }
    assert_true(!strcmp(seen, "01") || !strcmp(seen, "10"));
    json_decref(pods);
    finish_one(f, "Succeeded");
    run(f);
    json_t *j = get_obj(f, "Job", "pi");
    assert_int_equal(status_int(j, "active"), 2);
    json_decref(j);
    finish_one(f, "Succeeded");
    finish_one(f, "Succeeded");
    run(f);
    j = get_obj(f, "Job", "pi");
    assert_string_equal(ks_ctl_str(j, "status", "completedIndexes"), "0-2");
    json_decref(j);
    assert_string_equal(condition_reason(f, "Complete"), "CompletionsReached");
}

static void suspend_and_invalid(void **state)
{
    struct fixture *f = *state;
    put_job(f, job(2, 2), NULL, NULL);
    run(f);
    assert_string_equal(phases(f), "A2 S0 F0");
    json_t *j = get_obj(f, "Job", "pi");
    put_job(f, j, "suspend", json_true());
    run(f);
    assert_string_equal(phases(f), "A0 S0 F0");
    assert_string_equal(condition_reason(f, "Suspended"), "JobSuspended");
    j = get_obj(f, "Job", "pi");
    char why[256];
    assert_int_equal(ks_health_of(j, why, sizeof why), KS_HEALTH_SUSPENDED);
    put_job(f, j, "suspend", json_false());
    run(f);
    assert_string_equal(phases(f), "A2 S0 F0");
    assert_string_equal(condition_reason(f, "Suspended"), "JobResumed");
    /* restartPolicy Always is refused, reported, and nothing else happens */
    j = job(1, 1);
    json_object_set_new(json_object_get(j, "metadata"), "name", json_string("bad"));
    ks_ctl_set(ks_ctl_at(j, "spec", "template"), "spec", "restartPolicy", json_string("Always"));
    put_obj(f, j);
    run(f);
    j = get_obj(f, "Job", "bad");
    assert_int_equal(ks_health_of(j, why, sizeof why), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(why, "restartPolicy"));
    json_decref(j);
    assert_string_equal(phases(f), "A2 S0 F0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(completions_with_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(backoff_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(backoff_caps_at_six_minutes, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(ttl_after_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(indexed, setup, teardown),
        cmocka_unit_test_setup_teardown(suspend_and_invalid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
