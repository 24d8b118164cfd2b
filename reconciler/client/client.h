/*
 * client.h: the admin HTTP client of the control plane's API (contracts
 * §7, docs/api.md), used by `reconcile get|status` and `reconcile --once
 * --server`. libcurl underneath; one handle kept per client (keep-alive).
 *
 * Where the server and token come from: the arguments, else $KEELSON_SERVER
 * / $KEELSON_TOKEN, else <state_dir>/api.url (one line, e.g.
 * "http://127.0.0.1:7480") and <state_dir>/tokens/admin. state_dir NULL
 * means the default state dir (--state-dir rules of reconcile(1)).
 * A server "unix:///path/api.sock" talks HTTP over that Unix socket.
 * $KEELSON_CA_FILE names a PEM bundle for an https:// server with a
 * private CA (else the system CAs).
 *
 * Responses are bounded (KS_CLIENT_MAX_RESPONSE); requests time out after
 * KS_CLIENT_TIMEOUT_MS. Errors are KS_E* with ks_error_set() messages that
 * carry the server's {"error"} text and the HTTP status, e.g.
 * "GET /api/v1/objects/Pod: 401 the server refused the token: a valid admin
 * token is required"; ks_client_status() tells the last HTTP status.
 * Mapping: 400 KS_EINVALID, 401/403 KS_EINVALID, 404 KS_ENOTFOUND,
 * 409 KS_ECONFLICT, 410 KS_EGONE, 413 KS_ELIMIT, others and transport
 * failures KS_EIO. A client is not thread-safe (one per thread).
 */
#ifndef KS_RECONCILER_CLIENT_H
#define KS_RECONCILER_CLIENT_H

#include <jansson.h>

#define KS_CLIENT_MAX_RESPONSE (64u * 1024u * 1024u)
#define KS_CLIENT_TIMEOUT_MS 30000L

struct ks_client;

/* *out is owned by the caller: ks_client_free(). KS_EINVALID when no
 * server or no token can be found (the message says where it looked). */
int ks_client_new(struct ks_client **out, const char *server, const char *token,
                  const char *state_dir);

/* GET; *out: the 2xx JSON body (new reference). */
int ks_client_get(json_t **out, struct ks_client *c, const char *path_and_query);

/* POST body (NULL: empty body); *out (may be NULL): the 2xx JSON body,
 * *out_status (may be NULL): the HTTP status (also set on HTTP errors). */
int ks_client_post(json_t **out, long *out_status, struct ks_client *c, const char *path,
                   const json_t *body);

/* The server URL in use ("unix:///..." for a socket) and the status of the
 * last answered request (0 when none answered). */
const char *ks_client_server(const struct ks_client *c);
long ks_client_status(const struct ks_client *c);

void ks_client_free(struct ks_client *c);

#endif
