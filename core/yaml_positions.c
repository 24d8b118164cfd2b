/*
 * yaml_positions.c: the node -> source position table (see yaml.h).
 *
 * jansson shares true/false/null singletons between all trees, so a node's
 * own address cannot identify it; the table is keyed by (parent address,
 * member key) or (parent address, array index) instead. It is one
 * open-addressing hash table of fixed-size entries plus one arena for key
 * bytes, so recording a node costs no allocation of its own (the arrays
 * only double now and then), which matters on 10 MB manifest streams.
 * File names are interned once per distinct name.
 */
#include "core/yaml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_ENTRY UINT32_MAX /* key_len marking an (parent, index) entry */

struct pos_entry {
    const void *parent;
    uint64_t key;  /* array index, or offset of the key bytes in the arena */
    uint32_t hash; /* 0 = empty slot; stored hashes have the low bit set */
    uint32_t key_len;
    int line;
    int column;
    const char *file;
};

struct ks_yaml_positions {
    struct pos_entry *slots;
    size_t cap; /* power of two, or 0 */
    size_t used;
    struct ks_buf keys;
    char **files; /* interned file names */
    size_t nfiles;
};

struct ks_yaml_positions *ks_yaml_positions_new(void)
{
    struct ks_yaml_positions *p = calloc(1, sizeof(*p));
    if (p)
        ks_buf_init(&p->keys, 0);
    return p;
}

void ks_yaml_positions_free(struct ks_yaml_positions *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nfiles; i++)
        free(p->files[i]);
    free(p->files);
    free(p->slots);
    ks_buf_release(&p->keys);
    free(p);
}

size_t ks_yaml_positions_count(const struct ks_yaml_positions *p)
{
    return p ? p->used : 0;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint32_t entry_hash(const void *parent, const char *key, size_t key_len, size_t index)
{
    uint64_t h = mix64((uint64_t)(uintptr_t)parent);
    if (key) {
        uint64_t f = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < key_len; i++)
            f = (f ^ (unsigned char)key[i]) * 0x100000001b3ULL;
        h ^= mix64(f + key_len);
    } else {
        h ^= mix64((uint64_t)index * 0x9e3779b97f4a7c15ULL + 1);
    }
    return (uint32_t)(h ^ (h >> 32)) | 1u;
}

static bool entry_matches(const struct ks_yaml_positions *p, const struct pos_entry *e,
                          uint32_t hash, const void *parent, const char *key, size_t key_len,
                          size_t index)
{
    if (e->hash != hash || e->parent != parent)
        return false;
    if (!key)
        return e->key_len == INDEX_ENTRY && e->key == index;
    return e->key_len == key_len && memcmp(p->keys.data + e->key, key, key_len) == 0;
}

static struct pos_entry *find_slot(const struct ks_yaml_positions *p, uint32_t hash,
                                   const void *parent, const char *key, size_t key_len,
                                   size_t index)
{
    size_t mask = p->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct pos_entry *e = &p->slots[i];
        if (e->hash == 0 || entry_matches(p, e, hash, parent, key, key_len, index))
            return e;
    }
}

static int grow_table(struct ks_yaml_positions *p)
{
    size_t cap = p->cap ? p->cap * 2 : 1024;
    struct pos_entry *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return ks_error_set(KS_ENOMEM, "out of memory growing the YAML position table");
    for (size_t i = 0; i < p->cap; i++) {
        const struct pos_entry *e = &p->slots[i];
        if (e->hash == 0)
            continue;
        size_t j = e->hash & (cap - 1);
        while (slots[j].hash != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
    }
    free(p->slots);
    p->slots = slots;
    p->cap = cap;
    return 0;
}

static const char *intern_file(struct ks_yaml_positions *p, const char *file)
{
    if (!file)
        return NULL;
    for (size_t i = p->nfiles; i > 0; i--)
        if (p->files[i - 1] == file || strcmp(p->files[i - 1], file) == 0)
            return p->files[i - 1];
    char **files = realloc(p->files, (p->nfiles + 1) * sizeof(*files));
    if (!files)
        return NULL;
    p->files = files;
    size_t n = strlen(file);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, file, n + 1);
    p->files[p->nfiles++] = copy;
    return copy;
}

static int add_entry(struct ks_yaml_positions *p, const void *parent, const char *key,
                     size_t key_len, size_t index, const struct ks_pos *pos)
{
    if (key && key_len >= INDEX_ENTRY)
        return ks_error_set(KS_ELIMIT, "YAML key of %zu bytes too long for the position table",
                            key_len);
    if ((p->used + 1) * 10 > p->cap * 7) {
        int rc = grow_table(p);
        if (rc)
            return rc;
    }
    uint32_t hash = entry_hash(parent, key, key_len, index);
    struct pos_entry *e = find_slot(p, hash, parent, key, key_len, index);
    if (e->hash == 0) {
        e->hash = hash;
        e->parent = parent;
        if (key) {
            e->key = p->keys.len;
            e->key_len = (uint32_t)key_len;
            int rc = ks_buf_put(&p->keys, key, key_len);
            if (rc) {
                e->hash = 0;
                return rc;
            }
        } else {
            e->key = index;
            e->key_len = INDEX_ENTRY;
        }
        p->used++;
    }
    /* a file string that cannot be interned (no memory) is left unknown */
    e->file = (e->file && pos->file && strcmp(e->file, pos->file) == 0) ? e->file
                                                                        : intern_file(p, pos->file);
    e->line = pos->line;
    e->column = pos->column;
    return 0;
}

int ks_yaml_positions_add_member(struct ks_yaml_positions *p, const json_t *object, const char *key,
                                 size_t key_len, const struct ks_pos *pos)
{
    return add_entry(p, object, key, key_len, 0, pos);
}

int ks_yaml_positions_add_index(struct ks_yaml_positions *p, const json_t *array_or_null,
                                size_t index, const struct ks_pos *pos)
{
    return add_entry(p, array_or_null, NULL, 0, index, pos);
}

static int lookup(struct ks_pos *out, const struct ks_yaml_positions *p, const void *parent,
                  const char *key, size_t key_len, size_t index)
{
    if (!p || p->cap == 0)
        return KS_ENOTFOUND;
    uint32_t hash = entry_hash(parent, key, key_len, index);
    const struct pos_entry *e = find_slot(p, hash, parent, key, key_len, index);
    if (e->hash == 0)
        return KS_ENOTFOUND;
    out->file = e->file;
    out->line = e->line;
    out->column = e->column;
    return 0;
}

int ks_yaml_position_of_member(struct ks_pos *out, const struct ks_yaml_positions *p,
                               const json_t *object, const char *key)
{
    return lookup(out, p, object, key, strlen(key), 0);
}

int ks_yaml_position_of_membern(struct ks_pos *out, const struct ks_yaml_positions *p,
                                const json_t *object, const char *key, size_t key_len)
{
    return lookup(out, p, object, key, key_len, 0);
}

int ks_yaml_position_of_index(struct ks_pos *out, const struct ks_yaml_positions *p,
                              const json_t *array_or_null, size_t index)
{
    return lookup(out, p, array_or_null, NULL, 0, index);
}
