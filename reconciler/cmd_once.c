/*
 * cmd_once.c: `reconcile --once [--dry-run]`: one pass from Git to the
 * store. Fetch, resolve, skip when nothing under --path changed, build the
 * desired set, plan against what the store last applied, then either print
 * the plan (--dry-run: exit 2 when changes are pending) or apply it in one
 * transaction and record the sync. Any error exits 1 and leaves the store as
 * it was: a failed render or bad YAML never deletes anything.
 *
 * Running the control plane as a daemon (without --once) is a later piece of
 * work; this build says so instead of pretending.
 */
#include "reconciler/cli.h"
#include "reconciler/pipeline.h"
#include "reconciler/plan/plan.h"
#include "reconciler/store/store.h"

#include "core/buf.h"
#include "core/digest.h"
#include "core/error.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct once_opts {
    const char *repo, *branch, *path, *state_dir, *output;
    int once, dry_run, allow_mass_prune;
    unsigned max_prune_percent;
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile --once [--dry-run] [OPTIONS]\n"
          "\n"
          "One reconcile pass: fetch the repository, render the desired state under --path,\n"
          "plan it against what was last applied, and apply it to the state store.\n"
          "\n"
          "Options:\n"
          "  --repo URL|PATH        Git repository (local path, file://, https://, ssh://); "
          "default .\n"
          "  --branch B             branch, tag or commit to deploy; default: the remote's HEAD\n"
          "  --path DIR             directory of manifests inside the repository; default: root\n"
          "  --state-dir DIR        state (store, mirrors, chart cache); default "
          "$KEELSON_STATE_DIR,\n"
          "                         /var/lib/keelson as root, else ~/.local/state/keelson\n"
          "  --dry-run              print the plan, change nothing\n"
          "  -o, --output FMT       text (default), json or markdown\n"
          "  --allow-mass-prune     allow deleting more than --max-prune-share of the managed "
          "objects\n"
          "  --max-prune-share PCT  prune limit in percent of managed objects (default 50)\n"
          "  -h, --help             show this help\n"
          "\n"
          "Exit status: 0 in sync or applied, 1 error, 2 changes pending (--dry-run).\n",
          out);
}

static int parse(struct once_opts *o, int argc, char **argv)
{
    enum {
        OPT_REPO = 256,
        OPT_BRANCH,
        OPT_PATH,
        OPT_STATE,
        OPT_ONCE,
        OPT_DRY,
        OPT_MASS,
        OPT_SHARE
    };
    static const struct option longopts[] = {
        {"repo", required_argument, NULL, OPT_REPO},
        {"branch", required_argument, NULL, OPT_BRANCH},
        {"path", required_argument, NULL, OPT_PATH},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"once", no_argument, NULL, OPT_ONCE},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"output", required_argument, NULL, 'o'},
        {"allow-mass-prune", no_argument, NULL, OPT_MASS},
        {"max-prune-share", required_argument, NULL, OPT_SHARE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_REPO:
            o->repo = optarg;
            break;
        case OPT_BRANCH:
            o->branch = optarg;
            break;
        case OPT_PATH:
            o->path = optarg;
            break;
        case OPT_STATE:
            o->state_dir = optarg;
            break;
        case OPT_ONCE:
            o->once = 1;
            break;
        case OPT_DRY:
            o->dry_run = 1;
            break;
        case OPT_MASS:
            o->allow_mass_prune = 1;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_SHARE: {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100) {
                ks_cli_error("--max-prune-share: want a percentage from 1 to 100, got \"%s\"",
                             optarg);
                return -1;
            }
            o->max_prune_percent = (unsigned)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            ks_cli_error("unknown or incomplete option \"%s\" (see reconcile --once --help)",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        ks_cli_error("unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    return 0;
}

/* The skip key of a commit: the --path subtree id plus the ids of every
 * input a Release read outside it (charts, values files), hashed. Equal
 * keys mean an identical desired set, so rendering can be skipped. */
static int input_key(char out[65], struct ks_source *src, const char *commit, const char *tree,
                     const json_t *inputs)
{
    struct ks_buf b;
    ks_buf_init(&b, 1024 * 1024);
    ks_buf_printf(&b, "tree %s\n", tree);
    size_t i;
    const json_t *p;
    int rc = 0;
    json_array_foreach(inputs, i, p)
    {
        char id[41];
        if ((rc = ks_source_path_id(id, src, commit, json_string_value(p))))
            break;
        ks_buf_printf(&b, "%s %s\n", json_string_value(p), id);
    }
    if (rc == 0)
        rc = ks_buf_error(&b) ? ks_buf_error(&b)
                              : ks_sha256_hex(out, ks_buf_data(&b), ks_buf_len(&b));
    ks_buf_release(&b);
    return rc;
}

/* True when nothing the last applied set was built from has changed. */
static int unchanged_since_apply(struct ks_store *store, struct ks_source *src, const char *commit,
                                 const char *tree)
{
    char *inputs_text = NULL, *applied_key = NULL;
    json_t *inputs = NULL;
    char key[65];
    int same = 0;
    if (ks_store_meta_get(&applied_key, store, "applied_key") == 0 &&
        ks_store_meta_get(&inputs_text, store, "applied_inputs") == 0 &&
        (inputs = json_loads(inputs_text, 0, NULL)) != NULL &&
        input_key(key, src, commit, tree, inputs) == 0)
        same = strcmp(key, applied_key) == 0;
    free(inputs_text);
    free(applied_key);
    json_decref(inputs);
    return same;
}

static int record_applied(struct ks_store *store, struct ks_source *src, const char *commit,
                          const char *tree, const struct ks_desired_set *set)
{
    char key[65];
    char *inputs = json_dumps(set->inputs, JSON_COMPACT);
    int rc = inputs ? input_key(key, src, commit, tree, set->inputs)
                    : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc == 0 && (rc = ks_store_begin(store)) == 0) {
        if ((rc = ks_store_meta_set(store, "applied_commit", commit)) ||
            (rc = ks_store_meta_set(store, "applied_key", key)) ||
            (rc = ks_store_meta_set(store, "applied_inputs", inputs)) ||
            (rc = ks_store_meta_set(store, "applied_hash", set->hash)))
            ks_store_rollback(store);
        else
            rc = ks_store_commit(store);
    }
    free(inputs);
    return rc;
}

static json_t *summary_of(const struct ks_plan *plan)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "create", (json_int_t)plan->n_create, "update",
                     (json_int_t)plan->n_update, "delete", (json_int_t)plan->n_delete, "unchanged",
                     (json_int_t)plan->n_unchanged);
}

int ks_cmd_once(int argc, char **argv)
{
    struct once_opts o = {.repo = ".", .output = "text"};
    int pr = parse(&o, argc, argv);
    if (pr)
        return pr > 0 ? 0 : 1;
    if (!o.once) {
        ks_cli_error("the long-running control plane is not part of this build yet; "
                     "run one pass with --once (see reconcile --help)");
        return 1;
    }
    enum ks_plan_format fmt;
    if (ks_plan_format_parse(&fmt, o.output)) {
        ks_cli_error("%s", ks_error_last());
        return 1;
    }

    int exit_code = 1, rc = 0;
    int64_t sync_id = -1;
    struct ks_buf state, db, title;
    ks_buf_init(&state, 4096);
    ks_buf_init(&db, 4096);
    ks_buf_init(&title, 4096);
    struct ks_source *src = NULL;
    struct ks_store *store = NULL;
    struct ks_desired_set *set = NULL;
    struct ks_source_snapshot *snap = NULL;
    struct ks_plan *plan = NULL;
    struct ks_plan_item *base = NULL, *head = NULL;
    size_t nbase = 0;
    json_t *base_objects = NULL, *meta = NULL;
    char commit[41], tree[41];

    if ((rc = ks_pipeline_state_dir(&state, o.state_dir)) ||
        (rc = ks_pipeline_open_source(&src, o.repo, ks_buf_data(&state))) ||
        (rc = ks_source_resolve(commit, src, o.branch)) ||
        (rc = ks_source_tree_hash(tree, src, commit, o.path)))
        goto done;
    ks_buf_printf(&db, "%s/state.db", ks_buf_data(&state));
    struct stat st;
    int have_db = stat(ks_buf_data(&db), &st) == 0;
    if ((have_db || !o.dry_run) && (rc = ks_store_open_sqlite(&store, ks_buf_data(&db), 0)))
        goto done;
    ks_buf_printf(&title, "%s at %.12s%s%s", o.repo, commit, o.path ? ", path " : "",
                  o.path ? o.path : "");

    if (store && unchanged_since_apply(store, src, commit, tree)) {
        if (!o.dry_run)
            rc = ks_store_meta_set(store, "applied_commit", commit);
        if (rc == 0 && fmt == KS_PLAN_TEXT)
            printf("%s: in sync (nothing changed under the path since the last apply)\n",
                   ks_buf_data(&title));
        else if (rc == 0)
            printf(fmt == KS_PLAN_JSON ? "{\"commit\": \"%s\", \"inSync\": true}\n"
                                       : "### %s\n\nIn sync.\n",
                   fmt == KS_PLAN_JSON ? commit : ks_buf_data(&title));
        exit_code = rc ? 1 : 0;
        goto done;
    }
    if (!o.dry_run && (rc = ks_store_sync_begin(&sync_id, store, commit)))
        goto done;
    if ((rc = ks_pipeline_desired(&set, &snap, src, commit, o.path, ks_buf_data(&state))))
        goto done;
    if (store && (rc = ks_plan_load_managed(&base, &nbase, &base_objects, store)))
        goto done;
    if ((rc = ks_plan_items_from_set(&head, set)))
        goto done;
    struct ks_plan_opts po = {.allow_mass_prune = o.allow_mass_prune,
                              .max_prune_percent = o.max_prune_percent,
                              .load = ks_plan_store_loader,
                              .load_ctx = store};
    if ((rc = ks_plan_compute(&plan, base, nbase, head, set->count, &po)))
        goto done;
    json_array_extend(plan->warnings, set->warnings);
    if ((rc = ks_plan_placement(&plan->placement, set, store)))
        goto done;
    bool pending = plan->n_create || plan->n_update || plan->n_delete;
    meta = json_pack("{s:s, s:s, s:s, s:b}", "commit", commit, "tree", tree, "hash", set->hash,
                     "dryRun", o.dry_run);
    if (o.dry_run) {
        rc = ks_pipeline_print_plan(plan, fmt, false, ks_buf_data(&title), meta);
        exit_code = rc ? 1 : pending ? 2 : 0;
        goto done;
    }
    /* objects, the applied key and the sync record land in one transaction */
    if ((rc = ks_store_begin(store)))
        goto done;
    json_t *summary = summary_of(plan);
    if ((rc = ks_plan_apply(store, plan, commit)) == 0 &&
        (rc = record_applied(store, src, commit, tree, set)) == 0)
        rc = ks_store_sync_finish(store, sync_id, "applied", summary, NULL);
    json_decref(summary);
    if (rc) {
        ks_store_rollback(store);
        goto done;
    }
    if ((rc = ks_store_commit(store)))
        goto done;
    sync_id = -1;
    ks_buf_puts(&title, ": applied to the store");
    rc = ks_pipeline_print_plan(plan, fmt, false, ks_buf_data(&title), meta);
    exit_code = rc ? 1 : 0;
done:
    if (rc) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", ks_error_last());
        if (store && sync_id >= 0)
            ks_store_sync_finish(store, sync_id, "failed", NULL, msg);
        ks_cli_error("%s", msg);
        exit_code = 1;
    }
    json_decref(meta);
    json_decref(base_objects);
    free(base);
    free(head);
    ks_plan_free(plan);
    ks_desired_set_free(set);
    ks_source_snapshot_free(snap);
    ks_store_close(store);
    ks_source_close(src);
    ks_buf_release(&state);
    ks_buf_release(&db);
    ks_buf_release(&title);
    return exit_code;
}
