/*
 * render.h: the renderer's public API: render a Helm chart (a directory or a
 * .tgz archive) the way `helm template` does, into the exact text helm
 * prints AND the parsed objects, for the reconciler.
 *
 * One call does what helm's install action does in client-only mode: load
 * the chart and its subcharts (dependencies, conditions, tags, aliases,
 * .helmignore), coalesce values, render every template with .Values,
 * .Release, .Chart, .Capabilities, .Files and .Template, drop NOTES.txt,
 * split the output into documents, sort them by kind in Helm's install
 * order, separate hooks, and apply the output options (--show-only,
 * --include-crds, --skip-tests, --no-hooks). The text is byte for byte what
 * `helm template` writes to stdout; errors carry "file:line:col: cause"
 * naming the template at fault.
 */
#ifndef KS_RENDERER_RENDER_H
#define KS_RENDERER_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Defaults of `helm template` (helm v3.17): the release name when none is
 * given and the kube version .Capabilities reports without --kube-version. */
#define KS_RENDER_DEFAULT_RELEASE_NAME "release-name"
#define KS_RENDER_DEFAULT_NAMESPACE "default"

/* Limits applied while loading a chart (0 in ks_render_opts = these). */
#define KS_RENDER_DEFAULT_MAX_CHART_BYTES (64u * 1024u * 1024u) /* all files, unpacked */
#define KS_RENDER_DEFAULT_MAX_FILES 10000u                      /* files per chart tree */
#define KS_RENDER_DEFAULT_MAX_DEPTH 32u /* directory depth and subchart nesting */
#define KS_RENDER_DEFAULT_MAX_OUTPUT (256u * 1024u * 1024u) /* rendered text */

struct ks_render_opts {
    const char *release_name;        /* NULL = KS_RENDER_DEFAULT_RELEASE_NAME */
    const char *namespace_;          /* NULL = KS_RENDER_DEFAULT_NAMESPACE */
    const char *kube_version;        /* "1.32.0" or "v1.32"; NULL = helm's default */
    const char *const *api_versions; /* extra .Capabilities.APIVersions entries */
    size_t n_api_versions;
    bool is_upgrade;              /* .Release.IsUpgrade true, IsInstall false */
    bool include_crds;            /* print crds/ files first */
    bool skip_tests;              /* leave out hooks whose events include "test" */
    bool no_hooks;                /* leave out every hook */
    const char *const *show_only; /* glob patterns on "templates/x.yaml" paths */
    size_t n_show_only;
    /* User-supplied values, already merged from -f/--set... (see values.h);
     * borrowed; NULL = none. */
    const json_t *values;
    bool text_only;         /* leave ks_render_result.objects NULL (saves parsing) */
    size_t max_chart_bytes; /* 0 = default, see above */
    unsigned max_files;
    unsigned max_depth;
    size_t max_output;
};

struct ks_render_result {
    char *text; /* what `helm template` prints (malloc'd, NUL-terminated) */
    size_t len;
    /* Array of {"source": "chart/templates/x.yaml", "hook": bool,
     * "object": {...} } in output order, one per non-empty document
     * (documents that are only comments are left out), typed as Kubernetes
     * reads manifests (core/yaml.h: `replicas: 3` is an integer). NULL with
     * opts.text_only. */
    json_t *objects;
};

/* Renders the chart at chart_path (directory or .tgz/.tar.gz file).
 * On success fills *out (release it with ks_render_result_release).
 * Errors: KS_EINVALID (bad chart, template error, YAML error:
 * "file:line:col: cause"), KS_ELIMIT (a limit above), KS_ENOTFOUND (no
 * chart, or --show-only matched nothing: "could not find template X in
 * chart"), KS_EIO. */
int ks_render_chart(struct ks_render_result *out, const char *chart_path,
                    const struct ks_render_opts *opts);

void ks_render_result_release(struct ks_render_result *r);

/* Renders helm's --name-template (a template with the function library and
 * no data) into a new malloc'd string in *out. */
int ks_render_name_template(char **out, const char *tmpl);

#endif
