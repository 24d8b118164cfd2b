/*
 * table.c: the Services and Endpoints one node agent knows, and the pure
 * decisions made from them: the listeners every pod and the host need,
 * the round-robin choice of a ready backend, the hosts lines of a pod.
 * Kept apart from sockets and threads so that it is unit-tested on JSON
 * alone (tests/unit/nodeagent/test_services_table.c). Not thread-safe: the
 * caller (services.c) holds one mutex around every call.
 */
#include "nodeagent/services/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct port {
    char name[64];
    int port, node_port;
    bool tcp;
    uint64_t rr; /* round-robin position */
};

struct svc {
    char key[KS_SVC_MAX_KEY];
    size_t src;
    json_t *spec; /* own ref: tells an unchanged put */
    char ip[48];  /* "" when none (not allocated yet, ExternalName) */
    bool headless, node_ports, ext_local, int_local;
    struct port *ports;
    size_t nports;
};

struct eps {
    char key[KS_SVC_MAX_KEY];
    size_t src;
    json_t *subsets; /* own ref */
};

struct ks_svc_table {
    struct svc *svcs;
    size_t nsvcs, capsvcs;
    struct eps *eps;
    size_t neps, capeps;
    uint64_t gen;
};

int ks_svc_table_new(struct ks_svc_table **out)
{
    struct ks_svc_table *t = calloc(1, sizeof(*t));
    if (!t)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out = t;
    return 0;
}

static void svc_clear(struct svc *s)
{
    json_decref(s->spec);
    free(s->ports);
}

void ks_svc_table_free(struct ks_svc_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nsvcs; i++)
        svc_clear(&t->svcs[i]);
    for (size_t i = 0; i < t->neps; i++)
        json_decref(t->eps[i].subsets);
    free(t->svcs);
    free(t->eps);
    free(t);
}

uint64_t ks_svc_table_generation(const struct ks_svc_table *t)
{
    return t->gen;
}

/* Names end up in hosts files: DNS labels only (RFC 1123, as Kubernetes
 * requires of Service names and namespaces). */
static bool dns_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return false;
    return true;
}

static int object_key(char out[KS_SVC_MAX_KEY], const json_t *obj, const char *kind)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!ns || !*ns)
        ns = "default";
    if (!name || !dns_name(name) || !dns_name(ns))
        return ks_error_set(KS_EINVALID,
                            "%s %s/%s: namespace and name must be DNS names (a-z, 0-9, '-', '.')",
                            kind, ns, name ? name : "(no name)");
    snprintf(out, KS_SVC_MAX_KEY, "%s/%s", ns, name);
    return 0;
}

static bool ipv4(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

static bool ip_any(const char *s)
{
    struct in6_addr a;
    return s && strlen(s) < 48 && (ipv4(s) || inet_pton(AF_INET6, s, &a) == 1);
}

static int svc_parse(struct svc *out, const json_t *obj, const char *key)
{
    const json_t *spec = json_object_get(obj, "spec");
    const char *type = json_string_value(json_object_get(spec, "type"));
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    const char *etp = json_string_value(json_object_get(spec, "externalTrafficPolicy"));
    const char *itp = json_string_value(json_object_get(spec, "internalTrafficPolicy"));
    const json_t *ports = json_object_get(spec, "ports");
    struct svc s = {0};
    size_t i;
    json_t *p;
    snprintf(s.key, sizeof(s.key), "%s", key);
    type = type ? type : "ClusterIP";
    if (strcmp(type, "ExternalName") == 0)
        ip = NULL; /* a DNS alias elsewhere: nothing to proxy */
    if (ip && strcmp(ip, "None") == 0) {
        s.headless = true;
    } else if (ip && *ip) {
        if (!ipv4(ip))
            return ks_error_set(KS_EINVALID,
                                "Service %s: spec.clusterIP \"%s\" is not an IPv4 address "
                                "(only IPv4 is proxied)",
                                key, ip);
        snprintf(s.ip, sizeof(s.ip), "%s", ip);
    }
    s.node_ports = strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0;
    s.ext_local = etp && strcmp(etp, "Local") == 0;
    s.int_local = itp && strcmp(itp, "Local") == 0;
    if (ports && !json_is_array(ports))
        return ks_error_set(KS_EINVALID, "Service %s: spec.ports must be a list", key);
    if (json_array_size(ports) > KS_SVC_MAX_PORTS)
        return ks_error_set(KS_ELIMIT, "Service %s: %zu ports, over the limit of %d", key,
                            json_array_size(ports), KS_SVC_MAX_PORTS);
    if (json_array_size(ports) && !(s.ports = calloc(json_array_size(ports), sizeof(*s.ports))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_array_foreach(ports, i, p)
    {
        struct port *sp = &s.ports[s.nports];
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *proto = json_string_value(json_object_get(p, "protocol"));
        if (port < 1 || port > 65535 || np < 0 || np > 65535 || (name && strlen(name) >= 64)) {
            free(s.ports);
            return ks_error_set(KS_EINVALID,
                                "Service %s: spec.ports[%zu]: port and nodePort must be 1-65535, "
                                "name at most 63 characters",
                                key, i);
        }
        snprintf(sp->name, sizeof(sp->name), "%s", name ? name : "");
        sp->port = (int)port;
        sp->node_port = s.node_ports ? (int)np : 0;
        sp->tcp = !proto || strcmp(proto, "TCP") == 0;
        s.nports++;
    }
    s.spec = json_deep_copy(spec ? spec : json_null());
    *out = s;
    return 0;
}

static struct svc *find_svc(const struct ks_svc_table *t, const char *key)
{
    for (size_t i = 0; i < t->nsvcs; i++)
        if (strcmp(t->svcs[i].key, key) == 0)
            return &t->svcs[i];
    return NULL;
}

static struct eps *find_eps(const struct ks_svc_table *t, const char *key)
{
    for (size_t i = 0; i < t->neps; i++)
        if (strcmp(t->eps[i].key, key) == 0)
            return &t->eps[i];
    return NULL;
}

static int put_service(struct ks_svc_table *t, size_t src, const json_t *obj)
{
    char key[KS_SVC_MAX_KEY];
    struct svc s;
    int rc = object_key(key, obj, "Service");
    if (rc < 0)
        return rc;
    struct svc *old = find_svc(t, key);
    if (old && json_equal(old->spec, json_object_get(obj, "spec"))) {
        old->src = src;
        return 0;
    }
    if (!old && t->nsvcs >= KS_SVC_MAX_SERVICES)
        return ks_error_set(KS_ELIMIT, "Service %s: over the limit of %d Services on a node", key,
                            KS_SVC_MAX_SERVICES);
    if ((rc = svc_parse(&s, obj, key)) < 0)
        return rc;
    s.src = src;
    if (old) {
        /* keep spreading where it was for ports that stay */
        for (size_t i = 0; i < s.nports; i++)
            for (size_t j = 0; j < old->nports; j++)
                if (old->ports[j].port == s.ports[i].port)
                    s.ports[i].rr = old->ports[j].rr;
        svc_clear(old);
        *old = s;
    } else {
        if (t->nsvcs == t->capsvcs) {
            size_t cap = t->capsvcs ? t->capsvcs * 2 : 16;
            struct svc *n = realloc(t->svcs, cap * sizeof(*n));
            if (!n) {
                svc_clear(&s);
                return ks_error_set(KS_ENOMEM, "out of memory");
            }
            t->svcs = n;
            t->capsvcs = cap;
        }
        t->svcs[t->nsvcs++] = s;
    }
    t->gen++;
    return 0;
}

static int put_endpoints(struct ks_svc_table *t, size_t src, const json_t *obj)
{
    char key[KS_SVC_MAX_KEY];
    int rc = object_key(key, obj, "Endpoints");
    if (rc < 0)
        return rc;
    const json_t *subsets = json_object_get(obj, "subsets");
    if (subsets && !json_is_array(subsets))
        return ks_error_set(KS_EINVALID, "Endpoints %s: subsets must be a list", key);
    json_t *copy = subsets ? json_deep_copy(subsets) : json_array();
    struct eps *e = find_eps(t, key);
    if (e) {
        e->src = src;
        if (json_equal(e->subsets, copy)) {
            json_decref(copy);
            return 0;
        }
        json_decref(e->subsets);
        e->subsets = copy;
        t->gen++;
        return 0;
    }
    if (t->neps >= KS_SVC_MAX_SERVICES) {
        json_decref(copy);
        return ks_error_set(KS_ELIMIT, "Endpoints %s: over the limit of %d on a node", key,
                            KS_SVC_MAX_SERVICES);
    }
    if (t->neps == t->capeps) {
        size_t cap = t->capeps ? t->capeps * 2 : 16;
        struct eps *n = realloc(t->eps, cap * sizeof(*n));
        if (!n) {
            json_decref(copy);
            return ks_error_set(KS_ENOMEM, "out of memory");
        }
        t->eps = n;
        t->capeps = cap;
    }
    e = &t->eps[t->neps++];
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->src = src;
    e->subsets = copy;
    t->gen++;
    return 0;
}

int ks_svc_table_put(struct ks_svc_table *t, size_t src, const char *kind, const json_t *obj)
{
    if (!json_is_object(obj))
        return ks_error_set(KS_EINVALID, "%s: not an object", kind);
    if (strcmp(kind, "Service") == 0)
        return put_service(t, src, obj);
    if (strcmp(kind, "Endpoints") == 0)
        return put_endpoints(t, src, obj);
    return ks_error_set(KS_EINVALID, "services: kind %s is neither Service nor Endpoints", kind);
}

void ks_svc_table_delete(struct ks_svc_table *t, size_t src, const char *kind, const char *ns,
                         const char *name)
{
    char key[KS_SVC_MAX_KEY];
    snprintf(key, sizeof(key), "%s/%s", ns && *ns ? ns : "default", name ? name : "");
    if (strcmp(kind, "Service") == 0) {
        struct svc *s = find_svc(t, key);
        if (s && s->src == src) {
            svc_clear(s);
            *s = t->svcs[--t->nsvcs];
            t->gen++;
        }
    } else if (strcmp(kind, "Endpoints") == 0) {
        struct eps *e = find_eps(t, key);
        if (e && e->src == src) {
            json_decref(e->subsets);
            *e = t->eps[--t->neps];
            t->gen++;
        }
    }
}

static bool listed(const json_t *items, const char *key)
{
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        char k[KS_SVC_MAX_KEY];
        if (object_key(k, o, "object") == 0 && strcmp(k, key) == 0)
            return true;
    }
    return false;
}

int ks_svc_table_replace(struct ks_svc_table *t, size_t src, const char *kind, const json_t *items)
{
    int first = 0;
    size_t i;
    json_t *o;
    if (!json_is_array(items))
        return ks_error_set(KS_EINVALID, "%s list: not an array", kind);
    json_array_foreach(items, i, o)
    {
        int rc = ks_svc_table_put(t, src, kind, o);
        if (rc < 0) {
            ks_log(KS_LOG_WARN, "services: object ignored", "kind", kind, "error", ks_error_last(),
                   NULL);
            first = first ? first : rc;
        }
    }
    bool svc = strcmp(kind, "Service") == 0;
    size_t n = svc ? t->nsvcs : t->neps;
    for (size_t k = n; k-- > 0;) {
        const char *key = svc ? t->svcs[k].key : t->eps[k].key;
        size_t from = svc ? t->svcs[k].src : t->eps[k].src;
        if (from != src || listed(items, key))
            continue;
        char ns[KS_SVC_MAX_KEY];
        snprintf(ns, sizeof(ns), "%s", key);
        char *slash = strchr(ns, '/');
        *slash = '\0';
        ks_svc_table_delete(t, src, kind, ns, slash + 1);
    }
    return first;
}

static int by_key(const void *a, const void *b)
{
    const struct ks_svc_listen *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->port - y->port;
}

static int listeners(struct ks_svc_listen **out, size_t *out_n, const struct ks_svc_table *t,
                     bool node)
{
    struct ks_svc_listen *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < t->nsvcs; i++) {
        const struct svc *s = &t->svcs[i];
        if (node ? !s->node_ports : !*s->ip)
            continue;
        for (size_t j = 0; j < s->nports; j++) {
            const struct port *p = &s->ports[j];
            if (!p->tcp || (node && !p->node_port))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                struct ks_svc_listen *nv = realloc(v, cap * sizeof(*nv));
                if (!nv) {
                    free(v);
                    return ks_error_set(KS_ENOMEM, "out of memory");
                }
                v = nv;
            }
            struct ks_svc_listen *l = &v[n++];
            memset(l, 0, sizeof(*l));
            snprintf(l->ip, sizeof(l->ip), "%s", node ? "" : s->ip);
            l->port = node ? p->node_port : p->port;
            snprintf(l->key, sizeof(l->key), "%s", s->key);
        }
    }
    if (n)
        qsort(v, n, sizeof(*v), by_key);
    *out = v;
    *out_n = n;
    return 0;
}

int ks_svc_table_cluster_listeners(struct ks_svc_listen **out, size_t *out_n,
                                   const struct ks_svc_table *t)
{
    return listeners(out, out_n, t, false);
}

int ks_svc_table_node_listeners(struct ks_svc_listen **out, size_t *out_n,
                                const struct ks_svc_table *t)
{
    return listeners(out, out_n, t, true);
}

static int by_ip(const void *a, const void *b)
{
    return strcmp(a, b);
}

int ks_svc_table_cluster_ips(char (**out)[48], size_t *out_n, const struct ks_svc_table *t)
{
    char(*v)[48] = NULL;
    size_t n = 0;
    if (t->nsvcs && !(v = calloc(t->nsvcs, sizeof(*v))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nsvcs; i++)
        if (*t->svcs[i].ip)
            snprintf(v[n++], sizeof(*v), "%s", t->svcs[i].ip);
    if (n)
        qsort(v, n, sizeof(*v), by_ip);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
            memmove(v[u++], v[i], sizeof(*v));
    *out = v;
    *out_n = u;
    return 0;
}

/* Calls fn for every ready address of the Endpoints port named name;
 * stops when fn returns true. */
static void each_ready(const struct eps *e, const char *name,
                       bool (*fn)(const char *ip, int port, const char *node, const char *host,
                                  void *ud),
                       void *ud)
{
    size_t i, j, k;
    json_t *ss, *ep, *ad;
    if (!e)
        return;
    json_array_foreach(e->subsets, i, ss)
    {
        int port = -1;
        json_array_foreach(json_object_get(ss, "ports"), j, ep)
        {
            const char *n = json_string_value(json_object_get(ep, "name"));
            const char *proto = json_string_value(json_object_get(ep, "protocol"));
            if (strcmp(n ? n : "", name) == 0 && (!proto || strcmp(proto, "TCP") == 0)) {
                port = (int)json_integer_value(json_object_get(ep, "port"));
                break;
            }
        }
        if (name && port < 0 && !*name)
            port = 0; /* headless lines need no port */
        if (port < 0 || port > 65535)
            continue;
        json_array_foreach(json_object_get(ss, "addresses"), k, ad)
        {
            const char *ip = json_string_value(json_object_get(ad, "ip"));
            if (!ip_any(ip))
                continue;
            if (fn(ip, port, json_string_value(json_object_get(ad, "nodeName")),
                   json_string_value(json_object_get(ad, "hostname")), ud))
                return;
        }
    }
}

struct pick_ctx {
    const char *node;
    bool local; /* only this node's endpoints */
    uint64_t want, seen;
    struct ks_svc_backend *out;
    bool found;
};

static bool pick_one(const char *ip, int port, const char *node, const char *host, void *ud)
{
    struct pick_ctx *c = ud;
    (void)host;
    if (port < 1)
        return false;
    if (c->local && (!node || !c->node || strcmp(node, c->node) != 0))
        return false;
    if (c->out && c->seen == c->want) {
        snprintf(c->out->ip, sizeof(c->out->ip), "%s", ip);
        c->out->port = port;
        c->found = true;
        return true;
    }
    c->seen++;
    return c->seen >= KS_SVC_MAX_BACKENDS;
}

int ks_svc_table_pick(struct ks_svc_backend *out, struct ks_svc_table *t, const char *key, int port,
                      bool node_port, const char *node, bool all_nodes)
{
    struct svc *s = find_svc(t, key);
    struct port *p = NULL;
    if (!s)
        return ks_error_set(KS_ENOTFOUND, "Service %s: not known on this node", key);
    for (size_t i = 0; i < s->nports && !p; i++)
        if (s->ports[i].tcp && (node_port ? s->ports[i].node_port : s->ports[i].port) == port)
            p = &s->ports[i];
    if (!p)
        return ks_error_set(KS_ENOTFOUND, "Service %s: no TCP %s %d", key,
                            node_port ? "nodePort" : "port", port);
    bool policy_local = node_port ? s->ext_local : s->int_local;
    struct pick_ctx c = {.node = node, .local = policy_local || !all_nodes};
    const struct eps *e = find_eps(t, key);
    each_ready(e, p->name, pick_one, &c);
    if (c.seen == 0)
        return ks_error_set(KS_ENOTFOUND, "Service %s port %d: no ready endpoint%s", key, port,
                            policy_local ? " on this node (traffic policy Local)"
                            : c.local    ? " on this node (other nodes' pod IPs are not routable "
                                           "from here without --routable-pod-network)"
                                         : "");
    c.want = p->rr++ % c.seen;
    c.seen = 0;
    c.out = out;
    each_ready(e, p->name, pick_one, &c);
    return c.found ? 0 : ks_error_set(KS_ENOTFOUND, "Service %s: endpoint vanished", key);
}

static int by_svc_key(const void *a, const void *b)
{
    const struct svc *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

struct hosts_ctx {
    struct ks_buf *b;
    const char *names; /* "svc.ns.svc.cluster.local svc.ns.svc svc.ns[ svc]" */
    const char *svc, *ns;
    char last[48];
};

static bool host_line(const char *ip, int port, const char *node, const char *host, void *ud)
{
    struct hosts_ctx *c = ud;
    (void)port;
    (void)node;
    if (host && *host && dns_name(host))
        ks_buf_printf(c->b, "%s\t%s.%s.%s.svc.cluster.local\n", ip, host, c->svc, c->ns);
    if (strcmp(c->last, ip) != 0)
        ks_buf_printf(c->b, "%s\t%s\n", ip, c->names);
    snprintf(c->last, sizeof(c->last), "%s", ip);
    return false;
}

int ks_svc_table_hosts_block(char **out, const struct ks_svc_table *t, const char *ns)
{
    struct ks_buf b;
    const struct svc **v = NULL;
    int rc = 0;
    ks_buf_init(&b, KS_SVC_MAX_HOSTS);
    if (t->nsvcs && !(v = calloc(t->nsvcs, sizeof(*v))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nsvcs; i++)
        v[i] = &t->svcs[i];
    if (t->nsvcs)
        qsort(v, t->nsvcs, sizeof(*v), by_svc_key);
    for (size_t i = 0; i < t->nsvcs; i++) {
        const struct svc *s = v[i];
        if (!*s->ip && !s->headless)
            continue;
        char sns[KS_SVC_MAX_KEY], names[1200];
        snprintf(sns, sizeof(sns), "%s", s->key);
        char *name = strchr(sns, '/');
        *name++ = '\0';
        snprintf(names, sizeof(names), "%s.%s.svc.cluster.local %s.%s.svc %s.%s%s%s", name, sns,
                 name, sns, name, sns, strcmp(sns, ns) == 0 ? " " : "",
                 strcmp(sns, ns) == 0 ? name : "");
        if (*s->ip) {
            ks_buf_printf(&b, "%s\t%s\n", s->ip, names);
        } else {
            struct hosts_ctx c = {.b = &b, .names = names, .svc = name, .ns = sns};
            each_ready(find_eps(t, s->key), "", host_line, &c);
        }
    }
    free(v);
    if ((rc = ks_buf_error(&b)) < 0) {
        ks_buf_release(&b);
        return ks_error_set(rc, "hosts lines for namespace %s: over the limit of %d bytes", ns,
                            KS_SVC_MAX_HOSTS);
    }
    *out = ks_buf_detach(&b, NULL);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* The line starting at p equals text (up to its newline or the end). */
static bool line_is(const char *p, const char *text)
{
    size_t n = strlen(text);
    return strncmp(p, text, n) == 0 && (p[n] == '\n' || p[n] == '\0');
}

static const char *find_line(const char *file, const char *text)
{
    for (const char *p = file; p && *p;) {
        if (line_is(p, text))
            return p;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

int ks_svc_hosts_merge(char **out, const char *file, const char *block)
{
    struct ks_buf b;
    const char *begin = find_line(file, KS_SVC_HOSTS_BEGIN), *rest = "";
    ks_buf_init(&b, KS_SVC_MAX_HOSTS);
    if (begin) {
        const char *end = find_line(begin, KS_SVC_HOSTS_END);
        ks_buf_put(&b, file, (size_t)(begin - file));
        if (end) {
            rest = strchr(end, '\n');
            rest = rest ? rest + 1 : "";
        }
    } else {
        ks_buf_puts(&b, file);
        if (*file && file[strlen(file) - 1] != '\n' && *block)
            ks_buf_putc(&b, '\n');
    }
    if (*block)
        ks_buf_printf(&b, "%s\n%s%s%s\n", KS_SVC_HOSTS_BEGIN, block,
                      block[strlen(block) - 1] == '\n' ? "" : "\n", KS_SVC_HOSTS_END);
    ks_buf_puts(&b, rest);
    int rc = ks_buf_error(&b);
    if (rc < 0) {
        ks_buf_release(&b);
        return ks_error_set(rc, "hosts file: over the limit of %d bytes", KS_SVC_MAX_HOSTS);
    }
    *out = ks_buf_detach(&b, NULL);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}
