/*
 * test_scores.c: score plugins with kube-scheduler's arithmetic and
 * weights (values checked by hand), the non-zero request defaults,
 * normalisation, sampling of feasible nodes (percentageOfNodesToScore) with
 * its rotation, and the explain JSON of a bound pod.
 */
#include "sched_test.h"

static struct ks_sched_result two_node_place(struct ks_sched *s, int64_t cpu, int64_t mem)
{
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {
        .name = "p", .containers = one_container(&c, cpu, mem), .ncontainers = 1};
    return place(s, &p, false);
}

static void least_allocated_and_weights(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "small", 2000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "big", 4000, 8 * GI, NULL, 0, NULL, 0);
    struct ks_sched_result r = two_node_place(s, 1000, 2 * GI);
    assert_int_equal(r.scores[KS_SCHED_SCORE_FIT], 75);
    assert_int_equal(r.scores[KS_SCHED_SCORE_BALANCED], 100);
    assert_int_equal(r.scores[KS_SCHED_SCORE_TAINT], 300);
    assert_int_equal(r.scores[KS_SCHED_SCORE_NODE_AFFINITY], 0);
    assert_int_equal(r.score, 475);
    assert_int_equal(ks_sched_score_weight(KS_SCHED_SCORE_TAINT), 3);
    assert_string_equal(ks_sched_score_name(KS_SCHED_SCORE_BALANCED),
                        "NodeResourcesBalancedAllocation");
    expect_node(r, "big");
    ks_sched_free(s);
}

/* Identical replicas reuse per-node scores; a node that took a pod must be
 * re-scored, and the reported breakdown adds up to the total. */
static void identical_pods_rescore_changed_nodes(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "a", 2000, 8 * GI, NULL, 0, NULL, 0);
    node_add(s, "b", 1900, 8 * GI, NULL, 0, NULL, 0);
    const char *want[] = {"a", "b", "a"};
    for (int i = 0; i < 3; i++) {
        struct ks_sched_container c;
        char name[8];
        snprintf(name, sizeof(name), "r%d", i);
        struct ks_sched_pod_spec p = {
            .name = name, .containers = one_container(&c, 600, -1), .ncontainers = 1};
        struct ks_sched_result r = place(s, &p, false);
        int64_t sum = 0;
        for (int k = 0; k < KS_SCHED_NSCORES; k++)
            sum += r.scores[k];
        assert_int_equal(sum, r.score);
        expect_node(r, want[i]);
    }
    ks_sched_free(s);
}

static void zero_requests_use_defaults(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "a", 1000, 1000 * MI, NULL, 0, NULL, 0);
    node_add(s, "b", 1000, 1000 * MI, NULL, 0, NULL, 0);
    struct ks_sched_result r = two_node_place(s, -1, -1);
    /* cpu (1000-100)/1000 = 90, memory (1000-200)/1000 = 80 */
    assert_int_equal(r.scores[KS_SCHED_SCORE_FIT], 85);
    /* balanced uses the real (zero) requests */
    assert_int_equal(r.scores[KS_SCHED_SCORE_BALANCED], 100);
    expect_node(r, NULL);
    ks_sched_free(s);
}

static void balanced_allocation(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "a", 1000, 1000 * MI, NULL, 0, NULL, 0);
    node_add(s, "b", 1000, 1000 * MI, NULL, 0, NULL, 0);
    struct ks_sched_result r = two_node_place(s, 500, 100 * MI);
    assert_int_equal(r.scores[KS_SCHED_SCORE_FIT], 70);      /* (50 + 90) / 2 */
    assert_int_equal(r.scores[KS_SCHED_SCORE_BALANCED], 80); /* 1 - |0.5 - 0.1| / 2 */
    expect_node(r, NULL);
    ks_sched_free(s);
}

static void prefer_no_schedule(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_taint soft = {"spot", "true", KS_SCHED_EFFECT_PREFER_NO_SCHEDULE};
    node_add(s, "tainted", 8000, 8 * GI, NULL, 0, &soft, 1);
    node_add(s, "clean", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_result r = two_node_place(s, 100, MI);
    assert_int_equal(r.scores[KS_SCHED_SCORE_TAINT], 300);
    expect_node(r, "clean");
    /* tolerated (empty effect): the bigger node wins on resources */
    struct ks_sched_toleration t = {"spot", false, "true", KS_SCHED_EFFECT_ANY};
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {.name = "tolerant",
                                  .containers = one_container(&c, 100, MI),
                                  .ncontainers = 1,
                                  .tolerations = &t,
                                  .ntolerations = 1};
    expect_node(place(s, &p, false), "tainted");
    ks_sched_free(s);
}

static void preferred_node_affinity(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_kv ssd = {"disk", "ssd"};
    node_add(s, "plain", 8000, 8 * GI, NULL, 0, NULL, 0);
    node_add(s, "fast", 4000, 4 * GI, &ssd, 1, NULL, 0);
    const char *v[] = {"ssd"};
    struct ks_sched_req req = {"disk", KS_SCHED_OP_IN, v, 1};
    struct ks_sched_pref_term pref = {10, {&req, 1, NULL, 0}};
    struct ks_sched_pod_spec p = {.name = "p", .preferred = &pref, .npreferred = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.scores[KS_SCHED_SCORE_NODE_AFFINITY], 200);
    expect_node(r, "fast");
    ks_sched_free(s);
}

static void default_spreading_by_owner(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n1", 64000, 64 * GI, NULL, 0, NULL, 0);
    node_add(s, "n2", 64000, 64 * GI, NULL, 0, NULL, 0);
    node_add(s, "n3", 64000, 64 * GI, NULL, 0, NULL, 0);
    int count[3] = {0};
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", i);
        struct ks_sched_pod_spec p = {.name = name, .owner_uid = "rs-uid"};
        struct ks_sched_result r = place(s, &p, false);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        assert_int_equal(r.scores[KS_SCHED_SCORE_SPREAD], 200);
        count[r.node[1] - '1']++;
        ks_sched_result_release(&r);
    }
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 2);
    assert_int_equal(count[2], 2);
    ks_sched_free(s);
}

/* Hundreds of controllers: each one's replicas still spread, and deleting
 * every pod of a controller drops its terms (re-adding works). */
static void many_owners_spread(void **state)
{
    struct ks_sched *s = sched_mk(3);
    char name[32], owner[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        node_add(s, name, 64000, 256 * GI, NULL, 0, NULL, 0);
    }
    for (int round = 0; round < 2; round++) {
        for (int o = 0; o < 300; o++) {
            const char *seen[3];
            snprintf(owner, sizeof(owner), "rs-%d", o);
            for (int r = 0; r < 3; r++) {
                snprintf(name, sizeof(name), "%s-%d", owner, r);
                struct ks_sched_pod_spec p = {.name = name, .owner_uid = owner};
                struct ks_sched_result res = place(s, &p, false);
                assert_int_equal(res.status, KS_SCHED_BOUND);
                seen[r] = res.node;
                for (int k = 0; k < r; k++)
                    assert_string_not_equal(seen[k], res.node);
                ks_sched_result_release(&res);
            }
        }
        for (int o = 0; o < 300; o++) {
            for (int r = 0; r < 3; r++) {
                uint32_t id;
                snprintf(name, sizeof(name), "rs-%d-%d", o, r);
                assert_int_equal(ks_sched_pod_find(&id, s, NULL, name), 0);
                assert_int_equal(ks_sched_pod_remove(s, id), 0);
            }
        }
    }
    ks_sched_free(s);
}

static void soft_zone_spread(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_kv za = {KS_SCHED_ZONE_KEY, "a"}, zb = {KS_SCHED_ZONE_KEY, "b"};
    struct ks_sched_kv app = {"app", "x"};
    node_add(s, "a1", 64000, 64 * GI, &za, 1, NULL, 0);
    node_add(s, "b1", 4000, 4 * GI, &zb, 1, NULL, 0);
    struct ks_sched_pod_spec pre = {.name = "x0", .labels = &app, .nlabels = 1, .node_name = "a1"};
    pod_add(s, &pre);
    struct ks_sched_spread c = {
        1, KS_SCHED_ZONE_KEY, false, {.match_labels = &app, .nmatch_labels = 1}};
    struct ks_sched_pod_spec p = {
        .name = "x1", .labels = &app, .nlabels = 1, .spread = &c, .nspread = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.scores[KS_SCHED_SCORE_SPREAD], 200);
    expect_node(r, "b1");
    ks_sched_free(s);
}

/* Soft spreading counts only nodes the pod could use: matching pods on a
 * node its selector excludes do not make that zone look crowded. */
static void soft_spread_counts_eligible_nodes(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_kv a_ok[] = {{KS_SCHED_ZONE_KEY, "a"}, {"pool", "ok"}};
    struct ks_sched_kv a_no[] = {{KS_SCHED_ZONE_KEY, "a"}, {"pool", "no"}};
    struct ks_sched_kv b_ok[] = {{KS_SCHED_ZONE_KEY, "b"}, {"pool", "ok"}};
    struct ks_sched_kv app = {"app", "x"}, ok = {"pool", "ok"};
    node_add(s, "a1", 64000, 64 * GI, a_ok, 2, NULL, 0);
    node_add(s, "a2", 4000, 4 * GI, a_no, 2, NULL, 0);
    node_add(s, "b1", 4000, 4 * GI, b_ok, 2, NULL, 0);
    for (int i = 0; i < 2; i++) {
        char name[8];
        snprintf(name, sizeof(name), "x%d", i);
        struct ks_sched_pod_spec pre = {
            .name = name, .labels = &app, .nlabels = 1, .node_name = "a2"};
        pod_add(s, &pre);
    }
    struct ks_sched_spread c = {
        1, KS_SCHED_ZONE_KEY, false, {.match_labels = &app, .nmatch_labels = 1}};
    struct ks_sched_container ct;
    struct ks_sched_pod_spec p = {.name = "new",
                                  .labels = &app,
                                  .nlabels = 1,
                                  .spread = &c,
                                  .nspread = 1,
                                  .node_selector = &ok,
                                  .nnode_selector = 1,
                                  .containers = one_container(&ct, 1000, -1),
                                  .ncontainers = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.scores[KS_SCHED_SCORE_SPREAD], 200); /* both domains at 0 */
    expect_node(r, "a1");
    ks_sched_free(s);
}

static void preferred_pod_affinity(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_kv db = {"app", "db"}, web = {"app", "web"};
    node_add(s, "n1", 8000, 8 * GI, NULL, 0, NULL, 0);
    node_add(s, "n2", 4000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "n3", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_pod_spec dbp = {.name = "db", .labels = &db, .nlabels = 1, .node_name = "n2"};
    pod_add(s, &dbp);
    /* near the db (weight 100) beats the bigger n1 */
    struct ks_sched_weighted_pod_term near = {
        100, {{.match_labels = &db, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0}};
    struct ks_sched_pod_spec p = {.name = "web",
                                  .labels = &web,
                                  .nlabels = 1,
                                  .preferred_affinity = &near,
                                  .npreferred_affinity = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.scores[KS_SCHED_SCORE_INTERPOD], 200);
    expect_node(r, "n2");
    /* away from the db: n1 or n3, never n2 */
    struct ks_sched_pod_spec q = {
        .name = "batch", .preferred_anti_affinity = &near, .npreferred_anti_affinity = 1};
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "batch-%d", i);
        q.name = name;
        r = place(s, &q, false);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        assert_string_not_equal(r.node, "n2");
        ks_sched_result_release(&r);
    }
    /* symmetry: a cache pod preferring web pods pulls nothing, but a web pod
     * is drawn to where a pod preferring web runs */
    struct ks_sched_weighted_pod_term likes_web = {
        50, {{.match_labels = &web, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0}};
    struct ks_sched_pod_spec fan = {.name = "fan",
                                    .node_name = "n3",
                                    .preferred_affinity = &likes_web,
                                    .npreferred_affinity = 1};
    pod_add(s, &fan);
    struct ks_sched_pod_spec web2 = {.name = "web2", .labels = &web, .nlabels = 1};
    r = place(s, &web2, false);
    assert_int_equal(r.scores[KS_SCHED_SCORE_INTERPOD], 200);
    expect_node(r, "n3");
    ks_sched_free(s);
}

static void image_locality(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_image img = {"nginx:latest", 500 * MI};
    struct ks_sched_node_spec warm = {.name = "warm",
                                      .cpu_milli = 4000,
                                      .memory = 4 * GI,
                                      .pods = 10,
                                      .images = &img,
                                      .nimages = 1};
    assert_int_equal(ks_sched_node_set(s, &warm), 0);
    node_add(s, "cold", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_container c;
    one_container(&c, 100, MI);
    c.image = "nginx"; /* normalised to nginx:latest */
    struct ks_sched_pod_spec p = {.name = "web", .containers = &c, .ncontainers = 1};
    struct ks_sched_result r = place(s, &p, false);
    /* 500 MB * 1/2 nodes = 250 MB -> (250 - 23) * 100 / (1000 - 23) */
    assert_int_equal(r.scores[KS_SCHED_SCORE_IMAGE], 23);
    expect_node(r, "warm");
    ks_sched_free(s);
}

static int atoi_checked(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    assert_true(end && *end == '\0');
    return (int)v;
}

static void sampling_and_rotation(void **state)
{
    struct {
        int nodes, pct, want;
    } cases[] = {{50, 0, 50},      {1000, 0, 420},    {5000, 0, 500},
                 {20000, 0, 1000}, {1000, 100, 1000}, {1000, 5, 100}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct ks_sched *s = NULL;
        struct ks_sched_config cfg = {.seed = 1, .percentage_of_nodes_to_score = cases[k].pct};
        assert_int_equal(ks_sched_new(&s, &cfg), 0);
        for (int i = 0; i < cases[k].nodes; i++) {
            char name[16];
            snprintf(name, sizeof(name), "n%d", i);
            node_add(s, name, 4000, 4 * GI, NULL, 0, NULL, 0);
        }
        struct ks_sched_pod_spec p = {.name = "a"};
        struct ks_sched_result r = place(s, &p, false);
        assert_int_equal(r.nodes_evaluated, cases[k].want);
        assert_int_equal(r.nodes_feasible, cases[k].want);
        assert_int_equal(r.nodes_total, cases[k].nodes);
        ks_sched_result_release(&r);
        /* the next cycle starts where this one stopped */
        p.name = "b";
        r = place(s, &p, false);
        int idx = atoi_checked(r.node + 1);
        int start = cases[k].want % cases[k].nodes;
        assert_true(cases[k].want == cases[k].nodes ||
                    (idx >= start && idx < start + cases[k].want));
        ks_sched_result_release(&r);
        ks_sched_free(s);
    }
}

/* Nodes are visited zone by zone in turn (kube-scheduler's node tree), so
 * a sample spans zones even when one zone's nodes all arrived first. */
static void sampling_interleaves_zones(void **state)
{
    struct ks_sched *s = NULL;
    struct ks_sched_config cfg = {.seed = 1, .percentage_of_nodes_to_score = 50};
    assert_int_equal(ks_sched_new(&s, &cfg), 0);
    char name[16];
    for (int i = 0; i < 200; i++) {
        struct ks_sched_kv z = {KS_SCHED_ZONE_KEY, i < 100 ? "a" : "b"};
        snprintf(name, sizeof(name), "%s%d", z.value, i);
        /* zone b's nodes are bigger: they win whenever they are sampled */
        node_add(s, name, i < 100 ? 2000 : 8000, 8 * GI, &z, 1, NULL, 0);
    }
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {
        .name = "p", .containers = one_container(&c, 500, GI), .ncontainers = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.nodes_evaluated, 100);
    assert_int_equal(r.status, KS_SCHED_BOUND);
    assert_int_equal(r.node[0], 'b');
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

static void explain_json(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "small", 2000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "big", 4000, 8 * GI, NULL, 0, NULL, 0);
    struct ks_sched_result r = two_node_place(s, 1000, 2 * GI);
    json_t *j = ks_sched_result_to_json(s, &r);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "{\"node\":\"big\",\"nodes\":{\"evaluated\":2,\"feasible\":2,\"total\":2},"
                        "\"pod\":\"default/p\",\"score\":475,\"scores\":{\"ImageLocality\":0,"
                        "\"InterPodAffinity\":0,"
                        "\"NodeAffinity\":0,\"NodeResourcesBalancedAllocation\":100,"
                        "\"NodeResourcesFit\":75,\"PodTopologySpread\":0,\"TaintToleration\":300},"
                        "\"status\":\"bound\"}");
    free(text);
    json_decref(j);
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_allocated_and_weights),
        cmocka_unit_test(identical_pods_rescore_changed_nodes),
        cmocka_unit_test(zero_requests_use_defaults),
        cmocka_unit_test(balanced_allocation),
        cmocka_unit_test(prefer_no_schedule),
        cmocka_unit_test(preferred_node_affinity),
        cmocka_unit_test(default_spreading_by_owner),
        cmocka_unit_test(soft_zone_spread),
        cmocka_unit_test(preferred_pod_affinity),
        cmocka_unit_test(soft_spread_counts_eligible_nodes),
        cmocka_unit_test(many_owners_spread),
        cmocka_unit_test(image_locality),
        cmocka_unit_test(sampling_and_rotation),
        cmocka_unit_test(sampling_interleaves_zones),
        cmocka_unit_test(explain_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
