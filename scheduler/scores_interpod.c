/*
 * scores_interpod.c: InterPodAffinity's score. A node earns, for each of
 * the pod's preferred terms, weight x the matching bound pods in the node's
 * domain (negative for anti-affinity), plus, for bound pods whose preferred
 * terms (or required affinity terms, at weight 1 as kube-scheduler's
 * hardPodAffinityWeight) match this pod, their weights in the node's
 * domain. Both come from the terms' incremental per-domain counts. Scores
 * are then mapped to 0..100 by (s - min) / (max - min), as kube-scheduler
 * does; skipped when no term applies.
 */
#include "scheduler/internal.h"

bool ks_sched_score_interpod(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    if (!p->npterms && !s->cy.npref_existing)
        return false;
    int64_t *sc = s->raw[KS_SCHED_SCORE_INTERPOD];
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t node = s->feasible[i];
        int64_t sum = 0;
        for (uint32_t j = 0; j < p->npterms; j++) {
            const struct term *t = s->terms[p->pterms[j].term];
            int32_t d = node_dom(s, t->slot, node);
            if (d >= 0)
                sum += (int64_t)p->pterms[j].weight * t->dom_cnt[d];
        }
        for (uint32_t j = 0; j < s->cy.npref_existing; j++) {
            const struct term *t = s->terms[s->cy.pref_existing[j]];
            int32_t d = node_dom(s, t->slot, node);
            if (d >= 0)
                sum += t->dom_pref[d];
        }
        sc[i] = sum;
        min = sum < min ? sum : min;
        max = sum > max ? sum : max;
    }
    for (uint32_t i = 0; i < nf; i++)
        sc[i] =
            max > min
                ? (int64_t)((double)SCHED_MAX_SCORE * ((double)(sc[i] - min) / (double)(max - min)))
                : 0;
    return true;
}
