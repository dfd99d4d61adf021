/*
 * udpio: the forwarder's VXLAN socket, the underlay backend of forwarder.io = "socket"
 * (docs/forwarder.md), and the kernel's path in xdp mode: what the XDP program passes
 * to the kernel arrives here, and what AF_XDP cannot send (a VTEP whose neighbour is not
 * known yet, a datagram past the underlay's MTU) leaves here.
 *
 * Receives: one multishot recvmsg filling buffers from a ring of provided buffers, the
 * pool's first ones, which go back to that ring (udpio_release), not to the pool; on a
 * kernel without provided-buffer rings, `recvs` single receives. Sends: tx.c (a batch in
 * one sendmmsg, runs to one VTEP as UDP GSO messages).
 */
#ifndef FORWARDER_UDPIO_H
#define FORWARDER_UDPIO_H

#include "counters.h"
#include "pkt.h"
#include "tx.h"
#include "common/loop.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct udpio;

/* A datagram arrived in p: its source in p->addr, the payload at p->off, p->len. */
typedef void udpio_rx_fn(struct pkt *p, void *arg);

/*
 * Bind listen, and take the ring's buffers from pool, which must be fresh (nothing handed
 * out yet). done gets every buffer a send is done with. 0 or a negative errno, err said.
 */
int udpio_new(struct udpio **out, struct loop *l, const struct sockaddr_in *listen,
    struct pkt_pool *pool, uint32_t recvs, struct forwarder_counters *c, udpio_rx_fn *rx,
    tx_done_fn *done, void *arg, char *err, size_t errlen);
/* Cancels what is in flight (then loop_settle, then udpio_free). */
void udpio_stop(struct udpio *u);
void udpio_free(struct udpio *u);

/* Queue p's data (VXLAN header first) for ip:port; it leaves at udpio_flush. */
void udpio_send(struct udpio *u, struct pkt *p, uint32_t ip, uint16_t port);
/* What tx_set_bypass says: xdp mode sends short runs through AF_XDP. */
void udpio_set_bypass(struct udpio *u, tx_bypass_fn *fn, void *arg, uint32_t min_run);
/* Send what is queued and re-arm the receives. */
void udpio_flush(struct udpio *u);
/* true when p was one of the receive ring's buffers, now back in the ring. */
bool udpio_release(struct udpio *u, struct pkt *p);
/* Buffers the receives will take from the pool when armed (the ring's are taken). */
uint32_t udpio_reserved(const struct udpio *u);
/* The largest datagram a receive takes whole (a multishot one puts its source first). */
uint32_t udpio_dgram_max(const struct udpio *u);
/* Periodic: the socket's drops. */
void udpio_tick(struct udpio *u);

#endif
