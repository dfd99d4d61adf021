/*
 * forwarder_test: the forwarder's data path (procs/forwarder: dp, pkt, vports, tap) on a
 * real io_uring loop, with real UDP sockets on loopback for the other VTEPs, real shm
 * tables written here as the rule-store and the learner write them, syncd's learn ring,
 * and, for the vswitch's VM side, real TAP devices that the test reaches through packet
 * sockets bound to them (a TAP has a single queue, which the forwarder holds).
 *
 * Every frame the test gives the forwarder must land in exactly one outcome counter (a
 * tx_* path, arp_replies or one drop_* reason): each test states the counters it
 * expects, and check() holds every counter of the forwarder against them (bytes too),
 * after the forwarder went idle (every frame handled, every send completed) and every
 * socket and TAP the test did not take a frame from is verified silent.
 *
 * gateway: a frame with a rule goes to the rule's VTEP with the rule's MAC and no learn
 * bit, and with the bit also as a learn request (vni, ip, sender) on syncd's ring; no
 * rule, a rule to itself, no table, a full ring; external rules; ARP answered back to
 * the asker; each malformed header and inner frame under its drop reason.
 * vswitch, VXLAN side: not here and from a gateway: dropped; from a host: on to the
 * gateway its hash picks among those up, without the learn bit; no gateway (no table
 * yet): dropped as drop_no_gateway.
 * vswitch, TAP side (in a network namespace of the test's own, so that nothing else
 * talks on the TAPs and they go when it ends; skipped where it may not make one): ARP
 * answered for a local VM, a rule, the router; spoofing, groups and non-IPv4 dropped;
 * VM to VM on the host; rule -> direct; miss -> a gateway, with the learn bit once per
 * learn_interval; VXLAN delivered to the VM with its MAC; a port removed has its TAP
 * destroyed, and made again; the largest frame a buffer holds goes whole, a larger one
 * is never sent on cut short.
 *
 * No timing is asserted: each wait is bounded by HANG_NS, so a test that gets nowhere
 * fails instead of hanging. Addresses 127.0.47.0/24, one port for every VTEP (taken
 * ephemeral on the first socket), segments "fwt<pid>".
 */

#include "procs/forwarder/dp.c"
#include "procs/forwarder/learnlim.c"
#include "procs/forwarder/udpio.c"
#include "procs/forwarder/xdpio.c"
#include "procs/forwarder/xdpfast.c"
#include "procs/forwarder/fastrules.c"
#include "procs/forwarder/xsk.c"
#include "procs/forwarder/neigh.c"
#include "procs/forwarder/neigh_msg.c"
#include "procs/forwarder/vports.c"
#include "procs/forwarder/pkt.c"
#include "procs/forwarder/tx.c"
#include "procs/forwarder/tap.c"

#include "common/addr.h"
#include "common/clock.h"
#include "shm/events.h"
#include "shm/ports.h"
#include "tests/unit/bytes.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(5000 * MS)	/* longer than any wait a passing test makes */
#define GEN		0x0f0f0001u
#define IP(x)		(0x0a000000u | (x))	/* 10.0.0.x */
#define FRAME_MAX	4096

#include "tests/unit/looptest.h"
#include "tests/unit/ip4.h"
#include "tests/unit/tableclock.h"

/* The forwarder, and the VTEPs the test plays (all on port P). */
#define FWD_IP		"127.0.47.1"
enum { VA, VB, VEXT, VG1, VG2, NV };
static const char *vtep_ip[NV] = { "127.0.47.2", "127.0.47.3", "127.0.47.4", "127.0.47.5",
    "127.0.47.6" };

static const uint8_t ROUTER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t ANY_MAC[6] = { 0x02, 0xee, 0xee, 0xee, 0xee, 0x01 };
static const uint8_t ASKER_MAC[6] = { 0x02, 0x55, 0x00, 0x00, 0x00, 0x05 };
static const uint8_t R2_MAC[6] = { 0x0a, 0x00, 0x00, 0x00, 0x00, 0x02 };	/* 100/10.0.0.2 */
static const uint8_t R7_MAC[6] = { 0x0a, 0x00, 0x00, 0x00, 0x00, 0x07 };	/* external */
static const uint8_t R9_MAC[6] = { 0x0a, 0x00, 0x00, 0x00, 0x00, 0x09 };	/* to self */
static const uint8_t S2_MAC[6] = { 0x0b, 0x00, 0x00, 0x00, 0x02, 0x00 };	/* 200/10.0.0.2 */

static char node[SEG_PART_MAX + 1];
static char seg_table_gw[SEG_NAME_MAX], seg_table_host[SEG_NAME_MAX];
static char seg_ports[SEG_NAME_MAX], seg_learn[SEG_NAME_MAX];
static char seg_vteps_gw[SEG_NAME_MAX], seg_vteps_host[SEG_NAME_MAX];

static void
unlink_all(void)
{
	seg_unlink_name(seg_table_gw);
	seg_unlink_name(seg_table_host);
	seg_unlink_name(seg_ports);
	seg_unlink_name(seg_learn);
	seg_unlink_name(seg_vteps_gw);
	seg_unlink_name(seg_vteps_host);
}

static void
setup(void)
{
	snprintf(node, sizeof(node), "fwt%d", (int)getpid());
	seg_name(seg_table_gw, sizeof(seg_table_gw), node, "rule-store", "table");
	seg_name(seg_table_host, sizeof(seg_table_host), node, "learner", "table");
	seg_name(seg_ports, sizeof(seg_ports), node, "learner", "ports");
	seg_name(seg_learn, sizeof(seg_learn), node, "forwarder", EV_LEARN_REQ_RING);
	seg_name(seg_vteps_gw, sizeof(seg_vteps_gw), node, "rule-store", "vteps");
	seg_name(seg_vteps_host, sizeof(seg_vteps_host), node, "learner", "vteps");
	/* A test that crashed skips .fini: its pid, reused, must not find its segments. */
	unlink_all();
}

/* No Criterion .timeout (see conn_test.c): RUN_UNTIL bounds every wait. */
TestSuite(forwarder, .init = setup, .fini = unlink_all);

/* --- addresses (the loop: looptest.h) ------------------------------------------- */

/* --- the forwarder and what it must have counted --------------------------------- */

static struct dp *D;
static struct forwarder_counters C;	/* the forwarder's */
static struct forwarder_counters E;	/* what the test expects */
static uint64_t injected;		/* frames given to the forwarder */
static uint16_t P;			/* every VTEP's port */

/* Frames handled: each frame received ends in exactly one of these. */
static uint64_t
outcomes(const struct forwarder_counters *c)
{
	return c->tx_direct + c->tx_gateway + c->tx_local + c->tx_onward + c->tx_delivered +
	    c->tx_relayed + c->arp_replies + c->drop_malformed + c->drop_truncated +
	    c->drop_bad_frame + c->drop_unsupported + c->drop_group + c->drop_spoofed +
	    c->drop_no_rule + c->drop_not_local + c->drop_loop + c->drop_no_gateway +
	    c->drop_no_table + c->drop_arp + c->drop_unknown_vtep + c->drop_no_vteps;
}

/* Buffers in a send or TAP write: all of them but the free and the armed receives. */
static uint32_t
sends_in_flight(void)
{
	uint32_t reads = 0;

	if (D->vp)
		for (uint32_t i = 0; i < vports_max(D->vp); i++)
			reads += vports_at(D->vp, i)->reads;
	/* Pool buffers out (ring ones never are in the pool), less receives, plus ring ones
	 * the kernel filled. */
	return D->pool.n - D->u->nring - D->pool.nfree - D->u->armed - reads + D->u->ring_held;
}

/* Every frame given so far handled, every send it made completed (so delivered). */
static void
idle(void)
{
	RUN_UNTIL(outcomes(&C) >= injected && D->nbatch == 0 && sends_in_flight() == 0);
}

static uint32_t bufs_wanted;	/* 0: 64 buffers */

static struct dp_params
dp_params(enum dp_mode mode)
{
	struct dp_params p = { .mode = mode, .listen = sin_of(FWD_IP, P), .vxlan_port = P,
	    .learn_interval_ns = 10000 * MS, .learn_slots = LEARNLIM_SLOTS_MIN,
	    .bufs = bufs_wanted ? bufs_wanted : 64,
	    .udp_recvs = 8, .tap_recvs = 2 };

	memcpy(p.router_mac, ROUTER_MAC, 6);
	return p;
}

static void
dp_start(enum dp_mode mode)
{
	struct dp_params p = dp_params(mode);
	char err[256];

	memset(&C, 0, sizeof(C));
	memset(&E, 0, sizeof(E));
	injected = 0;
	D = dp_new(L, &p, &C, err, sizeof(err));
	cr_assert_not_null(D, "%s", err);
}

/* --- the VTEPs the test plays: plain UDP sockets ---------------------------------- */

static int V[NV] = { -1, -1, -1, -1, -1 };
static struct sockaddr_in fwd;

static void
vteps_open(void)
{
	for (int i = 0; i < NV; i++) {
		struct sockaddr_in a = sin_of(vtep_ip[i], P);
		socklen_t len = sizeof(a);

		V[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(V[i], 0);
		cr_assert_eq(bind(V[i], (struct sockaddr *)&a, sizeof(a)), 0, "bind %s:%u: %s",
		    vtep_ip[i], P, strerror(errno));
		if (i == 0) {	/* the port every VTEP uses */
			cr_assert_eq(getsockname(V[i], (struct sockaddr *)&a, &len), 0);
			P = ntohs(a.sin_port);
		}
	}
	fwd = sin_of(FWD_IP, P);
}

static void
vteps_close(void)
{
	for (int i = 0; i < NV; i++) {
		if (V[i] >= 0)
			close(V[i]);
		V[i] = -1;
	}
}

/* A datagram from VTEP k to the forwarder. */
static void
send_raw(int k, const void *data, size_t len)
{
	cr_assert_eq(sendto(V[k], data, len, 0, (struct sockaddr *)&fwd, sizeof(fwd)),
	    (ssize_t)len, "send: %s", strerror(errno));
	injected++;
	E.rx_vxlan++;
	E.rx_bytes += len;
}

static uint8_t dgram[FRAME_MAX + VXLAN_HLEN];

/* The frame f in VXLAN (vni, learn) from VTEP k; returns the datagram's length. */
static size_t
send_vx(int k, uint32_t vni, bool learn, const uint8_t *f, size_t flen)
{
	vxlan_write(dgram, &(struct vxlan_hdr){ .vni = vni, .learn = learn });
	memcpy(dgram + VXLAN_HLEN, f, flen);
	send_raw(k, dgram, flen + VXLAN_HLEN);
	if (learn)
		E.rx_learn_bit++;
	return flen + VXLAN_HLEN;
}

static ssize_t
try_recv(int k, uint8_t *buf, size_t max)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(V[k], buf, max, MSG_TRUNC, (struct sockaddr *)&from, &fl);

	if (n < 0) {
		cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
		return -1;
	}
	cr_assert(from.sin_addr.s_addr == fwd.sin_addr.s_addr && from.sin_port == fwd.sin_port,
	    "VTEP %s: a datagram from %s:%u, not from the forwarder", vtep_ip[k],
	    inet_ntoa(from.sin_addr), ntohs(from.sin_port));
	cr_assert_leq((size_t)n, max, "VTEP %s: a datagram of %zd bytes", vtep_ip[k], n);
	E.tx_bytes += (uint64_t)n;
	return n;
}

/* The next datagram the forwarder sent to VTEP k (waiting for it). */
static size_t
take(int k, uint8_t *buf)
{
	ssize_t n;

	RUN_UNTIL((n = try_recv(k, buf, FRAME_MAX + VXLAN_HLEN)) >= 0);
	return (size_t)n;
}

/* The next datagram the forwarder sent to any of the VTEPs ks; which one in *which. */
static size_t
take_any(const int *ks, int nk, uint8_t *buf, int *which)
{
	ssize_t n = -1;

	RUN_UNTIL(({
		for (int i = 0; i < nk && n < 0; i++)
			if ((n = try_recv(ks[i], buf, FRAME_MAX + VXLAN_HLEN)) >= 0)
				*which = ks[i];
		n >= 0;
	}));
	return (size_t)n;
}

/* A VXLAN datagram: header (vni, learn) then exactly the frame want. */
static void
assert_vx(const uint8_t *got, size_t len, uint32_t vni, bool learn, const uint8_t *want,
    size_t wlen)
{
	uint8_t hdr[VXLAN_HLEN];

	vxlan_write(hdr, &(struct vxlan_hdr){ .vni = vni, .learn = learn });
	cr_assert_eq(len, wlen + VXLAN_HLEN, "datagram of %zu bytes, want %zu", len,
	    wlen + VXLAN_HLEN);
	cr_assert_arr_eq(got, hdr, VXLAN_HLEN, "VXLAN header %02x %02x %02x %02x %02x %02x "
	    "%02x %02x, want vni %u learn %d", got[0], got[1], got[2], got[3], got[4], got[5],
	    got[6], got[7], vni, learn);
	for (size_t i = 0; i < wlen; i++)
		cr_assert_eq(got[VXLAN_HLEN + i], want[i], "inner frame byte %zu: %02x, want %02x",
		    i, got[VXLAN_HLEN + i], want[i]);
}

/* --- frames ------------------------------------------------------------------- */

/* An Ethernet + IPv4 (UDP) frame with payload bytes of its own; returns its length. */
static size_t
ipv4_frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint32_t sip,
    uint32_t dip, size_t payload)
{
	static uint16_t id;
	uint8_t *ip = f + FRAME_ETH_HLEN;
	uint32_t sum = 0;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, FRAME_P_IPV4);
	memset(ip, 0, FRAME_IPV4_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(FRAME_IPV4_HLEN + payload));
	put16(ip + 4, ++id);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, sip);
	put32(ip + 16, dip);
	for (int i = 0; i < FRAME_IPV4_HLEN; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
	for (size_t i = 0; i < payload; i++)
		ip[FRAME_IPV4_HLEN + i] = (uint8_t)(i * 7 + id);
	return FRAME_MIN + payload;
}

/* An ARP request "who has tip, tell sip (smac)", padded to len (>= 42). */
static size_t
arp_request(uint8_t *f, const uint8_t smac[6], uint32_t sip, uint32_t tip, size_t len)
{
	uint8_t *a = f + FRAME_ETH_HLEN;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, FRAME_P_ARP);
	put16(a, 1);
	put16(a + 2, FRAME_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, smac, 6);
	put32(a + 14, sip);
	put32(a + 24, tip);
	for (size_t i = FRAME_ETH_HLEN + FRAME_ARP_LEN; i < len; i++)
		f[i] = (uint8_t)(0xa0 + i);	/* padding, which the reply keeps */
	return len;
}

/* The reply to the request req (len bytes): "tip is at mac", built here independently. */
static void
arp_reply_of(uint8_t *r, const uint8_t *req, size_t len, const uint8_t mac[6])
{
	const uint8_t *q = req + FRAME_ETH_HLEN;
	uint8_t *a = r + FRAME_ETH_HLEN;

	memcpy(r, req, len);
	memcpy(r, q + 8, 6);		/* to the asker */
	memcpy(r + 6, mac, 6);
	put16(a + 6, 2);
	memcpy(a + 8, mac, 6);		/* sender: the target IP at mac */
	memcpy(a + 14, q + 24, 4);
	memcpy(a + 18, q + 8, 6);	/* target: the asker */
	memcpy(a + 24, q + 14, 4);
}

/* --- the tables -------------------------------------------------------------------- */

static struct table *W, *R;	/* written here (rule-store, learner), read by dp */

static void
table_open(uint32_t mode)
{
	struct table_params p;
	char err[512];

	table_params_default(&p, mode);
	p.capacity = 1024;
	p.max_vnis = 16;
	p.version_window = 16;
	p.max_readers = 4;
	cr_assert_eq(table_create(&W, node, mode == TABLE_GATEWAY ? "rule-store" : "learner",
	    &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_attach(&R, mode == TABLE_GATEWAY ? seg_table_gw : seg_table_host,
	    err, sizeof(err)), 0, "%s", err);
}

static void
rule(uint32_t vni, uint32_t ip, const char *vtep, const uint8_t mac[6], uint8_t flags)
{
	struct table_rule r = { .vni = vni, .ip = ip, .vtep = ip4(vtep), .flags = flags,
	    .version = 1 };

	memcpy(r.mac, mac, 6);
	cr_assert_eq(table_set(W, &r), TABLE_APPLIED);
}

static void
advance(uint32_t vni)
{
	cr_assert_eq(table_vni_advance(W, vni, GEN, 1), TABLE_APPLIED);
}

/* The table's gateways as the learner publishes them; up: a bit per gateway. */
static void
peers(int n, unsigned up)
{
	struct table_peer p[2];

	for (int i = 0; i < n; i++)
		p[i] = (struct table_peer){ .addr = ip4(vtep_ip[VG1 + i]), .port = P,
		    .up = (up >> i) & 1 };
	table_set_peers(W, p, (uint32_t)n);
}

/* --- syncd's learn ring ------------------------------------------------------------ */

static struct ring LP, LC;	/* producer (the forwarder's), consumer (the test, as syncd) */
static bool ring_open_;

static void
learn_ring_open(uint32_t cap)
{
	cr_assert_eq(learn_req_ring_create(&LP, node, "forwarder", EV_LEARN_REQ_RING, cap, 0),
	    0, "%s", LP.seg.err);
	cr_assert_eq(learn_req_ring_attach(&LC, seg_learn), 0, "%s", LC.seg.err);
	ring_open_ = true;
}

/* The learn requests waiting on the ring, at most max. */
static uint32_t
learn_pop(struct ev_learn_req *out, uint32_t max)
{
	return learn_req_ring_pop(&LC, out, max);
}

static void
assert_learn(const struct ev_learn_req *r, uint32_t vni, uint32_t ip, const char *src)
{
	cr_assert(r->vni == vni && r->ip == ip && r->src_vtep == ip4(src),
	    "learn request (%u, %08x, from %08x), want (%u, %08x, from %s)", r->vni, r->ip,
	    r->src_vtep, vni, ip, src);
}

/* --- TAPs: the VMs' side, through packet sockets ------------------------------------ */

#define NVM	3
struct vm {
	struct port port;
	int ps;			/* AF_PACKET socket bound to the TAP */
	int ifindex;
};
static struct vm VM[NVM];
static struct ports *PT;
static struct vports *VP;
static int nvms;

static int
ifindex_of(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	cr_assert_geq(s, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFINDEX, &ifr) < 0 ? 0 : ifr.ifr_ifindex;
	close(s);
	return r;
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

/*
 * A network namespace of this test's own (Criterion runs each test in its process): the
 * TAPs are the test's alone, no kernel traffic reaches them (no IPv6, no addresses, no
 * forwarding), and they vanish with the process whatever happens. false: not allowed.
 */
static bool
netns_private(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s;

	if (unshare(CLONE_NEWNET) < 0)
		return false;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(s);
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv4/conf/all/forwarding", "0");
	write_file("/proc/sys/net/ipv4/conf/default/forwarding", "0");
	return true;
}

static void
vm_add(int i, uint32_t vni, uint32_t ip, uint8_t mac_last)
{
	struct vm *v = &VM[i];

	memset(v, 0, sizeof(*v));
	v->ps = -1;
	v->port = (struct port){ .vni = vni, .ip = ip,
	    .mac = { 0x02, 0x0f, 0x00, 0x00, (uint8_t)vni, mac_last } };
	/* The namespace is the test's own: the names need not be unique. */
	snprintf(v->port.tap, sizeof(v->port.tap), "fwtvm%d", i);
	cr_assert_eq(ports_set(PT, &v->port), 0);
}

static void
vm_socket(struct vm *v)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	v->ifindex = ifindex_of(v->port.tap);
	cr_assert_gt(v->ifindex, 0, "TAP %s is not there", v->port.tap);
	sll.sll_ifindex = v->ifindex;
	/* protocol 0: receives nothing until bound to the TAP. */
	v->ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(v->ps, 0, "packet socket: %s", strerror(errno));
	cr_assert_eq(bind(v->ps, (struct sockaddr *)&sll, sizeof(sll)), 0, "bind %s: %s",
	    v->port.tap, strerror(errno));
}

/* The VM sends frame f (out of its TAP, to the forwarder). */
static void
vm_send(int i, const uint8_t *f, size_t len)
{
	cr_assert_eq(send(VM[i].ps, f, len, 0), (ssize_t)len, "send on %s: %s", VM[i].port.tap,
	    strerror(errno));
	injected++;
	E.rx_tap++;
	E.rx_bytes += len;
}

static ssize_t
vm_try_recv(int i, uint8_t *buf, size_t max)
{
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	for (;;) {
		n = recvfrom(VM[i].ps, buf, max, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv on %s: %s",
			    VM[i].port.tap, strerror(errno));
			return -1;
		}
		if (from.sll_pkttype != PACKET_OUTGOING)	/* what the VM sent */
			break;
	}
	cr_assert_leq((size_t)n, max);
	E.tx_bytes += (uint64_t)n;
	return n;
}

/* The next frame the forwarder wrote to VM i's TAP (waiting for it). */
static size_t
vm_take(int i, uint8_t *buf)
{
	ssize_t n;

	RUN_UNTIL((n = vm_try_recv(i, buf, FRAME_MAX)) >= 0);
	return (size_t)n;
}

static void
assert_frame(const uint8_t *got, size_t len, const uint8_t *want, size_t wlen)
{
	cr_assert_eq(len, wlen, "frame of %zu bytes, want %zu", len, wlen);
	for (size_t i = 0; i < wlen; i++)
		cr_assert_eq(got[i], want[i], "frame byte %zu: %02x, want %02x", i, got[i],
		    want[i]);
}

/* --- the checks -------------------------------------------------------------------- */

/*
 * The forwarder is idle, nothing the test did not take was sent to a VTEP or a TAP, and
 * every counter is what the test expects. Frames: each one received is in exactly one
 * outcome counter.
 */
static void
check(void)
{
	uint8_t buf[FRAME_MAX + VXLAN_HLEN];

	idle();
	run_for(2);
	E.tx_gso = C.tx_gso;	/* how datagrams group into runs depends on timing */
	for (int k = 0; k < NV; k++)
		cr_assert_lt(try_recv(k, buf, sizeof(buf)), 0, "VTEP %s got a datagram the test "
		    "did not expect (%02x %02x ...)", vtep_ip[k], buf[0], buf[1]);
	for (int i = 0; i < nvms; i++)
		if (VM[i].ps >= 0)
			cr_assert_lt(vm_try_recv(i, buf, sizeof(buf)), 0, "TAP %s got a frame "
			    "the test did not expect", VM[i].port.tap);
#define CHECK_(n, k, d)							\
	if (STATS_##k == STATS_COUNTER)					\
		cr_expect_eq(C.n, E.n, "counter %s is %llu, want %llu", #n,	\
		    (unsigned long long)C.n, (unsigned long long)E.n);
	FORWARDER_COUNTERS(CHECK_)
#undef CHECK_
	cr_assert_eq(C.rx_vxlan + C.rx_tap, injected);
	cr_assert_eq(outcomes(&C), C.rx_vxlan + C.rx_tap, "a frame in no counter or in two");
	if (ring_open_)
		cr_assert_eq(ring_count(&LC), 0, "learn requests the test did not expect");
}

/* --- set-up and tear-down ---------------------------------------------------------- */

/*
 * The node's VTEP list as the rule-store or learner writes it: the hosts the test plays
 * (VA, VB, and on a gateway the external host VEXT); loaded, and handed to the forwarder.
 */
static struct vtepset *VS;

static void
vtep_list_open(enum dp_mode mode, bool loaded)
{
	char err[256];

	cr_assert_eq(vtepset_create(&VS, node, mode == DP_GATEWAY ? "rule-store" : "learner",
	    16, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(vtepset_add(VS, ip4(vtep_ip[VA])), 0);
	cr_assert_eq(vtepset_add(VS, ip4(vtep_ip[VB])), 0);
	if (mode == DP_GATEWAY)
		cr_assert_eq(vtepset_add(VS, ip4(vtep_ip[VEXT])), 0);
	if (loaded)
		vtepset_set_loaded(VS);
	dp_set_vteps(D, VS);
}

/* A gateway with its table (rules below) and a learn ring of cap slots. */
static void
gw_start(uint32_t cap, bool attach_table)
{
	new_loop();
	vteps_open();
	dp_start(DP_GATEWAY);
	table_open(TABLE_GATEWAY);
	rule(100, IP(2), vtep_ip[VB], R2_MAC, 0);
	rule(100, IP(7), vtep_ip[VEXT], R7_MAC, TABLE_F_EXTERNAL);
	rule(100, IP(9), FWD_IP, R9_MAC, 0);		/* a rule to the gateway itself */
	rule(200, IP(2), vtep_ip[VA], S2_MAC, 0);	/* the same IP in another VPC */
	advance(100);
	advance(200);
	learn_ring_open(cap);
	if (attach_table)
		dp_set_table(D, R);
	dp_set_learn_ring(D, &LP);
	vtep_list_open(DP_GATEWAY, true);
}

/* A host: its rule cache (rules below) with two gateways up, no VM. */
static void
vs_start(bool attach_table)
{
	new_loop();
	vteps_open();
	dp_start(DP_VSWITCH);
	table_open(TABLE_HOST);
	rule(100, IP(2), vtep_ip[VB], R2_MAC, 0);
	rule(100, IP(8), FWD_IP, R9_MAC, 0);		/* stale: to this host, VM not here */
	rule(200, IP(2), vtep_ip[VA], S2_MAC, 0);
	advance(100);
	advance(200);
	peers(2, 3);
	if (attach_table)
		dp_set_table(D, R);
	vtep_list_open(DP_VSWITCH, true);
}

/* Stop as main.c does, then free everything (the ASan build checks the frees). */
static void
stop_all(void)
{
	dp_stop(D);
	loop_settle(L, 20 * MS, 1000 * MS);
	vports_free(VP);
	VP = NULL;
	dp_free(D);
	D = NULL;
	loop_free(L);
	L = NULL;
	vteps_close();
	if (ring_open_) {
		ring_close(&LC);
		ring_close(&LP);
		ring_open_ = false;
	}
	for (int i = 0; i < nvms; i++) {
		char err[256];
		int fd;

		if (VM[i].ps >= 0)
			close(VM[i].ps);
		/* The forwarder keeps the TAPs (a restart re-attaches): remove them. */
		fd = tap_open(VM[i].port.tap, VM[i].port.mac, 1500, NULL, err, sizeof(err));
		cr_assert_geq(fd, 0, "%s", err);
		tap_close(fd, true);
		cr_assert_eq(ifindex_of(VM[i].port.tap), 0, "TAP %s still there", VM[i].port.tap);
	}
	nvms = 0;
	ports_close(PT);
	PT = NULL;
	table_close(R);
	table_close(W);
	R = W = NULL;
	vtepset_close(VS);
	VS = NULL;
}

/* --- gateway ----------------------------------------------------------------------- */

Test(forwarder, gateway_relays_to_the_rules_vtep_with_its_mac_and_the_learn_bit_as_a_request)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	struct ev_learn_req lr[4];
	size_t n, len;

	gw_start(16, true);

	/* Without the learn bit: relayed, no request. */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 100);
	send_vx(VA, 100, false, f, n);
	len = take(VB, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	assert_vx(got, len, 100, false, want, n);
	E.tx_relayed++;
	check();

	/* With it: relayed with the bit cleared, and syncd is asked for the sender. */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 1400);
	send_vx(VA, 100, true, f, n);
	len = take(VB, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	assert_vx(got, len, 100, false, want, n);
	E.tx_relayed++;
	E.learn_req++;
	idle();
	cr_assert_eq(learn_pop(lr, 4), 1);
	assert_learn(&lr[0], 100, IP(2), vtep_ip[VA]);

	/* The same IP in another VPC has its own rule (another VTEP, another MAC). */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(1), IP(2), 0);
	send_vx(VB, 200, true, f, n);
	len = take(VA, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), S2_MAC, 6);
	assert_vx(got, len, 200, false, want, n);
	E.tx_relayed++;
	E.learn_req++;
	idle();
	cr_assert_eq(learn_pop(lr, 4), 1);
	assert_learn(&lr[0], 200, IP(2), vtep_ip[VB]);
	check();
	cr_assert_eq(C.table_attached, 1);
	stop_all();
}

Test(forwarder, gateway_drops_without_a_rule_and_asks_nothing)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	gw_start(16, true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(50), 64);
	send_vx(VA, 100, true, f, n);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 64);
	send_vx(VA, 300, true, f, n);		/* 10.0.0.2 has rules, not in VPC 300 */
	send_vx(VA, 100, false, f, n - 1);	/* shorter than its IPv4 total length */
	E.drop_no_rule += 2;
	E.drop_bad_frame++;
	check();
	stop_all();
}

Test(forwarder, gateway_drops_a_frame_whose_rule_points_at_itself)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	gw_start(16, true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(9), 64);
	send_vx(VA, 100, true, f, n);
	send_vx(VB, 100, false, f, n);
	E.drop_loop += 2;
	check();
	stop_all();
}

/*
 * A burst to one VTEP is handled as one batch and leaves as UDP GSO runs: each datagram
 * still arrives whole and on its own, in order, whatever the grouping (sizes vary, so
 * runs end where the size changes).
 */
Test(forwarder, gateway_relays_a_burst_datagram_by_datagram_in_order)
{
	static uint8_t f[40][FRAME_MAX];
	uint8_t want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	const int burst = 40;
	size_t n[40], len;

	gw_start(16, true);
	for (int i = 0; i < burst; i++) {
		n[i] = ipv4_frame(f[i], ANY_MAC, ASKER_MAC, IP(5), IP(2), i < 30 ? 100 : 300);
		f[i][n[i] - 1] = (uint8_t)i;	/* which one */
		send_vx(VA, 100, false, f[i], n[i]);
	}
	for (int i = 0; i < burst; i++) {
		len = take(VB, got);
		memcpy(want, f[i], n[i]);
		memcpy(frame_dst_mac(want), R2_MAC, 6);
		assert_vx(got, len, 100, false, want, n[i]);
		E.tx_relayed++;
	}
	/* The burst waited in the socket while the test sent it: runs went as GSO. */
	cr_assert_geq(C.tx_gso, 1);
	check();
	stop_all();
}

Test(forwarder, gateway_relays_to_an_external_host)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	struct ev_learn_req lr[4];
	size_t n, len;

	gw_start(16, true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(7), 200);
	send_vx(VA, 100, true, f, n);
	len = take(VEXT, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R7_MAC, 6);
	assert_vx(got, len, 100, false, want, n);	/* never the learn bit to it */
	E.tx_relayed++;
	/* The request goes to syncd, which does not LEARN external rules (learn_external). */
	E.learn_req++;
	idle();
	cr_assert_eq(learn_pop(lr, 4), 1);
	assert_learn(&lr[0], 100, IP(7), vtep_ip[VA]);

	/* And back: the external host's frames to a VM are relayed as any other. */
	n = ipv4_frame(f, ANY_MAC, R7_MAC, IP(7), IP(2), 200);
	send_vx(VEXT, 100, false, f, n);
	len = take(VB, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	assert_vx(got, len, 100, false, want, n);
	E.tx_relayed++;
	check();
	stop_all();
}

Test(forwarder, gateway_answers_arp_back_to_the_asker_with_the_rules_mac)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;

	gw_start(16, true);

	/* As an external host's kernel asks: 42 bytes, from its VTEP, any learn bit. */
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	send_vx(VEXT, 100, true, f, n);
	len = take(VEXT, got);
	arp_reply_of(want, f, n, R2_MAC);
	assert_vx(got, len, 100, false, want, n);
	E.arp_replies++;

	/* Padded to 60 bytes, in the other VPC: the reply keeps the length and padding. */
	n = arp_request(f, ASKER_MAC, IP(1), IP(2), 60);
	send_vx(VB, 200, false, f, n);
	len = take(VB, got);
	arp_reply_of(want, f, n, S2_MAC);
	assert_vx(got, len, 200, false, want, n);
	E.arp_replies++;

	/* An address without a rule: not answered. */
	n = arp_request(f, ASKER_MAC, IP(5), IP(50), 42);
	send_vx(VEXT, 100, false, f, n);
	E.drop_arp++;
	check();		/* and no learn request for ARP */
	stop_all();
}

Test(forwarder, gateway_counts_each_malformed_datagram_under_its_drop_reason)
{
	static const uint8_t hdr_ok[8] = { 0x08, 0, 0, 0, 0, 0, 100, 0 };
	static const struct { uint8_t i, v; } bad_hdr[] = {
		{ 0, 0x00 }, { 0, 0x0c }, { 0, 0x88 }, { 1, 0x40 }, { 1, 0x01 }, { 2, 0x01 },
		{ 3, 0x80 }, { 7, 0x01 },
	};
	uint8_t f[FRAME_MAX], d[FRAME_MAX + VXLAN_HLEN];
	size_t n, most;

	gw_start(16, true);

	/* Not VXLAN: empty, short, the I flag or a reserved bit wrong (the learn bit is not). */
	send_raw(VA, hdr_ok, 0);
	send_raw(VA, hdr_ok, 7);
	E.drop_malformed += 2;
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	for (size_t i = 0; i < sizeof(bad_hdr) / sizeof(bad_hdr[0]); i++) {
		memcpy(d, hdr_ok, 8);
		memcpy(d + 8, f, n);
		d[bad_hdr[i].i] = bad_hdr[i].v;
		send_raw(VA, d, n + 8);
		E.drop_malformed++;
	}

	/* Larger than a buffer, by one byte and by far. */
	memset(d, 0, sizeof(d));
	memcpy(d, hdr_ok, 8);
	n = ipv4_frame(d + 8, ANY_MAC, ASKER_MAC, IP(5), IP(2), PKT_SIZE + 1 - 8 - FRAME_MIN);
	send_raw(VA, d, n + 8);
	n = ipv4_frame(d + 8, ANY_MAC, ASKER_MAC, IP(5), IP(2), 3000);
	send_raw(VA, d, n + 8);
	E.drop_truncated += 2;

	/* Bad inner frames. */
	send_vx(VA, 100, false, f, 0);			/* no frame */
	send_vx(VA, 100, false, f, 13);			/* shorter than Ethernet */
	send_vx(VA, 100, false, f, FRAME_MIN - 1);	/* shorter than IPv4 */
	E.drop_bad_frame += 3;
	{
		static const struct { uint8_t off; uint8_t v; } bad_ip[] = {
			{ 0, 0x65 },		/* version 6 in an IPv4 ethertype */
			{ 0, 0x44 },		/* IHL 4 */
			{ 0, 0x4f },		/* IHL 15: more than the frame */
			{ 2, 0x10 },		/* total length 4116 */
			{ 3, 19 },		/* total length 19 < IHL (with byte 2 = 0) */
		};

		for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
			n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
			if (bad_ip[i].off == 3)
				f[FRAME_ETH_HLEN + 2] = 0;
			f[FRAME_ETH_HLEN + bad_ip[i].off] = bad_ip[i].v;
			send_vx(VA, 100, false, f, n);
			E.drop_bad_frame++;
		}
	}
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	send_vx(VA, 100, false, f, 41);			/* ARP cut short */
	E.drop_bad_frame++;

	/* Not IPv4 nor an ARP request. */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 40);
	put16(f + 12, 0x86dd);				/* IPv6 */
	f[FRAME_ETH_HLEN] = 0x60;
	send_vx(VA, 100, false, f, n);
	put16(f + 12, 0x8100);				/* VLAN */
	send_vx(VA, 100, false, f, n);
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	put16(f + FRAME_ETH_HLEN + 6, 2);		/* an ARP reply */
	send_vx(VA, 100, false, f, n);
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	put16(f + FRAME_ETH_HLEN + 2, 0x86dd);		/* ARP for another protocol */
	send_vx(VA, 100, false, f, n);
	E.drop_unsupported += 4;

	/* Multicast and broadcast destinations: no rule routes them. */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), ip4("224.0.0.251"), 20);
	send_vx(VA, 100, true, f, n);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), ip4("239.255.255.250"), 20);
	send_vx(VA, 100, false, f, n);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), ip4("255.255.255.255"), 20);
	send_vx(VA, 100, false, f, n);
	E.drop_group += 3;

	check();
	/* A good frame after all that still goes, even the largest a buffer takes. */
	most = udpio_dgram_max(D->u);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), most - 8 - FRAME_MIN);
	send_vx(VA, 100, false, f, n);
	cr_assert_eq(take(VB, d), most);
	E.tx_relayed++;
	check();
	stop_all();
}

Test(forwarder, gateway_without_its_table_drops_until_it_is_attached)
{
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n;

	gw_start(16, false);
	cr_assert_eq(C.table_attached, 0);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, true, f, n);
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	send_vx(VA, 100, false, f, n);
	E.drop_no_table += 2;
	send_raw(VA, f, 3);
	E.drop_malformed++;
	check();

	dp_set_table(D, R);
	cr_assert_eq(C.table_attached, 1);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, false, f, n);
	take(VB, got);
	E.tx_relayed++;
	check();
	stop_all();
}

Test(forwarder, gateway_relays_even_when_the_learn_ring_is_full)
{
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	struct ev_learn_req lr[4];
	size_t n;

	gw_start(RING_CAP_MIN, true);	/* one request fits */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	for (int i = 0; i < 3; i++)
		send_vx(VA, 100, true, f, n);
	for (int i = 0; i < 3; i++)
		take(VB, got);
	E.tx_relayed += 3;
	E.learn_req += 1;
	E.learn_ring_full += 2;
	idle();
	cr_assert_eq(learn_pop(lr, 4), 1);
	assert_learn(&lr[0], 100, IP(2), vtep_ip[VA]);

	/* syncd took it: room again. */
	send_vx(VB, 100, true, f, n);
	take(VB, got);
	E.tx_relayed++;
	E.learn_req++;
	idle();
	cr_assert_eq(learn_pop(lr, 4), 1);
	assert_learn(&lr[0], 100, IP(2), vtep_ip[VB]);
	check();
	stop_all();
}

/* --- vswitch, the VXLAN side --------------------------------------------------------- */

Test(forwarder, vswitch_drops_a_frame_from_a_gateway_for_a_vm_not_here)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	vs_start(true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VG1, 100, false, f, n);
	send_vx(VG2, 100, true, f, n);
	send_vx(VG2, 300, false, f, n);
	E.drop_not_local += 3;
	check();
	stop_all();
}

Test(forwarder, vswitch_sends_a_frame_for_a_vm_that_left_on_to_a_gateway)
{
	static const int gws[] = { VG1, VG2 };
	uint8_t f[FRAME_MAX], g[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;
	int first, which;

	vs_start(true);

	/* From a host with a stale rule, with the learn bit: on, without it. */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 300);
	send_vx(VA, 100, true, f, n);
	len = take_any(gws, 2, got, &first);
	assert_vx(got, len, 100, false, f, n);
	E.tx_onward++;

	/* The flow stays on that gateway. */
	for (int i = 0; i < 4; i++) {
		send_vx(VB, 100, false, f, n);
		len = take_any(gws, 2, got, &which);
		cr_assert_eq(which, first, "the flow moved from %s to %s", vtep_ip[first],
		    vtep_ip[which]);
		assert_vx(got, len, 100, false, f, n);
		E.tx_onward++;
	}

	/* Its gateway is down: the other one. */
	peers(2, first == VG1 ? 2 : 1);
	send_vx(VA, 100, false, f, n);
	len = take_any(gws, 2, got, &which);
	cr_assert_neq(which, first, "sent to a gateway that is down");
	assert_vx(got, len, 100, false, f, n);
	E.tx_onward++;

	/* All down: still to one of them rather than dropped. */
	peers(2, 0);
	send_vx(VA, 100, false, f, n);
	take_any(gws, 2, got, &which);
	E.tx_onward++;

	/* Another destination, up again: one of them (the hash decides). */
	peers(2, 3);
	n = ipv4_frame(g, ANY_MAC, ASKER_MAC, IP(5), IP(77), 20);
	send_vx(VA, 100, false, g, n);
	len = take_any(gws, 2, got, &which);
	assert_vx(got, len, 100, false, g, n);
	E.tx_onward++;
	check();
	stop_all();
}

Test(forwarder, vswitch_without_a_gateway_drops_a_frame_for_a_vm_that_left)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	vs_start(true);
	peers(0, 0);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, true, f, n);
	E.drop_no_gateway++;
	check();
	stop_all();
}

Test(forwarder, vswitch_before_its_table_drops_for_want_of_a_gateway)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	vs_start(false);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, false, f, n);
	E.drop_no_gateway++;
	cr_assert_eq(C.table_attached, 0);
	check();
	stop_all();
}

Test(forwarder, vswitch_counts_bad_vxlan_under_its_drop_reason)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	vs_start(true);
	send_raw(VA, f, 5);
	E.drop_malformed++;
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, false, f, n - 1);
	E.drop_bad_frame++;
	n = arp_request(f, ASKER_MAC, IP(5), IP(2), 42);
	send_vx(VA, 100, false, f, n);		/* a host does not answer ARP from VXLAN */
	put16(f + 12, 0x86dd);
	send_vx(VA, 100, false, f, n);
	E.drop_unsupported += 2;
	check();
	stop_all();
}

/* --- vswitch, the TAP side --------------------------------------------------------- */

/*
 * A host with VM0 (100, 10.0.0.1), VM1 (100, 10.0.0.3) and VM2 (200, 10.0.0.3: the
 * same IP in another VPC) on TAPs, its rule cache as vs_start, two gateways up.
 */
static void
tap_start_reads(int mtu, uint32_t tap_recvs)
{
	struct vports_params vpp = { .mtu = mtu, .tap_netns = false, .netns_dir = "/run/netns" };
	char err[256];

	if (!netns_private())
		cr_skip_test("no network namespace of its own (%s): no TAP test", strerror(errno));
	vs_start(true);
	if (tap_recvs)
		D->p.tap_recvs = tap_recvs;
	cr_assert_eq(ports_create(&PT, node, 8, err, sizeof(err)), 0, "%s", err);
	vm_add(0, 100, IP(1), 1);
	vm_add(1, 100, IP(3), 3);
	vm_add(2, 200, IP(3), 3);
	nvms = NVM;
	VP = vports_new(L, &vpp, ports_max(PT), dp_port_opened, D);
	cr_assert_not_null(VP);
	dp_set_vports(D, VP);
	cr_assert_eq(vports_sync(VP, PT), NVM, "TAPs open: %llu errors",
	    (unsigned long long)vports_errors(VP));
	for (int i = 0; i < NVM; i++)
		vm_socket(&VM[i]);
	run_for(2);	/* the reads are in flight */
}

static void
tap_start(int mtu)
{
	tap_start_reads(mtu, 0);
}


static const uint8_t *
vm_mac(int i)
{
	return VM[i].port.mac;
}

/*
 * More reads a TAP than the pool has buffers: the first TAP opened must not take them
 * all. Every TAP has reads, and the total stays within the budget.
 */
Test(forwarder, vswitch_taps_share_the_buffers_for_their_reads)
{
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n;

	tap_start_reads(1450, 256);
	for (uint32_t i = 0; i < vports_max(VP); i++) {
		struct vport *v = vports_at(VP, i);

		if (v->used)
			cr_assert_geq(v->reads, 1, "TAP %s has no read in flight", v->port.tap);
	}
	cr_assert_leq(D->tap_reads, D->tap_budget + NVM);
	cr_assert_gt(D->pool.nfree, 0, "the TAPs' reads hold every buffer");
	/* The last VM opened still gets its frames out. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(2), IP(3), IP(2), 100);
	vm_send(2, f, n);
	take(VA, got);
	E.tx_direct++;
	check();
	stop_all();
}

/* VM vm asks who has target (from sender, a frame of len bytes): the answer is mac. */
static void
expect_arp_answer(int vm, uint32_t sender, uint32_t target, size_t len, const uint8_t *mac)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX];
	size_t n = arp_request(f, vm_mac(vm), sender, target, len), glen;

	vm_send(vm, f, n);
	glen = vm_take(vm, got);
	arp_reply_of(want, f, n, mac);
	assert_frame(got, glen, want, n);
	E.arp_replies++;
}

Test(forwarder, vswitch_answers_arp_for_a_local_vm_a_rule_and_the_router)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	tap_start(1450);
	/* A VM of the host in the VPC: its MAC (not the other VPC's VM of that IP). */
	expect_arp_answer(0, IP(1), IP(3), 42, vm_mac(1));
	/* A rule: its MAC. */
	expect_arp_answer(0, IP(1), IP(2), 60, R2_MAC);
	/* Anything else: the router's. */
	expect_arp_answer(0, IP(1), IP(50), 42, ROUTER_MAC);
	/* In VPC 200, 10.0.0.1 is nobody (VM0 is in 100) and 10.0.0.2 another rule. */
	expect_arp_answer(2, IP(3), IP(1), 42, ROUTER_MAC);
	expect_arp_answer(2, IP(3), IP(2), 42, S2_MAC);

	/* Its own address (duplicate detection): no answer. */
	n = arp_request(f, vm_mac(1), IP(3), IP(3), 42);
	vm_send(1, f, n);
	E.drop_arp++;
	check();
	stop_all();
}

Test(forwarder, vswitch_drops_spoofed_group_and_non_ipv4_frames_of_a_vm)
{
	uint8_t f[FRAME_MAX];
	size_t n;

	tap_start(1450);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(9), IP(2), 20);	/* not its IP */
	vm_send(0, f, n);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(3), IP(1), 20);	/* VM1's */
	vm_send(0, f, n);
	E.drop_spoofed += 2;
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), ip4("224.0.0.251"), 20);
	vm_send(0, f, n);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), ip4("255.255.255.255"), 20);
	vm_send(0, f, n);
	E.drop_group += 2;
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 40);
	put16(f + 12, 0x86dd);
	vm_send(0, f, n);
	n = arp_request(f, vm_mac(0), IP(1), IP(2), 42);
	put16(f + FRAME_ETH_HLEN + 6, 2);	/* gratuitous ARP reply */
	vm_send(0, f, n);
	E.drop_unsupported += 2;
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 20);
	f[FRAME_ETH_HLEN] = 0x44;
	vm_send(0, f, n);
	E.drop_bad_frame++;
	check();
	stop_all();
}

Test(forwarder, vswitch_delivers_between_two_vms_of_the_host_without_leaving_it)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX];
	size_t n, len;

	tap_start(1450);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(3), 1000);
	vm_send(0, f, n);
	len = vm_take(1, got);		/* VM1, not VM2 of VPC 200 */
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), vm_mac(1), 6);
	assert_frame(got, len, want, n);
	E.tx_local++;

	n = ipv4_frame(f, vm_mac(0), vm_mac(1), IP(3), IP(1), 0);
	vm_send(1, f, n);
	len = vm_take(0, got);
	assert_frame(got, len, f, n);
	E.tx_local++;
	check();
	stop_all();
}

Test(forwarder, vswitch_sends_a_frame_with_a_rule_straight_to_its_vtep)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;

	tap_start(1450);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 1400);
	vm_send(0, f, n);
	len = take(VB, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	assert_vx(got, len, 100, false, want, n);
	E.tx_direct++;

	n = ipv4_frame(f, ROUTER_MAC, vm_mac(2), IP(3), IP(2), 10);
	vm_send(2, f, n);
	len = take(VA, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), S2_MAC, 6);
	assert_vx(got, len, 200, false, want, n);
	E.tx_direct++;
	check();
	stop_all();
}

/*
 * The rule a frame went out with stays through eviction (its use recorded by the
 * lookup), while the rules no frame used go; the flow loses nothing.
 */
Test(forwarder, vswitch_keeps_the_rule_it_forwards_with_through_eviction)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	struct table_rule r;
	uint32_t kept;
	size_t n, len;

	tap_start(1450);
	tableclock_forward(W, 100);	/* every rule unused for 100 s */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 10);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	vm_send(0, f, n);
	len = take(VB, got);
	assert_vx(got, len, 100, false, want, n);
	E.tx_direct++;
	check();
	cr_assert_eq(table_evict(W, 0, 60, 100, &kept), 2, "the rules no frame used go");
	cr_assert_eq(kept, 1);
	cr_assert(table_lookup(W, 100, IP(2), &r), "the rule in use was evicted");
	cr_assert_not(table_lookup(W, 200, IP(2), &r));

	/* And the flow goes on direct. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 10);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	vm_send(0, f, n);
	len = take(VB, got);
	assert_vx(got, len, 100, false, want, n);
	E.tx_direct++;
	check();
	stop_all();
}

/* Make every learn-bit decision older than learn_interval. */
static void
learn_age(void)
{
	for (uint32_t i = 0; i < (D->ll->mask + 1) * LEARNLIM_WAYS; i++)
		if (D->ll->ways[i].at != 0)
			D->ll->ways[i].at -= D->p.learn_interval_ns;
}

Test(forwarder, vswitch_sends_a_miss_to_a_gateway_with_the_learn_bit_once_an_interval)
{
	static const int gws[] = { VG1, VG2 };
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;
	int first, which;

	tap_start(1450);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(50), 100);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &first);
	assert_vx(got, len, 100, true, f, n);	/* the MAC is the gateway's to set */
	E.tx_gateway++;
	E.tx_learn++;

	/* Within learn_interval: without the bit, on the same gateway. */
	for (int i = 0; i < 3; i++) {
		vm_send(0, f, n);
		len = take_any(gws, 2, got, &which);
		cr_assert_eq(which, first);
		assert_vx(got, len, 100, false, f, n);
		E.tx_gateway++;
	}

	/* Another destination has its own limit. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(51), 100);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &which);
	assert_vx(got, len, 100, true, f, n);
	E.tx_gateway++;
	E.tx_learn++;

	/* A rule to this host for a VM that is not here: a gateway knows better. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(8), 100);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &which);
	assert_vx(got, len, 100, true, f, n);
	E.tx_gateway++;
	E.tx_learn++;
	check();

	/* learn_interval later: the bit again, once. */
	learn_age();
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(50), 100);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &which);
	cr_assert_eq(which, first);
	assert_vx(got, len, 100, true, f, n);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &which);
	assert_vx(got, len, 100, false, f, n);
	E.tx_gateway += 2;
	E.tx_learn++;

	/* No gateway known: dropped. */
	peers(0, 0);
	vm_send(0, f, n);
	E.drop_no_gateway++;
	check();
	stop_all();
}

Test(forwarder, vswitch_delivers_vxlan_to_the_vm_with_its_mac)
{
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX];
	size_t n, len;

	tap_start(1450);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(3), 500);
	send_vx(VG1, 100, true, f, n);		/* from a gateway, learn bit and all */
	len = vm_take(1, got);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), vm_mac(1), 6);
	assert_frame(got, len, want, n);
	E.tx_delivered++;

	send_vx(VA, 200, false, f, n);		/* from a host, the other VPC's VM */
	len = vm_take(2, got);
	memcpy(frame_dst_mac(want), vm_mac(2), 6);
	assert_frame(got, len, want, n);
	E.tx_delivered++;

	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(1), 20);
	send_vx(VG2, 200, false, f, n);		/* 10.0.0.1 is here, in VPC 100 only */
	E.drop_not_local++;
	check();
	stop_all();
}

Test(forwarder, vswitch_destroys_the_tap_of_a_port_removed)
{
	static const int gws[] = { VG1, VG2 };
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;
	int which;

	tap_start(1450);
	cr_assert_eq(ports_del(PT, 100, IP(3)), 0);
	close(VM[1].ps);
	VM[1].ps = -1;
	RUN_UNTIL(vports_sync(VP, PT) == NVM - 1 && ifindex_of(VM[1].port.tap) == 0);

	/* Not a local VM any more: via a gateway. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(3), 20);
	vm_send(0, f, n);
	len = take_any(gws, 2, got, &which);
	assert_vx(got, len, 100, true, f, n);
	E.tx_gateway++;
	E.tx_learn++;

	/* Back: its TAP is made again. */
	cr_assert_eq(ports_set(PT, &VM[1].port), 0);
	cr_assert_eq(vports_sync(VP, PT), NVM);
	vm_socket(&VM[1]);
	run_for(2);
	vm_send(0, f, n);
	vm_take(1, got);
	E.tx_local++;
	check();
	stop_all();
}

/*
 * The largest frame a buffer holds goes whole (a datagram of PKT_SIZE - 1). A read that
 * fills the buffer may have been cut by the TAP (which says nothing): dropped as
 * drop_truncated, never sent on cut short. (tap_mtu is capped so that a VM never sends
 * one; the TAP here is made with a larger MTU on purpose.)
 */
Test(forwarder, vswitch_forwards_the_largest_tap_frame_a_buffer_holds_and_no_cut_one)
{
	const size_t most = PKT_SIZE - PKT_HEADROOM - VXLAN_HLEN - 1;
	uint8_t f[FRAME_MAX], want[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n, len;

	tap_start(9000);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), most - FRAME_MIN);
	cr_assert_eq(n, most);
	vm_send(0, f, n);
	len = take(VB, got);
	cr_assert_eq(len, PKT_SIZE - PKT_HEADROOM - 1);
	memcpy(want, f, n);
	memcpy(frame_dst_mac(want), R2_MAC, 6);
	assert_vx(got, len, 100, false, want, n);
	E.tx_direct++;
	check();

	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), most - FRAME_MIN + 1);
	vm_send(0, f, n);
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 3000);
	vm_send(0, f, n);
	E.rx_bytes -= n - (most + 1);	/* the read got only the buffer's worth */
	E.drop_truncated += 2;
	check();

	/* And the TAP still works. */
	n = ipv4_frame(f, ROUTER_MAC, vm_mac(0), IP(1), IP(2), 100);
	vm_send(0, f, n);
	take(VB, got);
	E.tx_direct++;
	check();
	stop_all();
}

/* --- the VTEP allow-lists ----------------------------------------------------------- */

Test(forwarder, gateway_drops_vxlan_from_a_vtep_not_in_its_list_before_reading_any_of_it)
{
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n;

	gw_start(16, true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	/* Another gateway is no host: gateways never send each other VXLAN. */
	send_vx(VG1, 100, true, f, n);
	send_raw(VG1, f, 3);			/* not even VXLAN: refused first */
	E.drop_unknown_vtep += 2;
	E.rx_learn_bit--;			/* nothing of a refused datagram is read */
	check();

	/* The controller learns of a host there: accepted from the next datagram on. */
	cr_assert_eq(vtepset_add(VS, ip4(vtep_ip[VG1])), 0);
	send_vx(VG1, 100, false, f, n);
	take(VB, got);
	E.tx_relayed++;
	/* And of a host deleted: refused. */
	cr_assert_eq(vtepset_del(VS, ip4(vtep_ip[VA])), 0);
	send_vx(VA, 100, true, f, n);
	E.drop_unknown_vtep++;
	E.rx_learn_bit--;
	check();
	cr_assert_eq(ring_count(&LC), 0, "a refused frame asks for no learn");
	stop_all();
}

Test(forwarder, gateway_drops_all_vxlan_until_its_list_was_loaded_once)
{
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n;

	gw_start(16, true);
	dp_set_vteps(D, NULL);			/* the rule-store's list is not there yet */
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	send_vx(VA, 100, false, f, n);
	E.drop_no_vteps++;
	check();
	vtepset_close(VS);
	seg_unlink_name(seg_vteps_gw);
	vtep_list_open(DP_GATEWAY, false);	/* there, never loaded whole */
	send_vx(VA, 100, false, f, n);
	E.drop_no_vteps++;
	check();
	vtepset_set_loaded(VS);
	send_vx(VA, 100, false, f, n);
	take(VB, got);
	E.tx_relayed++;
	dp_tick(D);
	cr_assert_eq(C.vteps, 3);
	cr_assert_eq(C.vteps_loaded, 1);
	check();
	stop_all();
}

Test(forwarder, vswitch_accepts_its_gateways_and_listed_hosts_only)
{
	static const int gws[] = { VG1, VG2 };
	uint8_t f[FRAME_MAX], got[FRAME_MAX + VXLAN_HLEN];
	size_t n;
	int which;

	vs_start(true);
	n = ipv4_frame(f, ANY_MAC, ASKER_MAC, IP(5), IP(2), 20);
	/* An external host talks to gateways only: not in a vswitch's list. */
	send_vx(VEXT, 100, false, f, n);
	E.drop_unknown_vtep++;
	send_vx(VG1, 100, false, f, n);		/* a gateway: the table's peers */
	E.drop_not_local++;
	send_vx(VA, 100, false, f, n);		/* a host of the list */
	take_any(gws, 2, got, &which);
	E.tx_onward++;
	check();

	/* Before the learner loaded the list, its gateways alone get through. */
	vtepset_close(VS);
	seg_unlink_name(seg_vteps_host);
	vtep_list_open(DP_VSWITCH, false);
	send_vx(VA, 100, false, f, n);
	E.drop_no_vteps++;
	send_vx(VG2, 100, false, f, n);
	E.drop_not_local++;
	check();
	stop_all();
}

/*
 * A batch that fills within dp_flush (where AF_XDP's receive hands up its frames) is
 * processed there, not flushed again: a nested dp_flush took the next batch from inside
 * the first, a stack level a batch for as long as the receive ring stayed full, until
 * the stack ran out (an overloaded xdp gateway, after about 660,000 datagrams).
 */
Test(forwarder, a_batch_filled_within_dp_flush_is_processed_there_not_flushed_again)
{
	bufs_wanted = 2 * BATCH_MAX;
	gw_start(16, true);
	bufs_wanted = 0;
	D->flushing = true;
	for (int i = 0; i < BATCH_MAX; i++) {
		struct pkt *p = pkt_get(&D->pool);

		cr_assert_not_null(p, "no buffer for datagram %d", i);
		/* From no VTEP of the list: dropped before a byte is read. */
		p->addr = sin_of("127.0.47.250", P);
		p->off = 0;
		p->len = VXLAN_HLEN;
		p->port = -1;
		batch_add(D, p);
	}
	cr_assert_eq(D->nbatch, 0, "the full batch was left unprocessed");
	cr_assert(D->flushing, "dp_flush ran again from within itself");
	cr_assert_eq(C.drop_unknown_vtep, BATCH_MAX, "%llu dropped, not %d",
	    (unsigned long long)C.drop_unknown_vtep, BATCH_MAX);
	D->flushing = false;
	stop_all();
}
