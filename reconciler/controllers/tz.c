/*
 * tz.c: time zones for CronJob.spec.timeZone, read from TZif files
 * (RFC 8536) under /usr/share/zoneinfo by this code, not through
 * setenv("TZ") + localtime_r: changing the environment of a threaded
 * process races with every getenv (libcurl, the logger), and reading the
 * file is a small, deterministic amount of work. The version 2+ (64-bit)
 * data block is used: transition instants and the UTC offset of each; for
 * instants after the last transition the POSIX TZ rule in the file's
 * footer ("CET-1CEST,M3.5.0,M10.5.0/3") is evaluated; only its Mm.w.d
 * rule form is understood (what tzdata writes for every zone with DST
 * today); a footer without a usable rule keeps the last offset.
 */
#include "reconciler/controllers/cron.h"

#include "core/error.h"
#include "core/str.h"
#include "reconciler/controllers/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule_date {
    int month, week, wday; /* Mm.w.d */
    int32_t secs;          /* local time of the change, seconds */
};

struct ks_tz {
    size_t n;
    int64_t *times;   /* transition instants, ascending */
    int32_t *offsets; /* offset in effect from times[i] */
    int32_t first;    /* before the first transition */
    bool has_rule;
    int32_t std_off, dst_off;
    struct rule_date start, end;
};

void ks_tz_free(struct ks_tz *tz)
{
    if (!tz)
        return;
    free(tz->times);
    free(tz->offsets);
    free(tz);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* [+-]hh[:mm[:ss]] at *p; seconds. */
static bool posix_time(int32_t *out, const char **p)
{
    int sign = 1;
    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    int32_t parts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)**p))
            return false;
        while (isdigit((unsigned char)**p) && parts[i] < 1000)
            parts[i] = parts[i] * 10 + (*(*p)++ - '0');
        if (**p != ':')
            break;
        (*p)++;
    }
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return true;
}

static bool posix_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (!e)
            return false;
        *p = e + 1;
        return true;
    }
    while (isalpha((unsigned char)**p))
        (*p)++;
    return *p - s >= 3;
}

static bool posix_date(struct rule_date *out, const char **p)
{
    if (**p != 'M')
        return false; /* Jn and n forms: not understood */
    (*p)++;
    int v[3];
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)**p))
            return false;
        v[i] = 0;
        while (isdigit((unsigned char)**p) && v[i] < 100)
            v[i] = v[i] * 10 + (*(*p)++ - '0');
        if (i < 2 && *(*p)++ != '.')
            return false;
    }
    if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
        return false;
    out->month = v[0];
    out->week = v[1];
    out->wday = v[2];
    out->secs = 7200;
    if (**p == '/') {
        (*p)++;
        if (!posix_time(&out->secs, p))
            return false;
    }
    return true;
}

/* "STDoff[DST[off],start,end]"; POSIX offsets count west of UTC. */
static void parse_rule(struct ks_tz *tz, const char *s)
{
    int32_t off;
    if (!posix_name(&s) || !posix_time(&off, &s))
        return;
    tz->std_off = -off;
    if (!*s)
        return; /* no DST: the last transition's offset stays right */
    if (!posix_name(&s))
        return;
    tz->dst_off = tz->std_off + 3600;
    if (*s != ',') {
        if (!posix_time(&off, &s))
            return;
        tz->dst_off = -off;
    }
    if (*s++ != ',' || !posix_date(&tz->start, &s) || *s++ != ',' || !posix_date(&tz->end, &s) ||
        *s)
        return;
    tz->has_rule = true;
}

/* Local midnight (as Unix seconds of the local epoch) of the rule date in year y. */
static int64_t rule_day(const struct rule_date *r, int y)
{
    int64_t first = ks_ctl_days_from_civil(y, r->month, 1);
    int wd1 = (int)(((first % 7) + 11) % 7);
    int64_t day = 1 + (r->wday - wd1 + 7) % 7 + (r->week - 1) * 7;
    int64_t dim = ks_ctl_days_from_civil(r->month == 12 ? y + 1 : y, r->month % 12 + 1, 1) - first;
    while (day > dim)
        day -= 7;
    return (first + day - 1) * 86400;
}

static int32_t rule_offset(const struct ks_tz *tz, int64_t t)
{
    int64_t local = t + tz->std_off;
    int y, m, d;
    ks_ctl_civil_from_days((local >= 0 ? local : local - 86399) / 86400, &y, &m, &d);
    int64_t start = rule_day(&tz->start, y) + tz->start.secs - tz->std_off;
    int64_t end = rule_day(&tz->end, y) + tz->end.secs - tz->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? tz->dst_off : tz->std_off;
}

int32_t ks_tz_offset(const struct ks_tz *tz, int64_t t)
{
    if (!tz)
        return 0;
    if (tz->n == 0 || t < tz->times[0])
        return tz->n == 0 && tz->has_rule ? rule_offset(tz, t) : tz->first;
    if (t >= tz->times[tz->n - 1] && tz->has_rule)
        return rule_offset(tz, t);
    size_t lo = 0, hi = tz->n; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offsets[lo];
}

static bool name_ok(const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 128)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return false;
    return true;
}

static int parse_file(struct ks_tz *tz, const unsigned char *d, size_t len, const char *name)
{
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if ((size_t)(n) > len - pos)                                                               \
            return ks_error_set(KS_EINVALID, "time zone %s: truncated TZif file", name);           \
    } while (0)
    size_t pos = 0;
    NEED(44);
    if (memcmp(d, "TZif", 4))
        return ks_error_set(KS_EINVALID, "time zone %s: not a TZif file", name);
    int version = d[4];
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = be32(d + 20 + 4 * i); /* isut, isstd, leap, time, type, char */
    size_t tsize = 4;
    pos = 44;
    if (version >= '2') {
        size_t v1 = (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
        NEED(v1 + 44);
        pos += v1;
        if (memcmp(d + pos, "TZif", 4))
            return ks_error_set(KS_EINVALID, "time zone %s: bad second header", name);
        for (int i = 0; i < 6; i++)
            c[i] = be32(d + pos + 20 + 4 * i);
        pos += 44;
        tsize = 8;
    }
    if (c[4] == 0 || c[4] > 256 || c[3] > 100000)
        return ks_error_set(KS_EINVALID, "time zone %s: bad counts", name);
    NEED((size_t)c[3] * (tsize + 1) + (size_t)c[4] * 6);
    const unsigned char *times = d + pos, *idx = times + (size_t)c[3] * tsize;
    const unsigned char *types = idx + c[3];
    tz->n = c[3];
    tz->times = calloc(tz->n + 1, sizeof *tz->times);
    tz->offsets = calloc(tz->n + 1, sizeof *tz->offsets);
    if (!tz->times || !tz->offsets)
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < tz->n; i++) {
        if (idx[i] >= c[4])
            return ks_error_set(KS_EINVALID, "time zone %s: bad type index", name);
        tz->times[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        tz->offsets[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    tz->first = (int32_t)be32(types);
    pos += (size_t)c[3] * (tsize + 1) + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * (tsize + 4) +
           c[1] + c[0];
    if (version >= '2' && pos < len && d[pos] == '\n') {
        const unsigned char *nl = memchr(d + pos + 1, '\n', len - pos - 1);
        if (nl && nl - (d + pos) < 128) {
            char footer[128];
            snprintf(footer, sizeof footer, "%.*s", (int)(nl - (d + pos) - 1), d + pos + 1);
            parse_rule(tz, footer);
        }
    }
    return 0;
#undef NEED
}

int ks_tz_load(struct ks_tz **out, const char *dir, const char *name)
{
    if (!name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
        *out = NULL;
        return 0;
    }
    if (!name_ok(name))
        return ks_error_set(KS_EINVALID, "time zone \"%.64s\": not a zone name", name);
    char *path = ks_strdupf("%s/%s", dir ? dir : "/usr/share/zoneinfo", name), *data = NULL;
    size_t len = 0;
    struct ks_tz *tz = calloc(1, sizeof *tz);
    int rc = !path || !tz ? ks_error_set(KS_ENOMEM, "out of memory") : 0;
    if (!rc && (rc = ks_file_read(&data, &len, path, KS_TZ_MAX_FILE)))
        rc = rc == KS_ENOTFOUND ? ks_error_set(KS_ENOTFOUND, "time zone \"%s\": unknown", name)
                                : ks_error_wrap(rc, "time zone \"%s\"", name);
    if (!rc)
        rc = parse_file(tz, (const unsigned char *)data, len, name);
    free(path);
    free(data);
    if (rc) {
        ks_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}
