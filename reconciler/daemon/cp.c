/*
 * cp.c: the running parts of a control plane that `reconcile` (the daemon)
 * and `reconcile --once` share: the API server on its own thread and store
 * connection, whose hooks turn POST /api/v1/sync and verified webhooks into
 * sync tickets and agents' writes into controller passes (triggers.c), and
 * the embedded node (local.c) with a token of its own.
 */
#include "reconciler/daemon/daemon.h"

#include "reconciler/api/api.h"

#include "core/error.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static int64_t hook_sync(void *ud, const char *reason)
{
    struct ks_cp *cp = ud;
    unsigned why = reason && !strcmp(reason, "webhook") ? KS_TRIGGER_WEBHOOK : KS_TRIGGER_API;
    return ks_triggers_sync(&cp->triggers, why);
}

static void hook_wrote(void *ud, int64_t revision)
{
    (void)revision;
    ks_triggers_wrote(&((struct ks_cp *)ud)->triggers);
}

static int hook_page(void *ud, const char *path, char **out_body, size_t *out_len,
                     const char **out_type)
{
    return ks_observer_page(((struct ks_cp *)ud)->observer, path, out_body, out_len, out_type);
}

/* Agents hold one connection per pod worker (100 agents x 50 pods is
 * 5,000): as many connections as the file-descriptor limit allows, keeping
 * CP_FD_RESERVE for the store, Git and logs; the server's default (1024)
 * when the limit is lower. */
#define CP_FD_RESERVE 256
#define CP_MAX_CONNECTIONS 16384u
static unsigned max_connections(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= 1024 + CP_FD_RESERVE)
        return 0;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur - CP_FD_RESERVE > CP_MAX_CONNECTIONS)
        return CP_MAX_CONNECTIONS;
    return (unsigned)(rl.rlim_cur - CP_FD_RESERVE);
}

static void *api_main(void *arg)
{
    struct ks_api_server *server = arg;
    if (ks_api_server_run(server))
        ks_log(KS_LOG_ERROR, "API server loop failed", "error", ks_error_last(), NULL);
    return NULL;
}

int ks_cp_start(struct ks_cp *cp, const struct ks_cp_opts *o)
{
    memset(cp, 0, sizeof *cp);
    cp->observer = o->observer;
    cp->hooks = (struct ks_api_hooks){
        .sync_request = hook_sync, .wrote = hook_wrote, .page = hook_page, .ud = cp};
    char node_name[256], token[KS_API_TOKEN_HEX + 1], token_file[4096];
    const char *address = o->address ? o->address : "127.0.0.1";
    struct ks_api_server_opts ao = {.address = address,
                                    .port = o->port,
                                    .tls_cert = o->tls_cert,
                                    .tls_key = o->tls_key,
                                    .webhook_secret = o->webhook_secret,
                                    .unix_socket = o->unix_socket,
                                    .max_connections = max_connections(),
                                    .hooks = &cp->hooks};
    int rc = ks_triggers_init(&cp->triggers, o->interval_ms, o->tick_ms, ks_triggers_now_ms());
    if (rc)
        goto done;
    cp->triggers_ok = true;
    if ((rc = ks_api_tokens_load_or_create(&cp->tokens, o->state_dir)) ||
        (rc = ks_store_open_sqlite(&cp->api_store, o->db_path, 0)) ||
        /* agents' heartbeats and pod status are re-reported: their commits
         * skip the fsync (crash-consistent; a power loss may lose the last
         * ones until the next sync's durable commit fsyncs the shared WAL) */
        (rc = ks_store_set_durability(cp->api_store, KS_STORE_RELAXED)) ||
        (rc = ks_api_server_new(&cp->server, cp->api_store, cp->tokens, &ao)))
        goto done;
    snprintf(cp->url, sizeof cp->url, "%s://%s%s%s:%u", o->tls_cert ? "https" : "http",
             strchr(address, ':') ? "[" : "", address, strchr(address, ':') ? "]" : "",
             ks_api_server_port(cp->server));
    if (pthread_create(&cp->api_thread, NULL, api_main, cp->server)) {
        rc = ks_error_set(KS_EIO, "cannot start the API server thread");
        goto done;
    }
    cp->api_running = true;
    if (!o->local_node)
        goto done;
    if (o->node_name)
        snprintf(node_name, sizeof node_name, "%s", o->node_name);
    else if ((rc = ks_local_default_node_name(node_name, sizeof node_name)))
        goto done;
    if ((rc = ks_api_tokens_node(token, cp->tokens, node_name)))
        goto done;
    snprintf(token_file, sizeof token_file, "%s/tokens/nodes/%s", o->state_dir, node_name);
    /* the local agent talks to the loopback address when the API listens on all of them */
    char agent_url[sizeof cp->url];
    if (!strcmp(address, "0.0.0.0") || !strcmp(address, "::"))
        snprintf(agent_url, sizeof agent_url, "%s://%s:%u", o->tls_cert ? "https" : "http",
                 strcmp(address, "::") ? "127.0.0.1" : "[::1]", ks_api_server_port(cp->server));
    else
        snprintf(agent_url, sizeof agent_url, "%s", cp->url);
    struct ks_local_node_opts lo = {.state_dir = o->state_dir,
                                    .node_name = node_name,
                                    .server_url = agent_url,
                                    .ca_file = o->tls_cert,
                                    .token_file = token_file,
                                    .podman_socket = o->podman_socket,
                                    .log_level = o->log_level,
                                    .quiet = o->quiet_agent};
    rc = ks_local_node_start(&cp->node, &lo);
done:
    if (rc) {
        int saved = rc;
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", ks_error_last());
        ks_cp_stop(cp);
        ks_error_set(saved, "%s", msg);
    }
    return rc;
}

void ks_cp_notify(struct ks_cp *cp, struct ks_store *store)
{
    int64_t rev = 0;
    if (cp && cp->server && ks_store_revision(&rev, store) == 0)
        ks_api_server_notify(cp->server, rev);
}

void ks_cp_stop(struct ks_cp *cp)
{
    ks_local_node_stop(cp->node);
    cp->node = NULL;
    if (cp->server)
        ks_api_server_stop(cp->server);
    if (cp->api_running)
        pthread_join(cp->api_thread, NULL);
    cp->api_running = false;
    ks_api_server_free(cp->server);
    cp->server = NULL;
    ks_store_close(cp->api_store);
    cp->api_store = NULL;
    ks_api_tokens_free(cp->tokens);
    cp->tokens = NULL;
    if (cp->triggers_ok)
        ks_triggers_release(&cp->triggers);
    cp->triggers_ok = false;
}
