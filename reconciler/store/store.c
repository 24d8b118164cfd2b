/*
 * store.c: backend-independent half of the store interface: argument
 * validation, identity extraction, uid/resourceVersion stamping, nested
 * transactions, then dispatch to the backend's vtable (backend.h).
 */
#include "reconciler/store/backend.h"

#include "core/error.h"
#include "core/object.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

void ks_store_close(struct ks_store *store)
{
    if (store)
        store->ops->close(store);
}

int ks_store_begin(struct ks_store *store)
{
    if (store->depth++ > 0)
        return 0;
    store->failed = 0;
    int rc = store->ops->begin(store);
    if (rc)
        store->depth = 0;
    return rc;
}

int ks_store_commit(struct ks_store *store)
{
    if (store->depth <= 0)
        return ks_error_set(KS_EINVALID, "store: commit without a transaction");
    if (--store->depth > 0)
        return 0;
    if (store->failed) {
        store->ops->rollback(store);
        return ks_error_set(KS_ECONFLICT, "store: transaction rolled back (a nested step failed)");
    }
    return store->ops->commit(store);
}

int ks_store_rollback(struct ks_store *store)
{
    if (store->depth <= 0)
        return ks_error_set(KS_EINVALID, "store: rollback without a transaction");
    if (--store->depth > 0) {
        store->failed = 1;
        return 0;
    }
    return store->ops->rollback(store);
}

int ks_store_revision(int64_t *out, struct ks_store *store)
{
    return store->ops->revision(out, store);
}

static int key_valid(const struct ks_store_key *key)
{
    if (!key || !key->kind || !*key->kind || !key->name || !*key->name || !key->namespace_)
        return ks_error_set(KS_EINVALID, "store: key needs kind, namespace and name");
    return 0;
}

int ks_store_get(json_t **out, struct ks_store *store, const struct ks_store_key *key)
{
    int rc = key_valid(key);
    return rc ? rc : store->ops->get(out, store, key, false);
}

/* 32 hex digits from the OS RNG, formatted like a UUID v4. */
static int new_uid(char dst[37])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return ks_error_set(KS_EIO, "store: no randomness for a uid");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(dst, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
    return 0;
}

int ks_store_put(int64_t *out_rev, struct ks_store *store, const json_t *obj, int64_t expected_rev)
{
    int rc = 0;
    json_t *stored = NULL, *existing = NULL;
    struct ks_object_id id;
    if ((rc = ks_object_id_get(&id, obj, "default")))
        goto done;
    struct ks_store_key key = {id.kind, id.namespace_, id.name};
    stored = json_deep_copy(obj);
    if (!stored) {
        rc = ks_error_set(KS_ENOMEM, "store: out of memory");
        goto done;
    }
    json_t *meta = json_object_get(stored, "metadata");
    /* keep the uid of the existing object, else mint one */
    char uid[37] = "";
    rc = store->ops->get(&existing, store, &key, true); /* read only: the uid */
    if (rc == 0) {
        const char *old =
            json_string_value(json_object_get(json_object_get(existing, "metadata"), "uid"));
        if (old)
            snprintf(uid, sizeof uid, "%s", old);
    } else if (rc != KS_ENOTFOUND) {
        goto done;
    }
    rc = 0;
    if (!uid[0]) {
        const char *given = json_string_value(json_object_get(meta, "uid"));
        if (given && strlen(given) < sizeof uid)
            snprintf(uid, sizeof uid, "%s", given);
        else if ((rc = new_uid(uid)))
            goto done;
    }
    json_object_set_new(meta, "uid", json_string(uid));
    if (id.namespace_[0])
        json_object_set_new(meta, "namespace", json_string(id.namespace_));
    rc = store->ops->put(out_rev, store, &key, stored, expected_rev);
done:
    json_decref(existing);
    json_decref(stored);
    if (rc && store->depth > 0)
        store->failed = 1;
    return rc;
}

int ks_store_delete(int64_t *out_rev, struct ks_store *store, const struct ks_store_key *key,
                    int64_t expected_rev)
{
    int rc = key_valid(key);
    if (!rc)
        rc = store->ops->del(out_rev, store, key, expected_rev);
    if (rc && rc != KS_ENOTFOUND && store->depth > 0)
        store->failed = 1;
    return rc;
}

int ks_store_list(json_t **out, struct ks_store *store, const struct ks_store_list_opts *opts)
{
    if (!opts || !opts->kind || !*opts->kind)
        return ks_error_set(KS_EINVALID, "store: list needs a kind");
    return store->ops->list(out, store, opts);
}

int ks_store_list_managed(json_t **out, struct ks_store *store)
{
    return store->ops->list_managed(out, store);
}

int ks_store_list_kinds(json_t **out, struct ks_store *store)
{
    return store->ops->list_kinds(out, store);
}

/* Keys of the store's own bookkeeping cannot be overwritten from outside. */
static int meta_key_valid(const char *key)
{
    if (!key || !*key || strcmp(key, "revision") == 0 || strcmp(key, "compacted") == 0)
        return ks_error_set(KS_EINVALID, "store: \"%s\" is not a usable meta key", key ? key : "");
    return 0;
}

int ks_store_meta_get(char **out, struct ks_store *store, const char *key)
{
    int rc = meta_key_valid(key);
    return rc ? rc : store->ops->meta_get(out, store, key);
}

int ks_store_meta_set(struct ks_store *store, const char *key, const char *value)
{
    int rc = meta_key_valid(key);
    if (!rc)
        rc = store->ops->meta_set(store, key, value ? value : "");
    if (rc && store->depth > 0)
        store->failed = 1;
    return rc;
}

int ks_store_changes_since(json_t **out, struct ks_store *store, int64_t since, size_t max)
{
    return store->ops->changes_since(out, store, since, max ? max : 1000);
}

int ks_store_changes_text(json_t **out, struct ks_store *store, int64_t since, size_t max)
{
    return store->ops->changes_text(out, store, since, max ? max : 1000);
}

int ks_store_changes_for_node(json_t **out, struct ks_store *store, int64_t since, size_t max,
                              const char *node, const char *const *all_kinds)
{
    size_t n = 0;
    while (all_kinds && all_kinds[n])
        n++;
    if (!node || !*node)
        return ks_error_set(KS_EINVALID, "store: changes for a node need the node's name");
    if (n > KS_STORE_NODE_KINDS_MAX)
        return ks_error_set(KS_ELIMIT, "store: %zu kinds for every node (limit %d)", n,
                            KS_STORE_NODE_KINDS_MAX);
    return store->ops->changes_for_node(out, store, since, max ? max : 1000, node, all_kinds);
}

int ks_store_set_durability(struct ks_store *store, enum ks_store_durability durability)
{
    if (durability != KS_STORE_DURABLE && durability != KS_STORE_RELAXED)
        return ks_error_set(KS_EINVALID, "store: unknown durability %d", (int)durability);
    return store->ops->set_durability(store, durability);
}

int ks_store_set_checkpoints(struct ks_store *store, bool automatic)
{
    return store->ops->set_checkpoints(store, automatic);
}

int ks_store_checkpoint(struct ks_store *store)
{
    if (store->depth > 0)
        return ks_error_set(KS_EINVALID, "store: no checkpoint inside a transaction");
    return store->ops->checkpoint(store);
}

int ks_store_event_add(struct ks_store *store, const json_t *event)
{
    if (!json_is_object(event))
        return ks_error_set(KS_EINVALID, "store: an event must be a JSON object");
    return store->ops->record_add(store, "events", event);
}

int ks_store_events_list(json_t **out, struct ks_store *store, size_t max)
{
    return store->ops->records_list(out, store, "events", max ? max : 1000);
}

int ks_store_sync_begin(int64_t *out_id, struct ks_store *store, const char *commit)
{
    return store->ops->sync_begin(out_id, store, commit ? commit : "");
}

int ks_store_sync_finish(struct ks_store *store, int64_t id, const char *result,
                         const json_t *summary, const char *error)
{
    return store->ops->sync_finish(store, id, result, summary, error);
}

int ks_store_syncs_list(json_t **out, struct ks_store *store, size_t max)
{
    return store->ops->records_list(out, store, "syncs", max ? max : 1000);
}

int ks_store_check(struct ks_store *store)
{
    return store->ops->check(store);
}
