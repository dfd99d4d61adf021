/*
 * neigh_msg: see neigh_msg.h. Invariant: every read is a memcpy or bytes_get from a
 * range checked to lie inside buf[0..len) first; a header's length is trusted only
 * after it was checked against what is left of the buffer (the message) or of the
 * message (an attribute).
 */
#include "neigh_msg.h"
#include "common/bytes.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#define NLA_HDR		4	/* struct rtattr / nlattr */

/* What the kernel's struct ndmsg, rtmsg, ifinfomsg and nlmsgerr take. */
_Static_assert(sizeof(struct nlmsghdr) == 16, "nlmsghdr");
_Static_assert(sizeof(struct ndmsg) == 12, "ndmsg");
_Static_assert(sizeof(struct rtmsg) == 12, "rtmsg");
_Static_assert(sizeof(struct ifinfomsg) == 16, "ifinfomsg");
_Static_assert(sizeof(struct nlmsgerr) == 20, "nlmsgerr");

static size_t
align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static uint32_t
get_u32(const uint8_t *p)	/* host order, as the kernel writes an int attribute */
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* One attribute of the message's: type and value's bounds. */
typedef void attr_fn(struct neigh_msg *m, uint16_t type, const uint8_t *v, size_t vlen);

/*
 * The attributes of p[0..len): each whole inside it, or the walk ends there (what came
 * before is kept).
 */
static void
attrs_walk(const uint8_t *p, size_t len, struct neigh_msg *m, attr_fn *fn)
{
	size_t off = 0;

	while (len - off >= NLA_HDR) {
		uint16_t alen, type;

		memcpy(&alen, p + off, 2);
		memcpy(&type, p + off + 2, 2);
		if (alen < NLA_HDR || alen > len - off)
			return;
		fn(m, type & NLA_TYPE_MASK, p + off + NLA_HDR, alen - NLA_HDR);
		off += align4(alen);
		if (off > len)
			return;
	}
}

static void
neigh_attr(struct neigh_msg *m, uint16_t type, const uint8_t *v, size_t vlen)
{
	if (type == NDA_DST && vlen == 4) {
		m->ip = bytes_get32(v);
		m->has_ip = true;
	} else if (type == NDA_LLADDR && vlen == ETH_ALEN) {
		memcpy(m->mac, v, ETH_ALEN);
		m->has_mac = true;
	}
}

static void
route_attr(struct neigh_msg *m, uint16_t type, const uint8_t *v, size_t vlen)
{
	if (type == RTA_DST && vlen == 4) {
		m->dst = bytes_get32(v);
		m->has_dst = true;
	} else if (type == RTA_GATEWAY && vlen == 4) {
		m->gw = bytes_get32(v);
		m->has_gw = true;
	} else if (type == RTA_OIF && vlen == 4) {
		m->ifindex = (int)get_u32(v);
	} else if (type == RTA_VIA) {
		m->has_via = true;
	}
}

static void
link_attr(struct neigh_msg *m, uint16_t type, const uint8_t *v, size_t vlen)
{
	if (type == IFLA_ADDRESS && vlen == ETH_ALEN) {
		memcpy(m->mac, v, ETH_ALEN);
		m->has_mac = true;
	}
}

/* The message's payload p[0..len) (its header read already). */
static void
parse_payload(struct neigh_msg *m, const uint8_t *p, size_t len)
{
	switch (m->type) {
	case NLMSG_DONE:
		m->kind = NEIGH_MSG_DONE;
		return;
	case NLMSG_ERROR: {
		struct nlmsgerr e;

		if (len < sizeof(e))
			return;
		memcpy(&e, p, sizeof(e));
		m->kind = NEIGH_MSG_ERROR;
		/* positive: not an errno, yet not a success either */
		m->error = e.error > 0 ? -EPROTO : e.error;
		m->req_type = e.msg.nlmsg_type;
		m->req_seq = e.msg.nlmsg_seq;
		return;
	}
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH: {
		struct ndmsg nd;

		if (len < sizeof(nd))
			return;
		memcpy(&nd, p, sizeof(nd));
		if (nd.ndm_family != AF_INET)
			return;
		m->kind = m->type == RTM_NEWNEIGH ? NEIGH_MSG_NEIGH : NEIGH_MSG_NEIGH_DEL;
		m->ifindex = nd.ndm_ifindex;
		m->state = nd.ndm_state;
		m->ndm_flags = nd.ndm_flags;
		attrs_walk(p + sizeof(nd), len - sizeof(nd), m, neigh_attr);
		return;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		struct rtmsg rt;

		if (len < sizeof(rt))
			return;
		memcpy(&rt, p, sizeof(rt));
		if (rt.rtm_family != AF_INET)
			return;
		m->kind = m->type == RTM_NEWROUTE ? NEIGH_MSG_ROUTE : NEIGH_MSG_ROUTE_DEL;
		m->rtm_type = rt.rtm_type;
		m->rtm_table = rt.rtm_table;
		m->dst_len = rt.rtm_dst_len;
		attrs_walk(p + sizeof(rt), len - sizeof(rt), m, route_attr);
		return;
	}
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		struct ifinfomsg ifi;

		if (len < sizeof(ifi))
			return;
		memcpy(&ifi, p, sizeof(ifi));
		m->kind = m->type == RTM_NEWLINK ? NEIGH_MSG_LINK : NEIGH_MSG_LINK_DEL;
		m->ifindex = ifi.ifi_index;
		m->ifi_flags = ifi.ifi_flags;
		attrs_walk(p + sizeof(ifi), len - sizeof(ifi), m, link_attr);
		return;
	}
	default:
		return;
	}
}

int
neigh_msg_next(const uint8_t *buf, size_t len, size_t *off, struct neigh_msg *m)
{
	struct nlmsghdr h;
	size_t left;

	if (*off >= len)
		return 0;
	left = len - *off;
	if (left < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf + *off, sizeof(h));
	if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > left)
		return -EBADMSG;
	memset(m, 0, sizeof(*m));
	m->type = h.nlmsg_type;
	m->nl_flags = h.nlmsg_flags;
	m->seq = h.nlmsg_seq;
	m->pid = h.nlmsg_pid;
	parse_payload(m, buf + *off + sizeof(h), h.nlmsg_len - sizeof(h));
	/* The last message's padding may be missing. */
	*off += align4(h.nlmsg_len) < left ? align4(h.nlmsg_len) : left;
	return 1;
}

static void
put_hdr(uint8_t *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)len, .nlmsg_type = type,
	    .nlmsg_flags = flags, .nlmsg_seq = seq };

	memcpy(buf, &h, sizeof(h));
}

static void
put_attr_u32(uint8_t *p, uint16_t type, uint32_t v)
{
	uint16_t alen = NLA_HDR + 4;

	memcpy(p, &alen, 2);
	memcpy(p + 2, &type, 2);
	memcpy(p + NLA_HDR, &v, 4);
}

size_t
neigh_msg_route_query(uint8_t *buf, size_t room, uint32_t dst, uint32_t src, uint32_t seq)
{
	struct rtmsg rt = { .rtm_family = AF_INET, .rtm_dst_len = 32,
	    .rtm_src_len = src != 0 ? 32 : 0 };
	size_t at = sizeof(struct nlmsghdr) + sizeof(rt);
	size_t len = at + (NLA_HDR + 4) * (src != 0 ? 2 : 1);
	uint8_t be[4];

	if (room < len)
		return 0;
	memset(buf, 0, len);
	put_hdr(buf, len, RTM_GETROUTE, NLM_F_REQUEST, seq);
	memcpy(buf + sizeof(struct nlmsghdr), &rt, sizeof(rt));
	bytes_put32(be, dst);
	put_attr_u32(buf + at, RTA_DST, get_u32(be));
	if (src != 0) {
		bytes_put32(be, src);
		put_attr_u32(buf + at + NLA_HDR + 4, RTA_SRC, get_u32(be));
	}
	return len;
}

size_t
neigh_msg_neigh_dump(uint8_t *buf, size_t room, int ifindex, uint32_t seq)
{
	struct ndmsg nd = { .ndm_family = AF_INET };
	size_t len = sizeof(struct nlmsghdr) + sizeof(nd) + NLA_HDR + 4;

	if (room < len)
		return 0;
	memset(buf, 0, len);
	put_hdr(buf, len, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
	memcpy(buf + sizeof(struct nlmsghdr), &nd, sizeof(nd));
	put_attr_u32(buf + sizeof(struct nlmsghdr) + sizeof(nd), NDA_IFINDEX, (uint32_t)ifindex);
	return len;
}

size_t
neigh_msg_link_query(uint8_t *buf, size_t room, int ifindex, uint32_t seq)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	size_t len = sizeof(struct nlmsghdr) + sizeof(ifi);

	if (room < len)
		return 0;
	memset(buf, 0, len);
	put_hdr(buf, len, RTM_GETLINK, NLM_F_REQUEST, seq);
	memcpy(buf + sizeof(struct nlmsghdr), &ifi, sizeof(ifi));
	return len;
}
