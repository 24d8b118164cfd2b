/*
 * pages.c: the dashboard's pages on the API port. Everything that is not
 * the API, a webhook, health or metrics is handed to the control plane's
 * page hook (the live dashboard, reconciler/dashboard/live.c), which
 * answers from memory. Pages need no token: they show what the status
 * branch already holds for anyone with a clone (docs/dashboard.md).
 */
#include "reconciler/api/internal.h"

#include "core/error.h"

#include <stdlib.h>

void api_page_handle(struct api_req *r, const char *path)
{
    const struct ks_api_hooks *hooks = r->srv->opts.hooks;
    char *body = NULL;
    size_t len = 0;
    const char *type = NULL;
    if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
        api_reply_error(r, 405, "pages answer GET and HEAD only");
        return;
    }
    if (!hooks || !hooks->page) {
        api_reply_error(r, 404, "no such endpoint: %s", path);
        return;
    }
    int rc = hooks->page(hooks->ud, path, &body, &len, &type);
    if (rc == KS_ENOTFOUND)
        api_reply_error(r, 404, "no such page: %s", path);
    else if (rc)
        api_reply_error(r, 500, "%s", ks_error_last());
    else
        api_reply_raw(r, 200, type, body, len);
    free(body);
}
