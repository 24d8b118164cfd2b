/*
 * scan.c: the directory into the merged view and the change log. Only
 * files whose identity (device, inode, size, mtime) changed are read
 * again; a file that fails keeps its last good documents and gives one
 * Warning event per distinct error. The merged view is keyed
 * "Kind/namespace/name" (the first file in name order wins a duplicate);
 * its differences from the previous view become put/delete changes, each
 * with its own revision.
 */
#include "nodeagent/staticpods/internal.h"

#include "core/error.h"
#include "core/str.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool wanted(const char *name)
{
    return name[0] != '.' && (ks_str_has_suffix(name, ".yaml") || ks_str_has_suffix(name, ".yml") ||
                              ks_str_has_suffix(name, ".json"));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct sp_file *)a)->name, ((const struct sp_file *)b)->name);
}

static void file_release(struct sp_file *f)
{
    free(f->name);
    json_decref(f->docs);
    free(f->error);
}

/* Sorted names of the manifest files in the directory. */
static int list_dir(char ***out, size_t *out_n, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **grown;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d)
        return ks_error_set(errno == ENOENT ? KS_ENOTFOUND : KS_EIO, "static pods directory %s: %s",
                            dir, strerror(errno));
    while ((e = readdir(d))) {
        if (!wanted(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(grown = realloc(names, cap * sizeof(*names)))) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    *out = names;
    *out_n = n;
    names = NULL;
done:
    if (names) {
        while (n)
            free(names[--n]);
        free(names);
    }
    closedir(d);
    return rc;
}

static struct sp_file *find_file(struct sp_source *s, const char *name)
{
    struct sp_file key = {.name = (char *)name};

    if (!s->n_files)
        return NULL;
    return bsearch(&key, s->files, s->n_files, sizeof(*s->files), cmp_files);
}

/* Reads name again if it changed; returns the file or NULL (not a regular file / no memory). */
static struct sp_file *refresh(struct sp_source *s, const char *name, size_t *io_cap, bool *loaded)
{
    struct sp_file *f = find_file(s, name), *grown;
    struct stat st;
    json_t *docs = NULL;
    char *path = ks_strdupf("%s/%s", s->dir, name);
    int64_t mtime;
    int rc;

    *loaded = false;
    if (!path || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        free(path);
        return NULL;
    }
    free(path);
    mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (f && f->dev == st.st_dev && f->ino == st.st_ino && f->size == st.st_size &&
        f->mtime_ns == mtime)
        return f;
    if (!f) {
        if (s->n_files == *io_cap) {
            size_t cap = *io_cap ? *io_cap * 2 : 16;

            if (!(grown = realloc(s->files, cap * sizeof(*s->files))))
                return NULL;
            s->files = grown;
            *io_cap = cap;
        }
        f = &s->files[s->n_files++];
        memset(f, 0, sizeof(*f));
        if (!(f->name = strdup(name)) || !(f->docs = json_array())) {
            s->n_files--;
            file_release(f);
            return NULL;
        }
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->mtime_ns = mtime;
    *loaded = true;
    rc = sp_load_file(&docs, s, name);
    if (rc == 0) {
        json_decref(f->docs);
        f->docs = docs;
        free(f->error);
        f->error = NULL;
    } else if (!f->error || strcmp(f->error, ks_error_last()) != 0) {
        free(f->error);
        f->error = strdup(ks_error_last());
        sp_report_file_warning(s, name, ks_error_last());
    }
    return f;
}

static int log_change(struct sp_source *s, const char *type, const char *key, json_t *obj)
{
    const char *slash1 = strchr(key, '/'), *slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
    json_t *c;
    char *kind, *ns;

    if (!slash2)
        return ks_error_set(KS_EINVALID, "static pods: bad view key %s", key);
    kind = ks_strndup(key, (size_t)(slash1 - key));
    ns = ks_strndup(slash1 + 1, (size_t)(slash2 - slash1 - 1));
    c = json_pack("{s:I,s:s,s:s?,s:s?,s:s}", "revision", (json_int_t)(s->revision + 1), "type",
                  type, "kind", kind, "namespace", ns, "name", slash2 + 1);
    free(kind);
    free(ns);
    if (!c || (obj && json_object_set(c, "object", obj) < 0) ||
        json_array_append_new(s->log, c) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    s->revision++;
    while (json_array_size(s->log) > KS_STATICPODS_MAX_LOG) {
        s->log_floor = json_integer_value(json_object_get(json_array_get(s->log, 0), "revision"));
        json_array_remove(s->log, 0);
    }
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the differences old -> new to the log, in key order. */
static int diff(struct sp_source *s, json_t *old, json_t *new)
{
    const char **keys = NULL, *k;
    size_t n = 0, i;
    json_t *v;
    int rc = 0;

    keys = malloc((json_object_size(old) + json_object_size(new) + 1) * sizeof(*keys));
    if (!keys)
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_object_foreach(new, k, v) keys[n++] = k;
    json_object_foreach(old, k, v) if (!json_object_get(new, k)) keys[n++] = k;
    if (n)
        qsort(keys, n, sizeof(*keys), cmp_keys);
    for (i = 0; i < n && rc == 0; i++) {
        json_t *a = json_object_get(old, keys[i]), *b = json_object_get(new, keys[i]);

        if (!b)
            rc = log_change(s, "delete", keys[i], NULL);
        else if (!a || !json_equal(a, b))
            rc = log_change(s, "put", keys[i], b);
    }
    free(keys);
    return rc;
}

int sp_rescan(struct sp_source *s)
{
    char **names = NULL, *key, msg[256];
    size_t n = 0, i, j, cap = s->n_files, max = s->opts.max_files;
    json_t *view = NULL, *doc;
    bool loaded;
    int rc;

    if ((rc = list_dir(&names, &n, s->dir)) < 0) {
        /* A directory that went away keeps what runs; its return is picked up. */
        if (rc == KS_ENOTFOUND)
            rc = 0;
        goto done;
    }
    if (n > max) {
        if (!s->files_limited) {
            snprintf(msg, sizeof(msg),
                     "%zu manifest files, only the first %zu (by name) are read (max_files)", n,
                     max);
            sp_report_file_warning(s, s->dir, msg);
        }
        s->files_limited = true;
    } else {
        s->files_limited = false;
    }
    for (i = 0; i < s->n_files; i++)
        s->files[i].seen = s->files[i].fresh = false;
    for (i = 0; i < n && i < max; i++) {
        struct sp_file *f = refresh(s, names[i], &cap, &loaded);

        if (f) {
            f->seen = true;
            f->fresh = loaded;
        }
        if (f && loaded)
            qsort(s->files, s->n_files, sizeof(*s->files), cmp_files);
    }
    for (i = j = 0; i < s->n_files; i++) {
        if (s->files[i].seen)
            s->files[j++] = s->files[i];
        else
            file_release(&s->files[i]);
    }
    s->n_files = j;
    if (!(view = json_object())) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < s->n_files; i++) {
        size_t d;
        struct sp_file *f = &s->files[i];
        json_array_foreach(f->docs, d, doc)
        {
            json_t *meta = json_object_get(doc, "metadata");

            key = ks_strdupf("%s/%s/%s", json_string_value(json_object_get(doc, "kind")),
                             json_string_value(json_object_get(meta, "namespace")),
                             json_string_value(json_object_get(meta, "name")));
            if (!key) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            if (json_object_get(view, key)) {
                if (f->fresh) {
                    snprintf(msg, sizeof(msg),
                             "%s is defined by an earlier file; this one is "
                             "ignored",
                             key);
                    sp_report_file_warning(s, f->name, msg);
                }
            } else if (json_object_set(view, key, doc) < 0) {
                free(key);
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
            free(key);
        }
    }
    if ((rc = diff(s, s->current, view)) < 0)
        goto done;
    json_decref(s->current);
    s->current = view;
    view = NULL;
done:
    json_decref(view);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
