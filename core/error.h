/*
 * error.h: keelson's error convention (DESIGN.md §7).
 *
 * Functions return 0 on success or a negative KS_E* code. The human-readable
 * cause lives in a thread-local message set with ks_error_set(); when the
 * fault is in user input the message carries "file:line:column: " in front,
 * so the binary that finally handles the error can print it once, as is.
 * Libraries never print.
 */
#ifndef KS_CORE_ERROR_H
#define KS_CORE_ERROR_H

#include <stddef.h>

enum ks_error_code {
    KS_OK = 0,
    KS_ERROR = -1,     /* generic failure, see message */
    KS_ENOMEM = -2,    /* allocation failed */
    KS_EINVALID = -3,  /* input is malformed */
    KS_ENOTFOUND = -4, /* the named thing does not exist */
    KS_ECONFLICT = -5, /* concurrent change / duplicate / expected revision mismatch */
    KS_ELIMIT = -6,    /* a configured limit was exceeded (message names it) */
    KS_EIO = -7,       /* operating system or network I/O failed */
    KS_ETIMEOUT = -8,  /* an operation ran out of time */
    KS_EGONE = -9,     /* a watch position is no longer kept: list again (HTTP 410) */
};

/* Position of a fault in user input. line/column are 1-based; 0 = unknown. */
struct ks_pos {
    const char *file; /* borrowed; may be NULL */
    int line;
    int column;
};

/* Sets the thread's message from a printf format; returns code for chaining:
 * `return ks_error_set(KS_EINVALID, "bad %s", x);` */
int ks_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, prefixed with "file:line:column: " (parts that are unknown are left out). */
int ks_error_set_at(int code, const struct ks_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the current message, keeping its code; returns code. */
int ks_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The thread's last message (never NULL; "" when none). Valid until the next set. */
const char *ks_error_last(void);

/* The code given to the last ks_error_set*, or KS_OK. */
int ks_error_last_code(void);

void ks_error_clear(void);

/* Short name of an error code ("invalid input", "limit exceeded", ...). */
const char *ks_error_name(int code);

#endif
