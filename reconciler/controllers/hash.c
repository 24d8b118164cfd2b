/*
 * hash.c: the pod-template-hash. Kubernetes hashes the Go struct of the
 * template with FNV-1a 32 over a spew dump (ComputeHash), which cannot be
 * reproduced from JSON; keelson hashes the template's canonical JSON
 * (sorted keys, compact) instead, then appends the collision count and
 * renders the sum exactly as Kubernetes does (rand.SafeEncodeString of the
 * decimal digits), so hashes look like Kubernetes' and stay stable across
 * runs and hosts as long as the template's JSON is the same.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_JSON_MAX (4u << 20) /* bytes of canonical template JSON hashed */

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int ks_ctl_pod_template_hash(char *dst, size_t cap, const json_t *template_,
                             uint32_t collision_count)
{
    if (cap < 11)
        return ks_error_set(KS_EINVALID, "pod-template-hash: buffer too small");
    json_t *t = template_ ? json_deep_copy(template_) : json_object();
    json_object_del(json_object_get(json_object_get(t, "metadata"), "labels"),
                    KS_LABEL_POD_TEMPLATE_HASH);
    char *text = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(t);
    if (!text)
        return ks_error_set(KS_ENOMEM, "pod-template-hash: out of memory");
    size_t n = strlen(text);
    int rc = 0;
    if (n > TEMPLATE_JSON_MAX) {
        rc = ks_error_set(KS_ELIMIT, "pod template: %zu bytes of JSON, limit %u", n,
                          TEMPLATE_JSON_MAX);
        goto done;
    }
    uint32_t h = fnv1a(2166136261u, (const unsigned char *)text, n);
    if (collision_count) {
        unsigned char le[4] = {
            (unsigned char)collision_count, (unsigned char)(collision_count >> 8),
            (unsigned char)(collision_count >> 16), (unsigned char)(collision_count >> 24)};
        h = fnv1a(h, le, sizeof le);
    }
    char dec[11];
    snprintf(dec, sizeof dec, "%u", (unsigned)h);
    size_t i;
    for (i = 0; dec[i]; i++)
        dst[i] = ks_ctl_alphabet[(unsigned char)dec[i] % KS_CTL_ALPHABET_LEN];
    dst[i] = '\0';
done:
    free(text);
    return rc;
}
