/*
 * tplfunc.h: the contract between the Go-template engine and the function
 * library (Go's builtins, Sprig, Helm's extras).
 *
 * Value model (shared by the whole renderer): template values are jansson
 * trees, mapped onto Go's types as Helm sees them:
 *   json_string  -> string            json_true/json_false -> bool
 *   json_integer -> int (also int64)  json_real            -> float64
 *   json_array   -> []interface{}     json_object          -> map[string]interface{}
 *   json_null    -> nil (also a missing map key: prints "<no value>")
 * Values passed to functions are borrowed; a function returns a NEW
 * reference in *out (never NULL on success: return json_null() for nil).
 * Functions must not modify their arguments, except the few Sprig functions
 * documented to mutate a dict in place (set, unset, merge, mergeOverwrite),
 * which do so on the object they were given, as Go does.
 */
#ifndef KS_RENDERER_TPLFUNC_H
#define KS_RENDERER_TPLFUNC_H

#include <jansson.h>
#include <stddef.h>

struct ks_tpl_call; /* opaque: the engine's state for one function call */

/* Returns 0, or a negative KS_E* after ks_tpl_call_error(). */
typedef int (*ks_tpl_func)(json_t **out, struct ks_tpl_call *call, json_t *const *args,
                           size_t nargs);

struct ks_tpl_func_def {
    const char *name;
    ks_tpl_func fn;
    int min_args;
    int max_args; /* -1 = variadic */
};

/* Reports a function failure as Go's text/template does:
 * "<template>:<line>:<col>: executing \"<template>\" at <name>: error calling
 * <name>: <message>" (the engine supplies everything before the message).
 * Returns KS_EINVALID (or code if not 0) for `return ks_tpl_call_error(...)`. */
int ks_tpl_call_error(struct ks_tpl_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Engine services some functions need (include, tpl, required, fail...). */
/* Executes the named template with data as dot; output appended to *out
 * (new malloc'd string in *out_str). KS_ENOTFOUND when no such template. */
int ks_tpl_call_include(char **out_str, struct ks_tpl_call *call, const char *name,
                        json_t *data);
/* Parses text as a template (named like the calling template) and executes it
 * with data as dot, sharing the current template set (Helm's `tpl`). */
int ks_tpl_call_tpl(char **out_str, struct ks_tpl_call *call, const char *text, json_t *data);

/* Tables of functions, each NULL-name terminated, defined in renderer/funcs/. */
extern const struct ks_tpl_func_def ks_tpl_funcs_strings[];
extern const struct ks_tpl_func_def ks_tpl_funcs_lists[];
extern const struct ks_tpl_func_def ks_tpl_funcs_dicts[];
extern const struct ks_tpl_func_def ks_tpl_funcs_math[];
extern const struct ks_tpl_func_def ks_tpl_funcs_encoding[]; /* b64, sha, toYaml, toJson, fromYaml... */
extern const struct ks_tpl_func_def ks_tpl_funcs_misc[];     /* semver, dates, uuid, rand, crypto... */

#endif
