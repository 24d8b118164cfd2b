/*
 * test_ctl_daemonset.c: the DaemonSet controller through the driver on a
 * real store: one pod per Ready node, pinned with spec.nodeName; a third
 * node joining gets a pod, a node leaving or turning NotReady loses it;
 * nodeSelector, required node affinity and NoSchedule/NoExecute taints
 * (tolerated or not) decide eligibility; RollingUpdate replaces one pod
 * at a time (maxUnavailable 1) and only as new pods become Ready;
 * OnDelete replaces only deleted pods.
 */
#include "test_ctl_fixture.h"

static void node(struct fixture *f, const char *name, bool ready, json_t *labels, json_t *taints)
{
    json_t *n = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
                          "Node", "metadata", "name", name, "status", "conditions", "type", "Ready",
                          "status", ready ? "True" : "False");
    if (labels)
        ks_ctl_set(n, "metadata", "labels", labels);
    if (taints)
        ks_ctl_set(n, "spec", "taints", taints);
    put_obj(f, n);
}

static void node_delete(struct fixture *f, const char *name)
{
    struct ks_store_key key = {"Node", "", name};
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
}

static json_t *daemonset(const char *image)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:{s:s}}, s:o}}", "apiVersion", "apps/v1",
                     "kind", "DaemonSet", "metadata", "name", "agent", "namespace", "default",
                     "spec", "selector", "matchLabels", "app", "agent", "template",
                     pod_template("agent", image));
}

/* Sets spec.template.spec.<field> of the stored DaemonSet. */
static void edit_pod_spec(struct fixture *f, const char *field, json_t *value)
{
    json_t *ds = get_obj(f, "DaemonSet", "agent");
    json_object_set_new(ks_ctl_at(ks_ctl_at(ds, "spec", "template"), "spec", NULL), field, value);
    put_obj(f, ds);
}

static void set_image(struct fixture *f, const char *image)
{
    json_t *ds = get_obj(f, "DaemonSet", "agent");
    ks_ctl_set(ds, "spec", "template", pod_template("agent", image));
    put_obj(f, ds);
}

/* "node:image,..." of the DaemonSet's pods, by node. */
static const char *placement(struct fixture *f)
{
    static char buf[512];
    json_t *pods = list_kind(f, "Pod");
    const char *names[16];
    const char *images[16];
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (n == 16)
            break;
        names[n] = ks_ctl_str(p, "spec", "nodeName");
        images[n++] = json_string_value(
            json_object_get(json_array_get(ks_ctl_at(p, "spec", "containers"), 0), "image"));
    }
    for (size_t a = 1; a < n; a++) /* sort by node */
        for (size_t b = a; b > 0 && strcmp(names[b], names[b - 1]) < 0; b--) {
            const char *t = names[b];
            names[b] = names[b - 1];
            names[b - 1] = t;
            t = images[b];
            images[b] = images[b - 1];
            images[b - 1] = t;
        }
    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s:%s", i ? "," : "", names[i], images[i]);
    }
    json_decref(pods);
    return buf;
}

static void follows_nodes(void **state)
{
    struct fixture *f = *state;
    node(f, "a", true, NULL, NULL);
    node(f, "b", true, NULL, NULL);
    node(f, "x", false, NULL, NULL); /* not Ready: no pod */
    put_obj(f, daemonset("img:1"));
    run(f);
    assert_string_equal(placement(f), "a:img:1,b:img:1");
    json_t *pods = list_kind(f, "Pod");
    const json_t *labels = ks_ctl_at(json_array_get(pods, 0), "metadata", "labels");
    assert_non_null(ks_ctl_str(labels, "controller-revision-hash", NULL));
    json_t *ds = get_obj(f, "DaemonSet", "agent");
    assert_string_equal(ks_ctl_controller_uid(json_array_get(pods, 0)), ks_ctl_uid(ds));
    assert_int_equal(status_int(ds, "desiredNumberScheduled"), 2);
    assert_int_equal(status_int(ds, "currentNumberScheduled"), 2);
    assert_int_equal(status_int(ds, "numberReady"), 0);
    char why[256];
    assert_int_equal(ks_health_of(ds, why, sizeof why), KS_HEALTH_PROGRESSING);
    json_decref(ds);
    json_decref(pods);
    agent_ready_all(f);
    run(f);
    ds = get_obj(f, "DaemonSet", "agent");
    assert_int_equal(status_int(ds, "numberAvailable"), 2);
    assert_int_equal(status_int(ds, "updatedNumberScheduled"), 2);
    assert_int_equal(ks_health_of(ds, why, sizeof why), KS_HEALTH_HEALTHY);
    json_decref(ds);

    node(f, "c", true, NULL, NULL); /* a third node joins */
    run(f);
    assert_string_equal(placement(f), "a:img:1,b:img:1,c:img:1");
    node_delete(f, "b"); /* leaves */
    run(f);
    assert_string_equal(placement(f), "a:img:1,c:img:1");
    node(f, "a", false, NULL, NULL); /* turns NotReady */
    run(f);
    assert_string_equal(placement(f), "c:img:1");
    ds = get_obj(f, "DaemonSet", "agent");
    assert_int_equal(status_int(ds, "desiredNumberScheduled"), 1);
    json_decref(ds);
}

static void selectors_and_taints(void **state)
{
    struct fixture *f = *state;
    node(f, "ssd1", true, json_pack("{s:s, s:s}", "disk", "ssd", "rank", "5"), NULL);
    node(f, "ssd2", true, json_pack("{s:s, s:s}", "disk", "ssd", "rank", "1"),
         json_pack("[{s:s, s:s, s:s}]", "key", "dedicated", "value", "db", "effect", "NoSchedule"));
    node(f, "hdd", true, json_pack("{s:s}", "disk", "hdd"),
         json_pack("[{s:s, s:s}]", "key", "slow", "effect", "PreferNoSchedule"));
    put_obj(f, daemonset("img:1"));
    run(f);
    assert_string_equal(placement(f), "hdd:img:1,ssd1:img:1"); /* PreferNoSchedule is ignored */
    edit_pod_spec(f, "nodeSelector", json_pack("{s:s}", "disk", "ssd"));
    run(f);
    assert_string_equal(placement(f), "ssd1:img:1");
    edit_pod_spec(f, "tolerations",
                  json_pack("[{s:s, s:s, s:s, s:s}]", "key", "dedicated", "operator", "Equal",
                            "value", "db", "effect", "NoSchedule"));
    run(f);
    assert_string_equal(placement(f), "ssd1:img:1,ssd2:img:1");
    /* NoExecute needs its own toleration */
    node(f, "ssd1", true, json_pack("{s:s, s:s}", "disk", "ssd", "rank", "5"),
         json_pack("[{s:s, s:s}]", "key", "maint", "effect", "NoExecute"));
    run(f);
    assert_string_equal(placement(f), "ssd2:img:1");
    edit_pod_spec(f, "tolerations", json_pack("[{s:s}]", "operator", "Exists"));
    run(f);
    assert_string_equal(placement(f), "ssd1:img:1,ssd2:img:1");
    /* required node affinity: rank > 2, or the node named hdd by field */
    edit_pod_spec(f, "nodeSelector", json_object());
    edit_pod_spec(f, "affinity",
                  json_pack("{s:{s:{s:[{s:[{s:s, s:s, s:[s]}]}, {s:[{s:s, s:s, s:[s]}]}]}}}",
                            "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                            "nodeSelectorTerms", "matchExpressions", "key", "rank", "operator",
                            "Gt", "values", "2", "matchFields", "key", "metadata.name", "operator",
                            "In", "values", "hdd"));
    run(f);
    assert_string_equal(placement(f), "hdd:img:1,ssd1:img:1");
}

static void rolling_update(void **state)
{
    struct fixture *f = *state;
    node(f, "a", true, NULL, NULL);
    node(f, "b", true, NULL, NULL);
    node(f, "c", true, NULL, NULL);
    put_obj(f, daemonset("img:1"));
    run(f);
    agent_ready_all(f);
    run(f);
    set_image(f, "img:2");
    int rounds = 0;
    while (strcmp(placement(f), "a:img:2,b:img:2,c:img:2") && rounds < 20) {
        run(f);
        /* at most one node without a Ready pod at any moment */
        assert_true(ready_pods(f) >= 2);
        json_t *pods = list_kind(f, "Pod");
        assert_true(json_array_size(pods) <= 3);
        json_decref(pods);
        agent_ready_all(f);
        f->env.now++;
        rounds++;
    }
    assert_string_equal(placement(f), "a:img:2,b:img:2,c:img:2");
    assert_true(rounds >= 3); /* one node at a time */
    run(f);
    json_t *ds = get_obj(f, "DaemonSet", "agent");
    assert_int_equal(status_int(ds, "updatedNumberScheduled"), 3);
    assert_int_equal(status_int(ds, "numberAvailable"), 3);
    json_decref(ds);
}

static void on_delete(void **state)
{
    struct fixture *f = *state;
    node(f, "a", true, NULL, NULL);
    node(f, "b", true, NULL, NULL);
    json_t *ds = daemonset("img:1");
    ks_ctl_set(ds, "spec", "updateStrategy", json_pack("{s:s}", "type", "OnDelete"));
    put_obj(f, ds);
    run(f);
    agent_ready_all(f);
    run(f);
    ds = get_obj(f, "DaemonSet", "agent");
    ks_ctl_set(ds, "spec", "template", pod_template("agent", "img:2"));
    put_obj(f, ds);
    run(f);
    assert_string_equal(placement(f), "a:img:1,b:img:1");
    json_t *pods = list_kind(f, "Pod");
    const json_t *victim = json_array_get(pods, 0);
    const char *where = ks_ctl_str(victim, "spec", "nodeName");
    char expect[64];
    snprintf(expect, sizeof expect, "%s",
             !strcmp(where, "a") ? "a:img:2,b:img:1" : "a:img:1,b:img:2");
    assert_int_equal(ks_ctl_delete(&(bool){false}, f->store, victim), 0);
    json_decref(pods);
    run(f);
    assert_string_equal(placement(f), expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(follows_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(selectors_and_taints, setup, teardown),
        cmocka_unit_test_setup_teardown(rolling_update, setup, teardown),
        cmocka_unit_test_setup_teardown(on_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
