/*
 * daemon.h: the long-running control plane (`reconcile` without --once) and
 * the pieces `reconcile --once` shares with it (DESIGN.md §1, §2).
 *
 * - The sync pass (sync.c): Git fetch -> desired set -> plan -> apply in
 *   one store transaction with its sync record. A pass that fails (bad
 *   YAML, a template error) records the failure with its file:line message
 *   and changes nothing.
 * - The controller pass (pass.c): node lifecycle, the workload controllers,
 *   then the scheduler binding pending Pods to Ready nodes (bind.c). It runs
 *   after every sync and after every write agents make through the API.
 * - Triggers (triggers.c): interval, API/webhook tickets, inotify on a local
 *   repository's refs, agent writes and a lifecycle tick, coalesced so that
 *   one sync runs at a time.
 * - Node lifecycle (nodes.c): a node silent for monitor_grace gets
 *   Ready=Unknown; after a further eviction_grace its Pods are marked Failed
 *   (reason NodeLost) so that controllers replace them elsewhere.
 * - The embedded node (local.c): the `nodeagent` binary as a child process
 *   with its Podman socket (found, or a private `podman system service`
 *   child). nodeagent code is never linked into reconcile (the dependency
 *   rule), hence a child process.
 *
 * Threading: every function taking a struct ks_store uses it from the
 * calling thread only; the API server has its own connection.
 */
#ifndef KS_RECONCILER_DAEMON_H
#define KS_RECONCILER_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "reconciler/api/api.h"
#include "reconciler/controllers/services.h"
#include "reconciler/plan/plan.h"
#include "reconciler/source/source.h"
#include "reconciler/store/store.h"

/* ---- sync pass ---------------------------------------------------------- */

struct ks_sync_opts {
    const char *repo;      /* for messages */
    const char *branch;    /* NULL = the source's default */
    const char *path;      /* NULL = repository root */
    const char *state_dir; /* chart and render caches */
    bool allow_mass_prune;
    unsigned max_prune_percent; /* 0 = 50 */
    /* Record a sync even when nothing changed since the last apply (so a
     * client waiting for a ticket gets an answer). */
    bool record_unchanged;
    int64_t ticket; /* written into the summary as "ticket" */
    /* Plan only: compute the plan (with the placement the scheduler would
     * choose) and write nothing; store may then be NULL (no state yet). */
    bool dry_run;
    /* The range Service clusterIPs come from (--service-cidr); NULL =
     * KS_SERVICE_CIDR_DEFAULT. Checked again by every pass. */
    const char *service_cidr;
};

enum ks_sync_outcome { KS_SYNC_FAILED, KS_SYNC_UNCHANGED, KS_SYNC_APPLIED };

struct ks_sync_result {
    enum ks_sync_outcome outcome;
    int64_t sync_id;            /* the sync record, -1 when none was written */
    char commit[41];            /* "" when the fetch or resolve failed */
    char tree[41];              /* git tree id of --path ("" when unknown) */
    int64_t fetch_ms;           /* time spent fetching */
    struct ks_plan *plan;       /* owned; NULL when unchanged or failed early */
    struct ks_desired_set *set; /* owned; NULL when unchanged or failed early */
    char error[2048];           /* the failure ("" otherwise) */
};

/* One pass. Fills *out in every case (release with
 * ks_sync_result_release); returns 0 when the pass applied or found
 * nothing to do, the failure's code otherwise (message in out->error and
 * ks_error_last()). */
int ks_sync_pass(struct ks_sync_result *out, struct ks_store *store, struct ks_source *src,
                 const struct ks_sync_opts *opts);
void ks_sync_result_release(struct ks_sync_result *r);

/* Builds the summary JSON of a sync record: {"ticket", "fetch_ms",
 * "commit", "create", "update", "delete", "unchanged"} (plan counts only
 * when plan is not NULL). New reference. */
json_t *ks_sync_summary(const struct ks_plan *plan, const char *commit, int64_t ticket,
                        int64_t fetch_ms);

/* ---- node lifecycle ------------------------------------------------------ */

#define KS_NODE_MONITOR_GRACE_MS 40000  /* silent this long: Ready=Unknown */
#define KS_NODE_EVICTION_GRACE_MS 60000 /* then this long: pods NodeLost */

enum ks_node_verdict {
    KS_NODE_HEALTHY, /* heard from recently */
    KS_NODE_SILENT,  /* past monitor grace: Ready must be Unknown */
    KS_NODE_LOST,    /* past monitor + eviction grace: its pods fail */
};

struct ks_node_grace {
    int64_t monitor_ms;  /* 0 = KS_NODE_MONITOR_GRACE_MS */
    int64_t eviction_ms; /* 0 = KS_NODE_EVICTION_GRACE_MS */
};

/* The verdict for a node last heard from at last_heard_ms (its heartbeat,
 * or when this control plane started if that is later: a restarted control
 * plane gives every node the full grace again). Pure. */
enum ks_node_verdict ks_node_verdict_of(int64_t last_heard_ms, int64_t now_ms,
                                        const struct ks_node_grace *grace);

/* Milliseconds of the node's Ready lastHeartbeatTime (RFC 3339 UTC), or
 * -1 when it has none. */
int64_t ks_node_heartbeat_ms(const json_t *node);

/* Whether the node's Ready condition is "True". */
bool ks_node_is_ready(const json_t *node);

/* Applies the verdicts to every Node in the store (one transaction):
 * Ready=Unknown for silent nodes, Failed/NodeLost for the live Pods of lost
 * nodes, and deletes NodeLost Pods of nodes that are Ready again (their
 * agent then removes the containers). started_ms: when this control plane
 * started. *out_changed: whether anything was written. */
int ks_node_lifecycle(bool *out_changed, struct ks_store *store, int64_t now_ms, int64_t started_ms,
                      const struct ks_node_grace *grace);

/* ---- scheduler binding -------------------------------------------------- */

/* Binds every live Pod without spec.nodeName to a Node whose Ready
 * condition is True (kube-scheduler's default profile, bound pods as load);
 * Pods that fit nowhere get PodScheduled=False (reason Unschedulable, the
 * scheduler's explanation as message) and stay Pending. Transactions of 250 bindings.
 * *out (may be NULL): a new array of {"pod": "ns/name", "node": N} or
 * {"pod", "unschedulable": message} for what this call decided. */
int ks_sched_bind_pending(json_t **out, bool *out_changed, struct ks_store *store, uint64_t seed);

/* ---- controller pass ----------------------------------------------------- */

struct ks_ctl_pass {
    int64_t started_ms; /* this control plane's start (node lifecycle) */
    struct ks_node_grace grace;
    uint64_t rng;       /* pod-name randomness state (seeded from the OS) */
    json_t *placements; /* every binding decided, appended (owned; may be NULL) */
};

/* Node lifecycle, controllers to a fixed point, then binding, repeated
 * while binding or lifecycle changed something (at most a few rounds).
 * Returns 0 or the first error. */
int ks_ctl_pass_run(struct ks_ctl_pass *pass, struct ks_store *store, int64_t now_ms);

/* ---- triggers ------------------------------------------------------------ */

enum {
    KS_TRIGGER_INTERVAL = 1 << 0,
    KS_TRIGGER_API = 1 << 1,
    KS_TRIGGER_WEBHOOK = 1 << 2,
    KS_TRIGGER_GIT = 1 << 3, /* inotify on the local repository's refs */
    KS_TRIGGER_START = 1 << 4,
};

struct ks_triggers {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    int64_t interval_ms; /* 0 = no interval syncs */
    int64_t tick_ms;     /* lifecycle tick; 0 = none */
    int64_t next_sync_ms, next_tick_ms;
    int64_t last_ticket;   /* highest issued */
    unsigned sync_reasons; /* pending sync reasons (KS_TRIGGER_*) */
    bool ctl_pending;
    bool stopping;
};

struct ks_trigger_work {
    unsigned sync_reasons; /* 0: no sync this round */
    int64_t ticket;        /* highest ticket issued before this work was taken */
    bool controllers;      /* agents wrote something */
    bool tick;             /* lifecycle tick due */
};

/* now_ms: the monotonic clock (ks_triggers_now_ms) or a test's. A sync is
 * due at once (KS_TRIGGER_START). */
int ks_triggers_init(struct ks_triggers *t, int64_t interval_ms, int64_t tick_ms, int64_t now_ms);
void ks_triggers_release(struct ks_triggers *t);
int64_t ks_triggers_now_ms(void);

/* Asks for a sync; returns the new ticket (> 0). Thread-safe. */
int64_t ks_triggers_sync(struct ks_triggers *t, unsigned reason);
/* Agents wrote something: a controller pass is due. Thread-safe. */
void ks_triggers_wrote(struct ks_triggers *t);
void ks_triggers_stop(struct ks_triggers *t);

/* Takes the work due at now_ms, coalescing everything pending into one
 * round, and schedules the next interval sync and tick. Returns false when
 * nothing is due (out untouched). Pure apart from the mutex. */
bool ks_triggers_take(struct ks_trigger_work *out, struct ks_triggers *t, int64_t now_ms);

/* Blocks until work is due (true) or stop (false). */
bool ks_triggers_wait(struct ks_trigger_work *out, struct ks_triggers *t);

/* ---- the embedded node ----------------------------------------------------- */

struct ks_local_node_opts {
    const char *state_dir;
    const char *node_name;
    const char *server_url;    /* the API's URL */
    const char *ca_file;       /* CA for an https:// server_url (NULL: none) */
    const char *token_file;    /* the node's token */
    const char *podman_socket; /* NULL: discover, else start privately */
    const char *log_level;     /* passed to nodeagent (may be NULL) */
    bool quiet;                /* nodeagent's output to <state_dir>/agent/nodeagent.log */
};

struct ks_local_node;

/* Finds the Podman socket (or starts `podman system service` privately)
 * and spawns nodeagent. *out owned by the caller: ks_local_node_stop(). */
int ks_local_node_start(struct ks_local_node **out, const struct ks_local_node_opts *opts);
/* Restarts a nodeagent that exited, with backoff (1 s doubling to 30 s).
 * Call now and then; cheap. */
void ks_local_node_supervise(struct ks_local_node *n);
/* SIGTERM to nodeagent (pods keep running) and the private Podman service,
 * waits for both; frees. NULL-safe. */
void ks_local_node_stop(struct ks_local_node *n);
/* The Podman socket in use (borrowed). */
const char *ks_local_node_socket(const struct ks_local_node *n);

/* Path of a binary next to /proc/self/exe, in ../nodeagent/ of a build
 * tree, or in the bin directory as seen from an installed reconcile-cp
 * (libexec/keelson/..), else found in PATH; *out malloc'd. KS_ENOTFOUND
 * names where it looked. */
int ks_local_find_binary(char **out, const char *name);

/* The default node name: the host name, lower-cased. */
int ks_local_default_node_name(char *out, size_t cap);

/* ---- status to Git and the dashboard (observe.c) ------------------------ */

struct ks_writeback;
struct ks_dashboard_live;

struct ks_observer_opts {
    struct ks_source *src;     /* the deploy repository (or its mirror) */
    const char *branch;        /* deploy branch for the dashboard (NULL: HEAD) */
    const char *status_branch; /* NULL: keelson/status */
    bool writeback;            /* write the status branch */
    bool start_thread;         /* let the writeback commit on its own thread */
    long interval_ms;          /* batching window (0: 10 s) */
    const char *push_remote;   /* a local repository's remote to push to (NULL: none);
                                  a mirror always pushes to its origin */
    bool drift_pr;             /* --drift-pr: unhealed drift on keelson/drift/<ns>/<pod> */
};

struct ks_observer {
    struct ks_writeback *wb;             /* NULL: no writeback */
    struct ks_dashboard_live *dashboard; /* the live pages */
    char source[41];                     /* last applied commit */
    int64_t last_event_id;               /* events seen (-1: none yet) */
    int64_t last_observe_ms;
    json_t *keys; /* "kind/ns/name" of objects with a status file */
    bool drift_pr;
};

/* Opens the writeback (when asked) and the live dashboard on the
 * repository of opts->src. */
int ks_observer_open(struct ks_observer *ob, const struct ks_observer_opts *opts);
/* Records a sync's result (failed or applied; unchanged is nothing). */
void ks_observer_sync(struct ks_observer *ob, const struct ks_sync_result *r);
/* Records health and observed state of the objects applied from Git, the
 * nodes and new Drift events; at most every 2 s unless force. With
 * --drift-pr also proposes drift branches and heals the drift of closed
 * ones (deletes the pod): returns how many pods it deleted, so the caller
 * runs the controllers again. */
int ks_observer_store(struct ks_observer *ob, struct ks_store *store, int64_t now_ms, bool force);
/* Commits and pushes what is pending (for --once and shutdown). */
int ks_observer_flush(struct ks_observer *ob);
/* The API server's page hook (ud: the observer). */
int ks_observer_page(void *ud, const char *path, char **out_body, size_t *out_len,
                     const char **out_type);
void ks_observer_close(struct ks_observer *ob);

/* ---- the running control plane: API server, triggers, local node ------- */

struct ks_cp_opts {
    const char *state_dir;
    const char *db_path; /* the store (the API opens its own connection) */
    const char *address; /* NULL = 127.0.0.1 */
    unsigned port;       /* 0 = ephemeral */
    const char *tls_cert, *tls_key;
    const char *webhook_secret; /* NULL: /hooks/git answers 404 */
    const char *unix_socket;    /* the API on a Unix socket too (NULL: none) */
    int64_t interval_ms;        /* interval syncs; 0 = none */
    int64_t tick_ms;            /* lifecycle tick */
    bool local_node;            /* spawn the embedded nodeagent */
    const char *node_name;      /* NULL = host name */
    const char *podman_socket;
    bool quiet_agent;
    const char *log_level;
    struct ks_observer *observer; /* serves the dashboard pages (may be NULL) */
};

struct ks_cp {
    struct ks_api_hooks hooks; /* point back at this struct: do not copy it */
    struct ks_triggers triggers;
    bool triggers_ok;
    struct ks_store *api_store;
    struct ks_api_tokens *tokens;
    struct ks_api_server *server;
    pthread_t api_thread;
    bool api_running;
    struct ks_local_node *node;
    struct ks_observer *observer;
    char url[300]; /* http(s)://address:port */
};

/* Starts the API server in its own thread (hooks: sync requests become
 * tickets on cp->triggers, agent writes wake the controller pass) and, with
 * local_node, the embedded node with a token of its own. On failure
 * everything started is stopped again. */
int ks_cp_start(struct ks_cp *cp, const struct ks_cp_opts *opts);
/* Tells watchers the store's current revision. */
void ks_cp_notify(struct ks_cp *cp, struct ks_store *store);
/* Stops the local node (pods keep running), the API server; releases. */
void ks_cp_stop(struct ks_cp *cp);

/* ---- commands -------------------------------------------------------------- */

/* `reconcile [options]` without --once: runs until SIGTERM/SIGINT. */
int ks_cmd_daemon(int argc, char **argv);

#endif
