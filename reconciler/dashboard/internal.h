/*
 * internal.h: pieces shared by the dashboard's files (not a public API).
 */
#ifndef KS_RECONCILER_DASHBOARD_INTERNAL_H
#define KS_RECONCILER_DASHBOARD_INTERNAL_H

#include "core/buf.h"

#include <jansson.h>

/* Adds the figures computed from the histories: "commit_to_running"
 * (deploy commit -> its successful sync, seconds; oldest first, at most
 * 50) and "drift_per_day" ({day: "YYYY-MM-DD", count}; oldest first, at
 * most 30 days). Pure: reads model["deploys"], ["events"], ["plans"]. */
int ks_dashboard_model_derive(json_t *model);

/* Appends s with HTML escaping (& < > " '). */
void ks_html_escape(struct ks_buf *b, const char *s);
/* Appends a Unix time as "2026-12-01 19:08 UTC". */
void ks_html_time(struct ks_buf *b, long long t);

/* An accessible bar chart as inline SVG: one bar per point, labels from
 * label_key, heights from value_key (a number), with a title and a text
 * alternative. Draws "no data yet" when points is empty. */
void ks_svg_bars(struct ks_buf *b, const json_t *points, const char *label_key,
                 const char *value_key, const char *title, const char *unit);

#endif
