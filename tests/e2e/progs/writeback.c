/*
 * writeback.c (e2e_writeback): drives the writeback library from a script
 * so that e2e tests can run it as separate processes (a restart between a
 * failed push and the next one, several writers) and check the result with
 * the git CLI.
 *
 *   e2e_writeback --repo PATH [--remote NAME|URL] [--local-ref REF]
 *                 [--max-queue N] [--interval MS] < script
 *
 * The script is JSON, one object per line, each with one key:
 *   {"sync": {"source", "result", "summary", "error"}}
 *   {"drift": <drift event>}
 *   {"health": {"kind", "namespace", "name", "health", "reason", "source"}}
 *   {"status": {"kind", "namespace", "name", "observed"}}   observed null: removed
 *   {"node": {"name", "node"}}                              node null: removed
 *   {"flush": true}     prints "flush rc=<code> commits=<n> unpushed=<n> error=<text>"
 *   {"start": true}     starts the internal thread
 *   {"sleep_ms": N}
 * Exit 0 when every line was accepted (a flush that could not push is not
 * a failure: the test reads its line), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "reconciler/writeback/writeback.h"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int run_line(struct ks_writeback *wb, const json_t *cmd)
{
    json_t *v;
    if ((v = json_object_get(cmd, "sync"))) {
        struct ks_writeback_sync s = {.source_sha = str(v, "source"),
                                      .result = str(v, "result"),
                                      .summary = json_object_get(v, "summary"),
                                      .error = str(v, "error")};
        return ks_writeback_record_sync(wb, &s);
    }
    if ((v = json_object_get(cmd, "drift")))
        return ks_writeback_record_drift(wb, v);
    if ((v = json_object_get(cmd, "health")))
        return ks_writeback_record_health(wb, str(v, "kind"), str(v, "namespace"), str(v, "name"),
                                          str(v, "health"), str(v, "reason"), str(v, "source"));
    if ((v = json_object_get(cmd, "status"))) {
        json_t *obs = json_object_get(v, "observed");
        return ks_writeback_set_object_status(wb, str(v, "kind"), str(v, "namespace"),
                                              str(v, "name"), json_is_null(obs) ? NULL : obs);
    }
    if ((v = json_object_get(cmd, "node"))) {
        json_t *node = json_object_get(v, "node");
        return ks_writeback_set_node(wb, str(v, "name"), json_is_null(node) ? NULL : node);
    }
    if (json_object_get(cmd, "flush")) {
        int rc = ks_writeback_flush(wb);
        struct ks_writeback_stats st;
        ks_writeback_stats(&st, wb);
        printf("flush rc=%d commits=%llu unpushed=%zu error=%s\n", rc,
               (unsigned long long)st.commits, st.unpushed, rc ? ks_error_last() : "");
        fflush(stdout);
        return 0;
    }
    if (json_object_get(cmd, "start"))
        return ks_writeback_start(wb);
    if ((v = json_object_get(cmd, "sleep_ms"))) {
        json_int_t ms = json_integer_value(v);
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return 0;
    }
    return ks_error_set(KS_EINVALID, "unknown script line");
}

int main(int argc, char **argv)
{
    struct ks_writeback_opts o = {0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--repo") == 0)
            o.repo_path = argv[i + 1];
        else if (strcmp(argv[i], "--remote") == 0)
            o.remote = argv[i + 1];
        else if (strcmp(argv[i], "--local-ref") == 0)
            o.local_ref = argv[i + 1];
        else if (strcmp(argv[i], "--max-queue") == 0)
            o.max_queue = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--interval") == 0)
            o.interval_ms = strtol(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "e2e_writeback: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    struct ks_writeback *wb = NULL;
    if (ks_writeback_new(&wb, &o)) {
        fprintf(stderr, "e2e_writeback: %s\n", ks_error_last());
        return 1;
    }
    char line[65536];
    int status = 0, n = 0;
    while (fgets(line, sizeof line, stdin)) {
        n++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t jerr;
        json_t *cmd = json_loads(line, 0, &jerr);
        if (!cmd || run_line(wb, cmd)) {
            fprintf(stderr, "e2e_writeback: line %d: %s\n", n, cmd ? ks_error_last() : jerr.text);
            status = 1;
        }
        json_decref(cmd);
    }
    ks_writeback_free(wb);
    return status;
}
