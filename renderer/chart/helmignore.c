/*
 * helmignore.c: helm's .helmignore rules (pkg/ignore), including their
 * quirks, because which files a chart holds decides .Files and templates.
 *
 * Each line is a filepath.Match pattern: blank lines and "#" comments are
 * skipped, "**" is rejected, a trailing "/" makes the rule apply to
 * directories only, a leading "/" anchors it at the chart root, a pattern
 * with a "/" matches the whole relative path and one without matches the
 * base name. A "!" rule is helm's odd negation: a path that does NOT match
 * it is ignored. Rules are checked in order; the first decision wins.
 * helm always adds "templates/.?*" (dot files in templates/).
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/chart/chart.h"
#include "renderer/output/output.h"

#define MAX_RULES 10000u
#define MAX_RULE_LEN 4096u

struct rule {
    char *pattern; /* without "!", leading "/" and trailing "/" */
    bool negate;
    bool must_dir;
    enum { MATCH_ROOT, MATCH_PATH, MATCH_BASE } mode;
};

struct ks_helmignore {
    struct rule *v;
    size_t n;
};

void ks_helmignore_free(struct ks_helmignore *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].pattern);
    free(r->v);
    free(r);
}

/* Checks filepath.Match's syntax on a pattern: unterminated classes and a
 * trailing backslash are errors. */
static bool pattern_ok(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\') {
            if (!*++p)
                return false;
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']') {
                if (*q == '\\' && !*++q)
                    return false;
                q++;
            }
            if (!*q)
                return false;
            p = q;
        }
    }
    return true;
}

static int add_rule(struct ks_helmignore *r, const char *line, size_t len, const char *where,
                    int lineno)
{
    while (len > 0 && (*line == ' ' || *line == '\t' || *line == '\r'))
        line++, len--;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    if (len == 0 || line[0] == '#')
        return 0;
    struct ks_pos pos = {where, lineno, 1};
    if (len > MAX_RULE_LEN)
        return ks_error_set_at(KS_ELIMIT, &pos, "rule longer than %u bytes", MAX_RULE_LEN);
    if (r->n >= MAX_RULES)
        return ks_error_set_at(KS_ELIMIT, &pos, "more than %u rules", MAX_RULES);
    char *pat = strndup(line, len);
    if (!pat)
        return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
    if (strstr(pat, "**")) {
        free(pat);
        return ks_error_set_at(KS_EINVALID, &pos, "double-star (**) syntax is not supported");
    }
    if (!pattern_ok(pat)) {
        free(pat);
        return ks_error_set_at(KS_EINVALID, &pos, "syntax error in pattern");
    }
    struct rule ru = {0};
    char *p = pat;
    if (*p == '!') {
        ru.negate = true;
        p++;
    }
    size_t pl = strlen(p);
    if (pl > 0 && p[pl - 1] == '/') {
        ru.must_dir = true;
        p[--pl] = '\0';
    }
    if (*p == '/') {
        ru.mode = MATCH_ROOT;
        p++;
    } else if (strchr(p, '/')) {
        ru.mode = MATCH_PATH;
    } else {
        ru.mode = MATCH_BASE;
    }
    memmove(pat, p, strlen(p) + 1);
    ru.pattern = pat;
    struct rule *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
    if (!nv) {
        free(pat);
        return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
    }
    r->v = nv;
    r->v[r->n++] = ru;
    return 0;
}

int ks_helmignore_parse(struct ks_helmignore **out, const char *text, size_t len, const char *where)
{
    struct ks_helmignore *r = calloc(1, sizeof(*r));
    int rc = 0;
    if (!r) {
        rc = ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
        goto done;
    }
    size_t i = 0;
    int lineno = 1;
    while (text && i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        rc = add_rule(r, text + i, n, where, lineno);
        if (rc < 0)
            goto done;
        i += n + 1;
        lineno++;
    }
    static const char default_rule[] = "templates/.?*";
    rc = add_rule(r, default_rule, sizeof(default_rule) - 1, where, 0);
    if (rc < 0)
        goto done;
    *out = r;
    r = NULL;
done:
    ks_helmignore_free(r);
    return rc;
}

static bool rule_match(const struct rule *ru, const char *path)
{
    if (ru->mode == MATCH_BASE) {
        const char *base = strrchr(path, '/');
        return ks_output_glob_match(ru->pattern, base ? base + 1 : path);
    }
    return ks_output_glob_match(ru->pattern, path);
}

bool ks_helmignore_ignored(const struct ks_helmignore *r, const char *path, bool is_dir)
{
    if (!r || path[0] == '\0' || strcmp(path, ".") == 0 || strcmp(path, "./") == 0)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        const struct rule *ru = &r->v[i];
        if (ru->negate) {
            if (ru->must_dir && !is_dir)
                return true;
            if (!rule_match(ru, path))
                return true;
            continue;
        }
        if (ru->must_dir && !is_dir)
            continue;
        if (rule_match(ru, path))
            return true;
    }
    return false;
}
