/*
 * test_funcs_misc.c: the misc table (renderer/funcs/misc.c, semver.c) through the
 * engine: default/empty/coalesce/ternary/all/any, required and fail,
 * lookup, kindOf/typeOf and friends, semverCompare's constraint rules and
 * the semver host object, include errors.
 * Every expectation was produced by helm 3.17.3 from the same template
 * (rendered through include and toJson to capture exact bytes).
 */
#include "test_funcs_run.h"

static const struct fcase misc[] = {
    {"{{ default \"d\" \"\" }} {{ default \"d\" 0 }} {{ default \"d\" false }} {{ default \"d\" "
     "nil }} {{ default \"d\" (list) }} {{ default \"d\" (dict) }} {{ default \"d\" \"x\" }} {{ "
     "default \"d\" 0.0 }} {{ default \"d\" \"0\" }} {{ default \"d\" }} {{ \"v\" | default \"d\" "
     "}}",
     NULL, "d d d d d d x d 0 d v", NULL},
    {"{{ empty \"\" }} {{ empty \" \" }} {{ empty 0 }} {{ empty 1 }} {{ empty (list) }} {{ empty "
     "(list 0) }} {{ empty nil }} {{ empty false }} {{ empty (dict) }} {{ empty 0.0 }}",
     NULL, "true false true false true false true true true true", NULL},
    {"{{ coalesce \"\" 0 nil \"x\" \"y\" }}|{{ coalesce \"\" nil }}|{{ coalesce }}|{{ coalesce "
     "(list) (dict \"a\" 1) }}",
     NULL, "x|||map[a:1]", NULL},
    {"{{ ternary \"a\" \"b\" true }} {{ ternary \"a\" \"b\" false }} {{ ternary 1 2 (eq 1 1) }} {{ "
     "true | ternary \"y\" \"n\" }}",
     NULL, "a b 1 y", NULL},
    {"{{ ternary \"a\" \"b\" (list) }}", NULL, NULL,
     "wrong type for value; expected bool; got []interface {}"},
    {"{{ semverCompare \">=1.21\" \"1.21.0-01\" }}", NULL, NULL,
     "error calling semverCompare: Version segment starts with 0"},
    {"{{ semverCompare \"*\" \"1.0.0\" }} {{ semverCompare \"> 1.2,<2\" \"1.5.0\" }} {{ "
     "semverCompare \"v1.2.x\" \"1.2.3\" }} {{ semverCompare \"=v1.2.3\" \"1.2.3\" }} {{ "
     "semverCompare \">=01.2\" \"1.2.3\" }} {{ semverCompare \"~1.2.3-beta\" \"1.2.4-alpha\" }} {{ "
     "semverCompare \"^1.x\" \"1.5.0\" }} {{ semverCompare \"1.x\" \"2.0.0\" }} {{ semverCompare "
     "\"<2.x\" \"1.9.0\" }} {{ semver \"1.02.03\" }}",
     NULL, "true true true true true true true false true 1.2.3", NULL},
    {"{{ all 1 \"a\" true }} {{ all 1 0 }} {{ any 0 \"\" \"x\" }} {{ any 0 \"\" }} {{ all }} {{ "
     "any }}",
     NULL, "true false true false true false", NULL},
    {"{{ required \"need it\" \"\" }}", NULL, NULL, "need it"},
    {"{{ required \"need it\" nil }}", NULL, NULL, "need it"},
    {"{{ required \"need %d\" nil }}", NULL, NULL, "need %d"},
    {"{{ required \"need it\" 0 }}|{{ required \"need it\" false }}|{{ required \"need it\" (list) "
     "}}|{{ required \"x\" \"v\" }}",
     NULL, "0|false|[]|v", NULL},
    {"{{ fail \"stop here\" }}", NULL, NULL, "stop here"},
    {"{{ lookup \"v1\" \"ConfigMap\" \"ns\" \"name\" }}|{{ (lookup \"v1\" \"ConfigMap\" \"ns\" "
     "\"name\").data }}|{{ lookup \"v1\" \"Pod\" \"\" \"\" | len }}",
     NULL, "map[]||0", NULL},
    {"{{ kindOf 1 }} {{ kindOf 1.5 }} {{ kindOf \"s\" }} {{ kindOf (list) }} {{ kindOf (dict) }} "
     "{{ kindOf nil }} {{ kindOf true }} {{ kindIs \"map\" (dict) }} {{ kindIs \"slice\" (list) }} "
     "{{ kindIs \"invalid\" nil }}",
     NULL, "int float64 string slice map invalid bool true true true", NULL},
    {"{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf \"s\" }} {{ typeOf (list) }} {{ typeOf (dict) }} "
     "{{ typeOf nil }} {{ typeOf true }} {{ typeIs \"string\" \"x\" }} {{ typeIs \"int\" 1.0 }} {{ "
     "typeIsLike \"string\" \"x\" }} {{ typeIsLike \"Version\" (semver \"1.0.0\") }}",
     NULL,
     "int float64 string []interface {} map[string]interface {} <nil> bool true false true false",
     NULL},
    {"{{ semverCompare \"^1.2\" \"1.2.3\" }} {{ semverCompare \">=1.21\" \"v1.21.0\" }} {{ "
     "semverCompare \">=1.21\" \"1.21.0-gke.1\" }} {{ semverCompare \">=1.21-0\" \"1.21.0-gke.1\" "
     "}} {{ semverCompare \"<1.22.0-0\" \"1.21.5\" }} {{ semverCompare \"1.2.x\" \"1.2.9\" }} {{ "
     "semverCompare \"~1.2\" \"1.3.0\" }} {{ semverCompare \">1.0 <2.0\" \"1.5.0\" }} {{ "
     "semverCompare \">1.0 || <0.5\" \"0.1.0\" }}",
     NULL, "true true false true true true false true true", NULL},
    {"{{ semverCompare \">=1.2.3, <1.3\" \"1.2.9\" }} {{ semverCompare \"1.2 - 1.4\" \"1.4.0\" }} "
     "{{ semverCompare \"1.2 - 1.4\" \"1.4.1\" }} {{ semverCompare \"!=1.2.3\" \"1.2.3\" }} {{ "
     "semverCompare \"!=1.2\" \"1.3.0\" }} {{ semverCompare \"^0.2.3\" \"0.2.9\" }} {{ "
     "semverCompare \"^0.2.3\" \"0.3.0\" }} {{ semverCompare \"^0.0.3\" \"0.0.4\" }} {{ "
     "semverCompare \"~1\" \"1.9.9\" }}",
     NULL, "true true true false true true false false true", NULL},
    {"{{ semverCompare \"\" \"1.0.0\" }}", NULL, NULL,
     "error calling semverCompare: improper constraint: "},
    {"{{ semverCompare \">11\" \"11.1.0\" }} {{ semverCompare \">11.1\" \"11.1.5\" }} {{ "
     "semverCompare \">11.1\" \"11.2.0\" }} {{ semverCompare \"<=1.2\" \"1.2.9\" }} {{ "
     "semverCompare \"<=1.2\" \"1.3.0\" }} {{ semverCompare \"=1.2.3\" \"1.2.3\" }} {{ "
     "semverCompare \"1.2.3-alpha.2\" \"1.2.3-alpha.10\" }} {{ semverCompare \">1.2.3-alpha.2\" "
     "\"1.2.3-alpha.10\" }} {{ semverCompare \">1.2.3-beta\" \"1.2.3-alpha.10\" }} {{ "
     "semverCompare \">=1.0.0-0\" \"1.0.0-rc.1\" }} {{ semverCompare \"~1.2.3\" \"1.2.10\" }} {{ "
     "semverCompare \">= 1.5\" \"1.5.0\" }}",
     NULL, "false false true true false true false true false true true true", NULL},
    {"{{ semverCompare \">=1.21\" \"not-a-version\" }}", NULL, NULL,
     "error calling semverCompare: Invalid Semantic Version"},
    {"{{ semverCompare \"bad!\" \"1.0.0\" }}", NULL, NULL,
     "error calling semverCompare: improper constraint: bad!"},
    {"{{ semverCompare \">=1.21\" \"1.02.0\" }}", NULL, "false", NULL},
    {"{{ semverCompare \">=1.21\" \"v1.21.0+k3s1\" }} {{ semverCompare \">=1.21\" \"1\" }} {{ "
     "semverCompare \">=1.21\" \"1.22\" }}",
     NULL, "true false true", NULL},
    {"{{ (semver \"1.2.3-beta.1+build\").Prerelease }} {{ (semver \"v2.0.0\").Major }} {{ (semver "
     "\"1.2.3\").Original }} {{ semver \"v1.2\" }} {{ (semver \"1.2.3+m\").Metadata }} {{ (semver "
     "\"4.5.6\").Minor }} {{ (semver \"4.5.6\").Patch }} {{ semver \"1.2.3\" | typeOf }}",
     NULL, "beta.1 2 1.2.3 1.2.0 m 5 6 *semver.Version", NULL},
    {"{{ semver \"x\" }}", NULL, NULL, "error calling semver: Invalid Semantic Version"},
    {"{{ include \"nonexistent\" . }}", NULL, NULL,
     "error calling include: template: no template \"nonexistent\" associated with template "
     "\"gotpl\""},
};

/* net/url (expectations from helm 3.17). */
static const struct fcase urls[] = {
    {"{{ urlParse \"https://user:pw@host:8080/p?q=1#f\" }} {{ urlJoin (dict \"scheme\" "
     "\"https\" \"host\" \"h\" \"path\" \"/p\") }}",
     NULL,
     "map[fragment:f host:host:8080 hostname:host opaque: path:/p query:q=1 scheme:https "
     "userinfo:user:pw] https://h/p",
     NULL},
    {"{{ urlParse \"mailto:a@b.c?subject=x\" }}|{{ urlParse \"/rel/a%20b?x=%20#fr%20ag\" }}|{{ "
     "urlParse \"http://[::1]:80/\" }}",
     NULL,
     "map[fragment: host: hostname: opaque:a@b.c path: query:subject=x scheme:mailto "
     "userinfo:]|map[fragment:fr ag host: hostname: opaque: path:/rel/a b query:x=%20 scheme: "
     "userinfo:]|map[fragment: host:[::1]:80 hostname:::1 opaque: path:/ query: scheme:http "
     "userinfo:]",
     NULL},
    {"{{ urlParse \"HTTP://h\" }}|{{ urlParse \"//h/p\" }}|{{ urlParse \"a:b/c\" }}", NULL,
     "map[fragment: host:h hostname:h opaque: path: query: scheme:http "
     "userinfo:]|map[fragment: host:h hostname:h opaque: path:/p query: scheme: "
     "userinfo:]|map[fragment: host: hostname: opaque:b/c path: query: scheme:a userinfo:]",
     NULL},
    {"{{ urlJoin (dict \"scheme\" \"http\" \"host\" \"h:1\" \"path\" \"a b\" \"query\" \"x=1\" "
     "\"fragment\" \"f g\" \"userinfo\" \"u:p\") }}|{{ urlJoin (dict \"path\" \"a:b\") }}|{{ "
     "urlJoin (dict \"scheme\" \"mailto\" \"opaque\" \"x@y\") }}|{{ urlJoin (dict) }}",
     NULL, "http://u:p@h:1/a%20b?x=1#f%20g|./a:b|mailto:x@y|", NULL},
    {"{{ urlParse \"http://h/%zz\" }}", NULL, NULL,
     "error calling urlParse: unable to parse url: parse \"http://h/%zz\": invalid URL escape "
     "\"%zz\""},
};

static void test_urls(void **state)
{
    FUNCS_RUN(urls);
}

/* getHostByName resolves through the system resolver: localhost is in
 * /etc/hosts on every test machine (no test needs the network). */
static void test_get_host_by_name(void **state)
{
    char *s = funcs_output("{{ getHostByName \"localhost\" }}", NULL);
    assert_true(strcmp(s, "127.0.0.1") == 0 || strcmp(s, "::1") == 0);
    free(s);
}

static void test_misc(void **state)
{
    FUNCS_RUN(misc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_get_host_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
