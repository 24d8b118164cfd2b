/*
 * internal.h: the agent's pieces shared between its files (not public).
 *
 * agent.c    threads: source watch loops, runtime events, resync/orphans,
 *            registration and heartbeats; owns the table of pod workers
 * worker.c   one thread per pod: realises the Pod on the runtime, restarts,
 *            probes, drift, status
 * volumes.c  volume directories and files, env resolution (get_object)
 * downward.c the downward API: pod fields and resources for env and files
 * logic.c    pure decisions: backoff, restart policy, spec hash, hostPath
 *            policy, phase, timestamps (unit-tested)
 * status.c   the Kubernetes PodStatus built from a worker's view (pure)
 */
#ifndef KS_NODEAGENT_AGENT_INTERNAL_H
#define KS_NODEAGENT_AGENT_INTERNAL_H

#include "nodeagent/agent/agent.h"
#include "nodeagent/probe/probe.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>

#define KS_AGENT_LABEL_MANAGED "io.keelson.managed"
#define KS_AGENT_LABEL_NODE "io.keelson.node"
#define KS_AGENT_LABEL_UID "io.keelson.pod-uid"
#define KS_AGENT_LABEL_POD "io.keelson.pod"
#define KS_AGENT_LABEL_SOURCE "io.keelson.source"
#define KS_AGENT_LABEL_CTR "io.keelson.container"
#define KS_AGENT_LABEL_HASH "io.keelson.spec-hash"
#define KS_AGENT_ANN_SELF_HEAL "keelson.io/self-heal"

#define KS_AGENT_MAX_CONTAINERS 64
#define KS_AGENT_MAX_VOLUMES 64
#define KS_AGENT_MAX_FILE 1048576 /* one configMap/secret key written as a file */

/* --- logic.c (pure) ------------------------------------------------------ */

struct ks_backoff {
    int64_t base_ms, max_ms, reset_ms;
};
/* Delay before the next restart of a container that ran ran_ms and waited
 * prev_ms before its last start (0: none yet): base, doubling to max, back
 * to base after reset_ms of clean running. */
int64_t ks_agent_backoff_next(const struct ks_backoff *b, int64_t prev_ms, int64_t ran_ms);
enum ks_restart_policy { KS_RESTART_ALWAYS, KS_RESTART_ON_FAILURE, KS_RESTART_NEVER };
int ks_agent_restart_policy_parse(enum ks_restart_policy *out, const char *text);
bool ks_agent_should_restart(enum ks_restart_policy p, int exit_code);
/* First 16 hex digits of sha256 over the container's canonical JSON. */
int ks_agent_spec_hash(char out[17], const json_t *k8s_container);
/* 0 when path may be bind-mounted; KS_EINVALID naming why not (/, /etc,
 * /proc, /sys, /dev, /boot, /run/podman, relative, "..", the Podman socket,
 * the agent's state dir). */
int ks_agent_hostpath_check(const char *path, const char *podman_socket, const char *state_dir);
/* RFC 3339 UTC with seconds ("2026-12-01T19:12:58Z") from Unix ns. */
void ks_agent_time_format(char out[32], int64_t unix_ns);
int64_t ks_agent_now_ns(void);  /* wall clock */
int64_t ks_agent_mono_ms(void); /* monotonic */

/* --- specdrift.c (pure) --------------------------------------------------- */

/* Whether image reference found (as Podman reports it) names the spec's
 * image: ":latest" when untagged, docker.io/library for Docker Hub, a short
 * name matching the same path on any registry. */
bool ks_agent_image_same(const char *spec, const char *found);
/* Compares a container's config (runtime.h shape) with its Kubernetes spec,
 * only what the spec sets. want_env: the env resolved when the agent made
 * the container ({NAME: value}; NULL when adopted: valueFrom and envFrom
 * values are then not compared, as their sources may have changed since);
 * env_names (may be NULL): names the spec's envFrom brings, from a
 * resolution now (values unused); image_env: the image's own env (may be
 * NULL). 0: the same. 1: it differs, *out_text (malloc'd, one line) says
 * how, *out_found and *out_desired (new refs, NULL when the manifest cannot
 * express it, e.g. a Secret's value) hold the differing keys of the
 * Kubernetes container (found.env is the whole env list to write). */
int ks_agent_config_diff(json_t **out_found, json_t **out_desired, char **out_text,
                         const json_t *spec, const json_t *want_env, const json_t *env_names,
                         const json_t *config, const json_t *image_env);

/* --- pullsecrets.c -------------------------------------------------------- */

/* The registry credential for image from docker configs ([{KEY: ENTRY}],
 * in imagePullSecrets order), by the kubelet's matching rules: *out a new
 * {"username", "password"} or {"identitytoken"}, NULL when no key matches.
 * KS_EINVALID only for an image that names no repository. */
int ks_agent_pull_cred(json_t **out, const char *image, const json_t *configs);
/* Podman's X-Registry-Auth value for a credential (base64url of its JSON). */
int ks_agent_pull_auth_header(char **out, const json_t *cred);
/* The {KEY: ENTRY} map of a kubernetes.io/dockerconfigjson or dockercfg
 * Secret (new ref); KS_EINVALID naming the secret for another type or a
 * bad document. */
int ks_agent_pull_config(json_t **out, const json_t *secret, const char *name);
/* For a pod's image: *out the X-Registry-Auth value from the pod's
 * imagePullSecrets (NULL: none applies), *out_missing the names of the
 * Secrets that do not exist ("\"a\", \"b\"", NULL: none), both malloc'd. */
struct ks_agent_source;
int ks_agent_pull_auth(char **out, char **out_missing, struct ks_agent_source *src,
                       const json_t *pod, const char *image);

/* --- worker view for status.c ------------------------------------------ */

struct ks_ctr {
    char *name;
    bool init;
    json_t *spec; /* the Kubernetes container (own ref) */
    char hash[17];
    char *id;
    char *image_id;
    char *made_id;     /* the container the agent made: its config is the spec's */
    json_t *want_env;  /* env resolved at create ({NAME: value}); NULL: adopted */
    json_t *env_names; /* adopted: the env resolved at adoption, names only */
    json_t *image_env; /* the image's env (image_env_of), fetched once */
    char *image_env_of;
    bool config_drift; /* a differing config was reported (self-heal off) */
    int64_t gone_ms;   /* monotonic: found removed, a replacement awaited */
    bool have_state;
    struct ks_podman_ctr_state st;
    int restarts;
    int64_t backoff_ms;       /* delay used before the last restart */
    int64_t next_start_ms;    /* monotonic; 0: may start now */
    int64_t seen_finished_ns; /* exit already handled */
    bool restart_pending;
    bool completed;    /* init container exited 0 */
    bool held;         /* drift with self-heal off: left as found */
    char *wait_reason; /* set while waiting (CrashLoopBackOff, ErrImagePull, ...) */
    char *wait_msg;
    json_t *last_term; /* lastState.terminated, own ref */
    bool started;      /* startup probe passed (or none) */
    bool ready;
    /* own stops/kills/removes: events inside [own_from, own_to] are ours */
    _Atomic int64_t own_from_ns, own_to_ns;
    atomic_bool oob_stop; /* set by the events thread */
    /* wall ns just before its last inspect: older events are already seen */
    _Atomic int64_t read_ns;
    /* restartPolicy Never and the start failed: terminated, StartError (128) */
    bool start_failed;
    char *start_error;
    /* probes (specs parsed at setup; NULL kind when absent) */
    struct ks_probe_spec probe_spec[3]; /* liveness, readiness, startup */
    bool has_probe[3];
    struct ks_probe_tracker probe[3];
    int64_t probe_epoch_ns; /* started_ns the trackers were set for */
};

enum { KS_PROBE_LIVE = 0, KS_PROBE_READY = 1, KS_PROBE_STARTUP = 2 };

struct ks_pod_view {
    const char *ns, *name, *uid;
    enum ks_restart_policy policy;
    struct ks_ctr *ctrs;
    size_t nctrs;
    const char *pod_ip, *host_ip;
    int64_t start_ns;
    const char *reason, *message; /* pod-level problem, may be NULL */
    bool deleted;
};

/* Builds the PodStatus. prev (may be NULL) is the last one built: condition
 * lastTransitionTime is kept while a condition's status stays. */
json_t *ks_agent_status_build(const struct ks_pod_view *v, const json_t *prev, int64_t now_ns);
/* The phase alone (also used by the worker to stop restarting). */
const char *ks_agent_phase(const struct ks_pod_view *v);

/* --- volumes.c ------------------------------------------------------------ */

/* Writes every volume of pod under dir (<state>/pods/<uid>/volumes) and
 * fills *out with volume name -> host path. Errors set reason (static
 * string) and a message through ks_error_set. */
int ks_agent_volumes_prepare(json_t **out, const char **out_reason, struct ks_agent_source *src,
                             const json_t *pod, const char *dir, const char *podman_socket,
                             const char *state_dir);
/* A copy of the container with env valueFrom and envFrom resolved to
 * literal values (facts: the pod's IPs for status.podIP / status.hostIP,
 * see downward.h). */
struct ks_agent_pod_facts;
int ks_agent_env_resolve(json_t **out, struct ks_agent_source *src, const json_t *pod,
                         const json_t *container, const struct ks_agent_pod_facts *facts);
/* rm -rf of an agent-owned directory. */
void ks_agent_rmtree(const char *path);

/* --- worker.c ------------------------------------------------------------- */

struct ks_agent;
struct ks_worker;

int ks_worker_new(struct ks_worker **out, struct ks_agent *a, struct ks_agent_source *src,
                  const json_t *pod);
/* A new version of the pod (same ns/name) or its deletion (pod NULL). */
void ks_worker_update(struct ks_worker *w, const json_t *pod);
/* Wake for a resync; refresh re-reads ConfigMaps/Secrets. */
void ks_worker_poke(struct ks_worker *w, bool refresh);
/* Called by the events thread. */
void ks_worker_event(struct ks_worker *w, const struct ks_runtime_event *ev);
void ks_worker_stop(struct ks_worker *w);
bool ks_worker_exited(struct ks_worker *w);
void ks_worker_join_free(struct ks_worker *w);
bool ks_worker_has_uid(struct ks_worker *w, const char *uid);
struct ks_agent_source *ks_worker_source(struct ks_worker *w);

/* --- agent.c (for workers) ---------------------------------------------- */

struct ks_agent_shared {
    const char *node;
    const char *state_dir;
    const char *podman_socket;
    const char *host_ip; /* the node report's InternalIP address, "" if none */
    struct ks_runtime *rt;
    struct ks_backoff backoff;
    int64_t resync_ms;
    /* Pods being created (create, containers, start) at once are limited by
     * this semaphore (NULL: no limit): 20 parallel creations on a 2-core
     * host contend inside Podman and take longer than 2 at a time. */
    sem_t *create_slots;
    atomic_bool stopping;
};
const struct ks_agent_shared *ks_agent_shared(const struct ks_agent *a);
void ks_agent_emit(struct ks_agent_source *src, json_t *events); /* steals events */

#endif
