/*
 * git.c: libgit2 implementation of the Git source (source.h).
 *
 * libgit2 is initialised once per process. Local repositories are opened in
 * place; URLs get a bare mirror named after a hash of the URL, whose remote
 * "origin" fetches all branches and tags with pruning. The remote's default
 * branch is recorded as the mirror's HEAD after each fetch so that an
 * unspecified --branch follows the remote. Every libgit2 error is converted
 * into a ks_error at this boundary.
 */
#include "reconciler/source/knownhosts.h"
#include "reconciler/source/source.h"

#include "core/buf.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/str.h"

#include <errno.h>
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

struct ks_source {
    git_repository *repo;
    char *url; /* NULL for a local repository */
    size_t max_fetch_bytes;
};

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_shutdown_at_exit(void)
{
    git_libgit2_shutdown();
}

/* libgit2 keeps per-thread caches that its shutdown frees: run it at exit so
 * leak checkers see a clean process. */
static void git_init_once(void)
{
    git_libgit2_init();
    atexit(git_shutdown_at_exit);
}

static int git_fail(int code, const char *what)
{
    const git_error *e = git_error_last();
    return ks_error_set(code, "git: %s: %s", what, e && e->message ? e->message : "unknown error");
}

/* URL forms: scheme://..., or scp-style [user@]host:path (a ':' before any '/'). */
static int is_url(const char *repo)
{
    if (strstr(repo, "://"))
        return 1;
    const char *colon = strchr(repo, ':');
    const char *slash = strchr(repo, '/');
    return colon && repo[0] != '/' && repo[0] != '.' && (!slash || colon < slash);
}

static int mirror_path(struct ks_buf *out, const char *state_dir, const char *url)
{
    char hex[65];
    int rc = ks_sha256_hex(hex, url, strlen(url));
    if (rc == 0)
        ks_buf_printf(out, "%s/mirrors/%.16s.git", state_dir, hex);
    return rc ? rc : ks_buf_error(out);
}

static int open_mirror(struct ks_source *src, const char *state_dir)
{
    int rc = 0;
    struct ks_buf path;
    git_remote *remote = NULL;
    ks_buf_init(&path, 4096);
    if (!state_dir || !*state_dir) {
        rc = ks_error_set(KS_EINVALID, "a state dir is needed to mirror %s", src->url);
        goto done;
    }
    if ((rc = mirror_path(&path, state_dir, src->url)))
        goto done;
    if (git_repository_open_bare(&src->repo, ks_buf_data(&path)) == 0) {
        if (git_remote_set_url(src->repo, "origin", src->url) < 0)
            rc = git_fail(KS_EIO, "updating the mirror's remote");
        goto done;
    }
    if ((rc = ks_mkdir_p(ks_buf_data(&path), 0755)))
        goto done;
    if (git_repository_init(&src->repo, ks_buf_data(&path), 1) < 0) {
        rc = git_fail(KS_EIO, "creating the mirror");
        goto done;
    }
    if (git_remote_create_with_fetchspec(&remote, src->repo, "origin", src->url,
                                         "+refs/heads/*:refs/heads/*") < 0 ||
        git_remote_add_fetch(src->repo, "origin", "+refs/tags/*:refs/tags/*") < 0)
        rc = git_fail(KS_EIO, "configuring the mirror's remote");
done:
    git_remote_free(remote);
    ks_buf_release(&path);
    return rc;
}

int ks_source_open(struct ks_source **out, const struct ks_source_opts *opts)
{
    int rc = 0;
    pthread_once(&git_once, git_init_once);
    if (!opts || !opts->repo || !*opts->repo)
        return ks_error_set(KS_EINVALID, "no repository given (--repo)");
    struct ks_source *src = calloc(1, sizeof *src);
    if (!src)
        return ks_error_set(KS_ENOMEM, "out of memory");
    src->max_fetch_bytes =
        opts->max_fetch_bytes ? opts->max_fetch_bytes : KS_SOURCE_DEFAULT_MAX_FETCH_BYTES;
    if (is_url(opts->repo)) {
        src->url = strdup(opts->repo);
        rc =
            src->url ? open_mirror(src, opts->state_dir) : ks_error_set(KS_ENOMEM, "out of memory");
    } else if (git_repository_open_ext(&src->repo, opts->repo, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                       NULL) < 0) {
        rc = git_fail(KS_ENOTFOUND, opts->repo);
    }
    if (rc) {
        ks_source_close(src);
        return rc;
    }
    *out = src;
    return 0;
}

struct git_repository *ks_source_repository(struct ks_source *src)
{
    return src->repo;
}

int ks_source_is_mirror(const struct ks_source *src)
{
    return src->url != NULL;
}

void ks_source_close(struct ks_source *src)
{
    if (!src)
        return;
    git_repository_free(src->repo);
    free(src->url);
    free(src);
}

struct fetch_state {
    size_t max_bytes;
    int over_limit;
    int cred_attempts;
    const char *url; /* the remote's, for the SSH host-key check */
};

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
    struct fetch_state *st = payload;
    if (stats->received_bytes > st->max_bytes) {
        st->over_limit = 1;
        return -1;
    }
    return 0;
}

/* Token for https: env var, else "user:token" from the credentials file. */
static int https_credential(git_credential **out)
{
    const char *token = getenv("KEELSON_GIT_TOKEN");
    const char *user = getenv("KEELSON_GIT_USER");
    const char *file = getenv("KEELSON_GIT_CREDENTIALS");
    if (token && *token)
        return git_credential_userpass_plaintext_new(out, user && *user ? user : "x-access-token",
                                                     token);
    if (!file || !*file)
        return GIT_PASSTHROUGH;
    char *text = NULL;
    if (ks_file_read(&text, NULL, file, 64 * 1024))
        return GIT_PASSTHROUGH;
    text[strcspn(text, "\r\n")] = '\0';
    char *colon = strchr(text, ':');
    int rc = GIT_PASSTHROUGH;
    if (colon) {
        *colon = '\0';
        rc = git_credential_userpass_plaintext_new(out, text, colon + 1);
    }
    free(text);
    return rc;
}

static int on_credentials(git_credential **out, const char *url, const char *username_from_url,
                          unsigned int allowed, void *payload)
{
    struct fetch_state *st = payload;
    if (st->cred_attempts++ > 0)
        return GIT_EAUTH; /* the one credential we have was refused */
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        const char *user = username_from_url ? username_from_url : "git";
        const char *key = getenv("KEELSON_GIT_SSH_KEY");
        if (key && *key)
            return git_credential_ssh_key_new(out, user, NULL, key, NULL);
        return git_credential_ssh_key_from_agent(out, user);
    }
    if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
        return https_credential(out);
    return GIT_PASSTHROUGH;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    (void)valid;
    return ks_known_hosts_check(cert, host, ((struct fetch_state *)payload)->url);
}

/* Points the mirror's HEAD at the remote's default branch. */
static void record_default_branch(struct ks_source *src, git_remote *remote)
{
    git_buf branch = {0};
    if (git_remote_default_branch(&branch, remote) == 0) {
        git_repository_set_head(src->repo, branch.ptr);
        git_buf_dispose(&branch);
    }
}

int ks_source_fetch(struct ks_source *src)
{
    if (!src->url)
        return 0;
    int rc = 0;
    git_remote *remote = NULL;
    struct fetch_state st = {src->max_fetch_bytes, 0, 0, src->url};
    git_fetch_options fo;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    fo.prune = GIT_FETCH_PRUNE;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.callbacks.transfer_progress = on_transfer;
    fo.callbacks.credentials = on_credentials;
    fo.callbacks.certificate_check = on_certificate;
    fo.callbacks.payload = &st;
    if (git_remote_lookup(&remote, src->repo, "origin") < 0) {
        rc = git_fail(KS_EIO, "the mirror has no remote");
        goto done;
    }
    if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, NULL, NULL) < 0) {
        rc = git_fail(KS_EIO, src->url);
        goto done;
    }
    record_default_branch(src, remote);
    st.cred_attempts = 0;
    if (git_remote_fetch(remote, NULL, &fo, "keelson fetch") < 0) {
        if (st.over_limit)
            rc = ks_error_set(KS_ELIMIT,
                              "git: fetching %s exceeded the fetch size limit of %zu bytes",
                              src->url, st.max_bytes);
        else
            rc = git_fail(KS_EIO, src->url);
    }
done:
    git_remote_free(remote);
    return rc;
}

int ks_source_resolve(char out[41], struct ks_source *src, const char *rev)
{
    int rc = 0;
    git_object *obj = NULL, *commit = NULL;
    const char *spec = rev && *rev ? rev : "HEAD";
    if (git_revparse_single(&obj, src->repo, spec) < 0) {
        /* a bare branch name of a mirror: try refs/heads explicitly */
        char full[512];
        snprintf(full, sizeof full, "refs/heads/%s", spec);
        if (git_revparse_single(&obj, src->repo, full) < 0) {
            rc = ks_error_set(KS_ENOTFOUND, "git: revision \"%s\" not found", spec);
            goto done;
        }
    }
    if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
        rc = git_fail(KS_EINVALID, spec);
        goto done;
    }
    git_oid_tostr(out, 41, git_object_id(commit));
done:
    git_object_free(commit);
    git_object_free(obj);
    return rc;
}

/* Looks up the tree of path at commit; *out_commit may be NULL. */
static int subtree(git_tree **out, git_commit **out_commit, struct ks_source *src,
                   const char *commit_id, const char *path)
{
    int rc = 0;
    git_oid oid;
    git_commit *commit = NULL;
    git_tree *root = NULL;
    git_tree_entry *entry = NULL;
    if (git_oid_fromstr(&oid, commit_id) < 0 || git_commit_lookup(&commit, src->repo, &oid) < 0) {
        rc = ks_error_set(KS_ENOTFOUND, "git: commit %s not found", commit_id);
        goto done;
    }
    if (git_commit_tree(&root, commit) < 0) {
        rc = git_fail(KS_EIO, "reading the commit's tree");
        goto done;
    }
    if (!path || !*path || strcmp(path, ".") == 0) {
        *out = root;
        root = NULL;
        goto done;
    }
    if (git_tree_entry_bypath(&entry, root, path) < 0 ||
        git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
        rc = ks_error_set(KS_ENOTFOUND, "path \"%s\" is not a directory at commit %.12s", path,
                          commit_id);
        goto done;
    }
    if (git_tree_lookup(out, src->repo, git_tree_entry_id(entry)) < 0)
        rc = git_fail(KS_EIO, path);
done:
    if (rc == 0 && out_commit) {
        *out_commit = commit;
        commit = NULL;
    }
    git_tree_entry_free(entry);
    git_tree_free(root);
    git_commit_free(commit);
    return rc;
}

int ks_source_tree_hash(char out[41], struct ks_source *src, const char *commit, const char *path)
{
    git_tree *tree = NULL;
    int rc = subtree(&tree, NULL, src, commit, path);
    if (rc == 0)
        git_oid_tostr(out, 41, git_tree_id(tree));
    git_tree_free(tree);
    return rc;
}

struct walk_state {
    struct ks_source *src;
    git_odb *odb;
    struct ks_source_snapshot *snap;
    size_t cap;
    size_t total;
    struct ks_source_limits lim;
    const char *base; /* path prefix ("" or "dir/") */
    int rc;
};

static int add_file(struct walk_state *w, const char *root, const git_tree_entry *entry)
{
    const git_oid *id = git_tree_entry_id(entry);
    size_t size = 0;
    git_object_t type;
    struct ks_buf path;
    ks_buf_init(&path, 4096);
    ks_buf_printf(&path, "%s%s%s", w->base, root, git_tree_entry_name(entry));
    if (ks_buf_error(&path))
        return ks_error_set(KS_ELIMIT, "git: a path is longer than 4096 bytes");
    int rc = 0;
    if (w->snap->nfiles >= w->lim.max_files) {
        rc = ks_error_set(KS_ELIMIT, "git: more than %zu files under \"%s\" (file count limit)",
                          w->lim.max_files, w->snap->path);
        goto done;
    }
    if (git_odb_read_header(&size, &type, w->odb, id) < 0) {
        rc = git_fail(KS_EIO, ks_buf_data(&path));
        goto done;
    }
    if (size > w->lim.max_file_bytes) {
        rc = ks_error_set(KS_ELIMIT, "%s: file is %zu bytes, over the file size limit of %zu",
                          ks_buf_data(&path), size, w->lim.max_file_bytes);
        goto done;
    }
    if (w->total + size > w->lim.max_total_bytes) {
        rc = ks_error_set(KS_ELIMIT,
                          "git: files under \"%s\" exceed the total size limit of %zu bytes",
                          w->snap->path, w->lim.max_total_bytes);
        goto done;
    }
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, w->src->repo, id) < 0) {
        rc = git_fail(KS_EIO, ks_buf_data(&path));
        goto done;
    }
    if (w->snap->nfiles == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct ks_source_file *files = realloc(w->snap->files, cap * sizeof *files);
        if (!files) {
            git_blob_free(blob);
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        w->snap->files = files;
        w->cap = cap;
    }
    struct ks_source_file *f = &w->snap->files[w->snap->nfiles];
    f->len = (size_t)git_blob_rawsize(blob);
    f->data = ks_strndup(git_blob_rawcontent(blob), f->len);
    f->path = ks_buf_detach(&path, NULL);
    git_blob_free(blob);
    if (!f->data || !f->path) {
        free(f->data);
        free(f->path);
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    w->snap->nfiles++;
    w->total += f->len;
done:
    ks_buf_release(&path);
    return rc;
}

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
    struct walk_state *w = payload;
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return 0; /* trees are descended; links and submodules are not content */
    w->rc = add_file(w, root, entry);
    return w->rc ? -1 : 0;
}

static int file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ks_source_file *)a)->path,
                  ((const struct ks_source_file *)b)->path);
}

static json_t *commit_info(const git_commit *commit, const char *id)
{
    const git_signature *author = git_commit_author(commit);
    const char *message = git_commit_message(commit);
    return json_pack("{s:s, s:s, s:s, s:I, s:s}", "commit", id, "author",
                     author && author->name ? author->name : "", "email",
                     author && author->email ? author->email : "", "time",
                     (json_int_t)(author ? author->when.time : 0), "message",
                     message ? message : "");
}

int ks_source_snapshot_read(struct ks_source_snapshot **out, struct ks_source *src,
                            const char *commit_id, const char *path,
                            const struct ks_source_limits *limits)
{
    int rc = 0;
    git_tree *tree = NULL;
    git_commit *commit = NULL;
    struct walk_state w = {.src = src};
    struct ks_source_snapshot *snap = calloc(1, sizeof *snap);
    if (!snap)
        return ks_error_set(KS_ENOMEM, "out of memory");
    w.snap = snap;
    w.lim.max_file_bytes = limits && limits->max_file_bytes ? limits->max_file_bytes
                                                            : KS_SOURCE_DEFAULT_MAX_FILE_BYTES;
    w.lim.max_files = limits && limits->max_files ? limits->max_files : KS_SOURCE_DEFAULT_MAX_FILES;
    w.lim.max_total_bytes = limits && limits->max_total_bytes ? limits->max_total_bytes
                                                              : KS_SOURCE_DEFAULT_MAX_TOTAL_BYTES;
    /* normalise the path: no leading "./" or "/", no trailing "/" */
    const char *p = path ? path : "";
    while (*p == '/' || (p[0] == '.' && p[1] == '/'))
        p += *p == '/' ? 1 : 2;
    if (strcmp(p, ".") == 0)
        p = "";
    snap->path = ks_strndup(p, strlen(p));
    if (!snap->path) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    size_t plen = strlen(snap->path);
    while (plen && snap->path[plen - 1] == '/')
        snap->path[--plen] = '\0';
    if ((rc = subtree(&tree, &commit, src, commit_id, snap->path)))
        goto done;
    git_oid_tostr(snap->commit, sizeof snap->commit, git_commit_id(commit));
    git_oid_tostr(snap->tree_hash, sizeof snap->tree_hash, git_tree_id(tree));
    if (git_repository_odb(&w.odb, src->repo) < 0) {
        rc = git_fail(KS_EIO, "opening the object database");
        goto done;
    }
    char base[4100];
    snprintf(base, sizeof base, "%s%s", snap->path, plen ? "/" : "");
    w.base = base;
    if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w) < 0) {
        rc = w.rc ? w.rc : git_fail(KS_EIO, "walking the tree");
        goto done;
    }
    qsort(snap->files, snap->nfiles, sizeof *snap->files, file_cmp);
    snap->info = commit_info(commit, snap->commit);
    *out = snap;
    snap = NULL;
done:
    git_odb_free(w.odb);
    git_tree_free(tree);
    git_commit_free(commit);
    ks_source_snapshot_free(snap);
    return rc;
}

void ks_source_snapshot_free(struct ks_source_snapshot *snap)
{
    if (!snap)
        return;
    for (size_t i = 0; i < snap->nfiles; i++) {
        free(snap->files[i].path);
        free(snap->files[i].data);
    }
    free(snap->files);
    free(snap->path);
    json_decref(snap->info);
    free(snap);
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return ks_error_set(KS_EIO, "cannot write %s: %s", path, strerror(errno));
    size_t n = fwrite(data, 1, len, f);
    int bad = fclose(f) != 0 || n != len;
    return bad ? ks_error_set(KS_EIO, "cannot write %s", path) : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Removes a temporary tree of our own (no symlinks are followed). */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int ks_source_export(struct ks_source *src, const char *commit, const char *path,
                     const char *dest_dir)
{
    struct stat st;
    if (stat(dest_dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    struct ks_source_snapshot *snap = NULL;
    struct ks_buf tmp, file;
    ks_buf_init(&tmp, 4096);
    ks_buf_init(&file, 8192);
    int rc = ks_source_snapshot_read(&snap, src, commit, path, NULL);
    if (rc)
        goto done;
    ks_buf_printf(&tmp, "%s.tmp-%ld", dest_dir, (long)getpid());
    if ((rc = ks_buf_error(&tmp)) || (rc = ks_mkdir_p(ks_buf_data(&tmp), 0755)))
        goto done;
    size_t prefix = strlen(snap->path) + (snap->path[0] ? 1 : 0);
    for (size_t i = 0; i < snap->nfiles && rc == 0; i++) {
        ks_buf_reset(&file);
        ks_buf_printf(&file, "%s/%s", ks_buf_data(&tmp), snap->files[i].path + prefix);
        if ((rc = ks_buf_error(&file)))
            break;
        char *slash = strrchr(file.data, '/');
        *slash = '\0';
        rc = ks_mkdir_p(file.data, 0755);
        *slash = '/';
        if (rc == 0)
            rc = write_file(file.data, snap->files[i].data, snap->files[i].len);
    }
    if (rc == 0 && rename(ks_buf_data(&tmp), dest_dir) != 0 && errno != ENOTEMPTY &&
        errno != EEXIST)
        rc = ks_error_set(KS_EIO, "cannot move %s into place: %s", dest_dir, strerror(errno));
    /* left over after an error, or when another process won the race */
    if (ks_buf_len(&tmp) && stat(ks_buf_data(&tmp), &st) == 0)
        remove_tree(ks_buf_data(&tmp));
done:
    ks_source_snapshot_free(snap);
    ks_buf_release(&tmp);
    ks_buf_release(&file);
    return rc;
}

int ks_source_path_id(char out[41], struct ks_source *src, const char *commit_id, const char *path)
{
    git_tree *root = NULL;
    git_tree_entry *entry = NULL;
    int rc = subtree(&root, NULL, src, commit_id, NULL);
    if (rc)
        return rc;
    if (path && *path && git_tree_entry_bypath(&entry, root, path) == 0)
        git_oid_tostr(out, 41, git_tree_entry_id(entry));
    else if (!path || !*path)
        git_oid_tostr(out, 41, git_tree_id(root));
    else
        snprintf(out, 41, "-");
    git_tree_entry_free(entry);
    git_tree_free(root);
    return 0;
}
