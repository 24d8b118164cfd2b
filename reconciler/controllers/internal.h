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

#endif
