/*
 * apiserver.c: a bare API server over a state dir, for e2e tests of the CLI
 * (`reconcile get|status|token`) and of webhooks, independent of the daemon.
 *
 *   e2e_apiserver STATE_DIR [WEBHOOK_SECRET]
 *
 * Opens <state>/state.db (the store `reconcile --once` writes), loads or
 * creates the tokens, listens on 127.0.0.1 with an ephemeral port and on
 * <state>/api.sock, writes <state>/api.url once listening, and serves until
 * SIGTERM or SIGINT. The sync hook plays the control plane: every accepted
 * request appends "ticket=N reason=R" to <state>/sync-requests (so a test
 * sees that a webhook got through) and returns N.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

struct prog {
    char requests[4096];
    atomic_llong tickets;
};

static int64_t on_sync(void *ud, const char *reason)
{
    struct prog *p = ud;
    int64_t ticket = atomic_fetch_add(&p->tickets, 1) + 1;
    FILE *f = fopen(p->requests, "a");
    if (!f)
        return -1;
    fprintf(f, "ticket=%lld reason=%s\n", (long long)ticket, reason);
    fclose(f);
    return ticket;
}

static void on_wrote(void *ud, int64_t revision)
{
    (void)ud;
    (void)revision;
}

static void *wait_signal(void *arg)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigwait(&set, &sig);
    ks_api_server_stop(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    static struct prog prog;
    struct ks_store *store = NULL;
    struct ks_api_tokens *tokens = NULL;
    struct ks_api_server *srv = NULL;
    char path[4096], sock[4096], tmp[4096];
    pthread_t waiter;
    sigset_t set;
    int rc = 1;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: e2e_apiserver STATE_DIR [WEBHOOK_SECRET]\n");
        return 2;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread: only the waiter takes them */
    snprintf(prog.requests, sizeof prog.requests, "%s/sync-requests", argv[1]);
    snprintf(path, sizeof path, "%s/state.db", argv[1]);
    snprintf(sock, sizeof sock, "%s/api.sock", argv[1]);
    struct ks_api_hooks hooks = {.sync_request = on_sync, .wrote = on_wrote, .ud = &prog};
    struct ks_api_server_opts o = {
        .hooks = &hooks, .webhook_secret = argc == 3 ? argv[2] : NULL, .unix_socket = sock};
    if (ks_store_open_sqlite(&store, path, 0) != 0 ||
        ks_api_tokens_load_or_create(&tokens, argv[1]) != 0 ||
        ks_api_server_new(&srv, store, tokens, &o) != 0) {
        fprintf(stderr, "e2e_apiserver: %s\n", ks_error_last());
        goto done;
    }
    snprintf(tmp, sizeof tmp, "%s/api.url.tmp", argv[1]);
    snprintf(path, sizeof path, "%s/api.url", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "http://127.0.0.1:%u\n", ks_api_server_port(srv)) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "e2e_apiserver: cannot write %s\n", path);
        goto done;
    }
    if (pthread_create(&waiter, NULL, wait_signal, srv) != 0)
        goto done;
    rc = ks_api_server_run(srv) == 0 ? 0 : 1;
    pthread_join(waiter, NULL);
done:
    ks_api_server_free(srv);
    ks_api_tokens_free(tokens);
    ks_store_close(store);
    return rc;
}
