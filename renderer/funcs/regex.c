/*
 * regex.c: Sprig's regular-expression functions on PCRE2, made to behave
 * like Go's regexp (RE2 syntax): patterns PCRE2 would accept but Go refuses
 * (lookarounds, backreferences, atomic groups, possessive quantifiers, \Z)
 * are refused with Go's messages; `$` means end of text unless (?m); the
 * "All" functions follow Go's rule for empty matches (none right after a
 * previous match, advance one rune); replacements expand Go's $1, ${1},
 * $name, ${name} and $$ (not PCRE's syntax). PCRE2 backtracks where RE2
 * does not, so a match limit stops pathological patterns with an error.
 * Non-must variants report compile errors as Go's MustCompile panic does;
 * regexMatch turns them into false.
 */
#include "renderer/funcs/funcs.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MATCH_LIMIT 10000000u
#define DEPTH_LIMIT 100000u

struct rx {
    pcre2_code *code; /* owned unless shared (then in the cache) */
    bool shared;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
};

/* Compiled patterns, shared by every render of the process (compiled code
 * is read-only while matching; match data stays per call). Charts call the
 * regex functions in loops with a handful of patterns, so the first
 * RX_CACHE_N patterns that compile are kept until exit and never evicted
 * (so no user can see one freed); later ones compile per call as before. */
#define RX_CACHE_N 32
#define RX_CACHE_MAX_PATTERN 1024
static struct {
    char *pattern;
    size_t len;
    pcre2_code *code;
} rx_cache[RX_CACHE_N];
static size_t rx_cache_n;
static pthread_mutex_t rx_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static pcre2_code *rx_cache_get(const char *p, size_t n)
{
    pcre2_code *code = NULL;
    pthread_mutex_lock(&rx_cache_lock);
    for (size_t i = 0; i < rx_cache_n && !code; i++)
        if (rx_cache[i].len == n && memcmp(rx_cache[i].pattern, p, n) == 0)
            code = rx_cache[i].code;
    pthread_mutex_unlock(&rx_cache_lock);
    return code;
}

/* Hands code to the cache when there is room; returns whether it did. */
static bool rx_cache_put(const char *p, size_t n, pcre2_code *code)
{
    bool taken = false;
    if (n > RX_CACHE_MAX_PATTERN)
        return false;
    pthread_mutex_lock(&rx_cache_lock);
    bool present = false;
    for (size_t i = 0; i < rx_cache_n && !present; i++)
        present = rx_cache[i].len == n && memcmp(rx_cache[i].pattern, p, n) == 0;
    if (!present && rx_cache_n < RX_CACHE_N) {
        char *copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, p, n);
            copy[n] = '\0';
            rx_cache[rx_cache_n].pattern = copy;
            rx_cache[rx_cache_n].len = n;
            rx_cache[rx_cache_n].code = code;
            rx_cache_n++;
            taken = true;
        }
    }
    pthread_mutex_unlock(&rx_cache_lock);
    return taken;
}

static void rx_free(struct rx *r)
{
    pcre2_match_data_free(r->md);
    pcre2_match_context_free(r->mctx);
    if (!r->shared)
        pcre2_code_free(r->code);
}

/* Go's quote() in regexp errors: backquoted when possible. */
static void go_quote(char *dst, size_t cap, const char *s, size_t n)
{
    bool plain = true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '`' || (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
            plain = false;
    if (plain) {
        snprintf(dst, cap, "`%.*s`", (int)n, s);
        return;
    }
    size_t o = 0;
    if (o < cap)
        dst[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(dst + o, cap - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(dst + o, cap - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(dst + o, cap - o, "\\t");
        else if (c < 0x20 || c == 0x7F)
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    snprintf(dst + o, cap - o, "\"");
}

/* Finds RE2-incompatible syntax. Returns 0 or writes Go's message. */
static int re2_check(char *msg, size_t cap, const char *p, size_t n)
{
    bool in_class = false;
    char q[64];
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[i + 1];
            if ((e >= '1' && e <= '9') || e == 'Z' || e == 'g' || e == 'k' || e == 'K' ||
                e == 'R' || e == 'X' || e == 'G' || e == 'h' || e == 'H' || e == 'V' || e == 'N') {
                go_quote(q, sizeof(q), p + i, 2);
                snprintf(msg, cap, "invalid escape sequence: %s", q);
                return KS_EINVALID;
            }
            i++;
            continue;
        }
        if (in_class) {
            if (c == ']')
                in_class = false;
            continue;
        }
        if (c == '[') {
            in_class = true;
            if (i + 1 < n && p[i + 1] == '^')
                i++;
            if (i + 1 < n && p[i + 1] == ']')
                i++;
            continue;
        }
        if (c == '(' && i + 2 < n && p[i + 1] == '?' &&
            (p[i + 2] == '=' || p[i + 2] == '!' || p[i + 2] == '>' || p[i + 2] == '|' ||
             (p[i + 2] == '<' && i + 3 < n && (p[i + 3] == '=' || p[i + 3] == '!')))) {
            size_t len = p[i + 2] == '<' ? 4 : 3;
            go_quote(q, sizeof(q), p + i, len);
            snprintf(msg, cap, "invalid or unsupported Perl syntax: %s", q);
            return KS_EINVALID;
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < n && p[i + 1] == '+') {
            go_quote(q, sizeof(q), p + i, 2);
            snprintf(msg, cap, "invalid nested repetition operator: %s", q);
            return KS_EINVALID;
        }
    }
    return 0;
}

/* Compiles; on failure writes Go's error text ("error parsing regexp:
 * ...") to msg and returns KS_EINVALID. */
static int rx_compile(struct rx *r, char *msg, size_t cap, const char *p, size_t n)
{
    int err = 0;
    PCRE2_SIZE off = 0;
    char why[256], q[512];
    memset(r, 0, sizeof(*r));
    r->code = rx_cache_get(p, n);
    if (r->code) {
        r->shared = true;
        goto ready;
    }
    if (re2_check(why, sizeof(why), p, n)) {
        snprintf(msg, cap, "error parsing regexp: %s", why);
        return KS_EINVALID;
    }
    r->code =
        pcre2_compile((PCRE2_SPTR)p, n, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                      &err, &off, NULL);
    if (!r->code) {
        pcre2_get_error_message(err, (PCRE2_UCHAR *)why, sizeof(why));
        go_quote(q, sizeof(q), p, n);
        snprintf(msg, cap, "error parsing regexp: %s: %s", why, q);
        return KS_EINVALID;
    }
    r->shared = rx_cache_put(p, n, r->code);
ready:
    r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
    r->mctx = pcre2_match_context_create(NULL);
    if (!r->md || !r->mctx) {
        rx_free(r);
        return KS_ENOMEM;
    }
    pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);
    return 0;
}

/* One search from pos. 1 = match (ovector in r->md), 0 = none, <0 error. */
static int rx_exec(struct rx *r, const char *s, size_t n, size_t pos)
{
    int rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, pos, 0, r->md, r->mctx);
    if (rc > 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return ks_error_set(KS_ELIMIT, "regular expression too complex to match (PCRE2 error %d)", rc);
}

static const PCRE2_SIZE *rx_ov(const struct rx *r)
{
    return pcre2_get_ovector_pointer(r->md);
}

/* Compiles args[0] for a function; must selects the error wording. On
 * failure reports it and returns the code; sets *bad (if given) instead
 * of reporting a compile error when the caller wants to ignore it. */
static int compile_arg(struct rx *r, struct ks_tpl_call *call, const json_t *arg, bool must,
                       bool *bad)
{
    const char *p;
    size_t n;
    char msg[1024], q[512];
    int rc = ks_funcs_arg_str(&p, &n, call, arg);
    if (rc)
        return rc;
    rc = rx_compile(r, msg, sizeof(msg), p, n);
    if (rc == KS_ENOMEM)
        return ks_funcs_nomem(call);
    if (rc && bad) {
        *bad = true;
        return 0;
    }
    if (rc && must)
        return ks_tpl_call_error(call, rc, "%s", msg);
    if (rc) {
        go_quote(q, sizeof(q), p, n);
        return ks_tpl_call_error(call, rc, "regexp: Compile(%s): %s", q, msg);
    }
    return 0;
}

static int exec_error(struct ks_tpl_call *call, int rc)
{
    return ks_tpl_call_error(call, rc, "%s", ks_error_last());
}

static int match(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must)
{
    struct rx r;
    const char *s;
    size_t n;
    bool bad = false;
    int rc;
    if ((rc = ks_funcs_arg_str(&s, &n, call, args[1])) != 0)
        return rc;
    if ((rc = compile_arg(&r, call, args[0], must, must ? NULL : &bad)) != 0)
        return rc;
    if (bad)
        return ks_funcs_ret(out, call, json_false());
    rc = rx_exec(&r, s, n, 0);
    rx_free(&r);
    if (rc < 0)
        return exec_error(call, rc);
    return ks_funcs_ret(out, call, json_boolean(rc == 1));
}

int ks_funcs_regex_match(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return match(out, call, args, false);
}

int ks_funcs_must_regex_match(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                              size_t nargs)
{
    return match(out, call, args, true);
}

/* Go's allMatches: calls fn(start, end) for up to max matches (max < 0:
 * all), skipping empty matches right after a previous match. */
static int all_matches(struct rx *r, const char *s, size_t n, long long max,
                       int (*fn)(void *ctx, const PCRE2_SIZE *ov), void *ctx)
{
    size_t pos = 0;
    long long count = 0;
    long long prev_end = -1;
    while ((max < 0 || count < max) && pos <= n) {
        int rc = rx_exec(r, s, n, pos);
        if (rc <= 0)
            return rc;
        const PCRE2_SIZE *ov = rx_ov(r);
        bool accept = true;
        if (ov[1] == pos) {
            if ((long long)ov[0] == prev_end)
                accept = false;
            size_t w = 1;
            if (pos < n)
                ks_funcs_utf8_decode(s + pos, n - pos, &w);
            pos += w;
        } else {
            pos = ov[1];
        }
        prev_end = (long long)ov[1];
        if (accept) {
            if ((rc = fn(ctx, ov)) != 0)
                return rc;
            count++;
        }
    }
    return 0;
}

struct collect {
    json_t *list;
    const char *s;
};

static int collect_match(void *ctx, const PCRE2_SIZE *ov)
{
    struct collect *c = ctx;
    if (json_array_size(c->list) >= KS_FUNCS_MAX_LIST)
        return ks_error_set(KS_ELIMIT, "regex result exceeds %zu items", KS_FUNCS_MAX_LIST);
    if (json_array_append_new(c->list, json_stringn_nocheck(c->s + ov[0], ov[1] - ov[0])))
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

static int find(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must, bool all)
{
    struct rx r;
    const char *s;
    size_t n;
    long long max = 1;
    int rc;
    if ((rc = ks_funcs_arg_str(&s, &n, call, args[1])) != 0 ||
        (all && (rc = ks_funcs_arg_int(&max, call, args[2])) != 0))
        return rc;
    if ((rc = compile_arg(&r, call, args[0], must, NULL)) != 0)
        return rc;
    struct collect c = {json_array(), s};
    if (!c.list) {
        rx_free(&r);
        return ks_funcs_nomem(call);
    }
    rc = max == 0 ? 0 : all_matches(&r, s, n, max, collect_match, &c);
    rx_free(&r);
    if (rc < 0) {
        json_decref(c.list);
        return exec_error(call, rc);
    }
    if (all) {
        *out = c.list;
        return 0;
    }
    json_t *first =
        json_array_size(c.list) ? json_incref(json_array_get(c.list, 0)) : json_string("");
    json_decref(c.list);
    return ks_funcs_ret(out, call, first);
}

int ks_funcs_regex_find(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return find(out, call, args, false, false);
}

int ks_funcs_must_regex_find(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                             size_t nargs)
{
    return find(out, call, args, true, false);
}

int ks_funcs_regex_find_all(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                            size_t nargs)
{
    return find(out, call, args, false, true);
}

int ks_funcs_must_regex_find_all(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                                 size_t nargs)
{
    return find(out, call, args, true, true);
}

static bool name_rune(uint32_t r)
{
    return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
           r >= 0x80;
}

/* Appends the group named name (or numbered, all digits without a
 * leading zero) of the current match; nothing when it did not take part. */
static void put_group(struct ks_buf *b, const struct rx *r, const char *s, const char *name,
                      size_t nn)
{
    long num = 0;
    for (size_t i = 0; i < nn; i++) {
        if (name[i] < '0' || name[i] > '9' || num >= 100000000) {
            num = -1;
            break;
        }
        num = num * 10 + (name[i] - '0');
    }
    if (name[0] == '0' && nn > 1)
        num = -1;
    if (num < 0) {
        char tmp[256];
        if (nn >= sizeof(tmp))
            return;
        memcpy(tmp, name, nn);
        tmp[nn] = '\0';
        num = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR)tmp);
        if (num < 0)
            return;
    }
    uint32_t groups = pcre2_get_ovector_count(r->md);
    if ((uint32_t)num >= groups)
        return;
    const PCRE2_SIZE *ov = rx_ov(r);
    if (ov[2 * num] == PCRE2_UNSET)
        return;
    ks_buf_put(b, s + ov[2 * num], ov[2 * num + 1] - ov[2 * num]);
}

/* regexp.Expand's template language. */
static void expand(struct ks_buf *b, const struct rx *r, const char *s, const char *t, size_t tn)
{
    size_t i = 0;
    while (i < tn) {
        const char *dollar = memchr(t + i, '$', tn - i);
        if (!dollar) {
            ks_buf_put(b, t + i, tn - i);
            return;
        }
        size_t at = (size_t)(dollar - t);
        ks_buf_put(b, t + i, at - i);
        i = at + 1;
        if (i < tn && t[i] == '$') {
            ks_buf_putc(b, '$');
            i++;
            continue;
        }
        bool brace = i < tn && t[i] == '{';
        size_t j = i + (brace ? 1 : 0), w;
        size_t start = j;
        while (j < tn && name_rune(ks_funcs_utf8_decode(t + j, tn - j, &w)))
            j += w;
        bool ok = j > start && (!brace || (j < tn && t[j] == '}'));
        if (!ok) {
            ks_buf_putc(b, '$');
            continue;
        }
        put_group(b, r, s, t + start, j - start);
        i = brace ? j + 1 : j;
    }
}

static int replace(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must,
                   bool literal)
{
    struct rx r;
    const char *s, *repl;
    size_t n, rn;
    int rc;
    if ((rc = ks_funcs_arg_str(&s, &n, call, args[1])) != 0 ||
        (rc = ks_funcs_arg_str(&repl, &rn, call, args[2])) != 0)
        return rc;
    if ((rc = compile_arg(&r, call, args[0], must, NULL)) != 0)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    size_t last_end = 0, search = 0;
    while (search <= n) {
        rc = rx_exec(&r, s, n, search);
        if (rc <= 0)
            break;
        const PCRE2_SIZE *ov = rx_ov(&r);
        ks_buf_put(&b, s + last_end, ov[0] - last_end);
        if (ov[1] > last_end || ov[0] == 0) {
            if (literal)
                ks_buf_put(&b, repl, rn);
            else
                expand(&b, &r, s, repl, rn);
        }
        last_end = ov[1];
        size_t w = 0;
        if (search < n)
            ks_funcs_utf8_decode(s + search, n - search, &w);
        if (search + w > ov[1])
            search += w;
        else if (search + 1 > ov[1])
            search++;
        else
            search = ov[1];
    }
    rx_free(&r);
    if (rc < 0) {
        ks_buf_release(&b);
        return exec_error(call, rc);
    }
    ks_buf_put(&b, s + last_end, n - last_end);
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_regex_replace_all(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                               size_t nargs)
{
    return replace(out, call, args, false, false);
}

int ks_funcs_must_regex_replace_all(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                                    size_t nargs)
{
    return replace(out, call, args, true, false);
}

int ks_funcs_regex_replace_literal(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                                   size_t nargs)
{
    return replace(out, call, args, false, true);
}

int ks_funcs_must_regex_replace_literal(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                                        size_t nargs)
{
    return replace(out, call, args, true, true);
}

struct splitter {
    json_t *bounds; /* flat list of match start/end pairs */
};

static int collect_bounds(void *ctx, const PCRE2_SIZE *ov)
{
    struct splitter *sp = ctx;
    if (json_array_size(sp->bounds) >= 2 * KS_FUNCS_MAX_LIST)
        return ks_error_set(KS_ELIMIT, "regex result exceeds %zu items", KS_FUNCS_MAX_LIST);
    if (json_array_append_new(sp->bounds, json_integer((json_int_t)ov[0])) ||
        json_array_append_new(sp->bounds, json_integer((json_int_t)ov[1])))
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* regexp.Split(s, n). */
static int split(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool must)
{
    struct rx r;
    const char *s, *p;
    size_t n, pn;
    long long max;
    int rc;
    if ((rc = ks_funcs_arg_str(&s, &n, call, args[1])) != 0 ||
        (rc = ks_funcs_arg_int(&max, call, args[2])) != 0 ||
        (rc = ks_funcs_arg_str(&p, &pn, call, args[0])) != 0)
        return rc;
    if ((rc = compile_arg(&r, call, args[0], must, NULL)) != 0)
        return rc;
    json_t *list = json_array();
    struct splitter sp = {json_array()};
    if (!list || !sp.bounds) {
        rc = KS_ENOMEM;
        goto done;
    }
    if (max == 0)
        goto done;
    if (pn > 0 && n == 0) {
        rc = json_array_append_new(list, json_string("")) ? KS_ENOMEM : 0;
        goto done;
    }
    if ((rc = all_matches(&r, s, n, max, collect_bounds, &sp)) < 0)
        goto done;
    rc = 0;
    size_t beg = 0, end = 0;
    for (size_t i = 0; i + 1 < json_array_size(sp.bounds); i += 2) {
        if (max > 0 && (long long)json_array_size(list) == max - 1)
            break;
        end = (size_t)json_integer_value(json_array_get(sp.bounds, i));
        size_t mend = (size_t)json_integer_value(json_array_get(sp.bounds, i + 1));
        if (mend != 0 && json_array_append_new(list, json_stringn_nocheck(s + beg, end - beg))) {
            rc = KS_ENOMEM;
            goto done;
        }
        beg = mend;
    }
    if (end != n && json_array_append_new(list, json_stringn_nocheck(s + beg, n - beg)))
        rc = KS_ENOMEM;
done:
    rx_free(&r);
    json_decref(sp.bounds);
    if (rc) {
        json_decref(list);
        return rc == KS_ENOMEM ? ks_funcs_nomem(call) : exec_error(call, rc);
    }
    *out = list;
    return 0;
}

int ks_funcs_regex_split(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return split(out, call, args, false);
}

int ks_funcs_must_regex_split(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                              size_t nargs)
{
    return split(out, call, args, true);
}

/* regexp.QuoteMeta. */
int ks_funcs_regex_quote_meta(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                              size_t nargs)
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    for (size_t i = 0; i < n; i++) {
        if (s[i] && strchr("\\.+*?()|[]{}^$", s[i]))
            ks_buf_putc(&b, '\\');
        ks_buf_putc(&b, s[i]);
    }
    return ks_funcs_ret_buf(out, call, &b);
}
