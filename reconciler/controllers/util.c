/*
 * util.c: the controllers' shared helpers (see internal.h). Time is kept as
 * Unix seconds and written as RFC 3339 in UTC with a civil-date conversion
 * of our own (no timegm, no locale, no TZ). Writes go through one function
 * that compares with what was read, so a reconcile that finds everything in
 * place writes nothing and the driver loop can detect a fixed point.
 */
#include "reconciler/controllers/internal.h"

#include "core/error.h"
#include "core/object.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ks_ctl_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

int64_t ks_ctl_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void ks_ctl_civil_from_days(int64_t days, int *out_y, int *out_m, int *out_d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *out_d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *out_m = (int)m;
    *out_y = (int)(yoe + era * 400 + (m <= 2));
}

char *ks_ctl_time_format(char *dst, int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    int y, m, d;
    ks_ctl_civil_from_days(days, &y, &m, &d);
    snprintf(dst, KS_CTL_TIME_LEN, "%04d-%02d-%02dT%02lld:%02lld:%02lldZ", y, m, d,
             (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
    return dst;
}

/* n decimal digits at s into *out; false when any is not a digit. */
static bool digits(int64_t *out, const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int ks_ctl_time_parse(int64_t *out, const char *s)
{
    int64_t y, mo, d, h, mi, se, oh = 0, om = 0;
    if (!s || strlen(s) < 20 || !digits(&y, s, 4) || s[4] != '-' || !digits(&mo, s + 5, 2) ||
        s[7] != '-' || !digits(&d, s + 8, 2) || (s[10] != 'T' && s[10] != 't') ||
        !digits(&h, s + 11, 2) || s[13] != ':' || !digits(&mi, s + 14, 2) || s[16] != ':' ||
        !digits(&se, s + 17, 2) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60)
        return ks_error_set(KS_EINVALID, "time \"%.40s\": not RFC 3339", s ? s : "");
    const char *p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int sign = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1])
        sign = 0;
    else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(&oh, p + 1, 2) && p[3] == ':' &&
             digits(&om, p + 4, 2))
        sign = *p == '+' ? 1 : -1;
    else
        return ks_error_set(KS_EINVALID, "time \"%.40s\": bad zone", s);
    *out = ks_ctl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
           sign * (oh * 3600 + om * 60);
    return 0;
}

uint32_t ks_ctl_random_splitmix(void *arg)
{
    uint64_t *state = arg;
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

uint32_t ks_ctl_random(const struct ks_ctl_env *env)
{
    return env->random ? env->random(env->random_arg) : ks_ctl_random_splitmix(env->random_arg);
}

void ks_ctl_new_uid(char *dst, const struct ks_ctl_env *env)
{
    uint32_t r[4];
    for (int i = 0; i < 4; i++)
        r[i] = ks_ctl_random(env);
    snprintf(dst, 37, "%08x-%04x-4%03x-%04x-%04x%08x", (unsigned)r[0], (unsigned)(r[1] >> 16),
             (unsigned)(r[1] & 0xfff), (unsigned)(0x8000 | (r[2] >> 18)), (unsigned)(r[2] & 0xffff),
             (unsigned)r[3]);
}

json_t *ks_ctl_at(const json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(obj, a);
    return b ? json_object_get(v, b) : v;
}

const char *ks_ctl_str(const json_t *obj, const char *a, const char *b)
{
    return json_string_value(ks_ctl_at(obj, a, b));
}

const char *ks_ctl_name(const json_t *obj)
{
    const char *s = ks_ctl_str(obj, "metadata", "name");
    return s ? s : "";
}

const char *ks_ctl_namespace(const json_t *obj)
{
    const char *s = ks_ctl_str(obj, "metadata", "namespace");
    return s && *s ? s : "default";
}

const char *ks_ctl_uid(const json_t *obj)
{
    const char *s = ks_ctl_str(obj, "metadata", "uid");
    return s ? s : "";
}

int ks_ctl_int(int64_t *out, const json_t *obj, const char *a, const char *b, int64_t def,
               int64_t max)
{
    const json_t *v = ks_ctl_at(obj, a, b);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return ks_error_set(KS_EINVALID, "%s%s%s: must be a non-negative integer", a, b ? "." : "",
                            b ? b : "");
    if (json_integer_value(v) > max)
        return ks_error_set(KS_ELIMIT, "%s%s%s: %lld is above the limit %lld", a, b ? "." : "",
                            b ? b : "", (long long)json_integer_value(v), (long long)max);
    *out = json_integer_value(v);
    return 0;
}

void ks_ctl_set(json_t *obj, const char *a, const char *b, json_t *value)
{
    if (!b) {
        json_object_set_new(obj, a, value);
        return;
    }
    json_t *sub = json_object_get(obj, a);
    if (!json_is_object(sub)) {
        sub = json_object();
        json_object_set_new(obj, a, sub);
    }
    json_object_set_new(sub, b, value);
}

int ks_ctl_int_or_percent(int64_t *out, const json_t *v, int64_t total, bool round_up,
                          const char *what)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || n > 12 || s[n - 1] != '%')
        return ks_error_set(KS_EINVALID, "%s: must be a non-negative integer or a percentage",
                            what);
    char num[16];
    memcpy(num, s, n - 1);
    num[n - 1] = '\0';
    int64_t pct;
    if (ks_str_to_i64(&pct, num, what) || pct < 0)
        return ks_error_set(KS_EINVALID, "%s: bad percentage \"%s\"", what, s);
    *out = round_up ? (pct * total + 99) / 100 : pct * total / 100;
    return 0;
}

bool ks_ctl_pod_active(const json_t *pod)
{
    const char *phase = ks_ctl_str(pod, "status", "phase");
    return !phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed"));
}

static const json_t *ready_condition(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(ks_ctl_at(pod, "status", "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type && !strcmp(type, "Ready"))
            return c;
    }
    return NULL;
}

bool ks_ctl_pod_ready(const json_t *pod)
{
    const char *st = json_string_value(json_object_get(ready_condition(pod), "status"));
    return st && !strcmp(st, "True");
}

int64_t ks_ctl_pod_ready_since(const json_t *pod)
{
    int64_t t = 0;
    const char *s = json_string_value(json_object_get(ready_condition(pod), "lastTransitionTime"));
    if (!s || ks_ctl_time_parse(&t, s))
        return 0;
    return t;
}

bool ks_ctl_pod_available(const json_t *pod, int64_t min_ready, int64_t now)
{
    if (!ks_ctl_pod_ready(pod))
        return false;
    if (min_ready == 0)
        return true;
    int64_t since = ks_ctl_pod_ready_since(pod);
    return since > 0 && since + min_ready < now;
}

int64_t ks_ctl_created(const json_t *obj)
{
    int64_t t = 0;
    const char *s = ks_ctl_str(obj, "metadata", "creationTimestamp");
    if (!s || ks_ctl_time_parse(&t, s))
        return 0;
    return t;
}

const char *ks_ctl_controller_uid(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(ks_ctl_at(obj, "metadata", "ownerReferences"), i, ref)
    {
        if (json_is_true(json_object_get(ref, "controller")))
            return json_string_value(json_object_get(ref, "uid"));
    }
    return NULL;
}

json_t *ks_ctl_owner_ref(const json_t *owner)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion",
                     ks_ctl_str(owner, "apiVersion", NULL), "kind", ks_ctl_str(owner, "kind", NULL),
                     "name", ks_ctl_name(owner), "uid", ks_ctl_uid(owner), "controller", 1,
                     "blockOwnerDeletion", 1);
}

int ks_ctl_list(json_t **out, struct ks_store *store, const char *kind, const char *ns)
{
    struct ks_store_list_opts lo = {.kind = kind, .namespace_ = ns};
    return ks_store_list(out, store, &lo);
}

int ks_ctl_list_shared(json_t **out, struct ks_store *store, const char *kind, const char *ns)
{
    struct ks_store_list_opts lo = {.kind = kind, .namespace_ = ns, .shared = true};
    return ks_store_list(out, store, &lo);
}

static int64_t revision_of(const json_t *obj)
{
    int64_t rv = 0;
    const char *s = ks_ctl_str(obj, "metadata", "resourceVersion");
    if (!s || ks_str_to_i64(&rv, s, "metadata.resourceVersion"))
        return KS_STORE_ANY_REVISION;
    return rv;
}

int ks_ctl_write(bool *changed, struct ks_store *store, const json_t *prev, json_t *next)
{
    if (prev && json_equal(prev, next))
        return 0;
    int64_t rev = 0;
    int rc = ks_store_put(&rev, store, next, prev ? revision_of(prev) : KS_STORE_MUST_NOT_EXIST);
    if (rc)
        return ks_error_wrap(rc, "writing %s %s/%s", ks_ctl_str(next, "kind", NULL),
                             ks_ctl_namespace(next), ks_ctl_name(next));
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)rev);
    ks_ctl_set(next, "metadata", "resourceVersion", json_string(buf));
    *changed = true;
    return 0;
}

int ks_ctl_delete(bool *changed, struct ks_store *store, const json_t *obj)
{
    struct ks_store_key key = {ks_ctl_str(obj, "kind", NULL), ks_ctl_namespace(obj),
                               ks_ctl_name(obj)};
    if (ks_kind_is_cluster_scoped(key.kind))
        key.namespace_ = "";
    int rc = ks_store_delete(NULL, store, &key, revision_of(obj));
    if (rc == KS_ENOTFOUND)
        return 0;
    if (rc)
        return ks_error_wrap(rc, "deleting %s %s/%s", key.kind, key.namespace_, key.name);
    *changed = true;
    return 0;
}

/* Removes the controller reference naming uid (release). */
static void drop_controller_ref(json_t *obj, const char *uid)
{
    json_t *refs = ks_ctl_at(obj, "metadata", "ownerReferences");
    for (size_t i = json_array_size(refs); i-- > 0;) {
        const char *u = json_string_value(json_object_get(json_array_get(refs, i), "uid"));
        if (u && !strcmp(u, uid))
            json_array_remove(refs, i);
    }
    if (refs && json_array_size(refs) == 0)
        json_object_del(json_object_get(obj, "metadata"), "ownerReferences");
}

int ks_ctl_claim(json_t **out, bool *changed, struct ks_store *store, const json_t *owner,
                 const struct ks_selector *sel, json_t *candidates)
{
    int rc = 0;
    json_t *claimed = json_array();
    const char *uid = ks_ctl_uid(owner);
    for (size_t i = 0; i < json_array_size(candidates); i++) {
        json_t *c = json_array_get(candidates, i);
        const char *cuid = ks_ctl_controller_uid(c);
        bool matches = ks_selector_matches(sel, ks_ctl_at(c, "metadata", "labels"));
        if (cuid && strcmp(cuid, uid))
            continue; /* someone else's */
        if (!cuid && !matches)
            continue;
        if (cuid && matches) {
            json_array_append(claimed, c);
            continue;
        }
        json_t *next = json_deep_copy(c);
        if (cuid) {
            drop_controller_ref(next, uid); /* release */
        } else {
            json_t *meta = json_object_get(next, "metadata");
            json_t *refs = json_object_get(meta, "ownerReferences");
            if (!json_is_array(refs)) {
                refs = json_array();
                json_object_set_new(meta, "ownerReferences", refs);
            }
            json_array_append_new(refs, ks_ctl_owner_ref(owner)); /* adopt */
        }
        if ((rc = ks_ctl_write(changed, store, c, next))) {
            json_decref(next);
            goto done;
        }
        if (matches)
            json_array_append(claimed, next);
        json_array_set_new(candidates, i, next); /* keep the caller's list current */
    }
done:
    if (rc)
        json_decref(claimed);
    else
        *out = claimed;
    return rc;
}

int ks_ctl_array_remove(json_t *array, const json_t *item)
{
    for (size_t i = 0; i < json_array_size(array); i++)
        if (json_array_get(array, i) == item)
            return json_array_remove(array, i);
    return 0;
}

void ks_ctl_array_replace(json_t *array, const json_t *item, json_t *with)
{
    for (size_t i = 0; i < json_array_size(array); i++)
        if (json_array_get(array, i) == item) {
            json_array_set(array, i, with);
            return;
        }
}

/* ---- shared by the workload controllers --------------------------------- */

json_t *ks_ctl_condition(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

void ks_ctl_condition_del(json_t *obj, const char *type)
{
    json_t *conds = ks_ctl_at(obj, "status", "conditions");
    for (size_t i = json_array_size(conds); i-- > 0;) {
        const char *t = json_string_value(json_object_get(json_array_get(conds, i), "type"));
        if (t && !strcmp(t, type))
            json_array_remove(conds, i);
    }
}

void ks_ctl_condition_put(json_t *obj, const char *type, const char *status, const char *reason,
                          const char *message, int64_t now)
{
    char ts[KS_CTL_TIME_LEN];
    json_t *conds = ks_ctl_at(obj, "status", "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        ks_ctl_set(obj, "status", "conditions", conds);
    }
    json_t *cur = ks_ctl_condition(conds, type);
    const char *was = json_string_value(json_object_get(cur, "status"));
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "lastTransitionTime",
                  ks_ctl_time_format(ts, now), "reason", reason, "message", message ? message : "");
    if (was && !strcmp(was, status))
        json_object_set(c, "lastTransitionTime", json_object_get(cur, "lastTransitionTime"));
    if (cur && json_equal(cur, c)) {
        json_decref(c);
        return;
    }
    ks_ctl_condition_del(obj, type);
    json_array_append_new(conds, c);
}

bool ks_ctl_pod_terminating(const json_t *pod)
{
    return ks_ctl_str(pod, "metadata", "deletionTimestamp") != NULL;
}

int ks_ctl_by_creation(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int64_t ta = ks_ctl_created(a), tb = ks_ctl_created(b);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(ks_ctl_name(a), ks_ctl_name(b));
}

json_t *ks_ctl_child_meta(const json_t *owner, const char *name, const struct ks_ctl_env *env)
{
    char ts[KS_CTL_TIME_LEN], uid[37];
    ks_ctl_new_uid(uid, env);
    return json_pack("{s:s, s:s, s:s, s:s, s:[o]}", "name", name, "namespace",
                     ks_ctl_namespace(owner), "uid", uid, "creationTimestamp",
                     ks_ctl_time_format(ts, env->now), "ownerReferences", ks_ctl_owner_ref(owner));
}

json_t *ks_ctl_pod_new(const json_t *owner, const json_t *tmpl, const char *name,
                       const char *generate_name, const struct ks_ctl_env *env)
{
    json_t *meta = ks_ctl_child_meta(owner, name, env);
    if (generate_name)
        json_object_set_new(meta, "generateName", json_string(generate_name));
    json_t *labels = ks_ctl_at(tmpl, "metadata", "labels");
    json_t *ann = ks_ctl_at(tmpl, "metadata", "annotations");
    if (labels)
        json_object_set_new(meta, "labels", json_deep_copy(labels));
    if (ann)
        json_object_set_new(meta, "annotations", json_deep_copy(ann));
    json_t *spec = json_object_get(tmpl, "spec");
    return json_pack("{s:s, s:s, s:o, s:o, s:{s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                     meta, "spec", spec ? json_deep_copy(spec) : json_object(), "status", "phase",
                     "Pending");
}

int ks_ctl_pod_create(bool *changed, struct ks_store *store, json_t *pod, json_t *pods)
{
    int rc = ks_ctl_write(changed, store, NULL, pod);
    if (!rc && pods)
        json_array_append(pods, pod);
    return rc;
}

int ks_ctl_pod_remove(bool *changed, struct ks_store *store, const json_t *pod, json_t *pods)
{
    int rc = ks_ctl_delete(changed, store, pod);
    if (!rc && pods)
        ks_ctl_array_remove(pods, pod);
    return rc;
}

#define GENERATED_BASE_MAX 58 /* maxGeneratedNameLength: 63 - 5 random chars */
#define NAME_ATTEMPTS 16

int ks_ctl_generate_name(char *dst, size_t cap, struct ks_store *store, const char *kind,
                         const char *ns, const char *base, const struct ks_ctl_env *env)
{
    char prefix[GENERATED_BASE_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s-", base);
    for (int attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        char suffix[6];
        for (int i = 0; i < 5; i++)
            suffix[i] = ks_ctl_alphabet[ks_ctl_random(env) % KS_CTL_ALPHABET_LEN];
        suffix[5] = '\0';
        snprintf(dst, cap, "%s%s", prefix, suffix);
        json_t *existing = NULL;
        struct ks_store_key key = {kind, ns, dst};
        int rc = ks_store_get(&existing, store, &key);
        json_decref(existing);
        if (rc == KS_ENOTFOUND)
            return 0;
        if (rc)
            return rc;
    }
    return ks_error_set(KS_ECONFLICT, "%s %s/%s: no free generated name after %d attempts", kind,
                        ns, base, NAME_ATTEMPTS);
}

int ks_ctl_write_status(bool *changed, struct ks_store *store, const json_t *obj, json_t *st)
{
    if (json_equal(json_object_get(obj, "status"), st)) { /* unchanged: no copy to compare */
        json_decref(st);
        return 0;
    }
    json_t *next = json_deep_copy(obj);
    json_object_set_new(next, "status", st);
    int rc = ks_ctl_write(changed, store, obj, next);
    json_decref(next);
    return rc;
}

int ks_ctl_event(struct ks_store *store, const json_t *obj, const char *type, const char *reason,
                 const char *message)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s}", "type", type, "reason",
                           reason, "message", message, "object", "kind",
                           ks_ctl_str(obj, "kind", NULL) ? ks_ctl_str(obj, "kind", NULL) : "",
                           "namespace", ks_ctl_namespace(obj), "name", ks_ctl_name(obj), "uid",
                           ks_ctl_uid(obj), "source", "controllers");
    if (!ev)
        return ks_error_set(KS_ENOMEM, "out of memory");
    int rc = ks_store_event_add(store, ev);
    json_decref(ev);
    return rc;
}

int ks_ctl_selector(struct ks_selector **out, const json_t *obj)
{
    struct ks_selector *sel = NULL;
    const json_t *sel_json = ks_ctl_at(obj, "spec", "selector");
    if (!sel_json)
        return ks_error_set(KS_EINVALID, "spec.selector: missing");
    int rc = ks_selector_from_json(&sel, sel_json);
    if (rc)
        return ks_error_wrap(rc, "spec.selector");
    const json_t *labels = ks_ctl_at(ks_ctl_at(obj, "spec", "template"), "metadata", "labels");
    if (ks_selector_is_empty(sel) || !ks_selector_matches(sel, labels)) {
        ks_selector_free(sel);
        return ks_error_set(KS_EINVALID,
                            "spec.selector: empty or does not match spec.template.metadata.labels");
    }
    *out = sel;
    return 0;
}
