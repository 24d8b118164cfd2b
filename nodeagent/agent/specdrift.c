/*
 * specdrift.c: is a container still what its Kubernetes spec says? (pure)
 *
 * The spec-hash label only says which spec the agent made a container
 * from; someone who replaces the container (podman rm -f, podman run with
 * the same name and labels) keeps it. So the agent also compares what
 * Podman reports the container was configured with (runtime.h "container
 * config") with the spec, the way a Kubernetes user reads the spec: only
 * what the spec sets is compared. An unset command or args is the image's
 * default; the environment Podman and the image add by themselves (PATH,
 * HOSTNAME, TERM, HOME, container=podman, the image's ENV) is no drift.
 *
 * What differs comes back as drift.found / drift.desired objects with the
 * keys of the Kubernetes container (image, command, args, env), found being
 * what to write into the manifest so that Git matches what runs
 * (reconciler/writeback/driftpr.c edits the manifest with it). A value from
 * a Secret is never put into found: such a difference is only named.
 */
#include "nodeagent/agent/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "docker.io/library/x:latest" from "x", "index.docker.io/x", ... into out
 * (returns false when it does not fit); *out_short: the reference named no
 * registry (Podman resolves such names through its search registries). */
static bool image_norm(char *out, size_t n, bool *out_short, const char *ref)
{
    const char *slash = strchr(ref, '/');
    bool domain = slash && (memchr(ref, '.', (size_t)(slash - ref)) ||
                            memchr(ref, ':', (size_t)(slash - ref)) ||
                            ((size_t)(slash - ref) == 9 && strncmp(ref, "localhost", 9) == 0));
    const char *path = domain ? slash + 1 : ref;
    const char *last = strrchr(path, '/');
    last = last ? last + 1 : path;
    bool tagged = strchr(last, ':') || strchr(path, '@');
    const char *reg = "";
    if (domain) {
        size_t dl = (size_t)(slash - ref);
        bool docker = (dl == 9 && strncmp(ref, "docker.io", 9) == 0) ||
                      (dl == 15 && strncmp(ref, "index.docker.io", 15) == 0) ||
                      (dl == 20 && strncmp(ref, "registry-1.docker.io", 20) == 0);
        if (docker)
            reg = strchr(path, '/') ? "docker.io/" : "docker.io/library/";
    }
    int w;
    if (domain && !*reg)
        w = snprintf(out, n, "%s%s", ref, tagged ? "" : ":latest");
    else
        w = snprintf(out, n, "%s%s%s", reg, path, tagged ? "" : ":latest");
    *out_short = !domain;
    return w >= 0 && (size_t)w < n;
}

bool ks_agent_image_same(const char *spec, const char *found)
{
    char a[512], b[512];
    bool sa = false, sb = false;
    if (!spec || !found)
        return false;
    if (!image_norm(a, sizeof(a), &sa, spec) || !image_norm(b, sizeof(b), &sb, found))
        return strcmp(spec, found) == 0;
    if (strcmp(a, b) == 0)
        return true;
    /* a short name matches any registry it may resolve to */
    size_t la = strlen(a), lb = strlen(b);
    if (sa && !sb && lb > la && b[lb - la - 1] == '/' && strcmp(b + lb - la, a) == 0)
        return true;
    if (sa && !sb && strncmp(b, "docker.io/library/", 18) == 0 && strcmp(b + 18, a) == 0)
        return true;
    return false;
}

static bool podman_default_env(const char *name)
{
    static const char *const names[] = {"PATH", "HOSTNAME", "TERM", "HOME", "container"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static void list_text(struct ks_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    ks_buf_printf(b, "%.*s%s", 120, s ? s : "?", s && strlen(s) > 120 ? "..." : "");
    free(s);
}

static void sep(struct ks_buf *b)
{
    if (b->len)
        ks_buf_puts(b, "; ");
}

/* One list key (command, args): found and desired set when they differ. */
static bool list_diff(json_t *found, json_t *desired, struct ks_buf *text, const char *key,
                      const json_t *got, const json_t *want)
{
    if (json_equal((json_t *)got, (json_t *)want))
        return false;
    sep(text);
    ks_buf_printf(text, "%s ", key);
    list_text(text, got);
    json_object_set_new(found, key, json_deep_copy(got));
    json_object_set_new(desired, key, json_deep_copy(want));
    return true;
}

/* The env part: found (Kubernetes env list) and whether it differs. */
static bool env_diff(json_t **out_found, struct ks_buf *text, const json_t *spec,
                     const json_t *want_env, const json_t *env_names, const json_t *cenv,
                     const json_t *image_env)
{
    const json_t *senv = json_object_get(spec, "env");
    json_t *found = json_array(), *names = json_object(), *e;
    bool differs = false, hidden = false;
    size_t i;
    json_array_foreach(senv, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name)
            continue;
        json_object_set_new(names, name, json_true());
        bool later = false; /* Kubernetes: the last entry of a name wins */
        for (size_t j = i + 1; j < json_array_size(senv) && !later; j++) {
            const char *n = json_string_value(json_object_get(json_array_get(senv, j), "name"));
            later = n && strcmp(n, name) == 0;
        }
        if (later) {
            json_array_append(found, e);
            continue;
        }
        const json_t *vf = json_object_get(e, "valueFrom");
        const char *have = json_string_value(json_object_get(cenv, name));
        const char *want = NULL;
        if (!vf) {
            want = json_string_value(json_object_get(e, "value"));
            if (!want)
                want = "";
        }
        if (want_env && json_object_get(want_env, name)) {
            want = json_string_value(json_object_get(want_env, name));
        }
        if (!have) {
            differs = true;
            sep(text);
            ks_buf_printf(text, "env %s unset", name);
            continue;
        }
        if (!want || strcmp(want, have) == 0) {
            json_array_append(found, e);
            continue;
        }
        differs = true;
        sep(text);
        if (json_object_get(vf, "secretKeyRef")) {
            /* never copy a Secret's value into Git */
            hidden = true;
            ks_buf_printf(text, "env %s differs from its Secret", name);
            json_array_append(found, e);
            continue;
        }
        ks_buf_printf(text, "env %s=%.60s instead of %.60s", name, have, want);
        json_array_append_new(found, json_pack("{s:s, s:s}", "name", name, "value", have));
    }
    /* what the container has beyond the spec, Podman and the image; with
     * envFrom and neither want_env nor env_names, the names it brings are
     * unknown: not judged then */
    bool env_from = json_array_size(json_object_get(spec, "envFrom")) > 0;
    if (want_env || env_names || !env_from) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)cenv, k, v)
        {
            if (json_object_get(names, k) || (want_env && json_object_get(want_env, k)) ||
                (env_names && json_object_get(env_names, k)) || podman_default_env(k) ||
                json_object_get(image_env, k))
                continue;
            differs = true;
            sep(text);
            ks_buf_printf(text, "env %s=%.60s added", k, json_string_value(v));
            json_array_append_new(
                found, json_pack("{s:s, s:s?}", "name", k, "value", json_string_value(v)));
        }
    }
    json_decref(names);
    if (differs && !hidden)
        *out_found = found;
    else
        json_decref(found);
    return differs;
}

int ks_agent_config_diff(json_t **out_found, json_t **out_desired, char **out_text,
                         const json_t *spec, const json_t *want_env, const json_t *env_names,
                         const json_t *config, const json_t *image_env)
{
    json_t *found = json_object(), *desired = json_object(), *fenv = NULL;
    struct ks_buf text;
    const char *image = json_string_value(json_object_get(spec, "image"));
    const char *fimage = json_string_value(json_object_get(config, "image"));
    const json_t *scmd = json_object_get(spec, "command"), *sargs = json_object_get(spec, "args");
    const json_t *fep = json_object_get(config, "command"), *fcmd = json_object_get(config, "args");
    json_t *empty = json_array();
    bool differs = false;
    int rc = 0;
    ks_buf_init(&text, 0);
    if (!found || !desired || !empty) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (image && fimage && !ks_agent_image_same(image, fimage)) {
        differs = true;
        ks_buf_printf(&text, "image %s instead of %s", fimage, image);
        json_object_set_new(found, "image", json_string(fimage));
        json_object_set_new(desired, "image", json_string(image));
    }
    if (!json_is_array(fep))
        fep = empty;
    if (!json_is_array(fcmd))
        fcmd = empty;
    if (json_is_array(scmd)) {
        /* the spec's command replaces the image's entrypoint and command:
         * compare the whole process, split as the manifest would say it */
        const json_t *c = json_array_size(fep) ? fep : fcmd;
        const json_t *a = json_array_size(fep) ? fcmd : empty;
        differs |= list_diff(found, desired, &text, "command", c, scmd);
        differs |=
            list_diff(found, desired, &text, "args", a, json_is_array(sargs) ? sargs : empty);
    } else if (json_is_array(sargs)) {
        differs |= list_diff(found, desired, &text, "args", fcmd, sargs);
    }
    const json_t *cenv = json_object_get(config, "env");
    if (json_is_object(cenv) &&
        env_diff(&fenv, &text, spec, want_env, env_names, cenv, image_env)) {
        differs = true;
        if (fenv) {
            json_object_set_new(found, "env", fenv);
            fenv = NULL;
            const json_t *senv = json_object_get(spec, "env");
            json_object_set_new(desired, "env",
                                json_is_array(senv) ? json_deep_copy(senv) : json_array());
        }
    }
    if (!differs)
        goto done;
    char *t = ks_buf_detach(&text, NULL);
    if (!t) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (strlen(t) > 400)
        memcpy(t + 397, "...", 4); /* the message stays one readable line */
    /* nothing the manifest can say (a Secret's value): text only */
    *out_found = json_object_size(found) ? found : NULL;
    *out_desired = json_object_size(found) ? desired : NULL;
    if (*out_found)
        found = desired = NULL;
    *out_text = t;
    rc = 1;
done:
    json_decref(found);
    json_decref(desired);
    json_decref(empty);
    json_decref(fenv);
    ks_buf_release(&text);
    return rc;
}
