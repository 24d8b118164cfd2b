/*
 * tls.c: TLS for the HTTP client over OpenSSL 3's libssl, loaded with
 * dlopen("libssl.so.3") on the first https connection and reached through a
 * small table of function pointers. A node agent that talks to Podman over
 * its Unix socket and to an http:// control plane never maps libssl or
 * libcrypto at all; linking them (even without initialising) cost the agent
 * about 1.5 MB of resident memory, and initialising OpenSSL about 2.4 MB more
 * (docs/nodeagent.md, "Transport and memory"). The headers are used for
 * types and constants only; every call goes through `ssl.`.
 *
 * Verification: the peer chain against the CA file (or OpenSSL's default
 * paths), then the certificate against the host: X509_check_ip_asc for an
 * address literal, X509_check_host for a name (which also goes out as SNI).
 * insecure skips both (httpGet probes, as the kubelet does).
 */
#include "nodeagent/http/internal.h"

#include "core/error.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_TLS_LIB "libssl.so.3"

/* Every OpenSSL function the client uses. */
#define KS_TLS_FUNCS(X)                                                                            \
    X(TLS_client_method)                                                                           \
    X(SSL_CTX_new)                                                                                 \
    X(SSL_CTX_free)                                                                                \
    X(SSL_CTX_ctrl)                                                                                \
    X(SSL_CTX_set_options)                                                                         \
    X(SSL_CTX_set_verify)                                                                          \
    X(SSL_CTX_load_verify_locations)                                                               \
    X(SSL_CTX_set_default_verify_paths)                                                            \
    X(SSL_new)                                                                                     \
    X(SSL_free)                                                                                    \
    X(SSL_set_fd)                                                                                  \
    X(SSL_ctrl)                                                                                    \
    X(SSL_connect)                                                                                 \
    X(SSL_read)                                                                                    \
    X(SSL_write)                                                                                   \
    X(SSL_get_error)                                                                               \
    X(SSL_pending)                                                                                 \
    X(SSL_get_verify_result)                                                                       \
    X(SSL_get1_peer_certificate)                                                                   \
    X(X509_free)                                                                                   \
    X(X509_check_host)                                                                             \
    X(X509_check_ip_asc)                                                                           \
    X(X509_verify_cert_error_string)                                                               \
    X(ERR_get_error)                                                                               \
    X(ERR_error_string_n)                                                                          \
    X(ERR_clear_error)

#define KS_TLS_DECL(f) __typeof__(f) *f;
static struct {
    KS_TLS_FUNCS(KS_TLS_DECL)
} ssl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
    void *lib = dlopen(KS_TLS_LIB, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;

    if (!lib) {
        snprintf(load_error, sizeof(load_error), "%s", dlerror());
        return;
    }
#define KS_TLS_LOAD(f)                                                                             \
    if (!missing && !(*(void **)&ssl.f = dlsym(lib, #f)))                                          \
        missing = #f;
    KS_TLS_FUNCS(KS_TLS_LOAD)
#undef KS_TLS_LOAD
    if (missing) {
        snprintf(load_error, sizeof(load_error), "%s has no %s", KS_TLS_LIB, missing);
        memset(&ssl, 0, sizeof(ssl));
    }
    /* the library stays loaded for the life of the process */
}

struct ks_http_tls_ctx {
    SSL_CTX *ctx;
    bool insecure;
};

/* The first queued OpenSSL error as text, or fallback. */
static const char *err_text(char *buf, size_t cap, const char *fallback)
{
    unsigned long e = ssl.ERR_get_error();

    if (!e)
        return fallback;
    ssl.ERR_error_string_n(e, buf, cap);
    return buf;
}

int ks_http_tls_ctx_new(struct ks_http_tls_ctx **out, const char *ca_file, bool insecure)
{
    struct ks_http_tls_ctx *t = NULL;
    char ebuf[256];
    int rc = 0;

    pthread_once(&load_once, load);
    if (!ssl.SSL_new)
        return ks_error_set(KS_EIO, "TLS is not available: %s", load_error);
    if (!(t = calloc(1, sizeof(*t)))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    t->insecure = insecure;
    ssl.ERR_clear_error();
    if (!(t->ctx = ssl.SSL_CTX_new(ssl.TLS_client_method())) ||
        ssl.SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL) != 1) {
        rc = ks_error_set(KS_EIO, "TLS set-up: %s", err_text(ebuf, sizeof(ebuf), "failed"));
        goto done;
    }
    /* a server closing without close_notify ends a body read to the end */
    ssl.SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (insecure) {
        ssl.SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        ssl.SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        if (ca_file ? ssl.SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1
                    : ssl.SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
            rc = ks_error_set(KS_EINVALID, "CA certificates %s: %s",
                              ca_file ? ca_file : "(system default)",
                              err_text(ebuf, sizeof(ebuf), "cannot be loaded"));
            goto done;
        }
    }
    *out = t;
    t = NULL;
done:
    ks_http_tls_ctx_free(t);
    return rc;
}

void ks_http_tls_ctx_free(struct ks_http_tls_ctx *t)
{
    if (!t)
        return;
    if (t->ctx)
        ssl.SSL_CTX_free(t->ctx);
    free(t);
}

/* libssl writes to the socket with write(): a peer that has gone would
 * raise SIGPIPE in a process that does not ignore it (the agent does;
 * library users may not). SIGPIPE is blocked around SSL_connect and
 * SSL_write and one it raised is consumed, as libcurl does. */
struct nopipe {
    sigset_t old;
    bool was_pending;
};

static void nopipe_begin(struct nopipe *np)
{
    sigset_t set, pending;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    np->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &np->old);
}

static void nopipe_end(const struct nopipe *np)
{
    sigset_t set, pending;
    struct timespec zero = {0, 0};

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    if (!np->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
        sigtimedwait(&set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

/* After an SSL_* call returned r <= 0: wait and retry (0), or fail. */
static int after(SSL *s, int fd, int r, const char *what, const struct ks_http_deadline *dl)
{
    char ebuf[256];
    int e = ssl.SSL_get_error(s, r);

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return ks_http_wait(fd, POLLIN, dl);
    case SSL_ERROR_WANT_WRITE:
        return ks_http_wait(fd, POLLOUT, dl);
    case SSL_ERROR_SYSCALL:
        if (errno)
            return ks_error_set(KS_EIO, "%s: %s", what, strerror(errno));
        return ks_error_set(KS_EIO, "%s: %s", what,
                            err_text(ebuf, sizeof(ebuf), "connection closed"));
    default:
        return ks_error_set(KS_EIO, "%s: %s", what, err_text(ebuf, sizeof(ebuf), "TLS error"));
    }
}

static bool is_address(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static int check_peer(SSL *s, const char *host)
{
    X509 *cert = ssl.SSL_get1_peer_certificate(s);
    int ok;

    if (!cert)
        return ks_error_set(KS_EIO, "the server sent no certificate");
    ok = is_address(host) ? ssl.X509_check_ip_asc(cert, host, 0)
                          : ssl.X509_check_host(cert, host, strlen(host), 0, NULL);
    ssl.X509_free(cert);
    if (ok != 1)
        return ks_error_set(KS_EIO, "the server's certificate is not valid for '%s'", host);
    return 0;
}

int ks_http_tls_connect(void **out, struct ks_http_tls_ctx *t, int fd, const char *host,
                        const struct ks_http_deadline *dl)
{
    SSL *s = NULL;
    struct nopipe np;
    long vr;
    int r, rc = 0;

    ssl.ERR_clear_error();
    if (!(s = ssl.SSL_new(t->ctx)) || ssl.SSL_set_fd(s, fd) != 1) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (!is_address(host))
        ssl.SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)host);
    for (;;) {
        errno = 0;
        ssl.ERR_clear_error();
        nopipe_begin(&np);
        r = ssl.SSL_connect(s);
        nopipe_end(&np);
        if (r == 1)
            break;
        vr = ssl.SSL_get_verify_result(s);
        if (!t->insecure && vr != X509_V_OK) {
            rc = ks_error_set(KS_EIO, "certificate verify failed: %s",
                              ssl.X509_verify_cert_error_string(vr));
            goto done;
        }
        if ((rc = after(s, fd, r, "handshake", dl)) != 0)
            goto done;
    }
    if (!t->insecure && (rc = check_peer(s, host)) < 0)
        goto done;
    *out = s;
    s = NULL;
done:
    if (s)
        ssl.SSL_free(s);
    return rc;
}

void ks_http_tls_free(void *s)
{
    ssl.SSL_free(s);
}

bool ks_http_tls_pending(void *s)
{
    return ssl.SSL_pending(s) > 0;
}

int ks_http_tls_read(size_t *out_n, void *s, int fd, char *buf, size_t cap,
                     const struct ks_http_deadline *dl)
{
    int r, rc;

    if (cap > 1u << 30)
        cap = 1u << 30;
    for (;;) {
        errno = 0;
        ssl.ERR_clear_error();
        r = ssl.SSL_read(s, buf, (int)cap);
        if (r > 0) {
            *out_n = (size_t)r;
            return 0;
        }
        if (ssl.SSL_get_error(s, r) == SSL_ERROR_ZERO_RETURN) {
            *out_n = 0;
            return 0;
        }
        if ((rc = after(s, fd, r, "TLS read", dl)) != 0)
            return rc;
    }
}

int ks_http_tls_write(size_t *out_n, void *s, int fd, const char *buf, size_t len,
                      const struct ks_http_deadline *dl)
{
    struct nopipe np;
    int r, rc;

    if (len > 1u << 30)
        len = 1u << 30;
    for (;;) {
        errno = 0;
        ssl.ERR_clear_error();
        nopipe_begin(&np);
        r = ssl.SSL_write(s, buf, (int)len);
        nopipe_end(&np);
        if (r > 0) {
            *out_n = (size_t)r;
            return 0;
        }
        if ((rc = after(s, fd, r, "TLS write", dl)) != 0)
            return rc;
    }
}
