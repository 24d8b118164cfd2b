/*
 * scheduler.h: keelson's pod scheduler, a pure library (no I/O).
 *
 * It reproduces kube-scheduler's default profile on compact C structures:
 * a node cache updated incrementally, the default filters (NodeUnschedulable,
 * NodeName/DaemonSet pinning, TaintToleration, NodeAffinity + nodeSelector,
 * NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity) and
 * scores with the default weights, kube-scheduler's node sampling
 * (percentageOfNodesToScore) with a deterministic rotation, seeded
 * tie-breaking, preemption by priority and a batch mode.
 *
 * Objects come in either as the plain descriptions below (all strings
 * borrowed for the duration of the call; everything is copied and interned)
 * or as Kubernetes-shaped JSON (ks_sched_node_set_json / ks_sched_pod_add_json).
 * Pods are referred to by a uint32_t id returned when they are added.
 * Not thread-safe: one scheduler belongs to one thread at a time.
 */
#ifndef KS_SCHEDULER_SCHEDULER_H
#define KS_SCHEDULER_SCHEDULER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what one object may carry (KS_ELIMIT names the one hit). */
#define KS_SCHED_MAX_NODES 100000
#define KS_SCHED_MAX_PODS 2000000
#define KS_SCHED_MAX_ITEMS 256 /* labels, taints, tolerations, terms, values, ports, containers */
#define KS_SCHED_MAX_STRING 1024
#define KS_SCHED_MAX_IMAGES 4096 /* images reported by one node */

#define KS_SCHED_HOSTNAME_KEY "kubernetes.io/hostname"
#define KS_SCHED_ZONE_KEY "topology.kubernetes.io/zone"

enum ks_sched_op {
    KS_SCHED_OP_IN = 0,
    KS_SCHED_OP_NOT_IN,
    KS_SCHED_OP_EXISTS,
    KS_SCHED_OP_DOES_NOT_EXIST,
    KS_SCHED_OP_GT,
    KS_SCHED_OP_LT,
};

/* Taint effects; on a toleration KS_SCHED_EFFECT_ANY (empty) matches all. */
enum ks_sched_effect {
    KS_SCHED_EFFECT_ANY = 0,
    KS_SCHED_EFFECT_NO_SCHEDULE,
    KS_SCHED_EFFECT_PREFER_NO_SCHEDULE,
    KS_SCHED_EFFECT_NO_EXECUTE,
};

struct ks_sched_kv {
    const char *key;
    const char *value;
};

struct ks_sched_taint {
    const char *key;
    const char *value; /* NULL = "" */
    enum ks_sched_effect effect;
};

struct ks_sched_image {
    const char *name; /* one entry per name a node reports for an image */
    int64_t size;     /* bytes */
};

struct ks_sched_node_spec {
    const char *name;
    int64_t cpu_milli; /* status.allocatable */
    int64_t memory;    /* bytes */
    int64_t pods;
    bool unschedulable;
    const struct ks_sched_kv *labels;
    size_t nlabels;
    const struct ks_sched_taint *taints;
    size_t ntaints;
    const struct ks_sched_image *images;
    size_t nimages;
};

/* A matchExpression (node selector or label selector). Gt/Lt take one
 * integer value. */
struct ks_sched_req {
    const char *key;
    enum ks_sched_op op;
    const char *const *values;
    size_t nvalues;
};

/* A nodeSelectorTerm: all expressions and fields must hold. The only field
 * Kubernetes allows is metadata.name (DaemonSet pinning). */
struct ks_sched_node_term {
    const struct ks_sched_req *exprs;
    size_t nexprs;
    const struct ks_sched_req *fields;
    size_t nfields;
};

struct ks_sched_pref_term {
    int32_t weight; /* 1..100 */
    struct ks_sched_node_term term;
};

struct ks_sched_toleration {
    const char *key; /* NULL or "" = every key (only with exists) */
    bool exists;     /* operator Exists; else Equal */
    const char *value;
    enum ks_sched_effect effect;
};

/* A LabelSelector: matchLabels and matchExpressions (In/NotIn/Exists/
 * DoesNotExist). */
struct ks_sched_selector {
    bool nothing; /* a null labelSelector: matches no pod */
    const struct ks_sched_kv *match_labels;
    size_t nmatch_labels;
    const struct ks_sched_req *exprs;
    size_t nexprs;
};

/* A required pod (anti-)affinity term. No namespaces = the pod's own. */
struct ks_sched_pod_term {
    struct ks_sched_selector selector;
    const char *topology_key;
    const char *const *namespaces;
    size_t nnamespaces;
};

struct ks_sched_weighted_pod_term {
    int32_t weight; /* 1..100 */
    struct ks_sched_pod_term term;
};

struct ks_sched_spread {
    int32_t max_skew;
    const char *topology_key;
    bool hard; /* whenUnsatisfiable: DoNotSchedule (true) or ScheduleAnyway */
    struct ks_sched_selector selector;
};

struct ks_sched_port {
    int32_t host_port;
    const char *protocol; /* NULL = TCP */
    const char *host_ip;  /* NULL or "" = 0.0.0.0 */
};

struct ks_sched_container {
    bool has_cpu, has_memory; /* request present (an explicit 0 stays 0) */
    int64_t cpu_milli, memory;
    const char *image;
};

struct ks_sched_pod_spec {
    const char *namespace_; /* NULL = "default" */
    const char *name;
    const char *owner_uid; /* controller ownerReference uid, or NULL */
    const char *node_name; /* spec.nodeName: already bound there */
    int32_t priority;
    int64_t grace_seconds; /* terminationGracePeriodSeconds; < 0 = default 30 */
    const struct ks_sched_container *containers;
    size_t ncontainers;
    /* Init containers run one at a time: the pod needs the larger of the
     * containers' sum and the largest init container (per resource). */
    const struct ks_sched_container *init_containers;
    size_t ninit_containers;
    int64_t overhead_cpu_milli, overhead_memory; /* spec.overhead, added to the requests */
    const struct ks_sched_kv *labels;
    size_t nlabels;
    const struct ks_sched_kv *node_selector;
    size_t nnode_selector;
    const struct ks_sched_node_term *required; /* ORed terms */
    size_t nrequired;
    const struct ks_sched_pref_term *preferred;
    size_t npreferred;
    const struct ks_sched_toleration *tolerations;
    size_t ntolerations;
    const struct ks_sched_pod_term *affinity;
    size_t naffinity;
    const struct ks_sched_pod_term *anti_affinity;
    size_t nanti_affinity;
    const struct ks_sched_weighted_pod_term *preferred_affinity;
    size_t npreferred_affinity;
    const struct ks_sched_weighted_pod_term *preferred_anti_affinity;
    size_t npreferred_anti_affinity;
    const struct ks_sched_spread *spread;
    size_t nspread;
    const struct ks_sched_port *ports;
    size_t nports;
};

struct ks_sched_config {
    uint64_t seed;                    /* tie-breaks; same seed + input = same placements */
    int percentage_of_nodes_to_score; /* 0 = adaptive (50 - nodes/125, floor 5) */
    bool no_default_spread;           /* disable the system default spreading by owner */
};

struct ks_sched;

int ks_sched_new(struct ks_sched **out, const struct ks_sched_config *cfg);
void ks_sched_free(struct ks_sched *s);

/* Adds a node or replaces the description of the node with that name
 * (its pods stay bound). */
int ks_sched_node_set(struct ks_sched *s, const struct ks_sched_node_spec *spec);
/* Removes a node; its pods become pending. KS_ENOTFOUND if unknown. */
int ks_sched_node_remove(struct ks_sched *s, const char *name);
size_t ks_sched_node_count(const struct ks_sched *s);

/* Priority classes: name -> value (spec.priorityClassName). */
int ks_sched_priority_class_set(struct ks_sched *s, const char *name, int32_t value);

/* Adds a pod; bound at once if spec->node_name names a known node
 * (KS_ENOTFOUND if it names no node). *out is the pod's id. A pod with the
 * same namespace/name is KS_ECONFLICT. */
int ks_sched_pod_add(uint32_t *out, struct ks_sched *s, const struct ks_sched_pod_spec *spec);
/* Deletes a pod (unbinding it). */
int ks_sched_pod_remove(struct ks_sched *s, uint32_t pod);
/* Takes a pod off its node; it becomes pending again. */
int ks_sched_pod_unbind(struct ks_sched *s, uint32_t pod);
/* Binds a pending pod to a node without checks (an existing binding). */
int ks_sched_pod_bind(struct ks_sched *s, uint32_t pod, const char *node);
int ks_sched_pod_find(uint32_t *out, const struct ks_sched *s, const char *ns, const char *name);
/* Borrowed names, valid while the pod exists; node is NULL when pending. */
const char *ks_sched_pod_name(const struct ks_sched *s, uint32_t pod);
const char *ks_sched_pod_namespace(const struct ks_sched *s, uint32_t pod);
const char *ks_sched_pod_node(const struct ks_sched *s, uint32_t pod);

/* Score plugins, in the order of kube-scheduler's default profile. */
enum ks_sched_score {
    KS_SCHED_SCORE_TAINT = 0,
    KS_SCHED_SCORE_NODE_AFFINITY,
    KS_SCHED_SCORE_FIT,
    KS_SCHED_SCORE_SPREAD,
    KS_SCHED_SCORE_BALANCED,
    KS_SCHED_SCORE_IMAGE,
    KS_SCHED_SCORE_INTERPOD, /* preferred pod (anti-)affinity */
    KS_SCHED_NSCORES,
};
/* "TaintToleration", "NodeAffinity", ... */
const char *ks_sched_score_name(enum ks_sched_score which);
/* Default weights: 3, 2, 1, 2, 1, 1, 2. */
int ks_sched_score_weight(enum ks_sched_score which);

enum ks_sched_status {
    KS_SCHED_BOUND = 0, /* placed on node */
    KS_SCHED_UNSCHEDULABLE,
    KS_SCHED_NOMINATED, /* fits on node once the victims are gone */
};

struct ks_sched_victim {
    uint32_t pod;
    int32_t priority;
    int64_t grace_seconds;
};

struct ks_sched_result {
    enum ks_sched_status status;
    uint32_t pod;
    const char *node;                 /* borrowed from the scheduler; NULL when unschedulable */
    int64_t score;                    /* weighted total of the winner */
    int64_t scores[KS_SCHED_NSCORES]; /* weighted, per plugin */
    uint32_t nodes_total, nodes_evaluated, nodes_feasible;
    char *message;                   /* unschedulable: kube-scheduler's FitError text; else NULL */
    struct ks_sched_victim *victims; /* NOMINATED: pods to evict */
    size_t nvictims;
};

/* Frees message and victims (the struct itself is the caller's). */
void ks_sched_result_release(struct ks_sched_result *r);

/* Schedules one pending pod. On success the pod is bound (assumed) to the
 * chosen node. When no node fits, *out says why (status UNSCHEDULABLE and
 * message); with preempt, it also looks for victims and, if found, returns
 * NOMINATED with the node and victims without evicting anything.
 * Returns 0 in all three cases; negative only on errors. */
int ks_sched_schedule(struct ks_sched_result *out, struct ks_sched *s, uint32_t pod, bool preempt);

/* Places a set of pending pods in kube-scheduler's queue order (higher
 * priority first, then the given order). With preempt, nominated pods get
 * their victims unbound and are bound in the same pass (what a dry-run plan
 * shows). out has n entries, in the order of pods. */
int ks_sched_batch(struct ks_sched_result *out, struct ks_sched *s, const uint32_t *pods, size_t n,
                   bool preempt);

/* {"pod": "ns/name", "status": "bound|unschedulable|nominated", "node": ...,
 *  "score": ..., "scores": {"TaintToleration": ..}, "nodes": {"total", "evaluated",
 *  "feasible"}, "message": ..., "victims": [{"pod", "priority",
 *  "gracePeriodSeconds"}]}. New reference, NULL on allocation failure. */
json_t *ks_sched_result_to_json(const struct ks_sched *s, const struct ks_sched_result *r);

/* A batch for the plan output: {"bound": n, "nominated": n,
 * "unschedulable": n, "placements": [result, ...]} in the order of r.
 * New reference, NULL on allocation failure. */
json_t *ks_sched_batch_to_json(const struct ks_sched *s, const struct ks_sched_result *r, size_t n);

/* JSON adapters: Kubernetes Node and Pod objects. */
int ks_sched_node_set_json(struct ks_sched *s, const json_t *node);
int ks_sched_pod_add_json(uint32_t *out, struct ks_sched *s, const json_t *pod);

#endif
