/*
 * intern.c: the scheduler's small containers: a string interner (every
 * label key/value, node name and image name becomes a uint32 id so the hot
 * loops compare integers), a u64 -> u32 hash map, array growth, label
 * lookups on sorted (key, value) id pairs, and the seeded PRNG used for
 * tie-breaks (splitmix64, so a seed fully determines the sequence).
 */
#include "scheduler/internal.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

int ks_sched_grow_array(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    char *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory growing an array to %u", ncap);
    memset(p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

uint32_t ks_sched_strtab_find(const struct strtab *t, const char *s)
{
    if (!t->nslots)
        return 0;
    uint32_t mask = t->nslots - 1;
    for (uint32_t i = (uint32_t)hash_str(s) & mask;; i = (i + 1) & mask) {
        uint32_t id = t->slots[i];
        if (!id)
            return 0;
        if (strcmp(t->strs[id], s) == 0)
            return id;
    }
}

static int strtab_rehash(struct strtab *t)
{
    uint32_t nslots = t->nslots ? t->nslots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots)
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory interning strings");
    for (uint32_t id = 1; id < t->n; id++) {
        uint32_t i = (uint32_t)hash_str(t->strs[id]) & (nslots - 1);
        while (slots[i])
            i = (i + 1) & (nslots - 1);
        slots[i] = id;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

int ks_sched_strtab_intern(uint32_t *out, struct strtab *t, const char *s)
{
    int rc = 0;
    size_t len = strlen(s);
    if (len > KS_SCHED_MAX_STRING)
        return ks_error_set(KS_ELIMIT, "scheduler: string of %zu bytes exceeds the limit of %d",
                            len, KS_SCHED_MAX_STRING);
    uint32_t id = ks_sched_strtab_find(t, s);
    if (id) {
        *out = id;
        return 0;
    }
    if (t->n == 0)
        t->n = 1;
    if ((uint64_t)(t->n + 1) * 2 > t->nslots && (rc = strtab_rehash(t)))
        goto done;
    if ((rc = ks_sched_grow_array((void **)&t->strs, &t->cap, t->n + 1, sizeof(char *))))
        goto done;
    char *copy = malloc(len + 1);
    if (!copy) {
        rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory interning strings");
        goto done;
    }
    memcpy(copy, s, len + 1);
    id = t->n++;
    t->strs[id] = copy;
    uint32_t i = (uint32_t)hash_str(s) & (t->nslots - 1);
    while (t->slots[i])
        i = (i + 1) & (t->nslots - 1);
    t->slots[i] = id;
    *out = id;
done:
    return rc;
}

void ks_sched_strtab_release(struct strtab *t)
{
    for (uint32_t i = 1; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int u64map_resize(struct u64map *m)
{
    uint32_t ncap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = calloc(ncap, sizeof(*keys));
    uint32_t *vals = calloc(ncap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return ks_error_set(KS_ENOMEM, "scheduler: out of memory growing a map");
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->vals[i])
            continue;
        uint32_t j = (uint32_t)hash_u64(m->keys[i]) & (ncap - 1);
        while (vals[j])
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

int ks_sched_u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
    int rc;
    if ((uint64_t)(m->n + 1) * 2 > m->cap && (rc = u64map_resize(m)))
        return rc;
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)hash_u64(key) & mask;
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (!m->vals[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val + 1;
    return 0;
}

bool ks_sched_u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
    if (!m->cap)
        return false;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)hash_u64(key) & mask; m->vals[i]; i = (i + 1) & mask) {
        if (m->keys[i] == key) {
            *val = m->vals[i] - 1;
            return true;
        }
    }
    return false;
}

void ks_sched_u64map_del(struct u64map *m, uint64_t key)
{
    if (!m->cap)
        return;
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)hash_u64(key) & mask;
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (!m->vals[i])
        return;
    m->vals[i] = 0;
    m->n--;
    /* backward-shift: move later entries of the cluster into the hole */
    for (uint32_t j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)hash_u64(m->keys[j]) & mask;
        bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->vals[j] = 0;
            i = j;
        }
    }
}

void ks_sched_u64map_release(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

uint32_t ks_sched_labels_get(const struct kv *l, uint32_t n, uint32_t key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (l[mid].k == key)
            return l[mid].v;
        if (l[mid].k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static bool vals_contain(const struct sreq *r, uint32_t v)
{
    for (uint32_t i = 0; i < r->nvals; i++)
        if (r->vals[i] == v)
            return true;
    return false;
}

static bool num_cmp(const struct ks_sched *s, uint32_t v, int64_t num, bool gt)
{
    const char *text = s->st.strs[v];
    char *end = NULL;
    long long x = strtoll(text, &end, 10);
    if (end == text || *end)
        return false;
    return gt ? x > num : x < num;
}

bool ks_sched_sreq_match_labels(const struct ks_sched *s, const struct sreq *r, const struct kv *l,
                                uint32_t n)
{
    uint32_t v = ks_sched_labels_get(l, n, r->key);
    switch (r->op) {
    case KS_SCHED_OP_IN:
        return v && vals_contain(r, v);
    case KS_SCHED_OP_NOT_IN:
        return !v || !vals_contain(r, v);
    case KS_SCHED_OP_EXISTS:
        return v != 0;
    case KS_SCHED_OP_DOES_NOT_EXIST:
        return v == 0;
    case KS_SCHED_OP_GT:
        return v && num_cmp(s, v, r->num, true);
    case KS_SCHED_OP_LT:
        return v && num_cmp(s, v, r->num, false);
    }
    return false;
}

uint64_t ks_sched_rand(struct ks_sched *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
