/*
 * tar.c: a small, strict reader for chart archives (helm package writes
 * gzip-compressed ustar; other tools add GNU long names or pax headers).
 *
 * Supported: ustar/v7 headers with the ustar prefix field, GNU 'L' long
 * names, pax 'x' headers' "path" record ('g' global headers are skipped).
 * Only regular files are kept ('0' and NUL type); directories, links and
 * devices are skipped as helm does. Every header checksum is verified;
 * absolute paths and ".." components are rejected; sizes and entry counts
 * are bounded by the chart limits. ks_chart_load_archive strips the
 * archive's top-level folder (helm's LoadArchiveFiles) and loads the chart.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/chart/chart.h"

#define BLOCK 512u
#define MAX_NAME 4096u

static int octal(size_t *out, const unsigned char *f, size_t n)
{
    size_t v = 0;
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == '\0'))
        i++;
    if (i < n && (f[i] & 0x80))
        return KS_EINVALID; /* base-256 sizes are far beyond any limit */
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (SIZE_MAX >> 3))
            return KS_EINVALID;
        v = v * 8 + (size_t)(f[i] - '0');
    }
    *out = v;
    return 0;
}

static bool checksum_ok(const unsigned char *h)
{
    size_t want;
    if (octal(&want, h + 148, 8) < 0)
        return false;
    size_t sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static bool all_zero(const unsigned char *h)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (h[i])
            return false;
    return true;
}

static bool path_safe(const char *p)
{
    if (p[0] == '/' || p[0] == '\0')
        return false;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        if (!e)
            break;
        s = e + 1;
    }
    return strchr(p, '\\') == NULL;
}

/* Finds "path=" in a pax extended header body. */
static int pax_path(char *name, const unsigned char *body, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t reclen = 0, k = i;
        while (k < len && body[k] >= '0' && body[k] <= '9') {
            reclen = reclen * 10 + (size_t)(body[k] - '0');
            if (reclen > len)
                return KS_EINVALID;
            k++;
        }
        if (k >= len || body[k] != ' ' || reclen == 0 || i + reclen > len)
            return KS_EINVALID;
        const unsigned char *kv = body + k + 1;
        size_t kvlen = i + reclen - (k + 1);
        if (kvlen >= 6 && memcmp(kv, "path=", 5) == 0) {
            size_t vl = kvlen - 5 - 1; /* drop the trailing newline */
            if (vl >= MAX_NAME)
                return KS_ELIMIT;
            memcpy(name, kv + 5, vl);
            name[vl] = '\0';
        }
        i += reclen;
    }
    return 0;
}

int ks_tar_read(struct ks_chart_files *files, const unsigned char *data, size_t len,
                const char *where, struct ks_chart_limits *lim)
{
    char long_name[MAX_NAME] = "";
    size_t off = 0;
    while (off + BLOCK <= len) {
        const unsigned char *h = data + off;
        if (all_zero(h))
            return 0;
        if (!checksum_ok(h))
            return ks_error_set(KS_EINVALID, "%s: corrupt tar header at offset %zu", where, off);
        size_t size;
        if (octal(&size, h + 124, 12) < 0 || size > len - off - BLOCK)
            return ks_error_set(KS_EINVALID, "%s: truncated tar entry at offset %zu", where, off);
        const unsigned char *body = h + BLOCK;
        size_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;
        char type = (char)h[156];
        off += BLOCK + padded;
        if (off > len)
            off = len;
        if (type == 'L') {
            if (size >= MAX_NAME)
                return ks_error_set(KS_ELIMIT, "%s: tar entry name longer than %u bytes", where,
                                    MAX_NAME);
            memcpy(long_name, body, size);
            long_name[size] = '\0';
            continue;
        }
        if (type == 'x') {
            if (pax_path(long_name, body, size) < 0)
                return ks_error_set(KS_EINVALID, "%s: bad pax header", where);
            continue;
        }
        if (type == 'g')
            continue;
        char name[MAX_NAME];
        if (long_name[0]) {
            memcpy(name, long_name, strlen(long_name) + 1);
            long_name[0] = '\0';
        } else {
            char base[101], prefix[156];
            memcpy(base, h, 100);
            base[100] = '\0';
            memcpy(prefix, h + 345, 155);
            prefix[155] = '\0';
            if (memcmp(h + 257, "ustar", 5) == 0 && prefix[0])
                snprintf(name, sizeof(name), "%s/%s", prefix, base);
            else
                snprintf(name, sizeof(name), "%s", base);
        }
        if (type != '0' && type != '\0' && type != '7')
            continue;
        if (!path_safe(name))
            return ks_error_set(KS_EINVALID, "%s: tar entry \"%s\" escapes the chart", where, name);
        if (++lim->used_files > lim->max_files)
            return ks_error_set(KS_ELIMIT, "%s: chart has more files than the limit of %u", where,
                                lim->max_files);
        if (size > lim->max_bytes - lim->used_bytes)
            return ks_error_set(KS_ELIMIT, "%s: chart is larger than the limit of %zu bytes", where,
                                lim->max_bytes);
        lim->used_bytes += size;
        char *copy = strdup(name);
        char *bytes = malloc(size + 1);
        if (!copy || !bytes || ks_chart_files_push(files, copy, bytes, size) < 0) {
            free(copy);
            free(bytes);
            return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
        }
        memcpy(bytes, body, size);
        bytes[size] = '\0';
    }
    return 0;
}

int ks_chart_load_archive(struct ks_chart **out, const char *data, size_t len, const char *where,
                          struct ks_chart_limits *lim, unsigned depth)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    struct ks_chart_files entries = {0}, files = {0};
    int rc = 0;
    const unsigned char *u = (const unsigned char *)data;
    if (len >= 2 && u[0] == 0x1f && u[1] == 0x8b) {
        rc = ks_gunzip(&raw, &raw_len, u, len, lim->max_bytes, where);
        if (rc < 0)
            goto done;
        u = raw;
        len = raw_len;
    }
    rc = ks_tar_read(&entries, u, len, where, lim);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < entries.n; i++) {
        struct ks_chart_file *f = &entries.v[i];
        /* helm: the first path component is the chart's folder */
        const char *slash = strchr(f->name, '/');
        if (!slash || slash[1] == '\0')
            continue;
        char *n = strdup(slash + 1);
        if (!n || ks_chart_files_push(&files, n, f->data, f->len) < 0) {
            free(n);
            rc = ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
            goto done;
        }
        f->data = NULL;
        const char *d = files.v[files.n - 1].data;
        size_t dl = files.v[files.n - 1].len;
        if (dl >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0) {
            memmove(files.v[files.n - 1].data, d + 3, dl - 3 + 1);
            files.v[files.n - 1].len -= 3;
        }
    }
    if (files.n == 0) {
        rc = ks_error_set(KS_EINVALID, "%s: no files in chart archive", where);
        goto done;
    }
    rc = ks_chart_from_files(out, &files, where, lim, depth);
done:
    free(raw);
    ks_chart_files_release(&entries);
    ks_chart_files_release(&files);
    return rc;
}
