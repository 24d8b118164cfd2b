/*
 * backend.h: the vtable a store backend implements. store.c validates
 * arguments and dispatches here, so a second backend (etcd) implements only
 * these operations and inherits the argument checking and nesting rules.
 */
#ifndef KS_RECONCILER_STORE_BACKEND_H
#define KS_RECONCILER_STORE_BACKEND_H

#include "reconciler/store/store.h"

struct ks_store_ops {
    void (*close)(struct ks_store *store);
    int (*begin)(struct ks_store *store);
    int (*commit)(struct ks_store *store);
    int (*rollback)(struct ks_store *store);
    int (*revision)(int64_t *out, struct ks_store *store);
    /* shared: *out may be the backend's cached object (read only) */
    int (*get)(json_t **out, struct ks_store *store, const struct ks_store_key *key, bool shared);
    /* obj already validated; key derived from it; stored copy built by caller */
    int (*put)(int64_t *out_rev, struct ks_store *store, const struct ks_store_key *key,
               json_t *stored, int64_t expected_rev);
    int (*del)(int64_t *out_rev, struct ks_store *store, const struct ks_store_key *key,
               int64_t expected_rev);
    int (*list)(json_t **out, struct ks_store *store, const struct ks_store_list_opts *opts);
    int (*list_kinds)(json_t **out, struct ks_store *store);
    int (*list_managed)(json_t **out, struct ks_store *store);
    int (*meta_get)(char **out, struct ks_store *store, const char *key);
    int (*meta_set)(struct ks_store *store, const char *key, const char *value);
    int (*changes_since)(json_t **out, struct ks_store *store, int64_t since, size_t max);
    int (*changes_text)(json_t **out, struct ks_store *store, int64_t since, size_t max);
    /* all_kinds: NULL-terminated, at most KS_STORE_NODE_KINDS_MAX (checked) */
    int (*changes_for_node)(json_t **out, struct ks_store *store, int64_t since, size_t max,
                            const char *node, const char *const *all_kinds);
    int (*set_durability)(struct ks_store *store, enum ks_store_durability durability);
    int (*set_checkpoints)(struct ks_store *store, bool automatic);
    int (*checkpoint)(struct ks_store *store); /* outside transactions (checked) */
    int (*record_add)(struct ks_store *store, const char *table, const json_t *record);
    int (*records_list)(json_t **out, struct ks_store *store, const char *table, size_t max);
    int (*sync_begin)(int64_t *out_id, struct ks_store *store, const char *commit);
    int (*sync_finish)(struct ks_store *store, int64_t id, const char *result,
                       const json_t *summary, const char *error);
    int (*check)(struct ks_store *store);
};

struct ks_store {
    const struct ks_store_ops *ops;
    int depth;  /* transaction nesting */
    int failed; /* a nested part failed: the outermost commit rolls back */
};

#endif
