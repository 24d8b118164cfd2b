/*
 * json_node.c: a Kubernetes Node object -> ks_sched_node_set. Reads
 * metadata.name/labels, spec.unschedulable, spec.taints, status.allocatable
 * (cpu, memory, pods; falling back to status.capacity, and to 110 pods as
 * the kubelet's default) and status.images (every name of an image).
 */
#include "scheduler/json_adapt.h"
#include "core/error.h"
#include "core/jsonpath.h"
#include "core/quantity.h"

#include <stdio.h>
#include <string.h>

int ks_sched_json_effect(enum ks_sched_effect *out, const char *s, const char *where)
{
    if (!s || !*s)
        *out = KS_SCHED_EFFECT_ANY;
    else if (strcmp(s, "NoSchedule") == 0)
        *out = KS_SCHED_EFFECT_NO_SCHEDULE;
    else if (strcmp(s, "PreferNoSchedule") == 0)
        *out = KS_SCHED_EFFECT_PREFER_NO_SCHEDULE;
    else if (strcmp(s, "NoExecute") == 0)
        *out = KS_SCHED_EFFECT_NO_EXECUTE;
    else
        return ks_error_set(KS_EINVALID, "%s.effect: unknown effect \"%s\"", where, s);
    return 0;
}

static int resource(int64_t *out, const json_t *node, const char *name, bool milli)
{
    json_t *v = NULL;
    char path[64];
    int rc;
    const char *where[] = {"status.allocatable", "status.capacity"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s.%s", where[i], name);
        if ((rc = ks_json_lookup(&v, node, path)))
            return rc;
        if (!v)
            continue;
        rc = milli ? ks_quantity_json_milli(out, v) : ks_quantity_json_value(out, v);
        return rc ? ks_error_wrap(rc, "%s", path) : 0;
    }
    return 0;
}

static int node_taints(struct ks_sched_node_spec *spec, struct arena *a, const json_t *node)
{
    json_t *arr;
    size_t n;
    struct ks_sched_taint *t;
    int rc = ks_sched_ja_items(&arr, &n, &t, sizeof(*t), a, node, "spec.taints", "node");
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char at[64];
        const char *effect = NULL;
        json_t *e = json_array_get(arr, i);
        snprintf(at, sizeof(at), "spec.taints[%zu]", i);
        if ((rc = ks_json_get_string(&t[i].key, e, "key", true)) ||
            (rc = ks_json_get_string(&t[i].value, e, "value", false)) ||
            (rc = ks_json_get_string(&effect, e, "effect", true)))
            return ks_error_wrap(rc, "%s", at);
        if ((rc = ks_sched_json_effect(&t[i].effect, effect, at)))
            return rc;
        if (t[i].effect == KS_SCHED_EFFECT_ANY)
            return ks_error_set(KS_EINVALID, "%s.effect: must not be empty", at);
    }
    spec->taints = t;
    spec->ntaints = n;
    return 0;
}

static int node_images(struct ks_sched_node_spec *spec, struct arena *a, const json_t *node)
{
    json_t *arr = NULL;
    int rc = ks_json_get_array(&arr, node, "status.images", false);
    size_t total = 0, n = arr ? json_array_size(arr) : 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *names = json_object_get(json_array_get(arr, i), "names");
        total += json_is_array(names) ? json_array_size(names) : 0;
    }
    if (total > KS_SCHED_MAX_IMAGES)
        return ks_error_set(KS_ELIMIT, "status.images: %zu image names exceed the limit of %d",
                            total, KS_SCHED_MAX_IMAGES);
    struct ks_sched_image *img = ks_sched_arena_alloc(a, total, sizeof(*img));
    if (!img)
        return KS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i), *names = json_object_get(e, "names");
        int64_t size = 0;
        char at[64];
        snprintf(at, sizeof(at), "status.images[%zu]", i);
        if ((rc = ks_json_get_int(&size, e, "sizeBytes", false)))
            return ks_error_wrap(rc, "%s", at);
        for (size_t j = 0; json_is_array(names) && j < json_array_size(names); j++) {
            const char *name = json_string_value(json_array_get(names, j));
            if (name)
                img[spec->nimages++] = (struct ks_sched_image){name, size};
        }
    }
    spec->images = img;
    return 0;
}

int ks_sched_node_set_json(struct ks_sched *s, const json_t *node)
{
    struct arena a = {0};
    struct ks_sched_node_spec spec = {.pods = 110};
    json_t *labels = NULL;
    int rc;
    if ((rc = ks_json_get_string(&spec.name, node, "metadata.name", true)) ||
        (rc = ks_json_get_object(&labels, node, "metadata.labels", false)) ||
        (rc = ks_json_get_bool(&spec.unschedulable, node, "spec.unschedulable", false)) ||
        (rc = resource(&spec.cpu_milli, node, "cpu", true)) ||
        (rc = resource(&spec.memory, node, "memory", false)) ||
        (rc = resource(&spec.pods, node, "pods", false)))
        goto done;
    if ((rc = ks_sched_ja_kv_map(&spec.labels, &spec.nlabels, &a, labels, "metadata.labels")) ||
        (rc = node_taints(&spec, &a, node)) || (rc = node_images(&spec, &a, node)))
        goto done;
    rc = ks_sched_node_set(s, &spec);
done:
    if (rc && spec.name)
        ks_error_wrap(rc, "node %s", spec.name);
    ks_sched_arena_release(&a);
    return rc;
}
