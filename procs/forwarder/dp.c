/*
 * dp: see dp.h. Invariants:
 * - A pkt is in exactly one place: the pool, a receive or send in flight, or the batch.
 * - A vport's inflight counts the reads and writes on its TAP; the vport is closed only
 *   when it drops to 0 (vports.c), so a completion always finds its vport.
 * - The batch is handled before the loop submits or sleeps, so a frame waits at most
 *   one trip through the loop.
 */
#include "dp.h"
#include "learnlim.h"
#include "common/log.h"
#include "common/mix.h"
#include "common/net.h"
#include "common/vxlan.h"
#include "shm/events.h"
#include "pkt.h"
#include "udpio.h"
#include "xdpio.h"
#include "xsk.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH_MAX	256
/* Trips through the AF_XDP receive ring a flush makes before the loop runs again. */
#define XDP_ROUNDS	8

enum item_kind { IT_TAP_IP, IT_TAP_ARP, IT_GW_IP, IT_GW_ARP };

/* A frame waiting for the batch's lookups. */
struct item {
	struct pkt *p;
	struct vport *v;		/* vswitch: the VM it came from */
	enum item_kind kind;
	uint8_t learn;			/* gateway: the learn bit was set */
};

struct dp {
	struct loop *l;
	struct dp_params p;
	struct forwarder_counters *c;
	uint32_t self;			/* our VTEP, host order */
	struct pkt_pool pool;
	struct udpio *u;		/* the VXLAN socket: always there */
	struct xdpio *x;		/* AF_XDP, in xdp mode */
	bool tap_starved;		/* a TAP read was not armed for want of a buffer */
	bool flushing;			/* in dp_flush: a full batch is not to flush again */
	uint32_t tap_reads;		/* reads in flight on all TAPs */
	uint32_t tap_budget;		/* beyond its first, a TAP's reads stop at this total */
	bool stopping;
	struct table *t;
	struct vports *vp;
	struct ring *learn;
	const struct vtepset *vteps;
	struct pkt *batch[BATCH_MAX];
	uint32_t nbatch;
	struct item items[BATCH_MAX];
	struct table_key keys[BATCH_MAX];
	struct table_rule rules[BATCH_MAX];
	bool hit[BATCH_MAX];
	struct ev_learn_req lreq[BATCH_MAX];
	struct table_peer peers[TABLE_PEERS_MAX];
	uint32_t npeers;
	struct learnlim *ll;		/* vswitch: the learn-bit limiter */
	struct loop_op cancel_op;
	struct log_ratelimit rl;
};

static void dp_flush(void *arg);
static void process(struct dp *d);

/* A buffer is done with: back to the kernel's ring, or to the pool. */
static void
release(struct dp *d, struct pkt *p)
{
	if (!udpio_release(d->u, p))
		pkt_put(&d->pool, p);
}

/* ---- I/O ---------------------------------------------------------------------------- */

static void
pkt_done(struct pkt *p, void *arg)
{
	release(arg, p);
}

/* Send p's data (VXLAN header first) to ip:port, with the batch's others. */
static void
send_udp(struct dp *d, struct pkt *p, uint32_t ip, uint16_t port)
{
	udpio_send(d->u, p, ip, port);		/* AF_XDP takes its share at the flush */
}

static void
on_written(struct loop_op *op, int res, uint32_t flags)
{
	struct pkt *p = (struct pkt *)op;
	struct dp *d = op->arg;

	(void)flags;
	if (res < 0 && res != -ECANCELED)
		STATS_INC(d->c, tx_errors);
	vports_op_done(vports_at(d->vp, (uint32_t)p->port));
	release(d, p);
}

/* Write p's data (a frame) to v's TAP. */
static void
write_tap(struct dp *d, struct pkt *p, struct vport *v)
{
	p->port = (int32_t)(v - vports_at(d->vp, 0));
	p->op = (struct loop_op){ .cb = on_written, .arg = d };
	io_uring_prep_write(loop_sqe(d->l, &p->op), v->fd, p->buf + p->off, p->len, 0);
	v->inflight++;
	STATS_ADD(d->c, tx_bytes, p->len);
}

/*
 * A full batch is processed at once. Within dp_flush (AF_XDP's receive hands its frames
 * from there) only processed: a dp_flush of its own would take the next batch from
 * inside this one's, and so on down the stack for as long as the rings stay full (a
 * forwarder overloaded for 2 s died so, 8 MB of stack deep).
 */
static void
batch_add(struct dp *d, struct pkt *p)
{
	d->batch[d->nbatch++] = p;
	if (d->nbatch < BATCH_MAX)
		return;
	if (d->flushing)
		process(d);
	else
		dp_flush(d);
}

/* A VXLAN datagram arrived (socket or AF_XDP): into the batch. */
static void
on_udp_rx(struct pkt *p, void *arg)
{
	batch_add(arg, p);
}

static bool arm_tap(struct dp *d, struct vport *v);

static void
on_tap_rx(struct loop_op *op, int res, uint32_t flags)
{
	struct pkt *p = (struct pkt *)op;
	struct dp *d = op->arg;
	struct vport *v = vports_at(d->vp, (uint32_t)p->port);

	(void)flags;
	v->reads--;
	d->tap_reads--;
	/*
	 * The TAP is non-blocking: io_uring waits for it to be readable, but when several
	 * reads wake for one frame, the others find nothing and complete with -EAGAIN.
	 */
	if (res == -EAGAIN && !d->stopping && !v->closing) {
		release(d, p);
		vports_op_done(v);
		arm_tap(d, v);
		return;
	}
	if (res <= 0 || d->stopping || v->closing) {
		if (res != -ECANCELED && !d->stopping && !v->closing) {
			/* The device went away (its namespace was deleted): open it again. */
			STATS_INC(d->c, rx_errors);
			log_warnx_rl(&d->rl, "TAP %s: read: %s", v->port.tap,
			    res < 0 ? strerror(-res) : "end of file");
			vports_reopen(v);
		}
		release(d, p);
		vports_op_done(v);
		return;
	}
	STATS_INC(d->c, rx_tap);
	STATS_ADD(d->c, rx_bytes, res);
	/* A TAP cuts a frame to the buffer without a word: a full buffer may be one. */
	if ((size_t)res >= PKT_SIZE - PKT_HEADROOM - VXLAN_HLEN) {
		STATS_INC(d->c, drop_truncated);
		release(d, p);
		vports_op_done(v);
		arm_tap(d, v);
		return;
	}
	p->off = PKT_HEADROOM + VXLAN_HLEN;
	p->len = (uint32_t)res;
	vports_op_done(v);
	batch_add(d, p);
	arm_tap(d, v);
}

static bool
arm_tap(struct dp *d, struct vport *v)
{
	struct pkt *p;

	if (d->stopping || v->closing || v->fd < 0 || v->reads >= d->p.tap_recvs)
		return false;
	/*
	 * Every TAP gets its first read; more only within the budget, so that a host with
	 * many VMs cannot have the first ones hold every buffer and starve the rest.
	 */
	if (v->reads > 0 && d->tap_reads >= d->tap_budget)
		return false;
	if ((p = pkt_get(&d->pool)) == NULL) {
		STATS_INC(d->c, drop_nobuf);
		d->tap_starved = true;
		return false;
	}
	p->port = (int32_t)(v - vports_at(d->vp, 0));
	p->op = (struct loop_op){ .cb = on_tap_rx, .arg = d };
	/* Room in front for the VXLAN header the frame may get, and the underlay's. */
	io_uring_prep_read(loop_sqe(d->l, &p->op), v->fd, p->buf + PKT_HEADROOM + VXLAN_HLEN,
	    PKT_SIZE - PKT_HEADROOM - VXLAN_HLEN, 0);
	v->reads++;
	d->tap_reads++;
	v->inflight++;
	return true;
}

void
dp_port_opened(struct vport *v, void *arg)
{
	struct dp *d = arg;

	while (arm_tap(d, v))
		;
}

/* ---- decisions ------------------------------------------------------------------------ */

static void
drop(struct dp *d, struct pkt *p)
{
	release(d, p);
}

#define DROP(d, p, ctr)	do { STATS_INC((d)->c, ctr); drop((d), (p)); } while (0)

/* A live gateway for (vni, ip) by hash, so one flow stays on one gateway; 0: none. */
static uint32_t
pick_gateway(const struct dp *d, uint32_t vni, uint32_t ip)
{
	uint32_t live = 0, k, h = (uint32_t)(mix64((uint64_t)vni << 32 | ip) >> 32);

	for (uint32_t i = 0; i < d->npeers; i++)
		live += d->peers[i].up != 0;
	if (d->npeers == 0)
		return 0;
	if (live == 0)		/* all down: any one is better than dropping */
		return d->peers[h % d->npeers].addr;
	k = h % live;
	for (uint32_t i = 0; i < d->npeers; i++)
		if (d->peers[i].up && k-- == 0)
			return d->peers[i].addr;
	return 0;
}

static bool
from_gateway(const struct dp *d, uint32_t ip)
{
	for (uint32_t i = 0; i < d->npeers; i++)
		if (d->peers[i].addr == ip)
			return true;
	return false;
}

/*
 * Whether VXLAN from ip may be read: a gateway of the host's (vswitch), or a VTEP of the
 * list once it was loaded. Otherwise counts the drop and returns false.
 */
static bool
vtep_allowed(struct dp *d, uint32_t ip)
{
	if (d->p.mode == DP_VSWITCH && from_gateway(d, ip))
		return true;
	if (d->vteps == NULL || !vtepset_loaded(d->vteps)) {
		STATS_INC(d->c, drop_no_vteps);
		return false;
	}
	if (!vtepset_has(d->vteps, ip)) {
		STATS_INC(d->c, drop_unknown_vtep);
		return false;
	}
	return true;
}

/* Whether a frame to (vni, ip) may carry the learn bit now. */
static bool
learn_allow(struct dp *d, uint32_t vni, uint32_t ip)
{
	bool full;

	if (!learnlim_allow(d->ll, vni, ip, loop_now(d->l), &full))
		return false;
	if (full)
		STATS_INC(d->c, learn_limit_full);
	return true;
}

/* Put a VXLAN header in front of p's frame and send it to vtep. */
static void
encap_send(struct dp *d, struct pkt *p, uint32_t vni, bool learn, uint32_t vtep)
{
	p->off -= VXLAN_HLEN;
	p->len += VXLAN_HLEN;
	vxlan_write(p->buf + p->off, &(struct vxlan_hdr){ .vni = vni, .learn = learn });
	send_udp(d, p, vtep, d->p.vxlan_port);
}

/* vswitch: a VM's frame to an address it has no rule for: via a gateway. */
static void
via_gateway(struct dp *d, struct pkt *p, uint32_t vni, uint32_t dst)
{
	uint32_t gw = pick_gateway(d, vni, dst);
	bool learn;

	if (gw == 0) {
		DROP(d, p, drop_no_gateway);
		return;
	}
	learn = learn_allow(d, vni, dst);
	STATS_INC(d->c, tx_gateway);
	if (learn)
		STATS_INC(d->c, tx_learn);
	encap_send(d, p, vni, learn, gw);
}

static void
vswitch_from_udp(struct dp *d, struct pkt *p)
{
	uint8_t *f = p->buf + p->off + VXLAN_HLEN;
	struct vxlan_hdr vh;
	struct frame_info fi;
	struct vport *v;
	uint32_t from = ntohl(p->addr.sin_addr.s_addr), gw;

	if (!vtep_allowed(d, from)) {
		drop(d, p);
		return;
	}
	if (vxlan_parse(p->buf + p->off, p->len, &vh) < 0) {
		DROP(d, p, drop_malformed);
		return;
	}
	if (vh.learn)
		STATS_INC(d->c, rx_learn_bit);
	switch (frame_parse(f, p->len - VXLAN_HLEN, &fi)) {
	case FRAME_BAD:
		DROP(d, p, drop_bad_frame);
		return;
	case FRAME_IPV4:
		break;
	default:
		DROP(d, p, drop_unsupported);
		return;
	}
	if (ipv4_is_group(fi.dst_ip)) {
		DROP(d, p, drop_group);
		return;
	}
	if (d->vp && (v = vports_find(d->vp, vh.vni, fi.dst_ip)) != NULL) {
		memcpy(frame_dst_mac(f), v->port.mac, FRAME_MAC_LEN);
		p->off += VXLAN_HLEN;
		p->len -= VXLAN_HLEN;
		STATS_INC(d->c, tx_delivered);
		write_tap(d, p, v);
		return;
	}
	/*
	 * The VM is not here (it left, or never was). From a gateway, sending it back
	 * could loop until that gateway hears of the move: drop. From a host with a stale
	 * rule: on via a gateway, which knows where the VM went.
	 */
	if (from_gateway(d, from)) {
		DROP(d, p, drop_not_local);
		return;
	}
	if ((gw = pick_gateway(d, vh.vni, fi.dst_ip)) == 0) {
		DROP(d, p, drop_no_gateway);
		return;
	}
	vxlan_clear_learn(p->buf + p->off);
	STATS_INC(d->c, tx_onward);
	send_udp(d, p, gw, d->p.vxlan_port);
}

/* vswitch: a frame from VM v. Returns true when it waits for the batch's lookup. */
static bool
vswitch_from_tap(struct dp *d, struct pkt *p, struct vport *v, struct item *it,
    struct table_key *k)
{
	uint8_t *f = p->buf + p->off;
	struct frame_info fi;
	struct vport *to;

	switch (frame_parse(f, p->len, &fi)) {
	case FRAME_BAD:
		DROP(d, p, drop_bad_frame);
		return false;
	case FRAME_OTHER:
		DROP(d, p, drop_unsupported);
		return false;
	case FRAME_ARP_REQUEST:
		if (fi.dst_ip == v->port.ip) {	/* probing its own address */
			DROP(d, p, drop_arp);
			return false;
		}
		if ((to = vports_find(d->vp, v->port.vni, fi.dst_ip)) != NULL) {
			frame_arp_reply(f, to->port.mac);
			STATS_INC(d->c, arp_replies);
			write_tap(d, p, v);
			return false;
		}
		*it = (struct item){ .p = p, .v = v, .kind = IT_TAP_ARP };
		*k = (struct table_key){ .vni = v->port.vni, .ip = fi.dst_ip };
		return true;
	case FRAME_IPV4:
		break;
	}
	if (fi.src_ip != v->port.ip) {
		DROP(d, p, drop_spoofed);
		return false;
	}
	if (ipv4_is_group(fi.dst_ip)) {
		DROP(d, p, drop_group);
		return false;
	}
	if ((to = vports_find(d->vp, v->port.vni, fi.dst_ip)) != NULL) {
		memcpy(frame_dst_mac(f), to->port.mac, FRAME_MAC_LEN);
		STATS_INC(d->c, tx_local);
		write_tap(d, p, to);
		return false;
	}
	*it = (struct item){ .p = p, .v = v, .kind = IT_TAP_IP };
	*k = (struct table_key){ .vni = v->port.vni, .ip = fi.dst_ip };
	return true;
}

static bool
gateway_from_udp(struct dp *d, struct pkt *p, struct item *it, struct table_key *k)
{
	struct vxlan_hdr vh;
	struct frame_info fi;
	enum frame_kind kind;

	if (!vtep_allowed(d, ntohl(p->addr.sin_addr.s_addr))) {
		drop(d, p);
		return false;
	}
	if (vxlan_parse(p->buf + p->off, p->len, &vh) < 0) {
		DROP(d, p, drop_malformed);
		return false;
	}
	if (vh.learn)
		STATS_INC(d->c, rx_learn_bit);
	kind = frame_parse(p->buf + p->off + VXLAN_HLEN, p->len - VXLAN_HLEN, &fi);
	if (kind == FRAME_BAD) {
		DROP(d, p, drop_bad_frame);
		return false;
	}
	if (kind == FRAME_OTHER) {
		DROP(d, p, drop_unsupported);
		return false;
	}
	if (kind == FRAME_IPV4 && ipv4_is_group(fi.dst_ip)) {
		DROP(d, p, drop_group);
		return false;
	}
	*it = (struct item){ .p = p, .kind = kind == FRAME_IPV4 ? IT_GW_IP : IT_GW_ARP,
	    .learn = vh.learn };
	*k = (struct table_key){ .vni = vh.vni, .ip = fi.dst_ip };
	return true;
}

/* A frame whose lookup is done. Returns 1 when it made a learn request in *lr. */
static int
finish(struct dp *d, struct item *it, const struct table_key *k, const struct table_rule *r,
    bool hit, struct ev_learn_req *lr)
{
	struct pkt *p = it->p;
	uint8_t *f;

	switch (it->kind) {
	case IT_TAP_ARP:
		frame_arp_reply(p->buf + p->off, hit ? r->mac : d->p.router_mac);
		STATS_INC(d->c, arp_replies);
		write_tap(d, p, it->v);
		return 0;
	case IT_TAP_IP:
		if (!hit || r->vtep == d->self) {
			via_gateway(d, p, k->vni, k->ip);
			return 0;
		}
		memcpy(frame_dst_mac(p->buf + p->off), r->mac, FRAME_MAC_LEN);
		STATS_INC(d->c, tx_direct);
		encap_send(d, p, k->vni, false, r->vtep);
		return 0;
	case IT_GW_ARP:
		if (!hit) {
			DROP(d, p, drop_arp);
			return 0;
		}
		frame_arp_reply(p->buf + p->off + VXLAN_HLEN, r->mac);
		vxlan_clear_learn(p->buf + p->off);
		STATS_INC(d->c, arp_replies);
		send_udp(d, p, ntohl(p->addr.sin_addr.s_addr), d->p.vxlan_port);
		return 0;
	case IT_GW_IP:
		break;
	}
	if (!hit) {
		DROP(d, p, drop_no_rule);
		return 0;
	}
	if (r->vtep == d->self) {
		DROP(d, p, drop_loop);
		return 0;
	}
	f = p->buf + p->off + VXLAN_HLEN;
	memcpy(frame_dst_mac(f), r->mac, FRAME_MAC_LEN);
	vxlan_clear_learn(p->buf + p->off);
	*lr = (struct ev_learn_req){ .vni = k->vni, .ip = k->ip,
	    .src_vtep = ntohl(p->addr.sin_addr.s_addr) };
	STATS_INC(d->c, tx_relayed);
	send_udp(d, p, r->vtep, d->p.vxlan_port);
	if (d->x) {
		struct table_rule c = *r;

		c.vni = k->vni;
		c.ip = k->ip;
		xdpio_offer(d->x, &c);
	}
	return it->learn ? 1 : 0;
}

static void
process(struct dp *d)
{
	uint32_t n = 0, nl = 0, pushed;

	/* A few atomic loads a batch: a gateway the learner marks down gets no more. */
	if (d->p.mode == DP_VSWITCH)
		d->npeers = d->t ? table_peers(d->t, d->peers, TABLE_PEERS_MAX) : 0;
	for (uint32_t i = 0; i < d->nbatch; i++) {
		struct pkt *p = d->batch[i];
		bool wait;

		if (d->p.mode == DP_GATEWAY)
			wait = gateway_from_udp(d, p, &d->items[n], &d->keys[n]);
		else if (p->port < 0) {
			vswitch_from_udp(d, p);
			wait = false;
		} else
			wait = vswitch_from_tap(d, p, vports_at(d->vp, (uint32_t)p->port),
			    &d->items[n], &d->keys[n]);
		if (!wait)
			continue;
		if (d->t == NULL && d->p.mode == DP_GATEWAY) {
			DROP(d, p, drop_no_table);
			continue;
		}
		n++;
	}
	d->nbatch = 0;
	if (n == 0)
		return;
	if (d->t) {
		table_read_begin(d->t);
		table_lookup_batch(d->t, d->keys, n, d->rules, d->hit);
	} else
		memset(d->hit, 0, n * sizeof(*d->hit));
	for (uint32_t i = 0; i < n; i++)
		nl += finish(d, &d->items[i], &d->keys[i], &d->rules[i], d->hit[i],
		    &d->lreq[nl]);
	if (d->t)
		table_read_end(d->t);
	if (nl == 0)
		return;
	pushed = d->learn ? learn_req_ring_push(d->learn, d->lreq, nl) : 0;
	STATS_ADD(d->c, learn_req, pushed);
	STATS_ADD(d->c, learn_ring_full, nl - pushed);
}

static void
dp_flush(void *arg)
{
	struct dp *d = arg;

	d->flushing = true;
	if (d->nbatch)
		process(d);
	udpio_flush(d->u);		/* the socket's sends, AF_XDP's share handed over */
	if (d->x) {
		/*
		 * What the AF_XDP sockets received, a batch at a time, each one sent before
		 * the next is taken (xdpio_flush kicks what the last round handed it); the
		 * loop comes back at once when some are left.
		 */
		for (uint32_t r = 0; xdpio_flush(d->x, BATCH_MAX - d->nbatch) > 0; r++) {
			process(d);
			udpio_flush(d->u);
			if (r + 1 == XDP_ROUNDS) {
				xdpio_wake(d->x);
				break;
			}
		}
		xdpio_flush(d->x, 0);		/* kick the last batch's sends */
	}
	if (d->tap_starved && d->vp && d->pool.nfree > 0) {
		d->tap_starved = false;
		for (uint32_t i = 0; i < vports_max(d->vp); i++) {
			struct vport *v = vports_at(d->vp, i);

			if (v->used && v->fd >= 0)
				while (arm_tap(d, v))
					;
		}
	}
	d->flushing = false;
}

/* ---- set-up --------------------------------------------------------------------------- */

/*
 * AF_XDP on the underlay: with forwarder.io = "xdp" a failure is the caller's; with
 * "auto" it is said, and the socket carries everything.
 */
static int
xdp_setup(struct dp *d, char *err, size_t errlen)
{
	/* "auto" takes native XDP only: generic XDP (any device, lo too) would be slower. */
	struct xdpio_params xp = { .ifname = d->p.xdp_ifname, .self = d->self,
	    .port = d->p.vxlan_port, .ring_size = d->p.xdp_ring,
	    .xsk_mode = d->p.io == DP_IO_AUTO && d->p.xdp_mode == XSK_MODE_AUTO ?
	    XSK_MODE_NATIVE : d->p.xdp_mode,
	    .fast_rules = d->p.mode == DP_GATEWAY ? d->p.xdp_fast_rules : 0,
	    .fast_vnis = d->p.xdp_fast_vnis, .fast_ttl_ns = d->p.xdp_fast_ttl_ns };
	char why[256];
	int r;

	if ((r = xdpio_new(&d->x, d->l, &xp, &d->pool, d->c, on_udp_rx, pkt_done, d, why,
	    sizeof(why))) == 0) {
		udpio_set_bypass(d->u, xdpio_send, d->x, d->p.xdp_socket_runs);
		log_info("underlay: AF_XDP on %s (forwarder.io = \"%s\")", xdpio_describe(d->x),
		    d->p.io == DP_IO_XDP ? "xdp" : "auto");
		return 0;
	}
	if (d->p.io == DP_IO_XDP) {
		snprintf(err, errlen, "forwarder.io = \"xdp\": %s", why);
		return r;
	}
	log_info("underlay: the UDP socket (forwarder.io = \"auto\": no AF_XDP: %s)", why);
	return 0;
}

struct dp *
dp_new(struct loop *l, const struct dp_params *p, struct forwarder_counters *c, char *err,
    size_t errlen)
{
	struct dp *d = calloc(1, sizeof(*d));

	/* The limiter is the vswitch's: a gateway sets no learn bit. */
	if (d == NULL || (p->mode == DP_VSWITCH && (d->ll = learnlim_new(p->learn_slots,
	    p->learn_interval_ns)) == NULL) || pkt_pool_init(&d->pool, p->bufs) < 0) {
		snprintf(err, errlen, "forwarder: out of memory for %u buffers and %u learn "
		    "slots", p->bufs, p->learn_slots);
		if (d)
			learnlim_free(d->ll);
		free(d);
		return NULL;
	}
	d->l = l;
	d->p = *p;
	d->c = c;
	d->self = ntohl(p->listen.sin_addr.s_addr);
	d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	if (udpio_new(&d->u, l, &p->listen, &d->pool, p->udp_recvs, c, on_udp_rx, pkt_done, d,
	    err, errlen) < 0) {
		pkt_pool_free(&d->pool);
		learnlim_free(d->ll);
		free(d);
		return NULL;
	}
	/* The segment outlives a process: a restart on the socket must not show the last xdp. */
	STATS_SET(c, io_xdp, 0);
	if (p->io != DP_IO_SOCKET && xdp_setup(d, err, errlen) < 0) {
		udpio_free(d->u);
		pkt_pool_free(&d->pool);
		learnlim_free(d->ll);
		free(d);
		return NULL;
	}
	/* Half of what the pool has left for reads, the other half for frames in flight. */
	d->tap_budget = d->pool.nfree > udpio_reserved(d->u) ?
	    (d->pool.nfree - udpio_reserved(d->u)) / 2 : 1;
	loop_set_flush(l, dp_flush, d);
	dp_flush(d);
	return d;
}

void
dp_stop(struct dp *d)
{
	udpio_flush(d->u);
	if (d->x)
		xdpio_flush(d->x, 0);		/* kick what the socket's queue handed over */
	d->stopping = true;
	loop_set_flush(d->l, NULL, NULL);
	udpio_stop(d->u);
	if (d->x)
		xdpio_stop(d->x);
	d->cancel_op = (struct loop_op){ .cb = loop_op_ignore, .arg = d };
	if (d->vp)
		for (uint32_t i = 0; i < vports_max(d->vp); i++) {
			struct vport *v = vports_at(d->vp, i);

			if (v->fd >= 0 && v->inflight > 0)
				io_uring_prep_cancel_fd(loop_sqe(d->l, &d->cancel_op), v->fd,
				    IORING_ASYNC_CANCEL_ALL);
		}
}

void
dp_free(struct dp *d)
{
	if (d == NULL)
		return;
	xdpio_free(d->x);
	udpio_free(d->u);
	pkt_pool_free(&d->pool);
	learnlim_free(d->ll);
	free(d);
}

void
dp_set_table(struct dp *d, struct table *t)
{
	d->t = t;
	STATS_SET(d->c, table_attached, t != NULL);
}

void
dp_set_vports(struct dp *d, struct vports *vp)
{
	d->vp = vp;
}

void
dp_set_learn_ring(struct dp *d, struct ring *r)
{
	d->learn = r;
}

void
dp_set_vteps(struct dp *d, const struct vtepset *v)
{
	d->vteps = v;
}

void
dp_tick(struct dp *d)
{
	STATS_SET(d->c, bufs_free, d->pool.nfree);
	STATS_SET(d->c, vteps, d->vteps ? vtepset_count(d->vteps) : 0);
	STATS_SET(d->c, vteps_loaded, d->vteps && vtepset_loaded(d->vteps));
	udpio_tick(d->u);
	if (d->x) {
		xdpio_tick(d->x);
		xdpio_fast_tick(d->x, d->t, d->vteps);
	}
}
