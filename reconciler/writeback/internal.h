/*
 * internal.h: the libgit2 side of the writeback (gitrepo.c), kept apart
 * from the batching and rendering (writeback.c) so that all Git access is in
 * one file. Not thread-safe: writeback.c calls it under its work lock.
 */
#ifndef KS_RECONCILER_WRITEBACK_INTERNAL_H
#define KS_RECONCILER_WRITEBACK_INTERNAL_H

#include <git2.h>
#include <stddef.h>

#include "reconciler/writeback/writeback.h"

struct ks_wbgit;

/* One file to write at commit time; data NULL removes the path. */
struct ks_wbgit_file {
    char *path;
    char *data;
    size_t len;
    int changed; /* set by ks_wbgit_prepare: differs from the tip */
    git_oid id;  /* set by ks_wbgit_prepare: the blob */
};

/* Opens the repository; opts already carry the defaults. */
int ks_wbgit_open(struct ks_wbgit **out, const struct ks_writeback_opts *opts);
void ks_wbgit_close(struct ks_wbgit *g);

/* The file at path on the local tip: *out (free()) and its length;
 * KS_ENOTFOUND when the branch or the file does not exist. */
int ks_wbgit_read(char **out, size_t *out_len, struct ks_wbgit *g, const char *path, size_t limit);

/* Writes the blobs of files and marks those that differ from the tip;
 * *out_changed counts them. */
int ks_wbgit_prepare(size_t *out_changed, struct ks_wbgit *g, struct ks_wbgit_file *files,
                     size_t n);

/* Commits the changed files of files (after ks_wbgit_prepare) with message
 * on top of the local tip, moving the local ref. out: the new commit id. */
int ks_wbgit_commit(char out[41], struct ks_wbgit *g, const struct ks_wbgit_file *files, size_t n,
                    const char *message);

/* The local tip ("" when the branch does not exist yet). */
void ks_wbgit_tip(char out[41], struct ks_wbgit *g);

struct ks_wbgit_push_result {
    size_t pushed;   /* commits that went out */
    size_t unpushed; /* commits still local afterwards */
    int rebases;     /* rounds of re-applying our commits on another writer's tip */
    size_t merged;   /* commits merged away because the queue was over max_queue */
};

/* Pushes the local commits that the remote does not have (nothing without
 * a remote). Non-fast-forward: fetch, re-apply, push again (a few rounds).
 * Unreachable: KS_EIO; then, when more than max_queue commits are
 * unpushed, the oldest are merged into one. *out is written also on
 * error (what was pushed, what is still queued). */
int ks_wbgit_push(struct ks_wbgit_push_result *out, struct ks_wbgit *g);

/* ---- shared with driftpr.c (the --drift-pr branches) ---- */

/* ks_error from libgit2's last error: "git: <what>: <message>"; returns code. */
int ks_wbgit_fail(int code, const char *what);
/* The repository handle (owned by g). */
git_repository *ks_wbgit_repository(struct ks_wbgit *g);
/* The remote name or URL to push to, NULL when none. */
const char *ks_wbgit_remote(struct ks_wbgit *g);
/* The configured author, now. */
int ks_wbgit_signature(git_signature **out, struct ks_wbgit *g);

/* Payload of the remote callbacks (credentials, push status). */
struct ks_wbgit_remote_state {
    struct ks_wbgit *g;
    int cred_attempts;
    int rejected;
    char status[256];
};
/* Opens the remote (a name of the repository, or a URL: anonymous). */
int ks_wbgit_open_remote(git_remote **out, struct ks_wbgit *g);
/* Credentials and push-status callbacks with st as payload. */
void ks_wbgit_callbacks(git_remote_callbacks *cb, struct ks_wbgit_remote_state *st);

/* ---- the --drift-pr branches (driftpr.c) ----
 * Requests are queued in memory (thread-safe); the Git work runs under the
 * writeback's work lock like commits and pushes. */
struct ks_driftpr;

int ks_driftpr_new(struct ks_driftpr **out, struct ks_wbgit *g, const struct ks_writeback_opts *o);
void ks_driftpr_free(struct ks_driftpr *d);
/* Copies the request into the queue. */
int ks_driftpr_add(struct ks_driftpr *d, const struct ks_writeback_drift_pr *req);
/* Writes the queued branches, pushes what is not pushed, and when check
 * is set looks which branches disappeared (closed ones are kept for
 * ks_driftpr_take_closed). *out_commits: branch commits made. */
int ks_driftpr_work(size_t *out_commits, size_t *out_closed, struct ks_driftpr *d, bool check);
/* The closed branches found so far (a new array; the list is emptied). */
json_t *ks_driftpr_take_closed(struct ks_driftpr *d);
/* Requests queued or branches not pushed yet. */
bool ks_driftpr_busy(struct ks_driftpr *d);

#endif
