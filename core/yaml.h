/*
 * yaml.h: YAML <-> JSON codec built on libyaml events and jansson trees.
 *
 * Parsing: multi-document streams, YAML 1.2 core-schema typing as
 * Kubernetes reads manifests (true/false/null/~, ints incl. 0x/0o, floats;
 * quoted scalars stay strings; yes/no/on/off stay strings), anchors and
 * aliases with a bound on total expansion (billion-laughs safe), duplicate
 * keys rejected, limits on size, depth and documents. Every node's source
 * position can be recorded in a ks_yaml_positions table so later stages can
 * report file:line:column. A caller with other typing rules (the renderer,
 * reproducing Helm's go-yaml behaviour) supplies its own scalar resolver.
 *
 * Emitting: readable block YAML from a JSON tree; strings are quoted when
 * they would otherwise read back as another type; key order as in the tree
 * unless sort_keys is set.
 */
#ifndef KS_CORE_YAML_H
#define KS_CORE_YAML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

#define KS_YAML_DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define KS_YAML_DEFAULT_MAX_DEPTH 200u
#define KS_YAML_DEFAULT_MAX_ALIAS_NODES 1000000u
#define KS_YAML_DEFAULT_MAX_DOCUMENTS 100000u

/* Scalar as libyaml reported it, for a custom resolver. */
struct ks_yaml_scalar {
    const char *text; /* NUL-terminated value */
    size_t len;
    const char *tag; /* explicit tag ("!!str", "tag:yaml.org,2002:int") or NULL */
    bool plain;      /* unquoted plain scalar (only plain scalars are typed) */
    bool is_key;     /* this scalar is a mapping key */
    struct ks_pos pos;
};

/* Returns a new reference, or NULL after setting ks_error (e.g. a bad
 * explicit tag); the parse then fails with that message. */
typedef json_t *(*ks_yaml_resolver)(void *ctx, const struct ks_yaml_scalar *scalar);

struct ks_yaml_positions; /* opaque table: node -> position */

struct ks_yaml_parse_opts {
    const char *file;          /* name used in error positions; may be NULL */
    size_t max_bytes;          /* input size cap; 0 = KS_YAML_DEFAULT_MAX_BYTES */
    unsigned max_depth;        /* nesting cap; 0 = default */
    size_t max_alias_nodes;    /* nodes copied through aliases; 0 = default */
    unsigned max_documents;    /* 0 = default */
    ks_yaml_resolver resolver; /* NULL = Kubernetes/YAML 1.2 core typing */
    void *resolver_ctx;
    bool allow_duplicate_keys;           /* false: duplicate keys are an error (default) */
    struct ks_yaml_positions *positions; /* optional: filled while parsing */
    bool unshared_strings;               /* see "Sharing" below */
};

/* Sharing: by default equal string values of up to 64 bytes within one
 * parse are one json_t with several references (manifests repeat values
 * endlessly; this saves about a sixth of the memory). Replace strings in a
 * parsed tree (json_object_set, json_array_set) rather than changing them
 * in place with json_string_set, or set unshared_strings. Containers are
 * never shared: aliases are expanded into copies. */

/* Parses a whole stream into a JSON array of documents (one element per
 * document; an empty document is JSON null). *out is a new reference.
 * Errors: KS_EINVALID "file:line:col: cause" or KS_ELIMIT naming the limit. */
int ks_yaml_parse_stream(json_t **out, const char *text, size_t len,
                         const struct ks_yaml_parse_opts *opts);

/* Parses a stream that must hold at most one document (empty -> null). */
int ks_yaml_parse_one(json_t **out, const char *text, size_t len,
                      const struct ks_yaml_parse_opts *opts);

/* The default (Kubernetes) scalar resolver, exposed so custom resolvers can
 * fall back to it. */
json_t *ks_yaml_resolve_core(void *ctx, const struct ks_yaml_scalar *scalar);

/* Position table. The position of a node is looked up through its parent and
 * its key (objects) or index (arrays); a document's root has parent NULL and
 * index = document number (the roots of the last stream parsed into the
 * table), and also parent = the array ks_yaml_parse_stream returned. This
 * works for jansson's shared singletons (true/false/null) too. One table may
 * collect several parses (files). Entries are keyed by container address:
 * they are valid while those containers live; members added later are not
 * found, and a freed container's address may be reused by a new one.
 * Returned positions' file strings live as long as the table. */
struct ks_yaml_positions *ks_yaml_positions_new(void);
void ks_yaml_positions_free(struct ks_yaml_positions *p);
/* 0 or KS_ENOTFOUND. For object members the position is the key's. */
int ks_yaml_position_of_member(struct ks_pos *out, const struct ks_yaml_positions *p,
                               const json_t *object, const char *key);
int ks_yaml_position_of_index(struct ks_pos *out, const struct ks_yaml_positions *p,
                              const json_t *array_or_null, size_t index);
/* Same as ks_yaml_position_of_member for keys that may hold NUL bytes. */
int ks_yaml_position_of_membern(struct ks_pos *out, const struct ks_yaml_positions *p,
                                const json_t *object, const char *key, size_t key_len);
/* Position of one child, for ks_yaml_positions_set_children. */
struct ks_yaml_child_pos {
    const char *key; /* objects: the member's key (key_len bytes); arrays: unused */
    size_t key_len;
    int line;
    int column;
};
/* Records the positions of all children of container at once (how the
 * parser fills the table; callers may do the same for trees they build),
 * replacing whatever was recorded for container before. Arrays and the
 * document list (container NULL, is_object false): children[i] is element
 * i. Objects: looked up by key; when a key appears twice the later entry
 * wins. Keys and file are copied. 0, KS_ENOMEM or KS_ELIMIT. */
int ks_yaml_positions_set_children(struct ks_yaml_positions *p, const json_t *container,
                                   bool is_object, const char *file,
                                   const struct ks_yaml_child_pos *children, size_t n);
/* Number of recorded positions (0 for NULL). */
size_t ks_yaml_positions_count(const struct ks_yaml_positions *p);

struct ks_yaml_emit_opts {
    bool sort_keys;      /* sort object keys (byte order) instead of tree order */
    unsigned indent;     /* spaces per level; 0 = 2 */
    bool document_start; /* emit "---" before each document */
};

/* Appends one document as block YAML to out (always ending in "\n").
 * Errors: KS_EINVALID (a string that is not UTF-8), KS_ELIMIT (out's cap,
 * or nesting deeper than 1000), KS_ENOMEM. out may hold partial text then. */
int ks_yaml_emit(struct ks_buf *out, const json_t *doc, const struct ks_yaml_emit_opts *opts);

/* Appends every element of the array docs as one document each, every one
 * preceded by "---" (whatever opts->document_start says). */
int ks_yaml_emit_stream(struct ks_buf *out, const json_t *docs,
                        const struct ks_yaml_emit_opts *opts);

#endif
