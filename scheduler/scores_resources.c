/*
 * scores_resources.c: NodeResourcesFit's default LeastAllocated score and
 * NodeResourcesBalancedAllocation, with kube-scheduler's arithmetic:
 * LeastAllocated uses the non-zero requests (100m / 200 MB for containers
 * without requests) and integer math, (cap - req) * 100 / cap per resource,
 * cpu and memory weighted 1:1; BalancedAllocation uses the real requests,
 * fractions capped at 1, and scores (1 - |cpu - mem| / 2) * 100.
 */
#include "scheduler/internal.h"

/* (capacity - requested) * 100 / capacity, floored. Done in double: both
 * operands are below 2^53 and the quotient's distance to the next integer is
 * at least 1/capacity, far above double rounding, so the floor is exact and
 * the pipelined FP divider is much faster than 64-bit integer division. */
static int64_t least_requested(int64_t requested, int64_t capacity)
{
    if (capacity <= 0 || requested > capacity)
        return 0;
    return (int64_t)((double)((capacity - requested) * SCHED_MAX_SCORE) / (double)capacity);
}

static double fraction(int64_t requested, int64_t capacity)
{
    double f = (double)requested / (double)capacity;
    return f > 1.0 ? 1.0 : f;
}

static int64_t balanced(const struct snode *n, const struct spod *p)
{
    double f[2];
    int k = 0;
    if (n->alloc_cpu > 0)
        f[k++] = fraction(n->req_cpu + p->cpu, n->alloc_cpu);
    if (n->alloc_mem > 0)
        f[k++] = fraction(n->req_mem + p->mem, n->alloc_mem);
    double sd = 0.0;
    if (k == 2) {
        sd = (f[0] - f[1]) / 2;
        if (sd < 0)
            sd = -sd;
    }
    return (int64_t)((1.0 - sd) * SCHED_MAX_SCORE);
}

void ks_sched_score_resources_node(int64_t *fit, int64_t *bal, const struct snode *n,
                                   const struct spod *p)
{
    *fit = (least_requested(n->nz_cpu + p->nz_cpu, n->alloc_cpu) +
            least_requested(n->nz_mem + p->nz_mem, n->alloc_mem)) /
           2;
    *bal = balanced(n, p);
}

/* Both weights are 1: writes fit + balanced straight into the totals (the
 * winner's breakdown is recomputed with ks_sched_score_resources_node). A node keeps
 * the value for the last request shape it was scored for until it changes,
 * so identical replicas re-score only the node the previous one landed on. */
void ks_sched_score_resources(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    int64_t *total = s->total;
    uint32_t shape = p->shape;
    for (uint32_t i = 0; i < nf; i++) {
        struct snode *n = &s->nodes[s->feasible[i]];
        if (shape && n->sc_shape == shape && n->sc_ver == n->ver) {
            total[i] = n->sc_val;
            continue;
        }
        int64_t fit, bal;
        ks_sched_score_resources_node(&fit, &bal, n, p);
        total[i] = fit + bal;
        n->sc_shape = shape;
        n->sc_ver = n->ver;
        n->sc_val = (int32_t)(fit + bal);
    }
}

int ks_sched_shape_intern(uint32_t *out, struct ks_sched *s, const struct spod *p)
{
    struct shape sh = {p->cpu, p->mem, p->nz_cpu, p->nz_mem};
    uint64_t h = 1469598103934665603ULL;
    uint32_t id;
    int rc;
    const int64_t *v = &sh.cpu;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint64_t)v[i]) * 1099511628211ULL;
    *out = 0;
    if (ks_sched_u64map_get(&s->shape_by_hash, h, &id)) {
        const struct shape *o = &s->shapes[id - 1];
        if (o->cpu == sh.cpu && o->mem == sh.mem && o->nz_cpu == sh.nz_cpu &&
            o->nz_mem == sh.nz_mem)
            *out = id;
        return 0; /* a hash collision is simply not memoised */
    }
    if (s->nshapes >= SCHED_MAX_SHAPES)
        return 0;
    if ((rc =
             ks_sched_grow_array((void **)&s->shapes, &s->shape_cap, s->nshapes + 1, sizeof(sh))) ||
        (rc = ks_sched_u64map_put(&s->shape_by_hash, h, s->nshapes + 1)))
        return rc;
    s->shapes[s->nshapes++] = sh;
    *out = s->nshapes;
    return 0;
}
