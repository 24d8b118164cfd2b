/*
 * http.c: the httpGet check with libcurl, as the kubelet's prober does it:
 * GET scheme://host:port/path with the manifest's httpHeaders (a "Host"
 * header among them sets the virtual host), User-Agent kube-probe/keelson
 * and an Accept of any type unless given, no keep-alive, TLS certificates not
 * verified (the kubelet skips verification too), the body discarded.
 * Success is a status in 200..399. Redirects are followed only while they
 * stay on the same host name (at most KS_PROBE_MAX_REDIRECTS); a redirect to
 * another host ends the probe with that 3xx answer, which counts as success
 * (kubelet's "Probe terminated redirects" warning).
 */
#include "nodeagent/probe/internal.h"

#include "core/error.h"
#include "core/str.h"
#include "nodeagent/podman/internal.h"

#include <curl/curl.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t discard(char *data, size_t size, size_t n, void *ud)
{
    (void)data;
    (void)ud;
    return size * n;
}

static bool has_header(const json_t *headers, const char *name)
{
    json_t *h;
    size_t i;

    json_array_foreach(headers, i, h)
    {
        const char *n = json_string_value(json_object_get(h, "name"));

        if (n && strcasecmp(n, name) == 0)
            return true;
    }
    return false;
}

static int append(struct curl_slist **list, const char *line)
{
    struct curl_slist *next = line ? curl_slist_append(*list, line) : NULL;

    if (!next)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *list = next;
    return 0;
}

static int build_headers(struct curl_slist **out, const json_t *headers)
{
    struct curl_slist *list = NULL;
    json_t *h;
    size_t i;
    char *line;
    int rc = 0;

    json_array_foreach(headers, i, h)
    {
        const char *n = json_string_value(json_object_get(h, "name"));
        const char *v = json_string_value(json_object_get(h, "value"));

        /* "Name;" is curl's way of sending a header with an empty value. */
        line = *v ? ks_strdupf("%s: %s", n, v) : ks_strdupf("%s;", n);
        rc = append(&list, line);
        free(line);
        if (rc < 0)
            goto done;
    }
    if ((!has_header(headers, "User-Agent") &&
         (rc = append(&list, "User-Agent: kube-probe/keelson")) < 0) ||
        (!has_header(headers, "Accept") && (rc = append(&list, "Accept: */*")) < 0) ||
        (rc = append(&list, "Connection: close")) < 0)
        goto done;
    *out = list;
    list = NULL;
done:
    curl_slist_free_all(list);
    return rc;
}

/* The host part of url as libcurl parses it ("[::1]" for IPv6); NULL if none. */
static char *url_host(const char *url)
{
    CURLU *u = curl_url();
    char *h = NULL, *copy = NULL;

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        copy = strdup(h);
        curl_free(h);
    }
    curl_url_cleanup(u);
    return copy;
}

static void transport_message(char *msg, size_t cap, CURL *h, CURLcode crc, const char *url)
{
    long os_errno = 0;
    char tmp[128], ebuf[128];

    if (crc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, cap, "Get \"%s\": context deadline exceeded (Client.Timeout exceeded)", url);
        return;
    }
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    if (crc == CURLE_COULDNT_CONNECT && os_errno) {
        snprintf(ebuf, sizeof(ebuf), "%s", strerror_r((int)os_errno, tmp, sizeof(tmp)));
        ebuf[0] = (char)tolower((unsigned char)ebuf[0]);
        snprintf(msg, cap, "Get \"%s\": connect: %s", url, ebuf);
        return;
    }
    snprintf(msg, cap, "Get \"%s\": %s", url, curl_easy_strerror(crc));
}

int ks_probe_http_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                        const struct ks_probe_spec *spec, const char *host, long timeout_ms)
{
    struct curl_slist *hdrs = NULL;
    int64_t deadline = ks_probe_now_ms() + timeout_ms;
    char *url = NULL, *first_host = NULL, *next_host = NULL;
    bool v6 = strchr(host, ':') != NULL;
    CURL *h = NULL;
    int rc = 0, hops;

    *out = KS_PROBE_FAILURE;
    if ((rc = ks_podman_curl_global()) < 0 || (rc = build_headers(&hdrs, spec->http_headers)) < 0)
        goto done;
    url = ks_strdupf("%s://%s%s%s:%d%s", strcmp(spec->scheme, "HTTPS") == 0 ? "https" : "http",
                     v6 ? "[" : "", host, v6 ? "]" : "", spec->port, spec->path);
    h = curl_easy_init();
    if (!url || !h || !(first_host = url_host(url))) {
        rc = ks_error_set(KS_ENOMEM, "probe: cannot set up an HTTP request for %s", host);
        goto done;
    }
    for (hops = 0;; hops++) {
        long status = 0, left = (long)(deadline - ks_probe_now_ms());
        char *location = NULL;
        CURLcode crc;

        if (left <= 0) {
            transport_message(msg, cap, h, CURLE_OPERATION_TIMEDOUT, url);
            goto done;
        }
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        crc = curl_easy_perform(h);
        if (crc == CURLE_OUT_OF_MEMORY) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (crc != CURLE_OK) {
            transport_message(msg, cap, h, crc, url);
            goto done;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
        if (status >= 300 && status < 400 && location) {
            free(next_host);
            next_host = url_host(location);
            if (next_host && strcasecmp(next_host, first_host) == 0) {
                if (hops + 1 > KS_PROBE_MAX_REDIRECTS) {
                    snprintf(msg, cap, "Get \"%s\": stopped after %d redirects", location,
                             KS_PROBE_MAX_REDIRECTS);
                    goto done;
                }
                free(url);
                if (!(url = strdup(location))) {
                    rc = ks_error_set(KS_ENOMEM, "out of memory");
                    goto done;
                }
                continue;
            }
            snprintf(msg, cap, "Probe terminated redirects (HTTP %ld to %s)", status, location);
            *out = KS_PROBE_SUCCESS;
            goto done;
        }
        if (status >= 200 && status < 400) {
            *out = KS_PROBE_SUCCESS;
        } else {
            snprintf(msg, cap, "HTTP probe failed with statuscode: %ld", status);
        }
        goto done;
    }
done:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(url);
    free(first_host);
    free(next_host);
    return rc;
}
