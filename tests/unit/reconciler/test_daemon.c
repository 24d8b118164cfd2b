/*
 * test_daemon.c: the pure and store-level pieces of the control plane's
 * daemon with an injected clock: trigger coalescing and tickets, node
 * verdicts, and node lifecycle plus scheduler binding on a real SQLite
 * store (a node goes silent: Ready=Unknown, then its pods fail with
 * NodeLost and are not rebound; a Ready node gets the pending pods; a pod
 * that fits nowhere carries the scheduler's reason).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "reconciler/daemon/daemon.h"

static void triggers_coalesce(void **state)
{
    (void)state;
    struct ks_triggers t;
    struct ks_trigger_work w;
    assert_int_equal(ks_triggers_init(&t, 60000, 1000, 0), 0);
    /* the first sync is due at once */
    assert_true(ks_triggers_take(&w, &t, 0));
    assert_int_equal(w.sync_reasons, KS_TRIGGER_START);
    assert_false(w.tick);
    assert_false(ks_triggers_take(&w, &t, 10));
    /* three requests during a sync become one sync carrying the last ticket */
    int64_t a = ks_triggers_sync(&t, KS_TRIGGER_API);
    int64_t b = ks_triggers_sync(&t, KS_TRIGGER_WEBHOOK);
    int64_t c = ks_triggers_sync(&t, KS_TRIGGER_GIT);
    assert_true(a > 0 && b > a && c > b);
    ks_triggers_wrote(&t);
    assert_true(ks_triggers_take(&w, &t, 20));
    assert_int_equal(w.sync_reasons, KS_TRIGGER_API | KS_TRIGGER_WEBHOOK | KS_TRIGGER_GIT);
    assert_int_equal(w.ticket, c);
    assert_true(w.controllers);
    assert_false(ks_triggers_take(&w, &t, 30));
    /* agent writes alone: a controller pass, no sync */
    ks_triggers_wrote(&t);
    ks_triggers_wrote(&t);
    assert_true(ks_triggers_take(&w, &t, 40));
    assert_int_equal(w.sync_reasons, 0);
    assert_true(w.controllers);
    /* the tick and the interval come due by the clock */
    assert_true(ks_triggers_take(&w, &t, 1000));
    assert_true(w.tick);
    assert_int_equal(w.sync_reasons, 0);
    assert_false(ks_triggers_take(&w, &t, 1500));
    /* the sync at 20 ms restarted the interval: due at 60020 */
    assert_true(ks_triggers_take(&w, &t, 60019) && w.tick && w.sync_reasons == 0);
    assert_true(ks_triggers_take(&w, &t, 60020));
    assert_int_equal(w.sync_reasons, KS_TRIGGER_INTERVAL);
    assert_int_equal(w.ticket, c);
    ks_triggers_release(&t);
}

static void triggers_without_interval(void **state)
{
    (void)state;
    struct ks_triggers t;
    struct ks_trigger_work w;
    assert_int_equal(ks_triggers_init(&t, 0, 0, 0), 0);
    assert_true(ks_triggers_take(&w, &t, 0));
    assert_false(ks_triggers_take(&w, &t, INT64_MAX / 2));
    ks_triggers_stop(&t);
    assert_false(ks_triggers_wait(&w, &t));
    ks_triggers_release(&t);
}

static void node_verdicts(void **state)
{
    (void)state;
    struct ks_node_grace g = {.monitor_ms = 40000, .eviction_ms = 60000};
    assert_int_equal(ks_node_verdict_of(0, 39999, &g), KS_NODE_HEALTHY);
    assert_int_equal(ks_node_verdict_of(0, 40000, &g), KS_NODE_SILENT);
    assert_int_equal(ks_node_verdict_of(0, 99999, &g), KS_NODE_SILENT);
    assert_int_equal(ks_node_verdict_of(0, 100000, &g), KS_NODE_LOST);
    /* defaults */
    assert_int_equal(ks_node_verdict_of(0, 40000, NULL), KS_NODE_SILENT);
    assert_int_equal(ks_node_verdict_of(0, 100000, NULL), KS_NODE_LOST);
    assert_int_equal(ks_node_verdict_of(50000, 100000, NULL), KS_NODE_SILENT);
}

/* ---- store-level ------------------------------------------------------------ */

static char dir[] = "/tmp/ks-test-daemon.XXXXXX";

static struct ks_store *open_store(void)
{
    char path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open_sqlite(&s, path, 0), 0);
    return s;
}

static void close_store(struct ks_store *s)
{
    char path[256];
    ks_store_close(s);
    const char *files[] = {"state.db", "state.db-wal", "state.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    snprintf(dir, sizeof dir, "%s", "/tmp/ks-test-daemon.XXXXXX");
}

static void put_node(struct ks_store *s, const char *name, const char *heartbeat)
{
    json_t *n = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s}]}}",
                          "apiVersion", "v1", "kind", "Node", "metadata", "name", name, "status",
                          "allocatable", "cpu", "2", "memory", "4Gi", "pods", "110", "conditions",
                          "type", "Ready", "status", "True", "reason", "NodeAgentHeartbeat",
                          "lastHeartbeatTime", heartbeat);
    assert_int_equal(ks_store_put(NULL, s, n, KS_STORE_ANY_REVISION), 0);
    json_decref(n);
}

static void put_pod(struct ks_store *s, const char *name, const char *node, const char *cpu)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s, s:{s:{s:s}}}]}}", "apiVersion",
                          "v1", "kind", "Pod", "metadata", "name", name, "namespace", "default",
                          "spec", "containers", "name", "c", "image", "busybox", "resources",
                          "requests", "cpu", cpu);
    if (node) {
        json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
        json_object_set_new(p, "status", json_pack("{s:s}", "phase", "Running"));
    }
    assert_int_equal(ks_store_put(NULL, s, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
}

static json_t *get(struct ks_store *s, const char *kind, const char *ns, const char *name)
{
    json_t *o = NULL;
    struct ks_store_key k = {kind, ns, name};
    assert_int_equal(ks_store_get(&o, s, &k), 0);
    return o;
}

static json_t *condition(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "type")), type))
            return c;
    }
    return NULL;
}

static const char *str(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* heartbeats at 2026-01-01T00:00:00Z = 1767225600 */
#define T0_MS 1767225600000LL

static void lifecycle_and_binding(void **state)
{
    (void)state;
    struct ks_store *s = open_store();
    put_node(s, "a", "2026-01-01T00:00:00Z");
    put_node(s, "b", "2026-01-01T00:01:30Z");
    put_pod(s, "on-a", "a", "100m");
    put_pod(s, "pending", NULL, "100m");
    put_pod(s, "huge", NULL, "64");
    struct ks_node_grace g = {.monitor_ms = 40000, .eviction_ms = 60000};
    bool changed = false;

    /* 30 s: both healthy, nothing written */
    assert_int_equal(ks_node_lifecycle(&changed, s, T0_MS + 30000, 0, &g), 0);
    assert_false(changed);

    /* 50 s: a is silent -> Ready=Unknown, heartbeat kept; its pod still runs */
    assert_int_equal(ks_node_lifecycle(&changed, s, T0_MS + 50000, 0, &g), 0);
    assert_true(changed);
    json_t *a = get(s, "Node", "", "a");
    assert_false(ks_node_is_ready(a));
    assert_string_equal(json_string_value(json_object_get(condition(a, "Ready"), "status")),
                        "Unknown");
    assert_int_equal(ks_node_heartbeat_ms(a), T0_MS);
    json_decref(a);
    json_t *p = get(s, "Pod", "default", "on-a");
    assert_string_equal(str(p, "status", "phase"), "Running");
    json_decref(p);

    /* binding: only b is Ready; the pending pod goes there, huge fits nowhere */
    json_t *report = NULL;
    assert_int_equal(ks_sched_bind_pending(&report, &changed, s, 1), 0);
    assert_true(changed);
    assert_int_equal(json_array_size(report), 2);
    json_decref(report);
    p = get(s, "Pod", "default", "pending");
    assert_string_equal(str(p, "spec", "nodeName"), "b");
    json_decref(p);
    p = get(s, "Pod", "default", "huge");
    assert_null(str(p, "spec", "nodeName"));
    json_t *sc = condition(p, "PodScheduled");
    assert_string_equal(json_string_value(json_object_get(sc, "status")), "False");
    assert_string_equal(json_string_value(json_object_get(sc, "reason")), "Unschedulable");
    assert_non_null(strstr(json_string_value(json_object_get(sc, "message")), "Insufficient cpu"));
    json_decref(p);
    /* the same decision again writes nothing */
    assert_int_equal(ks_sched_bind_pending(NULL, &changed, s, 1), 0);
    assert_false(changed);

    /* a restarted control plane (started at 95 s) gives a the full grace again */
    assert_int_equal(ks_node_lifecycle(&changed, s, T0_MS + 100000, T0_MS + 95000, &g), 0);
    p = get(s, "Pod", "default", "on-a");
    assert_string_equal(str(p, "status", "phase"), "Running");
    json_decref(p);

    /* 100 s after its last heartbeat: a's pod fails with NodeLost */
    assert_int_equal(ks_node_lifecycle(&changed, s, T0_MS + 100000, 0, &g), 0);
    assert_true(changed);
    p = get(s, "Pod", "default", "on-a");
    assert_string_equal(str(p, "status", "phase"), "Failed");
    assert_string_equal(str(p, "status", "reason"), "NodeLost");
    json_decref(p);

    /* a comes back: its lost pod is deleted (its agent then removes it) */
    put_node(s, "a", "2026-01-01T00:01:45Z");
    assert_int_equal(ks_node_lifecycle(&changed, s, T0_MS + 110000, 0, &g), 0);
    assert_true(changed);
    json_t *gone = NULL;
    struct ks_store_key k = {"Pod", "default", "on-a"};
    assert_int_equal(ks_store_get(&gone, s, &k), KS_ENOTFOUND);
    close_store(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(triggers_coalesce),
        cmocka_unit_test(triggers_without_interval),
        cmocka_unit_test(node_verdicts),
        cmocka_unit_test(lifecycle_and_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
