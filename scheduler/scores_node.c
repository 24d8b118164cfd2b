/*
 * scores_node.c: the node-only scores. TaintToleration counts the node's
 * PreferNoSchedule taints the pod does not tolerate (tolerations with an
 * empty or PreferNoSchedule effect count) and normalises in reverse, so the
 * fewest untolerated taints get 100; preferred NodeAffinity sums the
 * weights of the matching preferred terms and normalises to 0..100
 * (kube-scheduler's DefaultNormalizeScore for both).
 */
#include "scheduler/internal.h"

void ks_sched_normalize_default(int64_t *sc, uint32_t n, bool reverse)
{
    int64_t max = 0;
    for (uint32_t i = 0; i < n; i++)
        if (sc[i] > max)
            max = sc[i];
    if (max == 0) {
        if (reverse)
            for (uint32_t i = 0; i < n; i++)
                sc[i] = SCHED_MAX_SCORE;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = SCHED_MAX_SCORE * sc[i] / max;
        sc[i] = reverse ? SCHED_MAX_SCORE - v : v;
    }
}

static int64_t untolerated_prefer(const struct snode *n, const struct spod *p)
{
    int64_t count = 0;
    for (uint32_t i = 0; i < n->ntaints; i++) {
        const struct staint *x = &n->taints[i];
        if (x->effect != KS_SCHED_EFFECT_PREFER_NO_SCHEDULE)
            continue;
        bool ok = false;
        for (uint32_t j = 0; j < p->ntols && !ok; j++) {
            const struct stol *t = &p->tols[j];
            ok = (t->effect == KS_SCHED_EFFECT_ANY ||
                  t->effect == KS_SCHED_EFFECT_PREFER_NO_SCHEDULE) &&
                 ks_sched_tolerates(t, x);
        }
        count += !ok;
    }
    return count;
}

/* false when no feasible node has a PreferNoSchedule taint: every node then
 * scores 100 and the caller adds that constant instead. */
bool ks_sched_score_taints(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    int64_t *sc = s->raw[KS_SCHED_SCORE_TAINT];
    uint32_t i = 0;
    while (i < nf && !s->nodes[s->feasible[i]].nprefer)
        i++;
    if (i == nf)
        return false;
    for (i = 0; i < nf; i++) {
        const struct snode *n = &s->nodes[s->feasible[i]];
        sc[i] = n->nprefer ? untolerated_prefer(n, p) : 0;
    }
    ks_sched_normalize_default(sc, nf, true);
    return true;
}

bool ks_sched_score_node_affinity(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    if (!p->npref)
        return false;
    int64_t *sc = s->raw[KS_SCHED_SCORE_NODE_AFFINITY];
    for (uint32_t i = 0; i < nf; i++) {
        const struct snode *n = &s->nodes[s->feasible[i]];
        int64_t sum = 0;
        for (uint32_t j = 0; j < p->npref; j++)
            if (ks_sched_nterm_match(s, n, &p->pref[j].t))
                sum += p->pref[j].weight;
        sc[i] = sum;
    }
    ks_sched_normalize_default(sc, nf, false);
    return true;
}
