/*
 * builtins.h: the Go-typed objects of a template's dot that are more than
 * data: .Files, .Capabilities and .Chart, built as template-engine host
 * objects (see builtins.c). Internal to the renderer.
 */
#ifndef KS_RENDERER_CHART_BUILTINS_H
#define KS_RENDERER_CHART_BUILTINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "renderer/chart/chart.h"
#include "renderer/template.h"

/* The helm release whose behaviour is reproduced, and its defaults. */
#define KS_HELM_VERSION "v3.17.3"
#define KS_HELM_DEFAULT_KUBE_VERSION "v1.32.0"

/* A parsed --kube-version, as chartutil.ParseKubeVersion gives it. */
struct ks_kube_version {
    char version[96]; /* "v1.32.0" */
    char major[24];
    char minor[24];
};

/* Parses "1.32.0", "v1.32", "1.32.0-rc.1"... */
int ks_builtin_kube_version(struct ks_kube_version *out, const char *text);

/* New host objects registered with set; *out is a new reference. */
int ks_builtin_files(json_t **out, struct ks_tpl_set *set, const struct ks_chart_files *files);
int ks_builtin_capabilities(json_t **out, struct ks_tpl_set *set, const struct ks_kube_version *kv,
                            const char *const *extra, size_t nextra);
int ks_builtin_chart(json_t **out, struct ks_tpl_set *set, const json_t *meta, bool is_root);

#endif
