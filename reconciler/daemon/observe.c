/*
 * observe.c: what the control plane tells Git and the dashboard (issue 8).
 *
 * After each sync the result goes to the status branch (writeback); after
 * controller passes (at most every OBSERVE_EVERY_MS unless forced) the
 * health and observed state of every object applied from Git, the nodes
 * and the agents' new Drift events. The writeback batches all of it into
 * one commit per window and commits only what changed, so observing often
 * costs JSON building here, not commits. The live dashboard reads the same
 * repository and rebuilds itself when the status branch moves.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/controllers/controllers.h"
#include "reconciler/controllers/internal.h"
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/writeback/writeback.h"

#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#define OBSERVE_EVERY_MS 2000
#define EVENTS_READ 512

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

int ks_observer_open(struct ks_observer *ob, const struct ks_observer_opts *o)
{
    memset(ob, 0, sizeof *ob);
    ob->last_event_id = -1;
    ob->drift_pr = o->drift_pr && o->writeback;
    ob->keys = json_object();
    const char *gitdir = git_repository_path(ks_source_repository(o->src));
    const char *branch = o->status_branch ? o->status_branch : KS_WRITEBACK_DEFAULT_BRANCH;
    char local_ref[300];
    int rc = 0;
    if (!ob->keys)
        return ks_error_set(KS_ENOMEM, "observer: out of memory");
    if (o->writeback) {
        bool mirror = ks_source_is_mirror(o->src) != 0;
        snprintf(local_ref, sizeof local_ref, "refs/keelson/%s", branch);
        struct ks_writeback_opts wo = {.repo_path = gitdir,
                                       .branch = branch,
                                       .local_ref = mirror ? local_ref : NULL,
                                       /* --status-remote wins; a mirror's own
                                        * remote is the source's origin */
                                       .remote = o->push_remote ? o->push_remote
                                                 : mirror       ? "origin"
                                                                : NULL,
                                       .interval_ms = o->interval_ms,
                                       .https_user = getenv("KEELSON_GIT_USER"),
                                       .https_token = getenv("KEELSON_GIT_TOKEN"),
                                       .ssh_key = getenv("KEELSON_GIT_SSH_KEY"),
                                       .ca_file = getenv("KEELSON_GIT_CA_FILE"),
                                       .drift_pr = o->drift_pr,
                                       .deploy_branch = o->branch};
        if ((rc = ks_writeback_new(&ob->wb, &wo)) ||
            (o->start_thread && (rc = ks_writeback_start(ob->wb))))
            goto done;
    }
    struct ks_dashboard_opts dopts = {.branch = o->branch, .status_branch = branch};
    rc = ks_dashboard_live_new(&ob->dashboard, gitdir, &dopts);
done:
    if (rc)
        ks_observer_close(ob);
    return rc;
}

void ks_observer_sync(struct ks_observer *ob, const struct ks_sync_result *r)
{
    if (r->outcome == KS_SYNC_APPLIED && r->commit[0])
        snprintf(ob->source, sizeof ob->source, "%s", r->commit);
    if (!ob->wb || r->outcome == KS_SYNC_UNCHANGED)
        return;
    json_t *summary = NULL;
    if (r->plan)
        summary =
            json_pack("{s:I, s:I, s:I, s:I}", "create", (json_int_t)r->plan->n_create, "update",
                      (json_int_t)r->plan->n_update, "delete", (json_int_t)r->plan->n_delete,
                      "unchanged", (json_int_t)r->plan->n_unchanged);
    struct ks_writeback_sync s = {.source_sha = r->commit[0] ? r->commit : NULL,
                                  .result = r->outcome == KS_SYNC_FAILED ? "failed" : "ok",
                                  .summary = summary,
                                  .error = r->outcome == KS_SYNC_FAILED ? r->error : NULL};
    if (ks_writeback_record_sync(ob->wb, &s))
        ks_log(KS_LOG_WARN, "writeback: sync not recorded", "error", ks_error_last(), NULL);
    json_decref(summary);
}

/* {"ns\x1fkey=value": [pods]} over every label of every pod (borrowed
 * references), built once per observation so that matching 500 workloads
 * against 5,000 pods looks up candidates instead of walking every pod for
 * every workload. */
static json_t *index_pods(const json_t *pods)
{
    json_t *index = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *pns = str_at(p, "metadata", "namespace"), *k;
        json_t *labels = json_object_get(json_object_get(p, "metadata"), "labels"), *v;
        json_object_foreach(labels, k, v)
        {
            char key[1024];
            if (!pns || !json_is_string(v))
                continue;
            snprintf(key, sizeof key, "%s\x1f%s=%s", pns, k, json_string_value(v));
            json_t *bucket = json_object_get(index, key);
            if (!bucket) {
                bucket = json_array();
                json_object_set_new(index, key, bucket);
            }
            json_array_append(bucket, p);
        }
    }
    return index;
}

/* Pods of a namespace that a workload's spec.selector.matchLabels selects:
 * the candidates carrying its first pair (from the index), checked for all. */
static json_t *pods_of(const json_t *obj, const json_t *index)
{
    const json_t *match =
        json_object_get(json_object_get(json_object_get(obj, "spec"), "selector"), "matchLabels");
    const char *ns = str_at(obj, "metadata", "namespace");
    json_t *out = json_array();
    size_t i;
    json_t *p;
    if (!ns || !json_is_object(match) || json_object_size(match) == 0)
        return out;
    void *first = json_object_iter((json_t *)match);
    const json_t *fv = json_object_iter_value(first);
    if (!json_is_string(fv))
        return out; /* a label value is a string: nothing matches */
    char key[1024];
    snprintf(key, sizeof key, "%s\x1f%s=%s", ns, json_object_iter_key(first),
             json_string_value(fv));
    json_array_foreach(json_object_get(index, key), i, p)
    {
        const json_t *labels = json_object_get(json_object_get(p, "metadata"), "labels");
        const char *k;
        json_t *v;
        bool ok = true;
        json_object_foreach((json_t *)match, k,
                            v) if (ok && !json_equal(json_object_get(labels, k), v)) ok = false;
        if (!ok)
            continue;
        const char *node = str_at(p, "spec", "nodeName");
        const char *phase = str_at(p, "status", "phase");
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "name",
                                             str_at(p, "metadata", "name"), "node",
                                             node ? node : "", "phase", phase ? phase : "Pending"));
    }
    return out;
}

static json_t *images_of(const json_t *obj)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *tmpl = json_object_get(json_object_get(spec, "template"), "spec");
    const json_t *ctrs = json_object_get(tmpl ? tmpl : spec, "containers");
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(ctrs, i, c)
    {
        const char *image = json_string_value(json_object_get(c, "image"));
        if (image)
            json_array_append_new(out, json_string(image));
    }
    return out;
}

/* The observed state written to status/<ns>/<kind>/<name>.yaml. */
static json_t *observed_of(const json_t *obj, const json_t *pod_index)
{
    json_t *o = json_object();
    const json_t *status = json_object_get(obj, "status");
    static const char *const counts[] = {"replicas",
                                         "readyReplicas",
                                         "availableReplicas",
                                         "updatedReplicas",
                                         "currentNumberScheduled",
                                         "numberReady",
                                         "desiredNumberScheduled",
                                         "active",
                                         "succeeded",
                                         "failed",
                                         NULL};
    json_t *replicas = json_object();
    for (const char *const *k = counts; *k; k++)
        if (json_is_integer(json_object_get(status, *k)))
            json_object_set(replicas, *k, json_object_get(status, *k));
    if (json_is_integer(json_object_get(json_object_get(obj, "spec"), "replicas")))
        json_object_set(replicas, "desired",
                        json_object_get(json_object_get(obj, "spec"), "replicas"));
    if (json_object_size(replicas))
        json_object_set(o, "replicas", replicas);
    json_decref(replicas);
    json_t *mine = pods_of(obj, pod_index);
    if (json_array_size(mine))
        json_object_set(o, "pods", mine);
    json_decref(mine);
    json_t *images = images_of(obj);
    if (json_array_size(images))
        json_object_set(o, "images", images);
    json_decref(images);
    return o;
}

static int list_kind(json_t **out, struct ks_store *store, const char *kind)
{
    struct ks_store_list_opts lo = {.kind = kind, .shared = true}; /* read only */
    return ks_store_list(out, store, &lo);
}

static void observe_objects(struct ks_observer *ob, struct ks_store *store, const json_t *pods)
{
    json_t *managed = NULL, *seen = json_object();
    size_t i;
    json_t *m;
    if (ks_store_list_managed(&managed, store)) {
        ks_log(KS_LOG_WARN, "observer: cannot list objects", "error", ks_error_last(), NULL);
        json_decref(seen);
        return;
    }
    json_t *pod_index = index_pods(pods);
    json_array_foreach(managed, i, m)
    {
        const char *kind = str_at(m, "kind", NULL), *ns = str_at(m, "namespace", NULL),
                   *name = str_at(m, "name", NULL);
        struct ks_store_key key = {.kind = kind, .namespace_ = ns, .name = name};
        json_t *obj = NULL;
        if (!kind || !name || ks_store_get(&obj, store, &key))
            continue;
        char reason[512] = "", id[800];
        enum ks_health_status h = ks_health_of(obj, reason, sizeof reason);
        json_t *observed = observed_of(obj, pod_index);
        snprintf(id, sizeof id, "%s/%s/%s", kind, ns ? ns : "", name);
        json_object_set_new(seen, id, json_true());
        if (ks_writeback_record_health(ob->wb, kind, ns, name, ks_health_name(h),
                                       reason[0] ? reason : NULL,
                                       ob->source[0] ? ob->source : NULL) ||
            ks_writeback_set_object_status(ob->wb, kind, ns, name, observed))
            ks_log(KS_LOG_WARN, "writeback: object status not recorded", "object", id, "error",
                   ks_error_last(), NULL);
        json_decref(observed);
        json_decref(obj);
    }
    /* objects gone from Git lose their status file */
    const char *id;
    json_t *v;
    json_object_foreach(ob->keys, id, v)
    {
        if (json_object_get(seen, id))
            continue;
        char kind[256], ns[256], name[256];
        const char *a = strchr(id, '/'), *b = a ? strchr(a + 1, '/') : NULL;
        if (!a || !b || (size_t)(a - id) >= sizeof kind || (size_t)(b - a - 1) >= sizeof ns)
            continue;
        snprintf(kind, sizeof kind, "%.*s", (int)(a - id), id);
        snprintf(ns, sizeof ns, "%.*s", (int)(b - a - 1), a + 1);
        snprintf(name, sizeof name, "%s", b + 1);
        ks_writeback_set_object_status(ob->wb, kind, ns, name, NULL);
    }
    json_decref(ob->keys);
    ob->keys = seen;
    json_decref(managed);
    json_decref(pod_index);
}

static void observe_nodes(struct ks_observer *ob, struct ks_store *store, const json_t *pods)
{
    json_t *nodes = NULL;
    size_t i, k;
    json_t *n, *p;
    if (list_kind(&nodes, store, "Node"))
        return;
    json_array_foreach(nodes, i, n)
    {
        const char *name = str_at(n, "metadata", "name");
        json_t *mine = json_array();
        json_array_foreach(pods, k, p)
        {
            const char *node = str_at(p, "spec", "nodeName");
            if (node && name && strcmp(node, name) == 0)
                json_array_append_new(mine,
                                      json_sprintf("%s/%s", str_at(p, "metadata", "namespace"),
                                                   str_at(p, "metadata", "name")));
        }
        json_t *status = json_object_get(n, "status");
        json_t *doc = json_pack(
            "{s:s, s:b, s:O*, s:O*, s:o}", "name", name ? name : "", "ready", ks_node_is_ready(n),
            "capacity", json_object_get(status, "capacity"), "labels",
            json_object_get(json_object_get(n, "metadata"), "labels"), "pods", mine);
        if (name && doc && ks_writeback_set_node(ob->wb, name, doc))
            ks_log(KS_LOG_WARN, "writeback: node not recorded", "node", name, "error",
                   ks_error_last(), NULL);
        json_decref(doc);
    }
    json_decref(nodes);
}

/* The object in Git a pod comes from: the pod itself when it carries
 * keelson.io/source, else up its controller references (Pod -> ReplicaSet
 * -> Deployment, Pod -> Job -> CronJob, ...). New reference or NULL. */
static json_t *owner_in_git(struct ks_store *store, json_t *obj)
{
    json_incref(obj);
    for (int depth = 0; obj && depth < 4; depth++) {
        if (ks_ctl_str(ks_ctl_at(obj, "metadata", "annotations"), "keelson.io/source", NULL))
            return obj;
        const json_t *refs = ks_ctl_at(obj, "metadata", "ownerReferences"), *ref, *pick = NULL;
        size_t i;
        json_array_foreach(refs, i, ref)
        {
            if (!pick || json_is_true(json_object_get(ref, "controller")))
                pick = ref;
        }
        struct ks_store_key key = {json_string_value(json_object_get(pick, "kind")),
                                   ks_ctl_str(obj, "metadata", "namespace"),
                                   json_string_value(json_object_get(pick, "name"))};
        json_t *next = NULL;
        if (!key.kind || !key.name || !key.namespace_ || ks_store_get(&next, store, &key))
            next = NULL;
        json_decref(obj);
        obj = next;
    }
    json_decref(obj);
    return NULL;
}

/* --drift-pr: a drift the agent left alone gets its own branch. */
static void drift_branch(struct ks_observer *ob, struct ks_store *store, const json_t *e)
{
    const json_t *drift = json_object_get(e, "drift");
    const char *action = json_string_value(json_object_get(drift, "action"));
    const json_t *healed = json_object_get(drift, "healed");
    if (!action || (strcmp(action, "reported") != 0 && !json_is_false(healed)))
        return;
    struct ks_store_key key = {"Pod", str_at(e, "object", "namespace"),
                               str_at(e, "object", "name")};
    json_t *pod = NULL, *owner = NULL;
    char *base = NULL;
    if (!key.namespace_ || !key.name || ks_store_get(&pod, store, &key)) {
        ks_log(KS_LOG_INFO, "drift branch: the pod is gone, nothing to propose", "pod",
               key.name ? key.name : "", NULL);
        return;
    }
    const char *uid = str_at(e, "object", "uid");
    if (!uid)
        uid = ks_ctl_str(pod, "metadata", "uid");
    owner = owner_in_git(store, pod);
    if (ks_store_meta_get(&base, store, "applied_commit") && owner) {
        const char *c =
            ks_ctl_str(ks_ctl_at(owner, "metadata", "annotations"), "keelson.io/commit", NULL);
        base = c ? strdup(c) : NULL;
    }
    struct ks_writeback_drift_pr req = {
        .event = e,
        .base_sha = base,
        .pod_uid = uid,
        .owner_kind = owner ? ks_ctl_str(owner, "kind", NULL) : NULL,
        .owner_ns = owner ? ks_ctl_str(owner, "metadata", "namespace") : NULL,
        .owner_name = owner ? ks_ctl_str(owner, "metadata", "name") : NULL,
        .owner_source = owner ? ks_ctl_str(ks_ctl_at(owner, "metadata", "annotations"),
                                           "keelson.io/source", NULL)
                              : NULL};
    if (ks_writeback_record_drift_pr(ob->wb, &req))
        ks_log(KS_LOG_WARN, "drift branch not recorded", "pod", key.name, "error", ks_error_last(),
               NULL);
    free(base);
    json_decref(owner);
    json_decref(pod);
}

/* Replaces a pod: a controlled pod is deleted and its controller makes a
 * fresh one; a bare pod from Git is deleted and put back as new in one
 * transaction (a new uid: the agent replaces its containers), since the next
 * sync would not recreate it while Git did not change. */
static int replace_pod(bool *changed, struct ks_store *store, const json_t *pod)
{
    bool controlled = false;
    size_t i;
    json_t *ref;
    json_array_foreach(ks_ctl_at(pod, "metadata", "ownerReferences"), i, ref)
    {
        controlled = controlled || json_is_true(json_object_get(ref, "controller"));
    }
    if (controlled)
        return ks_ctl_delete(changed, store, pod);
    json_t *fresh = json_deep_copy(pod);
    json_t *meta = json_object_get(fresh, "metadata");
    int rc = fresh && meta ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc == 0) {
        static const char *const drop[] = {"uid", "resourceVersion", "creationTimestamp",
                                           "deletionTimestamp"};
        for (size_t k = 0; k < sizeof drop / sizeof *drop; k++)
            json_object_del(meta, drop[k]);
        json_object_del(fresh, "status");
        rc = ks_store_begin(store);
    }
    if (rc == 0) {
        if ((rc = ks_ctl_delete(changed, store, pod)) == 0 &&
            (rc = ks_store_put(NULL, store, fresh, KS_STORE_MUST_NOT_EXIST)) == 0)
            rc = ks_store_commit(store);
        else
            ks_store_rollback(store);
    }
    json_decref(fresh);
    return rc;
}

/* --drift-pr: branches deleted without being merged heal their drift: the
 * pod is replaced as `kubectl delete pod` would have its controller do (only
 * the very pod the branch was about: same uid). */
static int heal_closed(struct ks_observer *ob, struct ks_store *store)
{
    json_t *closed = NULL, *c;
    size_t i;
    int healed = 0;
    if (ks_writeback_drift_closed(ob->wb, &closed))
        return 0;
    json_array_foreach(closed, i, c)
    {
        const char *branch = str_at(c, "branch", NULL);
        struct ks_store_key key = {"Pod", str_at(c, "namespace", NULL), str_at(c, "name", NULL)};
        json_t *pod = NULL;
        bool changed = false;
        if (ks_store_get(&pod, store, &key) ||
            strcmp(ks_ctl_str(pod, "metadata", "uid") ? ks_ctl_str(pod, "metadata", "uid") : "",
                   str_at(c, "uid", NULL)) != 0) {
            ks_log(KS_LOG_INFO, "drift branch closed; the pod was already replaced", "branch",
                   branch, NULL);
            json_decref(pod);
            continue;
        }
        if (replace_pod(&changed, store, pod)) {
            ks_log(KS_LOG_WARN, "drift branch closed; replacing the pod failed", "branch", branch,
                   "error", ks_error_last(), NULL);
        } else if (changed) {
            healed++;
            ks_log(KS_LOG_INFO, "drift branch closed without merging: pod replaced", "branch",
                   branch, "pod", key.name, NULL);
            json_t *ev = json_pack(
                "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:b}}", "type", "Normal",
                "reason", "Drift", "message", "drift branch closed without merging; pod replaced",
                "node",
                ks_ctl_str(pod, "spec", "nodeName") ? ks_ctl_str(pod, "spec", "nodeName") : "",
                "object", "kind", "Pod", "namespace", key.namespace_, "name", key.name, "drift",
                "what", "drift-branch-closed", "found", branch, "action", "replaced", "healed", 1);
            if (ev)
                ks_writeback_record_drift(ob->wb, ev);
            json_decref(ev);
        }
        json_decref(pod);
    }
    json_decref(closed);
    return healed;
}

static void observe_drift(struct ks_observer *ob, struct ks_store *store)
{
    json_t *events = NULL;
    size_t i;
    json_t *e;
    if (ks_store_events_list(&events, store, EVENTS_READ))
        return;
    int64_t newest = ob->last_event_id;
    json_array_foreach(events, i, e)
    {
        int64_t id = json_integer_value(json_object_get(e, "id"));
        if (id > newest)
            newest = id;
        const char *reason = json_string_value(json_object_get(e, "reason"));
        /* the first look only learns where the log is: older drift was
         * recorded by the run that saw it */
        if (ob->last_event_id < 0 || id <= ob->last_event_id || !reason ||
            strcmp(reason, "Drift") != 0)
            continue;
        if (ks_writeback_record_drift(ob->wb, e))
            ks_log(KS_LOG_WARN, "writeback: drift not recorded", "error", ks_error_last(), NULL);
        if (ob->drift_pr)
            drift_branch(ob, store, e);
    }
    ob->last_event_id = newest < 0 ? 0 : newest;
    json_decref(events);
}

int ks_observer_store(struct ks_observer *ob, struct ks_store *store, int64_t now_ms, bool force)
{
    if (!ob->wb || (!force && now_ms - ob->last_observe_ms < OBSERVE_EVERY_MS))
        return 0;
    ob->last_observe_ms = now_ms;
    json_t *pods = NULL;
    if (list_kind(&pods, store, "Pod"))
        return 0;
    observe_objects(ob, store, pods);
    observe_nodes(ob, store, pods);
    observe_drift(ob, store);
    json_decref(pods);
    return ob->drift_pr ? heal_closed(ob, store) : 0;
}

int ks_observer_flush(struct ks_observer *ob)
{
    if (!ob->wb)
        return 0;
    int rc = ks_writeback_flush(ob->wb);
    if (rc)
        ks_log(KS_LOG_WARN, "writeback: not all status commits were pushed; they stay queued",
               "error", ks_error_last(), NULL);
    return rc;
}

int ks_observer_page(void *ud, const char *path, char **out_body, size_t *out_len,
                     const char **out_type)
{
    struct ks_observer *ob = ud;
    if (!ob || !ob->dashboard)
        return ks_error_set(KS_ENOTFOUND, "no dashboard");
    return ks_dashboard_live_get(out_body, out_len, out_type, ob->dashboard, path);
}

void ks_observer_close(struct ks_observer *ob)
{
    ks_writeback_free(ob->wb);
    ks_dashboard_live_free(ob->dashboard);
    json_decref(ob->keys);
    memset(ob, 0, sizeof *ob);
}
