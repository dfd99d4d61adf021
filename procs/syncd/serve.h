/*
 * serve: syncd's work. A SYNC_REQ from a host is checked (allowed network, rate), and
 * each VNI it names answered from the gateway table: RELEARN when the asker's
 * (generation, version) is not valid here, RETRY when it is ahead of this gateway,
 * UNKNOWN without the VPC, else the changes since its version in version order, paged
 * with a cursor when they do not fit a datagram. A request with nothing new for any of
 * its VNIs is parked until one advances (the rule-store's ring says so) or its wait
 * runs out, or told RETRY when the park is full. An answer that finds every send buffer
 * in flight waits in the park for one. Learn requests from the gateway's forwarder
 * become LEARN datagrams to the learner of the host that sent the frame.
 *
 * With auth, a datagram's MAC is checked with the key of the host its header names
 * (derived from the cluster secret of its key id) before anything else of it is read,
 * and answered with that key. A LEARN goes to the host whose authenticated requests
 * last came from the frame's source VTEP, with the key id that host last used: a
 * host that never asked (it syncs nothing yet, and has not probed) gets none.
 */
#ifndef SYNCD_SERVE_H
#define SYNCD_SERVE_H

#include "admit.h"
#include "counters.h"
#include "common/auth.h"
#include "common/loop.h"
#include "shm/events.h"
#include "shm/ring.h"
#include "shm/table.h"

#include <netinet/in.h>

struct serve;

struct serve_params {
	struct sockaddr_in listen;
	uint16_t learner_port;	/* LEARNs go to <source VTEP>:learner_port */
	uint32_t page_bytes;	/* largest response datagram */
	uint64_t max_wait_ns;	/* cap on a request's wait_ms */
	uint32_t max_parked;
	uint32_t recv_depth;	/* receive buffers (common/udp.h's nrecv) */
	uint32_t send_buffers;
	bool auth;		/* MACs required and sent (syncd.auth) */
	struct auth_keys secrets;	/* the cluster secrets (syncd.auth_secret) */
};

struct serve *serve_new(struct loop *l, const struct serve_params *p, struct admit *admit,
    struct syncd_counters *c, char *err, size_t errlen);
void serve_free(struct serve *s);
/* The gateway table, once it exists (until then requests are dropped and counted). */
void serve_set_table(struct serve *s, struct table *t);
/* The rule-store says a VPC advanced: answer what is parked on it. */
void serve_advance(struct serve *s, const struct ev_vni_advance *ev);
/*
 * The forwarder asks for learns: what ring r holds becomes LEARNs. Records are taken
 * only while send buffers are free: one that finds none waits for a send to complete,
 * the rest stay in the ring (a storm of first packets is slowed here, not dropped).
 */
void serve_learn_ring(struct serve *s, struct ring *r);
/* One learn request; -ENOBUFS (nothing done) when every send buffer is in flight. */
int serve_learn(struct serve *s, const struct ev_learn_req *ev);
/* Answer parked requests whose wait ran out; call it every few tens of ms. */
void serve_tick(struct serve *s);
int serve_port(const struct serve *s);

#endif
