/*
 * status.c: the HTTP source's pod status path. Pod workers only queue their
 * status (report_status returns at once, so no worker waits for an HTTP
 * round trip); one sender thread per source posts the queue in batches to
 * POST .../status (docs/api.md, contracts: one transaction for the batch),
 * or pod by pod to POST .../pods/{ns}/{pod}/status on a server without the
 * batch route. The sender owns the retries (per-item and per-request
 * backoff); a newer status of a pod always replaces one not yet sent. The
 * queue's bookkeeping (cp_stq_*) and the answer mapping are pure functions
 * for the unit tests; the thread and the requests are below them.
 */
#include "nodeagent/cpclient/internal.h"

#include "core/deadline.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- the queue (pure) ------------------------------------------------------ */

void cp_stq_release(struct cp_stq *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->v[i].ns);
        free(q->v[i].name);
        json_decref(q->v[i].pending);
        json_decref(q->v[i].inflight);
    }
    free(q->v);
    memset(q, 0, sizeof(*q));
}

int cp_stq_put(struct cp_stq *q, const char *ns, const char *name, json_t *status)
{
    struct cp_stq_entry *e;

    for (size_t i = 0; i < q->n; i++) {
        e = &q->v[i];
        if (strcmp(e->name, name) == 0 && strcmp(e->ns, ns) == 0) {
            json_decref(e->pending);
            e->pending = json_incref(status);
            return 0;
        }
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct cp_stq_entry *v = realloc(q->v, cap * sizeof(*v));

        if (!v)
            return ks_error_set(KS_ENOMEM, "out of memory");
        q->v = v;
        q->cap = cap;
    }
    e = &q->v[q->n];
    memset(e, 0, sizeof(*e));
    e->ns = strdup(ns);
    e->name = strdup(name);
    if (!e->ns || !e->name) {
        free(e->ns);
        free(e->name);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    e->pending = json_incref(status);
    q->n++;
    return 0;
}

size_t cp_stq_take(struct cp_stq *q, size_t *idx, size_t max, int64_t now_ms, bool ignore_backoff)
{
    size_t k = 0;

    for (size_t i = 0; i < q->n && k < max; i++) {
        struct cp_stq_entry *e = &q->v[i];

        if (!e->pending || e->inflight || (!ignore_backoff && e->retry_at_ms > now_ms))
            continue;
        e->inflight = e->pending;
        e->pending = NULL;
        idx[k++] = i;
    }
    return k;
}

void cp_stq_untake(struct cp_stq *q, size_t i)
{
    struct cp_stq_entry *e = &q->v[i];

    if (!e->pending)
        e->pending = e->inflight;
    else
        json_decref(e->inflight);
    e->inflight = NULL;
}

void cp_stq_result(struct cp_stq *q, size_t i, enum cp_stq_outcome o, int64_t now_ms)
{
    struct cp_stq_entry *e = &q->v[i];

    if (o != CP_STQ_RETRY) {
        json_decref(e->inflight);
        e->inflight = NULL;
        e->backoff_ms = 0;
        e->retry_at_ms = 0;
        return;
    }
    cp_stq_untake(q, i);
    e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : CP_STQ_BACKOFF_MIN_MS;
    if (e->backoff_ms > CP_STQ_BACKOFF_MAX_MS)
        e->backoff_ms = CP_STQ_BACKOFF_MAX_MS;
    e->retry_at_ms = now_ms + e->backoff_ms;
}

void cp_stq_compact(struct cp_stq *q)
{
    size_t k = 0;

    for (size_t i = 0; i < q->n; i++) {
        struct cp_stq_entry *e = &q->v[i];

        if (!e->pending && !e->inflight) {
            free(e->ns);
            free(e->name);
            continue;
        }
        q->v[k++] = *e;
    }
    q->n = k;
}

bool cp_stq_busy(const struct cp_stq *q)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].pending || q->v[i].inflight)
            return true;
    return false;
}

int64_t cp_stq_next_due(const struct cp_stq *q)
{
    int64_t due = -1;

    for (size_t i = 0; i < q->n; i++) {
        const struct cp_stq_entry *e = &q->v[i];

        if (e->pending && !e->inflight && (due < 0 || e->retry_at_ms < due))
            due = e->retry_at_ms;
    }
    return due;
}

bool cp_batch_route_missing(long http_status, const json_t *doc)
{
    return (http_status == 404 || http_status == 405) &&
           !json_is_array(json_object_get(doc, "items"));
}

enum cp_stq_outcome cp_batch_item_outcome(const json_t *item)
{
    json_int_t code = json_integer_value(json_object_get(item, "code"));

    if (code >= 200 && code < 300)
        return CP_STQ_OK;
    if (code == 404)
        return CP_STQ_GONE;
    if (code >= 400 && code < 500)
        return CP_STQ_REFUSED;
    return CP_STQ_RETRY;
}

enum cp_stq_outcome cp_status_rc_outcome(int rc)
{
    switch (rc) {
    case 0:
        return CP_STQ_OK;
    case KS_ENOTFOUND:
        return CP_STQ_GONE;
    case KS_EINVALID:
    case KS_ECONFLICT:
    case KS_EGONE:
        return CP_STQ_REFUSED;
    default:
        return CP_STQ_RETRY; /* KS_EIO, KS_ETIMEOUT, KS_ELIMIT, KS_ENOMEM */
    }
}

/* --- the sender ------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct cp_sender *snd, enum cp_stq_outcome o)
{
    switch (o) {
    case CP_STQ_OK:
        snd->stats.written++;
        break;
    case CP_STQ_GONE:
        snd->stats.gone++;
        break;
    case CP_STQ_REFUSED:
        snd->stats.refused++;
        break;
    case CP_STQ_RETRY:
        snd->stats.retried++;
        break;
    }
}

/* Under mu: settles one item and logs what the agent should hear of. */
static void settle(struct cp_source *s, size_t i, enum cp_stq_outcome o, const char *why,
                   int64_t now)
{
    struct cp_stq_entry *e = &s->snd.q.v[i];

    count(&s->snd, o);
    if (o == CP_STQ_REFUSED || o == CP_STQ_RETRY) {
        char pod[512];

        snprintf(pod, sizeof(pod), "%s/%s", e->ns, e->name);
        ks_log(KS_LOG_WARN,
               o == CP_STQ_REFUSED ? "status refused" : "status report failed; retrying", "pod",
               pod, "error", why ? why : "", NULL);
    }
    cp_stq_result(&s->snd.q, i, o, now);
}

/* The whole request failed: every item back to pending, the sender backs
 * off. Under mu. */
static void request_failed(struct cp_source *s, const size_t *idx, size_t n, const char *why)
{
    struct cp_sender *snd = &s->snd;

    for (size_t k = 0; k < n; k++)
        cp_stq_untake(&snd->q, idx[k]);
    snd->stats.retried += n;
    snd->send_backoff_ms = snd->send_backoff_ms ? snd->send_backoff_ms * 2 : CP_STQ_BACKOFF_MIN_MS;
    if (snd->send_backoff_ms > CP_STQ_BACKOFF_MAX_MS)
        snd->send_backoff_ms = CP_STQ_BACKOFF_MAX_MS;
    snd->next_send_ms = mono_ms() + snd->send_backoff_ms;
    ks_log(KS_LOG_WARN, "status report failed; retrying", "source", "api", "error", why, NULL);
}

/* The batch body of the taken items (copies of their entries: names and
 * in-flight statuses are freed only by the sender itself, so they are read
 * without mu), each serialised once; stops before CP_BATCH_MAX_BYTES (at
 * least one item goes). *out_n: the items in the body. */
static int batch_body(char **out, size_t *out_n, const struct cp_stq_entry *ents, size_t n)
{
    struct ks_buf b;
    size_t k;
    int rc = 0;

    ks_buf_init(&b, 0);
    ks_buf_puts(&b, "{\"items\":[");
    for (k = 0; k < n; k++) {
        json_t *o = json_pack("{s:s, s:s, s:O}", "namespace", ents[k].ns, "name", ents[k].name,
                              "status", ents[k].inflight);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        size_t len = text ? strlen(text) : 0;

        json_decref(o);
        if (!text) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (k > 0 && ks_buf_len(&b) + len + 3 > CP_BATCH_MAX_BYTES) {
            free(text);
            break;
        }
        if (k > 0)
            ks_buf_putc(&b, ',');
        ks_buf_put(&b, text, len);
        free(text);
    }
    ks_buf_puts(&b, "]}");
    if ((rc = ks_buf_error(&b)) < 0)
        goto done;
    *out = ks_buf_detach(&b, NULL);
    *out_n = k;
done:
    ks_buf_release(&b);
    return rc;
}

/* One batch request for the taken items idx[0..n), within timeout_ms. */
static void send_batch(struct cp_source *s, size_t *idx, size_t n, long timeout_ms)
{
    struct cp_sender *snd = &s->snd;
    struct cp_stq_entry *ents = malloc(n * sizeof(*ents));
    char *body = NULL;
    size_t sent = n;
    json_t *doc = NULL;
    long http = 0;
    int rc;

    if (!ents) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
    } else {
        pthread_mutex_lock(&snd->mu);
        for (size_t k = 0; k < n; k++)
            ents[k] = snd->q.v[idx[k]];
        snd->stats.batches++;
        pthread_mutex_unlock(&snd->mu);
        rc = batch_body(&body, &sent, ents, n);
        free(ents);
    }
    if (rc == 0) {
        struct cp_request r = {"POST", "/status", NULL, timeout_ms, body};
        rc = cp_request_http(&doc, &http, s, &r);
    }
    int64_t now = mono_ms();
    pthread_mutex_lock(&snd->mu);
    for (size_t k = sent; k < n; k++)
        cp_stq_untake(&snd->q, idx[k]);
    json_t *items = json_object_get(doc, "items");
    if (rc == 0 && json_is_array(items) && json_array_size(items) == sent) {
        for (size_t k = 0; k < sent; k++) {
            json_t *it = json_array_get(items, k);
            settle(s, idx[k], cp_batch_item_outcome(it),
                   json_string_value(json_object_get(it, "error")), now);
        }
        snd->send_backoff_ms = 0;
        snd->next_send_ms = 0;
        char num[24];
        snprintf(num, sizeof(num), "%zu", sent);
        ks_log(KS_LOG_DEBUG, "status batch sent", "items", num, NULL);
    } else if (cp_batch_route_missing(http, doc)) {
        for (size_t k = 0; k < sent; k++)
            cp_stq_untake(&snd->q, idx[k]);
        snd->batch_off_until = now + CP_BATCH_FALLBACK_MS;
        snd->stats.fallbacks++;
        ks_log(KS_LOG_INFO, "the control plane has no batch status route; posting pod by pod",
               "server", s->server, NULL);
    } else if (http == 413 && sent > 1) {
        for (size_t k = 0; k < sent; k++)
            cp_stq_untake(&snd->q, idx[k]);
        snd->batch_max = sent / 2;
    } else {
        if (rc == 0)
            rc = ks_error_set(KS_EIO,
                              "control plane at %s: POST .../status: a reply of %zu items for %zu",
                              s->server, json_array_size(items), sent);
        request_failed(s, idx, sent, ks_error_last());
    }
    cp_stq_compact(&snd->q);
    pthread_cond_broadcast(&snd->cv);
    pthread_mutex_unlock(&snd->mu);
    json_decref(doc);
    free(body);
}

/* The per-pod route for the taken items, one after another. */
static void send_each(struct cp_source *s, size_t *idx, size_t n, long timeout_ms)
{
    struct cp_sender *snd = &s->snd;
    bool down = false;

    for (size_t k = 0; k < n; k++) {
        char *ns, *name, *path = NULL;
        json_t *st;
        int rc;

        pthread_mutex_lock(&snd->mu);
        if (down) {
            cp_stq_untake(&snd->q, idx[k]);
            pthread_mutex_unlock(&snd->mu);
            continue;
        }
        snd->stats.per_pod++;
        ns = strdup(snd->q.v[idx[k]].ns);
        name = strdup(snd->q.v[idx[k]].name);
        st = json_incref(snd->q.v[idx[k]].inflight);
        pthread_mutex_unlock(&snd->mu);
        struct ks_buf b;
        ks_buf_init(&b, 0);
        ks_buf_puts(&b, "/pods/");
        ks_http_escape(&b, ns ? ns : "");
        ks_buf_putc(&b, '/');
        ks_http_escape(&b, name ? name : "");
        ks_buf_puts(&b, "/status");
        if (!ns || !name || ks_buf_error(&b) || !(path = ks_buf_detach(&b, NULL))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
        } else {
            struct cp_request r = {"POST", path, st, timeout_ms, NULL};
            rc = cp_request(NULL, s, &r);
        }
        ks_buf_release(&b);
        free(path);
        free(ns);
        free(name);
        json_decref(st);
        enum cp_stq_outcome o = cp_status_rc_outcome(rc);
        pthread_mutex_lock(&snd->mu);
        if (o == CP_STQ_RETRY && rc != KS_ENOMEM) {
            /* the server is unreachable: the rest waits for the backoff */
            request_failed(s, &idx[k], 1, ks_error_last());
            down = true;
        } else {
            settle(s, idx[k], o, ks_error_last(), mono_ms());
            if (o == CP_STQ_OK)
                snd->send_backoff_ms = 0;
        }
        pthread_mutex_unlock(&snd->mu);
    }
    pthread_mutex_lock(&snd->mu);
    cp_stq_compact(&snd->q);
    pthread_cond_broadcast(&snd->cv);
    pthread_mutex_unlock(&snd->mu);
}

static void timed_wait(struct cp_sender *snd, int64_t until_ms)
{
    int64_t in = until_ms - mono_ms();

    if (in <= 0)
        return;
    struct timespec ts = ks_deadline_after_ms(CLOCK_MONOTONIC, in);
    pthread_cond_timedwait(&snd->cv, &snd->mu, &ts);
}

static void *sender_main(void *arg)
{
    struct cp_source *s = arg;
    struct cp_sender *snd = &s->snd;
    size_t *idx = malloc(KS_CPCLIENT_STATUS_BATCH_MAX * sizeof(*idx));
    int64_t flush_until = 0;

    pthread_mutex_lock(&snd->mu);
    while (idx) {
        int64_t now = mono_ms();
        long timeout_ms = s->opts.timeout_ms;
        if (snd->stop) {
            /* stopping: what is still queued goes once more, within
             * CP_FLUSH_MS */
            if (!flush_until) {
                flush_until = now + CP_FLUSH_MS;
                /* every queued status is due now; one put back by a per-item
                 * 500 during the flush then waits out its backoff (not sent
                 * again and again until the deadline) */
                for (size_t i = 0; i < snd->q.n; i++)
                    snd->q.v[i].retry_at_ms = 0;
            }
            if (now >= flush_until || !cp_stq_busy(&snd->q))
                break;
            if (flush_until - now < timeout_ms)
                timeout_ms = (long)(flush_until - now);
        } else if (snd->next_send_ms > now) {
            timed_wait(snd, snd->next_send_ms);
            continue;
        }
        bool per_pod = snd->batch_off_until > now;
        size_t n = cp_stq_take(&snd->q, idx, snd->batch_max, now, false);
        if (n == 0) {
            int64_t due = cp_stq_next_due(&snd->q);
            if (snd->stop)
                break;
            if (due < 0)
                pthread_cond_wait(&snd->cv, &snd->mu);
            else
                timed_wait(snd, due);
            continue;
        }
        snd->sending = true;
        pthread_mutex_unlock(&snd->mu);
        if (per_pod)
            send_each(s, idx, n, timeout_ms);
        else
            send_batch(s, idx, n, timeout_ms);
        pthread_mutex_lock(&snd->mu);
        snd->sending = false;
        if (snd->stop && snd->next_send_ms > mono_ms())
            break; /* stopping and the server failed: give up the flush */
    }
    pthread_cond_broadcast(&snd->cv);
    pthread_mutex_unlock(&snd->mu);
    free(idx);
    return NULL;
}

int cp_sender_init(struct cp_sender *snd)
{
    pthread_condattr_t ca;

    memset(snd, 0, sizeof(*snd));
    snd->batch_max = KS_CPCLIENT_STATUS_BATCH_MAX;
    pthread_mutex_init(&snd->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&snd->cv, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void cp_sender_release(struct cp_source *s)
{
    struct cp_sender *snd = &s->snd;

    pthread_mutex_lock(&snd->mu);
    snd->stop = true;
    pthread_cond_broadcast(&snd->cv);
    bool started = snd->started;
    pthread_mutex_unlock(&snd->mu);
    if (started)
        pthread_join(snd->th, NULL);
    if (cp_stq_busy(&snd->q))
        ks_log(KS_LOG_WARN, "pod statuses not sent before the agent stopped", "server", s->server,
               NULL);
    cp_stq_release(&snd->q);
    pthread_cond_destroy(&snd->cv);
    pthread_mutex_destroy(&snd->mu);
}

int cp_status(struct ks_agent_source *base, const char *ns, const char *name, const json_t *status)
{
    struct cp_source *s = (struct cp_source *)base;
    struct cp_sender *snd = &s->snd;
    int rc;

    if (!json_is_object(status))
        return ks_error_set(KS_EINVALID, "status of %s/%s: not an object", ns, name);
    pthread_mutex_lock(&snd->mu);
    if (snd->stop) {
        rc = ks_error_set(KS_EINVALID, "status of %s/%s: the source is closing", ns, name);
        goto done;
    }
    /* the caller keeps its status unchanged (the worker's last report), so
     * the queue holds a reference rather than a copy */
    if ((rc = cp_stq_put(&snd->q, ns, name, (json_t *)status)) < 0)
        goto done;
    if (!snd->started) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int e = pthread_create(&snd->th, &attr, sender_main, s);
        pthread_attr_destroy(&attr);
        if (e != 0) {
            rc = ks_error_set(KS_ERROR, "cannot start the status sender thread: %s", strerror(e));
            goto done;
        }
        snd->started = true;
    }
    if (!snd->sending)
        pthread_cond_broadcast(&snd->cv);
done:
    pthread_mutex_unlock(&snd->mu);
    return rc;
}

int ks_cpclient_status_flush(struct ks_agent_source *src, long timeout_ms)
{
    struct cp_sender *snd = &((struct cp_source *)src)->snd;
    int64_t until = mono_ms() + timeout_ms;
    int rc = 0;

    pthread_mutex_lock(&snd->mu);
    while (cp_stq_busy(&snd->q)) {
        if (mono_ms() >= until) {
            rc = ks_error_set(KS_ETIMEOUT, "status queue not empty after %ld ms", timeout_ms);
            break;
        }
        timed_wait(snd, until);
    }
    pthread_mutex_unlock(&snd->mu);
    return rc;
}

void ks_cpclient_status_stats(struct ks_cpclient_status_stats *out, struct ks_agent_source *src)
{
    struct cp_sender *snd = &((struct cp_source *)src)->snd;

    pthread_mutex_lock(&snd->mu);
    *out = snd->stats;
    pthread_mutex_unlock(&snd->mu);
}
