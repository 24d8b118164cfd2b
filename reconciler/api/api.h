/*
 * api.h: the control plane's HTTP/JSON API server (DESIGN.md §1, §6).
 *
 * Node agents and the CLI talk to the control plane through this server:
 * admin reads of the store (objects, syncs, events), a long-poll watch on
 * the store's change log, the node endpoints (register, heartbeat, pods
 * bound to the node, pod status one by one or in batches, drift events), health and Prometheus
 * metrics. docs/api.md describes every endpoint and its JSON.
 *
 * It is libevent 2.1's evhttp on one event-loop thread: ks_api_server_run()
 * runs the loop in the caller's thread; other threads only call
 * ks_api_server_stop() and ks_api_server_notify(), which wake the loop with
 * event_active. Threading rule: the store handed to the server is used ONLY
 * from the loop thread (a SQLite connection is not shared across threads),
 * so the control plane opens a separate store connection for the server
 * and, after each commit on its own connection, calls
 * ks_api_server_notify() so that waiting watchers see the change.
 *
 * Authentication is by bearer token: one admin token and one token per
 * node, kept as files (mode 0600) under <state_dir>/tokens and compared in
 * constant time. Every request except /healthz and /readyz needs a valid
 * token; a node's token authorises only /api/v1/nodes/<that node>/...
 * With a certificate and key the server speaks only HTTPS (TLS >= 1.2,
 * through bufferevent_openssl).
 */
#ifndef KS_RECONCILER_API_H
#define KS_RECONCILER_API_H

#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct ks_api_server;
struct ks_api_tokens;

/* Tokens are 32 random bytes written as 64 lower-case hex digits. */
#define KS_API_TOKEN_HEX 64
#define KS_API_MAX_NODE_TOKENS 4096u

/* Pod statuses in one POST /api/v1/nodes/{node}/status (more: 413). */
#define KS_API_STATUS_BATCH_MAX 1000u

/* Loads <state_dir>/tokens/admin and every <state_dir>/tokens/nodes/<node>,
 * creating the directories (0700) and the admin token (0600, from
 * RAND_bytes) when absent. A token file readable by group or others, or
 * not holding exactly one 64-hex-digit token, is KS_EINVALID naming the
 * file. *out is owned by the caller: ks_api_tokens_free(). The object is
 * thread-safe (a mutex guards the node table). */
int ks_api_tokens_load_or_create(struct ks_api_tokens **out, const char *state_dir);

/* Copies the admin token into out (KS_API_TOKEN_HEX + 1 bytes). */
void ks_api_tokens_admin(char out[KS_API_TOKEN_HEX + 1], const struct ks_api_tokens *tokens);

/* Copies node's token into out, creating and saving it on first use.
 * node must be a DNS-1123 subdomain (it becomes a file name); more than
 * KS_API_MAX_NODE_TOKENS nodes is KS_ELIMIT. */
int ks_api_tokens_node(char out[KS_API_TOKEN_HEX + 1], struct ks_api_tokens *tokens,
                       const char *node);

void ks_api_tokens_free(struct ks_api_tokens *tokens);

/* The control plane's hooks into the server. Called on the loop thread;
 * they must return quickly (signal another thread, never sync inline). */
struct ks_api_hooks {
    /* POST /api/v1/sync (admin) and a verified POST /hooks/git ask for a
     * sync; reason is "api" or "webhook". Returns a ticket > 0 (answered as
     * 202 {"ticket": N}); the first sync record whose summary has
     * "ticket" >= N answers the request. Negative: 503. */
    int64_t (*sync_request)(void *ud, const char *reason);
    /* After the server committed a write of its own (node register or
     * heartbeat, pod status, events), with the store revision after it. */
    void (*wrote)(void *ud, int64_t revision);
    /* GET or HEAD of any path outside /api/, /hooks/, /healthz, /readyz and
     * /metrics: the dashboard's pages ("/" is the overview). Returns 0 with
     * *out_body malloc'd (freed by the server) and *out_type static, or
     * KS_ENOTFOUND (404) or another error (500). Pages need no token: they
     * show what the status branch holds (docs/dashboard.md). NULL: 404. */
    int (*page)(void *ud, const char *path, char **out_body, size_t *out_len,
                const char **out_type);
    void *ud;
};

struct ks_api_server_opts {
    const char *address;              /* listen address; NULL = "127.0.0.1" */
    unsigned port;                    /* 0 = an ephemeral port (ks_api_server_port) */
    size_t max_header_bytes;          /* request line + headers; 0 = 16 KiB */
    size_t max_body_bytes;            /* request body; 0 = 1 MiB (larger: 413) */
    unsigned idle_timeout_s;          /* per-connection read/write timeout; 0 = 60 */
    unsigned max_connections;         /* 0 = 1024; beyond: 503 and close */
    unsigned max_watchers;            /* concurrent long-polls; 0 = 256; beyond: 503 */
    unsigned max_watch_wait_s;        /* longest ?timeout= accepted; 0 = 300 */
    const char *tls_cert;             /* PEM certificate chain file; NULL = plain HTTP */
    const char *tls_key;              /* PEM private key file (required with tls_cert) */
    const struct ks_api_hooks *hooks; /* NULL: /api/v1/sync and /hooks/git answer 503 */
    /* POST /hooks/git: GitHub's X-Hub-Signature-256 (HMAC-SHA256 of the body
     * with this secret), or the secret itself in X-Gitea-Signature (HMAC
     * too) or X-Gitlab-Token. NULL: /hooks/git answers 404. */
    const char *webhook_secret;
    /* The same API on this Unix socket too (e.g. <state_dir>/api.sock),
     * mode 0600; a stale socket there is replaced, the file is removed at
     * free. NULL: TCP only. With tls_cert it speaks TLS as well. */
    const char *unix_socket;
};

/* Creates the server and binds its socket (so the port is known before
 * run). store and tokens are borrowed and must outlive the server; store is
 * used only from the thread that calls ks_api_server_run(). opts may be
 * NULL (all defaults). *out is owned by the caller: ks_api_server_free(). */
int ks_api_server_new(struct ks_api_server **out, struct ks_store *store,
                      struct ks_api_tokens *tokens, const struct ks_api_server_opts *opts);

/* The bound TCP port (the ephemeral one when opts.port was 0). */
unsigned ks_api_server_port(const struct ks_api_server *server);

/* Runs the event loop in the calling thread until ks_api_server_stop().
 * Returns 0, or KS_EIO when the loop fails. */
int ks_api_server_run(struct ks_api_server *server);

/* Asks the loop to return; callable from any thread, also before run
 * (run then returns at once). Watchers still waiting are answered with
 * the current revision and no changes. */
void ks_api_server_stop(struct ks_api_server *server);

/* Tells the server that the store reached revision (after a commit on
 * another connection); waiting watchers are answered from the loop
 * thread. Callable from any thread; cheap (coalesces). */
void ks_api_server_notify(struct ks_api_server *server, int64_t revision);

/* Frees the server (after run returned, or if it never ran). NULL-safe. */
void ks_api_server_free(struct ks_api_server *server);

#endif
