/*
 * pipeline.h: the steps that `reconcile --once` and `reconcile diff` share:
 * choosing the state dir, opening the Git source, and turning one revision
 * into a desired set.
 */
#ifndef KS_RECONCILER_PIPELINE_H
#define KS_RECONCILER_PIPELINE_H

#include "core/buf.h"
#include "reconciler/desired/desired.h"
#include "reconciler/plan/plan.h"
#include "reconciler/source/source.h"

/* --state-dir, else $KEELSON_STATE_DIR, else /var/lib/keelson for root and
 * $HOME/.local/state/keelson otherwise. Created (with parents) if missing. */
int ks_pipeline_state_dir(struct ks_buf *out, const char *flag);

/* Opens repo (path or URL) with its mirror under state_dir, and fetches. */
int ks_pipeline_open_source(struct ks_source **out, const char *repo, const char *state_dir);

/* Resolves rev at the source, reads path and builds the desired set; the
 * chart cache lives under state_dir/charts. *out_snap (optional) receives
 * the snapshot (caller frees). */
int ks_pipeline_desired(struct ks_desired_set **out, struct ks_source_snapshot **out_snap,
                        struct ks_source *src, const char *commit, const char *path,
                        const char *state_dir);

/* Renders the plan to stdout in fmt; colour only for text on a terminal
 * without NO_COLOR. Returns 0 or an error code. */
int ks_pipeline_print_plan(const struct ks_plan *plan, enum ks_plan_format fmt, bool yaml_hunks,
                           const char *title, json_t *meta);

#endif
