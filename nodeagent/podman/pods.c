/*
 * pods.c: libpod pod endpoints (create, start, stop, kill, remove, inspect,
 * list). A keelson pod is one Podman pod whose infra container holds the
 * network namespace and the port mappings; the spec is built elsewhere
 * (spec.c) so that these functions stay one request each.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* Time a stop may take: the grace period plus the client's usual margin;
 * with the containers' own grace periods unknown, allow five minutes. */
long ks_podman_stop_budget_ms(int timeout_s)
{
    long grace = timeout_s >= 0 ? (long)timeout_s * 1000L : 300000L;
    return grace + KS_PODMAN_DEFAULT_TIMEOUT_MS;
}

int ks_podman_pod_create(char **out, struct ks_podman *pm, const json_t *spec)
{
    return ks_podman_create(out, pm, "/pods/create", spec);
}

int ks_podman_pod_start(struct ks_podman *pm, const char *pod)
{
    return ks_podman_call(pm, "POST", 0, "/pods/%s/start", pod);
}

/* libpod 4.3 answers 304 and does nothing unless the pod is "Running": a
 * "Degraded" pod (one container exited, others still up) is never stopped.
 * So after a 304 the still-running containers are stopped one by one. */
static int stop_running_members(struct ks_podman *pm, const char *pod, int timeout_s)
{
    json_t *doc = NULL, *c;
    size_t i;
    int rc;

    if ((rc = ks_podman_pod_inspect(&doc, pm, pod)) < 0)
        goto done;
    json_array_foreach(json_object_get(doc, "Containers"), i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        const char *state = json_string_value(json_object_get(c, "State"));
        if (!id || !state || strcmp(state, "running") != 0)
            continue;
        if ((rc = ks_podman_container_stop(pm, id, timeout_s)) < 0 && rc != KS_ENOTFOUND)
            goto done;
        rc = 0;
    }
done:
    json_decref(doc);
    return rc;
}

int ks_podman_pod_stop(struct ks_podman *pm, const char *pod, int timeout_s)
{
    struct ks_buf path;
    struct ks_podman_req req = {.method = "POST",
                                .timeout_ms = ks_podman_stop_budget_ms(timeout_s)};
    struct ks_podman_resp resp = {0};
    char t[16];
    int rc;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    snprintf(t, sizeof(t), "%d", timeout_s);
    if (timeout_s > 0)
        rc = ks_podman_path(&path, "/pods/%s/stop?t=%s", pod, t);
    else
        rc = ks_podman_path(&path, "/pods/%s/stop", pod);
    if (rc < 0)
        goto done;
    req.path = ks_buf_data(&path);
    if ((rc = ks_podman_request(&resp, pm, &req)) < 0)
        goto done;
    if (resp.status == 304)
        rc = stop_running_members(pm, pod, timeout_s);
done:
    ks_buf_release(&resp.body);
    ks_buf_release(&path);
    return rc;
}

int ks_podman_pod_kill(struct ks_podman *pm, const char *pod, const char *signal)
{
    return ks_podman_call(pm, "POST", 0, "/pods/%s/kill?signal=%s", pod,
                          signal ? signal : "SIGKILL");
}

int ks_podman_pod_remove(struct ks_podman *pm, const char *pod, bool force)
{
    if (force)
        return ks_podman_call(pm, "DELETE", ks_podman_stop_budget_ms(-1), "/pods/%s?force=true",
                              pod);
    return ks_podman_call(pm, "DELETE", 0, "/pods/%s", pod);
}

int ks_podman_pod_inspect(json_t **out, struct ks_podman *pm, const char *pod)
{
    return ks_podman_get_json(out, pm, "/pods/%s/json", pod);
}

int ks_podman_pod_list(json_t **out, struct ks_podman *pm, const char *const *labels)
{
    return ks_podman_list(out, pm, "/pods/json?", labels);
}
