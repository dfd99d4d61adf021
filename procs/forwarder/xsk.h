/*
 * xsk: the forwarder's AF_XDP underlay. One XSK a receive queue of the underlay
 * interface, all on one UMEM (the caller's packet buffers), and the project's XDP program
 * (xdp_vxlan.bpf.c, embedded) attached to the interface to send them the VXLAN datagrams
 * to this node's VTEP and port; everything else reaches the kernel as before. Frames go
 * from the RX rings to the caller and back through the fill rings; the caller's frames go
 * out through the TX ring and come back through the completion rings: the caller owns
 * every frame not on a ring, and addresses are offsets in the UMEM.
 *
 * The program is attached through a BPF link: it goes with the process however that ends,
 * and it never replaces a program someone else attached (xsk_open fails instead).
 * Not thread-safe: one loop drives it.
 */
#ifndef FORWARDER_XSK_H
#define FORWARDER_XSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xsk_mode {
	XSK_MODE_AUTO,		/* native XDP where the driver has it, else generic */
	XSK_MODE_NATIVE,
	XSK_MODE_SKB,		/* generic XDP: any interface, a copy on the way */
};

struct xsk_params {
	const char *ifname;	/* the underlay interface holding the VTEP address */
	uint32_t ip;		/* this node's VTEP, network order */
	uint16_t port;		/* the VXLAN port, host order */
	void *umem;		/* the packet buffers: page aligned, n_frames * frame_size */
	uint32_t n_frames;	/* at least 2 * ring_size */
	uint32_t frame_size;	/* 2048 or 4096 (the kernel's aligned chunk sizes) */
	uint32_t ring_size;	/* rx/tx/fill/completion entries per queue, power of 2 */
	int mode;		/* enum xsk_mode */
	/* The program's rule cache (xdp_vxlan.h): 0 rules, off. */
	uint32_t fast_rules;	/* rules it holds (fastrules.h) */
	uint32_t fast_vnis;	/* VNIs with a generation of their own */
	uint32_t fast_srcs;	/* VTEPs of the allow-list */
	uint32_t fast_hops;	/* VTEPs relayed to, with their next hops (LRU) */
};

/*
 * A frame: addr is the offset of its data in the UMEM. Received: XSK_RX_HEADROOM past
 * the frame's base (base = addr & ~(frame_size - 1)). To send: anywhere in a frame, as
 * long as addr + len stays in it.
 */
struct xsk_desc {
	uint64_t addr;
	uint32_t len;
};

/*
 * Where the kernel puts a received frame's data: XSK_RX_HEADROOM bytes after the
 * frame's base (XDP_PACKET_HEADROOM), so a frame holds at most frame_size - 256 bytes.
 */
#define XSK_RX_HEADROOM	256

struct xsk;

/*
 * 0, or a negative errno and one line in err saying what failed and why (the interface
 * does not exist, has no XDP, the program does not load...), with nothing left attached
 * or open: the caller falls back to its UDP socket.
 */
int xsk_open(struct xsk **out, const struct xsk_params *p, char *err, size_t errlen);
/* Detaches the program, closes the XSKs; the UMEM is the caller's again. NULL: nothing. */
void xsk_close(struct xsk *x);

uint32_t xsk_nqueues(const struct xsk *x);
/* Queue q's XSK, to poll (POLLIN: its RX ring has frames). */
int xsk_fd(const struct xsk *x, uint32_t q);

/* Up to max received frames, from every queue. Each is the caller's until it fills it. */
uint32_t xsk_rx(struct xsk *x, struct xsk_desc *d, uint32_t max);
/* Frames for the kernel to receive into, by their base offsets: how many it took. */
uint32_t xsk_fill(struct xsk *x, const uint64_t *addrs, uint32_t n);
/* How many more frames the fill rings can take. */
uint32_t xsk_fill_want(const struct xsk *x);

/*
 * Queues frames to send: how many it took (the TX ring may be full). All go on queue 0's
 * XSK: a veth has one TX path, and one ring keeps the order. They leave once kicked.
 */
uint32_t xsk_tx(struct xsk *x, const struct xsk_desc *d, uint32_t n);
bool xsk_tx_needs_kick(const struct xsk *x, uint32_t q);
/*
 * Wakes the kernel on each XSK that needs it (sendto, MSG_DONTWAIT): it sends what is
 * queued (in copy mode a batch a call: it calls again while frames remain, a bounded
 * number of times). 0, or a negative errno (-EBUSY: the completion ring is full,
 * collect completions first; -ENOBUFS: no memory for now).
 */
int xsk_kick(struct xsk *x);
/* Up to max sent frames' addresses (as given to xsk_tx), the caller's again. */
uint32_t xsk_complete(struct xsk *x, uint64_t *addrs, uint32_t max);

/*
 * The program's rule cache (xdp_vxlan.h: what each field means), written by the caller
 * (xdpfast.c); the rules through a mapping of their map (fastrules.h), the rest a
 * syscall or one batch each. 0 or a negative errno.
 */
struct xdp_fast_key;
struct xdp_fast_rule;
struct xdp_fast_hop;
bool xsk_fast_on(const struct xsk *x);
/* n rules in; how many others they evicted (fastrules_put), or a negative errno. */
int xsk_fast_put(struct xsk *x, const struct xdp_fast_key *k, const struct xdp_fast_rule *r,
    uint32_t n);
/* One rule out (absent: fine). */
int xsk_fast_del(struct xsk *x, const struct xdp_fast_key *k);
/* The next hop to the VTEP vtep (network order). */
int xsk_fast_hop_put(struct xsk *x, uint32_t vtep, const struct xdp_fast_hop *h);
/* A generation slot of fast_gen (XDP_FAST_GEN_*, XDP_FAST_ON). */
int xsk_fast_gen_set(struct xsk *x, uint32_t slot, uint32_t gen);
int xsk_fast_vni_set(struct xsk *x, uint32_t vni, uint32_t gen);
/* The VNI's entry out (absent: fine): to the program, its generation is 0 again. */
int xsk_fast_vni_del(struct xsk *x, uint32_t vni);
/* Sources (network order) allowed at generation gen; then those of other ones deleted. */
int xsk_fast_srcs_put(struct xsk *x, const uint32_t *ips, uint32_t n, uint32_t gen);
int xsk_fast_srcs_prune(struct xsk *x, uint32_t gen);
/* The program's counters of the cache: frames relayed, their payloads' bytes, misses. */
void xsk_fast_counters(const struct xsk *x, uint64_t *frames, uint64_t *bytes,
    uint64_t *miss);
/*
 * Frames XDP_TX could not send since xsk_open, as the interface's driver counts them
 * (its ethtool counters named *xdp_tx_err*, summed): on a veth whose peer has no XDP
 * program, every one. 0 when it counts none. Never less than the last answer: when the
 * driver's counters reset or change (ethtool -L), what happened since the last call may
 * go uncounted, never counted twice.
 */
uint64_t xsk_xdp_tx_errors(struct xsk *x);

struct xsk_stats {
	uint64_t prog_redirect;	/* the program: redirected to an XSK */
	uint64_t prog_pass;	/* ... passed to the kernel: not a VXLAN datagram of ours */
	uint64_t prog_pass_frags;	/* ... passed: a multi-buffer frame */
	uint64_t prog_no_xsk;	/* ... passed: ours, but its queue had no XSK */
	uint64_t prog_pass_big;	/* ... passed: ours, but longer than a frame's room */
	uint64_t prog_fast;	/* ... relayed from the rule cache (XDP_TX) */
	uint64_t prog_fast_bytes;	/* ... their UDP payloads' bytes */
	uint64_t prog_fast_miss;	/* of prog_redirect: the cache had no valid rule */
	uint64_t rx_dropped;	/* the kernel's XDP_STATISTICS, summed over the XSKs */
	uint64_t rx_ring_full;
	uint64_t fill_empty;
	uint64_t rx_invalid;
	uint64_t tx_invalid;
	uint64_t tx_ring_empty;
};

void xsk_stats_read(const struct xsk *x, struct xsk_stats *s);
/* "native copy", "native zero-copy", "generic copy". */
const char *xsk_mode_name(const struct xsk *x);

#endif
