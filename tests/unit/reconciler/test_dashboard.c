/*
 * test_dashboard.c: the dashboard model and pages from a real repository
 * made with the git CLI: a deploy branch with two commits and a status
 * branch whose commits carry the writeback trailers and files. Checks the
 * model (deploys, events, current sync, objects, nodes, commit-to-running,
 * drift per day), that repository text is escaped in the pages, and that
 * the site is written to a directory.
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
#include "core/str.h"
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/dashboard/internal.h"
#include "reconciler/source/source.h"

static char dir[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4400];
    snprintf(full, sizeof full,
             "set -e; cd %s; export GIT_AUTHOR_NAME='Ada & Bob' GIT_AUTHOR_EMAIL=ada@example.org "
             "GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.org; %s >/dev/null 2>&1",
             dir, cmd);
    assert_int_equal(system(full), 0);
}

/* Deploy commits A at T and B at T+1000 (B's subject looks like HTML);
 * status branch: sync of A at T+10, a drift at T+500, sync of B at
 * T+1030 with object and node files (T = 1700000000). */
static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ks-dash-XXXXXX");
    assert_non_null(mkdtemp(dir));
    sh("git init -q -b main repo && cd repo && echo a > a.yaml && git add a.yaml && "
       "GIT_AUTHOR_DATE='1700000000 +0000' GIT_COMMITTER_DATE='1700000000 +0000' git commit -q -m "
       "'first deploy' && "
       "echo b > b.yaml && git add b.yaml && GIT_AUTHOR_DATE='1700001000 +0000' "
       "GIT_COMMITTER_DATE='1700001000 +0000' "
       "git commit -q -m 'web: <script>alert(1)</script> & more'");
    sh("cd repo && A=$(git rev-parse main~1) && B=$(git rev-parse main) && "
       "git checkout -q --orphan keelson/status && git rm -q -rf --cached . && rm -f a.yaml b.yaml "
       "&& "
       "printf 'source: %%s\\nresult: ok\\nsummary:\\n  created: 2\\n' $A > sync.yaml && "
       "git add sync.yaml && GIT_COMMITTER_DATE='1700000010 +0000' git commit -q -m \"sync $(echo "
       "$A | cut -c1-7): applied\" "
       "-m \"Keelson-Source: $A\nKeelson-Event: sync\" && "
       "mkdir -p drift/default && printf 'what: container-stopped\\n' > drift/default/web-1.yaml "
       "&& "
       "git add drift && GIT_COMMITTER_DATE='1700000500 +0000' git commit -q -m 'drift: "
       "default/web-1 "
       "container web stopped on node-a, restarted' -m \"Keelson-Source: $A\nKeelson-Event: "
       "drift\nKeelson-Object: Pod/default/web-1\" && "
       "printf 'source: %%s\\nresult: ok\\n' $B > sync.yaml && mkdir -p status/default/Deployment "
       "nodes && printf 'health:\\n  status: Healthy\\n  reason: \"<b>fine</b>\"\\nreplicas: 2\\n' > "
       "status/default/Deployment/web.yaml && printf 'name: node-a\\nready: true\\ncapacity:\\n  "
       "cpu: \"2\"\\n  memory: 8Gi\\npods: [web-1, web-2]\\n' > nodes/node-a.yaml && git add -A && "
       "GIT_COMMITTER_DATE='1700001030 +0000' git commit -q -m \"sync $(echo $B | cut -c1-7): "
       "applied\" -m \"Keelson-Source: "
       "$B\nKeelson-Event: sync\" && git checkout -q main");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *read_model(void)
{
    char repo[128];
    snprintf(repo, sizeof repo, "%s/repo", dir);
    struct ks_source_opts so = {.repo = repo, .state_dir = dir};
    struct ks_source *src = NULL;
    assert_int_equal(ks_source_open(&src, &so), 0);
    json_t *model = NULL;
    struct ks_dashboard_opts o = {.now = 5000};
    int rc = ks_dashboard_model_read(&model, src, &o);
    if (rc)
        fprintf(stderr, "%s\n", ks_error_last());
    assert_int_equal(rc, 0);
    ks_source_close(src);
    return model;
}

static void model_from_history(void **state)
{
    (void)state;
    json_t *m = read_model();
    assert_string_equal(json_string_value(json_object_get(m, "branch")), "main");
    assert_int_equal(json_array_size(json_object_get(m, "deploys")), 2);
    json_t *events = json_object_get(m, "events");
    assert_int_equal(json_array_size(events), 3);
    /* newest status commit first: sync of B, the drift, sync of A */
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "event")),
                        "sync");
    assert_string_equal(json_string_value(json_object_get(json_array_get(events, 1), "event")),
                        "drift");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(events, 1), "objects"), 0)),
        "Pod/default/web-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "sync"), "result")),
                        "ok");
    json_t *obj = json_array_get(json_object_get(m, "objects"), 0);
    assert_string_equal(json_string_value(json_object_get(obj, "kind")), "Deployment");
    assert_string_equal(json_string_value(json_object_get(obj, "namespace")), "default");
    assert_string_equal(json_string_value(json_object_get(obj, "name")), "web");
    assert_int_equal(json_array_size(json_object_get(m, "nodes")), 1);
    assert_int_equal(json_array_size(json_object_get(m, "drift")), 1);
    /* A synced 10 s after its commit, B 30 s after */
    json_t *c2r = json_object_get(m, "commit_to_running");
    assert_int_equal(json_array_size(c2r), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(c2r, 0), "seconds")), 10);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(c2r, 1), "seconds")), 30);
    json_t *dpd = json_object_get(m, "drift_per_day");
    assert_int_equal(json_array_size(dpd), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(dpd, 0), "day")),
                        "2023-11-14");
    json_decref(m);
}

static void pages_escape_and_link(void **state)
{
    (void)state;
    json_t *m = read_model();
    struct ks_dashboard_site *site = NULL;
    assert_int_equal(ks_dashboard_site_build(&site, m, 0), 0);
    const struct ks_dashboard_file *index = ks_dashboard_site_find(site, "/");
    assert_non_null(index);
    assert_null(strstr(index->data, "<script>alert"));
    assert_non_null(strstr(index->data, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    assert_non_null(strstr(index->data, "&lt;b&gt;fine&lt;/b&gt;"));
    assert_non_null(strstr(index->data, "h-healthy"));
    assert_non_null(strstr(index->data, "node-a"));
    assert_non_null(strstr(index->data, "container web stopped on node-a"));
    assert_non_null(strstr(index->data, "<svg"));
    const char *sha =
        json_string_value(json_object_get(json_array_get(json_object_get(m, "deploys"), 0), "sha"));
    char path[80];
    snprintf(path, sizeof path, "commits/%s.html", sha);
    const struct ks_dashboard_file *commit = ks_dashboard_site_find(site, path);
    assert_non_null(commit);
    assert_non_null(strstr(commit->data, "Ada &amp; Bob"));
    assert_non_null(strstr(commit->data, "What this commit produced"));
    assert_null(strstr(commit->data, "No sync of this commit"));
    assert_non_null(ks_dashboard_site_find(site, "style.css"));
    assert_non_null(ks_dashboard_site_find(site, "app.js"));
    const struct ks_dashboard_file *data = ks_dashboard_site_find(site, "data.json");
    json_t *back = json_loadb(data->data, data->len, 0, NULL);
    assert_non_null(back);
    json_decref(back);

    char out[128], file[200];
    snprintf(out, sizeof out, "%s/site", dir);
    assert_int_equal(ks_dashboard_site_write(site, out), 0);
    snprintf(file, sizeof file, "%s/%s", out, path);
    assert_int_equal(access(file, R_OK), 0);
    ks_dashboard_site_free(site);
    json_decref(m);
}

static void no_status_branch(void **state)
{
    (void)state;
    sh("git init -q -b trunk bare-history && cd bare-history && echo x > x && git add x && "
       "git commit -q -m only");
    char repo[128];
    snprintf(repo, sizeof repo, "%s/bare-history", dir);
    struct ks_source_opts so = {.repo = repo, .state_dir = dir};
    struct ks_source *src = NULL;
    assert_int_equal(ks_source_open(&src, &so), 0);
    json_t *m = NULL;
    assert_int_equal(ks_dashboard_model_read(&m, src, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(m, "branch")), "trunk");
    assert_int_equal(json_array_size(json_object_get(m, "deploys")), 1);
    assert_int_equal(json_array_size(json_object_get(m, "events")), 0);
    assert_true(json_is_null(json_object_get(m, "sync")));
    struct ks_dashboard_site *site = NULL;
    assert_int_equal(ks_dashboard_site_build(&site, m, 1), 0);
    assert_non_null(strstr(ks_dashboard_site_find(site, "")->data, "No sync recorded"));
    assert_non_null(strstr(ks_dashboard_site_find(site, "")->data, "data-live=\"1\""));
    ks_dashboard_site_free(site);
    struct ks_dashboard_opts o = {.branch = "nope"};
    json_t *none = NULL;
    assert_int_equal(ks_dashboard_model_read(&none, src, &o), KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "no branch \"nope\""));
    json_decref(m);
    ks_source_close(src);
}

static void live_site_refreshes(void **state)
{
    (void)state;
    char repo[128];
    snprintf(repo, sizeof repo, "%s/repo", dir);
    struct ks_dashboard_live *live = NULL;
    assert_int_equal(ks_dashboard_live_new(&live, repo, NULL), 0);
    char *data = NULL;
    size_t len = 0;
    const char *type = NULL;
    /* the first request builds the site */
    assert_int_equal(ks_dashboard_live_get(&data, &len, &type, live, "/"), 0);
    assert_non_null(strstr(data, "data-live=\"1\""));
    assert_null(strstr(data, "a later deploy"));
    assert_string_equal(type, "text/html; charset=utf-8");
    free(data);
    sh("cd repo && echo c > c.yaml && git add c.yaml && git commit -q -m 'a later deploy'");
    assert_int_equal(ks_dashboard_live_refresh(live), 0);
    assert_int_equal(ks_dashboard_live_get(&data, &len, &type, live, "index.html"), 0);
    assert_non_null(strstr(data, "a later deploy"));
    free(data);
    assert_int_equal(ks_dashboard_live_get(&data, &len, &type, live, "/nope.html"), KS_ENOTFOUND);
    /* no refresh call: a moved tip is noticed on a request a second later */
    sh("cd repo && echo d > d.yaml && git add d.yaml && git commit -q -m 'found by itself'");
    usleep(1100 * 1000);
    assert_int_equal(ks_dashboard_live_get(&data, &len, &type, live, "/"), 0);
    assert_non_null(strstr(data, "found by itself"));
    free(data);
    ks_dashboard_live_free(live);
}

static void html_escape_all_five(void **state)
{
    (void)state;
    struct ks_buf b;
    ks_buf_init(&b, 1024);
    ks_html_escape(&b, "a<b>&\"c'");
    assert_string_equal(ks_buf_data(&b), "a&lt;b&gt;&amp;&quot;c&#39;");
    ks_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_from_history),
        cmocka_unit_test(pages_escape_and_link),
        cmocka_unit_test(no_status_branch),
        cmocka_unit_test(live_site_refreshes),
        cmocka_unit_test(html_escape_all_five),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
