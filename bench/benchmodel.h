/* The swarm that the routing table and stats socket benchmarks build their
 * tables from, so that their figures speak of the same table.
 */
#ifndef BENCH_BENCHMODEL_H
#define BENCH_BENCHMODEL_H

#include <stddef.h>

struct model;

/* Each task also has an address on the "ingress" network, listed first,
 * as Swarm reports tasks that publish ports through the routing mesh.
 */
#define BENCHMODEL_INGRESS 0x1

/* Returns a model (source "swarm", owned by the caller: model_free()) of
 * <nsvcs> services of <ntasks> running tasks each. Service i serves host
 * "svc<i/2>.bench.example", at "/" for even i and "/api" for odd i; every
 * 100th pair serves "*.w<i/2>.bench.example" instead. Task n of the swarm
 * is at 10.<n>.<n>.<n> (24 bits of n) on network "bench_net". Names and
 * IDs are the same from one run to the next. <flags>: BENCHMODEL_*.
 */
struct model *benchmodel_make(size_t nsvcs, size_t ntasks, unsigned flags);

#endif
