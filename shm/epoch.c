/*
 * epoch: see epoch.h. Invariant: a slot with epoch != EPOCH_IDLE belongs to a process
 * that was alive when it entered; the writer only clears it after that process is gone.
 */
#include "shm/epoch.h"
#include "common/proc.h"

#include <errno.h>
#include <unistd.h>

#define SLOT_REAPING	(-1)	/* pid while the writer clears a dead reader's slot */

/* Take slot s from pid `expect` (0: free, else a dead process) for (pid, start). */
static bool
slot_claim(struct epoch_slot *s, int32_t expect, int32_t pid, uint64_t start)
{
	if (!__atomic_compare_exchange_n(&s->pid, &expect, pid, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&s->epoch, EPOCH_IDLE, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pid_start, start, __ATOMIC_RELEASE);
	return true;
}

/*
 * A slot whose process is gone. While a claim is in progress (start not yet stored)
 * only the pid can be checked.
 */
static bool
slot_dead(const struct epoch_slot *s, int32_t pid)
{
	uint64_t start = __atomic_load_n(&s->pid_start, __ATOMIC_ACQUIRE);

	if (pid <= 0)
		return false;
	if (start == 0)
		return proc_start_ticks(pid) == 0;
	return !proc_alive(pid, start);
}

int
epoch_reader_claim(struct epoch_slot *slots, uint32_t n, const uint64_t *global,
    struct epoch_reader *r)
{
	int32_t me = getpid();
	uint64_t start = proc_start_ticks(me);

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			int32_t pid = __atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE);

			/* A free slot first; on the second pass, one whose process died. */
			if ((pid == 0 || (pass == 1 && slot_dead(&slots[i], pid))) &&
			    slot_claim(&slots[i], pid, me, start)) {
				r->slot = &slots[i];
				r->global = global;
				r->depth = 0;
				return 0;
			}
		}
	}
	return -EBUSY;
}

void
epoch_reader_release(struct epoch_reader *r)
{
	if (r->slot == NULL)
		return;
	__atomic_store_n(&r->slot->epoch, EPOCH_IDLE, __ATOMIC_RELEASE);
	__atomic_store_n(&r->slot->pid_start, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->slot->pid, 0, __ATOMIC_RELEASE);
	r->slot = NULL;
}

uint64_t
epoch_advance(uint64_t *global)
{
	/*
	 * Release: the unlinks before this point are visible to a reader that sees the new
	 * epoch. seq_cst also orders them before the slot scan that follows (store-load).
	 */
	return __atomic_add_fetch(global, 1, __ATOMIC_SEQ_CST);
}

uint64_t
epoch_min_active(const struct epoch_slot *slots, uint32_t n)
{
	uint64_t min = UINT64_MAX;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = __atomic_load_n(&slots[i].epoch, __ATOMIC_ACQUIRE);

		if (e != EPOCH_IDLE && e < min)
			min = e;
	}
	return min;
}

uint32_t
epoch_reap_dead(struct epoch_slot *slots, uint32_t n, uint64_t older_than,
    uint32_t *stuck_out)
{
	uint32_t reaped = 0, stuck = 0;

	for (uint32_t i = 0; i < n; i++) {
		int32_t pid = __atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE);
		uint64_t e;

		if (pid <= 0)
			continue;
		if (slot_dead(&slots[i], pid)) {
			/*
			 * Lock the slot first: a reader taking it over at the same time must
			 * not have its fresh epoch wiped by us.
			 */
			int32_t expect = pid;

			if (!__atomic_compare_exchange_n(&slots[i].pid, &expect, SLOT_REAPING,
			    false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				continue;
			/* The process is gone, so nothing of it can still be reading. */
			__atomic_store_n(&slots[i].epoch, EPOCH_IDLE, __ATOMIC_RELEASE);
			__atomic_store_n(&slots[i].pid_start, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&slots[i].pid, 0, __ATOMIC_RELEASE);
			reaped++;
			continue;
		}
		e = __atomic_load_n(&slots[i].epoch, __ATOMIC_ACQUIRE);
		if (e != EPOCH_IDLE && e < older_than)
			stuck++;
	}
	if (stuck_out)
		*stuck_out = stuck;
	return reaped;
}
