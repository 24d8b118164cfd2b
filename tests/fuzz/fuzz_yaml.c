/*
 * fuzz_yaml.c: libFuzzer target for the YAML codec (core/yaml.h).
 *
 * Parses the input as a stream with a position table, and for every input
 * that parses: looks up the position of every node, emits the documents
 * (tree order and sorted keys), re-parses the emitted text and requires the
 * same JSON. A difference or a re-parse failure is a bug of the emitter
 * (or the parser) and aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_positions(const struct ks_yaml_positions *pos, const json_t *v)
{
    struct ks_pos p;
    if (json_is_object(v)) {
        const char *key;
        size_t len;
        json_t *child;
        json_object_keylen_foreach((json_t *)v, key, len, child)
        {
            if (ks_yaml_position_of_membern(&p, pos, v, key, len) != 0 || p.line < 1)
                abort();
            walk_positions(pos, child);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (ks_yaml_position_of_index(&p, pos, v, i) != 0 || p.line < 1)
                abort();
            walk_positions(pos, json_array_get(v, i));
        }
    }
}

static void round_trip(const json_t *docs, bool sorted)
{
    struct ks_buf out;
    ks_buf_init(&out, 0);
    struct ks_yaml_emit_opts eo = {.sort_keys = sorted};
    if (ks_yaml_emit_stream(&out, docs, &eo) != 0)
        abort(); /* parsed trees are valid UTF-8 and shallow: emitting cannot fail */
    json_t *again = NULL;
    if (ks_yaml_parse_stream(&again, ks_buf_data(&out), ks_buf_len(&out), NULL) != 0) {
        fprintf(stderr, "re-parse failed: %s\n--- emitted:\n%s\n", ks_error_last(),
                ks_buf_data(&out));
        abort();
    }
    if (!json_equal(again, docs)) {
        char *a = json_dumps(docs, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(again, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "round trip differs\nfirst:  %s\nsecond: %s\n--- emitted:\n%s\n", a, b,
                ks_buf_data(&out));
        abort();
    }
    json_decref(again);
    ks_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_yaml_parse_opts opts = {
        .file = "fuzz.yaml",
        .max_alias_nodes = 10000,
        .positions = ks_yaml_positions_new(),
    };
    json_t *docs = NULL;
    if (opts.positions && ks_yaml_parse_stream(&docs, (const char *)data, size, &opts) == 0) {
        for (size_t i = 0; i < json_array_size(docs); i++)
            walk_positions(opts.positions, json_array_get(docs, i));
        round_trip(docs, false);
        round_trip(docs, true);
    }
    json_decref(docs);
    ks_yaml_positions_free(opts.positions);
    return 0;
}
