/*
 * curlpool.c: the idle easy-handle pool of curlpool.h, one copy for the
 * Podman and control-plane clients.
 */
#include "nodeagent/curlpool/curlpool.h"

void ks_curlpool_init(struct ks_curlpool *p)
{
    pthread_mutex_init(&p->lock, NULL);
    p->n_idle = 0;
}

void ks_curlpool_release(struct ks_curlpool *p)
{
    int i;

    for (i = 0; i < p->n_idle; i++)
        curl_easy_cleanup(p->idle[i]);
    p->n_idle = 0;
    pthread_mutex_destroy(&p->lock);
}

CURL *ks_curlpool_take(struct ks_curlpool *p)
{
    CURL *h = NULL;

    pthread_mutex_lock(&p->lock);
    if (p->n_idle > 0)
        h = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

void ks_curlpool_give(struct ks_curlpool *p, CURL *h)
{
    pthread_mutex_lock(&p->lock);
    if (p->n_idle < KS_CURLPOOL_SIZE) {
        p->idle[p->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (h)
        curl_easy_cleanup(h);
}
