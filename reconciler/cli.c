/*
 * cli.c: helpers shared by the `reconcile` subcommands: one-line errors
 * prefixed with the program name, as DESIGN.md §2 asks, and the options
 * and value checks several subcommands have in common, so that a flag
 * spelled in two commands is parsed and refused one way.
 */
#include "reconciler/cli.h"

#include "core/duration.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ks_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("reconcile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int ks_cli_common_opt(const struct ks_cli_common *dst, int c, const char *arg)
{
    const char **str = NULL;
    int *flag = NULL;

    switch (c) {
    case KS_CLI_OPT_REPO:
        str = dst->repo;
        break;
    case KS_CLI_OPT_BRANCH:
        str = dst->branch;
        break;
    case KS_CLI_OPT_PATH:
        str = dst->path;
        break;
    case KS_CLI_OPT_STATE_DIR:
        str = dst->state_dir;
        break;
    case KS_CLI_OPT_SERVER:
        str = dst->server;
        break;
    case KS_CLI_OPT_TOKEN:
        str = dst->token;
        break;
    case KS_CLI_OPT_PODMAN_SOCKET:
        str = dst->podman_socket;
        break;
    case KS_CLI_OPT_NODE_NAME:
        str = dst->node_name;
        break;
    case KS_CLI_OPT_STATUS_BRANCH:
        str = dst->status_branch;
        break;
    case KS_CLI_OPT_STATUS_REMOTE:
        str = dst->status_remote;
        break;
    case KS_CLI_OPT_SERVICE_CIDR:
        str = dst->service_cidr;
        break;
    case 'o':
        str = dst->output;
        break;
    case KS_CLI_OPT_NO_LOCAL_NODE:
        flag = dst->no_local_node;
        break;
    case KS_CLI_OPT_NO_WRITEBACK:
        flag = dst->no_writeback;
        break;
    case KS_CLI_OPT_DRIFT_PR:
        flag = dst->drift_pr;
        break;
    case KS_CLI_OPT_ALLOW_MASS_PRUNE:
        flag = dst->allow_mass_prune;
        break;
    case KS_CLI_OPT_MAX_PRUNE_SHARE:
        if (!dst->max_prune_percent)
            return 0;
        return ks_cli_number(dst->max_prune_percent, "--max-prune-share", arg, 1, 100,
                             "a percentage") < 0
                   ? -1
                   : 1;
    default:
        return 0;
    }
    if (str) {
        *str = arg;
        return 1;
    }
    if (flag) {
        *flag = 1;
        return 1;
    }
    return 0;
}

int ks_cli_no_operands(int argc, char **argv, const char *prefix)
{
    if (optind < argc) {
        ks_cli_error("%sunexpected argument \"%s\"", prefix, argv[optind]);
        return -1;
    }
    return 0;
}

int ks_cli_parse(const struct ks_cli_spec *spec, int argc, char **argv)
{
    int c, rc;

    optind = 1;
    opterr = 0; /* the messages are ours */
    while ((c = getopt_long(argc, argv, spec->shortopts, spec->longopts, NULL)) != -1) {
        if (c == 'h') {
            spec->usage(stdout);
            return 1;
        }
        rc = spec->own ? spec->own(spec->ctx, c, optarg) : 0;
        if (rc == 0)
            rc = ks_cli_common_opt(spec->dst, c, optarg);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            ks_cli_error("%sunknown or incomplete option \"%s\" (see %s)", spec->unknown_prefix,
                         argv[optind - 1], spec->see);
            return -1;
        }
    }
    if (spec->operand_prefix && ks_cli_no_operands(argc, argv, spec->operand_prefix))
        return -1;
    return 0;
}

int ks_cli_duration(int64_t *out, const char *flag, const char *text, bool zero_ok,
                    const char *example)
{
    int64_t v;

    if (ks_duration_parse_ms(&v, text) || v < 0 || (v == 0 && !zero_ok)) {
        ks_cli_error("%s: want a duration such as %s or 5m, got \"%s\"", flag, example, text);
        return -1;
    }
    *out = v;
    return 0;
}

int ks_cli_number(unsigned *out, const char *flag, const char *text, unsigned min, unsigned max,
                  const char *what)
{
    int64_t v;

    if (ks_str_to_i64(&v, text, flag) || v < (int64_t)min || v > (int64_t)max) {
        ks_cli_error("%s: want %s from %u to %u, got \"%s\"", flag, what, min, max, text);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int ks_cli_output(const char **output, const char *const *formats)
{
    char want[128] = "";
    size_t i, n = 0;

    if (!*output)
        *output = formats[0];
    for (i = 0; formats[i]; i++)
        if (strcmp(*output, formats[i]) == 0)
            return 0;
    for (i = 0; formats[i] && n < sizeof want; i++) {
        const char *sep = i == 0 ? "" : formats[i + 1] ? ", " : " or ";
        n += (size_t)snprintf(want + n, sizeof want - n, "%s%s", sep, formats[i]);
    }
    ks_cli_error("-o: want %s, got \"%s\"", want, *output);
    return -1;
}
