/*
 * vpcfwd-forwarder: the data plane of a host (vswitch mode) or a gateway (gateway mode),
 * DESIGN.md §3. Reads its node's rule table without locks (the learner's on a host, the
 * rule-store's on a gateway); on a host it also follows the learner's port table and
 * holds the VMs' TAPs, on a gateway it feeds syncd's learn ring. Arguments,
 * configuration, then the loop; the work is in dp.c.
 *
 *	vpcfwd-forwarder [-n] -c FILE		(-n: check the configuration, exit)
 */
#include "counters.h"
#include "dp.h"
#include "xsk.h"
#include "learnlim.h"
#include "pkt.h"
#include "vports.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/conf.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/net.h"
#include "shm/events.h"
#include "shm/ports.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_NS		(10 * NS_PER_MS)
/* xdp mode: runs to one VTEP this long go as UDP GSO (docs/forwarder.md, "Underlay I/O"). */
#define XDP_SOCKET_RUNS	4
#define ATTACH_RETRY_NS	(100 * NS_PER_MS)
/*
 * Learn requests syncd has not taken yet: a learn storm's first packets while syncd,
 * which takes only as many as it has send buffers for, catches up. 4096 overflowed at
 * 100,000 first packets a second (bench/storm); this is 1 MB of /dev/shm.
 */
#define LEARN_RING_DEFAULT	65536

struct state {
	struct loop *l;
	struct dp *dp;
	enum dp_mode mode;
	char node[SEG_PART_MAX + 1];
	char table_seg[SEG_NAME_MAX];
	struct table *t;
	struct vtepset *vteps;		/* the learner's or the rule-store's */
	const char *vteps_proc;
	struct ports *ports;		/* vswitch */
	struct vports *vp;		/* vswitch */
	uint64_t tap_errors_seen;	/* vports' errors folded into the counter */
	struct vports_params vpp;
	struct ring learn;		/* gateway */
	bool learn_ok;
	uint64_t next_attach;
	struct stats stats;
	struct forwarder_counters *c;
	struct loop_timer tick;
	uint64_t loop_slow_seen;	/* loop_trips_slow folded into loop_slow */
	uint64_t next_trip_ns;		/* when loop_max_us is published next */
};

/* The learner or rule-store makes the segments: until they are there, keep trying. */
static void
attach(struct state *s)
{
	char err[512];

	if (s->t == NULL && table_attach(&s->t, s->table_seg, err, sizeof(err)) == 0) {
		log_info("forwarding with rules from %s", s->table_seg);
		dp_set_table(s->dp, s->t);
	}
	if (s->vteps == NULL &&
	    vtepset_attach(&s->vteps, s->node, s->vteps_proc, err, sizeof(err)) == 0) {
		log_info("accepting VXLAN from the VTEPs of %s's list (%u now%s)",
		    s->vteps_proc, vtepset_count(s->vteps),
		    vtepset_loaded(s->vteps) ? "" : ", not loaded yet");
		dp_set_vteps(s->dp, s->vteps);
	}
	if (s->mode == DP_VSWITCH && s->ports == NULL &&
	    ports_attach(&s->ports, s->node, err, sizeof(err)) == 0) {
		log_info("following the port table of node %s (%u ports at most)", s->node,
		    ports_max(s->ports));
		if ((s->vp = vports_new(s->l, &s->vpp, ports_max(s->ports), dp_port_opened,
		    s->dp)) == NULL)
			fatalx("out of memory");
		dp_set_vports(s->dp, s->vp);
	}
	s->next_attach = loop_now(s->l) + ATTACH_RETRY_NS;
}

static void
tick(struct loop_timer *t)
{
	struct state *s = t->arg;

	if ((s->t == NULL || s->vteps == NULL || (s->mode == DP_VSWITCH && s->ports == NULL)) &&
	    loop_now(s->l) >= s->next_attach)
		attach(s);
	if (s->ports) {
		STATS_SET(s->c, ports, vports_sync(s->vp, s->ports));
		STATS_FOLD(s->c, tap_errors, vports_errors(s->vp), s->tap_errors_seen);
	}
	dp_tick(s->dp);
	STATS_FOLD(s->c, loop_slow, loop_trips_slow(s->l), s->loop_slow_seen);
	if (loop_now(s->l) >= s->next_trip_ns) {
		STATS_SET(s->c, loop_max_us, loop_trip_max_take(s->l) / 1000);
		s->next_trip_ns = loop_now(s->l) + NS_PER_S;
	}
	stats_heartbeat(&s->stats);
	loop_timer_set(s->l, t, TICK_NS);
}

/* forwarder.io and the settings of its xdp mode (docs/forwarder.md, "Underlay I/O"). */
static void
read_io(struct conf *c, struct dp_params *dp)
{
	static const char *const io[] = { [DP_IO_SOCKET] = "socket", [DP_IO_XDP] = "xdp",
	    [DP_IO_AUTO] = "auto" };
	static const char *const mode[] = { [XSK_MODE_AUTO] = "auto",
	    [XSK_MODE_NATIVE] = "native", [XSK_MODE_SKB] = "generic" };
	const char *v;

	v = conf_str(c, "forwarder.io", "auto");
	for (dp->io = DP_IO_SOCKET; dp->io <= DP_IO_AUTO; dp->io++)
		if (strcmp(v, io[dp->io]) == 0)
			break;
	if (dp->io > DP_IO_AUTO)
		conf_fatal_at(c, "forwarder.io", "forwarder.io must be \"socket\", \"xdp\" or "
		    "\"auto\", not \"%s\"", v);
	dp->xdp_ifname = conf_str(c, "forwarder.xdp_interface", NULL);
	dp->xdp_ring = conf_int(c, "forwarder.xdp_ring_size", 2048, 64, 16384);
	if (dp->xdp_ring & (dp->xdp_ring - 1))
		conf_fatal_at(c, "forwarder.xdp_ring_size", "forwarder.xdp_ring_size must be a "
		    "power of two, not %u", dp->xdp_ring);
	dp->xdp_socket_runs = conf_int(c, "forwarder.xdp_socket_runs", XDP_SOCKET_RUNS, 0,
	    64);
	dp->xdp_fast_rules = conf_int(c, "forwarder.xdp_fast_rules", 65536, 0, 1u << 26);
	dp->xdp_fast_vnis = conf_int(c, "forwarder.xdp_fast_vnis", 4096, 1, 1u << 20);
	dp->xdp_fast_ttl_ns = conf_duration(c, "forwarder.xdp_fast_ttl", NS_PER_S,
	    10 * NS_PER_MS, 60 * NS_PER_S);
	v = conf_str(c, "forwarder.xdp_mode", "auto");
	for (dp->xdp_mode = 0; dp->xdp_mode < (int)(sizeof(mode) / sizeof(mode[0])); dp->xdp_mode++)
		if (mode[dp->xdp_mode] && strcmp(v, mode[dp->xdp_mode]) == 0)
			break;
	if (dp->xdp_mode == (int)(sizeof(mode) / sizeof(mode[0])))
		conf_fatal_at(c, "forwarder.xdp_mode", "forwarder.xdp_mode must be \"auto\", "
		    "\"native\" or \"generic\", not \"%s\"", v);
}

static void
read_conf(struct conf *c, struct dp_params *dp, struct vports_params *vpp, uint32_t *ring)
{
	const char *mode, *listen, *mac;
	char ebuf[256];

	mode = conf_str(c, "forwarder.mode", NULL);
	if (mode == NULL || (strcmp(mode, "vswitch") != 0 && strcmp(mode, "gateway") != 0))
		conf_fatal_at(c, "forwarder.mode", "forwarder.mode must be \"vswitch\" (a host) "
		    "or \"gateway\"%s%s%s", mode ? ", not \"" : "", mode ? mode : "",
		    mode ? "\"" : "");
	dp->mode = strcmp(mode, "vswitch") == 0 ? DP_VSWITCH : DP_GATEWAY;
	listen = conf_str(c, "forwarder.listen", NULL);
	if (listen == NULL || net_endpoint_parse(listen, &dp->listen, 0) < 0 ||
	    dp->listen.sin_addr.s_addr == 0)
		conf_fatal_at(c, "forwarder.listen", "forwarder.listen must be this node's VTEP, "
		    "\"a.b.c.d:port\" with a real address: listen = \"192.168.0.11:4789\";");
	dp->vxlan_port = conf_int(c, "forwarder.vxlan_port", 4789, 1, 65535);
	dp->learn_interval_ns = conf_duration(c, "forwarder.learn_interval", NS_PER_S,
	    NS_PER_MS, 3600 * NS_PER_S);
	dp->learn_slots = conf_int(c, "forwarder.learn_slots", LEARNLIM_SLOTS_DEFAULT,
	    LEARNLIM_SLOTS_MIN, LEARNLIM_SLOTS_MAX);
	if (dp->learn_slots & (dp->learn_slots - 1))
		conf_fatal_at(c, "forwarder.learn_slots", "forwarder.learn_slots must be a power "
		    "of two, not %u", dp->learn_slots);
	mac = conf_str(c, "forwarder.router_mac", "02:00:00:00:00:01");
	if (addr_mac_check("forwarder.router_mac", mac, dp->router_mac, ebuf) < 0)
		conf_fatal_at(c, "forwarder.router_mac", "%s", ebuf);
	dp->bufs = conf_int(c, "forwarder.buffers", 4096, 256, 1 << 20);
	dp->udp_recvs = conf_int(c, "forwarder.udp_recvs", 128, 1, 4096);
	dp->tap_recvs = conf_int(c, "forwarder.tap_recvs", 32, 1, 256);
	if (dp->udp_recvs + 2 * dp->tap_recvs > dp->bufs / 2)
		conf_fatal_at(c, "forwarder.buffers", "forwarder.buffers (%u) must be at least "
		    "twice udp_recvs + 2 tap_recvs (%u)", dp->bufs,
		    2 * (dp->udp_recvs + 2 * dp->tap_recvs));
	read_io(c, dp);
	/* A frame of the MTU must fit a buffer behind the VXLAN header. */
	vpp->mtu = conf_int(c, "forwarder.tap_mtu", 1450, 68, TAP_MTU_MAX);
	vpp->tap_netns = conf_bool(c, "forwarder.tap_netns", true);
	vpp->netns_dir = conf_str(c, "forwarder.netns_dir", "/run/netns");
	*ring = conf_int(c, "forwarder.learn_ring_size", LEARN_RING_DEFAULT, RING_CAP_MIN,
	    RING_CAP_MAX);
	if (*ring & (*ring - 1))
		conf_fatal_at(c, "forwarder.learn_ring_size", "forwarder.learn_ring_size must "
		    "be a power of two, not %u", *ring);
	conf_done(c, "forwarder");
}

int
main(int argc, char **argv)
{
	struct conf_common common;
	struct dp_params dpp = { 0 };
	struct state s = { 0 };
	uint32_t ring_size;
	char err[512], vtep[INET_ADDRSTRLEN];
	bool check = false;
	struct conf *c;
	int rc;

	c = daemon_start(argc, argv, "forwarder", &common, &check);
	read_conf(c, &dpp, &s.vpp, &ring_size);
	if (check)
		return daemon_check_done(c);
	log_set_level(common.log_level);
	s.mode = dpp.mode;
	s.vteps_proc = s.mode == DP_VSWITCH ? "learner" : "rule-store";
	snprintf(s.node, sizeof(s.node), "%s", common.node);
	seg_name(s.table_seg, sizeof(s.table_seg), common.node,
	    s.mode == DP_VSWITCH ? "learner" : "rule-store", "table");
	if ((s.c = stats_create(&s.stats, common.node, "forwarder", forwarder_stats_defs,
	    forwarder_stats_count)) == NULL)
		fatalx("%s", s.stats.seg.err);
	if ((s.l = loop_new(4096, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((s.dp = dp_new(s.l, &dpp, s.c, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (s.mode == DP_GATEWAY) {
		if (learn_req_ring_create(&s.learn, common.node, "forwarder", EV_LEARN_REQ_RING,
		    ring_size, 0) < 0)
			fatalx("%s", s.learn.seg.err);
		dp_set_learn_ring(s.dp, &s.learn);
	}
	daemon_signals();
	attach(&s);
	s.tick = (struct loop_timer){ .fn = tick, .arg = &s };
	loop_timer_set(s.l, &s.tick, 0);
	log_info("node %s: %s, VTEP %s:%u, %u buffers", common.node,
	    s.mode == DP_VSWITCH ? "vswitch" : "gateway",
	    inet_ntop(AF_INET, &dpp.listen.sin_addr, vtep, sizeof(vtep)),
	    ntohs(dpp.listen.sin_port), dpp.bufs);
	daemon_ready();
	rc = loop_run(s.l, &daemon_stop);
	log_info("stopping");
	dp_stop(s.dp);
	loop_settle(s.l, LOOP_SETTLE_QUIET_NS, LOOP_SETTLE_MAX_NS);
	vports_free(s.vp);
	dp_free(s.dp);
	loop_free(s.l);
	if (s.mode == DP_GATEWAY)
		ring_close(&s.learn);
	ports_close(s.ports);
	table_close(s.t);
	vtepset_close(s.vteps);
	stats_close(&s.stats);
	conf_free(c);
	return rc < 0 ? 1 : 0;
}
