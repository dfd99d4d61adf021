/*
 * feed: see feed.h. Invariant: between SNAP_BEGIN and SNAP_END every port is marked
 * until the snapshot names it; outside, the table is the controller's view as of the
 * last record.
 */
#include "feed.h"
#include "common/grow.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct feed {
	struct subscriber *sub;
	struct ports *ports;
	struct vtepset *vteps;
	struct learner_counters *c;
	char node[WIRE_NAME_MAX];
	char host[WIRE_NAME_MAX];
	bool in_snap;
	uint32_t *snap_vteps;	/* the vswitches' VTEPs the snapshot named */
	size_t nsnap_vteps, snap_vteps_cap;
	uint32_t count;		/* ports held */
	uint64_t connects_seen;	/* the subscriber's connects folded into the counter */
	struct log_ratelimit rl;
};

static void
hello(void *arg, struct wire_hello *h)
{
	struct feed *f = arg;

	h->stream = WIRE_STREAM_BINDINGS;
	memcpy(h->node, f->node, sizeof(h->node));
	memcpy(h->host, f->host, sizeof(h->host));
}

static void
recount(struct feed *f)
{
	struct port p;
	uint32_t n = 0;

	for (uint32_t i = 0; i < ports_max(f->ports); i++)
		n += ports_get(f->ports, i, &p);
	f->count = n;
	STATS_SET(f->c, ports, n);
}

static void
vteps_gauges(struct feed *f)
{
	STATS_SET(f->c, vteps, vtepset_count(f->vteps));
	STATS_SET(f->c, vteps_loaded, vtepset_loaded(f->vteps));
}

static void
vteps_full(struct feed *f)
{
	STATS_INC(f->c, vteps_full);
	log_warnx_rl(&f->rl, "VTEP list full (%u): a host's VTEP is refused, its VXLAN "
	    "dropped", vtepset_max(f->vteps));
}

static int
host(struct feed *f, const struct wire_host *h)
{
	/* An external host's kernel vxlan sends to a gateway alone: never accept it here. */
	bool accept = h->kind == WIRE_HOST_VSWITCH && h->op == WIRE_HOST_ADD;

	if (f->in_snap) {
		if (h->op != WIRE_HOST_ADD)
			return -EPROTO;
		if (accept && grow(&f->snap_vteps, &f->snap_vteps_cap, f->nsnap_vteps,
		    sizeof(*f->snap_vteps), 64) < 0)
			return -ENOMEM;
		if (accept)
			f->snap_vteps[f->nsnap_vteps++] = h->vtep;
		return 0;
	}
	if (accept && vtepset_add(f->vteps, h->vtep) == -ENOSPC)
		vteps_full(f);
	else if (!accept)
		vtepset_del(f->vteps, h->vtep);
	vteps_gauges(f);
	return 0;
}

static int
record(void *arg, const struct wire_msg *m)
{
	struct feed *f = arg;
	struct port p = { 0 };

	switch (m->type) {
	case WIRE_SNAP_BEGIN:
		if (f->in_snap)
			return -EPROTO;
		f->in_snap = true;
		f->nsnap_vteps = 0;
		ports_mark_all(f->ports);
		return 0;
	case WIRE_SNAP_END:
		if (!f->in_snap)
			return -EPROTO;
		f->in_snap = false;
		if (ports_sweep(f->ports))
			log_info("VMs unbound while the binding feed was away are gone");
		recount(f);
		if (vtepset_replace(f->vteps, f->snap_vteps, f->nsnap_vteps) == -ENOSPC)
			vteps_full(f);
		vtepset_set_loaded(f->vteps);
		vteps_gauges(f);
		return 0;
	case WIRE_HOST:
		return host(f, &m->u.host);
	case WIRE_BIND:
		if (m->u.bind.op == WIRE_BIND_DEL) {
			ports_del(f->ports, m->u.bind.vni, m->u.bind.ip);
			recount(f);
			return 0;
		}
		p.vni = m->u.bind.vni;
		p.ip = m->u.bind.ip;
		memcpy(p.mac, m->u.bind.mac, 6);
		memcpy(p.tap, m->u.bind.tap, sizeof(p.tap));
		if (ports_set(f->ports, &p) < 0)
			log_warnx_rl(&f->rl, "port table full (%u): raise learner.max_ports",
			    ports_max(f->ports));
		if (!f->in_snap)
			recount(f);
		return 0;
	case WIRE_HEARTBEAT:
		return 0;
	default:
		return -EPROTO;
	}
}

static void
lost(void *arg)
{
	struct feed *f = arg;

	/* A snapshot cut short proves nothing about the ports it did not reach. */
	f->in_snap = false;
}

static const struct subscriber_ops feed_ops = { hello, record, lost };

struct feed *
feed_new(struct loop *l, const struct subscriber_params *p, const char *node,
    const char *host, struct ports *ports, struct vtepset *vteps,
    struct learner_counters *c)
{
	struct feed *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->ports = ports;
	f->vteps = vteps;
	f->c = c;
	snprintf(f->node, sizeof(f->node), "%s", node);
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	recount(f);
	vteps_gauges(f);
	if ((f->sub = subscriber_new(l, p, &feed_ops, f)) == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

void
feed_free(struct feed *f)
{
	if (f == NULL)
		return;
	subscriber_free(f->sub);
	free(f->snap_vteps);
	free(f);
}

void
feed_tick(struct feed *f)
{
	const struct subscriber_counters *sc = subscriber_counters(f->sub);

	STATS_SET(f->c, feed_connected, sc->connected);
	STATS_FOLD(f->c, feed_reconnects, sc->connects, f->connects_seen);
}
