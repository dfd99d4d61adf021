/*
 * bench/gateway: VXLAN datagrams relayed by one gateway forwarder (DESIGN.md §3.2:
 * receive, look up (VNI, inner destination), rewrite, send to the rule's VTEP), in both
 * of its underlay I/O modes, against a fair socket relay and an XDP relay (the ceiling),
 * the same traffic in the same run (issue 14, "Benchmarks, made fair first").
 *
 * Topology (bench/netns.h: nameless namespaces, gone with the run whatever ends it): an
 * underlay namespace "ul" holds a bridge; every other namespace has one veth "e0" to it
 * (the bridge side "u_NAME"; static fdb entries, so nothing floods). One contender a
 * namespace, and it receives and sends on its one interface:
 *  socket	vpcfwd-forwarder, mode gateway, io "socket", 10.78.0.1:4789
 *  xdp	vpcfwd-forwarder, mode gateway, io "xdp" (AF_XDP on its e0), 10.78.0.2:4789,
 *		its XDP rule cache sized as a mirror of the table (xdp_fast_rules 5/4 of
 *		the rules: every rule loaded before the measures; -F: no cache, -X: another
 *		size)
 *  relay	a child of this program, 10.78.0.3:4789: recvmmsg (MSG_WAITFORONE, -b at a
 *		time), for each datagram the rewrite a gateway makes (inner destination MAC,
 *		learn bit) and its VTEP by a trivial function of the inner destination
 *		(10.78.1.0 | (dst & 255), what the rules say: no lookup), then sendmmsg with
 *		each run of consecutive datagrams to one VTEP of one size as one UDP_SEGMENT
 *		message, as the forwarder's tx.c does. Socket buffers 8 MB, as the forwarder's.
 *  ceiling	bench/xdp_relay.bpf.c on its e0 (native XDP): the same rewrite and mapping,
 *		sent back out with XDP_TX, no process at all: the most this machine's veths
 *		and bridge relay. Its u_cx has an XDP program that passes everything, or
 *		the veth would not deliver what XDP_TX sends; so has u_gx (the xdp
 *		forwarder's rule cache sends with XDP_TX), as a NIC's wire would.
 * "gen" holds the generator (10.78.0.10; a child of this program, on CPU 0: sendmmsg of
 * whole VXLAN frames on AF_PACKET, VNI 78, learn bit clear, the outer source port from
 * the inner destination, as fast as it can or at a rate), "sink" the sink VTEPs
 * 10.78.1.0-255 on its e0, where a UDP socket on port 4789 that is never read takes the
 * frames (no ICMP). Static neighbours everywhere. What the generator sends is received
 * on CPU 1 (RPS on u_gen): without it, the bridge, the contender's receive and the whole
 * ceiling would run in the generator's softirq, and every contender would be measured at
 * the generator's pace. The contenders' processes are not pinned.
 *
 * The forwarders' table (one table of -R rules, default 10 M, made once, as a
 * rule-store would, hard-linked for the second forwarder's node): rule i is VNI 78,
 * 11.0.0.0 + i -> MAC 02:78 + the address, VTEP 10.78.1.(address & 255).
 * Traffic, each case against every contender: frames of 64 B, 1400 B or an IMIX (7:4:1
 * of 64/576/1400 B inner frames, interleaved; 1400 not 1500 so that VXLAN fits the
 * 1500-byte underlay), to one destination (one flow, one VTEP: every batch is one run)
 * or many (the inner destination drawn at random from all the rules for each datagram:
 * 256 VTEPs, runs of about one).
 *
 * Measured in each window of -t seconds after a warm-up, rounds one after another (-n),
 * the median of each: delivered (datagrams that reached the sink's socket: its
 * namespace's InDatagrams + InErrors; the socket is never read, so most overflow; link
 * counters would count a UDP GSO message passed whole by the veths once), offered (what
 * the generator's sendmmsg took), loss (1 - delivered / offered), and CPU a delivered
 * datagram, two ways. "machine" (the rows' cpu_us_per_pkt and _cpu_per_pkt): every
 * CPU's time but its idle, from /proc/stat's idle fields (the kernel's idle clock:
 * precise), less the generator's process (/proc/PID/stat: its runtime, precise); so the
 * sink's, the bridge's and the veths' work too, about the same for every contender at
 * one rate (the ceiling's whole cost is there). "proc + softirq" (proc_softirq_us_per_pkt,
 * the figure before): the contender's processes' utime + stime plus the softirq time
 * of the whole machine. That one is sampled by the tick and counts some work twice: a
 * tick in softirq run in a contender's process (at a system call's local_bh_enable) is
 * charged to the task's stime and to softirq both (no CONFIG_IRQ_TIME_ACCOUNTING
 * here), and a tickless idle CPU's short bursts of softirq are sampled by chance (the
 * XDP contenders' at the common rate: 0.07-1.61 us a datagram over three runs where
 * machine says 0.96-1.54).
 * Offered flat out, far past what
 * the socket contenders take, these are overload figures (receive livelock: softirq
 * takes the CPU their processes would need). Then for each case, once, the zero-loss
 * rate: the highest offered rate with < 0.1 % loss, by a binary search of short probes
 * (-z ms, a rate failing only when two probes in a row lose) from the most the
 * generator offered down (the capacity figure, and "peak", the
 * most delivered in any window); and the CPU a datagram with every contender offered
 * one rate that each relays without loss (0.9 x the lowest zero-loss rate), so that
 * work spent on datagrams dropped later does not count against the delivered ones.
 *
 *	gateway [-n ROUNDS] [-t SECONDS] [-s 64,1400,imix] [-f one,many]
 *	    [-c socket,xdp,relay,ceiling] [-R RULES] [-b BATCH] [-r RATE] [-z PROBE_MS]
 *	    [-Z] [-w] [-F | -X RULES]
 *	(-Z: no zero-loss search; -w: wait for a key after set-up and print the processes,
 *	 for perf; -F: the xdp forwarder without its XDP rule cache (xdp_fast_rules = 0);
 *	 -X: with a cache of RULES rules (less than 9/8 of -R: a cache, not a mirror);
 *	 results are written only by a full run: every size, flow and contender, the
 *	 zero-loss search, at least 3 rounds of at least 1 s, -R 10 M or more, no -F)
 */
#include "bench/netns.h"
#include "common/log.h"
#include "common/vxlan.h"
#include "shm/stats.h"
#include "shm/table.h"
#include "shm/vtepset.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <getopt.h>

#define VNI		78
#define GEN		0x7a12u
#define GEN_IP		0x0a4e000au	/* 10.78.0.10 */
#define SINK_BASE	0x0a4e0100u	/* 10.78.1.0: the sink VTEPs, .0-.255 */
#define SINK_VTEPS	256
#define RULE_BASE	0x0b000000u	/* 11.0.0.0: the rules' VM addresses */
#define INNER_SRC	0x0ac9ffffu	/* 10.201.255.255: the frames' source VM */
#define RULES_DEFAULT	10000000u
#define WARM_MS		300
#define SETTLE_MS	100
#define PROBE_WARM_MS	100
#define PROBE_STEPS	7
#define ZL_LOSS		0.001		/* the zero-loss rate's loss: < 0.1 % */
#define RELAY_BATCH_MAX	1024
#define SOCKBUF		(8 << 20)	/* as the forwarder's */
#define GSO_SEGS_MAX	64		/* as tx.c */
#define GSO_BYTES_MAX	60000
#define OUTER_LEN	(14 + 20 + 8)		/* outer Ethernet, IPv4, UDP */
#define HDR_LEN		(OUTER_LEN + VXLAN_HLEN + 14 + 20)	/* what the generator rewrites */
#define PAT_MAX		12
#define OFF_IDST	(VXLAN_HLEN + 14 + 16)	/* the inner destination, in the datagram */

enum { C_SOCKET, C_XDP, C_RELAY, C_CEIL, C_N };
static const struct {
	const char *key, *label, *ns;
	uint32_t ip;
	uint8_t mac;
} cdef[C_N] = {
	{ "socket", "vpcfwd gateway, io socket", "fs", 0x0a4e0001u, 0x01 },
	{ "xdp", "vpcfwd gateway, io xdp", "fx", 0x0a4e0002u, 0x02 },
	{ "relay", "fair relay (mmsg + GSO)", "rl", 0x0a4e0003u, 0x03 },
	{ "ceiling", "XDP_TX relay (ceiling)", "cx", 0x0a4e0004u, 0x04 },
};
#define GEN_MAC		0x10
#define GEN_CPU		0		/* the generator's CPU */
#define RPS_MASK	0x2		/* where what it sends is received: CPU 1 */
#define SINK_MAC	0x20

enum { S_64, S_1400, S_IMIX, S_N };
static const char *s_key[S_N] = { "64", "1400", "imix" };
enum { F_ONE, F_MANY, F_N };
static const char *f_key[F_N] = { "one", "many" };

struct meas {
	double pps;			/* first: medians by bench_cmp_double */
	double offered, loss;
	double proc_cores, sirq_cores, busy_cores, gen_cores;
	double clock_cores;	/* CPUs busy by the idle clock (cpu_busy_cores) */
	uint64_t fwd_drops;
};

_Static_assert(offsetof(struct meas, pps) == 0, "struct meas: pps first");

/* ---- the generator ------------------------------------------------------------------- */

/*
 * Its own rather than netns.h's: each frame gets its inner destination (one, or drawn
 * from the rules) and its size from a pattern (the IMIX), written into the first
 * HDR_LEN bytes of a copy; the rest is sent from the pattern's template (two iovecs).
 * Whole Ethernet frames with AF_PACKET (no qdisc) on gen's e0, the outer headers made
 * here: a UDP socket's sending path would take the generator most of a CPU, and the
 * relays would then all be measured at its rate.
 */
struct ggen {
	uint32_t cmd, state;		/* GEN_*, as netns.h's */
	uint64_t rate;			/* datagrams a second, 0: as fast as it can */
	uint64_t sent;
	uint32_t npat;			/* sizes cycled through, 1..PAT_MAX */
	uint32_t len[PAT_MAX];		/* datagram bytes of each */
	uint32_t rules;			/* 0: every datagram to `one`; else drawn from as many */
	uint32_t one;			/* the single flow's inner destination */
	uint8_t tmpl[PAT_MAX][GEN_FRAME_MAX];
};

static void __attribute__((noreturn))
ggen_child(struct ggen *sh, int fd)
{
	static uint8_t hdr[GEN_BATCH][HDR_LEN];
	struct mmsghdr msg[GEN_BATCH];
	struct iovec iov[GEN_BATCH][2];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint32_t next = 0;

	memset(msg, 0, sizeof(msg));
	for (;;) {
		uint32_t cmd = __atomic_load_n(&sh->cmd, __ATOMIC_ACQUIRE);
		uint64_t t0, done = 0;

		if (cmd == GEN_EXIT)
			_exit(0);
		if (cmd == GEN_IDLE) {
			__atomic_store_n(&sh->state, GEN_IDLE, __ATOMIC_RELEASE);
			usleep(1000);
			continue;
		}
		next = 0;	/* the pattern may have changed while idle */
		__atomic_store_n(&sh->state, GEN_RUN, __ATOMIC_RELEASE);
		t0 = clock_mono_ns();
		while (__atomic_load_n(&sh->cmd, __ATOMIC_ACQUIRE) == GEN_RUN) {
			uint32_t n = gen_pace(sh->rate, t0, done, GEN_BATCH);
			int r;

			if (n == 0)
				continue;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t s = next, dst = sh->one;

				if (++next >= sh->npat)
					next = 0;
				if (sh->rules) {
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
					dst = RULE_BASE + (uint32_t)(x % sh->rules);
				}
				memcpy(hdr[i], sh->tmpl[s], HDR_LEN);
				for (int b = 0; b < 4; b++)
					hdr[i][OUTER_LEN + OFF_IDST + b] =
					    (uint8_t)(dst >> (24 - 8 * b));
				/* The source port from the inner flow, as VXLAN senders do. */
				hdr[i][14 + 20] = (uint8_t)(0xc0 | (dst >> 8 & 0x3f));
				hdr[i][14 + 20 + 1] = (uint8_t)dst;
				ip_csum(hdr[i] + OUTER_LEN + VXLAN_HLEN + 14);
				iov[i][0] = (struct iovec){ hdr[i], HDR_LEN };
				iov[i][1] = (struct iovec){ sh->tmpl[s] + HDR_LEN,
				    sh->len[s] - HDR_LEN };
				msg[i].msg_hdr = (struct msghdr){ .msg_iov = iov[i],
				    .msg_iovlen = 2 };
			}
			if ((r = sendmmsg(fd, msg, n, 0)) > 0) {
				done += (uint64_t)r;
				__atomic_fetch_add(&sh->sent, (uint64_t)r, __ATOMIC_RELAXED);
			}
		}
	}
}

static struct ggen *
ggen_start(const struct ns *n, pid_t *pid)
{
	struct ggen *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED)
		fatal("gateway: mmap");
	if ((*pid = ns_fork(n)) == 0) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET };
		int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;

		if (fd < 0 || (ll.sll_ifindex = (int)if_nametoindex("e0")) == 0 ||
		    bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
			fprintf(stderr, "gateway: generator: %s\n", strerror(errno));
			_exit(1);
		}
		(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
		bench_pin(GEN_CPU);
		ggen_child(sh, fd);
	}
	return sh;
}

static void
ggen_wait(struct ggen *g, pid_t pid, uint32_t state)
{
	for (int i = 0; __atomic_load_n(&g->state, __ATOMIC_ACQUIRE) != state; i++) {
		int st = 0;
		pid_t r;

		if (i == 5000)
			fatalx("gateway: the generator does not answer");
		if ((r = waitpid(pid, &st, WNOHANG)) != 0)
			fatalx("gateway: the generator is gone (%s)", r < 0 ? strerror(errno) :
			    WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exited");
		usleep(1000);
	}
}

static void
ggen_set(struct ggen *g, pid_t pid, uint32_t cmd)
{
	__atomic_store_n(&g->cmd, cmd, __ATOMIC_RELEASE);
	ggen_wait(g, pid, cmd);
}

/* The traffic of size case s and flow case f to contender c (the generator idle). */
static void
ggen_fill(struct ggen *g, int s, int f, int c, uint32_t rules)
{
	static const uint32_t imix[PAT_MAX] = { 64, 576, 64, 64, 576, 64, 1400, 64, 576, 64,
	    64, 576 };		/* 7 x 64, 4 x 576, 1 x 1400 */
	static const uint8_t dst_mac[6] = { 2, 0x78, 0, 0, 0, 0xfe }, src_mac[6] = { 2, 0x78,
	    0, 0, 0, 0xfd };

	g->npat = s == S_IMIX ? PAT_MAX : 1;
	for (uint32_t i = 0; i < g->npat; i++) {
		uint32_t len = s == S_64 ? 64 : s == S_1400 ? 1400 : imix[i];

		uint8_t *o = g->tmpl[i], *udp = o + 14 + 20;
		const uint8_t odst[6] = { 2, 0x78, 0, 0, 0, cdef[c].mac }, osrc[6] = { 2, 0x78, 0,
		    0, 0, GEN_MAC };

		frame_udp(o, OUTER_LEN + VXLAN_HLEN + len, odst, osrc, GEN_IP, cdef[c].ip, 0);
		udp[2] = VXLAN_PORT >> 8;
		udp[3] = VXLAN_PORT & 0xff;
		vxlan_write(o + OUTER_LEN, &(struct vxlan_hdr){ .vni = VNI });
		frame_udp(o + OUTER_LEN + VXLAN_HLEN, len, dst_mac, src_mac, INNER_SRC,
		    RULE_BASE, (uint16_t)(4000 + i));
		g->len[i] = OUTER_LEN + VXLAN_HLEN + len;
	}
	g->rules = f == F_MANY ? rules : 0;
	g->one = RULE_BASE + rules / 2;
}

/* ---- the relays ---------------------------------------------------------------------- */

static struct sockaddr_in
sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(ip) };
}

static uint32_t
vtep_of(uint32_t inner_dst)
{
	return SINK_BASE | (inner_dst & (SINK_VTEPS - 1));
}

/*
 * The fair relay: what comes in goes out, rewritten as a gateway would, to the VTEP of
 * its inner destination, each run to one VTEP of one size as one UDP GSO message.
 */
static void __attribute__((noreturn))
relay_child(uint32_t batch)
{
	static struct mmsghdr in[RELAY_BATCH_MAX], out[RELAY_BATCH_MAX];
	static struct iovec iov[RELAY_BATCH_MAX];
	static struct sockaddr_in to[RELAY_BATCH_MAX];
	static uint8_t buf[RELAY_BATCH_MAX][2048];
	static char cm[RELAY_BATCH_MAX][CMSG_SPACE(sizeof(uint16_t))]
	    __attribute__((aligned(8)));
	static uint32_t dst[RELAY_BATCH_MAX];
	struct sockaddr_in me = sin_of(cdef[C_RELAY].ip, VXLAN_PORT);
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
	}
	for (;;) {
		int n = recvmmsg(fd, in, batch, MSG_WAITFORONE, NULL), m = 0, ng = 0, sent;

		if (n <= 0)
			continue;
		/* The rewrite; datagrams too short for it are left out. */
		for (int i = 0; i < n; i++) {
			uint8_t *p = buf[i];
			uint32_t d;

			if (in[i].msg_len < OFF_IDST + 4)
				continue;
			d = (uint32_t)p[OFF_IDST] << 24 | (uint32_t)p[OFF_IDST + 1] << 16 |
			    (uint32_t)p[OFF_IDST + 2] << 8 | p[OFF_IDST + 3];
			p[VXLAN_HLEN + 0] = 2;
			p[VXLAN_HLEN + 1] = 0x78;
			memcpy(p + VXLAN_HLEN + 2, p + OFF_IDST, 4);
			p[VXLAN_LEARN_BYTE] &= (uint8_t)~VXLAN_LEARN_BIT;
			dst[m] = vtep_of(d);
			in[m].msg_len = in[i].msg_len;
			if (m != i)
				memcpy(buf[m], p, in[i].msg_len);
			m++;
		}
		/* Runs: consecutive datagrams to one VTEP, of one size. */
		for (int i = 0, j; i < m; i = j) {
			uint32_t len = in[i].msg_len;
			struct msghdr *h = &out[ng].msg_hdr;

			for (j = i + 1; j < m && j - i < GSO_SEGS_MAX &&
			    (uint32_t)(j - i + 1) * len <= GSO_BYTES_MAX && dst[j] == dst[i] &&
			    in[j].msg_len == len; j++)
				;
			for (int k = i; k < j; k++)
				iov[k].iov_len = in[k].msg_len;
			to[ng] = sin_of(dst[i], VXLAN_PORT);
			*h = (struct msghdr){ .msg_name = &to[ng], .msg_namelen = sizeof(to[0]),
			    .msg_iov = &iov[i], .msg_iovlen = (size_t)(j - i) };
			if (j - i > 1) {
				struct cmsghdr *c = (struct cmsghdr *)cm[ng];
				uint16_t seg = (uint16_t)len;

				h->msg_control = c;
				h->msg_controllen = CMSG_SPACE(sizeof(seg));
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(seg));
				memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			}
			ng++;
		}
		for (sent = 0; sent < ng;) {
			int r = sendmmsg(fd, out + sent, (unsigned)(ng - sent), 0);

			if (r <= 0)
				break;
			sent += r;
		}
		for (int i = 0; i < n; i++)
			iov[i].iov_len = sizeof(buf[i]);
	}
}

/* bench/xdp_relay.bpf.c's configuration: keep as there. */
struct relay_cfg {
	uint8_t my_mac[6];
	uint8_t sink_mac[6];
	uint32_t my_ip;		/* network order */
	uint32_t sink_base;	/* host order */
	uint32_t sink_mask;	/* host order */
	uint16_t port;		/* network order */
	uint16_t pad;
};

static struct bpf_object *ceil_obj;

/* Attach prog to ifname in n, native XDP. */
static void
xdp_attach(const struct ns *n, const char *ifname, struct bpf_program *prog)
{
	int ifindex, r;

	ns_enter(n);
	if ((ifindex = (int)if_nametoindex(ifname)) == 0)
		fatal("gateway: %s in %s", ifname, n->name);
	r = bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL);
	ns_leave();
	if (r < 0)
		fatalx("gateway: attaching %s to %s in %s: %s", bpf_program__name(prog), ifname,
		    n->name, strerror(-r));
}

/* bench/xdp_relay.bpf.o, loaded once: the ceiling's program and xdp_pass. */
static struct bpf_program *
ceil_prog(const char *name)
{
	char path[512];
	const char *b = getenv("BUILD");
	struct bpf_program *prog;
	int r;

	snprintf(path, sizeof(path), "%s/bench/xdp_relay.bpf.o", b ? b : "build");
	if (ceil_obj == NULL) {
		if ((ceil_obj = bpf_object__open_file(path, NULL)) == NULL)
			fatal("gateway: %s (make builds it)", path);
		if ((r = bpf_object__load(ceil_obj)) < 0)
			fatalx("gateway: loading %s: %s", path, strerror(-r));
	}
	if ((prog = bpf_object__find_program_by_name(ceil_obj, name)) == NULL)
		fatalx("gateway: %s: no program %s", path, name);
	return prog;
}

/*
 * xdp_pass on the bridge's end of n's veth (ul's u_NAME): a veth delivers what n's XDP
 * program sends with XDP_TX (the ceiling, the xdp forwarder's rule cache) only to an end
 * with an XDP program, as a NIC's frames always reach the wire.
 */
static void
pass_attach(const struct ns *ul, const struct ns *n)
{
	char port[IFNAMSIZ];

	snprintf(port, sizeof(port), "u_%.8s", n->name);
	xdp_attach(ul, port, ceil_prog("xdp_pass"));
}

/* The ceiling: bench/xdp_relay.bpf.o's xdp_relay on n's e0, configured. */
static void
ceiling_attach(const struct ns *ul, const struct ns *n)
{
	struct bpf_program *prog = ceil_prog("xdp_relay");
	struct bpf_map *map;
	struct relay_cfg c = { .my_mac = { 2, 0x78, 0, 0, 0, cdef[C_CEIL].mac },
	    .sink_mac = { 2, 0x78, 0, 0, 0, SINK_MAC }, .my_ip = htonl(cdef[C_CEIL].ip),
	    .sink_base = SINK_BASE, .sink_mask = SINK_VTEPS - 1, .port = htons(VXLAN_PORT) };
	uint32_t k = 0;

	if ((map = bpf_object__find_map_by_name(ceil_obj, "cfg")) == NULL)
		fatalx("gateway: bench/xdp_relay.bpf.o: no map cfg");
	if (bpf_map_update_elem(bpf_map__fd(map), &k, &c, 0) < 0)
		fatal("gateway: the XDP relay's configuration");
	pass_attach(ul, n);
	xdp_attach(n, "e0", prog);
}

/* The ceiling's counter k (0 relayed, 1 passed to the kernel), all CPUs. */
static uint64_t
ceiling_count(uint32_t k)
{
	struct bpf_map *map = bpf_object__find_map_by_name(ceil_obj, "cnt");
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[256] = { 0 }, sum = 0;

	if (map == NULL || ncpu <= 0 || ncpu > 256 ||
	    bpf_map_lookup_elem(bpf_map__fd(map), &k, v) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* ---- set-up -------------------------------------------------------------------------- */

/* n joins the underlay: veth e0 (address ip/16, MAC 02:78:00:00:00:mac) to the bridge. */
static void
ul_join(struct ns *ul, struct ns *n, uint32_t ip, uint8_t mac)
{
	char port[IFNAMSIZ];

	snprintf(port, sizeof(port), "u_%.8s", n->name);
	ns_sh(ul, "ip link add %s type veth peer name e0 netns %s; ip link set %s master br0 "
	    "up; bridge fdb add 02:78:00:00:00:%02x dev %s master static", port, n->path,
	    port, mac, port);
	ns_sh(n, "ip link set e0 address 02:78:00:00:00:%02x up; ip addr add %u.%u.%u.%u/16 "
	    "dev e0", mac, ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

/* Static neighbours in n: the sink VTEPs (sinks) and the contenders (contenders). */
static void
neighbours(struct ns *n, bool sinks, bool contenders)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/neigh-%s", cluster_dir(), n->name);
	if ((f = fopen(path, "w")) == NULL)
		fatal("gateway: %s", path);
	for (int i = 0; sinks && i < SINK_VTEPS; i++)
		fprintf(f, "neigh replace 10.78.1.%d lladdr 02:78:00:00:00:%02x dev e0 "
		    "nud permanent\n", i, SINK_MAC);
	for (int c = 0; contenders && c < C_N; c++)
		fprintf(f, "neigh replace 10.78.0.%u lladdr 02:78:00:00:00:%02x dev e0 "
		    "nud permanent\n", cdef[c].ip & 255, cdef[c].mac);
	fprintf(f, "neigh replace 10.78.0.10 lladdr 02:78:00:00:00:%02x dev e0 nud permanent\n",
	    GEN_MAC);
	fclose(f);
	ns_sh(n, "ip -batch %s", path);
}

/* Whether the forwarder of this build knows forwarder.io (its gauge io_xdp is there). */
static bool
forwarder_has_io(void)
{
	const char *path = bench_bin("vpcfwd-forwarder");
	struct stat sb;
	bool has = false;
	void *m;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0)
		fatal("gateway: %s", path);
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		has = memmem(m, (size_t)sb.st_size, "io_xdp", 7) != NULL;
		munmap(m, (size_t)sb.st_size);
	}
	close(fd);
	return has;
}

/* A segment of node `from` hard-linked as node `to`'s (the same table, vteps). */
static void
seg_link(const char *from, const char *to, const char *proc, const char *what)
{
	char a[SEG_NAME_MAX + 1], b[SEG_NAME_MAX + 1], pa[600], pb[600];

	if (seg_name(a, sizeof(a), from, proc, what) < 0 ||
	    seg_name(b, sizeof(b), to, proc, what) < 0)
		fatalx("gateway: segment names of %s, %s", from, to);
	snprintf(pa, sizeof(pa), "%s/%s", SEG_DIR, a);
	snprintf(pb, sizeof(pb), "%s/%s", SEG_DIR, b);
	if (link(pa, pb) < 0)
		fatal("gateway: link %s %s", pa, pb);
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

/* ---- measuring ----------------------------------------------------------------------- */

struct bench {
	struct ns ns[C_N], sink;
	pid_t pid[C_N];			/* the contender's process, 0: none (the ceiling) */
	struct stats st[C_N];		/* the forwarders' */
	bool on[C_N];
	struct ggen *g;
	pid_t gpid;
	int s, f;			/* the traffic: size and flows cases */
	uint32_t rules;
};

static uint64_t
sink_datagrams(const struct ns *sink)
{
	return ns_udp_stat(sink, "InDatagrams") + ns_udp_stat(sink, "InErrors");
}

/* One window: contender c, the generator's traffic as set, at rate (0: flat out). */
static void
measure(struct bench *b, int c, uint64_t rate, uint64_t warm_ms, uint64_t ms,
    struct meas *m)
{
	bool fwd = c == C_SOCKET || c == C_XDP;
	uint64_t rx0, rx1, tx0, tx1, t0, t1, p0 = 0, p1 = 0, s0, s1, u0, u1, g0, g1, d0 = 0;
	uint64_t i0, i1;

	ggen_fill(b->g, b->s, b->f, c, b->rules);
	b->g->rate = rate;
	ggen_set(b->g, b->gpid, GEN_RUN);
	ns_sleep_ms(warm_ms);
	if (fwd)
		d0 = fwd_drops(&b->st[c]);
	if (b->pid[c])
		p0 = proc_cpu_ns(b->pid[c]);
	s0 = cpu_softirq_ns();
	u0 = cpu_busy_ns();
	i0 = cpu_idle_ns();
	g0 = proc_cpu_ns(b->gpid);
	tx0 = __atomic_load_n(&b->g->sent, __ATOMIC_RELAXED);
	t0 = clock_mono_ns();
	rx0 = sink_datagrams(&b->sink);
	ns_sleep_ms(ms);
	rx1 = sink_datagrams(&b->sink);
	t1 = clock_mono_ns();
	tx1 = __atomic_load_n(&b->g->sent, __ATOMIC_RELAXED);
	g1 = proc_cpu_ns(b->gpid);
	i1 = cpu_idle_ns();
	u1 = cpu_busy_ns();
	s1 = cpu_softirq_ns();
	if (b->pid[c])
		p1 = proc_cpu_ns(b->pid[c]);
	m->fwd_drops = fwd ? fwd_drops(&b->st[c]) - d0 : 0;
	ggen_set(b->g, b->gpid, GEN_IDLE);
	m->pps = (double)(rx1 - rx0) * 1e9 / (double)(t1 - t0);
	m->offered = (double)(tx1 - tx0) * 1e9 / (double)(t1 - t0);
	m->loss = tx1 > tx0 ? 1.0 - (double)(rx1 - rx0) / (double)(tx1 - tx0) : 0;
	if (m->loss < 0)
		m->loss = 0;	/* what was in flight at the window's start */
	m->proc_cores = (double)(p1 - p0) / (double)(t1 - t0);
	m->sirq_cores = (double)(s1 - s0) / (double)(t1 - t0);
	m->busy_cores = (double)(u1 - u0) / (double)(t1 - t0);
	m->gen_cores = (double)(g1 - g0) / (double)(t1 - t0);
	m->clock_cores = cpu_busy_cores(i1 - i0, t1 - t0);
	ns_sleep_ms(SETTLE_MS);
}

static double
max_offered(const struct meas *m, uint64_t n)
{
	double v = 0;

	for (uint64_t i = 0; i < n; i++)
		if (m[i].offered > v)
			v = m[i].offered;
	return v;
}

/* CPU (the contender's processes + softirq) a delivered datagram, us: see the top. */
static double
cpu_us(const struct meas *m)
{
	return m->pps > 0 ? (m->proc_cores + m->sirq_cores) * 1e6 / m->pps : 0;
}

/*
 * The machine's CPU but the generator's process a delivered datagram, us: every CPU's
 * time but its idle (precise, cpu_idle_ns) less the generator's (its runtime, precise,
 * with the softirq that ran in it). No time counted twice, none left unsampled; it holds
 * the sink's, the bridge's and the veths' work too, the same for every contender at one
 * rate.
 */
static double
machine_us(const struct meas *m)
{
	return m->pps > 0 ? (m->clock_cores - m->gen_cores) * 1e6 / m->pps : 0;
}

/*
 * The highest rate up to hi with < ZL_LOSS loss, by PROBE_STEPS probes of probe_ms: hi
 * first (the most the generator offered), then halving the interval.
 */
static double
zero_loss(struct bench *b, int c, double hi, uint64_t probe_ms, double *peak)
{
	double lo = 0;

	for (int i = 0; i < PROBE_STEPS; i++) {
		double mid = i == 0 ? hi : (lo + hi) / 2;
		struct meas m;

		/* A rate fails only twice in a row: one stall would end the search low. */
		for (int t = 0; t < 2; t++) {
			measure(b, c, (uint64_t)mid, PROBE_WARM_MS, probe_ms, &m);
			if (m.pps > *peak)
				*peak = m.pps;
			if (m.loss < ZL_LOSS && m.offered > 0.9 * mid)
				break;
		}
		if (m.loss < ZL_LOSS && m.offered > 0.9 * mid) {
			lo = mid;
			if (i == 0)
				break;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/*
 * Until the xdp forwarder's cache, a mirror of the table, has loaded all of it (the
 * measures are of a gateway that has been up a while, not of its first seconds).
 */
static void
mirror_wait(struct stats *st, uint32_t rules)
{
	uint64_t t0 = clock_mono_ns();

	for (;;) {
		uint64_t now = clock_mono_ns();

		if (cluster_stat(st, "xdp_fast_mirror") == 1 &&
		    cluster_stat(st, "xdp_fast_load_pending") == 0 &&
		    cluster_stat(st, "xdp_fast_loaded") >= rules) {
			printf("gateway: the xdp forwarder's cache mirrors the table: %llu rules "
			    "loaded in %.1f s\n", (unsigned long long)cluster_stat(st,
			    "xdp_fast_loaded"), (double)(now - t0) / 1e9);
			fflush(stdout);
			return;
		}
		if (now - t0 > 300000000000ull)
			fatalx("gateway: the xdp forwarder's mirror loaded %llu of %u rules in "
			    "300 s", (unsigned long long)cluster_stat(st, "xdp_fast_loaded"),
			    rules);
		usleep(100000);
	}
}

static void
usage(void)
{
	fatalx("usage: gateway [-n ROUNDS] [-t SECONDS] [-s 64,1400,imix] [-f one,many] "
	    "[-c socket,xdp,relay,ceiling] [-R RULES] [-b BATCH] [-r RATE] [-z PROBE_MS] [-Z] "
	    "[-w] [-F | -X RULES]");
}

/* A comma-separated list of keys: a bit of each. */
static uint32_t
keys_parse(char *arg, const char *const *keys, int n)
{
	uint32_t bits = 0;
	char *tok;

	while ((tok = strsep(&arg, ",")) != NULL) {
		int k;

		for (k = 0; k < n && strcmp(tok, keys[k]) != 0; k++)
			;
		if (k == n)
			usage();
		bits |= 1u << k;
	}
	return bits;
}

/* A row of name (with the case) comparing a and b, with loss and CPU fields. */
static void
row(json_t *res, const char *stem, int s, int f, const char *what, double v,
    const char *unit, const char *base, double bv, const struct meas *ma,
    const struct meas *mb)
{
	char name[96];
	json_t *r;

	snprintf(name, sizeof(name), "%s_%s%s_%s", stem, s_key[s], f == F_MANY ? "_many" : "",
	    what);
	bench_add(res, name, v, unit, base, bv);
	r = json_array_get(res, json_array_size(res) - 1);
	json_object_set_new(r, "loss", json_real(ma->loss));
	json_object_set_new(r, "baseline_loss", json_real(mb->loss));
	json_object_set_new(r, "offered", json_real(ma->offered));
	json_object_set_new(r, "baseline_offered", json_real(mb->offered));
	json_object_set_new(r, "cpu_us_per_pkt", json_real(machine_us(ma)));
	json_object_set_new(r, "baseline_cpu_us_per_pkt", json_real(machine_us(mb)));
	json_object_set_new(r, "pps_per_cpu_s", json_real(machine_us(ma) > 0 ? 1e6 /
	    machine_us(ma) : 0));
	json_object_set_new(r, "baseline_pps_per_cpu_s", json_real(machine_us(mb) > 0 ? 1e6 /
	    machine_us(mb) : 0));
	json_object_set_new(r, "proc_softirq_us_per_pkt", json_real(cpu_us(ma)));
	json_object_set_new(r, "baseline_proc_softirq_us_per_pkt", json_real(cpu_us(mb)));
	json_object_set_new(r, "softirq_us_per_pkt", json_real(ma->pps > 0 ?
	    ma->sirq_cores * 1e6 / ma->pps : 0));
	json_object_set_new(r, "baseline_softirq_us_per_pkt", json_real(mb->pps > 0 ?
	    mb->sirq_cores * 1e6 / mb->pps : 0));
}

int
main(int argc, char **argv)
{
	uint32_t rules = RULES_DEFAULT, batch = 64, sizes = (1u << S_N) - 1;
	uint32_t flows = (1u << F_N) - 1, cons = (1u << C_N) - 1;
	uint64_t rounds = 3, rate = 0, probe_ms = 250;
	double secs = 1, zl[C_N][S_N][F_N] = { { { 0 } } }, peak[C_N][S_N][F_N] = { { { 0 } } };
	double common[S_N][F_N] = { { 0 } };
	struct meas cm[C_N][S_N][F_N];
	bool wait_key = false, do_zl = true, full = true, has_io, no_cache = false;
	char cache_conf[128];
	unsigned long cache_rules = 0;
	struct meas *ms[C_N][S_N][F_N], med[C_N][S_N][F_N];
	struct bench b;
	struct ns ul, gen;
	struct table *tab;
	struct table_params tp;
	struct vtepset *vs;
	const char *node[C_N] = { NULL };
	char conf[1024], err[512];
	uint64_t t0;
	int ch;
	json_t *res;

	log_init("bench-gateway", LOG_LVL_INFO);
	memset(&b, 0, sizeof(b));
	memset(cm, 0, sizeof(cm));
	while ((ch = getopt(argc, argv, "n:t:s:f:c:R:b:r:z:ZwFX:")) != -1) {
		if (ch == 'n')
			rounds = strtoull(optarg, NULL, 10);
		else if (ch == 't')
			secs = strtod(optarg, NULL);
		else if (ch == 's')
			sizes = keys_parse(optarg, s_key, S_N);
		else if (ch == 'f')
			flows = keys_parse(optarg, f_key, F_N);
		else if (ch == 'c') {
			const char *keys[C_N];

			for (int c = 0; c < C_N; c++)
				keys[c] = cdef[c].key;
			cons = keys_parse(optarg, keys, C_N);
		} else if (ch == 'R')
			rules = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'b')
			batch = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			rate = strtoull(optarg, NULL, 10);
		else if (ch == 'z')
			probe_ms = strtoull(optarg, NULL, 10);
		else if (ch == 'Z')
			do_zl = false;
		else if (ch == 'w')
			wait_key = true;
		else if (ch == 'F')
			no_cache = true;
		else if (ch == 'X')
			cache_rules = strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (rounds == 0 || secs < 0.1 || rules < SINK_VTEPS || rules > (1u << 28) ||
	    batch == 0 || batch > RELAY_BATCH_MAX || probe_ms < 50)
		usage();
	if (geteuid() != 0)
		fatalx("gateway: needs root (network namespaces, XDP)");
	has_io = forwarder_has_io();
	if (!has_io && (cons & (1u << C_XDP))) {
		fprintf(stderr, "gateway: this build's forwarder has no forwarder.io: no xdp "
		    "contender\n");
		cons &= ~(1u << C_XDP);
	}
	full = rounds >= 3 && secs >= 1 && sizes == (1u << S_N) - 1 &&
	    flows == (1u << F_N) - 1 && cons == (1u << C_N) - 1 && do_zl && rate == 0 &&
	    rules >= RULES_DEFAULT && !no_cache && cache_rules == 0;
	if (cache_rules == 0)
		cache_rules = (unsigned long)rules + rules / 4;
	snprintf(cache_conf, sizeof(cache_conf), " xdp_fast_rules = %lu;\n",
	    no_cache ? 0 : cache_rules);
	for (int c = 0; c < C_N; c++)
		b.on[c] = cons & (1u << c);
	b.rules = rules;

	cluster_init("gateway");
	ns_sweep_stale();
	ns_new(&ul, "ul");
	ns_sh(&ul, "ip link add br0 type bridge; ip link set br0 up");
	ns_new(&gen, "gen");
	ul_join(&ul, &gen, GEN_IP, GEN_MAC);
	/*
	 * The generator on CPU 0, what it sends received on CPU 1 (RPS on the bridge's end
	 * of its veth): otherwise the whole path, the contender's receive and the ceiling
	 * included, would run in the generator's softirq on its CPU, and the generator's
	 * rate would be what every contender is measured at.
	 */
	ns_sh(&ul, "unshare -m sh -ec 'mount -t sysfs sysfs /sys; for q in "
	    "/sys/class/net/u_gen/queues/rx-*; do echo %x >$q/rps_cpus; done'", RPS_MASK);
	neighbours(&gen, false, true);
	ns_new(&b.sink, "sink");
	ul_join(&ul, &b.sink, SINK_BASE, SINK_MAC);
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/sink-addrs", cluster_dir());
		if ((f = fopen(path, "w")) == NULL)
			fatal("gateway: %s", path);
		for (int i = 1; i < SINK_VTEPS; i++)
			fprintf(f, "addr add 10.78.1.%d/16 dev e0\n", i);
		fclose(f);
		ns_sh(&b.sink, "ip -batch %s", path);
	}
	(void)ns_udp_sink(&b.sink, VXLAN_PORT);
	for (int c = 0; c < C_N; c++) {
		if (!b.on[c])
			continue;
		ns_new(&b.ns[c], cdef[c].ns);
		ul_join(&ul, &b.ns[c], cdef[c].ip, cdef[c].mac);
		neighbours(&b.ns[c], true, false);
	}

	/* The gateways' rule table, as a rule-store would make it; once, for both. */
	if (b.on[C_SOCKET] || b.on[C_XDP]) {
		node[C_SOCKET] = cluster_node("gw");
		node[C_XDP] = cluster_node("gx");
		table_params_default(&tp, TABLE_GATEWAY);
		tp.capacity = rules + rules / 8 + 64;
		tp.max_vnis = 16;
		t0 = clock_mono_ns();
		if (table_create(&tab, node[C_SOCKET], "rule-store", &tp, err, sizeof(err)) < 0)
			fatalx("gateway: %s", err);
		for (uint32_t i = 0; i < rules; i++) {
			uint32_t ip = RULE_BASE + i;
			struct table_rule r = { .vni = VNI, .ip = ip, .vtep = vtep_of(ip),
			    .mac = { 2, 0x78, (uint8_t)(ip >> 24), (uint8_t)(ip >> 16),
			    (uint8_t)(ip >> 8), (uint8_t)ip }, .version = 1 };

			if (table_set(tab, &r) != TABLE_APPLIED)
				fatalx("gateway: cannot write rule %u of the table", i);
		}
		if (table_vni_advance(tab, VNI, GEN, 1) != TABLE_APPLIED)
			fatalx("gateway: cannot advance the table's VNI");
		printf("gateway: %u rules written in %.1f s (%.0f MB of table)\n", rules,
		    (double)(clock_mono_ns() - t0) / 1e9, (double)table_size(&tp) / 1e6);
		fflush(stdout);
		/* The VTEPs it takes VXLAN from: the generator's. */
		if (vtepset_create(&vs, node[C_SOCKET], "rule-store", 64, err, sizeof(err)) < 0 ||
		    vtepset_add(vs, GEN_IP) < 0)
			fatalx("gateway: the VTEP list: %s", err);
		vtepset_set_loaded(vs);
		seg_link(node[C_SOCKET], node[C_XDP], "rule-store", "table");
		seg_link(node[C_SOCKET], node[C_XDP], "rule-store", "vteps");
	}
	for (int c = C_SOCKET; c <= C_XDP; c++) {
		if (!b.on[c])
			continue;
		snprintf(conf, sizeof(conf), "node = \"%s\";\nforwarder = {\n mode = \"gateway\";\n"
		    " listen = \"10.78.0.%u:%d\";\n%s%s};\n", node[c], cdef[c].ip & 255, VXLAN_PORT,
		    !has_io ? "" : c == C_XDP ? " io = \"xdp\";\n" : " io = \"socket\";\n",
		    c != C_XDP ? "" : cache_conf);
		if (c == C_XDP)
			pass_attach(&ul, &b.ns[c]);
		b.pid[c] = ns_exec(&b.ns[c], "vpcfwd-forwarder", conf, cdef[c].key);
		cluster_stats_wait(&b.st[c], node[c], "forwarder");
		for (int k = 0; cluster_stat(&b.st[c], "table_attached") != 1; k++) {
			if (k == CLUSTER_WAIT_TRIES)
				fatalx("gateway: the %s forwarder did not attach its table",
				    cdef[c].key);
			usleep(10000);
		}
		if (has_io && cluster_stat(&b.st[c], "io_xdp") != (c == C_XDP))
			fatalx("gateway: the %s forwarder runs with io_xdp %llu", cdef[c].key,
			    (unsigned long long)cluster_stat(&b.st[c], "io_xdp"));
		/* A mirror when it has room for 9/8 of the table (xdpfast.h). */
		if (c == C_XDP && !no_cache && (uint64_t)cache_rules * 8 >= (uint64_t)rules * 9)
			mirror_wait(&b.st[c], rules);
	}
	if (b.on[C_RELAY] && (b.pid[C_RELAY] = ns_fork(&b.ns[C_RELAY])) == 0)
		relay_child(batch);
	if (b.on[C_CEIL])
		ceiling_attach(&ul, &b.ns[C_CEIL]);
	b.g = ggen_start(&gen, &b.gpid);
	for (int c = 0; c < C_N; c++)
		for (int s = 0; s < S_N; s++)
			for (int f = 0; f < F_N; f++)
				if ((ms[c][s][f] = calloc(rounds, sizeof(struct meas))) == NULL)
					fatalx("gateway: out of memory");
	if (wait_key) {
		printf("gateway: set up in %s; forwarders %d (socket), %d (xdp), relay %d, "
		    "generator %d\npress Enter to measure\n", cluster_dir(),
		    (int)b.pid[C_SOCKET], (int)b.pid[C_XDP], (int)b.pid[C_RELAY], (int)b.gpid);
		fflush(stdout);
		(void)getchar();
	}

	t0 = clock_mono_ns();
	for (uint64_t r = 0; r < rounds; r++)
		for (int s = 0; s < S_N; s++)
			for (int f = 0; f < F_N; f++) {
				if (!(sizes & (1u << s)) || !(flows & (1u << f)))
					continue;
				b.s = s;
				b.f = f;
				for (int c = 0; c < C_N; c++)
					if (b.on[c])
						measure(&b, c, rate, WARM_MS,
						    (uint64_t)(secs * 1000), &ms[c][s][f][r]);
			}
	for (int c = 0; c < C_N; c++)
		for (int s = 0; s < S_N; s++)
			for (int f = 0; f < F_N; f++) {
				if (!b.on[c] || !(sizes & (1u << s)) || !(flows & (1u << f)))
					continue;
				qsort(ms[c][s][f], rounds, sizeof(struct meas), bench_cmp_double);
				med[c][s][f] = ms[c][s][f][rounds / 2];
			}
	printf("gateway: throughput measured in %.0f s\n", (double)(clock_mono_ns() - t0) / 1e9);
	if (do_zl) {
		t0 = clock_mono_ns();
		for (int s = 0; s < S_N; s++)
			for (int f = 0; f < F_N; f++) {
				if (!(sizes & (1u << s)) || !(flows & (1u << f)))
					continue;
				b.s = s;
				b.f = f;
				for (int c = 0; c < C_N; c++)
					if (b.on[c])
						zl[c][s][f] = zero_loss(&b, c,
						    max_offered(ms[c][s][f], rounds),
						    probe_ms, &peak[c][s][f]);
				/*
				 * CPU a datagram compared where it is not inflated by
				 * work on what is dropped: every contender at one rate
				 * that each relays without loss, 0.9 x the lowest
				 * zero-loss rate.
				 */
				common[s][f] = 0;
				for (int c = 0; c < C_N; c++)
					if (b.on[c] && (common[s][f] == 0 ||
					    zl[c][s][f] < common[s][f]))
						common[s][f] = zl[c][s][f];
				common[s][f] *= 0.9;
				for (int c = 0; c < C_N; c++)
					if (b.on[c] && common[s][f] > 0)
						measure(&b, c, (uint64_t)common[s][f], WARM_MS,
						    (uint64_t)(secs * 1000), &cm[c][s][f]);
			}
		printf("gateway: zero-loss rates searched in %.0f s\n",
		    (double)(clock_mono_ns() - t0) / 1e9);
	}
	if (b.on[C_CEIL])
		printf("gateway: the XDP relay relayed %llu, passed %llu to the kernel\n",
		    (unsigned long long)ceiling_count(0), (unsigned long long)ceiling_count(1));

	printf("gateway: VXLAN datagrams from a generator to one relay, on to %d sink VTEPs; "
	    "%u rules; median of %llu rounds of %.1f s%s\n", SINK_VTEPS, rules,
	    (unsigned long long)rounds, secs, rate ? "" : ", offered as fast as it can");
	printf("%-10s %-27s %9s %9s %6s %5s %5s %7s %5s %5s %9s %9s %7s %7s\n", "traffic",
	    "contender", "offered", "delivered", "loss%", "proc", "sirq", "us/pkt", "gen",
	    "busy", "peak", "zero-loss", "us/pkt@", "mach@");
	for (int s = 0; s < S_N; s++)
		for (int f = 0; f < F_N; f++) {
			char tr[32];

			if (!(sizes & (1u << s)) || !(flows & (1u << f)))
				continue;
			snprintf(tr, sizeof(tr), "%s %s", s_key[s], f_key[f]);
			for (int c = 0; c < C_N; c++) {
				const struct meas *m = &med[c][s][f];

				if (!b.on[c])
					continue;
				printf("%-10s %-27s %9.0f %9.0f %6.2f %5.2f %5.2f %7.3f %5.2f "
				    "%5.2f %9.0f %9.0f %7.3f %7.3f\n", tr, cdef[c].label,
				    m->offered, m->pps, 100 * m->loss, m->proc_cores,
				    m->sirq_cores, cpu_us(m), m->gen_cores, m->busy_cores,
				    peak[c][s][f], zl[c][s][f], cpu_us(&cm[c][s][f]),
				    machine_us(&cm[c][s][f]));
				if (m->fwd_drops)
					printf("%-10s   the forwarder dropped %llu (drop_*, "
					    "tx_errors)\n", "", (unsigned long long)m->fwd_drops);
			}
			if (common[s][f] > 0) {
				double worst = 0;

				for (int c = 0; c < C_N; c++)
					if (b.on[c] && cm[c][s][f].loss > worst)
						worst = cm[c][s][f].loss;
				printf("%-10s   us/pkt@: at %.0f/s offered to each (0.9 x the lowest "
				    "zero-loss rate), loss at most %.2f %%\n", "", common[s][f],
				    100 * worst);
			}
		}
	printf("(traffic: inner frame bytes and flows; offered, delivered, loss: as fast as "
	    "the generator can, median of the rounds; proc, sirq: CPUs busy in the contender's "
	    "processes and in softirq (whole machine); us/pkt: the two a delivered datagram; "
	    "gen: CPUs of the generator's process; busy: CPUs busy, everything; peak: the most "
	    "delivered in any window, zero-loss search included; zero-loss: highest offered "
	    "rate with < 0.1%% loss; us/pkt@: us/pkt at one rate for all, below; mach@: at that "
	    "rate, all CPUs' time but their idle and the generator's a delivered datagram, "
	    "us, the CPU figure of the results)\n");

	res = bench_results();
	for (int s = 0; s < S_N && full; s++)
		for (int f = 0; f < F_N; f++) {
			const struct meas *so = &med[C_SOCKET][s][f], *x = &med[C_XDP][s][f];
			const struct meas *rl = &med[C_RELAY][s][f], *ce = &med[C_CEIL][s][f];
			const char *rb = "fair relay: recvmmsg/sendmmsg + UDP_SEGMENT runs";
			const char *cb = "XDP_TX relay (bench/xdp_relay.bpf.c), the ceiling";
			json_t *r;

			row(res, "gateway", s, f, "pps", so->pps, "pps", rb, rl->pps, so, rl);
			row(res, "gateway_xdp", s, f, "pps", x->pps, "pps", rb, rl->pps, x, rl);
			row(res, "gateway_xdp_vs_redirect", s, f, "pps", x->pps, "pps", cb,
			    ce->pps, x, ce);
			row(res, "gateway", s, f, "zero_loss_pps", zl[C_SOCKET][s][f], "pps", rb,
			    zl[C_RELAY][s][f], so, rl);
			row(res, "gateway_xdp", s, f, "zero_loss_pps", zl[C_XDP][s][f], "pps", rb,
			    zl[C_RELAY][s][f], x, rl);
			row(res, "gateway_xdp_vs_redirect", s, f, "zero_loss_pps", zl[C_XDP][s][f],
			    "pps", cb, zl[C_CEIL][s][f], x, ce);
			row(res, "gateway", s, f, "cpu_per_pkt", machine_us(&cm[C_SOCKET][s][f]),
			    "us", rb, machine_us(&cm[C_RELAY][s][f]), &cm[C_SOCKET][s][f],
			    &cm[C_RELAY][s][f]);
			row(res, "gateway_xdp", s, f, "cpu_per_pkt", machine_us(&cm[C_XDP][s][f]),
			    "us", rb, machine_us(&cm[C_RELAY][s][f]), &cm[C_XDP][s][f],
			    &cm[C_RELAY][s][f]);
			for (size_t k = json_array_size(res) - 8; k < json_array_size(res); k++) {
				r = json_array_get(res, k);
				json_object_set_new(r, "peak_pps", json_real(strstr(
				    json_string_value(json_object_get(r, "name")), "_xdp") ?
				    peak[C_XDP][s][f] : peak[C_SOCKET][s][f]));
			}
			r = json_array_get(res, json_array_size(res) - 2);
			json_object_set_new(r, "rate", json_real(common[s][f]));
			r = json_array_get(res, json_array_size(res) - 1);
			json_object_set_new(r, "rate", json_real(common[s][f]));
		}
	if (b.on[C_RELAY] && b.on[C_CEIL] && b.on[C_SOCKET] && b.on[C_XDP])
		for (int s = 0; s < S_N; s++)
			for (int f = 0; f < F_N; f++) {
				if (!(sizes & (1u << s)) || !(flows & (1u << f)))
					continue;
				printf("ratio %s %s: flat out: socket %.2fx relay (goal >= 0.9), "
				    "xdp %.2fx relay (>= 1.3), %.2fx ceiling (>= 0.7)\n", s_key[s],
				    f_key[f], med[C_SOCKET][s][f].pps / med[C_RELAY][s][f].pps,
				    med[C_XDP][s][f].pps / med[C_RELAY][s][f].pps,
				    med[C_XDP][s][f].pps / med[C_CEIL][s][f].pps);
				if (zl[C_RELAY][s][f] > 0 && zl[C_CEIL][s][f] > 0 &&
				    machine_us(&cm[C_RELAY][s][f]) > 0)
					printf("ratio %s %s: zero-loss: socket %.2fx relay, xdp "
					    "%.2fx relay, %.2fx ceiling; cpu/pkt at one rate: socket "
					    "%.2fx relay, xdp %.2fx relay (<= 0.5)\n", s_key[s],
					    f_key[f], zl[C_SOCKET][s][f] / zl[C_RELAY][s][f],
					    zl[C_XDP][s][f] / zl[C_RELAY][s][f],
					    zl[C_XDP][s][f] / zl[C_CEIL][s][f],
					    machine_us(&cm[C_SOCKET][s][f]) /
					    machine_us(&cm[C_RELAY][s][f]),
					    machine_us(&cm[C_XDP][s][f]) /
					    machine_us(&cm[C_RELAY][s][f]));
			}
	cluster_end();
	for (int c = C_SOCKET; c <= C_XDP; c++)
		if (b.on[c])
			stats_close(&b.st[c]);
	if (full) {
		return bench_write(res, "gateway") < 0;
	}
	printf("gateway: a partial run (options): bench/results/gateway.json not written\n");
	json_decref(res);
	return 0;
}
