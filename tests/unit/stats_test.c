/*
 * stats_test: counters declared once with STATS_DECLARE are visible, named and
 * described, to any reader that attaches the stats segment; they survive a restart of
 * the same build and are reset when the counter table changed.
 */
#include "shm/stats.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define UT_COUNTERS(X)						\
	X(rx,       COUNTER, "records received")		\
	X(dropped,  COUNTER, "records dropped: ring full")	\
	X(depth,    GAUGE,   "records waiting")
STATS_DECLARE(ut, UT_COUNTERS)

/* Same number of counters, one renamed: another build. */
#define UT2_COUNTERS(X)						\
	X(rx,       COUNTER, "records received")		\
	X(lost,     COUNTER, "records lost")			\
	X(depth,    GAUGE,   "records waiting")
STATS_DECLARE(ut2, UT2_COUNTERS)

/* One more counter: another size. */
#define UT3_COUNTERS(X)						\
	X(rx,       COUNTER, "records received")		\
	X(dropped,  COUNTER, "records dropped: ring full")	\
	X(depth,    GAUGE,   "records waiting")			\
	X(errors,   COUNTER, "errors")
STATS_DECLARE(ut3, UT3_COUNTERS)

TestSuite(stats, .init = ut_init, .fini = ut_fini);

static struct ut_counters *
create(struct stats *st, const char *proc)
{
	struct ut_counters *c = stats_create(st, ut_node(), proc, ut_stats_defs,
	    ut_stats_count);

	cr_assert_not_null(c, "stats_create: %s", st->seg.err);
	return c;
}

/* A reader's view must be the table above, with these values. */
static void
expect_table(const struct stats *rd, uint64_t rx, uint64_t dropped, uint64_t depth)
{
	cr_assert_eq(rd->hdr->count, 3);
	for (uint32_t i = 0; i < 3; i++) {
		cr_assert_str_eq(rd->desc[i].name, ut_stats_defs[i].name);
		cr_assert_eq(rd->desc[i].kind, (uint32_t)ut_stats_defs[i].kind);
		cr_assert_str_eq(rd->desc[i].desc, ut_stats_defs[i].desc);
	}
	cr_assert_str_eq(rd->desc[2].name, "depth");
	cr_assert_eq(rd->desc[2].kind, STATS_GAUGE);
	cr_assert_eq(rd->desc[0].kind, STATS_COUNTER);
	cr_assert_eq(stats_value(rd, 0), rx);
	cr_assert_eq(stats_value(rd, 1), dropped);
	cr_assert_eq(stats_value(rd, 2), depth);
}

Test(stats, declare_makes_struct_and_defs_in_table_order)
{
	cr_assert_eq(ut_stats_count, 3);
	cr_assert_eq(sizeof(struct ut_counters), 3 * sizeof(uint64_t));
	cr_assert_eq(offsetof(struct ut_counters, depth), 2 * sizeof(uint64_t));
	cr_assert_str_eq(ut_stats_defs[1].name, "dropped");
	cr_assert_eq(ut_stats_defs[2].kind, STATS_GAUGE);
	cr_assert_str_eq(ut_stats_defs[1].desc, "records dropped: ring full");
}

Test(stats, updates_are_visible_to_a_reader_in_the_same_process)
{
	struct stats st, rd;
	struct ut_counters *c;
	char name[SEG_NAME_MAX];

	c = create(&st, "statt");
	cr_assert_str_eq(st.seg.name, ut_segname(name, sizeof(name), "statt", "stats"));
	cr_assert_eq(c->rx + c->dropped + c->depth, 0, "new counters start at zero");
	STATS_INC(c, rx);
	STATS_INC(c, rx);
	STATS_ADD(c, dropped, 40);
	STATS_ADD(c, dropped, 2);
	STATS_SET(c, depth, 17);

	cr_assert_eq(stats_attach(&rd, name), 0, "%s", rd.seg.err);
	cr_assert(rd.seg.readonly, "readers attach read-only");
	expect_table(&rd, 2, 42, 17);
	STATS_SET(c, depth, 3);
	cr_assert_eq(stats_value(&rd, 2), 3, "a reader sees later updates");
	stats_heartbeat(&st);
	cr_assert_neq(rd.seg.hdr->heartbeat_ns, 0);
	stats_close(&rd);
	stats_close(&st);
	seg_unlink_name(name);
}

static int
stats_owner(void *arg)
{
	struct ut_counters *c;
	struct stats st;

	(void)arg;
	c = stats_create(&st, ut_node(), "statc", ut_stats_defs, ut_stats_count);
	if (c == NULL)
		return 1;
	STATS_ADD(c, rx, 1000);
	STATS_INC(c, dropped);
	STATS_SET(c, depth, 9);
	ut_ready();
	for (;;)
		pause();
}

Test(stats, updates_are_visible_to_a_reader_in_another_process)
{
	char name[SEG_NAME_MAX];
	struct stats rd;
	pid_t pid;

	pid = ut_spawn(stats_owner, NULL);
	cr_assert_gt(pid, 0);
	cr_assert_eq(stats_attach(&rd, ut_segname(name, sizeof(name), "statc", "stats")), 0,
	    "%s", rd.seg.err);
	expect_table(&rd, 1000, 1, 9);
	cr_assert_eq(rd.seg.hdr->owner_pid, pid);
	cr_assert_eq(seg_owner_alive(&rd.seg), 1);
	ut_kill(pid);
	cr_assert_eq(seg_owner_alive(&rd.seg), 0, "a dead owner's stats are stale");
	expect_table(&rd, 1000, 1, 9);
	stats_close(&rd);
	seg_unlink_name(name);
}

Test(stats, recreate_with_same_counters_keeps_values)
{
	struct ut_counters *c;
	struct stats st;

	c = create(&st, "statk");
	STATS_ADD(c, rx, 5);
	STATS_SET(c, depth, 6);
	stats_close(&st);

	c = create(&st, "statk");
	cr_assert(!st.seg.created);
	cr_assert_eq(st.seg.hdr->owner_starts, 2);
	cr_assert_eq(c->rx, 5, "counters survive a restart of the same build");
	cr_assert_eq(c->depth, 6);
	stats_close(&st);
	seg_unlink_name(st.seg.name);
}

Test(stats, recreate_with_renamed_counter_resets_values)
{
	struct ut2_counters *c2;
	struct ut_counters *c;
	struct stats st, rd;

	c = create(&st, "statr");
	STATS_ADD(c, rx, 5);
	STATS_ADD(c, dropped, 7);
	stats_close(&st);

	c2 = stats_create(&st, ut_node(), "statr", ut2_stats_defs, ut2_stats_count);
	cr_assert_not_null(c2, "%s", st.seg.err);
	cr_assert_eq(c2->rx + c2->lost + c2->depth, 0, "counters of another build are reset");
	cr_assert_eq(stats_attach(&rd, st.seg.name), 0, "%s", rd.seg.err);
	cr_assert_str_eq(rd.desc[1].name, "lost");
	cr_assert_str_eq(rd.desc[1].desc, "records lost");
	stats_close(&rd);
	stats_close(&st);
	seg_unlink_name(st.seg.name);
}

Test(stats, recreate_with_more_counters_resets_values)
{
	struct ut3_counters *c3;
	struct ut_counters *c;
	struct stats st, rd;

	c = create(&st, "statm");
	STATS_ADD(c, rx, 5);
	stats_close(&st);

	c3 = stats_create(&st, ut_node(), "statm", ut3_stats_defs, ut3_stats_count);
	cr_assert_not_null(c3, "%s", st.seg.err);
	cr_assert(st.seg.created, "a segment of another size is replaced");
	cr_assert_eq(c3->rx + c3->errors, 0);
	STATS_INC(c3, errors);
	cr_assert_eq(stats_attach(&rd, st.seg.name), 0, "%s", rd.seg.err);
	cr_assert_eq(rd.hdr->count, 4);
	cr_assert_str_eq(rd.desc[3].name, "errors");
	cr_assert_eq(stats_value(&rd, 3), 1);
	stats_close(&rd);
	stats_close(&st);
	seg_unlink_name(st.seg.name);
}

Test(stats, attach_refuses_segment_that_is_not_stats)
{
	struct stats rd;
	struct seg s;

	cr_assert_eq(seg_create(&s, ut_node(), "statn", "stats", SEG_KIND_TEST, STATS_LAYOUT,
	    4096), 0, "%s", s.err);
	cr_assert_eq(stats_attach(&rd, s.name), -EPROTO);
	cr_assert_not_null(strstr(rd.seg.err, s.name), "%s", rd.seg.err);
	cr_assert_not_null(strstr(rd.seg.err, "kind"), "%s", rd.seg.err);
	cr_assert_null(rd.seg.base);
	seg_detach(&s);
	seg_unlink_name(s.name);
}

Test(stats, attach_refuses_stats_segment_with_inconsistent_table)
{
	struct stats rd;
	struct seg s;

	/* The right kind, but a counter table that does not fit the segment. */
	cr_assert_eq(seg_create(&s, ut_node(), "statb", "stats", SEG_KIND_STATS, STATS_LAYOUT,
	    4096), 0, "%s", s.err);
	((struct stats_hdr *)seg_ptr(&s, sizeof(struct seg_hdr)))->count = 1000;
	cr_assert_eq(stats_attach(&rd, s.name), -EPROTO);
	cr_assert_not_null(strstr(rd.seg.err, "does not match"), "%s", rd.seg.err);
	cr_assert_null(rd.seg.base);
	seg_detach(&s);
	seg_unlink_name(s.name);
}

Test(stats, attach_of_missing_segment_says_so)
{
	char name[SEG_NAME_MAX];
	struct stats rd;

	ut_segname(name, sizeof(name), "nobody", "stats");
	cr_assert_eq(stats_attach(&rd, name), -ENOENT);
	cr_assert_not_null(strstr(rd.seg.err, name), "%s", rd.seg.err);
}
