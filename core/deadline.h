/*
 * deadline.h: an absolute time some milliseconds from now, the form
 * pthread_cond_timedwait wants. Every timed wait in the tree needs one, and
 * each used to spell out the seconds/nanoseconds carry itself.
 */
#ifndef KS_CORE_DEADLINE_H
#define KS_CORE_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* Now on clock (CLOCK_MONOTONIC for a condition variable made with
 * pthread_condattr_setclock, CLOCK_REALTIME otherwise) plus ms; ms <= 0
 * gives now. */
struct timespec ks_deadline_after_ms(clockid_t clock, int64_t ms);

#endif
