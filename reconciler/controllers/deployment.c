/*
 * deployment.c: the Deployment controller (Kubernetes' pkg/controller/
 * deployment: sync.go, rolling.go, recreate.go, progress.go), one sync of
 * one Deployment against the store.
 *
 * The ReplicaSet of the current template is found by comparing templates
 * with the pod-template-hash label ignored (EqualIgnoreHash), so reverting a
 * template finds and reuses the old ReplicaSet, which gets the next
 * revision. New ReplicaSets are named <deploy>-<hash>; a name taken by a
 * different template bumps status.collisionCount and hashes again.
 * RollingUpdate follows reconcileNewReplicaSet / reconcileOldReplicaSets
 * (surge rounds up, unavailability rounds down, both zero becomes one
 * unavailable); Recreate scales every old ReplicaSet to zero and waits for
 * their pods to be gone before creating or scaling the new one. Paused
 * Deployments only scale the one active ReplicaSet and clean up history.
 * Status and the Progressing/Available conditions follow calculateStatus
 * and syncRolloutStatus, timed by env->now.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dsync {
    struct ks_store *store;
    const struct ks_ctl_env *env;
    bool *changed;
    const json_t *d;
    json_t *conditions; /* working copy of status.conditions */
    int64_t replicas, min_ready, history, deadline, collisions;
    int64_t surge, unavailable;
    bool paused, recreate, has_deadline;
    struct ks_selector *sel;
    json_t *all;    /* the namespace's ReplicaSets (shared by the step), kept current */
    json_t *rss;    /* owned ReplicaSets, kept current as they are written */
    json_t *new_rs; /* borrowed from rss, NULL when none */
    json_t *tmpl;   /* the effective pod template (configmaps.c), owned */
};

/* ---- conditions ---------------------------------------------------------- */

static json_t *condition_get(json_t *conds, const char *type)
{
    return ks_ctl_condition(conds, type);
}

static void condition_remove(json_t *conds, const char *type)
{
    for (size_t i = json_array_size(conds); i-- > 0;) {
        const char *t = json_string_value(json_object_get(json_array_get(conds, i), "type"));
        if (t && !strcmp(t, type))
            json_array_remove(conds, i);
    }
}

static bool condition_is(json_t *conds, const char *type, const char *reason)
{
    const char *r = json_string_value(json_object_get(condition_get(conds, type), "reason"));
    return r && !strcmp(r, reason);
}

/* SetDeploymentCondition; force: replace even when status and reason are
 * unchanged (the Progressing special case that refreshes lastUpdateTime). */
static void condition_set(struct dsync *s, const char *type, const char *status, const char *reason,
                          const char *msg, bool force)
{
    char ts[KS_CTL_TIME_LEN];
    ks_ctl_time_format(ts, s->env->now);
    json_t *cur = condition_get(s->conditions, type);
    const char *cs = json_string_value(json_object_get(cur, "status"));
    const char *cr = json_string_value(json_object_get(cur, "reason"));
    if (!force && cs && cr && !strcmp(cs, status) && !strcmp(cr, reason))
        return;
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                  "lastUpdateTime", ts, "lastTransitionTime", ts, "reason", reason, "message", msg);
    if (cs && !strcmp(cs, status))
        json_object_set(c, "lastTransitionTime", json_object_get(cur, "lastTransitionTime"));
    condition_remove(s->conditions, type);
    json_array_append_new(s->conditions, c);
}

/* ---- ReplicaSet helpers --------------------------------------------------- */

static int64_t rs_int(const json_t *rs, const char *a, const char *b)
{
    return json_integer_value(ks_ctl_at(rs, a, b));
}

static int64_t st_int_of(const json_t *obj, const char *key)
{
    return rs_int(obj, "status", key);
}

static int64_t rs_revision(const json_t *rs)
{
    int64_t rev = 0;
    const char *s = json_string_value(
        json_object_get(ks_ctl_at(rs, "metadata", "annotations"), KS_ANNOTATION_REVISION));
    if (!s || ks_str_to_i64(&rev, s, "revision"))
        return 0;
    return rev;
}

/* Replaces rss[i] by next after writing it (next's reference is taken). */
static int rs_replace(struct dsync *s, size_t i, json_t *next)
{
    json_t *prev = json_array_get(s->rss, i);
    int rc = ks_ctl_write(s->changed, s->store, prev, next);
    if (!rc) {
        bool was_new = prev == s->new_rs;
        ks_ctl_array_replace(s->all, prev, next);
        json_array_set(s->rss, i, next);
        if (was_new)
            s->new_rs = next;
    }
    json_decref(next);
    return rc;
}

static size_t rs_index(struct dsync *s, const json_t *rs)
{
    size_t i;
    json_t *r;
    json_array_foreach(s->rss, i, r)
    {
        if (r == rs)
            return i;
    }
    return (size_t)-1;
}

/* MaxSurge(d): 0 for Recreate. */
static int64_t max_surge(const struct dsync *s)
{
    return s->recreate ? 0 : s->surge;
}

/* Sets annotation key to the decimal n on obj (annotations created). */
static void annotate(json_t *obj, const char *key, int64_t n)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)n);
    json_t *ann = ks_ctl_at(obj, "metadata", "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        ks_ctl_set(obj, "metadata", "annotations", ann);
    }
    json_object_set_new(ann, key, json_string(buf));
}

/* Integer annotation; false when absent or not a number. */
static bool annotation_int(int64_t *out, const json_t *obj, const char *key)
{
    const char *v =
        json_string_value(json_object_get(ks_ctl_at(obj, "metadata", "annotations"), key));
    return v && ks_str_to_i64(out, v, key) == 0;
}

/* SetReplicasAnnotations: what the Deployment wanted when it last sized rs. */
static void annotate_replicas(const struct dsync *s, json_t *rs)
{
    annotate(rs, KS_ANNOTATION_DESIRED_REPLICAS, s->replicas);
    annotate(rs, KS_ANNOTATION_MAX_REPLICAS, s->replicas + max_surge(s));
}

static int rs_scale(struct dsync *s, const json_t *rs, int64_t replicas)
{
    if (rs_int(rs, "spec", "replicas") == replicas)
        return 0;
    json_t *next = json_deep_copy(rs);
    ks_ctl_set(next, "spec", "replicas", json_integer(replicas));
    annotate_replicas(s, next);
    return rs_replace(s, rs_index(s, rs), next);
}

/* ReplicaSets by revision, then by creation. */
static int by_revision(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int64_t ra = rs_revision(a), rb = rs_revision(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return ks_ctl_by_creation(pa, pb);
}

static size_t old_list(json_t **out, struct dsync *s, int (*cmp)(const void *, const void *))
{
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(s->rss, i, r)
    {
        if (r != s->new_rs)
            out[n++] = r;
    }
    qsort(out, n, sizeof *out, cmp);
    return n;
}

/* old_list into a new array (free() it). */
static int old_sorted(json_t ***out, size_t *out_n, struct dsync *s,
                      int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(s->rss);
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out_n = old_list(*out, s, cmp);
    return 0;
}

static int64_t sum(struct dsync *s, bool old_only, const char *a, const char *b)
{
    int64_t total = 0;
    size_t i;
    json_t *r;
    json_array_foreach(s->rss, i, r)
    {
        if (!old_only || r != s->new_rs)
            total += rs_int(r, a, b);
    }
    return total;
}

/* ---- spec ---------------------------------------------------------------- */

static bool literal_zero(const json_t *v)
{
    return (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_string(v) && !strcmp(json_string_value(v), "0%"));
}

static int read_spec(struct dsync *s)
{
    int rc;
    const json_t *d = s->d, *spec = json_object_get(d, "spec");
    if ((rc = ks_ctl_int(&s->replicas, d, "spec", "replicas", 1, KS_CTL_MAX_REPLICAS)) ||
        (rc = ks_ctl_int(&s->min_ready, d, "spec", "minReadySeconds", 0, INT32_MAX)) ||
        (rc = ks_ctl_int(&s->history, d, "spec", "revisionHistoryLimit", KS_CTL_DEFAULT_HISTORY,
                         INT32_MAX)) ||
        (rc = ks_ctl_int(&s->deadline, d, "spec", "progressDeadlineSeconds",
                         KS_CTL_DEFAULT_DEADLINE, INT32_MAX)) ||
        (rc = ks_ctl_int(&s->collisions, d, "status", "collisionCount", 0, INT32_MAX)))
        return rc;
    s->has_deadline = s->deadline != INT32_MAX;
    const json_t *paused = json_object_get(spec, "paused");
    if (paused && !json_is_boolean(paused))
        return ks_error_set(KS_EINVALID, "spec.paused: must be a boolean");
    s->paused = json_is_true(paused);
    const json_t *sel = json_object_get(spec, "selector");
    if (!sel)
        return ks_error_set(KS_EINVALID, "spec.selector: missing");
    if ((rc = ks_selector_from_json(&s->sel, sel)))
        return ks_error_wrap(rc, "spec.selector");
    const json_t *labels = ks_ctl_at(json_object_get(spec, "template"), "metadata", "labels");
    if (ks_selector_is_empty(s->sel) || !ks_selector_matches(s->sel, labels))
        return ks_error_set(KS_EINVALID,
                            "spec.selector: empty or does not match spec.template.metadata.labels");
    const json_t *strategy = json_object_get(spec, "strategy");
    const char *type = ks_ctl_str(strategy, "type", NULL);
    s->recreate = type && !strcmp(type, "Recreate");
    if (type && !s->recreate && strcmp(type, "RollingUpdate"))
        return ks_error_set(KS_EINVALID,
                            "spec.strategy.type: \"%s\" is not RollingUpdate or "
                            "Recreate",
                            type);
    if (s->recreate)
        return 0;
    const json_t *ru = json_object_get(strategy, "rollingUpdate");
    json_t *dflt = json_string("25%");
    const json_t *ms = json_object_get(ru, "maxSurge"), *mu = json_object_get(ru, "maxUnavailable");
    rc = ks_ctl_int_or_percent(&s->surge, ms ? ms : dflt, s->replicas, true,
                               "spec.strategy.rollingUpdate.maxSurge");
    if (!rc)
        rc = ks_ctl_int_or_percent(&s->unavailable, mu ? mu : dflt, s->replicas, false,
                                   "spec.strategy.rollingUpdate.maxUnavailable");
    json_decref(dflt);
    if (rc)
        return rc;
    if (ms && mu && literal_zero(ms) && literal_zero(mu))
        return ks_error_set(KS_EINVALID, "spec.strategy.rollingUpdate: maxSurge and "
                                         "maxUnavailable may not both be 0");
    if (s->surge == 0 && s->unavailable == 0)
        s->unavailable = 1; /* ResolveFenceposts */
    return 0;
}

/* MaxUnavailable(d) as used for the Available condition. */
static int64_t max_unavailable(const struct dsync *s)
{
    if (s->recreate || s->replicas == 0)
        return 0;
    return s->unavailable < s->replicas ? s->unavailable : s->replicas;
}

/* ---- finding and creating the new ReplicaSet ------------------------------ */

static json_t *template_without_hash(const json_t *tmpl)
{
    json_t *t = tmpl ? json_deep_copy(tmpl) : json_object();
    json_t *labels = ks_ctl_at(t, "metadata", "labels");
    json_object_del(labels, KS_LABEL_POD_TEMPLATE_HASH);
    return t;
}

static void find_new(struct dsync *s)
{
    size_t n = json_array_size(s->rss);
    json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!sorted)
        return;
    json_t *want = template_without_hash(s->tmpl);
    s->new_rs = NULL;
    size_t k = old_list(sorted, s, ks_ctl_by_creation);
    for (size_t i = 0; i < k && !s->new_rs; i++) {
        json_t *have = template_without_hash(ks_ctl_at(sorted[i], "spec", "template"));
        if (json_equal(have, want))
            s->new_rs = sorted[i];
        json_decref(have);
    }
    json_decref(want);
    free(sorted);
}

static int64_t max_old_revision(struct dsync *s)
{
    int64_t max = 0;
    size_t i;
    json_t *r;
    json_array_foreach(s->rss, i, r)
    {
        if (r != s->new_rs && rs_revision(r) > max)
            max = rs_revision(r);
    }
    return max;
}

/* NewRSNewReplicas for a ReplicaSet at current replicas. */
static int64_t new_rs_target(struct dsync *s, int64_t current)
{
    if (s->recreate)
        return s->replicas;
    int64_t pods = sum(s, false, "spec", "replicas");
    int64_t max_total = s->replicas + s->surge;
    if (pods >= max_total)
        return current;
    int64_t up = max_total - pods;
    if (up > s->replicas - current)
        up = s->replicas - current;
    return current + up;
}

/* Gives the existing new ReplicaSet the next revision when an older
 * revision is being restored, and the Deployment's minReadySeconds. */
static int sync_revision(struct dsync *s)
{
    int64_t want = max_old_revision(s) + 1;
    bool min_ready_same = rs_int(s->new_rs, "spec", "minReadySeconds") == s->min_ready;
    if (rs_revision(s->new_rs) >= want && min_ready_same)
        return 0;
    json_t *next = json_deep_copy(s->new_rs);
    /* getNewReplicaSet: minReadySeconds follows the Deployment */
    ks_ctl_set(next, "spec", "minReadySeconds", json_integer(s->min_ready));
    if (rs_revision(s->new_rs) < want)
        annotate(next, KS_ANNOTATION_REVISION, want);
    return rs_replace(s, rs_index(s, s->new_rs), next);
}

/* Creates <deploy>-<hash>; *out_collided when the name holds another
 * template (status.collisionCount is then bumped by the caller). */
static int create_new(bool *out_collided, struct dsync *s)
{
    int rc = 0;
    char hash[16], name[300], ts[KS_CTL_TIME_LEN], uid[37], rev[24];
    const json_t *dtmpl = s->tmpl;
    json_t *existing = NULL, *rs = NULL;
    if ((rc = ks_ctl_pod_template_hash(hash, sizeof hash, dtmpl, (uint32_t)s->collisions)))
        goto done;
    snprintf(name, sizeof name, "%s-%s", ks_ctl_name(s->d), hash);
    struct ks_store_key key = {"ReplicaSet", ks_ctl_namespace(s->d), name};
    rc = ks_store_get(&existing, s->store, &key);
    if (rc == 0) {
        *out_collided = true; /* not ours, or not this template (else find_new had it) */
        goto done;
    }
    if (rc != KS_ENOTFOUND)
        goto done;
    json_t *tmpl = json_deep_copy(dtmpl);
    if (!json_is_object(ks_ctl_at(tmpl, "metadata", "labels")))
        ks_ctl_set(tmpl, "metadata", "labels", json_object());
    json_t *labels = ks_ctl_at(tmpl, "metadata", "labels");
    json_object_set_new(labels, KS_LABEL_POD_TEMPLATE_HASH, json_string(hash));
    json_t *sel = json_deep_copy(ks_ctl_at(s->d, "spec", "selector"));
    ks_ctl_set(sel, "matchLabels", KS_LABEL_POD_TEMPLATE_HASH, json_string(hash));
    ks_ctl_time_format(ts, s->env->now);
    ks_ctl_new_uid(uid, s->env);
    snprintf(rev, sizeof rev, "%lld", (long long)(max_old_revision(s) + 1));
    rs = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:O, s:{s:s}, s:[o]}, s:{s:I, s:I, s:o, "
                   "s:o}}",
                   "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", name,
                   "namespace", ks_ctl_namespace(s->d), "uid", uid, "creationTimestamp", ts,
                   "labels", labels, "annotations", KS_ANNOTATION_REVISION, rev, "ownerReferences",
                   ks_ctl_owner_ref(s->d), "spec", "replicas", (json_int_t)0, "minReadySeconds",
                   (json_int_t)s->min_ready, "selector", sel, "template", tmpl);
    if (!rs) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    json_array_append(s->rss, rs);
    json_array_append(s->all, rs);
    s->new_rs = rs;
    ks_ctl_set(rs, "spec", "replicas", json_integer(new_rs_target(s, 0)));
    annotate_replicas(s, rs);
    if ((rc = ks_ctl_write(s->changed, s->store, NULL, rs)))
        goto done;
    if (s->has_deadline) {
        char msg[400];
        snprintf(msg, sizeof msg, "Created new replica set \"%s\"", name);
        condition_set(s, "Progressing", "True", "NewReplicaSetCreated", msg, false);
    }
done:
    json_decref(existing);
    json_decref(rs);
    return rc;
}

/* ---- rollout ------------------------------------------------------------- */

static int scale_old_to_zero(struct dsync *s, bool *out_scaled)
{
    json_t **old = NULL;
    size_t k = 0;
    if (old_sorted(&old, &k, s, ks_ctl_by_creation))
        return KS_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        if (rs_int(old[i], "spec", "replicas") > 0) {
            *out_scaled = true;
            rc = rs_scale(s, old[i], 0);
        }
    }
    free(old);
    return rc;
}

/* reconcileOldReplicaSets: cleanupUnhealthyReplicas then
 * scaleDownOldReplicaSetsForRollingUpdate. */
static int reconcile_old(struct dsync *s)
{
    int rc = 0;
    if (sum(s, true, "spec", "replicas") == 0)
        return 0;
    int64_t all = sum(s, false, "spec", "replicas");
    int64_t min_available = s->replicas - max_unavailable(s);
    int64_t new_unavailable = s->new_rs ? rs_int(s->new_rs, "spec", "replicas") -
                                              rs_int(s->new_rs, "status", "availableReplicas")
                                        : 0;
    int64_t max_down = all - min_available - new_unavailable;
    if (max_down <= 0)
        return 0;
    json_t **old = NULL;
    size_t k = 0;
    if (old_sorted(&old, &k, s, ks_ctl_by_creation))
        return KS_ENOMEM;
    int64_t cleaned = 0;
    for (size_t i = 0; i < k && cleaned < max_down && !rc; i++) {
        int64_t spec = rs_int(old[i], "spec", "replicas");
        int64_t avail = rs_int(old[i], "status", "availableReplicas");
        if (spec == 0 || avail >= spec)
            continue;
        int64_t down = spec - avail < max_down - cleaned ? spec - avail : max_down - cleaned;
        cleaned += down;
        rc = rs_scale(s, old[i], spec - down);
    }
    if (!rc) {
        /* the array may hold new objects now: list again */
        k = old_list(old, s, ks_ctl_by_creation);
        int64_t available = sum(s, false, "status", "availableReplicas");
        int64_t total_down = available - min_available;
        int64_t done_down = 0;
        for (size_t i = 0; i < k && done_down < total_down && !rc; i++) {
            int64_t spec = rs_int(old[i], "spec", "replicas");
            if (spec == 0)
                continue;
            int64_t down = spec < total_down - done_down ? spec : total_down - done_down;
            done_down += down;
            rc = rs_scale(s, old[i], spec - down);
        }
    }
    free(old);
    return rc;
}

static int rollout_rolling(struct dsync *s)
{
    int rc;
    if (s->new_rs) {
        int64_t cur = rs_int(s->new_rs, "spec", "replicas");
        int64_t target = cur > s->replicas ? s->replicas : new_rs_target(s, cur);
        if ((rc = rs_scale(s, s->new_rs, target)))
            return rc;
    }
    return reconcile_old(s);
}

/* Pods of old ReplicaSets still present (status.replicas > 0). */
static bool old_pods_running(struct dsync *s)
{
    return sum(s, true, "status", "replicas") > 0;
}

static int rollout_recreate(struct dsync *s, bool *out_need_new)
{
    bool scaled = false;
    int rc = scale_old_to_zero(s, &scaled);
    if (rc || scaled || old_pods_running(s))
        return rc;
    if (!s->new_rs) {
        *out_need_new = true;
        return 0;
    }
    return rs_scale(s, s->new_rs, s->replicas);
}

/* isScalingEvent: an active ReplicaSet was sized for another replicas. */
static bool scaling_event(struct dsync *s)
{
    size_t i;
    json_t *r;
    json_array_foreach(s->rss, i, r)
    {
        int64_t desired;
        if (rs_int(r, "spec", "replicas") > 0 &&
            annotation_int(&desired, r, KS_ANNOTATION_DESIRED_REPLICAS) && desired != s->replicas)
            return true;
    }
    return false;
}

/* ReplicaSetsBySizeNewer (up) / BySizeOlder (down): larger first, ties by age. */
static int by_size_newer(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int64_t sa = rs_int(a, "spec", "replicas"), sb = rs_int(b, "spec", "replicas");
    return sa != sb ? (sa > sb ? -1 : 1) : -ks_ctl_by_creation(pa, pb);
}

static int by_size_older(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int64_t sa = rs_int(a, "spec", "replicas"), sb = rs_int(b, "spec", "replicas");
    return sa != sb ? (sa > sb ? -1 : 1) : ks_ctl_by_creation(pa, pb);
}

/* getReplicaSetFraction: rs's share of a resize, from the max-replicas it
 * was sized for (rounded half away from zero, as math.Round). */
static int64_t fraction(const struct dsync *s, const json_t *rs)
{
    int64_t spec = rs_int(rs, "spec", "replicas");
    if (s->replicas == 0)
        return -spec;
    int64_t target = s->replicas + max_surge(s), annotated;
    if (!annotation_int(&annotated, rs, KS_ANNOTATION_MAX_REPLICAS))
        annotated = st_int_of(s->d, "replicas");
    if (annotated <= 0)
        return 0;
    return (2 * spec * target + annotated) / (2 * annotated) - spec;
}

/* scale(): the single active (or the newest) ReplicaSet takes
 * spec.replicas; a saturated new one retires the old; otherwise a
 * RollingUpdate spreads the change over the active ReplicaSets in
 * proportion to their sizes, leftovers to the largest. */
static int scale(struct dsync *s)
{
    size_t n = json_array_size(s->rss), n_active = 0, i;
    json_t *r, *latest = NULL;
    json_t **active = calloc(n ? n : 1, sizeof *active);
    if (!active)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = 0;
    json_array_foreach(s->rss, i, r)
    {
        if (rs_int(r, "spec", "replicas") > 0)
            active[n_active++] = r;
        if (r != s->new_rs && (!latest || ks_ctl_by_creation(&r, &latest) > 0))
            latest = r;
    }
    if (n_active <= 1) {
        json_t *target = n_active ? active[0] : (s->new_rs ? s->new_rs : latest);
        if (target)
            rc = rs_scale(s, target, s->replicas);
        goto done;
    }
    int64_t desired;
    if (s->new_rs && annotation_int(&desired, s->new_rs, KS_ANNOTATION_DESIRED_REPLICAS) &&
        desired == s->replicas && rs_int(s->new_rs, "spec", "replicas") == s->replicas &&
        rs_int(s->new_rs, "status", "availableReplicas") == s->replicas) {
        bool scaled = false;
        rc = scale_old_to_zero(s, &scaled);
        goto done;
    }
    if (s->recreate)
        goto done;
    int64_t allowed = s->replicas > 0 ? s->replicas + max_surge(s) : 0;
    int64_t to_add = allowed - sum(s, false, "spec", "replicas"), added = 0;
    if (to_add == 0)
        goto done;
    qsort(active, n_active, sizeof *active, to_add > 0 ? by_size_newer : by_size_older);
    int64_t *size = calloc(n_active, sizeof *size);
    if (!size) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < n_active; i++) {
        int64_t p = 0, room = to_add - added, f = fraction(s, active[i]);
        if (room != 0)
            p = to_add > 0 ? (f < room ? f : room) : (f > room ? f : room);
        size[i] = rs_int(active[i], "spec", "replicas") + p;
        added += p;
    }
    size[0] += to_add - added;
    if (size[0] < 0)
        size[0] = 0;
    /* write after computing: rs_scale replaces the objects active[] points to */
    json_t **keep = calloc(n_active, sizeof *keep);
    for (i = 0; keep && i < n_active; i++)
        keep[i] = json_incref(active[i]);
    for (i = 0; keep && i < n_active && !rc; i++)
        rc = rs_scale(s, keep[i], size[i]);
    for (i = 0; keep && i < n_active; i++)
        json_decref(keep[i]);
    if (!keep)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
    free(keep);
    free(size);
done:
    free(active);
    return rc;
}

/* cleanupDeployment: delete the oldest zero-sized old ReplicaSets beyond
 * revisionHistoryLimit. */
static int cleanup(struct dsync *s)
{
    json_t **old = NULL;
    size_t k = 0;
    if (old_sorted(&old, &k, s, by_revision))
        return KS_ENOMEM;
    int rc = 0;
    int64_t diff = (int64_t)k - s->history;
    for (size_t i = 0; (int64_t)i < diff && i < k && !rc; i++) {
        if (rs_int(old[i], "spec", "replicas") || rs_int(old[i], "status", "replicas"))
            continue;
        rc = ks_ctl_delete(s->changed, s->store, old[i]);
        if (!rc) {
            ks_ctl_array_remove(s->all, old[i]);
            json_array_remove(s->rss, rs_index(s, old[i]));
        }
    }
    free(old);
    return rc;
}

/* ---- status -------------------------------------------------------------- */

static json_t *calculate_status(struct dsync *s)
{
    int64_t available = sum(s, false, "status", "availableReplicas");
    int64_t unavailable = sum(s, false, "spec", "replicas") - available;
    json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas",
                           (json_int_t)sum(s, false, "status", "replicas"), "updatedReplicas",
                           (json_int_t)(s->new_rs ? rs_int(s->new_rs, "status", "replicas") : 0),
                           "readyReplicas", (json_int_t)sum(s, false, "status", "readyReplicas"),
                           "availableReplicas", (json_int_t)available, "unavailableReplicas",
                           (json_int_t)(unavailable > 0 ? unavailable : 0));
    json_t *gen = ks_ctl_at(s->d, "metadata", "generation");
    if (json_is_integer(gen))
        json_object_set(st, "observedGeneration", gen);
    if (s->collisions)
        json_object_set_new(st, "collisionCount", json_integer(s->collisions));
    if (available >= s->replicas - max_unavailable(s))
        condition_set(s, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", false);
    else
        condition_set(s, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", false);
    return st;
}

static int64_t st_int(const json_t *st, const char *k)
{
    return json_integer_value(json_object_get(st, k));
}

static bool complete(const struct dsync *s, const json_t *st)
{
    return st_int(st, "updatedReplicas") == s->replicas && st_int(st, "replicas") == s->replicas &&
           st_int(st, "availableReplicas") == s->replicas;
}

static bool progressing(const json_t *old, const json_t *st)
{
    return st_int(st, "updatedReplicas") > st_int(old, "updatedReplicas") ||
           st_int(old, "replicas") - st_int(old, "updatedReplicas") >
               st_int(st, "replicas") - st_int(st, "updatedReplicas") ||
           st_int(st, "readyReplicas") > st_int(old, "readyReplicas") ||
           st_int(st, "availableReplicas") > st_int(old, "availableReplicas");
}

static bool timed_out(const struct dsync *s)
{
    json_t *c = condition_get(s->conditions, "Progressing");
    if (!s->has_deadline || !c ||
        condition_is(s->conditions, "Progressing", "NewReplicaSetAvailable"))
        return false;
    if (condition_is(s->conditions, "Progressing", "ProgressDeadlineExceeded"))
        return true;
    int64_t from = 0;
    if (ks_ctl_time_parse(&from, json_string_value(json_object_get(c, "lastUpdateTime"))))
        return false;
    return from + s->deadline < s->env->now;
}

/* syncRolloutStatus's Progressing condition. */
static void rollout_condition(struct dsync *s, const json_t *st)
{
    const json_t *old = json_object_get(s->d, "status");
    char msg[400];
    const char *what = s->new_rs ? "ReplicaSet" : "Deployment";
    const char *who = s->new_rs ? ks_ctl_name(s->new_rs) : ks_ctl_name(s->d);
    if (!s->has_deadline) {
        condition_remove(s->conditions, "Progressing");
        return;
    }
    bool done = st_int(st, "replicas") == st_int(st, "updatedReplicas") &&
                condition_is(s->conditions, "Progressing", "NewReplicaSetAvailable");
    if (done)
        return;
    if (complete(s, st)) {
        snprintf(msg, sizeof msg, "%s \"%s\" has successfully progressed.", what, who);
        condition_set(s, "Progressing", "True", "NewReplicaSetAvailable", msg, false);
    } else if (progressing(old, st)) {
        snprintf(msg, sizeof msg, "%s \"%s\" is progressing.", what, who);
        condition_set(s, "Progressing", "True", "ReplicaSetUpdated", msg, true);
    } else if (timed_out(s)) {
        snprintf(msg, sizeof msg, "%s \"%s\" has timed out progressing.", what, who);
        condition_set(s, "Progressing", "False", "ProgressDeadlineExceeded", msg, false);
    }
}

/* checkPausedConditions. */
static void paused_condition(struct dsync *s)
{
    if (!s->has_deadline || condition_is(s->conditions, "Progressing", "ProgressDeadlineExceeded"))
        return;
    bool marked = condition_is(s->conditions, "Progressing", "DeploymentPaused");
    if (s->paused && !marked)
        condition_set(s, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                      false);
    else if (!s->paused && marked)
        condition_set(s, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed",
                      false);
}

static int write_deployment_status(struct dsync *s, json_t *st)
{
    json_object_set(st, "conditions", s->conditions);
    if (json_equal(json_object_get(s->d, "status"), st)) { /* unchanged: no copy to compare */
        json_decref(st);
        return 0;
    }
    json_t *next = json_deep_copy(s->d);
    json_object_set_new(next, "status", st);
    int rc = ks_ctl_write(s->changed, s->store, s->d, next);
    json_decref(next);
    return rc;
}

/* ---- sync ---------------------------------------------------------------- */

static int sync_deployment(struct dsync *s)
{
    int rc = ks_ctl_claim(&s->rss, s->changed, s->store, s->d, s->sel, s->all);
    if (rc)
        return rc;
    find_new(s);
    if (s->new_rs && (rc = sync_revision(s)))
        return rc;
    if (s->new_rs && s->has_deadline && !condition_get(s->conditions, "Progressing")) {
        char msg[400];
        snprintf(msg, sizeof msg, "Found new replica set \"%s\"", ks_ctl_name(s->new_rs));
        condition_set(s, "Progressing", "True", "FoundNewReplicaSet", msg, false);
    }
    paused_condition(s);
    bool collided = false;
    if (s->paused || scaling_event(s)) {
        if ((rc = scale(s)) || (s->paused && (rc = cleanup(s))))
            return rc;
        json_t *st = calculate_status(s);
        return write_deployment_status(s, st);
    }
    if (s->recreate) {
        bool need_new = false;
        if ((rc = rollout_recreate(s, &need_new)))
            return rc;
        if (need_new && (rc = create_new(&collided, s)))
            return rc;
    } else {
        if (!s->new_rs && (rc = create_new(&collided, s)))
            return rc;
        if (!collided && (rc = rollout_rolling(s)))
            return rc;
    }
    if (collided)
        s->collisions++;
    json_t *st = calculate_status(s);
    if (!collided && complete(s, st) && (rc = cleanup(s))) {
        json_decref(st);
        return rc;
    }
    rollout_condition(s, st);
    return write_deployment_status(s, st);
}

int ks_ctl_deployment_reconcile(bool *out_changed, struct ks_store *store, const json_t *deploy,
                                const struct ks_ctl_env *env)
{
    json_t *rss = NULL;
    int rc = ks_ctl_list(&rss, store, "ReplicaSet", ks_ctl_namespace(deploy));
    if (!rc)
        rc = ks_ctl_deployment_sync(out_changed, store, deploy, env, rss);
    json_decref(rss);
    return rc;
}

int ks_ctl_deployment_sync(bool *out_changed, struct ks_store *store, const json_t *deploy,
                           const struct ks_ctl_env *env, json_t *replicasets)
{
    struct dsync s = {
        .store = store, .env = env, .changed = out_changed, .d = deploy, .all = replicasets};
    s.conditions = json_deep_copy(ks_ctl_at(deploy, "status", "conditions"));
    if (!json_is_array(s.conditions)) {
        json_decref(s.conditions);
        s.conditions = json_array();
    }
    int rc = read_spec(&s);
    if (!rc)
        rc = ks_ctl_effective_template(&s.tmpl, store, deploy);
    if (rc == KS_EINVALID || rc == KS_ELIMIT) {
        /* a spec the API server would refuse: say so in status, touch nothing else */
        condition_set(&s, "Progressing", "False", "InvalidSpec", ks_error_last(), false);
        json_t *st = json_deep_copy(json_object_get(deploy, "status"));
        if (!json_is_object(st)) {
            json_decref(st);
            st = json_object();
        }
        rc = write_deployment_status(&s, st);
    } else if (rc == 0) {
        rc = sync_deployment(&s);
    }
    ks_selector_free(s.sel);
    json_decref(s.tmpl);
    json_decref(s.rss);
    json_decref(s.conditions);
    return rc;
}
