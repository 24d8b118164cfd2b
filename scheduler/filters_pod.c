/*
 * filters_pod.c: the filters that depend on other pods, InterPodAffinity
 * (required affinity and anti-affinity, and existing pods' anti-affinity
 * against the incoming pod) and PodTopologySpread (DoNotSchedule
 * constraints), with kube-scheduler's PreFilter/Filter split: ks_sched_prefilter_pod()
 * computes once per cycle what is global (the minimum matching count per
 * constraint, which terms' anti-affinity owners reject the pod) from the
 * incremental term counts, so the per-node filter is a few array lookups.
 *
 * Spread counting follows kube-scheduler: only nodes that pass the pod's
 * nodeSelector/required node affinity and carry every hard constraint's
 * key count. When the pod has no node constraints and every node carries
 * every hard key, all nodes qualify and the live per-domain counts are used
 * directly; otherwise eligible counts are summed per domain into scratch.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

bool ks_sched_pod_has_node_constraints(const struct spod *p)
{
    return p->nnodesel || p->nreq;
}

static bool node_has_hard_keys(const struct ks_sched *s, const struct spod *p, uint32_t node)
{
    for (uint32_t i = 0; i < p->nspread; i++)
        if (p->spread[i].hard && node_dom(s, s->terms[p->spread[i].term]->slot, node) < 0)
            return false;
    return true;
}

static int reserve_cycle(struct ks_sched *s, const struct spod *p, size_t scratch)
{
    int rc;
    if ((rc = ks_sched_grow_array((void **)&s->cy.sp, &s->cy.sp_cap, p->nspread + 1,
                                  sizeof(*s->cy.sp))) ||
        (rc = ks_sched_grow_array((void **)&s->cy.scratch, &s->cy.scratch_cap,
                                  (uint32_t)scratch + 1, sizeof(int32_t))))
        return rc;
    return 0;
}

/* Eligible-node counts per domain for the slow path; returns the layout
 * [cnt(ndom) | present(ndom)] per hard constraint in s->cy.scratch. */
static void spread_slow_counts(struct ks_sched *s, const struct spod *p)
{
    size_t off = 0;
    for (uint32_t i = 0; i < p->nspread; i++) {
        if (!p->spread[i].hard)
            continue;
        const struct term *t = s->terms[p->spread[i].term];
        uint32_t ndom = s->slots[t->slot].ndom;
        int32_t *cnt = s->cy.scratch + off, *present = cnt + ndom;
        memset(cnt, 0, 2 * (size_t)ndom * sizeof(int32_t));
        for (uint32_t k = 0; k < s->nlive; k++) {
            uint32_t n = s->order[k];
            int32_t d = node_dom(s, t->slot, n);
            if (d < 0 || !node_has_hard_keys(s, p, n) ||
                !ks_sched_node_affinity_match(s, &s->nodes[n], p))
                continue;
            present[d] = 1;
            cnt[d] += t->node_cnt[n];
        }
        s->cy.sp[i].cnt = cnt;
        off += 2 * (size_t)ndom;
    }
}

static int flatten_hard(struct ks_sched *s, const struct spod *p)
{
    int rc =
        ks_sched_grow_array((void **)&s->cy.hs, &s->cy.hs_cap, p->nspread + 1, sizeof(*s->cy.hs));
    if (rc)
        return rc;
    s->cy.nhs = 0;
    for (uint32_t i = 0; i < p->nspread && !p->sys_spread; i++) {
        const struct sspread *c = &p->spread[i];
        if (!c->hard)
            continue;
        const struct spread_state *st = &s->cy.sp[i];
        s->cy.hs[s->cy.nhs++] =
            (struct hard_spread){s->slots[s->terms[c->term]->slot].node_dom, st->cnt,
                                 (int64_t)c->max_skew + st->min_match - (c->self_match ? 1 : 0)};
    }
    return 0;
}

static int prefilter_spread(struct ks_sched *s, const struct spod *p)
{
    int rc;
    size_t need = 0;
    bool slow = ks_sched_pod_has_node_constraints(p);
    for (uint32_t i = 0; i < p->nspread; i++) {
        if (!p->spread[i].hard)
            continue;
        const struct keyslot *sl = &s->slots[s->terms[p->spread[i].term]->slot];
        need += 2 * (size_t)sl->ndom;
        /* the live counts are exact only when every node has every hard key */
        slow = slow || sl->nodes_with_key != s->nlive;
    }
    if ((rc = reserve_cycle(s, p, slow ? need : 0)))
        return rc;
    if (slow)
        spread_slow_counts(s, p);
    for (uint32_t i = 0; i < p->nspread; i++) {
        struct spread_state *st = &s->cy.sp[i];
        if (!p->spread[i].hard)
            continue;
        const struct term *t = s->terms[p->spread[i].term];
        const struct keyslot *sl = &s->slots[t->slot];
        const int32_t *present = slow ? st->cnt + sl->ndom : sl->dom_nodes;
        if (!slow)
            st->cnt = t->dom_cnt;
        st->any_domain = false;
        st->min_match = INT64_MAX;
        for (uint32_t d = 0; d < sl->ndom; d++) {
            if (present[d] > 0 && st->cnt[d] < st->min_match) {
                st->min_match = st->cnt[d];
                st->any_domain = true;
            }
        }
        if (!st->any_domain)
            st->min_match = 0;
    }
    return flatten_hard(s, p);
}

int ks_sched_prefilter_pod(struct ks_sched *s, const struct spod *p)
{
    int rc;
    if ((rc = prefilter_spread(s, p)))
        return rc;
    s->cy.nanti_existing = s->cy.npref_existing = 0;
    for (uint32_t i = 0; i < s->nsel_terms; i++) { /* inter-pod terms have selectors */
        const struct term *t = s->terms[s->sel_terms[i]];
        if ((t->own_total <= 0 && t->pref_owners <= 0) || !ks_sched_term_matches(s, t, p))
            continue;
        if (t->own_total > 0) {
            if ((rc = ks_sched_grow_array((void **)&s->cy.anti_existing, &s->cy.anti_cap,
                                          s->cy.nanti_existing + 1, sizeof(uint32_t))))
                return rc;
            s->cy.anti_existing[s->cy.nanti_existing++] = s->sel_terms[i];
        }
        if (t->pref_owners > 0) {
            if ((rc = ks_sched_grow_array((void **)&s->cy.pref_existing, &s->cy.pref_cap,
                                          s->cy.npref_existing + 1, sizeof(uint32_t))))
                return rc;
            s->cy.pref_existing[s->cy.npref_existing++] = s->sel_terms[i];
        }
    }
    int64_t matches = 0;
    bool self_all = true;
    for (uint32_t i = 0; i < p->naff; i++) {
        const struct term *t = s->terms[p->aff[i]];
        matches += t->total;
        self_all = self_all && ks_sched_term_matches(s, t, p);
    }
    s->cy.aff_any = matches > 0;
    s->cy.aff_self_ok = !matches && self_all;
    return 0;
}

int ks_sched_filter_interpod(const struct ks_sched *s, const struct spod *p, uint32_t node)
{
    bool exist = true;
    for (uint32_t i = 0; i < p->naff; i++) {
        const struct term *t = s->terms[p->aff[i]];
        int32_t d = node_dom(s, t->slot, node);
        if (d < 0)
            return F_AFFINITY;
        if (t->dom_cnt[d] <= 0)
            exist = false;
    }
    if (!exist && !s->cy.aff_self_ok)
        return F_AFFINITY;
    for (uint32_t i = 0; i < p->nanti; i++) {
        const struct term *t = s->terms[p->anti[i]];
        int32_t d = node_dom(s, t->slot, node);
        if (d >= 0 && t->dom_cnt[d] > 0)
            return F_ANTI;
    }
    for (uint32_t i = 0; i < s->cy.nanti_existing; i++) {
        const struct term *t = s->terms[s->cy.anti_existing[i]];
        int32_t d = node_dom(s, t->slot, node);
        if (d >= 0 && t->dom_own[d] > 0)
            return F_ANTI_EXISTING;
    }
    return F_OK;
}

int ks_sched_filter_spread(const struct ks_sched *s, const struct spod *p, uint32_t node)
{
    const struct hard_spread *hs = s->cy.hs;
    uint32_t n = s->cy.nhs;
    for (uint32_t i = 0; i < n; i++)
        if (hs[i].node_dom[node] < 0)
            return F_SPREAD_LABEL;
    for (uint32_t i = 0; i < n; i++)
        if (hs[i].cnt[hs[i].node_dom[node]] > hs[i].limit)
            return F_SPREAD;
    return F_OK;
}
