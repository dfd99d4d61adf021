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
	__u32 fast;		/* 1: a gateway's rule cache (below) relays in the program */
	__u32 fast_buckets;	/* fast_rules' entries (fastrules_buckets) */
	__u64 fast_seed;	/* its hash's: random, so that no tenant picks collisions */
};

/*
 * The gateway's rule cache (xdpfast.h): a datagram the forwarder would relay as it is
 * (no learn bit, an IPv4 frame, from a VTEP of the allow-list) whose (VNI, inner
 * destination) has a valid rule here, to a VTEP with a valid next hop, is rewritten and
 * sent back out by the program itself (XDP_TX), as dp.c's relay would (tx_relayed).
 * Valid: the rule's vgen is the VNI's in fast_vnis (0 when absent); the next hop's gen
 * is fast_gen[XDP_FAST_GEN_HOPS] and it has not expired; the source's entry in
 * fast_srcs is fast_gen[XDP_FAST_GEN_SRCS]. Everything else goes to the XSK as before.
 * Rules do not expire (the table's changes take them out); next hops do, so that the
 * forwarder sees a datagram to each VTEP now and then (its neighbour refresh).
 */
struct xdp_fast_key {
	__u32 vni;		/* host order */
	__be32 ip;		/* the inner destination */
};

struct xdp_fast_rule {
	__u8 mac[6];		/* the inner destination's MAC */
	__be16 port;		/* the VTEP's VXLAN port */
	__be32 vtep;		/* its key in fast_hops */
	__u32 vgen;
};

/*
 * fast_rules is an ARRAY of buckets the forwarder maps into its memory and writes
 * (fastrules.h): a rule sits in one of XDP_FAST_WAYS slots of one of its key's two
 * buckets (xdp_fast_bucket_of). The forwarder is the one writer; a reader takes a slot
 * only when its seq was even before and unchanged after it read the rest (a seqlock).
 */
#define XDP_FAST_WAYS		4
#define XDP_FAST_USED_SHIFT	30	/* used: bpf_ktime_get_ns() >> this (about 1 s) */

struct xdp_fast_slot {
	__u32 seq;		/* odd while the forwarder rewrites the slot */
	__u32 vni;		/* host order; 0: the slot is free (no VNI here is 0) */
	__be32 ip;
	__be32 vtep;
	__u8 mac[6];
	__be16 port;
	__u32 vgen;
	__u32 used;		/* last put or relayed by: what the forwarder evicts by */
};

struct xdp_fast_bucket {
	struct xdp_fast_slot slot[XDP_FAST_WAYS];	/* 128 bytes: two cache lines */
};
_Static_assert(sizeof(struct xdp_fast_slot) == 32, "a slot: 32 bytes, 4 a bucket");

/*
 * The key's two buckets of n: which 0 or 1. A 64-bit mix (MurmurHash3's finaliser) of
 * the seeded key, each half mapped onto n by a multiply (no power of two needed).
 */
static inline __u32
xdp_fast_bucket_of(__u32 vni, __be32 ip, __u64 seed, __u32 n, int which)
{
	__u64 h = ((__u64)vni << 32 | (__u32)ip) ^ seed;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (__u32)(((which ? h & 0xffffffffull : h >> 32) * n) >> 32);
}

/* fast_hops' value, keyed by the VTEP's address (network order). */
struct xdp_fast_hop {
	__u8 nh_mac[6];		/* the underlay next hop's */
	__u8 src_mac[6];	/* the interface's own */
	__u32 gen;
	__u64 expires;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC; the program extends it
				 * by XDP_FAST_GRACE_NS once past it */
};

/*
 * An expired next hop sends one datagram to the forwarder (which puts it again) and
 * stays valid for this long more, so that a VTEP's datagrams are not all sent up
 * meanwhile.
 */
#define XDP_FAST_GRACE_NS	(50ull * 1000 * 1000)

/* Slots of the ARRAY "fast_gen" (one __u32 each). */
enum {
	XDP_FAST_GEN_HOPS,	/* bumped: every next hop invalid (a MAC or a route changed) */
	XDP_FAST_GEN_SRCS,	/* the allow-list's entries of this generation are the valid ones */
	XDP_FAST_ON,		/* 0: the cache is off (XDP_TX found not to deliver) */
	XDP_FAST_NGEN
};

/* Slots of the PERCPU_ARRAY "counters", one __u64 each. */
enum xdp_vxlan_counter {
	XDP_VXLAN_REDIRECT,	/* ours, redirected to the queue's XSK */
	XDP_VXLAN_PASS,		/* not ours: to the kernel */
	XDP_VXLAN_PASS_FRAGS,	/* a multi-buffer frame: to the kernel, whatever it holds */
	XDP_VXLAN_NO_XSK,	/* ours, but no XSK on that queue: to the kernel */
	XDP_VXLAN_PASS_BIG,	/* ours, but longer than an XSK frame: to the kernel */
	XDP_VXLAN_FAST,		/* ours, relayed from the rule cache (XDP_TX) */
	XDP_VXLAN_NTERMINAL,	/* the slots above: one a frame */
	XDP_VXLAN_FAST_BYTES = XDP_VXLAN_NTERMINAL,	/* their UDP payloads' bytes */
	XDP_VXLAN_FAST_MISS,	/* of REDIRECT, the cache could take but held no valid rule */
	XDP_VXLAN_NCOUNTERS
};

#endif
