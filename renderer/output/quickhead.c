/*
 * quickhead.c: a fast, conservative reading of a rendered document's
 * SimpleHead (kind and the helm.sh/hook annotation).
 *
 * `helm template` reads every rendered document back as YAML (SortManifests),
 * so a document that is not YAML is an error naming the template. Doing that
 * with the full parser (libyaml, a JSON tree, go-yaml typing) was ~40% of a
 * render's instructions. Almost every rendered manifest is plain block YAML:
 * `key: value` lines, `- ` entries, quoted and plain one-line scalars, block
 * scalars, `{}` and `[]`. This scanner accepts exactly such documents, line
 * by line, checking the indentation structure the way libyaml does, and
 * answers "valid, with this kind and hook" only when the full parser would
 * certainly agree. Anything outside that subset (tabs, non-ASCII bytes, flow
 * collections, anchors, tags, multi-line flow scalars, escapes it does not
 * know, YAML 1.1 bool/null words as keys, special floats, a head field of an
 * unexpected type, ...) makes it answer "cannot tell", and the caller parses
 * the document fully, which also produces the exact error text. The unit
 * test test_output_quickhead compares both on every conformance document and
 * on mutations of them.
 */
#include "renderer/output/output.h"

#include <string.h>

#include "renderer/goenc.h"

#define QH_MAX_DEPTH 64
#define QH_MAX_BYTES (8u * 1024u * 1024u)
#define QH_MAX_KEY 1000

enum { LV_MAP, LV_SEQ };
enum { ROLE_OTHER, ROLE_ROOT, ROLE_META, ROLE_ANN };
/* what a value is */
enum { V_PLAIN, V_QUOTED, V_COLL, V_BLOCK, V_NESTED };
/* which head field a key is */
enum { F_NONE, F_API, F_KIND, F_META, F_NAME, F_ANN, F_HOOK, F_ANN_OTHER };

struct level {
    int indent;
    unsigned char type, role;
    bool compact; /* a sequence at the same indent as its parent key */
};

struct qh {
    struct level lv[QH_MAX_DEPTH];
    int n;
    /* a `key:` or `-` line whose value is on the following lines */
    bool pending, pend_from_key;
    int pend_indent, pend_field;
    /* a block scalar being skipped */
    bool in_block;
    int block_parent, block_indent;
    unsigned seen; /* bit per F_* field met */
    struct ks_output_head *out;
};

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* YAML 1.1 words go-yaml v2 does not read as strings (any case, to stay
 * on the safe side). */
static bool is_word(const char *s, size_t n)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",  "on",
                                        "off", "true", "false", "null"};
    if (n > 5)
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && strncasecmp(words[i], s, n) == 0)
            return true;
    return false;
}

/* Only spaces, or spaces and a comment, up to e. */
static bool rest_is_blank(const char *s, const char *e)
{
    const char *p = s;
    while (p < e && *p == ' ')
        p++;
    return p == e || (*p == '#' && p > s);
}

/* Parses a mapping key at s (line ends at e). Returns 1 with the key's text
 * span and *vstart just after ':', 0 when s is not a key this scanner
 * knows (possibly a scalar), -1 when it must give up. */
static int parse_key(const char **k, size_t *klen, const char **vstart, const char *s,
                     const char *e)
{
    const char *p = s;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        const char *b = p;
        while (p < e && *p != q && *p != '\\')
            p++;
        if (p >= e || *p != q || p + 1 >= e || p[1] != ':')
            return 0; /* a quoted scalar, or a key parse_value will refuse */
        if (p == b || p - b > QH_MAX_KEY || (p + 2 < e && p[2] != ' '))
            return -1;
        *k = b;
        *klen = (size_t)(p - b);
        *vstart = p + 2;
        return 1;
    }
    if (!is_alpha((unsigned char)*p) && *p != '_')
        return 0;
    while (p < e && (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '_' ||
                     *p == '.' || *p == '-' || *p == '/'))
        p++;
    if (p >= e || *p != ':' || (p + 1 < e && p[1] != ' '))
        return 0;
    if (p - s > QH_MAX_KEY || is_word(s, (size_t)(p - s)))
        return -1;
    *k = s;
    *klen = (size_t)(p - s);
    *vstart = p + 1;
    return 1;
}

/* Scans a quoted scalar starting at s (the quote). Returns the closing
 * quote, or NULL to give up (it continues on the next line, or has an
 * escape this scanner does not check); *escaped when its text differs from
 * the bytes between the quotes. */
static const char *scan_quoted(bool *escaped, const char *s, const char *e)
{
    char q = *s;
    const char *p = s + 1;
    *escaped = false;
    for (;;) {
        if (p >= e)
            return NULL;
        if (*p == q) {
            if (q == '\'' && p + 1 < e && p[1] == '\'') {
                *escaped = true;
                p += 2;
                continue;
            }
            return p;
        }
        if (*p == '\\' && q == '"') {
            if (p + 1 >= e || !strchr("\\\"/ntr0abefv", p[1]))
                return NULL;
            *escaped = true;
            p += 2;
            continue;
        }
        p++;
    }
}

/* Can p start a plain scalar this scanner accepts? */
static bool plain_start(const char *p, const char *e)
{
    unsigned char c = (unsigned char)*p;
    return is_alpha(c) || is_digit(c) || strchr("_/$(", c) ||
           (c == '-' && p + 1 < e &&
            (is_alpha((unsigned char)p[1]) || is_digit((unsigned char)p[1]) || p[1] == '-'));
}

/* A plain scalar at s..end that go-yaml would turn into a NaN or infinity,
 * which helm's JSON step refuses. */
static bool special_float(const char *s, const char *end)
{
    double d;
    return (is_digit((unsigned char)*s) || *s == '-') &&
           ks_goyaml_plain_special_float(s, (size_t)(end - s), &d);
}

/* A one-line flow sequence of scalars at s ('['), followed by nothing but
 * a comment; false to give up. */
static bool flow_seq(const char *s, const char *e)
{
    const char *p = s + 1;
    while (p < e && *p == ' ')
        p++;
    if (p < e && *p == ']')
        return rest_is_blank(p + 1, e);
    for (;;) {
        if (p >= e)
            return false;
        if (*p == '"' || *p == '\'') {
            bool escaped;
            p = scan_quoted(&escaped, p, e);
            if (!p)
                return false;
            p++;
        } else {
            if (!plain_start(p, e))
                return false;
            const char *b = p;
            while (p < e && !strchr(",[]{}:#", *p))
                p++;
            const char *end = p;
            while (end > b && end[-1] == ' ')
                end--;
            if (special_float(b, end))
                return false;
        }
        while (p < e && *p == ' ')
            p++;
        if (p >= e)
            return false;
        if (*p == ']')
            return rest_is_blank(p + 1, e);
        if (*p != ',')
            return false;
        p++;
        while (p < e && *p == ' ')
            p++;
        if (p < e && *p == ']')
            return false; /* a trailing comma */
    }
}

/* Reads a one-line value at s (spaces before it already skipped). Returns
 * its V_* kind, or -1 to give up; *str and *slen give the string a plain or
 * quoted scalar certainly decodes to, or NULL when it is not known. */
static int parse_value(const char **str, size_t *slen, const char *s, const char *e)
{
    *str = NULL;
    *slen = 0;
    if (s >= e)
        return V_NESTED;
    const char *p = s;
    switch (*p) {
    case '"':
    case '\'': {
        bool escaped;
        p = scan_quoted(&escaped, s, e);
        if (!p || !rest_is_blank(p + 1, e))
            return -1;
        if (!escaped) {
            *str = s + 1;
            *slen = (size_t)(p - s - 1);
        }
        return V_QUOTED;
    }
    case '{':
        if (p + 1 < e && p[1] == '}' && rest_is_blank(p + 2, e))
            return V_COLL;
        return -1;
    case '[':
        return flow_seq(s, e) ? V_COLL : -1;
    case '|':
    case '>':
        p++;
        if (p < e && (*p == '-' || *p == '+'))
            p++;
        while (p < e && *p == ' ')
            p++;
        return p == e ? V_BLOCK : -1;
    default:
        break;
    }
    if (!plain_start(p, e))
        return -1;
    unsigned char c = (unsigned char)*p;
    const char *end = e;
    for (; p < e; p++) {
        if (*p == ':' && (p + 1 == e || p[1] == ' '))
            return -1; /* a mapping value where none may be */
        if (*p == ' ' && p + 1 < e && p[1] == '#') {
            end = p;
            break;
        }
    }
    while (end > s && end[-1] == ' ')
        end--;
    if (special_float(s, end))
        return -1;
    if (is_alpha(c) && !is_word(s, (size_t)(end - s))) {
        *str = s;
        *slen = (size_t)(end - s);
    }
    return V_PLAIN;
}

static int field_of(int role, const char *k, size_t n)
{
#define KEY_IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
    switch (role) {
    case ROLE_ROOT:
        return KEY_IS("apiVersion") ? F_API
               : KEY_IS("kind")     ? F_KIND
               : KEY_IS("metadata") ? F_META
                                    : F_NONE;
    case ROLE_META:
        return KEY_IS("name") ? F_NAME : KEY_IS("annotations") ? F_ANN : F_NONE;
    case ROLE_ANN:
        return KEY_IS("helm.sh/hook") ? F_HOOK : F_ANN_OTHER;
    default:
        return F_NONE;
    }
#undef KEY_IS
}

static bool copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* The value of key (a field of the head or not) starting at v, in a mapping
 * at map_indent. Returns 0 or -1 to give up. */
static int key_value(struct qh *q, int field, int map_indent, const char *v, const char *e)
{
    if (field != F_NONE && field != F_ANN_OTHER) {
        if (q->seen & (1u << field))
            return -1; /* a repeated head key: let the full parser decide */
        q->seen |= 1u << field;
    }
    while (v < e && *v == ' ')
        v++;
    const char *str;
    size_t slen;
    int kind = parse_value(&str, &slen, v, e);
    if (kind < 0)
        return -1;
    bool need_map = field == F_META || field == F_ANN;
    bool need_str = field == F_KIND || field == F_HOOK;
    bool need_scalar = field == F_API || field == F_NAME || field == F_ANN_OTHER;
    if (kind == V_NESTED) {
        if (need_str || need_scalar)
            return -1;
        q->pending = true;
        q->pend_from_key = true;
        q->pend_indent = map_indent;
        q->pend_field = field;
        return 0;
    }
    if (need_map)
        return -1;
    if (need_scalar && kind == V_COLL)
        return -1;
    if (need_str) {
        if (!str)
            return -1;
        if (field == F_KIND && !copy_str(q->out->kind, sizeof(q->out->kind), str, slen))
            return -1;
        if (field == F_HOOK) {
            if (!copy_str(q->out->hook, sizeof(q->out->hook), str, slen))
                return -1;
            q->out->has_hook = true;
        }
    }
    if (kind == V_BLOCK) {
        q->in_block = true;
        q->block_parent = map_indent;
        q->block_indent = -1;
    }
    return 0;
}

static int push(struct qh *q, int indent, int type, int role, bool compact)
{
    if (q->n >= QH_MAX_DEPTH)
        return -1;
    q->lv[q->n++] = (struct level){.indent = indent,
                                   .type = (unsigned char)type,
                                   .role = (unsigned char)role,
                                   .compact = compact};
    return 0;
}

/* Settles a pending value before a line of type at ind (type -1: the end). */
static int settle_pending(struct qh *q, int ind, int type)
{
    if (!q->pending)
        return 0;
    q->pending = false;
    int field = q->pend_field;
    bool need_map = field == F_META || field == F_ANN;
    if (type >= 0 && ind > q->pend_indent) {
        if (type == LV_SEQ && need_map)
            return -1;
        int role = field == F_META ? ROLE_META : field == F_ANN ? ROLE_ANN : ROLE_OTHER;
        return push(q, ind, type, role, false);
    }
    if (type == LV_SEQ && ind == q->pend_indent && q->pend_from_key)
        return need_map ? -1 : push(q, ind, LV_SEQ, ROLE_OTHER, true);
    return need_map ? -1 : 0; /* the value is null */
}

/* One line that is neither blank, a comment nor block scalar content. */
static int line(struct qh *q, const char *s, const char *e, int ind)
{
    const char *p = s + ind;
    bool entry = *p == '-' && (p + 1 == e || p[1] == ' ');
    const char *k = NULL, *v = NULL;
    size_t klen = 0;
    if (!entry && parse_key(&k, &klen, &v, p, e) != 1)
        return -1;
    int type = entry ? LV_SEQ : LV_MAP;
    if (settle_pending(q, ind, type) < 0)
        return -1;
    if (q->n == 0) {
        if (type != LV_MAP)
            return -1; /* not a mapping: the full parser says how helm fails */
        if (push(q, ind, LV_MAP, ROLE_ROOT, false) < 0)
            return -1;
    }
    while (q->n > 0) {
        struct level *top = &q->lv[q->n - 1];
        if (top->indent > ind || (top->indent == ind && top->compact && type == LV_MAP))
            q->n--;
        else
            break;
    }
    if (q->n == 0 || q->lv[q->n - 1].indent != ind || q->lv[q->n - 1].type != type)
        return -1;
    if (!entry)
        return key_value(q, field_of(q->lv[q->n - 1].role, k, klen), ind, v, e);

    /* "- " entry: nothing, a compact mapping, or a scalar */
    p++;
    while (p < e && *p == ' ')
        p++;
    if (p == e) {
        q->pending = true;
        q->pend_from_key = false;
        q->pend_indent = ind;
        q->pend_field = F_NONE;
        return 0;
    }
    if (*p == '-' && (p + 1 == e || p[1] == ' '))
        return -1; /* "- - x" */
    int r = parse_key(&k, &klen, &v, p, e);
    if (r < 0)
        return -1;
    if (r == 1) {
        int col = (int)(p - s);
        if (push(q, col, LV_MAP, ROLE_OTHER, false) < 0)
            return -1;
        return key_value(q, F_NONE, col, v, e);
    }
    return key_value(q, F_NONE, ind, p, e);
}

int ks_output_quick_head(struct ks_output_head *out, const char *text, size_t len)
{
    struct ks_output_head head = {0};
    struct qh q = {.out = &head};
    if (len > QH_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n') || c > 0x7e)
            return 0;
    }
    const char *s = text, *end = text + len;
    while (s < end) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e)
            e = end;
        int ind = 0;
        while (s + ind < e && s[ind] == ' ')
            ind++;
        bool blank = s + ind == e;
        if (q.in_block) {
            if (blank) {
                if (q.block_indent < 0)
                    return 0; /* leading empty lines: libyaml has rules for them */
                goto next;
            }
            if (q.block_indent < 0 && ind > q.block_parent)
                q.block_indent = ind;
            if (q.block_indent >= 0 && ind >= q.block_indent)
                goto next;
            q.in_block = false;
        }
        if (blank || s[ind] == '#')
            goto next;
        if (ind == 0 && e - s >= 3 &&
            (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0 || s[0] == '%'))
            return 0;
        if (line(&q, s, e, ind) < 0)
            return 0;
    next:
        s = e < end ? e + 1 : end;
    }
    if (q.n == 0 || settle_pending(&q, 0, -1) < 0)
        return 0;
    *out = head;
    return 1;
}
