/*
 * tokens.c: the API server's bearer tokens, kept as files in the state dir.
 *
 * Tokens are 32 bytes from OpenSSL's RAND_bytes, hex-encoded, one per file
 * (<state_dir>/tokens/admin, <state_dir>/tokens/nodes/<node>), written with
 * O_EXCL and mode 0600 so that a token never exists in a readable file even
 * for a moment. All node tokens are loaded at start so the request path
 * touches the disk only for a node it does not know yet: `reconcile token
 * create` mints node tokens from another process while the control plane
 * runs, so an unknown node's token file is read (and kept) on its first
 * request. A mutex guards the table because the control plane may mint a
 * node token while the loop thread checks requests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/object.h"
#include "core/str.h"
#include "reconciler/api/api.h"
#include "reconciler/api/internal.h"

struct node_token {
    char *name;
    char hex[KS_API_TOKEN_HEX + 1];
};

struct ks_api_tokens {
    char *dir; /* <state_dir>/tokens */
    char admin[KS_API_TOKEN_HEX + 1];
    pthread_mutex_t lock;
    struct node_token *nodes;
    size_t n_nodes, cap_nodes;
};

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return ks_error_set(KS_EIO, "tokens: cannot create %s: %s", path, strerror(errno));
}

static int token_valid(const char *s, size_t len)
{
    if (len != KS_API_TOKEN_HEX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Reads a token file: it must be private to its owner and hold one token
 * (a trailing newline is allowed). */
static int token_read(char out[KS_API_TOKEN_HEX + 1], const char *path)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0) {
        rc = errno == ENOENT ? ks_error_set(KS_ENOTFOUND, "tokens: %s: not found", path)
                             : ks_error_set(KS_EIO, "tokens: %s: %s", path, strerror(errno));
        goto done;
    }
    if (st.st_mode & 077) {
        rc = ks_error_set(KS_EINVALID, "tokens: %s: readable by group or others (mode %03o)", path,
                          (unsigned)(st.st_mode & 0777));
        goto done;
    }
    if ((rc = ks_file_read(&text, &len, path, 256)) != 0)
        goto done;
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (!token_valid(text, len)) {
        rc = ks_error_set(KS_EINVALID, "tokens: %s: not a %d-hex-digit token", path,
                          KS_API_TOKEN_HEX);
        goto done;
    }
    memcpy(out, text, KS_API_TOKEN_HEX);
    out[KS_API_TOKEN_HEX] = '\0';
done:
    free(text);
    return rc;
}

/* Creates path (O_EXCL, 0600) with a fresh token. */
static int token_create(char out[KS_API_TOKEN_HEX + 1], const char *path)
{
    unsigned char raw[KS_API_TOKEN_HEX / 2];
    char hex[KS_API_TOKEN_HEX + 2];
    int fd = -1, rc = 0;
    if (RAND_bytes(raw, sizeof raw) != 1) {
        rc = ks_error_set(KS_ERROR, "tokens: RAND_bytes failed");
        goto done;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[KS_API_TOKEN_HEX] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = ks_error_set(KS_EIO, "tokens: cannot create %s: %s", path, strerror(errno));
        goto done;
    }
    if (write(fd, hex, KS_API_TOKEN_HEX + 1) != KS_API_TOKEN_HEX + 1 || fsync(fd) != 0) {
        rc = ks_error_set(KS_EIO, "tokens: cannot write %s: %s", path, strerror(errno));
        unlink(path);
        goto done;
    }
    memcpy(out, hex, KS_API_TOKEN_HEX);
    out[KS_API_TOKEN_HEX] = '\0';
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int token_load_or_create(char out[KS_API_TOKEN_HEX + 1], const char *path)
{
    int rc = token_read(out, path);
    if (rc == KS_ENOTFOUND)
        rc = token_create(out, path);
    return rc;
}

static int nodes_add(struct ks_api_tokens *t, const char *name, const char *hex)
{
    if (t->n_nodes == KS_API_MAX_NODE_TOKENS)
        return ks_error_set(KS_ELIMIT, "tokens: more than %u node tokens (KS_API_MAX_NODE_TOKENS)",
                            KS_API_MAX_NODE_TOKENS);
    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 16;
        struct node_token *v = realloc(t->nodes, cap * sizeof *v);
        if (!v)
            return ks_error_set(KS_ENOMEM, "tokens: out of memory");
        t->nodes = v;
        t->cap_nodes = cap;
    }
    struct node_token *n = &t->nodes[t->n_nodes];
    if (!(n->name = strdup(name)))
        return ks_error_set(KS_ENOMEM, "tokens: out of memory");
    memcpy(n->hex, hex, KS_API_TOKEN_HEX + 1);
    t->n_nodes++;
    return 0;
}

static int nodes_load(struct ks_api_tokens *t, const char *nodes_dir)
{
    DIR *d = opendir(nodes_dir);
    struct dirent *e;
    char *path = NULL;
    char hex[KS_API_TOKEN_HEX + 1];
    int rc = 0;
    if (!d) {
        rc = ks_error_set(KS_EIO, "tokens: cannot read %s: %s", nodes_dir, strerror(errno));
        goto done;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (ks_dns1123_subdomain_validate(e->d_name) != 0) {
            rc = ks_error_wrap(KS_EINVALID, "tokens: %s/%s", nodes_dir, e->d_name);
            goto done;
        }
        free(path);
        if (!(path = ks_strdupf("%s/%s", nodes_dir, e->d_name))) {
            rc = ks_error_set(KS_ENOMEM, "tokens: out of memory");
            goto done;
        }
        if ((rc = token_read(hex, path)) != 0 || (rc = nodes_add(t, e->d_name, hex)) != 0)
            goto done;
    }
done:
    free(path);
    if (d)
        closedir(d);
    return rc;
}

int ks_api_tokens_load_or_create(struct ks_api_tokens **out, const char *state_dir)
{
    struct ks_api_tokens *t = calloc(1, sizeof *t);
    char *admin = NULL, *nodes = NULL;
    int rc = 0;
    if (!t) {
        rc = ks_error_set(KS_ENOMEM, "tokens: out of memory");
        goto done;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->dir = ks_strdupf("%s/tokens", state_dir);
    admin = ks_strdupf("%s/tokens/admin", state_dir);
    nodes = ks_strdupf("%s/tokens/nodes", state_dir);
    if (!t->dir || !admin || !nodes) {
        rc = ks_error_set(KS_ENOMEM, "tokens: out of memory");
        goto done;
    }
    if ((rc = make_dir(t->dir)) != 0 || (rc = make_dir(nodes)) != 0 ||
        (rc = token_load_or_create(t->admin, admin)) != 0 || (rc = nodes_load(t, nodes)) != 0)
        goto done;
    *out = t;
    t = NULL;
done:
    ks_api_tokens_free(t);
    free(admin);
    free(nodes);
    return rc;
}

void ks_api_tokens_admin(char out[KS_API_TOKEN_HEX + 1], const struct ks_api_tokens *tokens)
{
    memcpy(out, tokens->admin, KS_API_TOKEN_HEX + 1);
}

static struct node_token *nodes_find(struct ks_api_tokens *t, const char *node)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i].name, node) == 0)
            return &t->nodes[i];
    return NULL;
}

int ks_api_tokens_node(char out[KS_API_TOKEN_HEX + 1], struct ks_api_tokens *tokens,
                       const char *node)
{
    char *path = NULL;
    char hex[KS_API_TOKEN_HEX + 1];
    int rc = 0;
    if ((rc = ks_dns1123_subdomain_validate(node)) != 0)
        return ks_error_wrap(rc, "tokens: node");
    pthread_mutex_lock(&tokens->lock);
    struct node_token *n = nodes_find(tokens, node);
    if (n) {
        memcpy(out, n->hex, KS_API_TOKEN_HEX + 1);
        goto done;
    }
    if (!(path = ks_strdupf("%s/nodes/%s", tokens->dir, node))) {
        rc = ks_error_set(KS_ENOMEM, "tokens: out of memory");
        goto done;
    }
    if ((rc = token_load_or_create(hex, path)) != 0 || (rc = nodes_add(tokens, node, hex)) != 0)
        goto done;
    memcpy(out, hex, KS_API_TOKEN_HEX + 1);
done:
    pthread_mutex_unlock(&tokens->lock);
    free(path);
    return rc;
}

/* Constant-time check of a presented token (any length) against a stored one. */
static int token_equal(const char *presented, size_t len, const char *stored)
{
    return len == KS_API_TOKEN_HEX && CRYPTO_memcmp(presented, stored, KS_API_TOKEN_HEX) == 0;
}

enum api_principal api_tokens_check(struct ks_api_tokens *tokens, const char *presented, size_t len,
                                    const char *node)
{
    enum api_principal who = API_NOBODY;
    if (token_equal(presented, len, tokens->admin))
        return API_ADMIN;
    if (!node)
        return API_NOBODY;
    pthread_mutex_lock(&tokens->lock);
    struct node_token *n = nodes_find(tokens, node);
    if (!n && ks_dns1123_subdomain_validate(node) == 0) {
        /* Minted by another process since we loaded: read it once. */
        char hex[KS_API_TOKEN_HEX + 1];
        char *path = ks_strdupf("%s/nodes/%s", tokens->dir, node);
        if (path && token_read(hex, path) == 0 && nodes_add(tokens, node, hex) == 0)
            n = nodes_find(tokens, node);
        free(path);
        OPENSSL_cleanse(hex, sizeof hex);
        ks_error_clear();
    }
    if (n && token_equal(presented, len, n->hex))
        who = API_NODE;
    pthread_mutex_unlock(&tokens->lock);
    return who;
}

void ks_api_tokens_free(struct ks_api_tokens *tokens)
{
    if (!tokens)
        return;
    for (size_t i = 0; i < tokens->n_nodes; i++) {
        OPENSSL_cleanse(tokens->nodes[i].hex, sizeof tokens->nodes[i].hex);
        free(tokens->nodes[i].name);
    }
    OPENSSL_cleanse(tokens->admin, sizeof tokens->admin);
    free(tokens->nodes);
    free(tokens->dir);
    pthread_mutex_destroy(&tokens->lock);
    free(tokens);
}
