/*
 * vxlan_test: the data plane's frames (common/vxlan.c, docs/protocol.md). VXLAN headers
 * round-trip with and without the learn bit; every short header, a clear I flag and
 * each reserved bit of bytes 0-3 and 7 alone are refused, the learn bit alone is not.
 * Inner frames: IPv4 is parsed with its options and Ethernet padding, and each broken
 * length or version is FRAME_BAD; an ARP request is parsed, any other ARP and any other
 * ethertype is FRAME_OTHER, a truncated ARP is FRAME_BAD; an ARP request turns into the
 * reply checked byte by byte; ipv4_is_group at its edges. Every parse reads a copy of
 * exactly len bytes on the heap, so an over-read shows under SANITIZE=1.
 */
#include "common/vxlan.h"
#include "tests/unit/bytes.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define ARP_FRAME	(FRAME_ETH_HLEN + FRAME_ARP_LEN)	/* 42 */
#define ETH_MIN		60	/* the shortest Ethernet frame, without FCS */

static const uint8_t vm_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x00, 0x05 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x0a, 0x00, 0x00, 0x07 };
static const uint8_t answer_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

/* --- bytes ---------------------------------------------------------------------- */

/* vxlan_parse on a heap copy of exactly len bytes. */
static int
parse_hdr(const uint8_t *p, size_t len, struct vxlan_hdr *h)
{
	uint8_t *c = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(c);
	memcpy(c, p, len);
	rc = vxlan_parse(c, len, h);
	free(c);
	return rc;
}

/* frame_parse on a heap copy of exactly len bytes. */
static enum frame_kind
parse(const uint8_t *f, size_t len, struct frame_info *fi)
{
	uint8_t *c = malloc(len ? len : 1);
	enum frame_kind k;

	cr_assert_not_null(c);
	memcpy(c, f, len);
	k = frame_parse(c, len, fi);
	free(c);
	cr_assert_eq(fi->kind, k, "fi->kind %d, returned %d", fi->kind, k);
	return k;
}

/* --- frames --------------------------------------------------------------------- */

static void
eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
}

/*
 * An IPv4 packet 10.0.0.5 -> 10.0.0.7 with ihl_words of header and payload bytes
 * after it, in f (zeroed to f_size first). Returns the frame's length.
 */
static size_t
ipv4(uint8_t *f, size_t f_size, unsigned ihl_words, size_t payload)
{
	uint8_t *ip = f + FRAME_ETH_HLEN;
	size_t tot = ihl_words * 4 + payload;

	memset(f, 0, f_size);
	cr_assert_leq(FRAME_ETH_HLEN + tot, f_size);
	eth(f, peer_mac, vm_mac, FRAME_P_IPV4);
	ip[0] = (uint8_t)(0x40 | ihl_words);
	put16(ip + 2, (uint16_t)tot);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0x0a000005);
	put32(ip + 16, 0x0a000007);
	for (size_t i = 20; i < tot; i++)	/* options (NOPs, 1) and payload */
		ip[i] = 1;
	return FRAME_ETH_HLEN + tot;
}

/* "Who has 10.0.0.7? Tell 10.0.0.5", broadcast, from vm_mac. */
static void
arp_request(uint8_t f[ARP_FRAME])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + FRAME_ETH_HLEN;

	eth(f, bcast, vm_mac, FRAME_P_ARP);
	put16(a, 1);
	put16(a + 2, FRAME_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, vm_mac, 6);
	put32(a + 14, 0x0a000005);
	memset(a + 18, 0, 6);
	put32(a + 24, 0x0a000007);
}

/* --- VXLAN header --------------------------------------------------------------- */

Test(vxlan, header_round_trips_with_and_without_the_learn_bit)
{
	static const uint32_t vnis[] = { 0, 1, 0xff, 0x100, 0x10000, 0x123456, 0xabcdef,
		VXLAN_VNI_MAX };
	uint8_t p[VXLAN_HLEN];
	struct vxlan_hdr h, d;

	for (size_t i = 0; i < sizeof(vnis) / sizeof(vnis[0]); i++) {
		for (int learn = 0; learn <= 1; learn++) {
			const uint8_t want[VXLAN_HLEN] = { 0x08, learn ? 0x80 : 0, 0, 0,
				(uint8_t)(vnis[i] >> 16), (uint8_t)(vnis[i] >> 8),
				(uint8_t)vnis[i], 0 };

			memset(p, 0xff, sizeof(p));	/* every byte is written */
			h = (struct vxlan_hdr){ .vni = vnis[i], .learn = (uint8_t)learn };
			vxlan_write(p, &h);
			cr_assert_arr_eq(p, want, VXLAN_HLEN, "vni 0x%x learn %d", vnis[i],
			    learn);
			memset(&d, 0x55, sizeof(d));
			cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &d), 0);
			cr_assert_eq(d.vni, vnis[i]);
			cr_assert_eq(d.learn, learn);

			vxlan_clear_learn(p);
			cr_assert_eq(p[1], 0);
			cr_assert_arr_eq(p + 2, want + 2, VXLAN_HLEN - 2, "only the bit");
			cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &d), 0);
			cr_assert_eq(d.vni, vnis[i]);
			cr_assert_eq(d.learn, 0);
		}
	}
}

Test(vxlan, header_with_a_frame_after_it_parses)
{
	uint8_t p[VXLAN_HLEN + ETH_MIN] = { 0x08, 0x80, 0, 0, 0x00, 0x10, 0x01, 0 };
	struct vxlan_hdr h;

	memset(p + VXLAN_HLEN, 0xff, ETH_MIN);
	cr_assert_eq(parse_hdr(p, sizeof(p), &h), 0);
	cr_assert_eq(h.vni, 0x1001);
	cr_assert_eq(h.learn, 1);
}

Test(vxlan, short_headers_are_refused)
{
	const uint8_t p[VXLAN_HLEN] = { 0x08, 0, 0, 0, 0, 0, 1, 0 };
	struct vxlan_hdr h;

	for (size_t len = 0; len < VXLAN_HLEN; len++)
		cr_assert_eq(parse_hdr(p, len, &h), -1, "%zu bytes accepted", len);
	cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), 0);
}

Test(vxlan, a_clear_i_flag_is_refused)
{
	uint8_t p[VXLAN_HLEN] = { 0x00, 0, 0, 0, 0, 0, 1, 0 };
	struct vxlan_hdr h;

	cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), -1);
	p[1] = VXLAN_LEARN_BIT;
	cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), -1, "learn bit without I");
}

Test(vxlan, each_reserved_bit_alone_is_refused_the_learn_bit_is_not)
{
	static const size_t bytes[] = { 0, 1, 2, 3, 7 };
	const uint8_t good[VXLAN_HLEN] = { 0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0 };
	uint8_t p[VXLAN_HLEN];
	struct vxlan_hdr h;

	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t m = (uint8_t)(1u << bit);

			if ((bytes[i] == 0 && m == VXLAN_FLAG_I) ||
			    (bytes[i] == VXLAN_LEARN_BYTE && m == VXLAN_LEARN_BIT))
				continue;
			memcpy(p, good, VXLAN_HLEN);
			p[bytes[i]] |= m;
			cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), -1,
			    "byte %zu bit 0x%02x accepted", bytes[i], m);
			p[VXLAN_LEARN_BYTE] |= VXLAN_LEARN_BIT;	/* with the learn bit too */
			cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), -1,
			    "byte %zu bit 0x%02x with learn accepted", bytes[i], m);
		}
	}

	memcpy(p, good, VXLAN_HLEN);
	p[VXLAN_LEARN_BYTE] = VXLAN_LEARN_BIT;
	cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), 0, "the learn bit alone is refused");
	cr_assert_eq(h.vni, 0x123456);
	cr_assert_eq(h.learn, 1);

	/* the VNI's bytes are all data */
	memcpy(p, good, VXLAN_HLEN);
	p[4] = p[5] = p[6] = 0xff;
	cr_assert_eq(parse_hdr(p, VXLAN_HLEN, &h), 0);
	cr_assert_eq(h.vni, VXLAN_VNI_MAX);
	cr_assert_eq(h.learn, 0);
}

/* --- IPv4 ----------------------------------------------------------------------- */

Test(vxlan, ipv4_parses_with_addresses_in_host_order)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n;

	n = ipv4(f, sizeof(f), 5, 0);			/* a bare header: 34 bytes */
	cr_assert_eq(n, FRAME_MIN);
	cr_assert_eq(parse(f, n, &fi), FRAME_IPV4);
	cr_assert_eq(fi.src_ip, 0x0a000005u);
	cr_assert_eq(fi.dst_ip, 0x0a000007u);

	n = ipv4(f, sizeof(f), 5, 64);
	cr_assert_eq(parse(f, n, &fi), FRAME_IPV4);

	put32(f + FRAME_ETH_HLEN + 12, 0xc0a80101);
	put32(f + FRAME_ETH_HLEN + 16, 0xffffffff);
	cr_assert_eq(parse(f, n, &fi), FRAME_IPV4);
	cr_assert_eq(fi.src_ip, 0xc0a80101u);
	cr_assert_eq(fi.dst_ip, 0xffffffffu);
}

Test(vxlan, ipv4_with_options_parses_up_to_ihl_15)
{
	uint8_t f[128];
	struct frame_info fi;

	for (unsigned ihl = 5; ihl <= 15; ihl++) {
		size_t n = ipv4(f, sizeof(f), ihl, 0);

		cr_assert_eq(parse(f, n, &fi), FRAME_IPV4, "ihl %u", ihl);
		cr_assert_eq(fi.src_ip, 0x0a000005u);
		cr_assert_eq(fi.dst_ip, 0x0a000007u);
	}
}

Test(vxlan, ipv4_with_ethernet_padding_is_accepted)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 5, 8);		/* a 28-byte UDP packet: 42 bytes */

	cr_assert_eq(n, 42);
	memset(f + n, 0xee, ETH_MIN - n);		/* padded to 60 */
	cr_assert_eq(parse(f, ETH_MIN, &fi), FRAME_IPV4);
	cr_assert_eq(fi.src_ip, 0x0a000005u);
	cr_assert_eq(fi.dst_ip, 0x0a000007u);
	cr_assert_eq(parse(f, sizeof(f), &fi), FRAME_IPV4, "any padding");
}

Test(vxlan, short_frames_are_bad)
{
	uint8_t f[128];
	struct frame_info fi;

	ipv4(f, sizeof(f), 5, 0);
	for (size_t len = 0; len < FRAME_ETH_HLEN; len++)
		cr_assert_eq(parse(f, len, &fi), FRAME_BAD, "%zu bytes", len);
	/* an IPv4 ethertype needs the 20 bytes of a header */
	for (size_t len = FRAME_ETH_HLEN; len < FRAME_MIN; len++)
		cr_assert_eq(parse(f, len, &fi), FRAME_BAD, "IPv4 in %zu bytes", len);
}

Test(vxlan, ipv4_version_other_than_4_is_bad)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 5, 20);

	for (unsigned v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		f[FRAME_ETH_HLEN] = (uint8_t)(v << 4 | 5);
		cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "version %u", v);
	}
}

Test(vxlan, ipv4_ihl_below_5_is_bad)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 5, 20);

	for (unsigned ihl = 0; ihl < 5; ihl++) {
		f[FRAME_ETH_HLEN] = (uint8_t)(0x40 | ihl);
		cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "ihl %u", ihl);
	}
}

Test(vxlan, ipv4_ihl_beyond_the_frame_is_bad)
{
	uint8_t f[128];
	struct frame_info fi;

	/*
	 * A header of ihl words in a frame that stops a byte short of it, with the total
	 * length as the header says, or as the frame holds (then below ihl: a total length
	 * that fits cannot hide a header that does not).
	 */
	for (unsigned ihl = 6; ihl <= 15; ihl++) {
		size_t n = ipv4(f, sizeof(f), ihl, 0);

		cr_assert_eq(parse(f, n, &fi), FRAME_IPV4, "ihl %u", ihl);
		cr_assert_eq(parse(f, n - 1, &fi), FRAME_BAD, "ihl %u in %zu bytes", ihl,
		    n - 1);
		cr_assert_eq(parse(f, FRAME_MIN, &fi), FRAME_BAD, "ihl %u in 34 bytes", ihl);
		put16(f + FRAME_ETH_HLEN + 2, (uint16_t)(n - 1 - FRAME_ETH_HLEN));
		cr_assert_eq(parse(f, n - 1, &fi), FRAME_BAD, "ihl %u, total length %zu", ihl,
		    n - 1 - FRAME_ETH_HLEN);
	}
}

Test(vxlan, ipv4_total_length_beyond_the_frame_is_bad)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 5, 30);
	uint8_t *tot = f + FRAME_ETH_HLEN + 2;

	cr_assert_eq(parse(f, n, &fi), FRAME_IPV4);
	cr_assert_eq(parse(f, n - 1, &fi), FRAME_BAD, "a byte short");
	put16(tot, (uint16_t)(n - FRAME_ETH_HLEN + 1));
	cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "total length + 1");
	put16(tot, 0xffff);
	cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "total length 65535");
}

Test(vxlan, ipv4_total_length_below_the_header_is_bad)
{
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 6, 10);
	uint8_t *tot = f + FRAME_ETH_HLEN + 2;

	put16(tot, 24);
	cr_assert_eq(parse(f, n, &fi), FRAME_IPV4, "total length = ihl");
	put16(tot, 23);
	cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "total length < ihl");
	put16(tot, 0);
	cr_assert_eq(parse(f, n, &fi), FRAME_BAD, "total length 0");
}

/* --- ARP and other ethertypes --------------------------------------------------- */

Test(vxlan, arp_request_parses_sender_and_target)
{
	uint8_t f[ETH_MIN] = { 0 };
	struct frame_info fi;

	arp_request(f);
	cr_assert_eq(parse(f, ARP_FRAME, &fi), FRAME_ARP_REQUEST);
	cr_assert_eq(fi.src_ip, 0x0a000005u, "the sender");
	cr_assert_eq(fi.dst_ip, 0x0a000007u, "the target");
	cr_assert_eq(parse(f, ETH_MIN, &fi), FRAME_ARP_REQUEST, "padded to 60");
	cr_assert_eq(fi.dst_ip, 0x0a000007u);
}

Test(vxlan, other_arp_is_other)
{
	static const struct {
		size_t off;		/* in the ARP header */
		uint16_t v;
		const char *what;
	} change[] = {
		{ 6, 2, "a reply" },
		{ 6, 0, "op 0" },
		{ 6, 3, "a RARP request" },
		{ 6, 0x0101, "op 257" },
		{ 0, 6, "IEEE 802 hardware" },
		{ 0, 0x0101, "hardware 257" },
		{ 2, 0x86dd, "IPv6 protocol" },
		{ 2, 0x0806, "ARP protocol" },
	};
	uint8_t f[ARP_FRAME], *a = f + FRAME_ETH_HLEN;
	struct frame_info fi;

	for (size_t i = 0; i < sizeof(change) / sizeof(change[0]); i++) {
		arp_request(f);
		put16(a + change[i].off, change[i].v);
		cr_assert_eq(parse(f, ARP_FRAME, &fi), FRAME_OTHER, "%s", change[i].what);
	}
	for (unsigned len = 0; len < 256; len++) {
		if (len == 6)
			continue;
		arp_request(f);
		a[4] = (uint8_t)len;
		cr_assert_eq(parse(f, ARP_FRAME, &fi), FRAME_OTHER, "hlen %u", len);
	}
	for (unsigned len = 0; len < 256; len++) {
		if (len == 4)
			continue;
		arp_request(f);
		a[5] = (uint8_t)len;
		cr_assert_eq(parse(f, ARP_FRAME, &fi), FRAME_OTHER, "plen %u", len);
	}
}

Test(vxlan, truncated_arp_is_bad)
{
	uint8_t f[ARP_FRAME];
	struct frame_info fi;

	arp_request(f);
	for (size_t len = FRAME_ETH_HLEN; len < ARP_FRAME; len++)
		cr_assert_eq(parse(f, len, &fi), FRAME_BAD, "ARP in %zu bytes", len);
	put16(f + FRAME_ETH_HLEN + 6, 2);	/* a reply too: it is cut short all the same */
	cr_assert_eq(parse(f, ARP_FRAME - 1, &fi), FRAME_BAD);
}

Test(vxlan, other_ethertypes_are_other)
{
	static const uint16_t types[] = { 0x86dd, 0x8100, 0x88a8, 0x8035, 0x88cc, 0x0000,
		0x0801, 0x0807, 0x0008, 0x0608, 0x05dc, 0xffff };
	uint8_t f[128];
	struct frame_info fi;
	size_t n = ipv4(f, sizeof(f), 5, 20);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		put16(f + 12, types[i]);
		cr_assert_eq(parse(f, n, &fi), FRAME_OTHER, "ethertype 0x%04x", types[i]);
		cr_assert_eq(parse(f, FRAME_ETH_HLEN, &fi), FRAME_OTHER,
		    "ethertype 0x%04x, header only", types[i]);
	}

	/* 802.1Q with IPv4 behind the tag: not looked into */
	memmove(f + 16, f + 12, n - 12);
	put16(f + 12, 0x8100);
	put16(f + 14, 0x0064);
	cr_assert_eq(parse(f, n + 4, &fi), FRAME_OTHER, "VLAN-tagged IPv4");
}

/* --- ARP reply ------------------------------------------------------------------ */

Test(vxlan, arp_reply_answers_the_asker_byte_by_byte)
{
	static const uint8_t want[ARP_FRAME] = {
		0x02, 0x00, 0x0a, 0x00, 0x00, 0x05,	/* eth dst: the asker */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,	/* eth src: the answer */
		0x08, 0x06,				/* ARP */
		0x00, 0x01, 0x08, 0x00, 6, 4,		/* Ethernet, IPv4, 6, 4 */
		0x00, 0x02,				/* reply */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,	/* sender MAC: the answer */
		10, 0, 0, 7,				/* sender IP: the target asked */
		0x02, 0x00, 0x0a, 0x00, 0x00, 0x05,	/* target MAC: the asker */
		10, 0, 0, 5,				/* target IP: the asker */
	};
	uint8_t *f = malloc(ETH_MIN);
	struct frame_info fi;

	cr_assert_not_null(f);
	arp_request(f);
	memset(f + ARP_FRAME, 0xee, ETH_MIN - ARP_FRAME);
	cr_assert_eq(parse(f, ETH_MIN, &fi), FRAME_ARP_REQUEST);
	frame_arp_reply(f, answer_mac);
	cr_assert_arr_eq(f, want, ARP_FRAME, "the reply differs");
	for (size_t i = ARP_FRAME; i < ETH_MIN; i++)
		cr_assert_eq(f[i], 0xee, "padding byte %zu changed", i);
	cr_assert_eq(parse(f, ETH_MIN, &fi), FRAME_OTHER, "a reply is not a request");
	free(f);

	/* in exactly 42 bytes: nothing written past them (SANITIZE=1) */
	f = malloc(ARP_FRAME);
	cr_assert_not_null(f);
	arp_request(f);
	frame_arp_reply(f, answer_mac);
	cr_assert_arr_eq(f, want, ARP_FRAME);
	free(f);
}

Test(vxlan, arp_reply_takes_the_asker_from_the_arp_body_and_keeps_an_unusual_target_mac)
{
	static const uint8_t eth_src[6] = { 0x02, 0xee, 0xee, 0xee, 0xee, 0xee };
	static const uint8_t tha[6] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };
	uint8_t f[ARP_FRAME], *a = f + FRAME_ETH_HLEN;

	arp_request(f);
	memcpy(f + 6, eth_src, 6);		/* the Ethernet source differs from the sender */
	memcpy(a + 18, tha, 6);			/* a target MAC filled in (a unicast probe) */
	put32(a + 14, 0);			/* an ARP probe: sender IP 0 */
	frame_arp_reply(f, answer_mac);
	cr_assert_arr_eq(frame_dst_mac(f), vm_mac, 6, "the ARP sender is the asker");
	cr_assert_arr_eq(frame_src_mac(f), answer_mac, 6);
	cr_assert_arr_eq(a + 8, answer_mac, 6);
	cr_assert_arr_eq(a + 14, ((uint8_t[]){ 10, 0, 0, 7 }), 4);
	cr_assert_arr_eq(a + 18, vm_mac, 6);
	cr_assert_arr_eq(a + 24, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
}

Test(vxlan, arp_reply_at_any_alignment)
{
	static uint8_t buf[VXLAN_HLEN + ARP_FRAME + 8];
	uint8_t want[ARP_FRAME];

	arp_request(want);
	frame_arp_reply(want, answer_mac);
	for (size_t off = 0; off < 8; off++) {
		uint8_t *f = buf + off;
		struct frame_info fi;

		arp_request(f);
		cr_assert_eq(frame_parse(f, ARP_FRAME, &fi), FRAME_ARP_REQUEST);
		frame_arp_reply(f, answer_mac);
		cr_assert_arr_eq(f, want, ARP_FRAME, "at offset %zu", off);
	}
}

/* --- groups --------------------------------------------------------------------- */

Test(vxlan, ipv4_is_group_is_multicast_and_limited_broadcast)
{
	static const uint32_t group[] = { 0xe0000000, 0xe0000001, 0xe00000fb, 0xefffffff,
		0xe8010203, 0xffffffff };
	static const uint32_t not_group[] = { 0x00000000, 0x0a000001, 0x7f000001,
		0xdfffffff, 0xf0000000, 0xfffffffe, 0x0affffff, 0xc0a801ff };

	for (size_t i = 0; i < sizeof(group) / sizeof(group[0]); i++)
		cr_assert(ipv4_is_group(group[i]), "0x%08x", group[i]);
	for (size_t i = 0; i < sizeof(not_group) / sizeof(not_group[0]); i++)
		cr_assert(!ipv4_is_group(not_group[i]), "0x%08x", not_group[i]);
}
