/*
 * node.h: what the node agent says about its host when it registers: the
 * register body of docs/api.md (capacity, allocatable, labels, nodeInfo,
 * addresses) read from /proc, sysconf, uname, /etc/os-release and
 * getifaddrs, and the parser of the --labels flag.
 *
 * Ownership: *out objects are new references owned by the caller.
 * Threading: no shared state; callable from any thread.
 */
#ifndef KS_NODEAGENT_NODE_NODE_H
#define KS_NODEAGENT_NODE_NODE_H

#include <jansson.h>

#define KS_NODE_DEFAULT_MAX_PODS 110u
#define KS_NODE_MAX_LABELS 256        /* labels in one --labels text */
#define KS_NODE_MAX_LABELS_TEXT 16384 /* bytes of one --labels text */

struct ks_node_opts {
    const char *name;
    const json_t *labels;        /* object, may be NULL */
    unsigned max_pods;           /* 0 = 110 */
    const char *runtime_version; /* "podman 4.3.1" or "sim" */
};

/* The register body of docs/api.md read from this host: capacity {cpu (online CPUs), memory
 * (MemTotal as "NKi"), pods}, allocatable (= capacity), labels (+ kubernetes.io/hostname,
 * kubernetes.io/os, kubernetes.io/arch), nodeInfo {kernelVersion, osImage, architecture,
 * containerRuntimeVersion, kubeletVersion: "keelson/<version>"}, addresses [{InternalIP: first
 * non-loopback IPv4, else 127.0.0.1}, {Hostname}]. images are added by the agent.
 * kubernetes.io/hostname is the node name (several agents may share a host); the three well-known
 * labels override labels given with the same keys. KS_EINVALID for a bad name or label, KS_EIO when
 * /proc is unreadable. */
int ks_node_report_build(json_t **out, const struct ks_node_opts *opts);

/* "a=b,c=d" (repeatable --labels flag) into an object; label rules from core/labels; KS_EINVALID
 * names the bad one, KS_ELIMIT past KS_NODE_MAX_LABELS or KS_NODE_MAX_LABELS_TEXT. "" is the empty
 * object. */
int ks_node_labels_parse(json_t **out, const char *text);

/* Kubernetes' (Go's) name for a uname machine: "x86_64" -> "amd64", "aarch64" -> "arm64", ...;
 * unknown machines are returned as they are. Static storage or machine itself. */
const char *ks_node_goarch(const char *machine);

#endif
