/*
 * xdpfast: a gateway's rule cache in its XDP program (xdp_vxlan.h), with
 * forwarder.io = "xdp" (docs/forwarder.md, "The gateway's rule cache"). The program
 * relays a datagram itself (XDP_TX) when the cache holds a valid rule for its (VNI,
 * inner destination) and its source is in the allow-list's mirror; everything else still
 * reaches the forwarder through its XSK, as before, so the cache only ever holds what
 * the forwarder decided.
 *
 * What goes in: a rule the forwarder relayed by, once its destination was relayed twice
 * within the TTL (so that destinations drawn at random from millions, seen once each,
 * do not churn it); and the next hop of its VTEP (neigh_peek), with the TTL. When the
 * cache can hold every rule of the table (xdp_fast_rules at least 9/8 of its rules), it
 * is a mirror: every rule goes in from the table itself, loaded a VNI at a time, and
 * the table's changes are put as they come. What goes out: a next hop past its TTL (so
 * that each VTEP's datagram goes through the forwarder now and then: its neighbour
 * refresh needs one), and every next hop when one or a route changed; each tick, the
 * rules a VNI's new versions changed (the table's change walk), or all of a VNI's when
 * its generation changed, it was flushed or dropped, or its changes cannot be walked;
 * every source when the allow-list changed. So a rule the table no longer holds is
 * relayed for at most one tick after the table changed (the forwarder's 10 ms).
 *
 * If the driver counts XDP_TX failures and nearly every frame relayed over a window of
 * 256, or of those up to the 16th failure, failed (a veth whose peer has no XDP program
 * delivers none), the cache is switched off, said in the log and in the gauge
 * xdp_fast_on, and tried again after 1 s, then twice as long each time up to 5 min (each
 * trial ends at its 4th failure); a share of failures under load (a full send ring) is
 * only counted, in xdp_fast_tx_errors. Off, the cache is kept up all the same.
 */
#ifndef FORWARDER_XDPFAST_H
#define FORWARDER_XDPFAST_H

#include "counters.h"
#include "xsk.h"
#include "shm/table.h"
#include "shm/vtepset.h"

#include <stdbool.h>
#include <stdint.h>

struct xdpfast;

/*
 * NULL when out of memory. rules: the program's (xsk_params.fast_rules); vnis: VNIs
 * tracked at most (a rule of one more is not put); self, port: this gateway's VTEP (host
 * order) and the VXLAN port, the relay's.
 */
struct xdpfast *xdpfast_new(struct xsk *x, uint32_t rules, uint32_t vnis, uint64_t ttl_ns,
    uint32_t self, uint16_t port, struct forwarder_counters *c);
void xdpfast_free(struct xdpfast *f);

/* The next hop's MAC for vtep (host order) and the interface's own: false, not known. */
typedef bool xdpfast_hop_fn(void *arg, uint32_t vtep, uint8_t nh_mac[6], uint8_t src_mac[6]);

/*
 * A datagram to (r->vni, r->ip), host order, relayed by the table's rule r. hop is asked
 * only when the next hop is to be put. Rules are batched: xdpfast_flush puts the batch
 * in the program.
 */
void xdpfast_offer(struct xdpfast *f, const struct table_rule *r, xdpfast_hop_fn *hop,
    void *arg, uint64_t now);
void xdpfast_flush(struct xdpfast *f);
/*
 * Periodic (each tick): what expires the cache's contents (above), and the program's
 * counters folded into the forwarder's (rx_vxlan, tx_relayed, bytes, xdp_fast...).
 * neigh_changes: a number that changes whenever a next hop or route did.
 */
void xdpfast_tick(struct xdpfast *f, struct table *t, const struct vtepset *v,
    uint64_t neigh_changes);

#endif
