/*
 * base64.c: RFC 4648 base64 encoding and strict decoding (see base64.h).
 */
#include "core/base64.h"
#include "core/error.h"

#include <stdlib.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ks_base64_encode(char **out, const void *data, size_t n, bool url, bool pad)
{
    const char *abc = url ? url_alphabet : std_alphabet;
    const unsigned char *p = data;
    char *s = malloc((n + 2) / 3 * 4 + 1);
    if (!s)
        return ks_error_set(KS_ENOMEM, "out of memory");
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        s[o++] = abc[v >> 18];
        s[o++] = abc[(v >> 12) & 63];
        s[o++] = abc[(v >> 6) & 63];
        s[o++] = abc[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        s[o++] = abc[v >> 18];
        s[o++] = abc[(v >> 12) & 63];
        if (i + 1 < n)
            s[o++] = abc[(v >> 6) & 63];
        else if (pad)
            s[o++] = '=';
        if (pad)
            s[o++] = '=';
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

/* The 6-bit value of c in the chosen alphabet, or -1. */
static int sextet(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int ks_base64_decode(char **out, size_t *out_len, const char *s, size_t n, bool url)
{
    size_t body = n;
    while (body > 0 && s[body - 1] == '=' && n - body < 2)
        body--;
    if (body < n && (n % 4 != 0 || body % 4 + (n - body) != 4))
        return ks_error_set(KS_EINVALID, "not base64: padding does not fill the last group");
    if (body % 4 == 1)
        return ks_error_set(KS_EINVALID, "not base64: length %zu", n);
    char *buf = malloc(body / 4 * 3 + 3);
    if (!buf)
        return ks_error_set(KS_ENOMEM, "out of memory");
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < body; i++) {
        int v = sextet((unsigned char)s[i], url);
        if (v < 0) {
            free(buf);
            return ks_error_set(KS_EINVALID, "not base64: byte %zu", i);
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}
