/*
 * output.h: turning rendered template files into `helm template`'s output.
 *
 * This is helm's releaseutil (SplitManifests, SortManifests with the
 * InstallOrder kind list, hook detection) and the printing done by its
 * `template` command (CRDs first with --include-crds, manifests, then hooks;
 * --show-only re-splits the whole text and filters with filepath.Match).
 * It is kept apart from chart loading and template execution so it can be
 * tested on plain strings.
 */
#ifndef KS_RENDERER_OUTPUT_H
#define KS_RENDERER_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* One rendered template or one CRD file: path as helm names it
 * ("chart/templates/x.yaml", "chart/charts/sub/crds/c.yaml"). */
struct ks_output_file {
    const char *path;
    const char *content;
    size_t len;
};

struct ks_output_opts {
    bool include_crds;
    bool skip_tests;
    bool no_hooks;
    const char *const *show_only;
    size_t n_show_only;
};

/* One document of helm's SplitManifests. */
struct ks_output_doc {
    char *text;      /* trimmed document (malloc'd; NULL from ks_output_split_spans) */
    size_t line;     /* 1-based line of the document's first byte in the input */
    size_t off, len; /* where the trimmed document is in the input */
};

/* helm's releaseutil.SplitManifests: splits on the regexp
 * `(?:^|\s*\n)---\s*` after trimming, drops empty pieces, trims each.
 * *out is a malloc'd array of *out_n docs; free with ks_output_docs_free. */
int ks_output_split(struct ks_output_doc **out, size_t *out_n, const char *text, size_t len);
void ks_output_docs_free(struct ks_output_doc *docs, size_t n);
/* The same split without copies: every text is NULL, off and len locate
 * the document in the input. */
int ks_output_split_spans(struct ks_output_doc **out, size_t *out_n, const char *text, size_t len);

/* Position of kind in helm's InstallOrder, or -1 for unknown kinds. */
int ks_output_kind_rank(const char *kind);

/* Go's path/filepath.Match on '/'-separated paths. A malformed pattern
 * matches nothing (helm ignores the error). */
bool ks_output_glob_match(const char *pattern, const char *name);

/* Builds the full `helm template` output from the rendered templates
 * (partials and NOTES.txt already removed; any order) and the CRD files
 * (in helm's order). Appends the text to out; when objects is not NULL,
 * appends {"source","hook","object"} for every emitted document that is
 * not empty. Errors name the template: "path:line:col: YAML parse error:
 * ...", or KS_ENOTFOUND "could not find template X in chart". */
int ks_output_build(struct ks_buf *out, json_t *objects, const struct ks_output_file *files,
                    size_t nfiles, const struct ks_output_file *crds, size_t ncrds,
                    const struct ks_output_opts *opts);

/* Splits `helm template` text (as built above) into documents and appends
 * {"source": path, "hook": bool, "object": parsed document} to objects for
 * every document that is not empty, typed as Kubernetes reads manifests
 * (core/yaml.h: integers stay integers). */
int ks_output_objects(json_t *objects, const char *text, size_t len);

/* What sorting needs from a document's head (helm's SimpleHead). */
struct ks_output_head {
    char kind[128]; /* "" when absent */
    char hook[256]; /* the helm.sh/hook annotation, when has_hook */
    bool has_hook;
};

/* A fast, conservative reading of one split document (quickhead.c): returns
 * 1 with *out set when the document is block YAML of the common shape that
 * certainly parses, with a head of the expected types; 0 when it cannot
 * tell, and the caller must parse the document fully (which also gives the
 * error, if any). Never fails otherwise. */
int ks_output_quick_head(struct ks_output_head *out, const char *text, size_t len);

#endif
