/*
 * test_agent_sim.c: the whole agent (nodeagent/agent) on the simulated
 * runtime (nodeagent/runtime/runtime_sim.c) with an in-memory source, so
 * its decisions run fast and without Podman: pods come up and report
 * Running/Ready, env and volumes are resolved from ConfigMaps and Secrets
 * (files with their modes, rewritten on change), a container killed out of
 * band gives a Drift event and is restarted, self-heal "false" only
 * reports, a crashing container is restarted with growing back-off, a
 * restarted agent adopts the same containers, an orphan labelled pod is
 * removed, a deleted pod is torn down, a failing source leaves the pods
 * running and KS_EGONE makes the agent list again.
 */
#include "core/error.h"
#include "core/log.h"
#include "core/str.h"
#include "nodeagent/agent/agent.h"
#include "nodeagent/agent/internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* --- an in-memory source ---------------------------------------------------- */

struct mem_source {
    struct ks_agent_source base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *pods;    /* key -> pod */
    json_t *objects; /* "Kind/ns/name" -> object */
    json_t *changes; /* array of {rev, change} */
    int64_t rev;
    json_t *status; /* "ns/name" -> status */
    json_t *events; /* array */
    bool interrupted;
    int fail;  /* watch answers KS_EIO while set */
    bool gone; /* the next watch answers KS_EGONE */
    int lists; /* list calls */
};

static struct mem_source *M(struct ks_agent_source *s)
{
    return (struct mem_source *)s;
}

static int m_register(struct ks_agent_source *s, const json_t *r)
{
    (void)s;
    (void)r;
    return 0;
}
static int m_heartbeat(struct ks_agent_source *s)
{
    (void)s;
    return 0;
}
static int m_list(struct ks_agent_source *s, json_t **out, int64_t *rev)
{
    struct mem_source *m = M(s);
    pthread_mutex_lock(&m->mu);
    json_t *arr = json_array(), *p;
    const char *k;
    m->lists++;
    json_object_foreach(m->pods, k, p) json_array_append(arr, p);
    *out = arr;
    *rev = m->rev;
    pthread_mutex_unlock(&m->mu);
    return 0;
}
static int m_watch(struct ks_agent_source *s, json_t **out, int64_t *out_rev, int64_t since,
                   long timeout_ms)
{
    struct mem_source *m = M(s);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&m->mu);
    if (m->fail || m->gone) {
        int rc = m->gone ? ks_error_set(KS_EGONE, "since %lld is gone", (long long)since)
                         : ks_error_set(KS_EIO, "connection refused");
        m->gone = false;
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    while (m->rev <= since && !m->interrupted)
        if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) != 0)
            break;
    m->interrupted = false;
    json_t *arr = json_array(), *c;
    size_t i;
    json_array_foreach(m->changes, i, c)
    {
        if (json_integer_value(json_object_get(c, "rev")) > since)
            json_array_append(arr, json_object_get(c, "change"));
    }
    *out = arr;
    *out_rev = m->rev;
    pthread_mutex_unlock(&m->mu);
    return 0;
}
static int m_get(struct ks_agent_source *s, json_t **out, const char *kind, const char *ns,
                 const char *name)
{
    struct mem_source *m = M(s);
    char key[512];
    snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
    pthread_mutex_lock(&m->mu);
    json_t *o = json_object_get(m->objects, key);
    if (o)
        *out = json_deep_copy(o);
    pthread_mutex_unlock(&m->mu);
    return o ? 0 : ks_error_set(KS_ENOTFOUND, "%s not found", key);
}
static int m_status(struct ks_agent_source *s, const char *ns, const char *name, const json_t *st)
{
    struct mem_source *m = M(s);
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&m->mu);
    json_object_set_new(m->status, key, json_deep_copy(st));
    pthread_mutex_unlock(&m->mu);
    return 0;
}
static int m_events(struct ks_agent_source *s, const json_t *evs)
{
    struct mem_source *m = M(s);
    pthread_mutex_lock(&m->mu);
    json_array_extend(m->events, (json_t *)evs);
    pthread_mutex_unlock(&m->mu);
    return 0;
}
static void m_interrupt(struct ks_agent_source *s)
{
    struct mem_source *m = M(s);
    pthread_mutex_lock(&m->mu);
    m->interrupted = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}
static void m_free(struct ks_agent_source *s)
{
    struct mem_source *m = M(s);
    json_decref(m->pods);
    json_decref(m->objects);
    json_decref(m->changes);
    json_decref(m->status);
    json_decref(m->events);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}
static const struct ks_agent_source_ops mem_ops = {
    .name = "file",
    .register_node = m_register,
    .heartbeat = m_heartbeat,
    .list = m_list,
    .watch = m_watch,
    .get_object = m_get,
    .report_status = m_status,
    .report_events = m_events,
    .interrupt = m_interrupt,
    .free = m_free,
};

static struct mem_source *mem_new(void)
{
    struct mem_source *m = calloc(1, sizeof(*m));
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->pods = json_object();
    m->objects = json_object();
    m->changes = json_array();
    m->status = json_object();
    m->events = json_array();
    return m;
}

static void mem_change(struct mem_source *m, const char *type, json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    char key[512];
    pthread_mutex_lock(&m->mu);
    if (strcmp(kind, "Pod") == 0) {
        snprintf(key, sizeof(key), "%s/%s", ns, name);
        if (strcmp(type, "put") == 0)
            json_object_set(m->pods, key, obj);
        else
            json_object_del(m->pods, key);
    } else {
        snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
        json_object_set(m->objects, key, obj);
    }
    m->rev++;
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:O}", "type", type, "kind", kind, "namespace", ns,
                          "name", name, "object", obj);
    json_array_append_new(m->changes,
                          json_pack("{s:I, s:o}", "rev", (json_int_t)m->rev, "change", c));
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    json_decref(obj);
}

/* A copy of a status field, or NULL. */
static json_t *mem_status(struct mem_source *m, const char *key)
{
    pthread_mutex_lock(&m->mu);
    json_t *s = json_object_get(m->status, key);
    s = s ? json_deep_copy(s) : NULL;
    pthread_mutex_unlock(&m->mu);
    return s;
}

static int count_events(struct mem_source *m, const char *what, const char *action)
{
    int n = 0;
    size_t i;
    json_t *e;
    pthread_mutex_lock(&m->mu);
    json_array_foreach(m->events, i, e)
    {
        const json_t *d = json_object_get(e, "drift");
        if (strcmp(json_string_value(json_object_get(d, "what")), what) == 0 &&
            strcmp(json_string_value(json_object_get(d, "action")), action) == 0)
            n++;
    }
    pthread_mutex_unlock(&m->mu);
    return n;
}

/* --- fixture --------------------------------------------------------------- */

struct fx {
    struct mem_source *src;
    struct ks_runtime *rt;
    struct ks_agent *agent;
    pthread_t th;
    char dir[64];
};

static void *run_agent(void *arg)
{
    ks_agent_run(arg);
    return NULL;
}

static void agent_start_opts(struct fx *f, unsigned max_pods, const json_t *report)
{
    struct ks_agent_opts o = {.node = "n1",
                              .max_pods = max_pods,
                              .node_report = report,
                              .state_dir = f->dir,
                              .rt = f->rt,
                              .nsources = 1,
                              .resync_ms = 300,
                              .backoff_base_ms = 200,
                              .backoff_max_ms = 800};
    o.sources[0] = &f->src->base;
    assert_int_equal(ks_agent_new(&f->agent, &o), 0);
    assert_int_equal(pthread_create(&f->th, NULL, run_agent, f->agent), 0);
}

static void agent_start(struct fx *f)
{
    agent_start_opts(f, 0, NULL);
}

static void agent_stop(struct fx *f)
{
    ks_agent_stop(f->agent);
    pthread_join(f->th, NULL);
    ks_agent_free(f->agent);
    f->agent = NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ks_runtime_sim_opts so = {.start_ms = 5, .fail_rate = 0, .seed = 1};
    snprintf(f->dir, sizeof(f->dir), "/tmp/ks-agent-sim.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->src = mem_new();
    assert_int_equal(ks_runtime_sim_new(&f->rt, &so), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->agent)
        agent_stop(f);
    f->rt->ops->free(f->rt);
    f->src->base.ops->free(&f->src->base);
    ks_agent_rmtree(f->dir);
    free(f);
    return 0;
}

static json_t *pod(const char *name, const char *uid, const char *cmd)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:[{s:s, s:s, s:[s, s, s]}]}}", "kind", "Pod",
                     "metadata", "name", name, "namespace", "default", "uid", uid, "spec",
                     "containers", "name", "app", "image", "busybox", "command", "sh", "-c", cmd);
}

/* Waits up to 5 s for jq-like condition: the status at key satisfies fn. */
typedef bool (*check_fn)(const json_t *st, void *ud);
static json_t *wait_status(struct mem_source *m, const char *key, check_fn fn, void *ud)
{
    for (int i = 0; i < 500; i++) {
        json_t *st = mem_status(m, key);
        if (st && fn(st, ud))
            return st;
        json_decref(st);
        usleep(10000);
    }
    json_t *st = mem_status(m, key);
    char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
    fail_msg("status of %s never matched: %s", key, text ? text : "(none)");
    return NULL;
}

static bool is_ready(const json_t *st, void *ud)
{
    (void)ud;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "type")), "Ready") == 0)
            return strcmp(json_string_value(json_object_get(c, "status")), "True") == 0;
    }
    return false;
}

static const json_t *ctr0(const json_t *st)
{
    return json_array_get(json_object_get(st, "containerStatuses"), 0);
}

static bool restarts_at_least(const json_t *st, void *ud)
{
    return json_integer_value(json_object_get(ctr0(st), "restartCount")) >= *(int *)ud &&
           is_ready(st, NULL);
}

static bool other_id_ready(const json_t *st, void *ud)
{
    const char *id = json_string_value(json_object_get(ctr0(st), "containerID"));
    return id && strlen(id) > 9 && strcmp(id + 9, (const char *)ud) != 0 && is_ready(st, NULL);
}

static int wait_events(struct mem_source *m, const char *what, const char *action, int n)
{
    for (int i = 0; i < 500 && count_events(m, what, action) < n; i++)
        usleep(10000);
    return count_events(m, what, action);
}

static char *ctr_id(const json_t *st)
{
    return strdup(json_string_value(json_object_get(ctr0(st), "containerID")) + 9);
}

static void test_run_drift_adopt(void **state)
{
    struct fx *f = *state;
    /* a ConfigMap and a Secret used for env and volumes */
    mem_change(f->src, "put",
               json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "kind", "ConfigMap", "metadata", "name",
                         "cfg", "namespace", "default", "data", "greeting", "hello"));
    mem_change(f->src, "put",
               json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "kind", "Secret", "metadata", "name",
                         "sec", "namespace", "default", "data", "pw", "czNjcmV0")); /* s3cret */
    json_t *p = pod("web", "uid-web", "sleep 1000");
    json_t *c = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0);
    json_object_set_new(c, "env",
                        json_pack("[{s:s, s:{s:{s:s, s:s}}}]", "name", "PW", "valueFrom",
                                  "secretKeyRef", "name", "sec", "key", "pw"));
    json_object_set_new(c, "volumeMounts",
                        json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "cfg", "mountPath", "/cfg",
                                  "name", "scratch", "mountPath", "/s"));
    json_object_set_new(json_object_get(p, "spec"), "volumes",
                        json_pack("[{s:s, s:{s:s, s:i, s:[{s:s, s:s, s:i}]}}, {s:s, s:{}}]", "name",
                                  "cfg", "configMap", "name", "cfg", "defaultMode", 0600, "items",
                                  "key", "greeting", "path", "sub/hello.txt", "mode", 0444, "name",
                                  "scratch", "emptyDir"));
    mem_change(f->src, "put", p);
    agent_start(f);

    json_t *st = wait_status(f->src, "default/web", is_ready, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Running");
    char *id1 = ctr_id(st);
    json_decref(st);

    /* the configMap item was written with its mode; the emptyDir exists */
    char path[256];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/pods/uid-web/volumes/cfg/sub/hello.txt", f->dir);
    char *text = NULL;
    size_t n = 0;
    assert_int_equal(ks_file_read(&text, &n, path, 100), 0);
    assert_string_equal(text, "hello");
    free(text);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0444);
    snprintf(path, sizeof(path), "%s/pods/uid-web/volumes/scratch", f->dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    /* a ConfigMap change rewrites the file */
    mem_change(f->src, "put",
               json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "kind", "ConfigMap", "metadata", "name",
                         "cfg", "namespace", "default", "data", "greeting", "bonjour"));
    snprintf(path, sizeof(path), "%s/pods/uid-web/volumes/cfg/sub/hello.txt", f->dir);
    bool updated = false;
    for (int i = 0; i < 300 && !updated; i++) {
        if (ks_file_read(&text, &n, path, 100) == 0) {
            updated = strcmp(text, "bonjour") == 0;
            free(text);
        }
        usleep(10000);
    }
    assert_true(updated);

    /* out-of-band kill: a Drift event, restarted without back-off */
    assert_int_equal(f->rt->ops->ctr_kill(f->rt, id1, "SIGKILL"), 0);
    assert_int_equal(wait_events(f->src, "container-stopped", "restarted", 1), 1);
    int one = 1;
    st = wait_status(f->src, "default/web", restarts_at_least, &one);
    char *id2 = ctr_id(st);
    assert_string_equal(id1, id2); /* restarted in place */
    json_decref(st);

    /* out-of-band removal: recreated */
    assert_int_equal(f->rt->ops->ctr_remove(f->rt, id1), 0);
    assert_int_equal(wait_events(f->src, "container-removed", "recreated", 1), 1);
    st = wait_status(f->src, "default/web", other_id_ready, id1);
    free(id2);
    id2 = ctr_id(st);
    assert_string_not_equal(id1, id2);
    json_decref(st);

    /* agent restart: adopts the same container, creates nothing */
    agent_stop(f);
    json_t *before = NULL, *after = NULL;
    const char *sel[] = {"io.keelson.node=n1", NULL};
    assert_int_equal(f->rt->ops->ctr_list(f->rt, &before, sel), 0);
    json_object_clear(f->src->status);
    agent_start(f);
    st = wait_status(f->src, "default/web", is_ready, NULL);
    char *id3 = ctr_id(st);
    assert_string_equal(id2, id3);
    /* the restart count survives the agent (kept in the state dir) */
    assert_int_equal(json_integer_value(json_object_get(ctr0(st), "restartCount")), 1);
    json_decref(st);
    assert_int_equal(f->rt->ops->ctr_list(f->rt, &after, sel), 0);
    assert_int_equal(json_array_size(after), json_array_size(before));
    assert_int_equal(json_array_size(after), 1);
    json_decref(before);
    json_decref(after);

    /* an orphan: a labelled pod nothing assigns is removed with an event */
    char *orphan = NULL;
    json_t *labels =
        json_pack("{s:s, s:s, s:s, s:s}", "io.keelson.node", "n1", "io.keelson.pod-uid",
                  "uid-ghost", "io.keelson.pod", "default/ghost", "io.keelson.source", "file");
    assert_int_equal(f->rt->ops->pod_create(f->rt, &orphan, NULL, "default_ghost", labels), 0);
    json_decref(labels);
    assert_int_equal(wait_events(f->src, "orphan", "removed", 1), 1);
    json_t *info = NULL;
    assert_int_equal(f->rt->ops->pod_inspect(f->rt, &info, orphan), KS_ENOTFOUND);
    free(orphan);

    /* deleting the pod tears it down */
    mem_change(f->src, "delete", pod("web", "uid-web", "sleep 1000"));
    json_t *pods = NULL;
    snprintf(path, sizeof(path), "%s/pods/uid-web", f->dir);
    for (int i = 0; i < 300; i++) {
        json_decref(pods);
        assert_int_equal(f->rt->ops->pod_list(f->rt, &pods, sel), 0);
        if (json_array_size(pods) == 0 && stat(path, &sb) != 0)
            break;
        usleep(10000);
    }
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);
    assert_int_not_equal(stat(path, &sb), 0); /* volume files gone too */
    free(id1);
    free(id2);
    free(id3);
}

static void test_self_heal_off(void **state)
{
    struct fx *f = *state;
    json_t *p = pod("keep", "uid-keep", "sleep 1000");
    json_object_set_new(json_object_get(p, "metadata"), "annotations",
                        json_pack("{s:s}", "keelson.io/self-heal", "false"));
    mem_change(f->src, "put", p);
    agent_start(f);
    json_t *st = wait_status(f->src, "default/keep", is_ready, NULL);
    char *id = ctr_id(st);
    json_decref(st);
    assert_int_equal(f->rt->ops->ctr_kill(f->rt, id, "SIGKILL"), 0);
    assert_int_equal(wait_events(f->src, "container-stopped", "reported", 1), 1);
    usleep(700000); /* two resyncs: still left as found */
    struct ks_podman_ctr_state cs;
    assert_int_equal(f->rt->ops->ctr_inspect(f->rt, &cs, NULL, NULL, NULL, id), 0);
    assert_false(cs.running);
    assert_int_equal(count_events(f->src, "container-stopped", "restarted"), 0);
    assert_int_equal(count_events(f->src, "container-stopped", "reported"), 1);
    /* the pod removed out of band: reported, not made again */
    assert_int_equal(f->rt->ops->pod_remove(f->rt, "default_keep"), 0);
    assert_int_equal(wait_events(f->src, "pod-removed", "reported", 1), 1);
    usleep(700000);
    const char *sel[] = {"io.keelson.pod-uid=uid-keep", NULL};
    json_t *pods = NULL;
    assert_int_equal(f->rt->ops->pod_list(f->rt, &pods, sel), 0);
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);
    assert_int_equal(count_events(f->src, "pod-removed", "reported"), 1);
    json_t *st2 = mem_status(f->src, "default/keep");
    assert_string_equal(json_string_value(json_object_get(st2, "reason")), "Drift");
    json_decref(st2);
    free(id);
}

static void test_crash_backoff(void **state)
{
    struct fx *f = *state;
    /* every start fails at once (exit 1): restarts after 200, 400, 800, 800 ms */
    f->rt->ops->free(f->rt);
    struct ks_runtime_sim_opts so = {.start_ms = 0, .fail_rate = 1.0, .seed = 1};
    assert_int_equal(ks_runtime_sim_new(&f->rt, &so), 0);
    mem_change(f->src, "put", pod("crash", "uid-crash", "exit 1"));
    int64_t t0 = ks_agent_mono_ms();
    agent_start(f);
    json_t *st = NULL;
    int64_t seen[4] = {0};
    for (int i = 0; i < 600; i++) {
        json_decref(st);
        st = mem_status(f->src, "default/crash");
        int rc = st ? (int)json_integer_value(json_object_get(ctr0(st), "restartCount")) : 0;
        if (rc >= 1 && rc <= 3 && !seen[rc])
            seen[rc] = ks_agent_mono_ms() - t0;
        if (rc >= 3)
            break;
        usleep(5000);
    }
    assert_non_null(st);
    assert_int_equal(json_integer_value(json_object_get(ctr0(st), "restartCount")), 3);
    /* restart n waited about 200 * 2^(n-1) ms after the previous one */
    assert_in_range(seen[1], 150, 600);
    assert_in_range(seen[2] - seen[1], 350, 800);
    assert_in_range(seen[3] - seen[2], 700, 1300);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Running");
    json_decref(st);
    st = NULL;
    /* while backing off: waiting CrashLoopBackOff, lastState terminated */
    for (int i = 0; i < 200; i++) {
        json_decref(st);
        st = mem_status(f->src, "default/crash");
        const json_t *w = json_object_get(json_object_get(ctr0(st), "state"), "waiting");
        if (w && strcmp(json_string_value(json_object_get(w, "reason")), "CrashLoopBackOff") == 0)
            break;
        usleep(5000);
    }
    const json_t *cs = ctr0(st);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(cs, "state"), "waiting"), "reason")),
                        "CrashLoopBackOff");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(cs, "lastState"), "terminated"), "exitCode")),
        1);
    json_decref(st);
}

static void test_source_errors(void **state)
{
    struct fx *f = *state;
    mem_change(f->src, "put", pod("a", "uid-a", "sleep 1000"));
    mem_change(f->src, "put", pod("b", "uid-b", "sleep 1000"));
    agent_start(f);
    json_t *st = wait_status(f->src, "default/a", is_ready, NULL);
    char *id = ctr_id(st);
    json_decref(st);
    json_decref(wait_status(f->src, "default/b", is_ready, NULL));

    /* the source fails: the pods keep running untouched */
    pthread_mutex_lock(&f->src->mu);
    f->src->fail = 1;
    pthread_cond_broadcast(&f->src->cv);
    pthread_mutex_unlock(&f->src->mu);
    m_interrupt(&f->src->base);
    usleep(1500000);
    struct ks_podman_ctr_state cs;
    assert_int_equal(f->rt->ops->ctr_inspect(f->rt, &cs, NULL, NULL, NULL, id), 0);
    assert_true(cs.running);

    /* it comes back saying its log is gone, without pod b: the agent lists
     * again and removes b */
    pthread_mutex_lock(&f->src->mu);
    int lists = f->src->lists;
    json_object_del(f->src->pods, "default/b");
    f->src->fail = 0;
    f->src->gone = true;
    pthread_mutex_unlock(&f->src->mu);
    const char *sel[] = {"io.keelson.pod-uid=uid-b", NULL};
    json_t *pods = NULL;
    for (int i = 0; i < 500; i++) {
        json_decref(pods);
        assert_int_equal(f->rt->ops->pod_list(f->rt, &pods, sel), 0);
        if (json_array_size(pods) == 0)
            break;
        usleep(10000);
    }
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);
    pthread_mutex_lock(&f->src->mu);
    assert_true(f->src->lists > lists);
    pthread_mutex_unlock(&f->src->mu);
    assert_int_equal(f->rt->ops->ctr_inspect(f->rt, &cs, NULL, NULL, NULL, id), 0);
    assert_true(cs.running);
    free(id);
}

static void test_max_pods_host_ip(void **state)
{
    struct fx *f = *state;
    json_t *report = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "addresses", "type", "InternalIP",
                               "address", "192.0.2.7", "type", "Hostname", "address", "n1");
    mem_change(f->src, "put", pod("first", "uid-1", "sleep 1000"));
    agent_start_opts(f, 1, report);
    json_t *st = wait_status(f->src, "default/first", is_ready, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "hostIP")), "192.0.2.7");
    json_decref(st);
    mem_change(f->src, "put", pod("second", "uid-2", "sleep 1000"));
    json_t *st2 = NULL;
    for (int i = 0; i < 300 && !st2; i++) {
        st2 = mem_status(f->src, "default/second");
        usleep(10000);
    }
    assert_non_null(st2);
    assert_string_equal(json_string_value(json_object_get(st2, "phase")), "Failed");
    assert_string_equal(json_string_value(json_object_get(st2, "reason")), "OutOfpods");
    json_decref(st2);
    const char *sel[] = {"io.keelson.pod-uid=uid-2", NULL};
    json_t *pods = NULL;
    assert_int_equal(f->rt->ops->pod_list(f->rt, &pods, sel), 0);
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);
    json_decref(report);
}

static void test_delete_and_readd(void **state)
{
    struct fx *f = *state;
    mem_change(f->src, "put", pod("again", "uid-again", "sleep 1000"));
    agent_start(f);
    json_decref(wait_status(f->src, "default/again", is_ready, NULL));
    /* removed and given back at once (same uid): the new worker starts
     * after the old one has torn down; one pod at the end, no drift */
    pthread_mutex_lock(&f->src->mu);
    json_object_clear(f->src->status);
    pthread_mutex_unlock(&f->src->mu);
    mem_change(f->src, "delete", pod("again", "uid-again", "sleep 1000"));
    mem_change(f->src, "put", pod("again", "uid-again", "sleep 1000"));
    json_decref(wait_status(f->src, "default/again", is_ready, NULL));
    usleep(400000);
    const char *sel[] = {"io.keelson.pod-uid=uid-again", NULL};
    json_t *pods = NULL, *ctrs = NULL;
    assert_int_equal(f->rt->ops->pod_list(f->rt, &pods, sel), 0);
    assert_int_equal(f->rt->ops->ctr_list(f->rt, &ctrs, sel), 0);
    assert_int_equal(json_array_size(pods), 1);
    assert_int_equal(json_array_size(ctrs), 1);
    json_decref(pods);
    json_decref(ctrs);
    assert_int_equal(count_events(f->src, "pod-removed", "recreated"), 0);
    assert_int_equal(count_events(f->src, "container-removed", "recreated"), 0);
    assert_int_equal(count_events(f->src, "orphan", "removed"), 0);
}

int main(void)
{
    ks_log_configure(KS_LOG_ERROR, KS_LOG_LOGFMT, stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_drift_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_heal_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_pods_host_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_readd, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
