/*
 * test_agent_logic.c: the node agent's pure decisions (nodeagent/agent/
 * logic.c and status.c): CrashLoopBackOff delays, restart policies, the
 * spec hash, the hostPath policy, and the PodStatus built from a worker's
 * view (phase, conditions and their transition times, container states).
 */
#include "core/error.h"
#include "nodeagent/agent/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_backoff(void **state)
{
    (void)state;
    struct ks_backoff b = {.base_ms = 10000, .max_ms = 300000, .reset_ms = 600000};
    int64_t d = 0, want[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        d = ks_agent_backoff_next(&b, d, 1000);
        assert_int_equal(d, want[i]);
    }
    /* ten minutes of clean running: back to the start */
    assert_int_equal(ks_agent_backoff_next(&b, 300000, 600000), 10000);
    assert_int_equal(ks_agent_backoff_next(&b, 300000, 599999), 300000);
}

static void test_restart_policy(void **state)
{
    (void)state;
    enum ks_restart_policy p;
    assert_int_equal(ks_agent_restart_policy_parse(&p, NULL), 0);
    assert_int_equal(p, KS_RESTART_ALWAYS);
    assert_int_equal(ks_agent_restart_policy_parse(&p, "OnFailure"), 0);
    assert_true(ks_agent_should_restart(p, 1));
    assert_false(ks_agent_should_restart(p, 0));
    assert_int_equal(ks_agent_restart_policy_parse(&p, "Never"), 0);
    assert_false(ks_agent_should_restart(p, 1));
    assert_true(ks_agent_should_restart(KS_RESTART_ALWAYS, 0));
    assert_int_equal(ks_agent_restart_policy_parse(&p, "always"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "spec.restartPolicy"));
}

static void test_spec_hash(void **state)
{
    (void)state;
    char a[17], b[17], c[17];
    json_t *x = json_pack("{s:s, s:s, s:[s]}", "name", "app", "image", "busybox", "command", "sh");
    json_t *y = json_pack("{s:[s], s:s, s:s}", "command", "sh", "image", "busybox", "name", "app");
    json_t *z =
        json_pack("{s:s, s:s, s:[s]}", "name", "app", "image", "busybox:2", "command", "sh");
    assert_int_equal(ks_agent_spec_hash(a, x), 0);
    assert_int_equal(ks_agent_spec_hash(b, y), 0);
    assert_int_equal(ks_agent_spec_hash(c, z), 0);
    assert_int_equal(strlen(a), 16);
    assert_string_equal(a, b); /* key order does not matter */
    assert_string_not_equal(a, c);
    json_decref(x);
    json_decref(y);
    json_decref(z);
}

static void test_hostpath(void **state)
{
    (void)state;
    const char *ok[] = {"/srv/data", "/tmp/x", "/var/lib/app", "/etcetera", "/home/u/proc", NULL};
    const char *bad[] = {"/",
                         "//",
                         "/etc",
                         "/etc/",
                         "/etc/ssl",
                         "/proc",
                         "/proc/1",
                         "/sys/fs",
                         "/dev",
                         "/boot",
                         "/run/podman",
                         "relative",
                         "/srv/../etc",
                         "/srv/..",
                         "/var/lib/keelson",
                         "/var/lib/keelson/pods",
                         "/var",
                         "/run/x",
                         NULL};
    for (size_t i = 0; ok[i]; i++)
        assert_int_equal(ks_agent_hostpath_check(ok[i], "/run/x/podman.sock", "/var/lib/keelson"),
                         0);
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(ks_agent_hostpath_check(bad[i], "/run/x/podman.sock", "/var/lib/keelson"),
                         KS_EINVALID);
        assert_non_null(strstr(ks_error_last(), "hostPath"));
    }
}

static void test_time_format(void **state)
{
    (void)state;
    char t[32];
    ks_agent_time_format(t, 1764616378000000000LL);
    assert_string_equal(t, "2025-12-01T19:12:58Z");
}

/* --- status ---------------------------------------------------------------- */

static struct ks_ctr mk(const char *name, bool init)
{
    struct ks_ctr c;
    memset(&c, 0, sizeof(c));
    c.name = (char *)name;
    c.init = init;
    c.spec = json_pack("{s:s, s:s}", "name", name, "image", "busybox");
    return c;
}

static void running(struct ks_ctr *c, int64_t started)
{
    c->have_state = true;
    c->st.running = true;
    c->st.started_ns = started;
    c->started = c->ready = true;
}

static void exited(struct ks_ctr *c, int code)
{
    c->have_state = true;
    c->st.running = false;
    c->st.started_ns = 1000000000000000000LL;
    c->st.finished_ns = 1000000001000000000LL;
    c->st.exit_code = code;
}

static const json_t *cond(const json_t *st, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0)
            return c;
    }
    fail_msg("no condition %s", type);
    return NULL;
}

static const char *cstatus(const json_t *st, const char *type)
{
    return json_string_value(json_object_get(cond(st, type), "status"));
}

static void test_status_pending_then_running(void **state)
{
    (void)state;
    struct ks_ctr c[2] = {mk("init", true), mk("app", false)};
    struct ks_pod_view v = {.ns = "default", .name = "web", .uid = "u1", .ctrs = c, .nctrs = 2};
    json_t *st = ks_agent_status_build(&v, NULL, 1764616378000000000LL);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Pending");
    assert_string_equal(cstatus(st, "PodScheduled"), "True");
    assert_string_equal(cstatus(st, "Initialized"), "False");
    assert_string_equal(json_string_value(json_object_get(cond(st, "Ready"), "reason")),
                        "ContainersNotInitialized");
    const json_t *cs = json_array_get(json_object_get(st, "containerStatuses"), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(cs, "state"), "waiting"), "reason")),
                        "ContainerCreating");
    assert_int_equal(json_array_size(json_object_get(st, "initContainerStatuses")), 1);

    /* init done, app running: Running and Ready; transition times move only
     * for conditions whose status changed */
    exited(&c[0], 0);
    c[0].completed = true;
    running(&c[1], 1764616379000000000LL);
    c[1].id = "abc";
    c[1].restarts = 2;
    v.pod_ip = "10.88.0.7";
    v.start_ns = 1764616378000000000LL;
    json_t *st2 = ks_agent_status_build(&v, st, 1764616400000000000LL);
    assert_string_equal(json_string_value(json_object_get(st2, "phase")), "Running");
    assert_string_equal(cstatus(st2, "Ready"), "True");
    assert_string_equal(
        json_string_value(json_object_get(cond(st2, "PodScheduled"), "lastTransitionTime")),
        "2025-12-01T19:12:58Z");
    assert_string_equal(
        json_string_value(json_object_get(cond(st2, "Ready"), "lastTransitionTime")),
        "2025-12-01T19:13:20Z");
    cs = json_array_get(json_object_get(st2, "containerStatuses"), 0);
    assert_string_equal(json_string_value(json_object_get(cs, "containerID")), "podman://abc");
    assert_int_equal(json_integer_value(json_object_get(cs, "restartCount")), 2);
    assert_true(json_is_true(json_object_get(cs, "ready")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(cs, "state"), "running"), "startedAt")),
                        "2025-12-01T19:12:59Z");
    assert_string_equal(json_string_value(json_object_get(st2, "podIP")), "10.88.0.7");
    assert_string_equal(json_string_value(json_object_get(st2, "startTime")),
                        "2025-12-01T19:12:58Z");
    const json_t *ic = json_array_get(json_object_get(st2, "initContainerStatuses"), 0);
    const json_t *term = json_object_get(json_object_get(ic, "state"), "terminated");
    assert_int_equal(json_integer_value(json_object_get(term, "exitCode")), 0);
    assert_string_equal(json_string_value(json_object_get(term, "reason")), "Completed");
    json_decref(st);
    json_decref(st2);
    c[1].id = NULL;
    json_decref(c[0].spec);
    json_decref(c[1].spec);
}

static void test_status_phases(void **state)
{
    (void)state;
    struct ks_ctr c[2] = {mk("a", false), mk("b", false)};
    struct ks_pod_view v = {.ns = "default", .name = "job", .uid = "u", .ctrs = c, .nctrs = 2};
    v.policy = KS_RESTART_NEVER;
    exited(&c[0], 0);
    exited(&c[1], 0);
    assert_string_equal(ks_agent_phase(&v), "Succeeded");
    exited(&c[1], 2);
    assert_string_equal(ks_agent_phase(&v), "Failed");
    /* a restart is coming: still Running, state waiting with the reason */
    v.policy = KS_RESTART_ALWAYS;
    c[1].restart_pending = true;
    c[1].wait_reason = "CrashLoopBackOff";
    c[1].wait_msg = "back-off 10s restarting failed container=b";
    c[1].last_term = json_pack("{s:i, s:s}", "exitCode", 2, "reason", "Error");
    assert_string_equal(ks_agent_phase(&v), "Running");
    json_t *st = ks_agent_status_build(&v, NULL, 1764616378000000000LL);
    const json_t *cs = json_array_get(json_object_get(st, "containerStatuses"), 1);
    const json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
    assert_string_equal(json_string_value(json_object_get(w, "reason")), "CrashLoopBackOff");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(cs, "lastState"), "terminated"), "exitCode")),
        2);
    assert_string_equal(cstatus(st, "Ready"), "False");
    json_decref(st);
    json_decref(c[1].last_term);
    /* a pod-level problem is reported as reason/message */
    struct ks_ctr d[1] = {mk("x", false)};
    struct ks_pod_view v2 = {.ns = "default",
                             .name = "bad",
                             .uid = "u",
                             .ctrs = d,
                             .nctrs = 1,
                             .reason = "ForbiddenHostPath",
                             .message = "hostPath \"/etc\" is forbidden"};
    st = ks_agent_status_build(&v2, NULL, 1764616378000000000LL);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Pending");
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "ForbiddenHostPath");
    assert_non_null(strstr(json_string_value(json_object_get(st, "message")), "/etc"));
    json_decref(st);
    /* init failure with Never fails the pod */
    struct ks_ctr e[2] = {mk("init", true), mk("app", false)};
    struct ks_pod_view v3 = {.ns = "default",
                             .name = "i",
                             .uid = "u",
                             .ctrs = e,
                             .nctrs = 2,
                             .policy = KS_RESTART_NEVER};
    exited(&e[0], 1);
    assert_string_equal(ks_agent_phase(&v3), "Failed");
    v3.policy = KS_RESTART_ON_FAILURE;
    assert_string_equal(ks_agent_phase(&v3), "Pending");
    for (int i = 0; i < 2; i++) {
        json_decref(c[i].spec);
        json_decref(e[i].spec);
    }
    json_decref(d[0].spec);
}

/* A container that failed to start under restartPolicy Never: terminated
 * with StartError and exit code 128, the pod Failed (not Pending). */
static void test_status_start_error(void **state)
{
    (void)state;
    struct ks_ctr c[2] = {mk("a", false), mk("b", false)};
    struct ks_pod_view v = {.ns = "default",
                            .name = "never",
                            .uid = "u",
                            .ctrs = c,
                            .nctrs = 1,
                            .policy = KS_RESTART_NEVER};
    c[0].start_failed = true;
    c[0].start_error = "exec: \"/nonexistent\": stat /nonexistent: no such file or directory";
    assert_string_equal(ks_agent_phase(&v), "Failed");
    json_t *st = ks_agent_status_build(&v, NULL, 1764616378000000000LL);
    const json_t *t = json_object_get(
        json_object_get(json_array_get(json_object_get(st, "containerStatuses"), 0), "state"),
        "terminated");
    assert_string_equal(json_string_value(json_object_get(t, "reason")), "StartError");
    assert_int_equal(json_integer_value(json_object_get(t, "exitCode")), 128);
    assert_non_null(strstr(json_string_value(json_object_get(t, "message")), "/nonexistent"));
    assert_string_equal(cstatus(st, "Ready"), "False");
    json_decref(st);
    /* another container still runs: the pod runs on */
    running(&c[1], 1000000000000000000LL);
    v.nctrs = 2;
    assert_string_equal(ks_agent_phase(&v), "Running");
    /* that one exits 0: every container terminated, one failed */
    exited(&c[1], 0);
    assert_string_equal(ks_agent_phase(&v), "Failed");
    c[0].start_error = NULL;
    json_decref(c[0].spec);
    json_decref(c[1].spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),       cmocka_unit_test(test_restart_policy),
        cmocka_unit_test(test_spec_hash),     cmocka_unit_test(test_hostpath),
        cmocka_unit_test(test_time_format),   cmocka_unit_test(test_status_pending_then_running),
        cmocka_unit_test(test_status_phases), cmocka_unit_test(test_status_start_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
