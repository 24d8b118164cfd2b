/*
 * semver.c: semver and semverCompare with Masterminds/semver v3's rules,
 * which decide every semverCompare ">=1.21-0" against the cluster version
 * in real charts: lenient versions ("v1.2", "1"), constraints joined by
 * spaces or commas (AND) and "||" (OR), hyphen ranges, x, X and star wildcards,
 * and the rule that a prerelease version only satisfies a constraint that
 * itself names a prerelease. `semver` returns a host object whose Major,
 * Minor, Patch, Prerelease, Metadata and Original methods templates call.
 */
#include "renderer/funcs/funcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/template.h"

#define MAX_CONSTRAINTS 64
#define MAX_VERSION_TEXT 256

struct version {
    uint64_t major, minor, patch;
    char pre[MAX_VERSION_TEXT];
    char meta[MAX_VERSION_TEXT];
    char orig[MAX_VERSION_TEXT];
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ident_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric segment (leading zeros allowed, as semver v3.3 coerces
 * "1.02" to 1.2.0); fits uint64. */
static const char *parse_num(const char *p, uint64_t *out)
{
    if (!is_digit(*p))
        return NULL;
    uint64_t v = 0;
    for (; is_digit(*p); p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return p;
}

/* Dot-separated identifiers; numeric ones without leading zeros when
 * strict_num. Copies into dst. */
static const char *parse_idents(const char *p, char *dst, size_t cap, bool strict_num)
{
    const char *start = p;
    for (;;) {
        const char *seg = p;
        bool numeric = true;
        while (ident_char(*p)) {
            if (!is_digit(*p))
                numeric = false;
            p++;
        }
        if (p == seg)
            return NULL;
        if (strict_num && numeric && *seg == '0' && p - seg > 1)
            return NULL;
        if (*p != '.')
            break;
        p++;
    }
    size_t n = (size_t)(p - start);
    if (n >= cap)
        return NULL;
    memcpy(dst, start, n);
    dst[n] = '\0';
    return p;
}

/* semver.NewVersion: v?MAJOR(.MINOR)?(.PATCH)?(-PRE)?(+META)?. Returns
 * 0, or KS_EINVALID with *why set to semver's message. */
static int version_parse_why(struct version *v, const char *s, size_t n, const char **why)
{
    *why = "Invalid Semantic Version";
    memset(v, 0, sizeof(*v));
    if (n >= MAX_VERSION_TEXT || strlen(s) != n)
        return KS_EINVALID;
    memcpy(v->orig, s, n);
    const char *p = s;
    if (*p == 'v')
        p++;
    if (!(p = parse_num(p, &v->major)))
        return KS_EINVALID;
    if (*p == '.' && !(p = parse_num(p + 1, &v->minor)))
        return KS_EINVALID;
    if (*p == '.' && !(p = parse_num(p + 1, &v->patch)))
        return KS_EINVALID;
    if (*p == '-') {
        const char *pre = p + 1;
        if (!(p = parse_idents(pre, v->pre, sizeof(v->pre), true))) {
            if (parse_idents(pre, v->pre, sizeof(v->pre), false))
                *why = "Version segment starts with 0";
            return KS_EINVALID;
        }
    }
    if (*p == '+' && !(p = parse_idents(p + 1, v->meta, sizeof(v->meta), false)))
        return KS_EINVALID;
    return *p ? KS_EINVALID : 0;
}

static int version_parse(struct version *v, const char *s, size_t n)
{
    const char *why;
    return version_parse_why(v, s, n, &why);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int cmp_pre_part(const char *s, size_t sn, const char *o, size_t on)
{
    if (sn == on && memcmp(s, o, sn) == 0)
        return 0;
    if (sn == 0)
        return -1;
    if (on == 0)
        return 1;
    bool sd = all_digits(s, sn) && sn < 20, od = all_digits(o, on) && on < 20;
    if (!sd && !od) {
        int c = memcmp(s, o, sn < on ? sn : on);
        if (c == 0)
            c = sn < on ? -1 : 1;
        return c < 0 ? -1 : 1;
    }
    if (!od)
        return -1;
    if (!sd)
        return 1;
    return strtoull(s, NULL, 10) > strtoull(o, NULL, 10) ? 1 : -1;
}

static int cmp_pre(const char *a, const char *b)
{
    while (*a || *b) {
        size_t an = strcspn(a, "."), bn = strcspn(b, ".");
        int c = cmp_pre_part(a, an, b, bn);
        if (c)
            return c;
        a += an + (a[an] == '.');
        b += bn + (b[bn] == '.');
    }
    return 0;
}

static int version_cmp(const struct version *a, const struct version *b)
{
    int c;
    if ((c = cmp_u64(a->major, b->major)) || (c = cmp_u64(a->minor, b->minor)) ||
        (c = cmp_u64(a->patch, b->patch)))
        return c;
    if (!*a->pre && !*b->pre)
        return 0;
    if (!*a->pre)
        return 1;
    if (!*b->pre)
        return -1;
    return cmp_pre(a->pre, b->pre);
}

struct constraint {
    char op[3];
    struct version con;
    bool dirty, minor_dirty, patch_dirty;
};

static bool is_x(const char *s, size_t n)
{
    return n == 1 && (*s == 'x' || *s == 'X' || *s == '*');
}

/* One "op version" term (version text already isolated). */
static int constraint_parse(struct constraint *c, const char *op, size_t opn, const char *ver,
                            size_t vn)
{
    static const char *const ops[] = {
        "", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"};
    bool known = false;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strlen(ops[i]) == opn && memcmp(ops[i], op, opn) == 0)
            known = true;
    if (!known || vn == 0 || vn >= MAX_VERSION_TEXT)
        return KS_EINVALID;
    memset(c, 0, sizeof(*c));
    memcpy(c->op, op, opn);
    /* split v?MAJOR[.MINOR][.PATCH][-PRE][+META] where numbers may be x */
    const char *p = ver, *end = ver + vn;
    if (p < end && *p == 'v')
        p++;
    const char *seg[3] = {NULL, NULL, NULL};
    size_t segn[3] = {0, 0, 0};
    int nseg = 0;
    while (nseg < 3 && p < end) {
        const char *s = p;
        while (p < end && (is_digit(*p) || *p == 'x' || *p == 'X' || *p == '*'))
            p++;
        if (p == s)
            return KS_EINVALID;
        seg[nseg] = s;
        segn[nseg++] = (size_t)(p - s);
        if (p < end && *p == '.' && nseg < 3)
            p++;
        else
            break;
    }
    const char *rest = p; /* "-pre+meta" or "+meta" or "" */
    size_t restn = (size_t)(end - p);
    if (restn && *rest != '-' && *rest != '+')
        return KS_EINVALID;
    char text[MAX_VERSION_TEXT * 2];
    if (nseg == 0 || is_x(seg[0], segn[0])) {
        c->dirty = true;
        snprintf(text, sizeof(text), "0.0.0%.*s", (int)restn, rest);
    } else if (nseg < 2 || is_x(seg[1], segn[1])) {
        c->dirty = c->minor_dirty = true;
        snprintf(text, sizeof(text), "%.*s.0.0%.*s", (int)segn[0], seg[0], (int)restn, rest);
    } else if (nseg < 3 || is_x(seg[2], segn[2])) {
        c->dirty = c->patch_dirty = true;
        snprintf(text, sizeof(text), "%.*s.%.*s.0%.*s", (int)segn[0], seg[0], (int)segn[1], seg[1],
                 (int)restn, rest);
    } else {
        snprintf(text, sizeof(text), "%.*s", (int)vn, ver);
    }
    return version_parse(&c->con, text, strlen(text));
}

static bool check_one(const struct version *v, const struct constraint *c)
{
    const char *op = c->op;
    bool pre_blocked = *v->pre && !*c->con.pre;
    int cmp = version_cmp(v, &c->con);
    if (strcmp(op, "!=") == 0) {
        if (c->dirty) {
            if (pre_blocked)
                return false;
            if (c->con.major != v->major)
                return true;
            if (c->con.minor != v->minor && !c->minor_dirty)
                return true;
            if (c->minor_dirty)
                return false;
            if (c->con.patch != v->patch && !c->patch_dirty)
                return true;
            return false;
        }
        return cmp != 0;
    }
    if (pre_blocked)
        return false;
    if (strcmp(op, ">") == 0) {
        if (!c->dirty)
            return cmp > 0;
        if (v->major != c->con.major)
            return v->major > c->con.major;
        if (c->minor_dirty)
            return false;
        if (c->patch_dirty)
            return v->minor > c->con.minor;
        return cmp > 0;
    }
    if (strcmp(op, "<") == 0)
        return cmp < 0;
    if (strcmp(op, ">=") == 0 || strcmp(op, "=>") == 0)
        return cmp >= 0;
    if (strcmp(op, "<=") == 0 || strcmp(op, "=<") == 0) {
        if (!c->dirty)
            return cmp <= 0;
        if (v->major > c->con.major)
            return false;
        if (v->major == c->con.major && v->minor > c->con.minor && !c->minor_dirty)
            return false;
        return true;
    }
    bool tilde = op[0] == '~';
    if (op[0] == '\0' || op[0] == '=') {
        if (!c->dirty)
            return cmp == 0;
        tilde = true;
    }
    if (tilde) {
        if (cmp < 0)
            return false;
        if (c->con.major == 0 && c->con.minor == 0 && c->con.patch == 0 && !c->minor_dirty &&
            !c->patch_dirty)
            return true;
        if (v->major != c->con.major)
            return false;
        if (v->minor != c->con.minor && !c->minor_dirty)
            return false;
        return true;
    }
    /* ^ */
    if (cmp < 0)
        return false;
    if (c->con.major > 0 || c->minor_dirty)
        return v->major == c->con.major;
    if (v->major > 0)
        return false;
    if (c->con.minor > 0 || c->patch_dirty)
        return v->minor == c->con.minor;
    if (v->minor > 0)
        return false;
    return c->con.patch == v->patch;
}

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool op_char(char c)
{
    return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == '^';
}

static bool ver_char(char c)
{
    return ident_char(c) || c == '.' || c == '+' || c == '*';
}

/* Checks v against one "||" alternative: terms separated by spaces or
 * commas, "A - B" hyphen ranges. 1 = satisfied, 0 = not, <0 = bad. */
static int check_and(const struct version *v, const char *p, const char *end)
{
    struct constraint cs[MAX_CONSTRAINTS];
    int n = 0;
    while (p < end) {
        while (p < end && (ws(*p) || *p == ','))
            p++;
        if (p >= end)
            break;
        const char *op = p;
        while (p < end && op_char(*p))
            p++;
        size_t opn = (size_t)(p - op);
        while (p < end && ws(*p))
            p++;
        const char *ver = p;
        while (p < end && ver_char(*p))
            p++;
        size_t vn = (size_t)(p - ver);
        if (n + 2 > MAX_CONSTRAINTS)
            return KS_ELIMIT;
        /* hyphen range: "A - B" means ">= A, <= B" */
        const char *q = p;
        while (q < end && ws(*q))
            q++;
        if (opn == 0 && q + 1 < end && q > p && *q == '-' && ws(q[1])) {
            q++;
            while (q < end && ws(*q))
                q++;
            const char *v2 = q;
            while (q < end && ver_char(*q))
                q++;
            if (constraint_parse(&cs[n++], ">=", 2, ver, vn) ||
                constraint_parse(&cs[n++], "<=", 2, v2, (size_t)(q - v2)))
                return KS_EINVALID;
            p = q;
            continue;
        }
        if (constraint_parse(&cs[n++], op, opn, ver, vn))
            return KS_EINVALID;
    }
    if (n == 0) /* an empty alternative is an improper constraint */
        return KS_EINVALID;
    for (int i = 0; i < n; i++)
        if (!check_one(v, &cs[i]))
            return 0;
    return 1;
}

/* 1 / 0, or KS_EINVALID for a malformed constraint. */
static int constraint_check(const struct version *v, const char *c, size_t n)
{
    const char *p = c, *end = c + n;
    int result = 0;
    bool any = false;
    while (p <= end) {
        const char *bar = p;
        while (bar + 1 < end && !(bar[0] == '|' && bar[1] == '|'))
            bar++;
        if (bar + 1 >= end)
            bar = end;
        int rc = check_and(v, p, bar);
        if (rc < 0)
            return rc;
        any = true;
        if (rc == 1)
            result = 1;
        p = bar + 2;
    }
    return any ? result : 0;
}

int ks_funcs_semver_compare(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                            size_t nargs)
{
    const char *c, *s;
    size_t cn, sn;
    struct version v;
    int rc;
    if ((rc = ks_funcs_args_str_str(&c, &cn, &s, &sn, call, args)))
        return rc;
    /* constraints are validated first, as NewConstraint runs first */
    struct version probe;
    version_parse(&probe, "0.0.0", 5);
    rc = constraint_check(&probe, c, cn);
    if (rc == KS_ELIMIT)
        return ks_tpl_call_error(call, rc, "too many constraints (limit %d)", MAX_CONSTRAINTS);
    if (rc < 0)
        return ks_tpl_call_error(call, rc, "improper constraint: %.*s", (int)cn, c);
    const char *why;
    if (version_parse_why(&v, s, sn, &why))
        return ks_tpl_call_error(call, KS_EINVALID, "%s", why);
    rc = constraint_check(&v, c, cn);
    return ks_funcs_ret(out, call, json_boolean(rc == 1));
}

/* The host object of `semver`: methods return the parts. */
static int m_major(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                   size_t nargs)
{
    return ks_funcs_ret(out, call, json_integer((json_int_t)((struct version *)self)->major));
}

static int m_minor(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                   size_t nargs)
{
    return ks_funcs_ret(out, call, json_integer((json_int_t)((struct version *)self)->minor));
}

static int m_patch(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                   size_t nargs)
{
    return ks_funcs_ret(out, call, json_integer((json_int_t)((struct version *)self)->patch));
}

static int m_pre(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                 size_t nargs)
{
    return ks_funcs_ret(out, call, json_string(((struct version *)self)->pre));
}

static int m_meta(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                  size_t nargs)
{
    return ks_funcs_ret(out, call, json_string(((struct version *)self)->meta));
}

static int m_orig(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                  size_t nargs)
{
    return ks_funcs_ret(out, call, json_string(((struct version *)self)->orig));
}

/* Version.String(): normalised "1.2.3-pre+meta". */
static int version_string(struct ks_buf *out, void *self)
{
    const struct version *v = self;
    ks_buf_printf(out, "%llu.%llu.%llu", (unsigned long long)v->major, (unsigned long long)v->minor,
                  (unsigned long long)v->patch);
    if (*v->pre)
        ks_buf_printf(out, "-%s", v->pre);
    if (*v->meta)
        ks_buf_printf(out, "+%s", v->meta);
    return ks_buf_error(out);
}

static int m_string(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                    size_t nargs)
{
    struct ks_buf b;
    ks_buf_init(&b, 1024);
    version_string(&b, self);
    return ks_funcs_ret_buf(out, call, &b);
}

static const struct ks_tpl_method version_methods[] = {
    {"Major", m_major, 0, 0},    {"Minor", m_minor, 0, 0},   {"Patch", m_patch, 0, 0},
    {"Prerelease", m_pre, 0, 0}, {"Metadata", m_meta, 0, 0}, {"Original", m_orig, 0, 0},
    {"String", m_string, 0, 0},  {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type version_type = {
    .go_type = "*semver.Version",
    .methods = version_methods,
    .string = version_string,
    .release = free,
};

int ks_funcs_semver(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    struct version *v = malloc(sizeof(*v));
    if (!v)
        return ks_funcs_nomem(call);
    const char *why;
    if (version_parse_why(v, s, n, &why)) {
        free(v);
        return ks_tpl_call_error(call, KS_EINVALID, "%s", why);
    }
    return ks_tpl_call_host_new(out, call, &version_type, v, NULL);
}

const char *ks_funcs_semver_host_type(struct ks_tpl_call *call, const json_t *v)
{
    return ks_tpl_call_host_self(call, v, &version_type) ? version_type.go_type : NULL;
}
