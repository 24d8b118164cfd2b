/*
 * test_ctl_deployment.c: the Deployment controller through the driver, with
 * a fake agent making pods Ready between runs: one ReplicaSet and its pods
 * for a new Deployment, a RollingUpdate that never drops below the ready
 * minimum, percentages, proportional scaling mid-rollout, Recreate
 * ordering (read from the store's change log), scale-down of not-ready
 * pods first, revert reusing the old ReplicaSet, revisionHistoryLimit,
 * paused, the progress deadline, garbage collection on delete, invalid
 * strategies, hash collisions, many Deployments at once, and health. */
#include "test_ctl_fixture.h"

static json_t *deployment(const char *name, int replicas, const char *image)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:i, s:{s:{s:s}}, s:o}}", "apiVersion",
                     "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace",
                     "default", "annotations", "keelson.io/source", "apps/web.yaml", "spec",
                     "replicas", replicas, "selector", "matchLabels", "app", "web", "template",
                     pod_template("web", image));
}

static void put_deploy_with(struct fixture *f, json_t *d, const char *field, json_t *value)
{
    ks_ctl_set(d, "spec", field, value);
    put_obj(f, d);
}

/* Reads the stored Deployment, changes spec.<field>, writes it back. */
static void edit(struct fixture *f, const char *field, json_t *value)
{
    put_deploy_with(f, get_obj(f, "Deployment", "web"), field, value);
}

static void set_image(struct fixture *f, const char *image)
{
    edit(f, "template", pod_template("web", image));
}

static json_t *replicasets(struct fixture *f)
{
    return list_kind(f, "ReplicaSet");
}

static json_t *rs_with_image(struct fixture *f, const char *image)
{
    json_t *all = replicasets(f), *found = NULL;
    size_t i;
    json_t *rs;
    json_array_foreach(all, i, rs)
    {
        json_t *c0 =
            json_array_get(ks_ctl_at(ks_ctl_at(rs, "spec", "template"), "spec", "containers"), 0);
        if (!strcmp(json_string_value(json_object_get(c0, "image")), image))
            found = json_incref(rs);
    }
    json_decref(all);
    return found;
}

static int64_t spec_replicas(const json_t *rs)
{
    return json_integer_value(ks_ctl_at(rs, "spec", "replicas"));
}

static const char *condition_reason(const json_t *d, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(ks_ctl_at(d, "status", "conditions"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "type")), type))
            return json_string_value(json_object_get(c, "reason"));
    }
    return "";
}

/* Runs and readies pods until the Deployment reports complete; checks the
 * ready floor and the pod ceiling after every run. Returns rounds used. */
static int roll(struct fixture *f, int64_t min_ready, int64_t max_pods)
{
    for (int round = 1; round <= 40; round++) {
        run(f);
        json_t *pods = list_kind(f, "Pod");
        assert_true((int64_t)json_array_size(pods) <= max_pods);
        json_decref(pods);
        assert_true(ready_pods(f) >= min_ready);
        json_t *d = get_obj(f, "Deployment", "web");
        bool done = !strcmp(condition_reason(d, "Progressing"), "NewReplicaSetAvailable");
        json_decref(d);
        if (done)
            return round;
        agent_ready_all(f);
        f->env.now += 1;
    }
    fail_msg("rollout did not complete in 40 rounds");
    return 0;
}

static void three_replicas(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 3, "nginx:1"));
    run(f);
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 1);
    json_t *rs = json_array_get(rss, 0);
    const char *hash =
        ks_ctl_str(ks_ctl_at(rs, "metadata", "labels"), KS_LABEL_POD_TEMPLATE_HASH, NULL);
    assert_non_null(hash);
    char want[64], computed[16];
    json_t *tmpl = pod_template("web", "nginx:1");
    assert_int_equal(ks_ctl_pod_template_hash(computed, sizeof computed, tmpl, 0), 0);
    json_decref(tmpl);
    assert_string_equal(hash, computed);
    snprintf(want, sizeof want, "web-%s", hash);
    assert_string_equal(ks_ctl_name(rs), want);
    assert_null(json_object_get(ks_ctl_at(rs, "metadata", "annotations"), "keelson.io/source"));
    json_t *pods = pods_of(f, rs);
    assert_int_equal(json_array_size(pods), 3);
    assert_string_equal(ks_ctl_str(ks_ctl_at(json_array_get(pods, 0), "metadata", "labels"),
                                   KS_LABEL_POD_TEMPLATE_HASH, NULL),
                        hash);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "replicas"), 3);
    assert_int_equal(status_int(d, "updatedReplicas"), 3);
    assert_int_equal(status_int(d, "availableReplicas"), 0);
    assert_string_equal(condition_reason(d, "Available"), "MinimumReplicasUnavailable");
    char reason[256];
    assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_PROGRESSING);
    json_decref(d);
    agent_ready_all(f);
    run(f);
    d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "readyReplicas"), 3);
    assert_int_equal(status_int(d, "availableReplicas"), 3);
    assert_string_equal(condition_reason(d, "Available"), "MinimumReplicasAvailable");
    assert_string_equal(condition_reason(d, "Progressing"), "NewReplicaSetAvailable");
    assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_HEALTHY);
    json_decref(d);
    json_decref(pods);
    json_decref(rss);
}

static void rolling_surge_one(void **state)
{
    struct fixture *f = *state;
    json_t *d = deployment("web", 3, "nginx:1");
    put_deploy_with(f, d, "strategy",
                    json_pack("{s:s, s:{s:i, s:i}}", "type", "RollingUpdate", "rollingUpdate",
                              "maxSurge", 1, "maxUnavailable", 0));
    roll(f, 0, 3);
    set_image(f, "nginx:2");
    int rounds = roll(f, 3, 4);
    assert_true(rounds >= 3); /* one new pod at a time */
    json_t *old = rs_with_image(f, "nginx:1"), *cur = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(old), 0);
    assert_int_equal(status_int(old, "replicas"), 0);
    assert_int_equal(spec_replicas(cur), 3);
    json_t *pods = pods_of(f, cur);
    assert_int_equal(json_array_size(pods), 3);
    json_decref(pods);
    pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 3);
    assert_string_equal(json_string_value(json_object_get(ks_ctl_at(cur, "metadata", "annotations"),
                                                          KS_ANNOTATION_REVISION)),
                        "2");
    json_decref(pods);
    json_decref(old);
    json_decref(cur);
}

static void rolling_percentages(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 10, "nginx:1")); /* defaults: 25% surge (3), 25% unavailable (2) */
    roll(f, 0, 10);
    set_image(f, "nginx:2");
    run(f);
    json_t *old = rs_with_image(f, "nginx:1"), *cur = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(old), 8);
    assert_int_equal(spec_replicas(cur), 5);
    assert_int_equal(ready_pods(f), 8);
    json_decref(old);
    json_decref(cur);
    roll(f, 8, 13);
}

/* A replicas change in the middle of a rollout is spread over the active
 * ReplicaSets in proportion (Kubernetes' proportional scaling). */
static void proportional_scaling(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 10, "nginx:1"));
    roll(f, 0, 10);
    set_image(f, "nginx:2");
    run(f); /* new 5, old 8 (see rolling_percentages) */
    edit(f, "replicas", json_integer(20));
    run(f);
    json_t *old = rs_with_image(f, "nginx:1"), *cur = rs_with_image(f, "nginx:2");
    /* 20 + 25% surge = 25 allowed, 12 to add: old 8*25/13 -> 15, new 5*25/13 -> 10 */
    assert_int_equal(spec_replicas(old), 15);
    assert_int_equal(spec_replicas(cur), 10);
    assert_string_equal(json_string_value(json_object_get(ks_ctl_at(cur, "metadata", "annotations"),
                                                          KS_ANNOTATION_DESIRED_REPLICAS)),
                        "20");
    json_decref(old);
    json_decref(cur);
    roll(f, 0, 25);
    old = rs_with_image(f, "nginx:1");
    cur = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(old), 0);
    assert_int_equal(spec_replicas(cur), 20);
    json_decref(old);
    json_decref(cur);
    /* and back down while paused with one active ReplicaSet */
    edit(f, "paused", json_true());
    edit(f, "replicas", json_integer(4));
    run(f);
    cur = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(cur), 4);
    json_decref(cur);
}

static void recreate_scales_old_first(void **state)
{
    struct fixture *f = *state;
    json_t *d = deployment("web", 3, "nginx:1");
    put_deploy_with(f, d, "strategy", json_pack("{s:s}", "type", "Recreate"));
    roll(f, 0, 3);
    int64_t since = 0;
    ks_store_revision(&since, f->store);
    set_image(f, "nginx:2");
    roll(f, 0, 3);
    json_t *cur = rs_with_image(f, "nginx:2");
    json_t *changes = NULL;
    assert_int_equal(ks_store_changes_since(&changes, f->store, since, 10000), 0);
    int64_t last_old_delete = 0, new_rs_create = 0, deletes = 0;
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *kind = json_string_value(json_object_get(c, "kind"));
        const char *name = json_string_value(json_object_get(c, "name"));
        int64_t rev = json_integer_value(json_object_get(c, "revision"));
        if (!strcmp(type, "delete") && !strcmp(kind, "Pod")) {
            last_old_delete = rev;
            deletes++;
        }
        if (!strcmp(type, "put") && !strcmp(kind, "ReplicaSet") &&
            !strcmp(name, ks_ctl_name(cur)) && !new_rs_create)
            new_rs_create = rev;
    }
    assert_int_equal(deletes, 3);
    assert_true(new_rs_create > last_old_delete);
    json_t *old = rs_with_image(f, "nginx:1");
    assert_int_equal(spec_replicas(old), 0);
    assert_int_equal(spec_replicas(cur), 3);
    json_decref(old);
    json_decref(changes);
    json_decref(cur);
}

static void scale_down_not_ready_first(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 3, "nginx:1"));
    roll(f, 0, 3);
    json_t *before = list_kind(f, "Pod");
    edit(f, "replicas", json_integer(5));
    run(f);
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 5);
    json_decref(pods);
    /* the two new pods get scheduled but never become ready */
    pods = list_kind(f, "Pod");
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (!ks_ctl_pod_ready(p))
            agent_set(f, ks_ctl_name(p), "node-b", false);
    }
    json_decref(pods);
    edit(f, "replicas", json_integer(3));
    run(f);
    pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(pods), 3);
    assert_int_equal(ready_pods(f), 3);
    json_array_foreach(before, i, p)
    {
        json_t *still = get_obj(f, "Pod", ks_ctl_name(p));
        assert_non_null(still);
        json_decref(still);
    }
    json_decref(pods);
    json_decref(before);
}

static void revert_reuses_old_rs(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 2, "nginx:1"));
    roll(f, 0, 2);
    json_t *first = rs_with_image(f, "nginx:1");
    set_image(f, "nginx:2");
    roll(f, 0, 3);
    set_image(f, "nginx:1");
    roll(f, 0, 3);
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 2);
    json_t *again = rs_with_image(f, "nginx:1");
    assert_string_equal(ks_ctl_name(again), ks_ctl_name(first));
    assert_string_equal(ks_ctl_uid(again), ks_ctl_uid(first));
    assert_string_equal(json_string_value(json_object_get(
                            ks_ctl_at(again, "metadata", "annotations"), KS_ANNOTATION_REVISION)),
                        "3");
    assert_int_equal(spec_replicas(again), 2);
    json_t *other = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(other), 0);
    json_decref(other);
    json_decref(again);
    json_decref(rss);
    json_decref(first);
}

static void history_limit(void **state)
{
    struct fixture *f = *state;
    json_t *d = deployment("web", 1, "img:0");
    put_deploy_with(f, d, "revisionHistoryLimit", json_integer(1));
    roll(f, 0, 2);
    char image[16];
    for (int i = 1; i <= 4; i++) {
        snprintf(image, sizeof image, "img:%d", i);
        set_image(f, image);
        roll(f, 0, 2);
    }
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 2); /* current + 1 */
    json_decref(rss);
    json_t *kept = rs_with_image(f, "img:3"), *cur = rs_with_image(f, "img:4");
    assert_non_null(kept);
    assert_non_null(cur);
    json_decref(kept);
    json_decref(cur);
    /* default 10 keeps them all */
    edit(f, "revisionHistoryLimit", json_null());
    for (int i = 5; i <= 7; i++) {
        snprintf(image, sizeof image, "img:%d", i);
        set_image(f, image);
        roll(f, 0, 2);
    }
    rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 5);
    json_decref(rss);
}

static void paused(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 2, "nginx:1"));
    roll(f, 0, 2);
    edit(f, "paused", json_true());
    set_image(f, "nginx:2");
    edit(f, "replicas", json_integer(4));
    run(f);
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 1); /* no rollout while paused */
    json_t *rs = rs_with_image(f, "nginx:1");
    assert_int_equal(spec_replicas(rs), 4); /* but scaling applies */
    json_decref(rs);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_string_equal(condition_reason(d, "Progressing"), "DeploymentPaused");
    char reason[256];
    assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_SUSPENDED);
    json_decref(d);
    json_decref(rss);
    agent_ready_all(f);
    run(f);
    assert_int_equal(ready_pods(f), 4);
    edit(f, "paused", json_false());
    roll(f, 3, 5); /* 25% of 4: one surge, one unavailable */
    rs = rs_with_image(f, "nginx:2");
    assert_int_equal(spec_replicas(rs), 4);
    json_decref(rs);
}

static void progress_deadline(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 2, "nginx:1"));
    run(f);
    f->env.now += 300;
    run(f);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_string_not_equal(condition_reason(d, "Progressing"), "ProgressDeadlineExceeded");
    json_decref(d);
    f->env.now += 301; /* 601 s without progress */
    run(f);
    d = get_obj(f, "Deployment", "web");
    assert_string_equal(condition_reason(d, "Progressing"), "ProgressDeadlineExceeded");
    char reason[256];
    assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(reason, "progress deadline"));
    json_decref(d);
    /* pods become ready: complete again */
    agent_ready_all(f);
    run(f);
    d = get_obj(f, "Deployment", "web");
    assert_string_equal(condition_reason(d, "Progressing"), "NewReplicaSetAvailable");
    json_decref(d);
}

static void delete_collects_garbage(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 3, "nginx:1"));
    roll(f, 0, 3);
    set_image(f, "nginx:2");
    run(f); /* mid-rollout: two ReplicaSets with pods */
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 2);
    json_decref(rss);
    struct ks_store_key key = {"Deployment", "default", "web"};
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
    run(f);
    rss = replicasets(f);
    json_t *pods = list_kind(f, "Pod");
    assert_int_equal(json_array_size(rss), 0);
    assert_int_equal(json_array_size(pods), 0);
    json_decref(rss);
    json_decref(pods);
    char reason[64];
    assert_int_equal(ks_health_of(NULL, reason, sizeof reason), KS_HEALTH_MISSING);
}

static void invalid_strategy(void **state)
{
    struct fixture *f = *state;
    json_t *d = deployment("web", 3, "nginx:1");
    put_deploy_with(f, d, "strategy",
                    json_pack("{s:s, s:{s:i, s:s}}", "type", "RollingUpdate", "rollingUpdate",
                              "maxSurge", 0, "maxUnavailable", "0%"));
    run(f);
    d = get_obj(f, "Deployment", "web");
    assert_string_equal(condition_reason(d, "Progressing"), "InvalidSpec");
    char reason[256];
    assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_DEGRADED);
    assert_non_null(strstr(reason, "may not both be 0"));
    json_decref(d);
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 0);
    json_decref(rss);
    /* 10% of 3 rounds down to 0 with maxSurge 0: one may be unavailable (fencepost) */
    edit(f, "strategy",
         json_pack("{s:s, s:{s:i, s:s}}", "type", "RollingUpdate", "rollingUpdate", "maxSurge", 0,
                   "maxUnavailable", "10%"));
    roll(f, 0, 3);
    set_image(f, "nginx:2");
    roll(f, 2, 3);
    d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "updatedReplicas"), 3);
    json_decref(d);
}

static void hash_is_stable(void **state)
{
    (void)state;
    char a[16], b[16], c[16];
    json_t *t1 = pod_template("web", "nginx:1");
    json_t *t2 = json_pack("{s:{s:[{s:s, s:s}]}, s:{s:{s:s, s:s}}}", "spec", "containers", "image",
                           "nginx:1", "name", "main", "metadata", "labels", "app", "web",
                           KS_LABEL_POD_TEMPLATE_HASH, "zzz");
    assert_int_equal(ks_ctl_pod_template_hash(a, sizeof a, t1, 0), 0);
    assert_int_equal(ks_ctl_pod_template_hash(b, sizeof b, t2, 0), 0);
    assert_string_equal(a, b); /* key order and the hash label do not matter */
    assert_int_equal(ks_ctl_pod_template_hash(c, sizeof c, t1, 1), 0);
    assert_string_not_equal(a, c);
    for (const char *p = a; *p; p++)
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    json_decref(t1);
    json_decref(t2);
}

static void hash_collision(void **state)
{
    struct fixture *f = *state;
    char h0[16], h1[16], name[64];
    json_t *tmpl = pod_template("web", "nginx:1");
    assert_int_equal(ks_ctl_pod_template_hash(h0, sizeof h0, tmpl, 0), 0);
    assert_int_equal(ks_ctl_pod_template_hash(h1, sizeof h1, tmpl, 1), 0);
    json_decref(tmpl);
    /* someone else's ReplicaSet already has the name web-<h0> */
    snprintf(name, sizeof name, "web-%s", h0);
    put_obj(f, json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:o}}", "apiVersion", "apps/v1",
                         "kind", "ReplicaSet", "metadata", "name", name, "spec", "replicas", 1,
                         "selector", "matchLabels", "app", "other", "template",
                         pod_template("other", "busybox")));
    put_obj(f, deployment("web", 2, "nginx:1"));
    run(f);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "collisionCount"), 1);
    json_decref(d);
    snprintf(name, sizeof name, "web-%s", h1);
    json_t *rs = get_obj(f, "ReplicaSet", name);
    assert_non_null(rs);
    json_t *pods = pods_of(f, rs);
    assert_int_equal(json_array_size(pods), 2);
    json_decref(pods);
    json_decref(rs);
}

/* Many Deployments at once: all converge, within a bounded number of steps. */
static void many_deployments(void **state)
{
    struct fixture *f = *state;
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "app%02d", i);
        json_t *d = deployment(name, 5, "nginx:1");
        ks_ctl_set(d, "spec", "selector", json_pack("{s:{s:s}}", "matchLabels", "app", name));
        ks_ctl_set(d, "spec", "template", pod_template(name, "nginx:1"));
        put_obj(f, d);
    }
    unsigned steps = 0;
    assert_int_equal(ks_controllers_reconcile_all(&steps, f->store, &f->env), 0);
    assert_true(steps <= 4);
    json_t *pods = list_kind(f, "Pod"), *rss = replicasets(f);
    assert_int_equal(json_array_size(pods), 200);
    assert_int_equal(json_array_size(rss), 40);
    json_decref(pods);
    json_decref(rss);
    agent_ready_all(f);
    assert_int_equal(ks_controllers_reconcile_all(&steps, f->store, &f->env), 0);
    json_t *ds = list_kind(f, "Deployment");
    size_t i;
    json_t *d;
    json_array_foreach(ds, i, d)
    {
        char reason[256];
        assert_int_equal(ks_health_of(d, reason, sizeof reason), KS_HEALTH_HEALTHY);
    }
    json_decref(ds);
}

/* minReadySeconds follows the Deployment onto its current ReplicaSet
 * without a new template (getNewReplicaSet), and availability waits for
 * it. */
static void min_ready_follows(void **state)
{
    struct fixture *f = *state;
    put_obj(f, deployment("web", 2, "nginx:1"));
    roll(f, 0, 2);
    edit(f, "minReadySeconds", json_integer(30));
    run(f);
    json_t *rss = replicasets(f);
    assert_int_equal(json_array_size(rss), 1);
    assert_int_equal(
        json_integer_value(ks_ctl_at(json_array_get(rss, 0), "spec", "minReadySeconds")), 30);
    json_decref(rss);
    json_t *d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "availableReplicas"), 0); /* Ready for ~1 s only */
    json_decref(d);
    f->env.now += 31;
    run(f);
    d = get_obj(f, "Deployment", "web");
    assert_int_equal(status_int(d, "availableReplicas"), 2);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(three_replicas, setup, teardown),
        cmocka_unit_test_setup_teardown(rolling_surge_one, setup, teardown),
        cmocka_unit_test_setup_teardown(rolling_percentages, setup, teardown),
        cmocka_unit_test_setup_teardown(proportional_scaling, setup, teardown),
        cmocka_unit_test_setup_teardown(recreate_scales_old_first, setup, teardown),
        cmocka_unit_test_setup_teardown(scale_down_not_ready_first, setup, teardown),
        cmocka_unit_test_setup_teardown(revert_reuses_old_rs, setup, teardown),
        cmocka_unit_test_setup_teardown(history_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(paused, setup, teardown),
        cmocka_unit_test_setup_teardown(progress_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_collects_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_strategy, setup, teardown),
        cmocka_unit_test_setup_teardown(hash_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(many_deployments, setup, teardown),
        cmocka_unit_test_setup_teardown(min_ready_follows, setup, teardown),
        cmocka_unit_test(hash_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
