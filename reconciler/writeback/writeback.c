/*
 * writeback.c: batching, file contents and commit messages of the status
 * branch (writeback.h); the Git work itself is in gitrepo.c.
 *
 * Recording only touches memory under one mutex: the observed state of each
 * object (so a health transition and a replica count can be written into
 * one file by different callers), the files to write in the next commit
 * (path -> document, or null to remove), and the events of the window. A
 * tick whose window has passed takes all of that at once, renders the YAML
 * outside the lock, lets Git tell which files really changed, keeps the
 * events whose file changed (and every drift), and makes one commit whose
 * message lists them. When the commit fails, what was taken goes back, so
 * the next tick tries again with nothing lost.
 */
#include "reconciler/writeback/writeback.h"

#include "core/deadline.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "core/textdiff.h"
#include "core/yaml.h"
#include "reconciler/controllers/internal.h"
#include "reconciler/writeback/internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_LEN 253
#define SUBJECT_MAX 200
#define ERROR_LINE_MAX 160
#define SYNC_CHANGES_MAX 1000
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define THREAD_WAIT_MAX_MS 1000

struct ks_writeback {
    struct ks_wbgit *git;
    long interval_ms;
    size_t max_objects, max_file_bytes, max_message_bytes, max_events;
    bool has_remote;

    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cond;
    json_t *objects;        /* status path -> {"id": {kind, namespace, name}, "observed", "health",
                               "seeded"} */
    json_t *pending;        /* path -> document, null (remove) or true (compose from objects) */
    json_t *events;         /* [{"type", "line", "source", "objects": [...], "path", "always"}] */
    uint64_t dropped;       /* events over max_events in this window */
    uint64_t dropped_drift; /* of which drift (always recorded) */
    size_t inflight;        /* events taken by a commit in progress */
    int64_t window_start;   /* 0: nothing pending */
    int64_t next_push;      /* earliest next push attempt */
    long backoff_ms;
    bool need_push;
    struct ks_writeback_stats stats;
    bool stop, thread_started;
    pthread_t thread;

    pthread_mutex_t work; /* serialises the Git work (tick, flush) */

    struct ks_driftpr *drift; /* --drift-pr; NULL: off */
    long drift_check_ms;
    int64_t drift_next; /* (mu) when the drift branches are next worked on; 0: not due */
};

int64_t ks_writeback_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_writeback_new(struct ks_writeback **out, const struct ks_writeback_opts *opts)
{
    if (!opts || !opts->repo_path || !*opts->repo_path)
        return ks_error_set(KS_EINVALID, "writeback: no repository given");
    struct ks_writeback_opts o = *opts;
    o.branch = o.branch && *o.branch ? o.branch : KS_WRITEBACK_DEFAULT_BRANCH;
    o.author_name =
        o.author_name && *o.author_name ? o.author_name : KS_WRITEBACK_DEFAULT_AUTHOR_NAME;
    o.author_email =
        o.author_email && *o.author_email ? o.author_email : KS_WRITEBACK_DEFAULT_AUTHOR_EMAIL;
    o.remote = o.remote && *o.remote ? o.remote : NULL;
    o.max_queue = o.max_queue ? o.max_queue : KS_WRITEBACK_DEFAULT_MAX_QUEUE;
    o.max_message_bytes =
        o.max_message_bytes ? o.max_message_bytes : KS_WRITEBACK_DEFAULT_MAX_MESSAGE_BYTES;
    if (o.max_message_bytes < 1024)
        return ks_error_set(KS_EINVALID, "writeback: max_message_bytes must be at least 1024");
    struct ks_writeback *wb = calloc(1, sizeof *wb);
    if (!wb)
        return ks_error_set(KS_ENOMEM, "out of memory");
    wb->interval_ms = o.interval_ms ? o.interval_ms : KS_WRITEBACK_DEFAULT_INTERVAL_MS;
    wb->max_objects = o.max_objects ? o.max_objects : KS_WRITEBACK_DEFAULT_MAX_OBJECTS;
    wb->max_file_bytes = o.max_file_bytes ? o.max_file_bytes : KS_WRITEBACK_DEFAULT_MAX_FILE_BYTES;
    wb->max_message_bytes = o.max_message_bytes;
    wb->max_events = o.max_events ? o.max_events : KS_WRITEBACK_DEFAULT_MAX_EVENTS;
    wb->has_remote = o.remote != NULL;
    wb->need_push = true; /* a previous run may have left commits queued */
    wb->objects = json_object();
    wb->pending = json_object();
    wb->events = json_array();
    pthread_mutex_init(&wb->mu, NULL);
    pthread_mutex_init(&wb->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wb->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc =
        wb->objects && wb->pending && wb->events ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc == 0 && o.drift_pr &&
        (strcmp(o.branch, "keelson/drift") == 0 ||
         ks_str_has_prefix(o.branch, KS_WRITEBACK_DRIFT_PREFIX)))
        rc = ks_error_set(KS_EINVALID,
                          "writeback: the status branch \"%s\" collides with the drift branches "
                          "(%s...) of --drift-pr",
                          o.branch, KS_WRITEBACK_DRIFT_PREFIX);
    if (rc == 0)
        rc = ks_wbgit_open(&wb->git, &o);
    if (rc == 0 && o.drift_pr) {
        rc = ks_driftpr_new(&wb->drift, wb->git, &o);
        wb->drift_check_ms = o.drift_check_ms > 0 ? o.drift_check_ms
                             : o.interval_ms > 0  ? o.interval_ms
                                                  : KS_WRITEBACK_DEFAULT_INTERVAL_MS;
        wb->drift_next = 1; /* look at once which branches still exist */
    }
    if (rc) {
        ks_writeback_free(wb);
        return rc;
    }
    ks_wbgit_tip(wb->stats.tip, wb->git);
    *out = wb;
    return 0;
}

void ks_writeback_free(struct ks_writeback *wb)
{
    if (!wb)
        return;
    pthread_mutex_lock(&wb->mu);
    wb->stop = true;
    bool joined = wb->thread_started;
    pthread_cond_broadcast(&wb->cond);
    pthread_mutex_unlock(&wb->mu);
    if (joined)
        pthread_join(wb->thread, NULL);
    ks_driftpr_free(wb->drift);
    ks_wbgit_close(wb->git);
    json_decref(wb->objects);
    json_decref(wb->pending);
    json_decref(wb->events);
    pthread_cond_destroy(&wb->cond);
    pthread_mutex_destroy(&wb->mu);
    pthread_mutex_destroy(&wb->work);
    free(wb);
}

/* ---- input checks and paths ---- */

/* A name that becomes one path component. */
static int check_name(const char *what, const char *s)
{
    if (!s || !*s)
        return ks_error_set(KS_EINVALID, "writeback: %s is empty", what);
    size_t len = strlen(s);
    if (len > NAME_MAX_LEN)
        return ks_error_set(KS_ELIMIT, "writeback: %s is %zu bytes, over the limit of %d", what,
                            len, NAME_MAX_LEN);
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return ks_error_set(KS_EINVALID, "writeback: %s \"%s\" is not a valid name", what, s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return ks_error_set(KS_EINVALID,
                                "writeback: %s \"%s\" holds a character not allowed "
                                "in a file name",
                                what, s);
    return 0;
}

static const char *ns_dir(const char *ns)
{
    return ns && *ns ? ns : "_cluster";
}

static int check_object(const char *kind, const char *ns, const char *name)
{
    int rc = check_name("kind", kind);
    if (rc == 0 && ns && *ns)
        rc = check_name("namespace", ns);
    if (rc == 0)
        rc = check_name("name", name);
    return rc;
}

/* "Kind/ns/name", or "Kind/name" for cluster-scoped objects. */
static char *object_ref(const char *kind, const char *ns, const char *name)
{
    return ns && *ns ? ks_strdupf("%s/%s/%s", kind, ns, name) : ks_strdupf("%s/%s", kind, name);
}

static void now_text(char out[KS_CTL_TIME_LEN])
{
    ks_ctl_time_format(out, (int64_t)time(NULL));
}

/* ---- recording (under mu) ---- */

static void open_window(struct ks_writeback *wb)
{
    if (!wb->window_start) {
        wb->window_start = ks_writeback_clock_ms();
        if (wb->window_start == 0)
            wb->window_start = 1;
        pthread_cond_broadcast(&wb->cond);
    }
}

/* Stages a file; doc reference stolen (json_null() removes). */
static int stage_file(struct ks_writeback *wb, const char *path, json_t *doc)
{
    if (!json_object_get(wb->pending, path) && json_object_size(wb->pending) >= wb->max_objects) {
        json_decref(doc);
        return ks_error_set(KS_ELIMIT,
                            "writeback: more than %zu files changed in one window (object limit)",
                            wb->max_objects);
    }
    if (json_object_set_new(wb->pending, path, doc) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    open_window(wb);
    return 0;
}

/* Adds an event; objects reference stolen (array of "Kind/ns/name"). */
static int add_event(struct ks_writeback *wb, const char *type, const char *line,
                     const char *source, json_t *objects, const char *path, bool always)
{
    if (json_array_size(wb->events) >= wb->max_events) {
        wb->dropped++;
        wb->dropped_drift += always ? 1 : 0;
        wb->stats.events_dropped++;
        json_decref(objects);
        open_window(wb);
        return 0;
    }
    json_t *e = json_pack("{s:s, s:s, s:o, s:b}", "type", type, "line", line, "objects",
                          objects ? objects : json_array(), "always", always);
    if (e && source && *source)
        json_object_set_new(e, "source", json_string(source));
    if (e && path)
        json_object_set_new(e, "path", json_string(path));
    if (!e || json_array_append_new(wb->events, e) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    open_window(wb);
    return 0;
}

static const char *short_sha(char out[8], const char *sha)
{
    snprintf(out, 8, "%s", sha ? sha : "?");
    return out;
}

static void sync_line(struct ks_buf *b, const struct ks_writeback_sync *s)
{
    char sh[8];
    short_sha(sh, s->source_sha);
    if (strcmp(s->result, "ok") != 0) {
        const char *err = s->error && *s->error ? s->error : s->result;
        size_t n = strcspn(err, "\n");
        ks_buf_printf(b, "sync%s%s failed: %.*s%s", s->source_sha && *s->source_sha ? " " : "",
                      s->source_sha && *s->source_sha ? sh : "",
                      (int)(n > ERROR_LINE_MAX ? ERROR_LINE_MAX : n), err,
                      n > ERROR_LINE_MAX ? "..." : "");
        return;
    }
    static const char *const keys[] = {"create", "update", "delete"};
    static const char *const words[] = {"created", "updated", "deleted"};
    int any = 0;
    ks_buf_printf(b, "sync %s: ", sh);
    for (size_t i = 0; i < 3; i++) {
        json_int_t n = json_integer_value(json_object_get(s->summary, keys[i]));
        if (n > 0)
            ks_buf_printf(b, "%s%" JSON_INTEGER_FORMAT " %s", any++ ? ", " : "applied ", n,
                          words[i]);
    }
    if (!any)
        ks_buf_puts(b, "in sync, nothing to change");
}

int ks_writeback_record_sync(struct ks_writeback *wb, const struct ks_writeback_sync *s)
{
    if (!s || !s->result || (strcmp(s->result, "ok") != 0 && strcmp(s->result, "failed") != 0))
        return ks_error_set(KS_EINVALID, "writeback: a sync needs a result ok|failed");
    bool has_sha = s->source_sha && *s->source_sha;
    if (!has_sha && strcmp(s->result, "ok") == 0)
        return ks_error_set(KS_EINVALID, "writeback: a successful sync needs its source commit");
    if (s->summary && !json_is_object(s->summary))
        return ks_error_set(KS_EINVALID, "writeback: the sync summary must be an object");
    json_t *doc =
        json_pack("{s:s, s:s}", "source", has_sha ? s->source_sha : "", "result", s->result);
    json_t *objects = json_array();
    json_t *summary = json_object(), *changes = json_array();
    struct ks_buf line;
    ks_buf_init(&line, 1024);
    int rc = 0;
    if (!doc || !objects || !summary || !changes) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    size_t omitted = 0;
    json_object_foreach((json_t *)s->summary, key, v)
    {
        if (strcmp(key, "changes") != 0 && json_is_integer(v))
            json_object_set(summary, key, v);
    }
    json_t *list = json_object_get(s->summary, "changes");
    size_t i;
    json_array_foreach(list, i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *ns = json_string_value(json_object_get(v, "namespace"));
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *action = json_string_value(json_object_get(v, "action"));
        if (!kind || !name)
            continue;
        if (json_array_size(changes) >= SYNC_CHANGES_MAX) {
            omitted++;
            continue;
        }
        char *ref = object_ref(kind, ns, name);
        if (!ref)
            continue;
        json_array_append_new(
            changes, json_pack("{s:s, s:s}", "action", action ? action : "?", "object", ref));
        json_array_append_new(objects, json_string(ref));
        free(ref);
    }
    json_object_set(doc, "summary", summary);
    if (json_array_size(changes))
        json_object_set(doc, "changes", changes);
    if (omitted)
        json_object_set_new(doc, "changesOmitted", json_integer((json_int_t)omitted));
    if (s->error && *s->error) {
        size_t n = strlen(s->error);
        json_object_set_new(doc, "error", json_stringn(s->error, n > 4096 ? 4096 : n));
    }
    sync_line(&line, s);
    pthread_mutex_lock(&wb->mu);
    rc = stage_file(wb, "sync.yaml", doc);
    doc = NULL;
    if (rc == 0) {
        rc = add_event(wb, "sync", ks_buf_data(&line), s->source_sha, objects, "sync.yaml", false);
        objects = NULL;
    }
    pthread_mutex_unlock(&wb->mu);
done:
    ks_buf_release(&line);
    json_decref(doc);
    json_decref(objects);
    json_decref(summary);
    json_decref(changes);
    return rc;
}

/* When the agent sends both "desired" and "found", doc gets "diff": a
 * unified diff of their YAML (desired -> observed), so the file shows what
 * differed at a glance. */
static int drift_diff(json_t *doc, const json_t *drift, size_t limit)
{
    json_t *desired = json_object_get(drift, "desired");
    json_t *found = json_object_get(drift, "found");
    if (!desired || !found)
        return 0;
    struct ks_buf a, b, d;
    ks_buf_init(&a, limit);
    ks_buf_init(&b, limit);
    ks_buf_init(&d, limit);
    /* a scalar is shown as "value: ..." */
    json_t *wa = json_pack("{s:O}", "value", desired), *wb = json_pack("{s:O}", "value", found);
    int rc = wa && wb ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc == 0)
        rc = ks_yaml_emit(&a, json_is_object(desired) || json_is_array(desired) ? desired : wa,
                          NULL);
    if (rc == 0)
        rc = ks_yaml_emit(&b, json_is_object(found) || json_is_array(found) ? found : wb, NULL);
    if (rc == 0) {
        ks_buf_puts(&d, "--- desired\n+++ observed\n");
        rc = ks_textdiff_unified(&d, ks_buf_data(&a), ks_buf_data(&b), 3);
    }
    if (rc == 0 && ks_buf_len(&d) > strlen("--- desired\n+++ observed\n"))
        json_object_set_new(doc, "diff", json_stringn(ks_buf_data(&d), ks_buf_len(&d)));
    if (rc == KS_ELIMIT || rc == KS_EINVALID) {
        json_object_set_new(doc, "diff", json_string("(not shown: too large or not text)"));
        rc = 0;
    }
    json_decref(wa);
    json_decref(wb);
    ks_buf_release(&a);
    ks_buf_release(&b);
    ks_buf_release(&d);
    return rc;
}

static bool drift_healed(const json_t *drift, const char *action)
{
    json_t *h = json_object_get(drift, "healed");
    if (json_is_boolean(h))
        return json_is_true(h);
    return action && *action && strcmp(action, "reported") != 0 && strcmp(action, "none") != 0;
}

int ks_writeback_record_drift(struct ks_writeback *wb, const json_t *event)
{
    json_t *obj = json_object_get(event, "object");
    json_t *drift = json_object_get(event, "drift");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *ns = json_string_value(json_object_get(obj, "namespace"));
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *node = json_string_value(json_object_get(event, "node"));
    const char *message = json_string_value(json_object_get(event, "message"));
    const char *when = json_string_value(json_object_get(event, "time"));
    const char *what = json_string_value(json_object_get(drift, "what"));
    const char *container = json_string_value(json_object_get(drift, "container"));
    const char *action = json_string_value(json_object_get(drift, "action"));
    int rc = 0;
    if (!json_is_object(event) || !json_is_object(obj))
        return ks_error_set(KS_EINVALID, "writeback: a drift event needs an \"object\"");
    if ((rc = check_object(kind ? kind : "Pod", ns, name)))
        return rc;
    if (drift && !json_is_object(drift))
        return ks_error_set(KS_EINVALID, "writeback: a drift event's \"drift\" must be an object");
    char now[KS_CTL_TIME_LEN];
    now_text(now);
    bool healed = drift_healed(drift, action);
    json_t *doc = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s}", "object", "kind", kind ? kind : "Pod",
                            "namespace", ns && *ns ? ns : "", "name", name, "node",
                            node ? node : "", "time", when ? when : now);
    struct ks_buf line;
    ks_buf_init(&line, SUBJECT_MAX * 4);
    char *path = ks_strdupf("drift/%s/%s.yaml", ns_dir(ns), name);
    char *ref = object_ref(kind ? kind : "Pod", ns, name);
    if (!doc || !path || !ref) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (message)
        json_object_set_new(doc, "message", json_string(message));
    const char *key;
    json_t *v;
    json_object_foreach(drift, key, v)
    {
        if (strcmp(key, "healed") != 0)
            json_object_set(doc, key, v);
    }
    json_object_set_new(doc, "healed", json_boolean(healed));
    if ((rc = drift_diff(doc, drift, wb->max_file_bytes)))
        goto done;
    ks_buf_printf(&line, "drift: %s%s%s ", ns && *ns ? ns : "", ns && *ns ? "/" : "", name);
    if (message && *message)
        ks_buf_printf(&line, "%.*s", (int)strcspn(message, "\n"), message);
    else
        ks_buf_printf(&line, "%s%s%s%s", container ? "container " : "", container ? container : "",
                      container ? " " : "", what ? what : "changed out of band");
    if (node && *node)
        ks_buf_printf(&line, " on %s", node);
    ks_buf_printf(&line, ", %s", action && *action ? action : healed ? "healed" : "not healed");
    pthread_mutex_lock(&wb->mu);
    json_t *objects = json_pack("[s]", ref);
    rc = stage_file(wb, path, doc);
    doc = NULL;
    if (rc == 0)
        rc = add_event(wb, "drift", ks_buf_data(&line), NULL, objects, path, true);
    else
        json_decref(objects);
    pthread_mutex_unlock(&wb->mu);
done:
    json_decref(doc);
    ks_buf_release(&line);
    free(path);
    free(ref);
    return rc;
}

int ks_writeback_drift_branch(char *out, size_t cap, const char *ns, const char *name)
{
    int rc = check_name("namespace", ns && *ns ? ns : "_cluster");
    if (rc == 0)
        rc = check_name("name", name);
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s%s/%s", KS_WRITEBACK_DRIFT_PREFIX, ns_dir(ns), name);
    if (n < 0 || (size_t)n >= cap)
        return ks_error_set(KS_ELIMIT, "writeback: drift branch name over %zu bytes", cap);
    char ref[600];
    int valid = 0;
    snprintf(ref, sizeof ref, "refs/heads/%s", out);
    git_libgit2_init(); /* its error state is freed by the last shutdown */
    int e = git_reference_name_is_valid(&valid, ref);
    git_libgit2_shutdown();
    if (e < 0 || !valid)
        return ks_error_set(KS_EINVALID, "writeback: \"%s\" is not a valid branch name", out);
    return 0;
}

int ks_writeback_record_drift_pr(struct ks_writeback *wb, const struct ks_writeback_drift_pr *d)
{
    if (!wb->drift)
        return ks_error_set(KS_EINVALID, "writeback: drift branches are off (drift_pr)");
    const json_t *obj = json_object_get(d ? d->event : NULL, "object");
    char branch[512];
    int rc = ks_writeback_drift_branch(branch, sizeof branch,
                                       json_string_value(json_object_get(obj, "namespace")),
                                       json_string_value(json_object_get(obj, "name")));
    if (rc == 0)
        rc = ks_driftpr_add(wb->drift, d);
    if (rc == 0) {
        pthread_mutex_lock(&wb->mu);
        wb->drift_next = ks_writeback_clock_ms();
        pthread_cond_broadcast(&wb->cond);
        pthread_mutex_unlock(&wb->mu);
    }
    return rc;
}

int ks_writeback_drift_closed(struct ks_writeback *wb, json_t **out)
{
    *out = wb->drift ? ks_driftpr_take_closed(wb->drift) : json_array();
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* The state entry of an object (created when absent, within max_objects). */
static int object_entry(json_t **out, struct ks_writeback *wb, const char *path, const char *kind,
                        const char *ns, const char *name)
{
    json_t *e = json_object_get(wb->objects, path);
    if (e) {
        *out = e;
        return 0;
    }
    if (json_object_size(wb->objects) >= wb->max_objects)
        return ks_error_set(KS_ELIMIT, "writeback: more than %zu objects (object limit)",
                            wb->max_objects);
    e = json_pack("{s:{s:s, s:s, s:s}, s:b}", "id", "kind", kind, "namespace", ns ? ns : "", "name",
                  name, "seeded", 0);
    if (!e || json_object_set_new(wb->objects, path, e) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out = e;
    return 0;
}

int ks_writeback_record_health(struct ks_writeback *wb, const char *kind, const char *ns,
                               const char *name, const char *health, const char *reason,
                               const char *source_sha)
{
    int rc = check_object(kind, ns, name);
    if (rc)
        return rc;
    if (!health || !*health)
        return ks_error_set(KS_EINVALID, "writeback: no health given");
    char *path = ks_strdupf("status/%s/%s/%s.yaml", ns_dir(ns), kind, name);
    char *ref = object_ref(kind, ns, name);
    struct ks_buf line;
    ks_buf_init(&line, SUBJECT_MAX * 4);
    if (!path || !ref) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ks_buf_printf(&line, "health: %s %s%s%s %s", kind, ns && *ns ? ns : "", ns && *ns ? "/" : "",
                  name, health);
    if (reason && *reason)
        ks_buf_printf(&line, " (%s)", reason);
    pthread_mutex_lock(&wb->mu);
    json_t *e = NULL;
    if ((rc = object_entry(&e, wb, path, kind, ns, name)) == 0) {
        json_t *h = json_object_get(e, "health");
        const char *old = json_string_value(json_object_get(h, "status"));
        const char *old_reason = json_string_value(json_object_get(h, "reason"));
        if (!old || strcmp(old, health) != 0 ||
            strcmp(old_reason ? old_reason : "", reason ? reason : "") != 0) {
            char now[KS_CTL_TIME_LEN];
            now_text(now);
            h = json_pack("{s:s, s:s, s:s}", "status", health, "reason", reason ? reason : "",
                          "lastTransition", now);
            if (h && source_sha && *source_sha)
                json_object_set_new(h, "source", json_string(source_sha));
            json_object_set_new(e, "health", h);
            rc = stage_file(wb, path, json_true());
            /* no event for a health reported again unchanged: callers may
             * report on every evaluation without filling the window */
            if (rc == 0)
                rc = add_event(wb, "health", ks_buf_data(&line), source_sha, json_pack("[s]", ref),
                               path, false);
        }
    }
    pthread_mutex_unlock(&wb->mu);
done:
    ks_buf_release(&line);
    free(path);
    free(ref);
    return rc;
}

int ks_writeback_set_object_status(struct ks_writeback *wb, const char *kind, const char *ns,
                                   const char *name, const json_t *observed)
{
    int rc = check_object(kind, ns, name);
    if (rc)
        return rc;
    if (observed && !json_is_object(observed))
        return ks_error_set(KS_EINVALID, "writeback: the observed state must be an object");
    char *path = ks_strdupf("status/%s/%s/%s.yaml", ns_dir(ns), kind, name);
    json_t *copy = observed ? json_deep_copy(observed) : NULL;
    if (!path || (observed && !copy)) {
        free(path);
        json_decref(copy);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    pthread_mutex_lock(&wb->mu);
    if (!observed) {
        json_object_del(wb->objects, path);
        rc = stage_file(wb, path, json_null());
    } else {
        json_t *e = NULL;
        if ((rc = object_entry(&e, wb, path, kind, ns, name)) == 0) {
            json_object_set(e, "observed", copy);
            rc = stage_file(wb, path, json_true());
        }
    }
    pthread_mutex_unlock(&wb->mu);
    json_decref(copy);
    free(path);
    return rc;
}

int ks_writeback_set_node(struct ks_writeback *wb, const char *name, const json_t *node)
{
    int rc = check_name("node name", name);
    if (rc)
        return rc;
    if (node && !json_is_object(node))
        return ks_error_set(KS_EINVALID, "writeback: a node must be an object");
    char *path = ks_strdupf("nodes/%s.yaml", name);
    char *ref = ks_strdupf("Node/%s", name);
    char *line = ks_strdupf("node: %s %s", name, node ? "updated" : "removed");
    json_t *copy = node ? json_deep_copy(node) : json_null();
    if (!path || !ref || !line || !copy) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        json_decref(copy);
    } else {
        pthread_mutex_lock(&wb->mu);
        rc = stage_file(wb, path, copy);
        if (rc == 0)
            rc = add_event(wb, "node", line, NULL, json_pack("[s]", ref), path, false);
        pthread_mutex_unlock(&wb->mu);
    }
    free(path);
    free(ref);
    free(line);
    return rc;
}

/* ---- committing (under work) ---- */

struct batch {
    json_t *files;  /* path -> document or null */
    json_t *events; /* as in wb->events */
    uint64_t dropped, dropped_drift;
    struct ks_wbgit_file *out;
    size_t n;
};

static void batch_release(struct batch *b)
{
    json_decref(b->files);
    json_decref(b->events);
    for (size_t i = 0; i < b->n; i++) {
        free(b->out[i].path);
        free(b->out[i].data);
    }
    free(b->out);
}

/* {kind, namespace, name, health, ...observed} of a status entry. */
static json_t *compose_status(const json_t *e)
{
    json_t *id = json_object_get(e, "id");
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    json_object_set(doc, "kind", json_object_get(id, "kind"));
    const char *ns = json_string_value(json_object_get(id, "namespace"));
    if (ns && *ns)
        json_object_set(doc, "namespace", json_object_get(id, "namespace"));
    json_object_set(doc, "name", json_object_get(id, "name"));
    json_t *h = json_object_get(e, "health");
    if (h)
        json_object_set_new(doc, "health", json_deep_copy(h));
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(e, "observed"), key, v)
    {
        if (!json_object_get(doc, key))
            json_object_set_new(doc, key, json_deep_copy(v));
    }
    if (!json_is_true(json_object_get(e, "seeded")))
        json_object_set_new(doc, "\x01seed", json_true()); /* marker, removed before rendering */
    return doc;
}

/* Takes everything pending (mu held). */
static int take(struct batch *b, struct ks_writeback *wb)
{
    b->files = json_object();
    if (!b->files)
        return ks_error_set(KS_ENOMEM, "out of memory");
    const char *path;
    json_t *v;
    json_object_foreach(wb->pending, path, v)
    {
        json_t *doc = v;
        if (json_is_true(v)) {
            json_t *e = json_object_get(wb->objects, path);
            doc = e ? compose_status(e) : json_null();
            if (!doc)
                return ks_error_set(KS_ENOMEM, "out of memory");
            json_object_set_new(b->files, path, doc);
        } else {
            json_object_set(b->files, path, doc);
        }
    }
    json_object_clear(wb->pending);
    b->events = wb->events;
    wb->inflight = json_array_size(b->events);
    wb->events = json_array();
    b->dropped = wb->dropped;
    b->dropped_drift = wb->dropped_drift;
    wb->dropped = 0;
    wb->dropped_drift = 0;
    wb->window_start = 0;
    return wb->events ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

/* Puts a failed batch back (mu held): newer staged files win. */
static void put_back(struct ks_writeback *wb, struct batch *b)
{
    const char *path;
    json_t *v;
    json_object_foreach(b->files, path, v)
    {
        if (!json_object_get(wb->pending, path))
            json_object_set_new(wb->pending, path,
                                ks_str_has_prefix(path, "status/") && !json_is_null(v)
                                    ? json_true()
                                    : json_incref(v));
    }
    if (b->events && json_array_extend(b->events, wb->events) == 0) {
        json_decref(wb->events);
        wb->events = b->events; /* the older events first */
        b->events = NULL;
    }
    wb->dropped += b->dropped;
    wb->dropped_drift += b->dropped_drift;
    if (json_object_size(wb->pending) || json_array_size(wb->events))
        open_window(wb);
}

static bool same_health(const json_t *a, const json_t *b)
{
    const char *sa = json_string_value(json_object_get(a, "status"));
    const char *sb = json_string_value(json_object_get(b, "status"));
    const char *ra = json_string_value(json_object_get(a, "reason"));
    const char *rb = json_string_value(json_object_get(b, "reason"));
    return sa && sb && strcmp(sa, sb) == 0 && strcmp(ra ? ra : "", rb ? rb : "") == 0;
}

/* Puts health into doc right after the identity keys (as compose_status). */
static void insert_health(json_t *doc, json_t *health)
{
    if (json_object_get(doc, "health")) {
        json_object_set(doc, "health", health); /* replaced in place */
        return;
    }
    json_t *ordered = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "kind") && strcmp(key, "namespace") && strcmp(key, "name"))
            break;
        json_object_set(ordered, key, v);
    }
    json_object_set(ordered, "health", health);
    json_object_foreach(doc, key, v)
    {
        if (!json_object_get(ordered, key))
            json_object_set(ordered, key, v);
    }
    json_object_clear(doc);
    json_object_update(doc, ordered);
    json_decref(ordered);
}

/* The first write of an object by this process compares with the file on
 * the branch: after a restart the health is known only from there (kept
 * while nobody has reported one), and a health reported again unchanged
 * keeps the branch's lastTransition instead of looking like a new
 * transition (so a restart does not rewrite every status file). */
static void seed_health(struct ks_writeback *wb, const char *path, json_t *doc)
{
    char *text = NULL;
    size_t len = 0;
    json_t *old = NULL, *use = NULL;
    json_object_del(doc, "\x01seed");
    if (ks_wbgit_read(&text, &len, wb->git, path, wb->max_file_bytes) == 0 &&
        ks_yaml_parse_one(&old, text, len, NULL) == 0) {
        json_t *oldh = json_object_get(old, "health");
        json_t *newh = json_object_get(doc, "health");
        if (json_is_object(oldh) && (!newh || same_health(oldh, newh)))
            use = json_deep_copy(oldh);
    }
    if (use)
        insert_health(doc, use);
    pthread_mutex_lock(&wb->mu);
    json_t *e = json_object_get(wb->objects, path);
    if (e) {
        json_t *h = json_object_get(e, "health");
        if (use && (!h || same_health(h, use)))
            json_object_set(e, "health", use);
        json_object_set_new(e, "seeded", json_true());
    }
    pthread_mutex_unlock(&wb->mu);
    json_decref(use);
    json_decref(old);
    free(text);
}

static int render(struct ks_writeback *wb, struct batch *b)
{
    size_t n = json_object_size(b->files);
    b->out = calloc(n ? n : 1, sizeof *b->out);
    if (!b->out)
        return ks_error_set(KS_ENOMEM, "out of memory");
    const char *path;
    json_t *doc;
    struct ks_buf text;
    ks_buf_init(&text, wb->max_file_bytes);
    int rc = 0;
    json_object_foreach(b->files, path, doc)
    {
        struct ks_wbgit_file *f = &b->out[b->n];
        if (!(f->path = strdup(path))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            break;
        }
        b->n++;
        if (json_is_null(doc))
            continue;
        if (json_object_get(doc, "\x01seed"))
            seed_health(wb, path, doc);
        ks_buf_reset(&text);
        rc = ks_yaml_emit(&text, doc, NULL);
        if (rc == KS_ELIMIT || rc == KS_EINVALID) {
            /* an oversized or unwritable state still leaves a trace */
            json_t *error_doc = json_pack("{s:s}", "error", ks_error_last());
            ks_buf_reset(&text);
            rc = error_doc ? ks_yaml_emit(&text, error_doc, NULL) : KS_ENOMEM;
            json_decref(error_doc);
        }
        if (rc)
            break;
        f->data = ks_buf_detach(&text, &f->len);
        if (!f->data) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            break;
        }
    }
    ks_buf_release(&text);
    return rc;
}

static bool event_included(const json_t *e, const struct batch *b)
{
    if (json_is_true(json_object_get(e, "always")))
        return true;
    const char *path = json_string_value(json_object_get(e, "path"));
    for (size_t i = 0; path && i < b->n; i++)
        if (b->out[i].changed && strcmp(b->out[i].path, path) == 0)
            return true;
    return false;
}

static void add_unique(json_t *set, json_t *order, const char *s)
{
    if (s && *s && !json_object_get(set, s)) {
        json_object_set_new(set, s, json_true());
        json_array_append_new(order, json_string(s));
    }
}

static int build_message(char **out, struct ks_writeback *wb, const struct batch *b)
{
    static const char *const types[] = {"sync", "drift", "health", "node"};
    size_t counts[4] = {0}, included = 0;
    const json_t *primary = NULL;
    json_t *seen = json_object(), *sources = json_array(), *kinds = json_array(),
           *objects = json_array();
    struct ks_buf msg, body, line;
    ks_buf_init(&msg, wb->max_message_bytes);
    ks_buf_init(&body, wb->max_message_bytes / 2);
    ks_buf_init(&line, 0);
    size_t body_omitted = 0, objects_omitted = 0;
    int rc = 0;
    if (!seen || !sources || !kinds || !objects) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    size_t i;
    json_t *e;
    json_array_foreach(b->events, i, e)
    {
        if (!event_included(e, b))
            continue;
        const char *type = json_string_value(json_object_get(e, "type"));
        for (size_t t = 0; t < 4; t++)
            counts[t] += strcmp(type, types[t]) == 0;
        if (!primary || strcmp(type, "sync") == 0)
            primary = e; /* the last sync, else the first event */
        included++;
        const char *l = json_string_value(json_object_get(e, "line"));
        if (ks_buf_len(&body) + strlen(l) + 3 < wb->max_message_bytes / 2)
            ks_buf_printf(&body, "- %s\n", l);
        else
            body_omitted++;
        add_unique(seen, sources, json_string_value(json_object_get(e, "source")));
        json_t *o;
        size_t j;
        json_array_foreach(json_object_get(e, "objects"), j, o)
        {
            ks_buf_reset(&line);
            ks_buf_printf(&line, "o:%s", json_string_value(o));
            if (!json_object_get(seen, ks_buf_data(&line)))
                json_array_append(objects, o);
            json_object_set_new(seen, ks_buf_data(&line), json_true());
        }
    }
    for (size_t t = 0; t < 4; t++)
        if (counts[t])
            json_array_append_new(kinds, json_string(types[t]));
    /* files that changed without an event of their own (observed state) */
    size_t status_files = 0, node_files = 0;
    for (size_t f = 0; f < b->n; f++) {
        if (!b->out[f].changed)
            continue;
        if (ks_str_has_prefix(b->out[f].path, "status/")) {
            status_files++;
            json_t *doc = json_object_get(b->files, b->out[f].path);
            json_t *id = doc;
            const char *kind = json_string_value(json_object_get(id, "kind"));
            const char *name = json_string_value(json_object_get(id, "name"));
            if (kind && name) {
                char *ref =
                    object_ref(kind, json_string_value(json_object_get(id, "namespace")), name);
                ks_buf_reset(&line);
                ks_buf_printf(&line, "o:%s", ref ? ref : "");
                if (ref && !json_object_get(seen, ks_buf_data(&line))) {
                    json_object_set_new(seen, ks_buf_data(&line), json_true());
                    json_array_append_new(objects, json_string(ref));
                }
                free(ref);
            }
        } else if (ks_str_has_prefix(b->out[f].path, "nodes/")) {
            node_files++;
        }
    }
    /* subject */
    ks_buf_reset(&line);
    if (primary) {
        ks_buf_puts(&line, json_string_value(json_object_get(primary, "line")));
        if (included > 1) {
            const char *ptype = json_string_value(json_object_get(primary, "type"));
            ks_buf_printf(&line, " (+%zu more:", included - 1);
            int first = 1;
            for (size_t t = 0; t < 4; t++) {
                size_t c = counts[t] - (strcmp(ptype, types[t]) == 0);
                if (c)
                    ks_buf_printf(&line, "%s %zu %s", first-- > 0 ? "" : ",", c, types[t]);
            }
            ks_buf_putc(&line, ')');
        }
    } else {
        ks_buf_puts(&line, "status:");
        if (status_files)
            ks_buf_printf(&line, " %zu object%s", status_files, status_files == 1 ? "" : "s");
        if (node_files)
            ks_buf_printf(&line, "%s %zu node%s", status_files ? "," : "", node_files,
                          node_files == 1 ? "" : "s");
        if (!status_files && !node_files)
            ks_buf_puts(&line, " files");
        ks_buf_puts(&line, " updated");
    }
    const char *subject = ks_buf_data(&line);
    size_t slen = strlen(subject);
    if (slen > SUBJECT_MAX)
        ks_buf_printf(&msg, "%.*s...\n", SUBJECT_MAX - 3, subject);
    else
        ks_buf_printf(&msg, "%s\n", subject);
    if (included > 1 || b->dropped) {
        ks_buf_printf(&msg, "\n%s", ks_buf_data(&body));
        if (body_omitted)
            ks_buf_printf(&msg, "- ... and %zu more events (message size limit)\n", body_omitted);
        if (b->dropped)
            ks_buf_printf(&msg,
                          "- %" PRIu64 " more events in this window were not kept (limit of "
                          "%zu events per window)\n",
                          b->dropped, wb->max_events);
    }
    /* trailers: one paragraph, "Key: value" lines */
    ks_buf_putc(&msg, '\n');
    json_t *v;
    json_array_foreach(sources, i, v)
        ks_buf_printf(&msg, "Keelson-Source: %s\n", json_string_value(v));
    json_array_foreach(kinds, i, v)
        ks_buf_printf(&msg, "Keelson-Event: %s\n", json_string_value(v));
    if (!json_array_size(kinds))
        ks_buf_puts(&msg, "Keelson-Event: status\n");
    size_t reserve = 64;
    json_array_foreach(objects, i, v)
    {
        const char *ref = json_string_value(v);
        if (ks_buf_len(&msg) + strlen(ref) + 20 + reserve < wb->max_message_bytes)
            ks_buf_printf(&msg, "Keelson-Object: %s\n", ref);
        else
            objects_omitted++;
    }
    if (objects_omitted)
        ks_buf_printf(&msg, "Keelson-Objects-Omitted: %zu\n", objects_omitted);
    if ((rc = ks_buf_error(&msg)))
        rc = ks_error_set(KS_ELIMIT, "writeback: commit message over %zu bytes",
                          wb->max_message_bytes);
    else
        *out = ks_buf_detach(&msg, NULL);
done:
    json_decref(seen);
    json_decref(sources);
    json_decref(kinds);
    json_decref(objects);
    ks_buf_release(&msg);
    ks_buf_release(&body);
    ks_buf_release(&line);
    return rc;
}

static void set_error(struct ks_writeback *wb, int rc)
{
    pthread_mutex_lock(&wb->mu);
    if (rc)
        snprintf(wb->stats.last_error, sizeof wb->stats.last_error, "%s", ks_error_last());
    else
        wb->stats.last_error[0] = '\0';
    pthread_mutex_unlock(&wb->mu);
}

/* Commits everything pending (work held). *out_committed: a commit was made. */
static int commit_pending(bool *out_committed, struct ks_writeback *wb)
{
    struct batch b = {0};
    char *message = NULL;
    char id[41] = "";
    size_t changed = 0;
    int rc;
    *out_committed = false;
    pthread_mutex_lock(&wb->mu);
    bool any = json_object_size(wb->pending) || json_array_size(wb->events) || wb->dropped;
    rc = any ? take(&b, wb) : 0;
    pthread_mutex_unlock(&wb->mu);
    if (!any || rc)
        goto done;
    if ((rc = render(wb, &b)) || (rc = ks_wbgit_prepare(&changed, wb->git, b.out, b.n)))
        goto done;
    bool must = b.dropped_drift > 0; /* other dropped events count only if files changed */
    size_t i;
    json_t *e;
    json_array_foreach(b.events, i, e) must = must || json_is_true(json_object_get(e, "always"));
    if (!changed && !must)
        goto done; /* nothing to record: the batch is dropped on purpose */
    if ((rc = build_message(&message, wb, &b)) ||
        (rc = ks_wbgit_commit(id, wb->git, b.out, b.n, message)))
        goto done;
    *out_committed = true;
done:
    pthread_mutex_lock(&wb->mu);
    wb->inflight = 0;
    if (rc && b.files)
        put_back(wb, &b);
    if (*out_committed) {
        wb->stats.commits++;
        wb->stats.unpushed += wb->has_remote ? 1 : 0;
        snprintf(wb->stats.tip, sizeof wb->stats.tip, "%s", id);
        wb->need_push = wb->has_remote;
    }
    pthread_mutex_unlock(&wb->mu);
    free(message);
    batch_release(&b);
    return rc;
}

static int push(struct ks_writeback *wb, int64_t now)
{
    struct ks_wbgit_push_result res;
    int rc = ks_wbgit_push(&res, wb->git);
    pthread_mutex_lock(&wb->mu);
    wb->stats.pushes += res.pushed ? 1 : 0;
    wb->stats.rebases += (uint64_t)res.rebases;
    wb->stats.merged_commits += res.merged;
    wb->stats.unpushed = res.unpushed;
    wb->stats.push_failing = rc != 0;
    if (rc) {
        wb->backoff_ms = wb->backoff_ms ? wb->backoff_ms * 2 : BACKOFF_FIRST_MS;
        if (wb->backoff_ms > BACKOFF_MAX_MS)
            wb->backoff_ms = BACKOFF_MAX_MS;
        wb->next_push = now + wb->backoff_ms;
    } else {
        wb->backoff_ms = 0;
        wb->next_push = 0;
        wb->need_push = false;
    }
    if (res.rebases || res.merged)
        ks_wbgit_tip(wb->stats.tip, wb->git);
    pthread_mutex_unlock(&wb->mu);
    return rc;
}

/* The drift branches' Git work (work held). */
static int drift_work(struct ks_writeback *wb, int64_t now_ms, bool check)
{
    size_t commits = 0, closed = 0;
    int rc = ks_driftpr_work(&commits, &closed, wb->drift, check);
    bool busy = ks_driftpr_busy(wb->drift);
    pthread_mutex_lock(&wb->mu);
    wb->stats.drift_branches += commits;
    wb->stats.drift_closed += closed;
    /* unpushed branches are retried with the status branch's backoff */
    long wait =
        busy && rc ? (wb->backoff_ms ? wb->backoff_ms : BACKOFF_FIRST_MS) : wb->drift_check_ms;
    wb->drift_next = now_ms + wait;
    pthread_mutex_unlock(&wb->mu);
    return rc;
}

int ks_writeback_tick(struct ks_writeback *wb, int64_t now_ms)
{
    int rc = 0;
    bool committed = false;
    pthread_mutex_lock(&wb->work);
    pthread_mutex_lock(&wb->mu);
    bool due =
        wb->window_start && (wb->interval_ms < 0 || now_ms - wb->window_start >= wb->interval_ms);
    pthread_mutex_unlock(&wb->mu);
    if (due)
        rc = commit_pending(&committed, wb);
    pthread_mutex_lock(&wb->mu);
    bool push_due =
        wb->has_remote && (wb->need_push || wb->stats.unpushed) && now_ms >= wb->next_push;
    pthread_mutex_unlock(&wb->mu);
    if (rc == 0 && push_due)
        rc = push(wb, now_ms);
    pthread_mutex_lock(&wb->mu);
    bool drift_due = wb->drift && wb->drift_next && now_ms >= wb->drift_next;
    pthread_mutex_unlock(&wb->mu);
    if (drift_due) {
        int e = drift_work(wb, now_ms, true);
        rc = rc ? rc : e;
    }
    set_error(wb, rc);
    pthread_mutex_unlock(&wb->work);
    return rc;
}

int ks_writeback_flush(struct ks_writeback *wb)
{
    bool committed = false;
    pthread_mutex_lock(&wb->work);
    int rc = commit_pending(&committed, wb);
    if (rc == 0 && wb->has_remote)
        rc = push(wb, ks_writeback_clock_ms());
    if (wb->drift) {
        int e = drift_work(wb, ks_writeback_clock_ms(), true);
        rc = rc ? rc : e;
    }
    set_error(wb, rc);
    pthread_mutex_unlock(&wb->work);
    return rc;
}

static void *thread_main(void *arg)
{
    struct ks_writeback *wb = arg;
    pthread_mutex_lock(&wb->mu);
    while (!wb->stop) {
        int64_t now = ks_writeback_clock_ms();
        int64_t due = now + THREAD_WAIT_MAX_MS;
        if (wb->window_start &&
            wb->window_start + (wb->interval_ms > 0 ? wb->interval_ms : 0) < due)
            due = wb->window_start + (wb->interval_ms > 0 ? wb->interval_ms : 0);
        if (wb->has_remote && (wb->need_push || wb->stats.unpushed) && wb->next_push < due)
            due = wb->next_push;
        if (wb->drift && wb->drift_next && wb->drift_next < due)
            due = wb->drift_next;
        if (due > now) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (due - now) * 1000000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&wb->cond, &wb->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&wb->mu);
        ks_writeback_tick(wb, now);
        pthread_mutex_lock(&wb->mu);
        /* a short pause so that a tick that keeps failing cannot spin */
        struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, 10);
        if (!wb->stop)
            pthread_cond_timedwait(&wb->cond, &wb->mu, &ts);
    }
    pthread_mutex_unlock(&wb->mu);
    return NULL;
}

int ks_writeback_start(struct ks_writeback *wb)
{
    int rc = 0;
    pthread_mutex_lock(&wb->mu);
    if (wb->thread_started)
        rc = ks_error_set(KS_EINVALID, "writeback: the thread is already running");
    else if (pthread_create(&wb->thread, NULL, thread_main, wb) != 0)
        rc = ks_error_set(KS_EIO, "writeback: cannot start its thread");
    else
        wb->thread_started = true;
    pthread_mutex_unlock(&wb->mu);
    return rc;
}

void ks_writeback_stats(struct ks_writeback_stats *out, struct ks_writeback *wb)
{
    pthread_mutex_lock(&wb->mu);
    *out = wb->stats;
    out->pending_events = json_array_size(wb->events) + wb->inflight;
    pthread_mutex_unlock(&wb->mu);
}
