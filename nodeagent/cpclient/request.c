/*
 * request.c: one HTTP exchange with the control plane. Ordinary calls take
 * an idle easy handle from a small pool (keep-alive connections; the mutex
 * guards only the pool, never a request) and run curl_easy_perform; the
 * watch runs its handle on the source's multi handle so that interrupt can
 * wake curl_multi_poll at once (curl_multi_wakeup) instead of waiting for
 * a progress callback. A handle whose transfer failed or was aborted is
 * thrown away rather than reused. Answers are capped at max_response.
 */
#include "nodeagent/cpclient/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct exchange {
    struct curl_slist *headers;
    char *url;
    char *body;
    struct ks_buf answer;
};

static void exchange_release(struct exchange *x)
{
    curl_slist_free_all(x->headers);
    free(x->url);
    free(x->body);
    ks_buf_release(&x->answer);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct ks_buf *b = ud;

    if (ks_buf_put(b, data, size * n) < 0)
        return 0;
    return size * n;
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *next = curl_slist_append(*list, line);

    if (!next)
        return ks_error_set(KS_ENOMEM, "out of memory");
    *list = next;
    return 0;
}

static int setup(CURL *h, struct exchange *x, struct cp_source *s, const struct cp_request *req)
{
    long connect_ms = req->timeout_ms < s->opts.timeout_ms ? req->timeout_ms : s->opts.timeout_ms;
    int rc;

    ks_buf_init(&x->answer, s->opts.max_response);
    if (!(x->url = ks_strdupf("%s%s", s->node_url, req->path)))
        return ks_error_set(KS_ENOMEM, "out of memory");
    if ((rc = add_header(&x->headers, s->auth)) < 0 ||
        (rc = add_header(&x->headers, "Accept: application/json")) < 0 ||
        (rc = add_header(&x->headers, "Expect:")) < 0)
        return rc;
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    if (strcmp(req->method, "POST") == 0) {
        if ((rc = add_header(&x->headers, "Content-Type: application/json")) < 0)
            return rc;
        x->body = req->body ? json_dumps(req->body, JSON_COMPACT) : strdup("{}");
        if (!x->body)
            return ks_error_set(KS_ENOMEM, "out of memory");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(x->body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->answer);
    if (s->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
    return 0;
}

static int transport_error(struct cp_source *s, CURL *h, CURLcode crc, const struct cp_request *req,
                           const struct exchange *x)
{
    long os_errno = 0;
    char tmp[128];

    switch (crc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ks_error_set(KS_ETIMEOUT, "control plane at %s: %s %s: no answer within %ld ms",
                            s->server, req->method, req->path, req->timeout_ms);
    case CURLE_OUT_OF_MEMORY:
        return ks_error_set(KS_ENOMEM, "out of memory");
    case CURLE_WRITE_ERROR:
        if (ks_buf_error(&x->answer) == KS_ELIMIT)
            return ks_error_set(KS_ELIMIT,
                                "control plane at %s: %s %s: answer larger than %zu bytes "
                                "(max_response)",
                                s->server, req->method, req->path, s->opts.max_response);
        break;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno)
            return ks_error_set(KS_EIO, "control plane at %s: %s %s: %s", s->server, req->method,
                                req->path, strerror_r((int)os_errno, tmp, sizeof(tmp)));
        break;
    default:
        break;
    }
    return ks_error_set(KS_EIO, "control plane at %s: %s %s: %s", s->server, req->method, req->path,
                        curl_easy_strerror(crc));
}

/* Maps the answer; *out gets the body on 2xx. */
static int answer(json_t **out, struct cp_source *s, long status, const struct cp_request *req,
                  const struct exchange *x)
{
    json_t *doc = json_loadb(ks_buf_data(&x->answer), ks_buf_len(&x->answer), 0, NULL);
    const char *msg = json_string_value(json_object_get(doc, "error"));
    int code, rc;

    if (status >= 200 && status < 300) {
        if (!doc && ks_buf_len(&x->answer))
            return ks_error_set(KS_EIO, "control plane at %s: %s %s: answer is not JSON", s->server,
                                req->method, req->path);
        if (out)
            *out = doc;
        else
            json_decref(doc);
        return 0;
    }
    if (!msg)
        msg = ks_buf_len(&x->answer) ? ks_buf_data(&x->answer) : "(no message)";
    if (status == 401) {
        rc = ks_error_set(KS_EINVALID, "control plane at %s: token refused for node %s (HTTP 401)",
                          s->server, s->node);
        json_decref(doc);
        return rc;
    }
    switch (status) {
    case 400:
    case 403:
    case 405:
        code = KS_EINVALID;
        break;
    case 404:
        code = KS_ENOTFOUND;
        break;
    case 409:
        code = KS_ECONFLICT;
        break;
    case 410:
        code = KS_EGONE;
        break;
    case 413:
        code = KS_ELIMIT;
        break;
    default:
        code = KS_EIO;
        break;
    }
    rc = ks_error_set(code, "control plane at %s: %s %s: HTTP %ld: %.512s", s->server, req->method,
                      req->path, status, msg);
    json_decref(doc);
    return rc;
}

int cp_request(json_t **out, struct cp_source *s, const struct cp_request *req)
{
    struct exchange x = {0};
    CURL *h = ks_curlpool_take(&s->pool);
    CURLcode crc;
    long status = 0;
    int rc;

    if (!h)
        return ks_error_set(KS_ENOMEM, "out of memory");
    if ((rc = setup(h, &x, s, req)) < 0)
        goto done;
    crc = curl_easy_perform(h);
    if (crc != CURLE_OK) {
        rc = transport_error(s, h, crc, req, &x);
        curl_easy_cleanup(h);
        h = NULL;
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rc = answer(out, s, status, req, &x);
done:
    if (h)
        ks_curlpool_give(&s->pool, h);
    exchange_release(&x);
    return rc;
}

int cp_request_watch(json_t **out, bool *out_aborted, struct cp_source *s,
                     const struct cp_request *req)
{
    struct exchange x = {0};
    CURL *h = s->watch_handle;
    CURLcode crc = CURLE_OK;
    CURLMsg *m;
    int running = 1, left, rc;
    bool aborted = false, added = false;
    long status = 0;

    *out_aborted = false;
    if (atomic_exchange(&s->interrupt, false)) {
        *out_aborted = true;
        return 0;
    }
    s->watch_handle = NULL;
    if (h)
        curl_easy_reset(h);
    else if (!(h = curl_easy_init()))
        return ks_error_set(KS_ENOMEM, "out of memory");
    if ((rc = setup(h, &x, s, req)) < 0)
        goto done;
    if (curl_multi_add_handle(s->multi, h) != CURLM_OK) {
        rc = ks_error_set(KS_ENOMEM, "control plane: cannot start the watch request");
        goto done;
    }
    added = true;
    for (;;) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            rc = ks_error_set(KS_EIO, "control plane at %s: watch: curl multi failed", s->server);
            goto done;
        }
        if (!running)
            break;
        curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
        if (atomic_exchange(&s->interrupt, false)) {
            aborted = true;
            break;
        }
    }
    if (aborted) {
        *out_aborted = true;
        goto done;
    }
    while ((m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == h)
            crc = m->data.result;
    if (crc != CURLE_OK) {
        rc = transport_error(s, h, crc, req, &x);
        goto done;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rc = answer(out, s, status, req, &x);
done:
    if (added)
        curl_multi_remove_handle(s->multi, h);
    /* Only a handle that finished cleanly keeps its connection for the next watch. */
    if (rc == 0 && !aborted && status)
        s->watch_handle = h;
    else
        curl_easy_cleanup(h);
    exchange_release(&x);
    return rc;
}
