/*
 * knownhosts.c: the known_hosts check of knownhosts.h. A line is
 * `[@revoked|@cert-authority] patterns keytype base64-key [comment]`;
 * patterns are comma-separated names with * and ? wildcards, `!` negation,
 * "[host]:port" for other ports, or `|1|salt|hmac` (HMAC-SHA1 of the name
 * keyed with the salt, as HashKnownHosts writes). @cert-authority lines
 * are skipped (no host certificates here).
 */
#include "reconciler/source/knownhosts.h"

#include "core/str.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KH_MAX_FILE (4u * 1024u * 1024u)
#define KH_MAX_BLOB 4096

/* Decodes standard base64; -1 when it is not. */
static int b64(unsigned char *out, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0)
        return -1;
    for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
        len--;
    return len;
}

static bool hashed_match(const char *pat, size_t n, const char *name)
{
    /* |1|salt|hash */
    const char *bar = memchr(pat + 3, '|', n - 3);
    unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
    unsigned int glen = 0;
    if (!bar)
        return false;
    int slen = b64(salt, sizeof salt, pat + 3, (size_t)(bar - pat - 3));
    int wlen = b64(want, sizeof want, bar + 1, (size_t)(pat + n - bar - 1));
    if (slen <= 0 || wlen != 20)
        return false;
    if (!HMAC(EVP_sha1(), salt, slen, (const unsigned char *)name, strlen(name), got, &glen))
        return false;
    return glen == 20 && memcmp(got, want, 20) == 0;
}

/* OpenSSH's match_pattern: * and ? wildcards only (brackets are literal,
 * "[host]:port" is a name), case-insensitive. */
static bool wild_match(const char *pat, size_t n, const char *s)
{
    if (n == 0)
        return *s == '\0';
    if (*pat == '*') {
        for (;; s++) {
            if (wild_match(pat + 1, n - 1, s))
                return true;
            if (!*s)
                return false;
        }
    }
    if (!*s || (*pat != '?' && tolower((unsigned char)*pat) != tolower((unsigned char)*s)))
        return false;
    return wild_match(pat + 1, n - 1, s + 1);
}

/* Whether the comma-separated pattern list matches name. */
static bool hosts_match(const char *list, size_t n, const char *name)
{
    bool hit = false;
    while (n > 0) {
        const char *comma = memchr(list, ',', n);
        size_t len = comma ? (size_t)(comma - list) : n;
        if (len > 3 && strncmp(list, "|1|", 3) == 0) {
            if (hashed_match(list, len, name))
                hit = true;
        } else if (len > 0) {
            bool neg = list[0] == '!';
            if (wild_match(list + neg, len - neg, name)) {
                if (neg)
                    return false;
                hit = true;
            }
        }
        list += len + (comma ? 1 : 0);
        n -= len + (comma ? 1 : 0);
    }
    return hit;
}

/* The port of an ssh:// URL; 22 for scp-like and others. */
static int url_port(const char *url)
{
    if (!url || strncmp(url, "ssh://", 6) != 0)
        return 22;
    const char *h = url + 6, *slash = strchr(h, '/'), *at = strchr(h, '@');
    if (at && (!slash || at < slash))
        h = at + 1;
    if (*h == '[') /* [v6]:port */
        h = strchr(h, ']') ? strchr(h, ']') + 1 : h;
    const char *colon = strchr(h, ':');
    if (!colon || (slash && colon > slash))
        return 22;
    int64_t p = 0;
    char digits[8];
    snprintf(digits, sizeof digits, "%.*s", (int)(slash ? slash - colon - 1 : 6), colon + 1);
    return ks_str_to_i64(&p, digits, "port") == 0 && p > 0 && p < 65536 ? (int)p : 22;
}

/* 1 key listed, -1 name listed with another key (or revoked), 0 name not
 * listed; in one file's text. */
static int check_text(char *text, const char *name, const unsigned char *key, size_t klen)
{
    int verdict = 0;
    char *save = NULL;
    unsigned char blob[KH_MAX_BLOB];
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        int nf = 0;
        bool revoked = false;
        for (char *s = line; nf < 4 && *s;) {
            while (*s == ' ' || *s == '\t' || *s == '\r')
                *s++ = '\0';
            if (!*s || (*s == '#' && nf == 0))
                break;
            f[nf++] = s;
            while (*s && *s != ' ' && *s != '\t' && *s != '\r')
                s++;
        }
        if (nf > 0 && f[0][0] == '@') {
            if (strcmp(f[0], "@revoked") != 0)
                continue; /* @cert-authority: host certificates are not used */
            revoked = true;
            memmove(f, f + 1, sizeof(f[0]) * 3);
            nf--;
        }
        if (nf < 3 || !hosts_match(f[0], strlen(f[0]), name))
            continue;
        int blen = b64(blob, sizeof blob, f[2], strlen(f[2]));
        bool same = blen > 0 && (size_t)blen == klen && memcmp(blob, key, klen) == 0;
        if (revoked && same)
            return -1;
        if (!revoked && same) /* as ssh: one line with this key is enough */
            verdict = 1;
        else if (!revoked && verdict == 0)
            verdict = -1;
    }
    return verdict;
}

int ks_known_hosts_check(git_cert *cert, const char *host, const char *url)
{
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return GIT_PASSTHROUGH;
    const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
    char name[300], files[2][1024];
    int port = url_port(url), nfiles = 0, verdict = 0;
    const char *env = getenv("KEELSON_GIT_KNOWN_HOSTS"), *home = getenv("HOME");
    if (port == 22)
        snprintf(name, sizeof name, "%s", host ? host : "");
    else
        snprintf(name, sizeof name, "[%s]:%d", host ? host : "", port);
    if (env && *env) {
        snprintf(files[nfiles++], sizeof files[0], "%s", env);
    } else {
        if (home && *home)
            snprintf(files[nfiles++], sizeof files[0], "%s/.ssh/known_hosts", home);
        snprintf(files[nfiles++], sizeof files[0], "/etc/ssh/ssh_known_hosts");
    }
    if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey || hk->hostkey_len == 0) {
        git_error_set_str(GIT_ERROR_SSH,
                          "the SSH server's host key cannot be checked (no raw key)");
        return GIT_ECERTIFICATE;
    }
    for (int i = 0; i < nfiles && verdict == 0; i++) {
        char *text = NULL;
        if (ks_file_read(&text, NULL, files[i], KH_MAX_FILE) < 0)
            continue;
        verdict = check_text(text, name, (const unsigned char *)hk->hostkey, hk->hostkey_len);
        free(text);
    }
    if (verdict > 0)
        return 0;
    char msg[1400];
    if (verdict < 0)
        snprintf(msg, sizeof msg,
                 "the SSH host key of %s does not match the one in known_hosts (or is revoked): "
                 "refusing to connect",
                 name);
    else
        snprintf(msg, sizeof msg,
                 "the SSH host key of %s is not in %s%s%s; add it (ssh-keyscan%s%.0d %s >> "
                 "known_hosts) or point KEELSON_GIT_KNOWN_HOSTS at a file that lists it",
                 name, files[0], nfiles > 1 ? " or " : "", nfiles > 1 ? files[1] : "",
                 port == 22 ? "" : " -p ", port == 22 ? 0 : port, host ? host : "");
    git_error_set_str(GIT_ERROR_SSH, msg);
    return GIT_ECERTIFICATE;
}
