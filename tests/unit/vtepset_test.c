/*
 * vtepset_test: the VTEP allow-list in shm (shm/vtepset.h): the set against a plain
 * reference under random adds and deletes (deletion shifts entries back, so a lookup
 * after any sequence must still find every member), a snapshot's replace, a restart
 * that keeps the list, a reader's attach; and a reader thread on its own read-only
 * mapping that, while the writer churns other addresses as fast as it can, must always
 * find the addresses that never leave and never find those never added.
 */
#include "shm/vtepset.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static struct vtepset *w;

static void
setup(void)
{
	ut_init();
}

static void
teardown(void)
{
	vtepset_close(w);
	w = NULL;
	ut_fini();
}

TestSuite(vtepset, .init = setup, .fini = teardown);

static void
make(uint32_t max)
{
	char err[256];

	cr_assert_eq(vtepset_create(&w, ut_node(), "learner", max, err, sizeof(err)), 0, "%s",
	    err);
}

#define BASE	0xc0a80000u	/* 192.168.0.0 */

Test(vtepset, random_adds_and_deletes_match_a_plain_set)
{
	enum { U = 300 };		/* addresses drawn from; the set holds 256 */
	bool ref[U] = { 0 };
	uint32_t n = 0;

	make(256);
	srandom(7);
	for (int op = 0; op < 200000; op++) {
		uint32_t k = (uint32_t)random() % U;
		/* Addresses close together and far apart: both collide in a small table. */
		uint32_t ip = k % 2 ? BASE + k : BASE + (k << 12);

		if (random() % 2) {
			int r = vtepset_add(w, ip);

			if (ref[k])
				cr_assert_eq(r, 0);
			else if (n < 256) {
				cr_assert_eq(r, 0);
				ref[k] = true;
				n++;
			} else
				cr_assert_eq(r, -ENOSPC, "a full set refuses a new address");
		} else {
			cr_assert_eq(vtepset_del(w, ip), ref[k] ? 0 : -ENOENT);
			n -= ref[k];
			ref[k] = false;
		}
		if (op % 997 == 0)
			for (uint32_t j = 0; j < U; j++)
				cr_assert_eq(vtepset_has(w, j % 2 ? BASE + j : BASE + (j << 12)),
				    ref[j], "op %d: address %u", op, j);
	}
	cr_assert_eq(vtepset_count(w), n);
	cr_assert(!vtepset_has(w, 0));
	cr_assert_eq(vtepset_add(w, 0), -EINVAL);
}

Test(vtepset, replace_makes_the_set_exactly_the_list)
{
	uint32_t list[] = { BASE + 5, BASE + 6, BASE + 6, 0, BASE + 9 }, got[8];

	make(16);
	cr_assert_eq(vtepset_add(w, BASE + 1), 0);
	cr_assert_eq(vtepset_add(w, BASE + 5), 0);
	cr_assert_eq(vtepset_replace(w, list, 5), 0);
	cr_assert_eq(vtepset_count(w), 3, "duplicates and 0 ignored");
	cr_assert(!vtepset_has(w, BASE + 1));
	cr_assert(vtepset_has(w, BASE + 5) && vtepset_has(w, BASE + 6) &&
	    vtepset_has(w, BASE + 9));
	cr_assert_eq(vtepset_list(w, got, 8), 3);
	cr_assert_eq(vtepset_replace(w, NULL, 0), 0);
	cr_assert_eq(vtepset_count(w), 0);
}

Test(vtepset, replace_with_more_than_max_keeps_max_and_says_so)
{
	uint32_t list[20];

	make(16);
	for (int i = 0; i < 20; i++)
		list[i] = BASE + (uint32_t)i + 1;
	cr_assert_eq(vtepset_replace(w, list, 20), -ENOSPC);
	cr_assert_eq(vtepset_count(w), 16);
}

Test(vtepset, a_restart_keeps_the_list_and_loaded_and_a_reader_sees_it)
{
	struct vtepset *r;
	char err[256];

	make(16);
	cr_assert(!vtepset_loaded(w), "new: never loaded");
	cr_assert_eq(vtepset_add(w, BASE + 1), 0);
	cr_assert_eq(vtepset_add(w, BASE + 2), 0);
	vtepset_set_loaded(w);
	vtepset_close(w);
	make(16);
	cr_assert(vtepset_loaded(w));
	cr_assert(vtepset_has(w, BASE + 1) && vtepset_has(w, BASE + 2));
	cr_assert_eq(vtepset_del(w, BASE + 1), 0, "both copies hold it after a restart");
	cr_assert_eq(vtepset_add(w, BASE + 3), 0);
	cr_assert_eq(vtepset_attach(&r, ut_node(), "learner", err, sizeof(err)), 0, "%s", err);
	cr_assert(vtepset_loaded(r));
	cr_assert(!vtepset_has(r, BASE + 1));
	cr_assert(vtepset_has(r, BASE + 2) && vtepset_has(r, BASE + 3));
	cr_assert_eq(vtepset_count(r), 2);
	cr_assert_eq(vtepset_max(r), 16);
	vtepset_close(r);
	vtepset_close(w);
	w = NULL;
	cr_assert_eq(vtepset_create(&w, ut_node(), "learner", 32, err, sizeof(err)), -EPROTO,
	    "a set made for another size is refused");
	cr_assert_eq(vtepset_attach(&r, ut_node(), "rule-store", err, sizeof(err)), -ENOENT);
}

/* --- a reader while the writer changes the set ---------------------------------------- */

/*
 * Every address the test uses has the same home slot (the hash of vtepset.c), so they
 * make one cluster: a delete shifts the members after it back while the reader probes
 * past them, the case the two copies and their seqs are for. Members must stay put for
 * the reader to check them, yet move: two groups take turns. In phase p group p & 1 is
 * stable (all present) and the other group and the churn addresses come and go; the
 * writer starts a phase once the whole next group is in, and deletes from the group
 * that was stable only once the reader said it saw the new phase.
 */
enum { GROUP = 16, CHURN = 24, NEVER = 16, PHASES = 3000 };	/* max 64: 128 slots */

static uint32_t same_home[2 * GROUP + CHURN + NEVER];

static void
same_home_init(void)
{
	uint32_t n = 0;

	for (uint32_t ip = BASE; n < sizeof(same_home) / sizeof(same_home[0]); ip++)
		if ((((ip * 0x9e3779b1u) ^ (ip >> 16)) & 127) == 5)
			same_home[n++] = ip;
}

static uint32_t
group_ip(uint32_t g, uint32_t i)
{
	return same_home[g * GROUP + i];
}

static uint32_t
churn_ip(uint32_t i)
{
	return same_home[2 * GROUP + i];
}

static uint32_t
never_ip(uint32_t i)
{
	return same_home[2 * GROUP + CHURN + i];
}

struct reader_arg {
	struct vtepset *r;
	uint32_t phase;		/* writer: release; reader: acquire */
	uint32_t ack;		/* reader: the phase its rounds now check */
	bool stop;
	uint64_t rounds, missed, phantom;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		uint32_t ph = __atomic_load_n(&a->phase, __ATOMIC_ACQUIRE);

		__atomic_store_n(&a->ack, ph, __ATOMIC_RELEASE);
		for (uint32_t i = 0; i < GROUP; i++)
			a->missed += !vtepset_has(a->r, group_ip(ph & 1, i));
		for (uint32_t i = 0; i < NEVER; i++)
			a->phantom += vtepset_has(a->r, never_ip(i));
		a->rounds++;
	}
	return NULL;
}

/* Writer: churn the addresses that are not stable in phase ph, n times. */
static void
churn(uint32_t ph, int n)
{
	for (int k = 0; k < n; k++) {
		uint32_t i = (uint32_t)random() % (GROUP + CHURN);
		uint32_t ip = i < GROUP ? group_ip((ph + 1) & 1, i) : churn_ip(i - GROUP);

		if (random() % 2)
			vtepset_add(w, ip);
		else
			vtepset_del(w, ip);
	}
}

Test(vtepset, a_reader_never_misses_a_member_nor_sees_a_stranger_while_the_writer_churns)
{
	struct reader_arg a = { 0 };
	pthread_t th;
	char err[256];

	same_home_init();
	make(64);
	for (uint32_t i = 0; i < GROUP; i++)
		cr_assert_eq(vtepset_add(w, group_ip(0, i)), 0);
	cr_assert_eq(vtepset_attach(&a.r, ut_node(), "learner", err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(pthread_create(&th, NULL, reader, &a), 0);
	srandom(11);
	for (uint32_t ph = 0; ph < PHASES; ph++) {
		churn(ph, 64);
		/* The next stable group, whole, then the phase that makes it so. */
		for (uint32_t i = 0; i < GROUP; i++)
			cr_assert_eq(vtepset_add(w, group_ip((ph + 1) & 1, i)), 0);
		__atomic_store_n(&a.phase, ph + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&a.ack, __ATOMIC_ACQUIRE) != ph + 1)
			sched_yield();
	}
	__atomic_store_n(&a.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	vtepset_close(a.r);
	cr_assert_gt(a.rounds, 0);
	cr_assert_eq(a.missed, 0, "a member missed %llu times in %llu rounds",
	    (unsigned long long)a.missed, (unsigned long long)a.rounds);
	cr_assert_eq(a.phantom, 0, "a stranger found");
}
