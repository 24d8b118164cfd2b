/*
 * agent.c: the node agent's threads around its pod workers.
 *
 *   one watch thread per source  list, then watch from the revision; relist
 *                                on KS_EGONE; back off on errors (pods keep
 *                                running while a source is unreachable)
 *   one events thread            the runtime's event stream filtered by
 *                                io.keelson.node=<node>; each event wakes
 *                                the worker owning the pod uid at once
 *   the run thread               registration and heartbeats, the periodic
 *                                resync (every worker re-checks its pod) and
 *                                orphan removal, reaping deleted workers
 *
 * With opts.services the watch threads also hand the sources' Services and
 * Endpoints to nodeagent/services, and pod events and resyncs poke it.
 *
 * The table of workers is keyed by namespace/name and guarded by one mutex;
 * lock order is agent, then worker.
 *
 * Pod objects from the sources are shared, not copied, between the table
 * and the workers: nobody changes a pod object after a source handed it
 * out (source.h), and jansson's reference counts are atomic.
 */
#include "nodeagent/agent/internal.h"

#include "core/deadline.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_TIMEOUT_MS 10000L
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define EVENTS_BACKOFF_MAX_MS 5000
#define SERVICES_RETRY_MS 5000

struct entry {
    struct ks_worker *w;
    struct ks_agent_source *src;
    char *key; /* ns/name */
    json_t *given;
    bool deleting;
    json_t *then; /* deleting: the pod assigned again under this key meanwhile */
};

struct watch_ctx {
    struct ks_agent *a;
    size_t idx;
};

struct ks_agent {
    struct ks_agent_shared sh;
    sem_t create_slots; /* sh.create_slots points here when limited */
    struct ks_agent_opts opts;
    char *node, *state_dir, *podman_socket, *host_ip;
    json_t *node_report;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct entry *ents; /* under mu */
    size_t nents, cap;
    bool listed[KS_AGENT_MAX_SOURCES];
    bool resync_now;
    pthread_t watch_th[KS_AGENT_MAX_SOURCES], events_th;
    bool watch_started[KS_AGENT_MAX_SOURCES], events_started;
    struct watch_ctx wctx[KS_AGENT_MAX_SOURCES];
};

const struct ks_agent_shared *ks_agent_shared(const struct ks_agent *a)
{
    return &a->sh;
}

void ks_agent_emit(struct ks_agent_source *src, json_t *events)
{
    if (src->ops->report_events(src, events) < 0)
        ks_log(KS_LOG_WARN, "event report failed", "source", src->ops->name, "error",
               ks_error_last(), NULL);
    json_decref(events);
}

static bool stopping(struct ks_agent *a)
{
    return atomic_load(&a->sh.stopping);
}

/* Sleeps up to ms unless the agent stops. */
static void nap(struct ks_agent *a, int64_t ms)
{
    struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&a->mu);
    if (!stopping(a))
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    pthread_mutex_unlock(&a->mu);
}

static struct entry *find_deleting(struct ks_agent *a, const char *key)
{
    for (size_t i = 0; i < a->nents; i++)
        if (a->ents[i].deleting && strcmp(a->ents[i].key, key) == 0)
            return &a->ents[i];
    return NULL;
}

static struct entry *find(struct ks_agent *a, const char *key)
{
    for (size_t i = 0; i < a->nents; i++)
        if (!a->ents[i].deleting && strcmp(a->ents[i].key, key) == 0)
            return &a->ents[i];
    return NULL;
}

static size_t live_count(struct ks_agent *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nents; i++)
        n += !a->ents[i].deleting;
    return n;
}

static void pod_key(char *out, size_t cap, const json_t *pod)
{
    const json_t *md = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    snprintf(out, cap, "%s/%s", ns && *ns ? ns : "default", name ? name : "");
}

/* Refuses a pod beyond --max-pods the way the kubelet does. */
static void refuse(struct ks_agent_source *src, const json_t *pod, unsigned max)
{
    const json_t *md = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    char msg[128];
    snprintf(msg, sizeof(msg), "the node runs its maximum of %u pods (--max-pods)", max);
    json_t *st =
        json_pack("{s:s, s:s, s:s}", "phase", "Failed", "reason", "OutOfpods", "message", msg);
    src->ops->report_status(src, ns ? ns : "default", name ? name : "", st);
    json_decref(st);
}

/* Under mu. */
static void upsert(struct ks_agent *a, struct ks_agent_source *src, const json_t *pod)
{
    char key[600];
    pod_key(key, sizeof(key), pod);
    struct entry *e = find(a, key);
    if (e) {
        if (e->src != src) {
            ks_log(KS_LOG_WARN, "pod given by two sources; keeping the first", "pod", key, "source",
                   src->ops->name, "kept", e->src->ops->name, NULL);
            return;
        }
        if (e->given && json_equal(e->given, pod))
            return;
        json_decref(e->given);
        e->given = json_incref((json_t *)pod);
        ks_worker_update(e->w, pod);
        return;
    }
    /* the same pod's previous worker still tears down: start the new one
     * after it, so both never act on the same Podman names at once */
    struct entry *d = find_deleting(a, key);
    if (d) {
        json_decref(d->then);
        d->then = json_incref((json_t *)pod);
        d->src = src;
        return;
    }
    if (live_count(a) >= a->opts.max_pods) {
        ks_log(KS_LOG_WARN, "pod refused: --max-pods reached", "pod", key, NULL);
        refuse(src, pod, a->opts.max_pods);
        return;
    }
    if (a->nents == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct entry *n = realloc(a->ents, cap * sizeof(*n));
        if (!n)
            return;
        a->ents = n;
        a->cap = cap;
    }
    struct ks_worker *w = NULL;
    if (ks_worker_new(&w, a, src, pod) < 0) {
        ks_log(KS_LOG_ERROR, "cannot start a pod worker", "pod", key, "error", ks_error_last(),
               NULL);
        return;
    }
    a->ents[a->nents++] =
        (struct entry){.w = w, .src = src, .key = strdup(key), .given = json_incref((json_t *)pod)};
    ks_log(KS_LOG_INFO, "pod assigned", "pod", key, "source", src->ops->name, NULL);
}

/* Under mu. */
static void remove_key(struct ks_agent *a, struct ks_agent_source *src, const char *key)
{
    struct entry *e = find(a, key);
    struct entry *d = find_deleting(a, key);
    if (d && d->src == src) {
        json_decref(d->then);
        d->then = NULL;
    }
    if (!e || e->src != src)
        return;
    e->deleting = true;
    ks_worker_update(e->w, NULL);
    ks_log(KS_LOG_INFO, "pod unassigned", "pod", key, "source", src->ops->name, NULL);
}

static void apply_list(struct ks_agent *a, size_t idx, const json_t *pods)
{
    struct ks_agent_source *src = a->opts.sources[idx];
    size_t i;
    json_t *p;
    pthread_mutex_lock(&a->mu);
    json_array_foreach(pods, i, p) upsert(a, src, p);
    for (size_t k = 0; k < a->nents; k++) {
        struct entry *e = &a->ents[k];
        if (e->deleting || e->src != src)
            continue;
        bool found = false;
        json_array_foreach(pods, i, p)
        {
            char key[600];
            pod_key(key, sizeof(key), p);
            if (strcmp(key, e->key) == 0) {
                found = true;
                break;
            }
        }
        if (!found)
            remove_key(a, src, e->key);
    }
    if (!a->listed[idx]) {
        a->listed[idx] = true;
        a->resync_now = true;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

static void apply_changes(struct ks_agent *a, size_t idx, const json_t *changes)
{
    struct ks_agent_source *src = a->opts.sources[idx];
    size_t i;
    json_t *c;
    pthread_mutex_lock(&a->mu);
    json_array_foreach(changes, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *kind = json_string_value(json_object_get(c, "kind"));
        if (!type || !kind)
            continue;
        if (strcmp(kind, "Pod") == 0) {
            const json_t *obj = json_object_get(c, "object");
            if (strcmp(type, "put") == 0 && json_is_object(obj)) {
                upsert(a, src, obj);
            } else if (strcmp(type, "delete") == 0) {
                const char *ns = json_string_value(json_object_get(c, "namespace"));
                const char *name = json_string_value(json_object_get(c, "name"));
                char key[600];
                snprintf(key, sizeof(key), "%s/%s", ns && *ns ? ns : "default", name ? name : "");
                remove_key(a, src, key);
            }
        } else if (strcmp(kind, "Service") == 0 || strcmp(kind, "Endpoints") == 0) {
            ks_services_change(a->opts.services, idx, c);
        } else if (strcmp(kind, "ConfigMap") == 0 || strcmp(kind, "Secret") == 0) {
            for (size_t k = 0; k < a->nents; k++)
                if (!a->ents[k].deleting && a->ents[k].src == src)
                    ks_worker_poke(a->ents[k].w, true);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* The source's Services and Endpoints into the service proxy; false when
 * the source failed (tried again later). */
static bool list_services(struct ks_agent *a, size_t idx)
{
    struct ks_agent_source *src = a->opts.sources[idx];
    const char *kinds[] = {"Service", "Endpoints"};
    for (size_t k = 0; k < 2; k++) {
        json_t *items = NULL;
        int rc =
            src->ops->list_objects ? src->ops->list_objects(src, &items, kinds[k]) : KS_ENOTFOUND;
        if (rc == KS_ENOTFOUND) {
            items = json_array();
        } else if (rc < 0) {
            ks_log(KS_LOG_WARN, "source list of Services failed; retrying", "source",
                   src->ops->name, "kind", kinds[k], "error", ks_error_last(), NULL);
            return false;
        }
        ks_services_list(a->opts.services, idx, kinds[k], items);
        json_decref(items);
    }
    return true;
}

static void *watch_main(void *arg)
{
    struct watch_ctx *ctx = arg;
    struct ks_agent *a = ctx->a;
    struct ks_agent_source *src = a->opts.sources[ctx->idx];
    int64_t rev = 0, backoff = BACKOFF_MIN_MS, svc_retry_ms = 0;
    bool need_list = true, svc_pending = false;
    while (!stopping(a)) {
        json_t *out = NULL;
        int rc;
        if (need_list) {
            if ((rc = src->ops->list(src, &out, &rev)) < 0) {
                ks_log(KS_LOG_WARN, "source list failed; pods keep running", "source",
                       src->ops->name, "error", ks_error_last(), NULL);
                nap(a, backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            apply_list(a, ctx->idx, out);
            json_decref(out);
            need_list = false;
            svc_pending = a->opts.services != NULL;
            svc_retry_ms = 0;
            backoff = BACKOFF_MIN_MS;
            continue;
        }
        /* Services after the pods' list: a change in between is also
         * replayed by the watch from rev (putting it twice is harmless);
         * a failure never holds pods back, it is retried every 5 s */
        if (svc_pending && ks_agent_mono_ms() >= svc_retry_ms) {
            svc_pending = !list_services(a, ctx->idx);
            svc_retry_ms = ks_agent_mono_ms() + SERVICES_RETRY_MS;
        }
        int64_t next = rev;
        rc = src->ops->watch(src, &out, &next, rev, WATCH_TIMEOUT_MS);
        if (rc == KS_EGONE) {
            ks_log(KS_LOG_INFO, "watch position gone; listing again", "source", src->ops->name,
                   NULL);
            need_list = true;
            continue;
        }
        if (rc < 0) {
            if (stopping(a))
                break;
            ks_log(KS_LOG_WARN, "source watch failed; pods keep running", "source", src->ops->name,
                   "error", ks_error_last(), NULL);
            nap(a, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_MS;
        apply_changes(a, ctx->idx, out);
        json_decref(out);
        rev = next;
    }
    return NULL;
}

static void on_rt_event(const struct ks_runtime_event *ev, void *ud)
{
    struct ks_agent *a = ud;
    if (!*ev->pod_uid)
        return;
    /* a pod's infra container came or went: the services manager looks */
    if (a->opts.services && (strcmp(ev->action, "start") == 0 || strcmp(ev->action, "died") == 0 ||
                             strcmp(ev->action, "remove") == 0))
        ks_services_poke(a->opts.services);
    pthread_mutex_lock(&a->mu);
    bool owned = false;
    for (size_t i = 0; i < a->nents; i++) {
        if (ks_worker_has_uid(a->ents[i].w, ev->pod_uid)) {
            ks_worker_event(a->ents[i].w, ev);
            owned = true;
        }
    }
    if (!owned && strcmp(ev->action, "create") == 0) {
        a->resync_now = true; /* someone made a labelled object: look for orphans */
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
}

static void *events_main(void *arg)
{
    struct ks_agent *a = arg;
    char sel[300];
    snprintf(sel, sizeof(sel), "%s=%s", KS_AGENT_LABEL_NODE, a->node);
    const char *labels[] = {sel, NULL};
    int64_t backoff = BACKOFF_MIN_MS;
    while (!stopping(a)) {
        int64_t t0 = ks_agent_mono_ms();
        int rc = a->sh.rt->ops->events_run(a->sh.rt, labels, on_rt_event, a);
        if (stopping(a))
            break;
        /* a stream that failed at once (runtime down) is retried with
         * back-off, 1 s doubling to 5 s; one that ran is retried in 1 s */
        if (ks_agent_mono_ms() - t0 > 5000)
            backoff = BACKOFF_MIN_MS;
        if (rc < 0 && backoff == BACKOFF_MIN_MS)
            ks_log(KS_LOG_WARN, "runtime event stream ended; reconnecting", "error",
                   ks_error_last(), NULL);
        nap(a, backoff);
        backoff = backoff * 2 > EVENTS_BACKOFF_MAX_MS ? EVENTS_BACKOFF_MAX_MS : backoff * 2;
        /* events may have been missed: every worker checks its pod */
        pthread_mutex_lock(&a->mu);
        for (size_t i = 0; i < a->nents; i++)
            ks_worker_poke(a->ents[i].w, false);
        pthread_mutex_unlock(&a->mu);
    }
    return NULL;
}

static struct ks_agent_source *source_named(struct ks_agent *a, const char *name)
{
    for (size_t i = 0; i < a->opts.nsources; i++)
        if (name && strcmp(a->opts.sources[i]->ops->name, name) == 0)
            return a->opts.sources[i];
    return a->opts.sources[0];
}

/* Removes labelled pods whose uid no worker owns (after every source has
 * listed once, so nothing still to be assigned is removed). */
static void remove_orphans(struct ks_agent *a)
{
    struct ks_runtime *rt = a->sh.rt;
    char sel[300];
    json_t *pods = NULL, *p;
    size_t i;
    snprintf(sel, sizeof(sel), "%s=%s", KS_AGENT_LABEL_NODE, a->node);
    const char *labels[] = {sel, NULL};
    if (rt->ops->pod_list(rt, &pods, labels) < 0) {
        ks_log(KS_LOG_WARN, "resync: cannot list pods", "error", ks_error_last(), NULL);
        return;
    }
    json_array_foreach(pods, i, p)
    {
        const json_t *l = json_object_get(p, "labels");
        const char *uid = json_string_value(json_object_get(l, KS_AGENT_LABEL_UID));
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *podkey = json_string_value(json_object_get(l, KS_AGENT_LABEL_POD));
        if (!uid || !id)
            continue;
        bool owned = false;
        pthread_mutex_lock(&a->mu);
        for (size_t k = 0; k < a->nents && !owned; k++)
            owned = ks_worker_has_uid(a->ents[k].w, uid);
        pthread_mutex_unlock(&a->mu);
        if (owned)
            continue;
        char ns[256] = "", name[256] = "";
        if (podkey) {
            const char *slash = strchr(podkey, '/');
            if (slash) {
                snprintf(ns, sizeof(ns), "%.*s", (int)(slash - podkey), podkey);
                snprintf(name, sizeof(name), "%s", slash + 1);
            }
        }
        int rc = rt->ops->pod_stop(rt, id, 10);
        rc = rt->ops->pod_remove(rt, id);
        const char *action = rc < 0 && rc != KS_ENOTFOUND ? "reported" : "removed";
        char msg[700], t[32];
        snprintf(msg, sizeof(msg), "pod %s (uid %s) runs on this node but nothing assigns it; %s",
                 podkey ? podkey : id, uid, action);
        ks_agent_time_format(t, ks_agent_now_ns());
        ks_log(KS_LOG_WARN, "drift", "what", "orphan", "pod", podkey ? podkey : id, "action",
               action, NULL);
        json_t *ev = json_pack("[{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
                               "s:s, s:s}]",
                               "type", "Warning", "reason", "Drift", "message", msg, "object",
                               "kind", "Pod", "namespace", ns, "name", name, "uid", uid, "drift",
                               "what", "orphan", "found", "a labelled pod no assignment explains",
                               "action", action, "time", t, "source", "nodeagent");
        ks_agent_emit(source_named(a, json_string_value(json_object_get(l, KS_AGENT_LABEL_SOURCE))),
                      ev);
    }
    json_decref(pods);
}

static void resync(struct ks_agent *a)
{
    bool all_listed = true;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->opts.nsources; i++)
        all_listed = all_listed && a->listed[i];
    for (size_t i = 0; i < a->nents; i++)
        ks_worker_poke(a->ents[i].w, true);
    pthread_mutex_unlock(&a->mu);
    ks_services_poke(a->opts.services);
    if (all_listed)
        remove_orphans(a);
}

static void reap(struct ks_agent *a)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nents;) {
        struct entry *e = &a->ents[i];
        if (e->deleting && ks_worker_exited(e->w)) {
            json_t *then = e->then;
            struct ks_agent_source *src = e->src;
            ks_worker_join_free(e->w);
            free(e->key);
            json_decref(e->given);
            a->ents[i] = a->ents[--a->nents];
            if (then) {
                upsert(a, src, then);
                json_decref(then);
            }
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&a->mu);
}

static void heartbeat(struct ks_agent *a, bool *registered)
{
    for (size_t i = 0; i < a->opts.nsources; i++) {
        struct ks_agent_source *s = a->opts.sources[i];
        int rc;
        if (registered[i]) {
            rc = s->ops->heartbeat(s);
            if (rc == KS_ENOTFOUND) {
                ks_log(KS_LOG_WARN, "control plane forgot this node; registering again", "source",
                       s->ops->name, NULL);
                registered[i] = false;
            } else if (rc < 0) {
                ks_log(KS_LOG_WARN, "heartbeat failed", "source", s->ops->name, "error",
                       ks_error_last(), NULL);
            }
        }
        if (!registered[i]) {
            rc = s->ops->register_node(s, a->node_report);
            if (rc < 0)
                ks_log(KS_LOG_WARN, "node registration failed", "source", s->ops->name, "error",
                       ks_error_last(), NULL);
            else
                registered[i] = true;
        }
    }
}

int ks_agent_run(struct ks_agent *a)
{
    bool registered[KS_AGENT_MAX_SOURCES] = {false};
    int rc = 0;
    if (a->node_report)
        heartbeat(a, registered);
    for (size_t i = 0; i < a->opts.nsources; i++) {
        a->wctx[i] = (struct watch_ctx){.a = a, .idx = i};
        if (pthread_create(&a->watch_th[i], NULL, watch_main, &a->wctx[i]) != 0) {
            rc = ks_error_set(KS_ERROR, "cannot start the watch thread");
            goto done;
        }
        a->watch_started[i] = true;
    }
    if (pthread_create(&a->events_th, NULL, events_main, a) != 0) {
        rc = ks_error_set(KS_ERROR, "cannot start the events thread");
        goto done;
    }
    a->events_started = true;
    int64_t next_hb = ks_agent_mono_ms() + a->opts.heartbeat_ms;
    int64_t next_resync = ks_agent_mono_ms() + a->opts.resync_ms;
    while (!stopping(a)) {
        int64_t now = ks_agent_mono_ms();
        if (a->node_report && now >= next_hb) {
            heartbeat(a, registered);
            next_hb = now + a->opts.heartbeat_ms;
        }
        pthread_mutex_lock(&a->mu);
        bool now_resync = a->resync_now;
        a->resync_now = false;
        pthread_mutex_unlock(&a->mu);
        if (now_resync || now >= next_resync) {
            resync(a);
            next_resync = ks_agent_mono_ms() + a->opts.resync_ms;
        }
        reap(a);
        int64_t wait = next_resync - ks_agent_mono_ms();
        if (a->node_report && next_hb - ks_agent_mono_ms() < wait)
            wait = next_hb - ks_agent_mono_ms();
        if (wait > 1000)
            wait = 1000;
        if (wait > 0) {
            pthread_mutex_lock(&a->mu);
            if (!stopping(a) && !a->resync_now) {
                struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, wait);
                pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            }
            pthread_mutex_unlock(&a->mu);
        }
    }
done:
    ks_agent_stop(a);
    for (size_t i = 0; i < a->opts.nsources; i++)
        if (a->watch_started[i]) {
            pthread_join(a->watch_th[i], NULL);
            a->watch_started[i] = false;
        }
    if (a->events_started) {
        pthread_join(a->events_th, NULL);
        a->events_started = false;
    }
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nents; i++)
        ks_worker_stop(a->ents[i].w);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void ks_agent_stop(struct ks_agent *a)
{
    atomic_store(&a->sh.stopping, true);
    pthread_mutex_lock(&a->mu);
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < a->opts.nsources; i++)
        a->opts.sources[i]->ops->interrupt(a->opts.sources[i]);
    a->sh.rt->ops->events_stop(a->sh.rt);
}

int ks_agent_new(struct ks_agent **out, const struct ks_agent_opts *opts)
{
    struct ks_agent *a;
    if (!opts->node || !*opts->node || !opts->state_dir || !opts->rt || opts->nsources == 0 ||
        opts->nsources > KS_AGENT_MAX_SOURCES)
        return ks_error_set(KS_EINVALID,
                            "agent: a node name, a state dir, a runtime and 1 to %d sources are "
                            "needed",
                            KS_AGENT_MAX_SOURCES);
    if (!(a = calloc(1, sizeof(*a))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    a->opts = *opts;
    a->node = strdup(opts->node);
    a->state_dir = strdup(opts->state_dir);
    a->podman_socket = opts->podman_socket ? strdup(opts->podman_socket) : NULL;
    a->node_report = opts->node_report ? json_deep_copy(opts->node_report) : NULL;
    {
        size_t i;
        json_t *ad;
        const char *ip = NULL;
        json_array_foreach(json_object_get(a->node_report, "addresses"), i, ad)
        {
            const char *type = json_string_value(json_object_get(ad, "type"));
            if (!ip && type && strcmp(type, "InternalIP") == 0)
                ip = json_string_value(json_object_get(ad, "address"));
        }
        a->host_ip = strdup(ip ? ip : "");
    }
    if (!a->opts.resync_ms)
        a->opts.resync_ms = 30000;
    if (!a->opts.heartbeat_ms)
        a->opts.heartbeat_ms = 10000;
    if (!a->opts.max_pods)
        a->opts.max_pods = 110;
    a->sh = (struct ks_agent_shared){
        .node = a->node,
        .state_dir = a->state_dir,
        .podman_socket = a->podman_socket,
        .host_ip = a->host_ip,
        .rt = opts->rt,
        .backoff = {.base_ms = opts->backoff_base_ms ? opts->backoff_base_ms : 10000,
                    .max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 300000,
                    .reset_ms = opts->backoff_reset_ms ? opts->backoff_reset_ms : 600000},
        .resync_ms = a->opts.resync_ms,
    };
    atomic_init(&a->sh.stopping, false);
    if (opts->parallel_creates > 0) {
        sem_init(&a->create_slots, 0, opts->parallel_creates);
        a->sh.create_slots = &a->create_slots;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = ks_mkdir_p(a->state_dir, 0700);
    if (rc < 0) {
        ks_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void ks_agent_free(struct ks_agent *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nents; i++) {
        ks_worker_stop(a->ents[i].w);
        ks_worker_join_free(a->ents[i].w);
        free(a->ents[i].key);
        json_decref(a->ents[i].given);
        json_decref(a->ents[i].then);
    }
    free(a->ents);
    json_decref(a->node_report);
    free(a->node);
    free(a->state_dir);
    free(a->podman_socket);
    free(a->host_ip);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    if (a->sh.create_slots)
        sem_destroy(a->sh.create_slots);
    free(a);
}
