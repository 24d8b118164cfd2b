/*
 * internal.h: what the HTTP source's files share: the source state
 * (source.c), one request over the agent's HTTP client (nodeagent/http)
 * with the status mapping (request.c), and the pod status queue with its
 * sender thread (status.c; the queue's bookkeeping is pure and unit-tested).
 */
#ifndef KS_NODEAGENT_CPCLIENT_INTERNAL_H
#define KS_NODEAGENT_CPCLIENT_INTERNAL_H

#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/http/http.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* --- the pod status queue (status.c) --------------------------------------
 * One entry per pod with a status to send: pending is the newest status not
 * yet sent (a newer report replaces it: newest wins), inflight the one in
 * the request now. Entries are only removed by cp_stq_compact, and only the
 * sender calls it, so indices handed out by cp_stq_take stay valid until the
 * sender's own cp_stq_result calls for them are done. Not locked: the caller
 * holds the sender's mutex. */
struct cp_stq_entry {
    char *ns, *name;
    json_t *pending;     /* own ref, NULL: nothing new */
    json_t *inflight;    /* own ref, NULL: not in a request */
    int64_t retry_at_ms; /* monotonic; pending is not taken before */
    int64_t backoff_ms;  /* delay of the last per-item retry, 0: none */
};

struct cp_stq {
    struct cp_stq_entry *v;
    size_t n, cap;
};

/* Per-item outcomes of a request (the batch reply's codes, or the per-pod
 * route's answer mapped onto them). */
enum cp_stq_outcome {
    CP_STQ_OK,      /* 200: written */
    CP_STQ_GONE,    /* 404: the pod is gone, the sent status is dropped */
    CP_STQ_REFUSED, /* 403 (or another refusal): logged, dropped */
    CP_STQ_RETRY    /* 500, IO error, time-out: sent again after a backoff */
};

#define CP_STQ_BACKOFF_MIN_MS 500
#define CP_STQ_BACKOFF_MAX_MS 30000

void cp_stq_release(struct cp_stq *q);
/* Queues status (a reference is taken) as the pod's newest. */
int cp_stq_put(struct cp_stq *q, const char *ns, const char *name, json_t *status);
/* Moves up to max due pending statuses in flight (every pending one when
 * ignore_backoff): their indices into idx; returns how many. */
size_t cp_stq_take(struct cp_stq *q, size_t *idx, size_t max, int64_t now_ms, bool ignore_backoff);
/* Puts an in-flight status back as pending (unless a newer one came) with
 * no per-item backoff: the whole request failed and the sender backs off. */
void cp_stq_untake(struct cp_stq *q, size_t i);
/* Settles entry i's in-flight status. */
void cp_stq_result(struct cp_stq *q, size_t i, enum cp_stq_outcome o, int64_t now_ms);
/* Drops entries with neither a pending nor an in-flight status. */
void cp_stq_compact(struct cp_stq *q);
/* Whether anything is pending or in flight. */
bool cp_stq_busy(const struct cp_stq *q);
/* The earliest retry_at_ms of a pending status, -1 when none is pending. */
int64_t cp_stq_next_due(const struct cp_stq *q);

/* Whether the answer to the batch route says the server has no such route
 * (an older server: 404 or 405 that is not a batch reply), so the source
 * falls back to the per-pod route. */
bool cp_batch_route_missing(long http_status, const json_t *doc);
/* The outcome of one item of a batch reply ({"code": N, ...}). */
enum cp_stq_outcome cp_batch_item_outcome(const json_t *item);
/* The outcome of a per-pod status request's result (0 or KS_E*). */
enum cp_stq_outcome cp_status_rc_outcome(int rc);

#define CP_BATCH_FALLBACK_MS (10L * 60 * 1000) /* per-pod route for 10 minutes */
#define CP_BATCH_MAX_BYTES (512u * 1024u)      /* under the API's 1 MiB body limit */
#define CP_FLUSH_MS 3000L                      /* free(): time to send what is queued */

struct cp_sender {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes the sender (new status, stop) and flush waiters */
    struct cp_stq q;
    bool started, stop, sending;
    pthread_t th;
    int64_t next_send_ms;    /* after a failed request: not before */
    int64_t send_backoff_ms; /* of the last failed request */
    int64_t batch_off_until; /* monotonic: per-pod route until then */
    size_t batch_max;        /* items per request (halved on 413) */
    struct ks_cpclient_status_stats stats;
};

struct cp_source;
int cp_status(struct ks_agent_source *base, const char *ns, const char *name, const json_t *status);
int cp_sender_init(struct cp_sender *snd);
/* Stops the sender after sending what is queued (at most CP_FLUSH_MS). */
void cp_sender_release(struct cp_source *s);

struct cp_source {
    struct ks_agent_source base;
    struct ks_cpclient_opts opts; /* strings point at the copies below */
    char *server, *token, *node, *ca_file;
    char *node_path;                 /* <server's path>/api/v1/nodes/<node> */
    char *auth;                      /* "Bearer <token>" */
    struct ks_http_client *http;     /* keep-alive pool shared by all calls */
    struct ks_http_cancel interrupt; /* fired by interrupt, taken by watch */
    struct cp_sender snd;            /* the pod status queue and its thread */
};

struct cp_request {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* after node_path, query included */
    const json_t *body; /* POST body or NULL */
    long timeout_ms;    /* whole request */
    const char *text;   /* POST body already as JSON text (instead of body) */
};

/* One request from the pool (any thread): 2xx -> *out = parsed body (new
 * reference; NULL out allowed). Other statuses and transport failures are
 * mapped to KS_E* with the server's {"error"} text. */
int cp_request(json_t **out, struct cp_source *s, const struct cp_request *req);
/* As cp_request, and *out_http the answer's HTTP status (0: none came);
 * *out_doc the parsed body of any answer (NULL when not JSON). */
int cp_request_http(json_t **out_doc, long *out_http, struct cp_source *s,
                    const struct cp_request *req);

/* The watch request: as cp_request, but s->interrupt ends it at once:
 * then 0 with *out_aborted = true and *out untouched. */
int cp_request_watch(json_t **out, bool *out_aborted, struct cp_source *s,
                     const struct cp_request *req);

#endif
