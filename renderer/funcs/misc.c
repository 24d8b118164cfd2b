/*
 * misc.c: the misc function table: Sprig's defaults and flow helpers
 * (default, empty, coalesce, all, any, ternary, fail), reflection (kindOf,
 * kindIs, typeOf, typeIs, typeIsLike), Helm's engine-backed functions
 * (include, tpl, required, lookup), and the table entries of semver,
 * dates, random values, uuids, certificates and regular expressions,
 * whose implementations live in their own files.
 */
#include "renderer/funcs/funcs.h"
#include "renderer/gofmt.h"

#include <string.h>

#include "core/error.h"
#include "renderer/template.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

/* default: the default (args[0]) unless the given value is not empty. */
FN(fn_default)
{
    if (nargs < 2 || ks_funcs_empty(args[1]))
        *out = json_incref(args[0]);
    else
        *out = json_incref(args[1]);
    return 0;
}

FN(fn_empty)
{
    return ks_funcs_ret(out, call, json_boolean(ks_funcs_empty(args[0])));
}

FN(fn_coalesce)
{
    for (size_t i = 0; i < nargs; i++)
        if (!ks_funcs_empty(args[i])) {
            *out = json_incref(args[i]);
            return 0;
        }
    return ks_funcs_ret(out, call, json_null());
}

FN(fn_all)
{
    for (size_t i = 0; i < nargs; i++)
        if (ks_funcs_empty(args[i]))
            return ks_funcs_ret(out, call, json_false());
    return ks_funcs_ret(out, call, json_true());
}

FN(fn_any)
{
    for (size_t i = 0; i < nargs; i++)
        if (!ks_funcs_empty(args[i]))
            return ks_funcs_ret(out, call, json_true());
    return ks_funcs_ret(out, call, json_false());
}

FN(fn_ternary)
{
    bool v;
    int rc = ks_funcs_arg_bool(&v, call, args[2]);
    if (rc)
        return rc;
    *out = json_incref(v ? args[0] : args[1]);
    return 0;
}

/* fail: Sprig returns errors.New(msg); Helm reports it as an execution
 * error at the call's position. */
FN(fn_fail)
{
    const char *msg;
    size_t n;
    int rc = ks_funcs_arg_str(&msg, &n, call, args[0]);
    if (rc)
        return rc;
    return ks_tpl_call_fail(call, msg);
}

/* required: nil or "" fails with the given message, taken literally (as
 * helm 3.17 prints it); anything else passes through. */
FN(fn_required)
{
    const char *warn;
    size_t n;
    int rc = ks_funcs_arg_str(&warn, &n, call, args[0]);
    if (rc)
        return rc;
    if (!json_is_null(args[1]) && !(json_is_string(args[1]) && json_string_length(args[1]) == 0)) {
        *out = json_incref(args[1]);
        return 0;
    }
    return ks_tpl_call_fail(call, warn);
}

static int engine_text(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool tpl)
{
    const char *s;
    size_t n;
    char *text = NULL;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    rc = tpl ? ks_tpl_call_tpl(&text, call, s, args[1])
             : ks_tpl_call_include(&text, call, s, args[1]);
    if (rc)
        return rc; /* the engine wraps ks_error_last() */
    rc = ks_funcs_ret_str(out, call, text, strlen(text));
    free(text);
    return rc;
}

FN(fn_include)
{
    return engine_text(out, call, args, false);
}

FN(fn_tpl)
{
    return engine_text(out, call, args, true);
}

/* lookup: `helm template` has no cluster, so every lookup finds nothing
 * (an empty map), with the arguments still typed as in Helm. */
FN(fn_lookup)
{
    const char *s;
    size_t n;
    int rc;
    for (size_t i = 0; i < 4; i++)
        if ((rc = ks_funcs_arg_str(&s, &n, call, args[i])) != 0)
            return rc;
    return ks_funcs_ret(out, call, json_object());
}

/* reflect.Kind, host objects included. */
static const char *kind_of(struct ks_tpl_call *call, const json_t *v)
{
    if (json_is_null(v))
        return "invalid";
    if (ks_funcs_semver_host_type(call, v))
        return "ptr";
    if (ks_funcs_time_host_type(call, v) || ks_funcs_cert_host_type(call, v))
        return "struct";
    /* an integer the engine marks as Go int64 (--set values, int64) has kind int64 */
    if (json_is_integer(v) && strcmp(ks_gofmt_type_name(v), "int64") == 0)
        return "int64";
    return ks_funcs_gokind(v);
}

FN(fn_kind_of)
{
    const char *k = kind_of(call, args[0]);
    return ks_funcs_ret_str(out, call, k, strlen(k));
}

FN(fn_kind_is)
{
    const char *target;
    size_t n;
    int rc = ks_funcs_arg_str(&target, &n, call, args[0]);
    if (rc)
        return rc;
    const char *k = kind_of(call, args[1]);
    return ks_funcs_ret(out, call, json_boolean(strlen(k) == n && memcmp(k, target, n) == 0));
}

const char *ks_funcs_host_type(struct ks_tpl_call *call, const json_t *v)
{
    const char *t = ks_funcs_semver_host_type(call, v);
    if (!t)
        t = ks_funcs_time_host_type(call, v);
    return t ? t : ks_funcs_cert_host_type(call, v);
}

/* fmt's %T: "<nil>" for nil; host objects name their Go type. */
static const char *type_of(struct ks_tpl_call *call, const json_t *v)
{
    if (json_is_null(v))
        return "<nil>";
    const char *host = ks_funcs_host_type(call, v);
    if (host)
        return host;
    return ks_funcs_gotype(v);
}

FN(fn_type_of)
{
    const char *t = type_of(call, args[0]);
    return ks_funcs_ret_str(out, call, t, strlen(t));
}

static int type_test(json_t **out, struct ks_tpl_call *call, json_t *const *args, bool like)
{
    const char *target;
    size_t n;
    int rc = ks_funcs_arg_str(&target, &n, call, args[0]);
    if (rc)
        return rc;
    const char *t = type_of(call, args[1]);
    bool eq = strlen(t) == n && memcmp(t, target, n) == 0;
    if (!eq && like)
        eq = t[0] == '*' && strlen(t + 1) == n && memcmp(t + 1, target, n) == 0;
    return ks_funcs_ret(out, call, json_boolean(eq));
}

FN(fn_type_is)
{
    return type_test(out, call, args, false);
}

FN(fn_type_is_like)
{
    return type_test(out, call, args, true);
}

FN(fn_hello)
{
    return ks_funcs_ret_str(out, call, "Hello!", 6);
}

const struct ks_tpl_func_def ks_tpl_funcs_misc[] = {
    {"hello", fn_hello, 0, 0},
    {"default", fn_default, 1, -1},
    {"empty", fn_empty, 1, 1},
    {"coalesce", fn_coalesce, 0, -1},
    {"all", fn_all, 0, -1},
    {"any", fn_any, 0, -1},
    {"ternary", fn_ternary, 3, 3},
    {"fail", fn_fail, 1, 1},
    {"required", fn_required, 2, 2},
    {"include", fn_include, 2, 2},
    {"tpl", fn_tpl, 2, 2},
    {"lookup", fn_lookup, 4, 4},
    {"kindOf", fn_kind_of, 1, 1},
    {"kindIs", fn_kind_is, 2, 2},
    {"typeOf", fn_type_of, 1, 1},
    {"typeIs", fn_type_is, 2, 2},
    {"typeIsLike", fn_type_is_like, 2, 2},
    {"semverCompare", ks_funcs_semver_compare, 2, 2},
    {"semver", ks_funcs_semver, 1, 1},
    {"uuidv4", ks_funcs_uuidv4, 0, 0},
    {"randAlphaNum", ks_funcs_rand_alnum, 1, 1},
    {"randAlpha", ks_funcs_rand_alpha, 1, 1},
    {"randNumeric", ks_funcs_rand_numeric, 1, 1},
    {"randAscii", ks_funcs_rand_ascii, 1, 1},
    {"randInt", ks_funcs_rand_int, 2, 2},
    {"shuffle", ks_funcs_shuffle, 1, 1},
    {"genPrivateKey", ks_funcs_gen_private_key, 1, 1},
    {"genCA", ks_funcs_gen_ca, 2, 2},
    {"genSelfSignedCert", ks_funcs_gen_self_signed_cert, 4, 4},
    {"genSignedCert", ks_funcs_gen_signed_cert, 5, 5},
    {"genCAWithKey", ks_funcs_gen_ca, 3, 3},
    {"genSelfSignedCertWithKey", ks_funcs_gen_self_signed_cert, 5, 5},
    {"genSignedCertWithKey", ks_funcs_gen_signed_cert, 6, 6},
    {"randBytes", ks_funcs_rand_bytes, 1, 1},
    {"encryptAES", ks_funcs_encrypt_aes, 2, 2},
    {"decryptAES", ks_funcs_decrypt_aes, 2, 2},
    {"regexMatch", ks_funcs_regex_match, 2, 2},
    {"mustRegexMatch", ks_funcs_must_regex_match, 2, 2},
    {"regexFind", ks_funcs_regex_find, 2, 2},
    {"mustRegexFind", ks_funcs_must_regex_find, 2, 2},
    {"regexFindAll", ks_funcs_regex_find_all, 3, 3},
    {"mustRegexFindAll", ks_funcs_must_regex_find_all, 3, 3},
    {"regexReplaceAll", ks_funcs_regex_replace_all, 3, 3},
    {"mustRegexReplaceAll", ks_funcs_must_regex_replace_all, 3, 3},
    {"regexReplaceAllLiteral", ks_funcs_regex_replace_literal, 3, 3},
    {"mustRegexReplaceAllLiteral", ks_funcs_must_regex_replace_literal, 3, 3},
    {"regexSplit", ks_funcs_regex_split, 3, 3},
    {"mustRegexSplit", ks_funcs_must_regex_split, 3, 3},
    {"regexQuoteMeta", ks_funcs_regex_quote_meta, 1, 1},
    {"now", ks_funcs_now, 0, 0},
    {"date", ks_funcs_date, 2, 2},
    {"dateInZone", ks_funcs_date_in_zone, 3, 3},
    {"date_in_zone", ks_funcs_date_in_zone, 3, 3},
    {"htmlDate", ks_funcs_html_date, 1, 1},
    {"htmlDateInZone", ks_funcs_html_date, 2, 2},
    {"unixEpoch", ks_funcs_unix_epoch, 1, 1},
    {"ago", ks_funcs_ago, 1, 1},
    {"duration", ks_funcs_duration, 1, 1},
    {"toDate", ks_funcs_to_date, 2, 2},
    {"mustToDate", ks_funcs_must_to_date, 2, 2},
    {"durationRound", ks_funcs_duration_round, 1, 1},
    {"dateModify", ks_funcs_date_modify, 2, 2},
    {"date_modify", ks_funcs_date_modify, 2, 2},
    {"mustDateModify", ks_funcs_must_date_modify, 2, 2},
    {"must_date_modify", ks_funcs_must_date_modify, 2, 2},
    {"buildCustomCert", ks_funcs_build_custom_cert, 2, 2},
    {"bcrypt", ks_funcs_bcrypt, 1, 1},
    {"urlParse", ks_funcs_url_parse, 1, 1},
    {"urlJoin", ks_funcs_url_join, 1, 1},
    {"getHostByName", ks_funcs_get_host_by_name, 1, 1},
    {"htpasswd", ks_funcs_htpasswd, 2, 2},
    {"derivePassword", ks_funcs_derive_password, 5, 5},
    {NULL, NULL, 0, 0},
};
