/*
 * digest.h: SHA-256 as lower-case hex, the content hash used for desired
 * objects, skip keys, cache keys and mirror names (our own FIPS 180-4 code, no OpenSSL).
 */
#ifndef KS_CORE_DIGEST_H
#define KS_CORE_DIGEST_H

#include <stddef.h>

/* Writes the 64 hex digits and a NUL into out; always 0 (the int is kept for callers). */
int ks_sha256_hex(char out[65], const void *data, size_t len);

#endif
