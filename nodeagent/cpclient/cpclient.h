/*
 * cpclient.h: the node agent's source over the control plane's HTTP API
 * (docs/api.md, "Nodes"): the ks_agent_source of source.h spoken with
 * the agent's own HTTP client (nodeagent/http) and a node token.
 *
 * register_node -> POST /api/v1/nodes/{node}/register; heartbeat -> POST
 * .../heartbeat (404: KS_ENOTFOUND, register again); list -> GET .../pods;
 * watch -> GET .../watch?since=N&timeout=Ms (410: KS_EGONE, relist);
 * get_object -> GET .../objects/{ns}/{kind}/{name}; list_objects -> GET
 * .../objects/{kind} (Service, Endpoints); report_status queues the pod's
 * status (see "Pod status" below); report_events -> POST .../events (in batches
 * of at most KS_CPCLIENT_EVENTS_PER_POST). 401 is KS_EINVALID "token
 * refused"; a server that cannot be reached (connection refused, DNS,
 * TLS, 5xx) is KS_EIO so the agent retries with backoff; a request that
 * runs out of time is KS_ETIMEOUT.
 *
 * Pod status: report_status only queues the status (newest wins per pod:
 * a status not sent yet is replaced) and returns at once; the source's one
 * sender thread posts the queue as batches to POST .../status (at most
 * KS_CPCLIENT_STATUS_BATCH_MAX items and CP_BATCH_MAX_BYTES of body). It
 * sends at once when idle; while a request is in flight the next batch
 * gathers. Per item: 200 done, 404 (pod gone) dropped, 403 (pod bound to
 * another node) logged and dropped, 500 sent again after a backoff (0.5 s
 * doubling to 30 s; a newer status still wins). A failed request (IO,
 * time-out, 5xx, 401) is sent again after the same backoff. A server
 * without the batch route (404 or 405 for the route itself) makes the
 * source use the per-pod route POST .../pods/{ns}/{pod}/status, one pod
 * after another from the sender, for 10 minutes before it tries the batch
 * route again. Freeing the source sends what is still queued (at most 3 s).
 *
 * Threading: watch runs on one thread (woken at once by interrupt through a
 * ks_http_cancel); register_node, heartbeat, list, get_object, list_objects,
 * report_status and report_events may run concurrently on any threads (the
 * HTTP client's small pool of keep-alive connections under a mutex).
 */
#ifndef KS_NODEAGENT_CPCLIENT_CPCLIENT_H
#define KS_NODEAGENT_CPCLIENT_CPCLIENT_H

#include "nodeagent/agent/source.h"

#include <stddef.h>

#define KS_CPCLIENT_DEFAULT_TIMEOUT_MS 10000L
#define KS_CPCLIENT_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u)
#define KS_CPCLIENT_MAX_WATCH_MS 300000L   /* the API's default max_watch_wait_s */
#define KS_CPCLIENT_EVENTS_PER_POST 256u   /* the API's per-request event limit */
#define KS_CPCLIENT_STATUS_BATCH_MAX 1000u /* the API's KS_API_STATUS_BATCH_MAX */

struct ks_cpclient_opts {
    const char *server; /* "http://127.0.0.1:7480" or https:// */
    const char *token;
    const char *node;
    const char *ca_file; /* NULL: system CAs */
    long timeout_ms;     /* per request, 0 = 10000 (watch adds its own wait) */
    size_t max_response; /* 0 = 16 MiB */
};

/* Checks the options (server scheme, node name, token characters); makes no
 * request. *out is freed with (*out)->ops->free. */
int ks_cpclient_source_new(struct ks_agent_source **out, const struct ks_cpclient_opts *opts);

/* What the status sender did so far (counts of statuses, not requests). */
struct ks_cpclient_status_stats {
    unsigned long written;   /* 200 */
    unsigned long gone;      /* 404: dropped */
    unsigned long refused;   /* 403 and other refusals: dropped */
    unsigned long retried;   /* 500 items and statuses of failed requests */
    unsigned long batches;   /* requests to the batch route */
    unsigned long per_pod;   /* requests to the per-pod route */
    unsigned long fallbacks; /* times the batch route was found missing */
};

/* Waits until no status is queued or in flight (written or dropped; a
 * status waiting for a retry still counts as queued): 0, or KS_ETIMEOUT
 * after timeout_ms. src must be a control-plane source. */
int ks_cpclient_status_flush(struct ks_agent_source *src, long timeout_ms);
/* A copy of the sender's counters. */
void ks_cpclient_status_stats(struct ks_cpclient_status_stats *out, struct ks_agent_source *src);

#endif
