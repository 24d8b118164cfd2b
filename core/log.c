/*
 * log.c: logfmt / JSON-lines writer. Each record is formatted into one
 * buffer and written with a single fwrite under the stdio lock so lines from
 * several threads never interleave.
 */
#include "core/log.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static enum ks_log_level log_min = KS_LOG_INFO;
static enum ks_log_format log_format = KS_LOG_LOGFMT;
static FILE *log_sink;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ks_log_configure(enum ks_log_level min_level, enum ks_log_format format, FILE *sink)
{
    log_min = min_level;
    log_format = format;
    log_sink = sink;
}

int ks_log_level_parse(enum ks_log_level *out, const char *s)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum ks_log_level)i;
            return 0;
        }
    }
    return ks_error_set(KS_EINVALID, "unknown log level \"%s\" (want debug, info, warn or error)",
                        s);
}

int ks_log_format_parse(enum ks_log_format *out, const char *s)
{
    if (strcmp(s, "logfmt") == 0)
        *out = KS_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = KS_LOG_JSON;
    else
        return ks_error_set(KS_EINVALID, "unknown log format \"%s\" (want logfmt or json)", s);
    return 0;
}

static int needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
            return 1;
    return 0;
}

static void append_value(struct ks_buf *b, const char *v, int force_quotes)
{
    if (!force_quotes && !needs_quotes(v)) {
        ks_buf_puts(b, v);
        return;
    }
    ks_buf_putc(b, '"');
    ks_buf_put_escaped(b, v);
    ks_buf_putc(b, '"');
}

static void append_pair(struct ks_buf *b, const char *key, const char *value, int first)
{
    if (log_format == KS_LOG_JSON) {
        ks_buf_puts(b, first ? "{" : ",");
        append_value(b, key, 1);
        ks_buf_putc(b, ':');
        append_value(b, value, 1);
    } else {
        if (!first)
            ks_buf_putc(b, ' ');
        ks_buf_puts(b, key);
        ks_buf_putc(b, '=');
        append_value(b, value, 0);
    }
}

void ks_log(enum ks_log_level level, const char *msg, ...)
{
    if (level < log_min)
        return;
    FILE *sink = log_sink ? log_sink : stderr;
    struct ks_buf b;
    ks_buf_init(&b, 64 * 1024);

    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

    append_pair(&b, "ts", ts, 1);
    append_pair(&b, "level", level_names[level], 0);
    append_pair(&b, "msg", msg, 0);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        append_pair(&b, key, value ? value : "", 0);
    }
    va_end(ap);
    if (log_format == KS_LOG_JSON)
        ks_buf_putc(&b, '}');
    ks_buf_putc(&b, '\n');

    flockfile(sink);
    fwrite(ks_buf_data(&b), 1, ks_buf_len(&b), sink);
    fflush(sink);
    funlockfile(sink);
    ks_buf_release(&b);
}
