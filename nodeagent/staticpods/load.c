/*
 * load.c: one manifest file into normalised documents. Pods get their
 * namespace ("default" when absent), spec.nodeName, the source-file
 * annotation and the content uid; ConfigMaps, Secrets, Services and
 * Endpoints their namespace.
 * Errors carry file:line:col (positions from core/yaml.h) so the Warning
 * event points at the line to fix.
 */
#include "nodeagent/staticpods/internal.h"

#include "core/digest.h"
#include "core/error.h"
#include "core/jsonpath.h"
#include "core/object.h"
#include "core/str.h"
#include "core/yaml.h"

#include <stdlib.h>
#include <string.h>

#define SOURCE_FILE_ANNOTATION "keelson.io/source-file"

/* Re-sets the current message with the position of doc (or of its member key) in front. */
static int at(int code, const struct ks_yaml_positions *pos, const json_t *stream, size_t index,
              const json_t *doc, const char *key, const char *file)
{
    struct ks_pos p = {.file = file};
    char *msg = strdup(ks_error_last());

    if (!(key && ks_yaml_position_of_member(&p, pos, doc, key) == 0))
        ks_yaml_position_of_index(&p, pos, stream, index);
    if (!p.file)
        p.file = file;
    code = ks_error_set_at(code, &p, "%s", msg ? msg : "out of memory");
    free(msg);
    return code;
}

/* metadata.uid = first 32 hex digits of sha256(node "\n" canonical JSON). */
static int set_uid(json_t *pod, json_t *meta, const char *node)
{
    char *canonical = NULL, *text = NULL, hex[65];
    int rc = 0;

    json_object_del(meta, "uid");
    canonical = json_dumps(pod, JSON_SORT_KEYS | JSON_COMPACT);
    text = canonical ? ks_strdupf("%s\n%s", node, canonical) : NULL;
    if (!text) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_sha256_hex(hex, text, strlen(text))) < 0)
        goto done;
    hex[32] = '\0';
    if (json_object_set_new(meta, "uid", json_string(hex)) < 0)
        rc = ks_error_set(KS_ENOMEM, "out of memory");
done:
    free(canonical);
    free(text);
    return rc;
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    if (json_object_set_new(obj, key, json_string(value)) < 0)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* One document; *out a new normalised copy. Errors without position (the caller adds it). */
static int normalise(json_t **out, const json_t *doc, const char *node, const char *file_name,
                     const char **bad_key)
{
    struct ks_object_id id;
    json_t *copy = NULL, *meta, *spec = NULL, *ann;
    int rc;

    *bad_key = NULL;
    if (!json_is_object(doc))
        return ks_error_set(KS_EINVALID, "expected an object, got %s", ks_json_type_name(doc));
    if ((rc = ks_object_id_get(&id, doc, "default")) < 0)
        return rc;
    if (strcmp(id.kind, "Pod") != 0 && strcmp(id.kind, "ConfigMap") != 0 &&
        strcmp(id.kind, "Secret") != 0 && strcmp(id.kind, "Service") != 0 &&
        strcmp(id.kind, "Endpoints") != 0) {
        *bad_key = "kind";
        return ks_error_set(KS_EINVALID,
                            "kind %s is not served from a static pods directory "
                            "(Pod, ConfigMap, Secret, Service, Endpoints)",
                            id.kind);
    }
    if (strcmp(id.api_version, "v1") != 0) {
        *bad_key = "apiVersion";
        return ks_error_set(KS_EINVALID, "apiVersion: %s is not v1", id.api_version);
    }
    *bad_key = "metadata";
    if ((rc = ks_name_validate(KS_NAME_DNS1123_SUBDOMAIN, "metadata.name", id.name)) < 0 ||
        (rc = ks_name_validate(KS_NAME_DNS1123_LABEL, "metadata.namespace", id.namespace_)) < 0)
        return rc;
    *bad_key = NULL;
    if (!(copy = json_deep_copy(doc)))
        return ks_error_set(KS_ENOMEM, "out of memory");
    meta = json_object_get(copy, "metadata");
    if ((rc = set_string(meta, "namespace", id.namespace_)) < 0)
        goto done;
    if (strcmp(id.kind, "Pod") == 0) {
        if ((rc = ks_json_get_object(&spec, copy, "spec", true)) < 0) {
            *bad_key = "spec";
            goto done;
        }
        ann = json_object_get(meta, "annotations");
        if (ann && !json_is_object(ann)) {
            *bad_key = "metadata";
            rc = ks_error_set(KS_EINVALID, "metadata.annotations: expected an object, got %s",
                              ks_json_type_name(ann));
            goto done;
        }
        if (!ann) {
            ann = json_object();
            if (json_object_set_new(meta, "annotations", ann) < 0) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
        }
        if ((rc = set_string(ann, SOURCE_FILE_ANNOTATION, file_name)) < 0 ||
            (rc = set_string(spec, "nodeName", node)) < 0 || (rc = set_uid(copy, meta, node)) < 0)
            goto done;
    }
    *out = copy;
    copy = NULL;
done:
    json_decref(copy);
    return rc;
}

int sp_load_file(json_t **out_docs, const struct sp_source *s, const char *name)
{
    struct ks_yaml_positions *pos = NULL;
    json_t *stream = NULL, *docs = NULL, *doc, *norm = NULL;
    char *path = NULL, *text = NULL;
    const char *bad_key;
    size_t len = 0, i;
    int rc = 0;

    if (!(path = ks_strdupf("%s/%s", s->dir, name)) || !(pos = ks_yaml_positions_new()) ||
        !(docs = json_array())) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_file_read(&text, &len, path, s->opts.max_file_bytes)) < 0) {
        if (rc == KS_ELIMIT)
            rc = ks_error_set(KS_ELIMIT, "%s: larger than the static pods file limit of %zu bytes",
                              path, s->opts.max_file_bytes);
        goto done;
    }
    struct ks_yaml_parse_opts yo = {.file = path,
                                    .max_bytes = s->opts.max_file_bytes,
                                    .max_documents = KS_STATICPODS_MAX_DOCS,
                                    .positions = pos};
    if ((rc = ks_yaml_parse_stream(&stream, text, len, &yo)) < 0)
        goto done;
    json_array_foreach(stream, i, doc)
    {
        if (json_is_null(doc))
            continue;
        if ((rc = normalise(&norm, doc, s->node, name, &bad_key)) < 0) {
            rc = at(rc, pos, stream, i, doc, bad_key, path);
            goto done;
        }
        if (json_array_append_new(docs, norm) < 0) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    }
    *out_docs = docs;
    docs = NULL;
done:
    json_decref(docs);
    json_decref(stream);
    ks_yaml_positions_free(pos);
    free(text);
    free(path);
    return rc;
}
