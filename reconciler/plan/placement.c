/*
 * placement.c: what `reconcile --once --dry-run` shows as placement. The
 * Pods of the desired set that name no node are placed in one scheduler
 * batch onto the nodes the store knows (registered by agents), with
 * labels and taints declared for them in Git merged in, PriorityClasses
 * from the desired set, and the Pods already bound in the store counted as
 * load. Each result carries the winning node and its scores, or
 * kube-scheduler's explanation of why no node fits.
 */
#include "reconciler/plan/plan.h"

#include "core/error.h"
#include "scheduler/scheduler.h"

#include <stdlib.h>
#include <string.h>

/* A node as the store has it, with metadata.labels and spec.taints
 * overridden by a Node object of the same name in the desired set. */
static json_t *merged_node(const json_t *stored, const struct ks_desired_set *set)
{
    json_t *node = json_deep_copy(stored);
    const char *name =
        json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
    const struct ks_desired_object *declared = name ? ks_desired_find(set, "Node", "", name) : NULL;
    if (!declared)
        return node;
    json_t *labels = json_object_get(json_object_get(declared->object, "metadata"), "labels");
    json_t *taints = json_object_get(json_object_get(declared->object, "spec"), "taints");
    json_t *meta = json_object_get(node, "metadata");
    if (json_is_object(labels)) {
        if (!json_is_object(json_object_get(meta, "labels")))
            json_object_set_new(meta, "labels", json_object());
        json_object_update(json_object_get(meta, "labels"), labels);
    }
    if (json_is_array(taints)) {
        if (!json_is_object(json_object_get(node, "spec")))
            json_object_set_new(node, "spec", json_object());
        json_object_set(json_object_get(node, "spec"), "taints", taints);
    }
    return node;
}

static int add_store_state(struct ks_sched *s, struct ks_store *store,
                           const struct ks_desired_set *set, size_t *out_nodes)
{
    json_t *nodes = NULL, *pods = NULL;
    struct ks_store_list_opts node_opts = {.kind = "Node"}, pod_opts = {.kind = "Pod"};
    int rc = ks_store_list(&nodes, store, &node_opts);
    if (rc == 0)
        rc = ks_store_list(&pods, store, &pod_opts);
    size_t i;
    json_t *v;
    json_array_foreach(nodes, i, v)
    {
        if (rc)
            break;
        json_t *node = merged_node(v, set);
        rc = ks_sched_node_set_json(s, node);
        json_decref(node);
    }
    *out_nodes = json_array_size(nodes);
    json_array_foreach(pods, i, v)
    {
        const char *phase =
            json_string_value(json_object_get(json_object_get(v, "status"), "phase"));
        const char *bound =
            json_string_value(json_object_get(json_object_get(v, "spec"), "nodeName"));
        if (rc || !bound || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
            continue;
        uint32_t id;
        rc = ks_sched_pod_add_json(&id, s, v);
    }
    json_decref(nodes);
    json_decref(pods);
    return rc;
}

int ks_plan_placement(json_t **out, const struct ks_desired_set *set, struct ks_store *store)
{
    int rc = 0;
    struct ks_sched *s = NULL;
    uint32_t *pending = calloc(set->count ? set->count : 1, sizeof *pending);
    struct ks_sched_result *results = NULL;
    size_t npending = 0, nnodes = 0;
    struct ks_sched_config cfg = {.seed = 1};
    if (!pending) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_sched_new(&s, &cfg)))
        goto done;
    for (size_t i = 0; i < set->count && rc == 0; i++) {
        const struct ks_desired_object *o = &set->objects[i];
        if (strcmp(o->kind, "PriorityClass") == 0) {
            json_t *value = json_object_get(o->object, "value");
            if (json_is_integer(value))
                rc = ks_sched_priority_class_set(s, o->name, (int32_t)json_integer_value(value));
        }
    }
    if (rc == 0 && store)
        rc = add_store_state(s, store, set, &nnodes);
    for (size_t i = 0; i < set->count && rc == 0; i++) {
        const struct ks_desired_object *o = &set->objects[i];
        if (strcmp(o->kind, "Pod") != 0)
            continue;
        uint32_t id;
        if (ks_sched_pod_find(&id, s, o->namespace_, o->name) == 0)
            continue; /* already bound in the store */
        const char *node =
            json_string_value(json_object_get(json_object_get(o->object, "spec"), "nodeName"));
        if (node && *node)
            continue; /* pinned by the user: nothing to place */
        if ((rc = ks_sched_pod_add_json(&id, s, o->object)))
            rc = ks_error_set(rc, "%s: %s", o->source, ks_error_last());
        else
            pending[npending++] = id;
    }
    if (rc || npending == 0) {
        *out = rc ? NULL : json_null();
        goto done;
    }
    if (!(results = calloc(npending, sizeof *results))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_sched_batch(results, s, pending, npending, true)))
        goto done;
    *out = ks_sched_batch_to_json(s, results, npending);
    if (!*out)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
    else
        json_object_set_new(*out, "nodes", json_integer((json_int_t)nnodes));
done:
    for (size_t i = 0; results && i < npending; i++)
        ks_sched_result_release(&results[i]);
    free(results);
    free(pending);
    ks_sched_free(s);
    return rc;
}
