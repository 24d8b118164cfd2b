/*
 * cpclient.h: the node agent's source over the control plane's HTTP API
 * (docs/api.md, "Nodes"): the ks_agent_source of source.h spoken with
 * the agent's own HTTP client (nodeagent/http) and a node token.
 *
 * register_node -> POST /api/v1/nodes/{node}/register; heartbeat -> POST
 * .../heartbeat (404: KS_ENOTFOUND, register again); list -> GET .../pods;
 * watch -> GET .../watch?since=N&timeout=Ms (410: KS_EGONE, relist);
 * get_object -> GET .../objects/{ns}/{kind}/{name}; list_objects -> GET
 * .../objects/{kind} (Service, Endpoints); report_status -> POST
 * .../pods/{ns}/{pod}/status; report_events -> POST .../events (in batches
 * of at most KS_CPCLIENT_EVENTS_PER_POST). 401 is KS_EINVALID "token
 * refused"; a server that cannot be reached (connection refused, DNS,
 * TLS, 5xx) is KS_EIO so the agent retries with backoff; a request that
 * runs out of time is KS_ETIMEOUT.
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
#define KS_CPCLIENT_MAX_WATCH_MS 300000L /* the API's default max_watch_wait_s */
#define KS_CPCLIENT_EVENTS_PER_POST 256u /* the API's per-request event limit */

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

#endif
