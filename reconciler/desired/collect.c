/*
 * collect.c: the first half of ks_desired_build(): choosing manifest files
 * in a snapshot, parsing them with positions, checking each document's
 * shape, and handing Releases to release.c. validate.c then checks the set
 * as a whole and finish() sorts and hashes it.
 */
#include "reconciler/desired/internal.h"

#include "core/error.h"
#include "core/object.h"
#include "core/str.h"
#include "core/yaml.h"

#include <stdlib.h>
#include <string.h>

static const char *const behaviour_kinds[] = {
    "Namespace",   "ConfigMap", "Secret",  "Pod",     "Deployment", "ReplicaSet", "DaemonSet",
    "StatefulSet", "Job",       "CronJob", "Service", "Node",       NULL,
};

bool ks_kind_has_behaviour(const char *kind)
{
    for (const char *const *k = behaviour_kinds; *k; k++)
        if (strcmp(*k, kind) == 0)
            return true;
    return false;
}

static int file_cmp_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct ks_source_file *)elem)->path);
}

static bool snapshot_has(const struct ks_source_snapshot *snap, const char *path)
{
    return bsearch(path, snap->files, snap->nfiles, sizeof *snap->files, file_cmp_key) != NULL;
}

/* A file is a manifest when it ends in .yaml/.yml, no path component starts
 * with '.', and no directory above it (within the snapshot) is a chart. */
static bool is_manifest(const struct ks_source_snapshot *snap, const char *path)
{
    if (!ks_str_has_suffix(path, ".yaml") && !ks_str_has_suffix(path, ".yml"))
        return false;
    const char *rel = path + strlen(snap->path) + (snap->path[0] ? 1 : 0);
    if (rel[0] == '.' || strstr(rel, "/."))
        return false;
    char dir[4096];
    size_t len = strlen(path);
    if (len >= sizeof dir)
        return false;
    memcpy(dir, path, len + 1);
    for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
        *slash = '\0';
        char chart_yaml[4200];
        snprintf(chart_yaml, sizeof chart_yaml, "%s/Chart.yaml", dir);
        if (snapshot_has(snap, chart_yaml))
            return false;
    }
    return !(snap->path[0] == '\0' && snapshot_has(snap, "Chart.yaml"));
}

int ks_desired_builder_add(struct ks_desired_builder *b, json_t *object, const char *source,
                           const char *file, int line, const char *default_ns)
{
    struct ks_object_id id;
    int rc = ks_object_id_get(&id, object, default_ns);
    if (rc)
        return ks_error_set(rc, "%s: %s", source, ks_error_last());
    if (b->n >= b->max) {
        return ks_error_set(KS_ELIMIT,
                            "%s: more than %zu objects in the desired set (object limit)", source,
                            b->max);
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct ks_desired_object *objs = realloc(b->objs, cap * sizeof *objs);
        if (!objs)
            return ks_error_set(KS_ENOMEM, "out of memory");
        b->objs = objs;
        b->cap = cap;
    }
    struct ks_desired_object *o = &b->objs[b->n];
    memset(o, 0, sizeof *o);
    /* copy the identity before touching the object: id borrows its strings */
    o->kind = strdup(id.kind);
    o->namespace_ = strdup(id.namespace_);
    o->name = strdup(id.name);
    o->source = strdup(source);
    o->file = strdup(file);
    o->line = line;
    if (o->namespace_ && o->namespace_[0]) {
        json_t *meta = json_object_get(object, "metadata");
        json_object_set_new(meta, "namespace", json_string(o->namespace_));
    }
    o->effective = o->kind && ks_kind_has_behaviour(o->kind);
    o->object = json_incref(object);
    b->n++;
    if (!o->kind || !o->namespace_ || !o->name || !o->source || !o->file)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* Position of member key of obj, or of the document itself. */
static struct ks_pos member_pos(const struct ks_yaml_positions *pos, json_t *docs, size_t index,
                                const json_t *obj, const char *key, const char *file)
{
    struct ks_pos p = {file, 0, 0};
    if (!obj || ks_yaml_position_of_member(&p, pos, obj, key))
        ks_yaml_position_of_index(&p, pos, NULL, index);
    p.file = file;
    (void)docs;
    return p;
}

static int check_shape(const struct ks_yaml_positions *pos, json_t *docs, size_t i, json_t *doc,
                       const char *file)
{
    static const char *const required[] = {"apiVersion", "kind"};
    struct ks_pos p;
    if (!json_is_object(doc)) {
        p = member_pos(pos, docs, i, NULL, NULL, file);
        return ks_error_set_at(KS_EINVALID, &p,
                               "document %zu is not a mapping (an object with "
                               "apiVersion, kind and metadata)",
                               i + 1);
    }
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(doc, required[k]);
        if (!json_is_string(v) || !json_string_length(v)) {
            p = member_pos(pos, docs, i, v ? doc : NULL, required[k], file);
            return ks_error_set_at(KS_EINVALID, &p, "%s: %s must be a non-empty string",
                                   v ? "invalid field" : "missing field", required[k]);
        }
    }
    json_t *meta = json_object_get(doc, "metadata");
    if (!json_is_object(meta)) {
        p = member_pos(pos, docs, i, meta ? doc : NULL, "metadata", file);
        return ks_error_set_at(KS_EINVALID, &p, "%s: metadata must be a mapping with a name",
                               meta ? "invalid field" : "missing field");
    }
    json_t *name = json_object_get(meta, "name");
    if (!json_is_string(name) || !json_string_length(name)) {
        p = member_pos(pos, docs, i, name ? meta : doc, name ? "name" : "metadata", file);
        return ks_error_set_at(KS_EINVALID, &p, "metadata.name must be a non-empty string");
    }
    json_t *ns = json_object_get(meta, "namespace");
    if (ns && !json_is_string(ns)) {
        p = member_pos(pos, docs, i, meta, "namespace", file);
        return ks_error_set_at(KS_EINVALID, &p, "metadata.namespace must be a string");
    }
    return 0;
}

static int collect_file(struct ks_desired_builder *b, const struct ks_source_file *f)
{
    int rc = 0;
    json_t *docs = NULL;
    struct ks_yaml_positions *pos = ks_yaml_positions_new();
    if (!pos)
        return ks_error_set(KS_ENOMEM, "out of memory");
    struct ks_yaml_parse_opts yo = {.file = f->path, .positions = pos};
    if ((rc = ks_yaml_parse_stream(&docs, f->data, f->len, &yo)))
        goto done;
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *doc = json_array_get(docs, i);
        if (json_is_null(doc))
            continue; /* empty document (e.g. a trailing ---) */
        if ((rc = check_shape(pos, docs, i, doc, f->path)))
            goto done;
        struct ks_pos p = member_pos(pos, docs, i, NULL, NULL, f->path);
        char source[4200];
        snprintf(source, sizeof source, "%s:%d", f->path, p.line);
        const char *api = json_string_value(json_object_get(doc, "apiVersion"));
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        if (strcmp(kind, "Release") == 0 && strcmp(api, "keelson.io/v1") == 0)
            rc = ks_desired_release_render(b, doc, source, f->path, p.line);
        else
            rc = ks_desired_builder_add(b, doc, source, f->path, p.line, "default");
        if (rc)
            goto done;
    }
done:
    json_decref(docs);
    ks_yaml_positions_free(pos);
    return rc;
}

static void object_release(struct ks_desired_object *o)
{
    free(o->kind);
    free(o->namespace_);
    free(o->name);
    free(o->source);
    free(o->file);
    json_decref(o->object);
}

void ks_desired_set_free(struct ks_desired_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        object_release(&set->objects[i]);
    free(set->objects);
    json_decref(set->warnings);
    json_decref(set->inputs);
    free(set);
}

int ks_desired_build(struct ks_desired_set **out, const struct ks_source_snapshot *snap,
                     const struct ks_desired_opts *opts)
{
    int rc = 0;
    struct ks_desired_builder b = {0};
    b.opts = opts;
    b.snap = snap;
    b.max = opts && opts->max_objects ? opts->max_objects : KS_DESIRED_DEFAULT_MAX_OBJECTS;
    b.warnings = json_array();
    b.inputs = json_array();
    for (size_t i = 0; i < snap->nfiles && rc == 0; i++)
        if (is_manifest(snap, snap->files[i].path))
            rc = collect_file(&b, &snap->files[i]);
    if (rc == 0)
        rc = ks_desired_finish(out, &b);
    if (rc) {
        for (size_t i = 0; i < b.n; i++)
            object_release(&b.objs[i]);
        free(b.objs);
        json_decref(b.warnings);
        json_decref(b.inputs);
    }
    return rc;
}
