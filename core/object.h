/*
 * object.h: identity of a Kubernetes-style object and the name rules that
 * go with it. Identity is kind/namespace/name (DESIGN.md §3); apiVersion is
 * carried for display and validation. Objects themselves are jansson trees.
 */
#ifndef KS_CORE_OBJECT_H
#define KS_CORE_OBJECT_H

#include <jansson.h>
#include <stdbool.h>

struct ks_object_id {
    const char *api_version; /* borrowed from the JSON object */
    const char *kind;
    const char *namespace_; /* "" for cluster-scoped kinds */
    const char *name;
};

/* Reads apiVersion, kind, metadata.name, metadata.namespace from obj; the
 * strings are borrowed from obj (namespace_ may be default_ns, borrowed
 * from the caller). Missing, empty or non-string apiVersion, kind or name
 * is KS_EINVALID naming the field ("metadata.name: missing"); so is a
 * non-string namespace. An absent or empty namespace yields default_ns
 * (NULL means "default") for namespaced kinds; cluster-scoped kinds always
 * get "" (a namespace written on them is ignored, as the API server does).
 * *out is written only on success. */
int ks_object_id_get(struct ks_object_id *out, const json_t *obj, const char *default_ns);

/* "Kind/namespace/name" (or "Kind/name" when cluster-scoped) into dst;
 * truncated to cap, returns dst. */
char *ks_object_id_format(char *dst, unsigned cap, const struct ks_object_id *id);

/* Compares identities (kind, namespace, name; NULL namespace_ counts as
 * ""); strcmp-like result. apiVersion is not part of identity. */
int ks_object_id_cmp(const struct ks_object_id *a, const struct ks_object_id *b);

/* True for Namespace, Node, ClusterRole, ClusterRoleBinding,
 * CustomResourceDefinition, PriorityClass, StorageClass, PersistentVolume,
 * and the other cluster-scoped built-in kinds (case-sensitive, as kinds are). */
bool ks_kind_is_cluster_scoped(const char *kind);

#define KS_NAME_MAX_SUBDOMAIN 253
#define KS_NAME_MAX_LABEL 63

/* The name rules of k8s.io/apimachinery/pkg/util/validation. */
enum ks_name_kind {
    KS_NAME_DNS1123_SUBDOMAIN, /* <= 253 of [a-z0-9.-], each '.'-part starts/ends [a-z0-9] */
    KS_NAME_DNS1123_LABEL,     /* <= 63 of [a-z0-9-], starts and ends [a-z0-9] */
    KS_NAME_QUALIFIED,         /* label key name: <= 63 of [A-Za-z0-9._-], starts/ends alnum */
    KS_NAME_LABEL_VALUE,       /* as KS_NAME_QUALIFIED, or empty */
};

/* Checks s against the rule; on failure KS_EINVALID with
 * `<what> "<s>": <reason>`, the reason naming the first offending
 * character and its 1-based position, or the length limit. */
int ks_name_validate(enum ks_name_kind kind, const char *what, const char *s);

/* DNS-1123 subdomain (<= 253; lower-case alphanumerics, '-', '.'; starts and
 * ends alphanumeric), DNS-1123 label (<= 63, no '.'); KS_EINVALID with why
 * (what = "name"). */
int ks_dns1123_subdomain_validate(const char *name);
int ks_dns1123_label_validate(const char *name);

#endif
