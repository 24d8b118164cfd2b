/*
 * test_api.c: the API server over real HTTP on loopback (libcurl and raw
 * sockets) against a real SQLite store in a temp dir. The server runs in
 * its own thread on an ephemeral port with its own store connection; the
 * test plays the control plane with a second connection, writing objects
 * and calling ks_api_server_notify() as the control plane will.
 *
 * Covers: tokens (files, modes, reuse), 401s and node-token scoping, 413,
 * list/get/labelSelector, watch (immediate, woken by notify with measured
 * latency, timeout, 410 after compaction, watcher limit, node watch), the
 * node round trip (register, heartbeat, pods, status, events), metrics
 * text format, connection limit, a slow client not blocking others and
 * being cut by the idle timeout, a hung-up watcher dropped at once, stop
 * with watchers parked, HTTPS with a self-signed certificate made here, and
 * keep-alive GET throughput figures (plain and TLS).
 * Contracts §6 (the "hooks" fixture: hooks, webhook secret, Unix socket):
 * POST /api/v1/sync, POST /hooks/git signed the GitHub, Gitea and GitLab
 * ways (good, bad, missing, no secret configured, ping), hooks->wrote after
 * each server write, a node reading ConfigMaps/Secrets/Services/Endpoints
 * (403 for other kinds) and listing Services/Endpoints, a node watch
 * passing ConfigMap/Secret/Service/Endpoints changes, GET
 * /api/v1/syncs/{id}, the store-derived metrics, and the same API over the
 * Unix socket (curl's CURLOPT_UNIX_SOCKET_PATH).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

struct fixture {
    char dir[64];
    struct ks_store *store; /* the server's connection */
    struct ks_store *cp;    /* the "control plane" connection */
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    pthread_t thread;
    char admin[KS_API_TOKEN_HEX + 1];
    unsigned port;
    int leftover_fd; /* a client socket teardown closes after the server */
    int tls;         /* https with the self-signed certificate in dir */
    char cert[96], key[96];
    /* The hooks fixture: what the server told the "control plane". */
    struct ks_api_hooks hooks;
    char sock[96];
    atomic_int sync_calls, webhook_calls, wrote_calls;
    atomic_llong last_wrote;
};

#define WEBHOOK_SECRET "It's a Secret to Everybody"

static int64_t hook_sync(void *ud, const char *reason)
{
    struct fixture *f = ud;
    if (strcmp(reason, "webhook") == 0)
        return 100 + atomic_fetch_add(&f->webhook_calls, 1) + 1;
    if (strcmp(reason, "api") == 0)
        return atomic_fetch_add(&f->sync_calls, 1) + 1;
    return -1;
}

static void hook_wrote(void *ud, int64_t revision)
{
    struct fixture *f = ud;
    atomic_store(&f->last_wrote, revision);
    atomic_fetch_add(&f->wrote_calls, 1);
}

/* The dashboard's stand-in: "/" and "/app.js" exist, the rest does not,
 * "/broken" fails. */
static int hook_page(void *ud, const char *path, char **out_body, size_t *out_len,
                     const char **out_type)
{
    (void)ud;
    const char *body = NULL, *type = NULL;
    if (strcmp(path, "/") == 0)
        body = "<!DOCTYPE html><p>overview</p>", type = "text/html; charset=utf-8";
    else if (strcmp(path, "/app.js") == 0)
        body = "\"use strict\";", type = "text/javascript; charset=utf-8";
    else if (strcmp(path, "/broken") == 0)
        return ks_error_set(KS_EIO, "dashboard: repository unreadable");
    else
        return ks_error_set(KS_ENOTFOUND, "dashboard: no page %s", path);
    *out_body = strdup(body);
    *out_len = strlen(body);
    *out_type = type;
    return 0;
}

struct resp {
    long code;
    struct ks_buf body;
    json_t *json;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_server(void *arg)
{
    struct fixture *f = arg;
    ks_api_server_run(f->srv);
    return NULL;
}

/* A self-signed P-256 certificate for IP 127.0.0.1, written as PEM. */
static int make_cert(const char *cert_path, const char *key_path)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_EXTENSION *san = NULL;
    FILE *cf = NULL, *kf = NULL;
    int rc = -1;
    if (!pkey || !x)
        goto done;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (!(san = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "IP:127.0.0.1")) ||
        !X509_add_ext(x, san, -1) || !X509_sign(x, pkey, EVP_sha256()))
        goto done;
    if (!(cf = fopen(cert_path, "w")) || !(kf = fopen(key_path, "w")) || !PEM_write_X509(cf, x) ||
        !PEM_write_PrivateKey(kf, pkey, NULL, NULL, 0, NULL, NULL))
        goto done;
    rc = 0;
done:
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
    X509_EXTENSION_free(san);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

static int start(void **state, int tls, int hooks)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-api-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    f->tls = tls;
    snprintf(f->cert, sizeof f->cert, "%s/cert.pem", f->dir);
    snprintf(f->key, sizeof f->key, "%s/key.pem", f->dir);
    if (tls && make_cert(f->cert, f->key) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    if (ks_store_open_sqlite(&f->cp, path, 8) || ks_store_open_sqlite(&f->store, path, 8) ||
        ks_api_tokens_load_or_create(&f->tokens, f->dir))
        return -1;
    struct ks_api_server_opts o = {.port = 0,
                                   .max_body_bytes = 4096,
                                   .idle_timeout_s = 1,
                                   .max_connections = 16,
                                   .max_watchers = 3,
                                   .tls_cert = tls ? f->cert : NULL,
                                   .tls_key = tls ? f->key : NULL};
    if (hooks) {
        f->hooks = (struct ks_api_hooks){
            .sync_request = hook_sync, .wrote = hook_wrote, .page = hook_page, .ud = f};
        snprintf(f->sock, sizeof f->sock, "%s/api.sock", f->dir);
        o.hooks = &f->hooks;
        o.webhook_secret = WEBHOOK_SECRET;
        o.unix_socket = f->sock;
    }
    if (ks_api_server_new(&f->srv, f->store, f->tokens, &o))
        return -1;
    f->port = ks_api_server_port(f->srv);
    ks_api_tokens_admin(f->admin, f->tokens);
    if (pthread_create(&f->thread, NULL, run_server, f))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start(state, 0, 0);
}

static int setup_tls(void **state)
{
    return start(state, 1, 0);
}

static int setup_hooks(void **state)
{
    return start(state, 0, 1);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    ks_api_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    ks_api_server_free(f->srv);
    if (f->leftover_fd > 0)
        close(f->leftover_fd);
    ks_api_tokens_free(f->tokens);
    ks_store_close(f->store);
    ks_store_close(f->cp);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    ks_buf_put(arg, p, size * n);
    return size * n;
}

/* One request; handle may be a reused CURL (keep-alive) or NULL; extra
 * headers (may be NULL) are added; unix_path sends it over that socket. */
static void http_full(struct resp *out, CURL *handle, const struct fixture *f, const char *method,
                      const char *path, const char *token, const char *body,
                      const char *const *extra, const char *unix_path)
{
    CURL *c = handle ? handle : curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512], auth[128];
    assert_non_null(c);
    memset(out, 0, sizeof *out);
    ks_buf_init(&out->body, 16u << 20);
    snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", f->tls ? "https" : "http", f->port, path);
    if (f->tls)
        curl_easy_setopt(c, CURLOPT_CAINFO, f->cert);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "Expect:");
    for (size_t i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (unix_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
    out->json = json_loads(ks_buf_data(&out->body), 0, NULL);
    curl_slist_free_all(h);
    if (!handle)
        curl_easy_cleanup(c);
}

static void http(struct resp *out, CURL *handle, const struct fixture *f, const char *method,
                 const char *path, const char *token, const char *body)
{
    http_full(out, handle, f, method, path, token, body, NULL, NULL);
}

static void resp_free(struct resp *r)
{
    ks_buf_release(&r->body);
    json_decref(r->json);
}

/* Request expecting code; returns the parsed JSON (new reference). */
static json_t *call(const struct fixture *f, const char *method, const char *path,
                    const char *token, const char *body, long code)
{
    struct resp r;
    http(&r, NULL, f, method, path, token, body);
    if (r.code != code)
        fail_msg("%s %s: got %ld, want %ld: %s", method, path, r.code, code, ks_buf_data(&r.body));
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static int64_t put_cm(struct fixture *f, const char *ns, const char *name, const char *app)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
                          "ConfigMap", "metadata", "name", name, "namespace", ns, "labels", "app",
                          app, "data", "k", "v");
    int64_t rev = 0;
    assert_int_equal(ks_store_put(&rev, f->cp, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    return rev;
}

/* metadata.name of the i-th item of the response's items. */
static const char *item_name(const json_t *resp, size_t i)
{
    const json_t *item = json_array_get(json_object_get(resp, "items"), i);
    const char *name =
        json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
    assert_non_null(name);
    return name;
}

static const char *error_of(const json_t *j)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    assert_non_null(e);
    return e;
}

static void tokens_files(void **state)
{
    struct fixture *f = *state;
    char path[128], node1[KS_API_TOKEN_HEX + 1], node2[KS_API_TOKEN_HEX + 1];
    struct stat st;
    struct ks_api_tokens *again = NULL;
    snprintf(path, sizeof path, "%s/tokens/admin", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(strlen(f->admin), KS_API_TOKEN_HEX);
    assert_int_equal(ks_api_tokens_node(node1, f->tokens, "n1"), 0);
    assert_string_not_equal(node1, f->admin);
    assert_int_equal(ks_api_tokens_node(node2, f->tokens, "n1"), 0);
    assert_string_equal(node1, node2);
    assert_int_equal(ks_api_tokens_node(node2, f->tokens, "../etc"), KS_EINVALID);
    /* A second load reads the same tokens back. */
    assert_int_equal(ks_api_tokens_load_or_create(&again, f->dir), 0);
    ks_api_tokens_admin(node2, again);
    assert_string_equal(node2, f->admin);
    assert_int_equal(ks_api_tokens_node(node2, again, "n1"), 0);
    assert_string_equal(node1, node2);
    ks_api_tokens_free(again);
    /* A world-readable token file is refused. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(ks_api_tokens_load_or_create(&again, f->dir), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "readable by group or others"));
    assert_int_equal(chmod(path, 0600), 0);
}

static void auth_required(void **state)
{
    struct fixture *f = *state;
    char wrong[KS_API_TOKEN_HEX + 1], node[KS_API_TOKEN_HEX + 1];
    json_decref(call(f, "GET", "/healthz", NULL, NULL, 200));
    json_decref(call(f, "GET", "/readyz", NULL, NULL, 200));
    json_t *j = call(f, "GET", "/api/v1/objects/ConfigMap", NULL, NULL, 401);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 401);
    error_of(j);
    json_decref(j);
    memcpy(wrong, f->admin, sizeof wrong);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", wrong, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", "short", NULL, 401));
    json_decref(call(f, "GET", "/metrics", NULL, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", f->admin, NULL, 200));
    /* A node token reaches only its own node's endpoints. */
    assert_int_equal(ks_api_tokens_node(node, f->tokens, "n1"), 0);
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", node, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/watch?since=0&timeout=0", node, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/events", node, NULL, 401));
    json_decref(call(f, "GET", "/metrics", node, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/n2/pods", node, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/n1/pods", node, NULL, 200));
    json_decref(call(f, "GET", "/api/v1/nodes/n2/pods", f->admin, NULL, 200));
    json_decref(call(f, "GET", "/api/v1/nothing", f->admin, NULL, 404));
}

static int raw_connect(const struct fixture *f);

static void body_limit(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(8192);
    assert_non_null(big);
    memset(big, ' ', 8191);
    big[0] = '{';
    big[8190] = '}';
    big[8191] = '\0';
    struct resp r;
    http(&r, NULL, f, "POST", "/api/v1/nodes/n1/register", f->admin, big);
    assert_int_equal(r.code, 413);
    resp_free(&r);
    free(big);
    /* Headers past max_header_bytes (default 16 KiB) are refused too. */
    int fd = raw_connect(f);
    char *hdr = malloc(20000);
    assert_non_null(hdr);
    int n = snprintf(hdr, 20000, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(hdr + n, 'a', 18000);
    memcpy(hdr + n + 18000, "\r\n\r\n", 5);
    size_t len = (size_t)n + 18004;
    ssize_t sent = write(fd, hdr, len);
    assert_true(sent > 0);
    char buf[256] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t got = read(fd, buf, sizeof buf - 1);
    assert_true(got >= 0);
    buf[got > 0 ? got : 0] = '\0';
    assert_true(got == 0 || strncmp(buf, "HTTP/1.1 400", 12) == 0);
    free(hdr);
    close(fd);
    /* Below the limit the same request is fine. */
    json_decref(call(f, "POST", "/api/v1/nodes/n1/register", f->admin, "{}", 200));
    json_decref(call(f, "POST", "/api/v1/nodes/n1/register", f->admin, "{bad", 400));
}

static void list_get_select(void **state)
{
    struct fixture *f = *state;
    put_cm(f, "default", "a", "web");
    put_cm(f, "default", "b", "db");
    int64_t rev = put_cm(f, "other", "c", "web");
    json_t *j = call(f, "GET", "/api/v1/objects/ConfigMap", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), rev);
    json_decref(j);
    j = call(f, "GET", "/api/v1/namespaces/default/objects/ConfigMap", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    json_decref(j);
    j = call(f, "GET", "/api/v1/objects/ConfigMap?labelSelector=app%3Dweb", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    assert_string_equal(item_name(j, 1), "c");
    json_decref(j);
    j = call(f, "GET",
             "/api/v1/namespaces/default/objects/ConfigMap?labelSelector=app%20notin%20(web)",
             f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    j = call(f, "GET", "/api/v1/objects/ConfigMap?labelSelector=app%3D%3D%3D", f->admin, NULL, 400);
    assert_non_null(strstr(error_of(j), "labelSelector"));
    json_decref(j);
    j = call(f, "GET", "/api/v1/namespaces/other/objects/ConfigMap/c", f->admin, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "k")), "v");
    json_decref(j);
    j = call(f, "GET", "/api/v1/namespaces/other/objects/ConfigMap/zz", f->admin, NULL, 404);
    assert_non_null(strstr(error_of(j), "zz"));
    json_decref(j);
    json_decref(call(f, "POST", "/api/v1/objects/ConfigMap", f->admin, "{}", 405));
    j = call(f, "GET", "/api/v1/syncs", f->admin, NULL, 200);
    assert_true(json_is_array(json_object_get(j, "items")));
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/syncs?limit=0", f->admin, NULL, 400));
}

static void watch_immediate(void **state)
{
    struct fixture *f = *state;
    put_cm(f, "default", "a", "web");
    int64_t rev = put_cm(f, "default", "b", "web");
    json_t *j = call(f, "GET", "/api/v1/watch?since=0", f->admin, NULL, 200);
    json_t *ch = json_object_get(j, "changes");
    assert_int_equal(json_array_size(ch), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), rev);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 1), "name")), "b");
    json_decref(j);
    j = call(f, "GET", "/api/v1/watch?since=1", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 1);
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/watch", f->admin, NULL, 400));
    json_decref(call(f, "GET", "/api/v1/watch?since=x", f->admin, NULL, 400));
    json_decref(call(f, "GET", "/api/v1/watch?since=0&timeout=1h", f->admin, NULL, 400));
}

struct watch_call {
    const struct fixture *f;
    char path[128];
    const char *token;
    struct resp r;
    double done_at;
};

static void *watch_thread(void *arg)
{
    struct watch_call *w = arg;
    http(&w->r, NULL, w->f, "GET", w->path, w->token, NULL);
    w->done_at = now_s();
    return NULL;
}

static void watch_wakes_on_notify(void **state)
{
    struct fixture *f = *state;
    double total = 0, worst = 0;
    int rounds = 20;
    for (int i = 0; i < rounds; i++) {
        int64_t rev = 0;
        char name[16];
        /* A read through the server first: it must not pin a stale snapshot. */
        if (i > 0) {
            char get[96];
            snprintf(get, sizeof get, "/api/v1/namespaces/default/objects/ConfigMap/w%d", i - 1);
            json_decref(call(f, "GET", get, f->admin, NULL, 200));
        }
        assert_int_equal(ks_store_revision(&rev, f->cp), 0);
        struct watch_call w = {.f = f, .token = f->admin};
        snprintf(w.path, sizeof w.path, "/api/v1/watch?since=%lld&timeout=10s", (long long)rev);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, watch_thread, &w), 0);
        usleep(100 * 1000); /* let the request park */
        double parked = now_s();
        snprintf(name, sizeof name, "w%d", i);
        int64_t nrev = put_cm(f, "default", name, "web");
        double t0 = now_s();
        ks_api_server_notify(f->srv, nrev);
        pthread_join(t, NULL);
        double lat = w.done_at - t0;
        assert_int_equal(w.r.code, 200);
        json_t *ch = json_object_get(w.r.json, "changes");
        assert_int_equal(json_array_size(ch), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "name")),
                            name);
        assert_int_equal(json_integer_value(json_object_get(w.r.json, "revision")), nrev);
        assert_true(t0 - parked < 1.0);
        assert_true(lat < 0.5);
        total += lat;
        worst = lat > worst ? lat : worst;
        resp_free(&w.r);
    }
    printf("watch wake latency (notify -> client has the answer): mean %.3f ms, worst %.3f ms "
           "over %d rounds\n",
           total / rounds * 1e3, worst * 1e3, rounds);
}

static void watch_timeout(void **state)
{
    struct fixture *f = *state;
    int64_t rev = put_cm(f, "default", "a", "web");
    char path[128];
    /* The wait is longer than the 1 s idle timeout: a parked watch is not idle. */
    snprintf(path, sizeof path, "/api/v1/watch?since=%lld&timeout=1500ms", (long long)rev);
    double t0 = now_s();
    json_t *j = call(f, "GET", path, f->admin, NULL, 200);
    double took = now_s() - t0;
    assert_true(took >= 1.45 && took < 3.0);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), rev);
    json_decref(j);
    /* A change committed without a notify is still delivered at the timeout. */
    snprintf(path, sizeof path, "/api/v1/watch?since=%lld&timeout=300ms", (long long)rev);
    struct watch_call w = {.f = f, .token = f->admin};
    memcpy(w.path, path, sizeof path);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watch_thread, &w), 0);
    usleep(100 * 1000);
    int64_t rev2 = put_cm(f, "default", "b", "web");
    pthread_join(t, NULL);
    assert_int_equal(w.r.code, 200);
    assert_int_equal(json_array_size(json_object_get(w.r.json, "changes")), 1);
    assert_int_equal(json_integer_value(json_object_get(w.r.json, "revision")), rev2);
    resp_free(&w.r);
}

static void watch_gone(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 70; i++)
        put_cm(f, "default", "a", i % 2 ? "web" : "db"); /* compacts at 64 (history 8) */
    json_t *j = call(f, "GET", "/api/v1/watch?since=1", f->admin, NULL, 410);
    assert_non_null(strstr(error_of(j), "relist"));
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 410);
    json_decref(j);
    j = call(f, "GET", "/api/v1/watch?since=65&timeout=0", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 5);
    json_decref(j);
}

static int metric_value(double *out, const char *text, const char *series)
{
    const char *p = text;
    size_t n = strlen(series);
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            *out = strtod(p + n + 1, NULL);
            return 0;
        }
        p += n;
    }
    return -1;
}

static void get_metrics(struct ks_buf *out, const struct fixture *f)
{
    struct resp r;
    http(&r, NULL, f, "GET", "/metrics", f->admin, NULL);
    assert_int_equal(r.code, 200);
    *out = r.body;
    json_decref(r.json);
}

static void wait_watchers(const struct fixture *f, double want)
{
    double v = -1;
    for (int i = 0; i < 200 && v != want; i++) {
        struct ks_buf m;
        get_metrics(&m, f);
        assert_int_equal(metric_value(&v, ks_buf_data(&m), "keelson_api_watchers"), 0);
        ks_buf_release(&m);
        if (v != want)
            usleep(10 * 1000);
    }
    assert_true(v == want);
}

static void watch_limit(void **state)
{
    struct fixture *f = *state;
    int64_t rev = put_cm(f, "default", "a", "web");
    struct watch_call w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].f = f;
        w[i].token = f->admin;
        snprintf(w[i].path, sizeof w[i].path, "/api/v1/watch?since=%lld&timeout=10s",
                 (long long)rev);
        assert_int_equal(pthread_create(&t[i], NULL, watch_thread, &w[i]), 0);
    }
    wait_watchers(f, 3);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/watch?since=%lld", (long long)rev);
    json_t *j = call(f, "GET", path, f->admin, NULL, 503);
    assert_non_null(strstr(error_of(j), "max_watchers"));
    json_decref(j);
    ks_api_server_notify(f->srv, put_cm(f, "default", "b", "web"));
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].r.code, 200);
        assert_int_equal(json_array_size(json_object_get(w[i].r.json, "changes")), 1);
        resp_free(&w[i].r);
    }
    wait_watchers(f, 0);
}

static json_t *pod(const char *ns, const char *name, const char *node)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:[{s:s, s:s}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "namespace", ns, "spec", "nodeName",
                     node, "containers", "name", "c", "image", "busybox");
}

static void node_round_trip(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1];
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    json_t *j = call(f, "POST", "/api/v1/nodes/n1/register", tok,
                     "{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},"
                     "\"labels\":{\"zone\":\"a\"},\"images\":[{\"names\":[\"busybox\"]}]}",
                     200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "metadata"), "name")),
                        "n1");
    json_decref(j);
    json_decref(
        call(f, "POST", "/api/v1/nodes/n1/register", tok, "{\"labels\":{\"-x\":\"y\"}}", 400));
    j = call(f, "GET", "/api/v1/objects/Node/n1", f->admin, NULL, 200);
    json_t *status = json_object_get(j, "status");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(status, "capacity"), "memory")), "8Gi");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(status, "allocatable"), "cpu")), "4");
    json_t *ready = json_array_get(json_object_get(status, "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(ready, "type")), "Ready");
    assert_string_equal(json_string_value(json_object_get(ready, "status")), "True");
    assert_non_null(json_string_value(json_object_get(ready, "lastHeartbeatTime")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "metadata"), "labels"), "zone")),
                        "a");
    json_decref(j);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/heartbeat", tok, NULL, 200));
    json_decref(call(f, "POST", "/api/v1/nodes/n9/heartbeat", f->admin, NULL, 404));

    json_t *p1 = pod("default", "p1", "n1"), *p2 = pod("default", "p2", "n2");
    assert_int_equal(ks_store_put(NULL, f->cp, p1, KS_STORE_MUST_NOT_EXIST), 0);
    assert_int_equal(ks_store_put(NULL, f->cp, p2, KS_STORE_MUST_NOT_EXIST), 0);
    json_decref(p1);
    json_decref(p2);
    j = call(f, "GET", "/api/v1/nodes/n1/pods", tok, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(item_name(j, 0), "p1");
    json_decref(j);

    j = call(f, "POST", "/api/v1/nodes/n1/pods/default/p1/status", tok,
             "{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\"}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "status"), "phase")),
                        "Running");
    json_decref(j);
    j = call(f, "GET", "/api/v1/namespaces/default/objects/Pod/p1", f->admin, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "status"), "podIP")),
                        "10.0.0.5");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "spec"), "nodeName")),
                        "n1");
    json_decref(j);
    j = call(f, "POST", "/api/v1/nodes/n1/pods/default/p2/status", tok, "{\"phase\":\"Failed\"}",
             403);
    assert_non_null(strstr(error_of(j), "n2"));
    json_decref(j);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/pods/default/nope/status", tok, "{}", 404));

    j = call(f, "POST", "/api/v1/nodes/n1/events", tok,
             "[{\"type\":\"Warning\",\"reason\":\"Drift\",\"message\":\"container stopped\"},"
             "{\"type\":\"Normal\",\"reason\":\"Healed\",\"message\":\"restarted\"}]",
             200);
    assert_int_equal(json_integer_value(json_object_get(j, "added")), 2);
    json_decref(j);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/events", tok, "[1]", 400));
    j = call(f, "GET", "/api/v1/events", f->admin, NULL, 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "node")),
                            "n1");
    json_decref(j);
}

static void node_watch(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1];
    int64_t rev = 0;
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    struct watch_call w = {.f = f, .token = tok};
    snprintf(w.path, sizeof w.path, "/api/v1/nodes/n1/watch?since=%lld&timeout=5s", (long long)rev);
    /* n2's watcher and an admin watcher wait from the same revision. */
    struct watch_call w2 = {.f = f, .token = f->admin}, wa = {.f = f, .token = f->admin};
    snprintf(w2.path, sizeof w2.path, "/api/v1/nodes/n2/watch?since=%lld&timeout=5s",
             (long long)rev);
    snprintf(wa.path, sizeof wa.path, "/api/v1/watch?since=%lld&timeout=5s", (long long)rev);
    pthread_t t, t2, ta;
    assert_int_equal(pthread_create(&t, NULL, watch_thread, &w), 0);
    assert_int_equal(pthread_create(&t2, NULL, watch_thread, &w2), 0);
    assert_int_equal(pthread_create(&ta, NULL, watch_thread, &wa), 0);
    wait_watchers(f, 3);
    /* Another node's pod wakes that node's and the admin's watcher, not n1's. */
    json_t *p = pod("default", "other", "n2");
    int64_t r1 = 0;
    assert_int_equal(ks_store_put(&r1, f->cp, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
    ks_api_server_notify(f->srv, r1);
    pthread_join(t2, NULL);
    pthread_join(ta, NULL);
    struct watch_call *woken[] = {&w2, &wa};
    for (size_t i = 0; i < 2; i++) {
        json_t *c = json_object_get(woken[i]->r.json, "changes");
        assert_int_equal(json_array_size(c), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "name")),
                            "other");
        resp_free(&woken[i]->r);
    }
    usleep(100 * 1000);
    wait_watchers(f, 1);
    p = pod("default", "mine", "n1");
    assert_int_equal(ks_store_put(&r1, f->cp, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
    ks_api_server_notify(f->srv, r1);
    pthread_join(t, NULL);
    assert_int_equal(w.r.code, 200);
    json_t *ch = json_object_get(w.r.json, "changes");
    assert_int_equal(json_array_size(ch), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ch, 0), "name")), "mine");
    resp_free(&w.r);
}

static void metrics_text(void **state)
{
    struct fixture *f = *state;
    struct ks_buf m;
    double v = 0;
    put_cm(f, "default", "a", "web");
    put_cm(f, "default", "b", "web");
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", f->admin, NULL, 200));
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", NULL, NULL, 401));
    get_metrics(&m, f);
    const char *text = ks_buf_data(&m);
    /* Every line is a comment or `name{labels} value` / `name value`. */
    char *copy = strdup(text), *save = NULL;
    assert_non_null(copy);
    int samples = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        size_t name_len = strspn(line, "abcdefghijklmnopqrstuvwxyz_:");
        assert_true(name_len > 0);
        const char *rest = line + name_len;
        if (*rest == '{') {
            const char *close = strstr(rest, "} ");
            assert_non_null(close);
            rest = close + 1;
        }
        assert_true(*rest == ' ');
        char *end = NULL;
        strtod(rest + 1, &end);
        assert_true(end != rest + 1 && *end == '\0');
        samples++;
    }
    free(copy);
    assert_true(samples > 10);
    assert_int_equal(metric_value(&v, text, "keelson_objects{kind=\"ConfigMap\"}"), 0);
    assert_true(v == 2);
    assert_int_equal(metric_value(&v, text, "keelson_store_revision"), 0);
    assert_true(v == 2);
    assert_int_equal(
        metric_value(&v, text, "keelson_api_requests_total{code=\"200\",method=\"GET\"}"), 0);
    assert_true(v >= 1);
    assert_int_equal(
        metric_value(&v, text, "keelson_api_requests_total{code=\"401\",method=\"GET\"}"), 0);
    assert_true(v == 1);
    assert_int_equal(
        metric_value(&v, text, "keelson_api_request_duration_seconds_bucket{le=\"+Inf\"}"), 0);
    double count = 0;
    assert_int_equal(metric_value(&count, text, "keelson_api_request_duration_seconds_count"), 0);
    assert_true(v == count && count >= 2);
    ks_buf_release(&m);
}

static int raw_connect(const struct fixture *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends a keep-alive GET /healthz and returns the status code. */
static int raw_get(int fd, const char *path)
{
    char req[256], buf[4096];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t got = read(fd, buf, sizeof buf - 1);
    assert_true(got > 12);
    buf[got] = '\0';
    return (int)strtol(buf + 9, NULL, 10);
}

static void slow_client(void **state)
{
    struct fixture *f = *state;
    int fd = raw_connect(f);
    const char *half = "GET /api/v1/objects/ConfigMap HTTP/1.1\r\nHost: x\r\nAuthor";
    assert_int_equal(write(fd, half, strlen(half)), (ssize_t)strlen(half));
    /* Others are served meanwhile, promptly. */
    for (int i = 0; i < 5; i++) {
        double t0 = now_s();
        json_decref(call(f, "GET", "/healthz", NULL, NULL, 200));
        assert_true(now_s() - t0 < 0.5);
    }
    /* The idle timeout (1 s) closes the stalled connection. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    double t0 = now_s();
    assert_int_equal(poll(&p, 1, 5000), 1);
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    assert_true(n >= 0);
    assert_true(now_s() - t0 < 4.0);
    close(fd);
}

static void connection_limit(void **state)
{
    struct fixture *f = *state;
    int fds[17];
    for (int i = 0; i < 16; i++) {
        fds[i] = raw_connect(f);
        assert_int_equal(raw_get(fds[i], "/healthz"), 200);
    }
    fds[16] = raw_connect(f);
    assert_int_equal(raw_get(fds[16], "/healthz"), 503);
    close(fds[16]);
    /* Kept-alive connections keep working; closing one frees a slot. */
    assert_int_equal(raw_get(fds[3], "/healthz"), 200);
    close(fds[0]);
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        int fd = raw_connect(f);
        ok = raw_get(fd, "/healthz") == 200;
        close(fd);
        if (!ok)
            usleep(10 * 1000);
    }
    assert_true(ok);
    for (int i = 1; i < 16; i++)
        close(fds[i]);
}

/* Parks a watch on a raw socket (returns the socket). */
static int raw_watch(const struct fixture *f, const char *timeout)
{
    char req[512];
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    int fd = raw_connect(f);
    int n = snprintf(req, sizeof req,
                     "GET /api/v1/watch?since=%lld&timeout=%s HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer %s\r\n\r\n",
                     (long long)rev, timeout, f->admin);
    assert_int_equal(write(fd, req, (size_t)n), n);
    return fd;
}

static void watcher_disconnects(void **state)
{
    struct fixture *f = *state;
    int fd = raw_watch(f, "10s");
    wait_watchers(f, 1);
    double t0 = now_s();
    close(fd);
    /* The server notices the hang-up long before the 10 s timeout. */
    wait_watchers(f, 0);
    double took = now_s() - t0;
    printf("a closed watcher was dropped after %.1f ms (its timeout: 10 s)\n", took * 1e3);
    assert_true(took < 2.0);
    json_decref(call(f, "GET", "/healthz", NULL, NULL, 200));
    ks_api_server_notify(f->srv, put_cm(f, "default", "a", "web"));
    json_decref(call(f, "GET", "/api/v1/watch?since=0", f->admin, NULL, 200));
}

static void stop_with_parked_watchers(void **state)
{
    struct fixture *f = *state;
    int a = raw_watch(f, "30s"), b = raw_watch(f, "30s");
    wait_watchers(f, 2);
    /* teardown stops and frees the server with both still parked */
    close(a);
    (void)b; /* left open across the stop */
    f->leftover_fd = b;
}

/* n GETs of path on one kept-alive connection; returns requests/s. */
static double keepalive_gets(const struct fixture *f, const char *path, int n)
{
    CURL *c = curl_easy_init();
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        struct resp r;
        http(&r, c, f, "GET", path, f->admin, NULL);
        assert_int_equal(r.code, 200);
        resp_free(&r);
    }
    double took = now_s() - t0;
    long conns = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    assert_int_equal(conns, 0); /* the last request reused the connection */
    curl_easy_cleanup(c);
    return n / took;
}

static void keepalive_throughput(void **state)
{
    struct fixture *f = *state;
    put_cm(f, "default", "bench", "web");
    printf("keep-alive GET of one object: %.0f req/s (one client, 3000 requests)\n",
           keepalive_gets(f, "/api/v1/namespaces/default/objects/ConfigMap/bench", 3000));
}

static void tls_serving(void **state)
{
    struct fixture *f = *state;
    put_cm(f, "default", "a", "web");
    json_decref(call(f, "GET", "/healthz", NULL, NULL, 200));
    json_decref(call(f, "GET", "/api/v1/objects/ConfigMap", NULL, NULL, 401));
    json_t *j = call(f, "GET", "/api/v1/objects/ConfigMap", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/register", f->admin, "{}", 200));
    /* Keep-alive over TLS, and a watch woken over TLS. */
    printf("keep-alive GET of one object over TLS: %.0f req/s (one client, 1000 requests)\n",
           keepalive_gets(f, "/api/v1/namespaces/default/objects/ConfigMap/a", 1000));
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    struct watch_call w = {.f = f, .token = f->admin};
    snprintf(w.path, sizeof w.path, "/api/v1/watch?since=%lld&timeout=10s", (long long)rev);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watch_thread, &w), 0);
    wait_watchers(f, 1);
    ks_api_server_notify(f->srv, put_cm(f, "default", "b", "web"));
    pthread_join(t, NULL);
    assert_int_equal(w.r.code, 200);
    if (json_array_size(json_object_get(w.r.json, "changes")) != 1)
        fail_msg("watch over TLS: %s (since %lld)", ks_buf_data(&w.r.body), (long long)rev);
    resp_free(&w.r);
    /* Plain HTTP to the TLS port gets no HTTP answer. */
    int fd = raw_connect(f);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char buf[64] = "";
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    assert_true(n <= 0 || strncmp(buf, "HTTP/", 5) != 0);
    close(fd);
}

static void tls_bad_key(void **state)
{
    struct fixture *f = *state;
    struct ks_api_server *srv = NULL;
    struct ks_api_server_opts o = {.tls_cert = f->cert, .tls_key = f->cert};
    assert_int_equal(ks_api_server_new(&srv, f->store, f->tokens, &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "TLS"));
    o.tls_key = NULL;
    assert_int_equal(ks_api_server_new(&srv, f->store, f->tokens, &o), KS_EINVALID);
}

static void lifecycle(void **state)
{
    (void)state;
    char dir[64], path[128], cmd[128];
    struct ks_store *store = NULL;
    struct ks_api_tokens *tokens = NULL;
    struct ks_api_server *srv = NULL, *clash = NULL;
    snprintf(dir, sizeof dir, "/tmp/ks-api-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    assert_int_equal(ks_store_open_sqlite(&store, path, 0), 0);
    assert_int_equal(ks_api_tokens_load_or_create(&tokens, dir), 0);
    /* Free without run; stop before run makes run return at once. */
    assert_int_equal(ks_api_server_new(&srv, store, tokens, NULL), 0);
    ks_api_server_free(srv);
    assert_int_equal(ks_api_server_new(&srv, store, tokens, NULL), 0);
    assert_true(ks_api_server_port(srv) > 0);
    struct ks_api_server_opts o = {.port = ks_api_server_port(srv)};
    assert_int_equal(ks_api_server_new(&clash, store, tokens, &o), KS_EIO);
    ks_api_server_stop(srv);
    assert_int_equal(ks_api_server_run(srv), 0);
    ks_api_server_free(srv);
    ks_api_server_free(NULL);
    ks_api_tokens_free(tokens);
    ks_store_close(store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- contracts §6: sync requests, webhooks, hooks->wrote, node objects ---- */

/* POST with extra headers; returns the parsed JSON (new reference). */
static json_t *call_with(const struct fixture *f, const char *path, const char *token,
                         const char *body, const char *const *headers, long code)
{
    struct resp r;
    http_full(&r, NULL, f, "POST", path, token, body, headers, NULL);
    if (r.code != code)
        fail_msg("POST %s: got %ld, want %ld: %s", path, r.code, code, ks_buf_data(&r.body));
    json_t *j = json_incref(r.json);
    resp_free(&r);
    return j;
}

static void hmac_hex(char out[65], const char *secret, const char *body)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
                         strlen(body), mac, &len));
    assert_int_equal(len, 32);
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void sync_request(void **state)
{
    struct fixture *f = *state;
    char node[KS_API_TOKEN_HEX + 1];
    json_t *j = call(f, "POST", "/api/v1/sync", f->admin, NULL, 202);
    assert_int_equal(json_integer_value(json_object_get(j, "ticket")), 1);
    json_decref(j);
    j = call(f, "POST", "/api/v1/sync", f->admin, "{}", 202);
    assert_int_equal(json_integer_value(json_object_get(j, "ticket")), 2);
    json_decref(j);
    assert_int_equal(atomic_load(&f->sync_calls), 2);
    assert_int_equal(ks_api_tokens_node(node, f->tokens, "n1"), 0);
    json_decref(call(f, "POST", "/api/v1/sync", node, NULL, 401));
    json_decref(call(f, "POST", "/api/v1/sync", NULL, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/sync", f->admin, NULL, 405));
    assert_int_equal(atomic_load(&f->sync_calls), 2);
    assert_int_equal(atomic_load(&f->webhook_calls), 0);
}

/* Without hooks and secret: /api/v1/sync 503, /hooks/git 404. */
static void sync_unconfigured(void **state)
{
    struct fixture *f = *state;
    json_t *j = call(f, "POST", "/api/v1/sync", f->admin, NULL, 503);
    assert_non_null(strstr(error_of(j), "hooks"));
    json_decref(j);
    const char *gl[] = {"X-Gitlab-Token: x", NULL};
    j = call_with(f, "/hooks/git", NULL, "{}", gl, 404);
    assert_non_null(strstr(error_of(j), "webhook"));
    json_decref(j);
}

/* Pages: no token needed, content types kept, 404/500/405 as JSON, HEAD
 * without a body; /api/ and /hooks/ never reach the page hook. */
static void dashboard_pages(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    http(&r, NULL, f, "GET", "/", NULL, NULL);
    assert_int_equal(r.code, 200);
    assert_string_equal(ks_buf_data(&r.body), "<!DOCTYPE html><p>overview</p>");
    resp_free(&r);
    http(&r, NULL, f, "GET", "/app.js", NULL, NULL);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    json_t *j = call(f, "GET", "/nope.html", NULL, NULL, 404);
    assert_non_null(strstr(error_of(j), "no such page"));
    json_decref(j);
    j = call(f, "GET", "/broken", NULL, NULL, 500);
    assert_non_null(strstr(error_of(j), "repository unreadable"));
    json_decref(j);
    j = call(f, "POST", "/", NULL, "{}", 405);
    json_decref(j);
    j = call(f, "GET", "/api/nope", NULL, NULL, 404);
    assert_non_null(strstr(error_of(j), "no such endpoint"));
    json_decref(j);
    /* without hooks (the plain fixture) pages are 404 */
}

static void webhook_signatures(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"ref\":\"refs/heads/main\",\"after\":\"0123abcd\"}";
    char mac[65], wrong[65], h1[128], h2[128], h3[128];
    hmac_hex(mac, WEBHOOK_SECRET, body);
    hmac_hex(wrong, "not the secret", body);

    /* GitHub: sha256=<hex>, either case. */
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: sha256=%s", mac);
    const char *gh[] = {h1, "X-GitHub-Event: push", NULL};
    json_t *j = call_with(f, "/hooks/git", NULL, body, gh, 202);
    assert_int_equal(json_integer_value(json_object_get(j, "ticket")), 101);
    json_decref(j);
    for (char *p = h1 + strlen("X-Hub-Signature-256: sha256="); *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    json_decref(call_with(f, "/hooks/git", NULL, body, gh, 202));
    /* Gitea: the bare hex HMAC. */
    snprintf(h2, sizeof h2, "X-Gitea-Signature: %s", mac);
    const char *gt[] = {h2, NULL};
    json_decref(call_with(f, "/hooks/git", NULL, body, gt, 202));
    /* GitLab: the secret itself. */
    snprintf(h3, sizeof h3, "X-Gitlab-Token: %s", WEBHOOK_SECRET);
    const char *gl[] = {h3, NULL};
    json_decref(call_with(f, "/hooks/git", NULL, body, gl, 202));
    assert_int_equal(atomic_load(&f->webhook_calls), 4);

    /* Bad: another secret's HMAC, a body changed after signing, no prefix,
     * a short or non-hex MAC, a wrong or longer GitLab token, no header. */
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: sha256=%s", wrong);
    j = call_with(f, "/hooks/git", NULL, body, gh, 401);
    assert_non_null(strstr(error_of(j), "X-Hub-Signature-256"));
    json_decref(j);
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: sha256=%s", mac);
    json_decref(call_with(f, "/hooks/git", NULL, "{\"ref\":\"refs/heads/evil\"}", gh, 401));
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: %s", mac);
    json_decref(call_with(f, "/hooks/git", NULL, body, gh, 401));
    snprintf(h2, sizeof h2, "X-Gitea-Signature: %s", wrong);
    json_decref(call_with(f, "/hooks/git", NULL, body, gt, 401));
    snprintf(h2, sizeof h2, "X-Gitea-Signature: %.63s", mac);
    json_decref(call_with(f, "/hooks/git", NULL, body, gt, 401));
    snprintf(h2, sizeof h2, "X-Gitea-Signature: %.63sz", mac);
    json_decref(call_with(f, "/hooks/git", NULL, body, gt, 401));
    snprintf(h3, sizeof h3, "X-Gitlab-Token: %s", "it's a secret to everybody");
    json_decref(call_with(f, "/hooks/git", NULL, body, gl, 401));
    snprintf(h3, sizeof h3, "X-Gitlab-Token: %sx", WEBHOOK_SECRET);
    j = call_with(f, "/hooks/git", NULL, body, gl, 401);
    assert_non_null(strstr(error_of(j), "X-Gitlab-Token"));
    json_decref(j);
    j = call_with(f, "/hooks/git", NULL, body, NULL, 401);
    assert_non_null(strstr(error_of(j), "no X-Hub-Signature-256"));
    json_decref(j);
    /* A bearer token is no substitute for the signature. */
    json_decref(call_with(f, "/hooks/git", f->admin, body, NULL, 401));
    json_decref(call(f, "GET", "/hooks/git", NULL, NULL, 405));
    assert_int_equal(atomic_load(&f->webhook_calls), 4);

    /* GitHub's ping on webhook creation: verified, answered, no sync. */
    snprintf(h1, sizeof h1, "X-Hub-Signature-256: sha256=%s", mac);
    const char *ping[] = {h1, "X-GitHub-Event: ping", NULL};
    j = call_with(f, "/hooks/git", NULL, body, ping, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pong");
    json_decref(j);
    assert_int_equal(atomic_load(&f->webhook_calls), 4);

    /* An oversized body (max_body_bytes 4096) is refused before any check. */
    char *big = malloc(8192);
    assert_non_null(big);
    memset(big, ' ', 8191);
    big[8191] = '\0';
    struct resp r;
    http_full(&r, NULL, f, "POST", "/hooks/git", NULL, big, gl, NULL);
    assert_int_equal(r.code, 413);
    resp_free(&r);
    free(big);
    assert_int_equal(atomic_load(&f->webhook_calls), 4);
    assert_int_equal(atomic_load(&f->sync_calls), 0);
}

static void wrote_hook(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1];
    int64_t rev = 0;
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    json_t *j = call(f, "POST", "/api/v1/nodes/n1/register", tok, "{}", 200);
    const char *rv =
        json_string_value(json_object_get(json_object_get(j, "metadata"), "resourceVersion"));
    assert_non_null(rv);
    assert_int_equal(atomic_load(&f->wrote_calls), 1);
    assert_int_equal(atomic_load(&f->last_wrote), strtoll(rv, NULL, 10));
    json_decref(j);
    /* A refused write tells nobody. */
    json_decref(call(f, "POST", "/api/v1/nodes/n1/register", tok, "{\"labels\":[]}", 400));
    assert_int_equal(atomic_load(&f->wrote_calls), 1);
    /* The heartbeat of a Ready node changes nothing the controllers act
     * on: no wake-up. */
    json_decref(call(f, "POST", "/api/v1/nodes/n1/heartbeat", tok, NULL, 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 1);
    /* A node coming back (the lifecycle set Ready=Unknown) wakes them. */
    struct ks_store_key nk = {"Node", "", "n1"};
    json_t *node = NULL;
    assert_int_equal(ks_store_get(&node, f->cp, &nk), 0);
    json_t *ready =
        json_array_get(json_object_get(json_object_get(node, "status"), "conditions"), 0);
    json_object_set_new(ready, "status", json_string("Unknown"));
    assert_int_equal(ks_store_put(NULL, f->cp, node, KS_STORE_ANY_REVISION), 0);
    json_decref(node);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/heartbeat", tok, NULL, 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 2);
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    assert_int_equal(atomic_load(&f->last_wrote), rev);
    json_t *p = pod("default", "p1", "n1");
    assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_MUST_NOT_EXIST), 0);
    json_decref(p);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/pods/default/p1/status", tok,
                     "{\"phase\":\"Running\"}", 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 3);
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    assert_int_equal(atomic_load(&f->last_wrote), rev);
    /* The same status again writes nothing and wakes nobody. */
    json_decref(call(f, "POST", "/api/v1/nodes/n1/pods/default/p1/status", tok,
                     "{\"phase\":\"Running\"}", 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 3);
    int64_t after = 0;
    assert_int_equal(ks_store_revision(&after, f->cp), 0);
    assert_int_equal(after, rev);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/events", tok,
                     "{\"type\":\"Warning\",\"reason\":\"Drift\",\"message\":\"m\"}", 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 4);
    /* Reads write nothing. */
    json_decref(call(f, "GET", "/api/v1/nodes/n1/pods", tok, NULL, 200));
    assert_int_equal(atomic_load(&f->wrote_calls), 4);
}

static void put_obj(struct fixture *f, const char *kind, const char *ns, const char *name)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", kind,
                          "metadata", "name", name, "namespace", ns, "data", "k", "dg==");
    assert_int_equal(ks_store_put(NULL, f->cp, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
}

static void node_objects(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1], other[KS_API_TOKEN_HEX + 1];
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    assert_int_equal(ks_api_tokens_node(other, f->tokens, "n2"), 0);
    put_obj(f, "ConfigMap", "apps", "conf");
    put_obj(f, "Secret", "apps", "creds");
    json_t *p = pod("apps", "p1", "n1");
    assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_MUST_NOT_EXIST), 0);
    json_decref(p);
    json_t *j = call(f, "GET", "/api/v1/nodes/n1/objects/apps/ConfigMap/conf", tok, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "ConfigMap");
    json_decref(j);
    j = call(f, "GET", "/api/v1/nodes/n1/objects/apps/Secret/creds", tok, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "k")),
                        "dg==");
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/apps/Secret/creds", f->admin, NULL, 200));
    j = call(f, "GET", "/api/v1/nodes/n1/objects/apps/Pod/p1", tok, NULL, 403);
    assert_non_null(strstr(error_of(j), "ConfigMap, Secret, Service and Endpoints"));
    json_decref(j);
    /* Services and Endpoints: one by name, and every one of a kind (all
     * namespaces) with the revision to watch from; other kinds 403. */
    put_obj(f, "Service", "apps", "db");
    put_obj(f, "Service", "shop", "web");
    put_obj(f, "Endpoints", "apps", "db");
    j = call(f, "GET", "/api/v1/nodes/n1/objects/apps/Service/db", tok, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "Service");
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/apps/Endpoints/db", tok, NULL, 200));
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    j = call(f, "GET", "/api/v1/nodes/n1/objects/Service", tok, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "revision")), rev);
    json_decref(j);
    j = call(f, "GET", "/api/v1/nodes/n1/objects/Endpoints", f->admin, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    j = call(f, "GET", "/api/v1/nodes/n1/objects/Secret", tok, NULL, 403);
    assert_non_null(strstr(error_of(j), "Service and Endpoints"));
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/Service", other, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/apps/ConfigMap/nope", tok, NULL, 404));
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/apps/ConfigMap/conf", other, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/n1/objects/apps/ConfigMap/conf", NULL, NULL, 401));
    json_decref(call(f, "POST", "/api/v1/nodes/n1/objects/apps/ConfigMap/conf", tok, "{}", 404));
}

static void node_watch_config(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1];
    int64_t rev = 0;
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    assert_int_equal(ks_store_revision(&rev, f->cp), 0);
    /* Put and delete of a ConfigMap and a Secret (any namespace) reach the
     * node's watch; a Deployment and another node's pod do not. */
    json_t *d = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
                          "metadata", "name", "web", "namespace", "apps");
    assert_int_equal(ks_store_put(NULL, f->cp, d, KS_STORE_ANY_REVISION), 0);
    json_decref(d);
    json_t *p = pod("apps", "elsewhere", "n2");
    assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
    put_obj(f, "ConfigMap", "apps", "conf");
    put_obj(f, "Secret", "kube-system", "creds");
    struct ks_store_key key = {"ConfigMap", "apps", "conf"};
    assert_int_equal(ks_store_delete(NULL, f->cp, &key, KS_STORE_ANY_REVISION), 0);
    /* Services and Endpoints of every namespace too (the service proxy). */
    put_obj(f, "Service", "shop", "db");
    put_obj(f, "Endpoints", "shop", "db");
    struct ks_store_key ekey = {"Endpoints", "shop", "db"};
    assert_int_equal(ks_store_delete(NULL, f->cp, &ekey, KS_STORE_ANY_REVISION), 0);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/nodes/n1/watch?since=%lld&timeout=0", (long long)rev);
    json_t *j = call(f, "GET", path, tok, NULL, 200);
    json_t *ch = json_object_get(j, "changes");
    assert_int_equal(json_array_size(ch), 6);
    const char *want[][3] = {{"put", "ConfigMap", "conf"},    {"put", "Secret", "creds"},
                             {"delete", "ConfigMap", "conf"}, {"put", "Service", "db"},
                             {"put", "Endpoints", "db"},      {"delete", "Endpoints", "db"}};
    for (size_t i = 0; i < 6; i++) {
        json_t *c = json_array_get(ch, i);
        assert_string_equal(json_string_value(json_object_get(c, "type")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(c, "kind")), want[i][1]);
        assert_string_equal(json_string_value(json_object_get(c, "name")), want[i][2]);
    }
    json_decref(j);
}

static void sync_by_id(void **state)
{
    struct fixture *f = *state;
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(ks_store_sync_begin(&id1, f->cp, "aaaa"), 0);
    json_t *sum = json_pack("{s:i, s:i, s:i}", "ticket", 3, "fetch_ms", 250, "duration_ms", 1500);
    assert_int_equal(ks_store_sync_finish(f->cp, id1, "applied", sum, NULL), 0);
    json_decref(sum);
    assert_int_equal(ks_store_sync_begin(&id2, f->cp, "bbbb"), 0);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/syncs/%lld", (long long)id1);
    json_t *j = call(f, "GET", path, f->admin, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), id1);
    assert_string_equal(json_string_value(json_object_get(j, "commit")), "aaaa");
    assert_string_equal(json_string_value(json_object_get(j, "result")), "applied");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "ticket")),
                     3);
    json_decref(j);
    snprintf(path, sizeof path, "/api/v1/syncs/%lld", (long long)id2);
    j = call(f, "GET", path, f->admin, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "running");
    assert_true(json_is_null(json_object_get(j, "finished")));
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/syncs/999", f->admin, NULL, 404));
    json_decref(call(f, "GET", "/api/v1/syncs/abc", f->admin, NULL, 400));
    json_decref(call(f, "GET", "/api/v1/syncs/0", f->admin, NULL, 400));
    json_decref(call(f, "GET", "/api/v1/syncs/1", NULL, NULL, 401));
}

static void metrics_from_store(void **state)
{
    struct fixture *f = *state;
    char tok[KS_API_TOKEN_HEX + 1];
    struct ks_buf m;
    double v = 0;
    int64_t id = 0;
    const char *results[] = {"applied", "failed", "applied"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ks_store_sync_begin(&id, f->cp, "c0ffee"), 0);
        json_t *sum = json_pack("{s:i, s:i}", "fetch_ms", 40 + (int)i, "duration_ms", 2500);
        assert_int_equal(ks_store_sync_finish(f->cp, id, results[i], sum, NULL), 0);
        json_decref(sum);
    }
    assert_int_equal(ks_store_sync_begin(&id, f->cp, "running"), 0);
    const char *phases[] = {"Running", "Running", "Failed", NULL};
    for (size_t i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%zu", i);
        json_t *p = pod("default", name, "n1");
        if (phases[i])
            json_object_set_new(p, "status", json_pack("{s:s}", "phase", phases[i]));
        assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_ANY_REVISION), 0);
        json_decref(p);
    }
    assert_int_equal(ks_api_tokens_node(tok, f->tokens, "n1"), 0);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/register", tok, "{}", 200));
    json_t *n2 = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
                           "Node", "metadata", "name", "n2", "status", "conditions", "type",
                           "Ready", "status", "Unknown");
    assert_int_equal(ks_store_put(NULL, f->cp, n2, KS_STORE_ANY_REVISION), 0);
    json_decref(n2);
    json_decref(call(f, "POST", "/api/v1/nodes/n1/events", tok,
                     "[{\"type\":\"Warning\",\"reason\":\"Drift\",\"message\":\"a\"},"
                     "{\"type\":\"Normal\",\"reason\":\"Started\",\"message\":\"b\"},"
                     "{\"type\":\"Warning\",\"reason\":\"Drift\",\"message\":\"c\"}]",
                     200));
    get_metrics(&m, f);
    const char *text = ks_buf_data(&m);
    struct {
        const char *series;
        double want;
    } checks[] = {
        {"keelson_sync_total{result=\"applied\"}", 2},
        {"keelson_sync_total{result=\"failed\"}", 1},
        {"keelson_sync_duration_seconds", 2.5},
        {"keelson_git_fetch_seconds", 0.042},
        {"keelson_pods{phase=\"Running\"}", 2},
        {"keelson_pods{phase=\"Failed\"}", 1},
        {"keelson_pods{phase=\"Pending\"}", 1},
        {"keelson_pods{phase=\"Succeeded\"}", 0},
        {"keelson_nodes{ready=\"true\"}", 1},
        {"keelson_nodes{ready=\"false\"}", 1},
        {"keelson_drift_events_total", 2},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (metric_value(&v, text, checks[i].series) != 0)
            fail_msg("%s missing in:\n%s", checks[i].series, text);
        if (v < checks[i].want - 1e-9 || v > checks[i].want + 1e-9)
            fail_msg("%s = %g, want %g", checks[i].series, v, checks[i].want);
    }
    assert_null(strstr(text, "result=\"running\""));
    ks_buf_release(&m);
    /* The running sync finishes, a newer one begins and the process dies
     * (never finished): the counter grows by one applied, the abandoned
     * one counts as interrupted once a later record exists. */
    assert_int_equal(ks_store_sync_finish(f->cp, id, "applied", NULL, NULL), 0);
    int64_t dead = 0;
    assert_int_equal(ks_store_sync_begin(&dead, f->cp, "dead"), 0);
    assert_int_equal(ks_store_sync_begin(&id, f->cp, "after"), 0);
    assert_int_equal(ks_store_sync_finish(f->cp, id, "failed", NULL, "boom"), 0);
    get_metrics(&m, f);
    text = ks_buf_data(&m);
    assert_int_equal(metric_value(&v, text, "keelson_sync_total{result=\"applied\"}"), 0);
    assert_true(v == 3);
    assert_int_equal(metric_value(&v, text, "keelson_sync_total{result=\"failed\"}"), 0);
    assert_true(v == 2);
    assert_int_equal(metric_value(&v, text, "keelson_sync_total{result=\"interrupted\"}"), 0);
    assert_true(v == 1);
    ks_buf_release(&m);
}

static void unix_socket(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    struct resp r;
    assert_int_equal(lstat(f->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    put_cm(f, "default", "a", "web");
    http_full(&r, NULL, f, "GET", "/api/v1/namespaces/default/objects/ConfigMap/a", f->admin, NULL,
              NULL, f->sock);
    assert_int_equal(r.code, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "metadata"), "name")), "a");
    resp_free(&r);
    http_full(&r, NULL, f, "GET", "/api/v1/objects/ConfigMap", NULL, NULL, NULL, f->sock);
    assert_int_equal(r.code, 401);
    resp_free(&r);
    http_full(&r, NULL, f, "POST", "/api/v1/sync", f->admin, NULL, NULL, f->sock);
    assert_int_equal(r.code, 202);
    resp_free(&r);
    /* A second server on the same path replaces the stale socket file of a
     * dead one but refuses to clobber a regular file; free removes it. */
    struct ks_api_server *srv2 = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/plain", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    struct ks_api_server_opts o = {.unix_socket = path};
    assert_int_equal(ks_api_server_new(&srv2, f->store, f->tokens, &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "not a socket"));
    snprintf(path, sizeof path, "%s/second.sock", f->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd); /* the file stays: a stale socket */
    o.unix_socket = path;
    assert_int_equal(ks_api_server_new(&srv2, f->store, f->tokens, &o), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    ks_api_server_free(srv2);
    assert_int_equal(lstat(path, &st), -1);
}

/* `reconcile token create` mints a node token from another process while
 * the server runs: the server reads it on that node's first request. Also
 * GET /api/v1/kinds. */
static void token_minted_elsewhere(void **state)
{
    struct fixture *f = *state;
    struct ks_api_tokens *other = NULL;
    char tok[KS_API_TOKEN_HEX + 1], wrong[KS_API_TOKEN_HEX + 1];
    assert_int_equal(ks_api_tokens_load_or_create(&other, f->dir), 0);
    assert_int_equal(ks_api_tokens_node(tok, other, "late"), 0);
    ks_api_tokens_free(other);
    memcpy(wrong, tok, sizeof wrong);
    wrong[5] = wrong[5] == '0' ? '1' : '0';
    json_decref(call(f, "GET", "/api/v1/nodes/late/pods", wrong, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/late/pods", tok, NULL, 200));
    json_decref(call(f, "GET", "/api/v1/nodes/nobody/pods", tok, NULL, 401));
    json_decref(call(f, "GET", "/api/v1/nodes/..%2Fadmin/pods", tok, NULL, 401));
    put_cm(f, "default", "a", "web");
    json_t *p = pod("default", "p", "late");
    assert_int_equal(ks_store_put(NULL, f->cp, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
    json_t *j = call(f, "GET", "/api/v1/kinds", f->admin, NULL, 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_array_get(items, 0)), "ConfigMap");
    assert_string_equal(json_string_value(json_array_get(items, 1)), "Pod");
    json_decref(j);
    json_decref(call(f, "GET", "/api/v1/kinds", tok, NULL, 401));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lifecycle),
        cmocka_unit_test_setup_teardown(tokens_files, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_required, setup, teardown),
        cmocka_unit_test_setup_teardown(body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(list_get_select, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_immediate, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_wakes_on_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(node_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(node_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_text, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(watcher_disconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_with_parked_watchers, setup, teardown),
        cmocka_unit_test_setup_teardown(keepalive_throughput, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_serving, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(dashboard_pages, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(tls_bad_key, setup_tls, teardown),
        cmocka_unit_test_setup_teardown(sync_request, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(sync_unconfigured, setup, teardown),
        cmocka_unit_test_setup_teardown(webhook_signatures, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(wrote_hook, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(node_objects, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(node_watch_config, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(sync_by_id, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(metrics_from_store, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(unix_socket, setup_hooks, teardown),
        cmocka_unit_test_setup_teardown(token_minted_elsewhere, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
