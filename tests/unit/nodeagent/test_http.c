/*
 * test_http.c: the agent's HTTP/1.1 client (nodeagent/http) against a tiny
 * HTTP server run by threads of this test, on a loopback TCP port and on a
 * Unix socket: Content-Length, chunked and read-to-close bodies, keep-alive
 * reuse (the server numbers its connections), a pooled connection the
 * server closed being replaced, body and header limits, total and idle
 * time limits, connection refused, a stream with a per-chunk callback that
 * stops it, a cancel from another thread, concurrent requests from several
 * threads on one client, and URL parsing and escaping.
 */
#include "core/error.h"
#include "nodeagent/http/http.h"

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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_CONNS 64

struct server {
    int lfd;
    int port;
    char sock_path[108];
    atomic_int stop;
    pthread_t accept_thread;
    pthread_mutex_t lock;
    pthread_t conn_threads[MAX_CONNS];
    int conn_fds[MAX_CONNS];
    int n_conns;
};

struct conn_arg {
    struct server *srv;
    int fd;
    int number;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void send_all(int fd, const char *s, size_t n)
{
    ssize_t w;

    while (n > 0 && (w = send(fd, s, n, MSG_NOSIGNAL)) > 0) {
        s += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads one request (head and Content-Length body) into buf; false at EOF. */
static bool read_request(struct server *srv, int fd, char *buf, size_t cap, char **out_body,
                         size_t *out_len)
{
    size_t len = 0, want = 0;
    char *end = NULL, *cl;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t n;

    for (;;) {
        if (end && len >= (size_t)(end + 4 - buf) + want)
            break;
        if (poll(&p, 1, 100) == 0) {
            if (atomic_load(&srv->stop))
                return false;
            continue;
        }
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            cl = strcasestr(buf, "Content-Length:");
            want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
        }
    }
    *out_body = end + 4;
    *out_len = want;
    return true;
}

static void answer(int fd, int number, const char *req, const char *body, size_t body_len,
                   bool *out_close)
{
    char path[256] = "", method[16] = "", out[1024];

    sscanf(req, "%15s %255s", method, path);
    if (strcmp(path, "/hello") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test:  v1 \r\n\r\nhello");
    } else if (strcmp(path, "/conn") == 0) {
        snprintf(out, sizeof(out), "%d", number);
        char head[128];
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(out));
        send_str(fd, head);
        send_str(fd, out);
    } else if (strcmp(path, "/chunked") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        sleep_ms(20);
        send_str(fd, "4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n");
    } else if (strcmp(path, "/toclose") == 0) {
        send_str(fd, "HTTP/1.0 200 OK\r\n\r\nuntil the end");
        *out_close = true;
    } else if (strcmp(path, "/closeafter") == 0) {
        /* keep-alive promised, but the server drops the connection after */
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        *out_close = true;
    } else if (strcmp(path, "/big") == 0) {
        char big[1000];
        memset(big, 'x', sizeof(big));
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        send_all(fd, big, sizeof(big));
    } else if (strcmp(path, "/hugeheader") == 0) {
        char *h = malloc(70000);
        memset(h, 'a', 69999);
        h[69999] = '\0';
        send_str(fd, "HTTP/1.1 200 OK\r\nX-Huge: ");
        send_str(fd, h);
        send_str(fd, "\r\nContent-Length: 0\r\n\r\n");
        free(h);
    } else if (strcmp(path, "/slow") == 0) {
        sleep_ms(1500);
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
    } else if (strcmp(path, "/trickle") == 0) {
        /* a byte every 100 ms: never idle long, but slow in total */
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
        for (int i = 0; i < 12; i++) {
            sleep_ms(100);
            send_str(fd, "t");
        }
    } else if (strcmp(path, "/stream") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 3; i++) {
            snprintf(out, sizeof(out), "6\r\nline%d\n\r\n", i);
            send_str(fd, out);
            sleep_ms(30);
        }
        send_str(fd, "0\r\n\r\n");
    } else if (strcmp(path, "/hang") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
        sleep_ms(1500);
        *out_close = true;
    } else if (strcmp(path, "/notfound") == 0) {
        send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno such x");
    } else if (strcmp(path, "/continue") == 0) {
        send_str(fd,
                 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nc");
    } else if (strcmp(path, "/garbage") == 0) {
        send_str(fd, "SMTP ready\r\n\r\n");
        *out_close = true;
    } else if (strcmp(path, "/echo") == 0) {
        /* method, Host and X-Hdr of the request, then its body */
        const char *host = strcasestr(req, "\r\nHost: "), *x = strcasestr(req, "\r\nX-Hdr: ");
        char hv[128] = "", xv[128] = "";
        if (host)
            sscanf(host + 8, "%127[^\r]", hv);
        if (x)
            sscanf(x + 9, "%127[^\r]", xv);
        snprintf(out, sizeof(out), "%s|%s|%s|%.*s", method, hv, xv, (int)body_len, body);
        char head[128];
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(out));
        send_str(fd, head);
        send_str(fd, out);
    } else {
        send_str(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
    }
}

static void *conn_main(void *ud)
{
    struct conn_arg *a = ud;
    char *buf = malloc(1 << 16), *body;
    size_t body_len;
    bool close_it = false;

    while (!close_it && read_request(a->srv, a->fd, buf, 1 << 16, &body, &body_len))
        answer(a->fd, a->number, buf, body, body_len, &close_it);
    shutdown(a->fd, SHUT_RDWR);
    free(buf);
    free(a);
    return NULL;
}

static void *accept_main(void *ud)
{
    struct server *srv = ud;
    struct pollfd p = {.fd = srv->lfd, .events = POLLIN};
    struct conn_arg *a;
    int fd;

    while (!atomic_load(&srv->stop)) {
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&srv->lock);
        if (srv->n_conns == MAX_CONNS) {
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            continue;
        }
        a = malloc(sizeof(*a));
        *a = (struct conn_arg){srv, fd, srv->n_conns + 1};
        srv->conn_fds[srv->n_conns] = fd;
        pthread_create(&srv->conn_threads[srv->n_conns], NULL, conn_main, a);
        srv->n_conns++;
        pthread_mutex_unlock(&srv->lock);
    }
    return NULL;
}

static void server_start(struct server *srv, bool unix_socket)
{
    memset(srv, 0, sizeof(*srv));
    pthread_mutex_init(&srv->lock, NULL);
    atomic_init(&srv->stop, 0);
    if (unix_socket) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(srv->sock_path, sizeof(srv->sock_path), "/tmp/ks-test-http-%d.sock", getpid());
        unlink(srv->sock_path);
        memcpy(a.sun_path, srv->sock_path, strlen(srv->sock_path) + 1);
        srv->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(bind(srv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int one = 1;
        srv->lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        assert_int_equal(bind(srv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(srv->lfd, (struct sockaddr *)&a, &len), 0);
        srv->port = ntohs(a.sin_port);
    }
    assert_int_equal(listen(srv->lfd, 64), 0);
    assert_int_equal(pthread_create(&srv->accept_thread, NULL, accept_main, srv), 0);
}

static void server_stop(struct server *srv)
{
    int i;

    atomic_store(&srv->stop, 1);
    pthread_join(srv->accept_thread, NULL);
    for (i = 0; i < srv->n_conns; i++)
        shutdown(srv->conn_fds[i], SHUT_RDWR);
    for (i = 0; i < srv->n_conns; i++) {
        pthread_join(srv->conn_threads[i], NULL);
        close(srv->conn_fds[i]);
    }
    close(srv->lfd);
    if (srv->sock_path[0])
        unlink(srv->sock_path);
    pthread_mutex_destroy(&srv->lock);
}

static struct server srv;
static struct ks_http_client *client;

static int setup(void **state)
{
    struct ks_http_opts o = {.host = "127.0.0.1"};

    server_start(&srv, false);
    o.port = srv.port;
    assert_int_equal(ks_http_client_new(&client, &o), 0);
    return 0;
}

static int teardown(void **state)
{
    ks_http_client_free(client);
    client = NULL;
    server_stop(&srv);
    return 0;
}

static int get(struct ks_http_response *resp, const char *target, long timeout_ms)
{
    struct ks_http_request req = {.method = "GET", .target = target, .timeout_ms = timeout_ms};

    return ks_http_request(resp, client, &req);
}

static void test_keepalive_reuse(void **state)
{
    struct ks_http_response r1, r2, r3;
    char *h;

    assert_int_equal(get(&r1, "/hello", 2000), 0);
    assert_int_equal(r1.status, 200);
    assert_string_equal(ks_buf_data(&r1.body), "hello");
    h = ks_http_response_header(&r1, "x-test");
    assert_string_equal(h, "v1");
    free(h);
    assert_null(ks_http_response_header(&r1, "X-None"));
    assert_int_equal(get(&r2, "/conn", 2000), 0);
    assert_int_equal(get(&r3, "/conn", 2000), 0);
    /* all three on the server's first connection */
    assert_string_equal(ks_buf_data(&r2.body), "1");
    assert_string_equal(ks_buf_data(&r3.body), "1");
    ks_http_response_release(&r1);
    ks_http_response_release(&r2);
    ks_http_response_release(&r3);
}

static void test_chunked_and_close(void **state)
{
    struct ks_http_response r;

    assert_int_equal(get(&r, "/chunked", 2000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(ks_buf_data(&r.body), "abcdefg");
    ks_http_response_release(&r);
    /* chunked keeps the connection; a body read to the close does not */
    assert_int_equal(get(&r, "/conn", 2000), 0);
    assert_string_equal(ks_buf_data(&r.body), "1");
    ks_http_response_release(&r);
    assert_int_equal(get(&r, "/toclose", 2000), 0);
    assert_string_equal(ks_buf_data(&r.body), "until the end");
    ks_http_response_release(&r);
    assert_int_equal(get(&r, "/conn", 2000), 0);
    assert_string_equal(ks_buf_data(&r.body), "2");
    ks_http_response_release(&r);
    /* an interim 100 Continue is skipped; 404 is an answer, not an error */
    assert_int_equal(get(&r, "/continue", 2000), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(ks_buf_data(&r.body), "c");
    ks_http_response_release(&r);
    assert_int_equal(get(&r, "/notfound", 2000), 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(ks_buf_data(&r.body), "no such x");
    ks_http_response_release(&r);
}

static void test_pooled_connection_closed_by_server(void **state)
{
    struct ks_http_response r;

    assert_int_equal(get(&r, "/closeafter", 2000), 0);
    assert_string_equal(ks_buf_data(&r.body), "ok");
    ks_http_response_release(&r);
    sleep_ms(50);
    /* the pooled connection is dead: a fresh one serves the next call */
    assert_int_equal(get(&r, "/conn", 2000), 0);
    assert_string_equal(ks_buf_data(&r.body), "2");
    ks_http_response_release(&r);
}

static void test_post_headers(void **state)
{
    struct ks_http_header hs[] = {{"X-Hdr", "value 1"}};
    struct ks_http_request req = {.method = "POST",
                                  .target = "/echo",
                                  .headers = hs,
                                  .n_headers = 1,
                                  .body = "{\"a\":1}",
                                  .body_len = 7,
                                  .timeout_ms = 2000};
    struct ks_http_header bad[] = {{"X-Bad", "a\r\nInjected: 1"}};
    struct ks_http_response r;
    char want[64];

    assert_int_equal(ks_http_request(&r, client, &req), 0);
    snprintf(want, sizeof(want), "POST|127.0.0.1:%d|value 1|{\"a\":1}", srv.port);
    assert_string_equal(ks_buf_data(&r.body), want);
    ks_http_response_release(&r);
    /* an empty POST still says Content-Length: 0; Host may be set */
    req.body = NULL;
    req.host = "example.test";
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_string_equal(ks_buf_data(&r.body), "POST|example.test|value 1|");
    ks_http_response_release(&r);
    req.headers = bad;
    assert_int_equal(ks_http_request(&r, client, &req), KS_EINVALID);
    ks_http_response_release(&r);
}

static void test_limits(void **state)
{
    struct ks_http_request req = {.method = "GET", .target = "/big", .max_body = 100};
    struct ks_http_response r;

    assert_int_equal(ks_http_request(&r, client, &req), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "over the 100-byte limit"));
    assert_int_equal(ks_buf_len(&r.body), 0);
    ks_http_response_release(&r);
    req.truncate_ok = true;
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_true(r.truncated);
    assert_int_equal(ks_buf_len(&r.body), 100);
    ks_http_response_release(&r);
    req = (struct ks_http_request){.method = "GET", .target = "/hugeheader"};
    assert_int_equal(ks_http_request(&r, client, &req), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "header block is over the 65536-byte limit"));
    ks_http_response_release(&r);
    req.target = "/garbage";
    assert_int_equal(ks_http_request(&r, client, &req), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "not an HTTP/1.x answer"));
    ks_http_response_release(&r);
    /* the client still works after all that */
    assert_int_equal(get(&r, "/hello", 2000), 0);
    ks_http_response_release(&r);
}

static void test_timeouts(void **state)
{
    struct ks_http_request req = {.method = "GET", .target = "/slow", .timeout_ms = 300};
    struct ks_http_response r;

    assert_int_equal(ks_http_request(&r, client, &req), KS_ETIMEOUT);
    assert_non_null(strstr(ks_error_last(), "no complete answer within 300 ms"));
    ks_http_response_release(&r);
    /* idle limit: silence of 300 ms fails, a trickle of bytes does not */
    req = (struct ks_http_request){.method = "GET", .target = "/slow", .idle_ms = 300};
    assert_int_equal(ks_http_request(&r, client, &req), KS_ETIMEOUT);
    assert_non_null(strstr(ks_error_last(), "no data for 300 ms"));
    ks_http_response_release(&r);
    req.target = "/trickle";
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_string_equal(ks_buf_data(&r.body), "tttttttttttt");
    ks_http_response_release(&r);
    req.timeout_ms = 500;
    assert_int_equal(ks_http_request(&r, client, &req), KS_ETIMEOUT);
    ks_http_response_release(&r);
}

static void test_refused(void **state)
{
    struct ks_http_opts o = {.host = "127.0.0.1"};
    struct ks_http_client *c;
    struct ks_http_request req = {.method = "GET", .target = "/", .timeout_ms = 2000};
    struct ks_http_response r;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* a port that was bound and then closed: nobody listens */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    o.port = ntohs(a.sin_port);
    assert_int_equal(ks_http_client_new(&c, &o), 0);
    assert_int_equal(ks_http_request(&r, c, &req), KS_EIO);
    assert_int_equal(r.os_errno, ECONNREFUSED);
    assert_non_null(strstr(ks_error_last(), "Connection refused"));
    assert_non_null(strstr(ks_error_last(), ks_http_client_name(c)));
    ks_http_response_release(&r);
    ks_http_client_free(c);
    o.port = 0;
    assert_int_equal(ks_http_client_new(&c, &o), KS_EINVALID);
}

struct lines {
    char text[256];
    int calls;
    int stop_after;
};

static int on_data(const char *data, size_t len, void *ud)
{
    struct lines *l = ud;

    size_t used = strlen(l->text);
    size_t room = sizeof(l->text) - 1 - used;
    memcpy(l->text + used, data, len < room ? len : room);
    l->text[used + (len < room ? len : room)] = '\0';
    l->calls++;
    return l->stop_after && l->calls >= l->stop_after ? 1 : 0;
}

static void test_stream(void **state)
{
    struct lines l = {0};
    struct ks_http_request req = {
        .method = "GET", .target = "/stream", .on_data = on_data, .ud = &l};
    struct ks_http_response r;

    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_string_equal(l.text, "line0\nline1\nline2\n");
    assert_int_equal(l.calls, 3);
    assert_int_equal(ks_buf_len(&r.body), 0);
    ks_http_response_release(&r);
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_true(r.stopped);
    assert_string_equal(l.text, "line0\n");
    ks_http_response_release(&r);
    /* a non-2xx answer's body is collected, not streamed */
    memset(&l, 0, sizeof(l));
    req.target = "/notfound";
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(l.calls, 0);
    assert_string_equal(ks_buf_data(&r.body), "no such x");
    ks_http_response_release(&r);
}

struct canceller {
    struct ks_http_cancel *cc;
    long after_ms;
};

static void *cancel_main(void *ud)
{
    struct canceller *c = ud;

    sleep_ms(c->after_ms);
    ks_http_cancel_fire(c->cc);
    return NULL;
}

static void test_cancel(void **state)
{
    struct ks_http_cancel cc;
    struct lines l = {0};
    struct ks_http_request req = {
        .method = "GET", .target = "/hang", .on_data = on_data, .ud = &l, .cancel = &cc};
    struct ks_http_response r;
    struct canceller c = {&cc, 150};
    struct timespec t0, t1;
    pthread_t t;
    long ms;

    assert_int_equal(ks_http_cancel_init(&cc), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&t, NULL, cancel_main, &c);
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(r.cancelled);
    assert_string_equal(l.text, "first");
    assert_true(ms < 1000);
    ks_http_response_release(&r);
    /* sticky until taken: the next request ends at once */
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_true(r.cancelled);
    ks_http_response_release(&r);
    assert_true(ks_http_cancel_take(&cc));
    assert_false(ks_http_cancel_take(&cc));
    req = (struct ks_http_request){.method = "GET", .target = "/hello", .cancel = &cc};
    assert_int_equal(ks_http_request(&r, client, &req), 0);
    assert_false(r.cancelled);
    assert_string_equal(ks_buf_data(&r.body), "hello");
    ks_http_response_release(&r);
    ks_http_cancel_release(&cc);
}

static void *worker_main(void *ud)
{
    long ok = 0;

    for (int i = 0; i < 25; i++) {
        struct ks_http_response r;
        if (get(&r, i % 2 ? "/hello" : "/chunked", 5000) == 0 && r.status == 200 &&
            (strcmp(ks_buf_data(&r.body), "hello") == 0 ||
             strcmp(ks_buf_data(&r.body), "abcdefg") == 0))
            ok++;
        ks_http_response_release(&r);
    }
    return (void *)ok;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    void *ok;
    int i;

    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker_main, NULL);
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], &ok);
        assert_int_equal((long)ok, 25);
    }
    /* the pool bounds the connections: at most one per thread was opened */
    assert_true(srv.n_conns <= 4);
}

static void test_unix_socket(void **state)
{
    struct server us;
    struct ks_http_opts o = {0};
    struct ks_http_client *c;
    struct ks_http_request req = {.method = "GET", .target = "/echo", .timeout_ms = 2000};
    struct ks_http_response r;

    server_start(&us, true);
    o.unix_path = us.sock_path;
    assert_int_equal(ks_http_client_new(&c, &o), 0);
    assert_int_equal(ks_http_request(&r, c, &req), 0);
    assert_string_equal(ks_buf_data(&r.body), "GET|d||");
    ks_http_response_release(&r);
    ks_http_client_free(c);
    server_stop(&us);
    /* the socket is gone now */
    assert_int_equal(ks_http_client_new(&c, &o), 0);
    assert_int_equal(ks_http_request(&r, c, &req), KS_EIO);
    assert_non_null(strstr(ks_error_last(), us.sock_path));
    assert_non_null(strstr(ks_error_last(), "No such file"));
    ks_http_response_release(&r);
    ks_http_client_free(c);
}

static void test_url(void **state)
{
    struct ks_http_url u;
    struct ks_buf b;

    assert_int_equal(ks_http_url_parse(&u, "https://cp.example:8443/api/v1?x=1#frag"), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "cp.example");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.target, "/api/v1?x=1");
    ks_http_url_release(&u);
    assert_int_equal(ks_http_url_parse(&u, "http://[::1]"), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.target, "/");
    ks_http_url_release(&u);
    assert_int_equal(ks_http_url_parse(&u, "http://h?q"), 0);
    assert_string_equal(u.target, "/?q");
    ks_http_url_release(&u);
    assert_int_equal(ks_http_url_parse(&u, "ftp://h/"), KS_EINVALID);
    assert_int_equal(ks_http_url_parse(&u, "http://h:0/"), KS_EINVALID);
    assert_int_equal(ks_http_url_parse(&u, "http://h:99999/"), KS_EINVALID);
    assert_int_equal(ks_http_url_parse(&u, "http://:80/"), KS_EINVALID);
    assert_int_equal(ks_http_url_parse(&u, "http://u@h/"), KS_EINVALID);
    assert_int_equal(ks_http_url_parse(&u, "http://[::1/"), KS_EINVALID);
    ks_buf_init(&b, 0);
    assert_int_equal(ks_http_escape(&b, "a b/c~d%{}"), 0);
    assert_string_equal(ks_buf_data(&b), "a%20b%2Fc~d%25%7B%7D");
    ks_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pooled_connection_closed_by_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
