/*
 * conn.c: one connection of the HTTP client: a non-blocking socket (Unix
 * path or TCP host:port, TLS on top through tls.c) and reads and writes
 * that wait with poll() so that every wait honours the exchange's
 * deadline, its idle limit and its ks_http_cancel.
 */
#include "nodeagent/http/internal.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t ks_http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_http_wait(int fd, short events, const struct ks_http_deadline *dl)
{
    struct pollfd p[2];
    int64_t now;
    nfds_t n;
    int tmo, rc;
    bool idle_first;
    uint64_t drain;

    for (;;) {
        if (dl->cancel && atomic_load(&dl->cancel->fired))
            return KS_HTTP_CANCELLED;
        now = ks_http_now_ms();
        tmo = -1;
        idle_first = false;
        if (dl->total) {
            if (now >= dl->total)
                return ks_error_set(KS_ETIMEOUT, "no complete answer within %ld ms",
                                    dl->timeout_ms);
            tmo = (int)(dl->total - now);
        }
        if (dl->idle_ms > 0 && (tmo < 0 || dl->idle_ms < tmo)) {
            tmo = (int)dl->idle_ms;
            idle_first = true;
        }
        p[0] = (struct pollfd){.fd = fd, .events = events};
        n = 1;
        if (dl->cancel) {
            p[1] = (struct pollfd){.fd = dl->cancel->fd, .events = POLLIN};
            n = 2;
        }
        rc = poll(p, n, tmo);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return ks_error_set(KS_EIO, "poll: %s", strerror(errno));
        }
        if (rc == 0) {
            if (idle_first)
                return ks_error_set(KS_ETIMEOUT, "no data for %ld ms", dl->idle_ms);
            continue; /* the loop reports the total deadline */
        }
        if (n == 2 && p[1].revents) {
            if (atomic_load(&dl->cancel->fired))
                return KS_HTTP_CANCELLED;
            /* a fire already taken: drain its wake-up */
            if (read(dl->cancel->fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
                return ks_error_set(KS_EIO, "eventfd: %s", strerror(errno));
        }
        if (p[0].revents)
            return 0;
    }
}

/* Non-blocking connect of fd to addr within dl. */
static int connect_fd(int *out_errno, int fd, const struct sockaddr *addr, socklen_t len,
                      const struct ks_http_deadline *dl)
{
    int err = 0, rc;
    socklen_t elen = sizeof(err);

    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EAGAIN) {
        *out_errno = errno;
        return KS_EIO;
    }
    if ((rc = ks_http_wait(fd, POLLOUT, dl)) != 0)
        return rc;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err) {
        *out_errno = err;
        return KS_EIO;
    }
    return 0;
}

static int new_socket(int domain)
{
    return socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static int open_unix(int *out_fd, int *out_errno, const char *path,
                     const struct ks_http_deadline *dl)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd, rc;

    if (strlen(path) >= sizeof(a.sun_path))
        return ks_error_set(KS_ELIMIT, "socket path '%s' is over the %zu-byte limit", path,
                            sizeof(a.sun_path) - 1);
    memcpy(a.sun_path, path, strlen(path) + 1);
    if ((fd = new_socket(AF_UNIX)) < 0) {
        *out_errno = errno;
        return KS_EIO;
    }
    rc = connect_fd(out_errno, fd, (struct sockaddr *)&a, sizeof(a), dl);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

static int open_tcp(int *out_fd, int *out_errno, const char *host, int port,
                    const struct ks_http_deadline *dl)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    char service[16];
    int fd = -1, rc = KS_EIO, one = 1, grc;

    snprintf(service, sizeof(service), "%d", port);
    grc = getaddrinfo(host, service, &hints, &res);
    if (grc != 0)
        return ks_error_set(KS_EIO, "cannot resolve host '%s': %s", host,
                            grc == EAI_SYSTEM ? strerror(errno) : gai_strerror(grc));
    for (ai = res; ai; ai = ai->ai_next) {
        if ((fd = new_socket(ai->ai_family)) < 0) {
            *out_errno = errno;
            rc = KS_EIO;
            continue;
        }
        rc = connect_fd(out_errno, fd, ai->ai_addr, ai->ai_addrlen, dl);
        if (rc == 0)
            break;
        close(fd);
        fd = -1;
        if (rc != KS_EIO)
            break; /* timeout or cancel: no time for the next address */
    }
    freeaddrinfo(res);
    if (rc != 0)
        return rc;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    *out_fd = fd;
    return 0;
}

int ks_http_conn_open(struct ks_http_conn **out, int *out_errno, const struct ks_http_opts *opts,
                      const char *name, struct ks_http_tls_ctx *tls,
                      const struct ks_http_deadline *dl)
{
    struct ks_http_deadline cdl = *dl;
    struct ks_http_conn *c = NULL;
    int64_t climit = ks_http_now_ms() + opts->connect_ms;
    char ebuf[128];
    int fd = -1, rc;

    *out_errno = 0;
    /* the connect limit, unless the whole exchange ends earlier */
    if (!cdl.total || climit < cdl.total) {
        cdl.total = climit;
        cdl.timeout_ms = opts->connect_ms;
    }
    cdl.idle_ms = 0;
    if (opts->unix_path)
        rc = open_unix(&fd, out_errno, opts->unix_path, &cdl);
    else
        rc = open_tcp(&fd, out_errno, opts->host, opts->port, &cdl);
    if (rc == KS_ETIMEOUT) {
        rc = ks_error_set(KS_ETIMEOUT, "connect to %s: no connection within %ld ms", name,
                          cdl.timeout_ms);
        goto done;
    }
    if (rc == KS_EIO && *out_errno) {
        rc = ks_error_set(KS_EIO, "connect to %s: %s", name,
                          strerror_r(*out_errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    if (rc != 0)
        goto done;
    if (!(c = calloc(1, sizeof(*c)))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    c->fd = fd;
    fd = -1;
    if (tls && (rc = ks_http_tls_connect(&c->ssl, tls, c->fd, opts->host, &cdl)) != 0) {
        if (rc == KS_ETIMEOUT)
            rc = ks_error_set(KS_ETIMEOUT, "TLS handshake with %s: not done within %ld ms", name,
                              cdl.timeout_ms);
        else if (rc != KS_HTTP_CANCELLED)
            rc = ks_error_wrap(rc, "TLS handshake with %s", name);
        goto done;
    }
    *out = c;
    c = NULL;
done:
    if (fd >= 0)
        close(fd);
    ks_http_conn_close(c);
    return rc;
}

void ks_http_conn_close(struct ks_http_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        ks_http_tls_free(c->ssl);
    close(c->fd);
    free(c);
}

bool ks_http_conn_alive(struct ks_http_conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};

    if (c->rpos != c->rlen || (c->ssl && ks_http_tls_pending(c->ssl)))
        return false;
    /* readable while idle means EOF or bytes nobody asked for */
    return poll(&p, 1, 0) == 0;
}

int ks_http_conn_write(struct ks_http_conn *c, int *out_errno, const char *data, size_t len,
                       const struct ks_http_deadline *dl)
{
    ssize_t n;
    int rc;

    while (len > 0) {
        if (c->ssl) {
            size_t done;
            if ((rc = ks_http_tls_write(&done, c->ssl, c->fd, data, len, dl)) != 0)
                return rc;
            n = (ssize_t)done;
        } else {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if ((rc = ks_http_wait(c->fd, POLLOUT, dl)) != 0)
                        return rc;
                    continue;
                }
                *out_errno = errno;
                return ks_error_set(KS_EIO, "send: %s", strerror(errno));
            }
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int ks_http_conn_fill(struct ks_http_conn *c, int *out_errno, const struct ks_http_deadline *dl)
{
    ssize_t n;
    int rc;

    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen == sizeof(c->rbuf))
        return ks_error_set(KS_EINVALID, "read buffer full");
    for (;;) {
        if (c->ssl) {
            size_t got = 0;
            rc = ks_http_tls_read(&got, c->ssl, c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen,
                                  dl);
            if (rc != 0)
                return rc;
            c->rlen += got;
            return (int)got;
        }
        n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
        if (n >= 0) {
            c->rlen += (size_t)n;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *out_errno = errno;
            return ks_error_set(KS_EIO, "recv: %s", strerror(errno));
        }
        if ((rc = ks_http_wait(c->fd, POLLIN, dl)) != 0)
            return rc;
    }
}
