/*
 * test_writeback.c: the status branch against real repositories made with
 * the git CLI: the first sync creates an orphan branch with sync.yaml, a
 * readable subject and trailers, without touching HEAD, the deploy branch,
 * the index or the work tree; events of one window become one commit;
 * nothing changed means no commit; a drift names pod, node, what was found
 * and that it was healed; status files merge health and observed state
 * (also across a restart); pushing to a bare file:// remote, surviving the
 * remote being away (queue, order, nothing lost), the queue limit, and a
 * concurrent writer whose commits are kept (ours re-applied on top).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "reconciler/writeback/writeback.h"

struct fixture {
    char dir[64];
    char repo[128];
    char remote[160];
    char main_sha[41];
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2300];
    snprintf(full, sizeof full,
             "set -e; export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.org "
             "GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.org; %s >/dev/null 2>&1",
             cmd);
    assert_int_equal(system(full), 0);
}

/* Output of a shell command (trailing newline removed); caller frees. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap)
            out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    pclose(p);
    while (len && out[len - 1] == '\n')
        out[--len] = '\0';
    return out;
}

static void assert_output(const char *expected, const char *cmd_fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void assert_output(const char *expected, const char *cmd_fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, cmd_fmt);
    vsnprintf(cmd, sizeof cmd, cmd_fmt, ap);
    va_end(ap);
    char *out = run("%s", cmd);
    assert_string_equal(out, expected);
    free(out);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" not found in:\n%s", needle, haystack);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-writeback-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
    snprintf(f->remote, sizeof f->remote, "file://%s/remote.git", f->dir);
    sh("cd %s && git init -q -b main repo && cd repo && mkdir -p apps && "
       "printf 'kind: Deployment\\n' > apps/web.yaml && git add -A && git commit -qm deploy && "
       "printf 'local edit\\n' >> apps/web.yaml && printf 'new\\n' > untracked.txt",
       f->dir);
    char *sha = run("git -C %s rev-parse main", f->repo);
    snprintf(f->main_sha, sizeof f->main_sha, "%s", sha);
    free(sha);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sh("rm -rf %s", f->dir);
    free(f);
    return 0;
}

static struct ks_writeback *open_wb(struct fixture *f, const char *remote, long interval_ms,
                                    size_t max_queue)
{
    struct ks_writeback *wb = NULL;
    struct ks_writeback_opts o = {
        .repo_path = f->repo, .remote = remote, .interval_ms = interval_ms, .max_queue = max_queue};
    if (ks_writeback_new(&wb, &o))
        fail_msg("ks_writeback_new: %s", ks_error_last());
    return wb;
}

static void record_sync(struct ks_writeback *wb, const char *sha, int created, int updated,
                        const char *error)
{
    json_t *summary =
        json_pack("{s:i, s:i, s:i, s:i, s:[{s:s, s:s, s:s, s:s}]}", "create", created, "update",
                  updated, "delete", 0, "unchanged", 2, "changes", "action", "create", "kind",
                  "Deployment", "namespace", "default", "name", "web");
    struct ks_writeback_sync s = {
        .source_sha = sha, .result = error ? "failed" : "ok", .summary = summary, .error = error};
    assert_int_equal(ks_writeback_record_sync(wb, &s), 0);
    json_decref(summary);
}

static void flush_ok(struct ks_writeback *wb)
{
    if (ks_writeback_flush(wb))
        fail_msg("flush: %s", ks_error_last());
}

/* HEAD, main, the index and the work tree are as the user left them. */
static void assert_user_untouched(struct fixture *f)
{
    assert_output("refs/heads/main", "git -C %s symbolic-ref HEAD", f->repo);
    assert_output(f->main_sha, "git -C %s rev-parse main", f->repo);
    assert_output(" M apps/web.yaml\n?? untracked.txt", "git -C %s status --porcelain", f->repo);
    assert_output("kind: Deployment\nlocal edit", "cat %s/apps/web.yaml", f->repo);
    assert_output("", "git -C %s diff --cached --name-only", f->repo);
}

static const char *SHA1 = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d";
static const char *SHA2 = "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e";

static void sync_creates_orphan_branch(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 0, 0);
    record_sync(wb, SHA1, 3, 1, NULL);
    flush_ok(wb);
    assert_output("sync 1a2b3c4: applied 3 created, 1 updated",
                  "git -C %s log --format=%%s keelson/status", f->repo);
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo); /* orphan */
    assert_output("keelson <keelson@localhost>",
                  "git -C %s log -1 --format='%%an <%%ae>' "
                  "keelson/status",
                  f->repo);
    assert_output("Keelson-Source: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\nKeelson-Event: sync\n"
                  "Keelson-Object: Deployment/default/web",
                  "git -C %s log -1 --format='%%(trailers:only,unfold)' keelson/status", f->repo);
    char *yaml = run("git -C %s show keelson/status:sync.yaml", f->repo);
    assert_contains(yaml, "source: \"1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\"\nresult: ok\n");
    assert_contains(yaml, "summary:\n  create: 3\n  update: 1\n  delete: 0\n  unchanged: 2\n");
    assert_contains(yaml, "changes:\n- action: create\n  object: Deployment/default/web");
    free(yaml);
    assert_output("sync.yaml", "git -C %s ls-tree -r --name-only keelson/status", f->repo);
    assert_user_untouched(f);

    /* a failed sync: the error is in the subject and the file */
    record_sync(wb, SHA2, 0, 0, "apps/web.yaml:3:5: mapping values are not allowed here");
    flush_ok(wb);
    assert_output("sync 2b3c4d5 failed: apps/web.yaml:3:5: mapping values are not allowed here",
                  "git -C %s log -1 --format=%%s keelson/status", f->repo);
    yaml = run("git -C %s show keelson/status:sync.yaml", f->repo);
    assert_contains(yaml, "result: failed\n");
    assert_contains(yaml, "error: \"apps/web.yaml:3:5: mapping values are not allowed here\"");
    free(yaml);
    /* a fetch that failed: no source commit */
    struct ks_writeback_sync nofetch = {.result = "failed", .error = "git: origin: unreachable"};
    assert_int_equal(ks_writeback_record_sync(wb, &nofetch), 0);
    flush_ok(wb);
    assert_output("sync failed: git: origin: unreachable",
                  "git -C %s log -1 --format=%%s keelson/status", f->repo);
    assert_output("Keelson-Event: sync",
                  "git -C %s log -1 --format='%%(trailers:only,unfold)' keelson/status", f->repo);
    struct ks_writeback_sync ok_without_sha = {.result = "ok"};
    assert_int_equal(ks_writeback_record_sync(wb, &ok_without_sha), KS_EINVALID);
    assert_user_untouched(f);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.commits, 3);
    char *tip = run("git -C %s rev-parse keelson/status", f->repo);
    assert_string_equal(st.tip, tip);
    free(tip);
    ks_writeback_free(wb);
}

static json_t *drift_event(const char *pod, const char *action)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:{s:s, s:i}, s:s}}",
                     "type", "Warning", "reason", "Drift", "message",
                     "container web stopped out of band", "node", "node-a", "object", "kind", "Pod",
                     "namespace", "default", "name", pod, "drift", "what", "stopped", "container",
                     "web", "found", "state", "exited", "exitCode", 137, "action", action);
}

static void batches_one_window_into_one_commit(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 10000, 0);
    int64_t t0 = ks_writeback_clock_ms();
    record_sync(wb, SHA1, 1, 0, NULL);
    assert_int_equal(ks_writeback_record_health(wb, "Deployment", "default", "web", "Degraded",
                                                "ProgressDeadlineExceeded", SHA1),
                     0);
    json_t *obs = json_pack("{s:{s:i, s:i}, s:[{s:s, s:s}], s:[s]}", "replicas", "desired", 2,
                            "ready", 1, "pods", "name", "web-1", "node", "node-a", "images",
                            "localhost/keelson-busybox:latest");
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", obs), 0);
    json_t *ev = drift_event("web-1", "restarted");
    assert_int_equal(ks_writeback_record_drift(wb, ev), 0);
    json_t *node = json_pack("{s:s, s:{s:s}}", "name", "node-a", "capacity", "cpu", "2");
    assert_int_equal(ks_writeback_set_node(wb, "node-a", node), 0);

    assert_int_equal(ks_writeback_tick(wb, t0 + 5000), 0); /* window still open */
    assert_output("", "git -C %s rev-parse -q --verify keelson/status", f->repo);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.pending_events, 4);
    /* the window opened with the first record, between t0 and t1 */
    int64_t t1 = ks_writeback_clock_ms();
    assert_int_equal(ks_writeback_tick(wb, t1 + 10000), 0);
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo);
    char *msg = run("git -C %s log -1 --format=%%B keelson/status", f->repo);
    assert_contains(msg, "sync 1a2b3c4: applied 1 created (+3 more: 1 drift, 1 health, 1 node)\n");
    assert_contains(msg, "- health: Deployment default/web Degraded (ProgressDeadlineExceeded)\n");
    assert_contains(msg, "- drift: default/web-1 container web stopped out of band on node-a, "
                         "restarted\n");
    assert_contains(msg, "- node: node-a updated\n");
    assert_contains(msg, "Keelson-Event: sync\nKeelson-Event: drift\nKeelson-Event: health\n"
                         "Keelson-Event: node\n");
    assert_contains(msg, "Keelson-Object: Pod/default/web-1\n");
    assert_contains(msg, "Keelson-Object: Node/node-a");
    free(msg);
    /* only one Keelson-Object per object although two events name it */
    assert_output("1",
                  "git -C %s log -1 --format=%%B keelson/status | grep -c "
                  "'^Keelson-Object: Deployment/default/web$'",
                  f->repo);
    assert_output("drift/default/web-1.yaml\nnodes/node-a.yaml\n"
                  "status/default/Deployment/web.yaml\nsync.yaml",
                  "git -C %s ls-tree -r --name-only keelson/status", f->repo);
    char *yaml = run("git -C %s show keelson/status:status/default/Deployment/web.yaml", f->repo);
    assert_contains(yaml, "kind: Deployment\nnamespace: default\nname: web\nhealth:\n"
                          "  status: Degraded\n  reason: ProgressDeadlineExceeded\n");
    assert_contains(yaml, "replicas:\n  desired: 2\n  ready: 1\npods:\n- name: web-1\n"
                          "  node: node-a\nimages:\n- localhost/keelson-busybox:latest");
    free(yaml);
    assert_user_untouched(f);
    json_decref(obs);
    json_decref(ev);
    json_decref(node);
    ks_writeback_free(wb);
}

static void no_commit_when_nothing_changed(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 0, 0);
    json_t *obs = json_pack("{s:i}", "replicas", 2);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", obs), 0);
    assert_int_equal(
        ks_writeback_record_health(wb, "Deployment", "default", "web", "Healthy", NULL, SHA1), 0);
    record_sync(wb, SHA1, 1, 0, NULL);
    flush_ok(wb);
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo);
    /* the same again: same files, same health, same sync */
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", obs), 0);
    for (int i = 0; i < 20; i++) /* reported on every evaluation: no event */
        assert_int_equal(
            ks_writeback_record_health(wb, "Deployment", "default", "web", "Healthy", NULL, SHA1),
            0);
    struct ks_writeback_stats before;
    ks_writeback_stats(&before, wb);
    assert_int_equal(before.pending_events, 0);
    record_sync(wb, SHA1, 1, 0, NULL);
    flush_ok(wb);
    flush_ok(wb); /* nothing pending at all */
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.commits, 1);
    /* a real change commits; removing the object removes its file */
    json_object_set_new(obs, "replicas", json_integer(3));
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", obs), 0);
    flush_ok(wb);
    assert_output("status: 1 object updated", "git -C %s log -1 --format=%%s keelson/status",
                  f->repo);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", NULL), 0);
    flush_ok(wb);
    assert_output("sync.yaml", "git -C %s ls-tree -r --name-only keelson/status", f->repo);
    json_decref(obs);
    ks_writeback_free(wb);
}

static void drift_names_pod_node_found_healed(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 0, 0);
    json_t *ev = drift_event("web-1", "restarted");
    assert_int_equal(ks_writeback_record_drift(wb, ev), 0);
    flush_ok(wb);
    assert_output("drift: default/web-1 container web stopped out of band on node-a, restarted",
                  "git -C %s log -1 --format=%%s keelson/status", f->repo);
    assert_output("Keelson-Event: drift\nKeelson-Object: Pod/default/web-1",
                  "git -C %s log -1 --format='%%(trailers:only,unfold)' keelson/status", f->repo);
    char *yaml = run("git -C %s show keelson/status:drift/default/web-1.yaml", f->repo);
    assert_contains(yaml, "object:\n  kind: Pod\n  namespace: default\n  name: web-1\n"
                          "node: node-a\ntime: ");
    assert_contains(yaml, "message: container web stopped out of band\nwhat: stopped\ncontainer: "
                          "web\nfound:\n  state: exited\n"
                          "  exitCode: 137\naction: restarted\nhealed: true");
    free(yaml);
    /* a drift is recorded even when its file would not change */
    json_object_set_new(ev, "time", json_string("2026-12-01T10:00:00Z"));
    assert_int_equal(ks_writeback_record_drift(wb, ev), 0);
    flush_ok(wb);
    assert_int_equal(ks_writeback_record_drift(wb, ev), 0);
    flush_ok(wb);
    assert_output("3", "git -C %s rev-list --count keelson/status", f->repo);
    assert_output("", "git -C %s diff keelson/status~1 keelson/status", f->repo);
    /* not healed: self-heal off; desired and found give a diff */
    json_t *ev2 = drift_event("web-2", "reported");
    json_object_set_new(json_object_get(ev2, "drift"), "desired",
                        json_pack("{s:s, s:s}", "state", "running", "image", "busybox:1"));
    json_object_set_new(json_object_get(ev2, "drift"), "found",
                        json_pack("{s:s, s:s}", "state", "running", "image", "busybox:2"));
    assert_int_equal(ks_writeback_record_drift(wb, ev2), 0);
    flush_ok(wb);
    assert_output("drift: default/web-2 container web stopped out of band on node-a, reported",
                  "git -C %s log -1 --format=%%s keelson/status", f->repo);
    assert_output("healed: false",
                  "git -C %s show keelson/status:drift/default/web-2.yaml | grep healed", f->repo);
    yaml = run("git -C %s show keelson/status:drift/default/web-2.yaml", f->repo);
    assert_contains(yaml, "diff: |\n  --- desired\n  +++ observed\n  @@ -1,2 +1,2 @@\n"
                          "   state: running\n  -image: busybox:1\n  +image: busybox:2");
    free(yaml);
    assert_user_untouched(f);
    json_decref(ev);
    json_decref(ev2);
    ks_writeback_free(wb);
}

static void health_survives_restart(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 0, 0);
    json_t *obs = json_pack("{s:i}", "replicas", 2);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "shop", "api", obs), 0);
    assert_int_equal(
        ks_writeback_record_health(wb, "Deployment", "shop", "api", "Healthy", NULL, SHA1), 0);
    flush_ok(wb);
    ks_writeback_free(wb);
    wb = open_wb(f, NULL, 0, 0);
    json_object_set_new(obs, "replicas", json_integer(4));
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "shop", "api", obs), 0);
    flush_ok(wb);
    char *diff =
        run("git -C %s diff -U0 keelson/status~1 keelson/status | grep '^[-+][a-z]'", f->repo);
    assert_string_equal(diff, "-replicas: 2\n+replicas: 4");
    free(diff);
    ks_writeback_free(wb);
    /* a restarted control plane reports the same health again: no
     * transition, no commit; then a real transition commits */
    struct timespec second = {1, 100 * 1000000}; /* lastTransition: 1 s resolution */
    nanosleep(&second, NULL);
    wb = open_wb(f, NULL, 0, 0);
    assert_int_equal(
        ks_writeback_record_health(wb, "Deployment", "shop", "api", "Healthy", NULL, SHA2), 0);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "shop", "api", obs), 0);
    flush_ok(wb);
    assert_output("2", "git -C %s rev-list --count keelson/status", f->repo);
    assert_int_equal(ks_writeback_record_health(wb, "Deployment", "shop", "api", "Degraded",
                                                "ProgressDeadlineExceeded", SHA2),
                     0);
    flush_ok(wb);
    assert_output("health: Deployment shop/api Degraded (ProgressDeadlineExceeded)",
                  "git -C %s log -1 --format=%%s keelson/status", f->repo);
    json_decref(obs);
    ks_writeback_free(wb);
}

static void rejects_bad_input_and_checked_out_branch(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 0, 0);
    json_t *obs = json_object();
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "..", "x", obs), KS_EINVALID);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "a/b", "x", obs),
                     KS_EINVALID);
    assert_int_equal(ks_writeback_set_node(wb, "", obs), KS_EINVALID);
    struct ks_writeback_sync bad = {.source_sha = SHA1, .result = "maybe"};
    assert_int_equal(ks_writeback_record_sync(wb, &bad), KS_EINVALID);
    record_sync(wb, SHA1, 1, 0, NULL);
    flush_ok(wb);
    /* the user checks the status branch out: keelson stops writing it */
    sh("cd %s && git stash -q -u && git checkout -q keelson/status", f->repo);
    record_sync(wb, SHA2, 2, 0, NULL);
    assert_int_equal(ks_writeback_flush(wb), KS_ECONFLICT);
    assert_contains(ks_error_last(), "checked out");
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo);
    sh("cd %s && git checkout -q main && git stash pop -q", f->repo);
    flush_ok(wb); /* the sync was kept and is written now */
    assert_output("sync 2b3c4d5: applied 2 created", "git -C %s log -1 --format=%%s keelson/status",
                  f->repo);
    assert_user_untouched(f);
    json_decref(obs);
    ks_writeback_free(wb);
}

static void limits_name_the_limit(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = NULL;
    struct ks_writeback_opts o = {
        .repo_path = f->repo, .max_objects = 2, .max_file_bytes = 200, .max_events = 3};
    assert_int_equal(ks_writeback_new(&wb, &o), 0);
    json_t *big = json_pack("{s:s%}", "blob",
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789",
                            (size_t)240);
    assert_int_equal(ks_writeback_set_object_status(wb, "ConfigMap", "default", "a", big), 0);
    assert_int_equal(ks_writeback_set_object_status(wb, "ConfigMap", "default", "b", big), 0);
    assert_int_equal(ks_writeback_set_object_status(wb, "ConfigMap", "default", "c", big),
                     KS_ELIMIT);
    assert_contains(ks_error_last(), "object limit");
    for (int i = 0; i < 5; i++)
        assert_int_equal(ks_writeback_record_health(wb, "ConfigMap", "default", "a",
                                                    i % 2 ? "Healthy" : "Degraded", NULL, SHA1),
                         0);
    flush_ok(wb);
    char *yaml = run("git -C %s show keelson/status:status/default/ConfigMap/a.yaml", f->repo);
    assert_contains(yaml, "error: ");
    assert_contains(yaml, "200");
    free(yaml);
    char *msg = run("git -C %s log -1 --format=%%B keelson/status", f->repo);
    assert_contains(msg, "2 more events in this window were not kept (limit of 3 events");
    free(msg);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.events_dropped, 2);
    json_decref(big);
    ks_writeback_free(wb);
}

static char *remote_subjects(struct fixture *f)
{
    return run("git --git-dir=%s/remote.git log --format=%%s --reverse keelson/status", f->dir);
}

static void pushes_and_survives_unreachable_remote(void **state)
{
    struct fixture *f = *state;
    sh("git init -q --bare %s/remote.git", f->dir);
    struct ks_writeback *wb = open_wb(f, f->remote, 0, 0);
    record_sync(wb, SHA1, 1, 0, NULL);
    flush_ok(wb);
    char *local = run("git -C %s rev-parse keelson/status", f->repo);
    char *remote = run("git --git-dir=%s/remote.git rev-parse keelson/status", f->dir);
    assert_string_equal(local, remote);
    free(local);
    free(remote);

    sh("mv %s/remote.git %s/away.git", f->dir, f->dir);
    char sha[41];
    for (int i = 0; i < 3; i++) {
        snprintf(sha, sizeof sha, "%d%039d", i + 3, 0);
        record_sync(wb, sha, i + 2, 0, NULL);
        assert_int_equal(ks_writeback_flush(wb), KS_EIO);
    }
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.unpushed, 3);
    assert_true(st.push_failing);
    assert_true(st.last_error[0] != '\0');
    /* tick respects the backoff: no attempt right away */
    assert_int_equal(ks_writeback_tick(wb, ks_writeback_clock_ms()), 0);
    sh("mv %s/away.git %s/remote.git", f->dir, f->dir);
    assert_int_equal(ks_writeback_tick(wb, ks_writeback_clock_ms() + 60000), 0);
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.unpushed, 0);
    assert_false(st.push_failing);
    char *subjects = remote_subjects(f);
    assert_string_equal(subjects, "sync 1a2b3c4: applied 1 created\n"
                                  "sync 3000000: applied 2 created\n"
                                  "sync 4000000: applied 3 created\n"
                                  "sync 5000000: applied 4 created");
    free(subjects);
    assert_user_untouched(f);
    ks_writeback_free(wb);
}

static void full_queue_merges_oldest(void **state)
{
    struct fixture *f = *state;
    sh("git init -q --bare %s/remote.git", f->dir);
    struct ks_writeback *wb = open_wb(f, f->remote, 0, 3);
    sh("mv %s/remote.git %s/away.git", f->dir, f->dir);
    char sha[41];
    for (int i = 0; i < 6; i++) {
        snprintf(sha, sizeof sha, "%d%039d", i + 1, 0);
        record_sync(wb, sha, i + 1, 0, NULL);
        assert_int_equal(ks_writeback_flush(wb), KS_EIO);
        assert_contains(ks_error_last(), i >= 3 ? "queue over 3 commits" : "git: ");
    }
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.unpushed, 3);
    assert_int_equal(st.merged_commits, 3);
    sh("mv %s/away.git %s/remote.git", f->dir, f->dir);
    flush_ok(wb);
    char *subjects = remote_subjects(f);
    assert_string_equal(subjects,
                        "writeback: queue full, 4 commits merged into one (remote unreachable)\n"
                        "sync 5000000: applied 5 created\n"
                        "sync 6000000: applied 6 created");
    free(subjects);
    char *msg = run("git --git-dir=%s/remote.git log --format=%%B --reverse -1 --skip=2 "
                    "keelson/status",
                    f->dir);
    assert_contains(msg, "- sync 1000000: applied 1 created\n");
    assert_contains(msg, "- sync 4000000: applied 4 created\n");
    assert_contains(msg, "Keelson-Merged: 4\n");
    assert_contains(msg, "Keelson-Source: 1000000000000000000000000000000000000000\n");
    assert_contains(msg, "Keelson-Source: 4000000000000000000000000000000000000000");
    free(msg);
    assert_output("source: \"6000000000000000000000000000000000000000\"",
                  "git --git-dir=%s/remote.git show keelson/status:sync.yaml | head -1", f->dir);
    ks_writeback_free(wb);
}

static void concurrent_writer_is_rebased_onto(void **state)
{
    struct fixture *f = *state;
    sh("git init -q --bare %s/remote.git", f->dir);
    struct ks_writeback *wb = open_wb(f, f->remote, 0, 0);
    record_sync(wb, SHA1, 1, 0, NULL);
    flush_ok(wb);
    /* someone else pushes to the status branch */
    sh("cd %s && git clone -q -b keelson/status remote.git other && cd other && mkdir -p notes && "
       "printf 'hello\\n' > notes/other.yaml && printf 'source: theirs\\n' > sync.yaml && "
       "git add -A && git commit -qm 'other writer' && git push -q origin keelson/status",
       f->dir);
    char *theirs = run("git --git-dir=%s/remote.git rev-parse keelson/status", f->dir);
    /* we commit twice meanwhile (remote unchanged for us until we push) */
    json_t *obs = json_pack("{s:i}", "replicas", 1);
    assert_int_equal(ks_writeback_set_object_status(wb, "Deployment", "default", "web", obs), 0);
    record_sync(wb, SHA2, 2, 0, NULL);
    flush_ok(wb);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.rebases, 1);
    assert_int_equal(st.unpushed, 0);
    char *subjects = remote_subjects(f);
    assert_string_equal(subjects, "sync 1a2b3c4: applied 1 created\nother writer\n"
                                  "sync 2b3c4d5: applied 2 created");
    free(subjects);
    /* their commit is an ancestor of the remote tip: not overwritten */
    sh("git --git-dir=%s/remote.git merge-base --is-ancestor %s keelson/status", f->dir, theirs);
    assert_output("notes/other.yaml\nstatus/default/Deployment/web.yaml\nsync.yaml",
                  "git --git-dir=%s/remote.git ls-tree -r --name-only keelson/status", f->dir);
    assert_output("hello", "git --git-dir=%s/remote.git show keelson/status:notes/other.yaml",
                  f->dir);
    assert_output("source: \"2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e\"",
                  "git --git-dir=%s/remote.git show keelson/status:sync.yaml | head -1", f->dir);
    char *local = run("git -C %s rev-parse keelson/status", f->repo);
    char *remote = run("git --git-dir=%s/remote.git rev-parse keelson/status", f->dir);
    assert_string_equal(local, remote);
    free(local);
    free(remote);
    free(theirs);
    json_decref(obs);
    assert_user_untouched(f);
    ks_writeback_free(wb);
}

static void thread_commits_after_the_window(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 200, 0);
    assert_int_equal(ks_writeback_start(wb), 0);
    record_sync(wb, SHA1, 1, 0, NULL);
    json_t *ev = drift_event("web-1", "restarted");
    assert_int_equal(ks_writeback_record_drift(wb, ev), 0);
    struct ks_writeback_stats st = {0};
    for (int i = 0; i < 100 && st.commits == 0; i++) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        ks_writeback_stats(&st, wb);
    }
    assert_int_equal(st.commits, 1);
    assert_output("1", "git -C %s rev-list --count keelson/status", f->repo);
    json_decref(ev);
    ks_writeback_free(wb);
}

struct recorder {
    struct ks_writeback *wb;
    int id;
};

static void *record_many(void *arg)
{
    struct recorder *r = arg;
    for (int i = 0; i < 100; i++) {
        char pod[32];
        snprintf(pod, sizeof pod, "t%d-%03d", r->id, i);
        json_t *ev = drift_event(pod, "restarted");
        json_t *obs = json_pack("{s:i}", "replicas", i);
        if (ks_writeback_record_drift(r->wb, ev) ||
            ks_writeback_set_object_status(r->wb, "Deployment", "default", pod, obs))
            return (void *)1;
        json_decref(ev);
        json_decref(obs);
        if (i % 10 == 0) {
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void concurrent_recorders_lose_nothing(void **state)
{
    struct fixture *f = *state;
    struct ks_writeback *wb = open_wb(f, NULL, 30, 0);
    assert_int_equal(ks_writeback_start(wb), 0);
    pthread_t th[4];
    struct recorder r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct recorder){wb, i};
        assert_int_equal(pthread_create(&th[i], NULL, record_many, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret = NULL;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    flush_ok(wb); /* concurrently with the thread's own ticks */
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.pending_events, 0);
    assert_int_equal(st.events_dropped, 0);
    ks_writeback_free(wb);
    /* every drift is in exactly one commit: a body line, or the subject of a
     * commit holding only it */
    assert_output("400",
                  "cd %s && { git log --format=%%b keelson/status | grep '^- drift: '; "
                  "git log --format=%%s keelson/status | grep '^drift: ' | grep -v '(+'; } "
                  "| sort -u | wc -l",
                  f->repo);
    assert_output("400", "git -C %s ls-tree -r --name-only keelson/status | grep -c '^drift/'",
                  f->repo);
    assert_output("400", "git -C %s ls-tree -r --name-only keelson/status | grep -c '^status/'",
                  f->repo);
    assert_user_untouched(f);
}

/* ---- --drift-pr ---- */

static const char *const FRONT = "# the front tier\n"
                                 "apiVersion: apps/v1\n"
                                 "kind: Deployment\n"
                                 "metadata:\n"
                                 "  name: front\n"
                                 "spec:\n"
                                 "  template:\n"
                                 "    spec:\n"
                                 "      containers:\n"
                                 "      - name: web\n"
                                 "        image: busybox:1   # pinned\n";

/* Commits apps/front.yaml on main (the user's local edit stays) and makes
 * the bare remote with main on it. */
static void deploy_front(struct fixture *f)
{
    char path[256];
    snprintf(path, sizeof path, "%s/apps/front.yaml", f->repo);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(FRONT, fp);
    fclose(fp);
    sh("cd %s && git add apps/front.yaml && git commit -qm front && git init -q --bare "
       "%s/remote.git "
       "&& git push -q %s main",
       f->repo, f->dir, f->remote);
    char *sha = run("git -C %s rev-parse main", f->repo);
    snprintf(f->main_sha, sizeof f->main_sha, "%s", sha);
    free(sha);
}

static struct ks_writeback *open_drift_wb(struct fixture *f, const char *remote)
{
    struct ks_writeback *wb = NULL;
    struct ks_writeback_opts o = {.repo_path = f->repo,
                                  .remote = remote,
                                  .interval_ms = -1,
                                  .drift_pr = true,
                                  .deploy_branch = "main"};
    if (ks_writeback_new(&wb, &o))
        fail_msg("ks_writeback_new: %s", ks_error_last());
    return wb;
}

static void record_pr(struct fixture *f, struct ks_writeback *wb, const char *pod, const char *uid,
                      json_t *found, const char *owner_source)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:o, "
                           "s:s}}",
                           "type", "Warning", "reason", "Drift", "message",
                           "container web of pod default/x: changed out of band; reported", "node",
                           "node-a", "time", "2026-12-01T20:00:00Z", "object", "kind", "Pod",
                           "namespace", "default", "name", pod, "uid", uid, "drift", "what",
                           json_is_string(found) ? "container-stopped" : "spec-changed",
                           "container", "web", "found", found, "action", "reported");
    struct ks_writeback_drift_pr d = {.event = ev,
                                      .base_sha = f->main_sha,
                                      .pod_uid = uid,
                                      .owner_kind = "Deployment",
                                      .owner_ns = "default",
                                      .owner_name = "front",
                                      .owner_source = owner_source};
    if (ks_writeback_record_drift_pr(wb, &d))
        fail_msg("record_drift_pr: %s", ks_error_last());
    json_decref(ev);
}

static void drift_branch_names(void **state)
{
    struct fixture *f = *state;
    char b[300];
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, "default", "web-1"), 0);
    assert_string_equal(b, "keelson/drift/default/web-1");
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, NULL, "n1"), 0);
    assert_string_equal(b, "keelson/drift/_cluster/n1");
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, "default", "a/b"), KS_EINVALID);
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, "default", ".."), KS_EINVALID);
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, "default", "a..b"), KS_EINVALID);
    assert_int_equal(ks_writeback_drift_branch(b, sizeof b, "default", "web.lock"), KS_EINVALID);
    assert_int_equal(ks_writeback_drift_branch(b, 20, "default", "web-1"), KS_ELIMIT);
    /* the status branch may not sit where the drift branches are */
    struct ks_writeback *wb = NULL;
    struct ks_writeback_opts o = {
        .repo_path = f->repo, .branch = "keelson/drift", .drift_pr = true};
    assert_int_equal(ks_writeback_new(&wb, &o), KS_EINVALID);
    o.branch = "keelson/drift/status";
    assert_int_equal(ks_writeback_new(&wb, &o), KS_EINVALID);
    o.drift_pr = false;
    assert_int_equal(ks_writeback_new(&wb, &o), 0);
    ks_writeback_free(wb);
}

static void drift_pr_edits_manifest_updates_and_heals_when_closed(void **state)
{
    struct fixture *f = *state;
    deploy_front(f);
    struct ks_writeback *wb = open_drift_wb(f, f->remote);
    const char *br = "keelson/drift/default/front-1";
    record_pr(f, wb, "front-1", "uid-1", json_pack("{s:s}", "image", "busybox:2"),
              "apps/front.yaml:2");
    flush_ok(wb);
    /* on the remote: one commit on the deployed commit, one line changed */
    assert_output(f->main_sha, "git -C %s/remote.git rev-parse %s^", f->dir, br);
    assert_output("-        image: busybox:1   # pinned\n+        image: busybox:2   # pinned",
                  "git -C %s/remote.git diff -U0 main %s | grep '^[-+] '", f->dir, br);
    assert_output("drift: accept image busybox:2 of container web into Deployment default/front",
                  "git -C %s/remote.git log -1 --format=%%s %s", f->dir, br);
    char *body = run("git -C %s/remote.git log -1 --format=%%B %s", f->dir, br);
    assert_contains(body, "Pod default/front-1 on node node-a was found different from Git");
    assert_contains(body,
                    "changes apps/front.yaml:2 (Deployment front, container web: image busybox:2)");
    assert_contains(body, "Merge to accept the drift");
    assert_contains(body, "Keelson-Event: drift\nKeelson-Object: Pod/default/front-1\n"
                          "Keelson-Object: Deployment/default/front\n");
    assert_contains(body, "Keelson-Pod-Uid: uid-1");
    free(body);
    char *tip = run("git -C %s/remote.git rev-parse %s", f->dir, br);
    /* reported again, same change: left alone */
    record_pr(f, wb, "front-1", "uid-1", json_pack("{s:s}", "image", "busybox:2"),
              "apps/front.yaml:2");
    flush_ok(wb);
    assert_output(tip, "git -C %s/remote.git rev-parse %s", f->dir, br);
    /* reported again with another image: one commit on top, not a second branch */
    record_pr(f, wb, "front-1", "uid-1", json_pack("{s:s}", "image", "busybox:3"),
              "apps/front.yaml:2");
    flush_ok(wb);
    assert_output(tip, "git -C %s/remote.git rev-parse %s^", f->dir, br);
    assert_output("+        image: busybox:3   # pinned",
                  "git -C %s/remote.git diff -U0 main %s | grep '^+ '", f->dir, br);
    assert_output("1", "git -C %s/remote.git branch --list 'keelson/drift/*' | wc -l", f->dir);
    json_t *closed = NULL;
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 0);
    json_decref(closed);
    /* the pull request is closed and the branch deleted: heal */
    sh("git -C %s/remote.git branch -D %s", f->dir, br);
    flush_ok(wb);
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 1);
    json_t *c = json_array_get(closed, 0);
    assert_string_equal(json_string_value(json_object_get(c, "branch")), br);
    assert_string_equal(json_string_value(json_object_get(c, "namespace")), "default");
    assert_string_equal(json_string_value(json_object_get(c, "name")), "front-1");
    assert_string_equal(json_string_value(json_object_get(c, "uid")), "uid-1");
    json_decref(closed);
    /* given out once; the local copy is gone too */
    flush_ok(wb);
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 0);
    json_decref(closed);
    assert_output("", "git -C %s for-each-ref 'refs/*/keelson/drift/*' 'refs/heads/keelson/drift'",
                  f->repo);
    struct ks_writeback_stats st;
    ks_writeback_stats(&st, wb);
    assert_int_equal(st.drift_branches, 2);
    assert_int_equal(st.drift_closed, 1);
    free(tip);
    ks_writeback_free(wb);
    assert_user_untouched(f);
}

static void drift_pr_note_and_merged_branch_is_not_healed(void **state)
{
    struct fixture *f = *state;
    deploy_front(f);
    struct ks_writeback *wb = open_drift_wb(f, f->remote);
    const char *br = "keelson/drift/default/front-2";
    /* a stopped container is no manifest change: a note */
    record_pr(f, wb, "front-2", "uid-2", json_string("stopped out of band (exit code 137)"),
              "apps/front.yaml:2");
    /* a Deployment rendered from a chart has no file to edit: a note */
    record_pr(f, wb, "front-3", "uid-3", json_pack("{s:s}", "image", "busybox:2"),
              "release default/front (charts/app, templates/deploy.yaml)");
    flush_ok(wb);
    assert_output("drift/default/front-2.md", "git -C %s/remote.git diff --name-only main %s",
                  f->dir, br);
    assert_output("drift: default/front-2 container web container-stopped, not healed",
                  "git -C %s/remote.git log -1 --format=%%s %s", f->dir, br);
    char *note = run("git -C %s/remote.git show %s:drift/default/front-2.md", f->dir, br);
    assert_contains(note, "# Drift of pod default/front-2 (not healed)");
    assert_contains(note, "- found: stopped out of band (exit code 137)");
    assert_contains(note, "Close the pull request and delete the branch to heal");
    free(note);
    note = run("git -C %s/remote.git show keelson/drift/default/front-3:drift/default/front-3.md",
               f->dir);
    assert_contains(note, "comes from a rendered chart (release default/front");
    free(note);
    /* merged (fast-forward) on the host, then the branch deleted: nothing healed */
    sh("git -C %s/remote.git update-ref refs/heads/main $(git -C %s/remote.git rev-parse %s) && "
       "git -C %s/remote.git branch -D %s",
       f->dir, f->dir, br, f->dir, br);
    flush_ok(wb);
    json_t *closed = NULL;
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 0);
    json_decref(closed);
    /* front-3's branch was closed unmerged */
    sh("git -C %s/remote.git branch -D keelson/drift/default/front-3", f->dir);
    flush_ok(wb);
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(closed, 0), "name")),
                        "front-3");
    json_decref(closed);
    ks_writeback_free(wb);
}

static void drift_pr_without_remote_uses_the_repository(void **state)
{
    struct fixture *f = *state;
    deploy_front(f);
    struct ks_writeback *wb = open_drift_wb(f, NULL);
    record_pr(f, wb, "front-4", "uid-4", json_pack("{s:[s, s]}", "command", "sleep", "9"),
              "apps/front.yaml:2");
    flush_ok(wb);
    assert_output("+        command: [\"sleep\", \"9\"]",
                  "git -C %s diff -U0 main keelson/drift/default/front-4 | grep '^+ '", f->repo);
    json_t *closed = NULL;
    flush_ok(wb);
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 0);
    json_decref(closed);
    sh("git -C %s branch -D keelson/drift/default/front-4", f->repo);
    flush_ok(wb);
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 1);
    json_decref(closed);
    ks_writeback_free(wb);
    assert_user_untouched(f);
}

static void drift_pr_unpushed_branch_survives_a_restart(void **state)
{
    struct fixture *f = *state;
    deploy_front(f);
    const char *br = "keelson/drift/default/front-5";
    sh("mv %s/remote.git %s/away.git", f->dir, f->dir);
    struct ks_writeback *wb = open_drift_wb(f, f->remote);
    record_pr(f, wb, "front-5", "uid-5", json_pack("{s:s}", "image", "busybox:5"),
              "apps/front.yaml:2");
    assert_int_not_equal(ks_writeback_flush(wb), 0); /* the remote is away */
    ks_writeback_free(wb);
    assert_output("1", "git -C %s rev-list --count main..%s", f->repo, br);
    sh("mv %s/away.git %s/remote.git", f->dir, f->dir);
    /* a new process pushes what the last one left behind */
    wb = open_drift_wb(f, f->remote);
    flush_ok(wb);
    char *local = run("git -C %s rev-parse %s", f->repo, br);
    assert_output(local, "git -C %s/remote.git rev-parse %s", f->dir, br);
    free(local);
    json_t *closed = NULL;
    assert_int_equal(ks_writeback_drift_closed(wb, &closed), 0);
    assert_int_equal(json_array_size(closed), 0);
    json_decref(closed);
    ks_writeback_free(wb);
}

static void drift_pr_in_a_mirror_keeps_refs_outside_heads(void **state)
{
    struct fixture *f = *state;
    deploy_front(f);
    struct ks_writeback *wb = NULL;
    struct ks_writeback_opts o = {.repo_path = f->repo,
                                  .remote = f->remote,
                                  .local_ref = "refs/keelson/keelson/status",
                                  .interval_ms = -1,
                                  .drift_pr = true,
                                  .deploy_branch = "main"};
    if (ks_writeback_new(&wb, &o))
        fail_msg("ks_writeback_new: %s", ks_error_last());
    record_pr(f, wb, "front-6", "uid-6", json_pack("{s:s}", "image", "busybox:6"),
              "apps/front.yaml:2");
    flush_ok(wb);
    /* a mirror's pruned fetch of every refs/heads branch would delete ours */
    assert_output("refs/keelson/keelson/drift/default/front-6",
                  "git -C %s for-each-ref --format='%%(refname)' refs/keelson/keelson/drift "
                  "refs/heads/keelson/drift",
                  f->repo);
    char *local = run("git -C %s rev-parse refs/keelson/keelson/drift/default/front-6", f->repo);
    assert_output(local, "git -C %s/remote.git rev-parse keelson/drift/default/front-6", f->dir);
    free(local);
    ks_writeback_free(wb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sync_creates_orphan_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(batches_one_window_into_one_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(no_commit_when_nothing_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(drift_names_pod_node_found_healed, setup, teardown),
        cmocka_unit_test_setup_teardown(health_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_bad_input_and_checked_out_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_name_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(pushes_and_survives_unreachable_remote, setup, teardown),
        cmocka_unit_test_setup_teardown(full_queue_merges_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writer_is_rebased_onto, setup, teardown),
        cmocka_unit_test_setup_teardown(thread_commits_after_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_recorders_lose_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(drift_branch_names, setup, teardown),
        cmocka_unit_test_setup_teardown(drift_pr_edits_manifest_updates_and_heals_when_closed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(drift_pr_note_and_merged_branch_is_not_healed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(drift_pr_without_remote_uses_the_repository, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(drift_pr_unpushed_branch_survives_a_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(drift_pr_in_a_mirror_keeps_refs_outside_heads, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
