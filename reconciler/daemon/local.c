/*
 * local.c: the embedded node of the default control plane. The dependency
 * rule keeps node-agent code out of `reconcile` (DESIGN.md §1: the agent
 * links only core), so the local node is the `nodeagent` binary run as a
 * child process that talks to this control plane's API like any other
 * agent: `nodeagent --name N --server URL --token-file F --podman-socket P`
 * (contracts §9). It is restarted with backoff (1 s doubling to 30 s, reset
 * after a minute of running) when it dies and stopped with SIGTERM on exit;
 * pods outlive it (a restarted agent adopts them).
 *
 * Its Podman socket is --podman-socket, else the first of $CONTAINER_HOST
 * (unix://), /run/podman/podman.sock and $XDG_RUNTIME_DIR/podman/podman.sock
 * that answers libpod's _ping; when none does, a private
 * `podman system service --time=0 unix://<state_dir>/podman.sock` is started
 * as a second child (with the environment of reconcile, so CONTAINERS_CONF
 * and friends apply) and stopped on exit; containers keep running under
 * conmon after the service stops. This is the one place keelson starts the
 * podman CLI, and only to provide the REST socket everything else uses.
 */
#include "reconciler/daemon/daemon.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define AGENT_BACKOFF_MIN_MS 1000
#define AGENT_BACKOFF_MAX_MS 30000
#define AGENT_STABLE_MS 60000
#define STOP_WAIT_MS 10000
#define PODMAN_START_WAIT_MS 30000

struct ks_local_node {
    char *agent_bin;
    char **argv;     /* nodeagent's argv (owned strings) */
    char *agent_log; /* NULL: inherit stderr */
    pid_t agent;     /* 0 when not running */
    int64_t started_ms, restart_at_ms, backoff_ms;
    pid_t podman; /* the private service, 0 when none */
    char *socket;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Whether a libpod service answers _ping on the socket. */
static bool podman_answers(const char *sock)
{
    struct stat st;
    if (!sock || stat(sock, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    CURL *c = curl_easy_init();
    if (!c)
        return false;
    long code = 0;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://d/v4.0.0/libpod/_ping");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    bool ok = curl_easy_perform(c) == CURLE_OK &&
              curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
    curl_easy_cleanup(c);
    return ok;
}

int ks_local_default_node_name(char *out, size_t cap)
{
    char host[HOST_NAME_MAX + 1] = "";
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[HOST_NAME_MAX] = '\0';
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strlen(host) + 1 > cap)
        return ks_error_set(KS_ELIMIT, "host name \"%s\" is too long for a node name", host);
    snprintf(out, cap, "%s", host);
    return 0;
}

#ifndef KS_CP_TO_BIN
#define KS_CP_TO_BIN "../../bin" /* reconciler/CMakeLists.txt sets it */
#endif

int ks_local_find_binary(char **out, const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *found = NULL;
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        /* next to us; ../nodeagent/ of a build tree; the bin directory as
         * seen from an installed reconcile-cp (libexec/keelson) */
        const char *rels[] = {"", "../nodeagent/", KS_CP_TO_BIN "/"};
        for (int i = 0; i < 3 && !found; i++) {
            char *p = ks_strdupf("%s/%s%s", self, rels[i], name);
            if (p && access(p, X_OK) == 0)
                found = p;
            else
                free(p);
        }
    }
    const char *path = getenv("PATH");
    while (!found && path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0) {
            char *p = ks_strdupf("%.*s/%s", (int)len, path, name);
            if (p && access(p, X_OK) == 0)
                found = p;
            else
                free(p);
        }
        path = end ? end + 1 : NULL;
    }
    if (!found)
        return ks_error_set(KS_ENOTFOUND,
                            "%s: not found next to this program (%s) nor in PATH; install it "
                            "or run with --no-local-node",
                            name, n > 0 ? self : "/proc/self/exe unreadable");
    *out = found;
    return 0;
}

/* posix_spawn with stdin from /dev/null and stdout+stderr to log (NULL:
 * inherited). */
static int spawn(pid_t *out, char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (log) {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e)
        return ks_error_set(KS_EIO, "cannot start %s: %s", argv[0], strerror(e));
    *out = pid;
    return 0;
}

/* SIGTERM, then SIGKILL after STOP_WAIT_MS. */
static void stop_child(pid_t pid, const char *what)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int64_t deadline = now_ms() + STOP_WAIT_MS;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ms() >= deadline) {
            ks_log(KS_LOG_WARN, "child ignored SIGTERM, killing it", "child", what, NULL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        sleep_ms(50);
    }
}

static int start_private_podman(struct ks_local_node *n, const char *state_dir)
{
    char *podman = NULL;
    char *sock = ks_strdupf("%s/podman.sock", state_dir);
    char *url = ks_strdupf("unix://%s", sock);
    char *log = ks_strdupf("%s/podman-service.log", state_dir);
    int rc = sock && url && log ? ks_local_find_binary(&podman, "podman")
                                : ks_error_set(KS_ENOMEM, "out of memory");
    if (rc)
        goto done;
    unlink(sock);
    char *argv[] = {podman, "system", "service", "--time=0", url, NULL};
    if ((rc = spawn(&n->podman, argv, log)))
        goto done;
    ks_log(KS_LOG_INFO, "started a private Podman service", "socket", sock, "log", log, NULL);
    int64_t deadline = now_ms() + PODMAN_START_WAIT_MS;
    while (!podman_answers(sock)) {
        int status;
        if (waitpid(n->podman, &status, WNOHANG) == n->podman) {
            n->podman = 0;
            rc = ks_error_set(KS_EIO, "podman system service exited at once (see %s)", log);
            goto done;
        }
        if (now_ms() >= deadline) {
            rc = ks_error_set(KS_ETIMEOUT,
                              "podman system service: no answer on %s within %d s "
                              "(see %s)",
                              sock, PODMAN_START_WAIT_MS / 1000, log);
            goto done;
        }
        sleep_ms(50);
    }
    n->socket = sock;
    sock = NULL;
done:
    free(podman);
    free(sock);
    free(url);
    free(log);
    return rc;
}

static int find_socket(struct ks_local_node *n, const struct ks_local_node_opts *o)
{
    if (o->podman_socket) {
        const char *p = o->podman_socket;
        if (ks_str_has_prefix(p, "unix://"))
            p += 7;
        if (!podman_answers(p))
            return ks_error_set(KS_EIO, "--podman-socket %s: no Podman service answers there", p);
        n->socket = strdup(p);
        return n->socket ? 0 : ks_error_set(KS_ENOMEM, "out of memory");
    }
    const char *host = getenv("CONTAINER_HOST");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *cands[3] = {NULL, strdup("/run/podman/podman.sock"),
                      xdg ? ks_strdupf("%s/podman/podman.sock", xdg) : NULL};
    if (host && ks_str_has_prefix(host, "unix://"))
        cands[0] = strdup(host + 7);
    for (size_t i = 0; i < 3; i++) {
        if (!n->socket && cands[i] && podman_answers(cands[i])) {
            n->socket = cands[i];
            cands[i] = NULL;
        }
        free(cands[i]);
    }
    if (n->socket)
        return 0;
    return start_private_podman(n, o->state_dir);
}

static int spawn_agent(struct ks_local_node *n)
{
    int rc = spawn(&n->agent, n->argv, n->agent_log);
    if (rc == 0) {
        n->started_ms = now_ms();
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int)n->agent);
        ks_log(KS_LOG_INFO, "embedded node agent started", "pid", pid, "binary", n->agent_bin,
               NULL);
    }
    return rc;
}

int ks_local_node_start(struct ks_local_node **out, const struct ks_local_node_opts *o)
{
    struct ks_local_node *n = calloc(1, sizeof *n);
    if (!n)
        return ks_error_set(KS_ENOMEM, "out of memory");
    n->backoff_ms = AGENT_BACKOFF_MIN_MS;
    char *agent_dir = NULL;
    int rc = ks_local_find_binary(&n->agent_bin, "nodeagent");
    if (rc == 0)
        rc = find_socket(n, o);
    if (rc)
        goto done;
    agent_dir = ks_strdupf("%s/agent", o->state_dir);
    if (!agent_dir || (rc = ks_mkdir_p(agent_dir, 0700))) {
        rc = rc ? rc : ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    n->agent_log = o->quiet ? ks_strdupf("%s/nodeagent.log", agent_dir) : NULL;
    const char *args[16] = {n->agent_bin,  "--name",       o->node_name,  "--server",
                            o->server_url, "--token-file", o->token_file, "--podman-socket",
                            n->socket,     "--state-dir",  agent_dir};
    size_t argc = 11;
    if (o->ca_file) {
        args[argc++] = "--ca-file";
        args[argc++] = o->ca_file;
    }
    if (o->log_level) {
        args[argc++] = "--log-level";
        args[argc++] = o->log_level;
    }
    if (!(n->argv = calloc(argc + 1, sizeof *n->argv))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < argc; i++)
        if (!(n->argv[i] = strdup(args[i]))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    rc = spawn_agent(n);
done:
    free(agent_dir);
    if (rc) {
        ks_local_node_stop(n);
        return rc;
    }
    *out = n;
    return 0;
}

void ks_local_node_supervise(struct ks_local_node *n)
{
    if (!n)
        return;
    int status;
    if (n->agent > 0 && waitpid(n->agent, &status, WNOHANG) == n->agent) {
        char how[64];
        if (WIFEXITED(status))
            snprintf(how, sizeof how, "exit %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof how, "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        n->agent = 0;
        if (now_ms() - n->started_ms >= AGENT_STABLE_MS)
            n->backoff_ms = AGENT_BACKOFF_MIN_MS;
        n->restart_at_ms = now_ms() + n->backoff_ms;
        char wait[24];
        snprintf(wait, sizeof wait, "%lldms", (long long)n->backoff_ms);
        ks_log(KS_LOG_WARN, "embedded node agent died; restarting", "status", how, "in", wait,
               NULL);
        n->backoff_ms =
            n->backoff_ms * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : n->backoff_ms * 2;
    }
    if (n->agent == 0 && now_ms() >= n->restart_at_ms && spawn_agent(n))
        ks_log(KS_LOG_ERROR, "cannot restart the embedded node agent", "error", ks_error_last(),
               NULL);
}

const char *ks_local_node_socket(const struct ks_local_node *n)
{
    return n ? n->socket : NULL;
}

void ks_local_node_stop(struct ks_local_node *n)
{
    if (!n)
        return;
    stop_child(n->agent, "nodeagent");
    stop_child(n->podman, "podman system service");
    for (size_t i = 0; n->argv && n->argv[i]; i++)
        free(n->argv[i]);
    free(n->argv);
    free(n->agent_bin);
    free(n->agent_log);
    free(n->socket);
    free(n);
}
