/*
 * test_staticpods.c: the directory source on real temporary directories
 * with real inotify: the first list, files added, edited and removed show
 * up as watch changes within the timeout, a bad file keeps the last good
 * pods and writes a Warning event with file:line:col, uids are the content
 * hash and survive re-creating the source, ConfigMaps answer get_object,
 * Services written in the directory answer list_objects,
 * interrupt ends a parked watch, limits, and the report directory
 * (atomic status files, events.ndjson appended from several threads).
 */
#include "core/digest.h"
#include "core/error.h"
#include "core/str.h"
#include "nodeagent/staticpods/staticpods.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
    char root[64];
    char dir[96];
    char report[96];
    struct ks_agent_source *src;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const struct fixture *f, const char *name, const char *text)
{
    char path[256], tmp[256];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->dir, name);
    fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(rename(tmp, path), 0);
}

static void remove_file(const struct fixture *f, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    assert_int_equal(unlink(path), 0);
}

static const char *web_yaml = "apiVersion: v1\n"
                              "kind: Pod\n"
                              "metadata:\n"
                              "  name: web\n"
                              "spec:\n"
                              "  containers:\n"
                              "  - name: c\n"
                              "    image: busybox:1\n"
                              "---\n"
                              "apiVersion: v1\n"
                              "kind: ConfigMap\n"
                              "metadata:\n"
                              "  name: conf\n"
                              "  namespace: apps\n"
                              "data:\n"
                              "  a: b\n";

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    snprintf(f->root, sizeof(f->root), "/tmp/ks-staticpods-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/manifests", f->root);
    snprintf(f->report, sizeof(f->report), "%s/report", f->root);
    if (ks_mkdir_p(f->dir, 0755) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    if (f->src)
        f->src->ops->free(f->src);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void open_source(struct fixture *f, size_t max_bytes, unsigned max_files)
{
    struct ks_staticpods_opts o = {.dir = f->dir,
                                   .node_name = "node-a",
                                   .report_dir = f->report,
                                   .max_file_bytes = max_bytes,
                                   .max_files = max_files};

    if (ks_staticpods_source_new(&f->src, &o) < 0)
        fail_msg("source_new: %s", ks_error_last());
}

static json_t *list_pods(struct fixture *f, int64_t *rev)
{
    json_t *pods = NULL;

    if (f->src->ops->list(f->src, &pods, rev) < 0)
        fail_msg("list: %s", ks_error_last());
    return pods;
}

/* Waits (up to 3 s) for a watch answer with at least one change. */
static json_t *watch_change(struct fixture *f, int64_t *rev, long *took_ms)
{
    int64_t start = mono_ms();
    json_t *changes = NULL;

    while (mono_ms() - start < 3000) {
        int64_t next = *rev;

        if (f->src->ops->watch(f->src, &changes, &next, *rev, 3000) < 0)
            fail_msg("watch: %s", ks_error_last());
        *rev = next;
        if (json_array_size(changes)) {
            *took_ms = (long)(mono_ms() - start);
            return changes;
        }
        json_decref(changes);
    }
    fail_msg("no change within 3 s");
    return NULL;
}

static const char *uid_of(const json_t *pod)
{
    return json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
}

static char *read_text(const char *path)
{
    char *text = NULL;

    if (ks_file_read(&text, NULL, path, 1 << 20) < 0)
        return NULL;
    return text;
}

static void first_list_and_uid(void **state)
{
    struct fixture *f = *state;
    json_t *pods, *pod, *copy, *meta;
    char *canonical, *text, hex[65];
    int64_t rev;

    write_file(f, "web.yaml", web_yaml);
    write_file(f, ".hidden.yaml", web_yaml);
    write_file(f, "notes.txt", "not a manifest");
    write_file(f, "z.json",
               "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": "
               "\"j\", \"namespace\": \"apps\"}, \"spec\": {\"containers\": []}}");
    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(pods, 1), "metadata"), "namespace")),
                        "apps");
    pod = json_array_get(pods, 0);
    meta = json_object_get(pod, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "default");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName")), "node-a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                          "keelson.io/source-file")),
                        "web.yaml");
    /* uid = first 32 hex digits of sha256(node "\n" canonical JSON without uid). */
    copy = json_deep_copy(pod);
    json_object_del(json_object_get(copy, "metadata"), "uid");
    canonical = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
    text = ks_strdupf("node-a\n%s", canonical);
    assert_int_equal(ks_sha256_hex(hex, text, strlen(text)), 0);
    hex[32] = '\0';
    assert_string_equal(uid_of(pod), hex);
    free(canonical);
    free(text);
    json_decref(copy);
    json_decref(pods);
}

static void get_object_configmap(void **state)
{
    struct fixture *f = *state;
    json_t *obj = NULL;

    write_file(f, "web.yaml", web_yaml);
    open_source(f, 0, 0);
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "ConfigMap", "apps", "conf"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "a")), "b");
    json_decref(obj);
    obj = NULL;
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "Secret", "apps", "conf"), KS_ENOTFOUND);
    assert_int_equal(f->src->ops->get_object(f->src, &obj, "ConfigMap", "default", "conf"),
                     KS_ENOTFOUND);
    assert_null(obj);
}

static void list_objects_services(void **state)
{
    struct fixture *f = *state;
    json_t *items = NULL;
    const char *svc = "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata:\n"
                      "  name: db\n"
                      "spec:\n"
                      "  clusterIP: 10.96.0.10\n"
                      "  ports:\n"
                      "  - port: 5432\n";

    write_file(f, "web.yaml", web_yaml);
    write_file(f, "svc.yaml", svc);
    open_source(f, 0, 0);
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Service"), 0);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(items, 0), "metadata"), "namespace")),
                        "default");
    json_decref(items);
    items = NULL;
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Endpoints"), 0);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    items = NULL;
    assert_int_equal(f->src->ops->list_objects(f->src, &items, "Pod"), KS_EINVALID);
    assert_null(items);
}

static void add_edit_remove(void **state)
{
    struct fixture *f = *state;
    json_t *pods, *changes, *c;
    char uid1[64], *edited;
    int64_t rev;
    long took;

    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 0);
    json_decref(pods);

    write_file(f, "web.yaml", web_yaml);
    changes = watch_change(f, &rev, &took);
    print_message("add seen after %ld ms\n", took);
    assert_true(took < 1000);
    assert_int_equal(json_array_size(changes), 2); /* the ConfigMap and the Pod */
    c = json_array_get(changes, 1);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "put");
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(c, "name")), "web");
    assert_string_equal(json_string_value(json_object_get(c, "namespace")), "default");
    snprintf(uid1, sizeof(uid1), "%s", uid_of(json_object_get(c, "object")));
    json_decref(changes);

    edited = strdup(web_yaml);
    memcpy(strstr(edited, "busybox:1"), "busybox:2", 9);
    write_file(f, "web.yaml", edited);
    free(edited);
    changes = watch_change(f, &rev, &took);
    print_message("edit seen after %ld ms\n", took);
    assert_int_equal(json_array_size(changes), 1);
    c = json_array_get(changes, 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "put");
    assert_string_not_equal(uid_of(json_object_get(c, "object")), uid1);
    json_decref(changes);

    remove_file(f, "web.yaml");
    changes = watch_change(f, &rev, &took);
    print_message("remove seen after %ld ms\n", took);
    assert_int_equal(json_array_size(changes), 2);
    c = json_array_get(changes, 1);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "delete");
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "Pod");
    assert_null(json_object_get(c, "object"));
    json_decref(changes);

    /* A position past the newest is not kept: relist. */
    changes = NULL;
    assert_int_equal(f->src->ops->watch(f->src, &changes, &rev, rev + 5, 10), KS_EGONE);
}

static void bad_file_keeps_last_good(void **state)
{
    struct fixture *f = *state;
    json_t *pods, *changes = NULL;
    char path[256], *events;
    int64_t rev, next;

    write_file(f, "web.yaml", web_yaml);
    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 1);
    json_decref(pods);

    write_file(f, "web.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n");
    next = rev;
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 600), 0);
    assert_int_equal(json_array_size(changes), 0);
    json_decref(changes);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 1);
    json_decref(pods);

    snprintf(path, sizeof(path), "%s/events.ndjson", f->report);
    events = read_text(path);
    assert_non_null(events);
    assert_non_null(strstr(events, "\"reason\":\"StaticPodFile\""));
    assert_non_null(strstr(events, "\"type\":\"Warning\""));
    assert_non_null(strstr(events, "/manifests/web.yaml:5:1: ")); /* file:line:col */
    free(events);

    /* A semantic error points at its document and names the field. */
    write_file(f, "web.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\nspec: {}\n");
    changes = NULL;
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 600), 0);
    assert_int_equal(json_array_size(changes), 0);
    json_decref(changes);
    events = read_text(path);
    assert_non_null(strstr(events, "/manifests/web.yaml:3:1: metadata.name"));
    free(events);
}

static void uid_stable_across_sources(void **state)
{
    struct fixture *f = *state;
    json_t *a, *b;
    int64_t rev;

    write_file(f, "web.yaml", web_yaml);
    open_source(f, 0, 0);
    a = list_pods(f, &rev);
    f->src->ops->free(f->src);
    f->src = NULL;
    open_source(f, 0, 0);
    b = list_pods(f, &rev);
    assert_string_equal(uid_of(json_array_get(a, 0)), uid_of(json_array_get(b, 0)));
    json_decref(a);
    json_decref(b);
}

static void *interrupter(void *ud)
{
    struct ks_agent_source *src = ud;

    usleep(100 * 1000);
    src->ops->interrupt(src);
    return NULL;
}

static void interrupt_ends_watch(void **state)
{
    struct fixture *f = *state;
    json_t *pods, *changes = NULL;
    pthread_t t;
    int64_t rev, next, start;
    long took;

    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    json_decref(pods);
    pthread_create(&t, NULL, interrupter, f->src);
    start = mono_ms();
    assert_int_equal(f->src->ops->watch(f->src, &changes, &next, rev, 10000), 0);
    took = (long)(mono_ms() - start);
    pthread_join(t, NULL);
    print_message("interrupt ended the watch after %ld ms\n", took);
    assert_true(took >= 90 && took < 600);
    assert_int_equal(json_array_size(changes), 0);
    json_decref(changes);
}

static void limits_and_conflict(void **state)
{
    struct fixture *f = *state;
    struct ks_staticpods_opts o = {.dir = f->dir, .node_name = "node-a"};
    struct ks_agent_source *second = NULL;
    char path[256], *events, big[300];
    json_t *pods;
    int64_t rev;

    memset(big, '#', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    write_file(f, "a.yaml", web_yaml);
    write_file(f, "b.yaml", big);
    write_file(f, "c.yaml", web_yaml);
    open_source(f, 290, 2);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 1);
    json_decref(pods);
    snprintf(path, sizeof(path), "%s/events.ndjson", f->report);
    events = read_text(path);
    assert_non_null(events);
    assert_non_null(strstr(events, "b.yaml: larger than the static pods file limit of 290 bytes"));
    assert_non_null(strstr(events, "(max_files)"));
    free(events);

    assert_int_equal(ks_staticpods_source_new(&second, &o), KS_ECONFLICT);
    assert_null(second);
    o.dir = "/nonexistent/keelson";
    f->src->ops->free(f->src);
    f->src = NULL;
    assert_int_equal(ks_staticpods_source_new(&second, &o), KS_ENOTFOUND);
}

static void duplicate_names_first_file_wins(void **state)
{
    struct fixture *f = *state;
    json_t *pods;
    char path[256], *events;
    int64_t rev;

    write_file(f, "a.yaml", web_yaml);
    write_file(f, "b.yaml",
               "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": "
               "\"web\"}, \"spec\": {\"containers\": []}}");
    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    assert_int_equal(json_array_size(pods), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(pods, 0), "metadata"), "annotations"),
            "keelson.io/source-file")),
        "a.yaml");
    json_decref(pods);
    snprintf(path, sizeof(path), "%s/events.ndjson", f->report);
    events = read_text(path);
    assert_non_null(strstr(events, "Pod/default/web is defined by an earlier file"));
    free(events);
}

static void directory_made_again(void **state)
{
    struct fixture *f = *state;
    json_t *pods, *changes;
    char cmd[256];
    int64_t rev;
    long took;

    open_source(f, 0, 0);
    pods = list_pods(f, &rev);
    json_decref(pods);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ks_mkdir_p(f->dir, 0755), 0);
    write_file(f, "web.yaml", web_yaml);
    changes = watch_change(f, &rev, &took);
    assert_int_equal(json_array_size(changes), 2);
    json_decref(changes);
    /* and the new directory is followed from now on */
    remove_file(f, "web.yaml");
    changes = watch_change(f, &rev, &took);
    assert_int_equal(json_array_size(changes), 2);
    assert_true(took < 1000);
    json_decref(changes);
}

static void *event_writer(void *ud)
{
    struct ks_agent_source *src = ud;
    int i;

    for (i = 0; i < 50; i++) {
        json_t *ev =
            json_pack("[{s:s,s:s,s:s}]", "type", "Normal", "reason", "Test", "message", "one line");

        assert_int_equal(src->ops->report_events(src, ev), 0);
        json_decref(ev);
    }
    return NULL;
}

static void report_dir_files(void **state)
{
    struct fixture *f = *state;
    json_t *status = json_pack("{s:s,s:s}", "phase", "Running", "podIP", "10.88.0.2"), *back;
    char path[256], *text, *line;
    pthread_t t[4];
    int i, lines = 0;

    open_source(f, 0, 0);
    assert_int_equal(f->src->ops->report_status(f->src, "default", "web", status), 0);
    snprintf(path, sizeof(path), "%s/status/default_web.json", f->report);
    text = read_text(path);
    assert_non_null(text);
    back = json_loads(text, 0, NULL);
    assert_true(json_equal(back, status));
    json_decref(back);
    free(text);
    assert_int_equal(f->src->ops->report_status(f->src, "..", "web", status), KS_EINVALID);
    json_decref(status);

    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, event_writer, f->src);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    snprintf(path, sizeof(path), "%s/events.ndjson", f->report);
    text = read_text(path);
    assert_non_null(text);
    char *save = NULL;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *ev = json_loads(line, 0, NULL);

        assert_non_null(ev);
        assert_string_equal(json_string_value(json_object_get(ev, "source")), "static");
        assert_non_null(json_object_get(ev, "time"));
        json_decref(ev);
        lines++;
    }
    assert_int_equal(lines, 200);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(first_list_and_uid, setup, teardown),
        cmocka_unit_test_setup_teardown(get_object_configmap, setup, teardown),
        cmocka_unit_test_setup_teardown(list_objects_services, setup, teardown),
        cmocka_unit_test_setup_teardown(add_edit_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_file_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(uid_stable_across_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(interrupt_ends_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_and_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_names_first_file_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(report_dir_files, setup, teardown),
        cmocka_unit_test_setup_teardown(directory_made_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
