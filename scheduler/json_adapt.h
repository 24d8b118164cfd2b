/*
 * json_adapt.h: shared pieces of the JSON adapters (json_node.c,
 * json_pod.c): an arena for the temporary spec arrays of one conversion
 * and parsers for the Kubernetes shapes both use (string maps, match
 * expressions, node selector terms, label selectors). Strings in the
 * results are borrowed from the JSON tree; arrays belong to the arena.
 */
#ifndef KS_SCHEDULER_JSON_ADAPT_H
#define KS_SCHEDULER_JSON_ADAPT_H

#include "scheduler/scheduler.h"

#include <jansson.h>

struct arena {
    void **blocks;
    size_t n, cap;
};

void *ks_sched_arena_alloc(struct arena *a, size_t n, size_t elem);
void ks_sched_arena_release(struct arena *a);

/* Array at path (absent = empty) with at most KS_SCHED_MAX_ITEMS entries. */
int ks_sched_ja_array(json_t **out, size_t *n, const json_t *root, const char *path,
                      const char *where);
/* ks_sched_ja_array plus an arena array of n items of elem bytes in *items. */
int ks_sched_ja_items(json_t **arr, size_t *n, void *items, size_t elem, struct arena *a,
                      const json_t *root, const char *path, const char *where);
/* An object of string values -> kv array. */
int ks_sched_ja_kv_map(const struct ks_sched_kv **out, size_t *n, struct arena *a,
                       const json_t *obj, const char *where);
int ks_sched_ja_reqs(const struct ks_sched_req **out, size_t *n, struct arena *a, const json_t *arr,
                     const char *where, bool node);
int ks_sched_ja_node_term(struct ks_sched_node_term *out, struct arena *a, const json_t *term,
                          const char *where);
/* A LabelSelector; absent or null = matches nothing. */
int ks_sched_ja_selector(struct ks_sched_selector *out, struct arena *a, const json_t *sel,
                         const char *where);

/* "NoSchedule" | "PreferNoSchedule" | "NoExecute"; "" or NULL = any. */
int ks_sched_json_effect(enum ks_sched_effect *out, const char *s, const char *where);

#endif
