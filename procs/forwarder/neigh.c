/*
 * neigh: see neigh.h. Two tables, open addressing with linear probing, each at most
 * half full (so a probe always ends at an empty slot): the VTEPs (their route: the next
 * hop, or elsewhere) and the interface's neighbours that have a MAC. A lookup is a
 * probe of each. Invariants: a VTEP entry is `querying` exactly while a query of its
 * route is queued or sent and not answered, and `queries` counts those entries; a
 * VTEP's route is current when its gen is route_gen; a neighbour is in the table
 * exactly when the kernel's last word on it was a state with a MAC (a dump's end drops
 * those it did not name). Answers and notifications come on one socket in the order
 * the kernel made them, so an answer received after a route notification is newer
 * than that change: its route is current.
 */
#include "neigh.h"
#include "neigh_msg.h"
#include "common/mix.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define NEIGH_RCVBUF	(4 << 20)	/* a dump of a big neighbour table, with room */
#define NEIGH_RBUF	65536		/* the kernel's netlink messages stay under 32 KiB */
#define NEIGH_OBUF	32768		/* NEIGH_QUERIES_MAX queries and the dumps fit */
#define NEIGH_RETRY_NS	(100ull * 1000000)	/* a receive failing for no known reason */
#define NEIGH_STUCK_NS	(1000ull * 1000000)	/* queries at the cap, no answer: resync */
#define NEIGH_NUD_MAC	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
			    NUD_NOARP)

_Static_assert(NEIGH_VTEPS_MAX > 0 && (NEIGH_VTEPS_MAX & (NEIGH_VTEPS_MAX - 1)) == 0 &&
    NEIGH_NEIGHS_MAX > 0 && (NEIGH_NEIGHS_MAX & (NEIGH_NEIGHS_MAX - 1)) == 0,
    "a table's slots, twice its entries, are a power of two");
_Static_assert(NEIGH_QUERIES_MAX * NEIGH_MSG_REQ_MAX + 4 * NEIGH_MSG_REQ_MAX <= NEIGH_OBUF,
    "an output buffer holds every query in flight");

enum vtep_state { VTEP_NEW, VTEP_ROUTED, VTEP_ELSEWHERE };

struct vtep_ent {
	uint32_t vtep;		/* 0: an empty slot */
	uint32_t nh;		/* VTEP_ROUTED: the next hop */
	uint32_t gen;		/* route_gen when its route was answered */
	uint8_t state;		/* enum vtep_state */
	bool querying;
};

struct nb_ent {
	uint32_t ip;		/* 0: an empty slot */
	uint8_t mac[6];
	uint16_t seen;		/* dump_gen when last announced */
	uint64_t refreshed;	/* when the caller was last asked to refresh it */
	bool used;		/* its MAC was given out for a VTEP: a change of it counts */
};

struct neigh {
	struct loop *l;
	int fd, ifindex;
	uint32_t portid;	/* the socket's: answers to our requests carry it */
	uint8_t src_mac[6];
	bool link_gone, stopping;

	struct vtep_ent *vt;
	struct nb_ent *nb;
	uint32_t vt_mask, nb_mask, nvt, nnb;
	uint32_t route_gen;
	uint32_t src;		/* of the route queries; 0: any */
	uint32_t queries;	/* entries querying */
	uint64_t progress_ns;	/* the last answer, or the last query queued on none */

	uint16_t dump_gen;
	bool dumping, redump;	/* a dump under way; another one wanted after it */
	bool dump_failed;	/* the dump's request failed: the retry timer asks again */
	bool recv_armed;
	uint32_t seq;		/* of dumps and link queries */

	struct loop_op recv_op, send_op, cancel_op;
	struct loop_timer retry;
	uint8_t *rbuf;
	uint8_t obuf[2][NEIGH_OBUF];	/* one in flight, the other filling */
	size_t olen;		/* of obuf[ocur] */
	int ocur;
	bool sending;

	struct neigh_stats st;
};

static uint32_t
ip_slot(uint32_t ip, uint32_t mask)
{
	return (uint32_t)mix64(ip) & mask;
}

static struct vtep_ent *
vt_find(struct neigh *n, uint32_t vtep)
{
	uint32_t i = ip_slot(vtep, n->vt_mask);

	while (n->vt[i].vtep != 0) {
		if (n->vt[i].vtep == vtep)
			return &n->vt[i];
		i = (i + 1) & n->vt_mask;
	}
	return NULL;
}

/* vtep's entry, made when new; NULL when the table is full. */
static struct vtep_ent *
vt_get(struct neigh *n, uint32_t vtep)
{
	uint32_t i = ip_slot(vtep, n->vt_mask);

	while (n->vt[i].vtep != 0) {
		if (n->vt[i].vtep == vtep)
			return &n->vt[i];
		i = (i + 1) & n->vt_mask;
	}
	if (n->nvt >= NEIGH_VTEPS_MAX)
		return NULL;
	n->nvt++;
	n->vt[i] = (struct vtep_ent){ .vtep = vtep, .state = VTEP_NEW };
	return &n->vt[i];
}

static struct nb_ent *
nb_find(struct neigh *n, uint32_t ip)
{
	uint32_t i = ip_slot(ip, n->nb_mask);

	while (n->nb[i].ip != 0) {
		if (n->nb[i].ip == ip)
			return &n->nb[i];
		i = (i + 1) & n->nb_mask;
	}
	return NULL;
}

/*
 * Empty slot i, moving back the entries after it that would no longer be found (their
 * home slot not cyclically in (i, j]): no tombstones.
 */
static void
nb_del_at(struct neigh *n, uint32_t i)
{
	uint32_t j = i;

	if (n->nb[i].used)
		n->st.nexthops_changed++;

	for (;;) {
		uint32_t k;

		j = (j + 1) & n->nb_mask;
		if (n->nb[j].ip == 0)
			break;
		k = ip_slot(n->nb[j].ip, n->nb_mask);
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			n->nb[i] = n->nb[j];
			i = j;
		}
	}
	memset(&n->nb[i], 0, sizeof(n->nb[i]));
	n->nnb--;
	n->st.neigh_deletes++;
}

static void
nb_del(struct neigh *n, uint32_t ip)
{
	struct nb_ent *e = nb_find(n, ip);

	if (e != NULL)
		nb_del_at(n, (uint32_t)(e - n->nb));
}

static void
nb_set(struct neigh *n, uint32_t ip, const uint8_t mac[6])
{
	uint32_t i = ip_slot(ip, n->nb_mask);

	while (n->nb[i].ip != 0 && n->nb[i].ip != ip)
		i = (i + 1) & n->nb_mask;
	if (n->nb[i].ip == 0) {
		if (n->nnb >= NEIGH_NEIGHS_MAX) {
			n->st.full++;
			return;
		}
		n->nnb++;
		n->nb[i].ip = ip;
		/* Just resolved or announced: the kernel knows it now. */
		n->nb[i].refreshed = loop_now(n->l);
		memcpy(n->nb[i].mac, mac, 6);
		n->st.neigh_updates++;
	} else if (memcmp(n->nb[i].mac, mac, 6) != 0) {
		memcpy(n->nb[i].mac, mac, 6);
		n->st.neigh_updates++;
		if (n->nb[i].used)
			n->st.nexthops_changed++;
	}
	n->nb[i].seen = n->dump_gen;
}

/* After a dump: those it did not name are gone (a deletion may have been missed). */
static void
nb_sweep(struct neigh *n)
{
	uint32_t i = 0;

	/*
	 * A deletion moves later entries back into slot i, so i is looked at again; an
	 * entry moved from past the end of the array lands where it was looked at already.
	 */
	while (i <= n->nb_mask) {
		if (n->nb[i].ip != 0 && n->nb[i].seen != n->dump_gen)
			nb_del_at(n, i);
		else
			i++;
	}
}

static void send_kick(struct neigh *n);
static void resync(struct neigh *n);

static void
send_done(struct loop_op *op, int res, uint32_t flags)
{
	struct neigh *n = op->arg;

	(void)flags;
	n->sending = false;
	if (n->stopping)
		return;
	if (res < 0) {
		/* Its requests are lost, a dump's maybe: ask everything again. */
		n->st.nl_errors++;
		n->dumping = false;
		resync(n);
	}
	send_kick(n);
}

/* Send what was queued, unless a send is in flight (its completion sends the rest). */
static void
send_kick(struct neigh *n)
{
	if (n->sending || n->olen == 0 || n->stopping)
		return;
	n->send_op = (struct loop_op){ .cb = send_done, .arg = n };
	io_uring_prep_send(loop_sqe(n->l, &n->send_op), n->fd, n->obuf[n->ocur], n->olen, 0);
	n->sending = true;
	n->ocur ^= 1;
	n->olen = 0;
}

static uint8_t *
out_room(struct neigh *n, size_t *room)
{
	*room = NEIGH_OBUF - n->olen;
	return n->obuf[n->ocur] + n->olen;
}

static void
query_route(struct neigh *n, struct vtep_ent *e)
{
	size_t room, len;
	uint8_t *p;

	if (n->queries >= NEIGH_QUERIES_MAX)
		return;		/* asked again at its next lookup */
	p = out_room(n, &room);
	if ((len = neigh_msg_route_query(p, room, e->vtep, n->src, e->vtep)) == 0)
		return;
	if (n->queries == 0)
		n->progress_ns = loop_now(n->l);
	n->olen += len;
	e->querying = true;
	n->queries++;
	n->st.route_queries++;
	send_kick(n);
}

static void
dump_start(struct neigh *n)
{
	size_t room, len;
	uint8_t *p;

	if (n->dumping) {
		n->redump = true;
		return;
	}
	p = out_room(n, &room);
	if ((len = neigh_msg_link_query(p, room, n->ifindex, ++n->seq)) == 0)
		return;
	n->olen += len;
	p = out_room(n, &room);
	if ((len = neigh_msg_neigh_dump(p, room, n->ifindex, ++n->seq)) == 0)
		return;
	n->olen += len;
	n->dump_gen++;
	n->dumping = true;
	n->redump = false;
	send_kick(n);
}

/* Notifications were missed: every route is stale, the neighbours dumped again. */
static void
resync(struct neigh *n)
{
	n->st.resyncs++;
	n->route_gen++;
	for (uint32_t i = 0; i <= n->vt_mask; i++)
		n->vt[i].querying = false;
	n->queries = 0;
	dump_start(n);
}

/* The answer to vtep's query: its route, or none (ok false). */
static void
route_answer(struct neigh *n, uint32_t vtep, bool ok, int oif, uint32_t nh)
{
	struct vtep_ent *e = vt_find(n, vtep);

	if (e == NULL || !e->querying)
		return;		/* asked before a resync */
	e->querying = false;
	n->queries--;
	n->progress_ns = loop_now(n->l);
	n->st.route_answers++;
	e->gen = n->route_gen;
	/* A VTEP routed before whose answer now differs: what was sent its way may not be. */
	if (e->state == VTEP_ROUTED && (!ok || oif != n->ifindex || e->nh != nh))
		n->st.routes_moved++;
	if (ok && oif == n->ifindex) {
		e->state = VTEP_ROUTED;
		e->nh = nh;
	} else {
		e->state = VTEP_ELSEWHERE;
	}
}

static void
on_error(struct neigh *n, const struct neigh_msg *m)
{
	struct vtep_ent *e;

	if (m->error == 0)
		return;
	switch (m->req_type) {
	case RTM_GETROUTE:
		if (m->error == -ENOBUFS || m->error == -ENOMEM || m->error == -EAGAIN ||
		    m->error == -EBUSY || m->error == -EINTR) {
			/* The kernel could not answer now: asked again at the next lookup. */
			n->st.nl_errors++;
			if ((e = vt_find(n, m->req_seq)) != NULL && e->querying) {
				e->querying = false;
				n->queries--;
			}
			return;
		}
		/* No route (unreachable, prohibited, blackhole): the kernel's socket says so. */
		route_answer(n, m->req_seq, false, 0, 0);
		return;
	case RTM_GETNEIGH:
		/* EBUSY (a dump of ours under way after a lost send), ENOMEM: again later */
		n->st.nl_errors++;
		n->dumping = false;
		n->dump_failed = true;
		loop_timer_set(n->l, &n->retry, NEIGH_RETRY_NS);
		return;
	case RTM_GETLINK:
		n->st.nl_errors++;
		if (m->error == -ENODEV)
			n->link_gone = true;
		return;
	default:
		n->st.nl_errors++;
		return;
	}
}

static void
route_changed(struct neigh *n)
{
	n->route_gen++;
	n->st.route_changes++;
}

static void
on_msg(struct neigh *n, const struct neigh_msg *m)
{
	if (m->nl_flags & NLM_F_DUMP_INTR)
		n->redump = true;	/* the dump is not a consistent picture */
	switch (m->kind) {
	case NEIGH_MSG_NEIGH:
		if (m->ifindex != n->ifindex || !m->has_ip || m->ip == 0 ||
		    (m->ndm_flags & NTF_PROXY))
			return;
		if ((m->state & NEIGH_NUD_MAC) && m->has_mac)
			nb_set(n, m->ip, m->mac);
		else
			nb_del(n, m->ip);	/* INCOMPLETE, FAILED: no MAC to use */
		return;
	case NEIGH_MSG_NEIGH_DEL:
		if (m->ifindex == n->ifindex && m->has_ip && !(m->ndm_flags & NTF_PROXY))
			nb_del(n, m->ip);
		return;
	case NEIGH_MSG_ROUTE:
		if (m->pid == n->portid && n->portid != 0) {
			uint32_t vtep = m->has_dst ? m->dst : m->seq;

			route_answer(n, vtep, m->rtm_type == RTN_UNICAST && !m->has_via,
			    m->ifindex, m->has_gw ? m->gw : vtep);
		} else {
			route_changed(n);
		}
		return;
	case NEIGH_MSG_ROUTE_DEL:
		route_changed(n);
		return;
	case NEIGH_MSG_LINK:
		if (m->ifindex != n->ifindex)
			return;
		n->link_gone = false;
		n->st.link_updates++;
		if (m->has_mac && memcmp(n->src_mac, m->mac, 6) != 0) {
			memcpy(n->src_mac, m->mac, 6);
			n->st.nexthops_changed++;	/* every frame's source MAC */
		}
		return;
	case NEIGH_MSG_LINK_DEL:
		if (m->ifindex == n->ifindex)
			n->link_gone = true;
		return;
	case NEIGH_MSG_DONE:
		if (!n->dumping)
			return;
		n->dumping = false;
		nb_sweep(n);
		if (n->redump)
			dump_start(n);
		return;
	case NEIGH_MSG_ERROR:
		on_error(n, m);
		return;
	case NEIGH_MSG_OTHER:
		return;
	}
}

static void recv_arm(struct neigh *n);

static void
retry_fire(struct loop_timer *t)
{
	struct neigh *n = t->arg;

	if (!n->recv_armed)
		recv_arm(n);
	if (n->dump_failed) {
		n->dump_failed = false;
		dump_start(n);
	}
}

static void
recv_done(struct loop_op *op, int res, uint32_t flags)
{
	struct neigh *n = op->arg;
	struct neigh_msg m;
	size_t off = 0;
	int r;

	(void)flags;
	n->recv_armed = false;
	if (n->stopping)
		return;
	if (res == -ENOBUFS) {
		resync(n);
	} else if (res < 0 && res != -EINTR && res != -EAGAIN) {
		n->st.nl_errors++;
		loop_timer_set(n->l, &n->retry, NEIGH_RETRY_NS);	/* no busy loop */
		return;
	} else if (res > NEIGH_RBUF) {
		/* MSG_TRUNC: a message was cut, whatever it said is lost */
		n->st.nl_errors++;
		resync(n);
	} else if (res > 0) {
		while ((r = neigh_msg_next(n->rbuf, (size_t)res, &off, &m)) > 0)
			on_msg(n, &m);
		if (r < 0)
			n->st.nl_errors++;
	}
	recv_arm(n);
}

static void
recv_arm(struct neigh *n)
{
	n->recv_armed = true;
	n->recv_op = (struct loop_op){ .cb = recv_done, .arg = n };
	/* MSG_TRUNC: the result is the datagram's whole length, so a cut one shows. */
	io_uring_prep_recv(loop_sqe(n->l, &n->recv_op), n->fd, n->rbuf, NEIGH_RBUF, MSG_TRUNC);
}

int
neigh_lookup(struct neigh *n, uint32_t vtep, uint8_t mac[6])
{
	struct vtep_ent *e;
	struct nb_ent *nb;
	uint64_t now;

	if (n->link_gone || vtep == 0) {
		n->st.elsewhere++;
		return -1;
	}
	if ((e = vt_get(n, vtep)) == NULL) {
		n->st.full++;
		n->st.misses++;
		return 0;
	}
	if (!e->querying && (e->state == VTEP_NEW || e->gen != n->route_gen)) {
		/* answers lost without an ENOBUFS: never seen, but bounded */
		if (n->queries >= NEIGH_QUERIES_MAX &&
		    loop_now(n->l) - n->progress_ns > NEIGH_STUCK_NS)
			resync(n);
		/* A stale route is used until the new answer comes. */
		query_route(n, e);
	}
	if (e->state == VTEP_NEW) {
		n->st.misses++;
		return 0;
	}
	if (e->state == VTEP_ELSEWHERE) {
		n->st.elsewhere++;
		return -1;
	}
	if ((nb = nb_find(n, e->nh)) == NULL) {
		n->st.misses++;
		return 0;
	}
	memcpy(mac, nb->mac, 6);
	nb->used = true;
	n->st.hits++;
	now = loop_now(n->l);
	if (now - nb->refreshed >= NEIGH_REFRESH_NS) {
		nb->refreshed = now;
		n->st.refreshes++;
		return 2;
	}
	return 1;
}

int
neigh_peek(struct neigh *n, uint32_t vtep, uint8_t mac[6])
{
	struct vtep_ent *e;
	struct nb_ent *nb;

	if (n->link_gone || vtep == 0 || (e = vt_get(n, vtep)) == NULL)
		return 0;
	/* As neigh_lookup: a new or stale route asked, a stale one's answer used meanwhile. */
	if (!e->querying && (e->state == VTEP_NEW || e->gen != n->route_gen) &&
	    n->queries < NEIGH_QUERIES_MAX)
		query_route(n, e);
	if (e->state != VTEP_ROUTED || (nb = nb_find(n, e->nh)) == NULL)
		return 0;
	memcpy(mac, nb->mac, 6);
	nb->used = true;
	return 1;
}

void
neigh_set_src(struct neigh *n, uint32_t src)
{
	if (src == n->src)
		return;
	n->src = src;
	n->route_gen++;
}

const uint8_t *
neigh_src_mac(const struct neigh *n)
{
	return n->src_mac;
}

void
neigh_stats_read(const struct neigh *n, struct neigh_stats *s)
{
	*s = n->st;
	s->vteps = n->nvt;
	s->neighbours = n->nnb;
}

static int
open_socket(struct neigh *n, char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
	    .nl_groups = RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_LINK };
	socklen_t salen = sizeof(sa);
	int one = 1, rcvbuf = NEIGH_RCVBUF, r;

	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (n->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		return r;
	}
	/* FORCE needs CAP_NET_ADMIN, which the forwarder has for XDP; else what rmem_max allows */
	if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* An error echoes the request's header only: smaller answers. */
	(void)setsockopt(n->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(n->fd, (struct sockaddr *)&sa, &salen) < 0) {
		r = -errno;
		snprintf(err, errlen, "netlink bind: %s", strerror(errno));
		return r;
	}
	n->portid = sa.nl_pid;
	return 0;
}

/* The interface's MAC now, so that neigh_src_mac is right before the first answer. */
static int
read_mac(struct neigh *n, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int s, r = 0;

	if (if_indextoname((unsigned)n->ifindex, ifr.ifr_name) == NULL) {
		snprintf(err, errlen, "interface %d: %s", n->ifindex, strerror(errno));
		return -ENODEV;
	}
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: MAC: %s", ifr.ifr_name, strerror(errno));
	} else {
		memcpy(n->src_mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (s >= 0)
		close(s);
	return r;
}

int
neigh_new(struct neigh **out, struct loop *l, int ifindex, char *err, size_t errlen)
{
	struct neigh *n;
	int r;

	*out = NULL;
	if (ifindex <= 0) {
		snprintf(err, errlen, "interface index %d", ifindex);
		return -EINVAL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->l = l;
	n->fd = -1;
	n->ifindex = ifindex;
	n->vt_mask = 2 * NEIGH_VTEPS_MAX - 1;
	n->nb_mask = 2 * NEIGH_NEIGHS_MAX - 1;
	n->vt = calloc(n->vt_mask + 1, sizeof(*n->vt));
	n->nb = calloc(n->nb_mask + 1, sizeof(*n->nb));
	n->rbuf = malloc(NEIGH_RBUF);
	if (n->vt == NULL || n->nb == NULL || n->rbuf == NULL) {
		snprintf(err, errlen, "out of memory");
		neigh_free(n);
		return -ENOMEM;
	}
	if ((r = read_mac(n, err, errlen)) < 0 || (r = open_socket(n, err, errlen)) < 0) {
		neigh_free(n);
		return r;
	}
	n->retry = (struct loop_timer){ .fn = retry_fire, .arg = n };
	recv_arm(n);
	dump_start(n);
	*out = n;
	return 0;
}

void
neigh_stop(struct neigh *n)
{
	if (n == NULL || n->stopping)
		return;
	n->stopping = true;
	loop_timer_cancel(n->l, &n->retry);
	n->cancel_op = (struct loop_op){ .cb = loop_op_ignore, .arg = n };
	io_uring_prep_cancel_fd(loop_sqe(n->l, &n->cancel_op), n->fd, IORING_ASYNC_CANCEL_ALL);
}

void
neigh_free(struct neigh *n)
{
	if (n == NULL)
		return;
	if (n->fd >= 0)
		close(n->fd);
	free(n->vt);
	free(n->nb);
	free(n->rbuf);
	free(n);
}
