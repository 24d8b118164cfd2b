/*
 * digest.c: SHA-256 hex digests (see digest.h).
 */
#include "core/digest.h"
#include "core/error.h"

#include <openssl/evp.h>
#include <stdio.h>

int ks_sha256_hex(char out[65], const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return ks_error_set(KS_ERROR, "sha256 failed");
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}
