/*
 * fuzz_template.c: libFuzzer target for the Go template engine
 * (renderer/template.h): parses the input as a template and, when it parses,
 * executes it against a fixed data tree with small limits, in plain and in
 * Helm mode, with include/tpl wired in. Any crash, sanitizer report, leak
 * or runaway (the limits must stop every loop and recursion) is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "renderer/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int f_include(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    char *s = NULL;
    if (!json_is_string(args[0]))
        return ks_tpl_call_error(call, 0, "name must be a string");
    int rc = ks_tpl_call_include(&s, call, json_string_value(args[0]), args[1]);
    if (rc)
        return rc;
    *out = json_string_nocheck(s);
    free(s);
    return *out ? 0 : -1;
}

static int f_tpl(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    char *s = NULL;
    if (!json_is_string(args[0]))
        return ks_tpl_call_error(call, 0, "text must be a string");
    int rc = ks_tpl_call_tpl(&s, call, json_string_value(args[0]), args[1]);
    if (rc)
        return rc;
    *out = json_string_nocheck(s);
    free(s);
    return *out ? 0 : -1;
}

static const struct ks_tpl_func_def fuzz_funcs[] = {
    {"include", f_include, 2, 2},
    {"tpl", f_tpl, 2, 2},
    {NULL, NULL, 0, 0},
};

static const char data_json[] =
    "{\"a\":{\"b\":[1,2.5,\"x\",null,true]},\"l\":[\"p\",\"q\"],\"m\":{\"k\":\"v\",\"n\":null},"
    "\"n\":1.5,\"i\":3,\"s\":\"hello\",\"e\":\"\",\"z\":[],\"t\":true}";

static void run(const char *text, size_t len, json_t *dot, unsigned flags)
{
    const struct ks_tpl_func_def *tables[] = {fuzz_funcs};
    struct ks_tpl_limits lim;
    ks_tpl_limits_default(&lim);
    lim.max_output = 1 << 16;
    lim.max_steps = 20000;
    lim.max_depth = 40;
    lim.max_include_depth = 20;
    lim.max_parse_depth = 50;
    struct ks_tpl_set *set = NULL;
    if (ks_tpl_set_new(&set, &lim, flags, tables, 1) != 0)
        abort();
    if (ks_tpl_set_add(set, "t", text, len) == 0) {
        struct ks_buf out;
        ks_buf_init(&out, 1 << 20);
        ks_tpl_execute(&out, set, "t", dot);
        ks_buf_release(&out);
    }
    ks_tpl_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *dot;
    if (!dot)
        dot = json_loads(data_json, 0, NULL);
    if (!dot)
        abort();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* a copy per run: Sprig-like mutation is not wired in, but be safe */
    json_t *d = json_deep_copy(dot);
    run(text, size, d, 0);
    run(text, size, d, KS_TPL_HELM | KS_TPL_STRICT);
    json_decref(d);
    free(text);
    return 0;
}
