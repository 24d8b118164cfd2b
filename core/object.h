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
 * strings are borrowed from obj. Missing or non-string apiVersion, kind or
 * name is KS_EINVALID naming the field. An absent namespace yields
 * default_ns for namespaced kinds and "" for cluster-scoped ones. */
int ks_object_id_get(struct ks_object_id *out, const json_t *obj, const char *default_ns);

/* "Kind/namespace/name" (or "Kind/name" when cluster-scoped) into dst. */
char *ks_object_id_format(char *dst, unsigned cap, const struct ks_object_id *id);

/* Compares identities (kind, namespace, name); strcmp-like result. */
int ks_object_id_cmp(const struct ks_object_id *a, const struct ks_object_id *b);

/* True for Namespace, Node, ClusterRole, ClusterRoleBinding,
 * CustomResourceDefinition, PriorityClass, StorageClass, PersistentVolume,
 * and the other cluster-scoped built-in kinds. */
bool ks_kind_is_cluster_scoped(const char *kind);

/* DNS-1123 subdomain (<= 253; lower-case alphanumerics, '-', '.'; starts and
 * ends alphanumeric), DNS-1123 label (<= 63, no '.'); KS_EINVALID with why. */
int ks_dns1123_subdomain_validate(const char *name);
int ks_dns1123_label_validate(const char *name);

#endif
