/*
 * lists.c: Sprig's list functions (list, append, prepend, concat, first,
 * rest, last, initial, uniq, without, has, compact, reverse, chunk, slice,
 * until, untilStep, seq) and their must* variants. Sprig's plain variants
 * panic where the must* ones return an error; both surface the same
 * message through the engine, so one implementation serves both.
 * Results are new lists that share the items (as Go's slices of
 * interface{} do).
 */
#include "renderer/funcs/funcs.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonequal.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

/* reflect.TypeOf(nil).Kind() dereferences nil in Sprig: Go's panic. */
static int need_list(struct ks_tpl_call *call, const json_t *v, const char *what, const char *after)
{
    if (json_is_array(v))
        return 0;
    if (json_is_null(v))
        return ks_tpl_call_error(
            call, KS_EINVALID, "runtime error: invalid memory address or nil pointer dereference");
    return ks_tpl_call_error(call, KS_EINVALID, "%s%s%s", what, ks_funcs_gokind(v), after);
}

/* New list of v[from..to). */
static int sublist(json_t **out, struct ks_tpl_call *call, const json_t *v, size_t from, size_t to)
{
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = from; i < to; i++)
        if (json_array_append(list, json_array_get(v, i))) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    *out = list;
    return 0;
}

FN(fn_list)
{
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < nargs; i++)
        if (json_array_append(list, args[i])) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    *out = list;
    return 0;
}

static int push(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool front)
{
    int rc =
        need_list(call, args[0], front ? "Cannot prepend on type " : "Cannot push on type ", "");
    if (rc)
        return rc;
    size_t n = json_array_size(args[0]);
    if ((rc = sublist(out, call, args[0], 0, n)) != 0)
        return rc;
    if (front ? json_array_insert(*out, 0, args[1]) : json_array_append(*out, args[1])) {
        json_decref(*out);
        return ks_funcs_nomem(call);
    }
    return 0;
}

FN(fn_append)
{
    return push(out, call, args, false);
}

FN(fn_prepend)
{
    return push(out, call, args, true);
}

FN(fn_concat)
{
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < nargs; i++) {
        if (!json_is_array(args[i])) {
            json_decref(list);
            return need_list(call, args[i], "Cannot concat type ", " as list");
        }
        if (json_array_extend(list, args[i])) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    }
    *out = list;
    return 0;
}

/* first / last: nil for an empty list. */
static int pick_end(json_t **out, struct ks_tpl_call *call, const json_t *v, bool last)
{
    int rc =
        need_list(call, v, last ? "Cannot find last on type " : "Cannot find first on type ", "");
    if (rc)
        return rc;
    size_t n = json_array_size(v);
    if (n == 0)
        return ks_funcs_ret(out, call, json_null());
    *out = json_incref(json_array_get(v, last ? n - 1 : 0));
    return 0;
}

FN(fn_first)
{
    return pick_end(out, call, args[0], false);
}

FN(fn_last)
{
    return pick_end(out, call, args[0], true);
}

/* rest / initial: an empty list stays empty. */
static int drop_end(json_t **out, struct ks_tpl_call *call, const json_t *v, bool initial)
{
    int rc = need_list(call, v,
                       initial ? "Cannot find initial on type " : "Cannot find rest on type ", "");
    if (rc)
        return rc;
    size_t n = json_array_size(v);
    if (n == 0)
        return sublist(out, call, v, 0, 0);
    return initial ? sublist(out, call, v, 0, n - 1) : sublist(out, call, v, 1, n);
}

FN(fn_rest)
{
    return drop_end(out, call, args[0], false);
}

FN(fn_initial)
{
    return drop_end(out, call, args[0], true);
}

FN(fn_reverse)
{
    int rc = need_list(call, args[0], "Cannot find reverse on type ", "");
    if (rc)
        return rc;
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = json_array_size(args[0]); i > 0; i--)
        if (json_array_append(list, json_array_get(args[0], i - 1))) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    *out = list;
    return 0;
}

/* reflect.DeepEqual over the value model (int and float64 differ, as in Go). */
bool ks_funcs_deep_equal(const json_t *a, const json_t *b)
{
    return ks_json_equal(a, b, KS_JSON_NUMBERS_TYPED);
}

static bool in_list(const json_t *list, const json_t *v)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (ks_funcs_deep_equal(json_array_get(list, i), v))
            return true;
    return false;
}

/* The items of list kept by keep(item, kept-so-far, args), in order. */
static int filter(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                  const char *what, bool (*keep)(json_t *, json_t *, json_t *const *, size_t))
{
    int rc = need_list(call, args[0], what, "");
    if (rc)
        return rc;
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < json_array_size(args[0]); i++) {
        json_t *item = json_array_get(args[0], i);
        if (keep(item, list, args, nargs) && json_array_append(list, item)) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    }
    *out = list;
    return 0;
}

static bool keep_new(json_t *item, json_t *kept, json_t *const *args, size_t nargs)
{
    return !in_list(kept, item);
}

static bool keep_unlisted(json_t *item, json_t *kept, json_t *const *args, size_t nargs)
{
    for (size_t j = 1; j < nargs; j++)
        if (ks_funcs_deep_equal(item, args[j]))
            return false;
    return true;
}

static bool keep_nonempty(json_t *item, json_t *kept, json_t *const *args, size_t nargs)
{
    return !ks_funcs_empty(item);
}

FN(fn_uniq)
{
    return filter(out, call, args, nargs, "Cannot find uniq on type ", keep_new);
}

FN(fn_without)
{
    return filter(out, call, args, nargs, "Cannot find without on type ", keep_unlisted);
}

FN(fn_compact)
{
    return filter(out, call, args, nargs, "Cannot compact on type ", keep_nonempty);
}

FN(fn_has)
{
    if (json_is_null(args[1]))
        return ks_funcs_ret(out, call, json_false());
    if (!json_is_array(args[1]))
        return ks_tpl_call_error(call, KS_EINVALID, "Cannot find has on type %s",
                                 ks_funcs_gokind(args[1]));
    return ks_funcs_ret(out, call, json_boolean(in_list(args[1], args[0])));
}

FN(fn_chunk)
{
    long long size;
    int rc;
    if ((rc = ks_funcs_arg_int(&size, call, args[0])) != 0 ||
        (rc = need_list(call, args[1], "Cannot chunk type ", "")) != 0)
        return rc;
    size_t n = json_array_size(args[1]);
    if (size <= 0 && n > 0)
        return ks_tpl_call_error(call, KS_EINVALID, "runtime error: integer divide by zero");
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < n; i += (size_t)size) {
        size_t end = i + (size_t)size < n ? i + (size_t)size : n;
        json_t *part;
        if ((rc = sublist(&part, call, args[1], i, end)) != 0) {
            json_decref(list);
            return rc;
        }
        if (json_array_append_new(list, part)) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    }
    *out = list;
    return 0;
}

/* Sprig's slice: list[start:end] with toInt indices. */
FN(fn_slice)
{
    int rc = need_list(call, args[0], "list should be type of slice or array but ", "");
    if (rc)
        return rc;
    size_t n = json_array_size(args[0]);
    if (n == 0)
        return ks_funcs_ret(out, call, json_null());
    long long start = nargs > 1 ? (long long)ks_funcs_toint64(args[1]) : 0;
    long long end = nargs > 2 ? (long long)ks_funcs_toint64(args[2]) : (long long)n;
    if (start < 0 || end < start || end > (long long)n)
        return ks_tpl_call_error(call, KS_EINVALID,
                                 "reflect.Value.Slice: slice index out of bounds");
    return sublist(out, call, args[0], (size_t)start, (size_t)end);
}

/* Sprig's untilStep over ints, capped. */
static int until_step(json_t **out, struct ks_tpl_call *call, long long start, long long stop,
                      long long step)
{
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    size_t count = 0;
    if (stop < start) {
        if (step >= 0)
            goto done;
        for (long long i = start; i > stop; i += step)
            if (++count > KS_FUNCS_MAX_LIST || json_array_append_new(list, json_integer(i)))
                goto fail;
        goto done;
    }
    if (step <= 0)
        goto done;
    for (long long i = start; i < stop; i += step) {
        if (++count > KS_FUNCS_MAX_LIST || json_array_append_new(list, json_integer(i)))
            goto fail;
        if (i > __LONG_LONG_MAX__ - step)
            break;
    }
done:
    *out = list;
    return 0;
fail:
    json_decref(list);
    if (count > KS_FUNCS_MAX_LIST)
        return ks_tpl_call_error(call, KS_ELIMIT, "list exceeds the limit of %zu items",
                                 KS_FUNCS_MAX_LIST);
    return ks_funcs_nomem(call);
}

FN(fn_until)
{
    long long count;
    int rc = ks_funcs_arg_int(&count, call, args[0]);
    if (rc)
        return rc;
    return until_step(out, call, 0, count, count < 0 ? -1 : 1);
}

FN(fn_until_step)
{
    long long a[3];
    int rc;
    for (int i = 0; i < 3; i++)
        if ((rc = ks_funcs_arg_int(&a[i], call, args[i])) != 0)
            return rc;
    return until_step(out, call, a[0], a[1], a[2]);
}

/* seq: bash's seq, as one space-separated string. */
FN(fn_seq)
{
    long long p[3] = {0, 0, 0};
    int rc;
    for (size_t i = 0; i < nargs && i < 3; i++)
        if ((rc = ks_funcs_arg_int(&p[i], call, args[i])) != 0)
            return rc;
    long long start, end, step, inc = 1;
    switch (nargs) {
    case 1:
        start = 1, end = p[0];
        if (end < start)
            inc = -1;
        step = inc;
        break;
    case 2:
        start = p[0], end = p[1];
        if (end < start)
            inc = -1;
        step = inc;
        break;
    case 3: /* seq FIRST INCREMENT LAST */
        start = p[0], step = p[1], end = p[2];
        if (end < start) {
            inc = -1;
            if (step > 0)
                return ks_funcs_ret_str(out, call, "", 0);
        }
        break;
    default:
        return ks_funcs_ret_str(out, call, "", 0);
    }
    json_t *list;
    if ((rc = until_step(&list, call, start, end + inc, step)) != 0)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    for (size_t i = 0; i < json_array_size(list); i++)
        ks_buf_printf(&b, i ? " %lld" : "%lld",
                      (long long)json_integer_value(json_array_get(list, i)));
    json_decref(list);
    return ks_funcs_ret_buf(out, call, &b);
}

const struct ks_tpl_func_def ks_tpl_funcs_lists[] = {
    {"list", fn_list, 0, -1},
    {"tuple", fn_list, 0, -1},
    {"append", fn_append, 2, 2},
    {"push", fn_append, 2, 2},
    {"mustAppend", fn_append, 2, 2},
    {"mustPush", fn_append, 2, 2},
    {"prepend", fn_prepend, 2, 2},
    {"mustPrepend", fn_prepend, 2, 2},
    {"concat", fn_concat, 0, -1},
    {"first", fn_first, 1, 1},
    {"mustFirst", fn_first, 1, 1},
    {"last", fn_last, 1, 1},
    {"mustLast", fn_last, 1, 1},
    {"rest", fn_rest, 1, 1},
    {"mustRest", fn_rest, 1, 1},
    {"initial", fn_initial, 1, 1},
    {"mustInitial", fn_initial, 1, 1},
    {"reverse", fn_reverse, 1, 1},
    {"mustReverse", fn_reverse, 1, 1},
    {"uniq", fn_uniq, 1, 1},
    {"mustUniq", fn_uniq, 1, 1},
    {"without", fn_without, 1, -1},
    {"mustWithout", fn_without, 1, -1},
    {"has", fn_has, 2, 2},
    {"mustHas", fn_has, 2, 2},
    {"compact", fn_compact, 1, 1},
    {"mustCompact", fn_compact, 1, 1},
    {"chunk", fn_chunk, 2, 2},
    {"mustChunk", fn_chunk, 2, 2},
    {"slice", fn_slice, 1, -1},
    {"mustSlice", fn_slice, 1, -1},
    {"until", fn_until, 1, 1},
    {"untilStep", fn_until_step, 3, 3},
    {"seq", fn_seq, 0, -1},
    {NULL, NULL, 0, 0},
};
