/*
 * report.c: the node's register body read from the host. CPUs are the
 * online ones (sysconf), memory is MemTotal from /proc/meminfo written as
 * Kubernetes writes it ("16318412Ki"), the OS image is PRETTY_NAME from
 * /etc/os-release, the internal address the first IPv4 address of an
 * interface that is up and not loopback.
 */
#include "nodeagent/node/node.h"

#include "core/error.h"
#include "core/labels.h"
#include "core/object.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif

#define SMALL_FILE_LIMIT (64 * 1024)

const char *ks_node_goarch(const char *machine)
{
    static const char *const map[][2] = {
        {"x86_64", "amd64"},    {"amd64", "amd64"}, {"aarch64", "arm64"},   {"arm64", "arm64"},
        {"armv7l", "arm"},      {"armv6l", "arm"},  {"i386", "386"},        {"i686", "386"},
        {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(machine, map[i][0]) == 0)
            return map[i][1];
    return machine;
}

/* MemTotal in KiB. */
static int mem_total_kib(long long *out)
{
    char *text = NULL, *line;
    long long kib = -1;
    int rc;

    if ((rc = ks_file_read(&text, NULL, "/proc/meminfo", SMALL_FILE_LIMIT)) < 0)
        return ks_error_wrap(KS_EIO, "node memory");
    if ((line = strstr(text, "MemTotal:")))
        sscanf(line + 9, "%lld", &kib);
    free(text);
    if (kib <= 0)
        return ks_error_set(KS_EIO, "node memory: no MemTotal in /proc/meminfo");
    *out = kib;
    return 0;
}

/* PRETTY_NAME from os-release (quotes removed), or NULL. malloc'd. */
static char *os_image(void)
{
    static const char *const paths[] = {"/etc/os-release", "/usr/lib/os-release"};
    char *text = NULL, *line, *save = NULL, *v = NULL;
    size_t i, len;

    for (i = 0; i < 2 && !text; i++)
        if (ks_file_read(&text, NULL, paths[i], SMALL_FILE_LIMIT) < 0)
            text = NULL;
    if (!text)
        return NULL;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!ks_str_has_prefix(line, "PRETTY_NAME="))
            continue;
        line += strlen("PRETTY_NAME=");
        len = strlen(line);
        if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
            line++;
            len -= 2;
        }
        v = ks_strndup(line, len);
        break;
    }
    free(text);
    return v;
}

static void first_ipv4(char out[INET_ADDRSTRLEN])
{
    struct ifaddrs *list = NULL, *i;

    snprintf(out, INET_ADDRSTRLEN, "127.0.0.1");
    if (getifaddrs(&list) < 0)
        return;
    for (i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, INET_ADDRSTRLEN);
        break;
    }
    freeifaddrs(list);
}

/* A single-line file without its newline, or NULL. */
static char *read_id(const char *path)
{
    char *text = NULL;

    if (ks_file_read(&text, NULL, path, 256) < 0)
        return NULL;
    text[strcspn(text, "\n")] = '\0';
    return text;
}

int ks_node_report_build(json_t **out, const struct ks_node_opts *opts)
{
    json_t *report = NULL, *labels = NULL, *capacity;
    struct utsname u;
    long long mem_kib = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char mem[32], cpu[24], pods[24], ip[INET_ADDRSTRLEN], host[256] = "";
    char *image = NULL, *kubelet = NULL, *machine_id = NULL, *boot_id = NULL;
    const char *os = "linux";
    int rc;

    if (!opts || !opts->name)
        return ks_error_set(KS_EINVALID, "node: a name is required");
    if ((rc = ks_dns1123_subdomain_validate(opts->name)) < 0)
        return ks_error_wrap(rc, "node name");
    if (opts->labels && !json_is_object(opts->labels))
        return ks_error_set(KS_EINVALID, "node labels: expected an object");
    if (opts->labels && (rc = ks_labels_validate(opts->labels)) < 0)
        return ks_error_wrap(rc, "node labels");
    if ((rc = mem_total_kib(&mem_kib)) < 0)
        return rc;
    if (uname(&u) < 0)
        return ks_error_set(KS_EIO, "node: uname failed");
    if (cpus < 1)
        cpus = 1;
    snprintf(cpu, sizeof(cpu), "%ld", cpus);
    snprintf(mem, sizeof(mem), "%lldKi", mem_kib);
    snprintf(pods, sizeof(pods), "%u", opts->max_pods ? opts->max_pods : KS_NODE_DEFAULT_MAX_PODS);
    first_ipv4(ip);
    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
        snprintf(host, sizeof(host), "%s", opts->name);
    image = os_image();
    machine_id = read_id("/etc/machine-id");
    boot_id = read_id("/proc/sys/kernel/random/boot_id");
    kubelet = ks_strdupf("keelson/%s", KS_VERSION);
    labels = opts->labels ? json_deep_copy(opts->labels) : json_object();
    capacity = json_pack("{s:s,s:s,s:s}", "cpu", cpu, "memory", mem, "pods", pods);
    if (labels && capacity) {
        json_object_set_new(labels, "kubernetes.io/hostname", json_string(opts->name));
        json_object_set_new(labels, "kubernetes.io/os", json_string(os));
        json_object_set_new(labels, "kubernetes.io/arch", json_string(ks_node_goarch(u.machine)));
        report = json_pack(
            "{s:O,s:o,s:O,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?},s:[{s:s,s:s},{s:s,s:s}]}",
            "capacity", capacity, "allocatable", json_deep_copy(capacity), "labels", labels,
            "nodeInfo", "kernelVersion", u.release, "osImage", image ? image : "Linux",
            "operatingSystem", os, "architecture", ks_node_goarch(u.machine),
            "containerRuntimeVersion", opts->runtime_version ? opts->runtime_version : "",
            "kubeletVersion", kubelet ? kubelet : "keelson", "machineID", machine_id, "bootID",
            boot_id, "addresses", "type", "InternalIP", "address", ip, "type", "Hostname",
            "address", host);
    }
    json_decref(capacity);
    json_decref(labels);
    free(image);
    free(kubelet);
    free(machine_id);
    free(boot_id);
    if (!report)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out = report;
    return 0;
}
