/*
 * neigh: the underlay next-hop resolver of the forwarder's xdp mode. Frames written to
 * an XSK bypass the kernel's routing and ARP, so for each destination VTEP the data
 * path needs the MAC to send to, and to know that the route to the VTEP leaves through
 * the XSK's interface. Both come from the kernel's own tables, read over one rtnetlink
 * socket on the loop (a receive always in flight, never a blocking call): a dump of
 * the interface's IPv4 neighbours at start, then their changes as they happen; for a
 * VTEP never seen, the kernel is asked for its route (RTM_GETROUTE), whose answer gives
 * the next hop (the gateway, or the VTEP itself on-link). Any route change makes every
 * cached route stale: each is asked again at its next lookup, the old answer used
 * until the new one comes. Missed notifications (ENOBUFS) make the whole state stale:
 * every route asked again, the neighbours dumped again (those the dump no longer has
 * are dropped when it ends).
 *
 * No ARP of its own: a VTEP whose neighbour is unknown gets 0 from neigh_lookup, its
 * datagrams go through the kernel's socket, which resolves it, and the neighbour's
 * notification brings the MAC. The kernel sees none of the frames sent by XSK, so its
 * entry would go STALE and a changed MAC would never be noticed: neigh_lookup asks the
 * caller (returns 2) to send one datagram to each next hop through the kernel's socket
 * every NEIGH_REFRESH_NS, which has the kernel's NUD machine confirm the entry.
 *
 * Bounded: NEIGH_VTEPS_MAX VTEPs and as many neighbours; a VTEP past that is counted
 * (full) and goes through the socket.
 */
#ifndef FORWARDER_NEIGH_H
#define FORWARDER_NEIGH_H

#include "common/loop.h"
#include "shm/vtepset.h"

#include <stddef.h>
#include <stdint.h>

/* Powers of two; a test may make them smaller. */
#ifndef NEIGH_VTEPS_MAX
#define NEIGH_VTEPS_MAX		VTEPSET_MAX_DEFAULT	/* the VTEP allow-list's size */
#endif
#ifndef NEIGH_NEIGHS_MAX
#define NEIGH_NEIGHS_MAX	VTEPSET_MAX_DEFAULT	/* next hops: as many, all on-link */
#endif
#ifndef NEIGH_REFRESH_NS		/* a test may shorten it */
#define NEIGH_REFRESH_NS	(5ull * 1000000000ull)
#endif
/* Route queries sent and not answered yet: bounds what the answers take of the socket. */
#define NEIGH_QUERIES_MAX	256

struct neigh;

/*
 * Everything that happened, for the forwarder's counters. Gauges: vteps, neighbours.
 */
struct neigh_stats {
	uint64_t hits;		/* lookups answered with a MAC (1 or 2) */
	uint64_t misses;	/* lookups answered 0: route or neighbour not known yet */
	uint64_t elsewhere;	/* lookups answered -1: the route leaves another way, or none */
	uint64_t refreshes;	/* lookups answered 2 */
	uint64_t route_queries;	/* RTM_GETROUTE sent */
	uint64_t route_answers;	/* ... answered (a route, or an error: no route) */
	uint64_t route_changes;	/* IPv4 route notifications: every cached route stale */
	uint64_t routes_moved;	/* answers that changed a VTEP's next hop or interface */
	uint64_t neigh_updates;	/* neighbours learned or changed (dump or notification) */
	uint64_t neigh_deletes;	/* neighbours gone: deleted, FAILED, INCOMPLETE, not in a dump */
	uint64_t nexthops_changed;	/* a neighbour whose MAC was given out (a next hop
				 * in use) changed or gone, or the interface's own MAC */
	uint64_t link_updates;	/* the interface's MAC or flags announced */
	uint64_t nl_errors;	/* netlink: a failed receive or send, a malformed message */
	uint64_t resyncs;	/* ENOBUFS: notifications missed, everything asked again */
	uint64_t full;		/* a VTEP or a neighbour with no room left */
	uint64_t vteps;		/* gauge: VTEPs cached */
	uint64_t neighbours;	/* gauge: neighbours of the interface with a MAC */
};

/*
 * Resolve next hops out of interface ifindex, on loop l. 0, or a negative errno with
 * err set (no such interface, no netlink socket).
 */
int neigh_new(struct neigh **out, struct loop *l, int ifindex, char *err, size_t errlen);
/* Cancels what is in flight: then loop_settle, then neigh_free. */
void neigh_stop(struct neigh *n);
void neigh_free(struct neigh *n);

/*
 * The MAC to send to vtep (host order) with. 1: mac set. 2: mac set, and this datagram
 * is the next hop's refresh: send it through the kernel's socket (once a next hop per
 * NEIGH_REFRESH_NS). 0: not known (yet); a route query or a neighbour wait is under
 * way: send through the kernel's socket meanwhile (which has the kernel resolve it).
 * -1: the route to vtep does not leave through ifindex, or there is none: always the
 * kernel's socket. A few loads a call, no syscall (a query is queued on the loop).
 */
int neigh_lookup(struct neigh *n, uint32_t vtep, uint8_t mac[6]);
/*
 * The MAC to send to vtep with, when it is known: 1 and mac set, else 0. No refresh
 * taken, no lookup counted; a VTEP never seen or whose route went stale is asked for, as
 * neigh_lookup does (a stale route's old answer given meanwhile; routes_moved counts an
 * answer that changed it): for a
 * rule cache remembering next hops, whose rules expire well within NEIGH_REFRESH_NS, so
 * that the flows still bring neigh_lookup its refreshes.
 */
int neigh_peek(struct neigh *n, uint32_t vtep, uint8_t mac[6]);
/*
 * Ask the routes from src (host order; 0, the default: from any source), the address
 * the datagrams leave with, so that a rule of policy routing on the source applies as it
 * does to the kernel's socket. Every cached route is asked again.
 */
void neigh_set_src(struct neigh *n, uint32_t src);
/* ifindex's own MAC, kept current. */
const uint8_t *neigh_src_mac(const struct neigh *n);
void neigh_stats_read(const struct neigh *n, struct neigh_stats *s);

#endif
