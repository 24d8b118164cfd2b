/*
 * deps.h: dependency processing (aliases, tags, conditions) and the chart
 * tree handed to the values stage. Internal to the renderer; see deps.c.
 */
#ifndef KS_RENDERER_CHART_DEPS_H
#define KS_RENDERER_CHART_DEPS_H

#include <jansson.h>
#include <stdbool.h>

#include "renderer/chart/chart.h"
#include "renderer/template.h"
#include "renderer/values.h"

/* A small template set that evaluates semverCompare for range checks. */
int ks_deps_semver_init(struct ks_tpl_set **out);

/* chartutil.IsCompatibleRange: false for a bad range or version. */
bool ks_deps_compatible(struct ks_tpl_set *semver, const char *range, const char *version);

/* Resolves aliases and drops disabled dependencies in the whole tree;
 * user = the user-supplied values (borrowed). */
int ks_deps_process(struct ks_chart *root, const json_t *user, struct ks_tpl_set *semver);

/* The values stage's view of the tree (with import-values when asked). */
int ks_deps_values_tree(struct ks_values_chart **out, const struct ks_chart *c, bool with_imports);

#endif
