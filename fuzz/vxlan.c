/*
 * fuzz/vxlan: a differential fuzzer of the data plane's frames (common/vxlan.c,
 * docs/protocol.md). The input is one VXLAN datagram as a forwarder receives it. The
 * header parser must accept exactly what a reference written here from the doc accepts;
 * a header it accepts, re-written, is the input's 8 bytes (with the learn bit flipped,
 * they differ in that bit only), and clearing the learn bit keeps the VNI. The inner
 * frame (the bytes after the header), and the whole input taken as a frame from a TAP,
 * are given to frame_parse, whose kind and addresses must match a reference parser; an
 * IPv4 packet parses the same without its Ethernet padding and is bad a byte shorter.
 * An ARP request is answered, in a copy of exactly its length, and the reply is checked
 * byte by byte; it parses as FRAME_OTHER, and as the mirrored request with op 1 again.
 * The whole input is also an underlay frame as AF_XDP receives it (common/ulhdr.c), against
 * a reference parser, and re-written. Every frame ends where libFuzzer's buffer ends, so ASan reports any read past len
 * (and libFuzzer any write to the const input). abort() on any difference.
 */
#include "common/ulhdr.h"
#include "common/vxlan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARP_FRAME	(FRAME_ETH_HLEN + FRAME_ARP_LEN)

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The header of docs/protocol.md: 0x08, 0x80 or 0, 0, 0, VNI (3 bytes), 0. */
static bool
ref_hdr_ok(const uint8_t *p, size_t len)
{
	return len >= 8 && p[0] == 0x08 && (p[1] == 0x00 || p[1] == 0x80) && p[2] == 0 &&
	    p[3] == 0 && p[7] == 0;
}

static void
check_hdr(const uint8_t *data, size_t size)
{
	struct vxlan_hdr h, h2;
	uint8_t out[VXLAN_HLEN];
	int rc = vxlan_parse(data, size, &h);

	if (rc != 0 && rc != -1)
		abort();
	if ((rc == 0) != ref_hdr_ok(data, size))
		abort();
	if (rc != 0)
		return;
	if (h.vni > VXLAN_VNI_MAX || h.vni != (be32(data + 4) >> 8) ||
	    h.learn != (data[1] == 0x80))
		abort();

	vxlan_write(out, &h);
	if (memcmp(out, data, VXLAN_HLEN) != 0)
		abort();
	h2 = (struct vxlan_hdr){ .vni = h.vni, .learn = !h.learn };
	vxlan_write(out, &h2);
	for (int i = 0; i < VXLAN_HLEN; i++)
		if ((uint8_t)(out[i] ^ data[i]) != (i == VXLAN_LEARN_BYTE ? VXLAN_LEARN_BIT : 0))
			abort();

	memcpy(out, data, VXLAN_HLEN);
	vxlan_clear_learn(out);
	if (out[1] != 0 || memcmp(out + 2, data + 2, VXLAN_HLEN - 2) != 0 || out[0] != data[0])
		abort();
	if (vxlan_parse(out, VXLAN_HLEN, &h2) != 0 || h2.vni != h.vni || h2.learn != 0)
		abort();
}

/* frame_parse as docs/forwarder.md reads it, written independently. */
static enum frame_kind
ref_frame(const uint8_t *f, size_t len, uint32_t *src, uint32_t *dst)
{
	static const uint8_t arp_req[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	unsigned type;

	if (len < 14)
		return FRAME_BAD;
	type = (unsigned)f[12] << 8 | f[13];
	if (type == 0x0800) {
		size_t hl, tot;

		if (len < 34 || f[14] >> 4 != 4)
			return FRAME_BAD;
		hl = (size_t)(f[14] & 0xf) * 4;
		tot = (size_t)f[16] << 8 | f[17];
		/* hl <= tot <= len - 14 keeps the header in the frame too */
		if (hl < 20 || tot < hl || 14 + tot > len)
			return FRAME_BAD;
		*src = be32(f + 26);
		*dst = be32(f + 30);
		return FRAME_IPV4;
	}
	if (type == 0x0806) {
		if (len < 42)
			return FRAME_BAD;
		if (memcmp(f + 14, arp_req, sizeof(arp_req)) != 0)
			return FRAME_OTHER;
		*src = be32(f + 28);
		*dst = be32(f + 38);
		return FRAME_ARP_REQUEST;
	}
	return FRAME_OTHER;
}

static enum frame_kind
parse_checked(const uint8_t *f, size_t len, struct frame_info *fi)
{
	uint32_t src = 0, dst = 0;
	enum frame_kind k = frame_parse(f, len, fi), r = ref_frame(f, len, &src, &dst);

	if (k != r || fi->kind != k)
		abort();
	if ((k == FRAME_IPV4 || k == FRAME_ARP_REQUEST) &&
	    (fi->src_ip != src || fi->dst_ip != dst))
		abort();
	return k;
}

static void
check_arp_reply(const uint8_t *f, size_t len, const struct frame_info *fi)
{
	const uint8_t mac[FRAME_MAC_LEN] = { 0x02, f[len - 1], 0x5a, (uint8_t)len, 0xa5, 0x01 };
	const uint8_t *a = f + FRAME_ETH_HLEN;
	struct frame_info ri;
	uint8_t *c = malloc(len), *ca;

	if (c == NULL)
		abort();
	memcpy(c, f, len);
	frame_arp_reply(c, mac);
	ca = c + FRAME_ETH_HLEN;
	if (memcmp(c, a + 8, 6) != 0 ||			/* eth dst: the asker */
	    memcmp(c + 6, mac, 6) != 0 ||		/* eth src: the answer */
	    memcmp(c + 12, f + 12, 2) != 0 ||		/* ARP */
	    memcmp(ca, a, 6) != 0 ||			/* hardware, protocol, lengths */
	    ca[6] != 0 || ca[7] != 2 ||			/* a reply */
	    memcmp(ca + 8, mac, 6) != 0 ||		/* sender: the answer ... */
	    memcmp(ca + 14, a + 24, 4) != 0 ||		/* ... at the target asked */
	    memcmp(ca + 18, a + 8, 6) != 0 ||		/* target: the asker */
	    memcmp(ca + 24, a + 14, 4) != 0 ||
	    memcmp(c + ARP_FRAME, f + ARP_FRAME, len - ARP_FRAME) != 0)	/* the rest */
		abort();
	if (parse_checked(c, len, &ri) != FRAME_OTHER)
		abort();
	ca[7] = 1;					/* as a request: the mirror */
	if (parse_checked(c, len, &ri) != FRAME_ARP_REQUEST || ri.src_ip != fi->dst_ip ||
	    ri.dst_ip != fi->src_ip)
		abort();
	free(c);
}

/* f ends where the input does. */
static void
check_frame(const uint8_t *f, size_t len)
{
	struct frame_info fi, fi2;
	size_t end;

	switch (parse_checked(f, len, &fi)) {
	case FRAME_IPV4:
		/* without the padding, the same; a byte shorter than the packet, bad */
		end = FRAME_ETH_HLEN + ((size_t)f[16] << 8 | f[17]);
		if (parse_checked(f, end, &fi2) != FRAME_IPV4 || fi2.src_ip != fi.src_ip ||
		    fi2.dst_ip != fi.dst_ip || parse_checked(f, end - 1, &fi2) != FRAME_BAD)
			abort();
		break;
	case FRAME_ARP_REQUEST:
		if (parse_checked(f, ARP_FRAME, &fi2) != FRAME_ARP_REQUEST ||
		    parse_checked(f, ARP_FRAME - 1, &fi2) != FRAME_BAD)
			abort();
		check_arp_reply(f, len, &fi);
		break;
	case FRAME_BAD:
	case FRAME_OTHER:
		break;
	default:
		abort();
	}
}

/* The reference of common/ulhdr.h's parser: Ethernet, IPv4 (sum right, no fragment), UDP. */
static int
ref_ul(const uint8_t *f, size_t len, uint32_t *plen)
{
	size_t ihl, tot;
	uint32_t sum = 0;

	if (len < 42 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return -1;
	ihl = (size_t)(f[14] & 0xf) * 4;
	tot = (size_t)f[16] << 8 | f[17];
	if (ihl < 20 || tot < ihl + 8 || tot + 14 > len || f[23] != 17 ||
	    ((f[20] & 0x3f) | f[21]) != 0)
		return -1;
	for (size_t i = 0; i < ihl; i += 2)
		sum += (uint32_t)f[14 + i] << 8 | f[15 + i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff || ((size_t)f[18 + ihl] << 8 | f[19 + ihl]) != tot - ihl)
		return -1;
	*plen = (uint32_t)(tot - ihl - 8);
	return (int)(14 + ihl + 8);
}

/*
 * The whole input as an underlay frame (AF_XDP): ulhdr_parse agrees with the reference;
 * what it takes, written again with ulhdr_write in front of the same payload, parses to
 * the same addresses, ports and length.
 */
static void
check_ul(const uint8_t *f, size_t len)
{
	struct ulhdr h, h2;
	uint32_t plen = 0, rplen = 0, plen2 = 0;
	int off = ulhdr_parse(f, len, &h, &plen), roff = ref_ul(f, len, &rplen);
	uint8_t *c;

	if (off != roff || (off >= 0 && plen != rplen))
		abort();
	if (off < 0)
		return;
	if ((c = malloc(ULHDR_LEN + plen)) == NULL)
		abort();
	memcpy(c + ULHDR_LEN, f + off, plen);
	h.ip_id = (uint16_t)len;
	ulhdr_write(c, &h, plen);
	if (ulhdr_parse(c, ULHDR_LEN + plen, &h2, &plen2) != ULHDR_LEN || plen2 != plen ||
	    memcmp(h.dst_mac, h2.dst_mac, 6) != 0 || memcmp(h.src_mac, h2.src_mac, 6) != 0 ||
	    h.src_ip != h2.src_ip || h.dst_ip != h2.dst_ip || h.src_port != h2.src_port ||
	    h.dst_port != h2.dst_port)
		abort();
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_ul(data, size);
	check_hdr(data, size);
	if (size >= VXLAN_HLEN)
		check_frame(data + VXLAN_HLEN, size - VXLAN_HLEN);	/* from a VTEP */
	check_frame(data, size);					/* from a TAP */
	return 0;
}
