/*
 * internal.h: what the HTTP source's files share: the source state
 * (source.c) and one request over libcurl with the status mapping
 * (request.c).
 */
#ifndef KS_NODEAGENT_CPCLIENT_INTERNAL_H
#define KS_NODEAGENT_CPCLIENT_INTERNAL_H

#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/curlpool/curlpool.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct cp_source {
    struct ks_agent_source base;
    struct ks_cpclient_opts opts; /* strings point at the copies below */
    char *server, *token, *node, *ca_file;
    char *node_url;          /* <server>/api/v1/nodes/<node> */
    char *auth;              /* "Authorization: Bearer <token>" */
    struct ks_curlpool pool; /* idle handles of cp_request */
    CURLM *multi;            /* watch only */
    CURL *watch_handle;      /* kept between watches for keep-alive */
    atomic_bool interrupt;   /* set by interrupt, consumed by watch */
};

struct cp_request {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* after node_url, query included */
    const json_t *body; /* POST body or NULL */
    long timeout_ms;    /* whole request */
};

/* One request from the pool (any thread): 2xx -> *out = parsed body (new
 * reference; NULL out allowed). Other statuses and transport failures are
 * mapped to KS_E* with the server's {"error"} text. */
int cp_request(json_t **out, struct cp_source *s, const struct cp_request *req);

/* The watch request on s->multi: as cp_request, but s->interrupt ends it
 * at once: then 0 with *out_aborted = true and *out untouched. */
int cp_request_watch(json_t **out, bool *out_aborted, struct cp_source *s,
                     const struct cp_request *req);

#endif
