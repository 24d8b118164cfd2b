/*
 * test_api_client.c: reconciler/client (contracts §7) against a real API
 * server on loopback and on its Unix socket, over a real SQLite store in a
 * temp dir: where the server and token come from (arguments, environment,
 * <state_dir>/api.url and tokens/admin), GET and POST, errors carrying the
 * server's message and status (401 refused token, 404, 400, 405), a server
 * that is not there, and bad server URLs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "reconciler/api/api.h"
#include "reconciler/client/client.h"
#include "reconciler/store/store.h"

struct fixture {
    char dir[64], url[64], sock[128], unix_url[160];
    struct ks_store *store;
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    struct ks_api_hooks hooks;
    pthread_t thread;
    char admin[KS_API_TOKEN_HEX + 1];
};

static int64_t on_sync(void *ud, const char *reason)
{
    (void)ud;
    return strcmp(reason, "api") == 0 ? 7 : -1;
}

static void *run_server(void *arg)
{
    struct fixture *f = arg;
    ks_api_server_run(f->srv);
    return NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[128];
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-client-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/state.db", f->dir);
    snprintf(f->sock, sizeof f->sock, "%s/api.sock", f->dir);
    f->hooks = (struct ks_api_hooks){.sync_request = on_sync};
    struct ks_api_server_opts o = {.hooks = &f->hooks, .unix_socket = f->sock};
    if (ks_store_open_sqlite(&f->store, path, 0) ||
        ks_api_tokens_load_or_create(&f->tokens, f->dir) ||
        ks_api_server_new(&f->srv, f->store, f->tokens, &o))
        return -1;
    ks_api_tokens_admin(f->admin, f->tokens);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", ks_api_server_port(f->srv));
    snprintf(f->unix_url, sizeof f->unix_url, "unix://%s", f->sock);
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "a", "namespace", "default");
    int rc = ks_store_put(NULL, f->store, cm, KS_STORE_ANY_REVISION);
    json_decref(cm);
    if (rc || pthread_create(&f->thread, NULL, run_server, f))
        return -1;
    unsetenv("KEELSON_SERVER");
    unsetenv("KEELSON_TOKEN");
    unsetenv("KEELSON_CA_FILE");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    ks_api_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    ks_api_server_free(f->srv);
    ks_api_tokens_free(f->tokens);
    ks_store_close(f->store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    unsetenv("KEELSON_SERVER");
    unsetenv("KEELSON_TOKEN");
    return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* The ConfigMap through c; asserts its name. */
static void get_cm(struct ks_client *c)
{
    json_t *obj = NULL;
    assert_int_equal(ks_client_get(&obj, c, "/api/v1/namespaces/default/objects/ConfigMap/a"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")), "a");
    assert_int_equal(ks_client_status(c), 200);
    json_decref(obj);
}

static void arguments_and_sources(void **state)
{
    struct fixture *f = *state;
    struct ks_client *c = NULL;
    char line[96];
    /* Arguments. */
    assert_int_equal(ks_client_new(&c, f->url, f->admin, f->dir), 0);
    assert_string_equal(ks_client_server(c), f->url);
    get_cm(c);
    ks_client_free(c);
    /* The state dir: api.url (a trailing slash and newline are fine) and tokens/admin. */
    snprintf(line, sizeof line, "%s/\n", f->url);
    write_file(f->dir, "api.url", line);
    assert_int_equal(ks_client_new(&c, NULL, NULL, f->dir), 0);
    assert_string_equal(ks_client_server(c), f->url);
    get_cm(c);
    ks_client_free(c);
    /* The environment wins over the state dir. */
    write_file(f->dir, "api.url", "http://127.0.0.1:1\n");
    setenv("KEELSON_SERVER", f->unix_url, 1);
    setenv("KEELSON_TOKEN", f->admin, 1);
    assert_int_equal(ks_client_new(&c, NULL, NULL, "/nonexistent"), 0);
    assert_string_equal(ks_client_server(c), f->unix_url);
    get_cm(c);
    ks_client_free(c);
    unsetenv("KEELSON_SERVER");
    unsetenv("KEELSON_TOKEN");
    /* Nothing to find: the message says where it looked. */
    assert_int_equal(ks_client_new(&c, NULL, f->admin, "/nonexistent"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "/nonexistent/api.url"));
    assert_int_equal(ks_client_new(&c, f->url, NULL, "/nonexistent"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "/nonexistent/tokens/admin"));
    assert_int_equal(ks_client_new(&c, "ftp://x", f->admin, f->dir), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "unix:///PATH"));
    assert_int_equal(ks_client_new(&c, "unix://", f->admin, f->dir), KS_EINVALID);
}

static void post_and_errors(void **state)
{
    struct fixture *f = *state;
    struct ks_client *c = NULL, *bad = NULL, *gone = NULL;
    json_t *out = NULL;
    long status = 0;
    assert_int_equal(ks_client_new(&c, f->unix_url, f->admin, f->dir), 0);
    assert_int_equal(ks_client_post(&out, &status, c, "/api/v1/sync", NULL), 0);
    assert_int_equal(status, 202);
    assert_int_equal(json_integer_value(json_object_get(out, "ticket")), 7);
    json_decref(out);
    out = NULL;
    /* A JSON body goes out as JSON: the server parses it (400 on a bad label). */
    json_t *body = json_pack("{s:{s:s}}", "labels", "-bad", "x");
    assert_int_equal(ks_client_post(&out, &status, c, "/api/v1/nodes/n1/register", body),
                     KS_EINVALID);
    json_decref(body);
    assert_int_equal(status, 400);
    assert_non_null(strstr(ks_error_last(), "400"));
    assert_non_null(strstr(ks_error_last(), "labels"));
    assert_null(out);
    body = json_pack("{s:{s:s}}", "labels", "zone", "a");
    assert_int_equal(ks_client_post(NULL, &status, c, "/api/v1/nodes/n1/register", body), 0);
    json_decref(body);
    assert_int_equal(status, 200);
    /* 404 keeps the store's message; 405 is KS_EIO with the status. */
    assert_int_equal(ks_client_get(&out, c, "/api/v1/namespaces/default/objects/ConfigMap/zz"),
                     KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "404 ConfigMap/default/zz not found"));
    assert_int_equal(ks_client_status(c), 404);
    assert_int_equal(ks_client_get(&out, c, "/api/v1/sync"), KS_EIO);
    assert_int_equal(ks_client_status(c), 405);
    ks_client_free(c);
    /* A refused token says so, with the server's message. */
    assert_int_equal(ks_client_new(&bad, f->url, "0123", f->dir), 0);
    assert_int_equal(ks_client_get(&out, bad, "/api/v1/objects/Pod"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "401 the server refused the token: a valid admin"));
    assert_int_equal(ks_client_status(bad), 401);
    ks_client_free(bad);
    /* Nobody listening. */
    assert_int_equal(ks_client_new(&gone, "http://127.0.0.1:1", f->admin, f->dir), 0);
    assert_int_equal(ks_client_get(&out, gone, "/healthz"), KS_EIO);
    assert_non_null(strstr(ks_error_last(), "is the control plane running?"));
    assert_int_equal(ks_client_status(gone), 0);
    ks_client_free(gone);
    ks_client_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(arguments_and_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(post_and_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
