/*
 * test_api_fanout.c: 100 node agents' watches over real HTTP on loopback
 * against a real SQLite store, the way the 100-agent sim bench loads the
 * API thread: each node watcher keeps one kept-alive connection and watches
 * again from each answer's revision; the "control plane" (a second store
 * connection) commits rounds of 100 pods, one per node, plus one ConfigMap
 * every node sees, and notifies the server. Checks that every watcher gets
 * exactly its own pod of every round and the ConfigMap, nothing of other
 * nodes, and no change twice; prints the server thread's CPU time per round
 * (the cost of answering 100 node watchers from the change log), which
 * never fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

#define NODES 100
#define ROUNDS 20

struct fanout {
    char dir[64];
    struct ks_store *store, *cp;
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    pthread_t server;
    unsigned port;
    int64_t start;
    atomic_int answered; /* watchers that have seen the current round */
    atomic_int round;    /* the round every watcher must reach */
};

struct agent {
    struct fanout *f;
    int index;
    char token[KS_API_TOKEN_HEX + 1];
    int pods_seen, cms_seen, foreign, failures;
};

static void *serve(void *arg)
{
    struct fanout *f = arg;
    ks_api_server_run(f->srv);
    return NULL;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    ks_buf_put(arg, p, size * n);
    return size * n;
}

/* One agent's watch loop until it has seen ROUNDS rounds. */
static void *agent_main(void *arg)
{
    struct agent *a = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[128], url[256], mine[32];
    int64_t since = a->f->start;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->token);
    snprintf(mine, sizeof mine, "p-%03d-", a->index);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    while (a->pods_seen < ROUNDS && a->failures < 3) {
        struct ks_buf body;
        long code = 0;
        ks_buf_init(&body, 64u << 20);
        snprintf(url, sizeof url,
                 "http://127.0.0.1:%u/api/v1/nodes/n%03d/watch?since=%lld&timeout=20s", a->f->port,
                 a->index, (long long)since);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
            a->failures++;
            ks_buf_release(&body);
            continue;
        }
        json_t *j = json_loads(ks_buf_data(&body), 0, NULL), *ch;
        size_t i;
        int pods = 0;
        ks_buf_release(&body);
        if (!j) {
            a->failures++;
            continue;
        }
        since = json_integer_value(json_object_get(j, "revision"));
        json_array_foreach(json_object_get(j, "changes"), i, ch)
        {
            const char *kind = json_string_value(json_object_get(ch, "kind"));
            const char *name = json_string_value(json_object_get(ch, "name"));
            if (kind && strcmp(kind, "ConfigMap") == 0)
                a->cms_seen++;
            else if (name && strncmp(name, mine, strlen(mine)) == 0)
                pods++;
            else
                a->foreign++;
        }
        json_decref(j);
        a->pods_seen += pods;
        if (pods)
            atomic_fetch_add(&a->f->answered, pods);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static double thread_cpu_s(pthread_t t)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &id) != 0 || clock_gettime(id, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void commit_round(struct fanout *f, int round)
{
    int64_t rev = 0;
    assert_int_equal(ks_store_begin(f->cp), 0);
    for (int n = 0; n < NODES; n++) {
        char name[32], node[16];
        snprintf(name, sizeof name, "p-%03d-%02d", n, round);
        snprintf(node, sizeof node, "n%03d", n);
        json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}]}}",
                              "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
                              "namespace", "default", "labels", "app", "web", "spec", "nodeName",
                              node, "containers", "name", "c", "image", "busybox");
        assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_ANY_REVISION), 0);
        json_decref(p);
    }
    json_t *cm =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i}}", "apiVersion", "v1", "kind", "ConfigMap",
                  "metadata", "name", "shared", "namespace", "default", "data", "round", round);
    assert_int_equal(ks_store_put(&rev, f->cp, cm, KS_STORE_ANY_REVISION), 0);
    json_decref(cm);
    assert_int_equal(ks_store_commit(f->cp), 0);
    ks_api_server_notify(f->srv, rev);
}

static void node_watch_fanout(void **state)
{
    (void)state;
    struct fanout f = {0};
    static struct agent agents[NODES];
    pthread_t threads[NODES];
    char path[128];
    snprintf(f.dir, sizeof f.dir, "/tmp/ks-apifan-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    snprintf(path, sizeof path, "%s/state.db", f.dir);
    assert_int_equal(ks_store_open_sqlite(&f.cp, path, 0), 0);
    assert_int_equal(ks_store_open_sqlite(&f.store, path, 0), 0);
    assert_int_equal(ks_api_tokens_load_or_create(&f.tokens, f.dir), 0);
    struct ks_api_server_opts o = {0};
    assert_int_equal(ks_api_server_new(&f.srv, f.store, f.tokens, &o), 0);
    f.port = ks_api_server_port(f.srv);
    assert_int_equal(pthread_create(&f.server, NULL, serve, &f), 0);
    assert_int_equal(ks_store_revision(&f.start, f.cp), 0);
    for (int i = 0; i < NODES; i++) {
        char node[16];
        snprintf(node, sizeof node, "n%03d", i);
        agents[i] = (struct agent){.f = &f, .index = i};
        assert_int_equal(ks_api_tokens_node(agents[i].token, f.tokens, node), 0);
        assert_int_equal(pthread_create(&threads[i], NULL, agent_main, &agents[i]), 0);
    }
    usleep(300 * 1000); /* let them park */
    double cpu0 = thread_cpu_s(f.server);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < ROUNDS; r++) {
        commit_round(&f, r);
        /* the next round once every watcher has its pod of this one */
        for (int w = 0; w < 2000 && atomic_load(&f.answered) < NODES * (r + 1); w++)
            usleep(1000);
        usleep(2000); /* and is parked again */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double cpu = thread_cpu_s(f.server) - cpu0;
    for (int i = 0; i < NODES; i++)
        pthread_join(threads[i], NULL);
    ks_api_server_stop(f.srv);
    pthread_join(f.server, NULL);
    ks_api_server_free(f.srv);
    ks_api_tokens_free(f.tokens);
    ks_store_close(f.store);
    ks_store_close(f.cp);
    snprintf(path, sizeof path, "rm -rf %s", f.dir);
    assert_int_equal(system(path), 0);
    printf("node watch fan-out: %d rounds of %d pods (one per node) + 1 ConfigMap to %d node "
           "watchers: server thread CPU %.1f ms (%.2f ms per round), wall %.0f ms\n",
           ROUNDS, NODES, NODES, cpu * 1e3, cpu * 1e3 / ROUNDS,
           ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9) * 1e3);
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(agents[i].failures, 0);
        assert_int_equal(agents[i].pods_seen, ROUNDS);
        assert_int_equal(agents[i].foreign, 0);
        assert_int_equal(agents[i].cms_seen, ROUNDS);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(node_watch_fanout)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
