/*
 * spec.c: Kubernetes pod and container specs -> libpod's PodSpecGenerator
 * and SpecGenerator JSON. Pure functions with no I/O, so the mapping (which
 * is where most subtle bugs would live: ENTRYPOINT vs CMD, cpu quantities,
 * bind mount options) is unit-tested without a Podman service.
 *
 * Mapping (Kubernetes -> libpod):
 *   command / args            -> entrypoint / command (both override the image)
 *   env[{name,value}]         -> env {name: value}
 *   workingDir                -> work_dir
 *   securityContext.runAsUser[/runAsGroup] -> user "uid[:gid]"
 *   volumeMounts + ctx volumes -> mounts [{type bind, source, destination, options}]
 *   resources.limits.cpu      -> resource_limits.cpu {quota, period 100000}
 *   resources.limits.memory   -> resource_limits.memory.limit (bytes)
 *   ports[].hostPort (any container) -> pod portmappings
 *   spec.hostname / metadata.name (cut to 63) -> pod hostname
 *   hostNetwork                              -> netns host
 * Anything the agent must resolve first (env valueFrom, unknown volumes) is
 * refused with KS_EINVALID naming the field.
 */
#include "nodeagent/podman/podman.h"

#include "core/error.h"
#include "core/quantity.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define SPEC_MAX_ITEMS 1024  /* env entries, mounts, ports, arguments */
#define CPU_PERIOD_US 100000 /* CFS period used for cpu limits */

static int oom(void)
{
    return ks_error_set(KS_ENOMEM, "out of memory");
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) < 0)
        return oom();
    return 0;
}

/* A JSON array of strings, copied; where names the field for messages. */
static int string_array(json_t **out, const json_t *v, const char *where)
{
    json_t *arr = NULL, *item;
    size_t i;

    if (!json_is_array(v))
        return ks_error_set(KS_EINVALID, "%s: not a list", where);
    if (json_array_size(v) > SPEC_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "%s: over the %d-item limit", where, SPEC_MAX_ITEMS);
    arr = json_array();
    if (!arr)
        return oom();
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            json_decref(arr);
            return ks_error_set(KS_EINVALID, "%s[%zu]: not a string", where, i);
        }
        if (json_array_append(arr, item) < 0) {
            json_decref(arr);
            return oom();
        }
    }
    *out = arr;
    return 0;
}

static int merge_labels(json_t *dst, const json_t *src, const char *where)
{
    const char *k;
    json_t *v;

    if (!src || json_is_null(src))
        return 0;
    if (!json_is_object(src))
        return ks_error_set(KS_EINVALID, "%s: not a map", where);
    json_object_foreach((json_t *)src, k, v)
    {
        if (!json_is_string(v))
            return ks_error_set(KS_EINVALID, "%s.%s: not a string", where, k);
        if (json_object_set(dst, k, v) < 0)
            return oom();
    }
    return 0;
}

static int port_number(int *out, const json_t *v, const char *where)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
        return ks_error_set(KS_EINVALID, "%s: not a port number (1-65535)", where);
    *out = (int)json_integer_value(v);
    return 0;
}

static int add_port_mappings(json_t *mappings, const json_t *container, size_t ci)
{
    const json_t *ports = json_object_get(container, "ports"), *p;
    char where[96], proto[8];
    const char *s, *ip;
    size_t i, j;
    int cport = 0, hport = 0, rc;

    if (!ports)
        return 0;
    if (!json_is_array(ports))
        return ks_error_set(KS_EINVALID, "spec.containers[%zu].ports: not a list", ci);
    json_array_foreach(ports, i, p)
    {
        if (!json_object_get(p, "hostPort"))
            continue;
        snprintf(where, sizeof(where), "spec.containers[%zu].ports[%zu]", ci, i);
        if ((rc = port_number(&cport, json_object_get(p, "containerPort"), where)) < 0 ||
            (rc = port_number(&hport, json_object_get(p, "hostPort"), where)) < 0)
            return rc;
        s = json_string_value(json_object_get(p, "protocol"));
        if (!s)
            s = "TCP";
        if (strcmp(s, "TCP") && strcmp(s, "UDP") && strcmp(s, "SCTP"))
            return ks_error_set(KS_EINVALID, "%s.protocol: '%.20s' is not TCP, UDP or SCTP", where,
                                s);
        for (j = 0; s[j]; j++)
            proto[j] = (char)tolower((unsigned char)s[j]);
        proto[j] = '\0';
        ip = json_string_value(json_object_get(p, "hostIP"));
        if (json_array_size(mappings) >= SPEC_MAX_ITEMS)
            return ks_error_set(KS_ELIMIT, "spec.containers: over the %d-port limit",
                                SPEC_MAX_ITEMS);
        if (json_array_append_new(mappings, json_pack("{s:i,s:i,s:s,s:s}", "container_port", cport,
                                                      "host_port", hport, "host_ip", ip ? ip : "",
                                                      "protocol", proto)) < 0)
            return oom();
    }
    return 0;
}

/* spec.hostname as given (at most 63 characters), else metadata.name cut
 * to 63 characters without a trailing '-' or '.', as the kubelet does. */
static int pod_hostname(json_t *pod, const json_t *spec, const json_t *meta)
{
    const char *h = json_string_value(json_object_get(spec, "hostname"));
    size_t n;

    if (h) {
        if (strlen(h) > 63)
            return ks_error_set(KS_EINVALID, "spec.hostname: '%.70s' is over 63 characters", h);
        return set_new(pod, "hostname", json_string(h));
    }
    h = json_string_value(json_object_get(meta, "name"));
    if (!h)
        return 0;
    n = strlen(h);
    if (n > 63)
        n = 63;
    while (n > 0 && (h[n - 1] == '-' || h[n - 1] == '.'))
        n--;
    if (n == 0)
        return 0;
    return set_new(pod, "hostname", json_stringn(h, n));
}

int ks_podman_spec_pod(json_t **out, const json_t *k8s_pod, const char *podman_name,
                       const json_t *labels)
{
    const json_t *meta = json_object_get(k8s_pod, "metadata");
    const json_t *spec = json_object_get(k8s_pod, "spec"), *c;
    json_t *pod = NULL, *lab = NULL, *mappings = NULL;
    size_t i;
    int rc = 0;

    if (!json_is_object(spec) || !json_is_object(meta)) {
        rc = ks_error_set(KS_EINVALID, "pod: no metadata or spec");
        goto done;
    }
    if (!podman_name || !*podman_name) {
        rc = ks_error_set(KS_EINVALID, "pod: no Podman name given");
        goto done;
    }
    pod = json_object();
    lab = json_object();
    mappings = json_array();
    if (!pod || !lab || !mappings) {
        rc = oom();
        goto done;
    }
    if ((rc = set_new(pod, "name", json_string(podman_name))) < 0)
        goto done;
    if ((rc = pod_hostname(pod, spec, meta)) < 0)
        goto done;
    if ((rc = merge_labels(lab, json_object_get(meta, "labels"), "metadata.labels")) < 0 ||
        (rc = merge_labels(lab, labels, "labels")) < 0)
        goto done;
    if (json_object_set(pod, "labels", lab) < 0) {
        rc = oom();
        goto done;
    }
    if (!json_is_array(json_object_get(spec, "containers"))) {
        rc = ks_error_set(KS_EINVALID, "spec.containers: not a list");
        goto done;
    }
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        if ((rc = add_port_mappings(mappings, c, i)) < 0)
            goto done;
    }
    if (json_is_true(json_object_get(spec, "hostNetwork"))) {
        if ((rc = set_new(pod, "netns", json_pack("{s:s}", "nsmode", "host"))) < 0)
            goto done;
    } else if (json_array_size(mappings) > 0 &&
               json_object_set(pod, "portmappings", mappings) < 0) {
        rc = oom();
        goto done;
    }
    *out = pod;
    pod = NULL;
done:
    json_decref(mappings);
    json_decref(lab);
    json_decref(pod);
    return rc;
}

static int env_object(json_t **out, const json_t *env)
{
    json_t *obj = NULL, *e;
    const char *name;
    const json_t *value;
    size_t i;
    int rc = 0;

    if (!json_is_array(env))
        return ks_error_set(KS_EINVALID, "env: not a list");
    if (json_array_size(env) > SPEC_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "env: over the %d-entry limit", SPEC_MAX_ITEMS);
    obj = json_object();
    if (!obj)
        return oom();
    json_array_foreach(env, i, e)
    {
        name = json_string_value(json_object_get(e, "name"));
        value = json_object_get(e, "value");
        if (!name || !*name || strchr(name, '=')) {
            rc = ks_error_set(KS_EINVALID, "env[%zu].name: missing or contains '='", i);
            goto done;
        }
        if (json_object_get(e, "valueFrom")) {
            rc = ks_error_set(KS_EINVALID,
                              "env[%zu] (%s): valueFrom must be resolved before "
                              "the container is created",
                              i, name);
            goto done;
        }
        if (value && !json_is_string(value)) {
            rc = ks_error_set(KS_EINVALID, "env[%zu] (%s).value: not a string", i, name);
            goto done;
        }
        /* Later entries win, as in Kubernetes. */
        if (json_object_set_new(obj, name, json_string(value ? json_string_value(value) : "")) <
            0) {
            rc = oom();
            goto done;
        }
    }
    *out = obj;
    obj = NULL;
done:
    json_decref(obj);
    return rc;
}

static bool path_is_clean_relative(const char *p)
{
    const char *seg = p;

    if (!*p || *p == '/')
        return false;
    for (;;) {
        size_t n = strcspn(seg, "/");
        if ((n == 2 && seg[0] == '.' && seg[1] == '.') || n == 0)
            return false;
        if (!seg[n])
            return true;
        seg += n + 1;
    }
}

static int mounts_array(json_t **out, const json_t *vms, const json_t *volumes)
{
    json_t *arr = NULL, *vm;
    const char *name, *dest, *src, *sub;
    char source[4096];
    size_t i;
    int rc = 0;

    if (!json_is_array(vms))
        return ks_error_set(KS_EINVALID, "volumeMounts: not a list");
    if (json_array_size(vms) > SPEC_MAX_ITEMS)
        return ks_error_set(KS_ELIMIT, "volumeMounts: over the %d-entry limit", SPEC_MAX_ITEMS);
    arr = json_array();
    if (!arr)
        return oom();
    json_array_foreach(vms, i, vm)
    {
        name = json_string_value(json_object_get(vm, "name"));
        dest = json_string_value(json_object_get(vm, "mountPath"));
        sub = json_string_value(json_object_get(vm, "subPath"));
        if (!name || !dest || dest[0] != '/') {
            rc = ks_error_set(KS_EINVALID,
                              "volumeMounts[%zu]: needs a name and an absolute "
                              "mountPath",
                              i);
            goto done;
        }
        src = json_string_value(json_object_get(volumes, name));
        if (!src || src[0] != '/') {
            rc = ks_error_set(KS_EINVALID, "volumeMounts[%zu]: volume '%s' has no host path", i,
                              name);
            goto done;
        }
        if (sub && *sub && !path_is_clean_relative(sub)) {
            rc = ks_error_set(KS_EINVALID,
                              "volumeMounts[%zu].subPath: '%.80s' must be a "
                              "relative path without '..'",
                              i, sub);
            goto done;
        }
        if (snprintf(source, sizeof(source), "%s%s%s", src, sub && *sub ? "/" : "",
                     sub ? sub : "") >= (int)sizeof(source)) {
            rc = ks_error_set(KS_ELIMIT, "volumeMounts[%zu]: source path over %zu bytes", i,
                              sizeof(source) - 1);
            goto done;
        }
        if (json_array_append_new(
                arr, json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", dest, "source", source,
                               "type", "bind", "options", "rbind",
                               json_is_true(json_object_get(vm, "readOnly")) ? "ro" : "rw")) < 0) {
            rc = oom();
            goto done;
        }
    }
    *out = arr;
    arr = NULL;
done:
    json_decref(arr);
    return rc;
}

static int resource_limits(json_t **out, const json_t *limits)
{
    json_t *res = NULL;
    const json_t *cpu = json_object_get(limits, "cpu");
    const json_t *mem = json_object_get(limits, "memory");
    int64_t milli, bytes;
    int rc = 0;

    res = json_object();
    if (!res)
        return oom();
    if (cpu) {
        if ((rc = ks_quantity_json_milli(&milli, cpu)) < 0) {
            rc = ks_error_wrap(rc, "resources.limits.cpu");
            goto done;
        }
        if (milli <= 0 || milli > INT64_MAX / 100) {
            rc = ks_error_set(KS_EINVALID, "resources.limits.cpu: must be positive");
            goto done;
        }
        /* quota/period = cores: 1000 milli-cores = one full period. */
        if ((rc =
                 set_new(res, "cpu",
                         json_pack("{s:I,s:I}", "quota", (json_int_t)(milli * CPU_PERIOD_US / 1000),
                                   "period", (json_int_t)CPU_PERIOD_US))) < 0)
            goto done;
    }
    if (mem) {
        if ((rc = ks_quantity_json_value(&bytes, mem)) < 0) {
            rc = ks_error_wrap(rc, "resources.limits.memory");
            goto done;
        }
        if (bytes <= 0) {
            rc = ks_error_set(KS_EINVALID, "resources.limits.memory: must be positive");
            goto done;
        }
        if ((rc = set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)bytes))) < 0)
            goto done;
    }
    *out = res;
    res = NULL;
done:
    json_decref(res);
    return rc;
}

static int user_string(json_t **out, const json_t *sc)
{
    const json_t *uid = json_object_get(sc, "runAsUser");
    const json_t *gid = json_object_get(sc, "runAsGroup");
    char text[48];

    if (!uid && !gid)
        return 0;
    /* Podman's user needs a uid; the image's default user is unknown here. */
    if (!uid)
        return ks_error_set(KS_EINVALID, "securityContext: runAsGroup without runAsUser is not "
                                         "supported");
    if ((uid && (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
                 json_integer_value(uid) > 4294967294LL)) ||
        (gid && (!json_is_integer(gid) || json_integer_value(gid) < 0 ||
                 json_integer_value(gid) > 4294967294LL)))
        return ks_error_set(KS_EINVALID, "securityContext: runAsUser/runAsGroup must be ids "
                                         "0-4294967294");
    if (gid)
        snprintf(text, sizeof(text), "%lld:%lld", (long long)json_integer_value(uid),
                 (long long)json_integer_value(gid));
    else
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(uid));
    *out = json_string(text);
    return *out ? 0 : oom();
}

int ks_podman_spec_container(json_t **out, const json_t *c, const struct ks_podman_ctr_ctx *ctx)
{
    json_t *spec = NULL, *v = NULL, *lab = NULL;
    const char *image = json_string_value(json_object_get(c, "image"));
    const char *wd = json_string_value(json_object_get(c, "workingDir"));
    const json_t *f;
    int rc = 0;

    if (!json_is_object(c) || !image || !*image) {
        rc = ks_error_set(KS_EINVALID, "container: no image");
        goto done;
    }
    if (!ctx || !ctx->name || !*ctx->name) {
        rc = ks_error_set(KS_EINVALID, "container: no Podman name given");
        goto done;
    }
    spec = json_object();
    lab = json_object();
    if (!spec || !lab) {
        rc = oom();
        goto done;
    }
    if ((rc = set_new(spec, "name", json_string(ctx->name))) < 0 ||
        (rc = set_new(spec, "image", json_string(image))) < 0 ||
        (rc = set_new(spec, "restart_policy", json_string("no"))) < 0)
        goto done;
    if (ctx->pod && (rc = set_new(spec, "pod", json_string(ctx->pod))) < 0)
        goto done;
    if ((f = json_object_get(c, "command"))) {
        if ((rc = string_array(&v, f, "command")) < 0 || (rc = set_new(spec, "entrypoint", v)) < 0)
            goto done;
    }
    if ((f = json_object_get(c, "args"))) {
        if ((rc = string_array(&v, f, "args")) < 0 || (rc = set_new(spec, "command", v)) < 0)
            goto done;
    }
    if ((f = json_object_get(c, "env"))) {
        if ((rc = env_object(&v, f)) < 0 || (rc = set_new(spec, "env", v)) < 0)
            goto done;
    }
    if (wd) {
        if (wd[0] != '/') {
            rc = ks_error_set(KS_EINVALID, "workingDir: '%.80s' is not absolute", wd);
            goto done;
        }
        if ((rc = set_new(spec, "work_dir", json_string(wd))) < 0)
            goto done;
    }
    v = NULL;
    if ((rc = user_string(&v, json_object_get(c, "securityContext"))) < 0)
        goto done;
    if (v && (rc = set_new(spec, "user", v)) < 0)
        goto done;
    if ((f = json_object_get(c, "volumeMounts"))) {
        if ((rc = mounts_array(&v, f, ctx->volumes)) < 0 || (rc = set_new(spec, "mounts", v)) < 0)
            goto done;
    }
    f = json_object_get(json_object_get(c, "resources"), "limits");
    if (f && (json_object_get(f, "cpu") || json_object_get(f, "memory"))) {
        if ((rc = resource_limits(&v, f)) < 0 || (rc = set_new(spec, "resource_limits", v)) < 0)
            goto done;
    }
    if ((rc = merge_labels(lab, ctx->labels, "labels")) < 0)
        goto done;
    if (json_object_size(lab) > 0 && json_object_set(spec, "labels", lab) < 0) {
        rc = oom();
        goto done;
    }
    if (ctx->stop_timeout_s >= 0 &&
        (rc = set_new(spec, "stop_timeout", json_integer(ctx->stop_timeout_s))) < 0)
        goto done;
    *out = spec;
    spec = NULL;
done:
    json_decref(lab);
    json_decref(spec);
    return rc;
}
