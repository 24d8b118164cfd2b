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

#endif
