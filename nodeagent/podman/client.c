/*
 * client.c: the transport under every podman call: one HTTP request over
 * the libpod Unix socket with the agent's own HTTP client (nodeagent/http),
 * a time limit on every request, a cap on every answer, and one place that
 * turns HTTP statuses and transport failures into KS_E* codes with
 * Podman's own "message" text.
 *
 * The HTTP client keeps a few idle keep-alive connections that any thread
 * may take (its mutex guards the pool only, never a request), so calls
 * from several pod workers run in parallel. A connection whose request
 * failed in transport is closed rather than pooled, and a pooled one the
 * service closed is replaced: that is how the client survives a Podman
 * service restart.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"
#include "core/log.h"
#include "core/str.h"
#include "nodeagent/http/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ks_podman {
    char *socket;
    struct ks_podman_opts opts;
    struct ks_http_client *http;
};

int ks_podman_new(struct ks_podman **out, const char *socket_path,
                  const struct ks_podman_opts *opts)
{
    struct ks_podman *pm = NULL;
    struct ks_http_opts ho = {0};
    int rc = 0;

    if (!socket_path || !*socket_path) {
        rc = ks_error_set(KS_EINVALID, "podman: no socket path given");
        goto done;
    }
    /* sun_path holds 108 bytes including the terminator. */
    if (strlen(socket_path) > 107) {
        rc = ks_error_set(KS_ELIMIT, "podman socket path '%s' is over the 107-byte limit",
                          socket_path);
        goto done;
    }
    pm = calloc(1, sizeof(*pm));
    if (!pm) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    pm->socket = strdup(socket_path);
    if (!pm->socket) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (opts)
        pm->opts = *opts;
    if (pm->opts.timeout_ms <= 0)
        pm->opts.timeout_ms = KS_PODMAN_DEFAULT_TIMEOUT_MS;
    if (pm->opts.connect_ms <= 0)
        pm->opts.connect_ms = KS_PODMAN_DEFAULT_CONNECT_MS;
    if (pm->opts.max_response == 0)
        pm->opts.max_response = KS_PODMAN_DEFAULT_MAX_RESPONSE;
    ho.unix_path = pm->socket;
    ho.connect_ms = pm->opts.connect_ms;
    if ((rc = ks_http_client_new(&pm->http, &ho)) < 0)
        goto done;
    *out = pm;
    pm = NULL;
done:
    ks_podman_free(pm);
    return rc;
}

void ks_podman_free(struct ks_podman *pm)
{
    if (!pm)
        return;
    ks_http_client_free(pm->http);
    free(pm->socket);
    free(pm);
}

const char *ks_podman_socket(const struct ks_podman *pm)
{
    return pm->socket;
}

struct ks_http_client *ks_podman_http(struct ks_podman *pm)
{
    return pm->http;
}

int ks_podman_transport_error(const struct ks_podman *pm, int rc, int os_errno, const char *what,
                              long timeout_ms, size_t cap)
{
    char ebuf[128];

    /* the socket cannot be reached: "podman at <socket>: <strerror>" */
    if (rc == KS_EIO && os_errno && ks_str_has_prefix(ks_error_last(), "connect to "))
        return ks_error_set(KS_EIO, "podman at %s: %s", pm->socket,
                            strerror_r(os_errno, ebuf, sizeof(ebuf)));
    switch (rc) {
    case KS_ETIMEOUT:
        return ks_error_set(KS_ETIMEOUT, "podman at %s: %s: no complete answer within %ld ms",
                            pm->socket, what, timeout_ms);
    case KS_ELIMIT:
        if (strstr(ks_error_last(), "answer is over"))
            return ks_error_set(KS_ELIMIT, "podman at %s: %s: answer is over the %zu-byte limit",
                                pm->socket, what, cap);
        return ks_error_wrap(rc, "podman at %s: %s", pm->socket, what);
    case KS_ENOMEM:
        return rc;
    default:
        return ks_error_wrap(rc, "podman at %s: %s", pm->socket, what);
    }
}

/* Podman's error document: {"cause": ..., "message": ..., "response": N}. */
static int http_error(const struct ks_podman *pm, const struct ks_podman_req *req, long status,
                      const struct ks_buf *body)
{
    json_t *doc = NULL;
    const char *msg = NULL, *cause = NULL;
    struct ks_buf errs = {0};
    int code, rc;

    doc = json_loadb(ks_buf_data(body), ks_buf_len(body), 0, NULL);
    if (json_is_object(doc)) {
        msg = json_string_value(json_object_get(doc, "message"));
        cause = json_string_value(json_object_get(doc, "cause"));
    }
    /* a pod start that failed for some containers answers 409 with
     * {"Errs": ["starting container <id>: ...", ...], "Id"}: join them */
    if (!msg && json_array_size(json_object_get(doc, "Errs")) > 0) {
        size_t i;
        json_t *e;
        ks_buf_init(&errs, 4096);
        json_array_foreach(json_object_get(doc, "Errs"), i, e)
        {
            if (i)
                ks_buf_puts(&errs, "; ");
            ks_buf_puts(&errs, json_is_string(e) ? json_string_value(e) : "(unknown error)");
        }
        msg = ks_buf_error(&errs) == 0 ? ks_buf_data(&errs) : NULL;
    }
    if (!msg)
        msg = ks_buf_len(body) ? ks_buf_data(body) : "(no message)";
    switch (status) {
    case 404:
        code = KS_ENOTFOUND;
        break;
    case 409:
        code = KS_ECONFLICT;
        break;
    case 400:
        code = KS_EINVALID;
        break;
    default:
        code = KS_ERROR;
        break;
    }
    /* libpod 4.3 answers some conflicts with HTTP 500; its "cause" (the
     * error kind's text) tells them apart. */
    if (cause && (strcmp(cause, "container state improper") == 0 ||
                  strcmp(cause, "that name is already in use") == 0 ||
                  strcmp(cause, "container already exists") == 0 ||
                  strcmp(cause, "pod already exists") == 0))
        code = KS_ECONFLICT;
    rc = ks_error_set(code, "podman at %s: %s %s: HTTP %ld: %.512s", pm->socket, req->method,
                      req->path, status, msg);
    ks_buf_release(&errs);
    json_decref(doc);
    return rc;
}

int ks_podman_request(struct ks_podman_resp *resp, struct ks_podman *pm,
                      const struct ks_podman_req *req)
{
    struct ks_http_header headers[2];
    struct ks_http_request hreq = {
        .method = req->method, .truncate_ok = req->truncate_ok, .headers = headers};
    struct ks_http_response hresp = {0};
    char *target = NULL, *body = NULL, what[160];
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : pm->opts.timeout_ms;
    size_t cap = pm->opts.max_response;
    struct timespec t0, t1;
    int rc = 0;

    /* A call may ask for less than the client's cap, never for more. */
    if (req->max_response && req->max_response < cap)
        cap = req->max_response;
    resp->status = 0;
    resp->truncated = false;
    ks_buf_init(&resp->body, cap);
    snprintf(what, sizeof(what), "%s %.120s", req->method, req->path);
    target = ks_strdupf("%s%s", KS_PODMAN_API_PREFIX, req->path);
    if (!target) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (req->body) {
        body = json_dumps(req->body, JSON_COMPACT);
        if (!body) {
            rc = ks_error_set(KS_ENOMEM, "podman: %s: cannot serialise the request body", what);
            goto done;
        }
        hreq.body = body;
        hreq.body_len = strlen(body);
        headers[hreq.n_headers++] = (struct ks_http_header){"Content-Type", "application/json"};
    }
    if (req->registry_auth)
        headers[hreq.n_headers++] = (struct ks_http_header){"X-Registry-Auth", req->registry_auth};
    hreq.target = target;
    hreq.timeout_ms = timeout;
    hreq.max_body = cap;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = ks_http_request(&hresp, pm->http, &hreq);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    {
        /* one debug line per call: where the time of a pod start goes */
        char ms[32], st[16];
        snprintf(ms, sizeof(ms), "%.1f",
                 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        snprintf(st, sizeof(st), "%d", hresp.status);
        ks_log(KS_LOG_DEBUG, "podman call", "request", what, "status", st, "ms", ms, NULL);
    }
    if (rc < 0) {
        rc = ks_podman_transport_error(pm, rc, hresp.os_errno, what, timeout, cap);
        goto done;
    }
    ks_buf_release(&resp->body);
    resp->body = hresp.body;
    ks_buf_init(&hresp.body, 0);
    resp->status = hresp.status;
    resp->truncated = hresp.truncated;
    if (resp->status >= 400) {
        rc = http_error(pm, req, resp->status, &resp->body);
        goto done;
    }
done:
    if (rc < 0)
        ks_buf_release(&resp->body);
    ks_http_response_release(&hresp);
    free(body);
    free(target);
    return rc;
}

int ks_podman_request_json(json_t **out, struct ks_podman *pm, const struct ks_podman_req *req)
{
    struct ks_podman_resp resp = {0};
    json_error_t jerr;
    json_t *doc = NULL;
    int rc;

    if ((rc = ks_podman_request(&resp, pm, req)) < 0)
        goto done;
    doc = json_loadb(ks_buf_data(&resp.body), ks_buf_len(&resp.body), 0, &jerr);
    if (!doc) {
        rc = ks_error_set(KS_EINVALID, "podman at %s: %s %s: answer is not JSON: %s", pm->socket,
                          req->method, req->path, jerr.text);
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    ks_buf_release(&resp.body);
    return rc;
}

static int put_escaped(struct ks_buf *b, const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return ks_error_set(KS_EINVALID, "podman: empty name or id");
    if (n > KS_PODMAN_MAX_NAME)
        return ks_error_set(KS_EINVALID, "podman: name '%.40s...' is over the %d-byte limit", s,
                            KS_PODMAN_MAX_NAME);
    ks_http_escape(b, s);
    return 0;
}

int ks_podman_vpath(struct ks_buf *b, const char *fmt, va_list ap)
{
    const char *p;
    int rc = 0;

    for (p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            const char *arg = va_arg(ap, const char *);
            if (!arg) {
                rc = ks_error_set(KS_EINVALID, "podman: missing name or id");
                goto done;
            }
            if ((rc = put_escaped(b, arg)) < 0)
                goto done;
            p++;
        } else {
            ks_buf_putc(b, *p);
        }
    }
    if ((rc = ks_buf_error(b)) < 0)
        rc = ks_error_set(rc, "podman: request path is over the %zu-byte limit", b->limit);
done:
    return rc;
}

int ks_podman_path(struct ks_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ks_podman_vpath(b, fmt, ap);
    va_end(ap);
    return rc;
}

int ks_podman_call(struct ks_podman *pm, const char *method, long timeout_ms, const char *fmt, ...)
{
    struct ks_buf path;
    struct ks_podman_req req = {.method = method, .timeout_ms = timeout_ms};
    struct ks_podman_resp resp = {0};
    va_list ap;
    int rc;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    va_start(ap, fmt);
    rc = ks_podman_vpath(&path, fmt, ap);
    va_end(ap);
    if (rc < 0)
        goto done;
    req.path = ks_buf_data(&path);
    rc = ks_podman_request(&resp, pm, &req);
    ks_buf_release(&resp.body);
done:
    ks_buf_release(&path);
    return rc;
}

int ks_podman_get_json(json_t **out, struct ks_podman *pm, const char *fmt, ...)
{
    struct ks_buf path;
    struct ks_podman_req req = {.method = "GET"};
    va_list ap;
    int rc;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    va_start(ap, fmt);
    rc = ks_podman_vpath(&path, fmt, ap);
    va_end(ap);
    if (rc < 0)
        goto done;
    req.path = ks_buf_data(&path);
    rc = ks_podman_request_json(out, pm, &req);
done:
    ks_buf_release(&path);
    return rc;
}

int ks_podman_create(char **out, struct ks_podman *pm, const char *path, const json_t *spec)
{
    struct ks_podman_req req = {.method = "POST", .path = path, .body = spec};
    json_t *doc = NULL;
    int rc;

    if (!json_is_object(spec)) {
        rc = ks_error_set(KS_EINVALID, "podman: %s: the spec is not a JSON object", path);
        goto done;
    }
    if ((rc = ks_podman_request_json(&doc, pm, &req)) < 0)
        goto done;
    rc = ks_podman_take_id(out, doc, "Id", path);
done:
    json_decref(doc);
    return rc;
}

int ks_podman_list(json_t **out, struct ks_podman *pm, const char *path, const char *const *labels)
{
    struct ks_buf full;
    struct ks_podman_req req = {.method = "GET"};
    json_t *doc = NULL;
    int rc;

    ks_buf_init(&full, KS_PODMAN_MAX_PATH);
    ks_buf_puts(&full, path);
    if ((rc = ks_podman_label_filter(&full, labels)) < 0)
        goto done;
    req.path = ks_buf_data(&full);
    if ((rc = ks_podman_request_json(&doc, pm, &req)) < 0)
        goto done;
    /* libpod answers null, not [], when nothing matches. */
    if (json_is_null(doc)) {
        json_decref(doc);
        doc = json_array();
    }
    if (!json_is_array(doc)) {
        rc = ks_error_set(KS_EINVALID, "podman at %s: GET %s: answer is not a list", pm->socket,
                          path);
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    json_decref(doc);
    ks_buf_release(&full);
    return rc;
}

int ks_podman_label_filter(struct ks_buf *b, const char *const *labels)
{
    json_t *filters = NULL, *list = NULL;
    char *text = NULL;
    int rc = 0;

    if (!labels || !labels[0])
        goto done;
    filters = json_object();
    list = json_array();
    if (!filters || !list || json_object_set(filters, "label", list) < 0) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (; *labels; labels++) {
        if (json_array_append_new(list, json_string(*labels)) < 0) {
            rc = ks_error_set(KS_EINVALID, "podman: label filter '%.60s' is not UTF-8", *labels);
            goto done;
        }
    }
    text = json_dumps(filters, JSON_COMPACT);
    if (!text) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    rc = ks_podman_path(b, "filters=%s", text);
done:
    free(text);
    json_decref(list);
    json_decref(filters);
    return rc;
}

int ks_podman_demux(struct ks_buf *out, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t off = 0, n;

    /* Frame type 0 (stdin), 1 (stdout), 2 (stderr), then three zero bytes. */
    if (len < 8 || p[0] > 2 || p[1] || p[2] || p[3])
        return ks_buf_put(out, data, len);
    while (off + 8 <= len) {
        n = ((size_t)p[off + 4] << 24) | ((size_t)p[off + 5] << 16) | ((size_t)p[off + 6] << 8) |
            (size_t)p[off + 7];
        off += 8;
        if (n > len - off)
            n = len - off;
        ks_buf_put(out, data + off, n);
        off += n;
    }
    return ks_buf_error(out);
}

int ks_podman_take_id(char **out, const json_t *obj, const char *key, const char *what)
{
    const char *s = json_string_value(json_object_get(obj, key));
    char *copy;

    if (!s || !*s)
        return ks_error_set(KS_EINVALID, "podman: %s answer has no \"%s\"", what, key);
    copy = strdup(s);
    if (!copy)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *out = copy;
    return 0;
}

int ks_podman_ping(struct ks_podman *pm)
{
    struct ks_podman_req req = {.method = "GET", .path = "/_ping", .max_response = 1024};
    struct ks_podman_resp resp = {0};
    int rc;

    if ((rc = ks_podman_request(&resp, pm, &req)) < 0)
        goto done;
    if (strcmp(ks_buf_data(&resp.body), "OK") != 0)
        rc = ks_error_set(KS_EIO, "podman at %s: ping answered '%.40s', not OK", pm->socket,
                          ks_buf_data(&resp.body));
done:
    ks_buf_release(&resp.body);
    return rc;
}

int ks_podman_version(char **out, char **out_api, struct ks_podman *pm)
{
    struct ks_podman_req req = {.method = "GET", .path = "/version", .max_response = 65536};
    json_t *doc = NULL, *comps, *c;
    const char *api = NULL;
    char *version = NULL, *api_copy = NULL;
    size_t i;
    int rc;

    if ((rc = ks_podman_request_json(&doc, pm, &req)) < 0)
        goto done;
    if ((rc = ks_podman_take_id(&version, doc, "Version", "version")) < 0)
        goto done;
    comps = json_object_get(doc, "Components");
    json_array_foreach(comps, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "Name"));
        if (name && strcmp(name, "Podman Engine") == 0)
            api = json_string_value(json_object_get(json_object_get(c, "Details"), "APIVersion"));
    }
    if (out_api) {
        if (!api) {
            rc = ks_error_set(KS_EINVALID, "podman at %s: version answer has no API version",
                              pm->socket);
            goto done;
        }
        api_copy = strdup(api);
        if (!api_copy) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        *out_api = api_copy;
        api_copy = NULL;
    }
    *out = version;
    version = NULL;
done:
    free(api_copy);
    free(version);
    json_decref(doc);
    return rc;
}
