/*
 * loop: the io_uring event loop of a control-plane process (controller, rule-store,
 * learner's control side): socket operations are submitted as SQEs and their
 * completions dispatched to callbacks; timers live in the loop and bound the wait.
 * One loop a process, single-threaded.
 *
 * An operation's user_data is a struct loop_op embedded in its owner, so the owner must
 * outlive every operation it has in flight (conn.h counts them for its connections).
 */
#ifndef COMMON_LOOP_H
#define COMMON_LOOP_H

#include "common/clock.h"

#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_op;

/* res and flags of the completion (cqe->res, cqe->flags). */
typedef void loop_cb(struct loop_op *op, int res, uint32_t flags);

struct loop_op {
	loop_cb *cb;
	void *arg;
};

struct loop_timer {
	void (*fn)(struct loop_timer *t);
	void *arg;
	/* the loop's */
	uint64_t due_ns;
	struct loop_timer *next;
	bool armed;
};

struct loop *loop_new(unsigned entries, char *err, size_t errlen);
void loop_free(struct loop *l);
/*
 * An SQE for op (user_data set), submitting what is queued when the ring is full.
 * Never NULL: a loop that cannot get an SQE after submitting is broken and exits.
 */
struct io_uring_sqe *loop_sqe(struct loop *l, struct loop_op *op);
/* A callback for an operation whose result nobody needs (a cancel): it ignores it. */
void loop_op_ignore(struct loop_op *op, int res, uint32_t flags);
/* (Re)arm t to fire once after delay_ns (CLOCK_MONOTONIC). */
void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ns);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/*
 * Run until *stop becomes non-zero (a signal handler sets it): submit, wait for
 * completions or the next timer, dispatch. Returns 0, or a negative errno when the
 * ring fails.
 */
int loop_run(struct loop *l, volatile sig_atomic_t *stop);
/*
 * A trip is one wake-up's work: the completions, the flush, the timers. The longest
 * since the last call (then 0 again), and how many took LOOP_TRIP_SLOW_NS or more.
 */
#define LOOP_TRIP_SLOW_NS	1000000ull
uint64_t loop_trip_max_take(struct loop *l);
uint64_t loop_trips_slow(const struct loop *l);
/*
 * For a clean exit, after the loop's users were freed (freeing cancels what they had in
 * flight and releases their memory on the completions): submit, and dispatch the
 * completions that keep coming until none has for quiet_ns, at most max_ns. Timers do
 * not fire.
 */
void loop_settle(struct loop *l, uint64_t quiet_ns, uint64_t max_ns);
/* What every process waits at its exit: 20 ms without a completion, 1 s at most. */
#define LOOP_SETTLE_QUIET_NS	(20 * NS_PER_MS)
#define LOOP_SETTLE_MAX_NS	NS_PER_S
/*
 * Wait on a futex word shared between processes (a ring's wake word, shm/ring.h): op's
 * callback gets res 0 after a FUTEX_WAKE on addr, or -EAGAIN at once when *addr is not
 * val any more. 0 when armed, -EOPNOTSUPP when the kernel's io_uring cannot wait on a
 * futex (before 6.7): then the caller polls.
 */
int loop_futex_wait(struct loop *l, struct loop_op *op, uint32_t *addr, uint32_t val);
bool loop_has_futex(const struct loop *l);
/*
 * fn(arg) after each batch of completions, before timers fire and the next submit: a
 * data path collects what the completions brought and handles it as one batch.
 */
void loop_set_flush(struct loop *l, void (*fn)(void *arg), void *arg);
/* The ring itself, for what the loop does not wrap (registering provided buffers). */
struct io_uring *loop_ring(struct loop *l);
/*
 * A provided-buffer group id no other user of this ring holds (the ring is shared by
 * every module of the process, and registering a taken id fails), until given back with
 * loop_bgid_put after its buffers were unregistered. -ENOSPC when all LOOP_BGIDS are
 * taken.
 */
#define LOOP_BGIDS	256
int loop_bgid_get(struct loop *l);
void loop_bgid_put(struct loop *l, int bgid);
/* Submit what is queued now (for callers that want an operation started at once). */
int loop_submit(struct loop *l);
uint64_t loop_now(const struct loop *l);	/* monotonic ns at the last wake-up */

#endif
