/*
 * internal.h: what the API server's files share (not installed, not used
 * outside reconciler/api/). The server object, the per-request context the
 * router fills in (method, decoded path segments, query, who is calling),
 * reply helpers that always answer JSON and count metrics, and the entry
 * points of the endpoint groups (objects.c, nodes.c, watch.c).
 */
#ifndef KS_RECONCILER_API_INTERNAL_H
#define KS_RECONCILER_API_INTERNAL_H

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "reconciler/api/api.h"

enum api_principal { API_NOBODY = 0, API_NODE, API_ADMIN };

#define API_MAX_SEGMENTS 10
#define API_MAX_SEGMENT_BYTES 253
#define API_METRIC_CODES 64 /* distinct (method, code) pairs counted */
#define API_HIST_BUCKETS 14

struct api_watcher;
struct api_status_item;
struct api_ring;

struct api_code_count {
    int method; /* index into the method names */
    int code;
    uint64_t count;
};

struct ks_api_server {
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct event *stop_ev, *notify_ev;
    struct ks_store *store;
    struct ks_api_tokens *tokens;
    struct ks_api_server_opts opts;
    struct ssl_ctx_st *tls; /* SSL_CTX when serving HTTPS */
    unsigned port;
    int stopping;

    /* Connections seen (each registered once, with its close callback). */
    struct evhttp_connection **conns;
    size_t n_conns, cap_conns;

    struct api_watcher *watchers; /* doubly linked */
    unsigned n_watchers;
    struct api_ring *ring; /* recent changes for the watchers (ring.c), created on first use */

    /* Pod status writes waiting for their batch (nodes.c). */
    struct api_status_item *status_head, **status_tail;
    size_t n_status;
    struct event *status_ev; /* the batch window's timer */

    struct evconnlistener *unix_listener; /* opts.unix_socket, owned by http */
    char *unix_path;                      /* unlinked at free */

    /* Store-derived counters (metrics.c): sync records up to this id are
     * counted in sync_counts; drift events are counted as agents post them. */
    int64_t syncs_counted_upto;
    json_t *sync_counts; /* {"applied": n, ...} */
    uint64_t drift_events;

    struct api_code_count codes[API_METRIC_CODES];
    size_t n_codes;
    uint64_t hist[API_HIST_BUCKETS + 1]; /* last = +Inf */
    double hist_sum;
    uint64_t hist_count;
};

struct api_req {
    struct ks_api_server *srv;
    struct evhttp_request *req;
    int method; /* EVHTTP_REQ_* */
    double start;
    char *seg[API_MAX_SEGMENTS]; /* decoded path segments after /api/v1 */
    size_t nseg;
    struct evkeyvalq query;
    enum api_principal who;
};

double api_now(void);

/* Tells the control plane (hooks->wrote) that the server committed a write
 * reaching revision rev. */
void api_wrote(struct ks_api_server *srv, int64_t rev);

/* Sends body (stolen; may be NULL for no body) with code, counts metrics. */
void api_reply_json(struct ks_api_server *srv, struct evhttp_request *req, int method, double start,
                    int code, json_t *body);
/* Sends body (an evbuffer holding JSON text; the caller frees it after)
 * with code, counts metrics. For answers shared by many requests. */
void api_reply_json_buffer(struct ks_api_server *srv, struct evhttp_request *req, int method,
                           double start, int code, struct evbuffer *body);
/* {"error": message, "code": code}. */
void api_reply_error(struct api_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a KS_E* code to an HTTP status and answers with ks_error_last(). */
void api_reply_ks_error(struct api_req *r, int rc);
void api_reply(struct api_req *r, int code, json_t *body);
/* Sends len bytes of data (borrowed) as content_type with code, counts
 * metrics; HEAD gets the headers only. */
void api_reply_raw(struct api_req *r, int code, const char *content_type, const char *data,
                   size_t len);
/* The dashboard's pages through hooks->page (pages.c). */
void api_page_handle(struct api_req *r, const char *path);

/* Query parameter (decoded) or NULL. */
const char *api_query(struct api_req *r, const char *key);
/* Parses ?limit= (default def, at most max) into *out; 0 or KS_EINVALID. */
int api_query_limit(size_t *out, struct api_req *r, size_t def, size_t max);
/* Parses the request body as JSON (empty body: NULL with rc 0 when
 * optional). *out is a new reference. */
int api_read_body(json_t **out, struct api_req *r, int optional);

enum api_principal api_tokens_check(struct ks_api_tokens *tokens, const char *presented, size_t len,
                                    const char *node);

/* Endpoint groups. Each answers the request (return value ignored). */
void api_objects_handle(struct api_req *r);
void api_syncs_events_handle(struct api_req *r);
void api_kinds_handle(struct api_req *r);
void api_nodes_handle(struct api_req *r);
/* POST /api/v1/sync (admin) and POST /hooks/git (signed; hooks.c). */
void api_sync_handle(struct api_req *r);
void api_webhook_handle(struct api_req *r);
/* The store-derived metrics of contracts §6, appended to b (metrics.c). */
int api_metrics_store(struct ks_buf *b, struct ks_api_server *srv);
/* The kinds every node's watch sees (NULL-terminated): pods mount
 * ConfigMaps and Secrets, every node's service proxy serves every Service. */
extern const char *const api_node_watch_kinds[];

/* The watch ring (ring.c). fill: reads the change log once from the ring's
 * last revision (0 or KS_E*). answer: the answer to a watcher from since
 * (node NULL: admin), at most max changes: 1 with *out malloc'd (the whole
 * body, '{"revision":N,"changes":[...]}' and a newline), *out_n changes and
 * the revision to watch from next; 0 when the ring does not cover it (ask
 * the store); negative on error. out NULL: only *out_n and *out_rev. mark_own: the change at rev is
 * a pod status written by the pod's own node (left out of that node's watch). */
int api_ring_new(struct ks_api_server *srv);
int api_ring_fill(struct ks_api_server *srv);
int api_ring_answer(char **out, size_t *out_len, size_t *out_n, int64_t *out_rev,
                    struct api_ring *ring, int64_t since, const char *node, size_t max);
void api_ring_mark_own(struct ks_api_server *srv, int64_t rev);
void api_ring_free(struct api_ring *ring);

/* node: NULL = every change (admin), else that node's Pods plus every
 * ConfigMap and Secret. */
void api_watch_handle(struct api_req *r, const char *node);

/* Answers watchers whose changes are now available (loop thread only). */
void api_watch_publish(struct ks_api_server *srv);
/* Drops watchers whose request belongs to evcon (connection closing). */
void api_watch_drop_conn(struct ks_api_server *srv, struct evhttp_connection *evcon);
/* Answers every watcher with no changes (server stopping). */
void api_watch_flush(struct ks_api_server *srv);

/* Pod status batches (nodes.c): apply and answer what is queued now; drop
 * the queued requests of a closing connection; free the queue and timer. */
void api_status_flush(struct ks_api_server *srv);
void api_status_drop_conn(struct ks_api_server *srv, struct evhttp_connection *evcon);
void api_status_free(struct ks_api_server *srv);

#endif
