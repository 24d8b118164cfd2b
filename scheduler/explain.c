/*
 * explain.c: why a pod went where it went, in kube-scheduler's words.
 * Filter failures are counted per distinct reason during the cycle; an
 * unschedulable pod gets FitError's text, "0/5 nodes are available:
 * 2 Insufficient memory, 3 node(s) had untolerated taint {dedicated: db}."
 * (entries "count reason" sorted as strings, then the preemption summary),
 * and every result converts to JSON for the plan output.
 */
#include "scheduler/internal.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_LIMIT (64 * 1024)

int ks_sched_reason_add(struct ks_sched *s, uint8_t code, uint64_t arg, uint32_t count)
{
    int rc;
    for (uint32_t i = 0; i < s->nreasons; i++) {
        if (s->reasons[i].code == code && s->reasons[i].arg == arg) {
            s->reasons[i].count += count;
            return 0;
        }
    }
    if ((rc = ks_sched_grow_array((void **)&s->reasons, &s->reasons_cap, s->nreasons + 1,
                                  sizeof(*s->reasons))))
        return rc;
    s->reasons[s->nreasons++] = (struct reason){code, arg, count};
    return 0;
}

int ks_sched_explain_reason_text(char *dst, size_t cap, const struct ks_sched *s,
                                 const struct reason *r)
{
    static const char *const text[F_NCODES] = {
        [F_UNSCHEDULABLE] = "node(s) were unschedulable",
        [F_PREFILTER_AFFINITY] = "node(s) didn't satisfy plugin(s) [NodeAffinity]",
        [F_NODE_AFFINITY] = "node(s) didn't match Pod's node affinity/selector",
        [F_PORTS] = "node(s) didn't have free ports for the requested pod ports",
        [F_SPREAD_LABEL] =
            "node(s) didn't match pod topology spread constraints (missing required label)",
        [F_SPREAD] = "node(s) didn't match pod topology spread constraints",
        [F_AFFINITY] = "node(s) didn't match pod affinity rules",
        [F_ANTI] = "node(s) didn't match pod anti-affinity rules",
        [F_ANTI_EXISTING] = "node(s) didn't satisfy existing pods anti-affinity rules",
    };
    if (r->code == F_TAINT)
        return snprintf(dst, cap, "node(s) had untolerated taint {%s: %s}",
                        s->st.strs[r->arg >> 32], s->st.strs[r->arg & 0xffffffffu]);
    if (r->code == F_FIT)
        return snprintf(dst, cap, "%s",
                        r->arg == 1   ? "Too many pods"
                        : r->arg == 2 ? "Insufficient cpu"
                                      : "Insufficient memory");
    return snprintf(dst, cap, "%s", r->code < F_NCODES && text[r->code] ? text[r->code] : "?");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/N nodes are available: a, b." with the entries sorted as strings. */
static int format_counts(struct ks_buf *b, uint32_t total, char **entries, size_t n)
{
    qsort(entries, n, sizeof(char *), cmp_str);
    ks_buf_printf(b, "0/%u nodes are available: ", total);
    for (size_t i = 0; i < n; i++)
        ks_buf_printf(b, "%s%s", i ? ", " : "", entries[i]);
    ks_buf_putc(b, '.');
    return ks_buf_error(b);
}

static void free_entries(char **e, size_t n)
{
    for (size_t i = 0; e && i < n; i++)
        free(e[i]);
    free(e);
}

int ks_sched_explain_fit_error(struct ks_sched_result *r, struct ks_sched *s, uint32_t total,
                               const char *postfilter)
{
    int rc = 0;
    struct ks_buf b;
    char **entries = NULL;
    size_t n = 0;
    ks_buf_init(&b, MESSAGE_LIMIT);
    if (!total) {
        ks_buf_puts(&b, "no nodes available to schedule pods");
    } else {
        if (s->nreasons && !(entries = calloc(s->nreasons, sizeof(char *)))) {
            rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
            goto done;
        }
        for (; n < s->nreasons; n++) {
            char text[KS_SCHED_MAX_STRING * 2 + 64];
            ks_sched_explain_reason_text(text, sizeof(text), s, &s->reasons[n]);
            if (!(entries[n] = malloc(strlen(text) + 16))) {
                rc = ks_error_set(KS_ENOMEM, "scheduler: out of memory");
                goto done;
            }
            snprintf(entries[n], strlen(text) + 16, "%u %s", s->reasons[n].count, text);
        }
        format_counts(&b, total, entries, n);
    }
    /* with no nodes at all kube-scheduler says only that: there is nothing to preempt on */
    if (postfilter && total)
        ks_buf_printf(&b, " %s", postfilter);
    if ((rc = ks_buf_error(&b)))
        goto done;
    free(r->message);
    r->message = ks_buf_detach(&b, NULL);
done:
    free_entries(entries, n);
    ks_buf_release(&b);
    return rc;
}

/* "preemption: 0/N nodes are available: 2 No preemption victims found for
 * incoming pod, 3 Preemption is not helpful for scheduling." */
int ks_sched_explain_preemption(char **out, uint32_t total, uint32_t no_victims,
                                uint32_t not_helpful)
{
    int rc;
    struct ks_buf b;
    char e1[96], e2[96], *entries[2];
    size_t n = 0;
    ks_buf_init(&b, MESSAGE_LIMIT);
    if (no_victims) {
        snprintf(e1, sizeof(e1), "%u No preemption victims found for incoming pod", no_victims);
        entries[n++] = e1;
    }
    if (not_helpful) {
        snprintf(e2, sizeof(e2), "%u Preemption is not helpful for scheduling", not_helpful);
        entries[n++] = e2;
    }
    ks_buf_puts(&b, "preemption: ");
    if ((rc = format_counts(&b, total, entries, n))) {
        ks_buf_release(&b);
        return rc;
    }
    *out = ks_buf_detach(&b, NULL);
    return 0;
}

static const char *status_name(enum ks_sched_status st)
{
    return st == KS_SCHED_BOUND       ? "bound"
           : st == KS_SCHED_NOMINATED ? "nominated"
                                      : "unschedulable";
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *pod_ref(const struct ks_sched *s, uint32_t pod)
{
    const char *ns = ks_sched_pod_namespace(s, pod), *name = ks_sched_pod_name(s, pod);
    if (!ns || !name)
        return json_null();
    char buf[KS_SCHED_MAX_STRING * 2 + 2];
    snprintf(buf, sizeof(buf), "%s/%s", ns, name);
    return json_string(buf);
}

static int victims_json(json_t *o, const struct ks_sched *s, const struct ks_sched_result *r)
{
    json_t *arr = json_array();
    int bad = set_new(o, "victims", arr);
    for (size_t i = 0; !bad && i < r->nvictims; i++) {
        json_t *v = json_object();
        bad |= json_array_append_new(arr, v) || !v;
        bad |= set_new(v, "pod", pod_ref(s, r->victims[i].pod));
        bad |= set_new(v, "priority", json_integer(r->victims[i].priority));
        bad |= set_new(v, "gracePeriodSeconds", json_integer(r->victims[i].grace_seconds));
    }
    return bad;
}

json_t *ks_sched_result_to_json(const struct ks_sched *s, const struct ks_sched_result *r)
{
    json_t *o = json_object(), *scores = json_object(), *nodes = json_object();
    int bad = !o || !scores || !nodes;
    if (bad)
        goto done;
    bad |= set_new(o, "pod", pod_ref(s, r->pod));
    bad |= set_new(o, "status", json_string(status_name(r->status)));
    bad |= set_new(o, "node", r->node ? json_string(r->node) : json_null());
    if (r->status == KS_SCHED_BOUND) {
        bad |= set_new(o, "score", json_integer(r->score));
        for (int k = 0; k < KS_SCHED_NSCORES; k++)
            bad |= set_new(scores, ks_sched_score_name(k), json_integer(r->scores[k]));
        bad |= json_object_set(o, "scores", scores);
    }
    bad |= set_new(nodes, "total", json_integer(r->nodes_total));
    bad |= set_new(nodes, "evaluated", json_integer(r->nodes_evaluated));
    bad |= set_new(nodes, "feasible", json_integer(r->nodes_feasible));
    bad |= json_object_set(o, "nodes", nodes);
    if (r->message)
        bad |= set_new(o, "message", json_string(r->message));
    if (r->status == KS_SCHED_NOMINATED)
        bad |= victims_json(o, s, r);
done:
    json_decref(scores);
    json_decref(nodes);
    if (bad) {
        json_decref(o);
        ks_error_set(KS_ENOMEM, "scheduler: out of memory building JSON");
        return NULL;
    }
    return o;
}

json_t *ks_sched_batch_to_json(const struct ks_sched *s, const struct ks_sched_result *r, size_t n)
{
    json_t *o = json_object(), *arr = json_array();
    json_int_t count[3] = {0};
    int bad = !o || !arr || json_object_set(o, "placements", arr);
    for (size_t i = 0; !bad && i < n; i++) {
        count[r[i].status]++;
        bad |= json_array_append_new(arr, ks_sched_result_to_json(s, &r[i]));
    }
    bad |= set_new(o, "bound", json_integer(count[KS_SCHED_BOUND]));
    bad |= set_new(o, "nominated", json_integer(count[KS_SCHED_NOMINATED]));
    bad |= set_new(o, "unschedulable", json_integer(count[KS_SCHED_UNSCHEDULABLE]));
    json_decref(arr);
    if (bad) {
        json_decref(o);
        ks_error_set(KS_ENOMEM, "scheduler: out of memory building JSON");
        return NULL;
    }
    return o;
}
