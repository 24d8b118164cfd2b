/*
 * gzip.c: gzip (RFC 1952) and DEFLATE (RFC 1951) decoding for chart
 * archives, written here so the renderer keeps its dependency list (core
 * only) and so the output size is capped while decoding, not after: a
 * small archive cannot expand past the chart size limit.
 *
 * Straightforward canonical-Huffman decoder (bit at a time, tables built
 * from code lengths), stored/fixed/dynamic blocks, concatenated gzip
 * members, CRC-32 and length trailer checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/chart/chart.h"

#define MAX_BITS 15
#define MAX_LCODES 286
#define MAX_DCODES 30

struct inflater {
    const unsigned char *in;
    size_t in_len, in_pos;
    unsigned bitbuf, bitcnt;
    unsigned char *out;
    size_t out_len, out_cap, max;
    int error; /* KS_EINVALID or KS_ELIMIT once something went wrong */
};

struct huffman {
    short count[MAX_BITS + 1];
    short symbol[MAX_LCODES];
};

static unsigned bits(struct inflater *s, unsigned need)
{
    unsigned long val = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->in_pos >= s->in_len) {
            s->error = KS_EINVALID;
            return 0;
        }
        val |= (unsigned long)s->in[s->in_pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = (unsigned)(val >> need);
    s->bitcnt -= need;
    return (unsigned)(val & ((1UL << need) - 1));
}

static int put_byte(struct inflater *s, unsigned char c)
{
    if (s->out_len == s->out_cap) {
        if (s->out_len >= s->max) {
            s->error = KS_ELIMIT;
            return -1;
        }
        size_t ncap = s->out_cap ? s->out_cap * 2 : 65536;
        if (ncap > s->max)
            ncap = s->max;
        unsigned char *n = realloc(s->out, ncap);
        if (!n) {
            s->error = KS_ENOMEM;
            return -1;
        }
        s->out = n;
        s->out_cap = ncap;
    }
    s->out[s->out_len++] = c;
    return 0;
}

static int build(struct huffman *h, const short *length, int n)
{
    short offs[MAX_BITS + 1];
    memset(h->count, 0, sizeof(h->count));
    for (int sym = 0; sym < n; sym++)
        h->count[length[sym]]++;
    if (h->count[0] == n)
        return 0;
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return -1; /* over-subscribed */
    }
    offs[1] = 0;
    for (int len = 1; len < MAX_BITS; len++)
        offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (int sym = 0; sym < n; sym++)
        if (length[sym] != 0)
            h->symbol[offs[length[sym]]++] = (short)sym;
    return left;
}

static int decode(struct inflater *s, const struct huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        code |= (int)bits(s, 1);
        if (s->error)
            return -1;
        int count = h->count[len];
        if (code - count < first)
            return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    s->error = KS_EINVALID;
    return -1;
}

static const short len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const short dist_base[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const short dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                     6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int codes(struct inflater *s, const struct huffman *lencode, const struct huffman *distcode)
{
    for (;;) {
        int sym = decode(s, lencode);
        if (sym < 0)
            return -1;
        if (sym < 256) {
            if (put_byte(s, (unsigned char)sym) < 0)
                return -1;
            continue;
        }
        if (sym == 256)
            return 0;
        sym -= 257;
        if (sym >= 29) {
            s->error = KS_EINVALID;
            return -1;
        }
        size_t len = (size_t)len_base[sym] + bits(s, (unsigned)len_extra[sym]);
        int dsym = decode(s, distcode);
        if (dsym < 0 || dsym >= 30) {
            s->error = KS_EINVALID;
            return -1;
        }
        size_t dist = (size_t)dist_base[dsym] + bits(s, (unsigned)dist_extra[dsym]);
        if (s->error)
            return -1;
        if (dist > s->out_len) {
            s->error = KS_EINVALID;
            return -1;
        }
        while (len--)
            if (put_byte(s, s->out[s->out_len - dist]) < 0)
                return -1;
    }
}

static int stored(struct inflater *s)
{
    s->bitbuf = 0;
    s->bitcnt = 0;
    if (s->in_pos + 4 > s->in_len) {
        s->error = KS_EINVALID;
        return -1;
    }
    unsigned len = s->in[s->in_pos] | ((unsigned)s->in[s->in_pos + 1] << 8);
    unsigned nlen = s->in[s->in_pos + 2] | ((unsigned)s->in[s->in_pos + 3] << 8);
    s->in_pos += 4;
    if (len != (~nlen & 0xffffu) || s->in_pos + len > s->in_len) {
        s->error = KS_EINVALID;
        return -1;
    }
    while (len--)
        if (put_byte(s, s->in[s->in_pos++]) < 0)
            return -1;
    return 0;
}

static int fixed(struct inflater *s)
{
    struct huffman lencode, distcode;
    short lengths[288];
    int sym = 0;
    for (; sym < 144; sym++)
        lengths[sym] = 8;
    for (; sym < 256; sym++)
        lengths[sym] = 9;
    for (; sym < 280; sym++)
        lengths[sym] = 7;
    for (; sym < 288; sym++)
        lengths[sym] = 8;
    build(&lencode, lengths, MAX_LCODES);
    for (sym = 0; sym < MAX_DCODES; sym++)
        lengths[sym] = 5;
    build(&distcode, lengths, MAX_DCODES);
    return codes(s, &lencode, &distcode);
}

static int dynamic(struct inflater *s)
{
    static const short order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                    11, 4,  12, 3, 13, 2, 14, 1, 15};
    short lengths[MAX_LCODES + MAX_DCODES];
    struct huffman lencode, distcode;
    int nlen = (int)bits(s, 5) + 257;
    int ndist = (int)bits(s, 5) + 1;
    int ncode = (int)bits(s, 4) + 4;
    if (s->error || nlen > MAX_LCODES || ndist > MAX_DCODES)
        goto bad;
    int index;
    for (index = 0; index < ncode; index++)
        lengths[order[index]] = (short)bits(s, 3);
    for (; index < 19; index++)
        lengths[order[index]] = 0;
    if (s->error || build(&lencode, lengths, 19) != 0)
        goto bad;
    index = 0;
    while (index < nlen + ndist) {
        int sym = decode(s, &lencode);
        if (sym < 0)
            goto bad;
        if (sym < 16) {
            lengths[index++] = (short)sym;
            continue;
        }
        short len = 0;
        int rep;
        if (sym == 16) {
            if (index == 0)
                goto bad;
            len = lengths[index - 1];
            rep = 3 + (int)bits(s, 2);
        } else if (sym == 17) {
            rep = 3 + (int)bits(s, 3);
        } else {
            rep = 11 + (int)bits(s, 7);
        }
        if (s->error || index + rep > nlen + ndist)
            goto bad;
        while (rep--)
            lengths[index++] = len;
    }
    if (lengths[256] == 0)
        goto bad;
    int err = build(&lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen - lencode.count[0] != 1))
        goto bad;
    err = build(&distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist - distcode.count[0] != 1))
        goto bad;
    return codes(s, &lencode, &distcode);
bad:
    if (!s->error)
        s->error = KS_EINVALID;
    return -1;
}

/* CRC-32 (IEEE); the table is built per call (cheap next to inflating) so
 * concurrent renders share no mutable state. */
static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* Skips a gzip member header at s->in_pos. */
static int gzip_header(struct inflater *s)
{
    const unsigned char *p = s->in + s->in_pos;
    size_t left = s->in_len - s->in_pos;
    if (left < 10 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8)
        return -1;
    unsigned flags = p[3];
    size_t pos = 10;
    if (flags & 4) {
        if (pos + 2 > left)
            return -1;
        pos += 2 + (p[pos] | ((size_t)p[pos + 1] << 8));
    }
    for (unsigned f = 8; f <= 16; f <<= 1) {
        if (flags & f) {
            while (pos < left && p[pos])
                pos++;
            pos++;
        }
    }
    if (flags & 2)
        pos += 2;
    if (pos > left)
        return -1;
    s->in_pos += pos;
    return 0;
}

int ks_gunzip(unsigned char **out, size_t *out_len, const unsigned char *data, size_t len,
              size_t max, const char *where)
{
    struct inflater s = {.in = data, .in_len = len, .max = max};
    int rc = 0;
    do {
        if (gzip_header(&s) < 0) {
            rc = ks_error_set(KS_EINVALID, "%s: not a gzip stream", where);
            goto done;
        }
        size_t member_start = s.out_len;
        int last;
        do {
            last = (int)bits(&s, 1);
            unsigned type = bits(&s, 2);
            if (s.error)
                break;
            if (type == 0)
                stored(&s);
            else if (type == 1)
                fixed(&s);
            else if (type == 2)
                dynamic(&s);
            else
                s.error = KS_EINVALID;
        } while (!last && !s.error);
        if (s.error == KS_ELIMIT) {
            rc = ks_error_set(KS_ELIMIT, "%s: chart archive unpacks to more than %zu bytes", where,
                              max);
            goto done;
        }
        if (s.error) {
            rc = ks_error_set(s.error == KS_ENOMEM ? KS_ENOMEM : KS_EINVALID,
                              "%s: corrupt gzip data", where);
            goto done;
        }
        s.bitbuf = 0;
        s.bitcnt = 0;
        if (s.in_pos + 8 > s.in_len) {
            rc = ks_error_set(KS_EINVALID, "%s: truncated gzip stream", where);
            goto done;
        }
        const unsigned char *t = s.in + s.in_pos;
        uint32_t crc = t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
        uint32_t isize = t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
        s.in_pos += 8;
        size_t n = s.out_len - member_start;
        if (crc != crc32_of(s.out + member_start, n) || isize != (uint32_t)n) {
            rc = ks_error_set(KS_EINVALID, "%s: gzip checksum mismatch", where);
            goto done;
        }
    } while (s.in_pos < s.in_len && s.in[s.in_pos] == 0x1f);
    *out = s.out ? s.out : malloc(1);
    if (!*out) {
        rc = ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
        goto done;
    }
    *out_len = s.out_len;
    s.out = NULL;
done:
    free(s.out);
    return rc;
}
