/*
 * test_ctl_services.c: Service clusterIP and nodePort assignment
 * (reconciler/controllers/services.c) through the same steps a sync takes
 * on a real SQLite store: plan the desired Services against the managed
 * objects, assign inside the apply transaction, apply. Covers the range
 * flag's parsing, assignment by type (ClusterIP, NodePort, LoadBalancer,
 * headless, ExternalName), stability across syncs, a stale stored hash
 * (the body is compared and rewritten), a store reopened (a
 * restart) and edits of other fields, a plan that never shows the filled
 * fields, values given in Git, conflicts naming both Services (and
 * nothing written), bad values, addresses freed by a delete (also within
 * the same sync), type changes, and a full range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/error.h"
#include "reconciler/controllers/services.h"
#include "reconciler/plan/plan.h"
#include "reconciler/store/store.h"

struct fixture {
    char dir[64];
    char path[96];
    struct ks_store *store;
    struct ks_service_cidr cidr;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-svc-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    if (ks_store_open_sqlite(&f->store, f->path, 0) || ks_service_cidr_parse(&f->cidr, NULL))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    ks_store_close(f->store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* A Service in namespace default; ports: "80", "80:30080" (nodePort), or
 * NULL for none; type NULL = unset (ClusterIP). */
static json_t *svc(const char *name, const char *type, const char *cluster_ip, const char *ports)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s}}}", "apiVersion", "v1", "kind",
                          "Service", "metadata", "name", name, "namespace", "default", "spec",
                          "selector", "app", name);
    json_t *spec = json_object_get(o, "spec"), *arr = json_array();
    if (type)
        json_object_set_new(spec, "type", json_string(type));
    if (cluster_ip)
        json_object_set_new(spec, "clusterIP", json_string(cluster_ip));
    for (const char *p = ports; p && *p;) {
        long port = strtol(p, (char **)&p, 10), node = 0;
        if (*p == ':')
            node = strtol(p + 1, (char **)&p, 10);
        json_t *e = json_pack("{s:i, s:s}", "port", (int)port, "protocol", "TCP");
        if (node)
            json_object_set_new(e, "nodePort", json_integer(node));
        json_array_append_new(arr, e);
        if (*p == ',')
            p++;
    }
    json_object_set_new(spec, "ports", arr);
    return o;
}

struct result {
    int rc;
    size_t create, update, unchanged, del;
    json_t *fields; /* every update's fields, concatenated */
    char error[512];
};

/* One sync of the desired Services objs (stolen; sorted by name): plan
 * against the store, assign, apply in one transaction (as sync.c). */
static struct result sync_services(struct fixture *f, json_t *objs)
{
    struct result r = {.fields = json_array()};
    size_t n = json_array_size(objs), nbase = 0;
    struct ks_plan_item *head = calloc(n ? n : 1, sizeof *head), *base = NULL;
    char(*hashes)[65] = calloc(n ? n : 1, sizeof *hashes);
    json_t *rows = NULL;
    struct ks_plan *plan = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(objs, i);
        char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
        assert_int_equal(ks_sha256_hex(hashes[i], text, strlen(text)), 0);
        free(text);
        json_t *meta = json_object_get(o, "metadata");
        head[i] = (struct ks_plan_item){"Service",
                                        json_string_value(json_object_get(meta, "namespace")),
                                        json_string_value(json_object_get(meta, "name")),
                                        o,
                                        "services.yaml",
                                        hashes[i]};
    }
    assert_int_equal(ks_plan_load_managed(&base, &nbase, &rows, f->store), 0);
    struct ks_plan_opts po = {
        .allow_mass_prune = true, .load = ks_plan_store_loader, .load_ctx = f->store};
    r.rc = ks_plan_compute(&plan, base, nbase, head, n, &po);
    if (r.rc == 0) {
        r.create = plan->n_create;
        r.update = plan->n_update;
        r.unchanged = plan->n_unchanged;
        r.del = plan->n_delete;
        for (size_t i = 0; i < plan->count; i++)
            if (plan->changes[i].fields)
                json_array_extend(r.fields, plan->changes[i].fields);
        assert_int_equal(ks_store_begin(f->store), 0);
        r.rc = ks_services_allocate(f->store, plan, &f->cidr);
        if (r.rc == 0)
            r.rc = ks_plan_apply(f->store, plan, "c0ffee");
        if (r.rc == 0)
            assert_int_equal(ks_store_commit(f->store), 0);
        else
            assert_int_equal(ks_store_rollback(f->store), 0);
    }
    if (r.rc)
        snprintf(r.error, sizeof r.error, "%s", ks_error_last());
    ks_plan_free(plan);
    json_decref(rows);
    free(base);
    free(head);
    free(hashes);
    json_decref(objs);
    return r;
}

static json_t *stored(struct fixture *f, const char *name)
{
    json_t *obj = NULL;
    struct ks_store_key key = {"Service", "default", name};
    if (ks_store_get(&obj, f->store, &key))
        return NULL;
    return obj;
}

/* The stored Service's clusterIP ("" when none) into out. */
static void ip_of(char out[32], struct fixture *f, const char *name)
{
    json_t *o = stored(f, name);
    const char *ip = json_string_value(json_object_get(json_object_get(o, "spec"), "clusterIP"));
    snprintf(out, 32, "%s", ip ? ip : "");
    json_decref(o);
}

static json_int_t node_port_of(struct fixture *f, const char *name, size_t port)
{
    json_t *o = stored(f, name);
    json_int_t n = json_integer_value(json_object_get(
        json_array_get(json_object_get(json_object_get(o, "spec"), "ports"), port), "nodePort"));
    json_decref(o);
    return n;
}

static void result_free(struct result *r)
{
    json_decref(r->fields);
}

static void cidr_parse(void **state)
{
    struct ks_service_cidr c;
    (void)state;
    assert_int_equal(ks_service_cidr_parse(&c, NULL), 0);
    assert_string_equal(c.text, "10.96.0.0/16");
    assert_int_equal(c.prefix, 16);
    assert_int_equal(ks_service_cidr_parse(&c, "172.30.0.0/24"), 0);
    assert_string_equal(c.text, "172.30.0.0/24");
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.0.0"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "--service-cidr"));
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.0.300/16"), KS_EINVALID);
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.0.0/x"), KS_EINVALID);
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.0.0/8"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "/12 to /28"));
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.0.0/30"), KS_EINVALID);
    assert_int_equal(ks_service_cidr_parse(&c, "10.96.1.0/16"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "10.96.0.0/16?"));
    assert_int_equal(ks_service_cidr_parse(&c, "fd00::/108"), KS_EINVALID);
}

static json_t *four(void)
{
    return json_pack("[o, o, o, o]", svc("api", NULL, NULL, "80"), svc("db", NULL, "None", "5432"),
                     svc("ext", "ExternalName", NULL, NULL),
                     svc("web", "NodePort", NULL, "80,443"));
}

static void by_type_and_stable(void **state)
{
    struct fixture *f = *state;
    char api[32], web[32], again[32];
    struct result r = sync_services(f, four());
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.create, 4);
    result_free(&r);
    ip_of(api, f, "api");
    ip_of(web, f, "web");
    assert_true(strncmp(api, "10.96.", 6) == 0);
    assert_true(strncmp(web, "10.96.", 6) == 0);
    assert_string_not_equal(api, web);
    assert_string_not_equal(api, "10.96.0.0");
    assert_string_not_equal(api, "10.96.0.1");
    json_t *o = stored(f, "api");
    json_t *ips = json_object_get(json_object_get(o, "spec"), "clusterIPs");
    assert_int_equal(json_array_size(ips), 1);
    assert_string_equal(json_string_value(json_array_get(ips, 0)), api);
    json_decref(o);
    ip_of(again, f, "db");
    assert_string_equal(again, "None"); /* headless: none assigned */
    ip_of(again, f, "ext");
    assert_string_equal(again, ""); /* ExternalName: none */
    assert_int_equal(node_port_of(f, "api", 0), 0);
    json_int_t p80 = node_port_of(f, "web", 0), p443 = node_port_of(f, "web", 1);
    assert_true(p80 >= 30000 && p80 <= 32767);
    assert_true(p443 >= 30000 && p443 <= 32767);
    assert_true(p80 != p443);
    print_message("api %s, web %s nodePorts %lld %lld\n", api, web, (long long)p80,
                  (long long)p443);

    /* The same commit again: nothing changes, nothing is rewritten. */
    r = sync_services(f, four());
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.unchanged, 4);
    result_free(&r);

    /* A stale stored hash: the planner reads the body, finds it equal
     * without the filled fields (unchanged), and the rewrite keeps them. */
    o = stored(f, "web");
    json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
                        "keelson.io/content-hash", json_string("stale"));
    assert_int_equal(ks_store_put(NULL, f->store, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    r = sync_services(f, four());
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.unchanged, 4);
    assert_int_equal(r.update, 0);
    result_free(&r);
    ip_of(again, f, "web");
    assert_string_equal(again, web);
    assert_int_equal(node_port_of(f, "web", 0), p80);
    assert_int_equal(node_port_of(f, "web", 1), p443);
    o = stored(f, "web");
    assert_string_not_equal(json_string_value(json_object_get(
                                json_object_get(json_object_get(o, "metadata"), "annotations"),
                                "keelson.io/content-hash")),
                            "stale");
    json_decref(o);

    /* A restart: the store reopened keeps the addresses. */
    ks_store_close(f->store);
    assert_int_equal(ks_store_open_sqlite(&f->store, f->path, 0), 0);
    r = sync_services(f, four());
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.unchanged, 4);
    result_free(&r);

    /* An edit of other fields: an update whose fields name neither the
     * clusterIP nor the nodePorts; the values stay. */
    json_t *edited = four();
    json_object_set_new(json_object_get(json_array_get(edited, 3), "spec"), "sessionAffinity",
                        json_string("ClientIP"));
    json_object_set_new(json_object_get(json_array_get(edited, 0), "spec"), "sessionAffinity",
                        json_string("ClientIP"));
    r = sync_services(f, edited);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.update, 2);
    assert_int_equal(json_array_size(r.fields), 2);
    char *fields = json_dumps(r.fields, JSON_COMPACT);
    assert_null(strstr(fields, "clusterIP"));
    assert_null(strstr(fields, "nodePort"));
    assert_non_null(strstr(fields, "spec.sessionAffinity"));
    free(fields);
    result_free(&r);
    ip_of(again, f, "api");
    assert_string_equal(again, api);
    ip_of(again, f, "web");
    assert_string_equal(again, web);
    assert_int_equal(node_port_of(f, "web", 0), p80);
    assert_int_equal(node_port_of(f, "web", 1), p443);

    /* A port added: the old one keeps its nodePort, the new one gets one. */
    edited = four();
    json_array_set_new(edited, 3, svc("web", "NodePort", NULL, "8080,80,443"));
    r = sync_services(f, edited);
    assert_int_equal(r.rc, 0);
    result_free(&r);
    assert_int_equal(node_port_of(f, "web", 1), p80);
    assert_int_equal(node_port_of(f, "web", 2), p443);
    json_int_t p8080 = node_port_of(f, "web", 0);
    assert_true(p8080 >= 30000 && p8080 != p80 && p8080 != p443);
}

static void given_values_and_conflicts(void **state)
{
    struct fixture *f = *state;
    char ip[32], auto_ip[32];
    struct result r = sync_services(f, json_pack("[o, o]", svc("a", NULL, NULL, "80"),
                                                 svc("x", "NodePort", "10.96.5.5", "80:30080")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(ip, f, "x");
    assert_string_equal(ip, "10.96.5.5");
    assert_int_equal(node_port_of(f, "x", 0), 30080);
    ip_of(auto_ip, f, "a");

    /* Another Service asking for x's address: a conflict naming both, and
     * nothing of the sync is written. */
    r = sync_services(f, json_pack("[o, o, o]", svc("a", NULL, NULL, "80"),
                                   svc("x", "NodePort", "10.96.5.5", "80:30080"),
                                   svc("y", NULL, "10.96.5.5", "80")));
    assert_int_equal(r.rc, KS_ECONFLICT);
    print_message("conflict: %s\n", r.error);
    assert_non_null(strstr(r.error, "default/y"));
    assert_non_null(strstr(r.error, "default/x"));
    assert_non_null(strstr(r.error, "clusterIP 10.96.5.5"));
    result_free(&r);
    json_t *none = stored(f, "y");
    assert_null(none);

    /* ... or for the address the control plane gave a. */
    r = sync_services(f, json_pack("[o, o, o]", svc("a", NULL, NULL, "80"),
                                   svc("x", "NodePort", "10.96.5.5", "80:30080"),
                                   svc("y", NULL, auto_ip, "80")));
    assert_int_equal(r.rc, KS_ECONFLICT);
    assert_non_null(strstr(r.error, "default/a"));
    result_free(&r);

    /* ... or for x's nodePort. */
    r = sync_services(f, json_pack("[o, o, o]", svc("a", NULL, NULL, "80"),
                                   svc("x", "NodePort", "10.96.5.5", "80:30080"),
                                   svc("y", "NodePort", NULL, "81:30080")));
    assert_int_equal(r.rc, KS_ECONFLICT);
    assert_non_null(strstr(r.error, "nodePort 30080"));
    assert_non_null(strstr(r.error, "default/x"));
    result_free(&r);

    /* Values that are not allowed. */
    const char *bad[][4] = {
        {NULL, "192.168.1.5", "80", "not a usable address of the service range 10.96.0.0/16"},
        {NULL, "10.96.0.1", "80", "reserved"},
        {NULL, "10.96.x", "80", "not an IPv4 address"},
        {NULL, NULL, "80:30080", "only a NodePort or LoadBalancer Service has node ports"},
        {"NodePort", NULL, "80:20000", "outside the node port range 30000-32767"},
        {"NodePort", "None", "80", "headless"},
        {"Cluster", NULL, "80", "want ClusterIP, NodePort"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sync_services(f, json_pack("[o, o, o]", svc("a", NULL, NULL, "80"),
                                       svc("x", "NodePort", "10.96.5.5", "80:30080"),
                                       svc("z", bad[i][0], bad[i][1], bad[i][2])));
        assert_int_equal(r.rc, KS_EINVALID);
        if (!strstr(r.error, bad[i][3]))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, r.error, bad[i][3]);
        result_free(&r);
    }
    none = stored(f, "z");
    assert_null(none);
}

static void freed_on_delete(void **state)
{
    struct fixture *f = *state;
    char ip[32];
    struct result r = sync_services(f, json_pack("[o, o]", svc("keep", NULL, NULL, "80"),
                                                 svc("old", "NodePort", "10.96.7.7", "80:31000")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    /* old goes and new takes its address and node port in the same sync. */
    r = sync_services(f, json_pack("[o, o]", svc("keep", NULL, NULL, "80"),
                                   svc("new", "NodePort", "10.96.7.7", "80:31000")));
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.del, 1);
    assert_int_equal(r.create, 1);
    result_free(&r);
    ip_of(ip, f, "new");
    assert_string_equal(ip, "10.96.7.7");
    /* new goes in one sync, other takes the address in the next. */
    r = sync_services(f, json_pack("[o]", svc("keep", NULL, NULL, "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    r = sync_services(f, json_pack("[o, o]", svc("keep", NULL, NULL, "80"),
                                   svc("other", NULL, "10.96.7.7", "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(ip, f, "other");
    assert_string_equal(ip, "10.96.7.7");
}

static void type_changes(void **state)
{
    struct fixture *f = *state;
    char ip[32], after[32];
    struct result r = sync_services(f, json_pack("[o]", svc("s", NULL, NULL, "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(ip, f, "s");
    assert_int_equal(node_port_of(f, "s", 0), 0);
    r = sync_services(f, json_pack("[o]", svc("s", "LoadBalancer", NULL, "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(after, f, "s");
    assert_string_equal(after, ip);
    assert_true(node_port_of(f, "s", 0) >= 30000);
    r = sync_services(f, json_pack("[o]", svc("s", NULL, NULL, "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(after, f, "s");
    assert_string_equal(after, ip);
    assert_int_equal(node_port_of(f, "s", 0), 0); /* freed */
    /* headless drops the address; back to ClusterIP gets one again. */
    r = sync_services(f, json_pack("[o]", svc("s", NULL, "None", "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(after, f, "s");
    assert_string_equal(after, "None");
    r = sync_services(f, json_pack("[o]", svc("s", NULL, NULL, "80")));
    assert_int_equal(r.rc, 0);
    result_free(&r);
    ip_of(after, f, "s");
    assert_true(strncmp(after, "10.96.", 6) == 0);
}

static void full_range(void **state)
{
    struct fixture *f = *state;
    char name[16];
    assert_int_equal(ks_service_cidr_parse(&f->cidr, "10.100.0.0/28"), 0);
    json_t *objs = json_array();
    for (int i = 0; i < 13; i++) {
        snprintf(name, sizeof name, "s%02d", i);
        json_array_append_new(objs, svc(name, NULL, NULL, "80"));
    }
    struct result r = sync_services(f, json_deep_copy(objs));
    assert_int_equal(r.rc, 0); /* 16 addresses, 3 reserved */
    result_free(&r);
    json_t *seen = json_object();
    for (int i = 0; i < 13; i++) {
        char ip[32];
        snprintf(name, sizeof name, "s%02d", i);
        ip_of(ip, f, name);
        assert_true(strncmp(ip, "10.100.0.", 9) == 0);
        assert_true(strcmp(ip, "10.100.0.0") && strcmp(ip, "10.100.0.1") &&
                    strcmp(ip, "10.100.0.15"));
        assert_null(json_object_get(seen, ip));
        json_object_set_new(seen, ip, json_true());
    }
    json_decref(seen);
    json_array_append_new(objs, svc("s13", NULL, NULL, "80"));
    r = sync_services(f, objs);
    assert_int_equal(r.rc, KS_ELIMIT);
    assert_non_null(strstr(r.error, "10.100.0.0/28 is full"));
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cidr_parse),
        cmocka_unit_test_setup_teardown(by_type_and_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(given_values_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(freed_on_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(type_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(full_range, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
