/*
 * main.c: entry point of the `nodeagent` binary. The agent itself (Podman
 * client, pod workers, probes, drift) is built by a later issue; until then
 * this binary answers --help and --version truthfully and refuses to run.
 */
#include <stdio.h>
#include <string.h>

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
    fputs("Usage: nodeagent [--help] [--version]\n"
          "\n"
          "keelson's node agent: runs the pods assigned to this host through Podman's\n"
          "REST socket. This build contains no agent yet: only --help and --version work.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("nodeagent (keelson) %s\n", KS_VERSION);
        return 0;
    }
    usage(stderr);
    fputs("nodeagent: the agent is not part of this build yet\n", stderr);
    return 1;
}
