/*
 * real.h: real learner processes (procs/learner, vpcfwd-learner) as hosts beside a
 * simulated fleet (bench/fleet.h), for a benchmark's figures to include the learner's
 * own path: its io_uring loop, its checks, its table. A real learner listens on
 * 127.0.15.N (its VTEP: where syncd sends it LEARNs, on syncd.learner_port), names its
 * host, and gets a rule the way a host does: its first packet's learn request pushed
 * through the gateway forwarder's learn ring (real_learn), then it long-polls the
 * gateways' syncds for that VPC like any host holding one of its VMs. A change's
 * arrival is the rule in its table (what its forwarder reads), polled from here
 * (real_poll) between the benchmark's other work: not by a thread of its own, whose
 * wake-ups (~26 us of CPU each in this VM, measured) would take CPU from the path being
 * measured. Header-only, like cluster.h; bench/scale and bench/converge use it.
 */
#ifndef BENCH_REAL_H
#define BENCH_REAL_H

#include "bench/cluster.h"
#include "common/clock.h"
#include "shm/events.h"
#include "shm/ring.h"

#define REAL_NET	0x7f000f00u	/* 127.0.15.0/24: the real learners' VTEPs */

/* What the real learners of a run share. */
struct real_conf {
	int ctl_port;			/* the controller's streams (the binding feed) */
	int learner_port;		/* syncd.learner_port: where LEARNs go */
	const struct auth_key *secret;	/* the cluster's (a host's key derives from it);
					   NULL: auth = false */
};

/* A real learner process: a host of its own. */
struct real {
	char node[64], host[16];
	uint32_t vtep;		/* 127.0.15.N, host order */
	struct table *t;	/* its table, once real_learn attached it */
	pid_t pid;
	uint64_t at_ns;		/* CLOCK_REALTIME when real_poll saw the rule; 0: not yet */
	struct table_rule rule;	/* what it saw */
};

/*
 * A real learner on node, host `host`, listening on vtep:learner_port, syncing from
 * gws[0 .. ngw), holding up to rules; its log in DIR/name.log.
 */
static inline pid_t
real_learner_start(const struct real_conf *rc, const char *node, const char *name,
    const char *host, uint32_t vtep, const struct sockaddr_in *gws, int ngw, uint64_t rules)
{
	char conf[2048], list[128] = "", auth[512], a[INET_ADDRSTRLEN];
	struct in_addr va = { .s_addr = htonl(vtep) };

	for (int g = 0; g < ngw; g++) {
		inet_ntop(AF_INET, &gws[g].sin_addr, a, sizeof(a));
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s:%d\"",
		    g ? ", " : "", a, ntohs(gws[g].sin_port));
	}
	if (rc->secret != NULL)
		snprintf(auth, sizeof(auth), " auth = true;\n auth_key = \"%s\";\n",
		    cluster_auth_host(rc->secret, host));
	else
		snprintf(auth, sizeof(auth), " auth = false;\n");
	inet_ntop(AF_INET, &va, a, sizeof(a));
	snprintf(conf, sizeof(conf), "node = \"%s\";\nlearner = {\n tls = false;\n"
	    " host = \"%s\";\n%s listen = \"%s:%d\";\n gateways = [%s];\n"
	    " controllers = [\"127.0.0.1:%d\"];\n table_capacity = %llu;\n"
	    " table_max_vnis = 16;\n cache_max_rules = %llu;\n};\n", node, host, auth, a,
	    rc->learner_port, list, rc->ctl_port, (unsigned long long)(rules + rules / 4),
	    (unsigned long long)rules);
	return cluster_start("vpcfwd-learner", conf, name);
}

/*
 * Real learner i (node rl<i>, log learner-<i>.log, VTEP 127.0.15.<i + 1>), host `host`,
 * syncing from gws[0 .. ngw), holding up to 1000 rules.
 */
static inline void
real_start(struct real *r, const struct real_conf *rc, int i, const char *host,
    const struct sockaddr_in *gws, int ngw)
{
	char name[32];

	if (i < 0 || i > 253)
		fatalx("%s: real learner %d: 0..253", the_cluster.bench, i);
	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->vtep = REAL_NET + (uint32_t)i + 1;
	snprintf(name, sizeof(name), "rl%d", i);
	snprintf(r->node, sizeof(r->node), "%s", cluster_node(name));
	snprintf(name, sizeof(name), "learner-%d", i);
	r->pid = real_learner_start(rc, r->node, name, r->host, r->vtep, gws, ngw, 1000);
}

/*
 * The first learn of (vni, ip) at each of rl[0 .. n), as gateway gw_node's forwarder
 * asks for it (its learn ring), until each holds the rule (20 s): then they sync vni
 * like any host holding one of its VMs. A learn request is pushed again every 50 ms:
 * with authentication syncd sends a host LEARNs only once it has heard from it.
 */
static inline void
real_learn(struct real *rl, int n, const char *gw_node, uint32_t vni, uint32_t ip)
{
	struct ring ring;
	struct table_rule r;

	if (learn_req_ring_create(&ring, gw_node, "forwarder", EV_LEARN_REQ_RING, 1024, 0) < 0)
		fatalx("%s: %s", the_cluster.bench, ring.seg.err);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = clock_mono_ns();

		rl[i].t = cluster_table_wait(rl[i].node, "learner");
		while (!table_get(rl[i].t, vni, ip, &r)) {
			struct ev_learn_req ev = { .vni = vni, .ip = ip, .src_vtep = rl[i].vtep };

			if (clock_mono_ns() - t0 > 20000000000ull)
				fatalx("%s: real learner %s never learned VNI %u's %08x (see "
				    "its log)", the_cluster.bench, rl[i].node, vni, ip);
			learn_req_ring_push(&ring, &ev, 1);
			usleep(50000);
		}
	}
	ring_close(&ring);
}

/* Before a change: none of rl[0 .. n) has seen it. */
static inline void
real_reset(struct real *rl, int n)
{
	for (int i = 0; i < n; i++)
		rl[i].at_ns = 0;
}

/*
 * Stamp each of rl[0 .. n) whose table holds (vni, ip) at version or newer, the first
 * time it is seen so; how many have it.
 */
static inline int
real_poll(struct real *rl, int n, uint32_t vni, uint32_t ip, uint64_t version)
{
	int has = 0;

	for (int i = 0; i < n; i++) {
		struct table_rule r;

		if (rl[i].at_ns == 0 && table_get(rl[i].t, vni, ip, &r) && r.version >= version) {
			rl[i].at_ns = clock_real_ns();
			rl[i].rule = r;
		}
		has += rl[i].at_ns != 0;
	}
	return has;
}

#endif
