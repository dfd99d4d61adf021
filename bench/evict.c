/*
 * bench/evict: eviction, live (issue 12, item 5; docs/sync.md, "Eviction"). A real
 * host's learner with cache_max_rules -c (500,000), cache_max_age -a (2 s) and
 * evict_interval -i (200 ms) is fed -n (1,000,000) rules past it, while its VM keeps -f
 * (1,000) flows in use whose rules it learned first (the oldest by update time: they
 * would go first if age counted from the last update). Checked: the flows keep their
 * rules (every datagram goes direct) and lose no packet; the rules left at the end are
 * the newest learned, the cache at most at its cap; the forwarder does not stall; the
 * learner's memory stays flat.
 *
 * What runs (bench/topo.h: namespaces without names, gone with the run), real processes
 * of this build: a controller; gateway 1 (rule-store, syncd, gateway forwarder);
 * gateway 2 (rule-store and syncd), whose forwarder the benchmark plays: it produces
 * the learn ring gateway 2's syncd consumes (learn_req_ring_push, as a gateway
 * forwarder does for a frame with the learn bit, and as bench/scale's relearn phase
 * does), so syncd sends the host's learner a real LEARN for each, authenticated; one
 * host (learner, vswitch forwarder) and its VM, a namespace on its TAP. Simulated: the
 * -H (1,000) hosts the destinations live on, registered at the controller with VTEPs
 * that are addresses of one namespace where tests/stress/storm_peer counts the frames
 * each flow's destination gets, via a gateway or direct; the destinations themselves,
 * VMs imported with `vpcfwdctl import` (flow i: 10.1.0.0 + i; fed rule j: 10.16.0.0 +
 * j; each on simulated host i mod H). No frame goes through a gateway in a run that
 * passes: a flow that lost its rule would (to gateway 1, counted there, or to gateway
 * 2, which forwards nothing: lost), and either fails the run.
 *
 * The run: the flows' rules learned (LEARNs through the ring, missing ones asked again
 * every 200 ms), then the VM sends to the flows in turn (storm_peer gen -l), -v (5,000)
 * datagrams a second, until the end. Then:
 *  baseline	the same traffic alone, no learning, no eviction, for as long as the
 *		eviction is expected to run: the forwarder's loop_max_us gauge (its
 *		longest loop trip in the last second), sampled every 10 ms, its highest.
 *  feed	-n LEARN requests at -r (100,000) a second (0: as fast as the ring takes
 *		them). While the cache fills below the cap: the same gauge's highest
 *		(evict_feed_max_loop_us). From the first eviction until the cache is back
 *		at its cap after the feed and one second more (the gauge covers the
 *		second before it is published): evict_max_loop_us, and the forwarder's
 *		loop trips of 1 ms or more a second (loop_slow: evict_loop_slow_per_s,
 *		against the baseline's; a maximum is one sample, this a rate, and both
 *		count a trip the scheduler stretched, which on 2 CPUs shared with the
 *		feed's syncd and learner is most of them). The learner's memory
 *		(RssAnon of /proc/PID/status plus the table segment's resident bytes, its
 *		/dev/shm file's blocks) at the first eviction (the cache at its cap),
 *		sampled meanwhile, and at the end (evict_memory_end_bytes, goal ratio 1);
 *		rules evicted a second (evict_rules_per_s) against rules learned a second.
 *  end		the VM stops; every datagram it sent must be counted at its destination
 *		(evict_flow_packets_lost, goal 0), none via a gateway (evict_flows_via_
 *		gateway, goal 0) and every flow's rule held; the cache at most at its cap
 *		(evict_cache_end_rules); of the fed rules held, each newer than every one
 *		evicted (evict_kept_not_newest: held ones older than the oldest held would
 *		be were the newest kept; a LEARN lost or refused leaves a hole among the
 *		newest, so up to the LEARNs lost is allowed).
 * A property that does not hold fails the run (exit 1) once the figures are printed; the
 * rows are written either way, each with a "note" saying what failed. Nothing timed
 * is judged.
 *
 * The learner's table_capacity is the cap plus the flows plus a quarter of the cap, or
 * more when the feed reaches the cap before its first rules are cache_max_age old (-T
 * sets it: -T equal to -c is the learner's defaults, where eviction must start short of
 * a full table). -b: the baseline's length, seconds.
 *
 * Writes its rows into bench/results/scale.json, keeping the rows other runs wrote
 * (bench_write_merged); with -c other than 500000 the names end in _<c/1000>k. -o FILE:
 * the rows to FILE alone (tests/e2e/evict.sh).
 *
 *	evict [-c CAP] [-n FED] [-f FLOWS] [-r RATE] [-v VM_RATE] [-a AGE_S] [-i INTERVAL_MS]
 *	    [-H HOSTS] [-T TABLE_CAPACITY] [-b BASELINE_S] [-o FILE]
 */
#include "bench/topo.h"
#include "shm/events.h"
#include "shm/ring.h"

#include <getopt.h>
#include <sys/stat.h>

#define VNI		TOPO_VNI
#define FLOW0		0x0a010000u	/* 10.1.0.0: flow in use i */
#define FEED0		0x0a100000u	/* 10.16.0.0: fed rule j */
#define NGW		2
#define FEED_GW		1		/* gateway 2: the benchmark is its forwarder */
#define RING_SLOTS	65536		/* the forwarder's default learn_ring_size */
#define POLL_NS		10000000ull	/* the gauges, the cache: every 10 ms */
#define GAUGE_LAG_NS	1100000000ull	/* loop_max_us covers the second before it */
#define DRAIN_MAX_S	30		/* after the feed, until the cache is at its cap */

static struct {
	uint32_t cap, n, flows, nsim, rate, vm_rate, age_s, interval_ms, tcap, base_s;
	const char *suffix, *out;
	char note[512];
	char tseg[300];			/* the learner's table segment, its file */
	struct ring ring;		/* gateway 2's learn ring: the benchmark's */
	uint32_t vtep;			/* the host's: where syncd sends the LEARNs */
	struct stats *lst, *fst;	/* the learner's and the host forwarder's stats */
	struct table *t;		/* the learner's cache */
} S;

/* What the polls saw. */
enum { PH_IDLE, PH_BASE, PH_FILL, PH_EVICT };

static struct {
	int phase;
	uint64_t loop_max[PH_EVICT + 1];	/* loop_max_us's highest, by phase */
	uint64_t slow[PH_EVICT + 1];		/* loop_slow's increase, by phase */
	uint64_t ns[PH_EVICT + 1];		/* each phase's length */
	uint64_t slow0, t_phase0;		/* loop_slow, the time, at the phase's start */
	uint64_t run[PH_EVICT + 1], wait[PH_EVICT + 1], lrun[PH_EVICT + 1];
	uint64_t run0, wait0, lrun0;		/* the forwarder's run and run-queue wait, the
						   learner's run time (schedstat), ns */
	uint32_t secs[PH_EVICT + 1][8];		/* loop_max_us values seen: <100 us, <200, <500,
						   <1000, <2000, <5000, <10000, more */
	uint64_t last_gauge_s;
	uint64_t count_max;			/* the cache's most rules */
	uint64_t mem_max;			/* the learner's memory's highest, evicting */
	uint64_t mem_cap;			/* at the first eviction */
	uint64_t installed, t_install;		/* learn_installed, when it last moved */
	uint64_t evicted0, t_evict0;		/* evicted before the feed; the first one */
	uint64_t t_feed0;
	uint64_t next;
} W;

/* ---- memory --------------------------------------------------------------------------- */

/* The learner's private memory and its table segment's resident bytes. */
static uint64_t
learner_mem(void)
{
	struct stat st;

	if (stat(S.tseg, &st) == -1)
		fatal("evict: %s", S.tseg);
	return bench_status_kb(T.host[0].pid[H_LEARNER], "RssAnon") * 1024 +
	    (uint64_t)st.st_blocks * 512;
}

/* ---- the learn ring ------------------------------------------------------------------- */

/* LEARN requests for ips ip0 .. ip0 + n - 1 (n <= 64), as a gateway forwarder asks. */
static uint32_t
push(uint32_t ip0, uint32_t n)
{
	struct ev_learn_req ev[64];

	for (uint32_t k = 0; k < n; k++)
		ev[k] = (struct ev_learn_req){ .vni = VNI, .ip = ip0 + k, .src_vtep = S.vtep };
	return learn_req_ring_push(&S.ring, ev, n);
}

static bool
held(uint32_t ip)
{
	struct table_rule r;

	/* table_lookup records no use: the benchmark's looks keep nothing. */
	return table_lookup(S.t, VNI, ip, &r);
}

/*
 * The flows' rules, first of all: syncd sends LEARNs only to a host it has heard from,
 * so the first request is pushed again until its rule lands; missing ones are asked
 * again every 200 ms (a LEARN is a datagram).
 */
static void
learn_flows(void)
{
	uint64_t t0 = clock_mono_ns();
	uint32_t have;

	while (!held(FLOW0)) {
		if (clock_mono_ns() - t0 > 20000000000ull)
			fatalx("evict: the learner never learned its first flow's rule");
		push(FLOW0, 1);
		usleep(20000);
	}
	for (;;) {
		have = 0;
		for (uint32_t i = 0; i < S.flows; i++) {
			if (held(FLOW0 + i)) {
				have++;
				continue;
			}
			while (push(FLOW0 + i, 1) != 1)
				usleep(200);
		}
		if (have == S.flows)
			break;
		if (clock_mono_ns() - t0 > 60000000000ull)
			fatalx("evict: the learner holds %u of %u flows' rules after 60 s", have,
			    S.flows);
		usleep(200000);
	}
	printf("evict: the %u flows' rules learned in %.2f s\n", S.flows,
	    (clock_mono_ns() - t0) / 1e9);
}

/* ---- watching ------------------------------------------------------------------------- */

/* The phase ends (its loop_slow, its length), the next begins. */
static void
phase_set(int phase)
{
	uint64_t now = clock_mono_ns(), slow = cluster_stat(S.fst, "loop_slow");
	uint64_t run = bench_schedstat(T.host[0].pid[H_FWD], 0);
	uint64_t wait = bench_schedstat(T.host[0].pid[H_FWD], 1);
	uint64_t lrun = bench_schedstat(T.host[0].pid[H_LEARNER], 0);

	if (W.t_phase0 != 0) {
		W.slow[W.phase] += slow - W.slow0;
		W.ns[W.phase] += now - W.t_phase0;
		W.run[W.phase] += run - W.run0;
		W.wait[W.phase] += wait - W.wait0;
		W.lrun[W.phase] += lrun - W.lrun0;
	}
	W.run0 = run;
	W.wait0 = wait;
	W.lrun0 = lrun;
	W.slow0 = slow;
	W.t_phase0 = now;
	W.phase = phase;
}

/* Every POLL_NS: the gauge into the phase's highest, the cache, the learner's counters. */
static void
poll_once(void)
{
	uint64_t now = clock_mono_ns(), v, c, inst;

	if (now < W.next)
		return;
	W.next = now + POLL_NS;
	v = cluster_stat(S.fst, "loop_max_us");
	if (v > W.loop_max[W.phase])
		W.loop_max[W.phase] = v;
	if (now / 1000000000ull != W.last_gauge_s) {
		/* Once a second (the gauge's period, though not in step with it). */
		static const uint64_t edge[7] = { 100, 200, 500, 1000, 2000, 5000, 10000 };
		int b = 0;

		while (b < 7 && v >= edge[b])
			b++;
		W.secs[W.phase][b]++;
		W.last_gauge_s = now / 1000000000ull;
	}
	if ((c = table_count(S.t)) > W.count_max)
		W.count_max = c;
	if ((inst = cluster_stat(S.lst, "learn_installed")) != W.installed) {
		W.installed = inst;
		W.t_install = now;
	}
	if (W.phase == PH_FILL && cluster_stat(S.lst, "evicted") > W.evicted0) {
		phase_set(PH_EVICT);
		W.t_evict0 = now;
		W.mem_cap = W.mem_max = learner_mem();
		printf("evict: first eviction %.2f s into the feed, cache at %llu rules, "
		    "learner memory %.1f MB\n", (now - W.t_feed0) / 1e9,
		    (unsigned long long)c, W.mem_cap / 1e6);
	} else if (W.phase == PH_EVICT && (v = learner_mem()) > W.mem_max) {
		W.mem_max = v;
	}
}

/* Poll for ns. */
static void
watch(uint64_t ns)
{
	uint64_t end = clock_mono_ns() + ns;

	while (clock_mono_ns() < end) {
		poll_once();
		usleep(1000);
	}
}

/* ---- set-up --------------------------------------------------------------------------- */

static void
populate(void)
{
	char csv[300], ip[ADDR_IP4_STRLEN];
	FILE *f;

	topo_register("evict", S.nsim);
	snprintf(csv, sizeof(csv), "%s/vms.csv", cluster_dir());
	if ((f = fopen(csv, "w")) == NULL)
		fatal("evict: %s", csv);
	fprintf(f, "name,vpc,ip,host,tap\n");
	fprintf(f, "v1,evict,10.0.0.1,h1,%s\n", T.vm[0].name);
	for (uint32_t i = 0; i < S.flows; i++)
		fprintf(f, "d%u,evict,%s,s%05u,\n", i, addr_ip4_format(FLOW0 + i, ip),
		    i % S.nsim);
	for (uint32_t j = 0; j < S.n; j++)
		fprintf(f, "f%u,evict,%s,s%05u,\n", j, addr_ip4_format(FEED0 + j, ip),
		    j % S.nsim);
	if (fclose(f) != 0)
		fatal("evict: %s", csv);
	topo_import(csv, 1 + (uint64_t)S.flows + S.n);
}

static void
setup(void)
{
	uint64_t gwcap = (uint64_t)S.n + S.flows + 1000, extra = S.cap / 4, fill;
	char learner[512], seg[SEG_NAME_MAX];

	gwcap += gwcap / 4;
	/*
	 * The cache's table has room past the cap for what is learned between two passes
	 * and, when the feed reaches the cap sooner, for what it brings while its first
	 * rules are younger than cache_max_age (a second more: stamps are whole seconds).
	 * A table without that room refuses LEARNs (flows would stay on the gateway path):
	 * not what is measured here.
	 */
	fill = S.rate ? (uint64_t)S.rate * (S.age_s + 2) : S.n;
	if (fill > (uint64_t)S.cap - S.flows && fill - (S.cap - S.flows) > extra)
		extra = fill - (S.cap - S.flows);
	topo_net(NGW, 1, "evv");
	topo_controller();
	topo_gateway(0, gwcap, true);
	topo_gateway(FEED_GW, gwcap, false);
	populate();
	topo_gateways_wait();
	if (S.tcap == 0)
		S.tcap = (uint32_t)(S.cap + S.flows + extra + 1000);
	snprintf(learner, sizeof(learner), " table_capacity = %u;\n cache_max_rules = %u;\n"
	    " cache_max_age = \"%us\";\n evict_interval = \"%ums\";\n", S.tcap, S.cap,
	    S.age_s, S.interval_ms);
	topo_host(0, learner);
	topo_hosts_ready();
	topo_recv_start(S.flows, FLOW0, S.nsim);
	S.t = T.host[0].t;
	S.lst = &T.host[0].st[H_LEARNER];
	S.fst = &T.host[0].st[H_FWD];
	if (addr_ip4_parse(T.host[0].ip, &S.vtep) < 0)
		fatalx("evict: %s: not an address", T.host[0].ip);
	seg_name(seg, sizeof(seg), T.host[0].name, "learner", "table");
	snprintf(S.tseg, sizeof(S.tseg), "%s/%s", SEG_DIR, seg);
	if (learn_req_ring_create(&S.ring, T.gw[FEED_GW].name, "forwarder", EV_LEARN_REQ_RING,
	    RING_SLOTS, 0) < 0)
		fatalx("evict: %s", S.ring.seg.err);
}

/* ---- rows ----------------------------------------------------------------------------- */

static void
row(json_t *res, const char *name, double v, const char *unit, const char *baseline,
    double bv, const char *parts)
{
	bench_row(res, name, S.suffix, v, unit, baseline, bv, parts, S.note);
}

static void
fail(bool *ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A property that did not hold: said now, in the rows' note, and in the exit status. */
static void
fail(bool *ok, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("evict: FAIL: %s\n", msg);
	snprintf(S.note + strlen(S.note), sizeof(S.note) - strlen(S.note), "%s%s",
	    S.note[0] ? "; " : "a failed run: ", msg);
	*ok = false;
}

static uint32_t
opt_num(const char *s, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		fatalx("evict: %s: a number %u..%u expected", s, min, max);
	return (uint32_t)v;
}

static void
usage(void)
{
	fatalx("usage: evict [-c CAP] [-n FED] [-f FLOWS] [-r RATE] [-v VM_RATE] [-a AGE_S] "
	    "[-i INTERVAL_MS] [-H HOSTS] [-T TABLE_CAPACITY] [-b BASELINE_S] [-o FILE]");
}

int
main(int argc, char **argv)
{
	uint64_t base_ns, t_f0, t_f1, t_e1 = 0, inst0, ev_end, mem_end, count_end;
	uint64_t tx_gw0, tx_dir0, fed = 0, lost, via_gw, misplaced = 0, held_feed = 0;
	uint64_t held_flows = 0, learns_lost, ltx0, lrx0;
	struct topo_gen_out vm;
	struct topo_report rep;
	char suffix[16] = "", parts[512], base[256], vmout[32] = "gen-flows.json";
	bool ok = true;
	json_t *res;
	pid_t gen;
	int ch;

	S.cap = 500000;
	S.n = 1000000;
	S.flows = 1000;
	S.rate = 100000;
	S.vm_rate = 5000;
	S.age_s = 2;
	S.interval_ms = 200;
	S.nsim = 1000;
	log_init("bench-evict", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "c:n:f:r:v:a:i:H:T:b:o:")) != -1) {
		if (ch == 'c')
			S.cap = opt_num(optarg, 1000, 10000000);
		else if (ch == 'n')
			S.n = opt_num(optarg, 1000, 4000000);
		else if (ch == 'f')
			S.flows = opt_num(optarg, 1, 65536);
		else if (ch == 'r')
			S.rate = opt_num(optarg, 0, 10000000);
		else if (ch == 'v')
			S.vm_rate = opt_num(optarg, 1, 1000000);
		else if (ch == 'a')
			S.age_s = opt_num(optarg, 2, 60);
		else if (ch == 'i')
			S.interval_ms = opt_num(optarg, 1, 10000);
		else if (ch == 'H')
			S.nsim = opt_num(optarg, 1, 65000);
		else if (ch == 'T')
			S.tcap = opt_num(optarg, 16, 1u << 30);
		else if (ch == 'b')
			S.base_s = opt_num(optarg, 1, 600);
		else if (ch == 'o')
			S.out = optarg;
		else
			usage();
	}
	if (optind != argc || S.flows >= S.cap || S.n <= S.cap)
		fatalx("evict: the flows must fit in the cap (-f < -c), the feed past it "
		    "(-n > -c)");
	/*
	 * Use stamps are whole seconds: a rule last used at the end of a second is unused
	 * for cache_max_age (2 s at least) a little over a second later. So each flow is
	 * used at least twice a second.
	 */
	if (S.vm_rate < 2 * S.flows)
		fatalx("evict: -v %u: each of the %u flows at least twice a second", S.vm_rate,
		    S.flows);
	if (geteuid() != 0)
		fatalx("evict: needs root (network namespaces, TAPs)");
	if (access(topo_peer_bin(), X_OK) != 0)
		fatalx("evict: %s not built (make)", topo_peer_bin());
	if (S.cap != 500000)
		snprintf(suffix, sizeof(suffix), "_%uk", S.cap / 1000);
	S.suffix = suffix;
	snprintf(parts, sizeof(parts), "real: a controller, gateway 1 (rule-store, syncd, "
	    "forwarder), gateway 2 (rule-store, syncd; the benchmark its forwarder's learn "
	    "ring), a host (learner, forwarder), a VM (a namespace on its TAP); simulated: %u "
	    "destination hosts (one receiver counting the flows' frames), %u destination VMs",
	    S.nsim, S.flows + S.n);

	cluster_init("evict");
	ns_sweep_stale();
	setup();
	printf("evict: cache_max_rules %u, cache_max_age %u s, evict_interval %u ms, "
	    "table_capacity %u; %u flows in use at %u datagrams/s; %u rules fed at %u/s\n",
	    S.cap, S.age_s, S.interval_ms, S.tcap, S.flows, S.vm_rate, S.n, S.rate);
	learn_flows();

	/* The flows in use, from now to the end. */
	{
		char n[16], dst[ADDR_IP4_STRLEN], r[16];
		char *args[] = { "storm_peer", "gen", "-n", n, "-d", dst, "-r", r, "-l", NULL };

		snprintf(n, sizeof(n), "%u", S.flows);
		addr_ip4_format(FLOW0, dst);
		snprintf(r, sizeof(r), "%u", S.vm_rate);
		gen = topo_peer_start(&T.vm[0], vmout, args);
	}
	tx_gw0 = cluster_stat(S.fst, "tx_gateway");
	tx_dir0 = cluster_stat(S.fst, "tx_direct");
	phase_set(PH_IDLE);
	watch(GAUGE_LAG_NS + 500000000ull);	/* each gauge value covers traffic alone */

	/* Baseline: as long as the eviction should last, and more. */
	base_ns = (uint64_t)S.age_s * 1000000000ull + 3000000000ull;
	if (S.rate)
		base_ns += ((uint64_t)S.n + S.flows - S.cap) * 1000000000ull / S.rate;
	if (S.base_s)
		base_ns = (uint64_t)S.base_s * 1000000000ull;
	phase_set(PH_BASE);
	watch(base_ns);
	printf("evict: baseline %.1f s, the flows alone: loop_max_us at most %llu; learner "
	    "memory %.1f MB\n", base_ns / 1e9, (unsigned long long)W.loop_max[PH_BASE],
	    learner_mem() / 1e6);

	/* The feed. */
	ltx0 = cluster_stat(&T.gw[FEED_GW].st[GW_SYNCD], "learn_tx");
	lrx0 = cluster_stat(S.lst, "learn_rx");
	inst0 = W.installed = cluster_stat(S.lst, "learn_installed");
	W.evicted0 = cluster_stat(S.lst, "evicted");
	phase_set(PH_FILL);
	t_f0 = W.t_feed0 = W.t_install = clock_mono_ns();
	while (fed < S.n) {
		uint64_t due = S.n;
		uint32_t k;

		if (S.rate) {
			due = (clock_mono_ns() - t_f0) * S.rate / 1000000000ull;
			if (due > S.n)
				due = S.n;
		}
		if (due > fed) {
			k = due - fed < 64 ? (uint32_t)(due - fed) : 64;
			k = push(FEED0 + (uint32_t)fed, k);
			fed += k;
			if (k > 0 && due > fed)
				continue;
		}
		poll_once();
		usleep(200);
	}
	t_f1 = clock_mono_ns();
	printf("evict: %llu LEARN requests pushed in %.2f s (%.0f/s)\n", (unsigned long long)fed,
	    (t_f1 - t_f0) / 1e9, fed / ((t_f1 - t_f0) / 1e9));

	/* Until the cache is back at its cap (the newest rules age first), then the gauge. */
	for (;;) {
		uint64_t now = clock_mono_ns();

		poll_once();
		if (table_count(S.t) <= S.cap && now - W.t_install > 500000000ull) {
			t_e1 = now;
			break;
		}
		if (now - t_f1 > DRAIN_MAX_S * 1000000000ull)
			break;
		usleep(1000);
	}
	if (W.phase == PH_FILL) {
		/* Never evicted: the window is the drain's. */
		phase_set(PH_EVICT);
		W.t_evict0 = t_f1;
		W.mem_cap = learner_mem();
	}
	watch(GAUGE_LAG_NS);
	phase_set(PH_IDLE);
	ev_end = cluster_stat(S.lst, "evicted") - W.evicted0;
	mem_end = learner_mem();
	count_end = table_count(S.t);

	/* The flows: stopped, and counted. */
	kill(gen, SIGTERM);
	vm = topo_gen_wait(gen, vmout);
	rep = topo_report_wait(vm.sent, TOPO_ANY);
	lost = vm.sent > rep.gw_frames + rep.direct_frames ? vm.sent - rep.gw_frames -
	    rep.direct_frames : 0;
	via_gw = S.flows - rep.gw_hist[0];
	for (uint32_t i = 0; i < S.flows; i++)
		held_flows += held(FLOW0 + i);
	for (uint32_t j = 0; j < S.n; j++)
		held_feed += held(FEED0 + j);
	for (uint32_t j = 0; j < S.n - held_feed; j++)
		misplaced += held(FEED0 + j);
	/* Installs count the flows' rules learned again too, were any evicted. */
	learns_lost = W.installed - inst0 < S.n ? S.n - (W.installed - inst0) : 0;

	printf("evict: the flows: %llu datagrams sent in %.1f s; counted %llu direct, %llu "
	    "via a gateway (%llu flows), socket drops %llu; host forwarder tx_direct +%llu, "
	    "tx_gateway +%llu\n", (unsigned long long)vm.sent, (vm.t1 - vm.t0) / 1e9,
	    (unsigned long long)rep.direct_frames, (unsigned long long)rep.gw_frames,
	    (unsigned long long)via_gw, (unsigned long long)rep.sock_drops,
	    (unsigned long long)(cluster_stat(S.fst, "tx_direct") - tx_dir0),
	    (unsigned long long)(cluster_stat(S.fst, "tx_gateway") - tx_gw0));
	printf("evict: LEARNs: gateway 2's syncd took %llu requests, sent %llu (tx_nobuf %llu); "
	    "the learner received %llu (its socket's drops %llu), installed %llu\n",
	    (unsigned long long)cluster_stat(&T.gw[FEED_GW].st[GW_SYNCD], "learn_rx"),
	    (unsigned long long)(cluster_stat(&T.gw[FEED_GW].st[GW_SYNCD], "learn_tx") - ltx0),
	    (unsigned long long)cluster_stat(&T.gw[FEED_GW].st[GW_SYNCD], "tx_nobuf"),
	    (unsigned long long)(cluster_stat(S.lst, "learn_rx") - lrx0),
	    (unsigned long long)cluster_stat(S.lst, "rx_sock_drops"),
	    (unsigned long long)(W.installed - inst0));
	printf("evict: fed %u, installed %llu; evicted %llu (evict_kept %llu); cache at most "
	    "%llu, at the end %llu (cap %u): %llu flows' rules, %llu fed ones, %llu of them "
	    "older than the oldest the newest would be\n", S.n,
	    (unsigned long long)(W.installed - inst0), (unsigned long long)ev_end,
	    (unsigned long long)cluster_stat(S.lst, "evict_kept"),
	    (unsigned long long)W.count_max, (unsigned long long)count_end, S.cap,
	    (unsigned long long)held_flows, (unsigned long long)held_feed,
	    (unsigned long long)misplaced);
	printf("evict: loop_max_us at most: baseline %llu, filling %llu, evicting %llu; learner "
	    "memory at the cap %.1f MB, at most %.1f MB, at the end %.1f MB\n",
	    (unsigned long long)W.loop_max[PH_BASE], (unsigned long long)W.loop_max[PH_FILL],
	    (unsigned long long)W.loop_max[PH_EVICT], W.mem_cap / 1e6, W.mem_max / 1e6,
	    mem_end / 1e6);

	for (int p = PH_BASE; p <= PH_EVICT; p++) {
		double secs = W.ns[p] ? W.ns[p] / 1e9 : 1;

		printf("evict: %s %.1f s: loop_slow +%llu; loop_max_us each second <100 us %u, "
		    "<200 %u, <500 %u, <1000 %u, <2000 %u, <5000 %u, <10000 %u, more %u; the "
		    "forwarder ran %.0f ms/s and waited for a CPU %.0f ms/s, the learner ran "
		    "%.0f ms/s\n", p == PH_BASE ? "baseline" : p == PH_FILL ? "filling" :
		    "evicting", W.ns[p] / 1e9, (unsigned long long)W.slow[p], W.secs[p][0],
		    W.secs[p][1], W.secs[p][2], W.secs[p][3], W.secs[p][4], W.secs[p][5],
		    W.secs[p][6], W.secs[p][7], W.run[p] / 1e6 / secs, W.wait[p] / 1e6 / secs,
		    W.lrun[p] / 1e6 / secs);
	}
	if (lost)
		fail(&ok, "%llu datagrams of the flows in use lost", (unsigned long long)lost);
	if (via_gw || held_flows != S.flows)
		fail(&ok, "%llu flows in use went via a gateway, %llu lost their rule",
		    (unsigned long long)via_gw, (unsigned long long)(S.flows - held_flows));
	if (ev_end == 0)
		fail(&ok, "nothing was evicted");
	if (count_end > (uint64_t)S.cap + S.flows)
		fail(&ok, "the cache ends at %llu rules, past the cap %u plus the %u in use",
		    (unsigned long long)count_end, S.cap, S.flows);
	if (misplaced > learns_lost)
		fail(&ok, "%llu fed rules kept while newer ones went (%llu LEARNs lost)",
		    (unsigned long long)misplaced, (unsigned long long)learns_lost);

	{
		double ev_s = t_e1 > W.t_evict0 ? (t_e1 - W.t_evict0) / 1e9 : 0;
		double learn_s = W.t_install > t_f0 ? (W.t_install - t_f0) / 1e9 : 0;

		res = bench_results();
		snprintf(base, sizeof(base), "loop_max_us's highest over %.1f s of the same "
		    "flows before the feed (no learning, no eviction)", base_ns / 1e9);
		row(res, "evict_max_loop_us", (double)W.loop_max[PH_EVICT], "us", base,
		    (double)W.loop_max[PH_BASE], parts);
		row(res, "evict_feed_max_loop_us", (double)W.loop_max[PH_FILL], "us", base,
		    (double)W.loop_max[PH_BASE], parts);
		snprintf(base, sizeof(base), "the same over %.1f s of the same flows before the "
		    "feed", W.ns[PH_BASE] / 1e9);
		row(res, "evict_loop_slow_per_s", W.ns[PH_EVICT] ? W.slow[PH_EVICT] /
		    (W.ns[PH_EVICT] / 1e9) : 0, "trips/s", base, W.ns[PH_BASE] ?
		    W.slow[PH_BASE] / (W.ns[PH_BASE] / 1e9) : 0, parts);
		row(res, "evict_memory_end_bytes", (double)mem_end, "B", "the learner's memory "
		    "at the first eviction (the cache at its cap)", (double)W.mem_cap, parts);
		row(res, "evict_rules_per_s", ev_s > 0 ? ev_end / ev_s : 0, "rules/s", "rules "
		    "learned a second over the feed", learn_s > 0 ? (W.installed - inst0) /
		    learn_s : 0, parts);
		row(res, "evict_flow_packets_lost", (double)lost, "packets", "datagrams the VM "
		    "sent to the flows in use", (double)vm.sent, parts);
		row(res, "evict_flows_via_gateway", (double)via_gw, "flows", "flows in use",
		    S.flows, parts);
		row(res, "evict_cache_end_rules", (double)count_end, "rules", "cache_max_rules",
		    S.cap, parts);
		row(res, "evict_kept_not_newest", (double)misplaced, "rules", "fed rules held at "
		    "the end", (double)held_feed, parts);
	}
	ring_close(&S.ring);
	topo_close();
	cluster_end();
	if ((S.out ? bench_write_to(res, "evict", S.out) : bench_write_merged(res, "scale")) < 0)
		return 1;
	fflush(stdout);
	if (!ok)
		fprintf(stderr, "evict: a property did not hold (above)\n");
	return ok ? 0 : 1;
}
