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

int ks_cmd_dashboard(int argc, char **argv)
{
    enum { OPT_REPO = 256, OPT_OUT, OPT_BRANCH, OPT_STATUS, OPT_MAX, OPT_STATE };
    static const struct option longopts[] = {
        {"repo", required_argument, NULL, OPT_REPO},
        {"out", required_argument, NULL, OPT_OUT},
        {"branch", required_argument, NULL, OPT_BRANCH},
        {"status-branch", required_argument, NULL, OPT_STATUS},
        {"max-commits", required_argument, NULL, OPT_MAX},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *repo = ".", *out_dir = NULL, *state_flag = NULL;
    struct ks_dashboard_opts opts = {0};
    struct ks_source *src = NULL;
    struct ks_dashboard_site *site = NULL;
    struct ks_buf state;
    json_t *model = NULL;
    int c, rc = 1;
    ks_buf_init(&state, 4096);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_REPO:
            repo = optarg;
            break;
        case OPT_OUT:
            out_dir = optarg;
            break;
        case OPT_BRANCH:
            opts.branch = optarg;
            break;
        case OPT_STATUS:
            opts.status_branch = optarg;
            break;
        case OPT_STATE:
            state_flag = optarg;
            break;
        case OPT_MAX: {
            int64_t v = 0;
            if (ks_str_to_i64(&v, optarg, "--max-commits") != 0 || v < 1 || v > 100000) {
                ks_cli_error("--max-commits: want a number from 1 to 100000, got \"%s\"", optarg);
                goto done;
            }
            opts.max_commits = (unsigned)v;
            break;
        }
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            ks_cli_error("dashboard: unknown or incomplete option \"%s\" (see reconcile dashboard "
                         "--help)",
                         argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        ks_cli_error("dashboard: unexpected argument \"%s\"", argv[optind]);
        goto done;
    }
    if (!out_dir) {
        ks_cli_error("dashboard: --out DIR is required");
        goto done;
    }
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
