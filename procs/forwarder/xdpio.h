/*
 * xdpio: the underlay backend of forwarder.io = "xdp" (DESIGN.md §11, docs/forwarder.md):
 * AF_XDP sockets on the interface holding this node's VTEP, fed by the project's own XDP
 * program (xdp_vxlan.bpf.c, loaded by xsk.c), which passes them only UDP to this VTEP's
 * VXLAN port; everything else (ARP, sync, the controller's TCP) goes to the kernel.
 *
 * The pool's buffers are the UMEM: a frame goes from an XSK receive (or a TAP read) to an
 * XSK send (or a TAP write) in the buffer it came in. The forwarder writes the underlay's
 * headers itself (common/ulhdr.h), the next hop's MAC from the kernel's neighbour table
 * (neigh.c): a datagram that cannot go this way (its VTEP's neighbour not known yet, or
 * due a refresh by the kernel, past the MTU, a full ring) is left to the caller, who
 * sends it through the kernel's socket (udpio.h), which resolves what is missing.
 *
 * Everything is driven from the loop: a poll a socket wakes it for receives, its flush
 * drains them; sends are kicked by an io_uring send, completions taken back at the flush.
 */
#ifndef FORWARDER_XDPIO_H
#define FORWARDER_XDPIO_H

#include "counters.h"
#include "pkt.h"
#include "tx.h"
#include "udpio.h"
#include "common/loop.h"
#include "shm/table.h"
#include "shm/vtepset.h"

#include <stdbool.h>
#include <stdint.h>

struct xdpio_params {
	const char *ifname;	/* the underlay interface; NULL: the one holding self */
	uint32_t self;		/* this node's VTEP, host order */
	uint16_t port;		/* the VXLAN port, this node's and the others' */
	uint32_t ring_size;	/* entries of each XSK ring */
	int xsk_mode;		/* XSK_MODE_* of xsk.h */
	/* A gateway's rule cache in the XDP program (xdpfast.h); 0 rules: none. */
	uint32_t fast_rules;
	uint32_t fast_vnis;
	uint64_t fast_ttl_ns;
};

struct xdpio;

/*
 * Attach to the interface and take what the fill rings need from pool, whose memory
 * becomes the UMEM. rx gets every datagram received (its source in p->addr, the VXLAN
 * payload at p->off), done every buffer a send is done with. 0 or a negative errno, err
 * said (the caller falls back to sockets).
 */
int xdpio_new(struct xdpio **out, struct loop *l, const struct xdpio_params *p,
    struct pkt_pool *pool, struct forwarder_counters *c, udpio_rx_fn *rx,
    tx_done_fn *done, void *arg, char *err, size_t errlen);
void xdpio_stop(struct xdpio *x);
void xdpio_free(struct xdpio *x);

/*
 * Send p's data (VXLAN header first) to p->addr (tx.h's queue set it); false: not this
 * way, p untouched. A tx_bypass_fn: the socket's queue hands it its short runs.
 */
bool xdpio_send(struct pkt *p, void *x);
/*
 * Kick what was sent, take back the buffers sent, refill the fill rings, then hand up to
 * max received datagrams to rx. Returns how many it handed; called until it returns 0.
 */
uint32_t xdpio_flush(struct xdpio *x, uint32_t max);
/*
 * Gateway: a datagram to (r->vni, r->ip) relayed by r to its VTEP's port: the rule cache
 * may take the rule (xdpfast.h). Nothing when there is no cache.
 */
void xdpio_offer(struct xdpio *x, const struct table_rule *r);
/* Periodic, each tick: what invalidates the rule cache (xdpfast_tick). */
void xdpio_fast_tick(struct xdpio *x, struct table *t, const struct vtepset *v);
/* The loop must come back at once (datagrams left to receive). */
void xdpio_wake(struct xdpio *x);
/* Periodic: gauges, the program's and the sockets' counters, the MTU. */
void xdpio_tick(struct xdpio *x);
/* "eth0, native, copy" */
const char *xdpio_describe(const struct xdpio *x);

#endif
