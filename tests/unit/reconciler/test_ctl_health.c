/*
 * test_ctl_health.c: health in Argo CD's vocabulary for Pods, ReplicaSets,
 * Deployments, DaemonSets, StatefulSets, Jobs, CronJobs, Services and the
 * always-healthy kinds (status and reason text), plus the controllers' time and
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
        {"{\"kind\":\"Ingress\"}", KS_HEALTH_HEALTHY, "no health check"},
        {"{\"kind\":\"ConfigMap\"}", KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"Secret\"}", KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"Endpoints\"}", KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"ds\"},\"status\":{"
         "\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":2}}",
         KS_HEALTH_PROGRESSING, "2 out of 3 new pods have been updated"},
        {"{\"kind\":\"DaemonSet\",\"status\":{\"desiredNumberScheduled\":3,"
         "\"updatedNumberScheduled\":3,\"numberAvailable\":1}}",
         KS_HEALTH_PROGRESSING, "1 of 3 updated pods are available"},
        {"{\"kind\":\"DaemonSet\",\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}},"
         "\"status\":{\"desiredNumberScheduled\":3,\"updatedNumberScheduled\":1}}",
         KS_HEALTH_HEALTHY, "1 out of 3 new pods"},
        {"{\"kind\":\"DaemonSet\",\"status\":{\"desiredNumberScheduled\":2,"
         "\"updatedNumberScheduled\":2,\"numberAvailable\":2}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"DaemonSet\",\"status\":{\"conditions\":[{\"type\":\"ReplicaFailure\","
         "\"status\":\"True\",\"reason\":\"InvalidSpec\",\"message\":\"spec.selector: "
         "missing\"}]}}",
         KS_HEALTH_DEGRADED, "spec.selector: missing"},
        {"{\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":3},\"status\":{\"readyReplicas\":1}}",
         KS_HEALTH_PROGRESSING, "Waiting for 2 pods to be ready"},
        {"{\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":3},\"status\":{\"readyReplicas\":3,"
         "\"updatedReplicas\":1,\"currentRevision\":\"a\",\"updateRevision\":\"b\"}}",
         KS_HEALTH_PROGRESSING, "rolling update to complete 1 pods at revision b"},
        {"{\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":3,\"updateStrategy\":{"
         "\"rollingUpdate\":{\"partition\":2}}},\"status\":{\"readyReplicas\":3,"
         "\"updatedReplicas\":1}}",
         KS_HEALTH_HEALTHY, "partitioned roll out complete: 1 new pods"},
        {"{\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":2},\"status\":{\"readyReplicas\":2,"
         "\"currentReplicas\":2,\"currentRevision\":\"b\",\"updateRevision\":\"b\"}}",
         KS_HEALTH_HEALTHY, "complete 2 pods at revision b"},
        {"{\"kind\":\"Job\",\"status\":{\"active\":1}}", KS_HEALTH_PROGRESSING, "running"},
        {"{\"kind\":\"Job\",\"status\":{\"conditions\":[{\"type\":\"Failed\",\"status\":"
         "\"True\",\"reason\":\"BackoffLimitExceeded\",\"message\":\"Job has reached the "
         "specified backoff limit\"}]}}",
         KS_HEALTH_DEGRADED, "backoff limit"},
        {"{\"kind\":\"Job\",\"status\":{\"conditions\":[{\"type\":\"Complete\",\"status\":"
         "\"True\"}]}}",
         KS_HEALTH_HEALTHY, ""},
        {"{\"kind\":\"Job\",\"status\":{\"conditions\":[{\"type\":\"Suspended\",\"status\":"
         "\"True\",\"message\":\"Job suspended\"}]}}",
         KS_HEALTH_SUSPENDED, "suspended"},
        {"{\"kind\":\"CronJob\",\"spec\":{\"suspend\":true}}", KS_HEALTH_SUSPENDED, "Suspended"},
        {"{\"kind\":\"CronJob\"}", KS_HEALTH_HEALTHY, "not been scheduled yet"},
        {"{\"kind\":\"CronJob\",\"status\":{\"lastScheduleTime\":\"2026-01-01T00:00:00Z\","
         "\"active\":[{\"name\":\"j\"}]}}",
         KS_HEALTH_PROGRESSING, "active jobs"},
        {"{\"kind\":\"CronJob\",\"status\":{\"lastScheduleTime\":\"2026-01-01T00:01:00Z\","
         "\"lastSuccessfulTime\":\"2026-01-01T00:00:30Z\"}}",
         KS_HEALTH_DEGRADED, "not completed its last execution"},
        {"{\"kind\":\"CronJob\",\"status\":{\"lastScheduleTime\":\"2026-01-01T00:01:00Z\","
         "\"lastSuccessfulTime\":\"2026-01-01T00:01:30Z\"}}",
         KS_HEALTH_HEALTHY, "completed its last execution successfully"},
        {"{\"kind\":\"CronJob\",\"status\":{\"conditions\":[{\"type\":\"InvalidSchedule\","
         "\"status\":\"True\",\"message\":\"minute: cannot parse\"}]}}",
         KS_HEALTH_DEGRADED, "cannot parse"},
        {"{\"kind\":\"Service\",\"spec\":{\"type\":\"LoadBalancer\"}}", KS_HEALTH_PROGRESSING,
         "load balancer"},
        {"{\"kind\":\"Service\",\"spec\":{\"type\":\"NodePort\"}}", KS_HEALTH_HEALTHY, ""},
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
