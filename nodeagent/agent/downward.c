/*
 * downward.c: the Kubernetes downward API, i.e. facts about the pod handed
 * to its own containers: `env[].valueFrom.fieldRef` /
 * `resourceFieldRef` and the files of `downwardAPI` volumes (also as a
 * `projected` source). Field paths and formats follow Kubernetes'
 * pkg/fieldpath: a whole label or annotation map is written as sorted
 * `key="value"` lines with the value quoted as Go's %q does; resource
 * values are divided by `divisor` and rounded up, and an unset limit is
 * the node's allocatable (here: the host's CPUs and memory), as the
 * kubelet does.
 */
#include "nodeagent/agent/downward.h"
#include "nodeagent/agent/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/quantity.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends s quoted as Go's strconv.Quote: printable UTF-8 kept, the rest
 * escaped. Errors are left in b (sticky). */
static void go_quote(struct ks_buf *b, const char *s)
{
    static const char named[] = "\"\"\\\\\nn\rr\tt\aa\bb\ff\vv";
    ks_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *e = *p ? strchr(named, *p) : NULL;
        if (e && (e - named) % 2 == 0)
            ks_buf_printf(b, "\\%c", e[1]);
        else if (*p < 0x20 || *p == 0x7f)
            ks_buf_printf(b, "\\x%02x", *p);
        else
            ks_buf_putc(b, (char)*p);
    }
    ks_buf_putc(b, '"');
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* pkg/fieldpath FormatMap: `key="value"` lines in key order, no final
 * newline. */
static int format_map(char **out, const json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    struct ks_buf b;
    const char *k;
    json_t *v;
    if (!keys)
        return ks_error_set(KS_ENOMEM, "out of memory");
    ks_buf_init(&b, KS_AGENT_MAX_FILE);
    json_object_foreach((json_t *)map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(map, keys[i]));
        ks_buf_printf(&b, "%s%s=", i ? "\n" : "", keys[i]);
        go_quote(&b, val ? val : "");
    }
    free(keys);
    int rc = ks_buf_error(&b);
    if (rc < 0) {
        ks_buf_release(&b);
        return ks_error_wrap(rc, "downward API map");
    }
    *out = ks_buf_len(&b) ? ks_buf_detach(&b, NULL) : strdup("");
    ks_buf_release(&b);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* "metadata.labels['app']" -> map "labels", key "app" (malloc'd); 0 when
 * path is not of that form. */
static int subscript(char **out_key, const char *path, const char *prefix)
{
    size_t n = strlen(prefix), len = strlen(path);
    if (strncmp(path, prefix, n) != 0 || len < n + 4 || path[n] != '[' || path[len - 1] != ']')
        return 0;
    char q = path[n + 1];
    if ((q != '\'' && q != '"') || path[len - 2] != q || len - n - 4 == 0)
        return 0;
    *out_key = strndup(path + n + 2, len - n - 4);
    return *out_key ? 1 : ks_error_set(KS_ENOMEM, "out of memory");
}

int ks_agent_field_value(char **out, const json_t *pod, const char *path, bool in_volume,
                         const struct ks_agent_pod_facts *facts)
{
    const json_t *md = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    const char *v = NULL;
    char *key = NULL;
    int rc;
    if (!path || !*path)
        return ks_error_set(KS_EINVALID, "fieldRef without a fieldPath");
    if (strcmp(path, "metadata.name") == 0 || strcmp(path, "metadata.namespace") == 0 ||
        strcmp(path, "metadata.uid") == 0) {
        v = json_string_value(json_object_get(md, path + strlen("metadata.")));
        if (!v && strcmp(path, "metadata.namespace") == 0)
            v = "default";
    } else if (in_volume && (strcmp(path, "metadata.labels") == 0 ||
                             strcmp(path, "metadata.annotations") == 0)) {
        return format_map(out, json_object_get(md, path + strlen("metadata.")));
    } else if ((rc = subscript(&key, path, "metadata.labels")) != 0 ||
               (rc = subscript(&key, path, "metadata.annotations")) != 0) {
        if (rc < 0)
            return rc;
        const char *map = strncmp(path, "metadata.labels", 15) == 0 ? "labels" : "annotations";
        v = json_string_value(json_object_get(json_object_get(md, map), key));
        free(key);
    } else if (!in_volume && strcmp(path, "spec.nodeName") == 0) {
        v = json_string_value(json_object_get(spec, "nodeName"));
    } else if (!in_volume && strcmp(path, "spec.serviceAccountName") == 0) {
        v = json_string_value(json_object_get(spec, "serviceAccountName"));
        if (!v)
            v = "default";
    } else if (!in_volume &&
               (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0)) {
        v = facts ? facts->pod_ip : NULL;
    } else if (!in_volume &&
               (strcmp(path, "status.hostIP") == 0 || strcmp(path, "status.hostIPs") == 0)) {
        v = facts ? facts->host_ip : NULL;
    } else {
        return ks_error_set(KS_EINVALID, "fieldRef %s is not supported %s", path,
                            in_volume ? "in a downwardAPI volume" : "in env");
    }
    *out = strdup(v ? v : "");
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* The container named name among the pod's containers and init containers. */
static const json_t *find_container(const json_t *pod, const char *name)
{
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[l]), i, c)
        {
            const char *n = json_string_value(json_object_get(c, "name"));
            if (n && name && strcmp(n, name) == 0)
                return c;
        }
    }
    return NULL;
}

int ks_agent_resource_value(char **out, const json_t *pod, const json_t *container,
                            const json_t *ref)
{
    const char *cname = json_string_value(json_object_get(ref, "containerName"));
    const char *res = json_string_value(json_object_get(ref, "resource"));
    const json_t *divisor = json_object_get(ref, "divisor");
    char text[32];
    int64_t value = 0, div = 0, capacity;
    bool cpu;
    int rc;
    if (cname && *cname && !(container = find_container(pod, cname)))
        return ks_error_set(KS_EINVALID, "resourceFieldRef: no container named %s", cname);
    if (!container)
        return ks_error_set(KS_EINVALID, "resourceFieldRef needs containerName in a volume");
    if (!res || (strcmp(res, "limits.cpu") && strcmp(res, "requests.cpu") &&
                 strcmp(res, "limits.memory") && strcmp(res, "requests.memory")))
        return ks_error_set(KS_EINVALID,
                            "resourceFieldRef %s is not supported (limits.cpu, requests.cpu, "
                            "limits.memory, requests.memory are)",
                            res ? res : "(none)");
    cpu = strstr(res, ".cpu") != NULL;
    const json_t *resources = json_object_get(container, "resources");
    const json_t *limits = json_object_get(resources, "limits");
    const json_t *q = json_object_get(
        json_object_get(resources, strncmp(res, "limits", 6) == 0 ? "limits" : "requests"),
        cpu ? "cpu" : "memory");
    /* Kubernetes defaults requests to limits; an unset limit is the node's
     * allocatable. */
    if (!q && strncmp(res, "requests", 8) == 0)
        q = json_object_get(limits, cpu ? "cpu" : "memory");
    if (q) {
        if ((rc = ks_quantity_json_milli(&value, q)) < 0)
            return ks_error_wrap(rc, "resourceFieldRef %s", res);
    } else if (strncmp(res, "limits", 6) == 0) {
        capacity = cpu ? sysconf(_SC_NPROCESSORS_ONLN)
                       : (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
        value = capacity > 0 ? capacity * 1000 : 0;
    }
    if (divisor) {
        if ((rc = ks_quantity_json_milli(&div, divisor)) < 0)
            return ks_error_wrap(rc, "resourceFieldRef %s divisor", res);
    } else {
        div = 1000;
    }
    if (div <= 0)
        return ks_error_set(KS_EINVALID, "resourceFieldRef %s: divisor must be positive", res);
    snprintf(text, sizeof(text), "%lld", (long long)((value + div - 1) / div));
    *out = strdup(text);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}
