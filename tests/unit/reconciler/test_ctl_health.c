/*
 * test_ctl_health.c: health in Argo CD's vocabulary for Pods, ReplicaSets
 * and Deployments (status and reason text), plus the controllers' time and
 * int-or-percent helpers the health and rollout logic rest on.
 */
#include "test_ctl_fixture.h"

static enum ks_health_status health(const char *json, char *reason, size_t cap)
{
    json_error_t err;
    json_t *obj = json_loads(json, 0, &err);
    if (!obj)
        fail_msg("bad test JSON: %s", err.text);
    enum ks_health_status st = ks_health_of(obj, reason, cap);
    json_decref(obj);
    return st;
}

struct health_case {
    const char *json;
    enum ks_health_status want;
    const char *reason_part;
};

static void table(void **state)
{
    (void)state;
    static const struct health_case cases[] = {
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Pending\"}}", KS_HEALTH_PROGRESSING, "pending"},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
         "\"status\":\"True\"}]}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
         "\"status\":\"False\"}]}}",
         KS_HEALTH_PROGRESSING, "not ready"},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{"
         "\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":\"back-off 5m0s\"}}}]}}",
         KS_HEALTH_DEGRADED, "back-off 5m0s"},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"state\":{"
         "\"waiting\":{\"reason\":\"ErrImagePull\"}}}]}}",
         KS_HEALTH_DEGRADED, "ErrImagePull"},
        {"{\"kind\":\"Pod\",\"spec\":{\"restartPolicy\":\"Never\"},\"status\":{\"phase\":"
         "\"Pending\",\"containerStatuses\":[{\"state\":{\"waiting\":{\"reason\":"
         "\"ErrImagePull\"}}}]}}",
         KS_HEALTH_PROGRESSING, "pending"},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Failed\",\"message\":\"OOMKilled\"}}",
         KS_HEALTH_DEGRADED, "OOMKilled"},
        {"{\"kind\":\"Pod\",\"spec\":{\"restartPolicy\":\"Never\"},\"status\":{\"phase\":"
         "\"Succeeded\"}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"Pod\",\"status\":{\"phase\":\"Unknown\"}}", KS_HEALTH_UNKNOWN, "unknown"},
        {"{\"kind\":\"ReplicaSet\",\"spec\":{\"replicas\":3},\"status\":{\"availableReplicas\":1}}",
         KS_HEALTH_PROGRESSING, "1 out of 3 new replicas are available"},
        {"{\"kind\":\"ReplicaSet\",\"spec\":{\"replicas\":3},\"status\":{\"availableReplicas\":3}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"ReplicaSet\",\"metadata\":{\"generation\":4},\"spec\":{\"replicas\":0},"
         "\"status\":{\"observedGeneration\":3}}",
         KS_HEALTH_PROGRESSING, "observed replica set generation"},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3,\"paused\":true}}", KS_HEALTH_SUSPENDED,
         "paused"},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3},\"status\":{\"replicas\":4,"
         "\"updatedReplicas\":2}}",
         KS_HEALTH_PROGRESSING, "2 out of 3 new replicas have been updated"},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3},\"status\":{\"replicas\":4,"
         "\"updatedReplicas\":3}}",
         KS_HEALTH_PROGRESSING, "1 old replicas are pending termination"},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3,"
         "\"updatedReplicas\":3,\"availableReplicas\":2}}",
         KS_HEALTH_PROGRESSING, "2 of 3 updated replicas are available"},
        {"{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3},"
         "\"status\":{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":"
         "\"ProgressDeadlineExceeded\"}]}}",
         KS_HEALTH_DEGRADED, "\"web\" exceeded its progress deadline"},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3},\"status\":{\"replicas\":3,"
         "\"updatedReplicas\":3,\"availableReplicas\":3}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"ConfigMap\"}", KS_HEALTH_HEALTHY, "no health check"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reason[256] = "x";
        enum ks_health_status st = health(cases[i].json, reason, sizeof reason);
        if (st != cases[i].want || !strstr(reason, cases[i].reason_part))
            fail_msg("case %zu: got %s \"%s\", want %s containing \"%s\"", i, ks_health_name(st),
                     reason, ks_health_name(cases[i].want), cases[i].reason_part);
    }
    char reason[64];
    assert_int_equal(ks_health_of(NULL, reason, sizeof reason), KS_HEALTH_MISSING);
    assert_string_equal(ks_health_name(KS_HEALTH_MISSING), "Missing");
    assert_int_equal(health("{\"kind\":\"Pod\"}", NULL, 0), KS_HEALTH_PROGRESSING);
}

static void times(void **state)
{
    (void)state;
    char buf[KS_CTL_TIME_LEN];
    assert_string_equal(ks_ctl_time_format(buf, 0), "1970-01-01T00:00:00Z");
    assert_string_equal(ks_ctl_time_format(buf, 951782400), "2000-02-29T00:00:00Z");
    assert_string_equal(ks_ctl_time_format(buf, 1795391999), "2026-11-22T23:59:59Z");
    for (int64_t t = -86400 * 400; t < 4102444800; t += 7777777) {
        int64_t back = -1;
        assert_int_equal(ks_ctl_time_parse(&back, ks_ctl_time_format(buf, t)), 0);
        assert_int_equal(back, t);
    }
    int64_t t = 0;
    assert_int_equal(ks_ctl_time_parse(&t, "2026-11-22T05:00:00.123+01:00"), 0);
    assert_string_equal(ks_ctl_time_format(buf, t), "2026-11-22T04:00:00Z");
    assert_int_equal(ks_ctl_time_parse(&t, "2026-11-22 05:00:00Z"), KS_EINVALID);
    assert_int_equal(ks_ctl_time_parse(&t, "2026-11-22T05:00:00"), KS_EINVALID);
    assert_int_equal(ks_ctl_time_parse(&t, "2026-13-22T05:00:00Z"), KS_EINVALID);
}

static void int_or_percent(void **state)
{
    (void)state;
    int64_t v = 0;
    json_t *p = json_string("25%"), *i = json_integer(2), *bad = json_string("25"),
           *neg = json_integer(-1);
    assert_int_equal(ks_ctl_int_or_percent(&v, p, 10, true, "maxSurge"), 0);
    assert_int_equal(v, 3);
    assert_int_equal(ks_ctl_int_or_percent(&v, p, 10, false, "maxUnavailable"), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ks_ctl_int_or_percent(&v, p, 4, true, "x"), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ks_ctl_int_or_percent(&v, i, 10, true, "x"), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ks_ctl_int_or_percent(&v, bad, 10, true, "maxSurge"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "maxSurge"));
    assert_int_equal(ks_ctl_int_or_percent(&v, neg, 10, true, "x"), KS_EINVALID);
    json_decref(p);
    json_decref(i);
    json_decref(bad);
    json_decref(neg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(times),
        cmocka_unit_test(int_or_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
