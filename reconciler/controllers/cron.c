/*
 * cron.c: the CronJob schedule parser and next-run computation (see
 * cron.h for the syntax). Fields become bit sets, as robfig/cron does.
 * The next run is found by walking local calendar days (at most
 * KS_CRON_SEARCH_YEARS of them) and, on the first day that has a matching
 * time after the given instant, mapping each matching local time to an
 * instant through the zone's offsets; the earliest wins, so DST gaps and
 * repeats cannot reorder runs.
 */
#include "reconciler/controllers/cron.h"

#include "core/error.h"
#include "reconciler/controllers/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field {
    const char *what;
    int min, max;
    const char *const *names; /* names[i] is the value min + i */
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},  {"hour", 0, 23, NULL},       {"day of month", 1, 31, NULL},
    {"month", 1, 12, months}, {"day of week", 0, 7, days}, /* 7: Sunday again, folded into 0 */
};

/* A number or (for month/day of week) a name; -1 when neither. */
static int value_of(const struct field *f, const char *s, size_t n)
{
    if (n == 0 || n > 9)
        return -1;
    if (isdigit((unsigned char)s[0])) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return -1;
            v = v * 10 + (s[i] - '0');
        }
        return v;
    }
    if (!f->names || n != 3)
        return -1;
    int count = f->names == months ? 12 : 7;
    for (int i = 0; i < count; i++)
        if (!strncasecmp(s, f->names[i], 3))
            return f->min + i;
    return -1;
}

/* One comma-separated part of a field into *bits. */
static int part(uint64_t *bits, bool *star, const struct field *f, const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    size_t rn = slash ? (size_t)(slash - s) : n;
    int lo, hi, step = 1;
    bool is_star = false;
    if (slash) {
        size_t sn = n - rn - 1;
        step = 0;
        for (size_t i = 0; i < sn; i++) {
            if (!isdigit((unsigned char)slash[1 + i]) || step > 1000)
                goto bad;
            step = step * 10 + (slash[1 + i] - '0');
        }
        if (sn == 0 || step == 0)
            goto bad;
    }
    if (rn == 1 && (s[0] == '*' || s[0] == '?')) {
        lo = f->min;
        hi = f->names == days ? 6 : f->max;
        is_star = step == 1;
    } else {
        const char *dash = memchr(s, '-', rn);
        if (dash) {
            lo = value_of(f, s, (size_t)(dash - s));
            hi = value_of(f, dash + 1, rn - (size_t)(dash - s) - 1);
        } else {
            lo = value_of(f, s, rn);
            hi = slash ? (f->names == days ? 6 : f->max) : lo; /* "a/n": a to the end */
        }
        if (lo < 0 || hi < 0)
            goto bad;
    }
    if (lo < f->min || hi > f->max || lo > hi)
        return ks_error_set(KS_EINVALID, "%s: \"%.*s\" is outside %d-%d or an empty range", f->what,
                            (int)n, s, f->min, f->max);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ull << v;
    if (is_star)
        *star = true;
    return 0;
bad:
    return ks_error_set(KS_EINVALID, "%s: cannot parse \"%.*s\"", f->what, (int)n, s);
}

static int parse_field(uint64_t *bits, bool *star, const struct field *f, const char *s, size_t n)
{
    *bits = 0;
    *star = false;
    const char *end = s + n;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        size_t pn = comma ? (size_t)(comma - s) : (size_t)(end - s);
        int rc = part(bits, star, f, s, pn);
        if (rc)
            return rc;
        if (!comma)
            break;
        s = comma + 1;
    }
    return 0;
}

static const struct {
    const char *name, *expands;
} descriptors[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

int ks_cron_parse(struct ks_cron *out, const char *text)
{
    if (!text)
        return ks_error_set(KS_EINVALID, "schedule: missing");
    size_t len = strlen(text);
    if (len > KS_CRON_MAX_TEXT)
        return ks_error_set(KS_ELIMIT, "schedule: %zu bytes, limit %d", len, KS_CRON_MAX_TEXT);
    while (*text == ' ' || *text == '\t')
        text++;
    if (text[0] == '@') {
        size_t n = strcspn(text, " \t");
        if (text[n + strspn(text + n, " \t")])
            return ks_error_set(KS_EINVALID, "schedule \"%s\": text after the descriptor", text);
        for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++)
            if (strlen(descriptors[i].name) == n && !strncasecmp(text, descriptors[i].name, n))
                return ks_cron_parse(out, descriptors[i].expands);
        return ks_error_set(KS_EINVALID, "schedule \"%s\": unknown descriptor", text);
    }
    struct ks_cron c = {0};
    uint64_t bits[5];
    bool star[5];
    const char *p = text;
    int nf = 0;
    while (*p) {
        size_t n = strcspn(p, " \t");
        if (nf == 5)
            return ks_error_set(KS_EINVALID, "schedule \"%s\": expected 5 fields, found more",
                                text);
        int rc = parse_field(&bits[nf], &star[nf], &fields[nf], p, n);
        if (rc)
            return ks_error_wrap(rc, "schedule \"%s\"", text);
        nf++;
        p += n;
        p += strspn(p, " \t");
    }
    if (nf != 5)
        return ks_error_set(KS_EINVALID, "schedule \"%s\": expected 5 fields, found %d", text, nf);
    c.minute = bits[0];
    c.hour = (uint32_t)bits[1];
    c.dom = (uint32_t)bits[2];
    c.month = (uint16_t)bits[3];
    c.dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f);
    c.dom_star = star[2];
    c.dow_star = star[4];
    *out = c;
    return 0;
}

static bool day_matches(const struct ks_cron *c, int dom, int dow)
{
    bool d1 = c->dom >> dom & 1, d2 = c->dow >> dow & 1;
    if (c->dom_star || c->dow_star)
        return d1 && d2;
    return d1 || d2;
}

/* The instant of local wall time L (seconds of the local "epoch"). */
static int64_t local_to_instant(const struct ks_tz *tz, int64_t local)
{
    int32_t before = ks_tz_offset(tz, local - 86400), after = ks_tz_offset(tz, local + 86400);
    int64_t t1 = local - before, t2 = local - after;
    bool ok1 = ks_tz_offset(tz, t1) == before, ok2 = ks_tz_offset(tz, t2) == after;
    if (ok1 && ok2)
        return t1 < t2 ? t1 : t2; /* repeated: the first occurrence */
    if (ok2)
        return t2;
    return t1; /* valid, or skipped: shifted by the offset in effect before */
}

int ks_cron_next(int64_t *out, const struct ks_cron *c, const struct ks_tz *tz, int64_t after)
{
    int64_t start = after - ((after % 60) + 60) % 60 + 60;
    int64_t local0 = start + ks_tz_offset(tz, start);
    int64_t day0 = (local0 >= 0 ? local0 : local0 - 86399) / 86400 - 1; /* a day early: DST */
    for (int64_t day = day0; day <= day0 + 366 * KS_CRON_SEARCH_YEARS + 1; day++) {
        int y, m, d;
        ks_ctl_civil_from_days(day, &y, &m, &d);
        int dow = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        if (!(c->month >> m & 1) || !day_matches(c, d, dow))
            continue;
        int64_t best = 0;
        bool found = false;
        for (int h = 0; h < 24; h++) {
            if (!(c->hour >> h & 1))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!(c->minute >> mi & 1))
                    continue;
                int64_t t = local_to_instant(tz, day * 86400 + h * 3600 + mi * 60);
                if (t > after && (!found || t < best)) {
                    best = t;
                    found = true;
                }
            }
        }
        if (found) {
            *out = best;
            return 0;
        }
    }
    return ks_error_set(KS_ENOTFOUND, "schedule matches no time within %d years",
                        KS_CRON_SEARCH_YEARS);
}
