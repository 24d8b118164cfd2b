/*
 * test_funcs_strings.c: Sprig's string functions (renderer/funcs/strings.c
 * and regex.c) through the engine: argument order for pipelines, Go's
 * byte slicing, typed-parameter errors, quoting, indentation, splitting,
 * case conversions and Go regexp semantics. Expected outputs are helm
 * 3.17's (snippets.json) or follow from Sprig's and Go's sources.
 */
#include "test_funcs_run.h"

static const struct fcase basic[] = {
    /* trunc: bytes, negative counts keep the tail */
    {"{{ trunc 5 \"hello world\" }}|{{ trunc 0 \"abc\" }}|{{ trunc -3 \"hello\" }}|{{ trunc 10 "
     "\"abc\" }}|{{ trunc -10 \"abc\" }}",
     NULL, "hello||llo|abc|abc", NULL},
    {"{{ trunc 63 \"release-name-a-chart-name-that-is-really-long-and-goes-past-sixty-three\" | "
     "trimSuffix \"-\" }}",
     NULL, "release-name-a-chart-name-that-is-really-long-and-goes-past-six", NULL},
    {"{{ trunc .n \"abc\" }}", "{\"n\":2.0}", NULL,
     "error calling trunc: wrong type for value; expected int; got float64"},
    {"{{ trunc 2 .x }}", "{\"x\":5}", NULL, "wrong type for value; expected string; got int"},
    {"{{ upper .missing }}", "{}", NULL, "wrong type for value; expected string; got interface {}"},
    /* trim family */
    {"{{ trim \"  \\t x y \\n\" }}|{{ trimAll \"-\" \"--x--\" }}|{{ trimPrefix \"-\" \"--x\" }}|{{ "
     "trimSuffix \"-\" \"x--\" }}",
     NULL, "x y|x|-x|x-", NULL},
    {"{{ trimAll \"ab\" \"abxba\" }}|{{ trimAll \"\" \"-x-\" }}|{{ trim \"\\u00a0x\\u3000\" }}",
     NULL, "x|-x-|x", NULL},
    /* case */
    {"{{ upper \"aBc\" }} {{ lower \"AbC\" }} {{ title \"hello wORLD foo-bar\" }} {{ untitle "
     "\"Hello World\" }}",
     NULL, "ABC abc Hello WORLD Foo-Bar hello world", NULL},
    {"{{ upper \"\\u00e9t\\u00e9\" }} {{ lower \"\\u00c9T\\u00c9\" }} {{ title \"x_y z.w\" }}",
     NULL, "\xc3\x89T\xc3\x89 \xc3\xa9t\xc3\xa9 X_y Z.W", NULL},
    {"{{ camelcase \"http_server\" }} {{ snakecase \"HTTPServer\" }} {{ kebabcase \"HTTPServer\" "
     "}} {{ swapcase \"Hello\" }}",
     NULL, "HttpServer http_server http-server hELLO", NULL},
    {"{{ snakecase \"FirstName\" }} {{ snakecase \"GO PATH\" }} {{ camelcase \"_complex__case_\" "
     "}} {{ kebabcase \"some_words\" }}",
     NULL, "first_name go_path _Complex_Case_ some-words", NULL},
    /* replace, contains, prefixes */
    {"{{ replace \" \" \"-\" \"a b  c\" }}|{{ \"a.b\" | replace \".\" \"\" }}|{{ replace \"\" "
     "\"-\" "
     "\"ab\" }}",
     NULL, "a-b--c|ab|-a-b-", NULL},
    {"{{ contains \"b\" \"abc\" }} {{ hasPrefix \"ab\" \"abc\" }} {{ hasSuffix \"bc\" \"abc\" }} "
     "{{ "
     "contains \"\" \"\" }} {{ hasPrefix \"abcd\" \"abc\" }}",
     NULL, "true true true true false", NULL},
    /* repeat, substr */
    {"{{ repeat 3 \"-\" }}|{{ substr 0 3 \"hello\" }}|{{ substr 2 -1 \"hello\" }}|{{ substr 2 99 "
     "\"hello\" }}|{{ substr -1 2 \"hello\" }}",
     NULL, "---|hel|llo|llo|he", NULL},
    {"{{ repeat -1 \"x\" }}", NULL, NULL, "strings: negative Repeat count"},
    {"{{ substr 4 2 \"hello\" }}", NULL, NULL, "runtime error: slice bounds out of range [4:2]"},
    {"{{ substr -1 9 \"hello\" }}", NULL, NULL,
     "runtime error: slice bounds out of range [:9] with length 5"},
    /* nospace, initials, abbrev, wrap */
    {"{{ nospace \" a b\\tc \" }}|{{ initials \"Foo Bar baz\" }}|{{ abbrev 6 \"hello world\" }}|{{ "
     "abbrevboth 2 8 \"0123456789\" }}",
     NULL, "abc|FBb|hel...|01234...", NULL},
    {"{{ abbrev 3 \"hello\" }}|{{ abbrev 20 \"hello\" }}|{{ abbrevboth 5 10 \"abcdefghijklmno\" }}",
     NULL, "hello|hello|...fghi...", NULL},
    {"{{ wrap 10 \"The quick brown fox jumps\" | quote }}", NULL,
     "\"The quick\\nbrown fox\\njumps\"", NULL},
    {"{{ wrapWith 5 \"\\t\" \"Hello World\" | quote }}", NULL, "\"Hello\\tWorld\"", NULL},
    {"{{ wrap 3 \"abcdefgh ij\" | quote }}|{{ wrapWith 3 \"|\" \"abcdefgh\" }}", NULL,
     "\"abcdefgh\\nij\"|abc|def|gh", NULL},
    {"{{ plural \"one\" \"many\" 1 }} {{ plural \"one\" \"many\" 0 }}", NULL, "one many", NULL},
    /* quote, squote, cat */
    {"{{ quote \"a\" }} {{ quote 1 }} {{ quote 1.5 }} {{ quote true }} {{ quote .missing }} {{ "
     "quote \"\" }} {{ quote \"a\\\"b\\\\c\\n\" }}",
     "{}", "\"a\" \"1\" \"1.5\" \"true\"  \"\" \"a\\\"b\\\\c\\n\"", NULL},
    {"{{ squote \"a\" }} {{ squote 1 }} {{ squote .missing }} {{ squote \"it's\" }}", "{}",
     "'a' '1'  'it's'", NULL},
    {"{{ quote \"a\" 2 nil \"c\" }}|{{ quote (list 1 \"x\") }}|{{ .f | quote }}",
     "{\"f\":1000000.0}", "\"a\" \"2\" \"c\"|\"[1 x]\"|\"1e+06\"", NULL},
    {"{{ cat \"a\" \"b\" nil 1 }}|{{ cat }}|{{ cat (list 1 2) 3.5 }}", NULL, "a b 1||[1 2] 3.5",
     NULL},
    /* indent, nindent */
    {"{{ indent 4 \"a\\nb\\n\" | quote }}", NULL, "\"    a\\n    b\\n    \"", NULL},
    {"{{ nindent 4 \"a\\nb\" | quote }}", NULL, "\"\\n    a\\n    b\"", NULL},
    {"{{ indent 2 \"\" | quote }}|{{ nindent 2 \"\" | quote }}", NULL, "\"  \"|\"\\n  \"", NULL},
    {"x:{{ \"a\\nb\" | nindent 2 }}", NULL, "x:\n  a\n  b", NULL},
    {"{{ indent -1 \"a\" }}", NULL, NULL, "strings: negative Repeat count"},
    /* toString */
    {"{{ toString 1 }} {{ toString 1.0 }} {{ toString 1e6 }} {{ toString nil }} {{ toString true "
     "}} {{ toString (list 1 \"a\") }} {{ toString (dict \"a\" 1) }}",
     NULL, "1 1 1e+06 <nil> true [1 a] map[a:1]", NULL},
};

static const struct fcase splitting[] = {
    {"{{ join \",\" (list \"a\" \"b\" 3) }}|{{ join \",\" (list) }}|{{ join \", \" .l }}|{{ join "
     "\",\" \"notalist\" }}",
     "{\"l\":[\"a\",\"b\",\"c\"]}", "a,b,3||a, b, c|notalist", NULL},
    {"{{ join \"-\" (list 1 nil 2) }}|{{ join \"-\" nil }}|{{ join \"-\" 5 }}", NULL, "1-2||5",
     NULL},
    {"{{ splitList \",\" \"a,,b\" }}|{{ splitList \",\" \"\" }}|{{ split \".\" \"a.b.c\" }}|{{ "
     "(splitn \".\" 2 \"a.b.c\")._1 }}",
     NULL, "[a  b]|[]|map[_0:a _1:b _2:c]|b.c", NULL},
    {"{{ splitList \"\" \"abc\" }}|{{ len (splitList \",\" \"\") }}|{{ splitn \",\" 0 \"a,b\" "
     "}}|{{ "
     "splitn \",\" -1 \"a,b\" }}",
     NULL, "[a b c]|1|map[]|map[_0:a _1:b]", NULL},
    {"{{ toStrings (list 1 nil \"a\") }}", NULL, "[1 a]", NULL},
    {"{{ sortAlpha (list \"b\" \"A\" \"a\" \"10\" \"9\") }}|{{ sortAlpha (list 3 1 2) }}|{{ "
     "sortAlpha \"x\" }}",
     NULL, "[10 9 A a b]|[1 2 3]|[x]", NULL},
};

static const struct fcase regex[] = {
    {"{{ regexMatch \"^v[0-9]+$\" \"v12\" }} {{ regexMatch \"[\" \"x\" }} {{ regexMatch \"a$\" "
     "\"a\\n\" }} {{ regexMatch \"(?m)a$\" \"a\\n\" }}",
     NULL, "true false false true", NULL},
    {"{{ mustRegexMatch \"[\" \"x\" }}", NULL, NULL,
     "error calling mustRegexMatch: error parsing regexp: "},
    {"{{ regexFind \"a.c\" \"xxabcyyadc\" }}|{{ regexFindAll \"a.c\" \"xxabcyyadc\" -1 }}|{{ "
     "regexFindAll \"a.c\" \"xxabcyyadc\" 1 }}|{{ regexFindAll \"a\" \"aa\" 0 }}",
     NULL, "abc|[abc adc]|[abc]|[]", NULL},
    {"{{ regexReplaceAll \"(-?[^a-z\\\\d\\\\-])+-?\" (lower \"My_Release.Name\") \"-\" }}", NULL,
     "my-release-name", NULL},
    {"{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}|{{ regexReplaceAll \"a(x*)b\" "
     "\"-ab-axxb-\" \"$1W\" }}|{{ regexReplaceAll \"(?P<n>b)\" \"abc\" \"[$n$$]\" }}",
     NULL, "-W-xxW-|---|a[b$]c", NULL},
    {"{{ regexReplaceAll \"x*\" \"abc\" \"-\" }}|{{ regexReplaceAll \"a|\" \"baaac\" \"-\" }}",
     NULL, "-a-b-c-|-b---c-", NULL},
    {"{{ regexReplaceAllLiteral \"\\\\.\" \"a.b\" \"$1\" }}|{{ regexSplit \"\\\\s+\" \"a  b c\" -1 "
     "}}|{{ regexQuoteMeta \"a.b*\" }}",
     NULL, "a$1b|[a b c]|a\\.b\\*", NULL},
    {"{{ regexSplit \"a\" \"banana\" 2 }}|{{ regexSplit \"\" \"abc\" -1 }}|{{ regexSplit \"x\" "
     "\"\" "
     "-1 | len }}|{{ regexFindAll \"\" \"ab\" -1 | len }}",
     NULL, "[b nana]|[a b c]|1|3", NULL},
    {"{{ regexFind \"(?=a)\" \"a\" }}", NULL, NULL,
     "regexp: Compile(`(?=a)`): error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
    {"{{ regexFind \"(a)\\\\1\" \"aa\" }}", NULL, NULL, "invalid escape sequence: `\\1`"},
    {"{{ regexFindAll \"\\\\d+\" \"a1b22\\u00e9333\" -1 }}|{{ regexFind \"(?i)HELLO\" \"say "
     "hello\" "
     "}}|{{ regexFind \"[[:alpha:]]+\" \"12ab3\" }}",
     NULL, "[1 22 333]|hello|ab", NULL},
};

/* Go's path package (expectations from helm 3.17). */
static const struct fcase paths[] = {
    {"{{ base \"/a/b.txt\" }} {{ dir \"/a/b.txt\" }} {{ ext \"b.tar.gz\" }} {{ clean "
     "\"/a/../b/./c/\" }} {{ isAbs \"/a\" }}",
     NULL, "b.txt /a .gz /b/c true", NULL},
    {"{{ base \"\" }}|{{ base \"///\" }}|{{ base \"a/b/\" }}|{{ dir \"\" }}|{{ dir \"a\" }}|{{ dir "
     "\"/\" }}|{{ dir \"a/b/\" }}|{{ ext \"a/b\" }}|{{ ext \"a.b/c\" }}|{{ ext \".x\" }}|{{ isAbs "
     "\"a\" }}",
     NULL, ".|/|b|.|.|/|a/b|||.x|false", NULL},
    {"{{ clean \"\" }}|{{ clean \"a//b\" }}|{{ clean \"../../a\" }}|{{ clean \"/../a\" }}|{{ clean "
     "\"a/../..\" }}|{{ clean \"./\" }}|{{ clean \"a/./b/../c\" }}|{{ clean \"//a//\" }}|{{ clean "
     "\"a/..\" }}",
     NULL, ".|a/b|../../a|/a|..|.|a/c|/a|.", NULL},
    {"{{ osBase \"/x/y\" }} {{ osDir \"/x/y\" }} {{ osExt \"f.md\" }} {{ osClean \"x/./y\" }} {{ "
     "osIsAbs \"/\" }}",
     NULL, "y /x .md x/y true", NULL},
};

static void test_paths(void **state)
{
    FUNCS_RUN(paths);
}

static void test_basic(void **state)
{
    FUNCS_RUN(basic);
}

static void test_splitting(void **state)
{
    FUNCS_RUN(splitting);
}

static void test_regex(void **state)
{
    FUNCS_RUN(regex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_splitting),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
