/*
 * http.c: the httpGet check with the agent's own HTTP client
 * (nodeagent/http), as the kubelet's prober does it: GET
 * scheme://host:port/path with the manifest's httpHeaders (a "Host" header
 * among them sets the virtual host), User-Agent kube-probe/keelson and an
 * Accept of any type unless given, no keep-alive, TLS certificates not
 * verified (the kubelet skips verification too), the body discarded.
 * Success is a status in 200..399. Redirects are followed only while they
 * stay on the same host name (at most KS_PROBE_MAX_REDIRECTS); a redirect to
 * another host ends the probe with that 3xx answer, which counts as success
 * (kubelet's "Probe terminated redirects" warning).
 */
#include "nodeagent/probe/internal.h"

#include "core/error.h"
#include "core/str.h"
#include "nodeagent/http/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KS_PROBE_MAX_BODY 65536 /* bytes of a probe answer read, the rest dropped */

/* The headers to send: the manifest's, then the defaults it does not set.
 * A "Host" header becomes *out_host. Strings are borrowed from headers. */
static int build_headers(struct ks_http_header **out, size_t *out_n, const char **out_host,
                         const json_t *headers)
{
    size_t n = json_array_size(headers), i, k = 0;
    struct ks_http_header *list = calloc(n + 2, sizeof(*list));
    bool ua = false, accept = false;
    json_t *h;

    if (!list)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out_host = NULL;
    json_array_foreach(headers, i, h)
    {
        const char *name = json_string_value(json_object_get(h, "name"));
        const char *value = json_string_value(json_object_get(h, "value"));

        if (!name || !value)
            continue;
        if (strcasecmp(name, "Host") == 0) {
            *out_host = value;
            continue;
        }
        ua = ua || strcasecmp(name, "User-Agent") == 0;
        accept = accept || strcasecmp(name, "Accept") == 0;
        list[k++] = (struct ks_http_header){name, value};
    }
    if (!ua)
        list[k++] = (struct ks_http_header){"User-Agent", "kube-probe/keelson"};
    if (!accept)
        list[k++] = (struct ks_http_header){"Accept", "*/*"};
    *out = list;
    *out_n = k;
    return 0;
}

/* Absolute URL of a Location answer to url (parsed as u). */
static char *resolve(const char *url, const struct ks_http_url *u, const char *loc)
{
    bool v6 = strchr(u->host, ':') != NULL;
    const char *scheme = u->tls ? "https" : "http";
    const char *slash;

    if (ks_str_has_prefix(loc, "http://") || ks_str_has_prefix(loc, "https://"))
        return strdup(loc);
    if (ks_str_has_prefix(loc, "//"))
        return ks_strdupf("%s:%s", scheme, loc);
    if (loc[0] == '/')
        return ks_strdupf("%s://%s%s%s:%d%s", scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
                          u->port, loc);
    /* relative to the current path's directory */
    slash = strrchr(url, '/');
    return ks_strdupf("%.*s%s", (int)(slash - url + 1), url, loc);
}

static void transport_message(char *msg, size_t cap, int rc, int os_errno, const char *url)
{
    char tmp[128];

    if (rc == KS_ETIMEOUT) {
        snprintf(msg, cap, "Get \"%s\": context deadline exceeded (Client.Timeout exceeded)", url);
        return;
    }
    if (os_errno && ks_str_has_prefix(ks_error_last(), "connect to ")) {
        snprintf(tmp, sizeof(tmp), "%s", strerror(os_errno));
        tmp[0] = (char)tolower((unsigned char)tmp[0]);
        snprintf(msg, cap, "Get \"%s\": connect: %s", url, tmp);
        return;
    }
    snprintf(msg, cap, "Get \"%s\": %s", url, ks_error_last());
}

int ks_probe_http_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                        const struct ks_probe_spec *spec, const char *host, long timeout_ms)
{
    struct ks_http_header *hdrs = NULL;
    size_t n_hdrs = 0;
    const char *vhost = NULL;
    int64_t deadline = ks_probe_now_ms() + timeout_ms;
    char *url = NULL, *first_host = NULL, *location = NULL;
    bool v6 = strchr(host, ':') != NULL;
    struct ks_http_url u = {0};
    struct ks_http_client *client = NULL;
    struct ks_http_response resp = {0};
    int rc = 0, hops;

    *out = KS_PROBE_FAILURE;
    if ((rc = build_headers(&hdrs, &n_hdrs, &vhost, spec->http_headers)) < 0)
        goto done;
    url = ks_strdupf("%s://%s%s%s:%d%s", strcmp(spec->scheme, "HTTPS") == 0 ? "https" : "http",
                     v6 ? "[" : "", host, v6 ? "]" : "", spec->port, spec->path);
    if (!url) {
        rc = ks_error_set(KS_ENOMEM, "probe: cannot set up an HTTP request for %s", host);
        goto done;
    }
    for (hops = 0;; hops++) {
        long left = (long)(deadline - ks_probe_now_ms());
        struct ks_http_opts ho = {.insecure = true};
        struct ks_http_request req = {.method = "GET",
                                      .host = vhost,
                                      .headers = hdrs,
                                      .n_headers = n_hdrs,
                                      .max_body = KS_PROBE_MAX_BODY,
                                      .truncate_ok = true,
                                      .close = true};

        if (left <= 0) {
            transport_message(msg, cap, KS_ETIMEOUT, 0, url);
            goto done;
        }
        ks_http_url_release(&u);
        if ((rc = ks_http_url_parse(&u, url)) < 0) {
            snprintf(msg, cap, "Get \"%s\": %s", url, ks_error_last());
            rc = 0;
            goto done;
        }
        if (!first_host && !(first_host = strdup(u.host))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        ho.host = u.host;
        ho.port = u.port;
        ho.tls = u.tls;
        ho.connect_ms = left;
        ks_http_client_free(client);
        client = NULL;
        if ((rc = ks_http_client_new(&client, &ho)) < 0)
            goto done;
        req.target = u.target;
        req.timeout_ms = left;
        ks_http_response_release(&resp);
        rc = ks_http_request(&resp, client, &req);
        if (rc == KS_ENOMEM)
            goto done;
        if (rc < 0) {
            transport_message(msg, cap, rc, resp.os_errno, url);
            rc = 0;
            goto done;
        }
        free(location);
        location = ks_http_response_header(&resp, "Location");
        if (resp.status >= 300 && resp.status < 400 && location && *location) {
            char *next = resolve(url, &u, location);
            struct ks_http_url nu = {0};
            bool same = false;

            if (!next) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            if (ks_http_url_parse(&nu, next) == 0)
                same = strcasecmp(nu.host, first_host) == 0;
            ks_http_url_release(&nu);
            if (same) {
                if (hops + 1 > KS_PROBE_MAX_REDIRECTS) {
                    snprintf(msg, cap, "Get \"%s\": stopped after %d redirects", next,
                             KS_PROBE_MAX_REDIRECTS);
                    free(next);
                    goto done;
                }
                free(url);
                url = next;
                continue;
            }
            snprintf(msg, cap, "Probe terminated redirects (HTTP %d to %s)", resp.status, next);
            free(next);
            *out = KS_PROBE_SUCCESS;
            goto done;
        }
        if (resp.status >= 200 && resp.status < 400) {
            *out = KS_PROBE_SUCCESS;
        } else {
            snprintf(msg, cap, "HTTP probe failed with statuscode: %d", resp.status);
        }
        goto done;
    }
done:
    ks_http_response_release(&resp);
    ks_http_client_free(client);
    ks_http_url_release(&u);
    free(hdrs);
    free(url);
    free(first_host);
    free(location);
    return rc;
}
