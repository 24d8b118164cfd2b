/*
 * plan.c: computing a plan (plan.h) by a merge walk over two sorted item
 * lists, with the field-level differences of updates and the prune rules.
 */
#include "reconciler/plan/plan.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_PRUNE_PERCENT 50u

/* Waves: 0 Namespace, 1 config and identity, 2 Service, 3 workloads, 4 rest. */
static int wave_of(const char *kind)
{
    static const char *const config[] = {"ConfigMap",
                                         "Secret",
                                         "ServiceAccount",
                                         "PriorityClass",
                                         "Role",
                                         "ClusterRole",
                                         "RoleBinding",
                                         "ClusterRoleBinding",
                                         "CustomResourceDefinition",
                                         "PersistentVolume",
                                         "PersistentVolumeClaim",
                                         NULL};
    static const char *const workloads[] = {"Pod",         "ReplicaSet", "Deployment", "DaemonSet",
                                            "StatefulSet", "Job",        "CronJob",    NULL};
    if (strcmp(kind, "Namespace") == 0)
        return 0;
    for (const char *const *k = config; *k; k++)
        if (strcmp(*k, kind) == 0)
            return 1;
    if (strcmp(kind, "Service") == 0)
        return 2;
    for (const char *const *k = workloads; *k; k++)
        if (strcmp(*k, kind) == 0)
            return 3;
    return 4;
}

static int item_cmp(const struct ks_plan_item *a, const struct ks_plan_item *b)
{
    int c = strcmp(a->kind, b->kind);
    if (!c)
        c = strcmp(a->namespace_, b->namespace_);
    if (!c)
        c = strcmp(a->name, b->name);
    return c;
}

/* ---- field-level difference ---- */

static void add_field(json_t *fields, const char *path, const json_t *old, const json_t *new_,
                      bool mask)
{
    json_t *entry = json_object();
    json_object_set_new(entry, "path", json_string(path[0] ? path : "."));
    json_object_set_new(entry, "old",
                        !old   ? json_null()
                        : mask ? json_string("(hidden)")
                               : json_deep_copy(old));
    json_object_set_new(entry, "new",
                        !new_  ? json_null()
                        : mask ? json_string("(hidden)")
                               : json_deep_copy(new_));
    json_array_append_new(fields, entry);
}

/* secret: the values below this point are Secret data and are masked. */
static void diff_values(json_t *fields, struct ks_buf *path, const json_t *a, const json_t *b,
                        bool secret);

static void diff_member(json_t *fields, struct ks_buf *path, const char *key, const json_t *a,
                        const json_t *b, bool secret)
{
    size_t mark = ks_buf_len(path);
    bool plain = key[0] && strcspn(key, ".[]/ ") == strlen(key);
    if (plain)
        ks_buf_printf(path, "%s%s", mark ? "." : "", key);
    else
        ks_buf_printf(path, "[\"%s\"]", key);
    diff_values(fields, path, a, b, secret);
    path->len = mark;
    path->data[mark] = '\0';
}

static void diff_values(json_t *fields, struct ks_buf *path, const json_t *a, const json_t *b,
                        bool secret)
{
    if (a && b && json_equal(a, b))
        return;
    if (json_is_object(a) && json_is_object(b)) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)a, key, v)
            diff_member(fields, path, key, v, json_object_get(b, key), secret);
        json_object_foreach((json_t *)b, key, v) if (!json_object_get(a, key))
            diff_member(fields, path, key, NULL, v, secret);
        return;
    }
    if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            size_t mark = ks_buf_len(path);
            ks_buf_printf(path, "[%zu]", i);
            diff_values(fields, path, json_array_get(a, i), json_array_get(b, i), secret);
            path->len = mark;
            path->data[mark] = '\0';
        }
        return;
    }
    add_field(fields, ks_buf_data(path), a, b, secret);
}

/* Secret values live under data/stringData: mask everything below them. */
static json_t *field_diff(const char *kind, const json_t *a, const json_t *b)
{
    json_t *fields = json_array();
    struct ks_buf path;
    ks_buf_init(&path, 64 * 1024);
    bool secret = strcmp(kind, "Secret") == 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
        bool mask = secret && (strcmp(key, "data") == 0 || strcmp(key, "stringData") == 0);
        ks_buf_reset(&path);
        ks_buf_puts(&path, key);
        diff_values(fields, &path, v, json_object_get(b, key), mask);
    }
    json_object_foreach((json_t *)b, key, v)
    {
        if (json_object_get(a, key))
            continue;
        bool mask = secret && (strcmp(key, "data") == 0 || strcmp(key, "stringData") == 0);
        ks_buf_reset(&path);
        ks_buf_puts(&path, key);
        diff_values(fields, &path, NULL, v, mask);
    }
    ks_buf_release(&path);
    return fields;
}

/* ---- server-filled fields ---- */

static bool empty_value(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

/* base's key takes head's (empty) value, or goes when head has none. */
static void follow_empty(json_t *base, const json_t *head, const char *key)
{
    const json_t *h = json_object_get(head, key);
    if (h)
        json_object_set_new(base, key, json_deep_copy(h));
    else
        json_object_del(base, key);
}

static const char *port_protocol(const json_t *port)
{
    const char *p = json_string_value(json_object_get(port, "protocol"));
    return p ? p : "TCP";
}

/* The control plane fills a Service's spec.clusterIP, spec.clusterIPs and
 * spec.ports[].nodePort where Git leaves them empty (reconciler/
 * controllers/services.c); like Argo CD, the plan does not count those
 * stored values as differences. A new reference: base without them. */
static json_t *service_unfilled(const json_t *base, const json_t *head)
{
    json_t *copy = json_deep_copy(base), *p;
    json_t *spec = json_object_get(copy, "spec");
    const json_t *hspec = json_object_get(head, "spec"), *q;
    size_t i, j;
    if (!json_is_object(spec))
        return copy;
    if (empty_value(json_object_get(hspec, "clusterIP")))
        follow_empty(spec, hspec, "clusterIP");
    if (empty_value(json_object_get(hspec, "clusterIPs")))
        follow_empty(spec, hspec, "clusterIPs");
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        const json_t *match = NULL;
        json_array_foreach(json_object_get(hspec, "ports"), j, q)
        {
            if (json_equal(json_object_get(p, "port"), json_object_get(q, "port")) &&
                strcmp(port_protocol(p), port_protocol(q)) == 0)
                match = q;
        }
        if (json_is_object(p) && empty_value(json_object_get(match, "nodePort")))
            follow_empty(p, match, "nodePort");
    }
    return copy;
}

/* ---- plan construction ---- */

static int push(struct ks_plan *plan, size_t *cap, enum ks_plan_action action,
                const struct ks_plan_item *base, json_t *base_obj, const struct ks_plan_item *head)
{
    if (plan->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct ks_plan_change *c = realloc(plan->changes, ncap * sizeof *c);
        if (!c)
            return ks_error_set(KS_ENOMEM, "out of memory");
        plan->changes = c;
        *cap = ncap;
    }
    const struct ks_plan_item *it = head ? head : base;
    struct ks_plan_change *c = &plan->changes[plan->count++];
    memset(c, 0, sizeof *c);
    c->action = action;
    c->kind = strdup(it->kind);
    c->namespace_ = strdup(it->namespace_);
    c->name = strdup(it->name);
    c->source = strdup(it->source ? it->source : "");
    c->wave = wave_of(it->kind);
    c->base = json_incref(base_obj);
    c->head = head ? json_incref(head->object) : NULL;
    if (head && head->hash)
        snprintf(c->hash, sizeof c->hash, "%s", head->hash);
    if (action == KS_PLAN_UPDATE)
        c->fields = field_diff(it->kind, base_obj, head->object);
    if (!c->kind || !c->namespace_ || !c->name || !c->source)
        return ks_error_set(KS_ENOMEM, "out of memory");
    return 0;
}

static bool prune_protected(const json_t *obj)
{
    const char *v = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "metadata"), "annotations"), KS_ANNOTATION_PRUNE));
    return v && strcmp(v, "false") == 0;
}

/* Apply order: creates/updates/unchanged by wave ascending, then deletes by
 * wave descending; stable within a wave (identity order). */
static int change_order(const void *a, const void *b)
{
    const struct ks_plan_change *x = a, *y = b;
    int xd = x->action == KS_PLAN_DELETE, yd = y->action == KS_PLAN_DELETE;
    if (xd != yd)
        return xd - yd;
    if (x->wave != y->wave)
        return xd ? y->wave - x->wave : x->wave - y->wave;
    int c = strcmp(x->kind, y->kind);
    if (!c)
        c = strcmp(x->namespace_, y->namespace_);
    return c ? c : strcmp(x->name, y->name);
}

static void warn(struct ks_plan *plan, const char *kind, const char *ns, const char *name,
                 const char *why)
{
    char *w = NULL;
    if (asprintf(&w, "%s %s%s%s: %s", kind, ns, ns[0] ? "/" : "", name, why) >= 0) {
        json_array_append_new(plan->warnings, json_string(w));
        free(w);
    }
}

int ks_plan_compute(struct ks_plan **out, const struct ks_plan_item *base, size_t nbase,
                    const struct ks_plan_item *head, size_t nhead, const struct ks_plan_opts *opts)
{
    int rc = 0;
    size_t cap = 0, i = 0, j = 0;
    struct ks_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return ks_error_set(KS_ENOMEM, "out of memory");
    plan->warnings = json_array();
    while ((i < nbase || j < nhead) && rc == 0) {
        int c = i >= nbase ? 1 : j >= nhead ? -1 : item_cmp(&base[i], &head[j]);
        bool review = opts && opts->review;
        if (c > 0) {
            rc = push(plan, &cap, KS_PLAN_CREATE, NULL, NULL, &head[j++]);
            plan->n_create++;
            continue;
        }
        /* same content hash: unchanged without reading the stored body */
        if (c == 0 && base[i].hash && head[j].hash && strcmp(base[i].hash, head[j].hash) == 0) {
            rc = push(plan, &cap, KS_PLAN_UNCHANGED, &base[i++], NULL, &head[j++]);
            plan->n_unchanged++;
            continue;
        }
        if (c < 0 && nhead == 0 && !review) {
            i++; /* an empty desired set never prunes: it is more likely a mistake */
            continue;
        }
        json_t *base_obj = json_incref(base[i].object);
        if (!base_obj && !(opts && opts->load)) {
            rc = ks_error_set(KS_EINVALID, "plan: no object for %s/%s", base[i].kind, base[i].name);
            break;
        }
        if (!base_obj && (rc = opts->load(&base_obj, opts->load_ctx, &base[i])))
            break;
        if (c < 0) {
            if (!review && prune_protected(base_obj)) {
                warn(plan, base[i].kind, base[i].namespace_, base[i].name,
                     "not pruned (" KS_ANNOTATION_PRUNE ": \"false\")");
                i++;
            } else {
                rc = push(plan, &cap, KS_PLAN_DELETE, &base[i++], base_obj, NULL);
                plan->n_delete++;
            }
        } else {
            if (!review && strcmp(head[j].kind, "Service") == 0) {
                json_t *unfilled = service_unfilled(base_obj, head[j].object);
                json_decref(base_obj);
                if (!(base_obj = unfilled)) {
                    rc = ks_error_set(KS_ENOMEM, "out of memory");
                    break;
                }
            }
            bool same = json_equal(base_obj, head[j].object);
            rc = push(plan, &cap, same ? KS_PLAN_UNCHANGED : KS_PLAN_UPDATE, &base[i++], base_obj,
                      &head[j++]);
            if (same)
                plan->n_unchanged++;
            else
                plan->n_update++;
        }
        json_decref(base_obj);
    }
    if (rc == 0 && nhead == 0 && nbase > 0 && !(opts && opts->review))
        json_array_append_new(
            plan->warnings, json_string("the desired set is empty: nothing is pruned (an empty "
                                        "render is treated as a mistake, not as \"delete all\")"));
    unsigned pct =
        opts && opts->max_prune_percent ? opts->max_prune_percent : DEFAULT_MAX_PRUNE_PERCENT;
    if (rc == 0 && plan->n_delete > 1 && plan->n_delete * 100 > (size_t)pct * nbase &&
        !(opts && (opts->allow_mass_prune || opts->review)))
        rc = ks_error_set(KS_EINVALID,
                          "the plan deletes %zu of %zu managed objects, more than %u%%; "
                          "re-run with --allow-mass-prune if that is intended",
                          plan->n_delete, nbase, pct);
    if (rc) {
        ks_plan_free(plan);
        return rc;
    }
    qsort(plan->changes, plan->count, sizeof *plan->changes, change_order);
    *out = plan;
    return 0;
}

void ks_plan_free(struct ks_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->count; i++) {
        struct ks_plan_change *c = &plan->changes[i];
        free(c->kind);
        free(c->namespace_);
        free(c->name);
        free(c->source);
        json_decref(c->base);
        json_decref(c->head);
        json_decref(c->fields);
    }
    free(plan->changes);
    json_decref(plan->warnings);
    json_decref(plan->placement);
    free(plan);
}

int ks_plan_items_from_set(struct ks_plan_item **out, const struct ks_desired_set *set)
{
    struct ks_plan_item *items = calloc(set->count ? set->count : 1, sizeof *items);
    if (!items)
        return ks_error_set(KS_ENOMEM, "out of memory");
    for (size_t i = 0; i < set->count; i++) {
        const struct ks_desired_object *o = &set->objects[i];
        items[i] =
            (struct ks_plan_item){o->kind, o->namespace_, o->name, o->object, o->source, o->hash};
    }
    *out = items;
    return 0;
}
