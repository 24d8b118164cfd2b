/*
 * worker.c: one pod worker, one thread per assigned pod. The worker owns
 * everything its pod has in the runtime: it realises the Pod (volumes, pod
 * with port mappings, init containers in order, containers), restarts
 * containers by restartPolicy with CrashLoopBackOff, runs probes, notices
 * drift (out-of-band stops, removals, spec changes) and restores the pod
 * unless keelson.io/self-heal is "false", and reports the pod's status to
 * its source whenever it changes.
 *
 * It wakes on: a new version of the pod, its deletion, a runtime event for
 * one of its containers, a resync poke, or its own timers (backoff expiry,
 * probe periods, retries). Between wakes it sleeps on its condition.
 */
#include "nodeagent/agent/downward.h"
#include "nodeagent/agent/internal.h"

#include "core/deadline.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 5000             /* pod-level problems (runtime down, volumes) */
#define OWN_SLACK_NS 2000000000LL /* events this close to our own ops are ours */
/* self-heal off: a container removed out of band is reported as removed
 * only when no container with its name and labels replaced it by then
 * (podman rm -f, then podman run: a replacement, compared with the spec) */
#define REPLACE_WAIT_MS 3000

struct ks_worker {
    struct ks_agent *agent;
    const struct ks_agent_shared *sh;
    struct ks_agent_source *src;
    pthread_t th;
    bool th_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    json_t *next;
    bool deleted, wake, refresh, stop, exited;
    bool ev_wake;  /* runtime events arrived: a pass unless seen_mark() covers them */
    int64_t ev_ns; /* the latest of their times */
    /* wall ns just before the last pod inspect (ctr read marks: ks_ctr) */
    _Atomic int64_t pod_read_ns;
    char uid[80];
    struct ks_ctr *ctrs;
    size_t nctrs;
    /* worker thread only */
    json_t *pod;
    char *ns, *name, *pname;
    char *pod_id;
    bool had_pod;
    bool pod_held; /* removed out of band with self-heal off: left as found */
    char pod_ip[64];
    json_t *volmap;
    bool vol_ready;
    enum ks_restart_policy policy;
    bool self_heal;
    int grace_s;
    int64_t start_ns;
    char *reason, *message;
    json_t *last_built, *last_reported;
    bool images_ok;   /* this pass already found every missing container's image */
    bool batched;     /* this pass created the pod with its containers */
    int64_t batch_ms; /* when: containers due then were created with the pod */
    int64_t next_ms;  /* earliest wanted sync */
    int64_t pod_backoff_ms;
    int64_t report_retry_ms;
};

bool ks_worker_has_uid(struct ks_worker *w, const char *uid)
{
    pthread_mutex_lock(&w->mu);
    bool same = strcmp(w->uid, uid) == 0;
    pthread_mutex_unlock(&w->mu);
    return same;
}

struct ks_agent_source *ks_worker_source(struct ks_worker *w)
{
    return w->src;
}

static void want(struct ks_worker *w, int64_t at_ms)
{
    if (at_ms < w->next_ms)
        w->next_ms = at_ms;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? strdup(s) : NULL;
}

static void set_reason(struct ks_worker *w, const char *reason, const char *msg)
{
    if (reason && w->reason && strcmp(reason, w->reason) == 0 && w->message && msg &&
        strcmp(msg, w->message) == 0)
        return;
    if (reason)
        ks_log(KS_LOG_WARN, "pod problem", "pod", w->name, "ns", w->ns, "reason", reason, "message",
               msg ? msg : "", NULL);
    set_str(&w->reason, reason);
    set_str(&w->message, msg);
}

static void ctr_wait(struct ks_ctr *c, const char *reason, const char *msg)
{
    set_str(&c->wait_reason, reason);
    set_str(&c->wait_msg, msg);
}

static void ctr_release(struct ks_ctr *c)
{
    free(c->name);
    json_decref(c->spec);
    free(c->id);
    free(c->image_id);
    free(c->made_id);
    json_decref(c->want_env);
    json_decref(c->env_names);
    json_decref(c->image_env);
    free(c->image_env_of);
    free(c->wait_reason);
    free(c->wait_msg);
    free(c->start_error);
    json_decref(c->last_term);
    for (int k = 0; k < 3; k++)
        if (c->has_probe[k])
            ks_probe_spec_release(&c->probe_spec[k]);
}

static void free_ctrs(struct ks_ctr *ctrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ctr_release(&ctrs[i]);
    free(ctrs);
}

/* --- drift events -------------------------------------------------------- */

/* One Drift event. found_obj/desired_obj (stolen, may be NULL): what the
 * container runs instead and what the spec says, as keys of the Kubernetes
 * container (drift.found / drift.desired); else drift.found is the text. */
static void drift_ex(struct ks_worker *w, const char *what, const char *ctr, const char *found,
                     const char *action, json_t *found_obj, json_t *desired_obj)
{
    char msg[512], t[32];
    ks_agent_time_format(t, ks_agent_now_ns());
    if (ctr)
        snprintf(msg, sizeof(msg), "container %s of pod %s/%s: %s; %s", ctr, w->ns, w->name, found,
                 action);
    else
        snprintf(msg, sizeof(msg), "pod %s/%s: %s; %s", w->ns, w->name, found, action);
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s}", "type",
                  "Warning", "reason", "Drift", "message", msg, "object", "kind", "Pod",
                  "namespace", w->ns, "name", w->name, "uid", w->uid, "drift", "what", what,
                  "found", found, "action", action, "time", t, "source", "nodeagent");
    json_t *d = json_object_get(ev, "drift");
    if (ctr)
        json_object_set_new(d, "container", json_string(ctr));
    if (found_obj)
        json_object_set_new(d, "found", found_obj);
    if (desired_obj)
        json_object_set_new(d, "desired", desired_obj);
    ks_log(KS_LOG_WARN, "drift", "pod", w->name, "ns", w->ns, "what", what, "container",
           ctr ? ctr : "", "found", found, "action", action, NULL);
    ks_agent_emit(w->src, json_pack("[o]", ev));
}

static void drift(struct ks_worker *w, const char *what, const char *ctr, const char *found,
                  const char *action)
{
    drift_ex(w, what, ctr, found, action, NULL, NULL);
}

/* --- own operations ----------------------------------------------------- */

static void own_begin(struct ks_ctr *c)
{
    atomic_store(&c->own_from_ns, ks_agent_now_ns());
    atomic_store(&c->own_to_ns, INT64_MAX);
}

static void own_end(struct ks_ctr *c)
{
    atomic_store(&c->own_to_ns, ks_agent_now_ns() + OWN_SLACK_NS);
}

static void all_own(struct ks_worker *w, bool begin)
{
    for (size_t i = 0; i < w->nctrs; i++)
        begin ? own_begin(&w->ctrs[i]) : own_end(&w->ctrs[i]);
}

/* Events are delivered late (Podman's stream trails by 100-300 ms) and most
 * of them come from the worker's own creates and starts. An event that
 * happened before the worker last read every object of its pod (Podman
 * records it under the object's lock, an inspect takes the same lock) is
 * already in what the worker saw, so it needs no new pass: the worker
 * checks that when it wakes (seen_mark), not when the event arrives. */
static int64_t seen_mark(struct ks_worker *w)
{
    int64_t m = atomic_load(&w->pod_read_ns);
    for (size_t i = 0; i < w->nctrs; i++) {
        if (!w->ctrs[i].id)
            continue;
        int64_t r = atomic_load(&w->ctrs[i].read_ns);
        if (r < m)
            m = r;
    }
    return m;
}

void ks_worker_event(struct ks_worker *w, const struct ks_runtime_event *ev)
{
    pthread_mutex_lock(&w->mu);
    bool stop = strcmp(ev->action, "kill") == 0 || strcmp(ev->action, "stop") == 0;
    if (strcmp(ev->type, "container") == 0 && *ev->ctr_name && stop) {
        for (size_t i = 0; i < w->nctrs; i++) {
            struct ks_ctr *c = &w->ctrs[i];
            if (strcmp(c->name, ev->ctr_name) != 0)
                continue;
            int64_t from = atomic_load(&c->own_from_ns), to = atomic_load(&c->own_to_ns);
            if (!(ev->time_ns >= from - OWN_SLACK_NS && ev->time_ns <= to))
                atomic_store(&c->oob_stop, true);
        }
    }
    if (stop || ev->time_ns <= 0) {
        w->wake = true;
    } else {
        w->ev_wake = true;
        if (ev->time_ns > w->ev_ns)
            w->ev_ns = ev->time_ns;
    }
    {
        char t[32];
        snprintf(t, sizeof(t), "%lld", (long long)ev->time_ns);
        ks_log(KS_LOG_DEBUG, "runtime event", "pod", w->pname ? w->pname : "", "type", ev->type,
               "action", ev->action, "container", ev->ctr_name, "time_ns", t, NULL);
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* --- setup from the Pod ------------------------------------------------- */

static int build_ctrs(struct ks_worker *w, struct ks_ctr **out, size_t *out_n, const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *lists[2] = {json_object_get(spec, "initContainers"),
                              json_object_get(spec, "containers")};
    size_t n = json_array_size(lists[0]) + json_array_size(lists[1]), k = 0;
    struct ks_ctr *ctrs;
    int rc = 0;
    (void)w;
    if (json_array_size(lists[1]) == 0)
        return ks_error_set(KS_EINVALID, "spec.containers: the pod has no containers");
    if (n > KS_AGENT_MAX_CONTAINERS)
        return ks_error_set(KS_ELIMIT, "the pod has %zu containers, over the limit of %d", n,
                            KS_AGENT_MAX_CONTAINERS);
    if (!(ctrs = calloc(n, sizeof(*ctrs))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(lists[l], i, c)
        {
            struct ks_ctr *x = &ctrs[k++];
            const char *name = json_string_value(json_object_get(c, "name"));
            const char *image = json_string_value(json_object_get(c, "image"));
            if (!name || !*name || !image || !*image) {
                rc = ks_error_set(KS_EINVALID, "spec.%s[%zu]: name and image are required",
                                  l ? "containers" : "initContainers", i);
                goto done;
            }
            for (size_t j = 0; j + 1 < k; j++)
                if (strcmp(ctrs[j].name, name) == 0) {
                    rc = ks_error_set(KS_EINVALID, "container name \"%s\" is used twice", name);
                    goto done;
                }
            x->name = strdup(name);
            x->init = l == 0;
            x->spec = json_incref(c);
            x->started = x->ready = false;
            atomic_init(&x->own_from_ns, 0);
            atomic_init(&x->own_to_ns, 0);
            atomic_init(&x->oob_stop, false);
            atomic_init(&x->read_ns, 0);
            if ((rc = ks_agent_spec_hash(x->hash, c)) < 0)
                goto done;
            static const char *const keys[3] = {"livenessProbe", "readinessProbe", "startupProbe"};
            for (int p = 0; p < 3 && !x->init; p++) {
                const json_t *pr = json_object_get(c, keys[p]);
                if (!pr || json_is_null(pr))
                    continue;
                if ((rc = ks_probe_spec_parse(&x->probe_spec[p], pr, c)) < 0) {
                    rc = ks_error_wrap(rc, "container %s: %s", name, keys[p]);
                    goto done;
                }
                x->has_probe[p] = true;
            }
        }
    }
    *out = ctrs;
    *out_n = n;
    return 0;
done:
    free_ctrs(ctrs, n);
    return rc;
}

static void labels_for(json_t *labels, struct ks_worker *w)
{
    char pod[600];
    snprintf(pod, sizeof(pod), "%s/%s", w->ns, w->name);
    json_object_set_new(labels, KS_AGENT_LABEL_MANAGED, json_string("true"));
    json_object_set_new(labels, KS_AGENT_LABEL_NODE, json_string(w->sh->node));
    json_object_set_new(labels, KS_AGENT_LABEL_UID, json_string(w->uid));
    json_object_set_new(labels, KS_AGENT_LABEL_POD, json_string(pod));
    json_object_set_new(labels, KS_AGENT_LABEL_SOURCE, json_string(w->src->ops->name));
}

static char *pod_dir(struct ks_worker *w, const char *uid)
{
    return ks_strdupf("%s/pods/%s", w->sh->state_dir, uid);
}

/* Removes the pod and its volume files (deletion, or a new uid). */
static void teardown(struct ks_worker *w)
{
    struct ks_runtime *rt = w->sh->rt;
    const char *target = w->pod_id ? w->pod_id : w->pname;
    if (!target)
        return;
    all_own(w, true);
    int rc = rt->ops->pod_stop(rt, target, w->grace_s);
    if (rc < 0 && rc != KS_ENOTFOUND)
        ks_log(KS_LOG_WARN, "pod stop failed", "pod", w->pname, "error", ks_error_last(), NULL);
    rc = rt->ops->pod_remove(rt, target);
    if (rc < 0 && rc != KS_ENOTFOUND)
        ks_log(KS_LOG_WARN, "pod remove failed", "pod", w->pname, "error", ks_error_last(), NULL);
    all_own(w, false);
    char *dir = pod_dir(w, w->uid);
    if (dir)
        ks_agent_rmtree(dir);
    free(dir);
    ks_log(KS_LOG_INFO, "pod removed", "pod", w->pname, "uid", w->uid, NULL);
    free(w->pod_id);
    w->pod_id = NULL;
    w->had_pod = false;
}

/* Takes a new version of the pod. */
static void apply_pod(struct ks_worker *w, json_t *pod)
{
    const json_t *md = json_object_get(pod, "metadata");
    const char *uid = json_string_value(json_object_get(md, "uid"));
    char hex[65];
    struct ks_ctr *ctrs = NULL;
    size_t n = 0;
    if (!uid || !*uid) {
        char *text = json_dumps(pod, JSON_COMPACT | JSON_SORT_KEYS);
        ks_sha256_hex(hex, text ? text : "", text ? strlen(text) : 0);
        free(text);
        hex[32] = '\0';
        uid = hex;
    }
    if (w->pod && strcmp(uid, w->uid) != 0) {
        teardown(w);
        pthread_mutex_lock(&w->mu);
        free_ctrs(w->ctrs, w->nctrs);
        w->ctrs = NULL;
        w->nctrs = 0;
        pthread_mutex_unlock(&w->mu);
        json_decref(w->last_reported);
        json_decref(w->last_built);
        w->last_reported = w->last_built = NULL;
        w->start_ns = 0;
        w->vol_ready = false;
        w->pod_held = false;
    }
    json_decref(w->pod);
    w->pod = pod;
    const json_t *spec = json_object_get(pod, "spec");
    const char *ann = json_string_value(
        json_object_get(json_object_get(md, "annotations"), KS_AGENT_ANN_SELF_HEAL));
    w->self_heal = !(ann && strcmp(ann, "false") == 0);
    json_int_t grace = 30;
    if (json_is_integer(json_object_get(spec, "terminationGracePeriodSeconds")))
        grace = json_integer_value(json_object_get(spec, "terminationGracePeriodSeconds"));
    w->grace_s = grace < 0 ? 0 : grace > 3600 ? 3600 : (int)grace;
    set_reason(w, NULL, NULL);
    int rc = ks_agent_restart_policy_parse(
        &w->policy, json_string_value(json_object_get(spec, "restartPolicy")));
    if (rc == 0)
        rc = build_ctrs(w, &ctrs, &n, pod);
    if (rc < 0) {
        set_reason(w, "InvalidPod", ks_error_last());
        n = 0;
        ctrs = NULL;
    }
    /* keep what still matches (same name and hash); containers that changed
     * are removed and made again */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < w->nctrs; j++) {
            struct ks_ctr *o = &w->ctrs[j];
            if (!o->name || strcmp(o->name, ctrs[i].name) != 0 ||
                strcmp(o->hash, ctrs[i].hash) != 0)
                continue;
            struct ks_ctr *x = &ctrs[i];
            x->id = o->id, o->id = NULL;
            x->image_id = o->image_id, o->image_id = NULL;
            x->made_id = o->made_id, o->made_id = NULL;
            x->want_env = o->want_env, o->want_env = NULL;
            x->env_names = o->env_names, o->env_names = NULL;
            x->image_env = o->image_env, o->image_env = NULL;
            x->image_env_of = o->image_env_of, o->image_env_of = NULL;
            x->have_state = o->have_state, x->st = o->st;
            x->restarts = o->restarts, x->backoff_ms = o->backoff_ms;
            x->next_start_ms = o->next_start_ms, x->seen_finished_ns = o->seen_finished_ns;
            x->restart_pending = o->restart_pending, x->completed = o->completed;
            x->last_term = o->last_term, o->last_term = NULL;
            x->start_failed = o->start_failed && w->policy == KS_RESTART_NEVER;
            x->start_error = o->start_error, o->start_error = NULL;
        }
    }
    for (size_t j = 0; j < w->nctrs; j++) {
        struct ks_ctr *o = &w->ctrs[j];
        if (!o->id)
            continue;
        own_begin(o);
        w->sh->rt->ops->ctr_remove(w->sh->rt, o->id);
        own_end(o);
    }
    pthread_mutex_lock(&w->mu);
    free_ctrs(w->ctrs, w->nctrs);
    w->ctrs = ctrs;
    w->nctrs = n;
    snprintf(w->uid, sizeof(w->uid), "%s", uid);
    pthread_mutex_unlock(&w->mu);
    w->vol_ready = false;
    w->next_ms = 0;
}

/* --- runtime steps -------------------------------------------------------- */

static bool runtime_down(int rc)
{
    return rc == KS_EIO || rc == KS_ETIMEOUT;
}

static void runtime_problem(struct ks_worker *w, int rc)
{
    set_reason(w, runtime_down(rc) ? "RuntimeUnavailable" : "RuntimeError", ks_error_last());
    want(w, ks_agent_mono_ms() + RETRY_MS);
}

static int64_t pod_retry(struct ks_worker *w)
{
    w->pod_backoff_ms = ks_agent_backoff_next(&w->sh->backoff, w->pod_backoff_ms, 0);
    int64_t at = ks_agent_mono_ms() + w->pod_backoff_ms;
    want(w, at);
    return at;
}

static int ensure_images(struct ks_worker *w)
{
    struct ks_runtime *rt = w->sh->rt;
    if (w->images_ok)
        return 0;
    for (size_t i = 0; i < w->nctrs; i++) {
        struct ks_ctr *c = &w->ctrs[i];
        if (c->id)
            continue;
        const char *image = json_string_value(json_object_get(c->spec, "image"));
        const char *pp = json_string_value(json_object_get(c->spec, "imagePullPolicy"));
        enum ks_pull_policy policy = !pp                         ? KS_PULL_IF_NOT_PRESENT
                                     : strcmp(pp, "Always") == 0 ? KS_PULL_ALWAYS
                                     : strcmp(pp, "Never") == 0  ? KS_PULL_NEVER
                                                                 : KS_PULL_IF_NOT_PRESENT;
        char *auth = NULL, *missing = NULL;
        int rc = 0;
        /* a Secret that is no registry credential, or a source that could
         * not answer, fails like a pull: the pod waits and is retried */
        if (json_array_size(json_object_get(json_object_get(w->pod, "spec"), "imagePullSecrets")) &&
            policy != KS_PULL_NEVER)
            rc = ks_agent_pull_auth(&auth, &missing, w->src, w->pod, image);
        bool secret_failed = rc < 0;
        if (rc == 0)
            rc = rt->ops->image_ensure(rt, image, policy, auth);
        free(auth);
        if (rc < 0 && missing) {
            /* as the kubelet: a Secret it could not find is named with the
             * pull's failure */
            char m[1200];
            snprintf(m, sizeof(m), "%s (imagePullSecrets not found in namespace %s: %s)",
                     ks_error_last(), w->ns, missing);
            ks_error_set(rc, "%s", m);
        }
        free(missing);
        if (rc < 0) {
            if (!secret_failed && runtime_down(rc) && strstr(ks_error_last(), "pull") == NULL) {
                runtime_problem(w, rc);
                return rc;
            }
            if (rc == KS_ENOTFOUND && policy == KS_PULL_NEVER) {
                /* the kubelet's words and reason; retried, as it does */
                char msg[1024];
                snprintf(msg, sizeof(msg),
                         "Container image \"%s\" is not present with pull policy of Never", image);
                ctr_wait(c, "ErrImageNeverPull", msg);
                set_reason(w, "ErrImageNeverPull", msg);
                pod_retry(w);
                return rc;
            }
            char msg[1024];
            snprintf(msg, sizeof(msg), "image %s: %s", image, ks_error_last());
            ctr_wait(c, c->wait_reason ? "ImagePullBackOff" : "ErrImagePull", msg);
            set_reason(w, "ErrImagePull", msg);
            pod_retry(w);
            return rc;
        }
        if (c->wait_reason && strstr(c->wait_reason, "ImagePull"))
            ctr_wait(c, NULL, NULL);
    }
    w->images_ok = true;
    return 0;
}

static int create_ctr(struct ks_worker *w, struct ks_ctr *c);

/* Takes one of the agent's creation slots (ks_agent_shared.create_slots). */
static void creation_enter(const struct ks_worker *w)
{
    if (w->sh->create_slots)
        while (sem_wait(w->sh->create_slots) != 0)
            ; /* EINTR */
}

static void creation_leave(const struct ks_worker *w)
{
    if (w->sh->create_slots)
        sem_post(w->sh->create_slots);
}

/* A container whose env takes the pod IP (downward API) can only be created
 * once the infra container runs. */
static bool needs_pod_ip(const json_t *ctr)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(ctr, "env"), i, e)
    {
        const char *path = json_string_value(json_object_get(
            json_object_get(json_object_get(e, "valueFrom"), "fieldRef"), "fieldPath"));
        if (path && (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0))
            return true;
    }
    return false;
}

/* The pod is gone, and with it every container. */
static void forget_pod(struct ks_worker *w)
{
    free(w->pod_id);
    w->pod_id = NULL;
    for (size_t i = 0; i < w->nctrs; i++) {
        free(w->ctrs[i].id);
        w->ctrs[i].id = NULL;
        w->ctrs[i].have_state = false;
    }
}

/* Pod inspect that keeps the read mark of seen_mark(). */
static int pod_read(struct ks_worker *w, json_t **out, const char *pod)
{
    int64_t t = ks_agent_now_ns();
    int rc = w->sh->rt->ops->pod_inspect(w->sh->rt, out, pod);
    if (rc == 0 || rc == KS_ENOTFOUND)
        atomic_store(&w->pod_read_ns, t);
    return rc;
}

/* Makes sure the Podman pod exists and runs; adopts one left by an earlier
 * agent when its uid matches. */
static int ensure_pod(struct ks_worker *w, bool *out_fresh)
{
    struct ks_runtime *rt = w->sh->rt;
    json_t *info = NULL;
    int rc = pod_read(w, &info, w->pod_id ? w->pod_id : w->pname);
    if (rc == 0) {
        const char *uid =
            json_string_value(json_object_get(json_object_get(info, "labels"), KS_AGENT_LABEL_UID));
        if (!uid || strcmp(uid, w->uid) != 0) {
            /* a pod of the same name from an older version of this pod */
            ks_log(KS_LOG_INFO, "removing stale pod", "pod", w->pname, "uid", uid ? uid : "", NULL);
            rt->ops->pod_stop(rt, w->pname, w->grace_s);
            rt->ops->pod_remove(rt, w->pname);
            json_decref(info);
            info = NULL;
            rc = KS_ENOTFOUND;
        }
    }
    if (rc == KS_ENOTFOUND && w->pod_id) {
        forget_pod(w);
        if (!w->self_heal) {
            drift(w, "pod-removed", NULL, "the pod was removed out of band", "reported");
            set_reason(w, "Drift", "the pod was removed out of band (self-heal is off)");
            w->had_pod = false;
            w->pod_held = true;
            return KS_ENOTFOUND;
        }
        drift(w, "pod-removed", NULL, "the pod was removed out of band", "recreated");
    }
    if (rc < 0 && rc != KS_ENOTFOUND) {
        runtime_problem(w, rc);
        return rc;
    }
    if (rc == 0) {
        if (!w->pod_id) {
            const char *id = json_string_value(json_object_get(info, "id"));
            w->pod_id = strdup(id ? id : w->pname);
            if (!w->had_pod)
                ks_log(KS_LOG_INFO, "pod adopted", "pod", w->pname, "id", w->pod_id, NULL);
            w->had_pod = true;
        }
        const char *state = json_string_value(json_object_get(info, "state"));
        if (state && (strcmp(state, "Exited") == 0 || strcmp(state, "Stopped") == 0 ||
                      strcmp(state, "Created") == 0)) {
            /* the infra container is down: nothing can run without it */
            if ((rc = rt->ops->pod_start(rt, w->pod_id)) < 0) {
                set_reason(w, "PodStartError", ks_error_last());
                pod_retry(w);
                json_decref(info);
                return rc;
            }
            json_decref(info);
            info = NULL;
            if (pod_read(w, &info, w->pod_id) < 0)
                info = NULL;
        }
        const char *ip = json_string_value(json_object_get(info, "ip"));
        snprintf(w->pod_ip, sizeof(w->pod_ip), "%s", ip ? ip : "");
        json_decref(info);
        return 0;
    }
    /* create: the pod, then (unless it has init containers, which run first
     * and one at a time, or a container whose env needs the pod IP) its
     * containers, then one pod start that starts the
     * infra container and the containers together, as `podman kube play`
     * does: one start call per pod instead of one for the pod and one per
     * container, and no container created after the infra runs */
    if ((rc = ensure_images(w)) < 0)
        return rc;
    creation_enter(w);
    json_t *labels = json_object();
    labels_for(labels, w);
    char *id = NULL;
    rc = rt->ops->pod_create(rt, &id, w->pod, w->pname, labels);
    json_decref(labels);
    if (rc < 0) {
        creation_leave(w);
        if (runtime_down(rc))
            runtime_problem(w, rc);
        else {
            set_reason(w, "PodCreateError", ks_error_last());
            pod_retry(w);
        }
        return rc;
    }
    w->pod_id = id;
    *out_fresh = true;
    bool batch = true;
    for (size_t i = 0; i < w->nctrs; i++)
        batch = batch && !w->ctrs[i].init && !needs_pod_ip(w->ctrs[i].spec);
    if (batch) {
        w->batch_ms = ks_agent_mono_ms();
        w->batched = true;
        for (size_t i = 0; i < w->nctrs; i++) {
            struct ks_ctr *c = &w->ctrs[i];
            if (!c->held && !c->id && c->next_start_ms <= w->batch_ms)
                create_ctr(w, c); /* a failure is recorded on the container */
        }
    }
    info = NULL;
    rc = rt->ops->pod_start(rt, id);
    creation_leave(w);
    if (rc < 0) {
        char msg[1024];
        const char *state = NULL;
        snprintf(msg, sizeof(msg), "%s", ks_error_last());
        if (!runtime_down(rc) && pod_read(w, &info, id) == 0)
            state = json_string_value(json_object_get(info, "state"));
        if (!state || (strcmp(state, "Running") != 0 && strcmp(state, "Degraded") != 0)) {
            /* the infra container did not start: nothing can run */
            json_decref(info);
            rt->ops->pod_remove(rt, id);
            forget_pod(w);
            w->batched = false;
            if (runtime_down(rc)) {
                runtime_problem(w, rc);
                return rc;
            }
            set_reason(w, strstr(msg, "address already in use") ? "PortInUse" : "PodStartError",
                       msg);
            pod_retry(w);
            return rc;
        }
        /* the infra container runs; a container that did not start stays
         * "created" and is started (and its own error reported) below */
        ks_log(KS_LOG_INFO, "pod started without some containers", "pod", w->pname, "error", msg,
               NULL);
    }
    w->had_pod = true;
    ks_log(KS_LOG_INFO, "pod created", "pod", w->pname, "id", id, NULL);
    if (info || pod_read(w, &info, id) == 0) {
        const char *ip = json_string_value(json_object_get(info, "ip"));
        snprintf(w->pod_ip, sizeof(w->pod_ip), "%s", ip ? ip : "");
    }
    json_decref(info);
    return 0;
}

static int inspect_ctr(struct ks_worker *w, struct ks_ctr *c, json_t **out_labels,
                       json_t **out_config)
{
    struct ks_runtime *rt = w->sh->rt;
    char *image_id = NULL;
    int64_t t = ks_agent_now_ns();
    int rc = rt->ops->ctr_inspect(rt, &c->st, out_labels, c->image_id ? NULL : &image_id,
                                  out_config, c->id);
    if (rc == 0 || rc == KS_ENOTFOUND)
        atomic_store(&c->read_ns, t);
    if (rc == 0) {
        c->have_state = true;
        if (image_id)
            c->image_id = image_id;
    }
    return rc;
}

static int start_ctr(struct ks_worker *w, struct ks_ctr *c)
{
    struct ks_runtime *rt = w->sh->rt;
    int rc = rt->ops->ctr_start(rt, c->id);
    if (rc < 0 && w->policy == KS_RESTART_NEVER && !runtime_down(rc) && rc != KS_ENOTFOUND &&
        rc != KS_ECONFLICT) {
        /* as the kubelet: terminated with StartError (exit code 128), never
         * started again, so the pod fails instead of staying Pending */
        ctr_wait(c, NULL, NULL);
        c->start_failed = true;
        set_str(&c->start_error, ks_error_last());
        ks_log(KS_LOG_WARN, "container failed to start (restartPolicy Never)", "pod", w->pname,
               "container", c->name, "error", c->start_error ? c->start_error : "", NULL);
        return rc;
    }
    if (rc < 0) {
        ctr_wait(c, "RunContainerError", ks_error_last());
        c->next_start_ms = pod_retry(w);
        return rc;
    }
    ctr_wait(c, NULL, NULL);
    inspect_ctr(w, c, NULL, NULL);
    return 0;
}

/* A resolved env list as {NAME: value} (later entries win). */
static json_t *env_map(const json_t *env)
{
    json_t *m = json_object(), *e;
    size_t i;
    json_array_foreach(env, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        const char *v = json_string_value(json_object_get(e, "value"));
        if (n)
            json_object_set_new(m, n, json_string(v ? v : ""));
    }
    return m;
}

static int create_ctr(struct ks_worker *w, struct ks_ctr *c)
{
    struct ks_runtime *rt = w->sh->rt;
    json_t *resolved = NULL, *labels = json_object();
    char *name = ks_strdupf("%s_%s", w->pname, c->name), *id = NULL;
    int rc;
    struct ks_agent_pod_facts facts = {.pod_ip = w->pod_ip, .host_ip = w->sh->host_ip};
    if ((rc = ks_agent_env_resolve(&resolved, w->src, w->pod, c->spec, &facts)) < 0) {
        ctr_wait(c, "CreateContainerConfigError", ks_error_last());
        set_reason(w, "CreateContainerConfigError", ks_error_last());
        pod_retry(w);
        goto done;
    }
    labels_for(labels, w);
    json_object_set_new(labels, KS_AGENT_LABEL_CTR, json_string(c->name));
    json_object_set_new(labels, KS_AGENT_LABEL_HASH, json_string(c->hash));
    struct ks_podman_ctr_ctx ctx = {.name = name,
                                    .pod = w->pod_id,
                                    .labels = labels,
                                    .volumes = w->volmap,
                                    .stop_timeout_s = w->grace_s};
    if ((rc = rt->ops->ctr_create(rt, &id, resolved, &ctx)) == KS_ECONFLICT) {
        /* a container of that name the listing did not show us: replace it */
        rt->ops->ctr_remove(rt, name);
        rc = rt->ops->ctr_create(rt, &id, resolved, &ctx);
    }
    if (rc < 0) {
        if (runtime_down(rc))
            runtime_problem(w, rc);
        else {
            ctr_wait(c, "CreateContainerError", ks_error_last());
            set_reason(w, "CreateContainerError", ks_error_last());
            pod_retry(w);
        }
        goto done;
    }
    c->id = id;
    c->have_state = false;
    c->seen_finished_ns = 0;
    json_decref(c->want_env);
    c->want_env = env_map(json_object_get(resolved, "env"));
    free(c->made_id);
    c->made_id = strdup(id);
    ks_log(KS_LOG_DEBUG, "container created", "pod", w->pname, "container", c->name, NULL);
done:
    free(name);
    json_decref(labels);
    json_decref(resolved);
    return rc;
}

/* Restart counts outlive the agent in <state>/pods/<uid>/restarts/<ctr>
 * (one decimal number), so an adopted container keeps its count. */
static char *restarts_path(struct ks_worker *w, const struct ks_ctr *c)
{
    return ks_strdupf("%s/pods/%s/restarts/%s", w->sh->state_dir, w->uid, c->name);
}

static void restarts_save(struct ks_worker *w, const struct ks_ctr *c)
{
    char *path = restarts_path(w, c), num[24];
    if (!path)
        return;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (ks_mkdir_p(path, 0700) == 0) {
        *slash = '/';
        FILE *f = fopen(path, "we");
        if (f) {
            snprintf(num, sizeof(num), "%d\n", c->restarts);
            fputs(num, f);
            fclose(f);
        }
    }
    free(path);
}

static void restarts_load(struct ks_worker *w, struct ks_ctr *c)
{
    char *path = restarts_path(w, c), *text = NULL;
    size_t n = 0;
    int64_t v = 0;
    if (path && ks_file_read(&text, &n, path, 32) == 0) {
        while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
            text[--n] = '\0';
        if (ks_str_to_i64(&v, text, "restart count") == 0 && v >= 0 && v < 1000000000)
            c->restarts = (int)v;
    }
    free(text);
    free(path);
}

static void kill_for_restart(struct ks_worker *w, struct ks_ctr *c)
{
    own_begin(c);
    w->sh->rt->ops->ctr_stop(w->sh->rt, c->id, w->grace_s);
    own_end(c);
    inspect_ctr(w, c, NULL, NULL);
}

/* Probes of one running container. */
static void run_probes(struct ks_worker *w, struct ks_ctr *c);

struct exec_ud {
    struct ks_runtime *rt;
    const char *ctr;
};

static int probe_exec(void *ud, int *out_exit, const char *const *argv, long timeout_ms)
{
    struct exec_ud *e = ud;
    return e->rt->ops->exec(e->rt, out_exit, e->ctr, argv, timeout_ms);
}

/* A new start of c (once per start): the probes' trackers start over;
 * without a startup probe the container counts as started, and without a
 * readiness probe as ready, as the kubelet reports it right after the
 * start. */
static void probes_epoch(struct ks_ctr *c)
{
    if (c->probe_epoch_ns == c->st.started_ns)
        return;
    c->probe_epoch_ns = c->st.started_ns;
    for (int k = 0; k < 3; k++)
        if (c->has_probe[k])
            ks_probe_tracker_init(&c->probe[k], &c->probe_spec[k], c->st.started_ns / 1000000);
    c->started = !c->has_probe[KS_PROBE_STARTUP];
    c->ready = c->started && !c->has_probe[KS_PROBE_READY];
}

static void run_probes(struct ks_worker *w, struct ks_ctr *c)
{
    int64_t now = ks_agent_now_ns() / 1000000;
    probes_epoch(c);
    struct exec_ud eu = {.rt = w->sh->rt, .ctr = c->id};
    struct ks_probe_target target = {
        .host = *w->pod_ip ? w->pod_ip : "127.0.0.1", .exec = probe_exec, .exec_ud = &eu};
    for (int k = 0; k < 3; k++) {
        if (!c->has_probe[k])
            continue;
        if (k == KS_PROBE_STARTUP ? c->started : !c->started)
            continue;
        struct ks_probe_tracker *t = &c->probe[k];
        if (ks_probe_tracker_due(t, now)) {
            enum ks_probe_outcome o = KS_PROBE_FAILURE;
            char msg[256] = "";
            if (ks_probe_check(&o, msg, sizeof(msg), &c->probe_spec[k], &target) < 0)
                snprintf(msg, sizeof(msg), "%s", ks_error_last());
            now = ks_agent_now_ns() / 1000000;
            if (ks_probe_tracker_record(t, o, now)) {
                static const char *const names[3] = {"Liveness", "Readiness", "Startup"};
                ks_log(KS_LOG_INFO, "probe result", "pod", w->pname, "container", c->name, "probe",
                       names[k], "result", t->result == 1 ? "success" : "failure", "message", msg,
                       NULL);
                if (k == KS_PROBE_READY)
                    c->ready = t->result == 1;
                if (k == KS_PROBE_STARTUP && t->result == 1) {
                    c->started = true;
                    c->ready = !c->has_probe[KS_PROBE_READY];
                }
                if ((k == KS_PROBE_LIVE || k == KS_PROBE_STARTUP) && t->result == 0) {
                    char m[400];
                    snprintf(m, sizeof(m), "%s probe failed: %s; restarting", names[k], msg);
                    set_str(&c->wait_msg, m);
                    kill_for_restart(w, c);
                    return;
                }
            }
        }
        /* the tracker's clock is wall ms: convert the due time to mono */
        int64_t in = t->next_due_ms - now;
        want(w, ks_agent_mono_ms() + (in > 0 ? in : 0));
    }
}

/* Removes the container (our own removal) and forgets it: made again. */
static void drop_ctr(struct ks_worker *w, struct ks_ctr *c)
{
    own_begin(c);
    w->sh->rt->ops->ctr_remove(w->sh->rt, c->id);
    own_end(c);
    free(c->id);
    c->id = NULL;
    c->have_state = false;
    free(c->image_id);
    c->image_id = NULL;
}

/* Compares what the container was configured with (image, command, args,
 * env) with its spec (specdrift.c). A difference is a spec-changed drift
 * with drift.found / drift.desired: self-heal removes the container (the
 * caller makes it again); off, it is reported once and held. True when the
 * caller must stop (held). */
static bool config_check(struct ks_worker *w, struct ks_ctr *c, const json_t *config)
{
    struct ks_runtime *rt = w->sh->rt;
    json_t *found = NULL, *desired = NULL;
    char *text = NULL;
    if (c->config_drift)
        return true;
    /* a container's config never changes under its id: one the agent made
     * needs no comparison (nor can Podman's own resolution of the spec,
     * e.g. a short-name alias, make it look drifted and loop) */
    if (!config || !c->image_id || !*c->image_id || (c->made_id && strcmp(c->made_id, c->id) == 0))
        return false;
    if (!c->image_env_of || strcmp(c->image_env_of, c->image_id) != 0) {
        json_t *env = NULL;
        char *of = strdup(c->image_id);
        if (!of || rt->ops->image_env(rt, &env, c->image_id) < 0) {
            free(of); /* judged on a later pass, never without the image's env */
            return false;
        }
        json_decref(c->image_env);
        free(c->image_env_of);
        c->image_env = env;
        c->image_env_of = of;
    }
    if (!c->want_env && !c->env_names && json_array_size(json_object_get(c->spec, "envFrom")) > 0) {
        /* adopted: which names envFrom brings (values may have changed) */
        json_t *resolved = NULL;
        struct ks_agent_pod_facts facts = {.pod_ip = w->pod_ip, .host_ip = w->sh->host_ip};
        if (ks_agent_env_resolve(&resolved, w->src, w->pod, c->spec, &facts) == 0) {
            c->env_names = env_map(json_object_get(resolved, "env"));
            json_decref(resolved);
        }
    }
    if (ks_agent_config_diff(&found, &desired, &text, c->spec, c->want_env, c->env_names, config,
                             c->image_env) <= 0)
        return false;
    if (!w->self_heal) {
        drift_ex(w, "spec-changed", c->name, text, "reported", found, desired);
        free(text);
        c->config_drift = c->held = true;
        return true;
    }
    drift_ex(w, "spec-changed", c->name, text, "recreated", found, desired);
    free(text);
    drop_ctr(w, c);
    return false;
}

/* One container: adopt, create, start, restart; true when it is "done"
 * for ordering purposes (init: completed; others: always). */
static void sync_ctr(struct ks_worker *w, struct ks_ctr *c, const json_t *listing)
{
    struct ks_runtime *rt = w->sh->rt;
    int64_t now = ks_agent_mono_ms();
    json_t *labels = NULL;
    int rc;
    if (!c->id && listing) {
        size_t i;
        json_t *e;
        json_array_foreach(listing, i, e)
        {
            const json_t *l = json_object_get(e, "labels");
            const char *cn = json_string_value(json_object_get(l, KS_AGENT_LABEL_CTR));
            const char *h = json_string_value(json_object_get(l, KS_AGENT_LABEL_HASH));
            const char *id = json_string_value(json_object_get(e, "id"));
            if (!cn || strcmp(cn, c->name) != 0 || !id || c->id)
                continue;
            if ((h && strcmp(h, c->hash) == 0) || !w->self_heal) {
                /* self-heal off: adopted as found, judged below */
                c->id = strdup(id);
                free(c->image_id);
                c->image_id = NULL;
                c->have_state = false;
                c->held = c->config_drift = false;
                c->gone_ms = 0;
                if (c->restarts == 0)
                    restarts_load(w, c);
                ks_log(KS_LOG_INFO, "container adopted", "pod", w->pname, "container", c->name,
                       "id", id, NULL);
            } else {
                drift(w, "spec-changed", c->name, "a container made from another spec",
                      "recreated");
                own_begin(c);
                rt->ops->ctr_remove(rt, id);
                own_end(c);
            }
        }
    }
    if (!c->id && c->gone_ms) {
        if (now - c->gone_ms < REPLACE_WAIT_MS) {
            want(w, c->gone_ms + REPLACE_WAIT_MS);
            return;
        }
        c->gone_ms = 0;
        drift(w, "container-removed", c->name, "the container was removed out of band", "reported");
        c->held = true;
        ctr_wait(c, "Drift", "removed out of band (self-heal is off)");
        return;
    }
    if (c->id) {
        json_t *config = NULL;
        rc = inspect_ctr(w, c, &labels, &config);
        if (rc == KS_ENOTFOUND) {
            free(c->id);
            c->id = NULL;
            c->have_state = false;
            free(c->image_id);
            c->image_id = NULL;
            if (!w->self_heal) {
                /* removed, or replaced: the next passes list what has its labels */
                c->gone_ms = now;
                want(w, now + REPLACE_WAIT_MS);
                return;
            }
            drift(w, "container-removed", c->name, "the container was removed out of band",
                  "recreated");
        } else if (rc < 0) {
            runtime_problem(w, rc);
            return;
        } else {
            const char *h = json_string_value(json_object_get(labels, KS_AGENT_LABEL_HASH));
            if (!h || strcmp(h, c->hash) != 0) {
                char found[128];
                snprintf(found, sizeof(found), "spec hash %s instead of %s", h ? h : "(none)",
                         c->hash);
                if (!w->self_heal) {
                    if (!c->held)
                        drift(w, "spec-changed", c->name, found, "reported");
                    c->held = true;
                    json_decref(labels);
                    json_decref(config);
                    return;
                }
                drift(w, "spec-changed", c->name, found, "recreated");
                drop_ctr(w, c);
            } else if (config_check(w, c, config)) {
                json_decref(labels);
                json_decref(config);
                return;
            }
        }
        json_decref(labels);
        json_decref(config);
    }
    if (c->held || c->start_failed)
        return;
    if (c->init && c->completed)
        return;
    if (!c->id) {
        if (c->next_start_ms > now) {
            want(w, c->next_start_ms);
            return;
        }
        if ((rc = ensure_images(w)) < 0)
            return;
        if ((rc = create_ctr(w, c)) < 0)
            return;
    }
    if (!c->have_state || (!c->st.running && c->st.started_ns == 0)) {
        if (c->next_start_ms > now) {
            want(w, c->next_start_ms);
            return;
        }
        /* a container without a readiness probe is Ready in the report that
         * says it runs (not one report later: half the status writes) */
        if (start_ctr(w, c) == 0 && c->have_state && c->st.running && !c->init)
            probes_epoch(c);
        return;
    }
    if (c->st.running) {
        if (c->wait_reason)
            ctr_wait(c, NULL, NULL);
        if (!c->init)
            run_probes(w, c);
        return;
    }
    /* exited */
    if (c->st.finished_ns != c->seen_finished_ns) {
        c->seen_finished_ns = c->st.finished_ns;
        bool oob = atomic_exchange(&c->oob_stop, false);
        int64_t ran_ms = (c->st.finished_ns - c->st.started_ns) / 1000000;
        c->started = c->ready = false;
        if (c->init && c->st.exit_code == 0 && !oob) {
            c->completed = true;
            return;
        }
        if (oob) {
            char found[128];
            snprintf(found, sizeof(found), "stopped out of band (exit code %d)", c->st.exit_code);
            if (!w->self_heal) {
                drift(w, "container-stopped", c->name, found, "reported");
                c->held = true;
                return;
            }
            drift(w, "container-stopped", c->name, found, "restarted");
            c->restart_pending = true;
            c->next_start_ms = now;
        } else if (c->init ? (c->st.exit_code != 0 && w->policy != KS_RESTART_NEVER)
                           : ks_agent_should_restart(w->policy, c->st.exit_code)) {
            c->backoff_ms = ks_agent_backoff_next(&w->sh->backoff, c->backoff_ms, ran_ms);
            c->restart_pending = true;
            c->next_start_ms = now + c->backoff_ms;
            ks_log(KS_LOG_INFO, "container exited", "pod", w->pname, "container", c->name, "exit",
                   c->st.exit_code == 0 ? "0" : "non-zero", NULL);
        } else {
            c->restart_pending = false;
        }
    }
    if (!c->restart_pending)
        return;
    if (now < c->next_start_ms) {
        char msg[300];
        snprintf(msg, sizeof(msg), "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                 (long long)(c->backoff_ms / 1000), c->name, w->name, w->ns, w->uid);
        ctr_wait(c, "CrashLoopBackOff", msg);
        want(w, c->next_start_ms);
        return;
    }
    json_decref(c->last_term);
    c->last_term = json_pack("{s:i, s:s}", "exitCode", c->st.exit_code, "reason",
                             c->st.oom_killed       ? "OOMKilled"
                             : c->st.exit_code == 0 ? "Completed"
                                                    : "Error");
    {
        char t[32];
        ks_agent_time_format(t, c->st.started_ns);
        json_object_set_new(c->last_term, "startedAt", json_string(t));
        ks_agent_time_format(t, c->st.finished_ns);
        json_object_set_new(c->last_term, "finishedAt", json_string(t));
    }
    if (start_ctr(w, c) == 0) {
        c->restarts++;
        restarts_save(w, c);
        c->restart_pending = false;
        if (c->have_state && c->st.running && !c->init)
            probes_epoch(c);
    }
}

static void report(struct ks_worker *w)
{
    struct ks_pod_view v = {.ns = w->ns,
                            .name = w->name,
                            .uid = w->uid,
                            .policy = w->policy,
                            .ctrs = w->ctrs,
                            .nctrs = w->nctrs,
                            .pod_ip = w->pod_ip,
                            .host_ip = w->sh->host_ip,
                            .start_ns = w->start_ns,
                            .reason = w->reason,
                            .message = w->message};
    json_t *st = ks_agent_status_build(&v, w->last_built, ks_agent_now_ns());
    json_decref(w->last_built);
    w->last_built = st;
    if (w->last_reported && json_equal(w->last_reported, st))
        return;
    /* The control-plane source only queues the status (its sender posts
     * batches and owns the retries from then on: 0 means "will be sent",
     * the newest status of the pod winning); the static pods source writes
     * it at once. A failure here (a full disk, no memory, a closing source)
     * is the worker's to retry. */
    int rc = w->src->ops->report_status(w->src, w->ns, w->name, st);
    if (rc < 0) {
        ks_log(KS_LOG_WARN, "status report failed", "pod", w->pname, "error", ks_error_last(),
               NULL);
        want(w, ks_agent_mono_ms() + RETRY_MS);
        return;
    }
    ks_log(KS_LOG_DEBUG, "status reported", "pod", w->pname, "phase",
           json_string_value(json_object_get(st, "phase")), NULL);
    json_decref(w->last_reported);
    w->last_reported = json_incref(st);
}

static void sync_pod(struct ks_worker *w, bool refresh)
{
    struct ks_runtime *rt = w->sh->rt;
    int rc;
    w->next_ms = ks_agent_mono_ms() + w->sh->resync_ms;
    w->images_ok = w->batched = false;
    if (!w->start_ns)
        w->start_ns = ks_agent_now_ns();
    if (w->nctrs == 0 || w->pod_held)
        goto out; /* InvalidPod or held drift: reason already set */
    if (!w->vol_ready || refresh) {
        json_t *map = NULL;
        const char *reason = NULL;
        char *dir = ks_strdupf("%s/pods/%s/volumes", w->sh->state_dir, w->uid);
        rc = dir ? ks_agent_volumes_prepare(&map, &reason, w->src, w->pod, dir,
                                            w->sh->podman_socket, w->sh->state_dir)
                 : ks_error_set(KS_ENOMEM, "out of memory");
        free(dir);
        if (rc < 0) {
            set_reason(w, reason ? reason : "VolumeError", ks_error_last());
            pod_retry(w);
            goto out;
        }
        json_decref(w->volmap);
        w->volmap = map;
        w->vol_ready = true;
    }
    bool fresh = false;
    if (ensure_pod(w, &fresh) < 0)
        goto out;
    json_t *listing = NULL;
    bool need_list = false; /* containers to adopt: never in a pod made just now */
    for (size_t i = 0; i < w->nctrs && !fresh; i++)
        need_list = need_list || !w->ctrs[i].id;
    if (need_list) {
        char uidl[128];
        snprintf(uidl, sizeof(uidl), "%s=%s", KS_AGENT_LABEL_UID, w->uid);
        const char *sel[] = {uidl, NULL};
        if ((rc = rt->ops->ctr_list(rt, &listing, sel)) < 0) {
            runtime_problem(w, rc);
            goto out;
        }
    }
    set_reason(w, NULL, NULL);
    bool init_ok = true;
    for (size_t i = 0; i < w->nctrs && init_ok; i++) {
        struct ks_ctr *c = &w->ctrs[i];
        if (!c->init)
            continue;
        sync_ctr(w, c, listing);
        if (!c->completed)
            init_ok = false;
    }
    for (size_t i = 0; i < w->nctrs && init_ok; i++) {
        struct ks_ctr *c = &w->ctrs[i];
        /* created with the pod just now, or failed to be (recorded) */
        if (w->batched && !c->id && !c->held && c->next_start_ms <= w->batch_ms)
            continue;
        if (!c->init)
            sync_ctr(w, c, listing);
    }
    json_decref(listing);
    if (!w->reason)
        w->pod_backoff_ms = 0;
out:
    report(w);
}

/* Whether key of a pod (or, inside, of its metadata) changes when nobody
 * changed the pod: its status (the worker's own reports come back through
 * the watch, unless the server leaves them out) and the store's
 * bookkeeping. */
static bool bookkeeping(const char *key, bool in_md)
{
    if (!in_md)
        return strcmp(key, "status") == 0;
    return strcmp(key, "resourceVersion") == 0 || strcmp(key, "generation") == 0 ||
           strcmp(key, "managedFields") == 0;
}

/* a and b equal but for bookkeeping keys (compared in place: no copies). */
static bool same_but_bookkeeping(const json_t *a, const json_t *b, bool in_md)
{
    const char *k;
    json_t *va;
    size_t na = 0, nb = 0;
    json_object_foreach((json_t *)a, k, va)
    {
        if (bookkeeping(k, in_md))
            continue;
        na++;
        json_t *vb = json_object_get(b, k);
        if (!vb)
            return false;
        if (!in_md && strcmp(k, "metadata") == 0 && json_is_object(va) && json_is_object(vb)) {
            if (!same_but_bookkeeping(va, vb, true))
                return false;
        } else if (!json_equal(va, vb)) {
            return false;
        }
    }
    json_object_foreach((json_t *)b, k, va) nb += !bookkeeping(k, in_md);
    return na == nb;
}

static bool same_pod(const json_t *a, const json_t *b)
{
    return a == b || (json_is_object(a) && json_is_object(b) && same_but_bookkeeping(a, b, false));
}

static void *worker_main(void *arg)
{
    struct ks_worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->wake && !w->stop && !w->next && !w->deleted) {
            if (w->ev_wake) {
                if (w->ev_ns >= seen_mark(w))
                    break;
                w->ev_wake = false; /* every pending event was seen already */
                ks_log(KS_LOG_DEBUG, "runtime events already seen", "pod", w->pname, NULL);
                continue;
            }
            int64_t in = w->next_ms - ks_agent_mono_ms();
            if (in <= 0)
                break;
            struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, in);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        json_t *next = w->next;
        bool deleted = w->deleted, refresh = w->refresh;
        bool woke = w->wake || w->ev_wake || w->next_ms <= ks_agent_mono_ms();
        w->next = NULL;
        w->wake = w->refresh = w->ev_wake = false;
        w->ev_ns = 0;
        pthread_mutex_unlock(&w->mu);
        if (next && !deleted && w->pod && same_pod(w->pod, next)) {
            /* only the status (our own report) or bookkeeping changed */
            json_decref(w->pod);
            w->pod = next;
            next = NULL;
            if (!woke && !refresh)
                continue;
        }
        if (next)
            apply_pod(w, next);
        if (deleted && !next) {
            teardown(w);
            break;
        }
        sync_pod(w, refresh);
    }
    pthread_mutex_lock(&w->mu);
    w->exited = true;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int ks_worker_new(struct ks_worker **out, struct ks_agent *a, struct ks_agent_source *src,
                  const json_t *pod)
{
    const json_t *md = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    struct ks_worker *w;
    if (!name || !*name)
        return ks_error_set(KS_EINVALID, "pod without metadata.name");
    if (!(w = calloc(1, sizeof(*w))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    w->agent = a;
    w->sh = ks_agent_shared(a);
    w->src = src;
    w->ns = strdup(ns && *ns ? ns : "default");
    w->name = strdup(name);
    w->pname = ks_strdupf("%s_%s", w->ns, w->name);
    w->next = json_incref((json_t *)pod); /* read-only, shared (agent.c) */
    atomic_init(&w->pod_read_ns, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    const char *uid = json_string_value(json_object_get(md, "uid"));
    snprintf(w->uid, sizeof(w->uid), "%s", uid ? uid : "");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int e = pthread_create(&w->th, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        w->th_started = false;
        ks_worker_join_free(w);
        return ks_error_set(KS_ERROR, "cannot start a pod worker thread: %s", strerror(e));
    }
    w->th_started = true;
    *out = w;
    return 0;
}

void ks_worker_update(struct ks_worker *w, const json_t *pod)
{
    pthread_mutex_lock(&w->mu);
    if (pod) {
        json_decref(w->next);
        w->next = json_incref((json_t *)pod); /* read-only, shared (agent.c) */
        w->deleted = false;
    } else {
        json_decref(w->next);
        w->next = NULL;
        w->deleted = true;
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void ks_worker_poke(struct ks_worker *w, bool refresh)
{
    pthread_mutex_lock(&w->mu);
    w->wake = true;
    w->refresh = w->refresh || refresh;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void ks_worker_stop(struct ks_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

bool ks_worker_exited(struct ks_worker *w)
{
    pthread_mutex_lock(&w->mu);
    bool e = w->exited;
    pthread_mutex_unlock(&w->mu);
    return e;
}

void ks_worker_join_free(struct ks_worker *w)
{
    if (!w)
        return;
    if (w->th_started)
        pthread_join(w->th, NULL);
    free_ctrs(w->ctrs, w->nctrs);
    json_decref(w->next);
    json_decref(w->pod);
    json_decref(w->volmap);
    json_decref(w->last_built);
    json_decref(w->last_reported);
    free(w->ns);
    free(w->name);
    free(w->pname);
    free(w->pod_id);
    free(w->reason);
    free(w->message);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
