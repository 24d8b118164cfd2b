/*
 * test_services_proxy.c: the service proxy's data path (nodeagent/
 * services/proxy.c) on real loopback sockets: round-robin between two
 * backends, a half-close passed on in both directions, a backend removed
 * from the Endpoints getting no new connection, a refusing backend
 * replaced by the next one, a client reset when no endpoint is ready, the
 * connection limit, and 4 MiB relayed through 4 KiB buffers.
 */
#include "core/error.h"
#include "nodeagent/services/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &l), 0);
    return ntohs(sa.sin_port);
}

static int dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Accepts on a (non-blocking) listener within 5 s; -1 when nobody came. */
static int take(int lfd, int ms)
{
    struct pollfd pf = {.fd = lfd, .events = POLLIN};
    if (poll(&pf, 1, ms) != 1)
        return -1;
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0) { /* accept() does not pass O_NONBLOCK on */
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

/* Reads until EOF (at most cap-1 bytes); the text. */
static char *slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return buf;
}

static void set_eps(struct ks_svc_table *t, int pa, int pb)
{
    json_t *o = json_pack("{s:{s:s, s:s}, s:[]}", "metadata", "namespace", "default", "name", "web",
                          "subsets");
    json_t *ss = json_object_get(o, "subsets");
    int ports[2] = {pa, pb};
    for (int i = 0; i < 2; i++)
        if (ports[i])
            json_array_append_new(ss, json_pack("{s:[{s:s}], s:[{s:s, s:i}]}", "addresses", "ip",
                                                "127.0.0.1", "ports", "name", "http", "port",
                                                ports[i]));
    pthread_mutex_lock(&mu);
    assert_int_equal(ks_svc_table_put(t, 0, "Endpoints", o), 0);
    pthread_mutex_unlock(&mu);
    json_decref(o);
}

/* One request through the proxy answered by whichever backend gets it:
 * returns which (0: a, 1: b, -1: none). */
static int roundtrip(int front, int a, int b)
{
    int c = dial(front);
    assert_int_equal(write(c, "ping", 4), 4);
    shutdown(c, SHUT_WR); /* half-close: the backend must see EOF */
    int lf[2] = {a, b}, who = -1, s = -1;
    for (int tries = 0; tries < 50 && s < 0; tries++)
        for (int i = 0; i < 2 && s < 0; i++)
            if (lf[i] >= 0 && (s = take(lf[i], 50)) >= 0)
                who = i;
    if (s < 0) {
        close(c);
        return -1;
    }
    char buf[64];
    assert_string_equal(slurp(s, buf, sizeof(buf)), "ping");
    /* the other direction still works after the client's half-close */
    const char *answer = who == 0 ? "from-a" : "from-b";
    assert_int_equal(write(s, answer, strlen(answer)), (ssize_t)strlen(answer));
    close(s);
    assert_string_equal(slurp(c, buf, sizeof(buf)), answer);
    close(c);
    return who;
}

static void test_proxy(void **state)
{
    (void)state;
    struct ks_svc_table *t;
    struct ks_svc_proxy *p;
    assert_int_equal(ks_svc_table_new(&t), 0);
    json_error_t e;
    json_t *svc = json_loads("{\"metadata\": {\"name\": \"web\"}, \"spec\": {\"type\": "
                             "\"NodePort\", \"clusterIP\": \"10.96.0.20\", \"ports\": [{\"name\": "
                             "\"http\", \"port\": 80, \"nodePort\": 30080}]}}",
                             0, &e);
    assert_int_equal(ks_svc_table_put(t, 0, "Service", svc), 0);
    json_decref(svc);
    int a = ks_svc_listen_socket("127.0.0.1", 0), b = ks_svc_listen_socket("127.0.0.1", 0);
    int dead = ks_svc_listen_socket("127.0.0.1", 0);
    int dead_port = port_of(dead);
    close(dead); /* connections to it are refused */
    set_eps(t, port_of(a), port_of(b));
    struct ks_svc_proxy_opts o = {.table = t,
                                  .mu = &mu,
                                  .node = "n1",
                                  .all_nodes = true, /* endpoints on n1 and n2 */
                                  .max_conns = 2,
                                  .buf_bytes = 4096,
                                  .connect_timeout_ms = 1000,
                                  .attempts = 3};
    assert_int_equal(ks_svc_proxy_new(&p, &o), 0);
    int front = ks_svc_listen_socket("127.0.0.1", 0), fport = port_of(front);
    assert_int_equal(ks_svc_proxy_add(p, 1, front, "default/web", 30080, true), 0);

    /* round-robin */
    int first = roundtrip(fport, a, b);
    assert_true(first == 0 || first == 1);
    assert_int_equal(roundtrip(fport, a, b), 1 - first);
    assert_int_equal(roundtrip(fport, a, b), first);

    /* a leaves the endpoints: only b from now on */
    set_eps(t, 0, port_of(b));
    for (int i = 0; i < 3; i++)
        assert_int_equal(roundtrip(fport, a, b), 1);

    /* a refusing backend is replaced by the next one */
    set_eps(t, dead_port, port_of(b));
    for (int i = 0; i < 3; i++)
        assert_int_equal(roundtrip(fport, -1, b), 1);
    struct ks_svc_proxy_stats st;
    ks_svc_proxy_stats(p, &st);
    assert_true(st.failed_connects >= 1);

    /* no ready endpoint: the client is reset, nothing is accepted */
    set_eps(t, 0, 0);
    int c = dial(fport);
    char buf[64];
    ssize_t r = read(c, buf, sizeof(buf));
    assert_true(r <= 0);
    close(c);

    /* 4 MiB each way through 4 KiB buffers, in one connection */
    set_eps(t, 0, port_of(b));
    c = dial(fport);
    int s = take(b, 5000);
    assert_true(s >= 0);
    size_t total = 4u << 20, sent = 0, got = 0, echoed = 0, back = 0;
    char *out = malloc(total);
    for (size_t i = 0; i < total; i++)
        out[i] = (char)(i * 7);
    char chunk[65536];
    bool ok = true;
    while (back < total && ok) {
        struct pollfd pf[2] = {{.fd = c, .events = (short)(POLLIN | (sent < total ? POLLOUT : 0))},
                               {.fd = s, .events = (short)(POLLIN | (echoed < got ? POLLOUT : 0))}};
        ok = poll(pf, 2, 5000) > 0;
        if (pf[0].revents & POLLOUT) {
            ssize_t n =
                send(c, out + sent, total - sent > 65536 ? 65536 : total - sent, MSG_DONTWAIT);
            sent += n > 0 ? (size_t)n : 0;
        }
        if (pf[1].revents & POLLIN) { /* the backend echoes what it got, in order */
            ssize_t n = recv(s, chunk, sizeof(chunk), MSG_DONTWAIT);
            if (n > 0) {
                assert_memory_equal(chunk, out + got, (size_t)n);
                got += (size_t)n;
            }
        }
        if ((pf[1].revents & POLLOUT) && echoed < got) {
            ssize_t n = send(s, out + echoed, got - echoed, MSG_DONTWAIT);
            echoed += n > 0 ? (size_t)n : 0;
        }
        if (pf[0].revents & POLLIN) {
            ssize_t n = recv(c, chunk, sizeof(chunk), MSG_DONTWAIT);
            if (n > 0) {
                assert_memory_equal(chunk, out + back, (size_t)n);
                back += (size_t)n;
            }
        }
    }
    assert_true(ok);
    assert_int_equal(back, total);
    free(out);

    /* the limit of 2 open connections: a third is closed at once */
    int c2 = dial(fport);
    int s2 = take(b, 5000);
    assert_true(s2 >= 0);
    int c3 = dial(fport);
    r = read(c3, buf, sizeof(buf));
    assert_true(r <= 0);
    ks_svc_proxy_stats(p, &st);
    assert_true(st.refused >= 1);
    assert_int_equal(st.open, 2);
    close(c3);
    close(c2);
    close(s2);
    close(c);
    close(s);

    /* a removed listener accepts no more */
    ks_svc_proxy_remove(p, 1);
    usleep(300000);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fport)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int x = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(connect(x, (struct sockaddr *)&sa, sizeof(sa)) < 0);
    close(x);

    ks_svc_proxy_free(p);
    close(a);
    close(b);
    ks_svc_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
