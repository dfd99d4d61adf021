/*
 * syncer: see syncer.h. Invariant: a VPC has at most one request in flight, and a VPC
 * with none is either ready to ask or waiting out a back-off; so every VPC held keeps
 * being synced, whatever is lost on the way.
 */
#include "syncer.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/sync.h"
#include "common/udp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#define TICK_NS		(10 * 1000000ull)
#define OUT_MAX		64		/* requests in flight */
#define RETRY_PAUSE_NS	(50 * 1000000ull)
/*
 * A resync gives up once it has scanned this many entries and fewer than 1 in
 * RESYNC_HIT_RATIO were IPs it held: the host holds a small part of a big VPC, which
 * costs less to relearn on use than to fetch whole.
 */
#define RESYNC_SCAN_MIN		4096
#define RESYNC_HIT_RATIO	32
#define COLLECT_PAGE		256	/* rules a table_changes call, collecting held IPs */
#define PREFETCH_AHEAD		8	/* entries of a page, applying */

/* A VPC the cache holds. */
struct vs {
	uint32_t vni, gen;
	uint64_t version;	/* reached: every change up to it applied */
	uint64_t cur_version;	/* paging: resume after (cur_version, cur_ip); 0: none */
	uint32_t cur_ip;
	uint64_t consumed;	/* changes up to here were seen (applied or not held) */
	uint32_t req;		/* request in flight, 0: none */
	uint32_t tries;		/* RETRY or timeouts in a row */
	uint64_t not_before;	/* back-off */
	/*
	 * Resync (after a RELEARN): the IPs held before, sorted; NULL when none. While
	 * set, version is 0 and the walk from 0 installs only these (and LEARNs' rules).
	 */
	uint32_t *rs;
	uint32_t rs_n;
	uint64_t rs_scanned, rs_hits;	/* entries the walk brought, of them in rs */
	bool used;
};

struct outreq {
	uint32_t id;
	int gw;
	uint64_t deadline;
	bool probe;
	uint8_t n;
	uint32_t vnis[SYNC_VNIS_MAX];
};

struct syncer {
	struct loop *l;
	struct syncer_params p;
	struct table *t;
	struct gateways *gw;
	struct learner_counters *c;
	struct udp *udp;
	struct vs *vs;		/* open addressing by VNI */
	uint32_t vs_cap, vs_n;
	struct outreq out[OUT_MAX];
	uint32_t nout;
	uint32_t ids[64];	/* random request ids, drawn ahead */
	uint32_t nids;
	struct auth *mac;
	struct sync_hdr hdr;	/* of every request: this host, the newest key */
	struct auth_mackey mk[AUTH_KEYS_MAX];	/* p.keys made ready, in their order */
	uint64_t resent_seen;	/* udp's tx_resent folded into sync_resent */
	uint64_t rx_nobuf_seen;	/* udp's rx_nobuf folded into rx_nobuf */
	const struct auth_mackey *key;	/* the newest key's: requests are sent with it */
	uint32_t rr;		/* where scheduling starts, so no VPC waits behind others */
	struct loop_timer tick;
	struct sync_entry *entries;
	struct log_ratelimit rl;
};

static void schedule(struct syncer *s);

static uint32_t
slot_of(const struct syncer *s, uint32_t vni)
{
	return (vni * 0x9e3779b1u) & (s->vs_cap - 1);
}

static struct vs *
vs_find(struct syncer *s, uint32_t vni)
{
	for (uint32_t i = slot_of(s, vni), k = 0; k < s->vs_cap; k++, i = (i + 1) & (s->vs_cap - 1)) {
		if (!s->vs[i].used)
			return NULL;
		if (s->vs[i].vni == vni)
			return &s->vs[i];
	}
	return NULL;
}

static struct vs *
vs_add(struct syncer *s, uint32_t vni)
{
	struct vs *v;

	if ((s->vs_n + 1) * 2 > s->vs_cap) {
		struct vs *old = s->vs, *n = calloc(2 * s->vs_cap, sizeof(*n));
		uint32_t cap = s->vs_cap;

		if (n == NULL)
			return NULL;
		s->vs = n;
		s->vs_cap *= 2;
		s->vs_n = 0;
		for (uint32_t i = 0; i < cap; i++)
			if (old[i].used)
				*vs_add(s, old[i].vni) = old[i];
		free(old);
	}
	for (uint32_t i = slot_of(s, vni);; i = (i + 1) & (s->vs_cap - 1)) {
		v = &s->vs[i];
		if (!v->used) {
			memset(v, 0, sizeof(*v));
			v->used = true;
			v->vni = vni;
			s->vs_n++;
			STATS_SET(s->c, vnis, s->vs_n);
			return v;
		}
	}
}

/* Backward-shift deletion keeps the probes of the others whole. */
static void
vs_del(struct syncer *s, struct vs *v)
{
	uint32_t i = (uint32_t)(v - s->vs), j = i;

	free(v->rs);
	v->rs = NULL;
	s->vs[i].used = false;
	for (;;) {
		j = (j + 1) & (s->vs_cap - 1);
		if (!s->vs[j].used)
			break;
		uint32_t home = slot_of(s, s->vs[j].vni);

		/* j's entry may fill the hole at i if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->vs[i] = s->vs[j];
			s->vs[j].used = false;
			i = j;
		}
	}
	s->vs_n--;
	STATS_SET(s->c, vnis, s->vs_n);
}

static struct outreq *
out_find(struct syncer *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->nout; i++)
		if (s->out[i].id == id)
			return &s->out[i];
	return NULL;
}

static void
out_del(struct syncer *s, struct outreq *o)
{
	*o = s->out[--s->nout];
}

/*
 * A request id nobody can guess (a forged SYNC_RESP must name one in flight), none in
 * flight already, never 0. Drawn 64 at a time: one getrandom a few seconds.
 */
static uint32_t
new_id(struct syncer *s)
{
	uint32_t id;

	do {
		if (s->nids == 0) {
			if (getrandom(s->ids, sizeof(s->ids), 0) != (ssize_t)sizeof(s->ids))
				fatal("getrandom");
			s->nids = 64;
		}
		id = s->ids[--s->nids];
	} while (id == 0 || out_find(s, id) != NULL);
	return id;
}

/* Send a request to gateway gi for the VPCs of o (already filled). */
static bool
send_req(struct syncer *s, struct outreq *o, struct sync_req *req)
{
	uint8_t *buf = udp_buf(s->udp);
	int n;

	if (buf == NULL) {
		STATS_INC(s->c, tx_nobuf);
		return false;
	}
	req->h = s->hdr;
	req->h.ts_ns = clock_real_ns();
	if ((n = sync_req_encode(req, buf, SYNC_DGRAM_MAX)) < 0 ||
	    (s->p.auth && auth_seal(s->mac, s->key, buf, (size_t)n) < 0)) {
		udp_drop(s->udp, buf);
		log_warnx("cannot encode a sync request: %s", strerror(n < 0 ? -n : EIO));
		return false;
	}
	udp_send(s->udp, buf, (size_t)n, &s->gw->g[o->gw].addr);
	STATS_INC(s->c, sync_tx);
	return true;
}

/* Ask gateway gi about the VPCs that are ready and go to it, a batch at a time. */
static void
schedule_gw(struct syncer *s, int gi, uint64_t now)
{
	struct sync_req req = { 0 };
	struct outreq *o = NULL;

	for (uint32_t k = 0; k < s->vs_cap; k++) {
		struct vs *v = &s->vs[(s->rr + k) & (s->vs_cap - 1)];

		if (!v->used || v->req || (v->version == 0 && v->rs == NULL) ||
		    now < v->not_before ||
		    gateways_pick(s->gw, v->vni, v->tries) != gi)
			continue;
		if (o == NULL) {
			if (s->nout == OUT_MAX)
				return;
			o = &s->out[s->nout];
			*o = (struct outreq){ .id = new_id(s), .gw = gi,
			    .deadline = now + s->p.wait_ns + s->p.timeout_ns };
			req = (struct sync_req){ .id = o->id,
			    .wait_ms = (uint16_t)(s->p.wait_ns / 1000000) };
		}
		req.items[req.count++] = (struct sync_item){ .vni = v->vni, .gen = v->gen,
		    .version = v->version, .cursor_version = v->cur_version,
		    .cursor_ip = v->cur_ip };
		o->vnis[o->n++] = v->vni;
		v->req = o->id;
		if (req.count == s->p.batch || req.count == SYNC_VNIS_MAX) {
			if (send_req(s, o, &req))
				s->nout++;
			else
				for (uint8_t i = 0; i < o->n; i++)
					vs_find(s, o->vnis[i])->req = 0;
			o = NULL;
		}
	}
	if (o != NULL) {
		if (send_req(s, o, &req))
			s->nout++;
		else
			for (uint8_t i = 0; i < o->n; i++)
				vs_find(s, o->vnis[i])->req = 0;
	}
}

static void
schedule(struct syncer *s)
{
	uint64_t now = loop_now(s->l);

	for (uint32_t g = 0; g < s->gw->n; g++)
		schedule_gw(s, (int)g, now);
	s->rr += 7;	/* start elsewhere next time */
}

/* A down gateway gets a question that any syncd answers at once. */
static void
probe(struct syncer *s, int gi)
{
	struct sync_req req = { .id = new_id(s), .count = 1 };
	struct outreq *o;

	if (s->nout == OUT_MAX)
		return;
	o = &s->out[s->nout];
	*o = (struct outreq){ .id = req.id, .gw = gi, .probe = true,
	    .deadline = loop_now(s->l) + s->p.timeout_ns };
	/*
	 * Generation 0 at version 1 is valid nowhere: the answer is one small RELEARN or
	 * UNKNOWN section, never a page of VNI 1's rules.
	 */
	req.items[0] = (struct sync_item){ .vni = 1, .version = 1 };
	if (send_req(s, o, &req)) {
		s->nout++;
		STATS_INC(s->c, probes);
	}
}

/* o gets no answer: its VPCs ask again (the next gateway, when its own is down). */
static void
out_give_up(struct syncer *s, struct outreq *o)
{
	for (uint8_t k = 0; k < o->n; k++) {
		struct vs *v = vs_find(s, o->vnis[k]);

		if (v && v->req == o->id) {
			v->req = 0;
			v->tries++;
			STATS_INC(s->c, retries);
		}
	}
	out_del(s, o);
}

/*
 * A datagram to `to` met an ICMP error. From a gateway: it is down now, and what waits
 * on it (parked requests, probes) goes to the others at once, not after sync_timeout.
 */
static void
on_unreach(struct udp *u, const struct sockaddr_in *to, int err, void *arg)
{
	struct syncer *s = arg;
	uint64_t now = loop_now(s->l);
	int gi = gateways_find(s->gw, to);

	(void)u;
	(void)err;
	if (gi < 0)
		return;
	gateways_unreachable(s->gw, gi, now);
	for (uint32_t i = 0; i < s->nout;) {
		struct outreq *o = &s->out[i];

		if (o->gw != gi) {
			i++;
			continue;
		}
		out_give_up(s, o);
	}
	schedule(s);
}

static void
on_tick(struct loop_timer *t)
{
	struct syncer *s = t->arg;
	uint64_t now = loop_now(s->l);
	int gi;

	for (uint32_t i = 0; i < s->nout;) {
		struct outreq *o = &s->out[i];

		if (o->deadline > now) {
			i++;
			continue;
		}
		/* Unanswered: the gateway failed; its VPCs try the next one. */
		gateways_fail(s->gw, o->gw, now);
		if (!o->probe)
			STATS_INC(s->c, sync_timeouts);
		out_give_up(s, o);
	}
	while ((gi = gateways_probe_due(s->gw, now)) >= 0)
		probe(s, gi);
	STATS_FOLD(s->c, sync_resent, udp_counters(s->udp)->tx_resent, s->resent_seen);
	STATS_FOLD(s->c, rx_nobuf, udp_counters(s->udp)->rx_nobuf, s->rx_nobuf_seen);
	/* LEARNs the learner never saw are counted too: overflows of its socket. */
	STATS_SET(s->c, rx_sock_drops, udp_sock_drops(s->udp));
	schedule(s);
	loop_timer_set(s->l, t, TICK_NS);
}

/* Is ip among the IPs a resync remembers? */
static bool
rs_has(const struct vs *v, uint32_t ip)
{
	uint32_t lo = 0, hi = v->rs_n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->rs[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->rs_n && v->rs[lo] == ip;
}

/*
 * Is (vni, ip) in the cache? Sync updates only what was learned. During a resync, what
 * was held before the RELEARN counts too (its rules were dropped, not forgotten).
 */
static bool
held(struct syncer *s, struct vs *v, uint32_t ip)
{
	struct table_rule r;

	if (v->rs != NULL && rs_has(v, ip)) {
		v->rs_hits++;
		return true;
	}
	return table_get(s->t, v->vni, ip, &r);
}

static void
apply_entry(struct syncer *s, struct vs *v, const struct sync_entry *e)
{
	struct table_rule r = { .vni = v->vni, .ip = e->ip, .vtep = e->vtep,
	    .version = e->version };
	uint32_t vni = v->vni;
	uint64_t hits = v->rs_hits;
	int rc;

	if (v->rs != NULL) {
		v->rs_scanned++;
		STATS_INC(s->c, resync_scanned);
	}
	if (!held(s, v, e->ip))
		return;
	if (e->op == SYNC_DEL) {
		rc = table_delete(s->t, vni, e->ip, e->version);
		if (rc == TABLE_APPLIED)
			STATS_INC(s->c, rules_deleted);
	} else {
		memcpy(r.mac, e->mac, 6);
		rc = table_set(s->t, &r);
		if (rc == TABLE_APPLIED)
			STATS_INC(s->c, rules_updated);
	}
	if (rc == TABLE_STALE)
		STATS_INC(s->c, rules_older);
	if (rc == TABLE_APPLIED && e->op == SYNC_SET && v->rs_hits != hits)
		STATS_INC(s->c, resync_rules);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The IPs the cache holds of the VNI (rules and deletes), sorted, each once; NULL when
 * fewer than resync_min_rules rules are held (or out of memory: relearn on use then).
 */
static uint32_t *
held_collect(struct syncer *s, uint32_t vni, uint32_t *np)
{
	struct table_rule rules[COLLECT_PAGE];
	struct table_cursor cur = { 0 };
	struct table_vni_info vi;
	uint32_t *ips, n = 0, cap, k;
	uint64_t upto;
	bool more = true;
	int got;

	if (s->p.resync_min_rules == 0 || table_vni_get(s->t, vni, &vi) < 0 ||
	    vi.live < s->p.resync_min_rules)
		return NULL;
	cap = vi.live + vi.tombs + COLLECT_PAGE;
	if ((ips = malloc(cap * sizeof(*ips))) == NULL)
		return NULL;
	while (more) {
		/* The learner is the table's only writer: nothing moves between pages. */
		if ((got = table_changes(s->t, vni, 0, &cur, rules, COLLECT_PAGE, &upto,
		    &more)) < 0) {
			free(ips);
			return NULL;
		}
		if (n + (uint32_t)got > cap) {
			uint32_t *g = realloc(ips, 2 * (cap + (uint32_t)got) * sizeof(*ips));

			if (g == NULL) {
				free(ips);
				return NULL;
			}
			ips = g;
			cap = 2 * (cap + (uint32_t)got);
		}
		for (int i = 0; i < got; i++)
			ips[n++] = rules[i].ip;
	}
	/* A rule eviction moved during the walk may be listed twice. */
	qsort(ips, n, sizeof(*ips), cmp_u32);
	for (uint32_t i = k = 0; i < n; i++)
		if (k == 0 || ips[k - 1] != ips[i])
			ips[k++] = ips[i];
	*np = k;
	return ips;
}

/*
 * The VPC starts over: no rules, no version, until a LEARN brings one. Until then the
 * cache holds nothing of it, so its VNI slot is given back (a VPC learned again takes
 * one anew): the VPCs a host meets over time never use up table_max_vnis.
 */
static void
relearn(struct syncer *s, struct vs *v)
{
	table_vni_drop(s->t, v->vni);
	STATS_INC(s->c, relearns);
	vs_del(s, v);
	STATS_SET(s->c, rules, table_count(s->t));
}

/*
 * RELEARN of a VPC the host holds many rules of: relearning each on its next packet
 * would send every one of those destinations through a gateway and back, a storm. So
 * its rules are dropped (no longer trusted) but its IPs remembered, and the VPC is
 * walked whole from version 0 in generation gen, installing those IPs only. Fewer
 * held, or no memory: relearn on use. A RELEARN during a resync starts its walk again
 * with the same IPs.
 */
static void
relearn_or_resync(struct syncer *s, struct vs *v, uint32_t gen)
{
	uint32_t *ips = v->rs, n = v->rs_n;

	if (ips == NULL && (ips = held_collect(s, v->vni, &n)) == NULL) {
		relearn(s, v);
		return;
	}
	v->rs = NULL;	/* kept across the drop */
	table_vni_drop(s->t, v->vni);
	STATS_INC(s->c, relearns);
	STATS_INC(s->c, resyncs);
	STATS_SET(s->c, rules, table_count(s->t));
	v->rs = ips;
	v->rs_n = n;
	v->rs_scanned = v->rs_hits = 0;
	v->gen = gen;
	v->version = v->consumed = v->cur_version = 0;
	v->cur_ip = 0;
	v->tries = 0;
}

/* The walk of a resync is complete, or given up (then the VPC relearns on use). */
static void
resync_end(struct syncer *s, struct vs *v, bool done)
{
	free(v->rs);
	v->rs = NULL;
	v->rs_n = 0;
	if (done && v->version > 0) {
		STATS_INC(s->c, resyncs_done);
		return;
	}
	STATS_INC(s->c, resyncs_abandoned);
	table_vni_drop(s->t, v->vni);
	vs_del(s, v);
	STATS_SET(s->c, rules, table_count(s->t));
}

static void
on_section(struct syncer *s, struct outreq *o, const struct sync_section *sec,
    const struct sync_entry *entries)
{
	struct vs *v = vs_find(s, sec->vni);

	if (v == NULL || v->req != o->id)
		return;	/* not asked in this request (or flushed meanwhile) */
	v->req = 0;
	switch (sec->status) {
	case SYNC_OK:
		if (v->rs != NULL && sec->gen != v->gen) {
			/* The generation moved under the walk: what it installed is void. */
			resync_end(s, v, false);
			return;
		}
		if (sec->gen != v->gen || sec->since != v->version)
			return;	/* not an answer to what we asked: ask again */
		for (uint32_t i = 0; i < sec->count; i++) {
			const struct sync_entry *e = &entries[sec->first + i];

			/* A page's keys are spread over the table: one miss each, overlapped. */
			if (i + PREFETCH_AHEAD < sec->count)
				table_prefetch(s->t, v->vni, e[PREFETCH_AHEAD].ip);
			apply_entry(s, v, e);
		}
		v->tries = 0;
		if (sec->flags & SYNC_F_MORE) {
			v->cur_version = sec->cursor_version;
			v->cur_ip = sec->cursor_ip;
			v->consumed = sec->cursor_version > v->consumed ? sec->cursor_version :
			    v->consumed;
			STATS_INC(s->c, pages);
			if (v->rs != NULL && v->rs_scanned >= RESYNC_SCAN_MIN &&
			    v->rs_hits * RESYNC_HIT_RATIO < v->rs_scanned)
				resync_end(s, v, false);
		} else {
			if (sec->upto > v->version) {
				table_vni_advance(s->t, v->vni, v->gen, sec->upto);
				v->version = sec->upto;
				STATS_INC(s->c, versions);
			}
			v->cur_version = 0;
			v->cur_ip = 0;
			if (v->version > v->consumed)
				v->consumed = v->version;
			if (v->rs != NULL)
				resync_end(s, v, true);
		}
		STATS_SET(s->c, rules, table_count(s->t));
		break;
	case SYNC_RELEARN:
	case SYNC_UNKNOWN: {
		char a[NET_ENDPOINT_STRLEN];

		log_warnx_rl(&s->rl, "VPC %u at generation %u version %" PRIu64 ": gateway %s "
		    "says %s; flushing its rules to learn them again", v->vni, v->gen,
		    v->version, net_endpoint_format(&s->gw->g[o->gw].addr, a),
		    sec->status == SYNC_RELEARN ? "RELEARN" : "UNKNOWN");
		if (sec->status == SYNC_RELEARN)
			relearn_or_resync(s, v, sec->gen);
		else
			relearn(s, v);
		break;
	}
	case SYNC_RETRY:
		/* This gateway is behind us: another, and not at once if all are. */
		v->tries++;
		STATS_INC(s->c, retries);
		if (v->tries >= s->gw->n)
			v->not_before = loop_now(s->l) + RETRY_PAUSE_NS;
		break;
	}
}

static void
on_response(struct syncer *s, int gi, const struct sync_resp *r)
{
	struct outreq *o = out_find(s, r->id);

	if (o == NULL || o->gw != gi) {
		STATS_INC(s->c, sync_stale);
		return;
	}
	STATS_INC(s->c, sync_rx);
	gateways_ok(s->gw, gi);
	for (uint8_t i = 0; i < r->count; i++)
		on_section(s, o, &r->sections[i], s->entries);
	/* VPCs the datagram had no room for are asked again. */
	for (uint8_t k = 0; k < o->n; k++) {
		struct vs *v = vs_find(s, o->vnis[k]);

		if (v && v->req == o->id)
			v->req = 0;
	}
	out_del(s, o);
	schedule(s);
}

static void
on_learn(struct syncer *s, const struct sync_section *sec, const struct sync_entry *e)
{
	struct table_rule r = { .vni = sec->vni, .ip = e->ip, .vtep = e->vtep,
	    .version = e->version };
	struct vs *v = vs_find(s, sec->vni);

	STATS_INC(s->c, learn_rx);
	/* During a resync too: its walk went past changes of rules not held then. */
	if (v != NULL && (v->version > 0 || v->rs != NULL) &&
	    (sec->gen != v->gen || sec->upto < v->consumed)) {
		/* From another generation, or from before the changes sync went past. */
		STATS_INC(s->c, learn_stale);
		return;
	}
	memcpy(r.mac, e->mac, 6);
	if (table_set(s->t, &r) == TABLE_APPLIED)
		STATS_INC(s->c, learn_installed);
	if (v == NULL || (v->version == 0 && v->rs == NULL)) {
		/* The VPC's first rule: its version is where sync starts. */
		if (v == NULL && (v = vs_add(s, sec->vni)) == NULL)
			return;
		v->gen = sec->gen;
		v->version = sec->upto;
		v->consumed = sec->upto;
		table_vni_advance(s->t, sec->vni, sec->gen, sec->upto);
		schedule(s);
	}
	STATS_SET(s->c, rules, table_count(s->t));
}

/* This host's key of that id, ready for the MAC; NULL when it has none. */
static const struct auth_mackey *
key_of(const struct syncer *s, uint8_t id)
{
	for (uint32_t i = 0; i < s->p.keys.n; i++)
		if (s->p.keys.k[i].id == id)
			return &s->mk[i];
	return NULL;
}

static void
on_dgram(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	struct syncer *s = arg;
	struct sync_resp r;
	struct sync_hdr h;
	const struct auth_mackey *k;
	int gi = gateways_find(s->gw, from), type;

	(void)u;
	if (gi < 0) {
		STATS_INC(s->c, dgram_denied);
		return;
	}
	type = sync_hdr_decode(data, len, &h);
	if (type != SYNC_RESP && type != SYNC_LEARN) {
		STATS_INC(s->c, dgram_malformed);
		log_warnx_rl(&s->rl, "malformed datagram from a gateway");
		return;
	}
	/*
	 * The MAC before anything past the header, with this host's own key: a datagram
	 * for another host, or MACed with another host's key, fails here.
	 */
	if (s->p.auth && (!(h.flags & SYNC_H_MAC) || strcmp(h.name, s->p.host) != 0 ||
	    (k = key_of(s, h.key_id)) == NULL || !auth_check(s->mac, k, data, len))) {
		STATS_INC(s->c, auth_failed);
		log_warnx_rl(&s->rl, "datagram from a gateway failing authentication (host "
		    "\"%s\", key id %u)", h.name, h.key_id);
		return;
	}
	if (sync_resp_decode(data, len, &r, s->entries, SYNC_ENTRIES_MAX) < 0) {
		STATS_INC(s->c, dgram_malformed);
		log_warnx_rl(&s->rl, "malformed datagram from a gateway");
		return;
	}
	if (r.type == SYNC_LEARN) {
		uint64_t now = clock_real_ns();

		/* A LEARN recorded and sent again later could bring back a moved VM's rule. */
		if (s->p.auth && (h.ts_ns > now + s->p.learn_window_ns ||
		    now > h.ts_ns + s->p.learn_window_ns)) {
			STATS_INC(s->c, learn_replayed);
			log_warnx_rl(&s->rl, "LEARN outside learn_window (clocks apart, or "
			    "replayed): dropped");
			return;
		}
		on_learn(s, &r.sections[0], &s->entries[r.sections[0].first]);
	}
	else {
		STATS_ADD(s->c, sync_bytes, len);
		on_response(s, gi, &r);
	}
}

struct syncer *
syncer_new(struct loop *l, const struct syncer_params *p, struct table *t,
    struct gateways *gw, struct learner_counters *c, char *err, size_t errlen)
{
	struct syncer *s = calloc(1, sizeof(*s));
	struct udp_params up = { .nrecv = 64, .nsend = 256, .dgram_max = SYNC_DGRAM_MAX,
	    .unreach = on_unreach };

	if (s == NULL || (s->vs = calloc(64, sizeof(*s->vs))) == NULL ||
	    (s->entries = calloc(SYNC_ENTRIES_MAX, sizeof(*s->entries))) == NULL ||
	    (s->mac = auth_new()) == NULL) {
		snprintf(err, errlen, "learner: out of memory (or no AES-GCM in libsodium or libcrypto)");
		if (s) {
			free(s->vs);
			free(s->entries);
		}
		free(s);
		return NULL;
	}
	if (p->auth && p->keys.n == 0) {
		snprintf(err, errlen, "learner: auth without a key");
		syncer_free(s);
		return NULL;
	}
	s->vs_cap = 64;
	s->l = l;
	s->p = *p;
	s->t = t;
	s->gw = gw;
	s->c = c;
	s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	sync_hdr_set_name(&s->hdr, p->host ? p->host : "");
	if (p->auth) {
		s->hdr.flags = SYNC_H_MAC;
		s->hdr.key_id = s->p.keys.k[s->p.keys.n - 1].id;
		for (uint32_t i = 0; i < s->p.keys.n; i++)
			auth_mackey_set(&s->mk[i], s->p.keys.k[i].key);
		s->key = &s->mk[s->p.keys.n - 1];
	}
	if ((s->udp = udp_new(l, &p->listen, &up, on_dgram, s, err, errlen)) == NULL) {
		syncer_free(s);
		return NULL;
	}
	s->tick = (struct loop_timer){ .fn = on_tick, .arg = s };
	loop_timer_set(l, &s->tick, TICK_NS);
	return s;
}

void
syncer_free(struct syncer *s)
{
	if (s == NULL)
		return;
	loop_timer_cancel(s->l, &s->tick);
	udp_free(s->udp);
	auth_free(s->mac);
	OPENSSL_cleanse(&s->p.keys, sizeof(s->p.keys));
	OPENSSL_cleanse(s->mk, sizeof(s->mk));
	free(s->entries);
	for (uint32_t i = 0; s->vs != NULL && i < s->vs_cap; i++)
		free(s->vs[i].rs);
	free(s->vs);
	free(s);
}

void
syncer_load(struct syncer *s)
{
	uint32_t max = table_params(s->t)->max_vnis, n;
	uint32_t *vnis = malloc(max * sizeof(*vnis));

	if (vnis == NULL)
		return;
	n = table_vnis(s->t, vnis, max);
	for (uint32_t i = 0; i < n; i++) {
		struct table_vni_info vi;
		struct vs *v;

		if (table_vni_get(s->t, vnis[i], &vi) < 0)
			continue;
		/*
		 * Rules without a version (killed between installing a LEARN's rule and
		 * its version) cannot be synced, a version without rules (killed between
		 * eviction and prune) need not be: start both over.
		 */
		if (vi.version == 0 || vi.live == 0) {
			table_vni_drop(s->t, vnis[i]);
			continue;
		}
		if ((v = vs_add(s, vnis[i])) == NULL)
			continue;
		v->gen = vi.gen;
		v->version = vi.version;
		v->consumed = vi.version;
	}
	free(vnis);
	if (s->vs_n)
		log_info("resuming sync of %u VPCs from the versions in the cache", s->vs_n);
	STATS_SET(s->c, rules, table_count(s->t));
}

void
syncer_prune(struct syncer *s)
{
	for (uint32_t i = 0; i < s->vs_cap; i++) {
		struct table_vni_info vi;
		struct vs *v = &s->vs[i];

		/*
		 * A resync may hold nothing yet (its walk has not reached the IPs it
		 * remembers, or eviction took what it installed): its end decides.
		 */
		if (!v->used || v->rs != NULL || table_vni_get(s->t, v->vni, &vi) < 0 ||
		    vi.live > 0)
			continue;
		/*
		 * Nothing of it is held any more: no need to follow it. Even with a request
		 * in flight (a long poll nearly always is): its answer finds no VPC, or one
		 * learned again that waits for another request id. Its VNI slot is given
		 * back.
		 */
		table_vni_drop(s->t, v->vni);
		vs_del(s, v);
		i--;	/* vs_del may have moved another VPC into this slot */
	}
	STATS_SET(s->c, rules, table_count(s->t));
}

int
syncer_port(const struct syncer *s)
{
	return udp_port(s->udp);
}
