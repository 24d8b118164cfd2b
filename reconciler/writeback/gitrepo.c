/*
 * gitrepo.c: the libgit2 side of the writeback (internal.h).
 *
 * Commits are made without a work tree: blobs are written, the tip's tree is
 * updated path by path with git_tree_create_updated, and git_commit_create
 * moves the local ref only if it still points at the parent we read. The
 * remote's tip is remembered in a tracking ref (refs/keelson/remote/<branch>)
 * so that "what is not pushed yet" is a revwalk of the local ref hiding it.
 * Re-applying after a non-fast-forward replays each unpushed commit as the
 * difference to its own parent, applied onto the other writer's tip: their
 * files stay, ours are updated, and each of our commits keeps its message,
 * author and order. libgit2 errors become ks_errors here.
 */
#include "reconciler/source/knownhosts.h"
#include "reconciler/writeback/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUSH_ROUNDS 5
#define MERGED_SUBJECTS_MAX 50

struct ks_wbgit {
    git_repository *repo;
    char *local_ref;
    char *remote_ref;   /* refs/heads/<branch> on the remote */
    char *tracking_ref; /* refs/keelson/remote/<branch> here */
    char *remote;
    char *author_name;
    char *author_email;
    size_t max_queue;
    size_t max_message_bytes;
    const char *https_user, *https_token, *ssh_user, *ssh_key; /* borrowed copies below */
    char *creds[4];
};

int ks_wbgit_fail(int code, const char *what)
{
    const git_error *e = git_error_last();
    return ks_error_set(code, "git: %s: %s", what, e && e->message ? e->message : "unknown error");
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int ks_wbgit_open(struct ks_wbgit **out, const struct ks_writeback_opts *opts)
{
    int rc = 0;
    int valid = 0;
    git_libgit2_init();
    struct ks_wbgit *g = calloc(1, sizeof *g);
    if (!g) {
        git_libgit2_shutdown();
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    g->remote_ref = ks_strdupf("refs/heads/%s", opts->branch);
    g->tracking_ref = ks_strdupf("refs/keelson/remote/%s", opts->branch);
    g->local_ref = opts->local_ref ? strdup(opts->local_ref) : ks_strdupf("%s", g->remote_ref);
    g->remote = dup_or_null(opts->remote);
    g->author_name = strdup(opts->author_name);
    g->author_email = strdup(opts->author_email);
    g->creds[0] = dup_or_null(opts->https_user);
    g->creds[1] = dup_or_null(opts->https_token);
    g->creds[2] = dup_or_null(opts->ssh_user);
    g->creds[3] = dup_or_null(opts->ssh_key);
    g->https_user = g->creds[0];
    g->https_token = g->creds[1];
    g->ssh_user = g->creds[2];
    g->ssh_key = g->creds[3];
    g->max_queue = opts->max_queue;
    g->max_message_bytes = opts->max_message_bytes;
    if (!g->remote_ref || !g->tracking_ref || !g->local_ref || !g->author_name ||
        !g->author_email || (opts->remote && !g->remote)) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (git_reference_name_is_valid(&valid, g->remote_ref) < 0 || !valid ||
        git_reference_name_is_valid(&valid, g->local_ref) < 0 || !valid ||
        !ks_str_has_prefix(g->local_ref, "refs/")) {
        rc = ks_error_set(KS_EINVALID, "writeback: \"%s\" / \"%s\" is not a valid branch name",
                          opts->branch, g->local_ref);
        goto done;
    }
    if (opts->ca_file && *opts->ca_file &&
        git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, opts->ca_file, NULL) < 0) {
        rc = ks_wbgit_fail(KS_EINVALID, opts->ca_file);
        goto done;
    }
    if (git_repository_open_ext(&g->repo, opts->repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
        rc = ks_wbgit_fail(KS_ENOTFOUND, opts->repo_path);
done:
    if (rc) {
        ks_wbgit_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

git_repository *ks_wbgit_repository(struct ks_wbgit *g)
{
    return g->repo;
}

const char *ks_wbgit_remote(struct ks_wbgit *g)
{
    return g->remote;
}

int ks_wbgit_signature(git_signature **out, struct ks_wbgit *g)
{
    if (git_signature_now(out, g->author_name, g->author_email) < 0)
        return ks_wbgit_fail(KS_EINVALID, "the writeback author");
    return 0;
}

void ks_wbgit_close(struct ks_wbgit *g)
{
    if (!g)
        return;
    git_repository_free(g->repo);
    free(g->local_ref);
    free(g->remote_ref);
    free(g->tracking_ref);
    free(g->remote);
    free(g->author_name);
    free(g->author_email);
    for (size_t i = 0; i < 4; i++)
        free(g->creds[i]);
    free(g);
    git_libgit2_shutdown();
}

/* The commit a ref points at, or *out NULL when the ref does not exist. */
static int ref_commit(git_commit **out, struct ks_wbgit *g, const char *ref)
{
    git_oid id;
    *out = NULL;
    int e = git_reference_name_to_id(&id, g->repo, ref);
    if (e == GIT_ENOTFOUND)
        return 0;
    if (e < 0 || git_commit_lookup(out, g->repo, &id) < 0)
        return ks_wbgit_fail(KS_EIO, ref);
    return 0;
}

static int tip_tree(git_tree **out, git_commit **out_commit, struct ks_wbgit *g)
{
    git_commit *c = NULL;
    *out = NULL;
    int rc = ref_commit(&c, g, g->local_ref);
    if (rc == 0 && c && git_commit_tree(out, c) < 0)
        rc = ks_wbgit_fail(KS_EIO, "reading the status branch's tree");
    if (rc == 0 && out_commit)
        *out_commit = c;
    else
        git_commit_free(c);
    return rc;
}

void ks_wbgit_tip(char out[41], struct ks_wbgit *g)
{
    git_oid id;
    out[0] = '\0';
    if (git_reference_name_to_id(&id, g->repo, g->local_ref) == 0)
        git_oid_tostr(out, 41, &id);
}

int ks_wbgit_read(char **out, size_t *out_len, struct ks_wbgit *g, const char *path, size_t limit)
{
    git_tree *tree = NULL;
    git_tree_entry *entry = NULL;
    git_blob *blob = NULL;
    int rc = tip_tree(&tree, NULL, g);
    if (rc)
        return rc;
    if (!tree || git_tree_entry_bypath(&entry, tree, path) < 0 ||
        git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
        rc = ks_error_set(KS_ENOTFOUND, "%s: not on the status branch", path);
        goto done;
    }
    if (git_blob_lookup(&blob, g->repo, git_tree_entry_id(entry)) < 0) {
        rc = ks_wbgit_fail(KS_EIO, path);
        goto done;
    }
    size_t len = (size_t)git_blob_rawsize(blob);
    if (len > limit) {
        rc = ks_error_set(KS_ELIMIT, "%s: %zu bytes, over the limit of %zu", path, len, limit);
        goto done;
    }
    char *data = ks_strndup(git_blob_rawcontent(blob), len);
    if (!data) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = data;
    if (out_len)
        *out_len = len;
done:
    git_blob_free(blob);
    git_tree_entry_free(entry);
    git_tree_free(tree);
    return rc;
}

int ks_wbgit_prepare(size_t *out_changed, struct ks_wbgit *g, struct ks_wbgit_file *files, size_t n)
{
    git_tree *tree = NULL;
    size_t changed = 0;
    int rc = tip_tree(&tree, NULL, g);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ks_wbgit_file *f = &files[i];
        git_tree_entry *entry = NULL;
        if (tree && git_tree_entry_bypath(&entry, tree, f->path) < 0)
            entry = NULL;
        if (f->data) {
            if (git_blob_create_from_buffer(&f->id, g->repo, f->data, f->len) < 0) {
                git_tree_entry_free(entry);
                rc = ks_wbgit_fail(KS_EIO, f->path);
                break;
            }
            f->changed = !entry || git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
                         !git_oid_equal(git_tree_entry_id(entry), &f->id);
        } else {
            f->changed = entry != NULL;
        }
        changed += f->changed ? 1 : 0;
        git_tree_entry_free(entry);
    }
    git_tree_free(tree);
    if (rc == 0)
        *out_changed = changed;
    return rc;
}

static int empty_tree(git_tree **out, git_repository *repo)
{
    git_treebuilder *tb = NULL;
    git_oid id;
    int rc = 0;
    if (git_treebuilder_new(&tb, repo, NULL) < 0 || git_treebuilder_write(&id, tb) < 0 ||
        git_tree_lookup(out, repo, &id) < 0)
        rc = ks_wbgit_fail(KS_EIO, "writing the empty tree");
    git_treebuilder_free(tb);
    return rc;
}

/* A branch that is checked out in a work tree is never written: the user's
 * files would suddenly look modified. */
static int check_not_checked_out(struct ks_wbgit *g)
{
    git_reference *head = NULL;
    int rc = 0;
    if (git_repository_is_bare(g->repo))
        return 0;
    if (git_reference_lookup(&head, g->repo, "HEAD") == 0 &&
        git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
        strcmp(git_reference_symbolic_target(head), g->local_ref) == 0)
        rc = ks_error_set(KS_ECONFLICT,
                          "writeback: %s is checked out in %s; the status branch is written only "
                          "when no work tree has it checked out",
                          g->local_ref, git_repository_workdir(g->repo));
    git_reference_free(head);
    return rc;
}

static int make_tree(git_tree **out, git_repository *repo, git_tree *base,
                     const git_tree_update *updates, size_t n)
{
    git_tree *empty = NULL;
    git_oid id;
    int rc = 0;
    if (!base && (rc = empty_tree(&empty, repo)))
        return rc;
    if (git_tree_create_updated(&id, repo, base ? base : empty, n, updates) < 0 ||
        git_tree_lookup(out, repo, &id) < 0)
        rc = ks_wbgit_fail(KS_EIO, "building the status tree");
    git_tree_free(empty);
    return rc;
}

int ks_wbgit_commit(char out[41], struct ks_wbgit *g, const struct ks_wbgit_file *files, size_t n,
                    const char *message)
{
    git_commit *parent = NULL;
    git_tree *base = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_oid id;
    git_tree_update *updates = calloc(n ? n : 1, sizeof *updates);
    size_t nu = 0;
    int rc = 0;
    if (!updates)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if ((rc = check_not_checked_out(g)) || (rc = tip_tree(&base, &parent, g)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (!files[i].changed)
            continue;
        updates[nu].action = files[i].data ? GIT_TREE_UPDATE_UPSERT : GIT_TREE_UPDATE_REMOVE;
        updates[nu].id = files[i].id;
        updates[nu].filemode = GIT_FILEMODE_BLOB;
        updates[nu].path = files[i].path;
        nu++;
    }
    if ((rc = make_tree(&tree, g->repo, base, updates, nu)))
        goto done;
    if (git_signature_now(&sig, g->author_name, g->author_email) < 0) {
        rc = ks_wbgit_fail(KS_EINVALID, "the writeback author");
        goto done;
    }
    const git_commit *parents[1] = {parent};
    int e = git_commit_create(&id, g->repo, g->local_ref, sig, sig, NULL, message, tree,
                              parent ? 1 : 0, parents);
    if (e == GIT_EMODIFIED)
        rc = ks_error_set(KS_ECONFLICT, "writeback: %s moved while committing", g->local_ref);
    else if (e < 0)
        rc = ks_wbgit_fail(KS_EIO, "committing to the status branch");
    else
        git_oid_tostr(out, 41, &id);
done:
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(base);
    git_commit_free(parent);
    free(updates);
    return rc;
}

/* ---- pushing ---- */

static int on_credentials(git_credential **out, const char *url, const char *username_from_url,
                          unsigned int allowed, void *payload)
{
    (void)url;
    struct ks_wbgit_remote_state *st = payload;
    struct ks_wbgit *g = st->g;
    if (st->cred_attempts++ > 0)
        return GIT_EAUTH;
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        const char *user = g->ssh_user         ? g->ssh_user
                           : username_from_url ? username_from_url
                                               : "git";
        if (!g->ssh_key)
            return git_credential_ssh_key_from_agent(out, user);
        char *pub = ks_strdupf("%s.pub", g->ssh_key);
        int e = git_credential_ssh_key_new(out, user, pub && access(pub, R_OK) == 0 ? pub : NULL,
                                           g->ssh_key, NULL);
        free(pub);
        return e;
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && g->https_token)
        return git_credential_userpass_plaintext_new(
            out, g->https_user ? g->https_user : "x-access-token", g->https_token);
    return GIT_PASSTHROUGH;
}

static int on_push_update(const char *refname, const char *status, void *payload)
{
    struct ks_wbgit_remote_state *st = payload;
    if (status) {
        st->rejected = 1;
        snprintf(st->status, sizeof st->status, "%s: %s", refname, status);
    }
    return 0;
}

int ks_wbgit_open_remote(git_remote **out, struct ks_wbgit *g)
{
    const char *r = g->remote;
    int is_url = strchr(r, '/') || strchr(r, ':');
    int e =
        is_url ? git_remote_create_anonymous(out, g->repo, r) : git_remote_lookup(out, g->repo, r);
    return e < 0 ? ks_wbgit_fail(KS_EINVALID, r) : 0;
}

static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    (void)valid;
    struct ks_wbgit_remote_state *st = payload;
    const char *url = st->g->remote;
    git_remote *named = NULL;
    if (!strchr(url, '/') && !strchr(url, ':') && git_remote_lookup(&named, st->g->repo, url) == 0)
        url = git_remote_url(named);
    int rc = ks_known_hosts_check(cert, host, url);
    git_remote_free(named);
    return rc;
}

void ks_wbgit_callbacks(git_remote_callbacks *cb, struct ks_wbgit_remote_state *st)
{
    cb->credentials = on_credentials;
    cb->certificate_check = on_certificate;
    cb->push_update_reference = on_push_update;
    cb->payload = st;
}

/* 0 pushed; KS_ECONFLICT not a fast-forward; KS_EIO anything else. */
static int push_once(struct ks_wbgit *g, git_remote *remote)
{
    struct ks_wbgit_remote_state st = {.g = g};
    git_push_options po;
    git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
    ks_wbgit_callbacks(&po.callbacks, &st);
    char *spec = ks_strdupf("%s:%s", g->local_ref, g->remote_ref);
    if (!spec)
        return ks_error_set(KS_ENOMEM, "out of memory");
    char *specs[1] = {spec};
    git_strarray refspecs = {specs, 1};
    int e = git_remote_push(remote, &refspecs, &po);
    free(spec);
    if (e == GIT_ENONFASTFORWARD)
        return ks_error_set(KS_ECONFLICT, "git: push to %s: not a fast-forward", g->remote);
    if (e < 0)
        return ks_wbgit_fail(KS_EIO, g->remote);
    if (st.rejected)
        return ks_error_set(KS_ECONFLICT, "git: push to %s rejected: %s", g->remote, st.status);
    return 0;
}

static int fetch_remote_tip(struct ks_wbgit *g, git_remote *remote)
{
    struct ks_wbgit_remote_state st = {.g = g};
    git_fetch_options fo;
    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    ks_wbgit_callbacks(&fo.callbacks, &st);
    char *spec = ks_strdupf("+%s:%s", g->remote_ref, g->tracking_ref);
    if (!spec)
        return ks_error_set(KS_ENOMEM, "out of memory");
    char *specs[1] = {spec};
    git_strarray refspecs = {specs, 1};
    int e = git_remote_fetch(remote, &refspecs, &fo, "keelson writeback fetch");
    free(spec);
    return e < 0 ? ks_wbgit_fail(KS_EIO, g->remote) : 0;
}

/* Our commits the remote (as last known: the tracking ref) does not have,
 * oldest first. *out is free()d by the caller. */
static int unpushed(git_oid **out, size_t *out_n, struct ks_wbgit *g)
{
    git_revwalk *walk = NULL;
    git_oid id, *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, e;
    if (git_revwalk_new(&walk, g->repo) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "revwalk");
        goto done;
    }
    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
    if (git_reference_name_to_id(&id, g->repo, g->local_ref) == GIT_ENOTFOUND)
        goto done; /* nothing written yet */
    e = git_revwalk_push_ref(walk, g->local_ref);
    if (e == GIT_ENOTFOUND)
        goto done;
    if (e < 0) {
        rc = ks_wbgit_fail(KS_EIO, g->local_ref);
        goto done;
    }
    if (git_reference_name_to_id(&id, g->repo, g->tracking_ref) == 0 &&
        git_revwalk_hide(walk, &id) < 0) {
        rc = ks_wbgit_fail(KS_EIO, g->tracking_ref);
        goto done;
    }
    while ((e = git_revwalk_next(&id, walk)) == 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            git_oid *grown = realloc(ids, cap * sizeof *ids);
            if (!grown) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            ids = grown;
        }
        ids[n++] = id;
    }
    if (e != GIT_ITEROVER)
        rc = ks_wbgit_fail(KS_EIO, "walking the status branch");
done:
    git_revwalk_free(walk);
    if (rc) {
        free(ids);
        return rc;
    }
    *out = ids;
    *out_n = n;
    return 0;
}

/* Commits tree with the message and author of like (a commit being
 * rewritten) on parent (NULL: a root commit). */
static int recommit(git_oid *out, struct ks_wbgit *g, const git_commit *like, const char *message,
                    const git_tree *tree, const git_commit *parent)
{
    git_signature *now = NULL;
    if (git_signature_now(&now, g->author_name, g->author_email) < 0)
        return ks_wbgit_fail(KS_EINVALID, "the writeback author");
    const git_commit *parents[1] = {parent};
    int e = git_commit_create(out, g->repo, NULL, git_commit_author(like), now, NULL,
                              message ? message : git_commit_message(like), tree, parent ? 1 : 0,
                              parents);
    git_signature_free(now);
    return e < 0 ? ks_wbgit_fail(KS_EIO, "rewriting a status commit") : 0;
}

/* Moves the local ref from old to new, failing if someone moved it. */
static int move_local(struct ks_wbgit *g, const git_oid *new_id, const git_oid *old_id,
                      const char *why)
{
    git_reference *ref = NULL;
    int e = git_reference_create_matching(&ref, g->repo, g->local_ref, new_id, 1, old_id, why);
    git_reference_free(ref);
    if (e == GIT_EMODIFIED)
        return ks_error_set(KS_ECONFLICT, "writeback: %s moved while rewriting", g->local_ref);
    return e < 0 ? ks_wbgit_fail(KS_EIO, g->local_ref) : 0;
}

/* The updates that turn the tree of c's first parent into c's tree. */
static int commit_changes(git_tree_update **out, size_t *out_n, git_repository *repo,
                          const git_commit *c)
{
    git_commit *parent = NULL;
    git_tree *ptree = NULL, *ctree = NULL;
    git_diff *diff = NULL;
    git_tree_update *u = NULL;
    int rc = 0;
    if ((git_commit_parentcount(c) &&
         (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&ptree, parent) < 0)) ||
        git_commit_tree(&ctree, c) < 0 ||
        git_diff_tree_to_tree(&diff, repo, ptree, ctree, NULL) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "reading a status commit's changes");
        goto done;
    }
    size_t n = git_diff_num_deltas(diff);
    u = calloc(n ? n : 1, sizeof *u);
    if (!u) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        if (d->status == GIT_DELTA_DELETED) {
            u[i].action = GIT_TREE_UPDATE_REMOVE;
            u[i].path = d->old_file.path;
        } else {
            u[i].action = GIT_TREE_UPDATE_UPSERT;
            u[i].id = d->new_file.id;
            u[i].filemode = d->new_file.mode;
            u[i].path = d->new_file.path;
        }
    }
    /* the paths point into diff: keep it alive through the caller's use by
     * copying them */
    for (size_t i = 0; i < n; i++) {
        u[i].path = strdup(u[i].path);
        if (!u[i].path) {
            for (size_t j = 0; j < i; j++)
                free((char *)u[j].path);
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    }
    *out = u;
    *out_n = n;
    u = NULL;
done:
    free(u);
    git_diff_free(diff);
    git_tree_free(ctree);
    git_tree_free(ptree);
    git_commit_free(parent);
    return rc;
}

static void free_updates(git_tree_update *u, size_t n)
{
    for (size_t i = 0; u && i < n; i++)
        free((char *)u[i].path);
    free(u);
}

/* Re-applies our unpushed commits (ids, oldest first) onto onto. */
static int replay(struct ks_wbgit *g, const git_oid *ids, size_t n, const git_oid *onto)
{
    git_commit *base = NULL;
    git_oid tip_before;
    int rc = 0;
    if (git_reference_name_to_id(&tip_before, g->repo, g->local_ref) < 0)
        return ks_wbgit_fail(KS_EIO, g->local_ref);
    if (git_commit_lookup(&base, g->repo, onto) < 0)
        return ks_wbgit_fail(KS_EIO, "the remote's tip");
    for (size_t i = 0; i < n && rc == 0; i++) {
        git_commit *c = NULL;
        git_tree *btree = NULL, *tree = NULL;
        git_tree_update *u = NULL;
        size_t nu = 0;
        git_oid id;
        if (git_commit_lookup(&c, g->repo, &ids[i]) < 0 || git_commit_tree(&btree, base) < 0)
            rc = ks_wbgit_fail(KS_EIO, "re-applying a status commit");
        if (rc == 0)
            rc = commit_changes(&u, &nu, g->repo, c);
        if (rc == 0)
            rc = make_tree(&tree, g->repo, btree, u, nu);
        if (rc == 0)
            rc = recommit(&id, g, c, NULL, tree, base);
        if (rc == 0) {
            git_commit_free(base);
            base = NULL;
            if (git_commit_lookup(&base, g->repo, &id) < 0)
                rc = ks_wbgit_fail(KS_EIO, "re-applying a status commit");
        }
        free_updates(u, nu);
        git_tree_free(tree);
        git_tree_free(btree);
        git_commit_free(c);
    }
    if (rc == 0)
        rc = move_local(g, git_commit_id(base), &tip_before, "keelson: re-applied on the remote");
    git_commit_free(base);
    return rc;
}

/* Appends "Key: value\n" to trailers unless that line is already there. */
static void add_trailer(struct ks_buf *trailers, size_t limit, const char *key, const char *value)
{
    struct ks_buf line;
    ks_buf_init(&line, 0);
    ks_buf_printf(&line, "%s: %s\n", key, value);
    const char *have = ks_buf_data(trailers);
    size_t ll = ks_buf_len(&line);
    int dup = strncmp(have, ks_buf_data(&line), ll) == 0;
    for (const char *p = strchr(have, '\n'); !dup && p; p = strchr(p + 1, '\n'))
        dup = strncmp(p + 1, ks_buf_data(&line), ll) == 0;
    if (!dup && ks_buf_len(trailers) + ll <= limit)
        ks_buf_put(trailers, ks_buf_data(&line), ll);
    ks_buf_release(&line);
}

/* Message of the commit that replaces the k oldest queued commits: their
 * subjects (a merged commit among them contributes its own list) and the
 * union of their trailers; Keelson-Merged counts the original commits. */
static int merged_message(char **out, struct ks_wbgit *g, const git_oid *ids, size_t k)
{
    struct ks_buf msg, lines, trailers;
    ks_buf_init(&msg, g->max_message_bytes);
    ks_buf_init(&lines, g->max_message_bytes / 2);
    ks_buf_init(&trailers, g->max_message_bytes / 4);
    size_t total = 0, listed = 0;
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, g->repo, &ids[i]) < 0) {
            rc = ks_wbgit_fail(KS_EIO, "reading a queued commit");
            break;
        }
        size_t count = 1;
        git_message_trailer_array arr = {0};
        if (git_message_trailers(&arr, git_commit_message(c)) == 0) {
            for (size_t t = 0; t < arr.count; t++) {
                if (strcmp(arr.trailers[t].key, "Keelson-Merged") == 0)
                    count = (size_t)strtoul(arr.trailers[t].value, NULL, 10);
                else
                    add_trailer(&trailers, g->max_message_bytes / 4, arr.trailers[t].key,
                                arr.trailers[t].value);
            }
            git_message_trailer_array_free(&arr);
        }
        total += count ? count : 1;
        if (count > 1) {
            /* an earlier merge: take over its "- subject" lines */
            const char *body = git_commit_body(c);
            for (const char *p = body; p && *p;
                 p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
                size_t len = strcspn(p, "\n");
                if (len > 2 && p[0] == '-' && p[1] == ' ' && listed++ < MERGED_SUBJECTS_MAX)
                    ks_buf_printf(&lines, "%.*s\n", (int)len, p);
            }
        } else if (listed++ < MERGED_SUBJECTS_MAX) {
            ks_buf_printf(&lines, "- %s\n", git_commit_summary(c));
        }
        git_commit_free(c);
    }
    if (rc == 0) {
        ks_buf_printf(&msg,
                      "writeback: queue full, %zu commits merged into one (remote unreachable)\n\n"
                      "%s",
                      total, ks_buf_data(&lines));
        if (listed > MERGED_SUBJECTS_MAX)
            ks_buf_printf(&msg, "- ... and %zu more\n", listed - MERGED_SUBJECTS_MAX);
        ks_buf_printf(&msg, "\nKeelson-Merged: %zu\n%s", total, ks_buf_data(&trailers));
        if (ks_buf_error(&msg))
            rc = ks_error_set(KS_ELIMIT, "writeback: merged message over %zu bytes",
                              g->max_message_bytes);
    }
    if (rc == 0)
        *out = ks_buf_detach(&msg, NULL);
    ks_buf_release(&msg);
    ks_buf_release(&lines);
    ks_buf_release(&trailers);
    return rc;
}

/* Merges the oldest queued commits so that max_queue remain: the first kept
 * commit carries the tree of the last merged one; the rest keep their trees,
 * messages and order. */
static int merge_oldest(size_t *out_merged, struct ks_wbgit *g, const git_oid *ids, size_t n)
{
    size_t k = n - g->max_queue + 1;
    git_commit *first = NULL, *last_merged = NULL, *parent = NULL, *base = NULL;
    git_tree *tree = NULL;
    char *message = NULL;
    git_oid id, tip_before;
    int rc = 0;
    if (git_reference_name_to_id(&tip_before, g->repo, g->local_ref) < 0)
        return ks_wbgit_fail(KS_EIO, g->local_ref);
    if (git_commit_lookup(&first, g->repo, &ids[0]) < 0 ||
        git_commit_lookup(&last_merged, g->repo, &ids[k - 1]) < 0 ||
        (git_commit_parentcount(first) && git_commit_parent(&parent, first, 0) < 0) ||
        git_commit_tree(&tree, last_merged) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "reading the queued commits");
        goto done;
    }
    if ((rc = merged_message(&message, g, ids, k)) ||
        (rc = recommit(&id, g, last_merged, message, tree, parent)))
        goto done;
    for (size_t i = k; i < n && rc == 0; i++) {
        git_commit *c = NULL;
        git_tree *t = NULL;
        git_commit_free(base);
        base = NULL;
        if (git_commit_lookup(&base, g->repo, &id) < 0 ||
            git_commit_lookup(&c, g->repo, &ids[i]) < 0 || git_commit_tree(&t, c) < 0)
            rc = ks_wbgit_fail(KS_EIO, "rewriting the queue");
        if (rc == 0)
            rc = recommit(&id, g, c, NULL, t, base);
        git_tree_free(t);
        git_commit_free(c);
    }
    if (rc == 0)
        rc = move_local(g, &id, &tip_before, "keelson: queue full, oldest commits merged");
    if (rc == 0)
        *out_merged = k - 1;
done:
    free(message);
    git_tree_free(tree);
    git_commit_free(base);
    git_commit_free(parent);
    git_commit_free(last_merged);
    git_commit_free(first);
    return rc;
}

static int set_tracking(struct ks_wbgit *g)
{
    git_oid id;
    git_reference *ref = NULL;
    if (git_reference_name_to_id(&id, g->repo, g->local_ref) < 0 ||
        git_reference_create(&ref, g->repo, g->tracking_ref, &id, 1, "keelson: pushed") < 0)
        return ks_wbgit_fail(KS_EIO, g->tracking_ref);
    git_reference_free(ref);
    return 0;
}

int ks_wbgit_push(struct ks_wbgit_push_result *out, struct ks_wbgit *g)
{
    struct ks_wbgit_push_result res = {0};
    git_remote *remote = NULL;
    git_oid *ids = NULL;
    size_t n = 0;
    int rc = 0;
    if (!g->remote)
        goto done;
    if ((rc = unpushed(&ids, &n, g)) || n == 0)
        goto done;
    if ((rc = ks_wbgit_open_remote(&remote, g)))
        goto done;
    for (int round = 0;; round++) {
        rc = push_once(g, remote);
        if (rc == 0) {
            res.pushed = n;
            n = 0;
            rc = set_tracking(g);
            break;
        }
        if (rc != KS_ECONFLICT)
            break;
        if (round + 1 >= PUSH_ROUNDS) {
            rc = ks_error_set(KS_ECONFLICT,
                              "writeback: push to %s still not a fast-forward after %d rounds of "
                              "re-applying",
                              g->remote, PUSH_ROUNDS);
            break;
        }
        git_oid onto;
        if ((rc = fetch_remote_tip(g, remote)))
            break;
        free(ids);
        ids = NULL;
        if ((rc = unpushed(&ids, &n, g)))
            break;
        if (git_reference_name_to_id(&onto, g->repo, g->tracking_ref) < 0) {
            rc = ks_wbgit_fail(KS_EIO, "the remote's tip after fetching");
            break;
        }
        if ((rc = replay(g, ids, n, &onto)))
            break;
        res.rebases++;
    }
    if (rc == KS_EIO && n > g->max_queue) {
        int keep = rc;
        char saved[512];
        snprintf(saved, sizeof saved, "%s", ks_error_last());
        size_t merged = 0;
        if (merge_oldest(&merged, g, ids, n) == 0) {
            res.merged = merged;
            n -= merged;
        }
        rc = ks_error_set(keep, "%s (queue over %zu commits: %zu oldest merged into one)", saved,
                          g->max_queue, merged + (merged ? 1 : 0));
    }
done:
    res.unpushed = n;
    *out = res;
    free(ids);
    git_remote_free(remote);
    return rc;
}
