/*
 * libcrypto.c: loads OpenSSL's libcrypto on first use (see libcrypto.h for
 * why). dlopen of the soname the headers belong to, dlsym of every listed
 * function; the table is published only when complete.
 */
#define KS_LIBCRYPTO_IMPL
#include "renderer/funcs/libcrypto.h"

#include <dlfcn.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "renderer/template.h"

#define KS_STR2(x) #x
#define KS_STR(x) KS_STR2(x)
#define LIBCRYPTO_SONAME "libcrypto.so." KS_STR(OPENSSL_SHLIB_VERSION)

const struct ks_libcrypto *ks_libcrypto;

static struct ks_libcrypto table;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    /* never closed: the functions' results (keys, certificates) may
     * outlive any one call, and the library stays for the process */
    void *lib = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error, sizeof(load_error), "cannot load %s: %s", LIBCRYPTO_SONAME,
                 why ? why : "unknown error");
        return;
    }
#define KS_LIBCRYPTO_SYM(f)                                                                        \
    sym = dlsym(lib, #f);                                                                          \
    memcpy(&table.f, &sym, sizeof(sym));                                                           \
    if (!sym) {                                                                                    \
        snprintf(load_error, sizeof(load_error), "%s has no function %s", LIBCRYPTO_SONAME, #f);   \
        return;                                                                                    \
    }
    void *sym;
    KS_LIBCRYPTO_FUNCS(KS_LIBCRYPTO_SYM)
#undef KS_LIBCRYPTO_SYM
    ks_libcrypto = &table;
}

int ks_libcrypto_load(struct ks_tpl_call *call)
{
    pthread_once(&load_once, load);
    if (ks_libcrypto)
        return 0;
    return ks_tpl_call_error(call, KS_ERROR, "%s", load_error);
}
