/*
 * rand.c: Sprig's random functions (randAlphaNum, randAlpha, randNumeric,
 * randAscii, randInt, shuffle, uuidv4) on OpenSSL's CSPRNG, as Sprig uses
 * crypto/rand for the rand* strings. Every draw is unbiased (rejection
 * sampling), so outputs have the alphabets and uniformity Sprig's have.
 */
#include "renderer/funcs/funcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Uniform integer in [0, n), n > 0. */
static int rand_below(uint64_t *out, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x;
        if (ks_funcs_random(&x, sizeof(x)))
            return KS_ERROR;
        if (x < limit) {
            *out = x % n;
            return 0;
        }
    }
}

static int rand_string(json_t **out, struct ks_tpl_call *call, const json_t *arg, const char *alpha)
{
    long long count;
    int rc = ks_funcs_arg_int(&count, call, arg);
    if (rc)
        return rc;
    if (count <= 0) /* goutils errors on negative counts; Sprig ignores it */
        return ks_funcs_ret_str(out, call, "", 0);
    if ((unsigned long long)count > KS_FUNCS_MAX_OUTPUT)
        return ks_tpl_call_error(call, KS_ELIMIT, "result exceeds the limit of %zu bytes",
                                 KS_FUNCS_MAX_OUTPUT);
    char *s = malloc((size_t)count);
    if (!s)
        return ks_funcs_nomem(call);
    size_t n = strlen(alpha);
    for (long long i = 0; i < count; i++) {
        uint64_t k = 0;
        if ((rc = rand_below(&k, n)) != 0) {
            free(s);
            return ks_tpl_call_error(call, rc, "%s", ks_error_last());
        }
        s[i] = alpha[k];
    }
    rc = ks_funcs_ret_str(out, call, s, (size_t)count);
    free(s);
    return rc;
}

#define DIGITS "0123456789"
#define LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

int ks_funcs_rand_alnum(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return rand_string(out, call, args[0], DIGITS LETTERS);
}

int ks_funcs_rand_alpha(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return rand_string(out, call, args[0], LETTERS);
}

int ks_funcs_rand_numeric(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return rand_string(out, call, args[0], DIGITS);
}

int ks_funcs_rand_ascii(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    char printable[96];
    for (int c = 32; c < 127; c++)
        printable[c - 32] = (char)c;
    printable[95] = '\0';
    return rand_string(out, call, args[0], printable);
}

/* randInt min max: rand.Intn(max-min)+min, Go's panic when empty. */
int ks_funcs_rand_int(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    long long min, max;
    uint64_t k = 0;
    int rc;
    if ((rc = ks_funcs_arg_int(&min, call, args[0])) ||
        (rc = ks_funcs_arg_int(&max, call, args[1])))
        return rc;
    if (max <= min)
        return ks_tpl_call_error(call, KS_EINVALID, "invalid argument to Intn");
    if ((rc = rand_below(&k, (uint64_t)max - (uint64_t)min)) != 0)
        return ks_tpl_call_error(call, rc, "%s", ks_error_last());
    return ks_funcs_ret(out, call, json_integer((json_int_t)((uint64_t)min + k)));
}

/* shuffle: a random permutation of the string's runes. */
int ks_funcs_shuffle(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n, w;
    int rc = ks_funcs_arg_str(&s, &n, call, args[0]);
    if (rc)
        return rc;
    size_t *starts = malloc((n + 1) * sizeof(*starts));
    size_t count = 0;
    if (!starts)
        return ks_funcs_nomem(call);
    for (size_t i = 0; i < n; i += w) {
        ks_funcs_utf8_decode(s + i, n - i, &w);
        starts[count++] = i;
    }
    starts[count] = n;
    size_t *order = malloc((count + 1) * sizeof(*order));
    if (!order) {
        free(starts);
        return ks_funcs_nomem(call);
    }
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    for (size_t i = count; i > 1; i--) {
        uint64_t j = 0;
        if ((rc = rand_below(&j, i)) != 0)
            break;
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t k = order[i];
        size_t next = k + 1 < count ? starts[k + 1] : n;
        ks_buf_put(&b, s + starts[k], next - starts[k]);
    }
    free(order);
    free(starts);
    if (rc) {
        ks_buf_release(&b);
        return ks_tpl_call_error(call, rc, "%s", ks_error_last());
    }
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_uuidv4(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    unsigned char u[16];
    char s[37];
    if (ks_funcs_random(u, sizeof(u)))
        return ks_tpl_call_error(call, KS_ERROR, "random number generator failed");
    u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
    snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    return ks_funcs_ret_str(out, call, s, 36);
}
