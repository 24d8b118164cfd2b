/*
 * test_probe_check.c: real probe runs against a tiny HTTP/1.1 server on a
 * loopback port, run by a thread of this test (status codes, headers sent,
 * redirects on the same host followed and to another host not, timeouts),
 * tcpSocket against open, closed and unanswering ports, and exec through a
 * callback that stands in for the runtime.
 */
#include "core/error.h"
#include "nodeagent/probe/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct server {
    int fd;
    int port;
    volatile int stop;
    pthread_t thread;
    pthread_mutex_t lock;
    char last_request[4096];
    int requests;
};

static struct server srv;

static int listen_loopback(int backlog, int *out_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *out_port = ntohs(a.sin_port);
    return fd;
}

static void answer(int c, const char *req)
{
    char path[256] = "", resp[512];
    const char *status = "200 OK", *extra = "";
    char loc[256] = "";

    sscanf(req, "GET %255s", path);
    if (strcmp(path, "/fail") == 0) {
        status = "500 Internal Server Error";
    } else if (strcmp(path, "/missing") == 0) {
        status = "404 Not Found";
    } else if (strcmp(path, "/redirect-same") == 0) {
        status = "302 Found";
        snprintf(loc, sizeof(loc), "Location: http://127.0.0.1:%d/fail\r\n", srv.port);
        extra = loc;
    } else if (strcmp(path, "/redirect-other") == 0) {
        status = "302 Found";
        extra = "Location: http://other.invalid/fail\r\n";
    } else if (strcmp(path, "/loop") == 0) {
        status = "301 Moved Permanently";
        extra = "Location: /loop\r\n";
    } else if (strcmp(path, "/slow") == 0) {
        usleep(1500 * 1000);
    }
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 %s\r\n%sContent-Length: 2\r\nConnection: close\r\n\r\nok", status, extra);
    if (write(c, resp, strlen(resp)) < 0) {
        /* the client may have given up (timeout case) */
    }
}

static void *serve(void *ud)
{
    (void)ud;
    while (!srv.stop) {
        struct pollfd p = {.fd = srv.fd, .events = POLLIN};
        char req[4096];
        size_t got = 0;
        int c;

        if (poll(&p, 1, 50) <= 0)
            continue;
        c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        while (got < sizeof(req) - 1) {
            ssize_t n = read(c, req + got, sizeof(req) - 1 - got);

            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[got] = '\0';
        pthread_mutex_lock(&srv.lock);
        snprintf(srv.last_request, sizeof(srv.last_request), "%s", req);
        srv.requests++;
        pthread_mutex_unlock(&srv.lock);
        answer(c, req);
        close(c);
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.lock, NULL);
    srv.fd = listen_loopback(16, &srv.port);
    return pthread_create(&srv.thread, NULL, serve, NULL);
}

static int teardown(void **state)
{
    (void)state;
    srv.stop = 1;
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    pthread_mutex_destroy(&srv.lock);
    return 0;
}

static enum ks_probe_outcome run(struct ks_probe_spec *s, char *msg, size_t cap)
{
    struct ks_probe_target target = {.host = "127.0.0.1"};
    enum ks_probe_outcome o = 42;

    assert_int_equal(ks_probe_check(&o, msg, cap, s, &target), 0);
    return o;
}

static struct ks_probe_spec http_spec(const char *path)
{
    struct ks_probe_spec s = {.kind = KS_PROBE_HTTP,
                              .path = (char *)path,
                              .scheme = "HTTP",
                              .port = srv.port,
                              .period_s = 10,
                              .timeout_s = 1,
                              .success_threshold = 1,
                              .failure_threshold = 3};
    return s;
}

static void http_status_codes(void **state)
{
    struct ks_probe_spec s = http_spec("/ok");
    char msg[256];

    (void)state;
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_SUCCESS);
    assert_string_equal(msg, "");
    s.path = "/fail";
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    assert_string_equal(msg, "HTTP probe failed with statuscode: 500");
    s.path = "/missing";
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    assert_string_equal(msg, "HTTP probe failed with statuscode: 404");
}

static void http_headers_sent(void **state)
{
    json_t *headers = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "X-Probe", "value", "yes", "name",
                                "Host", "value", "app.example");
    struct ks_probe_spec s = http_spec("/ok?x=1");
    char msg[256];

    (void)state;
    s.http_headers = headers;
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_SUCCESS);
    pthread_mutex_lock(&srv.lock);
    assert_non_null(strstr(srv.last_request, "GET /ok?x=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(srv.last_request, "X-Probe: yes\r\n"));
    assert_non_null(strstr(srv.last_request, "Host: app.example\r\n"));
    assert_non_null(strstr(srv.last_request, "User-Agent: kube-probe/keelson\r\n"));
    pthread_mutex_unlock(&srv.lock);
    json_decref(headers);
}

static void http_redirects(void **state)
{
    struct ks_probe_spec s = http_spec("/redirect-same");
    char msg[256];
    int before;

    (void)state;
    /* Same host: followed, and the target's 500 decides. */
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    assert_string_equal(msg, "HTTP probe failed with statuscode: 500");

    /* Another host: not followed; the 302 itself counts as success. */
    pthread_mutex_lock(&srv.lock);
    before = srv.requests;
    pthread_mutex_unlock(&srv.lock);
    s.path = "/redirect-other";
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_SUCCESS);
    assert_non_null(strstr(msg, "Probe terminated redirects"));
    pthread_mutex_lock(&srv.lock);
    assert_int_equal(srv.requests, before + 1);
    pthread_mutex_unlock(&srv.lock);

    /* A loop stops after the limit. */
    s.path = "/loop";
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    assert_non_null(strstr(msg, "stopped after 10 redirects"));
}

static void http_timeout_and_refused(void **state)
{
    struct ks_probe_spec s = http_spec("/slow");
    struct timespec a, b;
    char msg[256];
    int port, fd;
    long ms;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms >= 900 && ms < 2000);
    assert_non_null(strstr(msg, "context deadline exceeded"));
    usleep(700 * 1000); /* let the server finish the slow answer */

    fd = listen_loopback(1, &port);
    close(fd); /* nothing listens there now */
    s.port = port;
    s.path = "/ok";
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    assert_non_null(strstr(msg, "connect: connection refused"));
}

static void tcp_checks(void **state)
{
    struct ks_probe_spec s = {.kind = KS_PROBE_TCP, .port = srv.port, .timeout_s = 1};
    struct timespec a, b;
    char msg[256], want[128];
    int port, fd, fillers[8], i;
    long ms;

    (void)state;
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_SUCCESS);

    fd = listen_loopback(1, &port);
    close(fd);
    s.port = port;
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: connect: connection refused", port);
    assert_string_equal(msg, want);

    /* A listener that never accepts with a full backlog: SYNs go unanswered. */
    fd = listen_loopback(0, &port);
    for (i = 0; i < 8; i++) {
        struct sockaddr_in to = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(fillers[i], (struct sockaddr *)&to, sizeof(to)) < 0) {
            /* EINPROGRESS expected for the ones that wait */
        }
    }
    usleep(100 * 1000);
    s.port = port;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(run(&s, msg, sizeof(msg)), KS_PROBE_FAILURE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    snprintf(want, sizeof(want), "dial tcp 127.0.0.1:%d: i/o timeout", port);
    assert_string_equal(msg, want);
    assert_true(ms >= 900 && ms < 2000);
    for (i = 0; i < 8; i++)
        close(fillers[i]);
    close(fd);
}

struct exec_log {
    char argv0[64];
    long timeout_ms;
};

static int fake_exec(void *ud, int *out_exit, const char *const *argv, long timeout_ms)
{
    struct exec_log *log = ud;

    snprintf(log->argv0, sizeof(log->argv0), "%s", argv[0]);
    log->timeout_ms = timeout_ms;
    if (strcmp(argv[0], "hang") == 0)
        return ks_error_set(KS_ETIMEOUT, "exec timed out");
    if (strcmp(argv[0], "broken") == 0)
        return ks_error_set(KS_EIO, "podman is down");
    *out_exit = strcmp(argv[0], "true") == 0 ? 0 : 3;
    return 0;
}

static void exec_through_callback(void **state)
{
    char *argv[] = {"true", "x", NULL};
    struct ks_probe_spec s = {.kind = KS_PROBE_EXEC, .argv = argv, .timeout_s = 2};
    struct exec_log log = {0};
    struct ks_probe_target target = {.host = "127.0.0.1", .exec = fake_exec, .exec_ud = &log};
    enum ks_probe_outcome o;
    char msg[256];

    (void)state;
    assert_int_equal(ks_probe_check(&o, msg, sizeof(msg), &s, &target), 0);
    assert_int_equal(o, KS_PROBE_SUCCESS);
    assert_string_equal(log.argv0, "true");
    assert_int_equal(log.timeout_ms, 2000);

    argv[0] = "false";
    assert_int_equal(ks_probe_check(&o, msg, sizeof(msg), &s, &target), 0);
    assert_int_equal(o, KS_PROBE_FAILURE);
    assert_string_equal(msg, "command exited 3");

    argv[0] = "hang";
    assert_int_equal(ks_probe_check(&o, msg, sizeof(msg), &s, &target), 0);
    assert_int_equal(o, KS_PROBE_FAILURE);
    assert_string_equal(msg, "command timed out after 2s");

    argv[0] = "broken";
    assert_int_equal(ks_probe_check(&o, msg, sizeof(msg), &s, &target), 0);
    assert_int_equal(o, KS_PROBE_FAILURE);
    assert_non_null(strstr(msg, "podman is down"));

    target.exec = NULL;
    assert_int_equal(ks_probe_check(&o, msg, sizeof(msg), &s, &target), 0);
    assert_int_equal(o, KS_PROBE_FAILURE);
    assert_non_null(strstr(msg, "not supported"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_status_codes), cmocka_unit_test(http_headers_sent),
        cmocka_unit_test(http_redirects),    cmocka_unit_test(http_timeout_and_refused),
        cmocka_unit_test(tcp_checks),        cmocka_unit_test(exec_through_callback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
