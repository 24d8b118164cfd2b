/*
 * logic.c: the agent's pure decisions, kept apart from I/O so unit tests
 * pin them down: CrashLoopBackOff delays, restart policy, the spec hash
 * that tells whether a container still matches its Pod, which host paths a
 * pod may mount, and timestamps.
 */
#include "nodeagent/agent/internal.h"

#include "core/digest.h"
#include "core/error.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ks_agent_backoff_next(const struct ks_backoff *b, int64_t prev_ms, int64_t ran_ms)
{
    if (prev_ms <= 0 || ran_ms >= b->reset_ms)
        return b->base_ms;
    int64_t next = prev_ms * 2;
    return next > b->max_ms ? b->max_ms : next;
}

int ks_agent_restart_policy_parse(enum ks_restart_policy *out, const char *text)
{
    if (!text || strcmp(text, "Always") == 0)
        *out = KS_RESTART_ALWAYS;
    else if (strcmp(text, "OnFailure") == 0)
        *out = KS_RESTART_ON_FAILURE;
    else if (strcmp(text, "Never") == 0)
        *out = KS_RESTART_NEVER;
    else
        return ks_error_set(KS_EINVALID,
                            "spec.restartPolicy: must be Always, OnFailure or Never, got \"%s\"",
                            text);
    return 0;
}

bool ks_agent_should_restart(enum ks_restart_policy p, int exit_code)
{
    switch (p) {
    case KS_RESTART_ALWAYS:
        return true;
    case KS_RESTART_ON_FAILURE:
        return exit_code != 0;
    default:
        return false;
    }
}

int ks_agent_spec_hash(char out[17], const json_t *k8s_container)
{
    char hex[65];
    char *text = json_dumps(k8s_container, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = ks_sha256_hex(hex, text, strlen(text));
    free(text);
    if (rc < 0)
        return rc;
    memcpy(out, hex, 16);
    out[16] = '\0';
    return 0;
}

/* path equals prefix or lies below it. */
static bool under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int ks_agent_hostpath_check(const char *path, const char *podman_socket, const char *state_dir)
{
    static const char *const forbidden[] = {
        "/etc", "/proc", "/sys", "/dev", "/boot", "/run/podman", "/var/run/podman", NULL};
    if (!path || path[0] != '/')
        return ks_error_set(KS_EINVALID, "hostPath \"%s\" is not absolute", path ? path : "");
    if (strstr(path, "/../") || ks_str_has_suffix(path, "/.."))
        return ks_error_set(KS_EINVALID, "hostPath \"%s\" contains \"..\"", path);
    const char *p = path;
    while (*p == '/')
        p++;
    if (*p == '\0')
        return ks_error_set(KS_EINVALID, "hostPath \"/\" (the host's root) is forbidden");
    for (size_t i = 0; forbidden[i]; i++)
        if (under(path, forbidden[i]))
            return ks_error_set(KS_EINVALID, "hostPath \"%s\" is forbidden (under %s)", path,
                                forbidden[i]);
    if (podman_socket && *podman_socket && under(podman_socket, path))
        return ks_error_set(KS_EINVALID, "hostPath \"%s\" is forbidden (holds the Podman socket)",
                            path);
    if (state_dir && *state_dir && (under(path, state_dir) || under(state_dir, path)))
        return ks_error_set(KS_EINVALID,
                            "hostPath \"%s\" is forbidden (overlaps the agent's state dir %s)",
                            path, state_dir);
    return 0;
}

void ks_agent_time_format(char out[32], int64_t unix_ns)
{
    time_t t = (time_t)(unix_ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

int64_t ks_agent_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ks_agent_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
