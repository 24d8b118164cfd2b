/*
 * schedule.c: one scheduling cycle, as kube-scheduler runs it: PreFilter,
 * then the filters over nodes in a rotating order until enough feasible
 * nodes are found (percentageOfNodesToScore: 50 - nodes/125 percent, at
 * least 5 %, at least 100 nodes), then the scores of the feasible nodes,
 * normalised and weighted, then the highest total wins with ties broken by
 * the seeded PRNG (reservoir sampling, as selectHost does). The pod is then
 * assumed (bound in the cache). All scratch space lives in the scheduler
 * and is sized once per node count, so a cycle allocates nothing.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static const char *const score_names[KS_SCHED_NSCORES] = {
    "TaintToleration",
    "NodeAffinity",
    "NodeResourcesFit",
    "PodTopologySpread",
    "NodeResourcesBalancedAllocation",
    "ImageLocality",
    "InterPodAffinity",
};
static const int score_weights[KS_SCHED_NSCORES] = {3, 2, 1, 2, 1, 1, 2};

const char *ks_sched_score_name(enum ks_sched_score which)
{
    return (unsigned)which < KS_SCHED_NSCORES ? score_names[which] : "?";
}

int ks_sched_score_weight(enum ks_sched_score which)
{
    return (unsigned)which < KS_SCHED_NSCORES ? score_weights[which] : 0;
}

int ks_sched_scratch_reserve(struct ks_sched *s)
{
    uint32_t need = s->node_cap ? s->node_cap : 1;
    if (need <= s->scratch_cap)
        return 0;
    void *f = realloc(s->feasible, need * sizeof(uint32_t));
    if (f)
        s->feasible = f;
    void *t = realloc(s->total, need * sizeof(int64_t));
    if (t)
        s->total = t;
    void *u = realloc(s->fail, need);
    if (u)
        s->fail = u;
    bool ok = f && t && u;
    for (int i = 0; i < KS_SCHED_NSCORES; i++) {
        void *r = realloc(s->raw[i], need * sizeof(int64_t));
        if (r)
            s->raw[i] = r;
        ok = ok && r;
    }
    if (!ok)
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory for %u nodes of scratch", need);
    s->scratch_cap = need;
    return 0;
}

int ks_sched_filter_node(struct ks_sched *s, const struct spod *p, uint32_t node, uint64_t *arg)
{
    const struct snode *n = &s->nodes[node];
    int c;
    uint64_t bits;
    if ((c = ks_sched_filter_unschedulable(s, n, p)) || (c = ks_sched_filter_taints(n, p, arg)))
        return c;
    if (ks_sched_pod_has_node_constraints(p) && !ks_sched_node_affinity_match(s, n, p))
        return F_NODE_AFFINITY;
    if (p->nports && ks_sched_ports_conflict(n, p))
        return F_PORTS;
    if ((bits = ks_sched_fit_insufficient(n, p))) {
        *arg = bits;
        return F_FIT;
    }
    if (p->nspread && !p->sys_spread && (c = ks_sched_filter_spread(s, p, node)))
        return c;
    if ((p->naff || p->nanti || s->cy.nanti_existing) && (c = ks_sched_filter_interpod(s, p, node)))
        return c;
    return F_OK;
}

static uint32_t num_feasible_to_find(const struct ks_sched *s, uint32_t all)
{
    if (all < 100)
        return all;
    int pct = s->cfg.percentage_of_nodes_to_score;
    if (pct == 0) {
        pct = 50 - (int)(all / 125);
        if (pct < 5)
            pct = 5;
    }
    if (pct >= 100)
        return all;
    uint32_t n = (uint32_t)((uint64_t)all * (uint32_t)pct / 100);
    return n < 100 ? 100 : n;
}

static int record_failure(struct ks_sched *s, uint32_t node, int code, uint64_t arg)
{
    int rc = 0;
    s->fail[node] = (uint8_t)code;
    if (code != F_FIT)
        return ks_sched_reason_add(s, (uint8_t)code, arg, 1);
    for (uint64_t bit = 1; bit <= 4 && !rc; bit <<= 1)
        if (arg & bit)
            rc = ks_sched_reason_add(s, F_FIT, bit, 1);
    return rc;
}

static int evaluate(uint32_t *nf, struct ks_sched *s, const struct spod *p, uint32_t node)
{
    uint64_t arg = 0;
    int code = ks_sched_filter_node(s, p, node, &arg);
    if (code == F_OK) {
        s->fail[node] = F_OK;
        s->feasible[(*nf)++] = node;
        return 0;
    }
    return record_failure(s, node, code, arg);
}

/* DaemonSet pinning: only the named nodes are evaluated; the others fail
 * NodeAffinity's PreFilter. */
static int find_pinned(uint32_t *nf, uint32_t *evaluated, struct ks_sched *s, const struct spod *p)
{
    int rc;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < p->npin; i++) {
        uint32_t name = p->pin[i];
        int32_t node = name < s->node_by_name_cap ? s->node_by_name[name] : -1;
        bool dup = false;
        for (uint32_t j = 0; j < i && !dup; j++)
            dup = p->pin[j] == name;
        if (node < 0 || dup)
            continue;
        seen++;
        if ((rc = evaluate(nf, s, p, (uint32_t)node)))
            return rc;
    }
    *evaluated = seen;
    if (s->nlive > seen)
        return ks_sched_reason_add(s, F_PREFILTER_AFFINITY, 0, s->nlive - seen);
    return 0;
}

static int find_feasible(uint32_t *nf, uint32_t *evaluated, struct ks_sched *s,
                         const struct spod *p)
{
    int rc;
    uint32_t all = s->nlive, limit = num_feasible_to_find(s, all), start = s->next_start, i;
    *nf = 0;
    s->nreasons = 0;
    if (p->pin)
        return find_pinned(nf, evaluated, s, p);
    /* Fast path for pods whose only per-node rules are resources and hard
     * spreading: nodes without taints or cordon that fit pass at once;
     * anything else goes through the full filter chain (and its reasons). */
    bool simple = !ks_sched_pod_has_node_constraints(p) && !p->nports && !p->naff && !p->nanti &&
                  !s->cy.nanti_existing;
    bool spread = p->nspread && !p->sys_spread;
    for (i = 0; i < all && *nf < limit; i++) {
        uint32_t k = start + i;
        if (k >= all)
            k -= all;
        uint32_t node = s->order[k];
        const struct snode *n = &s->nodes[node];
        if (simple && !n->unschedulable && !n->nhard && n->npods < n->alloc_pods &&
            (p->cpu <= 0 || p->cpu <= n->alloc_cpu - n->req_cpu) &&
            (p->mem <= 0 || p->mem <= n->alloc_mem - n->req_mem) &&
            (!spread || ks_sched_filter_spread(s, p, node) == F_OK)) {
            s->feasible[(*nf)++] = node;
            continue;
        }
        if ((rc = evaluate(nf, s, p, node)))
            return rc;
    }
    *evaluated = i;
    s->next_start = all ? (start + i) % all : 0;
    return 0;
}

/* Scores the feasible nodes into s->total; on[k] says which plugins have
 * per-node values in s->raw[k] (resources are summed directly, an all-100
 * TaintToleration is a constant). */
static int score_feasible(bool *on, struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    int rc;
    ks_sched_score_resources(s, p, nf);
    on[KS_SCHED_SCORE_TAINT] = ks_sched_score_taints(s, p, nf);
    on[KS_SCHED_SCORE_NODE_AFFINITY] = ks_sched_score_node_affinity(s, p, nf);
    on[KS_SCHED_SCORE_IMAGE] = ks_sched_score_images(s, p, nf);
    on[KS_SCHED_SCORE_INTERPOD] = ks_sched_score_interpod(s, p, nf);
    if ((rc = ks_sched_score_spread(&on[KS_SCHED_SCORE_SPREAD], s, p, nf)))
        return rc;
    for (int k = 0; k < KS_SCHED_NSCORES; k++) {
        if (!on[k])
            continue;
        const int64_t *raw = s->raw[k];
        int64_t w = score_weights[k];
        for (uint32_t i = 0; i < nf; i++)
            s->total[i] += w * raw[i];
    }
    return 0;
}

static void explain_winner(struct ks_sched_result *out, struct ks_sched *s, const struct spod *p,
                           const bool *on, uint32_t win)
{
    int64_t fit, bal;
    ks_sched_score_resources_node(&fit, &bal, &s->nodes[s->feasible[win]], p);
    for (int k = 0; k < KS_SCHED_NSCORES; k++)
        out->scores[k] = on[k] ? score_weights[k] * s->raw[k][win] : 0;
    out->scores[KS_SCHED_SCORE_FIT] = fit;
    out->scores[KS_SCHED_SCORE_BALANCED] = bal;
    if (!on[KS_SCHED_SCORE_TAINT])
        out->scores[KS_SCHED_SCORE_TAINT] = score_weights[KS_SCHED_SCORE_TAINT] * SCHED_MAX_SCORE;
    out->score = 0;
    for (int k = 0; k < KS_SCHED_NSCORES; k++)
        out->score += out->scores[k];
}

/* The highest total; among ties one drawn uniformly with the seeded PRNG
 * (the distribution of kube-scheduler's reservoir sampling, with one draw
 * per cycle instead of one per tie). */
static uint32_t select_host(struct ks_sched *s, uint32_t nf)
{
    int64_t max = s->total[0];
    uint32_t ties = 0;
    for (uint32_t i = 1; i < nf; i++)
        max = s->total[i] > max ? s->total[i] : max;
    for (uint32_t i = 0; i < nf; i++)
        ties += s->total[i] == max;
    uint32_t pick = ties > 1 ? (uint32_t)(ks_sched_rand(s) % ties) : 0;
    for (uint32_t i = 0; i < nf; i++)
        if (s->total[i] == max && pick-- == 0)
            return i;
    return 0;
}

static int unschedulable(struct ks_sched_result *out, struct ks_sched *s, uint32_t pod,
                         bool preempt)
{
    int rc = 0;
    char *post = NULL;
    out->status = KS_SCHED_UNSCHEDULABLE;
    if (preempt && (rc = ks_sched_preempt_find(out, s, pod, &post)))
        goto done;
    rc = ks_sched_explain_fit_error(out, s, s->nlive, post);
done:
    free(post);
    return rc;
}

int ks_sched_schedule(struct ks_sched_result *out, struct ks_sched *s, uint32_t pod, bool preempt)
{
    int rc;
    uint32_t nf = 0, evaluated = 0;
    memset(out, 0, sizeof(*out));
    out->pod = pod;
    if (pod >= s->npods || !s->pods[pod].alive)
        return ks_error_set(KS_ENOTFOUND, "scheduler: no pod with id %u", pod);
    if (s->pods[pod].node >= 0)
        return ks_error_set(KS_ECONFLICT, "scheduler: pod %s is already bound",
                            s->st.strs[s->pods[pod].name]);
    const struct spod *p = &s->pods[pod];
    if ((rc = ks_sched_scratch_reserve(s)) || (rc = ks_sched_order_rebuild(s)) ||
        (rc = ks_sched_prefilter_pod(s, p)) || (rc = find_feasible(&nf, &evaluated, s, p)))
        return rc;
    out->nodes_total = s->nlive;
    out->nodes_evaluated = evaluated;
    out->nodes_feasible = nf;
    if (!nf)
        return unschedulable(out, s, pod, preempt);
    uint32_t win = 0;
    if (nf > 1) { /* as kube-scheduler: a single feasible node is not scored */
        bool on[KS_SCHED_NSCORES] = {false};
        if ((rc = score_feasible(on, s, p, nf)))
            return rc;
        win = select_host(s, nf);
        explain_winner(out, s, p, on, win);
    }
    uint32_t node = s->feasible[win];
    if ((rc = ks_sched_cache_bind(s, pod, node)))
        return rc;
    out->status = KS_SCHED_BOUND;
    out->node = s->st.strs[s->nodes[node].name];
    return 0;
}

void ks_sched_result_release(struct ks_sched_result *r)
{
    if (!r)
        return;
    free(r->message);
    free(r->victims);
    r->message = NULL;
    r->victims = NULL;
    r->nvictims = 0;
}
