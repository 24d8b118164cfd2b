/*
 * internal.h: the scheduler's private data model, shared by its files.
 *
 * Everything is compact and integer-keyed so the per-pod hot loop touches
 * no strings and allocates nothing: strings are interned to uint32 ids
 * (0 = absent), labels are (key, value) id pairs sorted by key, nodes and
 * pods live in arrays addressed by index. Pod affinity terms and spread
 * constraints are interned too ("terms"), and each term keeps incremental
 * per-node and per-topology-domain counts of the bound pods it matches, so
 * inter-pod rules cost O(1) per node instead of a scan of the pods.
 */
#ifndef KS_SCHEDULER_INTERNAL_H
#define KS_SCHEDULER_INTERNAL_H

#include "scheduler/scheduler.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_DEFAULT_MILLI_CPU 100                /* kube-scheduler's non-zero default */
#define SCHED_DEFAULT_MEMORY (200LL * 1024 * 1024) /* 200 MB as in kube-scheduler */
#define SCHED_MAX_SCORE 100

/* ---- interned strings (intern.c) ---- */
struct strtab {
    char **strs; /* id -> string; strs[0] unused */
    uint32_t n, cap;
    uint32_t *slots; /* open addressing, 0 = empty */
    uint32_t nslots;
};

/* u64 -> u32 map with linear probing and backward-shift deletion. */
struct u64map {
    uint64_t *keys;
    uint32_t *vals; /* value + 1; 0 = empty */
    uint32_t n, cap;
};

int ks_sched_strtab_intern(uint32_t *out, struct strtab *t, const char *s);
uint32_t ks_sched_strtab_find(const struct strtab *t, const char *s); /* 0 if absent */
void ks_sched_strtab_release(struct strtab *t);
int ks_sched_u64map_put(struct u64map *m, uint64_t key, uint32_t val);
bool ks_sched_u64map_get(const struct u64map *m, uint64_t key, uint32_t *val);
void ks_sched_u64map_del(struct u64map *m, uint64_t key);
void ks_sched_u64map_release(struct u64map *m);
/* Grows an array of elem-sized items so index need-1 fits; zero-fills. */
int ks_sched_grow_array(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* ---- compact objects ---- */
struct kv {
    uint32_t k, v;
};

struct sreq {
    uint32_t key;
    uint8_t op; /* enum ks_sched_op */
    uint32_t nvals;
    uint32_t *vals; /* interned values */
    int64_t num;    /* Gt/Lt operand */
};

struct nterm {
    struct sreq *exprs;
    uint32_t nexprs;
    struct sreq *fields; /* metadata.name only */
    uint32_t nfields;
};

struct pref {
    int32_t weight;
    struct nterm t;
};

struct stol {
    uint32_t key; /* 0 = any key */
    uint32_t value;
    bool exists;
    uint8_t effect;
};

struct staint {
    uint32_t key, value;
    uint8_t effect;
};

struct sport {
    uint32_t proto, ip; /* interned; ip 0 = any */
    int32_t port;
};

struct simage {
    uint32_t name;
    int64_t size;
};

struct wterm {
    uint32_t term;
    int32_t weight;
};

struct sspread {
    uint32_t term;
    int32_t max_skew;
    bool hard;
    bool self_match; /* the pod matches its own selector */
};

struct snode {
    /* first cache line: what the filter loop reads */
    uint32_t name;
    bool alive;
    bool unschedulable;
    uint32_t nprefer; /* PreferNoSchedule taints */
    uint32_t nhard;   /* NoSchedule + NoExecute taints */
    int64_t npods, alloc_pods, alloc_cpu, req_cpu, alloc_mem, req_mem;
    int64_t nz_cpu, nz_mem;
    uint32_t ver;      /* bumped on every change of the sums or the node */
    uint32_t sc_shape; /* memo of fit + balanced for pods of this shape at ver */
    uint32_t sc_ver;
    int32_t sc_val;
    struct kv *labels;
    uint32_t nlabels;
    struct staint *taints;
    uint32_t ntaints;
    struct simage *images;
    uint32_t nimages;
    struct sport *ports;
    uint32_t nports, capports;
    uint32_t *pods;
    uint32_t npodl, cappodl;
    uint32_t order_pos;
    uint64_t seq; /* arrival order */
};

struct spod {
    bool alive;
    uint32_t ns, name, owner;
    int32_t node; /* -1 pending */
    uint32_t node_pos;
    int32_t priority;
    int64_t grace;
    int64_t cpu, mem, nz_cpu, nz_mem;
    uint32_t shape; /* interned (cpu, mem, nz_cpu, nz_mem); 0 = not memoised */
    struct kv *labels;
    uint32_t nlabels;
    struct kv *nodesel;
    uint32_t nnodesel;
    struct nterm *req;
    uint32_t nreq;
    struct pref *pref;
    uint32_t npref;
    struct stol *tols;
    uint32_t ntols;
    uint32_t *aff;
    uint32_t naff;
    uint32_t *anti;
    uint32_t nanti;
    struct wterm *pterms; /* preferred affinity (weight > 0) and anti-affinity (< 0) */
    uint32_t npterms;
    struct sspread *spread;
    uint32_t nspread;
    bool sys_spread; /* spread[] are the system defaults (owner spreading) */
    struct sport *ports;
    uint32_t nports;
    uint32_t *images;
    uint32_t nimages;
    uint32_t *pin; /* node names allowed by matchFields metadata.name; NULL = any */
    uint32_t npin;
};

/* A topology key in use: node -> dense domain index. */
struct keyslot {
    uint32_t key;
    int32_t *node_dom; /* per node slot, -1 = label missing */
    int32_t *val_dom;  /* per string id, -1 = none */
    uint32_t val_cap;
    uint32_t ndom, dom_cap;
    int32_t *dom_nodes; /* live nodes per domain */
    uint32_t nodes_with_key;
};

/* An interned pod-matching rule: selector (or owner) + namespaces + key. */
struct term {
    uint32_t refs;
    uint32_t slot;
    uint32_t owner; /* != 0: matches pods with this owner instead of a selector */
    bool nothing;   /* null selector */
    struct sreq *sel;
    uint32_t nsel;
    uint32_t *ns; /* sorted */
    uint32_t nns;
    uint64_t hash;
    uint32_t sel_pos;  /* index in ks_sched.sel_terms (selector terms only) */
    int32_t *node_cnt; /* matching bound pods per node slot */
    int32_t *dom_cnt;  /* ... per domain of slot */
    int32_t *dom_own;  /* bound pods owning this as required anti-affinity, per domain */
    int32_t *dom_pref; /* weights of bound pods preferring this (required affinity: 1) */
    int64_t total, own_total, pref_owners;
    uint32_t dom_cap;
};

/* Filter failure codes, in kube-scheduler's message wording (explain.c). */
enum fail_code {
    F_OK = 0,
    F_UNSCHEDULABLE,
    F_PREFILTER_AFFINITY, /* excluded by DaemonSet pinning */
    F_TAINT,              /* arg = key << 32 | value */
    F_NODE_AFFINITY,
    F_PORTS,
    F_FIT, /* arg bits: 1 pods, 2 cpu, 4 memory */
    F_SPREAD_LABEL,
    F_SPREAD,
    F_AFFINITY,
    F_ANTI,
    F_ANTI_EXISTING,
    F_NCODES,
};

struct reason {
    uint8_t code;
    uint64_t arg;
    uint32_t count;
};

/* Per-pod state computed once before the node loop (kube's PreFilter). */
struct spread_state {
    const int32_t *cnt; /* per domain counts to use */
    int64_t min_match;
    bool any_domain;
};

/* A hard constraint flattened for the node loop: the node passes when it
 * has a domain and cnt[domain] <= limit (maxSkew + min - selfMatch). */
struct hard_spread {
    const int32_t *node_dom;
    const int32_t *cnt;
    int64_t limit;
};

struct cycle {
    struct spread_state *sp; /* per spread constraint of the pod */
    uint32_t sp_cap;
    struct hard_spread *hs;
    uint32_t nhs, hs_cap;
    uint32_t *anti_existing; /* terms whose anti-affinity owners reject the pod */
    uint32_t nanti_existing, anti_cap;
    uint32_t *pref_existing; /* terms preferred by bound pods that match the pod */
    uint32_t npref_existing, pref_cap;
    bool aff_self_ok; /* no pod matches the affinity terms but the pod matches all */
    bool aff_any;     /* some affinity term has matches somewhere */
    int32_t *scratch; /* eligible-node domain counts for the slow spread path */
    uint32_t scratch_cap;
    int32_t *soft; /* the same for ScheduleAnyway constraints (scoring) */
    uint32_t soft_cap;
};

struct shape {
    int64_t cpu, mem, nz_cpu, nz_mem;
};

struct pclass {
    uint32_t name;
    int32_t value;
};

struct ks_sched {
    struct ks_sched_config cfg;
    struct strtab st;
    struct snode *nodes;
    uint32_t nnodes, node_cap; /* slots (dead included) */
    uint32_t *order;           /* live node slots in rotation order */
    uint32_t nlive;
    bool order_dirty; /* order must be rebuilt (node_order.c) */
    uint64_t node_seq;
    uint32_t *free_nodes;
    uint32_t nfree_nodes, free_nodes_cap;
    int32_t *node_by_name; /* per string id, -1 = none */
    uint32_t node_by_name_cap;
    struct spod *pods;
    uint32_t npods, pod_cap;
    uint32_t *free_pods;
    uint32_t nfree_pods, free_pods_cap;
    struct u64map pod_by_key;
    struct keyslot *slots;
    uint32_t nslots, slot_cap;
    struct term **terms;
    uint32_t nterms, term_cap;
    /* Selector terms are scanned on every bind; owner terms (one pair per
     * controller, from the default spreading) are looked up by owner and
     * slot instead, so thousands of Deployments cost nothing per bind. */
    uint32_t *sel_terms;
    uint32_t nsel_terms, sel_terms_cap;
    struct u64map owner_terms;  /* owner << 32 | slot -> term */
    struct u64map term_by_hash; /* content hash -> a term with it */
    struct shape *shapes;       /* request shapes, id = index + 1 */
    uint32_t nshapes, shape_cap;
    struct u64map shape_by_hash;
    struct pclass *pclasses;
    uint32_t npclasses, pclass_cap;
    int32_t *image_nodes; /* per string id: live nodes reporting the image */
    uint32_t image_cap;
    uint32_t nodes_with_images;
    uint64_t rng;
    uint32_t next_start;
    uint32_t hostname_key, zone_key, region_key, metadata_name, proto_tcp, unsched_key, empty;
    /* scratch for one cycle */
    uint32_t *feasible;
    int64_t *raw[KS_SCHED_NSCORES];
    int64_t *total;
    uint8_t *fail; /* per node slot, last cycle's failure code */
    uint32_t scratch_cap;
    struct reason *reasons;
    uint32_t nreasons, reasons_cap;
    struct cycle cy;
};

/* intern.c helpers on sorted label sets */
uint32_t ks_sched_labels_get(const struct kv *l, uint32_t n, uint32_t key);
bool ks_sched_sreq_match_labels(const struct ks_sched *s, const struct sreq *r, const struct kv *l,
                                uint32_t n);
uint64_t ks_sched_rand(struct ks_sched *s);

/* cache.c */
int ks_sched_cache_bind(struct ks_sched *s, uint32_t pod, uint32_t node);
void ks_sched_cache_unbind(struct ks_sched *s, uint32_t pod);
void ks_sched_pod_release(struct ks_sched *s, struct spod *p);

/* pod_spec.c */
int ks_sched_kvs_compile(struct kv **out, uint32_t *nout, struct ks_sched *s,
                         const struct ks_sched_kv *in, size_t n, const char *what);
int ks_sched_image_intern(uint32_t *out, struct ks_sched *s, const char *image);
int ks_sched_podspec_compile(struct ks_sched *s, struct spod *p,
                             const struct ks_sched_pod_spec *spec);
int ks_sched_sreq_compile(struct ks_sched *s, struct sreq *out, const struct ks_sched_req *r,
                          bool node);
void ks_sched_sreq_release(struct sreq *r, uint32_t n);

/* topology.c */
int ks_sched_slot_get(uint32_t *out, struct ks_sched *s, uint32_t key);
int ks_sched_slots_node_changed(bool *changed, struct ks_sched *s, uint32_t node);
void ks_sched_slots_node_removed(struct ks_sched *s, uint32_t node);
int ks_sched_term_intern(uint32_t *out, struct ks_sched *s, const struct ks_sched_selector *sel,
                         uint32_t owner, uint32_t slot, uint32_t *ns, uint32_t nns);
void ks_sched_term_unref(struct ks_sched *s, uint32_t term);
void ks_sched_terms_release(struct ks_sched *s);
bool ks_sched_term_matches(const struct ks_sched *s, const struct term *t, const struct spod *p);
void ks_sched_terms_pod_bound(struct ks_sched *s, uint32_t pod, int delta);
int ks_sched_terms_recount(struct ks_sched *s);
int ks_sched_topology_grow_nodes(struct ks_sched *s, uint32_t old_cap);

static inline int32_t node_dom(const struct ks_sched *s, uint32_t slot, uint32_t node)
{
    return s->slots[slot].node_dom[node];
}

/* filters_node.c */
int ks_sched_filter_unschedulable(const struct ks_sched *s, const struct snode *n,
                                  const struct spod *p);
int ks_sched_filter_taints(const struct snode *n, const struct spod *p, uint64_t *arg);
bool ks_sched_tolerates(const struct stol *t, const struct staint *x);
bool ks_sched_node_affinity_match(const struct ks_sched *s, const struct snode *n,
                                  const struct spod *p);
bool ks_sched_nterm_match(const struct ks_sched *s, const struct snode *n, const struct nterm *t);
bool ks_sched_ports_conflict(const struct snode *n, const struct spod *p);
uint64_t ks_sched_fit_insufficient(const struct snode *n, const struct spod *p);

/* filters_pod.c */
int ks_sched_prefilter_pod(struct ks_sched *s, const struct spod *p);
bool ks_sched_pod_has_node_constraints(const struct spod *p);
int ks_sched_filter_interpod(const struct ks_sched *s, const struct spod *p, uint32_t node);
int ks_sched_filter_spread(const struct ks_sched *s, const struct spod *p, uint32_t node);

/* node_order.c */
uint64_t ks_sched_node_zone_key(const struct ks_sched *s, const struct snode *n);
int ks_sched_order_rebuild(struct ks_sched *s);

/* schedule.c */
int ks_sched_filter_node(struct ks_sched *s, const struct spod *p, uint32_t node, uint64_t *arg);
int ks_sched_scratch_reserve(struct ks_sched *s);

/* scores_*.c: raw scores of the feasible nodes into s->raw[which] */
void ks_sched_score_resources(struct ks_sched *s, const struct spod *p, uint32_t n);
#define SCHED_MAX_SHAPES 65536
int ks_sched_shape_intern(uint32_t *out, struct ks_sched *s, const struct spod *p);
void ks_sched_score_resources_node(int64_t *fit, int64_t *bal, const struct snode *n,
                                   const struct spod *p);
bool ks_sched_score_taints(struct ks_sched *s, const struct spod *p, uint32_t n);
bool ks_sched_score_node_affinity(struct ks_sched *s, const struct spod *p, uint32_t n);
int ks_sched_score_spread(bool *on, struct ks_sched *s, const struct spod *p, uint32_t n);
bool ks_sched_score_images(struct ks_sched *s, const struct spod *p, uint32_t n);
bool ks_sched_score_interpod(struct ks_sched *s, const struct spod *p, uint32_t n);
void ks_sched_normalize_default(int64_t *sc, uint32_t n, bool reverse);

/* explain.c */
int ks_sched_reason_add(struct ks_sched *s, uint8_t code, uint64_t arg, uint32_t count);
int ks_sched_explain_fit_error(struct ks_sched_result *r, struct ks_sched *s, uint32_t total,
                               const char *postfilter);
int ks_sched_explain_reason_text(char *dst, size_t cap, const struct ks_sched *s,
                                 const struct reason *r);

int ks_sched_explain_preemption(char **out, uint32_t total, uint32_t no_victims,
                                uint32_t not_helpful);

/* preempt.c */
int ks_sched_preempt_find(struct ks_sched_result *out, struct ks_sched *s, uint32_t pod,
                          char **msg);

#endif
