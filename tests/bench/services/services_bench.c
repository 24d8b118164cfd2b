/*
 * services_bench.c: what the service proxy costs (nodeagent/services/
 * proxy.c), on loopback, side by side with a direct connection to the same
 * backend: N short connections (connect, 16-byte request, 16-byte answer,
 * close) one after the other, then one bulk transfer of M MiB one way.
 * Usage: services-bench [CONNECTIONS (2000)] [MIB (256)]
 */
#include "nodeagent/services/internal.h"
#include "tests/bench/lib/benchargs.h"

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return ntohs(sa.sin_port);
}

/* The backend: echoes a 16-byte request; after "BULK" counts bytes to EOF
 * and answers with the count. */
static void *backend_main(void *arg)
{
    int l = *(int *)arg;
    static char b[65536];
    for (;;) {
        struct pollfd p = {.fd = l, .events = POLLIN};
        poll(&p, 1, -1);
        int c = accept(l, NULL, NULL);
        if (c < 0)
            continue;
        ssize_t n = read(c, b, 16);
        if (n == 16 && memcmp(b, "BULK", 4) == 0) {
            size_t total = 0;
            while ((n = read(c, b, sizeof(b))) > 0)
                total += (size_t)n;
            if (write(c, &total, sizeof(total)) < 0)
                perror("backend write");
        } else if (n > 0 && write(c, b, (size_t)n) < 0) {
            perror("backend write");
        }
        close(c);
    }
    return NULL;
}

static int dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static double short_conns(int port, int n)
{
    char b[16];
    double t = now_s();
    for (int i = 0; i < n; i++) {
        int fd = dial(port);
        if (write(fd, "0123456789abcdef", 16) != 16 || read(fd, b, 16) != 16) {
            fprintf(stderr, "short answer\n");
            exit(1);
        }
        close(fd);
    }
    return now_s() - t;
}

static double bulk(int port, size_t mib)
{
    static char b[65536];
    size_t left = mib << 20, total = 0;
    memset(b, 1, sizeof(b));
    memcpy(b, "BULK............", 16);
    int fd = dial(port);
    double t = now_s();
    if (write(fd, b, 16) != 16)
        exit(1);
    while (left) {
        ssize_t w = write(fd, b, left > sizeof(b) ? sizeof(b) : left);
        if (w <= 0)
            exit(1);
        left -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    if (read(fd, &total, sizeof(total)) != sizeof(total) || total != mib << 20) {
        fprintf(stderr, "bulk: backend got %zu bytes\n", total);
        exit(1);
    }
    close(fd);
    return now_s() - t;
}

int main(int argc, char **argv)
{
    int n = (int)ks_bench_arg(argc > 1 ? argv[1] : NULL, 2000, "connections");
    size_t mib = (size_t)ks_bench_arg(argc > 2 ? argv[2] : NULL, 256, "MiB");
    struct ks_svc_table *t;
    struct ks_svc_proxy *p;
    json_error_t e;
    if (n < 1 || mib < 1 || ks_svc_table_new(&t) < 0)
        return 1;
    json_t *svc = json_loads("{\"metadata\": {\"name\": \"web\"}, \"spec\": {\"type\": "
                             "\"NodePort\", \"clusterIP\": \"10.96.0.2\", \"ports\": [{\"port\": "
                             "80, \"nodePort\": 30080}]}}",
                             0, &e);
    ks_svc_table_put(t, 0, "Service", svc);
    json_decref(svc);
    int back = ks_svc_listen_socket("127.0.0.1", 0), bport = port_of(back);
    json_t *eps = json_pack("{s:{s:s}, s:[{s:[{s:s}], s:[{s:i}]}]}", "metadata", "name", "web",
                            "subsets", "addresses", "ip", "127.0.0.1", "ports", "port", bport);
    ks_svc_table_put(t, 0, "Endpoints", eps);
    json_decref(eps);
    pthread_t th;
    pthread_create(&th, NULL, backend_main, &back);
    struct ks_svc_proxy_opts o = {.table = t,
                                  .mu = &table_mu,
                                  .node = "n",
                                  .max_conns = 1024,
                                  .buf_bytes = 16384,
                                  .connect_timeout_ms = 3000,
                                  .attempts = 3};
    if (ks_svc_proxy_new(&p, &o) < 0)
        return 1;
    int front = ks_svc_listen_socket("127.0.0.1", 0), fport = port_of(front);
    ks_svc_proxy_add(p, 1, front, "default/web", 30080, true);
    usleep(100000);
    short_conns(bport, n / 10 + 1); /* warm-up */
    short_conns(fport, n / 10 + 1);
    double d = short_conns(bport, n), x = short_conns(fport, n);
    printf("%d short connections: direct %.0f ms (%.0f us each), through the proxy %.0f ms (%.0f "
           "us each)\n",
           n, d * 1e3, d * 1e6 / n, x * 1e3, x * 1e6 / n);
    double bd = bulk(bport, mib), bx = bulk(fport, mib);
    printf("%zu MiB one way: direct %.2f s (%.0f MiB/s), through the proxy %.2f s (%.0f MiB/s)\n",
           mib, bd, (double)mib / bd, bx, (double)mib / bx);
    return 0;
}
