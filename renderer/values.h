/*
 * values.h: Helm's values machinery, reproduced so `.Values` in every
 * template holds what `helm template` would give it.
 *
 * Four stages, each as Helm does them:
 *  1. user values: -f files merged in order (deep merge, later wins), then
 *     --set-json, --set, --set-string, --set-file, --set-literal layers
 *     (Helm applies them grouped by flag kind in that order, each group in
 *     command-line order), parsed like helm's pkg/strvals;
 *  2. import-values: a dependency's values copied into its parent's
 *     defaults (pkg/chartutil/dependencies.go), bottom-up;
 *  3. coalescing user values with chart defaults (pkg/chartutil/coalesce.go):
 *     null in user values deletes a default, subchart sections scoped by
 *     name or alias, `global` copied down to every subchart;
 *  4. values.schema.json validation of the final values of every chart.
 * Values are jansson trees with the value model of tplfunc.h: --set ints are
 * json_integer (Go int64), numbers read from YAML are json_real (float64).
 */
#ifndef KS_RENDERER_VALUES_H
#define KS_RENDERER_VALUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* ---- user values (helm's --set family and -f) ---- */

enum ks_values_set_kind {
    KS_VALUES_SET,         /* --set: typed (int64, bool, null, else string) */
    KS_VALUES_SET_STRING,  /* --set-string: every value a string */
    KS_VALUES_SET_JSON,    /* --set-json: each value is JSON */
    KS_VALUES_SET_FILE,    /* --set-file: value is a path, replaced by the file's text */
    KS_VALUES_SET_LITERAL, /* --set-literal: one key, the whole rest is the string value */
};

/* Reads a --set-file path (as written on the command line) into a malloc'd
 * string (*out, its length in *out_len). The caller confines paths and caps
 * sizes. Returns 0 or a negative KS_E* with ks_error set. */
typedef int (*ks_values_file_reader)(void *ctx, const char *path, char **out, size_t *out_len);

/* Parses one argument of the given kind ("a.b=1,c[0]=x") into dest (an
 * object), as strvals.ParseInto and friends do. reader is used only for
 * KS_VALUES_SET_FILE. Errors carry helm's wording (e.g. `key "x" has no
 * value`), prefixed as helm does ("failed parsing --set data: ..."). */
int ks_values_parse_set(json_t *dest, enum ks_values_set_kind kind, const char *arg,
                        ks_values_file_reader reader, void *reader_ctx);

/* One command-line value source, in command-line order. */
struct ks_values_arg {
    enum ks_values_set_kind kind;
    const char *text;
};

/* helm's values.Options.MergeValues: files (already parsed YAML objects, in
 * -f order) deep-merged, then the set arguments grouped by kind in helm's
 * order (json, set, string, file, literal). *out is a new object. */
int ks_values_merge_user(json_t **out, json_t *const *files, size_t nfiles,
                         const struct ks_values_arg *args, size_t nargs,
                         ks_values_file_reader reader, void *reader_ctx);

/* Deep merge as helm's mergeMaps: maps merge recursively, anything else in
 * src replaces dest's value. src is not modified; dest is. */
int ks_values_merge_into(json_t *dest, const json_t *src);

/* ---- charts: what coalescing needs to know about a chart tree ---- */

/* One import-values entry of a dependency (as written in the parent's
 * Chart.yaml `dependencies[].import-values`): the string form "data" is
 * child "exports.data", parent "" (merged at the parent's root); the map
 * form gives child and parent paths (dot-separated). */
struct ks_values_import {
    char *child;
    char *parent;
};

/* A chart as seen by the values stage. The chart helper fills it after
 * resolving conditions/tags: deps holds only ENABLED dependencies. Fields
 * are owned by the struct and freed by ks_values_chart_free. */
struct ks_values_chart {
    char *name;     /* key of this chart's section in its parent's values:
                       the dependency alias if any, else Chart.yaml's name */
    json_t *values; /* the chart's values.yaml (object; never NULL) */
    json_t *schema; /* values.schema.json parsed, or NULL */
    struct ks_values_chart **deps;
    size_t ndeps;
    /* import-values declared for THIS chart in its parent's Chart.yaml */
    struct ks_values_import *imports;
    size_t nimports;
    /* dependencies[].name in the parent's Chart.yaml when it differs from
     * name (an alias). Informational only: measured with helm 3.17.1,
     * import-values are looked up under the alias (name), so the values
     * stage does not use this field. NULL = name. Owned. */
    char *dep_name;
    /* Chart.yaml declares no dependencies (subcharts only sit in charts/):
     * helm then leaves this chart's values untouched by the import stage. */
    bool deps_undeclared;
};

/* Allocates a chart with name copied and an empty values object. */
struct ks_values_chart *ks_values_chart_new(const char *name);
/* Frees the chart and its dependencies recursively. NULL-safe. */
void ks_values_chart_free(struct ks_values_chart *c);
/* Appends dep (ownership passes to c). */
int ks_values_chart_add_dep(struct ks_values_chart *c, struct ks_values_chart *dep);
/* Appends an import-values entry (strings copied). parent may be NULL/"". */
int ks_values_chart_add_import(struct ks_values_chart *c, const char *child, const char *parent);

/* Warnings helm prints with log.Printf while coalescing ("warning: skipped
 * value for x.y: Not a table." ...), one per line (helm's order is Go's
 * random map order). The caller initialises text with ks_buf_init and
 * releases it; values in the lines are printed as JSON where helm uses %v. */
struct ks_values_warnings {
    struct ks_buf text;
};

/* Applies import-values bottom-up (helm's processDependencyImportValues with
 * merge): each chart's values become its coalesced defaults plus what it
 * imports from its dependencies. Modifies the charts' values in place. */
int ks_values_process_imports(struct ks_values_chart *root, struct ks_values_warnings *warn);

/* chartutil.CoalesceValues(root, user): *out is a new object, the final
 * `.Values` for the root chart (subcharts' sections inside it). user is not
 * modified. warn may be NULL. */
int ks_values_coalesce(json_t **out, const struct ks_values_chart *root, const json_t *user,
                       struct ks_values_warnings *warn);

/* ---- values.schema.json ---- */

/* Validates final values against every chart's schema (each subchart
 * against its own section), as chartutil.ValidateAgainstSchema. On failure
 * returns KS_EINVALID with helm's message: "values don't meet the
 * specifications of the schema(s) in the following chart(s):\nNAME:\n- ..." */
int ks_values_validate(const struct ks_values_chart *root, const json_t *values);

#endif
