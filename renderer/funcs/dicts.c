/*
 * dicts.c: Sprig's dictionary functions (dict, get, set, unset, hasKey,
 * pluck, keys, values, pick, omit, dig, merge, mergeOverwrite, deepCopy,
 * deepEqual). set, unset, merge and mergeOverwrite change the dict they are
 * given, as Go's maps are references. merge follows the rules of
 * dario.cat/mergo that Sprig uses: nested maps merge recursively, a
 * destination value is replaced only when it is missing or empty (or
 * always, for mergeOverwrite, which also copies nil and empty values).
 * Go iterates maps in random order; keys and values use sorted order.
 */
#include "renderer/funcs/funcs.h"

#include <string.h>

#include "core/error.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

/* Deepest nesting merge and deepCopy follow. */
#define MAX_DEPTH 200

static bool is_map(const json_t *v)
{
    return json_is_object(v);
}

/* The (map, key) arguments of get, set, unset and hasKey. */
static int map_key_args(json_t **d, const char **k, size_t *kn, struct ks_tpl_call *call,
                        json_t *const *args)
{
    int rc = ks_funcs_arg_map(d, call, args[0]);
    return rc ? rc : ks_funcs_arg_str(k, kn, call, args[1]);
}

FN(fn_dict)
{
    json_t *d = json_object();
    struct ks_buf key;
    ks_buf_init(&key, KS_FUNCS_MAX_OUTPUT);
    if (!d)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < nargs; i += 2) {
        ks_buf_reset(&key);
        int rc = ks_funcs_strval(&key, args[i]);
        if (rc == 0)
            rc = ks_buf_error(&key);
        json_t *v = i + 1 < nargs ? json_incref(args[i + 1]) : json_string("");
        if (rc || json_object_setn_new(d, ks_buf_data(&key), key.len, v)) {
            json_decref(d);
            ks_buf_release(&key);
            return rc && rc != KS_ENOMEM ? ks_tpl_call_error(call, rc, "%s", ks_error_last())
                                         : ks_funcs_nomem(call);
        }
    }
    ks_buf_release(&key);
    *out = d;
    return 0;
}

FN(fn_get)
{
    json_t *d;
    const char *k;
    size_t kn;
    int rc = map_key_args(&d, &k, &kn, call, args);
    if (rc)
        return rc;
    json_t *v = json_object_getn(d, k, kn);
    return ks_funcs_ret(out, call, v ? json_incref(v) : json_string(""));
}

FN(fn_set)
{
    json_t *d;
    const char *k;
    size_t kn;
    int rc = map_key_args(&d, &k, &kn, call, args);
    if (rc)
        return rc;
    if (json_object_setn(d, k, kn, args[2]))
        return ks_funcs_nomem(call);
    *out = json_incref(d);
    return 0;
}

FN(fn_unset)
{
    json_t *d;
    const char *k;
    size_t kn;
    int rc = map_key_args(&d, &k, &kn, call, args);
    if (rc)
        return rc;
    json_object_deln(d, k, kn);
    *out = json_incref(d);
    return 0;
}

FN(fn_has_key)
{
    json_t *d;
    const char *k;
    size_t kn;
    int rc = map_key_args(&d, &k, &kn, call, args);
    if (rc)
        return rc;
    return ks_funcs_ret(out, call, json_boolean(json_object_getn(d, k, kn) != NULL));
}

FN(fn_pluck)
{
    const char *k;
    size_t kn;
    json_t *d;
    int rc = ks_funcs_arg_str(&k, &kn, call, args[0]);
    if (rc)
        return rc;
    for (size_t i = 1; i < nargs; i++)
        if ((rc = ks_funcs_arg_map(&d, call, args[i])) != 0)
            return rc;
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 1; i < nargs; i++) {
        json_t *v = json_object_getn(args[i], k, kn);
        if (v && json_array_append(list, v)) {
            json_decref(list);
            return ks_funcs_nomem(call);
        }
    }
    *out = list;
    return 0;
}

/* The keys of d as a sorted list of strings. */
static json_t *sorted_keys(const json_t *d)
{
    json_t *keys = json_array();
    const char *k;
    size_t kn;
    json_t *v;
    if (!keys)
        return NULL;
    json_object_keylen_foreach((json_t *)d, k, kn, v)
    {
        if (json_array_append_new(keys, json_stringn_nocheck(k, kn)))
            goto fail;
    }
    if (ks_funcs_sort_strings(keys) == 0)
        return keys;
fail:
    json_decref(keys);
    return NULL;
}

FN(fn_keys)
{
    json_t *d;
    int rc;
    for (size_t i = 0; i < nargs; i++)
        if ((rc = ks_funcs_arg_map(&d, call, args[i])) != 0)
            return rc;
    json_t *list = json_array();
    if (!list)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < nargs; i++) {
        json_t *keys = sorted_keys(args[i]);
        if (!keys || json_array_extend(list, keys)) {
            json_decref(keys);
            json_decref(list);
            return ks_funcs_nomem(call);
        }
        json_decref(keys);
    }
    *out = list;
    return 0;
}

FN(fn_values)
{
    json_t *d;
    int rc = ks_funcs_arg_map(&d, call, args[0]);
    if (rc)
        return rc;
    json_t *keys = sorted_keys(d);
    json_t *list = json_array();
    if (!keys || !list)
        goto nomem;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        if (json_array_append(list,
                              json_object_getn(d, json_string_value(k), json_string_length(k))))
            goto nomem;
    }
    json_decref(keys);
    *out = list;
    return 0;
nomem:
    json_decref(keys);
    json_decref(list);
    return ks_funcs_nomem(call);
}

/* pick / omit: the keys to keep or drop are typed ...string. */
static int pick_omit(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                     bool pick)
{
    json_t *d;
    const char *s;
    size_t sn;
    int rc = ks_funcs_arg_map(&d, call, args[0]);
    if (rc)
        return rc;
    for (size_t i = 1; i < nargs; i++)
        if ((rc = ks_funcs_arg_str(&s, &sn, call, args[i])) != 0)
            return rc;
    json_t *res = json_object();
    const char *k;
    size_t kn;
    json_t *v;
    if (!res)
        return ks_funcs_nomem(call);
    json_object_keylen_foreach(d, k, kn, v)
    {
        bool listed = false;
        for (size_t i = 1; i < nargs && !listed; i++)
            listed =
                json_string_length(args[i]) == kn && memcmp(json_string_value(args[i]), k, kn) == 0;
        if (listed == pick && json_object_setn(res, k, kn, v)) {
            json_decref(res);
            return ks_funcs_nomem(call);
        }
    }
    *out = res;
    return 0;
}

FN(fn_pick)
{
    return pick_omit(out, call, args, nargs, true);
}

FN(fn_omit)
{
    return pick_omit(out, call, args, nargs, false);
}

/* Go's panic text for a failed interface{} type assertion. */
static int assert_panic(struct ks_tpl_call *call, const json_t *v, const char *want)
{
    const char *got = json_is_null(v) ? "nil" : ks_funcs_gotype(v);
    return ks_tpl_call_error(call, KS_EINVALID, "interface conversion: interface {} is %s, not %s",
                             got, want);
}

FN(fn_dig)
{
    if (nargs < 3)
        return ks_tpl_call_error(call, KS_EINVALID, "dig needs at least three arguments");
    json_t *d = args[nargs - 1];
    json_t *def = args[nargs - 2];
    if (!is_map(d))
        return assert_panic(call, d, "map[string]interface {}");
    for (size_t i = 0; i < nargs - 2; i++)
        if (!json_is_string(args[i]))
            return assert_panic(call, args[i], "string");
    for (size_t i = 0; i < nargs - 2; i++) {
        json_t *step = json_object_getn(d, json_string_value(args[i]), json_string_length(args[i]));
        if (!step)
            break;
        if (i == nargs - 3) {
            *out = json_incref(step);
            return 0;
        }
        if (!is_map(step))
            return assert_panic(call, step, "map[string]interface {}");
        d = step;
    }
    *out = json_incref(def);
    return 0;
}

static int merge_into(json_t *dst, json_t *src, bool overwrite, int depth)
{
    const char *k;
    size_t kn;
    json_t *sv;
    if (depth > MAX_DEPTH)
        return ks_error_set(KS_ELIMIT, "merge: nesting deeper than %d levels", MAX_DEPTH);
    json_object_keylen_foreach(src, k, kn, sv)
    {
        json_t *dv = json_object_getn(dst, k, kn);
        if (json_is_null(sv)) {
            if (overwrite && json_object_setn(dst, k, kn, sv))
                return KS_ENOMEM;
            continue;
        }
        if (is_map(sv) && is_map(dv) && dv != sv) {
            bool was_empty = json_object_size(dv) == 0;
            int rc = merge_into(dv, sv, overwrite, depth + 1);
            if (rc)
                return rc;
            if (!was_empty)
                continue;
        }
        if (overwrite || !dv || ks_funcs_empty(dv))
            if (json_object_setn(dst, k, kn, sv))
                return KS_ENOMEM;
    }
    return 0;
}

static int do_merge(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                    bool overwrite)
{
    json_t *d = NULL, *s = NULL;
    int rc;
    for (size_t i = 0; i < nargs; i++)
        if ((rc = ks_funcs_arg_map(i ? &s : &d, call, args[i])) != 0)
            return rc;
    for (size_t i = 1; i < nargs; i++) {
        if (args[i] == d)
            continue;
        if ((rc = merge_into(d, args[i], overwrite, 0)) != 0)
            return rc == KS_ENOMEM ? ks_funcs_nomem(call)
                                   : ks_tpl_call_error(call, rc, "%s", ks_error_last());
    }
    *out = json_incref(d);
    return 0;
}

FN(fn_merge)
{
    return do_merge(out, call, args, nargs, false);
}

FN(fn_merge_overwrite)
{
    return do_merge(out, call, args, nargs, true);
}

FN(fn_deep_copy)
{
    return ks_funcs_ret(out, call, json_deep_copy(args[0]));
}

FN(fn_deep_equal)
{
    return ks_funcs_ret(out, call, json_boolean(ks_funcs_deep_equal(args[0], args[1])));
}

const struct ks_tpl_func_def ks_tpl_funcs_dicts[] = {
    {"dict", fn_dict, 0, -1},
    {"get", fn_get, 2, 2},
    {"set", fn_set, 3, 3},
    {"unset", fn_unset, 2, 2},
    {"hasKey", fn_has_key, 2, 2},
    {"pluck", fn_pluck, 1, -1},
    {"keys", fn_keys, 0, -1},
    {"values", fn_values, 1, 1},
    {"pick", fn_pick, 1, -1},
    {"omit", fn_omit, 1, -1},
    {"dig", fn_dig, 0, -1},
    {"merge", fn_merge, 1, -1},
    {"mustMerge", fn_merge, 1, -1},
    {"mergeOverwrite", fn_merge_overwrite, 1, -1},
    {"mustMergeOverwrite", fn_merge_overwrite, 1, -1},
    {"deepCopy", fn_deep_copy, 1, 1},
    {"mustDeepCopy", fn_deep_copy, 1, 1},
    {"deepEqual", fn_deep_equal, 2, 2},
    {NULL, NULL, 0, 0},
};
