/*
 * base64.h: RFC 4648 base64, standard and URL-safe alphabets, without
 * OpenSSL so that the node agent does not load libcrypto just to decode
 * Secret data or to encode a registry credential.
 */
#ifndef KS_CORE_BASE64_H
#define KS_CORE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Encodes n bytes into a malloc'd NUL-terminated string (padded with '='
 * when pad is true); url selects the "-_" alphabet. KS_ENOMEM on failure. */
int ks_base64_encode(char **out, const void *data, size_t n, bool url, bool pad);

/* Decodes s (length n) in the standard or URL alphabet into a malloc'd
 * buffer with a NUL after the *out_len bytes. Padding is optional but must
 * be right when present; whitespace and any other byte are KS_EINVALID. */
int ks_base64_decode(char **out, size_t *out_len, const char *s, size_t n, bool url);

#endif
