/*
 * test_ctl_replicaset.c: the ReplicaSet controller against a real store:
 * creation with generated names, owner references, labels and spec from
 * the template, determinism under a seed, status with minReadySeconds,
 * scale-down order (unscheduled, pending, not ready, newest first),
 * adoption of matching orphans and release of pods relabelled away,
 * overlapping selectors sharing one pod list, and an invalid spec reported
 * in status.
 */
#include "test_ctl_fixture.h"

static json_t *replicaset(const char *name, int replicas, int min_ready)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:i, s:{s:{s:s}}, s:o}}", "apiVersion",
                     "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "namespace",
                     "default", "spec", "replicas", replicas, "minReadySeconds", min_ready,
                     "selector", "matchLabels", "app", "web", "template",
                     pod_template("web", "nginx:1"));
}

static void set_replicas(struct fixture *f, const char *name, int n)
{
    json_t *rs = get_obj(f, "ReplicaSet", name);
    ks_ctl_set(rs, "spec", "replicas", json_integer(n));
    put_obj(f, rs);
}

static void creates_pods(void **state)
{
    struct fixture *f = *state;
    put_obj(f, replicaset("web", 3, 0));
    run(f);
    json_t *rs = get_obj(f, "ReplicaSet", "web");
    json_t *pods = pods_of(f, rs);
    assert_int_equal(json_array_size(pods), 3);
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *name = ks_ctl_name(p);
        assert_int_equal(strlen(name), strlen("web-") + 5);
        assert_memory_equal(name, "web-", 4);
        for (const char *c = name + 4; *c; c++)
            assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *c));
        json_t *ref = json_array_get(ks_ctl_at(p, "metadata", "ownerReferences"), 0);
        assert_string_equal(json_string_value(json_object_get(ref, "kind")), "ReplicaSet");
        assert_true(json_is_true(json_object_get(ref, "controller")));
        assert_string_equal(ks_ctl_str(ks_ctl_at(p, "metadata", "labels"), "app", NULL), "web");
        json_t *c0 = json_array_get(ks_ctl_at(p, "spec", "containers"), 0);
        assert_string_equal(json_string_value(json_object_get(c0, "image")), "nginx:1");
        assert_null(json_object_get(ks_ctl_at(p, "metadata", "annotations"), "keelson.io/source"));
    }
    assert_int_equal(status_int(rs, "replicas"), 3);
    assert_int_equal(status_int(rs, "readyReplicas"), 0);
    /* a second run changes nothing */
    int64_t before = 0, after = 0;
    ks_store_revision(&before, f->store);
    run(f);
    ks_store_revision(&after, f->store);
    assert_int_equal(before, after);
    json_decref(pods);
    json_decref(rs);
}

static void names_follow_the_seed(void **state)
{
    struct fixture *f = *state;
    put_obj(f, replicaset("web", 2, 0));
    run(f);
    json_t *first = list_kind(f, "Pod");
    /* same seed, fresh pods: the same names */
    json_t *rs = get_obj(f, "ReplicaSet", "web");
    size_t i;
    json_t *p;
    json_array_foreach(first, i, p)
    {
        struct ks_store_key key = {"Pod", "default", ks_ctl_name(p)};
        assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
    }
    json_decref(rs);
    f->seed = 42;
    run(f);
    json_t *second = list_kind(f, "Pod");
    assert_int_equal(json_array_size(second), 2);
    json_array_foreach(first, i, p)
    {
        assert_string_equal(ks_ctl_name(p), ks_ctl_name(json_array_get(second, i)));
    }
    json_decref(first);
    json_decref(second);
}

static void status_counts_ready_and_available(void **state)
{
    struct fixture *f = *state;
    put_obj(f, replicaset("web", 2, 30));
    run(f);
    json_t *pods = list_kind(f, "Pod");
    agent_set(f, ks_ctl_name(json_array_get(pods, 0)), "node-a", true);
    run(f);
    json_t *rs = get_obj(f, "ReplicaSet", "web");
    assert_int_equal(status_int(rs, "readyReplicas"), 1);
    assert_int_equal(status_int(rs, "availableReplicas"), 0); /* not ready for 30 s yet */
    json_decref(rs);
    f->env.now += 31;
    run(f);
    rs = get_obj(f, "ReplicaSet", "web");
    assert_int_equal(status_int(rs, "availableReplicas"), 1);
    assert_int_equal(status_int(rs, "fullyLabeledReplicas"), 2);
    json_decref(rs);
    json_decref(pods);
}

static bool exists(struct fixture *f, const char *kind, const char *name)
{
    json_t *o = get_obj(f, kind, name);
    json_decref(o);
    return o != NULL;
}

static void scale_down_order(void **state)
{
    struct fixture *f = *state;
    put_obj(f, replicaset("web", 5, 0));
    run(f);
    json_t *pods = list_kind(f, "Pod");
    char names[5][64];
    for (int i = 0; i < 5; i++)
        snprintf(names[i], sizeof names[i], "%s", ks_ctl_name(json_array_get(pods, (size_t)i)));
    json_decref(pods);
    /* 0: unscheduled; 1: scheduled, not ready; 2,3,4: ready, 4 the most recently ready */
    agent_set(f, names[1], "node-a", false);
    agent_set(f, names[2], "node-a", true);
    agent_set(f, names[3], "node-b", true);
    f->env.now += 10;
    agent_set(f, names[4], "node-c", true);
    run(f);
    set_replicas(f, "web", 4);
    run(f);
    assert_false(exists(f, "Pod", names[0]));
    set_replicas(f, "web", 3);
    run(f);
    assert_false(exists(f, "Pod", names[1]));
    /* ready pods: node-a and node-b hold one pod each, as node-c: the most recently ready goes */
    set_replicas(f, "web", 2);
    run(f);
    assert_false(exists(f, "Pod", names[4]));
    assert_true(exists(f, "Pod", names[2]));
    assert_true(exists(f, "Pod", names[3]));
    json_t *rs = get_obj(f, "ReplicaSet", "web");
    assert_int_equal(status_int(rs, "replicas"), 2);
    assert_int_equal(status_int(rs, "readyReplicas"), 2);
    json_decref(rs);
}

static void adopts_and_releases(void **state)
{
    struct fixture *f = *state;
    put_obj(f, json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{}}", "apiVersion", "v1", "kind", "Pod",
                         "metadata", "name", "stray", "labels", "app", "web", "spec"));
    put_obj(f, replicaset("web", 2, 0));
    run(f);
    json_t *rs = get_obj(f, "ReplicaSet", "web");
    json_t *stray = get_obj(f, "Pod", "stray");
    assert_string_equal(ks_ctl_controller_uid(stray), ks_ctl_uid(rs));
    json_t *pods = pods_of(f, rs);
    assert_int_equal(json_array_size(pods), 2); /* the stray plus one new */
    json_decref(pods);
    /* relabel the stray away: released, and replaced */
    ks_ctl_set(json_object_get(stray, "metadata"), "labels", "app", json_string("other"));
    put_obj(f, stray);
    run(f);
    stray = get_obj(f, "Pod", "stray");
    assert_null(ks_ctl_controller_uid(stray));
    pods = pods_of(f, rs);
    assert_int_equal(json_array_size(pods), 2);
    json_decref(pods);
    json_decref(stray);
    json_decref(rs);
}

/* Two ReplicaSets whose selectors both match an orphan, synced in one step
 * over one shared pod list: exactly one adopts it, no write conflicts. */
static void overlapping_selectors(void **state)
{
    struct fixture *f = *state;
    put_obj(f, json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{}}", "apiVersion", "v1", "kind", "Pod",
                         "metadata", "name", "stray", "labels", "app", "web", "spec"));
    put_obj(f, replicaset("a", 2, 0));
    put_obj(f, replicaset("b", 2, 0));
    run(f);
    json_t *a = get_obj(f, "ReplicaSet", "a"), *b = get_obj(f, "ReplicaSet", "b");
    json_t *pa = pods_of(f, a), *pb = pods_of(f, b), *all = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pa), 2);
    assert_int_equal(json_array_size(pb), 2);
    assert_int_equal(json_array_size(all), 4);
    json_t *stray = get_obj(f, "Pod", "stray");
    assert_string_equal(ks_ctl_controller_uid(stray), ks_ctl_uid(a));
    json_decref(stray);
    json_decref(pa);
    json_decref(pb);
    json_decref(all);
    json_decref(a);
    json_decref(b);
}

static void invalid_spec_in_status(void **state)
{
    struct fixture *f = *state;
    json_t *rs = replicaset("web", 2, 0);
    ks_ctl_set(rs, "spec", "selector", json_pack("{s:{s:s}}", "matchLabels", "app", "db"));
    put_obj(f, rs);
    run(f);
    rs = get_obj(f, "ReplicaSet", "web");
    json_t *c = json_array_get(ks_ctl_at(rs, "status", "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "ReplicaFailure");
    assert_non_null(strstr(json_string_value(json_object_get(c, "message")), "spec.selector"));
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 0);
    char reason[256];
    assert_int_equal(ks_health_of(rs, reason, sizeof reason), KS_HEALTH_DEGRADED);
    json_decref(pods);
    json_decref(rs);
    /* replicas above the limit */
    rs = replicaset("big", KS_CTL_MAX_REPLICAS + 1, 0);
    put_obj(f, rs);
    run(f);
    rs = get_obj(f, "ReplicaSet", "big");
    c = json_array_get(ks_ctl_at(rs, "status", "conditions"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(c, "message")), "limit"));
    json_decref(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(creates_pods, setup, teardown),
        cmocka_unit_test_setup_teardown(names_follow_the_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(status_counts_ready_and_available, setup, teardown),
        cmocka_unit_test_setup_teardown(scale_down_order, setup, teardown),
        cmocka_unit_test_setup_teardown(adopts_and_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_selectors, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_spec_in_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
