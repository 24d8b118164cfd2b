/*
 * live.c: the dashboard as the control plane serves it. The site is built
 * from the repository's history (history.c, pages.c) and kept in memory;
 * the daemon asks for a refresh after each sync and status commit, the API
 * server's loop thread reads copies of files. A refresh builds the new
 * site outside the lock and swaps it in, so readers never wait for git.
 */
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/source/source.h"

#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ks_dashboard_live {
    pthread_mutex_t lock;    /* guards site */
    pthread_mutex_t refresh; /* one refresh at a time */
    struct ks_dashboard_site *site;
    char *repo, *branch, *status_branch;
    unsigned max_commits;
    char built_from[82]; /* fingerprint of the site (under refresh) */
    int64_t checked_ms;  /* last fingerprint check (under lock) */
};

#define CHECK_EVERY_MS 1000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int ks_dashboard_live_new(struct ks_dashboard_live **out, const char *repo,
                          const struct ks_dashboard_opts *opts)
{
    struct ks_dashboard_live *live = calloc(1, sizeof(*live));
    if (!live)
        return ks_error_set(KS_ENOMEM, "dashboard: out of memory");
    pthread_mutex_init(&live->lock, NULL);
    pthread_mutex_init(&live->refresh, NULL);
    live->repo = strdup(repo);
    if (opts) {
        live->branch = dup_or_null(opts->branch);
        live->status_branch = dup_or_null(opts->status_branch);
        live->max_commits = opts->max_commits;
    }
    if (!live->repo || (opts && opts->branch && !live->branch) ||
        (opts && opts->status_branch && !live->status_branch)) {
        ks_dashboard_live_free(live);
        return ks_error_set(KS_ENOMEM, "dashboard: out of memory");
    }
    *out = live;
    return 0;
}

/* Builds the site unless only_if_moved and the tips are those it was
 * built from. Called with live->refresh held. */
static int rebuild(struct ks_dashboard_live *live, int only_if_moved)
{
    struct ks_source_opts so = {.repo = live->repo};
    struct ks_dashboard_opts o = {.branch = live->branch,
                                  .status_branch = live->status_branch,
                                  .max_commits = live->max_commits};
    struct ks_source *src = NULL;
    struct ks_dashboard_site *site = NULL, *old = NULL;
    json_t *model = NULL;
    char tips[82];
    int rc;
    if ((rc = ks_source_open(&src, &so)) || (rc = ks_dashboard_fingerprint(tips, src, &o)))
        goto done;
    if (only_if_moved && strcmp(tips, live->built_from) == 0)
        goto done;
    if ((rc = ks_dashboard_model_read(&model, src, &o)) ||
        (rc = ks_dashboard_site_build(&site, model, 1)))
        goto done;
    memcpy(live->built_from, tips, sizeof tips);
    pthread_mutex_lock(&live->lock);
    old = live->site;
    live->site = site;
    site = NULL;
    pthread_mutex_unlock(&live->lock);
done:
    ks_dashboard_site_free(old);
    ks_dashboard_site_free(site);
    json_decref(model);
    ks_source_close(src);
    return rc;
}

int ks_dashboard_live_refresh(struct ks_dashboard_live *live)
{
    pthread_mutex_lock(&live->refresh);
    int rc = rebuild(live, 0);
    pthread_mutex_unlock(&live->refresh);
    return rc;
}

int ks_dashboard_live_get(char **out_data, size_t *out_len, const char **out_type,
                          struct ks_dashboard_live *live, const char *path)
{
    int64_t now = now_ms();
    pthread_mutex_lock(&live->lock);
    int built = live->site != NULL;
    int check = !built || now - live->checked_ms >= CHECK_EVERY_MS;
    if (check)
        live->checked_ms = now;
    pthread_mutex_unlock(&live->lock);
    if (check) {
        pthread_mutex_lock(&live->refresh);
        int rc = rebuild(live, built);
        pthread_mutex_unlock(&live->refresh);
        if (rc && !built)
            return rc; /* nothing to serve yet; later failures keep the last good site */
    }
    int rc = 0;
    pthread_mutex_lock(&live->lock);
    const struct ks_dashboard_file *f = ks_dashboard_site_find(live->site, path);
    if (!f) {
        rc = ks_error_set(KS_ENOTFOUND, "dashboard: no page %s", path);
        goto done;
    }
    char *copy = malloc(f->len + 1);
    if (!copy) {
        rc = ks_error_set(KS_ENOMEM, "dashboard: out of memory");
        goto done;
    }
    memcpy(copy, f->data, f->len);
    copy[f->len] = '\0';
    *out_data = copy;
    *out_len = f->len;
    *out_type = f->content_type;
done:
    pthread_mutex_unlock(&live->lock);
    return rc;
}

void ks_dashboard_live_free(struct ks_dashboard_live *live)
{
    if (!live)
        return;
    ks_dashboard_site_free(live->site);
    pthread_mutex_destroy(&live->lock);
    pthread_mutex_destroy(&live->refresh);
    free(live->repo);
    free(live->branch);
    free(live->status_branch);
    free(live);
}
