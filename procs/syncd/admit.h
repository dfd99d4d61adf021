/*
 * admit: which datagrams syncd looks at: from a configured host network, and within
 * the source's rate (a token bucket per source address, in a fixed table: a source that
 * collides with another starts with a full bucket, which errs on the side of serving).
 */
#ifndef SYNCD_ADMIT_H
#define SYNCD_ADMIT_H

#include "common/addr.h"

#include <stdbool.h>
#include <stdint.h>

#define ADMIT_NETS_MAX	16
/*
 * Buckets: as many as the hosts a gateway serves (32768, as its host-key cache and
 * max_parked), so that 10,000 hosts mostly have one each; 4096 let 10,000 share.
 */
#define ADMIT_BITS	15
#define ADMIT_SOURCES	(1u << ADMIT_BITS)

struct admit_bucket {
	uint32_t ip;
	uint64_t tokens_milli;	/* thousandths of a request: burst 1e7 is 1e10 of them */
	uint64_t last_ns;
};

struct admit {
	struct addr_cidr nets[ADMIT_NETS_MAX];
	uint32_t nnets;
	uint32_t rate;		/* requests a second a source */
	uint32_t burst;
	struct admit_bucket buckets[ADMIT_SOURCES];
};

void admit_init(struct admit *a, const struct addr_cidr *nets, uint32_t nnets, uint32_t rate,
    uint32_t burst);
bool admit_allowed(const struct admit *a, uint32_t ip);
/* Take one request's token for ip at now_ns; false when over its rate. */
bool admit_take(struct admit *a, uint32_t ip, uint64_t now_ns);

#endif
