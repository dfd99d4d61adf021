/*
 * ring: a single-producer / single-consumer ring of fixed-size records in its own
 * segment (vpcfwd.<node>.<producer>.<what>), built on Concurrency Kit's ck_ring: the
 * indices live in a ck_ring_t in shared memory and follow its protocol (the producer
 * publishes p_tail, the consumer publishes c_head), with batch push/pop that publish
 * once per batch and cache the other side's index to keep its cache line still.
 *
 * push never blocks: what does not fit is dropped, counted in the ring header, and
 * reported to the caller (who counts it in its own stats). A consumer with nothing to do
 * may sleep in ring_wait() on a futex in the segment; the producer pays for a wake-up
 * only when the consumer is actually asleep.
 *
 * The producer creates (or, after a restart, re-attaches) the segment; the consumer
 * attaches it, checking the record size and type tag.
 */
#ifndef SHM_RING_H
#define SHM_RING_H

#include "shm/seg.h"

#include <ck_ring.h>
#include <stdint.h>

#define RING_LAYOUT	1
#define RING_CAP_MIN	2
#define RING_CAP_MAX	(1u << 24)
#define RING_REC_MAX	4096

struct ring_hdr {
	uint32_t rec_size;	/* bytes a record */
	uint32_t type_tag;	/* names the record type; checked at attach */
	uint32_t capacity;	/* slots, a power of two; one is kept free (ck_ring) */
	uint32_t data_off;	/* offset of the slots from the segment base */
	uint8_t _pad0[48];
	ck_ring_t ck;		/* c_head, p_tail on separate cache lines */
	uint8_t _pad1[128 - sizeof(ck_ring_t) % 64];
	uint32_t sleeping;	/* consumer: 1 while it is (about to be) in futex wait */
	uint8_t _pad2[60];
	uint32_t wake_seq;	/* producer: bumped before each futex wake */
	uint32_t wake_mode;	/* producer: RING_WAKE_*, how the two sides order sleep */
	uint64_t drops;		/* producer: records dropped because the ring was full */
	uint64_t wakeups;	/* producer: futex wakes issued */
	uint8_t _pad4[40];
};
_Static_assert(sizeof(struct ring_hdr) % 64 == 0, "ring_hdr must fill whole cache lines");
_Static_assert(offsetof(struct ring_hdr, ck) % 64 == 0, "ck_ring must be cache aligned");
_Static_assert(offsetof(struct ring_hdr, sleeping) % 64 == 0, "sleeping on its own line");

/*
 * ring_hdr.wake_mode. With FENCE the producer fences after every publish. With
 * MEMBARRIER the producer process registered for membarrier(2) and the consumer, before
 * it sleeps, makes every registered CPU execute a barrier: the producer then pays
 * nothing and the (idle) consumer a system call.
 */
#define RING_WAKE_FENCE		0
#define RING_WAKE_MEMBARRIER	1

struct ring {
	struct seg seg;
	struct ring_hdr *h;
	char *data;
	uint32_t rec_size;
	uint32_t mask;
	uint32_t peer;		/* last seen index of the other side (c_head or p_tail) */
	bool producer;
	bool asym;		/* producer: RING_WAKE_MEMBARRIER, no fence after a push */
};

/*
 * RING_F_ASYM: the producer pushes without a fence, and the consumer pays for it with a
 * membarrier(2) each time it goes to sleep, which interrupts every CPU running a
 * registered process. For rings pushed to far more often than their consumer sleeps
 * (data paths); a ring that carries a few events a second is better off without.
 */
#define RING_F_ASYM	1u

/* Producer. capacity: slots, power of two in RING_CAP_MIN..RING_CAP_MAX. */
int ring_create(struct ring *r, const char *node, const char *proc, const char *what,
    uint32_t rec_size, uint32_t type_tag, uint32_t capacity, uint32_t flags);
/* Consumer, by segment name. */
int ring_attach(struct ring *r, const char *name, uint32_t rec_size, uint32_t type_tag);
void ring_close(struct ring *r);

/* Enqueue up to n records; returns how many went in (the rest were dropped). */
uint32_t ring_push(struct ring *r, const void *recs, uint32_t n);
/* Dequeue up to max records; returns how many came out. */
uint32_t ring_pop(struct ring *r, void *recs, uint32_t max);
/* Records waiting (a snapshot). */
uint32_t ring_count(const struct ring *r);
/* What a monitor reads of a ring: how full it is, and what it dropped. */
struct ring_occupancy {
	uint32_t capacity;	/* records it can hold: its slots less the one kept free */
	uint32_t used;		/* records waiting */
	uint32_t rec_size;
	uint64_t drops;		/* records the producer dropped because it was full */
};
/*
 * Monitor (vpcfwd-exporter): the occupancy of a ring segment that s attached read-only as
 * a plain segment (seg_attach with SEG_KIND_RING, RING_LAYOUT, SEG_RDONLY): neither side's
 * index is written, no futex touched. -EPROTO when the header does not describe a ring
 * of this segment's size.
 */
int ring_occupancy(const struct seg *s, struct ring_occupancy *out);
/*
 * Consumer: sleep until the ring is not empty, at most timeout_ms (-1: no limit).
 * Returns 1 when records are there, 0 on timeout, -EINTR when a signal came.
 */
int ring_wait(struct ring *r, int timeout_ms);

/*
 * Consumer, for an event loop that cannot block in ring_wait: 1 when records are
 * waiting (pop them; do not sleep); else 0, with the ring marked sleeping and *seq set:
 * wait until ring_wake_word(r) is not *seq (loop_futex_wait), then call ring_sleep_end.
 * A negative errno when a push could go unnoticed (membarrier(2) failed): not marked
 * sleeping; poll instead.
 */
int ring_sleep_begin(struct ring *r, uint32_t *seq);
void ring_sleep_end(struct ring *r);
uint32_t *ring_wake_word(struct ring *r);

/*
 * Typed rings: RING_TYPED(learn, struct learn_req, 0x4c524e31) gives learn_ring_create,
 * learn_ring_attach, learn_ring_push and learn_ring_pop that only take that type.
 */
#define RING_TYPED(name, type, tag)						\
	static inline int name##_ring_create(struct ring *r, const char *node,	\
	    const char *proc, const char *what, uint32_t capacity, uint32_t flags) \
	{ return ring_create(r, node, proc, what, sizeof(type), (tag), capacity,	\
	    flags); }								\
	static inline int name##_ring_attach(struct ring *r, const char *segname) \
	{ return ring_attach(r, segname, sizeof(type), (tag)); }		\
	static inline uint32_t name##_ring_push(struct ring *r, const type *recs, \
	    uint32_t n)								\
	{ return ring_push(r, recs, n); }					\
	static inline uint32_t name##_ring_pop(struct ring *r, type *recs, uint32_t max) \
	{ return ring_pop(r, recs, max); }

#endif
