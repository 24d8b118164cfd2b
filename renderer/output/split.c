/*
 * split.c: helm's releaseutil.SplitManifests, Go's strings.TrimSpace and
 * path/filepath.Match, reproduced exactly because `helm template` output
 * (which documents exist, where they start, what --show-only selects)
 * depends on every detail of them.
 *
 * The separator regexp `(?:^|\s*\n)---\s*` is matched by hand: the
 * leftmost match is always the first "\n---" after the previous match,
 * widened backwards over the whitespace in front of it (\s is ASCII
 * [\t\n\f\r ] in Go's RE2), or "---" at the very start of the text.
 */
#include "renderer/output/output.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static bool re_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Length of a Unicode White_Space character (as Go's unicode.IsSpace) at
 * s[0..n), or 0. */
static size_t uspace_len(const unsigned char *s, size_t n)
{
    if (n >= 1 && (re_space(s[0]) || s[0] == '\v'))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n >= 3) {
        if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
            return 3;
        if (s[0] == 0xe2 && s[1] == 0x80 &&
            ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
            return 3;
        if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
            return 3;
        if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
            return 3;
    }
    return 0;
}

/* Length of a Unicode space character ending at s[n-1], or 0. */
static size_t uspace_len_back(const unsigned char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (uspace_len(s + n - k, k) == k)
            return k;
    return 0;
}

/* Go's strings.TrimSpace on text[*start, *end). */
static void trim_space(const char *text, size_t *start, size_t *end)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t k;
    while (*start < *end && (k = uspace_len(s + *start, *end - *start)) > 0)
        *start += k;
    while (*end > *start && (k = uspace_len_back(s + *start, *end - *start)) > 0)
        *end -= k;
}

void ks_output_docs_free(struct ks_output_doc *docs, size_t n)
{
    if (!docs)
        return;
    for (size_t i = 0; i < n; i++)
        free(docs[i].text);
    free(docs);
}

static size_t count_lines(const char *text, size_t from, size_t to, size_t line)
{
    for (size_t i = from; i < to; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static int push_doc(struct ks_output_doc **docs, size_t *n, size_t *cap, const char *text,
                    size_t start, size_t end, size_t *line, size_t *line_pos, bool copy_text)
{
    if (start == end)
        return 0; /* Go: `if d == "" { continue }` (before trimming) */
    trim_space(text, &start, &end);
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct ks_output_doc *nd = realloc(*docs, ncap * sizeof(*nd));
        if (!nd)
            return ks_error_set(KS_ENOMEM, "out of memory splitting manifests");
        *docs = nd;
        *cap = ncap;
    }
    char *copy = NULL;
    if (copy_text) {
        copy = malloc(end - start + 1);
        if (!copy)
            return ks_error_set(KS_ENOMEM, "out of memory splitting manifests");
        memcpy(copy, text + start, end - start);
        copy[end - start] = '\0';
    }
    *line = count_lines(text, *line_pos, start, *line);
    *line_pos = start;
    (*docs)[*n] =
        (struct ks_output_doc){.text = copy, .line = *line, .off = start, .len = end - start};
    (*n)++;
    return 0;
}

static int split(struct ks_output_doc **out, size_t *out_n, const char *text, size_t len,
                 bool copy_text)
{
    struct ks_output_doc *docs = NULL;
    size_t n = 0, cap = 0, line = 1, line_pos = 0;
    size_t start = 0, end = len;
    int rc = 0;

    trim_space(text, &start, &end);
    line = count_lines(text, 0, start, 1);
    line_pos = start;
    size_t piece = start; /* beginning of the current piece */
    size_t pos = start;   /* where the next match may begin */
    if (end - start >= 3 && memcmp(text + start, "---", 3) == 0) {
        /* `^---\s*` matches at the start of the trimmed text */
        size_t e = start + 3;
        while (e < end && re_space((unsigned char)text[e]))
            e++;
        piece = pos = e;
    }
    for (;;) {
        const char *hit = NULL;
        for (const char *nl = text + pos; end - (size_t)(nl - text) >= 4;) {
            nl = memchr(nl, '\n', end - (size_t)(nl - text) - 3);
            if (!nl)
                break;
            if (memcmp(nl + 1, "---", 3) == 0) {
                hit = nl;
                break;
            }
            nl++;
        }
        if (!hit)
            break;
        size_t m_start = (size_t)(hit - text);
        while (m_start > pos && re_space((unsigned char)text[m_start - 1]))
            m_start--;
        size_t m_end = (size_t)(hit - text) + 4;
        while (m_end < end && re_space((unsigned char)text[m_end]))
            m_end++;
        rc = push_doc(&docs, &n, &cap, text, piece, m_start, &line, &line_pos, copy_text);
        if (rc < 0)
            goto done;
        piece = pos = m_end;
    }
    rc = push_doc(&docs, &n, &cap, text, piece, end, &line, &line_pos, copy_text);
    if (rc < 0)
        goto done;
    *out = docs;
    *out_n = n;
    docs = NULL;
done:
    ks_output_docs_free(docs, n);
    return rc;
}

int ks_output_split(struct ks_output_doc **out, size_t *out_n, const char *text, size_t len)
{
    return split(out, out_n, text, len, true);
}

int ks_output_split_spans(struct ks_output_doc **out, size_t *out_n, const char *text, size_t len)
{
    return split(out, out_n, text, len, false);
}

/* One element of a filepath.Match pattern against one character; *p is
 * advanced past the element. Returns 1 match, 0 no match, -1 bad pattern. */
static int match_class(const char **p, unsigned char c)
{
    const char *s = *p + 1; /* after '[' */
    bool negate = false, matched = false;
    if (*s == '^') {
        negate = true;
        s++;
    }
    bool first = true;
    for (;;) {
        if (*s == ']' && !first)
            break;
        first = false;
        if (*s == '\0')
            return -1;
        unsigned char lo, hi;
        if (*s == '\\') {
            s++;
            if (*s == '\0')
                return -1;
        }
        lo = (unsigned char)*s++;
        hi = lo;
        if (*s == '-') {
            s++;
            if (*s == '\\')
                s++;
            if (*s == '\0' || *s == ']')
                return -1;
            hi = (unsigned char)*s++;
        }
        if (lo <= c && c <= hi)
            matched = true;
    }
    *p = s + 1;
    return matched != negate;
}

static bool glob_at(const char *p, const char *s)
{
    while (*p) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            /* '*' matches any run of non-separator characters */
            for (const char *t = s;; t++) {
                if (glob_at(p, t))
                    return true;
                if (*t == '\0' || *t == '/')
                    return false;
            }
        }
        if (*s == '\0')
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
            p++;
            s++;
            continue;
        }
        if (*p == '[') {
            if (*s == '/')
                return false;
            int m = match_class(&p, (unsigned char)*s);
            if (m <= 0)
                return false;
            s++;
            continue;
        }
        if (*p == '\\') {
            p++;
            if (*p == '\0')
                return false;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *s == '\0';
}

bool ks_output_glob_match(const char *pattern, const char *name)
{
    return glob_at(pattern, name);
}
