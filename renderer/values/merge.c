/*
 * merge.c: the user-values half of helm's values.Options.MergeValues and
 * the small chart-tree helpers of values.h.
 *
 * -f files are deep-merged in order (maps merge, anything else replaces),
 * then the --set family is applied grouped by flag kind in helm's fixed
 * order (--set-json, --set, --set-string, --set-file, --set-literal), each
 * group in command-line order: `--set a=1 --set-json a=2` gives a=1.
 */
#include "renderer/values.h"

#include "core/error.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

int ks_values_merge_into(json_t *dest, const json_t *src)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)src, key, val)
    {
        json_t *cur = json_object_get(dest, key);
        if (json_is_object(val) && json_is_object(cur)) {
            int rc = ks_values_merge_into(cur, val);
            if (rc)
                return rc;
            continue;
        }
        json_t *copy = json_deep_copy(val);
        if (!copy || json_object_set_new(dest, key, copy) != 0)
            return ks_error_set(KS_ENOMEM, "out of memory");
    }
    return 0;
}

int ks_values_merge_user(json_t **out, json_t *const *files, size_t nfiles,
                         const struct ks_values_arg *args, size_t nargs,
                         ks_values_file_reader reader, void *reader_ctx)
{
    static const enum ks_values_set_kind order[] = {
        KS_VALUES_SET_JSON, KS_VALUES_SET,         KS_VALUES_SET_STRING,
        KS_VALUES_SET_FILE, KS_VALUES_SET_LITERAL,
    };
    int rc = 0;
    json_t *base = json_object();
    if (!base)
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < nfiles; i++) {
        if (!json_is_object(files[i])) {
            rc = ks_error_set(KS_EINVALID, "values file %zu is not a map", i + 1);
            goto done;
        }
        if ((rc = ks_values_merge_into(base, files[i])) != 0)
            goto done;
    }
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (size_t i = 0; i < nargs; i++) {
            if (args[i].kind != order[k])
                continue;
            rc = ks_values_parse_set(base, args[i].kind, args[i].text, reader, reader_ctx);
            if (rc)
                goto done;
        }
    }
    *out = base;
    base = NULL;
done:
    json_decref(base);
    return rc;
}

struct ks_values_chart *ks_values_chart_new(const char *name)
{
    struct ks_values_chart *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = strdup(name);
    c->values = json_object();
    if (!c->name || !c->values) {
        ks_values_chart_free(c);
        return NULL;
    }
    return c;
}

void ks_values_chart_free(struct ks_values_chart *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ndeps; i++)
        ks_values_chart_free(c->deps[i]);
    free(c->deps);
    for (size_t i = 0; i < c->nimports; i++) {
        free(c->imports[i].child);
        free(c->imports[i].parent);
    }
    free(c->imports);
    json_decref(c->values);
    json_decref(c->schema);
    free(c->dep_name);
    free(c->name);
    free(c);
}

int ks_values_chart_add_dep(struct ks_values_chart *c, struct ks_values_chart *dep)
{
    struct ks_values_chart **d = realloc(c->deps, (c->ndeps + 1) * sizeof(*d));
    if (!d)
        return ks_error_set(KS_ENOMEM, "out of memory");
    c->deps = d;
    c->deps[c->ndeps++] = dep;
    return 0;
}

int ks_values_chart_add_import(struct ks_values_chart *c, const char *child, const char *parent)
{
    struct ks_values_import *im = realloc(c->imports, (c->nimports + 1) * sizeof(*im));
    if (!im)
        return ks_error_set(KS_ENOMEM, "out of memory");
    c->imports = im;
    char *ch = strdup(child);
    char *pa = strdup(parent ? parent : "");
    if (!ch || !pa) {
        free(ch);
        free(pa);
        return ks_error_set(KS_ENOMEM, "out of memory");
    }
    c->imports[c->nimports].child = ch;
    c->imports[c->nimports].parent = pa;
    c->nimports++;
    return 0;
}
