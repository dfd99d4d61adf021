/*
 * admit: see admit.h.
 */
#include "admit.h"

#include <string.h>

void
admit_init(struct admit *a, const struct addr_cidr *nets, uint32_t nnets, uint32_t rate,
    uint32_t burst)
{
	memset(a, 0, sizeof(*a));
	a->nnets = nnets < ADMIT_NETS_MAX ? nnets : ADMIT_NETS_MAX;
	memcpy(a->nets, nets, a->nnets * sizeof(*nets));
	a->rate = rate;
	a->burst = burst;
}

bool
admit_allowed(const struct admit *a, uint32_t ip)
{
	for (uint32_t i = 0; i < a->nnets; i++)
		if (addr_cidr_contains(&a->nets[i], ip))
			return true;
	return false;
}

bool
admit_take(struct admit *a, uint32_t ip, uint64_t now_ns)
{
	struct admit_bucket *b = &a->buckets[(ip * 0x9e3779b1u) >> (32 - ADMIT_BITS)];
	uint64_t cap = (uint64_t)a->burst * 1000, t;

	if (b->ip != ip || b->last_ns == 0) {
		b->ip = ip;
		b->tokens_milli = cap;
		b->last_ns = now_ns;
	}
	/* rate requests a second: rate thousandths a millisecond */
	t = b->tokens_milli + (now_ns - b->last_ns) / 1000000 * a->rate;
	if (now_ns - b->last_ns >= 1000000)
		b->last_ns = now_ns - (now_ns - b->last_ns) % 1000000;
	b->tokens_milli = t > cap ? cap : t;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}
