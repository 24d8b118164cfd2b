/*
 * test_cpclient_status.c: the control-plane source's pod status queue
 * (nodeagent/cpclient/status.c). The queue's bookkeeping: newest status
 * wins per pod, also over one in flight; per-item 500 retried with a
 * doubling backoff; 404 and 403 dropped; the fallback decision and the
 * answer mappings. Then the whole source against a tiny HTTP server run by
 * a thread of this test on a loopback port: batches with per-item codes
 * (a 500 sent again), and a server without the batch route (404) that
 * makes the source post pod by pod and not try the batch again.
 */
#include "core/error.h"
#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/cpclient/internal.h"

#include "json_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- the queue --------------------------------------------------------- */

static void test_newest_wins(void **state)
{
    struct cp_stq q = {0};
    json_t *a = J("{\"phase\":\"Pending\"}"), *b = J("{\"phase\":\"Running\"}");
    json_t *c = J("{\"phase\":\"Failed\"}");
    size_t idx[4];
    (void)state;

    assert_int_equal(cp_stq_put(&q, "default", "web", a), 0);
    assert_int_equal(cp_stq_put(&q, "default", "web", b), 0);
    assert_int_equal(cp_stq_put(&q, "other", "web", a), 0);
    assert_int_equal(q.n, 2);
    assert_ptr_equal(q.v[0].pending, b);
    assert_int_equal(cp_stq_take(&q, idx, 4, 0, false), 2);
    assert_ptr_equal(q.v[0].inflight, b);
    assert_null(q.v[0].pending);
    /* nothing more to take while in flight */
    assert_int_equal(cp_stq_take(&q, idx, 4, 0, false), 0);
    /* a newer status while in flight: it is kept, the old one not re-queued */
    assert_int_equal(cp_stq_put(&q, "default", "web", c), 0);
    assert_int_equal(cp_stq_take(&q, idx, 4, 0, false), 0);
    cp_stq_result(&q, 0, CP_STQ_RETRY, 1000);
    assert_ptr_equal(q.v[0].pending, c);
    assert_null(q.v[0].inflight);
    cp_stq_result(&q, 1, CP_STQ_OK, 1000);
    cp_stq_compact(&q);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.v[0].ns, "default");
    assert_true(cp_stq_busy(&q));
    cp_stq_release(&q);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_retry_backoff(void **state)
{
    struct cp_stq q = {0};
    json_t *a = J("{\"phase\":\"Running\"}");
    size_t idx[2];
    (void)state;

    assert_int_equal(cp_stq_put(&q, "default", "web", a), 0);
    assert_int_equal(cp_stq_take(&q, idx, 2, 0, false), 1);
    cp_stq_result(&q, idx[0], CP_STQ_RETRY, 1000);
    assert_ptr_equal(q.v[0].pending, a);
    assert_int_equal(q.v[0].retry_at_ms, 1000 + CP_STQ_BACKOFF_MIN_MS);
    assert_int_equal(cp_stq_next_due(&q), 1000 + CP_STQ_BACKOFF_MIN_MS);
    /* not before its time, unless the sender flushes */
    assert_int_equal(cp_stq_take(&q, idx, 2, 1499, false), 0);
    assert_int_equal(cp_stq_take(&q, idx, 2, 1500, false), 1);
    cp_stq_result(&q, idx[0], CP_STQ_RETRY, 1500);
    assert_int_equal(q.v[0].retry_at_ms, 1500 + 2 * CP_STQ_BACKOFF_MIN_MS);
    assert_int_equal(cp_stq_take(&q, idx, 2, 1500, true), 1);
    /* doubling up to the maximum */
    for (int i = 0; i < 20; i++) {
        cp_stq_result(&q, idx[0], CP_STQ_RETRY, 0);
        assert_int_equal(cp_stq_take(&q, idx, 2, 0, true), 1);
    }
    cp_stq_result(&q, idx[0], CP_STQ_RETRY, 0);
    assert_int_equal(q.v[0].backoff_ms, CP_STQ_BACKOFF_MAX_MS);
    assert_int_equal(cp_stq_take(&q, idx, 2, CP_STQ_BACKOFF_MAX_MS, false), 1);
    cp_stq_result(&q, idx[0], CP_STQ_OK, 0);
    assert_int_equal(q.v[0].backoff_ms, 0);
    cp_stq_compact(&q);
    assert_int_equal(q.n, 0);
    assert_false(cp_stq_busy(&q));
    assert_int_equal(cp_stq_next_due(&q), -1);
    cp_stq_release(&q);
    json_decref(a);
}

static void test_gone_and_refused_dropped(void **state)
{
    struct cp_stq q = {0};
    json_t *a = J("{\"phase\":\"Running\"}"), *b = J("{\"phase\":\"Failed\"}");
    size_t idx[4];
    (void)state;

    assert_int_equal(cp_stq_put(&q, "default", "gone", a), 0);
    assert_int_equal(cp_stq_put(&q, "default", "theirs", a), 0);
    assert_int_equal(cp_stq_put(&q, "default", "again", a), 0);
    assert_int_equal(cp_stq_take(&q, idx, 4, 0, false), 3);
    /* reported again while the 404 was on its way: the newer one stays */
    assert_int_equal(cp_stq_put(&q, "default", "again", b), 0);
    cp_stq_result(&q, idx[0], CP_STQ_GONE, 0);
    cp_stq_result(&q, idx[1], CP_STQ_REFUSED, 0);
    cp_stq_result(&q, idx[2], CP_STQ_GONE, 0);
    cp_stq_compact(&q);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.v[0].name, "again");
    assert_ptr_equal(q.v[0].pending, b);
    assert_int_equal(q.v[0].retry_at_ms, 0);
    cp_stq_release(&q);
    json_decref(a);
    json_decref(b);
}

static void test_take_limit_and_untake(void **state)
{
    struct cp_stq q = {0};
    json_t *a = J("{}"), *b = J("{\"phase\":\"Running\"}");
    size_t idx[3];
    char name[16];
    (void)state;

    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(cp_stq_put(&q, "default", name, a), 0);
    }
    assert_int_equal(cp_stq_take(&q, idx, 3, 0, false), 3);
    assert_int_equal(idx[2], 2);
    assert_int_equal(cp_stq_take(&q, idx, 3, 0, false), 2);
    /* a failed request: back to pending, a newer status still wins */
    assert_int_equal(cp_stq_put(&q, "default", "p3", b), 0);
    cp_stq_untake(&q, 3);
    cp_stq_untake(&q, 4);
    assert_ptr_equal(q.v[3].pending, b);
    assert_ptr_equal(q.v[4].pending, a);
    assert_int_equal(q.v[4].retry_at_ms, 0);
    cp_stq_release(&q);
    json_decref(a);
    json_decref(b);
}

static void test_fallback_decision(void **state)
{
    json_t *err = J("{\"error\":\"not found\"}"), *reply = J("{\"items\":[]}");
    (void)state;

    assert_true(cp_batch_route_missing(404, err));
    assert_true(cp_batch_route_missing(405, NULL));
    assert_true(cp_batch_route_missing(404, NULL));
    assert_false(cp_batch_route_missing(404, reply));
    assert_false(cp_batch_route_missing(200, reply));
    assert_false(cp_batch_route_missing(500, err));
    assert_false(cp_batch_route_missing(403, err));
    assert_false(cp_batch_route_missing(0, NULL)); /* no answer: a retry */
    json_decref(err);
    json_decref(reply);
}

static void test_outcomes(void **state)
{
    json_t *ok = J("{\"code\":200,\"resourceVersion\":\"7\"}"), *gone = J("{\"code\":404}");
    json_t *theirs = J("{\"code\":403}"), *fail = J("{\"code\":500}"), *none = J("{}");
    (void)state;

    assert_int_equal(cp_batch_item_outcome(ok), CP_STQ_OK);
    assert_int_equal(cp_batch_item_outcome(gone), CP_STQ_GONE);
    assert_int_equal(cp_batch_item_outcome(theirs), CP_STQ_REFUSED);
    assert_int_equal(cp_batch_item_outcome(fail), CP_STQ_RETRY);
    assert_int_equal(cp_batch_item_outcome(none), CP_STQ_RETRY);
    assert_int_equal(cp_status_rc_outcome(0), CP_STQ_OK);
    assert_int_equal(cp_status_rc_outcome(KS_ENOTFOUND), CP_STQ_GONE);
    assert_int_equal(cp_status_rc_outcome(KS_EINVALID), CP_STQ_REFUSED);
    assert_int_equal(cp_status_rc_outcome(KS_EIO), CP_STQ_RETRY);
    assert_int_equal(cp_status_rc_outcome(KS_ETIMEOUT), CP_STQ_RETRY);
    json_decref(ok);
    json_decref(gone);
    json_decref(theirs);
    json_decref(fail);
    json_decref(none);
}

/* --- the source against a loopback server -------------------------------- */

enum mode { BATCH, NO_ROUTE };

struct server {
    int lfd, port;
    enum mode mode;
    atomic_int stop;
    pthread_t th;
    pthread_mutex_t mu;
    int batch_posts, pod_posts, fail_once; /* fail_once: pod name's first item answers 500 */
    int items_seen;
    char fail_name[32];
    json_t *written; /* {"ns/name": status} */
};

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    ssize_t w;

    while (n > 0 && (w = send(fd, s, n, MSG_NOSIGNAL)) > 0) {
        s += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int code, const char *body)
{
    char head[160];

    snprintf(head, sizeof(head),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             code, strlen(body));
    send_str(fd, head);
    send_str(fd, body);
}

/* Reads one request; the target into target, the body (malloc'd) into *body. */
static bool read_request(int fd, char *target, size_t tcap, char **body)
{
    size_t cap = 1 << 20, len = 0, want = 0;
    char *buf = malloc(cap + 1), *end = NULL;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (buf && len < cap) {
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            char *cl = strstr(buf, "Content-Length:");
            want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (end && len >= want) {
            sscanf(buf, "%*s %255s", target);
            (void)tcap;
            *body = strdup(end + 4);
            free(buf);
            return true;
        }
    }
    free(buf);
    return false;
}

static void handle(struct server *srv, int fd)
{
    char target[256] = "";
    char *body = NULL;

    if (!read_request(fd, target, sizeof(target), &body))
        return;
    json_t *doc = json_loads(body, 0, NULL);
    pthread_mutex_lock(&srv->mu);
    if (strcmp(target, "/api/v1/nodes/node-a/status") == 0) {
        srv->batch_posts++;
        if (srv->mode == NO_ROUTE) {
            reply(fd, 404, "{\"error\":\"no route\"}");
        } else {
            json_t *out = json_array(), *it;
            size_t i;
            json_array_foreach(json_object_get(doc, "items"), i, it)
            {
                const char *ns = json_string_value(json_object_get(it, "namespace"));
                const char *name = json_string_value(json_object_get(it, "name"));
                char key[128];
                srv->items_seen++;
                snprintf(key, sizeof(key), "%s/%s", ns, name);
                if (strcmp(name, "nope") == 0) {
                    json_array_append_new(out,
                                          json_pack("{s:i,s:s}", "code", 404, "error", "gone"));
                } else if (strcmp(name, "stuck") == 0) {
                    json_array_append_new(out, json_pack("{s:i,s:s}", "code", 500, "error", "db"));
                } else if (strcmp(name, "theirs") == 0) {
                    json_array_append_new(out,
                                          json_pack("{s:i,s:s}", "code", 403, "error", "bound"));
                } else if (srv->fail_once && strcmp(name, srv->fail_name) == 0) {
                    srv->fail_once = 0;
                    json_array_append_new(out, json_pack("{s:i,s:s}", "code", 500, "error", "db"));
                } else {
                    json_object_set(srv->written, key, json_object_get(it, "status"));
                    json_array_append_new(
                        out, json_pack("{s:i,s:s}", "code", 200, "resourceVersion", "1"));
                }
            }
            json_t *whole = json_pack("{s:o}", "items", out);
            char *text = json_dumps(whole, JSON_COMPACT);
            reply(fd, 200, text);
            free(text);
            json_decref(whole);
        }
    } else if (strncmp(target, "/api/v1/nodes/node-a/pods/", 26) == 0) {
        char ns[64] = "", name[64] = "";
        srv->pod_posts++;
        sscanf(target + 26, "%63[^/]/%63[^/]", ns, name);
        if (strcmp(name, "nope") == 0) {
            reply(fd, 404, "{\"error\":\"gone\"}");
        } else {
            char key[128];
            snprintf(key, sizeof(key), "%s/%s", ns, name);
            json_object_set(srv->written, key, doc);
            reply(fd, 200, "{\"kind\":\"Pod\"}");
        }
    } else {
        reply(fd, 404, "{\"error\":\"?\"}");
    }
    pthread_mutex_unlock(&srv->mu);
    json_decref(doc);
    free(body);
}

static void *server_main(void *ud)
{
    struct server *srv = ud;
    struct pollfd p = {.fd = srv->lfd, .events = POLLIN};

    while (!atomic_load(&srv->stop)) {
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        handle(srv, fd);
        close(fd);
    }
    return NULL;
}

static void server_start(struct server *srv, enum mode mode)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);

    memset(srv, 0, sizeof(*srv));
    srv->mode = mode;
    srv->written = json_object();
    pthread_mutex_init(&srv->mu, NULL);
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(srv->lfd >= 0);
    assert_int_equal(bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(srv->lfd, (struct sockaddr *)&sa, &sl), 0);
    srv->port = ntohs(sa.sin_port);
    assert_int_equal(listen(srv->lfd, 64), 0);
    assert_int_equal(pthread_create(&srv->th, NULL, server_main, srv), 0);
}

static void server_stop(struct server *srv)
{
    atomic_store(&srv->stop, 1);
    pthread_join(srv->th, NULL);
    close(srv->lfd);
    json_decref(srv->written);
    pthread_mutex_destroy(&srv->mu);
}

static struct ks_agent_source *source(const struct server *srv)
{
    char url[64];
    struct ks_agent_source *src = NULL;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv->port);
    struct ks_cpclient_opts o = {
        .server = url, .token = "t0k", .node = "node-a", .timeout_ms = 3000};
    assert_int_equal(ks_cpclient_source_new(&src, &o), 0);
    return src;
}

static void test_batches_against_server(void **state)
{
    struct server srv;
    struct ks_cpclient_status_stats st;
    json_t *run = J("{\"phase\":\"Running\"}"), *pend = J("{\"phase\":\"Pending\"}");
    char name[32];
    (void)state;

    server_start(&srv, BATCH);
    srv.fail_once = 1;
    snprintf(srv.fail_name, sizeof(srv.fail_name), "web-3");
    struct ks_agent_source *src = source(&srv);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "web-%d", i);
        assert_int_equal(src->ops->report_status(src, "default", name, pend), 0);
        assert_int_equal(src->ops->report_status(src, "default", name, run), 0);
    }
    assert_int_equal(src->ops->report_status(src, "default", "nope", run), 0);
    assert_int_equal(src->ops->report_status(src, "default", "theirs", run), 0);
    /* web-3's 500 is retried after the backoff (0.5 s) */
    assert_int_equal(ks_cpclient_status_flush(src, 5000), 0);
    ks_cpclient_status_stats(&st, src);
    pthread_mutex_lock(&srv.mu);
    assert_int_equal(json_object_size(srv.written), 40);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "default/web-%d", i);
        assert_true(json_equal(json_object_get(srv.written, name), run));
    }
    /* coalesced: at most one Pending item per pod went out (the first
     * request may have left before the Running one was queued), and fewer
     * requests than statuses */
    assert_true(srv.items_seen <= 40 + 40 + 2 + 1);
    assert_true(srv.batch_posts < 20);
    assert_int_equal(srv.pod_posts, 0);
    pthread_mutex_unlock(&srv.mu);
    assert_int_equal(st.gone, 1);
    assert_int_equal(st.refused, 1);
    assert_true(st.retried >= 1);
    assert_int_equal(st.fallbacks, 0);
    assert_int_equal(st.per_pod, 0);
    /* a status queued just before the source is freed is still sent; one
     * the server keeps answering 500 for gets one more try, not a loop of
     * them until the flush deadline (3 s) */
    assert_int_equal(src->ops->report_status(src, "default", "web-last", run), 0);
    assert_int_equal(src->ops->report_status(src, "default", "stuck", run), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    src->ops->free(src);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
    assert_true(ms < 2000);
    pthread_mutex_lock(&srv.mu);
    assert_non_null(json_object_get(srv.written, "default/web-last"));
    pthread_mutex_unlock(&srv.mu);
    server_stop(&srv);
    json_decref(run);
    json_decref(pend);
}

static void test_fallback_against_server(void **state)
{
    struct server srv;
    struct ks_cpclient_status_stats st;
    json_t *run = J("{\"phase\":\"Running\"}");
    (void)state;

    server_start(&srv, NO_ROUTE);
    struct ks_agent_source *src = source(&srv);
    assert_int_equal(src->ops->report_status(src, "default", "a", run), 0);
    assert_int_equal(src->ops->report_status(src, "default", "b", run), 0);
    assert_int_equal(src->ops->report_status(src, "default", "nope", run), 0);
    assert_int_equal(ks_cpclient_status_flush(src, 5000), 0);
    assert_int_equal(src->ops->report_status(src, "default", "c", run), 0);
    assert_int_equal(ks_cpclient_status_flush(src, 5000), 0);
    ks_cpclient_status_stats(&st, src);
    pthread_mutex_lock(&srv.mu);
    assert_int_equal(srv.batch_posts, 1); /* not tried again */
    assert_int_equal(srv.pod_posts, 4);
    assert_true(json_equal(json_object_get(srv.written, "default/a"), run));
    assert_true(json_equal(json_object_get(srv.written, "default/c"), run));
    pthread_mutex_unlock(&srv.mu);
    assert_int_equal(st.fallbacks, 1);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.gone, 1);
    src->ops->free(src);
    server_stop(&srv);
    json_decref(run);
}

static void test_server_down_retries(void **state)
{
    struct server srv;
    struct ks_cpclient_status_stats st;
    json_t *run = J("{\"phase\":\"Running\"}");
    (void)state;

    /* a port where nobody listens: the request fails, the status stays */
    server_start(&srv, BATCH);
    struct ks_agent_source *src = source(&srv);
    server_stop(&srv);
    assert_int_equal(src->ops->report_status(src, "default", "a", run), 0);
    assert_int_equal(ks_cpclient_status_flush(src, 300), KS_ETIMEOUT);
    ks_cpclient_status_stats(&st, src);
    assert_true(st.retried >= 1);
    assert_int_equal(st.written, 0);
    src->ops->free(src); /* gives up the flush at once: the server failed */
    json_decref(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_wins),
        cmocka_unit_test(test_retry_backoff),
        cmocka_unit_test(test_gone_and_refused_dropped),
        cmocka_unit_test(test_take_limit_and_untake),
        cmocka_unit_test(test_fallback_decision),
        cmocka_unit_test(test_outcomes),
        cmocka_unit_test(test_batches_against_server),
        cmocka_unit_test(test_fallback_against_server),
        cmocka_unit_test(test_server_down_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
