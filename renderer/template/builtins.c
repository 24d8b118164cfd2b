/*
 * builtins.c: Go text/template's builtin functions (funcs.go): and, or,
 * not, len, index, slice, print, printf, println, eq, ne, lt, le, gt, ge,
 * html, js, urlquery, call, with Go's exact error texts. and/or are
 * evaluated lazily by the evaluator (Go 1.18 short-circuit); their table
 * entries carry the arity and identify them.
 */
#include "renderer/template/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/gofmt.h"

static int pick_truth(json_t **out, json_t *const *args, size_t nargs, bool is_or)
{
    for (size_t i = 0; i < nargs; i++) {
        if (tval_truth(args[i]) == is_or || i + 1 == nargs) {
            *out = json_incref(args[i]);
            return 0;
        }
    }
    *out = json_null();
    return 0;
}

int tbuiltin_and(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    (void)call;
    return pick_truth(out, args, nargs, false);
}

int tbuiltin_or(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    (void)call;
    return pick_truth(out, args, nargs, true);
}

static int b_not(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    *out = json_boolean(!tval_truth(args[0]));
    return 0;
}

static bool is_nil(const json_t *v)
{
    return !v || json_is_null(v);
}

static int b_len(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const json_t *v = args[0];
    if (is_nil(v))
        return ks_tpl_call_error(call, 0, "len of nil pointer");
    switch (json_typeof(v)) {
    case JSON_STRING:
        *out = json_integer((json_int_t)json_string_length(v));
        return 0;
    case JSON_ARRAY:
        *out = json_integer((json_int_t)json_array_size(v));
        return 0;
    case JSON_OBJECT:
        *out = json_integer((json_int_t)json_object_size(v));
        return 0;
    default:
        return ks_tpl_call_error(call, 0, "len of type %s", ks_gofmt_type_name(v));
    }
}

/* Go's indexArg: an integer index below cap. */
static int index_arg(struct ks_tpl_call *call, const json_t *index, size_t cap, size_t *out)
{
    if (is_nil(index))
        return ks_tpl_call_error(call, 0, "cannot index slice/array with nil");
    if (!json_is_integer(index))
        return ks_tpl_call_error(call, 0, "cannot index slice/array with type %s",
                                 ks_gofmt_type_name(index));
    json_int_t x = json_integer_value(index);
    if (x < 0 || (unsigned long long)x > cap)
        return ks_tpl_call_error(call, 0, "index out of range: %lld", (long long)x);
    *out = (size_t)x;
    return 0;
}

static int b_index(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    json_t *item = args[0];
    if (is_nil(item))
        return ks_tpl_call_error(call, 0, "index of untyped nil");
    item = json_incref(item);
    int rc = 0;
    for (size_t i = 1; i < nargs; i++) {
        json_t *index = args[i];
        json_t *next = NULL;
        if (is_nil(item)) {
            rc = ks_tpl_call_error(call, 0, "index of nil pointer");
            goto done;
        }
        size_t x = 0;
        switch (json_typeof(item)) {
        case JSON_ARRAY:
            if ((rc = index_arg(call, index, json_array_size(item), &x)))
                goto done;
            if (x == json_array_size(item)) {
                rc = ks_tpl_call_error(call, 0, "reflect: slice index out of range");
                goto done;
            }
            next = json_incref(json_array_get(item, x));
            break;
        case JSON_STRING:
            if ((rc = index_arg(call, index, json_string_length(item), &x)))
                goto done;
            if (x == json_string_length(item)) {
                rc = ks_tpl_call_error(call, 0, "reflect: string index out of range");
                goto done;
            }
            next = json_integer((unsigned char)json_string_value(item)[x]);
            break;
        case JSON_OBJECT:
            if (is_nil(index)) {
                rc = ks_tpl_call_error(call, 0, "value is nil; should be of type string");
                goto done;
            }
            if (!json_is_string(index)) {
                rc = ks_tpl_call_error(call, 0, "value has type %s; should be string",
                                       ks_gofmt_type_name(index));
                goto done;
            }
            next = json_object_get(item, json_string_value(index));
            next = next ? json_incref(next) : json_null();
            break;
        default:
            rc =
                ks_tpl_call_error(call, 0, "can't index item of type %s", ks_gofmt_type_name(item));
            goto done;
        }
        json_decref(item);
        item = next;
    }
    *out = item;
    item = NULL;
done:
    json_decref(item);
    return rc;
}

static int b_slice(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    json_t *item = args[0];
    size_t nidx = nargs - 1;
    if (is_nil(item))
        return ks_tpl_call_error(call, 0, "slice of untyped nil");
    if (nidx > 3)
        return ks_tpl_call_error(call, 0, "too many slice indexes: %zu", nidx);
    size_t len;
    if (json_is_string(item)) {
        if (nidx == 3)
            return ks_tpl_call_error(call, 0, "cannot 3-index slice a string");
        len = json_string_length(item);
    } else if (json_is_array(item)) {
        len = json_array_size(item);
    } else {
        return ks_tpl_call_error(call, 0, "can't slice item of type %s", ks_gofmt_type_name(item));
    }
    size_t idx[3] = {0, len, len};
    for (size_t i = 0; i < nidx; i++) {
        int rc = index_arg(call, args[1 + i], len, &idx[i]);
        if (rc)
            return rc;
    }
    if (idx[0] > idx[1])
        return ks_tpl_call_error(call, 0, "invalid slice index: %zu > %zu", idx[0], idx[1]);
    if (nidx == 3 && idx[1] > idx[2])
        return ks_tpl_call_error(call, 0, "invalid slice index: %zu > %zu", idx[1], idx[2]);
    if (json_is_string(item)) {
        *out = json_stringn_nocheck(json_string_value(item) + idx[0], idx[1] - idx[0]);
    } else {
        json_t *a = json_array();
        for (size_t i = idx[0]; a && i < idx[1]; i++)
            json_array_append(a, json_array_get(item, i));
        *out = a;
    }
    return *out ? 0 : ks_error_set(KS_ENOMEM, "out of memory in slice");
}

static int finish_buf(json_t **out, struct ks_buf *b)
{
    int rc = ks_buf_error(b);
    if (!rc) {
        *out = json_stringn_nocheck(ks_buf_data(b), ks_buf_len(b));
        if (!*out)
            rc = ks_error_set(KS_ENOMEM, "out of memory formatting");
    }
    ks_buf_release(b);
    return rc;
}

static int b_print(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    ks_gofmt_sprint(&b, args, nargs);
    return finish_buf(out, &b);
}

static int b_println(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    ks_gofmt_sprintln(&b, args, nargs);
    return finish_buf(out, &b);
}

static int b_printf(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (!json_is_string(args[0])) {
        return ks_tpl_call_error(call, 0, "wrong type for value; expected string; got %s",
                                 ks_gofmt_type_name(args[0]));
    }
    struct ks_buf b;
    ks_buf_init(&b, 0);
    ks_gofmt_sprintf(&b, json_string_value(args[0]), args + 1, nargs - 1);
    return finish_buf(out, &b);
}

/* ---- comparisons ---- */

enum kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING };

static enum kind basic_kind(const json_t *v)
{
    if (!v)
        return K_INVALID;
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return K_BOOL;
    case JSON_INTEGER:
        return K_INT;
    case JSON_REAL:
        return K_FLOAT;
    case JSON_STRING:
        return K_STRING;
    default:
        return K_INVALID;
    }
}

static int eq_one(struct ks_tpl_call *call, const json_t *a, const json_t *b, bool *truth)
{
    enum kind k1 = basic_kind(a), k2 = basic_kind(b);
    *truth = false;
    if (k1 != k2) {
        if (!is_nil(a) && !is_nil(b))
            return ks_tpl_call_error(call, 0, "incompatible types for comparison");
        return 0;
    }
    switch (k1) {
    case K_BOOL:
        *truth = json_is_true(a) == json_is_true(b);
        return 0;
    case K_INT:
        *truth = json_integer_value(a) == json_integer_value(b);
        return 0;
    case K_FLOAT:
        *truth = json_real_value(a) == json_real_value(b);
        return 0;
    case K_STRING:
        *truth = json_string_length(a) == json_string_length(b) &&
                 memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
        return 0;
    case K_INVALID:
        break;
    }
    if (is_nil(a) || is_nil(b)) {
        *truth = is_nil(a) == is_nil(b);
        return 0;
    }
    struct ks_buf s;
    ks_buf_init(&s, 0);
    ks_gofmt_print_value(&s, b);
    int rc = ks_tpl_call_error(call, 0, "non-comparable type %s: %s", ks_buf_data(&s),
                               ks_gofmt_type_name(b));
    ks_buf_release(&s);
    return rc;
}

static int b_eq(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (nargs < 2)
        return ks_tpl_call_error(call, 0, "missing argument for comparison");
    for (size_t i = 1; i < nargs; i++) {
        bool t;
        int rc = eq_one(call, args[0], args[i], &t);
        if (rc)
            return rc;
        if (t) {
            *out = json_true();
            return 0;
        }
    }
    *out = json_false();
    return 0;
}

static int b_ne(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    bool t;
    int rc = eq_one(call, args[0], args[1], &t);
    if (rc)
        return rc;
    *out = json_boolean(!t);
    return 0;
}

static int lt_one(struct ks_tpl_call *call, const json_t *a, const json_t *b, bool *truth)
{
    enum kind k1 = basic_kind(a), k2 = basic_kind(b);
    if (k1 == K_INVALID || k2 == K_INVALID)
        return ks_tpl_call_error(call, 0, "invalid type for comparison");
    if (k1 != k2)
        return ks_tpl_call_error(call, 0, "incompatible types for comparison");
    switch (k1) {
    case K_INT:
        *truth = json_integer_value(a) < json_integer_value(b);
        return 0;
    case K_FLOAT:
        *truth = json_real_value(a) < json_real_value(b);
        return 0;
    case K_STRING: {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        *truth = c < 0 || (c == 0 && la < lb);
        return 0;
    }
    default:
        return ks_tpl_call_error(call, 0, "invalid type for comparison");
    }
}

static int compare(json_t **out, struct ks_tpl_call *call, json_t *const *args, int op)
{
    /* op: 0 lt, 1 le, 2 gt, 3 ge */
    bool lt = false, eq = false;
    int rc = lt_one(call, args[0], args[1], &lt);
    if (rc)
        return rc;
    if (op == 1 || op == 2) {
        if (!lt && (rc = eq_one(call, args[0], args[1], &eq)))
            return rc;
    }
    bool r = op == 0 ? lt : op == 1 ? (lt || eq) : op == 2 ? !(lt || eq) : !lt;
    *out = json_boolean(r);
    return 0;
}

static int b_lt(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return compare(out, call, args, 0);
}

static int b_le(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return compare(out, call, args, 1);
}

static int b_gt(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return compare(out, call, args, 2);
}

static int b_ge(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return compare(out, call, args, 3);
}

/* ---- escapers: Go's evalArgs then the escaper ---- */

static int eval_args(struct ks_buf *b, json_t *const *args, size_t nargs)
{
    if (nargs == 1 && json_is_string(args[0]))
        return ks_buf_put(b, json_string_value(args[0]), json_string_length(args[0]));
    json_t **a = calloc(nargs ? nargs : 1, sizeof(*a));
    if (!a)
        return ks_error_set(KS_ENOMEM, "out of memory formatting");
    for (size_t i = 0; i < nargs; i++)
        a[i] = is_nil(args[i]) ? json_string("<no value>") : json_incref(args[i]);
    ks_gofmt_sprint(b, a, nargs);
    for (size_t i = 0; i < nargs; i++)
        json_decref(a[i]);
    free(a);
    return ks_buf_error(b);
}

static int b_html(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    struct ks_buf s, b;
    ks_buf_init(&s, 0);
    ks_buf_init(&b, 0);
    eval_args(&s, args, nargs);
    const char *p = ks_buf_data(&s);
    for (size_t i = 0; i < ks_buf_len(&s); i++) {
        switch (p[i]) {
        case '"':
            ks_buf_puts(&b, "&#34;");
            break;
        case '\'':
            ks_buf_puts(&b, "&#39;");
            break;
        case '&':
            ks_buf_puts(&b, "&amp;");
            break;
        case '<':
            ks_buf_puts(&b, "&lt;");
            break;
        case '>':
            ks_buf_puts(&b, "&gt;");
            break;
        case '\0':
            ks_buf_puts(&b, "\xEF\xBF\xBD");
            break;
        default:
            ks_buf_putc(&b, p[i]);
        }
    }
    ks_buf_release(&s);
    return finish_buf(out, &b);
}

static int b_js(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    struct ks_buf s, b;
    ks_buf_init(&s, 0);
    ks_buf_init(&b, 0);
    eval_args(&s, args, nargs);
    const unsigned char *p = (const unsigned char *)ks_buf_data(&s);
    size_t n = ks_buf_len(&s);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '\\':
                ks_buf_puts(&b, "\\\\");
                break;
            case '\'':
                ks_buf_puts(&b, "\\'");
                break;
            case '"':
                ks_buf_puts(&b, "\\\"");
                break;
            case '<':
                ks_buf_puts(&b, "\\u003C");
                break;
            case '>':
                ks_buf_puts(&b, "\\u003E");
                break;
            case '&':
                ks_buf_puts(&b, "\\u0026");
                break;
            case '=':
                ks_buf_puts(&b, "\\u003D");
                break;
            default:
                if (c < ' ')
                    ks_buf_printf(&b, "\\u%04X", c);
                else
                    ks_buf_putc(&b, (char)c);
            }
            i++;
            continue;
        }
        /* multi-byte: keep printable runes as they are */
        size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        if (i + len > n)
            len = 1;
        unsigned r = 0;
        if (len == 1) {
            r = 0xFFFD;
        } else {
            r = c & (0x7F >> len);
            for (size_t k = 1; k < len; k++)
                r = (r << 6) | (p[i + k] & 0x3F);
        }
        if (len == 1 || (r >= 0x80 && r <= 0xA0) || r == 0xAD || r == 0x2028 || r == 0x2029 ||
            r == 0xFEFF)
            ks_buf_printf(&b, "\\u%04X", r);
        else
            ks_buf_put(&b, p + i, len);
        i += len;
    }
    ks_buf_release(&s);
    return finish_buf(out, &b);
}

static int b_urlquery(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    struct ks_buf s, b;
    ks_buf_init(&s, 0);
    ks_buf_init(&b, 0);
    eval_args(&s, args, nargs);
    const unsigned char *p = (const unsigned char *)ks_buf_data(&s);
    for (size_t i = 0; i < ks_buf_len(&s); i++) {
        unsigned char c = p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            ks_buf_putc(&b, (char)c);
        else if (c == ' ')
            ks_buf_putc(&b, '+');
        else
            ks_buf_printf(&b, "%%%02X", c);
    }
    ks_buf_release(&s);
    return finish_buf(out, &b);
}

static int b_call(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    if (is_nil(args[0]))
        return ks_tpl_call_error(call, 0, "call of nil");
    struct ks_buf s;
    ks_buf_init(&s, 0);
    if (call->node && call->node->type == TN_CMD && call->node->nkids > 1)
        tnode_string(&s, call->node->kids[1]);
    int rc = ks_tpl_call_error(call, 0, "non-function %s of type %s", ks_buf_data(&s),
                               ks_gofmt_type_name(args[0]));
    ks_buf_release(&s);
    return rc;
}

const struct ks_tpl_func_def ks_tpl_funcs_builtin[] = {
    {"and", tbuiltin_and, 1, -1}, {"or", tbuiltin_or, 1, -1},  {"not", b_not, 1, 1},
    {"len", b_len, 1, 1},         {"index", b_index, 1, -1},   {"slice", b_slice, 1, -1},
    {"print", b_print, 0, -1},    {"printf", b_printf, 1, -1}, {"println", b_println, 0, -1},
    {"eq", b_eq, 1, -1},          {"ne", b_ne, 2, 2},          {"lt", b_lt, 2, 2},
    {"le", b_le, 2, 2},           {"gt", b_gt, 2, 2},          {"ge", b_ge, 2, 2},
    {"html", b_html, 0, -1},      {"js", b_js, 0, -1},         {"urlquery", b_urlquery, 0, -1},
    {"call", b_call, 1, -1},      {NULL, NULL, 0, 0},
};
