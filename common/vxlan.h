/*
 * vxlan: the data plane's frames: the VXLAN header (RFC 7348) with vpcfwd's learn bit
 * (docs/protocol.md), and the fields of the inner Ethernet, IPv4 and ARP headers the
 * forwarders read or write. Parsers check every length and return -1 on anything a
 * forwarder does not handle; they never read past len.
 */
#ifndef COMMON_VXLAN_H
#define COMMON_VXLAN_H

#include <stddef.h>
#include <stdint.h>

#define VXLAN_PORT		4789
#define VXLAN_HLEN		8
#define VXLAN_FLAG_I		0x08	/* byte 0: the VNI is valid (RFC 7348) */
#define VXLAN_LEARN_BYTE	1	/* the learn bit: byte 1 (reserved in RFC 7348) */
#define VXLAN_LEARN_BIT		0x80
#define VXLAN_VNI_MAX		0xffffffu

#define FRAME_ETH_HLEN		14
#define FRAME_MAC_LEN		6
#define FRAME_P_IPV4		0x0800
#define FRAME_P_ARP		0x0806
#define FRAME_IPV4_HLEN		20
#define FRAME_ARP_LEN		28	/* IPv4 over Ethernet */
#define FRAME_MIN		(FRAME_ETH_HLEN + FRAME_IPV4_HLEN)

struct vxlan_hdr {
	uint32_t vni;
	uint8_t learn;		/* 1: the sender asks for the rule of the inner destination */
};

/* Parse a VXLAN header: 0, or -1 (short, I flag clear, reserved bits other than learn). */
int vxlan_parse(const uint8_t *p, size_t len, struct vxlan_hdr *h);
/* Write a VXLAN header (8 bytes) with the learn bit as h says. */
void vxlan_write(uint8_t *p, const struct vxlan_hdr *h);
/* Clear the learn bit of a header already parsed. */
static inline void
vxlan_clear_learn(uint8_t *p)
{
	p[VXLAN_LEARN_BYTE] &= (uint8_t)~VXLAN_LEARN_BIT;
}

/* What an inner frame is, for a forwarder. */
enum frame_kind {
	FRAME_BAD = -1,		/* too short, bad IPv4 header */
	FRAME_OTHER = 0,	/* an ethertype (or ARP op) a forwarder does not handle */
	FRAME_IPV4,
	FRAME_ARP_REQUEST,	/* IPv4 over Ethernet */
};

struct frame_info {
	enum frame_kind kind;
	uint32_t src_ip;	/* IPv4: source, ARP: sender; host byte order */
	uint32_t dst_ip;	/* IPv4: destination, ARP: target */
};

enum frame_kind frame_parse(const uint8_t *f, size_t len, struct frame_info *fi);

static inline uint8_t *frame_dst_mac(uint8_t *f) { return f; }
static inline uint8_t *frame_src_mac(uint8_t *f) { return f + FRAME_MAC_LEN; }

/*
 * Turn an ARP request (parsed as FRAME_ARP_REQUEST) into the reply "target IP is at
 * mac", in place, addressed back to the asker. The frame keeps its length.
 */
void frame_arp_reply(uint8_t *f, const uint8_t mac[FRAME_MAC_LEN]);

/* 224.0.0.0/4 or 255.255.255.255: no rule routes it. */
static inline int
ipv4_is_group(uint32_t ip)
{
	return (ip >> 28) == 0xe || ip == 0xffffffffu;
}

#endif
