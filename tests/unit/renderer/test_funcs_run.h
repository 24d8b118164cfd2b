/*
 * test_funcs_run.h: shared harness of the function-library tests
 * (test_funcs_*.c): runs a one-line template through the engine with the
 * six function tables and Helm's settings, against data given as JSON,
 * and checks the exact output or a substring of the error. Cases are
 * tables of {template, data, want, err}; expectations come from helm
 * 3.17 (snippets.json, or charts rendered with the real helm).
 */
#ifndef KS_TEST_FUNCS_RUN_H
#define KS_TEST_FUNCS_RUN_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/template.h"
#include "renderer/tplfunc.h"

struct fcase {
    const char *tpl;
    const char *data; /* JSON dot, or NULL */
    const char *want; /* exact output; NULL when an error is expected */
    const char *err;  /* substring of the error message */
};

static const struct ks_tpl_func_def *const funcs_tables[] = {
    ks_tpl_funcs_strings, ks_tpl_funcs_lists,    ks_tpl_funcs_dicts,
    ks_tpl_funcs_math,    ks_tpl_funcs_encoding, ks_tpl_funcs_misc,
};

/* Renders tpl with dot parsed from data; returns 0 and the output in out
 * (caller releases), or the engine's error code. */
static inline int funcs_render(struct ks_buf *out, const char *tpl, const char *data)
{
    struct ks_tpl_set *set = NULL;
    json_t *dot = NULL;
    int rc;
    ks_buf_init(out, 0);
    if (data) {
        json_error_t jerr;
        dot = json_loads(data, JSON_DECODE_ANY, &jerr);
        if (!dot)
            fail_msg("bad test JSON %s: %s", data, jerr.text);
    }
    rc = ks_tpl_set_new(&set, NULL, KS_TPL_HELM, funcs_tables, 6);
    if (rc == 0)
        rc = ks_tpl_set_add(set, "t", tpl, strlen(tpl));
    if (rc == 0)
        rc = ks_tpl_execute(out, set, "t", dot);
    ks_tpl_set_free(set);
    json_decref(dot);
    return rc;
}

static inline void funcs_run_cases(const struct fcase *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        struct ks_buf out;
        const struct fcase *c = &cases[i];
        int rc = funcs_render(&out, c->tpl, c->data);
        if (c->want) {
            if (rc != 0) {
                print_error("case %zu %s: error %s\n", i, c->tpl, ks_error_last());
                failures++;
            } else if (strcmp(ks_buf_data(&out), c->want) != 0) {
                print_error("case %zu %s:\n  want [%s]\n  got  [%s]\n", i, c->tpl, c->want,
                            ks_buf_data(&out));
                failures++;
            }
        } else if (rc == 0) {
            print_error("case %zu %s: wanted error [%s], got [%s]\n", i, c->tpl, c->err,
                        ks_buf_data(&out));
            failures++;
        } else if (!strstr(ks_error_last(), c->err)) {
            print_error("case %zu %s: error\n  want [%s]\n  got  [%s]\n", i, c->tpl, c->err,
                        ks_error_last());
            failures++;
        }
        ks_buf_release(&out);
    }
    assert_int_equal(failures, 0);
}

/* Output of a template that must succeed; caller frees. */
static inline char *funcs_output(const char *tpl, const char *data)
{
    struct ks_buf out;
    int rc = funcs_render(&out, tpl, data);
    if (rc)
        fail_msg("%s: %s", tpl, ks_error_last());
    char *s = ks_buf_detach(&out, NULL);
    assert_non_null(s);
    return s;
}

#define FUNCS_RUN(cases) funcs_run_cases(cases, sizeof(cases) / sizeof(cases[0]))

#endif
