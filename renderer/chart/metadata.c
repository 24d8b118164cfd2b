/*
 * metadata.c: Chart.yaml as helm's chart.Metadata struct.
 *
 * Helm decodes Chart.yaml with sigs.k8s.io/yaml into a Go struct, so
 * templates see Go field names (.Chart.AppVersion, .Chart.APIVersion), every
 * field exists with its zero value, scalars given to string fields become
 * strings (appVersion: 1.10 reads back as "1.1": go-yaml's float, printed
 * with FormatFloat 'g' at 32-bit precision), and a wrong shape is an error.
 * Metadata.Validate's checks follow (name, version as semver, type,
 * dependency aliases, duplicate dependency names).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/chart/chart.h"

enum ftype { F_STR, F_STRS, F_BOOL, F_MAP, F_MAINT, F_DEPS, F_ANY };

struct field {
    const char *yaml;
    const char *go;
    enum ftype type;
};

static const struct field meta_fields[] = {
    {"name", "Name", F_STR},
    {"home", "Home", F_STR},
    {"sources", "Sources", F_STRS},
    {"version", "Version", F_STR},
    {"description", "Description", F_STR},
    {"keywords", "Keywords", F_STRS},
    {"maintainers", "Maintainers", F_MAINT},
    {"icon", "Icon", F_STR},
    {"apiVersion", "APIVersion", F_STR},
    {"condition", "Condition", F_STR},
    {"tags", "Tags", F_STR},
    {"appVersion", "AppVersion", F_STR},
    {"deprecated", "Deprecated", F_BOOL},
    {"annotations", "Annotations", F_MAP},
    {"kubeVersion", "KubeVersion", F_STR},
    {"dependencies", "Dependencies", F_DEPS},
    {"type", "Type", F_STR},
    {NULL, NULL, F_ANY},
};

static const struct field maint_fields[] = {
    {"name", "Name", F_STR},
    {"email", "Email", F_STR},
    {"url", "URL", F_STR},
    {NULL, NULL, F_ANY},
};

static const struct field dep_fields[] = {
    {"name", "Name", F_STR},
    {"version", "Version", F_STR},
    {"repository", "Repository", F_STR},
    {"condition", "Condition", F_STR},
    {"tags", "Tags", F_STRS},
    {"enabled", "Enabled", F_BOOL},
    {"import-values", "ImportValues", F_ANY},
    {"alias", "Alias", F_STR},
    {NULL, NULL, F_ANY},
};

/* helm's sanitizeString: whitespace becomes ' ', control characters go. */
static void sanitize(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        unsigned char c = (unsigned char)*r;
        if (isspace(c))
            *w++ = ' ';
        else if (c < 0x20 || c == 0x7f)
            continue;
        else
            *w++ = (char)c;
    }
    *w = '\0';
}

/* sigs.k8s.io/yaml: a float for a string target is FormatFloat(f,'g',-1,32);
 * integers (which Helm's reader also holds as float64) print as integers. */
static void float_string(char *buf, size_t size, double f)
{
    if (isinf(f)) {
        snprintf(buf, size, "%s", f > 0 ? ".inf" : "-.inf");
        return;
    }
    if (isnan(f)) {
        snprintf(buf, size, ".nan");
        return;
    }
    if (f == floor(f) && fabs(f) < 1e15) {
        snprintf(buf, size, "%lld", (long long)f);
        return;
    }
    float g = (float)f;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)g);
        if (strtof(buf, NULL) == g)
            return;
    }
}

static int to_string(json_t **out, const json_t *v, const char *where, const char *field)
{
    char buf[64];
    if (!v || json_is_null(v)) {
        *out = json_string("");
    } else if (json_is_string(v)) {
        char *s = strdup(json_string_value(v));
        if (!s)
            return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
        sanitize(s);
        *out = json_string(s);
        free(s);
    } else if (json_is_boolean(v)) {
        *out = json_string(json_is_true(v) ? "true" : "false");
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        *out = json_string(buf);
    } else if (json_is_real(v)) {
        float_string(buf, sizeof(buf), json_real_value(v));
        *out = json_string(buf);
    } else {
        return ks_error_set(KS_EINVALID,
                            "%s: cannot load Chart.yaml: field %s must be a string, not a %s",
                            where, field, json_is_array(v) ? "list" : "map");
    }
    if (!*out)
        return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
    return 0;
}

static int build_struct(json_t **out, const json_t *src, const struct field *fields,
                        const char *where, const char *what);

static int convert(json_t **out, const json_t *v, enum ftype type, const char *where,
                   const char *field)
{
    bool absent = !v || json_is_null(v);
    switch (type) {
    case F_STR:
        return to_string(out, v, where, field);
    case F_BOOL:
        if (!absent && !json_is_boolean(v))
            return ks_error_set(KS_EINVALID, "%s: cannot load Chart.yaml: field %s must be a bool",
                                where, field);
        *out = json_boolean(!absent && json_is_true(v));
        return 0;
    case F_ANY:
        *out = absent ? json_array() : json_deep_copy(v);
        break;
    case F_MAP: {
        if (!absent && !json_is_object(v))
            return ks_error_set(KS_EINVALID, "%s: cannot load Chart.yaml: field %s must be a map",
                                where, field);
        *out = json_object();
        const char *k;
        const json_t *e;
        if (!absent)
            json_object_foreach((json_t *)v, k, e)
            {
                json_t *s = NULL;
                int rc = to_string(&s, e, where, field);
                if (rc < 0)
                    return rc;
                json_object_set_new(*out, k, s);
            }
        break;
    }
    case F_STRS:
    case F_MAINT:
    case F_DEPS: {
        if (!absent && !json_is_array(v))
            return ks_error_set(KS_EINVALID, "%s: cannot load Chart.yaml: field %s must be a list",
                                where, field);
        *out = json_array();
        size_t i;
        const json_t *e;
        if (!absent)
            json_array_foreach(v, i, e)
            {
                json_t *x = NULL;
                int rc;
                if (type == F_STRS)
                    rc = to_string(&x, e, where, field);
                else if (json_is_null(e) && type == F_DEPS)
                    return ks_error_set(KS_EINVALID,
                                        "%s: validation: dependencies must not contain empty or "
                                        "null nodes",
                                        where);
                else
                    rc = build_struct(&x, e, type == F_MAINT ? maint_fields : dep_fields, where,
                                      field);
                if (rc < 0)
                    return rc;
                json_array_append_new(*out, x);
            }
        break;
    }
    }
    if (!*out)
        return ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
    return 0;
}

static int build_struct(json_t **out, const json_t *src, const struct field *fields,
                        const char *where, const char *what)
{
    json_t *o = NULL;
    int rc = 0;
    if (src && !json_is_null(src) && !json_is_object(src)) {
        rc = ks_error_set(KS_EINVALID, "%s: cannot load Chart.yaml: %s entries must be maps", where,
                          what);
        goto done;
    }
    o = json_object();
    if (!o) {
        rc = ks_error_set(KS_ENOMEM, "out of memory reading %s", where);
        goto done;
    }
    for (const struct field *f = fields; f->yaml; f++) {
        json_t *v = NULL;
        rc = convert(&v, src ? json_object_get(src, f->yaml) : NULL, f->type, where, f->yaml);
        if (rc < 0)
            goto done;
        json_object_set_new(o, f->go, v);
    }
    *out = o;
    o = NULL;
done:
    json_decref(o);
    return rc;
}

int ks_chart_semver_parse(const char *s, long long *major, long long *minor, long long *patch)
{
    long long parts[3] = {0, 0, 0};
    const char *p = s;
    if (*p == 'v' || *p == 'V')
        p++;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            return KS_EINVALID;
        if (*p == '0' && isdigit((unsigned char)p[1]))
            return KS_EINVALID;
        char *end = NULL;
        parts[i] = strtoll(p, &end, 10);
        p = end;
        if (*p != '.')
            break;
        p++;
        if (i == 2)
            return KS_EINVALID;
    }
    if (*p == '-') {
        p++;
        if (!*p || *p == '+')
            return KS_EINVALID;
        while (*p && *p != '+') {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
                return KS_EINVALID;
            p++;
        }
    }
    if (*p == '+') {
        p++;
        if (!*p)
            return KS_EINVALID;
        while (*p) {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
                return KS_EINVALID;
            p++;
        }
    }
    if (*p)
        return KS_EINVALID;
    *major = parts[0];
    *minor = parts[1];
    *patch = parts[2];
    return 0;
}

static bool alias_ok(const char *a)
{
    for (; *a; a++)
        if (!isalnum((unsigned char)*a) && *a != '_' && *a != '-')
            return false;
    return true;
}

static int validate(json_t *m, const char *where)
{
    const char *api = json_string_value(json_object_get(m, "APIVersion"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    const char *version = json_string_value(json_object_get(m, "Version"));
    const char *type = json_string_value(json_object_get(m, "Type"));
    long long a, b, c;
    if (api[0] == '\0')
        return ks_error_set(KS_EINVALID, "%s: validation: chart.metadata.apiVersion is required",
                            where);
    if (name[0] == '\0')
        return ks_error_set(KS_EINVALID, "%s: validation: chart.metadata.name is required", where);
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return ks_error_set(KS_EINVALID, "%s: validation: chart.metadata.name \"%s\" is invalid",
                            where, name);
    if (version[0] == '\0')
        return ks_error_set(KS_EINVALID, "%s: validation: chart.metadata.version is required",
                            where);
    if (ks_chart_semver_parse(version, &a, &b, &c) < 0)
        return ks_error_set(KS_EINVALID, "%s: validation: chart.metadata.version \"%s\" is invalid",
                            where, version);
    if (type[0] && strcmp(type, "application") != 0 && strcmp(type, "library") != 0)
        return ks_error_set(KS_EINVALID,
                            "%s: validation: chart.metadata.type must be application or library",
                            where);
    json_t *deps = json_object_get(m, "Dependencies");
    for (size_t i = 0; i < json_array_size(deps); i++) {
        json_t *d = json_array_get(deps, i);
        const char *dn = json_string_value(json_object_get(d, "Name"));
        const char *al = json_string_value(json_object_get(d, "Alias"));
        if (al[0] && !alias_ok(al))
            return ks_error_set(KS_EINVALID,
                                "%s: validation: dependency \"%s\" has disallowed characters in "
                                "the alias",
                                where, dn);
        const char *key = al[0] ? al : dn;
        for (size_t k = 0; k < i; k++) {
            json_t *e = json_array_get(deps, k);
            const char *ea = json_string_value(json_object_get(e, "Alias"));
            const char *ek = ea[0] ? ea : json_string_value(json_object_get(e, "Name"));
            if (strcmp(ek, key) == 0)
                return ks_error_set(KS_EINVALID,
                                    "%s: validation: more than one dependency with name or "
                                    "alias \"%s\"",
                                    where, key);
        }
    }
    return 0;
}

int ks_chart_metadata_build(json_t **out, const json_t *chart_yaml, const json_t *requirements,
                            const char *where)
{
    json_t *m = NULL;
    int rc = build_struct(&m, chart_yaml, meta_fields, where, "Chart.yaml");
    if (rc < 0)
        goto done;
    if (json_string_length(json_object_get(m, "APIVersion")) == 0)
        json_object_set_new(m, "APIVersion", json_string("v1"));
    if (requirements && json_is_object(requirements)) {
        const json_t *rd = json_object_get(requirements, "dependencies");
        if (rd && !json_is_null(rd)) {
            json_t *deps = NULL;
            rc = convert(&deps, rd, F_DEPS, where, "dependencies");
            if (rc < 0)
                goto done;
            json_object_set_new(m, "Dependencies", deps);
        }
    }
    rc = validate(m, where);
    if (rc < 0)
        goto done;
    *out = m;
    m = NULL;
done:
    json_decref(m);
    return rc;
}
