/*
 * object.c: object identity and Kubernetes name rules (see object.h).
 *
 * The name rules are Kubernetes' regular expressions written as one small
 * table-driven checker (alphabet, length limit, which characters must be
 * alphanumeric) instead of a regex engine: it runs in one pass and can say
 * which character is wrong and where. Cluster-scoped kinds are a sorted
 * table searched with bsearch.
 */
#include "core/object.h"
#include "core/error.h"
#include "core/jsonpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built-in cluster-scoped kinds, sorted by strcmp for bsearch. */
static const char *const cluster_kinds[] = {
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterTrustBundle",
    "ComponentStatus",
    "CustomResourceDefinition",
    "DeviceClass",
    "FlowSchema",
    "IPAddress",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "ResourceSlice",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectReview",
    "SelfSubjectRulesReview",
    "ServiceCIDR",
    "StorageClass",
    "StorageVersion",
    "StorageVersionMigration",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
};

static int cmp_kind(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

bool ks_kind_is_cluster_scoped(const char *kind)
{
    return bsearch(kind, cluster_kinds, sizeof(cluster_kinds) / sizeof(cluster_kinds[0]),
                   sizeof(cluster_kinds[0]), cmp_kind) != NULL;
}

/* *out = the non-empty string at path. */
static int get_name(const char **out, const json_t *obj, const char *path)
{
    const char *s = NULL;
    int rc = ks_json_get_string(&s, obj, path, true);
    if (rc)
        return rc;
    if (!*s)
        return ks_error_set(KS_EINVALID, "%s: must not be empty", path);
    *out = s;
    return 0;
}

int ks_object_id_get(struct ks_object_id *out, const json_t *obj, const char *default_ns)
{
    struct ks_object_id id = {0};
    const char *ns = NULL;
    int rc;
    if (!json_is_object(obj))
        return ks_error_set(KS_EINVALID, "object: expected an object, got %s",
                            ks_json_type_name(obj));
    if ((rc = get_name(&id.api_version, obj, "apiVersion")) ||
        (rc = get_name(&id.kind, obj, "kind")) || (rc = get_name(&id.name, obj, "metadata.name")) ||
        (rc = ks_json_get_string(&ns, obj, "metadata.namespace", false)))
        return rc;
    if (ks_kind_is_cluster_scoped(id.kind))
        id.namespace_ = "";
    else if (ns && *ns)
        id.namespace_ = ns;
    else
        id.namespace_ = default_ns ? default_ns : "default";
    *out = id;
    return 0;
}

char *ks_object_id_format(char *dst, unsigned cap, const struct ks_object_id *id)
{
    if (cap == 0)
        return dst;
    if (id->namespace_ && *id->namespace_)
        snprintf(dst, cap, "%s/%s/%s", id->kind, id->namespace_, id->name);
    else
        snprintf(dst, cap, "%s/%s", id->kind, id->name);
    return dst;
}

int ks_object_id_cmp(const struct ks_object_id *a, const struct ks_object_id *b)
{
    int c = strcmp(a->kind, b->kind);
    if (c)
        return c;
    c = strcmp(a->namespace_ ? a->namespace_ : "", b->namespace_ ? b->namespace_ : "");
    if (c)
        return c;
    return strcmp(a->name, b->name);
}

struct name_rule {
    size_t max;
    bool upper;        /* A-Z allowed */
    const char *punct; /* other characters allowed inside */
    bool dot_parts;    /* every '.'-separated part starts and ends alphanumeric */
    bool empty_ok;
    const char *desc;
};

static const struct name_rule rules[] = {
    [KS_NAME_DNS1123_SUBDOMAIN] = {KS_NAME_MAX_SUBDOMAIN, false, "-.", true, false,
                                   "a DNS-1123 subdomain is lower-case letters, digits, '-' and "
                                   "'.', each '.'-separated part starting and ending with a "
                                   "letter or digit"},
    [KS_NAME_DNS1123_LABEL] = {KS_NAME_MAX_LABEL, false, "-", false, false,
                               "a DNS-1123 label is lower-case letters, digits and '-', starting "
                               "and ending with a letter or digit"},
    [KS_NAME_QUALIFIED] = {KS_NAME_MAX_LABEL, true, "-_.", false, false,
                           "a label key name is letters, digits, '-', '_' and '.', starting and "
                           "ending with a letter or digit"},
    [KS_NAME_LABEL_VALUE] = {KS_NAME_MAX_LABEL, true, "-_.", false, true,
                             "a label value is empty or letters, digits, '-', '_' and '.', "
                             "starting and ending with a letter or digit"},
};

int ks_name_validate(enum ks_name_kind kind, const char *what, const char *s)
{
    const struct name_rule *r = &rules[kind];
    size_t len = strlen(s);
    char shown[8];
    if (len == 0)
        return r->empty_ok ? 0 : ks_error_set(KS_EINVALID, "%s \"\": must not be empty", what);
    if (len > r->max)
        return ks_error_set(KS_EINVALID,
                            "%s \"%.40s...\": must be no more than %zu characters (is %zu)", what,
                            s, r->max, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (r->upper && c >= 'A' && c <= 'Z');
        bool edge =
            i == 0 || i == len - 1 || (r->dot_parts && (s[i - 1] == '.' || s[i + 1] == '.'));
        if (alnum || (!edge && strchr(r->punct, c)))
            continue;
        if (c >= ' ' && c < 0x7f)
            snprintf(shown, sizeof(shown), "'%c'", c);
        else
            snprintf(shown, sizeof(shown), "\\x%02x", c);
        return ks_error_set(
            KS_EINVALID, "%s \"%s\": character %s at position %zu %s (%s)", what, s, shown, i + 1,
            strchr(r->punct, c) ? "must be a letter or digit" : "is not allowed", r->desc);
    }
    return 0;
}

int ks_dns1123_subdomain_validate(const char *name)
{
    return ks_name_validate(KS_NAME_DNS1123_SUBDOMAIN, "name", name);
}

int ks_dns1123_label_validate(const char *name)
{
    return ks_name_validate(KS_NAME_DNS1123_LABEL, "name", name);
}
