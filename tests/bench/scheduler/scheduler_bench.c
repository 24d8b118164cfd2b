/*
 * scheduler_bench.c: kube-scheduler's scheduler_perf cases run in process
 * against keelson's scheduler, one forked child per case so each reports
 * its own peak memory:
 *   basic            5,000 nodes, 1,000 pods placed first, 10,000 measured
 *                    pods requesting 100m cpu / 500Mi (upstream floor 680/s)
 *   anti-affinity    5,000 nodes, 1,000 + 1,000 pods with required
 *                    anti-affinity on kubernetes.io/hostname (upstream 60/s)
 *   topology-spread  5,000 nodes in 3 zones, 5,000 + 10,000 pods with a
 *                    DoNotSchedule zone constraint, maxSkew 5 (upstream 460/s)
 *   daemonset        15,000 nodes, one pod pinned per node through
 *                    matchFields metadata.name (upstream 1,100/s)
 * Measured time covers adding each pod (compiling its spec) and scheduling
 * it, on one thread; pods/s is computed from the thread's CPU time (the
 * machine may be shared), the wall-clock rate is printed alongside.
 * Usage: scheduler-bench [case...] [--seed N].
 */
#include "core/error.h"
#include "scheduler/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MI (1024LL * 1024)
#define GI (1024LL * MI)

enum kind { BASIC, ANTI, SPREAD, DAEMONSET };

struct bench_case {
    const char *name;
    enum kind kind;
    int nodes, init_pods, pods;
    double upstream;
};

static const struct bench_case cases[] = {
    {"basic", BASIC, 5000, 1000, 10000, 680},
    {"anti-affinity", ANTI, 5000, 1000, 1000, 60},
    {"topology-spread", SPREAD, 5000, 5000, 10000, 460},
    {"daemonset", DAEMONSET, 15000, 0, 15000, 1100},
};

static uint64_t seed = 1;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add_nodes(struct ks_sched *s, const struct bench_case *c)
{
    static const char *zones[] = {"moon-1", "moon-2", "moon-3"};
    char name[32];
    for (int i = 0; i < c->nodes; i++) {
        snprintf(name, sizeof(name), "node-%d", i);
        struct ks_sched_kv zone = {KS_SCHED_ZONE_KEY, zones[i % 3]};
        struct ks_sched_node_spec n = {.name = name,
                                       .cpu_milli = 4000,
                                       .memory = 32 * GI,
                                       .pods = 110,
                                       .labels = &zone,
                                       .nlabels = c->kind == SPREAD ? 1 : 0};
        int rc = ks_sched_node_set(s, &n);
        if (rc)
            return rc;
    }
    return 0;
}

/* Adds pod i of the given flavour and schedules it; *bound counts successes. */
static int place(struct ks_sched *s, enum kind kind, const char *prefix, int i, int *bound)
{
    char name[32], node[32];
    snprintf(name, sizeof(name), "%s-%d", prefix, i);
    snprintf(node, sizeof(node), "node-%d", i);
    struct ks_sched_container ct = {true, true, 100, 500 * MI, "registry.k8s.io/pause:3.9"};
    struct ks_sched_kv green = {"color", "green"}, blue = {"color", "blue"};
    struct ks_sched_pod_term anti = {
        {.match_labels = &green, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
    struct ks_sched_spread spread = {
        5, KS_SCHED_ZONE_KEY, true, {.match_labels = &blue, .nmatch_labels = 1}};
    const char *names[] = {node};
    struct ks_sched_req field = {"metadata.name", KS_SCHED_OP_IN, names, 1};
    struct ks_sched_node_term pin = {NULL, 0, &field, 1};
    struct ks_sched_pod_spec p = {.name = name, .containers = &ct, .ncontainers = 1};
    if (kind == ANTI) {
        p.labels = &green;
        p.nlabels = 1;
        p.anti_affinity = &anti;
        p.nanti_affinity = 1;
    } else if (kind == SPREAD) {
        p.labels = &blue;
        p.nlabels = 1;
        p.spread = &spread;
        p.nspread = 1;
    } else if (kind == DAEMONSET) {
        p.required = &pin;
        p.nrequired = 1;
        p.owner_uid = "daemonset-uid";
    }
    uint32_t id;
    struct ks_sched_result r;
    int rc = ks_sched_pod_add(&id, s, &p);
    if (rc || (rc = ks_sched_schedule(&r, s, id, false)))
        return rc;
    *bound += r.status == KS_SCHED_BOUND;
    ks_sched_result_release(&r);
    return 0;
}

static int run_case(const struct bench_case *c)
{
    struct ks_sched *s = NULL;
    struct ks_sched_config cfg = {.seed = seed};
    int rc, init_bound = 0, bound = 0;
    if ((rc = ks_sched_new(&s, &cfg)) || (rc = add_nodes(s, c)))
        goto done;
    for (int i = 0; i < c->init_pods; i++)
        if ((rc = place(s, c->kind == ANTI ? ANTI : BASIC, "init", i, &init_bound)))
            goto done;
    double w0 = clock_s(CLOCK_MONOTONIC), t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < c->pods; i++)
        if ((rc = place(s, c->kind, "pod", i, &bound)))
            goto done;
    double dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0, wall = clock_s(CLOCK_MONOTONIC) - w0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rate = c->pods / dt;
    printf("%s %d nodes %d pods: %.0f pods/s, peak memory %.1f MB (upstream %.0f pods/s, %.0fx; "
           "wall-clock %.0f pods/s)",
           c->name, c->nodes, c->pods, rate, ru.ru_maxrss / 1024.0, c->upstream, rate / c->upstream,
           c->pods / wall);
    if (bound != c->pods || init_bound != c->init_pods)
        printf(" [%d/%d measured and %d/%d initial pods bound]", bound, c->pods, init_bound,
               c->init_pods);
    printf("\n");
    fflush(stdout);
done:
    if (rc)
        fprintf(stderr, "scheduler-bench: %s: %s\n", c->name, ks_error_last());
    ks_sched_free(s);
    return rc ? 1 : 0;
}

static int run_forked(const struct bench_case *c)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("scheduler-bench: fork");
        return 1;
    }
    if (pid == 0)
        _exit(run_case(c));
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    int failed = 0, selected = 0;
    bool want[sizeof(cases) / sizeof(cases[0])] = {false};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end = NULL;
            seed = strtoull(argv[++i], &end, 10);
            if (!end || *end) {
                fprintf(stderr, "scheduler-bench: --seed needs a number\n");
                return 2;
            }
            continue;
        }
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: scheduler-bench [basic|anti-affinity|topology-spread|daemonset]... "
                   "[--seed N]\n");
            return 0;
        }
        size_t k = 0;
        while (k < sizeof(cases) / sizeof(cases[0]) && strcmp(cases[k].name, argv[i]))
            k++;
        if (k == sizeof(cases) / sizeof(cases[0])) {
            fprintf(stderr, "scheduler-bench: unknown case %s\n", argv[i]);
            return 2;
        }
        want[k] = true;
        selected++;
    }
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        if (!selected || want[k])
            failed |= run_forked(&cases[k]);
    return failed;
}
