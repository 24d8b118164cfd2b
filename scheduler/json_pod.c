/*
 * json_pod.c: a Kubernetes Pod object -> ks_sched_pod_add. Reads what the
 * default scheduler looks at: metadata (name, namespace, labels, the
 * controller ownerReference), spec.nodeName, spec.priority or
 * spec.priorityClassName (resolved through ks_sched_priority_class_set;
 * an unknown class is an error, as admission would reject it),
 * terminationGracePeriodSeconds, containers (requests, image, hostPorts),
 * nodeSelector, affinity (node, pod, anti), tolerations and
 * topologySpreadConstraints, with init containers and spec.overhead counted
 * as kube-scheduler does.
 */
#include "scheduler/internal.h"
#include "scheduler/json_adapt.h"
#include "core/error.h"
#include "core/jsonpath.h"
#include "core/quantity.h"

#include <stdio.h>
#include <string.h>

/* requests[name] as a quantity; prefix names the map in errors. */
static int request(bool *has, int64_t *out, const json_t *requests, const char *prefix,
                   const char *name, bool milli)
{
    json_t *v = json_is_object(requests) ? json_object_get(requests, name) : NULL;
    if (!v || json_is_null(v))
        return 0;
    int rc = milli ? ks_quantity_json_milli(out, v) : ks_quantity_json_value(out, v);
    if (rc)
        return ks_error_wrap(rc, "%s.%s", prefix, name);
    *has = true;
    return 0;
}

static int container_ports(struct ks_sched_port **ports, size_t *nports, const json_t *c,
                           const char *at)
{
    json_t *arr;
    size_t n;
    int rc = ks_sched_ja_array(&arr, &n, c, "ports", at);
    for (size_t j = 0; !rc && j < n; j++) {
        json_t *p = json_array_get(arr, j);
        int64_t hp = 0;
        if ((rc = ks_json_get_int_range(&hp, p, "hostPort", false, 0, 65535)))
            return ks_error_wrap(rc, "%s.ports[%zu]", at, j);
        if (!hp)
            continue;
        if (*nports >= KS_SCHED_MAX_ITEMS)
            return ks_error_set(KS_ELIMIT, "%s: more than %d host ports", at, KS_SCHED_MAX_ITEMS);
        struct ks_sched_port *o = &(*ports)[(*nports)++];
        o->host_port = (int32_t)hp;
        if ((rc = ks_json_get_string(&o->protocol, p, "protocol", false)) ||
            (rc = ks_json_get_string(&o->host_ip, p, "hostIP", false)))
            return ks_error_wrap(rc, "%s.ports[%zu]", at, j);
    }
    return rc;
}

/* spec.containers or spec.initContainers; host ports only from the former. */
static int container_list(const struct ks_sched_container **out, size_t *nout,
                          struct ks_sched_pod_spec *spec, struct arena *a, const json_t *pod,
                          const char *path, struct ks_sched_port *ports)
{
    json_t *arr;
    size_t n;
    struct ks_sched_container *c;
    int rc = ks_sched_ja_items(&arr, &n, &c, sizeof(*c), a, pod, path, "pod");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        char at[64];
        snprintf(at, sizeof(at), "%s[%zu]", path, i);
        json_t *req = json_object_get(json_object_get(e, "resources"), "requests");
        const char *pre = "resources.requests";
        if ((rc = ks_json_get_string(&c[i].image, e, "image", false)) ||
            (rc = request(&c[i].has_cpu, &c[i].cpu_milli, req, pre, "cpu", true)) ||
            (rc = request(&c[i].has_memory, &c[i].memory, req, pre, "memory", false)))
            return ks_error_wrap(rc, "%s", at);
        if (ports && (rc = container_ports(&ports, &spec->nports, e, at)))
            return rc;
    }
    *out = c;
    *nout = n;
    return 0;
}

static int containers(struct ks_sched_pod_spec *spec, struct arena *a, const json_t *pod)
{
    struct ks_sched_port *ports = ks_sched_arena_alloc(a, KS_SCHED_MAX_ITEMS, sizeof(*ports));
    json_t *overhead = NULL;
    bool has = false;
    int rc;
    if (!ports)
        return KS_ENOMEM;
    spec->ports = ports;
    if ((rc = container_list(&spec->containers, &spec->ncontainers, spec, a, pod, "spec.containers",
                             ports)) ||
        (rc = container_list(&spec->init_containers, &spec->ninit_containers, spec, a, pod,
                             "spec.initContainers", NULL)) ||
        (rc = ks_json_get_object(&overhead, pod, "spec.overhead", false)))
        return rc;
    if ((rc = request(&has, &spec->overhead_cpu_milli, overhead, "spec.overhead", "cpu", true)))
        return rc;
    return request(&has, &spec->overhead_memory, overhead, "spec.overhead", "memory", false);
}

/* A weighted preference {weight: 1..100, <key>: {...}}. */
static int weighted(int32_t *w, json_t **inner, const json_t *e, const char *key, const char *at)
{
    int64_t v = 0;
    int rc;
    if ((rc = ks_json_get_int_range(&v, e, "weight", true, 1, 100)) ||
        (rc = ks_json_get_object(inner, e, key, true)))
        return ks_error_wrap(rc, "%s", at);
    *w = (int32_t)v;
    return 0;
}

static int node_affinity(struct ks_sched_pod_spec *spec, struct arena *a, const json_t *pod)
{
    json_t *terms, *prefs;
    size_t nt, np;
    int rc;
    const char *req = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                      "nodeSelectorTerms";
    const char *pref = "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution";
    if ((rc = ks_sched_ja_array(&terms, &nt, pod, req, "pod")) ||
        (rc = ks_sched_ja_array(&prefs, &np, pod, pref, "pod")))
        return rc;
    struct ks_sched_node_term *t = ks_sched_arena_alloc(a, nt, sizeof(*t));
    struct ks_sched_pref_term *p = ks_sched_arena_alloc(a, np, sizeof(*p));
    if (!t || !p)
        return KS_ENOMEM;
    for (size_t i = 0; i < nt; i++) {
        char at[160];
        snprintf(at, sizeof(at), "%s[%zu]", req, i);
        if ((rc = ks_sched_ja_node_term(&t[i], a, json_array_get(terms, i), at)))
            return rc;
    }
    for (size_t i = 0; i < np; i++) {
        char at[160];
        json_t *term = NULL;
        snprintf(at, sizeof(at), "%s[%zu]", pref, i);
        if ((rc = weighted(&p[i].weight, &term, json_array_get(prefs, i), "preference", at)) ||
            (rc = ks_sched_ja_node_term(&p[i].term, a, term, at)))
            return rc;
    }
    spec->required = t;
    spec->nrequired = nt;
    spec->preferred = p;
    spec->npreferred = np;
    return 0;
}

/* One PodAffinityTerm {labelSelector, topologyKey, namespaces}. */
static int pod_term(struct ks_sched_pod_term *t, struct arena *a, const json_t *e, const char *at)
{
    json_t *ns;
    size_t nns;
    int rc;
    if ((rc = ks_json_get_string(&t->topology_key, e, "topologyKey", true)) ||
        (rc = ks_sched_ja_array(&ns, &nns, e, "namespaces", at)))
        return ks_error_wrap(rc, "%s", at);
    if ((rc = ks_sched_ja_selector(&t->selector, a, json_object_get(e, "labelSelector"), at)))
        return rc;
    const char **names = ks_sched_arena_alloc(a, nns, sizeof(char *));
    if (!names)
        return KS_ENOMEM;
    for (size_t j = 0; j < nns; j++)
        if (!(names[j] = json_string_value(json_array_get(ns, j))))
            return ks_error_set(KS_EINVALID, "%s.namespaces[%zu]: expected a string", at, j);
    t->namespaces = names;
    t->nnamespaces = nns;
    return 0;
}

static int pod_terms(const struct ks_sched_pod_term **out, size_t *nout, struct arena *a,
                     const json_t *pod, const char *kind)
{
    char path[128];
    json_t *arr;
    size_t n;
    struct ks_sched_pod_term *t;
    int rc;
    snprintf(path, sizeof(path), "spec.affinity.%s.requiredDuringSchedulingIgnoredDuringExecution",
             kind);
    if ((rc = ks_sched_ja_items(&arr, &n, &t, sizeof(*t), a, pod, path, "pod")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        char at[192];
        snprintf(at, sizeof(at), "%s[%zu]", path, i);
        if ((rc = pod_term(&t[i], a, json_array_get(arr, i), at)))
            return rc;
    }
    *out = t;
    *nout = n;
    return 0;
}

static int weighted_pod_terms(const struct ks_sched_weighted_pod_term **out, size_t *nout,
                              struct arena *a, const json_t *pod, const char *kind)
{
    char path[128];
    json_t *arr;
    size_t n;
    struct ks_sched_weighted_pod_term *t;
    int rc;
    snprintf(path, sizeof(path), "spec.affinity.%s.preferredDuringSchedulingIgnoredDuringExecution",
             kind);
    if ((rc = ks_sched_ja_items(&arr, &n, &t, sizeof(*t), a, pod, path, "pod")))
        return rc;
    for (size_t i = 0; i < n; i++) {
        char at[192];
        json_t *term = NULL;
        snprintf(at, sizeof(at), "%s[%zu]", path, i);
        if ((rc = weighted(&t[i].weight, &term, json_array_get(arr, i), "podAffinityTerm", at)) ||
            (rc = pod_term(&t[i].term, a, term, at)))
            return rc;
    }
    *out = t;
    *nout = n;
    return 0;
}

static int tolerations(struct ks_sched_pod_spec *spec, struct arena *a, const json_t *pod)
{
    json_t *arr;
    size_t n;
    struct ks_sched_toleration *t;
    int rc = ks_sched_ja_items(&arr, &n, &t, sizeof(*t), a, pod, "spec.tolerations", "pod");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        const char *op = NULL, *effect = NULL;
        char at[64];
        snprintf(at, sizeof(at), "spec.tolerations[%zu]", i);
        if ((rc = ks_json_get_string(&t[i].key, e, "key", false)) ||
            (rc = ks_json_get_string(&op, e, "operator", false)) ||
            (rc = ks_json_get_string(&t[i].value, e, "value", false)) ||
            (rc = ks_json_get_string(&effect, e, "effect", false)))
            return ks_error_wrap(rc, "%s", at);
        if (op && strcmp(op, "Exists") && strcmp(op, "Equal"))
            return ks_error_set(KS_EINVALID, "%s.operator: unknown operator \"%s\"", at, op);
        t[i].exists = op && strcmp(op, "Exists") == 0;
        if ((rc = ks_sched_json_effect(&t[i].effect, effect, at)))
            return rc;
    }
    spec->tolerations = t;
    spec->ntolerations = n;
    return 0;
}

static int spread(struct ks_sched_pod_spec *spec, struct arena *a, const json_t *pod)
{
    json_t *arr;
    size_t n;
    struct ks_sched_spread *c;
    int rc = ks_sched_ja_items(&arr, &n, &c, sizeof(*c), a, pod, "spec.topologySpreadConstraints",
                               "pod");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        const char *when = NULL;
        int64_t skew = 0;
        char at[64];
        snprintf(at, sizeof(at), "spec.topologySpreadConstraints[%zu]", i);
        if ((rc = ks_json_get_int_range(&skew, e, "maxSkew", true, 1, INT32_MAX)) ||
            (rc = ks_json_get_string(&c[i].topology_key, e, "topologyKey", true)) ||
            (rc = ks_json_get_string(&when, e, "whenUnsatisfiable", true)))
            return ks_error_wrap(rc, "%s", at);
        if (strcmp(when, "DoNotSchedule") && strcmp(when, "ScheduleAnyway"))
            return ks_error_set(KS_EINVALID, "%s.whenUnsatisfiable: unknown value \"%s\"", at,
                                when);
        c[i].max_skew = (int32_t)skew;
        c[i].hard = strcmp(when, "DoNotSchedule") == 0;
        if ((rc = ks_sched_ja_selector(&c[i].selector, a, json_object_get(e, "labelSelector"), at)))
            return rc;
    }
    spec->spread = c;
    spec->nspread = n;
    return 0;
}

/* The controller owner, when it is of a kind whose pods kube-scheduler's
 * default constraints spread (ReplicaSet, StatefulSet, ReplicationController;
 * not DaemonSet or Job). */
static int owner(struct ks_sched_pod_spec *spec, const json_t *pod)
{
    static const char *const spread_kinds[] = {"ReplicaSet", "StatefulSet",
                                               "ReplicationController"};
    json_t *arr;
    size_t n;
    int rc = ks_sched_ja_array(&arr, &n, pod, "metadata.ownerReferences", "pod");
    for (size_t i = 0; !rc && i < n; i++) {
        bool controller = false;
        const char *kind = NULL, *uid = NULL;
        json_t *e = json_array_get(arr, i);
        if ((rc = ks_json_get_bool(&controller, e, "controller", false)) ||
            (rc = ks_json_get_string(&kind, e, "kind", true)) ||
            (rc = ks_json_get_string(&uid, e, "uid", true)))
            return ks_error_wrap(rc, "metadata.ownerReferences[%zu]", i);
        for (size_t k = 0; controller && k < 3; k++)
            if (strcmp(kind, spread_kinds[k]) == 0)
                spec->owner_uid = uid;
    }
    return rc;
}

static int priority(struct ks_sched_pod_spec *spec, const struct ks_sched *s, const json_t *pod)
{
    const char *cls = NULL;
    int64_t prio = 0;
    json_t *v = NULL;
    int rc;
    if ((rc = ks_json_lookup(&v, pod, "spec.priority")))
        return rc;
    if (v) {
        rc = ks_json_get_int_range(&prio, pod, "spec.priority", true, INT32_MIN, INT32_MAX);
        spec->priority = (int32_t)prio;
        return rc;
    }
    if ((rc = ks_json_get_string(&cls, pod, "spec.priorityClassName", false)) || !cls || !*cls)
        return rc;
    uint32_t id = ks_sched_strtab_find(&s->st, cls);
    for (uint32_t i = 0; id && i < s->npclasses; i++) {
        if (s->pclasses[i].name == id) {
            spec->priority = s->pclasses[i].value;
            return 0;
        }
    }
    return ks_error_set(KS_EINVALID, "spec.priorityClassName: no priority class named \"%s\"", cls);
}

int ks_sched_pod_add_json(uint32_t *out, struct ks_sched *s, const json_t *pod)
{
    struct arena a = {0};
    struct ks_sched_pod_spec spec = {.grace_seconds = -1};
    json_t *labels = NULL, *sel = NULL;
    int rc;
    if ((rc = ks_json_get_string(&spec.name, pod, "metadata.name", true)) ||
        (rc = ks_json_get_string(&spec.namespace_, pod, "metadata.namespace", false)) ||
        (rc = ks_json_get_object(&labels, pod, "metadata.labels", false)) ||
        (rc = ks_json_get_string(&spec.node_name, pod, "spec.nodeName", false)) ||
        (rc = ks_json_get_int_range(&spec.grace_seconds, pod, "spec.terminationGracePeriodSeconds",
                                    false, 0, INT32_MAX)) ||
        (rc = ks_json_get_object(&sel, pod, "spec.nodeSelector", false)))
        goto done;
    if ((rc = owner(&spec, pod)) || (rc = priority(&spec, s, pod)) ||
        (rc = ks_sched_ja_kv_map(&spec.labels, &spec.nlabels, &a, labels, "metadata.labels")) ||
        (rc = ks_sched_ja_kv_map(&spec.node_selector, &spec.nnode_selector, &a, sel,
                                 "spec.nodeSelector")) ||
        (rc = containers(&spec, &a, pod)) || (rc = node_affinity(&spec, &a, pod)) ||
        (rc = pod_terms(&spec.affinity, &spec.naffinity, &a, pod, "podAffinity")) ||
        (rc = pod_terms(&spec.anti_affinity, &spec.nanti_affinity, &a, pod, "podAntiAffinity")) ||
        (rc = weighted_pod_terms(&spec.preferred_affinity, &spec.npreferred_affinity, &a, pod,
                                 "podAffinity")) ||
        (rc = weighted_pod_terms(&spec.preferred_anti_affinity, &spec.npreferred_anti_affinity, &a,
                                 pod, "podAntiAffinity")) ||
        (rc = tolerations(&spec, &a, pod)) || (rc = spread(&spec, &a, pod)))
        goto done;
    rc = ks_sched_pod_add(out, s, &spec);
done:
    if (rc && spec.name)
        ks_error_wrap(rc, "pod %s", spec.name);
    ks_sched_arena_release(&a);
    return rc;
}
