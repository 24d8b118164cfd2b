/*
 * run.c: `reconcile [options]` without --once: the long-running control
 * plane. Threads:
 *   - the API server's event loop (cp.c; its own store connection);
 *   - the worker: takes coalesced triggers (triggers.c) and runs one sync
 *     at a time (sync.c), a controller pass after every sync and after
 *     agents write (pass.c), and node lifecycle on a one-second tick;
 *   - for a local repository, an inotify watcher (libinotifytools) on the
 *     repository's refs/ and packed-refs/HEAD, so a commit is picked up at
 *     once;
 *   - the main thread waits for SIGTERM/SIGINT and supervises the embedded
 *     node agent (restarts it with backoff).
 * <state_dir>/api.url holds the listen URL once the server listens. On
 * SIGTERM/SIGINT the threads are joined, the embedded agent is stopped and
 * the pods keep running.
 */
#include "reconciler/daemon/daemon.h"
#include "reconciler/writeback/writeback.h"

#include "reconciler/cli.h"
#include "reconciler/pipeline.h"

#include "core/buf.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <errno.h>
#include <getopt.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECRET_BYTES 4096
#define TICK_MS 1000
#define FULL_PASS_EVERY_TICKS 10 /* time-based controller decisions (minReadySeconds...) */

struct daemon_opts {
    const char *repo, *branch, *path, *state_dir, *listen, *webhook_secret_file;
    const char *tls_cert, *tls_key, *podman_socket, *node_name, *log_level;
    const char *status_branch, *status_remote, *service_cidr;
    int no_local_node, allow_mass_prune, no_writeback, drift_pr;
    unsigned max_prune_percent;
    int64_t interval_ms, node_grace_ms, node_monitor_ms, writeback_interval_ms;
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile [--repo URL|PATH] [OPTIONS]\n"
          "\n"
          "Runs the control plane: the API server, the sync loop (interval, webhook, API and,\n"
          "for a local repository, every commit at once through inotify), the controllers and\n"
          "the scheduler, node lifecycle, and an embedded node agent for the local Podman.\n"
          "\n"
          "Options:\n"
          "  --repo URL|PATH          Git repository; default .\n"
          "  --branch B               branch, tag or commit to deploy\n"
          "  --path DIR               directory of manifests inside the repository\n"
          "  --state-dir DIR          state dir (store, tokens, api.url)\n"
          "  --listen ADDR            API address host:port (default 127.0.0.1:7480)\n"
          "  --interval DUR           poll the repository every DUR (default 60s; 0 = never)\n"
          "  --webhook-secret-file F  enables POST /hooks/git with this shared secret\n"
          "  --tls-cert F --tls-key F serve the API over HTTPS\n"
          "  --podman-socket PATH     Podman socket of the embedded node\n"
          "  --no-local-node          no embedded node agent\n"
          "  --node-name N            name of the embedded node (default: the host name)\n"
          "  --node-grace DUR         a NotReady node's pods fail after DUR (default 60s)\n"
          "  --node-monitor-grace DUR a node silent for DUR becomes NotReady (default 40s)\n"
          "  --allow-mass-prune       allow a sync to delete more than --max-prune-share of the\n"
          "                           managed objects\n"
          "  --max-prune-share PCT    prune limit in percent of managed objects (default 50)\n"
          "  --service-cidr CIDR      Service clusterIPs come from this IPv4 range\n"
          "                           (default 10.96.0.0/16)\n"
          "  --status-branch B        branch sync results, health and drift are committed to\n"
          "                           (default keelson/status; never the deployed branch)\n"
          "  --status-remote R        also push the status branch to R (a local repository's\n"
          "                           remote name or URL; a URL source pushes to its origin)\n"
          "  --writeback-interval DUR one status commit per DUR at most (default 10s)\n"
          "  --no-writeback           do not write the status branch\n"
          "  --drift-pr               drift not healed (self-heal off) also goes to its own\n"
          "                           branch keelson/drift/<ns>/<pod> for a pull request:\n"
          "                           merge it to accept, delete the branch to heal\n"
          "  --log-level L            debug, info (default), warn, error\n"
          "  -h, --help               show this help\n"
          "\n"
          "Stop it with SIGTERM or SIGINT: pods keep running.\n",
          out);
}

enum {
    OPT_LISTEN = KS_CLI_OPT_OWN,
    OPT_INTERVAL,
    OPT_SECRET,
    OPT_CERT,
    OPT_KEY,
    OPT_GRACE,
    OPT_MONITOR,
    OPT_LOG,
    OPT_WB_INTERVAL,
};

static int own_opt(void *ctx, int c, const char *arg)
{
    struct daemon_opts *o = ctx;
    int rc = 0;

    switch (c) {
    case OPT_LISTEN:
        o->listen = arg;
        break;
    case OPT_SECRET:
        o->webhook_secret_file = arg;
        break;
    case OPT_CERT:
        o->tls_cert = arg;
        break;
    case OPT_KEY:
        o->tls_key = arg;
        break;
    case OPT_LOG:
        o->log_level = arg;
        break;
    case OPT_INTERVAL:
        rc = ks_cli_duration(&o->interval_ms, "--interval", arg, true, "30s");
        break;
    case OPT_GRACE:
        rc = ks_cli_duration(&o->node_grace_ms, "--node-grace", arg, false, "30s");
        break;
    case OPT_MONITOR:
        rc = ks_cli_duration(&o->node_monitor_ms, "--node-monitor-grace", arg, false, "30s");
        break;
    case OPT_WB_INTERVAL:
        rc = ks_cli_duration(&o->writeback_interval_ms, "--writeback-interval", arg, false, "30s");
        break;
    default:
        return 0;
    }
    return rc < 0 ? -1 : 1;
}

static int parse(struct daemon_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        KS_CLI_LONGOPTS_SYNC,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"webhook-secret-file", required_argument, NULL, OPT_SECRET},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"node-grace", required_argument, NULL, OPT_GRACE},
        {"node-monitor-grace", required_argument, NULL, OPT_MONITOR},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"writeback-interval", required_argument, NULL, OPT_WB_INTERVAL},
        KS_CLI_LONGOPT_HELP,
        KS_CLI_LONGOPT_END,
    };
    const struct ks_cli_common dst = {KS_CLI_BIND_SYNC(o)};
    const struct ks_cli_spec spec = {
        .shortopts = "h",
        .longopts = longopts,
        .dst = &dst,
        .own = own_opt,
        .ctx = o,
        .usage = usage,
        .see = "reconcile --help",
        .unknown_prefix = "",
        .operand_prefix = "",
    };
    int rc = ks_cli_parse(&spec, argc, argv);

    if (rc != 0)
        return rc;
    if (!o->tls_cert != !o->tls_key) {
        ks_cli_error("--tls-cert and --tls-key go together");
        return -1;
    }
    struct ks_service_cidr cidr;
    if (ks_service_cidr_parse(&cidr, o->service_cidr) < 0) {
        ks_cli_error("%s", ks_error_last());
        return -1;
    }
    return 0;
}

/* "host:port", "[v6]:port" or ":port". */
static int split_listen(char *host, size_t cap, unsigned *port, const char *text)
{
    const char *colon = strrchr(text, ':');
    int64_t p;
    if (!colon || ks_str_to_i64(&p, colon + 1, "--listen port") || p < 0 || p > 65535)
        return ks_error_set(KS_EINVALID, "--listen: want host:port, got \"%s\"", text);
    size_t len = (size_t)(colon - text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len == 0) {
        text = "127.0.0.1";
        len = strlen(text);
    }
    if (len >= cap)
        return ks_error_set(KS_ELIMIT, "--listen: host too long");
    memcpy(host, text, len);
    host[len] = '\0';
    *port = (unsigned)p;
    return 0;
}

static int write_file_atomic(const char *path, const char *text)
{
    char *tmp = ks_strdupf("%s.tmp", path);
    FILE *f = tmp ? fopen(tmp, "w") : NULL;
    int rc = 0;
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        rc = ks_error_set(KS_EIO, "cannot write %s: %s", path, strerror(errno));
    free(tmp);
    return rc;
}

/* ---- the worker ---------------------------------------------------------- */

struct daemon {
    struct daemon_opts *o;
    const char *state_dir;
    struct ks_cp cp;
    struct ks_store *store;
    struct ks_source *src;
    struct ks_ctl_pass pass;
    struct ks_observer observer;
    int64_t last_recorded_ticket;
    atomic_bool stop;
    char gitdir[4096]; /* local repository's git dir, "" for remote ones */
};

static const char *reasons_text(char *buf, size_t cap, unsigned r)
{
    snprintf(buf, cap, "%s%s%s%s%s", r & KS_TRIGGER_START ? "start " : "",
             r & KS_TRIGGER_INTERVAL ? "interval " : "", r & KS_TRIGGER_API ? "api " : "",
             r & KS_TRIGGER_WEBHOOK ? "webhook " : "", r & KS_TRIGGER_GIT ? "git " : "");
    size_t n = strlen(buf);
    if (n)
        buf[n - 1] = '\0';
    return buf;
}

/* One sync; returns whether it changed the store (applied, or failed with
 * a record written): an unchanged sync needs no controller pass. */
static bool run_sync(struct daemon *d, const struct ks_trigger_work *w)
{
    char why[64], ms[24], ticket[24];
    struct ks_sync_opts so = {.repo = d->o->repo,
                              .branch = d->o->branch,
                              .path = d->o->path,
                              .state_dir = d->state_dir,
                              .allow_mass_prune = d->o->allow_mass_prune,
                              .max_prune_percent = d->o->max_prune_percent,
                              .service_cidr = d->o->service_cidr,
                              .ticket = w->ticket,
                              .record_unchanged = w->ticket > d->last_recorded_ticket ||
                                                  (w->sync_reasons & KS_TRIGGER_START)};
    struct ks_sync_result r;
    int64_t t0 = ks_triggers_now_ms();
    /* an acknowledged apply survives power loss (its fsync also covers
     * every relaxed commit before it); the controller passes in between are
     * derived state, recomputed from the store: relaxed */
    ks_store_set_durability(d->store, KS_STORE_DURABLE);
    int rc = ks_sync_pass(&r, d->store, d->src, &so);
    ks_store_set_durability(d->store, KS_STORE_RELAXED);
    snprintf(ms, sizeof ms, "%lld", (long long)(ks_triggers_now_ms() - t0));
    snprintf(ticket, sizeof ticket, "%lld", (long long)w->ticket);
    reasons_text(why, sizeof why, w->sync_reasons);
    if (r.sync_id >= 0)
        d->last_recorded_ticket = w->ticket;
    ks_observer_sync(&d->observer, &r);
    if (rc)
        ks_log(KS_LOG_ERROR, "sync failed", "trigger", why, "commit", r.commit, "ticket", ticket,
               "error", r.error, NULL);
    else if (r.outcome == KS_SYNC_UNCHANGED)
        ks_log(KS_LOG_DEBUG, "sync: nothing changed", "trigger", why, "commit", r.commit, "ms", ms,
               NULL);
    else {
        char counts[96];
        snprintf(counts, sizeof counts, "create=%zu update=%zu delete=%zu", r.plan->n_create,
                 r.plan->n_update, r.plan->n_delete);
        ks_log(KS_LOG_INFO, "sync applied", "trigger", why, "commit", r.commit, "plan", counts,
               "ticket", ticket, "ms", ms, NULL);
    }
    bool changed = rc != 0 || r.outcome != KS_SYNC_UNCHANGED;
    ks_sync_result_release(&r);
    ks_cp_notify(&d->cp, d->store);
    return changed;
}

static void run_pass(struct daemon *d, bool after_sync)
{
    int rc = ks_ctl_pass_run(&d->pass, d->store, (int64_t)time(NULL) * 1000);
    bool healed = ks_observer_store(&d->observer, d->store, ks_triggers_now_ms(), after_sync) > 0;
    if (rc == KS_ECONFLICT || healed)
        ks_triggers_wrote(&d->cp.triggers); /* an agent wrote in between: again */
    else if (rc)
        ks_log(KS_LOG_ERROR, "controller pass failed", "error", ks_error_last(), NULL);
    json_array_clear(d->pass.placements);
    ks_cp_notify(&d->cp, d->store);
}

static void *worker_main(void *arg)
{
    struct daemon *d = arg;
    struct ks_trigger_work w;
    unsigned ticks = 0;
    while (ks_triggers_wait(&w, &d->cp.triggers)) {
        bool pass = w.controllers, synced = false;
        /* a sync that found nothing new (same commit and tree) costs only
         * the fetch and the compare: no controller pass unless agents wrote,
         * the tick is due or this is the first sync */
        if (w.sync_reasons && (run_sync(d, &w) || (w.sync_reasons & KS_TRIGGER_START)))
            pass = synced = true;
        if (w.tick && !pass) {
            bool changed = false;
            int rc = ks_node_lifecycle(&changed, d->store, (int64_t)time(NULL) * 1000,
                                       d->pass.started_ms, &d->pass.grace);
            if (rc)
                ks_log(KS_LOG_ERROR, "node lifecycle failed", "error", ks_error_last(), NULL);
            pass = changed || ++ticks % FULL_PASS_EVERY_TICKS == 0;
        }
        if (pass)
            run_pass(d, synced);
    }
    return NULL;
}

/* ---- inotify on a local repository ----------------------------------------- */

/* The git dir of a local repository (work tree with .git, or bare), "" for
 * URLs and paths that are neither. */
static void find_gitdir(char *out, size_t cap, const char *repo)
{
    struct stat st;
    out[0] = '\0';
    if (ks_str_has_prefix(repo, "file://") || strstr(repo, "://"))
        return;
    char *dotgit = ks_strdupf("%s/.git", repo), *refs = ks_strdupf("%s/refs", repo);
    if (dotgit && stat(dotgit, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, cap, "%s", dotgit);
    else if (refs && stat(refs, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, cap, "%s", repo);
    free(dotgit);
    free(refs);
}

static bool ref_event(const struct daemon *d, struct inotify_event *ev)
{
    const char *dir = inotifytools_filename_from_wd(ev->wd);
    const char *name = ev->len ? ev->name : "";
    if (!dir || ks_str_has_suffix(name, ".lock"))
        return false;
    /* our own status commits (writeback) are not a reason to sync */
    char ref[4096], ours[4096];
    snprintf(ref, sizeof ref, "%s%s%s", dir, ks_str_has_suffix(dir, "/") ? "" : "/", name);
    snprintf(ours, sizeof ours, "%s/refs/heads/%s", d->gitdir,
             d->o->status_branch ? d->o->status_branch : "keelson/status");
    if (ks_str_has_prefix(ref, ours) || strstr(ref, "/refs/keelson/") ||
        strstr(ref, "/refs/heads/" KS_WRITEBACK_DRIFT_PREFIX))
        return false; /* nor are the --drift-pr branches */
    size_t gl = strlen(d->gitdir);
    bool top = strncmp(dir, d->gitdir, gl) == 0 && (dir[gl] == '\0' || !strcmp(dir + gl, "/"));
    if (top)
        return !strcmp(name, "packed-refs") || !strcmp(name, "HEAD");
    return true;
}

static void *inotify_main(void *arg)
{
    struct daemon *d = arg;
    char *refs = ks_strdupf("%s/refs", d->gitdir);
    int events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE;
    if (!refs || !inotifytools_initialize() || !inotifytools_watch_recursively(refs, events) ||
        !inotifytools_watch_file(d->gitdir, IN_CLOSE_WRITE | IN_MOVED_TO)) {
        ks_log(KS_LOG_WARN, "cannot watch the repository's refs; interval syncs only", "gitdir",
               d->gitdir, "error", strerror(inotifytools_error()), NULL);
        free(refs);
        return NULL;
    }
    ks_log(KS_LOG_INFO, "watching the repository's refs", "gitdir", d->gitdir, NULL);
    while (!atomic_load(&d->stop)) {
        struct inotify_event *ev = inotifytools_next_event(1);
        if (!ev)
            continue;
        if ((ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE)) {
            char *sub = inotifytools_dirpath_from_event(ev);
            char *path = sub ? ks_strdupf("%s%s", sub, ev->name) : NULL;
            if (path)
                inotifytools_watch_recursively(path, events);
            free(path);
            free(sub);
            continue;
        }
        if (ref_event(d, ev))
            ks_triggers_sync(&d->cp.triggers, KS_TRIGGER_GIT);
    }
    inotifytools_cleanup();
    free(refs);
    return NULL;
}

/* ---- the command ------------------------------------------------------------ */

static int read_secret(char **out, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = ks_file_read(&text, &len, path, MAX_SECRET_BYTES);
    if (rc)
        return ks_error_wrap(rc, "--webhook-secret-file");
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (len == 0) {
        free(text);
        return ks_error_set(KS_EINVALID, "--webhook-secret-file %s: empty", path);
    }
    *out = text;
    return 0;
}

int ks_cmd_daemon(int argc, char **argv)
{
    struct daemon_opts o = {.repo = ".",
                            .listen = "127.0.0.1:7480",
                            .interval_ms = 60000,
                            .node_grace_ms = KS_NODE_EVICTION_GRACE_MS,
                            .node_monitor_ms = KS_NODE_MONITOR_GRACE_MS};
    int pr = parse(&o, argc, argv);
    if (pr)
        return pr > 0 ? 0 : 1;
    enum ks_log_level level = KS_LOG_INFO;
    if (o.log_level && ks_log_level_parse(&level, o.log_level)) {
        ks_cli_error("%s", ks_error_last());
        return 1;
    }
    ks_log_configure(level, KS_LOG_LOGFMT, stderr);
    /* The daemon's heap holds thousands of parsed objects and answers of
     * megabytes that come and go, and a fresh page costs ~17 us to fault in
     * on a VM: keep up to 256 MiB of freed heap top instead of giving it
     * back and faulting it in again, grow the heap 16 MiB at a time, and
     * serve blocks up to 32 MiB (glibc's maximum) from the heap rather than
     * one mmap/munmap each. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);

    struct daemon d = {.o = &o, .last_recorded_ticket = 0};
    struct ks_buf state, db, urlfile, sock;
    ks_buf_init(&sock, 4096);
    ks_buf_init(&state, 4096);
    ks_buf_init(&db, 4096);
    ks_buf_init(&urlfile, 4096);
    char *secret = NULL, host[256];
    unsigned port = 0;
    int rc = 0, exit_code = 1;
    pthread_t worker, watcher;
    bool worker_on = false, watcher_on = false, cp_on = false, observer_on = false;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    /* threads inherit the mask: only the main thread takes the signals */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((rc = split_listen(host, sizeof host, &port, o.listen)) ||
        (o.webhook_secret_file && (rc = read_secret(&secret, o.webhook_secret_file))) ||
        (rc = ks_pipeline_state_dir(&state, o.state_dir)))
        goto done;
    d.state_dir = ks_buf_data(&state);
    ks_buf_printf(&db, "%s/state.db", d.state_dir);
    ks_buf_printf(&urlfile, "%s/api.url", d.state_dir);
    ks_buf_printf(&sock, "%s/api.sock", d.state_dir);
    struct ks_source_opts so = {.repo = o.repo, .state_dir = d.state_dir};
    if ((rc = ks_source_open(&d.src, &so)) ||
        (rc = ks_store_open_sqlite(&d.store, ks_buf_data(&db), 0)))
        goto done;
    struct ks_observer_opts oo = {.src = d.src,
                                  .branch = o.branch,
                                  .status_branch = o.status_branch,
                                  .writeback = !o.no_writeback,
                                  .start_thread = true,
                                  .interval_ms = (long)o.writeback_interval_ms,
                                  .push_remote = o.status_remote,
                                  .drift_pr = o.drift_pr};
    if ((rc = ks_observer_open(&d.observer, &oo)))
        goto done;
    observer_on = true;
    struct ks_cp_opts co = {.state_dir = d.state_dir,
                            .db_path = ks_buf_data(&db),
                            .address = host,
                            .port = port,
                            .tls_cert = o.tls_cert,
                            .tls_key = o.tls_key,
                            .webhook_secret = secret,
                            .unix_socket = ks_buf_data(&sock),
                            .interval_ms = o.interval_ms,
                            .tick_ms = TICK_MS,
                            .local_node = !o.no_local_node,
                            .node_name = o.node_name,
                            .podman_socket = o.podman_socket,
                            .observer = &d.observer,
                            .log_level = o.log_level};
    if ((rc = ks_cp_start(&d.cp, &co)))
        goto done;
    cp_on = true;
    char line[sizeof d.cp.url + 2];
    snprintf(line, sizeof line, "%s\n", d.cp.url);
    if ((rc = write_file_atomic(ks_buf_data(&urlfile), line)))
        goto done;
    ks_log(KS_LOG_INFO, "control plane listening", "url", d.cp.url, "repo", o.repo, NULL);

    d.pass.started_ms = (int64_t)time(NULL) * 1000;
    d.pass.grace =
        (struct ks_node_grace){.monitor_ms = o.node_monitor_ms, .eviction_ms = o.node_grace_ms};
    d.pass.placements = json_array();
    if (getrandom(&d.pass.rng, sizeof d.pass.rng, 0) != (ssize_t)sizeof d.pass.rng)
        d.pass.rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    if (pthread_create(&worker, NULL, worker_main, &d)) {
        rc = ks_error_set(KS_EIO, "cannot start the worker thread");
        goto done;
    }
    worker_on = true;
    find_gitdir(d.gitdir, sizeof d.gitdir, o.repo);
    if (d.gitdir[0] && pthread_create(&watcher, NULL, inotify_main, &d) == 0)
        watcher_on = true;

    for (;;) {
        struct timespec ts = {.tv_sec = 1};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            ks_log(KS_LOG_INFO, "stopping", "signal", sig == SIGTERM ? "TERM" : "INT", NULL);
            break;
        }
        ks_local_node_supervise(d.cp.node);
    }
    exit_code = 0;
done:
    if (rc) {
        ks_cli_error("%s", ks_error_last());
        exit_code = 1;
    }
    atomic_store(&d.stop, true);
    if (cp_on)
        ks_triggers_stop(&d.cp.triggers);
    if (worker_on)
        pthread_join(worker, NULL);
    if (watcher_on)
        pthread_join(watcher, NULL);
    if (observer_on)
        ks_observer_flush(&d.observer);
    if (cp_on) {
        unlink(ks_buf_data(&urlfile));
        ks_cp_stop(&d.cp);
    }
    if (observer_on)
        ks_observer_close(&d.observer);
    json_decref(d.pass.placements);
    ks_store_close(d.store);
    ks_source_close(d.src);
    free(secret);
    ks_buf_release(&state);
    ks_buf_release(&db);
    ks_buf_release(&urlfile);
    ks_buf_release(&sock);
    return exit_code;
}
