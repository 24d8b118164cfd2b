/*
 * cmd_dashboard.c: `reconcile dashboard --repo R --out DIR`: the status
 * dashboard as static files, built only from a repository (its deploy
 * branch and its status branch), for publishing from CI. Nothing else is
 * needed: no control plane, no store, no network (a URL is mirrored into
 * the state dir first, as for --once).
 */
#include "reconciler/cli.h"
#include "reconciler/dashboard/dashboard.h"
#include "reconciler/pipeline.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("Usage: reconcile dashboard --out DIR [--repo R] [OPTIONS]\n"
          "\n"
          "Builds the status dashboard as static HTML from the repository's history alone:\n"
          "deploy commits from the deploy branch, syncs, drift and health from the status\n"
          "branch. Open DIR/index.html in a browser or publish DIR; no server is needed.\n"
          "\n"
          "Options:\n"
          "  --repo URL|PATH        repository (a clone is enough); default .\n"
          "  --out DIR              where to write the pages (created)\n"
          "  --branch B             deploy branch; default: the repository's HEAD\n"
          "  --status-branch B      status branch; default keelson/status (also found as\n"
          "                         origin/keelson/status in a plain clone)\n"
          "  --max-commits N        commits read per branch, newest first (default 500)\n"
          "  --state-dir DIR        where a URL is mirrored (see reconcile --once --help)\n"
          "  -h, --help             show this help\n",
          out);
}

enum { OPT_OUT = KS_CLI_OPT_OWN, OPT_MAX };

struct dashboard_args {
    const char *out_dir;
    struct ks_dashboard_opts *opts;
};

static int own_opt(void *ctx, int c, const char *arg)
{
    struct dashboard_args *a = ctx;

    switch (c) {
    case OPT_OUT:
        a->out_dir = arg;
        return 1;
    case OPT_MAX:
        return ks_cli_number(&a->opts->max_commits, "--max-commits", arg, 1, 100000, "a number") < 0
                   ? -1
                   : 1;
    default:
        return 0;
    }
}

int ks_cmd_dashboard(int argc, char **argv)
{
    static const struct option longopts[] = {
        KS_CLI_LONGOPT_REPO,
        {"out", required_argument, NULL, OPT_OUT},
        KS_CLI_LONGOPT_BRANCH,
        KS_CLI_LONGOPT_STATUS_BRANCH,
        {"max-commits", required_argument, NULL, OPT_MAX},
        KS_CLI_LONGOPT_STATE_DIR,
        KS_CLI_LONGOPT_HELP,
        KS_CLI_LONGOPT_END,
    };
    const char *repo = ".", *state_flag = NULL;
    struct ks_dashboard_opts opts = {0};
    struct dashboard_args args = {.opts = &opts};
    const struct ks_cli_common dst = {
        .repo = &repo,
        .branch = &opts.branch,
        .status_branch = &opts.status_branch,
        .state_dir = &state_flag,
    };
    const struct ks_cli_spec spec = {
        .shortopts = "h",
        .longopts = longopts,
        .dst = &dst,
        .own = own_opt,
        .ctx = &args,
        .usage = usage,
        .see = "reconcile dashboard --help",
        .unknown_prefix = "dashboard: ",
        .operand_prefix = "dashboard: ",
    };
    const char *out_dir;
    struct ks_source *src = NULL;
    struct ks_dashboard_site *site = NULL;
    struct ks_buf state;
    json_t *model = NULL;
    int rc = ks_cli_parse(&spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    if (!(out_dir = args.out_dir)) {
        ks_cli_error("dashboard: --out DIR is required");
        return 1;
    }
    rc = 1;
    ks_buf_init(&state, 4096);
    if (ks_pipeline_state_dir(&state, state_flag) != 0 ||
        ks_pipeline_open_source(&src, repo, ks_buf_data(&state)) != 0 ||
        ks_dashboard_model_read(&model, src, &opts) != 0 ||
        ks_dashboard_site_build(&site, model, 0) != 0 ||
        ks_dashboard_site_write(site, out_dir) != 0) {
        ks_cli_error("%s", ks_error_last());
        goto done;
    }
    printf("dashboard: %zu files in %s (%zu deploy commits, %zu status events)\n", site->nfiles,
           out_dir, json_array_size(json_object_get(model, "deploys")),
           json_array_size(json_object_get(model, "events")));
    rc = 0;
done:
    ks_dashboard_site_free(site);
    json_decref(model);
    ks_source_close(src);
    ks_buf_release(&state);
    return rc;
}
