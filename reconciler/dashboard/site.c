/*
 * site.c: the dashboard as a set of files: the pages of pages.c, the
 * model as data.json and the built-in style sheet and script. The same set
 * is written to a directory by `reconcile dashboard` and served from
 * memory by the control plane.
 */
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/dashboard/pages.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_LIMIT (32u * 1024u * 1024u)

static int add_file(struct ks_dashboard_site *site, const char *path, char *data, size_t len,
                    const char *type)
{
    struct ks_dashboard_file *grown =
        realloc(site->files, (site->nfiles + 1) * sizeof(*site->files));
    char *p = strdup(path);
    if (!grown || !p) {
        if (grown)
            site->files = grown;
        free(p);
        free(data);
        return ks_error_set(KS_ENOMEM, "dashboard: out of memory");
    }
    site->files = grown;
    site->files[site->nfiles++] =
        (struct ks_dashboard_file){.path = p, .data = data, .len = len, .content_type = type};
    return 0;
}

static int add_buf(struct ks_dashboard_site *site, const char *path, struct ks_buf *b,
                   const char *type)
{
    size_t len = 0;
    int rc = ks_buf_error(b);
    if (rc) {
        ks_buf_release(b);
        return ks_error_set(rc, "dashboard: %s exceeds %u bytes (limit)", path, PAGE_LIMIT);
    }
    char *data = ks_buf_detach(b, &len);
    return add_file(site, path, data, len, type);
}

int ks_dashboard_site_build(struct ks_dashboard_site **out, const json_t *model, int live)
{
    struct ks_dashboard_site *site = calloc(1, sizeof(*site));
    struct ks_buf b;
    int rc = 0;
    if (!site)
        return ks_error_set(KS_ENOMEM, "dashboard: out of memory");
    ks_buf_init(&b, PAGE_LIMIT);
    ks_dashboard_page_index(&b, model, live);
    if ((rc = add_buf(site, "index.html", &b, "text/html; charset=utf-8")))
        goto done;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(model, "deploys"), i, d)
    {
        char path[80];
        snprintf(path, sizeof(path), "commits/%.40s.html",
                 json_string_value(json_object_get(d, "sha")));
        ks_buf_init(&b, PAGE_LIMIT);
        ks_dashboard_page_commit(&b, model, d, live);
        if ((rc = add_buf(site, path, &b, "text/html; charset=utf-8")))
            goto done;
    }
    char *json = json_dumps(model, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json) {
        rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
        goto done;
    }
    if ((rc = add_file(site, "data.json", json, strlen(json), "application/json")))
        goto done;
    for (size_t a = 0; a < ks_dashboard_nassets; a++) {
        const struct ks_dashboard_asset *asset = &ks_dashboard_assets[a];
        char *copy = malloc(asset->len + 1);
        if (!copy) {
            rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
            goto done;
        }
        memcpy(copy, asset->data, asset->len);
        copy[asset->len] = '\0';
        const char *type = strstr(asset->name, ".css") ? "text/css; charset=utf-8"
                                                       : "text/javascript; charset=utf-8";
        if ((rc = add_file(site, asset->name, copy, asset->len, type)))
            goto done;
    }
done:
    if (rc) {
        ks_dashboard_site_free(site);
        return rc;
    }
    *out = site;
    return 0;
}

const struct ks_dashboard_file *ks_dashboard_site_find(const struct ks_dashboard_site *site,
                                                       const char *path)
{
    while (path && *path == '/')
        path++;
    if (!path || !*path)
        path = "index.html";
    for (size_t i = 0; i < site->nfiles; i++)
        if (strcmp(site->files[i].path, path) == 0)
            return &site->files[i];
    return NULL;
}

static int write_one(const char *dir, const struct ks_dashboard_file *f)
{
    char *path = ks_strdupf("%s/%s", dir, f->path);
    char *tmp = ks_strdupf("%s/%s.tmp.%ld", dir, f->path, (long)getpid());
    int rc = 0, fd = -1;
    if (!path || !tmp) {
        rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
        goto done;
    }
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rc = ks_mkdir_p(path, 0755);
    *slash = '/';
    if (rc)
        goto done;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ks_error_set(KS_EIO, "dashboard: %s: %s", tmp, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < f->len;) {
        ssize_t n = write(fd, f->data + off, f->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = ks_error_set(KS_EIO, "dashboard: writing %s: %s", tmp, strerror(errno));
            goto done;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = ks_error_set(KS_EIO, "dashboard: writing %s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = ks_error_set(KS_EIO, "dashboard: %s: %s", path, strerror(errno));
done:
    if (fd >= 0)
        close(fd);
    if (rc && tmp)
        unlink(tmp);
    free(path);
    free(tmp);
    return rc;
}

int ks_dashboard_site_write(const struct ks_dashboard_site *site, const char *dir)
{
    int rc = ks_mkdir_p(dir, 0755);
    for (size_t i = 0; rc == 0 && i < site->nfiles; i++)
        rc = write_one(dir, &site->files[i]);
    return rc;
}

void ks_dashboard_site_free(struct ks_dashboard_site *site)
{
    if (!site)
        return;
    for (size_t i = 0; i < site->nfiles; i++) {
        free(site->files[i].path);
        free(site->files[i].data);
    }
    free(site->files);
    free(site);
}
