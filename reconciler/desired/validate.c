/*
 * validate.c: checks on the desired set as a whole, then sorting and
 * hashing (ks_desired_finish). Per-object: name syntax (DNS-1123), label
 * syntax, workload selectors matching their pod template labels. Across
 * objects: duplicate identities (naming both sources), references from pod
 * specs to ConfigMaps and Secrets of the same namespace, and cycles in
 * keelson.io/depends-on annotations. The hash covers the sorted canonical
 * JSON, so it depends only on content.
 */
#include "reconciler/desired/internal.h"

#include "core/buf.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/labels.h"
#include "core/object.h"

#include <stdlib.h>
#include <string.h>

#define DEPENDS_ON_ANNOTATION "keelson.io/depends-on"

static int obj_cmp(const void *a, const void *b)
{
    const struct ks_desired_object *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    if (!c)
        c = strcmp(x->namespace_, y->namespace_);
    if (!c)
        c = strcmp(x->name, y->name);
    return c;
}

static int fail(const struct ks_desired_object *o, const char *fmt, const char *detail_in)
{
    struct ks_pos p = {o->file, o->line, 0};
    /* detail may be ks_error_last(), which the call below overwrites */
    char detail_copy[1024];
    snprintf(detail_copy, sizeof detail_copy, "%s", detail_in ? detail_in : "");
    const char *detail = detail_in ? detail_copy : NULL;
    char id[600];
    snprintf(id, sizeof id, "%s %s%s%s", o->kind, o->namespace_, o->namespace_[0] ? "/" : "",
             o->name);
    if (strcmp(o->source, o->file) != 0 && strchr(o->source, '('))
        return ks_error_set_at(KS_EINVALID, &p, "%s (from %s): %s%s", id, o->source, fmt,
                               detail ? detail : "");
    return ks_error_set_at(KS_EINVALID, &p, "%s: %s%s", id, fmt, detail ? detail : "");
}

static bool name_is_label(const char *kind)
{
    return strcmp(kind, "Namespace") == 0 || strcmp(kind, "Service") == 0;
}

static int check_names(const struct ks_desired_object *o)
{
    int rc = name_is_label(o->kind) ? ks_dns1123_label_validate(o->name)
                                    : ks_dns1123_subdomain_validate(o->name);
    if (rc)
        return fail(o, "invalid name: ", ks_error_last());
    if (o->namespace_[0] && ks_dns1123_label_validate(o->namespace_))
        return fail(o, "invalid namespace: ", ks_error_last());
    json_t *labels = json_object_get(json_object_get(o->object, "metadata"), "labels");
    if (labels && (!json_is_object(labels) || ks_labels_validate(labels)))
        return fail(
            o, "invalid labels: ", json_is_object(labels) ? ks_error_last() : "must be a mapping");
    return 0;
}

static bool is_workload(const char *kind)
{
    return strcmp(kind, "Deployment") == 0 || strcmp(kind, "ReplicaSet") == 0 ||
           strcmp(kind, "DaemonSet") == 0 || strcmp(kind, "StatefulSet") == 0;
}

static int check_selector(const struct ks_desired_object *o)
{
    if (!is_workload(o->kind))
        return 0;
    json_t *spec = json_object_get(o->object, "spec");
    json_t *selector = json_object_get(spec, "selector");
    if (!json_is_object(selector))
        return fail(o, "spec.selector is required", NULL);
    struct ks_selector *sel = NULL;
    if (ks_selector_from_json(&sel, selector))
        return fail(o, "spec.selector: ", ks_error_last());
    int rc = 0;
    const json_t *labels =
        json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
    if (ks_selector_is_empty(sel))
        rc = fail(o, "spec.selector must not be empty", NULL);
    else if (!ks_selector_matches(sel, labels))
        rc = fail(o, "spec.selector does not match spec.template.metadata.labels", NULL);
    ks_selector_free(sel);
    return rc;
}

/* The pod spec of a Pod or of a workload's template (CronJob: jobTemplate). */
static const json_t *pod_spec(const struct ks_desired_object *o)
{
    const json_t *spec = json_object_get(o->object, "spec");
    if (strcmp(o->kind, "Pod") == 0)
        return spec;
    if (strcmp(o->kind, "CronJob") == 0)
        spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
    return json_object_get(json_object_get(spec, "template"), "spec");
}

static int check_ref(const struct ks_desired_set *set, const struct ks_desired_object *o,
                     const char *kind, const json_t *ref, const char *name_field)
{
    if (!json_is_object(ref) || json_is_true(json_object_get(ref, "optional")))
        return 0;
    const char *name = json_string_value(json_object_get(ref, name_field));
    if (!name)
        return 0;
    if (ks_desired_find(set, kind, o->namespace_, name))
        return 0;
    char detail[600];
    snprintf(detail, sizeof detail, "%s \"%s\" in namespace \"%s\"", kind, name, o->namespace_);
    return fail(o, "references a missing ", detail);
}

static int check_container_refs(const struct ks_desired_set *set, const struct ks_desired_object *o,
                                const json_t *containers)
{
    size_t i, j;
    const json_t *c, *e;
    int rc = 0;
    json_array_foreach(containers, i, c)
    {
        json_array_foreach(json_object_get(c, "env"), j, e)
        {
            const json_t *from = json_object_get(e, "valueFrom");
            if ((rc = check_ref(set, o, "ConfigMap", json_object_get(from, "configMapKeyRef"),
                                "name")) ||
                (rc = check_ref(set, o, "Secret", json_object_get(from, "secretKeyRef"), "name")))
                return rc;
        }
        json_array_foreach(json_object_get(c, "envFrom"), j, e)
        {
            if ((rc = check_ref(set, o, "ConfigMap", json_object_get(e, "configMapRef"), "name")) ||
                (rc = check_ref(set, o, "Secret", json_object_get(e, "secretRef"), "name")))
                return rc;
        }
    }
    return 0;
}

static int check_refs(const struct ks_desired_set *set, const struct ks_desired_object *o)
{
    const json_t *spec = pod_spec(o);
    if (!json_is_object(spec))
        return 0;
    size_t i;
    const json_t *v;
    int rc = 0;
    json_array_foreach(json_object_get(spec, "volumes"), i, v)
    {
        if ((rc = check_ref(set, o, "ConfigMap", json_object_get(v, "configMap"), "name")) ||
            (rc = check_ref(set, o, "Secret", json_object_get(v, "secret"), "secretName")))
            return rc;
    }
    if ((rc = check_container_refs(set, o, json_object_get(spec, "containers"))))
        return rc;
    return check_container_refs(set, o, json_object_get(spec, "initContainers"));
}

/* keelson.io/depends-on: comma-separated "Kind/name" (same namespace) or
 * "Kind/namespace/name". Resolves one entry to an index in the set. */
static int resolve_dep(size_t *out, const struct ks_desired_set *set,
                       const struct ks_desired_object *o, const char *entry, size_t len)
{
    char buf[512];
    while (len && (*entry == ' '))
        entry++, len--;
    while (len && entry[len - 1] == ' ')
        len--;
    if (len == 0 || len >= sizeof buf)
        return fail(o, "bad " DEPENDS_ON_ANNOTATION " entry", NULL);
    memcpy(buf, entry, len);
    buf[len] = '\0';
    char *kind = buf, *ns = (char *)o->namespace_, *name;
    char *s1 = strchr(buf, '/');
    if (!s1)
        return fail(o,
                    DEPENDS_ON_ANNOTATION " entries are Kind/name or Kind/namespace/name: ", buf);
    *s1 = '\0';
    name = s1 + 1;
    char *s2 = strchr(name, '/');
    if (s2) {
        *s2 = '\0';
        ns = name;
        name = s2 + 1;
    }
    const struct ks_desired_object *dep = ks_desired_find(set, kind, ns, name);
    if (!dep)
        dep = ks_desired_find(set, kind, "", name);
    if (!dep) {
        char detail[600];
        snprintf(detail, sizeof detail, "%s/%s%s%s", kind, ns, ns[0] ? "/" : "", name);
        return fail(o, DEPENDS_ON_ANNOTATION " names an object that is not in the set: ", detail);
    }
    *out = (size_t)(dep - set->objects);
    return 0;
}

enum { WHITE = 0, GREY, BLACK };

static int visit(const struct ks_desired_set *set, unsigned char *color, size_t i, int depth)
{
    const struct ks_desired_object *o = &set->objects[i];
    if (color[i] == BLACK)
        return 0;
    if (color[i] == GREY)
        return fail(o, "dependency cycle through " DEPENDS_ON_ANNOTATION, NULL);
    if (depth > 1000)
        return fail(o, DEPENDS_ON_ANNOTATION " chain is deeper than 1000 (limit)", NULL);
    color[i] = GREY;
    const char *deps = json_string_value(
        json_object_get(json_object_get(json_object_get(o->object, "metadata"), "annotations"),
                        DEPENDS_ON_ANNOTATION));
    int rc = 0;
    for (const char *p = deps; p && *p && rc == 0;) {
        size_t len = strcspn(p, ",");
        size_t j;
        rc = resolve_dep(&j, set, o, p, len);
        if (rc == 0)
            rc = visit(set, color, j, depth + 1);
        p += len + (p[len] ? 1 : 0);
    }
    color[i] = BLACK;
    return rc;
}

static int check_cycles(const struct ks_desired_set *set)
{
    unsigned char *color = calloc(set->count ? set->count : 1, 1);
    if (!color)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < set->count && rc == 0; i++)
        rc = visit(set, color, i, 0);
    free(color);
    return rc;
}

/* Each object's hash is over its canonical JSON; the set's hash is over
 * the object hashes in identity order. Plans compare object hashes with
 * the ones stored at apply time instead of loading every stored body. */
static int hash_set(struct ks_desired_set *set)
{
    struct ks_buf all;
    ks_buf_init(&all, 0);
    int rc = 0;
    for (size_t i = 0; i < set->count && rc == 0; i++) {
        char *text = json_dumps(set->objects[i].object, JSON_SORT_KEYS | JSON_COMPACT);
        if (!text)
            return ks_error_set(KS_ENOMEM, "out of memory");
        rc = ks_sha256_hex(set->objects[i].hash, text, strlen(text));
        free(text);
        ks_buf_put(&all, set->objects[i].hash, 64);
    }
    if (rc == 0)
        rc = ks_buf_error(&all) ? ks_buf_error(&all)
                                : ks_sha256_hex(set->hash, ks_buf_data(&all), ks_buf_len(&all));
    ks_buf_release(&all);
    return rc;
}

const struct ks_desired_object *ks_desired_find(const struct ks_desired_set *set, const char *kind,
                                                const char *namespace_, const char *name)
{
    struct ks_desired_object key = {
        .kind = (char *)kind, .namespace_ = (char *)namespace_, .name = (char *)name};
    return bsearch(&key, set->objects, set->count, sizeof *set->objects, obj_cmp);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Consumes list (an array of strings); returns it sorted without repeats. */
static json_t *sorted_unique(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(list, i);
    if (v)
        qsort(v, n, sizeof *v, str_cmp);
    for (size_t i = 0; v && i < n; i++)
        if (i == 0 || !json_equal(v[i], v[i - 1]))
            json_array_append(out, v[i]);
    free(v);
    json_decref(list);
    return out;
}

int ks_desired_finish(struct ks_desired_set **out, struct ks_desired_builder *b)
{
    int rc = 0;
    qsort(b->objs, b->n, sizeof *b->objs, obj_cmp);
    for (size_t i = 1; i < b->n; i++) {
        if (obj_cmp(&b->objs[i - 1], &b->objs[i]) == 0) {
            char detail[1024];
            snprintf(detail, sizeof detail, "defined in %s and in %s", b->objs[i - 1].source,
                     b->objs[i].source);
            return fail(&b->objs[i], "duplicate object, ", detail);
        }
    }
    struct ks_desired_set *set = calloc(1, sizeof *set);
    if (!set)
        return ks_error_set(KS_ENOMEM, "out of memory");
    set->objects = b->objs;
    set->count = b->n;
    for (size_t i = 0; i < set->count && rc == 0; i++) {
        const struct ks_desired_object *o = &set->objects[i];
        if ((rc = check_names(o)) || (rc = check_selector(o)) || (rc = check_refs(set, o)))
            break;
    }
    if (rc == 0)
        rc = check_cycles(set);
    if (rc == 0)
        rc = hash_set(set);
    if (rc) {
        free(set); /* the builder still owns the objects and frees them */
        return rc;
    }
    for (size_t i = 0; i < set->count; i++) {
        const struct ks_desired_object *o = &set->objects[i];
        if (!o->effective) {
            char *w = NULL;
            if (asprintf(&w, "%s %s%s%s (%s): accepted, no effect here", o->kind, o->namespace_,
                         o->namespace_[0] ? "/" : "", o->name, o->source) >= 0) {
                json_array_append_new(b->warnings, json_string(w));
                free(w);
            }
        }
    }
    set->warnings = b->warnings;
    set->inputs = sorted_unique(b->inputs);
    b->objs = NULL;
    b->n = 0;
    b->warnings = NULL;
    b->inputs = NULL;
    *out = set;
    return 0;
}
