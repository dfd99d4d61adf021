/*
 * xdpfast: what a gateway puts in its XDP program's rule cache, and when it stops being
 * true (xdpfast.h).
 */
#include "procs/forwarder/xdpfast.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/vxlan.h"
#include "procs/forwarder/xdp_vxlan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PUT_BATCH	64
#define SEEN_SLOTS	16384	/* destinations remembered for admission: power of two */
#define HOP_SLOTS	4096	/* VTEPs remembered (a collision only puts again) */
#define LOAD_PAGE	256	/* rules a table_changes page, and a batch put */
#define LOAD_NS		(2 * 1000 * 1000)	/* the mirror's load, each tick at most */
#define FAST_RETRY_FIRST_NS	(1 * NS_PER_S)	/* off for XDP_TX failures: the first wait */
#define FAST_RETRY_MAX_NS	(300 * NS_PER_S)

/* A destination offered lately: admitted when put before, or offered twice within the TTL. */
struct seen {
	uint32_t vni, ip;
	uint64_t at;		/* last offered */
	uint64_t put;		/* last put in the cache; 0: never */
	uint32_t vgen;		/* what that put carried: a VNI bumped since, put again */
};

/* A VTEP whose next hop was put: again once half the TTL went, or the hops' gen moved. */
struct hop_put {
	uint32_t vtep;
	uint32_t gen;
	uint64_t put;
};

/* A VNI some rule was put for, and what the table said of it at the last tick. */
struct vni_ent {
	uint32_t vni;
	uint32_t vgen;		/* fast_vnis' value: the rules put carry it */
	uint32_t gen;		/* the table's, at the last check */
	uint64_t version;
	uint64_t flushes;
	bool known;		/* gen, version and flushes read once since tracked */
	bool loaded;		/* mirror: every rule of the VNI put at vgen */
};

struct xdpfast {
	struct xsk *x;
	struct forwarder_counters *c;
	uint64_t ttl;
	uint32_t capacity;		/* the program's rules */
	uint32_t self;			/* this gateway's VTEP: rules to it are not relayed */
	uint16_t port;			/* the VXLAN port, host order */
	bool mirror;			/* room for the whole table: all of it put, from the table */
	struct seen seen[SEEN_SLOTS];
	struct hop_put hops[HOP_SLOTS];
	struct vni_ent *vnis;		/* nvnis_max, the first nvnis in use */
	uint32_t *vni_idx;		/* open addressing on vni: index + 1; 0 empty */
	uint32_t vni_slots, nvnis, nvnis_max;
	bool vnis_unchecked;		/* a VNI tracked since the last tick */
	uint32_t nput;
	struct xdp_fast_key keys[PUT_BATCH];
	struct xdp_fast_rule rules[PUT_BATCH];
	uint32_t hops_gen, srcs_gen, vgen_next;
	/* The mirror's load: the VNI it is in, at which vgen, and where. */
	uint32_t load_vni, load_vgen;
	struct table_cursor load_cur;
	uint32_t table_vnis_seen;	/* table_vni_count at the last look for new VNIs */
	uint64_t vteps_gen;		/* the allow-list's at the last mirror; 0: none yet */
	uint64_t neigh_seen;
	uint64_t table_seen;		/* the table's changes, summed, at the last check */
	uint32_t recheck;		/* ticks left to look at every VNI after a change */
	uint64_t win_frames, win_errors;	/* relayed and failed at the window's start */
	uint64_t frames_seen, bytes_seen, miss_seen;
	bool on;
	/* Off for XDP_TX failures: tried again at retry_at (0: never), after backoff. */
	uint64_t retry_at, backoff;
	bool trial;			/* on again for a trial: its window closes sooner */
};

static uint32_t
mix(uint32_t vni, uint32_t ip)
{
	uint64_t h = ((uint64_t)vni << 32 | ip) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32);
}

/* Never 0: to the program, 0 is a VNI it has no entry for. */
static uint32_t
vgen_new(struct xdpfast *f)
{
	if (++f->vgen_next == 0)
		f->vgen_next = 1;
	return f->vgen_next;
}

/*
 * A VNI tracked from its first offer on until the table no longer has it (at most
 * nvnis_max at once). Its rules
 * are put only once a tick read its state in the table (known), so that every rule put
 * comes from a lookup made after that read: a change since is one the next check sees.
 */
static struct vni_ent *
vni_track(struct xdpfast *f, uint32_t vni)
{
	uint32_t m = f->vni_slots - 1;

	for (uint32_t i = mix(vni, 0) & m;; i = (i + 1) & m) {
		if (f->vni_idx[i] != 0 && f->vnis[f->vni_idx[i] - 1].vni == vni)
			return &f->vnis[f->vni_idx[i] - 1];
		if (f->vni_idx[i] == 0) {
			if (f->nvnis == f->nvnis_max)
				return NULL;
			f->vnis[f->nvnis] = (struct vni_ent){ .vni = vni, .vgen = vgen_new(f) };
			f->vni_idx[i] = ++f->nvnis;
			f->vnis_unchecked = true;
			return &f->vnis[f->nvnis - 1];
		}
	}
}

struct xdpfast *
xdpfast_new(struct xsk *x, uint32_t rules, uint32_t vnis, uint64_t ttl_ns, uint32_t self,
    uint16_t port, struct forwarder_counters *c)
{
	struct xdpfast *f = calloc(1, sizeof(*f));
	uint32_t slots = 16;

	if (!f)
		return NULL;
	while (slots < 2 * vnis)
		slots *= 2;
	f->vnis = calloc(vnis ? vnis : 1, sizeof(*f->vnis));
	f->vni_idx = calloc(slots, sizeof(*f->vni_idx));
	if (!f->vnis || !f->vni_idx) {
		xdpfast_free(f);
		return NULL;
	}
	f->vni_slots = slots;
	f->nvnis_max = vnis;
	f->x = x;
	f->c = c;
	f->ttl = ttl_ns;
	f->capacity = rules;
	f->self = self;
	f->port = port;
	f->hops_gen = 1;
	f->srcs_gen = 1;
	f->table_vnis_seen = UINT32_MAX;
	f->on = xsk_fast_gen_set(x, XDP_FAST_GEN_HOPS, f->hops_gen) == 0;
	f->backoff = FAST_RETRY_FIRST_NS;
	STATS_SET(c, xdp_fast_on, f->on);
	return f;
}

void
xdpfast_free(struct xdpfast *f)
{
	if (!f)
		return;
	free(f->vnis);
	free(f->vni_idx);
	free(f);
}

/* The rule for (vni, r->ip) in the put batch, at the VNI's generation. */
static void
rule_add(struct xdpfast *f, uint32_t vni, const struct table_rule *r, uint32_t vgen)
{
	uint32_t i = f->nput++;

	f->keys[i] = (struct xdp_fast_key){ .vni = vni, .ip = htonl(r->ip) };
	f->rules[i] = (struct xdp_fast_rule){ .port = htons(f->port), .vtep = htonl(r->vtep),
	    .vgen = vgen };
	memcpy(f->rules[i].mac, r->mac, 6);
	if (f->nput == PUT_BATCH)
		xdpfast_flush(f);
}

/* The VTEP's next hop in the program, unless put lately at the current generation. */
static void
hop_offer(struct xdpfast *f, uint32_t vtep, xdpfast_hop_fn *hop, void *arg, uint64_t now)
{
	struct hop_put *h = &f->hops[mix(vtep, 0) & (HOP_SLOTS - 1)];
	struct xdp_fast_hop v = { .gen = f->hops_gen, .expires = now + f->ttl };

	if (h->vtep == vtep && h->gen == f->hops_gen && now - h->put < f->ttl / 2)
		return;
	if (!hop(arg, vtep, v.nh_mac, v.src_mac)) {
		STATS_INC(f->c, xdp_fast_no_next_hop);
		return;
	}
	if (xsk_fast_hop_put(f->x, htonl(vtep), &v) < 0) {
		STATS_INC(f->c, xdp_fast_put_errors);
		return;
	}
	*h = (struct hop_put){ .vtep = vtep, .gen = f->hops_gen, .put = now };
	STATS_INC(f->c, xdp_fast_hop_puts);
}

void
xdpfast_offer(struct xdpfast *f, const struct table_rule *r, xdpfast_hop_fn *hop, void *arg,
    uint64_t now)
{
	struct seen *s = &f->seen[mix(r->vni, r->ip) & (SEEN_SLOTS - 1)];
	struct vni_ent *v;

	if (!f->on)
		return;
	/* Admitted: put before, relayed twice within the TTL, or room for the whole table. */
	if (s->vni != r->vni || s->ip != r->ip || (s->put == 0 && now - s->at >= f->ttl)) {
		*s = (struct seen){ .vni = r->vni, .ip = r->ip, .at = now };
		if (!f->mirror)
			return;
	}
	s->at = now;
	if ((v = vni_track(f, r->vni)) == NULL) {
		STATS_INC(f->c, xdp_fast_vnis_full);
		return;
	}
	if (!v->known)
		return;
	/* A datagram that came here anyway: its VTEP's next hop expired, or is not in yet. */
	hop_offer(f, r->vtep, hop, arg, now);
	/*
	 * The rule put lately at the VNI's generation: this datagram was on its way before
	 * the put landed, or came up for its next hop. Put again now and then all the same,
	 * for a put of another rule may have evicted it (fastrules.h).
	 */
	if (s->put != 0 && now - s->put < f->ttl && s->vgen == v->vgen)
		return;
	s->put = now;
	s->vgen = v->vgen;
	rule_add(f, r->vni, r, v->vgen);
}

void
xdpfast_flush(struct xdpfast *f)
{
	int evicted;

	if (f->nput == 0)
		return;
	if ((evicted = xsk_fast_put(f->x, f->keys, f->rules, f->nput)) >= 0) {
		STATS_ADD(f->c, xdp_fast_puts, f->nput);
		STATS_ADD(f->c, xdp_fast_evictions, (uint64_t)evicted);
	} else
		STATS_ADD(f->c, xdp_fast_put_errors, f->nput);
	f->nput = 0;
}

/*
 * A mirror takes the table's rule r of vni as it now is: put when dp.c's relay would
 * relay by it (not a delete, nor to this gateway, nor a group), else taken out. True:
 * put.
 */
static bool
rule_mirror(struct xdpfast *f, uint32_t vni, const struct table_rule *r, uint32_t vgen)
{
	struct xdp_fast_key k = { .vni = vni, .ip = htonl(r->ip) };

	if (!(r->flags & TABLE_F_TOMBSTONE) && r->vtep != 0 && r->vtep != f->self &&
	    !ipv4_is_group(r->ip)) {
		rule_add(f, vni, r, vgen);
		return true;
	}
	if (xsk_fast_del(f->x, &k) < 0)
		STATS_INC(f->c, xdp_fast_put_errors);
	return false;
}

/* Changes followed in one VNI a tick; past that its rules are all dropped at once. */
#define RECHECK		10	/* ticks */
#define WALK_MAX	4096

/*
 * The rules of e that changed after e->version taken out of the cache, *upto the version
 * that brings e to; -1 when the table cannot list them (that version is no longer valid,
 * or there are too many): then the VNI's rules all go.
 */
static int
changes_drop(struct xdpfast *f, struct table *t, struct vni_ent *e, uint64_t *upto)
{
	struct table_cursor cur = { 0 };
	struct table_rule buf[64];
	uint32_t seen = 0;
	bool more = true;
	int n = 0;

	table_read_begin(t);
	while (more) {
		n = table_changes(t, e->vni, e->version, &cur, buf, 64, upto, &more);
		if (n < 0 || (seen += (uint32_t)n) > WALK_MAX)
			break;
		for (int i = 0; i < n; i++) {
			struct xdp_fast_key k = { .vni = e->vni, .ip = htonl(buf[i].ip) };
			struct seen *sl = &f->seen[mix(e->vni, buf[i].ip) & (SEEN_SLOTS - 1)];

			/* A mirror takes the rule's new state; a cache lets its next relay. */
			if (f->mirror)
				(void)rule_mirror(f, e->vni, &buf[i], e->vgen);
			else if (xsk_fast_del(f->x, &k) < 0)
				STATS_INC(f->c, xdp_fast_put_errors);
			/* Its next relay puts the new rule at once. */
			if (sl->vni == e->vni && sl->ip == buf[i].ip)
				sl->put = 0;
		}
	}
	table_read_end(t);
	if (n < 0 || seen > WALK_MAX)
		return -1;
	STATS_ADD(f->c, xdp_fast_changed, seen);
	return 0;
}

/* The VNIs marked gone (vni 0: no VXLAN VNI is 0 here) out, the index made again. */
static void
vnis_compact(struct xdpfast *f)
{
	uint32_t n = 0, m = f->vni_slots - 1;

	memset(f->vni_idx, 0, f->vni_slots * sizeof(*f->vni_idx));
	for (uint32_t i = 0; i < f->nvnis; i++) {
		uint32_t k;

		if (f->vnis[i].vni == 0)
			continue;
		f->vnis[n] = f->vnis[i];
		for (k = mix(f->vnis[n].vni, 0) & m; f->vni_idx[k] != 0; k = (k + 1) & m)
			;
		f->vni_idx[k] = ++n;
	}
	f->nvnis = n;
}

/*
 * Every tracked VNI whose state in the table changed since the last look: a new version
 * drops the rules it changed; a new generation, a flush, a VNI gone, a version that
 * cannot be walked from, drops them all (a new vgen).
 */
static void
vnis_check(struct xdpfast *f, struct table *t)
{
	const struct table_counters *tc = t ? table_counters(t) : NULL;
	uint64_t changes = tc ? __atomic_load_n(&tc->sets, __ATOMIC_RELAXED) +
	    __atomic_load_n(&tc->flushes, __ATOMIC_RELAXED) +
	    __atomic_load_n(&tc->vnis_dropped, __ATOMIC_RELAXED) +
	    __atomic_load_n(&tc->recoveries, __ATOMIC_RELAXED) : 0;
	uint32_t gone = 0;

	/*
	 * The table counts its sets, not the versions published after them (a rule-store
	 * sets a version's rules, then advances): after a set, look again for RECHECK
	 * ticks, so that the advance that follows is seen.
	 */
	if (changes != f->table_seen || f->vnis_unchecked)
		f->recheck = RECHECK;
	else if (f->recheck == 0)
		return;
	else
		f->recheck--;
	f->table_seen = changes;
	f->vnis_unchecked = false;
	for (uint32_t i = 0; i < f->nvnis; i++) {
		struct vni_ent *e = &f->vnis[i];
		struct table_vni_info in = { 0 };
		uint64_t upto;
		bool have;

		if (e->vni == 0)
			continue;
		have = t && table_vni_get(t, e->vni, &in) == 0;
		if (e->known && have && in.gen == e->gen && in.flushes == e->flushes) {
			if (in.version == e->version)
				continue;
			if (in.version > e->version && e->version != 0 &&
			    changes_drop(f, t, e, &upto) == 0) {
				e->version = upto;
				continue;
			}
		}
		if (!have) {
			/* Gone from the table: its rules with it (0 matches none), its slot freed. */
			if (xsk_fast_vni_del(f->x, e->vni) == 0)
				STATS_INC(f->c, xdp_fast_invalidations);
			else
				STATS_INC(f->c, xdp_fast_put_errors);
			e->vni = 0;
			gone++;
			continue;
		}
		e->known = true;
		e->loaded = false;
		e->gen = in.gen;
		e->version = in.version;
		e->flushes = in.flushes;
		e->vgen = vgen_new(f);
		if (xsk_fast_vni_set(f->x, e->vni, e->vgen) == 0)
			STATS_INC(f->c, xdp_fast_invalidations);
		else
			STATS_INC(f->c, xdp_fast_put_errors);
	}
	if (gone > 0)
		vnis_compact(f);
}

/* The allow-list's mirror: every VTEP at a new generation, then the others dropped. */
static void
srcs_mirror(struct xdpfast *f, const struct vtepset *v)
{
	uint64_t g = v && vtepset_loaded(v) ? vtepset_generation(v) : 0;
	uint32_t n, *ips, gen;

	if (g == f->vteps_gen)
		return;
	n = v ? vtepset_count(v) : 0;
	if ((ips = calloc(n ? n : 1, sizeof(*ips))) == NULL)
		return;			/* the next tick tries again */
	n = g ? vtepset_list(v, ips, n) : 0;
	for (uint32_t i = 0; i < n; i++)
		ips[i] = htonl(ips[i]);
	gen = f->srcs_gen + 1 ? f->srcs_gen + 1 : 1;
	if (xsk_fast_srcs_put(f->x, ips, n, gen) == 0 &&
	    xsk_fast_gen_set(f->x, XDP_FAST_GEN_SRCS, gen) == 0) {
		f->srcs_gen = gen;
		f->vteps_gen = g;
		xsk_fast_srcs_prune(f->x, gen);
		STATS_INC(f->c, xdp_fast_invalidations);
	} else
		STATS_INC(f->c, xdp_fast_put_errors);
	free(ips);
}

/*
 * XDP_TX that the driver does not send: the cache off, and tried again later. A full send
 * ring drops some under load, as any NIC's; a peer without an XDP program (a veth), every
 * one. So the judgement is on windows of XDP_TX_WINDOW frames relayed, or fewer once
 * XDP_TX_ERRORS failed (TRIAL_ERRORS on a trial): off when nearly all of the window's
 * failed. Off, it is on again for a trial after FAST_RETRY_FIRST_NS, then twice as long each
 * time up to FAST_RETRY_MAX_NS (a trial costs at most TRIAL_ERRORS frames: a link down for a
 * while, or a peer that got its program back, does not leave it off until a restart);
 * a window that delivers starts the wait from FAST_RETRY_FIRST_NS again.
 */
#define XDP_TX_WINDOW	256
#define XDP_TX_ERRORS	16	/* failures that close a window early: few lost to a dead peer */
#define TRIAL_ERRORS	4

static void
tx_off(struct xdpfast *f, uint64_t df, uint64_t de, uint64_t now)
{
	f->on = false;
	if (xsk_fast_gen_set(f->x, XDP_FAST_ON, 0) < 0)
		STATS_INC(f->c, xdp_fast_put_errors);
	STATS_SET(f->c, xdp_fast_on, 0);
	STATS_INC(f->c, xdp_fast_offs);
	f->retry_at = now + f->backoff;
	if (!f->trial)
		log_warn("forwarder: the driver failed to send %llu of %llu frames the XDP "
		    "program relayed (XDP_TX); its rule cache is off, every datagram goes "
		    "through AF_XDP (on a veth, the peer needs an XDP program); tried again in "
		    "%llu s", (unsigned long long)de, (unsigned long long)df,
		    (unsigned long long)(f->backoff / NS_PER_S));
	f->trial = false;
	f->backoff = f->backoff * 2 < FAST_RETRY_MAX_NS ? f->backoff * 2 : FAST_RETRY_MAX_NS;
}

static void
tx_check(struct xdpfast *f, uint64_t frames, uint64_t now)
{
	uint64_t e = xsk_xdp_tx_errors(f->x), df, de;

	STATS_SET(f->c, xdp_fast_tx_errors, e);
	df = frames - f->win_frames;
	de = e - f->win_errors;
	if (!f->on) {
		if (f->retry_at == 0 || now < f->retry_at)
			return;
		/* A trial: the window from now, what failed while off not held against it. */
		if (xsk_fast_gen_set(f->x, XDP_FAST_ON, 1) < 0) {
			STATS_INC(f->c, xdp_fast_put_errors);
			f->retry_at = now + f->backoff;
			return;
		}
		f->on = f->trial = true;
		f->win_frames = frames;
		f->win_errors = e;
		STATS_SET(f->c, xdp_fast_on, 1);
		STATS_INC(f->c, xdp_fast_trials);
		return;
	}
	if (df < XDP_TX_WINDOW && de < (f->trial ? TRIAL_ERRORS : XDP_TX_ERRORS))
		return;
	f->win_frames = frames;
	f->win_errors = e;
	if (de * 10 >= df * 9) {
		tx_off(f, df, de, now);
		return;
	}
	if (f->trial)
		log_info("forwarder: the XDP program's rule cache is on again: the driver sent "
		    "%llu of %llu frames relayed with XDP_TX", (unsigned long long)(df - de),
		    (unsigned long long)df);
	f->trial = false;
	f->backoff = FAST_RETRY_FIRST_NS;
}

/* Every VNI of the table tracked (its state read at the next check, then loaded). */
static void
mirror_track(struct xdpfast *f, struct table *t)
{
	uint32_t n = table_vni_count(t), *vnis;

	if (n == f->table_vnis_seen)
		return;
	if ((vnis = calloc(n ? n : 1, sizeof(*vnis))) == NULL)
		return;			/* the next tick tries again */
	n = table_vnis(t, vnis, n);
	for (uint32_t i = 0; i < n; i++)
		if (vni_track(f, vnis[i]) == NULL)
			STATS_INC(f->c, xdp_fast_vnis_full);
	f->table_vnis_seen = n;
	free(vnis);
}

/*
 * One page of the VNI's rules (the table's full dump, since = 0) into the put batch.
 * 1: more to come; 0: the VNI is loaded; -1: the walk must start again.
 */
static int
load_page(struct xdpfast *f, struct table *t, struct vni_ent *e)
{
	struct table_rule buf[LOAD_PAGE];
	uint64_t upto;
	bool more = false;
	int n;

	table_read_begin(t);
	n = table_changes(t, e->vni, 0, &f->load_cur, buf, LOAD_PAGE, &upto, &more);
	table_read_end(t);
	if (n == -EAGAIN)
		return -1;
	if (n < 0)
		return 0;	/* gone: the next check drops it */
	for (int i = 0; i < n; i++)
		if (rule_mirror(f, e->vni, &buf[i], e->vgen))
			STATS_INC(f->c, xdp_fast_loaded);
	return more ? 1 : 0;
}

/*
 * The mirror: every rule of every VNI put from the table, a VNI at a time, LOAD_NS of
 * work a tick at most. A VNI is loaded only once a check read its state (known), so that
 * every change after a page was read is one the next check's walk takes out; a VNI whose
 * generation moves while it loads starts again.
 */
static void
mirror_load(struct xdpfast *f, struct table *t)
{
	uint64_t end = clock_mono_ns() + LOAD_NS;
	uint32_t pending = 0;

	mirror_track(f, t);
	for (uint32_t i = 0; i < f->nvnis; i++) {
		struct vni_ent *e = &f->vnis[i];
		int rc;

		if (e->vni == 0 || !e->known || e->loaded)
			continue;
		if (clock_mono_ns() >= end) {
			pending++;
			continue;
		}
		if (e->vni != f->load_vni || e->vgen != f->load_vgen) {
			f->load_vni = e->vni;
			f->load_vgen = e->vgen;
			memset(&f->load_cur, 0, sizeof(f->load_cur));
		}
		while ((rc = load_page(f, t, e)) == 1 && clock_mono_ns() < end)
			;
		if (rc == -1)
			memset(&f->load_cur, 0, sizeof(f->load_cur));
		if (rc == 0) {
			e->loaded = true;
			f->load_vni = 0;
		} else
			pending++;
	}
	STATS_SET(f->c, xdp_fast_load_pending, pending);
}

void
xdpfast_tick(struct xdpfast *f, struct table *t, const struct vtepset *v,
    uint64_t neigh_changes)
{
	uint64_t frames, bytes, miss;
	bool mirror;

	xdpfast_flush(f);
	xsk_fast_counters(f->x, &frames, &bytes, &miss);
	STATS_ADD(f->c, rx_vxlan, frames - f->frames_seen);
	STATS_ADD(f->c, tx_relayed, frames - f->frames_seen);
	STATS_ADD(f->c, rx_bytes, bytes - f->bytes_seen);
	STATS_ADD(f->c, tx_bytes, bytes - f->bytes_seen);
	STATS_FOLD(f->c, xdp_fast, frames, f->frames_seen);
	f->bytes_seen = bytes;
	STATS_FOLD(f->c, xdp_fast_miss, miss, f->miss_seen);
	tx_check(f, frames, clock_mono_ns());
	if (!f->on && f->retry_at == 0)
		return;		/* never on: its maps refused the first write */
	/* Kept up while off, so that a trial relays from a cache as good as the table. */
	if (neigh_changes != f->neigh_seen) {
		f->neigh_seen = neigh_changes;
		if (++f->hops_gen == 0)
			f->hops_gen = 1;
		if (xsk_fast_gen_set(f->x, XDP_FAST_GEN_HOPS, f->hops_gen) == 0)
			STATS_INC(f->c, xdp_fast_invalidations);
		else
			STATS_INC(f->c, xdp_fast_put_errors);
	}
	srcs_mirror(f, v);
	vnis_check(f, t);
	mirror = t && (uint64_t)f->capacity >= (uint64_t)table_live(t) * 9 / 8;
	/* Back to a mirror: what a cache let go, or did not take, loaded again. */
	for (uint32_t i = 0; mirror && !f->mirror && i < f->nvnis; i++)
		f->vnis[i].loaded = false;
	f->mirror = mirror;
	if (f->mirror)
		mirror_load(f, t);
	xdpfast_flush(f);
	STATS_SET(f->c, xdp_fast_mirror, f->mirror);
	STATS_SET(f->c, xdp_fast_vnis, f->nvnis);
}
