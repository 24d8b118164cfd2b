/*
 * scores_spread.c: PodTopologySpread's score for ScheduleAnyway
 * constraints, and for the system default constraints (hostname maxSkew 3,
 * zone maxSkew 5) that spread a pod's siblings (same controller owner)
 * when it declares no constraints of its own. As in kube-scheduler, each
 * constraint adds count * log(domains + 2) + (maxSkew - 1) for the node's
 * domain (domains = the distinct domains of the feasible nodes; for
 * kubernetes.io/hostname, the feasible nodes), nodes
 * missing a key of an explicit constraint are ignored (score 0), and scores
 * are inverted so the emptiest domain gets 100:
 * 100 * (max + min - s) / max. Domain counts cover the nodes that pass the
 * pod's node selector/affinity (and, for explicit constraints, carry every
 * soft key); the live counts are used when that is every node.
 */
#include "scheduler/internal.h"

#include <math.h>
#include <string.h>

/* Distinct domains of slot k among the feasible nodes (kube-scheduler's
 * topology size for the normalising weight). */
static int feasible_domains(uint32_t *out, struct ks_sched *s, uint32_t k, uint32_t nf)
{
    const struct keyslot *sl = &s->slots[k];
    int rc = ks_sched_grow_array((void **)&s->cy.scratch, &s->cy.scratch_cap, sl->ndom + 1,
                                 sizeof(int32_t));
    if (rc)
        return rc;
    memset(s->cy.scratch, 0, sl->ndom * sizeof(int32_t));
    *out = 0;
    for (uint32_t i = 0; i < nf; i++) {
        int32_t d = sl->node_dom[s->feasible[i]];
        if (d >= 0 && !s->cy.scratch[d]) {
            s->cy.scratch[d] = 1;
            (*out)++;
        }
    }
    return 0;
}

static bool soft_keys(const struct ks_sched *s, const struct spod *p, uint32_t node)
{
    for (uint32_t c = 0; c < p->nspread; c++)
        if (!p->spread[c].hard && node_dom(s, s->terms[p->spread[c].term]->slot, node) < 0)
            return false;
    return true;
}

/* Per soft constraint, the domain counts to score with (cnt[c]). */
static int soft_counts(const int32_t **cnt, struct ks_sched *s, const struct spod *p)
{
    bool exact = !ks_sched_pod_has_node_constraints(p);
    size_t need = 0;
    for (uint32_t c = 0; c < p->nspread; c++) {
        const struct term *t = s->terms[p->spread[c].term];
        const struct keyslot *sl = &s->slots[t->slot];
        cnt[c] = t->dom_cnt;
        if (p->spread[c].hard)
            continue;
        need += sl->ndom;
        exact = exact && (p->sys_spread || sl->nodes_with_key == s->nlive);
    }
    if (exact)
        return 0;
    int rc = ks_sched_grow_array((void **)&s->cy.soft, &s->cy.soft_cap, (uint32_t)need + 1,
                                 sizeof(int32_t));
    if (rc)
        return rc;
    memset(s->cy.soft, 0, need * sizeof(int32_t));
    size_t off = 0;
    for (uint32_t c = 0; c < p->nspread; c++) {
        if (!p->spread[c].hard) {
            cnt[c] = s->cy.soft + off;
            off += s->slots[s->terms[p->spread[c].term]->slot].ndom;
        }
    }
    for (uint32_t k = 0; k < s->nlive; k++) {
        uint32_t n = s->order[k];
        if (!ks_sched_node_affinity_match(s, &s->nodes[n], p) ||
            (!p->sys_spread && !soft_keys(s, p, n)))
            continue;
        for (uint32_t c = 0; c < p->nspread; c++) {
            const struct term *t = s->terms[p->spread[c].term];
            int32_t d = node_dom(s, t->slot, n);
            if (!p->spread[c].hard && d >= 0)
                ((int32_t *)cnt[c])[d] += t->node_cnt[n];
        }
    }
    return 0;
}

int ks_sched_score_spread(bool *on, struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    double weight[KS_SCHED_MAX_ITEMS];
    const int32_t *counts[KS_SCHED_MAX_ITEMS];
    bool any = false;
    int rc;
    *on = false;
    for (uint32_t c = 0; c < p->nspread; c++) {
        if (p->spread[c].hard)
            continue;
        const struct term *t = s->terms[p->spread[c].term];
        uint32_t size = nf;
        if (s->slots[t->slot].key != s->hostname_key &&
            (rc = feasible_domains(&size, s, t->slot, nf)))
            return rc;
        weight[c] = log((double)size + 2.0);
        any = true;
    }
    if (!any)
        return 0;
    if ((rc = soft_counts(counts, s, p)))
        return rc;
    int64_t *sc = s->raw[KS_SCHED_SCORE_SPREAD];
    int64_t min = INT64_MAX, max = 0;
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t node = s->feasible[i];
        double score = 0;
        bool ignored = false;
        for (uint32_t c = 0; c < p->nspread && !ignored; c++) {
            const struct sspread *sp = &p->spread[c];
            if (sp->hard)
                continue;
            const struct term *t = s->terms[sp->term];
            int32_t d = node_dom(s, t->slot, node);
            if (d < 0) {
                ignored = !p->sys_spread;
                continue;
            }
            int32_t cnt =
                s->slots[t->slot].key == s->hostname_key ? t->node_cnt[node] : counts[c][d];
            score += (double)cnt * weight[c] + (double)(sp->max_skew - 1);
        }
        sc[i] = ignored ? -1 : (int64_t)llround(score);
        if (!ignored) {
            if (sc[i] < min)
                min = sc[i];
            if (sc[i] > max)
                max = sc[i];
        }
    }
    for (uint32_t i = 0; i < nf; i++) {
        if (sc[i] < 0)
            sc[i] = 0;
        else if (max == 0)
            sc[i] = SCHED_MAX_SCORE;
        else
            sc[i] = SCHED_MAX_SCORE * (max + min - sc[i]) / max;
    }
    *on = true;
    return 0;
}
