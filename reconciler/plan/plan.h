/*
 * plan.h: the difference between what should exist and what exists.
 *
 * A plan compares a "base" (what the store says was last applied, or the
 * desired set of another revision for `reconcile diff`) with a "head" (the
 * desired set of the commit being synced) object by object: create, update
 * (with the changed fields), delete (prune) or unchanged, each placed in a
 * wave (Namespaces, then config, then Services, then workloads, then the
 * rest; deletes run in reverse). Prune safety is decided here: an empty
 * head never prunes, objects annotated keelson.io/prune: "false" are kept,
 * and deleting more than a share of the managed objects needs an explicit
 * allowance.
 */
#ifndef KS_RECONCILER_PLAN_H
#define KS_RECONCILER_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "reconciler/desired/desired.h"
#include "reconciler/store/store.h"

enum ks_plan_action { KS_PLAN_CREATE, KS_PLAN_UPDATE, KS_PLAN_DELETE, KS_PLAN_UNCHANGED };

/* Annotations that apply adds to stored objects (not part of the desired state). */
#define KS_ANNOTATION_SOURCE "keelson.io/source"
#define KS_ANNOTATION_COMMIT "keelson.io/commit"
#define KS_ANNOTATION_PRUNE "keelson.io/prune"
#define KS_ANNOTATION_HASH "keelson.io/content-hash"

struct ks_plan_item {
    const char *kind, *namespace_, *name; /* borrowed */
    json_t *object;     /* borrowed, normalised; NULL = not loaded (see ks_plan_opts.load) */
    const char *source; /* borrowed; may be NULL */
    const char *hash;   /* content hash (desired: computed; stored: from apply); may be NULL */
};

/* Loads the normalised object of a base item whose object is NULL;
 * *out is a new reference. */
typedef int (*ks_plan_loader)(json_t **out, void *ctx, const struct ks_plan_item *item);

struct ks_plan_change {
    enum ks_plan_action action;
    char *kind, *namespace_, *name, *source;
    int wave;
    json_t *base;   /* object before (NULL for create); owned */
    json_t *head;   /* object after (NULL for delete); owned */
    char hash[65];  /* content hash of head as the head item carried it ("" if none) */
    json_t *fields; /* array of {"path","old","new"} for updates (values masked for Secrets) */
};

struct ks_plan {
    struct ks_plan_change *changes; /* apply order: waves ascending, deletes last in reverse */
    size_t count;
    size_t n_create, n_update, n_delete, n_unchanged;
    json_t *warnings;  /* array of strings */
    json_t *placement; /* NULL, or ks_plan_placement()'s result (owned) */
};

struct ks_plan_opts {
    bool review; /* comparing revisions (reconcile diff): no prune rules, show every delete */
    bool allow_mass_prune;
    unsigned max_prune_percent; /* 0 = 50 */
    ks_plan_loader load;        /* for base items without objects */
    void *load_ctx;
};

/* Plans base -> head. Both arrays must be sorted by (kind, namespace,
 * name). KS_EINVALID when the prune limit is exceeded (the message says how
 * to allow it). *out is owned by the caller: ks_plan_free(). */
int ks_plan_compute(struct ks_plan **out, const struct ks_plan_item *base, size_t nbase,
                    const struct ks_plan_item *head, size_t nhead, const struct ks_plan_opts *opts);

void ks_plan_free(struct ks_plan *plan);

/* Lists the managed objects of the store (those carrying
 * keelson.io/source) as base items with their content hashes and no
 * objects; *out_items point into *out_rows (a JSON array owned by the
 * caller). Pass ks_plan_store_loader with the store as opts.load, so only
 * objects whose hash differs are read. */
int ks_plan_load_managed(struct ks_plan_item **out_items, size_t *out_n, json_t **out_rows,
                         struct ks_store *store);
int ks_plan_store_loader(json_t **out, void *store, const struct ks_plan_item *item);

/* Items of a desired set (borrowing from it). *out is malloc'd. */
int ks_plan_items_from_set(struct ks_plan_item **out, const struct ks_desired_set *set);

/* Writes the plan to the store in one transaction: creates and updates
 * carry keelson.io/source and keelson.io/commit annotations. */
int ks_plan_apply(struct ks_store *store, const struct ks_plan *plan, const char *commit);

/* Returns obj without what the store adds (uid, resourceVersion, status,
 * keelson annotations...): the form plans compare. New reference. */
json_t *ks_plan_normalise(const json_t *obj);

/* Places the desired set's Pods that name no node onto the nodes the store
 * knows (store may be NULL: no nodes). *out: json null when there is no Pod
 * to place, else the scheduler's batch JSON plus "nodes" (how many nodes
 * were considered). New reference. */
int ks_plan_placement(json_t **out, const struct ks_desired_set *set, struct ks_store *store);

enum ks_plan_format { KS_PLAN_TEXT, KS_PLAN_JSON, KS_PLAN_MARKDOWN };

struct ks_plan_render_opts {
    enum ks_plan_format format;
    bool color;        /* ANSI colours (text on a terminal) */
    bool yaml_hunks;   /* unified YAML diffs per object (reconcile diff) */
    const char *title; /* first line / heading, e.g. "Plan for repo@abc123" */
    json_t *meta;      /* extra fields for -o json (borrowed; may be NULL) */
};

int ks_plan_render(struct ks_buf *out, const struct ks_plan *plan,
                   const struct ks_plan_render_opts *opts);

int ks_plan_format_parse(enum ks_plan_format *out, const char *text);

#endif
