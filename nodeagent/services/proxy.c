/*
 * proxy.c: the service proxy's data path, one epoll thread in the agent.
 *
 * Listening sockets (opened in pods' namespaces for clusterIP:port, or on
 * the host for node ports) are handed over through a small command queue
 * and an eventfd, so only this thread ever touches its listeners and
 * connections. An accepted connection gets a backend chosen round-robin
 * from the table (ready endpoints only, read under the table's mutex at
 * that moment: a backend removed from the Endpoints gets no new
 * connection) and a non-blocking connect with a time limit; a backend
 * that refuses or does not answer in time is replaced by the next one, up
 * to `attempts` tries, after which the client is reset. Bytes are relayed
 * through two bounded buffers (one per direction; a full buffer stops
 * reading that side, so a slow reader slows its writer instead of growing
 * memory), and an EOF is passed on as shutdown(SHUT_WR) once its buffer is
 * drained (half-close), the connection ending when both directions have.
 * Level-triggered epoll; the interest set of each socket follows buffer
 * state. Structures freed during an epoll batch are freed at its end.
 */
#include "nodeagent/services/internal.h"

#include "core/error.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 128
#define ACCEPTS_PER_WAKE 64
#define WARN_EVERY_MS 5000

enum { T_WAKE = 1, T_LISTENER, T_SIDE };

struct lst {
    int type;
    int fd;
    uint64_t id;
    char key[KS_SVC_MAX_KEY];
    int port;
    bool node_port, dead;
    struct lst *next;
};

struct dir {
    char *buf;
    size_t len;
    bool eof;  /* the source said EOF */
    bool shut; /* passed on to the destination */
};

struct conn;
struct side {
    int type;
    int fd;
    uint32_t mask;
    struct conn *c;
};

struct conn {
    struct side cl, be;
    struct dir up, down; /* client -> backend, backend -> client */
    bool connecting, dead;
    int attempts;
    int64_t deadline_ms;
    char key[KS_SVC_MAX_KEY];
    int port;
    bool node_port;
    struct conn *next;
};

struct cmd {
    bool add;
    uint64_t id;
    int fd;
    char key[KS_SVC_MAX_KEY];
    int port;
    bool node_port;
    struct cmd *next;
};

struct ks_svc_proxy {
    struct ks_svc_proxy_opts o;
    char *node;
    int ep, wake;
    int wake_type;
    pthread_t th;
    bool started;
    atomic_bool stop;
    pthread_mutex_t qmu;
    struct cmd *q;
    struct lst *lsts;
    struct conn *conns;
    unsigned nconns;
    int64_t last_warn_ms;
    _Atomic uint64_t accepted, refused, failed;
    _Atomic unsigned open;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One warning per WARN_EVERY_MS at most: a flood of refused connections
 * must not flood the log. */
static void warn(struct ks_svc_proxy *p, const char *msg, const char *key, const char *err)
{
    int64_t now = mono_ms();
    if (now - p->last_warn_ms < WARN_EVERY_MS) {
        ks_log(KS_LOG_DEBUG, msg, "service", key, "error", err, NULL);
        return;
    }
    p->last_warn_ms = now;
    ks_log(KS_LOG_WARN, msg, "service", key, "error", err, NULL);
}

static void set_mask(struct ks_svc_proxy *p, struct side *s, uint32_t mask)
{
    if (s->fd < 0 || s->mask == mask)
        return;
    struct epoll_event ev = {.events = mask, .data.ptr = s};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, s->fd, &ev);
    s->mask = mask;
}

static void conn_close(struct ks_svc_proxy *p, struct conn *c, bool reset)
{
    if (c->dead)
        return;
    if (reset && c->cl.fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->cl.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    if (c->cl.fd >= 0)
        close(c->cl.fd);
    if (c->be.fd >= 0)
        close(c->be.fd);
    c->cl.fd = c->be.fd = -1;
    c->dead = true;
    p->nconns--;
    atomic_fetch_sub(&p->open, 1);
}

/* Starts a connect to the next backend; false when none is left (the
 * connection is then reset). */
static bool conn_connect(struct ks_svc_proxy *p, struct conn *c)
{
    if (c->be.fd >= 0) {
        close(c->be.fd);
        c->be.fd = -1;
        c->be.mask = 0;
    }
    while (c->attempts < p->o.attempts) {
        struct ks_svc_backend b;
        c->attempts++;
        pthread_mutex_lock(p->o.mu);
        int rc = ks_svc_table_pick(&b, p->o.table, c->key, c->port, c->node_port, p->node,
                                   p->o.all_nodes);
        pthread_mutex_unlock(p->o.mu);
        if (rc < 0) {
            warn(p, "services: connection refused", c->key, ks_error_last());
            break;
        }
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, b.ip, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons((uint16_t)b.port);
            sl = sizeof(*s4);
        } else if (inet_pton(AF_INET6, b.ip, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons((uint16_t)b.port);
            sl = sizeof(*s6);
        } else {
            continue;
        }
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            warn(p, "services: cannot open a backend socket", c->key, strerror(errno));
            break;
        }
        if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
            atomic_fetch_add(&p->failed, 1);
            close(fd);
            continue;
        }
        c->be = (struct side){.type = T_SIDE, .fd = fd, .mask = EPOLLOUT, .c = c};
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->be};
        if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            c->be.fd = -1;
            break;
        }
        c->connecting = true;
        c->deadline_ms = mono_ms() + p->o.connect_timeout_ms;
        return true;
    }
    conn_close(p, c, true);
    return false;
}

static void accept_on(struct ks_svc_proxy *p, struct lst *l)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (p->nconns >= p->o.max_conns) {
            atomic_fetch_add(&p->refused, 1);
            char msg[96];
            snprintf(msg, sizeof(msg), "over the limit of %u open connections", p->o.max_conns);
            warn(p, "services: connection refused", l->key, msg);
            close(fd);
            continue;
        }
        struct conn *c = calloc(1, sizeof(*c) + 2 * p->o.buf_bytes);
        if (!c) {
            close(fd);
            continue;
        }
        c->up.buf = (char *)(c + 1);
        c->down.buf = c->up.buf + p->o.buf_bytes;
        c->cl = (struct side){.type = T_SIDE, .fd = fd, .mask = EPOLLIN, .c = c};
        c->be.fd = -1;
        snprintf(c->key, sizeof(c->key), "%s", l->key);
        c->port = l->port;
        c->node_port = l->node_port;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->cl};
        if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = p->conns;
        p->conns = c;
        p->nconns++;
        atomic_fetch_add(&p->open, 1);
        atomic_fetch_add(&p->accepted, 1);
        conn_connect(p, c);
    }
}

/* Reads src into d; false on a broken connection. */
static bool fill(struct ks_svc_proxy *p, struct dir *d, int fd, bool *progress)
{
    while (!d->eof && d->len < p->o.buf_bytes) {
        ssize_t n = read(fd, d->buf + d->len, p->o.buf_bytes - d->len);
        if (n > 0) {
            d->len += (size_t)n;
            *progress = true;
        } else if (n == 0) {
            d->eof = true;
            *progress = true;
        } else {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
    }
    return true;
}

/* Writes d to dst, then passes an EOF on; false on a broken connection. */
static bool drain(struct dir *d, int fd, bool *progress)
{
    while (d->len > 0) {
        ssize_t n = send(fd, d->buf, d->len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        memmove(d->buf, d->buf + n, d->len - (size_t)n);
        d->len -= (size_t)n;
        *progress = true;
    }
    if (d->eof && !d->shut) {
        shutdown(fd, SHUT_WR);
        d->shut = true;
        *progress = true;
    }
    return true;
}

static void update(struct ks_svc_proxy *p, struct conn *c)
{
    size_t cap = p->o.buf_bytes;
    if (c->up.shut && c->down.shut) {
        conn_close(p, c, false);
        return;
    }
    uint32_t cl = 0, be = 0;
    if (!c->up.eof && c->up.len < cap)
        cl |= EPOLLIN;
    if (c->down.len > 0)
        cl |= EPOLLOUT;
    if (c->connecting) {
        be = EPOLLOUT;
    } else {
        if (!c->down.eof && c->down.len < cap)
            be |= EPOLLIN;
        if (c->up.len > 0)
            be |= EPOLLOUT;
    }
    set_mask(p, &c->cl, cl);
    set_mask(p, &c->be, be);
}

static void on_side(struct ks_svc_proxy *p, struct side *s, uint32_t events)
{
    struct conn *c = s->c;
    bool progress = false, ok = true;
    if (c->dead)
        return;
    if (s == &c->be && c->connecting) {
        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
            err = errno;
        if (err == 0 && !(events & EPOLLERR)) {
            c->connecting = false;
            progress = true;
        } else {
            atomic_fetch_add(&p->failed, 1);
            if (conn_connect(p, c))
                update(p, c);
            return;
        }
    }
    bool is_cl = s == &c->cl;
    struct dir *in = is_cl ? &c->up : &c->down, *out = is_cl ? &c->down : &c->up;
    struct side *other = is_cl ? &c->be : &c->cl;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        ok = fill(p, in, s->fd, &progress);
    if (ok && !c->connecting && other->fd >= 0)
        ok = drain(in, other->fd, &progress);
    if (ok && (events & EPOLLOUT) && !(s == &c->be && c->connecting))
        ok = drain(out, s->fd, &progress);
    if (!ok || (!progress && (events & (EPOLLHUP | EPOLLERR)))) {
        conn_close(p, c, !ok);
        return;
    }
    update(p, c);
}

static void run_cmds(struct ks_svc_proxy *p)
{
    uint64_t v;
    if (read(p->wake, &v, sizeof(v)) < 0) { /* nothing to do: spurious */
    }
    pthread_mutex_lock(&p->qmu);
    struct cmd *q = p->q;
    p->q = NULL;
    pthread_mutex_unlock(&p->qmu);
    /* the queue is newest first: apply in order */
    struct cmd *rev = NULL;
    while (q) {
        struct cmd *n = q->next;
        q->next = rev;
        rev = q;
        q = n;
    }
    while (rev) {
        struct cmd *cm = rev;
        rev = cm->next;
        if (cm->add) {
            struct lst *l = calloc(1, sizeof(*l));
            struct epoll_event ev = {.events = EPOLLIN};
            if (l) {
                *l = (struct lst){.type = T_LISTENER,
                                  .fd = cm->fd,
                                  .id = cm->id,
                                  .port = cm->port,
                                  .node_port = cm->node_port};
                snprintf(l->key, sizeof(l->key), "%s", cm->key);
                ev.data.ptr = l;
            }
            if (!l || epoll_ctl(p->ep, EPOLL_CTL_ADD, cm->fd, &ev) < 0) {
                close(cm->fd);
                free(l);
            } else {
                l->next = p->lsts;
                p->lsts = l;
            }
        } else {
            for (struct lst *l = p->lsts; l; l = l->next)
                if (l->id == cm->id && !l->dead) {
                    close(l->fd);
                    l->fd = -1;
                    l->dead = true;
                }
        }
        free(cm);
    }
}

static void check_timeouts(struct ks_svc_proxy *p)
{
    int64_t now = mono_ms();
    for (struct conn *c = p->conns; c; c = c->next)
        if (!c->dead && c->connecting && now >= c->deadline_ms) {
            atomic_fetch_add(&p->failed, 1);
            if (conn_connect(p, c))
                update(p, c);
        }
}

static void sweep(struct ks_svc_proxy *p)
{
    for (struct conn **pc = &p->conns; *pc;) {
        if ((*pc)->dead) {
            struct conn *d = *pc;
            *pc = d->next;
            free(d);
        } else {
            pc = &(*pc)->next;
        }
    }
    for (struct lst **pl = &p->lsts; *pl;) {
        if ((*pl)->dead) {
            struct lst *d = *pl;
            *pl = d->next;
            free(d);
        } else {
            pl = &(*pl)->next;
        }
    }
}

static void *proxy_main(void *arg)
{
    struct ks_svc_proxy *p = arg;
    struct epoll_event evs[MAX_EVENTS];
    while (!atomic_load(&p->stop)) {
        int n = epoll_wait(p->ep, evs, MAX_EVENTS, 200);
        for (int i = 0; i < n; i++) {
            int type = *(int *)evs[i].data.ptr;
            if (type == T_WAKE) {
                run_cmds(p);
            } else if (type == T_LISTENER) {
                struct lst *l = evs[i].data.ptr;
                if (!l->dead)
                    accept_on(p, l);
            } else {
                on_side(p, evs[i].data.ptr, evs[i].events);
            }
        }
        check_timeouts(p);
        sweep(p);
    }
    return NULL;
}

int ks_svc_proxy_new(struct ks_svc_proxy **out, const struct ks_svc_proxy_opts *o)
{
    struct ks_svc_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return ks_error_set(KS_ENOMEM, "out of memory");
    p->o = *o;
    p->node = strdup(o->node ? o->node : "");
    p->o.node = p->node;
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    p->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->wake_type = T_WAKE;
    pthread_mutex_init(&p->qmu, NULL);
    atomic_init(&p->stop, false);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->wake_type};
    if (p->ep < 0 || p->wake < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, p->wake, &ev) < 0) {
        int e = errno;
        ks_svc_proxy_free(p);
        return ks_error_set(KS_EIO, "service proxy: epoll: %s", strerror(e));
    }
    if (ks_svc_thread_start(&p->th, proxy_main, p, 0) != 0) {
        ks_svc_proxy_free(p);
        return ks_error_set(KS_EIO, "service proxy: cannot start its thread");
    }
    p->started = true;
    *out = p;
    return 0;
}

static void push(struct ks_svc_proxy *p, struct cmd *cm)
{
    pthread_mutex_lock(&p->qmu);
    cm->next = p->q;
    p->q = cm;
    pthread_mutex_unlock(&p->qmu);
    uint64_t one = 1;
    if (write(p->wake, &one, sizeof(one)) < 0) { /* counter full: a wake is pending anyway */
    }
}

int ks_svc_proxy_add(struct ks_svc_proxy *p, uint64_t id, int fd, const char *key, int port,
                     bool node_port)
{
    struct cmd *cm = calloc(1, sizeof(*cm));
    if (!cm) {
        close(fd);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    *cm = (struct cmd){.add = true, .id = id, .fd = fd, .port = port, .node_port = node_port};
    snprintf(cm->key, sizeof(cm->key), "%s", key);
    push(p, cm);
    return 0;
}

void ks_svc_proxy_remove(struct ks_svc_proxy *p, uint64_t id)
{
    struct cmd *cm = calloc(1, sizeof(*cm));
    if (!cm)
        return;
    cm->id = id;
    push(p, cm);
}

void ks_svc_proxy_stats(const struct ks_svc_proxy *p, struct ks_svc_proxy_stats *out)
{
    out->accepted = atomic_load(&p->accepted);
    out->refused = atomic_load(&p->refused);
    out->failed_connects = atomic_load(&p->failed);
    out->open = atomic_load(&p->open);
}

void ks_svc_proxy_free(struct ks_svc_proxy *p)
{
    if (!p)
        return;
    if (p->started) {
        atomic_store(&p->stop, true);
        uint64_t one = 1;
        if (write(p->wake, &one, sizeof(one)) < 0) { /* the 200 ms wait ends it anyway */
        }
        pthread_join(p->th, NULL);
    }
    for (struct conn *c = p->conns; c; c = c->next)
        conn_close(p, c, false);
    for (struct lst *l = p->lsts; l; l = l->next)
        if (!l->dead) {
            close(l->fd);
            l->dead = true;
        }
    sweep(p);
    for (struct cmd *cm = p->q; cm;) {
        struct cmd *n = cm->next;
        if (cm->add)
            close(cm->fd);
        free(cm);
        cm = n;
    }
    if (p->ep >= 0)
        close(p->ep);
    if (p->wake >= 0)
        close(p->wake);
    pthread_mutex_destroy(&p->qmu);
    free(p->node);
    free(p);
}
