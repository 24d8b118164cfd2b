/*
 * downward.h: the downward API (downward.c): pod facts for env
 * (fieldRef, resourceFieldRef) and for downwardAPI / projected volumes.
 * Returned strings are malloc'd and owned by the caller.
 */
#ifndef KS_NODEAGENT_AGENT_DOWNWARD_H
#define KS_NODEAGENT_AGENT_DOWNWARD_H

#include <jansson.h>
#include <stdbool.h>

/* What the agent knows of a pod beyond its spec; NULL members: not known
 * yet (answered as ""). */
struct ks_agent_pod_facts {
    const char *pod_ip, *host_ip;
};

/* The value of a fieldRef fieldPath. in_volume selects the paths a
 * downwardAPI volume allows (metadata.name|namespace|uid|labels|
 * annotations and labels['k'] / annotations['k']) instead of those of env
 * (the same single values plus spec.nodeName, spec.serviceAccountName,
 * status.podIP(s), status.hostIP(s)). KS_EINVALID names an unsupported
 * path. facts may be NULL. */
int ks_agent_field_value(char **out, const json_t *pod, const char *path, bool in_volume,
                         const struct ks_agent_pod_facts *facts);

/* The value of a resourceFieldRef (limits.cpu|memory, requests.cpu|memory)
 * of ref's containerName, else of container (env), divided by divisor
 * (default 1) and rounded up, as Kubernetes writes it. */
int ks_agent_resource_value(char **out, const json_t *pod, const json_t *container,
                            const json_t *ref);

#endif
