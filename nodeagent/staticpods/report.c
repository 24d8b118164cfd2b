/*
 * report.c: where the directory source puts what the agent reports. With a
 * report directory: <report_dir>/status/<ns>_<name>.json holds the pod's
 * latest status (written to a temporary file and renamed, so a reader
 * never sees half a file) and <report_dir>/events.ndjson gets one event
 * per line (O_APPEND, one write per batch, under a mutex). Without one the
 * status and events are logged. Events get "source": "static" and a
 * "time" when they carry none.
 */
#include "nodeagent/staticpods/internal.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/object.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len, const char *path)
{
    while (len) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ks_error_set(KS_EIO, "%s: %s", path, strerror(errno));
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int sp_report_status(struct sp_source *s, const char *ns, const char *name, const json_t *status)
{
    char *text = NULL, *path = NULL, *tmp = NULL, *dir = NULL;
    const char *phase;
    int fd = -1, rc;

    if ((rc = ks_name_validate(KS_NAME_DNS1123_LABEL, "namespace", ns)) < 0 ||
        (rc = ks_name_validate(KS_NAME_DNS1123_SUBDOMAIN, "pod name", name)) < 0)
        return rc;
    if (!json_is_object(status))
        return ks_error_set(KS_EINVALID, "status of %s/%s: expected an object", ns, name);
    if (!s->report_dir) {
        phase = json_string_value(json_object_get(status, "phase"));
        text = ks_strdupf("%s/%s", ns, name);
        ks_log(KS_LOG_INFO, "pod status", "pod", text ? text : name, "phase", phase ? phase : "",
               NULL);
        free(text);
        return 0;
    }
    text = json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS);
    dir = ks_strdupf("%s/status", s->report_dir);
    path = ks_strdupf("%s/%s_%s.json", dir ? dir : "", ns, name);
    pthread_mutex_lock(&s->report_lock);
    tmp =
        ks_strdupf("%s/.%s_%s.json.%ld.%u", dir ? dir : "", ns, name, (long)getpid(), s->tmp_seq++);
    pthread_mutex_unlock(&s->report_lock);
    if (!text || !dir || !path || !tmp) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ks_mkdir_p(dir, 0755)) < 0)
        goto done;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ks_error_set(KS_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if ((rc = write_all(fd, text, strlen(text), tmp)) < 0 || (rc = write_all(fd, "\n", 1, tmp)) < 0)
        goto done;
    if (close(fd) < 0) {
        fd = -1;
        rc = ks_error_set(KS_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = ks_error_set(KS_EIO, "rename %s to %s: %s", tmp, path, strerror(errno));
        goto done;
    }
done:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp)
        unlink(tmp);
    free(text);
    free(path);
    free(tmp);
    free(dir);
    return rc;
}

static void now_rfc3339(char out[32])
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int sp_report_events(struct sp_source *s, const json_t *events)
{
    struct ks_buf lines;
    json_t *e, *copy;
    char when[32], *text, *path = NULL;
    size_t i;
    int fd = -1, rc = 0;

    if (!json_is_array(events))
        return ks_error_set(KS_EINVALID, "events: expected an array, got %s",
                            json_is_object(events) ? "object" : "something else");
    now_rfc3339(when);
    ks_buf_init(&lines, 0);
    json_array_foreach(events, i, e)
    {
        if (!json_is_object(e)) {
            rc = ks_error_set(KS_EINVALID, "events[%zu]: expected an object", i);
            goto done;
        }
        if (!(copy = json_copy(e))) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (!json_object_get(copy, "source"))
            json_object_set_new(copy, "source", json_string("static"));
        if (!json_object_get(copy, "time"))
            json_object_set_new(copy, "time", json_string(when));
        text = json_dumps(copy, JSON_COMPACT);
        json_decref(copy);
        if (!text) {
            rc = ks_error_set(KS_ENOMEM, "out of memory");
            goto done;
        }
        if (strlen(text) > KS_STATICPODS_MAX_EVENT_LINE) {
            free(text);
            rc = ks_error_set(KS_ELIMIT,
                              "events[%zu]: over the %u-byte event limit "
                              "(KS_STATICPODS_MAX_EVENT_LINE)",
                              i, KS_STATICPODS_MAX_EVENT_LINE);
            goto done;
        }
        if (!s->report_dir) {
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *reason = json_string_value(json_object_get(e, "reason"));
            const char *message = json_string_value(json_object_get(e, "message"));

            ks_log(type && strcmp(type, "Warning") == 0 ? KS_LOG_WARN : KS_LOG_INFO, "event",
                   "reason", reason ? reason : "", "message", message ? message : "", NULL);
        }
        ks_buf_puts(&lines, text);
        ks_buf_putc(&lines, '\n');
        free(text);
    }
    if ((rc = ks_buf_error(&lines)) < 0 || !s->report_dir || ks_buf_len(&lines) == 0)
        goto done;
    if (!(path = ks_strdupf("%s/events.ndjson", s->report_dir))) {
        rc = ks_error_set(KS_ENOMEM, "out of memory");
        goto done;
    }
    pthread_mutex_lock(&s->report_lock);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        rc = ks_error_set(KS_EIO, "%s: %s", path, strerror(errno));
    else
        rc = write_all(fd, ks_buf_data(&lines), ks_buf_len(&lines), path);
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&s->report_lock);
done:
    ks_buf_release(&lines);
    free(path);
    return rc;
}

void sp_report_file_warning(struct sp_source *s, const char *file, const char *message)
{
    json_t *ev = json_pack("[{s:s,s:s,s:s,s:s}]", "type", "Warning", "reason", "StaticPodFile",
                           "message", message, "file", file);

    if (ev && sp_report_events(s, ev) < 0)
        ks_log(KS_LOG_WARN, "static pods: cannot write an event", "error", ks_error_last(), NULL);
    json_decref(ev);
}
