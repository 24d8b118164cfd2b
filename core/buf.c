/*
 * buf.c: implementation of the capped growable buffer (see buf.h).
 * Growth doubles, so appends are amortised O(1).
 */
#include "core/buf.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ks_buf_init(struct ks_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->error = 0;
}

void ks_buf_release(struct ks_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
}

void ks_buf_reset(struct ks_buf *b)
{
    b->len = 0;
    b->error = 0;
    if (b->data)
        b->data[0] = '\0';
}

int ks_buf_grow(struct ks_buf *b, size_t extra)
{
    if (b->error)
        return b->error;
    if (b->limit && (extra > b->limit || b->len > b->limit - extra)) {
        b->error = KS_ELIMIT;
        return ks_error_set(KS_ELIMIT, "buffer limit of %zu bytes exceeded", b->limit);
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->error = KS_ENOMEM;
        return ks_error_set(KS_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int ks_buf_put(struct ks_buf *b, const void *data, size_t len)
{
    if (b->error == 0 && len < b->cap - b->len && (!b->limit || len <= b->limit - b->len)) {
        /* room already (the common case: no call to ks_buf_grow) */
        if (len)
            memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    int rc = ks_buf_grow(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int ks_buf_puts(struct ks_buf *b, const char *s)
{
    return ks_buf_put(b, s, strlen(s));
}

int ks_buf_putc(struct ks_buf *b, char c)
{
    return ks_buf_put(b, &c, 1);
}

int ks_buf_vprintf(struct ks_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return ks_error_set(KS_EINVALID, "bad format string");
    int rc = ks_buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ks_buf_printf(struct ks_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ks_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int ks_buf_put_escaped(struct ks_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': ks_buf_puts(b, "\\\""); break;
        case '\\': ks_buf_puts(b, "\\\\"); break;
        case '\n': ks_buf_puts(b, "\\n"); break;
        case '\r': ks_buf_puts(b, "\\r"); break;
        case '\t': ks_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                ks_buf_printf(b, "\\u%04x", *p);
            else
                ks_buf_putc(b, (char)*p);
        }
    }
    return b->error;
}

const char *ks_buf_data(const struct ks_buf *b)
{
    return b->data ? b->data : "";
}

size_t ks_buf_len(const struct ks_buf *b)
{
    return b->len;
}

int ks_buf_error(const struct ks_buf *b)
{
    return b->error;
}

char *ks_buf_detach(struct ks_buf *b, size_t *len_out)
{
    if (b->error)
        return NULL;
    if (!b->data) {
        if (ks_buf_grow(b, 0))
            return NULL;
        b->data[0] = '\0';
    }
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
