/*
 * filters_node.c: the filters that look at one node and the pod alone,
 * in kube-scheduler's order and with its semantics: NodeUnschedulable,
 * TaintToleration (NoSchedule/NoExecute; a toleration with an empty key
 * and operator Exists ks_sched_tolerates everything), NodeAffinity (nodeSelector plus
 * required terms: In, NotIn, Exists, DoesNotExist, Gt, Lt, matchFields on
 * metadata.name), NodePorts and NodeResourcesFit (real requests; a pod
 * without requests only needs a pod slot).
 */
#include "scheduler/internal.h"

#include <string.h>

bool ks_sched_tolerates(const struct stol *t, const struct staint *x)
{
    if (t->effect != KS_SCHED_EFFECT_ANY && t->effect != x->effect)
        return false;
    if (t->key && t->key != x->key)
        return false;
    return t->exists || t->value == x->value;
}

static bool tolerated(const struct spod *p, const struct staint *x)
{
    for (uint32_t i = 0; i < p->ntols; i++)
        if (ks_sched_tolerates(&p->tols[i], x))
            return true;
    return false;
}

int ks_sched_filter_unschedulable(const struct ks_sched *s, const struct snode *n,
                                  const struct spod *p)
{
    if (!n->unschedulable)
        return F_OK;
    struct staint t = {s->unsched_key, s->empty, KS_SCHED_EFFECT_NO_SCHEDULE};
    return tolerated(p, &t) ? F_OK : F_UNSCHEDULABLE;
}

int ks_sched_filter_taints(const struct snode *n, const struct spod *p, uint64_t *arg)
{
    if (!n->nhard)
        return F_OK;
    for (uint32_t i = 0; i < n->ntaints; i++) {
        const struct staint *x = &n->taints[i];
        if (x->effect == KS_SCHED_EFFECT_PREFER_NO_SCHEDULE || tolerated(p, x))
            continue;
        *arg = (uint64_t)x->key << 32 | x->value;
        return F_TAINT;
    }
    return F_OK;
}

bool ks_sched_nterm_match(const struct ks_sched *s, const struct snode *n, const struct nterm *t)
{
    if (!t->nexprs && !t->nfields)
        return false; /* an empty term matches no node */
    for (uint32_t i = 0; i < t->nexprs; i++)
        if (!ks_sched_sreq_match_labels(s, &t->exprs[i], n->labels, n->nlabels))
            return false;
    for (uint32_t i = 0; i < t->nfields; i++) {
        const struct sreq *r = &t->fields[i];
        bool in = false;
        for (uint32_t j = 0; j < r->nvals && !in; j++)
            in = r->vals[j] == n->name;
        if (in != (r->op == KS_SCHED_OP_IN))
            return false;
    }
    return true;
}

bool ks_sched_node_affinity_match(const struct ks_sched *s, const struct snode *n,
                                  const struct spod *p)
{
    for (uint32_t i = 0; i < p->nnodesel; i++) {
        uint32_t v = ks_sched_labels_get(n->labels, n->nlabels, p->nodesel[i].k);
        if (!v || v != p->nodesel[i].v)
            return false;
    }
    if (!p->nreq)
        return true;
    for (uint32_t i = 0; i < p->nreq; i++)
        if (ks_sched_nterm_match(s, n, &p->req[i]))
            return true;
    return false;
}

bool ks_sched_ports_conflict(const struct snode *n, const struct spod *p)
{
    for (uint32_t i = 0; i < p->nports; i++) {
        const struct sport *a = &p->ports[i];
        for (uint32_t j = 0; j < n->nports; j++) {
            const struct sport *b = &n->ports[j];
            if (a->port == b->port && a->proto == b->proto && (a->ip == b->ip || !a->ip || !b->ip))
                return true;
        }
    }
    return false;
}

uint64_t ks_sched_fit_insufficient(const struct snode *n, const struct spod *p)
{
    uint64_t bits = 0;
    if (n->npods + 1 > n->alloc_pods)
        bits |= 1;
    if (p->cpu > 0 && p->cpu > n->alloc_cpu - n->req_cpu)
        bits |= 2;
    if (p->mem > 0 && p->mem > n->alloc_mem - n->req_mem)
        bits |= 4;
    return bits;
}
