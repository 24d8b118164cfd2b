/*
 * internal.h: what the HTTP client's files share: one connection (plain
 * socket or TLS) with deadline-bounded reads and writes (conn.c) and the
 * TLS layer over a dlopen'd libssl (tls.c).
 */
#ifndef KS_NODEAGENT_HTTP_INTERNAL_H
#define KS_NODEAGENT_HTTP_INTERNAL_H

#include "nodeagent/http/http.h"

#include <stdint.h>

#define KS_HTTP_READ_BUF 8192

/* Result of a wait that the caller's ks_http_cancel ended: negative like
 * the KS_E* codes but none of them, and no message is set. */
#define KS_HTTP_CANCELLED (-100)

struct ks_http_tls_ctx; /* an SSL_CTX of one client (tls.c) */

struct ks_http_conn {
    int fd;
    void *ssl; /* SSL *, NULL for plain connections */
    bool reused;
    size_t rpos, rlen;
    char rbuf[KS_HTTP_READ_BUF];
};

/* Limits of one exchange, in CLOCK_MONOTONIC milliseconds (0: none). */
struct ks_http_deadline {
    int64_t total;
    long idle_ms;
    long timeout_ms; /* for messages */
    struct ks_http_cancel *cancel;
};

int64_t ks_http_now_ms(void);

/* Connects per opts (TLS handshake included) within dl and connect_ms.
 * On failure *out_errno holds the errno when there is one. */
int ks_http_conn_open(struct ks_http_conn **out, int *out_errno, const struct ks_http_opts *opts,
                      const char *name, struct ks_http_tls_ctx *tls,
                      const struct ks_http_deadline *dl);
void ks_http_conn_close(struct ks_http_conn *c);
/* true when an idle connection still looks usable (no EOF, no stray bytes). */
bool ks_http_conn_alive(struct ks_http_conn *c);

/* Writes all of data; 0, KS_E* or KS_HTTP_CANCELLED. */
int ks_http_conn_write(struct ks_http_conn *c, int *out_errno, const char *data, size_t len,
                       const struct ks_http_deadline *dl);
/* Reads more bytes into c->rbuf (moving unread ones to the front): > 0
 * bytes added, 0 at end of stream, KS_E* or KS_HTTP_CANCELLED. */
int ks_http_conn_fill(struct ks_http_conn *c, int *out_errno, const struct ks_http_deadline *dl);

/* TLS over libssl.so.3, loaded on first use. */
int ks_http_tls_ctx_new(struct ks_http_tls_ctx **out, const char *ca_file, bool insecure);
void ks_http_tls_ctx_free(struct ks_http_tls_ctx *t);
/* Handshake on a connected non-blocking fd, with host checked against the
 * certificate (name or IP address) unless insecure. *out is an SSL *. */
int ks_http_tls_connect(void **out, struct ks_http_tls_ctx *t, int fd, const char *host,
                        const struct ks_http_deadline *dl);
void ks_http_tls_free(void *ssl);
/* SSL_read / SSL_write, waiting within dl: 0 with *out_n bytes (0 from a
 * read: end of stream), a KS_E* or KS_HTTP_CANCELLED. */
int ks_http_tls_read(size_t *out_n, void *ssl, int fd, char *buf, size_t cap,
                     const struct ks_http_deadline *dl);
int ks_http_tls_write(size_t *out_n, void *ssl, int fd, const char *buf, size_t len,
                      const struct ks_http_deadline *dl);
/* Waits until fd is ready for events within dl: 0, KS_ETIMEOUT (message
 * set) or KS_HTTP_CANCELLED. */
int ks_http_wait(int fd, short events, const struct ks_http_deadline *dl);
/* Bytes libssl holds already decrypted (so poll would not show them). */
bool ks_http_tls_pending(void *ssl);

#endif
