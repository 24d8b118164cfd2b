/*
 * test_yamledit.c: minimal in-place edits of manifests (yamledit.h), the
 * file change a --drift-pr branch carries: one value replaced or one line
 * inserted, comments and layout of the rest kept byte for byte, the right
 * document of a multi-document file, refusals where the text cannot be
 * edited in place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "reconciler/writeback/yamledit.h"

static const char *const DEPLOY = "# the web tier\n"
                                  "apiVersion: apps/v1\n"
                                  "kind: Deployment\n"
                                  "metadata:\n"
                                  "  name: web   # keep this comment\n"
                                  "spec:\n"
                                  "  replicas: 2\n"
                                  "  template:\n"
                                  "    spec:\n"
                                  "      containers:\n"
                                  "      - name: side\n"
                                  "        image: busybox:1\n"
                                  "      - name: web\n"
                                  "        image: \"localhost/keelson-busybox:latest\"  # pinned\n"
                                  "        command:\n"
                                  "        - sh\n"
                                  "        - -c\n"
                                  "        - httpd -f   # serve\n"
                                  "        env:\n"
                                  "          - name: A\n"
                                  "            value: \"1\"\n"
                                  "      # trailing comment\n"
                                  "---\n"
                                  "apiVersion: v1\n"
                                  "kind: Service\n"
                                  "metadata:\n"
                                  "  name: web\n";

static json_t *path_of(const char *container, const char *field)
{
    return json_pack("[s, s, s, s, {s:s}, s]", "spec", "template", "spec", "containers", "name",
                     container, field);
}

static char *edit(const char *text, int line, json_t *path, json_t *value, int *changed, int *rc)
{
    char *out = NULL;
    size_t len = 0;
    *rc = ks_yamledit_set(&out, &len, changed, text, strlen(text), line, path, value);
    json_decref(path);
    json_decref(value);
    if (*rc == 0)
        assert_int_equal(strlen(out), len);
    return out;
}

static void replaces_a_scalar_keeping_the_rest(void **state)
{
    (void)state;
    int changed = -1, rc;
    char *out = edit(DEPLOY, 2, path_of("web", "image"), json_string("busybox:2"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(changed, 1);
    /* quoted before, quoted after; the comment on the line stays */
    assert_non_null(strstr(out, "        image: \"busybox:2\"  # pinned\n"));
    assert_non_null(strstr(out, "        image: busybox:1\n")); /* the other container */
    assert_non_null(strstr(out, "  name: web   # keep this comment\n"));
    assert_non_null(strstr(out, "      # trailing comment\n---\n"));
    /* exactly one line differs */
    assert_int_equal(strlen(out), strlen(DEPLOY) - strlen("localhost/keelson-busybox:latest") +
                                      strlen("busybox:2"));
    free(out);
}

static void plain_scalar_stays_plain_unless_it_would_change_type(void **state)
{
    (void)state;
    int changed, rc;
    char *out = edit(DEPLOY, 2, path_of("side", "image"), json_string("busybox:3"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "        image: busybox:3\n"));
    free(out);
    out = edit(DEPLOY, 2, path_of("side", "image"), json_string("true"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "        image: \"true\"\n"));
    free(out);
}

static void replaces_a_block_sequence_with_a_flow_one(void **state)
{
    (void)state;
    int changed, rc;
    char *out = edit(DEPLOY, 2, path_of("web", "command"),
                     json_pack("[s, s, s]", "sh", "-c", "sleep 1000"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "        command: [\"sh\", \"-c\", \"sleep 1000\"]   # serve\n"
                                "        env:\n"));
    free(out);
    out = edit(DEPLOY, 2, path_of("web", "env"),
               json_pack("[{s:s, s:s}]", "name", "A", "value", "2"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(
        out, "        env: [{\"name\": \"A\", \"value\": \"2\"}]\n      # trailing comment\n"));
    free(out);
}

static void inserts_a_missing_key_after_the_first_entry(void **state)
{
    (void)state;
    int changed, rc;
    char *out = edit(DEPLOY, 2, path_of("side", "args"), json_pack("[s]", "-v"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(changed, 1);
    assert_non_null(strstr(out, "      - name: side\n"
                                "        args: [\"-v\"]\n"
                                "        image: busybox:1\n"));
    free(out);
}

static void same_value_is_no_change(void **state)
{
    (void)state;
    int changed = -1, rc;
    char *out = edit(DEPLOY, 2, path_of("side", "image"), json_string("busybox:1"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(changed, 0);
    assert_string_equal(out, DEPLOY);
    free(out);
}

static void picks_the_document_by_line(void **state)
{
    (void)state;
    int changed, rc;
    /* the Service's document starts on line 24 */
    char *out = edit(DEPLOY, 24, json_pack("[s, s]", "metadata", "name"), json_string("front"),
                     &changed, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "kind: Service\nmetadata:\n  name: front\n"));
    assert_non_null(strstr(out, "  name: web   # keep this comment\n"));
    free(out);
    out = edit(DEPLOY, 2, json_pack("[s, s]", "metadata", "name"), json_string("front"), &changed,
               &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "  name: front   # keep this comment\n"));
    assert_non_null(strstr(out, "kind: Service\nmetadata:\n  name: web\n"));
    free(out);
}

static void refuses_what_it_cannot_edit(void **state)
{
    (void)state;
    int changed, rc;
    char *out = edit(DEPLOY, 2, path_of("nope", "image"), json_string("x"), &changed, &rc);
    assert_int_equal(rc, KS_ENOTFOUND);
    assert_null(out);
    const char *aliased = "a: &x\n  image: one\nb: *x\n";
    out = edit(aliased, 1, json_pack("[s, s]", "b", "image"), json_string("two"), &changed, &rc);
    assert_int_equal(rc, KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "alias"));
    const char *flow = "c: {name: web, image: one}\n";
    out = edit(flow, 1, json_pack("[s, s]", "c", "args"), json_pack("[s]", "x"), &changed, &rc);
    assert_int_equal(rc, KS_EINVALID);
    out = edit(flow, 1, json_pack("[s, s]", "c", "image"), json_string("two"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "c: {name: web, image: two}\n");
    free(out);
    out = edit("a: [\n", 1, json_pack("[s]", "a"), json_string("x"), &changed, &rc);
    assert_int_equal(rc, KS_EINVALID);
}

static void block_scalar_and_empty_value(void **state)
{
    (void)state;
    int changed, rc;
    const char *text = "a: |\n  line one\n  line two\nb:\nc: 3\n";
    char *out = edit(text, 1, json_pack("[s]", "a"), json_string("x"), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "a: x\nb:\nc: 3\n");
    free(out);
    out = edit(text, 1, json_pack("[s]", "b"), json_pack("[i]", 1), &changed, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "a: |\n  line one\n  line two\nb: [1]\nc: 3\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replaces_a_scalar_keeping_the_rest),
        cmocka_unit_test(plain_scalar_stays_plain_unless_it_would_change_type),
        cmocka_unit_test(replaces_a_block_sequence_with_a_flow_one),
        cmocka_unit_test(inserts_a_missing_key_after_the_first_entry),
        cmocka_unit_test(same_value_is_no_change),
        cmocka_unit_test(picks_the_document_by_line),
        cmocka_unit_test(refuses_what_it_cannot_edit),
        cmocka_unit_test(block_scalar_and_empty_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
