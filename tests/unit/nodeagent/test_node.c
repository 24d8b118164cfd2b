/*
 * test_node.c: the node report against what this host says through other
 * doors (sysconf, /proc/meminfo read here, uname, getifaddrs' answer must
 * be an IPv4 address), label merging, and --labels parsing with its errors
 * and limits.
 */
#include "core/error.h"
#include "nodeagent/node/node.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

static const char *str_at(const json_t *root, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(root, a), b));
}

static void report_from_host(void **state)
{
    json_t *labels = json_pack("{s:s,s:s}", "zone", "a", "kubernetes.io/os", "windows");
    struct ks_node_opts o = {.name = "node-a", .labels = labels, .runtime_version = "podman 4.3.1"};
    json_t *r = NULL, *addr;
    char want[64], line[256];
    long long kib = 0;
    struct utsname u;
    struct in_addr ia;
    FILE *fp;

    (void)state;
    assert_int_equal(ks_node_report_build(&r, &o), 0);
    snprintf(want, sizeof(want), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    assert_string_equal(str_at(r, "capacity", "cpu"), want);
    fp = fopen("/proc/meminfo", "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
            break;
    fclose(fp);
    snprintf(want, sizeof(want), "%lldKi", kib);
    assert_string_equal(str_at(r, "capacity", "memory"), want);
    assert_string_equal(str_at(r, "capacity", "pods"), "110");
    assert_true(json_equal(json_object_get(r, "capacity"), json_object_get(r, "allocatable")));

    assert_string_equal(str_at(r, "labels", "zone"), "a");
    assert_string_equal(str_at(r, "labels", "kubernetes.io/hostname"), "node-a");
    assert_string_equal(str_at(r, "labels", "kubernetes.io/os"), "linux"); /* well-known wins */
    uname(&u);
    assert_string_equal(str_at(r, "labels", "kubernetes.io/arch"), ks_node_goarch(u.machine));

    assert_string_equal(str_at(r, "nodeInfo", "kernelVersion"), u.release);
    assert_string_equal(str_at(r, "nodeInfo", "containerRuntimeVersion"), "podman 4.3.1");
    assert_string_equal(str_at(r, "nodeInfo", "kubeletVersion"), "keelson/0.1.0");
    assert_non_null(str_at(r, "nodeInfo", "osImage"));
    assert_int_not_equal(strlen(str_at(r, "nodeInfo", "osImage")), 0);

    addr = json_object_get(r, "addresses");
    assert_int_equal(json_array_size(addr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(addr, 0), "type")),
                        "InternalIP");
    assert_int_equal(
        inet_pton(AF_INET, json_string_value(json_object_get(json_array_get(addr, 0), "address")),
                  &ia),
        1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(addr, 1), "type")),
                        "Hostname");
    json_decref(r);
    json_decref(labels);
}

static void report_options_and_errors(void **state)
{
    struct ks_node_opts o = {.name = "sim-7", .max_pods = 500, .runtime_version = "sim"};
    json_t *r = NULL, *bad = json_pack("{s:s}", "bad key!", "x");

    (void)state;
    assert_int_equal(ks_node_report_build(&r, &o), 0);
    assert_string_equal(str_at(r, "capacity", "pods"), "500");
    assert_string_equal(str_at(r, "nodeInfo", "containerRuntimeVersion"), "sim");
    json_decref(r);
    r = NULL;
    o.name = "Not_A_Name";
    assert_int_equal(ks_node_report_build(&r, &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "node name"));
    o.name = "ok";
    o.labels = bad;
    assert_int_equal(ks_node_report_build(&r, &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "node labels"));
    assert_null(r);
    json_decref(bad);
    assert_string_equal(ks_node_goarch("x86_64"), "amd64");
    assert_string_equal(ks_node_goarch("aarch64"), "arm64");
    assert_string_equal(ks_node_goarch("mips"), "mips");
}

static void labels_parse(void **state)
{
    json_t *l = NULL;
    char *big;
    int i;

    (void)state;
    assert_int_equal(ks_node_labels_parse(&l, "zone=a,disk=ssd,example.com/role=,x=y"), 0);
    assert_int_equal(json_object_size(l), 4);
    assert_string_equal(json_string_value(json_object_get(l, "zone")), "a");
    assert_string_equal(json_string_value(json_object_get(l, "example.com/role")), "");
    json_decref(l);
    assert_int_equal(ks_node_labels_parse(&l, ""), 0);
    assert_int_equal(json_object_size(l), 0);
    json_decref(l);
    l = NULL;

    assert_int_equal(ks_node_labels_parse(&l, "zone=a,novalue"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "\"novalue\" is not key=value"));
    assert_int_equal(ks_node_labels_parse(&l, "zone=a,zone=b"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "zone is given twice"));
    assert_int_equal(ks_node_labels_parse(&l, "-bad=x"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "labels: -bad"));
    assert_int_equal(ks_node_labels_parse(&l, "ok=bad value"), KS_EINVALID);
    assert_null(l);

    big = malloc(KS_NODE_MAX_LABELS_TEXT);
    big[0] = '\0';
    for (i = 0; i <= KS_NODE_MAX_LABELS; i++)
        snprintf(big + strlen(big), KS_NODE_MAX_LABELS_TEXT - strlen(big), "%sk%d=v", i ? "," : "",
                 i);
    assert_int_equal(ks_node_labels_parse(&l, big), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "KS_NODE_MAX_LABELS"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_from_host),
        cmocka_unit_test(report_options_and_errors),
        cmocka_unit_test(labels_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
