/*
 * render.c: ks_render_chart, the whole of `helm template` in one call
 * (helm's action.Install in client-only mode plus the template command's
 * printing), stitching together the loader, dependency processing, the
 * values stage, the template engine and the output stage.
 *
 * Template data is laid out as helm's engine.recAllTpls builds it: every
 * chart gets its own dot {Chart, Files, Release, Capabilities, Values,
 * Subcharts, Template}; a subchart's .Values is its section of the parent's
 * .Values. All templates of the tree go into one template set in helm's
 * parse order and are executed in that order; NOTES.txt files are rendered
 * (their errors count) but left out of the output; partials (_*) are only
 * parsed. Library charts contribute only their partials.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/builtins.h"
#include "renderer/chart/chart.h"
#include "renderer/chart/deps.h"
#include "renderer/output/output.h"
#include "renderer/render.h"
#include "renderer/template.h"
#include "renderer/values.h"

#define MAX_RELEASE_NAME 53
#define KS_RENDER_MAX_VALUES_DEPTH 1000

struct tpl {
    char *name;      /* "chart/templates/x.yaml" */
    char *base_path; /* "chart/templates" */
    const struct ks_chart_file *file;
    json_t *dot; /* borrowed from the dots list */
    bool partial;
};

struct job {
    struct tpl *tpls;
    size_t ntpls, cap;
    json_t *dots; /* array keeping every chart's dot alive */
    struct ks_output_file *crds;
    size_t ncrds, crd_cap;
    char **crd_paths;
};

static const struct ks_tpl_func_def *const func_tables[] = {
    ks_tpl_funcs_strings, ks_tpl_funcs_lists,    ks_tpl_funcs_dicts,
    ks_tpl_funcs_math,    ks_tpl_funcs_encoding, ks_tpl_funcs_misc,
};

static void job_release(struct job *j)
{
    for (size_t i = 0; i < j->ntpls; i++) {
        free(j->tpls[i].name);
        free(j->tpls[i].base_path);
    }
    free(j->tpls);
    json_decref(j->dots);
    for (size_t i = 0; i < j->ncrds; i++)
        free(j->crd_paths[i]);
    free(j->crd_paths);
    free(j->crds);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* chartutil.ValidateReleaseName */
static int validate_release_name(const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= MAX_RELEASE_NAME;
    /* ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ */
    for (size_t i = 0; ok && i < n;) {
        size_t start = i;
        while (i < n && (islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) ||
                         name[i] == '-'))
            i++;
        if (i == start || name[start] == '-' || name[i - 1] == '-')
            ok = false;
        if (i < n) {
            if (name[i] != '.' || i + 1 == n)
                ok = false;
            i++;
        }
    }
    if (!ok)
        return ks_error_set(KS_EINVALID,
                            "release name \"%s\": invalid release name, must match regex "
                            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ "
                            "and the length must not be longer than 53",
                            name);
    return 0;
}

/* action.CheckDependencies on the root chart. */
static int check_dependencies(const struct ks_chart *c)
{
    struct ks_buf missing;
    ks_buf_init(&missing, 64 * 1024);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(c->meta, "Dependencies"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "Name"));
        bool found = false;
        for (size_t k = 0; k < c->ndeps; k++)
            if (strcmp(c->deps[k]->name, name) == 0)
                found = true;
        if (!found)
            ks_buf_printf(&missing, "%s%s", ks_buf_len(&missing) ? ", " : "", name);
    }
    int rc = 0;
    if (ks_buf_len(&missing) > 0)
        rc = ks_error_set(
            KS_EINVALID, "%s/Chart.yaml: found in Chart.yaml, but missing in charts/ directory: %s",
            c->name, ks_buf_data(&missing));
    ks_buf_release(&missing);
    return rc;
}

static int push_tpl(struct job *j, const struct tpl *t)
{
    if (j->ntpls == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 32;
        struct tpl *nv = realloc(j->tpls, ncap * sizeof(*nv));
        if (!nv)
            return ks_error_set(KS_ENOMEM, "out of memory rendering");
        j->tpls = nv;
        j->cap = ncap;
    }
    j->tpls[j->ntpls++] = *t;
    return 0;
}

static int push_crd(struct job *j, const char *full, const struct ks_chart_file *f)
{
    if (j->ncrds == j->crd_cap) {
        size_t ncap = j->crd_cap ? j->crd_cap * 2 : 8;
        struct ks_output_file *nv = realloc(j->crds, ncap * sizeof(*nv));
        char **np = realloc(j->crd_paths, ncap * sizeof(*np));
        if (nv)
            j->crds = nv;
        if (np)
            j->crd_paths = np;
        if (!nv || !np)
            return ks_error_set(KS_ENOMEM, "out of memory rendering");
        j->crd_cap = ncap;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", full, f->name);
    j->crd_paths[j->ncrds] = strdup(path);
    if (!j->crd_paths[j->ncrds])
        return ks_error_set(KS_ENOMEM, "out of memory rendering");
    j->crds[j->ncrds] = (struct ks_output_file){j->crd_paths[j->ncrds], f->data, f->len};
    j->ncrds++;
    return 0;
}

/* engine.recAllTpls: builds c's dot and collects its templates (and, for
 * the output, its CRDs: chart.CRDObjects order, parent first). */
static int collect(json_t **out_dot, struct job *j, struct ks_tpl_set *set,
                   const struct ks_chart *c, const json_t *parent_values, json_t *release,
                   json_t *caps)
{
    json_t *dot = NULL, *chart = NULL, *files = NULL, *subcharts = NULL, *values = NULL;
    int rc = 0;
    char full[4096];
    ks_chart_full_path(full, sizeof(full), c);

    rc = ks_builtin_chart(&chart, set, c->meta, c->parent == NULL);
    if (rc == 0)
        rc = ks_builtin_files(&files, set, &c->files);
    if (rc < 0)
        goto done;
    if (!c->parent) {
        values = json_incref((json_t *)parent_values);
    } else {
        json_t *v = json_object_get(parent_values, c->name);
        values = json_is_object(v) ? json_incref(v) : json_object();
    }
    subcharts = json_object();
    dot = json_object();
    if (!values || !subcharts || !dot) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    json_object_set(dot, "Chart", chart);
    json_object_set(dot, "Files", files);
    json_object_set(dot, "Release", release);
    json_object_set(dot, "Capabilities", caps);
    json_object_set(dot, "Values", values);
    json_object_set(dot, "Subcharts", subcharts);
    if (json_array_append(j->dots, dot) < 0) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    for (size_t i = 0; i < c->files.n; i++) {
        const char *n = c->files.v[i].name;
        if (strncmp(n, "crds/", 5) == 0 &&
            (has_suffix(n, ".yaml") || has_suffix(n, ".yml") || has_suffix(n, ".json"))) {
            rc = push_crd(j, full, &c->files.v[i]);
            if (rc < 0)
                goto done;
        }
    }
    for (size_t i = 0; i < c->ndeps; i++) {
        json_t *sub = NULL;
        rc = collect(&sub, j, set, c->deps[i], values, release, caps);
        if (rc < 0)
            goto done;
        json_object_set_new(subcharts, c->deps[i]->name, sub);
    }
    bool library = strcmp(json_string_value(json_object_get(c->meta, "Type")), "library") == 0;
    for (size_t i = 0; i < c->templates.n; i++) {
        const struct ks_chart_file *f = &c->templates.v[i];
        bool partial = base_name(f->name)[0] == '_';
        if (library && !partial)
            continue;
        struct tpl t = {0};
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s/%s", full, f->name);
        t.name = strdup(buf);
        snprintf(buf, sizeof(buf), "%s/templates", full);
        t.base_path = strdup(buf);
        t.file = f;
        t.dot = dot;
        t.partial = partial;
        if (!t.name || !t.base_path || push_tpl(j, &t) < 0) {
            free(t.name);
            free(t.base_path);
            rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
            goto done;
        }
    }
    *out_dot = json_incref(dot);
done:
    json_decref(dot);
    json_decref(chart);
    json_decref(files);
    json_decref(subcharts);
    json_decref(values);
    return rc;
}

/* Sorts j->tpls into helm's parse order using the engine's sort. */
static int sort_tpls(struct job *j)
{
    const char **names = calloc(j->ntpls + 1, sizeof(*names));
    struct tpl *sorted = calloc(j->ntpls + 1, sizeof(*sorted));
    int rc = 0;
    if (!names || !sorted) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    for (size_t i = 0; i < j->ntpls; i++)
        names[i] = j->tpls[i].name;
    ks_tpl_sort_helm(names, j->ntpls);
    for (size_t i = 0; i < j->ntpls; i++)
        for (size_t k = 0; k < j->ntpls; k++)
            if (j->tpls[k].name == names[i]) {
                sorted[i] = j->tpls[k];
                break;
            }
    memcpy(j->tpls, sorted, j->ntpls * sizeof(*sorted));
done:
    free(names);
    free(sorted);
    return rc;
}

static int build_values(json_t **out, struct ks_chart *chart, const json_t *user)
{
    struct ks_values_chart *vroot = NULL;
    int rc = ks_deps_values_tree(&vroot, chart, true);
    if (rc < 0)
        goto done;
    rc = ks_values_process_imports(vroot, NULL);
    if (rc < 0)
        goto done;
    rc = ks_values_coalesce(out, vroot, user, NULL);
    if (rc < 0)
        goto done;
    rc = ks_values_validate(vroot, *out);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
done:
    ks_values_chart_free(vroot);
    return rc;
}

/* Every integer in the final values came from --set (chart and -f values
 * are float64 as Helm reads YAML; --set-json numbers too): Go int64s. */
static int mark_int64(struct ks_tpl_set *set, json_t *v, unsigned depth)
{
    if (depth > KS_RENDER_MAX_VALUES_DEPTH)
        return ks_error_set(KS_ELIMIT, "values nested deeper than %d levels",
                            KS_RENDER_MAX_VALUES_DEPTH);
    int rc = 0;
    if (json_is_integer(v))
        return ks_tpl_mark_int64(set, v);
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if ((rc = mark_int64(set, x, depth + 1)) < 0)
                return rc;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if ((rc = mark_int64(set, x, depth + 1)) < 0)
                return rc;
        }
    }
    return rc;
}

static int execute_all(struct ks_buf *text, struct job *j, struct ks_tpl_set *set,
                       struct ks_output_file *files, size_t *nfiles, size_t **offsets)
{
    int rc = 0;
    for (size_t i = 0; i < j->ntpls; i++) {
        rc = ks_tpl_set_add(set, j->tpls[i].name, j->tpls[i].file->data, j->tpls[i].file->len);
        if (rc < 0)
            return rc;
    }
    *offsets = calloc(j->ntpls + 1, sizeof(**offsets));
    if (!*offsets)
        return ks_error_set(KS_ENOMEM, "out of memory rendering");
    for (size_t i = 0; i < j->ntpls; i++) {
        struct tpl *t = &j->tpls[i];
        if (t->partial)
            continue;
        json_t *tinfo = json_pack("{s:s, s:s}", "Name", t->name, "BasePath", t->base_path);
        if (!tinfo || json_object_set_new(t->dot, "Template", tinfo) < 0)
            return ks_error_set(KS_ENOMEM, "out of memory rendering");
        size_t start = ks_buf_len(text);
        rc = ks_tpl_execute(text, set, t->name, t->dot);
        if (rc < 0)
            return rc;
        if (has_suffix(t->name, "NOTES.txt")) {
            text->len = start; /* rendered, then dropped as helm does */
            text->data[start] = '\0';
            continue;
        }
        files[*nfiles] = (struct ks_output_file){t->name, NULL, ks_buf_len(text) - start};
        (*offsets)[*nfiles] = start;
        (*nfiles)++;
    }
    return ks_buf_error(text);
}

int ks_render_chart(struct ks_render_result *out, const char *chart_path,
                    const struct ks_render_opts *opts)
{
    struct ks_chart_limits lim;
    struct ks_chart *chart = NULL;
    struct ks_tpl_set *set = NULL, *semver = NULL;
    struct job j = {0};
    json_t *user = NULL, *values = NULL, *release = NULL, *caps = NULL, *root_dot = NULL;
    json_t *objects = NULL;
    struct ks_output_file *files = NULL;
    size_t nfiles = 0, *offsets = NULL;
    struct ks_buf text, result;
    struct ks_kube_version kv;
    size_t max_output = opts->max_output ? opts->max_output : KS_RENDER_DEFAULT_MAX_OUTPUT;
    ks_buf_init(&text, max_output);
    ks_buf_init(&result, max_output);
    int rc = 0;

    const char *name = opts->release_name ? opts->release_name : KS_RENDER_DEFAULT_RELEASE_NAME;
    const char *ns = opts->namespace_ ? opts->namespace_ : KS_RENDER_DEFAULT_NAMESPACE;
    rc = ks_builtin_kube_version(&kv, opts->kube_version ? opts->kube_version
                                                         : KS_HELM_DEFAULT_KUBE_VERSION);
    if (rc < 0)
        goto done;
    ks_chart_limits_init(
        &lim, opts->max_chart_bytes ? opts->max_chart_bytes : KS_RENDER_DEFAULT_MAX_CHART_BYTES,
        opts->max_files ? opts->max_files : KS_RENDER_DEFAULT_MAX_FILES,
        opts->max_depth ? opts->max_depth : KS_RENDER_DEFAULT_MAX_DEPTH);
    rc = ks_chart_load(&chart, chart_path, &lim);
    if (rc < 0)
        goto done;
    const char *type = json_string_value(json_object_get(chart->meta, "Type"));
    if (type[0] && strcmp(type, "application") != 0) {
        rc = ks_error_set(KS_EINVALID, "%s charts are not installable", type);
        goto done;
    }
    rc = check_dependencies(chart);
    if (rc < 0)
        goto done;
    rc = validate_release_name(name);
    if (rc < 0)
        goto done;
    user = opts->values ? json_deep_copy(opts->values) : json_object();
    if (!user) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    rc = ks_deps_semver_init(&semver);
    if (rc < 0)
        goto done;
    const char *kube_range = json_string_value(json_object_get(chart->meta, "KubeVersion"));
    if (kube_range[0] && !ks_deps_compatible(semver, kube_range, kv.version)) {
        rc = ks_error_set(KS_EINVALID,
                          "chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
                          kube_range, kv.version);
        goto done;
    }
    rc = ks_deps_process(chart, user, semver);
    if (rc < 0)
        goto done;
    rc = build_values(&values, chart, user);
    if (rc < 0)
        goto done;

    rc = ks_tpl_set_new(&set, NULL, KS_TPL_HELM, func_tables,
                        sizeof(func_tables) / sizeof(func_tables[0]));
    if (rc < 0)
        goto done;
    release = json_pack("{s:s, s:s, s:b, s:b, s:i, s:s}", "Name", name, "Namespace", ns,
                        "IsUpgrade", opts->is_upgrade, "IsInstall", !opts->is_upgrade, "Revision",
                        1, "Service", "Helm");
    j.dots = json_array();
    if (!release || !j.dots) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    rc = mark_int64(set, values, 0);
    if (rc < 0)
        goto done;
    rc = ks_builtin_capabilities(&caps, set, &kv, opts->api_versions, opts->n_api_versions);
    if (rc < 0)
        goto done;
    rc = collect(&root_dot, &j, set, chart, values, release, caps);
    if (rc < 0)
        goto done;
    rc = sort_tpls(&j);
    if (rc < 0)
        goto done;
    files = calloc(j.ntpls + 1, sizeof(*files));
    if (!files) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    rc = execute_all(&text, &j, set, files, &nfiles, &offsets);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < nfiles; i++)
        files[i].content = ks_buf_data(&text) + offsets[i];

    struct ks_output_opts oo = {
        .include_crds = opts->include_crds,
        .skip_tests = opts->skip_tests,
        .no_hooks = opts->no_hooks,
        .show_only = opts->show_only,
        .n_show_only = opts->n_show_only,
    };
    objects = opts->text_only ? NULL : json_array();
    if (!opts->text_only && !objects) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    rc = ks_output_build(&result, objects, files, nfiles, j.crds, j.ncrds, &oo);
    if (rc < 0)
        goto done;
    size_t len = 0;
    char *s = ks_buf_detach(&result, &len);
    if (!s) {
        rc = ks_error_set(KS_ENOMEM, "out of memory rendering");
        goto done;
    }
    out->text = s;
    out->len = len;
    out->objects = objects;
    objects = NULL;
done:
    free(files);
    free(offsets);
    job_release(&j);
    json_decref(root_dot);
    json_decref(user);
    json_decref(values);
    json_decref(release);
    json_decref(caps);
    json_decref(objects);
    ks_tpl_set_free(set);
    ks_tpl_set_free(semver);
    ks_chart_free(chart);
    ks_buf_release(&text);
    ks_buf_release(&result);
    return rc;
}

void ks_render_result_release(struct ks_render_result *r)
{
    if (!r)
        return;
    free(r->text);
    json_decref(r->objects);
    r->text = NULL;
    r->objects = NULL;
    r->len = 0;
}

int ks_render_name_template(char **out, const char *tmpl)
{
    struct ks_tpl_set *set = NULL;
    struct ks_buf b;
    ks_buf_init(&b, 64 * 1024);
    int rc =
        ks_tpl_set_new(&set, NULL, 0, func_tables, sizeof(func_tables) / sizeof(func_tables[0]));
    if (rc < 0)
        goto done;
    rc = ks_tpl_set_add(set, "name-template", tmpl, strlen(tmpl));
    if (rc < 0)
        goto done;
    rc = ks_tpl_execute(&b, set, "name-template", NULL);
    if (rc < 0)
        goto done;
    size_t len;
    char *s = ks_buf_detach(&b, &len);
    if (!s) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = s;
done:
    ks_tpl_set_free(set);
    ks_buf_release(&b);
    return rc;
}
