/*
 * parse.c: a Kubernetes probe object into a ks_probe_spec, with the API's
 * defaults (periodSeconds 10, timeoutSeconds 1, successThreshold 1,
 * failureThreshold 3, httpGet path "/" and scheme HTTP) and the kubelet's
 * port resolution (a name looked up in the container's ports, else a
 * number written as a string).
 */
#include "nodeagent/probe/probe.h"

#include "core/error.h"
#include "core/jsonpath.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

void ks_probe_spec_release(struct ks_probe_spec *spec)
{
    size_t i;

    if (!spec)
        return;
    if (spec->argv) {
        for (i = 0; spec->argv[i]; i++)
            free(spec->argv[i]);
        free(spec->argv);
    }
    free(spec->path);
    free(spec->scheme);
    free(spec->host);
    json_decref(spec->http_headers);
    memset(spec, 0, sizeof(*spec));
}

static int check_text(const char *field, const char *s)
{
    if (strlen(s) > KS_PROBE_MAX_TEXT)
        return ks_error_set(KS_ELIMIT, "%s: longer than the %d-byte limit (KS_PROBE_MAX_TEXT)",
                            field, KS_PROBE_MAX_TEXT);
    return 0;
}

static int get_seconds(int *out, const json_t *probe, const char *field, int min)
{
    int64_t v = *out;
    int rc = ks_json_get_int_range(&v, probe, field, false, min, KS_PROBE_MAX_SECONDS);

    if (rc < 0)
        return rc;
    *out = (int)v;
    return 0;
}

/* A port: an integer, a name from container.ports[].name, or a number in a string. */
static int resolve_port(int *out, const json_t *handler, const char *field, const json_t *container)
{
    json_t *v = json_object_get(handler, "port"), *ports = NULL, *p;
    const char *name;
    int64_t n = -1;
    size_t i;

    if (!v || json_is_null(v))
        return ks_error_set(KS_EINVALID, "%s.port: missing", field);
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        name = json_string_value(v);
        if (container && json_is_object(container))
            ports = json_object_get(container, "ports");
        json_array_foreach(ports, i, p)
        {
            const char *pn = json_string_value(json_object_get(p, "name"));
            json_t *cp = json_object_get(p, "containerPort");

            if (pn && strcmp(pn, name) == 0 && json_is_integer(cp)) {
                n = json_integer_value(cp);
                break;
            }
        }
        if (n < 0 && ks_str_to_i64(&n, name, "port") < 0)
            return ks_error_set(KS_EINVALID, "%s.port: no container port named \"%.64s\"", field,
                                name);
    } else {
        return ks_error_set(KS_EINVALID, "%s.port: expected an integer or a port name, got %s",
                            field, ks_json_type_name(v));
    }
    if (n < 1 || n > 65535)
        return ks_error_set(KS_EINVALID, "%s.port: must be between 1 and 65535, got %lld", field,
                            (long long)n);
    *out = (int)n;
    return 0;
}

static int parse_exec(struct ks_probe_spec *s, const json_t *exec)
{
    json_t *cmd = NULL, *a;
    size_t i;
    int rc;

    if ((rc = ks_json_get_array(&cmd, exec, "command", true)) < 0)
        return ks_error_wrap(rc, "exec");
    if (json_array_size(cmd) == 0)
        return ks_error_set(KS_EINVALID, "exec.command: must not be empty");
    if (json_array_size(cmd) > KS_PROBE_MAX_ARGV)
        return ks_error_set(KS_ELIMIT, "exec.command: more than %d entries (KS_PROBE_MAX_ARGV)",
                            KS_PROBE_MAX_ARGV);
    s->argv = calloc(json_array_size(cmd) + 1, sizeof(char *));
    if (!s->argv)
        return ks_error_set(KS_ENOMEM, "out of memory");
    json_array_foreach(cmd, i, a)
    {
        if (!json_is_string(a))
            return ks_error_set(KS_EINVALID, "exec.command[%zu]: expected a string, got %s", i,
                                ks_json_type_name(a));
        if ((rc = check_text("exec.command", json_string_value(a))) < 0)
            return rc;
        if (!(s->argv[i] = strdup(json_string_value(a))))
            return ks_error_set(KS_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_http(struct ks_probe_spec *s, const json_t *http, const json_t *container)
{
    const char *path = "/", *scheme = "HTTP", *host = NULL;
    json_t *headers = NULL, *h;
    size_t i;
    int rc;

    if ((rc = ks_json_get_string(&path, http, "path", false)) < 0 ||
        (rc = ks_json_get_string(&scheme, http, "scheme", false)) < 0 ||
        (rc = ks_json_get_string(&host, http, "host", false)) < 0 ||
        (rc = ks_json_get_array(&headers, http, "httpHeaders", false)) < 0)
        return ks_error_wrap(rc, "httpGet");
    if (strcmp(scheme, "HTTP") != 0 && strcmp(scheme, "HTTPS") != 0)
        return ks_error_set(KS_EINVALID, "httpGet.scheme: must be HTTP or HTTPS, got \"%.32s\"",
                            scheme);
    if ((rc = check_text("httpGet.path", path)) < 0 ||
        (host && (rc = check_text("httpGet.host", host)) < 0))
        return rc;
    if (json_array_size(headers) > KS_PROBE_MAX_HEADERS)
        return ks_error_set(KS_ELIMIT,
                            "httpGet.httpHeaders: more than %d entries (KS_PROBE_MAX_HEADERS)",
                            KS_PROBE_MAX_HEADERS);
    json_array_foreach(headers, i, h)
    {
        const char *name = NULL, *value = NULL;

        if ((rc = ks_json_get_string(&name, h, "name", true)) < 0 ||
            (rc = ks_json_get_string(&value, h, "value", true)) < 0)
            return ks_error_wrap(rc, "httpGet.httpHeaders[%zu]", i);
        if (!*name || strpbrk(name, ": \t\r\n") || strpbrk(value, "\r\n"))
            return ks_error_set(KS_EINVALID, "httpGet.httpHeaders[%zu]: not a valid HTTP header",
                                i);
        if ((rc = check_text("httpGet.httpHeaders", name)) < 0 ||
            (rc = check_text("httpGet.httpHeaders", value)) < 0)
            return rc;
    }
    if ((rc = resolve_port(&s->port, http, "httpGet", container)) < 0)
        return rc;
    /* The kubelet adds the leading slash when the manifest leaves it out. */
    s->path = path[0] == '/' ? strdup(path) : ks_strdupf("/%s", path);
    s->scheme = strdup(scheme);
    s->host = host && *host ? strdup(host) : NULL;
    if (!s->path || !s->scheme || (host && *host && !s->host))
        return ks_error_set(KS_ENOMEM, "out of memory");
    if (headers && json_array_size(headers))
        s->http_headers = json_incref(headers);
    return 0;
}

int ks_probe_spec_parse(struct ks_probe_spec *out, const json_t *probe, const json_t *container)
{
    struct ks_probe_spec s = {
        .period_s = 10, .timeout_s = 1, .success_threshold = 1, .failure_threshold = 3};
    json_t *exec = NULL, *http = NULL, *tcp = NULL, *grpc = NULL;
    int rc = 0, handlers;

    if (!json_is_object(probe)) {
        rc = ks_error_set(KS_EINVALID, "probe: expected an object, got %s",
                          ks_json_type_name(probe));
        goto done;
    }
    if ((rc = ks_json_get_object(&exec, probe, "exec", false)) < 0 ||
        (rc = ks_json_get_object(&http, probe, "httpGet", false)) < 0 ||
        (rc = ks_json_get_object(&tcp, probe, "tcpSocket", false)) < 0 ||
        (rc = ks_json_get_object(&grpc, probe, "grpc", false)) < 0)
        goto done;
    if (grpc) {
        rc = ks_error_set(KS_EINVALID, "grpc: gRPC probes are not supported by this agent");
        goto done;
    }
    handlers = !!exec + !!http + !!tcp;
    if (handlers != 1) {
        rc = ks_error_set(KS_EINVALID, handlers ? "probe: may not specify more than 1 handler type"
                                                : "probe: must specify a handler type (exec, "
                                                  "httpGet or tcpSocket)");
        goto done;
    }
    if ((rc = get_seconds(&s.initial_delay_s, probe, "initialDelaySeconds", 0)) < 0 ||
        (rc = get_seconds(&s.period_s, probe, "periodSeconds", 1)) < 0 ||
        (rc = get_seconds(&s.timeout_s, probe, "timeoutSeconds", 1)) < 0 ||
        (rc = get_seconds(&s.success_threshold, probe, "successThreshold", 1)) < 0 ||
        (rc = get_seconds(&s.failure_threshold, probe, "failureThreshold", 1)) < 0)
        goto done;
    if (exec) {
        s.kind = KS_PROBE_EXEC;
        rc = parse_exec(&s, exec);
    } else if (http) {
        s.kind = KS_PROBE_HTTP;
        rc = parse_http(&s, http, container);
    } else {
        s.kind = KS_PROBE_TCP;
        const char *host = NULL;

        if ((rc = ks_json_get_string(&host, tcp, "host", false)) < 0) {
            rc = ks_error_wrap(rc, "tcpSocket");
            goto done;
        }
        if (host && *host) {
            if ((rc = check_text("tcpSocket.host", host)) < 0)
                goto done;
            if (!(s.host = strdup(host))) {
                rc = ks_error_set(KS_ENOMEM, "out of memory");
                goto done;
            }
        }
        rc = resolve_port(&s.port, tcp, "tcpSocket", container);
    }
    if (rc < 0)
        goto done;
    *out = s;
    memset(&s, 0, sizeof(s));
done:
    ks_probe_spec_release(&s);
    return rc;
}
