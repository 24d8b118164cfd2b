/*
 * images.c: libpod image endpoints the agent needs before creating a
 * container: exists, inspect, and pull. Pull answers 200 at once and then
 * streams one JSON object per line ({"stream"}, {"error"}, {"images","id"}),
 * so its failure has to be read from the body, not from the status.
 * A pull with a registry credential sends it as X-Registry-Auth, the only
 * place libpod reads one.
 */
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
    return ks_podman_image_pull_policy(out, pm, reference, "missing", NULL, timeout_ms);
}

int ks_podman_image_pull_policy(char **out, struct ks_podman *pm, const char *reference,
                                const char *policy, const char *auth, long timeout_ms)
{
    struct ks_buf path;
    struct ks_podman_req req = {.method = "POST", .timeout_ms = timeout_ms, .registry_auth = auth};
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
