/*
 * topology.c: topology domains and interned pod-matching terms.
 *
 * A "slot" is a topology key in use (kubernetes.io/hostname, a zone label,
 * ...): it maps every node to a dense domain index. A "term" is what pod
 * affinity, anti-affinity and topology spreading all need: "pods in these
 * namespaces matching this selector, grouped by this key". Terms are shared
 * by every pod that has the same rule (all replicas of a Deployment) and
 * keep incremental counts, updated on each bind/unbind, of the bound pods
 * they match per node and per domain, plus per domain how many bound pods
 * carry the term as required anti-affinity. That turns kube-scheduler's
 * per-cycle scans of all pods into O(1) lookups per node.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static int grow_i32(int32_t **arr, uint32_t old, uint32_t cap, int32_t fill)
{
    int32_t *p = realloc(*arr, (size_t)cap * sizeof(int32_t));
    if (!p)
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory growing topology counts");
    for (uint32_t i = old; i < cap; i++)
        p[i] = fill;
    *arr = p;
    return 0;
}

static int term_fit_domains(struct term *t, uint32_t cap)
{
    int rc;
    if (cap <= t->dom_cap)
        return 0;
    if ((rc = grow_i32(&t->dom_cnt, t->dom_cap, cap, 0)) ||
        (rc = grow_i32(&t->dom_own, t->dom_cap, cap, 0)) ||
        (rc = grow_i32(&t->dom_pref, t->dom_cap, cap, 0)))
        return rc;
    t->dom_cap = cap;
    return 0;
}

/* Domain index of value v in slot k, created on first sight. */
static int slot_domain(int32_t *out, struct ks_sched *s, uint32_t k, uint32_t v)
{
    struct keyslot *sl = &s->slots[k];
    int rc;
    if (v >= sl->val_cap) {
        uint32_t cap = s->st.cap > v ? s->st.cap : v + 1;
        if ((rc = grow_i32(&sl->val_dom, sl->val_cap, cap, -1)))
            return rc;
        sl->val_cap = cap;
    }
    if (sl->val_dom[v] < 0) {
        if (sl->ndom == sl->dom_cap) {
            uint32_t cap = sl->dom_cap ? sl->dom_cap * 2 : 64;
            if ((rc = grow_i32(&sl->dom_nodes, sl->dom_cap, cap, 0)))
                return rc;
            sl->dom_cap = cap;
            for (uint32_t i = 0; i < s->nterms; i++)
                if (s->terms[i] && s->terms[i]->slot == k &&
                    (rc = term_fit_domains(s->terms[i], cap)))
                    return rc;
        }
        sl->val_dom[v] = (int32_t)sl->ndom++;
    }
    *out = sl->val_dom[v];
    return 0;
}

static int slot_place_node(bool *changed, struct ks_sched *s, uint32_t k, uint32_t n)
{
    struct keyslot *sl = &s->slots[k];
    struct snode *node = &s->nodes[n];
    int32_t dom = -1, old = sl->node_dom[n];
    int rc;
    uint32_t v = node->alive ? ks_sched_labels_get(node->labels, node->nlabels, sl->key) : 0;
    if (v && (rc = slot_domain(&dom, s, k, v)))
        return rc;
    if (old >= 0) {
        sl->dom_nodes[old]--;
        sl->nodes_with_key--;
    }
    if (dom >= 0) {
        sl->dom_nodes[dom]++;
        sl->nodes_with_key++;
    }
    sl->node_dom[n] = dom;
    if (old != dom)
        *changed = true;
    return 0;
}

int ks_sched_slot_get(uint32_t *out, struct ks_sched *s, uint32_t key)
{
    int rc;
    bool changed = false;
    for (uint32_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].key == key) {
            *out = i;
            return 0;
        }
    }
    if ((rc = ks_sched_grow_array((void **)&s->slots, &s->slot_cap, s->nslots + 1,
                                  sizeof(*s->slots))))
        return rc;
    struct keyslot *sl = &s->slots[s->nslots];
    memset(sl, 0, sizeof(*sl));
    sl->key = key;
    if ((rc = grow_i32(&sl->node_dom, 0, s->node_cap ? s->node_cap : 1, -1)))
        return rc;
    uint32_t k = s->nslots++;
    for (uint32_t i = 0; i < s->nlive; i++)
        if ((rc = slot_place_node(&changed, s, k, s->order[i])))
            return rc;
    *out = k;
    return 0;
}

int ks_sched_slots_node_changed(bool *changed, struct ks_sched *s, uint32_t node)
{
    int rc;
    for (uint32_t k = 0; k < s->nslots; k++)
        if ((rc = slot_place_node(changed, s, k, node)))
            return rc;
    return 0;
}

void ks_sched_slots_node_removed(struct ks_sched *s, uint32_t node)
{
    for (uint32_t k = 0; k < s->nslots; k++) {
        struct keyslot *sl = &s->slots[k];
        if (sl->node_dom[node] >= 0) {
            sl->dom_nodes[sl->node_dom[node]]--;
            sl->nodes_with_key--;
        }
        sl->node_dom[node] = -1;
    }
}

int ks_sched_topology_grow_nodes(struct ks_sched *s, uint32_t old_cap)
{
    int rc;
    for (uint32_t k = 0; k < s->nslots; k++)
        if ((rc = grow_i32(&s->slots[k].node_dom, old_cap, s->node_cap, -1)))
            return rc;
    for (uint32_t i = 0; i < s->nterms; i++)
        if (s->terms[i] && (rc = grow_i32(&s->terms[i]->node_cnt, old_cap, s->node_cap, 0)))
            return rc;
    return 0;
}

bool ks_sched_term_matches(const struct ks_sched *s, const struct term *t, const struct spod *p)
{
    bool ns_ok = false;
    for (uint32_t i = 0; i < t->nns && !ns_ok; i++)
        ns_ok = t->ns[i] == p->ns;
    if (!ns_ok || t->nothing)
        return false;
    if (t->owner)
        return p->owner == t->owner;
    for (uint32_t i = 0; i < t->nsel; i++)
        if (!ks_sched_sreq_match_labels(s, &t->sel[i], p->labels, p->nlabels))
            return false;
    return true;
}

static void term_count_pod(struct ks_sched *s, struct term *t, const struct spod *p, int delta)
{
    int32_t d = node_dom(s, t->slot, (uint32_t)p->node);
    t->node_cnt[p->node] += delta;
    if (d >= 0) {
        t->dom_cnt[d] += delta;
        t->total += delta;
    }
}

void ks_sched_terms_pod_bound(struct ks_sched *s, uint32_t pod, int delta)
{
    const struct spod *p = &s->pods[pod];
    uint32_t id;
    for (uint32_t i = 0; i < s->nsel_terms; i++) {
        struct term *t = s->terms[s->sel_terms[i]];
        if (ks_sched_term_matches(s, t, p))
            term_count_pod(s, t, p, delta);
    }
    for (uint32_t k = 0; p->owner && k < s->nslots; k++) {
        if (ks_sched_u64map_get(&s->owner_terms, (uint64_t)p->owner << 32 | k, &id) &&
            ks_sched_term_matches(s, s->terms[id], p))
            term_count_pod(s, s->terms[id], p, delta);
    }
    for (uint32_t i = 0; i < p->nanti; i++) {
        struct term *t = s->terms[p->anti[i]];
        int32_t d = node_dom(s, t->slot, (uint32_t)p->node);
        if (d >= 0) {
            t->dom_own[d] += delta;
            t->own_total += delta;
        }
    }
    /* preferred terms by weight, required affinity with kube's
     * hardPodAffinityWeight of 1: scored for pods they match */
    for (uint32_t i = 0; i < p->npterms + p->naff; i++) {
        bool pref = i < p->npterms;
        struct term *t = s->terms[pref ? p->pterms[i].term : p->aff[i - p->npterms]];
        int32_t d = node_dom(s, t->slot, (uint32_t)p->node);
        if (d >= 0) {
            t->dom_pref[d] += delta * (pref ? p->pterms[i].weight : 1);
            t->pref_owners += delta;
        }
    }
}

int ks_sched_terms_recount(struct ks_sched *s)
{
    for (uint32_t i = 0; i < s->nterms; i++) {
        struct term *t = s->terms[i];
        if (!t)
            continue;
        memset(t->node_cnt, 0, (size_t)s->node_cap * sizeof(int32_t));
        memset(t->dom_cnt, 0, (size_t)t->dom_cap * sizeof(int32_t));
        memset(t->dom_own, 0, (size_t)t->dom_cap * sizeof(int32_t));
        memset(t->dom_pref, 0, (size_t)t->dom_cap * sizeof(int32_t));
        t->total = t->own_total = t->pref_owners = 0;
    }
    for (uint32_t i = 0; i < s->npods; i++)
        if (s->pods[i].alive && s->pods[i].node >= 0)
            ks_sched_terms_pod_bound(s, i, 1);
    return 0;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    return (h ^ x) * 0x100000001b3ULL;
}

static uint64_t term_hash(const struct term *t)
{
    uint64_t h = mix(mix(mix(14695981039346656037ULL, t->slot), t->owner), t->nothing);
    for (uint32_t i = 0; i < t->nns; i++)
        h = mix(h, t->ns[i]);
    for (uint32_t i = 0; i < t->nsel; i++) {
        h = mix(mix(h, t->sel[i].key), t->sel[i].op);
        for (uint32_t j = 0; j < t->sel[i].nvals; j++)
            h = mix(h, t->sel[i].vals[j]);
    }
    return h;
}

static bool term_equal(const struct term *a, const struct term *b)
{
    if (a->hash != b->hash || a->slot != b->slot || a->owner != b->owner ||
        a->nothing != b->nothing || a->nns != b->nns || a->nsel != b->nsel ||
        memcmp(a->ns, b->ns, a->nns * sizeof(uint32_t)))
        return false;
    for (uint32_t i = 0; i < a->nsel; i++) {
        const struct sreq *x = &a->sel[i], *y = &b->sel[i];
        if (x->key != y->key || x->op != y->op || x->nvals != y->nvals ||
            (x->nvals && memcmp(x->vals, y->vals, x->nvals * sizeof(uint32_t))))
            return false;
    }
    return true;
}

static void term_free(struct term *t)
{
    if (!t)
        return;
    ks_sched_sreq_release(t->sel, t->nsel);
    free(t->ns);
    free(t->node_cnt);
    free(t->dom_cnt);
    free(t->dom_own);
    free(t->dom_pref);
    free(t);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int term_compile(struct term *t, struct ks_sched *s, const struct ks_sched_selector *sel)
{
    int rc = 0;
    size_t n = sel->nmatch_labels + sel->nexprs;
    if (n > KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "scheduler: selector with %zu requirements exceeds %d", n,
                            KS_SCHED_MAX_ITEMS);
    if (n && !(t->sel = calloc(n, sizeof(*t->sel))))
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    for (size_t i = 0; i < sel->nmatch_labels; i++) {
        const char *v = sel->match_labels[i].value ? sel->match_labels[i].value : "";
        struct ks_sched_req r = {sel->match_labels[i].key, KS_SCHED_OP_IN, &v, 1};
        t->nsel++;
        if ((rc = ks_sched_sreq_compile(s, &t->sel[i], &r, false)))
            return rc;
    }
    for (size_t i = 0; i < sel->nexprs; i++) {
        t->nsel++;
        if ((rc = ks_sched_sreq_compile(s, &t->sel[sel->nmatch_labels + i], &sel->exprs[i], false)))
            return rc;
    }
    return 0;
}

/* Indexes a new term (id) by hash, and by owner or in the selector list. */
static int term_register(struct ks_sched *s, struct term *t, uint32_t id)
{
    uint32_t other;
    int rc;
    if (!ks_sched_u64map_get(&s->term_by_hash, t->hash, &other) &&
        (rc = ks_sched_u64map_put(&s->term_by_hash, t->hash, id)))
        return rc;
    if (t->owner)
        rc = ks_sched_u64map_put(&s->owner_terms, (uint64_t)t->owner << 32 | t->slot, id);
    else
        rc = ks_sched_grow_array((void **)&s->sel_terms, &s->sel_terms_cap, s->nsel_terms + 1,
                                 sizeof(uint32_t));
    if (rc) {
        if (ks_sched_u64map_get(&s->term_by_hash, t->hash, &other) && other == id)
            ks_sched_u64map_del(&s->term_by_hash, t->hash);
        return rc;
    }
    if (t->owner)
        return 0;
    t->sel_pos = s->nsel_terms;
    s->sel_terms[s->nsel_terms++] = id;
    return 0;
}

static void term_unregister(struct ks_sched *s, struct term *t, uint32_t id)
{
    uint32_t other;
    if (ks_sched_u64map_get(&s->term_by_hash, t->hash, &other) && other == id)
        ks_sched_u64map_del(&s->term_by_hash, t->hash);
    if (t->owner) {
        ks_sched_u64map_del(&s->owner_terms, (uint64_t)t->owner << 32 | t->slot);
        return;
    }
    uint32_t last = s->sel_terms[--s->nsel_terms];
    s->sel_terms[t->sel_pos] = last;
    s->terms[last]->sel_pos = t->sel_pos;
}

int ks_sched_term_intern(uint32_t *out, struct ks_sched *s, const struct ks_sched_selector *sel,
                         uint32_t owner, uint32_t slot, uint32_t *ns, uint32_t nns)
{
    int rc = 0;
    struct term *t = calloc(1, sizeof(*t));
    if (!t || !(t->ns = malloc(nns * sizeof(uint32_t)))) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
        goto done;
    }
    memcpy(t->ns, ns, nns * sizeof(uint32_t));
    qsort(t->ns, nns, sizeof(uint32_t), cmp_u32);
    t->nns = nns;
    t->slot = slot;
    t->owner = owner;
    t->nothing = sel->nothing;
    if ((rc = term_compile(t, s, sel)))
        goto done;
    t->hash = term_hash(t);
    uint32_t found, free_at = s->nterms;
    if (ks_sched_u64map_get(&s->term_by_hash, t->hash, &found) && term_equal(s->terms[found], t)) {
        s->terms[found]->refs++;
        *out = found;
        goto done;
    }
    for (uint32_t i = 0; i < s->nterms; i++) {
        if (!s->terms[i]) {
            if (free_at == s->nterms)
                free_at = i;
        } else if (s->terms[i]->hash == t->hash && term_equal(s->terms[i], t)) {
            s->terms[i]->refs++; /* a hash collision: found the slow way */
            *out = i;
            goto done;
        }
    }
    uint32_t dcap = s->slots[slot].dom_cap;
    if ((rc = grow_i32(&t->node_cnt, 0, s->node_cap ? s->node_cap : 1, 0)) ||
        (rc = term_fit_domains(t, dcap ? dcap : 1)))
        goto done;
    if (free_at == s->nterms && (rc = ks_sched_grow_array((void **)&s->terms, &s->term_cap,
                                                          s->nterms + 1, sizeof(*s->terms))))
        goto done;
    if ((rc = term_register(s, t, free_at)))
        goto done;
    t->refs = 1;
    s->terms[free_at] = t;
    if (free_at == s->nterms)
        s->nterms++;
    for (uint32_t i = 0; i < s->npods; i++) /* count what is already bound */
        if (s->pods[i].alive && s->pods[i].node >= 0 && ks_sched_term_matches(s, t, &s->pods[i]))
            term_count_pod(s, t, &s->pods[i], 1);
    *out = free_at;
    t = NULL;
done:
    term_free(t);
    return rc;
}

void ks_sched_term_unref(struct ks_sched *s, uint32_t term)
{
    struct term *t = s->terms[term];
    if (t && --t->refs == 0) {
        term_unregister(s, t, term);
        term_free(t);
        s->terms[term] = NULL;
    }
}

void ks_sched_terms_release(struct ks_sched *s)
{
    free(s->sel_terms);
    ks_sched_u64map_release(&s->owner_terms);
    ks_sched_u64map_release(&s->term_by_hash);
    for (uint32_t i = 0; i < s->nterms; i++) {
        term_free(s->terms[i]);
        s->terms[i] = NULL;
    }
}
