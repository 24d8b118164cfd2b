/*
 * internal.h: what the HTTP source's files share: the source state
 * (source.c) and one request over the agent's HTTP client
 * (nodeagent/http) with the status mapping (request.c).
 */
#ifndef KS_NODEAGENT_CPCLIENT_INTERNAL_H
#define KS_NODEAGENT_CPCLIENT_INTERNAL_H

#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/http/http.h"

#include <jansson.h>
#include <stdbool.h>

struct cp_source {
    struct ks_agent_source base;
    struct ks_cpclient_opts opts; /* strings point at the copies below */
    char *server, *token, *node, *ca_file;
    char *node_path;                 /* <server's path>/api/v1/nodes/<node> */
    char *auth;                      /* "Bearer <token>" */
    struct ks_http_client *http;     /* keep-alive pool shared by all calls */
    struct ks_http_cancel interrupt; /* fired by interrupt, taken by watch */
};

struct cp_request {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* after node_path, query included */
    const json_t *body; /* POST body or NULL */
    long timeout_ms;    /* whole request */
};

/* One request from the pool (any thread): 2xx -> *out = parsed body (new
 * reference; NULL out allowed). Other statuses and transport failures are
 * mapped to KS_E* with the server's {"error"} text. */
int cp_request(json_t **out, struct cp_source *s, const struct cp_request *req);

/* The watch request: as cp_request, but s->interrupt ends it at once:
 * then 0 with *out_aborted = true and *out untouched. */
int cp_request_watch(json_t **out, bool *out_aborted, struct cp_source *s,
                     const struct cp_request *req);

#endif
