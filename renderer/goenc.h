/*
 * goenc.h: Helm's encodings of values, reproduced byte for byte.
 *
 * Helm reads YAML with sigs.k8s.io/yaml (go-yaml v2 resolution, then a trip
 * through encoding/json, so every number becomes a float64) and writes it
 * back the same way (toYaml: JSON marshal with sorted keys, then go-yaml v2's
 * emitter with its quoting and 80-column folding rules); toJson is Go's
 * encoding/json. The renderer keeps values as jansson trees: json_real is a
 * Go float64, json_integer a Go int/int64, so these functions decide every
 * detail of typing and formatting that `helm template` output depends on.
 */
#ifndef KS_RENDERER_GOENC_H
#define KS_RENDERER_GOENC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* sigs.k8s.io/yaml.Marshal(v): appends the YAML text (ending in "\n", or
 * "{}\n" / "[]\n" / "null\n" for empty and null values) to out.
 * toYaml in templates is this minus one trailing newline. Fails (and helm's
 * toYaml then prints "") where sigs.k8s.io/yaml fails, e.g. a U+0085 in a
 * map key; out may then hold partial output, to be discarded. */
int ks_goyaml_marshal(struct ks_buf *out, const json_t *v);

/* go-yaml v3's Encoder with SetIndent(2), as Helm's toYamlPretty uses it on
 * the Go value directly (no JSON trip): sequences indented under their key,
 * no folding of long lines, float64 printed as strconv.FormatFloat(f, 'g',
 * -1) ("1e+06"). Same quoting and key order as ks_goyaml_marshal. */
int ks_goyaml3_marshal(struct ks_buf *out, const json_t *v);

/* encoding/json.Marshal(v): compact, sorted keys, <>& escaped as \u003c
 * \u003e \u0026, floats as Go formats them. Appends to out. */
int ks_gojson_marshal(struct ks_buf *out, const json_t *v);

/* Variants: escape_html 0 is Sprig's toRawJson (SetEscapeHTML(false));
 * pretty 1 is json.MarshalIndent(v, "", "  ") (toPrettyJson). */
int ks_gojson_marshal_opts(struct ks_buf *out, const json_t *v, int escape_html, int pretty);

/* Parses YAML the way Helm does for values files, --values, fromYaml and
 * fromYamlArray (sigs.k8s.io/yaml.Unmarshal into interface{}): go-yaml v2
 * typing, numbers as json_real, non-string keys converted to strings.
 * An empty document gives an empty object when
 * want_object is set (values files), else JSON null. file names errors.
 * Duplicate keys are not an error: as in go-yaml v2 the later one wins
 * (also when two keys resolve to the same string, e.g. `on` and `yes`).
 * *out is a new reference. */
int ks_helmyaml_parse(json_t **out, const char *text, size_t len, const char *file,
                      int want_object);

/* Number formatting shared by the encoders (and by anyone printing numbers
 * the way these encodings do). */
/* encoding/json's float64: 'f' for 1e-6 <= |f| < 1e21, else 'e' with the
 * exponent's leading zero dropped ("1e-7", "1e+21"); shortest round-trip
 * digits. NaN and infinities are KS_EINVALID ("json: unsupported value: NaN"). */
int ks_gojson_format_float(struct ks_buf *out, double f);
/* go-yaml v2's float64: strconv.FormatFloat(f, 'g', -1, 64) with ".inf",
 * "-.inf", ".nan" for the specials. */
int ks_goyaml_format_float(struct ks_buf *out, double f);

/* strconv.FormatFloat(f, 'g', -1, 32) with go-yaml's names for the
 * specials: how sigs.k8s.io/yaml turns float map keys into strings. */
int ks_goyaml_format_float32(struct ks_buf *out, double f);

/* Helpers shared by the encoders. Length (1..4) of the valid UTF-8
 * sequence at s, 0 if s starts an invalid one (Go's utf8.DecodeRune). */
size_t ks_goenc_utf8_len(const unsigned char *s, size_t avail);
/* Keys of obj sorted by bytes; malloc'd array of borrowed strings. */
const char **ks_goenc_sorted_keys(const json_t *obj, size_t *out_n);

/* go-yaml v2's resolution of a plain (unquoted, untagged) scalar when
 * decoding into interface{}: bools (y/Y/yes/on/true... in the spellings v2
 * knows), null, ints (decimal, 0x, 0o, 0b, leading-0 octal, underscores),
 * uint64, floats (.inf/.nan included), everything else (timestamps too) a
 * string. Ints come back as json_integer; integers that only fit uint64 and
 * floats as json_real. New reference; NULL on allocation failure and for
 * NaN and the infinities, which jansson cannot hold: check those first with
 * ks_goyaml_plain_special_float (1 and *out set when s is one of them). */
json_t *ks_goyaml_resolve_plain(const char *s, size_t len);
int ks_goyaml_plain_special_float(const char *s, size_t len, double *out);
/* True when v2 reads the plain scalar s as a uint64 (an integer beyond
 * int64), which sigs.k8s.io/yaml refuses as a map key. */
bool ks_goyaml_plain_is_uint64(const char *s, size_t len);

#endif
