/*
 * pages.h: the dashboard's HTML pages (pages.c), rendered from the model.
 */
#ifndef KS_RECONCILER_DASHBOARD_PAGES_H
#define KS_RECONCILER_DASHBOARD_PAGES_H

#include "core/buf.h"

#include <jansson.h>

/* The overview: current sync, objects, nodes, drift, charts, timeline. */
int ks_dashboard_page_index(struct ks_buf *b, const json_t *model, int live);

/* One deploy commit: who, what, the sync it produced, its status events. */
int ks_dashboard_page_commit(struct ks_buf *b, const json_t *model, const json_t *deploy, int live);

#endif
