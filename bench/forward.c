/*
 * bench/forward: packets a second from a VM on one host to a VM on another, through
 * the hosts' vswitch forwarders (TAP -> VXLAN -> TAP), against the Linux kernel's vxlan
 * device on the same namespace topology, measured in the same run (DESIGN.md §3.6).
 *
 * Three topologies, each of namespaces of its own (bench/netns.h: nameless, gone with
 * the run whatever ends it): an underlay namespace with a bridge, two host namespaces
 * on it by veth (192.168.77.1 and .2/24, MTU 1500), and a VM namespace per host
 * (10.77.0.1 and .2/24 on VNI 77, MTU 1450, static neighbour entries):
 *  vpcfwd	each host runs vpcfwd-forwarder (vswitch, default settings), which makes
 *		the VM's TAP in the VM's namespace. There is no learner: this program writes
 *		the host's rule table (the rule of the other VM, so every frame goes direct)
 *		and port table (its VM) itself, as a learner would.
 *  kernel	each host has a vxlan device (VNI 77, nolearning, static fdb entry for the
 *		other VM's MAC) and a VM port, a veth, on a Linux bridge with it: the usual
 *		kernel hypervisor switch. The baseline.
 *  direct	the host's vxlan device itself moved into the VM's namespace as its eth0
 *		(its socket stays in the host's): the cheapest kernel path there is, no
 *		bridge nor veth. A second baseline.
 *
 * Load: a generator child in VM 1's namespace writes UDP frames of -s bytes (Ethernet
 * header included, no FCS) to VM 1's interface with sendmmsg on an AF_PACKET socket
 * (PACKET_QDISC_BYPASS), as fast as it can (or at -r frames/s). Counted: the frames
 * VM 2's interface received (rx_packets, rtnetlink), over -t seconds after a warm-up;
 * VM 2's stack drops them at a UDP socket on their port that is never read (a closed
 * port would answer each with ICMP, rate-limited, but at a cost).
 * Rounds of every topology and size one after another (-n), the median of each.
 * Also shown: the frames offered (the generator's) and lost; the CPUs the whole
 * machine kept busy meanwhile (/proc/stat: run it on a quiet machine); the generator's
 * CPU a delivered frame (on the kernel's topologies the whole path runs on it, in
 * softirq); each forwarder's CPU, CPU a frame and context switches a frame.
 * The namespaces' bridges only switch: bridge-nf-call-iptables is turned off in them
 * (when br_netfilter is loaded, as docker does, it is on in a new namespace and halved
 * the kernel's rate here).
 *
 *	forward [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-m vkd] [-r RATE] [-w]
 *	(-m: which topologies, v(pcfwd), k(ernel), d(irect); -w: wait for a key after
 *	 set-up and print the processes, for perf; results are written only by a full run)
 */
#include "bench/netns.h"
#include "common/log.h"
#include "shm/ports.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <getopt.h>

#define VNI		77
#define GEN		0x7a11u		/* the table's generation */
#define VM_IP(i)	(0x0a4d0001u + (uint32_t)(i))	/* 10.77.0.1, .2 */
#define HOST_IP(i)	(0xc0a84d01u + (uint32_t)(i))	/* 192.168.77.1, .2 */
#define WARM_MS		300
#define SETTLE_MS	100

static const uint8_t vm_mac[2][6] = { { 2, 0x77, 0, 0, 0, 1 }, { 2, 0x77, 0, 0, 0, 2 } };

enum { T_VPCFWD, T_KERNEL, T_DIRECT, T_N };

static const char *t_key = "vkd";
static const char *t_label[T_N] = {
	"vpcfwd-forwarder (vswitch), TAPs",
	"kernel vxlan + bridge, veth to VM",
	"kernel vxlan device in the VM",
};

struct topo {
	bool on;
	struct ns ul, h[2], v[2];
	char vif[2][16];		/* the VM's interface in v[i] */
	struct gen gen;
	pid_t fwd[2];			/* vpcfwd */
	struct stats st[2];
	struct table *tab[2];
	struct ports *ports[2];
};

struct meas {
	double pps;			/* first: medians by bench_cmp_double */
	double offered, cores;
	double gen_cores;		/* the generator's CPU (with the kernel's path on it) */
	double fwd_cores[2], fwd_switches[2];	/* vpcfwd: each forwarder's, a second */
	uint64_t nobuf, tx_err, rx_err, drop;	/* vpcfwd: the forwarders', over the window */
};

_Static_assert(offsetof(struct meas, pps) == 0, "struct meas: pps first");

static struct topo topo[T_N];

static void
ip_str(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static void
mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* The underlay, the two hosts on it, the two VMs' namespaces (empty). p: "v", "k", "d". */
static void
topo_base(struct topo *t, const char *p)
{
	char name[16], ip[32];

	snprintf(name, sizeof(name), "%s-ul", p);
	ns_new(&t->ul, name);
	ns_sh(&t->ul, "ip link add br0 type bridge; ip link set br0 up");
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s-h%d", p, i + 1);
		ns_new(&t->h[i], name);
		snprintf(name, sizeof(name), "%s-v%d", p, i + 1);
		ns_new(&t->v[i], name);
		ip_str(HOST_IP(i), ip, sizeof(ip));
		ns_sh(&t->ul, "ip link add h%d type veth peer name eth0 netns %s; "
		    "ip link set h%d master br0 up", i + 1, t->h[i].path, i + 1);
		ns_sh(&t->h[i], "ip addr add %s/24 dev eth0; ip link set eth0 up", ip);
	}
	/* Known MACs and static neighbours on the underlay: no ARP on any path. */
	for (int i = 0; i < 2; i++) {
		ip_str(HOST_IP(1 - i), ip, sizeof(ip));
		ns_sh(&t->h[i], "ip link set eth0 address 02:aa:00:00:00:0%d; "
		    "ip neigh replace %s lladdr 02:aa:00:00:00:0%d dev eth0 nud permanent",
		    i + 1, ip, 2 - i);
	}
}

/* In VM i's namespace, on its interface: address, MTU, static neighbour of the other. */
static void
vm_addr(struct topo *t, int i)
{
	char ip[32], peer[32], mac[32];

	ip_str(VM_IP(i), ip, sizeof(ip));
	ip_str(VM_IP(1 - i), peer, sizeof(peer));
	mac_str(vm_mac[1 - i], mac, sizeof(mac));
	ns_sh(&t->v[i], "ip link set %s mtu 1450 up; ip addr add %s/24 dev %s; "
	    "ip neigh replace %s lladdr %s dev %s nud permanent", t->vif[i], ip, t->vif[i],
	    peer, mac, t->vif[i]);
}

/*
 * The kernel's topologies: each host's vxlan device on a bridge with a veth to the VM
 * (in_vm false), or moved into the VM's namespace as its eth0 (in_vm true).
 */
static void
topo_kernel(struct topo *t, bool in_vm)
{
	char hip[32], peer[32], mac[32], me[32];

	topo_base(t, in_vm ? "d" : "k");
	for (int i = 0; i < 2; i++) {
		ip_str(HOST_IP(i), hip, sizeof(hip));
		ip_str(HOST_IP(1 - i), peer, sizeof(peer));
		mac_str(vm_mac[1 - i], mac, sizeof(mac));
		mac_str(vm_mac[i], me, sizeof(me));
		if (in_vm) {
			ns_sh(&t->h[i], "ip link add vx0 type vxlan id %d local %s dstport 4789 "
			    "nolearning; ip link set vx0 netns %s", VNI, hip, t->v[i].path);
			ns_sh(&t->v[i], "ip link set vx0 name eth0; ip link set eth0 address %s; "
			    "bridge fdb append %s dev eth0 dst %s", me, mac, peer);
		} else {
			ns_sh(&t->h[i], "ip link add vx0 type vxlan id %d local %s dstport 4789 "
			    "nolearning; ip link add br0 type bridge; ip link set vx0 master "
			    "br0; ip link add vm type veth peer name eth0 netns %s; ip link set "
			    "vm mtu 1450 master br0; ip link set vx0 up; ip link set vm up; ip "
			    "link set br0 up; bridge fdb append %s dev vx0 dst %s; bridge fdb "
			    "replace %s dev vx0 master static", VNI, hip, t->v[i].path, mac, peer,
			    mac);
			ns_sh(&t->v[i], "ip link set eth0 address %s", me);
		}
		snprintf(t->vif[i], sizeof(t->vif[i]), "eth0");
		vm_addr(t, i);
	}
}

static void
topo_vpcfwd(struct topo *t)
{
	char conf[1024], hip[32];
	const char *node;

	topo_base(t, "v");
	for (int i = 0; i < 2; i++) {
		struct table_params tp;
		struct table_rule r = { .vni = VNI, .ip = VM_IP(1 - i), .vtep = HOST_IP(1 - i),
		    .version = 1 };
		struct port port = { .vni = VNI, .ip = VM_IP(i) };
		char err[512];

		node = cluster_node(i == 0 ? "h1" : "h2");
		/* The learner's segments, as a learner would make them. */
		table_params_default(&tp, TABLE_HOST);
		tp.capacity = 64;
		tp.max_vnis = 16;
		if (table_create(&t->tab[i], node, "learner", &tp, err, sizeof(err)) < 0)
			fatalx("forward: %s", err);
		memcpy(r.mac, vm_mac[1 - i], 6);
		if (table_set(t->tab[i], &r) != TABLE_APPLIED ||
		    table_vni_advance(t->tab[i], VNI, GEN, 1) != TABLE_APPLIED)
			fatalx("forward: cannot write the rule table of %s", node);
		if (ports_create(&t->ports[i], node, 4, err, sizeof(err)) < 0)
			fatalx("forward: %s", err);
		memcpy(port.mac, vm_mac[i], 6);
		/* The TAP is named as the VM's namespace, whose link is in DIR/ns. */
		snprintf(port.tap, sizeof(port.tap), "%s", t->v[i].name);
		if (ports_set(t->ports[i], &port) < 0)
			fatalx("forward: cannot write the port table of %s", node);
		snprintf(t->vif[i], sizeof(t->vif[i]), "%s", t->v[i].name);

		ip_str(HOST_IP(i), hip, sizeof(hip));
		snprintf(conf, sizeof(conf), "node = \"%s\";\nforwarder = {\n"
		    " mode = \"vswitch\";\n listen = \"%s:4789\";\n netns_dir = \"%s/ns\";\n};\n",
		    node, hip, the_cluster.dir);
		t->fwd[i] = ns_exec(&t->h[i], "vpcfwd-forwarder", conf, i == 0 ? "fwd1" : "fwd2");
	}
	for (int i = 0; i < 2; i++) {
		node = cluster_node(i == 0 ? "h1" : "h2");
		cluster_stats_wait(&t->st[i], node, "forwarder");
		for (int k = 0; cluster_stat(&t->st[i], "ports") != 1 ||
		    cluster_stat(&t->st[i], "table_attached") != 1; k++) {
			if (k == CLUSTER_WAIT_TRIES)
				fatalx("forward: the forwarder of %s did not open its VM's TAP",
				    node);
			usleep(10000);
		}
		vm_addr(t, i);
	}
}

static uint64_t
fwd_stat(struct topo *t, int i, const char *name)
{
	return cluster_stat(&t->st[i], name);
}

static uint64_t
fwd_drops(struct topo *t)
{
	uint64_t d = 0;

	for (int i = 0; i < 2; i++)
		for (uint32_t k = 0; k < t->st[i].hdr->count; k++)
			if (strncmp(t->st[i].desc[k].name, "drop_", 5) == 0 &&
			    strcmp(t->st[i].desc[k].name, "drop_nobuf") != 0)
				d += stats_value(&t->st[i], k);
	return d;
}

/* One measurement: frames of len bytes from VM 1 to VM 2 on t. */
static void
measure(struct topo *t, int which, uint32_t len, uint64_t window_ms, struct meas *m)
{
	uint64_t rx0, rx1, tx0, tx1, b0, b1, t0, t1, g0, g1, f0[2] = { 0 }, f1[2] = { 0 };
	uint64_t s0[2] = { 0 }, s1[2] = { 0 }, nb0 = 0, te0 = 0, re0 = 0, dr0 = 0;

	frame_udp(t->gen.sh->data[0], len, vm_mac[1], vm_mac[0], VM_IP(0), VM_IP(1), 4000);
	t->gen.sh->len = len;
	t->gen.sh->nvar = 1;
	gen_run(&t->gen);
	ns_sleep_ms(WARM_MS);
	if (which == T_VPCFWD) {
		nb0 = fwd_stat(t, 0, "drop_nobuf") + fwd_stat(t, 1, "drop_nobuf");
		te0 = fwd_stat(t, 0, "tx_errors") + fwd_stat(t, 1, "tx_errors");
		re0 = fwd_stat(t, 0, "rx_errors") + fwd_stat(t, 1, "rx_errors");
		dr0 = fwd_drops(t);
		for (int i = 0; i < 2; i++) {
			f0[i] = proc_cpu_ns(t->fwd[i]);
			s0[i] = proc_switches(t->fwd[i]);
		}
	}
	g0 = proc_cpu_ns(t->gen.pid);
	tx0 = gen_sent(&t->gen);
	b0 = cpu_busy_ns();
	t0 = clock_mono_ns();
	rx0 = ns_rx_packets(&t->v[1], t->vif[1]);
	ns_sleep_ms(window_ms);
	rx1 = ns_rx_packets(&t->v[1], t->vif[1]);
	t1 = clock_mono_ns();
	b1 = cpu_busy_ns();
	tx1 = gen_sent(&t->gen);
	g1 = proc_cpu_ns(t->gen.pid);
	if (which == T_VPCFWD) {
		for (int i = 0; i < 2; i++) {
			f1[i] = proc_cpu_ns(t->fwd[i]);
			s1[i] = proc_switches(t->fwd[i]);
		}
		m->nobuf = fwd_stat(t, 0, "drop_nobuf") + fwd_stat(t, 1, "drop_nobuf") - nb0;
		m->tx_err = fwd_stat(t, 0, "tx_errors") + fwd_stat(t, 1, "tx_errors") - te0;
		m->rx_err = fwd_stat(t, 0, "rx_errors") + fwd_stat(t, 1, "rx_errors") - re0;
		m->drop = fwd_drops(t) - dr0;
	}
	gen_idle(&t->gen);
	m->pps = (double)(rx1 - rx0) * 1e9 / (double)(t1 - t0);
	m->offered = (double)(tx1 - tx0) * 1e9 / (double)(t1 - t0);
	m->cores = (double)(b1 - b0) / (double)(t1 - t0);
	m->gen_cores = (double)(g1 - g0) / (double)(t1 - t0);
	for (int i = 0; i < 2; i++) {
		m->fwd_cores[i] = (double)(f1[i] - f0[i]) / (double)(t1 - t0);
		m->fwd_switches[i] = (double)(s1[i] - s0[i]) * 1e9 / (double)(t1 - t0);
	}
	ns_sleep_ms(SETTLE_MS);
}

static void
usage(void)
{
	fatalx("usage: forward [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-m vkd] "
	    "[-r RATE] [-w]");
}

int
main(int argc, char **argv)
{
	struct pkt_opts o;
	const char *modes = "vkd";
	struct meas *ms[T_N][PKT_SIZES_MAX], med[T_N][PKT_SIZES_MAX];
	int ch;
	json_t *res;

	log_init("bench-forward", LOG_LVL_INFO);
	pkt_opts_init(&o);
	while ((ch = getopt(argc, argv, "n:t:s:m:r:w")) != -1) {
		if (pkt_opt(&o, ch, optarg)) {
			continue;
		} else if (ch == 'm') {
			modes = optarg;
			o.full = false;
		} else {
			usage();
		}
	}
	if (!pkt_opts_valid(&o))
		usage();
	pkt_opts_check(&o, "forward", "IPv4 of the VMs' MTU 1450", "network namespaces, TAPs");

	cluster_init("forward");
	ns_sweep_stale();
	for (int k = 0; k < T_N; k++)
		topo[k].on = strchr(modes, t_key[k]) != NULL;
	if (topo[T_VPCFWD].on)
		topo_vpcfwd(&topo[T_VPCFWD]);
	if (topo[T_KERNEL].on)
		topo_kernel(&topo[T_KERNEL], false);
	if (topo[T_DIRECT].on)
		topo_kernel(&topo[T_DIRECT], true);
	for (int k = 0; k < T_N; k++) {
		if (!topo[k].on)
			continue;
		(void)ns_udp_sink(&topo[k].v[1], 9);
		gen_packet(&topo[k].gen, &topo[k].v[0], topo[k].vif[0]);
		topo[k].gen.sh->rate = o.rate;
		for (uint32_t s = 0; s < o.nsizes; s++)
			if ((ms[k][s] = calloc(o.rounds, sizeof(struct meas))) == NULL)
				fatalx("forward: out of memory");
	}
	if (o.wait_key) {
		printf("forward: set up in %s; forwarders: %d %d; generators:", cluster_dir(),
		    (int)topo[T_VPCFWD].fwd[0], (int)topo[T_VPCFWD].fwd[1]);
		for (int k = 0; k < T_N; k++)
			printf(" %c %d", t_key[k], (int)topo[k].gen.pid);
		printf("\npress Enter to measure\n");
		fflush(stdout);
		(void)getchar();
	}

	for (uint64_t r = 0; r < o.rounds; r++)
		for (uint32_t s = 0; s < o.nsizes; s++)
			for (int k = 0; k < T_N; k++)
				if (topo[k].on)
					measure(&topo[k], k, o.sizes[s], (uint64_t)(o.secs * 1000),
					    &ms[k][s][r]);

	printf("forward: VM 1 -> VM 2 on two hosts (namespaces on a bridge), UDP frames "
	    "from an AF_PACKET generator, delivered at VM 2; median of %llu rounds of %.1f s"
	    "%s\n", (unsigned long long)o.rounds, o.secs, o.rate ? "" : ", offered as fast as it "
	    "can");
	printf("%-6s %-34s %11s %11s %6s %6s %11s\n", "frame", "path", "offered pps",
	    "delivered", "loss %", "CPUs", "gen us/fr");
	for (uint32_t s = 0; s < o.nsizes; s++)
		for (int k = 0; k < T_N; k++) {
			struct meas *m = &med[k][s];

			if (!topo[k].on)
				continue;
			qsort(ms[k][s], o.rounds, sizeof(struct meas), bench_cmp_double);
			*m = ms[k][s][o.rounds / 2];
			printf("%-6u %-34s %11.0f %11.0f %6.1f %6.2f %11.2f\n", o.sizes[s],
			    t_label[k], m->offered, m->pps,
			    m->offered > 0 ? 100 * (1 - m->pps / m->offered) : 0, m->cores,
			    m->pps > 0 ? m->gen_cores * 1e6 / m->pps : 0);
			if (k != T_VPCFWD)
				continue;
			for (int i = 0; i < 2; i++)
				printf("%-6s   forwarder host%d: %.2f CPU, %.2f us/frame, %.2f "
				    "wake-ups/frame\n", "", i + 1, m->fwd_cores[i],
				    m->pps > 0 ? m->fwd_cores[i] * 1e6 / m->pps : 0,
				    m->pps > 0 ? m->fwd_switches[i] / m->pps : 0);
			printf("%-6s   forwarders: drop_nobuf %llu, rx_errors %llu, "
			    "tx_errors %llu, other drops %llu\n", "", (unsigned long long)m->nobuf,
			    (unsigned long long)m->rx_err, (unsigned long long)m->tx_err,
			    (unsigned long long)m->drop);
		}
	printf("(CPUs: busy CPUs of the whole machine in the window; gen us/fr: the generator's "
	    "CPU a delivered frame, the kernel's whole path included where it runs on the "
	    "sender's CPU, as for the kernel's vxlan; wake-ups: context switches)\n");
	if (topo[T_VPCFWD].on)
		for (uint32_t s = 0; s < o.nsizes; s++)
			printf("ratio %u B: %.2fx kernel vxlan + bridge, %.2fx kernel vxlan in "
			    "the VM (goal >= 1.0x)\n", o.sizes[s],
			    topo[T_KERNEL].on ? med[T_VPCFWD][s].pps / med[T_KERNEL][s].pps : 0,
			    topo[T_DIRECT].on ? med[T_VPCFWD][s].pps / med[T_DIRECT][s].pps : 0);

	res = bench_results();
	for (uint32_t s = 0; s < o.nsizes && o.full; s++) {
		char name[64];

		snprintf(name, sizeof(name), "forward_%u_pps", o.sizes[s]);
		bench_add(res, name, med[T_VPCFWD][s].pps, "pps",
		    "kernel vxlan + Linux bridge, veth to the VM", med[T_KERNEL][s].pps);
		snprintf(name, sizeof(name), "forward_%u_pps_vs_vxlan_in_vm", o.sizes[s]);
		bench_add(res, name, med[T_VPCFWD][s].pps, "pps",
		    "kernel vxlan device in the VM's namespace", med[T_DIRECT][s].pps);
	}
	cluster_end();
	for (int k = 0; k < T_N; k++) {
		if (!topo[k].on)
			continue;
		for (int i = 0; i < 2; i++) {
			if (topo[k].tab[i])
				table_close(topo[k].tab[i]);
			if (topo[k].ports[i])
				ports_close(topo[k].ports[i]);
			if (topo[k].st[i].hdr)
				stats_close(&topo[k].st[i]);
		}
	}
	return pkt_results_write(&o, res, "forward");
}
