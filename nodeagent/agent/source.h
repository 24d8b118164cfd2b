/*
 * source.h: what the node agent needs from whoever assigns it pods.
 *
 * The agent (nodeagent/agent) is written against this small interface so
 * that the same pod workers run pods handed over by the control plane's
 * HTTP API (nodeagent/cpclient), by a directory of static Pod manifests
 * (nodeagent/staticpods, inotify) or by a file-backed source in tests.
 * Assignments come in as Kubernetes Pod objects; observed status and drift
 * events go out. The JSON shapes are the API's own (docs/api.md, "Nodes"
 * and "Watch"), so the HTTP implementation is a thin adapter.
 *
 * Threading: one source is driven by one agent thread (list/watch), while
 * other agent threads may call report_status, report_events, heartbeat and
 * get_object concurrently: implementations must make those four calls
 * thread-safe (list_objects may also be called from any thread).
 *
 * Ownership: json_t values returned through out-params are new references.
 * The agent keeps the Pod objects of list and watch by reference and reads
 * them from several threads: a source must never change one afterwards.
 */
#ifndef KS_NODEAGENT_AGENT_SOURCE_H
#define KS_NODEAGENT_AGENT_SOURCE_H

#include <jansson.h>
#include <stdint.h>

struct ks_agent_source;

struct ks_agent_source_ops {
    /* Short name for logs and the pods' source label: "api", "static", "file". */
    const char *name;

    /* Announces the node. report is the register body of docs/api.md
     * (capacity, allocatable, labels, images, nodeInfo, addresses). Sources
     * without a control plane accept and ignore it. */
    int (*register_node)(struct ks_agent_source *src, const json_t *report);

    /* Says the node is alive (every 10 s). KS_ENOTFOUND: the control plane
     * forgot the node; the agent registers again. */
    int (*heartbeat)(struct ks_agent_source *src);

    /* Every Pod assigned to this node now: *out is an array of Pod objects;
     * *out_revision is the position to watch from. */
    int (*list)(struct ks_agent_source *src, json_t **out, int64_t *out_revision);

    /* Changes after since, waiting at most timeout_ms for one: *out is an
     * array of {"type": "put"|"delete", "kind", "namespace", "name",
     * "object"} ("object" only on put) and may hold kinds other than Pod
     * (ConfigMap and Secret changes tell the agent to refresh volumes and
     * env; Service and Endpoints changes feed the service proxy; anything
     * else is ignored). *out_revision is where to watch from
     * next. KS_EGONE: since is too old, call list again. A delete of a pod
     * the agent does not run is to be ignored. */
    int (*watch)(struct ks_agent_source *src, json_t **out, int64_t *out_revision, int64_t since,
                 long timeout_ms);

    /* A ConfigMap or Secret a pod on this node refers to. KS_ENOTFOUND when
     * absent. */
    int (*get_object)(struct ks_agent_source *src, json_t **out, const char *kind, const char *ns,
                      const char *name);

    /* The pod's observed status object (phase, conditions,
     * containerStatuses, podIP, startTime, ...), replacing the last one.
     * A source may only queue it and send it later (the control plane's:
     * 0 then means queued, and the source owns the retries); it may keep a
     * reference, so the caller must not change status afterwards. */
    int (*report_status)(struct ks_agent_source *src, const char *ns, const char *name,
                         const json_t *status);

    /* An array of event objects ({"type": "Normal"|"Warning", "reason",
     * "message", "object": {"kind", "namespace", "name"}, ...}). */
    int (*report_events)(struct ks_agent_source *src, const json_t *events);

    /* Makes a watch in progress return soon (0 with no changes); callable
     * from any thread. */
    void (*interrupt)(struct ks_agent_source *src);

    void (*free)(struct ks_agent_source *src);

    /* Every object of kind ("Service" or "Endpoints"), all namespaces: *out is an array. NULL op or
     * KS_ENOTFOUND: the source has none (static pods). The agent follows later changes of these
     * kinds through watch. */
    int (*list_objects)(struct ks_agent_source *src, json_t **out, const char *kind);
};

/* Implementations embed this as their first member. */
struct ks_agent_source {
    const struct ks_agent_source_ops *ops;
};

/* Constructors (each in its own folder; *out owned by the caller, freed
 * with ops->free):
 *
 * nodeagent/cpclient: the control plane over HTTP(S) with a node token.
 *   int ks_cpclient_source_new(struct ks_agent_source **out,
 *                              const struct ks_cpclient_opts *opts);
 *
 * nodeagent/staticpods: Pod manifests (*.yaml, *.yml, *.json) in a
 * directory, followed with inotify; with a report directory it is also the
 * file-backed source of the tests (status and events written as files).
 *   int ks_staticpods_source_new(struct ks_agent_source **out,
 *                                const struct ks_staticpods_opts *opts);
 */

#endif
