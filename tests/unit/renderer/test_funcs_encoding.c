/*
 * test_funcs_encoding.c: encodings, hashes and Helm's serialisation wrappers
 * (renderer/funcs/encoding.c) through the engine: Go's base64/base32
 * errors, digests, toJson/toPrettyJson/toRawJson/toYaml, fromYaml,
 * fromYamlArray, fromJson, fromJsonArray, toToml, fromToml and their error
 * values.
 * Every expectation was produced by helm 3.17.3 from the same template
 * (rendered through include and toJson to capture exact bytes).
 */
#include "test_funcs_run.h"

static const struct fcase encoding[] = {
    {"{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ b64dec \"!!\" }} {{ b32enc \"hello\" }} "
     "{{ b32dec \"NBSWY3DP\" }}",
     NULL, "aGVsbG8= hello illegal base64 data at input byte 0 NBSWY3DP hello", NULL},
    {"{{ b64enc \"\" }}|{{ b64enc \"a\" }}|{{ b64enc \"ab\" }}|{{ b64dec \"YQ==\" }}|{{ b64dec "
     "\"YQ\" }}|{{ b64dec \"YQ=\" }}|{{ b64dec \"YWJj\\nZGVm\" }}|{{ b64dec \"YQ==YQ==\" }}|{{ "
     "b64dec \"=\" }}",
     NULL,
     "|YQ==|YWI=|a|illegal base64 data at input byte 0|illegal base64 data at input byte "
     "3|abcdef|illegal base64 data at input byte 4|illegal base64 data at input byte 0",
     NULL},
    {"{{ b32enc \"a\" }}|{{ b32dec \"ME======\" }}|{{ b32dec \"ME\" }}|{{ b32dec \"M1======\" "
     "}}|{{ b32enc \"\" }}",
     NULL, "ME======|a|illegal base32 data at input byte 0|illegal base32 data at input byte 1|",
     NULL},
    {"{{ sha256sum \"\" }} {{ sha1sum \"abc\" }} {{ adler32sum \"abc\" }} {{ sha512sum \"abc\" }} "
     "{{ adler32sum \"\" }}",
     NULL,
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
     "a9993e364706816aba3e25717850c26c9cd0d89d 38600999 "
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "bbd454d4423643ce80e2a9ac94fa54ca49f 1",
     NULL},
    {"{{ toJson (dict \"b\" 1 \"a\" (list 1.5 \"x\" nil true) \"h\" \"<&>\") }}", NULL,
     "{\"a\":[1.5,\"x\",null,true],\"b\":1,\"h\":\"\\u003c\\u0026\\u003e\"}", NULL},
    {"{{ toPrettyJson (dict \"b\" 1 \"a\" (list 1 2) \"e\" (dict) \"l\" (list)) }}", NULL,
     "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1,\n  \"e\": {},\n  \"l\": []\n}", NULL},
    {"{{ toRawJson (dict \"h\" \"<&>\" \"q\" \"a\\\"b\\\\u003c\") }} {{ mustToJson \"x\" }} {{ "
     "mustToRawJson (list \"<\") }} {{ mustToPrettyJson 1 }} {{ toPrettyJson \"<\" }} {{ toJson "
     "nil }}",
     NULL, "{\"h\":\"<&>\",\"q\":\"a\\\"b\\\\u003c\"} \"x\" [\"<\"] 1 \"\\u003c\" null", NULL},
    {"{{ toYaml (dict \"z\" 1 \"a\" (list 1 \"two\" (dict \"k\" \"v\")) \"m\" (dict) \"n\" nil "
     "\"e\" \"\" \"t\" \"true\" \"s\" \"x y\") }}",
     NULL, "a:\n- 1\n- two\n- k: v\ne: \"\"\nm: {}\n\"n\": null\ns: x y\nt: \"true\"\nz: 1", NULL},
    {"{{ toYaml \"a\\nb\\n\" }}|{{ toYaml \"a\\n\" | quote }}|{{ toYaml nil }}|{{ toYaml (list) }}",
     NULL, "|\n  a\n  b|\"|\\n  a\"|null|[]", NULL},
    {"{{ fromYaml \"a: 1\\nb:\\n  - x\\n  - 2.5\\nc: yes\\nd: null\\ne: '007'\\nf: 0x10\\ng: "
     "1e3\\nh: 2021-01-01\" | toJson }}",
     NULL,
     "{\"a\":1,\"b\":[\"x\",2.5],\"c\":true,\"d\":null,\"e\":\"007\",\"f\":16,\"g\":1000,\"h\":"
     "\"2021-01-01\"}",
     NULL},
    {"{{ fromYaml \"- a\" }}|{{ fromYaml \"\" }}|{{ fromYaml \"x\" }}|{{ fromYaml \"~\" }}|{{ "
     "fromYaml \"5\" }}",
     NULL,
     "map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go "
     "value of type map[string]interface {}]|map[]|map[Error:error unmarshaling JSON: while "
     "decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface "
     "{}]|map[]|map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
     "number into Go value of type map[string]interface {}]",
     NULL},
    {"{{ fromYamlArray \"[1, a, {b: c}]\" | toJson }} {{ fromYamlArray \"a: 1\" }} {{ "
     "fromYamlArray \"\" }}",
     NULL,
     "[1,\"a\",{\"b\":\"c\"}] [error unmarshaling JSON: while decoding JSON: json: cannot "
     "unmarshal object into Go value of type []interface {}] []",
     NULL},
    {"{{ fromJson \"{\\\"a\\\": 1.0, \\\"b\\\": [true, null]}\" }} {{ fromJson \"bad\" }} {{ "
     "fromJsonArray \"[1,2]\" }} {{ fromJson \"[1]\" }} {{ fromJsonArray \"{}\" }} {{ fromJson "
     "\"\" }} {{ fromJson \"null\" }}",
     NULL,
     "map[a:1 b:[true <nil>]] map[Error:invalid character 'b' looking for beginning of value] [1 "
     "2] map[Error:json: cannot unmarshal array into Go value of type map[string]interface {}] "
     "[json: cannot unmarshal object into Go value of type []interface {}] map[Error:unexpected "
     "end of JSON input] map[]",
     NULL},
    {"{{ (fromYaml \"a: 1\").a | typeOf }} {{ (fromJson \"{\\\"a\\\":1}\").a | typeOf }} {{ "
     "mustFromJson \"[1,\\\"x\\\"]\" }} {{ mustFromJson \"3\" | typeOf }}",
     NULL, "float64 float64 [1 x] float64", NULL},
    {"{{ mustFromJson \"{\" }}", NULL, NULL,
     "error calling mustFromJson: unexpected end of JSON input"},
    {"{{ fromJson \"{\\\"a\\\":\" }}|{{ fromJson \" x\" }}", NULL,
     "map[Error:unexpected end of JSON input]|map[Error:invalid character 'x' looking for "
     "beginning of value]",
     NULL},
};

/* go-yaml v2 error texts inside fromYaml's Error value (helm 3.17). */
static const struct fcase yaml_errors[] = {
    {"{{ fromYaml \"a: [\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: line 1: did not find expected node content]",
     NULL},
    {"{{ fromYaml \"a: 'x\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: found unexpected end of stream]", NULL},
    {"{{ fromYaml \"a: b\\nc\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: line 3: could not find expected ':']", NULL},
    {"{{ fromYaml \"a:\\n  b: 1\\n c: 2\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: line 2: did not find expected key]", NULL},
    {"{{ fromYaml \"a: 1\\na: 2\" }}", NULL, "map[a:2]", NULL},
    {"{{ fromYaml \"\\t- a\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: found character that cannot start any token]",
     NULL},
    {"{{ fromYaml \"a: *x\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: unknown anchor 'x' referenced]", NULL},
    {"{{ fromYamlArray \"[\" }}", NULL,
     "[error converting YAML to JSON: yaml: line 1: did not find expected node content]", NULL},
    {"{{ fromYaml \"a: b: c\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: mapping values are not allowed in this "
     "context]",
     NULL},
    {"{{ fromYaml \"x\\n- a\" }}", NULL,
     "map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into "
     "Go value of type map[string]interface {}]",
     NULL},
    {"{{ fromYaml \"k: !!int x\" }}", NULL,
     "map[Error:error converting YAML to JSON: yaml: cannot decode !!str `x` as a !!int]", NULL},
    {"{{ fromYaml \"a:\\n- b\\n-c: d\\n  e\" }}", NULL, "map[-c:d e a:[b]]", NULL},
};

static void test_yaml_errors(void **state)
{
    FUNCS_RUN(yaml_errors);
}

/* BurntSushi/toml's encoding as helm 3.17 prints it. */
static const struct fcase toml[] = {
    {"{{ toToml (dict \"a\" 1 \"b\" (dict \"c\" \"d\") \"l\" (list 1 2)) }}", NULL,
     "a = 1\nl = [1, 2]\n\n[b]\n  c = \"d\"\n", NULL},
    {"{{ toToml (dict \"f\" 1.5 \"g\" 2.0 \"h\" 1e21 \"i\" 0.000001 \"t\" true \"s\" "
     "\"q\\\"\\\\\\n\\t\\u0001\xc3"
     "\xa9"
     "\" \"n\" nil \"e\" (dict) \"el\" (list) \"k k\" 1 \"k.k\" 2 \"\xc3"
     "\xb6"
     "\" 3) }}",
     NULL,
     "el = []\nf = 1.5\ng = 2.0\nh = 1000000000000000000000.0\ni = 0.000001\n\"k k\" = 1\n\"k.k\" "
     "= 2\ns = \"q\\\"\\\\\\n\\t\\u0001\xc3"
     "\xa9"
     "\"\nt = true\n\"\xc3"
     "\xb6"
     "\" = 3\n\n[e]\n",
     NULL},
    {"{{ toToml (dict \"x\" (dict \"y\" (dict \"z\" 1 \"w\" (list 1)) \"v\" 2) \"a\" (list (dict "
     "\"p\" 1) (dict \"p\" 2 \"q\" (dict \"r\" 3)))) }}",
     NULL,
     "[[a]]\n  p = 1\n\n[[a]]\n  p = 2\n  [a.q]\n    r = 3\n\n[x]\n  v = 2\n  [x.y]\n    w = [1]\n "
     "   z = 1\n",
     NULL},
    {"{{ toToml (dict \"l\" (list 1 \"a\" (list 2 3) (dict \"k\" 1))) }}", NULL,
     "l = [1, \"a\", [2, 3], {k = 1}]\n", NULL},
    {"{{ toToml (list 1 2) }}", NULL, "[1, 2]", NULL},
    {"{{ toToml \"s\" }}", NULL, "\"s\"", NULL},
    {"{{ toToml (dict \"a\" (list 1 nil)) }}", NULL, "toml: cannot encode array with nil element",
     NULL},
    {"{{ toToml (dict \"c\" \"\\u007f\\u001f\") }}", NULL, "c = \"\\u007f\\u001f\"\n", NULL},
    {"{{ toToml (dict \"a\" (list (dict \"x\" 1) 2)) }}", NULL, "a = [{x = 1}, 2]\n", NULL},
    {"{{ toToml (dict \"a\" (list (dict) (dict \"b\" (list (dict \"c\" 1))))) }}", NULL,
     "[[a]]\n\n[[a]]\n\n  [[a.b]]\n    c = 1\n", NULL},
    {"{{ toToml (dict \"a\" (dict \"b\" (dict))) }}", NULL, "[a]\n  [a.b]\n", NULL},
    {"{{ toToml (dict \"a\" (list nil)) }}", NULL, "toml: cannot encode array with nil element",
     NULL},
    {"{{ toToml nil }}", NULL, NULL,
     "error calling toToml: reflect: call of reflect.Value.Type on zero Value"},
};

static void test_toml(void **state)
{
    FUNCS_RUN(toml);
}

/* fromToml (BurntSushi/toml decoding) as helm 3.17.1 prints it through
 * toJson: values, tables, arrays of tables, inline tables, and parse errors
 * as a dict with "Error" (line 0 / one line up when the input ended). */
static const struct fcase from_toml[] = {
    {"{{ $d := fromToml \"a = +99\\nh = 0xff\\nf = 1e3\\n[s]\\np = 'x'\" }}{{ typeOf $d.a }} "
     "{{ typeOf $d.f }} {{ $d | toJson }}",
     NULL, "int64 float64 {\"a\":99,\"f\":1000,\"h\":255,\"s\":{\"p\":\"x\"}}", NULL},
    {"{{ fromToml \"[[f]]\\nn = 1\\n[f.sub]\\nm = 2\\n[[f]]\\nn = 2\" | toJson }}", NULL,
     "{\"f\":[{\"n\":1,\"sub\":{\"m\":2}},{\"n\":2}]}", NULL},
    {"{{ fromToml \"a = [[1], {x = 1}]\\n[b]\\nc.d = \\\"e\\\" # comment\\n\" | toJson }}", NULL,
     "{\"a\":[[1],{\"x\":1}],\"b\":{\"c\":{\"d\":\"e\"}}}", NULL},
    {"{{ fromToml \"s = \\\"\\\"\\\"one\\\"\\\"two\\\"\\\"\\\"\\\"\\\"\" | toJson }}", NULL,
     "{\"s\":\"one\\\"\\\"two\\\"\\\"\"}", NULL},
    {"{{ fromToml \"k = -0\\nh = 0xff\\nf = 1e3\\ng = 0.5e-3\\nneg = -1_0\" | toJson }}", NULL,
     "{\"f\":1000,\"g\":0.0005,\"h\":255,\"k\":0,\"neg\":-10}", NULL},
    {"{{ fromToml \"x = {a = 1}\\n[x.b]\" | toJson }} {{ fromToml \"a.b = 1\\na = 2\" | toJson }} "
     "{{ fromToml \"\" | toJson }}",
     NULL, "{\"x\":{\"a\":1,\"b\":{}}} {\"a\":{\"b\":1}} {}", NULL},
    {"{{ fromToml \"a = 1\\na = 2\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 2 (last key \\\"a\\\"): Key 'a' has already been defined.\"}", NULL},
    {"{{ fromToml \"[s]\\np = 1\\np = 2\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 3 (last key \\\"s.p\\\"): Key 's.p' has already been defined.\"}",
     NULL},
    {"{{ fromToml \"a = [1, 2\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 0 (last key \\\"a\\\"): expected a comma (',') or array terminator "
     "(']'), but got end of file\"}",
     NULL},
    {"{{ fromToml \"[s]\\nq = [1,\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1 (last key \\\"s.q\\\"): unexpected EOF; expected value\"}", NULL},
    {"{{ fromToml \"a = 1\\n[a]\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 2: Key 'a' has already been defined.\"}", NULL},
    {"{{ fromToml \"a = 00.5\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1 (last key \\\"a\\\"): Invalid float \\\"00.5\\\": cannot have "
     "leading zeroes\"}",
     NULL},
    {"{{ fromToml \"a = \\\"\\\\u00\\\"\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1 (last key \\\"a\\\"): expected four hexadecimal digits after "
     "'\\\\u', but got \\\"\\\\\\\\u00\\\\\\\"\\\" instead\"}",
     NULL},
    {"{{ fromToml \"a = { b = 1\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 0 (last key \\\"a.b\\\"): expected a comma or an inline table "
     "terminator '}', but got end of file instead\"}",
     NULL},
    {"{{ fromToml \"a = \\\"unterminated\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 0 (last key \\\"a\\\"): unexpected EOF; expected '\\\"'\"}", NULL},
    {"{{ fromToml \"a = 'x\\nb = 1\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1 (last key \\\"a\\\"): strings cannot contain newlines\"}", NULL},
    {"{{ fromToml \"a = tru\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1 (last key \\\"a\\\"): expected value but found \\\"tru\\\" "
     "instead\"}",
     NULL},
    {"{{ fromToml \"= 1\" | toJson }}", NULL,
     "{\"Error\":\"toml: line 1: unexpected '=': key name appears blank\"}", NULL},
    /* ours: values the value model cannot hold fail the call */
    {"{{ fromToml \"d = 1979-05-27\" }}", NULL, NULL,
     "fromToml: TOML date-time values are not supported"},
    {"{{ fromToml \"d = inf\" }}", NULL, NULL, "cannot be represented"},
    {"{{ fromToml 1 }}", NULL, NULL, "wrong type for value; expected string; got int"},
};

static void test_from_toml(void **state)
{
    FUNCS_RUN(from_toml);
}

static void test_encoding(void **state)
{
    FUNCS_RUN(encoding);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_toml),
        cmocka_unit_test(test_from_toml),
        cmocka_unit_test(test_yaml_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
