/*
 * pass_bench.c: the control plane's controller pass in process, at the
 * scale of tests/bench/sim (500 Deployments x 10 replicas on 100 nodes), so
 * its CPU cost can be measured and profiled without 100 agents around it.
 * A real SQLite store in a temp dir; Ready Nodes with a fresh heartbeat; a
 * fake agent that marks every bound pod Running and Ready (as the API's pod
 * status endpoint would, one put per pod, in one transaction, on a second
 * connection as the API thread has its own; AGENT_CONN=0: on the pass's
 * connection). The pass's connection commits relaxed, as the daemon's
 * worker does (ks_store_set_durability). Measured:
 * the passes from the Deployments' creation to every pod Running, an idle
 * pass, a pass after one pod's status changed, and the rolling update of
 * all Deployments (new image), each as wall and thread CPU time.
 * Usage: sim-pass-bench [DEPLOYMENTS [REPLICAS [NODES]]] (IDLE_PASSES=N: N idle passes, 3;
 * AGENT_CONN=0|1, 1; MANUAL_CHECKPOINTS=0|1, 0; 1: the pass's connection checkpoints after each
 * pass (counted in it) instead of in its commits; ROLLING=0 skips the rolling update;
 * LOG_LEVEL=debug|info|...: the log on stderr, "controller pass" lines at debug) Prints numbers;
 * exit 1 only when something fails, never on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "reconciler/controllers/controllers.h"
#include "reconciler/controllers/internal.h"
#include "tests/bench/lib/benchargs.h"
#include "reconciler/daemon/daemon.h"
#include "reconciler/store/store.h"

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "sim-pass-bench: %s: %s\n", what, ks_error_last());
        exit(1);
    }
}

static json_t *deployment(int i, int replicas, const char *image)
{
    char name[32];
    snprintf(name, sizeof name, "app-%03d", i);
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
                     "s:{s:i, s:[{s:s, s:s, s:[s,s,s]}]}}}}",
                     "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name,
                     "namespace", "default", "spec", "replicas", replicas, "selector",
                     "matchLabels", "app", name, "template", "metadata", "labels", "app", name,
                     "spec", "terminationGracePeriodSeconds", 1, "containers", "name", "main",
                     "image", image, "command", "sh", "-c", "while true; do sleep 1; done");
}

static void put_nodes(struct ks_store *store, int nodes)
{
    char ts[KS_CTL_TIME_LEN];
    ks_ctl_time_format(ts, time(NULL) + 3600); /* fresh for the whole run */
    check(ks_store_begin(store), "begin");
    for (int i = 0; i < nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "sim-%03d", i);
        json_t *n = json_pack(
            "{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
            "s:[{s:s, s:s, s:s, s:s, s:s}]}}",
            "apiVersion", "v1", "kind", "Node", "metadata", "name", name, "namespace", "", "status",
            "capacity", "cpu", "2", "memory", "4Gi", "pods", "110", "allocatable", "cpu", "2",
            "memory", "4Gi", "pods", "110", "conditions", "type", "Ready", "status", "True",
            "reason", "NodeAgentHeartbeat", "lastHeartbeatTime", ts, "lastTransitionTime", ts);
        check(ks_store_put(NULL, store, n, KS_STORE_ANY_REVISION), "node");
        json_decref(n);
    }
    check(ks_store_commit(store), "commit");
}

/* The fake agents: every bound pod not yet Running runs and is Ready. */
static int agents(struct ks_store *store)
{
    json_t *pods = NULL;
    char ts[KS_CTL_TIME_LEN];
    ks_ctl_time_format(ts, time(NULL));
    check(ks_ctl_list(&pods, store, "Pod", NULL), "list pods");
    check(ks_store_begin(store), "begin");
    int n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (!ks_ctl_str(p, "spec", "nodeName") || ks_ctl_pod_ready(p))
            continue;
        json_t *next = json_deep_copy(p);
        json_object_set_new(next, "status",
                            json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}], "
                                      "s:[{s:s, s:b, s:i, s:{s:{s:s}}}]}",
                                      "phase", "Running", "podIP", "10.88.0.2", "startTime", ts,
                                      "conditions", "type", "Ready", "status", "True",
                                      "lastTransitionTime", ts, "type", "ContainersReady", "status",
                                      "True", "lastTransitionTime", ts, "containerStatuses", "name",
                                      "main", "ready", 1, "restartCount", 0, "state", "running",
                                      "startedAt", ts));
        check(ks_store_put(NULL, store, next, KS_STORE_ANY_REVISION), "pod status");
        json_decref(next);
        n++;
    }
    check(ks_store_commit(store), "commit");
    json_decref(pods);
    return n;
}

static bool manual_checkpoints;

/* A 0/1 knob from the environment. */
static bool env_flag(const char *name, bool def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    if (strcmp(v, "0") && strcmp(v, "1")) {
        fprintf(stderr, "sim-pass-bench: %s: want 0 or 1, got \"%s\"\n", name, v);
        exit(1);
    }
    return *v == '1';
}

struct totals {
    int passes;
    double wall, cpu, max_wall;
};

static void pass(struct totals *t, struct ks_ctl_pass *cp, struct ks_store *store)
{
    double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    check(ks_ctl_pass_run(cp, store, (int64_t)time(NULL) * 1000), "pass");
    if (manual_checkpoints) /* counted with the pass: the daemon's worker runs it after one */
        check(ks_store_checkpoint(store), "checkpoint");
    double w = clock_ms(CLOCK_MONOTONIC) - w0;
    t->passes++;
    t->wall += w;
    t->cpu += clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (w > t->max_wall)
        t->max_wall = w;
}

static int64_t running(struct ks_store *store, const char *image)
{
    json_t *pods = NULL;
    check(ks_ctl_list(&pods, store, "Pod", NULL), "list pods");
    int64_t n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *img = json_string_value(
            json_object_get(json_array_get(ks_ctl_at(p, "spec", "containers"), 0), "image"));
        n += ks_ctl_pod_ready(p) && img && !strcmp(img, image);
    }
    json_decref(pods);
    return n;
}

static void report(const char *what, const struct totals *t)
{
    printf("  %-52s %3d passes, wall %8.1f ms (max %7.1f), thread CPU %8.1f ms\n", what, t->passes,
           t->wall, t->max_wall, t->cpu);
}

/* Passes and agent rounds until every pod runs image; agent time not counted. */
static void converge(struct totals *t, struct ks_ctl_pass *cp, struct ks_store *store,
                     struct ks_store *agent, const char *image, int64_t want)
{
    for (int round = 0; round < 1000; round++) {
        pass(t, cp, store);
        int started = agents(agent);
        if (started == 0 && running(store, image) == want) {
            json_t *pods = NULL;
            check(ks_ctl_list(&pods, store, "Pod", NULL), "list pods");
            size_t total = json_array_size(pods);
            json_decref(pods);
            if ((int64_t)total == want)
                return;
        }
    }
    fprintf(stderr, "sim-pass-bench: no convergence after 1000 rounds\n");
    exit(1);
}

int main(int argc, char **argv)
{
    int deployments = (int)ks_bench_arg(argc > 1 ? argv[1] : NULL, 500, "deployments"),
        replicas = (int)ks_bench_arg(argc > 2 ? argv[2] : NULL, 10, "replicas"),
        nodes = (int)ks_bench_arg(argc > 3 ? argv[3] : NULL, 100, "nodes");
    enum ks_log_level level = KS_LOG_INFO;
    if (getenv("LOG_LEVEL") && ks_log_level_parse(&level, getenv("LOG_LEVEL")) != 0)
        check(KS_EINVALID, "LOG_LEVEL");
    ks_log_configure(level, KS_LOG_LOGFMT, stderr);
    char dir[] = "/tmp/ks-pass-bench-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct ks_store *store = NULL;
    check(ks_store_open_sqlite(&store, path, 0), "open");
    check(ks_store_set_durability(store, KS_STORE_RELAXED), "durability"); /* as run.c */
    manual_checkpoints = env_flag("MANUAL_CHECKPOINTS", false);
    check(ks_store_set_checkpoints(store, !manual_checkpoints), "checkpoints"); /* as run.c */
    struct ks_store *agent = store;
    if (env_flag("AGENT_CONN", true)) {
        check(ks_store_open_sqlite(&agent, path, 0), "open");
        check(ks_store_set_durability(agent, KS_STORE_RELAXED), "durability"); /* as cp.c */
    }
    struct ks_ctl_pass cp = {.started_ms = (int64_t)time(NULL) * 1000, .rng = 42};
    int64_t want = (int64_t)deployments * replicas;
    printf("controller pass: %d Deployments x %d replicas on %d nodes (SQLite in %s)\n",
           deployments, replicas, nodes, dir);
    put_nodes(store, nodes);
    check(ks_store_begin(store), "begin");
    for (int i = 0; i < deployments; i++) {
        json_t *d = deployment(i, replicas, "busybox:v1");
        check(ks_store_put(NULL, store, d, KS_STORE_ANY_REVISION), "deployment");
        json_decref(d);
    }
    check(ks_store_commit(store), "commit");

    struct totals create = {0}, idle = {0}, one = {0}, roll = {0};
    converge(&create, &cp, store, agent, "busybox:v1", want);
    report("create -> all Running (agent time excluded)", &create);
    const char *env = getenv("IDLE_PASSES"); /* more of them for a profile */
    int nidle = (int)ks_bench_arg(env, 3, "IDLE_PASSES");
    for (int i = 0; i < nidle; i++)
        pass(&idle, &cp, store);
    report("idle passes", &idle);
    for (int i = 0; i < 3; i++) { /* one pod's status changes, as a heartbeat-sized write */
        json_t *pods = NULL;
        check(ks_ctl_list(&pods, store, "Pod", NULL), "list pods");
        json_t *p = json_deep_copy(json_array_get(pods, (size_t)i));
        json_object_set_new(json_object_get(p, "status"), "podIP", json_string("10.88.0.3"));
        check(ks_store_put(NULL, agent, p, KS_STORE_ANY_REVISION), "pod");
        json_decref(p);
        json_decref(pods);
        pass(&one, &cp, store);
    }
    report("pass after one pod's status changed x3", &one);
    if (!env_flag("ROLLING", true))
        goto out;
    check(ks_store_begin(store), "begin");
    for (int i = 0; i < deployments; i++) {
        json_t *d = NULL, *next = deployment(i, replicas, "busybox:v2");
        char name[32];
        snprintf(name, sizeof name, "app-%03d", i);
        struct ks_store_key key = {"Deployment", "default", name};
        check(ks_store_get(&d, store, &key), "get");
        json_object_set(next, "metadata", json_object_get(d, "metadata"));
        check(ks_store_put(NULL, store, next, KS_STORE_ANY_REVISION), "deployment");
        json_decref(d);
        json_decref(next);
    }
    check(ks_store_commit(store), "commit");
    converge(&roll, &cp, store, agent, "busybox:v2", want);
    report("rolling update of all -> all Running (agent excluded)", &roll);
out:
    if (agent != store)
        ks_store_close(agent);
    ks_store_close(store);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
