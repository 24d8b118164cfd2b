/*
 * test_podman_parse.c: the podman client's pure parsing and encoding
 * pieces, fed answers recorded from Podman 4.3.1: container inspect ->
 * ks_podman_ctr_state, RFC 3339 times, event lines, the multiplexed
 * log/exec stream, and path/filter escaping (names must never be spliced
 * into a URL as they are).
 */
#include "core/buf.h"
#include "core/error.h"
#include "nodeagent/podman/internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

/* Trimmed from a real answer (GET /containers/{id}/json, a SIGKILLed sleep). */
static const char *inspect_exited =
    "{\"Id\": \"82c8\", \"Created\": \"2026-11-22T04:13:28.93953779Z\", \"Path\": \"sh\","
    " \"State\": {\"OciVersion\": \"1.0.2-dev\", \"Status\": \"exited\", \"Running\": false,"
    "  \"Paused\": false, \"Restarting\": false, \"OOMKilled\": false, \"Dead\": false,"
    "  \"Pid\": 0, \"ExitCode\": 137, \"Error\": \"\","
    "  \"StartedAt\": \"2026-11-22T04:13:30.671416183Z\","
    "  \"FinishedAt\": \"2026-11-22T04:13:31.363121852Z\","
    "  \"CheckpointedAt\": \"0001-01-01T00:00:00Z\"},"
    " \"RestartCount\": 2}";

static const char *inspect_created =
    "{\"State\": {\"Status\": \"created\", \"Running\": false, \"Pid\": 0, \"ExitCode\": 0,"
    "  \"StartedAt\": \"0001-01-01T00:00:00Z\", \"FinishedAt\": \"0001-01-01T00:00:00Z\"}}";

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);

    if (!doc)
        fail_msg("test JSON does not parse: %s", jerr.text);
    return doc;
}

static void test_state_exited(void **state)
{
    json_t *doc = parse(inspect_exited);
    struct ks_podman_ctr_state st;

    assert_int_equal(ks_podman_ctr_state_parse(&st, doc), 0);
    assert_string_equal(st.status, "exited");
    assert_false(st.running);
    assert_false(st.oom_killed);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.restart_count, 2);
    assert_true(st.started_ns == 1795320810671416183LL);
    assert_true(st.finished_ns == 1795320811363121852LL);
    json_decref(doc);
}

static void test_state_created(void **state)
{
    json_t *doc = parse(inspect_created);
    struct ks_podman_ctr_state st;

    assert_int_equal(ks_podman_ctr_state_parse(&st, doc), 0);
    assert_string_equal(st.status, "created");
    assert_int_equal(st.started_ns, 0);
    assert_int_equal(st.finished_ns, 0);
    assert_int_equal(st.restart_count, 0);
    json_decref(doc);
}

static void state_fails(const char *text, const char *msg)
{
    json_t *doc = parse(text);
    struct ks_podman_ctr_state st = {.exit_code = 42};

    assert_int_equal(ks_podman_ctr_state_parse(&st, doc), KS_EINVALID);
    if (!strstr(ks_error_last(), msg))
        fail_msg("message '%s' lacks '%s'", ks_error_last(), msg);
    assert_int_equal(st.exit_code, 42); /* untouched on error */
    json_decref(doc);
}

static void test_state_malformed(void **state)
{
    state_fails("{}", "no State.Status");
    state_fails("{\"State\": {\"Status\": \"running\"}}", "State.Running is not a boolean");
    state_fails("{\"State\": {\"Status\": \"running\", \"Running\": true, \"ExitCode\": \"0\"}}",
                "State.ExitCode is not an integer");
    state_fails("{\"State\": {\"Status\": \"running\", \"Running\": true, \"ExitCode\": 0,"
                " \"Pid\": 9, \"StartedAt\": \"yesterday\", \"FinishedAt\": \"\"}}",
                "State.StartedAt");
    state_fails("{\"State\": {\"Status\": \"running\", \"Running\": true, \"ExitCode\": 0,"
                " \"Pid\": 99999999999, \"StartedAt\": \"\", \"FinishedAt\": \"\"}}",
                "State.Pid is out of range");
    state_fails("{\"State\": {\"Status\": \"a-status-name-that-is-far-too-long-to-keep\","
                " \"Running\": true}}",
                "over the 31-byte limit");
}

static void test_time_parse(void **state)
{
    int64_t t = -1;

    assert_int_equal(ks_podman_time_parse(&t, "1970-01-01T00:00:00Z"), 0);
    assert_true(t == 0);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T04:12:48.911907363Z"), 0);
    assert_true(t == 1795320768911907363LL);
    /* Fewer fraction digits, and an offset (same instant). */
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T05:12:48.5+01:00"), 0);
    assert_true(t == 1795320768500000000LL);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T03:42:48-00:30"), 0);
    assert_true(t == 1795320768000000000LL);
    /* More than nanoseconds: extra digits are dropped. */
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T04:12:48.1234567891Z"), 0);
    assert_true(t == 1795320768123456789LL);
    /* Go's zero time means "never". */
    assert_int_equal(ks_podman_time_parse(&t, "0001-01-01T00:00:00Z"), 0);
    assert_true(t == 0);

    t = 7;
    assert_int_equal(ks_podman_time_parse(&t, ""), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22 04:12:48"), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, "2026-13-22T04:12:48Z"), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T04:12:48.Z"), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T04:12:48Zjunk"), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, "2026-11-22T04:12:48+0100"), KS_EINVALID);
    assert_int_equal(ks_podman_time_parse(&t, NULL), KS_EINVALID);
    assert_true(t == 7);
    assert_non_null(strstr(ks_error_last(), "not an RFC 3339 time"));
}

static void test_event_parse(void **state)
{
    json_t *doc = parse(
        "{\"status\": \"died\", \"id\": \"939f\", \"from\": \"localhost/keelson-busybox:latest\","
        " \"Type\": \"container\", \"Action\": \"died\", \"Actor\": {\"ID\": \"939f\","
        " \"Attributes\": {\"a\": \"b\", \"containerExitCode\": \"137\", \"name\": \"c1\","
        " \"podId\": \"\"}}, \"scope\": \"local\", \"time\": 1795320950,"
        " \"timeNano\": 1795320950146843553}");
    struct ks_podman_event e;

    assert_int_equal(ks_podman_event_parse(&e, doc), 0);
    assert_string_equal(e.type, "container");
    assert_string_equal(e.action, "died");
    assert_string_equal(e.id, "939f");
    assert_string_equal(e.name, "c1");
    assert_int_equal(e.exit_code, 137);
    assert_true(e.time_ns == 1795320950146843553LL);
    assert_ptr_equal(e.raw, doc);
    json_decref(doc);

    /* A pod event: no exit code, no name. */
    doc = parse("{\"Type\": \"pod\", \"Action\": \"create\", \"Actor\": {\"ID\": \"p1\"}}");
    assert_int_equal(ks_podman_event_parse(&e, doc), 0);
    assert_string_equal(e.name, "");
    assert_int_equal(e.exit_code, -1);
    assert_int_equal(e.time_ns, 0);
    json_decref(doc);

    /* A malformed exit code reads as unknown. */
    doc = parse("{\"Type\": \"container\", \"Action\": \"died\", \"Actor\": {\"ID\": \"x\","
                " \"Attributes\": {\"containerExitCode\": \"12x\"}}}");
    assert_int_equal(ks_podman_event_parse(&e, doc), 0);
    assert_int_equal(e.exit_code, -1);
    json_decref(doc);

    doc = parse("{\"Type\": \"container\", \"Actor\": {\"ID\": \"x\"}}");
    assert_int_equal(ks_podman_event_parse(&e, doc), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "without Type or Action"));
    json_decref(doc);
}

static void test_demux(void **state)
{
    struct ks_buf out;
    /* stdout "hello\n", stderr "err\n", stdout "" */
    static const char framed[] = "\1\0\0\0\0\0\0\6hello\n"
                                 "\2\0\0\0\0\0\0\4err\n"
                                 "\1\0\0\0\0\0\0\0";

    ks_buf_init(&out, 0);
    assert_int_equal(ks_podman_demux(&out, framed, sizeof(framed) - 1), 0);
    assert_string_equal(ks_buf_data(&out), "hello\nerr\n");

    /* A frame cut short keeps what arrived. */
    ks_buf_reset(&out);
    assert_int_equal(ks_podman_demux(&out, framed, 8 + 3), 0);
    assert_string_equal(ks_buf_data(&out), "hel");

    /* Raw text (TTY) passes through. */
    ks_buf_reset(&out);
    assert_int_equal(ks_podman_demux(&out, "plain text\n", 11), 0);
    assert_string_equal(ks_buf_data(&out), "plain text\n");
    ks_buf_release(&out);

    /* The cap applies to the decoded text. */
    ks_buf_init(&out, 4);
    assert_int_equal(ks_podman_demux(&out, framed, sizeof(framed) - 1), KS_ELIMIT);
    ks_buf_release(&out);
}

static void test_path_escaping(void **state)
{
    struct ks_buf b;
    char longname[300];

    ks_buf_init(&b, KS_PODMAN_MAX_PATH);
    assert_int_equal(ks_podman_path(&b, "/containers/%s/json", "web-1_a.b~c"), 0);
    assert_string_equal(ks_buf_data(&b), "/containers/web-1_a.b~c/json");
    ks_buf_reset(&b);
    assert_int_equal(ks_podman_path(&b, "/containers/%s/json", "../pods/json?x=1&y"), 0);
    assert_string_equal(ks_buf_data(&b), "/containers/..%2Fpods%2Fjson%3Fx%3D1%26y/json");
    ks_buf_reset(&b);
    assert_int_equal(ks_podman_path(&b, "/images/%s/exists", "localhost/img:1 x"), 0);
    assert_string_equal(ks_buf_data(&b), "/images/localhost%2Fimg%3A1%20x/exists");

    ks_buf_reset(&b);
    assert_int_equal(ks_podman_path(&b, "/pods/%s/start", ""), KS_EINVALID);
    ks_buf_reset(&b);
    assert_int_equal(ks_podman_path(&b, "/pods/%s/start", NULL), KS_EINVALID);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ks_buf_reset(&b);
    assert_int_equal(ks_podman_path(&b, "/pods/%s/start", longname), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "255-byte limit"));
    ks_buf_release(&b);
}

static void test_label_filter(void **state)
{
    struct ks_buf b;
    const char *labels[] = {"io.keelson.node=n1", "app", NULL};
    const char *none[] = {NULL};

    ks_buf_init(&b, KS_PODMAN_MAX_PATH);
    assert_int_equal(ks_podman_label_filter(&b, labels), 0);
    /* {"label":["io.keelson.node=n1","app"]} */
    assert_string_equal(ks_buf_data(&b),
                        "filters=%7B%22label%22%3A%5B%22io.keelson.node%3Dn1%22%2C%22app%22%5D%7D");
    ks_buf_reset(&b);
    assert_int_equal(ks_podman_label_filter(&b, none), 0);
    assert_int_equal(ks_podman_label_filter(&b, NULL), 0);
    assert_string_equal(ks_buf_data(&b), "");
    ks_buf_release(&b);
}

static void test_client_args(void **state)
{
    struct ks_podman *pm = NULL;
    char path[200];

    assert_int_equal(ks_podman_new(&pm, "", NULL), KS_EINVALID);
    assert_null(pm);
    memset(path, 'x', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(ks_podman_new(&pm, path, NULL), KS_ELIMIT);
    assert_null(pm);
    assert_int_equal(ks_podman_new(&pm, "/nonexistent/keelson-test.sock", NULL), 0);
    assert_string_equal(ks_podman_socket(pm), "/nonexistent/keelson-test.sock");
    /* No service: a clear, immediate I/O error naming the socket. */
    assert_int_equal(ks_podman_ping(pm), KS_EIO);
    assert_string_equal(ks_error_last(),
                        "podman at /nonexistent/keelson-test.sock: No such file or directory");
    ks_podman_free(pm);
    ks_podman_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_exited),    cmocka_unit_test(test_state_created),
        cmocka_unit_test(test_state_malformed), cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_event_parse),     cmocka_unit_test(test_demux),
        cmocka_unit_test(test_path_escaping),   cmocka_unit_test(test_label_filter),
        cmocka_unit_test(test_client_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
