/*
 * services.c: clusterIP and nodePort assignment for the Services a sync
 * applies (services.h). The stored Services are the allocation table: one
 * list per apply, indexed by address and node port, then four steps over
 * the Services the plan writes: (1) read and check what their Git objects
 * give, (2) keep what the stored Service already holds for the fields Git
 * leaves empty, (3) claim what Git gives (held by another Service: a
 * conflict naming both), (4) allocate the rest. A new address starts its
 * search at a hash of namespace/name (a re-created Service usually gets
 * its old address back) and takes the next free one.
 */
#include "reconciler/controllers/services.h"

#include "core/digest.h"
#include "core/error.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER_MAX 320 /* "namespace/name": 63 + 1 + 253 */

static int ip_parse(uint32_t *out, const char *text)
{
    struct in_addr a;
    if (!text || inet_pton(AF_INET, text, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static void ip_text(char out[16], uint32_t ip)
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255u, (ip >> 8) & 255u, ip & 255u);
}

static uint32_t range_size(const struct ks_service_cidr *cidr)
{
    return 1u << (32 - cidr->prefix);
}

int ks_service_cidr_parse(struct ks_service_cidr *out, const char *text)
{
    char addr[32];
    int64_t prefix = 0;
    uint32_t ip = 0;
    if (!text)
        text = KS_SERVICE_CIDR_DEFAULT;
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof addr)
        return ks_error_set(
            KS_EINVALID, "--service-cidr: want an IPv4 range such as 10.96.0.0/16, got \"%.64s\"",
            text);
    memcpy(addr, text, (size_t)(slash - text));
    addr[slash - text] = '\0';
    if (ip_parse(&ip, addr) != 0 || ks_str_to_i64(&prefix, slash + 1, "prefix") != 0)
        return ks_error_set(
            KS_EINVALID, "--service-cidr: want an IPv4 range such as 10.96.0.0/16, got \"%.64s\"",
            text);
    if (prefix < KS_SERVICE_CIDR_MIN_PREFIX || prefix > KS_SERVICE_CIDR_MAX_PREFIX)
        return ks_error_set(KS_EINVALID, "--service-cidr: prefix /%lld: want /%d to /%d",
                            (long long)prefix, KS_SERVICE_CIDR_MIN_PREFIX,
                            KS_SERVICE_CIDR_MAX_PREFIX);
    uint32_t mask = 0xffffffffu << (32 - prefix);
    if (ip & ~mask) {
        char net[16];
        ip_text(net, ip & mask);
        return ks_error_set(KS_EINVALID, "--service-cidr: %.64s has host bits set (%s/%lld?)", text,
                            net, (long long)prefix);
    }
    out->base = ip;
    out->prefix = (unsigned)prefix;
    snprintf(out->text, sizeof out->text, "%s/%u", addr, out->prefix);
    return 0;
}

/* The address text is a usable address of the range: in it, and neither
 * the network address, .1 nor the broadcast address. */
static bool ip_usable(const struct ks_service_cidr *cidr, uint32_t ip)
{
    uint32_t size = range_size(cidr);
    if (ip - cidr->base >= size)
        return false;
    uint32_t off = ip - cidr->base;
    return off >= 2 && off != size - 1;
}

/* A Service the plan writes. */
struct svc {
    struct ks_plan_change *c;
    json_t *obj;            /* copy of c->head being filled (owned) */
    const json_t *existing; /* the stored Service (borrowed) or NULL */
    char owner[OWNER_MAX];  /* "namespace/name" */
    bool wants_ip, node_ports;
    char given_ip[16]; /* "" when Git leaves clusterIP empty */
};

/* Who holds what: "10.96.0.5" -> "ns/name", "port 30080" -> "ns/name". */
struct table {
    json_t *owners;
};

/* 0 claimed (or already owner's), 1 held by another Service (not
 * strict), < 0 error (strict: KS_ECONFLICT naming both). */
static int claim(struct table *t, const char *key, const char *owner, bool strict, const char *what)
{
    const char *held = json_string_value(json_object_get(t->owners, key));
    if (held && strcmp(held, owner) == 0)
        return 0;
    if (held && !strict)
        return 1;
    if (held)
        return ks_error_set(KS_ECONFLICT, "Service %s: %s is already used by Service %s", owner,
                            what, held);
    if (json_object_set_new(t->owners, key, json_string(owner)) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

static void port_key(char out[24], json_int_t port)
{
    snprintf(out, 24, "port %lld", (long long)port);
}

static const char *protocol_of(const json_t *port)
{
    const char *p = json_string_value(json_object_get(port, "protocol"));
    return p ? p : "TCP";
}

/* A nodePort value: 0 when absent or 0, else it must be in the range. */
static int node_port_of(json_int_t *out, const json_t *port, const char *owner, size_t index)
{
    const json_t *v = json_object_get(port, "nodePort");
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return ks_error_set(KS_EINVALID, "Service %s: spec.ports[%zu].nodePort: want a number",
                            owner, index);
    json_int_t n = json_integer_value(v);
    if (n != 0 && (n < KS_SERVICE_NODE_PORT_MIN || n > KS_SERVICE_NODE_PORT_MAX))
        return ks_error_set(KS_EINVALID,
                            "Service %s: spec.ports[%zu].nodePort %lld is outside the node port "
                            "range %d-%d",
                            owner, index, (long long)n, KS_SERVICE_NODE_PORT_MIN,
                            KS_SERVICE_NODE_PORT_MAX);
    *out = n;
    return 0;
}

/* Everything a stored Service holds goes into the table (first holder
 * wins; the store is not expected to hold duplicates). */
static int table_add_stored(struct table *t, const json_t *obj, const char *owner)
{
    const json_t *spec = json_object_get(obj, "spec"), *p;
    uint32_t ip;
    char key[24];
    size_t i;
    int rc;
    const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
    if (cip && ip_parse(&ip, cip) == 0) {
        char text[16];
        ip_text(text, ip);
        if ((rc = claim(t, text, owner, false, "")) < 0)
            return rc;
    }
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_int_t n = json_integer_value(json_object_get(p, "nodePort"));
        if (n <= 0)
            continue;
        port_key(key, n);
        if ((rc = claim(t, key, owner, false, "")) < 0)
            return rc;
    }
    return 0;
}

/* Step 1: what the Git object gives, checked. */
static int inspect(struct svc *s, const struct ks_service_cidr *cidr)
{
    json_t *spec = json_object_get(s->obj, "spec"), *p;
    size_t i;
    int rc;
    if (!spec) {
        spec = json_object();
        if (!spec || json_object_set_new(s->obj, "spec", spec) < 0)
            return ks_error_set(KS_ENOMEM, "out of memory");
    }
    if (!json_is_object(spec))
        return ks_error_set(KS_EINVALID, "Service %s: spec: want an object", s->owner);
    const char *type = json_string_value(json_object_get(spec, "type"));
    type = type ? type : "ClusterIP";
    bool cluster_ip = strcmp(type, "ClusterIP") == 0, node_port = strcmp(type, "NodePort") == 0,
         lb = strcmp(type, "LoadBalancer") == 0, external = strcmp(type, "ExternalName") == 0;
    if (!cluster_ip && !node_port && !lb && !external)
        return ks_error_set(KS_EINVALID,
                            "Service %s: spec.type \"%.64s\": want ClusterIP, NodePort, "
                            "LoadBalancer or ExternalName",
                            s->owner, type);
    const json_t *cip_v = json_object_get(spec, "clusterIP"),
                 *cips = json_object_get(spec, "clusterIPs");
    if (cip_v && !json_is_string(cip_v) && !json_is_null(cip_v))
        return ks_error_set(KS_EINVALID, "Service %s: spec.clusterIP: want a string", s->owner);
    if (cips && !json_is_array(cips) && !json_is_null(cips))
        return ks_error_set(KS_EINVALID, "Service %s: spec.clusterIPs: want a list", s->owner);
    const char *cip = json_string_value(cip_v);
    if (json_array_size(cips) > 1)
        return ks_error_set(KS_EINVALID,
                            "Service %s: spec.clusterIPs: %zu addresses, only single-stack IPv4 "
                            "is served",
                            s->owner, json_array_size(cips));
    const char *first = json_string_value(json_array_get(cips, 0));
    if (json_array_size(cips) == 1 && !first)
        return ks_error_set(KS_EINVALID, "Service %s: spec.clusterIPs[0]: want a string", s->owner);
    if (first && *first && cip && *cip && strcmp(first, cip) != 0)
        return ks_error_set(KS_EINVALID,
                            "Service %s: spec.clusterIP %.64s and spec.clusterIPs[0] %.64s differ",
                            s->owner, cip, first);
    if ((!cip || !*cip) && first)
        cip = first;
    s->wants_ip = !external && !(cip && strcmp(cip, "None") == 0);
    if (cip && strcmp(cip, "None") == 0 && !cluster_ip)
        return ks_error_set(KS_EINVALID,
                            "Service %s: clusterIP None (headless) is only for type ClusterIP",
                            s->owner);
    if (s->wants_ip && cip && *cip) {
        uint32_t ip;
        if (ip_parse(&ip, cip) != 0)
            return ks_error_set(KS_EINVALID,
                                "Service %s: spec.clusterIP \"%.64s\" is not an IPv4 address",
                                s->owner, cip);
        if (!ip_usable(cidr, ip))
            return ks_error_set(KS_EINVALID,
                                "Service %s: spec.clusterIP %.64s is not a usable address of the "
                                "service range %s (--service-cidr; its first two and last "
                                "addresses are reserved)",
                                s->owner, cip, cidr->text);
        ip_text(s->given_ip, ip);
    }
    const json_t *alloc_lb = json_object_get(spec, "allocateLoadBalancerNodePorts");
    s->node_ports = node_port || (lb && !json_is_false(alloc_lb));
    json_t *ports = json_object_get(spec, "ports");
    if (ports && !json_is_array(ports))
        return ks_error_set(KS_EINVALID, "Service %s: spec.ports: want a list", s->owner);
    json_array_foreach(ports, i, p)
    {
        json_int_t n;
        if (!json_is_object(p))
            return ks_error_set(KS_EINVALID, "Service %s: spec.ports[%zu]: want an object",
                                s->owner, i);
        if ((rc = node_port_of(&n, p, s->owner, i)) < 0)
            return rc;
        if (n && !node_port && !lb)
            return ks_error_set(KS_EINVALID,
                                "Service %s: spec.ports[%zu].nodePort: only a NodePort or "
                                "LoadBalancer Service has node ports (type is %s)",
                                s->owner, i, type);
    }
    return 0;
}

static int set_ip(struct svc *s, const char *ip)
{
    json_t *spec = json_object_get(s->obj, "spec");
    if (json_object_set_new(spec, "clusterIP", json_string(ip)) < 0 ||
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip)) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* The stored Service's nodePort for the port with the same number and
 * protocol as p, 0 when none. */
static json_int_t existing_node_port(const json_t *existing, const json_t *p)
{
    const json_t *e;
    size_t i;
    json_int_t port = json_integer_value(json_object_get(p, "port"));
    json_array_foreach(json_object_get(json_object_get(existing, "spec"), "ports"), i, e)
    {
        if (json_integer_value(json_object_get(e, "port")) == port &&
            strcmp(protocol_of(e), protocol_of(p)) == 0) {
            json_int_t n = json_integer_value(json_object_get(e, "nodePort"));
            return n >= KS_SERVICE_NODE_PORT_MIN && n <= KS_SERVICE_NODE_PORT_MAX ? n : 0;
        }
    }
    return 0;
}

/* Step 2: keep what the stored Service holds where Git leaves it empty. */
static int keep_existing(struct svc *s, struct table *t, const struct ks_service_cidr *cidr)
{
    json_t *p;
    size_t i;
    char key[24];
    int rc;
    if (!s->existing)
        return 0;
    const char *old =
        json_string_value(json_object_get(json_object_get(s->existing, "spec"), "clusterIP"));
    uint32_t ip;
    if (s->wants_ip && !s->given_ip[0] && old && ip_parse(&ip, old) == 0 && ip_usable(cidr, ip)) {
        char text[16];
        ip_text(text, ip);
        if ((rc = claim(t, text, s->owner, false, "")) < 0)
            return rc;
        if (rc == 0 && (rc = set_ip(s, text)) < 0)
            return rc;
    }
    if (!s->node_ports)
        return 0;
    json_array_foreach(json_object_get(json_object_get(s->obj, "spec"), "ports"), i, p)
    {
        json_int_t n = json_integer_value(json_object_get(p, "nodePort"));
        if (n || !(n = existing_node_port(s->existing, p)))
            continue;
        port_key(key, n);
        if ((rc = claim(t, key, s->owner, false, "")) < 0)
            return rc;
        if (rc == 0 && json_object_set_new(p, "nodePort", json_integer(n)) < 0)
            return ks_error_set(KS_ENOMEM, "out of memory");
    }
    return 0;
}

/* Step 3: what Git gives, against everything held so far. */
static int claim_given(struct svc *s, struct table *t)
{
    const json_t *p;
    size_t i;
    char key[24], what[48];
    int rc;
    if (s->given_ip[0]) {
        snprintf(what, sizeof what, "clusterIP %s", s->given_ip);
        if ((rc = claim(t, s->given_ip, s->owner, true, what)) < 0 ||
            (rc = set_ip(s, s->given_ip)) < 0)
            return rc;
    }
    json_array_foreach(json_object_get(json_object_get(s->c->head, "spec"), "ports"), i, p)
    {
        json_int_t n = json_integer_value(json_object_get(p, "nodePort"));
        if (n <= 0)
            continue;
        port_key(key, n);
        snprintf(what, sizeof what, "nodePort %lld", (long long)n);
        if ((rc = claim(t, key, s->owner, true, what)) < 0)
            return rc;
    }
    return 0;
}

/* Where the search for a new value starts: the first 32 bits of
 * sha256(text). */
static int start_of(uint32_t *out, const char *text)
{
    char hex[65];
    int rc = ks_sha256_hex(hex, text, strlen(text));
    if (rc < 0)
        return rc;
    hex[8] = '\0';
    *out = (uint32_t)strtoul(hex, NULL, 16);
    return 0;
}

/* Step 4: new values for what is still empty. */
static int allocate_new(struct svc *s, struct table *t, const struct ks_service_cidr *cidr)
{
    json_t *spec = json_object_get(s->obj, "spec"), *p;
    size_t i;
    uint32_t start;
    char key[24], text[OWNER_MAX + 48];
    int rc;
    if (s->wants_ip && !json_string_value(json_object_get(spec, "clusterIP"))) {
        uint32_t usable = range_size(cidr) - 3, k;
        if ((rc = start_of(&start, s->owner)) < 0)
            return rc;
        for (k = 0; k < usable; k++) {
            uint32_t ip = cidr->base + 2 + (start + k) % usable;
            ip_text(key, ip);
            if ((rc = claim(t, key, s->owner, false, "")) < 0)
                return rc;
            if (rc == 0)
                break;
        }
        if (k == usable)
            return ks_error_set(KS_ELIMIT,
                                "Service %s: the service range %s is full (%u addresses; "
                                "--service-cidr)",
                                s->owner, cidr->text, usable);
        if ((rc = set_ip(s, key)) < 0)
            return rc;
    }
    if (!s->node_ports)
        return 0;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        if (json_integer_value(json_object_get(p, "nodePort")) > 0)
            continue;
        const unsigned span = KS_SERVICE_NODE_PORT_MAX - KS_SERVICE_NODE_PORT_MIN + 1;
        unsigned k;
        json_int_t n = 0;
        snprintf(text, sizeof text, "%s/%lld/%s", s->owner,
                 (long long)json_integer_value(json_object_get(p, "port")), protocol_of(p));
        if ((rc = start_of(&start, text)) < 0)
            return rc;
        for (k = 0; k < span; k++) {
            n = KS_SERVICE_NODE_PORT_MIN + (json_int_t)((start + k) % span);
            port_key(key, n);
            if ((rc = claim(t, key, s->owner, false, "")) < 0)
                return rc;
            if (rc == 0)
                break;
        }
        if (k == span)
            return ks_error_set(KS_ELIMIT, "Service %s: the node ports %d-%d are all used",
                                s->owner, KS_SERVICE_NODE_PORT_MIN, KS_SERVICE_NODE_PORT_MAX);
        if (json_object_set_new(p, "nodePort", json_integer(n)) < 0)
            return ks_error_set(KS_ENOMEM, "out of memory");
    }
    return 0;
}

static bool written_service(const struct ks_plan_change *c)
{
    return strcmp(c->kind, "Service") == 0 && c->head &&
           (c->action == KS_PLAN_CREATE || c->action == KS_PLAN_UPDATE ||
            (c->action == KS_PLAN_UNCHANGED && c->base));
}

int ks_services_allocate(struct ks_store *store, struct ks_plan *plan,
                         const struct ks_service_cidr *cidr)
{
    struct ks_store_list_opts lo = {.kind = "Service"};
    struct table t = {.owners = NULL};
    struct svc *svcs = NULL;
    json_t *stored = NULL, *by_name = NULL, *in_plan = NULL, *o;
    size_t n = 0, i;
    char owner[OWNER_MAX];
    int rc = 0;
    for (i = 0; i < plan->count; i++)
        n += written_service(&plan->changes[i]);
    if (n == 0)
        return 0;
    if (!(svcs = calloc(n, sizeof *svcs)) || !(t.owners = json_object()) ||
        !(by_name = json_object()) || !(in_plan = json_object())) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_store_list(&stored, store, &lo)) < 0)
        goto done;
    json_array_foreach(stored, i, o)
    {
        snprintf(owner, sizeof owner, "%s/%s",
                 json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace")),
                 json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
        json_object_set(by_name, owner, o);
    }
    /* the Services this plan writes or deletes hold nothing but what the
     * steps below give them */
    n = 0;
    for (i = 0; i < plan->count; i++) {
        struct ks_plan_change *c = &plan->changes[i];
        if (strcmp(c->kind, "Service") != 0)
            continue;
        snprintf(owner, sizeof owner, "%s/%s", c->namespace_, c->name);
        if (c->action == KS_PLAN_DELETE || written_service(c))
            json_object_set_new(in_plan, owner, json_true());
        if (!written_service(c))
            continue;
        struct svc *s = &svcs[n++];
        s->c = c;
        snprintf(s->owner, sizeof s->owner, "%s", owner);
        s->existing = json_object_get(by_name, owner);
        if (!(s->obj = json_deep_copy(c->head))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = inspect(s, cidr)) < 0)
            goto done;
    }
    json_array_foreach(stored, i, o)
    {
        snprintf(owner, sizeof owner, "%s/%s",
                 json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace")),
                 json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
        if (!json_object_get(in_plan, owner) && (rc = table_add_stored(&t, o, owner)) < 0)
            goto done;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = keep_existing(&svcs[i], &t, cidr);
    for (i = 0; i < n && rc == 0; i++)
        rc = claim_given(&svcs[i], &t);
    for (i = 0; i < n && rc == 0; i++)
        rc = allocate_new(&svcs[i], &t, cidr);
    if (rc < 0)
        goto done;
    for (i = 0; i < n; i++) {
        json_decref(svcs[i].c->head);
        svcs[i].c->head = svcs[i].obj;
        svcs[i].obj = NULL;
    }
done:
    for (i = 0; svcs && i < n; i++)
        json_decref(svcs[i].obj);
    free(svcs);
    json_decref(t.owners);
    json_decref(stored);
    json_decref(by_name);
    json_decref(in_plan);
    return rc;
}
