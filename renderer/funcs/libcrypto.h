/*
 * libcrypto.h: OpenSSL's libcrypto for the few template functions that need
 * it (genCA and the other certificate functions, genPrivateKey, randBytes'
 * base64, encryptAES/decryptAES, derivePassword, sha1sum, sha512sum),
 * loaded with dlopen on the first call of one of them.
 *
 * Why: `reconcile render` links its libraries statically, and a static
 * libcrypto made the loader write ~780 KiB of relocated method tables at
 * every start, for charts that almost never call these functions. Now a
 * render that calls none of them never maps libcrypto; one that does pays
 * for loading the shared libcrypto once per process.
 *
 * Use: include this header after the OpenSSL headers, call
 * ks_libcrypto_load() at the top of every public function that reaches
 * OpenSSL, then call OpenSSL as usual: each function listed in
 * KS_LIBCRYPTO_FUNCS is redirected (by a macro of the same name) to the
 * pointer dlsym() found for it. A function missing from the list is a link
 * error of the `reconcile` front binary, which has no libcrypto to link.
 */
#ifndef KS_RENDERER_FUNCS_LIBCRYPTO_H
#define KS_RENDERER_FUNCS_LIBCRYPTO_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct ks_tpl_call;

#define KS_LIBCRYPTO_FUNCS(X)                                                                      \
    X(BIO_ctrl)                                                                                    \
    X(BIO_free)                                                                                    \
    X(BIO_new)                                                                                     \
    X(BIO_new_mem_buf)                                                                             \
    X(BIO_s_mem)                                                                                   \
    X(BN_free)                                                                                     \
    X(BN_lshift)                                                                                   \
    X(BN_new)                                                                                      \
    X(BN_rand_range)                                                                               \
    X(BN_set_word)                                                                                 \
    X(BN_to_ASN1_INTEGER)                                                                          \
    X(EVP_CIPHER_CTX_free)                                                                         \
    X(EVP_CIPHER_CTX_new)                                                                          \
    X(EVP_CIPHER_CTX_set_padding)                                                                  \
    X(EVP_CipherInit_ex)                                                                           \
    X(EVP_CipherUpdate)                                                                            \
    X(EVP_Digest)                                                                                  \
    X(EVP_EncodeBlock)                                                                             \
    X(EVP_PBE_scrypt)                                                                              \
    X(EVP_PKEY_Q_keygen)                                                                           \
    X(EVP_PKEY_free)                                                                               \
    X(EVP_PKEY_get_base_id)                                                                        \
    X(EVP_aes_256_cbc)                                                                             \
    X(EVP_sha1)                                                                                    \
    X(EVP_sha256)                                                                                  \
    X(EVP_sha512)                                                                                  \
    X(HMAC)                                                                                        \
    X(PEM_read_bio_PrivateKey)                                                                     \
    X(PEM_read_bio_X509)                                                                           \
    X(PEM_write_bio_PrivateKey)                                                                    \
    X(PEM_write_bio_PrivateKey_traditional)                                                        \
    X(PEM_write_bio_X509)                                                                          \
    X(X509V3_EXT_conf_nid)                                                                         \
    X(X509V3_set_ctx)                                                                              \
    X(X509_EXTENSION_free)                                                                         \
    X(X509_NAME_add_entry_by_txt)                                                                  \
    X(X509_add_ext)                                                                                \
    X(X509_free)                                                                                   \
    X(X509_get_ext_by_NID)                                                                         \
    X(X509_get_serialNumber)                                                                       \
    X(X509_get_subject_name)                                                                       \
    X(X509_getm_notAfter)                                                                          \
    X(X509_getm_notBefore)                                                                         \
    X(X509_gmtime_adj)                                                                             \
    X(X509_new)                                                                                    \
    X(X509_set_issuer_name)                                                                        \
    X(X509_set_pubkey)                                                                             \
    X(X509_set_version)                                                                            \
    X(X509_sign)                                                                                   \
    X(X509_time_adj_ex)

/* One pointer per function, typed like the function. */
struct ks_libcrypto {
#define KS_LIBCRYPTO_FIELD(f) __typeof__(f) *f;
    KS_LIBCRYPTO_FUNCS(KS_LIBCRYPTO_FIELD)
#undef KS_LIBCRYPTO_FIELD
};

/* Set by a successful ks_libcrypto_load(), never changed afterwards. */
extern const struct ks_libcrypto *ks_libcrypto;

/* Loads libcrypto (once per process; thread-safe). 0, or the call's error
 * naming the library or the missing function (the same error every time
 * after a failure). */
int ks_libcrypto_load(struct ks_tpl_call *call);

#ifndef KS_LIBCRYPTO_IMPL
#define BIO_ctrl (ks_libcrypto->BIO_ctrl)
#define BIO_free (ks_libcrypto->BIO_free)
#define BIO_new (ks_libcrypto->BIO_new)
#define BIO_new_mem_buf (ks_libcrypto->BIO_new_mem_buf)
#define BIO_s_mem (ks_libcrypto->BIO_s_mem)
#define BN_free (ks_libcrypto->BN_free)
#define BN_lshift (ks_libcrypto->BN_lshift)
#define BN_new (ks_libcrypto->BN_new)
#define BN_rand_range (ks_libcrypto->BN_rand_range)
#define BN_set_word (ks_libcrypto->BN_set_word)
#define BN_to_ASN1_INTEGER (ks_libcrypto->BN_to_ASN1_INTEGER)
#define EVP_CIPHER_CTX_free (ks_libcrypto->EVP_CIPHER_CTX_free)
#define EVP_CIPHER_CTX_new (ks_libcrypto->EVP_CIPHER_CTX_new)
#define EVP_CIPHER_CTX_set_padding (ks_libcrypto->EVP_CIPHER_CTX_set_padding)
#define EVP_CipherInit_ex (ks_libcrypto->EVP_CipherInit_ex)
#define EVP_CipherUpdate (ks_libcrypto->EVP_CipherUpdate)
#define EVP_Digest (ks_libcrypto->EVP_Digest)
#define EVP_EncodeBlock (ks_libcrypto->EVP_EncodeBlock)
#define EVP_PBE_scrypt (ks_libcrypto->EVP_PBE_scrypt)
#define EVP_PKEY_Q_keygen (ks_libcrypto->EVP_PKEY_Q_keygen)
#define EVP_PKEY_free (ks_libcrypto->EVP_PKEY_free)
#define EVP_PKEY_get_base_id (ks_libcrypto->EVP_PKEY_get_base_id)
#define EVP_aes_256_cbc (ks_libcrypto->EVP_aes_256_cbc)
#define EVP_sha1 (ks_libcrypto->EVP_sha1)
#define EVP_sha256 (ks_libcrypto->EVP_sha256)
#define EVP_sha512 (ks_libcrypto->EVP_sha512)
#define HMAC (ks_libcrypto->HMAC)
#define PEM_read_bio_PrivateKey (ks_libcrypto->PEM_read_bio_PrivateKey)
#define PEM_read_bio_X509 (ks_libcrypto->PEM_read_bio_X509)
#define PEM_write_bio_PrivateKey (ks_libcrypto->PEM_write_bio_PrivateKey)
#define PEM_write_bio_PrivateKey_traditional (ks_libcrypto->PEM_write_bio_PrivateKey_traditional)
#define PEM_write_bio_X509 (ks_libcrypto->PEM_write_bio_X509)
#define X509V3_EXT_conf_nid (ks_libcrypto->X509V3_EXT_conf_nid)
#define X509V3_set_ctx (ks_libcrypto->X509V3_set_ctx)
#define X509_EXTENSION_free (ks_libcrypto->X509_EXTENSION_free)
#define X509_NAME_add_entry_by_txt (ks_libcrypto->X509_NAME_add_entry_by_txt)
#define X509_add_ext (ks_libcrypto->X509_add_ext)
#define X509_free (ks_libcrypto->X509_free)
#define X509_get_ext_by_NID (ks_libcrypto->X509_get_ext_by_NID)
#define X509_get_serialNumber (ks_libcrypto->X509_get_serialNumber)
#define X509_get_subject_name (ks_libcrypto->X509_get_subject_name)
#define X509_getm_notAfter (ks_libcrypto->X509_getm_notAfter)
#define X509_getm_notBefore (ks_libcrypto->X509_getm_notBefore)
#define X509_gmtime_adj (ks_libcrypto->X509_gmtime_adj)
#define X509_new (ks_libcrypto->X509_new)
#define X509_set_issuer_name (ks_libcrypto->X509_set_issuer_name)
#define X509_set_pubkey (ks_libcrypto->X509_set_pubkey)
#define X509_set_version (ks_libcrypto->X509_set_version)
#define X509_sign (ks_libcrypto->X509_sign)
#define X509_time_adj_ex (ks_libcrypto->X509_time_adj_ex)
#endif

#endif
