/*
 * nodes.c: the endpoints node agents call, under /api/v1/nodes/{name}/:
 * register (capacity, labels, images -> the Node object), heartbeat (the
 * Ready condition), pods (Pods bound to the node), watch (their changes),
 * pods/{ns}/{pod}/status (observed status, spec untouched), status (many
 * pods' statuses in one request, answered per item: contracts3.md), events
 * (drift events into the store's event records) and objects/{ns}/{kind}/
 * {name} (the ConfigMaps and Secrets the node's pods mount).
 *
 * Writes are read-modify-write with the revision just read, retried a few
 * times on a conflict, because the control plane writes the same objects
 * through its own store connection. After a write the server's watchers
 * are published at once (the write happened on the loop thread) and the
 * control plane hears of it through hooks->wrote (api_wrote).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"
#include "core/jsonequal.h"
#include "core/labels.h"
#include "core/object.h"
#include "core/str.h"
#include "reconciler/api/internal.h"
#include "reconciler/store/store.h"

#define UPDATE_ATTEMPTS 5
#define EVENTS_PER_REQUEST 256
#define STATUS_BATCH_MS 5    /* the longest a status write waits for others */
#define STATUS_BATCH_MAX 256 /* writes in one transaction */

typedef int (*mutate_fn)(json_t **obj, void *arg);

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t revision_of(const json_t *obj)
{
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    int64_t v = 0;
    if (!rv || ks_str_to_i64(&v, rv, "resourceVersion") != 0)
        return KS_STORE_ANY_REVISION;
    return v;
}

/* The object as the store keeps it after putting obj (a copy of an object
 * read from it, so with its uid and namespace) at rev: obj with that
 * resourceVersion. Saves reading back every write. */
static int as_stored(json_t *obj, int64_t rev)
{
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)rev);
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta) || json_object_set_new(meta, "resourceVersion", json_string(rv)))
        return ks_error_set(KS_ENOMEM, "api: out of memory");
    return 0;
}

/* get -> mutate a copy -> put with the revision read; retried on
 * conflict. *obj is NULL for an absent object when create is set. With
 * top_level the mutation only sets top-level keys of the object (a pod's
 * status), so a shallow copy of the object read is enough. *out (NULL:
 * not wanted): the stored object (new reference). A mutation that changes
 * nothing (an agent reporting the same pod status again) writes nothing:
 * *out is the object as stored and *out_written (may be NULL) false.
 * *out_rev (may be NULL): the object's revision after the call (the
 * write's, or the unchanged object's). */
static int update_written(json_t **out, bool *out_written, int64_t *out_rev, struct ks_store *store,
                          const struct ks_store_key *key, int create, bool top_level,
                          mutate_fn mutate, void *arg)
{
    bool written = true;
    json_t *cur = NULL, *obj = NULL;
    int64_t rev = 0;
    int rc = KS_ECONFLICT;
    for (int attempt = 0; attempt < UPDATE_ATTEMPTS && rc == KS_ECONFLICT; attempt++) {
        int64_t expected = KS_STORE_MUST_NOT_EXIST;
        json_decref(cur);
        json_decref(obj);
        cur = obj = NULL;
        rc = ks_store_get(&cur, store, key);
        if (rc == KS_ENOTFOUND && create)
            rc = 0;
        if (rc)
            goto done;
        if (cur) {
            expected = revision_of(cur);
            if (!(obj = top_level ? json_copy(cur) : json_deep_copy(cur))) {
                rc = ks_error_set(KS_ENOMEM, "api: out of memory");
                goto done;
            }
        }
        if ((rc = mutate(&obj, arg)) != 0)
            goto done;
        if (cur && ks_json_equal(cur, obj, KS_JSON_NUMBERS_TYPED)) {
            written = false;
            rev = expected;
            break;
        }
        rc = ks_store_put(&rev, store, obj, expected);
    }
    if (rc == KS_ECONFLICT)
        ks_error_wrap(rc, "%s %s/%s: still conflicting after %d attempts", key->kind,
                      key->namespace_, key->name, UPDATE_ATTEMPTS);
    if (rc == 0 && out && !written)
        *out = json_incref(cur);
    else if (rc == 0 && out && cur && (rc = as_stored(obj, rev)) == 0)
        *out = json_incref(obj); /* cur is ours: a shallow obj may share its metadata */
    else if (rc == 0 && out)
        rc = ks_store_get(out, store, key); /* created: the store minted the uid */
    if (rc == 0 && out_written)
        *out_written = written;
    if (rc == 0 && out_rev)
        *out_rev = rev;
done:
    json_decref(cur);
    json_decref(obj);
    return rc;
}

static int update(json_t **out, struct ks_store *store, const struct ks_store_key *key, int create,
                  mutate_fn mutate, void *arg)
{
    return update_written(out, NULL, NULL, store, key, create, false, mutate, arg);
}

/* Sets the Ready condition to True with a fresh lastHeartbeatTime. */
static int set_ready(json_t *obj, const char *reason)
{
    char now[32];
    json_t *status = json_object_get(obj, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(obj, "status", status);
    }
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    if (!status || !conds)
        return ks_error_set(KS_ENOMEM, "api: out of memory");
    now_rfc3339(now);
    json_t *ready = NULL, *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type && strcmp(type, "Ready") == 0)
            ready = c;
    }
    if (!ready) {
        ready = json_object();
        json_array_append_new(conds, ready);
        json_object_set_new(ready, "type", json_string("Ready"));
    }
    const char *was = json_string_value(json_object_get(ready, "status"));
    if (!was || strcmp(was, "True") != 0)
        json_object_set_new(ready, "lastTransitionTime", json_string(now));
    json_object_set_new(ready, "status", json_string("True"));
    json_object_set_new(ready, "reason", json_string(reason));
    json_object_set_new(ready, "lastHeartbeatTime", json_string(now));
    return 0;
}

struct register_arg {
    const char *name;
    const json_t *body;
};

static int register_mutate(json_t **obj, void *arg)
{
    const struct register_arg *a = arg;
    const json_t *capacity = json_object_get(a->body, "capacity");
    const json_t *alloc = json_object_get(a->body, "allocatable");
    if (!*obj && !(*obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Node",
                                    "metadata", "name", a->name)))
        return ks_error_set(KS_ENOMEM, "api: out of memory");
    json_t *meta = json_object_get(*obj, "metadata");
    json_t *labels = json_object_get(meta, "labels");
    const json_t *reported = json_object_get(a->body, "labels");
    if (reported) {
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(meta, "labels", labels);
        }
        json_object_update(labels, (json_t *)reported);
    }
    int rc = set_ready(*obj, "NodeAgentRegistered");
    if (rc)
        return rc;
    json_t *status = json_object_get(*obj, "status");
    const char *fields[] = {"images", "nodeInfo", "addresses"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_get(a->body, fields[i]))
            json_object_set(status, fields[i], json_object_get(a->body, fields[i]));
    if (capacity) {
        json_object_set(status, "capacity", (json_t *)capacity);
        json_object_set(status, "allocatable", (json_t *)(alloc ? alloc : capacity));
    }
    return 0;
}

static int register_validate(const json_t *body)
{
    const char *objects[] = {"capacity", "allocatable", "labels", "nodeInfo"};
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        const json_t *v = json_object_get(body, objects[i]);
        if (v && !json_is_object(v))
            return ks_error_set(KS_EINVALID, "register: %s: expected an object", objects[i]);
    }
    const char *arrays[] = {"images", "addresses"};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        const json_t *v = json_object_get(body, arrays[i]);
        if (v && !json_is_array(v))
            return ks_error_set(KS_EINVALID, "register: %s: expected an array", arrays[i]);
    }
    const json_t *labels = json_object_get(body, "labels");
    if (labels && ks_labels_validate(labels) != 0)
        return ks_error_wrap(KS_EINVALID, "register: labels");
    return 0;
}

static int heartbeat_mutate(json_t **obj, void *arg)
{
    bool *was_ready = arg;
    const json_t *conds = json_object_get(json_object_get(*obj, "status"), "conditions"), *c;
    size_t i;
    *was_ready = false;
    json_array_foreach(conds, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (type && strcmp(type, "Ready") == 0)
            *was_ready = status && strcmp(status, "True") == 0;
    }
    return set_ready(*obj, "NodeAgentHeartbeat");
}

struct status_arg {
    const char *node;
    const json_t *status;
    int wrong_node;                        /* set when the pod is bound elsewhere: 403 */
    char bound[API_MAX_SEGMENT_BYTES + 1]; /* the node it is bound to ("" for none) */
};

static int status_mutate(json_t **obj, void *arg)
{
    struct status_arg *a = arg;
    const char *bound =
        json_string_value(json_object_get(json_object_get(*obj, "spec"), "nodeName"));
    a->wrong_node = !bound || strcmp(bound, a->node) != 0;
    snprintf(a->bound, sizeof a->bound, "%s", bound ? bound : "");
    if (a->wrong_node) /* not a conflict: reading again cannot change it (403) */
        return ks_error_set(KS_EINVALID, "pod is bound to %s, not to node %s",
                            bound ? bound : "no node", a->node);
    json_object_set(*obj, "status", (json_t *)a->status);
    return 0;
}

/* Answers a write: the error, or obj (stolen) after which the watchers
 * and the control plane hear of revision rev. */
static void reply_object_rc(struct api_req *r, int rc, json_t *obj, int64_t rev)
{
    if (rc) {
        api_reply_ks_error(r, rc);
        return;
    }
    api_reply(r, 200, obj);
    api_watch_publish(r->srv);
    api_wrote(r->srv, rev);
}

static void node_register(struct api_req *r, const char *name)
{
    json_t *body = NULL, *obj = NULL;
    struct ks_store_key key = {"Node", "", name};
    int rc;
    if ((rc = ks_dns1123_subdomain_validate(name)) != 0 || (rc = api_read_body(&body, r, 0)) ||
        (rc = register_validate(body)) != 0)
        goto done;
    if (!json_is_object(body)) {
        rc = ks_error_set(KS_EINVALID, "register: body must be a JSON object");
        goto done;
    }
    struct register_arg a = {name, body};
    rc = update(&obj, r->srv->store, &key, 1, register_mutate, &a);
done:
    reply_object_rc(r, rc, obj, rc ? 0 : revision_of(obj));
    json_decref(body);
}

/* The node's pods from the store's node index: O(the node's pods). */
static void node_pods(struct api_req *r, const char *name)
{
    json_t *mine = NULL;
    int64_t rev = 0;
    struct ks_store_list_opts lo = {.kind = "Pod", .node = name, .shared = true}; /* read only */
    int rc;
    if ((rc = ks_store_revision(&rev, r->srv->store)) != 0 ||
        (rc = ks_store_list(&mine, r->srv->store, &lo)) != 0) {
        api_reply_ks_error(r, rc);
        return;
    }
    api_reply(r, 200, json_pack("{s:I, s:o}", "revision", (json_int_t)rev, "items", mine));
}

/* ---- heartbeats and pod status, batched ----------------------------------
 * Heartbeats and status writes that arrive within STATUS_BATCH_MS of the first one queued
 * (or until STATUS_BATCH_MAX are queued) are applied in one transaction and
 * answered after its commit: one commit, one watch publish and one
 * controller-pass wake-up for the batch instead of one per pod. A request
 * waits at most STATUS_BATCH_MS plus the batch's own time. When the batch
 * commit fails, each write is retried in a transaction of its own so that
 * one bad write cannot fail the others. A queued request whose connection
 * closes is dropped (api_status_drop_conn).
 * A heartbeat of a node that is already Ready changes nothing the
 * controllers act on (node lifecycle reads the heartbeat time on its own
 * tick): it wakes no controller pass, only the watchers. A node that comes
 * back (Ready was Unknown) and every pod status write wake them. */

/* One pod status write: the per-pod route queues one, the batch route one
 * per item. */
struct status_write {
    const char *ns, *pod; /* point into the item's strings or body */
    const json_t *status; /* borrowed from the item's body */
    json_t *obj;          /* the stored pod after the write (per-pod route only) */
    int rc, wrong_node;
    bool written; /* the pod changed (a repeated report writes nothing) */
    int64_t rev;  /* the pod's revision after the write */
    char *err;    /* the message of rc */
};

struct api_status_item {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    int method;
    double start;
    char *node, *ns, *pod; /* ns and pod: the per-pod route */
    json_t *body;
    bool batch;                  /* the batch route: writes from body.items, compact reply */
    struct status_write *writes; /* none: a heartbeat of node */
    size_t n_writes;
    bool was_ready; /* heartbeat: the node was Ready before it */
    json_t *obj;    /* heartbeat: the stored Node */
    int rc;
    char *err; /* the message of rc */
    struct api_status_item *next;
};

static void status_item_free(struct api_status_item *it)
{
    for (size_t i = 0; i < it->n_writes; i++) {
        json_decref(it->writes[i].obj);
        free(it->writes[i].err);
    }
    free(it->writes);
    free(it->node);
    free(it->ns);
    free(it->pod);
    free(it->err);
    json_decref(it->body);
    json_decref(it->obj);
    free(it);
}

static void write_apply(struct ks_store *store, const char *node, struct status_write *w,
                        bool batch)
{
    struct ks_store_key key = {"Pod", w->ns, w->pod};
    struct status_arg a = {.node = node, .status = w->status};
    char msg[3 * API_MAX_SEGMENT_BYTES + 64];
    json_decref(w->obj);
    w->obj = NULL;
    free(w->err);
    w->err = NULL;
    w->rc = update_written(batch ? NULL : &w->obj, &w->written, &w->rev, store, &key, 0, true,
                           status_mutate, &a);
    w->wrong_node = a.wrong_node;
    if (!w->rc)
        return;
    if (batch && w->wrong_node)
        snprintf(msg, sizeof msg, "pod %s/%s is bound to %s%s", w->ns, w->pod,
                 a.bound[0] ? "node " : "no node", a.bound);
    else if (batch && w->rc == KS_ENOTFOUND)
        snprintf(msg, sizeof msg, "pod %s/%s not found", w->ns, w->pod);
    else
        snprintf(msg, sizeof msg, "%s", ks_error_last());
    if (!(w->err = strdup(msg)))
        w->rc = KS_ENOMEM;
}

static void status_apply(struct ks_store *store, struct api_status_item *it)
{
    struct ks_store_key node = {"Node", "", it->node};
    if (it->n_writes) {
        for (size_t i = 0; i < it->n_writes; i++)
            write_apply(store, it->node, &it->writes[i], it->batch);
        return;
    }
    json_decref(it->obj);
    it->obj = NULL;
    free(it->err);
    it->err = NULL;
    it->rc = update(&it->obj, store, &node, 0, heartbeat_mutate, &it->was_ready);
    if (it->rc == KS_ENOTFOUND)
        ks_error_wrap(it->rc, "node %s: register first", it->node);
    if (it->rc && !(it->err = strdup(ks_error_last())))
        it->rc = KS_ENOMEM;
}

/* HTTP status of a failed write. */
static int write_code(const struct status_write *w)
{
    if (w->wrong_node)
        return 403;
    return w->rc == KS_ENOTFOUND ? 404 : 500;
}

/* The batch route's reply: one compact item per write, in order. */
static json_t *batch_reply(const struct api_status_item *it)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < it->n_writes; i++) {
        const struct status_write *w = &it->writes[i];
        char rv[32];
        snprintf(rv, sizeof rv, "%lld", (long long)w->rev);
        json_t *one = w->rc ? json_pack("{s:i, s:s}", "code", write_code(w), "error",
                                        w->err ? w->err : "out of memory")
                            : json_pack("{s:i, s:s}", "code", 200, "resourceVersion", rv);
        if (json_array_append_new(items, one) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    return items ? json_pack("{s:o}", "items", items) : NULL;
}

static void status_reply(struct ks_api_server *srv, struct api_status_item *it)
{
    struct api_req r = {.srv = srv, .req = it->req, .method = it->method, .start = it->start};
    const struct status_write *w = it->n_writes ? &it->writes[0] : NULL;
    if (it->batch) {
        json_t *body = batch_reply(it);
        if (body)
            api_reply(&r, 200, body);
        else
            api_reply_error(&r, 500, "status batch: out of memory");
    } else if (w && w->rc && w->wrong_node) {
        api_reply_error(&r, 403, "%s", w->err);
    } else if (w && w->rc) {
        ks_error_set(w->rc, "%s", w->err ? w->err : "out of memory");
        api_reply_ks_error(&r, w->rc);
    } else if (w) {
        api_reply(&r, 200, json_incref(w->obj));
    } else if (it->rc) {
        ks_error_set(it->rc, "%s", it->err ? it->err : "out of memory");
        api_reply_ks_error(&r, it->rc);
    } else {
        api_reply(
            &r, 200,
            json_pack("{s:O}", "resourceVersion",
                      json_object_get(json_object_get(it->obj, "metadata"), "resourceVersion")));
    }
}

void api_status_flush(struct ks_api_server *srv)
{
    struct api_status_item *items = srv->status_head, *it;
    size_t n = srv->n_status;
    int64_t rev = 0;
    bool wake = false;
    srv->status_head = NULL;
    srv->status_tail = &srv->status_head;
    srv->n_status = 0;
    if (srv->status_ev)
        evtimer_del(srv->status_ev);
    if (!items)
        return;
    int batched = n > 1 && ks_store_begin(srv->store) == 0;
    for (it = items; it; it = it->next)
        status_apply(srv->store, it);
    if (batched && ks_store_commit(srv->store) != 0) {
        ks_log(KS_LOG_WARN, "pod status batch failed, writing one by one", "error", ks_error_last(),
               NULL);
        for (it = items; it; it = it->next)
            status_apply(srv->store, it);
    }
    for (it = items; it; it = it->next) {
        for (size_t i = 0; i < it->n_writes; i++) {
            const struct status_write *w = &it->writes[i];
            if (w->rc)
                continue;
            rev = w->rev > rev ? w->rev : rev;
            wake = wake || w->written;
            if (w->written) /* its own node's watch leaves it out */
                api_ring_mark_own(srv, w->rev);
        }
        if (!it->n_writes && !it->rc) {
            int64_t v = revision_of(it->obj);
            rev = v > rev ? v : rev;
            wake = wake || !it->was_ready;
        }
        status_reply(srv, it);
    }
    while (items) {
        it = items->next;
        status_item_free(items);
        items = it;
    }
    if (rev > 0)
        api_watch_publish(srv);
    if (wake)
        api_wrote(srv, rev);
}

static void status_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    api_status_flush(arg);
}

void api_status_drop_conn(struct ks_api_server *srv, struct evhttp_connection *evcon)
{
    struct api_status_item **pp = &srv->status_head, *it;
    while ((it = *pp) != NULL) {
        if (it->conn == evcon) {
            *pp = it->next;
            srv->n_status -= it->n_writes ? it->n_writes : 1;
            status_item_free(it); /* libevent frees the request with its connection */
        } else {
            pp = &it->next;
        }
    }
    srv->status_tail = pp;
}

void api_status_free(struct ks_api_server *srv)
{
    struct api_status_item *it;
    while ((it = srv->status_head) != NULL) {
        srv->status_head = it->next;
        status_item_free(it);
    }
    srv->status_tail = &srv->status_head;
    srv->n_status = 0;
    if (srv->status_ev)
        event_free(srv->status_ev);
    srv->status_ev = NULL;
}

/* A new queue item for node (body stolen, may be NULL); NULL when out of
 * memory (then body is released). */
static struct api_status_item *item_new(struct api_req *r, const char *node, json_t *body)
{
    struct api_status_item *it = calloc(1, sizeof *it);
    if (!it || !(it->node = strdup(node))) {
        free(it);
        json_decref(body);
        return NULL;
    }
    it->body = body;
    it->req = r->req;
    it->conn = evhttp_request_get_connection(r->req);
    it->method = r->method;
    it->start = r->start;
    return it;
}

/* Queues it (a heartbeat, a pod status or a batch of them) for the next
 * batch: applied at STATUS_BATCH_MS or once STATUS_BATCH_MAX writes wait. */
static void batch_enqueue(struct api_req *r, struct api_status_item *it)
{
    struct ks_api_server *srv = r->srv;
    if (!srv->status_ev && !(srv->status_ev = evtimer_new(srv->base, status_timer, srv))) {
        status_item_free(it);
        api_reply_error(r, 500, "status: out of memory");
        return;
    }
    *srv->status_tail = it;
    srv->status_tail = &it->next;
    bool first = srv->n_status == 0;
    srv->n_status += it->n_writes ? it->n_writes : 1;
    if (first && !srv->stopping) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = STATUS_BATCH_MS * 1000};
        evtimer_add(srv->status_ev, &tv);
    }
    if (srv->n_status >= STATUS_BATCH_MAX || srv->stopping)
        api_status_flush(srv);
}

static void pod_status(struct api_req *r, const char *node, const char *ns, const char *pod)
{
    json_t *body = NULL;
    struct api_status_item *it = NULL;
    int rc;
    if ((rc = api_read_body(&body, r, 0)) != 0) {
        api_reply_ks_error(r, rc);
        return;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        api_reply_error(r, 400, "status: body must be a JSON object (the pod's status)");
        return;
    }
    if (!(it = item_new(r, node, body)) || !(it->ns = strdup(ns)) || !(it->pod = strdup(pod)) ||
        !(it->writes = calloc(1, sizeof *it->writes))) {
        if (it)
            status_item_free(it);
        api_reply_error(r, 500, "status: out of memory");
        return;
    }
    it->n_writes = 1;
    it->writes[0] = (struct status_write){.ns = it->ns, .pod = it->pod, .status = body};
    batch_enqueue(r, it);
}

/* Checks the batch body's shape; 0, or KS_EINVALID / KS_ELIMIT naming the
 * item (nothing is written then). */
static int batch_validate(const json_t *body)
{
    const json_t *items = json_object_get(body, "items"), *item;
    size_t i;
    if (!json_is_object(body) || !json_is_array(items))
        return ks_error_set(KS_EINVALID,
                            "status batch: the body must be an object with an \"items\" array");
    if (json_array_size(items) > KS_API_STATUS_BATCH_MAX)
        return ks_error_set(KS_ELIMIT, "status batch: more than %u items (limit)",
                            KS_API_STATUS_BATCH_MAX);
    if (json_array_size(items) == 0)
        return ks_error_set(KS_EINVALID, "status batch: no items");
    json_array_foreach(items, i, item)
    {
        const char *ns = json_string_value(json_object_get(item, "namespace"));
        const char *name = json_string_value(json_object_get(item, "name"));
        if (!json_is_object(item))
            return ks_error_set(KS_EINVALID, "status batch: items[%zu]: expected an object", i);
        if (!ns || !*ns || !name || !*name)
            return ks_error_set(KS_EINVALID,
                                "status batch: items[%zu]: namespace and name must be non-empty "
                                "strings",
                                i);
        if (!json_is_object(json_object_get(item, "status")))
            return ks_error_set(KS_EINVALID, "status batch: items[%zu]: status must be an object",
                                i);
    }
    return 0;
}

/* POST /api/v1/nodes/{node}/status: many pod statuses of node in one
 * request (contracts3.md), applied in the status batching like the per-pod
 * route and answered per item after the commit. */
static void node_status_batch(struct api_req *r, const char *node)
{
    json_t *body = NULL, *item;
    struct api_status_item *it = NULL;
    size_t i;
    int rc;
    if ((rc = api_read_body(&body, r, 0)) != 0 || (rc = batch_validate(body)) != 0) {
        json_decref(body);
        api_reply_ks_error(r, rc);
        return;
    }
    const json_t *items = json_object_get(body, "items");
    if (!(it = item_new(r, node, body)) ||
        !(it->writes = calloc(json_array_size(items), sizeof *it->writes))) {
        if (it)
            status_item_free(it);
        api_reply_error(r, 500, "status batch: out of memory");
        return;
    }
    it->batch = true;
    it->n_writes = json_array_size(items);
    json_array_foreach(items, i, item)
    {
        it->writes[i] =
            (struct status_write){.ns = json_string_value(json_object_get(item, "namespace")),
                                  .pod = json_string_value(json_object_get(item, "name")),
                                  .status = json_object_get(item, "status")};
    }
    batch_enqueue(r, it);
}

static void node_heartbeat(struct api_req *r, const char *name)
{
    struct api_status_item *it = item_new(r, name, NULL);
    if (!it) {
        api_reply_error(r, 500, "status: out of memory");
        return;
    }
    batch_enqueue(r, it);
}

static int add_event(struct ks_store *store, const json_t *ev, const char *node, size_t index)
{
    if (!json_is_object(ev))
        return ks_error_set(KS_EINVALID, "events[%zu]: expected an object", index);
    json_t *copy = json_deep_copy(ev);
    if (!copy)
        return ks_error_set(KS_ENOMEM, "api: out of memory");
    json_object_set_new(copy, "node", json_string(node));
    if (!json_object_get(copy, "source"))
        json_object_set_new(copy, "source", json_string("nodeagent"));
    int rc = ks_store_event_add(store, copy);
    json_decref(copy);
    return rc;
}

static int is_drift(const json_t *ev)
{
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    return reason && strcmp(reason, "Drift") == 0;
}

static void node_events(struct api_req *r, const char *node)
{
    json_t *body = NULL;
    size_t n = 0;
    uint64_t drift = 0;
    int64_t rev = 0;
    int rc, began = 0;
    if ((rc = api_read_body(&body, r, 0)) != 0)
        goto done;
    n = json_is_array(body) ? json_array_size(body) : 1;
    if (n > EVENTS_PER_REQUEST) {
        rc = ks_error_set(KS_ELIMIT, "events: %zu events in one request (limit %d)", n,
                          EVENTS_PER_REQUEST);
        goto done;
    }
    if ((rc = ks_store_begin(r->srv->store)) != 0)
        goto done;
    began = 1;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc =
            add_event(r->srv->store, json_is_array(body) ? json_array_get(body, i) : body, node, i);
    rc = rc ? rc : ks_store_commit(r->srv->store);
    began = 0;
    if (rc == 0)
        rc = ks_store_revision(&rev, r->srv->store);
done:
    if (rc && began)
        ks_store_rollback(r->srv->store);
    if (rc) {
        api_reply_ks_error(r, rc);
    } else {
        for (size_t i = 0; i < n; i++)
            drift += is_drift(json_is_array(body) ? json_array_get(body, i) : body);
        r->srv->drift_events += drift;
        api_reply(r, 200, json_pack("{s:I}", "added", (json_int_t)n));
        api_wrote(r->srv, rev);
    }
    json_decref(body);
}

/* Kinds a node may read: what its pods mount and what its service proxy
 * needs. */
static int node_readable(const char *kind)
{
    return strcmp(kind, "ConfigMap") == 0 || strcmp(kind, "Secret") == 0 ||
           strcmp(kind, "Service") == 0 || strcmp(kind, "Endpoints") == 0;
}

/* A node reads the ConfigMaps and Secrets its pods mount and the Services
 * and Endpoints its proxy serves; nothing else. */
static void node_object(struct api_req *r, const char *ns, const char *kind, const char *name)
{
    struct ks_store_key key = {kind, ns, name};
    json_t *obj = NULL;
    int rc;
    if (!node_readable(kind)) {
        api_reply_error(r, 403,
                        "nodes may read only ConfigMap, Secret, Service and Endpoints objects, "
                        "not %s",
                        kind);
        return;
    }
    if ((rc = ks_store_get(&obj, r->srv->store, &key)) != 0)
        api_reply_ks_error(r, rc);
    else
        api_reply(r, 200, obj);
}

/* Every Service or Endpoints object, all namespaces, with the revision to
 * watch from (read before the list, so no change is skipped). */
static void node_objects_of_kind(struct api_req *r, const char *kind)
{
    struct ks_store_list_opts lo = {.kind = kind};
    json_t *all = NULL;
    int64_t rev = 0;
    int rc;
    if (strcmp(kind, "Service") != 0 && strcmp(kind, "Endpoints") != 0) {
        api_reply_error(r, 403, "nodes may list only Service and Endpoints objects, not %s", kind);
        return;
    }
    if ((rc = ks_store_revision(&rev, r->srv->store)) != 0 ||
        (rc = ks_store_list(&all, r->srv->store, &lo)) != 0) {
        api_reply_ks_error(r, rc);
        return;
    }
    api_reply(r, 200, json_pack("{s:I, s:o}", "revision", (json_int_t)rev, "items", all));
}

void api_nodes_handle(struct api_req *r)
{
    /* seg: api v1 nodes NAME ACTION [NS POD status] */
    const char *name = r->seg[3], *action = r->nseg > 4 ? r->seg[4] : "";
    int get = r->method == EVHTTP_REQ_GET, post = r->method == EVHTTP_REQ_POST;
    if (r->nseg == 5 && post && strcmp(action, "register") == 0)
        node_register(r, name);
    else if (r->nseg == 5 && post && strcmp(action, "heartbeat") == 0)
        node_heartbeat(r, name);
    else if (r->nseg == 5 && get && strcmp(action, "pods") == 0)
        node_pods(r, name);
    else if (r->nseg == 5 && post && strcmp(action, "status") == 0)
        node_status_batch(r, name);
    else if (r->nseg == 5 && get && strcmp(action, "watch") == 0)
        api_watch_handle(r, name);
    else if (r->nseg == 5 && post && strcmp(action, "events") == 0)
        node_events(r, name);
    else if (r->nseg == 6 && get && strcmp(action, "objects") == 0)
        node_objects_of_kind(r, r->seg[5]);
    else if (r->nseg == 8 && get && strcmp(action, "objects") == 0)
        node_object(r, r->seg[5], r->seg[6], r->seg[7]);
    else if (r->nseg == 8 && post && strcmp(action, "pods") == 0 &&
             strcmp(r->seg[7], "status") == 0)
        pod_status(r, name, r->seg[5], r->seg[6]);
    else
        api_reply_error(r, 404, "no such endpoint (or wrong method): %s",
                        evhttp_request_get_uri(r->req));
}
