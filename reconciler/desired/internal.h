/*
 * internal.h: state shared by the files that build a desired set
 * (collect.c, release.c, validate.c). Not part of the public API.
 */
#ifndef KS_RECONCILER_DESIRED_INTERNAL_H
#define KS_RECONCILER_DESIRED_INTERNAL_H

#include "reconciler/desired/desired.h"

struct ks_desired_builder {
    const struct ks_desired_opts *opts;
    const struct ks_source_snapshot *snap;
    struct ks_desired_object *objs;
    size_t n, cap, max;
    json_t *warnings;
    json_t *inputs; /* repo paths Releases read (charts, values files) */
};

/* Appends object (the builder takes its own reference) after reading its
 * identity; source names it in messages ("apps/web.yaml:12"). */
int ks_desired_builder_add(struct ks_desired_builder *b, json_t *object, const char *source,
                           const char *file, int line, const char *default_ns);

/* Renders a keelson.io/v1 Release and adds what it produces. */
int ks_desired_release_render(struct ks_desired_builder *b, json_t *release, const char *source,
                              const char *file, int line);

/* Render cache (render_cache.c): key over everything a Release's output
 * depends on; get returns a new reference to the cached objects array or
 * NULL on a miss; put is best effort. */
int ks_render_cache_key(char out[65], const char *chart_tree, const char *name, const char *ns,
                        const json_t *values);
json_t *ks_render_cache_get(const char *dir, const char *key);
void ks_render_cache_put(const char *dir, const char *key, const json_t *objects);

/* Sorts, validates the whole set, hashes it and hands it over in *out
 * (the builder's arrays move into the set). */
int ks_desired_finish(struct ks_desired_set **out, struct ks_desired_builder *b);

#endif
