/*
 * exporter_test: vpcfwd-exporter's page (tools/vpcfwd-exporter/expo.c and page.c). What
 * must hold: the text format's escaping, one HELP and TYPE a family however many nodes
 * have it, _total on counters only, vpcfwd_up 0 for a stale process, and no broken line
 * whatever a corrupt segment holds. Also the read-only occupancy readers of rings and
 * rule tables (shm/ring.h, shm/table.h) on real segments.
 */
#include "tools/vpcfwd-exporter/expo.c"
#include "tools/vpcfwd-exporter/page.c"

#include "shm/ring.h"
#include "shm/stats.h"
#include "shm/stats_read.h"
#include "shm/table.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(exporter, .init = ut_init, .fini = ut_fini);

#define SEC	1000000000ull

/* A snapshot as stats_read.c makes it, from literals. */
static struct stats_snap
snap(const char *node, const char *proc, enum stats_owner owner, uint64_t hb_age_ns,
    struct stats_rctr *ctr, uint32_t n)
{
	struct stats_snap s = { .owner = owner, .hb_age_ns = hb_age_ns, .count = n,
	    .ctr = ctr };

	snprintf(s.ent.node, sizeof(s.ent.node), "%s", node);
	snprintf(s.ent.proc, sizeof(s.ent.proc), "%s", proc);
	snprintf(s.ent.name, sizeof(s.ent.name), "vpcfwd.%s.%s.stats", node, proc);
	s.state = owner == STATS_OWNER_RUNNING ? "running" : "STALE";
	return s;
}

static struct stats_rctr
ctr(const char *name, uint32_t kind, const char *desc, uint64_t v)
{
	struct stats_rctr c = { .kind = kind, .value = v };

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.desc, sizeof(c.desc), "%s", desc);
	return c;
}

static char *
render(struct expo *e)
{
	char *page;
	size_t len;

	cr_assert_eq(expo_render(e, &page, &len), 0);
	cr_assert_eq(strlen(page), len);
	return page;
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/*
 * Every line is a HELP, a TYPE or a sample of the 0.0.4 format (names, labels, value),
 * and the samples of a family follow its TYPE without another family in between.
 */
static void
assert_well_formed(const char *page)
{
	regex_t help, type, sample;
	char fam[256] = "", *copy = strdup(page), *save = NULL;
	char seen[64][256];
	size_t nseen = 0;

	cr_assert_eq(regcomp(&help, "^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ([^\\\\]|\\\\\\\\|\\\\n)*$",
	    REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regcomp(&type, "^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$",
	    REG_EXTENDED | REG_NOSUB), 0);
	cr_assert_eq(regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	    "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
	    "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\")*\\})? "
	    "(-?[0-9.e+-]+|NaN|[+-]Inf)$", REG_EXTENDED | REG_NOSUB), 0);
	cr_assert(page[0] == '\0' || page[strlen(page) - 1] == '\n', "page ends mid-line");
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "# HELP ", 7) == 0) {
			cr_assert_eq(regexec(&help, l, 0, NULL, 0), 0, "bad HELP: %s", l);
			sscanf(l + 7, "%255s", fam);
			for (size_t i = 0; i < nseen; i++)
				cr_assert_str_neq(seen[i], fam, "family %s twice", fam);
			cr_assert_lt(nseen, 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", fam);
		} else if (strncmp(l, "# TYPE ", 7) == 0) {
			cr_assert_eq(regexec(&type, l, 0, NULL, 0), 0, "bad TYPE: %s", l);
			cr_assert_eq(strncmp(l + 7, fam, strlen(fam)), 0, "TYPE not after HELP");
		} else {
			cr_assert_eq(regexec(&sample, l, 0, NULL, 0), 0, "bad sample: %s", l);
			cr_assert(strncmp(l, fam, strlen(fam)) == 0 &&
			    (l[strlen(fam)] == '{' || l[strlen(fam)] == ' '),
			    "sample %s outside its family %s", l, fam);
		}
	}
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	free(copy);
}

Test(exporter, help_and_label_values_are_escaped)
{
	struct expo *e = expo_new();
	const struct expo_label l[] = { { "node", "a\"b\\c\nd" } };
	char *page;

	cr_assert_eq(expo_add_u64(e, "m", EXPO_GAUGE, "back\\slash\nnew \"quoted\"", l, 1, 7),
	    0);
	page = render(e);
	cr_assert(strstr(page, "# HELP m back\\\\slash\\nnew \"quoted\"\n") != NULL, "%s", page);
	cr_assert(strstr(page, "m{node=\"a\\\"b\\\\c\\nd\"} 7\n") != NULL, "%s", page);
	assert_well_formed(page);
	free(page);
	expo_free(e);
}

Test(exporter, a_family_of_several_nodes_appears_once)
{
	struct stats_rctr a[] = { ctr("tx_direct", STATS_COUNTER, "sent direct", 5),
	    ctr("ports", STATS_GAUGE, "ports open", 2) };
	struct stats_rctr b[] = { ctr("tx_direct", STATS_COUNTER, "sent direct", 9),
	    ctr("ports", STATS_GAUGE, "ports open", 3) };
	struct stats_rctr c[] = { ctr("req_rx", STATS_COUNTER, "requests", 1) };
	struct stats_snap s[] = { snap("h1", "forwarder", STATS_OWNER_RUNNING, 0, a, 2),
	    snap("gw1", "syncd", STATS_OWNER_RUNNING, 0, c, 1),
	    snap("h2", "forwarder", STATS_OWNER_RUNNING, 0, b, 2) };
	struct expo *e = expo_new();
	char *page;

	cr_assert_eq(page_stats(e, s, 3, 5 * SEC), 0);
	page = render(e);
	assert_well_formed(page);
	cr_assert_eq(count_of(page, "# TYPE vpcfwd_forwarder_tx_direct_total counter\n"), 1);
	cr_assert_eq(count_of(page, "# HELP vpcfwd_forwarder_tx_direct_total sent direct\n"), 1);
	cr_assert_eq(count_of(page, "# TYPE vpcfwd_up gauge\n"), 1);
	cr_assert(strstr(page,
	    "vpcfwd_forwarder_tx_direct_total{node=\"h1\",process=\"forwarder\"} 5\n"
	    "vpcfwd_forwarder_tx_direct_total{node=\"h2\",process=\"forwarder\"} 9\n"),
	    "%s", page);
	cr_assert_eq(expo_dropped(e), 0);
	free(page);
	expo_free(e);
}

Test(exporter, counters_end_in_total_and_gauges_do_not)
{
	struct stats_rctr c[] = { ctr("req_rx", STATS_COUNTER, "d", 1),
	    ctr("parked", STATS_GAUGE, "d", 2), ctr("bytes_total", STATS_COUNTER, "d", 3),
	    ctr("commit_us", STATS_COUNTER, "d", 2500000) };
	struct stats_snap s = snap("gw1", "rule-store", STATS_OWNER_RUNNING, 0, c, 4);
	struct expo *e = expo_new();
	char *page;

	cr_assert_eq(page_stats(e, &s, 1, 5 * SEC), 0);
	page = render(e);
	assert_well_formed(page);
	/* The process's '-' becomes '_'. */
	cr_assert(strstr(page, "\nvpcfwd_rule_store_req_rx_total{node=\"gw1\","
	    "process=\"rule-store\"} 1\n"), "%s", page);
	cr_assert(strstr(page, "# TYPE vpcfwd_rule_store_parked gauge\n"), "%s", page);
	cr_assert_null(strstr(page, "parked_total"));
	cr_assert(strstr(page, "# TYPE vpcfwd_rule_store_bytes_total counter\n"), "%s", page);
	cr_assert_null(strstr(page, "bytes_total_total"));
	/* A time in microseconds is shown in seconds. */
	cr_assert(strstr(page, "\nvpcfwd_rule_store_commit_seconds_total{node=\"gw1\","
	    "process=\"rule-store\"} 2.5\n"), "%s", page);
	free(page);
	expo_free(e);
}

Test(exporter, up_is_0_for_a_stale_process)
{
	struct stats_rctr c[] = { ctr("x", STATS_COUNTER, "d", 1) };
	struct stats_snap s[] = { snap("n1", "fresh", STATS_OWNER_RUNNING, SEC, c, 1),
	    snap("n1", "dead", STATS_OWNER_STALE, SEC, c, 1),
	    snap("n1", "hung", STATS_OWNER_RUNNING, 6 * SEC, c, 1),
	    snap("n1", "unsure", STATS_OWNER_UNKNOWN, 0, c, 1) };
	struct expo *e = expo_new();
	char *page;

	cr_assert_eq(page_stats(e, s, 4, 5 * SEC), 0);
	page = render(e);
	assert_well_formed(page);
	cr_assert(strstr(page, "vpcfwd_up{node=\"n1\",process=\"fresh\"} 1\n"), "%s", page);
	cr_assert(strstr(page, "vpcfwd_up{node=\"n1\",process=\"dead\"} 0\n"), "%s", page);
	cr_assert(strstr(page, "vpcfwd_up{node=\"n1\",process=\"hung\"} 0\n"), "%s", page);
	cr_assert(strstr(page, "vpcfwd_up{node=\"n1\",process=\"unsure\"} 0\n"), "%s", page);
	/* A dead process's last counters stay on the page. */
	cr_assert(strstr(page, "vpcfwd_dead_x_total{node=\"n1\",process=\"dead\"} 1\n"));
	free(page);
	expo_free(e);
}

Test(exporter, hostile_names_and_kinds_never_break_the_page)
{
	struct stats_rctr c[] = { ctr("a-b.c d", STATS_COUNTER, "x\\y", 1),
	    ctr("a_b_c_d", STATS_COUNTER, "the same name once cleaned", 2),
	    ctr("weird", 7, "an unknown kind", 3), ctr("", STATS_GAUGE, "no name", 4),
	    ctr("9lives", STATS_GAUGE, "a digit first", 5),
	    ctr("clash_total", STATS_GAUGE, "a gauge named like a counter", 6),
	    ctr("clash", STATS_COUNTER, "the counter it clashes with", 7) };
	struct stats_snap s = snap("n1", "p", STATS_OWNER_RUNNING, 0, c, 7);
	struct expo *e = expo_new();
	char *page;

	/* The unknown kind and the empty name are left out here... */
	cr_assert_eq(page_stats(e, &s, 1, 5 * SEC), 2);
	page = render(e);
	assert_well_formed(page);
	cr_assert(strstr(page, "vpcfwd_p_a_b_c_d_total{node=\"n1\",process=\"p\"} 1\n"), "%s",
	    page);
	cr_assert(strstr(page, "# HELP vpcfwd_p_a_b_c_d_total x\\\\y\n"), "%s", page);
	cr_assert(strstr(page, "vpcfwd_p_9lives{"), "%s", page);
	cr_assert_null(strstr(page, "weird"));
	/* ...and the repeated sample and the type clash when the page is made. */
	cr_assert_eq(expo_dropped(e), 2);
	cr_assert_eq(count_of(page, "vpcfwd_p_a_b_c_d_total{"), 1);
	cr_assert_eq(count_of(page, "vpcfwd_p_clash_total{"), 1);
	free(page);
	expo_free(e);
}

Test(exporter, metric_names_are_reduced_to_the_format)
{
	struct expo *e = expo_new();
	char *page;

	cr_assert_eq(expo_add_u64(e, "", EXPO_GAUGE, NULL, NULL, 0, 1), -EINVAL);
	cr_assert_eq(expo_add_u64(e, "1a\xff-b", EXPO_GAUGE, NULL, NULL, 0, 1), 0);
	page = render(e);
	assert_well_formed(page);
	cr_assert(strstr(page, "\n_1a__b 1\n"), "%s", page);
	free(page);
	expo_free(e);
}

/* From a real segment: stats_read's copy of a hostile counter table, then the page. */
#define HOSTILE_COUNTERS(X)						\
	X(fine,     COUNTER, "say \"hi\" \\ bye")			\
	X(level,    GAUGE,   "a gauge")
STATS_DECLARE(hostile, HOSTILE_COUNTERS)

Test(exporter, a_real_segment_reads_into_a_valid_page)
{
	struct stats_def defs[hostile_stats_count];
	struct hostile_counters *c;
	struct stats_scan sc;
	struct stats st;
	struct expo *e = expo_new();
	char *page, want[256];
	size_t i;

	memcpy(defs, hostile_stats_defs, sizeof(defs));
	defs[1].name = "le\nvel\x1b[2J";	/* a terminal escape and a newline in a name */
	c = stats_create(&st, ut_node(), "fwd-x", defs, hostile_stats_count);
	cr_assert_not_null(c, "%s", st.seg.err);
	STATS_ADD(c, fine, 41);
	STATS_SET(c, level, 3);
	stats_heartbeat(&st);
	cr_assert_eq(stats_scan(&sc, NULL, NULL, NULL), 0);
	for (i = 0; i < sc.nsnap; i++)
		if (strcmp(sc.snap[i].ent.node, ut_node()) == 0)
			break;
	cr_assert_lt(i, sc.nsnap, "the segment was not read");
	cr_assert_eq(sc.snap[i].owner, STATS_OWNER_RUNNING);
	cr_assert_eq(page_stats(e, &sc.snap[i], 1, 5 * SEC), 0);
	page = render(e);
	assert_well_formed(page);
	snprintf(want, sizeof(want), "vpcfwd_fwd_x_fine_total{node=\"%s\",process=\"fwd-x\"} 41\n",
	    ut_node());
	cr_assert(strstr(page, want), "%s", page);
	cr_assert(strstr(page, "# HELP vpcfwd_fwd_x_fine_total say \"hi\" \\\\ bye\n"), "%s",
	    page);
	snprintf(want, sizeof(want), "vpcfwd_fwd_x_le_vel__2J{node=\"%s\",process=\"fwd-x\"} 3\n",
	    ut_node());
	cr_assert(strstr(page, want), "%s", page);
	snprintf(want, sizeof(want), "vpcfwd_up{node=\"%s\",process=\"fwd-x\"} 1\n", ut_node());
	cr_assert(strstr(page, want), "%s", page);
	free(page);
	expo_free(e);
	stats_scan_free(&sc);
	stats_close(&st);
}

Test(exporter, ring_occupancy_reads_without_writing)
{
	struct ring r;
	struct ring_occupancy o;
	struct seg s;
	char name[SEG_NAME_MAX];
	uint64_t rec[4] = { 0 };
	uint32_t head;

	cr_assert_eq(ring_create(&r, ut_node(), "exp", "q", sizeof(uint64_t), 0x51, 8, 0), 0);
	cr_assert_eq(ring_push(&r, rec, 3), 3);
	ut_segname(name, sizeof(name), "exp", "q");
	cr_assert_eq(seg_attach(&s, name, SEG_KIND_RING, RING_LAYOUT, 0, SEG_RDONLY), 0, "%s",
	    s.err);
	head = r.h->ck.c_head;
	cr_assert_eq(ring_occupancy(&s, &o), 0);
	cr_assert_eq(o.used, 3);
	cr_assert_eq(o.capacity, 7);
	cr_assert_eq(o.drops, 0);
	cr_assert_eq(ring_push(&r, rec, 4), 4);
	cr_assert_eq(ring_push(&r, rec, 2), 0);	/* full: dropped */
	cr_assert_eq(ring_occupancy(&s, &o), 0);
	cr_assert_eq(o.used, 7);
	cr_assert_eq(o.drops, 2);
	cr_assert_eq(r.h->ck.c_head, head, "the reader moved the consumer's index");
	seg_detach(&s);
	ring_close(&r);
}

Test(exporter, table_occupancy_takes_no_reader_slot)
{
	struct table_params p;
	struct table_occupancy o;
	struct table *t;
	struct seg s;
	char name[SEG_NAME_MAX], err[256];
	uint32_t attached, active;
	struct table_rule rule = { .vni = 7, .ip = 0x0a000001, .vtep = 0x0a000101,
	    .version = 1 };

	table_params_default(&p, TABLE_GATEWAY);
	cr_assert_eq(table_create(&t, ut_node(), "exp", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(table_set(t, &rule), 0);
	cr_assert_eq(table_vni_advance(t, 7, 1, 1), 0);
	ut_segname(name, sizeof(name), "exp", "table");
	cr_assert_eq(seg_attach(&s, name, SEG_KIND_TABLE, TABLE_LAYOUT, 0, SEG_RDONLY), 0, "%s",
	    s.err);
	cr_assert_eq(table_occupancy(&s, &o), 0);
	cr_assert_eq(o.entries, 1);
	cr_assert_eq(o.capacity, p.capacity);
	cr_assert_eq(o.vnis, 1);
	cr_assert_eq(o.max_vnis, p.max_vnis);
	table_readers(t, &attached, &active);
	cr_assert_eq(attached, 0, "the monitor took a reader slot");
	seg_detach(&s);
	table_close(t);
}
