/*
 * history.c: reads the deploy branch and the status branch of a repository
 * into the dashboard's JSON model (dashboard.h).
 *
 * The deploy branch is walked first-parent (a merged pull request is one
 * entry, as `git log --first-parent` shows it). Status commits are
 * classified by their trailers (Keelson-Event, Keelson-Source,
 * Keelson-Object: docs/writeback.md); the files at the status branch's tip
 * give the current picture (sync.yaml, status/, nodes/, drift/), and
 * sync.yaml at each sync commit gives the plan a deploy commit produced.
 * Everything read is bounded (commits, files, bytes per file).
 */
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/dashboard/internal.h"
#include "reconciler/source/source.h"

#include "core/error.h"
#include "core/yaml.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct reader {
    git_repository *repo;
    unsigned max_commits;
    size_t files_read;
};

static int git_fail(const char *what)
{
    const git_error *e = git_error_last();
    return ks_error_set(KS_EIO, "dashboard: %s: %s", what,
                        e && e->message ? e->message : "unknown error");
}

/* refs/heads/<name>, refs/remotes/origin/<name> (a plain clone), then
 * refs/keelson/<name> (where writeback keeps the status branch inside a
 * mirror whose pruning fetch owns refs/heads). */
static int resolve_branch(git_oid *out, git_repository *repo, const char *name)
{
    char ref[512];
    const char *prefixes[] = {"refs/heads/", "refs/remotes/origin/", "refs/keelson/", ""};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        snprintf(ref, sizeof(ref), "%s%s", prefixes[i], name);
        if (git_reference_name_to_id(out, repo, ref) == 0)
            return 0;
    }
    return KS_ENOTFOUND;
}

/* The deploy branch's name: the flag, else what HEAD points at. */
static int deploy_branch(char *out, size_t cap, git_oid *oid, git_repository *repo,
                         const char *flag)
{
    if (flag) {
        if (resolve_branch(oid, repo, flag) != 0)
            return ks_error_set(KS_ENOTFOUND, "dashboard: no branch \"%s\" in the repository",
                                flag);
        snprintf(out, cap, "%s", flag);
        return 0;
    }
    git_reference *head = NULL;
    if (git_repository_head(&head, repo) != 0)
        return git_fail("reading HEAD");
    const char *name = git_reference_shorthand(head);
    snprintf(out, cap, "%s", name ? name : "HEAD");
    git_oid_cpy(oid, git_reference_target(head) ? git_reference_target(head) : &(git_oid){{0}});
    git_reference_free(head);
    return 0;
}

static json_t *commit_entry(const git_commit *c)
{
    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof(sha), git_commit_id(c));
    const git_signature *author = git_commit_author(c);
    const char *body = git_commit_body((git_commit *)c);
    return json_pack("{s:s, s:s%, s:s, s:s, s:I, s:s, s:s}", "sha", sha, "short", sha, (size_t)7,
                     "author", author && author->name ? author->name : "", "email",
                     author && author->email ? author->email : "", "time",
                     (json_int_t)git_commit_time(c), "subject",
                     git_commit_summary((git_commit *)c) ? git_commit_summary((git_commit *)c) : "",
                     "body", body ? body : "");
}

typedef int (*commit_fn)(struct reader *r, git_commit *c, void *arg);

static int walk(struct reader *r, const git_oid *tip, int first_parent, commit_fn fn, void *arg)
{
    git_revwalk *w = NULL;
    git_oid oid;
    unsigned n = 0;
    int rc = 0;
    if (git_revwalk_new(&w, r->repo) != 0 || git_revwalk_push(w, tip) != 0) {
        rc = git_fail("walking history");
        goto done;
    }
    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
    if (first_parent)
        git_revwalk_simplify_first_parent(w);
    while (n < r->max_commits && git_revwalk_next(&oid, w) == 0) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, r->repo, &oid) != 0) {
            rc = git_fail("reading a commit");
            goto done;
        }
        rc = fn(r, c, arg);
        git_commit_free(c);
        if (rc)
            goto done;
        n++;
    }
done:
    git_revwalk_free(w);
    return rc;
}

static int add_deploy(struct reader *r, git_commit *c, void *arg)
{
    (void)r;
    json_t *e = commit_entry(c);
    return e ? json_array_append_new(arg, e) : ks_error_set(KS_ENOMEM, "dashboard: out of memory");
}

/* Parses a YAML blob at path in tree; NULL (no error) when absent. */
static int read_yaml_at(json_t **out, struct reader *r, git_tree *tree, const char *path)
{
    git_tree_entry *entry = NULL;
    git_blob *blob = NULL;
    int rc = 0;
    *out = NULL;
    if (git_tree_entry_bypath(&entry, tree, path) != 0)
        return 0;
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
        goto done;
    if (++r->files_read > KS_DASHBOARD_MAX_STATUS_FILES) {
        rc = ks_error_set(KS_ELIMIT, "dashboard: more than %u status files read (limit)",
                          KS_DASHBOARD_MAX_STATUS_FILES);
        goto done;
    }
    if (git_blob_lookup(&blob, r->repo, git_tree_entry_id(entry)) != 0) {
        rc = git_fail(path);
        goto done;
    }
    size_t len = (size_t)git_blob_rawsize(blob);
    if (len > KS_DASHBOARD_MAX_FILE_BYTES) {
        rc = ks_error_set(KS_ELIMIT, "dashboard: %s is %zu bytes (limit %u)", path, len,
                          KS_DASHBOARD_MAX_FILE_BYTES);
        goto done;
    }
    struct ks_yaml_parse_opts po = {.file = path, .max_bytes = KS_DASHBOARD_MAX_FILE_BYTES};
    rc = ks_yaml_parse_one(out, git_blob_rawcontent(blob), len, &po);
done:
    git_blob_free(blob);
    git_tree_entry_free(entry);
    return rc;
}

struct status_ctx {
    json_t *model;
    json_t *plans; /* source sha -> sync document (newest sync for that source) */
};

static json_t *trailers_of(const char *message, json_t **out_objects)
{
    git_message_trailer_array arr = {0};
    json_t *t = json_object();
    *out_objects = json_array();
    if (git_message_trailers(&arr, message) == 0) {
        for (size_t i = 0; i < arr.count; i++) {
            if (strcmp(arr.trailers[i].key, "Keelson-Object") == 0)
                json_array_append_new(*out_objects, json_string(arr.trailers[i].value));
            else if (!json_object_get(
                         t, arr.trailers[i].key)) /* a batch lists its first event first */
                json_object_set_new(t, arr.trailers[i].key, json_string(arr.trailers[i].value));
        }
        git_message_trailer_array_free(&arr);
    }
    return t;
}

/* The body without its trailer block (the lines "Keelson-...: ..."). */
static json_t *body_without_trailers(const char *body)
{
    if (!body)
        return json_string("");
    const char *cut = strstr(body, "\nKeelson-");
    if (strncmp(body, "Keelson-", 8) == 0)
        cut = body;
    size_t len = cut ? (size_t)(cut - body) : strlen(body);
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' '))
        len--;
    return json_stringn(body, len);
}

static int add_status_event(struct reader *r, git_commit *c, void *arg)
{
    struct status_ctx *sc = arg;
    json_t *objects = NULL;
    json_t *trailers = trailers_of(git_commit_message(c), &objects);
    json_t *e = commit_entry(c);
    const char *event = json_string_value(json_object_get(trailers, "Keelson-Event"));
    const char *source = json_string_value(json_object_get(trailers, "Keelson-Source"));
    int rc = 0;
    if (!e || !trailers || !objects) {
        rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
        goto done;
    }
    json_object_set_new(e, "event", json_string(event ? event : "other"));
    json_object_set_new(e, "source", json_string(source ? source : ""));
    json_object_set(e, "objects", objects);
    json_object_set_new(e, "body", body_without_trailers(git_commit_body(c)));
    if (event && strcmp(event, "sync") == 0 && source && !json_object_get(sc->plans, source)) {
        git_tree *tree = NULL;
        json_t *sync = NULL;
        if (git_commit_tree(&tree, c) != 0) {
            rc = git_fail("reading a status tree");
            goto done;
        }
        rc = read_yaml_at(&sync, r, tree, "sync.yaml");
        git_tree_free(tree);
        if (rc)
            goto done;
        if (sync) {
            json_object_set_new(sync, "status_commit",
                                json_string(json_string_value(json_object_get(e, "sha"))));
            json_object_set_new(sync, "status_time", json_integer(git_commit_time(c)));
            json_object_set_new(sc->plans, source, sync);
        }
    }
    rc = json_array_append(json_object_get(sc->model, "events"), e);
done:
    json_decref(e);
    json_decref(trailers);
    json_decref(objects);
    return rc;
}

/* Every blob under dir ("status", "nodes", "drift") of the tip tree, as
 * parsed YAML with "_path" set. */
struct tree_walk_ctx {
    struct reader *r;
    git_tree *root;
    json_t *out;
    const char *prefix;
    int rc;
};

static int collect_cb(const char *root, const git_tree_entry *entry, void *payload)
{
    struct tree_walk_ctx *t = payload;
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
        return 0;
    const char *name = git_tree_entry_name(entry);
    size_t n = strlen(name);
    if (n < 6 || strcmp(name + n - 5, ".yaml") != 0)
        return 0;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s%s", t->prefix, root, name);
    json_t *doc = NULL;
    t->rc = read_yaml_at(&doc, t->r, t->root, path);
    if (t->rc)
        return -1;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    json_object_set_new(doc, "_path", json_string(path));
    json_array_append_new(t->out, doc);
    return 0;
}

static int collect_dir(json_t **out, struct reader *r, git_tree *root, const char *dir)
{
    git_tree_entry *entry = NULL;
    git_tree *sub = NULL;
    struct tree_walk_ctx t = {.r = r, .root = root, .out = json_array(), .prefix = dir};
    int rc = 0;
    if (git_tree_entry_bypath(&entry, root, dir) != 0 ||
        git_tree_entry_type(entry) != GIT_OBJECT_TREE)
        goto done;
    if (git_tree_lookup(&sub, r->repo, git_tree_entry_id(entry)) != 0) {
        rc = git_fail(dir);
        goto done;
    }
    if (git_tree_walk(sub, GIT_TREEWALK_PRE, collect_cb, &t) != 0 && t.rc == 0)
        rc = git_fail(dir);
    else
        rc = t.rc;
done:
    git_tree_free(sub);
    git_tree_entry_free(entry);
    if (rc == 0)
        *out = t.out;
    else
        json_decref(t.out);
    return rc;
}

/* status/<ns>/<kind>/<name>.yaml: identity from the path when the file
 * does not say it. Cluster-scoped objects use "_cluster" as namespace. */
static void identity_from_path(json_t *doc)
{
    const char *path = json_string_value(json_object_get(doc, "_path"));
    char ns[256], kind[256], name[256];
    if (!path || sscanf(path, "status/%255[^/]/%255[^/]/%255[^/]", ns, kind, name) != 3)
        return;
    char *dot = strrchr(name, '.');
    if (dot)
        *dot = '\0';
    if (!json_object_get(doc, "kind"))
        json_object_set_new(doc, "kind", json_string(kind));
    if (!json_object_get(doc, "namespace"))
        json_object_set_new(doc, "namespace", json_string(strcmp(ns, "_cluster") == 0 ? "" : ns));
    if (!json_object_get(doc, "name"))
        json_object_set_new(doc, "name", json_string(name));
}

static int read_current(struct reader *r, json_t *model, const git_oid *tip)
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    json_t *sync = NULL, *objects = NULL, *nodes = NULL, *drift = NULL;
    int rc = 0;
    if (git_commit_lookup(&c, r->repo, tip) != 0 || git_commit_tree(&tree, c) != 0) {
        rc = git_fail("reading the status branch");
        goto done;
    }
    if ((rc = read_yaml_at(&sync, r, tree, "sync.yaml")) ||
        (rc = collect_dir(&objects, r, tree, "status")) ||
        (rc = collect_dir(&nodes, r, tree, "nodes")) ||
        (rc = collect_dir(&drift, r, tree, "drift")))
        goto done;
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o) identity_from_path(o);
    json_object_set_new(model, "sync", sync ? sync : json_null());
    json_object_set_new(model, "objects", objects);
    json_object_set_new(model, "nodes", nodes);
    json_object_set_new(model, "drift", drift);
    sync = objects = nodes = drift = NULL;
done:
    json_decref(sync);
    json_decref(objects);
    json_decref(nodes);
    json_decref(drift);
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

int ks_dashboard_fingerprint(char out[82], struct ks_source *src,
                             const struct ks_dashboard_opts *opts)
{
    git_repository *repo = ks_source_repository(src);
    git_oid deploy = {{0}}, status = {{0}};
    char branch[256];
    int rc = deploy_branch(branch, sizeof(branch), &deploy, repo, opts ? opts->branch : NULL);
    if (rc)
        return rc;
    const char *sb =
        opts && opts->status_branch ? opts->status_branch : KS_DASHBOARD_DEFAULT_STATUS_BRANCH;
    if (resolve_branch(&status, repo, sb) != 0)
        memset(&status, 0, sizeof(status)); /* no status branch yet */
    git_oid_tostr(out, GIT_OID_HEXSZ + 1, &deploy);
    out[GIT_OID_HEXSZ] = '/';
    git_oid_tostr(out + GIT_OID_HEXSZ + 1, GIT_OID_HEXSZ + 1, &status);
    return 0;
}

int ks_dashboard_model_read(json_t **out, struct ks_source *src,
                            const struct ks_dashboard_opts *opts)
{
    struct ks_dashboard_opts o = opts ? *opts : (struct ks_dashboard_opts){0};
    struct reader r = {.repo = ks_source_repository(src),
                       .max_commits =
                           o.max_commits ? o.max_commits : KS_DASHBOARD_DEFAULT_MAX_COMMITS};
    const char *status_branch =
        o.status_branch ? o.status_branch : KS_DASHBOARD_DEFAULT_STATUS_BRANCH;
    char branch[256];
    git_oid deploy_tip, status_tip;
    json_t *model = json_object();
    struct status_ctx sc = {.model = model, .plans = json_object()};
    int rc = 0;
    if (!model || !sc.plans) {
        rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
        goto done;
    }
    if ((rc = deploy_branch(branch, sizeof(branch), &deploy_tip, r.repo, o.branch)))
        goto done;
    json_object_set_new(model, "generated", json_integer(o.now ? o.now : (long long)time(NULL)));
    json_object_set_new(model, "branch", json_string(branch));
    json_object_set_new(model, "status_branch", json_string(status_branch));
    json_object_set_new(model, "deploys", json_array());
    json_object_set_new(model, "events", json_array());
    json_object_set_new(model, "sync", json_null());
    json_object_set_new(model, "objects", json_array());
    json_object_set_new(model, "nodes", json_array());
    json_object_set_new(model, "drift", json_array());
    if ((rc = walk(&r, &deploy_tip, 1, add_deploy, json_object_get(model, "deploys"))))
        goto done;
    if (resolve_branch(&status_tip, r.repo, status_branch) == 0) {
        if ((rc = walk(&r, &status_tip, 0, add_status_event, &sc)) ||
            (rc = read_current(&r, model, &status_tip)))
            goto done;
    }
    json_object_set(model, "plans", sc.plans);
    rc = ks_dashboard_model_derive(model);
done:
    json_decref(sc.plans);
    if (rc == 0)
        *out = model;
    else
        json_decref(model);
    return rc;
}
