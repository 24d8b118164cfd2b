/*
 * services.c: the services manager thread. It finds this node's running
 * pods through Podman (the pod list filtered by io.keelson.node, then the
 * infra container's inspect for its PID and HostsPath: every container of
 * a Podman 4 pod bind-mounts the infra container's hosts file), and brings
 * each pod to what the table wants: clusterIPs on lo and one listener per
 * Service port inside the pod's network namespace (netns.c), the Service
 * names in its hosts file, and on the host one listener per nodePort. It
 * works by difference, so a pass that finds nothing changed does nothing
 * but read the hosts files (a pod restarted by Podman gets a new hosts
 * file and namespace, which the namespace inode tells). It runs when the
 * table changes, when the agent pokes it (pod events) and every rescan_ms.
 */
#include "nodeagent/services/services.h"

#include "core/deadline.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"
#include "nodeagent/podman/podman.h"
#include "nodeagent/services/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LABEL_NODE "io.keelson.node"
#define LABEL_POD "io.keelson.pod"

struct plst {
    struct ks_svc_listen l;
    uint64_t id;
};

struct pod {
    char *id, *infra, *ns, *name, *hosts_path;
    int pid;
    uint64_t nsid;
    char (*ips)[48]; /* clusterIPs added on its lo */
    size_t nips;
    struct plst *ls;
    size_t nls;
    bool seen;
};

struct ks_services {
    struct ks_services_opts o;
    char *node, *sock, *np_addr;
    pthread_mutex_t mu; /* the table (shared with the proxy thread) */
    struct ks_svc_table *t;
    pthread_mutex_t wmu; /* poke, stop */
    pthread_cond_t cv;
    bool poked, stop;
    pthread_t th;
    bool started;
    struct ks_svc_proxy *px;
    struct ks_podman *pm;
    uint64_t host_ns, next_id;
    /* manager thread only */
    struct pod *pods;
    size_t npods;
    struct plst *nps; /* node port listeners */
    size_t nnps;
    int *np_failed; /* ports whose bind failed last pass (warned once) */
    size_t nnp_failed;
    size_t nlisteners;
    bool warned_limit, warned_podman;
};

static void pod_free(struct pod *p)
{
    free(p->id);
    free(p->infra);
    free(p->ns);
    free(p->name);
    free(p->hosts_path);
    free(p->ips);
    free(p->ls);
}

static void pod_drop_listeners(struct ks_services *s, struct pod *p)
{
    for (size_t i = 0; i < p->nls; i++)
        ks_svc_proxy_remove(s->px, p->ls[i].id);
    s->nlisteners -= p->nls;
    p->nls = 0;
}

static bool same_listen(const struct ks_svc_listen *a, const struct ks_svc_listen *b)
{
    return a->port == b->port && strcmp(a->ip, b->ip) == 0 && strcmp(a->key, b->key) == 0;
}

static bool has_ip(char (*ips)[48], size_t n, const char *ip)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ips[i], ip) == 0)
            return true;
    return false;
}

/* Writes text over path in place (the file is bind-mounted into the pod's
 * containers: a rename would not reach them): new bytes first, then the
 * length, so a reader never sees an empty file. */
static int write_in_place(const char *path, const char *text)
{
    size_t len = strlen(text), off = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ks_error_set(KS_EIO, "hosts file %s: %s", path, strerror(errno));
    while (off < len) {
        ssize_t n = pwrite(fd, text + off, len - off, (off_t)off);
        if (n <= 0) {
            int e = errno;
            close(fd);
            return ks_error_set(KS_EIO, "hosts file %s: write: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    int rc = ftruncate(fd, (off_t)len) < 0
                 ? ks_error_set(KS_EIO, "hosts file %s: %s", path, strerror(errno))
                 : 0;
    close(fd);
    return rc;
}

static void pod_hosts(struct pod *p, const char *block)
{
    char *cur = NULL, *next = NULL;
    size_t n = 0;
    if (!p->hosts_path || !*p->hosts_path)
        return;
    if (ks_file_read(&cur, &n, p->hosts_path, KS_SVC_MAX_HOSTS) < 0) {
        ks_log(KS_LOG_WARN, "services: cannot read the pod's hosts file", "pod", p->name, "error",
               ks_error_last(), NULL);
        return;
    }
    if (ks_svc_hosts_merge(&next, cur, block) < 0) {
        ks_log(KS_LOG_WARN, "services: hosts file not updated", "pod", p->name, "error",
               ks_error_last(), NULL);
    } else if (strcmp(next, cur) != 0) {
        if (write_in_place(p->hosts_path, next) < 0)
            ks_log(KS_LOG_WARN, "services: cannot update the pod's hosts file", "pod", p->name,
                   "error", ks_error_last(), NULL);
        else
            ks_log(KS_LOG_DEBUG, "services: hosts file updated", "pod", p->name, NULL);
    }
    free(cur);
    free(next);
}

/* Brings pod p to the wanted listeners and addresses. */
static void pod_apply(struct ks_services *s, struct pod *p, const struct ks_svc_listen *want,
                      size_t nwant, char (*ips)[48], size_t nips)
{
    char(*add)[48] = NULL, (*del)[48] = NULL;
    struct ks_svc_listen *open_ls = NULL;
    int *fds = NULL;
    size_t nadd = 0, ndel = 0, nopen = 0;
    /* listeners no longer wanted */
    for (size_t i = 0; i < p->nls;) {
        bool keep = false;
        for (size_t j = 0; j < nwant && !keep; j++)
            keep = same_listen(&p->ls[i].l, &want[j]);
        if (keep) {
            i++;
            continue;
        }
        ks_svc_proxy_remove(s->px, p->ls[i].id);
        s->nlisteners--;
        p->ls[i] = p->ls[--p->nls];
    }
    if (nips)
        add = calloc(nips, sizeof(*add));
    if (p->nips)
        del = calloc(p->nips, sizeof(*del));
    if (nwant) {
        open_ls = calloc(nwant, sizeof(*open_ls));
        fds = calloc(nwant, sizeof(*fds));
    }
    if ((nips && !add) || (p->nips && !del) || (nwant && (!open_ls || !fds)))
        goto done;
    for (size_t i = 0; i < nips; i++)
        if (!has_ip(p->ips, p->nips, ips[i]))
            memcpy(add[nadd++], ips[i], sizeof(*add));
    for (size_t i = 0; i < p->nips; i++)
        if (!has_ip(ips, nips, p->ips[i]))
            memcpy(del[ndel++], p->ips[i], sizeof(*del));
    for (size_t j = 0; j < nwant; j++) {
        bool have = false;
        for (size_t i = 0; i < p->nls && !have; i++)
            have = same_listen(&p->ls[i].l, &want[j]);
        if (have)
            continue;
        if (s->nlisteners + nopen >= s->o.max_listeners) {
            if (!s->warned_limit)
                ks_log(KS_LOG_WARN,
                       "services: listener limit reached; some Service ports are "
                       "not reachable from some pods",
                       "limit", "max_listeners", "pod", p->name, NULL);
            s->warned_limit = true;
            break;
        }
        open_ls[nopen++] = want[j];
    }
    if (!nadd && !ndel && !nopen)
        goto done;
    struct ks_svc_nswork w = {.add_ips = (const char(*)[48])add,
                              .nadd = nadd,
                              .del_ips = (const char(*)[48])del,
                              .ndel = ndel,
                              .listen = open_ls,
                              .nlisten = nopen,
                              .fds = fds};
    if (ks_svc_netns_do(p->pid, &w) < 0) {
        ks_log(KS_LOG_WARN, "services: cannot enter the pod's network namespace", "pod", p->name,
               "error", ks_error_last(), NULL);
        goto done;
    }
    if (w.err) {
        /* the addresses are tried again next pass (adding one already
         * there and removing one already gone both succeed) */
        ks_log(KS_LOG_WARN, "services: pod network setup incomplete (retried)", "pod", p->name,
               "error", w.err, NULL);
        free(w.err);
    } else {
        free(p->ips);
        p->ips = NULL;
        p->nips = 0;
        if (nips && (p->ips = calloc(nips, sizeof(*p->ips))))
            for (size_t i = 0; i < nips; i++)
                memcpy(p->ips[p->nips++], ips[i], sizeof(*ips));
    }
    struct plst *nl = realloc(p->ls, (p->nls + nopen + 1) * sizeof(*nl));
    if (!nl) {
        for (size_t i = 0; i < nopen; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        goto done;
    }
    p->ls = nl;
    size_t opened = 0;
    for (size_t i = 0; i < nopen; i++) {
        if (fds[i] < 0)
            continue;
        uint64_t id = ++s->next_id;
        if (ks_svc_proxy_add(s->px, id, fds[i], open_ls[i].key, open_ls[i].port, false) < 0)
            continue;
        p->ls[p->nls++] = (struct plst){.l = open_ls[i], .id = id};
        s->nlisteners++;
        opened++;
    }
    if (opened || nadd || ndel) {
        char o[24], t[24];
        snprintf(o, sizeof(o), "%zu", opened);
        snprintf(t, sizeof(t), "%zu", p->nls);
        ks_log(KS_LOG_INFO, "services: pod set up", "pod", p->name, "listeners_opened", o,
               "listeners", t, NULL);
    }
done:
    free(add);
    free(del);
    free(open_ls);
    free(fds);
}

static struct pod *find_pod(struct ks_services *s, const char *id)
{
    for (size_t i = 0; i < s->npods; i++)
        if (strcmp(s->pods[i].id, id) == 0)
            return &s->pods[i];
    return NULL;
}

/* The infra container's PID and hosts file; false when it does not run
 * (or shares the host's network: hostNetwork pods get no Services). */
static bool infra_facts(struct ks_services *s, const char *infra, int *pid, char **hosts)
{
    json_t *in = NULL;
    if (ks_podman_container_inspect(&in, s->pm, infra) < 0)
        return false;
    const json_t *st = json_object_get(in, "State");
    json_int_t p = json_integer_value(json_object_get(st, "Pid"));
    const char *h = json_string_value(json_object_get(in, "HostsPath"));
    bool ok = json_is_true(json_object_get(st, "Running")) && p > 0 &&
              ks_svc_netns_id((int)p) != s->host_ns;
    if (ok) {
        *pid = (int)p;
        *hosts = strdup(h ? h : "");
    }
    json_decref(in);
    return ok;
}

/* Updates s->pods from Podman: new pods are added (nothing set up yet),
 * pods gone or restarted lose their listeners. */
static void scan_pods(struct ks_services *s)
{
    char sel[300];
    json_t *list = NULL, *e;
    size_t i;
    snprintf(sel, sizeof(sel), "%s=%s", LABEL_NODE, s->node);
    const char *labels[] = {sel, NULL};
    if (ks_podman_pod_list(&list, s->pm, labels) < 0) {
        if (!s->warned_podman)
            ks_log(KS_LOG_WARN, "services: cannot list pods; retrying", "error", ks_error_last(),
                   NULL);
        s->warned_podman = true;
        return;
    }
    s->warned_podman = false;
    for (size_t k = 0; k < s->npods; k++)
        s->pods[k].seen = false;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "Id"));
        const char *infra = json_string_value(json_object_get(e, "InfraId"));
        const char *status = json_string_value(json_object_get(e, "Status"));
        const char *key =
            json_string_value(json_object_get(json_object_get(e, "Labels"), LABEL_POD));
        if (!id || !infra || !*infra || !status ||
            (strcmp(status, "Running") != 0 && strcmp(status, "Degraded") != 0))
            continue;
        struct pod *p = find_pod(s, id);
        if (p && strcmp(p->infra, infra) == 0 && ks_svc_netns_id(p->pid) == p->nsid) {
            p->seen = true;
            continue;
        }
        int pid = 0;
        char *hosts = NULL;
        if (!infra_facts(s, infra, &pid, &hosts))
            continue;
        if (p) { /* restarted: a new namespace and hosts file */
            pod_drop_listeners(s, p);
            free(p->ips);
            p->ips = NULL;
            p->nips = 0;
        } else {
            struct pod *n = realloc(s->pods, (s->npods + 1) * sizeof(*n));
            if (!n) {
                free(hosts);
                continue;
            }
            s->pods = n;
            p = &s->pods[s->npods++];
            memset(p, 0, sizeof(*p));
            p->id = strdup(id);
            const char *slash = key ? strchr(key, '/') : NULL;
            p->ns = slash ? ks_strndup(key, (size_t)(slash - key)) : strdup("default");
            p->name = strdup(key ? key : id);
        }
        free(p->infra);
        free(p->hosts_path);
        p->infra = strdup(infra);
        p->hosts_path = hosts;
        p->pid = pid;
        p->nsid = ks_svc_netns_id(pid);
        p->seen = true;
        ks_log(KS_LOG_DEBUG, "services: pod found", "pod", p->name, NULL);
    }
    json_decref(list);
    for (size_t k = 0; k < s->npods;) {
        if (s->pods[k].seen) {
            k++;
            continue;
        }
        ks_log(KS_LOG_DEBUG, "services: pod gone", "pod", s->pods[k].name, NULL);
        pod_drop_listeners(s, &s->pods[k]);
        pod_free(&s->pods[k]);
        s->pods[k] = s->pods[--s->npods];
    }
}

static bool np_warned(struct ks_services *s, int port)
{
    for (size_t i = 0; i < s->nnp_failed; i++)
        if (s->np_failed[i] == port)
            return true;
    return false;
}

static void node_ports_apply(struct ks_services *s, const struct ks_svc_listen *want, size_t n)
{
    for (size_t i = 0; i < s->nnps;) {
        bool keep = false;
        for (size_t j = 0; j < n && !keep; j++)
            keep = same_listen(&s->nps[i].l, &want[j]);
        if (keep) {
            i++;
            continue;
        }
        ks_svc_proxy_remove(s->px, s->nps[i].id);
        s->nlisteners--;
        s->nps[i] = s->nps[--s->nnps];
    }
    int *failed = n ? calloc(n, sizeof(*failed)) : NULL;
    size_t nfailed = 0;
    for (size_t j = 0; j < n; j++) {
        bool have = false;
        for (size_t i = 0; i < s->nnps && !have; i++)
            have = same_listen(&s->nps[i].l, &want[j]);
        if (have)
            continue;
        if (s->nlisteners >= s->o.max_listeners)
            break;
        struct plst *nl = realloc(s->nps, (s->nnps + 1) * sizeof(*nl));
        if (!nl)
            break;
        s->nps = nl;
        int fd = ks_svc_listen_socket(s->np_addr, want[j].port);
        if (fd < 0) {
            if (!np_warned(s, want[j].port)) {
                char port[16];
                snprintf(port, sizeof(port), "%d", want[j].port);
                ks_log(KS_LOG_WARN, "services: cannot listen on a nodePort (retried)", "service",
                       want[j].key, "address", s->np_addr, "port", port, "error", strerror(errno),
                       NULL);
            }
            if (failed)
                failed[nfailed++] = want[j].port;
            continue;
        }
        uint64_t id = ++s->next_id;
        if (ks_svc_proxy_add(s->px, id, fd, want[j].key, want[j].port, true) < 0)
            continue;
        s->nps[s->nnps++] = (struct plst){.l = want[j], .id = id};
        s->nlisteners++;
        char port[16];
        snprintf(port, sizeof(port), "%d", want[j].port);
        ks_log(KS_LOG_INFO, "services: nodePort listening", "service", want[j].key, "address",
               s->np_addr, "port", port, NULL);
    }
    free(s->np_failed);
    s->np_failed = failed;
    s->nnp_failed = nfailed;
}

/* Namespace -> hosts block, computed once per pass. */
struct blocks {
    char **ns, **text;
    size_t n;
};

static const char *block_for(struct ks_services *s, struct blocks *b, const char *ns)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ns[i], ns) == 0)
            return b->text[i];
    char *text = NULL;
    pthread_mutex_lock(&s->mu);
    int rc = ks_svc_table_hosts_block(&text, s->t, ns);
    pthread_mutex_unlock(&s->mu);
    char **nn = realloc(b->ns, (b->n + 1) * sizeof(*nn));
    if (nn)
        b->ns = nn;
    char **nt = realloc(b->text, (b->n + 1) * sizeof(*nt));
    if (nt)
        b->text = nt;
    if (rc < 0 || !nn || !nt) {
        ks_log(KS_LOG_WARN, "services: no hosts lines for a namespace", "namespace", ns, "error",
               rc < 0 ? ks_error_last() : "out of memory", NULL);
        free(text);
        return NULL;
    }
    b->ns[b->n] = strdup(ns);
    b->text[b->n++] = text;
    return text;
}

static void pass(struct ks_services *s)
{
    struct ks_svc_listen *cl = NULL, *np = NULL;
    char(*ips)[48] = NULL;
    size_t ncl = 0, nnp = 0, nips = 0;
    struct blocks b = {0};
    pthread_mutex_lock(&s->mu);
    int rc = ks_svc_table_cluster_listeners(&cl, &ncl, s->t);
    if (rc == 0)
        rc = ks_svc_table_node_listeners(&np, &nnp, s->t);
    if (rc == 0)
        rc = ks_svc_table_cluster_ips(&ips, &nips, s->t);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        goto done;
    if (s->pm) {
        scan_pods(s);
        for (size_t i = 0; i < s->npods; i++) {
            pod_apply(s, &s->pods[i], cl, ncl, ips, nips);
            const char *block = block_for(s, &b, s->pods[i].ns);
            if (block)
                pod_hosts(&s->pods[i], block);
        }
    }
    node_ports_apply(s, np, nnp);
done:
    for (size_t i = 0; i < b.n; i++) {
        free(b.ns[i]);
        free(b.text[i]);
    }
    free(b.ns);
    free(b.text);
    free(cl);
    free(np);
    free(ips);
}

static void *manager_main(void *arg)
{
    struct ks_services *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->wmu);
        if (!s->poked && !s->stop) {
            struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, s->o.rescan_ms);
            pthread_cond_timedwait(&s->cv, &s->wmu, &ts);
        }
        bool stop = s->stop;
        s->poked = false;
        pthread_mutex_unlock(&s->wmu);
        if (stop)
            break;
        pass(s);
    }
    return NULL;
}

void ks_services_poke(struct ks_services *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->wmu);
    s->poked = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->wmu);
}

void ks_services_list(struct ks_services *s, size_t src, const char *kind, const json_t *items)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    uint64_t gen = ks_svc_table_generation(s->t);
    ks_svc_table_replace(s->t, src, kind, items);
    bool changed = ks_svc_table_generation(s->t) != gen;
    pthread_mutex_unlock(&s->mu);
    if (changed)
        ks_services_poke(s);
}

void ks_services_change(struct ks_services *s, size_t src, const json_t *change)
{
    const char *type = json_string_value(json_object_get(change, "type"));
    const char *kind = json_string_value(json_object_get(change, "kind"));
    if (!s || !type || !kind || (strcmp(kind, "Service") != 0 && strcmp(kind, "Endpoints") != 0))
        return;
    pthread_mutex_lock(&s->mu);
    uint64_t gen = ks_svc_table_generation(s->t);
    if (strcmp(type, "put") == 0) {
        if (ks_svc_table_put(s->t, src, kind, json_object_get(change, "object")) < 0)
            ks_log(KS_LOG_WARN, "services: object ignored", "kind", kind, "error", ks_error_last(),
                   NULL);
    } else if (strcmp(type, "delete") == 0) {
        ks_svc_table_delete(s->t, src, kind,
                            json_string_value(json_object_get(change, "namespace")),
                            json_string_value(json_object_get(change, "name")));
    }
    bool changed = ks_svc_table_generation(s->t) != gen;
    pthread_mutex_unlock(&s->mu);
    if (changed)
        ks_services_poke(s);
}

/* Each pod costs a listener per Service port and each connection two
 * descriptors: use the hard limit, not the 1024 soft default. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int ks_services_new(struct ks_services **out, const struct ks_services_opts *opts)
{
    struct ks_services *s = calloc(1, sizeof(*s));
    int rc;
    if (!s)
        return ks_error_set(KS_ENOMEM, "out of memory");
    s->o = *opts;
    s->node = strdup(opts->node ? opts->node : "");
    s->sock = opts->podman_socket ? strdup(opts->podman_socket) : NULL;
    s->np_addr = strdup(opts->nodeport_address && *opts->nodeport_address ? opts->nodeport_address
                                                                          : "0.0.0.0");
    if (!s->o.max_conns)
        s->o.max_conns = KS_SERVICES_DEFAULT_MAX_CONNS;
    if (!s->o.max_listeners)
        s->o.max_listeners = KS_SERVICES_DEFAULT_MAX_LISTENERS;
    if (!s->o.buf_bytes)
        s->o.buf_bytes = KS_SERVICES_DEFAULT_BUF;
    if (s->o.rescan_ms <= 0)
        s->o.rescan_ms = 5000;
    if (s->o.connect_timeout_ms <= 0)
        s->o.connect_timeout_ms = 3000;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->host_ns = ks_svc_netns_id(0);
    int fd = ks_svc_listen_socket(s->np_addr, 0);
    if (fd < 0) {
        rc = ks_error_set(KS_EINVALID, "node port address %s: %s", s->np_addr, strerror(errno));
        goto fail;
    }
    close(fd);
    if ((rc = ks_svc_table_new(&s->t)) < 0)
        goto fail;
    if (s->sock && (rc = ks_podman_new(&s->pm, s->sock, NULL)) < 0)
        goto fail;
    raise_nofile();
    struct ks_svc_proxy_opts po = {.table = s->t,
                                   .mu = &s->mu,
                                   .node = s->node,
                                   .all_nodes = s->o.routable_pod_network,
                                   .max_conns = s->o.max_conns,
                                   .buf_bytes = s->o.buf_bytes,
                                   .connect_timeout_ms = s->o.connect_timeout_ms,
                                   .attempts = 3};
    if ((rc = ks_svc_proxy_new(&s->px, &po)) < 0)
        goto fail;
    if (ks_svc_thread_start(&s->th, manager_main, s, 0) != 0) {
        rc = ks_error_set(KS_EIO, "services: cannot start the manager thread");
        goto fail;
    }
    s->started = true;
    *out = s;
    return 0;
fail:
    ks_services_free(s);
    return rc;
}

void ks_services_free(struct ks_services *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->wmu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->wmu);
        pthread_join(s->th, NULL);
    }
    ks_svc_proxy_free(s->px); /* closes every listener and connection */
    for (size_t i = 0; i < s->npods; i++)
        pod_free(&s->pods[i]);
    free(s->pods);
    free(s->nps);
    free(s->np_failed);
    ks_podman_free(s->pm);
    ks_svc_table_free(s->t);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->cv);
    free(s->node);
    free(s->sock);
    free(s->np_addr);
    free(s);
}
