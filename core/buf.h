/*
 * buf.h: a growable byte buffer with a hard size cap.
 *
 * Everything fed from outside (HTTP bodies, rendered templates, Podman
 * responses) is accumulated in a ks_buf so that a single cap decides when to
 * stop. Once an append would pass the cap the buffer enters a sticky error
 * state: further appends are ignored and ks_buf_error() reports KS_ELIMIT
 * (or KS_ENOMEM), so callers can append freely and check once at the end.
 * The data is always NUL-terminated (the terminator is not counted in len).
 */
#ifndef KS_CORE_BUF_H
#define KS_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ks_buf {
    char *data;
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* maximum len; 0 = no limit */
    int error;    /* 0, KS_ELIMIT or KS_ENOMEM; sticky */
};

/* limit 0 means unlimited. Does not allocate. */
void ks_buf_init(struct ks_buf *b, size_t limit);
/* Frees the storage; the buffer may be re-initialised. NULL-safe. */
void ks_buf_release(struct ks_buf *b);
/* Empties the buffer (keeps storage and limit, clears the error). */
void ks_buf_reset(struct ks_buf *b);

int ks_buf_put(struct ks_buf *b, const void *data, size_t len);
int ks_buf_puts(struct ks_buf *b, const char *s);
int ks_buf_putc(struct ks_buf *b, char c);
int ks_buf_printf(struct ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ks_buf_vprintf(struct ks_buf *b, const char *fmt, va_list ap);
/* Appends s with JSON string escaping (no surrounding quotes). */
int ks_buf_put_escaped(struct ks_buf *b, const char *s);

/* Ensures room for extra more bytes; returns 0 or the sticky error. */
int ks_buf_grow(struct ks_buf *b, size_t extra);

/* "" when empty; never NULL. Borrowed; valid until the next append. */
const char *ks_buf_data(const struct ks_buf *b);
size_t ks_buf_len(const struct ks_buf *b);
/* 0, KS_ELIMIT or KS_ENOMEM. The message is set when the error first happens. */
int ks_buf_error(const struct ks_buf *b);

/* Hands the NUL-terminated storage to the caller (free() it) and empties b.
 * Returns NULL if the buffer is in error state. */
char *ks_buf_detach(struct ks_buf *b, size_t *len_out);

#endif
