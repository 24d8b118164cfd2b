/*
 * internal.h: what the podman client's files share and callers do not see:
 * the one request function every call goes through (client.c), path
 * building with escaping, and the stream demultiplexer for logs and exec.
 */
#ifndef KS_NODEAGENT_PODMAN_INTERNAL_H
#define KS_NODEAGENT_PODMAN_INTERNAL_H

#include "core/buf.h"
#include "nodeagent/podman/podman.h"

#include <stdarg.h>

/* Longest request path with its query (KS_ELIMIT past it). */
#define KS_PODMAN_MAX_PATH 8192

struct ks_podman_req {
    const char *method;        /* "GET", "POST", "DELETE" */
    const char *path;          /* after KS_PODMAN_API_PREFIX, query included */
    const json_t *body;        /* sent as JSON when not NULL */
    long timeout_ms;           /* 0: the client's default */
    size_t max_response;       /* lowers the client's cap for this call; 0: keep it */
    bool truncate_ok;          /* a body over max_response is cut, not an error */
    const char *registry_auth; /* sent as X-Registry-Auth when not NULL */
};

struct ks_podman_resp {
    long status;
    bool truncated;
    struct ks_buf body; /* caller releases */
};

/* Sends one request. HTTP statuses >= 400 (and transport failures) become
 * KS_E* errors with messages; resp->body is then released. On success the
 * caller owns resp->body. */
int ks_podman_request(struct ks_podman_resp *resp, struct ks_podman *pm,
                      const struct ks_podman_req *req);

/* Same, parsing the answer as JSON into *out (a new reference). */
int ks_podman_request_json(json_t **out, struct ks_podman *pm, const struct ks_podman_req *req);

/* Appends printf output to b where each "%s" argument is percent-encoded as
 * one path or query component (no other conversions are allowed). Refuses
 * (KS_EINVALID) empty arguments and ones longer than KS_PODMAN_MAX_NAME. */
int ks_podman_path(struct ks_buf *b, const char *fmt, ...);
int ks_podman_vpath(struct ks_buf *b, const char *fmt, va_list ap);

/* One request without a body whose answer is not needed; fmt and its
 * arguments as for ks_podman_path. */
int ks_podman_call(struct ks_podman *pm, const char *method, long timeout_ms, const char *fmt, ...);

/* GET of a JSON document; fmt as for ks_podman_path. */
int ks_podman_get_json(json_t **out, struct ks_podman *pm, const char *fmt, ...);

/* POST spec to path (a create endpoint); *out is the answer's "Id". */
int ks_podman_create(char **out, struct ks_podman *pm, const char *path, const json_t *spec);

/* GET path (ending in '?' or '&') plus a label filter; *out is an array. */
int ks_podman_list(json_t **out, struct ks_podman *pm, const char *path, const char *const *labels);

/* Appends "filters=<escaped {"label":[...]}>" to b; nothing for no labels. */
int ks_podman_label_filter(struct ks_buf *b, const char *const *labels);

/* Decodes Docker's multiplexed stream (8-byte frame headers: stream, 3 zero
 * bytes, big-endian length) into out. A body that does not start with a
 * valid header is copied as is (TTY containers send raw bytes). A last
 * frame cut short keeps the part present. */
int ks_podman_demux(struct ks_buf *out, const char *data, size_t len);

/* Copies a JSON string member of obj as a malloc'd string into *out. */
int ks_podman_take_id(char **out, const json_t *obj, const char *key, const char *what);

/* HTTP time limit for a stop with the given grace period (pods.c). */
long ks_podman_stop_budget_ms(int timeout_s);

/* The HTTP client on pm's socket (events.c streams on it). */
struct ks_http_client *ks_podman_http(struct ks_podman *pm);

/* Converts a failure of the HTTP client (nodeagent/http) for the request
 * "what" (os_errno from its response) into the message podman.h
 * documents; returns the code. */
int ks_podman_transport_error(const struct ks_podman *pm, int rc, int os_errno, const char *what,
                              long timeout_ms, size_t cap);

#endif
