/*
 * ring.c: the watch ring, recent changes of the store's change log kept in
 * memory so that watchers are answered without a store query each.
 *
 * With 100 node agents each parked on its own node watch, every publish
 * used to run one change-log query (and one JSON parse of every change
 * body it returned) per watcher. The ring reads the change log once per
 * publish, from the last revision it read, with the store revision read
 * before the log (so, as before, a late or lost notify can delay a change
 * but never make a watcher skip it). Each change is kept with the JSON
 * text it is answered as (built once around the object's text as the store
 * holds it: no parse, no serialisation), the node it concerns (the node the
 * store recorded with the change: the spec.nodeName of the object put or
 * deleted; for a delete without one, the node of the object's last put seen
 * by the ring) and whether every node's watch sees its kind.
 * A watcher is answered by filtering the ring and concatenating the texts.
 *
 * The ring covers the revisions (from, to]: every change in that range is
 * in it. It is bounded (RING_MAX_ENTRIES changes, RING_MAX_BYTES of text):
 * the oldest entries are dropped and from moves up. A watcher from before
 * from is answered from the store as before (so 410 and relist stay the
 * store's), and so is a node watcher whose range holds a delete whose node
 * the ring cannot know (no node recorded with the delete, as in rows from
 * before schema 3, and the object's last put was before the ring started). When the store compacts
 * its change log past from, the ring moves from up too, so a revision the store calls too old is
 * answered 410 exactly as before.
 *
 * A pod status written by the pod's own node through the status routes is
 * marked (api_ring_mark_own): that node's watch leaves it out (the agent
 * knows what it wrote), every other watcher still sees it, and the
 * watcher's revision moves past it (contracts3.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define RING_MAX_ENTRIES 8192u               /* changes kept */
#define RING_MAX_BYTES (64u * 1024u * 1024u) /* their JSON text */
#define RING_READ_CHUNK 1000u                /* changes per change-log query */
#define RING_MAX_MARKS 8192u                 /* own-status revisions not yet read */

const char *const api_node_watch_kinds[] = {"ConfigMap", "Secret", "Service", "Endpoints", NULL};

struct ring_entry {
    int64_t rev;
    char *text;      /* the change as JSON, without a newline */
    size_t len;      /* bytes counted against RING_MAX_BYTES */
    char *node;      /* the node the change concerns, NULL: none */
    bool every_node; /* a kind every node's watch sees */
    bool own_status; /* a status written by node itself through the status routes */
};

struct api_ring {
    struct ring_entry *e; /* circular: head is the oldest */
    size_t cap, head, count, bytes;
    bool started;
    int64_t from, to;
    /* deletes at or below this revision have an unknown node: node watchers
     * from before it are answered from the store */
    int64_t unknown_upto;
    /* "kind/namespace/name" -> node (string) or null, for every object whose
     * last change since the ring started was a put */
    json_t *nodes;
    int64_t marks[RING_MAX_MARKS]; /* own-status revisions, ascending, circular */
    size_t mark_head, n_marks;
};

static int is_node_watch_kind(const char *kind)
{
    for (size_t i = 0; api_node_watch_kinds[i]; i++)
        if (strcmp(kind, api_node_watch_kinds[i]) == 0)
            return 1;
    return 0;
}

static struct ring_entry *entry_at(struct api_ring *ring, size_t i)
{
    return &ring->e[(ring->head + i) % ring->cap];
}

static void entry_clear(struct ring_entry *e)
{
    free(e->text);
    free(e->node);
    memset(e, 0, sizeof *e);
}

static void drop_oldest(struct api_ring *ring)
{
    struct ring_entry *e = entry_at(ring, 0);
    ring->from = e->rev;
    ring->bytes -= e->len;
    entry_clear(e);
    ring->head = (ring->head + 1) % ring->cap;
    ring->count--;
}

/* Empties the ring and starts it again at rev (node knowledge is lost). */
static void ring_restart(struct api_ring *ring, int64_t rev)
{
    while (ring->count)
        drop_oldest(ring);
    json_object_clear(ring->nodes);
    ring->from = ring->to = rev;
    ring->unknown_upto = 0;
    ring->started = true;
}

static int ring_grow(struct api_ring *ring)
{
    size_t cap = ring->cap ? ring->cap * 2 : 256;
    if (cap > RING_MAX_ENTRIES)
        cap = RING_MAX_ENTRIES;
    struct ring_entry *e = calloc(cap, sizeof *e);
    if (!e)
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    for (size_t i = 0; i < ring->count; i++)
        e[i] = *entry_at(ring, i);
    free(ring->e);
    ring->e = e;
    ring->cap = cap;
    ring->head = 0;
    return 0;
}

/* Whether the change at rev was marked as its node's own status write;
 * forgets the marks at or below rev. */
static bool take_mark(struct api_ring *ring, int64_t rev)
{
    bool own = false;
    while (ring->n_marks && ring->marks[ring->mark_head] <= rev) {
        own = own || ring->marks[ring->mark_head] == rev;
        ring->mark_head = (ring->mark_head + 1) % RING_MAX_MARKS;
        ring->n_marks--;
    }
    return own;
}

/* The node a change concerns, from the object put or, for a delete, from
 * the last put of the object the ring saw; updates that knowledge.
 * *out_node is malloc'd or NULL; *out_unknown is set for a delete of an
 * object whose last put the ring did not see. */
static int change_node(char **out_node, bool *out_unknown, struct api_ring *ring,
                       const json_t *change)
{
    const char *type = json_string_value(json_object_get(change, "type"));
    const char *kind = json_string_value(json_object_get(change, "kind"));
    const char *ns = json_string_value(json_object_get(change, "namespace"));
    const char *name = json_string_value(json_object_get(change, "name"));
    char key[3 * (API_MAX_SEGMENT_BYTES + 1) + 8];
    const char *node = NULL;
    bool unknown = false;
    if (!type || !kind || !ns || !name)
        return ks_error_set(KS_EIO, "watch ring: a change without type, kind, namespace or name");
    snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name);
    const json_t *recorded = json_object_get(change, "node");
    if (json_is_string(recorded)) {
        node = json_string_value(recorded);
    } else if (strcmp(type, "delete") == 0) {
        const json_t *known = json_object_get(ring->nodes, key);
        node = json_string_value(known);
        unknown = !known;
    } else {
        const json_t *spec = json_object_get(json_object_get(change, "object"), "spec");
        node = json_string_value(json_object_get(spec, "nodeName"));
    }
    char *copy = node ? strdup(node) : NULL;
    if (node && !copy)
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    if (strcmp(type, "delete") == 0)
        json_object_del(ring->nodes, key);
    else if (json_object_set_new(ring->nodes, key, node ? json_string(node) : json_null()) != 0) {
        free(copy);
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    }
    *out_node = copy;
    *out_unknown = unknown;
    return 0;
}

/* The change as a watch answer carries it (the shape json_dumps gives a
 * ks_store_changes_since item), around the object's stored text. */
static int change_text(char **out, size_t *out_len, const json_t *change)
{
    static const char *const fields[] = {"type", "kind", "namespace", "name"};
    const json_t *text = json_object_get(change, "text");
    struct ks_buf b;
    ks_buf_init(&b, 0);
    /* one allocation: the object's text plus the few fields around it */
    ks_buf_grow(&b, json_string_length(text) + 256);
    ks_buf_printf(&b, "{\"revision\":%lld",
                  (long long)json_integer_value(json_object_get(change, "revision")));
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        ks_buf_printf(&b, ",\"%s\":\"", fields[i]);
        ks_buf_put_escaped(&b, json_string_value(json_object_get(change, fields[i])));
        ks_buf_putc(&b, '"');
    }
    if (text) {
        ks_buf_puts(&b, ",\"object\":");
        ks_buf_put(&b, json_string_value(text), json_string_length(text));
    }
    if (ks_buf_putc(&b, '}') != 0) {
        ks_buf_release(&b);
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    }
    *out = ks_buf_detach(&b, out_len);
    return *out ? 0 : ks_error_set(KS_ENOMEM, "watch ring: out of memory");
}

static int ring_append(struct api_ring *ring, const json_t *change)
{
    struct ring_entry e = {0};
    bool unknown = false;
    int rc;
    e.rev = json_integer_value(json_object_get(change, "revision"));
    const char *kind = json_string_value(json_object_get(change, "kind"));
    if ((rc = change_node(&e.node, &unknown, ring, change)) != 0)
        return rc;
    e.every_node = kind && is_node_watch_kind(kind);
    e.own_status = take_mark(ring, e.rev);
    if (unknown && !e.every_node)
        ring->unknown_upto = e.rev;
    if ((rc = change_text(&e.text, &e.len, change)) != 0) {
        free(e.node);
        return rc;
    }
    while (ring->count && (ring->count >= RING_MAX_ENTRIES || ring->bytes + e.len > RING_MAX_BYTES))
        drop_oldest(ring);
    if (ring->count == ring->cap && (rc = ring_grow(ring)) != 0) {
        entry_clear(&e);
        return rc;
    }
    *entry_at(ring, ring->count) = e;
    ring->count++;
    ring->bytes += e.len;
    ring->to = e.rev;
    return 0;
}

/* 0 when the store still answers changes after since, KS_ECONFLICT when it
 * compacted them away. */
static int store_keeps(struct ks_store *store, int64_t since)
{
    json_t *c = NULL;
    int rc = ks_store_changes_since(&c, store, since, 1);
    json_decref(c);
    return rc;
}

/* Moves from up to the store's compaction point when the store compacted
 * past it (binary search with one-change probes; only after a compaction). */
static int follow_compaction(struct api_ring *ring, struct ks_store *store)
{
    if (ring->from >= ring->to)
        return 0;
    int rc = store_keeps(store, ring->from);
    if (rc != KS_ECONFLICT)
        return rc;
    int64_t lo = ring->from + 1, hi = ring->to;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        rc = store_keeps(store, mid);
        if (rc == 0)
            hi = mid;
        else if (rc == KS_ECONFLICT)
            lo = mid + 1;
        else
            return rc;
    }
    while (ring->count && entry_at(ring, 0)->rev <= lo)
        drop_oldest(ring);
    ring->from = lo;
    return 0;
}

int api_ring_fill(struct ks_api_server *srv)
{
    struct api_ring *ring = srv->ring;
    json_t *changes = NULL;
    int64_t rev = 0;
    int rc;
    if (!ring && (rc = api_ring_new(srv)) != 0)
        return rc;
    ring = srv->ring;
    if ((rc = ks_store_revision(&rev, srv->store)) != 0)
        return rc;
    if (!ring->started || rev - ring->to > (int64_t)RING_MAX_ENTRIES || rev < ring->to) {
        ring_restart(ring, rev); /* new, too far behind, or a different store history */
        return 0;
    }
    if (rev == ring->to)
        return 0; /* nothing new: no query (a watch request costs one revision read) */
    while (ring->to < rev) {
        size_t n = 0;
        rc = ks_store_changes_text(&changes, srv->store, ring->to, RING_READ_CHUNK);
        if (rc == KS_ECONFLICT) {
            ring_restart(ring, rev);
            return 0;
        }
        if (rc)
            return rc;
        n = json_array_size(changes);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = ring_append(ring, json_array_get(changes, i));
        json_decref(changes);
        changes = NULL;
        if (rc) {
            ring_restart(ring, rev); /* an entry is missing: the ring covers nothing before rev */
            return rc;
        }
        /* a short answer covers everything up to the revision read before it */
        if (n < RING_READ_CHUNK && ring->to < rev)
            ring->to = rev;
    }
    return follow_compaction(ring, srv->store);
}

int api_ring_new(struct ks_api_server *srv)
{
    struct api_ring *ring = calloc(1, sizeof *ring);
    if (!ring || !(ring->nodes = json_object())) {
        free(ring);
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    }
    srv->ring = ring;
    return 0;
}

void api_ring_mark_own(struct ks_api_server *srv, int64_t rev)
{
    struct api_ring *ring = srv->ring;
    if (!ring && api_ring_new(srv) != 0)
        return; /* the change is then delivered: harmless */
    ring = srv->ring;
    if (ring->started && rev <= ring->to)
        return; /* already read (cannot happen: marks come before the publish) */
    if (ring->n_marks == RING_MAX_MARKS) {
        ring->mark_head = (ring->mark_head + 1) % RING_MAX_MARKS;
        ring->n_marks--;
    }
    ring->marks[(ring->mark_head + ring->n_marks) % RING_MAX_MARKS] = rev;
    ring->n_marks++;
}

static bool wanted(const struct ring_entry *e, const char *node)
{
    if (!node)
        return true;
    if (e->every_node)
        return true;
    return e->node && !e->own_status && strcmp(e->node, node) == 0;
}

/* Index of the first entry after since (binary search: revisions ascend). */
static size_t first_after(struct api_ring *ring, int64_t since)
{
    size_t lo = 0, hi = ring->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_at(ring, mid)->rev <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int api_ring_answer(char **out, size_t *out_len, size_t *out_n, int64_t *out_rev,
                    struct api_ring *ring, int64_t since, const char *node, size_t max)
{
    if (!ring || !ring->started || since < ring->from || (node && since < ring->unknown_upto))
        return 0;
    size_t start = first_after(ring, since), n = 0, len = 0, end = start;
    int64_t rev = ring->to > since ? ring->to : since;
    for (; end < ring->count && n < max; end++) {
        struct ring_entry *e = entry_at(ring, end);
        if (wanted(e, node)) {
            n++;
            len += e->len + 1;
            if (n == max)
                rev = e->rev; /* a full answer ends at its last change */
        }
    }
    if (!out) {
        *out_n = n;
        *out_rev = rev;
        return 1;
    }
    char head[64];
    int hl = snprintf(head, sizeof head, "{\"revision\":%lld,\"changes\":[", (long long)rev);
    size_t total = (size_t)hl + len + 3; /* "]}\n", the last comma's byte becomes ']' */
    char *text = malloc(total + 1), *p = text;
    if (!text)
        return ks_error_set(KS_ENOMEM, "watch ring: out of memory");
    memcpy(p, head, (size_t)hl);
    p += hl;
    for (size_t i = start, k = 0; i < end; i++) {
        const struct ring_entry *e = entry_at(ring, i);
        if (!wanted(e, node))
            continue;
        if (k++)
            *p++ = ',';
        memcpy(p, e->text, e->len);
        p += e->len;
    }
    memcpy(p, "]}\n", 4);
    p += 3;
    *out = text;
    *out_len = (size_t)(p - text);
    *out_n = n;
    *out_rev = rev;
    return 1;
}

void api_ring_free(struct api_ring *ring)
{
    if (!ring)
        return;
    while (ring->count)
        drop_oldest(ring);
    json_decref(ring->nodes);
    free(ring->e);
    free(ring);
}
