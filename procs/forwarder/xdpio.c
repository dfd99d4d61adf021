/*
 * xdpio: see xdpio.h. Invariants:
 * - A pool buffer given to a fill ring, or queued on a send ring, is the kernel's until
 *   it comes back on the receive or the completion ring; the pool does not see it.
 * - The pool keeps at least `reserve` buffers out of the fill rings, for the TAPs and the
 *   socket: a flood on the underlay cannot starve the VMs' reads.
 */
#include "xdpio.h"
#include "neigh.h"
#include "xsk.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ulhdr.h"
#include "procs/forwarder/xdpfast.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BURST	64
#define COMPLETE_BURST	256
#define XDPIO_QUEUES	64
#define XDPIO_STATS_NS	(100 * NS_PER_MS)

struct xdpio {
	struct loop *l;
	struct xdpio_params p;
	struct pkt_pool *pool;
	struct forwarder_counters *c;
	udpio_rx_fn *rx;
	tx_done_fn *done;
	void *arg;
	struct xsk *xsk;
	struct neigh *n;
	struct xdpfast *fast;		/* NULL: no rule cache */
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint32_t mtu;			/* the interface's: the largest IPv4 packet sent */
	uint32_t reserve;		/* pool buffers the fill rings never take */
	uint16_t ip_id;
	uint64_t stats_ns, mtu_ns;	/* xdpio_tick's last reads */
	bool stopping;
	bool tx_unkicked;		/* sends queued since the last kick */
	bool kick_armed;
	bool wake_armed;
	uint32_t npolls;
	struct loop_op poll_op[XDPIO_QUEUES];
	struct loop_op kick_op;
	struct loop_op wake_op;
	struct loop_op cancel_op;
	char desc[96];
};

/* ---- the loop's operations ----------------------------------------------------------- */

static void arm_poll(struct xdpio *x, uint32_t q);

/* A socket has something to receive: the flush after this trip takes it. */
static void
on_poll(struct loop_op *op, int res, uint32_t flags)
{
	struct xdpio *x = op->arg;

	if (x->stopping)
		return;
	if (res < 0 && res != -ECANCELED)
		log_warnx("AF_XDP poll on %s: %s", x->ifname, strerror(-res));
	if (!(flags & IORING_CQE_F_MORE) && res != -ECANCELED)
		arm_poll(x, (uint32_t)(op - x->poll_op));
}

static void
arm_poll(struct xdpio *x, uint32_t q)
{
	x->poll_op[q] = (struct loop_op){ .cb = on_poll, .arg = x };
	io_uring_prep_poll_multishot(loop_sqe(x->l, &x->poll_op[q]), xsk_fd(x->xsk, q),
	    POLLIN);
}

static void kick(struct xdpio *x);

/*
 * A kick ran. In copy mode the kernel sends a bounded number of frames a kick (its
 * max_tx_budget) and says EAGAIN when more are left: kicked again at once. EBUSY: the
 * completion ring is full; the flush takes completions back, then kicks.
 */
static void
on_kick(struct loop_op *op, int res, uint32_t flags)
{
	struct xdpio *x = op->arg;

	(void)flags;
	x->kick_armed = false;
	if (x->stopping)
		return;
	if (res == -EAGAIN || res == -ENOBUFS) {
		x->tx_unkicked = true;
		kick(x);
	} else if (res == -EBUSY)
		x->tx_unkicked = true;
	else if (res < 0 && res != -ECANCELED)
		STATS_INC(x->c, tx_errors);
}

static void
kick(struct xdpio *x)
{
	struct io_uring_sqe *sqe;

	if (x->kick_armed || !x->tx_unkicked)
		return;
	x->tx_unkicked = false;
	if (!xsk_tx_needs_kick(x->xsk, 0))
		return;
	x->kick_op = (struct loop_op){ .cb = on_kick, .arg = x };
	sqe = loop_sqe(x->l, &x->kick_op);
	io_uring_prep_send(sqe, xsk_fd(x->xsk, 0), NULL, 0, MSG_DONTWAIT);
	x->kick_armed = true;
	STATS_INC(x->c, xdp_kicks);
}

static void
on_wake(struct loop_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	((struct xdpio *)op->arg)->wake_armed = false;
}

void
xdpio_wake(struct xdpio *x)
{
	if (x->wake_armed || x->stopping)
		return;
	x->wake_op = (struct loop_op){ .cb = on_wake, .arg = x };
	io_uring_prep_nop(loop_sqe(x->l, &x->wake_op));
	x->wake_armed = true;
}

/* ---- frames -------------------------------------------------------------------------- */

static uint64_t
umem_off(const struct xdpio *x, const uint8_t *at)
{
	return (uint64_t)(at - x->pool->mem);
}

bool
xdpio_send(struct pkt *p, void *arg)
{
	struct xdpio *x = arg;
	uint32_t ip = ntohl(p->addr.sin_addr.s_addr);
	struct ulhdr h = { .src_ip = x->p.self, .dst_ip = ip, .src_port = x->p.port,
	    .dst_port = ntohs(p->addr.sin_port) };
	struct xsk_desc d;
	int r;

	if (p->off < ULHDR_LEN || p->len + ULHDR_LEN - FRAME_ETH_HLEN > x->mtu)
		goto socket;
	if ((r = neigh_lookup(x->n, ip, h.dst_mac)) != 1) {
		if (r == 2)
			STATS_INC(x->c, neigh_refreshes);
		else if (r == 0)
			STATS_INC(x->c, neigh_misses);
		else
			STATS_INC(x->c, neigh_elsewhere);
		goto socket;
	}
	memcpy(h.src_mac, neigh_src_mac(x->n), 6);
	h.ip_id = x->ip_id++;
	ulhdr_write(p->buf + p->off - ULHDR_LEN, &h, p->len);
	d = (struct xsk_desc){ .addr = umem_off(x, p->buf + p->off - ULHDR_LEN),
	    .len = p->len + ULHDR_LEN };
	if (xsk_tx(x->xsk, &d, 1) != 1) {
		STATS_INC(x->c, xdp_tx_ring_full);
		goto socket;
	}
	x->tx_unkicked = true;
	STATS_INC(x->c, xdp_tx);
	return true;
socket:
	STATS_INC(x->c, xdp_tx_socket);
	return false;
}

/* A received frame: its underlay headers read, the VXLAN datagram handed up. */
static void
received(struct xdpio *x, const struct xsk_desc *d)
{
	struct pkt *p = &x->pool->p[d->addr / PKT_SIZE];
	uint32_t at = (uint32_t)(d->addr % PKT_SIZE), plen;
	struct ulhdr h;
	int off;

	STATS_INC(x->c, rx_vxlan);
	STATS_INC(x->c, xdp_rx);
	if (at + d->len > PKT_SIZE ||
	    (off = ulhdr_parse(p->buf + at, d->len, &h, &plen)) < 0 ||
	    h.dst_ip != x->p.self || h.dst_port != x->p.port) {
		STATS_INC(x->c, xdp_rx_bad);
		STATS_INC(x->c, drop_malformed);
		x->done(p, x->arg);
		return;
	}
	STATS_ADD(x->c, rx_bytes, plen);
	p->addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(h.src_port),
	    .sin_addr.s_addr = htonl(h.src_ip) };
	p->off = at + (uint32_t)off;
	p->len = plen;
	p->port = -1;
	x->rx(p, x->arg);
}

/* Give the fill rings what they can take, the reserve kept. */
static void
refill(struct xdpio *x)
{
	uint64_t addrs[RX_BURST];
	uint32_t want = xsk_fill_want(x->xsk), n, k;

	while (want > 0 && x->pool->nfree > x->reserve) {
		n = 0;
		while (n < RX_BURST && n < want && x->pool->nfree > x->reserve)
			addrs[n++] = umem_off(x, pkt_get(x->pool)->buf);
		k = xsk_fill(x->xsk, addrs, n);
		for (uint32_t i = k; i < n; i++)	/* not taken after all */
			pkt_put(x->pool, &x->pool->p[addrs[i] / PKT_SIZE]);
		if (k < n)
			break;
		want -= n;
	}
}

static bool
next_hop(void *arg, uint32_t vtep, uint8_t nh_mac[6], uint8_t src_mac[6])
{
	struct xdpio *x = arg;

	if (neigh_peek(x->n, vtep, nh_mac) != 1)
		return false;
	memcpy(src_mac, neigh_src_mac(x->n), 6);
	return true;
}

void
xdpio_offer(struct xdpio *x, const struct table_rule *r)
{
	if (x->fast)
		xdpfast_offer(x->fast, r, next_hop, x, loop_now(x->l));
}

void
xdpio_fast_tick(struct xdpio *x, struct table *t, const struct vtepset *v)
{
	struct neigh_stats ns;

	if (!x->fast)
		return;
	neigh_stats_read(x->n, &ns);
	xdpfast_tick(x->fast, t, v, ns.nexthops_changed + ns.routes_moved + ns.resyncs);
}

uint32_t
xdpio_flush(struct xdpio *x, uint32_t max)
{
	struct xsk_desc d[RX_BURST];
	uint64_t addrs[COMPLETE_BURST];
	uint32_t n, got = 0;

	if (x->stopping)
		return 0;
	if (x->fast)
		xdpfast_flush(x->fast);
	while ((n = xsk_complete(x->xsk, addrs, COMPLETE_BURST)) > 0)
		for (uint32_t i = 0; i < n; i++)
			x->done(&x->pool->p[addrs[i] / PKT_SIZE], x->arg);
	kick(x);
	refill(x);
	while (got < max && (n = xsk_rx(x->xsk, d, max - got < RX_BURST ? max - got :
	    RX_BURST)) > 0) {
		for (uint32_t i = 0; i < n; i++)
			received(x, &d[i]);
		got += n;
	}
	return got;
}

/* ---- set-up -------------------------------------------------------------------------- */

/* The interface holding ip (host order), into name; -ENODEV when none does. */
static int
iface_of(uint32_t ip, char *name)
{
	struct ifaddrs *ifa, *i;
	int r = -ENODEV;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) == ip) {
			snprintf(name, IF_NAMESIZE, "%s", i->ifa_name);
			r = 0;
			break;
		}
	freeifaddrs(ifa);
	return r;
}

static int
iface_mtu(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(fd, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(fd);
	return r;
}

int
xdpio_new(struct xdpio **out, struct loop *l, const struct xdpio_params *p,
    struct pkt_pool *pool, struct forwarder_counters *c, udpio_rx_fn *rx,
    tx_done_fn *done, void *arg, char *err, size_t errlen)
{
	struct xdpio *x = calloc(1, sizeof(*x));
	struct xsk_params xp;
	int r;

	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*x = (struct xdpio){ .l = l, .p = *p, .pool = pool, .c = c, .rx = rx, .done = done,
	    .arg = arg, .reserve = pool->n / 4 };
	if (p->ifname)
		snprintf(x->ifname, sizeof(x->ifname), "%s", p->ifname);
	else if ((r = iface_of(p->self, x->ifname)) < 0) {
		snprintf(err, errlen, "no interface holds %u.%u.%u.%u: %s", p->self >> 24,
		    p->self >> 16 & 0xff, p->self >> 8 & 0xff, p->self & 0xff, strerror(-r));
		free(x);
		return r;
	}
	x->p.ifname = x->ifname;
	if ((x->ifindex = (int)if_nametoindex(x->ifname)) == 0 ||
	    (r = iface_mtu(x->ifname)) < 0) {
		r = -errno;
		snprintf(err, errlen, "interface %s: %s", x->ifname, strerror(errno));
		free(x);
		return r;
	}
	x->mtu = (uint32_t)r;
	xp = (struct xsk_params){ .ifname = x->ifname, .ip = htonl(p->self), .port = p->port,
	    .umem = pool->mem, .n_frames = pool->n, .frame_size = PKT_SIZE,
	    .ring_size = p->ring_size, .mode = p->xsk_mode, .fast_rules = p->fast_rules,
	    .fast_vnis = p->fast_vnis, .fast_srcs = VTEPSET_MAX_DEFAULT,
	    .fast_hops = VTEPSET_MAX_DEFAULT };
	if ((r = xsk_open(&x->xsk, &xp, err, errlen)) < 0) {
		free(x);
		return r;
	}
	if ((r = neigh_new(&x->n, l, x->ifindex, err, errlen)) < 0) {
		xsk_close(x->xsk);
		free(x);
		return r;
	}
	if (p->fast_rules > 0 && (x->fast = xdpfast_new(x->xsk, p->fast_rules, p->fast_vnis,
	    p->fast_ttl_ns, p->self, p->port, c)) == NULL) {
		snprintf(err, errlen, "out of memory for the XDP rule cache");
		neigh_free(x->n);
	xdpfast_free(x->fast);
		xsk_close(x->xsk);
		free(x);
		return -ENOMEM;
	}
	/* Routes as the socket's datagrams would take them: from this VTEP (policy rules). */
	neigh_set_src(x->n, p->self);
	x->npolls = xsk_nqueues(x->xsk) < XDPIO_QUEUES ? xsk_nqueues(x->xsk) : XDPIO_QUEUES;
	for (uint32_t q = 0; q < x->npolls; q++)
		arm_poll(x, q);
	snprintf(x->desc, sizeof(x->desc), "%s, %u queue(s), %s", x->ifname,
	    xsk_nqueues(x->xsk), xsk_mode_name(x->xsk));
	refill(x);
	STATS_SET(c, io_xdp, 1);
	*out = x;
	return 0;
}

const char *
xdpio_describe(const struct xdpio *x)
{
	return x->desc;
}

void
xdpio_tick(struct xdpio *x)
{
	struct xsk_stats s;
	struct neigh_stats ns;
	uint64_t now = loop_now(x->l);
	int mtu;

	/* The forwarder ticks every 10 ms; these cost system calls: 10 a second is plenty. */
	if (now - x->stats_ns < XDPIO_STATS_NS)
		return;
	x->stats_ns = now;

	xsk_stats_read(x->xsk, &s);
	STATS_SET(x->c, xdp_prog_redirect, s.prog_redirect);
	STATS_SET(x->c, xdp_prog_pass, s.prog_pass);
	STATS_SET(x->c, xdp_prog_pass_frags, s.prog_pass_frags);
	STATS_SET(x->c, xdp_prog_no_xsk, s.prog_no_xsk);
	STATS_SET(x->c, xsk_rx_dropped, s.rx_dropped);
	STATS_SET(x->c, xsk_rx_ring_full, s.rx_ring_full);
	STATS_SET(x->c, xsk_fill_empty, s.fill_empty);
	STATS_SET(x->c, xsk_tx_invalid, s.tx_invalid);
	neigh_stats_read(x->n, &ns);
	STATS_SET(x->c, neigh_entries, ns.neighbours);
	STATS_SET(x->c, xdp_prog_pass_big, s.prog_pass_big);
	if (now - x->mtu_ns >= NS_PER_S && (mtu = iface_mtu(x->ifname)) > 0) {
		x->mtu_ns = now;
		x->mtu = (uint32_t)mtu;
	}
}

void
xdpio_stop(struct xdpio *x)
{
	x->stopping = true;
	x->cancel_op = (struct loop_op){ .cb = loop_op_ignore, .arg = x };
	for (uint32_t q = 0; q < x->npolls; q++)
		io_uring_prep_cancel_fd(loop_sqe(x->l, &x->cancel_op), xsk_fd(x->xsk, q),
		    IORING_ASYNC_CANCEL_ALL);
	neigh_stop(x->n);
}

void
xdpio_free(struct xdpio *x)
{
	if (x == NULL)
		return;
	neigh_free(x->n);
	xdpfast_free(x->fast);
	xsk_close(x->xsk);
	free(x);
}
