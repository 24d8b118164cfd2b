/*
 * cmd_once.c: `reconcile --once`: one pass end to end on the embedded
 * default. The sync pass (reconciler/daemon/sync.c, shared with the daemon)
 * fetches, plans and applies in one transaction; then the controllers and
 * the scheduler run, and, unless --no-local-node, the local node converges:
 * the API server listens on an ephemeral loopback port, the embedded node
 * agent (a `nodeagent` child) registers and starts the pods bound to it,
 * and every status it reports runs the controllers and the scheduler
 * again, until every Pod is Running (and Ready with --wait) or --timeout
 * passes. The pods keep running after the command exits.
 *
 * --dry-run prints the plan with the placement the scheduler would choose
 * and changes nothing (exit 2 when changes are pending). Any error exits 1
 * and leaves the store as it was: a failed render or bad YAML never deletes
 * anything. Without --once the same options run the daemon
 * (reconciler/daemon/run.c).
 */
#include "reconciler/cli.h"
#include "reconciler/client/client.h"
#include "reconciler/daemon/daemon.h"
#include "reconciler/pipeline.h"
#include "reconciler/plan/plan.h"
#include "reconciler/store/store.h"

#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct once_opts {
    const char *repo, *branch, *path, *state_dir, *output;
    const char *podman_socket, *node_name, *server, *token, *status_branch, *status_remote;
    const char *service_cidr;
    int once, dry_run, allow_mass_prune, wait, no_local_node, no_writeback, drift_pr;
    unsigned max_prune_percent;
    int64_t timeout_ms;
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile --once [--dry-run] [--wait] [OPTIONS]\n"
          "\n"
          "One reconcile pass end to end: fetch the repository, render the desired state\n"
          "under --path, plan it against what was last applied, apply it to the state\n"
          "store, run the controllers and the scheduler, and let the local node (an\n"
          "embedded nodeagent on the local Podman) start the pods.\n"
          "\n"
          "Options:\n"
          "  --repo URL|PATH        Git repository (local path, file://, https://, ssh://); "
          "default .\n"
          "  --branch B             branch, tag or commit to deploy; default: the remote's HEAD\n"
          "  --path DIR             directory of manifests inside the repository; default: root\n"
          "  --state-dir DIR        state (store, mirrors, chart cache); default "
          "$KEELSON_STATE_DIR,\n"
          "                         /var/lib/keelson as root, else ~/.local/state/keelson\n"
          "  --dry-run              print the plan and the placement, change nothing\n"
          "  --wait                 wait until every pod is Running and Ready (default: Running)\n"
          "  --timeout DUR          give up waiting after DUR (default 5m)\n"
          "  --no-local-node        no embedded node: apply, run controllers and bind pods to\n"
          "                         nodes already registered, then exit without waiting\n"
          "  --podman-socket PATH   Podman socket of the local node (default: found, else a\n"
          "                         private `podman system service` is started)\n"
          "  --node-name N          name of the local node (default: the host name)\n"
          "  --server URL           ask a running control plane to sync and report its result\n"
          "  --token T              admin token for --server (default $KEELSON_TOKEN, else\n"
          "                         <state-dir>/tokens/admin; the server defaults to\n"
          "                         $KEELSON_SERVER, else <state-dir>/api.url)\n"
          "  --status-branch B      branch the sync result, health and drift are committed to\n"
          "                         (default keelson/status; never the deployed branch)\n"
          "  --status-remote R      also push the status branch to R (a local repository's\n"
          "                         remote name or URL; a URL source pushes to its origin)\n"
          "  --no-writeback         do not write the status branch\n"
          "  --drift-pr             drift seen during this run and not healed also goes to\n"
          "                         its own branch keelson/drift/<ns>/<pod> for a pull\n"
          "                         request (closing one is acted on by the daemon)\n"
          "  -o, --output FMT       text (default), json or markdown\n"
          "  --allow-mass-prune     allow deleting more than --max-prune-share of the managed "
          "objects\n"
          "  --max-prune-share PCT  prune limit in percent of managed objects (default 50)\n"
          "  --service-cidr CIDR    Service clusterIPs come from this IPv4 range (default\n"
          "                         10.96.0.0/16)\n"
          "  -h, --help             show this help\n"
          "\n"
          "Exit status: 0 in sync or applied (and pods running), 1 error, unhealthy or timeout,\n"
          "2 changes pending (--dry-run).\n",
          out);
}

enum { OPT_ONCE = KS_CLI_OPT_OWN, OPT_DRY, OPT_WAIT, OPT_TIMEOUT };

static int own_opt(void *ctx, int c, const char *arg)
{
    struct once_opts *o = ctx;

    switch (c) {
    case OPT_ONCE:
        o->once = 1;
        return 1;
    case OPT_DRY:
        o->dry_run = 1;
        return 1;
    case OPT_WAIT:
        o->wait = 1;
        return 1;
    case OPT_TIMEOUT:
        return ks_cli_duration(&o->timeout_ms, "--timeout", arg, false, "90s") < 0 ? -1 : 1;
    default:
        return 0;
    }
}

static int parse(struct once_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        KS_CLI_LONGOPTS_SYNC,
        KS_CLI_LONGOPT_SERVER,
        KS_CLI_LONGOPT_TOKEN,
        KS_CLI_LONGOPT_OUTPUT,
        {"once", no_argument, NULL, OPT_ONCE},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        KS_CLI_LONGOPT_HELP,
        KS_CLI_LONGOPT_END,
    };
    const struct ks_cli_common dst = {
        KS_CLI_BIND_SYNC(o),
        .server = &o->server,
        .token = &o->token,
        .output = &o->output,
    };
    const struct ks_cli_spec spec = {
        .shortopts = "ho:",
        .longopts = longopts,
        .dst = &dst,
        .own = own_opt,
        .ctx = o,
        .usage = usage,
        .see = "reconcile --once --help",
        .unknown_prefix = "",
        .operand_prefix = "",
    };
    return ks_cli_parse(&spec, argc, argv);
}

/* ---- waiting for the pods ------------------------------------------------ */

static const char *pod_str(const json_t *pod, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(pod, a), b));
}

static bool pod_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && s && !strcmp(t, "Ready"))
            return !strcmp(s, "True");
    }
    return false;
}

enum pods_state { PODS_DONE, PODS_WAITING, PODS_FAILED };

/* PODS_DONE when every live Pod is Running (and Ready when want_ready);
 * Pods of a controller that failed were replaced and do not count, a Pod
 * of nobody that failed will not come back (PODS_FAILED). */
static enum pods_state pods_state(const json_t *pods, bool want_ready)
{
    size_t i;
    json_t *p;
    enum pods_state st = PODS_DONE;
    json_array_foreach(pods, i, p)
    {
        const char *phase = pod_str(p, "status", "phase");
        bool owned =
            json_array_size(json_object_get(json_object_get(p, "metadata"), "ownerReferences")) > 0;
        if (phase && !strcmp(phase, "Succeeded"))
            continue;
        if (phase && !strcmp(phase, "Failed")) {
            if (!owned)
                return PODS_FAILED;
            continue;
        }
        if (!phase || strcmp(phase, "Running") || (want_ready && !pod_ready(p)))
            st = PODS_WAITING;
    }
    return st;
}

/* Whether every Deployment finished rolling out: all replicas updated and
 * no old ones left (and all available when want_ready). */
static bool deployments_done(const json_t *deploys, bool want_ready)
{
    size_t i;
    json_t *d;
    json_array_foreach(deploys, i, d)
    {
        json_t *spec = json_object_get(d, "spec"), *st = json_object_get(d, "status");
        json_t *r = json_object_get(spec, "replicas");
        json_int_t want = json_is_integer(r) ? json_integer_value(r) : 1;
        if (json_is_true(json_object_get(spec, "paused")))
            continue;
        if (json_integer_value(json_object_get(st, "updatedReplicas")) != want ||
            json_integer_value(json_object_get(st, "replicas")) != want ||
            (want_ready && json_integer_value(json_object_get(st, "availableReplicas")) != want))
            return false;
    }
    return true;
}

/* Pods with their node and phase: {"pod", "node", "phase", "ready", "message"}. */
static json_t *pods_report(const json_t *pods)
{
    json_t *arr = json_array();
    size_t i, j;
    json_t *p, *c;
    json_array_foreach(pods, i, p)
    {
        const char *ns = pod_str(p, "metadata", "namespace");
        char id[512];
        snprintf(id, sizeof id, "%s/%s", ns ? ns : "", pod_str(p, "metadata", "name"));
        const char *node = pod_str(p, "spec", "nodeName");
        const char *phase = pod_str(p, "status", "phase");
        const char *msg = pod_str(p, "status", "message");
        json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), j, c)
        {
            const char *t = json_string_value(json_object_get(c, "type"));
            const char *s = json_string_value(json_object_get(c, "status"));
            if (!msg && t && s && !strcmp(t, "PodScheduled") && !strcmp(s, "False"))
                msg = json_string_value(json_object_get(c, "message"));
        }
        json_array_append_new(arr, json_pack("{s:s, s:s?, s:s, s:b, s:s?}", "pod", id, "node", node,
                                             "phase", phase ? phase : "Pending", "ready",
                                             pod_ready(p), "message", msg));
    }
    return arr;
}

static void print_pods(const json_t *report)
{
    size_t i;
    json_t *r;
    if (json_array_size(report) == 0)
        return;
    printf("\nPods:\n");
    json_array_foreach(report, i, r)
    {
        const char *node = json_string_value(json_object_get(r, "node"));
        const char *msg = json_string_value(json_object_get(r, "message"));
        printf("  %-40s %-12s %-9s%s%s%s\n", json_string_value(json_object_get(r, "pod")),
               node ? node : "(unbound)", json_string_value(json_object_get(r, "phase")),
               json_is_true(json_object_get(r, "ready")) ? " ready" : "", msg ? "  " : "",
               msg ? msg : "");
    }
}

static int list_kind(json_t **out, struct ks_store *store, const char *kind)
{
    struct ks_store_list_opts lo = {.kind = kind};
    return ks_store_list(out, store, &lo);
}

/* Runs controller passes as agents report until the pods are done, one
 * failed for good, or the deadline passes. *out says which. */
static int converge(enum pods_state *out, struct ks_cp *cp, struct ks_store *store,
                    struct ks_ctl_pass *pass, bool want_ready, int64_t deadline_ms)
{
    int rc = 0;
    enum pods_state st = PODS_WAITING;
    while (rc == 0) {
        json_t *pods = NULL, *deploys = NULL;
        if ((rc = ks_ctl_pass_run(pass, store, (int64_t)time(NULL) * 1000)) == KS_ECONFLICT)
            rc = 0; /* an agent wrote in between: the next round sees it */
        if (rc == 0)
            ks_cp_notify(cp, store);
        if (rc == 0 && (rc = list_kind(&pods, store, "Pod")) == 0 &&
            (rc = list_kind(&deploys, store, "Deployment")) == 0)
            st = pods_state(pods, want_ready);
        if (st == PODS_DONE && !deployments_done(deploys, want_ready))
            st = PODS_WAITING;
        json_decref(pods);
        json_decref(deploys);
        if (rc || st != PODS_WAITING || !cp || ks_triggers_now_ms() >= deadline_ms)
            break;
        ks_local_node_supervise(cp->node);
        struct ks_trigger_work w;
        if (!ks_triggers_wait(&w, &cp->triggers))
            break;
    }
    if (rc == 0)
        *out = st;
    return rc;
}

/* ---- --server: ask a running control plane ------------------------------ */

/* The first finished sync record answering ticket, or NULL. */
static json_t *record_for(const json_t *items, int64_t ticket)
{
    size_t i;
    json_t *rec;
    json_array_foreach(items, i, rec)
    {
        json_t *t = json_object_get(json_object_get(rec, "summary"), "ticket");
        if (!json_is_null(json_object_get(rec, "finished")) && json_is_integer(t) &&
            json_integer_value(t) >= ticket)
            return rec;
    }
    return NULL;
}

static int remote_once(const struct once_opts *o, enum ks_plan_format fmt)
{
    struct ks_client *c = NULL;
    json_t *answer = NULL, *syncs = NULL;
    int exit_code = 1;
    int rc = ks_client_new(&c, o->server, o->token, o->state_dir);
    if (rc || (rc = ks_client_post(&answer, NULL, c, "/api/v1/sync", NULL)))
        goto done;
    json_t *t = json_object_get(answer, "ticket");
    if (!json_is_integer(t)) {
        rc = ks_error_set(KS_EIO, "POST /api/v1/sync: no ticket in the answer");
        goto done;
    }
    int64_t ticket = json_integer_value(t);
    int64_t deadline = ks_triggers_now_ms() + o->timeout_ms;
    json_t *rec = NULL;
    while (!rec) {
        json_decref(syncs);
        syncs = NULL;
        if ((rc = ks_client_get(&syncs, c, "/api/v1/syncs?limit=100")))
            goto done;
        if ((rec = record_for(json_object_get(syncs, "items"), ticket)))
            break;
        if (ks_triggers_now_ms() >= deadline) {
            char d[32];
            rc = ks_error_set(KS_ETIMEOUT, "no sync answered ticket %lld within %s",
                              (long long)ticket, ks_duration_format(d, sizeof d, o->timeout_ms));
            goto done;
        }
        struct timespec ts = {.tv_nsec = 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    const char *result = json_string_value(json_object_get(rec, "result"));
    const char *error = json_string_value(json_object_get(rec, "error"));
    const char *commit = json_string_value(json_object_get(rec, "commit"));
    json_t *sum = json_object_get(rec, "summary");
    if (fmt == KS_PLAN_JSON) {
        char *text = json_dumps(rec, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        printf("%s: sync %lld %s at %.12s", ks_client_server(c),
               (long long)json_integer_value(json_object_get(rec, "id")), result ? result : "?",
               commit ? commit : "");
        if (json_object_get(sum, "create"))
            printf(": %lld to create, %lld to update, %lld to delete, %lld unchanged",
                   (long long)json_integer_value(json_object_get(sum, "create")),
                   (long long)json_integer_value(json_object_get(sum, "update")),
                   (long long)json_integer_value(json_object_get(sum, "delete")),
                   (long long)json_integer_value(json_object_get(sum, "unchanged")));
        printf("\n");
    }
    if (result && strcmp(result, "failed") == 0)
        ks_cli_error("sync failed: %s", error ? error : "(no message)");
    else
        exit_code = 0;
done:
    if (rc)
        ks_cli_error("%s", ks_error_last());
    json_decref(answer);
    json_decref(syncs);
    ks_client_free(c);
    return exit_code;
}

/* ---- the command ----------------------------------------------------------- */

static int print_result(const struct once_opts *o, enum ks_plan_format fmt,
                        const struct ks_sync_result *r, const char *title, json_t *pods)
{
    if (r->outcome == KS_SYNC_UNCHANGED) {
        if (fmt == KS_PLAN_TEXT)
            printf("%s: in sync (nothing changed under the path since the last apply)\n", title);
        else if (fmt == KS_PLAN_JSON) {
            json_t *doc = json_pack("{s:s, s:b, s:O}", "commit", r->commit, "inSync", 1, "pods",
                                    pods ? pods : json_null());
            char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
            if (text)
                printf("%s\n", text);
            free(text);
            json_decref(doc);
        } else
            printf("### %s\n\nIn sync.\n", title);
        if (fmt == KS_PLAN_TEXT)
            print_pods(pods);
        return 0;
    }
    json_t *meta = json_pack("{s:s, s:s, s:s, s:b}", "commit", r->commit, "tree", r->tree, "hash",
                             r->set->hash, "dryRun", o->dry_run);
    if (pods)
        json_object_set(meta, "pods", pods);
    int rc = ks_pipeline_print_plan(r->plan, fmt, false, title, meta);
    json_decref(meta);
    if (rc == 0 && fmt == KS_PLAN_TEXT)
        print_pods(pods);
    return rc;
}

int ks_cmd_once(int argc, char **argv)
{
    bool once = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--once"))
            once = true;
    if (!once)
        return ks_cmd_daemon(argc, argv);

    struct once_opts o = {.repo = ".", .output = "text", .timeout_ms = 5 * 60 * 1000};
    int pr = parse(&o, argc, argv);
    if (pr)
        return pr > 0 ? 0 : 1;
    enum ks_plan_format fmt;
    struct ks_service_cidr cidr;
    if (ks_plan_format_parse(&fmt, o.output) || ks_service_cidr_parse(&cidr, o.service_cidr)) {
        ks_cli_error("%s", ks_error_last());
        return 1;
    }
    /* the pass prints its own report; the log carries only warnings */
    ks_log_configure(KS_LOG_WARN, KS_LOG_LOGFMT, stderr);
    if (o.server || o.token)
        return remote_once(&o, fmt);
    if (o.wait && o.no_local_node) {
        ks_cli_error("--wait needs the local node (no agent can report to a pass started with "
                     "--no-local-node)");
        return 1;
    }

    int exit_code = 1, rc = 0;
    struct ks_buf state, db, title;
    ks_buf_init(&state, 4096);
    ks_buf_init(&db, 4096);
    ks_buf_init(&title, 4096);
    struct ks_source *src = NULL;
    struct ks_store *store = NULL;
    struct ks_sync_result r = {.sync_id = -1};
    struct ks_cp cp = {.triggers_ok = false};
    struct ks_ctl_pass pass = {.placements = NULL};
    json_t *pods = NULL, *report = NULL;
    bool local = !o.dry_run && !o.no_local_node;
    struct ks_observer observer = {.wb = NULL};
    bool observing = false;

    if ((rc = ks_pipeline_state_dir(&state, o.state_dir)) ||
        (rc = ks_pipeline_open_source(&src, o.repo, ks_buf_data(&state))))
        goto done;
    ks_buf_printf(&db, "%s/state.db", ks_buf_data(&state));
    struct stat st;
    int have_db = stat(ks_buf_data(&db), &st) == 0;
    if ((have_db || !o.dry_run) && (rc = ks_store_open_sqlite(&store, ks_buf_data(&db), 0)))
        goto done;

    struct ks_sync_opts so = {.repo = o.repo,
                              .branch = o.branch,
                              .path = o.path,
                              .state_dir = ks_buf_data(&state),
                              .allow_mass_prune = o.allow_mass_prune,
                              .max_prune_percent = o.max_prune_percent,
                              .service_cidr = o.service_cidr,
                              .dry_run = o.dry_run};
    if (!o.dry_run) {
        struct ks_observer_opts oo = {.src = src,
                                      .branch = o.branch,
                                      .status_branch = o.status_branch,
                                      .writeback = !o.no_writeback,
                                      .interval_ms = -1,
                                      .push_remote = o.status_remote,
                                      .drift_pr = o.drift_pr};
        if ((rc = ks_observer_open(&observer, &oo)))
            goto done;
        observing = true;
    }
    rc = ks_sync_pass(&r, store, src, &so);
    if (observing) {
        ks_observer_sync(&observer, &r);
        if (rc) /* the failed sync is on the status branch before we exit */
            ks_observer_flush(&observer);
    }
    if (rc)
        goto done;
    ks_buf_printf(&title, "%s at %.12s%s%s", o.repo, r.commit, o.path ? ", path " : "",
                  o.path ? o.path : "");
    if (o.dry_run) {
        rc = print_result(&o, fmt, &r, ks_buf_data(&title), NULL);
        bool pending = r.plan && (r.plan->n_create || r.plan->n_update || r.plan->n_delete);
        exit_code = rc ? 1 : pending ? 2 : 0;
        goto done;
    }
    if (r.outcome == KS_SYNC_APPLIED)
        ks_buf_puts(&title, ": applied to the store");

    struct ks_cp_opts co = {.state_dir = ks_buf_data(&state),
                            .observer = &observer,
                            .db_path = ks_buf_data(&db),
                            .tick_ms = 500,
                            .local_node = true,
                            .node_name = o.node_name,
                            .podman_socket = o.podman_socket,
                            .quiet_agent = true};
    if (local)
        signal(SIGPIPE, SIG_IGN); /* the API server writes to clients that may be gone */
    if (local && (rc = ks_cp_start(&cp, &co)))
        goto done;
    if (getrandom(&pass.rng, sizeof pass.rng, 0) != (ssize_t)sizeof pass.rng)
        pass.rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    pass.started_ms = (int64_t)time(NULL) * 1000;
    enum pods_state converged = PODS_WAITING;
    if ((rc = converge(&converged, local ? &cp : NULL, store, &pass, o.wait,
                       ks_triggers_now_ms() + o.timeout_ms)))
        goto done;
    if ((rc = list_kind(&pods, store, "Pod")))
        goto done;
    ks_observer_store(&observer, store, ks_triggers_now_ms(), true);
    ks_observer_flush(&observer);
    report = pods_report(pods);
    rc = print_result(&o, fmt, &r, ks_buf_data(&title), report);
    exit_code = rc ? 1 : 0;
    if (rc == 0 && local && converged == PODS_FAILED) {
        ks_cli_error("a pod failed (see the pod list above)");
        exit_code = 1;
    } else if (rc == 0 && local && converged != PODS_DONE) {
        char t[32];
        ks_cli_error("pods not %s after %s (see the pod list above)",
                     o.wait ? "running and ready" : "running",
                     ks_duration_format(t, sizeof t, o.timeout_ms));
        exit_code = 1;
    }
done:
    if (rc) {
        ks_cli_error("%s", ks_error_last());
        exit_code = 1;
    }
    ks_cp_stop(&cp);
    if (observing)
        ks_observer_close(&observer);
    json_decref(pods);
    json_decref(report);
    ks_sync_result_release(&r);
    ks_store_close(store);
    ks_source_close(src);
    ks_buf_release(&state);
    ks_buf_release(&db);
    ks_buf_release(&title);
    return exit_code;
}
