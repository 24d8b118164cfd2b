/*
 * images_auth.h: an image pull with a registry credential (images.c).
 *
 * Declared apart from podman.h, whose request layer (client.c) takes no
 * extra headers: libpod reads the credential only from the X-Registry-Auth
 * header, so this pull makes its own request on the socket with
 * nodeagent/http (docs/nodeagent.md, "Image pull secrets").
 */
#ifndef KS_NODEAGENT_PODMAN_IMAGES_AUTH_H
#define KS_NODEAGENT_PODMAN_IMAGES_AUTH_H

#include "nodeagent/podman/podman.h"

/* As ks_podman_image_pull_policy, sending auth (base64url of the JSON
 * {"username", "password"} or {"identitytoken"}; NULL: none) as the
 * X-Registry-Auth header. *out (may be NULL) is the image id, malloc'd. */
int ks_podman_image_pull_auth(char **out, struct ks_podman *pm, const char *reference,
                              const char *policy, const char *auth, long timeout_ms);

#endif
