/*
 * pipeline.c: shared steps of the one-shot commands (see pipeline.h).
 */
#include "reconciler/pipeline.h"

#include "core/error.h"
#include "core/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ks_pipeline_state_dir(struct ks_buf *out, const char *flag)
{
    const char *env = getenv("KEELSON_STATE_DIR");
    const char *home = getenv("HOME");
    if (flag && *flag)
        ks_buf_puts(out, flag);
    else if (env && *env)
        ks_buf_puts(out, env);
    else if (geteuid() == 0 || !home)
        ks_buf_puts(out, "/var/lib/keelson");
    else
        ks_buf_printf(out, "%s/.local/state/keelson", home);
    if (ks_buf_error(out))
        return ks_buf_error(out);
    return ks_mkdir_p(ks_buf_data(out), 0700);
}

int ks_pipeline_open_source(struct ks_source **out, const char *repo, const char *state_dir)
{
    struct ks_source_opts so = {.repo = repo, .state_dir = state_dir};
    struct ks_source *src = NULL;
    int rc = ks_source_open(&src, &so);
    if (rc == 0 && (rc = ks_source_fetch(src))) {
        ks_source_close(src);
        src = NULL;
    }
    if (rc == 0)
        *out = src;
    return rc;
}

int ks_pipeline_desired(struct ks_desired_set **out, struct ks_source_snapshot **out_snap,
                        struct ks_source *src, const char *commit, const char *path,
                        const char *state_dir)
{
    struct ks_source_snapshot *snap = NULL;
    struct ks_buf cache, renders;
    ks_buf_init(&cache, 4096);
    ks_buf_init(&renders, 4096);
    ks_buf_printf(&cache, "%s/charts", state_dir);
    ks_buf_printf(&renders, "%s/renders", state_dir);
    int rc = ks_source_snapshot_read(&snap, src, commit, path, NULL);
    if (rc)
        goto done;
    struct ks_desired_opts opts = {.source = src,
                                   .commit = snap->commit,
                                   .chart_cache_dir = ks_buf_data(&cache),
                                   .render_cache_dir = ks_buf_data(&renders)};
    if ((rc = ks_desired_build(out, snap, &opts)))
        goto done;
    if (out_snap) {
        *out_snap = snap;
        snap = NULL;
    }
done:
    ks_source_snapshot_free(snap);
    ks_buf_release(&cache);
    ks_buf_release(&renders);
    return rc;
}

int ks_pipeline_print_plan(const struct ks_plan *plan, enum ks_plan_format fmt, bool yaml_hunks,
                           const char *title, json_t *meta)
{
    struct ks_buf out;
    ks_buf_init(&out, 0);
    struct ks_plan_render_opts ro = {.format = fmt,
                                     .color =
                                         fmt == KS_PLAN_TEXT && isatty(1) && !getenv("NO_COLOR"),
                                     .yaml_hunks = yaml_hunks,
                                     .title = title,
                                     .meta = meta};
    int rc = ks_plan_render(&out, plan, &ro);
    if (rc == 0 && (fwrite(ks_buf_data(&out), 1, ks_buf_len(&out), stdout) != ks_buf_len(&out) ||
                    fflush(stdout) != 0))
        rc = ks_error_set(KS_EIO, "cannot write the plan to standard output");
    ks_buf_release(&out);
    return rc;
}
