/*
 * table: creation and attachment, lookups, sets and deletes, and the entry allocator
 * with its epoch-based limbo. Per-VNI state lives in table_vni.c; recovery, eviction
 * and the invariant check in table_maint.c.
 *
 * Invariant: an entry reachable from a bucket or a VNI list is never written again
 * (but for its RETIRED flag, and on a host its use stamp, which readers raise), and is
 * reused only after it was unlinked from both and every reader active at that time has
 * left its read section.
 */
#include "shm/table_layout.h"
#include "common/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096u
#define REAP_EVERY_NS	(100 * 1000000ull)

struct layout {
	uint32_t pool, nbuckets, dir_size, vni_size;
	uint64_t readers_off, uses_off, dir_off, vni_off, buckets_off, hot_off, cold_off, size;
};

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint32_t
pow2_at_least(uint64_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int
params_check(const struct table_params *p, char *err, size_t errlen)
{
	const char *what = NULL;

	if (p->mode != TABLE_GATEWAY && p->mode != TABLE_HOST)
		what = "mode must be gateway or host";
	else if (p->capacity < 16 || p->capacity > (1u << 30))
		what = "capacity must be 16..1073741824 rules";
	else if (p->max_vnis < 1 || p->max_vnis > (1u << 20))
		what = "max_vnis must be 1..1048576";
	else if (p->version_window < 4 || p->version_window > 65536 ||
	    (p->version_window & (p->version_window - 1)))
		what = "version_window must be a power of two in 4..65536";
	else if (p->max_readers < 1 || p->max_readers > 1024)
		what = "max_readers must be 1..1024";
	if (what == NULL)
		return 0;
	snprintf(err, errlen, "table: %s", what);
	return -EINVAL;
}

/* Where the table's header starts in its segment: after the segment's, a line apart. */
static size_t
hdr_off(void)
{
	return align_up(sizeof(struct seg_hdr), 64);
}

static void
layout_compute(const struct table_params *p, struct layout *l)
{
	uint64_t off;

	/* Slack for entries in limbo and superseded tombstones awaiting their purge. */
	l->pool = p->capacity + p->capacity / 16 + 1024;
	/* Chains of half an entry on average when full. */
	l->nbuckets = 2 * p->capacity;
	l->dir_size = pow2_at_least(2ull * p->max_vnis);
	l->vni_size = sizeof(struct vni_state) + p->version_window * sizeof(struct hist_slot);
	off = hdr_off() + sizeof(struct table_hdr);
	/*
	 * Reader slots, then a host's use stamps, on pages of their own: the only part a
	 * reader maps writable. A gateway evicts nothing and keeps no stamps.
	 */
	l->readers_off = align_up(off, PAGE);
	off = l->readers_off + (uint64_t)p->max_readers * sizeof(struct epoch_slot);
	l->uses_off = align_up(off, PAGE);
	off = l->uses_off;
	if (p->mode == TABLE_HOST)
		off += ((uint64_t)l->pool + 1) * sizeof(uint32_t);
	l->dir_off = align_up(off, PAGE);
	l->vni_off = align_up(l->dir_off + (uint64_t)l->dir_size * 8, 64);
	l->buckets_off = align_up(l->vni_off + (uint64_t)p->max_vnis * l->vni_size, PAGE);
	l->hot_off = align_up(l->buckets_off + (uint64_t)l->nbuckets * 4, PAGE);
	l->cold_off = align_up(l->hot_off + ((uint64_t)l->pool + 1) * sizeof(struct entry_hot),
	    PAGE);
	l->size = align_up(l->cold_off + ((uint64_t)l->pool + 1) * sizeof(struct entry_cold),
	    PAGE);
}

uint64_t
table_size(const struct table_params *p)
{
	struct layout l;

	layout_compute(p, &l);
	return l.size;
}

void
table_params_default(struct table_params *p, uint32_t mode)
{
	p->mode = mode;
	if (mode == TABLE_GATEWAY) {
		p->capacity = 1000000;
		p->max_vnis = 4096;
		p->version_window = 256;
	} else {
		/* The learner's cache_max_rules (500000) and room above it (learner.c). */
		p->capacity = 625000;
		p->max_vnis = 4096;
		p->version_window = 4;
	}
	p->max_readers = 64;
}

static void
table_bind(struct table *t)
{
	struct table_hdr *h = t->h;

	t->readers = seg_ptr(&t->seg, h->readers_off);
	t->uses = h->params.mode == TABLE_HOST ? seg_ptr(&t->seg, h->uses_off) : NULL;
	t->dir = seg_ptr(&t->seg, h->dir_off);
	t->vni_base = seg_ptr(&t->seg, h->vni_off);
	t->buckets = seg_ptr(&t->seg, h->buckets_off);
	t->hot = seg_ptr(&t->seg, h->hot_off);
	t->cold = seg_ptr(&t->seg, h->cold_off);
	t->nbuckets = h->nbuckets;
	t->dir_mask = h->dir_size - 1;
	t->hist_mask = h->params.version_window - 1;
	/* A guard of a quarter of the window lets readers use history the writer may be
	 * appending to without a lock (table_vni.c). */
	t->hist_valid = h->params.version_window - h->params.version_window / 4;
}

static struct table_hdr *
hdr_of(struct seg *s)
{
	return (struct table_hdr *)((char *)s->base + hdr_off());
}

/* The header must describe exactly this segment: a reader trusts every offset in it. */
static int
hdr_check(struct table *t, char *err, size_t errlen)
{
	struct table_hdr *h = t->h;
	struct layout l;

	if (params_check(&h->params, err, errlen) < 0)
		return -EPROTO;
	layout_compute(&h->params, &l);
	if (l.size != t->seg.size || l.pool != h->pool || l.nbuckets != h->nbuckets ||
	    l.dir_size != h->dir_size || l.vni_size != h->vni_size ||
	    l.readers_off != h->readers_off || l.uses_off != h->uses_off ||
	    l.dir_off != h->dir_off || l.vni_off != h->vni_off ||
	    l.buckets_off != h->buckets_off || l.hot_off != h->hot_off ||
	    l.cold_off != h->cold_off) {
		snprintf(err, errlen, "%s/%s: table header does not match the segment",
		    SEG_DIR, t->seg.name);
		return -EPROTO;
	}
	return 0;
}

int
table_create(struct table **tp, const char *node, const char *proc,
    const struct table_params *p, char *err, size_t errlen)
{
	struct table *t;
	struct layout l;
	int r;

	if ((r = params_check(p, err, errlen)) < 0)
		return r;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "table: out of memory");
		return -ENOMEM;
	}
	layout_compute(p, &l);
	r = seg_create(&t->seg, node, proc, "table", SEG_KIND_TABLE, TABLE_LAYOUT, l.size);
	if (r < 0) {
		snprintf(err, errlen, "%s", t->seg.err);
		free(t);
		return r;
	}
	t->h = hdr_of(&t->seg);
	t->writer = true;
	if (t->seg.created) {
		struct table_hdr *h = t->h;

		h->params = *p;
		h->pool = l.pool;
		h->nbuckets = l.nbuckets;
		h->dir_size = l.dir_size;
		h->vni_size = l.vni_size;
		h->readers_off = l.readers_off;
		h->uses_off = l.uses_off;
		h->dir_off = l.dir_off;
		h->vni_off = l.vni_off;
		h->buckets_off = l.buckets_off;
		h->hot_off = l.hot_off;
		h->cold_off = l.cold_off;
		h->created_s = clock_real_ns() / NS_PER_S;
		h->created_mono_s = clock_mono_ns() / NS_PER_S;
		h->fresh = 1;
		h->vni_free = h->vni_limbo_head = h->vni_limbo_tail = VSLOT_NONE;
		h->epoch = 1;
		table_bind(t);
	} else {
		if (memcmp(&t->h->params, p, sizeof(*p)) != 0) {
			snprintf(err, errlen, "%s/%s: made for capacity %u, max_vnis %u, "
			    "version_window %u, max_readers %u, mode %u, not for this "
			    "configuration; stop its readers and remove it to rebuild", SEG_DIR,
			    t->seg.name, t->h->params.capacity, t->h->params.max_vnis,
			    t->h->params.version_window, t->h->params.max_readers,
			    t->h->params.mode);
			r = -EPROTO;
			goto fail;
		}
		if ((r = hdr_check(t, err, errlen)) < 0)
			goto fail;
		table_bind(t);
		if (!t->h->clean) {
			if ((r = table_recover(t, err, errlen)) < 0)
				goto fail;
			TCOUNT(t, recoveries, 1);
		}
	}
	t->h->clean = 0;
	*tp = t;
	return 0;
fail:
	seg_detach(&t->seg);
	free(t);
	return r;
}

int
table_attach(struct table **tp, const char *segname, char *err, size_t errlen)
{
	struct table *t;
	int r;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "table: out of memory");
		return -ENOMEM;
	}
	r = seg_attach(&t->seg, segname, SEG_KIND_TABLE, TABLE_LAYOUT, 0, 0);
	if (r < 0) {
		snprintf(err, errlen, "%s", t->seg.err);
		free(t);
		return r;
	}
	t->h = hdr_of(&t->seg);
	if (t->seg.size < t->h->readers_off || (r = hdr_check(t, err, errlen)) < 0) {
		if (r == 0) {
			snprintf(err, errlen, "%s/%s: too small for a table", SEG_DIR, segname);
			r = -EPROTO;
		}
		goto fail;
	}
	table_bind(t);
	/*
	 * A reader writes its slot and use stamps (readers_off up to dir_off, checked by
	 * hdr_check) and nothing else: let the MMU say so.
	 */
	if (mprotect(t->seg.base, t->h->readers_off, PROT_READ) == -1 ||
	    mprotect((char *)t->seg.base + t->h->dir_off, t->seg.size - t->h->dir_off,
	    PROT_READ) == -1) {
		snprintf(err, errlen, "%s/%s: mprotect: %s", SEG_DIR, segname, strerror(errno));
		r = -errno;
		goto fail;
	}
	r = epoch_reader_claim(t->readers, t->h->params.max_readers, &t->h->epoch, &t->rd);
	if (r < 0) {
		snprintf(err, errlen, "%s/%s: all %u reader slots belong to running processes "
		    "(raise max_readers)", SEG_DIR, segname, t->h->params.max_readers);
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	seg_detach(&t->seg);
	free(t);
	return r;
}

void
table_close(struct table *t)
{
	if (t == NULL)
		return;
	if (t->writer) {
		table_maintain(t);
		t->h->clean = 1;
	} else {
		epoch_reader_release(&t->rd);
	}
	seg_detach(&t->seg);
	free(t);
}

const struct table_params *
table_params(const struct table *t)
{
	return &t->h->params;
}

const struct table_counters *
table_counters(const struct table *t)
{
	return &t->h->counters;
}

uint32_t
table_count(const struct table *t)
{
	return __atomic_load_n(&t->h->count, __ATOMIC_RELAXED);
}

uint32_t
table_live(const struct table *t)
{
	return table_count(t) - __atomic_load_n(&t->h->tombs, __ATOMIC_RELAXED);
}

int
table_occupancy(const struct seg *s, struct table_occupancy *out)
{
	size_t off = hdr_off();
	const struct table_hdr *h = (const struct table_hdr *)((const char *)s->base + off);

	memset(out, 0, sizeof(*out));
	if (s->size < off + sizeof(*h))
		return -EPROTO;
	/* Relaxed: the writer stores these plainly; a sample needs no ordering. */
	out->mode = __atomic_load_n(&h->params.mode, __ATOMIC_RELAXED);
	out->capacity = __atomic_load_n(&h->params.capacity, __ATOMIC_RELAXED);
	out->max_vnis = __atomic_load_n(&h->params.max_vnis, __ATOMIC_RELAXED);
	out->entries = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
	out->tombs = __atomic_load_n(&h->tombs, __ATOMIC_RELAXED);
	out->vnis = __atomic_load_n(&h->vnis, __ATOMIC_RELAXED);
	return 0;
}

const struct seg *
table_seg(const struct table *t)
{
	return &t->seg;
}

uint64_t
table_created(const struct table *t)
{
	return t->h->created_s;
}

uint64_t
table_applied_seq(const struct table *t)
{
	return __atomic_load_n(&t->h->applied_seq, __ATOMIC_ACQUIRE);
}

void
table_set_applied_seq(struct table *t, uint64_t seq)
{
	/* Release: the changes up to seq are in before anyone reads seq. */
	__atomic_store_n(&t->h->applied_seq, seq, __ATOMIC_RELEASE);
}

uint64_t
table_applied_epoch(const struct table *t)
{
	/* Pairs with the release in table_set_applied_epoch. */
	return __atomic_load_n(&t->h->applied_epoch, __ATOMIC_ACQUIRE);
}

void
table_set_applied_epoch(struct table *t, uint64_t epoch)
{
	/* Release: the seq it names is stored before it (table_set_applied_seq). */
	__atomic_store_n(&t->h->applied_epoch, epoch, __ATOMIC_RELEASE);
}

uint32_t
table_now_s(const struct table *t)
{
	return (uint32_t)(clock_mono_ns() / NS_PER_S - t->h->created_mono_s);
}

/*
 * A reader's second, for use stamps: the coarse clock, which no clock source turns into
 * a system call. It lags the writer's by at most a tick, never leads it, and is 0 (not
 * a wrapped count) in the tick after the table was created.
 */
static uint32_t
table_read_now_s(const struct table *t)
{
	uint64_t s = clock_mono_coarse_ns() / NS_PER_S;

	return s > t->h->created_mono_s ? (uint32_t)(s - t->h->created_mono_s) : 0;
}

void
table_read_begin(struct table *t)
{
	epoch_enter(&t->rd);
}

void
table_read_end(struct table *t)
{
	epoch_exit(&t->rd);
}

/* Inside a read section (or the writer): the entry for the key, NIL when none. */
static inline uint32_t
table_find(struct table *t, uint32_t vni, uint32_t ip)
{
	uint32_t e = load_idx(table_bucket(t, vni, ip));
	uint32_t pool = t->h->pool;

	while (e != NIL && e <= pool) {
		const struct entry_hot *x = &t->hot[e];

		if (x->ip == ip && x->vni == vni)
			return e;
		e = load_idx(&x->next);
	}
	return NIL;
}

void
table_prefetch(const struct table *t, uint32_t vni, uint32_t ip)
{
	__builtin_prefetch(&t->buckets[table_bucket_of(t, vni, ip)]);
}

bool
table_get(struct table *t, uint32_t vni, uint32_t ip, struct table_rule *out)
{
	uint32_t e;

	epoch_enter(&t->rd);
	e = table_find(t, vni, ip);
	if (e != NIL)
		entry_copy(&t->hot[e], out);
	epoch_exit(&t->rd);
	return e != NIL;
}

bool
table_lookup(struct table *t, uint32_t vni, uint32_t ip, struct table_rule *out)
{
	return table_get(t, vni, ip, out) && !(out->flags & TABLE_F_TOMBSTONE);
}

#define CHUNK	64	/* keys whose cache misses overlap */

/* The live rule of key k in the chain from e, copied to out: its entry, or NIL. */
static inline uint32_t
chain_match(struct table *t, uint32_t e, const struct table_key *k, struct table_rule *out)
{
	uint32_t pool = t->h->pool;

	while (e != NIL && e <= pool) {
		const struct entry_hot *x = &t->hot[e];

		if (x->ip == k->ip && x->vni == k->vni) {
			entry_copy(x, out);
			return (out->flags & TABLE_F_TOMBSTONE) ? NIL : e;
		}
		e = load_idx(&x->next);
	}
	return NIL;
}

/*
 * Reader, inside its section: entry e was used in second now. Stored only when the
 * stamp is older, so a busy rule's line is written once a second, not once a packet;
 * never lowered (a reader's coarse clock may lag the writer's install stamp). The
 * section keeps e from being reused meanwhile, so the stamp is never another rule's.
 */
static inline void
use_mark(struct table *t, uint32_t e, uint32_t now)
{
	if (use_load(t, e) < now)
		use_store(t, e, now);
}

uint32_t
table_lookup_batch(struct table *t, const struct table_key *keys, uint32_t n,
    struct table_rule *out, bool *hit)
{
	uint32_t *bucket[CHUNK], idx[CHUNK], hits = 0;
	uint32_t now = t->uses != NULL ? table_read_now_s(t) : 0;

	epoch_enter(&t->rd);
	for (uint32_t base = 0; base < n; base += CHUNK) {
		uint32_t m = n - base < CHUNK ? n - base : CHUNK;
		const struct table_key *k = keys + base;

		/*
		 * Three passes over the chunk, so that its cache misses overlap: every
		 * bucket is requested before the first is needed, then every entry. On a
		 * host the third requests each hit's use stamp, and a fourth marks them.
		 */
		for (uint32_t i = 0; i < m; i++) {
			bucket[i] = table_bucket(t, k[i].vni, k[i].ip);
			__builtin_prefetch(bucket[i]);
		}
		for (uint32_t i = 0; i < m; i++) {
			idx[i] = load_idx(bucket[i]);
			__builtin_prefetch(&t->hot[idx[i]]);
		}
		for (uint32_t i = 0; i < m; i++) {
			idx[i] = chain_match(t, idx[i], &k[i], &out[base + i]);
			hit[base + i] = idx[i] != NIL;
			hits += hit[base + i];
			if (t->uses != NULL && idx[i] != NIL)
				__builtin_prefetch(&t->uses[idx[i]]);
		}
		if (t->uses == NULL)
			continue;
		for (uint32_t i = 0; i < m; i++)
			if (idx[i] != NIL)
				use_mark(t, idx[i], now);
	}
	epoch_exit(&t->rd);
	return hits;
}

/*
 * Writer: move limbo batches, and dropped VNI slots, whose epoch every reader has left
 * to their free lists.
 */
void
table_reclaim(struct table *t)
{
	struct table_hdr *h = t->h;
	uint64_t min;

	if (h->limbo_n == 0 && h->vni_limbo_n == 0)
		return;
	epoch_advance(&h->epoch);
	min = epoch_min_active(t->readers, h->params.max_readers);
	while (h->limbo_n > 0) {
		struct limbo_batch *b = &h->limbo[h->limbo_first];

		if (!epoch_safe(b->epoch, min))
			break;
		t->cold[b->tail].aux = h->free_head;
		h->free_head = b->head;
		h->free_count += b->count;
		h->limbo_count -= b->count;
		TCOUNT(t, reclaimed, b->count);
		b->count = 0;
		h->limbo_first = (h->limbo_first + 1) % LIMBO_BATCHES;
		h->limbo_n--;
	}
	table_vni_slot_reclaim(t, min);
}

/* Writer: free the reader slots of dead processes now and then. */
bool
table_reap(struct table *t, bool force)
{
	struct table_hdr *h = t->h;
	uint64_t now = clock_mono_ns();
	uint32_t n;

	if (!force && now - h->last_reap_ns < REAP_EVERY_NS)
		return false;
	h->last_reap_ns = now;
	n = epoch_reap_dead(t->readers, h->params.max_readers, UINT64_MAX, NULL);
	if (n)
		TCOUNT(t, readers_reaped, n);
	return n > 0;
}

static uint32_t
entry_alloc(struct table *t)
{
	struct table_hdr *h = t->h;
	uint32_t e;

	for (int attempt = 0; attempt < 3; attempt++) {
		if (h->free_head != NIL) {
			e = h->free_head;
			h->free_head = t->cold[e].aux;
			h->free_count--;
			return e;
		}
		if (h->fresh <= h->pool)
			return h->fresh++;
		/* Everything free is in limbo: end a grace period, then look for the dead. */
		if (attempt == 0)
			table_reclaim(t);
		else if (table_reap(t, true))
			table_reclaim(t);
	}
	return NIL;
}

void
table_retire(struct table *t, uint32_t e)
{
	struct table_hdr *h = t->h;
	uint64_t now = h->epoch;	/* only the writer stores it */
	struct limbo_batch *b = NULL;

	if (h->limbo_n > 0)
		b = &h->limbo[(h->limbo_first + h->limbo_n - 1) % LIMBO_BATCHES];
	if (b == NULL || (b->epoch != now && h->limbo_n < LIMBO_BATCHES)) {
		b = &h->limbo[(h->limbo_first + h->limbo_n) % LIMBO_BATCHES];
		b->head = b->tail = NIL;
		b->count = 0;
		h->limbo_n++;
	}
	/* Joining the newest batch (even a full ring's) only delays its reuse. */
	b->epoch = now;
	aux_append(t, &b->head, &b->tail, e);
	b->count++;
	h->limbo_count++;
}

/* Writer: remove entry e of key (vni, ip) from its hash chain; returns e. */
uint32_t
table_unlink_hash(struct table *t, uint32_t vni, uint32_t ip, uint32_t e)
{
	uint32_t *pp = table_bucket(t, vni, ip);

	while (*pp != NIL && *pp != e)
		pp = &t->hot[*pp].next;
	if (*pp == e)
		store_idx(pp, t->hot[e].next);
	return e;
}

static void
entry_mark_retired(struct table *t, uint32_t e)
{
	__atomic_or_fetch(&t->hot[e].flags, TABLE_F_RETIRED, __ATOMIC_RELAXED);
}

static int
table_put(struct table *t, uint32_t vni, uint32_t ip, const uint8_t *mac, uint32_t vtep,
    uint64_t version, uint8_t flags)
{
	struct table_hdr *h = t->h;
	uint32_t *pp = table_bucket(t, vni, ip), *bucket = pp;
	uint32_t e = *pp, n;
	bool tomb = flags & TABLE_F_TOMBSTONE, was_tomb;
	struct vni_state *v;
	struct entry_hot *x;

	while (e != NIL && !(t->hot[e].vni == vni && t->hot[e].ip == ip)) {
		pp = &t->hot[e].next;
		e = *pp;
	}
	if (e != NIL && t->hot[e].version >= version) {
		TCOUNT(t, stale, 1);
		return TABLE_STALE;
	}
	if ((v = table_vni_get_or_add(t, vni, 0)) == NULL)
		return -ENOSPC;
	was_tomb = e != NIL && (t->hot[e].flags & TABLE_F_TOMBSTONE);
	if (tomb && h->params.mode == TABLE_HOST) {
		/* A host keeps no tombstones: a delete removes the rule. */
		if (e != NIL) {
			store_idx(pp, t->hot[e].next);
			table_vni_list_unlink(t, v, e);
			entry_mark_retired(t, e);
			table_retire(t, e);
			h->count--;
			__atomic_store_n(&v->live, v->live - 1, __ATOMIC_RELAXED);
		}
		TCOUNT(t, sets, 1);
		return TABLE_APPLIED;
	}
	if (e == NIL && h->count >= h->params.capacity) {
		TCOUNT(t, full, 1);
		return -ENOSPC;
	}
	if ((n = entry_alloc(t)) == NIL) {
		TCOUNT(t, limbo_full, 1);
		return -ENOBUFS;
	}
	x = &t->hot[n];
	x->vni = vni;
	x->ip = ip;
	x->vtep = vtep;
	x->version = version;
	if (mac)
		memcpy(x->mac, mac, 6);
	else
		memset(x->mac, 0, 6);
	x->flags = flags & (TABLE_F_TOMBSTONE | TABLE_F_EXTERNAL);
	x->_pad = 0;
	t->cold[n] = (struct entry_cold){ .aux = NIL };
	if (t->uses != NULL) {
		/*
		 * A host's new rule counts as used now (its first packet went via a gateway
		 * a moment ago). A changed one keeps its last use and its place in the
		 * eviction order: age counts from use, not from the last change.
		 */
		uint32_t now = table_now_s(t);

		t->cold[n].queued = e != NIL ? t->cold[e].queued : now;
		use_store(t, n, e != NIL ? use_load(t, e) : now);
	}
	if (e != NIL) {
		/* Take e's place in its chain: a reader at e still finds the rest. */
		x->next = t->hot[e].next;
		store_idx(pp, n);
	} else {
		x->next = *bucket;
		store_idx(bucket, n);
		h->count++;
	}
	if (e != NIL && t->uses != NULL) {
		table_vni_list_replace(t, v, e, n);
	} else {
		table_vni_list_insert(t, v, n);
		if (e != NIL)
			table_vni_list_unlink(t, v, e);
	}
	if (e != NIL) {
		entry_mark_retired(t, e);
		/* A superseded tombstone stays in its FIFO, which retires it in turn. */
		if (!was_tomb)
			table_retire(t, e);
	}
	if (tomb)
		vni_tomb_push(t, v, n);
	{
		int d_live = !tomb - (e != NIL && !was_tomb);
		int d_tomb = tomb - (e != NIL && was_tomb);

		h->tombs += d_tomb;
		__atomic_store_n(&v->live, v->live + d_live, __ATOMIC_RELAXED);
		__atomic_store_n(&v->tombs, v->tombs + d_tomb, __ATOMIC_RELAXED);
	}
	TCOUNT(t, sets, 1);
	return TABLE_APPLIED;
}

uint32_t
table_requeue(struct table *t, struct vni_state *v, uint32_t e, uint32_t stamp)
{
	uint32_t *pp = table_bucket(t, t->hot[e].vni, t->hot[e].ip), n;

	if ((n = entry_alloc(t)) == NIL)
		return NIL;
	t->hot[n] = t->hot[e];
	t->cold[n] = (struct entry_cold){ .queued = stamp };
	use_store(t, n, stamp);
	/* A listed entry is hashed (table_check): e is in this chain. */
	while (*pp != e)
		pp = &t->hot[*pp].next;
	/* As an update does: n takes e's place in the chain, then joins the list. */
	store_idx(pp, n);
	table_vni_list_insert(t, v, n);
	table_vni_list_unlink(t, v, e);
	entry_mark_retired(t, e);
	table_retire(t, e);
	return n;
}

int
table_set(struct table *t, const struct table_rule *r)
{
	return table_put(t, r->vni, r->ip, r->mac, r->vtep, r->version,
	    r->flags & TABLE_F_EXTERNAL);
}

int
table_delete(struct table *t, uint32_t vni, uint32_t ip, uint64_t version)
{
	return table_put(t, vni, ip, NULL, 0, version, TABLE_F_TOMBSTONE);
}

void
table_maintain(struct table *t)
{
	table_reap(t, false);
	table_reclaim(t);
	seg_heartbeat(&t->seg);
}

void
table_set_peers(struct table *t, const struct table_peer *peers, uint32_t n)
{
	if (n > TABLE_PEERS_MAX)
		n = TABLE_PEERS_MAX;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w;

		memcpy(&w, &peers[i], sizeof(w));
		__atomic_store_n(&t->h->peers[i], w, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&t->h->npeers, n, __ATOMIC_RELEASE);
}

uint32_t
table_peers(const struct table *t, struct table_peer *out, uint32_t max)
{
	uint32_t n = __atomic_load_n(&t->h->npeers, __ATOMIC_ACQUIRE);

	if (n > max)
		n = max;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = __atomic_load_n(&t->h->peers[i], __ATOMIC_RELAXED);

		memcpy(&out[i], &w, sizeof(w));
	}
	return n;
}

void
table_readers(const struct table *t, uint32_t *attached, uint32_t *active)
{
	uint32_t a = 0, b = 0;

	for (uint32_t i = 0; i < t->h->params.max_readers; i++) {
		if (__atomic_load_n(&t->readers[i].pid, __ATOMIC_RELAXED) > 0)
			a++;
		if (__atomic_load_n(&t->readers[i].epoch, __ATOMIC_RELAXED) != EPOCH_IDLE)
			b++;
	}
	*attached = a;
	*active = b;
}

void
table_limbo(const struct table *t, uint32_t *limbo, uint32_t *free_now)
{
	*limbo = __atomic_load_n(&t->h->limbo_count, __ATOMIC_RELAXED);
	*free_now = __atomic_load_n(&t->h->free_count, __ATOMIC_RELAXED) +
	    (t->h->pool + 1 - __atomic_load_n(&t->h->fresh, __ATOMIC_RELAXED));
}
