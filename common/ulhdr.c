/*
 * ulhdr: see ulhdr.h. Fields byte by byte: the frames sit at any alignment.
 */
#include "common/ulhdr.h"
#include "common/bytes.h"
#include "common/vxlan.h"

#include <string.h>

#define IP_PROTO_UDP	17
#define UDP_HLEN	8

static uint16_t
ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += bytes_get16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
ulhdr_parse(const uint8_t *f, size_t len, struct ulhdr *h, uint32_t *plen)
{
	const uint8_t *ip = f + FRAME_ETH_HLEN, *udp;
	size_t ihl, tot;

	if (len < ULHDR_LEN || bytes_get16(f + 12) != FRAME_P_IPV4 || (ip[0] >> 4) != 4)
		return -1;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = bytes_get16(ip + 2);
	if (ihl < FRAME_IPV4_HLEN || tot < ihl + UDP_HLEN || tot > len - FRAME_ETH_HLEN ||
	    ip[9] != IP_PROTO_UDP || (bytes_get16(ip + 6) & 0x3fff) != 0 ||
	    ip_csum(ip, ihl) != 0)
		return -1;
	udp = ip + ihl;
	if (bytes_get16(udp + 4) != tot - ihl)
		return -1;
	memcpy(h->dst_mac, f, 6);
	memcpy(h->src_mac, f + 6, 6);
	h->src_ip = bytes_get32(ip + 12);
	h->dst_ip = bytes_get32(ip + 16);
	h->src_port = bytes_get16(udp);
	h->dst_port = bytes_get16(udp + 2);
	*plen = (uint32_t)(tot - ihl - UDP_HLEN);
	return (int)(FRAME_ETH_HLEN + ihl + UDP_HLEN);
}

void
ulhdr_write(uint8_t *f, const struct ulhdr *h, uint32_t plen)
{
	uint8_t *ip = f + FRAME_ETH_HLEN, *udp = ip + FRAME_IPV4_HLEN;

	memcpy(f, h->dst_mac, 6);
	memcpy(f + 6, h->src_mac, 6);
	bytes_put16(f + 12, FRAME_P_IPV4);
	ip[0] = 0x45;
	ip[1] = 0;
	bytes_put16(ip + 2, (uint16_t)(FRAME_IPV4_HLEN + UDP_HLEN + plen));
	bytes_put16(ip + 4, h->ip_id);
	bytes_put16(ip + 6, 0);		/* DF clear, offset 0 */
	ip[8] = ULHDR_TTL;
	ip[9] = IP_PROTO_UDP;
	bytes_put16(ip + 10, 0);
	bytes_put32(ip + 12, h->src_ip);
	bytes_put32(ip + 16, h->dst_ip);
	bytes_put16(ip + 10, ip_csum(ip, FRAME_IPV4_HLEN));
	bytes_put16(udp, h->src_port);
	bytes_put16(udp + 2, h->dst_port);
	bytes_put16(udp + 4, (uint16_t)(UDP_HLEN + plen));
	bytes_put16(udp + 6, 0);
}
