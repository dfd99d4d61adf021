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

enum { KEEP = 24, CHURN = 40 };	/* max 64: 128 slots */

/*
 * Every address the test uses has the same home slot (the hash of vtepset.c), so they
 * make one cluster of up to 64: deleting a churned address shifts members back while
 * the reader probes past them, the case the copies and their seqs are for.
 */
static uint32_t same_home[KEEP + CHURN + KEEP];

static void
same_home_init(void)
{
	uint32_t n = 0;

	for (uint32_t ip = BASE; n < KEEP + CHURN + KEEP; ip++)
		if ((((ip * 0x9e3779b1u) ^ (ip >> 16)) & 127) == 5)
			same_home[n++] = ip;
}

static uint32_t
keep_ip(uint32_t i)
{
	return same_home[i];
}

static uint32_t
churn_ip(uint32_t i)
{
	return same_home[KEEP + i];
}

static uint32_t
never_ip(uint32_t i)
{
	return same_home[KEEP + CHURN + i];
}

struct reader_arg {
	struct vtepset *r;
	volatile bool stop;
	uint64_t rounds, missed, phantom;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;

	while (!a->stop) {
		for (uint32_t i = 0; i < KEEP; i++) {
			a->missed += !vtepset_has(a->r, keep_ip(i));
			a->phantom += vtepset_has(a->r, never_ip(i));
		}
		a->rounds++;
	}
	return NULL;
}

Test(vtepset, a_reader_never_misses_a_member_nor_sees_a_stranger_while_the_writer_churns)
{
	struct reader_arg a = { 0 };
	uint32_t list[KEEP + CHURN];
	pthread_t th;
	char err[256];

	same_home_init();
	make(64);
	for (uint32_t i = 0; i < KEEP; i++)
		cr_assert_eq(vtepset_add(w, keep_ip(i)), 0);
	cr_assert_eq(vtepset_attach(&a.r, ut_node(), "learner", err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(pthread_create(&th, NULL, reader, &a), 0);
	srandom(11);
	/* Until the reader made many rounds, whatever the machine's speed. */
	for (int round = 0; round < 200000 && (round < 20000 || a.rounds < 20000); round++) {
		uint32_t k = (uint32_t)random() % CHURN;

		if (round % 5000 == 4999) {
			uint32_t n = 0;

			for (uint32_t i = 0; i < KEEP; i++)
				list[n++] = keep_ip(i);
			for (uint32_t i = 0; i < CHURN; i++)
				if (random() % 2)
					list[n++] = churn_ip(i);
			cr_assert_eq(vtepset_replace(w, list, n), 0);
		} else if (random() % 2)
			vtepset_add(w, churn_ip(k));
		else
			vtepset_del(w, churn_ip(k));
	}
	a.stop = true;
	pthread_join(th, NULL);
	vtepset_close(a.r);
	cr_assert_gt(a.rounds, 0);
	cr_assert_eq(a.missed, 0, "a member missed %llu times in %llu rounds",
	    (unsigned long long)a.missed, (unsigned long long)a.rounds);
	cr_assert_eq(a.phantom, 0, "a stranger found");
}
