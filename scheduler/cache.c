/*
 * cache.c: the scheduler's node cache and pod table, updated incrementally.
 *
 * Nodes keep their allocatable and requested cpu/memory/pod count (both the
 * real requests, used by the fit filter and BalancedAllocation, and the
 * "non-zero" ones, used by LeastAllocated), host ports in use, labels,
 * taints, reported images and the pods bound to them. Binding or unbinding
 * a pod adjusts those sums and the topology term counts in O(terms), so a
 * scheduling cycle never recomputes anything from the pod list.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int scheduler_init_names(struct ks_sched *s)
{
    uint32_t slot;
    int rc;
    if ((rc = ks_sched_strtab_intern(&s->hostname_key, &s->st, KS_SCHED_HOSTNAME_KEY)) ||
        (rc = ks_sched_strtab_intern(&s->zone_key, &s->st, KS_SCHED_ZONE_KEY)) ||
        (rc = ks_sched_strtab_intern(&s->region_key, &s->st, "topology.kubernetes.io/region")) ||
        (rc = ks_sched_strtab_intern(&s->metadata_name, &s->st, "metadata.name")) ||
        (rc = ks_sched_strtab_intern(&s->proto_tcp, &s->st, "TCP")) ||
        (rc =
             ks_sched_strtab_intern(&s->unsched_key, &s->st, "node.kubernetes.io/unschedulable")) ||
        (rc = ks_sched_strtab_intern(&s->empty, &s->st, "")))
        return rc;
    return ks_sched_slot_get(&slot, s, s->hostname_key);
}

int ks_sched_new(struct ks_sched **out, const struct ks_sched_config *cfg)
{
    int rc = 0;
    struct ks_sched *s = calloc(1, sizeof(*s));
    if (!s)
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    if (cfg)
        s->cfg = *cfg;
    if (s->cfg.percentage_of_nodes_to_score < 0 || s->cfg.percentage_of_nodes_to_score > 100) {
        rc = ks_error_set(KS_EINVALID, "scheduler: percentageOfNodesToScore must be 0..100, got %d",
                          s->cfg.percentage_of_nodes_to_score);
        goto done;
    }
    s->rng = s->cfg.seed;
    if ((rc = scheduler_init_names(s)))
        goto done;
    *out = s;
    s = NULL;
done:
    ks_sched_free(s);
    return rc;
}

static void node_release(struct snode *n)
{
    free(n->labels);
    free(n->taints);
    free(n->images);
    free(n->ports);
    free(n->pods);
}

void ks_sched_free(struct ks_sched *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->npods; i++)
        if (s->pods[i].alive)
            ks_sched_pod_release(s, &s->pods[i]);
    for (uint32_t i = 0; i < s->nnodes; i++)
        node_release(&s->nodes[i]);
    ks_sched_terms_release(s);
    for (uint32_t i = 0; i < s->nslots; i++) {
        free(s->slots[i].node_dom);
        free(s->slots[i].val_dom);
        free(s->slots[i].dom_nodes);
    }
    free(s->slots);
    free(s->terms);
    free(s->nodes);
    free(s->order);
    free(s->free_nodes);
    free(s->node_by_name);
    free(s->pods);
    free(s->free_pods);
    ks_sched_u64map_release(&s->pod_by_key);
    free(s->pclasses);
    free(s->shapes);
    ks_sched_u64map_release(&s->shape_by_hash);
    free(s->image_nodes);
    free(s->feasible);
    for (int i = 0; i < KS_SCHED_NSCORES; i++)
        free(s->raw[i]);
    free(s->total);
    free(s->fail);
    free(s->reasons);
    free(s->cy.sp);
    free(s->cy.hs);
    free(s->cy.anti_existing);
    free(s->cy.pref_existing);
    free(s->cy.scratch);
    free(s->cy.soft);
    ks_sched_strtab_release(&s->st);
    free(s);
}

size_t ks_sched_node_count(const struct ks_sched *s)
{
    return s->nlive;
}

static int32_t node_lookup(const struct ks_sched *s, const char *name)
{
    uint32_t id = ks_sched_strtab_find(&s->st, name);
    if (!id || id >= s->node_by_name_cap)
        return -1;
    return s->node_by_name[id];
}

static int node_set_name(struct ks_sched *s, uint32_t name, int32_t node)
{
    uint32_t old = s->node_by_name_cap;
    int rc = ks_sched_grow_array((void **)&s->node_by_name, &s->node_by_name_cap, name + 1,
                                 sizeof(int32_t));
    if (rc)
        return rc;
    for (uint32_t i = old; i < s->node_by_name_cap; i++)
        s->node_by_name[i] = -1;
    s->node_by_name[name] = node;
    return 0;
}

static int compile_taints(struct ks_sched *s, struct snode *n,
                          const struct ks_sched_node_spec *spec)
{
    int rc = 0;
    if (!spec->ntaints)
        return 0;
    if (!(n->taints = calloc(spec->ntaints, sizeof(*n->taints))))
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    for (size_t i = 0; i < spec->ntaints; i++) {
        const struct ks_sched_taint *t = &spec->taints[i];
        if (!t->key || !*t->key || t->effect == KS_SCHED_EFFECT_ANY ||
            (unsigned)t->effect > KS_SCHED_EFFECT_NO_EXECUTE)
            return ks_error_set(KS_EINVALID,
                                "scheduler: node %s: taint %zu needs a key and an effect",
                                spec->name, i);
        struct staint *o = &n->taints[n->ntaints++];
        if ((rc = ks_sched_strtab_intern(&o->key, &s->st, t->key)) ||
            (rc = ks_sched_strtab_intern(&o->value, &s->st, t->value ? t->value : "")))
            return rc;
        o->effect = (uint8_t)t->effect;
        if (o->effect == KS_SCHED_EFFECT_PREFER_NO_SCHEDULE)
            n->nprefer++;
        else
            n->nhard++;
    }
    return 0;
}

static int image_count(struct ks_sched *s, const struct snode *n, int delta)
{
    int rc;
    if (n->nimages)
        s->nodes_with_images += delta;
    for (uint32_t i = 0; i < n->nimages; i++) {
        if ((rc = ks_sched_grow_array((void **)&s->image_nodes, &s->image_cap,
                                      n->images[i].name + 1, sizeof(int32_t))))
            return rc;
        s->image_nodes[n->images[i].name] += delta;
    }
    return 0;
}

static int compile_images(struct ks_sched *s, struct snode *n,
                          const struct ks_sched_node_spec *spec)
{
    int rc = 0;
    if (!spec->nimages)
        return 0;
    if (!(n->images = calloc(spec->nimages, sizeof(*n->images))))
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    for (size_t i = 0; i < spec->nimages; i++) {
        uint32_t id;
        if (!spec->images[i].name || (rc = ks_sched_image_intern(&id, s, spec->images[i].name)))
            return rc ? rc : ks_error_set(KS_EINVALID, "scheduler: node image without a name");
        bool dup = false; /* several names of one image may normalise alike */
        for (uint32_t j = 0; j < n->nimages && !dup; j++)
            dup = n->images[j].name == id;
        if (!dup)
            n->images[n->nimages++] = (struct simage){id, spec->images[i].size};
    }
    return 0;
}

/* Builds the description part of a node (not its pods and sums). */
static int node_compile(struct ks_sched *s, struct snode *n, const struct ks_sched_node_spec *spec)
{
    int rc = 0;
    struct ks_sched_kv *labels = NULL;
    if (spec->nlabels > KS_SCHED_MAX_ITEMS || spec->ntaints > KS_SCHED_MAX_ITEMS ||
        spec->nimages > KS_SCHED_MAX_IMAGES) {
        rc = ks_error_set(KS_ELIMIT,
                          "scheduler: node %s exceeds a limit (%d labels/taints, %d images)",
                          spec->name, KS_SCHED_MAX_ITEMS, KS_SCHED_MAX_IMAGES);
        goto done;
    }
    if (spec->cpu_milli < 0 || spec->memory < 0 || spec->pods < 0) {
        rc = ks_error_set(KS_EINVALID, "scheduler: node %s has negative allocatable", spec->name);
        goto done;
    }
    /* the kubelet always sets kubernetes.io/hostname; default it to the name */
    if (!(labels = calloc(spec->nlabels + 1, sizeof(*labels)))) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
        goto done;
    }
    size_t nl = spec->nlabels;
    bool has_host = false;
    for (size_t i = 0; i < nl; i++) {
        labels[i] = spec->labels[i];
        has_host |= labels[i].key && strcmp(labels[i].key, KS_SCHED_HOSTNAME_KEY) == 0;
    }
    if (!has_host)
        labels[nl++] = (struct ks_sched_kv){KS_SCHED_HOSTNAME_KEY, spec->name};
    if ((rc = ks_sched_kvs_compile(&n->labels, &n->nlabels, s, labels, nl, "node labels")) ||
        (rc = compile_taints(s, n, spec)) || (rc = compile_images(s, n, spec)))
        goto done;
    n->alloc_cpu = spec->cpu_milli;
    n->alloc_mem = spec->memory;
    n->alloc_pods = spec->pods;
    n->unschedulable = spec->unschedulable;
done:
    free(labels);
    return rc;
}

static int node_slot_new(uint32_t *out, struct ks_sched *s)
{
    int rc;
    if (s->nfree_nodes) {
        *out = s->free_nodes[--s->nfree_nodes];
        return 0;
    }
    if (s->nnodes >= KS_SCHED_MAX_NODES)
        return ks_error_set(KS_ELIMIT, "scheduler: more than %d nodes", KS_SCHED_MAX_NODES);
    uint32_t old = s->node_cap;
    if ((rc = ks_sched_grow_array((void **)&s->nodes, &s->node_cap, s->nnodes + 1,
                                  sizeof(*s->nodes))))
        return rc;
    if (old != s->node_cap) {
        uint32_t ocap = old;
        if ((rc = ks_sched_grow_array((void **)&s->order, &ocap, s->node_cap, sizeof(uint32_t))) ||
            (rc = ks_sched_topology_grow_nodes(s, old)))
            return rc;
    }
    *out = s->nnodes++;
    return 0;
}

int ks_sched_node_set(struct ks_sched *s, const struct ks_sched_node_spec *spec)
{
    int rc = 0;
    struct snode tmp = {0};
    bool changed = false;
    if (!spec->name || !*spec->name)
        return ks_error_set(KS_EINVALID, "scheduler: node without a name");
    if ((rc = node_compile(s, &tmp, spec)) ||
        (rc = ks_sched_strtab_intern(&tmp.name, &s->st, spec->name)))
        goto done;
    int32_t idx = node_lookup(s, spec->name);
    uint32_t n = 0;
    if (idx >= 0) {
        n = (uint32_t)idx;
        struct snode *old = &s->nodes[n];
        if ((rc = image_count(s, old, -1)))
            goto done;
        uint64_t zone = ks_sched_node_zone_key(s, old);
        free(old->labels);
        free(old->taints);
        free(old->images);
        old->labels = tmp.labels;
        old->nlabels = tmp.nlabels;
        old->taints = tmp.taints;
        old->ntaints = tmp.ntaints;
        old->nprefer = tmp.nprefer;
        old->nhard = tmp.nhard;
        old->images = tmp.images;
        old->nimages = tmp.nimages;
        old->alloc_cpu = tmp.alloc_cpu;
        old->alloc_mem = tmp.alloc_mem;
        old->alloc_pods = tmp.alloc_pods;
        old->unschedulable = tmp.unschedulable;
        old->ver++;
        if (ks_sched_node_zone_key(s, old) != zone)
            s->order_dirty = true;
        memset(&tmp, 0, sizeof(tmp));
    } else {
        if ((rc = node_slot_new(&n, s)) || (rc = node_set_name(s, tmp.name, (int32_t)n)))
            goto done;
        s->nodes[n] = tmp;
        memset(&tmp, 0, sizeof(tmp));
        s->nodes[n].alive = true;
        s->nodes[n].seq = ++s->node_seq;
        s->nodes[n].order_pos = s->nlive;
        s->order[s->nlive++] = n;
        s->order_dirty = true;
    }
    if ((rc = image_count(s, &s->nodes[n], 1)) ||
        (rc = ks_sched_slots_node_changed(&changed, s, n)))
        goto done;
    if (changed && s->nodes[n].npodl)
        rc = ks_sched_terms_recount(s);
done:
    node_release(&tmp);
    return rc;
}

int ks_sched_node_remove(struct ks_sched *s, const char *name)
{
    int rc = 0;
    int32_t idx = node_lookup(s, name);
    if (idx < 0)
        return ks_error_set(KS_ENOTFOUND, "scheduler: no node named %s", name);
    struct snode *n = &s->nodes[idx];
    while (n->npodl)
        ks_sched_cache_unbind(s, n->pods[n->npodl - 1]);
    if ((rc = image_count(s, n, -1)))
        return rc;
    ks_sched_slots_node_removed(s, (uint32_t)idx);
    uint32_t last = s->order[--s->nlive];
    s->order[n->order_pos] = last;
    s->nodes[last].order_pos = n->order_pos;
    s->node_by_name[n->name] = -1;
    s->order_dirty = true;
    node_release(n);
    memset(n, 0, sizeof(*n));
    if ((rc = ks_sched_grow_array((void **)&s->free_nodes, &s->free_nodes_cap, s->nfree_nodes + 1,
                                  sizeof(uint32_t))))
        return rc;
    s->free_nodes[s->nfree_nodes++] = (uint32_t)idx;
    if (s->next_start >= s->nlive)
        s->next_start = 0;
    return 0;
}

int ks_sched_priority_class_set(struct ks_sched *s, const char *name, int32_t value)
{
    uint32_t id;
    int rc = ks_sched_strtab_intern(&id, &s->st, name);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < s->npclasses; i++) {
        if (s->pclasses[i].name == id) {
            s->pclasses[i].value = value;
            return 0;
        }
    }
    if (s->npclasses >= KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "scheduler: more than %d priority classes",
                            KS_SCHED_MAX_ITEMS);
    if ((rc = ks_sched_grow_array((void **)&s->pclasses, &s->pclass_cap, s->npclasses + 1,
                                  sizeof(*s->pclasses))))
        return rc;
    s->pclasses[s->npclasses++] = (struct pclass){id, value};
    return 0;
}

int ks_sched_cache_bind(struct ks_sched *s, uint32_t pod, uint32_t node)
{
    struct spod *p = &s->pods[pod];
    struct snode *n = &s->nodes[node];
    int rc;
    if ((rc =
             ks_sched_grow_array((void **)&n->pods, &n->cappodl, n->npodl + 1, sizeof(uint32_t))) ||
        (rc = ks_sched_grow_array((void **)&n->ports, &n->capports, n->nports + p->nports + 1,
                                  sizeof(struct sport))))
        return rc;
    p->node = (int32_t)node;
    p->node_pos = n->npodl;
    n->ver++;
    n->pods[n->npodl++] = pod;
    n->req_cpu += p->cpu;
    n->req_mem += p->mem;
    n->nz_cpu += p->nz_cpu;
    n->nz_mem += p->nz_mem;
    n->npods++;
    for (uint32_t i = 0; i < p->nports; i++)
        n->ports[n->nports++] = p->ports[i];
    ks_sched_terms_pod_bound(s, pod, 1);
    return 0;
}

void ks_sched_cache_unbind(struct ks_sched *s, uint32_t pod)
{
    struct spod *p = &s->pods[pod];
    if (p->node < 0)
        return;
    struct snode *n = &s->nodes[p->node];
    ks_sched_terms_pod_bound(s, pod, -1);
    uint32_t last = n->pods[--n->npodl];
    n->pods[p->node_pos] = last;
    s->pods[last].node_pos = p->node_pos;
    n->ver++;
    n->req_cpu -= p->cpu;
    n->req_mem -= p->mem;
    n->nz_cpu -= p->nz_cpu;
    n->nz_mem -= p->nz_mem;
    n->npods--;
    for (uint32_t i = 0; i < p->nports; i++) {
        for (uint32_t j = 0; j < n->nports; j++) {
            const struct sport *x = &n->ports[j];
            if (x->port == p->ports[i].port && x->proto == p->ports[i].proto &&
                x->ip == p->ports[i].ip) {
                n->ports[j] = n->ports[--n->nports];
                break;
            }
        }
    }
    p->node = -1;
}

static uint64_t pod_key(uint32_t ns, uint32_t name)
{
    return (uint64_t)ns << 32 | name;
}

int ks_sched_pod_add(uint32_t *out, struct ks_sched *s, const struct ks_sched_pod_spec *spec)
{
    int rc = 0;
    uint32_t id, dummy;
    int32_t node = -1;
    bool reused = s->nfree_pods > 0;
    if (spec->node_name && *spec->node_name && (node = node_lookup(s, spec->node_name)) < 0)
        return ks_error_set(KS_ENOTFOUND, "scheduler: pod %s is bound to unknown node %s",
                            spec->name ? spec->name : "?", spec->node_name);
    if (reused) {
        id = s->free_pods[s->nfree_pods - 1];
    } else {
        if (s->npods >= KS_SCHED_MAX_PODS)
            return ks_error_set(KS_ELIMIT, "scheduler: more than %d pods", KS_SCHED_MAX_PODS);
        if ((rc = ks_sched_grow_array((void **)&s->pods, &s->pod_cap, s->npods + 1,
                                      sizeof(*s->pods))))
            return rc;
        id = s->npods;
    }
    struct spod *p = &s->pods[id];
    memset(p, 0, sizeof(*p));
    if ((rc = ks_sched_podspec_compile(s, p, spec)))
        goto done;
    if (ks_sched_u64map_get(&s->pod_by_key, pod_key(p->ns, p->name), &dummy)) {
        rc = ks_error_set(KS_ECONFLICT, "scheduler: pod %s/%s already exists", s->st.strs[p->ns],
                          s->st.strs[p->name]);
        goto done;
    }
    if ((rc = ks_sched_u64map_put(&s->pod_by_key, pod_key(p->ns, p->name), id)))
        goto done;
    p->alive = true;
    if (reused)
        s->nfree_pods--;
    else
        s->npods++;
    if (node >= 0 && (rc = ks_sched_cache_bind(s, id, (uint32_t)node))) {
        ks_sched_pod_remove(s, id);
        return rc;
    }
    *out = id;
done:
    if (rc && !p->alive)
        ks_sched_pod_release(s, p);
    return rc;
}

static int pod_check(const struct ks_sched *s, uint32_t pod)
{
    if (pod >= s->npods || !s->pods[pod].alive)
        return ks_error_set(KS_ENOTFOUND, "scheduler: no pod with id %u", pod);
    return 0;
}

int ks_sched_pod_remove(struct ks_sched *s, uint32_t pod)
{
    int rc = pod_check(s, pod);
    if (rc)
        return rc;
    struct spod *p = &s->pods[pod];
    ks_sched_cache_unbind(s, pod);
    ks_sched_u64map_del(&s->pod_by_key, pod_key(p->ns, p->name));
    ks_sched_pod_release(s, p);
    if ((rc = ks_sched_grow_array((void **)&s->free_pods, &s->free_pods_cap, s->nfree_pods + 1,
                                  sizeof(uint32_t))))
        return rc;
    s->free_pods[s->nfree_pods++] = pod;
    return 0;
}

int ks_sched_pod_unbind(struct ks_sched *s, uint32_t pod)
{
    int rc = pod_check(s, pod);
    if (!rc)
        ks_sched_cache_unbind(s, pod);
    return rc;
}

int ks_sched_pod_bind(struct ks_sched *s, uint32_t pod, const char *node)
{
    int rc = pod_check(s, pod);
    int32_t n = node_lookup(s, node);
    if (rc)
        return rc;
    if (n < 0)
        return ks_error_set(KS_ENOTFOUND, "scheduler: no node named %s", node);
    if (s->pods[pod].node >= 0)
        return ks_error_set(KS_ECONFLICT, "scheduler: pod %s is already bound",
                            s->st.strs[s->pods[pod].name]);
    return ks_sched_cache_bind(s, pod, (uint32_t)n);
}

int ks_sched_pod_find(uint32_t *out, const struct ks_sched *s, const char *ns, const char *name)
{
    uint32_t nsid = ks_sched_strtab_find(&s->st, ns ? ns : "default"),
             nid = ks_sched_strtab_find(&s->st, name);
    if (!nsid || !nid || !ks_sched_u64map_get(&s->pod_by_key, pod_key(nsid, nid), out))
        return ks_error_set(KS_ENOTFOUND, "scheduler: no pod %s/%s", ns ? ns : "default", name);
    return 0;
}

const char *ks_sched_pod_name(const struct ks_sched *s, uint32_t pod)
{
    return pod < s->npods && s->pods[pod].alive ? s->st.strs[s->pods[pod].name] : NULL;
}

const char *ks_sched_pod_namespace(const struct ks_sched *s, uint32_t pod)
{
    return pod < s->npods && s->pods[pod].alive ? s->st.strs[s->pods[pod].ns] : NULL;
}

const char *ks_sched_pod_node(const struct ks_sched *s, uint32_t pod)
{
    if (pod >= s->npods || !s->pods[pod].alive || s->pods[pod].node < 0)
        return NULL;
    return s->st.strs[s->nodes[s->pods[pod].node].name];
}
