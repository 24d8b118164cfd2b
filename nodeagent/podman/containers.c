/*
 * containers.c: libpod container endpoints (create, start, stop, kill,
 * remove, inspect, list, logs) and the parsing of an inspect document into
 * the few facts a pod worker acts on (state, exit code, times, restarts).
 * The parsers are pure so unit tests can feed them recorded answers.
 */
#include "nodeagent/podman/internal.h"

#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGS_DEFAULT_MAX 1048576u

int ks_podman_container_create(char **out, struct ks_podman *pm, const json_t *spec)
{
    return ks_podman_create(out, pm, "/containers/create", spec);
}

int ks_podman_container_start(struct ks_podman *pm, const char *ctr)
{
    return ks_podman_call(pm, "POST", 0, "/containers/%s/start", ctr);
}

int ks_podman_container_stop(struct ks_podman *pm, const char *ctr, int timeout_s)
{
    char t[16];

    if (timeout_s < 0)
        return ks_podman_call(pm, "POST", ks_podman_stop_budget_ms(timeout_s),
                              "/containers/%s/stop", ctr);
    snprintf(t, sizeof(t), "%d", timeout_s);
    return ks_podman_call(pm, "POST", ks_podman_stop_budget_ms(timeout_s),
                          "/containers/%s/stop?timeout=%s", ctr, t);
}

int ks_podman_container_kill(struct ks_podman *pm, const char *ctr, const char *signal)
{
    return ks_podman_call(pm, "POST", 0, "/containers/%s/kill?signal=%s", ctr,
                          signal ? signal : "SIGKILL");
}

int ks_podman_container_remove(struct ks_podman *pm, const char *ctr, bool force)
{
    if (force)
        return ks_podman_call(pm, "DELETE", ks_podman_stop_budget_ms(0),
                              "/containers/%s?force=true&timeout=0", ctr);
    return ks_podman_call(pm, "DELETE", 0, "/containers/%s", ctr);
}

int ks_podman_container_inspect(json_t **out, struct ks_podman *pm, const char *ctr)
{
    return ks_podman_get_json(out, pm, "/containers/%s/json", ctr);
}

int ks_podman_container_list(json_t **out, struct ks_podman *pm, const char *const *labels)
{
    return ks_podman_list(out, pm, "/containers/json?all=true&", labels);
}

int ks_podman_container_logs(char **out, size_t *out_len, bool *out_truncated, struct ks_podman *pm,
                             const char *ctr, unsigned tail, size_t max_bytes)
{
    struct ks_buf path, text;
    struct ks_podman_req req = {.method = "GET", .truncate_ok = true};
    struct ks_podman_resp resp = {0};
    char n[16];
    size_t len;
    char *data;
    int rc;

    if (max_bytes == 0)
        max_bytes = LOGS_DEFAULT_MAX;
    ks_buf_init(&path, KS_PODMAN_MAX_PATH);
    ks_buf_init(&text, max_bytes);
    if (tail > 0) {
        snprintf(n, sizeof(n), "%u", tail);
        rc = ks_podman_path(&path, "/containers/%s/logs?stdout=true&stderr=true&tail=%s", ctr, n);
    } else {
        rc = ks_podman_path(&path, "/containers/%s/logs?stdout=true&stderr=true", ctr);
    }
    if (rc < 0)
        goto done;
    req.path = ks_buf_data(&path);
    /* Room for the frame headers: one 8-byte header per line at worst. */
    req.max_response = max_bytes + max_bytes / 2 + 64;
    if ((rc = ks_podman_request(&resp, pm, &req)) < 0)
        goto done;
    if (ks_podman_demux(&text, ks_buf_data(&resp.body), ks_buf_len(&resp.body)) == KS_ENOMEM) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    /* Over max_bytes: ks_buf kept the first max_bytes bytes it could. */
    if (out_truncated)
        *out_truncated = resp.truncated || ks_buf_error(&text) == KS_ELIMIT;
    text.error = 0;
    data = ks_buf_detach(&text, &len);
    if (!data) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if (out_len)
        *out_len = len;
    *out = data;
done:
    ks_buf_release(&resp.body);
    ks_buf_release(&text);
    ks_buf_release(&path);
    return rc;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ks_podman_time_parse(int64_t *out, const char *text)
{
    struct tm tm = {0};
    int year, mon, day, hh, mm, ss, oh = 0, om = 0, sign = 0;
    int64_t frac = 0, secs;
    const char *p = text;
    int nd = 0;

    if (!text || strlen(text) < 20 || digits(p, 4, &year) || p[4] != '-' ||
        digits(p + 5, 2, &mon) || p[7] != '-' || digits(p + 8, 2, &day) ||
        (p[10] != 'T' && p[10] != ' ') || digits(p + 11, 2, &hh) || p[13] != ':' ||
        digits(p + 14, 2, &mm) || p[16] != ':' || digits(p + 17, 2, &ss))
        goto bad;
    p += 19;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            if (nd < 9)
                frac = frac * 10 + (*p - '0');
        }
        if (nd == 0)
            goto bad;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            goto bad;
        p += 6;
    } else {
        goto bad;
    }
    if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        goto bad;
    /* Go's zero time (0001-01-01) and anything before the epoch: unset. */
    if (year < 1970) {
        *out = 0;
        return 0;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    secs = (int64_t)timegm(&tm) - (int64_t)sign * (oh * 3600 + om * 60);
    if (year > 2200)
        goto bad;
    *out = secs * 1000000000LL + frac;
    return 0;
bad:
    return ks_error_set(KS_EINVALID, "podman: '%.60s' is not an RFC 3339 time",
                        text ? text : "(null)");
}

static int member_int(int *out, const json_t *obj, const char *key, const char *where)
{
    const json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        return ks_error_set(KS_EINVALID, "podman: container inspect: %s%s is not an integer", where,
                            key);
    if (json_integer_value(v) < -2147483647LL || json_integer_value(v) > 2147483647LL)
        return ks_error_set(KS_EINVALID, "podman: container inspect: %s%s is out of range", where,
                            key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int member_time(int64_t *out, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    int rc;

    if (!s)
        return ks_error_set(KS_EINVALID, "podman: container inspect: State.%s is not a string",
                            key);
    if ((rc = ks_podman_time_parse(out, s)) < 0)
        return ks_error_wrap(rc, "podman: container inspect: State.%s", key);
    return 0;
}

int ks_podman_ctr_state_parse(struct ks_podman_ctr_state *out, const json_t *inspect)
{
    struct ks_podman_ctr_state st = {0};
    const json_t *state = json_object_get(inspect, "State");
    const char *status = json_string_value(json_object_get(state, "Status"));
    int rc;

    if (!json_is_object(state) || !status)
        return ks_error_set(KS_EINVALID, "podman: container inspect: no State.Status");
    if (strlen(status) >= sizeof(st.status))
        return ks_error_set(KS_EINVALID,
                            "podman: container inspect: State.Status '%.40s' is "
                            "over the %zu-byte limit",
                            status, sizeof(st.status) - 1);
    memcpy(st.status, status, strlen(status) + 1);
    if (!json_is_boolean(json_object_get(state, "Running")))
        return ks_error_set(KS_EINVALID, "podman: container inspect: State.Running is not a "
                                         "boolean");
    st.running = json_is_true(json_object_get(state, "Running"));
    st.oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    if ((rc = member_int(&st.exit_code, state, "ExitCode", "State.")) < 0 ||
        (rc = member_int(&st.pid, state, "Pid", "State.")) < 0 ||
        (rc = member_time(&st.started_ns, state, "StartedAt")) < 0 ||
        (rc = member_time(&st.finished_ns, state, "FinishedAt")) < 0)
        return rc;
    /* Absent on containers that never restarted in some versions. */
    if (json_object_get(inspect, "RestartCount") &&
        (rc = member_int(&st.restart_count, inspect, "RestartCount", "")) < 0)
        return rc;
    *out = st;
    return 0;
}

int ks_podman_container_state(struct ks_podman_ctr_state *out, struct ks_podman *pm,
                              const char *ctr)
{
    json_t *doc = NULL;
    int rc;

    if ((rc = ks_podman_container_inspect(&doc, pm, ctr)) < 0)
        goto done;
    rc = ks_podman_ctr_state_parse(out, doc);
done:
    json_decref(doc);
    return rc;
}
