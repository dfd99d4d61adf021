/*
 * bench/storm: a learn storm (issue 12, item 4; DESIGN.md §3.1-6). VMs on real hosts send
 * the first packet of a flow to each of -n distinct destinations (100,000) within a few
 * seconds; every one must reach its destination's host, the learners must end holding
 * every rule, and the flows must then go direct.
 *
 * What runs (bench/topo.h, on bench/netns.h: namespaces without names, gone with the
 * run): an underlay bridge, 192.168.79.0/24, and on it, each in its namespace, as real
 * processes of this build: a controller (.2; streams in plaintext, as every benchmark
 * runs them), two gateways (.11, .12: rule-store, syncd, gateway forwarder) and two
 * hosts (.21, .22: learner, vswitch forwarder), sync and learn datagrams authenticated
 * (the default). One VM on each host, a namespace on its TAP, routing VPC 10.0.0.0/8
 * through the VPC's virtual router (which the vswitch answers ARP for). Simulated: the
 * destinations' -H hosts (1,000), registered at the controller with VTEPs
 * 172.21.0.0/16 that are local addresses of one more namespace (.50; the others route
 * there), where tests/stress/storm_peer counts the VXLAN frames each destination gets,
 * by its inner address, via a gateway or direct, and checks the VTEP each went to.
 * Destination i is
 * VM 10.1.0.0 + i on simulated host i % H, imported with `vpcfwdctl import`; VM 1 sends
 * to the even ones, VM 2 to the odd ones, each a UDP datagram at -r/2 a second.
 *
 * Measured, in one run:
 *  storm	the storm: the first packets lost (destinations whose host counted no
 *		frame of it: storm_first_packets_lost, goal 0, against the first packets
 *		sent); the time from the first first packet until the learners' caches
 *		hold every destination's rule (polled each ms), from when on every flow
 *		goes direct (storm_all_direct_s, against the storm's own length, first to
 *		last packet sent); LEARNs a second, the rules installed over that time
 *		(storm_learns_per_s, against the first packets sent a second); the
 *		gateways' CPU (forwarder and syncd of both, sum of their threads'
 *		run time, /proc/PID/task/N/schedstat) over the storm per LEARN sent
 *		(storm_gateway_cpu_us_per_learn).
 *  baseline	the gateways' forwarders' CPU per frame they relay without the learn
 *		bit: the same inner frames to the same destinations at the same rate, as
 *		VXLAN from host 1's VTEP to the gateway each destination hashes to (what
 *		a host sends before it has a rule, minus the learn bit), once before the
 *		storm and once after; the two together.
 *  direct	one more datagram from each VM to each of its destinations: each must be
 *		counted at its host as direct, the hosts must send none via a gateway.
 * Every rule the learners hold is checked against the destination's VTEP. A property
 * that does not hold fails the run (exit 1) once the figures are printed, with the
 * counters that moved in the storm (where the frames went); the rows are written either
 * way (a loss is a figure too), each with a "note" saying what failed.
 *
 * Writes its rows into bench/results/scale.json, keeping the rows other runs wrote
 * (bench_write_merged); with -n other than 100000 the names end in _<n/1000>k.
 *
 *	storm [-n DESTINATIONS] [-H HOSTS] [-r RATE]
 */
#include "bench/topo.h"

#include <getopt.h>

#define VNI		TOPO_VNI
#define DST0		0x0a010000u	/* 10.1.0.0: destination 0 */
#define NGW		2
#define NHOST		2
#define LEARN_QUIET_S	5		/* after the storm: no rule more for this long, give up */

static struct {
	uint32_t n, hosts, rate;
	const char *suffix;
	char note[256];		/* a failed run's rows say what failed */
} S;

/* Run time of every thread of pid, ns (0 when it is gone): finer than clock ticks. */
static uint64_t
task_cpu_ns(pid_t pid)
{
	char path[64];
	struct dirent *e;
	uint64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char f[400];
		unsigned long long run;
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/schedstat", path, e->d_name);
		if ((fp = fopen(f, "r")) == NULL)
			continue;
		if (fscanf(fp, "%llu", &run) == 1)
			sum += run;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

/* Run time of both gateways' process proc (GW_*), ns. */
static uint64_t
gw_cpu_ns(int proc)
{
	uint64_t sum = 0;

	for (int g = 0; g < NGW; g++)
		sum += task_cpu_ns(T.gw[g].pid[proc]);
	return sum;
}

/* Every counter of the cluster's gateways and hosts, in the order where() prints them. */
#define SNAP_MAX	1024

struct snap {
	uint64_t v[SNAP_MAX];
};

static void
snap_take(struct snap *sn)
{
	uint32_t k = 0;

	for (int g = 0; g < NGW; g++)
		for (int p = GW_SYNCD; p <= GW_FWD; p++)
			for (uint32_t i = 0; i < T.gw[g].st[p].hdr->count && k < SNAP_MAX; i++)
				sn->v[k++] = stats_value(&T.gw[g].st[p], i);
	for (int h = 0; h < NHOST; h++)
		for (int p = H_LEARNER; p <= H_FWD; p++)
			for (uint32_t i = 0; i < T.host[h].st[p].hdr->count && k < SNAP_MAX; i++)
				sn->v[k++] = stats_value(&T.host[h].st[p], i);
}

/* What moved from a to b on the data and learn paths, a node a line: where frames went. */
static void
where(const char *what, const struct snap *a, const struct snap *b)
{
	static const char *pre[] = { "rx_", "tx_", "drop_", "learn", "req_", "auth_", "sync_" };
	uint32_t k = 0;

	printf("storm: %s, counters that moved:\n", what);
	for (int x = 0; x < NGW + NHOST; x++) {
		struct topo_node *nd = x < NGW ? &T.gw[x] : &T.host[x - NGW];

		printf("  %s%d:", x < NGW ? "gw" : "h", x < NGW ? x + 1 : x - NGW + 1);
		for (int p = x < NGW ? GW_SYNCD : H_LEARNER; p <= (x < NGW ? GW_FWD : H_FWD);
		    p++)
			for (uint32_t i = 0; i < nd->st[p].hdr->count && k < SNAP_MAX; i++, k++) {
				bool show = false;

				for (size_t j = 0; j < sizeof(pre) / sizeof(pre[0]); j++)
					show |= strncmp(nd->st[p].desc[i].name, pre[j],
					    strlen(pre[j])) == 0;
				if (show && b->v[k] != a->v[k])
					printf(" %s.%s +%llu", x < NGW ? (p == GW_SYNCD ? "syncd" :
					    "fwd") : (p == H_LEARNER ? "learner" : "fwd"),
					    nd->st[p].desc[i].name,
					    (unsigned long long)(b->v[k] - a->v[k]));
			}
		printf("\n");
	}
	fflush(stdout);
	for (int h = 0; h < NHOST; h++) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "nsenter --net=%s ip -s -o link show dev %s | "
		    "sed 's/^/  /'", T.vm[h].path, T.vm[h].name);
		if (system(cmd) != 0)
			printf("  (no link counters of %s)\n", T.vm[h].name);
	}
}

struct gens {
	pid_t pid[NHOST];
	char out[NHOST][64];
	int n;
};

/* Each VM sends one datagram to each of its destinations (VM k: DST0 + k, + 2, ...). */
static void
gen_vms_start(struct gens *gs, const char *tag)
{
	char n[16], dst[ADDR_IP4_STRLEN], first[NHOST][16], r[16];

	addr_ip4_format(DST0, dst);
	snprintf(n, sizeof(n), "%u", S.n);
	snprintf(r, sizeof(r), "%u", S.rate / NHOST);
	gs->n = NHOST;
	for (int k = 0; k < NHOST; k++) {
		char *args[] = { "storm_peer", "gen", "-n", n, "-d", dst, "-o", first[k], "-s",
		    "2", "-r", r, NULL };

		snprintf(first[k], sizeof(first[k]), "%d", k);
		snprintf(gs->out[k], sizeof(gs->out[k]), "gen-%s-vm%d.json", tag, k + 1);
		gs->pid[k] = topo_peer_start(&T.vm[k], gs->out[k], args);
	}
}

/* Whether every generator of gs has exited (without reaping them). */
static bool
gen_vms_done(const struct gens *gs)
{
	for (int k = 0; k < gs->n; k++) {
		siginfo_t si = { 0 };

		if (waitid(P_PID, (id_t)gs->pid[k], &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0)
			return false;
	}
	return true;
}

/* Both done: the first send and the last of both, and what they sent. */
static struct topo_gen_out
gen_vms_wait(struct gens *gs)
{
	struct topo_gen_out all = { 0 };

	for (int k = 0; k < gs->n; k++) {
		struct topo_gen_out g = topo_gen_wait(gs->pid[k], gs->out[k]);

		all.sent += g.sent;
		if (all.t0 == 0 || g.t0 < all.t0)
			all.t0 = g.t0;
		if (g.t1 > all.t1)
			all.t1 = g.t1;
	}
	return all;
}

/* The gateways' load without learning: VXLAN frames from host 1's VTEP, learn bit clear. */
static struct topo_gen_out
gen_relay(const char *tag)
{
	char ns_[16], dst[ADDR_IP4_STRLEN], r[16], gws[64], vni[16], out[64];
	char *args[] = { "storm_peer", "gen", "-n", ns_, "-d", dst, "-r", r, "-x", gws, "-S",
	    T.host[0].ip, "-v", vni, NULL };

	addr_ip4_format(DST0, dst);
	snprintf(ns_, sizeof(ns_), "%u", S.n);
	snprintf(r, sizeof(r), "%u", S.rate);
	snprintf(gws, sizeof(gws), "%s,%s", T.gw[0].ip, T.gw[1].ip);
	snprintf(vni, sizeof(vni), "%d", VNI);
	snprintf(out, sizeof(out), "gen-%s.json", tag);
	return topo_gen_wait(topo_peer_start(&T.host[0].ns, out, args), out);
}

/* Rules of the learner caches (the warm-up's included). */
static uint64_t
learned(void)
{
	uint64_t sum = 0;

	for (int h = 0; h < NHOST; h++)
		sum += table_count(T.host[h].t);
	return sum;
}

/* ---- set-up --------------------------------------------------------------------------- */

/* The storm's VMs: one on each real host, a warm-up destination each, the destinations. */
static void
populate(void)
{
	char csv[300], ip[ADDR_IP4_STRLEN];
	FILE *f;

	topo_register("storm", S.hosts);
	snprintf(csv, sizeof(csv), "%s/vms.csv", cluster_dir());
	if ((f = fopen(csv, "w")) == NULL)
		fatal("storm: %s", csv);
	fprintf(f, "name,vpc,ip,host,tap\n");
	for (int h = 0; h < NHOST; h++)
		fprintf(f, "v%d,storm,10.0.0.%d,h%d,%s\n", h + 1, h + 1, h + 1, T.vm[h].name);
	/* One warm-up destination a VM, outside the storm's. */
	for (int h = 0; h < NHOST; h++)
		fprintf(f, "w%d,storm,10.0.1.%d,s%05d,\n", h + 1, h + 1, h % (int)S.hosts);
	for (uint32_t i = 0; i < S.n; i++)
		fprintf(f, "d%u,storm,%s,s%05u,\n", i, addr_ip4_format(DST0 + i, ip),
		    i % S.hosts);
	if (fclose(f) != 0)
		fatal("storm: %s", csv);
	topo_import(csv, S.n + 2 * NHOST);
}

/* Until each host's learner holds its warm-up destination: the whole path is up. */
static void
warm_up(void)
{
	for (int h = 0; h < NHOST; h++) {
		uint32_t ip = 0x0a000100u + (uint32_t)h + 1;	/* 10.0.1.h+1 */
		struct table_rule r;
		int tries = 0;

		while (!table_get(T.host[h].t, VNI, ip, &r)) {
			char dst[ADDR_IP4_STRLEN], out[32];
			char *args[] = { "storm_peer", "gen", "-n", "1", "-d", dst, NULL };

			if (++tries == 75)
				fatalx("storm: host %d never learned its warm-up destination",
				    h + 1);
			addr_ip4_format(ip, dst);
			snprintf(out, sizeof(out), "gen-warm-vm%d.json", h + 1);
			topo_gen_wait(topo_peer_start(&T.vm[h], out, args), out);
			for (int i = 0; i < 200 && !table_get(T.host[h].t, VNI, ip, &r); i++)
				usleep(1000);
		}
	}
}

static void
setup(void)
{
	uint64_t cap = S.n + S.n / 4 + 1000;
	char learner[256];

	topo_net(NGW, NHOST, "stv");
	topo_controller();
	for (int g = 0; g < NGW; g++)
		topo_gateway(g, cap, true);
	populate();
	topo_gateways_wait();
	snprintf(learner, sizeof(learner), " table_capacity = %llu;\n cache_max_rules = %llu;\n",
	    (unsigned long long)cap, (unsigned long long)cap);
	for (int h = 0; h < NHOST; h++)
		topo_host(h, learner);
	topo_hosts_ready();
	topo_recv_start(S.n, DST0, S.hosts);
	warm_up();
}

/* ---- measuring ------------------------------------------------------------------------ */

struct relay {
	uint64_t frames, cpu_ns;
};

/* One baseline pass: the gateways relay every destination's frame, learn bit clear. */
static struct relay
relay_pass(const char *tag, uint64_t want_total)
{
	uint64_t c0, c1, r0, r1;
	struct topo_report rep;
	struct topo_gen_out g;

	r0 = topo_stat_sum(T.gw, NGW, GW_FWD, "tx_relayed");
	c0 = gw_cpu_ns(GW_FWD);
	g = gen_relay(tag);
	rep = topo_report_wait(want_total, TOPO_VIA_GW);
	c1 = gw_cpu_ns(GW_FWD);
	r1 = topo_stat_sum(T.gw, NGW, GW_FWD, "tx_relayed");
	printf("storm: baseline %s: %llu frames sent in %.2f s, %llu relayed, receiver at "
	    "%llu\n", tag, (unsigned long long)g.sent, (g.t1 - g.t0) / 1e9,
	    (unsigned long long)(r1 - r0), (unsigned long long)rep.gw_frames);
	return (struct relay){ r1 - r0, c1 - c0 };
}

static void
row(json_t *res, const char *name, double v, const char *unit, const char *baseline,
    double bv, const char *parts)
{
	bench_row(res, name, S.suffix, v, unit, baseline, bv, parts, S.note);
}

static void
usage(void)
{
	fatalx("usage: storm [-n DESTINATIONS] [-H HOSTS] [-r RATE]");
}

int
main(int argc, char **argv)
{
	uint64_t learns0, learns1, inst0, inst1, c0, c1, s0, s1, t_last, lc0, lc1;
	uint64_t tx_gw0[NHOST], tx_dir0[NHOST], gw_rx0, gw_rx, lost, bad_rules = 0;
	struct relay b1, b2;
	static struct snap sn0, sn1;
	struct topo_gen_out storm, direct;
	struct topo_report rep, drep;
	char suffix[16] = "", parts[512];
	bool ok = true;
	json_t *res;
	int ch;

	S.n = 100000;
	S.hosts = 1000;
	S.rate = 20000;
	log_init("bench-storm", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:H:r:")) != -1) {
		if (ch == 'n')
			S.n = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'H')
			S.hosts = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			S.rate = (uint32_t)strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (S.n < NHOST || S.n > 4000000 || S.hosts == 0 || S.hosts > 65000 || S.rate < NHOST)
		usage();
	if (geteuid() != 0)
		fatalx("storm: needs root (network namespaces, TAPs)");
	if (access(topo_peer_bin(), X_OK) != 0)
		fatalx("storm: %s not built (make)", topo_peer_bin());
	if (S.n != 100000)
		snprintf(suffix, sizeof(suffix), "_%uk", S.n / 1000);
	S.suffix = suffix;
	snprintf(parts, sizeof(parts), "real: a controller, 2 gateways (rule-store, syncd, "
	    "forwarder), 2 hosts (learner, forwarder), 2 VMs (namespaces on TAPs); simulated: "
	    "%u destination hosts (one receiver counting their frames), %u destination VMs",
	    S.hosts, S.n);

	cluster_init("storm");
	ns_sweep_stale();
	printf("storm: %u destinations on %u simulated hosts, first packets at %u/s from 2 "
	    "VMs on 2 real hosts, 2 real gateways\n", S.n, S.hosts, S.rate);
	setup();

	/* Baseline, before. */
	b1 = relay_pass("relay-before", S.n);

	/* The storm. */
	learns0 = topo_stat_sum(T.gw, NGW, GW_SYNCD, "learn_tx");
	inst0 = learned();
	snap_take(&sn0);
	c0 = gw_cpu_ns(GW_SYNCD);
	s0 = gw_cpu_ns(GW_FWD);
	lc0 = task_cpu_ns(T.host[0].pid[H_LEARNER]) + task_cpu_ns(T.host[1].pid[H_LEARNER]);
	{
		struct gens gs;
		uint64_t have = inst0, now;

		/*
		 * The VMs send; this process watches the caches meanwhile, every ms: t_last,
		 * when the last rule came in. Every flow goes direct from when the caches
		 * hold every rule (the forwarders read them at each frame).
		 */
		t_last = clock_mono_ns();
		gen_vms_start(&gs, "storm");
		while (have < inst0 + S.n) {
			uint64_t l = learned();

			now = clock_mono_ns();
			if (l > have) {
				have = l;
				t_last = now;
			} else if (now - t_last > LEARN_QUIET_S * 1000000000ull &&
			    gen_vms_done(&gs)) {
				break;
			}
			usleep(1000);
		}
		storm = gen_vms_wait(&gs);
	}
	c1 = gw_cpu_ns(GW_SYNCD);
	s1 = gw_cpu_ns(GW_FWD);
	lc1 = task_cpu_ns(T.host[0].pid[H_LEARNER]) + task_cpu_ns(T.host[1].pid[H_LEARNER]);
	learns1 = topo_stat_sum(T.gw, NGW, GW_SYNCD, "learn_tx");
	inst1 = learned();
	rep = topo_report_wait(2 * (uint64_t)S.n, TOPO_VIA_GW);
	snap_take(&sn1);
	lost = rep.gw_hist[0] + rep.gw_hist[1];
	printf("storm: %llu first packets sent in %.2f s; %llu LEARNs sent, %llu rules "
	    "installed; receiver: gw_hist %llu %llu %llu %llu %llu (2 = baseline + storm), "
	    "wrong VTEP %llu, learn bit %llu, socket drops %llu\n",
	    (unsigned long long)storm.sent, (storm.t1 - storm.t0) / 1e9,
	    (unsigned long long)(learns1 - learns0), (unsigned long long)(inst1 - inst0),
	    (unsigned long long)rep.gw_hist[0], (unsigned long long)rep.gw_hist[1],
	    (unsigned long long)rep.gw_hist[2], (unsigned long long)rep.gw_hist[3],
	    (unsigned long long)rep.gw_hist[4], (unsigned long long)rep.wrong_vtep,
	    (unsigned long long)rep.learn_bit, (unsigned long long)rep.sock_drops);
	if (lost) {
		printf("storm: FAIL: %llu first packets never reached their host\n",
		    (unsigned long long)lost);
		ok = false;
	}
	if (rep.wrong_vtep || rep.learn_bit || rep.bad) {
		printf("storm: FAIL: frames to a wrong VTEP, with the learn bit, or malformed\n");
		ok = false;
	}
	if (inst1 - inst0 < S.n) {
		printf("storm: FAIL: the learners hold %llu of %u rules; none more came in the "
		    "%d s after the last one\n", (unsigned long long)(inst1 - inst0), S.n,
		    LEARN_QUIET_S);
		ok = false;
	}

	/* Every rule, with the destination's VTEP, at the host whose VM sent to it. */
	for (uint32_t i = 0; i < S.n; i++) {
		struct table_rule r;

		if (!table_get(T.host[i % 2].t, VNI, DST0 + i, &r) || r.vtep != TOPO_VTEP0 +
		    i % S.hosts)
			bad_rules++;
	}
	if (bad_rules) {
		printf("storm: FAIL: %llu destinations without their rule (or a wrong VTEP)\n",
		    (unsigned long long)bad_rules);
		ok = false;
	}
	if (!ok)
		where("the storm", &sn0, &sn1);

	/* Then direct. */
	gw_rx0 = topo_stat_sum(T.gw, NGW, GW_FWD, "rx_vxlan");
	for (int h = 0; h < NHOST; h++) {
		tx_gw0[h] = cluster_stat(&T.host[h].st[H_FWD], "tx_gateway");
		tx_dir0[h] = cluster_stat(&T.host[h].st[H_FWD], "tx_direct");
	}
	{
		struct gens gs;

		gen_vms_start(&gs, "direct");
		direct = gen_vms_wait(&gs);
	}
	drep = topo_report_wait(S.n, TOPO_DIRECT);
	for (int h = 0; h < NHOST; h++) {
		uint64_t g = cluster_stat(&T.host[h].st[H_FWD], "tx_gateway") - tx_gw0[h];
		uint64_t d = cluster_stat(&T.host[h].st[H_FWD], "tx_direct") - tx_dir0[h];

		printf("storm: direct: host %d tx_direct +%llu, tx_gateway +%llu\n", h + 1,
		    (unsigned long long)d, (unsigned long long)g);
		if (g != 0 || d != S.n / 2 + (h == 0 ? S.n % 2 : 0))
			ok = false;
	}
	gw_rx = topo_stat_sum(T.gw, NGW, GW_FWD, "rx_vxlan") - gw_rx0;
	if (drep.direct_hist[1] != S.n || gw_rx != 0) {
		printf("storm: FAIL: then direct: %llu of %u destinations got one direct frame; "
		    "the gateways received %llu\n", (unsigned long long)drep.direct_hist[1],
		    S.n, (unsigned long long)gw_rx);
		ok = false;
	}
	printf("storm: then direct: %llu datagrams in %.2f s, %llu destinations got exactly "
	    "one direct frame\n", (unsigned long long)direct.sent,
	    (direct.t1 - direct.t0) / 1e9, (unsigned long long)drep.direct_hist[1]);

	/* Baseline, after. */
	b2 = relay_pass("relay-after", 3 * (uint64_t)S.n);

	{
		double learns = (double)(learns1 - learns0);
		double all_s = (t_last - storm.t0) / 1e9;

		if (!ok)
			snprintf(S.note, sizeof(S.note), "a failed run: %llu first packets lost, "
			    "%llu rules never learned (storm_all_direct_s: until the last one "
			    "learned)", (unsigned long long)lost,
			    (unsigned long long)(S.n - (inst1 - inst0)));
		double sent_s = (storm.t1 - storm.t0) / 1e9;
		double relay_us = (double)(b1.cpu_ns + b2.cpu_ns) / 1e3 / (double)(b1.frames +
		    b2.frames);
		char base[256];

		printf("storm: gateway CPU in the storm: syncd %.2f s, forwarder %.2f s; per "
		    "LEARN %.2f us + %.2f us; learners %.2f us per rule installed; baseline "
		    "relay %.2f us/frame (before %.2f, after %.2f)\n", (c1 - c0) / 1e9,
		    (s1 - s0) / 1e9, (c1 - c0) / 1e3 / learns, (s1 - s0) / 1e3 / learns,
		    (lc1 - lc0) / 1e3 / (double)(inst1 - inst0), relay_us,
		    b1.cpu_ns / 1e3 / (double)b1.frames, b2.cpu_ns / 1e3 / (double)b2.frames);
		res = bench_results();
		row(res, "storm_first_packets_lost", (double)lost, "packets", "first packets "
		    "sent", (double)storm.sent, parts);
		row(res, "storm_all_direct_s", all_s, "s", "the storm's length, first to last "
		    "first packet sent", sent_s, parts);
		row(res, "storm_learns_per_s", (double)(inst1 - inst0) / all_s, "rules/s",
		    "first packets sent a second", (double)storm.sent / sent_s, parts);
		snprintf(base, sizeof(base), "gateway forwarders' CPU per frame relayed without "
		    "the learn bit, same %u destinations at %u/s", S.n, S.rate);
		row(res, "storm_gateway_cpu_us_per_learn", (double)(c1 - c0 + s1 - s0) / 1e3 /
		    learns, "us", base, relay_us, parts);
	}
	topo_close();
	cluster_end();
	if (bench_write_merged(res, "scale") < 0)
		return 1;
	if (!ok)
		fprintf(stderr, "storm: a property did not hold (above)\n");
	return ok ? 0 : 1;
}
