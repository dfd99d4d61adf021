/*
 * bench/forward: packets a second from a VM on one host to VMs behind other hosts,
 * through the hosts' vswitch forwarders (TAP -> VXLAN -> ...), in both underlay I/O
 * modes (forwarder.io "socket" and "xdp"), against the Linux kernel's vxlan on the same
 * namespace topology, measured in the same run (DESIGN.md §3.6).
 *
 * Four topologies, each of namespaces of its own (bench/overlay.h has the layout):
 *  socket, xdp	each host runs vpcfwd-forwarder (vswitch, io = "socket" or "xdp");
 *		host 1's rule table holds VM 2's rule and -R many-destination rules.
 *  kernel	each host's vxlan device on a Linux bridge with a veth to the VM: the
 *		usual kernel hypervisor switch. The baseline. Host 1's vxlan device has an
 *		fdb entry for each many-destination rule.
 *  direct	the host's vxlan device itself in the VM's namespace: the cheapest kernel
 *		path there is, no bridge nor veth. A second baseline.
 * The kernel's topologies have RPS on every receive queue, so that their path, all in
 * softirq, may use both CPUs as the forwarders' processes do.
 *
 * Traffic: a generator child in VM 1's namespace writes UDP frames to VM 1's interface
 * with sendmmsg on an AF_PACKET socket (PACKET_QDISC_BYPASS), as fast as it can:
 *  one	one flow to VM 2, counted at VM 2's interface (rx_packets), where a UDP socket
 *	that is never read drops them (no ICMP).
 *  many	each frame to a destination drawn at random from -R rules (1 M) of VMs
 *	behind 256 VTEPs (the sink namespace holds the 256 addresses and stands for many
 *	hosts): counted as the datagrams reaching the sink's VXLAN port. Every contender
 *	looks each frame up among -R entries (vpcfwd's table, the vxlan fdb), and its
 *	batches go to many VTEPs (a run to one VTEP, a UDP GSO message, is short).
 * Sizes (frames, Ethernet header included): 64, 1400 and an IMIX (7:4:1 of 64, 594,
 * 1464 B, netns.h).
 *
 * Per figure, the median of -n rounds of -t seconds after a warm-up: delivered pps,
 * offered pps (the generator's), loss, and the CPU a delivered packet: the whole
 * machine's busy time (every CPU's but its idle, from the kernel's idle clock: precise,
 * each ns once), generator included, since the kernel's path runs in the generator's
 * softirq and the VM port's cost (a TAP's or a veth's) is its path's. The forwarders'
 * processes plus the machine's softirq ticks, the figure of earlier runs, is kept beside
 * it (fwd_sirq_ns): with tick accounting (this kernel: no IRQ_TIME_ACCOUNTING) a softirq
 * run in a forwarder's time is in both, counted twice against vpcfwd. Then the zero-loss
 * rate: the highest rate offered with < 0.1 % lost, by a
 * binary search of -Z probes of -P ms each at a set rate (each probe counts what is
 * delivered once the generator stopped and the path drained).
 *
 *	forward [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-m sxkd] [-f 1m]
 *	    [-R RULES] [-Z PROBES] [-P MS] [-r RATE] [-w]
 *	(-s: 64,1400,imix by default; -m: which topologies, s(ocket), x(dp), k(ernel),
 *	 d(irect); -f: which traffic, 1 (one flow), m(any); -Z 0: no zero-loss search;
 *	 -w: wait for a key after set-up and print the processes, for perf; results are
 *	 written only by a full run, the defaults)
 */
#include "bench/overlay.h"
#include "common/log.h"

#include <getopt.h>

#define WARM_MS		300
#define SETTLE_MS	100
#define DRAIN_MS	50
#define ZL_LOSS		0.001		/* the zero-loss rate's loss: < 0.1 % */

enum { C_SOCK, C_XDP, C_KERNEL, C_DIRECT, C_N };
enum { F_ONE, F_MANY, F_N };

static const char *c_key = "sxkd";
static const char *c_label[C_N] = {
	"vpcfwd vswitch, io socket",
	"vpcfwd vswitch, io xdp",
	"kernel vxlan + bridge (RPS)",
	"kernel vxlan in the VM (RPS)",
};
static const char *f_key = "1m";

struct meas {
	double pps;			/* first: medians by bench_cmp_double */
	double offered, loss;
	double cpu_ns;			/* forwarders + softirq ticks a delivered packet */
	double fwd_ns, sirq_ns;		/* its parts */
	double gen_ns;			/* the generator's CPU a delivered packet */
	double machine_ns;		/* the whole machine's busy CPU a delivered packet */
	double cores;			/* the machine's busy CPUs */
	uint64_t drops;			/* vpcfwd: drop_* and tx_errors, over the window */
	uint64_t tx_socket;		/* xdp: datagrams AF_XDP could not send (socket) */
	uint64_t tx_runs;		/* xdp: datagrams sent as UDP GSO runs (socket) */
};

_Static_assert(offsetof(struct meas, pps) == 0, "struct meas: pps first");

static struct ovl topo[C_N];
static struct gen gen[C_N];
static uint32_t rules = 1u << 20;

static uint64_t
delivered(struct ovl *t, int flow)
{
	return flow == F_ONE ? ns_rx_packets(&t->v[1], t->vif[1]) : ovl_sink_datagrams(t);
}

static uint64_t
fwd_drops(const struct ovl *t)
{
	uint64_t d = 0;

	for (int i = 0; i < 2; i++)
		for (uint32_t k = 0; t->st[i].hdr != NULL && k < t->st[i].hdr->count; k++)
			if (strncmp(t->st[i].desc[k].name, "drop_", 5) == 0 ||
			    strcmp(t->st[i].desc[k].name, "tx_errors") == 0)
				d += stats_value(&t->st[i], k);
	return d;
}

/* The generator's frames: size bytes (or the IMIX) from VM 1, to VM 2 or the rules. */
static void
gen_fill(struct gen *g, uint32_t size, int flow)
{
	uint32_t nvar = flow == F_MANY ? (size == PKT_IMIX ? 1020 : GEN_VARIANTS) :
	    size == PKT_IMIX ? PKT_IMIX_CYCLE : 1;

	for (uint32_t j = 0; j < nvar; j++) {
		uint32_t len = size == PKT_IMIX ? pkt_imix_len(j) : size;

		frame_udp(g->sh->data[j], len, ovl_vm_mac[1], ovl_vm_mac[0], OVL_VM_IP(0),
		    OVL_VM_IP(1), 4000);
		g->sh->lens[j] = (uint16_t)len;
	}
	g->sh->len = g->sh->lens[0];
	g->sh->nvar = nvar;
	g->sh->spread = flow == F_MANY ? rules : 0;
	g->sh->spread_ip = OVL_RULE_IP(0);
	g->sh->spread_off = 0;
	memcpy(g->sh->spread_mac, ovl_rule_mac_prefix, 2);
}

/* One measurement of what gen_fill set, as fast as the generator can. */
static void
measure(int c, int flow, uint64_t window_ms, struct meas *m)
{
	struct ovl *t = &topo[c];
	struct gen *g = &gen[c];
	uint64_t rx0, rx1, tx0, tx1, f0, f1, s0, s1, i0, i1, t0, t1, d0, g0, g1, x0, r0;
	double dt, n;

	gen_run(g);
	ns_sleep_ms(WARM_MS);
	d0 = fwd_drops(t);
	x0 = c == C_XDP ? ovl_fwd_stat(t, "xdp_tx_socket") : 0;
	r0 = c == C_XDP ? ovl_fwd_stat(t, "xdp_tx_runs") : 0;
	f0 = ovl_fwd_cpu_ns(t);
	g0 = proc_cpu_ns(g->pid);
	tx0 = gen_sent(g);
	s0 = cpu_softirq_ns();
	i0 = cpu_idle_ns();
	t0 = clock_mono_ns();
	rx0 = delivered(t, flow);
	ns_sleep_ms(window_ms);
	rx1 = delivered(t, flow);
	t1 = clock_mono_ns();
	i1 = cpu_idle_ns();
	s1 = cpu_softirq_ns();
	tx1 = gen_sent(g);
	g1 = proc_cpu_ns(g->pid);
	f1 = ovl_fwd_cpu_ns(t);
	m->drops = fwd_drops(t) - d0;
	m->tx_socket = c == C_XDP ? ovl_fwd_stat(t, "xdp_tx_socket") - x0 : 0;
	m->tx_runs = c == C_XDP ? ovl_fwd_stat(t, "xdp_tx_runs") - r0 : 0;
	gen_idle(g);
	dt = (double)(t1 - t0);
	n = (double)(rx1 - rx0);
	m->pps = n * 1e9 / dt;
	m->offered = (double)(tx1 - tx0) * 1e9 / dt;
	m->loss = m->offered > 0 && m->pps < m->offered ? 1 - m->pps / m->offered : 0;
	m->fwd_ns = n > 0 ? (double)(f1 - f0) / n : 0;
	m->sirq_ns = n > 0 ? (double)(s1 - s0) / n : 0;
	m->cpu_ns = m->fwd_ns + m->sirq_ns;
	m->gen_ns = n > 0 ? (double)(g1 - g0) / n : 0;
	m->cores = cpu_busy_cores(i1 - i0, t1 - t0);
	m->machine_ns = n > 0 ? m->cores * dt / n : 0;
	ns_sleep_ms(SETTLE_MS);
}

/*
 * A probe at rate frames/s for ms: true when < 0.1 % of what was offered was lost,
 * counted once the path drained; *achieved: the rate the generator kept.
 */
static bool
probe(int c, int flow, uint64_t rate, uint64_t ms, double *achieved)
{
	struct ovl *t = &topo[c];
	struct gen *g = &gen[c];
	uint64_t rx0, tx0, t0, sent, got;

	g->sh->rate = rate;
	rx0 = delivered(t, flow);
	tx0 = gen_sent(g);
	t0 = clock_mono_ns();
	gen_run(g);
	ns_sleep_ms(ms);
	gen_idle(g);
	*achieved = (double)(gen_sent(g) - tx0) * 1e9 / (double)(clock_mono_ns() - t0);
	ns_sleep_ms(DRAIN_MS);
	sent = gen_sent(g) - tx0;
	got = delivered(t, flow) - rx0;
	g->sh->rate = 0;
	return sent > 0 && (double)got >= (1 - ZL_LOSS) * (double)sent;
}

/*
 * The zero-loss rate below hi (what the generator offers at most): nprobes probes.
 * *capped: the first, at hi, lost nothing (the rate is at least that).
 */
static double
zero_loss(int c, int flow, double hi, uint32_t nprobes, uint64_t ms, bool *capped)
{
	double lo = 0, best = 0, got;

	*capped = false;
	for (uint32_t i = 0; i < nprobes; i++) {
		double mid = i == 0 ? hi : (lo + hi) / 2;

		if (probe(c, flow, (uint64_t)mid, ms, &got)) {
			best = got > best ? got : best;
			lo = mid;
			if (i == 0) {
				*capped = true;
				break;
			}
		} else {
			hi = mid;
		}
	}
	return best;
}

/* A row, with the loss of both and whether lower is better, and printed. */
static void
row(json_t *res, const char *name, double v, const char *unit, const char *baseline,
    double bv, const struct meas *m, const struct meas *bm, bool lower_better)
{
	json_t *r;

	bench_add(res, name, v, unit, baseline, bv);
	r = json_array_get(res, json_array_size(res) - 1);
	if (m != NULL) {
		json_object_set_new(r, "loss", json_real(m->loss));
		json_object_set_new(r, "offered", json_real(m->offered));
		json_object_set_new(r, "cpu_ns_per_pkt", json_real(m->machine_ns));
		json_object_set_new(r, "baseline_loss", json_real(bm->loss));
		json_object_set_new(r, "baseline_offered", json_real(bm->offered));
		json_object_set_new(r, "baseline_cpu_ns_per_pkt", json_real(bm->machine_ns));
	}
	if (lower_better)
		json_object_set_new(r, "better", json_string("lower"));
	printf("%-40s %12.1f %-4s baseline %12.1f  %.2fx\n", name, v, unit, bv,
	    bv != 0 ? v / bv : 0);
}

static void
usage(void)
{
	fatalx("usage: forward [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-m sxkd] "
	    "[-f 1m] [-R RULES] [-Z PROBES] [-P MS] [-r RATE] [-w]");
}

int
main(int argc, char **argv)
{
	struct pkt_opts o;
	const char *modes = "sxkd", *flows = "1m";
	struct meas *ms[C_N][F_N][PKT_SIZES_MAX], med[C_N][F_N][PKT_SIZES_MAX];
	double zl[C_N][F_N][PKT_SIZES_MAX];
	bool zcap[C_N][F_N][PKT_SIZES_MAX];
	bool on[C_N], fon[F_N];
	uint32_t nprobes = 7;
	uint64_t probe_ms = 400, t_setup;
	char sz[16], name[96];
	int ch;
	json_t *res;

	log_init("bench-forward", LOG_LVL_INFO);
	pkt_opts_init(&o);
	o.sizes[0] = 64;
	o.sizes[1] = 1400;
	o.sizes[2] = PKT_IMIX;
	o.nsizes = 3;
	o.secs = 1;
	o.full_secs = 1;
	while ((ch = getopt(argc, argv, "n:t:s:m:f:R:Z:P:r:w")) != -1) {
		if (pkt_opt(&o, ch, optarg)) {
			continue;
		} else if (ch == 'm') {
			modes = optarg;
			o.full = false;
		} else if (ch == 'f') {
			flows = optarg;
			o.full = false;
		} else if (ch == 'R') {
			rules = (uint32_t)strtoul(optarg, NULL, 10);
			o.full = false;
		} else if (ch == 'Z') {
			nprobes = (uint32_t)strtoul(optarg, NULL, 10);
			o.full = false;
		} else if (ch == 'P') {
			probe_ms = strtoull(optarg, NULL, 10);
			o.full = false;
		} else {
			usage();
		}
	}
	if (!pkt_opts_valid(&o) || rules == 0 || rules > OVL_RULES_MAX || probe_ms < 50 ||
	    probe_ms > 10000)
		usage();
	pkt_opts_check(&o, "forward", "IPv4 of the VMs' MTU 1450", "network namespaces, TAPs");

	cluster_init("forward");
	ns_sweep_stale();
	t_setup = clock_mono_ns();
	for (int f = 0; f < F_N; f++)
		fon[f] = strchr(flows, f_key[f]) != NULL;
	for (int c = 0; c < C_N; c++)
		on[c] = strchr(modes, c_key[c]) != NULL;
	if (on[C_XDP] && !ovl_io_supported("xdp")) {
		printf("forward: this build's forwarder has no forwarder.io = \"xdp\": the xdp "
		    "contender is left out\n");
		on[C_XDP] = false;
	}
	for (int c = 0; c < C_N; c++) {
		char p[2] = { c_key[c], '\0' };
		uint32_t n = fon[F_MANY] ? rules : 0;
		uint64_t t0 = clock_mono_ns();

		if (!on[c])
			continue;
		if (c == C_SOCK || c == C_XDP)
			ovl_vpcfwd(&topo[c], p, ovl_io_supported(c == C_SOCK ? "socket" : "xdp") ?
			    (c == C_SOCK ? "socket" : "xdp") : NULL, false, n, fon[F_MANY]);
		else
			ovl_kernel(&topo[c], p, c == C_DIRECT, n, fon[F_MANY], true);
		printf("forward: %s set up in %.1f s\n", c_label[c],
		    (double)(clock_mono_ns() - t0) / 1e9);
		(void)ns_udp_sink(&topo[c].v[1], 9);
		gen_packet(&gen[c], &topo[c].v[0], topo[c].vif[0]);
		gen[c].sh->rate = o.rate;
		for (int f = 0; f < F_N; f++)
			for (uint32_t s = 0; s < o.nsizes; s++)
				if ((ms[c][f][s] = calloc(o.rounds, sizeof(struct meas))) == NULL)
					fatalx("forward: out of memory");
	}
	printf("forward: set up in %.1f s (%u many-destination rules)\n",
	    (double)(clock_mono_ns() - t_setup) / 1e9, fon[F_MANY] ? rules : 0);
	if (o.wait_key) {
		printf("forward: set up in %s; forwarders:", cluster_dir());
		for (int c = 0; c < C_N; c++)
			if (on[c])
				printf(" %c %d %d, generator %d;", c_key[c], (int)topo[c].fwd[0],
				    (int)topo[c].fwd[1], (int)gen[c].pid);
		printf("\npress Enter to measure\n");
		fflush(stdout);
		(void)getchar();
	}

	for (uint64_t r = 0; r < o.rounds; r++)
		for (int f = 0; f < F_N; f++)
			for (uint32_t s = 0; s < o.nsizes && fon[f]; s++)
				for (int c = 0; c < C_N; c++)
					if (on[c]) {
						gen_fill(&gen[c], o.sizes[s], f);
						measure(c, f, (uint64_t)(o.secs * 1000),
						    &ms[c][f][s][r]);
					}
	for (int f = 0; f < F_N; f++)
		for (uint32_t s = 0; s < o.nsizes && fon[f]; s++)
			for (int c = 0; c < C_N; c++) {
				if (!on[c])
					continue;
				qsort(ms[c][f][s], o.rounds, sizeof(struct meas), bench_cmp_double);
				med[c][f][s] = ms[c][f][s][o.rounds / 2];
				zl[c][f][s] = 0;
				zcap[c][f][s] = false;
				if (nprobes == 0 || o.rate != 0)
					continue;
				gen_fill(&gen[c], o.sizes[s], f);
				zl[c][f][s] = zero_loss(c, f, med[c][f][s].offered, nprobes,
				    probe_ms, &zcap[c][f][s]);
			}

	printf("forward: VM 1 on host 1 -> VM 2 (one flow) or -> %u VMs behind %d VTEPs "
	    "(many), UDP frames from an AF_PACKET generator; median of %llu rounds of %.1f s"
	    "%s; zero-loss: %u probes of %llu ms\n", rules, OVL_VTEPS,
	    (unsigned long long)o.rounds, o.secs, o.rate ? "" : ", offered as fast as it can",
	    nprobes, (unsigned long long)probe_ms);
	printf("%-5s %-5s %-30s %10s %10s %6s %8s %8s %8s %8s %8s %10s\n", "flows",
	    "frame", "path", "offered", "delivered", "loss%", "ns/pkt", "fwd ns", "sirq ns",
	    "gen ns", "all ns", "zero-loss");
	for (int f = 0; f < F_N; f++)
		for (uint32_t s = 0; s < o.nsizes && fon[f]; s++)
			for (int c = 0; c < C_N; c++) {
				struct meas *m = &med[c][f][s];

				if (!on[c])
					continue;
				printf("%-5s %-5s %-30s %10.0f %10.0f %6.2f %8.0f %8.0f %8.0f "
				    "%8.0f %8.0f %1s%9.0f\n", f == F_ONE ? "one" : "many",
				    pkt_size_name(o.sizes[s], sz, sizeof(sz)), c_label[c],
				    m->offered, m->pps, 100 * m->loss, m->cpu_ns, m->fwd_ns,
				    m->sirq_ns, m->gen_ns, m->machine_ns, zcap[c][f][s] ? ">" : "",
				    zl[c][f][s]);
				if (m->drops != 0)
					printf("%-42s forwarders' drop_* and tx_errors: %llu\n", "",
					    (unsigned long long)m->drops);
				if (m->tx_socket != 0 || m->tx_runs != 0)
					printf("%-42s through the socket: %llu in UDP GSO runs "
					    "(xdp_tx_runs), %llu AF_XDP could not send\n", "",
					    (unsigned long long)m->tx_runs,
					    (unsigned long long)m->tx_socket);
			}
	printf("(all ns: the whole machine's busy CPU a delivered packet (its idle clock, "
	    "precise), generator included: the cpu rows' figure; ns/pkt: the forwarders' "
	    "processes (fwd) + softirq ticks of the whole machine (sirq), where softirq run "
	    "in a process's time is in both; gen: the generator's process (the VM's sends); "
	    "zero-loss >: no loss at the most the generator offers)\n");

	res = bench_results();
	for (int c = C_SOCK; c <= C_XDP; c++)
		for (int f = 0; f < F_N; f++)
			for (uint32_t s = 0; s < o.nsizes && on[c] && on[C_KERNEL] && fon[f]; s++) {
				const struct meas *m = &med[c][f][s], *k = &med[C_KERNEL][f][s];
				char base[64];

				snprintf(base, sizeof(base), "forward%s_%s%s", c == C_XDP ? "_xdp" :
				    "", pkt_size_name(o.sizes[s], sz, sizeof(sz)),
				    f == F_MANY ? "_many" : "");
				snprintf(name, sizeof(name), "%s_pps", base);
				row(res, name, m->pps, "pps", "kernel vxlan + Linux bridge, veth to "
				    "the VM, RPS", k->pps, m, k, false);
				if (on[C_DIRECT]) {
					snprintf(name, sizeof(name), "%s_pps_vs_vxlan_in_vm", base);
					row(res, name, m->pps, "pps", "kernel vxlan device in the "
					    "VM's namespace, RPS", med[C_DIRECT][f][s].pps, m,
					    &med[C_DIRECT][f][s], false);
				}
				snprintf(name, sizeof(name), "%s_cpu_per_pkt", base);
				row(res, name, m->machine_ns, "ns", "kernel vxlan + Linux bridge "
				    "(the machine's CPU, generator included)", k->machine_ns, NULL,
				    NULL, true);
				/* The earlier, tick-sampled figure, against vpcfwd (above). */
				json_object_set_new(json_array_get(res, json_array_size(res) - 1),
				    "fwd_sirq_ns", json_pack("[f, f]", m->cpu_ns, k->cpu_ns));
				snprintf(name, sizeof(name), "%s_zero_loss_pps", base);
				row(res, name, zl[c][f][s], "pps", "kernel vxlan + Linux bridge, "
				    "RPS", zl[C_KERNEL][f][s], NULL, NULL, false);
				/* At the generator's most: a floor, not the rate. */
				json_object_set_new(json_array_get(res, json_array_size(res) - 1),
				    "at_generator_max", json_pack("[b, b]", zcap[c][f][s],
				    zcap[C_KERNEL][f][s]));
			}
	cluster_end();
	for (int c = 0; c < C_N; c++)
		if (on[c])
			ovl_close(&topo[c]);
	if (!on[C_XDP] || !on[C_SOCK] || !on[C_KERNEL] || !on[C_DIRECT] || nprobes == 0)
		o.full = false;
	return pkt_results_write(&o, res, "forward");
}
