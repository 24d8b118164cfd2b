/*
 * test_interpod.c: InterPodAffinity and PodTopologySpread filters:
 * anti-affinity among the replicas of one Deployment, existing pods'
 * anti-affinity (symmetry), required affinity including the first pod of a
 * group, namespaces, topology spread with maxSkew 1 across 3 zones, a node
 * missing the key, spread counting only nodes allowed by the pod's node
 * selector, and counts following unbind/remove.
 */
#include "sched_test.h"

static struct ks_sched_kv app_web = {"app", "web"};

static void three_nodes(struct ks_sched *s)
{
    node_add(s, "n1", 4000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "n2", 4000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "n3", 4000, 4 * GI, NULL, 0, NULL, 0);
}

static void anti_affinity_replicas(void **state)
{
    struct ks_sched *s = sched_mk(7);
    three_nodes(s);
    struct ks_sched_pod_term anti = {
        {.match_labels = &app_web, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
    const char *seen[3] = {0};
    char name[16];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "web-%d", i);
        struct ks_sched_pod_spec p = {.name = name,
                                      .labels = &app_web,
                                      .nlabels = 1,
                                      .owner_uid = "rs-1",
                                      .anti_affinity = &anti,
                                      .nanti_affinity = 1};
        struct ks_sched_result r = place(s, &p, false);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[j], r.node);
        seen[i] = r.node;
        ks_sched_result_release(&r);
    }
    struct ks_sched_pod_spec p = {.name = "web-3",
                                  .labels = &app_web,
                                  .nlabels = 1,
                                  .anti_affinity = &anti,
                                  .nanti_affinity = 1};
    expect_message(place(s, &p, false),
                   "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
    /* deleting one replica frees its node */
    uint32_t id;
    assert_int_equal(ks_sched_pod_find(&id, s, "default", "web-1"), 0);
    const char *freed = seen[1];
    char keep[8];
    snprintf(keep, sizeof(keep), "%s", freed);
    assert_int_equal(ks_sched_pod_remove(s, id), 0);
    assert_int_equal(ks_sched_pod_find(&id, s, "default", "web-3"), 0);
    struct ks_sched_result r;
    assert_int_equal(ks_sched_schedule(&r, s, id, false), 0);
    expect_node(r, keep);
    ks_sched_free(s);
}

static void existing_anti_affinity(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n1", 4000, 4 * GI, NULL, 0, NULL, 0);
    node_add(s, "n2", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_kv db = {"app", "db"};
    struct ks_sched_pod_term anti = {
        {.match_labels = &app_web, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
    struct ks_sched_pod_spec loner = {.name = "db",
                                      .labels = &db,
                                      .nlabels = 1,
                                      .node_name = "n1",
                                      .anti_affinity = &anti,
                                      .nanti_affinity = 1};
    pod_add(s, &loner);
    struct ks_sched_kv only_n1 = {KS_SCHED_HOSTNAME_KEY, "n1"};
    struct ks_sched_pod_spec web = {.name = "web",
                                    .labels = &app_web,
                                    .nlabels = 1,
                                    .node_selector = &only_n1,
                                    .nnode_selector = 1};
    expect_message(place(s, &web, false),
                   "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                   "1 node(s) didn't satisfy existing pods anti-affinity rules.");
    /* another namespace is not selected by the term (its namespace is the pod's) */
    web.name = "web-other-ns";
    web.namespace_ = "other";
    expect_node(place(s, &web, false), "n1");
    ks_sched_free(s);
}

static void affinity_first_pod_and_followers(void **state)
{
    struct ks_sched *s = sched_mk(3);
    three_nodes(s);
    struct ks_sched_kv cache = {"app", "cache"};
    struct ks_sched_pod_term with_cache = {
        {.match_labels = &cache, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
    /* a pod needing a cache pod when none exists and it is not one itself */
    struct ks_sched_pod_spec web = {
        .name = "web", .labels = &app_web, .nlabels = 1, .affinity = &with_cache, .naffinity = 1};
    expect_message(place(s, &web, false),
                   "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.");
    /* the first pod of a self-affine group may go anywhere */
    struct ks_sched_pod_spec c0 = {
        .name = "cache-0", .labels = &cache, .nlabels = 1, .affinity = &with_cache, .naffinity = 1};
    struct ks_sched_result r = place(s, &c0, false);
    assert_int_equal(r.status, KS_SCHED_BOUND);
    char first[8];
    snprintf(first, sizeof(first), "%s", r.node);
    ks_sched_result_release(&r);
    for (int i = 1; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "cache-%d", i);
        c0.name = name;
        expect_node(place(s, &c0, false), first);
    }
    uint32_t id;
    assert_int_equal(ks_sched_pod_find(&id, s, "default", "web"), 0);
    assert_int_equal(ks_sched_schedule(&r, s, id, false), 0);
    expect_node(r, first);
    ks_sched_free(s);
}

static void zones(struct ks_sched *s, int per_zone)
{
    const char *zone[] = {"a", "b", "c"};
    for (int z = 0; z < 3; z++) {
        for (int i = 0; i < per_zone; i++) {
            char name[16];
            snprintf(name, sizeof(name), "%s-%d", zone[z], i);
            struct ks_sched_kv l = {KS_SCHED_ZONE_KEY, zone[z]};
            node_add(s, name, 16000, 64 * GI, &l, 1, NULL, 0);
        }
    }
}

static void spread_skew_one_three_zones(void **state)
{
    struct ks_sched *s = sched_mk(11);
    zones(s, 2);
    struct ks_sched_spread c = {
        1, KS_SCHED_ZONE_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}};
    int per_zone[3] = {0};
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof(name), "web-%d", i);
        struct ks_sched_pod_spec p = {
            .name = name, .labels = &app_web, .nlabels = 1, .spread = &c, .nspread = 1};
        struct ks_sched_result r = place(s, &p, false);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        per_zone[r.node[0] - 'a']++;
        int min = per_zone[0], max = per_zone[0];
        for (int z = 1; z < 3; z++) {
            min = per_zone[z] < min ? per_zone[z] : min;
            max = per_zone[z] > max ? per_zone[z] : max;
        }
        assert_true(max - min <= 1);
        ks_sched_result_release(&r);
    }
    assert_int_equal(per_zone[0], 4);
    assert_int_equal(per_zone[1], 4);
    assert_int_equal(per_zone[2], 4);
    /* with only zone a eligible, the other zones do not count: a is its own
     * minimum and the pod fits there (skew 1) */
    struct ks_sched_kv only_a = {KS_SCHED_ZONE_KEY, "a"};
    struct ks_sched_pod_spec p = {.name = "pinned-a",
                                  .labels = &app_web,
                                  .nlabels = 1,
                                  .spread = &c,
                                  .nspread = 1,
                                  .node_selector = &only_a,
                                  .nnode_selector = 1};
    expect_node(place(s, &p, false), NULL);
    ks_sched_free(s);
}

static void spread_with_ineligible_zones(void **state)
{
    struct ks_sched *s = sched_mk(11);
    zones(s, 1);
    struct ks_sched_spread c = {
        1, KS_SCHED_ZONE_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}};
    const char *c_vals[] = {"c"};
    struct ks_sched_req no_c = {KS_SCHED_ZONE_KEY, KS_SCHED_OP_NOT_IN, c_vals, 1};
    struct ks_sched_node_term term = {&no_c, 1, NULL, 0};
    int count[3] = {0};
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "w%d", i);
        struct ks_sched_pod_spec p = {.name = name,
                                      .labels = &app_web,
                                      .nlabels = 1,
                                      .spread = &c,
                                      .nspread = 1,
                                      .required = &term,
                                      .nrequired = 1};
        struct ks_sched_result r = place(s, &p, false);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        count[r.node[0] - 'a']++;
        ks_sched_result_release(&r);
    }
    /* zone c is not eligible so its zero count does not block a and b */
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 2);
    assert_int_equal(count[2], 0);
    ks_sched_free(s);
}

static void spread_missing_label(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "bare", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_spread c = {
        1, KS_SCHED_ZONE_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}};
    struct ks_sched_pod_spec p = {
        .name = "w", .labels = &app_web, .nlabels = 1, .spread = &c, .nspread = 1};
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 node(s) didn't match pod "
                                        "topology spread constraints (missing required label).");
    /* a node label change moves the node into a domain */
    struct ks_sched_kv l = {KS_SCHED_ZONE_KEY, "a"};
    node_add(s, "bare", 4000, 4 * GI, &l, 1, NULL, 0);
    uint32_t id;
    assert_int_equal(ks_sched_pod_find(&id, s, NULL, "w"), 0);
    struct ks_sched_result r;
    assert_int_equal(ks_sched_schedule(&r, s, id, false), 0);
    expect_node(r, "bare");
    ks_sched_free(s);
}

static void spread_hostname_skew(void **state)
{
    struct ks_sched *s = sched_mk(5);
    three_nodes(s);
    struct ks_sched_spread c = {
        1, KS_SCHED_HOSTNAME_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}};
    /* two web pods already on n1 (bound before the rule existed) */
    struct ks_sched_pod_spec pre = {
        .name = "old-0", .labels = &app_web, .nlabels = 1, .node_name = "n1"};
    pod_add(s, &pre);
    pre.name = "old-1";
    pod_add(s, &pre);
    struct ks_sched_kv only_n1 = {KS_SCHED_HOSTNAME_KEY, "n1"};
    struct ks_sched_pod_spec p = {
        .name = "new", .labels = &app_web, .nlabels = 1, .spread = &c, .nspread = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.status, KS_SCHED_BOUND);
    assert_string_not_equal(r.node, "n1");
    ks_sched_result_release(&r);
    p.name = "forced";
    p.node_selector = &only_n1;
    p.nnode_selector = 1;
    /* with only n1 eligible, n1 is its own minimum: skew 1 is fine */
    expect_node(place(s, &p, false), "n1");
    ks_sched_free(s);
}

/* kube-scheduler counts only nodes carrying every hard key: a node without
 * the zone label must not pull the hostname minimum down to 0. */
static void spread_counts_nodes_with_all_keys(void **state)
{
    struct ks_sched *s = sched_mk(5);
    struct ks_sched_kv za = {KS_SCHED_ZONE_KEY, "a"}, zb = {KS_SCHED_ZONE_KEY, "b"};
    node_add(s, "a1", 4000, 4 * GI, &za, 1, NULL, 0);
    node_add(s, "b1", 4000, 4 * GI, &zb, 1, NULL, 0);
    node_add(s, "bare", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_pod_spec pre = {
        .name = "x-a", .labels = &app_web, .nlabels = 1, .node_name = "a1"};
    pod_add(s, &pre);
    pre.name = "x-b";
    pre.node_name = "b1";
    pod_add(s, &pre);
    struct ks_sched_spread c[] = {
        {1, KS_SCHED_ZONE_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}},
        {1, KS_SCHED_HOSTNAME_KEY, true, {.match_labels = &app_web, .nmatch_labels = 1}}};
    struct ks_sched_pod_spec p = {
        .name = "new", .labels = &app_web, .nlabels = 1, .spread = c, .nspread = 2};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.status, KS_SCHED_BOUND);
    assert_string_not_equal(r.node, "bare");
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anti_affinity_replicas),
        cmocka_unit_test(existing_anti_affinity),
        cmocka_unit_test(affinity_first_pod_and_followers),
        cmocka_unit_test(spread_skew_one_three_zones),
        cmocka_unit_test(spread_with_ineligible_zones),
        cmocka_unit_test(spread_missing_label),
        cmocka_unit_test(spread_hostname_skew),
        cmocka_unit_test(spread_counts_nodes_with_all_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
