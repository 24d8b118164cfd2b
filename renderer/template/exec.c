/*
 * exec.c: the evaluator, following Go's text/template exec.go step by step
 * (s.at() bookkeeping, interface digging after each pipeline command,
 * missingkey handling, short-circuit and/or, range over sorted map keys,
 * variable scopes) so output and error texts match Go's byte for byte.
 *
 * A value is a jansson reference (NULL = Go's invalid reflect.Value) plus
 * a flag saying whether it is still wrapped in an interface{} (a map or list
 * element not yet dug out), which decides between "<no value>" and nil and
 * the type named in "nil pointer evaluating interface {}.x". Values are
 * borrowed from the data with json_incref, never copied.
 */
#include "renderer/template/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/gofmt.h"

enum { CTL_BREAK = 1, CTL_CONTINUE = 2 };

struct tval {
    json_t *v; /* owned; NULL = invalid */
    bool iface;
};

struct tvar {
    const char *name;
    struct tval val;
};

struct texec {
    struct ks_tpl_set *root;
    uint64_t steps;
    struct smap includes; /* name -> struct include_entry * (owned) */
};

static _Thread_local struct ks_tpl_set *current_root;

const struct host_entry *ks_tpl_current_host(const json_t *v)
{
    return current_root ? tset_host(current_root, v) : NULL;
}

static void tval_release(struct tval *v)
{
    json_decref(v->v);
    v->v = NULL;
    v->iface = false;
}

static struct tval tval_borrow(json_t *v, bool iface)
{
    return (struct tval){json_incref(v), iface};
}

/* Go digs interface{} values: nil becomes the invalid value. */
static void tval_dig(struct tval *v)
{
    if (v->v && json_is_null(v->v)) {
        json_decref(v->v);
        v->v = NULL;
    }
    v->iface = false;
}

bool tval_truth(const json_t *v)
{
    if (!v)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_STRING:
        return json_string_length(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) != 0;
    case JSON_OBJECT:
        if (ks_tpl_current_host(v))
            return true;
        return json_object_size(v) != 0;
    }
    return false;
}

static int vformat(struct tstate *st, int code, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int vformat(struct tstate *st, int code, const char *prefix, const char *fmt, va_list ap)
{
    struct ks_buf b, loc, ctx, name;
    ks_buf_init(&b, 0);
    ks_buf_init(&loc, 0);
    ks_buf_init(&ctx, 0);
    ks_buf_init(&name, 0);
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    const char *tname = st->tmpl ? st->tmpl->name : "gotpl";
    if (st->node) {
        tnode_location(&loc, st->node);
        tnode_string(&ctx, st->node);
        ks_gofmt_quote(&name, tname, strlen(tname));
        ks_buf_printf(&b, "template: %s: executing %s at <%s>: %s%s", ks_buf_data(&loc),
                      ks_buf_data(&name), ks_buf_data(&ctx), prefix, msg);
    } else {
        ks_buf_printf(&b, "template: %s: %s%s", tname, prefix, msg);
    }
    int rc = ks_error_set(code ? code : KS_EINVALID, "%s", ks_buf_data(&b));
    ks_buf_release(&b);
    ks_buf_release(&loc);
    ks_buf_release(&ctx);
    ks_buf_release(&name);
    return rc;
}

int tstate_errorf(struct tstate *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vformat(st, code, "", fmt, ap);
    va_end(ap);
    return rc;
}

int ks_tpl_call_error(struct ks_tpl_call *call, int code, const char *fmt, ...)
{
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "error calling %s: ", call->name);
    call->st->node = call->node;
    va_list ap;
    va_start(ap, fmt);
    int rc = vformat(call->st, code < 0 ? code : KS_EINVALID, prefix, fmt, ap);
    va_end(ap);
    call->formatted = true;
    return rc;
}

int ks_tpl_call_fail(struct ks_tpl_call *call, const char *msg)
{
    return ks_tpl_call_error(call, KS_EINVALID, "HELM_ERR_START%sHELM_ERR_END", msg);
}

const char *ks_tpl_call_template_name(const struct ks_tpl_call *call)
{
    return call->st->tmpl ? call->st->tmpl->name : "gotpl";
}

static int step(struct tstate *st)
{
    if (++st->ex->steps > st->ex->root->limits.max_steps)
        return tstate_errorf(st, KS_ELIMIT, "evaluation exceeds the limit of %llu steps",
                             (unsigned long long)st->ex->root->limits.max_steps);
    return 0;
}

static int emit(struct tstate *st, const char *data, size_t len)
{
    size_t used = ks_buf_len(st->out) - st->out_base;
    size_t max = st->ex->root->limits.max_output;
    if (len > max || used > max - len)
        return ks_error_set(KS_ELIMIT, "template output exceeds the limit of %zu bytes", max);
    int rc = ks_buf_put(st->out, data, len);
    return rc;
}

/* ---- variables ---- */

static int push_var(struct tstate *st, const char *name, struct tval v)
{
    if (st->nvars == st->capvars) {
        size_t cap = st->capvars ? st->capvars * 2 : 16;
        struct tvar *nv = realloc(st->vars, cap * sizeof(*nv));
        if (!nv) {
            json_decref(v.v);
            return ks_error_set(KS_ENOMEM, "out of memory in template execution");
        }
        st->vars = nv;
        st->capvars = cap;
    }
    st->vars[st->nvars++] = (struct tvar){name, v};
    return 0;
}

static void pop_vars(struct tstate *st, size_t mark)
{
    while (st->nvars > mark) {
        st->nvars--;
        tval_release(&st->vars[st->nvars].val);
    }
}

static int set_var(struct tstate *st, const char *name, struct tval v)
{
    for (size_t i = st->nvars; i-- > 0;) {
        if (strcmp(st->vars[i].name, name) == 0) {
            tval_release(&st->vars[i].val);
            st->vars[i].val = v;
            return 0;
        }
    }
    json_decref(v.v);
    return tstate_errorf(st, 0, "undefined variable: %s", name);
}

static int set_top_var(struct tstate *st, size_t n, struct tval v)
{
    tval_release(&st->vars[st->nvars - n].val);
    st->vars[st->nvars - n].val = v;
    return 0;
}

static int var_value(struct tstate *st, const char *name, struct tval *out)
{
    for (size_t i = st->nvars; i-- > 0;) {
        if (strcmp(st->vars[i].name, name) == 0) {
            *out = tval_borrow(st->vars[i].val.v, st->vars[i].val.iface);
            return 0;
        }
    }
    return tstate_errorf(st, 0, "undefined variable: %s", name);
}

/* ---- evaluation ---- */

static int eval_pipeline(struct tstate *st, const struct tval *dot, const struct tnode *pipe,
                         struct tval *out);
static int eval_arg(struct tstate *st, const struct tval *dot, const struct tnode *n,
                    struct tval *out);
static int walk(struct tstate *st, const struct tval *dot, const struct tnode *n);

struct callee {
    const char *name;
    ks_tpl_func fn;
    const struct ks_tpl_method *method;
    void *self;
    int min_args, max_args;
};

/* Copies an inner error message for wrapping; deep include chains nest one
 * message in another a thousand times, so the middle is elided to keep both
 * the outer location and the innermost cause within the message buffer. */
static void shorten_message(char *dst, size_t cap, const char *msg)
{
    size_t n = strlen(msg);
    size_t keep = 700;
    if (n < 1500 || cap < 2 * keep + 8) {
        snprintf(dst, cap, "%s", msg);
        return;
    }
    snprintf(dst, cap, "%.*s ... %s", (int)keep, msg, msg + n - keep);
}

/* Go's "error calling NAME: <message>"; kept out of eval_call so the deep
 * recursion of include does not carry the message buffer in every frame. */
static __attribute__((noinline)) void wrap_call_error(struct tstate *st, int rc,
                                                      const struct tnode *node, const char *name)
{
    char *msg = malloc(2048);
    if (!msg) {
        ks_error_set(KS_ENOMEM, "out of memory formatting an error");
        return;
    }
    shorten_message(msg, 2048, ks_error_last());
    st->node = node;
    tstate_errorf(st, rc, "error calling %s: %s", name, msg);
    free(msg);
}

static int eval_call(struct tstate *st, const struct tval *dot, const struct callee *c,
                     const struct tnode *node, const struct tnode *const *args, size_t nargs,
                     const struct tval *final, struct tval *out)
{
    /* args[0] is the function/field node itself */
    size_t nfixed = nargs > 0 ? nargs - 1 : 0;
    size_t numin = nfixed + (final ? 1 : 0);
    int rc = 0;
    json_t **argv = NULL;
    size_t nargv = 0;
    if (c->max_args < 0) {
        if (numin < (size_t)c->min_args)
            return tstate_errorf(st, 0, "wrong number of args for %s: want at least %d got %zu",
                                 c->name, c->min_args, nfixed);
    } else if (numin < (size_t)c->min_args || numin > (size_t)c->max_args) {
        return tstate_errorf(st, 0, "wrong number of args for %s: want %d got %zu", c->name,
                             numin < (size_t)c->min_args ? c->min_args : c->max_args, numin);
    }
    if (c->fn && (c->fn == tbuiltin_and || c->fn == tbuiltin_or)) {
        bool is_or = c->fn == tbuiltin_or;
        struct tval v = {0};
        for (size_t i = 1; i < nargs; i++) {
            tval_release(&v);
            if ((rc = eval_arg(st, dot, args[i], &v)))
                return rc;
            if (tval_truth(v.v) == is_or) {
                *out = v;
                return 0;
            }
        }
        if (final) {
            tval_release(&v);
            v = tval_borrow(final->v, final->iface);
        }
        *out = v;
        return 0;
    }
    json_t *small[6];
    argv = numin <= 6 ? small : calloc(numin, sizeof(*argv));
    if (!argv)
        return ks_error_set(KS_ENOMEM, "out of memory in template execution");
    for (size_t i = 1; i < nargs; i++) {
        struct tval v;
        if ((rc = eval_arg(st, dot, args[i], &v)))
            goto done;
        argv[nargv++] = v.v ? v.v : json_null();
    }
    if (final)
        argv[nargv++] = final->v ? json_incref(final->v) : json_null();
    struct ks_tpl_call call = {st, node, c->name, false};
    json_t *res = NULL;
    ks_error_clear();
    if (c->method)
        rc = c->method->fn(&res, &call, c->self, argv, nargv);
    else
        rc = c->fn(&res, &call, argv, nargv);
    if (rc) {
        json_decref(res);
        if (!call.formatted)
            wrap_call_error(st, rc, node, c->name);
        goto done;
    }
    if (!res)
        res = json_null();
    *out = (struct tval){res, json_is_null(res)};
done:
    for (size_t i = 0; i < nargv; i++)
        json_decref(argv[i]);
    if (argv != small)
        free(argv);
    return rc;
}

static const char *go_type(const struct tval *v)
{
    if (v->iface)
        return "interface {}";
    if (!v->v)
        return "<nil>";
    const struct host_entry *h = tset_host(current_root, v->v);
    if (h)
        return h->type->go_type;
    return ks_gofmt_type_name(v->v);
}

static int eval_field(struct tstate *st, const struct tval *dot, const char *name,
                      const struct tnode *node, const struct tnode *const *args, size_t nargs,
                      const struct tval *final, struct tval *recv, struct tval *out)
{
    int rc = 0;
    if (!recv->v) {
        if (st->ex->root->flags & KS_TPL_STRICT)
            return tstate_errorf(st, 0, "nil data; no entry for key \"%s\"", name);
        *out = (struct tval){NULL, false};
        return 0;
    }
    if (json_is_null(recv->v)) {
        return tstate_errorf(st, 0, "nil pointer evaluating %s.%s",
                             recv->iface ? "interface {}" : "<nil>", name);
    }
    const struct host_entry *h = tset_host(st->set, recv->v);
    if (h && h->type->methods) {
        for (const struct ks_tpl_method *m = h->type->methods; m->name; m++) {
            if (strcmp(m->name, name) != 0)
                continue;
            struct callee c = {m->name, NULL, m, h->self, m->min_args, m->max_args};
            return eval_call(st, dot, &c, node, args, nargs, final, out);
        }
    }
    bool has_args = nargs > 1 || final;
    if (h && ((h->flags & KS_TPL_HOST_STRUCT) || h->type->is_struct)) {
        json_t *m = json_object_get(recv->v, name);
        if (!m)
            return tstate_errorf(st, 0, "can't evaluate field %s in type %s", name, go_type(recv));
        if (has_args)
            return tstate_errorf(st, 0, "%s has arguments but cannot be invoked as function", name);
        *out = tval_borrow(m, false);
        return 0;
    }
    if (json_is_object(recv->v)) {
        if (has_args)
            return tstate_errorf(st, 0, "%s is not a method but has arguments", name);
        json_t *m = json_object_get(recv->v, name);
        if (!m) {
            if (st->ex->root->flags & KS_TPL_STRICT)
                return tstate_errorf(st, 0, "map has no entry for key \"%s\"", name);
            *out = (struct tval){json_null(), true};
            return 0;
        }
        *out = tval_borrow(m, true);
        return 0;
    }
    rc = tstate_errorf(st, 0, "can't evaluate field %s in type %s", name, go_type(recv));
    return rc;
}

/* receiver is consumed */
static int eval_field_chain(struct tstate *st, const struct tval *dot, struct tval recv,
                            const struct tnode *node, char *const *idents, size_t n,
                            const struct tnode *const *args, size_t nargs, const struct tval *final,
                            struct tval *out)
{
    int rc = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        struct tval next = {0};
        rc = eval_field(st, dot, idents[i], node, NULL, 0, NULL, &recv, &next);
        tval_release(&recv);
        if (rc)
            return rc;
        recv = next;
    }
    rc = eval_field(st, dot, idents[n - 1], node, args, nargs, final, &recv, out);
    tval_release(&recv);
    return rc;
}

static int not_a_function(struct tstate *st, const struct tnode *cmd, const struct tval *final)
{
    if (cmd->nkids > 1 || final) {
        struct ks_buf s;
        ks_buf_init(&s, 0);
        tnode_string(&s, cmd->kids[0]);
        int rc = tstate_errorf(st, 0, "can't give argument to non-function %s", ks_buf_data(&s));
        ks_buf_release(&s);
        return rc;
    }
    return 0;
}

static int eval_chain(struct tstate *st, const struct tval *dot, const struct tnode *chain,
                      const struct tnode *const *args, size_t nargs, const struct tval *final,
                      struct tval *out)
{
    st->node = chain;
    if (chain->sub->type == TN_NIL) {
        struct ks_buf s;
        ks_buf_init(&s, 0);
        tnode_string(&s, chain);
        int rc = tstate_errorf(st, 0, "indirection through explicit nil in %s", ks_buf_data(&s));
        ks_buf_release(&s);
        return rc;
    }
    struct tval base;
    int rc = eval_arg(st, dot, chain->sub, &base);
    if (rc)
        return rc;
    if (chain->sub->type == TN_PIPE)
        tval_dig(&base);
    return eval_field_chain(st, dot, base, chain, chain->idents, chain->nidents, args, nargs, final,
                            out);
}

static int eval_variable(struct tstate *st, const struct tval *dot, const struct tnode *var,
                         const struct tnode *const *args, size_t nargs, const struct tval *final,
                         struct tval *out)
{
    st->node = var;
    struct tval v;
    int rc = var_value(st, var->idents[0], &v);
    if (rc)
        return rc;
    if (var->nidents == 1) {
        if (nargs > 1 || final) {
            tval_release(&v);
            struct ks_buf s;
            ks_buf_init(&s, 0);
            tnode_string(&s, args[0]);
            rc = tstate_errorf(st, 0, "can't give argument to non-function %s", ks_buf_data(&s));
            ks_buf_release(&s);
            return rc;
        }
        *out = v;
        return 0;
    }
    return eval_field_chain(st, dot, v, var, var->idents + 1, var->nidents - 1, args, nargs, final,
                            out);
}

static int eval_function(struct tstate *st, const struct tval *dot, const struct tnode *ident,
                         const struct tnode *cmd, const struct tnode *const *args, size_t nargs,
                         const struct tval *final, struct tval *out)
{
    st->node = ident;
    const struct ks_tpl_func_def *f = ident->fn;
    struct callee c = {f->name, f->fn, NULL, NULL, f->min_args, f->max_args};
    return eval_call(st, dot, &c, cmd, args, nargs, final, out);
}

static int eval_arg(struct tstate *st, const struct tval *dot, const struct tnode *n,
                    struct tval *out)
{
    st->node = n;
    switch (n->type) {
    case TN_DOT:
        *out = tval_borrow(dot->v, dot->iface);
        return 0;
    case TN_NIL:
        *out = (struct tval){json_null(), true};
        return 0;
    case TN_FIELD:
        st->node = n;
        return eval_field_chain(st, dot, tval_borrow(dot->v, dot->iface), n, n->idents, n->nidents,
                                &n, 1, NULL, out);
    case TN_VAR:
        return eval_variable(st, dot, n, &n, 1, NULL, out);
    case TN_PIPE: {
        int rc = eval_pipeline(st, dot, n, out);
        return rc;
    }
    case TN_IDENT:
        return eval_function(st, dot, n, n, &n, 1, NULL, out);
    case TN_CHAIN:
        return eval_chain(st, dot, n, &n, 1, NULL, out);
    case TN_BOOL:
        *out = (struct tval){json_boolean(n->bval), false};
        return 0;
    case TN_NUMBER:
    case TN_STRING:
        *out = tval_borrow(n->constant, false);
        return 0;
    default:
        return tstate_errorf(st, 0, "can't handle node of type %d", (int)n->type);
    }
}

static int eval_command(struct tstate *st, const struct tval *dot, const struct tnode *cmd,
                        const struct tval *final, struct tval *out)
{
    int rc = step(st);
    if (rc)
        return rc;
    const struct tnode *first = cmd->kids[0];
    const struct tnode *const *args = (const struct tnode *const *)cmd->kids;
    switch (first->type) {
    case TN_FIELD:
        st->node = first;
        return eval_field_chain(st, dot, tval_borrow(dot->v, dot->iface), first, first->idents,
                                first->nidents, args, cmd->nkids, final, out);
    case TN_CHAIN:
        return eval_chain(st, dot, first, args, cmd->nkids, final, out);
    case TN_IDENT:
        return eval_function(st, dot, first, cmd, args, cmd->nkids, final, out);
    case TN_PIPE:
        if ((rc = not_a_function(st, cmd, final)))
            return rc;
        return eval_pipeline(st, dot, first, out);
    case TN_VAR:
        return eval_variable(st, dot, first, args, cmd->nkids, final, out);
    default:
        break;
    }
    st->node = first;
    if ((rc = not_a_function(st, cmd, final)))
        return rc;
    switch (first->type) {
    case TN_BOOL:
        *out = (struct tval){json_boolean(first->bval), false};
        return 0;
    case TN_DOT:
        *out = tval_borrow(dot->v, dot->iface);
        return 0;
    case TN_NIL:
        return tstate_errorf(st, 0, "nil is not a command");
    case TN_NUMBER:
    case TN_STRING:
        *out = tval_borrow(first->constant, false);
        return 0;
    default:
        return tstate_errorf(st, 0, "can't evaluate command");
    }
}

static int eval_pipeline(struct tstate *st, const struct tval *dot, const struct tnode *pipe,
                         struct tval *out)
{
    *out = (struct tval){NULL, false};
    if (!pipe)
        return 0;
    st->node = pipe;
    struct tval value = {0};
    bool have = false;
    for (size_t i = 0; i < pipe->nkids; i++) {
        struct tval next = {0};
        int rc = eval_command(st, dot, pipe->kids[i], have ? &value : NULL, &next);
        tval_release(&value);
        if (rc)
            return rc;
        value = next;
        have = true;
        tval_dig(&value);
    }
    for (size_t i = 0; i < pipe->ndecl; i++) {
        struct tval copy = tval_borrow(value.v, value.iface);
        int rc = pipe->is_assign ? set_var(st, pipe->decl[i]->idents[0], copy)
                                 : push_var(st, pipe->decl[i]->idents[0], copy);
        if (rc) {
            tval_release(&value);
            return rc;
        }
    }
    *out = value;
    return 0;
}

static int print_value(struct tstate *st, const struct tnode *n, const struct tval *v)
{
    st->node = n;
    if (!v->v)
        return emit(st, "<no value>", 10);
    if (json_is_string(v->v))
        return emit(st, json_string_value(v->v), json_string_length(v->v));
    int rc = ks_gofmt_print_value(st->out, v->v);
    if (rc)
        return rc;
    size_t max = st->ex->root->limits.max_output;
    if (ks_buf_len(st->out) - st->out_base > max)
        return ks_error_set(KS_ELIMIT, "template output exceeds the limit of %zu bytes", max);
    return 0;
}

static int walk_list(struct tstate *st, const struct tval *dot, const struct tnode *list)
{
    for (size_t i = 0; i < list->nkids; i++) {
        int rc = walk(st, dot, list->kids[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_if_with(struct tstate *st, const struct tval *dot, const struct tnode *n)
{
    size_t mark = st->nvars;
    struct tval val;
    int rc = eval_pipeline(st, dot, n->sub, &val);
    if (rc)
        goto done;
    if (tval_truth(val.v)) {
        rc = walk(st, n->type == TN_WITH ? &val : dot, n->list);
    } else if (n->else_list) {
        rc = walk(st, dot, n->else_list);
    }
    tval_release(&val);
done:
    pop_vars(st, mark);
    return rc;
}

static int one_iteration(struct tstate *st, const struct tnode *r, struct tval index,
                         struct tval elem, size_t mark)
{
    int rc = 0;
    const struct tnode *pipe = r->sub;
    /* Go: with one variable it gets the element; with two, index first */
    if (pipe->ndecl > 0) {
        if (pipe->is_assign && pipe->ndecl > 1)
            rc = set_var(st, pipe->decl[0]->idents[0], tval_borrow(index.v, false));
        else if (pipe->is_assign)
            rc = set_var(st, pipe->decl[0]->idents[0], tval_borrow(elem.v, elem.iface));
        else
            rc = set_top_var(st, 1, tval_borrow(elem.v, elem.iface));
        if (rc)
            goto done;
    }
    if (pipe->ndecl > 1) {
        if (pipe->is_assign)
            rc = set_var(st, pipe->decl[1]->idents[0], tval_borrow(elem.v, elem.iface));
        else
            rc = set_top_var(st, 2, tval_borrow(index.v, false));
        if (rc)
            goto done;
    }
    rc = walk(st, &elem, r->list);
    if (rc == CTL_CONTINUE)
        rc = 0;
done:
    pop_vars(st, mark);
    return rc;
}

struct range_entry {
    json_t *key, *val;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct range_entry *x = a, *y = b;
    return strcmp(json_string_value(x->key), json_string_value(y->key));
}

static int walk_range(struct tstate *st, const struct tval *dot, const struct tnode *r)
{
    st->node = r;
    size_t outer = st->nvars;
    struct tval val;
    struct range_entry *entries = NULL;
    size_t nentries = 0;
    int rc = eval_pipeline(st, dot, r->sub, &val);
    if (rc)
        goto done;
    size_t mark = st->nvars;
    bool empty = true;
    if (val.v && json_is_array(val.v)) {
        size_t n = json_array_size(val.v);
        for (size_t i = 0; i < n && !rc; i++) {
            empty = false;
            if ((rc = step(st)))
                break;
            json_t *idx = json_integer((json_int_t)i);
            struct tval index = {idx, false};
            struct tval elem = {json_array_get(val.v, i), true};
            rc = one_iteration(st, r, index, elem, mark);
            json_decref(idx);
        }
    } else if (val.v && json_is_object(val.v)) {
        /* Go sorts a snapshot of the entries first, so the body may change
         * the map (Sprig's set/unset) without affecting the iteration */
        size_t n = json_object_size(val.v), k = 0;
        if (n) {
            entries = calloc(n, sizeof(*entries));
            if (!entries) {
                rc = ks_error_set(KS_ENOMEM, "out of memory in template execution");
                goto done;
            }
            nentries = n;
            const char *key;
            json_t *v;
            json_object_foreach(val.v, key, v)
            {
                entries[k].key = json_string_nocheck(key);
                entries[k].val = json_incref(v);
                if (!entries[k++].key) {
                    rc = ks_error_set(KS_ENOMEM, "out of memory in template execution");
                    goto done;
                }
            }
            qsort(entries, n, sizeof(*entries), entry_cmp);
            for (size_t i = 0; i < n && !rc; i++) {
                empty = false;
                if ((rc = step(st)))
                    break;
                struct tval index = {entries[i].key, false};
                struct tval elem = {entries[i].val, true};
                rc = one_iteration(st, r, index, elem, mark);
            }
        }
    } else if (val.v) {
        struct ks_buf s;
        ks_buf_init(&s, 0);
        ks_gofmt_print_value(&s, val.v);
        rc = tstate_errorf(st, 0, "range can't iterate over %s", ks_buf_data(&s));
        ks_buf_release(&s);
        goto done;
    }
    if (rc == CTL_BREAK)
        rc = 0;
    if (!rc && empty && r->else_list)
        rc = walk(st, dot, r->else_list);
done:
    for (size_t i = 0; i < nentries; i++) {
        json_decref(entries[i].key);
        json_decref(entries[i].val);
    }
    free(entries);
    tval_release(&val);
    pop_vars(st, outer);
    return rc;
}

static int exec_tree(struct tstate *parent, struct ks_tpl_set *set, const struct ttree *tree,
                     struct tval dot, struct ks_buf *out);

static int walk_template(struct tstate *st, const struct tval *dot, const struct tnode *t)
{
    st->node = t;
    const struct ttree *tree = tset_lookup(st->set, t->text);
    if (!tree) {
        struct ks_buf q;
        ks_buf_init(&q, 0);
        ks_gofmt_quote(&q, t->text, strlen(t->text));
        int rc = tstate_errorf(st, 0, "template %s not defined", ks_buf_data(&q));
        ks_buf_release(&q);
        return rc;
    }
    struct tval val;
    int rc = eval_pipeline(st, dot, t->sub, &val);
    if (rc)
        return rc;
    rc = exec_tree(st, st->set, tree, val, st->out);
    return rc;
}

static int walk(struct tstate *st, const struct tval *dot, const struct tnode *n)
{
    st->node = n;
    int rc = step(st);
    if (rc)
        return rc;
    switch (n->type) {
    case TN_ACTION: {
        struct tval val;
        if ((rc = eval_pipeline(st, dot, n->sub, &val)))
            return rc;
        if (n->sub->ndecl == 0)
            rc = print_value(st, n, &val);
        tval_release(&val);
        return rc;
    }
    case TN_BREAK:
        return CTL_BREAK;
    case TN_CONTINUE:
        return CTL_CONTINUE;
    case TN_IF:
    case TN_WITH:
        return walk_if_with(st, dot, n);
    case TN_LIST:
        return walk_list(st, dot, n);
    case TN_RANGE:
        return walk_range(st, dot, n);
    case TN_TEMPLATE:
        return walk_template(st, dot, n);
    case TN_TEXT:
        return emit(st, n->text, n->len);
    default:
        return tstate_errorf(st, 0, "unknown node");
    }
}

/* Runs tree with dot (consumed) into out in a fresh variable scope. */
static int exec_tree(struct tstate *parent, struct ks_tpl_set *set, const struct ttree *tree,
                     struct tval dot, struct ks_buf *out)
{
    int depth = parent ? parent->depth + 1 : 0;
    struct texec *ex = parent->ex;
    int rc = 0;
    struct tstate st = {ex, set, tree, NULL, out, ks_buf_len(out), NULL, 0, 0, depth};
    if (parent && out == parent->out)
        st.out_base = parent->out_base;
    if (depth > ex->root->limits.max_depth) {
        json_decref(dot.v);
        return tstate_errorf(parent, KS_ELIMIT, "template nesting exceeds the limit of %d",
                             ex->root->limits.max_depth);
    }
    if ((rc = push_var(&st, "$", dot)))
        goto done;
    struct tval d = tval_borrow(dot.v, dot.iface);
    rc = walk(&st, &d, tree->root);
    tval_release(&d);
    if (rc > 0)
        rc = 0; /* stray break/continue cannot happen after parsing */
    if (!rc && ks_buf_error(out))
        rc = ks_buf_error(out);
done:
    pop_vars(&st, 0);
    free(st.vars);
    return rc;
}

static void remove_no_value(struct ks_buf *out, size_t from)
{
    static const char nv[] = "<no value>";
    char *d = out->data;
    if (!d)
        return;
    /* skips to each '<' with memchr and moves the text between in chunks */
    size_t w = from, r = from, len = out->len;
    while (r < len) {
        const char *lt = memchr(d + r, '<', len - r);
        size_t next = lt ? (size_t)(lt - d) : len;
        if (w != r)
            memmove(d + w, d + r, next - r);
        w += next - r;
        r = next;
        if (r >= len)
            break;
        if (len - r >= 10 && memcmp(d + r, nv, 10) == 0) {
            r += 10;
        } else {
            d[w++] = d[r++];
        }
    }
    out->len = w;
    d[w] = '\0';
}

static void helm_exec_error(void)
{
    /* engine.go cleanupExecError */
    char msg[4096];
    snprintf(msg, sizeof(msg), "%s", ks_error_last());
    if (strncmp(msg, "template: ", 10) != 0)
        return;
    char *loc = msg + 10;
    char *rest = strstr(loc, ": ");
    if (!rest)
        return;
    *rest = '\0';
    rest += 2;
    const char *start = strstr(rest, "HELM_ERR_START");
    if (!start)
        return;
    const char *end = NULL;
    for (const char *p = strstr(start + 14, "HELM_ERR_END"); p; p = strstr(p + 1, "HELM_ERR_END"))
        end = p;
    if (!end)
        return;
    ks_error_set(ks_error_last_code(), "execution error at (%s): %.*s", loc,
                 (int)(end - (start + 14)), start + 14);
}

/* Go's ExecuteTemplate error for an unknown name (Helm's root is "gotpl"). */
static int no_template(const char *name)
{
    struct ks_buf q;
    ks_buf_init(&q, 0);
    ks_gofmt_quote(&q, name, strlen(name));
    int rc =
        ks_error_set(KS_ENOTFOUND, "template: no template %s associated with template \"gotpl\"",
                     ks_buf_data(&q));
    ks_buf_release(&q);
    return rc;
}

static void texec_release(struct texec *ex)
{
    for (size_t i = 0; i < ex->includes.cap; i++)
        if (ex->includes.keys[i])
            free(ex->includes.vals[i]);
    smap_free(&ex->includes);
}

int ks_tpl_execute(struct ks_buf *out, struct ks_tpl_set *set, const char *name, json_t *dot)
{
    struct texec ex = {.root = set->root};
    struct ks_tpl_set *saved = current_root;
    size_t base = ks_buf_len(out);
    int rc = 0;
    const struct ttree *tree = tset_lookup(set, name);
    if (!tree)
        return no_template(name);
    current_root = set->root;
    struct tstate top = {&ex, set, tree, NULL, out, base, NULL, 0, 0, -1};
    struct tval d = {json_incref(dot), false};
    if (d.v && json_is_null(d.v)) {
        json_decref(d.v);
        d.v = NULL;
    }
    rc = exec_tree(&top, set, tree, d, out);
    current_root = saved;
    if (!rc && (set->root->flags & KS_TPL_HELM))
        remove_no_value(out, base);
    if (rc && (set->root->flags & KS_TPL_HELM))
        helm_exec_error();
    texec_release(&ex);
    return rc;
}

/* ---- engine services for functions (tplfunc.h) ---- */

/* Helm's includedNames: how deeply each name is being included. */
struct include_entry {
    intptr_t count;
    char name[];
};

static struct include_entry *include_entry(struct texec *ex, const char *name)
{
    struct include_entry *e = smap_get(&ex->includes, name);
    if (e)
        return e;
    size_t n = strlen(name);
    e = malloc(sizeof(*e) + n + 1);
    if (!e) {
        ks_error_set(KS_ENOMEM, "out of memory in include");
        return NULL;
    }
    e->count = 0;
    memcpy(e->name, name, n + 1);
    if (smap_put(&ex->includes, e->name, e)) {
        free(e);
        return NULL;
    }
    return e;
}

int ks_tpl_call_include(char **out_str, struct ks_tpl_call *call, const char *name, json_t *data)
{
    struct tstate *st = call->st;
    struct texec *ex = st->ex;
    int rc;
    struct include_entry *inc = include_entry(ex, name);
    if (!inc)
        return KS_ENOMEM;
    if (inc->count > ex->root->limits.max_include_depth)
        return ks_error_set(KS_ELIMIT,
                            "rendering template has a nested reference name: %s: unable to "
                            "execute template",
                            name);
    const struct ttree *tree = tset_lookup(st->set, name);
    if (!tree)
        return no_template(name);
    inc->count++;
    struct ks_buf buf;
    ks_buf_init(&buf, 0);
    struct tval d = {json_incref(data), false};
    tval_dig(&d);
    const struct tnode *saved_node = st->node;
    rc = exec_tree(st, st->set, tree, d, &buf);
    st->node = saved_node;
    inc->count--;
    if (!rc) {
        *out_str = ks_buf_detach(&buf, NULL);
        if (!*out_str)
            rc = ks_error_set(KS_ENOMEM, "out of memory in include");
    }
    ks_buf_release(&buf);
    return rc;
}

/* "<what> <quoted>: <last message>" (Helm's errors.Wrapf in tpl). */
static __attribute__((noinline)) int rewrap_error(int rc, const char *what, const char *quoted)
{
    char *msg = strdup(ks_error_last());
    if (!msg)
        return ks_error_set(KS_ENOMEM, "out of memory formatting an error");
    rc = ks_error_set(rc, "%s %s: %s", what, quoted, msg);
    free(msg);
    return rc;
}

int ks_tpl_call_tpl(char **out_str, struct ks_tpl_call *call, const char *text, json_t *data)
{
    struct tstate *st = call->st;
    struct ks_tpl_set child = {0};
    struct ks_buf buf, q;
    int rc = 0;
    ks_buf_init(&buf, 0);
    ks_buf_init(&q, 0);
    child.parent = st->set;
    child.root = st->set->root;
    ks_gofmt_quote(&q, text, strlen(text));
    rc = tparse(&child, "gotpl", "gotpl", text, strlen(text));
    if (rc) {
        rc = rewrap_error(rc, "cannot parse template", ks_buf_data(&q));
        goto done;
    }
    const struct ttree *tree = tset_lookup(&child, "gotpl");
    struct tval d = {json_incref(data), false};
    tval_dig(&d);
    const struct tnode *saved_node = st->node;
    rc = exec_tree(st, &child, tree, d, &buf);
    st->node = saved_node;
    if (rc) {
        rc = rewrap_error(rc, "error during tpl function execution for", ks_buf_data(&q));
        goto done;
    }
    remove_no_value(&buf, 0);
    *out_str = ks_buf_detach(&buf, NULL);
    if (!*out_str)
        rc = ks_error_set(KS_ENOMEM, "out of memory in tpl");
done:
    ks_buf_release(&buf);
    ks_buf_release(&q);
    for (struct tunit *u = child.units; u;) {
        struct tunit *next = u->next;
        tunit_free(u);
        u = next;
    }
    smap_free(&child.templates);
    return rc;
}
