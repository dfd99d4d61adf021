/*
 * dp: the forwarder's data path (DESIGN.md §3): its decisions, and on a host the VMs'
 * TAPs, on the loop's io_uring. The underlay is a backend under it (DESIGN.md §11):
 * the VXLAN socket (udpio.h) always, and AF_XDP (xdpio.h) with forwarder.io = "xdp";
 * a backend hands it datagrams in buffers and sends what it is given. Completions are
 * collected and handled as one batch after each trip through the loop
 * (loop_set_flush): the batch's rule lookups are made together, inside one read section of the node's table, and every frame goes out
 * from the buffer it came in. On a host those lookups also record that each rule found
 * is in use, so the learner's eviction keeps the rules of live flows (shm/table.h).
 *
 * vswitch (a host): a VM's frame goes to the local VM, or straight to the rule's VTEP,
 * or, with no rule, to a gateway chosen by hash with the learn bit (at most once per
 * destination per learn_interval); ARP is answered here. A VXLAN frame is delivered to
 * its VM's TAP, or sent on via a gateway when the VM has left.
 * gateway: a VXLAN frame goes to its rule's VTEP with the learn bit cleared; when the bit
 * was set, a learn request goes to syncd's ring. ARP from external hosts is answered.
 *
 * Before anything in it is read, a VXLAN datagram's source must be a VTEP the controller
 * knows (DESIGN.md §9): on a gateway, a host's (the rule-store's VTEP list); on a host,
 * a gateway's (the table's peers) or another vswitch's (the learner's VTEP list).
 * Everything else is dropped, and so is everything not from a gateway until the list
 * was loaded once (a list not yet loaded would let anyone in).
 */
#ifndef FORWARDER_DP_H
#define FORWARDER_DP_H

#include "counters.h"
#include "vports.h"
#include "common/loop.h"
#include "shm/ring.h"
#include "shm/table.h"
#include "shm/vtepset.h"

#include <netinet/in.h>
#include <stdint.h>

enum dp_mode { DP_VSWITCH = 1, DP_GATEWAY = 2 };
/* forwarder.io: the underlay's I/O (docs/forwarder.md, "Underlay I/O") */
enum dp_io { DP_IO_SOCKET = 1, DP_IO_XDP = 2, DP_IO_AUTO = 3 };

struct dp_params {
	enum dp_mode mode;
	struct sockaddr_in listen;	/* this node's VTEP (a real address) */
	uint16_t vxlan_port;		/* of the other VTEPs */
	uint64_t learn_interval_ns;
	uint32_t learn_slots;		/* destinations the learn-bit limiter remembers */
	uint8_t router_mac[6];
	uint32_t bufs;			/* packet buffers */
	uint32_t udp_recvs;		/* receives in flight on the VXLAN socket */
	uint32_t tap_recvs;		/* reads in flight on each TAP */
	enum dp_io io;
	const char *xdp_ifname;		/* NULL: the interface holding listen's address */
	uint32_t xdp_ring;		/* entries of each AF_XDP ring */
	int xdp_mode;			/* XSK_MODE_* (xsk.h) */
	uint32_t xdp_socket_runs;	/* runs this long leave through the socket; 0: none */
	uint32_t xdp_fast_rules;	/* gateway: the XDP program's rule cache; 0: none */
	uint32_t xdp_fast_vnis;
	uint64_t xdp_fast_ttl_ns;
};

struct dp;

struct dp *dp_new(struct loop *l, const struct dp_params *p, struct forwarder_counters *c,
    char *err, size_t errlen);
/* Cancels what is in flight: loop_settle, then dp_free. */
void dp_stop(struct dp *d);
void dp_free(struct dp *d);

void dp_set_table(struct dp *d, struct table *t);
void dp_set_vports(struct dp *d, struct vports *vp);
void dp_set_learn_ring(struct dp *d, struct ring *r);
/* The VTEP list VXLAN is accepted from (the learner's or the rule-store's). */
void dp_set_vteps(struct dp *d, const struct vtepset *v);
/* vports_open_fn: start reading a TAP just opened. */
void dp_port_opened(struct vport *v, void *arg);
/* Periodic: the gauges. */
void dp_tick(struct dp *d);

#endif
