/*
 * load.c: reading a chart directory into memory and sorting its files as
 * helm's loader (pkg/chart/loader: LoadDir, LoadFiles) does.
 *
 * The directory walk visits entries in byte order per directory (Go's
 * filepath.Walk), applies the chart's .helmignore (and helm's default
 * rule), follows symlinks only when they stay inside the chart, strips a
 * UTF-8 BOM from every file, and counts bytes, files and depth against the
 * limits. LoadFiles then routes each file: Chart.yaml, requirements.yaml
 * (apiVersion v1 dependencies), values.yaml, values.schema.json,
 * templates/..., charts/<name>/... (a subchart, loaded recursively;
 * charts/<name>.tgz archives too; names starting with "_" or "." skipped),
 * and everything else becomes .Files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/chart.h"
#include "renderer/goenc.h"

void ks_chart_limits_init(struct ks_chart_limits *out, size_t max_bytes, unsigned max_files,
                          unsigned max_depth)
{
    out->max_bytes = max_bytes;
    out->max_files = max_files;
    out->max_depth = max_depth;
    out->used_bytes = 0;
    out->used_files = 0;
}

int ks_chart_files_push(struct ks_chart_files *fl, char *name, char *data, size_t len)
{
    if (fl->n == fl->cap) {
        size_t ncap = fl->cap ? fl->cap * 2 : 16;
        struct ks_chart_file *nv = realloc(fl->v, ncap * sizeof(*nv));
        if (!nv)
            return ks_error_set(KS_ENOMEM, "out of memory loading chart");
        fl->v = nv;
        fl->cap = ncap;
    }
    fl->v[fl->n++] = (struct ks_chart_file){name, data, len};
    return 0;
}

void ks_chart_files_release(struct ks_chart_files *fl)
{
    for (size_t i = 0; i < fl->n; i++) {
        free(fl->v[i].name);
        free(fl->v[i].data);
    }
    free(fl->v);
    fl->v = NULL;
    fl->n = fl->cap = 0;
}

void ks_chart_free(struct ks_chart *c)
{
    if (!c)
        return;
    json_decref(c->meta);
    json_decref(c->values);
    json_decref(c->schema);
    ks_chart_files_release(&c->templates);
    ks_chart_files_release(&c->files);
    for (size_t i = 0; i < c->ndeps; i++)
        ks_chart_free(c->deps[i]);
    free(c->deps);
    free(c->dep_name);
    free(c);
}

void ks_chart_full_path(char *buf, size_t size, const struct ks_chart *c)
{
    if (!c->parent) {
        snprintf(buf, size, "%s", c->name);
        return;
    }
    char up[4096];
    ks_chart_full_path(up, sizeof(up), c->parent);
    snprintf(buf, size, "%s/charts/%s", up, c->name);
}

/* ---- directory walk ---- */

struct walk {
    const char *root; /* chart directory as given */
    char root_real[PATH_MAX];
    struct ks_helmignore *ignore;
    struct ks_chart_files *files;
    struct ks_chart_limits *lim;
    /* scratch paths shared by every level of walk_dir (not used across its
     * recursive call), so that each level's frame stays small */
    char dir[PATH_MAX], full[PATH_MAX];
    /* the path relative to the root of the entry being looked at: each
     * level appends "/name" to its parent's and cuts it off again */
    char rel[PATH_MAX];
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file: open, fstat for the size, then reads of that size
 * (a read shorter than asked at the stat'ed size is the end of the file;
 * a file that grows meanwhile is read on until read() says 0). */
static int read_file(char **out, size_t *out_len, const char *path, struct ks_chart_limits *lim)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = ks_error_set(KS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    size_t want = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    for (;;) {
        if (lim->used_bytes + b.len > lim->max_bytes ||
            (st.st_size > 0 && lim->used_bytes + (size_t)st.st_size > lim->max_bytes)) {
            rc = ks_error_set(KS_ELIMIT, "%s: chart is larger than the limit of %zu bytes", path,
                              lim->max_bytes);
            goto done;
        }
        if ((rc = ks_buf_grow(&b, want)) < 0)
            goto done;
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ks_error_set(KS_EIO, "%s: read error: %s", path, strerror(errno));
            goto done;
        }
        b.len += (size_t)n;
        b.data[b.len] = '\0';
        if (n == 0 || (st.st_size > 0 && b.len == (size_t)st.st_size))
            break;
        want = b.len < 65536 ? 4096 : b.len / 2;
    }
    if (lim->used_bytes + b.len > lim->max_bytes) {
        rc = ks_error_set(KS_ELIMIT, "%s: chart is larger than the limit of %zu bytes", path,
                          lim->max_bytes);
        goto done;
    }
    lim->used_bytes += b.len;
    size_t len = 0;
    char *data = ks_buf_detach(&b, &len); /* "" when the file is empty */
    if (!data) {
        rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
        goto done;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        memmove(data, data + 3, len - 3 + 1);
        len -= 3;
    }
    *out = data;
    *out_len = len;
done:
    if (fd >= 0)
        close(fd);
    ks_buf_release(&b);
    return rc;
}

/* Resolves a symlink and checks that it stays inside the chart. */
static int check_inside(const struct walk *w, const char *full)
{
    char real[PATH_MAX];
    if (!realpath(full, real))
        return ks_error_set(KS_EIO, "%s: %s", full, strerror(errno));
    size_t rl = strlen(w->root_real);
    if (strncmp(real, w->root_real, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
        return ks_error_set(KS_EINVALID, "%s: symbolic link points outside the chart", full);
    return 0;
}

/* Walks the directory w->rel (rel_len bytes long, "" for the root). */
static int walk_dir(struct walk *w, size_t rel_len, unsigned depth)
{
    const char *rel = w->rel;
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    DIR *d = NULL;
    int rc = 0;
    char *dir = w->dir, *full = w->full;
    snprintf(dir, sizeof(w->dir), "%s%s%s", w->root, rel[0] ? "/" : "", rel);
    if (depth > w->lim->max_depth) {
        rc = ks_error_set(KS_ELIMIT, "%s: directory nesting deeper than the limit of %u", dir,
                          w->lim->max_depth);
        goto done;
    }
    d = opendir(dir);
    if (!d) {
        rc = ks_error_set(KS_EIO, "%s: %s", dir, strerror(errno));
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (nnames == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nv = realloc(names, ncap * sizeof(*nv));
            if (!nv) {
                rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
                goto done;
            }
            names = nv;
            cap = ncap;
        }
        names[nnames] = strdup(de->d_name);
        if (!names[nnames]) {
            rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
            goto done;
        }
        nnames++;
        if (nnames > w->lim->max_files) {
            rc = ks_error_set(KS_ELIMIT, "%s: more entries than the limit of %u files", dir,
                              w->lim->max_files);
            goto done;
        }
    }
    if (nnames > 1)
        qsort(names, nnames, sizeof(*names), cmp_names);
    for (size_t i = 0; i < nnames; i++) {
        /* relp is w->rel with "/name" appended (cut off again at done and
         * before the next entry; the recursive call leaves it as it was) */
        char *relp = w->rel;
        relp[rel_len] = '\0';
        size_t nl = strlen(names[i]), sep = rel_len ? 1 : 0;
        int n2 = -1;
        if (rel_len + sep + nl < sizeof(w->rel)) {
            if (sep)
                relp[rel_len] = '/';
            memcpy(relp + rel_len + sep, names[i], nl + 1);
            n2 = snprintf(full, sizeof(w->full), "%s/%s", w->root, relp);
        }
        if (n2 < 0 || (size_t)n2 >= sizeof(w->full)) {
            relp[rel_len] = '\0';
            rc = ks_error_set(KS_ELIMIT, "%s%s%s/%s: path too long", w->root, rel_len ? "/" : "",
                              rel, names[i]);
            goto done;
        }
        struct stat lst, st;
        if (lstat(full, &lst) != 0 ||
            (S_ISLNK(lst.st_mode) ? stat(full, &st) : (st = lst, 0)) != 0) {
            rc = ks_error_set(KS_EIO, "%s: %s", full, strerror(errno));
            goto done;
        }
        if (S_ISLNK(lst.st_mode)) {
            rc = check_inside(w, full);
            if (rc < 0)
                goto done;
        }
        bool is_dir = S_ISDIR(st.st_mode);
        if (ks_helmignore_ignored(w->ignore, relp, is_dir))
            continue;
        if (is_dir) {
            rc = walk_dir(w, rel_len + sep + nl, depth + 1);
            if (rc < 0)
                goto done;
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = ks_error_set(KS_EINVALID,
                              "%s: cannot load irregular file as it has file mode type bits set",
                              full);
            goto done;
        }
        if (++w->lim->used_files > w->lim->max_files) {
            rc = ks_error_set(KS_ELIMIT, "%s: chart has more files than the limit of %u", full,
                              w->lim->max_files);
            goto done;
        }
        char *data = NULL;
        size_t len = 0;
        rc = read_file(&data, &len, full, w->lim);
        if (rc < 0)
            goto done;
        char *name = strdup(relp);
        if (!name || ks_chart_files_push(w->files, name, data, len) < 0) {
            free(name);
            free(data);
            rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
            goto done;
        }
    }
done:
    w->rel[rel_len] = '\0';
    if (d)
        closedir(d);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int ks_chart_load(struct ks_chart **out, const char *path, struct ks_chart_limits *lim)
{
    struct ks_chart_files files = {0};
    /* 16 KiB of paths: on the heap, where a render's pages are already
     * faulted in, not on a stack page of their own */
    struct walk *w = NULL;
    char *ign = NULL, *data = NULL;
    size_t ign_len = 0, len = 0;
    int rc = 0;
    struct stat st;

    if (stat(path, &st) != 0) {
        rc = ks_error_set(KS_ENOTFOUND, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = read_file(&data, &len, path, lim);
        if (rc < 0)
            goto done;
        rc = ks_chart_load_archive(out, data, len, path, lim, 0);
        goto done;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
        goto done;
    }
    w->root = path;
    w->files = &files;
    w->lim = lim;
    if (!realpath(path, w->root_real)) {
        rc = ks_error_set(KS_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    char *ipath = w->full; /* free until the walk */
    snprintf(ipath, sizeof(w->full), "%s/.helmignore", path);
    if (stat(ipath, &st) == 0) {
        rc = read_file(&ign, &ign_len, ipath, lim);
        if (rc < 0)
            goto done;
    }
    rc = ks_helmignore_parse(&w->ignore, ign, ign_len, ipath);
    if (rc < 0)
        goto done;
    rc = walk_dir(w, 0, 0);
    if (rc < 0)
        goto done;
    rc = ks_chart_from_files(out, &files, path, lim, 0);
done:
    if (w)
        ks_helmignore_free(w->ignore);
    free(w);
    ks_chart_files_release(&files);
    free(ign);
    free(data);
    return rc;
}

/* ---- sorting files into a chart ---- */

struct subdir {
    char *name; /* first component under charts/ */
    struct ks_chart_files files;
};

static int take_subchart(struct subdir **subs, size_t *nsubs, struct ks_chart_file *f)
{
    const char *rest = f->name + strlen("charts/");
    const char *slash = strchr(rest, '/');
    size_t cl = slash ? (size_t)(slash - rest) : strlen(rest);
    size_t i;
    for (i = 0; i < *nsubs; i++)
        if (strlen((*subs)[i].name) == cl && strncmp((*subs)[i].name, rest, cl) == 0)
            break;
    if (i == *nsubs) {
        struct subdir *nv = realloc(*subs, (*nsubs + 1) * sizeof(*nv));
        if (!nv)
            return ks_error_set(KS_ENOMEM, "out of memory loading chart");
        *subs = nv;
        nv[i].name = strndup(rest, cl);
        nv[i].files = (struct ks_chart_files){0};
        if (!nv[i].name)
            return ks_error_set(KS_ENOMEM, "out of memory loading chart");
        (*nsubs)++;
    }
    /* name relative to charts/ ("sub/Chart.yaml" or "sub.tgz") */
    char *n = strdup(rest);
    if (!n)
        return ks_error_set(KS_ENOMEM, "out of memory loading chart");
    int rc = ks_chart_files_push(&(*subs)[i].files, n, f->data, f->len);
    if (rc < 0) {
        free(n);
        return rc;
    }
    free(f->name);
    f->name = NULL;
    f->data = NULL;
    return 0;
}

/* Moves f into fl. */
static int move_file(struct ks_chart_files *fl, struct ks_chart_file *f)
{
    int rc = ks_chart_files_push(fl, f->name, f->data, f->len);
    if (rc == 0)
        f->name = f->data = NULL;
    return rc;
}

static int load_subcharts(struct ks_chart *c, struct subdir *subs, size_t nsubs, const char *where,
                          struct ks_chart_limits *lim, unsigned depth)
{
    for (size_t i = 0; i < nsubs; i++) {
        struct subdir *s = &subs[i];
        struct ks_chart *sc = NULL;
        int rc;
        char subwhere[4096];
        snprintf(subwhere, sizeof(subwhere), "%s/charts/%s", where, s->name);
        if (s->name[0] == '_' || s->name[0] == '.')
            continue;
        if (has_suffix(s->name, ".tgz")) {
            if (s->files.n != 1 || strcmp(s->files.v[0].name, s->name) != 0)
                return ks_error_set(KS_EINVALID, "error unpacking subchart tar in %s: expected %s",
                                    where, s->name);
            rc = ks_chart_load_archive(&sc, s->files.v[0].data, s->files.v[0].len, subwhere, lim,
                                       depth + 1);
        } else {
            struct ks_chart_files buf = {0};
            rc = 0;
            for (size_t k = 0; k < s->files.n && rc == 0; k++) {
                struct ks_chart_file *f = &s->files.v[k];
                const char *slash = strchr(f->name, '/');
                if (!slash)
                    continue; /* a file in charts/ that is not a chart */
                memmove(f->name, slash + 1, strlen(slash + 1) + 1);
                rc = move_file(&buf, f);
            }
            if (rc == 0)
                rc = ks_chart_from_files(&sc, &buf, subwhere, lim, depth + 1);
            ks_chart_files_release(&buf);
        }
        if (rc < 0)
            return ks_error_wrap(rc, "error unpacking subchart %s in %s", s->name, c->name);
        sc->parent = c;
        struct ks_chart **nd = realloc(c->deps, (c->ndeps + 1) * sizeof(*nd));
        if (!nd) {
            ks_chart_free(sc);
            return ks_error_set(KS_ENOMEM, "out of memory loading chart");
        }
        c->deps = nd;
        c->deps[c->ndeps++] = sc;
    }
    return 0;
}

static int cmp_subdir(const void *a, const void *b)
{
    return strcmp(((const struct subdir *)a)->name, ((const struct subdir *)b)->name);
}

int ks_chart_from_files(struct ks_chart **out, struct ks_chart_files *files, const char *where,
                        struct ks_chart_limits *lim, unsigned depth)
{
    struct ks_chart *c = NULL;
    struct subdir *subs = NULL;
    size_t nsubs = 0;
    json_t *chart_yaml = NULL, *requirements = NULL;
    int rc = 0;
    char fwhere[4096];

    if (depth > lim->max_depth) {
        rc = ks_error_set(KS_ELIMIT, "%s: subcharts nested deeper than the limit of %u", where,
                          lim->max_depth);
        goto done;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
        goto done;
    }
    for (size_t i = 0; i < files->n; i++) {
        struct ks_chart_file *f = &files->v[i];
        snprintf(fwhere, sizeof(fwhere), "%s/%s", where, f->name);
        if (strcmp(f->name, "Chart.yaml") == 0) {
            json_decref(chart_yaml);
            chart_yaml = NULL;
            rc = ks_helmyaml_parse(&chart_yaml, f->data, f->len, fwhere, 1);
            if (rc < 0)
                goto done;
        } else if (strcmp(f->name, "requirements.yaml") == 0) {
            json_decref(requirements);
            requirements = NULL;
            rc = ks_helmyaml_parse(&requirements, f->data, f->len, fwhere, 1);
            if (rc < 0)
                goto done;
        } else if (strcmp(f->name, "values.yaml") == 0) {
            json_decref(c->values);
            c->values = NULL;
            rc = ks_helmyaml_parse(&c->values, f->data, f->len, fwhere, 1);
            if (rc < 0)
                goto done;
        } else if (strcmp(f->name, "values.schema.json") == 0) {
            json_error_t jerr;
            json_decref(c->schema);
            c->schema = json_loadb(f->data, f->len, JSON_DECODE_ANY, &jerr);
            if (!c->schema) {
                struct ks_pos pos = {fwhere, jerr.line, jerr.column};
                rc = ks_error_set_at(KS_EINVALID, &pos, "%s", jerr.text);
                goto done;
            }
        } else if (strcmp(f->name, "Chart.lock") == 0 ||
                   strcmp(f->name, "requirements.lock") == 0) {
            continue; /* lock files are neither templates nor .Files */
        } else if (strncmp(f->name, "templates/", 10) == 0) {
            rc = move_file(&c->templates, f);
        } else if (strncmp(f->name, "charts/", 7) == 0 && !has_suffix(f->name, ".prov")) {
            rc = take_subchart(&subs, &nsubs, f);
        } else {
            rc = move_file(&c->files, f);
        }
        if (rc < 0)
            goto done;
    }
    if (!chart_yaml) {
        rc = ks_error_set(KS_EINVALID, "%s: Chart.yaml file is missing", where);
        goto done;
    }
    snprintf(fwhere, sizeof(fwhere), "%s/Chart.yaml", where);
    rc = ks_chart_metadata_build(&c->meta, chart_yaml, requirements, fwhere);
    if (rc < 0)
        goto done;
    c->name = json_string_value(json_object_get(c->meta, "Name"));
    if (!c->values) {
        c->values = json_object();
        if (!c->values) {
            rc = ks_error_set(KS_ENOMEM, "out of memory loading chart");
            goto done;
        }
    }
    if (nsubs > 1)
        qsort(subs, nsubs, sizeof(*subs), cmp_subdir);
    rc = load_subcharts(c, subs, nsubs, where, lim, depth);
    if (rc < 0)
        goto done;
    *out = c;
    c = NULL;
done:
    for (size_t i = 0; i < nsubs; i++) {
        free(subs[i].name);
        ks_chart_files_release(&subs[i].files);
    }
    free(subs);
    json_decref(chart_yaml);
    json_decref(requirements);
    ks_chart_free(c);
    ks_chart_files_release(files);
    return rc;
}
