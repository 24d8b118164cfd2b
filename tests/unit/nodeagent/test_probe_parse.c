/*
 * test_probe_parse.c: probe objects into specs (Kubernetes defaults, named
 * ports, every refusal naming its field) and the tracker's arithmetic
 * (initial delay, period, success and failure thresholds).
 */
#include "core/error.h"
#include "nodeagent/probe/probe.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);

    if (!doc)
        fail_msg("test JSON does not parse: %s", jerr.text);
    return doc;
}

static const char *container_json =
    "{\"name\": \"web\", \"ports\": [{\"name\": \"metrics\", \"containerPort\": 9100},"
    " {\"name\": \"http\", \"containerPort\": 8080}]}";

static int parse_probe(struct ks_probe_spec *out, const char *probe_text)
{
    json_t *probe = parse(probe_text), *ctr = parse(container_json);
    int rc = ks_probe_spec_parse(out, probe, ctr);

    json_decref(probe);
    json_decref(ctr);
    return rc;
}

static void defaults_http(void **state)
{
    struct ks_probe_spec s;

    (void)state;
    assert_int_equal(parse_probe(&s, "{\"httpGet\": {\"port\": 80}}"), 0);
    assert_int_equal(s.kind, KS_PROBE_HTTP);
    assert_string_equal(s.path, "/");
    assert_string_equal(s.scheme, "HTTP");
    assert_null(s.host);
    assert_null(s.http_headers);
    assert_int_equal(s.port, 80);
    assert_int_equal(s.initial_delay_s, 0);
    assert_int_equal(s.period_s, 10);
    assert_int_equal(s.timeout_s, 1);
    assert_int_equal(s.success_threshold, 1);
    assert_int_equal(s.failure_threshold, 3);
    ks_probe_spec_release(&s);
}

static void full_http(void **state)
{
    struct ks_probe_spec s;

    (void)state;
    assert_int_equal(
        parse_probe(&s, "{\"httpGet\": {\"port\": \"http\", \"path\": \"healthz?x=1\","
                        " \"scheme\": \"HTTPS\", \"host\": \"10.0.0.9\", \"httpHeaders\":"
                        " [{\"name\": \"X-A\", \"value\": \"b\"}]},"
                        " \"initialDelaySeconds\": 5, \"periodSeconds\": 2, \"timeoutSeconds\": 3,"
                        " \"successThreshold\": 2, \"failureThreshold\": 7}"),
        0);
    assert_int_equal(s.port, 8080);
    assert_string_equal(s.path, "/healthz?x=1");
    assert_string_equal(s.scheme, "HTTPS");
    assert_string_equal(s.host, "10.0.0.9");
    assert_int_equal(json_array_size(s.http_headers), 1);
    assert_int_equal(s.initial_delay_s, 5);
    assert_int_equal(s.period_s, 2);
    assert_int_equal(s.timeout_s, 3);
    assert_int_equal(s.success_threshold, 2);
    assert_int_equal(s.failure_threshold, 7);
    ks_probe_spec_release(&s);
}

static void tcp_and_exec(void **state)
{
    struct ks_probe_spec s;

    (void)state;
    assert_int_equal(parse_probe(&s, "{\"tcpSocket\": {\"port\": \"metrics\"}}"), 0);
    assert_int_equal(s.kind, KS_PROBE_TCP);
    assert_int_equal(s.port, 9100);
    ks_probe_spec_release(&s);

    /* A number written as a string is a port too (the kubelet's last resort). */
    assert_int_equal(parse_probe(&s, "{\"tcpSocket\": {\"port\": \"7000\"}}"), 0);
    assert_int_equal(s.port, 7000);
    ks_probe_spec_release(&s);

    assert_int_equal(parse_probe(&s, "{\"exec\": {\"command\": [\"cat\", \"/tmp/ok\"]}}"), 0);
    assert_int_equal(s.kind, KS_PROBE_EXEC);
    assert_string_equal(s.argv[0], "cat");
    assert_string_equal(s.argv[1], "/tmp/ok");
    assert_null(s.argv[2]);
    ks_probe_spec_release(&s);
}

static void expect_error(const char *probe, int code, const char *needle)
{
    struct ks_probe_spec s = {.port = -42};

    assert_int_equal(parse_probe(&s, probe), code);
    if (!strstr(ks_error_last(), needle))
        fail_msg("error \"%s\" does not contain \"%s\"", ks_error_last(), needle);
    assert_int_equal(s.port, -42); /* out untouched on failure */
}

static void errors_name_the_field(void **state)
{
    (void)state;
    expect_error("{}", KS_EINVALID, "must specify a handler");
    expect_error("{\"exec\": {\"command\": [\"a\"]}, \"tcpSocket\": {\"port\": 1}}", KS_EINVALID,
                 "more than 1 handler");
    expect_error("{\"grpc\": {\"port\": 1}}", KS_EINVALID, "grpc");
    expect_error("{\"tcpSocket\": {\"port\": \"nope\"}}", KS_EINVALID,
                 "tcpSocket.port: no container port named \"nope\"");
    expect_error("{\"tcpSocket\": {}}", KS_EINVALID, "tcpSocket.port: missing");
    expect_error("{\"tcpSocket\": {\"port\": 70000}}", KS_EINVALID, "tcpSocket.port: must be");
    expect_error("{\"httpGet\": {\"port\": 1, \"scheme\": \"FTP\"}}", KS_EINVALID,
                 "httpGet.scheme");
    expect_error("{\"httpGet\": {\"port\": 1, \"httpHeaders\": [{\"name\": \"A\"}]}}", KS_EINVALID,
                 "httpGet.httpHeaders[0]");
    expect_error("{\"httpGet\": {\"port\": 1, \"httpHeaders\": [{\"name\": \"A:b\", \"value\": "
                 "\"c\"}]}}",
                 KS_EINVALID, "not a valid HTTP header");
    expect_error("{\"exec\": {\"command\": []}}", KS_EINVALID, "exec.command: must not be empty");
    expect_error("{\"exec\": {\"command\": [1]}}", KS_EINVALID, "exec.command[0]");
    expect_error("{\"exec\": {}}", KS_EINVALID, "command: missing");
    expect_error("{\"exec\": {\"command\": [\"a\"]}, \"periodSeconds\": 0}", KS_EINVALID,
                 "periodSeconds");
    expect_error("{\"exec\": {\"command\": [\"a\"]}, \"timeoutSeconds\": \"1\"}", KS_EINVALID,
                 "timeoutSeconds");
    expect_error("{\"exec\": {\"command\": [\"a\"]}, \"initialDelaySeconds\": -1}", KS_EINVALID,
                 "initialDelaySeconds");
    expect_error("[]", KS_EINVALID, "expected an object");
}

static void limits(void **state)
{
    json_t *probe = json_pack("{s:{s:[]}}", "exec", "command"), *cmd;
    struct ks_probe_spec s;
    char big[KS_PROBE_MAX_TEXT + 2];
    int i;

    (void)state;
    cmd = json_object_get(json_object_get(probe, "exec"), "command");
    for (i = 0; i < KS_PROBE_MAX_ARGV + 1; i++)
        json_array_append_new(cmd, json_string("x"));
    assert_int_equal(ks_probe_spec_parse(&s, probe, NULL), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "KS_PROBE_MAX_ARGV"));
    json_decref(probe);

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    probe = json_pack("{s:{s:i,s:s}}", "httpGet", "port", 80, "path", big);
    assert_int_equal(ks_probe_spec_parse(&s, probe, NULL), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "httpGet.path"));
    json_decref(probe);
}

static void tracker_thresholds(void **state)
{
    struct ks_probe_spec s = {.kind = KS_PROBE_TCP,
                              .initial_delay_s = 5,
                              .period_s = 2,
                              .timeout_s = 1,
                              .success_threshold = 2,
                              .failure_threshold = 3};
    struct ks_probe_tracker t;

    (void)state;
    ks_probe_tracker_init(&t, &s, 1000);
    assert_int_equal(t.result, -1);
    assert_false(ks_probe_tracker_due(&t, 5999));
    assert_true(ks_probe_tracker_due(&t, 6000));

    /* One success is not enough with successThreshold 2. */
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 6000));
    assert_int_equal(t.result, -1);
    assert_false(ks_probe_tracker_due(&t, 7999));
    assert_true(ks_probe_tracker_due(&t, 8000));
    assert_true(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 8000));
    assert_int_equal(t.result, 1);
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 10000));

    /* Two failures, a success in between resets the count. */
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 12000));
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 14000));
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 16000));
    assert_int_equal(t.result, 1);
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 18000));
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 20000));
    assert_true(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 22000));
    assert_int_equal(t.result, 0);
    assert_int_equal(t.consecutive_fail, 3);
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 24000));
    assert_int_equal(t.next_due_ms, 26000);

    /* Recovering needs successThreshold successes again. */
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 26000));
    assert_true(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 28000));
    assert_int_equal(t.result, 1);
}

static void tracker_defaults_first_failure_needs_three(void **state)
{
    struct ks_probe_spec s = {.kind = KS_PROBE_TCP,
                              .period_s = 10,
                              .timeout_s = 1,
                              .success_threshold = 1,
                              .failure_threshold = 3};
    struct ks_probe_tracker t;

    (void)state;
    ks_probe_tracker_init(&t, &s, 0);
    assert_true(ks_probe_tracker_due(&t, 0));
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 0));
    assert_false(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 10000));
    assert_true(ks_probe_tracker_record(&t, KS_PROBE_FAILURE, 20000));
    assert_int_equal(t.result, 0);
    assert_true(ks_probe_tracker_record(&t, KS_PROBE_SUCCESS, 30000));
    assert_int_equal(t.result, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_http),
        cmocka_unit_test(full_http),
        cmocka_unit_test(tcp_and_exec),
        cmocka_unit_test(errors_name_the_field),
        cmocka_unit_test(limits),
        cmocka_unit_test(tracker_thresholds),
        cmocka_unit_test(tracker_defaults_first_failure_needs_three),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
