/*
 * template.h: Go's text/template engine, as Helm 3.17 uses it.
 *
 * A template set (Go's *template.Template with its associated templates)
 * holds every parsed file of a chart plus the `define`/`block` definitions
 * found in them, and the function tables. Templates are parsed once and
 * executed many times; execution writes into one ks_buf and borrows the
 * jansson values it walks (no copies on field access).
 *
 * Semantics follow Go's text/template (parse/lex.go, parse/parse.go,
 * exec.go, funcs.go) with Helm's settings: the root template is named
 * "gotpl", missingkey=zero (missingkey=error with KS_TPL_STRICT), and
 * with KS_TPL_HELM the top-level output has every "<no value>" removed and
 * errors are rewritten the way Helm's engine.go does (cleanupParseError /
 * cleanupExecError: "parse error at (file:line): msg", "execution error at
 * (file:line:col): msg" for `fail`/`required`).
 *
 * Values follow the model of renderer/tplfunc.h. A missing map key and a
 * nil value both print "<no value>" at the top of an action (Go digs the
 * interface{} out), "<nil>" inside containers and as function arguments.
 *
 * Helm's parse order: Helm adds the files of a chart (parent and subcharts,
 * all in one set) sorted by ks_tpl_sort_helm(): most path separators first,
 * equal depth in reverse byte order. A later `define` of a name replaces an
 * earlier one (unless the later body is empty/whitespace only, Go's rule),
 * so parent charts' definitions win over subcharts'. Callers add files in
 * that order.
 *
 * Threading: a set is used by one thread at a time. Errors: every function
 * returns 0 or a negative KS_E* with the message in ks_error_last().
 */
#ifndef KS_RENDERER_TEMPLATE_H
#define KS_RENDERER_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "renderer/tplfunc.h"

struct ks_tpl_set; /* opaque */

struct ks_tpl_limits {
    size_t max_source;     /* bytes of one template text (add/tpl); KS_ELIMIT */
    size_t max_output;     /* bytes one top-level execution may write; each
                              include/tpl result buffer has the same cap */
    uint64_t max_steps;    /* evaluation steps (nodes walked, commands run,
                              range iterations) per top-level execution */
    int max_include_depth; /* Helm's recursionMaxNums: nested include of one
                              name beyond this fails as Helm does (1000) */
    int max_depth;         /* total nesting of template/include/tpl calls
                              (protects the C stack); KS_ELIMIT */
    int max_parse_depth;   /* nesting of blocks and parentheses in one text */
};

/* Fills in the defaults: 4 MiB source, 64 MiB output, 50M steps, include
 * depth 1000, total depth 1500, parse depth 200. */
void ks_tpl_limits_default(struct ks_tpl_limits *out);

enum ks_tpl_flags {
    KS_TPL_STRICT = 1, /* missingkey=error (helm --strict / lint --strict) */
    KS_TPL_HELM = 2,   /* Helm's <no value> removal and error rewriting */
};

/* Go's builtin functions (and, or, not, len, index, slice, print, printf,
 * println, eq, ne, lt, le, gt, ge, html, js, urlquery, call), provided by
 * the engine; always present at the lowest priority. NULL-name terminated. */
extern const struct ks_tpl_func_def ks_tpl_funcs_builtin[];

/* Creates an empty set. limits NULL = defaults (copied). tables: ntables
 * NULL-name-terminated function tables (borrowed: they must outlive the
 * set; normally static); a name in a later table overrides an earlier one
 * and the builtins. The renderer passes ks_tpl_funcs_strings, _lists,
 * _dicts, _math, _encoding, _misc. *out is freed with ks_tpl_set_free(). */
int ks_tpl_set_new(struct ks_tpl_set **out, const struct ks_tpl_limits *limits, unsigned flags,
                   const struct ks_tpl_func_def *const *tables, size_t ntables);
void ks_tpl_set_free(struct ks_tpl_set *set); /* NULL-safe */

/* Parses text[0..len) as the template called name (a file name such as
 * "mychart/templates/x.yaml"; copied) and adds it and its define/block
 * definitions to the set, replacing earlier ones of the same names. text
 * is copied. On a parse error nothing is added and the message is Go's
 * "template: NAME:LINE: msg" (Helm form with KS_TPL_HELM). */
int ks_tpl_set_add(struct ks_tpl_set *set, const char *name, const char *text, size_t len);

/* 1 when a template of that name (file or define) exists, else 0. */
int ks_tpl_set_has(const struct ks_tpl_set *set, const char *name);

/* Executes the named template with dot (borrowed; may be NULL = Go's nil
 * data) appending the output to out (the caller's buffer and its own cap;
 * the engine also enforces limits.max_output). With KS_TPL_HELM "<no
 * value>" is removed from what this call appended. On error out may hold
 * partial output; the message is Go's (or Helm's) error text. Dot values
 * may be mutated by Sprig's set/unset/merge as in Go. */
int ks_tpl_execute(struct ks_buf *out, struct ks_tpl_set *set, const char *name, json_t *dot);

/* Sorts names (borrowed pointers, reordered in place) into Helm's parse
 * order (engine.go sortTemplates): descending count of '/', ties in
 * descending byte order. */
void ks_tpl_sort_helm(const char **names, size_t n);

/*
 * Host objects: Go values with methods that templates reach through field
 * syntax (.Files.Get "x", .Capabilities.APIVersions.Has "v1",
 * (semver "1.2.3").Major). A host object is a json_object registered with
 * the set: its plain members are what printing and toYaml/toJson see (e.g.
 * KubeVersion's {"Version","Major","Minor","GitVersion"}), and field access
 * first looks for a method of its type (as Go does), then for a member.
 * The registration is keyed by the json_t's identity, so user data can
 * never collide with it; a deep copy of a host object is a plain object.
 * fmt printing (%v, %s, print, the value of an action) uses type->string
 * when present (Go's fmt.Stringer), else prints the members as a map.
 */
struct ks_tpl_method {
    const char *name; /* Go method name, e.g. "Get", "AsConfig", "Major" */
    /* self is the registered pointer; args borrowed; *out a new reference. */
    int (*fn)(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
              size_t nargs);
    int min_args;
    int max_args; /* -1 = variadic */
};

struct ks_tpl_host_type {
    const char *go_type;                           /* for %T and messages: "*semver.Version" */
    const struct ks_tpl_method *methods;           /* NULL-name terminated; may be NULL */
    int (*string)(struct ks_buf *out, void *self); /* optional String() */
    void (*release)(void *self);                   /* optional; called when the set is freed */
    /* 1 for a Go struct type (time.Time, *semver.Version, *chart.Metadata,
     * *chartutil.Capabilities): same as registering every object of the type
     * with KS_TPL_HOST_STRUCT (see ks_tpl_host_new_flags). */
    int is_struct;
};

/* Registers a new host object. fields: a json_object whose reference is
 * stolen (NULL = new empty object); it becomes the host object returned in
 * *out (a new reference for the caller). type is borrowed (static); self is
 * owned by the set from now on (type->release at ks_tpl_set_free, also on
 * failure here). The registration lives as long as the set. */
int ks_tpl_host_new(json_t **out, struct ks_tpl_set *set, const struct ks_tpl_host_type *type,
                    void *self, json_t *fields);
/* Same, with flags: KS_TPL_HOST_STRUCT marks a Go struct (e.g.
 * *chart.Metadata, *chartutil.Capabilities, chartutil.KubeVersion): its
 * members are fields, so a missing one fails as Go reports it ("can't
 * evaluate field Foo in type interface {}") instead of giving nil as a map
 * does. ks_tpl_host_new() is this with flags 0 (map semantics). */
enum { KS_TPL_HOST_STRUCT = 1 };
int ks_tpl_host_new_flags(json_t **out, struct ks_tpl_set *set, const struct ks_tpl_host_type *type,
                          void *self, json_t *fields, unsigned flags);
/* Same from inside a function call (semver, Files.Glob results...). */
int ks_tpl_call_host_new(json_t **out, struct ks_tpl_call *call,
                         const struct ks_tpl_host_type *type, void *self, json_t *fields);
/* The self pointer of v when v is a host object of type type (NULL = any
 * type), else NULL. Borrowed. */
void *ks_tpl_call_host_self(struct ks_tpl_call *call, const json_t *v,
                            const struct ks_tpl_host_type *type);

/* Go's int64. Helm's --set values (strvals) and Sprig's int64 give int64
 * where the rest of the engine's integers are Go ints; only the type name
 * differs (%T, typeOf, kindOf, "%!d(int64=5)"). Marks the json_integer v
 * (the set keeps a reference to it for its lifetime) so that
 * ks_gofmt_type_name() reports "int64" while this set executes. */
int ks_tpl_mark_int64(struct ks_tpl_set *set, json_t *v);
int ks_tpl_call_mark_int64(struct ks_tpl_call *call, json_t *v);

/* Helm's `fail` and `required` failure: an error that KS_TPL_HELM turns
 * into "execution error at (file:line:col): msg". Returns KS_EINVALID. */
int ks_tpl_call_fail(struct ks_tpl_call *call, const char *msg);

/* The name of the template being executed (Go's s.tmpl.Name()); borrowed. */
const char *ks_tpl_call_template_name(const struct ks_tpl_call *call);

/*
 * Function errors (tplfunc.h): a function that fails calls
 * ks_tpl_call_error() and returns its result. A function may also return a
 * negative code after only ks_error_set() (or after ks_tpl_call_include /
 * ks_tpl_call_tpl failed): the engine then wraps ks_error_last() as Go does,
 * "...: error calling NAME: <message>".
 */

#endif
