/*
 * error.c: thread-local error message storage for the ks_error_* API.
 * A fixed buffer per thread: setting an error never allocates, so it works
 * on the out-of-memory path too. Messages longer than the buffer are cut.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KS_ERROR_MSG_MAX 2048

static _Thread_local char error_msg[KS_ERROR_MSG_MAX];
static _Thread_local int error_code;

/* Formats into dst through a scratch buffer, so arguments may point into
 * the current message (e.g. ks_error_set(rc, "x: %s", ks_error_last())). */
static void format_into(char *dst, size_t cap, const char *fmt, va_list ap)
{
    char scratch[KS_ERROR_MSG_MAX];
    int n = vsnprintf(scratch, sizeof scratch, fmt, ap);
    if (n < 0)
        scratch[0] = '\0';
    size_t len = strnlen(scratch, sizeof scratch - 1);
    if (len >= cap)
        len = cap - 1;
    memmove(dst, scratch, len);
    dst[len] = '\0';
}

int ks_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_into(error_msg, sizeof(error_msg), fmt, ap);
    va_end(ap);
    error_code = code;
    return code;
}

int ks_error_set_at(int code, const struct ks_pos *pos, const char *fmt, ...)
{
    char message[KS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_into(message, sizeof message, fmt, ap);
    va_end(ap);
    size_t used = 0;
    if (pos && pos->file)
        used += (size_t)snprintf(error_msg, sizeof(error_msg), "%s:", pos->file);
    if (pos && pos->line > 0 && used < sizeof(error_msg))
        used += (size_t)snprintf(error_msg + used, sizeof(error_msg) - used, "%d:", pos->line);
    if (pos && pos->line > 0 && pos->column > 0 && used < sizeof(error_msg))
        used += (size_t)snprintf(error_msg + used, sizeof(error_msg) - used, "%d:", pos->column);
    if (used > 0 && used + 1 < sizeof(error_msg))
        error_msg[used++] = ' ';
    if (used >= sizeof(error_msg))
        used = sizeof(error_msg) - 1;
    snprintf(error_msg + used, sizeof(error_msg) - used, "%s", message);
    error_code = code;
    return code;
}

int ks_error_wrap(int code, const char *fmt, ...)
{
    char prefix[512];
    char old[KS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    format_into(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, error_msg, sizeof(old));
    if (old[0])
        snprintf(error_msg, sizeof(error_msg), "%s: %s", prefix, old);
    else
        snprintf(error_msg, sizeof(error_msg), "%s", prefix);
    error_code = code;
    return code;
}

const char *ks_error_last(void)
{
    return error_msg;
}

int ks_error_last_code(void)
{
    return error_code;
}

void ks_error_clear(void)
{
    error_msg[0] = '\0';
    error_code = KS_OK;
}

const char *ks_error_name(int code)
{
    switch (code) {
    case KS_OK:
        return "ok";
    case KS_ENOMEM:
        return "out of memory";
    case KS_EINVALID:
        return "invalid input";
    case KS_ENOTFOUND:
        return "not found";
    case KS_ECONFLICT:
        return "conflict";
    case KS_ELIMIT:
        return "limit exceeded";
    case KS_EIO:
        return "I/O error";
    case KS_ETIMEOUT:
        return "timed out";
    case KS_EGONE:
        return "gone";
    default:
        return "error";
    }
}
