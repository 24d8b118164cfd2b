/*
 * path.c: Sprig's path functions (base, dir, ext, clean, isAbs and their
 * os* twins), which are Go's path package: lexical processing of
 * slash-separated paths, no file system access.
 */
#include "renderer/funcs/funcs.h"

#include <string.h>

/* path.Clean into b. */
static void clean(struct ks_buf *b, const char *p, size_t n)
{
    if (n == 0) {
        ks_buf_putc(b, '.');
        return;
    }
    bool rooted = p[0] == '/';
    size_t start = b->len;
    size_t r = 0, dotdot = 0; /* dotdot: where ".." may backtrack to (relative to start) */
    if (rooted) {
        ks_buf_putc(b, '/');
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            size_t w = b->len - start;
            if (w > dotdot) {
                w--;
                while (w > dotdot && b->data[start + w] != '/')
                    w--;
                b->len = start + w;
                b->data[b->len] = '\0';
            } else if (!rooted) {
                if (w > 0)
                    ks_buf_putc(b, '/');
                ks_buf_puts(b, "..");
                dotdot = b->len - start;
            }
        } else {
            if ((rooted && b->len - start != 1) || (!rooted && b->len - start != 0))
                ks_buf_putc(b, '/');
            for (; r < n && p[r] != '/'; r++)
                ks_buf_putc(b, p[r]);
        }
    }
    if (b->len == start)
        ks_buf_putc(b, '.');
}

static int path_arg(const char **s, size_t *n, struct ks_tpl_call *call, const json_t *arg)
{
    return ks_funcs_arg_str(s, n, call, arg);
}

int ks_funcs_path_clean(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = path_arg(&s, &n, call, args[0]);
    if (rc)
        return rc;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    clean(&b, s, n);
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_path_base(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = path_arg(&s, &n, call, args[0]);
    if (rc)
        return rc;
    if (n == 0)
        return ks_funcs_ret_str(out, call, ".", 1);
    while (n > 0 && s[n - 1] == '/')
        n--;
    if (n == 0)
        return ks_funcs_ret_str(out, call, "/", 1);
    size_t i = n;
    while (i > 0 && s[i - 1] != '/')
        i--;
    return ks_funcs_ret_str(out, call, s + i, n - i);
}

int ks_funcs_path_dir(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = path_arg(&s, &n, call, args[0]);
    if (rc)
        return rc;
    size_t i = n;
    while (i > 0 && s[i - 1] != '/')
        i--;
    struct ks_buf b;
    ks_buf_init(&b, KS_FUNCS_MAX_OUTPUT);
    clean(&b, s, i);
    return ks_funcs_ret_buf(out, call, &b);
}

int ks_funcs_path_ext(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = path_arg(&s, &n, call, args[0]);
    if (rc)
        return rc;
    for (size_t i = n; i > 0 && s[i - 1] != '/'; i--)
        if (s[i - 1] == '.')
            return ks_funcs_ret_str(out, call, s + i - 1, n - (i - 1));
    return ks_funcs_ret_str(out, call, "", 0);
}

int ks_funcs_path_is_abs(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    const char *s;
    size_t n;
    int rc = path_arg(&s, &n, call, args[0]);
    if (rc)
        return rc;
    return ks_funcs_ret(out, call, json_boolean(n > 0 && s[0] == '/'));
}
