/*
 * internal.h: shared structures of the template engine (lexer/parser,
 * evaluator, builtins, set). Not a public header: renderer/template.h is
 * the API. The syntax tree mirrors Go's text/template/parse nodes so that
 * error contexts ("at <...>") print exactly as Go prints them.
 */
#ifndef KS_RENDERER_TEMPLATE_INTERNAL_H
#define KS_RENDERER_TEMPLATE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "renderer/template.h"
#include "renderer/tplfunc.h"

enum tnode_type {
    TN_LIST,
    TN_TEXT,
    TN_ACTION,
    TN_IF,
    TN_RANGE,
    TN_WITH,
    TN_TEMPLATE,
    TN_BREAK,
    TN_CONTINUE,
    TN_PIPE,
    TN_CMD,
    TN_FIELD,
    TN_CHAIN,
    TN_VAR,
    TN_IDENT,
    TN_DOT,
    TN_NIL,
    TN_BOOL,
    TN_NUMBER,
    TN_STRING,
};

struct tunit; /* one parsed text: source, name, arena */

struct tnode {
    enum tnode_type type;
    int pos;            /* byte offset in unit->text */
    struct tunit *unit; /* the text this node came from */
    struct tnode *sub;  /* CHAIN: the operand; ACTION/IF/RANGE/WITH/TEMPLATE: pipe */
    const char *text;   /* TEXT bytes, STRING value, NUMBER/STRING source, IDENT/TEMPLATE name */
    size_t len;         /* TEXT/STRING value length */
    bool is_assign;     /* PIPE: '=' rather than ':=' */
    bool bval;          /* BOOL */
    /* Fields only some types have share their memory (a parsed chart has
     * thousands of nodes, 80 bytes each instead of 144); every reader
     * looks at them only for the types named. */
    union {
        struct { /* LIST, PIPE (commands), CMD (args) */
            struct tnode **kids;
            size_t nkids;
            struct tnode **decl; /* PIPE declared variables (TN_VAR) */
            size_t ndecl;
        };
        struct { /* FIELD/VAR: path ("$x","a"); CHAIN: fields */
            char **idents;
            size_t nidents;
        };
        struct { /* IF/RANGE/WITH */
            struct tnode *list, *else_list;
        };
        struct {
            const char *src;                  /* STRING/NUMBER: the source text (Go's String()) */
            const struct ks_tpl_func_def *fn; /* IDENT: resolved function */
            json_t *constant;                 /* NUMBER/STRING: the value (owned by the unit) */
        };
    };
};

/* A named template: a file's body or a define/block. */
struct ttree {
    const char *name; /* arena */
    struct tnode *root;
    struct tunit *unit;
};

struct tarena {
    struct tarena_block *blocks;
    size_t first; /* size of the first block (a guess from the text's length) */
};

struct tunit {
    char *text; /* copy of the source, NUL-terminated */
    size_t len;
    char *parse_name; /* Go's ParseName: the file (or "gotpl") */
    struct tarena arena;
    json_t **constants; /* to release */
    size_t nconstants, capconstants;
    struct tunit *next; /* set's list of units */
};

/* String-keyed open-addressing map (keys borrowed). */
struct smap {
    const char **keys;
    void **vals;
    size_t cap, n;
};
void *smap_get(const struct smap *m, const char *key);
int smap_put(struct smap *m, const char *key, void *val);
void smap_free(struct smap *m);

struct host_entry {
    const json_t *obj;
    const struct ks_tpl_host_type *type;
    void *self;
    unsigned flags; /* KS_TPL_HOST_STRUCT */
};

struct ks_tpl_set {
    struct ks_tpl_set *parent; /* tpl overlays look up templates here too */
    struct ks_tpl_set *root;   /* self for the root */
    struct ks_tpl_limits limits;
    unsigned flags;
    struct smap funcs;     /* name -> const struct ks_tpl_func_def * (root only) */
    struct smap templates; /* name -> struct ttree * */
    struct tunit *units;
    /* host registry (root only): open addressing on pointer identity */
    struct host_entry *hosts;
    size_t nhosts, caphosts;
};

const struct ttree *tset_lookup(const struct ks_tpl_set *set, const char *name);
const struct ks_tpl_func_def *tset_func(const struct ks_tpl_set *set, const char *name);
const struct host_entry *tset_host(const struct ks_tpl_set *set, const json_t *v);

/* Parses text into a new unit and adds its trees to set. parse_name is the
 * file name (Go's ParseName) and name the name of the main template. */
int tparse(struct ks_tpl_set *set, const char *name, const char *parse_name, const char *text,
           size_t len);

/* Frees a parsed unit (its arena, text and constants). NULL-safe. */
void tunit_free(struct tunit *u);

/* and/or: their table entries carry arity; the evaluator short-circuits
 * them itself (Go 1.18) and recognises them by these pointers. */
int tbuiltin_and(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs);
int tbuiltin_or(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs);

/* Go's String() of a node, appended to out. */
void tnode_string(struct ks_buf *out, const struct tnode *n);
/* "parse_name:line:col" of a node's position. */
void tnode_location(struct ks_buf *out, const struct tnode *n);

/* The execution state shared by one top-level execute call. */
struct texec;

struct tstate {
    struct texec *ex;
    struct ks_tpl_set *set;   /* current set (a tpl overlay inside tpl) */
    const struct ttree *tmpl; /* template being executed */
    const struct tnode *node; /* last node reached (Go's s.at) */
    struct ks_buf *out;
    size_t out_base; /* out->len when this state began */
    struct tvar *vars;
    size_t nvars, capvars;
    int depth;
};

struct ks_tpl_call {
    struct tstate *st;
    const struct tnode *node; /* the command, for "at <...>" */
    const char *name;         /* the function or method name */
    bool formatted;           /* the error message is already complete */
};

/* Formats Go's execution error "template: LOC: executing "NAME" at <CTX>:
 * MSG" for st's current node; returns KS_EINVALID (or code if non-zero). */
int tstate_errorf(struct tstate *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Go's isTrue for a value (NULL = invalid). */
bool tval_truth(const json_t *v);

/* Thread's current execution set for fmt's host lookups (Stringer). */
const struct host_entry *ks_tpl_current_host(const json_t *v);

#endif
