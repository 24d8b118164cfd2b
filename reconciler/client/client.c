/*
 * client.c: the admin HTTP client of the control plane's API (client.h).
 *
 * One libcurl easy handle per client, reused across requests so that a
 * command making several calls keeps one connection. The response body is
 * collected into a ks_buf with a hard limit (a larger answer aborts the
 * transfer with KS_ELIMIT); non-2xx answers become KS_E* errors carrying
 * the server's {"error"} text and the status.
 */
#include "reconciler/client/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "reconciler/pipeline.h"

#define URL_FILE_LIMIT 4096

struct ks_client {
    CURL *curl;
    char *server;  /* as given: http(s)://host:port or unix:///path */
    char *base;    /* URL prefix requests are made against */
    char *sock;    /* Unix socket path or NULL */
    char *auth;    /* "Authorization: Bearer <token>" */
    char *ca_file; /* $KEELSON_CA_FILE or NULL */
    long status;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Trims trailing whitespace and newlines in place. */
static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* The first non-empty of flag, env; else the file's first line. *out is
 * malloc'd; KS_ENOTFOUND when none has a value. */
static int pick(char **out, const char *flag, const char *env, const char *file)
{
    const char *e = getenv(env);
    char *text = NULL;
    size_t len = 0;
    if (flag && *flag)
        text = strdup(flag);
    else if (e && *e)
        text = strdup(e);
    else if (access(file, F_OK) != 0)
        return KS_ENOTFOUND;
    else if (ks_file_read(&text, &len, file, URL_FILE_LIMIT) != 0)
        return ks_error_wrap(KS_EINVALID, "client: %s", file);
    if (!text)
        return ks_error_set(KS_ENOMEM, "client: out of memory");
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    chomp(text);
    if (!*text) {
        free(text);
        return ks_error_set(KS_EINVALID, "client: %s is empty", file);
    }
    *out = text;
    return 0;
}

static int set_server(struct ks_client *c, const char *server)
{
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    if (!(c->server = ks_strndup(server, n)))
        return ks_error_set(KS_ENOMEM, "client: out of memory");
    if (ks_str_has_prefix(c->server, "unix://")) {
        if (!c->server[7] || !(c->sock = strdup(c->server + 7)) ||
            !(c->base = strdup("http://localhost")))
            return ks_error_set(KS_EINVALID, "client: server %s: no socket path", server);
        return 0;
    }
    if (!ks_str_has_prefix(c->server, "http://") && !ks_str_has_prefix(c->server, "https://"))
        return ks_error_set(KS_EINVALID,
                            "client: server %s: want http://HOST:PORT, https://HOST:PORT or "
                            "unix:///PATH",
                            server);
    if (!(c->base = strdup(c->server)))
        return ks_error_set(KS_ENOMEM, "client: out of memory");
    return 0;
}

int ks_client_new(struct ks_client **out, const char *server, const char *token,
                  const char *state_dir)
{
    struct ks_client *c = calloc(1, sizeof *c);
    struct ks_buf dir, path;
    char *srv = NULL, *tok = NULL;
    int rc;
    ks_buf_init(&dir, 4096);
    ks_buf_init(&path, 4096);
    if (!c) {
        rc = ks_error_set(KS_ENOMEM, "client: out of memory");
        goto done;
    }
    if (state_dir)
        ks_buf_puts(&dir, state_dir);
    else if ((rc = ks_pipeline_state_dir(&dir, NULL)) != 0)
        goto done;
    ks_buf_printf(&path, "%s/api.url", ks_buf_data(&dir));
    if ((rc = ks_buf_error(&path)) != 0)
        goto done;
    rc = pick(&srv, server, "KEELSON_SERVER", ks_buf_data(&path));
    if (rc == KS_ENOTFOUND)
        rc = ks_error_set(KS_EINVALID,
                          "no server: give --server URL, set $KEELSON_SERVER, or start the "
                          "control plane (it writes %s)",
                          ks_buf_data(&path));
    if (rc || (rc = set_server(c, srv)) != 0)
        goto done;
    ks_buf_reset(&path);
    ks_buf_printf(&path, "%s/tokens/admin", ks_buf_data(&dir));
    if ((rc = ks_buf_error(&path)) != 0)
        goto done;
    rc = pick(&tok, token, "KEELSON_TOKEN", ks_buf_data(&path));
    if (rc == KS_ENOTFOUND)
        rc = ks_error_set(KS_EINVALID,
                          "no token: give --token T, set $KEELSON_TOKEN, or run where %s is "
                          "readable",
                          ks_buf_data(&path));
    if (rc)
        goto done;
    const char *ca = getenv("KEELSON_CA_FILE");
    if (!(c->auth = ks_strdupf("Authorization: Bearer %s", tok)) ||
        (ca && *ca && !(c->ca_file = strdup(ca)))) {
        rc = ks_error_set(KS_ENOMEM, "client: out of memory");
        goto done;
    }
    pthread_once(&curl_once, curl_init_once);
    if (!(c->curl = curl_easy_init())) {
        rc = ks_error_set(KS_ENOMEM, "client: cannot create a curl handle");
        goto done;
    }
    *out = c;
    c = NULL;
done:
    if (tok) {
        memset(tok, 0, strlen(tok));
        free(tok);
    }
    free(srv);
    ks_buf_release(&dir);
    ks_buf_release(&path);
    ks_client_free(c);
    return rc;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct ks_buf *b = arg;
    if (ks_buf_put(b, p, size * n) != 0)
        return 0; /* over the limit: curl aborts with CURLE_WRITE_ERROR */
    return size * n;
}

static int status_code(long status)
{
    switch (status) {
    case 400:
    case 401:
    case 403:
        return KS_EINVALID;
    case 404:
        return KS_ENOTFOUND;
    case 409:
        return KS_ECONFLICT;
    case 410:
        return KS_EGONE;
    case 413:
        return KS_ELIMIT;
    default:
        return KS_EIO;
    }
}

/* One request; *out: the parsed 2xx body (NULL when empty). */
static int request(json_t **out, struct ks_client *c, const char *method, const char *path,
                   const json_t *body)
{
    struct ks_buf resp;
    struct curl_slist *h = NULL;
    char *url = NULL, *text = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";
    json_t *doc = NULL;
    json_error_t jerr;
    int rc = 0;
    ks_buf_init(&resp, KS_CLIENT_MAX_RESPONSE);
    c->status = 0;
    if (!(url = ks_strdupf("%s%s%s", c->base, path[0] == '/' ? "" : "/", path)) ||
        (body && !(text = json_dumps(body, JSON_COMPACT)))) {
        rc = ks_error_set(KS_ENOMEM, "client: out of memory");
        goto done;
    }
    CURL *k = c->curl;
    curl_easy_reset(k);
    h = curl_slist_append(h, c->auth);
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
    if (text)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (!h) {
        rc = ks_error_set(KS_ENOMEM, "client: out of memory");
        goto done;
    }
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, KS_CLIENT_TIMEOUT_MS);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->sock)
        curl_easy_setopt(k, CURLOPT_UNIX_SOCKET_PATH, c->sock);
    if (c->ca_file)
        curl_easy_setopt(k, CURLOPT_CAINFO, c->ca_file);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POST, 1L);
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, text ? text : "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)(text ? strlen(text) : 0));
    } else {
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(k);
    if (cc == CURLE_WRITE_ERROR && ks_buf_error(&resp)) {
        rc = ks_error_set(KS_ELIMIT, "%s %s: the answer is larger than %u bytes", method, path,
                          KS_CLIENT_MAX_RESPONSE);
        goto done;
    }
    if (cc != CURLE_OK) {
        rc = ks_error_set(KS_EIO, "%s %s%s: %s%s", method, c->server, path,
                          curl_err[0] ? curl_err : curl_easy_strerror(cc),
                          cc == CURLE_COULDNT_CONNECT ? " (is the control plane running?)" : "");
        goto done;
    }
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &c->status);
    if (ks_buf_len(&resp) > 0)
        doc = json_loadb(ks_buf_data(&resp), ks_buf_len(&resp), 0, &jerr);
    if (c->status < 200 || c->status > 299) {
        const char *msg = json_string_value(json_object_get(doc, "error"));
        char snippet[160];
        if (!msg) {
            snprintf(snippet, sizeof snippet, "%.*s",
                     (int)(ks_buf_len(&resp) < 120 ? ks_buf_len(&resp) : 120),
                     ks_buf_len(&resp) ? ks_buf_data(&resp) : "");
            chomp(snippet);
            msg = snippet[0] ? snippet : "(no message)";
        }
        rc = ks_error_set(status_code(c->status), "%s %s: %ld %s%s", method, path, c->status,
                          c->status == 401 ? "the server refused the token: " : "", msg);
        goto done;
    }
    if (ks_buf_len(&resp) > 0 && !doc) {
        rc = ks_error_set(KS_EIO, "%s %s: answer is not JSON: %s (line %d)", method, path,
                          jerr.text, jerr.line);
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    json_decref(doc);
    curl_slist_free_all(h);
    ks_buf_release(&resp);
    free(url);
    free(text);
    return rc;
}

int ks_client_get(json_t **out, struct ks_client *c, const char *path_and_query)
{
    json_t *doc = NULL;
    int rc = request(&doc, c, "GET", path_and_query, NULL);
    if (rc == 0 && !doc)
        rc = ks_error_set(KS_EIO, "GET %s: empty answer", path_and_query);
    if (rc == 0)
        *out = doc;
    return rc;
}

int ks_client_post(json_t **out, long *out_status, struct ks_client *c, const char *path,
                   const json_t *body)
{
    json_t *doc = NULL;
    int rc = request(&doc, c, "POST", path, body);
    if (out_status)
        *out_status = c->status;
    if (rc == 0 && out)
        *out = doc;
    else
        json_decref(doc);
    return rc;
}

const char *ks_client_server(const struct ks_client *c)
{
    return c->server;
}

long ks_client_status(const struct ks_client *c)
{
    return c->status;
}

void ks_client_free(struct ks_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->auth) {
        memset(c->auth, 0, strlen(c->auth));
        free(c->auth);
    }
    free(c->server);
    free(c->base);
    free(c->sock);
    free(c->ca_file);
    free(c);
}
