/*
 * xdp_pass: an XDP program that passes everything, for the underlay bridge's end of a
 * veth whose node runs the forwarder on AF_XDP (tests/e2e/topo.sh). A veth delivers
 * what its peer's program sends with XDP_TX (a gateway's rule cache, xdpfast.h) only when
 * this end has an XDP program of its own, as a real NIC's wire always does.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int
xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
