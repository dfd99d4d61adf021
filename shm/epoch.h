/*
 * epoch: epoch-based reclamation across processes, for a shared structure with one
 * writer and many readers.
 *
 * A reader owns a slot (one cache line) in the shared segment and, for the length of a
 * read section, publishes in it the global epoch it saw on entry. The writer retires
 * memory tagged with the global epoch current at the time it unlinked it, and reuses it
 * only once every active reader announced a later epoch: such a reader entered after
 * the unlink and cannot reach it. Readers never wait and make no syscall.
 *
 * A reader that dies inside a section would pin the minimum forever, so the writer
 * reaps slots whose process (pid and start time) is gone: a dead process reads nothing.
 */
#ifndef SHM_EPOCH_H
#define SHM_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EPOCH_IDLE	0	/* slot.epoch while the reader is outside a section */

struct epoch_slot {
	uint64_t epoch;		/* EPOCH_IDLE, or the global epoch seen on entering */
	int32_t pid;		/* 0: free; claimed by compare-and-swap */
	uint32_t _pad0;
	uint64_t pid_start;	/* start time (ticks) of pid; 0 while a claim is in progress */
	uint64_t _pad[5];
};
_Static_assert(sizeof(struct epoch_slot) == 64, "one reader slot a cache line");

struct epoch_reader {
	struct epoch_slot *slot;
	const uint64_t *global;
	uint32_t depth;		/* nesting of read sections, process-local */
};

/*
 * Claim a free slot (or the slot of a dead process) for the calling process.
 * -EBUSY when every slot belongs to a live process.
 */
int epoch_reader_claim(struct epoch_slot *slots, uint32_t n, const uint64_t *global,
    struct epoch_reader *r);
void epoch_reader_release(struct epoch_reader *r);

static inline void
epoch_enter(struct epoch_reader *r)
{
	uint64_t e;

	/* The writer holds no slot: it is the one that frees, so it needs no section. */
	if (r->slot == NULL || r->depth++)
		return;
	/* Acquire: pairs with epoch_advance, so we see every unlink made before it. */
	e = __atomic_load_n(r->global, __ATOMIC_ACQUIRE);
	/*
	 * Store-load barrier: our epoch must be visible before we load any pointer, so a
	 * writer that scans after our loads began sees us. xchg is a full barrier on x86.
	 */
	__atomic_exchange_n(&r->slot->epoch, e, __ATOMIC_SEQ_CST);
#if !defined(__x86_64__) && !defined(__i386__)
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static inline void
epoch_exit(struct epoch_reader *r)
{
	if (r->slot == NULL || --r->depth)
		return;
	/* Release: every load of the section happens before the writer sees us idle. */
	__atomic_store_n(&r->slot->epoch, EPOCH_IDLE, __ATOMIC_RELEASE);
}

/* Writer: start a new epoch; returns it. */
uint64_t epoch_advance(uint64_t *global);
/* Writer: the smallest epoch of an active reader, UINT64_MAX when none is active. */
uint64_t epoch_min_active(const struct epoch_slot *slots, uint32_t n);
/* Memory retired in epoch `tag` may be reused given min_active from the scan above. */
static inline bool
epoch_safe(uint64_t tag, uint64_t min_active)
{
	return tag < min_active;
}
/*
 * Free the slots of processes that no longer exist, whether inside a section or not.
 * Returns how many were reaped; *stuck_out (if not NULL) counts live readers that are
 * inside a section older than `older_than` (they hold reclamation back).
 */
uint32_t epoch_reap_dead(struct epoch_slot *slots, uint32_t n, uint64_t older_than,
    uint32_t *stuck_out);

#endif
