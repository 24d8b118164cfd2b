/*
 * writeback_bench.c: what the status branch costs (issue 8's benchmark).
 *
 *  1. a sync of 100 objects: 100 status files with health, sync.yaml with
 *     100 changes, committed with no remote (commit cost), then with a bare
 *     file:// remote: first push of the branch, then one more sync that
 *     changes 10 objects (commit + incremental push);
 *  2. a drift storm: 1,000 drift events on 50 pods spread over 10 s, the
 *     internal thread committing with the default 10 s window: number of
 *     commits and the CPU time the process spent (the event generator is a
 *     few json_pack calls per event).
 *
 * Real git repositories in a temp dir (made with the git CLI). Prints
 * numbers; exit 1 only when something does not work, never on a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/error.h"
#include "reconciler/writeback/writeback.h"

static char dir[64];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int sh(const char *cmd)
{
    char full[1024];
    snprintf(full, sizeof full, "set -e; cd %s; %s >/dev/null 2>&1", dir, cmd);
    return system(full);
}

static int check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "writeback-bench: %s: %s\n", what, ks_error_last());
        exit(1);
    }
    return rc;
}

static struct ks_writeback *open_wb(const char *remote, long interval)
{
    char repo[128];
    snprintf(repo, sizeof repo, "%s/repo", dir);
    struct ks_writeback_opts o = {.repo_path = repo, .remote = remote, .interval_ms = interval};
    struct ks_writeback *wb = NULL;
    check(ks_writeback_new(&wb, &o), "open");
    return wb;
}

/* One sync touching objects [0, n) with generation gen. */
static void record_sync(struct ks_writeback *wb, int n, int gen)
{
    json_t *changes = json_array();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "app-%03d", i);
        json_t *obs = json_pack("{s:{s:i, s:i, s:i}, s:[{s:s, s:s}, {s:s, s:s}], s:[s]}",
                                "replicas", "desired", 2, "ready", 2, "updated", gen, "pods",
                                "name", "p1", "node", "node-a", "name", "p2", "node", "node-b",
                                "images", "localhost/keelson-busybox:latest");
        check(ks_writeback_set_object_status(wb, "Deployment", "bench", name, obs), "status");
        check(ks_writeback_record_health(wb, "Deployment", "bench", name,
                                         gen % 2 ? "Healthy" : "Progressing", NULL, NULL),
              "health");
        json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:s}", "action", "update", "kind",
                                                 "Deployment", "namespace", "bench", "name", name));
        json_decref(obs);
    }
    json_t *summary = json_pack("{s:i, s:i, s:i, s:i, s:o}", "create", 0, "update", n, "delete", 0,
                                "unchanged", 100 - n, "changes", changes);
    char sha[41];
    snprintf(sha, sizeof sha, "%08x%032d", (unsigned)gen, 0);
    struct ks_writeback_sync s = {.source_sha = sha, .result = "ok", .summary = summary};
    check(ks_writeback_record_sync(wb, &s), "sync");
    json_decref(summary);
}

static void sync_100(void)
{
    char remote[128];
    snprintf(remote, sizeof remote, "file://%s/remote.git", dir);
    struct ks_writeback *wb = open_wb(NULL, 0);
    double t = now_ms(), c = cpu_ms();
    record_sync(wb, 100, 1);
    printf("sync of 100 objects: recording %.1f ms (CPU %.1f ms)\n", now_ms() - t, cpu_ms() - c);
    t = now_ms();
    c = cpu_ms();
    check(ks_writeback_flush(wb), "flush");
    printf("  commit (100 status files + sync.yaml, no remote): %.1f ms (CPU %.1f ms)\n",
           now_ms() - t, cpu_ms() - c);
    ks_writeback_free(wb);

    wb = open_wb(remote, 0);
    t = now_ms();
    c = cpu_ms();
    check(ks_writeback_flush(wb), "first push");
    printf("  first push of the branch (1 commit, 101 files) to a bare file:// remote: %.1f ms "
           "(CPU %.1f ms)\n",
           now_ms() - t, cpu_ms() - c);
    record_sync(wb, 10, 2);
    t = now_ms();
    c = cpu_ms();
    check(ks_writeback_flush(wb), "incremental");
    printf("  next sync changing 10 of 100 objects: commit + incremental push %.1f ms (CPU %.1f "
           "ms)\n",
           now_ms() - t, cpu_ms() - c);
    ks_writeback_free(wb);
}

static json_t *drift_event(int i)
{
    char pod[32];
    snprintf(pod, sizeof pod, "web-%02d", i % 50);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:{s:s, s:i}, s:s}}",
                     "type", "Warning", "reason", "Drift", "message",
                     "container web stopped out of band", "node", "node-a", "object", "kind", "Pod",
                     "namespace", "bench", "name", pod, "drift", "what", "stopped", "container",
                     "web", "found", "state", "exited", "exitCode", i, "action", "restarted");
}

/* 1,000 events over 10 s; wb NULL: only the generator (the baseline). */
static double storm(struct ks_writeback *wb)
{
    double cpu0 = cpu_ms();
    for (int i = 0; i < 1000; i++) {
        json_t *ev = drift_event(i);
        if (wb)
            check(ks_writeback_record_drift(wb, ev), "drift");
        json_decref(ev);
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return cpu_ms() - cpu0;
}

static void drift_storm(void)
{
    double base = storm(NULL);
    struct ks_writeback *wb = open_wb(NULL, 0); /* default 10 s window */
    check(ks_writeback_start(wb), "start");
    double cpu0 = cpu_ms(), t0 = now_ms();
    storm(wb);
    double took = now_ms() - t0;
    struct ks_writeback_stats st;
    /* wait for the thread to commit the rest (its window closes 10 s
     * after the first event it holds) */
    for (int i = 0; i < 250; i++) {
        ks_writeback_stats(&st, wb);
        if (st.pending_events == 0)
            break;
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    double cpu = cpu_ms() - cpu0;
    if (st.pending_events || st.last_error[0]) {
        fprintf(stderr, "writeback-bench: %zu events still pending after 25 s: %s\n",
                st.pending_events, st.last_error);
        exit(1);
    }
    ks_writeback_free(wb);
    printf("drift storm: 1000 events over %.1f s -> %llu commits; CPU %.0f ms, of which the "
           "event generator alone (measured without writeback) %.0f ms: writeback %.0f ms\n",
           took / 1e3, (unsigned long long)st.commits, cpu, base, cpu - base);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/ks-wb-bench-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    if (sh("git init -q -b main repo && git -C repo commit -q --allow-empty -m init "
           "--author='A <a@b>' && git init -q --bare remote.git") != 0) {
        fprintf(stderr, "writeback-bench: git init failed\n");
        return 1;
    }
    if (!getenv("NOSYNC"))
        sync_100();
    drift_storm();
    char cmd[128];
    snprintf(cmd, sizeof cmd, getenv("KEEP") ? "true %s" : "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
