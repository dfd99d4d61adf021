/*
 * pkt: the forwarder's packet buffers. A buffer goes from a receive (UDP or TAP) to a
 * send or a TAP write and back to the pool, never copied: each has room for a VXLAN
 * header in front of an Ethernet frame, and its own loop_op, msghdr and address for the
 * one operation it is in at a time.
 */
#ifndef FORWARDER_PKT_H
#define FORWARDER_PKT_H

#include "common/loop.h"
#include "common/vxlan.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define PKT_SIZE	2048	/* VXLAN header + the largest frame of a 1500-byte underlay */
#define PKT_NONE	UINT32_MAX
/* Room a TAP read leaves in front of the VXLAN header, for the underlay's (AF_XDP). */
#define PKT_HEADROOM	64
/* The largest TAP MTU whose frames fit a buffer: 2048 - 64 - 8 - 14 - 1 (a full read is cut). */
#define TAP_MTU_MAX	(PKT_SIZE - PKT_HEADROOM - VXLAN_HLEN - FRAME_ETH_HLEN - 1)

struct pkt {
	struct loop_op op;
	uint8_t *buf;		/* PKT_SIZE bytes */
	uint32_t off;		/* where the data starts in buf */
	uint32_t len;		/* bytes of data */
	int32_t port;		/* TAP reads: the vport's slot; -1 for the UDP socket */
	uint32_t next;		/* free list */
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_in addr;	/* UDP: the source, then the destination */
};

struct pkt_pool {
	struct pkt *p;
	uint8_t *mem;
	uint32_t n;
	uint32_t free_head;
	uint32_t nfree;
};

#define PKT_UMEM_ALIGN	4096
/* The pool's memory, whole pages: in xdp mode it is registered as the UMEM. */
static inline size_t
pkt_pool_bytes(uint32_t n)
{
	return ((size_t)n * PKT_SIZE + PKT_UMEM_ALIGN - 1) & ~(size_t)(PKT_UMEM_ALIGN - 1);
}

int pkt_pool_init(struct pkt_pool *pp, uint32_t n);
void pkt_pool_free(struct pkt_pool *pp);
/* NULL when every buffer is in use. */
struct pkt *pkt_get(struct pkt_pool *pp);
void pkt_put(struct pkt_pool *pp, struct pkt *p);

#endif
