/*
 * test_digest_base64.c: our own SHA-256 against digests computed by Python's
 * hashlib for lengths around the block and padding edges, and base64
 * encode/decode round trips, padding rules and bad input.
 */
#include "core/base64.h"
#include "core/digest.h"
#include "core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct {
    size_t len;
    const char *hex;
} vectors[] = {
    {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"},
    {3, "6ab0dba1f4f1dfbb37b4f9eeb092c09fca4900ad32bdcd147d8dde35d6c87c35"},
    {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
    {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
    {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
    {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
    {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
    {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
    {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
    {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
    {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
    {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
};

static void test_sha256_vectors(void **state)
{
    (void)state;
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)((i * 7 + 3) & 255);
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        char hex[65];
        assert_int_equal(ks_sha256_hex(hex, data, vectors[v].len), 0);
        assert_string_equal(hex, vectors[v].hex);
    }
    char hex[65];
    ks_sha256_hex(hex, "abc", 3);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_base64_round_trip(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"\xfb\xff", "+/8=", "-_8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *enc = NULL, *dec = NULL;
        size_t n = 0;
        bool url = i == 5;
        assert_int_equal(ks_base64_encode(&enc, cases[i][0], strlen(cases[i][0]), false, true), 0);
        assert_string_equal(enc, cases[i][1]);
        free(enc);
        assert_int_equal(ks_base64_encode(&enc, cases[i][0], strlen(cases[i][0]), url, false), 0);
        assert_string_equal(enc, cases[i][2]);
        free(enc);
        assert_int_equal(ks_base64_decode(&dec, &n, cases[i][1], strlen(cases[i][1]), false), 0);
        assert_int_equal(n, strlen(cases[i][0]));
        assert_memory_equal(dec, cases[i][0], n);
        free(dec);
        assert_int_equal(ks_base64_decode(&dec, &n, cases[i][2], strlen(cases[i][2]), url), 0);
        assert_memory_equal(dec, cases[i][0], n);
        free(dec);
    }
}

static void test_base64_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"Z", "Zg=", "Zm9v=", "Zg===", "Zm 9v", "Zm9v\n", "+/8=x", "Z===", "_-8="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *dec = NULL;
        size_t n = 0;
        assert_int_equal(ks_base64_decode(&dec, &n, bad[i], strlen(bad[i]), false), KS_EINVALID);
        assert_null(dec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_base64_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
