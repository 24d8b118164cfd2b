/*
 * source.c: the HTTP source's ks_agent_source operations, each a thin
 * mapping onto one node endpoint of docs/api.md (see cpclient.h; the pod
 * status queue is status.c), and the constructor that checks the options.
 */
#include "nodeagent/cpclient/internal.h"

#include "core/error.h"
#include "core/object.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cp_source *src_of(struct ks_agent_source *base)
{
    return (struct cp_source *)base;
}

/* URL-escaped copy of a path segment; NULL when out of memory. */
static char *seg(const char *s)
{
    struct ks_buf b;

    ks_buf_init(&b, 0);
    ks_http_escape(&b, s);
    return ks_buf_detach(&b, NULL);
}

static int cp_register(struct ks_agent_source *base, const json_t *report)
{
    struct cp_source *s = src_of(base);
    struct cp_request r = {"POST", "/register", report, s->opts.timeout_ms, NULL};

    return cp_request(NULL, s, &r);
}

static int cp_heartbeat(struct ks_agent_source *base)
{
    struct cp_source *s = src_of(base);
    struct cp_request r = {"POST", "/heartbeat", NULL, s->opts.timeout_ms, NULL};

    return cp_request(NULL, s, &r);
}

/* {"revision": N, <key>: [...]} into *out (new reference) and *out_rev. */
static int take_items(json_t **out, int64_t *out_rev, json_t *doc, const char *key,
                      const struct cp_source *s)
{
    json_t *items = json_object_get(doc, key), *rev = json_object_get(doc, "revision");

    if (!json_is_array(items) || !json_is_integer(rev))
        return ks_error_set(KS_EIO, "control plane at %s: answer without \"%s\" and \"revision\"",
                            s->server, key);
    *out = json_incref(items);
    *out_rev = json_integer_value(rev);
    return 0;
}

static int cp_list(struct ks_agent_source *base, json_t **out, int64_t *out_revision)
{
    struct cp_source *s = src_of(base);
    struct cp_request r = {"GET", "/pods", NULL, s->opts.timeout_ms, NULL};
    json_t *doc = NULL;
    int rc;

    if ((rc = cp_request(&doc, s, &r)) == 0)
        rc = take_items(out, out_revision, doc, "items", s);
    json_decref(doc);
    return rc;
}

static int cp_watch(struct ks_agent_source *base, json_t **out, int64_t *out_revision,
                    int64_t since, long timeout_ms)
{
    struct cp_source *s = src_of(base);
    char path[96], wait[32];
    json_t *doc = NULL;
    bool aborted = false;
    int rc;

    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > KS_CPCLIENT_MAX_WATCH_MS)
        timeout_ms = KS_CPCLIENT_MAX_WATCH_MS;
    snprintf(wait, sizeof(wait), "%ldms", timeout_ms);
    snprintf(path, sizeof(path), "/watch?since=%lld&timeout=%s", (long long)since, wait);
    struct cp_request r = {"GET", path, NULL, s->opts.timeout_ms + timeout_ms, NULL};

    rc = cp_request_watch(&doc, &aborted, s, &r);
    if (rc == 0 && aborted) {
        if (!(*out = json_array()))
            return ks_error_set(KS_ENOMEM, "out of memory");
        *out_revision = since;
        return 0;
    }
    if (rc == 0)
        rc = take_items(out, out_revision, doc, "changes", s);
    json_decref(doc);
    return rc;
}

static int cp_get_object(struct ks_agent_source *base, json_t **out, const char *kind,
                         const char *ns, const char *name)
{
    struct cp_source *s = src_of(base);
    char *k = seg(kind), *n = seg(ns), *m = seg(name), *path = NULL;
    json_t *doc = NULL;
    int rc;

    if (!k || !n || !m || !(path = ks_strdupf("/objects/%s/%s/%s", n, k, m))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    struct cp_request r = {"GET", path, NULL, s->opts.timeout_ms, NULL};
    if ((rc = cp_request(&doc, s, &r)) < 0)
        goto done;
    if (!json_is_object(doc)) {
        rc = ks_error_set(KS_EIO, "control plane at %s: %s/%s/%s is not an object", s->server, kind,
                          ns, name);
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    json_decref(doc);
    free(k);
    free(n);
    free(m);
    free(path);
    return rc;
}

static int cp_list_objects(struct ks_agent_source *base, json_t **out, const char *kind)
{
    struct cp_source *s = src_of(base);
    char *k = seg(kind), *path = NULL;
    json_t *doc = NULL;
    int64_t rev = 0;
    int rc;

    if (!k || !(path = ks_strdupf("/objects/%s", k))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    struct cp_request r = {"GET", path, NULL, s->opts.timeout_ms, NULL};
    if ((rc = cp_request(&doc, s, &r)) == 0)
        rc = take_items(out, &rev, doc, "items", s);
done:
    json_decref(doc);
    free(k);
    free(path);
    return rc;
}

static int cp_events(struct ks_agent_source *base, const json_t *events)
{
    struct cp_source *s = src_of(base);
    size_t i, n = json_array_size(events);
    json_t *batch = NULL;
    int rc = 0;

    if (!json_is_array(events))
        return ks_error_set(KS_EINVALID, "events: expected an array");
    for (i = 0; i < n && rc == 0; i += KS_CPCLIENT_EVENTS_PER_POST) {
        size_t j, end = i + KS_CPCLIENT_EVENTS_PER_POST < n ? i + KS_CPCLIENT_EVENTS_PER_POST : n;
        struct cp_request r = {"POST", "/events", NULL, s->opts.timeout_ms, NULL};

        if (!(batch = json_array()))
            return ks_error_set(KS_ENOMEM, "out of memory");
        for (j = i; j < end; j++)
            json_array_append(batch, json_array_get(events, j));
        r.body = batch;
        rc = cp_request(NULL, s, &r);
        json_decref(batch);
    }
    return rc;
}

static void cp_interrupt(struct ks_agent_source *base)
{
    struct cp_source *s = src_of(base);

    ks_http_cancel_fire(&s->interrupt);
}

static void cp_free(struct ks_agent_source *base)
{
    struct cp_source *s = src_of(base);

    if (!s)
        return;
    cp_sender_release(s); /* sends what is queued: before the HTTP client goes */
    ks_http_client_free(s->http);
    ks_http_cancel_release(&s->interrupt);
    free(s->server);
    free(s->token);
    free(s->node);
    free(s->ca_file);
    free(s->node_path);
    free(s->auth);
    free(s);
}

static const struct ks_agent_source_ops cp_ops = {
    .name = "api",
    .register_node = cp_register,
    .heartbeat = cp_heartbeat,
    .list = cp_list,
    .watch = cp_watch,
    .get_object = cp_get_object,
    .report_status = cp_status,
    .report_events = cp_events,
    .interrupt = cp_interrupt,
    .free = cp_free,
    .list_objects = cp_list_objects,
};

int ks_cpclient_source_new(struct ks_agent_source **out, const struct ks_cpclient_opts *opts)
{
    struct cp_source *s = NULL;
    struct ks_http_url url = {0};
    struct ks_http_opts ho = {0};
    size_t len;
    int rc;

    if (!opts || !opts->server || !opts->token || !opts->node)
        return ks_error_set(KS_EINVALID, "control plane: server, token and node are required");
    if (!ks_str_has_prefix(opts->server, "http://") && !ks_str_has_prefix(opts->server, "https://"))
        return ks_error_set(KS_EINVALID,
                            "control plane: server \"%.128s\" is not an http:// or "
                            "https:// URL",
                            opts->server);
    if ((rc = ks_dns1123_subdomain_validate(opts->node)) < 0)
        return ks_error_wrap(rc, "node name");
    if (!*opts->token || strpbrk(opts->token, "\r\n \t"))
        return ks_error_set(KS_EINVALID, "control plane: the token is empty or holds whitespace");
    if ((rc = ks_http_url_parse(&url, opts->server)) < 0)
        return ks_error_wrap(rc, "control plane: server");
    if (!(s = calloc(1, sizeof(*s)))) {
        ks_http_url_release(&url);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    s->base.ops = &cp_ops;
    s->interrupt.fd = -1;
    cp_sender_init(&s->snd);
    s->opts = *opts;
    if (s->opts.timeout_ms <= 0)
        s->opts.timeout_ms = KS_CPCLIENT_DEFAULT_TIMEOUT_MS;
    if (!s->opts.max_response)
        s->opts.max_response = KS_CPCLIENT_DEFAULT_MAX_RESPONSE;
    s->server = strdup(opts->server);
    len = s->server ? strlen(s->server) : 0;
    while (len && s->server[len - 1] == '/')
        s->server[--len] = '\0';
    s->token = strdup(opts->token);
    s->node = strdup(opts->node);
    s->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
    /* the server URL's own path (a proxy prefix) goes before /api */
    len = strlen(url.target);
    while (len && url.target[len - 1] == '/')
        url.target[--len] = '\0';
    s->node_path = ks_strdupf("%s/api/v1/nodes/%s", url.target, opts->node);
    s->auth = ks_strdupf("Bearer %s", opts->token);
    if (!s->server || !s->token || !s->node || (opts->ca_file && !s->ca_file) || !s->node_path ||
        !s->auth) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto fail;
    }
    if (strchr(url.target, '?')) {
        rc = ks_error_set(KS_EINVALID, "control plane: server \"%.128s\" holds a query",
                          opts->server);
        goto fail;
    }
    ho.host = url.host;
    ho.port = url.port;
    ho.tls = url.tls;
    ho.ca_file = s->ca_file;
    ho.connect_ms = s->opts.timeout_ms;
    if ((rc = ks_http_client_new(&s->http, &ho)) < 0 ||
        (rc = ks_http_cancel_init(&s->interrupt)) < 0)
        goto fail;
    ks_http_url_release(&url);
    s->opts.server = s->server;
    s->opts.token = s->token;
    s->opts.node = s->node;
    s->opts.ca_file = s->ca_file;
    *out = &s->base;
    return 0;
fail:
    ks_http_url_release(&url);
    cp_free(&s->base);
    return rc;
}
