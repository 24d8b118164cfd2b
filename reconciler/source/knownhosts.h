/*
 * knownhosts.h: SSH host-key checking for libgit2 (fetching the source,
 * pushing the status branch), against OpenSSH known_hosts files. libgit2
 * 1.5 checks no known_hosts itself and refuses every SSH server unless a
 * certificate_check callback decides, so keelson decides the way ssh(1)
 * does with StrictHostKeyChecking=yes: the server's key must be listed for
 * its name ("host", or "[host]:port" off port 22; plain, wildcard or
 * hashed "|1|" entries); a listed name with another key, or a @revoked
 * key, is refused.
 */
#ifndef KS_RECONCILER_SOURCE_KNOWNHOSTS_H
#define KS_RECONCILER_SOURCE_KNOWNHOSTS_H

#include <git2.h>

/* Files read, in order: $KEELSON_GIT_KNOWN_HOSTS if set (only it), else
 * $HOME/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */

/* For a certificate_check callback: url is the remote's URL (for the port).
 * 0 accepts; GIT_PASSTHROUGH for non-SSH certificates (libgit2's own TLS
 * check applies); GIT_ECERTIFICATE with a git_error message naming the
 * host, the key type and the files read. */
int ks_known_hosts_check(git_cert *cert, const char *host, const char *url);

#endif
