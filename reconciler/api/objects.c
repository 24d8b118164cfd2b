/*
 * objects.c: the admin read API over the store: list objects of a kind (in
 * all namespaces or one, with an optional label selector), get one object,
 * list sync records and events, get one sync record (among the last
 * RECORDS_MAX the store lists: a client waits on a recent one).
 *
 * Lists carry the store revision read BEFORE the list, so "list, then
 * watch since that revision" can repeat a change but never miss one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/labels.h"
#include "core/str.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define RECORDS_DEFAULT 100
#define RECORDS_MAX 1000

static void list_objects(struct api_req *r, const char *ns, const char *kind)
{
    struct ks_selector *sel = NULL;
    json_t *items = NULL;
    const char *selector = api_query(r, "labelSelector");
    int64_t rev = 0;
    size_t limit = 0;
    int rc;
    if (api_query(r, "limit") &&
        (rc = api_query_limit(&limit, r, KS_STORE_LIST_MAX, KS_STORE_LIST_MAX)) != 0)
        goto done;
    if (selector && (rc = ks_selector_parse(&sel, selector)) != 0) {
        rc = ks_error_wrap(rc, "labelSelector");
        goto done;
    }
    struct ks_store_list_opts lo = {.kind = kind, .namespace_ = ns, .labels = sel, .limit = limit};
    if ((rc = ks_store_revision(&rev, r->srv->store)) != 0 ||
        (rc = ks_store_list(&items, r->srv->store, &lo)) != 0)
        goto done;
    api_reply(r, 200, json_pack("{s:I, s:o}", "revision", (json_int_t)rev, "items", items));
    items = NULL;
done:
    if (rc)
        api_reply_ks_error(r, rc);
    ks_selector_free(sel);
}

static void get_object(struct api_req *r, const char *ns, const char *kind, const char *name)
{
    struct ks_store_key key = {kind, ns, name};
    json_t *obj = NULL;
    int rc = ks_store_get(&obj, r->srv->store, &key);
    if (rc)
        api_reply_ks_error(r, rc);
    else
        api_reply(r, 200, obj);
}

void api_objects_handle(struct api_req *r)
{
    if (r->method != EVHTTP_REQ_GET) {
        api_reply_error(r, 405, "objects: only GET (the store is written through Git)");
        return;
    }
    /* seg: api v1 objects KIND [NAME] | api v1 namespaces NS objects KIND [NAME] */
    if (strcmp(r->seg[2], "objects") == 0 && r->nseg == 4)
        list_objects(r, NULL, r->seg[3]);
    else if (strcmp(r->seg[2], "objects") == 0 && r->nseg == 5)
        get_object(r, "", r->seg[3], r->seg[4]);
    else if (r->nseg == 6 && strcmp(r->seg[4], "objects") == 0)
        list_objects(r, r->seg[3], r->seg[5]);
    else if (r->nseg == 7 && strcmp(r->seg[4], "objects") == 0)
        get_object(r, r->seg[3], r->seg[5], r->seg[6]);
    else
        api_reply_error(r, 404, "no such endpoint: %s", evhttp_request_get_uri(r->req));
}

/* GET /api/v1/kinds: the kinds the store holds, sorted. */
void api_kinds_handle(struct api_req *r)
{
    json_t *kinds = NULL;
    int rc;
    if (r->method != EVHTTP_REQ_GET) {
        api_reply_error(r, 405, "kinds: only GET");
        return;
    }
    if ((rc = ks_store_list_kinds(&kinds, r->srv->store)) != 0)
        api_reply_ks_error(r, rc);
    else
        api_reply(r, 200, json_pack("{s:o}", "items", kinds));
}

static void get_sync(struct api_req *r, const char *id_s)
{
    json_t *items = NULL, *rec;
    int64_t id = 0;
    size_t i;
    if (ks_str_to_i64(&id, id_s, "sync id") != 0 || id < 1) {
        api_reply_error(r, 400, "sync id: want a positive integer, got \"%s\"", id_s);
        return;
    }
    int rc = ks_store_syncs_list(&items, r->srv->store, RECORDS_MAX);
    if (rc) {
        api_reply_ks_error(r, rc);
        return;
    }
    json_array_foreach(items, i, rec)
    {
        if (json_integer_value(json_object_get(rec, "id")) == id) {
            api_reply(r, 200, json_incref(rec));
            json_decref(items);
            return;
        }
    }
    json_decref(items);
    api_reply_error(r, 404, "sync %lld not found (among the last %d records)", (long long)id,
                    RECORDS_MAX);
}

void api_syncs_events_handle(struct api_req *r)
{
    json_t *items = NULL;
    size_t limit = 0;
    int rc;
    if (r->method != EVHTTP_REQ_GET) {
        api_reply_error(r, 405, "%s: only GET", r->seg[2]);
        return;
    }
    if (r->nseg == 4) {
        get_sync(r, r->seg[3]);
        return;
    }
    if ((rc = api_query_limit(&limit, r, RECORDS_DEFAULT, RECORDS_MAX)) != 0)
        goto done;
    rc = strcmp(r->seg[2], "syncs") == 0 ? ks_store_syncs_list(&items, r->srv->store, limit)
                                         : ks_store_events_list(&items, r->srv->store, limit);
    if (rc == 0)
        api_reply(r, 200, json_pack("{s:o}", "items", items));
done:
    if (rc)
        api_reply_ks_error(r, rc);
}
