/*
 * xdp_relay.bpf.c: bench/gateway's ceiling, a VXLAN relay that never leaves the driver.
 * On the interface it is attached to (native XDP), a UDP datagram to cfg.my_ip:cfg.port
 * holding VXLAN + an IPv4 frame is sent back out of the same interface (XDP_TX) to the
 * sink VTEP of its inner destination, with the same trivial mapping as the bench's
 * socket relay (no table: VTEP = cfg.sink_base | (inner dst & cfg.sink_mask)), and the
 * rewrite a gateway makes: the inner destination MAC (02:78 + the inner address, as the
 * bench's rules say), the learn bit cleared, the outer Ethernet, IPv4 (checksum redone)
 * and UDP (checksum 0, allowed for IPv4) headers to the sink. Everything else goes to the
 * kernel. Counters: [0] relayed, [1] passed.
 *
 * Built by make with clang -target bpf (Makefile: $(BUILD)/bench/xdp_relay.bpf.o),
 * loaded and configured by bench/gateway with libbpf.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct relay_cfg {
	__u8 my_mac[6];
	__u8 sink_mac[6];
	__u32 my_ip;		/* network order */
	__u32 sink_base;	/* host order */
	__u32 sink_mask;	/* host order */
	__u16 port;		/* network order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct relay_cfg);
} cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cnt SEC(".maps");

static __always_inline void
count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&cnt, &k);

	if (v)
		*v += 1;
}

static __always_inline __u16
ip_sum(struct iphdr *ip)
{
	__u16 *w = (__u16 *)ip;
	__u32 s = 0;

	ip->check = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		s += w[i];
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int
xdp_relay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *vx = (void *)(udp + 1);
	struct ethhdr *ieth = (void *)(vx + 8);
	struct iphdr *iip = (void *)(ieth + 1);
	struct relay_cfg *c;
	__u32 k = 0, idst;

	if ((void *)(iip + 1) > end || (c = bpf_map_lookup_elem(&cfg, &k)) == NULL)
		goto pass;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || ip->daddr != c->my_ip || udp->dest != c->port ||
	    (ip->frag_off & bpf_htons(0x3fff)) != 0 || ieth->h_proto != bpf_htons(ETH_P_IP))
		goto pass;
	idst = bpf_ntohl(iip->daddr);
	ieth->h_dest[0] = 2;
	ieth->h_dest[1] = 0x78;
	ieth->h_dest[2] = (__u8)(idst >> 24);
	ieth->h_dest[3] = (__u8)(idst >> 16);
	ieth->h_dest[4] = (__u8)(idst >> 8);
	ieth->h_dest[5] = (__u8)idst;
	vx[1] &= 0x7f;		/* the learn bit */
	__builtin_memcpy(eth->h_dest, c->sink_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, c->my_mac, ETH_ALEN);
	ip->saddr = c->my_ip;
	ip->daddr = bpf_htonl(c->sink_base | (idst & c->sink_mask));
	ip->ttl = 64;
	ip->check = ip_sum(ip);
	udp->source = c->port;
	udp->check = 0;
	count(0);
	return XDP_TX;
pass:
	count(1);
	return XDP_PASS;
}


/*
 * On the bridge's end of the ceiling's veth: a veth schedules its peer's NAPI for frames
 * sent with XDP_TX only when the peer has an XDP program (GRO alone queues them and
 * nothing takes them off), so the bridge side gets this one, which passes everything.
 */
SEC("xdp")
int
xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
