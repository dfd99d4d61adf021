/*
 * table: the versioned rule table of a node, in shared memory, with one writer process
 * (a gateway's rule-store, a host's learner) and many reader processes (forwarder,
 * syncd, vpcfwd-table).
 *
 * A rule maps (VNI, IPv4) to (MAC, VTEP IPv4) and carries the version at which it last
 * changed. Entries are copy-on-write: a change writes a new entry and swings one index,
 * so a reader sees the old or the new entry, never a torn one. Readers take no lock,
 * make no syscall and never wait; replaced entries are reused only after every reader
 * that could hold them has left its read section (shm/epoch.h).
 *
 * Per VNI the table keeps the generation, the current version, the recent versions
 * (the valid ones a learner may sync from) and the entries in version order, so "what
 * changed after version v" costs what it returns. A gateway table keeps deletes as
 * tombstones until no valid version needs them. A host table evicts by last use: its
 * readers' lookups record when each rule was used (the one thing besides their epoch
 * slot they write), and each VNI keeps its entries in eviction order, oldest use first
 * (roughly: see table_evict). docs/shm.md explains the layout.
 *
 * Writer calls return 0 or a positive TABLE_* status, or a negative errno.
 */
#ifndef SHM_TABLE_H
#define SHM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seg;

#define TABLE_LAYOUT		7

/* table_params.mode */
#define TABLE_GATEWAY		1	/* version order, tombstones, change walks */
#define TABLE_HOST		2	/* use stamps, eviction by last use, no tombstones */

/* table_rule.flags */
#define TABLE_F_TOMBSTONE	0x01	/* a delete kept so that learners hear of it */
#define TABLE_F_RETIRED		0x02	/* replaced or removed; only old readers see it */
#define TABLE_F_EXTERNAL	0x04	/* the VTEP is an external host: gateways carry its traffic */

/* Statuses of writer calls. */
#define TABLE_APPLIED		0	/* the change is in */
#define TABLE_STALE		1	/* the table holds this version or a newer one */

/* Answers of table_vni_check(). */
enum table_vcheck {
	TABLE_V_VALID,		/* sync from this version */
	TABLE_V_RELEARN,	/* unknown generation or version: flush and start from 0 */
	TABLE_V_AHEAD,		/* newer than this table: ask another gateway (retry) */
	TABLE_V_NO_VNI,		/* this table holds nothing of the VNI */
	TABLE_V_INCOMPLETE,	/* the writer could not hold all of it: ask another (retry) */
};

/* table_vni_info.flags */
#define TABLE_VNI_INCOMPLETE	0x01	/* a change of the VNI was refused (table full) */

struct table_params {
	uint32_t mode;		/* TABLE_GATEWAY or TABLE_HOST */
	uint32_t capacity;	/* rules, tombstones included: 16..1<<30 */
	uint32_t max_vnis;	/* 1..1<<20 */
	uint32_t version_window;/* versions remembered per VNI: power of two, 4..65536 */
	uint32_t max_readers;	/* reader processes: 1..1024 */
};

struct table_rule {
	uint32_t vni;
	uint32_t ip;		/* IPv4, host byte order */
	uint32_t vtep;		/* IPv4, host byte order */
	uint8_t mac[6];
	uint8_t flags;		/* TABLE_F_* */
	uint8_t _pad;
	uint64_t version;
};

struct table_key {
	uint32_t vni;
	uint32_t ip;
};

struct table_vni_info {
	uint32_t vni;
	uint32_t gen;
	uint64_t version;	/* current */
	uint64_t oldest;	/* oldest valid version besides 0 (== version when none older) */
	uint64_t nversions;	/* versions recorded since the last flush */
	uint64_t flushes;
	uint32_t live;		/* rules */
	uint32_t tombs;		/* tombstones */
	uint32_t flags;		/* TABLE_VNI_* */
};

/* Resume point of a change walk: after (version, ip). Zeroed: from the start. */
struct table_cursor {
	uint64_t version;
	uint32_t ip;
	uint32_t valid;
	/* Host: the entry it stands on and the stamp of its place (eviction moves rules). */
	uint32_t entry;
	uint32_t place;
};

/* Counters the table keeps in its header (the writer updates them). */
#define TABLE_COUNTERS(X)						\
	X(sets,           "changes applied (sets and deletes)")		\
	X(stale,          "changes refused: the table had that version or newer") \
	X(full,           "changes refused: capacity reached")		\
	X(limbo_full,     "changes refused: no free entry, readers hold the rest") \
	X(vnis_full,      "changes refused: max_vnis reached")		\
	X(vnis_limbo_full, "changes refused: no free VNI slot, readers hold dropped ones") \
	X(vnis_dropped,   "VNIs dropped (VPC deleted or no longer held)")	\
	X(vnis_freed,     "VNI slots given back after their grace period") \
	X(reclaimed,      "entries reused after their grace period")	\
	X(readers_reaped, "reader slots freed because their process died") \
	X(evicted,        "rules evicted (host)")			\
	X(evict_kept,     "rules eviction kept: used within max_age, moved behind the unused") \
	X(evict_no_entry, "VNI eviction passes cut short: no free entry to move a used rule") \
	X(tombs_purged,   "tombstones dropped: no valid version needs them") \
	X(flushes,        "VNI flushes")				\
	X(recoveries,     "writer restarts that rebuilt the writer state")

struct table_counters {
#define TABLE_CFIELD_(n, d) uint64_t n;
	TABLE_COUNTERS(TABLE_CFIELD_)
#undef TABLE_CFIELD_
};

struct table;

/*
 * Writer: create vpcfwd.<node>.<proc>.table, or re-attach it after a restart (params
 * must match) and rebuild the writer's state from what readers see, so a writer killed
 * at any point leaves a usable table. err gets one line on failure.
 */
int table_create(struct table **tp, const char *node, const char *proc,
    const struct table_params *p, char *err, size_t errlen);
/* Reader: attach by segment name and claim a reader slot. */
int table_attach(struct table **tp, const char *segname, char *err, size_t errlen);
void table_close(struct table *t);

void table_params_default(struct table_params *p, uint32_t mode);
/* Segment bytes for these params (for sizing, and bytes a rule). */
uint64_t table_size(const struct table_params *p);
const struct table_params *table_params(const struct table *t);
const struct table_counters *table_counters(const struct table *t);
/* Rules and tombstones held. */
uint32_t table_count(const struct table *t);
uint32_t table_live(const struct table *t);

/* Readers: a read section. Cheap (one atomic exchange); they nest. */
void table_read_begin(struct table *t);
void table_read_end(struct table *t);

/* A live rule (not a tombstone) for the key: true and *out filled. */
bool table_lookup(struct table *t, uint32_t vni, uint32_t ip, struct table_rule *out);
/*
 * n lookups with their memory loads overlapped (the data path). hit[i] tells whether
 * out[i] holds a live rule. Returns the number of hits. On a host table each hit also
 * records that the rule is in use now (table_evict keeps it): one relaxed store, made
 * only when the rule's stamp is older than this second, so a flow does not dirty a
 * cache line a packet. Other lookups (table_lookup, table_get) record nothing.
 */
uint32_t table_lookup_batch(struct table *t, const struct table_key *keys, uint32_t n,
    struct table_rule *out, bool *hit);
/* Like table_lookup but returns tombstones too (and their flags). */
bool table_get(struct table *t, uint32_t vni, uint32_t ip, struct table_rule *out);
/*
 * A hint, for a caller about to get or set many keys one at a time (a learner applying a
 * page): (vni, ip)'s bucket is requested from memory now, so that its access, some keys
 * later, does not wait on it. Reads nothing, changes nothing.
 */
void table_prefetch(const struct table *t, uint32_t vni, uint32_t ip);

/* Writer: set a rule (flags 0 or EXTERNAL) or record a delete (table_delete). Never goes back. */
int table_set(struct table *t, const struct table_rule *r);
int table_delete(struct table *t, uint32_t vni, uint32_t ip, uint64_t version);
/*
 * Writer: the VNI reached `version` in generation `gen` (after the changes of that
 * version were set). A new VNI is created; a different generation flushes it first.
 * A version not above the current one is refused with TABLE_STALE.
 */
int table_vni_advance(struct table *t, uint32_t vni, uint32_t gen, uint64_t version);
/*
 * Writer: drop every entry and version of the VNI; it restarts at version 0 in gen.
 * The VNI keeps its slot (its state says which generation it is at).
 */
int table_vni_flush(struct table *t, uint32_t vni, uint32_t gen);
/*
 * Writer: the VNI is gone (its VPC deleted, or no longer held): drop every entry,
 * tombstones included, and its state. Readers find no such VNI afterwards; its slot
 * is given to another VNI once every reader that may still stand on it has left its
 * section. -ENOENT for an unknown VNI.
 */
int table_vni_drop(struct table *t, uint32_t vni);
/*
 * Writer: keep the VNI's entries but forget its history: afterwards it is at
 * (gen, version) and the only valid versions are 0 and version (learners at any other
 * relearn). For a state loaded from a snapshot, whose intermediate versions this table
 * never saw whole. Tombstones no valid version needs are dropped.
 */
int table_vni_rebase(struct table *t, uint32_t vni, uint32_t gen, uint64_t version);

/*
 * Writer: the VNI is (or is again) held whole or not. A gateway whose table refused a
 * change of a VPC must not advertise its versions as complete: readers see the flag
 * in table_vni_get, and table_vni_check answers TABLE_V_INCOMPLETE for every version
 * but 0. Kept across flushes, rebases and writer restarts; -ENOSPC when the VNI has
 * no slot and none is free.
 */
int table_vni_set_incomplete(struct table *t, uint32_t vni, bool incomplete);
/*
 * Writer: changes of VNIs that could get no slot (max_vnis reached) were refused since
 * the table last took a whole snapshot; 0 when none. Readers then know that a VNI the
 * table does not hold may exist all the same.
 */
void table_set_homeless(struct table *t, uint32_t n);
uint32_t table_homeless(const struct table *t);

/* Reader: the VNI's state. -ENOENT when the table has no such VNI. */
int table_vni_get(struct table *t, uint32_t vni, struct table_vni_info *out);
/*
 * Reader: the VNI's valid versions besides 0, oldest first, at most max of them
 * (the newest when there are more). Returns how many, -ENOENT for an unknown VNI.
 */
int table_vni_versions(struct table *t, uint32_t vni, uint64_t *out, uint32_t max);
/* Reader: may a learner at (gen, version) sync incrementally from this table? */
enum table_vcheck table_vni_check(struct table *t, uint32_t vni, uint32_t gen,
    uint64_t version);
/*
 * Reader: the entries of the VNI that changed after `since`, in (version, ip) order,
 * starting after *cur (zeroed for the first page), at most max. Returns how many were
 * written to out, sets *upto to the VNI's version they bring a learner to once the
 * walk is complete, *more when another page follows, and moves *cur. -ESTALE when
 * `since` is not a valid version (relearn), -ENOENT for an unknown VNI, -EAGAIN when
 * `since` is ahead of the table. since = 0 is a full dump: live rules, and, from the
 * second page on, the deletes newer than the cursor (of rules an earlier page may have
 * sent). A host table (eviction order) serves only since = 0, and returns -EAGAIN if
 * the cursor's entry went away or moved meanwhile (start again); a rule that eviction
 * moves to the tail during a walk may be listed twice.
 */
int table_changes(struct table *t, uint32_t vni, uint64_t since, struct table_cursor *cur,
    struct table_rule *out, uint32_t max, uint64_t *upto, bool *more);
/*
 * Writer: call fn for every entry of a gateway VNI in list order, tombstones and
 * entries above the published version (set, not yet advanced) included: what the
 * writer itself holds, not what readers are told. fn must not change the table; a
 * non-zero return stops the walk and is returned. 0 when done, -ENOENT for an unknown
 * VNI, -ENOTSUP on a host table.
 */
int table_vni_foreach(struct table *t, uint32_t vni,
    int (*fn)(const struct table_rule *r, void *arg), void *arg);
/* VNI slots in use (at most max_vnis). */
uint32_t table_vni_count(const struct table *t);
/* Reader: every VNI of the table, up to max; returns the number written. */
uint32_t table_vnis(struct table *t, uint32_t *vnis, uint32_t max);
/*
 * VNI slots: held by a VNI, and held by dropped VNIs until their readers leave
 * (retired). max_vnis less both is what new VNIs can have.
 */
void table_vni_slots(const struct table *t, uint32_t *used, uint32_t *retired);

/*
 * Writer: housekeeping, call it every few milliseconds: reuses retired entries whose
 * grace period is over, frees the slots of dead readers, drops tombstones no valid
 * version needs, stores the heartbeat.
 */
void table_maintain(struct table *t);
/*
 * Writer (host): while more than max_rules are held, evict rules not used (looked up by
 * table_lookup_batch, or installed) for more than max_age_s seconds, the longest unused
 * first within a VNI. A rule at the front of that order that was used within max_age_s
 * is kept and moved behind the others (*kept, counted in evict_kept). At most budget
 * rules are looked at (evicted or kept): when that many were, call again for more.
 * Returns the number evicted; kept may be NULL. A max_rules past
 * TABLE_EVICT_ROOM(capacity) counts as that: a full table would refuse new rules that
 * eviction never made room for.
 */
#define TABLE_EVICT_ROOM(capacity)	((capacity) - (capacity) / 16)
uint32_t table_evict(struct table *t, uint32_t max_rules, uint64_t max_age_s, uint32_t budget,
    uint32_t *kept);

/*
 * The gateways a host's learner syncs from and whether each answers, for the host's
 * forwarder to pick a live one (DESIGN.md §3.10). The writer publishes the whole list;
 * each peer is read whole.
 */
#define TABLE_PEERS_MAX		8
struct table_peer {
	uint32_t addr;		/* IPv4, host byte order */
	uint16_t port;
	uint8_t up;
	uint8_t _pad;
};
_Static_assert(sizeof(struct table_peer) == 8, "a peer is one atomic word");
void table_set_peers(struct table *t, const struct table_peer *peers, uint32_t n);
uint32_t table_peers(const struct table *t, struct table_peer *out, uint32_t max);

/* Writer-defined word kept in the segment (the rule-store's applied log sequence). */
uint64_t table_applied_seq(const struct table *t);
void table_set_applied_seq(struct table *t, uint64_t seq);
/*
 * Another: the history (the controller's epoch) that applied seq belongs to; 0 when
 * not known. The rule-store sets it after the seq once a snapshot is whole, and to 0
 * before a snapshot of another history changes the table.
 */
uint64_t table_applied_epoch(const struct table *t);
void table_set_applied_epoch(struct table *t, uint64_t epoch);

/* What a monitor reads of a table: how full it is. */
struct table_occupancy {
	uint32_t mode;		/* TABLE_GATEWAY or TABLE_HOST, as the segment says */
	uint32_t capacity;	/* rules, tombstones included */
	uint32_t entries;	/* rules and tombstones held */
	uint32_t tombs;		/* tombstones held */
	uint32_t vnis;		/* VNI slots in use */
	uint32_t max_vnis;
};
/*
 * Monitor (vpcfwd-exporter): the occupancy of a table segment that s attached read-only
 * as a plain segment (seg_attach with SEG_KIND_TABLE, TABLE_LAYOUT, SEG_RDONLY), so that
 * nothing is written, not even a reader slot. Each word is loaded once, relaxed; the
 * numbers are the writer's and are not trusted beyond being numbers. -EPROTO when the
 * segment is too small for a table header.
 */
int table_occupancy(const struct seg *s, struct table_occupancy *out);

/* The segment (owner pid, heartbeat, whether its owner is alive: shm/seg.h). */
const struct seg *table_seg(const struct table *t);
/* CLOCK_REALTIME seconds when the table was created. */
uint64_t table_created(const struct table *t);

/* Reader slots in use, and how many of them are inside a read section. */
void table_readers(const struct table *t, uint32_t *attached, uint32_t *active);
/* Entries waiting for their grace period, and entries free now. */
void table_limbo(const struct table *t, uint32_t *limbo, uint32_t *free_now);

/*
 * Writer, or a quiescent table: check every invariant (chains, lists in order, counts,
 * version windows). 0, or -EUCLEAN with the first violation in err.
 */
int table_check(struct table *t, char *err, size_t errlen);

#endif
