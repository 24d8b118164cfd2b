/*
 * test_ctl_statefulset.c: the StatefulSet controller through the driver
 * on a real store, with the test as the node agent: OrderedReady creates
 * web-0, and web-1 only once web-0 is Running and Ready; stable names,
 * hostname and subdomain; scale-down removes the highest ordinal first
 * (order read from the store's change log) and waits while a pod is not
 * Ready; Parallel creates all at once; a failed pod comes back under its
 * name; RollingUpdate with a partition replaces from the highest ordinal
 * down, one Ready pod at a time; volumeClaimTemplates are reported once.
 */
#include "test_ctl_fixture.h"

static json_t *statefulset(int replicas, const char *image)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:s, s:{s:{s:s}}, s:o}}", "apiVersion",
                     "apps/v1", "kind", "StatefulSet", "metadata", "name", "web", "namespace",
                     "default", "spec", "replicas", replicas, "serviceName", "web", "selector",
                     "matchLabels", "app", "web", "template", pod_template("web", image));
}

static void edit(struct fixture *f, const char *field, json_t *value)
{
    json_t *sts = get_obj(f, "StatefulSet", "web");
    ks_ctl_set(sts, "spec", field, value);
    put_obj(f, sts);
}

/* "web-0:img,web-1:img" of the pods present, by name. */
static const char *pods_str(struct fixture *f)
{
    static char buf[512];
    json_t *pods = list_kind(f, "Pod");
    buf[0] = '\0';
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s:%s", i ? "," : "", ks_ctl_name(p),
                 json_string_value(json_object_get(
                     json_array_get(ks_ctl_at(p, "spec", "containers"), 0), "image")));
    }
    json_decref(pods);
    return buf;
}

static void ordered_start(void **state)
{
    struct fixture *f = *state;
    put_obj(f, statefulset(3, "img:1"));
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1");
    json_t *p = get_obj(f, "Pod", "web-0");
    assert_string_equal(ks_ctl_str(p, "spec", "hostname"), "web-0");
    assert_string_equal(ks_ctl_str(p, "spec", "subdomain"), "web");
    const json_t *labels = ks_ctl_at(p, "metadata", "labels");
    assert_string_equal(ks_ctl_str(labels, "statefulset.kubernetes.io/pod-name", NULL), "web-0");
    assert_string_equal(ks_ctl_str(labels, "apps.kubernetes.io/pod-index", NULL), "0");
    assert_non_null(ks_ctl_str(labels, "controller-revision-hash", NULL));
    json_decref(p);
    agent_set(f, "web-0", "node-a", false); /* Running, not Ready: web-1 waits */
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1");
    agent_set(f, "web-0", "node-a", true);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1");
    agent_set(f, "web-1", "node-b", true);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:1");
    agent_set(f, "web-2", "node-a", true);
    run(f);
    json_t *sts = get_obj(f, "StatefulSet", "web");
    assert_int_equal(status_int(sts, "replicas"), 3);
    assert_int_equal(status_int(sts, "readyReplicas"), 3);
    assert_int_equal(status_int(sts, "updatedReplicas"), 3);
    char why[256];
    assert_int_equal(ks_health_of(sts, why, sizeof why), KS_HEALTH_HEALTHY);
    json_decref(sts);

    /* a failed pod comes back under its own name */
    json_t *web1 = get_obj(f, "Pod", "web-1");
    ks_ctl_set(web1, "status", "phase", json_string("Failed"));
    put_obj(f, web1);
    run(f);
    web1 = get_obj(f, "Pod", "web-1");
    assert_string_equal(ks_ctl_str(web1, "status", "phase"), "Pending");
    json_decref(web1);
}

static void scale_down_order(void **state)
{
    struct fixture *f = *state;
    put_obj(f, statefulset(3, "img:1"));
    for (int i = 0; i < 3; i++) {
        run(f);
        agent_ready_all(f);
    }
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:1");
    /* while web-0 is not Ready, nothing is removed */
    agent_set(f, "web-0", "node-a", false);
    edit(f, "replicas", json_integer(1));
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:1");
    int64_t since = 0;
    assert_int_equal(ks_store_revision(&since, f->store), 0);
    agent_set(f, "web-0", "node-a", true);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1");
    json_t *changes = NULL;
    assert_int_equal(ks_store_changes_since(&changes, f->store, since, 1000), 0);
    char order[64] = "";
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "type")), "delete")) {
            size_t n = strlen(order);
            snprintf(order + n, sizeof order - n, "%s%s", n ? "," : "",
                     json_string_value(json_object_get(c, "name")));
        }
    }
    assert_string_equal(order, "web-2,web-1");
    json_decref(changes);
}

static void parallel(void **state)
{
    struct fixture *f = *state;
    json_t *sts = statefulset(3, "img:1");
    ks_ctl_set(sts, "spec", "podManagementPolicy", json_string("Parallel"));
    put_obj(f, sts);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:1");
    edit(f, "replicas", json_integer(1));
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1");
}

static void rolling_update_partition(void **state)
{
    struct fixture *f = *state;
    put_obj(f, statefulset(3, "img:1"));
    for (int i = 0; i < 3; i++) {
        run(f);
        agent_ready_all(f);
    }
    run(f);
    json_t *sts = get_obj(f, "StatefulSet", "web");
    char old_rev[32];
    snprintf(old_rev, sizeof old_rev, "%s", ks_ctl_str(sts, "status", "currentRevision"));
    json_decref(sts);
    edit(f, "updateStrategy",
         json_pack("{s:s, s:{s:i}}", "type", "RollingUpdate", "rollingUpdate", "partition", 1));
    edit(f, "template", pod_template("web", "img:2"));
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:2");
    run(f); /* web-2 is not Ready yet: web-1 waits */
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:1,web-2:img:2");
    agent_ready_all(f);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:2,web-2:img:2");
    agent_ready_all(f);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:1,web-1:img:2,web-2:img:2"); /* partition */
    sts = get_obj(f, "StatefulSet", "web");
    assert_int_equal(status_int(sts, "updatedReplicas"), 2);
    assert_int_equal(status_int(sts, "currentReplicas"), 1);
    assert_string_equal(ks_ctl_str(sts, "status", "currentRevision"), old_rev);
    assert_string_not_equal(ks_ctl_str(sts, "status", "updateRevision"), old_rev);
    char why[256];
    assert_int_equal(ks_health_of(sts, why, sizeof why), KS_HEALTH_HEALTHY);
    assert_non_null(strstr(why, "partitioned roll out complete"));
    json_decref(sts);
    edit(f, "updateStrategy", json_pack("{s:s}", "type", "RollingUpdate"));
    run(f);
    agent_ready_all(f);
    run(f);
    assert_string_equal(pods_str(f), "web-0:img:2,web-1:img:2,web-2:img:2");
    sts = get_obj(f, "StatefulSet", "web");
    assert_string_equal(ks_ctl_str(sts, "status", "currentRevision"),
                        ks_ctl_str(sts, "status", "updateRevision"));
    json_decref(sts);
}

static void claim_templates_reported(void **state)
{
    struct fixture *f = *state;
    json_t *sts = statefulset(1, "img:1");
    ks_ctl_set(sts, "spec", "volumeClaimTemplates",
               json_pack("[{s:{s:s}}]", "metadata", "name", "data"));
    put_obj(f, sts);
    run(f);
    agent_ready_all(f);
    run(f);
    sts = get_obj(f, "StatefulSet", "web");
    const json_t *c =
        ks_ctl_condition(ks_ctl_at(sts, "status", "conditions"), "VolumeClaimTemplatesUnsupported");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    json_decref(sts);
    json_t *events = NULL;
    assert_int_equal(ks_store_events_list(&events, f->store, 0), 0);
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        n += !strcmp(json_string_value(json_object_get(e, "reason")),
                     "VolumeClaimTemplatesUnsupported");
    }
    assert_int_equal(n, 1);
    json_decref(events);
    assert_string_equal(pods_str(f), "web-0:img:1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ordered_start, setup, teardown),
        cmocka_unit_test_setup_teardown(scale_down_order, setup, teardown),
        cmocka_unit_test_setup_teardown(parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(rolling_update_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_templates_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
