/*
 * front/main.c: the `reconcile` binary users run. It serves `reconcile
 * render` (and `--version`) in-process, linked only with the renderer and
 * core (their third-party libraries static where available), so a single
 * render pays almost no dynamic-loader start-up. Every other command line is
 * handed, unchanged (argv[0] included, so messages still say "reconcile:"),
 * to the full control-plane binary `reconcile-cp` with execv(): same process,
 * same pid, same exit status. See docs/ARCHITECTURE.md, "Binaries".
 *
 * reconcile-cp is looked for, in order:
 *  1. next to this binary (the build tree: both in build/reconciler/);
 *  2. at KS_FRONT_TO_CP relative to this binary's directory (an installed
 *     tree under any prefix, also a staged `cmake --install --prefix`);
 *  3. at KS_CP_INSTALL_DIR, the absolute libexec directory of the configured
 *     install prefix.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "reconciler/cli.h"
#include "renderer/heap.h"

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif
#ifndef KS_FRONT_TO_CP
#define KS_FRONT_TO_CP "../libexec/keelson"
#endif
#ifndef KS_CP_INSTALL_DIR
#define KS_CP_INSTALL_DIR "/usr/local/libexec/keelson"
#endif
#define KS_CP_NAME "reconcile-cp"

int ks_cmd_render(int argc, char **argv); /* cmd_render.c */

/* Writes "<dir>/<rel>/reconcile-cp" (rel may be empty) to out; 0 if it fits. */
static int cp_path(char *out, size_t cap, const char *dir, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s%s" KS_CP_NAME, dir, rel, rel[0] ? "/" : "");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* execv()s reconcile-cp with argv; returns only on failure (exit code). */
static int run_control_plane(char **argv)
{
    char self[PATH_MAX];
    char tried[2][PATH_MAX + 64];
    int ntried = 0;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        const char *rels[] = {"", KS_FRONT_TO_CP};
        for (int i = 0; i < 2; i++) {
            if (cp_path(tried[ntried], sizeof tried[0], self, rels[i]) != 0)
                continue;
            if (access(tried[ntried], X_OK) == 0) {
                execv(tried[ntried], argv);
                ks_cli_error("cannot run %s: %s", tried[ntried], strerror(errno));
                return 1;
            }
            ntried++;
        }
    }
    const char *installed = KS_CP_INSTALL_DIR "/" KS_CP_NAME;
    if (access(installed, X_OK) == 0) {
        execv(installed, argv);
        ks_cli_error("cannot run %s: %s", installed, strerror(errno));
        return 1;
    }
    char places[sizeof tried + 64] = "";
    for (int i = 0; i < ntried; i++)
        snprintf(places + strlen(places), sizeof places - strlen(places), "%s, ", tried[i]);
    if (n <= 0)
        snprintf(places, sizeof places, "next to this program (/proc/self/exe unreadable), ");
    ks_cli_error("the control-plane binary " KS_CP_NAME " is missing: not at %snor at %s; "
                 "reinstall keelson",
                 places, installed);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "render") == 0) {
        /* The heap in one transparent huge page when the kernel offers them
         * (renderer/heap.h): one fault instead of ~180 for the 4 KiB pages a
         * render's heap touches; freed memory is kept for reuse instead of
         * being returned to the kernel (later waves would fault it in again). */
        ks_heap_hugepage();
        return ks_cmd_render(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("reconcile (keelson) %s\n", KS_VERSION);
        return 0;
    }
    return run_control_plane(argv);
}
