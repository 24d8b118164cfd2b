/*
 * cron.h: CronJob schedules (cron.c) and time zones (tz.c), used by the
 * CronJob controller; not installed.
 *
 * Schedules follow the standard parser of robfig/cron v3, which Kubernetes
 * uses (cron.ParseStandard): five fields (minute, hour, day of month,
 * month, day of week) each a list of `*`, `?` (day fields), numbers,
 * ranges `a-b`, steps `*`/n, `a-b/n`, `a/n` (a to the field's end), month
 * names jan..dec and weekday names sun..sat (any case); and the
 * descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight,
 * @hourly. As in cron, when both day fields are restricted a day matching
 * either one runs; when one of them is `*` both must match.
 *
 * Time zones are read from the TZif files under /usr/share/zoneinfo by
 * tz.c itself (transitions, then the POSIX TZ rule of the file's footer
 * for times after the last transition): no setenv("TZ"), no localtime,
 * so it is safe in the multi-threaded control plane and deterministic in
 * tests.
 */
#ifndef KS_RECONCILER_CONTROLLERS_CRON_H
#define KS_RECONCILER_CONTROLLERS_CRON_H

#include <stdbool.h>
#include <stdint.h>

#define KS_CRON_MAX_TEXT 1024  /* bytes of one schedule */
#define KS_CRON_SEARCH_YEARS 5 /* next-run search horizon (robfig gives up after 5 years) */
#define KS_TZ_MAX_FILE (1u << 20)

struct ks_cron {
    uint64_t minute; /* bit n: minute n */
    uint32_t hour;
    uint32_t dom;   /* bits 1..31 */
    uint16_t month; /* bits 1..12 */
    uint8_t dow;    /* bits 0..6, Sunday 0 */
    bool dom_star, dow_star;
};

/* Parses a schedule; KS_EINVALID naming the field and what is wrong. */
int ks_cron_parse(struct ks_cron *out, const char *text);

struct ks_tz; /* a loaded time zone; NULL means UTC */

/* Loads the zone name (e.g. "Europe/Berlin") from dir (NULL =
 * /usr/share/zoneinfo). "", NULL, "UTC" and "Etc/UTC" give *out = NULL
 * (UTC). KS_EINVALID for bad names or files, KS_ENOTFOUND for unknown
 * zones. *out is the caller's: ks_tz_free. */
int ks_tz_load(struct ks_tz **out, const char *dir, const char *name);
void ks_tz_free(struct ks_tz *tz);
/* Seconds east of UTC in effect at the instant t (Unix seconds). */
int32_t ks_tz_offset(const struct ks_tz *tz, int64_t t);

/* The first instant after `after` (Unix seconds) at which the schedule
 * runs in time zone tz. A local time skipped by a DST change runs at the
 * same distance after the change (02:30 in a 02:00->03:00 gap runs at
 * 03:30); a local time repeated by a DST change runs once, at its first
 * occurrence. KS_ENOTFOUND when nothing matches within
 * KS_CRON_SEARCH_YEARS (e.g. "0 0 30 2 *"). */
int ks_cron_next(int64_t *out, const struct ks_cron *cron, const struct ks_tz *tz, int64_t after);

#endif
