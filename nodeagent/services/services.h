/*
 * services.h: Service reachability on one node (docs/services.md).
 *
 * The node agent feeds in the Services and Endpoints its sources give
 * (ks_services_list after a list, ks_services_change for each watch
 * change) and pokes it when pods start or go (ks_services_poke). The
 * services manager then, for every running pod of this node found through
 * Podman, puts each Service's clusterIP on the pod's lo with a listener on
 * clusterIP:port (inside the pod's network namespace: nothing host-wide),
 * writes the Services' names into the pod's /etc/hosts, and opens a
 * listener on the host for every nodePort; one epoll thread proxies all of
 * them round-robin to ready endpoints. TCP only.
 *
 * Threading: every call is thread-safe. Ownership: strings and JSON are
 * copied; the caller keeps its own.
 */
#ifndef KS_NODEAGENT_SERVICES_H
#define KS_NODEAGENT_SERVICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_SERVICES_DEFAULT_MAX_CONNS 1024
#define KS_SERVICES_DEFAULT_MAX_LISTENERS 4096
#define KS_SERVICES_DEFAULT_BUF 16384 /* bytes buffered per connection and direction */

struct ks_services_opts {
    const char *node;             /* node name (traffic policy Local) */
    const char *podman_socket;    /* where pods are found; NULL: node ports only */
    const char *nodeport_address; /* IPv4 the node ports bind; NULL or "": 0.0.0.0 */
    bool routable_pod_network;    /* other nodes' pod IPs reach their pods from here */
    unsigned max_conns;           /* open proxied connections; 0: default */
    unsigned max_listeners;       /* listeners in pods and on the host; 0: default */
    size_t buf_bytes;             /* per connection and direction; 0: default */
    int64_t rescan_ms;            /* pods re-checked at least this often; 0: 5 s */
    int connect_timeout_ms;       /* per backend tried; 0: 3 s */
};

struct ks_services;

/* Starts the manager and proxy threads. */
int ks_services_new(struct ks_services **out, const struct ks_services_opts *opts);
/* kind "Service" or "Endpoints": everything source src gives now (an
 * array of objects); others of src are forgotten. */
void ks_services_list(struct ks_services *s, size_t src, const char *kind, const json_t *items);
/* One watch change {"type": "put"|"delete", "kind", "namespace", "name",
 * "object"}; other kinds are ignored. */
void ks_services_change(struct ks_services *s, size_t src, const json_t *change);
/* Pods may have started or gone: look again soon. */
void ks_services_poke(struct ks_services *s);
/* Stops the threads and closes every listener and connection (addresses
 * and hosts lines stay in running pods; the next agent takes them over). */
void ks_services_free(struct ks_services *s);

#endif
