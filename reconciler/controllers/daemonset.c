/*
 * daemonset.c: the DaemonSet controller (Kubernetes' pkg/controller/
 * daemon: manage, rollingUpdate, updateDaemonSetStatus), one sync of one
 * DaemonSet against the store.
 *
 * A node is eligible when its Node object has Ready=True and the pod
 * template's nodeSelector, required node affinity terms (matchExpressions
 * In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields on metadata.name) and
 * tolerations admit it (taints with effect NoSchedule or NoExecute must be
 * tolerated; PreferNoSchedule is ignored). An eligible node without a pod
 * of this DaemonSet gets one, created with spec.nodeName set directly (the
 * DaemonSet controller pins pods the same way, through affinity, and they
 * bypass the scheduler); pods on nodes that left or stopped being eligible
 * are deleted, as are extra pods on one node and finished pods (they are
 * recreated). Pods carry controller-revision-hash, the hash of the
 * (effective, see configmaps.c) template. RollingUpdate deletes pods of an
 * older hash while at most maxUnavailable (default 1, int or percent of
 * the eligible nodes, rounded up) eligible nodes are without an available
 * pod; the node gets a pod of the new template at the next step. OnDelete
 * replaces a pod only when someone deletes it.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_LABEL_REVISION_HASH "controller-revision-hash"

/* ---- node eligibility ----------------------------------------------------- */

static bool node_ready(const json_t *node)
{
    const json_t *c = ks_ctl_condition(ks_ctl_at(node, "status", "conditions"), "Ready");
    const char *st = json_string_value(json_object_get(c, "status"));
    return st && !strcmp(st, "True");
}

static bool in_values(const json_t *values, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(values, i, x)
    {
        if (v && json_is_string(x) && !strcmp(json_string_value(x), v))
            return true;
    }
    return false;
}

/* One NodeSelectorRequirement against a value (NULL = absent). */
static bool requirement(const json_t *req, const char *value)
{
    const char *op = json_string_value(json_object_get(req, "operator"));
    const json_t *values = json_object_get(req, "values");
    if (!op)
        return false;
    if (!strcmp(op, "In"))
        return in_values(values, value);
    if (!strcmp(op, "NotIn"))
        return !in_values(values, value);
    if (!strcmp(op, "Exists"))
        return value != NULL;
    if (!strcmp(op, "DoesNotExist"))
        return value == NULL;
    if (strcmp(op, "Gt") && strcmp(op, "Lt"))
        return false;
    int64_t have, want;
    const char *w = json_string_value(json_array_get(values, 0));
    if (!value || !w || json_array_size(values) != 1 || ks_str_to_i64(&have, value, "label") ||
        ks_str_to_i64(&want, w, "value"))
        return false;
    return !strcmp(op, "Gt") ? have > want : have < want;
}

/* A nodeSelectorTerm: every expression and field holds (an empty term
 * matches nothing, as in Kubernetes). */
static bool term_matches(const json_t *term, const json_t *node)
{
    const json_t *exprs = json_object_get(term, "matchExpressions");
    const json_t *fields = json_object_get(term, "matchFields");
    if (!json_array_size(exprs) && !json_array_size(fields))
        return false;
    const json_t *labels = ks_ctl_at(node, "metadata", "labels");
    size_t i;
    json_t *r;
    json_array_foreach(exprs, i, r)
    {
        const char *key = json_string_value(json_object_get(r, "key"));
        if (!key || !requirement(r, json_string_value(json_object_get(labels, key))))
            return false;
    }
    json_array_foreach(fields, i, r)
    {
        const char *key = json_string_value(json_object_get(r, "key"));
        if (!key || strcmp(key, "metadata.name") || !requirement(r, ks_ctl_name(node)))
            return false;
    }
    return true;
}

static bool tolerates(const json_t *tolerations, const json_t *taint)
{
    const char *tkey = json_string_value(json_object_get(taint, "key"));
    const char *tval = json_string_value(json_object_get(taint, "value"));
    const char *teff = json_string_value(json_object_get(taint, "effect"));
    size_t i;
    json_t *t;
    json_array_foreach(tolerations, i, t)
    {
        const char *key = json_string_value(json_object_get(t, "key"));
        const char *op = json_string_value(json_object_get(t, "operator"));
        const char *val = json_string_value(json_object_get(t, "value"));
        const char *eff = json_string_value(json_object_get(t, "effect"));
        bool exists = op && !strcmp(op, "Exists");
        if (eff && *eff && (!teff || strcmp(eff, teff)))
            continue;
        if (key && *key && (!tkey || strcmp(key, tkey)))
            continue;
        if ((!key || !*key) && !exists)
            continue;
        if (exists || !strcmp(val ? val : "", tval ? tval : ""))
            return true;
    }
    return false;
}

/* nodeShouldRunDaemonPod without resources: Ready, nodeSelector, required
 * node affinity, NoSchedule/NoExecute taints tolerated. */
static bool node_eligible(const json_t *node, const json_t *pod_spec)
{
    if (!node_ready(node))
        return false;
    const json_t *labels = ks_ctl_at(node, "metadata", "labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(pod_spec, "nodeSelector"), k, v)
    {
        const char *have = json_string_value(json_object_get(labels, k));
        if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
            return false;
    }
    const json_t *req = ks_ctl_at(ks_ctl_at(pod_spec, "affinity", "nodeAffinity"),
                                  "requiredDuringSchedulingIgnoredDuringExecution", NULL);
    const json_t *terms = json_object_get(req, "nodeSelectorTerms");
    if (req) {
        bool any = false;
        size_t i;
        json_t *t;
        json_array_foreach(terms, i, t)
        {
            if ((any = term_matches(t, node)))
                break;
        }
        if (!any)
            return false;
    }
    size_t i;
    json_t *taint;
    json_array_foreach(ks_ctl_at(node, "spec", "taints"), i, taint)
    {
        const char *eff = json_string_value(json_object_get(taint, "effect"));
        if (eff && (!strcmp(eff, "NoSchedule") || !strcmp(eff, "NoExecute")) &&
            !tolerates(json_object_get(pod_spec, "tolerations"), taint))
            return false;
    }
    return true;
}

/* ---- the sync --------------------------------------------------------------- */

static const char *revision_of_pod(const json_t *pod)
{
    return ks_ctl_str(ks_ctl_at(pod, "metadata", "labels"), KS_LABEL_REVISION_HASH, NULL);
}

struct dsnode {
    const json_t *node;
    bool eligible;
    json_t *pods; /* this DaemonSet's pods bound there (references) */
};

static int invalid(bool *changed, struct ks_store *store, const json_t *ds, int64_t now)
{
    json_t *next = json_deep_copy(ds);
    if (!json_is_object(json_object_get(next, "status")))
        json_object_set_new(next, "status", json_object());
    ks_ctl_condition_put(next, "ReplicaFailure", "True", "InvalidSpec", ks_error_last(), now);
    int rc = ks_ctl_write(changed, store, ds, next);
    json_decref(next);
    return rc;
}

int ks_ctl_daemonset_sync(bool *out_changed, struct ks_store *store, const json_t *ds,
                          const struct ks_ctl_env *env, json_t *pods)
{
    struct ks_selector *sel = NULL;
    json_t *owned = NULL, *nodes = NULL, *tmpl = NULL, *st = NULL;
    struct dsnode *dn = NULL;
    size_t nn = 0, i;
    int64_t min_ready = 0;
    char hash[16];
    int rc = ks_ctl_selector(&sel, ds);
    if (!rc)
        rc = ks_ctl_int(&min_ready, ds, "spec", "minReadySeconds", 0, INT32_MAX);
    const char *strategy = ks_ctl_str(ks_ctl_at(ds, "spec", "updateStrategy"), "type", NULL);
    if (!rc && strategy && strcmp(strategy, "RollingUpdate") && strcmp(strategy, "OnDelete"))
        rc = ks_error_set(KS_EINVALID,
                          "spec.updateStrategy.type: \"%s\" is not RollingUpdate or OnDelete",
                          strategy);
    if (rc == KS_EINVALID || rc == KS_ELIMIT) {
        rc = invalid(out_changed, store, ds, env->now);
        goto done;
    }
    if (rc || (rc = ks_ctl_effective_template(&tmpl, store, ds)) ||
        (rc = ks_ctl_pod_template_hash(hash, sizeof hash, tmpl, 0)))
        goto done;
    if (!json_is_object(ks_ctl_at(tmpl, "metadata", "labels")))
        ks_ctl_set(tmpl, "metadata", "labels", json_object());
    json_object_set_new(ks_ctl_at(tmpl, "metadata", "labels"), KS_LABEL_REVISION_HASH,
                        json_string(hash));
    const json_t *pod_spec = json_object_get(tmpl, "spec");
    if ((rc = ks_ctl_claim(&owned, out_changed, store, ds, sel, pods)) ||
        (rc = ks_ctl_list(&nodes, store, "Node", NULL)))
        goto done;
    nn = json_array_size(nodes);
    dn = calloc(nn ? nn : 1, sizeof *dn);
    if (!dn) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    int64_t desired = 0;
    for (i = 0; i < nn; i++) {
        dn[i].node = json_array_get(nodes, i);
        dn[i].eligible = node_eligible(dn[i].node, pod_spec);
        dn[i].pods = json_array();
        desired += dn[i].eligible;
    }
    /* sort the pods onto their nodes; pods of unknown nodes and finished
     * pods go (Kubernetes deletes failed daemon pods and creates anew) */
    json_t *pod;
    json_array_foreach(owned, i, pod)
    {
        const char *on = ks_ctl_str(pod, "spec", "nodeName");
        size_t j = 0;
        while (on && j < nn && strcmp(ks_ctl_name(dn[j].node), on))
            j++;
        if (!on || j == nn || !ks_ctl_pod_active(pod)) {
            if (ks_ctl_pod_terminating(pod))
                continue;
            if ((rc = ks_ctl_pod_remove(out_changed, store, pod, pods)))
                goto done;
            continue;
        }
        json_array_append(dn[j].pods, pod);
    }
    int64_t max_unavailable = 1;
    const json_t *mu = ks_ctl_at(ks_ctl_at(ds, "spec", "updateStrategy"), "rollingUpdate", NULL);
    mu = json_object_get(mu, "maxUnavailable");
    if (mu && (rc = ks_ctl_int_or_percent(&max_unavailable, mu, desired, true,
                                          "spec.updateStrategy.rollingUpdate.maxUnavailable"))) {
        rc = rc == KS_EINVALID ? invalid(out_changed, store, ds, env->now) : rc;
        goto done;
    }
    if (max_unavailable < 1)
        max_unavailable = 1;
    int64_t scheduled = 0, ready = 0, available = 0, updated = 0, misscheduled = 0;
    int64_t unavailable = 0;
    /* manage: one pod per eligible node, none elsewhere */
    for (i = 0; i < nn; i++) {
        size_t np = json_array_size(dn[i].pods);
        if (!dn[i].eligible) {
            for (size_t j = 0; j < np; j++) {
                const json_t *p = json_array_get(dn[i].pods, j);
                if (ks_ctl_pod_terminating(p)) {
                    misscheduled++;
                    continue;
                }
                if ((rc = ks_ctl_pod_remove(out_changed, store, p, pods)))
                    goto done;
            }
            json_array_clear(dn[i].pods);
            continue;
        }
        if (np == 0) {
            char name[80], base[64];
            if ((rc = ks_ctl_generate_name(name, sizeof name, store, "Pod", ks_ctl_namespace(ds),
                                           ks_ctl_name(ds), env)))
                goto done;
            snprintf(base, sizeof base, "%.58s-", ks_ctl_name(ds));
            json_t *p = ks_ctl_pod_new(ds, tmpl, name, base, env);
            ks_ctl_set(p, "spec", "nodeName", json_string(ks_ctl_name(dn[i].node)));
            rc = ks_ctl_pod_create(out_changed, store, p, pods);
            if (!rc)
                json_array_append(dn[i].pods, p);
            json_decref(p);
            if (rc)
                goto done;
            continue;
        }
        if (np > 1) {
            json_t **v = malloc(np * sizeof *v);
            if (!v) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            for (size_t j = 0; j < np; j++)
                v[j] = json_incref(json_array_get(dn[i].pods, j));
            qsort(v, np, sizeof *v, ks_ctl_by_creation); /* the oldest stays */
            for (size_t j = 1; j < np && !rc; j++)
                rc = ks_ctl_pod_remove(out_changed, store, v[j], pods);
            json_array_clear(dn[i].pods);
            json_array_append(dn[i].pods, v[0]);
            for (size_t j = 0; j < np; j++)
                json_decref(v[j]);
            free(v);
            if (rc)
                goto done;
        }
    }
    /* counts, then the rolling update over what is left */
    for (i = 0; i < nn; i++) {
        const json_t *p = json_array_get(dn[i].pods, 0);
        if (!dn[i].eligible || !p)
            continue;
        scheduled++;
        ready += ks_ctl_pod_ready(p);
        bool avail = ks_ctl_pod_available(p, min_ready, env->now);
        available += avail;
        unavailable += !avail;
        const char *h = revision_of_pod(p);
        updated += h && !strcmp(h, hash);
    }
    unavailable += desired - scheduled;
    if (!strategy || !strcmp(strategy, "RollingUpdate")) {
        for (i = 0; i < nn; i++) {
            const json_t *p = json_array_get(dn[i].pods, 0);
            const char *h = revision_of_pod(p);
            if (!dn[i].eligible || !p || (h && !strcmp(h, hash)) || ks_ctl_pod_terminating(p))
                continue;
            bool avail = ks_ctl_pod_available(p, min_ready, env->now);
            if (avail && unavailable >= max_unavailable)
                continue;
            if ((rc = ks_ctl_pod_remove(out_changed, store, p, pods)))
                goto done;
            if (avail)
                unavailable++;
        }
    }
    st = json_deep_copy(json_object_get(ds, "status"));
    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    json_t *counts =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "desiredNumberScheduled",
                  (json_int_t)desired, "currentNumberScheduled", (json_int_t)scheduled,
                  "numberMisscheduled", (json_int_t)misscheduled, "numberReady", (json_int_t)ready,
                  "numberAvailable", (json_int_t)available, "numberUnavailable",
                  (json_int_t)(desired - available > 0 ? desired - available : 0),
                  "updatedNumberScheduled", (json_int_t)updated);
    json_object_update(st, counts);
    json_decref(counts);
    json_t *gen = ks_ctl_at(ds, "metadata", "generation");
    if (json_is_integer(gen))
        json_object_set(st, "observedGeneration", gen);
    json_t *next = json_deep_copy(ds);
    json_object_set_new(next, "status", st);
    st = NULL;
    ks_ctl_condition_del(next, "ReplicaFailure");
    if (!json_array_size(ks_ctl_at(next, "status", "conditions")))
        json_object_del(json_object_get(next, "status"), "conditions");
    rc = ks_ctl_write(out_changed, store, ds, next);
    json_decref(next);
done:
    for (i = 0; dn && i < nn; i++)
        json_decref(dn[i].pods);
    free(dn);
    ks_selector_free(sel);
    json_decref(owned);
    json_decref(nodes);
    json_decref(tmpl);
    json_decref(st);
    return rc;
}
