/*
 * deps.c: which subcharts take part in a render, as helm's
 * chartutil.ProcessDependencies does, and the hand-off to the values stage.
 *
 * For every chart: subcharts in charts/ that no Chart.yaml dependency
 * claims stay (always enabled); each dependency entry picks the first
 * subchart with its name whose version satisfies the entry's range
 * (IsCompatibleRange, checked with the function library's semverCompare),
 * as a copy renamed to the alias when there is one; tags (in the root's
 * top-level `tags`) then conditions (comma-separated paths, first path that
 * resolves to a bool wins; looked up in the coalesced values under the
 * chart's path) enable or disable it; disabled charts are dropped and the
 * survivors processed the same way. The result is also turned into the
 * values stage's chart tree (renderer/values.h) with import-values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/deps.h"
#include "renderer/template.h"
#include "renderer/values.h"

#define SEMVER_TEMPLATE "ks-semver-check"

static int files_clone(struct ks_chart_files *out, const struct ks_chart_files *in)
{
    for (size_t i = 0; i < in->n; i++) {
        char *name = strdup(in->v[i].name);
        char *data = malloc(in->v[i].len + 1);
        if (!name || !data || ks_chart_files_push(out, name, data, in->v[i].len) < 0) {
            free(name);
            free(data);
            return ks_error_set(KS_ENOMEM, "out of memory copying a chart");
        }
        memcpy(data, in->v[i].data, in->v[i].len + 1);
    }
    return 0;
}

static int chart_clone(struct ks_chart **out, const struct ks_chart *in, struct ks_chart *parent)
{
    struct ks_chart *c = calloc(1, sizeof(*c));
    int rc = 0;
    if (!c) {
        rc = ks_error_set(KS_ENOMEM, "out of memory copying a chart");
        goto done;
    }
    c->parent = parent;
    c->meta = json_deep_copy(in->meta);
    c->values = json_deep_copy(in->values);
    c->schema = in->schema ? json_deep_copy(in->schema) : NULL;
    if (!c->meta || !c->values || (in->schema && !c->schema)) {
        rc = ks_error_set(KS_ENOMEM, "out of memory copying a chart");
        goto done;
    }
    c->name = json_string_value(json_object_get(c->meta, "Name"));
    rc = files_clone(&c->templates, &in->templates);
    if (rc == 0)
        rc = files_clone(&c->files, &in->files);
    if (rc < 0)
        goto done;
    if (in->ndeps) {
        c->deps = calloc(in->ndeps, sizeof(*c->deps));
        if (!c->deps) {
            rc = ks_error_set(KS_ENOMEM, "out of memory copying a chart");
            goto done;
        }
    }
    for (size_t i = 0; i < in->ndeps; i++) {
        rc = chart_clone(&c->deps[i], in->deps[i], c);
        if (rc < 0)
            goto done;
        c->ndeps++;
    }
    *out = c;
    c = NULL;
done:
    ks_chart_free(c);
    return rc;
}

int ks_deps_semver_init(struct ks_tpl_set **out)
{
    static const char text[] = "{{ semverCompare .c .v }}";
    const struct ks_tpl_func_def *tables[] = {ks_tpl_funcs_misc};
    struct ks_tpl_set *set = NULL;
    int rc = ks_tpl_set_new(&set, NULL, 0, tables, 1);
    if (rc < 0)
        return rc;
    rc = ks_tpl_set_add(set, SEMVER_TEMPLATE, text, sizeof(text) - 1);
    if (rc < 0) {
        ks_tpl_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

bool ks_deps_compatible(struct ks_tpl_set *semver, const char *range, const char *version)
{
    struct ks_buf out;
    ks_buf_init(&out, 64);
    json_t *dot = json_pack("{s:s, s:s}", "c", range, "v", version);
    bool ok = false;
    if (dot && ks_tpl_execute(&out, semver, SEMVER_TEMPLATE, dot) == 0)
        ok = strcmp(ks_buf_data(&out), "true") == 0;
    ks_error_clear();
    json_decref(dot);
    ks_buf_release(&out);
    return ok;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Applies the dependency entries of c to its charts/ (alias copies,
 * unclaimed charts kept), recursively. */
static int resolve_aliases(struct ks_chart *c, struct ks_tpl_set *semver)
{
    json_t *reqs = json_object_get(c->meta, "Dependencies");
    struct ks_chart **list = NULL;
    size_t n = 0;
    int rc = 0;
    size_t cap = c->ndeps + json_array_size(reqs) + 1;
    list = calloc(cap, sizeof(*list));
    if (!list) {
        rc = ks_error_set(KS_ENOMEM, "out of memory processing dependencies");
        goto done;
    }
    bool *claimed = calloc(c->ndeps + 1, sizeof(*claimed));
    if (!claimed) {
        rc = ks_error_set(KS_ENOMEM, "out of memory processing dependencies");
        goto done;
    }
    for (size_t i = 0; i < c->ndeps; i++) {
        const char *cv = str_of(c->deps[i]->meta, "Version");
        for (size_t k = 0; k < json_array_size(reqs); k++) {
            json_t *r = json_array_get(reqs, k);
            if (strcmp(c->deps[i]->name, str_of(r, "Name")) == 0 &&
                ks_deps_compatible(semver, str_of(r, "Version"), cv))
                claimed[i] = true;
        }
        if (!claimed[i]) {
            list[n++] = c->deps[i];
            c->deps[i] = NULL;
        }
    }
    for (size_t k = 0; k < json_array_size(reqs); k++) {
        json_t *r = json_array_get(reqs, k);
        const char *alias = str_of(r, "Alias");
        for (size_t i = 0; i < c->ndeps; i++) {
            if (!c->deps[i] || strcmp(c->deps[i]->name, str_of(r, "Name")) != 0 ||
                !ks_deps_compatible(semver, str_of(r, "Version"),
                                    str_of(c->deps[i]->meta, "Version")))
                continue;
            struct ks_chart *copy = NULL;
            rc = chart_clone(&copy, c->deps[i], c);
            if (rc < 0) {
                free(claimed);
                goto done;
            }
            if (alias[0]) {
                copy->dep_name = strdup(copy->name);
                if (!copy->dep_name) {
                    ks_chart_free(copy);
                    free(claimed);
                    rc = ks_error_set(KS_ENOMEM, "out of memory processing dependencies");
                    goto done;
                }
                json_object_set_new(copy->meta, "Name", json_string(alias));
                copy->name = json_string_value(json_object_get(copy->meta, "Name"));
            }
            list[n++] = copy;
            break;
        }
        if (alias[0])
            json_object_set_new(r, "Name", json_string(alias));
    }
    free(claimed);
    for (size_t i = 0; i < c->ndeps; i++)
        ks_chart_free(c->deps[i]);
    free(c->deps);
    c->deps = list;
    c->ndeps = n;
    list = NULL;
    for (size_t i = 0; i < c->ndeps; i++) {
        rc = resolve_aliases(c->deps[i], semver);
        if (rc < 0)
            goto done;
    }
done:
    if (list) {
        for (size_t i = 0; i < n; i++)
            ks_chart_free(list[i]);
        free(list);
    }
    return rc;
}

/* Values.PathValue: the value at a dotted path if it is not a map. */
static const json_t *path_value(const json_t *v, const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", path);
    char *p = buf;
    for (;;) {
        char *dot = strchr(p, '.');
        if (!dot) {
            const json_t *x = json_object_get(v, p);
            return (x && !json_is_object(x)) ? x : NULL;
        }
        *dot = '\0';
        v = json_object_get(v, p);
        if (!json_is_object(v))
            return NULL;
        p = dot + 1;
    }
}

static void set_enabled(json_t *reqs, const json_t *cvals, const char *path)
{
    const json_t *tags = json_object_get(cvals, "tags");
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        bool enabled = true;
        if (json_is_object(tags)) {
            bool has_true = false, has_false = false;
            size_t k;
            json_t *t;
            json_array_foreach(json_object_get(r, "Tags"), k, t)
            {
                const json_t *b = json_object_get(tags, json_string_value(t));
                if (json_is_boolean(b)) {
                    if (json_is_true(b))
                        has_true = true;
                    else
                        has_false = true;
                }
            }
            if (!has_true && has_false)
                enabled = false;
        }
        /* conditions: split the trimmed string on ",", first bool wins */
        char cond[1024];
        const char *c = str_of(r, "Condition");
        while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')
            c++;
        snprintf(cond, sizeof(cond), "%s", c);
        size_t cl = strlen(cond);
        while (cl > 0 && (cond[cl - 1] == ' ' || cond[cl - 1] == '\t' || cond[cl - 1] == '\n' ||
                          cond[cl - 1] == '\r'))
            cond[--cl] = '\0';
        char *save = cond;
        while (save) {
            char *comma = strchr(save, ',');
            if (comma)
                *comma = '\0';
            if (*save) {
                char full[2048];
                snprintf(full, sizeof(full), "%s%s", path, save);
                const json_t *b = path_value(cvals, full);
                if (json_is_boolean(b)) {
                    enabled = json_is_true(b);
                    break;
                }
            }
            save = comma ? comma + 1 : NULL;
        }
        json_object_set_new(r, "Enabled", json_boolean(enabled));
    }
}

static int prune(struct ks_chart *c, const json_t *cvals, const char *path)
{
    json_t *reqs = json_object_get(c->meta, "Dependencies");
    set_enabled(reqs, cvals, path);
    size_t w = 0;
    for (size_t i = 0; i < c->ndeps; i++) {
        bool keep = true;
        size_t k;
        json_t *r;
        json_array_foreach(reqs, k, r)
        {
            if (!json_is_true(json_object_get(r, "Enabled")) &&
                strcmp(str_of(r, "Name"), c->deps[i]->name) == 0)
                keep = false;
        }
        if (keep)
            c->deps[w++] = c->deps[i];
        else
            ks_chart_free(c->deps[i]);
    }
    c->ndeps = w;
    for (size_t k = json_array_size(reqs); k-- > 0;)
        if (!json_is_true(json_object_get(json_array_get(reqs, k), "Enabled")))
            json_array_remove(reqs, k);
    for (size_t i = 0; i < c->ndeps; i++) {
        char sub[2048];
        snprintf(sub, sizeof(sub), "%s%s.", path, c->deps[i]->name);
        int rc = prune(c->deps[i], cvals, sub);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_imports(struct ks_values_chart *vc, const json_t *req)
{
    size_t i;
    json_t *iv;
    json_array_foreach(json_object_get(req, "ImportValues"), i, iv)
    {
        int rc = 0;
        if (json_is_string(iv)) {
            char child[1024];
            snprintf(child, sizeof(child), "exports.%s", json_string_value(iv));
            rc = ks_values_chart_add_import(vc, child, "");
        } else if (json_is_object(iv)) {
            rc = ks_values_chart_add_import(vc, str_of(iv, "child"), str_of(iv, "parent"));
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ks_deps_values_tree(struct ks_values_chart **out, const struct ks_chart *c, bool with_imports)
{
    struct ks_values_chart *vc = ks_values_chart_new(c->name);
    int rc = 0;
    if (!vc) {
        rc = ks_error_set(KS_ENOMEM, "out of memory building the values tree");
        goto done;
    }
    json_decref(vc->values);
    vc->values = json_deep_copy(c->values);
    vc->schema = c->schema ? json_deep_copy(c->schema) : NULL;
    if (!vc->values || (c->schema && !vc->schema)) {
        rc = ks_error_set(KS_ENOMEM, "out of memory building the values tree");
        goto done;
    }
    if (c->dep_name) {
        vc->dep_name = strdup(c->dep_name);
        if (!vc->dep_name) {
            rc = ks_error_set(KS_ENOMEM, "out of memory building the values tree");
            goto done;
        }
    }
    json_t *reqs = json_object_get(c->meta, "Dependencies");
    vc->deps_undeclared = json_array_size(reqs) == 0;
    for (size_t i = 0; i < c->ndeps; i++) {
        struct ks_values_chart *dv = NULL;
        rc = ks_deps_values_tree(&dv, c->deps[i], with_imports);
        if (rc < 0)
            goto done;
        if (with_imports) {
            size_t k;
            json_t *r;
            json_array_foreach(reqs, k, r)
            {
                if (strcmp(str_of(r, "Name"), c->deps[i]->name) == 0) {
                    rc = add_imports(dv, r);
                    break;
                }
            }
        }
        if (rc == 0)
            rc = ks_values_chart_add_dep(vc, dv);
        else
            ks_values_chart_free(dv);
        if (rc < 0)
            goto done;
    }
    *out = vc;
    vc = NULL;
done:
    ks_values_chart_free(vc);
    return rc;
}

int ks_deps_process(struct ks_chart *root, const json_t *user, struct ks_tpl_set *semver)
{
    struct ks_values_chart *vroot = NULL;
    json_t *cvals = NULL;
    int rc = resolve_aliases(root, semver);
    if (rc < 0)
        goto done;
    rc = ks_deps_values_tree(&vroot, root, false);
    if (rc < 0)
        goto done;
    rc = ks_values_coalesce(&cvals, vroot, user, NULL);
    if (rc < 0)
        goto done;
    rc = prune(root, cvals, "");
done:
    json_decref(cvals);
    ks_values_chart_free(vroot);
    return rc;
}
