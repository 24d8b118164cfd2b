/*
 * sched_test.h: small builders shared by the scheduler's unit tests
 * (static inline so each test uses only what it needs).
 */
#ifndef KS_TEST_SCHED_TEST_H
#define KS_TEST_SCHED_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "scheduler/scheduler.h"

#define MI (1024LL * 1024)
#define GI (1024LL * MI)

static inline struct ks_sched *sched_mk(uint64_t seed)
{
    struct ks_sched *s = NULL;
    struct ks_sched_config cfg = {.seed = seed};
    assert_int_equal(ks_sched_new(&s, &cfg), 0);
    return s;
}

static inline void node_add(struct ks_sched *s, const char *name, int64_t cpu, int64_t mem,
                            const struct ks_sched_kv *labels, size_t nlabels,
                            const struct ks_sched_taint *taints, size_t ntaints)
{
    struct ks_sched_node_spec n = {.name = name,
                                   .cpu_milli = cpu,
                                   .memory = mem,
                                   .pods = 110,
                                   .labels = labels,
                                   .nlabels = nlabels,
                                   .taints = taints,
                                   .ntaints = ntaints};
    assert_int_equal(ks_sched_node_set(s, &n), 0);
}

/* A pod with one container requesting cpu/mem (negative = no request). */
static inline struct ks_sched_container *one_container(struct ks_sched_container *c, int64_t cpu,
                                                       int64_t mem)
{
    memset(c, 0, sizeof(*c));
    c->has_cpu = cpu >= 0;
    c->cpu_milli = cpu >= 0 ? cpu : 0;
    c->has_memory = mem >= 0;
    c->memory = mem >= 0 ? mem : 0;
    return c;
}

static inline uint32_t pod_add(struct ks_sched *s, struct ks_sched_pod_spec *p)
{
    uint32_t id = 0;
    int rc = ks_sched_pod_add(&id, s, p);
    if (rc)
        fprintf(stderr, "pod_add: %s\n", ks_error_last());
    assert_int_equal(rc, 0);
    return id;
}

/* Adds and schedules a pod; returns the result (caller releases). */
static inline struct ks_sched_result place(struct ks_sched *s, struct ks_sched_pod_spec *p,
                                           bool preempt)
{
    struct ks_sched_result r;
    uint32_t id = pod_add(s, p);
    int rc = ks_sched_schedule(&r, s, id, preempt);
    if (rc)
        fprintf(stderr, "schedule: %s\n", ks_error_last());
    assert_int_equal(rc, 0);
    return r;
}

static inline void expect_node(struct ks_sched_result r, const char *node)
{
    if (r.status != KS_SCHED_BOUND)
        fprintf(stderr, "not bound: %s\n", r.message ? r.message : "");
    assert_int_equal(r.status, KS_SCHED_BOUND);
    if (node)
        assert_string_equal(r.node, node);
    ks_sched_result_release(&r);
}

static inline void expect_message(struct ks_sched_result r, const char *msg)
{
    assert_int_equal(r.status, KS_SCHED_UNSCHEDULABLE);
    assert_non_null(r.message);
    assert_string_equal(r.message, msg);
    ks_sched_result_release(&r);
}

#endif
