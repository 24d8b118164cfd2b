/*
 * test_chart_archive.c: chart archives: the gzip/DEFLATE decoder, the tar
 * reader (GNU long names, pax path headers, path escapes, limits) and
 * loading a chart from an in-memory .tgz. Fixtures are small archives made
 * by Python's tarfile/gzip modules, embedded as bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "renderer/chart/chart.h"

static const unsigned char gnu_tgz[] = {
    31,  139, 8,   0,   0,   0,   0,   0,   2,   3,   237, 215, 193, 106, 131, 48,  28,  199, 241,
    156, 125, 138, 60,  65,  76,  82,  141, 224, 105, 208, 171, 187, 246, 30,  58,  219, 133, 154,
    40,  154, 74,  247, 246, 141, 131, 173, 16,  24,  158, 116, 160, 191, 207, 37,  146, 139, 135,
    248, 253, 7,   173, 113, 38,  61,  126, 234, 222, 179, 47,  109, 27,  178, 4,   30,  168, 44,
    251, 94,  131, 120, 229, 188, 144, 175, 231, 105, 95,  240, 92,  229, 132, 114, 178, 130, 251,
    224, 117, 79,  41,  217, 41,  221, 153, 83,  221, 15,  166, 117, 37,  29,  101, 226, 180, 173,
    75,  106, 195, 71,  145, 140, 63,  219, 130, 73,  118, 72,  116, 215, 157, 94,  59,  130, 39,
    4,   54,  96,  58,  234, 116, 212, 205, 189, 30,  22,  27,  0,   179, 253, 243, 60,  234, 95,
    112, 81,  160, 255, 85,  250, 15,  53,  35,  229, 157, 247, 239, 107, 219, 53,  218, 215, 67,
    122, 182, 11,  76,  129, 217, 254, 37,  143, 250, 151, 66,  72,  244, 191, 134, 155, 113, 31,
    37,  61,  182, 238, 98,  174, 239, 186, 195, 40,  216, 25,  150, 178, 244, 173, 106, 221, 181,
    50,  238, 182, 208, 59,  254, 232, 254, 183, 121, 41,  162, 254, 121, 81,  100, 138, 208, 10,
    253, 175, 51,  255, 47,  166, 9,   179, 255, 241, 79,  152, 127, 120, 132, 184, 225, 243, 159,
    189, 255, 69,  244, 255, 127, 200, 148, 84,  184, 255, 215, 208, 132, 209, 79,  167, 191, 126,
    220, 252, 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   155, 242, 4,   153, 219, 100, 203,
    0,   40,  0,   0};
static const unsigned char pax_tar_gz[] = {
    31,  139, 8,   0,   0,   0,   0,   0,   4,   3,   237, 214, 65,  11,  130, 48,  24,  6,   224,
    157, 253, 21,  251, 5,   219, 183, 153, 5,   65,  16,  116, 233, 216, 169, 251, 7,   9,   9,
    105, 162, 43,  236, 223, 55,  13,  133, 12,  58,  101, 5,   123, 191, 139, 110, 202, 212, 199,
    189, 206, 60,  43,  50,  189, 57,  114, 229, 212, 141, 243, 147, 152, 162, 200, 215, 124, 54,
    19,  237, 214, 215, 120, 75,  148, 152, 190, 239, 113, 220, 208, 220, 90,  33,  105, 138, 155,
    25,  143, 121, 169, 29,  87,  254, 242, 227, 254, 64,  218, 92,  102, 251, 180, 170, 179, 115,
    177, 148, 87,  27,  21,  156, 167, 75,  153, 251, 73,  17,  93,  251, 110, 163, 172, 138, 163,
    64,  60,  66,  123, 76,  165, 149, 94,  239, 184, 217, 166, 124, 72,  171, 105, 158, 190, 75,
    253, 107, 238, 135, 204, 219, 36,  30,  246, 187, 239, 131, 33,  107, 18,  33,  155, 105, 110,
    231, 121, 212, 192, 243, 111, 22,  70,  150, 236, 142, 171, 54,  243, 250, 160, 111, 127, 89,
    202, 53,  14,  95,  160, 231, 137, 251, 153, 214, 55,  94,  123, 155, 255, 183, 235, 63,  13,
    255, 6,   237, 169, 130, 226, 196, 144, 207, 255, 87,  214, 228, 192, 243, 95,  114, 131, 96,
    125, 38,  74,  24,  5,   2,   16,  128, 0,   4,   32,  0,   1,   8,   64,  0,   2,   16,  128,
    0,   4,   32,  0,   1,   8,   64,  0,   2,   16,  128, 0,   4,   32,  0,   1,   8,   64,  0,
    2,   16,  128, 192, 79,  5,   238, 144, 129, 55,  94,  0,   40,  0,   0};
static const unsigned char evil_tgz[] = {
    31,  139, 8,   0,   0,   0,   0,   0,   2,   3,   237, 205, 49,  10,  194, 64,  20,  4,   208,
    127, 20,  79,  176, 217, 37,  193, 11,  120, 146, 45,  4,   133, 216, 196, 40,  122, 123, 63,
    86,  98,  45,  130, 248, 94,  51,  195, 52,  83,  202, 176, 191, 30,  231, 97,  119, 232, 203,
    90,  238, 253, 52,  199, 199, 213, 180, 157, 166, 103, 166, 247, 76,  237, 165, 231, 222, 90,
    29,  199, 216, 212, 248, 130, 203, 121, 237, 75,  222, 199, 127, 186, 5,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   191, 232, 1,   163, 186, 173, 11,  0,   40,  0,   0};

static struct ks_chart_limits limits(size_t bytes, unsigned files)
{
    struct ks_chart_limits l;
    ks_chart_limits_init(&l, bytes, files, 16);
    return l;
}

/* Decompresses and reads a fixture into files. */
static void unpack(struct ks_chart_files *files, const unsigned char *gz, size_t gz_len)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    assert_int_equal(ks_gunzip(&raw, &len, gz, gz_len, 1 << 20, "t.tgz"), 0);
    assert_true(len > 0 && len % 512 == 0);
    struct ks_chart_limits l = limits(1 << 20, 100);
    assert_int_equal(ks_tar_read(files, raw, len, "t.tgz", &l), 0);
    free(raw);
}

static void test_gunzip_and_tar_gnu(void **state)
{
    (void)state;
    struct ks_chart_files files = {0};
    unpack(&files, gnu_tgz, sizeof(gnu_tgz));
    assert_int_equal(files.n, 4);
    assert_string_equal(files.v[0].name, "mini/Chart.yaml");
    assert_string_equal(files.v[2].name, "mini/templates/cm.yaml");
    assert_string_equal(files.v[2].data, "kind: ConfigMap\n");
    assert_int_equal(strlen(files.v[3].name), strlen("mini/files/") + 120 + 4);
    assert_string_equal(files.v[3].data, "long name\n");
    ks_chart_files_release(&files);
}

static void test_pax_path(void **state)
{
    (void)state;
    struct ks_chart_files files = {0};
    unpack(&files, pax_tar_gz, sizeof(pax_tar_gz));
    assert_int_equal(files.n, 2);
    assert_int_equal(strlen(files.v[1].name), strlen("mini/d/") + 150 + 4);
    assert_string_equal(files.v[1].data, "pax\n");
    ks_chart_files_release(&files);
}

static void test_limits_and_escapes(void **state)
{
    (void)state;
    unsigned char *raw = NULL;
    size_t len = 0;
    /* decompression stops at the cap */
    assert_int_equal(ks_gunzip(&raw, &len, gnu_tgz, sizeof(gnu_tgz), 1000, "t"), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "more than 1000 bytes"));
    /* corrupt stream */
    unsigned char bad[sizeof(gnu_tgz)];
    memcpy(bad, gnu_tgz, sizeof(bad));
    bad[sizeof(bad) - 5] ^= 0xff;
    assert_int_equal(ks_gunzip(&raw, &len, bad, sizeof(bad), 1 << 20, "t"), KS_EINVALID);
    assert_int_equal(ks_gunzip(&raw, &len, (const unsigned char *)"nope", 4, 1 << 20, "t"),
                     KS_EINVALID);

    struct ks_chart *c = NULL;
    struct ks_chart_limits l = limits(1 << 20, 100);
    assert_int_equal(
        ks_chart_load_archive(&c, (const char *)evil_tgz, sizeof(evil_tgz), "e", &l, 0),
        KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "escapes the chart"));

    l = limits(1 << 20, 2);
    assert_int_equal(ks_chart_load_archive(&c, (const char *)gnu_tgz, sizeof(gnu_tgz), "t", &l, 0),
                     KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 2"));
    l = limits(10500, 100); /* the tar itself is 10240 bytes: content over 10500 - ... */
    l.used_bytes = 10450;
    assert_int_equal(ks_chart_load_archive(&c, (const char *)gnu_tgz, sizeof(gnu_tgz), "t", &l, 0),
                     KS_ELIMIT);
}

static void test_load_archive(void **state)
{
    (void)state;
    struct ks_chart *c = NULL;
    struct ks_chart_limits l = limits(1 << 20, 100);
    assert_int_equal(ks_chart_load_archive(&c, (const char *)gnu_tgz, sizeof(gnu_tgz), "t", &l, 0),
                     0);
    assert_string_equal(c->name, "mini");
    assert_string_equal(json_string_value(json_object_get(c->meta, "AppVersion")), "1.1");
    assert_string_equal(json_string_value(json_object_get(c->meta, "APIVersion")), "v2");
    assert_int_equal(c->templates.n, 1);
    assert_string_equal(c->templates.v[0].name, "templates/cm.yaml");
    assert_int_equal(c->files.n, 1);
    assert_true(json_is_number(json_object_get(c->values, "a")));
    ks_chart_free(c);
}

static void test_load_archive_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ks-chart-archive-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, gnu_tgz, sizeof(gnu_tgz)), (ssize_t)sizeof(gnu_tgz));
    close(fd);
    struct ks_chart *c = NULL;
    struct ks_chart_limits l = limits(1 << 20, 100);
    assert_int_equal(ks_chart_load(&c, path, &l), 0);
    assert_string_equal(c->name, "mini");
    assert_int_equal(c->templates.n, 1);
    ks_chart_free(c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gunzip_and_tar_gnu), cmocka_unit_test(test_pax_path),
        cmocka_unit_test(test_limits_and_escapes), cmocka_unit_test(test_load_archive),
        cmocka_unit_test(test_load_archive_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
