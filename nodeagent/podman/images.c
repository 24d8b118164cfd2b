/*
 * images.c: libpod image endpoints the agent needs before creating a
 * container: exists, inspect, and pull. Pull answers 200 at once and then
 * streams one JSON object per line ({"stream"}, {"error"}, {"images","id"}),
 * so its failure has to be read from the body, not from the status.
 * A pull with a registry credential sends it as X-Registry-Auth, on a
 * connection of its own (images_auth.h says why).
 */
#include "nodeagent/http/http.h"
#include "nodeagent/podman/images_auth.h"
#include "nodeagent/podman/internal.h"

#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ks_podman_image_exists(struct ks_podman *pm, const char *name)
{
    return ks_podman_call(pm, "GET", 0, "/images/%s/exists", name);
}

int ks_podman_image_inspect(json_t **out, struct ks_podman *pm, const char *name)
{
    return ks_podman_get_json(out, pm, "/images/%s/json", name);
}

/* Reads the pull stream: the last "error" wins, else the "id". */
static int pull_result(char **out, const struct ks_podman *pm, const char *reference,
                       const char *body)
{
    const char *line = body, *nl;
    char *id = NULL;
    int rc = 0;

    for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
        json_t *doc;
        const char *err;

        nl = strchr(line, '\n');
        doc = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
        if (!doc)
            continue; /* blank line or progress text */
        err = json_string_value(json_object_get(doc, "error"));
        if (err) {
            rc = ks_error_set(KS_EIO, "podman at %s: pull %s: %.512s", ks_podman_socket(pm),
                              reference, err);
        } else if (json_string_value(json_object_get(doc, "id")) && !id) {
            id = strdup(json_string_value(json_object_get(doc, "id")));
            if (!id)
                rc = ks_error_set(KS_ENOMEM, "out of memory");
        }
        json_decref(doc);
        if (rc < 0)
            goto done;
    }
    if (!id) {
        rc = ks_error_set(KS_EIO, "podman at %s: pull %s: the answer names no image",
                          ks_podman_socket(pm), reference);
        goto done;
    }
    if (out) {
        *out = id;
        id = NULL;
    }
done:
    free(id);
    return rc;
}

int ks_podman_image_pull(char **out, struct ks_podman *pm, const char *reference, long timeout_ms)
{
    return ks_podman_image_pull_policy(out, pm, reference, "missing", timeout_ms);
}

int ks_podman_image_pull_policy(char **out, struct ks_podman *pm, const char *reference,
                                const char *policy, long timeout_ms)
{
    struct ks_buf path;
    struct ks_podman_req req = {.method = "POST", .timeout_ms = timeout_ms};
    struct ks_podman_resp resp = {0};
    int rc;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    if ((rc = ks_podman_path(&path, "/images/pull?reference=%s&quiet=true&policy=%s", reference,
                             policy)) < 0)
        goto done;
    req.path = ks_buf_data(&path);
    if ((rc = ks_podman_request(&resp, pm, &req)) < 0)
        goto done;
    rc = pull_result(out, pm, reference, ks_buf_data(&resp.body));
done:
    ks_buf_release(&resp.body);
    ks_buf_release(&path);
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_podman_image_pull_auth(char **out, struct ks_podman *pm, const char *reference,
                              const char *policy, const char *auth, long timeout_ms)
{
    if (!auth)
        return ks_podman_image_pull_policy(out, pm, reference, policy, timeout_ms);
    struct ks_buf path;
    struct ks_http_client *c = NULL;
    struct ks_http_response resp = {0};
    struct ks_http_header hdr[] = {{"X-Registry-Auth", auth}};
    char *target = NULL;
    int rc;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    if ((rc = ks_podman_path(&path, "/images/pull?reference=%s&quiet=true&policy=%s", reference,
                             policy)) < 0)
        goto done;
    if (!(target = ks_strdupf("%s%s", KS_PODMAN_API_PREFIX, ks_buf_data(&path)))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_http_client_new(&c, &(struct ks_http_opts){.unix_path = ks_podman_socket(pm)})) <
        0)
        goto done;
    struct ks_http_request req = {.method = "POST",
                                  .target = target,
                                  .headers = hdr,
                                  .n_headers = 1,
                                  .timeout_ms = timeout_ms,
                                  .max_body = 1024 * 1024,
                                  .close = true};
    int64_t t0 = mono_ms();
    rc = ks_http_request(&resp, c, &req);
    {
        char ms[32], st[16];
        snprintf(ms, sizeof(ms), "%lld", (long long)(mono_ms() - t0));
        snprintf(st, sizeof(st), "%d", resp.status);
        ks_log(KS_LOG_DEBUG, "podman call", "request", "POST /images/pull (X-Registry-Auth)",
               "reference", reference, "status", st, "ms", ms, NULL);
    }
    if (rc < 0) {
        rc = ks_error_wrap(rc, "podman at %s: pull %s", ks_podman_socket(pm), reference);
        goto done;
    }
    if (resp.status >= 400) {
        json_t *doc = json_loadb(ks_buf_data(&resp.body), ks_buf_len(&resp.body), 0, NULL);
        const char *msg = json_string_value(json_object_get(doc, "message"));
        rc = ks_error_set(resp.status == 404 ? KS_ENOTFOUND : KS_EIO,
                          "podman at %s: pull %s: HTTP %d: %.512s", ks_podman_socket(pm), reference,
                          resp.status, msg ? msg : ks_buf_data(&resp.body));
        json_decref(doc);
        goto done;
    }
    rc = pull_result(out, pm, reference, ks_buf_data(&resp.body));
done:
    ks_http_response_release(&resp);
    ks_http_client_free(c);
    free(target);
    ks_buf_release(&path);
    return rc;
}
