/*
 * services.h: Service addresses assigned by the control plane, as the
 * Kubernetes apiserver assigns them: a clusterIP from the service range
 * (--service-cidr, default 10.96.0.0/16) for every Service of type
 * ClusterIP, NodePort or LoadBalancer that does not give one (clusterIP
 * "None", a headless Service, gets none), and a nodePort from 30000-32767
 * for every port of a NodePort or LoadBalancer Service that does not give
 * one. Values written in Git are honoured; one that another Service holds
 * is a sync error naming both.
 *
 * The assignment is made while a sync applies its plan (reconciler/daemon/
 * sync.c, inside the apply transaction): every Service the plan writes
 * gets, in its head, the values its Git object leaves empty: first the
 * ones the stored Service already has (so addresses are stable across
 * syncs, restarts and edits of other fields), else new ones. The store is
 * the allocation table: what the stored Services hold is taken, so a
 * deleted Service frees its addresses. The planner leaves these
 * server-filled fields out of its comparison (reconciler/plan/plan.c), so
 * they never show as changes.
 */
#ifndef KS_RECONCILER_CONTROLLERS_SERVICES_H
#define KS_RECONCILER_CONTROLLERS_SERVICES_H

#include <stdint.h>

#include "reconciler/plan/plan.h"
#include "reconciler/store/store.h"

#define KS_SERVICE_CIDR_DEFAULT "10.96.0.0/16"
#define KS_SERVICE_CIDR_MIN_PREFIX 12 /* at most 2^20 addresses in the range */
#define KS_SERVICE_CIDR_MAX_PREFIX 28 /* at least 13 usable addresses */
#define KS_SERVICE_NODE_PORT_MIN 30000
#define KS_SERVICE_NODE_PORT_MAX 32767

/* An IPv4 service range. The network address, the first host address
 * (.1 of a /16: Kubernetes gives it to the "kubernetes" Service) and the
 * broadcast address are never assigned. */
struct ks_service_cidr {
    uint32_t base;   /* network address, host byte order */
    unsigned prefix; /* KS_SERVICE_CIDR_MIN_PREFIX .. KS_SERVICE_CIDR_MAX_PREFIX */
    char text[24];   /* canonical "10.96.0.0/16" */
};

/* "A.B.C.D/N" (IPv4; host bits must be zero) into *out; NULL text is the
 * default. KS_EINVALID naming --service-cidr and the accepted prefixes. */
int ks_service_cidr_parse(struct ks_service_cidr *out, const char *text);

/* Fills spec.clusterIP, spec.clusterIPs and spec.ports[].nodePort in the
 * head of every Service change of plan that ks_plan_apply will write
 * (create, update, and unchanged with a base), replacing those heads with
 * filled copies. Reads the stored Services (call it inside the apply
 * transaction). KS_EINVALID for a value outside the range, a reserved
 * address, a nodePort outside 30000-32767 or on a ClusterIP Service;
 * KS_ECONFLICT when a given value is held by another Service;
 * KS_ELIMIT when the range or the node ports are used up. */
int ks_services_allocate(struct ks_store *store, struct ks_plan *plan,
                         const struct ks_service_cidr *cidr);

#endif
