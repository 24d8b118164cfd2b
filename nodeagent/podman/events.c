/*
 * events.c: Podman's event stream (GET /events?stream=true), the agent's
 * immediate view of drift: a container that dies or is removed out of band
 * shows up here at once instead of at the next resync.
 *
 * The answer is an endless body of one JSON object per line. Lines are
 * gathered in a capped buffer (KS_PODMAN_MAX_EVENT_LINE), parsed and handed
 * to the caller's callback one by one. The transfer runs on a libcurl multi
 * handle so another thread can stop it at any moment: ks_podman_events_stop
 * sets a flag and wakes curl_multi_poll. There is no overall time limit (the
 * stream is meant to stay open); a service that goes away closes the socket,
 * which ends the run with KS_EIO.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ks_podman_events {
    struct ks_podman *pm;
    char *path;
    CURLM *multi;
    atomic_int stop;
    /* per run */
    CURL *easy;
    struct ks_buf line;
    ks_podman_event_fn cb;
    void *ud;
    int cb_rc;    /* non-zero: the callback asked to stop */
    int parse_rc; /* a line that was too long or not an event */
    long status;
};

int ks_podman_events_new(struct ks_podman_events **out, struct ks_podman *pm,
                         const char *const *labels, int64_t since)
{
    struct ks_podman_events *ev = NULL;
    struct ks_buf path;
    char num[24];
    int rc = 0;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    ks_buf_puts(&path, "/events?stream=true");
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
    if (!ev || !(ev->multi = curl_multi_init())) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ev->pm = pm;
    ev->path = ks_buf_detach(&path, NULL);
    if (!ev->path) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    atomic_init(&ev->stop, 0);
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
    if (ev->multi)
        curl_multi_cleanup(ev->multi);
    ks_buf_release(&ev->line);
    free(ev->path);
    free(ev);
}

void ks_podman_events_stop(struct ks_podman_events *ev)
{
    atomic_store(&ev->stop, 1);
    curl_multi_wakeup(ev->multi);
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

static size_t on_data(char *data, size_t size, size_t n, void *ud)
{
    struct ks_podman_events *ev = ud;
    size_t len = size * n, i, start = 0;

    if (ev->status == 0)
        curl_easy_getinfo(ev->easy, CURLINFO_RESPONSE_CODE, &ev->status);
    if (ev->status >= 300) {
        /* An error document: keep it for the message. */
        ks_buf_put(&ev->line, data, len);
        return len;
    }
    for (i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        ks_buf_put(&ev->line, data + start, i - start);
        start = i + 1;
        if (ks_buf_error(&ev->line)) {
            ev->parse_rc = ks_error_set(KS_ELIMIT,
                                        "podman at %s: event stream: a line is over "
                                        "the %d-byte limit",
                                        ks_podman_socket(ev->pm), KS_PODMAN_MAX_EVENT_LINE);
            return 0;
        }
        if (deliver(ev, ks_buf_data(&ev->line), ks_buf_len(&ev->line)))
            return 0;
        ks_buf_reset(&ev->line);
    }
    ks_buf_put(&ev->line, data + start, len - start);
    if (ks_buf_error(&ev->line)) {
        ev->parse_rc = ks_error_set(KS_ELIMIT,
                                    "podman at %s: event stream: a line is over the "
                                    "%d-byte limit",
                                    ks_podman_socket(ev->pm), KS_PODMAN_MAX_EVENT_LINE);
        return 0;
    }
    return len;
}

/* How a finished transfer ends the run. */
static int run_result(struct ks_podman_events *ev, CURLcode crc)
{
    char what[64];
    json_t *doc;
    const char *msg = NULL;
    int rc;

    if (ev->parse_rc < 0)
        return ev->parse_rc;
    if (ev->cb_rc != 0)
        return ev->cb_rc;
    snprintf(what, sizeof(what), "GET /events");
    if (crc != CURLE_OK)
        return ks_podman_curl_error(ev->pm, ev->easy, crc, what, 0);
    if (ev->status >= 300) {
        doc = json_loadb(ks_buf_data(&ev->line), ks_buf_len(&ev->line), 0, NULL);
        msg = json_string_value(json_object_get(doc, "message"));
        rc = ks_error_set(ev->status == 400 ? KS_EINVALID : KS_ERROR,
                          "podman at %s: GET /events: HTTP %ld: %.512s", ks_podman_socket(ev->pm),
                          ev->status, msg ? msg : ks_buf_data(&ev->line));
        json_decref(doc);
        return rc;
    }
    return ks_error_set(KS_EIO, "podman at %s: the event stream ended (service stopped?)",
                        ks_podman_socket(ev->pm));
}

int ks_podman_events_run(struct ks_podman_events *ev, ks_podman_event_fn cb, void *ud)
{
    char *url = NULL;
    CURLMsg *msg;
    CURLcode crc = CURLE_OK;
    bool finished = false, added = false;
    int running = 1, left, rc = 0;

    /* A stop that came before this run ends it at once (and is used up). */
    if (atomic_exchange(&ev->stop, 0))
        return 0;
    ks_buf_reset(&ev->line);
    ev->cb = cb;
    ev->ud = ud;
    ev->cb_rc = 0;
    ev->parse_rc = 0;
    ev->status = 0;
    url = ks_strdupf("http://d%s%s", KS_PODMAN_API_PREFIX, ev->path);
    ev->easy = curl_easy_init();
    if (!url || !ev->easy) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    ks_podman_curl_setup(ev->easy, ev->pm, 0);
    curl_easy_setopt(ev->easy, CURLOPT_URL, url);
    curl_easy_setopt(ev->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(ev->easy, CURLOPT_WRITEDATA, ev);
    if (curl_multi_add_handle(ev->multi, ev->easy) != CURLM_OK) {
        rc = ks_error_set(KS_ENOMEM, "podman: cannot start the event stream");
        goto done;
    }
    added = true;
    while (!finished) {
        if (atomic_load(&ev->stop))
            goto done;
        if (curl_multi_perform(ev->multi, &running) != CURLM_OK) {
            rc = ks_error_set(KS_EIO, "podman at %s: event stream: libcurl multi failure",
                              ks_podman_socket(ev->pm));
            goto done;
        }
        while ((msg = curl_multi_info_read(ev->multi, &left))) {
            if (msg->msg == CURLMSG_DONE) {
                crc = msg->data.result;
                finished = true;
            }
        }
        if (finished || !running)
            break;
        if (atomic_load(&ev->stop))
            goto done;
        curl_multi_poll(ev->multi, NULL, 0, 1000, NULL);
    }
    if (atomic_load(&ev->stop) && ev->cb_rc == 0 && ev->parse_rc == 0)
        goto done;
    rc = run_result(ev, crc);
done:
    atomic_store(&ev->stop, 0);
    if (added)
        curl_multi_remove_handle(ev->multi, ev->easy);
    if (ev->easy)
        curl_easy_cleanup(ev->easy);
    ev->easy = NULL;
    free(url);
    return rc;
}
