/*
 * cmd_status.c: `reconcile status`: what a running control plane is doing,
 * read through its API: the last sync (commit, result, when, the error with
 * its file:line when it failed, and the last good one then), every object's
 * health in Argo CD's vocabulary (ks_health_of, reconciler/controllers),
 * nodes ready and not ready, pods by phase. Text or JSON (-o json).
 */
#include "reconciler/cli.h"
#include "reconciler/client/client.h"
#include "reconciler/controllers/controllers.h"
#include "reconciler/daemon/daemon.h"

#include "core/error.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_SYNCS 100
#define STATUS_LIST_UNHEALTHY 20

int ks_cmd_status(int argc, char **argv);

struct status_opts {
    const char *output, *server, *token, *state_dir;
};

static void usage(FILE *out)
{
    fputs("Usage: reconcile status [-o text|json] [--server URL] [--token T] [--state-dir DIR]\n"
          "\n"
          "The state of a running control plane: the last sync (commit, result, when,\n"
          "error), objects by health, nodes ready and not ready, pods by phase.\n"
          "\n"
          "Options:\n"
          "  -o, --output FMT   text (default) or json\n"
          "  --server URL       API; default $KEELSON_SERVER, else <state-dir>/api.url\n"
          "  --token T          admin token; default $KEELSON_TOKEN, else\n"
          "                     <state-dir>/tokens/admin\n"
          "  --state-dir DIR    default $KEELSON_STATE_DIR, /var/lib/keelson as root,\n"
          "                     else ~/.local/state/keelson\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit status: 0 shown, 1 error (the server could not be asked).\n",
          out);
}

static int parse(struct status_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        KS_CLI_LONGOPTS_CLIENT,
        KS_CLI_LONGOPT_HELP,
        KS_CLI_LONGOPT_END,
    };
    const struct ks_cli_common dst = {KS_CLI_BIND_CLIENT(o)};
    const struct ks_cli_spec spec = {
        .shortopts = "ho:",
        .longopts = longopts,
        .dst = &dst,
        .usage = usage,
        .see = "reconcile status --help",
        .unknown_prefix = "",
        .operand_prefix = "status: ",
    };
    int rc = ks_cli_parse(&spec, argc, argv);

    if (rc != 0)
        return rc;
    if (ks_cli_output(&o->output, (const char *const[]){"text", "json", NULL}))
        return -1;
    return 0;
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

static void count(json_t *obj, const char *key)
{
    json_t *n = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

static int result_is_good(const char *result)
{
    return result && (strcmp(result, "applied") == 0 || strcmp(result, "unchanged") == 0);
}

/* The last sync record and, when it failed, the last good one (applied or
 * unchanged: the state that keeps running); either may be null. */
static int syncs_part(json_t *report, struct ks_client *c)
{
    json_t *list = NULL, *rec, *last = NULL, *good = NULL;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/syncs?limit=%d", STATUS_SYNCS);
    int rc = ks_client_get(&list, c, path);
    if (rc)
        return rc;
    json_t *items = json_object_get(list, "items");
    for (size_t i = json_array_size(items); i > 0; i--) {
        rec = json_array_get(items, i - 1);
        if (!last)
            last = rec;
        const char *result = json_string_value(json_object_get(rec, "result"));
        if (!good && rec != last && result_is_good(result))
            good = rec;
    }
    json_object_set(report, "lastSync", last ? last : json_null());
    const char *r = last ? json_string_value(json_object_get(last, "result")) : NULL;
    if (r && strcmp(r, "failed") == 0)
        json_object_set(report, "lastGood", good ? good : json_null());
    json_decref(list);
    return 0;
}

static int nodes_pods_part(json_t *report, struct ks_client *c)
{
    json_t *nodes = NULL, *pods = NULL, *o;
    json_t *phases =
        json_pack("{s:i, s:i, s:i, s:i}", "Pending", 0, "Running", 0, "Succeeded", 0, "Failed", 0);
    json_t *nodes_out = json_pack("{s:i, s:i, s:[]}", "ready", 0, "notReady", 0, "items");
    size_t i;
    int rc = 0;
    if (!phases || !nodes_out) {
        rc = ks_error_set(KS_ENOMEM, "status: out of memory");
        goto done;
    }
    if ((rc = ks_client_get(&nodes, c, "/api/v1/objects/Node")) != 0 ||
        (rc = ks_client_get(&pods, c, "/api/v1/objects/Pod")) != 0)
        goto done;
    json_array_foreach(json_object_get(nodes, "items"), i, o)
    {
        int is_ready = ks_node_is_ready(o);
        count(nodes_out, is_ready ? "ready" : "notReady");
        json_array_append_new(
            json_object_get(nodes_out, "items"),
            json_pack("{s:s?, s:b}", "name", str_at(o, "metadata", "name"), "ready", is_ready));
    }
    json_array_foreach(json_object_get(pods, "items"), i, o)
    {
        const char *phase = str_at(o, "status", "phase");
        count(phases, phase ? phase : "Pending");
    }
    json_object_set(report, "nodes", nodes_out);
    json_object_set(report, "pods", phases);
done:
    json_decref(nodes);
    json_decref(pods);
    json_decref(phases);
    json_decref(nodes_out);
    return rc;
}

/* Health of every object of every kind but Node. */
static int health_part(json_t *report, struct ks_client *c)
{
    json_t *kinds = NULL, *list = NULL, *k, *o;
    json_t *counts = json_object(), *bad = json_array();
    size_t i, j;
    int rc = 0;
    if (!counts || !bad) {
        rc = ks_error_set(KS_ENOMEM, "status: out of memory");
        goto done;
    }
    if ((rc = ks_client_get(&kinds, c, "/api/v1/kinds")) != 0)
        goto done;
    json_array_foreach(json_object_get(kinds, "items"), i, k)
    {
        const char *kind = json_string_value(k);
        char path[512];
        if (!kind || strcmp(kind, "Node") == 0)
            continue;
        snprintf(path, sizeof path, "/api/v1/objects/%s", kind);
        json_decref(list);
        list = NULL;
        if ((rc = ks_client_get(&list, c, path)) != 0)
            goto done;
        json_array_foreach(json_object_get(list, "items"), j, o)
        {
            char reason[256] = "";
            enum ks_health_status h = ks_health_of(o, reason, sizeof reason);
            count(counts, ks_health_name(h));
            if (h != KS_HEALTH_HEALTHY)
                json_array_append_new(
                    bad,
                    json_pack(
                        "{s:s, s:s, s:s, s:s, s:s}", "kind", kind, "namespace",
                        str_at(o, "metadata", "namespace") ? str_at(o, "metadata", "namespace")
                                                           : "",
                        "name", str_at(o, "metadata", "name") ? str_at(o, "metadata", "name") : "",
                        "health", ks_health_name(h), "reason", reason));
        }
    }
    json_object_set(report, "health", counts);
    json_object_set(report, "unhealthy", bad);
done:
    json_decref(kinds);
    json_decref(list);
    json_decref(counts);
    json_decref(bad);
    return rc;
}

static void print_sync(const char *label, const json_t *s)
{
    const char *commit = json_string_value(json_object_get(s, "commit"));
    const char *fin = json_string_value(json_object_get(s, "finished"));
    printf("%-11s #%lld %s, commit %.12s, %s %s\n", label,
           (long long)json_integer_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "result")), commit && *commit ? commit : "-",
           fin ? "finished" : "started",
           fin ? fin : json_string_value(json_object_get(s, "started")));
    const json_t *sum = json_object_get(s, "summary");
    if (json_is_object(sum) && json_object_get(sum, "create"))
        printf("            created %lld, updated %lld, deleted %lld\n",
               (long long)json_integer_value(json_object_get(sum, "create")),
               (long long)json_integer_value(json_object_get(sum, "update")),
               (long long)json_integer_value(json_object_get(sum, "delete")));
    const char *err = json_string_value(json_object_get(s, "error"));
    if (err)
        printf("            error: %s\n", err);
}

static void print_counts(const char *label, const json_t *counts, const char *const *order)
{
    printf("%-11s", label);
    int first = 1;
    for (size_t i = 0; order[i]; i++) {
        json_t *n = json_object_get(counts, order[i]);
        if (!n)
            continue;
        printf("%s %lld %s", first ? "" : ",", (long long)json_integer_value(n), order[i]);
        first = 0;
    }
    printf("%s\n", first ? " none" : "");
}

static void print_text(const json_t *report)
{
    const json_t *last = json_object_get(report, "lastSync");
    printf("%-11s %s\n", "Server:", json_string_value(json_object_get(report, "server")));
    if (json_is_object(last))
        print_sync("Last sync:", last);
    else
        printf("%-11s none yet\n", "Last sync:");
    const json_t *good = json_object_get(report, "lastGood");
    if (json_is_object(good))
        print_sync("Last good:", good);
    else if (good)
        printf("%-11s none among the last %d syncs\n", "Last good:", STATUS_SYNCS);

    static const char *const health[] = {"Healthy", "Progressing", "Degraded", "Suspended",
                                         "Missing", "Unknown",     NULL};
    print_counts("Objects:", json_object_get(report, "health"), health);
    const json_t *bad = json_object_get(report, "unhealthy"), *b;
    size_t i;
    json_array_foreach(bad, i, b)
    {
        if (i == STATUS_LIST_UNHEALTHY) {
            printf("            ... and %zu more (reconcile status -o json)\n",
                   json_array_size(bad) - i);
            break;
        }
        const char *ns = json_string_value(json_object_get(b, "namespace"));
        const char *reason = json_string_value(json_object_get(b, "reason"));
        printf("            %-11s %s %s%s%s%s%s\n", json_string_value(json_object_get(b, "health")),
               json_string_value(json_object_get(b, "kind")), ns && *ns ? ns : "",
               ns && *ns ? "/" : "", json_string_value(json_object_get(b, "name")),
               reason && *reason ? ": " : "", reason ? reason : "");
    }
    const json_t *nodes = json_object_get(report, "nodes"), *n;
    printf("%-11s %lld ready, %lld not ready",
           "Nodes:", (long long)json_integer_value(json_object_get(nodes, "ready")),
           (long long)json_integer_value(json_object_get(nodes, "notReady")));
    int first = 1;
    json_array_foreach(json_object_get(nodes, "items"), i, n)
    {
        if (json_is_true(json_object_get(n, "ready")))
            continue;
        printf("%s%s", first ? " (" : ", ", json_string_value(json_object_get(n, "name")));
        first = 0;
    }
    printf("%s\n", first ? "" : ")");
    static const char *const phases[] = {"Running", "Pending", "Succeeded",
                                         "Failed",  "Unknown", NULL};
    print_counts("Pods:", json_object_get(report, "pods"), phases);
}

int ks_cmd_status(int argc, char **argv)
{
    struct status_opts o = {0};
    struct ks_client *c = NULL;
    json_t *report = NULL;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 1;
    if ((rc = ks_client_new(&c, o.server, o.token, o.state_dir)) != 0)
        goto done;
    if (!(report = json_pack("{s:s}", "server", ks_client_server(c)))) {
        rc = ks_error_set(KS_ENOMEM, "status: out of memory");
        goto done;
    }
    if ((rc = syncs_part(report, c)) != 0 || (rc = health_part(report, c)) != 0 ||
        (rc = nodes_pods_part(report, c)) != 0)
        goto done;
    if (strcmp(o.output, "json") == 0) {
        json_dumpf(report, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_text(report);
    }
done:
    if (rc)
        ks_cli_error("%s", ks_error_last());
    json_decref(report);
    ks_client_free(c);
    return rc ? 1 : 0;
}
