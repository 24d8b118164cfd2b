/*
 * gofmt.h: Go's fmt printing of template values, which decides how every
 * `{{ .Values.x }}` appears in Helm's output: fmt.Sprint / %v semantics for
 * the value model of tplfunc.h ("1e+06" for the float64 1000000, "[a b]"
 * for lists, "map[a:1 b:2]" with sorted keys for maps, "<nil>" for nil inside
 * containers, "<no value>" is the engine's business), and the pieces of
 * fmt.Sprintf that printf needs (%s %d %v %q %x %X %f %e %g %t %c %%, widths,
 * precision, flags - + # 0 space, %!verb(type=value) for mismatches).
 */
#ifndef KS_RENDERER_GOFMT_H
#define KS_RENDERER_GOFMT_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

/* fmt.Sprint(v) for one value (%v), appended to out. */
int ks_gofmt_print_value(struct ks_buf *out, const json_t *v);

/* fmt.Sprint(args...): Go adds spaces between operands when neither side
 * is a string. */
int ks_gofmt_sprint(struct ks_buf *out, json_t *const *args, size_t nargs);

/* fmt.Sprintf(format, args...). */
int ks_gofmt_sprintf(struct ks_buf *out, const char *format, json_t *const *args, size_t nargs);

/* strconv.FormatFloat(f, fmt, prec, 64): fmt one of 'e' 'E' 'f' 'g' 'G';
 * prec -1 = shortest representation that round-trips. Appends to out. */
int ks_gofmt_float(struct ks_buf *out, double f, char fmt, int prec);

/* strconv's shortest decimal digits of a (> 0, finite) that read back as
 * the same float64 (bits 64) or float32 (bits 32): the digits (no dot, no
 * trailing zeros, NUL-terminated; cap >= 20) go to d, their count to *nd;
 * returns the decimal point position dp (a = 0.d x 10^dp). */
int ks_gofmt_shortest_digits(double a, int bits, char *d, size_t cap, int *nd);

/* fmt.Sprintln(args...): spaces between all operands, trailing newline. */
int ks_gofmt_sprintln(struct ks_buf *out, json_t *const *args, size_t nargs);

/* strconv.Quote(s[0..len)): Go's double-quoted form (also %q and the
 * engine's error contexts). Appends to out. */
int ks_gofmt_quote(struct ks_buf *out, const char *s, size_t len);

/* Go's type name of a value as %T prints it: "string", "int", "float64",
 * "bool", "[]interface {}", "map[string]interface {}", "<nil>" (host
 * objects: their go_type). Static string. */
const char *ks_gofmt_type_name(const json_t *v);

#endif
