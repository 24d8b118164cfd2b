/*
 * runtime_podman.c: the agent's runtime on a real Podman service, a thin
 * adapter from runtime.h onto the libpod client (nodeagent/podman). It adds
 * only what the agent needs on top of single calls: pull-if-missing, the
 * pod IP read from the infra container, and lists normalised to runtime.h's
 * small shapes.
 */
#include "nodeagent/runtime/runtime.h"

#include "core/error.h"
#include "core/str.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULL_TIMEOUT_MS 300000L

struct podman_rt {
    struct ks_runtime base;
    struct ks_podman *pm;
    pthread_mutex_t mu;
    struct ks_podman_events *ev; /* the stream in progress, guarded by mu */
    bool stopping;
};

static struct ks_podman *PM(struct ks_runtime *rt)
{
    return ((struct podman_rt *)rt)->pm;
}

/* Podman's Config.Env list ("NAME=value") as {NAME: value}. */
static json_t *env_of(const json_t *list)
{
    json_t *env = json_object(), *e;
    size_t i;
    json_array_foreach(list, i, e)
    {
        const char *s = json_string_value(e), *eq = s ? strchr(s, '=') : NULL;
        if (!eq || eq == s)
            continue;
        char *name = ks_strndup(s, (size_t)(eq - s));
        if (name)
            json_object_set_new(env, name, json_string(eq + 1));
        free(name);
    }
    return env;
}

static int p_version(struct ks_runtime *rt, char **out)
{
    char *v = NULL;
    int rc = ks_podman_version(&v, NULL, PM(rt));
    if (rc < 0)
        return rc;
    *out = ks_strdupf("podman %s", v);
    free(v);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int p_image_ensure(struct ks_runtime *rt, const char *image, enum ks_pull_policy policy,
                          const char *auth)
{
    if (policy == KS_PULL_ALWAYS)
        return ks_podman_image_pull_policy(NULL, PM(rt), image, "always", auth, PULL_TIMEOUT_MS);
    int rc = ks_podman_image_exists(PM(rt), image);
    if (rc != KS_ENOTFOUND || policy == KS_PULL_NEVER)
        return rc;
    return ks_podman_image_pull_policy(NULL, PM(rt), image, "missing", auth, PULL_TIMEOUT_MS);
}

static int p_image_id(struct ks_runtime *rt, char **out, const char *image)
{
    json_t *doc = NULL;
    int rc = ks_podman_image_inspect(&doc, PM(rt), image);
    if (rc < 0)
        return rc;
    const char *id = json_string_value(json_object_get(doc, "Id"));
    *out = strdup(id ? id : "");
    json_decref(doc);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int p_image_env(struct ks_runtime *rt, json_t **out, const char *image)
{
    json_t *doc = NULL;
    int rc = ks_podman_image_inspect(&doc, PM(rt), image);
    if (rc < 0)
        return rc;
    *out = env_of(json_object_get(json_object_get(doc, "Config"), "Env"));
    json_decref(doc);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int p_pod_create(struct ks_runtime *rt, char **out, const json_t *k8s_pod, const char *name,
                        const json_t *labels)
{
    json_t *spec = NULL;
    int rc = ks_podman_spec_pod(&spec, k8s_pod, name, labels);
    if (rc < 0)
        return rc;
    rc = ks_podman_pod_create(out, PM(rt), spec);
    json_decref(spec);
    return rc;
}

static int p_pod_start(struct ks_runtime *rt, const char *pod)
{
    return ks_podman_pod_start(PM(rt), pod);
}

static int p_pod_stop(struct ks_runtime *rt, const char *pod, int timeout_s)
{
    return ks_podman_pod_stop(PM(rt), pod, timeout_s);
}

static int p_pod_remove(struct ks_runtime *rt, const char *pod)
{
    return ks_podman_pod_remove(PM(rt), pod, true);
}

/* The first IPv4 address of the infra container's networks. */
static const char *infra_ip(const json_t *inspect)
{
    const json_t *ns = json_object_get(inspect, "NetworkSettings");
    const char *ip = json_string_value(json_object_get(ns, "IPAddress"));
    if (ip && *ip)
        return ip;
    const char *key;
    json_t *net;
    json_object_foreach(json_object_get(ns, "Networks"), key, net)
    {
        ip = json_string_value(json_object_get(net, "IPAddress"));
        if (ip && *ip)
            return ip;
    }
    return "";
}

static json_t *obj_or_empty(json_t *v)
{
    return json_is_object(v) ? json_incref(v) : json_object();
}

static int p_pod_inspect(struct ks_runtime *rt, json_t **out, const char *pod)
{
    json_t *doc = NULL, *infra = NULL;
    int rc = ks_podman_pod_inspect(&doc, PM(rt), pod);
    if (rc < 0)
        return rc;
    const char *infra_id = json_string_value(json_object_get(doc, "InfraContainerID"));
    const char *ip = "";
    if (infra_id && *infra_id && ks_podman_container_inspect(&infra, PM(rt), infra_id) == 0)
        ip = infra_ip(infra);
    const char *id = json_string_value(json_object_get(doc, "Id"));
    const char *name = json_string_value(json_object_get(doc, "Name"));
    const char *state = json_string_value(json_object_get(doc, "State"));
    *out = json_pack("{s:s, s:s, s:o, s:s, s:s}", "id", id ? id : "", "name", name ? name : "",
                     "labels", obj_or_empty(json_object_get(doc, "Labels")), "state",
                     state ? state : "", "ip", ip);
    json_decref(infra);
    json_decref(doc);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int p_pod_list(struct ks_runtime *rt, json_t **out, const char *const *labels)
{
    json_t *list = NULL, *res = json_array(), *e;
    size_t i;
    int rc = ks_podman_pod_list(&list, PM(rt), labels);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "Id"));
        const char *name = json_string_value(json_object_get(e, "Name"));
        const char *st = json_string_value(json_object_get(e, "Status"));
        json_array_append_new(res, json_pack("{s:s, s:s, s:o, s:s}", "id", id ? id : "", "name",
                                             name ? name : "", "labels",
                                             obj_or_empty(json_object_get(e, "Labels")), "state",
                                             st ? st : ""));
    }
    json_decref(list);
    *out = res;
    return 0;
}

static int p_ctr_create(struct ks_runtime *rt, char **out, const json_t *k8s_container,
                        const struct ks_podman_ctr_ctx *ctx)
{
    json_t *spec = NULL;
    int rc = ks_podman_spec_container(&spec, k8s_container, ctx);
    if (rc < 0)
        return rc;
    rc = ks_podman_container_create(out, PM(rt), spec);
    json_decref(spec);
    return rc;
}

static int p_ctr_start(struct ks_runtime *rt, const char *ctr)
{
    return ks_podman_container_start(PM(rt), ctr);
}

static int p_ctr_stop(struct ks_runtime *rt, const char *ctr, int timeout_s)
{
    return ks_podman_container_stop(PM(rt), ctr, timeout_s);
}

static int p_ctr_kill(struct ks_runtime *rt, const char *ctr, const char *signal)
{
    return ks_podman_container_kill(PM(rt), ctr, signal);
}

static int p_ctr_remove(struct ks_runtime *rt, const char *ctr)
{
    return ks_podman_container_remove(PM(rt), ctr, true);
}

/* The config of runtime.h from an inspect document. Podman 4 reports the
 * entrypoint as one string joined by spaces (Config.Entrypoint), so the
 * entrypoint list is the process's argv (Path, Args) without Config.Cmd at
 * its end. Args repeats Path when argv has one element. */
static json_t *config_of(const json_t *doc)
{
    const json_t *cfg = json_object_get(doc, "Config");
    const json_t *cmd = json_object_get(cfg, "Cmd");
    const char *path = json_string_value(json_object_get(doc, "Path"));
    const char *ep = json_string_value(json_object_get(cfg, "Entrypoint"));
    const char *image = json_string_value(json_object_get(doc, "ImageName"));
    const json_t *args = json_object_get(doc, "Args");
    json_t *argv = json_array(), *entry = json_array(), *e;
    size_t i, ncmd = json_is_array(cmd) ? json_array_size(cmd) : 0;
    if (!image)
        image = json_string_value(json_object_get(cfg, "Image"));
    if (path && *path && ep && *ep) {
        /* argv [P] and [P, P] both give Args [P]: one element when the
         * entrypoint is P alone and there is no Cmd */
        bool single = json_array_size(args) == 1 &&
                      strcmp(path, json_string_value(json_array_get(args, 0))
                                       ? json_string_value(json_array_get(args, 0))
                                       : "") == 0 &&
                      ncmd == 0 && strcmp(ep, path) == 0;
        json_array_append_new(argv, json_string(path));
        json_array_foreach(args, i, e)
        {
            if (!single)
                json_array_append(argv, e);
        }
    }
    size_t n = json_array_size(argv);
    for (i = 0; i + ncmd < n; i++)
        json_array_append(entry, json_array_get(argv, i));
    json_decref(argv);
    return json_pack("{s:s, s:o, s:o, s:o}", "image", image ? image : "", "command", entry, "args",
                     json_is_array(cmd) ? json_deep_copy(cmd) : json_array(), "env",
                     env_of(json_object_get(cfg, "Env")));
}

static int p_ctr_inspect(struct ks_runtime *rt, struct ks_podman_ctr_state *out,
                         json_t **out_labels, char **out_image_id, json_t **out_config,
                         const char *ctr)
{
    json_t *doc = NULL, *config = NULL;
    struct ks_podman_ctr_state st;
    char *img = NULL;
    int rc = ks_podman_container_inspect(&doc, PM(rt), ctr);
    if (rc < 0)
        return rc;
    if ((rc = ks_podman_ctr_state_parse(&st, doc)) < 0)
        goto done;
    if (out_image_id) {
        const char *i = json_string_value(json_object_get(doc, "Image"));
        if (!(img = strdup(i ? i : ""))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (out_config && !(config = config_of(doc))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (out_image_id)
        *out_image_id = img, img = NULL;
    if (out_config)
        *out_config = config, config = NULL;
    if (out_labels)
        *out_labels = obj_or_empty(json_object_get(json_object_get(doc, "Config"), "Labels"));
    *out = st;
done:
    free(img);
    json_decref(config);
    json_decref(doc);
    return rc;
}

static int p_ctr_list(struct ks_runtime *rt, json_t **out, const char *const *labels)
{
    json_t *list = NULL, *res = json_array(), *e;
    size_t i;
    int rc = ks_podman_container_list(&list, PM(rt), labels);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "Id"));
        const char *name = json_string_value(json_array_get(json_object_get(e, "Names"), 0));
        const char *st = json_string_value(json_object_get(e, "State"));
        const char *pod = json_string_value(json_object_get(e, "Pod"));
        json_array_append_new(res, json_pack("{s:s, s:s, s:o, s:s, s:s}", "id", id ? id : "",
                                             "name", name ? name : "", "labels",
                                             obj_or_empty(json_object_get(e, "Labels")), "state",
                                             st ? st : "", "pod", pod ? pod : ""));
    }
    json_decref(list);
    *out = res;
    return 0;
}

static int p_exec(struct ks_runtime *rt, int *out, const char *ctr, const char *const *argv,
                  long timeout_ms)
{
    return ks_podman_exec(out, NULL, PM(rt), ctr, argv, timeout_ms);
}

struct ev_ctx {
    ks_runtime_event_fn cb;
    void *ud;
    int64_t last_ns;
};

static int on_event(const struct ks_podman_event *pe, void *ud)
{
    struct ev_ctx *c = ud;
    const json_t *attrs = json_object_get(json_object_get(pe->raw, "Actor"), "Attributes");
    const char *uid = json_string_value(json_object_get(attrs, "io.keelson.pod-uid"));
    const char *cn = json_string_value(json_object_get(attrs, "io.keelson.container"));
    struct ks_runtime_event ev = {.type = pe->type,
                                  .action = pe->action,
                                  .id = pe->id ? pe->id : "",
                                  .name = pe->name ? pe->name : "",
                                  .pod_uid = uid ? uid : "",
                                  .ctr_name = cn ? cn : "",
                                  .exit_code = pe->exit_code,
                                  .time_ns = pe->time_ns};
    if (pe->time_ns > c->last_ns)
        c->last_ns = pe->time_ns;
    c->cb(&ev, c->ud);
    return 0;
}

static int p_events_run(struct ks_runtime *rt, const char *const *labels, ks_runtime_event_fn cb,
                        void *ud)
{
    struct podman_rt *p = (struct podman_rt *)rt;
    struct ks_podman_events *ev = NULL;
    struct ev_ctx c = {.cb = cb, .ud = ud};
    int rc = ks_podman_events_new(&ev, p->pm, labels, 0);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        ks_podman_events_free(ev);
        return 0;
    }
    p->ev = ev;
    pthread_mutex_unlock(&p->mu);
    rc = ks_podman_events_run(ev, on_event, &c);
    pthread_mutex_lock(&p->mu);
    p->ev = NULL;
    pthread_mutex_unlock(&p->mu);
    ks_podman_events_free(ev);
    return rc;
}

static void p_events_stop(struct ks_runtime *rt)
{
    struct podman_rt *p = (struct podman_rt *)rt;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    if (p->ev)
        ks_podman_events_stop(p->ev);
    pthread_mutex_unlock(&p->mu);
}

static void p_free(struct ks_runtime *rt)
{
    struct podman_rt *p = (struct podman_rt *)rt;
    if (!p)
        return;
    ks_podman_free(p->pm);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const struct ks_runtime_ops podman_ops = {
    .name = "podman",
    .version = p_version,
    .image_ensure = p_image_ensure,
    .image_id = p_image_id,
    .image_env = p_image_env,
    .pod_create = p_pod_create,
    .pod_start = p_pod_start,
    .pod_stop = p_pod_stop,
    .pod_remove = p_pod_remove,
    .pod_inspect = p_pod_inspect,
    .pod_list = p_pod_list,
    .ctr_create = p_ctr_create,
    .ctr_start = p_ctr_start,
    .ctr_stop = p_ctr_stop,
    .ctr_kill = p_ctr_kill,
    .ctr_remove = p_ctr_remove,
    .ctr_inspect = p_ctr_inspect,
    .ctr_list = p_ctr_list,
    .exec = p_exec,
    .events_run = p_events_run,
    .events_stop = p_events_stop,
    .free = p_free,
};

int ks_runtime_podman_new(struct ks_runtime **out, const char *socket_path)
{
    struct podman_rt *p = calloc(1, sizeof(*p));
    if (!p)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = ks_podman_new(&p->pm, socket_path, NULL);
    if (rc < 0) {
        free(p);
        return rc;
    }
    p->base.ops = &podman_ops;
    pthread_mutex_init(&p->mu, NULL);
    *out = &p->base;
    return 0;
}
