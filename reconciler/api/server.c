/*
 * server.c: the API server's lifecycle, router, authentication, replies and
 * metrics, on libevent's evhttp with one event-loop thread (DESIGN.md §6).
 *
 * Every request lands in one generic callback that counts the connection
 * (at most max_connections, each registered once with a close callback that
 * also drops its watchers), splits and decodes the path, checks the bearer
 * token, and dispatches to the endpoint group. All answers go through
 * api_reply_json so that every response is JSON and is counted in the
 * request metrics. Other threads reach the loop only through two events
 * fired with event_active (stop and notify); libevent is put in pthreads
 * mode once per process so that is safe. With a certificate, every
 * connection's bufferevent is an OpenSSL one (evhttp_set_bevcb). With
 * opts.unix_socket the same evhttp also accepts on a Unix socket (mode 0600).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define API_DEFAULT_MAX_HEADER (16u * 1024u)
#define API_DEFAULT_MAX_BODY (1024u * 1024u)
#define API_METRICS_LIMIT (4u * 1024u * 1024u)
#define API_LISTEN_BACKLOG 4096

static const double hist_bounds[API_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OTHER"};

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;

static void threads_init(void)
{
    threads_rc = evthread_use_pthreads();
}

void api_wrote(struct ks_api_server *srv, int64_t rev)
{
    const struct ks_api_hooks *h = srv->opts.hooks;
    if (h && h->wrote)
        h->wrote(h->ud, rev);
}

double api_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int method_index(int method)
{
    switch (method) {
    case EVHTTP_REQ_GET:
        return 0;
    case EVHTTP_REQ_POST:
        return 1;
    case EVHTTP_REQ_PUT:
        return 2;
    case EVHTTP_REQ_DELETE:
        return 3;
    case EVHTTP_REQ_HEAD:
        return 4;
    default:
        return 5;
    }
}

static void metrics_count(struct ks_api_server *srv, int method, int code, double seconds)
{
    int m = method_index(method);
    size_t i;
    for (i = 0; i < srv->n_codes; i++)
        if (srv->codes[i].method == m && srv->codes[i].code == code)
            break;
    if (i == srv->n_codes && srv->n_codes < API_METRIC_CODES) {
        srv->codes[i].method = m;
        srv->codes[i].code = code;
        srv->n_codes++;
    }
    if (i < srv->n_codes)
        srv->codes[i].count++;
    size_t b = 0;
    while (b < API_HIST_BUCKETS && seconds > hist_bounds[b])
        b++;
    srv->hist[b]++;
    srv->hist_sum += seconds;
    srv->hist_count++;
}

void api_reply_json(struct ks_api_server *srv, struct evhttp_request *req, int method, double start,
                    int code, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (text) {
        evhttp_add_header(h, "Content-Type", "application/json");
        if (out) {
            evbuffer_add(out, text, strlen(text));
            evbuffer_add(out, "\n", 1);
        }
    } else if (body) {
        code = 500; /* could not serialise (out of memory) */
    }
    if (code == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer");
    evhttp_send_reply(req, code, NULL, out);
    metrics_count(srv, method, code, api_now() - start);
    if (out)
        evbuffer_free(out);
    free(text);
    json_decref(body);
}

void api_reply_raw(struct api_req *r, int code, const char *content_type, const char *data,
                   size_t len)
{
    struct evbuffer *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (out && r->method != EVHTTP_REQ_HEAD)
        evbuffer_add(out, data, len);
    evhttp_send_reply(r->req, code, NULL, out);
    metrics_count(r->srv, r->method, code, api_now() - r->start);
    if (out)
        evbuffer_free(out);
}

void api_reply_json_buffer(struct ks_api_server *srv, struct evhttp_request *req, int method,
                           double start, int code, struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, NULL, body);
    metrics_count(srv, method, code, api_now() - start);
}

void api_reply(struct api_req *r, int code, json_t *body)
{
    api_reply_json(r->srv, r->req, r->method, r->start, code, body);
}

static json_t *error_body(int code, const char *msg)
{
    return json_pack("{s:s, s:i}", "error", msg, "code", code);
}

void api_reply_error(struct api_req *r, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_reply(r, code, error_body(code, msg));
}

void api_reply_ks_error(struct api_req *r, int rc)
{
    int code;
    switch (rc) {
    case KS_ENOTFOUND:
        code = 404;
        break;
    case KS_EINVALID:
        code = 400;
        break;
    case KS_ECONFLICT:
        code = 409;
        break;
    case KS_ELIMIT:
        code = 413;
        break;
    default:
        code = 500;
        break;
    }
    api_reply_error(r, code, "%s", ks_error_last());
}

const char *api_query(struct api_req *r, const char *key)
{
    return evhttp_find_header(&r->query, key);
}

int api_query_limit(size_t *out, struct api_req *r, size_t def, size_t max)
{
    const char *s = api_query(r, "limit");
    int64_t v = (int64_t)def;
    if (s && ks_str_to_i64(&v, s, "limit") != 0)
        return KS_EINVALID;
    if (v < 1 || (uint64_t)v > max)
        return ks_error_set(KS_EINVALID, "limit: %lld is outside 1..%zu", (long long)v, max);
    *out = (size_t)v;
    return 0;
}

int api_read_body(json_t **out, struct api_req *r, int optional)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *doc = NULL;
    if (len == 0) {
        if (optional) {
            *out = NULL;
            return 0;
        }
        return ks_error_set(KS_EINVALID, "request body: empty, expected JSON");
    }
    if (len > r->srv->opts.max_body_bytes)
        return ks_error_set(KS_ELIMIT, "request body: larger than max_body_bytes (%zu)",
                            r->srv->opts.max_body_bytes);
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    if (!data || !(doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)))
        return ks_error_set(KS_EINVALID, "request body:%d:%d: %s", jerr.line, jerr.column,
                            jerr.text);
    *out = doc;
    return 0;
}

/* ---- connections ---- */

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct ks_api_server *srv = arg;
    for (size_t i = 0; i < srv->n_conns; i++) {
        if (srv->conns[i] == evcon) {
            srv->conns[i] = srv->conns[--srv->n_conns];
            break;
        }
    }
    api_watch_drop_conn(srv, evcon);
    api_status_drop_conn(srv, evcon);
}

/* Registers the request's connection; 0, or -1 when the limit is hit. */
static int conn_admit(struct ks_api_server *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    for (size_t i = 0; i < srv->n_conns; i++)
        if (srv->conns[i] == evcon)
            return 0;
    if (srv->n_conns >= srv->opts.max_connections)
        return -1;
    if (srv->n_conns == srv->cap_conns) {
        size_t cap = srv->cap_conns ? srv->cap_conns * 2 : 16;
        struct evhttp_connection **v = realloc(srv->conns, cap * sizeof *v);
        if (!v)
            return -1;
        srv->conns = v;
        srv->cap_conns = cap;
    }
    srv->conns[srv->n_conns++] = evcon;
    evhttp_connection_set_closecb(evcon, conn_closed, srv);
    return 0;
}

/* ---- health and metrics ---- */

static void handle_readyz(struct api_req *r)
{
    int64_t rev = 0;
    if (ks_store_revision(&rev, r->srv->store) != 0) {
        api_reply_error(r, 503, "store not ready: %s", ks_error_last());
        return;
    }
    api_reply(r, 200, json_pack("{s:s, s:I}", "status", "ok", "revision", (json_int_t)rev));
}

static int metrics_objects(struct ks_buf *b, struct ks_store *store)
{
    json_t *kinds = NULL, *items = NULL;
    size_t i;
    json_t *k;
    int rc = ks_store_list_kinds(&kinds, store);
    if (rc)
        goto done;
    ks_buf_puts(b, "# HELP keelson_objects Objects in the store by kind.\n"
                   "# TYPE keelson_objects gauge\n");
    json_array_foreach(kinds, i, k)
    {
        struct ks_store_list_opts lo = {.kind = json_string_value(k), .shared = true}; /* count */
        if ((rc = ks_store_list(&items, store, &lo)) != 0)
            goto done;
        ks_buf_puts(b, "keelson_objects{kind=\"");
        ks_buf_put_escaped(b, lo.kind);
        ks_buf_printf(b, "\"} %zu\n", json_array_size(items));
        json_decref(items);
        items = NULL;
    }
done:
    json_decref(kinds);
    json_decref(items);
    return rc;
}

static void handle_metrics(struct api_req *r)
{
    struct ks_api_server *srv = r->srv;
    struct ks_buf b;
    int64_t rev = 0;
    int rc;
    ks_buf_init(&b, API_METRICS_LIMIT);
    if ((rc = ks_store_revision(&rev, srv->store)) != 0 ||
        (rc = metrics_objects(&b, srv->store)) != 0 || (rc = api_metrics_store(&b, srv)) != 0)
        goto done;
    ks_buf_printf(&b,
                  "# HELP keelson_store_revision Current revision of the store.\n"
                  "# TYPE keelson_store_revision gauge\nkeelson_store_revision %lld\n",
                  (long long)rev);
    ks_buf_printf(&b,
                  "# HELP keelson_api_connections Open client connections.\n"
                  "# TYPE keelson_api_connections gauge\nkeelson_api_connections %zu\n"
                  "# HELP keelson_api_watchers Waiting watch requests.\n"
                  "# TYPE keelson_api_watchers gauge\nkeelson_api_watchers %u\n",
                  srv->n_conns, srv->n_watchers);
    ks_buf_puts(&b, "# HELP keelson_api_requests_total API requests answered.\n"
                    "# TYPE keelson_api_requests_total counter\n");
    for (size_t i = 0; i < srv->n_codes; i++)
        ks_buf_printf(&b, "keelson_api_requests_total{code=\"%d\",method=\"%s\"} %llu\n",
                      srv->codes[i].code, method_names[srv->codes[i].method],
                      (unsigned long long)srv->codes[i].count);
    ks_buf_puts(&b, "# HELP keelson_api_request_duration_seconds Time to answer a request.\n"
                    "# TYPE keelson_api_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i <= API_HIST_BUCKETS; i++) {
        cum += srv->hist[i];
        if (i < API_HIST_BUCKETS)
            ks_buf_printf(&b, "keelson_api_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                          hist_bounds[i], (unsigned long long)cum);
        else
            ks_buf_printf(&b, "keelson_api_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cum);
    }
    ks_buf_printf(&b,
                  "keelson_api_request_duration_seconds_sum %.6f\n"
                  "keelson_api_request_duration_seconds_count %llu\n",
                  srv->hist_sum, (unsigned long long)srv->hist_count);
    rc = ks_buf_error(&b);
done:
    if (rc) {
        api_reply_ks_error(r, rc);
    } else {
        struct evbuffer *out = evbuffer_new();
        if (out)
            evbuffer_add(out, ks_buf_data(&b), ks_buf_len(&b));
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                          "text/plain; version=0.0.4");
        evhttp_send_reply(r->req, 200, NULL, out);
        metrics_count(srv, r->method, 200, api_now() - r->start);
        if (out)
            evbuffer_free(out);
    }
    ks_buf_release(&b);
}

/* ---- routing ---- */

/* Splits path into decoded segments; the caller frees them. */
static int split_path(struct api_req *r, const char *path)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (r->nseg == API_MAX_SEGMENTS)
            return ks_error_set(KS_ELIMIT, "path: more than %d segments", API_MAX_SEGMENTS);
        char *raw = ks_strndup(p, len);
        size_t dlen = 0;
        char *dec = raw ? evhttp_uridecode(raw, 0, &dlen) : NULL;
        free(raw);
        if (!dec)
            return ks_error_set(KS_ENOMEM, "path: out of memory");
        r->seg[r->nseg++] = dec;
        if (dlen != strlen(dec) || dlen == 0 || dlen > API_MAX_SEGMENT_BYTES)
            return ks_error_set(KS_EINVALID,
                                "path: segment %zu is empty, too long (limit %d) "
                                "or holds a NUL",
                                r->nseg, API_MAX_SEGMENT_BYTES);
        p += len;
    }
    return 0;
}

static int seg_is(const struct api_req *r, size_t i, const char *s)
{
    return i < r->nseg && strcmp(r->seg[i], s) == 0;
}

static enum api_principal authenticate(struct api_req *r, const char *node)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return API_NOBODY;
    h += 7;
    while (*h == ' ')
        h++;
    return api_tokens_check(r->srv->tokens, h, strlen(h), node);
}

static void route_api(struct api_req *r)
{
    const char *node = (seg_is(r, 2, "nodes") && r->nseg >= 4) ? r->seg[3] : NULL;
    r->who = authenticate(r, node);
    if (r->who == API_NOBODY || (r->who == API_NODE && !node)) {
        api_reply_error(r, 401,
                        node ? "a valid token for node %s or the admin token is required"
                             : "a valid admin token is required",
                        node);
        return;
    }
    if (seg_is(r, 2, "objects") || seg_is(r, 2, "namespaces"))
        api_objects_handle(r);
    else if ((seg_is(r, 2, "syncs") && r->nseg <= 4) || (seg_is(r, 2, "events") && r->nseg == 3))
        api_syncs_events_handle(r);
    else if (seg_is(r, 2, "kinds") && r->nseg == 3)
        api_kinds_handle(r);
    else if (seg_is(r, 2, "sync") && r->nseg == 3)
        api_sync_handle(r);
    else if (seg_is(r, 2, "watch") && r->nseg == 3)
        api_watch_handle(r, NULL);
    else if (node)
        api_nodes_handle(r);
    else
        api_reply_error(r, 404, "no such endpoint: %s", evhttp_request_get_uri(r->req));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ks_api_server *srv = arg;
    struct api_req r = {
        .srv = srv, .req = req, .method = (int)evhttp_request_get_command(req), .start = api_now()};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    int rc;
    TAILQ_INIT(&r.query);
    if (conn_admit(srv, req) != 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        api_reply_error(&r, 503, "too many connections (max_connections %u)",
                        srv->opts.max_connections);
        goto done;
    }
    if (!path || (rc = split_path(&r, path)) != 0) {
        api_reply_error(&r, 400, "%s", path ? ks_error_last() : "request has no path");
        goto done;
    }
    if (query && evhttp_parse_query_str(query, &r.query) != 0) {
        api_reply_error(&r, 400, "malformed query string");
        goto done;
    }
    if (r.nseg == 1 && seg_is(&r, 0, "healthz"))
        api_reply(&r, 200, json_pack("{s:s}", "status", "ok"));
    else if (r.nseg == 1 && seg_is(&r, 0, "readyz"))
        handle_readyz(&r);
    else if (r.nseg == 1 && seg_is(&r, 0, "metrics")) {
        if (authenticate(&r, NULL) != API_ADMIN)
            api_reply_error(&r, 401, "a valid admin token is required");
        else
            handle_metrics(&r);
    } else if (r.nseg == 2 && seg_is(&r, 0, "hooks") && seg_is(&r, 1, "git"))
        api_webhook_handle(&r);
    else if (seg_is(&r, 0, "api") && seg_is(&r, 1, "v1") && r.nseg >= 3)
        route_api(&r);
    else if (!seg_is(&r, 0, "api") && !seg_is(&r, 0, "hooks"))
        api_page_handle(&r, path);
    else
        api_reply_error(&r, 404, "no such endpoint: %s", evhttp_request_get_uri(req));
done:
    evhttp_clear_headers(&r.query);
    for (size_t i = 0; i < r.nseg; i++)
        free(r.seg[i]);
}

/* ---- lifecycle ---- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct ks_api_server *srv = arg;
    (void)fd;
    (void)what;
    srv->stopping = 1;
    api_status_flush(srv);
    api_watch_flush(srv);
    event_base_loopexit(srv->base, NULL);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    api_watch_publish(arg);
}

/* Each accepted connection gets a TLS bufferevent in accepting state. */
static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    struct ks_api_server *srv = arg;
    SSL *ssl = SSL_new(srv->tls);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (bev)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    else if (ssl)
        SSL_free(ssl);
    return bev; /* NULL: libevent falls back to a plain socket, which the
                   client's TLS handshake then fails on */
}

static int tls_setup(struct ks_api_server *srv)
{
    const struct ks_api_server_opts *o = &srv->opts;
    char why[256] = "";
    if (!o->tls_key)
        return ks_error_set(KS_EINVALID, "api: tls_cert given without tls_key");
    if (!(srv->tls = SSL_CTX_new(TLS_server_method())) ||
        SSL_CTX_set_min_proto_version(srv->tls, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(srv->tls, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv->tls, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(srv->tls) != 1) {
        ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
        ERR_clear_error();
        return ks_error_set(KS_EINVALID, "api: TLS certificate %s / key %s: %s", o->tls_cert,
                            o->tls_key, why);
    }
    evhttp_set_bevcb(srv->http, tls_bev, srv);
    return 0;
}

/* The same API on a Unix socket: a stale socket file at the path is
 * replaced (anything else there is an error), the file is made 0600 before
 * the listener accepts, and removed again at free. */
static int unix_listen(struct ks_api_server *srv)
{
    const char *path = srv->opts.unix_socket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = -1, rc = 0;
    if (strlen(path) >= sizeof sa.sun_path)
        return ks_error_set(KS_ELIMIT, "api: unix socket path %s is longer than %zu bytes", path,
                            sizeof sa.sun_path - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ks_error_set(KS_EINVALID, "api: %s exists and is not a socket", path);
        unlink(path);
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0600) != 0 ||
        listen(fd, API_LISTEN_BACKLOG) != 0) {
        rc =
            ks_error_set(KS_EIO, "api: cannot listen on unix socket %s: %s", path, strerror(errno));
        goto done;
    }
    if (!(srv->unix_path = strdup(path))) {
        rc = ks_error_set(KS_ENOMEM, "api: out of memory");
        goto done;
    }
    srv->unix_listener = evconnlistener_new(srv->base, NULL, NULL,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!srv->unix_listener || !evhttp_bind_listener(srv->http, srv->unix_listener)) {
        if (srv->unix_listener)
            evconnlistener_free(srv->unix_listener);
        else
            close(fd);
        srv->unix_listener = NULL;
        fd = -1;
        rc = ks_error_set(KS_EIO, "api: cannot serve the unix socket %s", path);
        goto done;
    }
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

static void opts_defaults(struct ks_api_server_opts *o)
{
    if (!o->address)
        o->address = "127.0.0.1";
    if (!o->max_header_bytes)
        o->max_header_bytes = API_DEFAULT_MAX_HEADER;
    if (!o->max_body_bytes)
        o->max_body_bytes = API_DEFAULT_MAX_BODY;
    if (!o->idle_timeout_s)
        o->idle_timeout_s = 60;
    if (!o->max_connections)
        o->max_connections = 1024;
    if (!o->max_watchers)
        o->max_watchers = 256;
    if (!o->max_watch_wait_s)
        o->max_watch_wait_s = 300;
}

int ks_api_server_new(struct ks_api_server **out, struct ks_store *store,
                      struct ks_api_tokens *tokens, const struct ks_api_server_opts *opts)
{
    struct ks_api_server *srv = NULL;
    int rc = 0;
    pthread_once(&threads_once, threads_init);
    if (threads_rc != 0) {
        rc = ks_error_set(KS_ERROR, "api: libevent has no pthreads support");
        goto done;
    }
    if (!(srv = calloc(1, sizeof *srv))) {
        rc = ks_error_set(KS_ENOMEM, "api: out of memory");
        goto done;
    }
    srv->status_tail = &srv->status_head;
    srv->store = store;
    srv->tokens = tokens;
    if (opts)
        srv->opts = *opts;
    opts_defaults(&srv->opts);
    if (!(srv->base = event_base_new()) || !(srv->http = evhttp_new(srv->base)) ||
        !(srv->stop_ev = event_new(srv->base, -1, 0, on_stop, srv)) ||
        !(srv->notify_ev = event_new(srv->base, -1, 0, on_notify, srv))) {
        rc = ks_error_set(KS_ENOMEM, "api: cannot create the event loop");
        goto done;
    }
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)srv->opts.max_header_bytes);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->opts.max_body_bytes);
    evhttp_set_timeout(srv->http, (int)srv->opts.idle_timeout_s);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(srv->http, on_request, srv);
    if (srv->opts.tls_cert && (rc = tls_setup(srv)) != 0)
        goto done;
    srv->sock =
        evhttp_bind_socket_with_handle(srv->http, srv->opts.address, (ev_uint16_t)srv->opts.port);
    if (!srv->sock || srv->opts.port > 65535) {
        rc = ks_error_set(KS_EIO, "api: cannot listen on %s:%u", srv->opts.address, srv->opts.port);
        goto done;
    }
    /* Accepted sockets inherit TCP_NODELAY on Linux: a response written in
     * pieces (TLS records) must not wait for the client's delayed ACK. */
    int one = 1;
    setsockopt(evhttp_bound_socket_get_fd(srv->sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* libevent listens with a backlog of 128: 100 agents reconnecting at once
     * overflow it (Linux lets listen() raise the backlog of a listening socket) */
    listen(evhttp_bound_socket_get_fd(srv->sock), API_LISTEN_BACKLOG);
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(srv->sock), (struct sockaddr *)&ss, &len) != 0) {
        rc = ks_error_set(KS_EIO, "api: getsockname failed");
        goto done;
    }
    srv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (srv->opts.unix_socket && (rc = unix_listen(srv)) != 0)
        goto done;
    *out = srv;
    srv = NULL;
done:
    ks_api_server_free(srv);
    return rc;
}

unsigned ks_api_server_port(const struct ks_api_server *server)
{
    return server->port;
}

int ks_api_server_run(struct ks_api_server *server)
{
    if (event_base_loop(server->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
        return ks_error_set(KS_EIO, "api: event loop failed");
    return 0;
}

void ks_api_server_stop(struct ks_api_server *server)
{
    event_active(server->stop_ev, EV_READ, 0);
}

void ks_api_server_notify(struct ks_api_server *server, int64_t revision)
{
    (void)revision; /* watchers read the store's own revision: a late or
                       coalesced notify cannot make them skip a change */
    event_active(server->notify_ev, EV_READ, 0);
}

void ks_api_server_free(struct ks_api_server *server)
{
    if (!server)
        return;
    if (server->http)
        evhttp_free(server->http); /* closes connections: their callbacks drop watchers */
    api_watch_flush(server);
    api_status_free(server);
    api_ring_free(server->ring);
    if (server->stop_ev)
        event_free(server->stop_ev);
    if (server->notify_ev)
        event_free(server->notify_ev);
    if (server->base)
        event_base_free(server->base);
    if (server->tls)
        SSL_CTX_free(server->tls);
    if (server->unix_path)
        unlink(server->unix_path);
    free(server->unix_path);
    json_decref(server->sync_counts);
    free(server->conns);
    free(server);
}
