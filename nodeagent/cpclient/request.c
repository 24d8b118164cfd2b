/*
 * request.c: one HTTP exchange with the control plane over the agent's
 * HTTP client (nodeagent/http): its pool keeps keep-alive connections that
 * calls from any thread share (the mutex guards only the pool, never a
 * request). The watch carries the source's ks_http_cancel, so interrupt
 * ends it at once instead of at the watch's timeout. A connection whose
 * exchange failed or was cancelled is closed rather than reused. Answers
 * are capped at max_response.
 */
#include "nodeagent/cpclient/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int transport_error(struct cp_source *s, int rc, const struct cp_request *req)
{
    switch (rc) {
    case KS_ETIMEOUT:
        return ks_error_set(KS_ETIMEOUT, "control plane at %s: %s %s: no answer within %ld ms",
                            s->server, req->method, req->path, req->timeout_ms);
    case KS_ENOMEM:
        return rc;
    case KS_ELIMIT:
        if (strstr(ks_error_last(), "answer is over"))
            return ks_error_set(KS_ELIMIT,
                                "control plane at %s: %s %s: answer larger than %zu bytes "
                                "(max_response)",
                                s->server, req->method, req->path, s->opts.max_response);
        return ks_error_wrap(rc, "control plane at %s: %s %s", s->server, req->method, req->path);
    default:
        /* everything else (refused, reset, TLS, bad answers) is worth a retry */
        ks_error_wrap(rc, "control plane at %s: %s %s", s->server, req->method, req->path);
        return KS_EIO;
    }
}

/* Maps the answer; *out gets the body on 2xx, *out_any (when not NULL)
 * the parsed body of any answer. */
static int answer(json_t **out, json_t **out_any, struct cp_source *s, long status,
                  const struct cp_request *req, const struct ks_buf *body)
{
    json_t *doc;
    const char *msg;
    int code, rc;

    /* a 2xx answer nobody reads (the per-pod status route answers with the
     * whole pod) is not parsed */
    if (!out && !out_any && status >= 200 && status < 300)
        return 0;
    doc = json_loadb(ks_buf_data(body), ks_buf_len(body), 0, NULL);
    msg = json_string_value(json_object_get(doc, "error"));

    if (out_any) {
        *out_any = doc;
        doc = json_incref(doc);
    }
    if (status >= 200 && status < 300) {
        if (!doc && ks_buf_len(body))
            return ks_error_set(KS_EIO, "control plane at %s: %s %s: answer is not JSON", s->server,
                                req->method, req->path);
        if (out)
            *out = doc;
        else
            json_decref(doc);
        return 0;
    }
    if (!msg)
        msg = ks_buf_len(body) ? ks_buf_data(body) : "(no message)";
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

/* One exchange; *out_aborted (when not NULL) on a cancel; *out_http and
 * *out_any (when not NULL) as cp_request_http. */
static int exchange(json_t **out, bool *out_aborted, long *out_http, json_t **out_any,
                    struct cp_source *s, const struct cp_request *req,
                    struct ks_http_cancel *cancel)
{
    struct ks_http_header headers[3] = {{"Authorization", s->auth},
                                        {"Accept", "application/json"},
                                        {"Content-Type", "application/json"}};
    struct ks_http_request hreq = {.method = req->method,
                                   .headers = headers,
                                   .n_headers = 2,
                                   .timeout_ms = req->timeout_ms,
                                   .max_body = s->opts.max_response,
                                   .cancel = cancel};
    struct ks_http_response resp = {0};
    char *target = NULL, *body = NULL;
    int rc;

    if (!(target = ks_strdupf("%s%s", s->node_path, req->path))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    hreq.target = target;
    if (strcmp(req->method, "POST") == 0) {
        if (!req->text) {
            body = req->body ? json_dumps(req->body, JSON_COMPACT) : strdup("{}");
            if (!body) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
        }
        hreq.body = req->text ? req->text : body;
        hreq.body_len = strlen(hreq.body);
        hreq.n_headers = 3;
    }
    if ((rc = ks_http_request(&resp, s->http, &hreq)) < 0) {
        rc = transport_error(s, rc, req);
        goto done;
    }
    if (resp.cancelled) {
        *out_aborted = true;
        goto done;
    }
    if (out_http)
        *out_http = resp.status;
    rc = answer(out, out_any, s, resp.status, req, &resp.body);
done:
    ks_http_response_release(&resp);
    free(body);
    free(target);
    return rc;
}

int cp_request(json_t **out, struct cp_source *s, const struct cp_request *req)
{
    return exchange(out, NULL, NULL, NULL, s, req, NULL);
}

int cp_request_http(json_t **out_doc, long *out_http, struct cp_source *s,
                    const struct cp_request *req)
{
    *out_http = 0;
    *out_doc = NULL;
    return exchange(NULL, NULL, out_http, out_doc, s, req, NULL);
}

int cp_request_watch(json_t **out, bool *out_aborted, struct cp_source *s,
                     const struct cp_request *req)
{
    int rc;

    *out_aborted = false;
    if (ks_http_cancel_take(&s->interrupt)) {
        *out_aborted = true;
        return 0;
    }
    rc = exchange(out, out_aborted, NULL, NULL, s, req, &s->interrupt);
    if (*out_aborted)
        ks_http_cancel_take(&s->interrupt);
    return rc;
}
