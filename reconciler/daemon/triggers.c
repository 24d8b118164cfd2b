/*
 * triggers.c: what wakes the control plane's worker thread, coalesced.
 * Interval syncs, API and webhook tickets, inotify on a local repository's
 * refs, agent writes (a controller pass) and the node-lifecycle tick all
 * set flags under one mutex; the worker takes everything pending at once,
 * so a burst of webhooks during a sync becomes one more sync, and one sync
 * runs at a time. Tickets are handed out in increasing order; the work a
 * sync takes carries the highest ticket issued before it started, which is
 * what its sync record answers (contracts §6). Taking work is a pure
 * function of the state and the time given, so tests drive it with their
 * own clock.
 */
#include "reconciler/daemon/daemon.h"

#include "core/error.h"
#include "core/log.h"

#include <errno.h>
#include <time.h>

int64_t ks_triggers_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ks_triggers_init(struct ks_triggers *t, int64_t interval_ms, int64_t tick_ms, int64_t now_ms)
{
    pthread_condattr_t attr;
    *t = (struct ks_triggers){.interval_ms = interval_ms, .tick_ms = tick_ms};
    t->sync_reasons = KS_TRIGGER_START;
    t->next_sync_ms = interval_ms > 0 ? now_ms + interval_ms : INT64_MAX;
    t->next_tick_ms = tick_ms > 0 ? now_ms + tick_ms : INT64_MAX;
    if (pthread_condattr_init(&attr))
        return ks_error_set(KS_ENOMEM, "triggers: condattr");
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc || pthread_mutex_init(&t->mu, NULL))
        return ks_error_set(KS_ENOMEM, "triggers: cannot create the mutex or condition");
    return 0;
}

void ks_triggers_release(struct ks_triggers *t)
{
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
}

int64_t ks_triggers_sync(struct ks_triggers *t, unsigned reason)
{
    /* the first timestamp of a sync's path (docs/cli.md, where the time goes) */
    ks_log(KS_LOG_DEBUG, "sync triggered", "by",
           reason & KS_TRIGGER_GIT       ? "git"
           : reason & KS_TRIGGER_WEBHOOK ? "webhook"
           : reason & KS_TRIGGER_API     ? "api"
                                         : "other",
           NULL);
    pthread_mutex_lock(&t->mu);
    int64_t ticket = ++t->last_ticket;
    t->sync_reasons |= reason;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
    return ticket;
}

void ks_triggers_wrote(struct ks_triggers *t)
{
    pthread_mutex_lock(&t->mu);
    t->ctl_pending = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void ks_triggers_stop(struct ks_triggers *t)
{
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

/* Caller holds the mutex. */
static bool take_locked(struct ks_trigger_work *out, struct ks_triggers *t, int64_t now_ms)
{
    unsigned reasons = t->sync_reasons;
    if (now_ms >= t->next_sync_ms)
        reasons |= KS_TRIGGER_INTERVAL;
    bool tick = now_ms >= t->next_tick_ms;
    if (!reasons && !tick && !t->ctl_pending)
        return false;
    *out = (struct ks_trigger_work){.sync_reasons = reasons,
                                    .ticket = t->last_ticket,
                                    .controllers = t->ctl_pending,
                                    .tick = tick};
    t->sync_reasons = 0;
    t->ctl_pending = false;
    /* any sync restarts the interval: the next poll is a full interval later */
    if (reasons && t->interval_ms > 0)
        t->next_sync_ms = now_ms + t->interval_ms;
    if (tick)
        t->next_tick_ms = now_ms + t->tick_ms;
    return true;
}

bool ks_triggers_take(struct ks_trigger_work *out, struct ks_triggers *t, int64_t now_ms)
{
    pthread_mutex_lock(&t->mu);
    bool got = take_locked(out, t, now_ms);
    pthread_mutex_unlock(&t->mu);
    return got;
}

bool ks_triggers_wait(struct ks_trigger_work *out, struct ks_triggers *t)
{
    bool got = false;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        int64_t now = ks_triggers_now_ms();
        if ((got = take_locked(out, t, now)))
            break;
        int64_t until = t->next_sync_ms < t->next_tick_ms ? t->next_sync_ms : t->next_tick_ms;
        if (until == INT64_MAX)
            pthread_cond_wait(&t->cond, &t->mu);
        else {
            struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
            pthread_cond_timedwait(&t->cond, &t->mu, &ts); /* ETIMEDOUT: re-check */
        }
    }
    pthread_mutex_unlock(&t->mu);
    return got;
}
