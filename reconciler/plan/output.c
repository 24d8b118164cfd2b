/*
 * output.c: printing a plan as text (aligned, coloured on a terminal),
 * JSON (stable, for tools; documented in docs/cli.md) or Markdown (a
 * ready pull-request comment: summary table and collapsible per-object
 * diffs). With yaml_hunks each changed object also gets a unified diff of
 * its YAML, with Secret data masked.
 */
#include "reconciler/plan/plan.h"

#include "core/error.h"
#include "core/textdiff.h"
#include "core/yaml.h"

#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {"create", "update", "delete", "unchanged"};
static const char action_marks[] = {'+', '~', '-', '='};
static const char *const action_colors[] = {"\033[32m", "\033[33m", "\033[31m", "\033[2m"};
#define RESET "\033[0m"

int ks_plan_format_parse(enum ks_plan_format *out, const char *text)
{
    if (strcmp(text, "text") == 0)
        *out = KS_PLAN_TEXT;
    else if (strcmp(text, "json") == 0)
        *out = KS_PLAN_JSON;
    else if (strcmp(text, "markdown") == 0)
        *out = KS_PLAN_MARKDOWN;
    else
        return ks_error_set(KS_EINVALID, "unknown output format \"%s\" (text, json or markdown)",
                            text);
    return 0;
}

static void id_text(struct ks_buf *out, const struct ks_plan_change *c)
{
    ks_buf_printf(out, "%s %s%s%s", c->kind, c->namespace_, c->namespace_[0] ? "/" : "", c->name);
}

/* Secret values are replaced before any YAML of them is shown. */
static json_t *masked(const struct ks_plan_change *c, const json_t *obj)
{
    if (!obj)
        return NULL;
    json_t *copy = json_deep_copy(obj);
    if (strcmp(c->kind, "Secret") == 0) {
        static const char *const fields[] = {"data", "stringData"};
        for (int f = 0; f < 2; f++) {
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(copy, fields[f]), key, v)
                json_object_set_new(json_object_get(copy, fields[f]), key, json_string("(hidden)"));
        }
    }
    return copy;
}

static int yaml_of(struct ks_buf *out, const struct ks_plan_change *c, const json_t *obj)
{
    if (!obj)
        return 0;
    json_t *m = masked(c, obj);
    struct ks_yaml_emit_opts eo = {.sort_keys = false};
    int rc = ks_yaml_emit(out, m, &eo);
    json_decref(m);
    return rc;
}

static int hunks(struct ks_buf *out, const struct ks_plan_change *c)
{
    struct ks_buf a, b;
    ks_buf_init(&a, 16 * 1024 * 1024);
    ks_buf_init(&b, 16 * 1024 * 1024);
    int rc = yaml_of(&a, c, c->base);
    if (rc == 0)
        rc = yaml_of(&b, c, c->head);
    if (rc == 0)
        rc = ks_textdiff_unified(out, ks_buf_data(&a), ks_buf_data(&b), 3);
    ks_buf_release(&a);
    ks_buf_release(&b);
    return rc;
}

static void value_text(struct ks_buf *out, const json_t *v)
{
    if (!v || json_is_null(v)) {
        ks_buf_puts(out, "(none)");
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 120)
        ks_buf_printf(out, "%.117s...", s);
    else
        ks_buf_puts(out, s ? s : "?");
    free(s);
}

/* One line per placed Pod: where it goes and its score, or why it cannot go. */
static void placement_text(struct ks_buf *out, const json_t *placement, const char *indent)
{
    if (!json_is_object(placement))
        return;
    ks_buf_printf(out,
                  "%splacement over %lld node(s): %lld bound, %lld nominated, %lld unschedulable\n",
                  indent, (long long)json_integer_value(json_object_get(placement, "nodes")),
                  (long long)json_integer_value(json_object_get(placement, "bound")),
                  (long long)json_integer_value(json_object_get(placement, "nominated")),
                  (long long)json_integer_value(json_object_get(placement, "unschedulable")));
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(placement, "placements"), i, p)
    {
        const char *pod = json_string_value(json_object_get(p, "pod"));
        const char *node = json_string_value(json_object_get(p, "node"));
        const char *msg = json_string_value(json_object_get(p, "message"));
        if (node)
            ks_buf_printf(out, "%s  Pod %s -> %s (score %lld)\n", indent, pod, node,
                          (long long)json_integer_value(json_object_get(p, "score")));
        else
            ks_buf_printf(out, "%s  Pod %s: %s\n", indent, pod, msg ? msg : "unschedulable");
    }
}

static int render_text(struct ks_buf *out, const struct ks_plan *plan,
                       const struct ks_plan_render_opts *o)
{
    if (o->title)
        ks_buf_printf(out, "%s\n", o->title);
    ks_buf_printf(out, "%zu to create, %zu to update, %zu to delete, %zu unchanged\n",
                  plan->n_create, plan->n_update, plan->n_delete, plan->n_unchanged);
    for (size_t i = 0; i < plan->count; i++) {
        const struct ks_plan_change *c = &plan->changes[i];
        if (c->action == KS_PLAN_UNCHANGED)
            continue;
        size_t mark = ks_buf_len(out);
        if (o->color)
            ks_buf_puts(out, action_colors[c->action]);
        ks_buf_printf(out, "  %c ", action_marks[c->action]);
        id_text(out, c);
        if (o->color)
            ks_buf_puts(out, RESET);
        size_t width = ks_buf_len(out) - mark - (o->color ? strlen(RESET) + 5 : 0);
        if (c->source[0])
            ks_buf_printf(out, "%*s%s", width < 56 ? (int)(56 - width) : 1, "", c->source);
        ks_buf_putc(out, '\n');
        size_t j;
        json_t *f;
        json_array_foreach(c->fields, j, f)
        {
            ks_buf_printf(out, "      %s: ", json_string_value(json_object_get(f, "path")));
            value_text(out, json_object_get(f, "old"));
            ks_buf_puts(out, " -> ");
            value_text(out, json_object_get(f, "new"));
            ks_buf_putc(out, '\n');
        }
        if (o->yaml_hunks) {
            hunks(out, c);
        }
    }
    size_t j;
    json_t *w;
    json_array_foreach(plan->warnings, j, w)
        ks_buf_printf(out, "warning: %s\n", json_string_value(w));
    placement_text(out, plan->placement, "");
    return ks_buf_error(out);
}

static int render_json(struct ks_buf *out, const struct ks_plan *plan,
                       const struct ks_plan_render_opts *o)
{
    json_t *doc = o->meta ? json_deep_copy(o->meta) : json_object();
    json_object_set_new(doc, "summary",
                        json_pack("{s:I, s:I, s:I, s:I}", "create", (json_int_t)plan->n_create,
                                  "update", (json_int_t)plan->n_update, "delete",
                                  (json_int_t)plan->n_delete, "unchanged",
                                  (json_int_t)plan->n_unchanged));
    json_t *changes = json_array();
    int rc = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const struct ks_plan_change *c = &plan->changes[i];
        if (c->action == KS_PLAN_UNCHANGED)
            continue;
        json_t *jc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "action", action_names[c->action],
                               "kind", c->kind, "namespace", c->namespace_, "name", c->name,
                               "source", c->source, "wave", c->wave);
        if (c->fields)
            json_object_set(jc, "fields", c->fields);
        if (o->yaml_hunks) {
            struct ks_buf h;
            ks_buf_init(&h, 16 * 1024 * 1024);
            rc = hunks(&h, c);
            json_object_set_new(jc, "diff", json_string(ks_buf_data(&h)));
            ks_buf_release(&h);
        }
        json_array_append_new(changes, jc);
    }
    json_object_set_new(doc, "changes", changes);
    json_object_set(doc, "warnings", plan->warnings);
    if (plan->placement)
        json_object_set(doc, "placement", plan->placement);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (!text)
        return ks_error_set(KS_ENOMEM, "out of memory");
    ks_buf_puts(out, text);
    ks_buf_putc(out, '\n');
    free(text);
    return rc ? rc : ks_buf_error(out);
}

static int render_markdown(struct ks_buf *out, const struct ks_plan *plan,
                           const struct ks_plan_render_opts *o)
{
    ks_buf_printf(out, "### %s\n\n", o->title ? o->title : "keelson plan");
    ks_buf_printf(out,
                  "| create | update | delete | unchanged |\n|---:|---:|---:|---:|\n"
                  "| %zu | %zu | %zu | %zu |\n\n",
                  plan->n_create, plan->n_update, plan->n_delete, plan->n_unchanged);
    for (size_t i = 0; i < plan->count; i++) {
        const struct ks_plan_change *c = &plan->changes[i];
        if (c->action == KS_PLAN_UNCHANGED)
            continue;
        ks_buf_printf(out, "<details><summary><code>%c</code> %s <b>", action_marks[c->action],
                      action_names[c->action]);
        id_text(out, c);
        ks_buf_printf(out, "</b>%s%s</summary>\n\n```diff\n", c->source[0] ? " from " : "",
                      c->source);
        hunks(out, c);
        ks_buf_puts(out, "```\n\n</details>\n\n");
    }
    size_t j;
    json_t *w;
    json_array_foreach(plan->warnings, j, w)
        ks_buf_printf(out, "> warning: %s\n", json_string_value(w));
    if (json_is_object(plan->placement)) {
        ks_buf_puts(out, "\n```\n");
        placement_text(out, plan->placement, "");
        ks_buf_puts(out, "```\n");
    }
    return ks_buf_error(out);
}

int ks_plan_render(struct ks_buf *out, const struct ks_plan *plan,
                   const struct ks_plan_render_opts *opts)
{
    struct ks_plan_render_opts defaults = {0};
    const struct ks_plan_render_opts *o = opts ? opts : &defaults;
    switch (o->format) {
    case KS_PLAN_JSON:
        return render_json(out, plan, o);
    case KS_PLAN_MARKDOWN:
        return render_markdown(out, plan, o);
    default:
        return render_text(out, plan, o);
    }
}
