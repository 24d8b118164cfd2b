/*
 * runtime.h: what the node agent needs from a container runtime.
 *
 * The pod workers (nodeagent/agent) speak only this interface, so the same
 * agent runs real pods through Podman's REST socket (runtime_podman.c, on
 * nodeagent/podman) or simulated pods held in memory (runtime_sim.c, for
 * scale tests with hundreds of agents on one machine).
 *
 * Shapes are small and normalised so both implementations produce them:
 *   pod list entry / pod info: {"id", "name", "labels": {}, "state", "ip"}
 *     ("ip" only from ks_runtime_pod_inspect; "" when unknown)
 *   container list entry: {"id", "name", "labels": {}, "state", "pod"}
 *   container config: {"image": name it was made from, "command": [...]
 *     (the entrypoint), "args": [...] (the image command / Podman's Cmd),
 *     "env": {NAME: value} (everything in the container's environment,
 *     including what the image and Podman add)}
 *
 * Errors are the KS_E* codes of nodeagent/podman/podman.h (KS_ENOTFOUND for
 * a missing pod/container/image, KS_EIO when the runtime is unreachable).
 * All calls are thread-safe; events_run blocks its thread until
 * events_stop. json_t out-params are new references, strings are malloc'd.
 */
#ifndef KS_NODEAGENT_RUNTIME_H
#define KS_NODEAGENT_RUNTIME_H

#include "nodeagent/podman/podman.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ks_runtime;

/* One runtime event; pointers valid only during the callback. */
struct ks_runtime_event {
    const char *type;   /* "container" or "pod" */
    const char *action; /* "start", "died", "kill", "stop", "remove", ... */
    const char *id;
    const char *name;
    const char *pod_uid;  /* io.keelson.pod-uid label, "" if none */
    const char *ctr_name; /* io.keelson.container label, "" if none */
    int exit_code;        /* -1 when absent */
    int64_t time_ns;
};
typedef void (*ks_runtime_event_fn)(const struct ks_runtime_event *ev, void *ud);

/* imagePullPolicy. An unset policy is IfNotPresent here, also for :latest
 * (Kubernetes would pull those Always; keelson does not assume a registry). */
enum ks_pull_policy { KS_PULL_IF_NOT_PRESENT = 0, KS_PULL_ALWAYS, KS_PULL_NEVER };

struct ks_runtime_ops {
    const char *name; /* "podman" or "sim" */
    /* "podman 4.3.1" or "sim". */
    int (*version)(struct ks_runtime *rt, char **out);
    /* 0 when the image is there: IfNotPresent pulls it when missing, Always
     * pulls it, Never only looks (KS_ENOTFOUND when it is missing). auth
     * (may be NULL): the registry credential for a pull, as Podman's
     * X-Registry-Auth header value (base64url JSON). */
    int (*image_ensure)(struct ks_runtime *rt, const char *image, enum ks_pull_policy policy,
                        const char *auth);
    /* Image id of a local image (for containerStatuses.imageID). */
    int (*image_id)(struct ks_runtime *rt, char **out, const char *image);
    /* The environment a local image gives its containers: {NAME: value}. */
    int (*image_env)(struct ks_runtime *rt, json_t **out, const char *image);
    /* A pod from a Kubernetes Pod (port mappings, hostname) with labels. */
    int (*pod_create)(struct ks_runtime *rt, char **out, const json_t *k8s_pod, const char *name,
                      const json_t *labels);
    int (*pod_start)(struct ks_runtime *rt, const char *pod);
    int (*pod_stop)(struct ks_runtime *rt, const char *pod, int timeout_s);
    int (*pod_remove)(struct ks_runtime *rt, const char *pod);
    int (*pod_inspect)(struct ks_runtime *rt, json_t **out, const char *pod);
    int (*pod_list)(struct ks_runtime *rt, json_t **out, const char *const *labels);
    int (*ctr_create)(struct ks_runtime *rt, char **out, const json_t *k8s_container,
                      const struct ks_podman_ctr_ctx *ctx);
    int (*ctr_start)(struct ks_runtime *rt, const char *ctr);
    int (*ctr_stop)(struct ks_runtime *rt, const char *ctr, int timeout_s);
    int (*ctr_kill)(struct ks_runtime *rt, const char *ctr, const char *signal);
    int (*ctr_remove)(struct ks_runtime *rt, const char *ctr);
    /* State plus (each may be NULL) its labels object, image id and
     * container config (shape above). */
    int (*ctr_inspect)(struct ks_runtime *rt, struct ks_podman_ctr_state *out, json_t **out_labels,
                       char **out_image_id, json_t **out_config, const char *ctr);
    int (*ctr_list)(struct ks_runtime *rt, json_t **out, const char *const *labels);
    int (*exec)(struct ks_runtime *rt, int *out, const char *ctr, const char *const *argv,
                long timeout_ms);
    /* Streams events of objects carrying every label in labels until
     * events_stop; returns KS_EIO when the stream broke (call again). */
    int (*events_run)(struct ks_runtime *rt, const char *const *labels, ks_runtime_event_fn cb,
                      void *ud);
    void (*events_stop)(struct ks_runtime *rt);
    void (*free)(struct ks_runtime *rt);
};

struct ks_runtime {
    const struct ks_runtime_ops *ops;
};

/* Podman through its libpod socket (path copied). */
int ks_runtime_podman_new(struct ks_runtime **out, const char *socket_path);

/* In-memory pods: every start takes start_ms, and fails (exit code 1) with
 * probability fail_rate (0..1). Containers "run" until stopped. */
struct ks_runtime_sim_opts {
    long start_ms;
    double fail_rate;
    unsigned seed;
};
int ks_runtime_sim_new(struct ks_runtime **out, const struct ks_runtime_sim_opts *opts);

#endif
