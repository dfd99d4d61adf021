/*
 * table_vni: per-VNI state of the rule table: the directory from VNI to state, the
 * published (generation, version) pair, the history of recent versions with the first
 * entry of each, the version-ordered entry list, and the change walk that serves sync.
 *
 * Invariants: the list of a gateway VNI is sorted by (version, ip); hist holds the
 * VNI's versions in increasing order, and hist[k].start is the first listed entry
 * whose version is >= hist[k].version (NIL when none).
 */
#include "shm/table_layout.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* Readers use hist slots [hist_n - hist_valid, hist_n); the writer overwrites slot
 * hist_n - window, so a reader that sees hist_n move by less than the guard in the
 * meantime read nothing that changed under it. */
static uint64_t
hist_guard(const struct table *t)
{
	return t->h->params.version_window - t->hist_valid;
}

static inline struct hist_slot *
hist_at(const struct table *t, struct vni_state *v, uint64_t k)
{
	return &v->hist[k & t->hist_mask];
}

static inline uint64_t
hist_version(const struct table *t, struct vni_state *v, uint64_t k)
{
	return __atomic_load_n(&hist_at(t, v, k)->version, __ATOMIC_RELAXED);
}

static uint64_t
hist_lo(const struct table *t, uint64_t hist_n, uint64_t keep)
{
	(void)t;
	return hist_n > keep ? hist_n - keep : 0;
}

/* First k in [lo, hi) whose version is > after (hi when none). */
static uint64_t
hist_upper(const struct table *t, struct vni_state *v, uint64_t lo, uint64_t hi,
    uint64_t after)
{
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (hist_version(t, v, mid) > after)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void
table_vni_meta_read(const struct vni_state *v, struct vni_meta *m)
{
	for (;;) {
		uint64_t p = __atomic_load_n(&v->pub, __ATOMIC_ACQUIRE);
		const struct vni_meta *src = &v->meta[p & 1];
		uint64_t s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);

		m->version = __atomic_load_n(&src->version, __ATOMIC_RELAXED);
		m->hist_n = __atomic_load_n(&src->hist_n, __ATOMIC_RELAXED);
		m->flushes = __atomic_load_n(&src->flushes, __ATOMIC_RELAXED);
		m->gen = __atomic_load_n(&src->gen, __ATOMIC_RELAXED);
		m->flags = __atomic_load_n(&src->flags, __ATOMIC_RELAXED);
		/* The copy is good if the writer did not start rewriting it meanwhile
		 * (pairs with the release fence in table_vni_meta_write). */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (s1 == p && __atomic_load_n(&src->seq, __ATOMIC_RELAXED) == p) {
			m->seq = p;
			return;
		}
	}
}

void
table_vni_meta_write(struct vni_state *v, const struct vni_meta *m)
{
	uint64_t p = v->pub + 1;
	struct vni_meta *dst = &v->meta[p & 1];

	__atomic_store_n(&dst->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&dst->version, m->version, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->hist_n, m->hist_n, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->flushes, m->flushes, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->gen, m->gen, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->flags, m->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&dst->seq, p, __ATOMIC_RELEASE);
	__atomic_store_n(&v->pub, p, __ATOMIC_RELEASE);
}

static inline uint32_t
dir_home(const struct table *t, uint32_t vni)
{
	return (uint32_t)table_hash(vni, 0x76706366) & t->dir_mask;
}

/*
 * The directory index of vni and its word (read once), or UINT32_MAX. Readers probe
 * past DIR_DEAD words; an empty word ends the probe.
 */
static uint32_t
dir_index(struct table *t, uint32_t vni, uint64_t *word)
{
	uint32_t i = dir_home(t, vni);

	for (uint32_t probes = 0; probes <= t->dir_mask; probes++) {
		uint64_t w = __atomic_load_n(&t->dir[i], __ATOMIC_ACQUIRE);

		if (w == 0)
			return UINT32_MAX;
		if ((w >> 32) == (uint64_t)vni + 1) {
			*word = w;
			return i;
		}
		i = (i + 1) & t->dir_mask;
	}
	return UINT32_MAX;
}

struct vni_state *
table_vni_find(struct table *t, uint32_t vni, uint32_t *slot)
{
	uint64_t w;

	if (dir_index(t, vni, &w) == UINT32_MAX)
		return NULL;
	if (slot)
		*slot = (uint32_t)w;
	return vni_at(t, (uint32_t)w);
}

/* Writer: a slot for a new VNI state: a free one, a never-used one, or NONE. */
static uint32_t
slot_alloc(struct table *t)
{
	struct table_hdr *h = t->h;
	uint32_t s;

	for (int attempt = 0; attempt < 3; attempt++) {
		if (h->vni_free != VSLOT_NONE) {
			s = h->vni_free;
			h->vni_free = vni_at(t, s)->link;
			h->vni_free_n--;
			return s;
		}
		/* Counted before the slot is used: recovery sends every slot below
		 * vni_fresh that the directory lacks through the limbo, so a writer killed
		 * before publishing it neither leaks it nor hands it out twice. */
		if (h->vni_fresh < h->params.max_vnis)
			return h->vni_fresh++;
		/* Dropped slots wait for readers: end a grace period, then look for the
		 * dead, as entry_alloc does. */
		if (h->vni_limbo_n == 0)
			break;
		if (attempt == 0)
			table_reclaim(t);
		else if (table_reap(t, true))
			table_reclaim(t);
	}
	return VSLOT_NONE;
}

struct vni_state *
table_vni_get_or_add(struct table *t, uint32_t vni, uint32_t gen)
{
	struct vni_state *v = table_vni_find(t, vni, NULL);
	uint32_t slot, i, dead = UINT32_MAX;
	uint64_t w;

	if (v != NULL)
		return v;
	if (t->h->vnis >= t->h->params.max_vnis) {
		TCOUNT(t, vnis_full, 1);
		return NULL;
	}
	if ((slot = slot_alloc(t)) == VSLOT_NONE) {
		TCOUNT(t, vnis_limbo_full, 1);
		return NULL;
	}
	/* No reader can stand on the slot: it is new, or its grace period is over. */
	v = vni_at(t, slot);
	memset(v, 0, t->h->vni_size);
	v->vni = vni;
	v->in_use = 1;
	v->link = VSLOT_NONE;
	v->meta[1] = (struct vni_meta){ .seq = 1, .gen = gen };
	v->pub = 1;
	t->h->vnis++;
	/* The first dead word of the probe, else the empty one that ends it: the VNI is
	 * in neither place, and a reader passing the word sees dead or another VNI. */
	i = dir_home(t, vni);
	for (uint32_t probes = 0; probes <= t->dir_mask && (w = t->dir[i]) != 0; probes++) {
		if (w == DIR_DEAD && dead == UINT32_MAX)
			dead = i;
		i = (i + 1) & t->dir_mask;
	}
	/* Some word is dead or empty: the directory has twice max_vnis words. */
	if (dead != UINT32_MAX)
		i = dead;
	assert(t->dir[i] == 0 || t->dir[i] == DIR_DEAD);
	/* Release: the state is whole before a reader can find it. */
	__atomic_store_n(&t->dir[i], ((uint64_t)vni + 1) << 32 | slot, __ATOMIC_RELEASE);
	return v;
}

/*
 * Writer: take directory word i out. It becomes DIR_DEAD, so probes for VNIs further
 * on still reach them; dead words just before an empty one are on no VNI's probe path
 * (that path would go through the empty word) and become empty again, so the
 * directory does not silt up with dead words.
 */
static void
dir_remove(struct table *t, uint32_t i)
{
	__atomic_store_n(&t->dir[i], DIR_DEAD, __ATOMIC_RELEASE);
	if (t->dir[(i + 1) & t->dir_mask] != 0)
		return;
	for (uint32_t n = 0; n <= t->dir_mask && t->dir[i] == DIR_DEAD; n++) {
		__atomic_store_n(&t->dir[i], 0, __ATOMIC_RELEASE);
		i = (i - 1) & t->dir_mask;
	}
}

void
table_vni_slot_retire(struct table *t, uint32_t s)
{
	struct table_hdr *h = t->h;
	struct vni_state *v = vni_at(t, s);

	v->in_use = 0;
	v->retired = h->epoch;	/* only the writer stores it */
	v->link = VSLOT_NONE;
	if (h->vni_limbo_n == 0)
		h->vni_limbo_head = s;
	else
		vni_at(t, h->vni_limbo_tail)->link = s;
	h->vni_limbo_tail = s;
	h->vni_limbo_n++;
}

void
table_vni_slot_reclaim(struct table *t, uint64_t min_active)
{
	struct table_hdr *h = t->h;

	/* The limbo is in drop order, so in epoch order: stop at the first too new. */
	while (h->vni_limbo_n > 0) {
		uint32_t s = h->vni_limbo_head;
		struct vni_state *v = vni_at(t, s);

		if (!epoch_safe(v->retired, min_active))
			break;
		h->vni_limbo_head = v->link;
		h->vni_limbo_n--;
		v->link = h->vni_free;
		h->vni_free = s;
		h->vni_free_n++;
		TCOUNT(t, vnis_freed, 1);
	}
}

void
table_vni_slots(const struct table *t, uint32_t *used, uint32_t *retired)
{
	*used = __atomic_load_n(&t->h->vnis, __ATOMIC_RELAXED);
	*retired = __atomic_load_n(&t->h->vni_limbo_n, __ATOMIC_RELAXED);
}

/* (version, ip) order of the list. */
static inline bool
entry_after(const struct entry_hot *a, const struct entry_hot *b)
{
	return a->version > b->version || (a->version == b->version && a->ip > b->ip);
}

/* Writer: history slots with a version in (lo, hi] now start at entry e. */
static void
hist_set_start(struct table *t, struct vni_state *v, uint64_t lo, uint64_t hi, uint32_t e)
{
	struct vni_meta m;
	uint64_t k, first;

	table_vni_meta_read(v, &m);
	if (m.hist_n == 0 || hist_version(t, v, m.hist_n - 1) <= lo)
		return;		/* the usual case: no recorded version in the range */
	first = hist_lo(t, m.hist_n, t->h->params.version_window);
	for (k = hist_upper(t, v, first, m.hist_n, lo); k < m.hist_n; k++) {
		if (hist_version(t, v, k) > hi)
			break;
		store_idx(&hist_at(t, v, k)->start, e);
	}
}

void
table_vni_list_insert(struct table *t, struct vni_state *v, uint32_t e)
{
	struct entry_cold *c = t->cold;
	uint32_t p = v->tail, s;

	if (t->h->params.mode == TABLE_GATEWAY) {
		/* Usually e is the newest and p the tail: O(1). */
		while (p != NIL && entry_after(&t->hot[p], &t->hot[e]))
			p = c[p].prev;
	}
	s = p != NIL ? c[p].lnext : v->head;
	c[e].lnext = s;
	c[e].prev = p;
	store_idx(p != NIL ? &c[p].lnext : &v->head, e);
	if (s != NIL)
		c[s].prev = e;
	else
		v->tail = e;
	if (t->h->params.mode == TABLE_GATEWAY)
		hist_set_start(t, v, p != NIL ? t->hot[p].version : 0, t->hot[e].version, e);
}

void
table_vni_list_unlink(struct table *t, struct vni_state *v, uint32_t e)
{
	struct entry_cold *c = t->cold;
	uint32_t p = c[e].prev, s = c[e].lnext;

	/* One store takes e out of the readers' path; e keeps its lnext for readers
	 * standing on it. */
	store_idx(p != NIL ? &c[p].lnext : &v->head, s);
	if (s != NIL)
		c[s].prev = p;
	else
		v->tail = p;
	if (t->h->params.mode == TABLE_GATEWAY)
		hist_set_start(t, v, p != NIL ? t->hot[p].version : 0, t->hot[e].version, s);
}

void
table_vni_list_replace(struct table *t, struct vni_state *v, uint32_t e, uint32_t n)
{
	struct entry_cold *c = t->cold;
	uint32_t p = c[e].prev, s = c[e].lnext;

	assert(t->h->params.mode == TABLE_HOST);	/* a gateway's list is in version order */
	c[n].prev = p;
	c[n].lnext = s;
	/* One store: a reader arriving finds n, one standing on e goes on to s as before. */
	store_idx(p != NIL ? &c[p].lnext : &v->head, n);
	if (s != NIL)
		c[s].prev = n;
	else
		v->tail = n;
}

uint64_t
table_vni_oldest_valid(const struct table *t, const struct vni_state *v, const struct vni_meta *m)
{
	if (m->hist_n == 0)
		return 0;
	return hist_version(t, (struct vni_state *)v, hist_lo(t, m->hist_n, t->hist_valid));
}

/* Writer: the first listed entry with a version >= version, walking back from the
 * tail (the entries of the version just applied). */
static uint32_t
list_first_from(struct table *t, struct vni_state *v, uint64_t version)
{
	uint32_t e = v->tail, first = NIL;

	while (e != NIL && t->hot[e].version >= version) {
		first = e;
		e = t->cold[e].prev;
	}
	return first;
}

/* Writer: drop every entry of v, tombstones and superseded tombstones included. */
static void
vni_empty(struct table *t, struct vni_state *v)
{
	struct table_hdr *h = t->h;
	uint32_t e, n = 0, tombs = 0;

	/* Superseded tombstones wait only in the FIFO; current ones are in the list. */
	for (e = v->tomb_head; e != NIL;) {
		uint32_t next = t->cold[e].aux;

		if (t->hot[e].flags & TABLE_F_RETIRED)
			table_retire(t, e);
		e = next;
	}
	v->tomb_head = v->tomb_tail = NIL;
	while ((e = v->head) != NIL) {
		struct entry_hot *x = &t->hot[e];

		table_unlink_hash(t, x->vni, x->ip, e);
		store_idx(&v->head, t->cold[e].lnext);
		__atomic_or_fetch(&x->flags, TABLE_F_RETIRED, __ATOMIC_RELAXED);
		tombs += (x->flags & TABLE_F_TOMBSTONE) != 0;
		n++;
		table_retire(t, e);
	}
	v->tail = NIL;
	h->count -= n;
	h->tombs -= tombs;
	__atomic_store_n(&v->live, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&v->tombs, 0, __ATOMIC_RELAXED);
}

/* Writer: v restarts at version 0 in gen; readers that were reading it start again. */
static void
vni_restart(struct vni_state *v, uint32_t gen)
{
	struct vni_meta m;

	table_vni_meta_read(v, &m);
	m.gen = gen;
	m.version = 0;
	m.hist_n = 0;
	m.flushes++;
	table_vni_meta_write(v, &m);
}

int
table_vni_flush(struct table *t, uint32_t vni, uint32_t gen)
{
	struct vni_state *v = table_vni_get_or_add(t, vni, gen);

	if (v == NULL)
		return -ENOSPC;
	vni_empty(t, v);
	vni_restart(v, gen);
	TCOUNT(t, flushes, 1);
	return TABLE_APPLIED;
}

/*
 * A reader that found the slot before it left the directory may still be reading it,
 * in a section: were the slot handed to another VNI at once, such a reader would walk
 * the other VNI's list and history as its own. So the slot goes through a limbo of
 * its own, like entries, and is reused only after every such reader has left; readers
 * need not check anything after a lookup. Each step is one store that leaves the
 * table well formed, so a writer killed in between is recovered (table_recover):
 * entries go first (the VNI stays in the directory, empty), then the directory word
 * (the slot, no longer in the directory, is sent through the limbo again).
 */
int
table_vni_drop(struct table *t, uint32_t vni)
{
	uint64_t w;
	uint32_t i = dir_index(t, vni, &w), slot = (uint32_t)w;
	struct vni_state *v;

	if (i == UINT32_MAX)
		return -ENOENT;
	v = vni_at(t, slot);
	vni_empty(t, v);
	vni_restart(v, 0);
	dir_remove(t, i);
	t->h->vnis--;
	table_vni_slot_retire(t, slot);
	TCOUNT(t, vnis_dropped, 1);
	return TABLE_APPLIED;
}

int
table_vni_advance(struct table *t, uint32_t vni, uint32_t gen, uint64_t version)
{
	struct vni_state *v = table_vni_get_or_add(t, vni, gen);
	struct vni_meta m;
	struct hist_slot *hs;

	if (v == NULL)
		return -ENOSPC;
	table_vni_meta_read(v, &m);
	if (m.gen != gen) {
		/* Generation 0 is "not known yet" (a VNI first seen through a set). */
		if (m.gen != 0 && (m.version != 0 || v->head != NIL)) {
			table_vni_flush(t, vni, gen);
			table_vni_meta_read(v, &m);
		} else {
			m.gen = gen;
			table_vni_meta_write(v, &m);
		}
	}
	if (version <= m.version) {
		TCOUNT(t, stale, 1);
		return TABLE_STALE;
	}
	/* The slot written here is outside every reader's window (see hist_guard). */
	hs = hist_at(t, v, m.hist_n);
	__atomic_store_n(&hs->version, version, __ATOMIC_RELAXED);
	store_idx(&hs->start, t->h->params.mode == TABLE_GATEWAY ?
	    list_first_from(t, v, version) : NIL);
	m.version = version;
	m.hist_n++;
	table_vni_meta_write(v, &m);
	if (t->h->params.mode == TABLE_GATEWAY)
		table_vni_purge_tombs(t, v, table_vni_oldest_valid(t, v, &m));
	return TABLE_APPLIED;
}

int
table_vni_rebase(struct table *t, uint32_t vni, uint32_t gen, uint64_t version)
{
	struct vni_state *v = table_vni_get_or_add(t, vni, gen);
	struct vni_meta m;
	struct hist_slot *hs;

	if (v == NULL)
		return -ENOSPC;
	table_vni_meta_read(v, &m);
	m.gen = gen;
	m.version = version;
	/* A flush as far as readers are concerned: they re-read and see one version. */
	m.flushes++;
	m.hist_n = 1;
	hs = hist_at(t, v, 0);
	__atomic_store_n(&hs->version, version, __ATOMIC_RELAXED);
	store_idx(&hs->start, t->h->params.mode == TABLE_GATEWAY ?
	    list_first_from(t, v, version) : NIL);
	table_vni_meta_write(v, &m);
	if (t->h->params.mode == TABLE_GATEWAY)
		table_vni_purge_tombs(t, v, version);
	return TABLE_APPLIED;
}

int
table_vni_get(struct table *t, uint32_t vni, struct table_vni_info *out)
{
	struct vni_state *v;
	struct vni_meta m;

	epoch_enter(&t->rd);
	v = table_vni_find(t, vni, NULL);
	if (v != NULL) {
		table_vni_meta_read(v, &m);
		out->vni = vni;
		out->gen = m.gen;
		out->version = m.version;
		out->nversions = m.hist_n;
		out->flushes = m.flushes;
		out->oldest = m.hist_n ? table_vni_oldest_valid(t, v, &m) : 0;
		out->live = __atomic_load_n(&v->live, __ATOMIC_RELAXED);
		out->tombs = __atomic_load_n(&v->tombs, __ATOMIC_RELAXED);
		out->flags = m.flags;
	}
	epoch_exit(&t->rd);
	return v != NULL ? 0 : -ENOENT;
}

int
table_vni_set_incomplete(struct table *t, uint32_t vni, bool incomplete)
{
	/* Clearing the flag of a VNI the table does not hold makes no slot for it. */
	struct vni_state *v = incomplete ? table_vni_get_or_add(t, vni, 0) :
	    table_vni_find(t, vni, NULL);
	struct vni_meta m;

	if (v == NULL)
		/* table_vni_get_or_add counted it */
		return incomplete ? -ENOSPC : TABLE_APPLIED;
	table_vni_meta_read(v, &m);
	if (!(m.flags & TABLE_VNI_INCOMPLETE) == !incomplete)
		return TABLE_APPLIED;
	m.flags = incomplete ? m.flags | TABLE_VNI_INCOMPLETE : m.flags & ~TABLE_VNI_INCOMPLETE;
	table_vni_meta_write(v, &m);
	return TABLE_APPLIED;
}

void
table_set_homeless(struct table *t, uint32_t n)
{
	/* Relaxed: readers take it as a hint for VNIs they do not find, nothing more. */
	__atomic_store_n(&t->h->homeless, n, __ATOMIC_RELAXED);
}

uint32_t
table_homeless(const struct table *t)
{
	return __atomic_load_n(&t->h->homeless, __ATOMIC_RELAXED);
}

/* Reader: is `version` one the VNI had within the valid window? */
static bool
hist_has(const struct table *t, struct vni_state *v, const struct vni_meta *m,
    uint64_t version)
{
	uint64_t lo = hist_lo(t, m->hist_n, t->hist_valid);
	uint64_t k = hist_upper(t, v, lo, m->hist_n, version);

	return k > lo && hist_version(t, v, k - 1) == version;
}

/* Reader: nothing we read from hist since reading m can have been overwritten. */
static bool
hist_still_good(struct table *t, struct vni_state *v, const struct vni_meta *m)
{
	struct vni_meta now;

	table_vni_meta_read(v, &now);
	return now.flushes == m->flushes && now.hist_n - m->hist_n < hist_guard(t);
}

int
table_vni_versions(struct table *t, uint32_t vni, uint64_t *out, uint32_t max)
{
	struct vni_state *v;
	struct vni_meta m;
	uint64_t lo;
	int n;

	epoch_enter(&t->rd);
	if ((v = table_vni_find(t, vni, NULL)) == NULL) {
		n = -ENOENT;
		goto out;
	}
	do {
		table_vni_meta_read(v, &m);
		lo = hist_lo(t, m.hist_n, t->hist_valid);
		if (m.hist_n - lo > max)
			lo = m.hist_n - max;
		n = 0;
		for (uint64_t k = lo; k < m.hist_n; k++)
			out[n++] = hist_version(t, v, k);
	} while (!hist_still_good(t, v, &m));
out:
	epoch_exit(&t->rd);
	return n;
}

enum table_vcheck
table_vni_check(struct table *t, uint32_t vni, uint32_t gen, uint64_t version)
{
	enum table_vcheck r;
	struct vni_state *v;
	struct vni_meta m;

	epoch_enter(&t->rd);
	if ((v = table_vni_find(t, vni, NULL)) == NULL) {
		r = TABLE_V_NO_VNI;
		goto out;
	}
	do {
		table_vni_meta_read(v, &m);
		if (m.flags & TABLE_VNI_INCOMPLETE)
			r = TABLE_V_INCOMPLETE;	/* even a full dump would lack rules */
		else if (version == 0)
			r = TABLE_V_VALID;	/* holds nothing: any generation will do */
		else if (gen != m.gen)
			r = TABLE_V_RELEARN;
		else if (version == m.version)
			r = TABLE_V_VALID;
		else if (version > m.version)
			r = TABLE_V_AHEAD;
		else
			r = hist_has(t, v, &m, version) ? TABLE_V_VALID : TABLE_V_RELEARN;
	} while (!hist_still_good(t, v, &m));
out:
	epoch_exit(&t->rd);
	return r;
}

/*
 * Reader: where a walk for changes after `since` starts, or after the cursor. Sets
 * *skip when entries up to the cursor must be skipped on the way.
 */
static int
walk_start(struct table *t, struct vni_state *v, const struct vni_meta *m, uint64_t since,
    const struct table_cursor *cur, uint32_t *pos, bool *skip)
{
	uint64_t from, lo, k;

	*skip = false;
	if (cur->valid) {
		/* Fast path: the cursor's entry is still there and unchanged. */
		uint32_t e = load_idx(table_bucket(t, v->vni, cur->ip));

		while (e != NIL && e <= t->h->pool &&
		    !(t->hot[e].vni == v->vni && t->hot[e].ip == cur->ip))
			e = load_idx(&t->hot[e].next);
		/*
		 * A host's rule may have been moved to the tail as a copy of the same
		 * version (table_evict): resuming after the copy would skip the rest, so
		 * the entry and the stamp of its place must be the cursor's too.
		 */
		if (e != NIL && e <= t->h->pool && t->hot[e].version == cur->version &&
		    !(__atomic_load_n(&t->hot[e].flags, __ATOMIC_RELAXED) & TABLE_F_RETIRED) &&
		    (t->h->params.mode == TABLE_GATEWAY ||
		    (e == cur->entry && t->cold[e].queued == cur->place))) {
			*pos = load_idx(&t->cold[e].lnext);
			return 0;
		}
		*skip = true;
		from = cur->version;
	} else if (since == 0) {
		*pos = load_idx(&v->head);
		return 0;
	} else {
		from = since + 1;
	}
	lo = hist_lo(t, m->hist_n, t->hist_valid);
	if (since != 0 && !hist_has(t, v, m, since))
		return -ESTALE;
	if (since == 0 && (m->hist_n == 0 || hist_version(t, v, lo) > from)) {
		/* Paging a full dump from before the window: the list head is safe. */
		*pos = load_idx(&v->head);
		return 0;
	}
	k = hist_upper(t, v, lo, m->hist_n, from - 1);
	*pos = k < m->hist_n ? load_idx(&hist_at(t, v, k)->start) : NIL;
	return 0;
}

int
table_changes(struct table *t, uint32_t vni, uint64_t since, struct table_cursor *cur,
    struct table_rule *out, uint32_t max, uint64_t *upto, bool *more)
{
	struct vni_state *v;
	struct vni_meta m;
	uint32_t pos, n;
	bool skip;
	int r;
	/*
	 * A full dump lists live rules only, but one resumed from a cursor lists the
	 * deletes newer than the cursor too: the rule may be one an earlier page sent.
	 */
	bool dump_resumed = since == 0 && cur->valid;
	uint64_t resumed_at = cur->version;

	if (t->h->params.mode != TABLE_GATEWAY && since != 0)
		return -ENOTSUP;
	epoch_enter(&t->rd);
	if ((v = table_vni_find(t, vni, NULL)) == NULL) {
		r = -ENOENT;
		goto out;
	}
	do {
		table_vni_meta_read(v, &m);
		if (since > m.version) {
			r = -EAGAIN;	/* the asker is ahead of this table */
			goto out;
		}
		r = walk_start(t, v, &m, since, cur, &pos, &skip);
		if (r == 0 && skip && t->h->params.mode != TABLE_GATEWAY) {
			r = -EAGAIN;	/* install order: no way back to the cursor */
			goto out;
		}
	} while (!hist_still_good(t, v, &m));
	if (r < 0)
		goto out;
	*upto = m.version;
	*more = false;
	n = 0;
	while (pos != NIL && pos <= t->h->pool) {
		const struct entry_hot *x = &t->hot[pos];
		uint8_t flags = __atomic_load_n(&x->flags, __ATOMIC_RELAXED);

		/* Later versions belong to the next walk: stop at the published version. */
		if (x->version > m.version && t->h->params.mode == TABLE_GATEWAY)
			break;
		if (skip && (x->version < cur->version ||
		    (x->version == cur->version && x->ip <= cur->ip))) {
			pos = load_idx(&t->cold[pos].lnext);
			continue;
		}
		skip = false;
		if (!(flags & TABLE_F_RETIRED) && x->version > since &&
		    !(since == 0 && (flags & TABLE_F_TOMBSTONE) &&
		    !(dump_resumed && x->version > resumed_at))) {
			if (n == max) {
				*more = true;
				break;
			}
			entry_copy(x, &out[n++]);
			cur->version = x->version;
			cur->ip = x->ip;
			cur->valid = 1;
			cur->entry = pos;
			cur->place = t->cold[pos].queued;
		}
		pos = load_idx(&t->cold[pos].lnext);
	}
	r = (int)n;
out:
	epoch_exit(&t->rd);
	return r;
}

int
table_vni_foreach(struct table *t, uint32_t vni,
    int (*fn)(const struct table_rule *r, void *arg), void *arg)
{
	struct vni_state *v;
	int r;

	assert(t->writer);
	if (t->h->params.mode != TABLE_GATEWAY)
		return -ENOTSUP;
	if ((v = table_vni_find(t, vni, NULL)) == NULL)
		return -ENOENT;
	/* The writer's own list: nothing changes it meanwhile, no section is needed. */
	for (uint32_t e = v->head; e != NIL; e = t->cold[e].lnext) {
		struct table_rule rule;

		if (t->hot[e].flags & TABLE_F_RETIRED)
			continue;
		entry_copy(&t->hot[e], &rule);
		if ((r = fn(&rule, arg)) != 0)
			return r;
	}
	return 0;
}

uint32_t
table_vni_count(const struct table *t)
{
	return __atomic_load_n(&t->h->vnis, __ATOMIC_RELAXED);
}

uint32_t
table_vnis(struct table *t, uint32_t *vnis, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i <= t->dir_mask && n < max; i++) {
		uint64_t w = __atomic_load_n(&t->dir[i], __ATOMIC_ACQUIRE);

		if (w != 0 && w != DIR_DEAD)
			vnis[n++] = (uint32_t)(w >> 32) - 1;
	}
	return n;
}
