/*
 * objects.c: the parsed form of `helm template` output for the reconciler.
 *
 * Built from the final text itself (not from the intermediate lists), so the
 * objects are exactly the documents the text shows, whatever --show-only,
 * --no-hooks or --include-crds did. Documents are read as Kubernetes reads
 * manifests (core/yaml's YAML 1.2 typing: `replicas: 3` is an integer), not
 * with Helm's values typing (everything float64), because the reconciler
 * treats them as the objects `kubectl apply` would send.
 */
#include "renderer/output/output.h"

#include <string.h>

#include "core/error.h"
#include "core/yaml.h"

int ks_output_objects(json_t *objects, const char *text, size_t len)
{
    struct ks_output_doc *docs = NULL;
    size_t ndocs = 0;
    json_t *obj = NULL;
    int rc = ks_output_split(&docs, &ndocs, text, len);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < ndocs; i++) {
        const char *d = docs[i].text;
        const char *prefix = "# Source: ";
        if (strncmp(d, prefix, strlen(prefix)) != 0)
            continue;
        const char *path = d + strlen(prefix);
        const char *eol = strchr(path, '\n');
        if (!eol)
            continue;
        char source[4096];
        size_t plen = (size_t)(eol - path);
        if (plen >= sizeof(source))
            plen = sizeof(source) - 1;
        memcpy(source, path, plen);
        source[plen] = '\0';
        json_decref(obj);
        obj = NULL;
        struct ks_yaml_parse_opts po = {.file = source, .allow_duplicate_keys = true};
        rc = ks_yaml_parse_one(&obj, eol + 1, strlen(eol + 1), &po);
        if (rc < 0)
            goto done;
        if (!json_is_object(obj))
            continue;
        const json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
        bool hook = json_object_get(ann, "helm.sh/hook") != NULL;
        json_t *entry = json_pack("{s:s, s:b, s:O}", "source", source, "hook", hook, "object", obj);
        if (!entry || json_array_append_new(objects, entry) < 0) {
            rc = ks_error_set(KS_ENOMEM, "out of memory collecting rendered objects");
            goto done;
        }
    }
done:
    json_decref(obj);
    ks_output_docs_free(docs, ndocs);
    return rc;
}
