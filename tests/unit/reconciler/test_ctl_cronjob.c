/*
 * test_ctl_cronjob.c: the schedule parser and next-run table (ranges,
 * steps, lists, names, descriptors, day-of-month/day-of-week rules, leap
 * days, DST gaps and repeats in Europe/Berlin, America/New_York and
 * Australia/Sydney from the system's TZif files, times past their last
 * transition through the footer rule), errors, and the CronJob controller
 * through the driver with the injected clock: Allow, Forbid and Replace,
 * Job names, history limits, suspend, startingDeadlineSeconds and more
 * than 100 missed runs.
 */
#include "test_ctl_fixture.h"

#include "reconciler/controllers/cron.h"

static int64_t at(const char *rfc3339)
{
    int64_t t = 0;
    if (ks_ctl_time_parse(&t, rfc3339))
        fail_msg("bad time %s", rfc3339);
    return t;
}

struct next_case {
    const char *schedule, *tz, *after, *want;
};

static void next_table(void **state)
{
    (void)state;
    static const struct next_case cases[] = {
        {"*/15 * * * *", NULL, "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"},
        {"*/15 * * * *", NULL, "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"},
        {"*/15 * * * *", NULL, "2026-01-01T00:14:59Z", "2026-01-01T00:15:00Z"},
        {"5/20 * * * *", NULL, "2026-01-01T00:26:00Z", "2026-01-01T00:45:00Z"},
        {"0 9-17/4 * * mon-fri", NULL, "2026-01-02T13:30:00Z", "2026-01-02T17:00:00Z"},
        {"0 9-17/4 * * MON-FRI", NULL, "2026-01-02T17:30:00Z", "2026-01-05T09:00:00Z"},
        {"30 2 1,15 * *", NULL, "2026-01-01T03:00:00Z", "2026-01-15T02:30:00Z"},
        {"0 0 * jan,JUL sun", NULL, "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"},
        {"0 0 * jan,jul sun", NULL, "2026-01-25T00:00:00Z", "2026-07-05T00:00:00Z"},
        {"0 0 13 * fri", NULL, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}, /* either */
        {"0 0 13 * fri", NULL, "2026-01-12T00:00:00Z", "2026-01-13T00:00:00Z"},
        {"0 0 */2 * *", NULL, "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"},
        {"0 0 ? * 7", NULL, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"}, /* 7 = Sunday */
        {"0 12 * * 5-7", NULL, "2026-01-04T12:00:00Z", "2026-01-09T12:00:00Z"},
        {"0 0 29 2 *", NULL, "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        {"59 23 31 12 *", NULL, "2026-06-01T00:00:00Z", "2026-12-31T23:59:00Z"},
        {"@hourly", NULL, "2026-01-01T10:20:00Z", "2026-01-01T11:00:00Z"},
        {"@daily", NULL, "2026-01-01T10:20:00Z", "2026-01-02T00:00:00Z"},
        {"@midnight", NULL, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        {"@weekly", NULL, "2026-01-01T10:20:00Z", "2026-01-04T00:00:00Z"},
        {"@monthly", NULL, "2026-01-01T10:20:00Z", "2026-02-01T00:00:00Z"},
        {"@yearly", NULL, "2026-01-01T10:20:00Z", "2027-01-01T00:00:00Z"},
        {"@annually", NULL, "2026-01-01T10:20:00Z", "2027-01-01T00:00:00Z"},
        {"0 9 * * *", "UTC", "2026-07-01T00:00:00Z", "2026-07-01T09:00:00Z"},
        {"0 9 * * *", "America/New_York", "2026-07-01T00:00:00Z", "2026-07-01T13:00:00Z"},
        {"0 9 * * *", "America/New_York", "2026-01-10T00:00:00Z", "2026-01-10T14:00:00Z"},
        {"0 9 * * *", "Europe/Berlin", "2026-07-01T00:00:00Z", "2026-07-01T07:00:00Z"},
        /* spring forward 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 runs at 03:30 */
        {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"},
        {"30 1 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T00:30:00Z"},
        /* fall back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 runs once, the first time */
        {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
        /* (the repeated 02:00 and 02:30 CET do not run again) */
        {"*/30 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"},
        {"*/30 * * * *", "Europe/Berlin", "2026-10-24T23:59:00Z", "2026-10-25T00:00:00Z"},
        /* past the files' last transition (2037): the footer rule */
        {"0 12 1 7 *", "Europe/Berlin", "2040-01-01T00:00:00Z", "2040-07-01T10:00:00Z"},
        {"0 12 1 12 *", "Europe/Berlin", "2040-01-01T00:00:00Z", "2040-12-01T11:00:00Z"},
        {"0 12 10 1 *", "Australia/Sydney", "2041-01-01T00:00:00Z", "2041-01-10T01:00:00Z"},
        {"0 12 10 7 *", "Australia/Sydney", "2041-01-01T00:00:00Z", "2041-07-10T02:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ks_cron c;
        struct ks_tz *tz = NULL;
        int64_t next = 0;
        if (ks_cron_parse(&c, cases[i].schedule) || ks_tz_load(&tz, NULL, cases[i].tz) ||
            ks_cron_next(&next, &c, tz, at(cases[i].after)))
            fail_msg("case %zu (%s): %s", i, cases[i].schedule, ks_error_last());
        char got[KS_CTL_TIME_LEN];
        ks_ctl_time_format(got, next);
        if (strcmp(got, cases[i].want))
            fail_msg("case %zu: \"%s\" in %s after %s: got %s, want %s", i, cases[i].schedule,
                     cases[i].tz ? cases[i].tz : "UTC", cases[i].after, got, cases[i].want);
        ks_tz_free(tz);
    }
}

static void errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "60 * * * *",   "* 24 * * *",  "* * 0 * *",   "* * * 13 *", "* * * * 8",   "* * *",
        "* * * * * *",  "*/0 * * * *", "5-1 * * * *", "@every 5m",  "* * * foo *", "",
        "1,,2 * * * *", "a-b * * * *", "@hourly x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ks_cron c;
        if (ks_cron_parse(&c, bad[i]) != KS_EINVALID)
            fail_msg("\"%s\" parsed", bad[i]);
    }
    struct ks_cron c;
    assert_int_equal(ks_cron_parse(&c, "60 * * * *"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "minute"));
    assert_int_equal(ks_cron_parse(&c, "0 0 30 2 *"), 0);
    int64_t next;
    assert_int_equal(ks_cron_next(&next, &c, NULL, 0), KS_ENOTFOUND);
    struct ks_tz *tz = NULL;
    assert_int_equal(ks_tz_load(&tz, NULL, "Mars/Olympus_Mons"), KS_ENOTFOUND);
    assert_int_equal(ks_tz_load(&tz, NULL, "../../etc/passwd"), KS_EINVALID);
    assert_int_equal(ks_tz_load(&tz, NULL, "Etc/UTC"), 0);
    assert_null(tz);
    assert_int_equal(ks_tz_load(&tz, NULL, "Europe/Berlin"), 0);
    assert_int_equal(ks_tz_offset(tz, at("2026-07-01T00:00:00Z")), 7200);
    assert_int_equal(ks_tz_offset(tz, at("2026-01-01T00:00:00Z")), 3600);
    ks_tz_free(tz);
}

/* ---- the controller ---------------------------------------------------- */

static json_t *cronjob(const char *schedule, const char *policy)
{
    json_t *t = pod_template("tick", "busybox");
    ks_ctl_set(t, "spec", "restartPolicy", json_string("Never"));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:{s:{s:{s:s}}, s:{s:o}}}}",
                     "apiVersion", "batch/v1", "kind", "CronJob", "metadata", "name", "tick",
                     "namespace", "default", "spec", "schedule", schedule, "concurrencyPolicy",
                     policy, "jobTemplate", "metadata", "labels", "run", "tick", "spec", "template",
                     t);
}

static void edit(struct fixture *f, const char *field, json_t *value)
{
    json_t *cj = get_obj(f, "CronJob", "tick");
    ks_ctl_set(cj, "spec", field, value);
    put_obj(f, cj);
}

/* Job names (sorted), "" when none. */
static const char *jobs_str(struct fixture *f)
{
    static char buf[512];
    json_t *jobs = list_kind(f, "Job");
    buf[0] = '\0';
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s", i ? "," : "", ks_ctl_name(j));
    }
    json_decref(jobs);
    return buf;
}

/* Every active pod finishes with phase. */
static void finish_pods(struct fixture *f, const char *phase)
{
    json_t *pods = list_kind(f, "Pod");
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (!ks_ctl_pod_active(p))
            continue;
        json_t *next = json_deep_copy(p);
        ks_ctl_set(next, "status", "phase", json_string(phase));
        put_obj(f, next);
    }
    json_decref(pods);
}

static const char *job_name(char buf[32], int64_t minute)
{
    snprintf(buf, 32, "tick-%lld", (long long)minute);
    return buf;
}

/* Moves the clock to the start of the next minute plus 5 s; returns the
 * minute (since the epoch) just passed. */
static int64_t next_minute(struct fixture *f)
{
    int64_t m = f->env.now / 60 + 1;
    f->env.now = m * 60 + 5;
    return m;
}

static void allow(void **state)
{
    struct fixture *f = *state;
    char a[64], b[64], want[160];
    put_obj(f, cronjob("*/1 * * * *", "Allow"));
    run(f);
    assert_string_equal(jobs_str(f), ""); /* nothing due since it appeared */
    int64_t m1 = next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), job_name(a, m1));
    json_t *job = get_obj(f, "Job", a);
    json_t *cj = get_obj(f, "CronJob", "tick");
    assert_string_equal(ks_ctl_controller_uid(job), ks_ctl_uid(cj));
    assert_string_equal(ks_ctl_str(ks_ctl_at(job, "metadata", "labels"), "run", NULL), "tick");
    char ts[KS_CTL_TIME_LEN];
    assert_string_equal(
        json_string_value(json_object_get(ks_ctl_at(job, "metadata", "annotations"),
                                          "batch.kubernetes.io/cronjob-scheduled-timestamp")),
        ks_ctl_time_format(ts, m1 * 60));
    assert_string_equal(ks_ctl_str(cj, "status", "lastScheduleTime"), ts);
    assert_int_equal(json_array_size(ks_ctl_at(cj, "status", "active")), 1);
    char why[256];
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_PROGRESSING);
    json_decref(cj);
    json_decref(job);
    json_t *pods = list_kind(f, "Pod"); /* the Job stage ran in the same pass */
    assert_int_equal(json_array_size(pods), 1);
    json_decref(pods);
    run(f); /* same minute: nothing new */
    assert_string_equal(jobs_str(f), a);
    int64_t m2 = next_minute(f);
    run(f); /* Allow: a second one while the first runs */
    snprintf(want, sizeof want, "%s,%s", a, job_name(b, m2));
    assert_string_equal(jobs_str(f), want);
    finish_pods(f, "Succeeded");
    run(f);
    cj = get_obj(f, "CronJob", "tick");
    assert_null(ks_ctl_at(cj, "status", "active"));
    assert_non_null(ks_ctl_str(cj, "status", "lastSuccessfulTime"));
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_HEALTHY);
    json_decref(cj);
}

static void forbid(void **state)
{
    struct fixture *f = *state;
    char a[64], b[64], want[160];
    put_obj(f, cronjob("*/1 * * * *", "Forbid"));
    run(f);
    int64_t m1 = next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), job_name(a, m1));
    next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), a); /* still running: skipped */
    next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), a);
    finish_pods(f, "Succeeded");
    run(f); /* finished: the most recent time runs now */
    snprintf(want, sizeof want, "%s,%s", a, job_name(b, f->env.now / 60));
    assert_string_equal(jobs_str(f), want);
}

static void replace(void **state)
{
    struct fixture *f = *state;
    char a[64];
    put_obj(f, cronjob("*/1 * * * *", "Replace"));
    run(f);
    next_minute(f);
    run(f);
    int64_t m2 = next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), job_name(a, m2)); /* the first was replaced */
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 1); /* its pod went with it */
    json_decref(pods);
    json_t *events = NULL;
    assert_int_equal(ks_store_events_list(&events, f->store, 0), 0);
    int deleted = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        deleted += !strcmp(json_string_value(json_object_get(e, "reason")), "SuccessfulDelete");
    }
    assert_int_equal(deleted, 1);
    json_decref(events);
}

static void history_limits(void **state)
{
    struct fixture *f = *state;
    char name[64], want[512] = "";
    json_t *cj = cronjob("*/1 * * * *", "Allow");
    ks_ctl_set(ks_ctl_at(cj, "spec", "jobTemplate"), "spec", "backoffLimit", json_integer(0));
    put_obj(f, cj);
    run(f);
    int64_t minutes[6];
    for (int i = 0; i < 6; i++) {
        minutes[i] = next_minute(f);
        run(f);
        finish_pods(f, i == 1 || i == 2 ? "Failed" : "Succeeded");
        run(f);
    }
    /* successes 0,3,4,5 -> the last 3; failures 1,2 -> the last 1 */
    int keep[] = {2, 3, 4, 5};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(want);
        snprintf(want + n, sizeof want - n, "%s%s", i ? "," : "", job_name(name, minutes[keep[i]]));
    }
    assert_string_equal(jobs_str(f), want);
}

static void suspend_and_deadline(void **state)
{
    struct fixture *f = *state;
    json_t *cj = cronjob("*/1 * * * *", "Allow");
    ks_ctl_set(cj, "spec", "suspend", json_true());
    ks_ctl_set(cj, "spec", "startingDeadlineSeconds", json_integer(30));
    put_obj(f, cj);
    run(f);
    next_minute(f);
    run(f);
    assert_string_equal(jobs_str(f), "");
    cj = get_obj(f, "CronJob", "tick");
    char why[256];
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_SUSPENDED);
    json_decref(cj);
    next_minute(f);
    f->env.now += 40; /* 45 s after the scheduled time: past the 30 s deadline */
    edit(f, "suspend", json_false());
    run(f);
    assert_string_equal(jobs_str(f), "");
    edit(f, "startingDeadlineSeconds", json_integer(60));
    run(f);
    char a[64];
    assert_string_equal(jobs_str(f), job_name(a, f->env.now / 60));
}

static void too_many_missed(void **state)
{
    struct fixture *f = *state;
    put_obj(f, cronjob("*/1 * * * *", "Allow"));
    run(f);
    f->env.now += 200 * 60; /* 200 runs missed */
    run(f);
    char a[64];
    assert_string_equal(jobs_str(f), job_name(a, f->env.now / 60)); /* only the latest */
    json_t *events = NULL;
    assert_int_equal(ks_store_events_list(&events, f->store, 0), 0);
    int warned = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        warned += !strcmp(json_string_value(json_object_get(e, "reason")), "TooManyMissedTimes");
    }
    assert_int_equal(warned, 1);
    json_decref(events);
    /* a bad schedule is reported once, as a condition and an event */
    edit(f, "schedule", json_string("61 * * * *"));
    run(f);
    run(f);
    json_t *cj = get_obj(f, "CronJob", "tick");
    char why[256];
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(why, "minute"));
    json_decref(cj);
    edit(f, "schedule", json_string("0 0 30 2 *")); /* never */
    run(f);
    cj = get_obj(f, "CronJob", "tick");
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(why, "matches no time"));
    json_decref(cj);
    edit(f, "schedule", json_string("*/5 * * * *"));
    edit(f, "timeZone", json_string("Mars/Olympus_Mons"));
    run(f);
    cj = get_obj(f, "CronJob", "tick");
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(why, "unknown"));
    json_decref(cj);
    edit(f, "timeZone", json_string("Europe/Berlin"));
    run(f);
    cj = get_obj(f, "CronJob", "tick");
    assert_null(ks_ctl_condition(ks_ctl_at(cj, "status", "conditions"), "InvalidSchedule"));
    assert_int_equal(ks_health_of(cj, why, sizeof why), KS_HEALTH_PROGRESSING); /* a Job runs */
    json_decref(cj);
    assert_int_equal(ks_store_events_list(&events, f->store, 0), 0);
    int bad = 0;
    json_array_foreach(events, i, e)
    {
        bad += !strcmp(json_string_value(json_object_get(e, "reason")), "UnparseableSchedule");
    }
    assert_int_equal(bad, 1); /* one event while the condition stayed set */
    json_decref(events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_table),
        cmocka_unit_test(errors),
        cmocka_unit_test_setup_teardown(allow, setup, teardown),
        cmocka_unit_test_setup_teardown(forbid, setup, teardown),
        cmocka_unit_test_setup_teardown(replace, setup, teardown),
        cmocka_unit_test_setup_teardown(history_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(suspend_and_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_missed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
