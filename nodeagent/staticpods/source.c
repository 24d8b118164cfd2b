/*
 * source.c: the directory source's ks_agent_source operations. list and
 * watch run on the agent's thread; report_status, report_events,
 * heartbeat, get_object and interrupt may come from any thread (the state
 * is under s->lock, report files under s->report_lock, interrupt writes
 * one byte to a pipe). There is no control plane: register_node and
 * heartbeat succeed and do nothing.
 */
#include "nodeagent/staticpods/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct sp_source *src_of(struct ks_agent_source *base)
{
    return (struct sp_source *)base;
}

static int sp_register(struct ks_agent_source *base, const json_t *report)
{
    (void)base;
    (void)report;
    return 0;
}

static int sp_heartbeat(struct ks_agent_source *base)
{
    (void)base;
    return 0;
}

/* Deep copies of the log entries after since. */
static int changes_after(json_t **out, const struct sp_source *s, int64_t since)
{
    json_t *arr = json_array(), *c, *copy;
    size_t i;

    if (!arr)
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_array_foreach(s->log, i, c)
    {
        if (json_integer_value(json_object_get(c, "revision")) <= since)
            continue;
        if (!(copy = json_deep_copy(c)) || json_array_append_new(arr, copy) < 0) {
            json_decref(arr);
            return ks_error_set(KS_ENOMEM, "out of memory");
        }
    }
    *out = arr;
    return 0;
}

/* Deep copies of the current documents whose key ("Kind/ns/name") starts
 * with prefix, after a rescan; called with s->lock held. */
static int current_with_prefix(json_t **out, struct sp_source *s, const char *prefix)
{
    json_t *arr = NULL, *v, *copy;
    const char *k;
    int rc;

    if ((rc = sp_rescan(s)) < 0)
        return rc;
    if (!(arr = json_array()))
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_object_foreach(s->current, k, v)
    {
        if (!ks_str_has_prefix(k, prefix))
            continue;
        if (!(copy = json_deep_copy(v)) || json_array_append_new(arr, copy) < 0) {
            json_decref(arr);
            return ks_error_set(KS_ENOMEM, "out of memory");
        }
    }
    *out = arr;
    return 0;
}

static int sp_list(struct ks_agent_source *base, json_t **out, int64_t *out_revision)
{
    struct sp_source *s = src_of(base);
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((rc = current_with_prefix(out, s, "Pod/")) == 0)
        *out_revision = s->revision;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sp_watch(struct ks_agent_source *base, json_t **out, int64_t *out_revision,
                    int64_t since, long timeout_ms)
{
    struct sp_source *s = src_of(base);
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    json_t *changes = NULL;
    int rc, woke;

    /* A directory removed and made again is followed anew (checked once per watch). */
    if (sp_notify_refollow(s)) {
        pthread_mutex_lock(&s->lock);
        rc = sp_rescan(s);
        pthread_mutex_unlock(&s->lock);
        if (rc < 0)
            return rc;
    }
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (since > s->revision || since < s->log_floor) {
            rc = ks_error_set(KS_EGONE,
                              "static pods: revision %lld is not kept (now %lld, "
                              "oldest %lld), relist",
                              (long long)since, (long long)s->revision, (long long)s->log_floor);
            pthread_mutex_unlock(&s->lock);
            return rc;
        }
        rc = changes_after(&changes, s, since);
        if (rc == 0 && json_array_size(changes)) {
            *out = changes;
            *out_revision = s->revision;
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
        pthread_mutex_unlock(&s->lock);
        if (rc < 0)
            return rc;
        json_decref(changes);
        changes = NULL;
        woke = sp_notify_wait(s, (long)(deadline - mono_ms()));
        if (woke < 0)
            return woke;
        if (woke == 0) /* timeout or interrupt */
            break;
        sp_notify_refollow(s);
        pthread_mutex_lock(&s->lock);
        rc = sp_rescan(s);
        pthread_mutex_unlock(&s->lock);
        if (rc < 0)
            return rc;
    }
    if (!(changes = json_array()))
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out = changes;
    *out_revision = since;
    return 0;
}

static int sp_get_object(struct ks_agent_source *base, json_t **out, const char *kind,
                         const char *ns, const char *name)
{
    struct sp_source *s = src_of(base);
    char *key = ks_strdupf("%s/%s/%s", kind, ns, name);
    json_t *v, *copy = NULL;
    int rc = 0;

    if (!key)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if (strcmp(kind, "ConfigMap") != 0 && strcmp(kind, "Secret") != 0) {
        rc = ks_error_set(KS_EINVALID,
                          "static pods: get_object serves ConfigMap and Secret, not %s", kind);
        goto done;
    }
    pthread_mutex_lock(&s->lock);
    v = json_object_get(s->current, key);
    copy = v ? json_deep_copy(v) : NULL;
    pthread_mutex_unlock(&s->lock);
    if (!v) {
        rc = ks_error_set(KS_ENOTFOUND, "%s %s/%s not found in %s", kind, ns, name, s->dir);
        goto done;
    }
    if (!copy) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = copy;
done:
    free(key);
    return rc;
}

/* Services and Endpoints written in the directory, as they are (no
 * clusterIP is allocated: without a control plane a Service serves only
 * the clusterIP its file gives). */
static int sp_list_objects(struct ks_agent_source *base, json_t **out, const char *kind)
{
    struct sp_source *s = src_of(base);
    int rc;

    if (strcmp(kind, "Service") != 0 && strcmp(kind, "Endpoints") != 0)
        return ks_error_set(KS_EINVALID,
                            "static pods: list_objects serves Service and Endpoints, not %s", kind);
    pthread_mutex_lock(&s->lock);
    rc = current_with_prefix(out, s, strcmp(kind, "Service") == 0 ? "Service/" : "Endpoints/");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int sp_status(struct ks_agent_source *base, const char *ns, const char *name,
                     const json_t *status)
{
    return sp_report_status(src_of(base), ns, name, status);
}

static int sp_events(struct ks_agent_source *base, const json_t *events)
{
    return sp_report_events(src_of(base), events);
}

static void sp_interrupt(struct ks_agent_source *base)
{
    struct sp_source *s = src_of(base);
    char one = 1;

    if (write(s->wake[1], &one, 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
}

static void sp_free(struct ks_agent_source *base)
{
    struct sp_source *s = src_of(base);
    size_t i;

    if (!s)
        return;
    sp_notify_stop(s);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    for (i = 0; i < s->n_files; i++) {
        free(s->files[i].name);
        json_decref(s->files[i].docs);
        free(s->files[i].error);
    }
    free(s->files);
    json_decref(s->current);
    json_decref(s->log);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->report_lock);
    free(s->dir);
    free(s->node);
    free(s->report_dir);
    free(s);
}

static const struct ks_agent_source_ops sp_ops = {
    .name = "static",
    .register_node = sp_register,
    .heartbeat = sp_heartbeat,
    .list = sp_list,
    .watch = sp_watch,
    .get_object = sp_get_object,
    .report_status = sp_status,
    .report_events = sp_events,
    .interrupt = sp_interrupt,
    .free = sp_free,
    .list_objects = sp_list_objects,
};

int ks_staticpods_source_new(struct ks_agent_source **out, const struct ks_staticpods_opts *opts)
{
    struct sp_source *s = NULL;
    struct stat st;
    int rc = 0;

    if (!opts || !opts->dir || !*opts->dir || !opts->node_name || !*opts->node_name)
        return ks_error_set(KS_EINVALID, "static pods: a directory and a node name are required");
    if (stat(opts->dir, &st) < 0)
        return ks_error_set(errno == ENOENT ? KS_ENOTFOUND : KS_EIO, "static pods directory %s: %s",
                            opts->dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ks_error_set(KS_EINVALID, "static pods directory %s: not a directory", opts->dir);
    if (!(s = calloc(1, sizeof(*s))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    s->base.ops = &sp_ops;
    s->notify_fd = s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->report_lock, NULL);
    s->opts = *opts;
    if (!s->opts.max_file_bytes)
        s->opts.max_file_bytes = KS_STATICPODS_DEFAULT_MAX_FILE_BYTES;
    if (!s->opts.max_files)
        s->opts.max_files = KS_STATICPODS_DEFAULT_MAX_FILES;
    s->dir = strdup(opts->dir);
    s->node = strdup(opts->node_name);
    s->report_dir = opts->report_dir ? strdup(opts->report_dir) : NULL;
    s->current = json_object();
    s->log = json_array();
    if (!s->dir || !s->node || (opts->report_dir && !s->report_dir) || !s->current || !s->log) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    s->opts.dir = s->dir;
    s->opts.node_name = s->node;
    s->opts.report_dir = s->report_dir;
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        rc = ks_error_set(KS_EIO, "static pods: pipe: %s", strerror(errno));
        goto done;
    }
    if (s->report_dir && (rc = ks_mkdir_p(s->report_dir, 0755)) < 0)
        goto done;
    /* Follow first, then read: a change between the two is not lost. */
    if ((rc = sp_notify_start(s)) < 0)
        goto done;
    s->revision = 1;
    s->log_floor = 1;
    if ((rc = sp_rescan(s)) < 0)
        goto done;
    /* The first view is what list answers; it is not a change to watch. */
    json_array_clear(s->log);
    s->revision = 1;
    *out = &s->base;
    s = NULL;
done:
    if (s)
        sp_free(&s->base);
    return rc;
}
