/*
 * writeback.h: the status branch: observed state, sync results, drift and
 * health transitions written back to Git as commits (issue 8, DESIGN.md §4).
 *
 * The control plane records what happens (ks_writeback_record_*) and what is
 * observed (ks_writeback_set_*); the writeback batches everything recorded
 * within a window (interval_ms) into one commit on the status branch and
 * pushes it when a remote is configured. Commits are built in memory
 * (blobs, git_tree_create_updated, git_commit_create on the ref): no branch
 * is ever checked out, the branch the control plane deploys from, HEAD, the
 * index and a user's work tree are never touched. The branch is created as
 * an orphan on first use.
 *
 * Files on the branch (YAML written by core/yaml.h):
 *   sync.yaml                               last sync: source commit, result,
 *                                           plan summary, error
 *   status/<ns>/<kind>/<name>.yaml          observed state of one object
 *                                           ("_cluster" for cluster-scoped)
 *   nodes/<node>.yaml                       one node as last reported
 *   drift/<ns>/<name>.yaml                  the last drift of one pod
 * A commit is made only when a file changed, except for drift, which is
 * always recorded (its message and trailers carry it). Messages read well in
 * `git log --oneline`; trailers Keelson-Source, Keelson-Event and
 * Keelson-Object (one per object) are for tools. docs/writeback.md has the
 * format, the limits and what is not done.
 *
 * Pushing: to `remote` (a remote name of the repository or a URL; NULL: no
 * push), non-force. A non-fast-forward (someone else pushed to the branch)
 * is resolved by fetching their tip and re-applying each of our unpushed
 * commits' file changes on top of it, in order; then pushing again. An
 * unreachable remote leaves the commits local (retried with backoff from
 * 1 s doubling to 5 min); when more than max_queue commits are unpushed the
 * oldest ones are merged into one commit (the newest state and the order of
 * what is kept survive; the merged commit says how many it replaced).
 *
 * Threading: every ks_writeback_record_* / set_* / stats call is
 * thread-safe and cheap (in-memory only; no Git access). Git work happens in
 * ks_writeback_tick and ks_writeback_flush, which serialise among
 * themselves; either the owner calls ks_writeback_tick from its loop, or
 * ks_writeback_start runs an internal thread that does. libgit2 is used
 * through this object's own repository handle only.
 *
 * Errors from the git side are reported by tick/flush (and in stats); the
 * record functions fail only on invalid input (KS_EINVALID) or a limit
 * (KS_ELIMIT).
 */
#ifndef KS_RECONCILER_WRITEBACK_H
#define KS_RECONCILER_WRITEBACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_WRITEBACK_DEFAULT_BRANCH "keelson/status"
#define KS_WRITEBACK_DEFAULT_AUTHOR_NAME "keelson"
#define KS_WRITEBACK_DEFAULT_AUTHOR_EMAIL "keelson@localhost"
#define KS_WRITEBACK_DEFAULT_INTERVAL_MS 10000
#define KS_WRITEBACK_DEFAULT_MAX_QUEUE 1000u
#define KS_WRITEBACK_DEFAULT_MAX_OBJECTS 10000u
#define KS_WRITEBACK_DEFAULT_MAX_FILE_BYTES (256u * 1024u)
#define KS_WRITEBACK_DEFAULT_MAX_MESSAGE_BYTES (64u * 1024u)
#define KS_WRITEBACK_DEFAULT_MAX_EVENTS 10000u

struct ks_writeback;

struct ks_writeback_opts {
    /* A local repository (non-bare or bare): a local managed repository
     * itself, or the mirror under the state dir for a URL source. Required. */
    const char *repo_path;
    const char *branch; /* status branch on the remote; default "keelson/status" */
    /* The local ref holding the branch; default "refs/heads/<branch>". For a
     * mirror (whose fetch refspec "+refs/heads/(all):refs/heads/(all)", pruned,
     * would overwrite refs/heads/...) pass e.g. "refs/keelson/<branch>". */
    const char *local_ref;
    const char *remote;       /* remote name or URL to push to; NULL: no push */
    const char *author_name;  /* default "keelson" */
    const char *author_email; /* default "keelson@localhost" */
    long interval_ms;         /* batching window; 0 = default 10 s; < 0: commit at every tick */
    size_t max_queue;         /* unpushed commits kept; 0 = default 1000 */
    size_t max_objects;       /* status files tracked; 0 = default 10000 */
    size_t max_file_bytes;    /* one YAML file; 0 = default 256 KiB */
    size_t max_message_bytes; /* one commit message; 0 = default 64 KiB */
    size_t max_events;        /* events kept per window; 0 = default 10000 */
    /* Push credentials (values, not environment: the caller reads them).
     * https: user (default "x-access-token") and token. ssh: private key
     * file (public key next to it as <key>.pub when present), else the
     * ssh agent. */
    const char *https_user;
    const char *https_token;
    const char *ssh_user; /* default: from the URL, else "git" */
    const char *ssh_key;
    /* https: a CA bundle (PEM) to verify the server with instead of the
     * system's. libgit2 keeps it process-wide (it applies to every libgit2
     * connection of the process from then on). NULL: the system's. */
    const char *ca_file;
    /* --drift-pr: unhealed drift on its own branch keelson/drift/<ns>/<pod>
     * (ks_writeback_record_drift_pr). The branch name is refused as status
     * branch then (refs keelson/drift and keelson/drift/... cannot coexist). */
    bool drift_pr;
    /* The deploy branch (for "was the drift branch merged?"); NULL: HEAD. */
    const char *deploy_branch;
    /* How often the remote (or, without one, the repository) is asked which
     * drift branches still exist; 0: interval_ms when > 0, else 10 s. */
    long drift_check_ms;
};

/* One sync pass. summary is the plan's {"create","update","delete",
 * "unchanged"} (may hold "changes": [{"action","kind","namespace","name"}],
 * whose objects become Keelson-Object trailers); error is the failure text
 * ("apps/web.yaml:3:5: ...") or NULL. */
struct ks_writeback_sync {
    const char *source_sha; /* required for "ok"; NULL for a failure before a commit was known */
    const char *result;     /* "ok" or "failed" */
    const json_t *summary;  /* borrowed; may be NULL */
    const char *error;
};

struct ks_writeback_stats {
    uint64_t commits;        /* commits made by this process */
    uint64_t pushes;         /* successful pushes */
    uint64_t rebases;        /* times our commits were re-applied on another writer's tip */
    uint64_t merged_commits; /* commits merged away because the queue was full */
    uint64_t events_dropped; /* events beyond max_events in one window (counted in the message) */
    size_t unpushed;         /* local commits not yet on the remote (last known) */
    size_t pending_events;   /* events not in a commit yet (waiting, or being committed) */
    int push_failing;        /* the last push attempt failed */
    char tip[41];            /* local tip of the status branch ("" when none) */
    char last_error[512];    /* last tick/flush error ("" when none) */
    uint64_t drift_branches; /* drift branch commits made (--drift-pr) */
    uint64_t drift_closed;   /* drift branches found closed without merging */
};

/* Opens the repository and checks the options. *out is freed with
 * ks_writeback_free. Nothing is written until the first tick/flush. */
int ks_writeback_new(struct ks_writeback **out, const struct ks_writeback_opts *opts);

/* Stops the thread of ks_writeback_start (if any) and frees everything.
 * Pending events that were not flushed are lost: call ks_writeback_flush
 * first on a clean shutdown. NULL-safe. */
void ks_writeback_free(struct ks_writeback *wb);

/* Records a sync; writes sync.yaml. */
int ks_writeback_record_sync(struct ks_writeback *wb, const struct ks_writeback_sync *sync);

/* Records a drift event as the node agent reports it:
 * {"type": "Warning", "reason": "Drift", "message": "container web stopped
 * out of band", "node": "node-a", "time": "<RFC 3339>" (optional),
 * "object": {"kind": "Pod", "namespace", "name"},
 * "drift": {"what": "stopped", "container": "web", "found": <any>,
 *           "desired": <any, optional>, "action": "restarted"|"recreated"|
 *           "removed"|"reported", "healed": bool (optional)}}.
 * Writes drift/<ns>/<name>.yaml and always makes a commit. */
int ks_writeback_record_drift(struct ks_writeback *wb, const json_t *event);

/* Records a health transition of an object (health "Healthy",
 * "Progressing", "Degraded", ...; reason may be NULL). Updates the health
 * in its status file (with the time of the transition). */
int ks_writeback_record_health(struct ks_writeback *wb, const char *kind, const char *ns,
                               const char *name, const char *health, const char *reason,
                               const char *source_sha);

/* Replaces the observed state of an object (replicas, pods and their
 * nodes, images, ...; any JSON object, borrowed); NULL removes its file.
 * ns NULL or "" for cluster-scoped kinds. */
int ks_writeback_set_object_status(struct ks_writeback *wb, const char *kind, const char *ns,
                                   const char *name, const json_t *observed);

/* Replaces nodes/<name>.yaml (any JSON object, borrowed); NULL removes it. */
int ks_writeback_set_node(struct ks_writeback *wb, const char *name, const json_t *node);

/* ---- --drift-pr (docs/writeback.md, "Drift branches") ---- */

#define KS_WRITEBACK_DRIFT_PREFIX "keelson/drift/"

/* A drift that was not healed, for its own branch. Strings borrowed. */
struct ks_writeback_drift_pr {
    const json_t *event;    /* the Drift event as recorded (ks_writeback_record_drift) */
    const char *base_sha;   /* the deployed commit of the deploy branch (required) */
    const char *pod_uid;    /* the drifted pod's metadata.uid (required: healing checks it) */
    const char *owner_kind; /* the object in Git the pod comes from (the Deployment, ...,  */
    const char *owner_ns;   /* or the Pod itself); NULL kind: none known */
    const char *owner_name;
    const char *owner_source; /* its keelson.io/source: "apps/web.yaml:14" or "release ..." */
};

/* "keelson/drift/<ns>/<name>" into out (cap bytes); KS_EINVALID / KS_ELIMIT
 * for a name that is no valid path component or ref name. */
int ks_writeback_drift_branch(char *out, size_t cap, const char *ns, const char *name);

/* Queues the drift branch of one unhealed drift (opts.drift_pr): written
 * by the next tick or flush. The branch is based on base_sha and holds one
 * commit that changes the owner's manifest so that merging it makes Git
 * match what was found (drift.found an object with "image", "command",
 * "args" or "env" of drift.container), or a note file drift/<ns>/<pod>.md
 * when that cannot be expressed as a manifest change. Reported again: the
 * branch gets a commit on top when the change differs, nothing when not. */
int ks_writeback_record_drift_pr(struct ks_writeback *wb, const struct ks_writeback_drift_pr *d);

/* Drift branches that disappeared (deleted on the remote, or without a
 * remote in the repository) while their change never reached the deploy
 * branch: the pull request was closed, so the drift is to be healed.
 * *out: a new array of {"branch", "namespace", "name", "uid"}, each given
 * out once (empty when none). */
int ks_writeback_drift_closed(struct ks_writeback *wb, json_t **out);

/* The clock tick() expects (CLOCK_MONOTONIC, milliseconds). */
int64_t ks_writeback_clock_ms(void);

/* Commits what was recorded once the window (opened by the first event
 * after the last commit) has passed, and pushes when a push is due. 0, or
 * the error of the git work (KS_EIO when the remote is unreachable: the
 * commits stay queued). */
int ks_writeback_tick(struct ks_writeback *wb, int64_t now_ms);

/* Commits whatever is pending now and pushes at once (ignoring the window
 * and the backoff): for `reconcile --once` and shutdown. 0, or KS_EIO when
 * the push failed (the commits are kept locally for the next run). */
int ks_writeback_flush(struct ks_writeback *wb);

/* Starts an internal thread that ticks (woken by the window and the push
 * backoff). At most once; stopped by ks_writeback_free. */
int ks_writeback_start(struct ks_writeback *wb);

void ks_writeback_stats(struct ks_writeback_stats *out, struct ks_writeback *wb);

#endif
