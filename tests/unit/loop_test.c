/*
 * loop_test: what common/loop.h tells of its own trips (a wake-up's completions, flush
 * and timers): a timer that works 3 ms makes the longest trip at least that and counts
 * a slow trip; taking the longest starts it over (nothing timed but the 3 ms floor, so
 * a busy machine cannot fail it). Provided-buffer group ids are handed out once each
 * until given back, and run out with -ENOSPC.
 */
#include "common/clock.h"
#include "common/loop.h"
#include "tests/unit/looptest.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

TestSuite(loop);

static void
busy(struct loop_timer *t)
{
	uint64_t until = clock_mono_ns() + 3 * MS;

	(void)t;
	while (clock_mono_ns() < until)
		;
}

static void
quick(struct loop_timer *t)
{
	(void)t;
}

Test(loop, a_long_trip_is_the_longest_and_counts_as_slow)
{
	struct loop_timer b = { .fn = busy }, q = { .fn = quick };
	uint64_t slow;

	new_loop();
	loop_timer_set(L, &q, 0);
	run_for(5);
	loop_trip_max_take(L);
	/* Quick trips may still count as slow when the machine takes the CPU away. */
	slow = loop_trips_slow(L);
	loop_timer_set(L, &b, 0);
	run_for(10);
	cr_assert_geq(loop_trips_slow(L), slow + 1);
	slow = loop_trips_slow(L);
	cr_assert_geq(loop_trip_max_take(L), 3 * MS);
	cr_assert_eq(loop_trip_max_take(L), 0, "taken: it starts over");
	cr_assert_eq(loop_trips_slow(L), slow, "taking the longest leaves the count");
	loop_free(L);
}

Test(loop, a_buffer_group_id_is_held_by_one_user_until_given_back)
{
	bool seen[LOOP_BGIDS] = { false };

	new_loop();
	for (int i = 0; i < LOOP_BGIDS; i++) {
		int id = loop_bgid_get(L);

		cr_assert(id >= 0 && id < LOOP_BGIDS, "id %d", id);
		cr_assert(!seen[id], "id %d handed out twice", id);
		seen[id] = true;
	}
	cr_assert_eq(loop_bgid_get(L), -ENOSPC);
	loop_bgid_put(L, 17);
	cr_assert_eq(loop_bgid_get(L), 17, "a given back id is free again");
	cr_assert_eq(loop_bgid_get(L), -ENOSPC);
	loop_free(L);
}
