/*
 * yaml_positions.c: the node -> source position table (see yaml.h).
 *
 * jansson shares true/false/null singletons between all trees, so a node's
 * own address cannot identify it; positions are kept per parent container
 * instead. Built for 10 MB manifest streams, where the first design (one
 * hash entry per node holding a copy of its key) cost more memory than
 * the tree itself:
 *   - one record per container (parent address -> a slice of the children
 *     array), found through an open-addressing index of 32-bit slots;
 *   - children are 12 bytes: an interned key id, line and column. Keys
 *     repeat endlessly in manifests (name, image, labels...), so each
 *     distinct key is stored once and compared as an integer;
 *   - objects with more than a few members are sorted by key id once, when
 *     recorded, and searched by bisection; small ones are scanned.
 * Nothing is allocated per node: the arrays only double now and then.
 */
#include "core/yaml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_KEY UINT32_MAX
#define SMALL_OBJECT 8 /* objects up to this size are scanned, not sorted */

struct child {
    uint32_t key; /* interned key id; NO_KEY for array elements */
    int32_t line;
    int32_t column;
};

struct record {
    const void *parent;
    uint32_t first; /* index into children */
    uint32_t count : 30;
    uint32_t is_object : 1;
    uint32_t sorted : 1;
};

struct key_slot {
    uint32_t off_plus1; /* offset of the key in the arena + 1; 0 = empty */
    uint32_t hash;
};

struct ks_yaml_positions {
    struct child *children;
    size_t nchildren, children_cap;
    struct record *records;
    uint16_t *record_files; /* per record: index into files + 1; 0 = unknown */
    size_t nrecords, records_cap, record_files_cap;
    uint32_t *slots; /* record index + 1; 0 = empty */
    size_t slots_cap;
    struct ks_buf arena; /* interned keys: 4-byte length, then the bytes */
    struct key_slot *keys;
    size_t nkeys, keys_cap;
    char **files;
    size_t nfiles;
};

struct ks_yaml_positions *ks_yaml_positions_new(void)
{
    struct ks_yaml_positions *p = calloc(1, sizeof(*p));
    if (p)
        ks_buf_init(&p->arena, 0);
    return p;
}

void ks_yaml_positions_free(struct ks_yaml_positions *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    free(p->children);
    free(p->records);
    free(p->record_files);
    free(p->slots);
    free(p->keys);
    ks_buf_release(&p->arena);
    free(p);
}

size_t ks_yaml_positions_count(const struct ks_yaml_positions *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->nrecords; i++)
        n += p->records[i].count;
    return n;
}

static uint32_t hash_ptr(const void *ptr)
{
    uint64_t x = (uint64_t)(uintptr_t)ptr;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static uint32_t hash_key(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

static int nomem(void)
{
    return ks_error_set(KS_ENOMEM, "out of memory growing the YAML position table");
}

/* Makes room for one more element of size elem in *arr (count *n, cap *cap). */
static int reserve(void **arr, size_t *cap, size_t n, size_t extra, size_t elem)
{
    if (n + extra <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < n + extra)
        c *= 2;
    void *a = realloc(*arr, c * elem);
    if (!a)
        return nomem();
    *arr = a;
    *cap = c;
    return 0;
}

static const char *arena_key(const struct ks_yaml_positions *p, uint32_t off, uint32_t *len)
{
    memcpy(len, p->arena.data + off, sizeof(*len));
    return p->arena.data + off + sizeof(*len);
}

/* Slot of key in the intern table: either holding it or the empty one. */
static struct key_slot *key_find(const struct ks_yaml_positions *p, const char *key, size_t len,
                                 uint32_t hash)
{
    size_t mask = p->keys_cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct key_slot *s = &p->keys[i];
        if (s->off_plus1 == 0)
            return s;
        uint32_t klen;
        const char *k = arena_key(p, s->off_plus1 - 1, &klen);
        if (s->hash == hash && klen == len && memcmp(k, key, len) == 0)
            return s;
    }
}

static int keys_grow(struct ks_yaml_positions *p)
{
    size_t cap = p->keys_cap ? p->keys_cap * 2 : 256;
    struct key_slot *keys = calloc(cap, sizeof(*keys));
    if (!keys)
        return nomem();
    for (size_t i = 0; i < p->keys_cap; i++) {
        if (p->keys[i].off_plus1 == 0)
            continue;
        size_t j = p->keys[i].hash & (cap - 1);
        while (keys[j].off_plus1)
            j = (j + 1) & (cap - 1);
        keys[j] = p->keys[i];
    }
    free(p->keys);
    p->keys = keys;
    p->keys_cap = cap;
    return 0;
}

static int key_intern(uint32_t *out, struct ks_yaml_positions *p, const char *key, size_t len)
{
    if ((p->nkeys + 1) * 4 > p->keys_cap * 3) {
        int rc = keys_grow(p);
        if (rc)
            return rc;
    }
    uint32_t hash = hash_key(key, len);
    struct key_slot *s = key_find(p, key, len, hash);
    if (s->off_plus1 == 0) {
        size_t off = p->arena.len;
        uint32_t len32 = (uint32_t)len;
        if (len >= UINT32_MAX || off + sizeof(len32) + len >= UINT32_MAX)
            return ks_error_set(KS_ELIMIT, "YAML position table limit of 4 GiB of keys exceeded");
        ks_buf_put(&p->arena, &len32, sizeof(len32));
        ks_buf_put(&p->arena, key, len);
        if (ks_buf_error(&p->arena))
            return ks_buf_error(&p->arena);
        s->off_plus1 = (uint32_t)off + 1;
        s->hash = hash;
        p->nkeys++;
    }
    *out = s->off_plus1 - 1;
    return 0;
}

/* Slot of parent in the record index: holding it or the empty one. */
static uint32_t *record_slot(const struct ks_yaml_positions *p, const void *parent)
{
    size_t mask = p->slots_cap - 1;
    for (size_t i = hash_ptr(parent) & mask;; i = (i + 1) & mask) {
        uint32_t *s = &p->slots[i];
        if (*s == 0 || p->records[*s - 1].parent == parent)
            return s;
    }
}

static int slots_grow(struct ks_yaml_positions *p)
{
    size_t cap = p->slots_cap ? p->slots_cap * 2 : 256;
    uint32_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return nomem();
    free(p->slots);
    p->slots = slots;
    p->slots_cap = cap;
    for (size_t r = 0; r < p->nrecords; r++)
        *record_slot(p, p->records[r].parent) = (uint32_t)r + 1;
    return 0;
}

static uint16_t intern_file(struct ks_yaml_positions *p, const char *file)
{
    if (!file)
        return 0;
    for (size_t i = p->nfiles; i > 0; i--)
        if (strcmp(p->files[i - 1], file) == 0)
            return (uint16_t)i;
    if (p->nfiles >= UINT16_MAX - 1)
        return 0; /* more files than we name: positions stay, file unknown */
    char **files = realloc(p->files, (p->nfiles + 1) * sizeof(*files));
    if (!files)
        return 0;
    p->files = files;
    size_t n = strlen(file);
    char *copy = malloc(n + 1);
    if (!copy)
        return 0;
    memcpy(copy, file, n + 1);
    p->files[p->nfiles++] = copy;
    return (uint16_t)p->nfiles;
}

struct ordered {
    struct child c;
    uint32_t index;
};

/* By key id; for a repeated key the entry recorded last comes first. */
static int cmp_ordered(const void *a, const void *b)
{
    const struct ordered *x = a, *y = b;
    if (x->c.key != y->c.key)
        return x->c.key < y->c.key ? -1 : 1;
    return x->index > y->index ? -1 : x->index < y->index;
}

/* Sorts an object's children by key id, keeping only the last entry of a
 * repeated key (merged members overridden, allowed duplicates); returns
 * the new count. Without memory the slice stays as it is and unsorted. */
static bool sort_members(struct child *c, uint32_t *n)
{
    struct ordered *tmp = malloc(*n * sizeof(*tmp));
    if (!tmp)
        return false;
    for (uint32_t i = 0; i < *n; i++)
        tmp[i] = (struct ordered){c[i], i};
    qsort(tmp, *n, sizeof(*tmp), cmp_ordered);
    uint32_t out = 0;
    for (uint32_t i = 0; i < *n; i++)
        if (out == 0 || tmp[i].c.key != c[out - 1].key)
            c[out++] = tmp[i].c;
    free(tmp);
    *n = out;
    return true;
}

int ks_yaml_positions_set_children(struct ks_yaml_positions *p, const json_t *container,
                                   bool is_object, const char *file,
                                   const struct ks_yaml_child_pos *children, size_t n)
{
    int rc = 0;
    if (n >= (1u << 30) || p->nchildren + n >= UINT32_MAX || p->nrecords + 1 >= UINT32_MAX)
        return ks_error_set(KS_ELIMIT, "YAML position table limit of 2^30 nodes exceeded");
    if ((rc = reserve((void **)&p->children, &p->children_cap, p->nchildren, n,
                      sizeof(*p->children))) != 0 ||
        (rc = reserve((void **)&p->records, &p->records_cap, p->nrecords, 1,
                      sizeof(*p->records))) != 0 ||
        (rc = reserve((void **)&p->record_files, &p->record_files_cap, p->nrecords, 1,
                      sizeof(*p->record_files))) != 0)
        return rc;
    if ((p->nrecords + 1) * 4 > p->slots_cap * 3 && (rc = slots_grow(p)) != 0)
        return rc;
    struct child *c = p->children + p->nchildren;
    for (size_t i = 0; i < n; i++) {
        c[i].key = NO_KEY;
        if (is_object && (rc = key_intern(&c[i].key, p, children[i].key, children[i].key_len)))
            return rc;
        c[i].line = children[i].line;
        c[i].column = children[i].column;
    }
    uint32_t count = (uint32_t)n;
    bool sorted = is_object && n > SMALL_OBJECT && sort_members(c, &count);
    uint32_t *slot = record_slot(p, container);
    if (*slot == 0) {
        p->records[p->nrecords] = (struct record){.parent = container};
        *slot = (uint32_t)++p->nrecords;
    }
    struct record *r = &p->records[*slot - 1];
    r->first = (uint32_t)p->nchildren;
    r->count = count;
    p->record_files[*slot - 1] = intern_file(p, file);
    r->is_object = is_object;
    r->sorted = sorted;
    p->nchildren += count;
    return 0;
}

static int found(struct ks_pos *out, const struct ks_yaml_positions *p, const struct record *r,
                 const struct child *c)
{
    uint16_t file = p->record_files[r - p->records];
    out->file = file ? p->files[file - 1] : NULL;
    out->line = c->line;
    out->column = c->column;
    return 0;
}

static const struct record *find_record(const struct ks_yaml_positions *p, const void *parent)
{
    if (!p || p->nrecords == 0)
        return NULL;
    uint32_t s = *record_slot(p, parent);
    return s ? &p->records[s - 1] : NULL;
}

int ks_yaml_position_of_membern(struct ks_pos *out, const struct ks_yaml_positions *p,
                                const json_t *object, const char *key, size_t key_len)
{
    const struct record *r = find_record(p, object);
    if (!r || !r->is_object || p->keys_cap == 0)
        return KS_ENOTFOUND;
    struct key_slot *ks = key_find(p, key, key_len, hash_key(key, key_len));
    if (ks->off_plus1 == 0)
        return KS_ENOTFOUND;
    uint32_t id = ks->off_plus1 - 1;
    const struct child *c = p->children + r->first;
    if (!r->sorted) {
        for (uint32_t i = r->count; i > 0; i--)
            if (c[i - 1].key == id)
                return found(out, p, r, &c[i - 1]);
        return KS_ENOTFOUND;
    }
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].key == id)
            return found(out, p, r, &c[mid]);
        if (c[mid].key < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return KS_ENOTFOUND;
}

int ks_yaml_position_of_member(struct ks_pos *out, const struct ks_yaml_positions *p,
                               const json_t *object, const char *key)
{
    return ks_yaml_position_of_membern(out, p, object, key, strlen(key));
}

int ks_yaml_position_of_index(struct ks_pos *out, const struct ks_yaml_positions *p,
                              const json_t *array_or_null, size_t index)
{
    const struct record *r = find_record(p, array_or_null);
    if (!r || r->is_object || index >= r->count)
        return KS_ENOTFOUND;
    return found(out, p, r, &p->children[r->first + index]);
}
