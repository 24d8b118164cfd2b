/*
 * preempt.c: kube-scheduler's DefaultPreemption for a pod that fits
 * nowhere. On each node whose failure removing pods could fix (resources,
 * ports, anti-affinity, spread skew), all pods of lower priority are taken
 * off in the cache; if the pod then fits, victims are reprieved one by one,
 * most important first, as long as the pod still fits. The node is chosen
 * by the lowest highest-victim priority, then the smallest sum of victim
 * priorities, then the fewest victims, then rotation order. Nothing is
 * evicted here: the cache is restored and the caller gets the nominated
 * node and the victims with their grace periods.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

struct cand {
    uint32_t pod;
    int32_t priority;
};

struct choice {
    int64_t node;
    int32_t max_prio;
    int64_t sum;
    uint32_t n;
};

static bool resolvable(int code)
{
    return code == F_FIT || code == F_PORTS || code == F_SPREAD || code == F_ANTI ||
           code == F_ANTI_EXISTING;
}

static bool pinned_to(const struct spod *p, uint32_t name)
{
    if (!p->pin)
        return true;
    for (uint32_t i = 0; i < p->npin; i++)
        if (p->pin[i] == name)
            return true;
    return false;
}

static int cmp_importance(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x->pod < y->pod ? -1 : x->pod > y->pod;
}

static bool fits(struct ks_sched *s, uint32_t pod, uint32_t node)
{
    uint64_t arg = 0;
    return ks_sched_prefilter_pod(s, &s->pods[pod]) == 0 &&
           ks_sched_filter_node(s, &s->pods[pod], node, &arg) == F_OK;
}

static bool better(const struct choice *a, const struct choice *b)
{
    if (b->node < 0)
        return true;
    if (a->max_prio != b->max_prio)
        return a->max_prio < b->max_prio;
    if (a->sum != b->sum)
        return a->sum < b->sum;
    return a->n < b->n;
}

/* Simulates preemption on one node. c->n = 0 when it does not help; the
 * victims are left in vict[0..c->n) and the cache is restored. */
static int try_node(struct choice *c, struct cand *vict, struct ks_sched *s, uint32_t pod,
                    uint32_t node)
{
    int rc = 0;
    struct snode *n = &s->nodes[node];
    uint32_t nl = 0, nv = 0;
    c->n = 0;
    for (uint32_t i = 0; i < n->npodl; i++) {
        uint32_t q = n->pods[i];
        if (s->pods[q].priority < s->pods[pod].priority)
            vict[nl++] = (struct cand){q, s->pods[q].priority};
    }
    if (!nl)
        return 0;
    qsort(vict, nl, sizeof(*vict), cmp_importance);
    for (uint32_t i = 0; i < nl; i++)
        ks_sched_cache_unbind(s, vict[i].pod);
    bool ok = fits(s, pod, node);
    for (uint32_t i = 0; i < nl; i++) { /* reprieve, most important first */
        if ((rc = ks_sched_cache_bind(s, vict[i].pod, node)))
            return rc;
        if (!ok || fits(s, pod, node))
            continue;
        ks_sched_cache_unbind(s, vict[i].pod);
        vict[nv++] = vict[i];
    }
    for (uint32_t i = 0; i < nv; i++)
        if ((rc = ks_sched_cache_bind(s, vict[i].pod, node)))
            return rc;
    if (!ok)
        return 0;
    c->node = node;
    c->n = nv;
    c->max_prio = nv ? vict[0].priority : INT32_MIN;
    c->sum = 0;
    for (uint32_t i = 0; i < nv; i++)
        c->sum += (int64_t)vict[i].priority + (int64_t)INT32_MAX + 1;
    return 0;
}

int ks_sched_preempt_find(struct ks_sched_result *out, struct ks_sched *s, uint32_t pod, char **msg)
{
    int rc = 0;
    uint32_t maxp = 0, no_victims = 0, not_helpful = 0;
    struct cand *vict = NULL, *best_v = NULL;
    struct choice best = {.node = -1};
    for (uint32_t k = 0; k < s->nlive; k++)
        if (s->nodes[s->order[k]].npodl > maxp)
            maxp = s->nodes[s->order[k]].npodl;
    if (maxp &&
        (!(vict = calloc(maxp, sizeof(*vict))) || !(best_v = calloc(maxp, sizeof(*vict))))) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < s->nlive; k++) {
        uint32_t node = s->order[k];
        struct choice c = {.node = -1};
        if (!resolvable(s->fail[node]) || !pinned_to(&s->pods[pod], s->nodes[node].name)) {
            not_helpful++;
            continue;
        }
        if ((rc = try_node(&c, vict, s, pod, node)))
            goto done;
        if (!c.n) {
            no_victims++;
            continue;
        }
        if (better(&c, &best)) {
            best = c;
            memcpy(best_v, vict, c.n * sizeof(*vict));
        }
    }
    if (best.node < 0) {
        rc = ks_sched_explain_preemption(msg, s->nlive, no_victims, not_helpful);
        goto done;
    }
    if (!(out->victims = calloc(best.n, sizeof(*out->victims)))) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < best.n; i++)
        out->victims[i] = (struct ks_sched_victim){best_v[i].pod, best_v[i].priority,
                                                   s->pods[best_v[i].pod].grace};
    out->nvictims = best.n;
    out->status = KS_SCHED_NOMINATED;
    out->node = s->st.strs[s->nodes[best.node].name];
done:
    free(vict);
    free(best_v);
    return rc;
}
