/*
 * digest.h: SHA-256 as lower-case hex, the content hash used for desired
 * objects, skip keys, cache keys and mirror names (OpenSSL underneath).
 */
#ifndef KS_CORE_DIGEST_H
#define KS_CORE_DIGEST_H

#include <stddef.h>

/* Writes the 64 hex digits and a NUL into out; KS_ERROR if OpenSSL fails. */
int ks_sha256_hex(char out[65], const void *data, size_t len);

#endif
