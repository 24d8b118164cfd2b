/*
 * check.c: one probe run. exec goes through the runtime's callback (the
 * agent runs the command inside the container with Podman's exec API);
 * httpGet and tcpSocket connect from the host to the target address
 * (http.c, tcp.c). As in the kubelet, a command that cannot be run or
 * times out is a failed check, not an error of the agent.
 */
#include "nodeagent/probe/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <time.h>

int64_t ks_probe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                      const struct ks_probe_spec *spec, const struct ks_probe_target *target,
                      long timeout_ms)
{
    int exit_code = -1, rc;

    if (!target->exec) {
        snprintf(msg, cap, "exec probes are not supported by this runtime");
        *out = KS_PROBE_FAILURE;
        return 0;
    }
    rc = target->exec(target->exec_ud, &exit_code, (const char *const *)spec->argv, timeout_ms);
    if (rc == KS_ENOMEM)
        return rc;
    if (rc == KS_ETIMEOUT) {
        snprintf(msg, cap, "command timed out after %lds", timeout_ms / 1000);
        *out = KS_PROBE_FAILURE;
    } else if (rc < 0) {
        snprintf(msg, cap, "command could not be run: %s", ks_error_last());
        *out = KS_PROBE_FAILURE;
    } else if (exit_code != 0) {
        snprintf(msg, cap, "command exited %d", exit_code);
        *out = KS_PROBE_FAILURE;
    } else {
        *out = KS_PROBE_SUCCESS;
    }
    return 0;
}

int ks_probe_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                   const struct ks_probe_spec *spec, const struct ks_probe_target *target)
{
    long timeout_ms = (long)spec->timeout_s * 1000;
    const char *host = spec->host ? spec->host : (target->host ? target->host : "127.0.0.1");
    enum ks_probe_outcome o = KS_PROBE_FAILURE;
    char local[8];
    int rc;

    if (!msg || cap == 0) {
        msg = local;
        cap = sizeof(local);
    }
    msg[0] = '\0';
    switch (spec->kind) {
    case KS_PROBE_EXEC:
        rc = exec_check(&o, msg, cap, spec, target, timeout_ms);
        break;
    case KS_PROBE_HTTP:
        rc = ks_probe_http_check(&o, msg, cap, spec, host, timeout_ms);
        break;
    case KS_PROBE_TCP:
        rc = ks_probe_tcp_check(&o, msg, cap, host, spec->port, timeout_ms);
        break;
    default:
        rc = ks_error_set(KS_EINVALID, "probe: unknown kind %d", (int)spec->kind);
        break;
    }
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}
