/*
 * store.h: the control plane's state store (DESIGN.md §4).
 *
 * Objects are jansson trees addressed by identity kind/namespace/name. Every
 * change bumps one global revision counter; each object carries the revision
 * of its last change as metadata.resourceVersion (a decimal string, as in
 * Kubernetes) and a uid assigned on creation. A change log keyed by revision
 * lets watchers ask for "changes since R"; when R was compacted away the
 * store answers KS_ECONFLICT ("too old, relist").
 *
 * The interface is deliberately small (get, put with expected revision,
 * delete, list by kind/namespace/label, changes since, transactions, plus
 * append-only events and sync records) so that another backend (etcd through
 * its v3 JSON gateway) can implement the same vtable later. SQLite is the
 * embedded default: WAL mode, one transaction per apply, schema versioned.
 */
#ifndef KS_RECONCILER_STORE_H
#define KS_RECONCILER_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/labels.h"

struct ks_store;

/* Expected-revision values for put/delete. */
#define KS_STORE_ANY_REVISION (-1) /* unconditional */
#define KS_STORE_MUST_NOT_EXIST 0  /* create only */

struct ks_store_key {
    const char *kind;
    const char *namespace_; /* "" for cluster-scoped objects */
    const char *name;
};

struct ks_store_list_opts {
    const char *kind;                 /* required */
    const char *namespace_;           /* NULL = all namespaces */
    const struct ks_selector *labels; /* NULL = no label filter */
    /* NULL = any; else only objects bound to this node (spec.nodeName),
     * answered from an index: a node's list costs O(its objects). */
    const char *node;
    size_t limit; /* 0 = KS_STORE_LIST_MAX */
    /* true: the items may be the backend's cached objects, shared with the
     * cache and later lists: the caller must not modify them (read-only
     * walks such as the scheduler's load and garbage collection skip a deep
     * copy per object). false: every item is the caller's own. */
    bool shared;
};

#define KS_STORE_LIST_MAX 100000u
#define KS_STORE_DEFAULT_HISTORY 10000u /* change-log entries kept */

/* Opens (creating if needed) the SQLite store at path and migrates its schema.
 * history: change-log entries to keep (0 = KS_STORE_DEFAULT_HISTORY).
 * *out is owned by the caller: ks_store_close(). */
int ks_store_open_sqlite(struct ks_store **out, const char *path, unsigned history);
void ks_store_close(struct ks_store *store);

/* Transactions. Calls nest: only the outermost commit/rollback acts.
 * Every mutating call outside a transaction is its own transaction. */
int ks_store_begin(struct ks_store *store);
int ks_store_commit(struct ks_store *store);
int ks_store_rollback(struct ks_store *store);

/* Current global revision (0 for an empty store). */
int ks_store_revision(int64_t *out, struct ks_store *store);

/* *out: new reference to the stored object (with uid and resourceVersion),
 * KS_ENOTFOUND if absent. */
int ks_store_get(json_t **out, struct ks_store *store, const struct ks_store_key *key);

/* Stores obj (identity read from it; namespace "" for cluster-scoped kinds,
 * "default" when absent otherwise). expected_rev: KS_STORE_ANY_REVISION,
 * KS_STORE_MUST_NOT_EXIST, or the resourceVersion the caller read: a
 * mismatch is KS_ECONFLICT. The stored copy gets metadata.uid (kept across
 * updates) and metadata.resourceVersion; obj itself is not modified.
 * *out_rev (may be NULL) receives the new revision. */
int ks_store_put(int64_t *out_rev, struct ks_store *store, const json_t *obj, int64_t expected_rev);

/* Deletes; KS_ENOTFOUND if absent, KS_ECONFLICT on revision mismatch. */
int ks_store_delete(int64_t *out_rev, struct ks_store *store, const struct ks_store_key *key,
                    int64_t expected_rev);

/* *out: new JSON array of objects sorted by namespace then name. */
int ks_store_list(json_t **out, struct ks_store *store, const struct ks_store_list_opts *opts);

/* Objects applied from Git (those with a keelson.io/source annotation),
 * without their bodies: *out is a new array of {"kind", "namespace",
 * "name", "source", "hash"} sorted by kind, namespace, name; "hash" is the
 * keelson.io/content-hash annotation written at apply time (or null). */
int ks_store_list_managed(json_t **out, struct ks_store *store);

/* *out: new JSON array of the distinct kinds stored, sorted. */
int ks_store_list_kinds(json_t **out, struct ks_store *store);

/* Small named values kept with the state (last applied commit, tree hash...).
 * get: *out is a malloc'd copy, KS_ENOTFOUND when unset. */
int ks_store_meta_get(char **out, struct ks_store *store, const char *key);
int ks_store_meta_set(struct ks_store *store, const char *key, const char *value);

/* Changes with revision > since, oldest first, at most max (0 = 1000):
 * *out is a new array of {"revision": n, "type": "put"|"delete",
 * "kind", "namespace", "name", "object": {...} (put only)}.
 * KS_ECONFLICT when since is older than the oldest kept change. */
int ks_store_changes_since(json_t **out, struct ks_store *store, int64_t since, size_t max);

/* Like ks_store_changes_since, but each put carries its object as the JSON
 * text stored ("text", compact, unparsed) instead of "object", and each
 * change the node recorded with it ("node": spec.nodeName of the object
 * put, or of the object deleted; absent when none or not recorded, as in
 * rows from before schema 3). For fan-out that forwards the text as is. */
int ks_store_changes_text(json_t **out, struct ks_store *store, int64_t since, size_t max);

/* Changes for one node's watch: like ks_store_changes_since, but only the
 * changes of objects bound to node (spec.nodeName of the object put; for a
 * delete, of the object deleted) and every change of the kinds in
 * all_kinds (NULL-terminated, at most KS_STORE_NODE_KINDS_MAX; may be
 * NULL). Filtered in the database, so other nodes' changes cost no parse.
 * At most max (0 = 1000) are returned: when fewer, the caller has seen
 * every change up to the revision it read before the call. */
#define KS_STORE_NODE_KINDS_MAX 8
int ks_store_changes_for_node(json_t **out, struct ks_store *store, int64_t since, size_t max,
                              const char *node, const char *const *all_kinds);

/* Durability of this connection's commits. KS_STORE_DURABLE (the default):
 * an acknowledged commit survives power loss (SQLite synchronous=FULL).
 * KS_STORE_RELAXED (synchronous=NORMAL in WAL mode): still atomic and
 * crash-consistent (a killed process loses nothing committed; the database
 * is never corrupt), but a power loss or OS crash may lose the last commits
 * made on this connection, until the next durable commit on any connection
 * or a checkpoint fsyncs the shared WAL. For re-reported data (agents'
 * heartbeats and pod status). */
enum ks_store_durability { KS_STORE_DURABLE = 0, KS_STORE_RELAXED };
int ks_store_set_durability(struct ks_store *store, enum ks_store_durability durability);

/* WAL checkpoints (copying committed pages from the write-ahead log back
 * into the database file). automatic true (the default): SQLite's own, run
 * inside the commit that finds the log over 1,000 pages, so one commit in
 * a thousand pays for copying and syncing them. false: commits of this
 * connection never checkpoint; its owner calls ks_store_checkpoint when it
 * is idle (other connections keep their own setting, and any of them
 * checkpoints the shared log). ks_store_checkpoint: a passive checkpoint
 * (never waits for readers or writers; copies what it can), not inside a
 * transaction. */
int ks_store_set_checkpoints(struct ks_store *store, bool automatic);
int ks_store_checkpoint(struct ks_store *store);

/* Append-only records. event: {"type", "reason", "message", "object"...};
 * the store adds "revision" and "time", and listed events carry "id", a
 * sequence number that grows with every event (several events may share a
 * revision). */
int ks_store_event_add(struct ks_store *store, const json_t *event);
int ks_store_events_list(json_t **out, struct ks_store *store, size_t max);

/* Sync records: begin returns an id; finish stores result and counts. */
int ks_store_sync_begin(int64_t *out_id, struct ks_store *store, const char *commit);
int ks_store_sync_finish(struct ks_store *store, int64_t id, const char *result,
                         const json_t *summary, const char *error);
int ks_store_syncs_list(json_t **out, struct ks_store *store, size_t max);

/* Runs PRAGMA integrity_check; 0 when "ok", KS_EIO with the report otherwise. */
int ks_store_check(struct ks_store *store);

#endif
