/*
 * internal.h: helpers shared by the controllers (not installed): RFC 3339
 * time, int-or-percent fields, JSON field access with defaults, pod
 * readiness, owner references, writing only what changed, and claiming
 * (adopting/releasing) dependents the way Kubernetes' ControllerRefManager
 * does.
 */
#ifndef KS_RECONCILER_CONTROLLERS_INTERNAL_H
#define KS_RECONCILER_CONTROLLERS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/labels.h"
#include "reconciler/controllers/controllers.h"

#define KS_CTL_TIME_LEN 32

/* Proleptic Gregorian civil dates <-> days since 1970-01-01. */
int64_t ks_ctl_days_from_civil(int64_t y, int64_t m, int64_t d);
void ks_ctl_civil_from_days(int64_t days, int *out_y, int *out_m, int *out_d);

/* "2026-11-22T04:40:00Z" into dst[KS_CTL_TIME_LEN]; returns dst. */
char *ks_ctl_time_format(char *dst, int64_t t);
/* RFC 3339 ("...Z" or "...+hh:mm", fraction ignored) to Unix seconds. */
int ks_ctl_time_parse(int64_t *out, const char *s);

uint32_t ks_ctl_random(const struct ks_ctl_env *env);
/* A UUID-v4-shaped uid from env's random source into dst[37]. */
void ks_ctl_new_uid(char *dst, const struct ks_ctl_env *env);

/* Field access: NULL / default when absent or of another type. */
json_t *ks_ctl_at(const json_t *obj, const char *a, const char *b);
const char *ks_ctl_str(const json_t *obj, const char *a, const char *b);
const char *ks_ctl_name(const json_t *obj);
const char *ks_ctl_namespace(const json_t *obj);
const char *ks_ctl_uid(const json_t *obj);
/* Integer at obj.a.b, def when absent; KS_EINVALID (naming a.b) when not a
 * non-negative integer or above max. */
int ks_ctl_int(int64_t *out, const json_t *obj, const char *a, const char *b, int64_t def,
               int64_t max);
/* Sets obj.a (created as an object if needed).b = value (reference stolen). */
void ks_ctl_set(json_t *obj, const char *a, const char *b, json_t *value);

/* An int or a "N%" string resolved against total (round up or down), as
 * intstr.GetScaledValueFromIntOrPercent. what names the field in errors. */
int ks_ctl_int_or_percent(int64_t *out, const json_t *v, int64_t total, bool round_up,
                          const char *what);

/* Pods. */
bool ks_ctl_pod_active(const json_t *pod); /* not Succeeded/Failed */
bool ks_ctl_pod_ready(const json_t *pod);  /* conditions[Ready] True */
/* Ready for more than min_ready seconds at now (IsPodAvailable). */
bool ks_ctl_pod_available(const json_t *pod, int64_t min_ready, int64_t now);
/* Ready since (Ready lastTransitionTime); 0 when unknown. */
int64_t ks_ctl_pod_ready_since(const json_t *pod);
int64_t ks_ctl_created(const json_t *obj); /* creationTimestamp, 0 when absent */

/* uid of obj's controller ownerReference, NULL when none. */
const char *ks_ctl_controller_uid(const json_t *obj);
/* New ownerReference naming owner as controller. */
json_t *ks_ctl_owner_ref(const json_t *owner);

/* Lists kind in namespace (*out new array). */
int ks_ctl_list(json_t **out, struct ks_store *store, const char *kind, const char *ns);
/* The same list for read-only walks: the items may be shared with the
 * store's cache and must not be modified (see ks_store_list_opts.shared). */
int ks_ctl_list_shared(json_t **out, struct ks_store *store, const char *kind, const char *ns);

/* Writes next when it differs from prev (prev NULL: create); next's
 * metadata.resourceVersion is updated to the new revision so that it can be
 * written again. Sets *changed when written. */
int ks_ctl_write(bool *changed, struct ks_store *store, const json_t *prev, json_t *next);
int ks_ctl_delete(bool *changed, struct ks_store *store, const json_t *obj);

/* Claims from candidates (same namespace, kind of dependents) those owned
 * by owner (controller uid) and still matching sel, adopts matching orphans
 * and releases owned non-matching ones (both written to the store; the
 * written versions replace their entries in candidates, so a list shared
 * by several owners within one step stays current). *out: new array of
 * references to the claimed entries of candidates. */
int ks_ctl_claim(json_t **out, bool *changed, struct ks_store *store, const json_t *owner,
                 const struct ks_selector *sel, json_t *candidates);

/* Removes item (by identity) from array; 0 when absent. */
int ks_ctl_array_remove(json_t *array, const json_t *item);
/* Replaces item (by identity) in array by a new reference to with. */
void ks_ctl_array_replace(json_t *array, const json_t *item, json_t *with);

/* ks_ctl_deployment_reconcile over replicasets, the namespace's
 * ReplicaSets shared by the step and kept current as above. */
int ks_ctl_deployment_sync(bool *out_changed, struct ks_store *store, const json_t *deploy,
                           const struct ks_ctl_env *env, json_t *replicasets);

/* ks_ctl_replicaset_reconcile over pods, the namespace's Pods as listed
 * at the start of the step and kept current by the controller (pods it
 * creates are appended, pods it deletes removed, pods it adopts or
 * releases replaced), so that the driver lists each namespace once per
 * step instead of once per ReplicaSet. */
int ks_ctl_replicaset_sync(bool *out_changed, struct ks_store *store, const json_t *rs,
                           const struct ks_ctl_env *env, json_t *pods);

/* Kubernetes' safe alphabet for generated names and hashes. */
extern const char ks_ctl_alphabet[];
#define KS_CTL_ALPHABET_LEN 27

/* ---- shared by the workload controllers (DaemonSet, StatefulSet, Job,
 * CronJob, endpoints) ---------------------------------------------------- */

/* The condition of type in a status.conditions array; NULL when absent. */
json_t *ks_ctl_condition(const json_t *conds, const char *type);
/* Sets (replacing) condition type on obj's status.conditions with
 * lastTransitionTime now, kept when the status does not change. */
void ks_ctl_condition_put(json_t *obj, const char *type, const char *status, const char *reason,
                          const char *message, int64_t now);
/* Removes condition type from obj's status.conditions. */
void ks_ctl_condition_del(json_t *obj, const char *type);

/* qsort comparator over json_t * objects: older creationTimestamp
 * first, then by name. */
int ks_ctl_by_creation(const void *pa, const void *pb);

/* metadata of a new object named name in owner's namespace: uid and
 * creationTimestamp from env, a controller reference to owner. */
json_t *ks_ctl_child_meta(const json_t *owner, const char *name, const struct ks_ctl_env *env);

/* metadata.deletionTimestamp is set (graceful deletion in progress). */
bool ks_ctl_pod_terminating(const json_t *pod);

/* A new Pod (caller owns it) named name, in owner's namespace, from
 * template tmpl (labels, annotations, spec), with a controller reference
 * to owner, a uid and creationTimestamp from env and status Pending.
 * generate_name may be NULL. */
json_t *ks_ctl_pod_new(const json_t *owner, const json_t *tmpl, const char *name,
                       const char *generate_name, const struct ks_ctl_env *env);
/* Writes the new pod and appends it to pods (the shared namespace list). */
int ks_ctl_pod_create(bool *changed, struct ks_store *store, json_t *pod, json_t *pods);
/* Deletes pod and removes it from pods. */
int ks_ctl_pod_remove(bool *changed, struct ks_store *store, const json_t *pod, json_t *pods);
/* A free generated name "<base>-<5 chars>" for kind in ns (Kubernetes'
 * SimpleNameGenerator; base cut to 58 characters). */
int ks_ctl_generate_name(char *dst, size_t cap, struct ks_store *store, const char *kind,
                         const char *ns, const char *base, const struct ks_ctl_env *env);

/* Writes obj with status replaced by st (reference stolen) when different. */
int ks_ctl_write_status(bool *changed, struct ks_store *store, const json_t *obj, json_t *st);

/* Appends an event {type, reason, message, object: {kind, namespace,
 * name, uid}, source: "controllers"} to the store's event records. */
int ks_ctl_event(struct ks_store *store, const json_t *obj, const char *type, const char *reason,
                 const char *message);

/* Parses spec.selector of obj (required, non-empty, matching the
 * template's labels); KS_EINVALID naming the problem. */
int ks_ctl_selector(struct ks_selector **out, const json_t *obj);

/* The pod template a workload's pods are made from: a copy of
 * spec.template, with the annotation keelson.io/config-hash added when
 * its pods use ConfigMaps or Secrets through env/envFrom (or through
 * volumes too, with keelson.io/restart-on-change: "true" on the workload
 * or its template): the hash of the referenced objects' data, so a data
 * change changes the template and rolls the workload (configmaps.c). */
int ks_ctl_effective_template(json_t **out, struct ks_store *store, const json_t *workload);

/* Controllers' per-object syncs over the namespace's shared dependents
 * (Pods; Jobs for the CronJob controller), as ks_ctl_replicaset_sync. */
int ks_ctl_daemonset_sync(bool *out_changed, struct ks_store *store, const json_t *ds,
                          const struct ks_ctl_env *env, json_t *pods);
int ks_ctl_statefulset_sync(bool *out_changed, struct ks_store *store, const json_t *sts,
                            const struct ks_ctl_env *env, json_t *pods);
int ks_ctl_job_sync(bool *out_changed, struct ks_store *store, const json_t *job,
                    const struct ks_ctl_env *env, json_t *pods);
int ks_ctl_cronjob_sync(bool *out_changed, struct ks_store *store, const json_t *cj,
                        const struct ks_ctl_env *env, json_t *jobs);
int ks_ctl_endpoints_sync(bool *out_changed, struct ks_store *store, const json_t *svc,
                          const struct ks_ctl_env *env, json_t *pods);

#endif
