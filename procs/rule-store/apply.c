/*
 * apply: see apply.h. Invariant: the seq the table records is a record whose effects,
 * and those of every record before it, are in the table, except in the VPCs marked
 * incomplete (a change the table refused); `lag` is what the controller announced last
 * (a record, a heartbeat, a SNAP_BEGIN) minus that seq.
 *
 * An incomplete VPC is flagged in the table (syncd answers RETRY for it, so learners
 * ask another gateway) and listed here; a VPC whose change found no VNI slot at all is
 * counted in the table's header (homeless) since it has no flag to carry. Once the
 * table has room again, apply_want names a VPC to fetch whole (a PART snapshot), or
 * the whole state when homeless VPCs are not known by name (after a restart).
 *
 * The table also records the history (the controller's epoch) its seq belongs to, set
 * only once a snapshot of that history is whole; a snapshot of another history sets it
 * to 0 (not known) before it changes anything, so the pair never names a seq of a
 * history the table does not hold up to it.
 */
#include "apply.h"
#include "common/grow.h"
#include "common/log.h"
#include "shm/events.h"
#include "shm/vtepset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A set of IPv4 addresses (open addressing), for "which rules did the snapshot send". */
struct ipset {
	uint32_t *slot;		/* ip + 1; 0 empty */
	uint32_t mask;
	uint32_t n;
};

/* A VPC the table does not hold whole; homeless: it has no VNI slot, so no flag. */
struct inc_vpc {
	uint32_t vni;
	bool homeless;
};

struct apply {
	struct table *t;
	struct vtepset *vteps;	/* the gateway forwarder's allow-list: every host's VTEP */
	struct ring *advance;
	struct rule_store_counters *c;
	bool in_snap;
	uint64_t snap_seq;
	uint64_t snap_epoch;	/* the history of the snapshot being loaded */
	struct ipset seen;	/* the current VPC's rules in the snapshot */
	/* The current VPC's rules the table holds in a state from another history. */
	struct ipset diverged;
	struct wire_rule *div;	/* the snapshot's state of those */
	size_t ndiv, div_cap;
	uint32_t *snap_vnis;	/* VPCs the snapshot holds */
	size_t nsnap_vnis, snap_vnis_cap;
	uint32_t *snap_hosts;	/* the hosts' VTEPs the snapshot names */
	size_t nsnap_hosts, snap_hosts_cap;
	bool live;		/* a record or heartbeat came outside a snapshot */
	uint64_t hello_seq;	/* what this connection's HELLO said (apply_hello) */
	uint32_t part_vni;	/* the snapshot is of this VPC alone (PART_BEGIN) */
	bool vpc_refused;	/* the snapshot's current VPC lost a change */
	struct inc_vpc *inc;	/* the incomplete VPCs known by name */
	size_t ninc, inc_cap;
	uint32_t named_homeless;/* of those, the ones with no slot (no flag to carry) */
	uint32_t unnamed;	/* VPCs with no slot not known by name (after a restart) */
	size_t next_want;	/* round robin over inc */
	bool want_out;		/* a WANT was sent; its snapshot has not ended */
	uint64_t want_at_ns;	/* no WANT before this */
	uint64_t want_backoff_ns;
	uint64_t status_gen;	/* bumped when something a STATUS says changed */
	struct log_ratelimit rl;
};

#define WANT_BACKOFF_MIN_NS	(1000 * 1000000ull)
#define WANT_BACKOFF_MAX_NS	(30 * 1000 * 1000000ull)

static uint32_t
ipset_hash(uint32_t ip)
{
	return (ip * 0x9e3779b1u) ^ (ip >> 16);
}

static int
ipset_add(struct ipset *s, uint32_t ip)
{
	if ((s->n + 1) * 2 > s->mask + 1 || s->slot == NULL) {
		struct ipset bigger = { .mask = s->slot ? 2 * s->mask + 1 : 1023 };

		if ((bigger.slot = calloc(bigger.mask + 1, sizeof(uint32_t))) == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; s->slot && i <= s->mask; i++)
			if (s->slot[i])
				ipset_add(&bigger, s->slot[i] - 1);
		free(s->slot);
		*s = bigger;
	}
	for (uint32_t i = ipset_hash(ip) & s->mask;; i = (i + 1) & s->mask) {
		if (s->slot[i] == ip + 1)
			return 0;
		if (s->slot[i] == 0) {
			s->slot[i] = ip + 1;
			s->n++;
			return 0;
		}
	}
}

static bool
ipset_has(const struct ipset *s, uint32_t ip)
{
	if (s->slot == NULL)
		return false;
	for (uint32_t i = ipset_hash(ip) & s->mask;; i = (i + 1) & s->mask) {
		if (s->slot[i] == ip + 1)
			return true;
		if (s->slot[i] == 0)
			return false;
	}
}

static void
ipset_clear(struct ipset *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/*
 * The table is at its applied seq until a snapshot ends, so a snapshot in progress
 * shows how far it still has to go. A table ahead of the snapshot holds another
 * history (the controller's data was replaced): none of it counts.
 */
static void
lag_update(struct apply *a)
{
	uint64_t have = table_applied_seq(a->t), want = a->c->controller_seq;

	if (a->in_snap && (have > a->snap_seq || table_applied_epoch(a->t) != a->snap_epoch))
		have = 0;
	STATS_SET(a->c, lag, want > have ? want - have : 0);
}

static ssize_t
inc_find(const struct apply *a, uint32_t vni)
{
	for (size_t i = 0; i < a->ninc; i++)
		if (a->inc[i].vni == vni)
			return (ssize_t)i;
	return -1;
}

/* The table's header keeps the homeless count across restarts (names are lost). */
static void
inc_changed(struct apply *a)
{
	table_set_homeless(a->t, a->named_homeless + a->unnamed);
	STATS_SET(a->c, vnis_incomplete, a->ninc + a->unnamed);
	a->status_gen++;
}

/*
 * The table refused a change of the VPC: it no longer holds it whole, and must not say
 * it does. Flag it (or, with no slot for it, count it as homeless) and remember it.
 */
static void
inc_mark(struct apply *a, uint32_t vni, int why)
{
	bool homeless;

	if (a->in_snap)
		a->vpc_refused = true;
	if (inc_find(a, vni) >= 0)
		return;
	homeless = table_vni_set_incomplete(a->t, vni, true) < 0;
	if (grow(&a->inc, &a->inc_cap, a->ninc, sizeof(*a->inc), 16) < 0) {
		/* Cannot name it: the whole state is asked for instead. */
		if (homeless)
			a->unnamed++;
	} else {
		a->inc[a->ninc++] = (struct inc_vpc){ .vni = vni, .homeless = homeless };
		a->named_homeless += homeless;
	}
	STATS_INC(a->c, vnis_marked_incomplete);
	inc_changed(a);
	log_warnx("VPC %u is incomplete at this gateway: the table refused a change of it "
	    "(%s; %u of %u rules held, %u VNIs of %u)%s; syncd answers RETRY for it until a "
	    "snapshot of it fits", vni, strerror(-why), table_count(a->t),
	    table_params(a->t)->capacity, table_vni_count(a->t),
	    table_params(a->t)->max_vnis, homeless ? ", no VNI slot" : "");
}

/* The VPC is held whole again (a snapshot of it fitted), or gone. */
static void
inc_clear(struct apply *a, uint32_t vni)
{
	ssize_t i = inc_find(a, vni);

	table_vni_set_incomplete(a->t, vni, false);
	if (i < 0)
		return;
	a->named_homeless -= a->inc[i].homeless;
	a->inc[i] = a->inc[--a->ninc];
	STATS_INC(a->c, vnis_completed);
	inc_changed(a);
	log_info("VPC %u is held whole again", vni);
}

/* Whether a change of vni may give a homeless VPC its slot (see inc_slotted). */
static bool
inc_may_get_slot(struct apply *a, uint32_t vni)
{
	return a->named_homeless + a->unnamed > 0 &&
	    table_vni_get(a->t, vni, &(struct table_vni_info){ 0 }) < 0;
}

/*
 * A change gave vni a slot it did not have. If it is a homeless VPC, or may be one (some
 * are not known by name), its rules refused earlier are still missing: it carries the
 * flag from now on, until a snapshot of it fits.
 */
static void
inc_slotted(struct apply *a, uint32_t vni)
{
	ssize_t i = inc_find(a, vni);

	if (table_vni_get(a->t, vni, &(struct table_vni_info){ 0 }) < 0)
		return;
	if (i >= 0 && a->inc[i].homeless) {
		a->inc[i].homeless = false;
		a->named_homeless--;
	} else if (i < 0 && a->unnamed > 0 &&
	    grow(&a->inc, &a->inc_cap, a->ninc, sizeof(*a->inc), 16) == 0) {
		a->inc[a->ninc++] = (struct inc_vpc){ .vni = vni };
	} else {
		return;
	}
	table_vni_set_incomplete(a->t, vni, true);
	inc_changed(a);
}

/* After a restart: the table's flags name the incomplete VPCs that have a slot. */
static void
inc_load(struct apply *a)
{
	uint32_t max = table_params(a->t)->max_vnis, n;
	uint32_t *vnis = malloc(max * sizeof(*vnis));
	struct table_vni_info vi;

	a->unnamed = table_homeless(a->t);
	n = vnis ? table_vnis(a->t, vnis, max) : 0;
	for (uint32_t i = 0; i < n; i++)
		if (table_vni_get(a->t, vnis[i], &vi) == 0 && (vi.flags & TABLE_VNI_INCOMPLETE) &&
		    grow(&a->inc, &a->inc_cap, a->ninc, sizeof(*a->inc), 16) == 0)
			a->inc[a->ninc++] = (struct inc_vpc){ .vni = vnis[i] };
	free(vnis);
	if (a->ninc || a->unnamed)
		log_warnx("%zu VPC(s) incomplete at this gateway, %u more without a VNI slot: "
		    "fetched again once the table has room", a->ninc, a->unnamed);
	inc_changed(a);
}

struct apply *
apply_new(struct table *t, struct vtepset *vteps, struct ring *advance,
    struct rule_store_counters *c)
{
	struct apply *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->t = t;
	a->vteps = vteps;
	a->advance = advance;
	a->c = c;
	a->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	a->want_backoff_ns = WANT_BACKOFF_MIN_NS;
	STATS_SET(c, applied_seq, table_applied_seq(t));
	STATS_SET(c, table_max_vnis, table_params(t)->max_vnis);
	apply_gauges(a);
	lag_update(a);
	inc_load(a);
	return a;
}

/* The current VPC of the snapshot is done with (or abandoned). */
static void
snap_vpc_clear(struct apply *a)
{
	ipset_clear(&a->seen);
	ipset_clear(&a->diverged);
	a->ndiv = 0;
	a->vpc_refused = false;
}

void
apply_reset(struct apply *a)
{
	if (a->in_snap)
		log_warnx("snapshot at seq %llu abandoned: the connection ended",
		    (unsigned long long)a->snap_seq);
	a->in_snap = false;
	a->part_vni = 0;
	a->want_out = false;
	a->live = false;
	snap_vpc_clear(a);
	a->nsnap_vnis = 0;
	a->nsnap_hosts = 0;
}

void
apply_free(struct apply *a)
{
	if (a == NULL)
		return;
	apply_reset(a);
	free(a->div);
	free(a->snap_vnis);
	free(a->snap_hosts);
	free(a->inc);
	free(a);
}

void
apply_gauges(struct apply *a)
{
	uint32_t used, retired;

	STATS_SET(a->c, rules, table_count(a->t));
	STATS_SET(a->c, room, table_params(a->t)->capacity - table_count(a->t));
	table_vni_slots(a->t, &used, &retired);
	STATS_SET(a->c, table_vnis, used);
	STATS_SET(a->c, table_vnis_retired, retired);
	STATS_SET(a->c, vteps, vtepset_count(a->vteps));
	STATS_SET(a->c, vteps_loaded, vtepset_loaded(a->vteps));
}

uint64_t
apply_seq(const struct apply *a)
{
	return table_applied_seq(a->t);
}

uint64_t
apply_hello(struct apply *a, uint64_t *epoch)
{
	a->hello_seq = table_applied_seq(a->t);
	*epoch = table_applied_epoch(a->t);
	return a->hello_seq;
}

static void
applied(struct apply *a, uint64_t seq)
{
	table_set_applied_seq(a->t, seq);
	if (seq > a->c->controller_seq)
		STATS_SET(a->c, controller_seq, seq);
	STATS_SET(a->c, applied_seq, seq);
	lag_update(a);
	apply_gauges(a);
}

/* Tell syncd: requests parked on this VNI may have an answer now. */
static void
announce(struct apply *a, uint32_t vni, uint32_t gen, uint64_t version)
{
	struct ev_vni_advance ev = { .vni = vni, .gen = gen, .version = version };

	if (vni_advance_ring_push(a->advance, &ev, 1) != 1)
		STATS_INC(a->c, ring_drops);
}

/*
 * A rule of a snapshot that the table refused as stale. Within one history the table
 * holds that very state (a replay) or an older one, never a newer one: a newer version,
 * or the same version in another state, is from another history of the VPC (deleted and
 * made again, or the controller's data replaced, while we were away).
 */
static bool
snap_diverged(struct apply *a, const struct wire_rule *r)
{
	struct table_rule have;
	bool tomb;

	if (!table_get(a->t, r->vni, r->ip, &have))
		return false;
	if (have.version != r->version)
		return have.version > r->version;
	tomb = have.flags & TABLE_F_TOMBSTONE;
	if (r->op == WIRE_RULE_DEL)
		return !tomb;
	return tomb || have.vtep != r->vtep || memcmp(have.mac, r->mac, 6) != 0 ||
	    !(have.flags & TABLE_F_EXTERNAL) != !(r->flags & WIRE_RULE_F_EXTERNAL);
}

static int
snap_rule(struct apply *a, const struct wire_rule *r, int rc)
{
	if (rc == TABLE_STALE && snap_diverged(a, r)) {
		if (grow(&a->div, &a->div_cap, a->ndiv, sizeof(*a->div), 256) < 0 ||
		    ipset_add(&a->diverged, r->ip) < 0)
			return -ENOMEM;
		a->div[a->ndiv++] = *r;
	}
	return ipset_add(&a->seen, r->ip) < 0 ? -ENOMEM : 0;
}

static int
apply_rule(struct apply *a, const struct wire_rule *r)
{
	struct table_rule tr = { .vni = r->vni, .ip = r->ip, .vtep = r->vtep,
	    .version = r->version };
	int rc;

	bool fresh;

	if (a->part_vni && r->vni != a->part_vni)
		return -EPROTO;		/* a one-VPC snapshot holds that VPC's rules alone */
	fresh = inc_may_get_slot(a, r->vni);
	STATS_INC(a->c, records);
	if (r->op == WIRE_RULE_SET) {
		memcpy(tr.mac, r->mac, 6);
		if (r->flags & WIRE_RULE_F_EXTERNAL)
			tr.flags = TABLE_F_EXTERNAL;
		rc = table_set(a->t, &tr);
	} else {
		rc = table_delete(a->t, r->vni, r->ip, r->version);
	}
	if (fresh && rc >= 0)
		inc_slotted(a, r->vni);
	if (rc == TABLE_STALE) {
		STATS_INC(a->c, rules_stale);
	} else if (rc < 0) {
		STATS_INC(a->c, apply_errors);
		log_warnx_rl(&a->rl, "table refused the rule of VNI %u seq %llu: %s (capacity "
		    "%u)", r->vni, (unsigned long long)r->seq, strerror(-rc),
		    table_params(a->t)->capacity);
		inc_mark(a, r->vni, rc);
	} else if (r->op == WIRE_RULE_SET) {
		STATS_INC(a->c, rules_set);
	} else {
		STATS_INC(a->c, rules_deleted);
	}
	if (a->in_snap)
		return snap_rule(a, r, rc);
	applied(a, r->seq);
	return 0;
}

/*
 * The table's VPC is from another history than the snapshot's, so some of its rules are
 * at versions above the snapshot's, and the table never goes back. Flush it and set its
 * rules again: the ones the snapshot sent and the table holds as sent, and the
 * snapshot's state of the others. Readers miss the VPC meanwhile, as they would have
 * missed its rules had it been deleted: better than forwarding to another history.
 */
static int
snap_vpc_rebuild(struct apply *a, const struct wire_vpc *v)
{
	struct table_rule *keep = NULL;
	size_t nkeep = 0, cap = 0;
	int rc;

	/* By IP, not by a change walk: that stops at the VPC's version before the snapshot. */
	for (uint32_t i = 0; a->seen.slot && i <= a->seen.mask; i++) {
		uint32_t ip = a->seen.slot[i] - 1;

		if (a->seen.slot[i] == 0 || ipset_has(&a->diverged, ip))
			continue;
		if (grow(&keep, &cap, nkeep, sizeof(*keep), 256) < 0) {
			free(keep);
			return -ENOMEM;
		}
		if (table_lookup(a->t, v->vni, ip, &keep[nkeep]))
			nkeep++;
	}
	for (size_t i = 0; i < a->ndiv; i++) {
		const struct wire_rule *r = &a->div[i];

		if (r->op != WIRE_RULE_SET)
			continue;
		if (grow(&keep, &cap, nkeep, sizeof(*keep), 256) < 0) {
			free(keep);
			return -ENOMEM;
		}
		keep[nkeep] = (struct table_rule){ .vni = r->vni, .ip = r->ip, .vtep = r->vtep,
		    .version = r->version,
		    .flags = r->flags & WIRE_RULE_F_EXTERNAL ? TABLE_F_EXTERNAL : 0 };
		memcpy(keep[nkeep++].mac, r->mac, 6);
	}
	log_warnx_rl(&a->rl, "VPC %u: the table held another history of it (made again, or "
	    "the controller's data replaced); rebuilt from the snapshot, %zu rules", v->vni,
	    nkeep);
	table_vni_flush(a->t, v->vni, v->gen);
	for (size_t i = 0; i < nkeep; i++)
		if ((rc = table_set(a->t, &keep[i])) < 0) {
			STATS_INC(a->c, apply_errors);
			log_warnx_rl(&a->rl, "table refused a rule of VNI %u: %s", v->vni,
			    strerror(-rc));
			inc_mark(a, v->vni, rc);
		}
	free(keep);
	STATS_INC(a->c, vnis_rebuilt);
	return 0;
}

/* snap_vpc_done's walk: the rules the table holds that the snapshot did not send. */
struct unseen {
	struct apply *a;
	uint64_t del_version;
	uint32_t *gone;
	size_t ngone, cap;
	bool rebuild;
};

static int
unseen_rule(const struct table_rule *r, void *arg)
{
	struct unseen *u = arg;

	if ((r->flags & TABLE_F_TOMBSTONE) || ipset_has(&u->a->seen, r->ip))
		return 0;
	if (grow(&u->gone, &u->cap, u->ngone, sizeof(*u->gone), 256) < 0)
		return -ENOMEM;
	u->gone[u->ngone++] = r->ip;
	u->rebuild |= r->version >= u->del_version;
	return 0;
}

/*
 * The snapshot's rules of a VPC are all in: what the table still holds beyond them was
 * deleted while we were away and its tombstone is gone from the log. Delete it at the
 * VPC's version (it is older, in one history), then restart the VPC's history there.
 * The walk takes every entry, those above the table's version for the VPC too: a
 * commit whose rules were applied but whose VPC ADVANCE never came (the connection
 * lost between them) left rules there, and one the controller deleted since is gone.
 */
static int
snap_vpc_done(struct apply *a, const struct wire_vpc *v)
{
	struct unseen u = { .a = a, .del_version = v->version ? v->version : 1,
	    .rebuild = a->ndiv > 0 };
	uint32_t *gone;
	size_t ngone;
	int rc;

	/* None when the table never had the VPC. */
	rc = table_vni_foreach(a->t, v->vni, unseen_rule, &u);
	gone = u.gone;
	ngone = u.ngone;
	if (rc < 0 && rc != -ENOENT) {
		free(gone);
		return rc;
	}
	if (u.rebuild) {
		if ((rc = snap_vpc_rebuild(a, v)) < 0) {
			free(gone);
			return rc;
		}
	} else {
		for (size_t i = 0; i < ngone; i++)
			table_delete(a->t, v->vni, gone[i], u.del_version);
	}
	STATS_ADD(a->c, snapshot_drops, ngone);
	free(gone);
	if ((rc = table_vni_rebase(a->t, v->vni, v->gen, v->version)) < 0) {
		inc_mark(a, v->vni, rc);
	} else if (!a->vpc_refused) {
		inc_clear(a, v->vni);	/* every rule of the VPC is in */
	} else {
		ssize_t i = inc_find(a, v->vni);

		/* It has a slot now, and the flag with it: the rest can wait for room. */
		if (i >= 0 && a->inc[i].homeless) {
			a->inc[i].homeless = false;
			a->named_homeless--;
			table_vni_set_incomplete(a->t, v->vni, true);
			inc_changed(a);
		}
	}
	snap_vpc_clear(a);
	STATS_INC(a->c, vnis_rebased);
	announce(a, v->vni, v->gen, v->version);
	if (grow(&a->snap_vnis, &a->snap_vnis_cap, a->nsnap_vnis, sizeof(*a->snap_vnis),
	    256) < 0)
		return -ENOMEM;
	a->snap_vnis[a->nsnap_vnis++] = v->vni;
	return 0;
}

/*
 * The controller deleted the VPC: its rules, tombstones and state go, and its VNI slot
 * is given back (once syncd and the forwarder can no longer be reading it), so VPCs
 * made and deleted over time never use up table_max_vnis. Learners asking about it
 * hear UNKNOWN and flush it.
 */
static void
vpc_drop(struct apply *a, uint32_t vni, uint32_t gen)
{
	if (table_vni_drop(a->t, vni) == TABLE_APPLIED)
		STATS_INC(a->c, vnis_flushed);
	announce(a, vni, gen, 0);
}

/*
 * A VPC's snapshot (a WANT's answer) is whole. Without the VPC in it, the VPC was
 * deleted meanwhile. The log goes on from where it was: the snapshot is at the seq
 * this table has applied (the controller sends it when the stream is caught up).
 */
static void
part_end(struct apply *a)
{
	struct table_vni_info vi;
	uint32_t vni = a->part_vni;

	if (a->nsnap_vnis == 0) {
		inc_clear(a, vni);
		if (table_vni_get(a->t, vni, &vi) == 0)
			vpc_drop(a, vni, vi.gen);
	}
	a->in_snap = false;
	a->part_vni = 0;
	a->nsnap_vnis = 0;
	a->want_out = false;
	STATS_INC(a->c, vpc_snapshot_loads);
	if (inc_find(a, vni) >= 0) {
		/* Still no room for all of it: wait longer before asking again. */
		a->want_backoff_ns = a->want_backoff_ns * 2 > WANT_BACKOFF_MAX_NS ?
		    WANT_BACKOFF_MAX_NS : a->want_backoff_ns * 2;
	} else {
		a->want_backoff_ns = WANT_BACKOFF_MIN_NS;
	}
}

static void
vteps_full(struct apply *a)
{
	STATS_INC(a->c, vteps_full);
	log_warnx_rl(&a->rl, "VTEP list full (%u): a host's VTEP is refused, its VXLAN "
	    "dropped", vtepset_max(a->vteps));
}

/*
 * A host's VTEP: into the list at once outside a snapshot; in a whole snapshot, kept
 * until its end, which replaces the list (a one-VPC snapshot has none).
 */
static int
apply_host(struct apply *a, const struct wire_host *h)
{
	if (a->in_snap) {
		if (a->part_vni || h->op != WIRE_HOST_ADD || h->seq != a->snap_seq)
			return -EPROTO;
		if (grow(&a->snap_hosts, &a->snap_hosts_cap, a->nsnap_hosts,
		    sizeof(*a->snap_hosts), 64) < 0)
			return -ENOMEM;
		a->snap_hosts[a->nsnap_hosts++] = h->vtep;
		STATS_INC(a->c, records);
		return 0;
	}
	if (h->op == WIRE_HOST_ADD && vtepset_add(a->vteps, h->vtep) == -ENOSPC)
		vteps_full(a);
	else if (h->op == WIRE_HOST_DEL)
		vtepset_del(a->vteps, h->vtep);
	STATS_INC(a->c, hosts_changed);
	STATS_INC(a->c, records);
	applied(a, h->seq);
	return 0;
}

/* The snapshot is whole: VPCs it did not hold were deleted meanwhile. */
static void
snap_end(struct apply *a, uint64_t seq)
{
	uint32_t max = table_params(a->t)->max_vnis;
	uint32_t *vnis = malloc(max * sizeof(*vnis));
	uint32_t n = vnis ? table_vnis(a->t, vnis, max) : 0;

	for (uint32_t i = 0; i < n; i++) {
		struct table_vni_info vi;
		bool held = false;

		for (size_t j = 0; j < a->nsnap_vnis && !held; j++)
			held = a->snap_vnis[j] == vnis[i];
		if (held || table_vni_get(a->t, vnis[i], &vi) < 0)
			continue;
		inc_clear(a, vnis[i]);
		vpc_drop(a, vnis[i], vi.gen);
	}
	free(vnis);
	/*
	 * Incomplete VPCs it did not hold are gone. Every VPC was in it, so the homeless
	 * ones without a name were too: those still without a slot are named now.
	 */
	for (size_t i = 0; i < a->ninc;) {
		bool held = false;

		for (size_t j = 0; j < a->nsnap_vnis && !held; j++)
			held = a->snap_vnis[j] == a->inc[i].vni;
		if (held) {
			i++;
			continue;
		}
		inc_clear(a, a->inc[i].vni);
	}
	a->unnamed = 0;
	inc_changed(a);
	/* The snapshot named every host: the list is whole, at the snapshot's seq. */
	if (vtepset_replace(a->vteps, a->snap_hosts, a->nsnap_hosts) == -ENOSPC)
		vteps_full(a);
	vtepset_set_loaded(a->vteps);
	a->in_snap = false;
	a->nsnap_vnis = 0;
	a->nsnap_hosts = 0;
	a->want_out = false;
	/* The seq first: a restart between the two finds the epoch 0, and asks again. */
	applied(a, seq);
	table_set_applied_epoch(a->t, a->snap_epoch);
	STATS_INC(a->c, snapshot_loads);
	log_info("snapshot at seq %llu of epoch %016llx loaded: %u rules",
	    (unsigned long long)seq, (unsigned long long)a->snap_epoch, table_count(a->t));
}

static int
apply_vpc(struct apply *a, const struct wire_vpc *v)
{
	struct table_vni_info vi;
	bool fresh;
	int rc;

	switch (v->op) {
	case WIRE_VPC_ADVANCE:
		if (a->in_snap)
			return -EPROTO;
		fresh = inc_may_get_slot(a, v->vni);
		/* A new generation with the same rules re-sent: keep them, restart history. */
		if (table_vni_get(a->t, v->vni, &vi) == 0 && vi.gen != 0 && vi.gen != v->gen) {
			rc = table_vni_rebase(a->t, v->vni, v->gen, v->version);
			STATS_INC(a->c, vnis_rebased);
		} else {
			rc = table_vni_advance(a->t, v->vni, v->gen, v->version);
			STATS_INC(a->c, vnis_advanced);
		}
		if (rc < 0)
			inc_mark(a, v->vni, rc);
		else if (fresh)
			inc_slotted(a, v->vni);
		announce(a, v->vni, v->gen, v->version);
		break;
	case WIRE_VPC_DELETE:
		if (a->in_snap)
			return -EPROTO;
		inc_clear(a, v->vni);
		vpc_drop(a, v->vni, v->gen);
		break;
	case WIRE_VPC_SNAPSHOT:
		if (!a->in_snap || (a->part_vni && v->vni != a->part_vni))
			return -EPROTO;
		STATS_INC(a->c, records);
		return snap_vpc_done(a, v);
	default:
		return -EPROTO;
	}
	STATS_INC(a->c, records);
	applied(a, v->seq);
	return 0;
}

/*
 * A whole snapshot begins. Of another history than the table's seq (the controller's
 * data restored or replaced), the table's (seq, epoch) would name a state the table no
 * longer holds once the snapshot changes it: the epoch is not known until its end.
 */
static void
snap_history(struct apply *a, uint64_t epoch)
{
	uint64_t had = table_applied_epoch(a->t);

	if (had == epoch)
		return;
	if (had != 0 || table_applied_seq(a->t) != 0) {
		char of[32] = "no known epoch";

		if (had)
			snprintf(of, sizeof(of), "epoch %016llx", (unsigned long long)had);
		STATS_INC(a->c, epoch_changes);
		log_warnx("the controller's history is epoch %016llx, the table's seq %llu is of "
		    "%s: loading the snapshot over it", (unsigned long long)epoch,
		    (unsigned long long)table_applied_seq(a->t), of);
	}
	table_set_applied_epoch(a->t, 0);
}

int
apply_msg(struct apply *a, const struct wire_msg *m)
{
	/* On the log, after a HELLO: the controller holds us in step from here on. */
	if (!a->live && !a->in_snap && (m->type == WIRE_RULE || m->type == WIRE_VPC ||
	    m->type == WIRE_HOST || m->type == WIRE_HEARTBEAT)) {
		a->live = true;
		/* Asked from 0 and no snapshot: the log from seq 1 names every host. */
		if (a->hello_seq == 0 && !vtepset_loaded(a->vteps)) {
			vtepset_set_loaded(a->vteps);
			apply_gauges(a);
		}
	}
	switch (m->type) {
	case WIRE_HOST:
		return apply_host(a, &m->u.host);
	case WIRE_RULE:
		return apply_rule(a, &m->u.rule);
	case WIRE_VPC:
		return apply_vpc(a, &m->u.vpc);
	case WIRE_SNAP_BEGIN:
		if (a->in_snap)
			return -EPROTO;
		log_info("loading a snapshot at seq %llu of epoch %016llx (%llu records)",
		    (unsigned long long)m->u.snap.seq, (unsigned long long)m->u.snap.epoch,
		    (unsigned long long)m->u.snap.count);
		snap_history(a, m->u.snap.epoch);
		a->in_snap = true;
		a->snap_seq = m->u.snap.seq;
		a->snap_epoch = m->u.snap.epoch;
		a->nsnap_vnis = 0;
		a->nsnap_hosts = 0;
		snap_vpc_clear(a);
		/* The state at this seq is the controller's newest (it may be below ours). */
		STATS_SET(a->c, controller_seq, a->snap_seq);
		lag_update(a);
		return 0;
	case WIRE_PART_BEGIN:
		/*
		 * Only ever the answer to our WANT, sent where the log stream was caught up:
		 * at our seq, of our history.
		 */
		if (a->in_snap || m->u.part.seq != table_applied_seq(a->t) ||
		    m->u.part.epoch != table_applied_epoch(a->t))
			return -EPROTO;
		log_info("loading a snapshot of VPC %u at seq %llu (%llu records)",
		    m->u.part.vni, (unsigned long long)m->u.part.seq,
		    (unsigned long long)m->u.part.count);
		a->in_snap = true;
		a->part_vni = m->u.part.vni;
		a->snap_seq = m->u.part.seq;
		a->snap_epoch = m->u.part.epoch;
		a->nsnap_vnis = 0;
		snap_vpc_clear(a);
		return 0;
	case WIRE_SNAP_END:
		if (!a->in_snap || m->u.snap.seq != a->snap_seq)
			return -EPROTO;
		if (a->part_vni)
			part_end(a);
		else
			snap_end(a, m->u.snap.seq);
		return 0;
	case WIRE_HEARTBEAT:
		STATS_INC(a->c, heartbeats);
		STATS_SET(a->c, controller_seq, m->u.heartbeat_seq);
		lag_update(a);
		return 0;
	default:
		return -EPROTO;
	}
}

/* Room for one more rule, and for one more VNI when a VPC has no slot. */
static bool
want_room(struct apply *a, bool need_slot)
{
	const struct table_params *p = table_params(a->t);

	if (table_count(a->t) >= p->capacity)
		return false;
	return !need_slot || table_vni_count(a->t) < p->max_vnis;
}

int
apply_want(struct apply *a, uint64_t now_ns, uint32_t *vni)
{
	if (a->in_snap || a->want_out || now_ns < a->want_at_ns)
		return 0;
	if (!vtepset_loaded(a->vteps) && a->live) {
		/*
		 * A table resumed from the log (made before the VTEP list was) or a log that
		 * began empty: only the whole state names every host.
		 */
		*vni = 0;
		a->want_out = true;
		a->want_at_ns = now_ns + a->want_backoff_ns;
		STATS_INC(a->c, wants_sent);
		log_info("the VTEP list is not loaded: asking for a snapshot of every VPC");
		return 1;
	}
	if (a->ninc == 0 && a->unnamed == 0)
		return 0;
	if (a->unnamed > 0) {
		/*
		 * A VPC without a slot is not known by name: only the whole state tells
		 * (and names what still finds no slot in it; a new VPC may have taken it).
		 */
		if (!want_room(a, false))
			return 0;
		*vni = 0;
	} else {
		const struct inc_vpc *pick = &a->inc[a->next_want++ % a->ninc];

		if (!want_room(a, pick->homeless))
			return 0;
		*vni = pick->vni;
	}
	a->want_out = true;
	a->want_at_ns = now_ns + a->want_backoff_ns;
	STATS_INC(a->c, wants_sent);
	if (*vni)
		log_info("the table has room again: asking for a snapshot of VPC %u", *vni);
	else
		log_info("the table has room again: asking for a snapshot of every VPC");
	return 1;
}

void
apply_status(struct apply *a, struct wire_status *st)
{
	const struct table_params *p = table_params(a->t);

	*st = (struct wire_status){ .applied_seq = table_applied_seq(a->t),
	    .capacity = p->capacity, .used = table_count(a->t),
	    .max_vnis = p->max_vnis, .vnis = table_vni_count(a->t) };
	st->tombs = st->used - table_live(a->t);
	for (size_t i = 0; i < a->ninc && st->nlisted < WIRE_STATUS_VNIS; i++)
		st->vni[st->nlisted++] = a->inc[i].vni;
	st->incomplete = (uint32_t)a->ninc + a->unnamed;
	if (st->vnis > st->max_vnis)
		st->vnis = st->max_vnis;
}

uint64_t
apply_status_gen(const struct apply *a)
{
	return a->status_gen;
}
