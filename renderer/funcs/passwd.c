/*
 * passwd.c: Sprig's bcrypt and htpasswd on libxcrypt's bcrypt, with Go's
 * "$2a$" prefix and default cost 10 (golang.org/x/crypto/bcrypt), so the
 * hashes verify with every htpasswd reader Helm charts feed them to.
 */
#include "renderer/funcs/funcs.h"

#include <crypt.h>
#include <stdlib.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/error.h"

#define BCRYPT_COST 10
#define BCRYPT_MAX_PASSWORD 72

/* Appends bcrypt(password) or Sprig's failure text. */
static int put_bcrypt(struct ks_buf *b, struct ks_tpl_call *call, const char *pw, size_t n)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned char rnd[16];
    struct crypt_data *data;
    if (n > BCRYPT_MAX_PASSWORD || strlen(pw) != n) {
        ks_buf_puts(b, "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 "
                       "bytes");
        return 0;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
        !crypt_gensalt_rn("$2a$", BCRYPT_COST, (const char *)rnd, sizeof(rnd), salt, sizeof(salt)))
        return ks_tpl_call_error(call, KS_ERROR, "bcrypt salt generation failed");
    data = calloc(1, sizeof(*data));
    if (!data)
        return ks_funcs_nomem(call);
    const char *hash = crypt_r(pw, salt, data);
    int rc = 0;
    if (!hash || hash[0] != '$')
        rc = ks_tpl_call_error(call, KS_ERROR, "bcrypt hashing failed");
    else
        ks_buf_puts(b, hash);
    free(data);
    return rc;
}

int ks_funcs_bcrypt(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *pw;
    size_t n;
    int rc = ks_funcs_arg_str(&pw, &n, call, args[0]);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if ((rc = put_bcrypt(&b, call, pw, n)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_htpasswd(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *user, *pw;
    size_t un, pn;
    int rc;
    if ((rc = ks_funcs_arg_str(&user, &un, call, args[0])) ||
        (rc = ks_funcs_arg_str(&pw, &pn, call, args[1])))
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    if (memchr(user, ':', un)) {
        ks_buf_puts(&b, "invalid username: ");
        ks_buf_put(&b, user, un);
        return ks_funcs_ret_buf(out, call, &b);
    }
    ks_buf_put(&b, user, un);
    ks_buf_putc(&b, ':');
    if ((rc = put_bcrypt(&b, call, pw, pn)) != 0) {
        ks_buf_release(&b);
        return rc;
    }
    return ks_funcs_ret_buf(out, call, &b);
}
