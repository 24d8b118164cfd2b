/*
 * cpclient.c: the node agent's HTTP source (nodeagent/cpclient) against the
 * real API server (reconciler/api) on an ephemeral loopback port with a
 * temporary SQLite store, as the control plane runs them: the server on its
 * own thread with its own store connection, this program writing through a
 * second connection and calling ks_api_server_notify() after each commit.
 * Every call of the source is exercised: register, heartbeat (and 404 ->
 * KS_ENOTFOUND), list, watch woken by a change, KS_EGONE after compaction,
 * report_status and report_events landing in the store, get_object of a
 * ConfigMap or Secret and their changes in the watch, list_objects of
 * Services and Endpoints and their changes, HTTPS with a CA
 * file (and refused without it), a wrong token,
 * a server that is down, interrupt of a parked watch, and calls from
 * several threads while a watch is parked. Run by tests/e2e/test_cpclient.sh.
 */
#include "core/error.h"
#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/node/node.h"
#include "reconciler/api/api.h"
#include "reconciler/store/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
    char dir[256];
    struct ks_store *cp;    /* this program's connection (the "control plane") */
    struct ks_store *store; /* the server's connection */
    struct ks_api_tokens *tokens;
    struct ks_api_server *srv;
    pthread_t thread;
    char url[64];
    char token[KS_API_TOKEN_HEX + 1];
    struct ks_agent_source *src;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *run_server(void *ud)
{
    struct fixture *f = ud;

    ks_api_server_run(f->srv);
    return NULL;
}

static struct ks_agent_source *new_source(const char *url, const char *token, const char *node)
{
    struct ks_cpclient_opts o = {.server = url, .token = token, .node = node, .timeout_ms = 3000};
    struct ks_agent_source *src = NULL;

    if (ks_cpclient_source_new(&src, &o) < 0)
        fail_msg("cpclient_source_new: %s", ks_error_last());
    return src;
}

static int start(void **state, bool tls)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct ks_api_server_opts o = {.port = 0};
    const char *tmp = getenv("TMPDIR");
    char path[300];

    snprintf(f->dir, sizeof(f->dir), "%s/ks-cpclient-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof(path), "%s/store.db", f->dir);
    /* A short history so that the compaction case can be provoked. */
    if (ks_store_open_sqlite(&f->cp, path, 16) || ks_store_open_sqlite(&f->store, path, 16) ||
        ks_api_tokens_load_or_create(&f->tokens, f->dir) ||
        ks_api_tokens_node(f->token, f->tokens, "node-a")) {
        fprintf(stderr, "setup: %s\n", ks_error_last());
        return -1;
    }
    if (tls) {
        /* made by test_cpclient.sh with openssl: CN and SAN 127.0.0.1, self-signed */
        o.tls_cert = getenv("KS_TEST_TLS_CERT");
        o.tls_key = getenv("KS_TEST_TLS_KEY");
        if (!o.tls_cert || !o.tls_key) {
            fprintf(stderr, "setup: KS_TEST_TLS_CERT and KS_TEST_TLS_KEY are not set "
                            "(run through tests/e2e/test_cpclient.sh)\n");
            return -1;
        }
    }
    if (ks_api_server_new(&f->srv, f->store, f->tokens, &o)) {
        fprintf(stderr, "setup: %s\n", ks_error_last());
        return -1;
    }
    snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%u", tls ? "https" : "http",
             ks_api_server_port(f->srv));
    if (pthread_create(&f->thread, NULL, run_server, f))
        return -1;
    f->src = tls ? NULL : new_source(f->url, f->token, "node-a");
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start(state, false);
}

static int setup_tls(void **state)
{
    return start(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[300];

    if (f->src)
        f->src->ops->free(f->src);
    ks_api_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    ks_api_server_free(f->srv);
    ks_api_tokens_free(f->tokens);
    ks_store_close(f->store);
    ks_store_close(f->cp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Writes obj through this program's connection and wakes the server's watchers. */
static int64_t put(struct fixture *f, json_t *obj)
{
    int64_t rev = 0;

    if (ks_store_put(&rev, f->cp, obj, KS_STORE_ANY_REVISION) < 0)
        fail_msg("store put: %s", ks_error_last());
    json_decref(obj);
    ks_api_server_notify(f->srv, rev);
    return rev;
}

static json_t *pod(const char *name, const char *node)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind",
                     "Pod", "metadata", "name", name, "namespace", "default", "spec", "nodeName",
                     node, "containers", "name", "c", "image", "busybox");
}

static void do_register(struct fixture *f)
{
    struct ks_node_opts no = {.name = "node-a", .runtime_version = "sim"};
    json_t *report = NULL;

    assert_int_equal(ks_node_report_build(&report, &no), 0);
    if (f->src->ops->register_node(f->src, report) < 0)
        fail_msg("register: %s", ks_error_last());
    json_decref(report);
}

static void register_and_heartbeat(void **state)
{
    struct fixture *f = *state;
    struct ks_store_key key = {"Node", "", "node-a"};
    struct ks_agent_source *other;
    char token_b[KS_API_TOKEN_HEX + 1];
    json_t *node = NULL;

    /* Before registering, the control plane does not know the node. */
    assert_int_equal(f->src->ops->heartbeat(f->src), KS_ENOTFOUND);
    do_register(f);
    assert_int_equal(ks_store_get(&node, f->cp, &key), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(node, "metadata"), "labels"),
                            "kubernetes.io/hostname")),
                        "node-a");
    json_decref(node);
    assert_int_equal(f->src->ops->heartbeat(f->src), 0);

    /* Another node's token does not open this node's endpoints. */
    assert_int_equal(ks_api_tokens_node(token_b, f->tokens, "node-b"), 0);
    other = new_source(f->url, token_b, "node-a");
    assert_int_equal(other->ops->heartbeat(other), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "token refused"));
    other->ops->free(other);
}

static void wrong_token_and_server_down(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    struct ks_agent_source *bad;
    char url[64], wrong[KS_API_TOKEN_HEX + 1];
    json_t *items = NULL;
    int64_t rev;
    int fd;

    memset(wrong, 'a', KS_API_TOKEN_HEX);
    wrong[KS_API_TOKEN_HEX] = '\0';
    bad = new_source(f->url, wrong, "node-a");
    assert_int_equal(bad->ops->list(bad, &items, &rev), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "token refused"));
    bad->ops->free(bad);

    /* A port nobody listens on: connection refused is KS_EIO. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(a.sin_port));
    bad = new_source(url, f->token, "node-a");
    assert_int_equal(bad->ops->heartbeat(bad), KS_EIO);
    assert_int_equal(bad->ops->list(bad, &items, &rev), KS_EIO);
    assert_non_null(strstr(ks_error_last(), "onnection refused"));
    bad->ops->free(bad);

    assert_null(items);

    /* An answer larger than max_response is refused with the limit named. */
    struct ks_cpclient_opts small = {
        .server = f->url, .token = f->token, .node = "node-a", .max_response = 16};
    assert_int_equal(ks_cpclient_source_new(&bad, &small), 0);
    assert_int_equal(bad->ops->list(bad, &items, &rev), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "max_response"));
    bad->ops->free(bad);
    assert_null(items);

    assert_int_equal(
        ks_cpclient_source_new(
            &bad, &(struct ks_cpclient_opts){.server = "ftp://x", .token = "t", .node = "n"}),
        KS_EINVALID);
}

static void list_and_watch(void **state)
{
    struct fixture *f = *state;
    json_t *items = NULL, *changes = NULL, *c;
    int64_t rev, next, start;
    long took;

    do_register(f);
    put(f, pod("web-1", "node-a"));
    put(f, pod("other-1", "node-b"));
    assert_int_equal(f->src->ops->list(f->src, &items, &rev), 0);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(items, 0), "metadata"), "name")),
                        "web-1");
    json_decref(items);

    /* Nothing new: a short watch answers empty at its timeout. */
    start = mono_ms();
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 300), 0);
    took = (long)(mono_ms() - start);
    assert_int_equal(json_array_size(changes), 0);
    assert_true(took >= 250 && took < 2000);
    assert_true(next >= rev);
    json_decref(changes);
    rev = next;

    put(f, pod("web-2", "node-a"));
    start = mono_ms();
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 5000), 0);
    took = (long)(mono_ms() - start);
    print_message("watch answered a waiting change after %ld ms\n", took);
    assert_true(took < 1000);
    assert_int_equal(json_array_size(changes), 1);
    c = json_array_get(changes, 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "put");
    assert_string_equal(json_string_value(json_object_get(c, "name")), "web-2");
    json_decref(changes);
}

struct parked {
    struct fixture *f;
    int64_t since;
    long timeout_ms;
    int rc;
    json_t *changes;
    int64_t next;
    int64_t took_ms;
    volatile int done;
};

static void *park(void *ud)
{
    struct parked *p = ud;
    int64_t start = mono_ms();

    p->rc = p->f->src->ops->watch(p->f->src, &p->changes, &p->next, p->since, p->timeout_ms);
    p->took_ms = mono_ms() - start;
    p->done = 1;
    return NULL;
}

static void watch_wakes_on_notify(void **state)
{
    struct fixture *f = *state;
    struct parked p = {.f = f, .timeout_ms = 10000};
    json_t *items = NULL;
    pthread_t t;
    int64_t put_at;

    do_register(f);
    assert_int_equal(f->src->ops->list(f->src, &items, &p.since), 0);
    json_decref(items);
    pthread_create(&t, NULL, park, &p);
    usleep(300 * 1000);
    put_at = mono_ms();
    put(f, pod("late", "node-a"));
    pthread_join(t, NULL);
    assert_int_equal(p.rc, 0);
    print_message("parked watch woke %lld ms after the write\n", (long long)(mono_ms() - put_at));
    assert_true(p.took_ms >= 250 && p.took_ms < 2000);
    assert_int_equal(json_array_size(p.changes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p.changes, 0), "name")),
                        "late");
    json_decref(p.changes);
}

static void gone_after_compaction(void **state)
{
    struct fixture *f = *state;
    json_t *changes = NULL;
    int64_t rev = 0, next;
    int i;

    /* History 16, compaction every 64th revision: 70 writes drop revision 1. */
    assert_int_equal(ks_store_begin(f->cp), 0);
    for (i = 0; i < 70; i++) {
        json_t *cm =
            json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:i}}", "apiVersion", "v1", "kind", "ConfigMap",
                      "metadata", "name", "cm", "namespace", "default", "data", "n", i);

        assert_int_equal(ks_store_put(&rev, f->cp, cm, KS_STORE_ANY_REVISION), 0);
        json_decref(cm);
    }
    assert_int_equal(ks_store_commit(f->cp), 0);
    ks_api_server_notify(f->srv, rev);
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, 1, 1000), KS_EGONE);
    assert_null(changes);
}

static void status_and_events_reach_the_store(void **state)
{
    struct fixture *f = *state;
    struct ks_store_key key = {"Pod", "default", "web-1"};
    json_t *status = json_pack("{s:s,s:s}", "phase", "Running", "podIP", "10.88.0.7");
    json_t *events = json_array(), *stored = NULL, *list = NULL;
    size_t i, mine = 0;

    do_register(f);
    put(f, pod("web-1", "node-a"));
    put(f, pod("theirs", "node-b"));
    struct ks_cpclient_status_stats st0, st1;
    ks_cpclient_status_stats(&st0, f->src);
    /* report_status only queues; the source's sender posts it (the batch
     * route, or pod by pod on a server without it) */
    assert_int_equal(f->src->ops->report_status(f->src, "default", "web-1", status), 0);
    assert_int_equal(ks_cpclient_status_flush(f->src, 5000), 0);
    assert_int_equal(ks_store_get(&stored, f->cp, &key), 0);
    assert_true(json_equal(json_object_get(stored, "status"), status));
    json_decref(stored);
    /* A pod bound elsewhere (403) is refused, a missing one (404) dropped:
     * both settled, neither retried. */
    assert_int_equal(f->src->ops->report_status(f->src, "default", "theirs", status), 0);
    assert_int_equal(f->src->ops->report_status(f->src, "default", "nope", status), 0);
    assert_int_equal(ks_cpclient_status_flush(f->src, 5000), 0);
    ks_cpclient_status_stats(&st1, f->src);
    assert_int_equal(st1.written - st0.written, 1);
    assert_int_equal(st1.refused - st0.refused, 1);
    assert_int_equal(st1.gone - st0.gone, 1);
    assert_int_equal(st1.retried, st0.retried);
    assert_true(st1.batches + st1.per_pod > st0.batches + st0.per_pod);
    json_decref(status);

    /* 300 events go out in two posts (the API takes at most 256 at once). */
    for (i = 0; i < 300; i++)
        json_array_append_new(events,
                              json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "type", "Warning",
                                        "reason", "Drift", "message", "container stopped", "object",
                                        "kind", "Pod", "namespace", "default", "name", "web-1"));
    assert_int_equal(f->src->ops->report_events(f->src, events), 0);
    json_decref(events);
    assert_int_equal(ks_store_events_list(&list, f->cp, 1000), 0);
    for (i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        const char *node = json_string_value(json_object_get(e, "node"));

        if (node && strcmp(node, "node-a") == 0 &&
            strcmp(json_string_value(json_object_get(e, "reason")), "Drift") == 0)
            mine++;
    }
    assert_int_equal(mine, 300);
    json_decref(list);
}

static void *beat(void *ud)
{
    struct fixture *f = ud;
    int i, *failures = calloc(1, sizeof(int));

    for (i = 0; i < 25; i++) {
        json_t *ev = json_pack("[{s:s,s:s,s:s}]", "type", "Normal", "reason", "Beat", "message",
                               "from a thread");

        /* Neither wakes the node's watch: no Pod bound to the node changes. */
        if (f->src->ops->heartbeat(f->src) < 0 || f->src->ops->report_events(f->src, ev) < 0)
            (*failures)++;
        json_decref(ev);
    }
    return failures;
}

static void interrupt_and_concurrency(void **state)
{
    struct fixture *f = *state;
    struct parked p = {.f = f, .timeout_ms = 20000};
    json_t *items = NULL;
    pthread_t t, beaters[4];
    int64_t asked;
    int i;

    do_register(f);
    put(f, pod("web-1", "node-a"));
    assert_int_equal(f->src->ops->list(f->src, &items, &p.since), 0);
    json_decref(items);
    pthread_create(&t, NULL, park, &p);
    usleep(200 * 1000);
    /* Other threads use the source while the watch is parked. */
    for (i = 0; i < 4; i++)
        pthread_create(&beaters[i], NULL, beat, f);
    for (i = 0; i < 4; i++) {
        void *ret;

        pthread_join(beaters[i], &ret);
        assert_int_equal(*(int *)ret, 0);
        free(ret);
    }
    assert_int_equal(p.done, 0); /* still parked */
    asked = mono_ms();
    f->src->ops->interrupt(f->src);
    pthread_join(t, NULL);
    print_message("interrupt ended the parked watch after %lld ms\n",
                  (long long)(mono_ms() - asked));
    assert_int_equal(p.rc, 0);
    assert_true(mono_ms() - asked < 500);
    assert_int_equal(json_array_size(p.changes), 0);
    assert_int_equal(p.next, p.since);
    json_decref(p.changes);

    /* An interrupt that comes before the watch starts is not lost. */
    p.changes = NULL;
    p.since = p.next;
    f->src->ops->interrupt(f->src);
    asked = mono_ms();
    assert_int_equal(f->src->ops->watch(f->src, &p.changes, &p.next, p.since, 20000), 0);
    assert_true(mono_ms() - asked < 500);
    assert_int_equal(json_array_size(p.changes), 0);
    json_decref(p.changes);
}

static json_t *configmap(const char *name, const char *value)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "namespace", "apps", "data", "key", value);
}

static void get_object_and_configmap_changes(void **state)
{
    struct fixture *f = *state;
    json_t *obj = NULL, *items = NULL, *changes = NULL, *c;
    int64_t rev, next;

    do_register(f);
    put(f, configmap("conf", "one"));
    put(f, json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                     "metadata", "name", "pw", "namespace", "apps", "data", "p", "c2VjcmV0"));
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "ConfigMap", "apps", "conf"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "key")),
                        "one");
    json_decref(obj);
    obj = NULL;
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "Secret", "apps", "pw"), 0);
    json_decref(obj);
    obj = NULL;
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "ConfigMap", "apps", "absent"),
                     KS_ENOTFOUND);
    /* Nodes read only ConfigMaps and Secrets (403 -> KS_EINVALID). */
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "Node", "apps", "node-a"), KS_EINVALID);
    assert_null(obj);

    /* A ConfigMap change reaches the node's watch. */
    assert_int_equal(f->src->ops->list(f->src, &items, &rev), 0);
    json_decref(items);
    put(f, configmap("conf", "two"));
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 5000), 0);
    assert_int_equal(json_array_size(changes), 1);
    c = json_array_get(changes, 0);
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "ConfigMap");
    assert_string_equal(json_string_value(json_object_get(c, "type")), "put");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(c, "object"), "data"), "key")),
                        "two");
    json_decref(changes);
}

/* list_objects of Services and Endpoints (all namespaces), their changes
 * in the node's watch, and a kind nodes may not list (403 -> KS_EINVALID). */
static void list_objects_services(void **state)
{
    struct fixture *f = *state;
    json_t *items = NULL, *changes = NULL;
    int64_t rev, next;

    do_register(f);
    put(f, json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind", "Service",
                     "metadata", "name", "db", "namespace", "apps", "spec", "clusterIP",
                     "10.96.0.10"));
    put(f, json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Service", "metadata",
                     "name", "web", "namespace", "shop"));
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Service"), 0);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
    items = NULL;
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Endpoints"), 0);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    items = NULL;
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Secret"), KS_EINVALID);
    assert_null(items);

    assert_int_equal(f->src->ops->list(f->src, &items, &rev), 0);
    json_decref(items);
    put(f, json_pack("{s:s,s:s,s:{s:s,s:s},s:[{s:[{s:s}],s:[{s:i}]}]}", "apiVersion", "v1", "kind",
                     "Endpoints", "metadata", "name", "db", "namespace", "apps", "subsets",
                     "addresses", "ip", "10.88.0.5", "ports", "port", 5432));
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 5000), 0);
    assert_int_equal(json_array_size(changes), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "kind")),
                        "Endpoints");
    json_decref(changes);
}

static void https_with_ca_file(void **state)
{
    struct fixture *f = *state;
    struct ks_cpclient_opts o = {.server = f->url,
                                 .token = f->token,
                                 .node = "node-a",
                                 .ca_file = getenv("KS_TEST_TLS_CERT"),
                                 .timeout_ms = 3000};
    struct ks_agent_source *untrusting = NULL;
    json_t *items = NULL;
    int64_t rev;

    assert_int_equal(ks_cpclient_source_new(&f->src, &o), 0);
    do_register(f);
    put(f, pod("web-1", "node-a"));
    assert_int_equal(f->src->ops->list(f->src, &items, &rev), 0);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    items = NULL;

    /* Without the CA the self-signed certificate is not trusted: KS_EIO. */
    o.ca_file = NULL;
    assert_int_equal(ks_cpclient_source_new(&untrusting, &o), 0);
    assert_int_equal(untrusting->ops->list(untrusting, &items, &rev), KS_EIO);
    print_message("untrusted certificate: %s\n", ks_error_last());
    assert_null(items);
    untrusting->ops->free(untrusting);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(register_and_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_token_and_server_down, setup, teardown),
        cmocka_unit_test_setup_teardown(list_and_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(watch_wakes_on_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(gone_after_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(status_and_events_reach_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(interrupt_and_concurrency, setup, teardown),
        cmocka_unit_test_setup_teardown(get_object_and_configmap_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(list_objects_services, setup, teardown),
        cmocka_unit_test_setup_teardown(https_with_ca_file, setup_tls, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
