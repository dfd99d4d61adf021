/*
 * xdp_vxlan: what the forwarder's XDP program (xdp_vxlan.bpf.c) and its loader (xsk.c)
 * share: the configuration the loader writes into the program's .rodata.cfg before
 * loading it, and the slots of its counter map.
 */
#ifndef FORWARDER_XDP_VXLAN_H
#define FORWARDER_XDP_VXLAN_H

#include <linux/types.h>

/*
 * The one destination that goes to the XSKs: this node's VTEP and the VXLAN port; and
 * the longest frame an XSK's frame holds (the kernel drops a longer one).
 */
struct xdp_vxlan_cfg {
	__be32 ip;
	__be16 port;
	__u16 max_len;
};

/* Slots of the PERCPU_ARRAY "counters", one __u64 each. */
enum xdp_vxlan_counter {
	XDP_VXLAN_REDIRECT,	/* ours, redirected to the queue's XSK */
	XDP_VXLAN_PASS,		/* not ours: to the kernel */
	XDP_VXLAN_PASS_FRAGS,	/* a multi-buffer frame: to the kernel, whatever it holds */
	XDP_VXLAN_NO_XSK,	/* ours, but no XSK on that queue: to the kernel */
	XDP_VXLAN_PASS_BIG,	/* ours, but longer than an XSK frame: to the kernel */
	XDP_VXLAN_NCOUNTERS
};

#endif
