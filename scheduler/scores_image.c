/*
 * scores_image.c: ImageLocality. For each of the pod's images already on a
 * node, the image size scaled by the share of nodes that have it, summed,
 * clamped to [23 MB, 1000 MB x containers] and mapped to 0..100, as
 * kube-scheduler computes it. Skipped when no node reports images.
 */
#include "scheduler/internal.h"

#define MB (1024LL * 1024)
#define MIN_THRESHOLD (23 * MB)
#define MAX_CONTAINER_THRESHOLD (1000 * MB)

static int64_t image_sum(const struct ks_sched *s, const struct snode *n, const struct spod *p)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < p->nimages; i++) {
        for (uint32_t j = 0; j < n->nimages; j++) {
            if (n->images[j].name != p->images[i])
                continue;
            double spread = (double)s->image_nodes[p->images[i]] / (double)s->nlive;
            sum += (int64_t)((double)n->images[j].size * spread);
            break;
        }
    }
    return sum;
}

bool ks_sched_score_images(struct ks_sched *s, const struct spod *p, uint32_t nf)
{
    if (!p->nimages || !s->nodes_with_images || !s->nlive)
        return false;
    int64_t *sc = s->raw[KS_SCHED_SCORE_IMAGE];
    int64_t max = MAX_CONTAINER_THRESHOLD * p->nimages;
    for (uint32_t i = 0; i < nf; i++) {
        int64_t sum = image_sum(s, &s->nodes[s->feasible[i]], p);
        if (sum < MIN_THRESHOLD)
            sum = MIN_THRESHOLD;
        if (sum > max)
            sum = max;
        sc[i] = SCHED_MAX_SCORE * (sum - MIN_THRESHOLD) / (max - MIN_THRESHOLD);
    }
    return true;
}
