/*
 * The forwarder's counters, declared once (shm/stats.h). Every frame received is either
 * sent (one of the tx_* paths) or dropped under exactly one drop_* reason.
 */
#ifndef FORWARDER_COUNTERS_H
#define FORWARDER_COUNTERS_H

#include "shm/stats.h"

#define FORWARDER_COUNTERS(X)						\
	X(rx_vxlan,        COUNTER, "VXLAN datagrams received")		\
	X(rx_tap,          COUNTER, "frames read from the VMs' TAPs")	\
	X(rx_bytes,        COUNTER, "bytes received (UDP payloads and TAP frames)") \
	X(rx_learn_bit,    COUNTER, "VXLAN frames received with the learn bit") \
	X(tx_direct,       COUNTER, "vswitch: frames sent straight to the rule's VTEP") \
	X(tx_gateway,      COUNTER, "vswitch: frames sent via a gateway (no rule)") \
	X(tx_learn,        COUNTER, "vswitch: of those, with the learn bit")	\
	X(learn_limit_full, COUNTER, "vswitch: of those, to a destination learn_slots had no room for") \
	X(tx_local,        COUNTER, "vswitch: frames between two VMs of this host") \
	X(tx_onward,       COUNTER, "vswitch: frames for a VM that left, sent on via a gateway") \
	X(tx_delivered,    COUNTER, "vswitch: frames from VXLAN written to a VM's TAP") \
	X(tx_relayed,      COUNTER, "gateway: frames relayed to the rule's VTEP") \
	X(tx_bytes,        COUNTER, "bytes sent (UDP payloads and TAP frames)") \
	X(tx_gso,          COUNTER, "runs of datagrams to one VTEP sent as one UDP GSO message") \
	X(arp_replies,     COUNTER, "ARP requests answered")			\
	X(learn_req,       COUNTER, "gateway: learn requests put on syncd's ring") \
	X(learn_ring_full, COUNTER, "gateway: learn requests dropped: ring full") \
	X(drop_unknown_vtep, COUNTER, "dropped: VXLAN from a VTEP the controller does not know") \
	X(drop_no_vteps,   COUNTER, "dropped: VXLAN while the VTEP list was never loaded yet") \
	X(drop_malformed,  COUNTER, "dropped: not VXLAN (short, bad flags, reserved bits)") \
	X(drop_truncated,  COUNTER, "dropped: larger than a buffer")	\
	X(drop_bad_frame,  COUNTER, "dropped: inner frame too short or bad IPv4 header") \
	X(drop_unsupported, COUNTER, "dropped: not IPv4 nor an ARP request (IPv6, VLAN, ...)") \
	X(drop_group,      COUNTER, "dropped: multicast or broadcast IPv4 destination") \
	X(drop_spoofed,    COUNTER, "dropped: a VM's frame with another source IP") \
	X(drop_no_rule,    COUNTER, "gateway: dropped: no rule for the destination") \
	X(drop_not_local,  COUNTER, "vswitch: dropped: from a gateway for a VM not here") \
	X(drop_loop,       COUNTER, "dropped: the rule points back at this VTEP") \
	X(drop_no_gateway, COUNTER, "vswitch: dropped: no rule and no gateway known") \
	X(drop_no_table,   COUNTER, "dropped: the node's rule table is not there yet") \
	X(drop_arp,        COUNTER, "ARP requests not answered (own address, unknown target)") \
	X(drop_nobuf,      COUNTER, "receives not re-armed at once: every buffer in use") \
	X(rx_errors,       COUNTER, "receives that failed")			\
	X(tx_errors,       COUNTER, "sends and TAP writes that failed")	\
	X(tap_errors,      COUNTER, "TAPs that could not be opened (retried)") \
	X(ports,           GAUGE,   "vswitch: VM ports with their TAP open") \
	X(bufs_free,       GAUGE,   "packet buffers free")			\
	X(rx_sock_drops,   GAUGE,   "datagrams the kernel dropped at the VXLAN socket since start (buffer full)") \
	X(table_attached,  GAUGE,   "1 once the node's rule table is attached") \
	X(loop_max_us,     GAUGE,   "the longest loop trip (one wake-up's work) in the last second, us") \
	X(loop_slow,       COUNTER, "loop trips of 1 ms or more (frames waited that long)") \
	X(vteps,           GAUGE,   "VTEPs in the list VXLAN is accepted from (gateways aside)") \
	X(vteps_loaded,    GAUGE,   "1 once the VTEP list is attached and was loaded whole") \
	X(io_xdp,          GAUGE,   "1: the underlay is AF_XDP (forwarder.io), 0: the UDP socket") \
	X(xdp_rx,          COUNTER, "xdp: of rx_vxlan, datagrams received on the AF_XDP sockets") \
	X(xdp_rx_bad,      COUNTER, "xdp: frames the XDP program passed up that are no IPv4/UDP datagram to this VTEP (in drop_malformed)") \
	X(xdp_tx,          COUNTER, "xdp: datagrams sent on the AF_XDP sockets")	\
	X(xdp_tx_socket,   COUNTER, "xdp: datagrams sent through the socket instead (next hop not known or due a refresh, past the MTU, a full ring)") \
	X(xdp_tx_ring_full, COUNTER, "xdp: of those, for a full XSK send ring") \
	X(xdp_tx_runs,     COUNTER, "xdp: datagrams sent through the socket in a UDP GSO run of xdp_socket_runs or more (cheaper than AF_XDP in copy mode)") \
	X(xdp_kicks,       COUNTER, "xdp: wake-ups of the kernel's XSK sender (io_uring sends)") \
	X(xdp_prog_redirect, GAUGE, "xdp: frames the XDP program gave the AF_XDP sockets, since attached") \
	X(xdp_prog_pass,   GAUGE,   "xdp: frames it passed to the kernel: not VXLAN to this VTEP") \
	X(xdp_prog_pass_frags, GAUGE, "xdp: frames it passed to the kernel: in several buffers (GSO)") \
	X(xdp_prog_no_xsk, GAUGE,   "xdp: frames it passed to the kernel: no AF_XDP socket on their queue") \
	X(xdp_prog_pass_big, GAUGE, "xdp: frames it passed to the kernel: longer than a buffer holds") \
	X(xsk_rx_dropped,  GAUGE,   "xdp: frames the AF_XDP sockets dropped (kernel's count: no room, invalid)") \
	X(xsk_rx_ring_full, GAUGE,  "xdp: of those, the receive ring full") \
	X(xsk_fill_empty,  GAUGE,   "xdp: times the fill ring was empty (kernel's count)") \
	X(xsk_tx_invalid,  GAUGE,   "xdp: send descriptors the kernel refused") \
	X(neigh_entries,   GAUGE,   "xdp: underlay next hops known (VTEP to MAC)") \
	X(neigh_misses,    COUNTER, "xdp: sends whose next hop was not known yet (through the socket)") \
	X(neigh_elsewhere, COUNTER, "xdp: sends to a VTEP routed out of another interface (through the socket)") \
	X(neigh_refreshes, COUNTER, "xdp: sends through the socket so that the kernel re-confirms a next hop") \
	X(xdp_fast,        COUNTER, "xdp: gateway: of tx_relayed, relayed by the XDP program from its rule cache") \
	X(xdp_fast_miss,   COUNTER, "xdp: gateway: datagrams the cache could take but held no valid rule for") \
	X(xdp_fast_puts,   COUNTER, "xdp: gateway: rules put in the XDP program's cache") \
	X(xdp_fast_evictions, COUNTER, "xdp: gateway: cached rules a put replaced, both their buckets full") \
	X(xdp_fast_put_errors, COUNTER, "xdp: gateway: cache writes the kernel refused") \
	X(xdp_fast_invalidations, COUNTER, "xdp: gateway: cache rules made invalid (a VNI, next hops, sources)") \
	X(xdp_fast_changed, COUNTER, "xdp: gateway: rules a table change took out of the cache (a mirror: put as they now are)") \
	X(xdp_fast_hop_puts, COUNTER, "xdp: gateway: next hops put in the XDP program's cache") \
	X(xdp_fast_no_next_hop, COUNTER, "xdp: gateway: relays whose VTEP's next hop is not known (not cached)") \
	X(xdp_fast_loaded, COUNTER, "xdp: gateway: rules the cache took from the table whole (a mirror)") \
	X(xdp_fast_vnis_full, COUNTER, "xdp: gateway: rules not cached: xdp_fast_vnis VNIs tracked already") \
	X(xdp_fast_offs,   COUNTER, "xdp: gateway: times the cache went off, its XDP_TX found not to deliver") \
	X(xdp_fast_trials, COUNTER, "xdp: gateway: times the cache went on again for a trial after that") \
	X(xdp_fast_on,     GAUGE,   "xdp: gateway: 1 while the XDP program relays from its rule cache") \
	X(xdp_fast_vnis,   GAUGE,   "xdp: gateway: VNIs the cache tracks") \
	X(xdp_fast_mirror, GAUGE,   "xdp: gateway: 1 while the cache has room for the whole table and mirrors it") \
	X(xdp_fast_load_pending, GAUGE, "xdp: gateway: VNIs the mirror has yet to load whole") \
	X(xdp_fast_tx_errors, GAUGE, "xdp: gateway: frames the driver failed to send with XDP_TX")
STATS_DECLARE(forwarder, FORWARDER_COUNTERS)

#endif
