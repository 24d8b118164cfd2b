/*
 * api_bench.c: measures the API server as node agents and the CLI will
 * load it: keep-alive GETs of one object from 1, 4 and 16 client threads
 * (libcurl, one connection each) for a fixed time, and the fan-out of one
 * notify to many parked watchers (libcurl multi, one connection per
 * watcher): time from ks_api_server_notify() to the first, median and last
 * answer. Real HTTP on loopback, real SQLite store in a temp dir; the
 * server has its own store connection and the bench writes through a
 * second one, as the control plane does. Prints numbers; never fails on a
 * timing (exit 1 only when something does not work).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

#define MAX_WATCHERS 1000

struct bench {
    char dir[64];
    struct ks_store *store, *cp;
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    char auth[128];
    unsigned port;
};

struct client {
    const struct bench *b;
    double until;
    long requests, failures;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static CURL *easy(const struct bench *b, const char *path, struct curl_slist *headers)
{
    char url[256];
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", b->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    return c;
}

static void *client_run(void *arg)
{
    struct client *cl = arg;
    struct curl_slist *h = curl_slist_append(NULL, cl->b->auth);
    CURL *c = easy(cl->b, "/api/v1/namespaces/default/objects/ConfigMap/bench", h);
    while (c && now_s() < cl->until) {
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
            cl->requests++;
        else
            cl->failures++;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return NULL;
}

static int throughput(const struct bench *b, int clients, double seconds)
{
    struct client cl[16];
    pthread_t t[16];
    long total = 0, failed = 0;
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        cl[i] = (struct client){.b = b, .until = t0 + seconds};
        if (pthread_create(&t[i], NULL, client_run, &cl[i]))
            return -1;
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(t[i], NULL);
        total += cl[i].requests;
        failed += cl[i].failures;
    }
    double took = now_s() - t0;
    printf("keep-alive GET one object, %2d clients: %7.0f req/s (%ld requests, %ld failed)\n",
           clients, (double)total / took, total, failed);
    return failed ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int put_cm(int64_t *out_rev, struct bench *b, const char *name)
{
    json_t *o =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                  "metadata", "name", name, "namespace", "default", "data", "k", "v");
    int rc = o ? ks_store_put(out_rev, b->cp, o, KS_STORE_ANY_REVISION) : KS_ENOMEM;
    json_decref(o);
    return rc;
}

/* Commits objects ConfigMaps named prefix-<i> in one transaction (a sync
 * of that many objects); *out_rev the revision after it. */
static int put_many(int64_t *out_rev, struct bench *b, const char *prefix, int objects)
{
    char name[64];
    int rc = ks_store_begin(b->cp);
    for (int i = 0; rc == 0 && i < objects; i++) {
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        rc = put_cm(out_rev, b, name);
    }
    if (rc == 0)
        return ks_store_commit(b->cp);
    ks_store_rollback(b->cp);
    return rc;
}

/* Parks n watchers, commits a sync of objects changes, notifies, and times
 * the answers (each watcher receives every change, at most 1000). */
static int fanout(struct bench *b, int n, int objects)
{
    static double done_at[MAX_WATCHERS];
    CURL *h[MAX_WATCHERS];
    CURLM *m = curl_multi_init();
    struct curl_slist *hdr = curl_slist_append(NULL, b->auth);
    int64_t rev = 0, nrev = 0;
    char path[128];
    int rc = -1, running = 0, done = 0;
    if (!m || ks_store_revision(&rev, b->cp))
        goto out;
    snprintf(path, sizeof path, "/api/v1/watch?since=%lld&timeout=60s", (long long)rev);
    for (int i = 0; i < n; i++) {
        h[i] = easy(b, path, hdr);
        curl_easy_setopt(h[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_multi_add_handle(m, h[i]);
    }
    /* Drive the multi handle until every request has been sent and parked:
     * give it a generous second of I/O, then commit and notify. */
    double park_until = now_s() + 1.0 + n / 200.0;
    while (now_s() < park_until) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    if (running != n) {
        fprintf(stderr, "api-bench: only %d of %d watchers parked\n", running, n);
        goto out;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fanout%d", n);
    if (objects > 1 ? put_many(&nrev, b, prefix, objects) : put_cm(&nrev, b, prefix))
        goto out;
    double t0 = now_s();
    ks_api_server_notify(b->srv, nrev);
    while (done < n && now_s() < t0 + 120) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE || msg->data.result != CURLE_OK)
                goto out;
            done_at[done++] = now_s() - t0;
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 5, NULL);
    }
    if (done < n)
        goto out;
    qsort(done_at, (size_t)n, sizeof done_at[0], cmp_double);
    printf("watch fan-out, %4d watchers, a sync of %4d objects, one notify: first %.2f ms, median "
           "%.2f ms, last %.2f ms\n",
           n, objects, done_at[0] * 1e3, done_at[n / 2] * 1e3, done_at[n - 1] * 1e3);
    rc = 0;
out:
    for (int i = 0; m && i < n; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    return rc;
}

static void *server_thread(void *arg)
{
    ks_api_server_run(arg);
    return NULL;
}

int main(void)
{
    struct bench b = {0};
    char path[128], admin[KS_API_TOKEN_HEX + 1], cmd[128];
    pthread_t t;
    int rc = 1;
    snprintf(b.dir, sizeof b.dir, "/tmp/ks-api-bench-XXXXXX");
    if (!mkdtemp(b.dir))
        return 1;
    snprintf(path, sizeof path, "%s/state.db", b.dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct ks_api_server_opts o = {.max_watchers = MAX_WATCHERS, .max_connections = 2048};
    if (ks_store_open_sqlite(&b.store, path, 0) || ks_store_open_sqlite(&b.cp, path, 0) ||
        ks_api_tokens_load_or_create(&b.tokens, b.dir) ||
        ks_api_server_new(&b.srv, b.store, b.tokens, &o)) {
        fprintf(stderr, "api-bench: %s\n", ks_error_last());
        goto done;
    }
    b.port = ks_api_server_port(b.srv);
    ks_api_tokens_admin(admin, b.tokens);
    snprintf(b.auth, sizeof b.auth, "Authorization: Bearer %s", admin);
    if (put_cm(NULL, &b, "bench") || pthread_create(&t, NULL, server_thread, b.srv))
        goto done;
    int ok = throughput(&b, 1, 2.0) == 0 && throughput(&b, 4, 2.0) == 0 &&
             throughput(&b, 16, 2.0) == 0 && fanout(&b, 1, 1) == 0 && fanout(&b, 100, 1) == 0 &&
             fanout(&b, 500, 1) == 0 && fanout(&b, 1000, 1000) == 0;
    /* issue 6: memory with 2,000 objects in the store (this process holds
     * the server and the benchmark's clients, so it is an upper bound) */
    int64_t rev = 0;
    ok = ok && put_many(&rev, &b, "more", 2000 - 1000) == 0;
    if (ok) {
        json_t *list = NULL;
        struct ks_store_list_opts lo = {.kind = "ConfigMap"};
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        /* read them through the server's path once, so its caches are warm */
        ok = ks_store_list(&list, b.store, &lo) == 0;
        printf("objects in the store: %zu; ", json_array_size(list));
        json_decref(list);
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "VmRSS:", 6) || !strncmp(line, "VmHWM:", 6))
                printf("%.*s ", (int)strcspn(line, "\n"), line);
        printf("(server + benchmark clients)\n");
        if (f)
            fclose(f);
    }
    ks_api_server_stop(b.srv);
    pthread_join(t, NULL);
    rc = ok ? 0 : 1;
done:
    ks_api_server_free(b.srv);
    ks_api_tokens_free(b.tokens);
    ks_store_close(b.store);
    ks_store_close(b.cp);
    curl_global_cleanup();
    snprintf(cmd, sizeof cmd, "rm -rf %s", b.dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
