/*
 * agent.h: the node agent (keelson's kubelet). It takes pods from one or
 * more sources (source.h: the control plane's API, a static pods
 * directory), runs one pod worker per pod on a runtime (runtime.h: Podman
 * or simulated), reports each pod's status and drift events back to the
 * source that assigned it, and keeps the node registered with heartbeats.
 * docs/nodeagent.md describes the behaviour in full.
 *
 * Ownership: the agent borrows the runtime, the sources and the services
 * (the caller frees them after ks_agent_free); node_report is copied.
 */
#ifndef KS_NODEAGENT_AGENT_H
#define KS_NODEAGENT_AGENT_H

#include "nodeagent/agent/source.h"
#include "nodeagent/services/services.h"
#include "nodeagent/runtime/runtime.h"

#include <jansson.h>
#include <stdint.h>

#define KS_AGENT_MAX_SOURCES 4

struct ks_agent_opts {
    const char *node;      /* node name (labels, registration) */
    const char *state_dir; /* volume files live under <state_dir>/pods/<uid>/ */
    struct ks_runtime *rt;
    struct ks_agent_source *sources[KS_AGENT_MAX_SOURCES];
    size_t nsources;
    const json_t *node_report; /* register body; may be NULL (no registration) */
    int64_t resync_ms;         /* 0 = 30 s */
    int64_t heartbeat_ms;      /* 0 = 10 s */
    unsigned max_pods;         /* 0 = 110 */
    unsigned parallel_creates; /* pods created at once; 0 = no limit */
    int64_t backoff_base_ms;   /* 0 = 10 s */
    int64_t backoff_max_ms;    /* 0 = 300 s */
    int64_t backoff_reset_ms;  /* 0 = 10 min of clean running resets the backoff */
    const char *podman_socket; /* refused as a hostPath; may be NULL */
    /* Service reachability (nodeagent/services; borrowed, may be NULL): fed
     * with the sources' Services and Endpoints, poked on pod events. */
    struct ks_services *services;
};

struct ks_agent;

int ks_agent_new(struct ks_agent **out, const struct ks_agent_opts *opts);
/* Runs until ks_agent_stop; pods keep running afterwards. */
int ks_agent_run(struct ks_agent *a);
/* Any thread; async-signal-unsafe (call from a signal-waiting thread). */
void ks_agent_stop(struct ks_agent *a);
void ks_agent_free(struct ks_agent *a);

#endif
