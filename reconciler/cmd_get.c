/*
 * cmd_get.c: `reconcile get KIND [NAME]`: objects from a running control
 * plane through its API (reconciler/client), shown like kubectl: a table
 * with kind-specific columns, or the objects as JSON or YAML.
 *
 * Kind names are case-insensitive and take kubectl's plurals and short
 * names (pods, po, deploy, svc, cm, ns, no, rs, ds, sts, job, cj, ...); a
 * kind not in the table is passed on as written (CamelCase, e.g. a custom
 * resource's kind). Without -n the namespace is "default"; -A lists every
 * namespace; cluster-scoped kinds ignore both.
 */
#include "reconciler/cli.h"
#include "reconciler/client/client.h"
#include "reconciler/daemon/daemon.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/object.h"
#include "core/yaml.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TABLE_MAX_COLS 8
#define OUTPUT_LIMIT (256u * 1024u * 1024u)
#define EVENTS_LIMIT "1000" /* the most the API answers at once */

int ks_cmd_get(int argc, char **argv);

struct get_opts {
    const char *kind_arg, *name, *ns, *selector, *output, *server, *token, *state_dir;
    int all_ns;
};

static const struct {
    const char *kind;
    const char *names[4]; /* lower-case singular, plural, short names */
} kinds[] = {
    {"Pod", {"pod", "pods", "po"}},
    {"Deployment", {"deployment", "deployments", "deploy"}},
    {"ReplicaSet", {"replicaset", "replicasets", "rs"}},
    {"DaemonSet", {"daemonset", "daemonsets", "ds"}},
    {"StatefulSet", {"statefulset", "statefulsets", "sts"}},
    {"Job", {"job", "jobs"}},
    {"CronJob", {"cronjob", "cronjobs", "cj"}},
    {"Service", {"service", "services", "svc"}},
    {"ConfigMap", {"configmap", "configmaps", "cm"}},
    {"Secret", {"secret", "secrets"}},
    {"Namespace", {"namespace", "namespaces", "ns"}},
    {"Node", {"node", "nodes", "no"}},
    {"ServiceAccount", {"serviceaccount", "serviceaccounts", "sa"}},
    {"PersistentVolumeClaim", {"persistentvolumeclaim", "persistentvolumeclaims", "pvc"}},
    {"Ingress", {"ingress", "ingresses", "ing"}},
    {"Endpoints", {"endpoints", "ep"}},
};

/* The canonical kind for what the user typed. */
static const char *kind_resolve(const char *arg)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (size_t j = 0; j < 4 && kinds[i].names[j]; j++)
            if (strcasecmp(arg, kinds[i].names[j]) == 0)
                return kinds[i].kind;
    return arg;
}

static void usage(FILE *out)
{
    fputs("Usage: reconcile get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o text|json|yaml]\n"
          "                     [--server URL] [--token T] [--state-dir DIR]\n"
          "\n"
          "Shows objects of a running control plane (its API).\n"
          "KIND is case-insensitive and takes plurals and short names: pods/po,\n"
          "deploy, rs, ds, sts, job, cj, svc, cm, secret, ns, no, sa, pvc, ing.\n"
          "`get events` (ev) lists the last 1000 events (drift, node lifecycle, ...).\n"
          "\n"
          "Options:\n"
          "  -n, --namespace NS     namespace (default \"default\")\n"
          "  -A, --all-namespaces   every namespace\n"
          "  -l, --selector SEL     label selector (app=web,tier!=db,env in (a,b))\n"
          "  -o, --output FMT       text (a table, default), json or yaml\n"
          "  --server URL           API (http://HOST:PORT, https://..., unix:///PATH);\n"
          "                         default $KEELSON_SERVER, else <state-dir>/api.url\n"
          "  --token T              admin token; default $KEELSON_TOKEN, else\n"
          "                         <state-dir>/tokens/admin\n"
          "  --state-dir DIR        default $KEELSON_STATE_DIR, /var/lib/keelson as root,\n"
          "                         else ~/.local/state/keelson\n"
          "  -h, --help             show this help\n"
          "\n"
          "Exit status: 0 shown (also for an empty list), 1 error.\n",
          out);
}

static int own_opt(void *ctx, int c, const char *arg)
{
    struct get_opts *o = ctx;

    switch (c) {
    case 'n':
        o->ns = arg;
        return 1;
    case 'A':
        o->all_ns = 1;
        return 1;
    case 'l':
        o->selector = arg;
        return 1;
    default:
        return 0;
    }
}

static int parse(struct get_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"namespace", required_argument, NULL, 'n'},
        {"all-namespaces", no_argument, NULL, 'A'},
        {"selector", required_argument, NULL, 'l'},
        KS_CLI_LONGOPTS_CLIENT,
        KS_CLI_LONGOPT_HELP,
        KS_CLI_LONGOPT_END,
    };
    const struct ks_cli_common dst = {KS_CLI_BIND_CLIENT(o)};
    const struct ks_cli_spec spec = {
        .shortopts = "hn:Al:o:",
        .longopts = longopts,
        .dst = &dst,
        .own = own_opt,
        .ctx = o,
        .usage = usage,
        .see = "reconcile get --help",
        .unknown_prefix = "",
        .operand_prefix = NULL, /* KIND [NAME] */
    };
    int rc = ks_cli_parse(&spec, argc, argv);

    if (rc != 0)
        return rc;
    if (optind >= argc) {
        ks_cli_error("get: which kind? (e.g. reconcile get pods; see reconcile get --help)");
        return -1;
    }
    o->kind_arg = argv[optind++];
    if (optind < argc)
        o->name = argv[optind++];
    if (ks_cli_no_operands(argc, argv, "get: "))
        return -1;
    if (ks_cli_output(&o->output, (const char *const[]){"text", "json", "yaml", NULL}))
        return -1;
    if (o->all_ns && o->ns) {
        ks_cli_error("get: -n and -A exclude each other");
        return -1;
    }
    if (o->all_ns && o->name) {
        ks_cli_error("get: a NAME needs one namespace (-n NS), not -A");
        return -1;
    }
    return 0;
}

/* Path segment or query value, percent-encoded. */
static int append_escaped(struct ks_buf *b, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return ks_error_set(KS_ENOMEM, "get: out of memory");
    ks_buf_puts(b, e);
    curl_free(e);
    return 0;
}

static int build_path(struct ks_buf *p, const struct get_opts *o, const char *kind)
{
    int cluster = ks_kind_is_cluster_scoped(kind);
    int rc;
    if (cluster || o->all_ns) {
        ks_buf_puts(p, "/api/v1/objects/");
    } else {
        ks_buf_puts(p, "/api/v1/namespaces/");
        if ((rc = append_escaped(p, o->ns ? o->ns : "default")) != 0)
            return rc;
        ks_buf_puts(p, "/objects/");
    }
    if ((rc = append_escaped(p, kind)) != 0)
        return rc;
    if (o->name) {
        ks_buf_putc(p, '/');
        if ((rc = append_escaped(p, o->name)) != 0)
            return rc;
    } else if (o->selector) {
        ks_buf_puts(p, "?labelSelector=");
        if ((rc = append_escaped(p, o->selector)) != 0)
            return rc;
    }
    return ks_buf_error(p);
}

/* ---- the table ---- */

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

/* "5s", "3m", "2h", "4d": kubectl's short age; "<unknown>" without a time. */
static void age_of(char *out, size_t cap, const json_t *obj)
{
    const char *ts = str_at(obj, "metadata", "creationTimestamp");
    if (!ts)
        ts = str_at(obj, "status", "startTime");
    struct tm tm = {0};
    const char *end = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) {
        snprintf(out, cap, "<unknown>");
        return;
    }
    long long s = (long long)(time(NULL) - timegm(&tm));
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, cap, "%llds", s);
    else if (s < 3600 * 2)
        snprintf(out, cap, "%lldm", s / 60);
    else if (s < 86400 * 2)
        snprintf(out, cap, "%lldh", s / 3600);
    else
        snprintf(out, cap, "%lldd", s / 86400);
}

struct table {
    size_t ncols;
    const char *head[TABLE_MAX_COLS];
    size_t width[TABLE_MAX_COLS];
    json_t *rows; /* array of arrays of strings */
};

static void table_row(struct table *t, const char *const *cells)
{
    json_t *row = json_array();
    for (size_t i = 0; i < t->ncols; i++) {
        const char *c = cells[i] ? cells[i] : "<none>";
        json_array_append_new(row, json_string(c));
        if (strlen(c) > t->width[i])
            t->width[i] = strlen(c);
    }
    json_array_append_new(t->rows, row);
}

static void table_print(const struct table *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        printf("%-*s%s", i + 1 < t->ncols ? (int)t->width[i] : 0, t->head[i],
               i + 1 < t->ncols ? "   " : "\n");
    size_t r;
    json_t *row;
    json_array_foreach(t->rows, r, row)
    {
        for (size_t i = 0; i < t->ncols; i++)
            printf("%-*s%s", i + 1 < t->ncols ? (int)t->width[i] : 0,
                   json_string_value(json_array_get(row, i)), i + 1 < t->ncols ? "   " : "\n");
    }
}

/* Pods per node, for the Node table's PODS column. */
static int pods_per_node(json_t **out, struct ks_client *c)
{
    json_t *list = NULL, *p, *counts = json_object();
    size_t i;
    int rc = ks_client_get(&list, c, "/api/v1/objects/Pod");
    if (rc || !counts) {
        json_decref(counts);
        return rc ? rc : ks_error_set(KS_ENOMEM, "get: out of memory");
    }
    json_array_foreach(json_object_get(list, "items"), i, p)
    {
        const char *node = str_at(p, "spec", "nodeName");
        if (!node)
            continue;
        json_t *n = json_object_get(counts, node);
        json_object_set_new(counts, node, json_integer(n ? json_integer_value(n) + 1 : 1));
    }
    json_decref(list);
    *out = counts;
    return 0;
}

/* kubectl's PORT(S) of a Service: "80:31541/TCP,5432/TCP" (cut with
 * "..." past cap). */
static void service_ports(char *out, size_t cap, const json_t *spec)
{
    size_t len = 0, i;
    const json_t *p;
    out[0] = '\0';
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        const char *proto = json_string_value(json_object_get(p, "protocol"));
        json_int_t node = json_integer_value(json_object_get(p, "nodePort"));
        char one[48], nodes[16] = "";
        if (node > 0)
            snprintf(nodes, sizeof nodes, ":%lld", (long long)node);
        snprintf(one, sizeof one, "%s%lld%s/%s", i ? "," : "",
                 (long long)json_integer_value(json_object_get(p, "port")), nodes,
                 proto ? proto : "TCP");
        if (len + strlen(one) + 4 > cap) {
            snprintf(out + len, cap - len, ",...");
            return;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s", one);
    }
}

static void row_cells(const char **cells, char bufs[][32], char *ports, size_t ports_cap,
                      const char *kind, const json_t *obj, int cluster, const json_t *pod_counts)
{
    size_t k = 0;
    if (!cluster)
        cells[k++] = str_at(obj, "metadata", "namespace");
    cells[k++] = str_at(obj, "metadata", "name");
    const json_t *status = json_object_get(obj, "status"), *spec = json_object_get(obj, "spec");
    if (strcmp(kind, "Pod") == 0) {
        size_t total = json_array_size(json_object_get(spec, "containers")), ready = 0, i;
        long long restarts = 0;
        const json_t *cs;
        json_array_foreach(json_object_get(status, "containerStatuses"), i, cs)
        {
            ready += json_is_true(json_object_get(cs, "ready"));
            restarts += json_integer_value(json_object_get(cs, "restartCount"));
        }
        const char *phase = json_string_value(json_object_get(status, "phase"));
        const char *reason = json_string_value(json_object_get(status, "reason"));
        cells[k++] = json_string_value(json_object_get(spec, "nodeName"));
        cells[k++] = reason && phase && strcmp(phase, "Failed") == 0 ? reason
                     : phase                                         ? phase
                                                                     : "Pending";
        snprintf(bufs[0], 32, "%zu/%zu", ready, total);
        snprintf(bufs[1], 32, "%lld", restarts);
        cells[k++] = bufs[0];
        cells[k++] = bufs[1];
    } else if (strcmp(kind, "Node") == 0) {
        cells[k++] = ks_node_is_ready(obj) ? "Ready" : "NotReady";
        const char *name = str_at(obj, "metadata", "name");
        snprintf(bufs[0], 32, "%lld",
                 (long long)json_integer_value(json_object_get(pod_counts, name ? name : "")));
        cells[k++] = bufs[0];
    } else if (strcmp(kind, "Deployment") == 0) {
        const json_t *want = json_object_get(spec, "replicas");
        long long n = json_is_integer(want) ? json_integer_value(want) : 1;
        snprintf(bufs[0], 32, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(status, "readyReplicas")), n);
        snprintf(bufs[1], 32, "%lld",
                 (long long)json_integer_value(json_object_get(status, "updatedReplicas")));
        snprintf(bufs[2], 32, "%lld",
                 (long long)json_integer_value(json_object_get(status, "availableReplicas")));
        cells[k++] = bufs[0];
        cells[k++] = bufs[1];
        cells[k++] = bufs[2];
    } else if (strcmp(kind, "Service") == 0) {
        const char *type = json_string_value(json_object_get(spec, "type"));
        const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
        cells[k++] = type ? type : "ClusterIP";
        cells[k++] = ip && *ip ? ip : "<none>";
        service_ports(ports, ports_cap, spec);
        cells[k++] = *ports ? ports : "<none>";
    }
    age_of(bufs[3], 32, obj);
    cells[k++] = bufs[3];
}

static int print_table(struct ks_client *c, const char *kind, const json_t *items)
{
    struct table t = {0};
    json_t *pod_counts = NULL;
    int cluster = ks_kind_is_cluster_scoped(kind), rc = 0;
    if (!cluster)
        t.head[t.ncols++] = "NAMESPACE";
    t.head[t.ncols++] = "NAME";
    if (strcmp(kind, "Pod") == 0) {
        const char *h[] = {"NODE", "PHASE", "READY", "RESTARTS"};
        for (size_t i = 0; i < 4; i++)
            t.head[t.ncols++] = h[i];
    } else if (strcmp(kind, "Node") == 0) {
        t.head[t.ncols++] = "STATUS";
        t.head[t.ncols++] = "PODS";
        if ((rc = pods_per_node(&pod_counts, c)) != 0)
            return rc;
    } else if (strcmp(kind, "Deployment") == 0) {
        const char *h[] = {"READY", "UP-TO-DATE", "AVAILABLE"};
        for (size_t i = 0; i < 3; i++)
            t.head[t.ncols++] = h[i];
    } else if (strcmp(kind, "Service") == 0) {
        const char *h[] = {"TYPE", "CLUSTER-IP", "PORT(S)"};
        for (size_t i = 0; i < 3; i++)
            t.head[t.ncols++] = h[i];
    }
    t.head[t.ncols++] = "AGE";
    for (size_t i = 0; i < t.ncols; i++)
        t.width[i] = strlen(t.head[i]);
    if (!(t.rows = json_array())) {
        json_decref(pod_counts);
        return ks_error_set(KS_ENOMEM, "get: out of memory");
    }
    size_t i;
    const json_t *obj;
    json_array_foreach(items, i, obj)
    {
        const char *cells[TABLE_MAX_COLS] = {0};
        char bufs[4][32], ports[256];
        row_cells(cells, bufs, ports, sizeof ports, kind, obj, cluster, pod_counts);
        table_row(&t, cells);
    }
    table_print(&t);
    json_decref(t.rows);
    json_decref(pod_counts);
    return 0;
}

static int print_doc(const json_t *doc, const char *format)
{
    if (strcmp(format, "json") == 0) {
        if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0)
            return ks_error_set(KS_EIO, "get: cannot write the output");
        putchar('\n');
        return 0;
    }
    struct ks_buf b;
    ks_buf_init(&b, OUTPUT_LIMIT);
    int rc = ks_yaml_emit(&b, doc, NULL);
    if (rc == 0)
        fwrite(ks_buf_data(&b), 1, ks_buf_len(&b), stdout);
    ks_buf_release(&b);
    return rc;
}

/* `get events`: the store's event records (GET /api/v1/events), newest
 * last, filtered by the namespace of the object they are about. */
static int get_events(struct ks_client *c, const struct get_opts *o)
{
    json_t *doc = NULL, *kept = json_array(), *ev;
    size_t i;
    int rc = 0;
    if (!kept)
        return ks_error_set(KS_ENOMEM, "get: out of memory");
    if ((rc = ks_client_get(&doc, c, "/api/v1/events?limit=" EVENTS_LIMIT)) != 0)
        goto done;
    const char *ns = o->ns ? o->ns : "default";
    json_array_foreach(json_object_get(doc, "items"), i, ev)
    {
        const char *ev_ns = str_at(ev, "object", "namespace");
        if (o->all_ns || (ev_ns && strcmp(ev_ns, ns) == 0))
            json_array_append(kept, ev);
    }
    if (strcmp(o->output, "text") != 0) {
        json_t *list =
            json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", kept);
        rc = list ? print_doc(list, o->output) : ks_error_set(KS_ENOMEM, "get: out of memory");
        json_decref(list);
        goto done;
    }
    if (json_array_size(kept) == 0) {
        if (o->all_ns)
            fprintf(stderr, "No events found.\n");
        else
            fprintf(stderr, "No events found in %s namespace.\n", ns);
        goto done;
    }
    struct table t = {.ncols = 7,
                      .head = {"NAMESPACE", "TIME", "TYPE", "REASON", "OBJECT", "NODE", "MESSAGE"}};
    for (size_t k = 0; k < t.ncols; k++)
        t.width[k] = strlen(t.head[k]);
    if (!(t.rows = json_array())) {
        rc = ks_error_set(KS_ENOMEM, "get: out of memory");
        goto done;
    }
    json_array_foreach(kept, i, ev)
    {
        char object[600];
        const char *name = str_at(ev, "object", "name");
        snprintf(object, sizeof object, "%s/%s",
                 str_at(ev, "object", "kind") ? str_at(ev, "object", "kind") : "-",
                 name ? name : "-");
        const char *cells[TABLE_MAX_COLS] = {str_at(ev, "object", "namespace"),
                                             json_string_value(json_object_get(ev, "time")),
                                             json_string_value(json_object_get(ev, "type")),
                                             json_string_value(json_object_get(ev, "reason")),
                                             object,
                                             json_string_value(json_object_get(ev, "node")),
                                             json_string_value(json_object_get(ev, "message"))};
        table_row(&t, cells);
    }
    table_print(&t);
    json_decref(t.rows);
done:
    json_decref(doc);
    json_decref(kept);
    return rc;
}

static int is_events(const char *arg)
{
    return strcasecmp(arg, "events") == 0 || strcasecmp(arg, "event") == 0 ||
           strcasecmp(arg, "ev") == 0;
}

int ks_cmd_get(int argc, char **argv)
{
    struct get_opts o = {0};
    struct ks_client *c = NULL;
    struct ks_buf path;
    json_t *doc = NULL, *list = NULL;
    int rc = parse(&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 1;
    const char *kind = kind_resolve(o.kind_arg);
    ks_buf_init(&path, 8192);
    if (is_events(o.kind_arg)) {
        if (o.name || o.selector)
            rc = ks_error_set(KS_EINVALID, "get events: no NAME or -l (events are listed whole)");
        else if ((rc = ks_client_new(&c, o.server, o.token, o.state_dir)) == 0)
            rc = get_events(c, &o);
        goto done;
    }
    if ((rc = build_path(&path, &o, kind)) != 0 ||
        (rc = ks_client_new(&c, o.server, o.token, o.state_dir)) != 0 ||
        (rc = ks_client_get(&doc, c, ks_buf_data(&path))) != 0)
        goto done;
    if (o.name) {
        if (strcmp(o.output, "text") == 0) {
            if (!(list = json_array()) || json_array_append(list, doc) != 0) {
                rc = ks_error_set(KS_ENOMEM, "get: out of memory");
                goto done;
            }
            rc = print_table(c, kind, list);
        } else {
            rc = print_doc(doc, o.output);
        }
        goto done;
    }
    json_t *items = json_object_get(doc, "items");
    if (!json_is_array(items)) {
        rc = ks_error_set(KS_EIO, "get: the server's answer has no items");
        goto done;
    }
    if (strcmp(o.output, "text") == 0) {
        if (json_array_size(items) == 0) {
            if (ks_kind_is_cluster_scoped(kind) || o.all_ns)
                fprintf(stderr, "No resources found.\n");
            else
                fprintf(stderr, "No resources found in %s namespace.\n", o.ns ? o.ns : "default");
        } else {
            rc = print_table(c, kind, items);
        }
    } else {
        if (!(list = json_pack("{s:s, s:s, s:O, s:{s:s}}", "apiVersion", "v1", "kind", "List",
                               "items", items, "metadata", "resourceVersion", ""))) {
            rc = ks_error_set(KS_ENOMEM, "get: out of memory");
            goto done;
        }
        json_object_set_new(
            json_object_get(list, "metadata"), "resourceVersion",
            json_sprintf("%lld", (long long)json_integer_value(json_object_get(doc, "revision"))));
        rc = print_doc(list, o.output);
    }
done:
    if (rc)
        ks_cli_error("%s", ks_error_last());
    json_decref(doc);
    json_decref(list);
    ks_buf_release(&path);
    ks_client_free(c);
    return rc ? 1 : 0;
}
