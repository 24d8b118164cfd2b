/*
 * endpoints.c: the endpoints controller (Kubernetes' pkg/controller/
 * endpoint, syncService): for every Service with a selector, an Endpoints
 * object of the same name listing the selected pods: ready ones in
 * addresses, not-ready ones in notReadyAddresses (all in addresses with
 * spec.publishNotReadyAddresses), each with ip, nodeName and a targetRef
 * to the pod. Pods without an IP, finished pods (Succeeded/Failed) and
 * terminating pods (metadata.deletionTimestamp) are left out, as
 * ShouldPodBeInEndpoints does, so a pod being stopped leaves the
 * endpoints before its containers stop. Ports are resolved per pod
 * (targetPort numbers, or names looked up in the pod's container ports;
 * absent targetPort = port); pods that resolve to the same ports share a
 * subset. The Endpoints object carries an ownerReference to the Service,
 * so garbage collection removes it with the Service. Services without a
 * selector are left alone (their Endpoints are the user's).
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The container port named name in pod, 0 when none. */
static json_int_t named_port(const json_t *pod, const char *name, const char *protocol)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(ks_ctl_at(pod, "spec", "containers"), i, c)
    {
        json_array_foreach(json_object_get(c, "ports"), j, p)
        {
            const char *n = json_string_value(json_object_get(p, "name"));
            const char *proto = json_string_value(json_object_get(p, "protocol"));
            if (n && !strcmp(n, name) && !strcmp(proto ? proto : "TCP", protocol))
                return json_integer_value(json_object_get(p, "containerPort"));
        }
    }
    return 0;
}

/* The EndpointPorts of svc for pod; ports that cannot be resolved (a name
 * the pod does not declare) are left out, as Kubernetes does. */
static json_t *pod_ports(const json_t *svc, const json_t *pod)
{
    json_t *out = json_array(), *sp;
    size_t i;
    json_array_foreach(ks_ctl_at(svc, "spec", "ports"), i, sp)
    {
        const char *protocol = json_string_value(json_object_get(sp, "protocol"));
        protocol = protocol ? protocol : "TCP";
        const json_t *target = json_object_get(sp, "targetPort");
        json_int_t port = json_integer_value(json_object_get(sp, "port"));
        if (json_is_integer(target))
            port = json_integer_value(target);
        else if (json_is_string(target))
            port = named_port(pod, json_string_value(target), protocol);
        if (port <= 0 || port > 65535)
            continue;
        json_t *ep = json_pack("{s:I, s:s}", "port", port, "protocol", protocol);
        const char *name = json_string_value(json_object_get(sp, "name"));
        if (name && *name)
            json_object_set_new(ep, "name", json_string(name));
        json_array_append_new(out, ep);
    }
    return out;
}

static json_t *address_of(const json_t *svc, const json_t *pod, const char *ip)
{
    json_t *a = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "ip", ip, "targetRef", "kind", "Pod",
                          "namespace", ks_ctl_namespace(pod), "name", ks_ctl_name(pod), "uid",
                          ks_ctl_uid(pod));
    const char *node = ks_ctl_str(pod, "spec", "nodeName");
    if (node && *node)
        json_object_set_new(a, "nodeName", json_string(node));
    const char *host = ks_ctl_str(pod, "spec", "hostname");
    const char *sub = ks_ctl_str(pod, "spec", "subdomain");
    if (host && *host && sub && !strcmp(sub, ks_ctl_name(svc)))
        json_object_set_new(a, "hostname", json_string(host));
    return a;
}

static int by_ip(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = strcmp(json_string_value(json_object_get(a, "ip")),
                   json_string_value(json_object_get(b, "ip")));
    return c ? c : strcmp(ks_ctl_str(a, "targetRef", "name"), ks_ctl_str(b, "targetRef", "name"));
}

static void sort_addresses(json_t *subset, const char *key)
{
    json_t *arr = json_object_get(subset, key);
    size_t n = json_array_size(arr);
    if (n < 2)
        return;
    json_t **v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, by_ip);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* The subset of subsets whose ports equal ports (created when absent). */
static json_t *subset_for(json_t *subsets, json_t *ports)
{
    size_t i;
    json_t *s;
    json_array_foreach(subsets, i, s)
    {
        if (json_equal(json_object_get(s, "ports"), ports))
            return s;
    }
    s = json_pack("{s:[], s:[], s:O}", "addresses", "notReadyAddresses", "ports", ports);
    json_array_append_new(subsets, s);
    return s;
}

int ks_ctl_endpoints_sync(bool *out_changed, struct ks_store *store, const json_t *svc,
                          const struct ks_ctl_env *env, json_t *pods)
{
    (void)env;
    const json_t *sel_json = ks_ctl_at(svc, "spec", "selector");
    if (!json_is_object(sel_json) || json_object_size(sel_json) == 0)
        return 0; /* no selector: the Endpoints are the user's */
    struct ks_selector *sel = NULL;
    json_t *wrapped = json_pack("{s:O}", "matchLabels", sel_json);
    int rc = ks_selector_from_json(&sel, wrapped);
    json_decref(wrapped);
    if (rc)
        return 0; /* not a label map: nothing selected (the plan validates Services) */
    bool publish = json_is_true(ks_ctl_at(svc, "spec", "publishNotReadyAddresses"));
    json_t *subsets = json_array(), *existing = NULL, *next = NULL;
    size_t i;
    json_t *pod;
    json_array_foreach(pods, i, pod)
    {
        const char *ip = ks_ctl_str(pod, "status", "podIP");
        if (!ip || !*ip || !ks_ctl_pod_active(pod) ||
            !ks_selector_matches(sel, ks_ctl_at(pod, "metadata", "labels")))
            continue;
        if (ks_ctl_pod_terminating(pod) && !publish)
            continue;
        json_t *ports = pod_ports(svc, pod);
        json_t *subset = subset_for(subsets, ports);
        json_decref(ports);
        bool ready = publish || ks_ctl_pod_ready(pod);
        json_array_append_new(json_object_get(subset, ready ? "addresses" : "notReadyAddresses"),
                              address_of(svc, pod, ip));
    }
    for (i = json_array_size(subsets); i-- > 0;) {
        json_t *s = json_array_get(subsets, i);
        sort_addresses(s, "addresses");
        sort_addresses(s, "notReadyAddresses");
        if (!json_array_size(json_object_get(s, "notReadyAddresses")))
            json_object_del(s, "notReadyAddresses");
        if (!json_array_size(json_object_get(s, "addresses")))
            json_object_del(s, "addresses");
    }
    struct ks_store_key key = {"Endpoints", ks_ctl_namespace(svc), ks_ctl_name(svc)};
    rc = ks_store_get(&existing, store, &key);
    if (rc && rc != KS_ENOTFOUND)
        goto done;
    rc = 0;
    if (existing) {
        const char *owner = ks_ctl_controller_uid(existing);
        if (!owner || strcmp(owner, ks_ctl_uid(svc))) {
            /* an Endpoints object from Git or of an earlier Service of that
             * name: take it over (Kubernetes' controller owns it by name) */
            const char *src = json_string_value(json_object_get(
                ks_ctl_at(existing, "metadata", "annotations"), "keelson.io/source"));
            if (src)
                goto done; /* declared in Git: the user's, never overwritten */
        }
        next = json_deep_copy(existing);
    } else {
        next = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Endpoints",
                         "metadata", "name", ks_ctl_name(svc), "namespace", ks_ctl_namespace(svc));
    }
    json_t *meta = json_object_get(next, "metadata");
    json_object_set_new(meta, "ownerReferences", json_pack("[o]", ks_ctl_owner_ref(svc)));
    json_t *labels = ks_ctl_at(svc, "metadata", "labels");
    if (labels)
        json_object_set_new(meta, "labels", json_deep_copy(labels));
    else
        json_object_del(meta, "labels");
    json_object_set(next, "subsets", subsets);
    rc = ks_ctl_write(out_changed, store, existing, next);
done:
    ks_selector_free(sel);
    json_decref(subsets);
    json_decref(existing);
    json_decref(next);
    return rc;
}
