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
#include <stddef.h>

#include "core/buf.h"

/* sigs.k8s.io/yaml.Marshal(v): appends the YAML text (ending in "\n", or
 * "{}\n" / "[]\n" / "null\n" for empty and null values) to out.
 * toYaml in templates is this minus trailing newlines. */
int ks_goyaml_marshal(struct ks_buf *out, const json_t *v);

/* encoding/json.Marshal(v): compact, sorted keys, <>& escaped as \u003c
 * \u003e \u0026, floats as Go formats them. Appends to out. */
int ks_gojson_marshal(struct ks_buf *out, const json_t *v);

/* Parses YAML the way Helm does for values files, --values, fromYaml and
 * fromYamlArray (sigs.k8s.io/yaml.Unmarshal into interface{}): go-yaml v2
 * typing, numbers as json_real, non-string keys converted to strings,
 * duplicate keys an error. An empty document gives an empty object when
 * want_object is set (values files), else JSON null. file names errors.
 * *out is a new reference. */
int ks_helmyaml_parse(json_t **out, const char *text, size_t len, const char *file,
                      int want_object);

#endif
