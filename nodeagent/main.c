/*
 * main.c: the `nodeagent` daemon (contracts §9, DESIGN.md §2): parses the
 * flags, builds the runtime (Podman socket or simulated), the sources
 * (control plane with --server, static pods with --static-pods; both at
 * once are fine), the node report, and runs the agent until SIGTERM or
 * SIGINT. Pods keep running when it exits; a restarted agent adopts them.
 */
#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"
#include "nodeagent/agent/agent.h"
#include "nodeagent/cpclient/cpclient.h"
#include "nodeagent/node/node.h"
#include "nodeagent/runtime/runtime.h"
#include "nodeagent/services/services.h"
#include "nodeagent/staticpods/staticpods.h"

#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KS_VERSION
#define KS_VERSION "0.1.0"
#endif

#define MAX_TOKEN 4096

static void usage(FILE *out)
{
    fputs("Usage: nodeagent --name NODE [options]\n"
          "\n"
          "keelson's node agent: runs the pods assigned to this host through Podman's REST\n"
          "socket, reports their status and drift, and restores them when they drift.\n"
          "\n"
          "Sources (at least one):\n"
          "  --server URL          control plane API (http:// or https://)\n"
          "  --token T             node token for --server\n"
          "  --token-file F        read the node token from F\n"
          "  --ca-file F           CA certificates for an https:// server\n"
          "  --static-pods DIR     run the Pod manifests in DIR (*.yaml, *.yml, *.json)\n"
          "  --report-dir DIR      static pods: write status/<ns>_<name>.json and events.ndjson\n"
          "\n"
          "Node and runtime:\n"
          "  --name NODE           node name (required)\n"
          "  --podman-socket PATH  libpod socket (default: $CONTAINER_HOST, "
          "/run/podman/podman.sock,\n"
          "                        $XDG_RUNTIME_DIR/podman/podman.sock)\n"
          "  --runtime R           podman (default) or sim (pods simulated in memory)\n"
          "  --sim-start-ms N      sim: milliseconds a container takes to start (default 200)\n"
          "  --sim-fail-rate F     sim: probability 0..1 that a start fails (default 0)\n"
          "  --labels k=v,...      node labels (repeatable)\n"
          "  --parallel-creates N  pods created at once (podman: default the number of CPUs,\n"
          "                        as Podman's creation is CPU-bound; sim: no limit)\n"
          "  --max-pods N          pods this node accepts (default 110)\n"
          "  --state-dir DIR       volume files and agent state (default "
          "/var/lib/keelson/nodeagent)\n"
          "\n"
          "Services (docs/services.md):\n"
          "  --no-services         do not make Services reachable from pods and node ports\n"
          "  --nodeport-address IP IPv4 address node ports listen on (default 0.0.0.0)\n"
          "  --routable-pod-network\n"
          "                        other nodes' pod IPs reach their pods from this host (one\n"
          "                        host, or an overlay): Services also balance over endpoints\n"
          "                        on other nodes (default: this node's endpoints only)\n"
          "\n"
          "Timing and output:\n"
          "  --resync DUR          full resync period (default 30s)\n"
          "  --heartbeat DUR       heartbeat period (default 10s)\n"
          "  --log-level L         debug, info (default), warn, error\n"
          "  -h, --help            this text\n"
          "  --version             version\n"
          "\n"
          "SIGTERM or SIGINT stops the agent with exit status 0; pods keep running and are\n"
          "adopted by the next start. Exit status 1: bad flags or a failure to start.\n",
          out);
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nodeagent: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static const char *default_socket(char *buf, size_t cap)
{
    const char *ch = getenv("CONTAINER_HOST");
    struct stat sb;
    if (ch && ks_str_has_prefix(ch, "unix://")) {
        snprintf(buf, cap, "%s", ch + 7);
        return buf;
    }
    if (stat("/run/podman/podman.sock", &sb) == 0)
        return "/run/podman/podman.sock";
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg) {
        snprintf(buf, cap, "%s/podman/podman.sock", xdg);
        if (stat(buf, &sb) == 0)
            return buf;
    }
    return "/run/podman/podman.sock";
}

static void *sig_main(void *arg)
{
    struct ks_agent *a = arg;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigwait(&set, &sig);
    ks_log(KS_LOG_INFO, "signal received; stopping (pods keep running)", "signal",
           sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    ks_agent_stop(a);
    return NULL;
}

enum {
    OPT_NAME = 256,
    OPT_SERVER,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_CA,
    OPT_SOCKET,
    OPT_STATIC,
    OPT_REPORT,
    OPT_RUNTIME,
    OPT_SIM_START,
    OPT_SIM_FAIL,
    OPT_LABELS,
    OPT_MAX_PODS,
    OPT_PARALLEL_CREATES,
    OPT_RESYNC,
    OPT_HEARTBEAT,
    OPT_LOG_LEVEL,
    OPT_STATE_DIR,
    OPT_VERSION,
    OPT_NO_SERVICES,
    OPT_NODEPORT_ADDRESS,
    OPT_ROUTABLE_POD_NETWORK,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"server", required_argument, NULL, OPT_SERVER},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"ca-file", required_argument, NULL, OPT_CA},
        {"podman-socket", required_argument, NULL, OPT_SOCKET},
        {"static-pods", required_argument, NULL, OPT_STATIC},
        {"report-dir", required_argument, NULL, OPT_REPORT},
        {"runtime", required_argument, NULL, OPT_RUNTIME},
        {"sim-start-ms", required_argument, NULL, OPT_SIM_START},
        {"sim-fail-rate", required_argument, NULL, OPT_SIM_FAIL},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"max-pods", required_argument, NULL, OPT_MAX_PODS},
        {"parallel-creates", required_argument, NULL, OPT_PARALLEL_CREATES},
        {"resync", required_argument, NULL, OPT_RESYNC},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"no-services", no_argument, NULL, OPT_NO_SERVICES},
        {"nodeport-address", required_argument, NULL, OPT_NODEPORT_ADDRESS},
        {"routable-pod-network", no_argument, NULL, OPT_ROUTABLE_POD_NETWORK},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *server = NULL, *token = NULL, *token_file = NULL, *ca = NULL,
               *sock = NULL, *static_dir = NULL, *report_dir = NULL, *runtime = "podman",
               *state_dir = "/var/lib/keelson/nodeagent", *nodeport_address = NULL;
    bool services_on = true, routable_pod_network = false;
    struct ks_services *services = NULL;
    char sockbuf[512], *token_buf = NULL, *labels_text = NULL;
    int64_t resync_ms = 30000, heartbeat_ms = 10000, sim_start = 200, max_pods = 110;
    int64_t parallel_creates = -1; /* -1: the runtime's default */
    double sim_fail = 0;
    enum ks_log_level level = KS_LOG_INFO;
    struct ks_runtime *rt = NULL;
    struct ks_agent *agent = NULL;
    struct ks_agent_opts ao = {0};
    json_t *report = NULL;
    int status = 1, opt;

    /* One thread per pod: glibc would give up to 8 malloc arenas per core,
     * each growing its own heap (fresh pages, ~17 us a page fault on a
     * VM); the pod threads mostly sleep, so two arenas do not contend. */
    mallopt(M_ARENA_MAX, 2);
    /* and a heap top up to 1 MiB is kept rather than given back after each
     * parsed watch answer, only to be faulted in again for the next one */
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_SERVER:
            server = optarg;
            break;
        case OPT_TOKEN:
            token = optarg;
            break;
        case OPT_TOKEN_FILE:
            token_file = optarg;
            break;
        case OPT_CA:
            ca = optarg;
            break;
        case OPT_SOCKET:
            sock = optarg;
            break;
        case OPT_STATIC:
            static_dir = optarg;
            break;
        case OPT_REPORT:
            report_dir = optarg;
            break;
        case OPT_RUNTIME:
            runtime = optarg;
            break;
        case OPT_STATE_DIR:
            state_dir = optarg;
            break;
        case OPT_NO_SERVICES:
            services_on = false;
            break;
        case OPT_NODEPORT_ADDRESS:
            nodeport_address = optarg;
            break;
        case OPT_ROUTABLE_POD_NETWORK:
            routable_pod_network = true;
            break;
        case OPT_SIM_START:
            if (ks_str_to_i64(&sim_start, optarg, "--sim-start-ms") < 0 || sim_start < 0)
                return fail("--sim-start-ms: want a number of milliseconds, got \"%s\"", optarg);
            break;
        case OPT_SIM_FAIL: {
            char *end = NULL;
            sim_fail = strtod(optarg, &end);
            if (!end || *end || sim_fail < 0 || sim_fail > 1)
                return fail("--sim-fail-rate: want a number between 0 and 1, got \"%s\"", optarg);
            break;
        }
        case OPT_LABELS: {
            char *n = labels_text ? ks_strdupf("%s,%s", labels_text, optarg) : strdup(optarg);
            free(labels_text);
            labels_text = n;
            break;
        }
        case OPT_MAX_PODS:
            if (ks_str_to_i64(&max_pods, optarg, "--max-pods") < 0 || max_pods < 1 ||
                max_pods > 10000)
                return fail("--max-pods: want 1 to 10000, got \"%s\"", optarg);
            break;
        case OPT_PARALLEL_CREATES:
            if (ks_str_to_i64(&parallel_creates, optarg, "--parallel-creates") < 0 ||
                parallel_creates < 1 || parallel_creates > 1000)
                return fail("--parallel-creates: want 1 to 1000, got \"%s\"", optarg);
            break;
        case OPT_RESYNC:
            if (ks_duration_parse_ms(&resync_ms, optarg) < 0 || resync_ms < 1000)
                return fail("--resync: want a duration of at least 1s, got \"%s\"", optarg);
            break;
        case OPT_HEARTBEAT:
            if (ks_duration_parse_ms(&heartbeat_ms, optarg) < 0 || heartbeat_ms < 1000)
                return fail("--heartbeat: want a duration of at least 1s, got \"%s\"", optarg);
            break;
        case OPT_LOG_LEVEL:
            if (ks_log_level_parse(&level, optarg) < 0)
                return fail("--log-level: want debug, info, warn or error, got \"%s\"", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case OPT_VERSION:
            printf("nodeagent (keelson) %s\n", KS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc)
        return fail("unexpected argument \"%s\" (see --help)", argv[optind]);
    if (!name || !*name)
        return fail("%s", "--name NODE is required (see --help)");
    if (!server && !static_dir)
        return fail("%s", "give --server URL, --static-pods DIR or both (see --help)");
    if (server && !token && !token_file)
        return fail("%s", "--server needs --token or --token-file");
    if (strcmp(runtime, "podman") != 0 && strcmp(runtime, "sim") != 0)
        return fail("--runtime: want podman or sim, got \"%s\"", runtime);
    ks_log_configure(level, KS_LOG_LOGFMT, stderr);
    if (!sock)
        sock = default_socket(sockbuf, sizeof(sockbuf));
    if (token_file) {
        size_t n = 0;
        if (ks_file_read(&token_buf, &n, token_file, MAX_TOKEN) < 0) {
            fprintf(stderr, "nodeagent: --token-file: %s\n", ks_error_last());
            goto done;
        }
        while (n &&
               (token_buf[n - 1] == '\n' || token_buf[n - 1] == '\r' || token_buf[n - 1] == ' '))
            token_buf[--n] = '\0';
        token = token_buf;
    }

    int rc;
    if (strcmp(runtime, "sim") == 0) {
        struct ks_runtime_sim_opts so = {
            .start_ms = sim_start, .fail_rate = sim_fail, .seed = (unsigned)getpid()};
        rc = ks_runtime_sim_new(&rt, &so);
    } else {
        rc = ks_runtime_podman_new(&rt, sock);
    }
    if (rc < 0) {
        fprintf(stderr, "nodeagent: runtime: %s\n", ks_error_last());
        goto done;
    }

    if (static_dir) {
        struct ks_staticpods_opts so = {
            .dir = static_dir, .node_name = name, .report_dir = report_dir};
        if (ks_staticpods_source_new(&ao.sources[ao.nsources], &so) < 0) {
            fprintf(stderr, "nodeagent: --static-pods %s: %s\n", static_dir, ks_error_last());
            goto done;
        }
        ao.nsources++;
    }
    if (server) {
        struct ks_cpclient_opts co = {
            .server = server, .token = token, .node = name, .ca_file = ca};
        if (ks_cpclient_source_new(&ao.sources[ao.nsources], &co) < 0) {
            fprintf(stderr, "nodeagent: --server %s: %s\n", server, ks_error_last());
            goto done;
        }
        ao.nsources++;
    }

    char *version = NULL;
    if (rt->ops->version(rt, &version) < 0) {
        ks_log(KS_LOG_WARN, "runtime not answering yet; pods wait for it", "error", ks_error_last(),
               NULL);
        version = strdup(runtime);
    }
    {
        json_t *labels = NULL;
        if (labels_text && ks_node_labels_parse(&labels, labels_text) < 0) {
            fprintf(stderr, "nodeagent: --labels: %s\n", ks_error_last());
            free(version);
            goto done;
        }
        struct ks_node_opts no = {.name = name,
                                  .labels = labels,
                                  .max_pods = (unsigned)max_pods,
                                  .runtime_version = version};
        rc = ks_node_report_build(&report, &no);
        json_decref(labels);
        if (rc < 0) {
            fprintf(stderr, "nodeagent: node report: %s\n", ks_error_last());
            free(version);
            goto done;
        }
        json_object_set_new(report, "images", json_array());
    }
    free(version);

    ao.node = name;
    ao.state_dir = state_dir;
    ao.rt = rt;
    ao.node_report = report;
    ao.resync_ms = resync_ms;
    ao.heartbeat_ms = heartbeat_ms;
    ao.max_pods = (unsigned)max_pods;
    if (parallel_creates < 0 && strcmp(runtime, "podman") == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        parallel_creates = cpus > 0 ? cpus : 1;
    }
    ao.parallel_creates = parallel_creates > 0 ? (unsigned)parallel_creates : 0;
    ao.podman_socket = strcmp(runtime, "podman") == 0 ? sock : NULL;
    /* simulated pods have no network namespace to reach Services from */
    if (services_on && strcmp(runtime, "podman") == 0) {
        if (geteuid() != 0)
            ks_log(KS_LOG_WARN, "services need root (setns into pods); pods will not reach them",
                   NULL);
        struct ks_services_opts so = {.node = name,
                                      .podman_socket = sock,
                                      .nodeport_address = nodeport_address,
                                      .routable_pod_network = routable_pod_network};
        if (ks_services_new(&services, &so) < 0) {
            fprintf(stderr, "nodeagent: services: %s\n", ks_error_last());
            goto done;
        }
        ao.services = services;
    }
    if (ks_agent_new(&agent, &ao) < 0) {
        fprintf(stderr, "nodeagent: %s\n", ks_error_last());
        goto done;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t sig_th;
    if (pthread_create(&sig_th, NULL, sig_main, agent) != 0) {
        fprintf(stderr, "nodeagent: cannot start the signal thread\n");
        goto done;
    }
    ks_log(KS_LOG_INFO, "node agent started", "node", name, "runtime", runtime, "socket",
           strcmp(runtime, "podman") == 0 ? sock : "", "static_pods", static_dir ? static_dir : "",
           "server", server ? server : "", NULL);
    rc = ks_agent_run(agent);
    pthread_kill(sig_th, SIGTERM); /* no-op when a signal already ended it */
    pthread_join(sig_th, NULL);
    if (rc < 0) {
        fprintf(stderr, "nodeagent: %s\n", ks_error_last());
        goto done;
    }
    ks_log(KS_LOG_INFO, "node agent stopped", "node", name, NULL);
    status = 0;
done:
    ks_agent_free(agent);
    ks_services_free(services);
    for (size_t i = 0; i < ao.nsources; i++)
        ao.sources[i]->ops->free(ao.sources[i]);
    if (rt)
        rt->ops->free(rt);
    json_decref(report);
    free(token_buf);
    free(labels_text);
    return status;
}
