/*
 * coalesce.c: helm's pkg/chartutil coalescing (CoalesceValues and the
 * merge flavour MergeValues) and import-values processing.
 *
 * The functions follow coalesce.go and dependencies.go closely, including
 * where Go shares map references instead of copying (the shallow copy of
 * global tables, values copied from a chart's defaults), because later
 * mutations through those shared maps are visible in helm's output. jansson
 * objects have the same reference semantics as Go maps, so the sharing is
 * reproduced by sharing the json_t. Order of iteration does not change the
 * result, only the order of the warnings (random in Go).
 */
#include "renderer/values.h"
#include "renderer/values/values_int.h"

#include "core/error.h"
#include "core/str.h"
#include "renderer/goenc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHART_DEPTH 64

struct coalescer {
    struct ks_values_warnings *warn;
};

static void warnf(struct coalescer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warnf(struct coalescer *c, const char *fmt, ...)
{
    if (!c->warn)
        return;
    va_list ap;
    va_start(ap, fmt);
    ks_buf_vprintf(&c->warn->text, fmt, ap);
    va_end(ap);
    ks_buf_putc(&c->warn->text, '\n');
}

/* A value for a warning line (helm prints Go's %v; compact JSON here). */
static char *show(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 512);
    if (ks_gojson_marshal(&b, v) != 0) {
        ks_buf_release(&b);
        return strdup("?");
    }
    char *s = ks_buf_detach(&b, NULL);
    return s ? s : strdup("?");
}

static char *concat_prefix(const char *a, const char *b)
{
    return a[0] ? ks_strdupf("%s.%s", a, b) : strdup(b);
}

static int nomem(void)
{
    return ks_error_set(KS_ENOMEM, "out of memory");
}

/* coalesceTablesFullKey (helm 3.17): dst is authoritative; a null in dst
 * removes the key when src has it, unless merging (measured with helm
 * 3.17: `--set t.b=null` keeps b: null when the chart's t has no b). */
static int coalesce_tables(struct coalescer *c, json_t *dst, json_t *src, const char *prefix,
                           bool merge)
{
    int rc = 0;
    const char *key;
    json_t *val;
    void *tmp;
    if (!src || !dst)
        return 0;
    /* helm 3.17 walks src only: a null in dst for a key src lacks stays */
    json_object_foreach_safe(src, tmp, key, val)
    {
        char *fullkey = concat_prefix(prefix, key);
        if (!fullkey)
            return nomem();
        json_t *dv = json_object_get(dst, key);
        if (dv && !merge && json_is_null(dv)) {
            json_object_del(dst, key);
        } else if (!dv) {
            if (json_object_set(dst, key, val) != 0)
                rc = nomem();
        } else if (json_is_object(val)) {
            if (json_is_object(dv)) {
                rc = coalesce_tables(c, dv, val, fullkey, merge);
            } else {
                char *s = show(val);
                warnf(c, "warning: cannot overwrite table with non table for %s (%s)", fullkey, s);
                free(s);
            }
        } else if (json_is_object(dv) && !json_is_null(val)) {
            char *s = show(val);
            warnf(c, "warning: destination for %s is a table. Ignoring non-table value (%s)",
                  fullkey, s);
            free(s);
        }
        free(fullkey);
        if (rc)
            return rc;
    }
    return 0;
}

static bool is_dep(const struct ks_values_chart *ch, const char *key)
{
    for (size_t i = 0; i < ch->ndeps; i++)
        if (strcmp(ch->deps[i]->name, key) == 0)
            return true;
    return false;
}

/* coalesceValues: the chart's defaults under the user's values in v. */
static int coalesce_values(struct coalescer *c, const struct ks_values_chart *ch, json_t *v,
                           const char *prefix, bool merge)
{
    int rc = 0;
    char *sub = concat_prefix(prefix, ch->name);
    json_t *vc = json_deep_copy(ch->values);
    const char *key;
    json_t *val;
    if (!sub || !vc) {
        rc = nomem();
        goto done;
    }
    json_object_foreach(vc, key, val)
    {
        json_t *value = json_object_get(v, key);
        if (!value) {
            if (json_object_set(v, key, val) != 0) {
                rc = nomem();
                goto done;
            }
        } else if (json_is_null(value) && !merge) {
            json_object_del(v, key);
        } else if (json_is_object(value)) {
            if (!json_is_object(val)) {
                if (!json_is_null(val))
                    warnf(c, "warning: skipped value for %s.%s: Not a table.", sub, key);
                continue;
            }
            char *full = concat_prefix(sub, key);
            if (!full) {
                rc = nomem();
                goto done;
            }
            rc = coalesce_tables(c, value, val, full, merge || is_dep(ch, key));
            free(full);
            if (rc)
                goto done;
        }
    }
done:
    json_decref(vc);
    free(sub);
    return rc;
}

/* coalesceGlobals: the parent's globals (src) over the subchart's (dest). */
static int coalesce_globals(struct coalescer *c, json_t *dest, json_t *src, const char *prefix)
{
    json_t *dg = json_object_get(dest, "global");
    json_t *sg = json_object_get(src, "global");
    json_t *newdg = NULL;
    int rc = 0;
    if (dg && !json_is_object(dg)) {
        warnf(c, "warning: skipping globals because destination %s is not a table.", "global");
        return 0;
    }
    if (sg && !json_is_object(sg)) {
        warnf(c, "warning: skipping globals because source %s is not a table.", "global");
        return 0;
    }
    newdg = dg ? json_incref(dg) : json_object();
    if (!newdg)
        return nomem();
    const char *key;
    json_t *val;
    json_object_foreach(sg, key, val)
    {
        json_t *dv = json_object_get(newdg, key);
        if (json_is_object(val)) {
            json_t *vv = json_copy(val); /* copyMap: shallow */
            if (!vv) {
                rc = nomem();
                goto done;
            }
            if (!dv) {
                rc = json_object_set_new(newdg, key, vv) ? nomem() : 0;
            } else if (!json_is_object(dv)) {
                warnf(c, "Conflict: cannot merge map onto non-map for \"%s\". Skipping.", key);
                json_decref(vv);
            } else {
                char *sub = concat_prefix(prefix, key);
                rc = sub ? coalesce_tables(c, vv, dv, sub, true) : nomem();
                free(sub);
                if (rc == 0 && json_object_set(newdg, key, vv) != 0)
                    rc = nomem();
                json_decref(vv);
            }
        } else if (dv && json_is_object(dv)) {
            warnf(c, "key %s is table. Skipping", key);
        } else if (json_object_set(newdg, key, val) != 0) {
            rc = nomem();
        }
        if (rc)
            goto done;
    }
    if (json_object_set(dest, "global", newdg) != 0)
        rc = nomem();
done:
    json_decref(newdg);
    return rc;
}

static int coalesce(struct coalescer *c, const struct ks_values_chart *ch, json_t *dest,
                    const char *prefix, bool merge, unsigned depth);

static int coalesce_deps(struct coalescer *c, const struct ks_values_chart *ch, json_t *dest,
                         const char *prefix, bool merge, unsigned depth)
{
    for (size_t i = 0; i < ch->ndeps; i++) {
        const struct ks_values_chart *sub = ch->deps[i];
        json_t *dv = json_object_get(dest, sub->name);
        if (!dv) {
            if (json_object_set_new(dest, sub->name, json_object()) != 0)
                return nomem();
            dv = json_object_get(dest, sub->name);
        } else if (!json_is_object(dv)) {
            if (json_is_null(dv))
                return ks_error_set(KS_EINVALID, "type mismatch on %s: %%!t(<nil>)", sub->name);
            char *s = show(dv);
            int rc = json_is_boolean(dv)
                         ? ks_error_set(KS_EINVALID, "type mismatch on %s: %s", sub->name, s)
                         : ks_error_set(KS_EINVALID, "type mismatch on %s: %%!t(%s=%s)", sub->name,
                                        ks_values_go_type(dv), s);
            free(s);
            return rc;
        }
        char *subprefix = concat_prefix(prefix, ch->name);
        if (!subprefix)
            return nomem();
        int rc = coalesce_globals(c, dv, dest, subprefix);
        if (rc == 0)
            rc = coalesce(c, sub, dv, subprefix, merge, depth + 1);
        free(subprefix);
        if (rc)
            return rc;
    }
    return 0;
}

static int coalesce(struct coalescer *c, const struct ks_values_chart *ch, json_t *dest,
                    const char *prefix, bool merge, unsigned depth)
{
    if (depth > MAX_CHART_DEPTH)
        return ks_error_set(KS_ELIMIT, "charts nested deeper than %d levels", MAX_CHART_DEPTH);
    int rc = coalesce_values(c, ch, dest, prefix, merge);
    return rc ? rc : coalesce_deps(c, ch, dest, prefix, merge, depth);
}

static int coalesce_root(json_t **out, const struct ks_values_chart *root, const json_t *user,
                         struct ks_values_warnings *warn, bool merge)
{
    struct coalescer c = {.warn = warn};
    json_t *dest = user ? json_deep_copy(user) : json_object();
    if (!dest)
        return nomem();
    if (!json_is_object(dest)) {
        json_decref(dest);
        return ks_error_set(KS_EINVALID, "values must be a map");
    }
    int rc = coalesce(&c, root, dest, "", merge, 0);
    if (rc) {
        json_decref(dest);
        return rc;
    }
    *out = dest;
    return 0;
}

int ks_values_coalesce(json_t **out, const struct ks_values_chart *root, const json_t *user,
                       struct ks_values_warnings *warn)
{
    return coalesce_root(out, root, user, warn, false);
}

/* Values.Table: the map at a dotted path, or NULL. */
static json_t *table_at(json_t *v, const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    json_t *t = v;
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part && t; part = strtok_r(NULL, ".", &save)) {
        t = json_object_get(t, part);
        if (t && !json_is_object(t))
            t = NULL;
    }
    free(copy);
    return t;
}

/* pathToMap: {a: {b: data}} for "a.b"; data itself for "." (or ""). */
static json_t *path_to_map(const char *path, json_t *data)
{
    if (!path[0] || strcmp(path, ".") == 0)
        return json_incref(data);
    json_t *cur = json_incref(data);
    const char *end = path + strlen(path);
    while (cur) {
        const char *dot = end;
        while (dot > path && dot[-1] != '.')
            dot--;
        json_t *m = json_object();
        if (!m || json_object_setn_new(m, dot, (size_t)(end - dot), cur) != 0) {
            json_decref(m);
            return NULL;
        }
        cur = m;
        if (dot == path)
            break;
        end = dot - 1;
    }
    return cur;
}

static int process_import_values(struct coalescer *c, struct ks_values_chart *ch)
{
    int rc = 0;
    json_t *cvals = NULL, *b = json_object(), *merged = NULL;
    if (ch->deps_undeclared)
        goto done;
    rc = coalesce_root(&cvals, ch, NULL, c->warn, true);
    if (rc)
        goto done;
    for (size_t i = 0; i < ch->ndeps; i++) {
        const struct ks_values_chart *d = ch->deps[i];
        /* helm 3.17 finds an aliased dependency's values under the alias */
        const char *dname = d->name;
        for (size_t k = 0; k < d->nimports; k++) {
            const struct ks_values_import *im = &d->imports[k];
            char *path = ks_strdupf("%s.%s", dname, im->child);
            json_t *vv = path ? table_at(cvals, path) : NULL;
            if (!path) {
                rc = nomem();
                goto done;
            }
            free(path);
            if (!vv) {
                warnf(c, "Warning: ImportValues missing table from chart %s", dname);
                continue;
            }
            json_t *piece = path_to_map(im->parent, vv);
            if (!piece) {
                rc = nomem();
                goto done;
            }
            rc = coalesce_tables(c, b, piece, "", true);
            json_decref(piece);
            if (rc)
                goto done;
        }
    }
    merged = json_deep_copy(cvals);
    if (!merged) {
        rc = nomem();
        goto done;
    }
    rc = coalesce_tables(c, merged, b, "", true);
    if (rc)
        goto done;
    json_decref(ch->values);
    ch->values = merged;
    merged = NULL;
done:
    json_decref(merged);
    json_decref(cvals);
    json_decref(b);
    return rc;
}

static int process_imports(struct coalescer *c, struct ks_values_chart *ch, unsigned depth)
{
    if (depth > MAX_CHART_DEPTH)
        return ks_error_set(KS_ELIMIT, "charts nested deeper than %d levels", MAX_CHART_DEPTH);
    for (size_t i = 0; i < ch->ndeps; i++) {
        int rc = process_imports(c, ch->deps[i], depth + 1);
        if (rc)
            return rc;
    }
    return process_import_values(c, ch);
}

int ks_values_process_imports(struct ks_values_chart *root, struct ks_values_warnings *warn)
{
    struct coalescer c = {.warn = warn};
    return process_imports(&c, root, 0);
}
