/*
 * test_yaml.c: unit tests of the YAML codec API (core/yaml.h) that the
 * data-driven cases cannot express: the position table (singletons,
 * aliases, merges, several files), custom resolvers, the core resolver
 * called directly, ks_yaml_parse_one, and the emitter's exact layout and
 * quoting decisions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/yaml.h"

static json_t *parse_with(const char *text, const struct ks_yaml_parse_opts *opts)
{
    json_t *docs = NULL;
    int rc = ks_yaml_parse_stream(&docs, text, strlen(text), opts);
    if (rc)
        fail_msg("parse failed: %s", ks_error_last());
    return docs;
}

static void assert_pos(const struct ks_pos *p, const char *file, int line, int column)
{
    assert_string_equal(p->file, file);
    assert_int_equal(p->line, line);
    assert_int_equal(p->column, column);
}

static void positions_of_members_and_items(void **state)
{
    struct ks_yaml_positions *tab = ks_yaml_positions_new();
    struct ks_yaml_parse_opts opts = {.file = "f.yaml", .positions = tab};
    json_t *docs = parse_with("a:\n  b: true\n  c: [null, false, true]\nd: 1\n", &opts);
    json_t *root = json_array_get(docs, 0);
    json_t *a = json_object_get(root, "a");
    json_t *c = json_object_get(a, "c");
    struct ks_pos p;
    assert_int_equal(ks_yaml_position_of_index(&p, tab, NULL, 0), 0);
    assert_pos(&p, "f.yaml", 1, 1);
    assert_int_equal(ks_yaml_position_of_index(&p, tab, docs, 0), 0);
    assert_pos(&p, "f.yaml", 1, 1);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, root, "a"), 0);
    assert_pos(&p, "f.yaml", 1, 1);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, a, "b"), 0);
    assert_pos(&p, "f.yaml", 2, 3);
    /* the singletons true/false/null are told apart by parent and index */
    assert_int_equal(ks_yaml_position_of_index(&p, tab, c, 1), 0);
    assert_pos(&p, "f.yaml", 3, 13);
    assert_int_equal(ks_yaml_position_of_index(&p, tab, c, 2), 0);
    assert_pos(&p, "f.yaml", 3, 20);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, root, "d"), 0);
    assert_pos(&p, "f.yaml", 4, 1);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, root, "zz"), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_position_of_index(&p, tab, c, 3), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_position_of_index(&p, NULL, c, 0), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_positions_count(tab), 9);
    json_decref(docs);
    ks_yaml_positions_free(tab);
}

static void positions_follow_aliases_and_merges(void **state)
{
    struct ks_yaml_positions *tab = ks_yaml_positions_new();
    struct ks_yaml_parse_opts opts = {.file = "m.yaml", .positions = tab};
    json_t *docs = parse_with("base: &b\n  x: 1\nuse:\n  <<: *b\n  y: 2\ncopy: *b\n", &opts);
    json_t *root = json_array_get(docs, 0);
    struct ks_pos p;
    /* merged members point at the anchored text they came from */
    assert_int_equal(ks_yaml_position_of_member(&p, tab, json_object_get(root, "use"), "x"), 0);
    assert_pos(&p, "m.yaml", 2, 3);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, json_object_get(root, "use"), "y"), 0);
    assert_pos(&p, "m.yaml", 5, 3);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, root, "copy"), 0);
    assert_pos(&p, "m.yaml", 6, 1);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, json_object_get(root, "copy"), "x"), 0);
    assert_pos(&p, "m.yaml", 2, 3);
    /* aliases are copies: changing one leaves the anchor alone */
    json_object_set_new(json_object_get(root, "copy"), "x", json_integer(9));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "base"), "x")), 1);
    json_decref(docs);
    ks_yaml_positions_free(tab);
}

static void positions_of_several_files(void **state)
{
    struct ks_yaml_positions *tab = ks_yaml_positions_new();
    char name[16];
    snprintf(name, sizeof(name), "one.yaml");
    struct ks_yaml_parse_opts opts = {.file = name, .positions = tab};
    json_t *one = parse_with("a: 1\n", &opts);
    snprintf(name, sizeof(name), "two.yaml"); /* the table keeps its own copy */
    json_t *two = parse_with("\n\nb: 2\n", &opts);
    struct ks_pos p;
    assert_int_equal(ks_yaml_position_of_member(&p, tab, json_array_get(one, 0), "a"), 0);
    assert_pos(&p, "one.yaml", 1, 1);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, json_array_get(two, 0), "b"), 0);
    assert_pos(&p, "two.yaml", 3, 1);
    struct ks_yaml_child_pos mine = {"k", 1, 7, 8};
    assert_int_equal(ks_yaml_positions_set_children(tab, one, true, "own.yaml", &mine, 1), 0);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, one, "k"), 0);
    assert_pos(&p, "own.yaml", 7, 8);
    json_decref(one);
    json_decref(two);
    ks_yaml_positions_free(tab);
    ks_yaml_positions_free(NULL);
}

static void positions_table_grows(void **state)
{
    enum { N = 5000 };
    struct ks_yaml_positions *tab = ks_yaml_positions_new();
    struct ks_yaml_child_pos *c = calloc(N + 1, sizeof(*c));
    char(*keys)[16] = calloc(N, sizeof(*keys));
    json_t *arr = json_array(), *obj = json_object();
    for (int i = 0; i < N; i++) {
        c[i] = (struct ks_yaml_child_pos){NULL, 0, i + 1, 1};
        /* an array per node too, so the record index grows */
        json_t *own = json_array();
        json_array_append_new(arr, own);
        assert_int_equal(ks_yaml_positions_set_children(tab, own, false, "g.yaml", &c[i], 1), 0);
    }
    assert_int_equal(ks_yaml_positions_set_children(tab, arr, false, "g.yaml", c, N), 0);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key%d", (i * 7919) % N);
        c[i] = (struct ks_yaml_child_pos){keys[i], strlen(keys[i]), i + 1, 2};
    }
    c[N] = (struct ks_yaml_child_pos){"key0", 4, 99999, 3}; /* a later repeat wins */
    assert_int_equal(ks_yaml_positions_set_children(tab, obj, true, "g.yaml", c, N + 1), 0);
    struct ks_pos p;
    for (int i = 0; i < N; i++) {
        assert_int_equal(ks_yaml_position_of_index(&p, tab, arr, (size_t)i), 0);
        assert_int_equal(p.line, i + 1);
        assert_int_equal(ks_yaml_position_of_index(&p, tab, json_array_get(arr, (size_t)i), 0), 0);
        assert_int_equal(p.line, i + 1);
        if (i == 0)
            continue;
        assert_int_equal(ks_yaml_position_of_member(&p, tab, obj, keys[i]), 0);
        assert_int_equal(p.line, i + 1);
    }
    assert_int_equal(ks_yaml_position_of_member(&p, tab, obj, "key0"), 0);
    assert_int_equal(p.line, 99999);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, obj, "key5000"), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_position_of_member(&p, tab, arr, "key1"), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_position_of_index(&p, tab, obj, 0), KS_ENOTFOUND);
    assert_int_equal(ks_yaml_positions_count(tab), 3 * N);
    json_decref(arr);
    json_decref(obj);
    free(c);
    free(keys);
    ks_yaml_positions_free(tab);
}

struct seen {
    int keys;
    int values;
    int tagged;
};

/* A go-yaml-v2-like resolver: yes/no are booleans, everything else falls
 * back to the core resolver; "boom" fails. */
static json_t *yes_no_resolver(void *ctx, const struct ks_yaml_scalar *sc)
{
    struct seen *seen = ctx;
    if (sc->is_key)
        seen->keys++;
    else
        seen->values++;
    if (sc->tag)
        seen->tagged++;
    if (sc->plain && strcmp(sc->text, "boom") == 0) {
        ks_error_set_at(KS_EINVALID, &sc->pos, "boom is not allowed");
        return NULL;
    }
    if (!sc->tag && sc->plain && (strcmp(sc->text, "yes") == 0 || strcmp(sc->text, "no") == 0))
        return json_boolean(sc->text[0] == 'y');
    return ks_yaml_resolve_core(NULL, sc);
}

static void custom_resolver(void **state)
{
    struct seen seen = {0};
    struct ks_yaml_parse_opts opts = {.resolver = yes_no_resolver, .resolver_ctx = &seen};
    json_t *docs = parse_with("a: yes\nb: 'yes'\nyes: 1\nc: !!str no\n", &opts);
    json_t *want = json_loads("[{\"a\":true,\"b\":\"yes\",\"yes\":1,\"c\":\"no\"}]", 0, NULL);
    if (!json_equal(docs, want))
        fail_msg("got %s", json_dumps(docs, JSON_COMPACT));
    assert_int_equal(seen.keys, 4);
    assert_int_equal(seen.values, 4);
    assert_int_equal(seen.tagged, 1);
    json_decref(want);
    json_decref(docs);

    json_t *out = NULL;
    opts.file = "r.yaml";
    assert_int_equal(ks_yaml_parse_stream(&out, "a:\n  - boom\n", 12, &opts), KS_EINVALID);
    assert_string_equal(ks_error_last(), "r.yaml:2:5: boom is not allowed");
    assert_null(out);
}

static json_t *resolve(const char *text, const char *tag, bool plain)
{
    struct ks_yaml_scalar sc = {.text = text, .len = strlen(text), .tag = tag, .plain = plain};
    return ks_yaml_resolve_core(NULL, &sc);
}

static void core_resolver(void **state)
{
    json_t *v = resolve("0o777", NULL, true);
    assert_int_equal(json_integer_value(v), 511);
    json_decref(v);
    v = resolve("-9223372036854775809", NULL, true);
    assert_true(json_is_real(v));
    json_decref(v);
    v = resolve("true", NULL, false);
    assert_string_equal(json_string_value(v), "true");
    json_decref(v);
    v = resolve("3", "!!float", true);
    assert_true(json_is_real(v));
    json_decref(v);
    v = resolve("1.5", "tag:yaml.org,2002:int", true);
    assert_null(v);
    assert_non_null(strstr(ks_error_last(), "not a valid !!int"));
    assert_null(resolve("x", "!!seq", true));
    assert_non_null(strstr(ks_error_last(), "!!seq used on a scalar"));
    assert_null(resolve("-.INF", NULL, true));
    assert_non_null(strstr(ks_error_last(), "infinite or NaN"));
    assert_true(json_is_null(resolve("", NULL, true)));
    assert_true(json_is_null(resolve("~", "!!null", false)));
}

static void parse_one(void **state)
{
    json_t *v = NULL;
    struct ks_yaml_parse_opts opts = {.file = "one.yaml"};
    opts.positions = ks_yaml_positions_new();
    assert_int_equal(ks_yaml_parse_one(&v, "a: 1\n", 5, &opts), 0);
    struct ks_pos p;
    assert_int_equal(ks_yaml_position_of_index(&p, opts.positions, NULL, 0), 0);
    assert_int_equal(ks_yaml_position_of_member(&p, opts.positions, v, "a"), 0);
    assert_int_equal(p.line, 1);
    ks_yaml_positions_free(opts.positions);
    opts.positions = NULL;
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
    assert_int_equal(ks_yaml_parse_one(&v, NULL, 0, NULL), 0);
    assert_true(json_is_null(v));
    v = NULL;
    assert_int_equal(ks_yaml_parse_one(&v, "a: 1\n---\nb: 2\n", 14, &opts), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "expected a single YAML document, found 2"));
    assert_null(v);
}

static void assert_emits(const char *json, const struct ks_yaml_emit_opts *opts, const char *want)
{
    json_error_t jerr;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_yaml_emit(&b, v, opts), 0);
    assert_string_equal(ks_buf_data(&b), want);
    ks_buf_release(&b);
    json_decref(v);
}

static void emit_layout(void **state)
{
    assert_emits("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\",\"labels\":{}},"
                 "\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"port\":80}],"
                 "\"args\":[]},{\"name\":\"b\"}],\"matrix\":[[1,2],[]]}}",
                 NULL,
                 "apiVersion: v1\n"
                 "metadata:\n"
                 "  name: x\n"
                 "  labels: {}\n"
                 "spec:\n"
                 "  containers:\n"
                 "  - name: a\n"
                 "    ports:\n"
                 "    - port: 80\n"
                 "    args: []\n"
                 "  - name: b\n"
                 "  matrix:\n"
                 "  - - 1\n"
                 "    - 2\n"
                 "  - []\n");
    struct ks_yaml_emit_opts sorted = {.sort_keys = true, .indent = 4, .document_start = true};
    assert_emits("{\"b\":{\"z\":1,\"a\":[true,false,null]},\"a\":1}", &sorted,
                 "---\na: 1\nb:\n    a:\n    - true\n    - false\n    - null\n    z: 1\n");
    assert_emits("[]", NULL, "[]\n");
    assert_emits("{}", NULL, "{}\n");
    assert_emits("\"plain text\"", NULL, "plain text\n");
}

static void emit_quoting(void **state)
{
    assert_emits("[\"true\",\"123\",\"\",\"yes\",\"No\",\"null\",\"~\",\"1e3\",\"0x1F\",\"1_000\","
                 "\"12:30\",\"1.2.3\"]",
                 NULL,
                 "- \"true\"\n- \"123\"\n- \"\"\n- \"yes\"\n- \"No\"\n- \"null\"\n- \"~\"\n"
                 "- \"1e3\"\n- \"0x1F\"\n- \"1_000\"\n- \"12:30\"\n- \"1.2.3\"\n");
    assert_emits("[\" lead\",\"trail \",\"a: b\",\"x #y\",\"- z\",\"#c\",\"*a\",\"&a\",\"!t\","
                 "\"@x\",\"'q'\",\"\\\"d\\\"\",\".inf\",\"end:\",\"tab\\there\",\"--flag\"]",
                 NULL,
                 "- \" lead\"\n- \"trail \"\n- \"a: b\"\n- \"x #y\"\n- \"- z\"\n- \"#c\"\n"
                 "- \"*a\"\n- \"&a\"\n- \"!t\"\n- \"@x\"\n- \"'q'\"\n- \"\\\"d\\\"\"\n"
                 "- \".inf\"\n- \"end:\"\n- \"tab\\there\"\n- --flag\n");
    assert_emits("[\"nginx:1.25\",\"http://x:80/p\",\"500m\",\"a#b\",\"grüße\"]", NULL,
                 "- nginx:1.25\n- http://x:80/p\n- 500m\n- a#b\n- grüße\n");
    assert_emits("{\"true\":1,\"a b\":2,\"\":3,\"<<\":4}", NULL,
                 "\"true\": 1\na b: 2\n\"\": 3\n\"<<\": 4\n");
    assert_emits("[\"ctl\\u0001\\r\\u0085\\u2028\\ufeff\"]", NULL,
                 "- \"ctl\\x01\\r\\x85\\u2028\\uFEFF\"\n");
}

static void emit_block_scalars(void **state)
{
    assert_emits("{\"a\":\"x\\ny\\n\",\"b\":\"x\\ny\",\"c\":\"x\\n\\n\",\"d\":\" lead\\nx\\n\","
                 "\"e\":\"\\nfirst empty\"}",
                 NULL,
                 "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: |2\n   lead\n  x\n"
                 "e: |2-\n\n  first empty\n");
    assert_emits("[\"l1\\nl2\"]", NULL, "- |-\n  l1\n  l2\n");
    assert_emits("{\"k\\nk\":\"v\"}", NULL, "\"k\\nk\": v\n");
}

static void emit_numbers(void **state)
{
    assert_emits("[1.0,0.1,1e20,-0.0,2.5e-8,123456789012345678901234.0,-7,3.14159]", NULL,
                 "- 1.0\n- 0.1\n- 1.0e+20\n- -0.0\n- 2.5e-08\n- 1.2345678901234569e+23\n"
                 "- -7\n- 3.14159\n");
}

static void emit_errors(void **state)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_yaml_emit(&b, NULL, NULL), KS_EINVALID);
    json_t *obj = json_object();
    assert_int_equal(ks_yaml_emit_stream(&b, obj, NULL), KS_EINVALID);
    json_decref(obj);
    json_t *bad = json_stringn_nocheck("\xff", 1);
    assert_int_equal(ks_yaml_emit(&b, bad, NULL), KS_EINVALID);
    json_decref(bad);
    ks_buf_release(&b);

    ks_buf_init(&b, 8);
    json_t *big = json_pack("{s:s}", "key", "a longer value");
    assert_int_equal(ks_yaml_emit(&b, big, NULL), KS_ELIMIT);
    json_decref(big);
    ks_buf_release(&b);

    json_t *deep = json_array(), *cur = deep;
    for (int i = 0; i < 1100; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    json_array_append_new(cur, json_integer(1));
    ks_buf_init(&b, 0);
    assert_int_equal(ks_yaml_emit(&b, deep, NULL), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "depth limit of 1000"));
    ks_buf_release(&b);
    json_decref(deep);
}

static void long_keys_round_trip(void **state)
{
    char key[1500];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    json_t *v = json_pack("{s:[i]}", key, 1);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_yaml_emit(&b, v, NULL), 0);
    assert_memory_equal(ks_buf_data(&b), "? \"kkk", 6);
    json_t *again = NULL;
    assert_int_equal(ks_yaml_parse_one(&again, ks_buf_data(&b), ks_buf_len(&b), NULL), 0);
    assert_true(json_equal(v, again));
    json_decref(again);
    json_decref(v);
    ks_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(positions_of_members_and_items),
        cmocka_unit_test(positions_follow_aliases_and_merges),
        cmocka_unit_test(positions_of_several_files),
        cmocka_unit_test(positions_table_grows),
        cmocka_unit_test(custom_resolver),
        cmocka_unit_test(core_resolver),
        cmocka_unit_test(parse_one),
        cmocka_unit_test(emit_layout),
        cmocka_unit_test(emit_quoting),
        cmocka_unit_test(emit_block_scalars),
        cmocka_unit_test(emit_numbers),
        cmocka_unit_test(emit_errors),
        cmocka_unit_test(long_keys_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
