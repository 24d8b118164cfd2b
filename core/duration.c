/*
 * duration.c: parser/formatter for Go-style durations (see duration.h).
 * A sequence of <number><unit> terms summed; fractions are kept exact to the
 * millisecond by scaling the fraction digits by the unit.
 */
#include "core/duration.h"
#include "core/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int unit_ms(int64_t *out, const char **p)
{
    const char *s = *p;
    if (s[0] == 'm' && s[1] == 's') {
        *out = 1;
        *p = s + 2;
    } else if (s[0] == 's') {
        *out = 1000;
        *p = s + 1;
    } else if (s[0] == 'm') {
        *out = 60 * 1000;
        *p = s + 1;
    } else if (s[0] == 'h') {
        *out = 3600 * 1000;
        *p = s + 1;
    } else {
        return -1;
    }
    return 0;
}

int ks_duration_parse_ms(int64_t *out, const char *text)
{
    const char *p = text;
    int64_t total = 0;
    if (strcmp(text, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*p)
        return ks_error_set(KS_EINVALID, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            goto bad;
        int64_t whole = 0, frac = 0, frac_scale = 1;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (whole > (INT64_MAX - 9) / 10)
                goto overflow;
            whole = whole * 10 + (*p++ - '0');
            digits++;
        }
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p)) {
                if (frac_scale < 1000000000) {
                    frac = frac * 10 + (*p - '0');
                    frac_scale *= 10;
                }
                p++;
                digits++;
            }
        }
        if (!digits)
            goto bad;
        int64_t unit;
        if (unit_ms(&unit, &p))
            return ks_error_set(KS_EINVALID,
                                "duration \"%s\": missing or unknown unit (use ms, s, m or h)",
                                text);
        if (whole > INT64_MAX / unit)
            goto overflow;
        int64_t term = whole * unit + frac * unit / frac_scale;
        if (total > INT64_MAX - term)
            goto overflow;
        total += term;
    }
    *out = total;
    return 0;
bad:
    return ks_error_set(KS_EINVALID, "duration \"%s\" is not valid (examples: 30s, 5m, 1h30m)",
                        text);
overflow:
    return ks_error_set(KS_EINVALID, "duration \"%s\" is too large", text);
}

char *ks_duration_format(char *dst, unsigned cap, int64_t ms)
{
    size_t used = 0;
    if (cap == 0)
        return dst;
    dst[0] = '\0';
    if (ms == 0) {
        snprintf(dst, cap, "0s");
        return dst;
    }
    if (ms < 1000) {
        snprintf(dst, cap, "%lldms", (long long)ms);
        return dst;
    }
    int64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, rest = ms % 1000;
    if (h && used < cap)
        used += (size_t)snprintf(dst + used, cap - used, "%lldh", (long long)h);
    if (m && used < cap)
        used += (size_t)snprintf(dst + used, cap - used, "%lldm", (long long)m);
    if ((s || rest) && used < cap) {
        if (rest)
            snprintf(dst + used, cap - used, "%lld.%03llds", (long long)s, (long long)rest);
        else
            snprintf(dst + used, cap - used, "%llds", (long long)s);
    }
    return dst;
}
