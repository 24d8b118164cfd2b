/*
 * main.c: entry point of `reconcile-cp`, the control-plane binary that the
 * `reconcile` front (front/main.c) execv()s for every command but render
 * and --version, with the user's argv (docs/ARCHITECTURE.md, "Binaries").
 * Dispatches to the subcommands in the table below (render included, so
 * reconcile-cp alone still does everything); prints help and version. Each
 * command listed here is implemented; commands of DESIGN.md §2 that are not
 * built yet are not listed (see docs/ARCHITECTURE.md, "Status").
 */
#include "reconciler/cli.h"

#include <stdio.h>
#include <string.h>

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif

int ks_cmd_render(int argc, char **argv); /* cmd_render.c */
int ks_cmd_get(int argc, char **argv);    /* cmd_get.c */
int ks_cmd_status(int argc, char **argv); /* cmd_status.c */
int ks_cmd_token(int argc, char **argv);  /* cmd_token.c */

static const struct ks_cli_command commands[] = {
    {"render", "render a Helm chart exactly as `helm template` does", ks_cmd_render},
    {"diff", "show what changes between two revisions, object by object", ks_cmd_diff},
    {"dashboard", "build the status dashboard as static HTML from the repository", ks_cmd_dashboard},
    {"get", "show objects of a running control plane (kubectl-like)", ks_cmd_get},
    {"status", "last sync, objects by health, nodes and pods of a running control plane",
     ks_cmd_status},
    {"token", "create a node's token and print its join command", ks_cmd_token},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile --once [--dry-run] [--repo R] [--branch B] [--path DIR] [OPTIONS]\n"
          "       reconcile COMMAND [OPTIONS]\n"
          "       reconcile get KIND [NAME] [-n NS | -A] [-l SEL] [-o text|json|yaml]\n"
          "       reconcile status [-o text|json]\n"
          "       reconcile token create NODE\n"
          "\n"
          "keelson's control plane and CLI: renders the desired state held in a Git\n"
          "repository and reconciles Podman hosts towards it.\n"
          "\n"
          "  --once         one pass: fetch, render, plan, apply to the store\n"
          "                 (reconcile --once --help lists its options)\n"
          "\n"
          "Commands:\n",
          out);
    for (const struct ks_cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fputs("\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  --version      print the version\n"
          "\n"
          "Run `reconcile COMMAND --help` for a command's options.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("reconcile (keelson) %s\n", KS_VERSION);
        return 0;
    }
    for (const struct ks_cli_command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        return ks_cmd_once(argc, argv);
    ks_cli_error("unknown command \"%s\" (see reconcile --help)", argv[1]);
    return 1;
}
