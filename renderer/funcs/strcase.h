/*
 * strcase.h: rune case mapping and the word-case conversions of
 * huandu/xstrings that Sprig exposes (snakecase, kebabcase, camelcase).
 * Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic;
 * other runes are left unchanged.
 */
#ifndef KS_RENDERER_FUNCS_STRCASE_H
#define KS_RENDERER_FUNCS_STRCASE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

uint32_t ks_strcase_upper(uint32_t r);
uint32_t ks_strcase_lower(uint32_t r);

/* Append the converted form of s[0..n) to b; return the buffer's state. */
int ks_strcase_snake(struct ks_buf *b, const char *s, size_t n);
int ks_strcase_kebab(struct ks_buf *b, const char *s, size_t n);
int ks_strcase_camel(struct ks_buf *b, const char *s, size_t n);

#endif
