/*
 * test_store.c: the SQLite store against a real database file: CRUD with
 * expected revisions, uid stability, listing with label selectors, the
 * change log and its compaction, nested transactions, events and syncs,
 * schema migration on reopen, the object cache lists are served from
 * against a second connection, own writes, rollbacks, shared items and a
 * compacted change log, and crash safety (a writer killed with
 * SIGKILL mid-stream leaves a consistent, integrity-clean database).
 * The per-node index (schema 3): a list by node returns exactly the
 * objects bound to it (spec.nodeName) and follows binding, deletion and
 * rollback; the node-filtered change log gives a node its own objects'
 * puts and deletes plus every change of the kinds all nodes see, under the
 * compaction rule of the full log; a schema-2 database is migrated;
 * relaxed durability still commits. Two connections of one process queue
 * on the process's write lock: a writer waits for the other's transaction
 * and then commits after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/labels.h"
#include "reconciler/store/store.h"

struct fixture {
    char dir[64];
    char path[96];
    struct ks_store *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    if (ks_store_open_sqlite(&f->store, f->path, 128))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ks_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static json_t *cm(const char *ns, const char *name, const char *app)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind",
                     "ConfigMap", "metadata", "name", name, "namespace", ns, "labels", "app", app,
                     "data", "k", "v");
}

static int64_t rv_of(const json_t *obj)
{
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    assert_non_null(rv);
    return strtoll(rv, NULL, 10);
}

static void put_get_delete(void **state)
{
    struct fixture *f = *state;
    json_t *a = cm("default", "a", "web"), *got = NULL;
    int64_t rev = 0;
    assert_int_equal(ks_store_put(&rev, f->store, a, KS_STORE_MUST_NOT_EXIST), 0);
    assert_int_equal(rev, 1);
    assert_int_equal(ks_store_put(NULL, f->store, a, KS_STORE_MUST_NOT_EXIST), KS_ECONFLICT);
    struct ks_store_key key = {"ConfigMap", "default", "a"};
    assert_int_equal(ks_store_get(&got, f->store, &key), 0);
    assert_int_equal(rv_of(got), 1);
    const char *uid = json_string_value(json_object_get(json_object_get(got, "metadata"), "uid"));
    assert_int_equal(strlen(uid), 36);
    char uid_copy[40];
    snprintf(uid_copy, sizeof uid_copy, "%s", uid);
    /* the caller's object is not modified */
    assert_null(json_object_get(json_object_get(a, "metadata"), "uid"));

    /* update with the right and the wrong expected revision */
    assert_int_equal(ks_store_put(&rev, f->store, a, 5), KS_ECONFLICT);
    assert_non_null(strstr(ks_error_last(), "modified"));
    assert_int_equal(ks_store_put(&rev, f->store, a, 1), 0);
    assert_int_equal(rev, 2);
    json_decref(got);
    assert_int_equal(ks_store_get(&got, f->store, &key), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "metadata"), "uid")),
                        uid_copy);
    json_decref(got);

    assert_int_equal(ks_store_delete(NULL, f->store, &key, 1), KS_ECONFLICT);
    assert_int_equal(ks_store_delete(&rev, f->store, &key, 2), 0);
    assert_int_equal(rev, 3);
    assert_int_equal(ks_store_get(&got, f->store, &key), KS_ENOTFOUND);
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), KS_ENOTFOUND);
    json_decref(a);
}

static void list_with_selector(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"c", "a", "b"};
    const char *apps[] = {"web", "db", "web"};
    for (int i = 0; i < 3; i++) {
        json_t *o = cm("default", names[i], apps[i]);
        assert_int_equal(ks_store_put(NULL, f->store, o, KS_STORE_ANY_REVISION), 0);
        json_decref(o);
    }
    json_t *other = cm("prod", "z", "web");
    assert_int_equal(ks_store_put(NULL, f->store, other, KS_STORE_ANY_REVISION), 0);
    json_decref(other);

    struct ks_selector *sel = NULL;
    assert_int_equal(ks_selector_parse(&sel, "app=web"), 0);
    json_t *list = NULL;
    struct ks_store_list_opts opts = {.kind = "ConfigMap", .namespace_ = "default", .labels = sel};
    assert_int_equal(ks_store_list(&list, f->store, &opts), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(list, 0), "metadata"), "name")),
                        "b");
    json_decref(list);
    opts.namespace_ = NULL;
    assert_int_equal(ks_store_list(&list, f->store, &opts), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    opts.labels = NULL;
    opts.limit = 2;
    assert_int_equal(ks_store_list(&list, f->store, &opts), KS_ELIMIT);
    ks_selector_free(sel);
}

static void changes_and_compaction(void **state)
{
    struct fixture *f = *state;
    json_t *o = cm("default", "x", "web");
    for (int i = 0; i < 300; i++)
        assert_int_equal(ks_store_put(NULL, f->store, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->store), 0);
    assert_int_equal(rev, 300);
    json_t *changes = NULL;
    assert_int_equal(ks_store_changes_since(&changes, f->store, 295, 0), 0);
    assert_int_equal(json_array_size(changes), 5);
    json_t *first = json_array_get(changes, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "revision")), 296);
    assert_string_equal(json_string_value(json_object_get(first, "type")), "put");
    assert_int_equal(rv_of(json_object_get(first, "object")), 296);
    json_decref(changes);
    /* history is 128 entries: revision 10 has been compacted away */
    assert_int_equal(ks_store_changes_since(&changes, f->store, 10, 0), KS_ECONFLICT);
    assert_non_null(strstr(ks_error_last(), "relist"));
}

static void nested_transactions(void **state)
{
    struct fixture *f = *state;
    json_t *a = cm("default", "t1", "web"), *b = cm("default", "t2", "web");
    assert_int_equal(ks_store_begin(f->store), 0);
    assert_int_equal(ks_store_put(NULL, f->store, a, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_begin(f->store), 0);
    assert_int_equal(ks_store_put(NULL, f->store, b, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_commit(f->store), 0);
    assert_int_equal(ks_store_rollback(f->store), 0);
    int64_t rev = -1;
    assert_int_equal(ks_store_revision(&rev, f->store), 0);
    assert_int_equal(rev, 0);

    /* a failed step inside a transaction makes the outer commit roll back */
    assert_int_equal(ks_store_begin(f->store), 0);
    assert_int_equal(ks_store_put(NULL, f->store, a, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_put(NULL, f->store, a, KS_STORE_MUST_NOT_EXIST), KS_ECONFLICT);
    assert_int_equal(ks_store_commit(f->store), KS_ECONFLICT);
    assert_int_equal(ks_store_revision(&rev, f->store), 0);
    assert_int_equal(rev, 0);
    json_decref(a);
    json_decref(b);
}

static void events_and_syncs(void **state)
{
    struct fixture *f = *state;
    json_t *ev = json_pack("{s:s, s:s}", "type", "Warning", "reason", "Drift");
    assert_int_equal(ks_store_event_add(f->store, ev), 0);
    json_decref(ev);
    json_t *list = NULL;
    assert_int_equal(ks_store_events_list(&list, f->store, 0), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "reason")),
                        "Drift");
    assert_non_null(json_object_get(json_array_get(list, 0), "time"));
    json_decref(list);

    int64_t id = 0;
    assert_int_equal(ks_store_sync_begin(&id, f->store, "abc123"), 0);
    json_t *summary = json_pack("{s:i}", "created", 3);
    assert_int_equal(ks_store_sync_finish(f->store, id, "applied", summary, NULL), 0);
    assert_int_equal(ks_store_sync_finish(f->store, id + 10, "applied", summary, NULL),
                     KS_ENOTFOUND);
    json_decref(summary);
    assert_int_equal(ks_store_syncs_list(&list, f->store, 0), 0);
    json_t *row = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(row, "commit")), "abc123");
    assert_string_equal(json_string_value(json_object_get(row, "result")), "applied");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(row, "summary"), "created")), 3);
    json_decref(list);
}

static void reopen_keeps_state(void **state)
{
    struct fixture *f = *state;
    json_t *o = cm("default", "keep", "web");
    assert_int_equal(ks_store_put(NULL, f->store, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    ks_store_close(f->store);
    assert_int_equal(ks_store_open_sqlite(&f->store, f->path, 128), 0);
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->store), 0);
    assert_int_equal(rev, 1);
    assert_int_equal(ks_store_check(f->store), 0);
}

/* Child writes transactions of 10 objects in a loop until killed. */
static void writer_child(const char *path)
{
    struct ks_store *s = NULL;
    if (ks_store_open_sqlite(&s, path, 0))
        _exit(2);
    char name[32];
    for (int i = 0;; i++) {
        ks_store_begin(s);
        for (int j = 0; j < 10; j++) {
            snprintf(name, sizeof name, "o%d", j);
            json_t *o = cm("default", name, "web");
            ks_store_put(NULL, s, o, KS_STORE_ANY_REVISION);
            json_decref(o);
        }
        ks_store_commit(s);
    }
}

static void crash_leaves_consistent_state(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();
    if (pid == 0)
        writer_child(f->path);
    /* kill it mid-stream once it has committed something (a loaded machine
     * or a sanitizer build may need more than a few hundred ms for that) */
    int64_t seen = 0;
    for (int i = 0; i < 200 && seen == 0; i++) {
        usleep(50 * 1000);
        if (ks_store_revision(&seen, f->store) != 0)
            seen = 0;
    }
    usleep(100 * 1000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    ks_store_close(f->store);
    assert_int_equal(ks_store_open_sqlite(&f->store, f->path, 0), 0);
    assert_int_equal(ks_store_check(f->store), 0);
    int64_t rev = 0;
    assert_int_equal(ks_store_revision(&rev, f->store), 0);
    /* whole transactions only: the revision is a multiple of 10 */
    assert_true(rev > 0);
    assert_int_equal(rev % 10, 0);
    json_t *list = NULL;
    struct ks_store_list_opts opts = {.kind = "ConfigMap"};
    assert_int_equal(ks_store_list(&list, f->store, &opts), 0);
    assert_int_equal(json_array_size(list), 10);
    json_decref(list);
}

/* The parsed-body cache (sqlite.c) never answers stale data: a second
 * connection's update and delete are seen, a rolled-back revision that
 * another writer reuses is not served from the cache, and shared lists
 * hold the same content as copied ones. */
static json_t *data_of(struct ks_store *st, const char *name)
{
    json_t *obj = NULL;
    struct ks_store_key key = {"ConfigMap", "default", name};
    if (ks_store_get(&obj, st, &key))
        return NULL;
    json_t *d = json_incref(json_object_get(obj, "data"));
    json_decref(obj);
    return d;
}

static void cache_is_never_stale(void **state)
{
    struct fixture *f = *state;
    struct ks_store *other = NULL;
    assert_int_equal(ks_store_open_sqlite(&other, f->path, 128), 0);
    json_t *a = cm("default", "a", "x"), *list = NULL, *d = NULL;
    assert_int_equal(ks_store_put(NULL, f->store, a, KS_STORE_ANY_REVISION), 0);
    struct ks_store_list_opts all = {.kind = "ConfigMap"},
                              shared = {.kind = "ConfigMap", .shared = true};
    assert_int_equal(ks_store_list(&list, f->store, &all), 0); /* now cached */
    json_decref(list);
    /* the other connection changes it: the cached body is not served */
    json_object_set_new(json_object_get(a, "data"), "k", json_string("changed"));
    assert_int_equal(ks_store_put(NULL, other, a, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_list(&list, f->store, &shared), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(list, 0), "data"), "k")),
        "changed");
    json_decref(list);
    /* copied and shared lists agree */
    json_t *copied = NULL;
    assert_int_equal(ks_store_list(&list, f->store, &shared), 0);
    assert_int_equal(ks_store_list(&copied, f->store, &all), 0);
    assert_true(json_equal(list, copied));
    assert_ptr_not_equal(json_array_get(list, 0), json_array_get(copied, 0));
    json_decref(list);
    json_decref(copied);
    /* the other connection deletes it: gone from lists and gets */
    struct ks_store_key key = {"ConfigMap", "default", "a"};
    assert_int_equal(ks_store_delete(NULL, other, &key, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_list(&list, f->store, &shared), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_null(data_of(f->store, "a"));
    /* a write seen inside a transaction that rolls back, then another
     * writer takes the same revision with other content */
    json_t *b = cm("default", "b", "y");
    assert_int_equal(ks_store_begin(f->store), 0);
    assert_int_equal(ks_store_put(NULL, f->store, b, KS_STORE_ANY_REVISION), 0);
    assert_non_null(d = data_of(f->store, "b")); /* cached at the uncommitted revision */
    json_decref(d);
    assert_int_equal(ks_store_rollback(f->store), 0);
    json_object_set_new(json_object_get(b, "data"), "k", json_string("other writer"));
    assert_int_equal(ks_store_put(NULL, other, b, KS_STORE_ANY_REVISION), 0);
    assert_non_null(d = data_of(f->store, "b"));
    assert_string_equal(json_string_value(json_object_get(d, "k")), "other writer");
    json_decref(d);
    json_decref(a);
    json_decref(b);
    ks_store_close(other);
}

/* "ns/name k=data.k" of every item of a ConfigMap list, one string. */
static char *cm_summary(const json_t *list)
{
    static char buf[4096];
    size_t at = 0;
    size_t i;
    json_t *o;
    buf[0] = '\0';
    json_array_foreach(list, i, o)
    {
        const json_t *meta = json_object_get(o, "metadata");
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s/%s=%s", i ? " " : "",
                               json_string_value(json_object_get(meta, "namespace")),
                               json_string_value(json_object_get(meta, "name")),
                               json_string_value(json_object_get(json_object_get(o, "data"), "k")));
        if (at >= sizeof buf)
            break;
    }
    return buf;
}

static void put_cm(struct ks_store *st, const char *ns, const char *name, const char *k)
{
    json_t *c = cm(ns, name, "x");
    json_object_set_new(json_object_get(c, "data"), "k", json_string(k));
    assert_int_equal(ks_store_put(NULL, st, c, KS_STORE_ANY_REVISION), 0);
    json_decref(c);
}

static char *list_summary(struct ks_store *st, const char *ns, bool shared)
{
    json_t *list = NULL;
    struct ks_store_list_opts o = {.kind = "ConfigMap", .namespace_ = ns, .shared = shared};
    assert_int_equal(ks_store_list(&list, st, &o), 0);
    char *s = cm_summary(list);
    json_decref(list);
    return s;
}

/* Lists are served from the in-memory object cache: every write is seen
 * (another connection's puts and deletes, this connection's own inside and
 * after a transaction), rollbacks restore the committed state, the order
 * and namespace filter are SQL's, shared items are never modified, and a
 * change log compacted past the cache reloads it. */
static void object_cache_follows_every_writer(void **state)
{
    struct fixture *f = *state;
    struct ks_store *other = NULL;
    assert_int_equal(ks_store_open_sqlite(&other, f->path, 128), 0);
    put_cm(f->store, "a", "z", "1");
    put_cm(f->store, "a-b", "c", "1");
    assert_string_equal(list_summary(f->store, NULL, true), "a/z=1 a-b/c=1"); /* loaded */
    /* another connection: a new object, an update, a new namespace */
    put_cm(other, "a", "b", "2");
    put_cm(other, "a-b", "c", "2");
    put_cm(other, "0", "n", "2"); /* sorts first, as in SQL */
    assert_string_equal(list_summary(f->store, NULL, true), "0/n=2 a/b=2 a/z=1 a-b/c=2");
    assert_string_equal(list_summary(f->store, "a", true), "a/b=2 a/z=1");
    assert_string_equal(list_summary(f->store, "a-b", false), "a-b/c=2");
    assert_string_equal(list_summary(f->store, "nope", false), "");
    /* the cache agrees with a fresh connection's scan */
    struct ks_store *fresh = NULL;
    assert_int_equal(ks_store_open_sqlite(&fresh, f->path, 128), 0);
    assert_string_equal(list_summary(fresh, NULL, false), "0/n=2 a/b=2 a/z=1 a-b/c=2");
    /* another connection deletes */
    struct ks_store_key key = {"ConfigMap", "a", "b"};
    assert_int_equal(ks_store_delete(NULL, other, &key, KS_STORE_ANY_REVISION), 0);
    assert_string_equal(list_summary(f->store, "a", true), "a/z=1");
    /* shared items are not modified by later writes; copies are the caller's */
    json_t *held = NULL, *copies = NULL;
    struct ks_store_list_opts sh = {.kind = "ConfigMap", .namespace_ = "a", .shared = true},
                              cp = {.kind = "ConfigMap", .namespace_ = "a"};
    assert_int_equal(ks_store_list(&held, f->store, &sh), 0);
    assert_int_equal(ks_store_list(&copies, f->store, &cp), 0);
    json_object_set_new(json_object_get(json_array_get(copies, 0), "data"), "k",
                        json_string("scribbled"));
    put_cm(f->store, "a", "z", "3");
    assert_string_equal(cm_summary(held), "a/z=1");
    assert_string_equal(list_summary(f->store, "a", true), "a/z=3");
    json_decref(held);
    json_decref(copies);
    /* own writes inside a transaction are listed, and undone by a rollback */
    assert_int_equal(ks_store_begin(f->store), 0);
    put_cm(f->store, "a", "y", "4");
    put_cm(f->store, "a", "z", "4");
    struct ks_store_key kc = {"ConfigMap", "a-b", "c"};
    assert_int_equal(ks_store_delete(NULL, f->store, &kc, KS_STORE_ANY_REVISION), 0);
    assert_string_equal(list_summary(f->store, NULL, true), "0/n=2 a/y=4 a/z=4");
    assert_int_equal(ks_store_rollback(f->store), 0);
    assert_string_equal(list_summary(f->store, NULL, true), "0/n=2 a/z=3 a-b/c=2");
    /* the revisions the rollback freed are taken by another writer */
    put_cm(other, "a", "y", "5");
    put_cm(other, "a", "z", "5");
    assert_string_equal(list_summary(f->store, NULL, true), "0/n=2 a/y=5 a/z=5 a-b/c=2");
    /* committed own writes stay */
    assert_int_equal(ks_store_begin(f->store), 0);
    put_cm(f->store, "a", "x", "6");
    assert_int_equal(ks_store_commit(f->store), 0);
    assert_string_equal(list_summary(other, "a", false), "a/x=6 a/y=5 a/z=5");
    assert_string_equal(list_summary(f->store, "a", false), "a/x=6 a/y=5 a/z=5");
    /* a kind first listed inside a transaction that rolls back */
    assert_int_equal(ks_store_begin(f->store), 0);
    json_t *sec = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Secret",
                            "metadata", "name", "s", "namespace", "a");
    assert_int_equal(ks_store_put(NULL, f->store, sec, KS_STORE_ANY_REVISION), 0);
    json_t *secrets = NULL;
    struct ks_store_list_opts so = {.kind = "Secret", .shared = true};
    assert_int_equal(ks_store_list(&secrets, f->store, &so), 0);
    assert_int_equal(json_array_size(secrets), 1);
    json_decref(secrets);
    assert_int_equal(ks_store_rollback(f->store), 0);
    assert_int_equal(ks_store_list(&secrets, f->store, &so), 0);
    assert_int_equal(json_array_size(secrets), 0);
    json_decref(secrets);
    json_decref(sec);
    /* another connection writes far more than the change log keeps (128) */
    for (int i = 0; i < 400; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%03d", i % 50);
        put_cm(other, "m", name, i < 350 ? "old" : "new");
    }
    for (int i = 0; i < 25; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%03d", i * 2);
        struct ks_store_key km = {"ConfigMap", "m", name};
        assert_int_equal(ks_store_delete(NULL, other, &km, KS_STORE_ANY_REVISION), 0);
    }
    json_t *ms = NULL, *fresh_ms = NULL;
    struct ks_store_list_opts mo = {.kind = "ConfigMap", .namespace_ = "m"};
    assert_int_equal(ks_store_list(&ms, f->store, &mo), 0);
    assert_int_equal(ks_store_list(&fresh_ms, fresh, &mo), 0);
    assert_int_equal(json_array_size(ms), 25);
    assert_true(json_equal(ms, fresh_ms));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(ms, 0), "data"), "k")),
        "new");
    json_decref(ms);
    json_decref(fresh_ms);
    ks_store_close(fresh);
    ks_store_close(other);
}

static json_t *pod(const char *ns, const char *name, const char *node)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[]}}", "apiVersion", "v1", "kind", "Pod",
                          "metadata", "name", name, "namespace", ns, "spec", "containers");
    if (node)
        json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
    return p;
}

static void put_pod(struct ks_store *s, const char *ns, const char *name, const char *node)
{
    json_t *p = pod(ns, name, node);
    assert_int_equal(ks_store_put(NULL, s, p, KS_STORE_ANY_REVISION), 0);
    json_decref(p);
}

/* "ns/name,ns/name" of a list by node. */
static void names_on(char *out, size_t cap, struct ks_store *s, const char *kind, const char *node)
{
    json_t *list = NULL, *o;
    size_t i, len = 0;
    struct ks_store_list_opts lo = {.kind = kind, .node = node, .shared = true};
    assert_int_equal(ks_store_list(&list, s, &lo), 0);
    out[0] = '\0';
    json_array_foreach(list, i, o)
    {
        const json_t *m = json_object_get(o, "metadata");
        len += (size_t)snprintf(out + len, cap - len, "%s%s/%s", i ? "," : "",
                                json_string_value(json_object_get(m, "namespace")),
                                json_string_value(json_object_get(m, "name")));
        assert_true(len < cap);
    }
    json_decref(list);
}

static void list_by_node(void **state)
{
    struct fixture *f = *state;
    char got[512];
    put_pod(f->store, "default", "b", "n1");
    put_pod(f->store, "default", "a", "n2");
    put_pod(f->store, "prod", "a", "n1");
    put_pod(f->store, "default", "pending", NULL);
    /* another kind with a nodeName is not a pod */
    json_t *other = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                              "ConfigMap", "metadata", "name", "b", "spec", "nodeName", "n1");
    assert_int_equal(ks_store_put(NULL, f->store, other, KS_STORE_ANY_REVISION), 0);
    json_decref(other);

    names_on(got, sizeof got, f->store, "Pod", "n1");
    assert_string_equal(got, "default/b,prod/a");
    names_on(got, sizeof got, f->store, "Pod", "n2");
    assert_string_equal(got, "default/a");
    names_on(got, sizeof got, f->store, "Pod", "n3");
    assert_string_equal(got, "");
    names_on(got, sizeof got, f->store, "ConfigMap", "n1");
    assert_string_equal(got, "default/b");

    /* binding the pending pod moves it into n2's list; deleting removes it */
    put_pod(f->store, "default", "pending", "n2");
    names_on(got, sizeof got, f->store, "Pod", "n2");
    assert_string_equal(got, "default/a,default/pending");
    struct ks_store_key key = {"Pod", "default", "a"};
    assert_int_equal(ks_store_delete(NULL, f->store, &key, KS_STORE_ANY_REVISION), 0);
    names_on(got, sizeof got, f->store, "Pod", "n2");
    assert_string_equal(got, "default/pending");

    /* a rolled-back binding is not listed */
    assert_int_equal(ks_store_begin(f->store), 0);
    put_pod(f->store, "default", "late", "n3");
    names_on(got, sizeof got, f->store, "Pod", "n3");
    assert_string_equal(got, "default/late");
    assert_int_equal(ks_store_rollback(f->store), 0);
    names_on(got, sizeof got, f->store, "Pod", "n3");
    assert_string_equal(got, "");

    /* a node list is over all namespaces: both filters at once are refused */
    json_t *list = NULL;
    struct ks_store_list_opts bad = {.kind = "Pod", .node = "n1", .namespace_ = "default"};
    assert_int_equal(ks_store_list(&list, f->store, &bad), KS_EINVALID);
}

/* "type:kind/name" of each change, space separated. */
static void change_text(char *out, size_t cap, const json_t *changes)
{
    size_t i, len = 0;
    json_t *c;
    out[0] = '\0';
    json_array_foreach(changes, i, c)
    {
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%s/%s", i ? " " : "",
                                json_string_value(json_object_get(c, "type")),
                                json_string_value(json_object_get(c, "kind")),
                                json_string_value(json_object_get(c, "name")));
        assert_true(len < cap);
    }
}

static void changes_for_node(void **state)
{
    struct fixture *f = *state;
    static const char *const all[] = {"ConfigMap", "Service", NULL};
    char got[1024];
    json_t *changes = NULL;
    int64_t since = 0;
    assert_int_equal(ks_store_revision(&since, f->store), 0);
    put_pod(f->store, "default", "mine", NULL); /* created unbound: nobody's */
    put_pod(f->store, "default", "mine", "n1"); /* bound to n1 */
    put_pod(f->store, "default", "theirs", "n2");
    json_t *cm = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "cfg");
    assert_int_equal(ks_store_put(NULL, f->store, cm, KS_STORE_ANY_REVISION), 0);
    json_decref(cm);
    json_t *dep = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "apps/v1", "kind", "Deployment",
                            "metadata", "name", "web");
    assert_int_equal(ks_store_put(NULL, f->store, dep, KS_STORE_ANY_REVISION), 0);
    json_decref(dep);
    struct ks_store_key mine = {"Pod", "default", "mine"}, theirs = {"Pod", "default", "theirs"};
    assert_int_equal(ks_store_delete(NULL, f->store, &mine, KS_STORE_ANY_REVISION), 0);
    assert_int_equal(ks_store_delete(NULL, f->store, &theirs, KS_STORE_ANY_REVISION), 0);

    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 0, "n1", all), 0);
    change_text(got, sizeof got, changes);
    assert_string_equal(got, "put:Pod/mine put:ConfigMap/cfg delete:Pod/mine");
    /* the put carries the object, the delete does not */
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(changes, 0), "object"), "spec"),
            "nodeName")),
        "n1");
    assert_null(json_object_get(json_array_get(changes, 2), "object"));
    json_decref(changes);

    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 0, "n2", NULL), 0);
    change_text(got, sizeof got, changes);
    assert_string_equal(got, "put:Pod/theirs delete:Pod/theirs");
    json_decref(changes);

    /* max: the oldest first */
    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 2, "n1", all), 0);
    change_text(got, sizeof got, changes);
    assert_string_equal(got, "put:Pod/mine put:ConfigMap/cfg");
    json_decref(changes);

    /* the unfiltered log is unchanged: 7 changes */
    assert_int_equal(ks_store_changes_since(&changes, f->store, since, 0), 0);
    assert_int_equal(json_array_size(changes), 7);

    /* the same changes as stored text, each with the node recorded: the text
     * is the object changes_since parses, the node that of the object put or
     * deleted (none for the ConfigMap and the Deployment) */
    json_t *texts = NULL;
    assert_int_equal(ks_store_changes_text(&texts, f->store, since, 0), 0);
    assert_int_equal(json_array_size(texts), 7);
    /* put mine (unbound), put mine, put theirs, cfg, web, delete mine, delete theirs */
    static const char *const nodes[] = {NULL, "n1", "n2", NULL, NULL, "n1", "n2"};
    for (size_t i = 0; i < 7; i++) {
        const json_t *c = json_array_get(changes, i), *t = json_array_get(texts, i);
        assert_int_equal(json_integer_value(json_object_get(c, "revision")),
                         json_integer_value(json_object_get(t, "revision")));
        assert_string_equal(json_string_value(json_object_get(c, "type")),
                            json_string_value(json_object_get(t, "type")));
        assert_null(json_object_get(t, "object"));
        const json_t *obj = json_object_get(c, "object"), *text = json_object_get(t, "text");
        if (!obj) {
            assert_null(text);
        } else {
            json_t *parsed = json_loads(json_string_value(text), 0, NULL);
            assert_true(json_equal(parsed, obj));
            json_decref(parsed);
        }
        const char *node = json_string_value(json_object_get(t, "node"));
        if (nodes[i])
            assert_string_equal(node, nodes[i]);
        else
            assert_null(node);
    }
    json_decref(texts);
    json_decref(changes);

    /* limits and the compaction rule of the full log */
    static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 0, "n1", many),
                     KS_ELIMIT);
    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 0, "", all), KS_EINVALID);
    for (int i = 0; i < 200; i++)
        put_pod(f->store, "default", "busy", "n2");
    assert_int_equal(ks_store_changes_for_node(&changes, f->store, since, 0, "n1", all),
                     KS_ECONFLICT);
    assert_non_null(strstr(ks_error_last(), "relist"));
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int r = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (r != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A schema-2 database (no node columns) is migrated at open. */
static void migrates_schema_2(void **state)
{
    struct fixture *f = *state;
    char got[256];
    put_pod(f->store, "default", "old", "n1");
    put_pod(f->store, "default", "other", "n2");
    ks_store_close(f->store);
    f->store = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_ok(db, "DROP INDEX objects_node; ALTER TABLE objects DROP COLUMN node;"
                "ALTER TABLE changes DROP COLUMN node; PRAGMA user_version=2");
    sqlite3_close(db);

    assert_int_equal(ks_store_open_sqlite(&f->store, f->path, 128), 0);
    names_on(got, sizeof got, f->store, "Pod", "n1");
    assert_string_equal(got, "default/old");
    json_t *changes = NULL;
    assert_int_equal(ks_store_changes_for_node(&changes, f->store, 0, 0, "n2", NULL), 0);
    change_text(got, sizeof got, changes);
    assert_string_equal(got, "put:Pod/other");
    json_decref(changes);
}

static void relaxed_durability_commits(void **state)
{
    struct fixture *f = *state;
    char got[128];
    assert_int_equal(ks_store_set_durability(f->store, KS_STORE_RELAXED), 0);
    put_pod(f->store, "default", "fast", "n1");
    assert_int_equal(ks_store_set_durability(f->store, KS_STORE_DURABLE), 0);
    assert_int_equal(ks_store_set_durability(f->store, (enum ks_store_durability)7), KS_EINVALID);
    /* another connection sees the relaxed commit */
    struct ks_store *other = NULL;
    assert_int_equal(ks_store_open_sqlite(&other, f->path, 128), 0);
    names_on(got, sizeof got, other, "Pod", "n1");
    assert_string_equal(got, "default/fast");
    ks_store_close(other);
}

struct queued_writer {
    const char *path;
    int rc;
    int64_t rev;
};

static void *queued_writer_main(void *arg)
{
    struct queued_writer *q = arg;
    struct ks_store *s = NULL;
    q->rc = ks_store_open_sqlite(&s, q->path, 128);
    if (q->rc == 0) {
        json_t *o = cm("default", "second", "web");
        q->rc = ks_store_put(&q->rev, s, o, KS_STORE_ANY_REVISION);
        json_decref(o);
    }
    ks_store_close(s);
    return NULL;
}

static void writers_queue_in_process(void **state)
{
    struct fixture *f = *state;
    struct queued_writer q = {f->path, -1, 0};
    pthread_t th;
    int64_t first = 0;
    assert_int_equal(ks_store_begin(f->store), 0);
    assert_int_equal(pthread_create(&th, NULL, queued_writer_main, &q), 0);
    usleep(200 * 1000); /* the other writer is waiting for our transaction */
    json_t *o = cm("default", "first", "web");
    assert_int_equal(ks_store_put(&first, f->store, o, KS_STORE_ANY_REVISION), 0);
    json_decref(o);
    assert_int_equal(ks_store_commit(f->store), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(q.rc, 0);
    assert_int_equal(first, 1);
    assert_int_equal(q.rev, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_is_never_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(object_cache_follows_every_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(list_with_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_and_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(events_and_syncs, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_leaves_consistent_state, setup, teardown),
        cmocka_unit_test_setup_teardown(list_by_node, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_for_node, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_schema_2, setup, teardown),
        cmocka_unit_test_setup_teardown(relaxed_durability_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(writers_queue_in_process, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
