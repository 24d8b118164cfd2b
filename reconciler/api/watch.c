/*
 * watch.c: the long-poll watch on the store's change log.
 *
 * GET /api/v1/watch?since=REV&timeout=30s answers at once when the log has
 * changes after REV, 410 when REV was compacted away (relist), and
 * otherwise parks the request as a watcher: a timer answers it empty at
 * the timeout, and api_watch_publish (run on the loop thread after a
 * notify, or after the server's own writes) answers every watcher whose
 * changes have arrived. Answers always come from the change log itself,
 * with the revision read before the log, so a notify that arrives late or
 * not at all can delay a change but never make a client skip it.
 * A node watcher (/api/v1/nodes/N/watch) sees only the changes of Pods bound
 * to node N (puts and deletes: the store records the node of a deleted
 * object), plus every ConfigMap and Secret change, which the node's pods
 * may mount, and every Service and Endpoints change, which the node's
 * service proxy serves; not the pod statuses node N itself wrote through
 * the status routes (its agent knows them; its revision moves past them).
 * Each publish reads the change log once into the watch ring (ring.c) and
 * answers every watcher by filtering the ring; a watcher from before the
 * ring (or a node watcher whose range holds a delete of unknown node) is
 * answered by a store query as before (the store filters by node there).
 * A watcher whose client hangs up is dropped at once (see on_readable).
 * Watchers waiting from the same revision (and node) get the same answer:
 * it is built once and handed to each connection by reference, so a
 * sync of 1,000 objects seen by 1,000 watchers costs one JSON text, not
 * 1,000 copies of it.
 */
#include <errno.h>
#include <stdio.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/duration.h"
#include "core/error.h"
#include "core/str.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define WATCH_MAX_CHANGES 1000
#define WATCH_DEFAULT_MS 30000

struct api_watcher {
    struct ks_api_server *srv;
    struct evhttp_request *req;
    struct event *timer;
    struct event *eof; /* readable client socket: did the client go away? */
    int method;
    double start;
    int64_t since;
    char *node;
    struct api_watcher *prev, *next;
};

/* Changes after since (filtered for node), and the revision the client
 * should watch from next. */
static int collect(json_t **out, int64_t *out_rev, struct ks_store *store, int64_t since,
                   const char *node)
{
    json_t *changes = NULL;
    int64_t rev = 0;
    int rc;
    if ((rc = ks_store_revision(&rev, store)) != 0)
        return rc;
    /* a node's changes are filtered in the store: other nodes' pods are not
     * even parsed */
    rc = node ? ks_store_changes_for_node(&changes, store, since, WATCH_MAX_CHANGES, node,
                                          api_node_watch_kinds)
              : ks_store_changes_since(&changes, store, since, WATCH_MAX_CHANGES);
    if (rc)
        return rc;
    size_t n = json_array_size(changes);
    int64_t last =
        n ? json_integer_value(json_object_get(json_array_get(changes, n - 1), "revision")) : 0;
    /* a full answer ends at its last change; a shorter one covers everything
     * up to the revision read before the query (and whatever it returned) */
    if (n == WATCH_MAX_CHANGES || last > rev)
        rev = last;
    *out = changes;
    *out_rev = rev;
    return 0;
}

static void reply_failed(struct ks_api_server *srv, struct evhttp_request *req, int method,
                         double start, int rc)
{
    if (rc == KS_ECONFLICT)
        api_reply_json(srv, req, method, start, 410,
                       json_pack("{s:s, s:i}", "error",
                                 "revision is too old (compacted from the change log), relist",
                                 "code", 410));
    else
        api_reply_json(srv, req, method, start, 500,
                       json_pack("{s:s, s:i}", "error", ks_error_last(), "code", 500));
}

/* One serialised answer shared by the watchers of a group; freed when the
 * last connection has sent it (loop thread only: no atomics). */
struct shared_answer {
    int refs;
    size_t len;
    char *text;
};

static void shared_answer_unref(const void *data, size_t len, void *arg)
{
    struct shared_answer *a = arg;
    (void)data;
    (void)len;
    if (--a->refs == 0) {
        free(a->text);
        free(a);
    }
}

/* The answer to a watcher from since (node: NULL or its node): from the ring
 * when it covers it, else from the store. With count_only, *out is set only
 * when there are changes. *out has one reference (the caller's). */
static int answer_for(struct shared_answer **out, size_t *out_n, int64_t *out_rev,
                      struct ks_api_server *srv, int64_t since, const char *node, int count_only)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    int64_t rev = 0;
    json_t *changes = NULL, *body = NULL;
    struct shared_answer *a = NULL;
    int rc = api_ring_answer(count_only ? NULL : &text, &len, &n, &rev, srv->ring, since, node,
                             WATCH_MAX_CHANGES);
    if (rc == 1 && count_only && n > 0)
        rc = api_ring_answer(&text, &len, &n, &rev, srv->ring, since, node, WATCH_MAX_CHANGES);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if ((rc = collect(&changes, &rev, srv->store, since, node)) != 0)
            return rc;
        n = json_array_size(changes);
        body = (n || !count_only)
                   ? json_pack("{s:I, s:o}", "revision", (json_int_t)rev, "changes", changes)
                   : (json_decref(changes), NULL);
        int wanted = body != NULL;
        char *dump = wanted ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        len = dump ? strlen(dump) : 0;
        if (dump && (text = malloc(len + 2)) != NULL) {
            memcpy(text, dump, len);
            memcpy(text + len, "\n", 2);
            len++;
        }
        free(dump);
        if (wanted && !text)
            return ks_error_set(KS_ENOMEM, "watch: out of memory");
    }
    if (text && !(a = malloc(sizeof *a))) {
        free(text);
        return ks_error_set(KS_ENOMEM, "watch: out of memory");
    }
    if (a) {
        a->refs = 1;
        a->len = len;
        a->text = text;
    }
    *out = a;
    *out_n = n;
    *out_rev = rev;
    return 0;
}

static void reply_shared(struct ks_api_server *srv, struct evhttp_request *req, int method,
                         double start, struct shared_answer *a)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        api_reply_json(srv, req, method, start, 500, NULL);
        return;
    }
    a->refs++;
    if (evbuffer_add_reference(out, a->text, a->len, shared_answer_unref, a) != 0)
        a->refs--;
    api_reply_json_buffer(srv, req, method, start, 200, out);
    evbuffer_free(out);
}

static void watcher_free(struct api_watcher *w)
{
    struct ks_api_server *srv = w->srv;
    if (w->prev)
        w->prev->next = w->next;
    else
        srv->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    srv->n_watchers--;
    if (w->timer)
        event_free(w->timer);
    if (w->eof)
        event_free(w->eof);
    free(w->node);
    free(w);
}

/* Answers w from the change log (possibly empty) and frees it. */
static void watcher_answer(struct api_watcher *w)
{
    struct shared_answer *a = NULL;
    size_t n = 0;
    int64_t rev = 0;
    api_ring_fill(w->srv); /* on a store error the ring answers what it has read */
    int rc = answer_for(&a, &n, &rev, w->srv, w->since, w->node, 0);
    if (rc == 0)
        reply_shared(w->srv, w->req, w->method, w->start, a);
    else
        reply_failed(w->srv, w->req, w->method, w->start, rc);
    if (a)
        shared_answer_unref(NULL, 0, a);
    watcher_free(w);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct api_watcher *w = arg;
    (void)fd;
    (void)what;
    watcher_answer(w);
}

/* evhttp does not read from a connection while its request is being
 * answered, so it would notice a client that hung up only when the timeout
 * answers into the dead socket. The watcher peeks at the socket itself:
 * EOF or an error frees the connection (whose close callback drops the
 * watcher at once); bytes (a pipelined request) just end the peeking. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct api_watcher *w = arg;
    char c;
    (void)what;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
        if (n > 0)
            event_del(w->eof);
        return;
    }
    evhttp_connection_free(evhttp_request_get_connection(w->req));
}

static void watch_eof(struct api_watcher *w)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(w->req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return;
    if ((w->eof = event_new(w->srv->base, fd, EV_READ | EV_PERSIST, on_readable, w)) != NULL)
        event_add(w->eof, NULL);
}

static int same_node(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Watchers mostly wait from the same revision: one answer (from the ring,
 * read from the change log once) serves every watcher with the same (since,
 * node) in one publish. */
void api_watch_publish(struct ks_api_server *srv)
{
    int64_t rev = 0, c_since = -1, c_at = 0;
    char c_node_buf[API_MAX_SEGMENT_BYTES + 1]; /* w->node dies with w */
    const char *c_node = NULL;
    struct shared_answer *c_answer = NULL;
    size_t c_n = 0;
    int c_rc = 0;
    if (!srv->watchers || ks_store_revision(&rev, srv->store) != 0)
        return;
    api_ring_fill(srv); /* on a store error the ring answers what it has read */
    struct api_watcher *w = srv->watchers, *next;
    for (; w; w = next) {
        next = w->next;
        if (w->since >= rev)
            continue;
        if (c_since != w->since || !same_node(c_node, w->node)) {
            if (c_answer)
                shared_answer_unref(NULL, 0, c_answer);
            c_answer = NULL;
            c_since = w->since;
            c_node = w->node ? c_node_buf : NULL;
            if (w->node)
                snprintf(c_node_buf, sizeof c_node_buf, "%s", w->node);
            c_rc = answer_for(&c_answer, &c_n, &c_at, srv, w->since, w->node, 1);
        }
        if (c_rc == 0 && c_n == 0) {
            w->since = c_at; /* only other nodes' changes or its own status: keep waiting */
            continue;
        }
        if (c_rc == 0)
            reply_shared(srv, w->req, w->method, w->start, c_answer);
        else
            reply_failed(srv, w->req, w->method, w->start, c_rc);
        watcher_free(w);
    }
    if (c_answer)
        shared_answer_unref(NULL, 0, c_answer);
}

void api_watch_drop_conn(struct ks_api_server *srv, struct evhttp_connection *evcon)
{
    struct api_watcher *w = srv->watchers, *next;
    for (; w; w = next) {
        next = w->next;
        if (evhttp_request_get_connection(w->req) == evcon)
            watcher_free(w); /* libevent frees the request with its connection */
    }
}

void api_watch_flush(struct ks_api_server *srv)
{
    while (srv->watchers)
        watcher_answer(srv->watchers);
}

void api_watch_handle(struct api_req *r, const char *node)
{
    struct ks_api_server *srv = r->srv;
    const char *since_s = api_query(r, "since"), *timeout_s = api_query(r, "timeout");
    int64_t since = 0, wait_ms = WATCH_DEFAULT_MS, rev = 0;
    struct shared_answer *a = NULL;
    size_t n = 0;
    struct api_watcher *w = NULL;
    int rc;
    if (r->method != EVHTTP_REQ_GET) {
        api_reply_error(r, 405, "watch: only GET");
        return;
    }
    if (!since_s) {
        api_reply_error(r, 400,
                        "watch: the since parameter is required (list first, then "
                        "watch from the list's revision)");
        return;
    }
    if (ks_str_to_i64(&since, since_s, "since") != 0 || since < 0 ||
        (timeout_s && ks_duration_parse_ms(&wait_ms, timeout_s) != 0)) {
        api_reply_error(r, 400, "watch: %s", since < 0 ? "since: negative" : ks_error_last());
        return;
    }
    if (wait_ms > (int64_t)srv->opts.max_watch_wait_s * 1000) {
        api_reply_error(r, 400, "watch: timeout %s is longer than max_watch_wait_s (%us)",
                        timeout_s, srv->opts.max_watch_wait_s);
        return;
    }
    api_ring_fill(srv); /* on a store error the ring answers what it has read */
    int may_park = wait_ms != 0 && !srv->stopping; /* an empty answer is then not built */
    rc = answer_for(&a, &n, &rev, srv, since, node, may_park);
    if (rc != 0 || n > 0 || !may_park) {
        if (rc == 0)
            reply_shared(srv, r->req, r->method, r->start, a);
        else
            reply_failed(srv, r->req, r->method, r->start, rc);
        if (a)
            shared_answer_unref(NULL, 0, a);
        return;
    }
    if (srv->n_watchers >= srv->opts.max_watchers) {
        api_reply_error(r, 503, "watch: too many watchers (max_watchers %u)",
                        srv->opts.max_watchers);
        return;
    }
    if (!(w = calloc(1, sizeof *w)) || (node && !(w->node = strdup(node))) ||
        !(w->timer = evtimer_new(srv->base, on_timeout, w))) {
        if (w) {
            free(w->node);
            free(w);
        }
        api_reply_error(r, 500, "watch: out of memory");
        return;
    }
    w->srv = srv;
    w->req = r->req;
    w->method = r->method;
    w->start = r->start;
    w->since = rev > since ? rev : since;
    w->next = srv->watchers;
    if (w->next)
        w->next->prev = w;
    srv->watchers = w;
    srv->n_watchers++;
    struct timeval tv = {.tv_sec = (time_t)(wait_ms / 1000),
                         .tv_usec = (suseconds_t)((wait_ms % 1000) * 1000)};
    evtimer_add(w->timer, &tv);
    watch_eof(w);
}
