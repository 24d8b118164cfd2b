/*
 * source.h: the Git source of desired state (DESIGN.md §1 "SOURCE").
 *
 * A repository is opened once per control plane: a local path is read in
 * place; file://, https:// and ssh:// (or scp-style user@host:path) URLs are
 * mirrored into a bare repository under the state dir and fetched
 * incrementally. Manifests are read straight from a commit's tree: there is
 * no checkout and no working copy. The git tree id of the --path subtree is
 * a content hash of everything under it, so a pass can skip rendering when
 * a commit changed only files elsewhere.
 *
 * Credentials never come from the command line: https uses a token from the
 * environment (KEELSON_GIT_TOKEN, user from KEELSON_GIT_USER, default
 * "x-access-token") or from the file named by KEELSON_GIT_CREDENTIALS (one
 * line "user:token"); ssh uses the agent or the key in KEELSON_GIT_SSH_KEY.
 */
#ifndef KS_RECONCILER_SOURCE_H
#define KS_RECONCILER_SOURCE_H

#include <jansson.h>
#include <stddef.h>

#define KS_SOURCE_DEFAULT_MAX_FETCH_BYTES (512u * 1024u * 1024u)
#define KS_SOURCE_DEFAULT_MAX_FILE_BYTES (4u * 1024u * 1024u)
#define KS_SOURCE_DEFAULT_MAX_FILES 10000u
#define KS_SOURCE_DEFAULT_MAX_TOTAL_BYTES (64u * 1024u * 1024u)

struct ks_source;

struct ks_source_opts {
    const char *repo;       /* path or URL (required) */
    const char *state_dir;  /* where remote mirrors live (required for URLs) */
    size_t max_fetch_bytes; /* 0 = default */
};

struct ks_source_limits {
    size_t max_file_bytes;  /* 0 = default */
    size_t max_files;       /* 0 = default */
    size_t max_total_bytes; /* 0 = default */
};

/* One file of a snapshot. path is repo-relative ("apps/web.yaml"). */
struct ks_source_file {
    char *path;
    char *data; /* NUL-terminated; len excludes the NUL */
    size_t len;
};

/* The files under a path at one commit. Owned by the caller:
 * ks_source_snapshot_free(). */
struct ks_source_snapshot {
    char commit[41];              /* commit id */
    char tree_hash[41];           /* git tree id of the subtree (content hash) */
    char *path;                   /* the subtree ("" = repository root) */
    struct ks_source_file *files; /* sorted by path */
    size_t nfiles;
    json_t *info; /* {"commit","author","email","time","message"} */
};

/* Opens (and for URLs creates the mirror of) a repository. Caller frees
 * with ks_source_close(). */
int ks_source_open(struct ks_source **out, const struct ks_source_opts *opts);
void ks_source_close(struct ks_source *src);

/* The libgit2 repository behind the source (borrowed, valid until
 * ks_source_close), for readers of history such as the dashboard. */
struct git_repository;
struct git_repository *ks_source_repository(struct ks_source *src);

/* True when the source is a mirror of a remote URL (under the state dir),
 * false for a local repository used in place. */
int ks_source_is_mirror(const struct ks_source *src);

/* Fetches from the remote (no-op for local paths). KS_ELIMIT when the
 * transfer passes max_fetch_bytes. */
int ks_source_fetch(struct ks_source *src);

/* Resolves rev (a branch name, tag, full or short commit id, or NULL for the
 * remote's default branch / the local HEAD) to a commit id. */
int ks_source_resolve(char out[41], struct ks_source *src, const char *rev);

/* Reads every file under path (NULL or "" = root) at commit into a
 * snapshot; KS_ENOTFOUND if path does not exist at that commit, KS_ELIMIT
 * naming the limit that was hit. */
int ks_source_snapshot_read(struct ks_source_snapshot **out, struct ks_source *src,
                            const char *commit, const char *path,
                            const struct ks_source_limits *limits);
void ks_source_snapshot_free(struct ks_source_snapshot *snap);

/* Writes the files under path at commit into dest_dir (created with its
 * parents). Meant for content-addressed caches: when dest_dir already
 * exists nothing is written; otherwise the tree is written to a temporary
 * sibling and renamed into place, so a crash never leaves a half tree.
 * The default limits of ks_source_snapshot_read apply. */
int ks_source_export(struct ks_source *src, const char *commit, const char *path,
                     const char *dest_dir);

/* The git object id of whatever is at path (file or directory) at commit,
 * or "-" when nothing is there. Cheap: nothing is read. */
int ks_source_path_id(char out[41], struct ks_source *src, const char *commit, const char *path);

/* Only the tree hash of path at commit (cheap: no blobs read). */
int ks_source_tree_hash(char out[41], struct ks_source *src, const char *commit, const char *path);

#endif
