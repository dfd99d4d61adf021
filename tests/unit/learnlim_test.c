/*
 * learnlim_test: the vswitch's learn-bit limiter (procs/forwarder/learnlim): one frame
 * with the learn bit a destination an interval, each destination on its own; an entry
 * past its interval lets the bit through once more; a storm of 100,000 new destinations
 * in one interval is remembered by the default table: their second frames carry no
 * bit, but for the few whose set overflowed, which are counted; and in a set full of
 * live destinations, those remembered keep their limit.
 */
#include "procs/forwarder/learnlim.c"

#include <criterion/criterion.h>

#define IV	1000000000ull	/* the interval: 1 s */
#define T0	5000000000ull	/* a time, never 0 */

static bool
allow(struct learnlim *l, uint32_t vni, uint32_t ip, uint64_t now, bool *full)
{
	return learnlim_allow(l, vni, ip, now, full);
}

Test(learnlim, a_destination_gets_the_bit_once_an_interval)
{
	struct learnlim *l = learnlim_new(LEARNLIM_SLOTS_MIN, IV);
	bool forgot;

	cr_assert_not_null(l);
	cr_assert(allow(l, 100, 0x0a000005, T0, &forgot));
	cr_assert(!forgot);
	cr_assert(!allow(l, 100, 0x0a000005, T0 + 1, &forgot));
	cr_assert(!allow(l, 100, 0x0a000005, T0 + IV - 1, &forgot));
	/* Another destination, or the same IP in another VPC, has a limit of its own. */
	cr_assert(allow(l, 100, 0x0a000006, T0 + 2, &forgot));
	cr_assert(allow(l, 200, 0x0a000005, T0 + 3, &forgot));
	/* An interval later: once more. */
	cr_assert(allow(l, 100, 0x0a000005, T0 + IV, &forgot));
	cr_assert(!allow(l, 100, 0x0a000005, T0 + IV + 1, &forgot));
	learnlim_free(l);
}

Test(learnlim, sizes_other_than_a_power_of_two_in_range_are_refused)
{
	cr_assert_null(learnlim_new(LEARNLIM_SLOTS_MIN / 2, IV));
	cr_assert_null(learnlim_new(LEARNLIM_SLOTS_MIN + 1, IV));
	cr_assert_null(learnlim_new(LEARNLIM_SLOTS_MAX * 2u, IV));
	learnlim_free(NULL);
}

Test(learnlim, a_storm_of_100000_destinations_is_remembered_by_the_default_table)
{
	struct learnlim *l = learnlim_new(LEARNLIM_SLOTS_DEFAULT, IV);
	uint32_t again = 0, full = 0, n = 100000;
	bool f;

	cr_assert_not_null(l);
	/* Every first frame gets the bit, within one interval. */
	for (uint32_t i = 0; i < n; i++) {
		cr_assert(allow(l, 7, 0x0a010000 + i, T0 + i, &f));
		full += f;
	}
	/* Their second frames, still within the interval, do not but for the unremembered. */
	for (uint32_t i = 0; i < n; i++)
		again += allow(l, 7, 0x0a010000 + i, T0 + n + i, &f);
	cr_assert_eq(again, full, "%u second frames got the bit, %u were not remembered",
	    again, full);
	cr_assert_lt(full, n / 100, "%u of %u destinations not remembered", full, n);
	learnlim_free(l);
}

Test(learnlim, a_full_set_keeps_the_limits_it_holds)
{
	struct learnlim *l = learnlim_new(LEARNLIM_SLOTS_MIN, IV);
	uint32_t set0[LEARNLIM_WAYS + 1], k = 0;
	bool full;

	cr_assert_not_null(l);
	/* Destinations of one set: WAYS + 1 of them, found by their hash. */
	for (uint32_t ip = 1; k < LEARNLIM_WAYS + 1; ip++)
		if ((mix64((uint64_t)9 << 32 | ip) & l->mask) == 0)
			set0[k++] = ip;
	for (k = 0; k < LEARNLIM_WAYS; k++) {
		cr_assert(allow(l, 9, set0[k], T0 + k, &full));
		cr_assert(!full);
	}
	/* One more: the bit, unremembered, each time; the others keep their limit. */
	for (int i = 0; i < 3; i++) {
		cr_assert(allow(l, 9, set0[LEARNLIM_WAYS], T0 + 100 + i, &full));
		cr_assert(full, "the set is full of live destinations");
	}
	for (k = 0; k < LEARNLIM_WAYS; k++)
		cr_assert(!allow(l, 9, set0[k], T0 + 200, &full), "way %u", k);
	/* An interval on, the ways are free again: the newcomer is remembered. */
	cr_assert(allow(l, 9, set0[LEARNLIM_WAYS], T0 + IV + 50, &full));
	cr_assert(!full);
	cr_assert(!allow(l, 9, set0[LEARNLIM_WAYS], T0 + IV + 60, &full));
	learnlim_free(l);
}
