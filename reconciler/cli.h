/*
 * cli.h: the `reconcile` binary's subcommand table and shared CLI helpers.
 * Each subcommand lives in its own cmd_<name>.c and is listed in main.c;
 * a subcommand receives argv starting at its own name, prints its own
 * --help, and returns the process exit code (DESIGN.md §2). The shared
 * option codes, table entries and value parsers below keep the flags the
 * subcommands have in common spelled and checked one way.
 */
#ifndef KS_RECONCILER_CLI_H
#define KS_RECONCILER_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ks_cli_command {
    const char *name;
    const char *summary; /* one line for `reconcile --help` */
    int (*run)(int argc, char **argv);
};

/* `reconcile --once ...` (argv from the program name) and `reconcile diff`. */
int ks_cmd_once(int argc, char **argv);
int ks_cmd_diff(int argc, char **argv);
/* `reconcile dashboard` (cmd_dashboard.c). */
int ks_cmd_dashboard(int argc, char **argv);

/* Prints "reconcile: <message>" to stderr (one line). */
void ks_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- options several subcommands share ----
 * getopt_long codes of the shared long options; a subcommand's own codes
 * start at KS_CLI_OPT_OWN. A subcommand lists the KS_CLI_LONGOPT_* entries
 * it accepts in its own option table and hands every code it does not
 * handle itself to ks_cli_common_opt. */
enum {
    KS_CLI_OPT_REPO = 256,
    KS_CLI_OPT_BRANCH,
    KS_CLI_OPT_PATH,
    KS_CLI_OPT_STATE_DIR,
    KS_CLI_OPT_SERVER,
    KS_CLI_OPT_TOKEN,
    KS_CLI_OPT_PODMAN_SOCKET,
    KS_CLI_OPT_NODE_NAME,
    KS_CLI_OPT_NO_LOCAL_NODE,
    KS_CLI_OPT_STATUS_BRANCH,
    KS_CLI_OPT_STATUS_REMOTE,
    KS_CLI_OPT_NO_WRITEBACK,
    KS_CLI_OPT_DRIFT_PR,
    KS_CLI_OPT_ALLOW_MASS_PRUNE,
    KS_CLI_OPT_MAX_PRUNE_SHARE,
    KS_CLI_OPT_SERVICE_CIDR,
    KS_CLI_OPT_OWN,
};

/* clang-format off */
#define KS_CLI_LONGOPT_REPO             {"repo", required_argument, NULL, KS_CLI_OPT_REPO}
#define KS_CLI_LONGOPT_BRANCH           {"branch", required_argument, NULL, KS_CLI_OPT_BRANCH}
#define KS_CLI_LONGOPT_PATH             {"path", required_argument, NULL, KS_CLI_OPT_PATH}
#define KS_CLI_LONGOPT_STATE_DIR        {"state-dir", required_argument, NULL, KS_CLI_OPT_STATE_DIR}
#define KS_CLI_LONGOPT_SERVER           {"server", required_argument, NULL, KS_CLI_OPT_SERVER}
#define KS_CLI_LONGOPT_TOKEN            {"token", required_argument, NULL, KS_CLI_OPT_TOKEN}
#define KS_CLI_LONGOPT_PODMAN_SOCKET    {"podman-socket", required_argument, NULL, KS_CLI_OPT_PODMAN_SOCKET}
#define KS_CLI_LONGOPT_NODE_NAME        {"node-name", required_argument, NULL, KS_CLI_OPT_NODE_NAME}
#define KS_CLI_LONGOPT_NO_LOCAL_NODE    {"no-local-node", no_argument, NULL, KS_CLI_OPT_NO_LOCAL_NODE}
#define KS_CLI_LONGOPT_STATUS_BRANCH    {"status-branch", required_argument, NULL, KS_CLI_OPT_STATUS_BRANCH}
#define KS_CLI_LONGOPT_STATUS_REMOTE    {"status-remote", required_argument, NULL, KS_CLI_OPT_STATUS_REMOTE}
#define KS_CLI_LONGOPT_NO_WRITEBACK     {"no-writeback", no_argument, NULL, KS_CLI_OPT_NO_WRITEBACK}
#define KS_CLI_LONGOPT_DRIFT_PR         {"drift-pr", no_argument, NULL, KS_CLI_OPT_DRIFT_PR}
#define KS_CLI_LONGOPT_ALLOW_MASS_PRUNE {"allow-mass-prune", no_argument, NULL, KS_CLI_OPT_ALLOW_MASS_PRUNE}
#define KS_CLI_LONGOPT_MAX_PRUNE_SHARE  {"max-prune-share", required_argument, NULL, KS_CLI_OPT_MAX_PRUNE_SHARE}
#define KS_CLI_LONGOPT_SERVICE_CIDR     {"service-cidr", required_argument, NULL, KS_CLI_OPT_SERVICE_CIDR}
#define KS_CLI_LONGOPT_OUTPUT           {"output", required_argument, NULL, 'o'}
#define KS_CLI_LONGOPT_HELP             {"help", no_argument, NULL, 'h'}
#define KS_CLI_LONGOPT_END              {NULL, 0, NULL, 0}

/* The option groups several subcommands take whole. SYNC: what a sync
 * needs (--once and the daemon): the source, the local node, the status
 * branch, the prune limit and the service address range. CLIENT: how to
 * reach a running control plane and how to print (get, status). */
#define KS_CLI_LONGOPTS_SYNC                                                  \
    KS_CLI_LONGOPT_REPO, KS_CLI_LONGOPT_BRANCH, KS_CLI_LONGOPT_PATH,          \
    KS_CLI_LONGOPT_STATE_DIR, KS_CLI_LONGOPT_PODMAN_SOCKET,                   \
    KS_CLI_LONGOPT_NODE_NAME, KS_CLI_LONGOPT_NO_LOCAL_NODE,                   \
    KS_CLI_LONGOPT_STATUS_BRANCH, KS_CLI_LONGOPT_STATUS_REMOTE,               \
    KS_CLI_LONGOPT_NO_WRITEBACK, KS_CLI_LONGOPT_ALLOW_MASS_PRUNE,             \
    KS_CLI_LONGOPT_MAX_PRUNE_SHARE, KS_CLI_LONGOPT_DRIFT_PR,                  \
    KS_CLI_LONGOPT_SERVICE_CIDR
#define KS_CLI_LONGOPTS_CLIENT                                                \
    KS_CLI_LONGOPT_OUTPUT, KS_CLI_LONGOPT_SERVER, KS_CLI_LONGOPT_TOKEN,       \
    KS_CLI_LONGOPT_STATE_DIR
/* clang-format on */

/* Where the shared options land: pointers into the subcommand's own
 * option struct; NULL for an option the subcommand does not take. The
 * pointed-to values are the caller's; nothing here is owned. */
struct ks_cli_common {
    const char **repo, **branch, **path, **state_dir, **server, **token;
    const char **podman_socket, **node_name, **status_branch, **status_remote, **output;
    const char **service_cidr; /* checked by the caller (ks_service_cidr_parse) */
    int *no_local_node, *no_writeback, *allow_mass_prune, *drift_pr;
    unsigned *max_prune_percent;
};

/* Designated initialisers of a struct ks_cli_common that bind a group
 * above to the same-named members of the option struct *o. */
#define KS_CLI_BIND_SYNC(o)                                                                        \
    .repo = &(o)->repo, .branch = &(o)->branch, .path = &(o)->path, .state_dir = &(o)->state_dir,  \
    .podman_socket = &(o)->podman_socket, .node_name = &(o)->node_name,                            \
    .no_local_node = &(o)->no_local_node, .status_branch = &(o)->status_branch,                    \
    .status_remote = &(o)->status_remote, .no_writeback = &(o)->no_writeback,                      \
    .drift_pr = &(o)->drift_pr, .allow_mass_prune = &(o)->allow_mass_prune,                        \
    .max_prune_percent = &(o)->max_prune_percent, .service_cidr = &(o)->service_cidr
#define KS_CLI_BIND_CLIENT(o)                                                                      \
    .output = &(o)->output, .server = &(o)->server, .token = &(o)->token,                          \
    .state_dir = &(o)->state_dir

/* Handles getopt_long's code c with argument arg when it is a shared
 * option (-o included) that dst takes: 1 handled, 0 not a shared option
 * of dst, -1 a bad value (the one-line error is printed). */
int ks_cli_common_opt(const struct ks_cli_common *dst, int c, const char *arg);

/* One subcommand's options for ks_cli_parse. */
struct ks_cli_spec {
    const char *shortopts;         /* getopt's, with "h" */
    const struct option *longopts; /* ends with KS_CLI_LONGOPT_END */
    const struct ks_cli_common *dst;
    /* The subcommand's own codes: 1 handled, 0 not its own, -1 a bad
     * value (error printed). NULL: no options of its own. */
    int (*own)(void *ctx, int c, const char *arg);
    void *ctx;
    void (*usage)(FILE *out);
    const char *see;            /* "reconcile status --help" */
    const char *unknown_prefix; /* before "unknown or incomplete option" */
    /* before "unexpected argument" when an operand is left; NULL: operands
     * are the caller's, from argv[optind] on */
    const char *operand_prefix;
};

/* Runs getopt_long over argv (from argv[1]): -h/--help prints the usage to
 * stdout, then the subcommand's own options, then the shared ones of dst;
 * anything else is "<unknown_prefix>unknown or incomplete option
 * \"--x\" (see <see>)". 0 parsed, 1 help printed, -1 an error was printed. */
int ks_cli_parse(const struct ks_cli_spec *spec, int argc, char **argv);

/* After the option loop: -1 with "<prefix>unexpected argument \"X\"" when
 * argv holds an operand past optind, else 0. */
int ks_cli_no_operands(int argc, char **argv, const char *prefix);

/* -o: *output defaults to formats[0] and must be one of formats (NULL
 * ends the list), else "-o: want text, json or yaml, got \"x\"". */
int ks_cli_output(const char **output, const char *const *formats);

/* A duration flag ("30s", "5m", ...) into *out in milliseconds. A negative
 * value, or 0 unless zero_ok, is refused with
 * "<flag>: want a duration such as <example> or 5m, got \"<text>\"". */
int ks_cli_duration(int64_t *out, const char *flag, const char *text, bool zero_ok,
                    const char *example);

/* A whole number from min to max into *out, refused with
 * "<flag>: want <what> from <min> to <max>, got \"<text>\"" (what: "a
 * number", "a percentage"). */
int ks_cli_number(unsigned *out, const char *flag, const char *text, unsigned min, unsigned max,
                  const char *what);

#endif
