/*
 * xdp_vxlan: the forwarder's XDP program (built with clang -target bpf, embedded in the
 * forwarder by xsk.c). It hands the XSK of the receiving queue exactly the frames the
 * forwarder's AF_XDP path can take whole: one buffer, Ethernet without a VLAN tag, IPv4
 * that is not a fragment, UDP to this node's VTEP and VXLAN port. Everything else goes
 * to the kernel untouched (ARP, sync and learn datagrams, the controller's TCP), and so
 * does a VXLAN datagram in several buffers or longer than an XSK frame: the forwarder
 * reads those on its UDP socket. Every frame lands in one counter.
 *
 * A gateway's forwarder also keeps a cache of the rules it relays by (xdpfast.h): a
 * datagram it would relay unchanged but for the rewrite, to a destination of a valid
 * rule whose VTEP has a valid next hop, from a source of the allow-list, is rewritten
 * here and sent back out (XDP_TX).
 * The checks are those of the forwarder's parsers (ulhdr.c, vxlan.c) or stricter: what
 * the program relays the forwarder would have relayed the same way; anything else goes to
 * the XSK, and the forwarder decides.
 *
 * "xdp.frags": veth gives a native program a UDP GSO message as one multi-buffer frame,
 * and drops it when the program was loaded without frags support.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_vxlan.h"

/* Written by the loader before the program is loaded: a constant to the verifier. */
SEC(".rodata.cfg") const volatile struct xdp_vxlan_cfg cfg = { 0 };

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_VXLAN_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Sized by the loader (xsk.c): one entry when the cache is off; written by the forwarder
 * through its mapping (fastrules.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_fast_bucket);
} fast_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fast_vnis SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __be32);
	__type(value, __u32);
} fast_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __be32);
	__type(value, struct xdp_fast_hop);
} fast_hops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDP_FAST_NGEN);
	__type(key, __u32);
	__type(value, __u32);
} fast_gen SEC(".maps");

static __always_inline void
add(__u32 slot, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);

	if (c)
		*c += n;
}

static __always_inline int
count(__u32 slot, int action)
{
	add(slot, 1);
	return action;
}

static __always_inline __u32
gen(__u32 slot)
{
	__u32 *g = bpf_map_lookup_elem(&fast_gen, &slot);

	return g ? *g : 0;
}

#define READ_ONCE(x)	(*(const volatile typeof(x) *)&(x))
#define barrier()	asm volatile("" ::: "memory")

/*
 * The rule for (vni, ip) copied out of its slot, which *at points to: 0, or -1 when not
 * in the cache or being rewritten. The seqlock's reader (fastrules.c's slot_write is the
 * writer): the JIT keeps these loads in order and x86 does not reorder loads, so the
 * compiler barriers are all it takes here.
 */
static __always_inline int
rule_find(__u32 vni, __be32 ip, struct xdp_fast_rule *out, struct xdp_fast_slot **at)
{
#pragma unroll
	for (int c = 0; c < 2; c++) {
		__u32 i = xdp_fast_bucket_of(vni, ip, cfg.fast_seed, cfg.fast_buckets, c);
		struct xdp_fast_bucket *b = bpf_map_lookup_elem(&fast_rules, &i);

		if (!b)
			return -1;
#pragma unroll
		for (int w = 0; w < XDP_FAST_WAYS; w++) {
			struct xdp_fast_slot *s = &b->slot[w];
			__u32 seq = READ_ONCE(s->seq);

			barrier();
			if (READ_ONCE(s->vni) != vni || READ_ONCE(s->ip) != ip)
				continue;
			__builtin_memcpy(out->mac, s->mac, ETH_ALEN);
			out->port = s->port;
			out->vtep = s->vtep;
			out->vgen = s->vgen;
			barrier();
			if ((seq & 1) || READ_ONCE(s->seq) != seq)
				return -1;
			*at = s;
			return 0;
		}
	}
	return -1;
}

/* The ones' complement sum of an IPv4 header without options, folded. */
static __always_inline __u16
ip_fold(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		s += w[i];
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* 34: an inner Ethernet and IPv4 header (vxlan.h's FRAME_MIN). */
#define INNER_MIN	34

/*
 * The relay from the cache: XDP_TX, or -1 when the forwarder must see the frame. What
 * ulhdr_parse, vxlan_parse and frame_parse accept, narrowed to the common case: no IPv4
 * options outside, no learn bit (a learn request is the forwarder's to make).
 */
static __always_inline int
fast(struct ethhdr *eth, struct iphdr *ip, struct udphdr *udp, void *data_end)
{
	__u8 *vx = (void *)(udp + 1);
	struct ethhdr *ie = (void *)(vx + 8);
	struct iphdr *iip = (void *)(ie + 1);
	struct xdp_fast_rule rule, *r = &rule;
	struct xdp_fast_slot *slot;
	struct xdp_fast_hop *h;
	__u32 *sg, *vg, tot, ilen, ihl, vni, used;
	__be32 vtep;
	__u64 now;

	if ((void *)(iip + 1) > data_end || ip->ihl != 5)
		return -1;
	tot = bpf_ntohs(ip->tot_len);
	if (tot > (__u32)(data_end - (void *)ip) || tot < 20 + 8 + 8 + INNER_MIN ||
	    bpf_ntohs(udp->len) != tot - 20)
		return -1;
	if (vx[0] != 0x08 || vx[1] != 0 || vx[2] != 0 || vx[3] != 0 || vx[7] != 0)
		return -1;
	ilen = tot - 20 - 8 - 8;
	ihl = iip->ihl * 4;
	if (ie->h_proto != bpf_htons(ETH_P_IP) || iip->version != 4 || ihl < 20 ||
	    ilen < ETH_HLEN + ihl || bpf_ntohs(iip->tot_len) < ihl ||
	    bpf_ntohs(iip->tot_len) > ilen - ETH_HLEN)
		return -1;
	/* The rule first: on a miss (most, when flows are many) one lookup is all it costs. */
	vni = (__u32)vx[4] << 16 | (__u32)vx[5] << 8 | vx[6];
	if (vni == 0 || rule_find(vni, iip->daddr, r, &slot) < 0)	/* 0: a free slot's */
		goto miss;
	sg = bpf_map_lookup_elem(&fast_srcs, &ip->saddr);
	vg = bpf_map_lookup_elem(&fast_vnis, &vni);
	if (!sg || *sg != gen(XDP_FAST_GEN_SRCS) || r->vgen != (vg ? *vg : 0))
		goto miss;
	vtep = r->vtep;
	h = bpf_map_lookup_elem(&fast_hops, &vtep);
	if (!h || h->gen != gen(XDP_FAST_GEN_HOPS))
		goto miss;
	now = bpf_ktime_get_ns();
	if (now >= h->expires) {
		/*
		 * Expired: this datagram goes to the forwarder, which puts the next hop again
		 * (and has the kernel confirm it); the others meanwhile keep it for a grace, so
		 * that the VTEP's rate is not all at once on the XSK. Racy across CPUs: a few
		 * may go up.
		 */
		h->expires = now + XDP_FAST_GRACE_NS;
		goto miss;
	}
	if (ip_fold(ip) != 0xffff)
		return -1;
	/* What the forwarder evicts by: written once a second at most, the line shared. */
	used = (__u32)(now >> XDP_FAST_USED_SHIFT);
	if (READ_ONCE(slot->used) != used)
		slot->used = used;
	__builtin_memcpy(ie->h_dest, r->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, h->nh_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, h->src_mac, ETH_ALEN);
	/* As ulhdr_write: no ToS, DF clear, TTL 64; the sender's id kept. */
	ip->tos = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->saddr = cfg.ip;
	ip->daddr = vtep;
	ip->check = 0;
	ip->check = (__u16)~ip_fold(ip);
	udp->source = cfg.port;
	udp->dest = r->port;
	udp->check = 0;
	add(XDP_VXLAN_FAST_BYTES, tot - 20 - 8);
	return XDP_TX;
miss:
	add(XDP_VXLAN_FAST_MISS, 1);
	return -1;
}

SEC("xdp.frags")
int
xdp_vxlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;

	/* The XSK path reads one buffer: the rest of a larger frame would be lost. */
	if (bpf_xdp_get_buff_len(ctx) != (__u64)(data_end - data))
		return count(XDP_VXLAN_PASS_FRAGS, XDP_PASS);
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return count(XDP_VXLAN_PASS, XDP_PASS);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5 ||
	    ip->protocol != IPPROTO_UDP || ip->daddr != cfg.ip ||
	    (ip->frag_off & bpf_htons(0x3fff)) != 0)	/* MF or an offset */
		return count(XDP_VXLAN_PASS, XDP_PASS);
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end || udp->dest != cfg.port)
		return count(XDP_VXLAN_PASS, XDP_PASS);
	/* One buffer, but longer than an XSK frame (veth makes one of a GSO message). */
	if (data_end - data > cfg.max_len)
		return count(XDP_VXLAN_PASS_BIG, XDP_PASS);
	if (cfg.fast && gen(XDP_FAST_ON) && fast(eth, ip, udp, data_end) == XDP_TX)
		return count(XDP_VXLAN_FAST, XDP_TX);
	/* The fallback action (the flags' low bits) when the queue has no XSK. */
	if (bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS) != XDP_REDIRECT)
		return count(XDP_VXLAN_NO_XSK, XDP_PASS);
	return count(XDP_VXLAN_REDIRECT, XDP_REDIRECT);
}

char LICENSE[] SEC("license") = "GPL";
