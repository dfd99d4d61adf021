/*
 * gateways: the gateways a learner syncs from and whether each answers. A gateway
 * that leaves gateway_down_after requests in a row unanswered is marked down: its VNIs
 * move to the others, and it is probed every probe_ns until it answers again. A live
 * gateway that answered nothing for probe_ns (none of the VPCs held syncs from it) is
 * probed too: the forwarder sends it destinations all the same, so its death must be
 * noticed without sync traffic. The list
 * and each one's state are published in the host's rule table for the forwarder
 * (table_set_peers), which sends unknown destinations only to live gateways.
 */
#ifndef LEARNER_GATEWAYS_H
#define LEARNER_GATEWAYS_H

#include "counters.h"
#include "shm/table.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define GATEWAYS_MAX	TABLE_PEERS_MAX

struct gateway {
	struct sockaddr_in addr;
	bool up;
	uint32_t fails;		/* requests in a row unanswered */
	uint64_t next_probe_ns;
	uint64_t heard_ns;	/* its last answer */
};

struct gateways {
	struct gateway g[GATEWAYS_MAX];
	uint32_t n;
	uint32_t down_after;
	uint64_t probe_ns;
	struct table *t;
	struct learner_counters *c;
};

void gateways_init(struct gateways *gw, const struct sockaddr_in *addrs, uint32_t n,
    uint32_t down_after, uint64_t probe_ns, struct table *t, struct learner_counters *c);
/* The gateway a datagram came from, or -1. */
int gateways_find(const struct gateways *gw, const struct sockaddr_in *from);
/*
 * The gateway for a VNI's attempt-th try: live ones by hash of the VNI, so a VNI stays
 * on one gateway while it answers; any one when none is live.
 */
int gateways_pick(const struct gateways *gw, uint32_t vni, uint32_t attempt);
uint32_t gateways_up(const struct gateways *gw);
void gateways_ok(struct gateways *gw, int i);
void gateways_fail(struct gateways *gw, int i, uint64_t now_ns);
/*
 * Nothing listens at gateway i (an ICMP error answered a datagram to it: its syncd
 * died, or its host is gone): down now, without waiting for timeouts. A gateway whose
 * syncd is restarted answers its next probe and is up again.
 */
void gateways_unreachable(struct gateways *gw, int i, uint64_t now_ns);
/*
 * Probe every gateway on the next tick, not after probe_ns. With authentication a
 * gateway learns from a host's own requests which host sits at its VTEP (whose key its
 * LEARNs take): a host holding no VPC yet sends nothing else, and its first LEARN
 * would be dropped (syncd's learn_no_host).
 */
void gateways_probe_now(struct gateways *gw);
/*
 * A gateway due for a probe: down, or live but silent for probe_ns (its next probe is
 * then scheduled); -1 when none is.
 */
int gateways_probe_due(struct gateways *gw, uint64_t now_ns);

#endif
