/*
 * test_runtime_sim.c: the simulated runtime (nodeagent/runtime/
 * runtime_sim.c) behaves like Podman where the agent looks: ids and names,
 * label filters, states and exit codes (kill 137, stop 143, a failed start
 * exits 1), 404-like KS_ENOTFOUND and 409-like KS_ECONFLICT, the same spec
 * validation as the Podman mapping, and the event stream.
 */
#include "core/error.h"
#include "nodeagent/runtime/runtime.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct seen {
    pthread_mutex_t mu;
    char log[4096];
};

static void on_event(const struct ks_runtime_event *ev, void *ud)
{
    struct seen *s = ud;
    pthread_mutex_lock(&s->mu);
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof(s->log) - n, "%s:%s:%s:%d ", ev->type, ev->action,
             *ev->ctr_name ? ev->ctr_name : "-", ev->exit_code);
    pthread_mutex_unlock(&s->mu);
}

struct run_ctx {
    struct ks_runtime *rt;
    struct seen *seen;
};

static void *run_events(void *arg)
{
    struct run_ctx *c = arg;
    const char *sel[] = {"io.keelson.node=n1", NULL};
    c->rt->ops->events_run(c->rt, sel, on_event, c->seen);
    return NULL;
}

static void test_lifecycle(void **state)
{
    (void)state;
    struct ks_runtime *rt = NULL;
    struct ks_runtime_sim_opts o = {.start_ms = 1, .fail_rate = 0, .seed = 7};
    assert_int_equal(ks_runtime_sim_new(&rt, &o), 0);
    struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct run_ctx rc = {rt, &seen};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_events, &rc), 0);

    json_t *labels = json_pack("{s:s, s:s}", "io.keelson.node", "n1", "io.keelson.pod-uid", "u1");
    char *pod = NULL, *ctr = NULL, *v = NULL;
    assert_int_equal(rt->ops->version(rt, &v), 0);
    assert_string_equal(v, "sim");
    free(v);
    assert_int_equal(rt->ops->pod_create(rt, &pod, NULL, "default_web", labels), 0);
    assert_int_equal(rt->ops->pod_create(rt, &v, NULL, "default_web", labels), KS_ECONFLICT);
    assert_int_equal(rt->ops->pod_start(rt, "default_web"), 0);
    json_t *info = NULL;
    assert_int_equal(rt->ops->pod_inspect(rt, &info, pod), 0);
    assert_string_equal(json_string_value(json_object_get(info, "state")), "Running");
    assert_true(strlen(json_string_value(json_object_get(info, "ip"))) > 0);
    char ip[32];
    snprintf(ip, sizeof ip, "%s", json_string_value(json_object_get(info, "ip")));
    json_decref(info);

    json_t *clabels = json_deep_copy(labels);
    json_object_set_new(clabels, "io.keelson.container", json_string("app"));
    json_t *k8s =
        json_pack("{s:s, s:s, s:[s]}", "name", "app", "image", "busybox", "command", "sh");
    struct ks_podman_ctr_ctx ctx = {
        .name = "default_web_app", .pod = pod, .labels = clabels, .stop_timeout_s = 1};
    assert_int_equal(rt->ops->ctr_create(rt, &ctr, k8s, &ctx), 0);
    /* a pod keeps its IP while other objects come and go (another pod gets
     * another address): a changing IP would be a status change per resync */
    char *other = NULL;
    assert_int_equal(rt->ops->pod_create(rt, &other, NULL, "default_other", labels), 0);
    assert_int_equal(rt->ops->pod_start(rt, "default_other"), 0);
    assert_int_equal(rt->ops->pod_inspect(rt, &info, pod), 0);
    assert_string_equal(json_string_value(json_object_get(info, "ip")), ip);
    json_decref(info);
    assert_int_equal(rt->ops->pod_inspect(rt, &info, other), 0);
    assert_string_not_equal(json_string_value(json_object_get(info, "ip")), ip);
    json_decref(info);
    free(other);
    /* the same validation as Podman's mapping: valueFrom must be resolved */
    json_t *bad = json_pack("{s:s, s:s, s:[{s:s, s:{}}]}", "name", "b", "image", "busybox", "env",
                            "name", "X", "valueFrom");
    struct ks_podman_ctr_ctx bctx = {.name = "default_web_b", .pod = pod, .stop_timeout_s = -1};
    assert_int_equal(rt->ops->ctr_create(rt, &v, bad, &bctx), KS_EINVALID);
    json_decref(bad);

    struct ks_podman_ctr_state st;
    json_t *got_labels = NULL;
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, &got_labels, NULL, NULL, ctr), 0);
    assert_string_equal(st.status, "created");
    assert_string_equal(json_string_value(json_object_get(got_labels, "io.keelson.container")),
                        "app");
    json_decref(got_labels);
    assert_int_equal(rt->ops->ctr_start(rt, ctr), 0);
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, NULL, NULL, NULL, ctr), 0);
    assert_true(st.running);
    assert_true(st.started_ns > 0);
    int code = -1;
    const char *argv[] = {"true", NULL};
    assert_int_equal(rt->ops->exec(rt, &code, ctr, argv, 1000), 0);
    assert_int_equal(code, 0);

    const char *sel[] = {"io.keelson.pod-uid=u1", NULL};
    const char *none[] = {"io.keelson.pod-uid=u2", NULL};
    json_t *list = NULL;
    assert_int_equal(rt->ops->ctr_list(rt, &list, sel), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "default_web_app");
    json_decref(list);
    assert_int_equal(rt->ops->pod_list(rt, &list, none), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);

    assert_int_equal(rt->ops->ctr_kill(rt, ctr, "SIGKILL"), 0);
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, NULL, NULL, NULL, ctr), 0);
    assert_false(st.running);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(rt->ops->ctr_kill(rt, ctr, "SIGKILL"), KS_ECONFLICT);
    assert_int_equal(rt->ops->ctr_start(rt, ctr), 0);
    assert_int_equal(rt->ops->ctr_stop(rt, ctr, 1), 0);
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, NULL, NULL, NULL, ctr), 0);
    assert_int_equal(st.exit_code, 143);
    assert_int_equal(rt->ops->pod_remove(rt, pod), 0);
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, NULL, NULL, NULL, ctr), KS_ENOTFOUND);
    assert_int_equal(rt->ops->pod_inspect(rt, &info, pod), KS_ENOTFOUND);

    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&seen.mu);
        bool done = strstr(seen.log, "pod:remove") != NULL;
        pthread_mutex_unlock(&seen.mu);
        if (done)
            break;
        usleep(5000);
    }
    rt->ops->events_stop(rt);
    pthread_join(th, NULL);
    assert_non_null(strstr(seen.log, "container:start:app:-1 container:kill:app:-1 "
                                     "container:died:app:137 "));
    assert_non_null(strstr(seen.log, "container:stop:app:-1 container:died:app:143 "));
    assert_non_null(strstr(seen.log, "container:remove:app:-1 pod:remove:-:-1 "));
    json_decref(k8s);
    json_decref(labels);
    json_decref(clabels);
    free(pod);
    free(ctr);
    rt->ops->free(rt);
}

static void test_failing_starts(void **state)
{
    (void)state;
    struct ks_runtime *rt = NULL;
    struct ks_runtime_sim_opts o = {.start_ms = 0, .fail_rate = 1.0, .seed = 1};
    assert_int_equal(ks_runtime_sim_new(&rt, &o), 0);
    char *ctr = NULL;
    json_t *k8s = json_pack("{s:s, s:s}", "name", "app", "image", "busybox");
    struct ks_podman_ctr_ctx ctx = {.name = "solo", .stop_timeout_s = -1};
    assert_int_equal(rt->ops->ctr_create(rt, &ctr, k8s, &ctx), 0);
    assert_int_equal(rt->ops->ctr_start(rt, ctr), 0);
    struct ks_podman_ctr_state st;
    assert_int_equal(rt->ops->ctr_inspect(rt, &st, NULL, NULL, NULL, ctr), 0);
    assert_false(st.running);
    assert_int_equal(st.exit_code, 1);
    assert_true(st.finished_ns > st.started_ns);
    assert_int_equal(rt->ops->ctr_remove(rt, "solo"), 0);
    json_decref(k8s);
    free(ctr);
    rt->ops->free(rt);
    struct ks_runtime_sim_opts bad = {.start_ms = 0, .fail_rate = 1.5};
    assert_int_equal(ks_runtime_sim_new(&rt, &bad), KS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_failing_starts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
