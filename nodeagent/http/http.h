/*
 * http.h: the node agent's own small HTTP/1.1 client. It replaces libcurl
 * in the agent (Podman's libpod socket, the control plane's API, httpGet
 * probes) because loading libcurl and its ~35 shared libraries cost the
 * agent about 7 MB of resident memory before main (docs/nodeagent.md,
 * "Transport and memory").
 *
 * What it does: connect over a Unix socket path or TCP host:port, optional
 * TLS (OpenSSL's libssl.so.3 is loaded with dlopen on the first https
 * connection only, tls.c), send one request (method, target, headers,
 * body with Content-Length), read the answer (status, headers, body with
 * Content-Length, chunked or until close), either collected into a capped
 * buffer or handed to a per-chunk callback (long-lived streams: Podman's
 * /events). Idle keep-alive connections are kept in a small pool per
 * client that any thread may use (a mutex guards the pool only, never an
 * exchange). A request on a reused connection that the server had closed
 * meanwhile is sent again once on a fresh connection (nothing of the
 * answer had arrived). Time limits: connect, whole exchange, and silence
 * between bytes. A ks_http_cancel ends a running exchange from another
 * thread at once.
 *
 * Errors (core/error.h), messages without the caller's context (callers
 * wrap them):
 *   KS_EIO       cannot connect ("connect to /run/x.sock: Connection
 *                refused"), the connection broke, TLS handshake or
 *                certificate verification failed, libssl not loadable
 *   KS_ETIMEOUT  connect or answer not within the limit ("no complete
 *                answer within 500 ms")
 *   KS_ELIMIT    header block over KS_HTTP_MAX_HEADER_BYTES or body over
 *                the request's max_body ("answer is over the N-byte limit")
 *   KS_EINVALID  a malformed answer or request argument
 * HTTP error statuses are not errors here: the caller reads resp->status.
 *
 * Ownership: ks_http_client_new copies every string of its options; free
 * with ks_http_client_free after every exchange on it has returned. A
 * ks_http_response is filled by ks_http_request (also on failure: status
 * 0, empty buffers, os_errno) and released with ks_http_response_release.
 */
#ifndef KS_NODEAGENT_HTTP_HTTP_H
#define KS_NODEAGENT_HTTP_HTTP_H

#include "core/buf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define KS_HTTP_MAX_HEADER_BYTES 65536 /* status line and headers of one answer */
#define KS_HTTP_MAX_HOST 253           /* host name in a URL */
#define KS_HTTP_DEFAULT_CONNECT_MS 5000L
#define KS_HTTP_DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define KS_HTTP_POOL_SIZE 4 /* idle keep-alive connections kept per client */

struct ks_http_client;

struct ks_http_opts {
    const char *unix_path; /* Unix socket path; NULL: TCP to host:port */
    const char *host;      /* name or address literal (IPv6 without brackets) */
    int port;              /* 1..65535 */
    bool tls;              /* https (TCP only) */
    const char *ca_file;   /* PEM bundle to verify the server with; NULL: system CAs */
    bool insecure;         /* TLS without any verification (httpGet probes, as the kubelet) */
    long connect_ms;       /* 0: KS_HTTP_DEFAULT_CONNECT_MS */
};

/* Checks and copies opts; connects nothing yet. */
int ks_http_client_new(struct ks_http_client **out, const struct ks_http_opts *opts);
/* Closes the idle connections. NULL-safe. */
void ks_http_client_free(struct ks_http_client *c);
/* The socket path, or "host:port" (IPv6 in brackets); borrowed. */
const char *ks_http_client_name(const struct ks_http_client *c);

/* Wakes a running exchange from any thread. fire() is sticky until take(). */
struct ks_http_cancel {
    atomic_bool fired;
    int fd; /* eventfd polled next to the socket */
};
int ks_http_cancel_init(struct ks_http_cancel *cc);
void ks_http_cancel_release(struct ks_http_cancel *cc);
void ks_http_cancel_fire(struct ks_http_cancel *cc);
/* true when fired since the last take; clears it. */
bool ks_http_cancel_take(struct ks_http_cancel *cc);

struct ks_http_header {
    const char *name;
    const char *value; /* may be "" */
};

/* Stream callback: a piece of a 2xx answer's body (after de-chunking) as it
 * arrives. 0 continues; non-zero ends the exchange (the connection is
 * closed): a negative value is returned by ks_http_request, a positive one
 * makes it return 0 with resp->stopped set. */
typedef int (*ks_http_data_fn)(const char *data, size_t len, void *ud);

struct ks_http_request {
    const char *method; /* "GET", "POST", "DELETE", ... */
    const char *target; /* "/path?query" as sent */
    const char *host;   /* Host header; NULL: the client's host[:port] ("d" on a Unix socket) */
    const struct ks_http_header *headers;
    size_t n_headers;
    const char *body; /* sent with Content-Length; NULL and POST/PUT: empty body */
    size_t body_len;
    long timeout_ms;         /* whole exchange including connect; 0: none */
    long idle_ms;            /* longest silence while waiting for the answer; 0: none */
    size_t max_body;         /* cap on the collected body (stream mode: on a non-2xx
                                answer's body); 0: KS_HTTP_DEFAULT_MAX_BODY */
    bool truncate_ok;        /* over max_body: keep the prefix, set resp->truncated */
    bool close;              /* "Connection: close", never pooled */
    ks_http_data_fn on_data; /* stream mode for 2xx answers; NULL: collect */
    void *ud;
    struct ks_http_cancel *cancel; /* NULL: not cancellable */
};

struct ks_http_response {
    int status;
    bool truncated;        /* truncate_ok and the body was cut */
    bool stopped;          /* the stream callback asked to stop */
    bool cancelled;        /* req->cancel fired: no answer, returns 0 */
    int os_errno;          /* errno of a failed connect/read/write, else 0 */
    struct ks_buf headers; /* header lines after the status line, "\r\n" separated */
    struct ks_buf body;
};

/* One exchange (see the top of this file). resp is always initialised. */
int ks_http_request(struct ks_http_response *resp, struct ks_http_client *c,
                    const struct ks_http_request *req);
void ks_http_response_release(struct ks_http_response *resp);

/* Copy of the first header named name (case-insensitive), NULL if absent
 * or out of memory; free() it. */
char *ks_http_response_header(const struct ks_http_response *resp, const char *name);

/* A parsed http:// or https:// URL. */
struct ks_http_url {
    bool tls;
    char *host;   /* without IPv6 brackets */
    int port;     /* default 80 / 443 */
    char *target; /* "/..." with query; "/" when empty; fragment dropped */
};
int ks_http_url_parse(struct ks_http_url *out, const char *url);
void ks_http_url_release(struct ks_http_url *u);

/* Appends s percent-encoded as one path or query component (everything
 * but RFC 3986 unreserved characters is escaped). */
int ks_http_escape(struct ks_buf *b, const char *s);

#endif
