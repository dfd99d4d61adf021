/*
 * ringwatch_test: a ring's consumer inside the io_uring loop, and the loop's futex
 * waits under it. A FUTEX_WAKE from another process ends a loop futex wait on a
 * MAP_SHARED word; a wait on a word that moved fails with -EAGAIN at once; a cancelled
 * one ends. A producer process pushes records with pauses and the watch hands every one
 * over in order, woken by the producer (its futex wake count) rather than polling; a
 * ring created after the watch started is picked up, and a producer's restart is
 * followed; the polling fallback gets every record without a single wake-up; a callback
 * that leaves records is called again; ringwatch_free with a wait in flight, or from the
 * callback, ends cleanly (the ASan build checks the frees).
 *
 * No timing is asserted: how soon a record is handed over is logged (cr_log_info).
 */
#include "common/clock.h"
#include "common/loop.h"
#include "common/mix.h"
#include "shm/ring.h"
#include "shm/ringwatch.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(20000 * MS)	/* a test that gets nowhere fails instead of hanging */
#define TAG		0x55545257u	/* "UTRW" */
#define CAP		256
#define NRECS		600		/* records a producer pushes */
#define BATCH_MAX	5		/* records a push, at most */
#define PAUSE_US_MAX	400		/* pause after a push, at most */
#define PROC		"rwt"
#define LOOP_ENTRIES	64		/* the ring new_loop() asks for */

#include "tests/unit/looptest.h"

struct rec {
	uint64_t seq;
	uint64_t check;
	uint64_t push_ns;	/* CLOCK_MONOTONIC when pushed */
};

/* No Criterion .timeout (see conn_test.c): run_until() bounds every wait. */
TestSuite(loop_futex, .init = ut_init, .fini = ut_fini);
TestSuite(ringwatch, .init = ut_init, .fini = ut_fini);

static long
futex_wake(uint32_t *word)
{
	/* Not FUTEX_PRIVATE: the word is shared between processes. */
	return syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* loop futex waits */

struct waiter {
	struct loop_op op;
	int calls;
	int res;
};

static void
waiter_done(struct loop_op *op, int res, uint32_t flags)
{
	struct waiter *w = op->arg;

	(void)flags;
	w->calls++;
	w->res = res;
	stop = 1;
}

static void
nop_done(struct loop_op *op, int res, uint32_t flags)
{
	(void)op;
	(void)res;
	(void)flags;
}

/* Wake whoever waits on the word, without changing it: only a real wake ends a wait. */
static int
waker(void *arg)
{
	uint32_t *word = arg;

	ut_ready();
	for (int i = 0; i < 5000; i++) {
		long n = futex_wake(word);

		if (n == 1)
			return 0;
		if (n < 0)
			return 2;
		usleep(1000);
	}
	return 1;	/* nobody waited */
}

Test(loop_futex, wake_from_another_process_ends_the_wait)
{
	struct waiter w = { .op = { .cb = waiter_done, .arg = &w } };
	uint32_t *word;
	pid_t pid;

	new_loop();
	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(word, MAP_FAILED);
	*word = 7;
	if (!loop_has_futex(L)) {
		cr_assert_eq(loop_futex_wait(L, &w.op, word, 7), -EOPNOTSUPP);
		cr_log_warn("this kernel's io_uring has no futex waits: nothing more to test");
		loop_free(L);
		return;
	}
	cr_assert_eq(loop_futex_wait(L, &w.op, word, 7), 0);
	cr_assert_eq(loop_submit(L), 0);	/* armed before the waker starts */
	pid = ut_spawn(waker, word);
	cr_assert_gt(pid, 0);
	run_until(NULL);
	cr_assert_eq(w.calls, 1);
	cr_assert_eq(w.res, 0, "the wait ended with %d (%s)", w.res, strerror(-w.res));
	cr_assert_eq(ut_wait(pid), 0, "the waker found no waiter");
	munmap(word, 4096);
	loop_free(L);
}

Test(loop_futex, wait_on_a_word_that_moved_fails_at_once)
{
	struct waiter w = { .op = { .cb = waiter_done, .arg = &w } };
	uint32_t word = 5;

	new_loop();
	if (!loop_has_futex(L)) {
		cr_assert_eq(loop_futex_wait(L, &w.op, &word, 4), -EOPNOTSUPP);
		loop_free(L);
		return;
	}
	cr_assert_eq(loop_futex_wait(L, &w.op, &word, 4), 0);
	run_until(NULL);
	cr_assert_eq(w.calls, 1);
	cr_assert_eq(w.res, -EAGAIN);
	loop_free(L);
}

Test(loop_futex, cancelled_wait_ends)
{
	struct waiter w = { .op = { .cb = waiter_done, .arg = &w } };
	struct loop_op cancel = { .cb = nop_done };
	uint32_t word = 5;

	new_loop();
	if (!loop_has_futex(L)) {
		loop_free(L);
		cr_skip_test("no io_uring futex waits on this kernel");
	}
	cr_assert_eq(loop_futex_wait(L, &w.op, &word, 5), 0);
	cr_assert_eq(loop_submit(L), 0);
	io_uring_prep_cancel(loop_sqe(L, &cancel), &w.op, 0);
	run_until(NULL);
	cr_assert_eq(w.calls, 1);
	cr_assert_eq(w.res, -ECANCELED);
	loop_free(L);
}

/* ringwatch */

static uint64_t
check_of(uint64_t seq)
{
	return seq * 0x9e3779b97f4a7c15ull ^ 0x5555aaaa5555aaaaull;
}

static const char *
segname(char *buf, size_t len, const char *what)
{
	return ut_segname(buf, len, PROC, what);
}

static int
rcreate(struct ring *r, const char *what)
{
	return ring_create(r, ut_node(), PROC, what, sizeof(struct rec), TAG, CAP, 0);
}

static uint32_t
push(struct ring *r, uint64_t first, uint32_t n)
{
	struct rec b[BATCH_MAX * 4];
	uint64_t now = clock_mono_ns();

	for (uint32_t i = 0; i < n; i++)
		b[i] = (struct rec){ .seq = first + i, .check = check_of(first + i),
		    .push_ns = now };
	return ring_push(r, b, n);
}

struct producer {
	const char *what;
	uint64_t first;		/* seq of its first record */
	uint64_t n;		/* records it pushes */
	useconds_t delay_us;	/* before it creates the ring */
};

/*
 * A producer process: create (or re-attach) the ring, push n records in batches of
 * 1..BATCH_MAX with pauses of 0..PAUSE_US_MAX, and exit. 0 when all went in.
 */
static int
producer_main(void *arg)
{
	const struct producer *a = arg;
	uint64_t seq = a->first, end = a->first + a->n, x = 0;
	struct ring p;

	ut_ready();
	if (a->delay_us > 0)
		usleep(a->delay_us);
	if (rcreate(&p, a->what) != 0)
		return 1;
	while (seq < end) {
		uint32_t n = 1 + (uint32_t)(mix64(seq ^ x++) % BATCH_MAX);

		if (n > end - seq)
			n = (uint32_t)(end - seq);
		if (push(&p, seq, n) != n)
			return 2;	/* the consumer fell CAP records behind */
		seq += n;
		usleep((useconds_t)(mix64(seq) % (PAUSE_US_MAX + 1)));
	}
	ring_close(&p);
	return 0;
}

/* What the consumer's callback saw. */
struct consumer {
	uint64_t next;		/* seq expected next */
	uint64_t want;		/* stop the loop when next reaches it */
	uint64_t calls;
	uint64_t empty_calls;	/* called with nothing to pop */
	uint64_t lat_max_ns;	/* push to hand-over, the most */
	uint64_t lat_sum_ns;
	uint64_t lat_n;
	uint32_t pop_max;	/* records a call pops at most (0: all) */
	bool free_in_cb;
	bool bad;
	char why[160];
};

static struct consumer C;

static void
consume(struct ringwatch *w, struct ring *r, void *arg)
{
	struct consumer *c = arg;
	struct rec b[32];
	uint32_t n, max = c->pop_max > 0 ? c->pop_max : 32, total = 0;
	uint64_t now = clock_mono_ns();

	c->calls++;
	do {
		n = ring_pop(r, b, max);
		for (uint32_t i = 0; i < n; i++) {
			if (b[i].seq != c->next || b[i].check != check_of(b[i].seq)) {
				if (!c->bad)
					snprintf(c->why, sizeof(c->why), "seq %llu, expected %llu",
					    (unsigned long long)b[i].seq,
					    (unsigned long long)c->next);
				c->bad = true;
			}
			c->next = b[i].seq + 1;
			if (now > b[i].push_ns) {
				uint64_t lat = now - b[i].push_ns;

				c->lat_sum_ns += lat;
				c->lat_n++;
				if (lat > c->lat_max_ns)
					c->lat_max_ns = lat;
			}
		}
		total += n;
	} while (n > 0 && c->pop_max == 0);
	if (total == 0)
		c->empty_calls++;
	if (c->next >= c->want)
		stop = 1;
	if (c->free_in_cb)
		ringwatch_free(w);
}

static struct ringwatch *
watch(const char *name, bool force_poll)
{
	struct ringwatch_params p = {
		.segname = name,
		.rec_size = sizeof(struct rec),
		.type_tag = TAG,
		.retry_ns = 5 * MS,
		.force_poll = force_poll,
	};
	struct ringwatch *w = ringwatch_new(L, &p, consume, &C);

	cr_assert_not_null(w);
	return w;
}

static void
expect_all(uint64_t want)
{
	cr_assert(!C.bad, "out of order or torn: %s", C.why);
	cr_assert_eq(C.next, want, "got up to %llu of %llu", (unsigned long long)C.next,
	    (unsigned long long)want);
}

static void
log_latency(const char *what, const struct ring *r)
{
	cr_log_info("%s: %llu records, %llu callbacks (%llu empty), %llu producer wake-ups; "
	    "push to hand-over %llu us on average, %llu us at most", what,
	    (unsigned long long)C.next, (unsigned long long)C.calls,
	    (unsigned long long)C.empty_calls, (unsigned long long)r->h->wakeups,
	    (unsigned long long)(C.lat_n ? C.lat_sum_ns / C.lat_n / 1000 : 0),
	    (unsigned long long)(C.lat_max_ns / 1000));
}

/* Watch a ring a producer process fills; check every record and the producer's end. */
static void
watch_producer(const char *what, bool force_poll, useconds_t delay_us, bool watch_first)
{
	struct producer a = { .what = what, .n = NRECS, .delay_us = delay_us };
	char name[SEG_NAME_MAX];
	struct ringwatch *w = NULL;
	struct ring *r;
	pid_t pid;

	new_loop();
	C = (struct consumer){ .want = NRECS };
	segname(name, sizeof(name), what);
	if (watch_first) {
		w = watch(name, force_poll);
		cr_assert_null(ringwatch_ring(w), "attached to a ring that does not exist");
	}
	pid = ut_spawn(producer_main, &a);
	cr_assert_gt(pid, 0);
	if (w == NULL)
		w = watch(name, force_poll);
	run_until(NULL);
	cr_assert_eq(ut_wait(pid), 0, "the producer failed");
	expect_all(NRECS);
	cr_assert_not_null(r = ringwatch_ring(w));
	cr_assert_eq(r->h->drops, 0);
	cr_assert_gt(C.calls, 0);
	log_latency(what, r);
	if (force_poll || !loop_has_futex(L)) {
		cr_assert_eq(r->h->wakeups, 0, "a polling consumer never asks for a wake-up");
	} else {
		/* The producer paused with the ring empty: the watch slept and was woken. */
		cr_assert_gt(r->h->wakeups, 0, "the watch never slept on the futex");
		cr_assert_leq(r->h->wakeups, C.calls, "a wake-up that led to no callback");
	}
	ringwatch_free(w);
	run_for(20);
	seg_unlink_name(name);
	loop_free(L);
}

Test(ringwatch, every_record_is_handed_over_in_order_when_pushed)
{
	watch_producer("order", false, 0, false);
}

Test(ringwatch, ring_created_after_the_watch_started_is_picked_up)
{
	watch_producer("late", false, 30000, true);
}

Test(ringwatch, polling_fallback_hands_over_every_record)
{
	watch_producer("poll", true, 0, false);
}

Test(ringwatch, polling_fallback_picks_up_a_late_ring)
{
	watch_producer("polllate", true, 30000, true);
}

Test(ringwatch, producer_restart_is_followed)
{
	struct producer a = { .what = "restart", .n = NRECS / 2 };
	struct producer b = { .what = "restart", .first = NRECS / 2, .n = NRECS / 2,
	    .delay_us = 20000 };
	char name[SEG_NAME_MAX];
	struct ringwatch *w;
	pid_t pid;

	new_loop();
	C = (struct consumer){ .want = NRECS / 2 };
	segname(name, sizeof(name), "restart");
	w = watch(name, false);
	pid = ut_spawn(producer_main, &a);
	cr_assert_gt(pid, 0);
	run_until(NULL);
	cr_assert_eq(ut_wait(pid), 0);
	expect_all(NRECS / 2);
	/* The first producer is gone and the watch asleep; a second one re-attaches. */
	C.want = NRECS;
	pid = ut_spawn(producer_main, &b);
	cr_assert_gt(pid, 0);
	run_until(NULL);
	cr_assert_eq(ut_wait(pid), 0);
	expect_all(NRECS);
	log_latency("restart", ringwatch_ring(w));
	ringwatch_free(w);
	run_for(20);
	seg_unlink_name(name);
	loop_free(L);
}

Test(ringwatch, callback_that_leaves_records_is_called_again)
{
	char name[SEG_NAME_MAX];
	struct ringwatch *w;
	struct ring p;

	new_loop();
	C = (struct consumer){ .want = 100, .pop_max = 3 };
	cr_assert_eq(rcreate(&p, "leave"), 0, "%s", p.seg.err);
	cr_assert_eq(push(&p, 0, 20), 20);
	cr_assert_eq(push(&p, 20, 20), 20);
	cr_assert_eq(push(&p, 40, 20), 20);
	cr_assert_eq(push(&p, 60, 20), 20);
	cr_assert_eq(push(&p, 80, 20), 20);
	w = watch(segname(name, sizeof(name), "leave"), false);
	cr_assert_eq(C.calls, 0, "called back from inside ringwatch_new");
	run_until(NULL);
	expect_all(100);
	cr_assert_geq(C.calls, 34, "3 records a call");
	ringwatch_free(w);
	run_for(20);
	ring_close(&p);
	seg_unlink_name(name);
	loop_free(L);
}

Test(ringwatch, free_with_a_wait_in_flight_is_clean)
{
	char name[SEG_NAME_MAX];
	struct ringwatch *w;
	struct ring p;

	new_loop();
	C = (struct consumer){ .want = 1 };
	cr_assert_eq(rcreate(&p, "freewait"), 0, "%s", p.seg.err);
	w = watch(segname(name, sizeof(name), "freewait"), false);
	cr_assert_not_null(ringwatch_ring(w));
	run_for(20);
	if (loop_has_futex(L))
		cr_assert_eq(p.h->sleeping, 1, "the watch should be asleep on the futex");
	ringwatch_free(w);
	run_for(20);
	cr_assert_eq(p.h->sleeping, 0, "a freed watch must not stay marked asleep");
	/* A push now finds nobody: no callback, no wake-up. */
	cr_assert_eq(push(&p, 0, 1), 1);
	run_for(20);
	cr_assert_eq(C.calls, 0);
	cr_assert_eq(p.h->wakeups, 0);
	ring_close(&p);
	seg_unlink_name(name);
	loop_free(L);
}

Test(ringwatch, free_from_inside_the_callback_is_clean)
{
	char name[SEG_NAME_MAX];
	struct ring p;

	new_loop();
	C = (struct consumer){ .want = 1, .free_in_cb = true };
	cr_assert_eq(rcreate(&p, "freecb"), 0, "%s", p.seg.err);
	watch(segname(name, sizeof(name), "freecb"), false);
	run_for(20);
	cr_assert_eq(push(&p, 0, 1), 1);
	run_until(NULL);
	cr_assert_eq(C.calls, 1);
	cr_assert_eq(push(&p, 1, 1), 1);
	run_for(20);
	cr_assert_eq(C.calls, 1, "a callback after ringwatch_free");
	cr_assert_eq(p.h->sleeping, 0);
	ring_close(&p);
	seg_unlink_name(name);
	loop_free(L);
}

Test(ringwatch, free_while_the_ring_is_missing_is_clean)
{
	char name[SEG_NAME_MAX];
	struct ringwatch *w;

	new_loop();
	C = (struct consumer){ 0 };
	w = watch(segname(name, sizeof(name), "missing"), false);
	run_for(20);
	cr_assert_null(ringwatch_ring(w));
	ringwatch_free(w);
	run_for(10);
	cr_assert_eq(C.calls, 0);
	loop_free(L);
}
