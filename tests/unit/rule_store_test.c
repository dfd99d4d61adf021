/*
 * rule_store_test: the rule-store applying the controller's log stream to a gateway
 * table (procs/rule-store/apply.c), records handed in directly, no socket; and its
 * connection counters (conncount.c). A snapshot applied over a table holding rules and
 * a VPC the controller no longer has leaves exactly the snapshot's state: rules it
 * lacks deleted, each VPC's history restarted at its version, vanished VPCs flushed,
 * syncd told of each; the applied seq moves only at SNAP_END, so an abandoned snapshot
 * moves nothing. A VPC made again while the gateway was away (or a controller whose
 * data was replaced) comes back with versions below the table's: the snapshot's state
 * wins all the same. `records` counts RULE and VPC records, not heartbeats or snapshot
 * markers; `lag` stays honest while a snapshot loads; counters carry on across a
 * restart, and a start's first connection is no reconnect. VPCs deleted give their VNI
 * slot back: far more VPCs than table_max_vnis come and go. The table's epoch (the
 * history its seq is of) moves with its seq at a snapshot's end, and is not known
 * (0) while a snapshot of another history is loading, so a HELLO never names a seq of a
 * history the table does not hold up to it.
 */
#include "procs/rule-store/apply.c"
#include "procs/rule-store/conncount.c"
#include "common/addr.h"
#include "tests/unit/ut.h"
#include "tests/unit/ip4.h"

#include <criterion/criterion.h>

#define G1	0x0a0a0001u
#define G2	0x0b0b0002u
#define G3	0x0c0c0003u
#define E1	0xe1e1e1e1e1e1e1e1ull	/* the controller's history (epoch) */
#define E2	0xe2e2e2e2e2e2e2e2ull	/* another: its data restored or replaced */

static struct table *t;
static char err_buf[512];
static struct ring ring;
static struct rule_store_counters c;
static struct apply *a;
static struct vtepset *vs;	/* the gateway forwarder's allow-list */

static void
setup(void)
{
	struct table_params p;
	char err[512];

	ut_init();
	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = 4096;
	p.max_vnis = 64;
	p.max_readers = 4;
	cr_assert_eq(table_create(&t, ut_node(), "rule-store", &p, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(vni_advance_ring_create(&ring, ut_node(), "rule-store",
	    EV_VNI_ADVANCE_RING, 256, 0), 0, "%s", ring.seg.err);
	cr_assert_eq(vtepset_create(&vs, ut_node(), "rule-store", 64, err, sizeof(err)), 0,
	    "%s", err);
	/* As after a first snapshot: the VTEP list alone never asks for one here. */
	vtepset_set_loaded(vs);
	table_set_applied_epoch(t, E1);
	memset(&c, 0, sizeof(c));
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
}

static void
teardown(void)
{
	apply_free(a);
	vtepset_close(vs);
	table_close(t);
	ring_close(&ring);
	ut_fini();
}

TestSuite(rule_store, .init = setup, .fini = teardown);

/* A SET's MAC and VTEP come from `who`, so a rule from another state shows. */
static struct wire_msg
rule(uint64_t seq, uint32_t vni, const char *ip, uint64_t version, uint8_t who)
{
	struct wire_msg m = { .type = WIRE_RULE };

	m.u.rule = (struct wire_rule){ .seq = seq, .vni = vni, .ip = ip4(ip),
	    .vtep = 0xc0a80000u + who, .op = WIRE_RULE_SET, .version = version,
	    .mac = { 0x02, 0, 0, 0, 0, who } };
	return m;
}

static struct wire_msg
tomb(uint64_t seq, uint32_t vni, const char *ip, uint64_t version)
{
	struct wire_msg m = { .type = WIRE_RULE };

	m.u.rule = (struct wire_rule){ .seq = seq, .vni = vni, .ip = ip4(ip),
	    .op = WIRE_RULE_DEL, .version = version };
	return m;
}

static struct wire_msg
vpc(uint64_t seq, uint32_t vni, uint32_t gen, uint64_t version, uint8_t op)
{
	struct wire_msg m = { .type = WIRE_VPC };

	m.u.vpc = (struct wire_vpc){ .seq = seq, .vni = vni, .gen = gen, .version = version,
	    .op = op };
	return m;
}

/* A snapshot's BEGIN (of history E1) or END. */
static struct wire_msg
snap(uint8_t type, uint64_t seq, uint64_t count)
{
	return (struct wire_msg){ .type = type, .u.snap = { .seq = seq, .count = count,
	    .epoch = type == WIRE_SNAP_BEGIN ? E1 : 0 } };
}

/* A SNAP_BEGIN of history epoch. */
static struct wire_msg
snap_of(uint64_t seq, uint64_t count, uint64_t epoch)
{
	return (struct wire_msg){ .type = WIRE_SNAP_BEGIN, .u.snap = { .seq = seq,
	    .count = count, .epoch = epoch } };
}

static struct wire_msg
heartbeat(uint64_t seq)
{
	return (struct wire_msg){ .type = WIRE_HEARTBEAT, .u.heartbeat_seq = seq };
}

static struct wire_msg
host(uint64_t seq, uint32_t vtep, uint8_t op)
{
	return (struct wire_msg){ .type = WIRE_HOST, .u.host = { .seq = seq, .vtep = vtep,
	    .kind = WIRE_HOST_VSWITCH, .op = op } };
}

#define APPLY(msg)							\
	do {								\
		struct wire_msg m_ = (msg);				\
		int rc_ = apply_msg(a, &m_);				\
		cr_assert_eq(rc_, 0, "%s: %s", #msg, strerror(-rc_));	\
	} while (0)

/* The rule the table holds for (vni, ip) is the SET from `who` at version. */
static void
assert_rule(uint32_t vni, const char *ip, uint64_t version, uint8_t who)
{
	struct table_rule r;

	cr_assert(table_lookup(t, vni, ip4(ip), &r), "no rule %u/%s", vni, ip);
	cr_assert_eq(r.version, version, "%u/%s at version %llu", vni, ip,
	    (unsigned long long)r.version);
	cr_assert_eq(r.vtep, 0xc0a80000u + who, "%u/%s: another VTEP", vni, ip);
	cr_assert_eq(r.mac[5], who, "%u/%s: another MAC", vni, ip);
}

/*
 * The log of a gateway that was then away: VPC 100 (gen G1) with .1 .2 .3, .1 moved at
 * version 2; VPC 200 (gen G2) with one rule. Applied up to seq 10.
 */
static void
log_before_going_away(void)
{
	APPLY(vpc(1, 100, G1, 0, WIRE_VPC_ADVANCE));
	APPLY(rule(2, 100, "10.0.0.1", 1, 1));
	APPLY(rule(3, 100, "10.0.0.2", 1, 1));
	APPLY(rule(4, 100, "10.0.0.3", 1, 1));
	APPLY(vpc(5, 100, G1, 1, WIRE_VPC_ADVANCE));
	APPLY(vpc(6, 200, G2, 0, WIRE_VPC_ADVANCE));
	APPLY(rule(7, 200, "10.1.0.1", 1, 1));
	APPLY(vpc(8, 200, G2, 1, WIRE_VPC_ADVANCE));
	APPLY(rule(9, 100, "10.0.0.1", 2, 2));
	APPLY(vpc(10, 100, G1, 2, WIRE_VPC_ADVANCE));
	cr_assert_eq(apply_seq(a), 10);
	cr_assert_eq(table_live(t), 4);
}

static void
assert_applied(uint64_t seq, const char *when)
{
	cr_assert_eq(table_applied_seq(t), seq, "%s: the table's applied seq", when);
	cr_assert_eq(c.applied_seq, seq, "%s: the applied_seq gauge", when);
}

/* Pop what the rule-store told syncd; true when (vni, gen, version) was among it. */
static struct ev_vni_advance told[64];
static uint32_t ntold;

static bool
was_told(uint32_t vni, uint32_t gen, uint64_t version)
{
	ntold += vni_advance_ring_pop(&ring, told + ntold, 64 - ntold);
	for (uint32_t i = 0; i < ntold; i++)
		if (told[i].vni == vni && told[i].gen == gen && told[i].version == version)
			return true;
	return false;
}

Test(rule_store, a_snapshot_over_extra_rules_and_a_vpc_leaves_exactly_its_state)
{
	struct table_vni_info vi;
	uint64_t versions[8];
	uint64_t records;

	log_before_going_away();
	records = c.records;
	/*
	 * Meanwhile at the controller: .2 changed at version 4, .3 was deleted and its
	 * tombstone trimmed, .4 appeared at 5, .5 came and went (a tombstone at 3); VPC 200
	 * was deleted; VPC 300 was made. The log no longer reaches seq 10: a snapshot.
	 */
	APPLY(snap(WIRE_SNAP_BEGIN, 50, 7));
	assert_applied(10, "after SNAP_BEGIN");
	APPLY(rule(9, 100, "10.0.0.1", 2, 2));		/* what the table has: stale */
	APPLY(rule(30, 100, "10.0.0.2", 4, 3));
	APPLY(tomb(25, 100, "10.0.0.5", 3));
	APPLY(rule(40, 100, "10.0.0.4", 5, 3));
	assert_applied(10, "amid a VPC's rules");
	APPLY(vpc(50, 100, G1, 5, WIRE_VPC_SNAPSHOT));
	assert_applied(10, "after a VPC of the snapshot");
	APPLY(rule(45, 300, "10.2.0.1", 1, 4));
	APPLY(vpc(50, 300, G3, 1, WIRE_VPC_SNAPSHOT));
	assert_applied(10, "with every VPC in, before SNAP_END");
	cr_assert(table_lookup(t, 200, ip4("10.1.0.1"), &(struct table_rule){ 0 }),
	    "VPC 200 stays until the snapshot is known whole");
	APPLY(snap(WIRE_SNAP_END, 50, 0));
	assert_applied(50, "after SNAP_END");

	/* Exactly the snapshot's rules: these four and nothing else. */
	assert_rule(100, "10.0.0.1", 2, 2);
	assert_rule(100, "10.0.0.2", 4, 3);
	assert_rule(100, "10.0.0.4", 5, 3);
	assert_rule(300, "10.2.0.1", 1, 4);
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.3"), &(struct table_rule){ 0 }),
	    "a rule the snapshot lacks is deleted");
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.5"), &(struct table_rule){ 0 }));
	cr_assert_not(table_lookup(t, 200, ip4("10.1.0.1"), &(struct table_rule){ 0 }),
	    "a VPC the snapshot lacks is flushed");
	cr_assert_eq(table_live(t), 4);

	/* Each VPC at the snapshot's (gen, version), its history restarted there. */
	cr_assert_eq(table_vni_get(t, 100, &vi), 0);
	cr_assert_eq(vi.gen, G1);
	cr_assert_eq(vi.version, 5);
	cr_assert_eq(table_vni_versions(t, 100, versions, 8), 1, "only the snapshot's version");
	cr_assert_eq(versions[0], 5);
	cr_assert_eq(table_vni_check(t, 100, G1, 2), TABLE_V_RELEARN,
	    "a learner at a version this table never saw whole relearns");
	cr_assert_eq(table_vni_check(t, 100, G1, 5), TABLE_V_VALID);
	cr_assert_eq(table_vni_get(t, 300, &vi), 0);
	cr_assert_eq(vi.gen, G3);
	cr_assert_eq(vi.version, 1);
	cr_assert_eq(table_vni_get(t, 200, &vi), -ENOENT,
	    "VPC 200 is gone, its VNI slot given back");

	/* syncd heard of each, and the counters say what happened. */
	cr_assert(was_told(100, G1, 5));
	cr_assert(was_told(300, G3, 1));
	cr_assert(was_told(200, G2, 0), "the flush of VPC 200");
	cr_assert_eq(c.records - records, 7, "5 RULE and 2 VPC records");
	cr_assert_eq(c.snapshot_loads, 1);
	cr_assert_eq(c.snapshot_drops, 1, "10.0.0.3");
	cr_assert_eq(c.vnis_flushed, 1);
	cr_assert_eq(c.vnis_rebased, 2);
	cr_assert_eq(c.vnis_rebuilt, 0, "one history: nothing to rebuild");
	cr_assert_eq(c.rules_stale, 1, "10.0.0.1 replayed");
	cr_assert_eq(c.lag, 0);
	cr_assert_eq(c.controller_seq, 50);
	cr_assert_eq(table_check(t, err_buf, sizeof(err_buf)), 0, "%s", err_buf);

	/* The live tail goes on from the snapshot's seq. */
	APPLY(rule(51, 100, "10.0.0.3", 6, 5));
	APPLY(vpc(52, 100, G1, 6, WIRE_VPC_ADVANCE));
	assert_applied(52, "the live tail");
	assert_rule(100, "10.0.0.3", 6, 5);
}

Test(rule_store, a_snapshot_of_a_vpc_made_again_meanwhile_leaves_exactly_its_state)
{
	struct table_vni_info vi;
	uint64_t versions[8];

	log_before_going_away();	/* VPC 100, gen G1 at version 2: .1 v2, .2 v1, .3 v1 */
	/*
	 * Meanwhile VPC 100 was deleted and made again (gen G2, versions from 1): .1 at
	 * version 1 (below the table's 2), .2 at 3 (above the table's VPC), .4 at 2; no .3.
	 */
	APPLY(snap(WIRE_SNAP_BEGIN, 60, 6));
	APPLY(rule(55, 100, "10.0.0.1", 1, 7));
	APPLY(rule(58, 100, "10.0.0.2", 3, 8));
	APPLY(rule(57, 100, "10.0.0.4", 2, 9));
	APPLY(tomb(56, 100, "10.0.0.5", 2));
	APPLY(vpc(60, 100, G2, 3, WIRE_VPC_SNAPSHOT));
	APPLY(vpc(60, 200, G2, 1, WIRE_VPC_SNAPSHOT));	/* 200 also made again, empty */
	assert_applied(10, "before SNAP_END");
	APPLY(snap(WIRE_SNAP_END, 60, 0));
	assert_applied(60, "after SNAP_END");

	assert_rule(100, "10.0.0.1", 1, 7);
	assert_rule(100, "10.0.0.2", 3, 8);
	assert_rule(100, "10.0.0.4", 2, 9);
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.3"), &(struct table_rule){ 0 }));
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.5"), &(struct table_rule){ 0 }));
	cr_assert_not(table_lookup(t, 200, ip4("10.1.0.1"), &(struct table_rule){ 0 }),
	    "a rule the new VPC 200 never had (at version 1, as the snapshot's VPC)");
	cr_assert_eq(table_live(t), 3);
	cr_assert_eq(table_vni_get(t, 100, &vi), 0);
	cr_assert_eq(vi.gen, G2);
	cr_assert_eq(vi.version, 3);
	cr_assert_eq(table_vni_versions(t, 100, versions, 8), 1);
	cr_assert_eq(versions[0], 3);
	cr_assert_eq(c.vnis_rebuilt, 2);
	cr_assert(was_told(100, G2, 3));
	cr_assert_eq(table_check(t, err_buf, sizeof(err_buf)), 0, "%s", err_buf);
}

Test(rule_store, a_rule_the_snapshot_lacks_at_a_version_it_never_reached_is_dropped)
{
	log_before_going_away();	/* VPC 100, gen G1 at version 2: .1 v2, .2 v1, .3 v1 */
	/* The controller's data was replaced: VPC 100 at version 1, .2 as the table has it. */
	APPLY(snap_of(3, 2, E2));
	APPLY(rule(2, 100, "10.0.0.2", 1, 1));	/* stale and equal: no sign by itself */
	APPLY(vpc(3, 100, G1, 1, WIRE_VPC_SNAPSHOT));
	APPLY(snap(WIRE_SNAP_END, 3, 0));
	assert_rule(100, "10.0.0.2", 1, 1);
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.1"), &(struct table_rule){ 0 }),
	    ".1 at version 2, which this VPC never reached, is not the controller's");
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.3"), &(struct table_rule){ 0 }));
	cr_assert_eq(table_live(t), 1);
	cr_assert_eq(c.vnis_rebuilt, 1);
	cr_assert_eq(table_check(t, err_buf, sizeof(err_buf)), 0, "%s", err_buf);
}

/*
 * The connection went between a commit's RULE records and its VPC ADVANCE: the table
 * holds .6 at version 3 while VPC 100 is still at 2. The controller deleted .6 later and
 * the log no longer has it: the snapshot (at version 5) lacks .6, and .6 goes, although
 * no walk of the VPC's published versions reaches it.
 */
Test(rule_store, a_rule_of_a_commit_whose_advance_never_came_is_dropped_if_the_snapshot_lacks_it)
{
	log_before_going_away();	/* VPC 100, gen G1 at version 2: .1 v2, .2 v1, .3 v1 */
	APPLY(rule(11, 100, "10.0.0.6", 3, 5));
	APPLY(rule(12, 100, "10.0.0.3", 3, 5));
	/* ...and no VPC ADVANCE to 3: the connection is lost. */
	assert_rule(100, "10.0.0.6", 3, 5);
	APPLY(snap(WIRE_SNAP_BEGIN, 60, 4));
	APPLY(rule(9, 100, "10.0.0.1", 2, 2));
	APPLY(rule(3, 100, "10.0.0.2", 1, 1));
	APPLY(rule(12, 100, "10.0.0.3", 3, 5));
	APPLY(vpc(60, 100, G1, 5, WIRE_VPC_SNAPSHOT));
	APPLY(snap(WIRE_SNAP_END, 60, 0));
	assert_rule(100, "10.0.0.1", 2, 2);
	assert_rule(100, "10.0.0.2", 1, 1);
	assert_rule(100, "10.0.0.3", 3, 5);
	cr_assert_not(table_lookup(t, 100, ip4("10.0.0.6"), &(struct table_rule){ 0 }),
	    ".6, set by a commit never advanced and deleted since, stayed");
	cr_assert_eq(table_live(t), 3, "VPC 100's three (VPC 200, not in the snapshot, went)");
	cr_assert_eq(c.vnis_rebuilt, 0, "one history: no rebuild");
	cr_assert_eq(table_check(t, err_buf, sizeof(err_buf)), 0, "%s", err_buf);
}

Test(rule_store, an_abandoned_snapshot_moves_nothing_and_is_not_counted_loaded)
{
	log_before_going_away();
	APPLY(snap(WIRE_SNAP_BEGIN, 50, 3));
	APPLY(rule(30, 100, "10.0.0.2", 4, 3));
	apply_reset(a);			/* the connection ended */
	assert_applied(10, "after the snapshot was abandoned");
	cr_assert_eq(c.snapshot_loads, 0, "begun, not loaded");
	cr_assert(table_lookup(t, 100, ip4("10.0.0.3"), &(struct table_rule){ 0 }),
	    "nothing the snapshot lacked was deleted");
	cr_assert(table_lookup(t, 200, ip4("10.1.0.1"), &(struct table_rule){ 0 }));
	/* Asked again from seq 10: a new snapshot is welcome. */
	APPLY(snap(WIRE_SNAP_BEGIN, 51, 0));
	APPLY(snap(WIRE_SNAP_END, 51, 0));
	assert_applied(51, "the second snapshot");
	cr_assert_eq(c.snapshot_loads, 1);
	cr_assert_eq(table_live(t), 0, "an empty snapshot: the controller holds nothing");
}

Test(rule_store, records_out_of_place_in_a_snapshot_are_refused)
{
	struct wire_msg m;

	log_before_going_away();
	m = vpc(11, 100, G1, 3, WIRE_VPC_SNAPSHOT);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "a VPC SNAPSHOT outside a snapshot");
	m = snap(WIRE_SNAP_END, 11, 0);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "SNAP_END outside a snapshot");
	APPLY(snap(WIRE_SNAP_BEGIN, 50, 1));
	m = snap(WIRE_SNAP_BEGIN, 50, 1);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "a snapshot inside a snapshot");
	m = vpc(50, 100, G1, 3, WIRE_VPC_ADVANCE);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "a log record inside a snapshot");
	m = snap(WIRE_SNAP_END, 49, 0);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "the end of another snapshot");
	assert_applied(10, "after refused records");
}

Test(rule_store, records_counts_rule_and_vpc_records_not_heartbeats_or_markers)
{
	for (int i = 0; i < 100; i++)
		APPLY(heartbeat(0));
	cr_assert_eq(c.records, 0, "an idle gateway applies nothing");
	cr_assert_eq(c.heartbeats, 100);
	APPLY(snap(WIRE_SNAP_BEGIN, 0, 0));
	APPLY(snap(WIRE_SNAP_END, 0, 0));
	cr_assert_eq(c.records, 0, "an empty snapshot holds no record");
	cr_assert_eq(c.snapshot_loads, 1);
	log_before_going_away();
	cr_assert_eq(c.records, 10);
	APPLY(heartbeat(10));
	cr_assert_eq(c.records, 10);
	cr_assert_eq(c.heartbeats, 101);
	cr_assert_eq(c.rules_set, 5);
	cr_assert_eq(c.vnis_advanced, 5);
}

Test(rule_store, lag_stays_honest_while_a_snapshot_loads)
{
	log_before_going_away();
	cr_assert_eq(c.lag, 0);
	APPLY(heartbeat(25));
	cr_assert_eq(c.lag, 15, "heartbeat 25, applied 10");
	cr_assert_eq(c.controller_seq, 25);
	/* Behind the retention: the snapshot is at seq 1000, the table at 10 until its end. */
	APPLY(snap(WIRE_SNAP_BEGIN, 1000, 2));
	cr_assert_eq(c.controller_seq, 1000);
	cr_assert_eq(c.lag, 990, "the snapshot's seq minus the seq applied");
	APPLY(rule(999, 100, "10.0.0.1", 9, 9));
	APPLY(vpc(1000, 100, G1, 9, WIRE_VPC_SNAPSHOT));
	cr_assert_eq(c.lag, 990, "still behind until SNAP_END");
	APPLY(snap(WIRE_SNAP_END, 1000, 0));
	cr_assert_eq(c.lag, 0);
	cr_assert_eq(c.applied_seq, 1000);
}

Test(rule_store, lag_counts_nothing_of_a_table_ahead_of_a_replaced_controller)
{
	log_before_going_away();
	/* The controller's data was replaced: its newest seq is 4, below ours. */
	APPLY(snap_of(4, 2, E2));
	cr_assert_eq(c.controller_seq, 4, "what the controller says now, lower or not");
	cr_assert_eq(c.lag, 4, "the table holds another history: all of seq 4 is to come");
	APPLY(rule(3, 100, "10.0.0.1", 9, 9));
	APPLY(vpc(4, 100, G1, 9, WIRE_VPC_SNAPSHOT));
	assert_applied(10, "before SNAP_END");
	APPLY(snap(WIRE_SNAP_END, 4, 0));
	assert_applied(4, "the controller's seq, below the one before");
	cr_assert_eq(c.lag, 0);
	APPLY(heartbeat(4));
	cr_assert_eq(c.lag, 0);
}

/*
 * 3 x table_max_vnis VPCs made and deleted through the stream, a few alive all along:
 * each gets a slot and its rules, however many came before.
 */
Test(rule_store, vpcs_made_and_deleted_never_use_up_the_vni_slots)
{
	uint32_t max = table_params(t)->max_vnis;
	uint64_t seq = 0;
	char ip[16];

	for (uint32_t k = 1; k <= 4; k++) {
		APPLY(vpc(++seq, k, G1, 0, WIRE_VPC_ADVANCE));
		APPLY(rule(++seq, k, "10.9.0.1", 1, (uint8_t)k));
		APPLY(vpc(++seq, k, G1, 1, WIRE_VPC_ADVANCE));
	}
	for (uint32_t n = 0; n < 3 * max; n++) {
		uint32_t vni = 1000 + n;

		APPLY(vpc(++seq, vni, G2, 0, WIRE_VPC_ADVANCE));
		for (uint32_t i = 1; i <= 3; i++) {
			snprintf(ip, sizeof(ip), "10.0.%u.%u", n % 250, i);
			APPLY(rule(++seq, vni, ip, 1, (uint8_t)i));
		}
		APPLY(vpc(++seq, vni, G2, 1, WIRE_VPC_ADVANCE));
		cr_assert_eq(c.apply_errors, 0, "VPC number %u (VNI %u) was refused", n + 1, vni);
		for (uint32_t i = 1; i <= 3; i++) {
			snprintf(ip, sizeof(ip), "10.0.%u.%u", n % 250, i);
			assert_rule(vni, ip, 1, (uint8_t)i);
		}
		cr_assert_eq(c.table_vnis, 5, "4 kept VPCs and this one");
		APPLY(vpc(++seq, vni, G2, 0, WIRE_VPC_DELETE));
		cr_assert_eq(table_vni_get(t, vni, &(struct table_vni_info){ 0 }), -ENOENT);
		cr_assert(was_told(vni, G2, 0), "syncd hears of the delete of %u", vni);
		ntold = 0;
		/* The slot comes back at the rule-store's next tick (no reader here). */
		table_maintain(t);
	}
	for (uint32_t k = 1; k <= 4; k++)
		assert_rule(k, "10.9.0.1", 1, (uint8_t)k);
	cr_assert_eq(c.vnis_flushed, 3 * max);
	cr_assert_eq(c.table_max_vnis, max);
	apply_gauges(a);
	cr_assert_eq(c.table_vnis, 4);
	cr_assert_eq(c.table_vnis_retired, 0);
	cr_assert_eq(table_counters(t)->vnis_freed, 3 * max);
	cr_assert_eq(table_check(t, err_buf, sizeof(err_buf)), 0, "%s", err_buf);
}

Test(rule_store, counters_carry_on_across_a_restart_and_gauges_start_again)
{
	log_before_going_away();
	APPLY(heartbeat(12));
	cr_assert_eq(c.records, 10);
	/* The process restarts: the table and the stats segment keep their contents. */
	apply_free(a);
	c.applied_seq = 0;
	c.lag = 0;
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	cr_assert_eq(c.records, 10, "records carries on");
	cr_assert_eq(c.heartbeats, 1);
	cr_assert_eq(c.applied_seq, 10, "the gauge from the table");
	cr_assert_eq(c.lag, 2, "behind the last seq the controller announced");
	APPLY(rule(11, 100, "10.0.0.9", 3, 1));
	APPLY(vpc(12, 100, G1, 3, WIRE_VPC_ADVANCE));
	cr_assert_eq(c.records, 12);
	cr_assert_eq(c.lag, 0);
}

Test(rule_store, connection_counters_carry_on_and_a_first_connection_is_no_reconnect)
{
	struct subscriber_counters seen = { 0 }, now = { 0 };

	/* A start: the first connection fails twice, then succeeds. */
	now.connect_fails = 2;
	conncount_fold(&c, &seen, &now);
	now.connects = 1;
	now.connected = 1;
	conncount_fold(&c, &seen, &now);
	cr_assert_eq(c.reconnects, 0, "the first connection is no reconnect");
	cr_assert_eq(c.connect_fails, 2);
	cr_assert_eq(c.connected, 1);
	/* It goes silent, then a record is refused: two reconnections. */
	now.timeouts = 1;
	now.malformed = 1;
	now.connects = 3;
	conncount_fold(&c, &seen, &now);
	conncount_fold(&c, &seen, &now);	/* a tick with nothing new adds nothing */
	cr_assert_eq(c.reconnects, 2);
	cr_assert_eq(c.timeouts, 1);
	cr_assert_eq(c.malformed, 1);

	/* A restart: the subscriber counts from 0 again, the segment does not. */
	memset(&seen, 0, sizeof(seen));
	now = (struct subscriber_counters){ .connects = 1, .connected = 1 };
	conncount_fold(&c, &seen, &now);
	cr_assert_eq(c.reconnects, 2, "a start's first connection is no reconnect");
	cr_assert_eq(c.connect_fails, 2, "kept across the restart");
	cr_assert_eq(c.timeouts, 1);
	cr_assert_eq(c.malformed, 1);
	now.connects = 2;
	now.connect_fails = 1;
	conncount_fold(&c, &seen, &now);
	cr_assert_eq(c.reconnects, 3);
	cr_assert_eq(c.connect_fails, 3);
	now.connected = 0;
	conncount_fold(&c, &seen, &now);
	cr_assert_eq(c.connected, 0, "a gauge: as it is now");
}

/*
 * A full table: the setup's table swapped for one of `capacity` rules and `max_vnis`
 * VPCs (another segment of the node).
 */
static void
small_table(uint32_t capacity, uint32_t max_vnis)
{
	struct table_params p;
	char err[512];

	apply_free(a);
	table_close(t);
	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = capacity;
	p.max_vnis = max_vnis;
	p.max_readers = 4;
	cr_assert_eq(table_create(&t, ut_node(), "rs-small", &p, err, sizeof(err)), 0, "%s",
	    err);
	table_set_applied_epoch(t, E1);
	memset(&c, 0, sizeof(c));
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
}

/* n rules of VPC vni at version 1 from seq, then its ADVANCE; returns the next seq. */
static uint64_t
vpc_of(uint64_t seq, uint32_t vni, uint32_t gen, int n)
{
	char ip[24];

	for (int i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.%u.0.%d", vni % 256, i + 1);
		APPLY(rule(seq++, vni, ip, 1, 1));
	}
	APPLY(vpc(seq++, vni, gen, 1, WIRE_VPC_ADVANCE));
	return seq;
}

Test(rule_store, a_full_table_never_advertises_a_vpc_it_does_not_hold_whole)
{
	struct wire_status st;
	struct table_vni_info vi;
	uint32_t want;
	uint64_t seq;

	small_table(16, 8);
	seq = vpc_of(1, 100, G1, 12);
	seq = vpc_of(seq, 200, G2, 10);		/* 6 of its rules do not fit */
	cr_assert_eq(table_count(t), 16);
	cr_assert_eq(apply_seq(a), seq - 1, "the log goes on: the table is caught up");
	cr_assert_eq(table_vni_check(t, 100, G1, 1), TABLE_V_VALID, "VPC 100 is whole");
	cr_assert_eq(table_vni_check(t, 200, G2, 1), TABLE_V_INCOMPLETE);
	cr_assert_eq(table_vni_check(t, 200, G2, 0), TABLE_V_INCOMPLETE,
	    "not even a full dump: it would lack rules");
	cr_assert_eq(table_vni_get(t, 200, &vi), 0);
	cr_assert(vi.flags & TABLE_VNI_INCOMPLETE);
	cr_assert_eq(c.vnis_incomplete, 1);
	cr_assert_eq(c.vnis_marked_incomplete, 1, "once a VPC, not once a refused rule");
	cr_assert_eq(c.apply_errors, 6);
	apply_status(a, &st);
	cr_assert_eq(st.capacity, 16);
	cr_assert_eq(st.used, 16);
	cr_assert_eq(st.incomplete, 1);
	cr_assert_eq(st.nlisted, 1);
	cr_assert_eq(st.vni[0], 200);
	cr_assert_eq(apply_want(a, 0, &want), 0, "no room: nothing to ask for yet");
}

Test(rule_store, an_incomplete_vpc_is_fetched_whole_once_room_frees_up)
{
	uint32_t want;
	uint64_t seq, gen;
	char ip[24];

	small_table(16, 8);
	seq = vpc_of(1, 100, G1, 12);
	seq = vpc_of(seq, 200, G2, 10);
	APPLY(vpc(seq++, 100, G1, 0, WIRE_VPC_DELETE));	/* room for VPC 200 now */
	table_maintain(t);
	gen = apply_status_gen(a);
	cr_assert_eq(apply_want(a, 0, &want), 1);
	cr_assert_eq(want, 200);
	cr_assert_eq(apply_want(a, 0, &want), 0, "one WANT at a time");
	cr_assert_eq(c.wants_sent, 1);

	/* A snapshot of VPC 200 at the seq applied; one of its rules was deleted since. */
	cr_assert_eq(apply_msg(a, &(struct wire_msg){ .type = WIRE_PART_BEGIN,
	    .u.part = { .seq = seq - 2, .count = 11, .vni = 200, .epoch = E1 } }), -EPROTO,
	    "a snapshot at another seq than the table's cannot be placed in the log");
	APPLY(((struct wire_msg){ .type = WIRE_PART_BEGIN,
	    .u.part = { .seq = seq - 1, .count = 11, .vni = 200, .epoch = E1 } }));
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.200.0.%d", i + 1);
		APPLY(rule(seq - 1, 200, ip, 1, 1));
	}
	cr_assert_eq(apply_msg(a, &(struct wire_msg){ .type = WIRE_VPC,
	    .u.vpc = { .seq = seq - 1, .vni = 300, .gen = G3, .version = 1,
	    .op = WIRE_VPC_SNAPSHOT } }), -EPROTO, "another VPC in its snapshot");
	{
		struct wire_msg m = rule(seq - 1, 300, "10.30.0.1", 1, 1);

		cr_assert_eq(apply_msg(a, &m), -EPROTO, "another VPC's rule in its snapshot");
		cr_assert_not(table_lookup(t, 300, ip4("10.30.0.1"), &(struct table_rule){ 0 }));
	}
	apply_reset(a);
	cr_assert_eq(apply_want(a, 0, &want), 0, "the next ask waits for its backoff");
	cr_assert_eq(apply_want(a, 2000000000ull, &want), 1, "and is made then");

	APPLY(((struct wire_msg){ .type = WIRE_PART_BEGIN,
	    .u.part = { .seq = seq - 1, .count = 11, .vni = 200, .epoch = E1 } }));
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.200.0.%d", i + 1);
		APPLY(rule(seq - 1, 200, ip, 1, 1));
	}
	APPLY(vpc(seq - 1, 200, G2, 1, WIRE_VPC_SNAPSHOT));
	APPLY(snap(WIRE_SNAP_END, seq - 1, 0));
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.200.0.%d", i + 1);
		assert_rule(200, ip, 1, 1);
	}
	cr_assert_eq(table_vni_check(t, 200, G2, 1), TABLE_V_VALID, "whole again");
	cr_assert_eq(c.vnis_incomplete, 0);
	cr_assert_eq(c.vnis_completed, 1);
	cr_assert_eq(c.vpc_snapshot_loads, 1);
	cr_assert_neq(apply_status_gen(a), gen, "a STATUS goes out with the news");
	cr_assert_eq(apply_seq(a), seq - 1, "the log goes on from where it was");
	cr_assert_eq(apply_want(a, 4000000000ull, &want), 0, "nothing left to ask for");
	/* The log goes on. */
	APPLY(rule(seq, 200, "10.200.0.11", 2, 2));
	APPLY(vpc(seq + 1, 200, G2, 2, WIRE_VPC_ADVANCE));
	cr_assert_eq(table_vni_check(t, 200, G2, 1), TABLE_V_VALID);
}

Test(rule_store, an_incomplete_vpc_stays_so_across_a_restart)
{
	uint32_t want;

	small_table(16, 8);
	vpc_of(vpc_of(1, 100, G1, 12), 200, G2, 10);
	apply_free(a);
	memset(&c, 0, sizeof(c));
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	cr_assert_eq(table_vni_check(t, 200, G2, 1), TABLE_V_INCOMPLETE);
	cr_assert_eq(c.vnis_incomplete, 1, "read back from the table's flags");
	APPLY(vpc(24, 100, G1, 0, WIRE_VPC_DELETE));
	cr_assert_eq(apply_want(a, 0, &want), 1);
	cr_assert_eq(want, 200);
}

Test(rule_store, a_deleted_incomplete_vpc_is_no_longer_incomplete)
{
	small_table(16, 8);
	vpc_of(vpc_of(1, 100, G1, 12), 200, G2, 10);
	APPLY(vpc(24, 200, G2, 0, WIRE_VPC_DELETE));
	cr_assert_eq(c.vnis_incomplete, 0);
	cr_assert_neq(table_vni_check(t, 200, G2, 1), TABLE_V_INCOMPLETE);
}

Test(rule_store, a_vpc_with_no_slot_is_counted_and_the_whole_state_asked_for_after_restart)
{
	struct wire_status st;
	uint32_t want;
	uint64_t seq;

	small_table(64, 2);
	seq = vpc_of(1, 100, G1, 2);
	seq = vpc_of(seq, 200, G2, 2);
	seq = vpc_of(seq, 300, G3, 2);		/* no third slot */
	cr_assert_eq(table_vni_check(t, 300, G3, 1), TABLE_V_NO_VNI);
	cr_assert_eq(table_homeless(t), 1, "readers know some VPC has no slot");
	cr_assert_eq(c.vnis_incomplete, 1);
	apply_status(a, &st);
	cr_assert_eq(st.incomplete, 1);
	cr_assert_eq(st.vni[0], 300);
	/* A restart forgets which VPC it was; the table does not forget that one was. */
	apply_free(a);
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	cr_assert_eq(c.vnis_incomplete, 1);
	cr_assert_eq(apply_want(a, 0, &want), 1, "room for rules is enough to ask");
	cr_assert_eq(want, 0, "the whole state: only it names the VPC");
	APPLY(vpc(seq++, 100, G1, 0, WIRE_VPC_DELETE));
	table_maintain(t);
	cr_assert_eq(table_vni_count(t), 1, "the deleted VPC gave its slot back");
}

Test(rule_store, a_vpc_without_a_slot_that_gets_one_later_is_still_flagged_incomplete)
{
	uint64_t seq;

	small_table(64, 2);
	seq = vpc_of(1, 100, G1, 2);
	seq = vpc_of(seq, 200, G2, 2);
	seq = vpc_of(seq, 300, G3, 2);		/* refused whole: no slot */
	APPLY(vpc(seq++, 100, G1, 0, WIRE_VPC_DELETE));
	table_maintain(t);
	/* VPC 300's next change finds a slot; the rules refused before are still missing. */
	APPLY(rule(seq++, 300, "10.44.0.9", 2, 1));
	APPLY(vpc(seq++, 300, G3, 2, WIRE_VPC_ADVANCE));
	cr_assert_eq(table_vni_check(t, 300, G3, 2), TABLE_V_INCOMPLETE,
	    "a slot is not the rules it lacked");
	cr_assert_eq(table_homeless(t), 0, "it has a slot, and so a flag, now");
	cr_assert_eq(c.vnis_incomplete, 1);
}

Test(rule_store, after_a_restart_with_unnamed_homeless_vpcs_a_new_vpc_is_held_incomplete)
{
	uint32_t want;
	uint64_t seq;

	small_table(64, 2);
	seq = vpc_of(1, 100, G1, 2);
	seq = vpc_of(seq, 200, G2, 2);
	seq = vpc_of(seq, 300, G3, 2);
	apply_free(a);
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	APPLY(vpc(seq++, 100, G1, 0, WIRE_VPC_DELETE));
	table_maintain(t);
	/* Is this VPC 300 again, missing its first rules? The rule-store cannot know. */
	APPLY(rule(seq++, 300, "10.44.0.9", 2, 1));
	APPLY(vpc(seq++, 300, G3, 2, WIRE_VPC_ADVANCE));
	cr_assert_eq(table_vni_check(t, 300, G3, 2), TABLE_V_INCOMPLETE);
	cr_assert_eq(apply_want(a, 0, &want), 1);
	cr_assert_eq(want, 0, "the whole state settles it");
	/* It does: every VPC, whole; nothing is left incomplete or homeless. */
	APPLY(snap(WIRE_SNAP_BEGIN, seq - 1, 7));
	APPLY(rule(seq - 1, 200, "10.200.0.1", 1, 1));
	APPLY(rule(seq - 1, 200, "10.200.0.2", 1, 1));
	APPLY(vpc(seq - 1, 200, G2, 1, WIRE_VPC_SNAPSHOT));
	APPLY(rule(seq - 1, 300, "10.44.0.1", 1, 1));
	APPLY(rule(seq - 1, 300, "10.44.0.2", 1, 1));
	APPLY(rule(seq - 1, 300, "10.44.0.9", 2, 1));
	APPLY(vpc(seq - 1, 300, G3, 2, WIRE_VPC_SNAPSHOT));
	APPLY(snap(WIRE_SNAP_END, seq - 1, 0));
	cr_assert_eq(table_vni_check(t, 300, G3, 2), TABLE_V_VALID);
	cr_assert_eq(table_homeless(t), 0);
	cr_assert_eq(c.vnis_incomplete, 0);
}

/* --- the VTEP list (the gateway forwarder's allow-list) ------------------------- */

#define H1	0xc0a86415u	/* 192.168.100.21 */
#define H2	0xc0a86416u
#define H3	0xc0a86417u

Test(rule_store, host_records_on_the_log_add_and_remove_vteps_at_their_seq)
{
	log_before_going_away();
	APPLY(host(11, H1, WIRE_HOST_ADD));
	APPLY(host(12, H2, WIRE_HOST_ADD));
	cr_assert(vtepset_has(vs, H1) && vtepset_has(vs, H2));
	assert_applied(12, "after two hosts");
	APPLY(host(13, H1, WIRE_HOST_DEL));
	cr_assert(!vtepset_has(vs, H1), "a deleted host's VTEP is refused");
	cr_assert(vtepset_has(vs, H2));
	assert_applied(13, "after a host deleted");
	cr_assert_eq(c.hosts_changed, 3);
	cr_assert_eq(c.vteps, 1);
}

Test(rule_store, a_snapshot_replaces_the_vtep_list_at_its_end_only)
{
	struct wire_msg m;

	APPLY(host(1, H1, WIRE_HOST_ADD));
	APPLY(host(2, H2, WIRE_HOST_ADD));
	APPLY(snap(WIRE_SNAP_BEGIN, 40, 2));
	APPLY(host(40, H2, WIRE_HOST_ADD));
	APPLY(host(40, H3, WIRE_HOST_ADD));
	cr_assert(vtepset_has(vs, H1), "the old list holds until the snapshot ends");
	cr_assert(!vtepset_has(vs, H3));
	m = host(40, H2, WIRE_HOST_DEL);
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "a snapshot names hosts, never deletes");
	APPLY(snap(WIRE_SNAP_END, 40, 0));
	cr_assert(!vtepset_has(vs, H1), "a host the snapshot lacks was deleted meanwhile");
	cr_assert(vtepset_has(vs, H2) && vtepset_has(vs, H3));
	cr_assert_eq(c.vteps, 2);
	assert_applied(40, "the snapshot");
}

Test(rule_store, an_abandoned_snapshot_leaves_the_vtep_list_as_it_was)
{
	APPLY(host(1, H1, WIRE_HOST_ADD));
	APPLY(snap(WIRE_SNAP_BEGIN, 40, 1));
	APPLY(host(40, H2, WIRE_HOST_ADD));
	apply_reset(a);
	cr_assert(vtepset_has(vs, H1));
	cr_assert(!vtepset_has(vs, H2));
}

Test(rule_store, a_vpc_snapshot_carries_no_hosts)
{
	struct wire_msg m = { .type = WIRE_PART_BEGIN };

	log_before_going_away();
	m.u.part = (struct wire_part){ .seq = 10, .count = 1, .vni = 100, .epoch = E1 };
	APPLY(m);
	m = host(10, H1, WIRE_HOST_ADD);
	cr_assert_eq(apply_msg(a, &m), -EPROTO);
	cr_assert(!vtepset_has(vs, H1));
}

Test(rule_store, a_list_never_loaded_asks_for_the_whole_state_once_on_the_log)
{
	uint32_t want = 99;
	char err[256];

	/* A table made before the list was: the log from its seq will not name old hosts. */
	apply_free(a);
	vtepset_close(vs);
	{
		char name[SEG_NAME_MAX];

		seg_name(name, sizeof(name), ut_node(), "rule-store", "vteps");
		seg_unlink_name(name);
	}
	cr_assert_eq(vtepset_create(&vs, ut_node(), "rule-store", 64, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	cr_assert_eq(apply_want(a, 0, &want), 0, "nothing asked before the stream says where");
	APPLY(snap(WIRE_SNAP_BEGIN, 5, 1));
	APPLY(host(5, H1, WIRE_HOST_ADD));
	cr_assert_eq(apply_want(a, 0, &want), 0, "nothing asked inside a snapshot");
	APPLY(snap(WIRE_SNAP_END, 5, 0));
	cr_assert(vtepset_loaded(vs), "a whole snapshot loads the list");
	cr_assert_eq(c.vteps_loaded, 1);
	/* Again, resumed from the log: */
	vtepset_close(vs);
	apply_free(a);
	{
		char name[SEG_NAME_MAX];

		seg_name(name, sizeof(name), ut_node(), "rule-store", "vteps");
		seg_unlink_name(name);
	}
	cr_assert_eq(vtepset_create(&vs, ut_node(), "rule-store", 64, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	{
		uint64_t epoch;

		cr_assert_eq(apply_hello(a, &epoch), 5);
		cr_assert_eq(epoch, E1);
	}
	APPLY(heartbeat(5));
	cr_assert_eq(apply_want(a, 0, &want), 1, "on the log with no list: ask");
	cr_assert_eq(want, 0, "the whole state");
	cr_assert_eq(apply_want(a, 0, &want), 0, "once");
	cr_assert(!vtepset_loaded(vs));
}

Test(rule_store, a_log_followed_from_its_first_record_loads_the_list_without_a_snapshot)
{
	char name[SEG_NAME_MAX], err[256];
	uint32_t want;

	apply_free(a);
	vtepset_close(vs);
	seg_name(name, sizeof(name), ut_node(), "rule-store", "vteps");
	seg_unlink_name(name);
	cr_assert_eq(vtepset_create(&vs, ut_node(), "rule-store", 64, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not_null(a = apply_new(t, vs, &ring, &c));
	{
		uint64_t epoch;

		cr_assert_eq(apply_hello(a, &epoch), 0, "a table at an empty controller's seq 0");
		cr_assert_eq(epoch, E1, "which its empty snapshot named");
	}
	APPLY(heartbeat(0));			/* an empty controller: the log from seq 1 */
	cr_assert(vtepset_loaded(vs));
	cr_assert_eq(apply_want(a, 0, &want), 0, "nothing to ask");
	APPLY(host(1, H1, WIRE_HOST_ADD));
	cr_assert(vtepset_has(vs, H1));
}

/* --- the epoch: the history the table's seq belongs to ---------------------------- */

/* What the next HELLO would say. */
static void
assert_hello(uint64_t seq, uint64_t epoch, const char *when)
{
	uint64_t e;

	cr_assert_eq(apply_hello(a, &e), seq, "%s: the HELLO's seq", when);
	cr_assert_eq(e, epoch, "%s: the HELLO's epoch %016llx", when, (unsigned long long)e);
}

Test(rule_store, a_snapshot_of_another_history_names_no_epoch_until_its_end)
{
	log_before_going_away();
	assert_hello(10, E1, "on the log");
	/* The controller was restored: its history is E2, its log at seq 30. */
	APPLY(snap_of(30, 2, E2));
	assert_hello(10, 0, "amid the snapshot: seq 10 of E1 is no longer what the table holds");
	cr_assert_eq(c.lag, 30, "none of E2's seqs are here yet");
	APPLY(rule(25, 100, "10.0.0.1", 3, 7));
	apply_reset(a);		/* the connection ended: the table is neither E1 nor E2 */
	assert_hello(10, 0, "after the snapshot was abandoned");
	APPLY(snap_of(31, 2, E2));
	APPLY(rule(25, 100, "10.0.0.1", 3, 7));
	APPLY(vpc(31, 100, G2, 3, WIRE_VPC_SNAPSHOT));
	assert_hello(10, 0, "before SNAP_END");
	APPLY(snap(WIRE_SNAP_END, 31, 0));
	assert_hello(31, E2, "after SNAP_END: seq and epoch of the snapshot");
	cr_assert_eq(table_applied_epoch(t), E2);
	cr_assert_eq(c.epoch_changes, 2, "each snapshot begun over another history");
	cr_assert_eq(c.lag, 0);
	/* The log goes on in E2. */
	APPLY(rule(32, 100, "10.0.0.2", 4, 8));
	assert_hello(32, E2, "on E2's log");
}

Test(rule_store, a_snapshot_of_the_same_history_keeps_the_epoch_throughout)
{
	log_before_going_away();
	APPLY(snap(WIRE_SNAP_BEGIN, 50, 2));
	assert_hello(10, E1, "amid a snapshot of its own history (it fell behind the log)");
	APPLY(rule(40, 100, "10.0.0.1", 5, 3));
	APPLY(vpc(50, 100, G1, 5, WIRE_VPC_SNAPSHOT));
	APPLY(snap(WIRE_SNAP_END, 50, 0));
	assert_hello(50, E1, "after it");
	cr_assert_eq(c.epoch_changes, 0);
}

Test(rule_store, a_new_table_learns_its_epoch_from_its_first_snapshot)
{
	table_set_applied_epoch(t, 0);		/* as table_create leaves a new one */
	assert_hello(0, 0, "a new table knows no history");
	APPLY(snap_of(0, 0, E2));		/* an empty controller */
	APPLY(snap(WIRE_SNAP_END, 0, 0));
	assert_hello(0, E2, "an empty snapshot names the history all the same");
	cr_assert_eq(c.epoch_changes, 0, "a new table changed no history");
}

Test(rule_store, a_vpc_snapshot_of_another_history_is_refused)
{
	struct wire_msg m = { .type = WIRE_PART_BEGIN };

	log_before_going_away();
	m.u.part = (struct wire_part){ .seq = 10, .count = 1, .vni = 100, .epoch = E2 };
	cr_assert_eq(apply_msg(a, &m), -EPROTO, "seq 10 of E2 is not the table's seq 10");
	m.u.part.epoch = E1;
	APPLY(m);
}
