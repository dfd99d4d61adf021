/*
 * gateways: see gateways.h. Invariant: the table's peers always mirror g[].
 */
#include "gateways.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/net.h"

#include <string.h>

static void
publish(struct gateways *gw)
{
	struct table_peer p[GATEWAYS_MAX];

	for (uint32_t i = 0; i < gw->n; i++)
		p[i] = (struct table_peer){ .addr = ntohl(gw->g[i].addr.sin_addr.s_addr),
		    .port = ntohs(gw->g[i].addr.sin_port), .up = gw->g[i].up };
	table_set_peers(gw->t, p, gw->n);
	STATS_SET(gw->c, gateways_up, gateways_up(gw));
}

void
gateways_init(struct gateways *gw, const struct sockaddr_in *addrs, uint32_t n,
    uint32_t down_after, uint64_t probe_ns, struct table *t, struct learner_counters *c)
{
	memset(gw, 0, sizeof(*gw));
	gw->n = n < GATEWAYS_MAX ? n : GATEWAYS_MAX;
	for (uint32_t i = 0; i < gw->n; i++) {
		gw->g[i].addr = addrs[i];
		gw->g[i].up = true;	/* until it fails to answer */
		gw->g[i].heard_ns = clock_mono_ns();	/* the first probe after probe_ns */
	}
	gw->down_after = down_after;
	gw->probe_ns = probe_ns;
	gw->t = t;
	gw->c = c;
	publish(gw);
}

int
gateways_find(const struct gateways *gw, const struct sockaddr_in *from)
{
	for (uint32_t i = 0; i < gw->n; i++)
		if (gw->g[i].addr.sin_addr.s_addr == from->sin_addr.s_addr &&
		    gw->g[i].addr.sin_port == from->sin_port)
			return (int)i;
	return -1;
}

uint32_t
gateways_up(const struct gateways *gw)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < gw->n; i++)
		n += gw->g[i].up;
	return n;
}

int
gateways_pick(const struct gateways *gw, uint32_t vni, uint32_t attempt)
{
	uint32_t live = gateways_up(gw), k;

	if (gw->n == 0)
		return -1;
	k = (vni * 0x9e3779b1u >> 16) + attempt;
	if (live == 0)
		return (int)(k % gw->n);
	k %= live;
	for (uint32_t i = 0; i < gw->n; i++)
		if (gw->g[i].up && k-- == 0)
			return (int)i;
	return 0;
}

void
gateways_ok(struct gateways *gw, int i)
{
	struct gateway *g = &gw->g[i];
	char ep[NET_ENDPOINT_STRLEN];

	g->fails = 0;
	g->heard_ns = clock_mono_ns();
	if (!g->up) {
		g->up = true;
		log_info("gateway %s answers again", net_endpoint_format(&g->addr, ep));
		publish(gw);
	}
}

void
gateways_fail(struct gateways *gw, int i, uint64_t now_ns)
{
	struct gateway *g = &gw->g[i];
	char ep[NET_ENDPOINT_STRLEN];

	if (++g->fails < gw->down_after || !g->up)
		return;
	g->up = false;
	g->next_probe_ns = now_ns + gw->probe_ns;
	STATS_INC(gw->c, gateway_downs);
	log_warnx("gateway %s left %u requests unanswered: down, its VPCs move to the others",
	    net_endpoint_format(&g->addr, ep), g->fails);
	publish(gw);
}

void
gateways_unreachable(struct gateways *gw, int i, uint64_t now_ns)
{
	struct gateway *g = &gw->g[i];
	char ep[NET_ENDPOINT_STRLEN];

	STATS_INC(gw->c, gateway_unreachable);
	g->fails = gw->down_after;
	if (!g->up)
		return;
	g->up = false;
	g->next_probe_ns = now_ns + gw->probe_ns;
	STATS_INC(gw->c, gateway_downs);
	log_warnx("gateway %s is unreachable (ICMP): down, its VPCs move to the others",
	    net_endpoint_format(&g->addr, ep));
	publish(gw);
}

void
gateways_probe_now(struct gateways *gw)
{
	for (uint32_t i = 0; i < gw->n; i++)
		gw->g[i].heard_ns = 0;
}

int
gateways_probe_due(struct gateways *gw, uint64_t now_ns)
{
	for (uint32_t i = 0; i < gw->n; i++) {
		struct gateway *g = &gw->g[i];

		if (now_ns < g->next_probe_ns || (g->up && now_ns - g->heard_ns < gw->probe_ns))
			continue;
		g->next_probe_ns = now_ns + gw->probe_ns;
		return (int)i;
	}
	return -1;
}
