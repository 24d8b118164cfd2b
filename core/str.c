/*
 * str.c: implementation of the string and file helpers in str.h.
 */
#include "core/str.h"
#include "core/buf.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *ks_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ks_strdupf(const char *fmt, ...)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    ks_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ks_buf_detach(&b, NULL);
}

bool ks_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ks_str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int ks_str_to_i64(int64_t *out, const char *s, const char *what)
{
    char *end = NULL;
    if (!*s || *s == ' ' || *s == '\t')
        return ks_error_set(KS_EINVALID, "%s: \"%s\" is not an integer", what, s);
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return ks_error_set(KS_EINVALID, "%s: \"%s\" is out of range", what, s);
    if (*end)
        return ks_error_set(KS_EINVALID, "%s: \"%s\" is not an integer", what, s);
    *out = v;
    return 0;
}

int ks_file_read(char **out, size_t *out_len, const char *path, size_t limit)
{
    int rc = 0;
    struct ks_buf b;
    ks_buf_init(&b, limit);
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = ks_error_set(errno == ENOENT ? KS_ENOTFOUND : KS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (ks_buf_put(&b, chunk, n)) {
            rc = ks_error_set(ks_buf_error(&b), "%s: file is larger than the limit of %zu bytes",
                              path, limit);
            goto done;
        }
    }
    if (ferror(f)) {
        rc = ks_error_set(KS_EIO, "%s: read failed", path);
        goto done;
    }
    *out = ks_buf_detach(&b, out_len);
    if (!*out)
        rc = ks_error_set(KS_ENOMEM, "%s: out of memory", path);
done:
    if (f)
        fclose(f);
    ks_buf_release(&b);
    return rc;
}

int ks_mkdir_p(const char *path, unsigned mode)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp)
        return ks_error_set(KS_EINVALID, "bad directory path \"%s\"", path);
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) && errno != EEXIST)
            return ks_error_set(KS_EIO, "cannot create %s: %s", tmp, strerror(errno));
        if (!(*p = c))
            break;
    }
    return 0;
}
