/*
 * url.c: Sprig's urlParse and urlJoin, following Go's net/url for the
 * URLs charts handle: scheme, //userinfo@host, path (percent-decoded),
 * raw query, fragment, opaque URLs; urlJoin re-escapes as URL.String().
 * Also getHostByName (a resolver lookup, as Sprig does).
 */
#include "renderer/funcs/funcs.h"

#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>

#include "core/error.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* url.unescape; -1 on a bad escape (offset in *bad). */
static int unescape(struct ks_buf *b, const char *s, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            ks_buf_putc(b, s[i]);
            continue;
        }
        if (i + 2 >= n) {
            *bad = i;
            return -1;
        }
        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0) {
            *bad = i;
            return -1;
        }
        ks_buf_putc(b, (char)(hi * 16 + lo));
        i += 2;
    }
    return 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

enum mode { M_PATH, M_FRAGMENT, M_USER, M_HOST };

/* url.shouldEscape for the modes used here. */
static bool should_escape(unsigned char c, enum mode m)
{
    if (unreserved(c))
        return false;
    if (m == M_HOST)
        return !strchr("!$&'()*+,;=:[]<>\"", c) || c == '\0';
    if (c && strchr("$&+,/:;=?@", c)) {
        if (m == M_PATH)
            return c == '?';
        if (m == M_USER)
            return c == '@' || c == '/' || c == '?' || c == ':';
        return false;
    }
    if (m == M_FRAGMENT && c && strchr("!()*", c))
        return false;
    return true;
}

static void escape(struct ks_buf *b, const char *s, size_t n, enum mode m)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (should_escape(c, m))
            ks_buf_printf(b, "%%%02X", c);
        else
            ks_buf_putc(b, (char)c);
    }
}

static int set_str(json_t *d, const char *key, const char *s, size_t n)
{
    return json_object_set_new(d, key, json_stringn_nocheck(s, n));
}

/* Go's EscapeError for the bad escape at url[at]. */
static int escape_error(struct ks_tpl_call *call, const char *url, size_t n, const char *part,
                        size_t pn, size_t at)
{
    size_t len = pn - at < 3 ? pn - at : 3;
    return ks_tpl_call_error(call, KS_EINVALID,
                             "unable to parse url: parse \"%.*s\": invalid URL escape \"%.*s\"",
                             (int)n, url, (int)len, part + at);
}

int ks_funcs_url_parse(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n, bad;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    const char *frag = memchr(s, '#', n);
    size_t un = frag ? (size_t)(frag - s) : n;
    struct ks_buf fb, pb;
    ks_buf_init(&fb, KS_FUNCS_MAX_OUTPUT);
    ks_buf_init(&pb, KS_FUNCS_MAX_OUTPUT);
    json_t *d = json_object();
    if (!d)
        return ks_funcs_nomem(call);
    if (frag && unescape(&fb, frag + 1, n - un - 1, &bad)) {
        rc = escape_error(call, s, n, frag + 1, n - un - 1, bad);
        goto done;
    }
    /* scheme */
    size_t i = 0, scheme_len = 0;
    if (un > 0 && ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z')) {
        while (i < un && (unreserved((unsigned char)s[i]) || s[i] == '+') && s[i] != '_' &&
               s[i] != '~')
            i++;
        if (i < un && s[i] == ':')
            scheme_len = i;
    } else if (un > 0 && s[0] == ':') {
        rc = ks_tpl_call_error(call, KS_EINVALID,
                               "unable to parse url: parse \"%.*s\": missing protocol scheme",
                               (int)n, s);
        goto done;
    }
    char scheme[64] = "";
    if (scheme_len && scheme_len < sizeof(scheme)) {
        for (size_t k = 0; k < scheme_len; k++)
            scheme[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
        scheme[scheme_len] = '\0';
    }
    const char *rest = s + (scheme_len ? scheme_len + 1 : 0);
    size_t rn = un - (size_t)(rest - s);
    const char *q = memchr(rest, '?', rn);
    const char *query = q ? q + 1 : "";
    size_t qn = q ? rn - (size_t)(q - rest) - 1 : 0;
    if (q)
        rn = (size_t)(q - rest);
    const char *host = "", *user = NULL, *opaque = "";
    size_t hn = 0, usern = 0, on = 0;
    if (scheme_len && (rn == 0 || rest[0] != '/')) {
        opaque = rest, on = rn;
        rn = 0;
    } else if (rn >= 2 && rest[0] == '/' && rest[1] == '/') {
        const char *auth = rest + 2;
        const char *slash = memchr(auth, '/', rn - 2);
        size_t an = slash ? (size_t)(slash - auth) : rn - 2;
        const char *at = NULL;
        for (size_t k = 0; k < an; k++)
            if (auth[k] == '@')
                at = auth + k;
        if (at) {
            user = auth, usern = (size_t)(at - auth);
            host = at + 1, hn = an - usern - 1;
        } else {
            host = auth, hn = an;
        }
        rest = auth + an;
        rn -= an + 2;
    }
    if (unescape(&pb, rest, rn, &bad)) {
        rc = escape_error(call, s, n, rest, rn, bad);
        goto done;
    }
    /* hostname: host without port, IPv6 brackets removed */
    const char *hname = host;
    size_t hnn = hn;
    if (hn && host[0] == '[') {
        const char *close = memchr(host, ']', hn);
        hname = host + 1;
        hnn = close ? (size_t)(close - host) - 1 : hn - 1;
    } else {
        const char *colon = memchr(host, ':', hn);
        if (colon)
            hnn = (size_t)(colon - host);
    }
    struct ks_buf ub;
    ks_buf_init(&ub, KS_FUNCS_MAX_OUTPUT);
    if (user) {
        struct ks_buf raw;
        ks_buf_init(&raw, KS_FUNCS_MAX_OUTPUT);
        const char *colon = memchr(user, ':', usern);
        size_t name_len = colon ? (size_t)(colon - user) : usern;
        unescape(&raw, user, name_len, &bad);
        escape(&ub, ks_buf_data(&raw), raw.len, M_USER);
        if (colon) {
            ks_buf_reset(&raw);
            unescape(&raw, colon + 1, usern - name_len - 1, &bad);
            ks_buf_putc(&ub, ':');
            escape(&ub, ks_buf_data(&raw), raw.len, M_USER);
        }
        ks_buf_release(&raw);
    }
    if (set_str(d, "scheme", scheme, strlen(scheme)) || set_str(d, "host", host, hn) ||
        set_str(d, "hostname", hname, hnn) || set_str(d, "path", ks_buf_data(&pb), pb.len) ||
        set_str(d, "query", query, qn) || set_str(d, "opaque", opaque, on) ||
        set_str(d, "fragment", ks_buf_data(&fb), fb.len) ||
        set_str(d, "userinfo", ks_buf_data(&ub), ub.len) || ks_buf_error(&pb) ||
        ks_buf_error(&fb) || ks_buf_error(&ub))
        rc = ks_funcs_nomem(call);
    ks_buf_release(&ub);
done:
    ks_buf_release(&fb);
    ks_buf_release(&pb);
    if (rc) {
        json_decref(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* metaFromDict: a string member, "" otherwise. */
static const char *member(const json_t *d, const char *key, size_t *n)
{
    json_t *v = json_object_get(d, key);
    if (!json_is_string(v)) {
        *n = 0;
        return "";
    }
    *n = json_string_length(v);
    return json_string_value(v);
}

int ks_funcs_url_join(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    json_t *d;
    int rc = ks_funcs_arg_map(&d, call, args[0]);
    if (rc)
        return rc;
    size_t sn, hn, pn, qn, on, fn, un;
    const char *scheme = member(d, "scheme", &sn), *host = member(d, "host", &hn);
    const char *path = member(d, "path", &pn), *query = member(d, "query", &qn);
    const char *opaque = member(d, "opaque", &on), *frag = member(d, "fragment", &fn);
    const char *user = member(d, "userinfo", &un);
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (sn) {
        ks_buf_put(&b, scheme, sn);
        ks_buf_putc(&b, ':');
    }
    if (on) {
        ks_buf_put(&b, opaque, on);
    } else {
        if (sn || hn || un) {
            if (hn || pn || un)
                ks_buf_puts(&b, "//");
            if (un) {
                ks_buf_put(&b, user, un); /* already in escaped form */
                ks_buf_putc(&b, '@');
            }
            escape(&b, host, hn, M_HOST);
        }
        if (pn && path[0] != '/' && hn)
            ks_buf_putc(&b, '/');
        if (b.len == 0) {
            const char *slash = memchr(path, '/', pn);
            size_t seg = slash ? (size_t)(slash - path) : pn;
            if (memchr(path, ':', seg))
                ks_buf_puts(&b, "./");
        }
        escape(&b, path, pn, M_PATH);
    }
    if (qn) {
        ks_buf_putc(&b, '?');
        ks_buf_put(&b, query, qn);
    }
    if (fn) {
        ks_buf_putc(&b, '#');
        escape(&b, frag, fn, M_FRAGMENT);
    }
    return ks_funcs_ret_buf(out, call, &b);
}

/* getHostByName: one of the name's addresses (net.LookupHost), picked at
 * random as Sprig does; no address is Go's rand.Intn(0) panic. This is
 * the one function that touches the network, exactly as in Helm. */
int ks_funcs_get_host_by_name(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                              size_t nargs)
{
    const char *name;
    size_t n;
    int rc = ks_funcs_arg_str(&name, &n, call, args[0]);
    if (rc)
        return rc;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    json_t *addrs = json_array();
    if (!addrs)
        return ks_funcs_nomem(call);
    if (strlen(name) == n && getaddrinfo(name, NULL, &hints, &res) == 0) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            char host[NI_MAXHOST];
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
                            NI_NUMERICHOST) == 0)
                json_array_append_new(addrs, json_string(host));
        }
        freeaddrinfo(res);
    }
    size_t count = json_array_size(addrs);
    unsigned char r[4] = {0, 0, 0, 0};
    if (count == 0) {
        json_decref(addrs);
        return ks_tpl_call_error(call, KS_EINVALID, "invalid argument to Intn");
    }
    if (ks_funcs_random(r, sizeof(r))) {
        json_decref(addrs);
        return ks_tpl_call_error(call, KS_ERROR, "%s", ks_error_last());
    }
    uint32_t pick = ((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3]) %
                    (uint32_t)count;
    *out = json_incref(json_array_get(addrs, pick));
    json_decref(addrs);
    return 0;
}
