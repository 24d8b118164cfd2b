/*
 * chart.h: a Helm chart in memory, loaded as helm's pkg/chart/loader does.
 *
 * A chart is a set of files (from a directory, filtered by .helmignore, or
 * from a .tgz archive) sorted into Chart.yaml metadata, values.yaml,
 * values.schema.json, templates/ (any depth), other files (.Files, which
 * include crds/) and charts/ (subcharts, as directories or archives,
 * loaded recursively). Everything read from outside is bounded: total
 * bytes, file count, directory depth and subchart nesting. Internal to the
 * renderer; render.h is the public face.
 */
#ifndef KS_RENDERER_CHART_H
#define KS_RENDERER_CHART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct ks_chart_file {
    char *name; /* '/'-separated path relative to the chart root */
    char *data; /* NUL-terminated for convenience (len excludes it) */
    size_t len;
};

struct ks_chart_files {
    struct ks_chart_file *v;
    size_t n, cap;
};

struct ks_chart_limits {
    size_t max_bytes;   /* all files of the whole tree, unpacked */
    unsigned max_files; /* files of the whole tree */
    unsigned max_depth; /* directory depth and subchart nesting */
    /* running totals, updated while loading */
    size_t used_bytes;
    unsigned used_files;
};

struct ks_chart {
    /* Chart.yaml as helm's chart.Metadata, with Go's field names (Name,
     * Version, AppVersion, APIVersion, Dependencies[].Name ...): what
     * .Chart shows. Every field is present (zero values as Go has them). */
    json_t *meta;
    const char *name;                /* borrowed from meta.Name */
    json_t *values;                  /* values.yaml (object, never NULL) */
    json_t *schema;                  /* values.schema.json, or NULL */
    struct ks_chart_files templates; /* "templates/..." */
    struct ks_chart_files files;     /* everything else (.Files; crds/ too) */
    struct ks_chart **deps;          /* subcharts found in charts/ */
    size_t ndeps;
    struct ks_chart *parent; /* NULL for the root */
    /* for an aliased copy: the dependency's chart name (Name is the alias);
     * owned; NULL otherwise */
    char *dep_name;
};

/* helm's default limits for one render (see render.h). */
void ks_chart_limits_init(struct ks_chart_limits *out, size_t max_bytes, unsigned max_files,
                          unsigned max_depth);

/* Loads a chart directory (applying its .helmignore) or a .tgz archive.
 * *out is freed with ks_chart_free. Errors name the file at fault. */
int ks_chart_load(struct ks_chart **out, const char *path, struct ks_chart_limits *lim);

/* Builds a chart from a flat file list (names relative to the chart root;
 * the list is consumed: its files are moved into the chart or freed).
 * where names the chart in messages. depth = subchart nesting level. */
int ks_chart_from_files(struct ks_chart **out, struct ks_chart_files *files, const char *where,
                        struct ks_chart_limits *lim, unsigned depth);

/* Loads a gzip-compressed tar archive held in memory. */
int ks_chart_load_archive(struct ks_chart **out, const char *data, size_t len, const char *where,
                          struct ks_chart_limits *lim, unsigned depth);

void ks_chart_free(struct ks_chart *c);

/* helm's ChartFullPath: "root/charts/sub/charts/subsub" into buf. */
void ks_chart_full_path(char *buf, size_t size, const struct ks_chart *c);

/* File lists. Take ownership of name/data on success. */
int ks_chart_files_push(struct ks_chart_files *fl, char *name, char *data, size_t len);
void ks_chart_files_release(struct ks_chart_files *fl);

/* .helmignore rules (helm's pkg/ignore). */
struct ks_helmignore;
/* Parses the text of a .helmignore (NULL/0 = none) and adds helm's default
 * rule "templates/.?*". where names the file in messages. */
int ks_helmignore_parse(struct ks_helmignore **out, const char *text, size_t len,
                        const char *where);
/* True when path (relative, '/'-separated) is ignored. */
bool ks_helmignore_ignored(const struct ks_helmignore *r, const char *path, bool is_dir);
void ks_helmignore_free(struct ks_helmignore *r);

/* Tar archives (ustar, GNU long names, pax path headers). Entries are
 * appended to files with the archive's paths; directories and other
 * non-regular entries are skipped; paths that are absolute or contain ".."
 * are rejected; limits apply to the total size and entry count. */
int ks_tar_read(struct ks_chart_files *files, const unsigned char *data, size_t len,
                const char *where, struct ks_chart_limits *lim);

/* Decompresses a gzip stream into a malloc'd buffer of at most max bytes. */
int ks_gunzip(unsigned char **out, size_t *out_len, const unsigned char *data, size_t len,
              size_t max, const char *where);

/* Builds helm's chart.Metadata (Go field names, all fields present) from
 * the parsed Chart.yaml and, for apiVersion v1 charts, requirements.yaml
 * (NULL if absent); validates it as Metadata.Validate does. *out new. */
int ks_chart_metadata_build(json_t **out, const json_t *chart_yaml, const json_t *requirements,
                            const char *where);

/* Lenient semantic version parse (Masterminds/semver NewVersion): 0 when
 * valid, fills major/minor/patch. */
int ks_chart_semver_parse(const char *s, long long *major, long long *minor, long long *patch);

#endif
