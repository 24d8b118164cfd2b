/*
 * test_source.c: the Git source against real repositories made with the
 * git CLI: reading a subtree at a commit without a checkout, the subtree
 * hash ignoring commits elsewhere, revision resolution, the file:// mirror
 * and its incremental fetch following the remote's default branch, and the
 * file size / count limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "reconciler/source/source.h"

struct fixture {
    char dir[64];
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2300];
    snprintf(full, sizeof full,
             "set -e; export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.org "
             "GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.org; %s >/dev/null 2>&1",
             cmd);
    assert_int_equal(system(full), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ks-source-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    sh("cd %s && git init -q -b main repo && cd repo && mkdir -p apps/web other && "
       "printf 'kind: Deployment\\n' > apps/web/deploy.yaml && printf 'a: 1\\n' > apps/cm.yaml && "
       "printf 'x' > other/readme.txt && git add -A && git commit -qm 'first deploy'",
       f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sh("rm -rf %s", f->dir);
    free(f);
    return 0;
}

static struct ks_source *open_repo(const char *repo, const char *state_dir)
{
    struct ks_source *src = NULL;
    struct ks_source_opts opts = {.repo = repo, .state_dir = state_dir};
    assert_int_equal(ks_source_open(&src, &opts), 0);
    return src;
}

static void reads_subtree_without_checkout(void **state)
{
    struct fixture *f = *state;
    char repo[128];
    snprintf(repo, sizeof repo, "%s/repo", f->dir);
    struct ks_source *src = open_repo(repo, NULL);
    char head[41];
    assert_int_equal(ks_source_resolve(head, src, NULL), 0);
    char main_id[41];
    assert_int_equal(ks_source_resolve(main_id, src, "main"), 0);
    assert_string_equal(head, main_id);

    struct ks_source_snapshot *snap = NULL;
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "./apps/", NULL), 0);
    assert_int_equal(snap->nfiles, 2);
    assert_string_equal(snap->files[0].path, "apps/cm.yaml");
    assert_string_equal(snap->files[0].data, "a: 1\n");
    assert_string_equal(snap->files[1].path, "apps/web/deploy.yaml");
    assert_string_equal(json_string_value(json_object_get(snap->info, "author")), "Ada");
    assert_string_equal(json_string_value(json_object_get(snap->info, "message")),
                        "first deploy\n");
    char hash1[41];
    snprintf(hash1, sizeof hash1, "%s", snap->tree_hash);
    ks_source_snapshot_free(snap);

    /* a commit elsewhere leaves the subtree hash alone; one inside changes it */
    sh("cd %s && echo y > other/readme.txt && git commit -qam 'docs'", repo);
    assert_int_equal(ks_source_resolve(head, src, "main"), 0);
    char hash2[41];
    assert_int_equal(ks_source_tree_hash(hash2, src, head, "apps"), 0);
    assert_string_equal(hash1, hash2);
    sh("cd %s && echo 'a: 2' > apps/cm.yaml && git commit -qam 'bump'", repo);
    assert_int_equal(ks_source_resolve(head, src, "main"), 0);
    assert_int_equal(ks_source_tree_hash(hash2, src, head, "apps"), 0);
    assert_string_not_equal(hash1, hash2);

    /* short ids resolve; unknown revisions and paths are clear errors */
    char short_id[8];
    snprintf(short_id, sizeof short_id, "%.7s", head);
    char resolved[41];
    assert_int_equal(ks_source_resolve(resolved, src, short_id), 0);
    assert_string_equal(resolved, head);
    assert_int_equal(ks_source_resolve(resolved, src, "nope"), KS_ENOTFOUND);
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "missing", NULL), KS_ENOTFOUND);
    assert_non_null(strstr(ks_error_last(), "missing"));
    ks_source_close(src);
}

static void mirror_fetches_incrementally(void **state)
{
    struct fixture *f = *state;
    char url[160], state_dir[128], repo[128];
    snprintf(repo, sizeof repo, "%s/repo", f->dir);
    snprintf(url, sizeof url, "file://%s/repo", f->dir);
    snprintf(state_dir, sizeof state_dir, "%s/state", f->dir);
    struct ks_source *src = open_repo(url, state_dir);
    assert_int_equal(ks_source_fetch(src), 0);
    char head[41];
    assert_int_equal(ks_source_resolve(head, src, NULL), 0);
    struct ks_source_snapshot *snap = NULL;
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "", NULL), 0);
    assert_int_equal(snap->nfiles, 3);
    ks_source_snapshot_free(snap);
    ks_source_close(src);

    /* a new commit on the remote arrives with the next fetch of the same mirror */
    sh("cd %s && echo 'b: 1' > apps/new.yaml && git add -A && git commit -qm 'add'", repo);
    src = open_repo(url, state_dir);
    char before[41];
    assert_int_equal(ks_source_resolve(before, src, "main"), 0);
    assert_string_equal(before, head);
    assert_int_equal(ks_source_fetch(src), 0);
    assert_int_equal(ks_source_resolve(head, src, "main"), 0);
    assert_string_not_equal(before, head);
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "apps", NULL), 0);
    assert_int_equal(snap->nfiles, 3);
    ks_source_snapshot_free(snap);
    ks_source_close(src);
}

static void limits_are_named(void **state)
{
    struct fixture *f = *state;
    char repo[128];
    snprintf(repo, sizeof repo, "%s/repo", f->dir);
    struct ks_source *src = open_repo(repo, NULL);
    char head[41];
    assert_int_equal(ks_source_resolve(head, src, NULL), 0);
    struct ks_source_snapshot *snap = NULL;
    struct ks_source_limits small_files = {.max_file_bytes = 4};
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "apps", &small_files), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "file size limit"));
    struct ks_source_limits few = {.max_files = 1};
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "apps", &few), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "file count limit"));
    struct ks_source_limits total = {.max_total_bytes = 10};
    assert_int_equal(ks_source_snapshot_read(&snap, src, head, "", &total), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "total size limit"));
    ks_source_close(src);

    struct ks_source_opts bad = {.repo = "/nonexistent/repo"};
    assert_int_equal(ks_source_open(&src, &bad), KS_ENOTFOUND);
    struct ks_source_opts no_state = {.repo = "file:///tmp/x"};
    assert_int_equal(ks_source_open(&src, &no_state), KS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_subtree_without_checkout, setup, teardown),
        cmocka_unit_test_setup_teardown(mirror_fetches_incrementally, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_are_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
