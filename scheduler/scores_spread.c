/*
 * scores_spread.c: PodTopologySpread's score for ScheduleAnyway
 * constraints, and for the system default constraints (hostname maxSkew 3,
 * zone maxSkew 5) that spread a pod's siblings (same controller owner)
 * when it declares no constraints of its own. As in kube-scheduler, each
 * constraint adds count * log(domains + 2) + (maxSkew - 1) for the node's
 * domain (domains = feasible nodes for kubernetes.io/hostname), nodes
 * missing a key of an explicit constraint are ignored (score 0), and scores
 * are inverted so the emptiest domain gets 100:
 * 100 * (max + min - s) / max.
 */
#include "scheduler/internal.h"

#include <math.h>

static uint32_t live_domains(const struct keyslot *sl)
{
    uint32_t n = 0;
    for (uint32_t d = 0; d < sl->ndom; d++)
        n += sl->dom_nodes[d] > 0;
    return n;
}

bool score_spread(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    double weight[KS_SCHED_MAX_ITEMS];
    bool any = false;
    for (uint32_t c = 0; c < p->nspread; c++) {
        if (p->spread[c].hard)
            continue;
        const struct term *t = s->terms[p->spread[c].term];
        const struct keyslot *sl = &s->slots[t->slot];
        uint32_t size = sl->key == s->hostname_key ? nf : live_domains(sl);
        weight[c] = log((double)size + 2.0);
        any = true;
    }
    if (!any)
        return false;
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
                s->slots[t->slot].key == s->hostname_key ? t->node_cnt[node] : t->dom_cnt[d];
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
    return true;
}
