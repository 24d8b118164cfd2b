/*
 * test_agent_pullsecrets.c: nodeagent/agent/pullsecrets.c, the registry
 * credential for an image from imagePullSecrets: the kubelet's key
 * matching (host with port, path prefixes, '*' globs, Docker Hub aliases,
 * scheme and /v1/ dropped, most specific key first), "auth" versus
 * username/password versus identitytoken, both Secret types, and the
 * X-Registry-Auth value Podman decodes (base64url JSON).
 */
#include "core/base64.h"
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

static char *b64(const char *s)
{
    char *out = NULL;
    assert_int_equal(ks_base64_encode(&out, s, strlen(s), false, true), 0);
    return out;
}

/* The user name picked for image from configs (JSON text), "" for none. */
static char *pick(const char *image, const char *configs)
{
    json_t *c = J(configs), *cred = NULL;
    assert_int_equal(ks_agent_pull_cred(&cred, image, c), 0);
    const char *u = json_string_value(json_object_get(cred, "username"));
    const char *t = json_string_value(json_object_get(cred, "identitytoken"));
    char *r = strdup(u ? u : t ? t : "");
    json_decref(cred);
    json_decref(c);
    return r;
}

#define ASSERT_PICK(image, configs, want)                                                          \
    do {                                                                                           \
        char *got_ = pick(image, configs);                                                         \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void test_matching(void **state)
{
    (void)state;
    const char *cfg =
        "[{\"127.0.0.1:5000\": {\"username\": \"host\", \"password\": \"p\"},"
        " \"127.0.0.1:5000/team\": {\"username\": \"team\", \"password\": \"p\"},"
        " \"127.0.0.1:5000/team/app\": {\"username\": \"app\", \"password\": \"p\"},"
        " \"https://index.docker.io/v1/\": {\"username\": \"hub\", \"password\": \"p\"},"
        " \"*.example.com\": {\"username\": \"glob\", \"password\": \"p\"},"
        " \"quay.io:443\": {\"username\": \"port\", \"password\": \"p\"}}]";
    ASSERT_PICK("127.0.0.1:5000/other/x:1", cfg, "host");
    ASSERT_PICK("127.0.0.1:5000/team/busybox:1", cfg, "team");
    ASSERT_PICK("127.0.0.1:5000/team/app@sha256:0123", cfg, "app");
    ASSERT_PICK("127.0.0.1:5001/team/busybox:1", cfg, ""); /* another port */
    ASSERT_PICK("127.0.0.1/team/busybox:1", cfg, "");      /* no port */
    ASSERT_PICK("busybox", cfg, "hub");                    /* docker.io/library/busybox */
    ASSERT_PICK("docker.io/library/busybox:1", cfg, "hub");
    ASSERT_PICK("index.docker.io/me/app", cfg, "hub");
    ASSERT_PICK("registry.example.com/a/b", cfg, "glob");
    ASSERT_PICK("a.b.example.com/a/b", cfg, ""); /* '*' is one label */
    ASSERT_PICK("example.com/a/b", cfg, "");
    ASSERT_PICK("quay.io/a/b", cfg, "");
    ASSERT_PICK("quay.io:443/a/b", cfg, "port");
    ASSERT_PICK("localhost/keelson-busybox:latest", cfg, "");
    /* docker.io keys by any alias; the first Secret wins a tie */
    ASSERT_PICK("me/app",
                "[{\"docker.io\": {\"username\": \"one\", \"password\": \"p\"}},"
                " {\"registry-1.docker.io\": {\"username\": \"two\", \"password\": \"p\"}}]",
                "one");
    /* a later Secret with a more specific key wins */
    ASSERT_PICK("r.io/team/app",
                "[{\"r.io\": {\"username\": \"one\", \"password\": \"p\"}},"
                " {\"http://r.io/team/\": {\"username\": \"two\", \"password\": \"p\"}}]",
                "two");
    /* the kubelet's path match is a plain prefix */
    ASSERT_PICK("r.io/teamx/app", "[{\"r.io/team\": {\"username\": \"pre\", \"password\": \"p\"}}]",
                "pre");
    ASSERT_PICK("r.io/app", "[]", "");
    json_t *cred = NULL, *none = J("[]");
    assert_int_equal(ks_agent_pull_cred(&cred, "", none), KS_EINVALID);
    json_decref(none);
}

static void test_entries(void **state)
{
    (void)state;
    char *a = b64("alice:pa:ss"), *text = NULL;
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "[{\"r.io\": {\"auth\": \"%s\", \"username\": \"ignored\"},"
             " \"t.io\": {\"identitytoken\": \"tok\"}, \"e.io\": {\"email\": \"x@y\"}}]",
             a);
    json_t *c = J(cfg), *cred = NULL;
    assert_int_equal(ks_agent_pull_cred(&cred, "r.io/x", c), 0);
    text = json_dumps(cred, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"password\":\"pa:ss\",\"username\":\"alice\"}");
    free(text);
    /* the header: base64url of the JSON, as libpod decodes it */
    char *hdr = NULL, *dec = NULL;
    size_t n = 0;
    assert_int_equal(ks_agent_pull_auth_header(&hdr, cred), 0);
    assert_null(strpbrk(hdr, "+/"));
    assert_int_equal(ks_base64_decode(&dec, &n, hdr, strlen(hdr), true), 0);
    assert_string_equal(dec, "{\"username\":\"alice\",\"password\":\"pa:ss\"}");
    free(dec);
    free(hdr);
    json_decref(cred);
    assert_int_equal(ks_agent_pull_cred(&cred, "t.io/x", c), 0);
    assert_string_equal(json_string_value(json_object_get(cred, "identitytoken")), "tok");
    json_decref(cred);
    assert_int_equal(ks_agent_pull_cred(&cred, "e.io/x", c), 0);
    assert_null(cred); /* no credential in the entry */
    json_decref(c);
    free(a);
}

static void test_secret_types(void **state)
{
    (void)state;
    char *inner = b64("{\"auths\": {\"r.io\": {\"username\": \"u\", \"password\": \"p\"}}}");
    char *old = b64("{\"r.io\": {\"username\": \"v\", \"password\": \"p\"}}");
    char text[512];
    json_t *auths = NULL;
    snprintf(text, sizeof(text),
             "{\"type\": \"kubernetes.io/dockerconfigjson\", \"data\": {\".dockerconfigjson\": "
             "\"%s\"}}",
             inner);
    json_t *s = J(text);
    assert_int_equal(ks_agent_pull_config(&auths, s, "regcred"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(auths, "r.io"), "username")), "u");
    json_decref(auths);
    json_decref(s);
    snprintf(text, sizeof(text),
             "{\"type\": \"kubernetes.io/dockercfg\", \"data\": {\".dockercfg\": \"%s\"}}", old);
    s = J(text);
    assert_int_equal(ks_agent_pull_config(&auths, s, "old"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(auths, "r.io"), "username")), "v");
    json_decref(auths);
    json_decref(s);
    /* stringData (a Secret as written in a manifest) */
    s = J("{\"type\": \"kubernetes.io/dockerconfigjson\", \"stringData\": {\".dockerconfigjson\":"
          " \"{\\\"auths\\\": {}}\"}}");
    assert_int_equal(ks_agent_pull_config(&auths, s, "plain"), 0);
    assert_int_equal(json_object_size(auths), 0);
    json_decref(auths);
    json_decref(s);
    /* refusals name the secret */
    s = J("{\"type\": \"Opaque\", \"data\": {}}");
    assert_int_equal(ks_agent_pull_config(&auths, s, "opaque"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "secret \"opaque\" is of type Opaque"));
    json_decref(s);
    s = J("{\"type\": \"kubernetes.io/dockerconfigjson\", \"data\": {}}");
    assert_int_equal(ks_agent_pull_config(&auths, s, "empty"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "has no .dockerconfigjson"));
    json_decref(s);
    s = J("{\"type\": \"kubernetes.io/dockerconfigjson\", \"data\": {\".dockerconfigjson\": "
          "\"e30=\"}}");
    assert_int_equal(ks_agent_pull_config(&auths, s, "noauths"), KS_EINVALID); /* {} */
    json_decref(s);
    free(inner);
    free(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_secret_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
