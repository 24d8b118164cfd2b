/*
 * metrics.c: the control plane's Prometheus metrics read from the store
 * (contracts §6): last sync duration and Git fetch time (from the newest
 * finished sync record), syncs by result, pods by phase, nodes by their
 * Ready condition, drift events.
 *
 * keelson_sync_total is a counter over the store's sync records: the
 * server counts each record once, when it is finished (in id order), so
 * the value only grows while the server runs; on the first scrape it
 * starts from the records the store still lists (the last
 * METRICS_SYNC_WINDOW). A record left "running" by a crash is counted as
 * "interrupted" once a newer record exists. Drift events are counted as
 * the agents post them through this server (nodes.c), since every drift
 * event enters the store that way.
 */
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define METRICS_SYNC_WINDOW 1000

static int64_t json_i64(const json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

/* "2026-12-01T19:13:00Z" to seconds since the epoch; -1 when malformed. */
static int64_t parse_utc(const char *s)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end)
        return -1;
    return (int64_t)timegm(&tm);
}

static const char *result_of(const json_t *rec)
{
    const char *r = json_string_value(json_object_get(rec, "result"));
    return r ? r : "unknown";
}

static int count_syncs(struct ks_api_server *srv, const json_t *recs)
{
    if (!srv->sync_counts && !(srv->sync_counts = json_object()))
        return ks_error_set(KS_ENOMEM, "metrics: out of memory");
    size_t n = json_array_size(recs);
    for (size_t i = 0; i < n; i++) {
        const json_t *rec = json_array_get(recs, i);
        int64_t id = json_i64(rec, "id");
        if (id <= srv->syncs_counted_upto)
            continue;
        const char *result = result_of(rec);
        if (strcmp(result, "running") == 0) {
            if (i + 1 == n)
                break; /* the sync in progress: counted when it finishes */
            result = "interrupted";
        }
        json_t *c = json_object_get(srv->sync_counts, result);
        json_object_set_new(srv->sync_counts, result,
                            json_integer(c ? json_integer_value(c) + 1 : 1));
        srv->syncs_counted_upto = id;
    }
    return 0;
}

static void sync_metrics(struct ks_buf *b, struct ks_api_server *srv, const json_t *recs)
{
    const json_t *last = NULL;
    for (size_t i = json_array_size(recs); i > 0 && !last; i--) {
        const json_t *rec = json_array_get(recs, i - 1);
        if (json_is_string(json_object_get(rec, "finished")))
            last = rec;
    }
    ks_buf_puts(b, "# HELP keelson_sync_total Finished syncs by result.\n"
                   "# TYPE keelson_sync_total counter\n");
    const char *key;
    json_t *v;
    json_object_foreach(srv->sync_counts, key, v)
    {
        ks_buf_puts(b, "keelson_sync_total{result=\"");
        ks_buf_put_escaped(b, key);
        ks_buf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
    }
    if (!last)
        return;
    const json_t *summary = json_object_get(last, "summary");
    const json_t *dur = json_object_get(summary, "duration_ms");
    double seconds = -1;
    if (json_is_number(dur))
        seconds = json_number_value(dur) / 1000.0;
    else {
        int64_t s = parse_utc(json_string_value(json_object_get(last, "started")));
        int64_t f = parse_utc(json_string_value(json_object_get(last, "finished")));
        if (s >= 0 && f >= s)
            seconds = (double)(f - s);
    }
    if (seconds >= 0)
        ks_buf_printf(b,
                      "# HELP keelson_sync_duration_seconds Duration of the last finished sync.\n"
                      "# TYPE keelson_sync_duration_seconds gauge\n"
                      "keelson_sync_duration_seconds %.3f\n",
                      seconds);
    const json_t *fetch = json_object_get(summary, "fetch_ms");
    if (json_is_number(fetch))
        ks_buf_printf(b,
                      "# HELP keelson_git_fetch_seconds Git fetch time of the last finished "
                      "sync.\n"
                      "# TYPE keelson_git_fetch_seconds gauge\n"
                      "keelson_git_fetch_seconds %.3f\n",
                      json_number_value(fetch) / 1000.0);
}

static int pod_metrics(struct ks_buf *b, struct ks_store *store)
{
    static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    size_t counts[5] = {0}, i;
    json_t *pods = NULL, *p;
    struct ks_store_list_opts lo = {.kind = "Pod", .shared = true}; /* read only */
    int rc = ks_store_list(&pods, store, &lo);
    if (rc)
        return rc;
    json_array_foreach(pods, i, p)
    {
        const char *phase =
            json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
        size_t k = 0; /* no status yet: Pending, as Kubernetes shows it */
        if (phase) {
            k = 4; /* a phase Kubernetes does not know: Unknown */
            for (size_t j = 0; j < 4; j++)
                if (strcmp(phase, phases[j]) == 0)
                    k = j;
        }
        counts[k]++;
    }
    json_decref(pods);
    ks_buf_puts(b, "# HELP keelson_pods Pods in the store by phase.\n"
                   "# TYPE keelson_pods gauge\n");
    for (size_t j = 0; j < 5; j++)
        ks_buf_printf(b, "keelson_pods{phase=\"%s\"} %zu\n", phases[j], counts[j]);
    return 0;
}

static int node_ready(const json_t *node)
{
    const json_t *conds = json_object_get(json_object_get(node, "status"), "conditions"), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && strcmp(type, "Ready") == 0)
            return status && strcmp(status, "True") == 0;
    }
    return 0;
}

static int node_metrics(struct ks_buf *b, struct ks_store *store)
{
    size_t ready = 0, not_ready = 0, i;
    json_t *nodes = NULL, *n;
    struct ks_store_list_opts lo = {.kind = "Node", .shared = true}; /* read only */
    int rc = ks_store_list(&nodes, store, &lo);
    if (rc)
        return rc;
    json_array_foreach(nodes, i, n)
    {
        if (node_ready(n))
            ready++;
        else
            not_ready++;
    }
    json_decref(nodes);
    ks_buf_printf(b,
                  "# HELP keelson_nodes Nodes by their Ready condition.\n"
                  "# TYPE keelson_nodes gauge\n"
                  "keelson_nodes{ready=\"true\"} %zu\n"
                  "keelson_nodes{ready=\"false\"} %zu\n",
                  ready, not_ready);
    return 0;
}

int api_metrics_store(struct ks_buf *b, struct ks_api_server *srv)
{
    json_t *recs = NULL;
    int rc;
    if ((rc = ks_store_syncs_list(&recs, srv->store, METRICS_SYNC_WINDOW)) != 0 ||
        (rc = count_syncs(srv, recs)) != 0)
        goto done;
    sync_metrics(b, srv, recs);
    if ((rc = pod_metrics(b, srv->store)) != 0 || (rc = node_metrics(b, srv->store)) != 0)
        goto done;
    ks_buf_printf(b,
                  "# HELP keelson_drift_events_total Drift events reported by node agents.\n"
                  "# TYPE keelson_drift_events_total counter\n"
                  "keelson_drift_events_total %llu\n",
                  (unsigned long long)srv->drift_events);
done:
    json_decref(recs);
    return rc;
}
