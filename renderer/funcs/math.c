/*
 * math.c: Sprig's arithmetic and conversions. Integer functions convert
 * every operand with cast.ToInt64 (so `add "2" 3` is 5 and `add 1.9 1.9`
 * is 2) and wrap around like Go's int64; the *f functions work in exact
 * decimal arithmetic as Sprig's shopspring/decimal does (`addf 1.1 2.2`
 * is 3.3, not 3.3000000000000003), falling back to float64 only when a
 * value outgrows 128-bit mantissas. Division by zero reports Go's panic.
 */
#include "renderer/funcs/funcs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/gofmt.h"
#include "renderer/template.h"

#define FN(name)                                                                                   \
    static int name(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)

static int ret_int(json_t **out, struct ks_tpl_call *call, int64_t v)
{
    return ks_funcs_ret(out, call, json_integer((json_int_t)v));
}

/* Sprig's arithmetic (add, sub, mul, div, mod, max, min) and int64 return Go
 * int64, which typeOf, kindOf and printf's %T tell apart from int. */
static int ret_int64(json_t **out, struct ks_tpl_call *call, int64_t v)
{
    json_t *n = json_integer((json_int_t)v);
    int rc = n ? ks_tpl_call_mark_int64(call, n) : KS_ENOMEM;
    if (rc) {
        json_decref(n);
        return rc == KS_ENOMEM ? ks_funcs_nomem(call) : rc;
    }
    return ks_funcs_ret(out, call, n);
}

/* The value model (jansson) has no infinities or NaN. */
static int ret_float(json_t **out, struct ks_tpl_call *call, double v)
{
    if (!isfinite(v))
        return ks_tpl_call_error(call, KS_EINVALID, "float64 result %s cannot be represented",
                                 isnan(v) ? "NaN"
                                 : v > 0  ? "+Inf"
                                          : "-Inf");
    return ks_funcs_ret(out, call, json_real(v));
}

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t wrap_mul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static int divide_by_zero(struct ks_tpl_call *call)
{
    return ks_tpl_call_error(call, KS_EINVALID, "runtime error: integer divide by zero");
}

FN(fn_add)
{
    int64_t a = 0;
    for (size_t i = 0; i < nargs; i++)
        a = wrap_add(a, ks_funcs_toint64(args[i]));
    return ret_int64(out, call, a);
}

FN(fn_add1)
{
    return ret_int64(out, call, wrap_add(ks_funcs_toint64(args[0]), 1));
}

FN(fn_sub)
{
    return ret_int64(
        out, call,
        (int64_t)((uint64_t)ks_funcs_toint64(args[0]) - (uint64_t)ks_funcs_toint64(args[1])));
}

FN(fn_mul)
{
    int64_t a = ks_funcs_toint64(args[0]);
    for (size_t i = 1; i < nargs; i++)
        a = wrap_mul(a, ks_funcs_toint64(args[i]));
    return ret_int64(out, call, a);
}

FN(fn_div)
{
    int64_t a = ks_funcs_toint64(args[0]), b = ks_funcs_toint64(args[1]);
    if (b == 0)
        return divide_by_zero(call);
    if (b == -1)
        return ret_int64(out, call, (int64_t)(0 - (uint64_t)a));
    return ret_int64(out, call, a / b);
}

FN(fn_mod)
{
    int64_t a = ks_funcs_toint64(args[0]), b = ks_funcs_toint64(args[1]);
    if (b == 0)
        return divide_by_zero(call);
    if (b == -1)
        return ret_int64(out, call, 0);
    return ret_int64(out, call, a % b);
}

static int minmax(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                  bool max)
{
    int64_t a = ks_funcs_toint64(args[0]);
    for (size_t i = 1; i < nargs; i++) {
        int64_t b = ks_funcs_toint64(args[i]);
        if (max ? b > a : b < a)
            a = b;
    }
    return ret_int64(out, call, a);
}

FN(fn_max)
{
    return minmax(out, call, args, nargs, true);
}

FN(fn_min)
{
    return minmax(out, call, args, nargs, false);
}

/* C's fmax/fmin as glibc computes them (x when equal, the other when one
 * is NaN), written out: `reconcile render` does not link libm (one shared
 * library less to map at start). */
static double max_of(double x, double y, bool max)
{
    if (isnan(x))
        return y;
    if (isnan(y))
        return x;
    return (max ? x >= y : x <= y) ? x : y;
}

static int minmaxf(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs,
                   bool max)
{
    double a = ks_funcs_tofloat64(args[0]);
    for (size_t i = 1; i < nargs; i++)
        a = max_of(a, ks_funcs_tofloat64(args[i]), max);
    return ret_float(out, call, a);
}

FN(fn_maxf)
{
    return minmaxf(out, call, args, nargs, true);
}

FN(fn_minf)
{
    return minmaxf(out, call, args, nargs, false);
}

FN(fn_floor)
{
    return ret_float(out, call, floor(ks_funcs_tofloat64(args[0])));
}

FN(fn_ceil)
{
    return ret_float(out, call, ceil(ks_funcs_tofloat64(args[0])));
}

/* Sprig's round(a, places, roundOn = .5). */
FN(fn_round)
{
    long long places;
    int rc = ks_funcs_arg_int(&places, call, args[1]);
    if (rc)
        return rc;
    double on = nargs > 2 ? ks_funcs_tofloat64(args[2]) : 0.5;
    double val = ks_funcs_tofloat64(args[0]);
    /* 10^places correctly rounded (exact up to 1e22), as pow(10, places)
     * without libm; the fraction as modf's without it */
    char p10[32];
    snprintf(p10, sizeof(p10), "1e%lld", places);
    double pow10 = strtod(p10, NULL);
    double digit = pow10 * val;
    double frac = isinf(digit) ? 0.0 : digit - trunc(digit);
    double r = frac >= on ? ceil(digit) : floor(digit);
    return ret_float(out, call, r / pow10);
}

FN(fn_int)
{
    return ret_int(out, call, ks_funcs_toint64(args[0]));
}

FN(fn_int64)
{
    return ret_int64(out, call, ks_funcs_toint64(args[0]));
}

FN(fn_float64)
{
    return ret_float(out, call, ks_funcs_tofloat64(args[0]));
}

/* strconv.Atoi: base 10, whole string, 0 on any error. */
FN(fn_atoi)
{
    const char *s;
    size_t n;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    const char *p = s;
    bool neg = false;
    uint64_t acc = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p || strlen(s) != n)
        return ret_int(out, call, 0);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || acc > (UINT64_MAX - 9) / 10)
            return ret_int(out, call, 0);
        acc = acc * 10 + (uint64_t)(*p - '0');
    }
    if (neg ? acc > (uint64_t)INT64_MAX + 1 : acc > (uint64_t)INT64_MAX)
        return ret_int(out, call, 0);
    return ret_int(out, call, neg ? (int64_t)(0 - acc) : (int64_t)acc);
}

/* toDecimal: strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on error. */
FN(fn_to_decimal)
{
    struct ks_buf b;
    ks_buf_init(&b, 4096);
    int64_t r = 0;
    if (ks_gofmt_print_value(&b, args[0]) == 0 && !ks_buf_error(&b)) {
        const char *p = ks_buf_data(&b);
        bool neg = false;
        uint64_t acc = 0;
        bool ok = true;
        if (*p == '+' || *p == '-')
            neg = *p++ == '-';
        ok = *p != '\0';
        for (; *p && ok; p++) {
            if (*p < '0' || *p > '7' || acc > (UINT64_MAX >> 3))
                ok = false;
            else
                acc = acc * 8 + (uint64_t)(*p - '0');
        }
        if (ok && (neg ? acc <= (uint64_t)INT64_MAX + 1 : acc <= (uint64_t)INT64_MAX))
            r = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    }
    ks_buf_release(&b);
    return ret_int(out, call, r);
}

/* Exact decimal numbers m * 10^e for the *f functions. */
struct dec {
    __int128 m;
    int e;
    bool big; /* fell back to float64 */
    double f;
};

#define DEC_LIMIT ((__int128)1 << 120)

static struct dec dec_from_double(double f)
{
    struct dec d = {0, 0, false, f};
    char tmp[64];
    if (!isfinite(f)) {
        d.big = true;
        return d;
    }
    /* %.17e is exact enough to find the shortest round-tripping digits */
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    char *p = tmp;
    bool neg = *p == '-';
    if (neg)
        p++;
    int digits_after = 0;
    bool after = false;
    for (; *p && *p != 'e'; p++) {
        if (*p == '.') {
            after = true;
            continue;
        }
        d.m = d.m * 10 + (*p - '0');
        if (after)
            digits_after++;
    }
    d.e = (*p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0) - digits_after;
    if (neg)
        d.m = -d.m;
    return d;
}

static double dec_to_double(const struct dec *d)
{
    if (d->big)
        return d->f;
    char digits[64];
    int n = 0;
    __int128 m = d->m < 0 ? -d->m : d->m;
    do {
        digits[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m && n < 60);
    char tmp[96];
    int len = 0;
    if (d->m < 0)
        tmp[len++] = '-';
    while (n)
        tmp[len++] = digits[--n];
    snprintf(tmp + len, sizeof(tmp) - (size_t)len, "e%d", d->e);
    return strtod(tmp, NULL);
}

static bool dec_scale(__int128 *m, int by)
{
    for (int i = 0; i < by; i++) {
        if (*m > DEC_LIMIT / 10 || *m < -DEC_LIMIT / 10)
            return false;
        *m *= 10;
    }
    return true;
}

static void dec_fallback(struct dec *a, double f)
{
    a->big = true;
    a->f = f;
}

static void dec_add(struct dec *a, struct dec b, int sign)
{
    if (a->big || b.big) {
        dec_fallback(a, dec_to_double(a) + sign * dec_to_double(&b));
        return;
    }
    __int128 am = a->m, bm = b.m;
    int e = a->e < b.e ? a->e : b.e;
    if (!dec_scale(&am, a->e - e) || !dec_scale(&bm, b.e - e)) {
        dec_fallback(a, dec_to_double(a) + sign * dec_to_double(&b));
        return;
    }
    a->m = am + sign * bm;
    a->e = e;
}

static void dec_mul(struct dec *a, struct dec b)
{
    __int128 r;
    if (a->big || b.big || __builtin_mul_overflow(a->m, b.m, &r) || r > DEC_LIMIT ||
        r < -DEC_LIMIT) {
        dec_fallback(a, dec_to_double(a) * dec_to_double(&b));
        return;
    }
    a->m = r;
    a->e += b.e;
}

/* decimal.Div: the quotient rounded (half away from zero) to 16 places. */
static void dec_div(struct dec *a, struct dec b)
{
    __int128 num = a->m;
    int shift = a->e - b.e + 16;
    if (a->big || b.big || shift < 0 || !dec_scale(&num, shift)) {
        dec_fallback(a, dec_to_double(a) / dec_to_double(&b));
        return;
    }
    __int128 q = num / b.m, r = num % b.m;
    __int128 r2 = r < 0 ? -r : r, bm = b.m < 0 ? -b.m : b.m;
    if (r2 * 2 >= bm)
        q += ((num < 0) != (b.m < 0)) ? -1 : 1;
    a->m = q;
    a->e = -16;
}

static int decimal_op(json_t **out, struct ks_tpl_call *call, double first, json_t *const *rest,
                      size_t nrest, char op)
{
    struct dec acc = dec_from_double(first);
    for (size_t i = 0; i < nrest; i++) {
        struct dec x = dec_from_double(ks_funcs_tofloat64(rest[i]));
        if (op == '+' || op == '-')
            dec_add(&acc, x, op == '+' ? 1 : -1);
        else if (op == '*')
            dec_mul(&acc, x);
        else if (!x.big && x.m == 0)
            return ks_tpl_call_error(call, KS_EINVALID, "decimal division by 0");
        else
            dec_div(&acc, x);
    }
    return ret_float(out, call, dec_to_double(&acc));
}

FN(fn_addf)
{
    return decimal_op(out, call, 0, args, nargs, '+');
}

FN(fn_add1f)
{
    json_t *one = json_integer(1);
    if (!one)
        return ks_funcs_nomem(call);
    int rc = decimal_op(out, call, ks_funcs_tofloat64(args[0]), &one, 1, '+');
    json_decref(one);
    return rc;
}

FN(fn_subf)
{
    return decimal_op(out, call, ks_funcs_tofloat64(args[0]), args + 1, nargs - 1, '-');
}

FN(fn_mulf)
{
    return decimal_op(out, call, ks_funcs_tofloat64(args[0]), args + 1, nargs - 1, '*');
}

FN(fn_divf)
{
    return decimal_op(out, call, ks_funcs_tofloat64(args[0]), args + 1, nargs - 1, '/');
}

const struct ks_tpl_func_def ks_tpl_funcs_math[] = {
    {"add", fn_add, 0, -1},
    {"add1", fn_add1, 1, 1},
    {"sub", fn_sub, 2, 2},
    {"mul", fn_mul, 1, -1},
    {"div", fn_div, 2, 2},
    {"mod", fn_mod, 2, 2},
    {"max", fn_max, 1, -1},
    {"biggest", fn_max, 1, -1},
    {"min", fn_min, 1, -1},
    {"maxf", fn_maxf, 1, -1},
    {"minf", fn_minf, 1, -1},
    {"floor", fn_floor, 1, 1},
    {"ceil", fn_ceil, 1, 1},
    {"round", fn_round, 2, 3},
    {"int", fn_int, 1, 1},
    {"int64", fn_int64, 1, 1},
    {"float64", fn_float64, 1, 1},
    {"atoi", fn_atoi, 1, 1},
    {"toDecimal", fn_to_decimal, 1, 1},
    {"addf", fn_addf, 0, -1},
    {"add1f", fn_add1f, 1, 1},
    {"subf", fn_subf, 1, -1},
    {"mulf", fn_mulf, 1, -1},
    {"divf", fn_divf, 1, -1},
    {NULL, NULL, 0, 0},
};
