/*
 * test_api_ring.c: the watch ring and the batched pod status route of the
 * API server (reconciler/api/ring.c, nodes.c; contracts3.md), over real
 * HTTP on loopback against a real SQLite store (history 8, so compaction
 * happens every 64 revisions). The test writes as the control plane on a
 * second store connection and notifies the server as the daemon does.
 *
 * Covers: a watcher older than the ring gets the store's answer (also a
 * node watch spanning a delete of a pod last written before the ring
 * started); node filtering from the ring, deletes included; revisions
 * compacted by the store stay 410 although the ring still held them; a
 * node's own status writes (per-pod and batch route) left out of its
 * watch while its revision moves past them, and still seen by the admin
 * and as soon as anyone else changes the pod; the batch route's order,
 * 404/403 items, unchanged statuses, 413 past 1000 items, 400 naming the
 * bad item with nothing written, node-token scoping, and the per-pod route
 * still answering the whole pod exactly as stored (it is no longer read
 * back after the write).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/str.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

struct fx {
    char dir[64];
    struct ks_store *store, *cp;
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    pthread_t thread;
    char admin[KS_API_TOKEN_HEX + 1], n1[KS_API_TOKEN_HEX + 1];
    unsigned port;
};

static void *serve(void *arg)
{
    struct fx *f = arg;
    ks_api_server_run(f->srv);
    return NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[128];
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-apiring-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    if (ks_store_open_sqlite(&f->cp, path, 8) || ks_store_open_sqlite(&f->store, path, 8) ||
        ks_api_tokens_load_or_create(&f->tokens, f->dir) ||
        ks_api_tokens_node(f->n1, f->tokens, "n1"))
        return -1;
    struct ks_api_server_opts o = {.max_watchers = 8};
    if (ks_api_server_new(&f->srv, f->store, f->tokens, &o))
        return -1;
    f->port = ks_api_server_port(f->srv);
    ks_api_tokens_admin(f->admin, f->tokens);
    if (pthread_create(&f->thread, NULL, serve, f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    ks_api_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    ks_api_server_free(f->srv);
    ks_api_tokens_free(f->tokens);
    ks_store_close(f->store);
    ks_store_close(f->cp);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    ks_buf_put(arg, p, size * n);
    return size * n;
}

/* One request (body NULL: GET); fails unless the status is code. Returns
 * the JSON answer (new reference). */
static json_t *req(const struct fx *f, const char *path, const char *token, const char *body,
                   long code)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct ks_buf out;
    char url[256], auth[128];
    long got = 0;
    assert_non_null(c);
    ks_buf_init(&out, 64u << 20);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s: %s", path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &got);
    if (got != code)
        fail_msg("%s: got %ld, want %ld: %s", path, got, code, ks_buf_data(&out));
    json_t *j = json_loads(ks_buf_data(&out), 0, NULL);
    assert_non_null(j);
    ks_buf_release(&out);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return j;
}

static int64_t put_pod(struct fx *f, const char *name, const char *node, const char *image)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s, s:s}]}}", "apiVersion", "v1",
                          "kind", "Pod", "metadata", "name", name, "namespace", "default", "spec",
                          "nodeName", node, "containers", "name", "c", "image", image);
    int64_t rev = 0;
    assert_int_equal(ks_store_put(&rev, f->cp, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
    ks_api_server_notify(f->srv, rev);
    return rev;
}

static int64_t put_cm(struct fx *f, const char *name)
{
    json_t *o =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                  "metadata", "name", name, "namespace", "default", "data", "k", "v");
    int64_t rev = 0;
    assert_int_equal(ks_store_put(&rev, f->cp, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    ks_api_server_notify(f->srv, rev);
    return rev;
}

static int64_t del(struct fx *f, const char *kind, const char *name)
{
    struct ks_store_key key = {kind, "default", name};
    int64_t rev = 0;
    assert_int_equal(ks_store_delete(&rev, f->cp, &key, KS_STORE_ANY_REVISION), 0);
    ks_api_server_notify(f->srv, rev);
    return rev;
}

/* An immediate watch (timeout 0) of node (NULL: admin) from since. */
static json_t *watch_now(struct fx *f, const char *node, int64_t since, long code)
{
    char path[128];
    if (node)
        snprintf(path, sizeof path, "/api/v1/nodes/%s/watch?since=%lld&timeout=0", node,
                 (long long)since);
    else
        snprintf(path, sizeof path, "/api/v1/watch?since=%lld&timeout=0", (long long)since);
    return req(f, path, node ? f->n1 : f->admin, NULL, code);
}

/* "type:name,type:name" of a watch answer's changes. */
static void changes_str(char *out, size_t size, const json_t *answer)
{
    const json_t *c;
    size_t i, used = 0;
    out[0] = '\0';
    json_array_foreach(json_object_get(answer, "changes"), i, c)
    {
        int n = snprintf(out + used, size - used, "%s%s:%s", i ? "," : "",
                         json_string_value(json_object_get(c, "type")),
                         json_string_value(json_object_get(c, "name")));
        assert_true(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

static int64_t revision(const json_t *answer)
{
    return json_integer_value(json_object_get(answer, "revision"));
}

static int64_t current(struct fx *f)
{
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    return rev;
}

static void expect_changes(struct fx *f, const char *node, int64_t since, const char *want)
{
    char got[1024];
    json_t *j = watch_now(f, node, since, 200);
    changes_str(got, sizeof got, j);
    if (strcmp(got, want) != 0)
        fail_msg("watch %s since %lld: got '%s', want '%s'", node ? node : "(admin)",
                 (long long)since, got, want);
    assert_int_equal(revision(j), current(f));
    json_decref(j);
}

/* The ring starts at the first watch; a pod last written before it and then
 * deleted is still delivered to its node only (the store's answer). */
static void older_than_ring(void **state)
{
    struct fx *f = *state;
    put_pod(f, "early1", "n1", "busybox");
    put_pod(f, "early2", "n2", "busybox");
    int64_t start = current(f);
    json_decref(watch_now(f, NULL, start, 200)); /* the ring starts here */
    /* before the ring: the store answers, with the changes the ring never read */
    expect_changes(f, NULL, 0, "put:early1,put:early2");
    expect_changes(f, "n1", 0, "put:early1");
    /* deletes of pods whose last put the ring did not see */
    int64_t d = del(f, "Pod", "early1");
    del(f, "Pod", "early2");
    expect_changes(f, "n1", start, "delete:early1");
    expect_changes(f, NULL, start, "delete:early1,delete:early2");
    /* after them, the ring answers node watchers again */
    put_pod(f, "late", "n1", "busybox");
    expect_changes(f, "n1", d + 1, "put:late");
}

static void node_filter_from_ring(void **state)
{
    struct fx *f = *state;
    int64_t start = current(f);
    json_decref(watch_now(f, NULL, start, 200));
    put_pod(f, "a", "n1", "busybox");
    put_pod(f, "b", "n2", "busybox");
    put_cm(f, "cfg");
    put_pod(f, "a", "n1", "busybox:2");
    del(f, "Pod", "b");
    del(f, "Pod", "a");
    del(f, "ConfigMap", "cfg");
    expect_changes(f, "n1", start, "put:a,put:cfg,put:a,delete:a,delete:cfg");
    expect_changes(f, NULL, start, "put:a,put:b,put:cfg,put:a,delete:b,delete:a,delete:cfg");
    /* only another node's changes after since: empty, revision moved on */
    int64_t mid = current(f);
    put_pod(f, "c", "n2", "busybox");
    del(f, "Pod", "c");
    expect_changes(f, "n1", mid, "");
    expect_changes(f, NULL, mid, "put:c,delete:c");
}

/* The ring still holds revisions the store compacted: they are 410 all the
 * same (history 8: the store compacts at every 64th revision). */
static void compacted_stays_gone(void **state)
{
    struct fx *f = *state;
    int64_t start = current(f);
    json_decref(watch_now(f, NULL, start, 200));
    while (current(f) < 70) { /* each watch fills the ring: it reads every revision */
        put_cm(f, current(f) % 2 ? "x" : "y");
        json_decref(watch_now(f, NULL, current(f), 200));
    }
    json_t *j = watch_now(f, NULL, start, 410);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "relist"));
    json_decref(j);
    json_decref(watch_now(f, "n1", start, 410));
    json_decref(watch_now(f, NULL, 55, 410)); /* compacted at 64: history starts after 56 */
    j = watch_now(f, NULL, 56, 200);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 14);
    json_decref(j);
    j = watch_now(f, NULL, 65, 200);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 5);
    json_decref(j);
}

struct parked {
    struct fx *f;
    char path[160];
    json_t *answer;
};

static void *park(void *arg)
{
    struct parked *p = arg;
    p->answer = req(p->f, p->path, p->f->n1, NULL, 200);
    return NULL;
}

static void own_status_skipped(void **state)
{
    struct fx *f = *state;
    json_decref(req(f, "/api/v1/nodes/n1/register", f->n1, "{}", 200));
    put_pod(f, "p1", "n1", "busybox");
    put_pod(f, "p2", "n1", "busybox");
    int64_t start = current(f);
    json_decref(watch_now(f, "n1", start, 200));
    /* a parked watcher of n1 is not woken by n1's own status writes */
    struct parked p = {.f = f};
    snprintf(p.path, sizeof p.path, "/api/v1/nodes/n1/watch?since=%lld&timeout=1500ms",
             (long long)start);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, park, &p), 0);
    usleep(200 * 1000);
    json_decref(
        req(f, "/api/v1/nodes/n1/pods/default/p1/status", f->n1, "{\"phase\":\"Running\"}", 200));
    json_t *b = req(f, "/api/v1/nodes/n1/status", f->n1,
                    "{\"items\":[{\"namespace\":\"default\",\"name\":\"p2\","
                    "\"status\":{\"phase\":\"Running\"}}]}",
                    200);
    json_decref(b);
    int64_t after = current(f);
    assert_int_equal(after, start + 2);
    pthread_join(t, NULL);
    char got[256];
    changes_str(got, sizeof got, p.answer);
    assert_string_equal(got, ""); /* answered by its timeout */
    assert_int_equal(revision(p.answer), after);
    json_decref(p.answer);
    expect_changes(f, "n1", start, "");
    expect_changes(f, NULL, start, "put:p1,put:p2"); /* the admin sees them */
    /* a change by someone else (the control plane's status or spec) is delivered */
    put_pod(f, "p1", "n1", "busybox:2");
    expect_changes(f, "n1", start, "put:p1");
}

static void batch_route(void **state)
{
    struct fx *f = *state;
    json_decref(req(f, "/api/v1/nodes/n1/register", f->n1, "{}", 200));
    int64_t r1 = put_pod(f, "b1", "n1", "busybox");
    put_pod(f, "b2", "n1", "busybox");
    put_pod(f, "other", "n2", "busybox");
    json_t *j =
        req(f, "/api/v1/nodes/n1/status", f->n1,
            "{\"items\":["
            "{\"namespace\":\"default\",\"name\":\"b2\",\"status\":{\"phase\":\"Running\"}},"
            "{\"namespace\":\"default\",\"name\":\"gone\",\"status\":{}},"
            "{\"namespace\":\"default\",\"name\":\"other\",\"status\":{}},"
            "{\"namespace\":\"default\",\"name\":\"b1\",\"status\":{\"phase\":\"Failed\"}},"
            "{\"namespace\":\"default\",\"name\":\"b2\",\"status\":{\"phase\":\"Running\"}}"
            "]}",
            200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 5);
    const long codes[] = {200, 404, 403, 200, 200};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(items, i), "code")),
                         codes[i]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "error")),
                        "pod default/gone not found");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "error")),
                        "pod default/other is bound to node n2");
    /* in order: b2 first, b1 after it; the repeated b2 wrote nothing */
    const char *rv0 =
        json_string_value(json_object_get(json_array_get(items, 0), "resourceVersion"));
    const char *rv3 =
        json_string_value(json_object_get(json_array_get(items, 3), "resourceVersion"));
    const char *rv4 =
        json_string_value(json_object_get(json_array_get(items, 4), "resourceVersion"));
    int64_t v0 = 0, v3 = 0;
    assert_int_equal(ks_str_to_i64(&v0, rv0, "resourceVersion"), 0);
    assert_int_equal(ks_str_to_i64(&v3, rv3, "resourceVersion"), 0);
    assert_true(v0 > r1 && v3 == v0 + 1);
    assert_string_equal(rv4, rv0);
    assert_null(json_object_get(json_array_get(items, 0), "object"));
    json_decref(j);
    struct ks_store_key key = {"Pod", "default", "b1"};
    json_t *stored = NULL;
    assert_int_equal(ks_store_get(&stored, f->cp, &key), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(stored, "status"), "phase")), "Failed");
    json_decref(stored);
    /* the per-pod route still answers the whole pod, exactly as stored */
    j = req(f, "/api/v1/nodes/n1/pods/default/b1/status", f->n1, "{\"phase\":\"Succeeded\"}", 200);
    assert_int_equal(ks_store_get(&stored, f->cp, &key), 0);
    assert_true(json_equal(j, stored));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "spec"), "nodeName")),
                        "n1");
    json_decref(stored);
    json_decref(j);
    /* another node's token: 401 like every route of the node */
    char t2[KS_API_TOKEN_HEX + 1];
    assert_int_equal(ks_api_tokens_node(t2, f->tokens, "n2"), 0);
    json_decref(req(f, "/api/v1/nodes/n1/status", t2, "{\"items\":[]}", 401));
    /* the admin may write for the node */
    json_decref(req(f, "/api/v1/nodes/n1/status", f->admin,
                    "{\"items\":[{\"namespace\":\"default\",\"name\":\"b1\",\"status\":{}}]}",
                    200));
}

static void batch_limits(void **state)
{
    struct fx *f = *state;
    put_pod(f, "v", "n1", "busybox");
    int64_t before = current(f);
    const char *bad[][2] = {
        {"[]", "items"},
        {"{\"items\":{}}", "items"},
        {"{\"items\":[]}", "no items"},
        {"{\"items\":[{\"namespace\":\"default\",\"name\":\"v\",\"status\":{}},7]}", "items[1]"},
        {"{\"items\":[{\"namespace\":\"default\",\"name\":\"v\",\"status\":{}},"
         "{\"namespace\":\"default\",\"status\":{}}]}",
         "items[1]"},
        {"{\"items\":[{\"namespace\":\"default\",\"name\":\"v\",\"status\":{\"phase\":\"X\"}},"
         "{\"namespace\":\"default\",\"name\":\"v\",\"status\":\"Running\"}]}",
         "items[1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = req(f, "/api/v1/nodes/n1/status", f->n1, bad[i][0], 400);
        const char *msg = json_string_value(json_object_get(j, "error"));
        if (!msg || !strstr(msg, bad[i][1]))
            fail_msg("%s: error '%s' does not name '%s'", bad[i][0], msg ? msg : "", bad[i][1]);
        json_decref(j);
    }
    assert_int_equal(current(f), before); /* nothing written */
    struct ks_buf b;
    ks_buf_init(&b, 1u << 20);
    ks_buf_puts(&b, "{\"items\":[");
    for (int i = 0; i < 1001; i++)
        ks_buf_printf(&b, "%s{\"namespace\":\"default\",\"name\":\"v\",\"status\":{}}",
                      i ? "," : "");
    ks_buf_puts(&b, "]}");
    json_t *j = req(f, "/api/v1/nodes/n1/status", f->n1, ks_buf_data(&b), 413);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "status batch: more than 1000 items (limit)");
    json_decref(j);
    /* exactly 1000 is accepted: one write, 999 unchanged */
    ks_buf_reset(&b);
    ks_buf_puts(&b, "{\"items\":[");
    for (int i = 0; i < 1000; i++)
        ks_buf_printf(&b, "%s{\"namespace\":\"default\",\"name\":\"v\",\"status\":{\"n\":1}}",
                      i ? "," : "");
    ks_buf_puts(&b, "]}");
    j = req(f, "/api/v1/nodes/n1/status", f->n1, ks_buf_data(&b), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1000);
    json_decref(j);
    assert_int_equal(current(f), before + 1);
    ks_buf_release(&b);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(older_than_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(node_filter_from_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(compacted_stays_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(own_status_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_route, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_limits, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
