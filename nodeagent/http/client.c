/*
 * client.c: the HTTP/1.1 exchange of http.h: the client with its pool of
 * idle keep-alive connections, writing one request, and reading the answer
 * (status line, headers, a body framed by Content-Length, chunked
 * transfer coding or the end of the connection) into a capped buffer or a
 * stream callback. One retry on a fresh connection when a pooled one turns
 * out to have been closed by the server before any byte of the answer.
 */
#include "nodeagent/http/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define KS_HTTP_MAX_CHUNK_LINE 1024 /* "<hex size>[;extensions]" */

struct ks_http_client {
    struct ks_http_opts opts; /* strings point at the copies below */
    char *unix_path, *host, *ca_file;
    char *name;        /* for messages */
    char *host_header; /* default Host */
    pthread_mutex_t lock;
    struct ks_http_conn *idle[KS_HTTP_POOL_SIZE];
    int n_idle;
    struct ks_http_tls_ctx *tls; /* made on the first https connection */
};

int ks_http_client_new(struct ks_http_client **out, const struct ks_http_opts *opts)
{
    struct ks_http_client *c = NULL;
    bool v6;
    int rc = 0;

    if (!opts || (!opts->unix_path && !opts->host))
        return ks_error_set(KS_EINVALID, "http: neither a socket path nor a host given");
    if (opts->unix_path && (!*opts->unix_path || opts->tls))
        return ks_error_set(KS_EINVALID, "http: an empty socket path, or TLS over a socket");
    if (!opts->unix_path && (!*opts->host || strlen(opts->host) > KS_HTTP_MAX_HOST))
        return ks_error_set(KS_EINVALID, "http: host '%.64s' is empty or over the %d-byte limit",
                            opts->host, KS_HTTP_MAX_HOST);
    if (!opts->unix_path && (opts->port < 1 || opts->port > 65535))
        return ks_error_set(KS_EINVALID, "http: port %d is not in 1..65535", opts->port);
    if (!(c = calloc(1, sizeof(*c))))
        return ks_error_set(KS_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    c->opts = *opts;
    if (c->opts.connect_ms <= 0)
        c->opts.connect_ms = KS_HTTP_DEFAULT_CONNECT_MS;
    if (opts->unix_path) {
        c->unix_path = strdup(opts->unix_path);
        c->name = c->unix_path ? strdup(c->unix_path) : NULL;
        c->host_header = strdup("d");
    } else {
        v6 = strchr(opts->host, ':') != NULL;
        c->host = strdup(opts->host);
        c->name = ks_strdupf("%s%s%s:%d", v6 ? "[" : "", opts->host, v6 ? "]" : "", opts->port);
        if (opts->port == (opts->tls ? 443 : 80))
            c->host_header = ks_strdupf("%s%s%s", v6 ? "[" : "", opts->host, v6 ? "]" : "");
        else
            c->host_header = c->name ? strdup(c->name) : NULL;
    }
    if (opts->ca_file && !(c->ca_file = strdup(opts->ca_file)))
        goto nomem;
    if ((!c->unix_path && !c->host) || !c->name || !c->host_header)
        goto nomem;
    c->opts.unix_path = c->unix_path;
    c->opts.host = c->host;
    c->opts.ca_file = c->ca_file;
    *out = c;
    return rc;
nomem:
    ks_http_client_free(c);
    return ks_error_set(KS_ENOMEM, "out of memory");
}

void ks_http_client_free(struct ks_http_client *c)
{
    int i;

    if (!c)
        return;
    for (i = 0; i < c->n_idle; i++)
        ks_http_conn_close(c->idle[i]);
    ks_http_tls_ctx_free(c->tls);
    pthread_mutex_destroy(&c->lock);
    free(c->unix_path);
    free(c->host);
    free(c->ca_file);
    free(c->name);
    free(c->host_header);
    free(c);
}

const char *ks_http_client_name(const struct ks_http_client *c)
{
    return c->name;
}

int ks_http_cancel_init(struct ks_http_cancel *cc)
{
    atomic_init(&cc->fired, false);
    cc->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (cc->fd < 0)
        return ks_error_set(KS_EIO, "eventfd: %s", strerror(errno));
    return 0;
}

void ks_http_cancel_release(struct ks_http_cancel *cc)
{
    if (cc->fd >= 0)
        close(cc->fd);
    cc->fd = -1;
}

void ks_http_cancel_fire(struct ks_http_cancel *cc)
{
    uint64_t one = 1;

    atomic_store(&cc->fired, true);
    if (write(cc->fd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero (EAGAIN): the waiter wakes anyway */
    }
}

bool ks_http_cancel_take(struct ks_http_cancel *cc)
{
    uint64_t n;
    bool was = atomic_exchange(&cc->fired, false);

    if (read(cc->fd, &n, sizeof(n)) < 0) {
        /* nothing to drain (EAGAIN) */
    }
    return was;
}

/* An idle pooled connection that still looks usable, or NULL. */
static struct ks_http_conn *pool_take(struct ks_http_client *c)
{
    struct ks_http_conn *conn;

    for (;;) {
        pthread_mutex_lock(&c->lock);
        conn = c->n_idle > 0 ? c->idle[--c->n_idle] : NULL;
        pthread_mutex_unlock(&c->lock);
        if (!conn || ks_http_conn_alive(conn))
            return conn;
        ks_http_conn_close(conn);
    }
}

static void pool_give(struct ks_http_client *c, struct ks_http_conn *conn)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < KS_HTTP_POOL_SIZE) {
        conn->reused = true;
        c->idle[c->n_idle++] = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    ks_http_conn_close(conn);
}

static int open_conn(struct ks_http_conn **out, int *out_errno, struct ks_http_client *c,
                     const struct ks_http_deadline *dl)
{
    int rc = 0;

    if (c->opts.tls) {
        pthread_mutex_lock(&c->lock);
        if (!c->tls)
            rc = ks_http_tls_ctx_new(&c->tls, c->ca_file, c->opts.insecure);
        pthread_mutex_unlock(&c->lock);
        if (rc < 0)
            return rc;
    }
    return ks_http_conn_open(out, out_errno, &c->opts, c->name, c->tls, dl);
}

static bool bad_text(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int build_request(struct ks_buf *b, const struct ks_http_client *c,
                         const struct ks_http_request *req)
{
    const char *m = req->method;
    size_t i;

    if (!m || !*m || !req->target || req->target[0] != '/' || strpbrk(m, " \r\n") ||
        strpbrk(req->target, " \r\n") || (req->host && bad_text(req->host)))
        return ks_error_set(KS_EINVALID, "http: bad method or target");
    ks_buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", m, req->target,
                  req->host ? req->host : c->host_header);
    for (i = 0; i < req->n_headers; i++) {
        const struct ks_http_header *h = &req->headers[i];
        if (!h->name || !*h->name || strpbrk(h->name, ": \r\n") || !h->value || bad_text(h->value))
            return ks_error_set(KS_EINVALID, "http: header '%.64s' is not a valid header",
                                h->name ? h->name : "(null)");
        ks_buf_printf(b, "%s: %s\r\n", h->name, h->value);
    }
    if (req->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0)
        ks_buf_printf(b, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
    if (req->close)
        ks_buf_puts(b, "Connection: close\r\n");
    ks_buf_puts(b, "\r\n");
    if (req->body)
        ks_buf_put(b, req->body, req->body_len);
    if (ks_buf_error(b))
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* State of reading one answer. */
struct reader {
    struct ks_http_conn *conn;
    const struct ks_http_deadline *dl;
    const struct ks_http_request *req;
    struct ks_http_response *resp;
    size_t max_body;
    bool got_bytes; /* anything of the answer arrived */
    bool done;      /* the body is complete or the reading ended on purpose */
};

/* More bytes into the connection buffer; EOF is an error named after what. */
static int fill(struct reader *r, const char *what)
{
    int n = ks_http_conn_fill(r->conn, &r->resp->os_errno, r->dl);

    if (n > 0) {
        r->got_bytes = true;
        return 0;
    }
    if (n == 0)
        return ks_error_set(KS_EIO, "the connection closed %s", what);
    return n;
}

/* One line up to '\n' into line (CR LF stripped), counting *budget down. */
static int read_line(struct reader *r, struct ks_buf *line, size_t *budget, const char *what,
                     const char *limit_what, size_t limit)
{
    struct ks_http_conn *c = r->conn;
    char *nl;
    size_t n;
    int rc;

    ks_buf_reset(line);
    for (;;) {
        nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
        n = nl ? (size_t)(nl - (c->rbuf + c->rpos)) + 1 : c->rlen - c->rpos;
        if (n > *budget)
            return ks_error_set(KS_ELIMIT, "the answer's %s is over the %zu-byte limit", limit_what,
                                limit);
        *budget -= n;
        ks_buf_put(line, c->rbuf + c->rpos, n);
        c->rpos += n;
        if (nl)
            break;
        if ((rc = fill(r, what)) != 0)
            return rc;
    }
    if (ks_buf_error(line))
        return ks_error_set(KS_ENOMEM, "out of memory");
    n = ks_buf_len(line);
    while (n && (line->data[n - 1] == '\n' || line->data[n - 1] == '\r'))
        line->data[--n] = '\0';
    line->len = n;
    return 0;
}

/* Body bytes: to the stream callback or into resp->body. */
static int deliver(struct reader *r, const char *data, size_t len)
{
    struct ks_http_response *resp = r->resp;
    int rc;

    if (len == 0)
        return 0;
    if (r->req->on_data && resp->status >= 200 && resp->status < 300) {
        rc = r->req->on_data(data, len, r->req->ud);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            resp->stopped = true;
            r->done = true;
        }
        return 0;
    }
    if (ks_buf_len(&resp->body) + len > r->max_body) {
        if (!r->req->truncate_ok || r->req->on_data)
            return ks_error_set(KS_ELIMIT, "answer is over the %zu-byte limit", r->max_body);
        ks_buf_put(&resp->body, data, r->max_body - ks_buf_len(&resp->body));
        resp->truncated = true;
        r->done = true;
        return 0;
    }
    if (ks_buf_put(&resp->body, data, len) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* want bytes of body (SIZE_MAX: until the connection closes). */
static int read_body(struct reader *r, size_t want)
{
    struct ks_http_conn *c = r->conn;
    size_t n;
    int rc;

    while (want > 0 && !r->done) {
        if (c->rpos == c->rlen) {
            rc = ks_http_conn_fill(c, &r->resp->os_errno, r->dl);
            if (rc == 0 && want == SIZE_MAX)
                return 0;
            if (rc == 0)
                return ks_error_set(KS_EIO, "the connection closed in the middle of the body");
            if (rc < 0)
                return rc;
        }
        n = c->rlen - c->rpos;
        if (n > want)
            n = want;
        rc = deliver(r, c->rbuf + c->rpos, n);
        c->rpos += n;
        if (want != SIZE_MAX)
            want -= n;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_chunked(struct reader *r, struct ks_buf *line)
{
    size_t budget, size;
    char *end;
    int rc;

    for (;;) {
        budget = KS_HTTP_MAX_CHUNK_LINE;
        if ((rc = read_line(r, line, &budget, "in the middle of the body", "chunk size line",
                            KS_HTTP_MAX_CHUNK_LINE)) != 0)
            return rc;
        errno = 0;
        size = strtoull(ks_buf_data(line), &end, 16);
        if (end == ks_buf_data(line) || errno || size == SIZE_MAX ||
            (*end && *end != ';' && *end != ' '))
            return ks_error_set(KS_EINVALID, "bad chunk size line '%.40s'", ks_buf_data(line));
        if (size == 0)
            break;
        if ((rc = read_body(r, size)) != 0 || r->done)
            return rc;
        budget = 2;
        if ((rc = read_line(r, line, &budget, "in the middle of the body", "chunk end", 2)) != 0)
            return rc;
        if (ks_buf_len(line) != 0)
            return ks_error_set(KS_EINVALID, "a chunk does not end with CRLF");
    }
    /* trailer fields, up to the empty line */
    budget = KS_HTTP_MAX_HEADER_BYTES;
    do {
        if ((rc = read_line(r, line, &budget, "in the middle of the trailer", "trailer",
                            KS_HTTP_MAX_HEADER_BYTES)) != 0)
            return rc;
    } while (ks_buf_len(line) > 0);
    return 0;
}

static bool has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    const char *p = value;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncasecmp(p, token, n) == 0 &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t' || p[n] == ';'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* Reads one answer on r->conn; *out_keep tells whether the connection may
 * serve the next request. */
static int read_answer(struct reader *r, bool *out_keep)
{
    struct ks_http_response *resp = r->resp;
    struct ks_buf line;
    size_t budget = KS_HTTP_MAX_HEADER_BYTES, length = 0;
    bool http10, chunked, has_length, close_conn, no_body;
    int status, minor, rc, used;
    const char *s;

    ks_buf_init(&line, 0);
    for (;;) {
        if ((rc = read_line(r, &line, &budget, "before an answer arrived", "header block",
                            KS_HTTP_MAX_HEADER_BYTES)) != 0)
            goto done;
        used = 0;
        if (sscanf(ks_buf_data(&line), "HTTP/1.%d %3d%n", &minor, &status, &used) != 2 ||
            used < 12 || status < 100 || status > 999 ||
            (ks_buf_data(&line)[used] && ks_buf_data(&line)[used] != ' ')) {
            rc = ks_error_set(KS_EINVALID, "not an HTTP/1.x answer: '%.60s'", ks_buf_data(&line));
            goto done;
        }
        http10 = minor == 0;
        chunked = has_length = close_conn = false;
        length = 0;
        ks_buf_reset(&resp->headers);
        for (;;) {
            if ((rc = read_line(r, &line, &budget, "in the middle of the headers", "header block",
                                KS_HTTP_MAX_HEADER_BYTES)) != 0)
                goto done;
            if (ks_buf_len(&line) == 0)
                break;
            s = ks_buf_data(&line);
            ks_buf_puts(&resp->headers, s);
            ks_buf_puts(&resp->headers, "\r\n");
            if (strncasecmp(s, "Content-Length:", 15) == 0) {
                uint64_t v;
                char *end;
                s += 15;
                while (*s == ' ' || *s == '\t')
                    s++;
                errno = 0;
                v = strtoull(s, &end, 10);
                while (*end == ' ' || *end == '\t')
                    end++;
                if (!isdigit((unsigned char)*s) || *end || errno || (has_length && v != length)) {
                    rc = ks_error_set(KS_EINVALID, "bad Content-Length '%.40s'", s);
                    goto done;
                }
                has_length = true;
                length = (size_t)v;
            } else if (strncasecmp(s, "Transfer-Encoding:", 18) == 0) {
                chunked = has_token(s + 18, "chunked");
            } else if (strncasecmp(s, "Connection:", 11) == 0) {
                if (has_token(s + 11, "close"))
                    close_conn = true;
                else if (has_token(s + 11, "keep-alive"))
                    http10 = false;
            }
        }
        if (ks_buf_error(&resp->headers)) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (status >= 200 || status == 101)
            break;
        /* 100 Continue and other interim answers: the real one follows */
    }
    resp->status = status;
    if (status == 101) {
        rc = ks_error_set(KS_EINVALID, "the server switched protocols (HTTP 101)");
        goto done;
    }
    no_body = strcmp(r->req->method, "HEAD") == 0 || status == 204 || status == 304;
    if (no_body)
        rc = 0;
    else if (chunked)
        rc = read_chunked(r, &line);
    else if (has_length)
        rc = read_body(r, length);
    else {
        rc = read_body(r, SIZE_MAX);
        close_conn = true;
    }
    *out_keep = rc == 0 && !r->done && !close_conn && !http10 && !r->req->close;
done:
    ks_buf_release(&line);
    return rc;
}

void ks_http_response_release(struct ks_http_response *resp)
{
    ks_buf_release(&resp->headers);
    ks_buf_release(&resp->body);
}

static void response_reset(struct ks_http_response *resp, size_t max_body)
{
    ks_http_response_release(resp);
    resp->status = 0;
    resp->truncated = resp->stopped = resp->cancelled = false;
    resp->os_errno = 0;
    ks_buf_init(&resp->headers, 0);
    ks_buf_init(&resp->body, max_body + 1);
}

int ks_http_request(struct ks_http_response *resp, struct ks_http_client *c,
                    const struct ks_http_request *req)
{
    struct ks_http_deadline dl = {
        .idle_ms = req->idle_ms, .timeout_ms = req->timeout_ms, .cancel = req->cancel};
    size_t max_body = req->max_body ? req->max_body : KS_HTTP_DEFAULT_MAX_BODY;
    struct ks_http_conn *conn = NULL;
    struct ks_buf text;
    struct reader r;
    bool keep = false, reused;
    int rc, attempt;

    memset(resp, 0, sizeof(*resp));
    response_reset(resp, max_body);
    ks_buf_init(&text, 0);
    if (req->timeout_ms > 0)
        dl.total = ks_http_now_ms() + req->timeout_ms;
    if ((rc = build_request(&text, c, req)) < 0)
        goto done;
    for (attempt = 0; attempt < 2; attempt++) {
        response_reset(resp, max_body);
        conn = pool_take(c);
        if (!conn && (rc = open_conn(&conn, &resp->os_errno, c, &dl)) != 0)
            goto done;
        reused = conn->reused;
        r = (struct reader){
            .conn = conn, .dl = &dl, .req = req, .resp = resp, .max_body = max_body};
        keep = false;
        rc = ks_http_conn_write(conn, &resp->os_errno, ks_buf_data(&text), ks_buf_len(&text), &dl);
        if (rc == 0)
            rc = read_answer(&r, &keep);
        if (rc == 0)
            break;
        ks_http_conn_close(conn);
        conn = NULL;
        /* a pooled connection the server had closed meanwhile: once more */
        if (!(reused && !r.got_bytes && rc == KS_EIO))
            break;
    }
done:
    if (rc == KS_HTTP_CANCELLED) {
        response_reset(resp, max_body);
        resp->cancelled = true;
        rc = 0;
    }
    if (conn) {
        if (keep)
            pool_give(c, conn);
        else
            ks_http_conn_close(conn);
    }
    if (rc < 0) {
        int os = resp->os_errno;
        response_reset(resp, max_body);
        resp->os_errno = os;
    }
    ks_buf_release(&text);
    return rc;
}

char *ks_http_response_header(const struct ks_http_response *resp, const char *name)
{
    const char *p = ks_buf_data(&resp->headers), *eol, *v;
    size_t n = strlen(name);

    for (; *p; p = eol + 2) {
        eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            v = p + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
                eol--;
            return strndup(v, (size_t)(eol - v));
        }
    }
    return NULL;
}
