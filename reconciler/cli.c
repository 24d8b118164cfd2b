/*
 * cli.c: helpers shared by the `reconcile` subcommands: one-line errors
 * prefixed with the program name, as DESIGN.md §2 asks.
 */
#include "reconciler/cli.h"

#include <stdarg.h>
#include <stdio.h>

void ks_cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("reconcile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
