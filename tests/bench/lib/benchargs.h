/*
 * benchargs.h: numeric command-line arguments of the C benchmark programs
 * under tests/bench, read with core's checked parser so that a typo stops
 * the program with a message instead of silently becoming 0.
 */
#ifndef KS_BENCH_BENCHARGS_H
#define KS_BENCH_BENCHARGS_H

#include "core/error.h"
#include "core/str.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* text as a positive integer, or fallback when text is NULL; exits 2 on a
 * bad value. */
static inline int64_t ks_bench_arg(const char *text, int64_t fallback, const char *what)
{
    int64_t v = fallback;
    if (text && (ks_str_to_i64(&v, text, what) < 0 || v <= 0)) {
        fprintf(stderr, "%s: want a positive integer, got \"%s\"\n", what, text);
        exit(2);
    }
    return v;
}

#endif
