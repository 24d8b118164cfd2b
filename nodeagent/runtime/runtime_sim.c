/*
 * runtime_sim.c: a simulated runtime (`nodeagent --runtime sim`). Pods and
 * containers live in memory: a start takes start_ms and fails (the
 * container exits with code 1 at once) with probability fail_rate; a
 * running container runs until stopped, killed or removed. Every change is
 * an event, as Podman's stream would send it, so the agent's restart,
 * backoff and drift logic runs unchanged. Hundreds of agents fit on one
 * machine this way for scheduler and control-plane scale tests. Every image
 * "exists"; probes of kind exec succeed (exit code 0).
 */
#include "nodeagent/runtime/runtime.h"

#include "core/error.h"
#include "core/str.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_MAX_OBJECTS 100000
#define SIM_MAX_QUEUE 10000

struct sim_obj {
    bool is_pod;
    char id[65];
    char *name;
    char pod[65];
    json_t *labels;
    json_t *config; /* containers: what ctr_inspect reports as the config */
    struct ks_podman_ctr_state st;
    bool pod_running;
    char ip[16]; /* pods: given at creation, stable for the pod's life */
};

struct sim_ev {
    char type[12], action[12], id[65];
    char *name;
    json_t *labels;
    int exit_code;
    int64_t time_ns;
};

struct sim_rt {
    struct ks_runtime base;
    struct ks_runtime_sim_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sim_obj *objs;
    size_t nobjs, cap;
    unsigned long long next_id;
    unsigned seed;
    struct sim_ev *q;
    size_t qn;
    bool stop;
    unsigned next_ip;
};

static struct sim_rt *S(struct ks_runtime *rt)
{
    return (struct sim_rt *)rt;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Under mu. */
static void emit(struct sim_rt *s, const struct sim_obj *o, const char *action, int exit_code)
{
    if (s->qn >= SIM_MAX_QUEUE)
        return; /* nobody listens: drop, as a stream without reader would */
    struct sim_ev *e = &s->q[s->qn++];
    memset(e, 0, sizeof(*e));
    snprintf(e->type, sizeof(e->type), "%s", o->is_pod ? "pod" : "container");
    snprintf(e->action, sizeof(e->action), "%s", action);
    snprintf(e->id, sizeof(e->id), "%s", o->id);
    e->name = strdup(o->name);
    e->labels = json_incref(o->labels);
    e->exit_code = exit_code;
    e->time_ns = now_ns();
    pthread_cond_broadcast(&s->cv);
}

/* Under mu. */
static struct sim_obj *lookup(struct sim_rt *s, const char *key, bool pod)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < s->nobjs; i++) {
        struct sim_obj *o = &s->objs[i];
        if (o->is_pod != pod)
            continue;
        if (strcmp(o->name, key) == 0 || strcmp(o->id, key) == 0 ||
            (n >= 12 && strncmp(o->id, key, n) == 0))
            return o;
    }
    return NULL;
}

static int notfound(const char *what, const char *key)
{
    return ks_error_set(KS_ENOTFOUND, "sim: no %s with name or ID %s found", what, key);
}

/* Under mu. */
static int add(struct sim_rt *s, struct sim_obj **out, bool pod, const char *name,
               const json_t *labels)
{
    if (lookup(s, name, pod))
        return ks_error_set(KS_ECONFLICT, "sim: the name %s is already in use", name);
    if (s->nobjs >= SIM_MAX_OBJECTS)
        return ks_error_set(KS_ELIMIT, "sim: over the limit of %d objects", SIM_MAX_OBJECTS);
    if (s->nobjs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct sim_obj *n = realloc(s->objs, cap * sizeof(*n));
        if (!n)
            return ks_error_set(KS_ENOMEM, "out of memory");
        s->objs = n;
        s->cap = cap;
    }
    struct sim_obj *o = &s->objs[s->nobjs++];
    memset(o, 0, sizeof(*o));
    o->is_pod = pod;
    snprintf(o->id, sizeof(o->id), "%016llx%048x", ++s->next_id, 0);
    o->name = strdup(name);
    o->labels = labels ? json_deep_copy(labels) : json_object();
    snprintf(o->st.status, sizeof(o->st.status), "created");
    if (pod) {
        unsigned n = ++s->next_ip;
        snprintf(o->ip, sizeof(o->ip), "10.%u.%u.%u", 200 + (n >> 16) % 50, (n >> 8) & 255u,
                 n & 255u);
    }
    *out = o;
    return 0;
}

/* Under mu. */
static void drop(struct sim_rt *s, struct sim_obj *o)
{
    free(o->name);
    json_decref(o->labels);
    json_decref(o->config);
    *o = s->objs[--s->nobjs];
}

static int s_version(struct ks_runtime *rt, char **out)
{
    (void)rt;
    *out = strdup("sim");
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int s_image_ensure(struct ks_runtime *rt, const char *image, enum ks_pull_policy policy,
                          const char *auth)
{
    (void)rt;
    (void)auth;   /* no registry */
    (void)policy; /* every image "exists" */
    return image && *image ? 0 : ks_error_set(KS_EINVALID, "sim: empty image name");
}

static int s_image_env(struct ks_runtime *rt, json_t **out, const char *image)
{
    (void)rt;
    (void)image;
    *out = json_object(); /* sim images set no environment */
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int s_image_id(struct ks_runtime *rt, char **out, const char *image)
{
    (void)rt;
    *out = ks_strdupf("sim:%s", image);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int s_pod_create(struct ks_runtime *rt, char **out, const json_t *k8s_pod, const char *name,
                        const json_t *labels)
{
    struct sim_rt *s = S(rt);
    struct sim_obj *o = NULL;
    (void)k8s_pod;
    pthread_mutex_lock(&s->mu);
    int rc = add(s, &o, true, name, labels);
    if (rc == 0) {
        emit(s, o, "create", -1);
        *out = strdup(o->id);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void ctr_run(struct sim_rt *s, struct sim_obj *o)
{
    int64_t t = now_ns();
    o->st.started_ns = t;
    o->st.finished_ns = 0;
    o->st.exit_code = 0;
    double r = (double)rand_r(&s->seed) / RAND_MAX;
    emit(s, o, "start", -1);
    if (r < s->opts.fail_rate) {
        o->st.running = false;
        o->st.exit_code = 1;
        o->st.finished_ns = t + 1;
        snprintf(o->st.status, sizeof(o->st.status), "exited");
        emit(s, o, "died", 1);
    } else {
        o->st.running = true;
        o->st.pid = 1000 + (int)(s->next_id % 30000);
        snprintf(o->st.status, sizeof(o->st.status), "running");
    }
}

static void ctr_end(struct sim_rt *s, struct sim_obj *o, const char *action, int code)
{
    if (!o->st.running)
        return;
    emit(s, o, action, -1);
    o->st.running = false;
    o->st.exit_code = code;
    o->st.finished_ns = now_ns();
    o->st.pid = 0;
    snprintf(o->st.status, sizeof(o->st.status), "exited");
    emit(s, o, "died", code);
}

static void sim_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int s_pod_start(struct ks_runtime *rt, const char *pod)
{
    struct sim_rt *s = S(rt);
    sim_sleep(s->opts.start_ms);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *p = lookup(s, pod, true);
    int rc = p ? 0 : notfound("pod", pod);
    if (p && !p->pod_running) {
        p->pod_running = true;
        emit(s, p, "start", -1);
        for (size_t i = 0; i < s->nobjs; i++)
            if (!s->objs[i].is_pod && strcmp(s->objs[i].pod, p->id) == 0 && !s->objs[i].st.running)
                ctr_run(s, &s->objs[i]);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_pod_stop(struct ks_runtime *rt, const char *pod, int timeout_s)
{
    struct sim_rt *s = S(rt);
    (void)timeout_s;
    pthread_mutex_lock(&s->mu);
    struct sim_obj *p = lookup(s, pod, true);
    int rc = p ? 0 : notfound("pod", pod);
    if (p) {
        for (size_t i = 0; i < s->nobjs; i++)
            if (!s->objs[i].is_pod && strcmp(s->objs[i].pod, p->id) == 0)
                ctr_end(s, &s->objs[i], "stop", 143);
        if (p->pod_running)
            emit(s, p, "stop", -1);
        p->pod_running = false;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_pod_remove(struct ks_runtime *rt, const char *pod)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *p = lookup(s, pod, true);
    int rc = p ? 0 : notfound("pod", pod);
    if (p) {
        char id[65];
        snprintf(id, sizeof(id), "%s", p->id);
        for (size_t i = 0; i < s->nobjs;) {
            struct sim_obj *o = &s->objs[i];
            if (!o->is_pod && strcmp(o->pod, id) == 0) {
                ctr_end(s, o, "kill", 137);
                emit(s, o, "remove", -1);
                drop(s, o);
                continue;
            }
            i++;
        }
        p = lookup(s, id, true);
        emit(s, p, "remove", -1);
        drop(s, p);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_pod_inspect(struct ks_runtime *rt, json_t **out, const char *pod)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *p = lookup(s, pod, true);
    int rc = p ? 0 : notfound("pod", pod);
    if (p)
        *out = json_pack("{s:s, s:s, s:O, s:s, s:s}", "id", p->id, "name", p->name, "labels",
                         p->labels, "state", p->pod_running ? "Running" : "Exited", "ip",
                         p->pod_running ? p->ip : "");
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static bool matches(const json_t *labels, const char *const *sel)
{
    for (size_t i = 0; sel && sel[i]; i++) {
        const char *eq = strchr(sel[i], '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq ? (size_t)(eq - sel[i]) : strlen(sel[i])),
                 sel[i]);
        const char *v = json_string_value(json_object_get(labels, key));
        if (!v || (eq && strcmp(v, eq + 1) != 0))
            return false;
    }
    return true;
}

static int s_list(struct ks_runtime *rt, json_t **out, const char *const *labels, bool pods)
{
    struct sim_rt *s = S(rt);
    json_t *res = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nobjs; i++) {
        struct sim_obj *o = &s->objs[i];
        if (o->is_pod != pods || !matches(o->labels, labels))
            continue;
        json_array_append_new(
            res, json_pack("{s:s, s:s, s:O, s:s, s:s}", "id", o->id, "name", o->name, "labels",
                           o->labels, "state",
                           pods ? (o->pod_running ? "Running" : "Exited") : o->st.status, "pod",
                           o->pod));
    }
    pthread_mutex_unlock(&s->mu);
    *out = res;
    return 0;
}

static int s_pod_list(struct ks_runtime *rt, json_t **out, const char *const *labels)
{
    return s_list(rt, out, labels, true);
}

static int s_ctr_list(struct ks_runtime *rt, json_t **out, const char *const *labels)
{
    return s_list(rt, out, labels, false);
}

/* The config Podman would report for a container made from the Kubernetes
 * one, the sim image having no entrypoint, command or env of its own. */
static json_t *sim_config(const json_t *k)
{
    const json_t *cmd = json_object_get(k, "command"), *args = json_object_get(k, "args");
    json_t *env = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(k, "env"), i, e)
    {
        const char *v = json_string_value(json_object_get(e, "value"));
        json_object_set_new(env, json_string_value(json_object_get(e, "name")),
                            json_string(v ? v : ""));
    }
    return json_pack("{s:s?, s:o, s:o, s:o}", "image",
                     json_string_value(json_object_get(k, "image")), "command",
                     json_is_array(cmd) ? json_deep_copy(cmd) : json_array(), "args",
                     json_is_array(args) ? json_deep_copy(args) : json_array(), "env", env);
}

static int s_ctr_create(struct ks_runtime *rt, char **out, const json_t *k8s_container,
                        const struct ks_podman_ctr_ctx *ctx)
{
    struct sim_rt *s = S(rt);
    struct sim_obj *o = NULL;
    json_t *spec = NULL;
    /* the same validation as the real runtime */
    int rc = ks_podman_spec_container(&spec, k8s_container, ctx);
    json_decref(spec);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&s->mu);
    struct sim_obj *p = ctx->pod ? lookup(s, ctx->pod, true) : NULL;
    if (ctx->pod && !p)
        rc = notfound("pod", ctx->pod);
    else if ((rc = add(s, &o, false, ctx->name, ctx->labels)) == 0) {
        if (p)
            snprintf(o->pod, sizeof(o->pod), "%s", p->id);
        o->config = sim_config(k8s_container);
        emit(s, o, "create", -1);
        *out = strdup(o->id);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_ctr_start(struct ks_runtime *rt, const char *ctr)
{
    struct sim_rt *s = S(rt);
    sim_sleep(s->opts.start_ms);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = o ? 0 : notfound("container", ctr);
    if (o && !o->st.running)
        ctr_run(s, o);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_ctr_stop(struct ks_runtime *rt, const char *ctr, int timeout_s)
{
    struct sim_rt *s = S(rt);
    (void)timeout_s;
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = o ? 0 : notfound("container", ctr);
    if (o)
        ctr_end(s, o, "stop", 143);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_ctr_kill(struct ks_runtime *rt, const char *ctr, const char *signal)
{
    struct sim_rt *s = S(rt);
    (void)signal;
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = !o               ? notfound("container", ctr)
             : !o->st.running ? ks_error_set(KS_ECONFLICT, "sim: container %s state improper", ctr)
                              : 0;
    if (rc == 0)
        ctr_end(s, o, "kill", 137);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_ctr_remove(struct ks_runtime *rt, const char *ctr)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = o ? 0 : notfound("container", ctr);
    if (o) {
        ctr_end(s, o, "kill", 137);
        emit(s, o, "remove", -1);
        drop(s, o);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_ctr_inspect(struct ks_runtime *rt, struct ks_podman_ctr_state *out,
                         json_t **out_labels, char **out_image_id, json_t **out_config,
                         const char *ctr)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = o ? 0 : notfound("container", ctr);
    if (o) {
        *out = o->st;
        if (out_labels)
            *out_labels = json_deep_copy(o->labels);
        if (out_image_id)
            *out_image_id = strdup("sim");
        if (out_config)
            *out_config = json_deep_copy(o->config);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int s_exec(struct ks_runtime *rt, int *out, const char *ctr, const char *const *argv,
                  long timeout_ms)
{
    struct sim_rt *s = S(rt);
    (void)argv;
    (void)timeout_ms;
    pthread_mutex_lock(&s->mu);
    struct sim_obj *o = lookup(s, ctr, false);
    int rc = !o               ? notfound("container", ctr)
             : !o->st.running ? ks_error_set(KS_ECONFLICT, "sim: container %s is not running", ctr)
                              : 0;
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        *out = 0;
    return rc;
}

static int s_events_run(struct ks_runtime *rt, const char *const *labels, ks_runtime_event_fn cb,
                        void *ud)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->qn == 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        struct sim_ev e = s->q[0];
        memmove(s->q, s->q + 1, (s->qn - 1) * sizeof(*s->q));
        s->qn--;
        pthread_mutex_unlock(&s->mu);
        if (matches(e.labels, labels)) {
            const char *uid = json_string_value(json_object_get(e.labels, "io.keelson.pod-uid"));
            const char *cn = json_string_value(json_object_get(e.labels, "io.keelson.container"));
            struct ks_runtime_event ev = {.type = e.type,
                                          .action = e.action,
                                          .id = e.id,
                                          .name = e.name ? e.name : "",
                                          .pod_uid = uid ? uid : "",
                                          .ctr_name = cn ? cn : "",
                                          .exit_code = e.exit_code,
                                          .time_ns = e.time_ns};
            cb(&ev, ud);
        }
        free(e.name);
        json_decref(e.labels);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void s_events_stop(struct ks_runtime *rt)
{
    struct sim_rt *s = S(rt);
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void s_free(struct ks_runtime *rt)
{
    struct sim_rt *s = S(rt);
    if (!s)
        return;
    while (s->nobjs)
        drop(s, &s->objs[0]);
    for (size_t i = 0; i < s->qn; i++) {
        free(s->q[i].name);
        json_decref(s->q[i].labels);
    }
    free(s->q);
    free(s->objs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static const struct ks_runtime_ops sim_ops = {
    .name = "sim",
    .version = s_version,
    .image_ensure = s_image_ensure,
    .image_id = s_image_id,
    .image_env = s_image_env,
    .pod_create = s_pod_create,
    .pod_start = s_pod_start,
    .pod_stop = s_pod_stop,
    .pod_remove = s_pod_remove,
    .pod_inspect = s_pod_inspect,
    .pod_list = s_pod_list,
    .ctr_create = s_ctr_create,
    .ctr_start = s_ctr_start,
    .ctr_stop = s_ctr_stop,
    .ctr_kill = s_ctr_kill,
    .ctr_remove = s_ctr_remove,
    .ctr_inspect = s_ctr_inspect,
    .ctr_list = s_ctr_list,
    .exec = s_exec,
    .events_run = s_events_run,
    .events_stop = s_events_stop,
    .free = s_free,
};

int ks_runtime_sim_new(struct ks_runtime **out, const struct ks_runtime_sim_opts *opts)
{
    struct sim_rt *s = calloc(1, sizeof(*s));
    if (!s || !(s->q = calloc(SIM_MAX_QUEUE, sizeof(*s->q)))) {
        free(s);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    if (opts->start_ms < 0 || opts->start_ms > 600000 || opts->fail_rate < 0 ||
        opts->fail_rate > 1) {
        free(s->q);
        free(s);
        return ks_error_set(KS_EINVALID, "sim: start_ms must be 0..600000 and fail_rate 0..1");
    }
    s->base.ops = &sim_ops;
    s->opts = *opts;
    s->seed = opts->seed;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *out = &s->base;
    return 0;
}
