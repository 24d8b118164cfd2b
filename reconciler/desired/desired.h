/*
 * desired.h: assembling the desired set from one commit (DESIGN.md §3).
 *
 * Every *.yaml / *.yml under --path is read as a multi-document manifest
 * stream, except dot-files and files inside chart directories (a directory
 * holding Chart.yaml). `kind: Release` objects (apiVersion keelson.io/v1)
 * are rendered with the renderer from a chart in the same commit. Each
 * resulting object gets its namespace defaulted, is validated, and carries
 * where it came from. The set is sorted by identity and hashed over its
 * canonical JSON, so the same commit always yields the same bytes and hash.
 */
#ifndef KS_RECONCILER_DESIRED_H
#define KS_RECONCILER_DESIRED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "reconciler/source/source.h"

/* One desired object. Strings are owned by the set. */
struct ks_desired_object {
    char *kind, *namespace_, *name; /* identity; namespace "" when cluster-scoped */
    json_t *object;                 /* normalised object (owned reference) */
    /* where it came from: "apps/web.yaml#2:14" for a file (document index
     * and line) or "release default/web (charts/app, templates/svc.yaml)" */
    char *source;
    char *file;     /* repo-relative file the object (or its Release) came from */
    int line;       /* line of the document in file (1-based; 0 unknown) */
    char hash[65];  /* sha256 of the object's canonical JSON (sorted keys, compact) */
    bool effective; /* a kind with behaviour here, else "accepted, no effect" */
};

struct ks_desired_set {
    struct ks_desired_object *objects; /* sorted by kind, namespace, name */
    size_t count;
    char hash[65];    /* sha256 of the canonical set */
    json_t *warnings; /* array of strings (accepted kinds, renderer notes) */
    json_t *inputs;   /* repo paths read outside the snapshot (charts, values files), sorted */
};

struct ks_desired_opts {
    struct ks_source *source; /* to read charts and values files of Releases */
    const char *commit;
    const char *chart_cache_dir;  /* where chart trees are materialised (needed for Releases) */
    const char *render_cache_dir; /* rendered Releases by content key; NULL = no cache */
    size_t max_objects;           /* 0 = KS_DESIRED_DEFAULT_MAX_OBJECTS */
};

#define KS_DESIRED_DEFAULT_MAX_OBJECTS 50000u

/* Builds the set from the snapshot's files. Errors carry
 * "file:line:col: cause"; nothing is returned on error. *out is owned by
 * the caller: ks_desired_set_free(). */
int ks_desired_build(struct ks_desired_set **out, const struct ks_source_snapshot *snap,
                     const struct ks_desired_opts *opts);

void ks_desired_set_free(struct ks_desired_set *set);

/* Finds an object by identity; NULL when absent. */
const struct ks_desired_object *ks_desired_find(const struct ks_desired_set *set, const char *kind,
                                                const char *namespace_, const char *name);

/* True for the kinds keelson acts on (DESIGN.md §3). */
bool ks_kind_has_behaviour(const char *kind);

#endif
