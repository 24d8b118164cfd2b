/*
 * test_placement.c: the placement shown by `reconcile --once --dry-run`:
 * desired Pods are placed on the nodes a real SQLite store holds, Git's
 * labels for a Node are merged in (nodeSelector), pods already bound in the
 * store use capacity, and an impossible pod gets kube-scheduler's reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/plan/plan.h"

static json_t *node(const char *name, const char *cpu)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s, s:s, s:s}}}", "apiVersion", "v1", "kind",
                     "Node", "metadata", "name", name, "status", "allocatable", "cpu", cpu,
                     "memory", "8Gi", "pods", "110");
}

static json_t *pod(const char *name, const char *cpu, const char *node_name, const char *disk)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s, s:{s:{s:s}}}]}}", "apiVersion",
                          "v1", "kind", "Pod", "metadata", "name", name, "namespace", "default",
                          "spec", "containers", "name", "c", "image", "busybox", "resources",
                          "requests", "cpu", cpu);
    json_t *spec = json_object_get(p, "spec");
    if (node_name)
        json_object_set_new(spec, "nodeName", json_string(node_name));
    if (disk)
        json_object_set_new(spec, "nodeSelector", json_pack("{s:s}", "disk", disk));
    return p;
}

static void add(struct ks_desired_object *o, json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const json_t *meta = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    *o =
        (struct ks_desired_object){.kind = strdup(kind),
                                   .namespace_ = strdup(ns ? ns : ""),
                                   .name = strdup(json_string_value(json_object_get(meta, "name"))),
                                   .object = obj,
                                   .source = strdup("test.yaml:1"),
                                   .file = strdup("test.yaml")};
}

static void places_on_store_nodes(void **state)
{
    char dir[] = "/tmp/ks-place-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct ks_store *store = NULL;
    assert_int_equal(ks_store_open_sqlite(&store, path, 0), 0);
    json_t *objs[] = {node("big", "4"), node("small", "1"), pod("running", "3500m", "big", NULL)};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ks_store_put(NULL, store, objs[i], KS_STORE_ANY_REVISION), 0);
        json_decref(objs[i]);
    }
    /* desired: Git labels node "small" with disk=ssd; three pods to place */
    struct ks_desired_set *set = calloc(1, sizeof *set);
    set->objects = calloc(4, sizeof *set->objects);
    json_t *labelled = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Node",
                                 "metadata", "name", "small", "labels", "disk", "ssd");
    add(&set->objects[0], labelled);
    add(&set->objects[1], pod("a-needs-800m", "800m", NULL, NULL));
    add(&set->objects[2], pod("b-wants-ssd", "100m", NULL, "ssd"));
    add(&set->objects[3], pod("c-too-big", "8", NULL, NULL));
    set->count = 4;

    json_t *placement = NULL;
    assert_int_equal(ks_plan_placement(&placement, set, store), 0);
    assert_int_equal(json_integer_value(json_object_get(placement, "nodes")), 2);
    assert_int_equal(json_integer_value(json_object_get(placement, "bound")), 2);
    assert_int_equal(json_integer_value(json_object_get(placement, "unschedulable")), 1);
    json_t *list = json_object_get(placement, "placements");
    /* "big" has 500m left after the bound pod, so only "small" fits the 800m pod;
     * only "small" carries Git's disk=ssd label */
    const char *want_node[] = {"small", "small", NULL};
    for (size_t i = 0; i < 3; i++) {
        json_t *p = json_array_get(list, i);
        const char *node_name = json_string_value(json_object_get(p, "node"));
        if (want_node[i])
            assert_string_equal(node_name, want_node[i]);
        else
            assert_non_null(strstr(json_string_value(json_object_get(p, "message")),
                                   "0/2 nodes are available"));
    }
    json_decref(placement);
    ks_desired_set_free(set);
    ks_store_close(store);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(places_on_store_nodes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
