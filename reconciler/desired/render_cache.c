/*
 * render_cache.c: a content-addressed cache of rendered Releases under
 * <state-dir>/renders. A Release's output depends only on the chart's git
 * tree id, the release name and namespace, the merged values and the
 * renderer itself, so those (plus this build's version and build stamp, so
 * an upgraded binary never trusts an older renderer's output) are hashed
 * into the key. A commit that changes one plain manifest then re-renders
 * nothing. Entries are written to a temporary file and renamed, so a crash
 * never leaves a torn entry; a damaged or unreadable entry is a miss. The
 * directory is bounded: when it holds more than RENDER_CACHE_MAX entries,
 * the older half is removed.
 */
#include "reconciler/desired/internal.h"

#include "core/buf.h"
#include "core/digest.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif

#define RENDER_CACHE_MAX 4096
#define RENDER_CACHE_ENTRY_MAX (64u * 1024u * 1024u)

int ks_render_cache_key(char out[65], const char *chart_tree, const char *name, const char *ns,
                        const json_t *values)
{
    char *canonical = json_dumps(values, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (!canonical)
        return ks_error_set(KS_ENOMEM, "out of memory");
    struct ks_buf key;
    ks_buf_init(&key, 0);
    const char *parts[] = {
        "keelson-render-1", KS_VERSION, __DATE__ " " __TIME__, chart_tree, name, ns, canonical};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        ks_buf_put(&key, parts[i], strlen(parts[i]) + 1); /* the NULs separate the parts */
    int rc = ks_buf_error(&key) ? ks_buf_error(&key)
                                : ks_sha256_hex(out, ks_buf_data(&key), ks_buf_len(&key));
    ks_buf_release(&key);
    free(canonical);
    return rc;
}

json_t *ks_render_cache_get(const char *dir, const char *key)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.json", dir, key);
    struct stat st;
    if (stat(path, &st) != 0 || (size_t)st.st_size > RENDER_CACHE_ENTRY_MAX)
        return NULL;
    json_t *entry = json_load_file(path, 0, NULL);
    json_t *objects = json_incref(json_object_get(entry, "objects"));
    json_decref(entry);
    if (!json_is_array(objects)) {
        json_decref(objects);
        return NULL;
    }
    return objects;
}

struct aged {
    char name[80];
    time_t mtime;
};

static int older_first(const void *a, const void *b)
{
    const struct aged *x = a, *y = b;
    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* Keeps the directory bounded: past the limit, the older half goes. */
static void trim(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct aged *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len >= sizeof list->name || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            struct aged *grown = realloc(list, cap * sizeof *list);
            if (!grown)
                break;
            list = grown;
        }
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        memcpy(list[n].name, e->d_name, len + 1);
        list[n++].mtime = st.st_mtime;
    }
    closedir(d);
    if (n > RENDER_CACHE_MAX) {
        qsort(list, n, sizeof *list, older_first);
        for (size_t i = 0; i < n / 2; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", dir, list[i].name);
            unlink(path);
        }
    }
    free(list);
}

void ks_render_cache_put(const char *dir, const char *key, const json_t *objects)
{
    char path[4200], tmp[4300];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return; /* a cache that cannot be written is only slower */
    snprintf(path, sizeof path, "%s/%s.json", dir, key);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    json_t *entry = json_pack("{s:O}", "objects", objects);
    if (entry && json_dump_file(entry, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
        trim(dir);
    else
        unlink(tmp);
    json_decref(entry);
}
