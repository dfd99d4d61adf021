/*
 * fleet.h: simulated learners, for the hosts a benchmark cannot run as processes. Each
 * is a UDP socket bound to its own address in 127.14.0.0/16 (so syncd's per-source
 * admission sees as many sources as in production), a host name ("hNNNNN") and that
 * host's key, and speaks the real protocol with real state, as procs/learner/syncer.c
 * does for one VPC: its version and generation, paging cursors, long polls of
 * FLEET_WAIT_MS, and when no answer comes within sync_wait + sync_timeout (2.5 s, the
 * learner's defaults) it asks the next gateway from the same version; RETRY sends it to
 * the next gateway at once; RELEARN and UNKNOWN are counted and the learner stops
 * asking, as the learner drops the VPC until a LEARN brings it back. Like
 * procs/learner/gateways.c, it probes a gateway it has not heard from for
 * FLEET_PROBE_NS, and an ICMP error for a datagram to a gateway (IP_RECVERR: its syncd
 * died) marks that gateway down at once and moves a request parked there. A learner's
 * answers are checked as the learner checks them: its name, its key id and MAC when the
 * gateway authenticates, the id of its request in flight.
 *
 * A benchmark sets a target version (fleet_target) and pumps (fleet_pump): each
 * learner records the kernel's receive stamp of the answer that brought it there, and
 * when this process read it. fleet_expect names the rule that answer must carry (else
 * it is counted `wrong`); fleet_settle quiets the fleet: a learner at the target asks no
 * more and none probes, so nothing is left parked at the gateways (bench/converge takes
 * turns between two gateways that the same changes reach). Header-only, like cluster.h;
 * bench/scale and bench/converge use it.
 */
#ifndef BENCH_FLEET_H
#define BENCH_FLEET_H

#include "bench/cluster.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/sync.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#define FLEET_NET	0x7f0e0000u	/* 127.14.0.0/16: 250 learners a /24 */
#define FLEET_MAX	62500
#define FLEET_WAIT_MS	2000		/* learner.sync_wait */
#define FLEET_TIMEOUT_NS	((FLEET_WAIT_MS + 500) * 1000000ull)	/* + sync_timeout */
#define FLEET_ENTS	4096
#define FLEET_KEY_ID	1
#define FLEET_PROBE_NS	500000000ull	/* learner.gateway_probe */
#define FLEET_DOWN_AFTER	3		/* learner.gateway_down_after */
#define FLEET_PROBE_ID	0x80000000u	/* probes' ids: apart from requests' */
#define FLEET_BATCH	512		/* sockets with answers a pump reads, at most */

struct fleet_learner {
	int fd;
	char name[16];
	struct auth_mackey key;
	uint64_t version;	/* reached */
	uint64_t cur_v;		/* paging cursor, 0: none */
	uint32_t cur_ip;
	uint32_t id;		/* of the request in flight */
	int gw;			/* the gateway asked */
	bool waiting;
	uint64_t sent_ns;
	bool has;		/* reached the target */
	uint64_t at_ns;		/* CLOCK_REALTIME kernel stamp of that answer */
	uint64_t read_ns;	/* CLOCK_REALTIME when this process read it */
	bool up[2];		/* each gateway, as the learner's gateways.c sees it */
	uint8_t fails[2];	/* requests in a row unanswered: down at FLEET_DOWN_AFTER */
	uint64_t heard_ns[2], probe_ns[2];	/* last answer; last probe sent */
};

struct fleet {
	int n, ngw, ep;
	int batch;		/* sockets a pump reads (FLEET_BATCH): fewer, for a caller
				   that watches something else between pumps */
	struct fleet_learner *l;
	struct sockaddr_in gw[2];
	bool auth;
	struct auth *mac;
	uint32_t vni, gen;
	uint64_t target;	/* 0: none */
	int has;		/* learners at the target */
	uint32_t want_ip, want_vtep;	/* fleet_expect's rule; want_ip 0: none */
	bool settle;		/* fleet_settle: at the target, ask no more; no probes */
	uint64_t last_scan;	/* of timeouts and probes, fleet_pump */
	/* what happened, over the fleet's life */
	uint64_t requests, answers, timeouts, retries, relearns, malformed, bad_mac, stale;
	uint64_t probes, unreach;
	uint64_t expired;	/* answers with nothing new: a long poll ran out */
	uint64_t wrong;		/* at the target without fleet_expect's rule */
	struct sync_entry ents[FLEET_ENTS];
};

/* n learners (secret NULL: no authentication), asking gateways gws[0 .. ngw). */
static inline void
fleet_open(struct fleet *f, int n, const struct auth_key *secret,
    const struct sockaddr_in *gws, int ngw)
{
	struct rlimit rl;
	struct auth_key k;

	if (n < 1 || n > FLEET_MAX || ngw < 1 || ngw > 2)
		fatalx("fleet: 1..%d learners, 1..2 gateways", FLEET_MAX);
	memset(f, 0, sizeof(*f));
	f->n = n;
	f->ngw = ngw;
	f->batch = FLEET_BATCH;
	memcpy(f->gw, gws, (size_t)ngw * sizeof(*gws));
	f->auth = secret != NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 256) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < (rlim_t)n + 256)
			fatalx("fleet: %d learners want %d file descriptors (ulimit -n)", n,
			    n + 256);
	}
	if ((f->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("fleet: epoll_create1");
	if ((f->l = calloc((size_t)n, sizeof(*f->l))) == NULL ||
	    (f->mac = auth_new()) == NULL)
		fatalx("fleet: out of memory");
	for (int i = 0; i < n; i++) {
		struct fleet_learner *l = &f->l[i];
		struct sockaddr_in a = { .sin_family = AF_INET };
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		int one = 1;

		/* 127.14.h.l with l 1..250: no .0 or .255 among them. */
		a.sin_addr.s_addr = htonl(FLEET_NET | (uint32_t)(1 + i / 250) << 8 |
		    (uint32_t)(1 + i % 250));
		if ((l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
		    setsockopt(l->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
		    setsockopt(l->fd, SOL_IP, IP_RECVERR, &one, sizeof(one)) < 0 ||
		    bind(l->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    epoll_ctl(f->ep, EPOLL_CTL_ADD, l->fd, &ev) < 0)
			fatal("fleet: learner %d's socket", i);
		snprintf(l->name, sizeof(l->name), "h%05d", i);
		if (secret != NULL) {
			if (auth_derive(secret, l->name, strlen(l->name), &k) < 0)
				fatalx("fleet: cannot derive the key of %s", l->name);
			auth_mackey_set(&l->key, k.key);
		}
		l->gw = i % ngw;
		l->up[0] = l->up[1] = true;
		l->heard_ns[0] = l->heard_ns[1] = clock_mono_ns();
	}
}

static inline void
fleet_close(struct fleet *f)
{
	for (int i = 0; i < f->n; i++) {
		close(f->l[i].fd);
		auth_mackey_clear(&f->l[i].key);
	}
	close(f->ep);
	auth_free(f->mac);
	free(f->l);
}

/* r as l's request: its host's name, MACed with its key when the fleet authenticates. */
static inline size_t
fleet_seal(struct fleet *f, const struct fleet_learner *l, struct sync_req *r, uint8_t *buf,
    size_t cap)
{
	int n;

	sync_hdr_set_name(&r->h, l->name);
	r->h.key_id = FLEET_KEY_ID;
	r->h.flags = f->auth ? SYNC_H_MAC : 0;
	r->h.ts_ns = clock_real_ns();
	if ((n = sync_req_encode(r, buf, cap)) < 0 ||
	    (f->auth && auth_seal(f->mac, &l->key, buf, (size_t)n) < 0))
		fatalx("fleet: cannot make a request");
	return (size_t)n;
}

/* Is an answer to l l's: its name, key id and MAC, when the fleet authenticates? */
static inline bool
fleet_authentic(struct fleet *f, const struct fleet_learner *l, const uint8_t *buf,
    size_t len)
{
	struct sync_hdr h;

	return !f->auth || (sync_hdr_decode(buf, len, &h) >= 0 && (h.flags & SYNC_H_MAC) &&
	    h.key_id == FLEET_KEY_ID && strcmp(h.name, l->name) == 0 &&
	    auth_check(f->mac, &l->key, buf, len));
}

/* Encode, MAC and send r from l to gateway g. */
static inline void
fleet_send(struct fleet *f, struct fleet_learner *l, struct sync_req *r, int g)
{
	uint8_t buf[256];
	size_t n = fleet_seal(f, l, r, buf, sizeof(buf));

	/*
	 * An ICMP error pending on the socket fails the send and sends nothing (the
	 * kernel checks it first): send again, as common/udp.c does. A full socket buffer
	 * loses it: the timeout asks again, as for a lost answer.
	 */
	for (int tries = 0; tries < 4; tries++)
		if (sendto(l->fd, buf, n, 0, (const struct sockaddr *)&f->gw[g],
		    sizeof(f->gw[0])) >= 0 || (errno != ECONNREFUSED && errno != EHOSTUNREACH))
			break;
}

static inline void
fleet_ask(struct fleet *f, struct fleet_learner *l)
{
	struct sync_req r = { .id = ++l->id & ~FLEET_PROBE_ID, .wait_ms = FLEET_WAIT_MS,
	    .count = 1 };

	if (!l->up[l->gw] && l->up[(l->gw + 1) % f->ngw])
		l->gw = (l->gw + 1) % f->ngw;
	l->id = r.id;
	r.items[0] = (struct sync_item){ .vni = f->vni, .gen = f->gen,
	    .version = l->version, .cursor_version = l->cur_v, .cursor_ip = l->cur_ip };
	fleet_send(f, l, &r, l->gw);
	f->requests++;
	l->sent_ns = clock_mono_ns();
	l->waiting = true;
}

/* A question any syncd answers at once (generation 0 at version 1 is valid nowhere). */
static inline void
fleet_probe(struct fleet *f, struct fleet_learner *l, int g)
{
	struct sync_req r = { .id = FLEET_PROBE_ID | (uint32_t)g, .count = 1 };

	r.items[0] = (struct sync_item){ .vni = 1, .version = 1 };
	fleet_send(f, l, &r, g);
	f->probes++;
	l->probe_ns[g] = clock_mono_ns();
}

/*
 * Every learner at version of VPC vni (generation gen), each asking its gateway; no
 * target, no rule expected, not settling.
 */
static inline void
fleet_start(struct fleet *f, uint32_t vni, uint32_t gen, uint64_t version)
{
	f->vni = vni;
	f->gen = gen;
	f->target = 0;
	f->want_ip = 0;
	f->settle = false;
	for (int i = 0; i < f->n; i++) {
		f->l[i].version = version;
		f->l[i].cur_v = 0;
		f->l[i].cur_ip = 0;
		fleet_ask(f, &f->l[i]);
	}
}

/* From now, time the learners' arrival at version target. */
static inline void
fleet_target(struct fleet *f, uint64_t target)
{
	f->target = target;
	f->has = 0;
	for (int i = 0; i < f->n; i++) {
		f->l[i].has = f->l[i].version >= target;
		f->l[i].at_ns = 0;
		f->l[i].read_ns = 0;
		f->has += f->l[i].has;
	}
}

/*
 * The answer that brings a learner to the target must carry ip's rule: set, at VTEP
 * vtep, of the target's version (a migration's change); else it counts as wrong.
 */
static inline void
fleet_expect(struct fleet *f, uint32_t ip, uint32_t vtep)
{
	f->want_ip = ip;
	f->want_vtep = vtep;
}

/* From now a learner at the target asks no more, and none probes: the fleet goes quiet. */
static inline void
fleet_settle(struct fleet *f)
{
	f->settle = true;
}

/* Does sec carry fleet_expect's rule at the target's version? */
static inline bool
fleet_carries(const struct fleet *f, const struct sync_section *sec)
{
	for (uint32_t i = 0; i < sec->count; i++) {
		const struct sync_entry *e = &f->ents[sec->first + i];

		if (e->ip == f->want_ip && e->op == SYNC_SET && e->vtep == f->want_vtep &&
		    e->version == f->target)
			return true;
	}
	return false;
}

/* An answer to l, received at kern (the kernel's stamp) and read at user. */
static inline void
fleet_on_answer(struct fleet *f, struct fleet_learner *l, const uint8_t *buf, size_t len,
    uint64_t kern, uint64_t user, const struct sockaddr_in *from)
{
	const struct sync_section *sec = NULL;
	struct sync_resp r;
	int g = f->ngw > 1 && from->sin_addr.s_addr == f->gw[1].sin_addr.s_addr &&
	    from->sin_port == f->gw[1].sin_port;

	if (!fleet_authentic(f, l, buf, len)) {
		f->bad_mac++;
		return;
	}
	if (sync_type(buf, len) != SYNC_RESP ||
	    sync_resp_decode(buf, len, &r, f->ents, FLEET_ENTS) < 0) {
		f->malformed++;
		return;
	}
	/* Any authentic answer: the gateway is alive (gateways_ok). */
	l->up[g] = true;
	l->fails[g] = 0;
	l->heard_ns[g] = clock_mono_ns();
	if (r.id & FLEET_PROBE_ID)
		return;
	if (!l->waiting || r.id != l->id) {
		f->stale++;
		return;
	}
	l->waiting = false;
	f->answers++;
	for (uint8_t i = 0; i < r.count; i++)
		if (r.sections[i].vni == f->vni)
			sec = &r.sections[i];
	if (sec == NULL || sec->status == SYNC_RETRY) {
		f->retries++;
		l->gw = (l->gw + 1) % f->ngw;
	} else if (sec->status != SYNC_OK || sec->gen != f->gen) {
		/* The learner drops the VPC and waits for a LEARN: it stops asking. */
		f->relearns++;
		return;
	} else if (sec->since == l->version && (sec->flags & SYNC_F_MORE)) {
		l->cur_v = sec->cursor_version;
		l->cur_ip = sec->cursor_ip;
	} else if (sec->since == l->version) {
		f->expired += sec->upto == l->version;
		l->version = sec->upto;
		l->cur_v = 0;
		l->cur_ip = 0;
		if (f->target && !l->has && l->version >= f->target) {
			l->has = true;
			l->at_ns = kern;
			l->read_ns = user;
			f->has++;
			f->wrong += f->want_ip != 0 && !fleet_carries(f, sec);
		}
	}
	if (f->settle && l->has)
		return;
	fleet_ask(f, l);
}

/* ICMP errors queued on l's socket: a gateway there is down; a request on it moves. */
static inline void
fleet_errqueue(struct fleet *f, struct fleet_learner *l)
{
	for (;;) {
		char cbuf[256];
		struct sockaddr_in to;
		struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
		    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };

		if (recvmsg(l->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (int g = 0; g < f->ngw; g++) {
			if (to.sin_addr.s_addr != f->gw[g].sin_addr.s_addr ||
			    to.sin_port != f->gw[g].sin_port)
				continue;
			f->unreach++;
			l->up[g] = false;
			if (l->waiting && l->gw == g) {
				f->retries++;
				l->gw = (g + 1) % f->ngw;
				fleet_ask(f, l);
			}
		}
	}
}

static inline void
fleet_rx(struct fleet *f, struct fleet_learner *l)
{
	uint8_t buf[2048];
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];

	for (;;) {
		struct sockaddr_in from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof(cbuf) };
		uint64_t kern, user;
		ssize_t n;

		if ((n = recvmsg(l->fd, &mh, MSG_DONTWAIT)) < 0) {
			int e = errno;

			/* A send may have taken the pending error: read the queue either way. */
			fleet_errqueue(f, l);
			if (e == ECONNREFUSED || e == EHOSTUNREACH)
				continue;
			return;
		}
		kern = user = clock_real_ns();
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				kern = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			}
		fleet_on_answer(f, l, buf, (size_t)n, kern, user, &from);
	}
}

/*
 * Answers for up to timeout_ms, from up to f->batch sockets; requests unanswered for
 * 2.5 s go to the next gateway.
 */
static inline void
fleet_pump(struct fleet *f, int timeout_ms)
{
	struct epoll_event ev[FLEET_BATCH];
	uint64_t now;
	int n = epoll_wait(f->ep, ev, f->batch > 0 && f->batch < FLEET_BATCH ? f->batch :
	    FLEET_BATCH, timeout_ms);

	for (int i = 0; i < n; i++)
		fleet_rx(f, &f->l[ev[i].data.u32]);
	now = clock_mono_ns();
	if (now - f->last_scan < 10000000ull)
		return;
	f->last_scan = now;
	for (int i = 0; i < f->n; i++) {
		struct fleet_learner *l = &f->l[i];

		if (l->waiting && now - l->sent_ns > FLEET_TIMEOUT_NS) {
			f->timeouts++;
			if (++l->fails[l->gw] >= FLEET_DOWN_AFTER)
				l->up[l->gw] = false;
			l->gw = (l->gw + 1) % f->ngw;
			fleet_ask(f, l);
		}
		/* gateways_probe_due: silent for a probe interval, or down */
		for (int g = 0; g < f->ngw && !f->settle; g++)
			if (now - l->heard_ns[g] >= FLEET_PROBE_NS &&
			    now - l->probe_ns[g] >= FLEET_PROBE_NS)
				fleet_probe(f, l, g);
	}
}

#endif
