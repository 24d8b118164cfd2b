/*
 * test_ctl_endpoints.c: the endpoints controller through the driver on a
 * real store: ready pods in addresses, not-ready ones in
 * notReadyAddresses, pods without an IP, finished or terminating pods and
 * pods of other labels left out, named target ports resolved per pod
 * (pods resolving differently get their own subset), readiness changes
 * followed, an idle run writes nothing, and the Endpoints go with the
 * Service.
 */
#include "test_ctl_fixture.h"

static json_t *service(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:{s:s}, s:[{s:s, s:i, s:s}, {s:s, "
                     "s:i}]}}",
                     "apiVersion", "v1", "kind", "Service", "metadata", "name", "web", "namespace",
                     "default", "labels", "tier", "front", "spec", "selector", "app", "web",
                     "ports", "name", "http", "port", 80, "targetPort", "http", "name", "metrics",
                     "port", 9000);
}

/* A pod labelled app=<app> with a container port named http at 8080
 * (unless no_http), at ip (NULL: none yet), Running and (not) Ready. */
static void pod(struct fixture *f, const char *name, const char *app, const char *ip, bool ready,
                bool no_http)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}]}}",
                          "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
                          "default", "uid", name, "labels", "app", app, "spec", "nodeName",
                          "node-a", "containers", "name", "main", "image", "busybox");
    if (!no_http)
        json_object_set_new(json_array_get(ks_ctl_at(p, "spec", "containers"), 0), "ports",
                            json_pack("[{s:s, s:i}]", "name", "http", "containerPort", 8080));
    json_t *st = json_pack("{s:s, s:[{s:s, s:s}]}", "phase", "Running", "conditions", "type",
                           "Ready", "status", ready ? "True" : "False");
    if (ip)
        json_object_set_new(st, "podIP", json_string(ip));
    json_object_set_new(p, "status", st);
    put_obj(f, p);
}

static void edit_pod(struct fixture *f, const char *name, const char *a, const char *b,
                     json_t *value)
{
    json_t *p = get_obj(f, "Pod", name);
    assert_non_null(p);
    ks_ctl_set(p, a, b, value);
    put_obj(f, p);
}

static json_t *subset(json_t *ep, size_t i)
{
    return json_array_get(json_object_get(ep, "subsets"), i);
}

/* "ip@pod,ip@pod" of subset i's addresses (or notReadyAddresses). */
static const char *ips(json_t *ep, size_t i, const char *key)
{
    static char buf[256];
    buf[0] = '\0';
    size_t j;
    json_t *a;
    json_array_foreach(json_object_get(subset(ep, i), key), j, a)
    {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s@%s", n ? "," : "",
                 json_string_value(json_object_get(a, "ip")), ks_ctl_str(a, "targetRef", "name"));
    }
    return buf;
}

static void follows_readiness(void **state)
{
    struct fixture *f = *state;
    put_obj(f, service());
    pod(f, "a", "web", "10.0.0.3", true, false);
    pod(f, "b", "web", "10.0.0.2", false, false);
    pod(f, "c", "web", NULL, true, false);      /* no IP yet */
    pod(f, "d", "db", "10.0.0.9", true, false); /* other labels */
    run(f);
    json_t *ep = get_obj(f, "Endpoints", "web");
    assert_non_null(ep);
    json_t *svc = get_obj(f, "Service", "web");
    assert_string_equal(ks_ctl_controller_uid(ep), ks_ctl_uid(svc));
    assert_string_equal(ks_ctl_str(ks_ctl_at(ep, "metadata", "labels"), "tier", NULL), "front");
    assert_int_equal(json_array_size(json_object_get(ep, "subsets")), 1);
    assert_string_equal(ips(ep, 0, "addresses"), "10.0.0.3@a");
    assert_string_equal(ips(ep, 0, "notReadyAddresses"), "10.0.0.2@b");
    json_t *a0 = json_array_get(json_object_get(subset(ep, 0), "addresses"), 0);
    assert_string_equal(json_string_value(json_object_get(a0, "nodeName")), "node-a");
    assert_string_equal(ks_ctl_str(a0, "targetRef", "kind"), "Pod");
    assert_string_equal(ks_ctl_str(a0, "targetRef", "uid"), "a");
    json_t *ports = json_object_get(subset(ep, 0), "ports");
    assert_int_equal(json_array_size(ports), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "port")), 8080);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "name")),
                        "http");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 1), "port")), 9000);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 1), "protocol")),
                        "TCP");
    const char *rv = ks_ctl_str(ep, "metadata", "resourceVersion");
    char rv_before[32];
    snprintf(rv_before, sizeof rv_before, "%s", rv);
    json_decref(ep);
    json_decref(svc);

    run(f); /* nothing changed: nothing written */
    ep = get_obj(f, "Endpoints", "web");
    assert_string_equal(ks_ctl_str(ep, "metadata", "resourceVersion"), rv_before);
    json_decref(ep);

    /* b becomes ready, c gets its IP while not ready */
    edit_pod(f, "b", "status", "conditions",
             json_pack("[{s:s, s:s}]", "type", "Ready", "status", "True"));
    edit_pod(f, "c", "status", "podIP", json_string("10.0.0.4"));
    edit_pod(f, "c", "status", "conditions",
             json_pack("[{s:s, s:s}]", "type", "Ready", "status", "False"));
    run(f);
    ep = get_obj(f, "Endpoints", "web");
    assert_string_equal(ips(ep, 0, "addresses"), "10.0.0.2@b,10.0.0.3@a");
    assert_string_equal(ips(ep, 0, "notReadyAddresses"), "10.0.0.4@c");
    json_decref(ep);

    /* a is being stopped: it leaves at once, ready or not; b fails */
    edit_pod(f, "a", "metadata", "deletionTimestamp", json_string("2026-09-21T00:00:00Z"));
    edit_pod(f, "b", "status", "phase", json_string("Failed"));
    run(f);
    ep = get_obj(f, "Endpoints", "web");
    assert_string_equal(ips(ep, 0, "addresses"), "");
    assert_null(json_object_get(subset(ep, 0), "addresses"));
    assert_string_equal(ips(ep, 0, "notReadyAddresses"), "10.0.0.4@c");
    json_decref(ep);
}

static void named_ports_per_pod(void **state)
{
    struct fixture *f = *state;
    put_obj(f, service());
    pod(f, "a", "web", "10.0.0.1", true, false);
    pod(f, "e", "web", "10.0.0.5", true, true); /* declares no "http" port */
    run(f);
    json_t *ep = get_obj(f, "Endpoints", "web");
    assert_int_equal(json_array_size(json_object_get(ep, "subsets")), 2);
    assert_string_equal(ips(ep, 0, "addresses"), "10.0.0.1@a");
    assert_int_equal(json_array_size(json_object_get(subset(ep, 0), "ports")), 2);
    assert_string_equal(ips(ep, 1, "addresses"), "10.0.0.5@e");
    json_t *ports = json_object_get(subset(ep, 1), "ports");
    assert_int_equal(json_array_size(ports), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "port")), 9000);
    json_decref(ep);
}

static void goes_with_service(void **state)
{
    struct fixture *f = *state;
    put_obj(f, service());
    pod(f, "a", "web", "10.0.0.1", true, false);
    run(f);
    json_t *ep = get_obj(f, "Endpoints", "web");
    assert_non_null(ep);
    json_decref(ep);
    struct ks_store_key key = {"Service", "default", "web"};
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
    run(f);
    assert_null(get_obj(f, "Endpoints", "web"));
    /* a Service without a selector gets no Endpoints */
    json_t *svc = service();
    json_object_del(json_object_get(svc, "spec"), "selector");
    put_obj(f, svc);
    run(f);
    assert_null(get_obj(f, "Endpoints", "web"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(follows_readiness, setup, teardown),
        cmocka_unit_test_setup_teardown(named_ports_per_pod, setup, teardown),
        cmocka_unit_test_setup_teardown(goes_with_service, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
