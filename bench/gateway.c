/*
 * bench/gateway: VXLAN frames a second relayed by one gateway forwarder (DESIGN.md
 * §3.2: receive, look up (VNI, inner destination), rewrite, send to the rule's VTEP)
 * against a plain recvmmsg/sendmmsg UDP relay, the same traffic, in the same run.
 *
 * Two namespaces of their own (bench/netns.h: nameless, gone with the run whatever ends
 * it): "gw" holds the gateway's VTEP 10.78.0.1, the relay's 10.78.0.2 and the
 * generator's 10.78.0.3 (all on a veth; between them the frames go over loopback), and
 * "sink" the sink VTEP 10.78.0.9 on the veth's other end, where a UDP socket on port
 * 4789 that is never read takes the frames (no ICMP). Static neighbours both ways.
 *  vpcfwd	vpcfwd-forwarder, mode gateway, default settings, on 10.78.0.1:4789. No
 *		rule-store: this program writes the gateway's rule table itself (-R rules of
 *		one VNI, each to the sink VTEP), as a rule-store would.
 *  relay	a child of this program on 10.78.0.2:4789: recvmmsg (MSG_WAITFORONE, -b at
 *		a time), then sendmmsg of what came to the sink VTEP, unchanged, no lookup:
 *		the floor of relaying datagrams with system calls. Its socket buffers are
 *		the forwarder's (8 MB).
 * Load: a generator child sends VXLAN datagrams (VNI 78, learn bit clear) holding
 * Ethernet + IPv4 + UDP frames of -s bytes to -d destinations spread over the rules,
 * with sendmmsg, as fast as it can (or at -r datagrams/s), to one or the other. Counted:
 * the datagrams that reached the sink's UDP socket (its namespace's InDatagrams +
 * InErrors: the socket is never read, so most overflow; link counters would count a UDP
 * GSO message passed whole by the veth once) over -t seconds
 * after a warm-up. Rounds of each relay and size one after another (-n), the median of
 * each. Also shown: what was offered, lost, the relay's CPU a frame and the generator's.
 *
 *	gateway [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-R RULES] [-d DESTS]
 *	    [-b BATCH] [-r RATE] [-w]
 *	(-w: wait for a key after set-up and print the processes, for perf; results are
 *	 written only by a full run with the default sizes)
 */
#include "bench/netns.h"
#include "common/log.h"
#include "common/vxlan.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <getopt.h>

#define VNI		78
#define GEN		0x7a12u
#define GW_IP		0x0a4e0001u	/* 10.78.0.1 */
#define RELAY_IP	0x0a4e0002u	/* 10.78.0.2 */
#define SRC_IP		0x0a4e0003u	/* 10.78.0.3, the generator */
#define SINK_IP		0x0a4e0009u	/* 10.78.0.9 */
#define RULE_BASE	0x0ac80000u	/* 10.200.0.0: the rules' VM addresses */
#define INNER_SRC	0x0ac9ffffu	/* 10.201.255.255: the frames' source VM */
#define WARM_MS		300
#define SETTLE_MS	100
#define RELAY_BATCH_MAX	1024
#define SOCKBUF		(8 << 20)	/* as the forwarder's */

enum { R_VPCFWD, R_RELAY, R_N };
static const char *r_label[R_N] = {
	"vpcfwd-forwarder (gateway)",
	"recvmmsg/sendmmsg relay",
};

struct meas {
	double pps;			/* first: medians by bench_cmp_double */
	double offered, cores, relay_cores, gen_cores, relay_switches;
	double sock_drops;		/* a second, at the relay's socket (receive buffer full) */
	uint64_t fwd_drops;		/* vpcfwd: drop_* and tx_errors, over the window */
};

_Static_assert(offsetof(struct meas, pps) == 0, "struct meas: pps first");

static struct sockaddr_in
sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(ip) };
}

/* Datagrams that reached the sink's socket, delivered or dropped there. */
static uint64_t
sink_datagrams(const struct ns *sink)
{
	return ns_udp_stat(sink, "InDatagrams") + ns_udp_stat(sink, "InErrors");
}

/* The relay: what comes in goes out to the sink, batch by batch. Counts in *relayed. */
static void __attribute__((noreturn))
relay_child(uint32_t batch, uint64_t *relayed)
{
	static struct mmsghdr in[RELAY_BATCH_MAX], out[RELAY_BATCH_MAX];
	static struct iovec iov[RELAY_BATCH_MAX], oiov[RELAY_BATCH_MAX];
	static uint8_t buf[RELAY_BATCH_MAX][2048];
	struct sockaddr_in me = sin_of(RELAY_IP, VXLAN_PORT), sink = sin_of(SINK_IP, VXLAN_PORT);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), v = SOCKBUF;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		fprintf(stderr, "gateway: relay: %s\n", strerror(errno));
		_exit(1);
	}
	for (uint32_t i = 0; i < batch; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		in[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
		out[i].msg_hdr = (struct msghdr){ .msg_iov = &oiov[i], .msg_iovlen = 1,
		    .msg_name = &sink, .msg_namelen = sizeof(sink) };
	}
	for (;;) {
		int n = recvmmsg(fd, in, batch, MSG_WAITFORONE, NULL), sent = 0;

		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			oiov[i] = (struct iovec){ buf[i], in[i].msg_len };
		while (sent < n) {
			int r = sendmmsg(fd, out + sent, (unsigned)(n - sent), 0);

			if (r <= 0)
				break;
			sent += r;
		}
		__atomic_fetch_add(relayed, (uint64_t)sent, __ATOMIC_RELAXED);
	}
}

/* The generator's datagrams: VXLAN + a frame of len bytes to each of ndst destinations. */
static void
gen_fill(struct gen *g, uint32_t len, uint32_t ndst, uint32_t rules)
{
	static const uint8_t dst_mac[6] = { 2, 0x78, 0, 0, 0, 1 }, src_mac[6] = { 2, 0x78, 0,
	    0, 0, 2 };

	for (uint32_t j = 0; j < ndst; j++) {
		uint8_t *d = g->sh->data[j];
		uint32_t ip = RULE_BASE + (uint32_t)((uint64_t)j * rules / ndst);

		vxlan_write(d, &(struct vxlan_hdr){ .vni = VNI });
		frame_udp(d + VXLAN_HLEN, len, dst_mac, src_mac, INNER_SRC, ip,
		    (uint16_t)(4000 + j));
	}
	g->sh->nvar = ndst;
	g->sh->len = VXLAN_HLEN + len;
}

static uint64_t
fwd_drops(const struct stats *st)
{
	uint64_t d = 0;

	for (uint32_t k = 0; k < st->hdr->count; k++)
		if (strncmp(st->desc[k].name, "drop_", 5) == 0 ||
		    strcmp(st->desc[k].name, "tx_errors") == 0)
			d += stats_value(st, k);
	return d;
}

static void
usage(void)
{
	fatalx("usage: gateway [-n ROUNDS] [-t SECONDS] [-s SIZE[,SIZE...]] [-R RULES] "
	    "[-d DESTS] [-b BATCH] [-r RATE] [-w]");
}

int
main(int argc, char **argv)
{
	uint32_t rules = 100000, ndst = 1024, batch = 64;
	uint64_t *relayed;
	struct pkt_opts o;
	struct meas *ms[R_N][PKT_SIZES_MAX], med[R_N][PKT_SIZES_MAX];
	struct ns gw, sink;
	struct gen gen;
	struct stats st;
	struct table *tab;
	struct table_params tp;
	pid_t fwd, relay;
	const char *node;
	char conf[1024], err[512];
	int ch;
	json_t *res;

	log_init("bench-gateway", LOG_LVL_INFO);
	pkt_opts_init(&o);
	while ((ch = getopt(argc, argv, "n:t:s:R:d:b:r:w")) != -1) {
		if (pkt_opt(&o, ch, optarg))
			continue;
		else if (ch == 'R')
			rules = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'd')
			ndst = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'b')
			batch = (uint32_t)strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (!pkt_opts_valid(&o) || rules == 0 || rules > (1u << 24) || ndst == 0 ||
	    ndst > GEN_VARIANTS || ndst > rules || batch == 0 || batch > RELAY_BATCH_MAX)
		usage();
	pkt_opts_check(&o, "gateway", "VXLAN in a 1500-byte underlay", "network namespaces");

	cluster_init("gateway");
	ns_sweep_stale();
	ns_new(&gw, "gw");
	ns_new(&sink, "sink");
	ns_sh(&gw, "ip link add a0 type veth peer name b0 netns %s; "
	    "ip link set a0 address 02:78:00:00:00:0a up; ip addr add 10.78.0.1/24 dev a0; "
	    "ip addr add 10.78.0.2/24 dev a0; ip addr add 10.78.0.3/24 dev a0; "
	    "ip neigh replace 10.78.0.9 lladdr 02:78:00:00:00:0b dev a0 nud permanent",
	    sink.path);
	ns_sh(&sink, "ip link set b0 address 02:78:00:00:00:0b up; "
	    "ip addr add 10.78.0.9/24 dev b0; for i in 1 2 3; do ip neigh replace 10.78.0.$i "
	    "lladdr 02:78:00:00:00:0a dev b0 nud permanent; done");
	(void)ns_udp_sink(&sink, VXLAN_PORT);

	/* The gateway's rule table, as its rule-store would make it. */
	node = cluster_node("gw");
	table_params_default(&tp, TABLE_GATEWAY);
	tp.capacity = rules + 64;
	tp.max_vnis = 16;
	if (table_create(&tab, node, "rule-store", &tp, err, sizeof(err)) < 0)
		fatalx("gateway: %s", err);
	for (uint32_t i = 0; i < rules; i++) {
		struct table_rule r = { .vni = VNI, .ip = RULE_BASE + i, .vtep = SINK_IP,
		    .mac = { 2, 0x78, 1, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i },
		    .version = 1 };

		if (table_set(tab, &r) != TABLE_APPLIED)
			fatalx("gateway: cannot write rule %u of the table", i);
	}
	if (table_vni_advance(tab, VNI, GEN, 1) != TABLE_APPLIED)
		fatalx("gateway: cannot advance the table's VNI");

	snprintf(conf, sizeof(conf), "node = \"%s\";\nforwarder = {\n mode = \"gateway\";\n"
	    " listen = \"10.78.0.1:%d\";\n};\n", node, VXLAN_PORT);
	fwd = ns_exec(&gw, "vpcfwd-forwarder", conf, "forwarder");
	cluster_stats_wait(&st, node, "forwarder");
	for (int k = 0; cluster_stat(&st, "table_attached") != 1; k++) {
		if (k == CLUSTER_WAIT_TRIES)
			fatalx("gateway: the forwarder did not attach its table");
		usleep(10000);
	}
	relayed = mmap(NULL, sizeof(*relayed), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (relayed == MAP_FAILED)
		fatal("gateway: mmap");
	if ((relay = ns_fork(&gw)) == 0)
		relay_child(batch, relayed);
	{
		struct sockaddr_in from = sin_of(SRC_IP, 0);

		gen_udp(&gen, &gw, &from);
	}
	gen.sh->rate = o.rate;
	for (int k = 0; k < R_N; k++)
		for (uint32_t s = 0; s < o.nsizes; s++)
			if ((ms[k][s] = calloc(o.rounds, sizeof(struct meas))) == NULL)
				fatalx("gateway: out of memory");
	if (o.wait_key) {
		printf("gateway: set up in %s; forwarder %d, relay %d, generator %d\n"
		    "press Enter to measure\n", cluster_dir(), (int)fwd, (int)relay,
		    (int)gen.pid);
		fflush(stdout);
		(void)getchar();
	}

	for (uint64_t r = 0; r < o.rounds; r++)
		for (uint32_t s = 0; s < o.nsizes; s++) {
			gen_fill(&gen, o.sizes[s], ndst, rules);
			for (int k = 0; k < R_N; k++) {
				struct meas *m = &ms[k][s][r];
				pid_t who = k == R_VPCFWD ? fwd : relay;
				uint64_t rx0, rx1, tx0, tx1, b0, b1, t0, t1, c0, c1, g0, g1;
				uint64_t w0, w1;
				uint64_t d0 = 0, q0, q1;

				gen.sh->to = sin_of(k == R_VPCFWD ? GW_IP : RELAY_IP, VXLAN_PORT);
				gen_run(&gen);
				ns_sleep_ms(WARM_MS);
				if (k == R_VPCFWD)
					d0 = fwd_drops(&st);
				c0 = proc_cpu_ns(who);
				w0 = proc_switches(who);
				g0 = proc_cpu_ns(gen.pid);
				tx0 = gen_sent(&gen);
				q0 = proc_udp_stat(fwd, "RcvbufErrors");
				b0 = cpu_busy_ns();
				t0 = clock_mono_ns();
				rx0 = sink_datagrams(&sink);
				ns_sleep_ms((uint64_t)(o.secs * 1000));
				rx1 = sink_datagrams(&sink);
				t1 = clock_mono_ns();
				b1 = cpu_busy_ns();
				q1 = proc_udp_stat(fwd, "RcvbufErrors");
				tx1 = gen_sent(&gen);
				g1 = proc_cpu_ns(gen.pid);
				w1 = proc_switches(who);
				c1 = proc_cpu_ns(who);
				if (k == R_VPCFWD)
					m->fwd_drops = fwd_drops(&st) - d0;
				gen_idle(&gen);
				m->pps = (double)(rx1 - rx0) * 1e9 / (double)(t1 - t0);
				m->offered = (double)(tx1 - tx0) * 1e9 / (double)(t1 - t0);
				m->cores = (double)(b1 - b0) / (double)(t1 - t0);
				m->relay_cores = (double)(c1 - c0) / (double)(t1 - t0);
				m->gen_cores = (double)(g1 - g0) / (double)(t1 - t0);
				m->relay_switches = (double)(w1 - w0) * 1e9 / (double)(t1 - t0);
				m->sock_drops = (double)(q1 - q0) * 1e9 / (double)(t1 - t0);
				ns_sleep_ms(SETTLE_MS);
			}
		}

	printf("gateway: VXLAN datagrams from a generator to one relay, on to a sink VTEP in "
	    "another namespace; %u destinations over %u rules; median of %llu rounds of "
	    "%.1f s%s\n", ndst, rules, (unsigned long long)o.rounds, o.secs,
	    o.rate ? "" : ", offered as fast as it can");
	printf("%-6s %-28s %11s %11s %6s %6s %6s %9s %9s %8s\n", "frame", "relay",
	    "offered pps", "relayed", "loss %", "sock %", "CPUs", "relay CPU", "us/frame",
	    "wake/fr");
	for (uint32_t s = 0; s < o.nsizes; s++)
		for (int k = 0; k < R_N; k++) {
			struct meas *m = &med[k][s];
			char label[64];

			qsort(ms[k][s], o.rounds, sizeof(struct meas), bench_cmp_double);
			*m = ms[k][s][o.rounds / 2];
			if (k == R_RELAY)
				snprintf(label, sizeof(label), "%s (%u)", r_label[k], batch);
			else
				snprintf(label, sizeof(label), "%s", r_label[k]);
			printf("%-6u %-28s %11.0f %11.0f %6.1f %6.1f %6.2f %9.2f %9.2f %8.3f\n",
			    o.sizes[s], label, m->offered, m->pps,
			    m->offered > 0 ? 100 * (1 - m->pps / m->offered) : 0,
			    m->offered > 0 ? 100 * m->sock_drops / m->offered : 0, m->cores,
			    m->relay_cores, m->pps > 0 ? m->relay_cores * 1e6 / m->pps : 0,
			    m->pps > 0 ? m->relay_switches / m->pps : 0);
			if (k == R_VPCFWD && m->fwd_drops)
				printf("%-6s   the forwarder dropped %llu (drop_*, tx_errors)\n",
				    "", (unsigned long long)m->fwd_drops);
		}
	printf("(frame: the inner Ethernet frame, the datagram is 8 bytes more; sock %%: of the "
	    "offered, dropped at the relay's socket, its receive buffer full; CPUs: busy CPUs "
	    "of the whole machine in the window, generator included; us/frame: the relay's CPU "
	    "a relayed frame; wake/fr: its context switches a frame)\n");
	for (uint32_t s = 0; s < o.nsizes; s++)
		printf("ratio %u B: %.2fx the recvmmsg/sendmmsg relay (goal >= 0.9x); generator "
		    "%.2f us/frame\n", o.sizes[s], med[R_VPCFWD][s].pps / med[R_RELAY][s].pps,
		    med[R_VPCFWD][s].offered > 0 ? med[R_VPCFWD][s].gen_cores * 1e6 /
		    med[R_VPCFWD][s].offered : 0);

	res = bench_results();
	for (uint32_t s = 0; s < o.nsizes && o.full; s++) {
		char name[64], base[96];

		snprintf(name, sizeof(name), "gateway_%u_pps", o.sizes[s]);
		snprintf(base, sizeof(base), "recvmmsg/sendmmsg UDP relay, batch %u", batch);
		bench_add(res, name, med[R_VPCFWD][s].pps, "pps", base, med[R_RELAY][s].pps);
	}
	cluster_end();
	table_close(tab);
	stats_close(&st);
	return pkt_results_write(&o, res, "gateway");
}
