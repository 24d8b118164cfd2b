/*
 * yaml_bench.c: benchmark of the YAML -> JSON path (core/yaml.h).
 *
 *   yaml-bench --generate FILE [MB]   write a deterministic manifest stream
 *   yaml-bench [--no-positions] FILE  parse it, json_dumps every document,
 *                                     print MB/s and peak RSS
 *
 * The stream mixes the objects a GitOps repository holds (Deployments with
 * containers, probes and env lists, Services, ConfigMaps with embedded
 * files, Ingresses), with names and numbers from a fixed LCG so every run
 * sees the same bytes. The timed part is parse + positions + json_dumps, so
 * it compares with "yaml.load_all + json.dumps" in run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/yaml.h"

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

static const char *const words[] = {"web",   "api",     "cache", "worker", "auth",  "billing",
                                    "queue", "gateway", "db",    "search", "proxy", "metrics"};

static const char *word(void)
{
    return words[rnd(sizeof(words) / sizeof(words[0]))];
}

static void deployment(struct ks_buf *b, unsigned i)
{
    const char *app = word();
    ks_buf_printf(b,
                  "---\n# Source: %s/templates/deployment.yaml\n"
                  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s-%u\n"
                  "  namespace: team-%u\n  labels:\n    app.kubernetes.io/name: %s\n"
                  "    app.kubernetes.io/instance: release-%u\n"
                  "    app.kubernetes.io/version: \"1.%u.%u\"\n"
                  "  annotations:\n    deployment.kubernetes.io/revision: \"%u\"\n"
                  "spec:\n  replicas: %u\n  selector:\n    matchLabels:\n"
                  "      app.kubernetes.io/name: %s\n  template:\n    metadata:\n"
                  "      labels:\n        app.kubernetes.io/name: %s\n    spec:\n"
                  "      serviceAccountName: %s\n      containers:\n",
                  app, app, i, rnd(20), app, i, rnd(30), rnd(10), rnd(100), 1 + rnd(5), app, app,
                  app);
    unsigned containers = 1 + rnd(3);
    for (unsigned c = 0; c < containers; c++) {
        ks_buf_printf(b,
                      "        - name: %s-%u\n          image: \"registry.example.com/%s:v%u.%u\"\n"
                      "          imagePullPolicy: IfNotPresent\n          ports:\n"
                      "            - name: http\n              containerPort: %u\n"
                      "              protocol: TCP\n          env:\n",
                      word(), c, word(), rnd(5), rnd(20), 8000 + rnd(1000));
        unsigned envs = 2 + rnd(6);
        for (unsigned e = 0; e < envs; e++)
            ks_buf_printf(b, "            - name: VAR_%u_%u\n              value: \"%s-%u\"\n", e,
                          c, word(), rnd(100000));
        ks_buf_printf(
            b,
            "          livenessProbe:\n            httpGet:\n              path: /healthz\n"
            "              port: http\n            initialDelaySeconds: %u\n"
            "          readinessProbe:\n            httpGet: {path: /ready, port: http}\n"
            "          resources:\n            limits:\n              cpu: %um\n"
            "              memory: %uMi\n            requests:\n"
            "              cpu: %um\n              memory: %uMi\n"
            "          volumeMounts:\n            - name: config\n"
            "              mountPath: /etc/%s\n              readOnly: true\n",
            5 + rnd(30), 100 * (1 + rnd(10)), 64 * (1 + rnd(16)), 50 * (1 + rnd(10)),
            32 * (1 + rnd(16)), word());
    }
    ks_buf_printf(b,
                  "      volumes:\n        - name: config\n          configMap:\n"
                  "            name: %s-config-%u\n      nodeSelector:\n"
                  "        kubernetes.io/os: linux\n      tolerations: []\n",
                  app, i);
}

static void service(struct ks_buf *b, unsigned i)
{
    const char *app = word();
    ks_buf_printf(b,
                  "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s-%u\n"
                  "  labels: {app: %s, tier: backend}\nspec:\n  type: ClusterIP\n"
                  "  ports:\n  - port: %u\n    targetPort: http\n    protocol: TCP\n"
                  "    name: http\n  selector:\n    app: %s\n",
                  app, i, app, 80 + rnd(8000), app);
}

static void configmap(struct ks_buf *b, unsigned i)
{
    const char *app = word();
    ks_buf_printf(b,
                  "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config-%u\n"
                  "data:\n  LOG_LEVEL: info\n  MAX_CONNECTIONS: \"%u\"\n  app.yaml: |\n"
                  "    server:\n      port: %u\n      timeout: %us\n    features:\n",
                  app, i, rnd(1000), 8000 + rnd(1000), rnd(60));
    unsigned lines = 3 + rnd(10);
    for (unsigned l = 0; l < lines; l++)
        ks_buf_printf(b, "      - %s-%u: %s\n", word(), l, rnd(2) ? "true" : "false");
}

static void ingress(struct ks_buf *b, unsigned i)
{
    const char *app = word();
    ks_buf_printf(b,
                  "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
                  "  name: %s-%u\n  annotations:\n"
                  "    nginx.ingress.kubernetes.io/rewrite-target: /\nspec:\n"
                  "  ingressClassName: nginx\n  rules:\n  - host: %s-%u.example.com\n"
                  "    http:\n      paths:\n      - path: /\n        pathType: Prefix\n"
                  "        backend:\n          service:\n            name: %s-%u\n"
                  "            port:\n              number: 80\n",
                  app, i, app, i, app, i);
}

static int generate(const char *path, unsigned mb)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    for (unsigned i = 0; b.len < (size_t)mb * 1024 * 1024; i++) {
        switch (i % 4) {
        case 0:
            deployment(&b, i);
            break;
        case 1:
            service(&b, i);
            break;
        case 2:
            configmap(&b, i);
            break;
        default:
            ingress(&b, i);
            break;
        }
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("wrote %zu bytes to %s\n", b.len, path);
    ks_buf_release(&b);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--generate") == 0)
        return generate(argv[2], argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 10);
    bool positions = true;
    int arg = 1;
    if (argc > arg && strcmp(argv[arg], "--no-positions") == 0) {
        positions = false;
        arg++;
    }
    if (argc != arg + 1) {
        fprintf(stderr, "usage: yaml-bench --generate FILE [MB] | yaml-bench "
                        "[--no-positions] FILE\n");
        return 2;
    }
    char *text = NULL;
    size_t len = 0;
    if (ks_file_read(&text, &len, argv[arg], KS_YAML_DEFAULT_MAX_BYTES) != 0) {
        fprintf(stderr, "%s\n", ks_error_last());
        return 1;
    }
    double t0 = now();
    struct ks_yaml_parse_opts opts = {.file = argv[arg]};
    if (positions)
        opts.positions = ks_yaml_positions_new();
    json_t *docs = NULL;
    if (ks_yaml_parse_stream(&docs, text, len, &opts) != 0) {
        fprintf(stderr, "%s\n", ks_error_last());
        return 1;
    }
    double t1 = now();
    size_t out_bytes = 0;
    for (size_t i = 0; i < json_array_size(docs); i++) {
        char *s = json_dumps(json_array_get(docs, i), JSON_COMPACT);
        out_bytes += s ? strlen(s) : 0;
        free(s);
    }
    double t2 = now();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = (double)len / (1024.0 * 1024.0);
    printf("impl=keelson positions=%s bytes=%zu docs=%zu json_bytes=%zu parse_s=%.3f "
           "dump_s=%.3f total_s=%.3f mb_per_s=%.2f peak_rss_kb=%ld\n",
           positions ? "on" : "off", len, json_array_size(docs), out_bytes, t1 - t0, t2 - t1,
           t2 - t0, mb / (t2 - t0), ru.ru_maxrss);
    json_decref(docs);
    ks_yaml_positions_free(opts.positions);
    free(text);
    return 0;
}
