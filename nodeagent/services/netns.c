/*
 * netns.c: work inside one pod's network namespace. The agent never moves
 * its own threads: each batch runs on a fresh thread that setns()es into
 * /proc/<infra pid>/ns/net, adds or removes the Services' clusterIPs on
 * the pod's lo over rtnetlink and opens the listening sockets there, then
 * exits (a thread's namespace dies with it, the sockets keep theirs). The
 * proxy thread, in the host's namespace, accepts on those sockets and
 * connects to the backends from the host: nothing is added to the host.
 * Needs CAP_SYS_ADMIN (setns) and CAP_NET_ADMIN in the pod's namespace:
 * the agent runs as root with rootful Podman.
 */
#include "nodeagent/services/internal.h"

#include "core/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511

int ks_svc_listen_socket(const char *ip, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip && *ip ? ip : "0.0.0.0", &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* RTM_NEWADDR / RTM_DELADDR of ip/32 on lo; 0 or -errno. */
static int lo_addr(const char *ip, bool add)
{
    struct {
        struct nlmsghdr nh;
        struct ifaddrmsg ifa;
        char attrs[64];
    } req;
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return -EINVAL;
    unsigned idx = if_nametoindex("lo");
    if (!idx)
        return -errno;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.nh.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
    req.nh.nlmsg_seq = 1;
    req.ifa.ifa_family = AF_INET;
    req.ifa.ifa_prefixlen = 32;
    req.ifa.ifa_scope = RT_SCOPE_HOST;
    req.ifa.ifa_index = idx;
    unsigned short types[2] = {IFA_LOCAL, IFA_ADDRESS};
    for (int i = 0; i < 2; i++) {
        struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
        rta->rta_type = types[i];
        rta->rta_len = RTA_LENGTH(sizeof(a));
        memcpy(RTA_DATA(rta), &a, sizeof(a));
        req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        goto done;
    }
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
        rc = -errno;
        goto done;
    }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        rc = e->error;
    }
    /* already there / already gone: the wanted state */
    if ((add && rc == -EEXIST) || (!add && rc == -EADDRNOTAVAIL))
        rc = 0;
done:
    close(fd);
    return rc;
}

struct job {
    int nsfd;
    struct ks_svc_nswork *w;
    int err; /* errno of setns */
};

static void note(struct ks_svc_nswork *w, const char *what, const char *ip, int port, int err)
{
    if (w->err)
        return;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s %s%s%.0d: %s", what, ip, port ? ":" : "", port, strerror(err));
    w->err = strdup(msg);
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct ks_svc_nswork *w = j->w;
    if (setns(j->nsfd, CLONE_NEWNET) < 0) {
        j->err = errno;
        return NULL;
    }
    for (size_t i = 0; i < w->ndel; i++) {
        int rc = lo_addr(w->del_ips[i], false);
        if (rc < 0)
            note(w, "removing address", w->del_ips[i], 0, -rc);
    }
    for (size_t i = 0; i < w->nadd; i++) {
        int rc = lo_addr(w->add_ips[i], true);
        if (rc < 0)
            note(w, "adding address", w->add_ips[i], 0, -rc);
    }
    for (size_t i = 0; i < w->nlisten; i++) {
        w->fds[i] = ks_svc_listen_socket(w->listen[i].ip, w->listen[i].port);
        if (w->fds[i] < 0)
            note(w, "listening on", w->listen[i].ip, w->listen[i].port, errno);
    }
    return NULL;
}

int ks_svc_thread_start(pthread_t *out, void *(*fn)(void *), void *arg, size_t stack_kib)
{
    sigset_t all, old;
    pthread_attr_t at;
    pthread_attr_init(&at);
    if (stack_kib)
        pthread_attr_setstacksize(&at, stack_kib * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(out, &at, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    return rc;
}

int ks_svc_netns_do(int pid, struct ks_svc_nswork *w)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
    w->err = NULL;
    for (size_t i = 0; i < w->nlisten; i++)
        w->fds[i] = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ks_error_set(errno == ENOENT || errno == ESRCH ? KS_ENOTFOUND : KS_EIO,
                            "network namespace %s: %s", path, strerror(errno));
    struct job j = {.nsfd = fd, .w = w};
    pthread_t th;
    int rc = ks_svc_thread_start(&th, job_main, &j, 256);
    if (rc != 0) {
        close(fd);
        return ks_error_set(KS_EIO, "network namespace %s: cannot start a thread: %s", path,
                            strerror(rc));
    }
    pthread_join(th, NULL);
    close(fd);
    if (j.err)
        return ks_error_set(KS_EIO, "network namespace %s: setns: %s (the agent needs root)", path,
                            strerror(j.err));
    return 0;
}

uint64_t ks_svc_netns_id(int pid)
{
    char path[64];
    struct stat st;
    if (pid > 0)
        snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
    else
        snprintf(path, sizeof(path), "/proc/self/ns/net");
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}
