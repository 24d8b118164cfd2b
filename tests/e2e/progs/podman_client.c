/*
 * podman_client.c: the node agent's Podman client (nodeagent/podman/)
 * driven against a live, private Podman service.
 *
 * Run by tests/e2e/test_podman_client.sh, which owns the service (through
 * tests/e2e/lib/podman-fixture.sh) and passes everything through the
 * environment:
 *   KS_PODMAN_SOCK   socket path the client uses (a symlink the script can
 *                    point at a new service for the reconnect test)
 *   KS_TEST_IMAGE    local image with sh, httpd, sleep
 *   KS_TEST_PORT     free loopback port for the pod's port mapping
 *   KS_TEST_RUN      unique run id, used in names and labels
 *   KS_TEST_CTL / KS_TEST_ACK   FIFOs: this program writes "stop"/"start" to
 *                    CTL and waits for "stopped"/"started" on ACK
 * Tests run in order and share one client: the reconnect test at the end
 * must work with the very handle every earlier call used. Measurements are
 * printed as "MEASURE name=value" lines.
 */
#include "core/error.h"
#include "nodeagent/podman/podman.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct ks_podman *pm;
static const char *sock, *image, *run_id;
static int port;
static char pod_name[96], web_name[96], sleeper_name[96], run_label[128], ctr_label[128];
static char page[128];

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);

    if (!v || !*v) {
        fprintf(stderr, "podman_client: $%s is not set (run through test_podman_client.sh)\n",
                name);
        exit(2);
    }
    return v;
}

/* Asserts rc == 0, printing the client's message when not. */
#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %s (%s)", #expr, ks_error_last(), ks_error_name(rc_));                   \
    } while (0)

/* Asserts expr fails with code, and the message contains want. */
#define FAILS(code, want, expr)                                                                    \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (code))                                                                         \
            fail_msg("%s: got %d (%s: %s), want %s", #expr, rc_, ks_error_name(rc_),               \
                     ks_error_last(), ks_error_name(code));                                        \
        if (!strstr(ks_error_last(), (want)))                                                      \
            fail_msg("%s: message '%s' lacks '%s'", #expr, ks_error_last(), (want));               \
    } while (0)

static json_t *parse(const char *fmt, ...)
{
    char text[4096];
    json_error_t jerr;
    json_t *doc;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

/* --- FIFO handshake with the driving script ---------------------------- */

static void ask_script(const char *cmd, const char *want, int timeout_s)
{
    char line[64] = {0};
    size_t got = 0;
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    int fd;

    fd = open(env_or_die("KS_TEST_CTL"), O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    fd = open(env_or_die("KS_TEST_ACK"), O_RDONLY | O_NONBLOCK);
    assert_true(fd >= 0);
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        ssize_t n;
        if (left <= 0)
            fail_msg("the script did not answer '%s' within %d s", cmd, timeout_s);
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        n = read(fd, line + got, sizeof(line) - 1 - got);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            fail_msg("reading the answer to '%s': %s", cmd, strerror(errno));
        else if (n == 0)
            nanosleep(&(struct timespec){.tv_nsec = 20000000L}, NULL);
    }
    close(fd);
    if (strncmp(line, want, strlen(want)) != 0)
        fail_msg("script answered '%s' to '%s', want '%s'", line, cmd, want);
}

/* --- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
    const char *p;

    sock = env_or_die("KS_PODMAN_SOCK");
    image = env_or_die("KS_TEST_IMAGE");
    run_id = env_or_die("KS_TEST_RUN");
    p = env_or_die("KS_TEST_PORT");
    port = (int)strtol(p, NULL, 10);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "podman_client: bad KS_TEST_PORT '%s'\n", p);
        return -1;
    }
    snprintf(pod_name, sizeof(pod_name), "kspc-%s", run_id);
    snprintf(web_name, sizeof(web_name), "kspc-%s-web", run_id);
    snprintf(sleeper_name, sizeof(sleeper_name), "kspc-%s-sleeper", run_id);
    snprintf(run_label, sizeof(run_label), "io.keelson.test.run=%s", run_id);
    snprintf(ctr_label, sizeof(ctr_label), "io.keelson.test.ctr=%s", run_id);
    snprintf(page, sizeof(page), "hello-from-%s", run_id);
    if (ks_podman_new(&pm, sock, &(struct ks_podman_opts){.timeout_ms = 60000}) < 0) {
        fprintf(stderr, "podman_client: %s\n", ks_error_last());
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    /* Best effort: the script's fixture removes everything anyway. */
    if (pm)
        ks_podman_pod_remove(pm, pod_name, true);
    ks_podman_free(pm);
    return 0;
}

/* --- tests ------------------------------------------------------------- */

static void test_ping_version(void **state)
{
    char *version = NULL, *api = NULL;

    OK(ks_podman_ping(pm));
    OK(ks_podman_version(&version, &api, pm));
    printf("podman %s, API %s\n", version, api);
    assert_true(strncmp(version, "4.", 2) == 0);
    assert_true(strncmp(api, "4.", 2) == 0);
    free(version);
    free(api);
}

static void test_images(void **state)
{
    json_t *doc = NULL;
    char *id = NULL;
    int64_t t0;
    int rc;

    OK(ks_podman_image_exists(pm, image));
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_image_exists(pm, "localhost/keelson-no-such:1"));
    OK(ks_podman_image_inspect(&doc, pm, image));
    assert_non_null(json_string_value(json_object_get(doc, "Id")));
    json_decref(doc);
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_image_inspect(&doc, pm, "localhost/keelson-no:1"));

    /* No registry is reachable: a registry on a closed loopback port fails
     * at once, and the failure arrives inside the 200 stream. */
    t0 = now_ms();
    rc = ks_podman_image_pull(&id, pm, "127.0.0.1:9/keelson/none:1", 20000);
    printf("pull error after %lld ms: %s\n", (long long)(now_ms() - t0), ks_error_last());
    assert_int_equal(rc, KS_EIO);
    assert_null(id);
    assert_non_null(strstr(ks_error_last(), "pull 127.0.0.1:9/keelson/none:1"));
    assert_true(now_ms() - t0 < 20000);
}

static void test_pod_create_start(void **state)
{
    json_t *k8s = NULL, *podspec = NULL, *ctr = NULL, *spec = NULL, *labels = NULL, *doc = NULL;
    char *pod_id = NULL, *web_id = NULL, *sleep_id = NULL;
    int64_t t0, create_ms, start_ms;

    k8s = parse("{\"metadata\": {\"name\": \"web\", \"labels\": {\"app\": \"web\"}},"
                " \"spec\": {\"hostname\": \"web-%s\", \"containers\": [{\"name\": \"web\","
                " \"ports\": [{\"containerPort\": 8080, \"hostPort\": %d, \"hostIP\": "
                "\"127.0.0.1\"}]}]}}",
                run_id, port);
    labels = parse("{\"io.keelson.test.run\": \"%s\"}", run_id);
    OK(ks_podman_spec_pod(&podspec, k8s, pod_name, labels));
    t0 = now_ms();
    OK(ks_podman_pod_create(&pod_id, pm, podspec));
    create_ms = now_ms() - t0;
    assert_true(strlen(pod_id) == 64);

    /* The web container, from a Kubernetes container spec. The shell stays
     * PID 1 with a TERM trap so stop does not wait out the timeout. */
    json_decref(labels);
    labels =
        parse("{\"io.keelson.test.run\": \"%s\", \"io.keelson.test.ctr\": \"%s\"}", run_id, run_id);
    ctr = parse("{\"name\": \"web\", \"image\": \"%s\", \"command\": [\"sh\", \"-c\"],"
                " \"args\": [\"trap 'exit 0' TERM; mkdir -p www && echo \\\"$PAGE\\\" > "
                "www/index.html && echo web-started-$PAGE; httpd -f -p 8080 -h www & wait\"],"
                " \"env\": [{\"name\": \"PAGE\", \"value\": \"%s\"}], \"workingDir\": \"/tmp\","
                " \"resources\": {\"limits\": {\"cpu\": \"500m\", \"memory\": \"64Mi\"}}}",
                image, page);
    OK(ks_podman_spec_container(
        &spec, ctr,
        &(struct ks_podman_ctr_ctx){
            .name = web_name, .pod = pod_name, .labels = labels, .stop_timeout_s = 5}));
    OK(ks_podman_container_create(&web_id, pm, spec));
    json_decref(spec);
    json_decref(ctr);
    ctr = parse("{\"name\": \"sleeper\", \"image\": \"%s\", \"command\": [\"sleep\"],"
                " \"args\": [\"600\"]}",
                image);
    OK(ks_podman_spec_container(
        &spec, ctr,
        &(struct ks_podman_ctr_ctx){
            .name = sleeper_name, .pod = pod_name, .labels = labels, .stop_timeout_s = 1}));
    OK(ks_podman_container_create(&sleep_id, pm, spec));

    t0 = now_ms();
    OK(ks_podman_pod_start(pm, pod_name));
    start_ms = now_ms() - t0;
    printf("MEASURE pod_create_ms=%lld\nMEASURE pod_start_ms=%lld\n", (long long)create_ms,
           (long long)start_ms);
    /* Starting a started pod is not an error (HTTP 304). */
    OK(ks_podman_pod_start(pm, pod_name));

    /* The limits and settings reached the container. */
    OK(ks_podman_container_inspect(&doc, pm, web_name));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "HostConfig"), "Memory")),
        64 * 1024 * 1024);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "HostConfig"), "CpuQuota")), 50000);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "Config"), "WorkingDir")), "/tmp");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "HostConfig"), "RestartPolicy"), "Name")),
        "no");
    json_decref(doc);
    doc = NULL;

    free(pod_id);
    free(web_id);
    free(sleep_id);
    json_decref(spec);
    json_decref(ctr);
    json_decref(labels);
    json_decref(podspec);
    json_decref(k8s);
}

/* A second pod on a warm service (the first one also builds Podman's
 * pause image): create, start, remove, timed. */
static void test_pod_times_warm(void **state)
{
    json_t *podspec = NULL, *spec = NULL;
    struct ks_podman_ctr_state st;
    char name[128], cname[128], *id = NULL;
    int64_t t0, create_ms, start_ms, deadline;

    snprintf(name, sizeof(name), "%s-warm", pod_name);
    snprintf(cname, sizeof(cname), "%s-warm-c", pod_name);
    podspec = json_pack("{s:s,s:{s:s}}", "name", name, "labels", "io.keelson.test.run", run_id);
    spec = json_pack("{s:s,s:s,s:s,s:[s,s],s:s,s:i}", "name", cname, "pod", name, "image", image,
                     "command", "sleep", "600", "restart_policy", "no", "stop_timeout", 1);
    t0 = now_ms();
    OK(ks_podman_pod_create(&id, pm, podspec));
    create_ms = now_ms() - t0;
    free(id);
    OK(ks_podman_container_create(&id, pm, spec));
    free(id);
    t0 = now_ms();
    OK(ks_podman_pod_start(pm, name));
    start_ms = now_ms() - t0;
    printf("MEASURE warm_pod_create_ms=%lld\nMEASURE warm_pod_start_ms=%lld\n",
           (long long)create_ms, (long long)start_ms);
    /* Pod kill: every container gets the signal. */
    OK(ks_podman_pod_kill(pm, name, "SIGKILL"));
    deadline = now_ms() + 5000;
    do {
        OK(ks_podman_container_state(&st, pm, cname));
        if (!st.running)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 50000000L}, NULL);
    } while (now_ms() < deadline);
    assert_false(st.running);
    assert_int_equal(st.exit_code, 137);
    t0 = now_ms();
    OK(ks_podman_pod_remove(pm, name, true));
    printf("MEASURE warm_pod_remove_force_ms=%lld\n", (long long)(now_ms() - t0));
    json_decref(spec);
    json_decref(podspec);
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    char *buf = ud;
    size_t have = strlen(buf), len = size * n;

    if (have + len >= 256)
        return 0;
    memcpy(buf + have, data, len);
    buf[have + len] = '\0';
    return len;
}

/* GET http://127.0.0.1:port/ over loopback TCP into body (256 bytes). */
static int fetch(char *body)
{
    char url[64];
    CURL *h = curl_easy_init();
    CURLcode rc;
    long status = 0;

    body[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return rc == CURLE_OK && status == 200 ? 0 : -1;
}

static void test_serves_and_inspects(void **state)
{
    struct ks_podman_ctr_state st;
    json_t *doc = NULL, *list = NULL, *binding;
    const char *labels[] = {run_label, NULL};
    const char *ctr_labels[] = {ctr_label, NULL};
    const char *none[] = {"io.keelson.test.run=nobody-has-this", NULL};
    char body[256], want[160];
    int64_t deadline = now_ms() + 15000;

    snprintf(want, sizeof(want), "%s\n", page);
    while (fetch(body) != 0 || strcmp(body, want) != 0) {
        if (now_ms() > deadline)
            fail_msg("http://127.0.0.1:%d/ did not serve '%s' within 15 s (last: '%s')", port, page,
                     body);
        nanosleep(&(struct timespec){.tv_nsec = 100000000L}, NULL);
    }

    OK(ks_podman_container_state(&st, pm, web_name));
    assert_string_equal(st.status, "running");
    assert_true(st.running);
    assert_true(st.started_ns > 1700000000LL * 1000000000LL);
    assert_int_equal(st.finished_ns, 0);
    assert_int_equal(st.restart_count, 0);
    assert_true(st.pid > 0);

    OK(ks_podman_pod_inspect(&doc, pm, pod_name));
    assert_string_equal(json_string_value(json_object_get(doc, "State")), "Running");
    assert_int_equal(json_array_size(json_object_get(doc, "Containers")), 3); /* + infra */
    binding = json_array_get(
        json_object_get(json_object_get(json_object_get(doc, "InfraConfig"), "PortBindings"),
                        "8080/tcp"),
        0);
    snprintf(want, sizeof(want), "%d", port);
    assert_string_equal(json_string_value(json_object_get(binding, "HostPort")), want);
    snprintf(want, sizeof(want), "web-%s", run_id);
    assert_non_null(json_string_value(json_object_get(doc, "Hostname")));
    assert_string_equal(json_string_value(json_object_get(doc, "Hostname")), want);
    json_decref(doc);

    OK(ks_podman_pod_list(&list, pm, labels));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Name")),
                        pod_name);
    json_decref(list);
    OK(ks_podman_pod_list(&list, pm, none));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    OK(ks_podman_container_list(&list, pm, ctr_labels));
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
}

static void test_exec_and_logs(void **state)
{
    const char *exit3[] = {"sh", "-c", "echo to-out; echo to-err >&2; exit 3", NULL};
    const char *ok[] = {"sh", "-c", "echo $PAGE", NULL};
    char *out = NULL, *logs = NULL, want[160];
    size_t len = 0;
    bool truncated = true;
    int code = -1;

    OK(ks_podman_exec(&code, &out, pm, web_name, exit3, 10000));
    assert_int_equal(code, 3);
    assert_non_null(strstr(out, "to-out\n"));
    assert_non_null(strstr(out, "to-err\n"));
    free(out);
    OK(ks_podman_exec(&code, &out, pm, web_name, ok, 10000));
    assert_int_equal(code, 0);
    snprintf(want, sizeof(want), "%s\n", page);
    assert_string_equal(out, want);
    free(out);
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_exec(&code, NULL, pm, "kspc-no-such", ok, 5000));

    OK(ks_podman_container_logs(&logs, &len, &truncated, pm, web_name, 0, 0));
    snprintf(want, sizeof(want), "web-started-%s\n", page);
    assert_non_null(strstr(logs, want));
    assert_int_equal(len, strlen(logs));
    assert_false(truncated);
    free(logs);
    /* Bounded: 5 bytes of it, marked truncated. */
    OK(ks_podman_container_logs(&logs, &len, &truncated, pm, web_name, 10, 5));
    assert_true(len <= 5);
    assert_true(truncated);
    free(logs);
}

struct watch {
    struct ks_podman_events *ev;
    const char *id;
    int64_t seen_ms; /* when the died event arrived; 0 until then */
    int exit_code;
    int rc;
    pthread_mutex_t lock;
};

static int on_event(const struct ks_podman_event *e, void *ud)
{
    struct watch *w = ud;

    if (strcmp(e->type, "container") == 0 && strcmp(e->action, "died") == 0 &&
        strcmp(e->id, w->id) == 0) {
        pthread_mutex_lock(&w->lock);
        w->seen_ms = now_ms();
        w->exit_code = e->exit_code;
        pthread_mutex_unlock(&w->lock);
    }
    return 0; /* keep streaming until stopped */
}

static void *watch_thread(void *arg)
{
    struct watch *w = arg;

    w->rc = ks_podman_events_run(w->ev, on_event, w);
    return NULL;
}

static void test_kill_event(void **state)
{
    const char *labels[] = {ctr_label, NULL};
    struct watch w = {.exit_code = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
    struct ks_podman_ctr_state st;
    json_t *doc = NULL;
    pthread_t th;
    int64_t t0, seen = 0;

    OK(ks_podman_container_inspect(&doc, pm, sleeper_name));
    w.id = json_string_value(json_object_get(doc, "Id"));
    assert_non_null(w.id);
    /* since = a second ago: the stream cannot miss the kill even if it
     * subscribes after it happens. */
    OK(ks_podman_events_new(&w.ev, pm, labels, (int64_t)time(NULL) - 1));
    assert_int_equal(pthread_create(&th, NULL, watch_thread, &w), 0);

    t0 = now_ms();
    OK(ks_podman_container_kill(pm, sleeper_name, "SIGKILL"));
    while (now_ms() - t0 < 2000) {
        pthread_mutex_lock(&w.lock);
        seen = w.seen_ms;
        pthread_mutex_unlock(&w.lock);
        if (seen)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10000000L}, NULL);
    }
    ks_podman_events_stop(w.ev);
    assert_int_equal(pthread_join(th, NULL), 0);
    ks_podman_events_free(w.ev);
    if (!seen)
        fail_msg("no 'died' event for %s within 2 s (stream rc %d: %s)", sleeper_name, w.rc,
                 w.rc ? ks_error_last() : "");
    printf("MEASURE kill_to_event_ms=%lld\n", (long long)(seen - t0));
    assert_int_equal(w.rc, 0); /* stopped, not failed */
    assert_int_equal(w.exit_code, 137);

    OK(ks_podman_container_state(&st, pm, sleeper_name));
    assert_false(st.running);
    assert_int_equal(st.exit_code, 137);
    assert_true(st.finished_ns >= st.started_ns && st.started_ns > 0);
    /* Killing what is not running is a conflict. */
    FAILS(KS_ECONFLICT, "can only kill running containers",
          ks_podman_container_kill(pm, sleeper_name, "SIGKILL"));
    json_decref(doc);
}

static void test_error_codes(void **state)
{
    json_t *doc = NULL, *spec = NULL;
    char *id = NULL;

    FAILS(KS_ENOTFOUND, "HTTP 404: no pod with name or ID kspc-no-such",
          ks_podman_pod_inspect(&doc, pm, "kspc-no-such"));
    assert_null(doc);
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_container_start(pm, "kspc-no-such"));
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_container_inspect(&doc, pm, "kspc-no-such"));
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_pod_remove(pm, "kspc-no-such", true));
    spec = json_pack("{s:s}", "name", pod_name);
    FAILS(KS_ECONFLICT, "HTTP 409", ks_podman_pod_create(&id, pm, spec));
    assert_null(id);
    json_decref(spec);
    spec = json_pack("{s:s,s:s}", "name", web_name, "image", image);
    FAILS(KS_ECONFLICT, "already in use", ks_podman_container_create(&id, pm, spec));
    json_decref(spec);
    /* Names are escaped, never spliced into the path. */
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_container_inspect(&doc, pm, "../pods/json?x"));
    FAILS(KS_EINVALID, "empty", ks_podman_pod_start(pm, ""));
}

/* Time limits and response caps are enforced on real calls. */
static void test_limits(void **state)
{
    const char *slow[] = {"sleep", "5", NULL};
    struct ks_podman *small = NULL;
    char *version = NULL;
    int64_t t0;
    int code = -1;

    t0 = now_ms();
    FAILS(KS_ETIMEOUT, "no complete answer within 500 ms",
          ks_podman_exec(&code, NULL, pm, web_name, slow, 500));
    assert_true(now_ms() - t0 < 3000);
    assert_int_equal(code, -1);
    OK(ks_podman_new(&small, sock, &(struct ks_podman_opts){.max_response = 64}));
    FAILS(KS_ELIMIT, "over the 64-byte limit", ks_podman_version(&version, NULL, small));
    assert_null(version);
    OK(ks_podman_ping(small)); /* a 2-byte answer fits */
    ks_podman_free(small);
}

/* A socket file nobody listens on: refused at once, not a hang. */
static void test_refused(void **state)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct ks_podman *dead = NULL;
    char dir[] = "/tmp/kspc-refused.XXXXXX";
    int fd;
    int64_t t0;

    assert_non_null(mkdtemp(dir));
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s.sock", dir);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(fd); /* the file stays, nothing listens */
    OK(ks_podman_new(&dead, addr.sun_path, NULL));
    t0 = now_ms();
    assert_int_equal(ks_podman_ping(dead), KS_EIO);
    assert_true(now_ms() - t0 < 1000);
    assert_non_null(strstr(ks_error_last(), "Connection refused"));
    assert_non_null(strstr(ks_error_last(), addr.sun_path));
    ks_podman_free(dead);
    unlink(addr.sun_path);
    rmdir(dir);
}

static void test_call_overhead(void **state)
{
    int64_t t0, ms;
    int i;

    t0 = now_ms();
    for (i = 0; i < 1000; i++)
        OK(ks_podman_ping(pm));
    ms = now_ms() - t0;
    printf("MEASURE ping_1000_ms=%lld\nMEASURE pings_per_s=%lld\n", (long long)ms,
           (long long)(ms > 0 ? 1000000 / ms : 0));
}

static void test_stop_remove(void **state)
{
    struct ks_podman_ctr_state st;
    json_t *doc = NULL, *list = NULL;
    const char *labels[] = {run_label, NULL};
    int64_t t0;

    /* One container alone: stop (its TERM trap exits 0), start again. */
    OK(ks_podman_container_stop(pm, web_name, 10));
    OK(ks_podman_container_state(&st, pm, web_name));
    assert_false(st.running);
    assert_int_equal(st.exit_code, 0);
    OK(ks_podman_container_stop(pm, web_name, 10)); /* 304: already stopped */
    OK(ks_podman_container_start(pm, web_name));
    OK(ks_podman_container_state(&st, pm, web_name));
    assert_true(st.running);
    OK(ks_podman_container_start(pm, web_name)); /* 304: already running */

    /* The pod is Degraded (the sleeper was killed): libpod's own pod stop
     * would do nothing here. */
    t0 = now_ms();
    OK(ks_podman_pod_stop(pm, pod_name, 10));
    printf("MEASURE pod_stop_ms=%lld\n", (long long)(now_ms() - t0));
    OK(ks_podman_container_state(&st, pm, web_name));
    assert_false(st.running);
    assert_int_equal(st.exit_code, 0); /* the TERM trap exits 0 */
    /* Stopping a stopped pod is not an error (HTTP 304). */
    OK(ks_podman_pod_stop(pm, pod_name, 10));
    OK(ks_podman_container_remove(pm, sleeper_name, false));
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_container_inspect(&doc, pm, sleeper_name));
    OK(ks_podman_pod_remove(pm, pod_name, true));
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_pod_inspect(&doc, pm, pod_name));
    OK(ks_podman_pod_list(&list, pm, labels));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
}

static void test_reconnect(void **state)
{
    struct watch w = {.id = "", .exit_code = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th;
    json_t *list = NULL;
    char *version = NULL;
    int64_t t0;
    int rc;

    /* An open event stream sees the service go away. */
    OK(ks_podman_events_new(&w.ev, pm, NULL, 0));
    assert_int_equal(pthread_create(&th, NULL, watch_thread, &w), 0);
    nanosleep(&(struct timespec){.tv_nsec = 300000000L}, NULL);
    ask_script("stop", "stopped", 120);
    assert_int_equal(pthread_join(th, NULL), 0);
    printf("event stream after the stop: %d (%s)\n", w.rc, ks_error_name(w.rc));
    assert_int_equal(w.rc, KS_EIO);
    ks_podman_events_free(w.ev);

    t0 = now_ms();
    rc = ks_podman_ping(pm);
    printf("dead service: %s (after %lld ms)\n", ks_error_last(), (long long)(now_ms() - t0));
    assert_int_equal(rc, KS_EIO);
    assert_true(strncmp(ks_error_last(), "podman at ", 10) == 0);
    assert_non_null(strstr(ks_error_last(), sock));
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(ks_podman_pod_list(&list, pm, NULL), KS_EIO);

    ask_script("start", "started", 120);
    OK(ks_podman_ping(pm));
    OK(ks_podman_version(&version, NULL, pm));
    free(version);
    OK(ks_podman_pod_list(&list, pm, NULL));
    assert_int_equal(json_array_size(list), 0); /* a fresh service */
    json_decref(list);
    FAILS(KS_ENOTFOUND, "HTTP 404", ks_podman_image_exists(pm, image));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_version),     cmocka_unit_test(test_images),
        cmocka_unit_test(test_pod_create_start), cmocka_unit_test(test_serves_and_inspects),
        cmocka_unit_test(test_pod_times_warm),   cmocka_unit_test(test_exec_and_logs),
        cmocka_unit_test(test_kill_event),       cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_refused),
        cmocka_unit_test(test_call_overhead),    cmocka_unit_test(test_stop_remove),
        cmocka_unit_test(test_reconnect),
    };

    return cmocka_run_group_tests_name("podman_client", tests, group_setup, group_teardown);
}
