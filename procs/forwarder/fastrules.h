/*
 * fastrules: the gateway's rule cache as its XDP program reads it (xdp_vxlan.h's
 * fast_rules), written by the forwarder through a mapping of the map: a put is a few
 * stores, not a system call, and the program's lookup reads one bucket (two cache lines)
 * or, for a rule in its second bucket, two, where a BPF hash map reads a bucket and then
 * the element, cache misses both in a table of millions.
 *
 * A rule sits in one of its key's two buckets. A put takes the first with a free slot,
 * else the second; with both full, it moves one of their rules to that rule's other
 * bucket if it has a free slot (one step of cuckoo hashing), else it evicts the rule of
 * the two buckets relayed by least lately (the program stamps a slot's `used` when it
 * relays by it, once a second at most). At 80 % of the slots in use (a mirror of 10 M
 * rules in 12.5 M slots) about 15 % of the rules sit in their second bucket and 0.07 %
 * of puts evict (tests/unit/fastrules_test.c).
 *
 * One writer, the forwarder's loop; readers on every CPU, the program, which takes a
 * slot only when its seq was even before it read the rest and unchanged after (the
 * seqlock of xdp_vxlan.h). fastrules_get is that reader's, for the tests.
 */
#ifndef FORWARDER_FASTRULES_H
#define FORWARDER_FASTRULES_H

#include "procs/forwarder/xdp_vxlan.h"

#include <stdbool.h>
#include <stdint.h>

struct fastrules {
	struct xdp_fast_bucket *b;	/* n buckets, zeroed: every slot free */
	uint32_t n;
	uint64_t seed;			/* the program's cfg.fast_seed */
};

/* The buckets for a cache of `rules` slots (at least 1). */
uint32_t fastrules_buckets(uint32_t rules);

enum fastrules_put {
	FASTRULES_NEW,		/* in a free slot */
	FASTRULES_UPDATED,	/* the key's slot rewritten */
	FASTRULES_MOVED,	/* in a slot another rule left for its other bucket */
	FASTRULES_EVICTED,	/* in the slot of another rule, now out of the cache */
};

/* k->vni: never 0 (a free slot's). now: CLOCK_MONOTONIC in ns, the program's clock. */
enum fastrules_put fastrules_put(struct fastrules *t, const struct xdp_fast_key *k,
    const struct xdp_fast_rule *r, uint64_t now);
/* True: the key was in the cache. */
bool fastrules_del(struct fastrules *t, const struct xdp_fast_key *k);
bool fastrules_get(const struct fastrules *t, const struct xdp_fast_key *k,
    struct xdp_fast_rule *r);

#endif
