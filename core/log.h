/*
 * log.h: leveled logging to stderr for the binaries, as logfmt lines
 * (`ts=... level=info msg="..." key=value`) or JSON lines, chosen once at
 * start-up (--log-format). Libraries do not log; daemons and CLIs do, once,
 * where they handle an error.
 */
#ifndef KS_CORE_LOG_H
#define KS_CORE_LOG_H

#include <stdio.h>

enum ks_log_level { KS_LOG_DEBUG = 0, KS_LOG_INFO, KS_LOG_WARN, KS_LOG_ERROR };
enum ks_log_format { KS_LOG_LOGFMT = 0, KS_LOG_JSON };

/* Process-wide configuration; call before any threads log. */
void ks_log_configure(enum ks_log_level min_level, enum ks_log_format format, FILE *sink);

/* Parses "debug|info|warn|error" / "logfmt|json"; 0 or KS_EINVALID. */
int ks_log_level_parse(enum ks_log_level *out, const char *s);
int ks_log_format_parse(enum ks_log_format *out, const char *s);

/*
 * Logs msg with optional key/value pairs: a NULL-terminated list of
 * (const char *key, const char *value) pairs, e.g.
 *   ks_log(KS_LOG_INFO, "sync done", "commit", sha, "result", "ok", NULL);
 * Thread-safe: one write(2)-sized line per call.
 */
void ks_log(enum ks_log_level level, const char *msg, ...);

#endif
