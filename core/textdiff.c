/*
 * textdiff.c: unified line diff (see textdiff.h). Lines are split into
 * (pointer, length) slices, common prefix and suffix are trimmed first (the
 * usual case is a one-line change), then an LCS table over the middle gives
 * the edit script, which is grouped into hunks with context.
 */
#include "core/textdiff.h"
#include "core/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct line {
    const char *p;
    size_t len; /* without the newline */
};

static struct line *split(const char *text, size_t *n)
{
    size_t count = 0, cap = 16;
    struct line *v = malloc(cap * sizeof *v);
    for (const char *p = text; v && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (count == cap) {
            cap *= 2;
            struct line *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                return NULL;
            }
            v = nv;
        }
        v[count++] = (struct line){p, len};
        p += len + (nl ? 1 : 0);
    }
    *n = count;
    return v;
}

static int same(const struct line *x, const struct line *y)
{
    return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

enum op { KEEP, DEL, ADD };

struct edit {
    enum op op;
    size_t ai, bi; /* line indexes in a and b */
};

/* Builds the edit script for a[lo..ahi) vs b[lo..bhi) after common trimming. */
static struct edit *script(const struct line *a, size_t na, const struct line *b, size_t nb,
                           size_t *out_n)
{
    size_t pre = 0;
    while (pre < na && pre < nb && same(&a[pre], &b[pre]))
        pre++;
    size_t suf = 0;
    while (suf < na - pre && suf < nb - pre && same(&a[na - 1 - suf], &b[nb - 1 - suf]))
        suf++;
    size_t m = na - pre - suf, n = nb - pre - suf;
    struct edit *e = malloc((na + nb + 1) * sizeof *e);
    uint32_t *t = NULL;
    size_t k = 0;
    if (!e)
        return NULL;
    for (size_t i = 0; i < pre; i++)
        e[k++] = (struct edit){KEEP, i, i};
    bool use_table = m && n && (m + 1) * (n + 1) <= KS_TEXTDIFF_MAX_CELLS;
    if (use_table)
        t = calloc((m + 1) * (n + 1), sizeof *t);
    if (t) {
        /* t[i][j] = LCS length of a[pre+i..pre+m) and b[pre+j..pre+n) */
        for (size_t i = m; i-- > 0;)
            for (size_t j = n; j-- > 0;)
                t[i * (n + 1) + j] = same(&a[pre + i], &b[pre + j])
                                         ? t[(i + 1) * (n + 1) + j + 1] + 1
                                         : (t[(i + 1) * (n + 1) + j] > t[i * (n + 1) + j + 1]
                                                ? t[(i + 1) * (n + 1) + j]
                                                : t[i * (n + 1) + j + 1]);
    }
    size_t i = 0, j = 0;
    /* walk the table; on ties deletions come before additions, as diff(1) prints */
    while (i < m || j < n) {
        if (t && i < m && j < n && same(&a[pre + i], &b[pre + j]))
            e[k++] = (struct edit){KEEP, pre + i++, pre + j++};
        else if (i < m && (j == n || !t || t[(i + 1) * (n + 1) + j] >= t[i * (n + 1) + j + 1]))
            e[k++] = (struct edit){DEL, pre + i++, pre + j};
        else
            e[k++] = (struct edit){ADD, pre + i, pre + j++};
    }
    for (size_t s = 0; s < suf; s++)
        e[k++] = (struct edit){KEEP, na - suf + s, nb - suf + s};
    free(t);
    *out_n = k;
    return e;
}

static void put_line(struct ks_buf *out, char mark, const struct line *l)
{
    ks_buf_putc(out, mark);
    ks_buf_put(out, l->p, l->len);
    ks_buf_putc(out, '\n');
}

int ks_textdiff_unified(struct ks_buf *out, const char *a, const char *b, unsigned context)
{
    size_t na = 0, nb = 0, ne = 0;
    struct line *la = split(a, &na), *lb = split(b, &nb);
    struct edit *e = la && lb ? script(la, na, lb, nb, &ne) : NULL;
    int rc = 0;
    if (!e) {
        rc = ks_error_set(KS_ENOMEM, "out of memory computing a diff");
        goto done;
    }
    for (size_t i = 0; i < ne;) {
        if (e[i].op == KEEP) {
            i++;
            continue;
        }
        /* hunk: from `context` lines before this change to `context` after the last
         * change that is within 2*context lines of the previous one */
        size_t start = i > context ? i - context : 0;
        size_t end = i;
        for (size_t gap = 0; end < ne; end++) {
            gap = e[end].op == KEEP ? gap + 1 : 0;
            if (gap > 2 * context)
                break;
        }
        while (end > i && e[end - 1].op == KEEP && end - 1 >= i)
            end--;
        size_t stop = end + context < ne ? end + context : ne;
        size_t a_start = e[start].ai, b_start = e[start].bi, a_len = 0, b_len = 0;
        for (size_t k = start; k < stop; k++) {
            a_len += e[k].op != ADD;
            b_len += e[k].op != DEL;
        }
        ks_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", a_start + (a_len ? 1 : 0), a_len,
                      b_start + (b_len ? 1 : 0), b_len);
        for (size_t k = start; k < stop; k++) {
            if (e[k].op == KEEP)
                put_line(out, ' ', &la[e[k].ai]);
            else if (e[k].op == DEL)
                put_line(out, '-', &la[e[k].ai]);
            else
                put_line(out, '+', &lb[e[k].bi]);
        }
        i = stop;
    }
    rc = ks_buf_error(out);
done:
    free(la);
    free(lb);
    free(e);
    return rc;
}
