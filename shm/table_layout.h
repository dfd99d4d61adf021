/*
 * table_layout: the rule table's memory layout and the helpers its modules share.
 * Internal to shm/table*.c: everything else uses shm/table.h.
 *
 * Segment: seg_hdr | table_hdr | reader slots | use stamps (host tables; these two, on
 * pages of their own, are all a reader writes) | VNI directory | VNI states | buckets |
 * hot entries | cold entries.
 * Every reference is a 32-bit index or an offset from the segment base, never a
 * pointer, so each process may map the segment anywhere (docs/shm.md says why).
 * Entry 0 is never used: index 0 means "none".
 */
#ifndef SHM_TABLE_LAYOUT_H
#define SHM_TABLE_LAYOUT_H

#include "shm/epoch.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <stddef.h>
#include <stdint.h>

#define NIL		0u
#define LIMBO_BATCHES	64	/* epochs with entries waiting; older ones merge */
#define VSLOT_NONE	UINT32_MAX	/* no VNI state slot (ends the slot free list, limbo) */
/* A directory word whose VNI was dropped: not empty, so probes go on past it. */
#define DIR_DEAD	1ull

/*
 * What a lookup reads: one 32-byte, 32-aligned line half. Immutable while reachable,
 * except flags, which only gains TABLE_F_RETIRED.
 */
struct entry_hot {
	uint32_t vni;
	uint32_t ip;
	uint32_t next;		/* hash chain */
	uint32_t vtep;
	uint64_t version;
	uint8_t mac[6];
	uint8_t flags;
	uint8_t _pad;
};
_Static_assert(sizeof(struct entry_hot) == 32, "hot entry is half a cache line");

/* What only the writer and change walks read. */
struct entry_cold {
	uint32_t prev;		/* VNI list, writer only */
	uint32_t lnext;		/* VNI list: version (gateway) or eviction (host) order */
	union {
		/* Tombstone FIFO (gateway), limbo or free list link. */
		uint32_t aux;
		/*
		 * Host, while listed (a host has no tombstone FIFO): the entry's use stamp
		 * when it joined its place in the list, which is the list's order
		 * (table_maint.c, table_evict).
		 */
		uint32_t queued;
	};
};
_Static_assert(sizeof(struct entry_cold) == 12, "cold entry layout changed");

/*
 * A VNI's published state, double-buffered: the writer fills the copy readers are not
 * told to use, then flips vni_state.pub. A writer that dies mid-update leaves the
 * published copy whole.
 */
struct vni_meta {
	uint64_t seq;		/* == pub when complete; 0 while being written */
	uint64_t version;
	uint64_t hist_n;	/* versions appended to hist since the last flush */
	uint64_t flushes;
	uint32_t gen;
	uint32_t flags;		/* TABLE_VNI_* */
	uint64_t _pad2[3];
};
_Static_assert(sizeof(struct vni_meta) == 64, "vni_meta is a cache line");

/* A version the VNI had, and the first entry with a version >= it (change walks). */
struct hist_slot {
	uint64_t version;
	uint32_t start;
	uint32_t _pad;
};

/*
 * A slot is live while the directory points at it. A dropped VNI's slot leaves the
 * directory, waits in the slot limbo until every reader that may have found it has
 * left its section (the epoch it left in is `retired`), then joins the free list.
 */
struct vni_state {
	struct vni_meta meta[2];
	uint64_t pub;		/* seq of the published meta: meta[pub & 1] */
	uint32_t vni;
	uint32_t in_use;	/* writer only: 1 while in the directory */
	uint32_t head;		/* first entry of the list (readers start here) */
	uint32_t tail;		/* writer only, like the rest of this line */
	uint32_t tomb_head;
	uint32_t tomb_tail;
	uint32_t live;		/* rules of this VNI (relaxed: informational for readers) */
	uint32_t tombs;		/* tombstones of this VNI */
	uint64_t retired;	/* writer only: epoch when the slot left the directory */
	uint32_t link;		/* writer only: next slot in the slot limbo or free list */
	uint8_t _pad[12];
	struct hist_slot hist[];	/* version_window slots, a ring indexed by hist_n */
};
_Static_assert(sizeof(struct vni_state) == 192, "vni_state layout changed");

/* Entries retired in one epoch, waiting for every reader to pass it. */
struct limbo_batch {
	uint64_t epoch;
	uint32_t head, tail;
	uint32_t count;
	uint32_t _pad;
};

struct table_hdr {
	struct table_params params;
	uint32_t pool;		/* entries allocated: capacity + slack; indices 1..pool */
	uint32_t nbuckets;	/* 2 a rule of capacity (table_bucket_of) */
	uint32_t dir_size;	/* VNI directory slots, power of two */
	uint32_t vni_size;	/* bytes of one vni_state with its history */
	uint64_t readers_off, dir_off, vni_off, buckets_off, hot_off, cold_off;
	uint64_t created_s;	/* CLOCK_REALTIME seconds, for people */
	uint64_t applied_seq;
	uint64_t applied_epoch;	/* the history applied_seq belongs to (the writer's too) */
	uint64_t uses_off;	/* host: pool + 1 use stamps; gateway: none (== dir_off) */

	/* Writer state. Rebuilt from the reader-visible structures after a crash. */
	uint32_t count;		/* entries reachable from the buckets: rules + tombstones */
	uint32_t tombs;
	uint32_t free_head;
	uint32_t free_count;
	uint32_t limbo_count;
	uint32_t limbo_first;	/* oldest batch in limbo[] */
	uint32_t limbo_n;	/* batches in use */
	uint32_t vnis;		/* VNI states in the directory (live VNIs) */
	uint32_t evict_cursor;	/* VNI slot where the next eviction pass starts */
	uint32_t clean;		/* 1 after table_close by the writer: no rebuild needed */
	uint32_t fresh;		/* next never-used entry; entries >= fresh are all free */
	uint32_t vni_fresh;	/* next never-used VNI slot; slots >= vni_fresh are all free */
	uint32_t vni_free;	/* free VNI slots, linked through vni_state.link */
	uint32_t vni_free_n;
	uint32_t vni_limbo_head;/* dropped VNI slots in drop order (so in epoch order) */
	uint32_t vni_limbo_tail;
	uint32_t vni_limbo_n;
	uint32_t homeless;	/* table_set_homeless: readers read it too */
	uint64_t created_mono_s;/* CLOCK_MONOTONIC seconds at creation: stamps count from here */
	uint64_t last_reap_ns;
	struct limbo_batch limbo[LIMBO_BATCHES];
	struct table_counters counters;
	/* Published by the writer for readers: struct table_peer, one word each. */
	uint32_t npeers;
	uint32_t _pad4;
	uint64_t peers[TABLE_PEERS_MAX];

	/* Readers load this on every read section: keep it off the writer's lines. */
	uint8_t _pad1[64] __attribute__((aligned(64)));
	uint64_t epoch __attribute__((aligned(64)));
	uint8_t _pad2[56];
};
_Static_assert(sizeof(struct table_hdr) == 2112, "table header layout changed");
/* The padding before the readers' line can absorb a new field: this cannot. */
_Static_assert(offsetof(struct table_hdr, peers) + sizeof(((struct table_hdr *)0)->peers) == 1944,
    "table header layout changed");
_Static_assert(offsetof(struct table_hdr, epoch) % 64 == 0, "the epoch has a line of its own");

/* Process-local handle. */
struct table {
	struct seg seg;
	struct table_hdr *h;
	struct epoch_slot *readers;
	uint64_t *dir;			/* (vni + 1) << 32 | state slot; 0 empty */
	char *vni_base;
	uint32_t *uses;			/* host tables; NULL on a gateway's */
	uint32_t *buckets;
	struct entry_hot *hot;
	struct entry_cold *cold;
	uint32_t nbuckets;
	uint32_t dir_mask;
	uint32_t hist_mask;
	uint32_t hist_valid;		/* versions a reader may use: the window less a guard */
	bool writer;
	struct epoch_reader rd;
};

static inline uint64_t
table_hash(uint32_t vni, uint32_t ip)
{
	uint64_t x = ((uint64_t)vni << 32) | ip;

	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return x;
}

/*
 * The bucket of a key: the hash's high half scaled to nbuckets (a multiply and a shift,
 * no modulo), so nbuckets need not be a power of two and the buckets cost the same
 * per rule at every capacity.
 */
static inline uint32_t
table_bucket_of(const struct table *t, uint32_t vni, uint32_t ip)
{
	return (uint32_t)(((table_hash(vni, ip) >> 32) * t->nbuckets) >> 32);
}

static inline uint32_t *
table_bucket(struct table *t, uint32_t vni, uint32_t ip)
{
	return &t->buckets[table_bucket_of(t, vni, ip)];
}

static inline struct vni_state *
vni_at(const struct table *t, uint32_t slot)
{
	return (struct vni_state *)(t->vni_base + (size_t)slot * t->h->vni_size);
}

static inline uint32_t
load_idx(const uint32_t *p)
{
	/* Acquire: pairs with the release store that published the entry. */
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
store_idx(uint32_t *p, uint32_t v)
{
	/* Release: the entry's contents are written before it can be reached. */
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void
entry_copy(const struct entry_hot *e, struct table_rule *out)
{
	out->vni = e->vni;
	out->ip = e->ip;
	out->vtep = e->vtep;
	__builtin_memcpy(out->mac, e->mac, 6);
	out->flags = __atomic_load_n(&e->flags, __ATOMIC_RELAXED);
	out->_pad = 0;
	out->version = e->version;
}

/* Append e to a writer-only list linked through cold.aux (limbo, tombstone FIFO). */
static inline void
aux_append(struct table *t, uint32_t *head, uint32_t *tail, uint32_t e)
{
	t->cold[e].aux = NIL;
	if (*tail == NIL)
		*head = e;
	else
		t->cold[*tail].aux = e;
	*tail = e;
}

/*
 * Host tables: a use stamp an entry (seconds since the table was created, as every
 * stamp), in an array of its own that readers map writable. The writer sets it when
 * it makes the entry (the install time, or the stamp of the entry it replaces);
 * table_lookup_batch raises it to the current second, with a relaxed store made only
 * when it changed. Nothing else is stored there and nothing is derived from it but
 * eviction order, so a reader that dies, or writes nonsense, costs no more than a
 * rule kept or evicted.
 */
static inline uint32_t
use_load(const struct table *t, uint32_t e)
{
	/* Relaxed: a hint written by readers, ordered with nothing. */
	return __atomic_load_n(&t->uses[e], __ATOMIC_RELAXED);
}

static inline void
use_store(struct table *t, uint32_t e, uint32_t s)
{
	__atomic_store_n(&t->uses[e], s, __ATOMIC_RELAXED);
}

#define TCOUNT(t, f, n) \
	__atomic_store_n(&(t)->h->counters.f, (t)->h->counters.f + (n), __ATOMIC_RELAXED)

/* table_vni.c, for table.c and table_maint.c */
struct vni_state *table_vni_find(struct table *t, uint32_t vni, uint32_t *slot);
/* The VNI's state, made if new; NULL (counted) when no slot is free. */
struct vni_state *table_vni_get_or_add(struct table *t, uint32_t vni, uint32_t gen);
/* Put slot s in the slot limbo, tagged with the current epoch. */
void table_vni_slot_retire(struct table *t, uint32_t s);
/* Move slots of the slot limbo whose grace period is over (min_active) to the free list. */
void table_vni_slot_reclaim(struct table *t, uint64_t min_active);
void table_vni_meta_read(const struct vni_state *v, struct vni_meta *m);
void table_vni_meta_write(struct vni_state *v, const struct vni_meta *m);
void table_vni_list_insert(struct table *t, struct vni_state *v, uint32_t e);
void table_vni_list_unlink(struct table *t, struct vni_state *v, uint32_t e);
/* Host: n takes listed entry e's place in v's list (a change keeps the rule's place). */
void table_vni_list_replace(struct table *t, struct vni_state *v, uint32_t e, uint32_t n);
/* Tombstones wait in a FIFO per VNI, in version order, until no version needs them. */
static inline void
vni_tomb_push(struct table *t, struct vni_state *v, uint32_t e)
{
	aux_append(t, &v->tomb_head, &v->tomb_tail, e);
}
uint64_t table_vni_oldest_valid(const struct table *t, const struct vni_state *v,
    const struct vni_meta *m);

/* table.c, for the other modules */
void table_retire(struct table *t, uint32_t e);
/*
 * Host: move listed entry e of v to the tail of its list with queued = use = stamp, as
 * a copy (readers standing on e go on as after any replacement). The copy, or NIL
 * when no entry is free.
 */
uint32_t table_requeue(struct table *t, struct vni_state *v, uint32_t e, uint32_t stamp);
/* End a grace period: reuse what no reader can hold. */
void table_reclaim(struct table *t);
/* Free the reader slots of dead processes (force: now, else at most every 100 ms). */
bool table_reap(struct table *t, bool force);
uint32_t table_unlink_hash(struct table *t, uint32_t vni, uint32_t ip, uint32_t e);
uint32_t table_now_s(const struct table *t);

/* table_maint.c */
int table_recover(struct table *t, char *err, size_t errlen);
void table_vni_purge_tombs(struct table *t, struct vni_state *v, uint64_t upto);

#endif
