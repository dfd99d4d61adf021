/*
 * neigh_msg: the rtnetlink codec of the underlay next-hop resolver (neigh.h): the few
 * requests it sends (a route query, a dump of one interface's IPv4 neighbours, one
 * link) and a parser of what the kernel answers or announces (neighbours, IPv4 routes,
 * links, errors, the end of a dump). Pure: bytes in, struct out, no I/O. The bytes are
 * the kernel's, but the parser trusts none of them: every header and attribute length
 * is checked against what is left before anything in it is read, and nothing is read
 * in place (a buffer may have any alignment), so a malformed message ends the parse of
 * its buffer, never a read outside it (fuzz/neigh_msg.c).
 */
#ifndef FORWARDER_NEIGH_MSG_H
#define FORWARDER_NEIGH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum neigh_msg_kind {
	NEIGH_MSG_OTHER = 0,	/* a message of no interest (another family, type) */
	NEIGH_MSG_NEIGH,	/* RTM_NEWNEIGH */
	NEIGH_MSG_NEIGH_DEL,	/* RTM_DELNEIGH */
	NEIGH_MSG_ROUTE,	/* RTM_NEWROUTE (an answer to a query, or a change) */
	NEIGH_MSG_ROUTE_DEL,	/* RTM_DELROUTE */
	NEIGH_MSG_LINK,		/* RTM_NEWLINK */
	NEIGH_MSG_LINK_DEL,	/* RTM_DELLINK */
	NEIGH_MSG_DONE,		/* NLMSG_DONE: a dump ended */
	NEIGH_MSG_ERROR,	/* NLMSG_ERROR: error (0: an ack), the request's type, seq */
};

/* IPv4 addresses in host order. has_* says whether the attribute was there. */
struct neigh_msg {
	enum neigh_msg_kind kind;
	uint16_t type;		/* nlmsg_type */
	uint16_t nl_flags;	/* nlmsg_flags */
	uint32_t seq, pid;	/* nlmsg_seq, nlmsg_pid */
	int ifindex;		/* NEIGH: ndm_ifindex; ROUTE: RTA_OIF (0: none); LINK: ifi_index */
	/* NEIGH */
	uint16_t state;		/* ndm_state (NUD_*) */
	uint8_t ndm_flags;	/* NTF_* */
	uint32_t ip;		/* NDA_DST */
	bool has_ip;
	/* NEIGH: NDA_LLADDR; LINK: IFLA_ADDRESS (when 6 bytes long) */
	uint8_t mac[6];
	bool has_mac;
	/* ROUTE */
	uint8_t rtm_type;	/* RTN_* */
	uint8_t rtm_table;
	uint8_t dst_len;
	uint32_t dst, gw;	/* RTA_DST, RTA_GATEWAY */
	bool has_dst, has_gw;
	bool has_via;		/* RTA_VIA: a next hop of another family */
	/* LINK */
	uint32_t ifi_flags;	/* IFF_* */
	/* ERROR */
	int error;		/* a negative errno, or 0 */
	uint16_t req_type;	/* the failed request's nlmsg_type and nlmsg_seq */
	uint32_t req_seq;
};

/*
 * The message at *off of buf[0..len): 1 and m filled (its kind NEIGH_MSG_OTHER when of
 * no interest), *off moved past it; 0 at the end of the buffer; -EBADMSG when the
 * bytes at *off are no whole message (the rest of the buffer is to be dropped). A
 * message whose family is not IPv4 (neighbours, routes) is OTHER; a malformed
 * attribute ends the attributes of its message, what came before it kept.
 */
int neigh_msg_next(const uint8_t *buf, size_t len, size_t *off, struct neigh_msg *m);

/*
 * Requests, written at buf (room bytes, 4-byte aligned): their length, 0 when room is
 * too small. seq is the request's nlmsg_seq, for matching its answer.
 */
#define NEIGH_MSG_REQ_MAX	64	/* the longest of them */
/* RTM_GETROUTE: the route the kernel would take to dst from src (0: any source). */
size_t neigh_msg_route_query(uint8_t *buf, size_t room, uint32_t dst, uint32_t src,
    uint32_t seq);
/* RTM_GETNEIGH dump of the IPv4 neighbours (of ifindex: the kernel may send all). */
size_t neigh_msg_neigh_dump(uint8_t *buf, size_t room, int ifindex, uint32_t seq);
/* RTM_GETLINK of ifindex. */
size_t neigh_msg_link_query(uint8_t *buf, size_t room, int ifindex, uint32_t seq);

#endif
