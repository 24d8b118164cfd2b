/*
 * labels.c: the --labels flag ("zone=a,disk=ssd") into a labels object,
 * each key and value checked with core/labels' rules.
 */
#include "nodeagent/node/node.h"

#include "core/error.h"
#include "core/labels.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

int ks_node_labels_parse(json_t **out, const char *text)
{
    json_t *labels = NULL;
    char *copy = NULL, *item, *save = NULL, *eq;
    int rc = 0, n = 0;

    if (!text)
        text = "";
    if (strlen(text) > KS_NODE_MAX_LABELS_TEXT)
        return ks_error_set(KS_ELIMIT, "labels: longer than %d bytes (KS_NODE_MAX_LABELS_TEXT)",
                            KS_NODE_MAX_LABELS_TEXT);
    if (!(labels = json_object()) || !(copy = strdup(text))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (++n > KS_NODE_MAX_LABELS) {
            rc = ks_error_set(KS_ELIMIT, "labels: more than %d (KS_NODE_MAX_LABELS)",
                              KS_NODE_MAX_LABELS);
            goto done;
        }
        if (!(eq = strchr(item, '='))) {
            rc = ks_error_set(KS_EINVALID, "labels: \"%.128s\" is not key=value", item);
            goto done;
        }
        *eq = '\0';
        if ((rc = ks_label_key_validate(item)) < 0 || (rc = ks_label_value_validate(eq + 1)) < 0) {
            rc = ks_error_wrap(rc, "labels: %.128s", item);
            goto done;
        }
        if (json_object_get(labels, item)) {
            rc = ks_error_set(KS_EINVALID, "labels: %.128s is given twice", item);
            goto done;
        }
        if (json_object_set_new(labels, item, json_string(eq + 1)) < 0) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
    }
    *out = labels;
    labels = NULL;
done:
    json_decref(labels);
    free(copy);
    return rc;
}
