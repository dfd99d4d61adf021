/*
 * table_maint: the rule table's upkeep, all on the writer's side: dropping tombstones
 * that no valid version needs, evicting unused rules from a host cache, rebuilding the
 * writer's state after the writer was killed, and checking every invariant.
 *
 * Recovery relies on one property of every change the writer makes: each step that
 * readers can see is a single store that leaves the hash chains and the VNI lists
 * well formed. So after a crash the hash chains are the truth, a list entry that is
 * not in them is a change left half-done, and everything else (free list, limbo,
 * counts, tombstone FIFOs, history starts) can be derived again.
 */
#include "shm/table_layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define IN_HASH		0x1
#define LISTED		0x2

void
table_vni_purge_tombs(struct table *t, struct vni_state *v, uint64_t upto)
{
	struct table_hdr *h = t->h;
	uint32_t e;

	while ((e = v->tomb_head) != NIL && t->hot[e].version <= upto) {
		struct entry_hot *x = &t->hot[e];

		v->tomb_head = t->cold[e].aux;
		if (v->tomb_head == NIL)
			v->tomb_tail = NIL;
		if (!(x->flags & TABLE_F_RETIRED)) {
			/* Still the current state of its key: take it out first. */
			table_unlink_hash(t, x->vni, x->ip, e);
			table_vni_list_unlink(t, v, e);
			__atomic_or_fetch(&x->flags, TABLE_F_RETIRED, __ATOMIC_RELAXED);
			h->count--;
			h->tombs--;
			__atomic_store_n(&v->tombs, v->tombs - 1, __ATOMIC_RELAXED);
		}
		table_retire(t, e);
		TCOUNT(t, tombs_purged, 1);
	}
}

/*
 * A host list is in eviction order: each entry joined it (installed, or moved to the
 * tail by a pass below) with `queued` = its use stamp then, and a change keeps the
 * entry's place. Readers raise use stamps but cannot move entries, so this is a second
 * chance (CLOCK) approximation of least recently used: the head is the entry with the
 * oldest use known when it was queued. If it was not used since (use <= max_age ago),
 * it goes. If it was, recently, it is kept and queued again at the tail with its new
 * stamp. If it was queued with a recent stamp, so was nearly everything behind it:
 * the VNI's pass ends, and no rule in use is moved more than once per max_age.
 *
 * So a rule used within max_age is never evicted, and the rules that go are the
 * unused, oldest queued first. Entries queued out of stamp order (a kept rule's stamp
 * is older than a rule installed just before it) are reached late: a rule unused for
 * max_age goes at the latest max_age later.
 */
uint32_t
table_evict(struct table *t, uint32_t max_rules, uint64_t max_age_s, uint32_t budget,
    uint32_t *keptp)
{
	struct table_hdr *h = t->h;
	uint32_t now = table_now_s(t), n = 0, kept = 0, old, i;

	if (keptp != NULL)
		*keptp = 0;
	/*
	 * A full table refuses every new rule, and a cap it cannot pass would never start
	 * eviction (the learner's cache_max_rules at or past its table_capacity, 500000
	 * both by default): the cache kept the rules it learned first, and new flows stayed
	 * on the gateway path for good. So the cap is never nearer the capacity than 1/16
	 * of it, room for what is learned between two passes.
	 */
	if (max_rules > TABLE_EVICT_ROOM(h->params.capacity))
		max_rules = TABLE_EVICT_ROOM(h->params.capacity);
	/* Gateway lists carry tombstones in FIFOs and must keep every rule. */
	if (h->params.mode != TABLE_HOST || h->count <= max_rules || h->vni_fresh == 0 ||
	    now < max_age_s)
		return 0;
	old = now - (uint32_t)max_age_s;	/* used at or before it: unused for max_age */
	for (i = 0; i < h->vni_fresh && h->count > max_rules && n + kept < budget; i++) {
		struct vni_state *v = vni_at(t, (h->evict_cursor + i) % h->vni_fresh);
		uint32_t e, used;

		if (!v->in_use)
			continue;	/* a dropped VNI's slot: nothing listed */
		while (h->count > max_rules && n + kept < budget && (e = v->head) != NIL) {
			/* A reader's clock never leads ours: a later stamp is not believed. */
			if ((used = use_load(t, e)) > now)
				used = now;
			if (used > old) {
				if (t->cold[e].queued > old)
					break;
				/* Used since it was queued, recently: to the back. */
				if (table_requeue(t, v, e, used) == NIL) {
					TCOUNT(t, evict_no_entry, 1);
					break;
				}
				kept++;
				continue;
			}
			table_unlink_hash(t, t->hot[e].vni, t->hot[e].ip, e);
			table_vni_list_unlink(t, v, e);
			__atomic_or_fetch(&t->hot[e].flags, TABLE_F_RETIRED, __ATOMIC_RELAXED);
			table_retire(t, e);
			h->count--;
			__atomic_store_n(&v->live, v->live - 1, __ATOMIC_RELAXED);
			n++;
		}
	}
	/* The next pass starts where this one stopped, so no VNI is always first. */
	h->evict_cursor = (h->evict_cursor + i) % h->vni_fresh;
	TCOUNT(t, evicted, n);
	TCOUNT(t, evict_kept, kept);
	if (keptp != NULL)
		*keptp = kept;
	return n;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EUCLEAN;
}

/* Entry e is held (hashed and listed) by VNI state v: count it. */
static void
recover_count(struct table *t, struct vni_state *v, uint32_t e)
{
	if (t->hot[e].flags & TABLE_F_TOMBSTONE) {
		v->tombs++;
		t->h->tombs++;
		if (t->h->params.mode == TABLE_GATEWAY)
			vni_tomb_push(t, v, e);
	} else {
		v->live++;
	}
	t->h->count++;
}

/*
 * One walk of a VNI's list: unlink what the hash no longer holds, relink prev and
 * tail, count, rebuild the tombstone FIFO (list order is version order) and point
 * each history slot at the first entry at or after its version.
 */
static int
recover_list(struct table *t, struct vni_state *v, uint8_t *mark, char *err, size_t errlen)
{
	bool gw = t->h->params.mode == TABLE_GATEWAY;
	uint32_t *pp = &v->head, p = NIL, e, fresh = t->h->fresh;
	struct vni_meta m;
	uint64_t k;

	table_vni_meta_read(v, &m);
	k = m.hist_n > t->h->params.version_window ? m.hist_n - t->h->params.version_window : 0;
	v->tomb_head = v->tomb_tail = NIL;
	v->live = v->tombs = 0;
	while ((e = *pp) != NIL) {
		if (e >= fresh || (mark[e] & LISTED))
			return fail(err, errlen, "%s/%s: list of VNI %u is corrupt at entry %u; "
			    "remove the table to rebuild it", SEG_DIR, t->seg.name, v->vni, e);
		if (!(mark[e] & IN_HASH) || t->hot[e].vni != v->vni) {
			store_idx(pp, t->cold[e].lnext);	/* a half-done change */
			continue;
		}
		mark[e] |= LISTED;
		t->cold[e].prev = p;
		recover_count(t, v, e);
		for (; gw && k < m.hist_n && v->hist[k & t->hist_mask].version <= t->hot[e].version;
		    k++)
			store_idx(&v->hist[k & t->hist_mask].start, e);
		p = e;
		pp = &t->cold[e].lnext;
	}
	for (; gw && k < m.hist_n; k++)
		store_idx(&v->hist[k & t->hist_mask].start, NIL);
	v->tail = p;
	return 0;
}

/*
 * The directory is the truth about VNI slots: a slot it points at is live; any other
 * slot ever used is free, in limbo, or was being made or dropped when the writer died.
 * A reader may have found it before it left the directory, so each goes through the
 * slot limbo once.
 */
static int
recover_slots(struct table *t, char *err, size_t errlen)
{
	struct table_hdr *h = t->h;
	uint8_t *live;

	if ((live = calloc(h->params.max_vnis, 1)) == NULL)
		return fail(err, errlen, "table recovery: out of memory");
	h->vnis = 0;
	for (uint32_t i = 0; i <= t->dir_mask; i++) {
		uint64_t w = t->dir[i];
		uint32_t s = (uint32_t)w;

		if (w == 0 || w == DIR_DEAD)
			continue;
		if ((w >> 32) == 0 || s >= h->vni_fresh || live[s] ||
		    vni_at(t, s)->vni != (uint32_t)(w >> 32) - 1) {
			free(live);
			return fail(err, errlen, "%s/%s: VNI directory is corrupt at word %u; "
			    "remove the table to rebuild it", SEG_DIR, t->seg.name, i);
		}
		live[s] = 1;
		vni_at(t, s)->in_use = 1;
		h->vnis++;
	}
	h->vni_free = h->vni_limbo_head = h->vni_limbo_tail = VSLOT_NONE;
	h->vni_free_n = h->vni_limbo_n = 0;
	for (uint32_t s = 0; s < h->vni_fresh; s++)
		if (!live[s])
			table_vni_slot_retire(t, s);
	free(live);
	if (h->evict_cursor >= h->vni_fresh)
		h->evict_cursor = 0;
	return 0;
}

int
table_recover(struct table *t, char *err, size_t errlen)
{
	struct table_hdr *h = t->h;
	uint32_t pool = h->pool, fresh = h->fresh;
	uint8_t *mark;
	int r = 0;

	if (fresh < 1 || fresh > pool + 1 || h->vni_fresh > h->params.max_vnis)
		return fail(err, errlen, "%s/%s: writer state out of range", SEG_DIR,
		    t->seg.name);
	if ((r = recover_slots(t, err, errlen)) < 0)
		return r;
	if ((mark = calloc(pool + 1, 1)) == NULL)
		return fail(err, errlen, "table recovery: out of memory");

	/* 1. The hash chains are the truth. */
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		if (b + 16 < t->nbuckets)
			__builtin_prefetch(&t->hot[t->buckets[b + 16]]);
		for (uint32_t e = t->buckets[b]; e != NIL; e = t->hot[e].next) {
			struct entry_hot *x = &t->hot[e];

			if (e >= fresh || (mark[e] & IN_HASH) ||
			    table_bucket_of(t, x->vni, x->ip) != b ||
			    table_vni_find(t, x->vni, NULL) == NULL) {
				r = fail(err, errlen, "%s/%s: bucket %u is corrupt at entry %u; "
				    "remove the table to rebuild it", SEG_DIR, t->seg.name, b, e);
				goto out;
			}
			mark[e] |= IN_HASH;
		}
	}
	/* 2. Each VNI's list, in one walk. */
	h->count = h->tombs = 0;
	for (uint32_t s = 0; s < h->vni_fresh; s++)
		if (vni_at(t, s)->in_use &&
		    (r = recover_list(t, vni_at(t, s), mark, err, errlen)) < 0)
			goto out;
	/*
	 * 3. Hashed but in no list: the second half of an interrupted change. Neither
	 * hashed nor listed: waits one grace period, since a reader may stand on it.
	 */
	h->free_head = NIL;
	h->free_count = 0;
	h->limbo_count = 0;
	h->limbo_first = 0;
	h->limbo_n = 0;
	for (uint32_t e = 1; e < fresh; e++) {
		if (mark[e] & LISTED)
			continue;
		if (mark[e] & IN_HASH) {
			struct vni_state *v = table_vni_find(t, t->hot[e].vni, NULL);

			table_vni_list_insert(t, v, e);
			recover_count(t, v, e);
		} else {
			__atomic_or_fetch(&t->hot[e].flags, TABLE_F_RETIRED, __ATOMIC_RELAXED);
			table_retire(t, e);
		}
	}
out:
	free(mark);
	return r;
}

/* In the checks: record the first violation and leave through `out`. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			r = fail(err, errlen, __VA_ARGS__);		\
			goto out;					\
		}							\
	} while (0)

/*
 * Every VNI slot ever used is exactly one of: in the directory (in_use), in the slot
 * limbo, or free; the limbo in epoch order.
 */
static int
check_slots(struct table *t, char *err, size_t errlen)
{
	struct table_hdr *h = t->h;
	uint32_t n = 0, dir_live = 0, s;
	uint64_t last = 0;
	uint8_t *seen;
	int r = 0;

	if (h->vni_fresh > h->params.max_vnis)
		return fail(err, errlen, "vni_fresh %u > max_vnis", h->vni_fresh);
	if ((seen = calloc(h->vni_fresh + 1, 1)) == NULL)
		return fail(err, errlen, "table check: out of memory");
	for (uint32_t i = 0; i <= t->dir_mask; i++) {
		uint64_t w = t->dir[i];

		if (w == 0 || w == DIR_DEAD)
			continue;
		s = (uint32_t)w;
		CHECK(s < h->vni_fresh && !seen[s], "directory word %u: bad slot %u", i, s);
		CHECK(vni_at(t, s)->in_use && vni_at(t, s)->vni == (uint32_t)(w >> 32) - 1,
		    "directory word %u: slot %u holds VNI %u", i, s, vni_at(t, s)->vni);
		seen[s] = 1;
		dir_live++;
	}
	CHECK(dir_live == h->vnis, "%u VNIs in the directory, vnis %u", dir_live, h->vnis);
	for (s = h->vni_limbo_head, n = 0; n < h->vni_limbo_n; s = vni_at(t, s)->link, n++) {
		CHECK(s < h->vni_fresh && !seen[s] && !vni_at(t, s)->in_use,
		    "slot limbo holds bad slot %u", s);
		CHECK(vni_at(t, s)->retired >= last, "slot limbo out of epoch order at %u", s);
		last = vni_at(t, s)->retired;
		seen[s] = 2;
	}
	for (s = h->vni_free, n = 0; s != VSLOT_NONE; s = vni_at(t, s)->link, n++) {
		CHECK(s < h->vni_fresh && !seen[s] && !vni_at(t, s)->in_use,
		    "slot free list holds bad slot %u", s);
		seen[s] = 3;
	}
	CHECK(n == h->vni_free_n, "%u free slots listed, vni_free_n %u", n, h->vni_free_n);
	CHECK(h->vnis + h->vni_limbo_n + h->vni_free_n == h->vni_fresh,
	    "VNI slots lost: %u live + %u limbo + %u free != %u used", h->vnis,
	    h->vni_limbo_n, h->vni_free_n, h->vni_fresh);
out:
	free(seen);
	return r;
}

int
table_check(struct table *t, char *err, size_t errlen)
{
	struct table_hdr *h = t->h;
	uint32_t pool = h->pool, fresh = h->fresh, in_hash = 0, tombs = 0, listed = 0;
	uint32_t fifo_retired = 0, n, now = table_now_s(t);
	uint8_t *mark;
	int r = 0;

	if ((mark = calloc(pool + 1, 1)) == NULL)
		return fail(err, errlen, "table check: out of memory");
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		for (uint32_t e = t->buckets[b]; e != NIL; e = t->hot[e].next) {
			struct entry_hot *x = &t->hot[e];
			struct table_rule rr;

			CHECK(e < fresh && !(mark[e] & IN_HASH), "bucket %u: bad entry %u", b, e);
			CHECK(table_bucket_of(t, x->vni, x->ip) == b,
			    "entry %u in the wrong bucket", e);
			CHECK(!(x->flags & TABLE_F_RETIRED), "retired entry %u is hashed", e);
			CHECK(table_get(t, x->vni, x->ip, &rr) && rr.version == x->version,
			    "key of entry %u is hashed twice", e);
			mark[e] |= IN_HASH;
			in_hash++;
			tombs += (x->flags & TABLE_F_TOMBSTONE) != 0;
		}
	}
	CHECK(in_hash == h->count, "count %u but %u hashed", h->count, in_hash);
	CHECK(tombs == h->tombs, "tombs %u but %u hashed", h->tombs, tombs);
	if ((r = check_slots(t, err, errlen)) < 0)
		goto out;
	for (uint32_t s = 0; s < h->vni_fresh; s++) {
		struct vni_state *v = vni_at(t, s);
		uint32_t p = NIL, live = 0, vt = 0;
		struct vni_meta m;

		if (!v->in_use)
			continue;
		CHECK(table_vni_find(t, v->vni, NULL) == v, "VNI %u not in the directory", v->vni);
		for (uint32_t e = v->head; e != NIL; e = t->cold[e].lnext) {
			CHECK(e < fresh && (mark[e] & (IN_HASH | LISTED)) == IN_HASH,
			    "VNI %u lists entry %u that is not hashed or listed twice", v->vni, e);
			CHECK(t->hot[e].vni == v->vni, "VNI %u lists entry %u of VNI %u", v->vni,
			    e, t->hot[e].vni);
			CHECK(t->cold[e].prev == p, "entry %u: prev %u, expected %u", e,
			    t->cold[e].prev, p);
			CHECK(h->params.mode != TABLE_HOST || t->cold[e].queued <= now,
			    "VNI %u: entry %u queued at %u, after now (%u)", v->vni, e,
			    t->cold[e].queued, now);
			if (h->params.mode == TABLE_GATEWAY && p != NIL)
				CHECK(t->hot[p].version < t->hot[e].version ||
				    (t->hot[p].version == t->hot[e].version &&
				    t->hot[p].ip < t->hot[e].ip),
				    "VNI %u: list out of version order at entry %u", v->vni, e);
			mark[e] |= LISTED;
			listed++;
			if (t->hot[e].flags & TABLE_F_TOMBSTONE)
				vt++;
			else
				live++;
			p = e;
		}
		CHECK(v->tail == p, "VNI %u: tail %u, expected %u", v->vni, v->tail, p);
		CHECK(v->live == live && v->tombs == vt, "VNI %u: counts %u/%u, listed %u/%u",
		    v->vni, v->live, v->tombs, live, vt);
		n = 0;
		for (uint32_t e = v->tomb_head; e != NIL; e = t->cold[e].aux) {
			CHECK(t->hot[e].flags & TABLE_F_TOMBSTONE, "FIFO of VNI %u holds a rule",
			    v->vni);
			if (t->hot[e].flags & TABLE_F_RETIRED)
				fifo_retired++;
			else
				n++;
		}
		CHECK(h->params.mode != TABLE_GATEWAY || n == vt,
		    "VNI %u: %u tombstones, %u in the FIFO", v->vni, vt, n);
		table_vni_meta_read(v, &m);
		if (h->params.mode == TABLE_GATEWAY) {
			uint64_t k = m.hist_n > h->params.version_window ?
			    m.hist_n - h->params.version_window : 0;
			uint32_t e = v->head;

			for (uint64_t prev = 0; k < m.hist_n; k++) {
				struct hist_slot *hs = &v->hist[k & t->hist_mask];

				CHECK(hs->version > prev, "VNI %u: history not increasing", v->vni);
				prev = hs->version;
				while (e != NIL && t->hot[e].version < hs->version)
					e = t->cold[e].lnext;
				CHECK(hs->start == e, "VNI %u: version %" PRIu64 " starts at %u, "
				    "expected %u", v->vni, hs->version, hs->start, e);
			}
		}
	}
	CHECK(listed == in_hash, "%u listed, %u hashed", listed, in_hash);
	CHECK(h->count + h->free_count + h->limbo_count + fifo_retired + (pool + 1 - fresh) ==
	    pool, "entries lost: %u held + %u free + %u limbo + %u old tombstones + %u "
	    "unused != %u", h->count, h->free_count, h->limbo_count, fifo_retired,
	    pool + 1 - fresh, pool);
out:
	free(mark);
	return r;
}
