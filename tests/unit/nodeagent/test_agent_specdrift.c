/*
 * test_agent_specdrift.c: nodeagent/agent/specdrift.c, the comparison of a
 * container's config as Podman reports it with its Kubernetes spec: image
 * names as Podman normalises them, command/args with unset meaning the
 * image's default, env with what Podman and the image add, Secret values
 * never copied into found, and the found/desired shape driftpr.c edits
 * manifests with.
 */
#include "core/error.h"
#include "nodeagent/agent/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_test.h"

static void test_image_same(void **state)
{
    (void)state;
    assert_true(ks_agent_image_same("busybox", "docker.io/library/busybox:latest"));
    assert_true(ks_agent_image_same("busybox:1.36", "docker.io/library/busybox:1.36"));
    assert_true(ks_agent_image_same("docker.io/busybox", "docker.io/library/busybox:latest"));
    assert_true(
        ks_agent_image_same("index.docker.io/library/busybox", "docker.io/library/busybox:latest"));
    assert_true(ks_agent_image_same("keelson-busybox", "localhost/keelson-busybox:latest"));
    assert_true(ks_agent_image_same("localhost/keelson-busybox:latest",
                                    "localhost/keelson-busybox:latest"));
    assert_true(
        ks_agent_image_same("localhost/keelson-busybox", "localhost/keelson-busybox:latest"));
    assert_true(ks_agent_image_same("registry:5000/a/b", "registry:5000/a/b:latest"));
    assert_true(ks_agent_image_same("quay.io/x/y@sha256:abc", "quay.io/x/y@sha256:abc"));
    assert_false(
        ks_agent_image_same("localhost/keelson-busybox:latest", "localhost/keelson-busybox:v2"));
    assert_false(ks_agent_image_same("busybox", "docker.io/library/alpine:latest"));
    assert_false(ks_agent_image_same("quay.io/busybox", "docker.io/library/busybox:latest"));
    assert_false(ks_agent_image_same("registry:5000/a/b", "registry:5001/a/b:latest"));
    assert_false(ks_agent_image_same("busybox", "localhost/other/busybox:v1"));
    assert_false(ks_agent_image_same(NULL, "x"));
}

/* Runs the diff; returns its result, fills found/desired/text. */
static int diff(json_t **found, json_t **desired, char **text, const char *spec,
                const char *want_env, const char *config, const char *image_env)
{
    json_t *s = J(spec), *w = want_env ? J(want_env) : NULL, *c = J(config);
    json_t *ie = image_env ? J(image_env) : NULL;
    *found = *desired = NULL;
    *text = NULL;
    int rc = ks_agent_config_diff(found, desired, text, s, w, NULL, c, ie);
    json_decref(s);
    json_decref(w);
    json_decref(c);
    json_decref(ie);
    return rc;
}

static void assert_json(const json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal((json_t *)got, w)) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fail_msg("got %s, want %s", g ? g : "NULL", want);
    }
    json_decref(w);
}

#define PODMAN_ENV                                                                                 \
    "\"PATH\": \"/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM\": \"xterm\", \"container\": \"podman\""

static void test_same(void **state)
{
    (void)state;
    json_t *f, *d;
    char *t;
    /* command only: the whole process is the command; image env and
     * Podman's additions are no drift */
    assert_int_equal(diff(&f, &d, &t,
                          "{\"name\": \"app\", \"image\": \"localhost/keelson-busybox:latest\","
                          " \"command\": [\"sh\", \"-c\", \"sleep 1\"], \"env\": [{\"name\": "
                          "\"A\", \"value\": \"1\"}]}",
                          "{\"A\": \"1\"}",
                          "{\"image\": \"localhost/keelson-busybox:latest\", \"command\": [\"sh\", "
                          "\"-c\", \"sleep 1\"],"
                          " \"args\": [], \"env\": {\"A\": \"1\", " PODMAN_ENV ", \"IMG\": \"x\"}}",
                          "{\"PATH\": \"/bin\", \"IMG\": \"y\"}"),
                     0);
    /* a command given as Cmd (no entrypoint) is the same process */
    assert_int_equal(diff(&f, &d, &t, "{\"image\": \"busybox\", \"command\": [\"sleep\", \"9\"]}",
                          NULL,
                          "{\"image\": \"docker.io/library/busybox:latest\", \"command\": [],"
                          " \"args\": [\"sleep\", \"9\"], \"env\": {}}",
                          NULL),
                     0);
    /* nothing set: the image's defaults, whatever they are */
    assert_int_equal(
        diff(&f, &d, &t, "{\"image\": \"busybox\"}", NULL,
             "{\"image\": \"docker.io/library/busybox:latest\", \"command\": [\"/entry\"],"
             " \"args\": [\"sh\"], \"env\": {\"HOSTNAME\": \"h\"}}",
             NULL),
        0);
    /* args only: compared with Cmd; the entrypoint is the image's */
    assert_int_equal(
        diff(&f, &d, &t, "{\"image\": \"busybox\", \"args\": [\"-x\"]}", NULL,
             "{\"image\": \"docker.io/library/busybox:latest\", \"command\": [\"/entry\"],"
             " \"args\": [\"-x\"], \"env\": {}}",
             NULL),
        0);
    /* a name given twice: the last entry counts, as in Kubernetes */
    assert_int_equal(diff(&f, &d, &t,
                          "{\"image\": \"b\", \"env\": [{\"name\": \"A\", \"value\": \"1\"},"
                          " {\"name\": \"A\", \"value\": \"2\"}]}",
                          NULL, "{\"image\": \"b\", \"env\": {\"A\": \"2\"}}", NULL),
                     0);
    /* adopted (no resolved env): a Secret-backed value is not judged */
    assert_int_equal(diff(&f, &d, &t,
                          "{\"image\": \"busybox\", \"env\": [{\"name\": \"S\", \"valueFrom\":"
                          " {\"secretKeyRef\": {\"name\": \"s\", \"key\": \"k\"}}}]}",
                          NULL, "{\"image\": \"busybox\", \"env\": {\"S\": \"whatever\"}}", NULL),
                     0);
}

static void test_differs(void **state)
{
    (void)state;
    json_t *f, *d;
    char *t;
    /* replaced with another command and image */
    assert_int_equal(diff(&f, &d, &t,
                          "{\"image\": \"localhost/keelson-busybox:latest\", \"command\": [\"sh\", "
                          "\"-c\", \"a\"]}",
                          "{}",
                          "{\"image\": \"localhost/keelson-busybox:v2\", \"command\": [],"
                          " \"args\": [\"sh\", \"-c\", \"b\"], \"env\": {" PODMAN_ENV "}}",
                          "{\"PATH\": \"/bin\"}"),
                     1);
    assert_json(
        f, "{\"image\": \"localhost/keelson-busybox:v2\", \"command\": [\"sh\", \"-c\", \"b\"]}");
    assert_json(
        d,
        "{\"image\": \"localhost/keelson-busybox:latest\", \"command\": [\"sh\", \"-c\", \"a\"]}");
    assert_non_null(strstr(
        t, "image localhost/keelson-busybox:v2 instead of localhost/keelson-busybox:latest"));
    assert_non_null(strstr(t, "command [\"sh\",\"-c\",\"b\"]"));
    json_decref(f);
    json_decref(d);
    free(t);
    /* entrypoint and Cmd both set where the spec has a command: split */
    assert_int_equal(
        diff(&f, &d, &t, "{\"image\": \"b\", \"command\": [\"sleep\"], \"args\": [\"1\"]}", NULL,
             "{\"image\": \"b\", \"command\": [\"sleep\"], \"args\": [\"2\"], \"env\": {}}", NULL),
        1);
    assert_json(f, "{\"args\": [\"2\"]}");
    assert_json(d, "{\"args\": [\"1\"]}");
    json_decref(f);
    json_decref(d);
    free(t);
    /* env: a changed literal, a missing one, one added; a value from a
     * ConfigMap that differs is written as a literal, the kept one as is */
    assert_int_equal(
        diff(&f, &d, &t,
             "{\"image\": \"b\", \"env\": [{\"name\": \"A\", \"value\": \"1\"},"
             " {\"name\": \"GONE\", \"value\": \"g\"},"
             " {\"name\": \"C\", \"valueFrom\": {\"configMapKeyRef\": {\"name\": \"m\", \"key\": "
             "\"c\"}}},"
             " {\"name\": \"K\", \"valueFrom\": {\"configMapKeyRef\": {\"name\": \"m\", \"key\": "
             "\"k\"}}}]}",
             "{\"A\": \"1\", \"GONE\": \"g\", \"C\": \"from-map\", \"K\": \"kept\"}",
             "{\"image\": \"b\", \"env\": {\"A\": \"2\", \"C\": \"changed\", \"K\": \"kept\","
             " \"EXTRA\": \"x\", " PODMAN_ENV "}}",
             "{}"),
        1);
    assert_json(
        f,
        "{\"env\": [{\"name\": \"A\", \"value\": \"2\"}, {\"name\": \"C\", \"value\": \"changed\"},"
        " {\"name\": \"K\", \"valueFrom\": {\"configMapKeyRef\": {\"name\": \"m\", \"key\": "
        "\"k\"}}},"
        " {\"name\": \"EXTRA\", \"value\": \"x\"}]}");
    assert_non_null(strstr(t, "env A=2 instead of 1"));
    assert_non_null(strstr(t, "env GONE unset"));
    assert_non_null(strstr(t, "env EXTRA=x added"));
    assert_non_null(json_object_get(d, "env"));
    json_decref(f);
    json_decref(d);
    free(t);
    /* a Secret's value that differs: named, never in found */
    assert_int_equal(diff(&f, &d, &t,
                          "{\"image\": \"b\", \"env\": [{\"name\": \"S\", \"valueFrom\":"
                          " {\"secretKeyRef\": {\"name\": \"s\", \"key\": \"k\"}}}]}",
                          "{\"S\": \"hunter2\"}", "{\"image\": \"b\", \"env\": {\"S\": \"other\"}}",
                          NULL),
                     1);
    assert_null(f);
    assert_null(d);
    assert_non_null(strstr(t, "env S differs from its Secret"));
    assert_null(strstr(t, "hunter2"));
    assert_null(strstr(t, "other"));
    free(t);
}

/* adopted with envFrom: its names come from a resolution now, values are
 * not judged (the Secret may have changed since the container was made) */
static void test_adopted_env_from(void **state)
{
    (void)state;
    json_t *spec = J("{\"image\": \"b\", \"envFrom\": [{\"secretRef\": {\"name\": \"s\"}}]}");
    json_t *names = J("{\"S_A\": \"now\"}");
    json_t *same = J("{\"image\": \"b\", \"env\": {\"S_A\": \"then\"}}");
    json_t *added = J("{\"image\": \"b\", \"env\": {\"S_A\": \"then\", \"NEW\": \"1\"}}");
    json_t *f = NULL, *d = NULL;
    char *t = NULL;
    assert_int_equal(ks_agent_config_diff(&f, &d, &t, spec, NULL, names, same, NULL), 0);
    /* names unknown: nothing beyond the spec is judged */
    assert_int_equal(ks_agent_config_diff(&f, &d, &t, spec, NULL, NULL, added, NULL), 0);
    assert_int_equal(ks_agent_config_diff(&f, &d, &t, spec, NULL, names, added, NULL), 1);
    assert_json(f, "{\"env\": [{\"name\": \"NEW\", \"value\": \"1\"}]}");
    assert_json(d, "{\"env\": []}");
    assert_string_equal(t, "env NEW=1 added");
    json_decref(f);
    json_decref(d);
    free(t);
    json_decref(spec);
    json_decref(names);
    json_decref(same);
    json_decref(added);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_same),
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_differs),
        cmocka_unit_test(test_adopted_env_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
