/*
 * exec.c: run a command in a running container and collect its exit code,
 * the building block of exec probes. libpod splits this in three: create an
 * exec session, start it attached (the answer streams the output until the
 * command ends), then inspect the session for the exit code. The session
 * can still read Running for a moment after the stream ends, so the inspect
 * is repeated briefly until it settles.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXEC_MAX_ARGS 256
#define EXEC_MAX_OUTPUT 65536u
#define EXEC_SETTLE_MS 2000L

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int exec_spec(json_t **out, const char *const *argv)
{
    json_t *spec = NULL, *cmd = NULL;
    int i, rc = 0;

    if (!argv || !argv[0]) {
        rc = ks_error_set(KS_EINVALID, "podman: exec: empty command");
        goto done;
    }
    cmd = json_array();
    for (i = 0; argv[i]; i++) {
        if (i >= EXEC_MAX_ARGS) {
            rc = ks_error_set(KS_ELIMIT, "podman: exec: over the %d-argument limit", EXEC_MAX_ARGS);
            goto done;
        }
        if (json_array_append_new(cmd, json_string(argv[i])) < 0) {
            rc = ks_error_set(KS_EINVALID, "podman: exec: argument %d is not UTF-8", i);
            goto done;
        }
    }
    spec = json_pack("{s:b,s:b,s:O}", "AttachStdout", 1, "AttachStderr", 1, "Cmd", cmd);
    if (!spec) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    *out = spec;
done:
    json_decref(cmd);
    return rc;
}

/* Inspects the session until Running is false; *out is its ExitCode. */
static int exec_exit_code(int *out, struct ks_podman *pm, const char *id, long deadline)
{
    json_t *doc = NULL;
    const json_t *code;
    int rc;

    for (;;) {
        json_decref(doc);
        doc = NULL;
        if ((rc = ks_podman_get_json(&doc, pm, "/exec/%s/json", id)) < 0)
            goto done;
        code = json_object_get(doc, "ExitCode");
        if (!json_is_true(json_object_get(doc, "Running")) && json_is_integer(code))
            break;
        if (now_ms() >= deadline) {
            rc = ks_error_set(KS_ETIMEOUT,
                              "podman at %s: exec %.12s still running after its "
                              "output ended",
                              ks_podman_socket(pm), id);
            goto done;
        }
        nanosleep(&(struct timespec){.tv_nsec = 20000000L}, NULL);
    }
    *out = (int)json_integer_value(code);
done:
    json_decref(doc);
    return rc;
}

int ks_podman_exec(int *out, char **out_output, struct ks_podman *pm, const char *ctr,
                   const char *const *argv, long timeout_ms)
{
    json_t *spec = NULL, *start = NULL;
    struct ks_buf path, text;
    struct ks_podman_req req = {.method = "POST", .truncate_ok = true};
    struct ks_podman_resp resp = {0};
    char *id = NULL, *output = NULL;
    int rc, code = -1;

    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    ks_buf_init(&text, EXEC_MAX_OUTPUT);
    if ((rc = exec_spec(&spec, argv)) < 0)
        goto done;
    if ((rc = ks_podman_path(&path, "/containers/%s/exec", ctr)) < 0)
        goto done;
    if ((rc = ks_podman_create(&id, pm, ks_buf_data(&path), spec)) < 0)
        goto done;
    start = json_pack("{s:b,s:b}", "Detach", 0, "Tty", 0);
    ks_buf_reset(&path);
    if (!start) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_podman_path(&path, "/exec/%s/start", id)) < 0)
        goto done;
    req.path = ks_buf_data(&path);
    req.body = start;
    req.timeout_ms = timeout_ms;
    req.max_response = EXEC_MAX_OUTPUT + EXEC_MAX_OUTPUT / 2;
    if ((rc = ks_podman_request(&resp, pm, &req)) < 0)
        goto done;
    if ((rc = exec_exit_code(&code, pm, id, now_ms() + EXEC_SETTLE_MS)) < 0)
        goto done;
    if (out_output) {
        if (ks_podman_demux(&text, ks_buf_data(&resp.body), ks_buf_len(&resp.body)) == KS_ENOMEM) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        text.error = 0; /* over the cap: keep what fitted */
        output = ks_buf_detach(&text, NULL);
        if (!output) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        *out_output = output;
    }
    *out = code;
done:
    ks_buf_release(&resp.body);
    ks_buf_release(&text);
    ks_buf_release(&path);
    json_decref(start);
    json_decref(spec);
    free(id);
    return rc;
}
