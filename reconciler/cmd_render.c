/*
 * cmd_render.c: `reconcile render [NAME] CHART [flags]`, a drop-in for
 * `helm template` (helm v3.17): same flags, same stdout byte for byte, and
 * on failure one line "reconcile: <cause>" on stderr and exit 1.
 *
 * Flag parsing follows pflag's conventions as helm uses them (--flag=v,
 * --flag v, -f v, -fv; --values and --api-versions are string slices split
 * on commas; --set* and --show-only are string arrays). Values are put
 * together by the values stage (renderer/values.h), the chart by the
 * renderer (renderer/render.h). --repeat N (ours, for benchmarks) renders
 * the release N times in one process and prints every result.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "reconciler/cli.h"
#include "renderer/goenc.h"
#include "renderer/render.h"
#include "renderer/values.h"

#define MAX_ARGS 4096
#define MAX_VALUES_FILE (64u * 1024u * 1024u)
#define MAX_REPEAT 100000

int ks_cmd_render(int argc, char **argv);

struct render_cli {
    const char *positional[MAX_ARGS];
    size_t npositional;
    const char *values_files[MAX_ARGS];
    size_t nvalues_files;
    struct ks_values_arg sets[MAX_ARGS];
    size_t nsets;
    const char *api_versions[MAX_ARGS];
    size_t napi;
    const char *show_only[MAX_ARGS];
    size_t nshow;
    const char *namespace_;
    const char *kube_version;
    const char *name_template;
    bool include_crds, skip_tests, no_hooks, is_upgrade, generate_name, help;
    long repeat;
    char *splits; /* storage for comma-split slices */
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile render [NAME] CHART [flags]\n"
          "\n"
          "Renders a Helm chart (directory or .tgz) exactly as `helm template` (v3.17) does\n"
          "and prints the manifests to stdout.\n"
          "\n"
          "Flags:\n"
          "  -f, --values FILE         values file (repeatable; comma-separated list allowed)\n"
          "      --set K=V             set values (repeatable)\n"
          "      --set-string K=V      set STRING values\n"
          "      --set-json K=JSON     set JSON values\n"
          "      --set-file K=PATH     set values from files\n"
          "      --set-literal K=V     set a literal STRING value\n"
          "  -n, --namespace NS        release namespace (default \"default\")\n"
          "      --kube-version V      Kubernetes version for .Capabilities (default v1.32.0)\n"
          "  -a, --api-versions V      extra API versions for .Capabilities (repeatable)\n"
          "  -s, --show-only PATH      only show manifests rendered from these templates (globs)\n"
          "      --include-crds        include CRDs in the output\n"
          "      --skip-tests          leave test hooks out\n"
          "      --no-hooks            leave all hooks out\n"
          "      --is-upgrade          set .Release.IsUpgrade instead of .Release.IsInstall\n"
          "      --name-template T     template for the release name\n"
          "  -g, --generate-name       generate the release name\n"
          "      --repeat N            render N times in one process (benchmarks)\n"
          "  -h, --help                show this help\n",
          out);
}

enum kind { K_BOOL, K_STR, K_SLICE, K_ARRAY, K_SET, K_LONG };

struct flag {
    const char *long_name;
    char short_name;
    enum kind kind;
    size_t off;   /* field offset in struct render_cli */
    size_t count; /* for slices/arrays: offset of the counter */
    int set_kind; /* for K_SET */
};

#define OFF(f) offsetof(struct render_cli, f)

static const struct flag flags[] = {
    {"values", 'f', K_SLICE, OFF(values_files), OFF(nvalues_files), 0},
    {"set", 0, K_SET, 0, 0, KS_VALUES_SET},
    {"set-string", 0, K_SET, 0, 0, KS_VALUES_SET_STRING},
    {"set-json", 0, K_SET, 0, 0, KS_VALUES_SET_JSON},
    {"set-file", 0, K_SET, 0, 0, KS_VALUES_SET_FILE},
    {"set-literal", 0, K_SET, 0, 0, KS_VALUES_SET_LITERAL},
    {"namespace", 'n', K_STR, OFF(namespace_), 0, 0},
    {"kube-version", 0, K_STR, OFF(kube_version), 0, 0},
    {"api-versions", 'a', K_SLICE, OFF(api_versions), OFF(napi), 0},
    {"show-only", 's', K_ARRAY, OFF(show_only), OFF(nshow), 0},
    {"include-crds", 0, K_BOOL, OFF(include_crds), 0, 0},
    {"skip-tests", 0, K_BOOL, OFF(skip_tests), 0, 0},
    {"no-hooks", 0, K_BOOL, OFF(no_hooks), 0, 0},
    {"is-upgrade", 0, K_BOOL, OFF(is_upgrade), 0, 0},
    {"generate-name", 'g', K_BOOL, OFF(generate_name), 0, 0},
    {"name-template", 0, K_STR, OFF(name_template), 0, 0},
    {"repeat", 0, K_LONG, OFF(repeat), 0, 0},
    {"help", 'h', K_BOOL, OFF(help), 0, 0},
};

static int push(const char **list, size_t *n, const char *v)
{
    if (*n >= MAX_ARGS)
        return ks_error_set(KS_ELIMIT, "more than %d values for one flag", MAX_ARGS);
    list[(*n)++] = v;
    return 0;
}

static int apply(struct render_cli *cli, const struct flag *f, const char *value, bool has_value)
{
    char *base = (char *)cli;
    switch (f->kind) {
    case K_BOOL:
        if (!has_value || strcmp(value, "true") == 0)
            *(bool *)(base + f->off) = true;
        else if (strcmp(value, "false") == 0)
            *(bool *)(base + f->off) = false;
        else
            return ks_error_set(KS_EINVALID,
                                "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: "
                                "parsing \"%s\": invalid syntax",
                                value, f->long_name, value);
        return 0;
    case K_STR:
        *(const char **)(base + f->off) = value;
        return 0;
    case K_LONG: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || !end || *end || v < 1 || v > MAX_REPEAT)
            return ks_error_set(KS_EINVALID, "--%s must be a number from 1 to %d", f->long_name,
                                MAX_REPEAT);
        *(long *)(base + f->off) = v;
        return 0;
    }
    case K_ARRAY:
        return push((const char **)(base + f->off), (size_t *)(base + f->count), value);
    case K_SLICE: {
        /* pflag string slices are CSV: split on commas */
        char *copy = strdup(value);
        if (!copy)
            return ks_error_set(KS_ENOMEM, "out of memory");
        /* keep every copy alive: chain them through the splits list */
        size_t n = strlen(copy);
        char *node = malloc(sizeof(char *) + n + 1);
        if (!node) {
            free(copy);
            return ks_error_set(KS_ENOMEM, "out of memory");
        }
        memcpy(node, &cli->splits, sizeof(char *));
        memcpy(node + sizeof(char *), copy, n + 1);
        free(copy);
        cli->splits = node;
        char *s = node + sizeof(char *);
        for (;;) {
            char *comma = strchr(s, ',');
            if (comma)
                *comma = '\0';
            int rc = push((const char **)(base + f->off), (size_t *)(base + f->count), s);
            if (rc < 0)
                return rc;
            if (!comma)
                break;
            s = comma + 1;
        }
        return 0;
    }
    case K_SET:
        if (cli->nsets >= MAX_ARGS)
            return ks_error_set(KS_ELIMIT, "more than %d --set flags", MAX_ARGS);
        cli->sets[cli->nsets].kind = (enum ks_values_set_kind)f->set_kind;
        cli->sets[cli->nsets].text = value;
        cli->nsets++;
        return 0;
    }
    return 0;
}

static void free_splits(struct render_cli *cli)
{
    while (cli->splits) {
        char *next;
        memcpy(&next, cli->splits, sizeof(char *));
        free(cli->splits);
        cli->splits = next;
    }
}

static int parse_args(struct render_cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                if (push(cli->positional, &cli->npositional, argv[i]) < 0)
                    return KS_ELIMIT;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            int rc = push(cli->positional, &cli->npositional, a);
            if (rc < 0)
                return rc;
            continue;
        }
        const struct flag *f = NULL;
        const char *value = NULL;
        bool has_value = false;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
                if (strlen(flags[k].long_name) == nl && strncmp(flags[k].long_name, name, nl) == 0)
                    f = &flags[k];
            if (!f)
                return ks_error_set(KS_EINVALID, "unknown flag: --%.*s", (int)nl, name);
            if (eq) {
                value = eq + 1;
                has_value = true;
            }
        } else {
            for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
                if (flags[k].short_name == a[1])
                    f = &flags[k];
            if (!f)
                return ks_error_set(KS_EINVALID, "unknown shorthand flag: '%c' in %s", a[1], a);
            if (a[2]) {
                value = a[2] == '=' ? a + 3 : a + 2;
                has_value = true;
            }
        }
        if (!has_value && f->kind != K_BOOL) {
            if (i + 1 >= argc)
                return ks_error_set(KS_EINVALID, "flag needs an argument: --%s", f->long_name);
            value = argv[++i];
            has_value = true;
        }
        int rc = apply(cli, f, value ? value : "", has_value);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_path(char **out, size_t *out_len, const char *path, size_t max)
{
    /* helm reads "-" as standard input */
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    struct ks_buf b;
    ks_buf_init(&b, max);
    int rc = 0;
    if (!f) {
        rc = ks_error_set(KS_EIO, "open %s: %s", path, strerror(errno));
        goto done;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ks_buf_put(&b, chunk, n);
    rc = ks_buf_error(&b);
    if (rc < 0) {
        rc = ks_error_set(rc, "%s: larger than the limit of %zu bytes", path, max);
        goto done;
    }
    size_t len = 0;
    char *s = ks_buf_detach(&b, &len);
    if (!s) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = s;
    *out_len = len;
done:
    if (f && !is_stdin)
        fclose(f);
    ks_buf_release(&b);
    return rc;
}

static int set_file_reader(void *ctx, const char *path, char **out, size_t *out_len)
{
    (void)ctx;
    return read_path(out, out_len, path, MAX_VALUES_FILE);
}

static int user_values(json_t **out, const struct render_cli *cli)
{
    json_t **files = calloc(cli->nvalues_files + 1, sizeof(*files));
    size_t nfiles = 0;
    int rc = 0;
    if (!files)
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < cli->nvalues_files; i++) {
        char *text = NULL;
        size_t len = 0;
        rc = read_path(&text, &len, cli->values_files[i], MAX_VALUES_FILE);
        if (rc < 0)
            goto done;
        rc = ks_helmyaml_parse(&files[nfiles], text, len, cli->values_files[i], 1);
        free(text);
        if (rc < 0) {
            rc = ks_error_wrap(rc, "failed to parse %s", cli->values_files[i]);
            goto done;
        }
        nfiles++;
    }
    rc = ks_values_merge_user(out, files, nfiles, cli->sets, cli->nsets, set_file_reader, NULL);
done:
    for (size_t i = 0; i < nfiles; i++)
        json_decref(files[i]);
    free(files);
    return rc;
}

/* helm's Install.NameAndChart with `helm template`'s preset name. */
static int name_and_chart(char **name, const char **chart, const struct render_cli *cli)
{
    if (cli->npositional == 0)
        return ks_error_set(KS_EINVALID, "\"reconcile render\" requires at least 1 argument");
    if (cli->npositional > 2)
        return ks_error_set(KS_EINVALID, "expected at most two arguments, unexpected arguments: %s",
                            cli->positional[2]);
    if (cli->npositional == 2) {
        if (cli->generate_name)
            return ks_error_set(KS_EINVALID, "cannot set --generate-name and also specify a name");
        if (cli->name_template)
            return ks_error_set(KS_EINVALID, "cannot set --name-template and also specify a name");
        *chart = cli->positional[1];
        *name = strdup(cli->positional[0]);
    } else {
        *chart = cli->positional[0];
        if (cli->name_template) {
            int rc = ks_render_name_template(name, cli->name_template);
            if (rc < 0)
                return rc;
        } else {
            *name = strdup(KS_RENDER_DEFAULT_RELEASE_NAME);
        }
    }
    if (!*name)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

/* Prints the error as one line. */
static void report(void)
{
    char msg[8192];
    snprintf(msg, sizeof(msg), "%s", ks_error_last());
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    ks_cli_error("%s", msg);
}

int ks_cmd_render(int argc, char **argv)
{
    struct render_cli *cli = calloc(1, sizeof(*cli));
    json_t *values = NULL;
    char *name = NULL;
    struct ks_render_result res = {0};
    int status = 1;
    if (!cli) {
        ks_cli_error("out of memory");
        return 1;
    }
    cli->repeat = 1;
    if (parse_args(cli, argc, argv) < 0) {
        report();
        goto done;
    }
    if (cli->help) {
        usage(stdout);
        status = 0;
        goto done;
    }
    const char *chart = NULL;
    if (name_and_chart(&name, &chart, cli) < 0 || user_values(&values, cli) < 0) {
        report();
        goto done;
    }
    struct ks_render_opts opts = {
        .release_name = name,
        .namespace_ = cli->namespace_,
        .kube_version = cli->kube_version,
        .api_versions = cli->api_versions,
        .n_api_versions = cli->napi,
        .is_upgrade = cli->is_upgrade,
        .include_crds = cli->include_crds,
        .skip_tests = cli->skip_tests,
        .no_hooks = cli->no_hooks,
        .show_only = cli->show_only,
        .n_show_only = cli->nshow,
        .values = values,
        .text_only = true,
    };
    for (long r = 0; r < cli->repeat; r++) {
        if (ks_render_chart(&res, chart, &opts) < 0) {
            report();
            goto done;
        }
        if (fwrite(res.text, 1, res.len, stdout) != res.len) {
            ks_cli_error("writing output: %s", strerror(errno));
            goto done;
        }
        ks_render_result_release(&res);
    }
    if (fflush(stdout) != 0) {
        ks_cli_error("writing output: %s", strerror(errno));
        goto done;
    }
    status = 0;
done:
    ks_render_result_release(&res);
    json_decref(values);
    free(name);
    free_splits(cli);
    free(cli);
    return status;
}
