/*
 * cli.h: the `reconcile` binary's subcommand table and shared CLI helpers.
 * Each subcommand lives in its own cmd_<name>.c and is listed in main.c;
 * a subcommand receives argv starting at its own name, prints its own
 * --help, and returns the process exit code (DESIGN.md §2).
 */
#ifndef KS_RECONCILER_CLI_H
#define KS_RECONCILER_CLI_H

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

#endif
