/*
 * ring: see ring.h. Invariant (ck_ring's): 0 <= p_tail - c_head < capacity, with
 * unsigned wrap-around; slots in [c_head, p_tail) belong to the consumer, the rest to
 * the producer.
 */
#include "shm/ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The ring header sits at the first cache line after the segment header. */
static uint32_t
ring_hdr_off(void)
{
	return (sizeof(struct seg_hdr) + 63) & ~63u;
}

static size_t
ring_size(uint32_t rec_size, uint32_t capacity)
{
	return ring_hdr_off() + sizeof(struct ring_hdr) + (size_t)rec_size * capacity;
}

static void
ring_bind(struct ring *r)
{
	r->h = seg_ptr(&r->seg, ring_hdr_off());
	r->data = seg_ptr(&r->seg, r->h->data_off);
	r->rec_size = r->h->rec_size;
	r->mask = r->h->capacity - 1;
}

static int
ring_fail(struct ring *r, const char *what)
{
	snprintf(r->seg.err, sizeof(r->seg.err), "%s/%.100s: %.100s", SEG_DIR, r->seg.name,
	    what);
	seg_detach(&r->seg);
	return -EPROTO;
}

static int
membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * Producer: register for the consumer's membarrier, so that a push needs no fence.
 * Registration is per process and idempotent.
 */
static bool
ring_register_asym(void)
{
	int cmds = membarrier(MEMBARRIER_CMD_QUERY);

	return cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

static long
futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	/* Not FUTEX_PRIVATE: the word is shared between processes. */
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

int
ring_create(struct ring *r, const char *node, const char *proc, const char *what,
    uint32_t rec_size, uint32_t type_tag, uint32_t capacity, uint32_t flags)
{
	int e;

	memset(r, 0, sizeof(*r));
	if (capacity < RING_CAP_MIN || capacity > RING_CAP_MAX || (capacity & (capacity - 1)) ||
	    rec_size == 0 || rec_size > RING_REC_MAX) {
		snprintf(r->seg.err, sizeof(r->seg.err), "ring %s.%s.%s: capacity must be a power "
		    "of two in %u..%u and records 1..%u bytes", node, proc, what, RING_CAP_MIN,
		    RING_CAP_MAX, RING_REC_MAX);
		return -EINVAL;
	}
	e = seg_create(&r->seg, node, proc, what, SEG_KIND_RING, RING_LAYOUT,
	    ring_size(rec_size, capacity));
	if (e < 0)
		return e;
	r->producer = true;
	r->h = seg_ptr(&r->seg, ring_hdr_off());
	if (r->seg.created) {
		r->h->rec_size = rec_size;
		r->h->type_tag = type_tag;
		r->h->capacity = capacity;
		r->h->data_off = ring_hdr_off() + sizeof(struct ring_hdr);
		ck_ring_init(&r->h->ck, capacity);
	} else if (r->h->rec_size != rec_size || r->h->type_tag != type_tag ||
	    r->h->capacity != capacity) {
		return ring_fail(r, "holds records of another type or size; remove it");
	}
	ring_bind(r);
	r->peer = ck_pr_load_uint(&r->h->ck.c_head);
	r->asym = (flags & RING_F_ASYM) && ring_register_asym();
	ck_pr_store_32(&r->h->wake_mode, r->asym ? RING_WAKE_MEMBARRIER : RING_WAKE_FENCE);
	/* A consumer asleep under the old mode (a producer restarted) must look again. */
	ck_pr_inc_32(&r->h->wake_seq);
	futex(&r->h->wake_seq, FUTEX_WAKE, 1, NULL);
	return 0;
}

int
ring_attach(struct ring *r, const char *name, uint32_t rec_size, uint32_t type_tag)
{
	char msg[160];
	int e;

	memset(r, 0, sizeof(*r));
	e = seg_attach(&r->seg, name, SEG_KIND_RING, RING_LAYOUT, 0, 0);
	if (e < 0)
		return e;
	r->h = seg_ptr(&r->seg, ring_hdr_off());
	if (r->seg.size < ring_size(1, RING_CAP_MIN) || r->h->capacity < RING_CAP_MIN ||
	    r->h->capacity > RING_CAP_MAX || (r->h->capacity & (r->h->capacity - 1)) ||
	    r->h->rec_size == 0 || r->h->rec_size > RING_REC_MAX ||
	    r->seg.size != ring_size(r->h->rec_size, r->h->capacity) ||
	    r->h->ck.size != r->h->capacity)
		return ring_fail(r, "ring header does not match the segment");
	if (r->h->rec_size != rec_size || r->h->type_tag != type_tag) {
		snprintf(msg, sizeof(msg), "records are %u bytes of type %#x, expected %u bytes "
		    "of type %#x", r->h->rec_size, r->h->type_tag, rec_size, type_tag);
		return ring_fail(r, msg);
	}
	ring_bind(r);
	r->peer = ck_pr_load_uint(&r->h->ck.p_tail);
	return 0;
}

void
ring_close(struct ring *r)
{
	seg_detach(&r->seg);
}

/* Copy n records between the ring slots starting at index idx and buf. */
static void
ring_copy(struct ring *r, uint32_t idx, void *buf, uint32_t n, bool to_ring)
{
	uint32_t first = idx & r->mask;
	uint32_t run = r->mask + 1 - first;
	size_t rs = r->rec_size;
	char *slot = r->data + (size_t)first * rs;

	if (run > n)
		run = n;
	if (to_ring) {
		memcpy(slot, buf, run * rs);
		memcpy(r->data, (char *)buf + run * rs, (n - run) * rs);
	} else {
		memcpy(buf, slot, run * rs);
		memcpy((char *)buf + run * rs, r->data, (n - run) * rs);
	}
}

uint32_t
ring_push(struct ring *r, const void *recs, uint32_t n)
{
	ck_ring_t *ck = &r->h->ck;
	uint32_t p = ck->p_tail;	/* only we store it */
	uint32_t room = r->mask - (p - r->peer);

	if (room < n) {
		r->peer = ck_pr_load_uint(&ck->c_head);
		room = r->mask - (p - r->peer);
	}
	if (n > room) {
		ck_pr_store_64(&r->h->drops, r->h->drops + (n - room));
		n = room;
	}
	if (n == 0)
		return 0;
	ring_copy(r, p, (void *)recs, n, true);
	/* Release: slots are written before the consumer can see the new p_tail. */
	ck_pr_fence_store();
	ck_pr_store_uint(&ck->p_tail, p + n);
	/*
	 * Store-load: our p_tail before reading `sleeping` (pairs with ring_wait). Under
	 * RING_WAKE_MEMBARRIER the sleeper's membarrier puts the barrier here for us.
	 */
	if (r->asym)
		ck_pr_barrier();
	else
		ck_pr_fence_memory();
	if (ck_pr_load_32(&r->h->sleeping)) {
		ck_pr_store_32(&r->h->sleeping, 0);
		ck_pr_inc_32(&r->h->wake_seq);
		ck_pr_store_64(&r->h->wakeups, r->h->wakeups + 1);
		futex(&r->h->wake_seq, FUTEX_WAKE, 1, NULL);
	}
	return n;
}

uint32_t
ring_pop(struct ring *r, void *recs, uint32_t max)
{
	ck_ring_t *ck = &r->h->ck;
	uint32_t c = ck->c_head;	/* only we store it */
	uint32_t avail = r->peer - c;

	if (avail < max) {
		r->peer = ck_pr_load_uint(&ck->p_tail);
		avail = r->peer - c;
	}
	if (avail > max)
		avail = max;
	if (avail == 0)
		return 0;
	/* Acquire: pairs with the release of p_tail in ring_push. */
	ck_pr_fence_load();
	ring_copy(r, c, recs, avail, false);
	/* The copy is done before the producer may reuse the slots. */
	ck_pr_fence_release();
	ck_pr_store_uint(&ck->c_head, c + avail);
	return avail;
}

uint32_t
ring_count(const struct ring *r)
{
	return ck_ring_size(&r->h->ck);
}

int
ring_occupancy(const struct seg *s, struct ring_occupancy *out)
{
	const struct ring_hdr *h = seg_ptr(s, ring_hdr_off());
	uint32_t cap, rec, head, tail;

	memset(out, 0, sizeof(*out));
	if (s->size < ring_size(1, RING_CAP_MIN))
		return -EPROTO;
	/* Each loaded once: the check and the use must see the same word. */
	cap = __atomic_load_n(&h->capacity, __ATOMIC_RELAXED);
	rec = __atomic_load_n(&h->rec_size, __ATOMIC_RELAXED);
	if (cap < RING_CAP_MIN || cap > RING_CAP_MAX || (cap & (cap - 1)) || rec == 0 ||
	    rec > RING_REC_MAX || s->size != ring_size(rec, cap))
		return -EPROTO;
	/*
	 * The consumer's head first: the tail only moves on, so a tail loaded after it is
	 * never behind it (the producer publishes p_tail with a release store).
	 */
	head = ck_pr_load_uint(&h->ck.c_head);
	tail = ck_pr_load_uint(&h->ck.p_tail);
	out->capacity = cap - 1;
	out->used = (tail - head) & (cap - 1);
	out->rec_size = rec;
	out->drops = ck_pr_load_64(&h->drops);
	return 0;
}

/*
 * The consumer's side of going to sleep, shared by ring_wait and ring_sleep_begin:
 * take wake_seq, announce the sleep, order the announcement against the producer's
 * publish (a fence here, and under RING_WAKE_MEMBARRIER the producer's barrier too),
 * then look at the ring once more. 1: records are waiting, not sleeping. 0: sleeping;
 * a push after this point changes wake_seq from *seq. A negative errno: still marked
 * sleeping, but a push may have been missed (membarrier failed): do not sleep long.
 */
static int
ring_sleep_prepare(struct ring *r, uint32_t *seq)
{
	ck_ring_t *ck = &r->h->ck;
	int e = 0;

	*seq = ck_pr_load_32(&r->h->wake_seq);
	ck_pr_store_32(&r->h->sleeping, 1);
	/* Store-load: `sleeping` before reading p_tail (pairs with ring_push). */
	ck_pr_fence_memory();
	if (ck_pr_load_32(&r->h->wake_mode) == RING_WAKE_MEMBARRIER &&
	    membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0)
		e = errno > 0 ? -errno : -EINVAL;
	if (ck_pr_load_uint(&ck->p_tail) != ck->c_head) {
		ck_pr_store_32(&r->h->sleeping, 0);
		return 1;
	}
	return e;
}

int
ring_sleep_begin(struct ring *r, uint32_t *seq)
{
	int e = ring_sleep_prepare(r, seq);

	if (e < 0)
		ring_sleep_end(r);
	return e;
}

void
ring_sleep_end(struct ring *r)
{
	ck_pr_store_32(&r->h->sleeping, 0);
}

uint32_t *
ring_wake_word(struct ring *r)
{
	return &r->h->wake_seq;
}

int
ring_wait(struct ring *r, int timeout_ms)
{
	ck_ring_t *ck = &r->h->ck;
	struct timespec ts, *tsp = NULL;
	uint32_t seq;
	long e;
	int s;

	s = ring_sleep_prepare(r, &seq);
	if (s == 1)
		return 1;
	if (s < 0 && timeout_ms < 0)
		timeout_ms = 1;	/* cannot order against the producer: poll instead */
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	e = futex(&r->h->wake_seq, FUTEX_WAIT, seq, tsp);
	ring_sleep_end(r);
	if (e == -1 && errno == EINTR)
		return -EINTR;
	return ck_pr_load_uint(&ck->p_tail) != ck->c_head;
}
