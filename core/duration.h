/*
 * duration.h: Go/Kubernetes-style durations ("30s", "5m", "1h30m", "250ms",
 * "1.5h"), used by --timeout, --interval and friends. Parsed into
 * milliseconds; errors name the offending text.
 */
#ifndef KS_CORE_DURATION_H
#define KS_CORE_DURATION_H

#include <stdint.h>

/* Units: ms, s, m, h (and "0" alone). Fractions allowed ("1.5h").
 * Negative durations and overflow are KS_EINVALID. */
int ks_duration_parse_ms(int64_t *out, const char *text);

/* Formats ms back into the shortest Go-like form ("1h30m", "45s", "250ms")
 * into dst of size cap; returns dst. */
char *ks_duration_format(char *dst, unsigned cap, int64_t ms);

#endif
