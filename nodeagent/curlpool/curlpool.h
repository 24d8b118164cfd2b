/*
 * curlpool.h: a small pool of idle libcurl easy handles, shared by the
 * Podman client (podman/client.c) and the control-plane client
 * (cpclient/request.c) so that calls from several threads reuse keep-alive
 * connections. The mutex guards only the pool, never a request.
 *
 * Ownership: the pool is embedded in its owner's struct; ks_curlpool_init
 * before use, ks_curlpool_release once at the end (cleans up the idle
 * handles). A taken handle belongs to the caller until it is given back or
 * cleaned up; a handle whose transfer failed should be cleaned up, not
 * given back, so the next call makes a fresh connection.
 */
#ifndef KS_NODEAGENT_CURLPOOL_H
#define KS_NODEAGENT_CURLPOOL_H

#include <curl/curl.h>
#include <pthread.h>

#define KS_CURLPOOL_SIZE 4 /* idle keep-alive handles kept */

struct ks_curlpool {
    pthread_mutex_t lock;
    CURL *idle[KS_CURLPOOL_SIZE];
    int n_idle;
};

void ks_curlpool_init(struct ks_curlpool *p);
/* Cleans up every idle handle and the mutex. */
void ks_curlpool_release(struct ks_curlpool *p);
/* An idle handle after curl_easy_reset, or a new one; NULL when out of
 * memory. */
CURL *ks_curlpool_take(struct ks_curlpool *p);
/* Keeps h idle for the next take, or cleans it up when the pool is full. */
void ks_curlpool_give(struct ks_curlpool *p, CURL *h);

#endif
