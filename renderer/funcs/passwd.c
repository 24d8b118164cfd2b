/*
 * passwd.c: Sprig's bcrypt and htpasswd on libxcrypt's bcrypt, with Go's
 * "$2a$" prefix and default cost 10 (golang.org/x/crypto/bcrypt), so the
 * hashes verify with every htpasswd reader Helm charts feed them to; and
 * derivePassword (Master Password) on OpenSSL's scrypt and HMAC.
 */
#include "renderer/funcs/funcs.h"
#include "renderer/funcs/libcrypto.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define BCRYPT_COST 10
#define BCRYPT_MAX_PASSWORD 72

/* Appends bcrypt(password) or Sprig's failure text. */
static int put_bcrypt(struct ks_buf *b, struct ks_tpl_call *call, const char *pw, size_t n)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned char rnd[16];
    struct crypt_data *data;
    if (n > BCRYPT_MAX_PASSWORD || strlen(pw) != n) {
        ks_buf_puts(b, "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 "
                       "bytes");
        return 0;
    }
    if (ks_funcs_random(rnd, sizeof(rnd)) ||
        !crypt_gensalt_rn("$2a$", BCRYPT_COST, (const char *)rnd, sizeof(rnd), salt, sizeof(salt)))
        return ks_tpl_call_error(call, KS_ERROR, "bcrypt salt generation failed");
    data = calloc(1, sizeof(*data));
    if (!data)
        return ks_funcs_nomem(call);
    const char *hash = crypt_r(pw, salt, data);
    int rc = 0;
    if (!hash || hash[0] != '$')
        rc = ks_tpl_call_error(call, KS_ERROR, "bcrypt hashing failed");
    else
        ks_buf_puts(b, hash);
    free(data);
    return rc;
}

int ks_funcs_bcrypt(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *pw;
    size_t n;
    int rc = ks_funcs_arg_str(&pw, &n, call, args[0]);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if ((rc = put_bcrypt(&b, call, pw, n)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_htpasswd(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *user, *pw;
    size_t un, pn;
    int rc;
    if ((rc = ks_funcs_args_str_str(&user, &un, &pw, &pn, call, args)))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (memchr(user, ':', un)) {
        ks_buf_puts(&b, "invalid username: ");
        ks_buf_put(&b, user, un);
        return ks_funcs_ret_buf(out, call, &b);
    }
    ks_buf_put(&b, user, un);
    ks_buf_putc(&b, ':');
    if ((rc = put_bcrypt(&b, call, pw, pn)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    return ks_funcs_ret_buf(out, call, &b);
}

/* derivePassword: the Master Password algorithm (scrypt N=32768 r=8 p=2
 * over the user name, HMAC-SHA256 over the site and counter, then a
 * character template of the requested type). */
static const char *const TEMPLATES_MAXIMUM[] = {"anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno",
                                                NULL};
static const char *const TEMPLATES_LONG[] = {"CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv",
                                             "CvcvCvcvCvcvno", "CvccnoCvcvCvcv",
                                             "CvccCvcvnoCvcv", "CvccCvcvCvcvno",
                                             "CvcvnoCvccCvcv", "CvcvCvccnoCvcv",
                                             "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
                                             "CvcvCvcvnoCvcc", "CvcvCvcvCvccno",
                                             "CvccnoCvccCvcv", "CvccCvccnoCvcv",
                                             "CvccCvccCvcvno", "CvcvnoCvccCvcc",
                                             "CvcvCvccnoCvcc", "CvcvCvccCvccno",
                                             "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
                                             "CvccCvcvCvccno", NULL};
static const char *const TEMPLATES_MEDIUM[] = {"CvcnoCvc", "CvcCvcno", NULL};
static const char *const TEMPLATES_SHORT[] = {"Cvcn", NULL};
static const char *const TEMPLATES_BASIC[] = {"aaanaaan", "aannaaan", "aaannaaa", NULL};
static const char *const TEMPLATES_PIN[] = {"nnnn", NULL};

static const char *template_chars(char c)
{
    switch (c) {
    case 'V':
        return "AEIOU";
    case 'C':
        return "BCDFGHJKLMNPQRSTVWXYZ";
    case 'v':
        return "aeiou";
    case 'c':
        return "bcdfghjklmnpqrstvwxyz";
    case 'A':
        return "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
    case 'a':
        return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
    case 'n':
        return "0123456789";
    case 'o':
        return "@&%?,=[]_:-+*$#!'^~;()/.";
    default: /* 'x' */
        return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()";
    }
}

static void put_be32(struct ks_buf *b, uint32_t v)
{
    char tmp[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    ks_buf_put(b, tmp, 4);
}

int ks_funcs_derive_password(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                             size_t nargs)
{
    static const char seed_text[] = "com.lyndir.masterpassword";
    long long counter;
    const char *type, *pw, *user, *site;
    size_t tn, pn, un, sn;
    int rc;
    if ((rc = ks_funcs_arg_int(&counter, call, args[0])) ||
        (rc = ks_funcs_arg_str(&type, &tn, call, args[1])) ||
        (rc = ks_funcs_arg_str(&pw, &pn, call, args[2])) ||
        (rc = ks_funcs_arg_str(&user, &un, call, args[3])) ||
        (rc = ks_funcs_arg_str(&site, &sn, call, args[4])))
        return rc;
    if (counter < 0 || counter > 0xFFFFFFFFLL)
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "wrong type for value; expected uint32; got int");
    const char *const *templates = NULL;
    if (strcmp(type, "maximum") == 0)
        templates = TEMPLATES_MAXIMUM;
    else if (strcmp(type, "long") == 0)
        templates = TEMPLATES_LONG;
    else if (strcmp(type, "medium") == 0)
        templates = TEMPLATES_MEDIUM;
    else if (strcmp(type, "short") == 0)
        templates = TEMPLATES_SHORT;
    else if (strcmp(type, "basic") == 0)
        templates = TEMPLATES_BASIC;
    else if (strcmp(type, "pin") == 0)
        templates = TEMPLATES_PIN;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (!templates) {
        ks_buf_puts(&b, "cannot find password template ");
        ks_buf_put(&b, type, tn);
        return ks_funcs_ret_buf(out, call, &b);
    }
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    unsigned char key[64], seed[EVP_MAX_MD_SIZE];
    unsigned int seed_len = 0;
    ks_buf_puts(&b, seed_text);
    put_be32(&b, (uint32_t)un);
    ks_buf_put(&b, user, un);
    if (ks_buf_error(&b) || !EVP_PBE_scrypt(pw, pn, (const unsigned char *)b.data, b.len, 32768, 8,
                                            2, 64ULL * 1024 * 1024, key, sizeof(key))) {
        ks_buf_release(&b);
        return ks_tpl_call_error(call, KS_ERROR, "scrypt key derivation failed");
    }
    ks_buf_reset(&b);
    ks_buf_puts(&b, seed_text);
    put_be32(&b, (uint32_t)sn);
    ks_buf_put(&b, site, sn);
    put_be32(&b, (uint32_t)counter);
    if (ks_buf_error(&b) || !HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)b.data,
                                  b.len, seed, &seed_len)) {
        ks_buf_release(&b);
        return ks_tpl_call_error(call, KS_ERROR, "HMAC failed");
    }
    size_t count = 0;
    while (templates[count])
        count++;
    const char *tpl = templates[seed[0] % count];
    ks_buf_reset(&b);
    for (size_t i = 0; tpl[i]; i++) {
        const char *chars = template_chars(tpl[i]);
        ks_buf_putc(&b, chars[seed[i + 1] % strlen(chars)]);
    }
    explicit_bzero(key, sizeof(key));
    return ks_funcs_ret_buf(out, call, &b);
}
