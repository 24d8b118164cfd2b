/*
 * batch.c: places a whole set of pending pods in one pass, the way
 * kube-scheduler's active queue would order them (higher priority first,
 * then arrival order), each placement visible to the next. With preemption
 * on, a nominated pod's victims are unbound and the pod is bound to the
 * nominated node at once, which is what a dry-run plan shows (in a live
 * cluster the victims first get their grace period).
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>

struct item {
    uint32_t index;
    int32_t priority;
};

static int cmp_queue(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int apply_nomination(struct ks_sched *s, struct ks_sched_result *r)
{
    uint64_t arg = 0;
    int32_t node = -1;
    for (size_t i = 0; i < r->nvictims; i++) {
        if (node < 0)
            node = s->pods[r->victims[i].pod].node;
        ks_sched_cache_unbind(s, r->victims[i].pod);
    }
    int rc = ks_sched_prefilter_pod(s, &s->pods[r->pod]);
    if (rc || node < 0)
        return rc;
    if (ks_sched_filter_node(s, &s->pods[r->pod], (uint32_t)node, &arg) != F_OK)
        return ks_error_set(KS_ERROR, "scheduler: pod %s does not fit its nominated node",
                            s->st.strs[s->pods[r->pod].name]);
    return ks_sched_cache_bind(s, r->pod, (uint32_t)node);
}

int ks_sched_batch(struct ks_sched_result *out, struct ks_sched *s, const uint32_t *pods, size_t n,
                   bool preempt)
{
    int rc = 0;
    struct item *q = NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (struct ks_sched_result){.pod = pods[i], .status = KS_SCHED_UNSCHEDULABLE};
    if (n > KS_SCHED_MAX_PODS)
        return ks_error_set(KS_ELIMIT, "scheduler: batch of %zu pods exceeds %d", n,
                            KS_SCHED_MAX_PODS);
    if (n && !(q = calloc(n, sizeof(*q))))
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (pods[i] >= s->npods || !s->pods[pods[i]].alive) {
            rc = ks_error_set(KS_ENOTFOUND, "scheduler: no pod with id %u", pods[i]);
            goto done;
        }
        q[i] = (struct item){(uint32_t)i, s->pods[pods[i]].priority};
    }
    qsort(q, n, sizeof(*q), cmp_queue);
    for (size_t i = 0; i < n; i++) {
        struct ks_sched_result *r = &out[q[i].index];
        if ((rc = ks_sched_schedule(r, s, pods[q[i].index], preempt)))
            goto done;
        if (r->status == KS_SCHED_NOMINATED && (rc = apply_nomination(s, r)))
            goto done;
    }
done:
    free(q);
    return rc;
}
