/*
 * hooks.c: the two ways to ask the control plane for a sync through the
 * API (contracts §6): POST /api/v1/sync with the admin token, and
 * POST /hooks/git, a forge's push webhook. The webhook carries no bearer
 * token; it is authenticated by the shared secret (opts.webhook_secret) the
 * way each forge sends it: GitHub X-Hub-Signature-256 "sha256=<hex HMAC>",
 * Gitea X-Gitea-Signature "<hex HMAC>" (HMAC-SHA256 of the raw body), GitLab
 * X-Gitlab-Token "<secret>". Every comparison is constant-time
 * (CRYPTO_memcmp on equal-length digests), a refusal is logged with the
 * peer's address, and nothing reaches the control plane unless it verified.
 */
#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "reconciler/api/internal.h"

#define MAC_BYTES 32

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 64 hex digits (either case) into 32 bytes; -1 when malformed. */
static int hex_decode(unsigned char out[MAC_BYTES], const char *hex)
{
    if (strlen(hex) != 2 * MAC_BYTES)
        return -1;
    for (size_t i = 0; i < MAC_BYTES; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Is hex the HMAC-SHA256 of body under secret? Constant-time in the MAC. */
static int hmac_matches(const char *secret, const void *body, size_t len, const char *hex)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[MAC_BYTES];
    unsigned int want_len = 0;
    if (hex_decode(got, hex) != 0)
        return 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, want, &want_len) ||
        want_len != MAC_BYTES)
        return 0;
    return CRYPTO_memcmp(want, got, MAC_BYTES) == 0;
}

/* GitLab sends the secret itself: compare digests so that neither the
 * length nor the first differing byte shows in the time taken. */
static int secret_matches(const char *secret, const char *presented)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    if (!SHA256((const unsigned char *)secret, strlen(secret), a) ||
        !SHA256((const unsigned char *)presented, strlen(presented), b))
        return 0;
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

static void peer_of(char *out, size_t cap, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    const char *addr = NULL;
    ev_uint16_t port = 0;
    if (evcon)
        evhttp_connection_get_peer(evcon, (char **)&addr, &port);
    snprintf(out, cap, "%s:%u", addr && *addr ? addr : "unix", (unsigned)port);
}

/* Asks the control plane for a sync and answers 202 {"ticket": N}. */
static void request_sync(struct api_req *r, const char *reason)
{
    const struct ks_api_hooks *h = r->srv->opts.hooks;
    if (!h || !h->sync_request) {
        api_reply_error(r, 503, "sync requests are not served here (no control plane hooks)");
        return;
    }
    int64_t ticket = h->sync_request(h->ud, reason);
    if (ticket <= 0) {
        api_reply_error(r, 503, "the control plane refused the sync request (%lld)",
                        (long long)ticket);
        return;
    }
    api_reply(r, 202, json_pack("{s:I}", "ticket", (json_int_t)ticket));
}

void api_sync_handle(struct api_req *r)
{
    if (r->method != EVHTTP_REQ_POST) {
        api_reply_error(r, 405, "sync: only POST");
        return;
    }
    request_sync(r, "api");
}

void api_webhook_handle(struct api_req *r)
{
    struct ks_api_server *srv = r->srv;
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    const char *github = evhttp_find_header(in, "X-Hub-Signature-256");
    const char *gitea = evhttp_find_header(in, "X-Gitea-Signature");
    const char *gitlab = evhttp_find_header(in, "X-Gitlab-Token");
    const char *forge = NULL, *why = NULL;
    char peer[96];
    int ok = 0;
    if (!srv->opts.webhook_secret) {
        api_reply_error(r, 404,
                        "no webhook is configured (start the control plane with a "
                        "webhook secret)");
        return;
    }
    if (r->method != EVHTTP_REQ_POST) {
        api_reply_error(r, 405, "hooks/git: only POST");
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(body);
    if (len > srv->opts.max_body_bytes) {
        api_reply_error(r, 413, "hooks/git: body larger than max_body_bytes (%zu)",
                        srv->opts.max_body_bytes);
        return;
    }
    const unsigned char *data = len ? evbuffer_pullup(body, (ev_ssize_t)len) : NULL;
    if (len && !data) {
        api_reply_error(r, 500, "hooks/git: out of memory");
        return;
    }
    if (github) {
        forge = "github";
        ok =
            strncmp(github, "sha256=", 7) == 0 &&
            hmac_matches(srv->opts.webhook_secret, data ? (const void *)data : "", len, github + 7);
        why = "X-Hub-Signature-256 does not match the body";
    } else if (gitea) {
        forge = "gitea";
        ok = hmac_matches(srv->opts.webhook_secret, data ? (const void *)data : "", len, gitea);
        why = "X-Gitea-Signature does not match the body";
    } else if (gitlab) {
        forge = "gitlab";
        ok = secret_matches(srv->opts.webhook_secret, gitlab);
        why = "X-Gitlab-Token is not the webhook secret";
    } else {
        forge = "none";
        why = "no X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token header";
    }
    peer_of(peer, sizeof peer, r->req);
    if (!ok) {
        ks_log(KS_LOG_WARN, "webhook refused", "forge", forge, "peer", peer, "reason", why, NULL);
        api_reply_error(r, 401, "webhook refused: %s", why);
        return;
    }
    const char *event = evhttp_find_header(in, "X-GitHub-Event");
    if (event && strcmp(event, "ping") == 0) {
        ks_log(KS_LOG_INFO, "webhook ping", "forge", forge, "peer", peer, NULL);
        api_reply(r, 200, json_pack("{s:s}", "status", "pong"));
        return;
    }
    ks_log(KS_LOG_INFO, "webhook verified, sync requested", "forge", forge, "peer", peer, NULL);
    request_sync(r, "webhook");
}
