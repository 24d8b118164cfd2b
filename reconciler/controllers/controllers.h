/*
 * controllers.h: the workload controllers of the control plane.
 *
 * Desired objects land in the store from Git (ks_plan_apply); controllers
 * then derive objects from them as Kubernetes' controllers do: a Deployment
 * owns ReplicaSets (one per pod template, named <deploy>-<pod-template-hash>)
 * and a ReplicaSet owns Pods (named <rs>-<5 random chars>). Every controller
 * is a level-triggered reconcile of one object against the store: it reads
 * what exists, computes what should exist, and writes only differences, so
 * running it again with nothing changed writes nothing. Readiness of Pods
 * is read from pod status (conditions[type=Ready], written by node agents).
 *
 * Time and randomness are injected (struct ks_ctl_env) so that tests are
 * deterministic: the same seed gives the same pod names, the same clock
 * gives the same condition timestamps and availability decisions.
 *
 * Derived objects never carry keelson.io/source, so the planner never sees
 * them as managed (and never prunes them); they go away through garbage
 * collection when their owner goes away (ownerReferences by uid).
 */
#ifndef KS_RECONCILER_CONTROLLERS_H
#define KS_RECONCILER_CONTROLLERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/store/store.h"

/* Limits on what desired objects may ask for (KS_ELIMIT / status naming them). */
#define KS_CTL_MAX_REPLICAS 10000   /* spec.replicas of one Deployment/ReplicaSet */
#define KS_CTL_BURST 500            /* pods created or deleted by one ReplicaSet sync */
#define KS_CTL_MAX_STEPS 200        /* steps of ks_controllers_reconcile_all */
#define KS_CTL_MAX_GC_DEPTH 16      /* owner chains followed by one GC pass */
#define KS_CTL_DEFAULT_HISTORY 10   /* spec.revisionHistoryLimit default */
#define KS_CTL_DEFAULT_DEADLINE 600 /* spec.progressDeadlineSeconds default */

#define KS_LABEL_POD_TEMPLATE_HASH "pod-template-hash"
#define KS_ANNOTATION_REVISION "deployment.kubernetes.io/revision"
#define KS_ANNOTATION_DESIRED_REPLICAS "deployment.kubernetes.io/desired-replicas"
#define KS_ANNOTATION_MAX_REPLICAS "deployment.kubernetes.io/max-replicas"
/* The hash of the ConfigMap/Secret data a pod template uses (configmaps.c). */
#define KS_ANNOTATION_CONFIG_HASH "keelson.io/config-hash"
#define KS_ANNOTATION_RESTART_ON_CHANGE "keelson.io/restart-on-change"

/* A random source: returns 32 random bits; arg is the caller's state. */
typedef uint32_t (*ks_ctl_random_fn)(void *arg);

/* Deterministic generator (splitmix64) over a uint64_t seed/state at arg;
 * the default when env->random is NULL (then env->random_arg must point to
 * a uint64_t). Production callers seed it from the OS. */
uint32_t ks_ctl_random_splitmix(void *arg);

struct ks_ctl_env {
    int64_t now;             /* the clock: Unix seconds */
    ks_ctl_random_fn random; /* NULL = ks_ctl_random_splitmix */
    void *random_arg;        /* state for random */
};

/* One reconcile of one ReplicaSet (rs as read from the store): claims
 * matching orphan Pods, releases owned Pods that no longer match, creates or
 * deletes Pods (Kubernetes' ActivePods order: unscheduled, pending, not
 * ready, ... newest first) towards spec.replicas, and writes status
 * (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas with
 * minReadySeconds). *out_changed: whether anything was written. An invalid
 * spec is reported in status.conditions (ReplicaFailure) and is not an
 * error; errors are store failures. */
int ks_ctl_replicaset_reconcile(bool *out_changed, struct ks_store *store, const json_t *rs,
                                const struct ks_ctl_env *env);

/* One reconcile of one Deployment: finds or creates the ReplicaSet of the
 * current template, rolls (RollingUpdate with maxSurge/maxUnavailable, or
 * Recreate) only as far as availability allows, honours spec.paused, cleans
 * old ReplicaSets beyond revisionHistoryLimit once complete, and writes
 * status with Progressing/Available conditions (ProgressDeadlineExceeded
 * after progressDeadlineSeconds without progress, against env->now). */
int ks_ctl_deployment_reconcile(bool *out_changed, struct ks_store *store, const json_t *deploy,
                                const struct ks_ctl_env *env);

/* The pod-template-hash of a template (see docs/controllers.md): FNV-1a 32
 * over the template's canonical JSON (keys sorted, compact, without the
 * pod-template-hash label) followed, when collision_count > 0, by its 4
 * little-endian bytes; the decimal digits of the sum mapped into Kubernetes'
 * safe alphabet. dst gets at most 10 chars + NUL (cap >= 11). */
int ks_ctl_pod_template_hash(char *dst, size_t cap, const json_t *template_,
                             uint32_t collision_count);

/* Garbage collection: deletes every object whose ownerReferences name only
 * owners that no longer exist (matched by kind, namespace and uid), and
 * repeats on what that orphans, up to KS_CTL_MAX_GC_DEPTH rounds. */
int ks_ctl_gc_reconcile(bool *out_changed, struct ks_store *store);

/* Runs the ReplicaSet, Deployment and GC controllers over the whole store,
 * one store transaction per step, until a step changes nothing. *out_steps
 * (may be NULL): steps run, the last one being the quiet one. KS_ELIMIT
 * when KS_CTL_MAX_STEPS steps still changed something. */
int ks_controllers_reconcile_all(unsigned *out_steps, struct ks_store *store,
                                 const struct ks_ctl_env *env);

/* Health in Argo CD's vocabulary. */
enum ks_health_status {
    KS_HEALTH_HEALTHY,
    KS_HEALTH_PROGRESSING,
    KS_HEALTH_DEGRADED,
    KS_HEALTH_SUSPENDED,
    KS_HEALTH_MISSING,
    KS_HEALTH_UNKNOWN,
};

/* "Healthy", "Progressing", ... */
const char *ks_health_name(enum ks_health_status status);

/* Health of a Deployment, ReplicaSet or Pod as Argo CD judges it, with a
 * reason written into reason[cap] ("" when healthy without remark). obj
 * NULL is Missing; other kinds are Healthy ("no health check for kind").
 * reason may be NULL when cap is 0. */
enum ks_health_status ks_health_of(const json_t *obj, char *reason, size_t cap);

#endif
