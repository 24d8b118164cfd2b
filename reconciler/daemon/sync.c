/*
 * sync.c: one sync pass from Git to the store, shared by `reconcile
 * --once` and the daemon's sync thread. Fetch, resolve, skip when nothing
 * under --path (or a chart a Release read) changed since the last apply,
 * build the desired set, plan against what the store last applied, and
 * apply the plan, the skip key and the sync record in one transaction. A
 * failure anywhere is recorded as a failed sync with its message
 * (file:line:column when input is at fault) and changes nothing else.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/pipeline.h"

#include "core/buf.h"
#include "core/digest.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The skip key of a commit: the --path subtree id plus the ids of every
 * input a Release read outside it (charts, values files), hashed. Equal
 * keys mean an identical desired set, so rendering can be skipped. */
static int input_key(char out[65], struct ks_source *src, const char *commit, const char *tree,
                     const json_t *inputs)
{
    struct ks_buf b;
    ks_buf_init(&b, 1024 * 1024);
    ks_buf_printf(&b, "tree %s\n", tree);
    size_t i;
    const json_t *p;
    int rc = 0;
    json_array_foreach(inputs, i, p)
    {
        char id[41];
        if ((rc = ks_source_path_id(id, src, commit, json_string_value(p))))
            break;
        ks_buf_printf(&b, "%s %s\n", json_string_value(p), id);
    }
    if (rc == 0)
        rc = ks_buf_error(&b) ? ks_buf_error(&b)
                              : ks_sha256_hex(out, ks_buf_data(&b), ks_buf_len(&b));
    ks_buf_release(&b);
    return rc;
}

/* True when nothing the last applied set was built from has changed. */
static int unchanged_since_apply(struct ks_store *store, struct ks_source *src, const char *commit,
                                 const char *tree)
{
    char *inputs_text = NULL, *applied_key = NULL;
    json_t *inputs = NULL;
    char key[65];
    int same = 0;
    if (ks_store_meta_get(&applied_key, store, "applied_key") == 0 &&
        ks_store_meta_get(&inputs_text, store, "applied_inputs") == 0 &&
        (inputs = json_loads(inputs_text, 0, NULL)) != NULL &&
        input_key(key, src, commit, tree, inputs) == 0)
        same = strcmp(key, applied_key) == 0;
    free(inputs_text);
    free(applied_key);
    json_decref(inputs);
    return same;
}

/* Inside the caller's transaction. */
static int record_applied(struct ks_store *store, struct ks_source *src, const char *commit,
                          const char *tree, const struct ks_desired_set *set)
{
    char key[65];
    char *inputs = json_dumps(set->inputs, JSON_COMPACT);
    int rc = inputs ? input_key(key, src, commit, tree, set->inputs)
                    : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc == 0 && ((rc = ks_store_meta_set(store, "applied_commit", commit)) == 0) &&
        ((rc = ks_store_meta_set(store, "applied_key", key)) == 0) &&
        ((rc = ks_store_meta_set(store, "applied_inputs", inputs)) == 0))
        rc = ks_store_meta_set(store, "applied_hash", set->hash);
    free(inputs);
    return rc;
}

json_t *ks_sync_summary(const struct ks_plan *plan, const char *commit, int64_t ticket,
                        int64_t fetch_ms)
{
    json_t *s = json_pack("{s:I, s:I, s:s}", "ticket", (json_int_t)ticket, "fetch_ms",
                          (json_int_t)fetch_ms, "commit", commit ? commit : "");
    if (s && plan) {
        json_object_set_new(s, "create", json_integer((json_int_t)plan->n_create));
        json_object_set_new(s, "update", json_integer((json_int_t)plan->n_update));
        json_object_set_new(s, "delete", json_integer((json_int_t)plan->n_delete));
        json_object_set_new(s, "unchanged", json_integer((json_int_t)plan->n_unchanged));
    }
    return s;
}

void ks_sync_result_release(struct ks_sync_result *r)
{
    if (!r)
        return;
    ks_plan_free(r->plan);
    ks_desired_set_free(r->set);
    r->plan = NULL;
    r->set = NULL;
}

static int plan_commit(struct ks_sync_result *out, struct ks_store *store, struct ks_source *src,
                       const struct ks_sync_opts *o)
{
    struct ks_plan_item *base = NULL, *head = NULL;
    size_t nbase = 0;
    json_t *base_objects = NULL;
    int rc = ks_pipeline_desired(&out->set, NULL, src, out->commit, o->path, o->state_dir);
    if (rc == 0 && store)
        rc = ks_plan_load_managed(&base, &nbase, &base_objects, store);
    if (rc == 0)
        rc = ks_plan_items_from_set(&head, out->set);
    struct ks_plan_opts po = {.allow_mass_prune = o->allow_mass_prune,
                              .max_prune_percent = o->max_prune_percent,
                              .load = ks_plan_store_loader,
                              .load_ctx = store};
    if (rc == 0 && (rc = ks_plan_compute(&out->plan, base, nbase, head, out->set->count, &po)) == 0)
        json_array_extend(out->plan->warnings, out->set->warnings);
    json_decref(base_objects);
    free(base);
    free(head);
    return rc;
}

int ks_sync_pass(struct ks_sync_result *out, struct ks_store *store, struct ks_source *src,
                 const struct ks_sync_opts *o)
{
    memset(out, 0, sizeof *out);
    out->sync_id = -1;
    out->outcome = KS_SYNC_FAILED;
    bool write = store && !o->dry_run;
    int64_t t0 = mono_ms();
    int rc = ks_source_fetch(src);
    out->fetch_ms = mono_ms() - t0;
    if (rc || (rc = ks_source_resolve(out->commit, src, o->branch)) ||
        (rc = ks_source_tree_hash(out->tree, src, out->commit, o->path))) {
        if (!out->tree[0])
            out->commit[0] = '\0';
        goto done;
    }
    if (store && unchanged_since_apply(store, src, out->commit, out->tree)) {
        out->outcome = KS_SYNC_UNCHANGED;
        if (!write)
            goto done;
        if ((rc = ks_store_meta_set(store, "applied_commit", out->commit)))
            goto done;
        if (o->record_unchanged) {
            json_t *summary = ks_sync_summary(NULL, out->commit, o->ticket, out->fetch_ms);
            if ((rc = ks_store_sync_begin(&out->sync_id, store, out->commit)) == 0)
                rc = ks_store_sync_finish(store, out->sync_id, "unchanged", summary, NULL);
            json_decref(summary);
        }
        goto done;
    }
    if (write && (rc = ks_store_sync_begin(&out->sync_id, store, out->commit)))
        goto done;
    if ((rc = plan_commit(out, store, src, o)))
        goto done;
    if (o->dry_run) {
        if ((rc = ks_plan_placement(&out->plan->placement, out->set, store)) == 0)
            out->outcome = KS_SYNC_APPLIED;
        goto done;
    }
    /* objects, the applied key and the sync record land in one transaction */
    if ((rc = ks_store_begin(store)))
        goto done;
    json_t *summary = ks_sync_summary(out->plan, out->commit, o->ticket, out->fetch_ms);
    struct ks_service_cidr cidr;
    if ((rc = ks_service_cidr_parse(&cidr, o->service_cidr)) == 0 &&
        (rc = ks_services_allocate(store, out->plan, &cidr)) == 0 &&
        (rc = ks_plan_apply(store, out->plan, out->commit)) == 0 &&
        (rc = record_applied(store, src, out->commit, out->tree, out->set)) == 0)
        rc = ks_store_sync_finish(store, out->sync_id, "applied", summary, NULL);
    json_decref(summary);
    if (rc == 0)
        rc = ks_store_commit(store);
    else
        ks_store_rollback(store);
    if (rc == 0)
        out->outcome = KS_SYNC_APPLIED;
done:
    if (rc) {
        snprintf(out->error, sizeof out->error, "%s", ks_error_last());
        out->outcome = KS_SYNC_FAILED;
        if (write) {
            json_t *failed = ks_sync_summary(NULL, out->commit, o->ticket, out->fetch_ms);
            if (out->sync_id >= 0 || ks_store_sync_begin(&out->sync_id, store, out->commit) == 0)
                ks_store_sync_finish(store, out->sync_id, "failed", failed, out->error);
            json_decref(failed);
        }
        ks_error_set(rc, "%s", out->error);
    }
    return rc;
}
