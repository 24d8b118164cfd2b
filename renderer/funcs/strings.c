/*
 * strings.c: Sprig's string functions (trunc, trim*, quote, indent, replace,
 * split*, join, case changes, wrap, abbrev...) with Sprig v3's argument
 * order (the piped value comes last) and Go's byte-oriented slicing, so
 * that `trunc 63` cuts bytes, not characters, exactly as Helm does.
 * Regular-expression functions live in regex.c but are listed here, as
 * they are string functions in Sprig's documentation too.
 */
#include "renderer/funcs/funcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/funcs/strcase.h"
#include "renderer/gofmt.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

/* Go's runtime panic text for out-of-range slicing. */
static int slice_panic(struct ks_tpl_call *call, long long lo, long long hi, long long len,
                       int form)
{
    if (form == 0) /* s[:hi] */
        return ks_tpl_call_error(
            call, KS_EINVALID, "runtime error: slice bounds out of range [:%lld] with length %lld",
            hi, len);
    return ks_tpl_call_error(call, KS_EINVALID,
                             "runtime error: slice bounds out of range [%lld:%lld]", lo, hi);
}

FN(fn_trunc)
{
    long long c;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_args_int_str(&c, &s, &n, call, args)))
        return rc;
    if (c < 0 && (long long)n + c > 0)
        return ks_funcs_ret_str(out, call, s + n + c, (size_t)(-c));
    if (c >= 0 && (long long)n > c)
        return ks_funcs_ret_str(out, call, s, (size_t)c);
    return ks_funcs_ret_str(out, call, s, n);
}

/* Trims runes matching pred (or in cutset when pred is NULL) from the
 * chosen ends. */
static bool in_cutset(uint32_t r, const char *cut, size_t cutlen)
{
    size_t w;
    for (size_t i = 0; i < cutlen; i += w)
        if (ks_funcs_utf8_decode(cut + i, cutlen - i, &w) == r)
            return true;
    return false;
}

static bool trim_match(uint32_t r, const char *cut, size_t cutlen)
{
    return cut ? in_cutset(r, cut, cutlen) : ks_funcs_is_space(r);
}

static void trim_span(const char *s, size_t n, const char *cut, size_t cutlen, size_t *b, size_t *e)
{
    size_t i = 0, w;
    while (i < n && trim_match(ks_funcs_utf8_decode(s + i, n - i, &w), cut, cutlen))
        i += w;
    size_t j = n;
    while (j > i) {
        /* step back one rune */
        size_t k = j - 1;
        while (k > i && ((unsigned char)s[k] & 0xC0) == 0x80 && j - k < 4)
            k--;
        uint32_t r = ks_funcs_utf8_decode(s + k, j - k, &w);
        if (k + w != j) { /* not a whole rune: the last byte alone */
            k = j - 1;
            r = ks_funcs_utf8_decode(s + k, 1, &w);
        }
        if (!trim_match(r, cut, cutlen))
            break;
        j = k;
    }
    *b = i;
    *e = j;
}

FN(fn_trim)
{
    const char *s;
    size_t n, b, e;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    trim_span(s, n, NULL, 0, &b, &e);
    return ks_funcs_ret_str(out, call, s + b, e - b);
}

FN(fn_trim_all)
{
    const char *cut, *s;
    size_t cn, n, b, e;
    int rc;
    if ((rc = ks_funcs_args_str_str(&cut, &cn, &s, &n, call, args)))
        return rc;
    if (cn == 0)
        return ks_funcs_ret_str(out, call, s, n);
    trim_span(s, n, cut, cn, &b, &e);
    return ks_funcs_ret_str(out, call, s + b, e - b);
}

static int affix(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool suffix)
{
    const char *a, *s;
    size_t an, n;
    int rc;
    if ((rc = ks_funcs_args_str_str(&a, &an, &s, &n, call, args)))
        return rc;
    if (an <= n && suffix && memcmp(s + n - an, a, an) == 0)
        return ks_funcs_ret_str(out, call, s, n - an);
    if (an <= n && !suffix && memcmp(s, a, an) == 0)
        return ks_funcs_ret_str(out, call, s + an, n - an);
    return ks_funcs_ret_str(out, call, s, n);
}

FN(fn_trim_suffix)
{
    return affix(out, call, args, true);
}

FN(fn_trim_prefix)
{
    return affix(out, call, args, false);
}

/* Applies a rune mapping (strings.Map) to a string argument. */
static int map_runes(json_t **out, struct ks_tpl_call *call, const json_t *arg,
                     int (*fn)(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx), void *ctx)
{
    const char *s;
    size_t n, w;
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    uint32_t prev = ' ';
    for (size_t i = 0; i < n; i += w) {
        uint32_t r = ks_funcs_utf8_decode(s + i, n - i, &w);
        fn(&b, r, prev, ctx);
        prev = r;
    }
    return ks_funcs_ret_buf(out, call, &b);
}

static int put_upper(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    return ks_funcs_utf8_put(b, ks_strcase_upper(r));
}

static int put_lower(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    return ks_funcs_utf8_put(b, ks_strcase_lower(r));
}

static int put_swap(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    uint32_t u = ks_strcase_upper(r);
    return ks_funcs_utf8_put(b, u == r ? ks_strcase_lower(r) : u);
}

/* strings.Title's isSeparator. */
static bool title_separator(uint32_t r)
{
    if (r <= 0x7F)
        return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
                 r == '_');
    return ks_funcs_is_space(r);
}

static int put_title(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    return ks_funcs_utf8_put(b, title_separator(prev) ? ks_strcase_upper(r) : r);
}

/* goutils.Uncapitalize / Initials / nospace: whitespace-delimited words. */
static int put_untitle(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    bool *next = ctx;
    if (ks_funcs_is_space(r)) {
        *next = true;
        return ks_funcs_utf8_put(b, r);
    }
    bool lower = *next;
    *next = false;
    return ks_funcs_utf8_put(b, lower ? ks_strcase_lower(r) : r);
}

static int put_initial(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    bool *gap = ctx;
    if (ks_funcs_is_space(r)) {
        *gap = true;
        return 0;
    }
    if (!*gap)
        return 0;
    *gap = false;
    return ks_funcs_utf8_put(b, r);
}

static int put_nonspace(struct ks_buf *b, uint32_t r, uint32_t prev, void *ctx)
{
    return ks_funcs_is_space(r) ? 0 : ks_funcs_utf8_put(b, r);
}

FN(fn_upper)
{
    return map_runes(out, call, args[0], put_upper, NULL);
}

FN(fn_lower)
{
    return map_runes(out, call, args[0], put_lower, NULL);
}

FN(fn_swapcase)
{
    return map_runes(out, call, args[0], put_swap, NULL);
}

FN(fn_title)
{
    return map_runes(out, call, args[0], put_title, NULL);
}

FN(fn_untitle)
{
    bool next = true;
    return map_runes(out, call, args[0], put_untitle, &next);
}

FN(fn_initials)
{
    bool gap = true;
    return map_runes(out, call, args[0], put_initial, &gap);
}

FN(fn_nospace)
{
    return map_runes(out, call, args[0], put_nonspace, NULL);
}

FN(fn_substr)
{
    long long start, end;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_arg_int(&start, call, args[0])) ||
        (rc = ks_funcs_arg_int(&end, call, args[1])) ||
        (rc = ks_funcs_arg_str(&s, &n, call, args[2])))
        return rc;
    long long len = (long long)n;
    if (start < 0) {
        if (end < 0 || end > len)
            return slice_panic(call, 0, end, len, 0);
        return ks_funcs_ret_str(out, call, s, (size_t)end);
    }
    if (end < 0 || end > len) {
        if (start > len)
            return slice_panic(call, start, len, len, 1);
        return ks_funcs_ret_str(out, call, s + start, (size_t)(len - start));
    }
    if (start > end)
        return slice_panic(call, start, end, len, 1);
    return ks_funcs_ret_str(out, call, s + start, (size_t)(end - start));
}

/* strings.Repeat with Go's panic for negative counts and our size cap. */
static int put_repeat(struct ks_buf *b, struct ks_tpl_call *call, const char *s, size_t n,
                      long long count)
{
    if (count < 0)
        return ks_tpl_call_error(call, KS_EINVALID, "strings: negative Repeat count");
    if (n && (unsigned long long)count > KS_FUNCS_MAX_OUTPUT / n)
        return ks_tpl_call_error(call, KS_ELIMIT, "result exceeds the limit of %zu bytes",
                                 KS_FUNCS_MAX_OUTPUT);
    size_t total = n * (size_t)count;
    if (total == 0 || ks_buf_grow(b, total))
        return 0; /* a buffer error stays in b for the caller */
    char *p = b->data + b->len;
    if (n == 1) {
        memset(p, s[0], total);
    } else {
        for (long long i = 0; i < count; i++, p += n)
            memcpy(p, s, n);
    }
    b->len += total;
    b->data[b->len] = '\0';
    return 0;
}

FN(fn_repeat)
{
    long long count;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_args_int_str(&count, &s, &n, call, args)))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if ((rc = put_repeat(&b, call, s, n, count)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    return ks_funcs_ret_buf(out, call, &b);
}

/* goutils.AbbreviateFull; "" for its error cases, as Sprig ignores them. */
static void abbreviate(struct ks_buf *b, const char *s, size_t n, long long offset, long long max)
{
    const char *marker = "...";
    long long len = (long long)n;
    for (;;) {
        if (len == 0 || max < 4)
            return;
        if (len <= max) {
            ks_buf_put(b, s, n);
            return;
        }
        if (offset > len)
            offset = len;
        if (len - offset < max - 3)
            offset = len - (max - 3);
        if (offset <= 4) {
            ks_buf_put(b, s, (size_t)(max - 3));
            ks_buf_puts(b, marker);
            return;
        }
        if (max < 7)
            return;
        if (offset + max - 3 < len) {
            /* marker + Abbreviate(str[offset:], max-3) */
            ks_buf_puts(b, marker);
            s += offset;
            n = (size_t)(len - offset);
            len = (long long)n;
            max -= 3;
            offset = 0;
            continue;
        }
        ks_buf_puts(b, marker);
        ks_buf_put(b, s + len - (max - 3), (size_t)(max - 3));
        return;
    }
}

FN(fn_abbrev)
{
    long long width;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_args_int_str(&width, &s, &n, call, args)))
        return rc;
    if (width < 4)
        return ks_funcs_ret_str(out, call, s, n);
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    abbreviate(&b, s, n, 0, width);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_abbrevboth)
{
    long long left, right;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_arg_int(&left, call, args[0])) ||
        (rc = ks_funcs_arg_int(&right, call, args[1])) ||
        (rc = ks_funcs_arg_str(&s, &n, call, args[2])))
        return rc;
    if (right < 4 || (left > 0 && right < 7))
        return ks_funcs_ret_str(out, call, s, n);
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    abbreviate(&b, s, n, left, right);
    return ks_funcs_ret_buf(out, call, &b);
}

/* goutils.WrapCustom. */
static void wrap_custom(struct ks_buf *b, const char *s, size_t n, long long width, const char *nl,
                        size_t nllen, bool long_words)
{
    if (n == 0)
        return;
    if (nllen == 0)
        nl = "\n", nllen = 1;
    if (width < 1)
        width = 1;
    size_t off = 0, w = (size_t)width;
    while (n - off > w) {
        if (s[off] == ' ') {
            off++;
            continue;
        }
        size_t end = off + w + 1; /* LastIndex over s[off:end] */
        size_t sp = (size_t)-1;
        for (size_t i = end; i > off; i--)
            if (s[i - 1] == ' ') {
                sp = i - 1;
                break;
            }
        if (sp != (size_t)-1) {
            ks_buf_put(b, s + off, sp - off);
            ks_buf_put(b, nl, nllen);
            off = sp + 1;
        } else if (long_words) {
            ks_buf_put(b, s + off, w);
            ks_buf_put(b, nl, nllen);
            off += w;
        } else {
            const char *next = memchr(s + off + w, ' ', n - (off + w));
            if (!next) {
                ks_buf_put(b, s + off, n - off);
                off = n;
            } else {
                size_t at = (size_t)(next - s);
                ks_buf_put(b, s + off, at - off);
                ks_buf_put(b, nl, nllen);
                off = at + 1;
            }
        }
    }
    ks_buf_put(b, s + off, n - off);
}

FN(fn_wrap)
{
    long long width;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_args_int_str(&width, &s, &n, call, args)))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    wrap_custom(&b, s, n, width, "", 0, false);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_wrap_with)
{
    long long width;
    const char *sep, *s;
    size_t sn, n;
    int rc;
    if ((rc = ks_funcs_arg_int(&width, call, args[0])) ||
        (rc = ks_funcs_arg_str(&sep, &sn, call, args[1])) ||
        (rc = ks_funcs_arg_str(&s, &n, call, args[2])))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    wrap_custom(&b, s, n, width, sep, sn, true);
    return ks_funcs_ret_buf(out, call, &b);
}

static const char *memmem_go(const char *h, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0)
        return h;
    return memmem(h, hn, needle, nn);
}

/* contains / hasPrefix / hasSuffix: (substr, str) -> bool. */
static int str_test(json_t **out, struct ks_tpl_call *call, json_t *const *args, int kind)
{
    const char *sub, *s;
    size_t sn, n;
    int rc;
    if ((rc = ks_funcs_args_str_str(&sub, &sn, &s, &n, call, args)))
        return rc;
    bool r;
    if (kind == 0)
        r = memmem_go(s, n, sub, sn) != NULL;
    else if (sn > n)
        r = false;
    else if (kind == 1)
        r = memcmp(s, sub, sn) == 0;
    else
        r = memcmp(s + n - sn, sub, sn) == 0;
    return ks_funcs_ret(out, call, json_boolean(r));
}

FN(fn_contains)
{
    return str_test(out, call, args, 0);
}

FN(fn_has_prefix)
{
    return str_test(out, call, args, 1);
}

FN(fn_has_suffix)
{
    return str_test(out, call, args, 2);
}

/* quote: fmt's %q of strval, nil skipped; squote: '%v', nil skipped. */
static int quote_all(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                     bool single)
{
    struct ks_buf b, tmp;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    ks_buf_init(&tmp, KS_FUNCS_MAX_OUTPUT);
    bool first = true;
    int rc = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (json_is_null(args[i]))
            continue;
        if (!first)
            ks_buf_putc(&b, ' ');
        first = false;
        if (single) {
            ks_buf_putc(&b, '\'');
            rc = ks_gofmt_print_value(&b, args[i]);
            ks_buf_putc(&b, '\'');
        } else {
            ks_buf_reset(&tmp);
            if ((rc = ks_funcs_strval(&tmp, args[i])) != 0)
                break;
            /* %q of a string is strconv.Quote */
            rc = ks_gofmt_quote(&b, ks_buf_data(&tmp), tmp.len);
        }
        if (rc)
            break;
    }
    ks_buf_release(&tmp);
    if (rc && !ks_buf_error(&b)) {
        ks_buf_release(&b);
        return rc == KS_ENOMEM ? ks_funcs_nomem(call)
                               : ks_tpl_call_error(call, rc, "%s", ks_error_last());
    }
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_quote)
{
    return quote_all(out, call, args, nargs, false);
}

FN(fn_squote)
{
    return quote_all(out, call, args, nargs, true);
}

/* cat: fmt.Sprintf of "%v %v ..." over the non-nil arguments. */
FN(fn_cat)
{
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    bool first = true;
    for (size_t i = 0; i < nargs; i++) {
        if (json_is_null(args[i]))
            continue;
        if (!first)
            ks_buf_putc(&b, ' ');
        first = false;
        if (ks_gofmt_print_value(&b, args[i]) && !ks_buf_error(&b)) {
            ks_buf_release(&b);
            return ks_tpl_call_error(call, KS_EINVALID, "%s", ks_error_last());
        }
    }
    return ks_funcs_ret_buf(out, call, &b);
}

static int do_indent(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool newline)
{
    long long spaces;
    const char *s;
    size_t n;
    int rc;
    if ((rc = ks_funcs_args_int_str(&spaces, &s, &n, call, args)))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (spaces >= 0 && (unsigned long long)spaces <= KS_FUNCS_MAX_OUTPUT) {
        /* room for the text and every line's indentation, in one go */
        size_t lines = 1;
        for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))) != NULL; p++)
            lines++;
        size_t need = n + (newline ? 1 : 0);
        if (lines <= (KS_FUNCS_MAX_OUTPUT - need) / ((size_t)spaces + 1))
            ks_buf_grow(&b, need + lines * (size_t)spaces);
    }
    if (newline)
        ks_buf_putc(&b, '\n');
    if ((rc = put_repeat(&b, call, " ", 1, spaces)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\n')
            continue;
        ks_buf_put(&b, s + start, i + 1 - start);
        put_repeat(&b, call, " ", 1, spaces);
        start = i + 1;
    }
    ks_buf_put(&b, s + start, n - start);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_indent)
{
    return do_indent(out, call, args, false);
}

FN(fn_nindent)
{
    return do_indent(out, call, args, true);
}

/* strings.Replace(src, old, new, -1), including Go's rule for an empty
 * old string: new goes before every rune and at the end. */
FN(fn_replace)
{
    const char *old, *new, *s;
    size_t on, nn, n;
    int rc;
    if ((rc = ks_funcs_arg_str(&old, &on, call, args[0])) ||
        (rc = ks_funcs_arg_str(&new, &nn, call, args[1])) ||
        (rc = ks_funcs_arg_str(&s, &n, call, args[2])))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (on == 0) {
        size_t w;
        for (size_t i = 0; i < n; i += w) {
            ks_funcs_utf8_decode(s + i, n - i, &w);
            ks_buf_put(&b, new, nn);
            ks_buf_put(&b, s + i, w);
        }
        ks_buf_put(&b, new, nn);
        return ks_funcs_ret_buf(out, call, &b);
    }
    size_t i = 0;
    while (i < n) {
        const char *hit = memmem(s + i, n - i, old, on);
        if (!hit)
            break;
        size_t at = (size_t)(hit - s);
        ks_buf_put(&b, s + i, at - i);
        ks_buf_put(&b, new, nn);
        i = at + on;
    }
    ks_buf_put(&b, s + i, n - i);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_plural)
{
    const char *one, *many;
    size_t on, mn;
    long long count;
    int rc;
    if ((rc = ks_funcs_arg_str(&one, &on, call, args[0])) ||
        (rc = ks_funcs_arg_str(&many, &mn, call, args[1])) ||
        (rc = ks_funcs_arg_int(&count, call, args[2])))
        return rc;
    return count == 1 ? ks_funcs_ret_str(out, call, one, on)
                      : ks_funcs_ret_str(out, call, many, mn);
}

FN(fn_to_string)
{
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (ks_funcs_strval(&b, args[0]) && !ks_buf_error(&b)) {
        ks_buf_release(&b);
        return ks_tpl_call_error(call, KS_EINVALID, "%s", ks_error_last());
    }
    return ks_funcs_ret_buf(out, call, &b);
}

/* strings.SplitN(s, sep, n) as a list; n < 0 means all. An empty sep
 * splits into runes. */
static int split_list(json_t **out, struct ks_tpl_call *call, const char *sep, size_t sn,
                      const char *s, size_t n, long long max)
{
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    if (max == 0)
        goto done;
    size_t i = 0;
    long long count = 0;
    int err = 0;
    while (!err) {
        if (max > 0 && count == max - 1)
            break;
        size_t at, skip;
        if (sn == 0) {
            if (i >= n)
                break;
            ks_funcs_utf8_decode(s + i, n - i, &skip);
            at = i + skip;
            skip = 0;
            if (at >= n)
                break;
        } else {
            const char *hit = memmem(s + i, n - i, sep, sn);
            if (!hit)
                break;
            at = (size_t)(hit - s);
            skip = sn;
        }
        err = json_array_append_new(list, json_stringn_nocheck(s + i, at - i));
        i = at + skip;
        count++;
        if ((size_t)count > KS_FUNCS_MAX_LIST) {
            json_decref(list);
            return ks_tpl_call_error(call, KS_ELIMIT, "split result exceeds %zu items",
                                     KS_FUNCS_MAX_LIST);
        }
    }
    if (err ||
        (sn == 0 && n == 0 ? 0 : json_array_append_new(list, json_stringn_nocheck(s + i, n - i)))) {
        json_decref(list);
        return ks_funcs_nomem(call);
    }
done:
    *out = list;
    return 0;
}

/* Turns a list into Sprig's split map {"_0": a, "_1": b ...}. */
static int list_to_split_map(json_t **out, struct ks_tpl_call *call, json_t *list)
{
    json_t *map = json_object();
    size_t i;
    json_t *item;
    if (!map)
        goto nomem;
    json_array_foreach(list, i, item)
    {
        char key[32];
        snprintf(key, sizeof(key), "_%zu", i);
        if (json_object_set(map, key, item))
            goto nomem;
    }
    json_decref(list);
    *out = map;
    return 0;
nomem:
    json_decref(map);
    json_decref(list);
    return ks_funcs_nomem(call);
}

FN(fn_split_list)
{
    const char *sep, *s;
    size_t sn, n;
    int rc;
    if ((rc = ks_funcs_args_str_str(&sep, &sn, &s, &n, call, args)))
        return rc;
    return split_list(out, call, sep, sn, s, n, -1);
}

FN(fn_split)
{
    json_t *list;
    int rc = fn_split_list(&list, call, args, nargs);
    return rc ? rc : list_to_split_map(out, call, list);
}

FN(fn_splitn)
{
    const char *sep, *s;
    size_t sn, n;
    long long max;
    json_t *list;
    int rc;
    if ((rc = ks_funcs_arg_str(&sep, &sn, call, args[0])) ||
        (rc = ks_funcs_arg_int(&max, call, args[1])) ||
        (rc = ks_funcs_arg_str(&s, &n, call, args[2])))
        return rc;
    if ((rc = split_list(&list, call, sep, sn, s, n, max)) != 0)
        return rc;
    return list_to_split_map(out, call, list);
}

static int strslice_or_error(json_t **out, struct ks_tpl_call *call, const json_t *v)
{
    int rc = ks_funcs_strslice(out, v);
    if (rc == KS_ENOMEM)
        return ks_funcs_nomem(call);
    if (rc)
        return ks_tpl_call_error(call, rc, "%s", ks_error_last());
    return 0;
}

FN(fn_join)
{
    const char *sep;
    size_t sn;
    json_t *list, *item;
    size_t i;
    int rc;
    if ((rc = ks_funcs_arg_str(&sep, &sn, call, args[0])) ||
        (rc = strslice_or_error(&list, call, args[1])))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    json_array_foreach(list, i, item)
    {
        if (i)
            ks_buf_put(&b, sep, sn);
        ks_buf_put(&b, json_string_value(item), json_string_length(item));
    }
    json_decref(list);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_to_strings)
{
    return strslice_or_error(out, call, args[0]);
}

static int cmp_json_strings(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    size_t xn = json_string_length(x), yn = json_string_length(y);
    int c = memcmp(json_string_value(x), json_string_value(y), xn < yn ? xn : yn);
    if (c)
        return c;
    return xn < yn ? -1 : xn > yn;
}

int ks_funcs_sort_strings(json_t *list)
{
    size_t n = json_array_size(list);
    if (n < 2)
        return 0;
    json_t **items = malloc(n * sizeof(*items));
    if (!items)
        return KS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof(*items), cmp_json_strings);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_set_new(list, i, items[i]))
            rc = KS_ENOMEM;
    free(items);
    return rc;
}

FN(fn_sort_alpha)
{
    json_t *list;
    int rc;
    if (!json_is_array(args[0])) {
        /* not a list: a one-item list of its strval (nil too: "<nil>") */
        struct ks_buf b;
        ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
        ks_funcs_strval(&b, args[0]);
        json_t *s;
        if ((rc = ks_funcs_ret_buf(&s, call, &b)) != 0)
            return rc;
        return ks_funcs_ret(out, call, json_pack("[o]", s));
    }
    if ((rc = strslice_or_error(&list, call, args[0])) != 0)
        return rc;
    if (ks_funcs_sort_strings(list)) {
        json_decref(list);
        return ks_funcs_nomem(call);
    }
    *out = list;
    return 0;
}

static int case_convert(json_t **out, struct ks_tpl_call *call, const json_t *arg,
                        int (*fn)(struct ks_buf *, const char *, size_t))
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    fn(&b, s, n);
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_snakecase)
{
    return case_convert(out, call, args[0], ks_strcase_snake);
}

FN(fn_kebabcase)
{
    return case_convert(out, call, args[0], ks_strcase_kebab);
}

FN(fn_camelcase)
{
    return case_convert(out, call, args[0], ks_strcase_camel);
}

const struct ks_tpl_func_def ks_tpl_funcs_strings[] = {
    {"trunc", fn_trunc, 2, 2},
    {"trim", fn_trim, 1, 1},
    {"trimAll", fn_trim_all, 2, 2},
    {"trimall", fn_trim_all, 2, 2},
    {"trimSuffix", fn_trim_suffix, 2, 2},
    {"trimPrefix", fn_trim_prefix, 2, 2},
    {"upper", fn_upper, 1, 1},
    {"lower", fn_lower, 1, 1},
    {"title", fn_title, 1, 1},
    {"untitle", fn_untitle, 1, 1},
    {"swapcase", fn_swapcase, 1, 1},
    {"substr", fn_substr, 3, 3},
    {"repeat", fn_repeat, 2, 2},
    {"nospace", fn_nospace, 1, 1},
    {"initials", fn_initials, 1, 1},
    {"abbrev", fn_abbrev, 2, 2},
    {"abbrevboth", fn_abbrevboth, 3, 3},
    {"wrap", fn_wrap, 2, 2},
    {"wrapWith", fn_wrap_with, 3, 3},
    {"contains", fn_contains, 2, 2},
    {"hasPrefix", fn_has_prefix, 2, 2},
    {"hasSuffix", fn_has_suffix, 2, 2},
    {"quote", fn_quote, 0, -1},
    {"squote", fn_squote, 0, -1},
    {"cat", fn_cat, 0, -1},
    {"indent", fn_indent, 2, 2},
    {"nindent", fn_nindent, 2, 2},
    {"replace", fn_replace, 3, 3},
    {"plural", fn_plural, 3, 3},
    {"toString", fn_to_string, 1, 1},
    {"split", fn_split, 2, 2},
    {"splitList", fn_split_list, 2, 2},
    {"splitn", fn_splitn, 3, 3},
    {"join", fn_join, 2, 2},
    {"toStrings", fn_to_strings, 1, 1},
    {"sortAlpha", fn_sort_alpha, 1, 1},
    {"snakecase", fn_snakecase, 1, 1},
    {"kebabcase", fn_kebabcase, 1, 1},
    {"camelcase", fn_camelcase, 1, 1},
    {"base", ks_funcs_path_base, 1, 1},
    {"dir", ks_funcs_path_dir, 1, 1},
    {"ext", ks_funcs_path_ext, 1, 1},
    {"clean", ks_funcs_path_clean, 1, 1},
    {"isAbs", ks_funcs_path_is_abs, 1, 1},
    {"osBase", ks_funcs_path_base, 1, 1},
    {"osDir", ks_funcs_path_dir, 1, 1},
    {"osExt", ks_funcs_path_ext, 1, 1},
    {"osClean", ks_funcs_path_clean, 1, 1},
    {"osIsAbs", ks_funcs_path_is_abs, 1, 1},
    {NULL, NULL, 0, 0},
};
