/*
 * test_funcs_crypto.c: functions whose output is random (rand*, uuidv4,
 * shuffle, bcrypt/htpasswd, genPrivateKey, genCA, genSelfSignedCert,
 * genSignedCert, buildCustomCert), checked by properties: lengths and
 * alphabets, uuid version bits, bcrypt hashes that verify, PEM that
 * OpenSSL parses, CA flags, issuers, signatures, SANs and validity days.
 */
#include "test_funcs_run.h"

#include <crypt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static void all_in(const char *s, const char *alphabet)
{
    for (; *s; s++)
        if (!strchr(alphabet, *s))
            fail_msg("unexpected character '%c'", *s);
}

static void test_random_strings(void **state)
{
    char *s = funcs_output("{{ randAlphaNum 64 }}", NULL);
    assert_int_equal(strlen(s), 64);
    all_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    char *t = funcs_output("{{ randAlphaNum 64 }}", NULL);
    assert_string_not_equal(s, t);
    free(s);
    free(t);
    s = funcs_output("{{ randAlpha 40 }}|{{ randNumeric 40 }}|{{ randAscii 40 }}", NULL);
    assert_int_equal(strlen(s), 122);
    s[40] = s[81] = '\0';
    all_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    all_in(s + 41, "0123456789");
    for (const char *p = s + 82; *p; p++)
        assert_true(*p >= 32 && *p < 127);
    free(s);
    s = funcs_output(
        "[{{ randAlphaNum 0 }}][{{ randAlpha -1 }}] {{ randInt 5 6 }} {{ shuffle \"aab\" "
        "| len }} {{ shuffle \"\" }}",
        NULL);
    assert_string_equal(s, "[][] 5 3 ");
    free(s);
    struct ks_buf out;
    assert_int_not_equal(funcs_render(&out, "{{ randInt 5 5 }}", NULL), 0);
    assert_non_null(strstr(ks_error_last(), "invalid argument to Intn"));
    ks_buf_release(&out);
    assert_int_not_equal(funcs_render(&out, "{{ randAlphaNum .n }}", "{\"n\":3.0}"), 0);
    assert_non_null(strstr(ks_error_last(), "expected int; got float64"));
    ks_buf_release(&out);
}

static void test_uuid(void **state)
{
    char *s = funcs_output("{{ uuidv4 }}", NULL);
    assert_int_equal(strlen(s), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(s[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", s[i]));
    }
    assert_int_equal(s[14], '4');
    assert_non_null(strchr("89ab", s[19]));
    char *t = funcs_output("{{ uuidv4 }}", NULL);
    assert_string_not_equal(s, t);
    free(s);
    free(t);
}

static void test_htpasswd(void **state)
{
    char *s = funcs_output("{{ htpasswd \"user\" \"pass\" }}", NULL);
    assert_int_equal(strlen(s), 65); /* as helm: user: + 60-byte bcrypt */
    assert_int_equal(strncmp(s, "user:$2a$10$", 12), 0);
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    assert_non_null(cd);
    const char *again = crypt_r("pass", s + 5, cd);
    assert_non_null(again);
    assert_string_equal(again, s + 5);
    free(cd);
    free(s);
    s = funcs_output("{{ htpasswd \"a:b\" \"x\" }}|{{ bcrypt \"x\" | len }}|{{ bcrypt (repeat 73 "
                     "\"x\") }}",
                     NULL);
    assert_string_equal(s, "invalid username: a:b|60|failed to encrypt string with bcrypt: bcrypt: "
                           "password length exceeds 72 bytes");
    free(s);
}

static X509 *parse_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(k);
    return k;
}

static int validity_days(X509 *x)
{
    int days = 0, secs = 0;
    assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
    assert_int_equal(secs, 0);
    return days;
}

static void expect_cn(X509 *x, const char *cn)
{
    char buf[256];
    assert_true(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, cn);
}

/* Splits "CERT\n@@\nKEY" output of a template into its parts. */
static void split2(char *s, char **a, char **b)
{
    char *sep = strstr(s, "@@");
    assert_non_null(sep);
    *sep = '\0';
    *a = s;
    *b = sep + 2;
}

static void test_certificates(void **state)
{
    char *s = funcs_output("{{ $ca := genCA \"my-ca\" 365 }}{{ $c := genSignedCert \"srv\" (list "
                           "\"10.0.0.1\" \"::1\") (list \"a.example\" \"b.example\") 30 $ca }}"
                           "{{ $ca.Cert }}@@{{ $c.Cert }}@@{{ $c.Key }}",
                           NULL);
    char *ca_pem, *rest, *cert_pem, *key_pem;
    split2(s, &ca_pem, &rest);
    split2(rest, &cert_pem, &key_pem);
    assert_non_null(strstr(key_pem, "-----BEGIN RSA PRIVATE KEY-----"));
    X509 *ca = parse_cert(ca_pem), *cert = parse_cert(cert_pem);
    EVP_PKEY *key = parse_key(key_pem);
    expect_cn(ca, "my-ca");
    expect_cn(cert, "srv");
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(cert), 0);
    assert_int_equal(validity_days(ca), 365);
    assert_int_equal(validity_days(cert), 30);
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_issued(ca, cert), X509_V_OK);
    assert_int_equal(X509_check_private_key(cert, key), 1);
    assert_int_equal(EVP_PKEY_get_bits(key), 2048);
    assert_int_equal(X509_check_host(cert, "b.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(cert, "10.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
    assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER);
    assert_true(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    assert_false(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN);
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(s);

    s = funcs_output("{{ $c := genSelfSignedCert \"self\" nil (list \"x.test\") 7 }}{{ $c.Cert "
                     "}}@@{{ $c.Key }}",
                     NULL);
    split2(s, &cert_pem, &key_pem);
    cert = parse_cert(cert_pem);
    key = parse_key(key_pem);
    expect_cn(cert, "self");
    assert_int_equal(validity_days(cert), 7);
    assert_int_equal(X509_verify(cert, key), 1);
    assert_int_equal(X509_check_host(cert, "x.test", 0, 0, NULL), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(s);

    /* buildCustomCert round-trips a CA given as base64 */
    s = funcs_output("{{ $ca := genCA \"c\" 1 }}{{ $b := buildCustomCert (b64enc $ca.Cert) (b64enc "
                     "$ca.Key) }}{{ eq $b.Cert $ca.Cert }} {{ eq $b.Key $ca.Key }}",
                     NULL);
    assert_string_equal(s, "true true");
    free(s);
}

static void test_certificate_errors(void **state)
{
    static const struct fcase errors[] = {
        {"{{ genSignedCert \"x\" nil nil 1 (dict \"Cert\" \"no\" \"Key\" \"no\") }}", NULL, NULL,
         "wrong type for value; expected sprig.certificate; got map[string]interface {}"},
        {"{{ genCA \"x\" 1 | typeOf }} {{ genCA \"x\" 1 | kindOf }}", NULL,
         "sprig.certificate struct", NULL},
        {"{{ genSignedCert \"x\" nil nil 1 (dict) }}", NULL, NULL,
         "wrong type for value; expected sprig.certificate; got map[string]interface {}"},
        {"{{ genSelfSignedCert \"x\" (list 1) nil 1 }}", NULL, NULL,
         "error parsing ip: 1 is not a string"},
        {"{{ genSelfSignedCert \"x\" nil (list true) 1 }}", NULL, NULL,
         "error processing alternate dns name: true is not a string"},
        {"{{ buildCustomCert \"!\" \"\" }}", NULL, NULL, "unable to decode base64 certificate"},
        {"{{ genPrivateKey \"foo\" }}", NULL, "Unknown type foo", NULL},
    };
    FUNCS_RUN(errors);
}

static void test_private_keys(void **state)
{
    char *s = funcs_output("{{ genPrivateKey \"ecdsa\" }}@@{{ genPrivateKey \"ed25519\" }}", NULL);
    char *ec, *ed;
    split2(s, &ec, &ed);
    assert_non_null(strstr(ec, "-----BEGIN EC PRIVATE KEY-----"));
    assert_non_null(strstr(ed, "-----BEGIN PRIVATE KEY-----"));
    EVP_PKEY *k = parse_key(ec);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY_free(k);
    k = parse_key(ed);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_ED25519);
    EVP_PKEY_free(k);
    free(s);
    s = funcs_output("{{ genPrivateKey \"rsa\" }}", NULL);
    assert_non_null(strstr(s, "-----BEGIN RSA PRIVATE KEY-----"));
    k = parse_key(s);
    assert_int_equal(EVP_PKEY_get_bits(k), 4096);
    EVP_PKEY_free(k);
    free(s);
}

/* derivePassword is deterministic: outputs of helm 3.17. */
static const struct fcase derive[] = {
    {"{{ derivePassword 1 \"long\" \"password\" \"user\" \"example.com\" }} {{ derivePassword 2 "
     "\"maximum\" \"pw\" \"me\" \"site\" }} {{ derivePassword 1 \"medium\" \"a\" \"b\" \"c\" }} {{ "
     "derivePassword 3 \"short\" \"a\" \"b\" \"c\" }} {{ derivePassword 1 \"basic\" \"x\" \"y\" "
     "\"z\" }} {{ derivePassword 9 \"pin\" \"1\" \"2\" \"3\" }} {{ derivePassword 1 \"nope\" \"a\" "
     "\"b\" \"c\" }}",
     NULL,
     "ZedaFaxcZaso9* F8^Sy5GJpRV#TC7NJtai NamNij2@ Siw8 yY07YHq4 2843 cannot find password "
     "template nope",
     NULL},
};

static void test_derive_password(void **state)
{
    FUNCS_RUN(derive);
}

/* encryptAES/decryptAES: helm's ciphertext decrypts; errors as helm's. */
static void test_aes(void **state)
{
    static const struct fcase cases[] = {
        {"{{ decryptAES \"secretkey\" "
         "\"/9TAM67p8qy2i7qXPWuihoY12jyZFkRNRve5WBl/49UX/GdThVZJ2lVZOMflMhw7UE3YZ25nRkfkDdkike/"
         "1pg==\" }}",
         NULL, "hello world, longer than one block", NULL},
        {"{{ encryptAES \"k\" \"text\" | len }} {{ encryptAES \"k\" \"\" }}|{{ encryptAES "
         "\"a-very-long-password-longer-than-32-bytes\" \"x\" | decryptAES "
         "\"a-very-long-password-longer-than-32-bytes\" }}|{{ randBytes 3 | len }} {{ randBytes 0 "
         "}} {{ hello }}",
         NULL, "44 |x|4  Hello!", NULL},
        {"{{ decryptAES \"k\" \"!!\" }}", NULL, NULL,
         "error calling decryptAES: illegal base64 data at input byte 0"},
        {"{{ decryptAES \"k\" \"YWJj\" }}", NULL, NULL,
         "runtime error: slice bounds out of range [:16] with capacity 3"},
        {"{{ decryptAES \"k\" \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYg==\" }}", NULL, NULL,
         "crypto/cipher: input not full blocks"},
        {"{{ genCAWithKey \"x\" 1 \"nope\" }}", NULL, NULL,
         "error calling genCAWithKey: parsing private key: no PEM data in input"},
    };
    FUNCS_RUN(cases);
}

/* *WithKey: the certificate carries the given key, signed as Go signs. */
static void test_with_key(void **state)
{
    char *s = funcs_output(
        "{{ $k := genPrivateKey \"ecdsa\" }}{{ $ca := genCAWithKey \"ca\" 2 $k }}{{ $e := "
        "genPrivateKey \"ed25519\" }}{{ $c := genSignedCertWithKey \"leaf\" nil (list \"l.test\") "
        "3 $ca $e }}{{ $s := genSelfSignedCertWithKey \"self\" nil nil 4 $e }}{{ eq $ca.Key $k "
        "}}@@{{ $ca.Cert }}@@{{ $c.Cert }}@@{{ eq $c.Key $e }} {{ eq $s.Key $e }}",
        NULL);
    char *eq1, *rest, *ca_pem, *leaf_pem, *eq2;
    split2(s, &eq1, &rest);
    split2(rest, &ca_pem, &rest);
    split2(rest, &leaf_pem, &eq2);
    assert_string_equal(eq1, "true");
    assert_string_equal(eq2, "true true");
    X509 *ca = parse_cert(ca_pem), *leaf = parse_cert(leaf_pem);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(ca)), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf)), EVP_PKEY_ED25519);
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(ca)), 1);
    assert_int_equal(validity_days(leaf), 3);
    X509_free(ca);
    X509_free(leaf);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_htpasswd),
        cmocka_unit_test(test_certificates),
        cmocka_unit_test(test_certificate_errors),
        cmocka_unit_test(test_private_keys),
        cmocka_unit_test(test_aes),
        cmocka_unit_test(test_derive_password),
        cmocka_unit_test(test_with_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
