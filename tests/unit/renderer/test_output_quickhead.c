/*
 * test_output_quickhead.c: the fast head scanner (renderer/output/quickhead.c)
 * against the full parser. Whenever the scanner says "valid", the full
 * parse (ks_helmyaml_parse and helm's SimpleHead rules) must succeed and give
 * the same kind and hook annotation. Checked on every document of every YAML
 * and text file of the shared helm conformance material and the renderer's
 * test data, on hand-written tricky documents, and on ~20,000 random
 * mutations of the accepted documents (deleted and inserted characters,
 * YAML indicators, changed indentation, swapped lines). The scanner must
 * also accept every document of the `helm create` output, or the speed-up
 * would silently be gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>

#include "core/error.h"
#include "core/str.h"
#include "renderer/goenc.h"
#include "renderer/output/output.h"

#define HELM_DIR KS_SOURCE_DIR "/../shared/conformance/helm"
#define DATA_DIR KS_SOURCE_DIR "/tests/data/renderer"

static bool is_scalar(const json_t *v)
{
    return !v || (!json_is_object(v) && !json_is_array(v));
}

/* The full path: parse, then helm's SimpleHead checks (manifest.c's
 * read_head). Returns 0 with kind and hook set, -1 on any error. */
static int full_head(struct ks_output_head *out, const char *text, size_t len)
{
    json_t *doc = NULL;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (ks_helmyaml_parse(&doc, text, len, "t.yaml", 0) < 0)
        return -1;
    if (json_is_null(doc)) {
        rc = 0;
        goto done;
    }
    if (!json_is_object(doc) || !is_scalar(json_object_get(doc, "apiVersion")))
        goto done;
    const json_t *k = json_object_get(doc, "kind");
    if (!is_scalar(k))
        goto done;
    if (json_is_string(k))
        snprintf(out->kind, sizeof(out->kind), "%s", json_string_value(k));
    const json_t *meta = json_object_get(doc, "metadata");
    if (meta && !json_is_null(meta)) {
        if (!json_is_object(meta) || !is_scalar(json_object_get(meta, "name")))
            goto done;
        const json_t *ann = json_object_get(meta, "annotations");
        if (ann && !json_is_null(ann)) {
            if (!json_is_object(ann))
                goto done;
            const char *key;
            json_t *val;
            json_object_foreach((json_t *)ann, key, val)
            {
                if (!is_scalar(val))
                    goto done;
            }
            const json_t *h = json_object_get(ann, "helm.sh/hook");
            if (h) {
                out->has_hook = true;
                snprintf(out->hook, sizeof(out->hook), "%s",
                         json_is_string(h) ? json_string_value(h) : "");
            }
        }
    }
    rc = 0;
done:
    json_decref(doc);
    return rc;
}

static size_t n_docs, n_quick, n_mutants, n_mutants_quick, n_failures;

/* The property: quick "valid" implies full "valid" with the same head. */
static bool check(const char *text, size_t len, const char *what)
{
    struct ks_output_head q, f;
    if (!ks_output_quick_head(&q, text, len))
        return false;
    int rc = full_head(&f, text, len);
    if (rc < 0 || strcmp(q.kind, f.kind) != 0 || q.has_hook != f.has_hook ||
        (q.has_hook && strcmp(q.hook, f.hook) != 0)) {
        n_failures++;
        if (n_failures <= 5)
            fprintf(stderr,
                    "quick head disagrees (%s): full rc %d (%s), kind %s/%s, hook %d:%s/%d:%s\n"
                    "----\n%.*s\n----\n",
                    what, rc, rc < 0 ? ks_error_last() : "", q.kind, f.kind, q.has_hook, q.hook,
                    f.has_hook, f.hook, (int)len, text);
    }
    return true;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static const char *const inserts[] = {
    " ",   ":",   ": ", "-",   "- ",   "#",   " #",       "\"", "'",   "|",
    ">",   "\n",  "  ", "{",   "}",    "[",   "]",        "&",  "*",   "!",
    "?",   ",",   "%",  "@",   "`",    "\\",  "\t",       "~",  "\n-", "\n  ",
    "---", "...", "''", "\\x", ".inf", "yes", "\xc3\xa9", "\r", "<<",  "0x",
};

/* One random mutation of text into buf (cap bytes); returns its length. */
static size_t mutate(char *buf, size_t cap, const char *text, size_t len)
{
    size_t pos = len ? next_rand() % len : 0;
    size_t n = 0;
    switch (next_rand() % 5) {
    case 0: /* delete 1-3 characters */
    {
        size_t d = 1 + next_rand() % 3;
        if (pos + d > len)
            d = len - pos;
        memcpy(buf, text, pos);
        memcpy(buf + pos, text + pos + d, len - pos - d);
        return len - d;
    }
    case 1:
    case 2: { /* insert an indicator */
        const char *ins = inserts[next_rand() % (sizeof(inserts) / sizeof(inserts[0]))];
        size_t il = strlen(ins);
        if (len + il > cap)
            return 0;
        memcpy(buf, text, pos);
        memcpy(buf + pos, ins, il);
        memcpy(buf + pos + il, text + pos, len - pos);
        return len + il;
    }
    case 3: { /* change the indentation of a line by -2..+2 */
        while (pos > 0 && text[pos - 1] != '\n')
            pos--;
        int delta = (int)(next_rand() % 5) - 2;
        memcpy(buf, text, pos);
        n = pos;
        if (delta > 0) {
            if (len + 2 > cap)
                return 0;
            memset(buf + n, ' ', (size_t)delta);
            n += (size_t)delta;
        } else {
            for (int i = 0; i < -delta && pos < len && text[pos] == ' '; i++)
                pos++;
        }
        memcpy(buf + n, text + pos, len - pos);
        return n + len - pos;
    }
    default: { /* swap this line with the next */
        while (pos > 0 && text[pos - 1] != '\n')
            pos--;
        const char *e1 = memchr(text + pos, '\n', len - pos);
        if (!e1)
            break;
        const char *s2 = e1 + 1;
        const char *e2 = memchr(s2, '\n', (size_t)(text + len - s2));
        if (!e2)
            e2 = text + len;
        memcpy(buf, text, pos);
        n = pos;
        memcpy(buf + n, s2, (size_t)(e2 - s2));
        n += (size_t)(e2 - s2);
        buf[n++] = '\n';
        memcpy(buf + n, text + pos, (size_t)(e1 - (text + pos)));
        n += (size_t)(e1 - (text + pos));
        memcpy(buf + n, e2, (size_t)(text + len - e2));
        return n + (size_t)(text + len - e2);
    }
    }
    memcpy(buf, text, len);
    return len;
}

#define MUTANTS_PER_DOC 20

static void check_doc(const char *text, size_t len, const char *path)
{
    n_docs++;
    if (!check(text, len, path))
        return;
    n_quick++;
    size_t cap = len + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int m = 0; m < MUTANTS_PER_DOC; m++) {
        size_t ml = mutate(buf, cap, text, len);
        if (ml == 0)
            continue;
        n_mutants++;
        if (check(buf, ml, path))
            n_mutants_quick++;
        /* a second mutation on top of the first */
        char *buf2 = malloc(ml + 64);
        assert_non_null(buf2);
        size_t ml2 = mutate(buf2, ml + 64, buf, ml);
        if (ml2 > 0) {
            n_mutants++;
            if (check(buf2, ml2, path))
                n_mutants_quick++;
        }
        free(buf2);
    }
    free(buf);
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    if (ks_file_read(&data, len, path, 1024 * 1024) < 0)
        return NULL;
    return data;
}

static void check_file(const char *path)
{
    size_t len;
    char *data = slurp(path, &len);
    if (!data)
        return; /* larger than 1 MiB or unreadable: not a manifest */
    struct ks_output_doc *docs = NULL;
    size_t n = 0;
    if (ks_output_split(&docs, &n, data, len) == 0)
        for (size_t i = 0; i < n; i++)
            check_doc(docs[i].text, strlen(docs[i].text), path);
    ks_output_docs_free(docs, n);
    free(data);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    size_t n = strlen(path);
    if ((n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
        (n > 4 && strcmp(path + n - 4, ".yml") == 0) ||
        (n > 4 && strcmp(path + n - 4, ".txt") == 0))
        check_file(path);
    return 0;
}

static void test_corpus(void **state)
{
    (void)state;
    assert_int_equal(nftw(HELM_DIR, visit, 16, FTW_PHYS), 0);
    assert_int_equal(nftw(DATA_DIR, visit, 16, FTW_PHYS), 0);
    fprintf(stderr,
            "quick head: %zu documents, %zu read quickly; %zu mutants, %zu read quickly; %zu "
            "disagreements\n",
            n_docs, n_quick, n_mutants, n_mutants_quick, n_failures);
    assert_int_equal(n_failures, 0);
    /* the material is mostly manifests: most must take the quick path */
    assert_true(n_quick * 2 > n_docs);
    assert_true(n_mutants_quick > 1000);
}

/* Every document helm create renders is read quickly. */
static void test_helm_create_all_quick(void **state)
{
    (void)state;
    size_t len;
    char *data = slurp(HELM_DIR "/helm-create-default/expected.txt", &len);
    assert_non_null(data);
    struct ks_output_doc *docs = NULL;
    size_t n = 0;
    assert_int_equal(ks_output_split(&docs, &n, data, len), 0);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        struct ks_output_head q, f;
        size_t dl = strlen(docs[i].text);
        assert_int_equal(ks_output_quick_head(&q, docs[i].text, dl), 1);
        assert_int_equal(full_head(&f, docs[i].text, dl), 0);
        assert_string_equal(q.kind, f.kind);
        assert_int_equal(q.has_hook, f.has_hook);
        if (q.has_hook)
            assert_string_equal(q.hook, f.hook);
    }
    ks_output_docs_free(docs, n);
    free(data);
}

/* Hand-written documents: each either read quickly with the given kind, or
 * (kind NULL) left to the full parser. */
static void test_cases(void **state)
{
    (void)state;
    static const struct {
        const char *text, *kind, *hook;
    } cases[] = {
        {"kind: Pod\nmetadata:\n  name: a\n", "Pod", NULL},
        {"kind: 'Pod'\nmetadata:\n  name: \"a b\"\n", "Pod", NULL},
        {"kind: Pod\nmetadata:\n  annotations:\n    \"helm.sh/hook\": pre-install,test\n", "Pod",
         "pre-install,test"},
        {"kind: Job\nspec:\n  x:\n  - a\n  - b: |\n      text: here\n      # not a comment\n"
         "    c: {}\n  z: []\n",
         "Job", NULL},
        {"a:\n- x\nb: 1\n", "", NULL},
        {"kind: Pod\nargs: ['a', \"b\", --c, -1]\n", "Pod", NULL},
        {"a: [a, ]\n", NULL, NULL}, /* trailing comma */
        {"a: [1, .inf]\n", NULL, NULL},
        {"a: [1, -.inf]\n", NULL, NULL},
        {"- a\n", NULL, NULL},                  /* not a mapping */
        {"kind: [Pod]\n", NULL, NULL},          /* flow sequence */
        {"kind: Pod\nkind: Job\n", NULL, NULL}, /* repeated head key */
        {"kind: yes\n", NULL, NULL},            /* a bool */
        {"a: .inf\n", NULL, NULL},              /* JSON cannot carry it */
        {"a: b\n  c: d\n", NULL, NULL},         /* bad indentation */
        {"a: b: c\n", NULL, NULL},              /* mapping value */
        {"a:\n\tb: 1\n", NULL, NULL},           /* tab */
        {"a: \"x\n  y\"\n", NULL, NULL},        /* multi-line quoted */
        {"a: &x 1\nb: *x\n", NULL, NULL},       /* anchors */
        {"metadata: x\n", NULL, NULL},          /* metadata not a map */
        {"metadata:\n  annotations:\n    a:\n      b: c\n", NULL, NULL},
        {"a: |\n\n  x\n", NULL, NULL},     /* leading empty line */
        {"a: 1\n---\nb: 2\n", NULL, NULL}, /* a second document */
        {"a: caf\xc3\xa9\n", NULL, NULL},  /* non-ASCII */
        {"y: 1\n", NULL, NULL},            /* a bool key */
        {"# only a comment\n", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ks_output_head q;
        int r = ks_output_quick_head(&q, cases[i].text, strlen(cases[i].text));
        if (!cases[i].kind) {
            if (r != 0)
                fail_msg("case %zu read quickly: %s", i, cases[i].text);
            continue;
        }
        if (r != 1)
            fail_msg("case %zu not read quickly: %s", i, cases[i].text);
        assert_string_equal(q.kind, cases[i].kind);
        assert_int_equal(q.has_hook, cases[i].hook != NULL);
        if (cases[i].hook)
            assert_string_equal(q.hook, cases[i].hook);
        assert_true(check(cases[i].text, strlen(cases[i].text), "case"));
    }
    assert_int_equal(n_failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_helm_create_all_quick),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
