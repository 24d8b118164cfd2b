/*
 * manifest.c: helm's SortManifests and the printing of `helm template`.
 *
 * Rendered files are taken in path order, split into documents, each
 * document read for its "SimpleHead" (apiVersion, kind, metadata.name,
 * metadata.annotations) the way helm unmarshals it (so a document that is
 * not YAML, or whose annotations are not strings, is an error naming the
 * template), and classified: documents with a valid helm.sh/hook annotation
 * are hooks, unknown hook names drop the document, everything else is a
 * manifest. Manifests and hooks are then stably sorted by kind in helm's
 * InstallOrder (unknown kinds last, alphabetically among themselves) and
 * printed as the template command does; --show-only re-splits that text.
 */
#include "renderer/output/output.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "renderer/goenc.h"

/* helm v3.17 pkg/releaseutil/kind_sorter.go InstallOrder (checked against helm
 * 3.17.1: the webhook configurations came later and sort as unknown kinds) */
static const char *const install_order[] = {
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
};

/* helm's hook event names (release.HookEvent), plus Helm 2's test-success. */
static const char *const hook_events[] = {
    "pre-install",  "post-install", "pre-delete",    "post-delete", "pre-upgrade",
    "post-upgrade", "pre-rollback", "post-rollback", "test",        "test-success",
};

#define HOOK_ANNOTATION "helm.sh/hook"

int ks_output_kind_rank(const char *kind)
{
    for (size_t i = 0; i < sizeof(install_order) / sizeof(install_order[0]); i++)
        if (strcmp(kind, install_order[i]) == 0)
            return (int)i;
    return -1;
}

struct entry {
    const char *path;    /* borrowed from the file */
    const char *content; /* trimmed document, borrowed from the file */
    size_t len;
    char *kind; /* owned; "" when absent */
    int rank;
    bool is_test;
    size_t seq; /* original position, for a stable sort */
};

struct entries {
    struct entry *v;
    size_t n, cap;
};

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].kind);
    free(e->v);
}

static int entries_push(struct entries *e, const char *path, const char *content, size_t len,
                        const char *kind, bool is_test)
{
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        struct entry *nv = realloc(e->v, ncap * sizeof(*nv));
        if (!nv)
            return ks_error_set(KS_ENOMEM, "out of memory sorting manifests");
        e->v = nv;
        e->cap = ncap;
    }
    char *k = strdup(kind);
    if (!k)
        return ks_error_set(KS_ENOMEM, "out of memory sorting manifests");
    e->v[e->n] = (struct entry){.path = path,
                                .content = content,
                                .len = len,
                                .kind = k,
                                .rank = ks_output_kind_rank(kind),
                                .is_test = is_test,
                                .seq = e->n};
    e->n++;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->rank >= 0 && y->rank >= 0 && x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->rank >= 0 && y->rank < 0)
        return -1;
    if (x->rank < 0 && y->rank >= 0)
        return 1;
    if (x->rank < 0 && y->rank < 0) {
        int c = strcmp(x->kind, y->kind);
        if (c != 0)
            return c;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

static int cmp_file(const void *a, const void *b)
{
    const struct ks_output_file *x = *(const struct ks_output_file *const *)a;
    const struct ks_output_file *y = *(const struct ks_output_file *const *)b;
    return strcmp(x->path, y->path);
}

/* Rewrites a parser message "file:L:C: cause" so L counts from the start of
 * the rendered file instead of the document. */
static int yaml_error(const char *path, size_t doc_line)
{
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", ks_error_last());
    size_t plen = strlen(path);
    const char *cause = msg;
    long line = 1, col = 0;
    if (strncmp(msg, path, plen) == 0 && msg[plen] == ':') {
        char *endp = NULL;
        line = strtol(msg + plen + 1, &endp, 10);
        if (endp && *endp == ':') {
            char *endc = NULL;
            col = strtol(endp + 1, &endc, 10);
            cause = (endc && *endc == ':') ? endc + 1 : endp + 1;
        } else {
            cause = msg + plen + 1;
        }
        while (*cause == ' ')
            cause++;
    }
    if (line < 1)
        line = 1;
    if (col > 0)
        return ks_error_set(KS_EINVALID, "%s:%zu:%ld: YAML parse error: %s", path,
                            doc_line + (size_t)line - 1, col, cause);
    return ks_error_set(KS_EINVALID, "%s:%zu: YAML parse error: %s", path,
                        doc_line + (size_t)line - 1, cause);
}

/* sigs.k8s.io/yaml decodes into SimpleHead's string fields by converting
 * any scalar to a string; only a map or a list where a string belongs is an
 * error. */
static int head_error(const char *path, size_t line, const char *field)
{
    return ks_error_set(KS_EINVALID,
                        "%s:%zu: YAML parse error: error unmarshaling JSON: %s must be a string",
                        path, line, field);
}

static bool is_scalar(const json_t *v)
{
    return !v || (!json_is_object(v) && !json_is_array(v));
}

/* Checks the document against helm's SimpleHead struct and extracts kind and
 * the hook annotation (borrowed from head). */
static int read_head(const char **kind, const char **hook, const json_t *head, const char *path,
                     size_t line)
{
    *kind = "";
    *hook = NULL;
    if (json_is_null(head))
        return 0;
    if (!json_is_object(head))
        return ks_error_set(KS_EINVALID,
                            "%s:%zu: YAML parse error: error unmarshaling JSON: cannot unmarshal "
                            "a non-object document into releaseutil.SimpleHead",
                            path, line);
    if (!is_scalar(json_object_get(head, "apiVersion")))
        return head_error(path, line, "apiVersion");
    const json_t *k = json_object_get(head, "kind");
    if (!is_scalar(k))
        return head_error(path, line, "kind");
    if (json_is_string(k))
        *kind = json_string_value(k);
    const json_t *meta = json_object_get(head, "metadata");
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return ks_error_set(KS_EINVALID,
                            "%s:%zu: YAML parse error: error unmarshaling JSON: metadata is not "
                            "an object",
                            path, line);
    if (!is_scalar(json_object_get(meta, "name")))
        return head_error(path, line, "metadata.name");
    const json_t *ann = json_object_get(meta, "annotations");
    if (!ann || json_is_null(ann))
        return 0;
    if (!json_is_object(ann))
        return ks_error_set(KS_EINVALID,
                            "%s:%zu: YAML parse error: error unmarshaling JSON: "
                            "metadata.annotations is not a map of strings",
                            path, line);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)ann, key, val)
    {
        if (!is_scalar(val))
            return head_error(path, line, "every annotation");
    }
    const json_t *h = json_object_get(ann, HOOK_ANNOTATION);
    if (h)
        *hook = json_is_string(h) ? json_string_value(h) : "";
    return 0;
}

/* Parses a helm.sh/hook value. Returns 1 known hook (is_test set), 0 an
 * unknown hook name (the document is dropped, as helm does). */
static int parse_hook(bool *is_test, const char *value)
{
    *is_test = false;
    const char *s = value;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *b = s, *e = s + n;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        bool known = false;
        for (size_t i = 0; i < sizeof(hook_events) / sizeof(hook_events[0]); i++) {
            size_t hl = strlen(hook_events[i]);
            if (hl == (size_t)(e - b) && strncasecmp(b, hook_events[i], hl) == 0) {
                known = true;
                if (strncmp(hook_events[i], "test", 4) == 0)
                    *is_test = true;
            }
        }
        if (!known)
            return 0;
        if (!comma)
            break;
        s = comma + 1;
    }
    return 1;
}

static int classify_file(struct entries *manifests, struct entries *hooks,
                         const struct ks_output_file *f)
{
    struct ks_output_doc *docs = NULL;
    size_t ndocs = 0;
    json_t *head = NULL;
    int rc = ks_output_split_spans(&docs, &ndocs, f->content, f->len);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < ndocs; i++) {
        json_decref(head);
        head = NULL;
        const char *kind, *hook;
        struct ks_output_head quick;
        const char *dtext = f->content + docs[i].off;
        size_t dlen = docs[i].len;
        if (ks_output_quick_head(&quick, dtext, dlen)) {
            kind = quick.kind;
            hook = quick.has_hook ? quick.hook : NULL;
        } else {
            rc = ks_helmyaml_parse(&head, dtext, dlen, f->path, 0);
            if (rc < 0) {
                rc = yaml_error(f->path, docs[i].line);
                goto done;
            }
            rc = read_head(&kind, &hook, head, f->path, docs[i].line);
            if (rc < 0)
                goto done;
        }
        if (!hook) {
            rc = entries_push(manifests, f->path, dtext, dlen, kind, false);
        } else {
            bool is_test;
            if (parse_hook(&is_test, hook))
                rc = entries_push(hooks, f->path, dtext, dlen, kind, is_test);
        }
        if (rc < 0)
            goto done;
    }
done:
    json_decref(head);
    ks_output_docs_free(docs, ndocs);
    return rc;
}

static void print_doc(struct ks_buf *out, const char *path, const char *content, size_t len)
{
    /* puts, not printf: vsnprintf copies long documents a byte at a time */
    ks_buf_puts(out, "---\n# Source: ");
    ks_buf_puts(out, path);
    ks_buf_putc(out, '\n');
    ks_buf_put(out, content, len);
    ks_buf_putc(out, '\n');
}

/* --show-only: re-split the full text and keep, per pattern in order, the
 * documents whose "# Source: chart/<path>" path matches. */
static int show_only(struct ks_buf *out, const char *text, size_t len,
                     const struct ks_output_opts *opts)
{
    struct ks_output_doc *docs = NULL;
    size_t ndocs = 0;
    int rc = ks_output_split(&docs, &ndocs, text, len);
    if (rc < 0)
        goto done;
    for (size_t p = 0; p < opts->n_show_only; p++) {
        bool found = false;
        for (size_t i = 0; i < ndocs; i++) {
            const char *src = strstr(docs[i].text, "# Source: ");
            if (!src)
                continue;
            src += strlen("# Source: ");
            const char *slash = src;
            while (*slash && *slash != '/')
                slash++;
            if (*slash != '/' || slash == src || slash[1] == '\n' || slash[1] == '\0')
                continue;
            const char *eol = strchr(slash + 1, '\n');
            size_t n = eol ? (size_t)(eol - slash - 1) : strlen(slash + 1);
            char name[4096];
            if (n >= sizeof(name))
                continue;
            memcpy(name, slash + 1, n);
            name[n] = '\0';
            if (!ks_output_glob_match(opts->show_only[p], name))
                continue;
            ks_buf_puts(out, "---\n");
            ks_buf_puts(out, docs[i].text);
            ks_buf_putc(out, '\n');
            found = true;
        }
        if (!found) {
            rc = ks_error_set(KS_ENOTFOUND, "could not find template %s in chart",
                              opts->show_only[p]);
            goto done;
        }
    }
done:
    ks_output_docs_free(docs, ndocs);
    return rc;
}

int ks_output_build(struct ks_buf *out, json_t *objects, const struct ks_output_file *files,
                    size_t nfiles, const struct ks_output_file *crds, size_t ncrds,
                    const struct ks_output_opts *opts)
{
    struct entries manifests = {0}, hooks = {0};
    const struct ks_output_file **sorted = NULL;
    /* without --show-only the text goes straight into out */
    struct ks_buf scratch, *text = out;
    ks_buf_init(&scratch, out->limit);
    if (opts->n_show_only > 0)
        text = &scratch;
    size_t start = ks_buf_len(out);
    int rc = 0;

    sorted = calloc(nfiles ? nfiles : 1, sizeof(*sorted));
    if (!sorted) {
        rc = ks_error_set(KS_ENOMEM, "out of memory sorting manifests");
        goto done;
    }
    for (size_t i = 0; i < nfiles; i++)
        sorted[i] = &files[i];
    qsort(sorted, nfiles, sizeof(*sorted), cmp_file);
    for (size_t i = 0; i < nfiles; i++) {
        size_t b = 0, e = sorted[i]->len;
        const char *c = sorted[i]->content;
        while (b < e && isspace((unsigned char)c[b]))
            b++;
        if (b == e)
            continue; /* helm skips files that are only whitespace */
        rc = classify_file(&manifests, &hooks, sorted[i]);
        if (rc < 0)
            goto done;
    }
    if (manifests.n > 1)
        qsort(manifests.v, manifests.n, sizeof(*manifests.v), cmp_entry);
    if (hooks.n > 1)
        qsort(hooks.v, hooks.n, sizeof(*hooks.v), cmp_entry);

    if (opts->include_crds)
        for (size_t i = 0; i < ncrds; i++) {
            ks_buf_printf(text, "---\n# Source: %s\n", crds[i].path);
            ks_buf_put(text, crds[i].content, crds[i].len);
            ks_buf_putc(text, '\n');
        }
    /* fmt.Fprintln(strings.TrimSpace(rel.Manifest)): the release manifest
     * ends in "\n" already, an empty one becomes a lone newline. */
    for (size_t i = 0; i < manifests.n; i++)
        print_doc(text, manifests.v[i].path, manifests.v[i].content, manifests.v[i].len);
    if (manifests.n == 0)
        ks_buf_putc(text, '\n');
    if (!opts->no_hooks)
        for (size_t i = 0; i < hooks.n; i++) {
            if (opts->skip_tests && hooks.v[i].is_test)
                continue;
            print_doc(text, hooks.v[i].path, hooks.v[i].content, hooks.v[i].len);
        }
    rc = ks_buf_error(text);
    if (rc < 0)
        goto done;
    if (opts->n_show_only > 0) {
        rc = show_only(out, ks_buf_data(&scratch), ks_buf_len(&scratch), opts);
        if (rc < 0)
            goto done;
    }
    rc = ks_buf_error(out);
    if (rc < 0)
        goto done;
    if (objects)
        rc = ks_output_objects(objects, ks_buf_data(out) + start, ks_buf_len(out) - start);
done:
    ks_buf_release(&scratch);
    free(sorted);
    entries_free(&manifests);
    entries_free(&hooks);
    return rc;
}
