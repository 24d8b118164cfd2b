/*
 * goenc_parse.c: Helm's way of reading YAML (sigs.k8s.io/yaml.Unmarshal into
 * interface{}), built on the core libyaml parser with a go-yaml v2 resolver.
 *
 * sigs.k8s.io/yaml lets go-yaml v2 decode the document (YAML 1.1 words such
 * as yes/no/on/off are bools, 0777 is octal, timestamps stay strings), turns
 * map keys of other types into strings, marshals the result to JSON and
 * decodes that with encoding/json. So every number ends up a float64
 * (json_real here), NaN and infinities are an error, and keys such as `1`,
 * `0x1F` or `yes` become "1", "31" and "true". Later duplicate keys win, as
 * in go-yaml v2's non-strict Unmarshal.
 */
#include "renderer/goenc.h"

#include "core/error.h"
#include "core/yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Short name of a standard tag ("str" for "!!str" or the long form), or
 * NULL for a non-standard or absent tag. */
static const char *std_tag(const char *tag)
{
    if (!tag)
        return NULL;
    if (strncmp(tag, "!!", 2) == 0)
        return tag + 2;
    if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
        return tag + strlen(TAG_PREFIX);
    return NULL;
}

/* Value of a resolved scalar after the JSON round trip. */
static json_t *json_trip(json_t *v)
{
    if (json_is_integer(v)) {
        json_t *r = json_real((double)json_integer_value(v));
        json_decref(v);
        return r;
    }
    return v;
}

/* A resolved key as sigs.k8s.io/yaml turns it into a JSON object key. */
static json_t *key_string(json_t *v, const struct ks_yaml_scalar *sc)
{
    json_t *out = NULL;
    struct ks_buf b;
    ks_buf_init(&b, 0);
    switch (json_typeof(v)) {
    case JSON_STRING:
        out = json_incref(v);
        break;
    case JSON_INTEGER:
        ks_buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        double f = json_real_value(v);
        /* integers beyond int64 are uint64 keys, which sigs.k8s.io/yaml
         * refuses (measured with helm 3.17) */
        if (sc->plain && !sc->tag && ks_goyaml_plain_is_uint64(sc->text, sc->len)) {
            ks_error_set_at(KS_EINVALID, &sc->pos,
                            "error converting YAML to JSON: unsupported map key of type: uint64, "
                            "key: %.80s",
                            sc->text);
            goto done;
        }
        ks_goyaml_format_float32(&b, f);
        break;
    }
    case JSON_TRUE:
        ks_buf_puts(&b, "true");
        break;
    case JSON_FALSE:
        ks_buf_puts(&b, "false");
        break;
    default:
        ks_error_set_at(KS_EINVALID, &sc->pos,
                        "error converting YAML to JSON: unsupported map key of type: %%!s(<nil>), "
                        "key: <nil>");
        goto done;
    }
    if (!out) {
        if (ks_buf_error(&b))
            goto done;
        out = json_stringn(b.data, b.len);
    }
done:
    ks_buf_release(&b);
    json_decref(v);
    return out;
}

static json_t *resolve_tagged(const struct ks_yaml_scalar *sc, const char *tag)
{
    json_t *v = ks_goyaml_resolve_plain(sc->text, sc->len);
    if (!v)
        return NULL;
    bool ok = false;
    if (strcmp(tag, "int") == 0)
        ok = json_is_integer(v);
    else if (strcmp(tag, "float") == 0)
        ok = json_is_number(v);
    else if (strcmp(tag, "bool") == 0)
        ok = json_is_boolean(v);
    else if (strcmp(tag, "null") == 0)
        ok = json_is_null(v);
    else if (strcmp(tag, "timestamp") == 0)
        ok = true; /* decoded into interface{} a timestamp stays its text */
    if (ok && strcmp(tag, "timestamp") == 0) {
        json_decref(v);
        return json_stringn(sc->text, sc->len);
    }
    if (!ok) {
        const char *got = json_is_string(v)    ? "!!str"
                          : json_is_integer(v) ? "!!int"
                          : json_is_number(v)  ? "!!float"
                          : json_is_boolean(v) ? "!!bool"
                                               : "!!null";
        json_decref(v);
        ks_error_set_at(KS_EINVALID, &sc->pos, "yaml: cannot decode %s `%.80s` as a !!%s", got,
                        sc->text, tag);
        return NULL;
    }
    return v;
}

/* .inf/.nan: jansson cannot hold them; as keys they become ".inf" etc., as
 * values they stop the JSON step as they do in Helm. */
static json_t *special_float(const struct ks_yaml_scalar *sc, double f)
{
    if (sc->is_key)
        return json_string(isnan(f) ? ".nan" : f > 0 ? ".inf" : "-.inf");
    ks_error_set_at(KS_EINVALID, &sc->pos,
                    "error converting YAML to JSON: json: unsupported value: %s",
                    isnan(f) ? "NaN"
                    : f > 0  ? "+Inf"
                             : "-Inf");
    return NULL;
}

static json_t *helm_resolver(void *ctx, const struct ks_yaml_scalar *sc)
{
    (void)ctx;
    json_t *v = NULL;
    double special;
    const char *tag = std_tag(sc->tag);
    bool may_type = !sc->tag ? sc->plain : tag && strcmp(tag, "str") != 0;
    if (may_type && ks_goyaml_plain_special_float(sc->text, sc->len, &special))
        return special_float(sc, special);
    if (sc->tag && (!tag || strcmp(tag, "str") == 0 || strcmp(tag, "binary") == 0)) {
        /* !!str, the non-specific "!" and unknown tags keep the text */
        v = json_stringn(sc->text, sc->len);
    } else if (tag) {
        v = resolve_tagged(sc, tag);
    } else if (!sc->plain) {
        v = json_stringn(sc->text, sc->len);
    } else {
        v = ks_goyaml_resolve_plain(sc->text, sc->len);
    }
    if (!v) {
        if (!ks_error_last_code())
            ks_error_set(KS_ENOMEM, "out of memory");
        return NULL;
    }
    return sc->is_key ? key_string(v, sc) : json_trip(v);
}

/* libyaml problems that the scanner reports without a "while scanning"
 * context; go-yaml counts scanner error lines one higher. */
static bool scanner_problem(const char *problem, const char *context)
{
    return (context && strncmp(context, "while scanning", 14) == 0) ||
           strncmp(problem, "mapping values are not allowed", 30) == 0 ||
           strncmp(problem, "block sequence entries are not allowed", 38) == 0;
}

/* Rewrites the core parser's "L:C: problem (CTX started at line X column Y)"
 * into the text Helm's fromYaml shows: "error converting YAML to JSON:
 * yaml: line N: problem", with go-yaml's way of choosing N (the problem's
 * 0-based line, +1 for scanner errors, else the context's, else none). */
static void helm_error_text(void)
{
    static const char prefix[] = "error converting YAML to JSON: ";
    char msg[2048];
    snprintf(msg, sizeof(msg), "%s", ks_error_last());
    int code = ks_error_last_code();
    int line = 0, col = 0, n = 0;
    const char *rest = msg;
    if (sscanf(msg, "%d:%d: %n", &line, &col, &n) == 2 && n > 0)
        rest = msg + n;
    else
        line = 0;
    if (strncmp(rest, prefix, strlen(prefix)) == 0) {
        ks_error_set(code, "%s", rest);
        return;
    }
    if (strncmp(rest, "yaml: ", 6) == 0) {
        ks_error_set(code, "%s%s", prefix, rest);
        return;
    }
    char name[256];
    if (sscanf(rest, "YAML alias '*%255[^']' names no anchor", name) == 1) {
        ks_error_set(code, "%syaml: unknown anchor '%s' referenced", prefix, name);
        return;
    }
    char problem[1024], context[512] = "";
    int cline = 0, ccol = 0;
    const char *paren = strstr(rest, " (");
    size_t plen = paren ? (size_t)(paren - rest) : strlen(rest);
    snprintf(problem, sizeof(problem), "%.*s", (int)plen, rest);
    if (paren && sscanf(paren, " (%511[^)]", context) == 1) {
        char *at = strstr(context, " started at line ");
        if (at && sscanf(at, " started at line %d column %d", &cline, &ccol) == 2)
            *at = '\0';
    }
    int goline = 0;
    if (line > 1)
        goline = line - 1 + (scanner_problem(problem, context) ? 1 : 0);
    else if (cline > 1)
        goline = cline - 1;
    if (goline > 0)
        ks_error_set(code, "%syaml: line %d: %s", prefix, goline, problem);
    else
        ks_error_set(code, "%syaml: %s", prefix, problem);
}

/* Byte offset of the line where the core parser met a second document
 * ("...:LINE:COL: YAML document count limit of 1 exceeded"), or 0. */
static size_t second_document_offset(const char *text, size_t len)
{
    const char *msg = ks_error_last();
    const char *tail = strstr(msg, ": YAML document count limit");
    if (!tail)
        return 0;
    const char *p = tail;
    int colons = 0;
    while (p > msg && colons < 2) {
        p--;
        if (*p == ':')
            colons++;
    }
    int line = 0, col = 0;
    if (sscanf(colons == 2 ? p + 1 : p, "%d:%d", &line, &col) != 2 || line < 1)
        return 0;
    size_t off = 0;
    for (int l = 1; l < line && off < len; off++)
        if (text[off] == '\n')
            l++;
    off += col > 1 ? (size_t)(col - 1) : 0;
    return off <= len ? off : 0;
}

static const char *go_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "number";
    }
}

int ks_helmyaml_parse(json_t **out, const char *text, size_t len, const char *file, int want_object)
{
    json_t *docs = NULL;
    json_t *doc = NULL;
    struct ks_yaml_parse_opts opts = {
        .file = file,
        .resolver = helm_resolver,
        .allow_duplicate_keys = true,
    };
    ks_error_clear();
    opts.max_documents = 1;
    int rc = ks_yaml_parse_stream(&docs, text, len, &opts);
    size_t cut = rc == KS_ELIMIT ? second_document_offset(text, len) : 0;
    if (cut > 0) {
        /* yaml.Unmarshal reads the first document only: what follows the
         * second document's start is never looked at, not even for syntax */
        ks_error_clear();
        rc = ks_yaml_parse_stream(&docs, text, cut, &opts);
    }
    if (rc) {
        /* without a file (fromYaml) the text is template output: Helm's */
        if (!file && rc == KS_EINVALID)
            helm_error_text();
        goto done;
    }
    /* yaml.Unmarshal reads the first document only */
    doc = json_array_size(docs) > 0 ? json_incref(json_array_get(docs, 0)) : json_null();
    if (want_object) {
        if (json_is_null(doc)) {
            json_decref(doc);
            doc = json_object();
        } else if (!json_is_object(doc)) {
            rc = ks_error_set(KS_EINVALID,
                              "%s%serror unmarshaling JSON: while decoding JSON: json: cannot "
                              "unmarshal %s into Go value of type map[string]interface {}",
                              file ? file : "", file ? ": " : "", go_kind(doc));
            goto done;
        }
    }
    if (!doc) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = doc;
    doc = NULL;
done:
    json_decref(doc);
    json_decref(docs);
    return rc;
}
