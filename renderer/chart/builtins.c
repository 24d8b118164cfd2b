/*
 * builtins.c: the Go-typed built-in objects templates reach: .Files (helm's
 * engine.files: Get, GetBytes, Glob, Lines, AsConfig, AsSecrets),
 * .Capabilities (KubeVersion with String/GitVersion, APIVersions.Has,
 * HelmVersion) and .Chart (a struct, so an unknown field is an error).
 *
 * They are host objects of the template engine (template.h): plain members
 * are what printing and range see (a Files object is a map of path ->
 * content, so `range $path, $_ := .Files` works), methods are found first.
 * Files only ever hold what the loader read from inside the chart, so no
 * method can reach outside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/builtins.h"
#include "renderer/funcs/funcs.h"
#include "renderer/goenc.h"
#include "renderer/gofmt.h"
#include "renderer/template.h"

#define MAX_GLOB_ALTERNATIVES 1024

/* ---- shared helpers ---- */

/* Go's typed string parameter (the function library's rule and message). */
static int arg_string(const char **out, struct ks_tpl_call *call, const json_t *v)
{
    size_t len;
    return ks_funcs_arg_str(out, &len, call, v);
}

static int ret(json_t **out, struct ks_tpl_call *call, json_t *v)
{
    if (!v)
        return ks_tpl_call_error(call, KS_ENOMEM, "out of memory");
    *out = v;
    return 0;
}

/* ---- .Files ---- */

static const struct ks_tpl_host_type files_type;

static void files_release(void *self)
{
    json_decref((json_t *)self);
}

static int files_get(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                     size_t nargs)
{
    const char *name;
    int rc = arg_string(&name, call, args[0]);
    if (rc < 0)
        return rc;
    json_t *v = json_object_get((json_t *)self, name);
    return ret(out, call, v ? json_incref(v) : json_string(""));
}

static int files_lines(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                       size_t nargs)
{
    const char *name;
    int rc = arg_string(&name, call, args[0]);
    if (rc < 0)
        return rc;
    json_t *list = json_array();
    json_t *v = json_object_get((json_t *)self, name);
    if (!list)
        return ret(out, call, NULL);
    if (v) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len > 0 && s[len - 1] == '\n')
            len--;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i == len || s[i] == '\n') {
                json_array_append_new(list, json_stringn_nocheck(s + start, i - start));
                start = i + 1;
            }
        }
    }
    return ret(out, call, list);
}

/* gobwas/glob with '/' as separator: '*' stays within a path segment,
 * '**' crosses segments, '?', '[...]' / '[!...]' classes, '\' escapes.
 * {a,b} alternatives are expanded before matching. */
static bool glob_simple(const char *p, const char *s)
{
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            while (*p == '*')
                p++;
            for (const char *t = s;; t++) {
                if (glob_simple(p, t))
                    return true;
                if (!*t)
                    return false;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *t = s;; t++) {
                if (glob_simple(p, t))
                    return true;
                if (!*t || *t == '/')
                    return false;
            }
        }
        if (!*s)
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
            p++, s++;
            continue;
        }
        if (*p == '[') {
            const char *q = p + 1;
            bool neg = false, hit = false;
            if (*q == '!') {
                neg = true;
                q++;
            }
            while (*q && *q != ']') {
                unsigned char lo = (unsigned char)*q, hi = lo;
                if (q[1] == '-' && q[2] && q[2] != ']') {
                    hi = (unsigned char)q[2];
                    q += 3;
                } else {
                    q++;
                }
                if ((unsigned char)*s >= lo && (unsigned char)*s <= hi)
                    hit = true;
            }
            if (!*q)
                return false;
            if (hit == neg)
                return false;
            p = q + 1;
            s++;
            continue;
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *s)
            return false;
        p++, s++;
    }
    return !*s;
}

/* Expands the first {a,b,...} group of pattern and matches each
 * alternative; *budget bounds the total work. */
static bool glob_match(const char *pattern, const char *s, int *budget)
{
    if (--*budget < 0)
        return false;
    const char *open = NULL;
    for (const char *p = pattern; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '{') {
            open = p;
            break;
        }
    }
    if (!open)
        return glob_simple(pattern, s);
    int depth = 0;
    const char *close = NULL;
    for (const char *p = open; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '{')
            depth++;
        else if (*p == '}' && --depth == 0) {
            close = p;
            break;
        }
    }
    if (!close)
        return false;
    size_t plen = strlen(pattern);
    char *buf = malloc(plen + 1);
    if (!buf)
        return false;
    bool matched = false;
    const char *alt = open + 1;
    depth = 0;
    for (const char *p = open + 1; p <= close && !matched; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '{')
            depth++;
        else if (*p == '}' && depth > 0)
            depth--;
        else if ((*p == ',' && depth == 0) || p == close) {
            size_t pre = (size_t)(open - pattern), al = (size_t)(p - alt);
            memcpy(buf, pattern, pre);
            memcpy(buf + pre, alt, al);
            memcpy(buf + pre + al, close + 1, strlen(close + 1) + 1);
            matched = glob_match(buf, s, budget);
            alt = p + 1;
        }
    }
    free(buf);
    return matched;
}

static int files_glob(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                      size_t nargs)
{
    const char *pattern;
    int rc = arg_string(&pattern, call, args[0]);
    if (rc < 0)
        return rc;
    json_t *sub = json_object();
    if (!sub)
        return ret(out, call, NULL);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)self, key, v)
    {
        int budget = MAX_GLOB_ALTERNATIVES;
        if (glob_match(pattern, key, &budget))
            json_object_set(sub, key, v);
    }
    json_incref(sub); /* one reference for self, one stolen as fields */
    return ks_tpl_call_host_new(out, call, &files_type, sub, sub);
}

static int base64_encode(struct ks_buf *b, const char *s, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)(unsigned char)s[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)(unsigned char)s[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)s[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                     i + 1 < len ? tbl[(v >> 6) & 63] : '=', i + 2 < len ? tbl[v & 63] : '='};
        ks_buf_put(b, q, 4);
    }
    return ks_buf_error(b);
}

/* AsConfig / AsSecrets: base name -> content (or base64), as helm's toYAML
 * (yaml.Marshal minus one trailing newline). */
static int files_as_map(json_t **out, struct ks_tpl_call *call, json_t *files, bool secrets)
{
    json_t *m = json_object();
    struct ks_buf b;
    ks_buf_init(&b, 0);
    int rc = 0;
    if (!m) {
        rc = ks_tpl_call_error(call, KS_ENOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(files, key, v)
    {
        const char *base = strrchr(key, '/');
        base = base ? base + 1 : key;
        if (secrets) {
            ks_buf_reset(&b);
            rc = base64_encode(&b, json_string_value(v), json_string_length(v));
            if (rc < 0)
                goto done;
            json_object_set_new(m, base, json_stringn(ks_buf_data(&b), ks_buf_len(&b)));
        } else {
            json_object_set(m, base, v);
        }
    }
    ks_buf_reset(&b);
    rc = ks_goyaml_marshal(&b, m);
    if (rc < 0)
        goto done;
    size_t len = ks_buf_len(&b);
    if (len > 0 && ks_buf_data(&b)[len - 1] == '\n')
        len--;
    rc = ret(out, call, json_stringn_nocheck(ks_buf_data(&b), len));
done:
    json_decref(m);
    ks_buf_release(&b);
    return rc;
}

static int files_as_config(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                           size_t nargs)
{
    return files_as_map(out, call, (json_t *)self, false);
}

static int files_as_secrets(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                            size_t nargs)
{
    return files_as_map(out, call, (json_t *)self, true);
}

static const struct ks_tpl_method files_methods[] = {
    {"Get", files_get, 1, 1},
    {"GetBytes", files_get, 1, 1},
    {"Glob", files_glob, 1, 1},
    {"Lines", files_lines, 1, 1},
    {"AsConfig", files_as_config, 0, 0},
    {"AsSecrets", files_as_secrets, 0, 0},
    {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type files_type = {
    .go_type = "engine.files", /* a map type: a missing file is no value */
    .methods = files_methods,
    .release = files_release,
};

int ks_builtin_files(json_t **out, struct ks_tpl_set *set, const struct ks_chart_files *files)
{
    json_t *m = json_object();
    if (!m)
        return ks_error_set(KS_ENOMEM, "out of memory building .Files");
    for (size_t i = 0; i < files->n; i++) {
        json_t *s = json_stringn_nocheck(files->v[i].data, files->v[i].len);
        if (!s || json_object_set_new(m, files->v[i].name, s) < 0) {
            json_decref(m);
            return ks_error_set(KS_ENOMEM, "out of memory building .Files");
        }
    }
    json_incref(m);
    return ks_tpl_host_new(out, set, &files_type, m, m);
}

/* ---- .Capabilities ---- */

static void string_release(void *self)
{
    free(self);
}

static int kube_string(struct ks_buf *out, void *self)
{
    return ks_buf_puts(out, (const char *)self);
}

static int kube_git_version(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                            size_t nargs)
{
    return ret(out, call, json_string((const char *)self));
}

static const struct ks_tpl_method kube_methods[] = {
    {"GitVersion", kube_git_version, 0, 0},
    {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type kube_type = {
    .go_type = "chartutil.KubeVersion",
    .methods = kube_methods,
    .string = kube_string,
    .release = string_release,
    .is_struct = 1,
};

static int api_has(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                   size_t nargs)
{
    const char *v;
    int rc = arg_string(&v, call, args[0]);
    if (rc < 0)
        return rc;
    json_t *list = self;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_array_get(list, i)), v) == 0)
            return ret(out, call, json_true());
    return ret(out, call, json_false());
}

static int api_string(struct ks_buf *out, void *self)
{
    json_t *list = self;
    ks_buf_putc(out, '[');
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (i)
            ks_buf_putc(out, ' ');
        ks_buf_puts(out, json_string_value(json_array_get(list, i)));
    }
    ks_buf_putc(out, ']');
    return ks_buf_error(out);
}

static const struct ks_tpl_method api_methods[] = {
    {"Has", api_has, 1, 1},
    {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type api_type = {
    .go_type = "chartutil.VersionSet",
    .methods = api_methods,
    .string = api_string,
    .release = files_release, /* self is a json array reference */
    .is_struct = 1,           /* a slice type: it has no fields at all */
};

/* helm's version.BuildInfo, printed as Go prints a struct: {v3.17.3 ...}.
 * The commit and Go version of the reproduced release are not known here
 * and stay empty. */
static int helm_string(struct ks_buf *out, void *self)
{
    json_t *f = self;
    return ks_buf_printf(out, "{%s %s %s %s}", json_string_value(json_object_get(f, "Version")),
                         json_string_value(json_object_get(f, "GitCommit")),
                         json_string_value(json_object_get(f, "GitTreeState")),
                         json_string_value(json_object_get(f, "GoVersion")));
}

static const struct ks_tpl_host_type helm_type = {
    .go_type = "version.BuildInfo",
    .string = helm_string,
    .release = files_release, /* self is a reference to the fields */
    .is_struct = 1,
};

static const struct ks_tpl_host_type caps_type = {.go_type = "*chartutil.Capabilities",
                                                  .is_struct = 1};
/* `{{ .Chart }}` prints Go's %v of helm's chart struct: the Metadata fields
 * in declaration order inside braces, then IsRoot. self is the fields
 * object (a reference the set releases). Maintainers and Dependencies are
 * pointers in Go and print as addresses there; here they print as values. */
static int chart_string(struct ks_buf *out, void *self)
{
    static const char *const order[] = {
        "Name",        "Home",        "Sources",     "Version",      "Description", "Keywords",
        "Maintainers", "Icon",        "APIVersion",  "Condition",    "Tags",        "AppVersion",
        "Deprecated",  "Annotations", "KubeVersion", "Dependencies", "Type",        NULL};
    const json_t *fields = self;
    ks_buf_puts(out, "{{");
    for (size_t i = 0; order[i]; i++) {
        if (i)
            ks_buf_putc(out, ' ');
        const json_t *v = json_object_get(fields, order[i]);
        if (v)
            ks_gofmt_print_value(out, v);
    }
    ks_buf_puts(out, "} ");
    ks_gofmt_print_value(out, json_object_get(fields, "IsRoot"));
    ks_buf_putc(out, '}');
    return ks_buf_error(out);
}

static void chart_release(void *self)
{
    json_decref(self);
}

static const struct ks_tpl_host_type chart_type = {
    .go_type = "chart.Metadata", .string = chart_string, .release = chart_release, .is_struct = 1};

/* client-go v0.32 scheme group versions plus apiextensions (helm 3.17's
 * chartutil.DefaultVersionSet), in the scheme's priority order. */
static const char *const default_api_versions[] = {
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1alpha1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1alpha1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
};

int ks_builtin_kube_version(struct ks_kube_version *out, const char *text)
{
    const char *s = text;
    if (*s == 'v' || *s == 'V')
        s++;
    long long major, minor, patch;
    if (ks_chart_semver_parse(s, &major, &minor, &patch) < 0)
        return ks_error_set(KS_EINVALID, "invalid kube version \"%s\": Invalid Semantic Version",
                            text);
    const char *rest = s;
    while (*rest && *rest != '-' && *rest != '+')
        rest++;
    snprintf(out->version, sizeof(out->version), "v%lld.%lld.%lld%s", major, minor, patch, rest);
    snprintf(out->major, sizeof(out->major), "%lld", major);
    snprintf(out->minor, sizeof(out->minor), "%lld", minor);
    return 0;
}

int ks_builtin_capabilities(json_t **out, struct ks_tpl_set *set, const struct ks_kube_version *kv,
                            const char *const *extra, size_t nextra)
{
    json_t *kube = NULL, *api = NULL, *list = NULL, *caps = NULL, *helm = NULL;
    char *self = NULL;
    int rc = 0;
    list = json_array();
    if (!list)
        goto nomem;
    for (size_t i = 0; i < sizeof(default_api_versions) / sizeof(default_api_versions[0]); i++)
        json_array_append_new(list, json_string(default_api_versions[i]));
    for (size_t i = 0; i < nextra; i++)
        json_array_append_new(list, json_string(extra[i]));
    self = strdup(kv->version);
    if (!self)
        goto nomem;
    rc = ks_tpl_host_new(&kube, set, &kube_type, self,
                         json_pack("{s:s, s:s, s:s}", "Version", kv->version, "Major", kv->major,
                                   "Minor", kv->minor));
    self = NULL;
    if (rc < 0)
        goto done;
    json_incref(list);
    rc = ks_tpl_host_new(&api, set, &api_type, list, json_object());
    if (rc < 0)
        goto done;
    json_t *hfields = json_pack("{s:s, s:s, s:s, s:s}", "Version", KS_HELM_VERSION, "GitCommit", "",
                                "GitTreeState", "clean", "GoVersion", "");
    if (!hfields)
        goto nomem;
    json_incref(hfields);
    rc = ks_tpl_host_new(&helm, set, &helm_type, hfields, hfields);
    if (rc < 0)
        goto done;
    json_t *fields =
        json_pack("{s:O, s:O, s:O}", "APIVersions", api, "KubeVersion", kube, "HelmVersion", helm);
    if (!fields)
        goto nomem;
    rc = ks_tpl_host_new(&caps, set, &caps_type, NULL, fields);
    if (rc < 0)
        goto done;
    *out = caps;
    caps = NULL;
    goto done;
nomem:
    rc = ks_error_set(KS_ENOMEM, "out of memory building .Capabilities");
done:
    free(self);
    json_decref(kube);
    json_decref(api);
    json_decref(helm);
    json_decref(list);
    json_decref(caps);
    return rc;
}

int ks_builtin_chart(json_t **out, struct ks_tpl_set *set, const json_t *meta, bool is_root)
{
    json_t *fields = json_deep_copy(meta);
    if (!fields || json_object_set_new(fields, "IsRoot", json_boolean(is_root)) < 0) {
        json_decref(fields);
        return ks_error_set(KS_ENOMEM, "out of memory building .Chart");
    }
    return ks_tpl_host_new(out, set, &chart_type, json_incref(fields), fields);
}
