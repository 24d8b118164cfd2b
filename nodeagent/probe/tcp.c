/*
 * tcp.c: the tcpSocket check: a non-blocking connect to host:port bounded
 * by the probe's timeout; an established connection is success and is
 * closed at once (as the kubelet does). Messages follow Go's dialer, which
 * is what Kubernetes users read in their events.
 */
#include "nodeagent/probe/internal.h"

#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 0 connected, else an errno (ETIMEDOUT when the deadline passed). */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd, err = 0, flags;
    socklen_t len = sizeof(err);
    struct pollfd p;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        err = errno;
        goto done;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto done;
    if (errno != EINPROGRESS) {
        err = errno;
        goto done;
    }
    p.fd = fd;
    p.events = POLLOUT;
    for (;;) {
        int64_t left = deadline - ks_probe_now_ms();
        int n;

        if (left <= 0) {
            err = ETIMEDOUT;
            goto done;
        }
        n = poll(&p, 1, (int)left);
        if (n > 0)
            break;
        if (n < 0 && errno != EINTR) {
            err = errno;
            goto done;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
done:
    close(fd);
    return err;
}

int ks_probe_tcp_check(enum ks_probe_outcome *out, char *msg, size_t cap, const char *host,
                       int port, long timeout_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL,
                    *ai;
    int64_t deadline = ks_probe_now_ms() + timeout_ms;
    char service[16], ebuf[128];
    bool v6 = strchr(host, ':') != NULL;
    int gai, err = ETIMEDOUT;

    snprintf(service, sizeof(service), "%d", port);
    gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        snprintf(msg, cap, "dial tcp: lookup %s: %s", host, gai_strerror(gai));
        *out = KS_PROBE_FAILURE;
        return 0;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        err = connect_one(ai, deadline);
        if (err == 0 || err == ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (err == 0) {
        *out = KS_PROBE_SUCCESS;
        return 0;
    }
    if (err == ETIMEDOUT)
        snprintf(msg, cap, "dial tcp %s%s%s:%d: i/o timeout", v6 ? "[" : "", host, v6 ? "]" : "",
                 port);
    else {
        /* Go writes errno texts in lower case ("connection refused"). */
        char tmp[128];

        snprintf(ebuf, sizeof(ebuf), "%s", strerror_r(err, tmp, sizeof(tmp)));
        ebuf[0] = (char)tolower((unsigned char)ebuf[0]);
        snprintf(msg, cap, "dial tcp %s%s%s:%d: connect: %s", v6 ? "[" : "", host, v6 ? "]" : "",
                 port, ebuf);
    }
    *out = KS_PROBE_FAILURE;
    return 0;
}
