/*
 * xsk_test: the forwarder's AF_XDP underlay (procs/forwarder/xsk) and its XDP program on
 * a real veth pair between two network namespaces of the test's own (A holds xa, the
 * underlay, 10.99.0.1 and .3; B holds xb, a peer VTEP, 10.99.0.2), in native and in
 * generic mode:
 * - a UDP datagram to A's address and the VXLAN port arrives on xsk_rx, byte for byte,
 *   and not on the kernel's socket for that port; an ARP request, a datagram to another
 *   port, to another address of A's, in IP fragments, all reach A's kernel; frames in
 *   several buffers or too long for an XSK frame (MTU 9000) reach the kernel whole; a
 *   UDP GSO message arrives whole, on either path; the program's counters say where
 *   each frame went, exactly;
 * - frames built here and queued with xsk_tx reach a socket in B, 100 at once too (more
 *   than copy mode sends a sendto), and come back on xsk_complete;
 * - two queues: an XSK each on the one UMEM, both fed, one xsk_rx reading both;
 * - xsk_open fails with one clear line and leaves nothing attached or open: no such
 *   interface, no native XDP, another program attached, bad parameters; xsk_close
 *   detaches, and so does kill -9 (the next xsk_open takes the queue);
 * - the rule cache (xdp_vxlan.h): a datagram from a source of the allow-list to a
 *   destination with a valid rule goes back out rewritten, byte for byte as the
 *   forwarder's relay writes it, never on the XSK (XDP_TX: B's end has an XDP_PASS
 *   program, without which a veth drops it, counted in xsk_xdp_tx_errors, after
 *   ethtool -L too); every way a rule or a source is not valid sends it to the XSK
 *   untouched, counted as a miss; xsk_fast_srcs_prune leaves only the generation it is
 *   given.
 *
 * Each wait is bounded (WAIT_MS), no timing asserted. Skipped where the test may not
 * make a network namespace (not root).
 */
#include "procs/forwarder/fastrules.c"
#include "procs/forwarder/xsk.c"
#include "common/vxlan.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>	/* SOL_UDP; UDP_SEGMENT from linux/udp.h */
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <signal.h>

#define WAIT_MS		2000
#define PORT		4789
#define OTHER_PORT	4790
#define PEER_PORT	5555
#define NFRAMES		512
#define FRAME		2048
#define RING		128
#define IP_A		"10.99.0.1"
#define IP_B		"10.99.0.2"
#define IP_A2		"10.99.0.3"	/* another address of A's */

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static int ns_a = -1, ns_b = -1;
static uint8_t *umem;

static void
sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "'%s' failed: %d", cmd, rc);
}

static void
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s), "%s: %s", path,
	    strerror(errno));
	close(fd);
}

/* The namespace just made: lo up, no IPv6 (nothing but the test's traffic on the veth). */
static void
ns_quiet(void)
{
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	sh("ip link set lo up");
}

static void
enter(int ns)
{
	cr_assert_eq(setns(ns, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
}

/*
 * Namespaces A and B (this process stays in A), the veth between them. Criterion runs
 * each test in a process of its own: they go when it ends, whatever happened.
 */
static void
topo_queues(unsigned nq)
{
	if (unshare(CLONE_NEWNET) < 0)
		cr_skip_test("cannot make a network namespace: %s", strerror(errno));
	ns_a = open("/proc/self/ns/net", O_RDONLY);	/* no CLOEXEC: ip opens B by it */
	cr_assert_geq(ns_a, 0);
	ns_quiet();
	cr_assert_eq(unshare(CLONE_NEWNET), 0);
	ns_b = open("/proc/self/ns/net", O_RDONLY);
	cr_assert_geq(ns_b, 0);
	ns_quiet();
	enter(ns_a);
	sh("ip link add xa numrxqueues %u numtxqueues %u address 02:00:00:00:00:01 type veth "
	    "peer name xb numrxqueues %u numtxqueues %u address 02:00:00:00:00:02 "
	    "netns /proc/self/fd/%d", nq, nq, nq, nq, ns_b);
	sh("ip addr add " IP_A "/24 dev xa && ip addr add " IP_A2 "/24 dev xa && "
	    "ip link set xa up");
	sh("ip neigh add " IP_B " lladdr 02:00:00:00:00:02 dev xa nud permanent");
	enter(ns_b);
	sh("ip addr add " IP_B "/24 dev xb && ip link set xb up");
	/*
	 * Neither asks the other's MAC (an ARP, an answer or a retry would upset the exact
	 * counts; A answers an ICMP port unreachable): the test asks, once.
	 */
	sh("ip neigh add " IP_A " lladdr 02:00:00:00:00:01 dev xb nud permanent && "
	    "ip neigh add " IP_A2 " lladdr 02:00:00:00:00:01 dev xb nud permanent");
	enter(ns_a);
	umem = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(umem, MAP_FAILED);
}

/* One queue each way: all of A's traffic on its queue 0. */
static void
topo(void)
{
	topo_queues(1);
}

/* In the current namespace (<net/if.h>'s if_nametoindex clashes with <linux/if.h>). */
static int
ifindex_of(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	cr_assert_eq(ioctl(s, SIOCGIFINDEX, &ifr), 0, "%s: %s", ifname, strerror(errno));
	close(s);
	return ifr.ifr_ifindex;
}

static struct xsk_params
params(int mode)
{
	struct xsk_params p = {
		.ifname = "xa",
		.ip = inet_addr(IP_A),
		.port = PORT,
		.umem = umem,
		.n_frames = NFRAMES,
		.frame_size = FRAME,
		.ring_size = RING,
		.mode = mode,
	};
	return p;
}

static struct xsk *
open_nq(int mode, uint32_t nq)
{
	struct xsk_params p = params(mode);
	struct xsk *x = NULL;
	char err[256];
	int rc = xsk_open(&x, &p, err, sizeof(err));

	cr_assert_eq(rc, 0, "xsk_open: %d: %s", rc, err);
	cr_assert_eq(xsk_nqueues(x), nq, "%u queues, not %u", xsk_nqueues(x), nq);
	cr_log_info("xsk mode %s", xsk_mode_name(x));
	return x;
}

static struct xsk *
open_ok(int mode)
{
	return open_nq(mode, 1);
}

/* Every frame but the first 16 (the test's own for TX) to the fill rings. */
static void
fill_all(struct xsk *x)
{
	uint64_t a[NFRAMES];
	uint32_t n = 0, want = xsk_fill_want(x);

	cr_assert_eq(want, RING * xsk_nqueues(x));
	for (uint32_t i = 16; i < NFRAMES && n < want; i++)
		a[n++] = (uint64_t)i * FRAME;
	cr_assert_eq(xsk_fill(x, a, n), n);
	cr_assert_eq(xsk_fill_want(x), 0);
}

/* A UDP socket bound in the current namespace. */
static int
udp_bound(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	sa.sin_addr.s_addr = inet_addr(ip);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s:%u: %s", ip,
	    port, strerror(errno));
	return s;
}

/* A socket of namespace B's. */
static int
udp_in_b(uint16_t port)
{
	int s;

	enter(ns_b);
	s = udp_bound(IP_B, port);
	enter(ns_a);
	return s;
}

static void
send_to(int s, const char *ip, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	sa.sin_addr.s_addr = inet_addr(ip);
	cr_assert_eq(sendto(s, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len,
	    "send to %s:%u: %s", ip, port, strerror(errno));
}

static void
send_to_a(int s, uint16_t port, const void *buf, size_t len)
{
	send_to(s, IP_A, port, buf, len);
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static struct xsk_stats
stats(struct xsk *x)
{
	struct xsk_stats s;

	xsk_stats_read(x, &s);
	return s;
}

static void
expect_prog(struct xsk *x, uint64_t redirect, uint64_t pass, uint64_t frags_or_big)
{
	struct xsk_stats s = stats(x);

	cr_assert_eq(s.prog_redirect, redirect, "prog_redirect %lu, not %lu",
	    (unsigned long)s.prog_redirect, (unsigned long)redirect);
	cr_assert_eq(s.prog_pass, pass, "prog_pass %lu, not %lu", (unsigned long)s.prog_pass,
	    (unsigned long)pass);
	cr_assert_eq(s.prog_pass_frags + s.prog_pass_big, frags_or_big,
	    "prog_pass_frags %lu + prog_pass_big %lu, not %lu",
	    (unsigned long)s.prog_pass_frags, (unsigned long)s.prog_pass_big,
	    (unsigned long)frags_or_big);
	cr_assert_eq(s.prog_no_xsk, 0);
	cr_assert_eq(s.rx_dropped + s.rx_invalid + s.tx_invalid, 0);
}

/*
 * An ARP request for ip from B's xb, on a packet socket of B's: true once A's answer
 * (A's MAC) came back on it.
 */
static void
arp_ask(const char *ip)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
		.sll_halen = 6 };
	uint8_t f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, r[128];
	uint32_t sip = inet_addr(IP_B), tip = inet_addr(ip);
	int s;

	enter(ns_b);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
	cr_assert_geq(s, 0, "packet socket: %s", strerror(errno));
	ll.sll_ifindex = ifindex_of("xb");
	enter(ns_a);
	cr_assert_eq(bind(s, (struct sockaddr *)&ll, sizeof(ll)), 0);
	memcpy(f + 6, MAC_B, 6);
	memcpy(f + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);	/* request */
	memcpy(f + 22, MAC_B, 6);
	memcpy(f + 28, &sip, 4);
	memcpy(f + 38, &tip, 4);
	memset(ll.sll_addr, 0xff, 6);
	cr_assert_eq(sendto(s, f, sizeof(f), 0, (struct sockaddr *)&ll, sizeof(ll)),
	    (ssize_t)sizeof(f), "ARP: %s", strerror(errno));
	for (;;) {
		ssize_t n;

		cr_assert(readable(s, WAIT_MS), "no ARP reply for %s", ip);
		n = recv(s, r, sizeof(r), 0);
		/* Our own request comes back too (outgoing): the reply is opcode 2 from A. */
		if (n >= 42 && r[21] == 2 && memcmp(r + 22, MAC_A, 6) == 0 &&
		    memcmp(r + 28, &tip, 4) == 0)
			break;
	}
	close(s);
}

/* Criterion runs a test in a process of its own: the parameter is a value, not a pointer. */
static int MODES[] = { XSK_MODE_NATIVE, XSK_MODE_SKB };

static const char *
mode_prefix(int mode)
{
	return mode == XSK_MODE_NATIVE ? "native" : "generic";
}

ParameterizedTestParameters(xsk, ours_to_the_xsk_the_rest_to_the_kernel)
{
	return cr_make_param_array(int, MODES, 2);
}

ParameterizedTest(int *mode, xsk, ours_to_the_xsk_the_rest_to_the_kernel)
{
	static const char payload[] = "a VXLAN datagram, byte for byte";
	static const char other[] = "to another port";
	struct xsk_desc d[4];
	struct xsk *x;
	static char frag[2000];
	int ours, kern_other, kern_a2, b;
	char buf[4096];
	const uint8_t *f;

	topo();
	x = open_ok(*mode);
	cr_assert(strncmp(xsk_mode_name(x), mode_prefix(*mode), strlen(mode_prefix(*mode))) == 0,
	    "mode %s", xsk_mode_name(x));
	fill_all(x);
	ours = udp_bound(IP_A, PORT);
	kern_other = udp_bound(IP_A, OTHER_PORT);
	kern_a2 = udp_bound(IP_A2, PORT);
	b = udp_in_b(PEER_PORT);

	/* An ARP request from B: A's kernel answers it. */
	arp_ask(IP_A);
	expect_prog(x, 0, 1, 0);

	send_to_a(b, OTHER_PORT, other, sizeof(other));
	cr_assert(readable(kern_other, WAIT_MS), "the datagram to another port never reached "
	    "the kernel's socket");
	cr_assert_eq(recv(kern_other, buf, sizeof(buf), 0), (ssize_t)sizeof(other));
	cr_assert_eq(memcmp(buf, other, sizeof(other)), 0);
	expect_prog(x, 0, 2, 0);

	/* The VXLAN port, but another address of A's. */
	send_to(b, IP_A2, PORT, other, sizeof(other));
	cr_assert(readable(kern_a2, WAIT_MS), "the datagram to another address never reached "
	    "the kernel's socket");
	cr_assert_eq(recv(kern_a2, buf, sizeof(buf), 0), (ssize_t)sizeof(other));
	expect_prog(x, 0, 3, 0);

	/* The VXLAN port, in IP fragments (the first has the UDP header): the kernel's. */
	for (size_t i = 0; i < sizeof(frag); i++)
		frag[i] = (char)(i * 3);
	send_to_a(b, PORT, frag, sizeof(frag));
	cr_assert(readable(ours, WAIT_MS), "the fragmented datagram never reached the kernel");
	cr_assert_eq(recv(ours, buf, sizeof(buf), 0), (ssize_t)sizeof(frag));
	cr_assert_eq(memcmp(buf, frag, sizeof(frag)), 0);
	expect_prog(x, 0, 5, 0);

	send_to_a(b, PORT, payload, sizeof(payload));
	cr_assert(readable(xsk_fd(x, 0), WAIT_MS), "nothing on the XSK");
	cr_assert_eq(xsk_rx(x, d, 4), 1);
	cr_assert_eq(d[0].len, 14 + 20 + 8 + sizeof(payload));
	cr_assert_eq(d[0].addr % FRAME, XSK_RX_HEADROOM, "data at %lu in its frame",
	    (unsigned long)(d[0].addr % FRAME));
	f = umem + d[0].addr;
	cr_assert_eq(memcmp(f, MAC_A, 6), 0);
	cr_assert_eq(memcmp(f + 6, MAC_B, 6), 0);
	cr_assert_eq(f[12], 0x08);
	cr_assert_eq(f[13], 0x00);
	cr_assert_eq(f[14 + 9], IPPROTO_UDP);
	cr_assert_eq(memcmp(f + 14 + 12, &(uint32_t){ inet_addr(IP_B) }, 4), 0);
	cr_assert_eq(memcmp(f + 14 + 16, &(uint32_t){ inet_addr(IP_A) }, 4), 0);
	cr_assert_eq(f[14 + 20 + 2] << 8 | f[14 + 20 + 3], PORT);
	cr_assert_eq(memcmp(f + 14 + 20 + 8, payload, sizeof(payload)), 0);
	cr_assert(!readable(ours, 100), "the kernel's socket on the VXLAN port got it too");
	expect_prog(x, 1, 5, 0);
	cr_assert_eq(xsk_fill_want(x), 1, "the frame is the caller's until filled again");
	cr_assert_eq(xsk_fill(x, &(uint64_t){ d[0].addr - XSK_RX_HEADROOM }, 1), 1);
	xsk_close(x);
}

/* The largest UDP payload of a 1500-byte MTU. */
#define SEG	(1500 - 20 - 8)

/* What arrives on A's socket or on the XSK, as the bytes of one stream, in order. */
struct collect {
	const char *want;
	size_t len, got, kern, xsk;
};

static void
collect_bytes(struct collect *c, const void *b, size_t n, const char *where)
{
	cr_assert_leq(c->got + n, c->len, "%s: %zu bytes too many", where, c->got + n - c->len);
	cr_assert_eq(memcmp(b, c->want + c->got, n), 0, "%s: bytes %zu.. differ", where, c->got);
	c->got += n;
}

/* Until len bytes came, from the kernel's socket or the XSK, or WAIT_MS of nothing. */
static void
collect_run(struct collect *c, struct xsk *x, int sock)
{
	static char buf[65536];
	struct pollfd p[2] = { { .fd = sock, .events = POLLIN },
		{ .fd = xsk_fd(x, 0), .events = POLLIN } };
	struct xsk_desc d[8];

	while (c->got < c->len && poll(p, 2, WAIT_MS) > 0) {
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		uint32_t k = xsk_rx(x, d, 8);

		if (n > 0) {
			collect_bytes(c, buf, (size_t)n, "the kernel's socket");
			c->kern++;
		}
		for (uint32_t i = 0; i < k; i++) {
			const uint8_t *f = umem + d[i].addr;

			cr_assert_gt(d[i].len, 14 + 20 + 8);
			collect_bytes(c, f + 14 + 20 + 8, d[i].len - 14 - 20 - 8, "the XSK");
			uint64_t base = d[i].addr - XSK_RX_HEADROOM;

			cr_assert_eq(xsk_fill(x, &base, 1), 1);
			c->xsk++;
		}
	}
	cr_assert_eq(c->got, c->len, "%zu bytes of %zu arrived", c->got, c->len);
}

ParameterizedTestParameters(xsk, frames_too_big_for_the_xsk_reach_the_kernel_whole)
{
	return cr_make_param_array(int, MODES, 2);
}

/*
 * MTU 9000 (native XDP on veth takes it only from a program with frags support): a
 * datagram of one page or more arrives in several buffers, a smaller one longer than an
 * XSK frame in one; both are the kernel's. A UDP GSO message arrives whole to the
 * kernel (generic), or cut into datagrams by the sender (native: veth turns GSO off on
 * the peer of an interface with a native program), each then on the XSK: every byte
 * once, in order, either way.
 */
ParameterizedTest(int *mode, xsk, frames_too_big_for_the_xsk_reach_the_kernel_whole)
{
	static char big[8000], gso[3 * SEG];
	char cbuf[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct iovec iov = { .iov_base = gso, .iov_len = sizeof(gso) };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct collect c;
	struct xsk_stats s;
	struct xsk *x;
	int ours, b;

	topo();
	sh("ip link set xa mtu 9000");
	enter(ns_b);
	sh("ip link set xb mtu 9000");
	enter(ns_a);
	x = open_ok(*mode);
	fill_all(x);
	ours = udp_bound(IP_A, PORT);
	b = udp_in_b(PEER_PORT);
	send_to_a(b, OTHER_PORT, "kernel", 6);
	for (int t = 0; t < WAIT_MS && stats(x).prog_pass == 0; t++)
		usleep(1000);
	expect_prog(x, 0, 1, 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	c = (struct collect){ .want = big, .len = 3000 };
	send_to_a(b, PORT, big, 3000);
	collect_run(&c, x, ours);
	c = (struct collect){ .want = big, .len = sizeof(big) };
	send_to_a(b, PORT, big, sizeof(big));
	collect_run(&c, x, ours);
	s = stats(x);
	cr_assert_eq(s.prog_pass_big, 1, "3000 bytes in one buffer: prog_pass_big %lu",
	    (unsigned long)s.prog_pass_big);
	cr_assert_eq(s.prog_pass_frags, 1, "8000 bytes: prog_pass_frags %lu",
	    (unsigned long)s.prog_pass_frags);
	expect_prog(x, 0, 1, 2);

	for (size_t i = 0; i < sizeof(gso); i++)
		gso[i] = (char)i;
	sa.sin_addr.s_addr = inet_addr(IP_A);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	*(uint16_t *)(void *)CMSG_DATA(cm) = SEG;
	cr_assert_eq(sendmsg(b, &mh, 0), (ssize_t)sizeof(gso), "UDP GSO: %s", strerror(errno));
	c = (struct collect){ .want = gso, .len = sizeof(gso) };
	collect_run(&c, x, ours);
	s = stats(x);
	cr_log_info("%s: GSO message: %zu on the kernel's socket, %zu on the XSK; redirect %lu "
	    "frags %lu big %lu", mode_prefix(*mode), c.kern, c.xsk,
	    (unsigned long)s.prog_redirect, (unsigned long)s.prog_pass_frags,
	    (unsigned long)s.prog_pass_big);
	cr_assert_eq(s.prog_redirect, c.xsk);
	xsk_close(x);
}

static uint16_t
ip_csum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Frame i of the UMEM: Ethernet/IPv4/UDP from A's VXLAN port to B's PEER_PORT. The
 * headers are built aside and copied: the IPv4 header sits at an odd 14 bytes in.
 */
static uint32_t
frame_build(uint32_t i, const char *payload)
{
	uint8_t *f = umem + (size_t)i * FRAME;
	size_t plen = strlen(payload);
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.tot_len = htons((uint16_t)(20 + 8 + plen)),
		.ttl = 64,
		.protocol = IPPROTO_UDP,
		.saddr = inet_addr(IP_A),
		.daddr = inet_addr(IP_B),
	};
	struct udphdr udp = {
		.source = htons(PORT),
		.dest = htons(PEER_PORT),
		.len = htons((uint16_t)(8 + plen)),
		.check = 0,	/* none: allowed for IPv4 */
	};

	ip.check = htons(ip_csum((const uint8_t *)&ip, sizeof(ip)));
	memcpy(f, MAC_B, 6);
	memcpy(f + 6, MAC_A, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memcpy(f + 14, &ip, sizeof(ip));
	memcpy(f + 14 + 20, &udp, sizeof(udp));
	memcpy(f + 14 + 20 + 8, payload, plen);
	return (uint32_t)(14 + 20 + 8 + plen);
}

ParameterizedTestParameters(xsk, tx_reaches_the_peer_and_completes)
{
	return cr_make_param_array(int, MODES, 2);
}

ParameterizedTest(int *mode, xsk, tx_reaches_the_peer_and_completes)
{
	enum { BATCH = 100 };
	struct xsk_desc d[BATCH];
	uint64_t done[BATCH];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	bool seen[BATCH] = { false };
	uint32_t n = 0, got = 0;
	struct xsk *x;
	char buf[256];
	int b;

	topo();
	x = open_ok(*mode);
	b = udp_in_b(PEER_PORT);

	d[0].addr = 5 * FRAME;
	d[0].len = frame_build(5, "hello from the XSK");
	cr_assert_eq(xsk_tx(x, d, 1), 1);
	cr_assert(xsk_tx_needs_kick(x, 0), "a queued frame needs a kick (copy mode)");
	cr_assert_eq(xsk_kick(x), 0);
	cr_assert(readable(b, WAIT_MS), "the frame never reached B's socket");
	cr_assert_eq(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 18);
	cr_assert_eq(memcmp(buf, "hello from the XSK", 18), 0);
	cr_assert_eq(from.sin_addr.s_addr, inet_addr(IP_A));
	cr_assert_eq(ntohs(from.sin_port), PORT);
	for (int t = 0; t < WAIT_MS && n == 0; t++, usleep(1000))
		n = xsk_complete(x, done, BATCH);
	cr_assert_eq(n, 1, "completions: %u", n);
	cr_assert_eq(done[0], 5 * FRAME, "completed %lu", (unsigned long)done[0]);

	/*
	 * More than copy mode sends a sendto (32): one xsk_kick sends them all (copy mode
	 * sends within the call: no kick after it), every one back once, in order at B.
	 */
	for (uint32_t i = 0; i < BATCH; i++) {
		char p[32];

		snprintf(p, sizeof(p), "frame %03u", i);
		d[i].addr = (uint64_t)(100 + i) * FRAME;
		d[i].len = frame_build(100 + i, p);
	}
	cr_assert_eq(xsk_tx(x, d, BATCH), BATCH);
	cr_assert_eq(xsk_kick(x), 0);
	n = 0;
	cr_assert(!xsk_tx_needs_kick(x, 0), "frames left on the TX ring after a kick");
	for (int t = 0; t < WAIT_MS && n < BATCH; t++, usleep(1000))
		n += xsk_complete(x, done + n, BATCH - n);
	cr_assert_eq(n, BATCH, "completions: %u of %u", n, BATCH);
	for (uint32_t i = 0; i < BATCH; i++) {
		uint64_t k = done[i] / FRAME - 100;

		cr_assert(done[i] % FRAME == 0 && k < BATCH && !seen[k], "completion %lu",
		    (unsigned long)done[i]);
		seen[k] = true;
	}
	while (got < BATCH && readable(b, WAIT_MS)) {
		unsigned k;

		cr_assert_eq(recv(b, buf, sizeof(buf), 0), 9);
		buf[9] = '\0';
		cr_assert_eq(sscanf(buf, "frame %u", &k), 1);
		cr_assert_eq(k, got, "frame %u arrived as number %u", k, got);
		got++;
	}
	cr_assert_eq(got, BATCH, "B got %u of %u", got, BATCH);
	expect_prog(x, 0, 0, 0);
	xsk_close(x);
}

/* Frames on the RX rings of every queue, not taken yet. */
static uint32_t
rx_ready(const struct xsk *x)
{
	uint32_t n = 0;

	for (uint32_t q = 0; q < x->nq; q++)
		n += __atomic_load_n(x->q[q].rx.producer, __ATOMIC_ACQUIRE) - *x->q[q].rx.consumer;
	return n;
}

ParameterizedTestParameters(xsk, every_queue_has_its_xsk_on_the_one_umem)
{
	return cr_make_param_array(int, MODES, 2);
}

/*
 * Two queues (a veth's peer's TX queue is its RX queue): an XSK on each, each with its
 * fill ring given frames of the one UMEM; datagrams from 32 sockets of B's (spread over
 * both queues by their hash) all arrive on xsk_rx, none without an XSK. Generic XDP on
 * a veth sees every frame on queue 0 (measured): there, queue 1's XSK just waits.
 */
ParameterizedTest(int *mode, xsk, every_queue_has_its_xsk_on_the_one_umem)
{
	enum { NSOCK = 32 };
	struct xsk_desc d[NSOCK];
	bool seen[NSOCK] = { false };
	uint32_t got = 0, used[2];
	int s[NSOCK];
	struct xsk *x;
	struct xsk_stats st;

	topo_queues(2);
	x = open_nq(*mode, 2);
	cr_assert_neq(xsk_fd(x, 0), xsk_fd(x, 1));
	cr_assert_eq(xsk_fd(x, 2), -1);
	fill_all(x);
	for (uint32_t q = 0; q < 2; q++)
		cr_assert_eq(prod_free(&x->q[q].fill, RING), 0, "queue %u's fill ring not full",
		    q);
	for (int i = 0; i < NSOCK; i++) {
		char p[16];

		s[i] = udp_in_b((uint16_t)(PEER_PORT + 1 + i));
		snprintf(p, sizeof(p), "sock %02d", i);
		send_to_a(s[i], PORT, p, 8);
	}
	/* Once all are on the RX rings, one xsk_rx takes them from both. */
	for (int t = 0; t < WAIT_MS && rx_ready(x) < NSOCK; t++)
		usleep(1000);
	cr_assert_eq(rx_ready(x), NSOCK, "%u of %u datagrams on the XSKs", rx_ready(x), NSOCK);
	got = xsk_rx(x, d, NSOCK);
	cr_assert_eq(got, NSOCK, "xsk_rx took %u of %u", got, NSOCK);
	for (uint32_t i = 0; i < got; i++) {
		unsigned k;

		cr_assert_eq(d[i].len, 14 + 20 + 8 + 8);
		cr_assert_eq(sscanf((const char *)umem + d[i].addr + 42, "sock %u", &k), 1);
		cr_assert(k < NSOCK && !seen[k], "datagram %u twice", k);
		seen[k] = true;
	}
	for (uint32_t q = 0; q < 2; q++)
		used[q] = prod_free(&x->q[q].fill, RING);
	cr_log_info("%s: %u frames taken from queue 0's fill ring, %u from queue 1's",
	    mode_prefix(*mode), used[0], used[1]);
	cr_assert_eq(used[0] + used[1], NSOCK, "one frame a datagram");
	/* Native: each queue its own traffic. Generic on veth: everything says queue 0. */
	if (*mode == XSK_MODE_NATIVE)
		cr_assert(used[0] > 0 && used[1] > 0,
		    "one queue had all 32: no test of the other");
	xsk_stats_read(x, &st);
	cr_assert_eq(st.prog_redirect, NSOCK);
	cr_assert_eq(st.prog_no_xsk, 0);
	xsk_close(x);
}

static uint32_t
prog_id(const char *ifname)
{
	uint32_t id = 0;
	int ifindex = ifindex_of(ifname);

	cr_assert_gt(ifindex, 0, "%s", ifname);
	cr_assert_eq(bpf_xdp_query_id(ifindex, 0, &id), 0);
	return id;
}

static int
fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* rc, an error naming what and why, and no fd left behind. */
static void
open_fails(const struct xsk_params *p, int want, const char *what, const char *why)
{
	struct xsk *x = (struct xsk *)&x;
	char err[256];
	int fds = fds_open(), rc = xsk_open(&x, p, err, sizeof(err));

	cr_assert_eq(rc, want, "rc %d, not %d: %s", rc, want, err);
	cr_assert_null(x);
	cr_assert_not_null(strstr(err, what), "'%s' lacks '%s'", err, what);
	cr_assert_not_null(strstr(err, why), "'%s' lacks '%s'", err, why);
	cr_assert_eq(fds_open(), fds, "xsk_open left %d fds open", fds_open() - fds);
	cr_log_info("%s", err);
}

Test(xsk, open_fails_cleanly)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct xsk_params p;
	struct xsk *x;
	uint32_t id;

	topo();
	p = params(XSK_MODE_AUTO);
	p.ifname = "nosuch0";
	open_fails(&p, -ENODEV, "nosuch0", "no such interface");

	/* lo has no native XDP: the XSK was made, the attach fails, all undone. */
	p = params(XSK_MODE_NATIVE);
	p.ifname = "lo";
	open_fails(&p, -EOPNOTSUPP, "attach XDP to lo (native)", "Operation not supported");
	cr_assert_eq(prog_id("lo"), 0);

	p = params(XSK_MODE_AUTO);
	p.ring_size = 100;
	open_fails(&p, -EINVAL, "xa", "ring_size 100 is not a power of 2");
	p = params(XSK_MODE_AUTO);
	p.umem = umem + 64;
	open_fails(&p, -EINVAL, "xa", "not page aligned");

	/* Someone's program is there (attached without a link, as ip does): refused, kept. */
	obj = bpf_object__open_mem(xdp_vxlan_obj, sizeof(xdp_vxlan_obj), NULL);
	cr_assert_not_null(obj);
	cr_assert_eq(bpf_object__load(obj), 0);
	prog = bpf_object__find_program_by_name(obj, "xdp_vxlan");
	cr_assert_not_null(prog);
	cr_assert_eq(bpf_xdp_attach(ifindex_of("xa"), bpf_program__fd(prog),
	    XDP_FLAGS_DRV_MODE, NULL), 0);
	id = prog_id("xa");
	cr_assert_neq(id, 0);
	p = params(XSK_MODE_AUTO);
	open_fails(&p, -EEXIST, "attach XDP to xa", "another XDP program is attached");
	cr_assert_eq(prog_id("xa"), id);
	cr_assert_eq(bpf_xdp_detach(ifindex_of("xa"), XDP_FLAGS_DRV_MODE, NULL), 0);
	bpf_object__close(obj);

	/* Its own: attached while open, gone at close. */
	x = open_ok(XSK_MODE_AUTO);
	cr_assert_neq(prog_id("xa"), 0);
	xsk_close(x);
	cr_assert_eq(prog_id("xa"), 0, "xsk_close left the program attached");
}

Test(xsk, close_gives_the_port_back_to_the_kernel)
{
	struct xsk *x;
	int ours, b;
	char buf[64];

	topo();
	x = open_ok(XSK_MODE_AUTO);
	fill_all(x);
	ours = udp_bound(IP_A, PORT);
	b = udp_in_b(PEER_PORT);
	send_to_a(b, PORT, "xsk", 3);
	cr_assert(readable(xsk_fd(x, 0), WAIT_MS));
	xsk_close(x);
	cr_assert_eq(prog_id("xa"), 0);
	send_to_a(b, PORT, "kernel", 6);
	cr_assert(readable(ours, WAIT_MS), "after xsk_close, the kernel's socket got nothing");
	cr_assert_eq(recv(ours, buf, sizeof(buf), 0), 6);
	cr_assert_eq(memcmp(buf, "kernel", 6), 0);
}

/*
 * A forwarder killed with -9 leaves nothing attached (the link goes with its fd), and
 * the one started after it opens the same queue (xsk_open waits out the kernel's
 * deferred release of the dead one's XSK).
 */
Test(xsk, kill_9_leaves_nothing_behind)
{
	struct timespec t0, t1;
	struct xsk *x;
	int pfd[2], st;
	pid_t pid;
	char c;

	topo();
	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct xsk_params p = params(XSK_MODE_AUTO);
		char err[256];

		if (xsk_open(&x, &p, err, sizeof(err)) == 0 && write(pfd[1], "k", 1) == 1)
			pause();
		_exit(1);
	}
	close(pfd[1]);
	cr_assert_eq(read(pfd[0], &c, 1), 1, "the child could not open its XSK");
	cr_assert_neq(prog_id("xa"), 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(prog_id("xa"), 0, "the program outlived its process");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	x = open_ok(XSK_MODE_AUTO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_log_info("xsk_open after the kill: %ld ms", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	xsk_close(x);
}


/* ---- the rule cache (xdp_vxlan.h): relayed by the program with XDP_TX, or not --------- */

#define VNI		5001
#define VTEP_PORT	4800	/* the cached rule's VTEP port: a socket of B's */
#define INNER_DST	"172.16.0.7"	/* the cached destination */
#define INNER_OTHER	"172.16.0.8"	/* one without a rule */
#define GEN_SRCS	7
#define GEN_HOPS	3

static const uint8_t MAC_VM[6] = { 0x02, 0xaa, 0, 0, 0, 0x07 };	/* the rule's inner dst */
static const uint8_t MAC_OUT[6] = { 0x02, 0, 0, 0, 0, 0xa1 };	/* the rule's src_mac */
static const uint8_t MAC_GW[6] = { 0x02, 0xee, 0, 0, 0, 0x01 };	/* the inner dst sent */

static uint64_t
mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct xsk *
open_fast(int mode)
{
	struct xsk_params p = params(mode);
	struct xsk *x = NULL;
	char err[256];
	int rc;

	p.fast_rules = 16;
	p.fast_vnis = 4;
	p.fast_srcs = 64;
	rc = xsk_open(&x, &p, err, sizeof(err));
	cr_assert_eq(rc, 0, "xsk_open: %d: %s", rc, err);
	cr_assert(xsk_fast_on(x));
	cr_log_info("xsk mode %s", xsk_mode_name(x));
	return x;
}

/*
 * A VXLAN datagram's UDP payload as a host sends it through a gateway: the VXLAN header
 * (vxlan_write's), an inner Ethernet frame to the gateway's MAC with an IPv4 packet to
 * dst. Its length.
 */
static size_t
vxlan_build(uint8_t *b, uint32_t vni, const char *dst, bool learn)
{
	static const char text[] = "a datagram the gateway's XDP program relays";
	struct iphdr ip = {
		.version = 4,
		.ihl = 5,
		.tot_len = htons((uint16_t)(20 + sizeof(text))),
		.ttl = 63,
		.protocol = 253,	/* RFC 3692's: nothing reads it */
		.saddr = inet_addr("172.16.0.9"),
		.daddr = inet_addr(dst),
	};

	ip.check = htons(ip_csum((const uint8_t *)&ip, sizeof(ip)));
	vxlan_write(b, &(struct vxlan_hdr){ .vni = vni, .learn = learn });
	memcpy(b + 8, MAC_GW, 6);
	memcpy(b + 8 + 6, "\x02\x00\x00\x00\x00\x55", 6);
	b[8 + 12] = 0x08;
	b[8 + 13] = 0x00;
	memcpy(b + 8 + 14, &ip, sizeof(ip));
	memcpy(b + 8 + 14 + 20, text, sizeof(text));
	return 8 + 14 + 20 + sizeof(text);
}

static void
rule_put(struct xsk *x, const char *dst, uint32_t vgen)
{
	struct xdp_fast_key k = { .vni = VNI, .ip = inet_addr(dst) };
	struct xdp_fast_rule r = { .port = htons(VTEP_PORT), .vtep = inet_addr(IP_B),
	    .vgen = vgen };

	memcpy(r.mac, MAC_VM, 6);
	cr_assert_eq(xsk_fast_put(x, &k, &r, 1), 0);
}

/* B's next hop (its own MAC, on-link) at generation gen, for ttl_ms. */
static void
hop_put(struct xsk *x, uint32_t gen, int64_t ttl_ms)
{
	struct xdp_fast_hop h = { .gen = gen,
	    .expires = (uint64_t)((int64_t)mono_ns() + ttl_ms * 1000000) };

	memcpy(h.nh_mac, MAC_B, 6);
	memcpy(h.src_mac, MAC_OUT, 6);
	cr_assert_eq(xsk_fast_hop_put(x, inet_addr(IP_B), &h), 0);
}

static void
src_put(struct xsk *x, uint32_t gen)
{
	cr_assert_eq(xsk_fast_srcs_put(x, &(uint32_t){ inet_addr(IP_B) }, 1, gen), 0);
}

/* The slot of (VNI, dst) in the program's rules; fails when there is none. */
static struct xdp_fast_slot *
slot_of(struct xsk *x, const char *dst)
{
	struct xdp_fast_key k = { .vni = VNI, .ip = inet_addr(dst) };
	struct xdp_fast_slot *s = slot_find(&x->rules, &k);

	cr_assert_not_null(s, "no slot for %s", dst);
	return s;
}

/* B (IP_B) a source of the allow-list, one valid rule for (VNI, INNER_DST) to B. */
static void
cache_fill(struct xsk *x)
{
	src_put(x, GEN_SRCS);
	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_GEN_SRCS, GEN_SRCS), 0);
	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_GEN_HOPS, GEN_HOPS), 0);
	hop_put(x, GEN_HOPS, 10000);
	rule_put(x, INNER_DST, 0);
}

/*
 * XDP_PASS, native, on B's xb: a veth delivers what its peer's program sends with
 * XDP_TX only to an end with a program of its own. tests/e2e/xdp_pass.bpf.c's, as its
 * two instructions: nothing to find on disk.
 */
static void
xb_pass(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_pass", "GPL", insns, 2, NULL);

	cr_assert_geq(fd, 0, "load xdp_pass: %s", strerror(errno));
	enter(ns_b);
	cr_assert_eq(bpf_xdp_attach(ifindex_of("xb"), fd, XDP_FLAGS_DRV_MODE, NULL), 0,
	    "attach xdp_pass to xb: %s", strerror(errno));
	enter(ns_a);
	close(fd);
}

/*
 * The topology and the program, its cache filled (cache_fill) and xb able to take what
 * it relays (xb_pass); *b: B's peer socket, *vtep: B's VTEP socket (VTEP_PORT).
 */
static struct xsk *
relay_ready(int mode, int *b, int *vtep)
{
	struct xsk *x;

	topo();
	x = open_fast(mode);
	fill_all(x);
	xb_pass();
	cache_fill(x);
	*b = udp_in_b(PEER_PORT);
	*vtep = udp_in_b(VTEP_PORT);
	return x;
}

/* A packet socket on B's xb, for the IPv4 frames it receives. */
static int
capture_b(void)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int s;

	enter(ns_b);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	cr_assert_geq(s, 0, "packet socket: %s", strerror(errno));
	ll.sll_ifindex = ifindex_of("xb");
	cr_assert_eq(bind(s, (struct sockaddr *)&ll, sizeof(ll)), 0);
	enter(ns_a);
	return s;
}

/* The next frame xb received (those it sent come too: skipped), or -1 after ms. */
static ssize_t
capture_next(int s, uint8_t *buf, size_t len, int ms)
{
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (!readable(s, ms))
			return -1;
		n = recvfrom(s, buf, len, 0, (struct sockaddr *)&from, &fl);
		cr_assert_gt(n, 0);
		if (from.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
}

static uint64_t
fast_frames(struct xsk *x)
{
	uint64_t frames, bytes, miss;

	xsk_fast_counters(x, &frames, &bytes, &miss);
	return frames;
}

static uint64_t
fast_miss(struct xsk *x)
{
	uint64_t frames, bytes, miss;

	xsk_fast_counters(x, &frames, &bytes, &miss);
	return miss;
}

/* The datagram (len bytes of UDP payload) arrived on the XSK as it was sent, not relayed. */
static void
expect_xsk(struct xsk *x, int vtep, const uint8_t *sent, size_t len, const char *why)
{
	struct xsk_desc d[2];
	const uint8_t *f;

	cr_assert(readable(xsk_fd(x, 0), WAIT_MS), "%s: nothing on the XSK", why);
	cr_assert_eq(xsk_rx(x, d, 2), 1, "%s", why);
	cr_assert_eq(d[0].len, 14 + 20 + 8 + len, "%s: %u bytes", why, d[0].len);
	f = umem + d[0].addr;
	cr_assert_eq(memcmp(f, MAC_A, 6), 0, "%s: rewritten", why);
	cr_assert_eq(memcmp(f + 14 + 12, &(uint32_t){ inet_addr(IP_B) }, 4), 0, "%s", why);
	cr_assert_eq(memcmp(f + 14 + 20 + 8, sent, len), 0, "%s: the payload changed", why);
	cr_assert_eq(xsk_fill(x, &(uint64_t){ d[0].addr - XSK_RX_HEADROOM }, 1), 1);
	cr_assert(!readable(vtep, 0), "%s: relayed too", why);
}

/* Relayed: B's VTEP socket has it, from A's VTEP address and port, inner dst rewritten. */
static void
expect_relayed(struct xsk *x, int vtep, const uint8_t *sent, size_t len, const char *why)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	uint8_t got[256];

	cr_assert(readable(vtep, WAIT_MS), "%s: not relayed", why);
	cr_assert_eq(recvfrom(vtep, got, sizeof(got), 0, (struct sockaddr *)&from, &fl),
	    (ssize_t)len, "%s", why);
	cr_assert_eq(from.sin_addr.s_addr, inet_addr(IP_A), "%s", why);
	cr_assert_eq(ntohs(from.sin_port), PORT, "%s", why);
	cr_assert_eq(memcmp(got, sent, 8), 0, "%s: the VXLAN header changed", why);
	cr_assert_eq(memcmp(got + 8, MAC_VM, 6), 0, "%s: inner dst MAC not the rule's", why);
	cr_assert_eq(memcmp(got + 14, sent + 14, len - 14), 0, "%s: the rest changed", why);
	cr_assert(!readable(xsk_fd(x, 0), 0), "%s: on the XSK too", why);
}

ParameterizedTestParameters(xsk, relays_a_cached_rule_with_xdp_tx)
{
	return cr_make_param_array(int, MODES, 2);
}

/*
 * A datagram from a source of the allow-list to a destination with a valid rule goes
 * back out rewritten as the forwarder's relay would (ulhdr_write: no ToS, DF clear, TTL
 * 64, from this VTEP's address and port, no UDP checksum; the inner destination's MAC,
 * the next hop's and the interface's), and never reaches the XSK.
 */
ParameterizedTest(int *mode, xsk, relays_a_cached_rule_with_xdp_tx)
{
	uint8_t sent[256], f[512];
	size_t len = vxlan_build(sent, VNI, INNER_DST, false);
	uint64_t frames, bytes, miss;
	struct xsk_stats s;
	struct xsk *x;
	int b, vtep, cap;
	ssize_t n;

	x = relay_ready(*mode, &b, &vtep);
	cap = capture_b();

	send_to_a(b, PORT, sent, len);
	expect_relayed(x, vtep, sent, len, "relayed");
	n = capture_next(cap, f, sizeof(f), WAIT_MS);
	cr_assert_eq(n, (ssize_t)(14 + 20 + 8 + len), "captured %zd bytes", n);
	cr_assert_eq(memcmp(f, MAC_B, 6), 0, "outer dst MAC not the rule's next hop");
	cr_assert_eq(memcmp(f + 6, MAC_OUT, 6), 0, "outer src MAC not the rule's");
	cr_assert_eq(f[14], 0x45);
	cr_assert_eq(f[14 + 1], 0, "ToS %u", f[14 + 1]);
	cr_assert_eq(f[14 + 2] << 8 | f[14 + 3], 20 + 8 + len);
	cr_assert_eq(f[14 + 6] << 8 | f[14 + 7], 0, "frag_off %#x (DF stays clear)",
	    f[14 + 6] << 8 | f[14 + 7]);
	cr_assert_eq(f[14 + 8], 64, "TTL %u", f[14 + 8]);
	cr_assert_eq(f[14 + 9], IPPROTO_UDP);
	cr_assert_eq(ip_csum(f + 14, 20), 0, "bad IP checksum %02x%02x", f[14 + 10],
	    f[14 + 11]);
	cr_assert_eq(memcmp(f + 14 + 12, &(uint32_t){ inet_addr(IP_A) }, 4), 0);
	cr_assert_eq(memcmp(f + 14 + 16, &(uint32_t){ inet_addr(IP_B) }, 4), 0);
	cr_assert_eq(f[34] << 8 | f[35], PORT, "UDP src port %u", f[34] << 8 | f[35]);
	cr_assert_eq(f[36] << 8 | f[37], VTEP_PORT, "UDP dst port %u", f[36] << 8 | f[37]);
	cr_assert_eq(f[38] << 8 | f[39], 8 + len);
	cr_assert_eq(f[40] << 8 | f[41], 0, "UDP checksum %#x", f[40] << 8 | f[41]);
	cr_assert_eq(memcmp(f + 42, sent, 8), 0);
	cr_assert_eq(memcmp(f + 42 + 8, MAC_VM, 6), 0, "inner dst MAC not the rule's");
	cr_assert_eq(memcmp(f + 42 + 14, sent + 14, len - 14), 0);
	cr_assert_eq(capture_next(cap, f, sizeof(f), 100), -1, "a second frame at B");
	cr_assert(!readable(xsk_fd(x, 0), 100), "the XSK got something");
	xsk_fast_counters(x, &frames, &bytes, &miss);
	cr_assert_eq(frames, 1, "fast frames %lu", (unsigned long)frames);
	cr_assert_eq(bytes, len, "fast bytes %lu, not %zu", (unsigned long)bytes, len);
	cr_assert_eq(miss, 0);
	s = stats(x);
	cr_assert_eq(s.prog_fast, 1);
	expect_prog(x, 0, 0, 0);
	xsk_close(x);
}

/*
 * What the cache must not relay reaches the XSK untouched, each alone, between relays
 * that show the rest of the cache valid: a learn request (not the cache's shape: no
 * miss), a source of another generation or none, a next hop of another generation (its
 * own, or the slot's bumped), expired (once: then its grace) or absent, a rule of another
 * VNI generation, the cache switched off (the program does not look: no miss), no rule
 * for that destination. A miss is a datagram of the cache's shape that found no valid
 * rule: counted once each.
 */
Test(xsk, misses_go_to_the_xsk)
{
	uint8_t sent[256], learn[256], other[256];
	size_t len = vxlan_build(sent, VNI, INNER_DST, false);
	uint64_t relayed = 0, missed = 0;
	struct xsk *x;
	int b, vtep;

	cr_assert_eq(vxlan_build(learn, VNI, INNER_DST, true), len);
	cr_assert_eq(vxlan_build(other, VNI, INNER_OTHER, false), len);
	x = relay_ready(XSK_MODE_NATIVE, &b, &vtep);

#define RELAYED(why) do {						\
	send_to_a(b, PORT, sent, len);					\
	expect_relayed(x, vtep, sent, len, why);			\
	cr_assert_eq(fast_frames(x), ++relayed, "%s", why);		\
	cr_assert_eq(fast_miss(x), missed, "%s: a miss", why);		\
} while (0)
#define TO_XSK(buf, miss, why) do {					\
	send_to_a(b, PORT, buf, len);					\
	expect_xsk(x, vtep, buf, len, why);				\
	missed += (miss);						\
	cr_assert_eq(fast_frames(x), relayed, "%s: relayed", why);	\
	cr_assert_eq(fast_miss(x), missed, "%s: misses %lu, not %lu", why,	\
	    (unsigned long)fast_miss(x), (unsigned long)missed);	\
} while (0)

	RELAYED("the cache as filled");
	TO_XSK(learn, 0, "the learn bit");

	src_put(x, GEN_SRCS + 1);
	TO_XSK(sent, 1, "the source's entry of another generation");
	cr_assert_eq(bpf_map_delete_elem(x->fast_fd[FAST_SRCS], &(uint32_t){ inet_addr(IP_B) }), 0);
	TO_XSK(sent, 1, "the source not in the allow-list");
	src_put(x, GEN_SRCS);
	RELAYED("the source back");

	hop_put(x, GEN_HOPS + 1, 10000);
	TO_XSK(sent, 1, "the next hop of another generation");
	hop_put(x, GEN_HOPS, 10000);
	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_GEN_HOPS, GEN_HOPS + 1), 0);
	TO_XSK(sent, 1, "the next hops' generation bumped");
	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_GEN_HOPS, GEN_HOPS), 0);
	RELAYED("the next hops' generation back");

	hop_put(x, GEN_HOPS, -1);
	TO_XSK(sent, 1, "the next hop expired");
	RELAYED("the next hop within its grace");
	hop_put(x, GEN_HOPS, 10000);
	RELAYED("the next hop put again");
	cr_assert_eq(bpf_map_delete_elem(x->fast_fd[FAST_HOPS], &(uint32_t){ inet_addr(IP_B) }), 0);
	TO_XSK(sent, 1, "no next hop for the rule's VTEP");
	hop_put(x, GEN_HOPS, 10000);
	RELAYED("the next hop back");

	cr_assert_eq(xsk_fast_vni_set(x, VNI, 5), 0);
	TO_XSK(sent, 1, "the VNI's generation not the rule's");
	rule_put(x, INNER_DST, 5);
	RELAYED("the rule of the VNI's generation");
	cr_assert_eq(xsk_fast_vni_set(x, VNI, 6), 0);
	TO_XSK(sent, 1, "the VNI's generation bumped");
	cr_assert_eq(bpf_map_delete_elem(x->fast_fd[FAST_VNIS], &(uint32_t){ VNI }), 0);
	TO_XSK(sent, 1, "the VNI's entry gone (0), the rule's 5");
	rule_put(x, INNER_DST, 0);
	RELAYED("the VNI without an entry, the rule's 0");

	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_ON, 0), 0);
	TO_XSK(sent, 0, "the cache off");
	cr_assert_eq(xsk_fast_gen_set(x, XDP_FAST_ON, 1), 0);
	RELAYED("the cache on again");

	TO_XSK(other, 1, "no rule for the destination");
	RELAYED("the cached destination still");

	cr_assert_eq(xsk_fast_del(x, &(struct xdp_fast_key){ .vni = VNI,
	    .ip = inet_addr(INNER_DST) }), 0);
	TO_XSK(sent, 1, "the rule deleted");
	rule_put(x, INNER_DST, 0);
	RELAYED("the rule put again");
	slot_of(x, INNER_DST)->seq++;
	TO_XSK(sent, 1, "the rule's slot being rewritten (an odd seq)");
	slot_of(x, INNER_DST)->seq++;
	RELAYED("the rule's slot written");
#undef RELAYED
#undef TO_XSK
	cr_assert_eq(stats(x).prog_redirect, 14);
	xsk_close(x);
}

/*
 * A rule whose first bucket is full sits in its second (fastrules.h), where the program
 * finds it too, and stamps its slot's `used` when it relays by it.
 */
Test(xsk, relays_a_rule_from_its_second_bucket)
{
	uint8_t sent[256];
	struct xdp_fast_key k = { .vni = VNI };
	struct xdp_fast_rule r = { .port = htons(VTEP_PORT), .vtep = inet_addr(IP_B) };
	struct xdp_fast_bucket *b0, *b1;
	struct xdp_fast_slot *s;
	char dst[INET_ADDRSTRLEN];
	struct xsk *x;
	size_t len;
	int b, vtep;

	x = relay_ready(XSK_MODE_NATIVE, &b, &vtep);
	/* A destination whose two buckets differ (the seed is random: one in four do not). */
	for (uint32_t i = 1;; i++) {
		k.ip = htonl(0x0a090000 + i);
		b0 = bucket(&x->rules, k.vni, k.ip, 0);
		b1 = bucket(&x->rules, k.vni, k.ip, 1);
		if (b0 != b1)
			break;
	}
	inet_ntop(AF_INET, &k.ip, dst, sizeof(dst));
	len = vxlan_build(sent, VNI, dst, false);
	/* The first bucket filled with rules of other destinations whose first it is too. */
	for (uint32_t ip = 1; slot_free(b0) != NULL; ip++) {
		struct xdp_fast_key o = { .vni = VNI, .ip = htonl(0x0e000000 + ip) };

		if (bucket(&x->rules, o.vni, o.ip, 0) == b0)
			cr_assert_eq(xsk_fast_put(x, &o, &r, 1), 0);
	}
	memcpy(r.mac, MAC_VM, 6);
	cr_assert_eq(xsk_fast_put(x, &k, &r, 1), 0);
	s = slot_of(x, dst);
	cr_assert(s >= &b1->slot[0] && s < &b1->slot[XDP_FAST_WAYS], "not in its second bucket");
	s->used = 0;
	send_to_a(b, PORT, sent, len);
	expect_relayed(x, vtep, sent, len, "from the second bucket");
	cr_assert_eq(s->used, (uint32_t)(mono_ns() >> XDP_FAST_USED_SHIFT), "used %u", s->used);
	cr_assert_eq(fast_frames(x), 1);
	xsk_close(x);
}

/* The allow-list's mirror: every key in fast_srcs, and its generation. */
static uint32_t
srcs_read(struct xsk *x, uint32_t *ips, uint32_t *gens, uint32_t max)
{
	uint32_t key, next, n = 0;
	bool first = true;

	while (bpf_map_get_next_key(x->fast_fd[FAST_SRCS], first ? NULL : &key, &next) == 0) {
		cr_assert_lt(n, max, "more than %u sources", max);
		ips[n] = next;
		cr_assert_eq(bpf_map_lookup_elem(x->fast_fd[FAST_SRCS], &next, &gens[n]), 0);
		n++;
		key = next;
		first = false;
	}
	return n;
}

/*
 * xsk_fast_srcs_prune deletes while it walks the hash map: every entry of another
 * generation goes, none of its own, wherever they sit (3 and 2; then 40 and 20,
 * interleaved, in a map of 64).
 */
Test(xsk, srcs_prune_deletes_other_generations)
{
	uint32_t ips[64], gens[64], old[40], keep[20], n;
	struct xsk *x;

	topo();
	x = open_fast(XSK_MODE_NATIVE);
	for (uint32_t i = 0; i < 5; i++)
		(i < 3 ? old : keep)[i < 3 ? i : i - 3] = htonl(0x0a000001 + i);
	cr_assert_eq(xsk_fast_srcs_put(x, old, 3, 1), 0);
	cr_assert_eq(xsk_fast_srcs_put(x, keep, 2, 2), 0);
	cr_assert_eq(srcs_read(x, ips, gens, 64), 5);
	cr_assert_eq(xsk_fast_srcs_prune(x, 2), 0);
	n = srcs_read(x, ips, gens, 64);
	cr_assert_eq(n, 2, "%u sources left, not 2", n);
	for (uint32_t i = 0; i < n; i++) {
		cr_assert(ips[i] == keep[0] || ips[i] == keep[1], "%08x left",
		    (unsigned)ntohl(ips[i]));
		cr_assert_eq(gens[i], 2);
	}

	for (uint32_t i = 0; i < 60; i++) {
		uint32_t ip = htonl(0x0b000001 + i);

		if (i % 3 == 2)
			keep[i / 3] = ip;
		else
			old[i - i / 3] = ip;
	}
	cr_assert_eq(xsk_fast_srcs_put(x, old, 40, 3), 0);
	cr_assert_eq(xsk_fast_srcs_put(x, keep, 20, 4), 0);
	cr_assert_eq(srcs_read(x, ips, gens, 64), 62);
	cr_assert_eq(xsk_fast_srcs_prune(x, 4), 0);
	n = srcs_read(x, ips, gens, 64);
	cr_assert_eq(n, 20, "%u sources left, not 20", n);
	for (uint32_t i = 0; i < n; i++) {
		bool found = false;

		for (uint32_t k = 0; k < 20; k++)
			found |= ips[i] == keep[k];
		cr_assert(found, "%08x left", (unsigned)ntohl(ips[i]));
		cr_assert_eq(gens[i], 4);
	}
	cr_assert_eq(xsk_fast_srcs_prune(x, 4), 0);
	cr_assert_eq(srcs_read(x, ips, gens, 64), 20, "a second prune took some");
	xsk_close(x);
}

/*
 * A veth whose peer has no XDP program drops what its own program sends with XDP_TX,
 * and counts each in its ethtool stats: xsk_xdp_tx_errors, the signal xdpfast.c turns
 * the cache off by. With a program on the peer, the next is delivered, no error more.
 */
Test(xsk, xdp_tx_errors)
{
	uint8_t sent[256];
	size_t len = vxlan_build(sent, VNI, INNER_DST, false);
	uint64_t e0, e1 = 0;
	struct xsk *x;
	int b, vtep;

	topo();
	x = open_fast(XSK_MODE_NATIVE);
	fill_all(x);
	cache_fill(x);
	b = udp_in_b(PEER_PORT);
	vtep = udp_in_b(VTEP_PORT);
	cr_assert_gt(x->tx_err_n, 0, "xa's driver has no ethtool counter named *xdp_tx_err*");
	e0 = xsk_xdp_tx_errors(x);
	cr_assert_eq(e0, 0, "%lu XDP_TX errors before any", (unsigned long)e0);

	send_to_a(b, PORT, sent, len);
	for (int t = 0; t < WAIT_MS && (e1 = xsk_xdp_tx_errors(x)) == 0; t++)
		usleep(1000);
	cr_assert_eq(fast_frames(x), 1, "the program did not relay it");
	cr_assert_eq(e1, 1, "XDP_TX errors %lu, not 1", (unsigned long)e1);
	cr_assert(!readable(vtep, 100), "delivered without a program on the peer");
	cr_assert(!readable(xsk_fd(x, 0), 0));

	xb_pass();
	send_to_a(b, PORT, sent, len);
	expect_relayed(x, vtep, sent, len, "a program on the peer");
	cr_assert_eq(fast_frames(x), 2);
	cr_assert_eq(xsk_xdp_tx_errors(x), 1, "XDP_TX errors %lu with a program on the peer",
	    (unsigned long)xsk_xdp_tx_errors(x));
	xsk_close(x);
}

/* The interface's channels (ethtool -L), in the current namespace. */
static void
channels_set(const char *ifname, uint32_t rx, uint32_t tx)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	cr_assert_eq(ioctl(s, SIOCETHTOOL, &ifr), 0, "%s: %s", ifname, strerror(errno));
	ch.cmd = ETHTOOL_SCHANNELS;
	ch.rx_count = rx;
	ch.tx_count = tx;
	cr_assert_eq(ioctl(s, SIOCETHTOOL, &ifr), 0, "%s: channels rx %u tx %u: %s", ifname,
	    rx, tx, strerror(errno));
	close(s);
}

/*
 * The driver's stats change in number with its channels (veth: a few a queue). The
 * kernel then fills none into a buffer of the old size (6.18 here; older kernels fill
 * it past its end): after ethtool -L, xsk_xdp_tx_errors finds them again and counts on.
 */
Test(xsk, xdp_tx_errors_after_a_channel_change)
{
	uint8_t sent[256];
	size_t len = vxlan_build(sent, VNI, INNER_DST, false);
	uint64_t e = 0;
	struct xsk *x;
	int b, vtep;

	topo_queues(2);
	/* veth: no native XDP on xa with fewer receive queues than xb sends on. */
	enter(ns_b);
	channels_set("xb", 2, 1);
	enter(ns_a);
	channels_set("xa", 1, 1);
	x = open_fast(XSK_MODE_NATIVE);
	fill_all(x);
	cache_fill(x);
	b = udp_in_b(PEER_PORT);
	vtep = udp_in_b(VTEP_PORT);
	cr_assert_gt(x->tx_err_n, 0);
	for (uint32_t i = 1; i <= 2; i++) {
		channels_set("xa", 2, i);
		/* A read between, as each tick of the forwarder's makes: found again. */
		cr_assert_eq(xsk_xdp_tx_errors(x), i - 1);
		send_to_a(b, PORT, sent, len);
		for (int t = 0; t < WAIT_MS && (e = xsk_xdp_tx_errors(x)) == i - 1; t++)
			usleep(1000);
		cr_assert_eq(fast_frames(x), i, "the program did not relay it");
		cr_assert_eq(e, i, "XDP_TX errors %lu after ethtool -L, not %u", (unsigned long)e,
		    i);
		cr_assert(!readable(vtep, 0));
	}
	xsk_close(x);
}
