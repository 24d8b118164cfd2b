/*
 * str.h: small string helpers that the standard library lacks or gets
 * wrong (strtol's silent overflow, strdup of a length-bounded slice,
 * checked integer parsing with a clear error).
 */
#ifndef KS_CORE_STR_H
#define KS_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* malloc'd copy of s[0..len) plus NUL; NULL on allocation failure. */
char *ks_strndup(const char *s, size_t len);
/* malloc'd printf result; NULL on failure. */
char *ks_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool ks_str_has_prefix(const char *s, const char *prefix);
bool ks_str_has_suffix(const char *s, const char *suffix);

/* Parses a whole decimal integer (optional sign, no spaces, no trailing
 * garbage) into *out. KS_EINVALID with a message naming what on error. */
int ks_str_to_i64(int64_t *out, const char *s, const char *what);

/* Reads a whole file into a malloc'd NUL-terminated buffer, refusing files
 * larger than limit bytes (KS_ELIMIT). *out_len may be NULL. */
int ks_file_read(char **out, size_t *out_len, const char *path, size_t limit);

/* mkdir -p: creates path and its missing parents with mode; existing
 * directories are fine. KS_EIO naming the directory that failed. */
int ks_mkdir_p(const char *path, unsigned mode);

#endif
