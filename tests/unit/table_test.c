/*
 * table_test: the rule table's contract: versions never go back, tombstones, per-VNI
 * versions and validity, change walks with cursor paging, flush, eviction, capacity,
 * epoch reclamation with live and dead readers, and recovery of a killed writer. A
 * dropped VNI gives its slot back, but only once no reader can stand on it.
 */
#include "shm/table.h"
#include "shm/seg.h"
#include "shm/table_conf.h"
#include "common/conf.h"
#include "tests/unit/tableclock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char node[32];
static char segname[128];
static char err[512];

static void
setup(void)
{
	static int n;

	snprintf(node, sizeof(node), "tt%d-%d", (int)getpid(), n++);
	seg_name(segname, sizeof(segname), node, "writer", "table");
}

static void
teardown(void)
{
	seg_unlink_name(segname);
}

TestSuite(table, .init = setup, .fini = teardown);

static struct table *
make(uint32_t mode, uint32_t capacity, uint32_t window)
{
	struct table_params p;
	struct table *t;

	table_params_default(&p, mode);
	p.capacity = capacity;
	p.max_vnis = 64;
	p.version_window = window;
	p.max_readers = 8;
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	return t;
}

/* Value fields derived from the key and version, so any mix-up shows. */
static struct table_rule
rule(uint32_t vni, uint32_t ip, uint64_t version)
{
	struct table_rule r = { .vni = vni, .ip = ip, .version = version };
	uint64_t x = (uint64_t)vni * 1000003u ^ ip ^ version * 0x9e3779b97f4a7c15ull;

	r.vtep = (uint32_t)(x >> 32) | 1;
	memcpy(r.mac, &x, 6);
	return r;
}

static void
set_ok(struct table *t, uint32_t vni, uint32_t ip, uint64_t version)
{
	struct table_rule r = rule(vni, ip, version);

	cr_assert_eq(table_set(t, &r), TABLE_APPLIED, "set %u/%u v%llu", vni, ip,
	    (unsigned long long)version);
}

static void
expect_rule(struct table *t, uint32_t vni, uint32_t ip, uint64_t version)
{
	struct table_rule want = rule(vni, ip, version), got;

	cr_assert(table_lookup(t, vni, ip, &got), "no rule for %u/%u", vni, ip);
	cr_assert_eq(got.version, version);
	cr_assert_eq(got.vtep, want.vtep);
	cr_assert_eq(memcmp(got.mac, want.mac, 6), 0);
}

static void
check(struct table *t)
{
	cr_assert_eq(table_check(t, err, sizeof(err)), 0, "%s", err);
}

Test(table, set_then_lookup_and_miss)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_rule r;

	for (uint32_t ip = 1; ip <= 500; ip++)
		set_ok(t, 7, ip, ip);
	for (uint32_t ip = 1; ip <= 500; ip++)
		expect_rule(t, 7, ip, ip);
	cr_assert_not(table_lookup(t, 7, 501, &r));
	cr_assert_not(table_lookup(t, 8, 1, &r), "same IP in another VNI is another key");
	cr_assert_eq(table_count(t), 500);
	check(t);
	table_close(t);
}

Test(table, older_version_never_replaces_newer)
{
	struct table *t = make(TABLE_GATEWAY, 100, 16);
	struct table_rule old = rule(1, 10, 3);

	set_ok(t, 1, 10, 5);
	cr_assert_eq(table_set(t, &old), TABLE_STALE);
	old.version = 5;
	cr_assert_eq(table_set(t, &old), TABLE_STALE, "the same version is not applied twice");
	cr_assert_eq(table_delete(t, 1, 10, 4), TABLE_STALE);
	expect_rule(t, 1, 10, 5);
	cr_assert_eq(table_counters(t)->stale, 3);
	set_ok(t, 1, 10, 9);
	expect_rule(t, 1, 10, 9);
	check(t);
	table_close(t);
}

Test(table, gateway_delete_keeps_a_tombstone)
{
	struct table *t = make(TABLE_GATEWAY, 100, 16);
	struct table_rule r;

	set_ok(t, 1, 10, 1);
	cr_assert_eq(table_delete(t, 1, 10, 2), TABLE_APPLIED);
	cr_assert_not(table_lookup(t, 1, 10, &r), "a tombstone is not a rule");
	cr_assert(table_get(t, 1, 10, &r));
	cr_assert(r.flags & TABLE_F_TOMBSTONE);
	cr_assert_eq(r.version, 2);
	cr_assert_eq(table_count(t), 1);
	cr_assert_eq(table_live(t), 0);
	/* A late set of an older version must not resurrect it. */
	r = rule(1, 10, 1);
	cr_assert_eq(table_set(t, &r), TABLE_STALE);
	set_ok(t, 1, 10, 3);
	expect_rule(t, 1, 10, 3);
	check(t);
	table_close(t);
}

/* table_vni_foreach's visitor: the IPs and versions it was shown, in order. */
static struct {
	uint32_t ip[16];
	uint64_t version[16];
	bool tomb[16];
	int n, stop_at;
} walked;

static int
seen_one(const struct table_rule *r, void *arg)
{
	(void)arg;
	walked.ip[walked.n] = r->ip;
	walked.version[walked.n] = r->version;
	walked.tomb[walked.n] = r->flags & TABLE_F_TOMBSTONE;
	return ++walked.n == walked.stop_at ? 7 : 0;
}

Test(table, the_writer_walks_a_vni_whole_unadvanced_entries_and_tombstones_included)
{
	struct table *t = make(TABLE_GATEWAY, 100, 16);

	set_ok(t, 1, 10, 1);
	set_ok(t, 1, 11, 1);
	cr_assert_eq(table_vni_advance(t, 1, 5, 1), TABLE_APPLIED);
	cr_assert_eq(table_delete(t, 1, 11, 2), TABLE_APPLIED);
	set_ok(t, 1, 12, 2);
	set_ok(t, 2, 10, 1);		/* another VNI: not shown */
	/* Version 2 not advanced: readers' walks stop at 1, the writer's does not. */
	memset(&walked, 0, sizeof(walked));
	cr_assert_eq(table_vni_foreach(t, 1, seen_one, NULL), 0);
	cr_assert_eq(walked.n, 3);
	cr_assert(walked.ip[0] == 10 && walked.version[0] == 1 && !walked.tomb[0]);
	cr_assert(walked.ip[1] == 11 && walked.version[1] == 2 && walked.tomb[1], "the tombstone");
	cr_assert(walked.ip[2] == 12 && walked.version[2] == 2 && !walked.tomb[2]);
	memset(&walked, 0, sizeof(walked));
	walked.stop_at = 2;
	cr_assert_eq(table_vni_foreach(t, 1, seen_one, NULL), 7, "the visitor's stop is returned");
	cr_assert_eq(walked.n, 2);
	cr_assert_eq(table_vni_foreach(t, 9, seen_one, NULL), -ENOENT);
	check(t);
	table_close(t);
	seg_unlink_name(segname);
	t = make(TABLE_HOST, 100, 16);
	set_ok(t, 1, 10, 1);
	cr_assert_eq(table_vni_foreach(t, 1, seen_one, NULL), -ENOTSUP, "install order");
	table_close(t);
}

Test(table, host_delete_removes_the_rule)
{
	struct table *t = make(TABLE_HOST, 100, 4);
	struct table_rule r;

	set_ok(t, 1, 10, 1);
	cr_assert_eq(table_delete(t, 1, 10, 2), TABLE_APPLIED);
	cr_assert_not(table_get(t, 1, 10, &r));
	cr_assert_eq(table_count(t), 0);
	check(t);
	table_close(t);
}

Test(table, batch_lookup_matches_single_lookups)
{
	struct table *t = make(TABLE_GATEWAY, 4096, 16);
	struct table_key keys[100];
	struct table_rule out[100], one;
	bool hit[100];
	uint32_t hits;

	for (uint32_t ip = 0; ip < 3000; ip += 2)
		set_ok(t, 3, ip, ip + 1);
	cr_assert_eq(table_delete(t, 3, 10, 100), TABLE_APPLIED);
	for (uint32_t i = 0; i < 100; i++)
		keys[i] = (struct table_key){ .vni = 3, .ip = i * 7 };
	keys[99].ip = 10;
	hits = table_lookup_batch(t, keys, 100, out, hit);
	uint32_t want = 0;
	for (uint32_t i = 0; i < 100; i++) {
		bool h = table_lookup(t, 3, keys[i].ip, &one);

		want += h;
		cr_assert_eq(hit[i], h, "key %u", keys[i].ip);
		if (h)
			cr_assert_eq(out[i].version, one.version);
	}
	cr_assert_eq(hits, want);
	cr_assert(hit[0], "ip 0 is set");
	cr_assert_not(hit[99], "ip 10 is a tombstone");
	table_close(t);
}

Test(table, versions_valid_relearn_ahead_with_step_2)
{
	struct table *t = make(TABLE_GATEWAY, 100, 16);

	for (uint64_t v = 1; v <= 9; v += 2) {
		set_ok(t, 5, (uint32_t)v, v);
		cr_assert_eq(table_vni_advance(t, 5, 77, v), TABLE_APPLIED);
	}
	cr_assert_eq(table_vni_check(t, 5, 77, 0), TABLE_V_VALID);
	cr_assert_eq(table_vni_check(t, 5, 77, 3), TABLE_V_VALID);
	cr_assert_eq(table_vni_check(t, 5, 77, 9), TABLE_V_VALID);
	cr_assert_eq(table_vni_check(t, 5, 77, 4), TABLE_V_RELEARN, "4 was never a version");
	cr_assert_eq(table_vni_check(t, 5, 77, 11), TABLE_V_AHEAD);
	cr_assert_eq(table_vni_check(t, 5, 78, 3), TABLE_V_RELEARN, "other generation");
	cr_assert_eq(table_vni_check(t, 6, 77, 3), TABLE_V_NO_VNI);
	cr_assert_eq(table_vni_advance(t, 5, 77, 9), TABLE_STALE);
	uint64_t vs[8];
	cr_assert_eq(table_vni_versions(t, 5, vs, 8), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(vs[i], 1 + 2 * (uint64_t)i, "valid versions are 1, 3, 5, 7, 9");
	cr_assert_eq(table_vni_versions(t, 5, vs, 2), 2);
	cr_assert_eq(vs[0], 7, "the newest when there are more");
	cr_assert_eq(table_vni_versions(t, 6, vs, 8), -ENOENT);
	table_close(t);
}

Test(table, versions_outside_the_window_are_invalid)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_vni_info vi;

	/* window 16 with a guard of 4: the last 12 versions are valid */
	for (uint64_t v = 1; v <= 40; v++) {
		set_ok(t, 5, (uint32_t)v, v);
		table_vni_advance(t, 5, 1, v);
	}
	cr_assert_eq(table_vni_get(t, 5, &vi), 0);
	cr_assert_eq(vi.version, 40);
	cr_assert_eq(vi.oldest, 29);
	cr_assert_eq(table_vni_check(t, 5, 1, 29), TABLE_V_VALID);
	cr_assert_eq(table_vni_check(t, 5, 1, 28), TABLE_V_RELEARN);
	table_close(t);
}

/* Collect every change after `since` with pages of `page`. */
static int
walk(struct table *t, uint32_t vni, uint64_t since, uint32_t page, struct table_rule *all,
    uint32_t max, uint64_t *upto)
{
	struct table_cursor cur = { 0 };
	struct table_rule buf[256];
	uint32_t n = 0;
	bool more = true;

	while (more) {
		int r = table_changes(t, vni, since, &cur, buf, page, upto, &more);

		if (r < 0)
			return r;
		cr_assert(n + r <= max);
		memcpy(all + n, buf, r * sizeof(buf[0]));
		n += r;
	}
	return (int)n;
}

Test(table, changes_since_a_version_in_version_order)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 64);
	struct table_rule all[200];
	uint64_t upto;
	int n;

	for (uint64_t v = 1; v <= 10; v++) {
		for (uint32_t ip = 0; ip < 10; ip++)
			if ((ip + v) % 3 == 0)
				set_ok(t, 9, ip, v);
		table_vni_advance(t, 9, 1, v);
	}
	cr_assert_eq(table_delete(t, 9, 4, 11), TABLE_APPLIED);
	table_vni_advance(t, 9, 1, 11);
	n = walk(t, 9, 6, 1000, all, 200, &upto);
	cr_assert_eq(upto, 11);
	/* Each key whose last change is after 6 appears once, at its last version. */
	uint32_t expect = 0;
	for (uint32_t ip = 0; ip < 10; ip++) {
		struct table_rule r;

		if (table_get(t, 9, ip, &r) && r.version > 6)
			expect++;
	}
	cr_assert_eq((uint32_t)n, expect);
	for (int i = 0; i < n; i++) {
		struct table_rule r;

		cr_assert(all[i].version > 6);
		if (i > 0)
			cr_assert(all[i].version > all[i - 1].version ||
			    (all[i].version == all[i - 1].version && all[i].ip > all[i - 1].ip));
		cr_assert(table_get(t, 9, all[i].ip, &r));
		cr_assert_eq(r.version, all[i].version);
	}
	cr_assert(all[n - 1].flags & TABLE_F_TOMBSTONE, "the delete is the last change");
	cr_assert_eq(walk(t, 9, 11, 10, all, 200, &upto), 0, "nothing after the current");
	cr_assert_eq(walk(t, 9, 12, 10, all, 200, &upto), -EAGAIN, "asker ahead");
	check(t);
	table_close(t);
}

Test(table, cursor_pages_through_a_version_larger_than_a_page)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 64);
	struct table_rule all[400];
	uint64_t upto;
	int n;

	set_ok(t, 2, 1, 1);
	table_vni_advance(t, 2, 1, 1);
	for (uint32_t ip = 100; ip < 400; ip++)	/* one version of 300 rules */
		set_ok(t, 2, ip, 2);
	table_vni_advance(t, 2, 1, 2);
	set_ok(t, 2, 5, 3);
	table_vni_advance(t, 2, 1, 3);
	n = walk(t, 2, 1, 7, all, 400, &upto);
	cr_assert_eq(n, 301);
	cr_assert_eq(upto, 3);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(all[i].ip, 100u + i);
		cr_assert_eq(all[i].version, 2);
	}
	cr_assert_eq(all[300].ip, 5);
	table_close(t);
}

Test(table, paging_misses_nothing_when_the_cursor_entry_changes)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 64);
	struct table_cursor cur = { 0 };
	struct table_rule buf[10];
	bool seen[300] = { 0 }, more;
	uint64_t upto;
	int r;

	table_vni_advance(t, 2, 1, 1);
	for (uint32_t ip = 0; ip < 300; ip++)
		set_ok(t, 2, ip, 2);
	table_vni_advance(t, 2, 1, 2);
	r = table_changes(t, 2, 1, &cur, buf, 10, &upto, &more);
	cr_assert_eq(r, 10);
	cr_assert(more);
	/* The entry under the cursor and its neighbours move to a newer version. */
	set_ok(t, 2, buf[9].ip, 3);
	set_ok(t, 2, buf[9].ip + 1, 3);
	table_vni_advance(t, 2, 1, 3);
	for (int i = 0; i < r; i++)
		seen[buf[i].ip] = true;
	do {
		r = table_changes(t, 2, 1, &cur, buf, 10, &upto, &more);
		cr_assert(r >= 0);
		for (int i = 0; i < r; i++)
			seen[buf[i].ip] = true;
	} while (more);
	cr_assert_eq(upto, 3);
	for (uint32_t ip = 0; ip < 300; ip++)
		cr_assert(seen[ip], "ip %u was never sent", ip);
	check(t);
	table_close(t);
}

Test(table, a_full_dump_paged_reports_deletes_of_rules_already_sent)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 64);
	struct table_cursor cur = { 0 };
	struct table_rule buf[10];
	bool held[100] = { 0 }, more;
	uint64_t upto;
	int r;

	for (uint32_t ip = 0; ip < 100; ip++)
		set_ok(t, 2, ip, 1);
	table_vni_advance(t, 2, 1, 1);
	cr_assert_eq(table_delete(t, 2, 99, 2), TABLE_APPLIED);
	table_vni_advance(t, 2, 1, 2);
	r = table_changes(t, 2, 0, &cur, buf, 10, &upto, &more);
	cr_assert_eq(r, 10);
	for (int i = 0; i < r; i++)
		held[buf[i].ip] = !(buf[i].flags & TABLE_F_TOMBSTONE);
	/* Deleted while the dump is under way: a rule the first page sent, and one ahead. */
	cr_assert_eq(table_delete(t, 2, buf[0].ip, 3), TABLE_APPLIED);
	cr_assert_eq(table_delete(t, 2, 50, 3), TABLE_APPLIED);
	table_vni_advance(t, 2, 1, 3);
	do {
		r = table_changes(t, 2, 0, &cur, buf, 10, &upto, &more);
		cr_assert(r >= 0);
		for (int i = 0; i < r; i++) {
			cr_assert(buf[i].version > 1 || !(buf[i].flags & TABLE_F_TOMBSTONE),
			    "a delete older than the first page came with it");
			held[buf[i].ip] = !(buf[i].flags & TABLE_F_TOMBSTONE);
		}
	} while (more);
	cr_assert_eq(upto, 3);
	for (uint32_t ip = 0; ip < 100; ip++)
		cr_assert_eq(held[ip], ip != 99 && ip != 50 && ip != 0, "ip %u", ip);
	check(t);
	table_close(t);
}

Test(table, a_stale_version_asks_for_relearn)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_cursor cur = { 0 };
	struct table_rule buf[4];
	uint64_t upto;
	bool more;

	for (uint64_t v = 1; v <= 30; v++) {
		set_ok(t, 4, 1, v);
		table_vni_advance(t, 4, 1, v);
	}
	cr_assert_eq(table_changes(t, 4, 3, &cur, buf, 4, &upto, &more), -ESTALE);
	cr_assert_eq(table_changes(t, 5, 3, &cur, buf, 4, &upto, &more), -ENOENT);
	table_close(t);
}

Test(table, tombstones_are_purged_once_no_valid_version_needs_them)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_rule r;

	set_ok(t, 4, 1, 1);
	table_vni_advance(t, 4, 1, 1);
	cr_assert_eq(table_delete(t, 4, 1, 2), TABLE_APPLIED);
	table_vni_advance(t, 4, 1, 2);
	cr_assert(table_get(t, 4, 1, &r));
	for (uint64_t v = 3; v <= 13; v++) {
		set_ok(t, 4, 100, v);
		table_vni_advance(t, 4, 1, v);
	}
	/* oldest valid is now 2: a learner at 2 does not need the delete at 2 */
	cr_assert_not(table_get(t, 4, 1, &r));
	cr_assert_eq(table_counters(t)->tombs_purged, 1);
	check(t);
	table_close(t);
}

Test(table, flush_drops_one_vni_and_restarts_its_versions)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_vni_info vi;
	struct table_rule r;

	for (uint32_t ip = 0; ip < 100; ip++) {
		set_ok(t, 1, ip, 1);
		set_ok(t, 2, ip, 1);
	}
	table_vni_advance(t, 1, 10, 1);
	table_vni_advance(t, 2, 20, 1);
	cr_assert_eq(table_vni_flush(t, 1, 11), TABLE_APPLIED);
	cr_assert_not(table_lookup(t, 1, 5, &r));
	expect_rule(t, 2, 5, 1);
	cr_assert_eq(table_vni_get(t, 1, &vi), 0);
	cr_assert_eq(vi.version, 0);
	cr_assert_eq(vi.gen, 11);
	cr_assert_eq(vi.live, 0);
	cr_assert_eq(table_count(t), 100);
	cr_assert_eq(table_vni_check(t, 1, 10, 1), TABLE_V_RELEARN);
	check(t);
	/* A new generation in advance flushes too. */
	cr_assert_eq(table_vni_advance(t, 2, 21, 5), TABLE_APPLIED);
	cr_assert_not(table_lookup(t, 2, 5, &r));
	check(t);
	table_close(t);
}

Test(table, eviction_drops_the_oldest_rules_past_the_threshold)
{
	struct table *t = make(TABLE_HOST, 1000, 4);
	struct table_rule r;

	for (uint32_t ip = 0; ip < 100; ip++)
		set_ok(t, 1, ip, 1);
	cr_assert_eq(table_evict(t, 60, 3600, 1000, NULL), 0, "nothing is an hour old");
	cr_assert_eq(table_evict(t, 200, 0, 1000, NULL), 0, "below the threshold");
	cr_assert_eq(table_evict(t, 60, 0, 10, NULL), 10, "budget");
	cr_assert_eq(table_evict(t, 60, 0, 1000, NULL), 30);
	cr_assert_eq(table_count(t), 60);
	cr_assert_not(table_lookup(t, 1, 0, &r), "the first installed went first");
	cr_assert_not(table_lookup(t, 1, 39, &r));
	cr_assert(table_lookup(t, 1, 40, &r));
	cr_assert_eq(table_counters(t)->evicted, 40);
	check(t);
	table_close(t);
}

/* A reader's data-path lookups of n keys (vni, ip0 ...), all hits: what a forwarder does. */
static void
reader_use(struct table *rd, uint32_t vni, uint32_t ip0, uint32_t n)
{
	struct table_key keys[32];
	struct table_rule out[32];
	bool hit[32];

	for (uint32_t done = 0; done < n;) {
		uint32_t m = n - done < 32 ? n - done : 32;

		for (uint32_t i = 0; i < m; i++)
			keys[i] = (struct table_key){ .vni = vni, .ip = ip0 + done + i };
		cr_assert_eq(table_lookup_batch(rd, keys, m, out, hit), m);
		done += m;
	}
}

static struct table *
reader(void)
{
	struct table *rd;

	cr_assert_eq(table_attach(&rd, segname, err, sizeof(err)), 0, "%s", err);
	return rd;
}

/* Rules ip0 .. ip0 + n - 1 of the VNI are held (present) or not. */
static void
expect_held(struct table *t, uint32_t vni, uint32_t ip0, uint32_t n, bool present)
{
	struct table_rule r;

	for (uint32_t ip = ip0; ip < ip0 + n; ip++)
		cr_assert_eq(table_lookup(t, vni, ip, &r), present, "rule %u/%u is %s", vni, ip,
		    present ? "gone" : "still held");
}

/*
 * A cap at or past the capacity (cache_max_rules and table_capacity were both 500000 by
 * default) would never be passed: the table refuses the rule past its capacity, so
 * eviction never started and the cache kept its first rules for good. It evicts down to
 * the capacity less 1/16 instead, and new rules have room again.
 */
Test(table, a_full_cache_evicts_whatever_its_cap_and_takes_new_rules_again)
{
	struct table *t = make(TABLE_HOST, 160, 4);
	struct table_rule r = rule(1, 1000, 1);

	for (uint32_t ip = 0; ip < 160; ip++)
		set_ok(t, 1, ip, 1);
	cr_assert_eq(table_set(t, &r), -ENOSPC, "the table is full");
	tableclock_forward(t, 100);
	cr_assert_eq(table_evict(t, 160, 60, 1000, NULL), 10, "a cap at the capacity");
	cr_assert_eq(table_count(t), 150);
	expect_held(t, 1, 0, 10, false);
	expect_held(t, 1, 10, 150, true);
	set_ok(t, 1, 1000, 1);
	for (uint32_t ip = 1001; ip < 1010; ip++)
		set_ok(t, 1, ip, 1);
	tableclock_forward(t, 100);
	cr_assert_eq(table_evict(t, 1000000, 60, 1000, NULL), 10, "a cap past it");
	expect_held(t, 1, 10, 10, false);
	expect_held(t, 1, 20, 140, true);
	cr_assert_eq(table_evict(t, 150, 60, 1000, NULL), 0, "at the room: nothing to do");
	check(t);
	table_close(t);
}

/*
 * The forwarder's lookups, through a reader's mapping (read-only but for its slot and
 * the use stamps), tell the writer which rules are in use: those stay, and the unused
 * go, the oldest first.
 */
Test(table, eviction_keeps_the_rules_a_reader_used_and_drops_the_oldest_unused)
{
	struct table *t = make(TABLE_HOST, 1000, 4), *rd = reader();
	uint32_t kept;

	for (uint32_t ip = 0; ip < 100; ip++)
		set_ok(t, 1, ip, 1);
	tableclock_forward(t, 100);	/* installed 100 s ago, unused since */
	reader_use(rd, 1, 0, 10);	/* the ten oldest are in use */
	table_close(rd);		/* the marks outlive the reader */
	cr_assert_eq(table_evict(t, 50, 60, 1000, &kept), 50);
	cr_assert_eq(kept, 10, "the rules in use were kept");
	expect_held(t, 1, 0, 10, true);
	expect_held(t, 1, 10, 50, false);	/* the oldest of the unused went */
	expect_held(t, 1, 60, 40, true);
	cr_assert_eq(table_counters(t)->evict_kept, 10);
	cr_assert_eq(table_counters(t)->evicted, 50);
	check(t);
	table_close(t);
}

/*
 * A rule kept is work of the pass: the budget counts it. Each rule in use is moved once
 * and then left alone until it may be unused for max_age again, so a cache whose rules
 * are all in use costs nothing pass after pass. Once they are unused, those moved first
 * go first.
 */
Test(table, eviction_counts_kept_rules_in_its_budget_and_moves_each_once)
{
	struct table *t = make(TABLE_HOST, 1000, 4), *rd = reader();
	uint32_t kept;

	for (uint32_t ip = 0; ip < 100; ip++)
		set_ok(t, 1, ip, 1);
	tableclock_forward(t, 100);
	reader_use(rd, 1, 0, 100);
	for (int pass = 0; pass < 3; pass++) {
		cr_assert_eq(table_evict(t, 50, 60, 30, &kept), 0, "pass %d", pass);
		cr_assert_eq(kept, 30, "pass %d", pass);
	}
	cr_assert_eq(table_evict(t, 50, 60, 30, &kept), 0);
	cr_assert_eq(kept, 10, "each rule is moved once");
	cr_assert_eq(table_evict(t, 50, 60, 1000, &kept), 0);
	cr_assert_eq(kept, 0, "all in use: nothing to do");
	cr_assert_eq(table_count(t), 100);
	check(t);

	tableclock_forward(t, 100);	/* now unused for 100 s */
	cr_assert_eq(table_evict(t, 50, 60, 1000, &kept), 50);
	cr_assert_eq(kept, 0);
	expect_held(t, 1, 0, 50, false);
	expect_held(t, 1, 50, 50, true);
	check(t);
	table_close(rd);
	table_close(t);
}

/* A change by sync is no use: the rule keeps its age, its last use and its place. */
Test(table, eviction_counts_age_from_the_last_use_not_the_last_change)
{
	struct table *t = make(TABLE_HOST, 1000, 4), *rd = reader();
	uint32_t kept;

	for (uint32_t ip = 0; ip < 10; ip++)
		set_ok(t, 1, ip, 1);
	tableclock_forward(t, 100);
	reader_use(rd, 1, 1, 1);
	set_ok(t, 1, 0, 2);		/* changed now, unused for 100 s */
	set_ok(t, 1, 1, 2);		/* changed now, used now */
	cr_assert_eq(table_evict(t, 5, 60, 1000, &kept), 5);
	cr_assert_eq(kept, 1);
	expect_held(t, 1, 0, 1, false);
	expect_rule(t, 1, 1, 2);
	expect_held(t, 1, 2, 4, false);
	expect_held(t, 1, 6, 4, true);
	check(t);
	table_close(rd);
	table_close(t);
}

/*
 * A paged walk of a host VNI whose cursor's rule eviction moved to the tail (a copy of
 * the same version) must start over: resuming after the copy would end it early.
 */
Test(table, a_host_walk_whose_cursor_rule_was_moved_starts_over)
{
	struct table *t = make(TABLE_HOST, 1000, 4), *rd = reader();
	struct table_cursor cur = { 0 };
	struct table_rule out[16];
	uint64_t upto;
	uint32_t kept;
	bool more;

	for (uint32_t ip = 0; ip < 10; ip++)
		set_ok(t, 1, ip, 1);
	tableclock_forward(t, 100);
	cr_assert_eq(table_changes(rd, 1, 0, &cur, out, 2, &upto, &more), 2);
	cr_assert(more);
	cr_assert_eq(out[1].ip, 1);
	reader_use(rd, 1, 0, 2);
	cr_assert_eq(table_evict(t, 9, 60, 1000, &kept), 1, "ip 2 goes");
	cr_assert_eq(kept, 2, "ip 0 and 1 move to the tail");
	cr_assert_eq(table_changes(rd, 1, 0, &cur, out, 16, &upto, &more), -EAGAIN);
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(table_changes(rd, 1, 0, &cur, out, 16, &upto, &more), 9);
	cr_assert_eq(out[0].ip, 3, "the list is in eviction order");
	cr_assert_eq(out[7].ip, 0);
	cr_assert_eq(out[8].ip, 1);
	check(t);
	table_close(rd);
	table_close(t);
}

/* What the reader process of the test below saw, in a shared page. */
struct live_watch {
	uint64_t passes;	/* lookups of every rule in use, and a dump of their VNI */
	uint64_t misses;	/* a rule in use not found */
	uint64_t dump_gaps;	/* a dump of their VNI that lacked one */
	uint32_t stop;
};

#define LIVE_USED	1000	/* rules in use: VNI 1, IPs 0 .. LIVE_USED - 1 */
#define LIVE_NEW	50	/* rules installed a second, unused: VNI 2 */
#define LIVE_SECONDS	200
#define LIVE_AGE	5

/* The reader: uses every rule of VNI 1 over and over, and dumps the VNI now and then. */
static int
live_reader(struct live_watch *w)
{
	static struct table_rule out[2 * LIVE_USED];
	struct table *rd;
	struct table_key keys[32];
	struct table_rule got[32];
	bool hit[32];

	if (table_attach(&rd, segname, err, sizeof(err)) < 0)
		return 1;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		static uint8_t seen[LIVE_USED];
		struct table_cursor cur = { 0 };
		uint64_t upto;
		bool more;
		int n;

		for (uint32_t ip = 0; ip < LIVE_USED; ip += 32) {
			uint32_t m = LIVE_USED - ip < 32 ? LIVE_USED - ip : 32;

			for (uint32_t i = 0; i < m; i++)
				keys[i] = (struct table_key){ .vni = 1, .ip = ip + i };
			if (table_lookup_batch(rd, keys, m, got, hit) != m)
				__atomic_add_fetch(&w->misses, 1, __ATOMIC_RELAXED);
		}
		/* One page: rules moved meanwhile may show twice, never not at all. */
		memset(seen, 0, sizeof(seen));
		n = table_changes(rd, 1, 0, &cur, out, 2 * LIVE_USED, &upto, &more);
		for (int i = 0; i < n; i++)
			if (out[i].ip < LIVE_USED)
				seen[out[i].ip] = 1;
		if (n < 0 || more || memchr(seen, 0, sizeof(seen)) != NULL)
			__atomic_add_fetch(&w->dump_gaps, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->passes, 1, __ATOMIC_RELEASE);
	}
	table_close(rd);
	return 0;
}

/*
 * Eviction while a reader process uses rules: a second at a time (the test's clock,
 * moved only once the reader went over every rule in use since the last move, so their
 * stamps are at most a second old), new unused rules come in and eviction runs as the
 * learner runs it, in budget-sized calls. The rules in use are moved behind the unused
 * again and again under the reader's lookups and dumps, and none is ever missed; the
 * unused go once max_age passed, so the table holds no more than a max_age of them.
 */
Test(table, eviction_under_a_live_reader_never_loses_a_rule_in_use)
{
	struct table_params p;
	struct live_watch *w;
	struct table *t;
	uint32_t next_ip = 0, most = 0;
	int status;
	pid_t pid;

	table_params_default(&p, TABLE_HOST);
	p.capacity = 4096;
	p.max_vnis = 8;
	p.max_readers = 4;
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(w, MAP_FAILED);
	memset(w, 0, sizeof(*w));
	for (uint32_t ip = 0; ip < LIVE_USED; ip++)
		set_ok(t, 1, ip, 1);
	if ((pid = fork()) == 0)
		_exit(live_reader(w));
	cr_assert_gt(pid, 0);
	for (uint32_t sec = 0; sec < LIVE_SECONDS; sec++) {
		uint64_t from = __atomic_load_n(&w->passes, __ATOMIC_ACQUIRE);
		uint32_t n, kept;

		/* Two passes: one began after the last move and ended. */
		while (__atomic_load_n(&w->passes, __ATOMIC_ACQUIRE) < from + 2) {
			cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the reader died");
			usleep(100);
		}
		tableclock_forward(t, 1);
		for (uint32_t i = 0; i < LIVE_NEW; i++)
			set_ok(t, 2, next_ip++, 1);
		do
			n = table_evict(t, LIVE_USED, LIVE_AGE, 64, &kept);
		while (n + kept == 64);
		table_maintain(t);
		if (table_count(t) > most)
			most = table_count(t);
	}
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader: status %d", status);
	cr_assert_eq(w->misses, 0, "a rule in use was missed in %llu of %llu passes",
	    (unsigned long long)w->misses, (unsigned long long)w->passes);
	cr_assert_eq(w->dump_gaps, 0, "%llu dumps of %llu lacked a rule in use",
	    (unsigned long long)w->dump_gaps, (unsigned long long)w->passes);
	expect_held(t, 1, 0, LIVE_USED, true);
	/*
	 * Unused for max_age: the rules installed in a second go max_age seconds later
	 * (or sooner, when a real second passed too).
	 */
	cr_assert_leq(most, LIVE_USED + LIVE_AGE * LIVE_NEW, "the table grew to %u", most);
	cr_assert_geq(table_counters(t)->evicted, (LIVE_SECONDS - LIVE_AGE) * LIVE_NEW);
	cr_assert_geq(table_counters(t)->evict_kept, LIVE_SECONDS / (LIVE_AGE + 2) * LIVE_USED,
	    "the rules in use were moved %llu times",
	    (unsigned long long)table_counters(t)->evict_kept);
	check(t);
	munmap(w, sizeof(*w));
	table_close(t);
}

Test(table, capacity_refuses_new_keys_but_not_updates)
{
	struct table *t = make(TABLE_HOST, 64, 4);
	struct table_rule r = rule(1, 1000, 1);

	for (uint32_t ip = 0; ip < 64; ip++)
		set_ok(t, 1, ip, 1);
	cr_assert_eq(table_set(t, &r), -ENOSPC);
	cr_assert_eq(table_counters(t)->full, 1);
	for (uint64_t v = 2; v < 5000; v++)	/* churn far beyond the slack */
		set_ok(t, 1, (uint32_t)v % 64, v);
	table_maintain(t);
	cr_assert_eq(table_delete(t, 1, 0, 10000), TABLE_APPLIED);
	cr_assert_eq(table_set(t, &r), TABLE_APPLIED, "room again after a delete");
	check(t);
	table_close(t);
}

Test(table, too_many_vnis_is_refused)
{
	struct table *t = make(TABLE_HOST, 1000, 4);
	struct table_rule r;

	for (uint32_t vni = 1; vni <= 64; vni++)
		set_ok(t, vni, 1, 1);
	r = rule(65, 1, 1);
	cr_assert_eq(table_set(t, &r), -ENOSPC);
	cr_assert_eq(table_counters(t)->vnis_full, 1);
	table_close(t);
}

/* VNI vni holds rules 1..n at version 1 (gateway: advanced to 1). */
static void
vni_fill(struct table *t, uint32_t vni, uint32_t n)
{
	for (uint32_t ip = 1; ip <= n; ip++)
		set_ok(t, vni, ip, 1);
	if (table_params(t)->mode == TABLE_GATEWAY)
		cr_assert_eq(table_vni_advance(t, vni, 7, 1), TABLE_APPLIED);
}

/* Far more VNIs than max_vnis made and dropped, a few kept all along. */
static void
vnis_churn(uint32_t mode)
{
	struct table *t = make(mode, 1000, 16);
	uint32_t max = table_params(t)->max_vnis, used, retired, listed[64];
	struct table_vni_info vi;
	struct table_rule r;

	for (uint32_t k = 1; k <= 5; k++)
		vni_fill(t, k, 2);
	for (uint32_t n = 0; n < 3 * max; n++) {
		uint32_t vni = 1000 + n * 7;	/* spread over the directory */

		vni_fill(t, vni, 3);
		for (uint32_t ip = 1; ip <= 3; ip++)
			expect_rule(t, vni, ip, 1);
		if (mode == TABLE_GATEWAY) {
			/* A tombstone goes with the VNI too. */
			cr_assert_eq(table_delete(t, vni, 3, 2), TABLE_APPLIED);
			cr_assert_eq(table_vni_advance(t, vni, 7, 2), TABLE_APPLIED);
		}
		cr_assert_eq(table_vni_drop(t, vni), TABLE_APPLIED, "VNI number %u", n + 1);
		cr_assert_eq(table_vni_get(t, vni, &vi), -ENOENT);
		cr_assert_not(table_get(t, vni, 1, &r));
		cr_assert_eq(table_vni_check(t, vni, 7, 1), TABLE_V_NO_VNI);
		table_vni_slots(t, &used, &retired);
		cr_assert_eq(used, 5);
		cr_assert_eq(retired, 1, "the slot waits for a grace period first");
		table_maintain(t);
		table_vni_slots(t, &used, &retired);
		cr_assert_eq(retired, 0, "no reader: the grace period is over at once");
		if (n % 16 == 0)
			check(t);
	}
	cr_assert_eq(table_vni_drop(t, 1000), -ENOENT, "dropped already");
	for (uint32_t k = 1; k <= 5; k++) {
		expect_rule(t, k, 1, 1);
		expect_rule(t, k, 2, 1);
	}
	cr_assert_eq(table_vnis(t, listed, 64), 5, "only the kept VNIs are listed");
	cr_assert_eq(table_count(t), 10, "nothing of the dropped VNIs is held");
	cr_assert_eq(table_counters(t)->vnis_dropped, 3 * max);
	cr_assert_eq(table_counters(t)->vnis_freed, 3 * max);
	cr_assert_eq(table_counters(t)->vnis_full, 0);
	/* Fill every slot: max_vnis still holds as many VNIs as before. */
	for (uint32_t vni = 6; vni <= max; vni++)
		vni_fill(t, vni, 1);
	r = rule(max + 1, 1, 1);
	cr_assert_eq(table_set(t, &r), -ENOSPC);
	cr_assert_eq(table_counters(t)->vnis_full, 1);
	if (mode == TABLE_HOST) {
		/* Eviction walks reused slots like the others. */
		uint32_t held = table_count(t);

		cr_assert_eq(table_evict(t, 0, 0, 1000, NULL), held);
		cr_assert_eq(table_count(t), 0);
	}
	check(t);
	table_close(t);
}

Test(table, gateway_vnis_made_and_dropped_never_use_up_max_vnis)
{
	vnis_churn(TABLE_GATEWAY);
}

Test(table, host_vnis_made_and_dropped_never_use_up_max_vnis)
{
	vnis_churn(TABLE_HOST);
}

/*
 * A reader that found VNI A's slot may still be walking it in its section: the slot is
 * not handed to VNI B until the reader has left, so what it reads of the slot is A's.
 */
Test(table, a_reader_in_a_section_never_sees_another_vni_in_a_dropped_slot)
{
	struct table_params p;
	struct table *t, *rd;
	struct table_cursor cur = { 0 };
	struct table_rule out[8], r;
	uint32_t used, retired;
	uint64_t upto;
	bool more;

	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = 100;
	p.max_vnis = 1;		/* one slot: B can only have A's */
	p.version_window = 16;
	p.max_readers = 2;
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_attach(&rd, segname, err, sizeof(err)), 0, "%s", err);
	vni_fill(t, 10, 4);
	table_read_begin(rd);
	cr_assert_eq(table_changes(rd, 10, 0, &cur, out, 2, &upto, &more), 2);
	cr_assert(more);

	cr_assert_eq(table_vni_drop(t, 10), TABLE_APPLIED);
	table_maintain(t);
	r = rule(20, 1, 5);
	cr_assert_eq(table_set(t, &r), -ENOSPC, "B waits: a reader may stand on A's slot");
	cr_assert_eq(table_vni_advance(t, 20, 9, 5), -ENOSPC);
	cr_assert_eq(table_counters(t)->vnis_limbo_full, 2);
	cr_assert_eq(table_counters(t)->vnis_full, 0, "not the limit: the limbo");
	table_vni_slots(t, &used, &retired);
	cr_assert_eq(used, 0);
	cr_assert_eq(retired, 1);
	/* The rest of the reader's walk is A's or nothing, never B's. */
	for (int n; (n = table_changes(rd, 10, 0, &cur, out, 8, &upto, &more)) > 0;)
		for (int i = 0; i < n; i++)
			cr_assert_eq(out[i].vni, 10u);
	table_read_end(rd);

	/* The reader left: B takes the slot, and its rules are B's alone. */
	set_ok(t, 20, 1, 5);
	cr_assert_eq(table_vni_advance(t, 20, 9, 5), TABLE_APPLIED);
	cr_assert_eq(table_counters(t)->vnis_freed, 1);
	cr_assert_eq(table_vni_get(rd, 10, &(struct table_vni_info){ 0 }), -ENOENT);
	cr_assert_not(table_lookup(rd, 10, 1, &r));
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(table_changes(rd, 10, 0, &cur, out, 8, &upto, &more), -ENOENT);
	memset(&cur, 0, sizeof(cur));
	cr_assert_eq(table_changes(rd, 20, 0, &cur, out, 8, &upto, &more), 1);
	cr_assert_eq(out[0].vni, 20u);
	expect_rule(rd, 20, 1, 5);
	check(t);
	table_close(rd);
	table_close(t);
}

/* A writer killed among drops and reuses: recovery rebuilds the slots from the directory. */
Test(table, a_writer_killed_amid_vni_drops_recovers_every_slot)
{
	struct table_params p;
	struct table *t;
	uint32_t used, retired;
	int status;
	pid_t pid;

	table_params_default(&p, TABLE_HOST);
	p.capacity = 1000;
	p.max_vnis = 8;
	p.version_window = 4;
	p.max_readers = 2;
	if ((pid = fork()) == 0) {
		if (table_create(&t, node, "writer", &p, err, sizeof(err)) < 0)
			_exit(1);
		for (uint32_t vni = 1; vni <= 100; vni++) {
			vni_fill(t, vni, 2);
			if (vni % 4 != 0)	/* keep VNIs 4, 8, 12 */
				table_vni_drop(t, vni);
			if (vni % 3 == 0)
				table_maintain(t);
			if (vni == 12)
				break;
		}
		_exit(0);	/* no table_close: as if killed, slots in limbo and free */
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_counters(t)->recoveries, 1);
	check(t);
	table_vni_slots(t, &used, &retired);
	cr_assert_eq(used, 3);
	for (uint32_t vni = 4; vni <= 12; vni += 4)
		expect_rule(t, vni, 2, 1);
	/* Every other slot comes back, and goes round many times more. */
	for (uint32_t vni = 100; vni < 100 + 3 * 8; vni++) {
		vni_fill(t, vni, 2);
		expect_rule(t, vni, 2, 1);
		cr_assert_eq(table_vni_drop(t, vni), TABLE_APPLIED);
		table_maintain(t);
	}
	for (uint32_t vni = 13; vni <= 17; vni++)
		vni_fill(t, vni, 1);
	check(t);
	table_close(t);
}

Test(table, a_reader_in_a_section_holds_back_reuse)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16), *rd;
	uint32_t limbo, free_now, attached, active;

	cr_assert_eq(table_attach(&rd, segname, err, sizeof(err)), 0, "%s", err);
	set_ok(t, 1, 1, 1);
	table_read_begin(rd);
	for (uint64_t v = 2; v < 500; v++)
		set_ok(t, 1, 1, v);
	table_maintain(t);
	table_limbo(t, &limbo, &free_now);
	cr_assert_eq(limbo, 498, "replaced entries wait for the reader");
	table_readers(t, &attached, &active);
	cr_assert_eq(attached, 1);
	cr_assert_eq(active, 1);
	table_read_end(rd);
	table_maintain(t);
	table_limbo(t, &limbo, &free_now);
	cr_assert_eq(limbo, 0);
	cr_assert_eq(table_counters(t)->reclaimed, 498);
	table_close(rd);
	table_close(t);
}

Test(table, a_reader_killed_in_a_section_is_reaped)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	uint32_t limbo, free_now;
	int pfd[2], status;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(pfd), 0);
	set_ok(t, 1, 1, 1);
	if ((pid = fork()) == 0) {
		struct table *rd;

		if (table_attach(&rd, segname, err, sizeof(err)) < 0)
			_exit(1);
		table_read_begin(rd);
		(void)!write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	for (uint64_t v = 2; v < 100; v++)
		set_ok(t, 1, 1, v);
	table_maintain(t);
	table_limbo(t, &limbo, &free_now);
	cr_assert_eq(limbo, 98);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* Allocation that finds only limbo forces a reap. */
	for (uint64_t v = 100; v < 3000; v++)
		set_ok(t, 1, 1, v);
	cr_assert_geq(table_counters(t)->readers_reaped, 1);
	table_maintain(t);
	table_limbo(t, &limbo, &free_now);
	cr_assert_lt(limbo, 2000, "limbo drains after the reap (%u)", limbo);
	check(t);
	table_close(t);
	close(pfd[0]);
	close(pfd[1]);
}

Test(table, reader_slots_run_out_with_a_clear_error)
{
	struct table_params p;
	struct table *t, *r1, *r2;

	table_params_default(&p, TABLE_HOST);
	p.capacity = 100;
	p.max_vnis = 4;
	p.max_readers = 1;
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_attach(&r1, segname, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_attach(&r2, segname, err, sizeof(err)), -EBUSY);
	cr_assert(strstr(err, "reader slots") != NULL, "%s", err);
	table_close(r1);
	cr_assert_eq(table_attach(&r2, segname, err, sizeof(err)), 0, "a released slot is free");
	table_close(r2);
	table_close(t);
}

Test(table, a_restarted_writer_needs_the_same_params)
{
	struct table *t = make(TABLE_HOST, 100, 4);
	struct table_params p;

	table_close(t);
	table_params_default(&p, TABLE_HOST);
	p.capacity = 200;
	p.max_vnis = 64;
	p.version_window = 4;
	p.max_readers = 8;
	cr_assert_lt(table_create(&t, node, "writer", &p, err, sizeof(err)), 0);
	cr_assert(strstr(err, "remove it") != NULL, "%s", err);
}

Test(table, a_second_writer_is_refused)
{
	struct table *t = make(TABLE_HOST, 100, 4);
	struct table_params p = *table_params(t);
	struct table *t2;
	int status;
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(table_create(&t2, node, "writer", &p, err, sizeof(err)) == -EBUSY ? 0 : 1);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	table_close(t);
}

Test(table, a_killed_writer_restarts_with_the_table_intact)
{
	struct table_params p;
	struct table *t;
	int status;
	pid_t pid;

	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = 5000;
	p.max_vnis = 16;
	p.version_window = 64;
	p.max_readers = 4;
	if ((pid = fork()) == 0) {
		if (table_create(&t, node, "writer", &p, err, sizeof(err)) < 0)
			_exit(1);
		for (uint64_t v = 1; v <= 2000; v++) {
			struct table_rule r = rule(1 + v % 3, (uint32_t)(v * 7919 % 1500), v);

			if (v % 5 == 0)
				table_delete(t, r.vni, r.ip, v);
			else
				table_set(t, &r);
			table_vni_advance(t, r.vni, 1, v);
		}
		_exit(0);	/* no table_close: as if killed */
	}
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_counters(t)->recoveries, 1);
	check(t);
	/* Every change the dead writer made is there: the last one of each key wins. */
	static uint64_t last[4][1500];
	memset(last, 0, sizeof(last));
	for (uint64_t v = 1; v <= 2000; v++)
		last[1 + v % 3][v * 7919 % 1500] = v;
	for (uint32_t vni = 1; vni <= 3; vni++) {
		for (uint32_t ip = 0; ip < 1500; ip++) {
			struct table_rule got;
			uint64_t v = last[vni][ip];

			if (v == 0 || v % 5 == 0)
				cr_assert_not(table_lookup(t, vni, ip, &got));
			else
				expect_rule(t, vni, ip, v);
		}
	}
	table_close(t);
	cr_assert_eq(table_create(&t, node, "writer", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_counters(t)->recoveries, 1, "a clean close needs no recovery");
	table_close(t);
}

/* A model of 2000 keys against 5000 random changes, checked key by key. */
Test(table, random_changes_match_a_model)
{
	struct table *t = make(TABLE_GATEWAY, 4000, 64);
	static uint64_t model[4][500];	/* version, 0 = absent; odd bit 63 = deleted */
	uint64_t seed = 42;

	memset(model, 0, sizeof(model));
	for (uint64_t v = 1; v <= 5000; v++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t vni = (seed >> 33) % 4, ip = (seed >> 40) % 500;
		bool del = (seed >> 20) % 4 == 0;

		if (del) {
			cr_assert_eq(table_delete(t, vni + 1, ip, v), TABLE_APPLIED);
			model[vni][ip] = v | (1ull << 63);
		} else {
			set_ok(t, vni + 1, ip, v);
			model[vni][ip] = v;
		}
		table_vni_advance(t, vni + 1, 1, v);
		if (v % 500 == 0)
			table_maintain(t);
	}
	for (uint32_t vni = 0; vni < 4; vni++) {
		for (uint32_t ip = 0; ip < 500; ip++) {
			struct table_rule r;
			uint64_t m = model[vni][ip];

			if (m == 0 || (m >> 63)) {
				cr_assert_not(table_lookup(t, vni + 1, ip, &r));
			} else {
				expect_rule(t, vni + 1, ip, m);
			}
		}
	}
	check(t);
	table_close(t);
}

Test(table, settings_come_from_the_process_group_with_lines_in_errors)
{
	struct table_params p;
	struct conf *c;

	c = conf_load_string("learner = {\n table_capacity = 2000;\n table_max_vnis = 10;\n};\n",
	    "host1.conf");
	cr_assert_not_null(c);
	cr_assert_eq(table_conf_read(c, "learner", TABLE_HOST, &p), 0, "%s", conf_error(c));
	cr_assert_eq(p.capacity, 2000);
	cr_assert_eq(p.max_vnis, 10);
	cr_assert_eq(p.mode, TABLE_HOST);
	cr_assert_eq(p.max_readers, 64, "default");
	conf_free(c);
	c = conf_load_string("learner = {\n table_version_window = 100;\n};\n", "host1.conf");
	cr_assert_eq(table_conf_read(c, "learner", TABLE_HOST, &p), -1);
	cr_assert(strstr(conf_error(c), "host1.conf:2:") != NULL, "%s", conf_error(c));
	cr_assert(strstr(conf_error(c), "table_version_window must be a power of two") != NULL,
	    "%s", conf_error(c));
	conf_free(c);
	c = conf_load_string("learner = {\n\n table_capacity = 5;\n};\n", "host1.conf");
	cr_assert_eq(table_conf_read(c, "learner", TABLE_HOST, &p), -1);
	cr_assert(strstr(conf_error(c), "host1.conf:3:") != NULL, "%s", conf_error(c));
	conf_free(c);
}

Test(table, rebase_keeps_rules_but_only_the_new_version_is_valid)
{
	struct table *t = make(TABLE_GATEWAY, 1000, 16);
	struct table_vni_info vi;
	struct table_rule r;

	for (uint64_t v = 1; v <= 5; v++) {
		set_ok(t, 3, (uint32_t)v, v);
		table_vni_advance(t, 3, 9, v);
	}
	cr_assert_eq(table_delete(t, 3, 1, 6), TABLE_APPLIED);
	table_vni_advance(t, 3, 9, 6);
	cr_assert_eq(table_vni_rebase(t, 3, 9, 50), TABLE_APPLIED);
	cr_assert_eq(table_vni_get(t, 3, &vi), 0);
	cr_assert_eq(vi.version, 50);
	cr_assert_eq(vi.nversions, 1);
	cr_assert_eq(table_vni_check(t, 3, 9, 5), TABLE_V_RELEARN, "history is gone");
	cr_assert_eq(table_vni_check(t, 3, 9, 50), TABLE_V_VALID);
	cr_assert_eq(table_vni_check(t, 3, 9, 0), TABLE_V_VALID);
	expect_rule(t, 3, 2, 2);
	cr_assert_not(table_get(t, 3, 1, &r), "the tombstone below the new version went");
	cr_assert_eq(table_vni_advance(t, 3, 9, 51), TABLE_APPLIED, "and it goes on from there");
	cr_assert_eq(table_vni_check(t, 3, 9, 50), TABLE_V_VALID);
	check(t);
	table_close(t);
}

Test(table, peers_published_by_the_writer_are_read_whole)
{
	struct table *t = make(TABLE_HOST, 100, 4), *rd;
	struct table_peer in[3] = { { 0x0a000001, 4790, 1 }, { 0x0a000002, 4790, 0 },
		{ 0x0a000003, 4791, 1 } }, out[8];

	cr_assert_eq(table_attach(&rd, segname, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_peers(rd, out, 8), 0, "none yet");
	table_set_peers(t, in, 3);
	cr_assert_eq(table_peers(rd, out, 8), 3);
	cr_assert_eq(out[1].addr, 0x0a000002);
	cr_assert_eq(out[1].up, 0);
	cr_assert_eq(out[2].port, 4791);
	cr_assert_eq(table_peers(rd, out, 2), 2, "at most max");
	table_close(rd);
	table_close(t);
}
