/*
 * test_ctl_configmaps.c: ConfigMap/Secret changes rolling workloads
 * through keelson.io/config-hash: env use rolls a Deployment (a new
 * ReplicaSet with another hash, the Deployment object itself untouched),
 * volume-only use does not roll unless keelson.io/restart-on-change is
 * "true", envFrom of a Secret rolls a DaemonSet, and a referenced
 * ConfigMap that appears later counts as a change.
 */
#include "test_ctl_fixture.h"

static void configmap(struct fixture *f, const char *kind, const char *name, const char *value)
{
    put_obj(f, json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", kind,
                         "metadata", "name", name, "namespace", "default", "data", "mode", value));
}

/* A Deployment named name whose container reads ConfigMap settings via
 * env (or mounts it, with volume). */
static json_t *deployment(const char *name, bool volume)
{
    json_t *t = pod_template(name, "img:1");
    json_t *c = json_array_get(ks_ctl_at(t, "spec", "containers"), 0);
    if (volume)
        ks_ctl_set(t, "spec", "volumes",
                   json_pack("[{s:s, s:{s:s}}]", "name", "cfg", "configMap", "name", "settings"));
    else
        json_object_set_new(c, "env",
                            json_pack("[{s:s, s:{s:{s:s, s:s}}}]", "name", "MODE", "valueFrom",
                                      "configMapKeyRef", "name", "settings", "key", "mode"));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:s}}, s:o}}", "apiVersion", "apps/v1",
                     "kind", "Deployment", "metadata", "name", name, "namespace", "default", "spec",
                     "replicas", 2, "selector", "matchLabels", "app", name, "template", t);
}

/* The config hashes of the ReplicaSets of Deployment name, "h1,h2" in
 * name order ("-" for a ReplicaSet without one). */
static const char *hashes(struct fixture *f, const char *name)
{
    static char buf[256];
    json_t *rss = list_kind(f, "ReplicaSet");
    buf[0] = '\0';
    size_t i;
    json_t *rs;
    json_array_foreach(rss, i, rs)
    {
        if (strncmp(ks_ctl_name(rs), name, strlen(name)) || ks_ctl_name(rs)[strlen(name)] != '-')
            continue;
        const char *h = json_string_value(
            json_object_get(ks_ctl_at(ks_ctl_at(rs, "spec", "template"), "metadata", "annotations"),
                            KS_ANNOTATION_CONFIG_HASH));
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", h ? "h" : "-");
    }
    json_decref(rss);
    return buf;
}

static int count_rs(struct fixture *f, const char *name)
{
    int n = 0;
    for (const char *p = hashes(f, name); *p; p++)
        n += *p != ',';
    return n;
}

static void settle(struct fixture *f)
{
    for (int i = 0; i < 10; i++) {
        run(f);
        if (!agent_ready_all(f))
            break;
        f->env.now++;
    }
    run(f);
}

static void env_use_rolls(void **state)
{
    struct fixture *f = *state;
    configmap(f, "ConfigMap", "settings", "a");
    put_obj(f, deployment("web", false));
    settle(f);
    assert_string_equal(hashes(f, "web"), "h");
    json_t *rss = list_kind(f, "ReplicaSet");
    char first[32];
    snprintf(first, sizeof first, "%s",
             json_string_value(
                 json_object_get(ks_ctl_at(ks_ctl_at(json_array_get(rss, 0), "spec", "template"),
                                           "metadata", "annotations"),
                                 KS_ANNOTATION_CONFIG_HASH)));
    json_decref(rss);
    json_t *all = list_kind(f, "Pod"), *pod = json_array_get(all, 0);
    assert_string_equal(json_string_value(json_object_get(ks_ctl_at(pod, "metadata", "annotations"),
                                                          KS_ANNOTATION_CONFIG_HASH)),
                        first);
    json_decref(all);
    settle(f); /* no change: no new ReplicaSet */
    assert_int_equal(count_rs(f, "web"), 1);
    configmap(f, "ConfigMap", "settings", "b");
    settle(f);
    assert_int_equal(count_rs(f, "web"), 2);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_null(json_object_get(ks_ctl_at(ks_ctl_at(d, "spec", "template"), "metadata", NULL),
                                "annotations")); /* the object from Git is not written */
    assert_int_equal(status_int(d, "updatedReplicas"), 2);
    assert_int_equal(status_int(d, "replicas"), 2);
    json_decref(d);
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 2);
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *h = json_string_value(
            json_object_get(ks_ctl_at(p, "metadata", "annotations"), KS_ANNOTATION_CONFIG_HASH));
        assert_non_null(h);
        assert_string_not_equal(h, first);
    }
    json_decref(pods);
    configmap(f, "ConfigMap", "settings", "a"); /* back: the first ReplicaSet is reused */
    settle(f);
    assert_int_equal(count_rs(f, "web"), 2);
}

static void volume_use(void **state)
{
    struct fixture *f = *state;
    configmap(f, "ConfigMap", "settings", "a");
    put_obj(f, deployment("files", true));
    settle(f);
    assert_string_equal(hashes(f, "files"), "-");
    configmap(f, "ConfigMap", "settings", "b");
    settle(f);
    assert_string_equal(hashes(f, "files"), "-"); /* files are updated in place */
    json_t *d = get_obj(f, "Deployment", "files");
    ks_ctl_set(d, "metadata", "annotations",
               json_pack("{s:s}", KS_ANNOTATION_RESTART_ON_CHANGE, "true"));
    put_obj(f, d);
    settle(f);
    assert_int_equal(count_rs(f, "files"), 2); /* the hash appears: one roll */
    configmap(f, "ConfigMap", "settings", "c");
    settle(f);
    assert_int_equal(count_rs(f, "files"), 3);
}

static void secret_rolls_daemonset(void **state)
{
    struct fixture *f = *state;
    configmap(f, "Secret", "creds", "s1");
    put_obj(f, json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
                         "Node", "metadata", "name", "n1", "status", "conditions", "type", "Ready",
                         "status", "True"));
    json_t *t = pod_template("agent", "img:1");
    json_object_set_new(json_array_get(ks_ctl_at(t, "spec", "containers"), 0), "envFrom",
                        json_pack("[{s:{s:s}}]", "secretRef", "name", "creds"));
    put_obj(f, json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:{s:s}}, s:o}}", "apiVersion", "apps/v1",
                         "kind", "DaemonSet", "metadata", "name", "agent", "namespace", "default",
                         "spec", "selector", "matchLabels", "app", "agent", "template", t));
    settle(f);
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 1);
    char before[64];
    snprintf(before, sizeof before, "%s", ks_ctl_name(json_array_get(pods, 0)));
    json_decref(pods);
    settle(f);
    pods = list_kind(f, "Pod");
    assert_string_equal(ks_ctl_name(json_array_get(pods, 0)), before); /* no change, no roll */
    json_decref(pods);
    configmap(f, "Secret", "creds", "s2");
    settle(f);
    pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 1);
    assert_string_not_equal(ks_ctl_name(json_array_get(pods, 0)), before);
    json_decref(pods);
}

static void appearing_configmap(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", false)); /* settings does not exist yet */
    settle(f);
    assert_string_equal(hashes(f, "web"), "h");
    configmap(f, "ConfigMap", "settings", "a");
    settle(f);
    assert_int_equal(count_rs(f, "web"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(env_use_rolls, setup, teardown),
        cmocka_unit_test_setup_teardown(volume_use, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_rolls_daemonset, setup, teardown),
        cmocka_unit_test_setup_teardown(appearing_configmap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
