/*
 * internal.h: the per-kind checks behind ks_probe_check (check.c
 * dispatches). Each returns 0 with the outcome in *out and a one-line
 * reason in msg, or < 0 for internal errors only.
 */
#ifndef KS_NODEAGENT_PROBE_INTERNAL_H
#define KS_NODEAGENT_PROBE_INTERNAL_H

#include "nodeagent/probe/probe.h"

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
int64_t ks_probe_now_ms(void);

int ks_probe_tcp_check(enum ks_probe_outcome *out, char *msg, size_t cap, const char *host,
                       int port, long timeout_ms);
int ks_probe_http_check(enum ks_probe_outcome *out, char *msg, size_t cap,
                        const struct ks_probe_spec *spec, const char *host, long timeout_ms);

#endif
