/*
 * internal.h: the pieces of the node agent's service proxy (not public;
 * services.h is the agent's entry point, docs/services.md the design).
 *
 * table.c   the Services and Endpoints this node knows (pure): which
 *           listeners every pod and the host need, round-robin backend
 *           choice, the text of the hosts block (unit-tested)
 * netns.c   work inside a pod's network namespace (a dedicated thread
 *           setns()es through the infra container's /proc/<pid>/ns/net):
 *           clusterIP /32 on lo over rtnetlink, listening sockets
 * proxy.c   the epoll thread: accepts, non-blocking connects to a chosen
 *           backend, relays with bounded buffers and half-close
 * services.c the manager thread: finds the node's pods through Podman,
 *           brings every pod and the host to the table's wanted state,
 *           keeps the pods' hosts files
 *
 * Ownership: strings returned through out-params are malloc'd for the
 * caller; arrays likewise (free the array, their items are inline).
 */
#ifndef KS_NODEAGENT_SERVICES_INTERNAL_H
#define KS_NODEAGENT_SERVICES_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_SVC_MAX_SERVICES 10000 /* Services (and Endpoints) the table keeps */
#define KS_SVC_MAX_PORTS 100      /* ports of one Service */
#define KS_SVC_MAX_BACKENDS 1000  /* ready addresses of one Service port */
#define KS_SVC_MAX_KEY 320        /* "namespace/name" */
#define KS_SVC_MAX_HOSTS 4194304  /* a pod's hosts file */
#define KS_SVC_HOSTS_BEGIN "# keelson services (written by nodeagent; edits here are replaced)"
#define KS_SVC_HOSTS_END "# end of keelson services"

/* --- table.c (pure) -------------------------------------------------------- */

struct ks_svc_table;

int ks_svc_table_new(struct ks_svc_table **out);
void ks_svc_table_free(struct ks_svc_table *t);

/* A Service or Endpoints object from source src (an index; the same
 * namespace/name from two sources: the last put wins). KS_EINVALID for a
 * malformed object, KS_ELIMIT past the limits above. */
int ks_svc_table_put(struct ks_svc_table *t, size_t src, const char *kind, const json_t *obj);
/* Forgets ns/name of kind (when src put it). */
void ks_svc_table_delete(struct ks_svc_table *t, size_t src, const char *kind, const char *ns,
                         const char *name);
/* Every object of kind that src gives now: puts them and forgets src's
 * others. Bad items are skipped (logged); returns the first error. */
int ks_svc_table_replace(struct ks_svc_table *t, size_t src, const char *kind, const json_t *items);
/* Counts changes (any put or delete that changed something). */
uint64_t ks_svc_table_generation(const struct ks_svc_table *t);

/* One listener a pod (cluster) or the host (node port) needs. */
struct ks_svc_listen {
    char ip[48]; /* clusterIP; "" for node ports (the agent's bind address) */
    int port;    /* the Service port, or the nodePort */
    char key[KS_SVC_MAX_KEY];
};
/* Listeners inside every pod: clusterIP:port of each TCP port of each
 * Service with a clusterIP (not headless), sorted. *out NULL when none. */
int ks_svc_table_cluster_listeners(struct ks_svc_listen **out, size_t *out_n,
                                   const struct ks_svc_table *t);
/* Listeners on the host: every TCP nodePort of NodePort and LoadBalancer
 * Services, sorted. */
int ks_svc_table_node_listeners(struct ks_svc_listen **out, size_t *out_n,
                                const struct ks_svc_table *t);
/* The clusterIPs pods need on lo (sorted, unique). */
int ks_svc_table_cluster_ips(char (**out)[48], size_t *out_n, const struct ks_svc_table *t);

struct ks_svc_backend {
    char ip[48];
    int port;
};
/* The next backend of Service key's port (node_port: port is a nodePort,
 * else a Service port), round-robin over the ready addresses whose
 * Endpoints port has the Service port's name; the Service's traffic policy
 * Local (externalTrafficPolicy for node ports, internalTrafficPolicy
 * otherwise) keeps only addresses with nodeName node, and so does
 * !all_nodes (the pod network is this node's own: other nodes' pod IPs are
 * not routable, or could even name a local pod). KS_ENOTFOUND naming what
 * is missing (no such Service or port, no ready endpoint). */
int ks_svc_table_pick(struct ks_svc_backend *out, struct ks_svc_table *t, const char *key, int port,
                      bool node_port, const char *node, bool all_nodes);

/* The hosts lines for a pod in namespace ns (between the markers above;
 * "" when there is no Service): for a Service with a clusterIP
 * "<ip>\t<svc>.<ns>.svc.cluster.local <svc>.<ns>.svc <svc>.<ns>" plus
 * " <svc>" when ns is the Service's namespace; a headless Service gets one
 * such line per ready address. Sorted by namespace and name. */
int ks_svc_table_hosts_block(char **out, const struct ks_svc_table *t, const char *ns);
/* file with its keelson block replaced by block (appended when absent,
 * removed when block is ""); everything else is kept as it was. */
int ks_svc_hosts_merge(char **out, const char *file, const char *block);

/* --- netns.c --------------------------------------------------------------- */

/* Work for one pod's network namespace, done in one dedicated thread that
 * joins the namespace of process pid (the infra container). */
struct ks_svc_nswork {
    const char (*add_ips)[48]; /* /32 on lo (an address already there is fine) */
    size_t nadd;
    const char (*del_ips)[48];
    size_t ndel;
    const struct ks_svc_listen *listen; /* sockets to open (ip:port) */
    size_t nlisten;
    int *fds;  /* out: nlisten fds (-1 where that one failed) */
    char *err; /* out: first failure's message, malloc'd (NULL when none) */
};
/* 0 when the namespace could be joined (then per-item results are in
 * w->fds and w->err); KS_ENOTFOUND when pid is gone, KS_EIO otherwise. */
int ks_svc_netns_do(int pid, struct ks_svc_nswork *w);
/* The inode of /proc/<pid>/ns/net (0 when pid is gone); with pid 0 the
 * agent's own. */
uint64_t ks_svc_netns_id(int pid);
/* A listening TCP socket on ip:port in the calling thread's namespace,
 * non-blocking and close-on-exec. -1 with errno on failure. */
int ks_svc_listen_socket(const char *ip, int port);

/* pthread_create with every signal blocked in the new thread (the agent
 * takes SIGTERM and SIGINT in its own signal thread); stack_kib 0: the
 * default size. 0 or the pthread error number. */
int ks_svc_thread_start(pthread_t *out, void *(*fn)(void *), void *arg, size_t stack_kib);

/* --- proxy.c --------------------------------------------------------------- */

struct ks_svc_proxy;
struct ks_svc_proxy_opts {
    struct ks_svc_table *table; /* read under *mu when choosing a backend */
    void *mu;                   /* pthread_mutex_t * guarding the table */
    const char *node;
    bool all_nodes; /* other nodes' endpoints too (routable pod network) */
    unsigned max_conns;
    size_t buf_bytes;       /* per direction */
    int connect_timeout_ms; /* per attempt */
    int attempts;           /* backends tried per connection */
};
int ks_svc_proxy_new(struct ks_svc_proxy **out, const struct ks_svc_proxy_opts *o);
/* Hands listening socket fd (owned from now on) to the proxy under id. */
int ks_svc_proxy_add(struct ks_svc_proxy *p, uint64_t id, int fd, const char *key, int port,
                     bool node_port);
/* Closes listener id (connections already accepted continue). */
void ks_svc_proxy_remove(struct ks_svc_proxy *p, uint64_t id);
/* Stops the thread and closes everything. */
void ks_svc_proxy_free(struct ks_svc_proxy *p);
struct ks_svc_proxy_stats {
    uint64_t accepted, refused, failed_connects;
    unsigned open;
};
void ks_svc_proxy_stats(const struct ks_svc_proxy *p, struct ks_svc_proxy_stats *out);

#endif
