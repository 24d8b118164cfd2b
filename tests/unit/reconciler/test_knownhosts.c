/*
 * test_knownhosts.c: the SSH host-key check (reconciler/source/
 * knownhosts.c) on known_hosts files written by the test: plain names,
 * "[host]:port" off port 22, wildcards and negation, hashed |1| entries
 * (made with ssh-keygen -H), a listed name with another key (mismatch), a
 * @revoked key, comments, and TLS certificates passed through to libgit2.
 */
#include "reconciler/source/knownhosts.h"

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define KEY "AAAAC3NzaC1lZDI1NTE5AAAAII6GRtdMkz4Zran5vnls7yNBUJEW+MwzKuWEUVJyWjqS"
#define KEY2 "AAAAC3NzaC1lZDI1NTE5AAAAICk0i/mZwLnUJVgyWfeWCeb4XTBSjw2ttX0sKx5O5YKl"
/* "git.example.org ssh-ed25519 KEY" hashed by ssh-keygen -H */
#define HASHED "|1|qjNPbERgAM/fw5pq5OscPDPZ8xM=|ipwzH9ffh0k7IvZFepJPDbwHWss="

static char path[64];
static unsigned char blob[64];
static git_cert_hostkey cert;

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/ks-kh-%d", (int)getpid());
    setenv("KEELSON_GIT_KNOWN_HOSTS", path, 1);
    int n = EVP_DecodeBlock(blob, (const unsigned char *)KEY, (int)strlen(KEY));
    memset(&cert, 0, sizeof cert);
    cert.parent.cert_type = GIT_CERT_HOSTKEY_LIBSSH2;
    cert.type = GIT_CERT_SSH_RAW;
    cert.raw_type = GIT_CERT_SSH_RAW_TYPE_KEY_ED25519;
    cert.hostkey = (const char *)blob;
    cert.hostkey_len = (size_t)n; /* 51 bytes: the key blob of the .pub line */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static int check(const char *file_text, const char *host, const char *url)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(file_text, f);
    fclose(f);
    return ks_known_hosts_check((git_cert *)&cert, host, url);
}

static const char *last(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "";
}

static void test_plain_and_port(void **state)
{
    (void)state;
    assert_int_equal(check("# comment\n\ngit.example.org ssh-ed25519 " KEY " me@host\n",
                           "git.example.org", "ssh://git@git.example.org/a/b.git"),
                     0);
    /* scp-like URLs are port 22 */
    assert_int_equal(check("other,GIT.example.org ssh-ed25519 " KEY "\n", "git.example.org",
                           "git@git.example.org:a/b.git"),
                     0);
    /* off port 22 only the [host]:port name counts */
    assert_int_equal(check("git.example.org ssh-ed25519 " KEY "\n", "git.example.org",
                           "ssh://git@git.example.org:2222/a.git"),
                     GIT_ECERTIFICATE);
    assert_non_null(strstr(last(), "[git.example.org]:2222 is not in"));
    assert_non_null(strstr(last(), "ssh-keyscan -p 2222 git.example.org"));
    assert_int_equal(check("[git.example.org]:2222 ssh-ed25519 " KEY "\n", "git.example.org",
                           "ssh://git@git.example.org:2222/a.git"),
                     0);
}

static void test_patterns(void **state)
{
    (void)state;
    assert_int_equal(check("*.example.org ssh-ed25519 " KEY "\n", "git.example.org", NULL), 0);
    assert_int_equal(check("git.example.o?g ssh-ed25519 " KEY "\n", "git.example.org", NULL), 0);
    assert_int_equal(
        check("*.example.org,!git.example.org ssh-ed25519 " KEY "\n", "git.example.org", NULL),
        GIT_ECERTIFICATE);
    assert_int_equal(check(HASHED " ssh-ed25519 " KEY "\n", "git.example.org", NULL), 0);
    assert_int_equal(check(HASHED " ssh-ed25519 " KEY "\n", "git.example.com", NULL),
                     GIT_ECERTIFICATE);
    assert_non_null(strstr(last(), "is not in"));
}

static void test_mismatch_and_revoked(void **state)
{
    (void)state;
    assert_int_equal(check("git.example.org ssh-ed25519 " KEY2 "\n", "git.example.org", NULL),
                     GIT_ECERTIFICATE);
    assert_non_null(strstr(last(), "does not match"));
    /* a second line with the right key wins over an old one */
    assert_int_equal(check("git.example.org ssh-ed25519 " KEY2 "\ngit.example.org ssh-ed25519 " KEY
                           "\n",
                           "git.example.org", NULL),
                     0);
    assert_int_equal(check("@revoked * ssh-ed25519 " KEY "\ngit.example.org ssh-ed25519 " KEY "\n",
                           "git.example.org", NULL),
                     GIT_ECERTIFICATE);
    assert_non_null(strstr(last(), "revoked"));
    assert_int_equal(
        check("@cert-authority *.example.org ssh-ed25519 " KEY "\n", "git.example.org", NULL),
        GIT_ECERTIFICATE);
}

static void test_tls_passes_through(void **state)
{
    (void)state;
    git_cert tls = {.cert_type = GIT_CERT_X509};
    assert_int_equal(ks_known_hosts_check(&tls, "git.example.org", "https://git.example.org/a"),
                     GIT_PASSTHROUGH);
}

int main(void)
{
    git_libgit2_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_and_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_and_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_passes_through, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    git_libgit2_shutdown();
    return rc;
}
