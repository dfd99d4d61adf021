/*
 * vpcfwd-rule-store: one per gateway. Replicates the controller's rules into the
 * gateway's rule table in shared memory (it is the table's only writer) and tells
 * syncd which VPCs advanced. Arguments, configuration, then the loop.
 *
 *	vpcfwd-rule-store [-n] -c FILE		(-n: check the configuration, exit)
 */
#include "apply.h"
#include "conncount.h"
#include "counters.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "common/subscriber.h"
#include "common/tls.h"
#include "shm/events.h"
#include "shm/table_conf.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAINTAIN_NS	(10 * NS_PER_MS)
#define STATUS_NS	(1000 * NS_PER_MS)	/* a STATUS at least this often */

struct state {
	struct loop *l;
	struct table *t;
	struct vtepset *vteps;		/* the gateway forwarder's allow-list */
	struct apply *a;
	struct subscriber *sub;
	const char *node;
	struct stats stats;
	struct rule_store_counters *c;
	struct subscriber_counters seen;	/* the subscriber's, at the last tick */
	struct loop_timer tick;
	uint64_t status_ns;		/* when the last STATUS went */
	uint64_t status_gen;		/* apply_status_gen() it reported */
	uint64_t connects;		/* subscriber connects at the last STATUS */
};

/*
 * Tell the controller the table's room and incomplete VPCs: on every connection, when
 * they change, and every second (the controller admits changes against it).
 */
static void
status(struct state *s, uint64_t now)
{
	const struct subscriber_counters *sc = subscriber_counters(s->sub);
	struct wire_msg m = { .type = WIRE_STATUS };

	if (!sc->connected || (now - s->status_ns < STATUS_NS && sc->connects == s->connects &&
	    apply_status_gen(s->a) == s->status_gen))
		return;
	apply_status(s->a, &m.u.status);
	if (subscriber_send(s->sub, &m) < 0)
		return;
	s->status_ns = now;
	s->status_gen = apply_status_gen(s->a);
	s->connects = sc->connects;
	STATS_INC(s->c, status_sent);
}

/* Ask for what the table lacks once it has room for it. */
static void
want(struct state *s, uint64_t now)
{
	struct wire_msg m = { .type = WIRE_WANT };

	if (!subscriber_counters(s->sub)->connected || apply_want(s->a, now, &m.u.want_vni) <= 0)
		return;
	if (subscriber_send(s->sub, &m) < 0)
		apply_reset(s->a);	/* the connection is going: ask again on the next */
}

/* Reclaim table entries, reap dead readers, and show we are alive. */
static void
tick(struct loop_timer *t)
{
	struct state *s = t->arg;
	uint64_t now = loop_now(s->l);

	table_maintain(s->t);
	/* Dropped VPCs' slots come back here, once their readers have moved on. */
	apply_gauges(s->a);
	status(s, now);
	want(s, now);
	conncount_fold(s->c, &s->seen, subscriber_counters(s->sub));
	vtepset_heartbeat(s->vteps);
	stats_heartbeat(&s->stats);
	loop_timer_set(s->l, t, MAINTAIN_NS);
}

/* The log stream after the seq the table holds, in the history it belongs to. */
static void
hello(void *arg, struct wire_hello *h)
{
	struct state *s = arg;

	h->stream = WIRE_STREAM_RULES;
	h->last_seq = apply_hello(s->a, &h->epoch);
	snprintf(h->node, sizeof(h->node), "%s", s->node);
}

static int
record(void *arg, const struct wire_msg *m)
{
	return apply_msg(((struct state *)arg)->a, m);
}

static void
lost(void *arg)
{
	apply_reset(((struct state *)arg)->a);
}

static const struct subscriber_ops sub_ops = { hello, record, lost };

int
main(int argc, char **argv)
{
	struct conf_common common;
	struct subscriber_params cp = { .what = "controller" };
	struct table_params tp;
	struct tls_conf tc;
	struct state s = { 0 };
	struct ring ring;
	struct conf *c;
	uint32_t ring_size;
	char err[512];
	int rc;
	bool check = false;

	c = daemon_start(argc, argv, "rule-store", &common, &check);
	cp.naddrs = conf_endpoints(c, "rule_store.controllers", cp.addrs, SUBSCRIBER_ADDRS_MAX,
	    "controllers = [\"10.0.0.1:7400\"];");
	if (table_conf_read(c, "rule_store", TABLE_GATEWAY, &tp) < 0)
		fatalx("%s", conf_error(c));
	s.node = common.node;
	cp.timeout_ns = conf_duration(c, "rule_store.controller_timeout", 3 * NS_PER_S,
	    100 * NS_PER_MS, 600 * NS_PER_S);
	cp.backoff_min_ns = conf_duration(c, "rule_store.reconnect_min", 100 * NS_PER_MS,
	    NS_PER_MS, 60 * NS_PER_S);
	cp.backoff_max_ns = conf_duration(c, "rule_store.reconnect_max", 5 * NS_PER_S,
	    cp.backoff_min_ns, 600 * NS_PER_S);
	ring_size = conf_int(c, "rule_store.advance_ring", 4096, RING_CAP_MIN, RING_CAP_MAX);
	if (ring_size & (ring_size - 1))
		conf_fatal_at(c, "rule_store.advance_ring", "rule_store.advance_ring must be a "
		    "power of two, not %u", ring_size);
	tls_conf_read(c, "rule_store", &tc);
	conf_done(c, "rule_store");
	tls_conf_check(&tc);
	if (check)
		return daemon_check_done(c);
	log_set_level(common.log_level);
	cp.tls = tls_ctx_start(&tc, false);

	if ((s.c = stats_create(&s.stats, common.node, "rule-store", rule_store_stats_defs,
	    rule_store_stats_count)) == NULL)
		fatalx("%s", s.stats.seg.err);
	if (table_create(&s.t, common.node, "rule-store", &tp, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if (vtepset_create(&s.vteps, common.node, "rule-store", VTEPSET_MAX_DEFAULT, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	/* A few events a second: a fence a push beats a membarrier each time syncd sleeps. */
	if (vni_advance_ring_create(&ring, common.node, "rule-store", EV_VNI_ADVANCE_RING,
	    ring_size, 0) < 0)
		fatalx("%s", ring.seg.err);
	if ((s.l = loop_new(64, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((s.a = apply_new(s.t, s.vteps, &ring, s.c)) == NULL ||
	    (s.sub = subscriber_new(s.l, &cp, &sub_ops, &s)) == NULL)
		fatalx("out of memory");
	daemon_signals();
	s.tick = (struct loop_timer){ .fn = tick, .arg = &s };
	loop_timer_set(s.l, &s.tick, 0);
	log_info("node %s: table %s (%u rules, applied seq %llu), %zu controller address(es)",
	    common.node, table_seg(s.t)->name, table_count(s.t),
	    (unsigned long long)table_applied_seq(s.t), cp.naddrs);
	daemon_ready();
	rc = loop_run(s.l, &daemon_stop);
	log_info("stopping at seq %llu", (unsigned long long)table_applied_seq(s.t));
	conncount_fold(s.c, &s.seen, subscriber_counters(s.sub));
	subscriber_free(s.sub);
	apply_free(s.a);
	/* the cancels complete, memory is released */
	loop_settle(s.l, LOOP_SETTLE_QUIET_NS, LOOP_SETTLE_MAX_NS);
	loop_free(s.l);
	table_close(s.t);
	vtepset_close(s.vteps);
	ring_close(&ring);
	tls_ctx_free(cp.tls);
	stats_close(&s.stats);
	conf_free(c);
	return rc < 0 ? 1 : 0;
}
