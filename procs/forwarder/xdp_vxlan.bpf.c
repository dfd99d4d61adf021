/*
 * xdp_vxlan: the forwarder's XDP program (built with clang -target bpf, embedded in the
 * forwarder by xsk.c). It hands the XSK of the receiving queue exactly the frames the
 * forwarder's AF_XDP path can take whole: one buffer, Ethernet without a VLAN tag, IPv4
 * that is not a fragment, UDP to this node's VTEP and VXLAN port. Everything else goes
 * to the kernel untouched (ARP, sync and learn datagrams, the controller's TCP), and so
 * does a VXLAN datagram in several buffers or longer than an XSK frame: the forwarder
 * reads those on its UDP socket. Every frame lands in one counter.
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

static __always_inline int
count(__u32 slot, int action)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);

	if (c)
		*c += 1;
	return action;
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
	/* The fallback action (the flags' low bits) when the queue has no XSK. */
	if (bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS) != XDP_REDIRECT)
		return count(XDP_VXLAN_NO_XSK, XDP_PASS);
	return count(XDP_VXLAN_REDIRECT, XDP_REDIRECT);
}

char LICENSE[] SEC("license") = "GPL";
