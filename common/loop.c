/*
 * loop: see loop.h. Invariants: every SQE carries the struct loop_op of its owner as
 * user_data, and a CQE is consumed (the CQ head advanced) before its callback runs, so
 * a callback may free its owner and may queue new SQEs; armed timers form one list
 * sorted by due time (ties in arming order), and a timer armed while timers fire is
 * due strictly later than the pass that armed it, so a timer re-arming itself with a
 * zero delay cannot keep one pass from ending. Futex waits are offered only when
 * loop_new saw the kernel complete a test wait the way a working one does. A
 * provided-buffer group id is held by one user of the ring at a time.
 */
#include "common/loop.h"
#include "common/clock.h"
#include "common/log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The longest wait: *stop is set by a signal handler, and a signal that lands between
 * the check of *stop and the wait does not interrupt the wait.
 */
#define LOOP_WAIT_MAX_NS	1000000000ull

/*
 * IORING_OP_FUTEX_WAIT (kernel 6.7) is newer than liburing 2.3's headers. Its SQE, as
 * io_uring/futex.c reads it: the futex2 flags in fd (a 32-bit word, not
 * FUTEX2_PRIVATE: the word is shared between processes), the address in addr, the
 * expected value in addr2, the wake bitset in addr3; len, rw_flags, buf_index and
 * file_index zero.
 */
#define LOOP_OP_FUTEX_WAIT		51
#define LOOP_FUTEX2_SIZE_U32		0x02
#define LOOP_FUTEX_BITSET_MATCH_ANY	0xffffffffu
#define LOOP_PROBE_WAIT_S		1	/* the test wait ends at once; bound it anyway */

struct loop {
	struct io_uring ring;
	struct loop_timer *timers;	/* armed, sorted by due_ns */
	uint64_t now_ns;
	bool has_futex;			/* IORING_OP_FUTEX_WAIT works */
	void (*flush)(void *arg);	/* after each batch of completions */
	void *flush_arg;
	uint64_t trip_max_ns;		/* the longest trip since loop_trip_max_take */
	uint64_t trips_slow;		/* trips of LOOP_TRIP_SLOW_NS or more */
	uint64_t bgids[LOOP_BGIDS / 64];	/* provided-buffer group ids taken */
};

static void
loop_prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *addr, uint32_t val)
{
	io_uring_prep_rw(LOOP_OP_FUTEX_WAIT, sqe, LOOP_FUTEX2_SIZE_U32, addr, 0, val);
	sqe->addr3 = LOOP_FUTEX_BITSET_MATCH_ANY;
}

/*
 * Whether the kernel's io_uring waits on futexes: the probe must list the opcode (a
 * liburing 2.3 probe has room for 256 opcodes, so it reports ones its headers do not
 * name), and a wait on a word that does not hold the expected value must fail with
 * -EAGAIN at once, as futex(2) does: that also checks the SQE's encoding. Runs on the
 * fresh ring, before any other SQE; the test CQE carries no loop_op.
 */
static bool
loop_probe_futex(struct loop *l)
{
	static uint32_t word;	/* 0; static: it outlives a wait that would not end */
	struct __kernel_timespec ts = { .tv_sec = LOOP_PROBE_WAIT_S };
	struct io_uring_probe *probe;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool listed;
	int r, res;

	if ((probe = io_uring_get_probe_ring(&l->ring)) == NULL)
		return false;
	listed = probe->ops_len > LOOP_OP_FUTEX_WAIT &&
	    io_uring_opcode_supported(probe, LOOP_OP_FUTEX_WAIT);
	io_uring_free_probe(probe);
	if (!listed || (sqe = io_uring_get_sqe(&l->ring)) == NULL)
		return false;
	io_uring_sqe_set_data(sqe, NULL);
	loop_prep_futex_wait(sqe, &word, 1);
	r = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
	if (r < 0 || cqe == NULL)
		return false;
	res = cqe->res;
	io_uring_cqe_seen(&l->ring, cqe);
	return res == -EAGAIN;
}

struct loop *
loop_new(unsigned entries, char *err, size_t errlen)
{
	struct loop *l;
	int r;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "loop: out of memory");
		return NULL;
	}
	/*
	 * Keep submitting past an SQE the kernel refuses: it fails alone, in its CQE.
	 * One thread submits and reaps, and it enters the kernel every trip through the
	 * loop: completions' task work can wait for that (COOP_TASKRUN) instead of
	 * interrupting it. Older kernels get what they know.
	 */
	r = io_uring_queue_init(entries, &l->ring, IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER);
	if (r == -EINVAL)
		r = io_uring_queue_init(entries, &l->ring, IORING_SETUP_SUBMIT_ALL);
	if (r == -EINVAL)
		r = io_uring_queue_init(entries, &l->ring, 0);
	if (r < 0) {
		snprintf(err, errlen, "io_uring_queue_init(%u): %s", entries, strerror(-r));
		free(l);
		return NULL;
	}
	l->has_futex = loop_probe_futex(l);
	l->now_ns = clock_mono_ns();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	io_uring_queue_exit(&l->ring);
	free(l);
}

struct io_uring_sqe *
loop_sqe(struct loop *l, struct loop_op *op)
{
	struct io_uring_sqe *sqe;
	int r;

	if ((sqe = io_uring_get_sqe(&l->ring)) == NULL) {
		if ((r = io_uring_submit(&l->ring)) < 0)
			log_warnx("loop: io_uring_submit: %s", strerror(-r));
		if ((sqe = io_uring_get_sqe(&l->ring)) == NULL)
			fatalx("loop: no submission queue entry after submitting");
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

int
loop_submit(struct loop *l)
{
	int r = io_uring_submit(&l->ring);

	return r < 0 ? r : 0;
}

uint64_t
loop_now(const struct loop *l)
{
	return l->now_ns;
}

int
loop_futex_wait(struct loop *l, struct loop_op *op, uint32_t *addr, uint32_t val)
{
	if (!l->has_futex)
		return -EOPNOTSUPP;
	loop_prep_futex_wait(loop_sqe(l, op), addr, val);
	return 0;
}

bool
loop_has_futex(const struct loop *l)
{
	return l->has_futex;
}

static void
timer_unlink(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **pp;

	for (pp = &l->timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->next = NULL;
	t->armed = false;
}

void
loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ns)
{
	struct loop_timer **pp;
	uint64_t due;

	if (t->armed)
		timer_unlink(l, t);
	due = clock_mono_ns() + delay_ns;
	/* Not due in the pass that is firing timers now (see the file's comment). */
	if (due <= l->now_ns)
		due = l->now_ns + 1;
	t->due_ns = due;
	for (pp = &l->timers; *pp != NULL && (*pp)->due_ns <= due; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	t->armed = true;
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (t->armed)
		timer_unlink(l, t);
}

/* Fire the timers due at l->now_ns; each may arm or cancel any timer, itself included. */
static void
loop_fire_timers(struct loop *l)
{
	struct loop_timer *t;

	while ((t = l->timers) != NULL && t->due_ns <= l->now_ns) {
		l->timers = t->next;
		t->next = NULL;
		t->armed = false;
		t->fn(t);
	}
}

/*
 * Dispatch the completions present now. Completions that callbacks cause arrive in
 * the next round, so a busy connection cannot keep timers from firing.
 */
static void
loop_dispatch(struct loop *l)
{
	unsigned n = io_uring_cq_ready(&l->ring);
	struct io_uring_cqe *cqe;
	struct loop_op *op;
	uint32_t flags;
	int res;

	while (n-- > 0) {
		if (io_uring_peek_cqe(&l->ring, &cqe) != 0 || cqe == NULL)
			break;
		op = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		flags = cqe->flags;
		io_uring_cqe_seen(&l->ring, cqe);
		if (op != NULL && op->cb != NULL)
			op->cb(op, res, flags);
	}
}

void
loop_settle(struct loop *l, uint64_t quiet_ns, uint64_t max_ns)
{
	uint64_t end = clock_mono_ns() + max_ns;
	struct __kernel_timespec ts = { .tv_sec = (long long)(quiet_ns / 1000000000u),
	    .tv_nsec = (long long)(quiet_ns % 1000000000u) };
	struct io_uring_cqe *cqe;

	while (clock_mono_ns() < end) {
		if (io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL) < 0 &&
		    io_uring_cq_ready(&l->ring) == 0)
			return;	/* quiet for quiet_ns (or the ring failed): done */
		l->now_ns = clock_mono_ns();
		loop_dispatch(l);
	}
}

struct io_uring *
loop_ring(struct loop *l)
{
	return &l->ring;
}

int
loop_bgid_get(struct loop *l)
{
	for (int i = 0; i < LOOP_BGIDS; i++)
		if (!(l->bgids[i / 64] & 1ull << (i % 64))) {
			l->bgids[i / 64] |= 1ull << (i % 64);
			return i;
		}
	return -ENOSPC;
}

void
loop_bgid_put(struct loop *l, int bgid)
{
	assert(bgid >= 0 && bgid < LOOP_BGIDS && (l->bgids[bgid / 64] & 1ull << (bgid % 64)));
	l->bgids[bgid / 64] &= ~(1ull << (bgid % 64));
}

void
loop_set_flush(struct loop *l, void (*fn)(void *arg), void *arg)
{
	l->flush = fn;
	l->flush_arg = arg;
}

int
loop_run(struct loop *l, volatile sig_atomic_t *stop)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	uint64_t wait_ns, now, start, trip;
	int r;

	while (!*stop) {
		now = clock_mono_ns();
		wait_ns = LOOP_WAIT_MAX_NS;
		if (l->timers != NULL) {
			if (l->timers->due_ns <= now)
				wait_ns = 0;
			else if (l->timers->due_ns - now < wait_ns)
				wait_ns = l->timers->due_ns - now;
		}
		if (wait_ns == 0 || io_uring_cq_ready(&l->ring) > 0) {
			r = io_uring_submit(&l->ring);
		} else {
			ts.tv_sec = (long long)(wait_ns / 1000000000u);
			ts.tv_nsec = (long long)(wait_ns % 1000000000u);
			r = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
		}
		/*
		 * -ETIME: the timer's due; -EINTR: a signal (perhaps the one setting *stop);
		 * -EAGAIN, -EBUSY: the kernel is short of memory or the CQ is backed up,
		 * which dispatching below relieves. Anything else: the ring is broken.
		 */
		if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
			return r;
		l->now_ns = clock_mono_ns();
		start = l->now_ns;
		loop_dispatch(l);
		if (l->flush != NULL)
			l->flush(l->flush_arg);
		l->now_ns = clock_mono_ns();
		loop_fire_timers(l);
		/* A trip's work, from the wake-up to the next wait: what stalls the rest. */
		trip = clock_mono_ns() - start;
		if (trip > l->trip_max_ns)
			l->trip_max_ns = trip;
		l->trips_slow += trip >= LOOP_TRIP_SLOW_NS;
	}
	return 0;
}

uint64_t
loop_trip_max_take(struct loop *l)
{
	uint64_t v = l->trip_max_ns;

	l->trip_max_ns = 0;
	return v;
}

uint64_t
loop_trips_slow(const struct loop *l)
{
	return l->trips_slow;
}

void
loop_op_ignore(struct loop_op *op, int res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}
