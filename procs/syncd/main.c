/*
 * vpcfwd-syncd: one per gateway. Serves the sync protocol (common/sync.h) to the hosts'
 * learners from the gateway's rule table, which it reads without locks; answers parked
 * requests as the rule-store announces advanced VPCs; turns the gateway forwarder's
 * learn requests into LEARN datagrams. Arguments, configuration, then the loop.
 *
 *	vpcfwd-syncd [-n] -c FILE		(-n: check the configuration, exit)
 */
#include "admit.h"
#include "counters.h"
#include "serve.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "shm/events.h"
#include "shm/ringwatch.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TICK_NS		(20 * NS_PER_MS)
#define TABLE_RETRY_NS	(100 * NS_PER_MS)

struct state {
	struct loop *l;
	struct serve *serve;
	struct table *t;
	char table_seg[SEG_NAME_MAX];
	struct stats stats;
	struct syncd_counters *c;
	struct loop_timer tick;
	uint64_t next_table_try;
	char node[SEG_PART_MAX + 1];
	struct ringwatch *adv, *lrn;	/* watched once the table is there */
};

static void on_advance(struct ringwatch *w, struct ring *r, void *arg);
static void on_learn(struct ringwatch *w, struct ring *r, void *arg);

/*
 * The rule-store makes the table: until it has, keep trying. The rings are watched from
 * then on, so no learn request is taken before there is a table to answer it from.
 */
static void
attach_table(struct state *s)
{
	struct ringwatch_params rp;
	char err[512], ring[SEG_NAME_MAX];

	if (table_attach(&s->t, s->table_seg, err, sizeof(err)) < 0) {
		s->next_table_try = loop_now(s->l) + TABLE_RETRY_NS;
		return;
	}
	log_info("serving from %s", s->table_seg);
	serve_set_table(s->serve, s->t);
	seg_name(ring, sizeof(ring), s->node, "rule-store", EV_VNI_ADVANCE_RING);
	rp = (struct ringwatch_params){ .segname = ring,
	    .rec_size = sizeof(struct ev_vni_advance), .type_tag = EV_VNI_ADVANCE_TAG };
	if ((s->adv = ringwatch_new(s->l, &rp, on_advance, s->serve)) == NULL)
		fatalx("out of memory");
	seg_name(ring, sizeof(ring), s->node, "forwarder", EV_LEARN_REQ_RING);
	rp = (struct ringwatch_params){ .segname = ring,
	    .rec_size = sizeof(struct ev_learn_req), .type_tag = EV_LEARN_REQ_TAG };
	if ((s->lrn = ringwatch_new(s->l, &rp, on_learn, s->serve)) == NULL)
		fatalx("out of memory");
}

static void
tick(struct loop_timer *t)
{
	struct state *s = t->arg;

	if (s->t == NULL && loop_now(s->l) >= s->next_table_try)
		attach_table(s);
	serve_tick(s->serve);
	stats_heartbeat(&s->stats);
	loop_timer_set(s->l, t, TICK_NS);
}

static void
on_advance(struct ringwatch *w, struct ring *r, void *arg)
{
	struct ev_vni_advance ev[64];
	uint32_t n;

	(void)w;
	while ((n = vni_advance_ring_pop(r, ev, 64)) > 0)
		for (uint32_t i = 0; i < n; i++)
			serve_advance(arg, &ev[i]);
}

static void
on_learn(struct ringwatch *w, struct ring *r, void *arg)
{
	(void)w;
	serve_learn_ring(arg, r);
}

static void
read_allow(struct conf *c, struct addr_cidr *nets, uint32_t *n)
{
	const char *list[ADMIT_NETS_MAX];
	size_t k;

	if (conf_get_str_list(c, "syncd.allow", list, ADMIT_NETS_MAX, &k) < 0)
		fatalx("%s", conf_error(c));
	if (k == 0)
		fatalx("%s: syncd.allow must list the host networks that may sync: "
		    "allow = [\"10.0.0.0/8\"];", conf_path(c));
	for (size_t i = 0; i < k; i++) {
		bool ok = addr_cidr_parse(list[i], &nets[i]) == 0;
		uint32_t mask = ok && nets[i].len ? ~0u << (32 - nets[i].len) : 0;

		if (!ok || (nets[i].net & ~mask) != 0)
			conf_fatal_at(c, "syncd.allow", "syncd.allow[%zu] must be a network "
			    "\"a.b.c.d/len\" with no host bits, not \"%s\"", i, list[i]);
	}
	*n = (uint32_t)k;
}

/*
 * The cluster secret (DESIGN.md §9): required unless syncd.auth says plaintext, read
 * now so that -n refuses a key file of the wrong mode as a start would.
 */
static void
read_auth(struct conf *c, struct serve_params *sp, const char **pathp)
{
	const char *path;

	*pathp = NULL;
	sp->auth = conf_bool(c, "syncd.auth", true);
	path = conf_str(c, "syncd.auth_secret", NULL);
	if (!sp->auth)
		return;
	*pathp = path;
}

/* After conf_done (unknown settings first), before -n's exit: -n refuses it too. */
static void
load_auth(struct conf *c, struct serve_params *sp, const char *path)
{
	char err[512];

	if (!sp->auth)
		return;
	if (path == NULL)
		fatalx("%s: syncd.auth_secret must name the cluster secret's file (lines \"ID "
		    "HEX\", mode 0600; tools/vpcfwd-keygen), or syncd.auth = false for "
		    "plaintext", conf_path(c));
	if (auth_keys_read(path, &sp->secrets, err, sizeof(err)) < 0)
		fatalx("%s: syncd.auth_secret: %s", conf_path(c), err);
}

int
main(int argc, char **argv)
{
	const char *listen;
	struct conf_common common;
	struct serve_params sp = { 0 };
	struct addr_cidr nets[ADMIT_NETS_MAX];
	struct state s = { 0 };
	static struct admit admit;
	uint32_t nnets, rate, burst;
	char err[512];
	bool check = false;
	struct conf *c;
	const char *auth_path;
	int rc;

	c = daemon_start(argc, argv, "syncd", &common, &check);
	listen = conf_str(c, "syncd.listen", "0.0.0.0:4806");
	if (net_endpoint_parse(listen, &sp.listen, 1) < 0)
		conf_fatal_at(c, "syncd.listen", "syncd.listen must be \"a.b.c.d:port\", not "
		    "\"%s\"", listen);
	sp.learner_port = conf_int(c, "syncd.learner_port", 4807, 1, 65535);
	sp.page_bytes = conf_int(c, "syncd.page_bytes", 1400, 512, 65000);
	sp.max_wait_ns = conf_duration(c, "syncd.max_wait", 5 * NS_PER_S, 0, 60 * NS_PER_S);
	sp.max_parked = conf_int(c, "syncd.max_parked", 32768, 1, 1 << 20);
	sp.recv_depth = conf_int(c, "syncd.recv_depth", 64, 1, 4096);
	sp.send_buffers = conf_int(c, "syncd.send_buffers", 1024, 16, 65536);
	rate = conf_int(c, "syncd.rate", 20000, 1, 10000000);
	burst = conf_int(c, "syncd.burst", 5000, 1, 10000000);
	read_allow(c, nets, &nnets);
	read_auth(c, &sp, &auth_path);
	conf_done(c, "syncd");
	load_auth(c, &sp, auth_path);
	if (check)
		return daemon_check_done(c);
	log_set_level(common.log_level);
	if (!sp.auth)
		log_warnx("syncd.auth = false: sync and learn datagrams are neither "
		    "authenticated nor checked; anyone on the underlay can forge them");
	admit_init(&admit, nets, nnets, rate, burst);

	if ((s.c = stats_create(&s.stats, common.node, "syncd", syncd_stats_defs,
	    syncd_stats_count)) == NULL)
		fatalx("%s", s.stats.seg.err);
	seg_name(s.table_seg, sizeof(s.table_seg), common.node, "rule-store", "table");
	if ((s.l = loop_new(1024, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((s.serve = serve_new(s.l, &sp, &admit, s.c, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	snprintf(s.node, sizeof(s.node), "%s", common.node);
	daemon_signals();
	s.tick = (struct loop_timer){ .fn = tick, .arg = &s };
	loop_timer_set(s.l, &s.tick, 0);
	log_info("node %s: sync on port %d, LEARNs to learners' port %u, io_uring futex "
	    "waits %s", common.node, serve_port(s.serve), sp.learner_port,
	    loop_has_futex(s.l) ? "yes" : "no (polling rings)");
	daemon_ready();
	rc = loop_run(s.l, &daemon_stop);
	log_info("stopping");
	ringwatch_free(s.adv);
	ringwatch_free(s.lrn);
	serve_free(s.serve);
	/* the cancels complete, memory is released */
	loop_settle(s.l, LOOP_SETTLE_QUIET_NS, LOOP_SETTLE_MAX_NS);
	loop_free(s.l);
	table_close(s.t);
	stats_close(&s.stats);
	conf_free(c);
	return rc < 0 ? 1 : 0;
}
