/*
 * encoding.c: encodings, hashes and Helm's serialisation functions:
 * b64enc/b64dec, b32enc/b32dec (Go's padded standard alphabets, with Go's
 * "illegal base64 data at input byte N" returned as the result, as Sprig
 * does), sha1sum/sha256sum/sha512sum/adler32sum, and thin wrappers over
 * goenc.h for toYaml/toJson/fromYaml/fromJson and friends. Helm swallows
 * encoding errors (toYaml gives "", fromYaml a map with an "Error" key);
 * the must* variants report them.
 */
#include "renderer/funcs/funcs.h"
#include "renderer/funcs/libcrypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/digest.h"
#include "core/error.h"
#include "renderer/goenc.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Encodes with a padded alphabet of 2^bits symbols (6: base64, 5: base32). */
static void encode_bits(struct ks_buf *b, const unsigned char *s, size_t n, const char *alpha,
                        int bits, size_t group)
{
    uint32_t acc = 0;
    int have = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | s[i];
        have += 8;
        while (have >= bits) {
            have -= bits;
            ks_buf_putc(b, alpha[(acc >> have) & ((1u << bits) - 1)]);
            count++;
        }
        acc &= (1u << have) - 1;
    }
    if (have > 0) {
        ks_buf_putc(b, alpha[(acc << (bits - have)) & ((1u << bits) - 1)]);
        count++;
    }
    while (count % group)
        ks_buf_putc(b, '='), count++;
}

static int symbol(const char *alpha, char c)
{
    const char *p = c ? strchr(alpha, c) : NULL;
    return p ? (int)(p - alpha) : -1;
}

/* Go's base64.StdEncoding / base32.StdEncoding DecodeString: \r and \n are
 * skipped; a quantum is 4 (8) symbols; padding must complete it. Returns
 * -1 on success or the byte offset Go's CorruptInputError names. */
static long long decode_bits(struct ks_buf *b, const char *s, size_t n, const char *alpha, int bits,
                             size_t group)
{
    size_t si = 0;
    while (si < n) {
        uint64_t acc = 0;
        size_t j = 0;
        for (; j < group; j++) {
            while (si < n && (s[si] == '\n' || s[si] == '\r'))
                si++;
            if (si == n) {
                if (j == 0)
                    return -1;
                return (long long)(si - j);
            }
            char c = s[si++];
            int v = symbol(alpha, c);
            if (v >= 0) {
                acc = (acc << bits) | (uint64_t)v;
                continue;
            }
            if (c != '=')
                return (long long)(si - 1);
            /* padding: the rest of the quantum must be '=' */
            size_t min_sym = bits == 6 ? 2 : 2;
            if (j < min_sym || (bits == 5 && j != 2 && j != 4 && j != 5 && j != 7))
                return (long long)(si - 1);
            for (size_t k = j + 1; k < group; k++) {
                while (si < n && (s[si] == '\n' || s[si] == '\r'))
                    si++;
                if (si == n)
                    return (long long)n;
                if (s[si] != '=')
                    return (long long)si;
                si++;
            }
            while (si < n && (s[si] == '\n' || s[si] == '\r'))
                si++;
            size_t keep = j * (size_t)bits / 8;
            acc <<= (group - j) * (size_t)bits;
            for (size_t k = 0; k < keep; k++)
                ks_buf_putc(b, (char)(acc >> ((group * (size_t)bits) - 8 * (k + 1))));
            if (si < n)
                return (long long)si;
            return -1;
        }
        for (size_t k = 0; k < group * (size_t)bits / 8; k++)
            ks_buf_putc(b, (char)(acc >> ((group * (size_t)bits) - 8 * (k + 1))));
    }
    return -1;
}

long long ks_funcs_b64_decode(struct ks_buf *out, const char *s, size_t n)
{
    return decode_bits(out, s, n, B64, 6, 4);
}

static int codec(json_t **out, struct ks_tpl_call *call, const json_t *arg, bool b64, bool enc)
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (enc) {
        encode_bits(&b, (const unsigned char *)s, n, b64 ? B64 : B32, b64 ? 6 : 5, b64 ? 4 : 8);
    } else {
        long long bad = decode_bits(&b, s, n, b64 ? B64 : B32, b64 ? 6 : 5, b64 ? 4 : 8);
        if (bad >= 0) {
            ks_buf_reset(&b);
            ks_buf_printf(&b, "illegal %s data at input byte %lld", b64 ? "base64" : "base32", bad);
        }
    }
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_b64enc)
{
    return codec(out, call, args[0], true, true);
}

FN(fn_b64dec)
{
    return codec(out, call, args[0], true, false);
}

FN(fn_b32enc)
{
    return codec(out, call, args[0], false, true);
}

FN(fn_b32dec)
{
    return codec(out, call, args[0], false, false);
}

/* md is called after libcrypto is loaded (sha1sum, sha512sum). */
static int digest_hex(json_t **out, struct ks_tpl_call *call, const json_t *arg,
                      const EVP_MD *(*md)(void))
{
    const char *s;
    size_t n;
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    if (!EVP_Digest(s, n, dig, &dn, md(), NULL))
        return ks_tpl_call_error(call, KS_ERROR, "digest failed");
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < dn; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return ks_funcs_ret_str(out, call, hex, 2 * (size_t)dn);
}

static const EVP_MD *md_sha1(void)
{
    return EVP_sha1();
}

static const EVP_MD *md_sha512(void)
{
    return EVP_sha512();
}

FN(fn_sha1sum)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    return digest_hex(out, call, args[0], md_sha1);
}

/* core's own SHA-256: the common checksum annotation needs no libcrypto */
FN(fn_sha256sum)
{
    const char *s;
    size_t n;
    char hex[65];
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    if (ks_sha256_hex(hex, s, n))
        return ks_tpl_call_error(call, KS_ERROR, "digest failed");
    return ks_funcs_ret_str(out, call, hex, 64);
}

FN(fn_sha512sum)
{
    if (ks_libcrypto_load(call))
        return KS_ERROR;
    return digest_hex(out, call, args[0], md_sha512);
}

FN(fn_adler32sum)
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + (unsigned char)s[i]) % 65521;
        b = (b + a) % 65521;
    }
    char tmp[16];
    int len = snprintf(tmp, sizeof(tmp), "%u", (b << 16) | a);
    return ks_funcs_ret_str(out, call, tmp, (size_t)len);
}

/* toYaml: sigs.k8s.io/yaml.Marshal minus one trailing newline; errors
 * give "" (Helm swallows them). */
static int to_yaml(json_t **out, struct ks_tpl_call *call, const json_t *v,
                   int (*marshal)(struct ks_buf *, const json_t *))
{
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    int rc = marshal(&b, v);
    if (rc == KS_ENOMEM || ks_buf_error(&b) == KS_ENOMEM) {
        ks_buf_release(&b);
        return ks_funcs_nomem(call);
    }
    if (rc || ks_buf_error(&b))
        ks_buf_reset(&b);
    else if (b.len && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_to_yaml)
{
    return to_yaml(out, call, args[0], ks_goyaml_marshal);
}

/* toYamlPretty: go-yaml v3's encoder, indent 2, one trailing newline trimmed. */
FN(fn_to_yaml_pretty)
{
    return to_yaml(out, call, args[0], ks_goyaml3_marshal);
}

/* mode: 0 compact, 1 pretty (MarshalIndent), 2 raw (no HTML escaping).
 * must: report errors instead of returning "". */
static int to_json(json_t **out, struct ks_tpl_call *call, const json_t *v, int mode, bool must)
{
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    int rc = ks_gojson_marshal_opts(&b, v, mode != 2, mode == 1);
    if (rc == KS_ENOMEM || ks_buf_error(&b) == KS_ENOMEM) {
        ks_buf_release(&b);
        return ks_funcs_nomem(call);
    }
    if (rc || ks_buf_error(&b)) {
        ks_buf_release(&b);
        if (must)
            return ks_tpl_call_error(call, rc ? rc : KS_ELIMIT, "%s", ks_error_last());
        return ks_funcs_ret_str(out, call, "", 0);
    }
    return ks_funcs_ret_buf(out, call, &b);
}

FN(fn_to_json)
{
    return to_json(out, call, args[0], 0, false);
}

FN(fn_must_to_json)
{
    return to_json(out, call, args[0], 0, true);
}

FN(fn_to_pretty_json)
{
    return to_json(out, call, args[0], 1, false);
}

FN(fn_must_to_pretty_json)
{
    return to_json(out, call, args[0], 1, true);
}

FN(fn_to_raw_json)
{
    return to_json(out, call, args[0], 2, false);
}

FN(fn_must_to_raw_json)
{
    return to_json(out, call, args[0], 2, true);
}

/* encoding/json's name for a decoded value's kind in UnmarshalTypeError. */
static const char *json_kind(const json_t *v)
{
    if (json_is_object(v))
        return "object";
    if (json_is_array(v))
        return "array";
    if (json_is_string(v))
        return "string";
    if (json_is_boolean(v))
        return "bool";
    return "number";
}

/* Builds Helm's failure value: {"Error": msg} or [msg]. */
static int error_value(json_t **out, struct ks_tpl_call *call, bool want_object, const char *msg)
{
    json_t *m = json_string(msg);
    if (!m)
        m = json_stringn_nocheck(msg, strlen(msg));
    if (!m)
        return ks_funcs_nomem(call);
    return ks_funcs_ret(out, call,
                        want_object ? json_pack("{s:o}", "Error", m) : json_pack("[o]", m));
}

/* Rewrites the parser's "L:C: problem (while parsing|scanning ... started
 * at line CL column CC)" as go-yaml v2 words it inside sigs.k8s.io/yaml's
 * "error converting YAML to JSON: yaml: line N: problem": parser errors
 * name the 0-based problem line (else the context's), scanner errors the
 * 1-based one when it is not the first line; line 0 is left out. */
static void go_yaml_error(char *msg, size_t cap, const char *err)
{
    static const char prefix[] = "error converting YAML to JSON: ";
    long l = 0, cl = 0;
    if (strncmp(err, prefix, sizeof(prefix) - 1) == 0) { /* already in Go's words */
        snprintf(msg, cap, "%s", err);
        return;
    }
    char *end = NULL;
    l = strtol(err, &end, 10);
    if (!end || end == err || *end != ':' || !strchr(end + 1, ':')) {
        snprintf(msg, cap, "%s%s%s", prefix, strncmp(err, "yaml: ", 6) ? "yaml: " : "", err);
        return;
    }
    const char *problem = strchr(end + 1, ':') + 1;
    while (*problem == ' ')
        problem++;
    const char *ctx = strstr(problem, " (while ");
    size_t plen = ctx ? (size_t)(ctx - problem) : strlen(problem);
    bool scanning = ctx && strncmp(ctx, " (while scanning", 16) == 0;
    const char *at = ctx ? strstr(ctx, "started at line ") : NULL;
    if (at)
        cl = strtol(at + 16, NULL, 10);
    long line;
    if (ctx && !scanning)
        line = l - 1 != 0 ? l - 1 : cl - 1;
    else
        line = l - 1 != 0 ? l : (ctx ? cl - 1 : 0);
    char anchor[256];
    const char *alias = strstr(problem, "YAML alias '*");
    if (alias && sscanf(alias, "YAML alias '*%255[^']' names no anchor", anchor) == 1) {
        snprintf(msg, cap, "%syaml: unknown anchor '%s' referenced", prefix, anchor);
        return;
    }
    if (strncmp(problem, "yaml: ", 6) == 0) /* decoding errors carry no line */
        snprintf(msg, cap, "%s%.*s", prefix, (int)plen, problem);
    else if (line > 0)
        snprintf(msg, cap, "%syaml: line %ld: %.*s", prefix, line, (int)plen, problem);
    else
        snprintf(msg, cap, "%syaml: %.*s", prefix, (int)plen, problem);
}

/* fromYaml / fromYamlArray: sigs.k8s.io/yaml.Unmarshal into a map or a
 * list; failures become the value's content, as in Helm. */
static int from_yaml(json_t **out, struct ks_tpl_call *call, const json_t *arg, bool want_object)
{
    const char *s;
    size_t n;
    json_t *v = NULL;
    char msg[1024];
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    rc = ks_helmyaml_parse(&v, s, n, NULL, 0);
    if (rc == KS_ENOMEM)
        return ks_funcs_nomem(call);
    if (rc) {
        go_yaml_error(msg, sizeof(msg), ks_error_last());
        return error_value(out, call, want_object, msg);
    }
    if (json_is_null(v)) {
        json_decref(v);
        return ks_funcs_ret(out, call, want_object ? json_object() : json_array());
    }
    if (want_object ? !json_is_object(v) : !json_is_array(v)) {
        snprintf(msg, sizeof(msg),
                 "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go "
                 "value of type %s",
                 json_kind(v), want_object ? "map[string]interface {}" : "[]interface {}");
        json_decref(v);
        return error_value(out, call, want_object, msg);
    }
    *out = v;
    return 0;
}

FN(fn_from_yaml)
{
    return from_yaml(out, call, args[0], true);
}

FN(fn_from_yaml_array)
{
    return from_yaml(out, call, args[0], false);
}

/* Go's quoteChar for error messages. */
static void quote_char(char *dst, size_t cap, unsigned char c)
{
    if (c == '\'')
        snprintf(dst, cap, "'\\''");
    else if (c == '"')
        snprintf(dst, cap, "'\"'");
    else if (c >= 0x20 && c < 0x7F)
        snprintf(dst, cap, "'%c'", c);
    else
        snprintf(dst, cap, "'\\x%02x'", c);
}

/* encoding/json.Unmarshal into interface{}: numbers are float64. The
 * error text follows Go's for the common cases. */
static int parse_json(json_t **out, char *msg, size_t cap, const char *s, size_t n)
{
    json_error_t err;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    if (i == n) {
        snprintf(msg, cap, "unexpected end of JSON input");
        return KS_EINVALID;
    }
    if (!strchr("{[\"-0123456789tfn", s[i])) {
        char q[16];
        quote_char(q, sizeof(q), (unsigned char)s[i]);
        snprintf(msg, cap, "invalid character %s looking for beginning of value", q);
        return KS_EINVALID;
    }
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);
    if (!v) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return KS_ENOMEM;
        if (json_error_code(&err) == json_error_premature_end_of_input)
            snprintf(msg, cap, "unexpected end of JSON input");
        else
            snprintf(msg, cap, "%s", err.text);
        return KS_EINVALID;
    }
    *out = v;
    return 0;
}

static int from_json(json_t **out, struct ks_tpl_call *call, const json_t *arg, int mode)
{
    const char *s;
    size_t n;
    json_t *v = NULL;
    char msg[512];
    int rc = ks_funcs_arg_str(&s, &n, call, arg);
    if (rc)
        return rc;
    rc = parse_json(&v, msg, sizeof(msg), s, n);
    if (rc == KS_ENOMEM)
        return ks_funcs_nomem(call);
    if (mode == 2) { /* mustFromJson: any value, errors reported */
        if (rc)
            return ks_tpl_call_error(call, rc, "%s", msg);
        *out = v;
        return 0;
    }
    bool want_object = mode == 0;
    if (rc)
        return error_value(out, call, want_object, msg);
    if (json_is_null(v)) {
        json_decref(v);
        return ks_funcs_ret(out, call, want_object ? json_object() : json_array());
    }
    if (want_object ? !json_is_object(v) : !json_is_array(v)) {
        snprintf(msg, sizeof(msg), "json: cannot unmarshal %s into Go value of type %s",
                 json_kind(v), want_object ? "map[string]interface {}" : "[]interface {}");
        json_decref(v);
        return error_value(out, call, want_object, msg);
    }
    *out = v;
    return 0;
}

FN(fn_from_json)
{
    return from_json(out, call, args[0], 0);
}

FN(fn_from_json_array)
{
    return from_json(out, call, args[0], 1);
}

FN(fn_must_from_json)
{
    return from_json(out, call, args[0], 2);
}

const struct ks_tpl_func_def ks_tpl_funcs_encoding[] = {
    {"b64enc", fn_b64enc, 1, 1},
    {"b64dec", fn_b64dec, 1, 1},
    {"b32enc", fn_b32enc, 1, 1},
    {"b32dec", fn_b32dec, 1, 1},
    {"sha1sum", fn_sha1sum, 1, 1},
    {"sha256sum", fn_sha256sum, 1, 1},
    {"sha512sum", fn_sha512sum, 1, 1},
    {"adler32sum", fn_adler32sum, 1, 1},
    {"toYaml", fn_to_yaml, 1, 1},
    {"toYamlPretty", fn_to_yaml_pretty, 1, 1},
    {"toJson", fn_to_json, 1, 1},
    {"mustToJson", fn_must_to_json, 1, 1},
    {"toPrettyJson", fn_to_pretty_json, 1, 1},
    {"mustToPrettyJson", fn_must_to_pretty_json, 1, 1},
    {"toRawJson", fn_to_raw_json, 1, 1},
    {"mustToRawJson", fn_must_to_raw_json, 1, 1},
    {"fromYaml", fn_from_yaml, 1, 1},
    {"fromYamlArray", fn_from_yaml_array, 1, 1},
    {"fromJson", fn_from_json, 1, 1},
    {"fromJsonArray", fn_from_json_array, 1, 1},
    {"mustFromJson", fn_must_from_json, 1, 1},
    {"toToml", ks_funcs_to_toml, 1, 1},
    {"fromToml", ks_funcs_from_toml, 1, 1},
    {NULL, NULL, 0, 0},
};
