/*
 * configmaps.c: ConfigMap and Secret changes that roll workloads.
 *
 * Kubernetes never restarts pods when a ConfigMap or Secret changes; the
 * common workaround is a checksum annotation on the pod template. keelson
 * does it for the user: the Deployment, DaemonSet and StatefulSet
 * controllers build their pods from ks_ctl_effective_template, which adds
 * keelson.io/config-hash (a hash of the data of every ConfigMap and Secret
 * the template uses) to the template's annotations. A change of that data
 * changes the template, hence its pod-template-hash or
 * controller-revision-hash, and the workload rolls out as for any template
 * change (with its own strategy, maxUnavailable and readiness gates).
 *
 * What counts as use: env[].valueFrom.configMapKeyRef/secretKeyRef and
 * envFrom[].configMapRef/secretRef of containers and initContainers
 * (a process reads env only at start). Volumes (configMap, secret,
 * projected sources) count only with keelson.io/restart-on-change: "true"
 * on the workload or on its template; otherwise the node agent updates the
 * mounted files in place and nothing restarts. The workload objects
 * themselves are never written (they come from Git); the annotation lives
 * in the ReplicaSets' / pods' templates only.
 */
#include "reconciler/controllers/internal.h"

#include "core/digest.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_REFS_MAX 256 /* ConfigMaps/Secrets one template may refer to */

static void add_ref(json_t *refs, const char *kind, const json_t *name)
{
    if (!json_is_string(name) || json_object_size(refs) >= CONFIG_REFS_MAX)
        return;
    char key[300];
    snprintf(key, sizeof key, "%s/%s", kind, json_string_value(name));
    json_object_set_new(refs, key, json_true());
}

static void container_refs(json_t *refs, const json_t *containers)
{
    size_t i, j;
    json_t *c, *e;
    json_array_foreach(containers, i, c)
    {
        json_array_foreach(json_object_get(c, "env"), j, e)
        {
            const json_t *from = json_object_get(e, "valueFrom");
            add_ref(refs, "ConfigMap", ks_ctl_at(from, "configMapKeyRef", "name"));
            add_ref(refs, "Secret", ks_ctl_at(from, "secretKeyRef", "name"));
        }
        json_array_foreach(json_object_get(c, "envFrom"), j, e)
        {
            add_ref(refs, "ConfigMap", ks_ctl_at(e, "configMapRef", "name"));
            add_ref(refs, "Secret", ks_ctl_at(e, "secretRef", "name"));
        }
    }
}

static void volume_refs(json_t *refs, const json_t *volumes)
{
    size_t i, j;
    json_t *v, *src;
    json_array_foreach(volumes, i, v)
    {
        add_ref(refs, "ConfigMap", ks_ctl_at(v, "configMap", "name"));
        add_ref(refs, "Secret", ks_ctl_at(v, "secret", "secretName"));
        json_array_foreach(ks_ctl_at(v, "projected", "sources"), j, src)
        {
            add_ref(refs, "ConfigMap", ks_ctl_at(src, "configMap", "name"));
            add_ref(refs, "Secret", ks_ctl_at(src, "secret", "name"));
        }
    }
}

static bool restart_on_change(const json_t *obj)
{
    const char *v = json_string_value(json_object_get(ks_ctl_at(obj, "metadata", "annotations"),
                                                      KS_ANNOTATION_RESTART_ON_CHANGE));
    return v && !strcmp(v, "true");
}

int ks_ctl_effective_template(json_t **out, struct ks_store *store, const json_t *workload)
{
    const json_t *src = ks_ctl_at(workload, "spec", "template");
    json_t *tmpl = src ? json_deep_copy(src) : json_object();
    json_t *refs = json_object(), *data = json_object();
    char *text = NULL;
    int rc = 0;
    const json_t *spec = json_object_get(tmpl, "spec");
    /* a stale hash copied into Git by hand is not ours to keep */
    json_object_del(ks_ctl_at(tmpl, "metadata", "annotations"), KS_ANNOTATION_CONFIG_HASH);
    container_refs(refs, json_object_get(spec, "containers"));
    container_refs(refs, json_object_get(spec, "initContainers"));
    if (restart_on_change(workload) || restart_on_change(tmpl))
        volume_refs(refs, json_object_get(spec, "volumes"));
    if (json_object_size(refs) == 0)
        goto done;
    const char *key;
    json_t *v;
    json_object_foreach(refs, key, v)
    {
        const char *slash = strchr(key, '/');
        char kind[16];
        snprintf(kind, sizeof kind, "%.*s", (int)(slash - key), key);
        struct ks_store_key k = {kind, ks_ctl_namespace(workload), slash + 1};
        json_t *obj = NULL;
        rc = ks_store_get(&obj, store, &k);
        if (rc == KS_ENOTFOUND) {
            json_object_set_new(data, key, json_null()); /* appears later: a change too */
            rc = 0;
            continue;
        }
        if (rc)
            goto done;
        json_t *d = json_object();
        const char *fields[] = {"data", "binaryData", "stringData"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (json_object_get(obj, fields[i]))
                json_object_set(d, fields[i], json_object_get(obj, fields[i]));
        json_object_set_new(data, key, d);
        json_decref(obj);
    }
    text = json_dumps(data, JSON_SORT_KEYS | JSON_COMPACT);
    char hex[65];
    if (!text || ks_sha256_hex(hex, text, strlen(text))) {
        rc = ks_error_set(KS_ENOMEM, "config hash: out of memory");
        goto done;
    }
    hex[16] = '\0';
    json_t *ann = ks_ctl_at(tmpl, "metadata", "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        ks_ctl_set(tmpl, "metadata", "annotations", ann);
    }
    json_object_set_new(ann, KS_ANNOTATION_CONFIG_HASH, json_string(hex));
done:
    free(text);
    json_decref(refs);
    json_decref(data);
    if (rc)
        json_decref(tmpl);
    else
        *out = tmpl;
    return rc;
}
