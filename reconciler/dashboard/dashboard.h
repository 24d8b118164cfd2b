/*
 * dashboard.h: the status dashboard, built from a repository's history.
 *
 * Git is the record (DESIGN.md §4): the deploy branch says what was asked
 * for, by whom and when; the status branch (written by reconciler/writeback)
 * says what each sync did, what drifted and how health changed. The
 * dashboard is a function of those two histories only, so the same pages
 * come out of the live control plane and of `reconcile dashboard` run in CI
 * on a plain clone.
 *
 * Two steps: ks_dashboard_model_read() turns the history into one JSON
 * model (also published as data.json); ks_dashboard_site_build() renders
 * the model into files (HTML with every table and chart drawn on the
 * server side, so the pages work without JavaScript; a small script adds
 * filtering and, on the live server, refreshing). No CDN, no network.
 */
#ifndef KS_RECONCILER_DASHBOARD_H
#define KS_RECONCILER_DASHBOARD_H

#include <jansson.h>
#include <stddef.h>

struct ks_source;

#define KS_DASHBOARD_DEFAULT_MAX_COMMITS 500u
#define KS_DASHBOARD_DEFAULT_STATUS_BRANCH "keelson/status"
#define KS_DASHBOARD_MAX_STATUS_FILES 20000u
#define KS_DASHBOARD_MAX_FILE_BYTES (1024u * 1024u)

struct ks_dashboard_opts {
    const char *branch;        /* deploy branch; NULL: HEAD's branch (or origin/HEAD) */
    const char *status_branch; /* NULL: "keelson/status" (local, else origin/...) */
    unsigned max_commits;      /* per branch, newest first; 0 = default */
    long long now;             /* Unix seconds for "generated"; 0 = time(NULL) */
};

/* Reads both histories of src into the model:
 *   {"generated", "branch", "status_branch", "deploys": [{sha, short,
 *    author, email, time, subject, body}], "events": [{sha, time, event,
 *    source, objects: [...], subject, body}], "sync": {...} | null,
 *    "objects": [...], "nodes": [...], "drift": [...],
 *    "commit_to_running": [{sha, short, seconds}], "drift_per_day":
 *    [{day, count}], "plans": {sha: sync document}}
 * A repository without a status branch gives a model with empty status
 * parts (the deploys are still shown). *out is a new reference. */
int ks_dashboard_model_read(json_t **out, struct ks_source *src,
                            const struct ks_dashboard_opts *opts);

/* The tips of both branches as "<deploy sha>/<status sha>" (zeros for an
 * absent status branch): cheap (no history read), so a server can tell
 * whether its built site is still current. */
int ks_dashboard_fingerprint(char out[82], struct ks_source *src,
                             const struct ks_dashboard_opts *opts);

/* One generated file. */
struct ks_dashboard_file {
    char *path; /* relative: "index.html", "commits/<sha>.html", "data.json", ... */
    char *data;
    size_t len;
    const char *content_type;
};

struct ks_dashboard_site {
    struct ks_dashboard_file *files;
    size_t nfiles;
};

/* Renders the model into the site's files. live adds the script's
 * periodic refresh (the control plane serves the pages). *out is owned by
 * the caller: ks_dashboard_site_free(). */
int ks_dashboard_site_build(struct ks_dashboard_site **out, const json_t *model, int live);

/* The file at path ("" or "/" = index.html), or NULL. Borrowed. */
const struct ks_dashboard_file *ks_dashboard_site_find(const struct ks_dashboard_site *site,
                                                       const char *path);

/* Writes every file under dir (created), each through a temporary file
 * and a rename. */
int ks_dashboard_site_write(const struct ks_dashboard_site *site, const char *dir);

void ks_dashboard_site_free(struct ks_dashboard_site *site);

/* The live dashboard of the control plane: the site of one repository,
 * rebuilt on demand (after a sync or a status commit) and served from
 * memory by the API server's loop thread while another thread rebuilds.
 * Thread-safe. */
struct ks_dashboard_live;

/* repo: the repository the control plane deploys from (a local path, or
 * the mirror under the state dir). opts (may be NULL) as for
 * ks_dashboard_model_read; strings are copied. Builds nothing yet. */
int ks_dashboard_live_new(struct ks_dashboard_live **out, const char *repo,
                          const struct ks_dashboard_opts *opts);

/* Re-reads the histories and swaps in the new site; on failure the last
 * good site stays (the error is returned). ks_dashboard_live_get also
 * rebuilds by itself when a branch tip moved (checked at most once a
 * second), so callers need not refresh after every commit. */
int ks_dashboard_live_refresh(struct ks_dashboard_live *live);

/* A copy of the file at path (see ks_dashboard_site_find): *out_data is
 * malloc'd, *out_type static. KS_ENOTFOUND for an unknown path; the first
 * request before any refresh builds the site. */
int ks_dashboard_live_get(char **out_data, size_t *out_len, const char **out_type,
                          struct ks_dashboard_live *live, const char *path);

void ks_dashboard_live_free(struct ks_dashboard_live *live);

/* Built-in assets (generated from reconciler/dashboard/assets at build
 * time): style.css and app.js. */
struct ks_dashboard_asset {
    const char *name;
    const unsigned char *data;
    size_t len;
};
extern const struct ks_dashboard_asset ks_dashboard_assets[];
extern const size_t ks_dashboard_nassets;

#endif
