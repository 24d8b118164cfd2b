/*
 * podman.h: the node agent's client for Podman's libpod REST API (v4).
 *
 * Every runtime action of the node agent (DESIGN.md §5) goes through this
 * client: HTTP/1.1 over Podman's Unix socket with the agent's own client
 * (nodeagent/http), never the podman CLI. It is a thin, typed layer: requests carry libpod's own
 * JSON shapes (SpecGenerator, PodSpecGenerator) as jansson values, answers come back as jansson
 * values or small parsed structs, and every failure is one KS_E* code plus a message that names the
 * socket, the request and Podman's own "message" text with the HTTP status.
 *
 * Errors (core/error.h):
 *   KS_ENOTFOUND  HTTP 404 (no such pod, container, image, exec session)
 *   KS_ECONFLICT  HTTP 409, and the conflicts libpod 4.3 reports as HTTP 500
 *                 (cause "container state improper", e.g. killing a container
 *                 that is not running; "that name is already in use" when a
 *                 container name is taken)
 *   KS_EINVALID   HTTP 400, or arguments this client refuses to send
 *   KS_ETIMEOUT   no complete answer within the call's time limit
 *   KS_EIO        the socket cannot be reached or the connection broke
 *                 ("podman at /run/x.sock: connection refused")
 *   KS_ELIMIT     an answer larger than the response cap
 *   KS_ERROR      any other HTTP error status from Podman
 * "Already started" / "already stopped" (HTTP 304) count as success.
 *
 * Connections: a handle keeps a few idle keep-alive connections for reuse
 * (nodeagent/http); a call that hits a broken connection closes it, and a
 * pooled connection the service closed is replaced, so the next call
 * connects afresh. A service that
 * restarts on the same socket path is therefore picked up without
 * re-creating the ks_podman. All calls on one handle are thread-safe; the
 * pool size only bounds how many idle connections are kept.
 *
 * Ownership: json_t values returned through out-params are new references
 * (json_decref them); strings returned through out-params are malloc'd
 * (free them). Out-params are written only on success.
 */
#ifndef KS_NODEAGENT_PODMAN_H
#define KS_NODEAGENT_PODMAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults and limits. */
#define KS_PODMAN_DEFAULT_TIMEOUT_MS 30000L     /* whole request, per call */
#define KS_PODMAN_DEFAULT_CONNECT_MS 2000L      /* connect() on the socket */
#define KS_PODMAN_DEFAULT_MAX_RESPONSE 8388608u /* bytes of one answer body */
#define KS_PODMAN_MAX_NAME 255                  /* pod/container/image/id argument */
#define KS_PODMAN_MAX_EVENT_LINE 65536          /* one event on the stream */
#define KS_PODMAN_API_PREFIX "/v4.0.0/libpod"

struct ks_podman;

struct ks_podman_opts {
    long timeout_ms;     /* 0 = KS_PODMAN_DEFAULT_TIMEOUT_MS */
    long connect_ms;     /* 0 = KS_PODMAN_DEFAULT_CONNECT_MS */
    size_t max_response; /* cap on every answer; 0 = KS_PODMAN_DEFAULT_MAX_RESPONSE */
};

/* Creates a client for the libpod socket at socket_path (copied). Does not
 * connect: a missing service shows up on the first call. opts may be NULL. */
int ks_podman_new(struct ks_podman **out, const char *socket_path,
                  const struct ks_podman_opts *opts);
/* Frees the client and its idle connections. NULL-safe. No call may be in
 * flight. */
void ks_podman_free(struct ks_podman *pm);
/* The socket path given to ks_podman_new (borrowed). */
const char *ks_podman_socket(const struct ks_podman *pm);

/* --- service ----------------------------------------------------------- */

/* GET /_ping: 0 when the service answers "OK". */
int ks_podman_ping(struct ks_podman *pm);
/* GET /version: *out is the service's Podman version ("4.3.1"), malloc'd;
 * *out_api (may be NULL) its libpod API version ("4.3.1"), malloc'd. */
int ks_podman_version(char **out, char **out_api, struct ks_podman *pm);

/* --- images ------------------------------------------------------------ */

/* 0 when the image exists locally, KS_ENOTFOUND when not. */
int ks_podman_image_exists(struct ks_podman *pm, const char *name);
/* The image's inspect document. */
int ks_podman_image_inspect(json_t **out, struct ks_podman *pm, const char *name);
/* Pulls reference (policy "missing": no-op when present). timeout_ms 0 uses
 * the client's default. Podman reports pull failures inside a 200 stream;
 * they come back as KS_EIO with Podman's text. *out (may be NULL) gets the
 * image id, malloc'd. */
int ks_podman_image_pull(char **out, struct ks_podman *pm, const char *reference, long timeout_ms);
/* Same with libpod's pull policy ("missing", "always" or "newer") and a
 * registry credential: auth is the X-Registry-Auth value (base64url of the
 * JSON {"username", "password"} or {"identitytoken"}), NULL for none. */
int ks_podman_image_pull_policy(char **out, struct ks_podman *pm, const char *reference,
                                const char *policy, const char *auth, long timeout_ms);

/* --- pods ---------------------------------------------------------------- */

/* POST /pods/create with a PodSpecGenerator (name, hostname, labels,
 * portmappings [{container_port, host_port, host_ip, protocol}], ...).
 * *out is the new pod's id, malloc'd. */
int ks_podman_pod_create(char **out, struct ks_podman *pm, const json_t *spec);
int ks_podman_pod_start(struct ks_podman *pm, const char *pod);
/* Stops every running container of the pod, waiting timeout_s for each
 * before SIGKILL (0 or negative: each container's own stop timeout; libpod
 * ignores t=0). Also stops "Degraded" pods, which libpod's pod stop
 * skips (it answers 304 unless every container runs): the running ones are
 * then stopped one by one. */
int ks_podman_pod_stop(struct ks_podman *pm, const char *pod, int timeout_s);
/* signal is a name ("SIGKILL") or number as text; NULL means SIGKILL. */
int ks_podman_pod_kill(struct ks_podman *pm, const char *pod, const char *signal);
/* Removes the pod; force also stops and removes its containers. */
int ks_podman_pod_remove(struct ks_podman *pm, const char *pod, bool force);
/* The pod's inspect document (Id, Name, State, Labels, Containers, ...). */
int ks_podman_pod_inspect(json_t **out, struct ks_podman *pm, const char *pod);
/* Array of pod list entries carrying every label in labels ("k=v" or "k";
 * a NULL-terminated array; NULL or empty lists all pods). */
int ks_podman_pod_list(json_t **out, struct ks_podman *pm, const char *const *labels);

/* --- containers ---------------------------------------------------------- */

/* POST /containers/create with a SpecGenerator (see ks_podman_spec_container
 * for building one from a Kubernetes container). *out is the id, malloc'd. */
int ks_podman_container_create(char **out, struct ks_podman *pm, const json_t *spec);
int ks_podman_container_start(struct ks_podman *pm, const char *ctr);
/* timeout_s: seconds before SIGKILL; negative uses the container's own. */
int ks_podman_container_stop(struct ks_podman *pm, const char *ctr, int timeout_s);
/* signal as for ks_podman_pod_kill. KS_ECONFLICT when it is not running. */
int ks_podman_container_kill(struct ks_podman *pm, const char *ctr, const char *signal);
/* force stops a running container first (without waiting: timeout 0). */
int ks_podman_container_remove(struct ks_podman *pm, const char *ctr, bool force);
int ks_podman_container_inspect(json_t **out, struct ks_podman *pm, const char *ctr);
/* Array of container list entries (all states) with every label in labels. */
int ks_podman_container_list(json_t **out, struct ks_podman *pm, const char *const *labels);
/* The container's stdout and stderr interleaved, at most tail lines (0: all)
 * and at most max_bytes bytes (0: 1 MiB); *out is malloc'd, NUL-terminated;
 * *out_len (may be NULL) its length. Longer logs keep their first max_bytes
 * bytes at most (whole frames) and *out_truncated (may be NULL) is set. */
int ks_podman_container_logs(char **out, size_t *out_len, bool *out_truncated, struct ks_podman *pm,
                             const char *ctr, unsigned tail, size_t max_bytes);

/* What an agent needs from a container's inspect document. */
struct ks_podman_ctr_state {
    char status[32]; /* "created", "running", "exited", "stopped", ... */
    bool running;
    bool oom_killed;
    int exit_code;
    int64_t started_ns;  /* Unix time in ns; 0 when never started */
    int64_t finished_ns; /* 0 when never finished */
    int restart_count;
    int pid;
};

/* Parses a container inspect document (pure; no I/O). KS_EINVALID names
 * the field that is missing or malformed. */
int ks_podman_ctr_state_parse(struct ks_podman_ctr_state *out, const json_t *inspect);
/* Inspect + parse in one call. */
int ks_podman_container_state(struct ks_podman_ctr_state *out, struct ks_podman *pm,
                              const char *ctr);

/* Parses an RFC 3339 timestamp as Podman prints it ("2026-11-22T04:12:48.911907363Z",
 * "...+01:00") into Unix nanoseconds. Go's zero time (year 1) gives 0. */
int ks_podman_time_parse(int64_t *out, const char *text);

/* --- exec ---------------------------------------------------------------- */

/* Runs argv (NULL-terminated) inside the running container, waits up to
 * timeout_ms (0: client default) and returns its exit code in *out.
 * *out_output (may be NULL) gets stdout+stderr, at most 64 KiB, malloc'd. */
int ks_podman_exec(int *out, char **out_output, struct ks_podman *pm, const char *ctr,
                   const char *const *argv, long timeout_ms);

/* --- events -------------------------------------------------------------- */

/* One event from the stream. All pointers are borrowed from the stream's
 * current line and valid only during the callback. */
struct ks_podman_event {
    const char *type;   /* "container", "pod", "image", ... */
    const char *action; /* "create", "start", "died", "remove", ... */
    const char *id;
    const char *name;  /* Actor.Attributes.name; "" if absent */
    int exit_code;     /* Actor.Attributes.containerExitCode; -1 if absent */
    int64_t time_ns;   /* timeNano */
    const json_t *raw; /* the whole event document */
};

/* Return 0 to go on, anything else to stop the stream (that value is then
 * returned by ks_podman_events_run). */
typedef int (*ks_podman_event_fn)(const struct ks_podman_event *ev, void *ud);

/* Fills *out from one event document (pure; pointers borrow from doc).
 * KS_EINVALID when Type or Action is missing. */
int ks_podman_event_parse(struct ks_podman_event *out, const json_t *doc);

struct ks_podman_events;

/* Prepares an event stream with every label in labels (NULL-terminated, "k=v";
 * NULL: all events) and, when since > 0, replaying events from that Unix
 * time (seconds). Does not connect yet. */
int ks_podman_events_new(struct ks_podman_events **out, struct ks_podman *pm,
                         const char *const *labels, int64_t since);
/* Streams events to cb until ks_podman_events_stop (returns 0), cb returns
 * non-zero (returns that), or the stream fails or ends (KS_EIO: the service
 * went away; a caller reconnects by calling run again, with since set to the
 * last event's time to miss nothing). Blocks the calling thread. */
int ks_podman_events_run(struct ks_podman_events *ev, ks_podman_event_fn cb, void *ud);
/* Makes the run in progress (in another thread) return 0 soon; if no run
 * is in progress, the next run returns 0 at once. Thread-safe. */
void ks_podman_events_stop(struct ks_podman_events *ev);
/* NULL-safe; no run may be in progress. */
void ks_podman_events_free(struct ks_podman_events *ev);

/* --- Kubernetes -> libpod specs (pure; spec.c) --------------------------- */

/* A pod's ports, hostname and labels as a PodSpecGenerator. k8s_pod is a
 * Kubernetes Pod object (metadata + spec); every containers[].ports[] with a
 * hostPort becomes a port mapping (hostIP default "", protocol lower-cased).
 * labels (may be NULL) are added to the pod's own metadata.labels. */
int ks_podman_spec_pod(json_t **out, const json_t *k8s_pod, const char *podman_name,
                       const json_t *labels);

/* Extra facts a container spec needs beyond the Kubernetes container. */
struct ks_podman_ctr_ctx {
    const char *name;      /* Podman container name */
    const char *pod;       /* Podman pod name or id; may be NULL */
    const json_t *labels;  /* object of extra labels; may be NULL */
    const json_t *volumes; /* object volume name -> host path; may be NULL */
    int stop_timeout_s;    /* terminationGracePeriodSeconds; < 0: leave out */
};

/* Builds a SpecGenerator from a Kubernetes container (image, command, args,
 * env [{name, value}], workingDir, securityContext.runAsUser/runAsGroup,
 * volumeMounts, resources.limits {cpu, memory}). command maps to entrypoint
 * and args to command, as Kubernetes overrides ENTRYPOINT and CMD. Podman's
 * restart policy is always "no" (the agent restarts). KS_EINVALID names the
 * offending field (e.g. an env entry using valueFrom, which the caller must
 * resolve first, or a volumeMount whose volume is not in ctx->volumes). */
int ks_podman_spec_container(json_t **out, const json_t *k8s_container,
                             const struct ks_podman_ctr_ctx *ctx);

#endif
