/*
 * ulhdr: the underlay's headers in front of a VXLAN datagram (Ethernet, IPv4, UDP), as
 * the forwarder reads and writes them itself with AF_XDP (docs/forwarder.md, "io"): the
 * kernel's IP and UDP stack never sees those frames. A pure codec: the parser checks
 * every length and returns -1 on anything it does not take whole; it never reads past len.
 */
#ifndef COMMON_ULHDR_H
#define COMMON_ULHDR_H

#include <stddef.h>
#include <stdint.h>

#define ULHDR_LEN	42	/* Ethernet 14 + IPv4 20 (no options) + UDP 8 */
#define ULHDR_TTL	64

struct ulhdr {
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
	uint32_t src_ip;	/* host byte order */
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t ip_id;		/* written, not parsed: DF is clear, so ids must vary (RFC 6864) */
};

/*
 * A frame of Ethernet (no VLAN), IPv4 (options allowed, correct header checksum, not a
 * fragment, total length within len: Ethernet padding is cut) and UDP (its length equal
 * to what the IPv4 length leaves). Returns the offset of the UDP payload, its length in
 * *plen; or -1. The UDP checksum is not checked: a local sender's may be partial, and
 * what a forwarder trusts is the source's VTEP allow-list (docs/forwarder.md).
 */
int ulhdr_parse(const uint8_t *f, size_t len, struct ulhdr *h, uint32_t *plen);
/*
 * Write the ULHDR_LEN bytes in front of a UDP payload of plen bytes at f + ULHDR_LEN:
 * IPv4 without options, h->ip_id, DF clear (as Linux's vxlan by default), TTL 64, the header checksum computed; UDP checksum
 * zero (RFC 768 allows it over IPv4; RFC 7348 says VXLAN should send it so).
 */
void ulhdr_write(uint8_t *f, const struct ulhdr *h, uint32_t plen);

#endif
