/*
 * fuzz/neigh_msg: a differential fuzzer of the forwarder's rtnetlink parser
 * (procs/forwarder/neigh_msg.c). The input is one buffer as a receive on the netlink
 * socket gives it. neigh_msg_next must walk it to its end or stop with -EBADMSG,
 * always forward and never past it, and find exactly the messages, and in each the
 * fields, that a reference finds: written here with the kernel's own macros
 * (NLMSG_OK/NLMSG_NEXT, RTA_OK/RTA_NEXT) over an aligned copy, as the uapi headers
 * mean them to be used. The input is parsed at an odd address too (the parser must
 * not read in place), and ends where libFuzzer's buffer does, so ASan reports any read
 * past it. The requests are written from the input's first bytes and read back by the
 * reference. abort() on any difference.
 */
#include "procs/forwarder/neigh_msg.c"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference's reading of one message, in neigh_msg's terms. */
static void
ref_attrs(struct neigh_msg *m, struct rtattr *a, int len)
{
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		unsigned type = a->rta_type & NLA_TYPE_MASK;
		size_t vlen = RTA_PAYLOAD(a);
		const uint8_t *v = RTA_DATA(a);
		uint32_t u;

		if (vlen == 4)
			memcpy(&u, v, 4);
		switch (m->kind) {
		case NEIGH_MSG_NEIGH:
		case NEIGH_MSG_NEIGH_DEL:
			if (type == NDA_DST && vlen == 4) {
				m->ip = ntohl(u);
				m->has_ip = true;
			} else if (type == NDA_LLADDR && vlen == 6) {
				memcpy(m->mac, v, 6);
				m->has_mac = true;
			}
			break;
		case NEIGH_MSG_ROUTE:
		case NEIGH_MSG_ROUTE_DEL:
			if (type == RTA_DST && vlen == 4) {
				m->dst = ntohl(u);
				m->has_dst = true;
			} else if (type == RTA_GATEWAY && vlen == 4) {
				m->gw = ntohl(u);
				m->has_gw = true;
			} else if (type == RTA_OIF && vlen == 4) {
				m->ifindex = (int)u;
			} else if (type == RTA_VIA) {
				m->has_via = true;
			}
			break;
		case NEIGH_MSG_LINK:
		case NEIGH_MSG_LINK_DEL:
			if (type == IFLA_ADDRESS && vlen == 6) {
				memcpy(m->mac, v, 6);
				m->has_mac = true;
			}
			break;
		default:
			break;
		}
	}
}

static void
ref_msg(struct nlmsghdr *h, struct neigh_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = h->nlmsg_type;
	m->nl_flags = h->nlmsg_flags;
	m->seq = h->nlmsg_seq;
	m->pid = h->nlmsg_pid;
	switch (h->nlmsg_type) {
	case NLMSG_DONE:
		m->kind = NEIGH_MSG_DONE;
		break;
	case NLMSG_ERROR:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			m->kind = NEIGH_MSG_ERROR;
			m->error = e->error > 0 ? -EPROTO : e->error;
			m->req_type = e->msg.nlmsg_type;
			m->req_seq = e->msg.nlmsg_seq;
		}
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ndmsg))) {
			struct ndmsg *nd = NLMSG_DATA(h);

			if (nd->ndm_family != AF_INET)
				break;
			m->kind = h->nlmsg_type == RTM_NEWNEIGH ? NEIGH_MSG_NEIGH :
			    NEIGH_MSG_NEIGH_DEL;
			m->ifindex = nd->ndm_ifindex;
			m->state = nd->ndm_state;
			m->ndm_flags = nd->ndm_flags;
			ref_attrs(m, (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd))),
			    (int)NLMSG_PAYLOAD(h, sizeof(*nd)));
		}
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
			struct rtmsg *rt = NLMSG_DATA(h);

			if (rt->rtm_family != AF_INET)
				break;
			m->kind = h->nlmsg_type == RTM_NEWROUTE ? NEIGH_MSG_ROUTE :
			    NEIGH_MSG_ROUTE_DEL;
			m->rtm_type = rt->rtm_type;
			m->rtm_table = rt->rtm_table;
			m->dst_len = rt->rtm_dst_len;
			ref_attrs(m, RTM_RTA(rt), (int)RTM_PAYLOAD(h));
		}
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);

			m->kind = h->nlmsg_type == RTM_NEWLINK ? NEIGH_MSG_LINK :
			    NEIGH_MSG_LINK_DEL;
			m->ifindex = ifi->ifi_index;
			m->ifi_flags = ifi->ifi_flags;
			ref_attrs(m, IFLA_RTA(ifi), (int)IFLA_PAYLOAD(h));
		}
		break;
	default:
		break;
	}
}

static bool
same(const struct neigh_msg *a, const struct neigh_msg *b)
{
	return a->kind == b->kind && a->type == b->type && a->nl_flags == b->nl_flags &&
	    a->seq == b->seq && a->pid == b->pid && a->ifindex == b->ifindex &&
	    a->state == b->state && a->ndm_flags == b->ndm_flags && a->ip == b->ip &&
	    a->has_ip == b->has_ip && memcmp(a->mac, b->mac, 6) == 0 &&
	    a->has_mac == b->has_mac && a->rtm_type == b->rtm_type &&
	    a->rtm_table == b->rtm_table && a->dst_len == b->dst_len && a->dst == b->dst &&
	    a->gw == b->gw && a->has_dst == b->has_dst && a->has_gw == b->has_gw &&
	    a->has_via == b->has_via && a->ifi_flags == b->ifi_flags && a->error == b->error &&
	    a->req_type == b->req_type && a->req_seq == b->req_seq;
}

/* buf[0..size) is the input at some alignment; ref is an aligned copy of it. */
static void
check_walk(const uint8_t *buf, size_t size, void *ref)
{
	struct nlmsghdr *h = ref;
	int left = (int)size;
	size_t off = 0, prev;
	struct neigh_msg m, r;
	int rc;

	for (;;) {
		prev = off;
		rc = neigh_msg_next(buf, size, &off, &m);
		if (rc == 0 || rc == -EBADMSG) {
			/* the reference finds no more, and the walk moved no further */
			if (NLMSG_OK(h, left) || off != prev || (rc == 0) != (prev == size))
				abort();
			return;
		}
		if (rc != 1 || off <= prev || off > size || !NLMSG_OK(h, left))
			abort();
		ref_msg(h, &r);
		if (!same(&m, &r))
			abort();
		h = NLMSG_NEXT(h, left);
		/* NLMSG_NEXT may leave a negative length at the end; the walk stops at size */
		if (left < 0)
			left = 0;
	}
}

static void
check_requests(const uint8_t *data, size_t size)
{
	uint32_t dst = 0, seq = 0, src = 0, want;
	uint8_t buf[NEIGH_MSG_REQ_MAX] __attribute__((aligned(4)));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	size_t len;
	int rlen;

	if (size < 8)
		return;
	memcpy(&dst, data, 4);
	memcpy(&seq, data + 4, 4);
	if (size >= 12)
		memcpy(&src, data + 8, 4);
	if (neigh_msg_route_query(buf, src != 0 ? 43 : 35, dst, src, seq) != 0)
		abort();
	len = neigh_msg_route_query(buf, sizeof(buf), dst, src, seq);
	if (len == 0 || len > sizeof(buf) || !NLMSG_OK(h, (int)len) || h->nlmsg_len != len ||
	    h->nlmsg_type != RTM_GETROUTE || h->nlmsg_seq != seq ||
	    h->nlmsg_flags != NLM_F_REQUEST)
		abort();
	{
		struct rtmsg *rt = NLMSG_DATA(h);
		struct rtattr *a = RTM_RTA(rt);

		rlen = (int)RTM_PAYLOAD(h);
		want = htonl(dst);
		if (rt->rtm_family != AF_INET || rt->rtm_dst_len != 32 || !RTA_OK(a, rlen) ||
		    a->rta_type != RTA_DST || RTA_PAYLOAD(a) != 4 ||
		    memcmp(RTA_DATA(a), &want, 4) != 0)
			abort();
		a = RTA_NEXT(a, rlen);
		want = htonl(src);
		if (src == 0 ? (rlen != 0 || rt->rtm_src_len != 0) :
		    (rt->rtm_src_len != 32 || !RTA_OK(a, rlen) || a->rta_type != RTA_SRC ||
		    RTA_PAYLOAD(a) != 4 || memcmp(RTA_DATA(a), &want, 4) != 0 ||
		    RTA_NEXT(a, rlen) == NULL || rlen != 0))
			abort();
	}
	len = neigh_msg_neigh_dump(buf, sizeof(buf), (int)dst, seq);
	if (len == 0 || !NLMSG_OK(h, (int)len) || h->nlmsg_type != RTM_GETNEIGH ||
	    h->nlmsg_flags != (NLM_F_REQUEST | NLM_F_DUMP) || h->nlmsg_seq != seq)
		abort();
	{
		struct ndmsg *nd = NLMSG_DATA(h);
		struct rtattr *a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));

		rlen = (int)NLMSG_PAYLOAD(h, sizeof(*nd));
		if (nd->ndm_family != AF_INET || !RTA_OK(a, rlen) || a->rta_type != NDA_IFINDEX ||
		    memcmp(RTA_DATA(a), &dst, 4) != 0)
			abort();
	}
	len = neigh_msg_link_query(buf, sizeof(buf), (int)dst, seq);
	if (len == 0 || !NLMSG_OK(h, (int)len) || h->nlmsg_type != RTM_GETLINK ||
	    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index != (int)dst)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *ref;
	uint8_t *odd;

	if (size > 1 << 20)
		return 0;
	/* rounded up, so NLMSG_NEXT's pointer may step to the end; zeroed past size */
	ref = calloc(1, size + 8);
	odd = malloc(size + 1);
	if (ref == NULL || odd == NULL)
		abort();
	memcpy(ref, data, size);
	check_walk(data, size, ref);
	memcpy(odd + 1, data, size);
	check_walk(odd + 1, size, ref);
	check_requests(data, size);
	free(ref);
	free(odd);
	return 0;
}
