/*
 * funcs.h: private helpers shared by the template function library
 * (renderer/funcs/): Go's argument typing rules for typed parameters
 * ("wrong type for value; expected string; got float64"), Sprig's value
 * conversions (strval, strslice, cast.ToInt64/ToFloat64, empty), result
 * construction and Go-style panics reported as errors. Keeping them in one
 * place makes every function apply exactly the same rules.
 */
#ifndef KS_RENDERER_FUNCS_FUNCS_H
#define KS_RENDERER_FUNCS_FUNCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "renderer/tplfunc.h"

/* Largest string any function builds (repeat, indent, toYaml...). */
#define KS_FUNCS_MAX_OUTPUT ((size_t)64 * 1024 * 1024)
/* Largest list any function builds (until, seq, chunk...). */
#define KS_FUNCS_MAX_LIST ((size_t)1000000)

/* Go's static type name of a value as reflect prints it ("string", "int",
 * "float64", "bool", "[]interface {}", "map[string]interface {}", and
 * "interface {}" for nil, which is what a nil map entry is). */
const char *ks_funcs_gotype(const json_t *v);
/* reflect.Kind name ("string", "int", "float64", "bool", "slice", "map",
 * "invalid" for nil). */
const char *ks_funcs_gokind(const json_t *v);

/* Typed parameters: Go's text/template refuses a value whose type is not
 * assignable and reports "wrong type for value; expected T; got U". */
int ks_funcs_arg_str(const char **out, size_t *out_len, struct ks_tpl_call *call, const json_t *v);
int ks_funcs_arg_int(long long *out, struct ks_tpl_call *call, const json_t *v);
int ks_funcs_arg_bool(bool *out, struct ks_tpl_call *call, const json_t *v);
/* map[string]interface{} parameter; nil is refused like Go does. */
int ks_funcs_arg_map(json_t **out, struct ks_tpl_call *call, const json_t *v);
/* []interface{} parameter; nil (Go's literal nil, a nil slice) is an
 * empty list, as charts write `genSignedCert "x" nil nil 365 $ca`: *out
 * is then the null itself, which jansson's array accessors see as empty. */
int ks_funcs_arg_list(json_t **out, struct ks_tpl_call *call, const json_t *v);

/* The common argument pairs: (int, string) and (string, string). */
int ks_funcs_args_int_str(long long *i, const char **s, size_t *n, struct ks_tpl_call *call,
                          json_t *const *args);
int ks_funcs_args_str_str(const char **a, size_t *an, const char **b, size_t *bn,
                          struct ks_tpl_call *call, json_t *const *args);

/* Sprig's strval: strings as they are, everything else fmt.Sprint'ed. */
int ks_funcs_strval(struct ks_buf *out, const json_t *v);
/* Sprig's strslice: a list's non-nil items as strings; nil gives [];
 * anything else a one-item list. New reference in *out. */
int ks_funcs_strslice(json_t **out, const json_t *v);

/* cast.ToInt64 / cast.ToFloat64 (errors give 0, as Sprig ignores them). */
int64_t ks_funcs_toint64(const json_t *v);
double ks_funcs_tofloat64(const json_t *v);
/* Go's int64(f) on amd64 (out-of-range gives the minimum int64). */
int64_t ks_funcs_float_to_int64(double f);
/* Sprig's empty(). */
bool ks_funcs_empty(const json_t *v);

/* Results: new json strings that may hold any bytes (Go strings are not
 * required to be UTF-8). Report allocation failure through call. */
int ks_funcs_ret_str(json_t **out, struct ks_tpl_call *call, const char *s, size_t len);
/* Takes the buffer's content (and releases it in every case). */
int ks_funcs_ret_buf(json_t **out, struct ks_tpl_call *call, struct ks_buf *b);
/* Wraps a new value (NULL means allocation failure). */
int ks_funcs_ret(json_t **out, struct ks_tpl_call *call, json_t *v);
int ks_funcs_nomem(struct ks_tpl_call *call);
/* Fills buf with n bytes from the kernel's random source (getrandom):
 * 0, or KS_ERROR with ks_error_set. */
int ks_funcs_random(void *buf, size_t n);
/* Reports a buffer's sticky error (limit or memory). */
int ks_funcs_buf_error(struct ks_tpl_call *call, const struct ks_buf *b);

/* Decodes one UTF-8 rune at s[0..len) like Go's utf8.DecodeRuneInString:
 * invalid input gives U+FFFD with width 1. *width is 0 only when len is 0. */
uint32_t ks_funcs_utf8_decode(const char *s, size_t len, size_t *width);
/* Appends the UTF-8 encoding of r. */
int ks_funcs_utf8_put(struct ks_buf *b, uint32_t r);
/* unicode.IsSpace. */
bool ks_funcs_is_space(uint32_t r);

/* reflect.DeepEqual over the value model (int 1 and float64 1 differ). */
bool ks_funcs_deep_equal(const json_t *a, const json_t *b);

/* Sorts a list of json strings in place by bytes (Go's sort.Strings).
 * 0 or KS_ENOMEM. */
int ks_funcs_sort_strings(json_t *list);

/* Finds a function by name in a NULL-terminated table (tests use it). */
const struct ks_tpl_func_def *ks_funcs_find(const struct ks_tpl_func_def *table, const char *name);

/* base64.StdEncoding.DecodeString into out: -1 on success, else the
 * input offset Go's error names. */
long long ks_funcs_b64_decode(struct ks_buf *out, const char *s, size_t n);

/* Host objects of this library (semver's *semver.Version, time.Time):
 * the Go type name when v is one, else NULL. */
const char *ks_funcs_host_type(struct ks_tpl_call *call, const json_t *v);
const char *ks_funcs_semver_host_type(struct ks_tpl_call *call, const json_t *v);
const char *ks_funcs_time_host_type(struct ks_tpl_call *call, const json_t *v);
const char *ks_funcs_cert_host_type(struct ks_tpl_call *call, const json_t *v);

/* Functions implemented outside the file holding their table. */
#define KS_FUNCS_DECL(name)                                                                        \
    int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
KS_FUNCS_DECL(ks_funcs_semver_compare);
KS_FUNCS_DECL(ks_funcs_semver);
KS_FUNCS_DECL(ks_funcs_uuidv4);
KS_FUNCS_DECL(ks_funcs_rand_alnum);
KS_FUNCS_DECL(ks_funcs_rand_alpha);
KS_FUNCS_DECL(ks_funcs_rand_numeric);
KS_FUNCS_DECL(ks_funcs_rand_ascii);
KS_FUNCS_DECL(ks_funcs_rand_int);
KS_FUNCS_DECL(ks_funcs_shuffle);
KS_FUNCS_DECL(ks_funcs_gen_private_key);
KS_FUNCS_DECL(ks_funcs_gen_ca);
KS_FUNCS_DECL(ks_funcs_gen_self_signed_cert);
KS_FUNCS_DECL(ks_funcs_gen_signed_cert);
KS_FUNCS_DECL(ks_funcs_regex_match);
KS_FUNCS_DECL(ks_funcs_must_regex_match);
KS_FUNCS_DECL(ks_funcs_regex_find);
KS_FUNCS_DECL(ks_funcs_must_regex_find);
KS_FUNCS_DECL(ks_funcs_regex_find_all);
KS_FUNCS_DECL(ks_funcs_must_regex_find_all);
KS_FUNCS_DECL(ks_funcs_regex_replace_all);
KS_FUNCS_DECL(ks_funcs_must_regex_replace_all);
KS_FUNCS_DECL(ks_funcs_regex_replace_literal);
KS_FUNCS_DECL(ks_funcs_must_regex_replace_literal);
KS_FUNCS_DECL(ks_funcs_regex_split);
KS_FUNCS_DECL(ks_funcs_must_regex_split);
KS_FUNCS_DECL(ks_funcs_regex_quote_meta);
KS_FUNCS_DECL(ks_funcs_now);
KS_FUNCS_DECL(ks_funcs_date);
KS_FUNCS_DECL(ks_funcs_date_in_zone);
KS_FUNCS_DECL(ks_funcs_html_date);
KS_FUNCS_DECL(ks_funcs_unix_epoch);
KS_FUNCS_DECL(ks_funcs_ago);
KS_FUNCS_DECL(ks_funcs_duration);
KS_FUNCS_DECL(ks_funcs_to_date);
KS_FUNCS_DECL(ks_funcs_must_to_date);
KS_FUNCS_DECL(ks_funcs_duration_round);
KS_FUNCS_DECL(ks_funcs_date_modify);
KS_FUNCS_DECL(ks_funcs_must_date_modify);
KS_FUNCS_DECL(ks_funcs_build_custom_cert);
KS_FUNCS_DECL(ks_funcs_rand_bytes);
KS_FUNCS_DECL(ks_funcs_encrypt_aes);
KS_FUNCS_DECL(ks_funcs_decrypt_aes);
KS_FUNCS_DECL(ks_funcs_url_parse);
KS_FUNCS_DECL(ks_funcs_url_join);
KS_FUNCS_DECL(ks_funcs_get_host_by_name);
KS_FUNCS_DECL(ks_funcs_to_toml);
KS_FUNCS_DECL(ks_funcs_from_toml);
KS_FUNCS_DECL(ks_funcs_bcrypt);
KS_FUNCS_DECL(ks_funcs_htpasswd);
KS_FUNCS_DECL(ks_funcs_derive_password);
KS_FUNCS_DECL(ks_funcs_path_base);
KS_FUNCS_DECL(ks_funcs_path_dir);
KS_FUNCS_DECL(ks_funcs_path_ext);
KS_FUNCS_DECL(ks_funcs_path_clean);
KS_FUNCS_DECL(ks_funcs_path_is_abs);

#endif
