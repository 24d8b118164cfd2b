/*
 * events.c: Podman's event stream (GET /events?stream=true), the agent's
 * immediate view of drift: a container that dies or is removed out of band
 * shows up here at once instead of at the next resync.
 *
 * The answer is an endless body of one JSON object per line. Lines are
 * gathered in a capped buffer (KS_PODMAN_MAX_EVENT_LINE), parsed and handed
 * to the caller's callback one by one. The request runs in the HTTP
 * client's stream mode (nodeagent/http) with a ks_http_cancel, so another
 * thread can stop it at any moment: ks_podman_events_stop fires the cancel,
 * which wakes the client's poll at once. There is no overall time limit
 * (the stream is meant to stay open); a service that goes away closes the
 * socket, which ends the run with KS_EIO.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"
#include "core/str.h"
#include "nodeagent/http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ks_podman_events {
    struct ks_podman *pm;
    char *path; /* request target, API prefix included */
    struct ks_http_cancel stop;
    /* per run */
    struct ks_buf line;
    ks_podman_event_fn cb;
    void *ud;
    int cb_rc;    /* non-zero: the callback asked to stop */
    int parse_rc; /* a line that was too long or not an event */
};

int ks_podman_events_new(struct ks_podman_events **out, struct ks_podman *pm,
                         const char *const *labels, int64_t since)
{
    struct ks_podman_events *ev = NULL;
    struct ks_buf path;
    char num[24];
    int rc = 0;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    ks_buf_puts(&path, KS_PODMAN_API_PREFIX "/events?stream=true");
    if (since > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)since);
        ks_buf_printf(&path, "&since=%s", num);
    }
    if (labels && labels[0]) {
        ks_buf_putc(&path, '&');
        if ((rc = ks_podman_label_filter(&path, labels)) < 0)
            goto done;
    }
    if ((rc = ks_buf_error(&path)) < 0) {
        rc = ks_error_set(rc, "podman: event filter is over the %d-byte limit", KS_PODMAN_MAX_PATH);
        goto done;
    }
    ev = calloc(1, sizeof(*ev));
    if (!ev) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ev->stop.fd = -1;
    ev->pm = pm;
    if ((rc = ks_http_cancel_init(&ev->stop)) < 0)
        goto done;
    ev->path = ks_buf_detach(&path, NULL);
    if (!ev->path) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ks_buf_init(&ev->line, KS_PODMAN_MAX_EVENT_LINE);
    *out = ev;
    ev = NULL;
done:
    ks_podman_events_free(ev);
    ks_buf_release(&path);
    return rc;
}

void ks_podman_events_free(struct ks_podman_events *ev)
{
    if (!ev)
        return;
    ks_http_cancel_release(&ev->stop);
    ks_buf_release(&ev->line);
    free(ev->path);
    free(ev);
}

void ks_podman_events_stop(struct ks_podman_events *ev)
{
    ks_http_cancel_fire(&ev->stop);
}

static const char *attr(const json_t *attrs, const char *key)
{
    const char *s = json_string_value(json_object_get(attrs, key));
    return s ? s : "";
}

int ks_podman_event_parse(struct ks_podman_event *out, const json_t *doc)
{
    const json_t *actor = json_object_get(doc, "Actor");
    const json_t *attrs = json_object_get(actor, "Attributes");
    const char *type = json_string_value(json_object_get(doc, "Type"));
    const char *action = json_string_value(json_object_get(doc, "Action"));
    const char *id = json_string_value(json_object_get(actor, "ID"));
    const char *code = attr(attrs, "containerExitCode");
    const json_t *nano = json_object_get(doc, "timeNano");
    struct ks_podman_event e = {0};
    char *end = NULL;
    long v;

    if (!type || !action)
        return ks_error_set(KS_EINVALID, "podman: event without Type or Action");
    e.type = type;
    e.action = action;
    e.id = id ? id : "";
    e.name = attr(attrs, "name");
    e.exit_code = -1;
    if (*code) {
        v = strtol(code, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 255)
            e.exit_code = (int)v;
    }
    e.time_ns = json_is_integer(nano) ? (int64_t)json_integer_value(nano) : 0;
    e.raw = doc;
    *out = e;
    return 0;
}

/* One complete line: parse and deliver. Returns non-zero to stop. */
static int deliver(struct ks_podman_events *ev, const char *text, size_t len)
{
    struct ks_podman_event e;
    json_error_t jerr;
    json_t *doc;
    int rc;

    while (len && (text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    doc = json_loadb(text, len, 0, &jerr);
    if (!doc) {
        ev->parse_rc = ks_error_set(KS_EINVALID, "podman at %s: event stream: bad JSON: %s",
                                    ks_podman_socket(ev->pm), jerr.text);
        return 1;
    }
    rc = ks_podman_event_parse(&e, doc);
    if (rc < 0) {
        ev->parse_rc = ks_error_wrap(rc, "podman at %s: event stream", ks_podman_socket(ev->pm));
        json_decref(doc);
        return 1;
    }
    ev->cb_rc = ev->cb(&e, ev->ud);
    json_decref(doc);
    return ev->cb_rc != 0;
}

/* Stream callback: split the body into lines. Non-zero stops the stream. */
static int on_data(const char *data, size_t len, void *ud)
{
    struct ks_podman_events *ev = ud;
    size_t i, start = 0;

    for (i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        ks_buf_put(&ev->line, data + start, i - start);
        start = i + 1;
        if (ks_buf_error(&ev->line))
            break;
        if (deliver(ev, ks_buf_data(&ev->line), ks_buf_len(&ev->line)))
            return 1;
        ks_buf_reset(&ev->line);
    }
    if (!ks_buf_error(&ev->line))
        ks_buf_put(&ev->line, data + start, len - start);
    if (ks_buf_error(&ev->line)) {
        ev->parse_rc = ks_error_set(KS_ELIMIT,
                                    "podman at %s: event stream: a line is over the "
                                    "%d-byte limit",
                                    ks_podman_socket(ev->pm), KS_PODMAN_MAX_EVENT_LINE);
        return 1;
    }
    return 0;
}

int ks_podman_events_run(struct ks_podman_events *ev, ks_podman_event_fn cb, void *ud)
{
    struct ks_http_request req = {.method = "GET",
                                  .target = ev->path,
                                  .max_body = KS_PODMAN_MAX_EVENT_LINE,
                                  .truncate_ok = true,
                                  .on_data = on_data,
                                  .ud = ev,
                                  .cancel = &ev->stop};
    struct ks_http_response resp;
    const char *msg = NULL;
    json_t *doc;
    int rc;

    /* A stop that came before this run ends it at once (and is used up). */
    if (ks_http_cancel_take(&ev->stop))
        return 0;
    ks_buf_reset(&ev->line);
    ev->cb = cb;
    ev->ud = ud;
    ev->cb_rc = 0;
    ev->parse_rc = 0;
    rc = ks_http_request(&resp, ks_podman_http(ev->pm), &req);
    if (rc < 0) {
        rc = ks_podman_transport_error(ev->pm, rc, resp.os_errno, "GET /events", 0,
                                       KS_PODMAN_MAX_EVENT_LINE);
        goto done;
    }
    if (resp.cancelled)
        goto done;
    if (ev->parse_rc < 0) {
        rc = ev->parse_rc;
        goto done;
    }
    if (ev->cb_rc != 0) {
        rc = ev->cb_rc;
        goto done;
    }
    if (resp.status >= 300) {
        /* An error document: Podman's message. */
        doc = json_loadb(ks_buf_data(&resp.body), ks_buf_len(&resp.body), 0, NULL);
        msg = json_string_value(json_object_get(doc, "message"));
        rc = ks_error_set(resp.status == 400 ? KS_EINVALID : KS_ERROR,
                          "podman at %s: GET /events: HTTP %d: %.512s", ks_podman_socket(ev->pm),
                          resp.status, msg ? msg : ks_buf_data(&resp.body));
        json_decref(doc);
        goto done;
    }
    rc = ks_error_set(KS_EIO, "podman at %s: the event stream ended (service stopped?)",
                      ks_podman_socket(ev->pm));
done:
    ks_http_cancel_take(&ev->stop);
    ks_http_response_release(&resp);
    return rc;
}
