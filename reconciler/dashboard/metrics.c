/*
 * metrics.c: the figures the dashboard charts, derived from the model's
 * histories: how long each deploy commit took to be running (its commit
 * time to the status commit of its first successful sync) and how many
 * drift events were recorded per day (UTC).
 */
#include "reconciler/dashboard/internal.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COMMIT_POINTS 50
#define MAX_DRIFT_DAYS 30

static int result_ok(const json_t *sync)
{
    const char *result = json_string_value(json_object_get(sync, "result"));
    return result && strcmp(result, "failed") != 0 && strcmp(result, "error") != 0;
}

static json_t *commit_to_running(const json_t *model)
{
    const json_t *deploys = json_object_get(model, "deploys");
    const json_t *plans = json_object_get(model, "plans");
    json_t *points = json_array();
    /* deploys are newest first; walk from the oldest of the newest 50 */
    size_t n = json_array_size(deploys);
    for (size_t k = n; k-- > 0;) {
        const json_t *d = json_array_get(deploys, k);
        const char *sha = json_string_value(json_object_get(d, "sha"));
        const json_t *sync = sha ? json_object_get(plans, sha) : NULL;
        if (!sync || !result_ok(sync))
            continue;
        json_int_t secs = json_integer_value(json_object_get(sync, "status_time")) -
                          json_integer_value(json_object_get(d, "time"));
        json_array_append_new(points, json_pack("{s:s, s:O, s:I}", "sha", sha, "short",
                                                json_object_get(d, "short"), "seconds",
                                                secs < 0 ? (json_int_t)0 : secs));
    }
    while (json_array_size(points) > MAX_COMMIT_POINTS)
        json_array_remove(points, 0);
    return points;
}

static json_t *drift_per_day(const json_t *model)
{
    json_t *days = json_object(); /* "YYYY-MM-DD" -> count */
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(model, "events"), i, e)
    {
        const char *ev = json_string_value(json_object_get(e, "event"));
        if (!ev || strcmp(ev, "drift") != 0)
            continue;
        time_t t = (time_t)json_integer_value(json_object_get(e, "time"));
        struct tm tm;
        char day[16];
        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        json_int_t count = json_integer_value(json_object_get(days, day));
        json_object_set_new(days, day, json_integer(count + 1));
    }
    /* keys sorted ascending (ISO dates sort as text), keep the last 30 */
    size_t nkeys = json_object_size(days);
    const char **keys = nkeys ? calloc(nkeys, sizeof(*keys)) : NULL;
    json_t *points = json_array();
    const char *key;
    json_t *value;
    size_t k = 0;
    json_object_foreach(days, key, value) keys[k++] = key;
    for (size_t a = 1; a < nkeys; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *tmp = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = tmp;
        }
    for (k = nkeys > MAX_DRIFT_DAYS ? nkeys - MAX_DRIFT_DAYS : 0; k < nkeys; k++)
        json_array_append_new(points, json_pack("{s:s, s:O}", "day", keys[k], "count",
                                                json_object_get(days, keys[k])));
    free(keys);
    json_decref(days);
    return points;
}

int ks_dashboard_model_derive(json_t *model)
{
    json_t *a = commit_to_running(model);
    json_t *b = drift_per_day(model);
    if (!a || !b) {
        json_decref(a);
        json_decref(b);
        return ks_error_set(KS_ENOMEM, "dashboard: out of memory");
    }
    json_object_set_new(model, "commit_to_running", a);
    json_object_set_new(model, "drift_per_day", b);
    return 0;
}
