/*
 * vxlan: see vxlan.h. Multi-byte fields are read and written byte by byte: frames sit
 * at any alignment in the forwarder's buffers.
 */
#include "common/vxlan.h"
#include "common/bytes.h"

#include <string.h>

int
vxlan_parse(const uint8_t *p, size_t len, struct vxlan_hdr *h)
{
	if (len < VXLAN_HLEN || p[0] != VXLAN_FLAG_I ||
	    (p[1] & ~VXLAN_LEARN_BIT) != 0 || p[2] != 0 || p[3] != 0 || p[7] != 0)
		return -1;
	h->vni = (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
	h->learn = (p[1] & VXLAN_LEARN_BIT) != 0;
	return 0;
}

void
vxlan_write(uint8_t *p, const struct vxlan_hdr *h)
{
	p[0] = VXLAN_FLAG_I;
	p[1] = h->learn ? VXLAN_LEARN_BIT : 0;
	p[2] = p[3] = 0;
	p[4] = (uint8_t)(h->vni >> 16);
	p[5] = (uint8_t)(h->vni >> 8);
	p[6] = (uint8_t)h->vni;
	p[7] = 0;
}

enum frame_kind
frame_parse(const uint8_t *f, size_t len, struct frame_info *fi)
{
	const uint8_t *l3 = f + FRAME_ETH_HLEN;
	uint16_t type;

	fi->kind = FRAME_BAD;
	if (len < FRAME_ETH_HLEN)
		return FRAME_BAD;
	type = bytes_get16(f + 12);
	if (type == FRAME_P_IPV4) {
		size_t ihl;

		if (len < FRAME_MIN || (l3[0] >> 4) != 4)
			return FRAME_BAD;
		ihl = (size_t)(l3[0] & 0xf) * 4;
		if (ihl < FRAME_IPV4_HLEN || len < FRAME_ETH_HLEN + ihl ||
		    bytes_get16(l3 + 2) < ihl || bytes_get16(l3 + 2) > len - FRAME_ETH_HLEN)
			return FRAME_BAD;
		fi->src_ip = bytes_get32(l3 + 12);
		fi->dst_ip = bytes_get32(l3 + 16);
		return fi->kind = FRAME_IPV4;
	}
	fi->kind = FRAME_OTHER;
	if (type != FRAME_P_ARP)
		return FRAME_OTHER;
	if (len < FRAME_ETH_HLEN + FRAME_ARP_LEN)
		return fi->kind = FRAME_BAD;
	/* Ethernet (1), IPv4, 6-byte and 4-byte addresses, request (1) */
	if (bytes_get16(l3) != 1 || bytes_get16(l3 + 2) != FRAME_P_IPV4 || l3[4] != 6 || l3[5] != 4 ||
	    bytes_get16(l3 + 6) != 1)
		return FRAME_OTHER;
	fi->src_ip = bytes_get32(l3 + 14);
	fi->dst_ip = bytes_get32(l3 + 24);
	return fi->kind = FRAME_ARP_REQUEST;
}

void
frame_arp_reply(uint8_t *f, const uint8_t mac[FRAME_MAC_LEN])
{
	uint8_t *a = f + FRAME_ETH_HLEN, sender_mac[FRAME_MAC_LEN], sender_ip[4];

	memcpy(sender_mac, a + 8, FRAME_MAC_LEN);
	memcpy(sender_ip, a + 14, 4);
	memcpy(f, sender_mac, FRAME_MAC_LEN);			/* to the asker */
	memcpy(f + FRAME_MAC_LEN, mac, FRAME_MAC_LEN);
	bytes_put16(a + 6, 2);						/* reply */
	memcpy(a + 14, a + 24, 4);				/* sender: the target */
	memcpy(a + 8, mac, FRAME_MAC_LEN);
	memcpy(a + 18, sender_mac, FRAME_MAC_LEN);		/* target: the asker */
	memcpy(a + 24, sender_ip, 4);
}
