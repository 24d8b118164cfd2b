/*
 * pullsecrets.c: spec.imagePullSecrets, the registry credential for an
 * image, as the kubelet picks it.
 *
 * A pod names Secrets of type kubernetes.io/dockerconfigjson (key
 * .dockerconfigjson: {"auths": {KEY: ENTRY}}) or kubernetes.io/dockercfg
 * (key .dockercfg: {KEY: ENTRY}); ENTRY holds "auth" (base64 of
 * user:password) or "username"/"password", or an "identitytoken". KEY is a
 * registry host with an optional port and path ("registry:5000/team",
 * "https://index.docker.io/v1/", "*.example.com"). Matching follows the
 * kubelet's keyring: the scheme and a /v1/ or /v2/ path are dropped, the
 * host matches label by label with '*' globs and the same port, the key's
 * path is a prefix of the image's repository path, and docker.io,
 * index.docker.io and registry-1.docker.io are one registry (where images
 * without a registry live, single names under library/). Of the matching
 * keys the most specific (longest) wins, the first Secret on a tie.
 *
 * Podman's libpod pull takes the credential as the X-Registry-Auth header:
 * base64url of {"username", "password"} or {"identitytoken"}.
 */
#include "nodeagent/agent/internal.h"

#include "core/base64.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULL_SECRET_MAX 65536 /* one decoded .dockerconfigjson */

static bool docker_hub(const char *host, size_t n)
{
    return (n == 9 && strncmp(host, "docker.io", n) == 0) ||
           (n == 15 && strncmp(host, "index.docker.io", n) == 0) ||
           (n == 20 && strncmp(host, "registry-1.docker.io", n) == 0);
}

/* Splits an image reference into registry host (with port; "docker.io" for
 * Docker Hub) and repository path (without tag or digest). */
static int image_split(char *host, size_t hn, char *path, size_t pn, const char *image)
{
    const char *slash = strchr(image, '/');
    size_t dl = slash ? (size_t)(slash - image) : 0;
    bool domain = slash && (memchr(image, '.', dl) || memchr(image, ':', dl) ||
                            (dl == 9 && strncmp(image, "localhost", 9) == 0));
    const char *repo = domain ? slash + 1 : image;
    size_t rl = strcspn(repo, "@");
    const char *last = NULL;
    for (size_t k = 0; k < rl; k++)
        if (repo[k] == '/')
            last = repo + k;
    const char *colon = memchr(last ? last : repo, ':', rl - (size_t)((last ? last : repo) - repo));
    if (colon)
        rl = (size_t)(colon - repo);
    int w1, w2;
    if (!domain || docker_hub(image, dl)) {
        w1 = snprintf(host, hn, "docker.io");
        w2 = snprintf(path, pn, "%s%.*s", memchr(repo, '/', rl) ? "" : "library/", (int)rl, repo);
    } else {
        w1 = snprintf(host, hn, "%.*s", (int)dl, image);
        w2 = snprintf(path, pn, "%.*s", (int)rl, repo);
    }
    if (w1 < 0 || (size_t)w1 >= hn || w2 < 0 || (size_t)w2 >= pn || !rl)
        return ks_error_set(KS_EINVALID, "image \"%.200s\": not a registry reference", image);
    return 0;
}

/* A config key as host (docker.io aliases folded) and path without the
 * leading '/' and without a /v1/ or /v2/ API prefix. */
static int key_split(char *host, size_t hn, char *path, size_t pn, const char *key)
{
    if (ks_str_has_prefix(key, "https://"))
        key += 8;
    else if (ks_str_has_prefix(key, "http://"))
        key += 7;
    size_t hl = strcspn(key, "/");
    const char *p = key + hl;
    if (ks_str_has_prefix(p, "/v1/") || ks_str_has_prefix(p, "/v2/") || strcmp(p, "/v1") == 0 ||
        strcmp(p, "/v2") == 0)
        p += 3;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    int w1 = docker_hub(key, hl) ? snprintf(host, hn, "docker.io")
                                 : snprintf(host, hn, "%.*s", (int)hl, key);
    int w2 = snprintf(path, pn, "%.*s", (int)pl, p);
    if (!hl || w1 < 0 || (size_t)w1 >= hn || w2 < 0 || (size_t)w2 >= pn)
        return KS_EINVALID;
    return 0;
}

/* Host glob (labels with '*', same port) against a host. */
static bool host_match(const char *glob, const char *host)
{
    const char *gp = strrchr(glob, ':'), *hp = strrchr(host, ':');
    if ((gp == NULL) != (hp == NULL) || (gp && strcmp(gp, hp) != 0))
        return false;
    size_t gl = gp ? (size_t)(gp - glob) : strlen(glob);
    size_t hl = hp ? (size_t)(hp - host) : strlen(host);
    while (gl && hl) {
        const char *gd = memchr(glob, '.', gl), *hd = memchr(host, '.', hl);
        size_t g1 = gd ? (size_t)(gd - glob) : gl, h1 = hd ? (size_t)(hd - host) : hl;
        char g[256], h[256];
        if (g1 >= sizeof g || h1 >= sizeof h || (gd == NULL) != (hd == NULL))
            return false;
        memcpy(g, glob, g1);
        g[g1] = '\0';
        memcpy(h, host, h1);
        h[h1] = '\0';
        if (fnmatch(g, h, 0) != 0)
            return false;
        glob += g1 + (gd ? 1 : 0), gl -= g1 + (gd ? 1 : 0);
        host += h1 + (hd ? 1 : 0), hl -= h1 + (hd ? 1 : 0);
    }
    return gl == 0 && hl == 0;
}

/* The credential of one config entry: {"username", "password"} or
 * {"identitytoken"}; NULL when it has none. */
static json_t *entry_cred(const json_t *e)
{
    const char *auth = json_string_value(json_object_get(e, "auth"));
    const char *user = json_string_value(json_object_get(e, "username"));
    const char *pass = json_string_value(json_object_get(e, "password"));
    const char *tok = json_string_value(json_object_get(e, "identitytoken"));
    if (tok && *tok)
        return json_pack("{s:s}", "identitytoken", tok);
    if (auth && *auth) {
        char *dec = NULL;
        size_t n = 0;
        json_t *c = NULL;
        if (ks_base64_decode(&dec, &n, auth, strlen(auth), false) == 0) {
            char *colon = memchr(dec, ':', n);
            if (colon)
                c = json_pack("{s:s%, s:s%}", "username", dec, (size_t)(colon - dec), "password",
                              colon + 1, n - (size_t)(colon - dec) - 1);
        }
        free(dec);
        if (c)
            return c;
    }
    if (user && *user)
        return json_pack("{s:s, s:s}", "username", user, "password", pass ? pass : "");
    return NULL;
}

int ks_agent_pull_cred(json_t **out, const char *image, const json_t *configs)
{
    char ih[256], ip[512];
    json_t *best = NULL, *cfg;
    size_t best_len = 0, i;
    int rc = image_split(ih, sizeof ih, ip, sizeof ip, image);
    if (rc < 0)
        return rc;
    json_array_foreach(configs, i, cfg)
    {
        const char *key;
        json_t *e;
        json_object_foreach((json_t *)cfg, key, e)
        {
            char kh[256], kp[512];
            if (key_split(kh, sizeof kh, kp, sizeof kp, key) < 0 || !host_match(kh, ih))
                continue;
            if (*kp && !ks_str_has_prefix(ip, kp))
                continue;
            size_t len = strlen(kh) + strlen(kp);
            json_t *c = best && len <= best_len ? NULL : entry_cred(e);
            if (!c)
                continue;
            json_decref(best);
            best = c;
            best_len = len;
        }
    }
    *out = best;
    return 0;
}

int ks_agent_pull_auth_header(char **out, const json_t *cred)
{
    char *js = json_dumps(cred, JSON_COMPACT);
    if (!js)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = ks_base64_encode(out, js, strlen(js), true, true);
    free(js);
    return rc;
}

int ks_agent_pull_config(json_t **out, const json_t *secret, const char *name)
{
    const char *type = json_string_value(json_object_get(secret, "type"));
    const char *key = NULL;
    bool nested = false;
    if (type && strcmp(type, "kubernetes.io/dockerconfigjson") == 0)
        key = ".dockerconfigjson", nested = true;
    else if (type && strcmp(type, "kubernetes.io/dockercfg") == 0)
        key = ".dockercfg";
    else
        return ks_error_set(KS_EINVALID,
                            "secret \"%s\" is of type %s, not kubernetes.io/dockerconfigjson "
                            "or kubernetes.io/dockercfg",
                            name, type ? type : "Opaque");
    const char *plain =
        json_string_value(json_object_get(json_object_get(secret, "stringData"), key));
    const char *b64 = json_string_value(json_object_get(json_object_get(secret, "data"), key));
    char *dec = NULL;
    size_t n = 0;
    json_t *doc = NULL;
    json_error_t jerr;
    int rc = 0;
    if (!plain && !b64)
        return ks_error_set(KS_EINVALID, "secret \"%s\" has no %s", name, key);
    if (plain) {
        n = strlen(plain);
    } else if ((rc = ks_base64_decode(&dec, &n, b64, strlen(b64), false)) < 0) {
        return ks_error_wrap(rc, "secret \"%s\": data.%s", name, key);
    }
    if (n > PULL_SECRET_MAX) {
        rc = ks_error_set(KS_ELIMIT, "secret \"%s\": %s is over the %d-byte limit", name, key,
                          PULL_SECRET_MAX);
        goto done;
    }
    if (!(doc = json_loadb(plain ? plain : dec, n, 0, &jerr))) {
        rc = ks_error_set(KS_EINVALID, "secret \"%s\": %s: %s", name, key, jerr.text);
        goto done;
    }
    json_t *auths = nested ? json_object_get(doc, "auths") : doc;
    if (!json_is_object(auths)) {
        rc = ks_error_set(KS_EINVALID, "secret \"%s\": %s%s is not an object", name, key,
                          nested ? ".auths" : "");
        goto done;
    }
    *out = json_incref(auths);
done:
    json_decref(doc);
    free(dec);
    return rc;
}

int ks_agent_pull_auth(char **out, char **out_missing, struct ks_agent_source *src,
                       const json_t *pod, const char *image)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const json_t *refs = json_object_get(json_object_get(pod, "spec"), "imagePullSecrets");
    json_t *configs = json_array(), *cred = NULL, *r;
    char *header = NULL;
    struct ks_buf missing;
    size_t i;
    int rc = 0;
    ks_buf_init(&missing, 1024);
    if (!ns || !*ns)
        ns = "default";
    json_array_foreach(refs, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_t *secret = NULL, *auths = NULL;
        if (!name || !*name)
            continue;
        int grc = src->ops->get_object(src, &secret, "Secret", ns, name);
        if (grc == KS_ENOTFOUND) {
            /* as the kubelet: pull without it, name it when that fails */
            ks_buf_printf(&missing, "%s\"%s\"", ks_buf_len(&missing) ? ", " : "", name);
            continue;
        }
        if (grc < 0) {
            rc = ks_error_wrap(grc, "imagePullSecrets: Secret %s/%s", ns, name);
            goto done;
        }
        rc = ks_agent_pull_config(&auths, secret, name);
        json_decref(secret);
        if (rc < 0) {
            rc = ks_error_wrap(rc, "imagePullSecrets");
            goto done;
        }
        json_array_append_new(configs, auths);
    }
    if ((rc = ks_agent_pull_cred(&cred, image, configs)) < 0)
        goto done;
    if (cred && (rc = ks_agent_pull_auth_header(&header, cred)) < 0)
        goto done;
    *out_missing = ks_buf_len(&missing) ? ks_buf_detach(&missing, NULL) : NULL;
    *out = header;
    header = NULL;
done:
    free(header);
    ks_buf_release(&missing);
    json_decref(cred);
    json_decref(configs);
    return rc;
}
