/*
 * node_order.c: the order in which a cycle visits nodes, as kube-scheduler's
 * node tree lists them: nodes are grouped by zone (topology.kubernetes.io/
 * region + zone labels; nodes without them form one group), zones in the
 * order their first node arrived, nodes within a zone in arrival order, and
 * the list takes one node from each zone in turn. With sampling, this makes
 * the evaluated nodes span the zones. The list is rebuilt lazily, before
 * the next cycle, after nodes come, go or change zone.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

uint64_t ks_sched_node_zone_key(const struct ks_sched *s, const struct snode *n)
{
    uint32_t region = ks_sched_labels_get(n->labels, n->nlabels, s->region_key);
    uint32_t zone = ks_sched_labels_get(n->labels, n->nlabels, s->zone_key);
    return (uint64_t)region << 32 | zone;
}

struct arrival {
    uint64_t seq;
    uint32_t node;
};

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct arrival *)a)->seq, y = ((const struct arrival *)b)->seq;
    return x < y ? -1 : x > y;
}

int ks_sched_order_rebuild(struct ks_sched *s)
{
    int rc = 0;
    uint32_t n = s->nlive, ngroups = 0;
    uint32_t *byseq = NULL, *group = NULL, *start = NULL, *next = NULL, *active = NULL;
    struct arrival *arr = NULL;
    struct u64map zones = {0};
    if (!s->order_dirty)
        return 0;
    byseq = malloc((n + 1) * sizeof(uint32_t));
    group = malloc((n + 1) * sizeof(uint32_t));
    start = calloc(n + 2, sizeof(uint32_t));
    next = calloc(n + 1, sizeof(uint32_t));
    active = malloc((n + 1) * sizeof(uint32_t));
    arr = malloc((n + 1) * sizeof(*arr));
    if (!byseq || !group || !start || !next || !active || !arr) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory ordering %u nodes", n);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++)
        arr[i] = (struct arrival){s->nodes[s->order[i]].seq, s->order[i]};
    qsort(arr, n, sizeof(*arr), cmp_seq);
    for (uint32_t i = 0; i < n; i++)
        byseq[i] = arr[i].node;
    for (uint32_t i = 0; i < n; i++) { /* zones numbered by first arrival */
        uint64_t key = ks_sched_node_zone_key(s, &s->nodes[byseq[i]]);
        uint32_t g;
        if (!ks_sched_u64map_get(&zones, key, &g)) {
            g = ngroups++;
            if ((rc = ks_sched_u64map_put(&zones, key, g)))
                goto done;
        }
        group[i] = g;
        start[g + 1]++;
    }
    for (uint32_t g = 0; g < ngroups; g++)
        start[g + 1] += start[g];
    uint32_t *bucket = s->order; /* bucket the seq-sorted nodes by zone, then interleave */
    for (uint32_t i = 0; i < n; i++)
        bucket[start[group[i]] + next[group[i]]++] = byseq[i];
    memcpy(byseq, bucket, n * sizeof(uint32_t));
    uint32_t nactive = ngroups, placed = 0;
    for (uint32_t g = 0; g < ngroups; g++) {
        active[g] = g;
        next[g] = start[g];
    }
    while (placed < n) {
        uint32_t keep = 0;
        for (uint32_t a = 0; a < nactive; a++) {
            uint32_t g = active[a];
            s->order[placed++] = byseq[next[g]++];
            if (next[g] < start[g + 1])
                active[keep++] = g;
        }
        nactive = keep;
    }
    for (uint32_t i = 0; i < n; i++)
        s->nodes[s->order[i]].order_pos = i;
    s->order_dirty = false;
done:
    ks_sched_u64map_release(&zones);
    free(byseq);
    free(group);
    free(start);
    free(next);
    free(active);
    free(arr);
    return rc;
}
