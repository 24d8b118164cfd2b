/*
 * sqlite.c: the SQLite store backend (the embedded default).
 *
 * One database file in the state dir, WAL journal, synchronous=FULL so an
 * acknowledged apply survives power loss (a connection may relax to NORMAL
 * with ks_store_set_durability: still crash-consistent; the next FULL
 * commit's fsync of the shared WAL covers its commits); a crash at any
 * point leaves the old or the new state because every mutation runs inside
 * a transaction (its own, or the caller's outer one). Objects carry the
 * node they are bound to (spec.nodeName) in an indexed column, and change
 * rows carry it too (for a delete, the deleted object's), so one node's
 * pods and its watch are answered without parsing anybody else's. Statements are prepared once and
 * reused. The schema is versioned in `meta`; migrations run in order at open.
 *
 * Lists are answered from memory: each connection keeps every object of a
 * kind it has listed, parsed, and before answering applies the change log
 * after the revision it last saw (other connections' commits; its own
 * writes go in as they are made, and a rollback undoes them), so a list of
 * 5,000 pods costs no SQL scan and no JSON parse of unchanged objects
 * ("the object cache" below). Items of a shared list are the cached
 * objects themselves (read only); the others are deep copies. Gets and a
 * node's list read SQL and take the body from the cache when the revision
 * matches. Reads go through a memory map of the file
 * (mmap_size 256 MB) instead of pread into freshly allocated page buffers.
 */
#include "reconciler/store/backend.h"

#include "core/deadline.h"
#include "core/error.h"
#include "core/buf.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum stmt_id {
    ST_GET,
    ST_UPSERT,
    ST_DELETE,
    ST_CHANGE_ADD,
    ST_CHANGES,
    ST_CHANGES_TEXT,
    ST_COMPACT,
    ST_META_GET,
    ST_META_SET,
    ST_LIST_NS,
    ST_LIST_ALL,
    ST_LIST_NODE,
    ST_CHANGES_NODE,
    ST_EVENT_ADD,
    ST_EVENTS,
    ST_SYNC_BEGIN,
    ST_SYNC_FINISH,
    ST_SYNCS,
    ST_KINDS,
    ST_MANAGED,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_GET] = "SELECT body, revision, node FROM objects WHERE kind=?1 AND namespace=?2 AND "
               "name=?3",
    [ST_UPSERT] = "INSERT INTO objects(kind, namespace, name, uid, revision, created_revision, "
                  "owner_uid, source, applied_commit, body, content_hash, node) "
                  "VALUES(?1,?2,?3,?4,?5,?5,?6,?7,?8,?9,?10,?11) "
                  "ON CONFLICT(kind, namespace, name) DO UPDATE SET uid=?4, revision=?5, "
                  "owner_uid=?6, source=?7, applied_commit=?8, body=?9, content_hash=?10, "
                  "node=?11",
    [ST_DELETE] = "DELETE FROM objects WHERE kind=?1 AND namespace=?2 AND name=?3",
    [ST_CHANGE_ADD] = "INSERT INTO changes(revision, type, kind, namespace, name, body, node) "
                      "VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [ST_CHANGES] = "SELECT revision, type, kind, namespace, name, body FROM changes "
                   "WHERE revision > ?1 ORDER BY revision LIMIT ?2",
    [ST_CHANGES_TEXT] = "SELECT revision, type, kind, namespace, name, body, node FROM changes "
                        "WHERE revision > ?1 ORDER BY revision LIMIT ?2",
    [ST_COMPACT] = "DELETE FROM changes WHERE revision <= ?1",
    [ST_META_GET] = "SELECT value FROM meta WHERE key=?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET value=?2",
    [ST_LIST_NS] = "SELECT body, revision, namespace, name FROM objects WHERE kind=?1 AND "
                   "namespace=?2 ORDER BY name",
    [ST_LIST_ALL] = "SELECT body, revision, namespace, name FROM objects WHERE kind=?1 ORDER BY "
                    "namespace, name",
    /* objects_node (a partial index: node=?2 implies node IS NOT NULL) */
    [ST_LIST_NODE] = "SELECT body, revision, namespace, name FROM objects WHERE kind=?1 AND "
                     "node=?2 ORDER BY namespace, name",
    [ST_CHANGES_NODE] = "SELECT revision, type, kind, namespace, name, body FROM changes "
                        "WHERE revision > ?1 AND (node=?3 OR kind IN (?4,?5,?6,?7,?8,?9,?10,?11)) "
                        "ORDER BY revision LIMIT ?2",
    [ST_EVENT_ADD] = "INSERT INTO events(revision, time, body) VALUES(?1, ?2, ?3)",
    [ST_EVENTS] = "SELECT body, id FROM (SELECT id, body FROM events ORDER BY id DESC LIMIT ?1) "
                  "ORDER BY id",
    [ST_SYNC_BEGIN] = "INSERT INTO syncs(commit_sha, started, result) VALUES(?1, ?2, 'running')",
    [ST_SYNC_FINISH] = "UPDATE syncs SET finished=?2, result=?3, summary=?4, error=?5 WHERE id=?1",
    [ST_SYNCS] = "SELECT id, commit_sha, started, finished, result, summary, error FROM "
                 "(SELECT * FROM syncs ORDER BY id DESC LIMIT ?1) ORDER BY id",
    [ST_KINDS] = "SELECT DISTINCT kind FROM objects ORDER BY kind",
    [ST_MANAGED] = "SELECT kind, namespace, name, source, content_hash FROM objects "
                   "WHERE source IS NOT NULL ORDER BY kind, namespace, name",
    /* prepared once: sqlite3_exec would parse them again for every write */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

/* Schema migrations; entry i brings the schema from version i to i+1. */
static const char *const migrations[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE objects(kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  uid TEXT NOT NULL, revision INTEGER NOT NULL, created_revision INTEGER NOT NULL,"
    "  owner_uid TEXT, source TEXT, applied_commit TEXT, body TEXT NOT NULL,"
    "  PRIMARY KEY(kind, namespace, name)) WITHOUT ROWID;"
    "CREATE INDEX objects_owner ON objects(owner_uid);"
    "CREATE TABLE changes(revision INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL,"
    "  namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, revision INTEGER NOT NULL, time TEXT NOT NULL,"
    "  body TEXT NOT NULL);"
    "CREATE TABLE syncs(id INTEGER PRIMARY KEY, commit_sha TEXT NOT NULL, started TEXT NOT NULL,"
    "  finished TEXT, result TEXT NOT NULL, summary TEXT, error TEXT);"
    "INSERT INTO meta(key, value) VALUES('revision', '0'), ('compacted', '0');",
    /* 1 -> 2: hash of the applied desired content, so plans need no bodies */
    "ALTER TABLE objects ADD COLUMN content_hash TEXT;",
    /* 2 -> 3: the node an object is bound to (spec.nodeName), indexed, so a
     * node's pods and its watch cost O(its objects), not O(all pods) */
    "ALTER TABLE objects ADD COLUMN node TEXT;"
    "UPDATE objects SET node = CASE json_type(body, '$.spec.nodeName') WHEN 'text' THEN "
    "  json_extract(body, '$.spec.nodeName') END;"
    "CREATE INDEX objects_node ON objects(kind, node, namespace, name) WHERE node IS NOT NULL;"
    "ALTER TABLE changes ADD COLUMN node TEXT;"
    "UPDATE changes SET node = CASE json_type(body, '$.spec.nodeName') WHEN 'text' THEN "
    "  json_extract(body, '$.spec.nodeName') END WHERE body IS NOT NULL;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- the write lock shared by the connections of one process ------------
 * SQLite's own lock is taken by polling: a connection that finds it busy
 * sleeps (1, 2, 5 ... 100 ms) and tries again, so a writer that commits
 * and begins its next transaction at once (the controller pass, one
 * transaction per owner) can keep another connection of the same process
 * (the API thread's heartbeats and pod status) waiting for seconds. Writers
 * of one database file in this process therefore queue first on a FIFO
 * lock of their own, held from BEGIN IMMEDIATE to COMMIT/ROLLBACK: each
 * waiter gets the lock when the transaction before it ends. The wait is
 * bounded like SQLite's busy timeout (WRITE_LOCK_WAIT_MS, then
 * KS_ECONFLICT). Other processes still meet SQLite's lock. */

#define WRITE_LOCK_WAIT_MS 5000

struct lock_waiter {
    struct lock_waiter *next;
    bool granted;
};

struct write_lock {
    dev_t dev;
    ino_t ino;
    int refs;
    bool held;
    struct lock_waiter *head, **tail;
    struct write_lock *next;
};

static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t locks_cv = PTHREAD_COND_INITIALIZER; /* CLOCK_REALTIME */
static struct write_lock *locks;

/* The lock of the file at path (shared with other connections to it), or
 * NULL when the file cannot be identified. */
static struct write_lock *write_lock_ref(const char *path)
{
    struct stat st;
    struct write_lock *wl;
    if (stat(path, &st) != 0)
        return NULL;
    pthread_mutex_lock(&locks_mu);
    for (wl = locks; wl; wl = wl->next)
        if (wl->dev == st.st_dev && wl->ino == st.st_ino)
            break;
    if (!wl && (wl = calloc(1, sizeof *wl)) != NULL) {
        wl->dev = st.st_dev;
        wl->ino = st.st_ino;
        wl->tail = &wl->head;
        wl->next = locks;
        locks = wl;
    }
    if (wl)
        wl->refs++;
    pthread_mutex_unlock(&locks_mu);
    return wl;
}

static void write_lock_unref(struct write_lock *wl)
{
    if (!wl)
        return;
    pthread_mutex_lock(&locks_mu);
    if (--wl->refs == 0) {
        struct write_lock **pp = &locks;
        while (*pp != wl)
            pp = &(*pp)->next;
        *pp = wl->next;
        free(wl);
    }
    pthread_mutex_unlock(&locks_mu);
}

static int write_lock_acquire(struct write_lock *wl)
{
    if (!wl)
        return 0;
    struct lock_waiter me = {NULL, false};
    struct timespec deadline;
    int rc = 0;
    pthread_mutex_lock(&locks_mu);
    if (!wl->held && !wl->head) {
        wl->held = true;
        goto done;
    }
    *wl->tail = &me;
    wl->tail = &me.next;
    deadline = ks_deadline_after_ms(CLOCK_REALTIME, WRITE_LOCK_WAIT_MS);
    while (!me.granted) {
        if (pthread_cond_timedwait(&locks_cv, &locks_mu, &deadline) == ETIMEDOUT && !me.granted) {
            struct lock_waiter **pp = &wl->head;
            while (*pp != &me)
                pp = &(*pp)->next;
            *pp = me.next;
            if (wl->tail == &me.next)
                wl->tail = pp;
            rc = ks_error_set(KS_ECONFLICT,
                              "store: another writer of this process held the database for "
                              "%d ms",
                              WRITE_LOCK_WAIT_MS);
            break;
        }
    }
done:
    pthread_mutex_unlock(&locks_mu);
    return rc;
}

static void write_lock_release(struct write_lock *wl)
{
    if (!wl)
        return;
    pthread_mutex_lock(&locks_mu);
    struct lock_waiter *next = wl->head;
    if (next) { /* handed over: held stays true */
        wl->head = next->next;
        if (!wl->head)
            wl->tail = &wl->head;
        next->granted = true;
        pthread_cond_broadcast(&locks_cv);
    } else {
        wl->held = false;
    }
    pthread_mutex_unlock(&locks_mu);
}

struct sqlite_store {
    struct ks_store base; /* first: the public handle */
    sqlite3 *db;
    struct write_lock *wlock; /* taken for this connection's write transactions */
    bool locked;              /* wlock is held by this connection */
    sqlite3_stmt *stmts[ST_COUNT];
    unsigned history;
    /* the object cache (below) */
    struct kind_cache *kinds;
    size_t nkinds, kinds_cap;
    int64_t synced;          /* the revision the cache reflects; -1: nothing cached */
    int64_t synced_at_begin; /* synced when the open transaction began */
    json_t *undo;            /* open transaction: [[kind index, key, revision, object|null]] */
    bool undo_lost;          /* an undo record could not be kept: a rollback drops all */
};

static struct sqlite_store *S(struct ks_store *s)
{
    return (struct sqlite_store *)s;
}

static int db_error(struct sqlite_store *s, const char *what)
{
    int code = sqlite3_errcode(s->db);
    return ks_error_set(code == SQLITE_BUSY || code == SQLITE_LOCKED ? KS_ECONFLICT : KS_EIO,
                        "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->stmts[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int exec_sql(struct sqlite_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = ks_error_set(KS_EIO, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* BEGIN IMMEDIATE, COMMIT or ROLLBACK through its prepared statement,
 * with the process's write lock taken before BEGIN and given back once the
 * transaction has ended (a failed COMMIT leaves it open: rolled back). */
static int txn_sql(struct sqlite_store *s, enum stmt_id id)
{
    int rc = 0;
    if (id == ST_BEGIN && !s->locked) {
        if ((rc = write_lock_acquire(s->wlock)) != 0)
            return rc;
        s->locked = true;
    }
    sqlite3_stmt *st = stmt(s, id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        rc = ks_error_set(KS_EIO, "store: %s: %s", sqlite3_sql(st), sqlite3_errmsg(s->db));
    if (id == ST_COMMIT && rc && !sqlite3_get_autocommit(s->db)) {
        sqlite3_stmt *rb = stmt(s, ST_ROLLBACK);
        sqlite3_step(rb);
        sqlite3_reset(rb);
    }
    if (s->locked && sqlite3_get_autocommit(s->db)) { /* no transaction open (any more) */
        write_lock_release(s->wlock);
        s->locked = false;
    }
    return rc;
}

/* sqlite3_step of a writing statement: outside a transaction of this
 * connection it commits on its own, so it queues on the process's write
 * lock like a transaction would. */
static int write_step(struct sqlite_store *s, sqlite3_stmt *st)
{
    bool own = !s->locked;
    if (own && write_lock_acquire(s->wlock) != 0)
        return SQLITE_BUSY;
    int r = sqlite3_step(st);
    if (own)
        write_lock_release(s->wlock);
    return r;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void now_iso(char dst[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(dst, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int meta_get_i64(int64_t *out, struct sqlite_store *s, const char *key)
{
    sqlite3_stmt *st = stmt(s, ST_META_GET);
    bind_text(st, 1, key);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st); /* a statement left mid-row pins an old read snapshot */
        return 0;
    }
    if (r == SQLITE_DONE)
        return ks_error_set(KS_EIO, "store: meta key %s missing", key);
    return db_error(s, "reading meta");
}

static int meta_set_text(struct sqlite_store *s, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(s, ST_META_SET);
    bind_text(st, 1, key);
    bind_text(st, 2, value);
    return write_step(s, st) == SQLITE_DONE ? 0 : db_error(s, "writing meta");
}

static int meta_set_i64(struct sqlite_store *s, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return meta_set_text(s, key, buf);
}

static json_t *column_json(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (!text)
        return NULL;
    return json_loadb(text, (size_t)sqlite3_column_bytes(st, col), 0, NULL);
}

/* ---- the object cache -----------------------------------------------------
 * Per kind, once a list asked for it: every object of the kind, parsed,
 * keyed "namespace\x01name" (\x01 sorts below every character a name may
 * hold, so the key order is SQL's ORDER BY namespace, name). The cache
 * reflects revision s->synced: before it answers, it reads the change log
 * after that revision (other connections' commits) and applies the puts
 * and deletes of cached kinds; a change older than the entry it would
 * replace is skipped, so applying a change twice or after a later scan is
 * harmless. Committed revisions are contiguous, so a gap in the log means
 * it was compacted past s->synced: then every kind is dropped and loaded
 * again. This connection's own writes go into the cache as they are made
 * (the stored object itself, shared read-only with lists). Within a
 * transaction every cache change is recorded in s->undo so a rollback puts
 * the committed state back (kinds loaded inside it are dropped). */

#define CHANGES_BATCH 4096

struct cache_slot {
    const char *key; /* the entry's own key string */
    json_t *entry;
};

struct kind_cache {
    char *kind;
    bool complete;      /* map holds every object of the kind as of s->synced */
    bool loaded_in_txn; /* loaded by a scan inside the open transaction */
    bool dirty;         /* sorted is stale */
    json_t *map;        /* key -> [revision, object, key] */
    struct cache_slot *sorted;
    size_t nsorted, cap;
};

static void cache_key(char *dst, size_t cap, const char *ns, const char *name)
{
    snprintf(dst, cap, "%s\x01%s", ns ? ns : "", name ? name : "");
}

/* The kind's cache (created when create), NULL when absent or on ENOMEM. */
static struct kind_cache *cache_kind(struct sqlite_store *s, const char *kind, bool create)
{
    for (size_t i = 0; i < s->nkinds; i++)
        if (strcmp(s->kinds[i].kind, kind) == 0)
            return &s->kinds[i];
    if (!create)
        return NULL;
    if (s->nkinds == s->kinds_cap) {
        size_t cap = s->kinds_cap ? s->kinds_cap * 2 : 16;
        struct kind_cache *k = realloc(s->kinds, cap * sizeof *k);
        if (!k)
            return NULL;
        s->kinds = k;
        s->kinds_cap = cap;
    }
    struct kind_cache *kc = &s->kinds[s->nkinds];
    memset(kc, 0, sizeof *kc);
    if (!(kc->kind = strdup(kind)) || !(kc->map = json_object())) {
        free(kc->kind);
        return NULL;
    }
    s->nkinds++;
    return kc;
}

static void cache_drop_kind(struct kind_cache *kc)
{
    json_object_clear(kc->map);
    kc->complete = false;
    kc->loaded_in_txn = false;
    kc->dirty = true;
    kc->nsorted = 0;
}

static void cache_drop_all(struct sqlite_store *s)
{
    for (size_t i = 0; i < s->nkinds; i++)
        cache_drop_kind(&s->kinds[i]);
    s->synced = -1;
}

static int64_t entry_rev(const json_t *e)
{
    return e ? (int64_t)json_integer_value(json_array_get(e, 0)) : 0;
}

/* Inside a transaction: remembers the entry's state before a change. */
static void undo_push(struct sqlite_store *s, const struct kind_cache *kc, const char *key,
                      const json_t *e)
{
    if (!s->undo)
        return;
    json_t *u = json_pack("[I,s,I,O?]", (json_int_t)(kc - s->kinds), key, (json_int_t)entry_rev(e),
                          e ? json_array_get(e, 1) : NULL);
    if (!u || json_array_append_new(s->undo, u) != 0)
        s->undo_lost = true; /* the rollback drops every kind instead */
}

/* Sets key to obj (reference stolen) at rev, without undo. */
static void cache_put_raw(struct kind_cache *kc, const char *key, int64_t rev, json_t *obj)
{
    json_t *e = json_object_get(kc->map, key);
    if (e) {
        json_array_set_new(e, 0, json_integer(rev));
        json_array_set_new(e, 1, obj);
        return;
    }
    kc->dirty = true;
    e = json_pack("[I,o,s]", (json_int_t)rev, obj, key);
    if (!e || json_object_set_new(kc->map, key, e) != 0)
        cache_drop_kind(kc); /* out of memory: loaded again when next listed */
}

static void cache_set(struct sqlite_store *s, struct kind_cache *kc, const char *key, int64_t rev,
                      json_t *obj)
{
    undo_push(s, kc, key, json_object_get(kc->map, key));
    cache_put_raw(kc, key, rev, obj);
}

static void cache_del(struct sqlite_store *s, struct kind_cache *kc, const char *key)
{
    json_t *e = json_object_get(kc->map, key);
    if (!e)
        return;
    undo_push(s, kc, key, e);
    json_object_del(kc->map, key);
    kc->dirty = true;
}

/* This connection wrote (obj NULL: deleted) key of kind at revision rev. */
static void cache_own_write(struct sqlite_store *s, const struct ks_store_key *key, int64_t rev,
                            json_t *obj)
{
    struct kind_cache *kc = cache_kind(s, key->kind, false);
    if (kc && kc->complete) {
        char ck[1024];
        cache_key(ck, sizeof ck, key->namespace_, key->name);
        if (obj)
            cache_set(s, kc, ck, rev, json_incref(obj));
        else
            cache_del(s, kc, ck);
    }
    if (s->synced >= 0 && s->synced == rev - 1)
        s->synced = rev;
}

static json_t *column_json(sqlite3_stmt *st, int col);

/* Applies the change log after s->synced to the cached kinds. */
static int cache_catch_up(struct sqlite_store *s)
{
    bool any = false;
    for (size_t i = 0; i < s->nkinds && !any; i++)
        any = s->kinds[i].complete;
    if (!any) {
        s->synced = -1;
        return 0;
    }
    int64_t rev = 0;
    int rc = meta_get_i64(&rev, s, "revision");
    if (rc)
        return rc;
    if (rev == s->synced)
        return 0;
    if (rev < s->synced) { /* cannot happen with one change log; start over */
        cache_drop_all(s);
        return 0;
    }
    for (;;) {
        sqlite3_stmt *st = stmt(s, ST_CHANGES);
        sqlite3_bind_int64(st, 1, s->synced);
        sqlite3_bind_int64(st, 2, CHANGES_BATCH);
        size_t n = 0;
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t crev = sqlite3_column_int64(st, 0);
            if (crev != s->synced + 1) { /* compacted past s->synced */
                sqlite3_reset(st);
                cache_drop_all(s);
                return 0;
            }
            n++;
            const char *kind = (const char *)sqlite3_column_text(st, 2);
            struct kind_cache *kc = kind ? cache_kind(s, kind, false) : NULL;
            if (kc && kc->complete) {
                char ck[1024];
                cache_key(ck, sizeof ck, (const char *)sqlite3_column_text(st, 3),
                          (const char *)sqlite3_column_text(st, 4));
                if (crev > entry_rev(json_object_get(kc->map, ck))) {
                    const char *type = (const char *)sqlite3_column_text(st, 1);
                    json_t *obj = type && strcmp(type, "put") == 0 ? column_json(st, 5) : NULL;
                    if (obj)
                        cache_set(s, kc, ck, crev, obj);
                    else if (type && strcmp(type, "delete") == 0)
                        cache_del(s, kc, ck);
                    else
                        cache_drop_kind(kc); /* a put without a JSON body: scan again */
                }
            }
            s->synced = crev;
        }
        if (r != SQLITE_DONE) {
            rc = db_error(s, "reading the change log");
            sqlite3_reset(st);
            cache_drop_all(s);
            return rc;
        }
        sqlite3_reset(st);
        if (n < CHANGES_BATCH)
            return 0;
    }
}

/* *out: the cache of kind, complete and current (catching up, or scanning
 * the kind when it is not cached yet). */
static int cache_load(struct kind_cache **out, struct sqlite_store *s, const char *kind)
{
    int rc = cache_catch_up(s);
    if (rc)
        return rc;
    struct kind_cache *kc = cache_kind(s, kind, true);
    if (!kc)
        return ks_error_set(KS_ENOMEM, "store: out of memory");
    if (kc->complete) {
        *out = kc;
        return 0;
    }
    /* the revision before the scan: changes after it that the scan already
     * saw are skipped by the next catch-up (not newer than the entry) */
    int64_t rev = s->synced;
    if (rev < 0 && (rc = meta_get_i64(&rev, s, "revision")))
        return rc;
    json_object_clear(kc->map);
    kc->dirty = true;
    sqlite3_stmt *st = stmt(s, ST_LIST_ALL);
    bind_text(st, 1, kind);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        char ck[1024];
        cache_key(ck, sizeof ck, (const char *)sqlite3_column_text(st, 2),
                  (const char *)sqlite3_column_text(st, 3));
        json_t *obj = column_json(st, 0);
        if (obj) /* as ever: a body that is not JSON is left out of lists */
            cache_put_raw(kc, ck, sqlite3_column_int64(st, 1), obj);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = db_error(s, "list");
    sqlite3_reset(st);
    if (rc) {
        cache_drop_kind(kc);
        return rc;
    }
    kc->complete = true;
    kc->loaded_in_txn = s->undo != NULL;
    if (s->synced < 0)
        s->synced = rev;
    *out = kc;
    return 0;
}

static int slot_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cache_slot *)a)->key, ((const struct cache_slot *)b)->key);
}

/* kc->sorted: the entries in key order. */
static int cache_sort(struct kind_cache *kc)
{
    if (!kc->dirty)
        return 0;
    size_t n = json_object_size(kc->map);
    if (n > kc->cap) {
        struct cache_slot *p = realloc(kc->sorted, n * sizeof *p);
        if (!p)
            return ks_error_set(KS_ENOMEM, "store: out of memory");
        kc->sorted = p;
        kc->cap = n;
    }
    size_t i = 0;
    const char *k;
    json_t *e;
    json_object_foreach(kc->map, k, e)
    {
        kc->sorted[i].key = json_string_value(json_array_get(e, 2));
        kc->sorted[i++].entry = e;
    }
    if (n) /* qsort of an empty, maybe NULL, array is undefined */
        qsort(kc->sorted, n, sizeof *kc->sorted, slot_cmp);
    kc->nsorted = n;
    kc->dirty = false;
    return 0;
}

/* Transaction hooks: after BEGIN the cache records undo. It does not catch
 * up here (a connection that rarely lists, such as the API's, would parse
 * every other writer's changes at each of its batches): lists do. */
static void cache_txn_begin(struct sqlite_store *s)
{
    s->synced_at_begin = s->synced;
    s->undo_lost = false;
    json_decref(s->undo);
    s->undo = json_array();
    if (!s->undo)
        s->undo_lost = true;
}

static void cache_txn_end(struct sqlite_store *s, bool committed)
{
    json_t *undo = s->undo;
    s->undo = NULL;
    if (!committed && s->undo_lost) {
        cache_drop_all(s);
    } else if (!committed) {
        for (size_t i = json_array_size(undo); i-- > 0;) {
            json_t *u = json_array_get(undo, i);
            size_t ki = (size_t)json_integer_value(json_array_get(u, 0));
            const char *key = json_string_value(json_array_get(u, 1));
            json_t *obj = json_array_get(u, 3);
            struct kind_cache *kc = &s->kinds[ki];
            if (json_is_null(obj)) {
                json_object_del(kc->map, key);
                kc->dirty = true;
            } else {
                cache_put_raw(kc, key, json_integer_value(json_array_get(u, 2)), json_incref(obj));
            }
        }
        s->synced = s->synced_at_begin;
    }
    for (size_t i = 0; i < s->nkinds; i++) {
        if (!committed && s->kinds[i].loaded_in_txn)
            cache_drop_kind(&s->kinds[i]);
        s->kinds[i].loaded_in_txn = false;
    }
    if (!committed) {
        bool any = false;
        for (size_t i = 0; i < s->nkinds && !any; i++)
            any = s->kinds[i].complete;
        if (!any)
            s->synced = -1;
    }
    json_decref(undo);
}

/* The body of a row at col, revision rev: the cached object when a cached
 * entry has that revision (a revision names one body), else parsed. New
 * reference: the cached object itself when shared, else a copy. */
static json_t *row_body(struct sqlite_store *s, const char *kind, sqlite3_stmt *st, int col,
                        int64_t rev, const char *key, bool shared)
{
    struct kind_cache *kc = cache_kind(s, kind, false);
    json_t *e = kc ? json_object_get(kc->map, key) : NULL;
    if (e && entry_rev(e) == rev) {
        json_t *obj = json_array_get(e, 1);
        return shared ? json_incref(obj) : json_deep_copy(obj);
    }
    return column_json(st, col);
}

static int txn_begin(struct sqlite_store *s)
{
    int rc = txn_sql(s, ST_BEGIN);
    if (rc == 0)
        cache_txn_begin(s);
    return rc;
}

static int txn_commit(struct sqlite_store *s)
{
    int rc = txn_sql(s, ST_COMMIT); /* a failed COMMIT is rolled back */
    cache_txn_end(s, rc == 0);
    return rc;
}

static int txn_rollback(struct sqlite_store *s)
{
    cache_txn_end(s, false);
    return txn_sql(s, ST_ROLLBACK);
}

static int sq_begin(struct ks_store *base)
{
    return txn_begin(S(base));
}

static int sq_commit(struct ks_store *base)
{
    return txn_commit(S(base));
}

static int sq_rollback(struct ks_store *base)
{
    return txn_rollback(S(base));
}

static int sq_revision(int64_t *out, struct ks_store *base)
{
    return meta_get_i64(out, S(base), "revision");
}

static int sq_get(json_t **out, struct ks_store *base, const struct ks_store_key *key, bool shared)
{
    struct sqlite_store *s = S(base);
    sqlite3_stmt *st = stmt(s, ST_GET);
    bind_text(st, 1, key->kind);
    bind_text(st, 2, key->namespace_);
    bind_text(st, 3, key->name);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE)
        return ks_error_set(KS_ENOTFOUND, "%s/%s/%s not found", key->kind, key->namespace_,
                            key->name);
    if (r != SQLITE_ROW)
        return db_error(s, "get");
    char ck[1024];
    cache_key(ck, sizeof ck, key->namespace_, key->name);
    json_t *obj = row_body(s, key->kind, st, 0, sqlite3_column_int64(st, 1), ck, shared);
    sqlite3_reset(st);
    if (!obj)
        return ks_error_set(KS_EIO, "store: stored body of %s/%s/%s is not JSON", key->kind,
                            key->namespace_, key->name);
    *out = obj;
    return 0;
}

/* Current revision of key, or 0 when absent; negative on error. With
 * out_node, *out_node is a malloc'd copy of the row's node (NULL when none). */
static int64_t current_row(struct sqlite_store *s, const struct ks_store_key *key, char **out_node)
{
    sqlite3_stmt *st = stmt(s, ST_GET);
    bind_text(st, 1, key->kind);
    bind_text(st, 2, key->namespace_);
    bind_text(st, 3, key->name);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        int64_t rev = sqlite3_column_int64(st, 1);
        const char *node = (const char *)sqlite3_column_text(st, 2);
        if (out_node && node && !(*out_node = strdup(node))) {
            sqlite3_reset(st);
            return ks_error_set(KS_ENOMEM, "store: out of memory");
        }
        sqlite3_reset(st);
        return rev;
    }
    if (r == SQLITE_DONE)
        return 0;
    return db_error(s, "get");
}

static int64_t current_rev(struct sqlite_store *s, const struct ks_store_key *key)
{
    return current_row(s, key, NULL);
}

static int check_expected(struct sqlite_store *s, const struct ks_store_key *key, int64_t expected)
{
    int64_t cur = current_rev(s, key);
    if (cur < 0)
        return (int)cur;
    if (expected == KS_STORE_ANY_REVISION)
        return 0;
    if (expected == KS_STORE_MUST_NOT_EXIST && cur != 0)
        return ks_error_set(KS_ECONFLICT, "%s/%s/%s already exists", key->kind, key->namespace_,
                            key->name);
    if (expected != cur)
        return ks_error_set(
            KS_ECONFLICT, "%s/%s/%s was modified (resourceVersion %lld, expected %lld)", key->kind,
            key->namespace_, key->name, (long long)cur, (long long)expected);
    return 0;
}

/* Allocates the next revision, records the change, compacts the log. */
static int record_change(int64_t *out_rev, struct sqlite_store *s, const char *type,
                         const struct ks_store_key *key, const char *body, const char *node)
{
    int64_t rev = 0;
    int rc = meta_get_i64(&rev, s, "revision");
    if (rc)
        return rc;
    rev++;
    if ((rc = meta_set_i64(s, "revision", rev)))
        return rc;
    sqlite3_stmt *st = stmt(s, ST_CHANGE_ADD);
    sqlite3_bind_int64(st, 1, rev);
    bind_text(st, 2, type);
    bind_text(st, 3, key->kind);
    bind_text(st, 4, key->namespace_);
    bind_text(st, 5, key->name);
    bind_text(st, 6, body);
    bind_text(st, 7, node);
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_error(s, "recording a change");
    if (rev > (int64_t)s->history && rev % 64 == 0) {
        int64_t cut = rev - (int64_t)s->history;
        st = stmt(s, ST_COMPACT);
        sqlite3_bind_int64(st, 1, cut);
        if (sqlite3_step(st) != SQLITE_DONE)
            return db_error(s, "compacting the change log");
        if ((rc = meta_set_i64(s, "compacted", cut)))
            return rc;
    }
    *out_rev = rev;
    return 0;
}

/* Runs fn inside a transaction unless the caller already holds one. */
static int in_txn(struct sqlite_store *s, int (*fn)(void *), void *arg)
{
    if (s->base.depth > 0)
        return fn(arg);
    int rc = txn_begin(s);
    if (rc)
        return rc;
    rc = fn(arg);
    if (rc == 0)
        return txn_commit(s);
    txn_rollback(s);
    return rc;
}

struct put_args {
    struct sqlite_store *s;
    const struct ks_store_key *key;
    json_t *stored;
    int64_t expected;
    int64_t rev;
    int is_delete;
};

static const char *annotation(const json_t *meta, const char *name)
{
    return json_string_value(json_object_get(json_object_get(meta, "annotations"), name));
}

static int do_put(void *arg)
{
    struct put_args *a = arg;
    struct sqlite_store *s = a->s;
    char *body = NULL;
    int rc = check_expected(s, a->key, a->expected);
    if (rc)
        goto done;
    int64_t rev = 0;
    int64_t cur = 0;
    if ((rc = meta_get_i64(&cur, s, "revision")))
        goto done;
    rev = cur + 1;
    json_t *meta = json_object_get(a->stored, "metadata");
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)rev);
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    body = json_dumps(a->stored, JSON_COMPACT);
    if (!body) {
        rc = ks_error_set(KS_ENOMEM, "store: cannot serialise object");
        goto done;
    }
    const char *owner = NULL;
    json_t *owners = json_object_get(meta, "ownerReferences");
    if (json_array_size(owners) > 0)
        owner = json_string_value(json_object_get(json_array_get(owners, 0), "uid"));
    sqlite3_stmt *st = stmt(s, ST_UPSERT);
    bind_text(st, 1, a->key->kind);
    bind_text(st, 2, a->key->namespace_);
    bind_text(st, 3, a->key->name);
    bind_text(st, 4, json_string_value(json_object_get(meta, "uid")));
    sqlite3_bind_int64(st, 5, rev);
    bind_text(st, 6, owner);
    bind_text(st, 7, annotation(meta, "keelson.io/source"));
    bind_text(st, 8, annotation(meta, "keelson.io/commit"));
    bind_text(st, 9, body);
    bind_text(st, 10, annotation(meta, "keelson.io/content-hash"));
    const char *node =
        json_string_value(json_object_get(json_object_get(a->stored, "spec"), "nodeName"));
    bind_text(st, 11, node);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(s, "put");
        goto done;
    }
    if ((rc = record_change(&a->rev, s, "put", a->key, body, node)) == 0)
        cache_own_write(s, a->key, a->rev, a->stored);
done:
    free(body);
    return rc;
}

static int do_delete(void *arg)
{
    struct put_args *a = arg;
    struct sqlite_store *s = a->s;
    char *node = NULL; /* the deleted object's: its node's watch hears of the delete */
    int rc = 0;
    int64_t cur = current_row(s, a->key, &node);
    if (cur < 0) {
        rc = (int)cur;
        goto done;
    }
    if (cur == 0) {
        rc = ks_error_set(KS_ENOTFOUND, "%s/%s/%s not found", a->key->kind, a->key->namespace_,
                          a->key->name);
        goto done;
    }
    if ((rc = check_expected(s, a->key, a->expected)))
        goto done;
    sqlite3_stmt *st = stmt(s, ST_DELETE);
    bind_text(st, 1, a->key->kind);
    bind_text(st, 2, a->key->namespace_);
    bind_text(st, 3, a->key->name);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_error(s, "delete");
        goto done;
    }
    if ((rc = record_change(&a->rev, s, "delete", a->key, NULL, node)) == 0)
        cache_own_write(s, a->key, a->rev, NULL);
done:
    free(node);
    return rc;
}

static int sq_put(int64_t *out_rev, struct ks_store *base, const struct ks_store_key *key,
                  json_t *stored, int64_t expected_rev)
{
    struct put_args a = {S(base), key, stored, expected_rev, 0, 0};
    int rc = in_txn(S(base), do_put, &a);
    if (rc == 0 && out_rev)
        *out_rev = a.rev;
    return rc;
}

static int sq_del(int64_t *out_rev, struct ks_store *base, const struct ks_store_key *key,
                  int64_t expected_rev)
{
    struct put_args a = {S(base), key, NULL, expected_rev, 0, 1};
    int rc = in_txn(S(base), do_delete, &a);
    if (rc == 0 && out_rev)
        *out_rev = a.rev;
    return rc;
}

/* Appends obj (borrowed) to arr as the list's item when it passes the
 * label filter: 1 appended, 0 filtered out, KS_ELIMIT past the limit. */
static int list_add(json_t *arr, json_t *obj, const struct ks_store_list_opts *opts, size_t limit)
{
    if (opts->labels &&
        !ks_selector_matches(opts->labels,
                             json_object_get(json_object_get(obj, "metadata"), "labels")))
        return 0;
    if (json_array_size(arr) >= limit)
        return ks_error_set(KS_ELIMIT, "store: list of %s exceeds the limit of %zu objects",
                            opts->kind, limit);
    json_t *item = opts->shared ? json_incref(obj) : json_deep_copy(obj);
    if (!item || json_array_append_new(arr, item) != 0)
        return ks_error_set(KS_ENOMEM, "store: out of memory");
    return 1;
}

/* A node's objects: from the node index, bodies from the cache when the
 * revision matches. */
static int list_node(json_t *arr, struct sqlite_store *s, const struct ks_store_list_opts *opts,
                     size_t limit)
{
    sqlite3_stmt *st = stmt(s, ST_LIST_NODE);
    bind_text(st, 1, opts->kind);
    bind_text(st, 2, opts->node);
    int r = SQLITE_DONE, rc = 0;
    while (rc >= 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        char ck[1024];
        cache_key(ck, sizeof ck, (const char *)sqlite3_column_text(st, 2),
                  (const char *)sqlite3_column_text(st, 3));
        json_t *obj = row_body(s, opts->kind, st, 0, sqlite3_column_int64(st, 1), ck, true);
        if (obj) /* as ever: a body that is not JSON is left out */
            rc = list_add(arr, obj, opts, limit);
        json_decref(obj);
    }
    if (rc >= 0 && r != SQLITE_DONE)
        rc = db_error(s, "list");
    sqlite3_reset(st);
    return rc < 0 ? rc : 0;
}

static int sq_list(json_t **out, struct ks_store *base, const struct ks_store_list_opts *opts)
{
    struct sqlite_store *s = S(base);
    size_t limit = opts->limit ? opts->limit : KS_STORE_LIST_MAX;
    if (opts->node && opts->namespace_)
        return ks_error_set(KS_EINVALID, "store: list by node is over all namespaces");
    json_t *arr = json_array();
    if (!arr)
        return ks_error_set(KS_ENOMEM, "store: out of memory");
    int rc = 0;
    if (opts->node) {
        rc = list_node(arr, s, opts, limit);
        goto done;
    }
    struct kind_cache *kc = NULL;
    if ((rc = cache_load(&kc, s, opts->kind)) || (rc = cache_sort(kc)))
        goto done;
    size_t i = 0, n = kc->nsorted;
    char prefix[1024] = "";
    size_t plen = 0;
    if (opts->namespace_) { /* the first key of the namespace, by bisection */
        snprintf(prefix, sizeof prefix, "%s\x01", opts->namespace_);
        plen = strlen(prefix);
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(kc->sorted[mid].key, prefix) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
    }
    for (; i < n && rc >= 0; i++) {
        if (plen && strncmp(kc->sorted[i].key, prefix, plen) != 0)
            break;
        rc = list_add(arr, json_array_get(kc->sorted[i].entry, 1), opts, limit);
    }
    if (rc > 0)
        rc = 0;
done:
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* 0 when the change log still holds every change after since, else
 * KS_ECONFLICT (relist). */
static int since_kept(struct sqlite_store *s, int64_t since)
{
    int64_t compacted = 0;
    int rc = meta_get_i64(&compacted, s, "compacted");
    if (rc)
        return rc;
    if (since < compacted)
        return ks_error_set(KS_ECONFLICT,
                            "store: revision %lld is too old (history starts after %lld); relist",
                            (long long)since, (long long)compacted);
    return 0;
}

/* The rows of a prepared changes query (revision, type, kind, namespace,
 * name, body[, node]) as the change array of ks_store_changes_since, or with
 * text, of ks_store_changes_text (the body unparsed, and the node). */
static int changes_rows(json_t **out, struct sqlite_store *s, sqlite3_stmt *st, bool text)
{
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *c = json_pack("{s:I, s:s, s:s, s:s, s:s}", "revision",
                              (json_int_t)sqlite3_column_int64(st, 0), "type",
                              (const char *)sqlite3_column_text(st, 1), "kind",
                              (const char *)sqlite3_column_text(st, 2), "namespace",
                              (const char *)sqlite3_column_text(st, 3), "name",
                              (const char *)sqlite3_column_text(st, 4));
        const char *body = (const char *)sqlite3_column_text(st, 5);
        const char *node = text ? (const char *)sqlite3_column_text(st, 6) : NULL;
        if (text && body) /* written by our own json_dumps: valid UTF-8 */
            json_object_set_new(c, "text",
                                json_stringn_nocheck(body, (size_t)sqlite3_column_bytes(st, 5)));
        else if (body)
            json_object_set_new(c, "object", column_json(st, 5));
        if (node)
            json_object_set_new(c, "node", json_string(node));
        json_array_append_new(arr, c);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return db_error(s, "changes");
    }
    *out = arr;
    return 0;
}

/* Changes after since, at most max; with node, only that node's and those
 * of the kinds every node sees (ST_CHANGES_NODE). */
static int changes_query(json_t **out, struct sqlite_store *s, int64_t since, size_t max,
                         const char *node, const char *const *all_kinds)
{
    int rc = since_kept(s, since);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, node ? ST_CHANGES_NODE : ST_CHANGES);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    if (node)
        bind_text(st, 3, node);
    for (int i = 0; node && all_kinds && all_kinds[i] && i < KS_STORE_NODE_KINDS_MAX; i++)
        bind_text(st, 4 + i, all_kinds[i]); /* unbound ones are NULL: match nothing */
    return changes_rows(out, s, st, false);
}

static int sq_changes_since(json_t **out, struct ks_store *base, int64_t since, size_t max)
{
    return changes_query(out, S(base), since, max, NULL, NULL);
}

static int sq_changes_text(json_t **out, struct ks_store *base, int64_t since, size_t max)
{
    struct sqlite_store *s = S(base);
    int rc = since_kept(s, since);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, ST_CHANGES_TEXT);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    return changes_rows(out, s, st, true);
}

static int sq_changes_for_node(json_t **out, struct ks_store *base, int64_t since, size_t max,
                               const char *node, const char *const *all_kinds)
{
    return changes_query(out, S(base), since, max, node, all_kinds);
}

static int sq_set_durability(struct ks_store *base, enum ks_store_durability durability)
{
    return exec_sql(S(base), durability == KS_STORE_RELAXED ? "PRAGMA synchronous=NORMAL"
                                                            : "PRAGMA synchronous=FULL");
}

static int sq_set_checkpoints(struct ks_store *base, bool automatic)
{
    /* sqlite3_wal_autocheckpoint: 0 turns the commit hook off */
    if (sqlite3_wal_autocheckpoint(S(base)->db, automatic ? 1000 : 0) != SQLITE_OK)
        return db_error(S(base), "setting checkpoints");
    return 0;
}

static int sq_checkpoint(struct ks_store *base)
{
    int r = sqlite3_wal_checkpoint_v2(S(base)->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return r == SQLITE_OK || r == SQLITE_BUSY ? 0 : db_error(S(base), "checkpoint");
}

static int sq_list_kinds(json_t **out, struct ks_store *base)
{
    struct sqlite_store *s = S(base);
    sqlite3_stmt *st = stmt(s, ST_KINDS);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return db_error(s, "listing kinds");
    }
    *out = arr;
    return 0;
}

static int sq_list_managed(json_t **out, struct ks_store *base)
{
    struct sqlite_store *s = S(base);
    sqlite3_stmt *st = stmt(s, ST_MANAGED);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(st, 4);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", sqlite3_column_text(st, 0), "namespace",
                      sqlite3_column_text(st, 1), "name", sqlite3_column_text(st, 2), "source",
                      sqlite3_column_text(st, 3), "hash", hash ? json_string(hash) : json_null()));
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return db_error(s, "listing managed objects");
    }
    *out = arr;
    return 0;
}

static int sq_meta_get(char **out, struct ks_store *base, const char *key)
{
    struct sqlite_store *s = S(base);
    sqlite3_stmt *st = stmt(s, ST_META_GET);
    bind_text(st, 1, key);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE)
        return ks_error_set(KS_ENOTFOUND, "store: no value for %s", key);
    if (r != SQLITE_ROW)
        return db_error(s, "reading meta");
    *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
}

static int sq_meta_set(struct ks_store *base, const char *key, const char *value)
{
    return meta_set_text(S(base), key, value);
}

static int sq_record_add(struct ks_store *base, const char *table, const json_t *record)
{
    struct sqlite_store *s = S(base);
    int64_t rev = 0;
    int rc = meta_get_i64(&rev, s, "revision");
    if (rc)
        return rc;
    char when[32];
    now_iso(when);
    json_t *copy = json_deep_copy(record);
    json_object_set_new(copy, "revision", json_integer(rev));
    json_object_set_new(copy, "time", json_string(when));
    char *body = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (!body)
        return ks_error_set(KS_ENOMEM, "store: cannot serialise %s record", table);
    sqlite3_stmt *st = stmt(s, ST_EVENT_ADD);
    sqlite3_bind_int64(st, 1, rev);
    bind_text(st, 2, when);
    bind_text(st, 3, body);
    rc = write_step(s, st) == SQLITE_DONE ? 0 : db_error(s, "adding an event");
    free(body);
    return rc;
}

static json_t *sync_row(sqlite3_stmt *st)
{
    json_t *row = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                            "commit", (const char *)sqlite3_column_text(st, 1), "started",
                            (const char *)sqlite3_column_text(st, 2));
    const char *finished = (const char *)sqlite3_column_text(st, 3);
    json_object_set_new(row, "finished", finished ? json_string(finished) : json_null());
    json_object_set_new(row, "result", json_string((const char *)sqlite3_column_text(st, 4)));
    json_t *summary = column_json(st, 5);
    json_object_set_new(row, "summary", summary ? summary : json_null());
    const char *error = (const char *)sqlite3_column_text(st, 6);
    json_object_set_new(row, "error", error ? json_string(error) : json_null());
    return row;
}

static int sq_records_list(json_t **out, struct ks_store *base, const char *table, size_t max)
{
    struct sqlite_store *s = S(base);
    int syncs = strcmp(table, "syncs") == 0;
    sqlite3_stmt *st = stmt(s, syncs ? ST_SYNCS : ST_EVENTS);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = syncs ? sync_row(st) : column_json(st, 0);
        if (!syncs && json_is_object(row)) /* the event's sequence number, unique */
            json_object_set_new(row, "id", json_integer(sqlite3_column_int64(st, 1)));
        if (row)
            json_array_append_new(arr, row);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return db_error(s, table);
    }
    *out = arr;
    return 0;
}

static int sq_sync_begin(int64_t *out_id, struct ks_store *base, const char *commit)
{
    struct sqlite_store *s = S(base);
    char when[32];
    now_iso(when);
    sqlite3_stmt *st = stmt(s, ST_SYNC_BEGIN);
    bind_text(st, 1, commit);
    bind_text(st, 2, when);
    if (write_step(s, st) != SQLITE_DONE)
        return db_error(s, "starting a sync record");
    *out_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int sq_sync_finish(struct ks_store *base, int64_t id, const char *result,
                          const json_t *summary, const char *error)
{
    struct sqlite_store *s = S(base);
    char when[32];
    now_iso(when);
    char *sum = summary ? json_dumps(summary, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = stmt(s, ST_SYNC_FINISH);
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, when);
    bind_text(st, 3, result);
    bind_text(st, 4, sum);
    bind_text(st, 5, error);
    int rc = write_step(s, st) == SQLITE_DONE ? 0 : db_error(s, "finishing a sync record");
    free(sum);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = ks_error_set(KS_ENOTFOUND, "store: no sync record %lld", (long long)id);
    return rc;
}

static int check_cb(void *arg, int ncol, char **vals, char **names)
{
    struct ks_buf *report = arg;
    if (ncol > 0 && vals[0]) {
        if (ks_buf_len(report))
            ks_buf_puts(report, "; ");
        ks_buf_puts(report, vals[0]);
    }
    return 0;
}

static int sq_check(struct ks_store *base)
{
    struct sqlite_store *s = S(base);
    struct ks_buf report;
    ks_buf_init(&report, 64 * 1024);
    int rc = 0;
    if (sqlite3_exec(s->db, "PRAGMA integrity_check", check_cb, &report, NULL) != SQLITE_OK)
        rc = db_error(s, "integrity check");
    else if (strcmp(ks_buf_data(&report), "ok") != 0)
        rc = ks_error_set(KS_EIO, "store: integrity check failed: %s", ks_buf_data(&report));
    ks_buf_release(&report);
    return rc;
}

static void sq_close(struct ks_store *base)
{
    struct sqlite_store *s = S(base);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db); /* rolls back an open transaction */
    if (s->locked)
        write_lock_release(s->wlock);
    write_lock_unref(s->wlock);
    for (size_t i = 0; i < s->nkinds; i++) {
        free(s->kinds[i].kind);
        json_decref(s->kinds[i].map);
        free(s->kinds[i].sorted);
    }
    free(s->kinds);
    json_decref(s->undo);
    free(s);
}

static const struct ks_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .revision = sq_revision,
    .get = sq_get,
    .put = sq_put,
    .del = sq_del,
    .list = sq_list,
    .list_kinds = sq_list_kinds,
    .list_managed = sq_list_managed,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .changes_since = sq_changes_since,
    .changes_text = sq_changes_text,
    .changes_for_node = sq_changes_for_node,
    .set_durability = sq_set_durability,
    .set_checkpoints = sq_set_checkpoints,
    .checkpoint = sq_checkpoint,
    .record_add = sq_record_add,
    .records_list = sq_records_list,
    .sync_begin = sq_sync_begin,
    .sync_finish = sq_sync_finish,
    .check = sq_check,
};

static int migrate(struct sqlite_store *s)
{
    sqlite3_stmt *st = NULL;
    int version = 0, rc = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(s, "reading schema version");
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION)
        return ks_error_set(KS_EINVALID,
                            "store: database schema version %d is newer than this build (%d)",
                            version, SCHEMA_VERSION);
    for (int v = version; v < SCHEMA_VERSION && rc == 0; v++) {
        char set_version[64];
        snprintf(set_version, sizeof set_version, "PRAGMA user_version=%d", v + 1);
        if ((rc = exec_sql(s, "BEGIN IMMEDIATE")))
            break;
        rc = exec_sql(s, migrations[v]);
        if (rc == 0)
            rc = exec_sql(s, set_version);
        rc = rc ? (exec_sql(s, "ROLLBACK"), rc) : exec_sql(s, "COMMIT");
    }
    return rc;
}

/* SQLite's default busy handler backs off to 100 ms sleeps, so a waiter
 * keeps sleeping long after the lock was freed; this one looks again every
 * millisecond, for WRITE_LOCK_WAIT_MS in all. */
static int busy_poll(void *arg, int count)
{
    (void)arg;
    if (count >= WRITE_LOCK_WAIT_MS)
        return 0;
    struct timespec ms = {0, 1000000L};
    nanosleep(&ms, NULL);
    return 1;
}

int ks_store_open_sqlite(struct ks_store **out, const char *path, unsigned history)
{
    int rc = 0;
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return ks_error_set(KS_ENOMEM, "store: out of memory");
    s->base.ops = &sqlite_ops;
    s->history = history ? history : KS_STORE_DEFAULT_HISTORY;
    s->synced = -1;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = ks_error_set(KS_EIO, "store: cannot open %s: %s", path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto done;
    }
    sqlite3_busy_handler(s->db, busy_poll, NULL);
    if ((rc = exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                          "PRAGMA foreign_keys=ON; PRAGMA mmap_size=268435456")))
        goto done;
    if ((rc = migrate(s)))
        goto done;
    s->wlock = write_lock_ref(path);
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
                               NULL) != SQLITE_OK) {
            rc = db_error(s, "preparing statements");
            goto done;
        }
    }
    *out = &s->base;
done:
    if (rc)
        sq_close(&s->base);
    return rc;
}
