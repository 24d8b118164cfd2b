/*
 * test_properties.c: randomised clusters and workloads (taints, cordoned
 * nodes, selectors, anti-affinity groups, host ports, zone spreading,
 * priorities, deletions), checked against the rules by brute force outside
 * the scheduler: no node is ever over-committed, required rules are never
 * violated, and the same input with the same seed gives the same placement.
 */
#include "sched_test.h"

#define NODES 40
#define PODS 500

struct rng {
    uint64_t x;
};

static uint32_t rnd(struct rng *r, uint32_t n)
{
    r->x = r->x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(r->x >> 33) % n;
}

struct tnode {
    char name[16];
    int64_t cpu, mem, pods;
    int zone, ssd, tainted, cordoned;
};

struct tpod {
    char name[16];
    int64_t cpu, mem;
    int group;  /* anti-affinity group or -1 */
    int port;   /* host port or 0 */
    int ssd;    /* nodeSelector disk=ssd */
    int tol;    /* tolerates dedicated=db */
    int spread; /* hard zone spread, maxSkew 1 */
    int32_t prio;
};

struct world {
    struct tnode nodes[NODES];
    struct tpod pods[PODS];
    uint32_t ids[PODS];
};

static const char *zone_names[] = {"z0", "z1", "z2"};
static const char *group_vals[] = {"g0", "g1", "g2", "g3", "g4"};

static void gen(struct world *w, uint64_t seed)
{
    struct rng r = {seed};
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < NODES; i++) {
        struct tnode *n = &w->nodes[i];
        snprintf(n->name, sizeof(n->name), "node-%d", i);
        n->cpu = 1000 + rnd(&r, 8) * 1000;
        n->mem = (1 + rnd(&r, 16)) * GI;
        n->pods = 5 + rnd(&r, 25);
        n->zone = (int)rnd(&r, 3);
        n->ssd = rnd(&r, 2);
        n->tainted = rnd(&r, 10) < 3;
        n->cordoned = rnd(&r, 10) == 0;
    }
    for (int i = 0; i < PODS; i++) {
        struct tpod *p = &w->pods[i];
        snprintf(p->name, sizeof(p->name), "pod-%d", i);
        p->cpu = rnd(&r, 4) ? (int64_t)(50 + rnd(&r, 1000)) : -1;
        p->mem = rnd(&r, 4) ? (int64_t)(1 + rnd(&r, 2048)) * MI : -1;
        p->group = rnd(&r, 4) == 0 ? (int)rnd(&r, 5) : -1;
        p->port = rnd(&r, 8) == 0 ? (rnd(&r, 2) ? 80 : 443) : 0;
        p->spread = rnd(&r, 6) == 0;
        p->ssd = !p->spread && rnd(&r, 5) == 0; /* one eligible set for all spread pods */
        p->tol = rnd(&r, 3) == 0;
        p->prio = (int32_t)rnd(&r, 3);
    }
}

static void set_node(struct ks_sched *s, struct world *w, int i)
{
    struct ks_sched_taint db = {"dedicated", "db", KS_SCHED_EFFECT_NO_SCHEDULE};
    struct tnode *n = &w->nodes[i];
    struct ks_sched_kv l[] = {{KS_SCHED_ZONE_KEY, zone_names[n->zone]},
                              {"disk", n->ssd ? "ssd" : "hdd"}};
    struct ks_sched_node_spec spec = {.name = n->name,
                                      .cpu_milli = n->cpu,
                                      .memory = n->mem,
                                      .pods = n->pods,
                                      .unschedulable = n->cordoned,
                                      .labels = l,
                                      .nlabels = 2,
                                      .taints = &db,
                                      .ntaints = n->tainted ? 1 : 0};
    assert_int_equal(ks_sched_node_set(s, &spec), 0);
}

static void build(struct ks_sched *s, struct world *w)
{
    for (int i = 0; i < NODES; i++)
        set_node(s, w, i);
    for (int i = 0; i < PODS; i++) {
        struct tpod *p = &w->pods[i];
        struct ks_sched_container c;
        struct ks_sched_kv labels[2];
        size_t nl = 0;
        if (p->group >= 0)
            labels[nl++] = (struct ks_sched_kv){"grp", group_vals[p->group]};
        if (p->spread)
            labels[nl++] = (struct ks_sched_kv){"spread", "yes"};
        struct ks_sched_kv grp = {"grp", p->group >= 0 ? group_vals[p->group] : ""};
        struct ks_sched_pod_term anti = {
            {.match_labels = &grp, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
        struct ks_sched_kv sp = {"spread", "yes"};
        struct ks_sched_spread spread = {
            1, KS_SCHED_ZONE_KEY, true, {.match_labels = &sp, .nmatch_labels = 1}};
        struct ks_sched_kv ssd = {"disk", "ssd"};
        struct ks_sched_toleration tol = {"dedicated", false, "db", KS_SCHED_EFFECT_NO_SCHEDULE};
        struct ks_sched_port port = {p->port, NULL, NULL};
        struct ks_sched_pod_spec spec = {.name = p->name,
                                         .priority = p->prio,
                                         .containers = one_container(&c, p->cpu, p->mem),
                                         .ncontainers = 1,
                                         .labels = labels,
                                         .nlabels = nl,
                                         .anti_affinity = &anti,
                                         .nanti_affinity = p->group >= 0,
                                         .spread = &spread,
                                         .nspread = (size_t)p->spread,
                                         .node_selector = &ssd,
                                         .nnode_selector = (size_t)p->ssd,
                                         .tolerations = &tol,
                                         .ntolerations = (size_t)p->tol,
                                         .ports = &port,
                                         .nports = p->port ? 1 : 0};
        w->ids[i] = pod_add(s, &spec);
    }
}

static int node_index(const char *name)
{
    if (!name)
        return -1;
    char *end = NULL;
    long v = strtol(name + 5, &end, 10);
    assert_true(*end == '\0' && v >= 0 && v < NODES);
    return (int)v;
}

static int skew(const int *z)
{
    int min = z[0], max = z[0];
    for (int i = 1; i < 3; i++) {
        min = z[i] < min ? z[i] : min;
        max = z[i] > max ? z[i] : max;
    }
    return max - min;
}

static void check(struct ks_sched *s, struct world *w, bool spread_only_added)
{
    int64_t cpu[NODES] = {0}, mem[NODES] = {0}, cnt[NODES] = {0};
    int zone_spread[3] = {0};
    for (int i = 0; i < PODS; i++) {
        struct tpod *p = &w->pods[i];
        const char *nn = ks_sched_pod_node(s, w->ids[i]);
        if (!nn)
            continue;
        int k = node_index(nn);
        struct tnode *n = &w->nodes[k];
        cpu[k] += p->cpu > 0 ? p->cpu : 0;
        mem[k] += p->mem > 0 ? p->mem : 0;
        cnt[k]++;
        assert_false(n->cordoned);
        assert_true(!n->tainted || p->tol);
        assert_true(!p->ssd || n->ssd);
        if (p->spread)
            zone_spread[n->zone]++;
        for (int j = 0; j < i; j++) {
            const char *other = ks_sched_pod_node(s, w->ids[j]);
            if (!other || strcmp(other, nn))
                continue;
            /* anti-affinity is symmetric: same group never shares a node */
            assert_false(p->group >= 0 && p->group == w->pods[j].group);
            assert_false(p->port && p->port == w->pods[j].port);
        }
    }
    for (int k = 0; k < NODES; k++) {
        assert_true(cpu[k] <= w->nodes[k].cpu);
        assert_true(mem[k] <= w->nodes[k].mem);
        assert_true(cnt[k] <= w->nodes[k].pods);
    }
    /* with additions only, maxSkew 1 at every placement bounds the end state */
    if (spread_only_added)
        assert_true(skew(zone_spread) <= 1);
}

/* Runs one world: batch, random deletions, a second batch; returns the
 * placement fingerprint. */
static uint64_t run(uint64_t world_seed, uint64_t sched_seed, bool preempt)
{
    static struct world w;
    struct ks_sched *s = sched_mk(sched_seed);
    static struct ks_sched_result out[PODS];
    struct rng r = {world_seed ^ 0x5555};
    gen(&w, world_seed);
    build(s, &w);
    assert_int_equal(ks_sched_batch(out, s, w.ids, PODS / 2, preempt), 0);
    for (int i = 0; i < PODS / 2; i++)
        ks_sched_result_release(&out[i]);
    check(s, &w, !preempt);
    for (int i = 0; i < PODS / 2; i++) { /* delete a quarter, reschedule them later */
        if (rnd(&r, 4) == 0 && ks_sched_pod_node(s, w.ids[i]))
            assert_int_equal(ks_sched_pod_unbind(s, w.ids[i]), 0);
    }
    for (int j = 0; j < 4; j++) { /* node churn: removal + re-add, zone moves */
        int k = (int)rnd(&r, NODES);
        if (rnd(&r, 2))
            assert_int_equal(ks_sched_node_remove(s, w.nodes[k].name), 0);
        else
            w.nodes[k].zone = (int)rnd(&r, 3);
        set_node(s, &w, k);
    }
    check(s, &w, false);
    uint32_t pending[PODS];
    size_t np = 0;
    for (int i = 0; i < PODS; i++)
        if (!ks_sched_pod_node(s, w.ids[i]))
            pending[np++] = w.ids[i];
    assert_int_equal(ks_sched_batch(out, s, pending, np, preempt), 0);
    for (size_t i = 0; i < np; i++)
        ks_sched_result_release(&out[i]);
    check(s, &w, false);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < PODS; i++) {
        int k = node_index(ks_sched_pod_node(s, w.ids[i]));
        h = (h ^ (uint64_t)(k + 1)) * 1099511628211ULL;
    }
    ks_sched_free(s);
    return h;
}

static void invariants_hold(void **state)
{
    for (uint64_t seed = 1; seed <= 12; seed++)
        run(seed, seed * 7, false);
}

static void invariants_hold_with_preemption(void **state)
{
    for (uint64_t seed = 100; seed <= 106; seed++)
        run(seed, seed, true);
}

/* Pods one at a time with deletions in between: each spread pod's zone
 * must satisfy count + 1 - min <= maxSkew against brute-force counts. */
static void spread_rule_at_each_placement(void **state)
{
    static struct world w;
    for (uint64_t seed = 200; seed < 206; seed++) {
        struct ks_sched *s = sched_mk(seed);
        struct rng r = {seed};
        gen(&w, seed);
        build(s, &w);
        for (int i = 0; i < PODS; i++) {
            int z[3] = {0};
            for (int j = 0; j < PODS; j++) {
                const char *nn = ks_sched_pod_node(s, w.ids[j]);
                if (nn && w.pods[j].spread)
                    z[w.nodes[node_index(nn)].zone]++;
            }
            struct ks_sched_result res;
            assert_int_equal(ks_sched_schedule(&res, s, w.ids[i], false), 0);
            if (res.status == KS_SCHED_BOUND && w.pods[i].spread) {
                int min = z[0] < z[1] ? z[0] : z[1];
                min = z[2] < min ? z[2] : min;
                assert_true(z[w.nodes[node_index(res.node)].zone] + 1 - min <= 1);
            }
            ks_sched_result_release(&res);
            if (rnd(&r, 5) == 0) { /* delete an earlier pod */
                uint32_t victim = w.ids[rnd(&r, (uint32_t)i + 1)];
                if (ks_sched_pod_node(s, victim))
                    assert_int_equal(ks_sched_pod_unbind(s, victim), 0);
            }
        }
        check(s, &w, false);
        ks_sched_free(s);
    }
}

static void same_seed_same_placement(void **state)
{
    for (uint64_t seed = 1; seed <= 4; seed++)
        assert_true(run(seed, 42, false) == run(seed, 42, false));
    /* the seed matters (ties are broken by it) */
    bool differs = false;
    for (uint64_t seed = 1; seed <= 4 && !differs; seed++)
        differs = run(seed, 1, false) != run(seed, 2, false);
    assert_true(differs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invariants_hold),
        cmocka_unit_test(invariants_hold_with_preemption),
        cmocka_unit_test(spread_rule_at_each_placement),
        cmocka_unit_test(same_seed_same_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
