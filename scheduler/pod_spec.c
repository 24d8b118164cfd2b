/*
 * pod_spec.c: turns a ks_sched_pod_spec (borrowed strings) into the
 * scheduler's compact pod: interned labels sorted by key, requests summed
 * over containers (and kube-scheduler's non-zero defaults of 100m cpu /
 * 200 MB for containers without a request, used by scoring), compiled node
 * selector terms, tolerations, host ports, normalised image names, and
 * interned pod affinity / spread terms. Every count is checked against
 * KS_SCHED_MAX_ITEMS so a hostile manifest cannot blow up the scheduler.
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count(size_t n, const char *what)
{
    if (n > KS_SCHED_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "scheduler: %zu %s exceed the limit of %d", n, what,
                            KS_SCHED_MAX_ITEMS);
    return 0;
}

static void *alloc_items(size_t n, size_t elem, int *rc)
{
    if (!n)
        return NULL;
    void *p = calloc(n, elem);
    if (!p)
        *rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
    return p;
}

static int intern_opt(uint32_t *out, struct ks_sched *s, const char *str)
{
    return ks_sched_strtab_intern(out, &s->st, str ? str : "");
}

static int cmp_kv(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* Interns a label map into a sorted array; duplicate keys are invalid. */
int ks_sched_kvs_compile(struct kv **out, uint32_t *nout, struct ks_sched *s,
                         const struct ks_sched_kv *in, size_t n, const char *what)
{
    int rc = check_count(n, what);
    struct kv *l = NULL;
    if (rc || !n)
        goto done;
    if (!(l = alloc_items(n, sizeof(*l), &rc)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].key) {
            rc = ks_error_set(KS_EINVALID, "scheduler: %s entry %zu has no key", what, i);
            goto done;
        }
        if ((rc = ks_sched_strtab_intern(&l[i].k, &s->st, in[i].key)) ||
            (rc = intern_opt(&l[i].v, s, in[i].value)))
            goto done;
    }
    qsort(l, n, sizeof(*l), cmp_kv);
    for (size_t i = 1; i < n; i++) {
        if (l[i].k == l[i - 1].k) {
            rc = ks_error_set(KS_EINVALID, "scheduler: duplicate key \"%s\" in %s",
                              s->st.strs[l[i].k], what);
            goto done;
        }
    }
    *out = l;
    *nout = (uint32_t)n;
    l = NULL;
done:
    free(l);
    return rc;
}

void ks_sched_sreq_release(struct sreq *r, uint32_t n)
{
    for (uint32_t i = 0; r && i < n; i++)
        free(r[i].vals);
    free(r);
}

int ks_sched_sreq_compile(struct ks_sched *s, struct sreq *out, const struct ks_sched_req *r,
                          bool node)
{
    int rc = check_count(r->nvalues, "values");
    if (rc)
        return rc;
    if (!r->key || (unsigned)r->op > KS_SCHED_OP_LT || (!node && r->op >= KS_SCHED_OP_GT))
        return ks_error_set(KS_EINVALID, "scheduler: invalid requirement (key %s)",
                            r->key ? r->key : "missing");
    bool need_vals = r->op == KS_SCHED_OP_IN || r->op == KS_SCHED_OP_NOT_IN;
    bool one_val = r->op == KS_SCHED_OP_GT || r->op == KS_SCHED_OP_LT;
    if ((need_vals && !r->nvalues) || (one_val && r->nvalues != 1) ||
        (!need_vals && !one_val && r->nvalues))
        return ks_error_set(KS_EINVALID,
                            "scheduler: requirement on \"%s\" has a wrong number of values (%zu)",
                            r->key, r->nvalues);
    memset(out, 0, sizeof(*out));
    out->op = (uint8_t)r->op;
    if ((rc = ks_sched_strtab_intern(&out->key, &s->st, r->key)))
        return rc;
    if (one_val) {
        char *end = NULL;
        out->num = strtoll(r->values[0], &end, 10);
        if (end == r->values[0] || *end)
            return ks_error_set(KS_EINVALID,
                                "scheduler: Gt/Lt on \"%s\" needs an integer, got \"%s\"", r->key,
                                r->values[0]);
        return 0;
    }
    if (!r->nvalues)
        return 0;
    if (!(out->vals = alloc_items(r->nvalues, sizeof(uint32_t), &rc)))
        return rc;
    out->nvals = (uint32_t)r->nvalues;
    for (size_t i = 0; i < r->nvalues; i++)
        if ((rc = intern_opt(&out->vals[i], s, r->values[i])))
            return rc;
    return 0;
}

static int compile_reqs(struct sreq **out, uint32_t *nout, struct ks_sched *s,
                        const struct ks_sched_req *in, size_t n, bool node)
{
    int rc = check_count(n, "match expressions");
    struct sreq *r = NULL;
    if (rc || !n)
        return rc;
    if (!(r = alloc_items(n, sizeof(*r), &rc)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = ks_sched_sreq_compile(s, &r[i], &in[i], node))) {
            ks_sched_sreq_release(r, (uint32_t)i + 1);
            return rc;
        }
    }
    *out = r;
    *nout = (uint32_t)n;
    return 0;
}

static int compile_nterm(struct ks_sched *s, struct nterm *t, const struct ks_sched_node_term *in)
{
    int rc = compile_reqs(&t->exprs, &t->nexprs, s, in->exprs, in->nexprs, true);
    if (rc || (rc = compile_reqs(&t->fields, &t->nfields, s, in->fields, in->nfields, true)))
        return rc;
    for (uint32_t i = 0; i < t->nfields; i++) {
        if (t->fields[i].key != s->metadata_name ||
            (t->fields[i].op != KS_SCHED_OP_IN && t->fields[i].op != KS_SCHED_OP_NOT_IN))
            return ks_error_set(KS_EINVALID,
                                "scheduler: matchFields supports only metadata.name "
                                "with In or NotIn (got \"%s\")",
                                s->st.strs[t->fields[i].key]);
    }
    return 0;
}

/* DaemonSet pinning: when every required term names nodes with
 * `metadata.name In`, only those nodes can fit (kube's PreFilterResult). */
static int compile_pin(struct spod *p)
{
    int rc = 0;
    uint32_t total = 0;
    for (uint32_t i = 0; i < p->nreq; i++) {
        uint32_t found = 0;
        for (uint32_t j = 0; j < p->req[i].nfields; j++)
            if (p->req[i].fields[j].op == KS_SCHED_OP_IN) {
                found = 1;
                total += p->req[i].fields[j].nvals;
            }
        if (!found)
            return 0;
    }
    if (!p->nreq || !(p->pin = alloc_items(total, sizeof(uint32_t), &rc)))
        return rc;
    for (uint32_t i = 0; i < p->nreq; i++)
        for (uint32_t j = 0; j < p->req[i].nfields; j++)
            if (p->req[i].fields[j].op == KS_SCHED_OP_IN)
                for (uint32_t k = 0; k < p->req[i].fields[j].nvals; k++)
                    p->pin[p->npin++] = p->req[i].fields[j].vals[k];
    return 0;
}

/* "nginx" -> "nginx:latest"; names with a tag or digest stay as they are. */
int ks_sched_image_intern(uint32_t *out, struct ks_sched *s, const char *image)
{
    const char *slash = strrchr(image, '/');
    const char *last = slash ? slash + 1 : image;
    if (strchr(last, ':') || strchr(image, '@'))
        return ks_sched_strtab_intern(out, &s->st, image);
    char tmp[KS_SCHED_MAX_STRING + 16];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s:latest", image) >= sizeof(tmp))
        return ks_error_set(KS_ELIMIT, "scheduler: image name exceeds %d bytes",
                            KS_SCHED_MAX_STRING);
    return ks_sched_strtab_intern(out, &s->st, tmp);
}

/* A container's requests: real and non-zero (cpu, mem, nz_cpu, nz_mem). */
static int container_requests(int64_t *out, const struct ks_sched_container *c, const char *pod)
{
    if ((c->has_cpu && c->cpu_milli < 0) || (c->has_memory && c->memory < 0))
        return ks_error_set(KS_EINVALID, "scheduler: pod %s: negative resource request", pod);
    out[0] = c->has_cpu ? c->cpu_milli : 0;
    out[1] = c->has_memory ? c->memory : 0;
    out[2] = c->has_cpu ? out[0] : SCHED_DEFAULT_MILLI_CPU;
    out[3] = c->has_memory ? out[1] : SCHED_DEFAULT_MEMORY;
    return 0;
}

static int compile_containers(struct ks_sched *s, struct spod *p,
                              const struct ks_sched_pod_spec *spec)
{
    int64_t sum[4] = {0}, r[4] = {0};
    int rc = check_count(spec->ncontainers, "containers");
    if (rc || (rc = check_count(spec->ninit_containers, "init containers")) ||
        (spec->ncontainers && !(p->images = alloc_items(spec->ncontainers, sizeof(uint32_t), &rc))))
        return rc;
    if (spec->overhead_cpu_milli < 0 || spec->overhead_memory < 0)
        return ks_error_set(KS_EINVALID, "scheduler: pod %s: negative overhead", spec->name);
    for (size_t i = 0; i < spec->ncontainers; i++) {
        const struct ks_sched_container *c = &spec->containers[i];
        if ((rc = container_requests(r, c, spec->name)))
            return rc;
        for (int k = 0; k < 4; k++)
            sum[k] += r[k];
        if (c->image && *c->image) {
            if ((rc = ks_sched_image_intern(&p->images[p->nimages], s, c->image)))
                return rc;
            p->nimages++;
        }
    }
    for (size_t i = 0; i < spec->ninit_containers; i++) {
        if ((rc = container_requests(r, &spec->init_containers[i], spec->name)))
            return rc;
        for (int k = 0; k < 4; k++)
            sum[k] = r[k] > sum[k] ? r[k] : sum[k];
    }
    p->cpu = sum[0] + spec->overhead_cpu_milli;
    p->mem = sum[1] + spec->overhead_memory;
    p->nz_cpu = sum[2] + spec->overhead_cpu_milli;
    p->nz_mem = sum[3] + spec->overhead_memory;
    return 0;
}

static int compile_tolerations(struct ks_sched *s, struct spod *p,
                               const struct ks_sched_pod_spec *spec)
{
    int rc = check_count(spec->ntolerations, "tolerations");
    if (rc || !(p->tols = alloc_items(spec->ntolerations, sizeof(*p->tols), &rc)))
        return rc;
    for (size_t i = 0; i < spec->ntolerations; i++) {
        const struct ks_sched_toleration *t = &spec->tolerations[i];
        struct stol *o = &p->tols[i];
        if ((unsigned)t->effect > KS_SCHED_EFFECT_NO_EXECUTE)
            return ks_error_set(KS_EINVALID, "scheduler: toleration %zu has an invalid effect", i);
        if ((!t->key || !*t->key) && !t->exists)
            return ks_error_set(
                KS_EINVALID, "scheduler: toleration %zu has an empty key: operator must be Exists",
                i);
        if (t->key && *t->key && (rc = ks_sched_strtab_intern(&o->key, &s->st, t->key)))
            return rc;
        if ((rc = intern_opt(&o->value, s, t->value)))
            return rc;
        o->exists = t->exists;
        o->effect = (uint8_t)t->effect;
        p->ntols++;
    }
    return 0;
}

static int compile_ports(struct ks_sched *s, struct spod *p, const struct ks_sched_pod_spec *spec)
{
    int rc = check_count(spec->nports, "ports");
    if (rc || !(p->ports = alloc_items(spec->nports, sizeof(*p->ports), &rc)))
        return rc;
    for (size_t i = 0; i < spec->nports; i++) {
        const struct ks_sched_port *in = &spec->ports[i];
        if (in->host_port <= 0)
            continue;
        if (in->host_port > 65535)
            return ks_error_set(KS_EINVALID, "scheduler: hostPort %d out of range", in->host_port);
        struct sport *o = &p->ports[p->nports];
        if ((rc = ks_sched_strtab_intern(&o->proto, &s->st, in->protocol ? in->protocol : "TCP")))
            return rc;
        bool any = !in->host_ip || !*in->host_ip || strcmp(in->host_ip, "0.0.0.0") == 0;
        if (!any && (rc = ks_sched_strtab_intern(&o->ip, &s->st, in->host_ip)))
            return rc;
        o->port = in->host_port;
        p->nports++;
    }
    return 0;
}

static int compile_pod_terms(uint32_t **out, uint32_t *nout, struct ks_sched *s, struct spod *p,
                             const struct ks_sched_pod_term *in, size_t n)
{
    int rc = check_count(n, "pod affinity terms");
    if (rc || !(*out = alloc_items(n, sizeof(uint32_t), &rc)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint32_t key, slot, ns[KS_SCHED_MAX_ITEMS];
        size_t nns = in[i].nnamespaces;
        if (!in[i].topology_key || !*in[i].topology_key)
            return ks_error_set(KS_EINVALID, "scheduler: pod affinity term without topologyKey");
        if ((rc = check_count(nns, "namespaces")) ||
            (rc = ks_sched_strtab_intern(&key, &s->st, in[i].topology_key)) ||
            (rc = ks_sched_slot_get(&slot, s, key)))
            return rc;
        for (size_t j = 0; j < nns; j++)
            if ((rc = intern_opt(&ns[j], s, in[i].namespaces[j])))
                return rc;
        if (!nns) {
            ns[0] = p->ns;
            nns = 1;
        }
        if ((rc = ks_sched_term_intern(&(*out)[i], s, &in[i].selector, 0, slot, ns, (uint32_t)nns)))
            return rc;
        (*nout)++;
    }
    return 0;
}

static int compile_pref_terms(struct ks_sched *s, struct spod *p,
                              const struct ks_sched_pod_spec *spec)
{
    size_t n = spec->npreferred_affinity + spec->npreferred_anti_affinity;
    int rc = check_count(n, "preferred pod affinity terms");
    if (rc || !(p->pterms = alloc_items(n, sizeof(*p->pterms), &rc)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        bool anti = i >= spec->npreferred_affinity;
        const struct ks_sched_weighted_pod_term *w =
            anti ? &spec->preferred_anti_affinity[i - spec->npreferred_affinity]
                 : &spec->preferred_affinity[i];
        uint32_t *ids = NULL, nids = 0;
        if (w->weight < 1 || w->weight > 100)
            return ks_error_set(KS_EINVALID, "scheduler: pod affinity weight %d not in 1..100",
                                w->weight);
        rc = compile_pod_terms(&ids, &nids, s, p, &w->term, 1);
        if (nids)
            p->pterms[p->npterms++] = (struct wterm){ids[0], anti ? -w->weight : w->weight};
        free(ids);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_spread(struct ks_sched *s, struct spod *p, const struct ks_sched_selector *sel,
                      uint32_t owner, const char *key_name, int32_t max_skew, bool hard)
{
    uint32_t key, slot, t;
    int rc;
    if (max_skew < 1)
        return ks_error_set(KS_EINVALID, "scheduler: maxSkew must be at least 1, got %d", max_skew);
    if (!key_name || !*key_name)
        return ks_error_set(KS_EINVALID,
                            "scheduler: topology spread constraint without topologyKey");
    if ((rc = ks_sched_strtab_intern(&key, &s->st, key_name)) ||
        (rc = ks_sched_slot_get(&slot, s, key)) ||
        (rc = ks_sched_term_intern(&t, s, sel, owner, slot, &p->ns, 1)))
        return rc;
    struct sspread *o = &p->spread[p->nspread++];
    o->term = t;
    o->max_skew = max_skew;
    o->hard = hard;
    return 0;
}

static int compile_spread(struct ks_sched *s, struct spod *p, const struct ks_sched_pod_spec *spec)
{
    int rc = check_count(spec->nspread, "topology spread constraints");
    bool sys = !spec->nspread && p->owner && !s->cfg.no_default_spread;
    size_t n = sys ? 2 : spec->nspread;
    if (rc || !(p->spread = alloc_items(n, sizeof(*p->spread), &rc)))
        return rc;
    if (sys) {
        /* kube-scheduler's system defaults, selecting the pod's siblings */
        struct ks_sched_selector none = {0};
        p->sys_spread = true;
        if ((rc = add_spread(s, p, &none, p->owner, KS_SCHED_HOSTNAME_KEY, 3, false)))
            return rc;
        return add_spread(s, p, &none, p->owner, KS_SCHED_ZONE_KEY, 5, false);
    }
    for (size_t i = 0; i < n; i++) {
        const struct ks_sched_spread *c = &spec->spread[i];
        if ((rc = add_spread(s, p, &c->selector, 0, c->topology_key, c->max_skew, c->hard)))
            return rc;
    }
    return 0;
}

int ks_sched_podspec_compile(struct ks_sched *s, struct spod *p,
                             const struct ks_sched_pod_spec *spec)
{
    int rc = 0;
    if (!spec->name || !*spec->name)
        return ks_error_set(KS_EINVALID, "scheduler: pod without a name");
    p->node = -1;
    p->priority = spec->priority;
    p->grace = spec->grace_seconds < 0 ? 30 : spec->grace_seconds;
    if ((rc = ks_sched_strtab_intern(&p->name, &s->st, spec->name)) ||
        (rc = ks_sched_strtab_intern(
             &p->ns, &s->st, spec->namespace_ && *spec->namespace_ ? spec->namespace_ : "default")))
        goto done;
    if (spec->owner_uid && *spec->owner_uid &&
        (rc = ks_sched_strtab_intern(&p->owner, &s->st, spec->owner_uid)))
        goto done;
    if ((rc = compile_containers(s, p, spec)) ||
        (rc = ks_sched_kvs_compile(&p->labels, &p->nlabels, s, spec->labels, spec->nlabels,
                                   "labels")) ||
        (rc = ks_sched_kvs_compile(&p->nodesel, &p->nnodesel, s, spec->node_selector,
                                   spec->nnode_selector, "nodeSelector")))
        goto done;
    if ((rc = check_count(spec->nrequired, "node selector terms")) ||
        (rc = check_count(spec->npreferred, "preferred terms")))
        goto done;
    if (spec->nrequired && !(p->req = alloc_items(spec->nrequired, sizeof(*p->req), &rc)))
        goto done;
    for (size_t i = 0; i < spec->nrequired; i++) {
        p->nreq++;
        if ((rc = compile_nterm(s, &p->req[i], &spec->required[i])))
            goto done;
    }
    if ((rc = compile_pin(p)))
        goto done;
    if (spec->npreferred && !(p->pref = alloc_items(spec->npreferred, sizeof(*p->pref), &rc)))
        goto done;
    for (size_t i = 0; i < spec->npreferred; i++) {
        p->npref++;
        p->pref[i].weight = spec->preferred[i].weight;
        if ((rc = compile_nterm(s, &p->pref[i].t, &spec->preferred[i].term)))
            goto done;
    }
    if ((rc = compile_tolerations(s, p, spec)) || (rc = compile_ports(s, p, spec)) ||
        (rc = compile_pod_terms(&p->aff, &p->naff, s, p, spec->affinity, spec->naffinity)) ||
        (rc = compile_pod_terms(&p->anti, &p->nanti, s, p, spec->anti_affinity,
                                spec->nanti_affinity)) ||
        (rc = compile_pref_terms(s, p, spec)) || (rc = compile_spread(s, p, spec)))
        goto done;
    for (uint32_t i = 0; i < p->nspread; i++)
        p->spread[i].self_match = ks_sched_term_matches(s, s->terms[p->spread[i].term], p);
    rc = ks_sched_shape_intern(&p->shape, s, p);
done:
    return rc;
}

static void nterm_release(struct nterm *t)
{
    ks_sched_sreq_release(t->exprs, t->nexprs);
    ks_sched_sreq_release(t->fields, t->nfields);
}

void ks_sched_pod_release(struct ks_sched *s, struct spod *p)
{
    for (uint32_t i = 0; i < p->nreq; i++)
        nterm_release(&p->req[i]);
    for (uint32_t i = 0; i < p->npref; i++)
        nterm_release(&p->pref[i].t);
    for (uint32_t i = 0; i < p->naff; i++)
        ks_sched_term_unref(s, p->aff[i]);
    for (uint32_t i = 0; i < p->nanti; i++)
        ks_sched_term_unref(s, p->anti[i]);
    for (uint32_t i = 0; i < p->npterms; i++)
        ks_sched_term_unref(s, p->pterms[i].term);
    for (uint32_t i = 0; i < p->nspread; i++)
        ks_sched_term_unref(s, p->spread[i].term);
    free(p->labels);
    free(p->nodesel);
    free(p->req);
    free(p->pref);
    free(p->tols);
    free(p->aff);
    free(p->anti);
    free(p->pterms);
    free(p->spread);
    free(p->ports);
    free(p->images);
    free(p->pin);
    memset(p, 0, sizeof(*p));
}
