/*
 * statefulset.c: the StatefulSet controller (Kubernetes' pkg/controller/
 * statefulset, stateful_set_control.go updateStatefulSet), one sync of one
 * StatefulSet against the store.
 *
 * Pods have stable names <set>-0 .. <set>-(replicas-1), spec.hostname set
 * to the pod name and spec.subdomain to spec.serviceName, and the labels
 * statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
 * controller-revision-hash (the hash of the effective template, see
 * configmaps.c). With podManagementPolicy OrderedReady (the default) pod
 * i+1 is created only when pods 0..i are Running and Ready (available with
 * minReadySeconds), and scaling down removes the highest ordinal first,
 * one at a time, only while the rest are Running and Ready. Parallel
 * creates and deletes all at once. Finished pods (Failed/Succeeded) are
 * deleted and recreated under the same name. RollingUpdate replaces pods
 * whose revision differs, from the highest ordinal down to
 * rollingUpdate.partition, one at a time, each only after all pods are
 * Running and Ready; OnDelete replaces a pod only when someone deletes it.
 * Per-pod storage is what the pod spec says (hostPath, emptyDir): the same
 * name on the same node finds the same hostPath again. volumeClaimTemplates
 * are not supported: the condition VolumeClaimTemplatesUnsupported and a
 * Warning event say so, and pods are created without the claims.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_LABEL_REVISION_HASH "controller-revision-hash"
#define KS_LABEL_POD_NAME "statefulset.kubernetes.io/pod-name"
#define KS_LABEL_POD_INDEX "apps.kubernetes.io/pod-index"

/* Ordinal of a pod named <set>-<n>; -1 when the name is not of that form. */
static int64_t ordinal_of(const json_t *pod, const char *set)
{
    const char *name = ks_ctl_name(pod);
    size_t n = strlen(set);
    int64_t ord;
    if (strncmp(name, set, n) || name[n] != '-' || !name[n + 1] ||
        (name[n + 1] == '0' && name[n + 2]) || ks_str_to_i64(&ord, name + n + 1, "ordinal"))
        return -1;
    return ord;
}

static const char *revision_of_pod(const json_t *pod)
{
    return ks_ctl_str(ks_ctl_at(pod, "metadata", "labels"), KS_LABEL_REVISION_HASH, NULL);
}

static bool running_ready(const json_t *pod, int64_t min_ready, int64_t now)
{
    const char *phase = ks_ctl_str(pod, "status", "phase");
    return phase && !strcmp(phase, "Running") && !ks_ctl_pod_terminating(pod) &&
           ks_ctl_pod_available(pod, min_ready, now);
}

struct ssync {
    bool *changed;
    struct ks_store *store;
    const json_t *sts;
    const struct ks_ctl_env *env;
    json_t *pods; /* the namespace's pods, kept current */
    json_t *tmpl; /* effective template with the revision label */
    char hash[16];
    int64_t replicas, partition, min_ready;
    bool parallel, on_delete;
};

static int create_pod(struct ssync *s, json_t **slot, int64_t ord)
{
    char name[300], idx[24];
    snprintf(name, sizeof name, "%s-%lld", ks_ctl_name(s->sts), (long long)ord);
    snprintf(idx, sizeof idx, "%lld", (long long)ord);
    json_t *pod = ks_ctl_pod_new(s->sts, s->tmpl, name, NULL, s->env);
    json_t *labels = ks_ctl_at(pod, "metadata", "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        ks_ctl_set(pod, "metadata", "labels", labels);
    }
    json_object_set_new(labels, KS_LABEL_POD_NAME, json_string(name));
    json_object_set_new(labels, KS_LABEL_POD_INDEX, json_string(idx));
    ks_ctl_set(pod, "spec", "hostname", json_string(name));
    const char *svc = ks_ctl_str(s->sts, "spec", "serviceName");
    if (svc && *svc)
        ks_ctl_set(pod, "spec", "subdomain", json_string(svc));
    int rc = ks_ctl_pod_create(s->changed, s->store, pod, s->pods);
    if (!rc)
        *slot = pod;
    else
        json_decref(pod);
    return rc;
}

static int remove_pod(struct ssync *s, json_t **slot)
{
    int rc = ks_ctl_pod_remove(s->changed, s->store, *slot, s->pods);
    if (!rc) {
        json_decref(*slot);
        *slot = NULL;
    }
    return rc;
}

/* The sync proper over slots[0..n) (pods by ordinal, NULL = missing) and
 * condemned (pods at ordinals >= replicas, highest first). */
static int update_set(struct ssync *s, json_t **slots, json_t **condemned, size_t ncondemned)
{
    int rc = 0;
    int64_t n = s->replicas;
    bool all_ready = true;
    for (int64_t i = 0; i < n; i++) {
        json_t *p = slots[i];
        if (p && !ks_ctl_pod_active(p) && !ks_ctl_pod_terminating(p)) {
            if ((rc = remove_pod(s, &slots[i])))
                return rc;
            if (!s->parallel)
                return 0; /* recreated at the next step */
            p = NULL;
        }
        if (!p) {
            if ((rc = create_pod(s, &slots[i], i)))
                return rc;
            all_ready = false;
            if (!s->parallel)
                return 0; /* wait for it to be Running and Ready */
            continue;
        }
        if (!running_ready(p, s->min_ready, s->env->now)) {
            all_ready = false;
            if (!s->parallel)
                return 0;
        }
    }
    /* scale down, highest ordinal first */
    for (size_t k = 0; k < ncondemned; k++) {
        if (ks_ctl_pod_terminating(condemned[k])) {
            if (!s->parallel)
                return 0;
            continue;
        }
        if (!s->parallel && !all_ready)
            return 0;
        if ((rc = remove_pod(s, &condemned[k])))
            return rc;
        if (!s->parallel)
            return 0;
    }
    if (s->on_delete || !all_ready)
        return 0;
    /* rolling update from the highest ordinal down to the partition */
    for (int64_t i = n - 1; i >= s->partition; i--) {
        const char *h = revision_of_pod(slots[i]);
        if (h && !strcmp(h, s->hash))
            continue;
        return remove_pod(s, &slots[i]); /* recreated at the new revision next step */
    }
    return 0;
}

static json_t *status_of(struct ssync *s, json_t **slots, json_t **condemned, size_t ncondemned)
{
    int64_t replicas = 0, ready = 0, available = 0, updated = 0, current = 0;
    const char *cur_rev = ks_ctl_str(s->sts, "status", "currentRevision");
    for (size_t k = 0; k < (size_t)s->replicas + ncondemned; k++) {
        const json_t *p = k < (size_t)s->replicas ? slots[k] : condemned[k - (size_t)s->replicas];
        if (!p)
            continue;
        replicas++;
        ready += ks_ctl_pod_ready(p);
        available += ks_ctl_pod_available(p, s->min_ready, s->env->now);
        const char *h = revision_of_pod(p);
        updated += h && !strcmp(h, s->hash);
        current += h && cur_rev && !strcmp(h, cur_rev);
    }
    /* the rollout is complete when every pod runs the update revision */
    if (!cur_rev || (updated == s->replicas && replicas == s->replicas && ready == replicas)) {
        cur_rev = s->hash;
        current = updated;
    }
    json_t *st = json_deep_copy(json_object_get(s->sts, "status"));
    if (!json_is_object(st)) {
        json_decref(st);
        st = json_object();
    }
    json_t *counts =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:i}", "replicas", (json_int_t)replicas,
                  "readyReplicas", (json_int_t)ready, "availableReplicas", (json_int_t)available,
                  "currentReplicas", (json_int_t)current, "updatedReplicas", (json_int_t)updated,
                  "currentRevision", cur_rev, "updateRevision", s->hash, "collisionCount", 0);
    json_object_update(st, counts);
    json_decref(counts);
    json_t *gen = ks_ctl_at(s->sts, "metadata", "generation");
    if (json_is_integer(gen))
        json_object_set(st, "observedGeneration", gen);
    return st;
}

static int read_spec(struct ssync *s)
{
    int rc;
    const json_t *spec = json_object_get(s->sts, "spec");
    if ((rc = ks_ctl_int(&s->replicas, s->sts, "spec", "replicas", 1, KS_CTL_MAX_REPLICAS)) ||
        (rc = ks_ctl_int(&s->min_ready, s->sts, "spec", "minReadySeconds", 0, INT32_MAX)) ||
        (rc = ks_ctl_int(&s->partition, json_object_get(spec, "updateStrategy"), "rollingUpdate",
                         "partition", 0, INT32_MAX)))
        return rc;
    const char *policy = json_string_value(json_object_get(spec, "podManagementPolicy"));
    if (policy && strcmp(policy, "OrderedReady") && strcmp(policy, "Parallel"))
        return ks_error_set(KS_EINVALID,
                            "spec.podManagementPolicy: \"%s\" is not OrderedReady or Parallel",
                            policy);
    s->parallel = policy && !strcmp(policy, "Parallel");
    const char *type = ks_ctl_str(json_object_get(spec, "updateStrategy"), "type", NULL);
    if (type && strcmp(type, "RollingUpdate") && strcmp(type, "OnDelete"))
        return ks_error_set(
            KS_EINVALID, "spec.updateStrategy.type: \"%s\" is not RollingUpdate or OnDelete", type);
    s->on_delete = type && !strcmp(type, "OnDelete");
    return 0;
}

int ks_ctl_statefulset_sync(bool *out_changed, struct ks_store *store, const json_t *sts,
                            const struct ks_ctl_env *env, json_t *pods)
{
    struct ssync s = {.changed = out_changed, .store = store, .sts = sts, .env = env, .pods = pods};
    struct ks_selector *sel = NULL;
    json_t *owned = NULL, *next = NULL, **slots = NULL, **condemned = NULL;
    size_t ncondemned = 0, i;
    int rc = read_spec(&s);
    if (!rc)
        rc = ks_ctl_selector(&sel, sts);
    if (rc == KS_EINVALID || rc == KS_ELIMIT) {
        next = json_deep_copy(sts);
        if (!json_is_object(json_object_get(next, "status")))
            json_object_set_new(next, "status", json_object());
        ks_ctl_condition_put(next, "ReplicaFailure", "True", "InvalidSpec", ks_error_last(),
                             env->now);
        rc = ks_ctl_write(out_changed, store, sts, next);
        goto done;
    }
    if (rc || (rc = ks_ctl_effective_template(&s.tmpl, store, sts)) ||
        (rc = ks_ctl_pod_template_hash(s.hash, sizeof s.hash, s.tmpl, 0)))
        goto done;
    if (!json_is_object(ks_ctl_at(s.tmpl, "metadata", "labels")))
        ks_ctl_set(s.tmpl, "metadata", "labels", json_object());
    json_object_set_new(ks_ctl_at(s.tmpl, "metadata", "labels"), KS_LABEL_REVISION_HASH,
                        json_string(s.hash));
    if ((rc = ks_ctl_claim(&owned, out_changed, store, sts, sel, pods)))
        goto done;
    size_t nowned = json_array_size(owned);
    slots = calloc((size_t)s.replicas + 1, sizeof *slots);
    condemned = calloc(nowned + 1, sizeof *condemned);
    if (!slots || !condemned) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    json_t *pod;
    json_array_foreach(owned, i, pod)
    {
        int64_t ord = ordinal_of(pod, ks_ctl_name(sts));
        if (ord >= 0 && ord < s.replicas && !slots[ord])
            slots[ord] = json_incref(pod);
        else if (ord >= 0)
            condemned[ncondemned++] = json_incref(pod);
        /* pods of other names are the set's by selector only: left alone */
    }
    /* highest ordinal first */
    for (size_t a = 1; a < ncondemned; a++)
        for (size_t b = a; b > 0 && ordinal_of(condemned[b], ks_ctl_name(sts)) >
                                        ordinal_of(condemned[b - 1], ks_ctl_name(sts));
             b--) {
            json_t *t = condemned[b];
            condemned[b] = condemned[b - 1];
            condemned[b - 1] = t;
        }
    if ((rc = update_set(&s, slots, condemned, ncondemned)))
        goto done;
    /* condemned pods deleted above are NULL now: compact */
    size_t kept = 0;
    for (i = 0; i < ncondemned; i++)
        if (condemned[i])
            condemned[kept++] = condemned[i];
    ncondemned = kept;
    next = json_deep_copy(sts);
    json_object_set_new(next, "status", status_of(&s, slots, condemned, ncondemned));
    ks_ctl_condition_del(next, "ReplicaFailure");
    bool claims = json_array_size(ks_ctl_at(sts, "spec", "volumeClaimTemplates")) > 0;
    bool said = ks_ctl_condition(ks_ctl_at(sts, "status", "conditions"),
                                 "VolumeClaimTemplatesUnsupported") != NULL;
    if (claims) {
        const char *msg = "volumeClaimTemplates are not supported by keelson: pods are created "
                          "without the claims; use hostPath or emptyDir volumes in the template";
        ks_ctl_condition_put(next, "VolumeClaimTemplatesUnsupported", "True", "NotSupported", msg,
                             env->now);
        if (!said &&
            (rc = ks_ctl_event(store, sts, "Warning", "VolumeClaimTemplatesUnsupported", msg)))
            goto done;
    } else {
        ks_ctl_condition_del(next, "VolumeClaimTemplatesUnsupported");
    }
    if (!json_array_size(ks_ctl_at(next, "status", "conditions")))
        json_object_del(json_object_get(next, "status"), "conditions");
    rc = ks_ctl_write(out_changed, store, sts, next);
done:
    for (i = 0; slots && i < (size_t)s.replicas; i++)
        json_decref(slots[i]);
    for (i = 0; condemned && i < ncondemned; i++)
        json_decref(condemned[i]);
    free(slots);
    free(condemned);
    ks_selector_free(sel);
    json_decref(owned);
    json_decref(next);
    json_decref(s.tmpl);
    return rc;
}
