/*
 * looptest: what the unit tests that run an io_uring loop (common/loop.h) use to drive
 * it, once for all of them: the loop L and its stop flag, new_loop(), run_for(ms),
 * drain_loop(), run_until(done) and RUN_UNTIL(cond), each wait bounded so that a test
 * that gets nowhere fails instead of hanging (no Criterion .timeout: see conn_test.c),
 * and sin_of(ip, port).
 *
 * Header-only: everything is static to the test that includes it. Include it after the
 * test's own #defines, which may set (before the include):
 *   MS            a millisecond in ns (defined here when the test did not)
 *   HANG_NS       the longest a wait may take before the test fails (default 20 s)
 *   LOOP_ENTRIES  the ring size new_loop() asks for (default 256)
 *   RUN_STEP()    what RUN_UNTIL does between two looks at its condition (default
 *                 run_for(1); expanded where RUN_UNTIL is used, so it may name a
 *                 function the test defines after the include)
 */
#ifndef TESTS_UNIT_LOOPTEST_H
#define TESTS_UNIT_LOOPTEST_H

#include "common/clock.h"
#include "common/loop.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef MS
#define MS		(1000ull * 1000)
#endif
#ifndef HANG_NS
#define HANG_NS		(20000 * MS)
#endif
#ifndef LOOP_ENTRIES
#define LOOP_ENTRIES	256
#endif
#ifndef RUN_STEP
#define RUN_STEP()	run_for(1)
#endif

static struct loop *L;
static volatile sig_atomic_t stop;
static bool hung;			/* run_until: HANG_NS went by */
static bool (*poll_done)(void);		/* run_until: the condition it polls */

static inline void
new_loop(void)
{
	char err[256];

	L = loop_new(LOOP_ENTRIES, err, sizeof(err));
	cr_assert_not_null(L, "%s", err);
}

static inline void
stop_fire(struct loop_timer *t)
{
	(void)t;
	stop = 1;
}

/*
 * Run the loop for about ms milliseconds (less when a callback sets stop), dispatching
 * whatever completes meanwhile.
 */
static inline void
run_for(uint64_t ms)
{
	struct loop_timer t = { .fn = stop_fire };

	stop = 0;
	loop_timer_set(L, &t, ms * MS);
	cr_assert_eq(loop_run(L, &stop), 0);
	loop_timer_cancel(L, &t);
}

/* Run the loop a little while: completions that nothing waits for get dispatched. */
static inline void
drain_loop(void)
{
	run_for(50);
}

static inline void
hang_fire(struct loop_timer *t)
{
	(void)t;
	hung = true;
	stop = 1;
}

static inline void
poll_fire(struct loop_timer *t)
{
	if (poll_done())
		stop = 1;
	else
		loop_timer_set(L, t, MS);
}

/*
 * Run the loop until done() holds (checked each millisecond; NULL: never) or a callback
 * sets stop; fails the test after HANG_NS.
 */
static inline void
run_until(bool (*done)(void))
{
	struct loop_timer hang = { .fn = hang_fire }, poll = { .fn = poll_fire };

	stop = 0;
	hung = false;
	loop_timer_set(L, &hang, HANG_NS);
	if (done != NULL) {
		poll_done = done;
		loop_timer_set(L, &poll, 0);
	}
	cr_assert_eq(loop_run(L, &stop), 0);
	loop_timer_cancel(L, &hang);
	loop_timer_cancel(L, &poll);
	cr_assert(!hung, "the loop got nowhere in %llu s", HANG_NS / 1000 / MS);
}

/* RUN_STEP() until cond holds; fails the test after HANG_NS. */
#define RUN_UNTIL(cond)							\
	do {								\
		uint64_t dl_ = clock_mono_ns() + HANG_NS;		\
									\
		while (!(cond)) {					\
			cr_assert_lt(clock_mono_ns(), dl_, "still not %s after %llu s", \
			    #cond, HANG_NS / 1000 / MS);		\
			RUN_STEP();					\
		}							\
	} while (0)

static inline struct sockaddr_in
sin_of(const char *ip, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	cr_assert_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1, "%s", ip);
	return sin;
}

#endif
