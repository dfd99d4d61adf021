/*
 * bench/latency: the round trip of a UDP request and its answer between two VMs on two
 * hosts, one in flight (light load), through vpcfwd vswitch -> gateway -> vswitch
 * (both ways), in both underlay I/O modes (forwarder.io "socket" and "xdp"), against
 * the same through the Linux kernel's vxlan (vxlan + bridge, host to host), measured
 * in the same run.
 *
 * Topologies (bench/overlay.h has the layout), each of namespaces of its own:
 *  socket, xdp	each host runs vpcfwd-forwarder (vswitch), a gateway node its gateway
 *		forwarder (io = "socket" or "xdp" for all three); the hosts' rule tables
 *		hold no rule and name the gateway, whose table holds both VMs: every frame
 *		goes via the gateway (nothing is learned: no syncd). The frames that carry
 *		the learn bit (one a destination a second) are among them.
 *  direct	as xdp, but the hosts' tables hold the VMs' rules: host to host, the
 *		kernel's number of hops (for comparison: what the gateway adds).
 *  kernel	each host's vxlan device on a Linux bridge with a veth to the VM, static fdb
 *		entries: one hop fewer (no gateway), the kernel's usual path. The baseline.
 *		No RPS (it would add a hop between CPUs, a cost on latency).
 * The client is this program, in VM 1's namespace: a 64-byte datagram to VM 2's port 7,
 * then wait for its answer (200 ms at most: lost), then the next; an echo child in VM
 * 2's namespace answers each. The first -W round trips of each round are a warm-up.
 * Rounds of each topology one after another (-n), each -c round trips; the median of
 * the rounds' p50 and p99.
 *
 *	latency [-n ROUNDS] [-c COUNT] [-W WARM] [-m sxdk]
 *	(-m: which topologies, s(ocket), x(dp), d(irect), k(ernel); results are written only by a
 *	 full run, at least 3 rounds of at least 2000, every topology)
 */
#include "bench/overlay.h"
#include "common/log.h"

#include <getopt.h>
#include <poll.h>

#define ECHO_PORT	7
#define PAYLOAD		64
#define TIMEOUT_MS	200

enum { L_SOCK, L_XDP, L_DIRECT, L_KERNEL, L_N };

static const char *l_key = "sxdk";
static const char *l_label[L_N] = {
	"vpcfwd, vswitch -> gateway -> vswitch, io socket",
	"vpcfwd, vswitch -> gateway -> vswitch, io xdp",
	"vpcfwd, vswitch -> vswitch (rules), io xdp",
	"kernel vxlan + bridge, host to host",
};

struct round {
	double p50;			/* first: medians by bench_cmp_double */
	double p99, max;
	uint64_t lost;
};

_Static_assert(offsetof(struct round, p50) == 0, "struct round: p50 first");

/* The echo: answer each datagram on port 7 with itself. */
static void __attribute__((noreturn))
echo_child(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(ECHO_PORT) }, from;
	uint8_t buf[2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		fprintf(stderr, "latency: echo: %s\n", strerror(errno));
		_exit(1);
	}
	for (;;) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

		if (n > 0)
			(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
	}
}

/* The client's socket in VM 1's namespace, connected to VM 2's echo. */
static int
client_socket(const struct ns *v1)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(ECHO_PORT),
	    .sin_addr.s_addr = htonl(OVL_VM_IP(1)) };
	int fd;

	ns_enter(v1);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ns_leave();
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		fatal("latency: the client's socket");
	return fd;
}

/*
 * One round trip of request seq: its time in ns, or 0 when no answer came in time
 * (answers to earlier, late requests are skipped).
 */
static uint64_t
ping(int fd, uint64_t seq)
{
	uint8_t buf[PAYLOAD] = { 0 }, in[2048];
	uint64_t t0 = clock_mono_ns(), got;

	memcpy(buf, &seq, sizeof(seq));
	if (send(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		fatal("latency: send");
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = TIMEOUT_MS - (int64_t)((clock_mono_ns() - t0) / 1000000);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return 0;
		if ((n = recv(fd, in, sizeof(in), 0)) < (ssize_t)sizeof(got))
			continue;
		memcpy(&got, in, sizeof(got));
		if (got == seq)
			return clock_mono_ns() - t0;
	}
}

/* A round: warm round trips, then count measured; their percentiles in us. */
static void
measure(int fd, uint64_t *seq, uint32_t warm, uint32_t count, uint64_t *rtt,
    struct round *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < warm; i++)
		(void)ping(fd, ++*seq);
	r->lost = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t t = ping(fd, ++*seq);

		if (t == 0)
			r->lost++;
		else
			rtt[n++] = t;
	}
	if (n == 0)
		fatalx("latency: no answer at all");
	r->p50 = bench_pct_ms(rtt, n, 0.50) * 1000;
	r->p99 = bench_pct_ms(rtt, n, 0.99) * 1000;
	r->max = bench_pct_ms(rtt, n, 1.0) * 1000;
}

static void
usage(void)
{
	fatalx("usage: latency [-n ROUNDS] [-c COUNT] [-W WARM] [-m sxdk]");
}

int
main(int argc, char **argv)
{
	static struct ovl topo[L_N];
	const char *modes = "sxdk";
	uint64_t rounds = 3, seq = 0, *rtt;
	uint32_t count = 5000, warm = 200;
	struct round *rs[L_N], med50[L_N], med99[L_N];
	int fd[L_N], ch;
	bool on[L_N], full = true;
	json_t *res;

	log_init("bench-latency", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:c:W:m:")) != -1) {
		if (ch == 'n')
			rounds = strtoull(optarg, NULL, 10);
		else if (ch == 'c')
			count = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'W')
			warm = (uint32_t)strtoul(optarg, NULL, 10);
		else if (ch == 'm')
			modes = optarg, full = false;
		else
			usage();
	}
	if (rounds == 0 || rounds > 100 || count == 0 || count > 10000000 || warm > 1000000)
		usage();
	if (rounds < 3 || count < 2000)
		full = false;
	if (geteuid() != 0)
		fatalx("latency: needs root (network namespaces, TAPs)");
	if ((rtt = calloc(count, sizeof(*rtt))) == NULL)
		fatalx("latency: out of memory");

	cluster_init("latency");
	ns_sweep_stale();
	for (int l = 0; l < L_N; l++)
		on[l] = strchr(modes, l_key[l]) != NULL;
	if ((on[L_XDP] || on[L_DIRECT]) && !ovl_io_supported("xdp")) {
		printf("latency: this build's forwarder has no forwarder.io = \"xdp\": the xdp "
		    "topologies are left out\n");
		on[L_XDP] = on[L_DIRECT] = false;
	}
	for (int l = 0; l < L_N; l++) {
		char p[2] = { l_key[l], '\0' };

		if (!on[l])
			continue;
		if (l == L_KERNEL)
			ovl_kernel(&topo[l], p, false, 0, false, false);
		else
			ovl_vpcfwd(&topo[l], p, ovl_io_supported(l == L_SOCK ? "socket" : "xdp") ?
			    (l == L_SOCK ? "socket" : "xdp") : NULL, l != L_DIRECT, 0, false);
		if (ns_fork(&topo[l].v[1]) == 0)
			echo_child();
		fd[l] = client_socket(&topo[l].v[0]);
		if ((rs[l] = calloc(rounds, sizeof(struct round))) == NULL)
			fatalx("latency: out of memory");
	}

	for (uint64_t r = 0; r < rounds; r++)
		for (int l = 0; l < L_N; l++)
			if (on[l])
				measure(fd[l], &seq, warm, count, rtt, &rs[l][r]);

	/* Every frame went via the gateway: none direct, each relayed. */
	for (int l = L_SOCK; l <= L_XDP; l++) {
		uint64_t want = 2 * (warm + count) * rounds;

		if (!on[l])
			continue;
		if (ovl_fwd_stat(&topo[l], "tx_direct") != 0 ||
		    ovl_fwd_stat(&topo[l], "tx_relayed") < want - want / 100)
			fatalx("latency: %s: %llu frames direct, %llu relayed by the gateway, of "
			    "%llu", l_label[l], (unsigned long long)ovl_fwd_stat(&topo[l],
			    "tx_direct"), (unsigned long long)ovl_fwd_stat(&topo[l],
			    "tx_relayed"), (unsigned long long)want);
	}
	printf("latency: UDP request and answer (%d B) VM 1 -> VM 2 -> VM 1, one in flight; "
	    "median of %llu rounds of %u round trips (after %u)\n", PAYLOAD,
	    (unsigned long long)rounds, count, warm);
	printf("%-50s %9s %9s %9s %6s\n", "path", "p50 us", "p99 us", "max us", "lost");
	for (int l = 0; l < L_N; l++) {
		uint64_t lost = 0;
		double mx = 0;

		if (!on[l])
			continue;
		for (uint64_t r = 0; r < rounds; r++) {
			lost += rs[l][r].lost;
			mx = rs[l][r].max > mx ? rs[l][r].max : mx;
		}
		qsort(rs[l], rounds, sizeof(struct round), bench_cmp_double);
		med50[l] = rs[l][rounds / 2];
		for (uint64_t r = 0; r < rounds; r++)
			rs[l][r].p50 = rs[l][r].p99;
		qsort(rs[l], rounds, sizeof(struct round), bench_cmp_double);
		med99[l] = rs[l][rounds / 2];
		printf("%-50s %9.1f %9.1f %9.1f %6llu\n", l_label[l], med50[l].p50,
		    med99[l].p99, mx, (unsigned long long)lost);
	}
	for (int l = 0; l < L_N; l++) {
		if (!on[l] || l == L_KERNEL || !on[L_KERNEL])
			continue;
		printf("ratio, %s: p50 %.2fx, p99 %.2fx the kernel's (lower is better)\n",
		    l == L_XDP ? "xdp" : l == L_DIRECT ? "xdp direct" : "socket",
		    med50[l].p50 / med50[L_KERNEL].p50,
		    med99[l].p99 / med99[L_KERNEL].p99);
	}

	res = bench_results();
	for (int l = L_SOCK; l <= L_DIRECT && on[L_KERNEL]; l++) {
		const char *io = l == L_XDP ? "_xdp" : l == L_DIRECT ? "_xdp_direct" : "";
		char name[64];
		json_t *row;

		if (!on[l])
			continue;
		for (int q = 0; q < 2; q++) {
			snprintf(name, sizeof(name), "latency%s_p%d_us", io, q == 0 ? 50 : 99);
			bench_add(res, name, q == 0 ? med50[l].p50 : med99[l].p99, "us",
			    "kernel vxlan + Linux bridge, host to host, no gateway",
			    q == 0 ? med50[L_KERNEL].p50 : med99[L_KERNEL].p99);
			row = json_array_get(res, json_array_size(res) - 1);
			json_object_set_new(row, "better", json_string("lower"));
			json_object_set_new(row, "path", json_string(l == L_DIRECT ?
			    "vswitch -> vswitch" : "vswitch -> gateway -> vswitch"));
		}
	}
	cluster_end();
	for (int l = 0; l < L_N; l++)
		if (on[l])
			ovl_close(&topo[l]);
	if (!full || !on[L_XDP] || !on[L_DIRECT]) {
		printf("latency: a partial run (options%s): bench/results/latency.json not "
		    "written\n", on[L_XDP] ? "" : ", no xdp");
		json_decref(res);
		return 0;
	}
	return bench_write(res, "latency") < 0;
}
