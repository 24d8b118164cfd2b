/*
 * crypto.c: Sprig's certificate functions on OpenSSL: genPrivateKey (rsa
 * 4096, ecdsa P-256, ed25519), genCA, genSelfSignedCert, genSignedCert and
 * buildCustomCert. Certificates carry what Go's x509 package writes for
 * Sprig's templates: a random 128-bit serial, CN-only subject, validity
 * from now for daysValid days, critical key usage (digitalSignature,
 * keyEncipherment, plus keyCertSign for CAs), serverAuth+clientAuth
 * extended usage, critical basic constraints, SANs for the given IPs and
 * DNS names, SHA-256 RSA signatures over 2048-bit keys, PEM output with
 * "RSA PRIVATE KEY" (PKCS#1) keys. A certificate is a host object of Go
 * type sprig.certificate with members Cert and Key (PEM texts). OpenSSL is
 * loaded by the first call (libcrypto.h).
 */
#include "renderer/funcs/funcs.h"
#include "renderer/funcs/libcrypto.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/template.h"

#define CERT_KEY_BITS 2048
#define MAX_DAYS 3650000LL

static int ssl_error(struct ks_tpl_call *call, const char *what)
{
    return ks_tpl_call_error(call, KS_ERROR, "%s failed", what);
}

/* The contents of a memory BIO written with ok as a malloc'd string
 * (NULL on failure); frees the BIO. */
static char *bio_string(BIO *bio, int ok)
{
    char *res = NULL, *data;
    long n = bio ? BIO_get_mem_data(bio, &data) : 0;
    if (ok && n > 0) {
        res = malloc((size_t)n + 1);
        if (res) {
            memcpy(res, data, (size_t)n);
            res[n] = '\0';
        }
    }
    BIO_free(bio);
    return res;
}

/* PEM text of a private key in Go's encoding for its type. */
static char *key_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int ok =
        bio && (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519
                    ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                    : PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL));
    return bio_string(bio, ok);
}

static char *cert_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    return bio_string(bio, bio && PEM_write_bio_X509(bio, x));
}

int ks_funcs_gen_private_key(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                             size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    const char *typ;
    size_t n;
    EVP_PKEY *key = NULL;
    int rc = ks_funcs_arg_str(&typ, &n, call, args[0]);
    if (rc)
        return rc;
    if (strcmp(typ, "rsa") == 0)
        key = EVP_RSA_gen(4096);
    else if (strcmp(typ, "ecdsa") == 0)
        key = EVP_EC_gen("P-256");
    else if (strcmp(typ, "ed25519") == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (strcmp(typ, "dsa") == 0)
        return ks_tpl_call_error(call, KS_EINVALID, "dsa keys are not supported by this renderer");
    else /* Sprig returns this text as the function's result */
        return ks_funcs_ret(out, call, json_sprintf("Unknown type %s", typ));
    if (!key)
        return ssl_error(call, "key generation");
    char *pem = key_pem(key);
    EVP_PKEY_free(key);
    if (!pem)
        return ks_funcs_nomem(call);
    rc = ks_funcs_ret(out, call, json_string(pem));
    free(pem);
    return rc;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* Builds the subjectAltName value ("DNS:a, IP:1.2.3.4") after checking
 * the lists as Sprig does. */
static int san_value(struct ks_buf *b, struct ks_tpl_call *call, const json_t *ips,
                     const json_t *dns)
{
    size_t i;
    json_t *v;
    json_array_foreach(ips, i, v)
    {
        if (!json_is_string(v)) {
            struct ks_buf t;
            ks_buf_init(&t, 4096);
            ks_funcs_strval(&t, v);
            int rc = ks_tpl_call_error(call, KS_EINVALID, "error parsing ip: %s is not a string",
                                       ks_buf_data(&t));
            ks_buf_release(&t);
            return rc;
        }
    }
    json_array_foreach(dns, i, v)
    {
        if (!json_is_string(v)) {
            struct ks_buf t;
            ks_buf_init(&t, 4096);
            ks_funcs_strval(&t, v);
            int rc = ks_tpl_call_error(call, KS_EINVALID,
                                       "error processing alternate dns name: %s is not a string",
                                       ks_buf_data(&t));
            ks_buf_release(&t);
            return rc;
        }
    }
    /* Go writes DNS names before IP addresses */
    json_array_foreach(dns, i, v)
    {
        const char *s = json_string_value(v);
        if (strpbrk(s, ",\n") || !*s)
            continue;
        ks_buf_printf(b, "%sDNS:%s", b->len ? "," : "", s);
    }
    json_array_foreach(ips, i, v)
    {
        unsigned char addr[16];
        const char *s = json_string_value(v);
        if (inet_pton(AF_INET, s, addr) != 1 && inet_pton(AF_INET6, s, addr) != 1)
            continue; /* net.ParseIP gives nil: no usable address */
        ks_buf_printf(b, "%sIP:%s", b->len ? "," : "", s);
    }
    return ks_buf_error(b) ? ks_funcs_buf_error(call, b) : 0;
}

struct cert_req {
    const char *cn;
    const json_t *ips, *dns;
    long long days;
    bool is_ca;
    X509 *issuer; /* NULL = self-signed */
    EVP_PKEY *issuer_key;
};

/* Issues a certificate for key per req; new X509 in *out. */
static int issue(X509 **out, struct ks_tpl_call *call, const struct cert_req *req, EVP_PKEY *key)
{
    int rc = 0;
    struct ks_buf san;
    ks_buf_init(&san, 1 << 20);
    X509 *x = X509_new();
    BIGNUM *bn = BN_new(), *range = BN_new();
    if (!x || !bn || !range) {
        rc = ks_funcs_nomem(call);
        goto done;
    }
    if (req->days < -MAX_DAYS || req->days > MAX_DAYS) {
        rc = ks_tpl_call_error(call, KS_ELIMIT, "daysValid %lld is outside +-%lld days", req->days,
                               MAX_DAYS);
        goto done;
    }
    if ((rc = san_value(&san, call, req->ips, req->dns)) != 0)
        goto done;
    if (!X509_set_version(x, 2) || !BN_one(range) || !BN_lshift(range, range, 128) ||
        !BN_rand_range(bn, range) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)req->days, 0, NULL) ||
        !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                    (const unsigned char *)req->cn, -1, -1, 0) ||
        !X509_set_issuer_name(x, req->issuer ? X509_get_subject_name(req->issuer)
                                             : X509_get_subject_name(x))) {
        rc = ssl_error(call, "certificate construction");
        goto done;
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, req->issuer ? req->issuer : x, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_key_usage,
                req->is_ca ? "critical,digitalSignature,keyEncipherment,keyCertSign"
                           : "critical,digitalSignature,keyEncipherment") ||
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") ||
        add_ext(x, &ctx, NID_basic_constraints,
                req->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
        (req->is_ca && add_ext(x, &ctx, NID_subject_key_identifier, "hash")) ||
        (req->issuer && X509_get_ext_by_NID(req->issuer, NID_subject_key_identifier, -1) >= 0 &&
         add_ext(x, &ctx, NID_authority_key_identifier, "keyid")) ||
        (san.len && add_ext(x, &ctx, NID_subject_alt_name, ks_buf_data(&san)))) {
        rc = ssl_error(call, "certificate extensions");
        goto done;
    }
    EVP_PKEY *signer = req->issuer_key ? req->issuer_key : key;
    const EVP_MD *md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
    if (!X509_sign(x, signer, md)) {
        rc = ssl_error(call, "certificate signing");
        goto done;
    }
    *out = x;
    x = NULL;
done:
    X509_free(x);
    BN_free(bn);
    BN_free(range);
    ks_buf_release(&san);
    return rc;
}

/* Go's %v of the struct: {Cert Key}. */
static int cert_string(struct ks_buf *out, void *self)
{
    const json_t *fields = self;
    ks_buf_putc(out, '{');
    ks_buf_puts(out, json_string_value(json_object_get(fields, "Cert")));
    ks_buf_putc(out, ' ');
    ks_buf_puts(out, json_string_value(json_object_get(fields, "Key")));
    ks_buf_putc(out, '}');
    return ks_buf_error(out);
}

static void cert_release(void *self)
{
    json_decref(self);
}

/* Sprig's certificate struct: only values made by these functions are
 * accepted where Go wants a sprig.certificate (a dict is refused). */
static const struct ks_tpl_host_type cert_type = {
    .go_type = "sprig.certificate",
    .methods = NULL,
    .string = cert_string,
    .release = cert_release,
};

const char *ks_funcs_cert_host_type(struct ks_tpl_call *call, const json_t *v)
{
    return ks_tpl_call_host_self(call, v, &cert_type) ? cert_type.go_type : NULL;
}

/* New certificate value from PEM texts. */
static int cert_value(json_t **out, struct ks_tpl_call *call, const char *c, size_t cn,
                      const char *k, size_t kn)
{
    json_t *fields = json_pack("{s:s%,s:s%}", "Cert", c, cn, "Key", k, kn);
    if (!fields)
        return ks_funcs_nomem(call);
    /* self keeps its own reference for String(); the set owns it */
    return ks_tpl_call_host_new(out, call, &cert_type, json_incref(fields), fields);
}

static int cert_result(json_t **out, struct ks_tpl_call *call, X509 *x, EVP_PKEY *key)
{
    char *c = cert_pem(x), *k = key_pem(key);
    int rc;
    if (!c || !k)
        rc = ks_funcs_nomem(call);
    else
        rc = cert_value(out, call, c, strlen(c), k, strlen(k));
    free(c);
    free(k);
    return rc;
}

/* The private key argument of the *WithKey functions. */
static int parse_key_arg(EVP_PKEY **out, struct ks_tpl_call *call, const json_t *arg)
{
    const char *pem;
    size_t n;
    int rc = ks_funcs_arg_str(&pem, &n, call, arg);
    if (rc)
        return rc;
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!*out)
        return ks_tpl_call_error(call, KS_EINVALID, "parsing private key: no PEM data in input");
    return 0;
}

/* Issues a certificate for key (a new RSA key when NULL). */
static int generate(json_t **out, struct ks_tpl_call *call, struct cert_req *req, EVP_PKEY *given)
{
    X509 *x = NULL;
    EVP_PKEY *key = given ? given : EVP_RSA_gen(CERT_KEY_BITS);
    if (!key)
        return ssl_error(call, "key generation");
    int rc = issue(&x, call, req, key);
    if (rc == 0)
        rc = cert_result(out, call, x, key);
    X509_free(x);
    if (!given)
        EVP_PKEY_free(key);
    return rc;
}

/* Parses PEM members c and k. */
static int load_pems(X509 **cert, EVP_PKEY **key, struct ks_tpl_call *call, const json_t *c,
                     const json_t *k)
{
    BIO *bio = BIO_new_mem_buf(json_string_value(c), (int)json_string_length(c));
    *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!*cert)
        return ks_tpl_call_error(call, KS_EINVALID, "unable to decode certificate");
    bio = BIO_new_mem_buf(json_string_value(k), (int)json_string_length(k));
    *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!*key) {
        X509_free(*cert);
        *cert = NULL;
        return ks_tpl_call_error(call, KS_EINVALID, "unable to decode key");
    }
    return 0;
}

/* Reads a certificate value's PEM members. */
static int load_ca(X509 **cert, EVP_PKEY **key, struct ks_tpl_call *call, const json_t *ca)
{
    json_t *fields = ks_tpl_call_host_self(call, ca, &cert_type);
    if (!fields) {
        const char *t = ks_funcs_host_type(call, ca);
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "wrong type for value; expected sprig.certificate; got %s",
                                 t ? t : ks_funcs_gotype(ca));
    }
    return load_pems(cert, key, call, json_object_get(fields, "Cert"),
                     json_object_get(fields, "Key"));
}

enum gen_kind { GEN_CA, GEN_SELF, GEN_SIGNED };

/* genCA cn days, genSelfSignedCert cn ips dns days, genSignedCert cn ips
 * dns days ca, each with an optional trailing PEM key (*WithKey). */
static int gen(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
               enum gen_kind kind)
{
    const char *cn;
    size_t n;
    long long days;
    json_t *ips = NULL, *dns = NULL;
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    size_t fixed = kind == GEN_CA ? 2 : kind == GEN_SELF ? 4 : 5;
    int rc;
    if ((rc = ks_funcs_arg_str(&cn, &n, call, args[0])) != 0)
        return rc;
    if (kind == GEN_CA) {
        rc = ks_funcs_arg_int(&days, call, args[1]);
    } else if ((rc = ks_funcs_arg_list(&ips, call, args[1])) == 0 &&
               (rc = ks_funcs_arg_list(&dns, call, args[2])) == 0 &&
               (rc = ks_funcs_arg_int(&days, call, args[3])) == 0 && kind == GEN_SIGNED) {
        rc = load_ca(&ca, &ca_key, call, args[4]);
    }
    if (rc == 0 && nargs > fixed)
        rc = parse_key_arg(&key, call, args[fixed]);
    if (rc == 0) {
        struct cert_req req = {cn, ips, dns, days, kind == GEN_CA, ca, ca_key};
        rc = generate(out, call, &req, key);
    }
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

int ks_funcs_gen_ca(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    return gen(out, call, args, nargs, GEN_CA);
}

int ks_funcs_gen_self_signed_cert(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                                  size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    return gen(out, call, args, nargs, GEN_SELF);
}

int ks_funcs_gen_signed_cert(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                             size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    return gen(out, call, args, nargs, GEN_SIGNED);
}

/* buildCustomCert b64cert b64key: decodes both and checks they parse. */
int ks_funcs_build_custom_cert(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                               size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    static const char *const what[2] = {"certificate", "private key"};
    const char *s;
    size_t n;
    struct ks_buf dec[2];
    json_t *ca = NULL;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int rc = 0;
    ks_buf_init(&dec[0], KS_FUNCS_MAX_OUTPUT);
    ks_buf_init(&dec[1], KS_FUNCS_MAX_OUTPUT);
    for (int i = 0; i < 2 && rc == 0; i++) {
        if ((rc = ks_funcs_arg_str(&s, &n, call, args[i])) != 0)
            break;
        if (ks_funcs_b64_decode(&dec[i], s, n) >= 0)
            rc = ks_tpl_call_error(call, KS_EINVALID, "unable to decode base64 %s", what[i]);
        else if (ks_buf_error(&dec[i]))
            rc = ks_funcs_buf_error(call, &dec[i]);
    }
    if (rc)
        goto done;
    ca = json_pack("{s:s%,s:s%}", "Cert", ks_buf_data(&dec[0]), dec[0].len, "Key",
                   ks_buf_data(&dec[1]), dec[1].len);
    if (!ca) {
        rc = ks_funcs_nomem(call);
        goto done;
    }
    if ((rc = load_pems(&x, &k, call, json_object_get(ca, "Cert"), json_object_get(ca, "Key"))) ==
        0)
        rc = cert_value(out, call, ks_buf_data(&dec[0]), dec[0].len, ks_buf_data(&dec[1]),
                        dec[1].len);
done:
    json_decref(ca);
    X509_free(x);
    EVP_PKEY_free(k);
    ks_buf_release(&dec[0]);
    ks_buf_release(&dec[1]);
    return rc;
}

/* randBytes n: n random bytes, base64-encoded. */
int ks_funcs_rand_bytes(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    long long count;
    int rc = ks_funcs_arg_int(&count, call, args[0]);
    if (rc)
        return rc;
    if (count < 0)
        return ks_tpl_call_error(call, KS_EINVALID, "runtime error: makeslice: len out of range");
    if ((unsigned long long)count > KS_FUNCS_MAX_OUTPUT / 2)
        return ks_tpl_call_error(call, KS_ELIMIT, "result exceeds the limit of %zu bytes",
                                 KS_FUNCS_MAX_OUTPUT);
    unsigned char *buf = malloc((size_t)count + 1);
    char *enc = malloc(((size_t)count + 2) / 3 * 4 + 1);
    if (!buf || !enc) {
        rc = ks_funcs_nomem(call);
    } else if (count && ks_funcs_random(buf, (size_t)count)) {
        rc = ks_tpl_call_error(call, KS_ERROR, "random number generator failed");
    } else {
        int len = EVP_EncodeBlock((unsigned char *)enc, buf, (int)count);
        rc = ks_funcs_ret_str(out, call, enc, (size_t)len);
    }
    free(buf);
    free(enc);
    return rc;
}

/* Sprig's AES key: the password's bytes, zero-padded or cut to 32. */
static void aes_key(unsigned char key[32], const char *pw, size_t n)
{
    memset(key, 0, 32);
    memcpy(key, pw, n < 32 ? n : 32);
}

/* AES-256-CBC over whole blocks, no padding (Sprig pads itself). */
static int aes_cbc(unsigned char *dst, const unsigned char *src, size_t n, const unsigned char *key,
                   const unsigned char *iv, int enc)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, enc) &&
                      EVP_CIPHER_CTX_set_padding(ctx, 0) &&
                      EVP_CipherUpdate(ctx, dst, &len, src, (int)n);
    EVP_CIPHER_CTX_free(ctx);
    return ok && (size_t)len == n ? 0 : -1;
}

/* encryptAES password plaintext: base64(iv + AES-256-CBC(PKCS#7 padded)). */
int ks_funcs_encrypt_aes(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    const char *pw, *text;
    size_t pn, tn;
    unsigned char key[32];
    int rc;
    if ((rc = ks_funcs_args_str_str(&pw, &pn, &text, &tn, call, args)))
        return rc;
    if (tn == 0)
        return ks_funcs_ret_str(out, call, "", 0);
    if (tn > KS_FUNCS_MAX_OUTPUT / 2)
        return ks_tpl_call_error(call, KS_ELIMIT, "input exceeds the limit of %zu bytes",
                                 KS_FUNCS_MAX_OUTPUT / 2);
    size_t pad = 16 - tn % 16, total = 16 + tn + pad;
    unsigned char *plain = malloc(tn + pad), *crypt = malloc(total);
    char *enc = malloc(total / 3 * 4 + 8);
    aes_key(key, pw, pn);
    if (!plain || !crypt || !enc) {
        rc = ks_funcs_nomem(call);
        goto done;
    }
    memcpy(plain, text, tn);
    memset(plain + tn, (int)pad, pad);
    if (ks_funcs_random(crypt, 16) || aes_cbc(crypt + 16, plain, tn + pad, key, crypt, 1)) {
        rc = ssl_error(call, "AES encryption");
        goto done;
    }
    int len = EVP_EncodeBlock((unsigned char *)enc, crypt, (int)total);
    rc = ks_funcs_ret_str(out, call, enc, (size_t)len);
done:
    free(plain);
    free(crypt);
    free(enc);
    return rc;
}

/* decryptAES password base64: the inverse of encryptAES. */
int ks_funcs_decrypt_aes(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    const char *pw, *b64;
    size_t pn, bn;
    unsigned char key[32];
    unsigned char *plain = NULL;
    struct ks_buf raw;
    int rc;
    if ((rc = ks_funcs_args_str_str(&pw, &pn, &b64, &bn, call, args)))
        return rc;
    ks_buf_init(&raw, KS_FUNCS_MAX_OUTPUT);
    long long bad = ks_funcs_b64_decode(&raw, b64, bn);
    if (bad >= 0) {
        rc = ks_tpl_call_error(call, KS_EINVALID, "illegal base64 data at input byte %lld", bad);
        goto done;
    }
    if (ks_buf_error(&raw)) {
        rc = ks_funcs_buf_error(call, &raw);
        goto done;
    }
    if (raw.len < 16) {
        rc = ks_tpl_call_error(call, KS_EINVALID,
                               "runtime error: slice bounds out of range [:16] "
                               "with capacity %zu",
                               raw.len);
        goto done;
    }
    size_t n = raw.len - 16;
    if (n % 16 || n == 0) {
        rc = ks_tpl_call_error(call, KS_EINVALID, "crypto/cipher: input not full blocks");
        goto done;
    }
    plain = malloc(n);
    aes_key(key, pw, pn);
    if (!plain) {
        rc = ks_funcs_nomem(call);
        goto done;
    }
    if (aes_cbc(plain, (unsigned char *)raw.data + 16, n, key, (unsigned char *)raw.data, 0)) {
        rc = ssl_error(call, "AES decryption");
        goto done;
    }
    size_t pad = plain[n - 1];
    if (pad > n) {
        rc = ks_tpl_call_error(call, KS_EINVALID, "runtime error: slice bounds out of range");
        goto done;
    }
    rc = ks_funcs_ret_str(out, call, (const char *)plain, n - pad);
done:
    free(plain);
    ks_buf_release(&raw);
    return rc;
}
