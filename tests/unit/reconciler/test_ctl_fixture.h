/*
 * test_ctl_fixture.h: shared fixture of the controller tests: a real SQLite
 * store in a temp dir, a fixed clock and seed, object builders, and a fake
 * node agent that writes pod status (phase, Ready condition, node) into the
 * store between controller runs, as the real agents will.
 */
#ifndef KS_TEST_CTL_FIXTURE_H
#define KS_TEST_CTL_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "reconciler/controllers/controllers.h"
#include "reconciler/controllers/internal.h"
#include "reconciler/store/store.h"

#define T0 1790000000 /* 2026-09-21T... a fixed "now" */

struct fixture {
    char dir[64];
    char path[96];
    struct ks_store *store;
    uint64_t seed;
    struct ks_ctl_env env;
};

__attribute__((unused)) static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-ctl-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    if (ks_store_open_sqlite(&f->store, f->path, 0))
        return -1;
    f->seed = 42;
    f->env.now = T0;
    f->env.random_arg = &f->seed;
    *state = f;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    struct fixture *f = *state;
    ks_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

__attribute__((unused)) static json_t *get_obj(struct fixture *f, const char *kind,
                                               const char *name)
{
    json_t *obj = NULL;
    struct ks_store_key key = {kind, "default", name};
    if (ks_store_get(&obj, f->store, &key))
        return NULL;
    return obj;
}

__attribute__((unused)) static void put_obj(struct fixture *f, json_t *obj)
{
    int rc = ks_store_put(NULL, f->store, obj, KS_STORE_ANY_REVISION);
    if (rc)
        fail_msg("put: %s", ks_error_last());
    json_decref(obj);
}

__attribute__((unused)) static json_t *list_kind(struct fixture *f, const char *kind)
{
    json_t *out = NULL;
    assert_int_equal(ks_ctl_list(&out, f->store, kind, "default"), 0);
    return out;
}

__attribute__((unused)) static void run(struct fixture *f)
{
    unsigned steps = 0;
    int rc = ks_controllers_reconcile_all(&steps, f->store, &f->env);
    if (rc)
        fail_msg("reconcile_all: %s", ks_error_last());
}

/* A pod template {labels: app, spec: one container with image}. */
__attribute__((unused)) static json_t *pod_template(const char *app, const char *image)
{
    return json_pack("{s:{s:{s:s}}, s:{s:[{s:s, s:s}]}}", "metadata", "labels", "app", app, "spec",
                     "containers", "name", "main", "image", image);
}

/* Pods of the ReplicaSet with this uid (controller reference). */
__attribute__((unused)) static json_t *pods_of(struct fixture *f, const json_t *rs)
{
    json_t *all = list_kind(f, "Pod"), *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(all, i, p)
    {
        const char *uid = ks_ctl_controller_uid(p);
        if (uid && !strcmp(uid, ks_ctl_uid(rs)))
            json_array_append(out, p);
    }
    json_decref(all);
    return out;
}

/* The fake agent: the pod runs on node and is (not) Ready since now. */
__attribute__((unused)) static void agent_set(struct fixture *f, const char *pod_name,
                                              const char *node, bool ready)
{
    json_t *p = get_obj(f, "Pod", pod_name);
    assert_non_null(p);
    char ts[KS_CTL_TIME_LEN];
    ks_ctl_time_format(ts, f->env.now);
    if (node)
        ks_ctl_set(p, "spec", "nodeName", json_string(node));
    json_object_set_new(p, "status",
                        json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "phase",
                                  node ? "Running" : "Pending", "conditions", "type", "Ready",
                                  "status", ready ? "True" : "False", "lastTransitionTime", ts));
    put_obj(f, p);
}

/* Makes every pod that is not yet Ready run and be Ready on its node
 * (node-a when it has none yet). */
__attribute__((unused)) static int agent_ready_all(struct fixture *f)
{
    json_t *pods = list_kind(f, "Pod");
    int n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        if (!ks_ctl_pod_ready(p)) {
            const char *node = ks_ctl_str(p, "spec", "nodeName");
            agent_set(f, ks_ctl_name(p), node ? node : "node-a", true);
            n++;
        }
    }
    json_decref(pods);
    return n;
}

__attribute__((unused)) static int64_t ready_pods(struct fixture *f)
{
    json_t *pods = list_kind(f, "Pod");
    int64_t n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        n += ks_ctl_pod_ready(p);
    }
    json_decref(pods);
    return n;
}

__attribute__((unused)) static int64_t status_int(const json_t *obj, const char *field)
{
    return json_integer_value(ks_ctl_at(obj, "status", field));
}

#endif
