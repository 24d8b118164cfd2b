/*
 * release.c: rendering `kind: Release` (apiVersion keelson.io/v1) into
 * objects of the desired set.
 *
 *   spec.chart        repo-relative path of a chart in the same commit
 *   spec.valuesFiles  repo-relative values files, merged in order
 *   spec.values       inline values, merged last (they win)
 *   spec.namespace    release namespace (default: metadata.namespace, then "default")
 *
 * The chart's tree is materialised once per git tree id under the chart
 * cache dir (content-addressed, so an unchanged chart is never written
 * twice) and rendered exactly as `helm template NAME CHART` would; the
 * result is kept in the render cache (render_cache.c) by content key. Helm
 * hooks are not applied by a reconciler that has no install/upgrade events;
 * they are reported as warnings instead of being dropped silently.
 */
#include "reconciler/desired/internal.h"

#include "core/error.h"
#include "core/str.h"
#include "renderer/goenc.h"
#include "renderer/render.h"
#include "renderer/values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES_FILES 64

/* Repo-relative, no "..", not absolute: a Release cannot reach outside. */
static int check_repo_path(const char *path, const char *field, const char *source)
{
    if (!path || !*path)
        return ks_error_set(KS_EINVALID, "%s: Release %s must be a non-empty string", source,
                            field);
    if (path[0] == '/' || strcmp(path, "..") == 0 || ks_str_has_prefix(path, "../") ||
        strstr(path, "/../") || ks_str_has_suffix(path, "/.."))
        return ks_error_set(KS_EINVALID, "%s: Release %s \"%s\" must stay inside the repository",
                            source, field, path);
    return 0;
}

static int read_repo_file(char **out, size_t *out_len, struct ks_desired_builder *b,
                          const char *path)
{
    struct ks_source_snapshot *snap = NULL;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= sizeof dir)
        return ks_error_set(KS_ELIMIT, "path too long: %s", path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    int rc = ks_source_snapshot_read(&snap, b->opts->source, b->opts->commit, dir, NULL);
    if (rc)
        return rc;
    rc = ks_error_set(KS_ENOTFOUND, "%s: no such file at commit %.12s", path, b->opts->commit);
    for (size_t i = 0; i < snap->nfiles; i++) {
        if (strcmp(snap->files[i].path, path) == 0) {
            *out = snap->files[i].data;
            *out_len = snap->files[i].len;
            snap->files[i].data = NULL;
            rc = 0;
            break;
        }
    }
    ks_source_snapshot_free(snap);
    return rc;
}

/* Helm reads values files through JSON, so every number is a Go float64;
 * inline spec.values were parsed as a manifest (integers stay integers).
 * Converting them keeps `typeOf`, `printf` and toYaml output the same as
 * for the same values in a -f file. Returns a new reference. */
static json_t *helm_numbers(const json_t *v)
{
    if (json_is_integer(v))
        return json_real((double)json_integer_value(v));
    if (json_is_object(v)) {
        json_t *copy = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
            json_object_set_new(copy, key, helm_numbers(item));
        return copy;
    }
    if (json_is_array(v)) {
        json_t *copy = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) json_array_append_new(copy, helm_numbers(item));
        return copy;
    }
    return json_incref((json_t *)v);
}

static int merged_values(json_t **out, struct ks_desired_builder *b, const json_t *spec,
                         const char *source)
{
    json_t *files[MAX_VALUES_FILES + 1];
    size_t n = 0;
    int rc = 0;
    const json_t *list = json_object_get(spec, "valuesFiles");
    if (list && !json_is_array(list))
        return ks_error_set(KS_EINVALID, "%s: Release spec.valuesFiles must be a list", source);
    if (json_array_size(list) > MAX_VALUES_FILES)
        return ks_error_set(KS_ELIMIT, "%s: more than %d valuesFiles (limit)", source,
                            MAX_VALUES_FILES);
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *path = json_string_value(item);
        char *text = NULL;
        size_t len = 0;
        json_array_append_new(b->inputs, json_string(path ? path : ""));
        if ((rc = check_repo_path(path, "spec.valuesFiles entry", source)) ||
            (rc = read_repo_file(&text, &len, b, path)))
            goto done;
        rc = ks_helmyaml_parse(&files[n], text, len, path, 1);
        free(text);
        if (rc)
            goto done;
        n++;
    }
    const json_t *inline_values = json_object_get(spec, "values");
    if (inline_values && !json_is_object(inline_values) && !json_is_null(inline_values)) {
        rc = ks_error_set(KS_EINVALID, "%s: Release spec.values must be a mapping", source);
        goto done;
    }
    if (json_is_object(inline_values))
        files[n++] = helm_numbers(inline_values);
    rc = ks_values_merge_user(out, files, n, NULL, 0, NULL, NULL);
done:
    for (size_t k = 0; k < n; k++)
        json_decref(files[k]);
    return rc;
}

/* The chart's git tree id (recorded as an input of the pass). */
static int chart_tree(char tree[41], struct ks_desired_builder *b, const char *chart,
                      const char *source)
{
    json_array_append_new(b->inputs, json_string(chart));
    int rc = ks_source_tree_hash(tree, b->opts->source, b->opts->commit, chart);
    if (rc)
        return ks_error_set(rc, "%s: Release chart \"%s\": %s", source, chart, ks_error_last());
    return 0;
}

/* Renders through the chart tree materialised under the chart cache;
 * *out: new reference to the renderer's objects array. */
static int render(json_t **out, struct ks_desired_builder *b, const char *chart, const char *tree,
                  const struct ks_render_opts *ro, const char *source)
{
    const char *cache = b->opts->chart_cache_dir;
    if (!cache || !*cache)
        return ks_error_set(KS_EINVALID, "%s: no chart cache directory to render Releases in",
                            source);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", cache, tree);
    struct ks_render_result res = {0};
    int rc = ks_source_export(b->opts->source, b->opts->commit, chart, dir);
    if (rc == 0 && (rc = ks_render_chart(&res, dir, ro)))
        rc = ks_error_set(rc, "%s: Release %s (chart %s): %s", source, ro->release_name, chart,
                          ks_error_last());
    if (rc == 0)
        *out = json_incref(res.objects);
    ks_render_result_release(&res);
    return rc;
}

static void warn_hook(struct ks_desired_builder *b, const char *release, const char *template)
{
    char *w = NULL;
    if (asprintf(&w, "Release %s: hook %s is not applied (keelson has no install/upgrade events)",
                 release, template) >= 0) {
        json_array_append_new(b->warnings, json_string(w));
        free(w);
    }
}

int ks_desired_release_render(struct ks_desired_builder *b, json_t *release, const char *source,
                              const char *file, int line)
{
    int rc = 0;
    json_t *values = NULL, *objects = NULL;
    const json_t *meta = json_object_get(release, "metadata");
    const json_t *spec = json_object_get(release, "spec");
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (!json_is_object(spec))
        return ks_error_set(KS_EINVALID, "%s: Release %s needs a spec with a chart", source, name);
    const char *chart = json_string_value(json_object_get(spec, "chart"));
    const char *ns = json_string_value(json_object_get(spec, "namespace"));
    if (!ns)
        ns = json_string_value(json_object_get(meta, "namespace"));
    if (!ns)
        ns = "default";
    char tree[41], key[65];
    if ((rc = check_repo_path(chart, "spec.chart", source)) ||
        (rc = merged_values(&values, b, spec, source)) ||
        (rc = chart_tree(tree, b, chart, source)) ||
        (rc = ks_render_cache_key(key, tree, name, ns, values)))
        goto done;
    const char *cache = b->opts->render_cache_dir;
    if (!cache || !(objects = ks_render_cache_get(cache, key))) {
        struct ks_render_opts ro = {.release_name = name, .namespace_ = ns, .values = values};
        if ((rc = render(&objects, b, chart, tree, &ro, source)))
            goto done;
        if (cache)
            ks_render_cache_put(cache, key, objects);
    }
    size_t i;
    const json_t *doc;
    json_array_foreach(objects, i, doc)
    {
        const char *template = json_string_value(json_object_get(doc, "source"));
        json_t *obj = json_object_get(doc, "object");
        if (json_is_true(json_object_get(doc, "hook"))) {
            warn_hook(b, name, template ? template : "?");
            continue;
        }
        if (!json_is_object(obj))
            continue;
        char src[4400];
        snprintf(src, sizeof src, "release %s/%s (%s, %s)", ns, name, chart,
                 template ? template : "?");
        json_t *copy = json_deep_copy(obj);
        rc = ks_desired_builder_add(b, copy, src, file, line, ns);
        json_decref(copy);
        if (rc)
            goto done;
    }
done:
    json_decref(objects);
    json_decref(values);
    return rc;
}
