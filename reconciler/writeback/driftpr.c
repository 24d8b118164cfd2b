/*
 * driftpr.c: --drift-pr, unhealed drift on its own branch (writeback.h,
 * docs/writeback.md "Drift branches").
 *
 * Each drift that self-heal left alone gets a branch keelson/drift/<ns>/<pod>
 * based on the deployed commit, holding one commit that makes Git match what
 * was found: the owner's manifest edited in place (yamledit.h) when the agent
 * said what the container runs instead (drift.found with image, command,
 * args or env), else a note file drift/<ns>/<pod>.md saying what was found
 * and what merging or closing means. A host turns the branch into a pull
 * request. Reported again, the branch gets a commit on top only when the
 * change differs. Branches are pushed like the status branch (never forced;
 * another writer's commits are built upon) and remembered in tracking refs
 * refs/keelson/remote/keelson/drift/...; a later check asks the remote (or,
 * without one, the repository) which still exist. One that disappeared while
 * the deploy branch does not contain its change was closed: it is handed to
 * the control plane (ks_writeback_drift_closed), which heals by replacing the
 * pod. Merged ones are only forgotten.
 */
#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "reconciler/writeback/internal.h"
#include "reconciler/writeback/yamledit.h"

#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TRACKING_PREFIX "refs/keelson/remote/" KS_WRITEBACK_DRIFT_PREFIX
#define MAX_QUEUE 1000
#define FOUND_TEXT_MAX 2000

struct ks_driftpr {
    struct ks_wbgit *g;
    git_repository *repo;
    bool mirror;  /* local refs under refs/keelson/ (a URL source's mirror) */
    char *deploy; /* deploy branch; NULL: HEAD */
    pthread_mutex_t mu;
    json_t *queue;  /* requests not written yet */
    json_t *pushq;  /* branch -> {"files": {path: text}, "message"} written, not pushed */
    json_t *closed; /* closed branches not taken yet */
    bool scanned;   /* branches left unpushed by an earlier run were queued */
};

int ks_driftpr_new(struct ks_driftpr **out, struct ks_wbgit *g, const struct ks_writeback_opts *o)
{
    struct ks_driftpr *d = calloc(1, sizeof *d);
    if (!d)
        return ks_error_set(KS_ENOMEM, "out of memory");
    d->g = g;
    d->repo = ks_wbgit_repository(g);
    d->mirror = o->local_ref && !ks_str_has_prefix(o->local_ref, "refs/heads/");
    d->deploy = o->deploy_branch && *o->deploy_branch ? strdup(o->deploy_branch) : NULL;
    d->queue = json_array();
    d->pushq = json_object();
    d->closed = json_array();
    pthread_mutex_init(&d->mu, NULL);
    if (!d->queue || !d->pushq || !d->closed ||
        (o->deploy_branch && *o->deploy_branch && !d->deploy)) {
        ks_driftpr_free(d);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

void ks_driftpr_free(struct ks_driftpr *d)
{
    if (!d)
        return;
    json_decref(d->queue);
    json_decref(d->pushq);
    json_decref(d->closed);
    free(d->deploy);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int ks_driftpr_add(struct ks_driftpr *d, const struct ks_writeback_drift_pr *r)
{
    if (!r || !json_is_object(r->event) || !r->base_sha || strlen(r->base_sha) != 40 ||
        !r->pod_uid || !*r->pod_uid)
        return ks_error_set(KS_EINVALID,
                            "writeback: a drift branch needs the event, the deployed commit and "
                            "the pod's uid");
    json_t *req =
        json_pack("{s:O, s:s, s:s}", "event", r->event, "base", r->base_sha, "uid", r->pod_uid);
    if (req && r->owner_kind && r->owner_name)
        json_object_set_new(req, "owner",
                            json_pack("{s:s, s:s, s:s, s:s}", "kind", r->owner_kind, "namespace",
                                      r->owner_ns ? r->owner_ns : "", "name", r->owner_name,
                                      "source", r->owner_source ? r->owner_source : ""));
    if (!req)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = 0;
    pthread_mutex_lock(&d->mu);
    if (json_array_size(d->queue) >= MAX_QUEUE)
        rc = ks_error_set(KS_ELIMIT, "writeback: more than %d drift branches waiting", MAX_QUEUE);
    else if (json_array_append(d->queue, req) < 0)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
    pthread_mutex_unlock(&d->mu);
    json_decref(req);
    return rc;
}

bool ks_driftpr_busy(struct ks_driftpr *d)
{
    pthread_mutex_lock(&d->mu);
    bool busy = json_array_size(d->queue) || json_object_size(d->pushq);
    pthread_mutex_unlock(&d->mu);
    return busy;
}

json_t *ks_driftpr_take_closed(struct ks_driftpr *d)
{
    pthread_mutex_lock(&d->mu);
    json_t *out = d->closed;
    d->closed = json_array();
    pthread_mutex_unlock(&d->mu);
    return out ? out : json_array();
}

/* ---- names ---- */

static char *local_ref(const struct ks_driftpr *d, const char *branch)
{
    return ks_strdupf("%s%s", d->mirror ? "refs/keelson/" : "refs/heads/", branch);
}

/* ---- what the branch changes ---- */

/* The containers of a workload, as a path prefix. */
static json_t *containers_path(const char *kind)
{
    if (strcmp(kind, "Pod") == 0)
        return json_pack("[s, s]", "spec", "containers");
    if (strcmp(kind, "CronJob") == 0)
        return json_pack("[s, s, s, s, s, s, s]", "spec", "jobTemplate", "spec", "template", "spec",
                         "containers");
    if (strcmp(kind, "Deployment") == 0 || strcmp(kind, "ReplicaSet") == 0 ||
        strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0 ||
        strcmp(kind, "Job") == 0)
        return json_pack("[s, s, s, s]", "spec", "template", "spec", "containers");
    return NULL;
}

static int blob_at(char **out, size_t *out_len, struct ks_driftpr *d, const char *sha,
                   const char *path)
{
    git_oid id;
    git_commit *c = NULL;
    git_tree *t = NULL;
    git_tree_entry *e = NULL;
    git_blob *b = NULL;
    int rc = 0;
    if (git_oid_fromstr(&id, sha) < 0 || git_commit_lookup(&c, d->repo, &id) < 0 ||
        git_commit_tree(&t, c) < 0) {
        rc = ks_wbgit_fail(KS_ENOTFOUND, sha);
        goto done;
    }
    if (git_tree_entry_bypath(&e, t, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
        git_blob_lookup(&b, d->repo, git_tree_entry_id(e)) < 0) {
        rc = ks_error_set(KS_ENOTFOUND, "%s is not in commit %.7s", path, sha);
        goto done;
    }
    size_t len = (size_t)git_blob_rawsize(b);
    if (len > KS_YAMLEDIT_MAX_BYTES) {
        rc = ks_error_set(KS_ELIMIT, "%s: %zu bytes, over the limit of %u", path, len,
                          KS_YAMLEDIT_MAX_BYTES);
        goto done;
    }
    if (!(*out = ks_strndup(git_blob_rawcontent(b), len))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out_len = len;
done:
    git_blob_free(b);
    git_tree_entry_free(e);
    git_tree_free(t);
    git_commit_free(c);
    return rc;
}

static void text_of(struct ks_buf *b, const json_t *v)
{
    if (json_is_string(v)) {
        ks_buf_puts(b, json_string_value(v));
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s && strlen(s) > FOUND_TEXT_MAX)
        ks_buf_printf(b, "%.*s...", FOUND_TEXT_MAX, s);
    else
        ks_buf_puts(b, s ? s : "?");
    free(s);
}

/* Edits the owner's manifest; 0 with *out_files set, else an error saying
 * why not (the caller writes a note). *out_fields: "image, command". */
static int manifest_change(json_t **out_files, struct ks_buf *fields, struct ks_driftpr *d,
                           const json_t *req, const char **out_file)
{
    static const char *const keys[] = {"image", "command", "args", "env"};
    const json_t *drift = json_object_get(json_object_get(req, "event"), "drift");
    const json_t *found = json_object_get(drift, "found");
    const char *container = json_string_value(json_object_get(drift, "container"));
    const json_t *owner = json_object_get(req, "owner");
    const char *kind = json_string_value(json_object_get(owner, "kind"));
    const char *source = json_string_value(json_object_get(owner, "source"));
    char *text = NULL, *file = NULL;
    json_t *prefix = NULL;
    size_t len = 0;
    int rc = 0, any = 0;
    if (!json_is_object(found) || !container)
        return ks_error_set(KS_EINVALID, "the agent reported what was found, not what the "
                                         "container runs instead");
    if (!kind || !source || !*source)
        return ks_error_set(KS_EINVALID, "no object in Git is known to own the pod");
    if (ks_str_has_prefix(source, "release "))
        return ks_error_set(KS_EINVALID,
                            "%s %s comes from a rendered chart (%s), not a manifest "
                            "file",
                            kind, json_string_value(json_object_get(owner, "name")), source);
    if (!(prefix = containers_path(kind)))
        return ks_error_set(KS_EINVALID, "a %s has no pod template", kind);
    const char *colon = strrchr(source, ':');
    int64_t line64 = 0;
    if (colon && ks_str_to_i64(&line64, colon + 1, "source line") < 0)
        line64 = 0; /* no line: ks_yamledit_set takes the first document */
    int line = line64 > 0 && line64 < INT32_MAX ? (int)line64 : 0;
    file = colon ? ks_strndup(source, (size_t)(colon - source)) : strdup(source);
    if (!file) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = blob_at(&text, &len, d, json_string_value(json_object_get(req, "base")), file)))
        goto done;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const json_t *v = json_object_get(found, keys[i]);
        if (!v)
            continue;
        json_t *path = json_deep_copy(prefix);
        json_array_append_new(path, json_pack("{s:s}", "name", container));
        json_array_append_new(path, json_string(keys[i]));
        char *next = NULL;
        size_t nlen = 0;
        int changed = 0;
        rc = ks_yamledit_set(&next, &nlen, &changed, text, len, line, path, v);
        json_decref(path);
        if (rc) {
            rc = ks_error_wrap(rc, "%s:%d", file, line);
            goto done;
        }
        free(text);
        text = next;
        len = nlen;
        if (changed && json_is_string(v) && json_string_length(v) <= 100)
            ks_buf_printf(fields, "%s%s %s", any++ ? ", " : "", keys[i], json_string_value(v));
        else if (changed)
            ks_buf_printf(fields, "%s%s", any++ ? ", " : "", keys[i]);
    }
    if (!any) {
        rc = ks_error_set(KS_EINVALID, "%s already says what was found", file);
        goto done;
    }
    *out_files = json_pack("{s:s%}", file, text, len);
    *out_file = json_string_value(json_object_get(owner, "source"));
    if (!*out_files)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
done:
    free(text);
    free(file);
    json_decref(prefix);
    return rc;
}

static void found_lines(struct ks_buf *b, const json_t *drift, const char *bullet)
{
    static const char *const keys[] = {"what", "container", "found", "desired"};
    for (size_t i = 0; i < 4; i++) {
        const json_t *v = json_object_get(drift, keys[i]);
        if (!v)
            continue;
        ks_buf_printf(b, "%s%s: ", bullet, keys[i]);
        text_of(b, v);
        ks_buf_putc(b, '\n');
    }
}

/* The files and message of a request's commit. */
static int build(json_t **out_files, char **out_message, char **out_branch, struct ks_driftpr *d,
                 const json_t *req)
{
    const json_t *ev = json_object_get(req, "event");
    const json_t *obj = json_object_get(ev, "object");
    const json_t *drift = json_object_get(ev, "drift");
    const json_t *owner = json_object_get(req, "owner");
    const char *ns = json_string_value(json_object_get(obj, "namespace"));
    const char *pod = json_string_value(json_object_get(obj, "name"));
    const char *node = json_string_value(json_object_get(ev, "node"));
    const char *when = json_string_value(json_object_get(ev, "time"));
    const char *message = json_string_value(json_object_get(ev, "message"));
    const char *container = json_string_value(json_object_get(drift, "container"));
    const char *what = json_string_value(json_object_get(drift, "what"));
    const char *base = json_string_value(json_object_get(req, "base"));
    const char *okind = json_string_value(json_object_get(owner, "kind"));
    const char *oname = json_string_value(json_object_get(owner, "name"));
    const char *osrc = json_string_value(json_object_get(owner, "source"));
    char branch[512];
    json_t *files = NULL;
    const char *edited = NULL;
    struct ks_buf msg, fields, note;
    ks_buf_init(&msg, 64 * 1024);
    ks_buf_init(&fields, 256);
    ks_buf_init(&note, 64 * 1024);
    ns = ns && *ns ? ns : "default";
    int rc = ks_writeback_drift_branch(branch, sizeof branch, ns, pod);
    if (rc)
        goto done;
    int why = manifest_change(&files, &fields, d, req, &edited);
    char reason[512];
    snprintf(reason, sizeof reason, "%s", why ? ks_error_last() : "");
    char *first_line = message ? ks_strndup(message, strcspn(message, "\n")) : NULL;
    if (why == 0) {
        ks_buf_printf(&msg, "drift: accept %s of container %s into %s %s/%s\n\n",
                      ks_buf_data(&fields), container, okind, ns, oname);
        ks_buf_printf(&msg, "Pod %s/%s%s%s was found different from Git%s%s:\n", ns, pod,
                      node ? " on node " : "", node ? node : "", when ? " at " : "",
                      when ? when : "");
        found_lines(&msg, drift, "  ");
        ks_buf_printf(&msg,
                      "\nSelf-heal is off for this pod (keelson.io/self-heal: \"false\"), so it "
                      "was left as found.\nThis commit changes %s (%s %s, container %s: %s) so "
                      "that Git matches what runs.\n\n"
                      "Merge to accept the drift into the desired state. Close the pull request "
                      "and delete\nthe branch to heal instead: keelson then replaces the pod with "
                      "one made from Git.\n",
                      edited, okind, oname, container, ks_buf_data(&fields));
    } else {
        char *path = ks_strdupf("drift/%s/%s.md", ns, pod);
        ks_buf_printf(&note, "# Drift of pod %s/%s (not healed)\n\n", ns, pod);
        ks_buf_printf(&note, "Found%s%s%s%s: %s\n\n", node ? " on node " : "", node ? node : "",
                      when ? " at " : "", when ? when : "",
                      first_line ? first_line : "changed out of band");
        found_lines(&note, drift, "- ");
        if (okind && oname)
            ks_buf_printf(&note, "- desired state: %s %s/%s from %s (commit %.12s)\n", okind, ns,
                          oname, osrc && *osrc ? osrc : "?", base);
        ks_buf_printf(&note,
                      "\nThis drift is not expressed as a change of the desired state (%s), so "
                      "this branch\ncarries only this note.\n\n"
                      "- Merge the pull request to accept the pod as it was found: keelson leaves "
                      "it alone\n  (self-heal is off for it) and this note records the decision.\n"
                      "- Close the pull request and delete the branch to heal: keelson replaces "
                      "the pod\n  with one made from the desired state.\n",
                      reason);
        files = path ? json_pack("{s:s%}", path, ks_buf_data(&note), ks_buf_len(&note)) : NULL;
        ks_buf_printf(&msg, "drift: %s/%s %s%s%s%s, not healed\n\n", ns, pod,
                      container ? "container " : "", container ? container : "",
                      container ? " " : "", what ? what : "changed out of band");
        ks_buf_printf(&msg, "%s\n\n", first_line ? first_line : "Changed out of band.");
        ks_buf_printf(&msg,
                      "Not expressed as a manifest change (%s): this commit adds the note\n"
                      "%s. Merge to accept the pod as found; close the pull request and delete\n"
                      "the branch to heal: keelson then replaces the pod with one made from Git.\n",
                      reason, path ? path : "");
        free(path);
    }
    free(first_line);
    if (!files) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ks_buf_printf(&msg, "\nKeelson-Event: drift\nKeelson-Object: Pod/%s/%s\n", ns, pod);
    if (okind && oname && strcmp(okind, "Pod") != 0)
        ks_buf_printf(&msg, "Keelson-Object: %s/%s/%s\n", okind, ns, oname);
    ks_buf_printf(&msg, "Keelson-Source: %s\nKeelson-Pod-Uid: %s\n", base,
                  json_string_value(json_object_get(req, "uid")));
    if ((rc = ks_buf_error(&msg))) {
        rc = ks_error_set(KS_ELIMIT, "writeback: drift branch message over 64 KiB");
        goto done;
    }
    *out_message = ks_buf_detach(&msg, NULL);
    *out_branch = strdup(branch);
    *out_files = files;
    files = NULL;
    if (!*out_message || !*out_branch)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
done:
    json_decref(files);
    ks_buf_release(&msg);
    ks_buf_release(&fields);
    ks_buf_release(&note);
    return rc;
}

/* ---- git ---- */

/* Commits files on parent into ref (moving it from old, NULL: create).
 * *out_made: 0 when the tree would not change. */
static int commit_files(git_oid *out, int *out_made, struct ks_driftpr *d, const char *ref,
                        const git_oid *parent_id, const git_oid *old, const json_t *files,
                        const char *message)
{
    git_commit *parent = NULL;
    git_tree *ptree = NULL, *tree = NULL;
    git_signature *sig = NULL;
    git_reference *r = NULL;
    git_oid tid, cid;
    size_t n = json_object_size(files), i = 0;
    git_tree_update *u = calloc(n ? n : 1, sizeof *u);
    int rc = 0;
    if (!u)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if (git_commit_lookup(&parent, d->repo, parent_id) < 0 || git_commit_tree(&ptree, parent) < 0) {
        rc = ks_wbgit_fail(KS_ENOTFOUND, "the drift branch's base commit");
        goto done;
    }
    const char *path;
    json_t *v;
    json_object_foreach((json_t *)files, path, v)
    {
        if (git_blob_create_from_buffer(&u[i].id, d->repo, json_string_value(v),
                                        json_string_length(v)) < 0) {
            rc = ks_wbgit_fail(KS_EIO, path);
            goto done;
        }
        u[i].action = GIT_TREE_UPDATE_UPSERT;
        u[i].filemode = GIT_FILEMODE_BLOB;
        u[i].path = path;
        i++;
    }
    if (git_tree_create_updated(&tid, d->repo, ptree, n, u) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "building the drift branch's tree");
        goto done;
    }
    if (git_oid_equal(&tid, git_tree_id(ptree))) {
        *out = *parent_id;
        *out_made = 0;
        goto done;
    }
    if ((rc = ks_wbgit_signature(&sig, d->g)))
        goto done;
    const git_commit *parents[1] = {parent};
    if (git_tree_lookup(&tree, d->repo, &tid) < 0 ||
        git_commit_create(&cid, d->repo, NULL, sig, sig, NULL, message, tree, 1, parents) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "committing to a drift branch");
        goto done;
    }
    int e = old ? git_reference_create_matching(&r, d->repo, ref, &cid, 1, old, "keelson: drift")
                : git_reference_create(&r, d->repo, ref, &cid, 0, "keelson: drift");
    if (e < 0) {
        rc = ks_wbgit_fail(e == GIT_EMODIFIED || e == GIT_EEXISTS ? KS_ECONFLICT : KS_EIO, ref);
        goto done;
    }
    *out = cid;
    *out_made = 1;
done:
    git_reference_free(r);
    git_signature_free(sig);
    git_tree_free(tree);
    git_tree_free(ptree);
    git_commit_free(parent);
    free(u);
    return rc;
}

static int set_ref(struct ks_driftpr *d, const char *ref, const git_oid *id)
{
    git_reference *r = NULL;
    if (git_reference_create(&r, d->repo, ref, id, 1, "keelson: drift branch") < 0)
        return ks_wbgit_fail(KS_EIO, ref);
    git_reference_free(r);
    return 0;
}

/* Writes one request: a commit on the branch's tip (or on the deployed
 * commit for a new branch). *out_made: a commit was made. */
static int write_one(int *out_made, struct ks_driftpr *d, const json_t *req)
{
    json_t *files = NULL;
    char *message = NULL, *branch = NULL, *ref = NULL;
    git_oid base, tip, id;
    int rc = build(&files, &message, &branch, d, req);
    if (rc)
        goto done;
    if (!(ref = local_ref(d, branch))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    bool exists = git_reference_name_to_id(&tip, d->repo, ref) == 0;
    if (git_oid_fromstr(&base, json_string_value(json_object_get(req, "base"))) < 0) {
        rc = ks_error_set(KS_EINVALID, "writeback: bad deployed commit");
        goto done;
    }
    if ((rc = commit_files(&id, out_made, d, ref, exists ? &tip : &base, exists ? &tip : NULL,
                           files, message)))
        goto done;
    if (!*out_made && !exists)
        goto done; /* the deployed commit already says what was found: nothing to propose */
    pthread_mutex_lock(&d->mu);
    json_t *entry = json_pack("{s:O, s:s}", "files", files, "message", message);
    if (*out_made || !json_object_get(d->pushq, branch))
        json_object_set_new(d->pushq, branch, entry);
    else
        json_decref(entry);
    pthread_mutex_unlock(&d->mu);
done:
    json_decref(files);
    free(message);
    free(branch);
    free(ref);
    return rc;
}

/* Pushes one branch. On a non-fast-forward (someone pushed to it) their
 * tip is fetched and our files are committed on top of it, once. */
static int push_one(struct ks_driftpr *d, git_remote *remote, const char *branch,
                    const json_t *entry)
{
    char *ref = local_ref(d, branch), *remote_ref = ks_strdupf("refs/heads/%s", branch);
    char *tracking = ks_strdupf("refs/keelson/remote/%s", branch);
    char *spec = ks_strdupf("%s:%s", ref ? ref : "", remote_ref ? remote_ref : "");
    char *fetch = ks_strdupf("+%s:%s", remote_ref ? remote_ref : "", tracking ? tracking : "");
    git_oid id;
    int rc = 0;
    if (!ref || !remote_ref || !tracking || !spec || !fetch) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (!remote) {
        /* no remote: the branch in this repository is the one to review */
        if (git_reference_name_to_id(&id, d->repo, ref) == 0)
            rc = set_ref(d, tracking, &id);
        goto done;
    }
    for (int round = 0; round < 2; round++) {
        struct ks_wbgit_remote_state st = {.g = d->g};
        git_push_options po;
        git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
        ks_wbgit_callbacks(&po.callbacks, &st);
        char *specs[1] = {spec};
        git_strarray refspecs = {specs, 1};
        int e = git_remote_push(remote, &refspecs, &po);
        if (e == 0 && !st.rejected) {
            if (git_reference_name_to_id(&id, d->repo, ref) == 0)
                rc = set_ref(d, tracking, &id);
            goto done;
        }
        if (e < 0 && e != GIT_ENONFASTFORWARD) {
            rc = ks_wbgit_fail(KS_EIO, ks_wbgit_remote(d->g));
            goto done;
        }
        if (round == 1) {
            rc = ks_error_set(KS_ECONFLICT, "git: push of %s to %s rejected%s%s", branch,
                              ks_wbgit_remote(d->g), st.rejected ? ": " : "",
                              st.rejected ? st.status : "");
            goto done;
        }
        /* another writer: build on their tip */
        git_fetch_options fo;
        git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
        fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
        struct ks_wbgit_remote_state fst = {.g = d->g};
        ks_wbgit_callbacks(&fo.callbacks, &fst);
        char *fspecs[1] = {fetch};
        git_strarray frefspecs = {fspecs, 1};
        git_oid theirs, ours, made_id;
        int made = 0;
        if (git_remote_fetch(remote, &frefspecs, &fo, "keelson drift fetch") < 0 ||
            git_reference_name_to_id(&theirs, d->repo, tracking) < 0 ||
            git_reference_name_to_id(&ours, d->repo, ref) < 0) {
            rc = ks_wbgit_fail(KS_EIO, ks_wbgit_remote(d->g));
            goto done;
        }
        if ((rc = commit_files(&made_id, &made, d, ref, &theirs, &ours,
                               json_object_get(entry, "files"),
                               json_string_value(json_object_get(entry, "message")))))
            goto done;
        if (!made && (rc = set_ref(d, ref, &theirs)))
            goto done;
    }
done:
    free(ref);
    free(remote_ref);
    free(tracking);
    free(spec);
    free(fetch);
    return rc;
}

/* ---- closed branches ---- */

/* The refs the place of record has: the remote's heads, or without a
 * remote this repository's branches. *out: name -> oid (hex). */
static int record_refs(json_t **out, struct ks_driftpr *d, git_remote *remote)
{
    json_t *refs = json_object();
    int rc = 0;
    if (!refs)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if (remote) {
        struct ks_wbgit_remote_state st = {.g = d->g};
        git_remote_callbacks cb;
        git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
        ks_wbgit_callbacks(&cb, &st);
        const git_remote_head **heads = NULL;
        size_t n = 0;
        if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, NULL, NULL) < 0 ||
            git_remote_ls(&heads, &n, remote) < 0) {
            rc = ks_wbgit_fail(KS_EIO, ks_wbgit_remote(d->g));
        } else {
            for (size_t i = 0; i < n; i++) {
                char hex[41];
                git_oid_tostr(hex, sizeof hex, &heads[i]->oid);
                json_object_set_new(refs, heads[i]->name, json_string(hex));
            }
        }
        git_remote_disconnect(remote);
    } else {
        git_reference_iterator *it = NULL;
        git_reference *r = NULL;
        if (git_reference_iterator_glob_new(&it, d->repo, "refs/heads/*") < 0) {
            rc = ks_wbgit_fail(KS_EIO, "listing branches");
        } else {
            while (git_reference_next(&r, it) == 0) {
                git_oid id;
                char hex[41];
                if (git_reference_name_to_id(&id, d->repo, git_reference_name(r)) == 0) {
                    git_oid_tostr(hex, sizeof hex, &id);
                    json_object_set_new(refs, git_reference_name(r), json_string(hex));
                }
                git_reference_free(r);
            }
            git_reference_iterator_free(it);
        }
    }
    if (rc) {
        json_decref(refs);
        return rc;
    }
    *out = refs;
    return 0;
}

/* The deploy branch's tip as the place of record has it; 0 not known here. */
static int deploy_tip(git_oid *out, struct ks_driftpr *d, const json_t *refs, bool remote)
{
    const char *hex = NULL;
    char name[600];
    if (remote) {
        snprintf(name, sizeof name, "refs/heads/%s", d->deploy ? d->deploy : "");
        hex = json_string_value(json_object_get(refs, d->deploy ? name : "HEAD"));
        if (!hex && d->deploy)
            hex = json_string_value(json_object_get(refs, d->deploy));
    }
    git_object *o = NULL;
    if (hex) {
        git_commit *c = NULL;
        if (git_oid_fromstr(out, hex) < 0 || git_commit_lookup(&c, d->repo, out) < 0)
            return 0; /* not fetched yet: undecided */
        git_commit_free(c);
        return 1;
    }
    if (git_revparse_single(&o, d->repo, d->deploy ? d->deploy : "HEAD") < 0)
        return 0;
    git_object *c = NULL;
    int ok = git_object_peel(&c, o, GIT_OBJECT_COMMIT) == 0;
    if (ok)
        *out = *git_object_id(c);
    git_object_free(c);
    git_object_free(o);
    return ok;
}

/* Did the deploy branch take the drift branch's change? Its commit is an
 * ancestor of the deploy tip, or (squash, rebase, edited by hand) every file
 * the branch changed since the deployed commit reads the same there. */
static bool merged(struct ks_driftpr *d, const git_oid *tip, const git_oid *deploy,
                   const char *base_hex)
{
    if (git_oid_equal(tip, deploy) || git_graph_descendant_of(d->repo, deploy, tip) == 1)
        return true;
    git_oid base;
    git_commit *bc = NULL, *tc = NULL, *dc = NULL;
    git_tree *bt = NULL, *tt = NULL, *dt = NULL;
    git_diff *diff = NULL;
    bool same = false;
    if (!base_hex || git_oid_fromstr(&base, base_hex) < 0 ||
        git_commit_lookup(&bc, d->repo, &base) < 0 || git_commit_lookup(&tc, d->repo, tip) < 0 ||
        git_commit_lookup(&dc, d->repo, deploy) < 0 || git_commit_tree(&bt, bc) < 0 ||
        git_commit_tree(&tt, tc) < 0 || git_commit_tree(&dt, dc) < 0 ||
        git_diff_tree_to_tree(&diff, d->repo, bt, tt, NULL) < 0)
        goto done;
    same = git_diff_num_deltas(diff) > 0;
    for (size_t i = 0; same && i < git_diff_num_deltas(diff); i++) {
        const git_diff_delta *x = git_diff_get_delta(diff, i);
        git_tree_entry *e = NULL;
        if (x->status == GIT_DELTA_DELETED)
            same = git_tree_entry_bypath(&e, dt, x->old_file.path) != 0;
        else
            same = git_tree_entry_bypath(&e, dt, x->new_file.path) == 0 &&
                   git_oid_equal(git_tree_entry_id(e), &x->new_file.id);
        git_tree_entry_free(e);
    }
done:
    git_diff_free(diff);
    git_tree_free(dt);
    git_tree_free(tt);
    git_tree_free(bt);
    git_commit_free(dc);
    git_commit_free(tc);
    git_commit_free(bc);
    return same;
}

/* The trailers of the branch's newest commit that name the pod. */
static json_t *closed_entry(struct ks_driftpr *d, const char *branch, const git_oid *tip,
                            char base_out[41])
{
    git_commit *c = NULL;
    git_message_trailer_array arr = {0};
    json_t *out = NULL;
    base_out[0] = '\0';
    if (git_commit_lookup(&c, d->repo, tip) < 0 ||
        git_message_trailers(&arr, git_commit_message(c)) < 0) {
        git_commit_free(c);
        return NULL;
    }
    const char *uid = NULL, *pod = NULL;
    for (size_t i = 0; i < arr.count; i++) {
        const char *k = arr.trailers[i].key, *v = arr.trailers[i].value;
        if (strcmp(k, "Keelson-Pod-Uid") == 0)
            uid = v;
        else if (strcmp(k, "Keelson-Object") == 0 && ks_str_has_prefix(v, "Pod/") && !pod)
            pod = v + 4;
        else if (strcmp(k, "Keelson-Source") == 0 && strlen(v) == 40 && !base_out[0])
            snprintf(base_out, 41, "%s", v);
    }
    const char *slash = pod ? strchr(pod, '/') : NULL;
    if (uid && slash)
        out = json_pack("{s:s, s:s%, s:s, s:s}", "branch", branch, "namespace", pod,
                        (size_t)(slash - pod), "name", slash + 1, "uid", uid);
    git_message_trailer_array_free(&arr);
    git_commit_free(c);
    return out;
}

static int check_closed(size_t *out_closed, struct ks_driftpr *d, git_remote *remote)
{
    json_t *refs = NULL, *ours = json_object();
    git_reference_iterator *it = NULL;
    git_reference *r = NULL;
    int rc = 0;
    if (!ours)
        return ks_error_set(KS_ENOMEM, "out of memory");
    /* our tracking refs: what we last wrote to the place of record */
    if (git_reference_iterator_new(&it, d->repo) < 0) {
        rc = ks_wbgit_fail(KS_EIO, "listing refs");
        goto done;
    }
    while (git_reference_next(&r, it) == 0) {
        const char *name = git_reference_name(r);
        git_oid id;
        char hex[41];
        if (ks_str_has_prefix(name, TRACKING_PREFIX) &&
            git_reference_name_to_id(&id, d->repo, name) == 0) {
            git_oid_tostr(hex, sizeof hex, &id);
            json_object_set_new(ours, name + strlen("refs/keelson/remote/"), json_string(hex));
        }
        git_reference_free(r);
    }
    git_reference_iterator_free(it);
    if (json_object_size(ours) == 0)
        goto done;
    if ((rc = record_refs(&refs, d, remote)))
        goto done;
    git_oid deploy;
    int have_deploy = deploy_tip(&deploy, d, refs, remote != NULL);
    const char *branch;
    json_t *v;
    json_object_foreach(ours, branch, v)
    {
        char name[600], base[41];
        snprintf(name, sizeof name, "refs/heads/%s", branch);
        pthread_mutex_lock(&d->mu);
        bool waiting = json_object_get(d->pushq, branch) != NULL;
        pthread_mutex_unlock(&d->mu);
        if (json_object_get(refs, name) || waiting)
            continue; /* still open (or ours not out yet) */
        git_oid tip;
        git_oid_fromstr(&tip, json_string_value(v));
        json_t *entry = closed_entry(d, branch, &tip, base);
        if (!have_deploy) {
            json_decref(entry);
            continue; /* the deploy branch's tip is not here yet: decide later */
        }
        bool was_merged = merged(d, &tip, &deploy, base);
        if (!was_merged && entry) {
            pthread_mutex_lock(&d->mu);
            json_array_append(d->closed, entry);
            pthread_mutex_unlock(&d->mu);
            (*out_closed)++;
        }
        json_decref(entry);
        /* forget it: the tracking ref, and our local copy of the branch */
        char tracking[700], *local = local_ref(d, branch);
        snprintf(tracking, sizeof tracking, "refs/keelson/remote/%s", branch);
        git_reference_remove(d->repo, tracking);
        if (local)
            git_reference_remove(d->repo, local);
        free(local);
    }
done:
    json_decref(refs);
    json_decref(ours);
    return rc;
}

/* The files a commit changed against its first parent, as {path: text}. */
static json_t *files_of(struct ks_driftpr *d, const git_commit *c)
{
    git_commit *parent = NULL;
    git_tree *pt = NULL, *ct = NULL;
    git_diff *diff = NULL;
    json_t *files = json_object();
    if (!files || git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&pt, parent) < 0 ||
        git_commit_tree(&ct, c) < 0 || git_diff_tree_to_tree(&diff, d->repo, pt, ct, NULL) < 0) {
        json_decref(files);
        files = NULL;
        goto done;
    }
    for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
        const git_diff_delta *x = git_diff_get_delta(diff, i);
        git_blob *b = NULL;
        if (x->status == GIT_DELTA_DELETED || git_blob_lookup(&b, d->repo, &x->new_file.id) < 0)
            continue;
        json_object_set_new(files, x->new_file.path,
                            json_stringn(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)));
        git_blob_free(b);
    }
done:
    git_diff_free(diff);
    git_tree_free(ct);
    git_tree_free(pt);
    git_commit_free(parent);
    return files;
}

/* Once per process: drift branches an earlier run wrote but did not push
 * (their local ref differs from the tracking ref) are queued again, with
 * the files and message of their newest commit for a re-apply. */
static void queue_unpushed(struct ks_driftpr *d)
{
    const char *prefix = d->mirror ? "refs/keelson/" KS_WRITEBACK_DRIFT_PREFIX
                                   : "refs/heads/" KS_WRITEBACK_DRIFT_PREFIX;
    size_t skip = strlen(d->mirror ? "refs/keelson/" : "refs/heads/");
    git_reference_iterator *it = NULL;
    git_reference *r = NULL;
    d->scanned = true;
    if (git_reference_iterator_new(&it, d->repo) < 0)
        return;
    while (git_reference_next(&r, it) == 0) {
        const char *name = git_reference_name(r);
        git_oid local, tracked;
        char tracking[700];
        git_commit *c = NULL;
        snprintf(tracking, sizeof tracking, "refs/keelson/remote/%s", name + skip);
        if (ks_str_has_prefix(name, prefix) &&
            git_reference_name_to_id(&local, d->repo, name) == 0 &&
            (git_reference_name_to_id(&tracked, d->repo, tracking) != 0 ||
             !git_oid_equal(&local, &tracked)) &&
            git_commit_lookup(&c, d->repo, &local) == 0) {
            json_t *files = files_of(d, c);
            pthread_mutex_lock(&d->mu);
            if (files && !json_object_get(d->pushq, name + skip))
                json_object_set_new(
                    d->pushq, name + skip,
                    json_pack("{s:o, s:s}", "files", files, "message", git_commit_message(c)));
            else
                json_decref(files);
            pthread_mutex_unlock(&d->mu);
        }
        git_commit_free(c);
        git_reference_free(r);
    }
    git_reference_iterator_free(it);
}

int ks_driftpr_work(size_t *out_commits, size_t *out_closed, struct ks_driftpr *d, bool check)
{
    json_t *queue, *pushq;
    git_remote *remote = NULL;
    size_t commits = 0, closed = 0;
    int rc = 0, first = 0;
    pthread_mutex_lock(&d->mu);
    queue = d->queue;
    d->queue = json_array();
    pthread_mutex_unlock(&d->mu);
    if (!d->scanned)
        queue_unpushed(d);
    size_t i;
    json_t *req;
    json_array_foreach(queue, i, req)
    {
        int made = 0;
        int e = write_one(&made, d, req);
        commits += made ? 1 : 0;
        if (e && !first) {
            first = e;
            rc = ks_error_wrap(e, "drift branch");
        }
    }
    json_decref(queue);
    if (ks_wbgit_remote(d->g)) {
        int e = ks_wbgit_open_remote(&remote, d->g);
        if (e && !first)
            rc = first = e;
    }
    pthread_mutex_lock(&d->mu);
    pushq = json_deep_copy(d->pushq);
    pthread_mutex_unlock(&d->mu);
    const char *branch;
    json_t *entry;
    json_object_foreach(pushq, branch, entry)
    {
        if (ks_wbgit_remote(d->g) && !remote)
            break;
        int e = push_one(d, remote, branch, entry);
        if (e == 0) {
            pthread_mutex_lock(&d->mu);
            json_object_del(d->pushq, branch);
            pthread_mutex_unlock(&d->mu);
        } else if (!first) {
            first = e;
            rc = e;
        }
    }
    json_decref(pushq);
    if (check && (!ks_wbgit_remote(d->g) || remote)) {
        int e = check_closed(&closed, d, remote);
        if (e && !first)
            rc = e;
    }
    git_remote_free(remote);
    *out_commits = commits;
    *out_closed = closed;
    return rc;
}
