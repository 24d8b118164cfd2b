/*
 * probe.h: Kubernetes container probes (liveness, readiness, startup) as the
 * kubelet runs them: parsing a probe object with Kubernetes' defaults,
 * running one check (exec through the runtime's callback, httpGet with
 * nodeagent/http, tcpSocket with a non-blocking connect) and the tracker that turns
 * single outcomes into a result with initialDelaySeconds, periodSeconds and
 * the success/failure thresholds.
 *
 * Ownership: a parsed spec owns its strings, argv and header array
 * (ks_probe_spec_release frees them). A tracker borrows its spec.
 * Threading: specs and trackers are plain data (one owner thread);
 * ks_probe_check may run on any thread and keeps no state.
 */
#ifndef KS_NODEAGENT_PROBE_PROBE_H
#define KS_NODEAGENT_PROBE_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on probe objects read from manifests (KS_ELIMIT naming them). */
#define KS_PROBE_MAX_ARGV 256      /* exec.command entries */
#define KS_PROBE_MAX_HEADERS 64    /* httpGet.httpHeaders entries */
#define KS_PROBE_MAX_TEXT 4096     /* bytes of a path, host, header or argument */
#define KS_PROBE_MAX_REDIRECTS 10  /* httpGet redirects followed (as Go's http client) */
#define KS_PROBE_MAX_SECONDS 86400 /* any of the *Seconds fields */

enum ks_probe_kind { KS_PROBE_EXEC, KS_PROBE_HTTP, KS_PROBE_TCP };
enum ks_probe_outcome { KS_PROBE_SUCCESS, KS_PROBE_FAILURE };

struct ks_probe_spec { /* parsed Kubernetes probe; defaults as Kubernetes */
    enum ks_probe_kind kind;
    char **argv; /* exec: NULL-terminated, owned */
    char *path, *scheme,
        *host;            /* httpGet: path "/", scheme "HTTP"|"HTTPS", host NULL = target host */
    json_t *http_headers; /* httpGet.httpHeaders array or NULL (owned ref) */
    int port;             /* httpGet/tcpSocket, named ports resolved from the container's ports */
    int initial_delay_s, period_s /*10*/, timeout_s /*1*/, success_threshold /*1*/,
        failure_threshold /*3*/;
};

/* Parses probe (a container's livenessProbe/readinessProbe/startupProbe
 * object); container (may be NULL) resolves named ports through its
 * ports[].name. Exactly one of exec, httpGet, tcpSocket (grpc is refused).
 * KS_EINVALID names the field ("httpGet.port: no container port named
 * \"web\""); *out is written only on success. */
int ks_probe_spec_parse(struct ks_probe_spec *out, const json_t *probe, const json_t *container);
void ks_probe_spec_release(struct ks_probe_spec *spec);

/* Runs argv in the container; *out_exit is the exit code. Returns 0, or
 * < 0 when the command could not be run (KS_ETIMEOUT past timeout_ms). */
typedef int (*ks_probe_exec_fn)(void *ud, int *out_exit, const char *const *argv, long timeout_ms);

struct ks_probe_target {
    const char *host; /* address the agent connects to (pod IP, else "127.0.0.1") */
    ks_probe_exec_fn exec;
    void *exec_ud;
};

/* Runs the probe once, bounded by spec->timeout_s. msg gets a one-line reason ("HTTP probe failed
 * with statuscode: 500", "dial tcp 10.88.0.5:80: connect: connection refused", "command exited 1";
 * "" on success unless there is something to say, e.g. a redirect not followed). Returns 0
 * (outcome in *out) or < 0 only for internal errors (out of memory). */
int ks_probe_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                   const struct ks_probe_spec *spec, const struct ks_probe_target *target);

struct ks_probe_tracker {
    const struct ks_probe_spec *spec;
    int64_t next_due_ms;
    int consecutive_ok, consecutive_fail;
    int result; /* -1 unknown, 0 failed, 1 succeeded (after thresholds) */
};

/* The first check is due initialDelaySeconds after the container started. */
void ks_probe_tracker_init(struct ks_probe_tracker *t, const struct ks_probe_spec *spec,
                           int64_t container_started_ms);
bool ks_probe_tracker_due(const struct ks_probe_tracker *t, int64_t now_ms);
/* Records one outcome; true when t->result changed. Schedules the next run after period_s. */
bool ks_probe_tracker_record(struct ks_probe_tracker *t, enum ks_probe_outcome o, int64_t now_ms);

#endif
