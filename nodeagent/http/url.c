/*
 * url.c: the small URL handling the agent needs without libcurl: splitting
 * an http:// or https:// URL into host, port and request target (the
 * control plane's address, httpGet probes and their redirects), and
 * percent-encoding one path or query component.
 */
#include "nodeagent/http/http.h"

#include "core/error.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

int ks_http_url_parse(struct ks_http_url *out, const char *url)
{
    struct ks_http_url u = {0};
    const char *p, *host, *host_end, *end;
    long port;
    char *pend;
    int rc = 0;

    if (ks_str_has_prefix(url, "http://")) {
        p = url + 7;
    } else if (ks_str_has_prefix(url, "https://")) {
        u.tls = true;
        p = url + 8;
    } else {
        return ks_error_set(KS_EINVALID, "URL '%.128s' is not http:// or https://", url);
    }
    u.port = u.tls ? 443 : 80;
    end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(end - p)))
        return ks_error_set(KS_EINVALID, "URL '%.128s': user information is not supported", url);
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end)
            return ks_error_set(KS_EINVALID, "URL '%.128s': unterminated [address]", url);
        p = host_end + 1;
    } else {
        host = p;
        host_end = memchr(p, ':', (size_t)(end - p));
        if (!host_end)
            host_end = end;
        p = host_end;
    }
    if (host_end == host || host_end - host > KS_HTTP_MAX_HOST)
        return ks_error_set(KS_EINVALID,
                            "URL '%.128s': the host is empty or over the %d-byte limit", url,
                            KS_HTTP_MAX_HOST);
    if (p < end) {
        if (*p != ':' || p + 1 == end)
            return ks_error_set(KS_EINVALID, "URL '%.128s': bad port", url);
        port = strtol(p + 1, &pend, 10);
        if (pend != end || port < 1 || port > 65535)
            return ks_error_set(KS_EINVALID, "URL '%.128s': port is not in 1..65535", url);
        u.port = (int)port;
    }
    u.host = strndup(host, (size_t)(host_end - host));
    if (*end == '/')
        u.target = strndup(end, strcspn(end, "#"));
    else
        u.target = ks_strdupf("/%.*s", (int)strcspn(end, "#"), end);
    if (!u.host || !u.target) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        ks_http_url_release(&u);
        return rc;
    }
    if (strpbrk(u.host, " \t\r\n/") || strpbrk(u.target, " \t\r\n")) {
        ks_http_url_release(&u);
        return ks_error_set(KS_EINVALID, "URL '%.128s' holds white space", url);
    }
    *out = u;
    return 0;
}

void ks_http_url_release(struct ks_http_url *u)
{
    free(u->host);
    free(u->target);
    u->host = u->target = NULL;
}

int ks_http_escape(struct ks_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            ks_buf_putc(b, (char)c);
        } else {
            ks_buf_putc(b, '%');
            ks_buf_putc(b, hex[c >> 4]);
            ks_buf_putc(b, hex[c & 15]);
        }
    }
    return ks_buf_error(b);
}
