/*
 * ulhdr_test: the underlay's headers AF_XDP reads and writes (common/ulhdr.c). A frame
 * written is what Linux would send (every byte checked, the IPv4 checksum against a sum
 * done here), and parses back; options and Ethernet padding are taken; a wrong checksum,
 * a fragment, another protocol, a UDP length that disagrees, a VLAN tag and every short
 * frame are refused. Every parse reads a heap copy of exactly len bytes (SANITIZE=1).
 */
#include "common/ulhdr.h"
#include "tests/unit/bytes.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct ulhdr H = {
	.dst_mac = { 0x02, 0, 0, 0, 0, 0x02 }, .src_mac = { 0x02, 0, 0, 0, 0, 0x01 },
	.src_ip = 0xc0a86401, .dst_ip = 0xc0a86402, .src_port = 4789, .dst_port = 4790,
	.ip_id = 0x1234,
};

static int
parse(const uint8_t *f, size_t len, struct ulhdr *h, uint32_t *plen)
{
	uint8_t *c = malloc(len ? len : 1);
	int r;

	cr_assert_not_null(c);
	memcpy(c, f, len);
	r = ulhdr_parse(c, len, h, plen);
	free(c);
	return r;
}

/* The IPv4 header's sum, folded: 0xffff when its checksum is right. */
static uint16_t
sum(const uint8_t *ip, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void
fix_sum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	put16(ip + 10, (uint16_t)~sum(ip, ihl));
}

Test(ulhdr, written_frame_is_what_linux_sends_and_parses_back)
{
	uint8_t f[ULHDR_LEN + 10], *ip = f + 14, *udp = f + 34;
	struct ulhdr h;
	uint32_t plen;

	memset(f, 0xee, sizeof(f));
	ulhdr_write(f, &H, 10);
	cr_assert_arr_eq(f, H.dst_mac, 6);
	cr_assert_arr_eq(f + 6, H.src_mac, 6);
	cr_assert(f[12] == 0x08 && f[13] == 0x00);
	cr_assert_eq(ip[0], 0x45);
	cr_assert_eq(ip[1], 0);
	cr_assert(ip[2] == 0 && ip[3] == 38);			/* 20 + 8 + 10 */
	cr_assert(ip[4] == 0x12 && ip[5] == 0x34);		/* the id */
	cr_assert(ip[6] == 0 && ip[7] == 0);			/* DF clear, offset 0 */
	cr_assert_eq(ip[8], 64);
	cr_assert_eq(ip[9], 17);
	cr_assert_eq(sum(ip, 20), 0xffff);
	cr_assert(ip[12] == 192 && ip[13] == 168 && ip[14] == 100 && ip[15] == 1);
	cr_assert(ip[16] == 192 && ip[17] == 168 && ip[18] == 100 && ip[19] == 2);
	cr_assert(udp[0] == 0x12 && udp[1] == 0xb5);		/* 4789 */
	cr_assert(udp[2] == 0x12 && udp[3] == 0xb6);
	cr_assert(udp[4] == 0 && udp[5] == 18);
	cr_assert(udp[6] == 0 && udp[7] == 0);			/* no checksum */
	cr_assert_eq(f[ULHDR_LEN], 0xee);			/* the payload untouched */

	cr_assert_eq(parse(f, sizeof(f), &h, &plen), ULHDR_LEN);
	cr_assert_eq(plen, 10);
	cr_assert_arr_eq(h.dst_mac, H.dst_mac, 6);
	cr_assert_arr_eq(h.src_mac, H.src_mac, 6);
	cr_assert(h.src_ip == H.src_ip && h.dst_ip == H.dst_ip);
	cr_assert(h.src_port == H.src_port && h.dst_port == H.dst_port);
}

Test(ulhdr, options_and_ethernet_padding_are_taken)
{
	uint8_t f[128] = { 0 }, *ip = f + 14;
	struct ulhdr h;
	uint32_t plen;

	/* IPv4 with 8 bytes of options, UDP with 2 bytes of payload, padded to 60. */
	memcpy(f, H.dst_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x47;
	put16(ip + 2, 28 + 8 + 2);
	ip[8] = 1;
	ip[9] = 17;
	put32(ip + 12, 0x0a000001);
	put32(ip + 16, 0x0a000002);
	put16(ip + 28, 1000);
	put16(ip + 30, 4789);
	put16(ip + 32, 10);
	put16(ip + 34, 0xabcd);				/* a checksum: not checked */
	fix_sum(ip, 28);
	cr_assert_eq(parse(f, 60, &h, &plen), 14 + 28 + 8);
	cr_assert_eq(plen, 2);
	cr_assert(h.src_ip == 0x0a000001 && h.src_port == 1000 && h.dst_port == 4789);
	/* a byte shorter than IPv4 says: refused */
	cr_assert_eq(parse(f, 14 + 28 + 8 + 1, &h, &plen), -1);
}

Test(ulhdr, everything_else_is_refused)
{
	uint8_t f[ULHDR_LEN + 4], g[sizeof(f)], *ip = g + 14;
	struct ulhdr h;
	uint32_t plen;

	ulhdr_write(f, &H, 4);
	for (size_t n = 0; n < sizeof(f); n++)
		cr_assert_eq(parse(f, n, &h, &plen), -1, "%zu bytes", n);
#define BROKEN(what, edit) do {						\
		memcpy(g, f, sizeof(f));					\
		edit;								\
		cr_assert_eq(parse(g, sizeof(g), &h, &plen), -1, what);		\
	} while (0)
	BROKEN("checksum", ip[10] ^= 1);
	BROKEN("VLAN tag", put16(g + 12, 0x8100));
	BROKEN("IPv6", (put16(g + 12, 0x86dd)));
	BROKEN("version 6", (ip[0] = 0x65, fix_sum(ip, 20)));
	BROKEN("ihl 4", (ip[0] = 0x44, fix_sum(ip, 20)));
	BROKEN("TCP", (ip[9] = 6, fix_sum(ip, 20)));
	BROKEN("more fragments", (ip[6] = 0x20, fix_sum(ip, 20)));
	BROKEN("a fragment's offset", (ip[7] = 1, fix_sum(ip, 20)));
	BROKEN("IPv4 length past the frame", (put16(ip + 2, 20 + 8 + 5), fix_sum(ip, 20)));
	BROKEN("IPv4 length under UDP's header", (put16(ip + 2, 20 + 7), fix_sum(ip, 20)));
	BROKEN("UDP length short", put16(ip + 24, 8 + 3));
	BROKEN("UDP length long", put16(ip + 24, 8 + 5));
#undef BROKEN
	/* DF alone is fine */
	memcpy(g, f, sizeof(f));
	ip[6] = 0x40;
	fix_sum(ip, 20);
	cr_assert_eq(parse(g, sizeof(g), &h, &plen), ULHDR_LEN);
}
