/*
 * pages.c: the dashboard's HTML pages, rendered from the model on the
 * server side: the overview (index.html) and one page per deploy commit
 * (commits/<sha>.html). Every table is plain HTML so the pages read the
 * same without JavaScript, on a phone (tables scroll sideways) and in a
 * screen reader (captions, th scope, labelled controls). All repository
 * text goes through ks_html_escape.
 */
#include "reconciler/dashboard/internal.h"
#include "reconciler/dashboard/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMELINE_MAX 150
#define DRIFT_MAX 20

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Scalar as text (strings, numbers, booleans); "" for the rest. */
static void put_scalar(struct ks_buf *b, const json_t *v)
{
    if (json_is_string(v))
        ks_html_escape(b, json_string_value(v));
    else if (json_is_integer(v))
        ks_buf_printf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        ks_buf_printf(b, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        ks_buf_puts(b, json_is_true(v) ? "true" : "false");
}

/* The first of several keys that is present (files written by different
 * versions may name a field differently). */
static const json_t *first_of(const json_t *obj, const char *const *keys)
{
    for (; *keys; keys++) {
        const json_t *v = json_object_get(obj, *keys);
        if (v && !json_is_null(v))
            return v;
    }
    return NULL;
}

static void put_details(struct ks_buf *b, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    ks_buf_puts(b, "<details><summary>all fields</summary><pre>");
    ks_html_escape(b, text);
    ks_buf_puts(b, "</pre></details>");
    free(text);
}

static void page_head(struct ks_buf *b, const char *title, const char *root, int live)
{
    ks_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>");
    ks_html_escape(b, title);
    ks_buf_printf(b,
                  "</title><link rel=\"stylesheet\" href=\"%sstyle.css\"></head>\n"
                  "<body data-live=\"%d\" data-root=\"%s\"><header><a class=\"brand\" "
                  "href=\"%sindex.html\">keelson</a> <span>",
                  root, live, root, root);
    ks_html_escape(b, title);
    ks_buf_puts(b, "</span></header><main>\n");
}

static void page_foot(struct ks_buf *b, const json_t *model, const char *root)
{
    ks_buf_puts(b, "</main><footer>Built from the repository history at ");
    ks_html_time(b, json_integer_value(json_object_get(model, "generated")));
    ks_buf_printf(b,
                  " &middot; <a href=\"%sdata.json\">data.json</a></footer>"
                  "<script src=\"%sapp.js\"></script></body></html>\n",
                  root, root);
}

static void health_badge(struct ks_buf *b, const char *health)
{
    ks_buf_puts(b, "<span class=\"badge h-");
    for (const char *p = health; *p; p++) /* letters only: it is a class name */
        if (*p >= 'A' && *p <= 'Z')
            ks_buf_putc(b, (char)(*p - 'A' + 'a'));
        else if (*p >= 'a' && *p <= 'z')
            ks_buf_putc(b, *p);
    ks_buf_puts(b, "\">");
    ks_html_escape(b, *health ? health : "Unknown");
    ks_buf_puts(b, "</span>");
}

static void commit_link(struct ks_buf *b, const char *sha, const char *root)
{
    if (!sha || strlen(sha) < 7) {
        ks_html_escape(b, sha);
        return;
    }
    ks_buf_printf(b, "<a href=\"%scommits/%.40s.html\"><code>%.7s</code></a>", root, sha, sha);
}

static void section_sync(struct ks_buf *b, const json_t *model)
{
    const json_t *sync = json_object_get(model, "sync");
    static const char *const source_keys[] = {"source", "commit", "sourceCommit", NULL};
    ks_buf_puts(b, "<section aria-labelledby=\"s-sync\"><h2 id=\"s-sync\">Current sync</h2>");
    if (!json_is_object(sync)) {
        ks_buf_puts(b, "<p>No sync recorded on the status branch yet.</p></section>\n");
        return;
    }
    const json_t *src = first_of(sync, source_keys);
    const char *sha = json_string_value(src);
    const json_t *deploy = NULL;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(model, "deploys"), i,
                       d) if (sha && strcmp(str(d, "sha"), sha) == 0)
    {
        deploy = d;
        break;
    }
    const char *result = str(sync, "result");
    ks_buf_puts(b, "<dl class=\"facts\"><dt>Result</dt><dd>");
    health_badge(b, strcmp(result, "failed") == 0 ? "Degraded" : "Healthy");
    ks_buf_puts(b, " ");
    ks_html_escape(b, result);
    ks_buf_puts(b, "</dd><dt>Commit</dt><dd>");
    commit_link(b, sha, "");
    if (deploy) {
        ks_buf_puts(b, " ");
        ks_html_escape(b, str(deploy, "subject"));
        ks_buf_puts(b, "</dd><dt>Author</dt><dd>");
        ks_html_escape(b, str(deploy, "author"));
        ks_buf_puts(b, "</dd><dt>Committed</dt><dd>");
        ks_html_time(b, json_integer_value(json_object_get(deploy, "time")));
    }
    const json_t *err = json_object_get(sync, "error");
    if (json_is_string(err) && *json_string_value(err)) {
        ks_buf_puts(b, "</dd><dt>Error</dt><dd><code class=\"error\">");
        ks_html_escape(b, json_string_value(err));
        ks_buf_puts(b, "</code>");
    }
    ks_buf_puts(b, "</dd></dl>");
    put_details(b, sync);
    ks_buf_puts(b, "</section>\n");
}

static void filter_box(struct ks_buf *b, const char *id, const char *what)
{
    ks_buf_printf(
        b,
        "<p class=\"filter\"><label for=\"f-%s\">Filter %s</label> <input type=\"search\" "
        "id=\"f-%s\" data-filter=\"t-%s\"></p>",
        id, what, id, id);
}

static void section_objects(struct ks_buf *b, const json_t *model)
{
    static const char *const health_keys[] = {"health", "status", NULL};
    static const char *const reason_keys[] = {"reason", "message", NULL};
    const json_t *objects = json_object_get(model, "objects");
    ks_buf_puts(b, "<section aria-labelledby=\"s-obj\"><h2 id=\"s-obj\">Objects</h2>");
    filter_box(b, "obj", "objects");
    ks_buf_puts(b, "<div class=\"scroll\"><table id=\"t-obj\"><caption>Observed objects and their "
                   "health</caption><thead><tr><th scope=\"col\">Kind</th><th "
                   "scope=\"col\">Namespace</th><th scope=\"col\">Name</th><th "
                   "scope=\"col\">Health</th><th scope=\"col\">Reason</th><th "
                   "scope=\"col\">Details</th></tr></thead><tbody>");
    size_t i;
    json_t *o;
    json_array_foreach(objects, i, o)
    {
        const json_t *health = first_of(o, health_keys);
        const json_t *reason = first_of(o, reason_keys);
        if (json_is_object(health)) { /* {status, reason} as writeback writes it */
            if (!reason)
                reason = first_of(health, reason_keys);
            health = json_object_get(health, "status");
        }
        ks_buf_puts(b, "<tr><td>");
        ks_html_escape(b, str(o, "kind"));
        ks_buf_puts(b, "</td><td>");
        ks_html_escape(b, str(o, "namespace"));
        ks_buf_puts(b, "</td><th scope=\"row\">");
        ks_html_escape(b, str(o, "name"));
        ks_buf_puts(b, "</th><td>");
        health_badge(b, json_is_string(health) ? json_string_value(health) : "");
        ks_buf_puts(b, "</td><td>");
        put_scalar(b, reason);
        ks_buf_puts(b, "</td><td>");
        put_details(b, o);
        ks_buf_puts(b, "</td></tr>");
    }
    ks_buf_puts(b, "</tbody></table></div>");
    if (json_array_size(objects) == 0)
        ks_buf_puts(b, "<p>No object status recorded yet.</p>");
    ks_buf_puts(b, "</section>\n");
}

static void section_nodes(struct ks_buf *b, const json_t *model)
{
    static const char *const ready_keys[] = {"ready", "status", "condition", NULL};
    const json_t *nodes = json_object_get(model, "nodes");
    ks_buf_puts(b, "<section aria-labelledby=\"s-nodes\"><h2 id=\"s-nodes\">Nodes</h2>"
                   "<div class=\"scroll\"><table><caption>Nodes, capacity and pods</caption>"
                   "<thead><tr><th scope=\"col\">Node</th><th scope=\"col\">Ready</th><th "
                   "scope=\"col\">CPU</th><th scope=\"col\">Memory</th><th "
                   "scope=\"col\">Pods</th><th scope=\"col\">Details</th></tr></thead><tbody>");
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const json_t *cap = json_object_get(n, "capacity");
        const json_t *pods = json_object_get(n, "pods");
        const char *path = str(n, "_path");
        const char *slash = strrchr(path, '/');
        ks_buf_puts(b, "<tr><th scope=\"row\">");
        if (json_object_get(n, "name"))
            ks_html_escape(b, str(n, "name"));
        else if (slash) {
            struct ks_buf name;
            ks_buf_init(&name, 512);
            ks_buf_puts(&name, slash + 1);
            char *text = ks_buf_detach(&name, NULL);
            char *dot = text ? strrchr(text, '.') : NULL;
            if (dot)
                *dot = '\0';
            ks_html_escape(b, text);
            free(text);
        }
        ks_buf_puts(b, "</th><td>");
        put_scalar(b, first_of(n, ready_keys));
        ks_buf_puts(b, "</td><td>");
        put_scalar(b, json_object_get(cap, "cpu"));
        ks_buf_puts(b, "</td><td>");
        put_scalar(b, json_object_get(cap, "memory"));
        ks_buf_puts(b, "</td><td>");
        if (json_is_array(pods))
            ks_buf_printf(b, "%zu", json_array_size(pods));
        else
            put_scalar(b, pods);
        ks_buf_puts(b, "</td><td>");
        put_details(b, n);
        ks_buf_puts(b, "</td></tr>");
    }
    ks_buf_puts(b, "</tbody></table></div>");
    if (json_array_size(nodes) == 0)
        ks_buf_puts(b, "<p>No node status recorded yet.</p>");
    ks_buf_puts(b, "</section>\n");
}

/* The event's kind as one of a fixed set: it becomes a CSS class, so
 * trailer text from the repository never reaches markup unescaped. */
static const char *event_kind(const json_t *e)
{
    static const char *const known[] = {"sync", "drift", "health", "node", NULL};
    const char *kind = str(e, "event");
    for (const char *const *p = known; *p; p++)
        if (strcmp(kind, *p) == 0)
            return *p;
    return "other";
}

static void event_row(struct ks_buf *b, const json_t *e, const char *kind, const char *root)
{
    ks_buf_printf(b, "<tr class=\"ev-%s\"><td>", kind);
    ks_html_time(b, json_integer_value(json_object_get(e, "time")));
    ks_buf_printf(b, "</td><td><span class=\"kind k-%s\">%s</span></td><td>", kind, kind);
    if (strcmp(kind, "deploy") == 0) {
        commit_link(b, str(e, "sha"), root);
        ks_buf_puts(b, " ");
        ks_html_escape(b, str(e, "subject"));
        ks_buf_puts(b, " <span class=\"who\">by ");
        ks_html_escape(b, str(e, "author"));
        ks_buf_puts(b, "</span>");
    } else {
        ks_html_escape(b, str(e, "subject"));
        const char *source = str(e, "source");
        if (*source) {
            ks_buf_puts(b, " <span class=\"who\">for ");
            commit_link(b, source, root);
            ks_buf_puts(b, "</span>");
        }
    }
    ks_buf_puts(b, "</td></tr>");
}

static void section_drift(struct ks_buf *b, const json_t *model)
{
    ks_buf_puts(b, "<section aria-labelledby=\"s-drift\"><h2 id=\"s-drift\">Recent drift</h2>"
                   "<div class=\"scroll\"><table><caption>Drift found on the nodes, newest "
                   "first</caption><thead><tr><th scope=\"col\">When</th><th "
                   "scope=\"col\">Event</th><th scope=\"col\">What</th></tr></thead><tbody>");
    size_t i, shown = 0;
    json_t *e;
    json_array_foreach(json_object_get(model, "events"), i, e)
    {
        if (shown >= DRIFT_MAX || strcmp(str(e, "event"), "drift") != 0)
            continue;
        event_row(b, e, "drift", "");
        shown++;
    }
    ks_buf_puts(b, "</tbody></table></div>");
    if (!shown)
        ks_buf_puts(b, "<p>No drift recorded.</p>");
    ks_buf_puts(b, "</section>\n");
}

static void section_charts(struct ks_buf *b, const json_t *model)
{
    ks_buf_puts(b, "<section aria-labelledby=\"s-charts\"><h2 id=\"s-charts\">Trends</h2>"
                   "<div class=\"charts\">");
    ks_svg_bars(b, json_object_get(model, "commit_to_running"), "short", "seconds",
                "Commit to running, per deploy commit", " s");
    ks_svg_bars(b, json_object_get(model, "drift_per_day"), "day", "count", "Drift events per day",
                "");
    ks_buf_puts(b, "</div></section>\n");
}

/* Deploy commits and status events interleaved, newest first. */
static void section_timeline(struct ks_buf *b, const json_t *model)
{
    const json_t *deploys = json_object_get(model, "deploys");
    const json_t *events = json_object_get(model, "events");
    size_t di = 0, ei = 0, shown = 0;
    ks_buf_puts(b, "<section aria-labelledby=\"s-tl\"><h2 id=\"s-tl\">Timeline</h2>");
    filter_box(b, "tl", "timeline");
    ks_buf_puts(b, "<div class=\"scroll\"><table id=\"t-tl\"><caption>Deploy commits and status "
                   "events, newest first</caption><thead><tr><th scope=\"col\">When</th><th "
                   "scope=\"col\">Event</th><th scope=\"col\">What</th></tr></thead><tbody>");
    while (shown < TIMELINE_MAX &&
           (di < json_array_size(deploys) || ei < json_array_size(events))) {
        const json_t *d = json_array_get(deploys, di), *e = json_array_get(events, ei);
        if (d && (!e || json_integer_value(json_object_get(d, "time")) >=
                            json_integer_value(json_object_get(e, "time")))) {
            event_row(b, d, "deploy", "");
            di++;
        } else {
            event_row(b, e, event_kind(e), "");
            ei++;
        }
        shown++;
    }
    ks_buf_puts(b, "</tbody></table></div></section>\n");
}

int ks_dashboard_page_index(struct ks_buf *b, const json_t *model, int live)
{
    char title[300];
    snprintf(title, sizeof(title), "%s", str(model, "branch"));
    page_head(b, title, "", live);
    section_sync(b, model);
    section_objects(b, model);
    section_nodes(b, model);
    section_drift(b, model);
    section_charts(b, model);
    section_timeline(b, model);
    page_foot(b, model, "");
    return ks_buf_error(b);
}

int ks_dashboard_page_commit(struct ks_buf *b, const json_t *model, const json_t *deploy, int live)
{
    const char *sha = str(deploy, "sha");
    const json_t *plan = json_object_get(json_object_get(model, "plans"), sha);
    char title[80];
    snprintf(title, sizeof(title), "commit %.7s", sha);
    page_head(b, title, "../", live);
    ks_buf_puts(b, "<section aria-labelledby=\"s-c\"><h2 id=\"s-c\">");
    ks_html_escape(b, str(deploy, "subject"));
    ks_buf_puts(b, "</h2><dl class=\"facts\"><dt>Commit</dt><dd><code>");
    ks_html_escape(b, sha);
    ks_buf_puts(b, "</code></dd><dt>Author</dt><dd>");
    ks_html_escape(b, str(deploy, "author"));
    ks_buf_puts(b, " &lt;");
    ks_html_escape(b, str(deploy, "email"));
    ks_buf_puts(b, "&gt;</dd><dt>Committed</dt><dd>");
    ks_html_time(b, json_integer_value(json_object_get(deploy, "time")));
    ks_buf_puts(b, "</dd></dl>");
    if (*str(deploy, "body")) {
        ks_buf_puts(b, "<pre class=\"message\">");
        ks_html_escape(b, str(deploy, "body"));
        ks_buf_puts(b, "</pre>");
    }
    ks_buf_puts(b, "</section><section aria-labelledby=\"s-plan\"><h2 id=\"s-plan\">What this "
                   "commit produced</h2>");
    if (json_is_object(plan)) {
        ks_buf_puts(b, "<dl class=\"facts\"><dt>Result</dt><dd>");
        ks_html_escape(b, str(plan, "result"));
        ks_buf_puts(b, "</dd><dt>Recorded</dt><dd>");
        ks_html_time(b, json_integer_value(json_object_get(plan, "status_time")));
        ks_buf_puts(b, "</dd></dl>");
        put_details(b, plan);
    } else {
        ks_buf_puts(b, "<p>No sync of this commit is recorded on the status branch.</p>");
    }
    ks_buf_puts(b, "</section><section aria-labelledby=\"s-ev\"><h2 id=\"s-ev\">Status events for "
                   "this commit</h2><div class=\"scroll\"><table><caption>Events whose "
                   "Keelson-Source is this commit</caption><thead><tr><th scope=\"col\">When</th>"
                   "<th scope=\"col\">Event</th><th scope=\"col\">What</th></tr></thead><tbody>");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(model, "events"), i,
                       e) if (strcmp(str(e, "source"), sha) == 0)
        event_row(b, e, event_kind(e), "../");
    ks_buf_puts(b, "</tbody></table></div></section>\n");
    page_foot(b, model, "../");
    return ks_buf_error(b);
}
