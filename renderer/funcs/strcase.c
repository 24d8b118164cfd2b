/*
 * strcase.c: rune case mapping for the ranges Helm charts meet in practice
 * and xstrings-style word case conversions (see strcase.h). Word splitting
 * follows xstrings' rules for letters: a new word starts at a lower-to-
 * upper change, before the last capital of an acronym ("HTTPServer" ->
 * http_server) and after '_', '-' or spaces, which are dropped.
 */
#include "renderer/funcs/strcase.h"

#include <stdbool.h>

#include "renderer/funcs/funcs.h"

uint32_t ks_strcase_upper(uint32_t r)
{
    if (r >= 'a' && r <= 'z')
        return r - 32;
    if (r < 0x80)
        return r;
    if ((r >= 0xE0 && r <= 0xFE && r != 0xF7) || (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) ||
        (r >= 0x430 && r <= 0x44F))
        return r - 32;
    if (r == 0xFF)
        return 0x178;
    if (r == 0xB5)
        return 0x39C;
    if (r == 0x3C2)
        return 0x3A3;
    if (r >= 0x450 && r <= 0x45F)
        return r - 80;
    if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && (r & 1))
        return r - 1;
    if (((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) && !(r & 1))
        return r - 1;
    return r;
}

uint32_t ks_strcase_lower(uint32_t r)
{
    if (r >= 'A' && r <= 'Z')
        return r + 32;
    if (r < 0x80)
        return r;
    if ((r >= 0xC0 && r <= 0xDE && r != 0xD7) || (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) ||
        (r >= 0x410 && r <= 0x42F))
        return r + 32;
    if (r == 0x178)
        return 0xFF;
    if (r >= 0x400 && r <= 0x40F)
        return r + 80;
    if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && !(r & 1))
        return r + 1;
    if (((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) && (r & 1))
        return r + 1;
    return r;
}

static bool is_upper(uint32_t r)
{
    return ks_strcase_lower(r) != r;
}

static bool is_lower(uint32_t r)
{
    return ks_strcase_upper(r) != r;
}

static bool is_connector(uint32_t r)
{
    return r == '_' || r == '-' || ks_funcs_is_space(r);
}

static bool is_word(uint32_t r)
{
    return is_upper(r) || is_lower(r) || (r >= '0' && r <= '9') || r >= 0x80;
}

static int words_lower(struct ks_buf *b, const char *s, size_t n, char conn)
{
    size_t i = 0, w;
    bool in_word = false, need_conn = false;
    uint32_t prev = 0;
    while (i < n) {
        uint32_t r = ks_funcs_utf8_decode(s + i, n - i, &w);
        if (is_connector(r)) {
            if (in_word)
                need_conn = true;
            in_word = false;
        } else if (!is_word(r)) {
            ks_funcs_utf8_put(b, r);
            in_word = false;
            need_conn = false;
        } else {
            bool boundary = false;
            if (in_word && is_upper(r)) {
                size_t w2;
                uint32_t next = i + w < n ? ks_funcs_utf8_decode(s + i + w, n - i - w, &w2) : 0;
                if (!is_upper(prev) || (next && is_lower(next)))
                    boundary = true;
            }
            if (boundary || (need_conn && !in_word))
                ks_buf_putc(b, conn);
            need_conn = false;
            in_word = true;
            ks_funcs_utf8_put(b, ks_strcase_lower(r));
        }
        prev = r;
        i += w;
    }
    return ks_buf_error(b);
}

int ks_strcase_snake(struct ks_buf *b, const char *s, size_t n)
{
    return words_lower(b, s, n, '_');
}

int ks_strcase_kebab(struct ks_buf *b, const char *s, size_t n)
{
    return words_lower(b, s, n, '-');
}

/* xstrings.ToCamelCase: leading connectors are kept, the rune after a
 * connector is upper-cased and the connector dropped, runs of connectors
 * keep all but the last. */
int ks_strcase_camel(struct ks_buf *b, const char *s, size_t n)
{
    size_t i = 0, w = 0;
    uint32_t r0 = 0, r1;
    while (i < n) {
        r0 = ks_funcs_utf8_decode(s + i, n - i, &w);
        i += w;
        if (!is_connector(r0)) {
            r0 = ks_strcase_upper(r0);
            break;
        }
        ks_funcs_utf8_put(b, r0);
        w = 0;
    }
    if (i >= n) {
        if (w)
            ks_funcs_utf8_put(b, r0);
        return ks_buf_error(b);
    }
    while (i < n) {
        r1 = r0;
        r0 = ks_funcs_utf8_decode(s + i, n - i, &w);
        i += w;
        if (is_connector(r0) && is_connector(r1)) {
            ks_funcs_utf8_put(b, r1);
            continue;
        }
        if (is_connector(r1))
            r0 = ks_strcase_upper(r0);
        else
            ks_funcs_utf8_put(b, r1);
    }
    ks_funcs_utf8_put(b, r0);
    return ks_buf_error(b);
}
