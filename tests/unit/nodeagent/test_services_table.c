/*
 * test_services_table.c: the node agent's Service table (nodeagent/
 * services/table.c): listeners wanted in pods and on the host, round-robin
 * over ready endpoints matched by port name, traffic policy Local, updates
 * and deletes, replacing a source's list, limits and refusals, the hosts
 * lines and their merge into a hosts file that Podman also writes.
 */
#include "core/error.h"
#include "core/str.h"
#include "nodeagent/services/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A Service (field "spec") or Endpoints ("subsets") from JSON text. */
static json_t *object(const char *kind, const char *field, const char *ns, const char *name,
                      const char *json_text)
{
    json_error_t e;
    json_t *v = json_loads(json_text, 0, &e);
    assert_non_null(v);
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "v1", "kind", kind, "metadata",
                     "namespace", ns, "name", name, field, v);
}
#define svc(ns, name, spec) object("Service", "spec", ns, name, spec)
#define eps(ns, name, subsets) object("Endpoints", "subsets", ns, name, subsets)

static void put(struct ks_svc_table *t, json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    assert_int_equal(ks_svc_table_put(t, 0, kind, obj), 0);
    json_decref(obj);
}

#define WEB_EPS                                                                                    \
    "[{\"addresses\": [{\"ip\": \"10.88.0.5\", \"nodeName\": \"n1\"},"                             \
    "                  {\"ip\": \"10.88.0.6\", \"nodeName\": \"n2\"}],"                            \
    "  \"notReadyAddresses\": [{\"ip\": \"10.88.0.7\", \"nodeName\": \"n1\"}],"                    \
    "  \"ports\": [{\"name\": \"http\", \"port\": 8080, \"protocol\": \"TCP\"},"                   \
    "             {\"name\": \"admin\", \"port\": 9090}]}]"

static void test_listeners_and_pick(void **state)
{
    (void)state;
    struct ks_svc_table *t;
    assert_int_equal(ks_svc_table_new(&t), 0);
    put(t, svc("default", "web",
               "{\"type\": \"NodePort\", \"clusterIP\": \"10.96.0.20\", \"ports\": ["
               "{\"name\": \"http\", \"port\": 80, \"targetPort\": 8080, \"nodePort\": 30080},"
               "{\"name\": \"admin\", \"port\": 9000, \"nodePort\": 30090},"
               "{\"name\": \"dns\", \"port\": 53, \"protocol\": \"UDP\", \"nodePort\": 30053}]}"));
    put(t, svc("shop", "db", "{\"clusterIP\": \"10.96.0.10\", \"ports\": [{\"port\": 5432}]}"));
    put(t, svc("shop", "pending", "{\"ports\": [{\"port\": 1}]}")); /* no clusterIP yet */
    put(t, svc("shop", "ext", "{\"type\": \"ExternalName\", \"externalName\": \"x.example\"}"));
    put(t, eps("default", "web", WEB_EPS));
    uint64_t gen = ks_svc_table_generation(t);

    struct ks_svc_listen *l;
    size_t n;
    assert_int_equal(ks_svc_table_cluster_listeners(&l, &n, t), 0);
    assert_int_equal(n, 3); /* UDP is not proxied; sorted by key then port */
    assert_string_equal(l[0].key, "default/web");
    assert_string_equal(l[0].ip, "10.96.0.20");
    assert_int_equal(l[0].port, 80);
    assert_int_equal(l[1].port, 9000);
    assert_string_equal(l[2].key, "shop/db");
    assert_string_equal(l[2].ip, "10.96.0.10");
    assert_int_equal(l[2].port, 5432);
    free(l);
    assert_int_equal(ks_svc_table_node_listeners(&l, &n, t), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].port, 30080);
    assert_int_equal(l[1].port, 30090);
    assert_string_equal(l[0].ip, "");
    free(l);
    char(*ips)[48];
    assert_int_equal(ks_svc_table_cluster_ips(&ips, &n, t), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ips[0], "10.96.0.10");
    assert_string_equal(ips[1], "10.96.0.20");
    free(ips);

    /* round-robin over the ready addresses, with the port of the same name */
    struct ks_svc_backend b;
    const char *seq[] = {"10.88.0.5", "10.88.0.6", "10.88.0.5", "10.88.0.6"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, false, "n1", true), 0);
        assert_string_equal(b.ip, seq[i]);
        assert_int_equal(b.port, 8080);
    }
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 30090, true, "n1", true), 0);
    assert_int_equal(b.port, 9090);
    /* unknown ports and Services, no endpoints */
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 81, false, "n1", true), KS_ENOTFOUND);
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, true, "n1", true), KS_ENOTFOUND);
    assert_int_equal(ks_svc_table_pick(&b, t, "default/nope", 80, false, "n1", true), KS_ENOTFOUND);
    assert_int_equal(ks_svc_table_pick(&b, t, "shop/db", 5432, false, "n1", true), KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "no ready endpoint"));

    /* a replica leaves the endpoints: no new connection goes to it */
    put(t, eps("default", "web",
               "[{\"addresses\": [{\"ip\": \"10.88.0.6\", \"nodeName\": \"n2\"}],"
               "  \"ports\": [{\"name\": \"http\", \"port\": 8080}]}]"));
    assert_true(ks_svc_table_generation(t) > gen);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 30080, true, "n1", true), 0);
        assert_string_equal(b.ip, "10.88.0.6");
    }
    /* the admin port is gone from the endpoints */
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 9000, false, "n1", true),
                     KS_ENOTFOUND);

    /* the same object again changes nothing */
    gen = ks_svc_table_generation(t);
    put(t, eps("default", "web",
               "[{\"addresses\": [{\"ip\": \"10.88.0.6\", \"nodeName\": \"n2\"}],"
               "  \"ports\": [{\"name\": \"http\", \"port\": 8080}]}]"));
    assert_int_equal(ks_svc_table_generation(t), gen);

    /* delete */
    ks_svc_table_delete(t, 1, "Service", "shop", "db"); /* another source's: kept */
    assert_int_equal(ks_svc_table_generation(t), gen);
    ks_svc_table_delete(t, 0, "Service", "shop", "db");
    assert_int_equal(ks_svc_table_cluster_listeners(&l, &n, t), 0);
    assert_int_equal(n, 2);
    free(l);
    ks_svc_table_free(t);
}

static void test_traffic_policy_local(void **state)
{
    (void)state;
    struct ks_svc_table *t;
    struct ks_svc_backend b;
    assert_int_equal(ks_svc_table_new(&t), 0);
    put(t, svc("default", "web",
               "{\"type\": \"NodePort\", \"clusterIP\": \"10.96.0.20\", "
               "\"externalTrafficPolicy\": \"Local\", \"ports\": ["
               "{\"name\": \"http\", \"port\": 80, \"nodePort\": 30080}]}"));
    put(t, eps("default", "web", WEB_EPS));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 30080, true, "n2", true), 0);
        assert_string_equal(b.ip, "10.88.0.6");
    }
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 30080, true, "n3", true),
                     KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "traffic policy Local"));
    /* the cluster port keeps the default policy (Cluster): both */
    char first[48];
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, false, "n3", true), 0);
    snprintf(first, sizeof(first), "%s", b.ip);
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, false, "n3", true), 0);
    assert_string_not_equal(b.ip, first);
    /* without a routable pod network only this node's endpoints are used,
     * whatever the policy */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, false, "n1", false), 0);
        assert_string_equal(b.ip, "10.88.0.5");
    }
    assert_int_equal(ks_svc_table_pick(&b, t, "default/web", 80, false, "n3", false), KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "--routable-pod-network"));
    ks_svc_table_free(t);
}

static void test_replace_and_refusals(void **state)
{
    (void)state;
    struct ks_svc_table *t;
    assert_int_equal(ks_svc_table_new(&t), 0);
    put(t, svc("a", "one", "{\"clusterIP\": \"10.96.0.11\", \"ports\": [{\"port\": 1}]}"));
    put(t, svc("a", "two", "{\"clusterIP\": \"10.96.0.12\", \"ports\": [{\"port\": 2}]}"));
    json_t *items = json_array();
    json_array_append_new(
        items, svc("a", "two", "{\"clusterIP\": \"10.96.0.12\", \"ports\": [{\"port\": 2}]}"));
    json_array_append_new(items, svc("a", "Bad_Name", "{}"));
    json_array_append_new(items, svc("a", "v6", "{\"clusterIP\": \"fd00::1\"}"));
    json_array_append_new(items, svc("a", "three", "{\"clusterIP\": \"10.96.0.13\"}"));
    assert_int_equal(ks_svc_table_replace(t, 0, "Service", items), KS_EINVALID);
    json_decref(items);
    struct ks_svc_listen *l;
    size_t n;
    assert_int_equal(ks_svc_table_cluster_listeners(&l, &n, t), 0);
    assert_int_equal(n, 1); /* one gone, two kept, three has no ports */
    assert_string_equal(l[0].key, "a/two");
    free(l);
    char(*ips)[48];
    assert_int_equal(ks_svc_table_cluster_ips(&ips, &n, t), 0);
    assert_int_equal(n, 2);
    free(ips);

    /* refusals name what is wrong */
    json_t *o = svc("a", "p", "{\"clusterIP\": \"10.96.0.14\", \"ports\": [{\"port\": 70000}]}");
    assert_int_equal(ks_svc_table_put(t, 0, "Service", o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "a/p"));
    json_decref(o);
    o = svc("a", "p", "{\"clusterIP\": \"10.96.0.999\"}");
    assert_int_equal(ks_svc_table_put(t, 0, "Service", o), KS_EINVALID);
    json_decref(o);
    json_t *ports = json_array();
    for (int i = 0; i <= KS_SVC_MAX_PORTS; i++)
        json_array_append_new(ports, json_pack("{s:i}", "port", i + 1));
    o = svc("a", "many", "{\"clusterIP\": \"10.96.0.15\"}");
    json_object_set_new(json_object_get(o, "spec"), "ports", ports);
    assert_int_equal(ks_svc_table_put(t, 0, "Service", o), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 100"));
    json_decref(o);
    o = json_pack("{s:s}", "kind", "ConfigMap");
    assert_int_equal(ks_svc_table_put(t, 0, "ConfigMap", o), KS_EINVALID);
    json_decref(o);
    ks_svc_table_free(t);
}

static void test_hosts(void **state)
{
    (void)state;
    struct ks_svc_table *t;
    char *block, *file, *again;
    assert_int_equal(ks_svc_table_new(&t), 0);
    assert_int_equal(ks_svc_table_hosts_block(&block, t, "default"), 0);
    assert_string_equal(block, "");
    free(block);
    put(t, svc("shop", "db", "{\"clusterIP\": \"10.96.0.10\", \"ports\": [{\"port\": 5432}]}"));
    put(t, svc("default", "web", "{\"clusterIP\": \"10.96.0.20\", \"ports\": [{\"port\": 80}]}"));
    put(t, svc("shop", "pending", "{\"ports\": [{\"port\": 1}]}"));
    put(t, svc("shop", "peers", "{\"clusterIP\": \"None\"}"));
    put(t, eps("shop", "peers",
               "[{\"addresses\": [{\"ip\": \"10.88.0.8\", \"hostname\": \"peers-0\"},"
               "                  {\"ip\": \"10.88.0.9\"}],"
               "  \"notReadyAddresses\": [{\"ip\": \"10.88.0.10\"}]}]"));
    assert_int_equal(ks_svc_table_hosts_block(&block, t, "shop"), 0);
    assert_string_equal(
        block, "10.96.0.20\tweb.default.svc.cluster.local web.default.svc web.default\n"
               "10.96.0.10\tdb.shop.svc.cluster.local db.shop.svc db.shop db\n"
               "10.88.0.8\tpeers-0.peers.shop.svc.cluster.local\n"
               "10.88.0.8\tpeers.shop.svc.cluster.local peers.shop.svc peers.shop peers\n"
               "10.88.0.9\tpeers.shop.svc.cluster.local peers.shop.svc peers.shop peers\n");

    /* merged into Podman's file: appended, then replaced in place */
    const char *podman = "127.0.0.1\tlocalhost\n10.88.2.58\th1 x-infra\n";
    assert_int_equal(ks_svc_hosts_merge(&file, podman, block), 0);
    assert_true(strncmp(file, podman, strlen(podman)) == 0);
    assert_non_null(strstr(file, KS_SVC_HOSTS_BEGIN "\n10.96.0.20\t"));
    assert_non_null(strstr(file, "peers\n" KS_SVC_HOSTS_END "\n"));
    /* Podman appends a container's line after ours; a new block keeps it */
    char *grown = ks_strdupf("%s127.0.0.1\tc2\n", file);
    assert_int_equal(ks_svc_hosts_merge(&again, grown, "10.96.0.30\tx.shop.svc.cluster.local\n"),
                     0);
    char want[512];
    snprintf(want, sizeof(want), "%s%s\n10.96.0.30\tx.shop.svc.cluster.local\n%s\n127.0.0.1\tc2\n",
             podman, KS_SVC_HOSTS_BEGIN, KS_SVC_HOSTS_END);
    assert_string_equal(again, want);
    free(again);
    /* the same block twice: identical text (no rewrite needed) */
    assert_int_equal(ks_svc_hosts_merge(&again, file, block), 0);
    assert_string_equal(again, file);
    free(again);
    /* no Services left: the block goes, Podman's lines stay */
    assert_int_equal(ks_svc_hosts_merge(&again, grown, ""), 0);
    assert_string_equal(again, "127.0.0.1\tlocalhost\n10.88.2.58\th1 x-infra\n127.0.0.1\tc2\n");
    free(again);
    /* a file without a final newline */
    assert_int_equal(ks_svc_hosts_merge(&again, "127.0.0.1 a", "1.2.3.4\tb\n"), 0);
    assert_string_equal(again,
                        "127.0.0.1 a\n" KS_SVC_HOSTS_BEGIN "\n1.2.3.4\tb\n" KS_SVC_HOSTS_END "\n");
    free(again);
    free(grown);
    free(file);
    free(block);
    ks_svc_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listeners_and_pick),
        cmocka_unit_test(test_traffic_policy_local),
        cmocka_unit_test(test_replace_and_refusals),
        cmocka_unit_test(test_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
