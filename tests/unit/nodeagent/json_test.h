/*
 * json_test.h: J(), a JSON document from a literal for the node agent's unit
 * tests; bad test JSON fails the test with jansson's reason.
 */
#ifndef KS_TEST_NODEAGENT_JSON_TEST_H
#define KS_TEST_NODEAGENT_JSON_TEST_H

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static inline json_t *J(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        fail_msg("bad test JSON: %s: %s", err.text, text);
    return v;
}

#endif
