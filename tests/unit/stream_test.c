/*
 * stream_test: how the controller starts a rule-store's log stream
 * (procs/controller/stream.c). A HELLO of the log's history (epoch) whose seq the log
 * still covers (down to the record before the oldest kept) is fed from the log; one
 * record further back, a new rule-store, or one ahead of the controller (an empty
 * controller included) gets a snapshot; so does a HELLO of another history or of none,
 * whatever its seq (a restore: the same seqs name other records). A snapshot, walked
 * from one read transaction (snap_open, snap_next), holds every VPC and every rule,
 * tombstones included, of the state at its seq, each VPC's rules before its VPC
 * SNAPSHOT record, whatever commits meanwhile; SNAP_BEGIN counts the records that
 * follow it and names the history. Over a socket (a stream on a unix socket, a client
 * of our own): what a HELLO gets, and a HELLO of stream version 1 refused in version 1.
 */
#include "procs/controller/db.c"
#include "procs/controller/model.c"
#include "procs/controller/stream.c"
/* Before ctldb.h: its global err would shadow new_loop's. */
#include "tests/unit/looptest.h"
#include "tests/unit/ctldb.h"
#include "common/bytes.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#define RETENTION	20
#define OTHER_EPOCH	0x0be0be0be0be0be0ull	/* a history that is not the log's */
#define SNAP_MAX	256	/* records a test's snapshot holds at most */

TestSuite(stream, .fini = ctldb_teardown);

/* One change in its own transaction, which must succeed. */
#define TXN(call)							\
	do {								\
		struct model_txn t_;					\
		struct model_txn *t = &t_;				\
		cr_assert_eq(model_begin(&db, 1, &t_), 0);		\
		if ((call) < 0) {					\
			snprintf(err, sizeof(err), "%s", t_.err);	\
			model_abort(&t_);				\
			cr_assert_fail("%s: %s", #call, err);		\
		}							\
		cr_assert_eq(model_finish(&t_), 0, "%s", t_.err);	\
		model_release(&t_);					\
	} while (0)

static void
vpc(const char *name, uint32_t vni, const char *net)
{
	struct addr_cidr c = { .net = ip4(net), .len = 16 };

	TXN(model_vpc_create(t, name, vni, &c, 1, &(struct db_vpc){ 0 }));
}

static void
vm(const char *name, const char *vpc_name, const char *ip)
{
	struct model_vm_args a = { .name = name, .vpc = vpc_name, .host = "h1",
	    .ip = ip4(ip) };

	TXN(model_vm_create(t, &a, &(struct db_vm){ 0 }));
}

static void
world(void)
{
	TXN(model_host_create(t, "h1", ip4("192.168.0.1"), ADDR_KIND_VSWITCH,
	    &(struct db_host){ 0 }));
	vpc("blue", 100, "10.0.0.0");
}

/* VMs in blue, one a transaction, until seq reaches `seq`; returns how many. */
static int
grow_log_to(uint64_t seq)
{
	char name[24], ip[24];
	int i;

	for (i = 0; db.last_seq < seq; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		snprintf(ip, sizeof(ip), "10.0.9.%d", i + 1);
		vm(name, "blue", ip);
	}
	return i;
}

/*
 * What a subscriber fed from the log after `last` gets: the log's records from last + 1,
 * read as log_copy reads them. Returns how many, checking that they follow each other.
 */
static uint64_t
log_after(uint64_t last)
{
	struct db_iter it;
	MDB_txn *txn;
	uint8_t after[8];
	uint64_t n = 0, seq = last;

	for (int i = 7; i >= 0; i--, seq >>= 8)
		after[i] = (uint8_t)seq;
	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_iter_open(txn, &db, DBI_LOG, NULL, 0, &it), 0);
	cr_assert_eq(db_iter_seek(&it, after, 8), 0);
	while (db_iter_next(&it) > 0) {
		struct wire_msg m;

		cr_assert_eq(bytes_get64(it.key.mv_data), last + 1 + n, "the log has a hole");
		cr_assert_eq(wire_decode(it.val.mv_data, it.val.mv_size, &m),
		    (int)it.val.mv_size);
		n++;
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
	return n;
}

static bool
in_log(uint64_t seq)
{
	MDB_txn *txn;
	MDB_val k = { 8, (uint8_t[8]){ 0 } }, v;
	int rc;

	for (int i = 7; i >= 0; i--, seq >>= 8)
		((uint8_t *)k.mv_data)[i] = (uint8_t)seq;
	cr_assert_eq(db_read(&db, &txn), 0);
	rc = mdb_get(txn, db.dbi[DBI_LOG], &k, &v);
	mdb_txn_abort(txn);
	cr_assert(rc == 0 || rc == MDB_NOTFOUND, "%s", mdb_strerror(rc));
	return rc == 0;
}

Test(stream, a_subscriber_the_log_still_covers_gets_the_records_after_its_seq)
{
	uint64_t first, last;

	open_db(RETENTION);
	world();
	grow_log_to(3 * RETENTION);
	first = db.log_first;
	last = db.last_seq;
	cr_assert_gt(first, 2, "the log was trimmed");
	cr_assert_eq(last - first + 1, RETENTION);
	/* first - 1: the oldest seq a subscriber may hold and still resume from the log. */
	uint64_t covered[] = { first - 1, first, (first + last) / 2, last - 1, last };

	for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++) {
		cr_assert_not(needs_snapshot(&db, covered[i], CTLDB_EPOCH),
		    "seq %llu (log %llu..%llu)", (unsigned long long)covered[i],
		    (unsigned long long)first, (unsigned long long)last);
		cr_assert_eq(log_after(covered[i]), last - covered[i],
		    "the log holds every record after %llu", (unsigned long long)covered[i]);
	}
}

Test(stream, a_hello_of_another_history_gets_a_snapshot_at_any_seq_the_log_holds)
{
	struct wire_hello h = { .stream = WIRE_STREAM_RULES };

	open_db(RETENTION);
	world();
	grow_log_to(3 * RETENTION);
	/* Every seq the log would resume from, and the ones around it. */
	for (uint64_t seq = db.log_first - 2; seq <= db.last_seq + 1; seq++) {
		cr_assert(needs_snapshot(&db, seq, OTHER_EPOCH), "seq %llu of another history",
		    (unsigned long long)seq);
		cr_assert(needs_snapshot(&db, seq, 0), "seq %llu of a history not known",
		    (unsigned long long)seq);
	}
	h.last_seq = db.last_seq - 1;
	h.epoch = OTHER_EPOCH;
	cr_assert(other_history(&db, &h), "counted and logged");
	h.epoch = 0;
	cr_assert(other_history(&db, &h), "a seq of no known history too");
	h.last_seq = 0;
	cr_assert_not(other_history(&db, &h), "a new table is of no history yet");
	h.epoch = CTLDB_EPOCH;
	cr_assert_not(other_history(&db, &h));
}

Test(stream, one_record_past_the_retention_gets_a_snapshot)
{
	open_db(RETENTION);
	world();
	grow_log_to(3 * RETENTION);
	cr_assert_not(in_log(db.log_first - 1), "the record it needs next is gone");
	cr_assert(in_log(db.log_first));
	cr_assert(needs_snapshot(&db, db.log_first - 2, CTLDB_EPOCH));
	cr_assert(needs_snapshot(&db, 1, CTLDB_EPOCH));
	/* The same test while a subscriber is being fed (fill): it fell behind. */
	cr_assert_not(log_holds_after(&db, db.log_first - 2));
	cr_assert(log_holds_after(&db, db.log_first - 1));
}

Test(stream, a_new_subscriber_or_one_ahead_of_the_controller_gets_a_snapshot)
{
	open_db(RETENTION);
	world();
	cr_assert_eq(db.log_first, 1, "the whole log is kept");
	cr_assert(needs_snapshot(&db, 0, 0), "new: a snapshot, not the whole log");
	cr_assert(needs_snapshot(&db, 0, CTLDB_EPOCH), "at seq 0 of this history: the same");
	cr_assert(needs_snapshot(&db, db.last_seq + 1, CTLDB_EPOCH),
	    "ahead: our state was replaced");
	cr_assert_not(needs_snapshot(&db, db.last_seq, CTLDB_EPOCH), "up to date: the live tail");
}

Test(stream, a_subscriber_ahead_of_an_empty_controller_gets_an_empty_snapshot)
{
	struct wire_msg m;
	struct snap sn;

	open_db(RETENTION);
	cr_assert_eq(db.last_seq, 0);
	cr_assert(needs_snapshot(&db, 0, 0),
	    "new on an empty log: an empty snapshot, which names the history");
	cr_assert_not(needs_snapshot(&db, 0, CTLDB_EPOCH),
	    "at seq 0 of this history (it loaded that empty snapshot): the live tail from 1");
	cr_assert(needs_snapshot(&db, 7, CTLDB_EPOCH), "its rules are no longer anywhere here");
	cr_assert_eq(snap_open(&sn, &db, 0, &m), 0);
	cr_assert_eq(m.type, WIRE_SNAP_BEGIN);
	cr_assert_eq(m.u.snap.seq, 0);
	cr_assert_eq(m.u.snap.count, 0);
	cr_assert_eq(m.u.snap.epoch, CTLDB_EPOCH, "it names the log's history");
	cr_assert_eq(snap_next(&sn, &db, &m), 0);
	cr_assert_eq(m.type, WIRE_SNAP_END);
	cr_assert_eq(m.u.snap.seq, 0);
	cr_assert_null(sn.txn, "the snapshot closed itself");
}

/* Every record of a snapshot opened now, SNAP_BEGIN first, SNAP_END last. */
static size_t
snapshot(struct wire_msg *out, size_t max, void (*meanwhile)(void))
{
	struct snap sn;
	size_t n = 1;
	int r;

	cr_assert_eq(snap_open(&sn, &db, 0, &out[0]), 0);
	while ((r = snap_next(&sn, &db, &out[n])) == 1) {
		cr_assert_lt(++n, max);
		if (n == 3 && meanwhile)
			meanwhile();
	}
	cr_assert_eq(r, 0, "snap_next: %s", strerror(-r));
	cr_assert_eq(out[n].type, WIRE_SNAP_END);
	return n + 1;
}

static void
commit_during_the_walk(void)
{
	vm("late", "blue", "10.0.0.99");
	TXN(model_host_create(t, "late", ip4("192.168.0.9"), ADDR_KIND_VSWITCH,
	    &(struct db_host){ 0 }));
	TXN(model_vm_delete(t, "a"));
	TXN(model_vpc_delete(t, "empty"));
}

Test(stream, a_snapshot_holds_every_rule_and_vpc_of_one_seq)
{
	struct wire_msg m[SNAP_MAX];
	struct db_vpc want_vpc[3];
	const char *names[3] = { "blue", "green", "empty" };
	const size_t want_rules[3] = { 3, 1, 0 };	/* a, b's tombstone, c; x; none */
	struct db_iter it;
	MDB_txn *txn;
	uint64_t seq, nrules, seen_rules = 0;
	size_t n, vpcs = 0, from = 1, hosts = 0;
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];

	open_db(RETENTION);
	world();
	vpc("green", 200, "10.1.0.0");
	vpc("red", 300, "10.2.0.0");
	vpc("empty", 400, "10.3.0.0");
	vm("a", "blue", "10.0.0.1");
	vm("b", "blue", "10.0.0.2");
	vm("c", "blue", "10.0.0.3");
	vm("x", "green", "10.1.0.1");
	vm("r", "red", "10.2.0.1");
	TXN(model_vm_delete(t, "b"));		/* a tombstone the snapshot must carry */
	TXN(model_vm_delete(t, "r"));
	TXN(model_vpc_delete(t, "red"));	/* gone: the snapshot must not hold it */

	/* The state the snapshot must hold, read before anything commits meanwhile. */
	seq = db.last_seq;
	cr_assert_eq(db_read(&db, &txn), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(db_get_vpc(txn, &db, names[i], &want_vpc[i]), 0);
	nrules = db_count(txn, &db, DBI_RULES);
	cr_assert_eq(nrules, 4, "a, b's tombstone, c, x");

	n = snapshot(m, SNAP_MAX, commit_during_the_walk);
	cr_assert_gt(db.last_seq, seq, "commits happened during the walk");
	cr_assert_eq(m[0].type, WIRE_SNAP_BEGIN);
	cr_assert_eq(m[0].u.snap.seq, seq, "the state at the last seq when it began");
	cr_assert_eq(m[0].u.snap.count, n - 2, "SNAP_BEGIN counts the records before END");
	cr_assert_eq(m[0].u.snap.epoch, CTLDB_EPOCH, "SNAP_BEGIN names the log's history");
	cr_assert_eq(m[n - 1].u.snap.seq, seq);

	for (size_t i = 1; i < n - 1; i++) {
		cr_assert_gt(wire_encode(&m[i], buf, sizeof(buf)), 0, "record %zu encodes", i);
		if (m[i].type == WIRE_RULE) {
			struct db_rule r;

			cr_assert_eq(db_get_rule(txn, &db, m[i].u.rule.vni, m[i].u.rule.ip, &r), 0,
			    "a rule the state at seq %llu does not have", (unsigned long long)seq);
			cr_assert_eq(m[i].u.rule.op, r.op);
			cr_assert_eq(m[i].u.rule.version, r.version);
			cr_assert_eq(m[i].u.rule.vtep, r.vtep);
			cr_assert_eq(m[i].u.rule.flags, r.flags);
			cr_assert_eq(memcmp(m[i].u.rule.mac, r.mac, 6), 0);
			seen_rules++;
			continue;
		}
		if (m[i].type == WIRE_HOST) {
			/* After every VPC: every host's VTEP, as of the snapshot's seq. */
			cr_assert_eq(vpcs, 3, "a HOST record before the last VPC");
			cr_assert_eq(m[i].u.host.seq, seq);
			cr_assert_eq(m[i].u.host.op, WIRE_HOST_ADD);
			cr_assert_eq(m[i].u.host.kind, WIRE_HOST_VSWITCH);
			cr_assert_eq(m[i].u.host.vtep, ip4("192.168.0.1"),
			    "a host made meanwhile");
			hosts++;
			continue;
		}
		cr_assert_eq(m[i].type, WIRE_VPC);
		cr_assert_eq(m[i].u.vpc.op, WIRE_VPC_SNAPSHOT);
		cr_assert_eq(m[i].u.vpc.seq, seq);
		cr_assert_lt(vpcs, 3, "VPC %u: one too many", m[i].u.vpc.vni);
		/* The VNI index walks VPCs in VNI order: blue, green, empty. */
		cr_assert_eq(m[i].u.vpc.vni, want_vpc[vpcs].vni);
		cr_assert_eq(m[i].u.vpc.gen, want_vpc[vpcs].gen);
		cr_assert_eq(m[i].u.vpc.version, want_vpc[vpcs].version);
		/* Its rules, all of them, came right before it. */
		for (size_t j = from; j < i; j++)
			cr_assert_eq(m[j].u.rule.vni, m[i].u.vpc.vni, "record %zu: another VPC",
			    j);
		cr_assert_eq(i - from, want_rules[vpcs], "VPC %u's rules", m[i].u.vpc.vni);
		from = i + 1;
		vpcs++;
	}
	cr_assert_eq(vpcs, 3, "every live VPC, the one without VMs too");
	cr_assert_eq(hosts, 1, "every host, once");
	cr_assert_eq(seen_rules, nrules, "every rule, once (the tombstone included)");
	/* And every rule of the state is in it: each one was matched, none twice (count). */
	cr_assert_eq(db_iter_open(txn, &db, DBI_RULES, NULL, 0, &it), 0);
	while (db_iter_next(&it) > 0) {
		uint32_t vni = bytes_get32(it.key.mv_data);
		uint32_t ip = bytes_get32((const uint8_t *)it.key.mv_data + 4);
		bool found = false;

		for (size_t i = 1; i < n - 1 && !found; i++)
			found = m[i].type == WIRE_RULE && m[i].u.rule.vni == vni &&
			    m[i].u.rule.ip == ip;
		cr_assert(found, "rule %u/%08x missing from the snapshot", vni, ip);
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
}

Test(stream, a_snapshot_taken_after_trimming_still_holds_every_rule)
{
	struct wire_msg m[SNAP_MAX];
	MDB_txn *txn;
	uint64_t nrules, rules = 0;
	size_t n;
	int vms;

	open_db(RETENTION);
	world();
	vms = grow_log_to(3 * RETENTION);
	cr_assert_gt(db.log_first, 1);
	cr_assert_eq(db_read(&db, &txn), 0);
	nrules = db_count(txn, &db, DBI_RULES);
	mdb_txn_abort(txn);
	n = snapshot(m, SNAP_MAX, NULL);
	for (size_t i = 1; i < n - 1; i++)
		rules += m[i].type == WIRE_RULE;
	cr_assert_eq(rules, nrules, "rules whose records left the log are in it");
	cr_assert_eq(rules, (uint64_t)vms, "one rule a VM");
}

Test(stream, a_snapshot_of_one_vpc_holds_its_rules_and_nothing_else)
{
	struct wire_msg m[SNAP_MAX];
	struct db_vpc blue;
	struct snap sn;
	MDB_txn *txn;
	size_t n = 1;
	int r;

	open_db(RETENTION);
	world();
	vpc("green", 200, "10.1.0.0");
	vm("a", "blue", "10.0.0.1");
	vm("b", "blue", "10.0.0.2");
	vm("x", "green", "10.1.0.1");
	TXN(model_vm_delete(t, "b"));		/* its tombstone is part of blue's state */
	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_vpc(txn, &db, "blue", &blue), 0);
	mdb_txn_abort(txn);

	cr_assert_eq(snap_open(&sn, &db, 100, &m[0]), 0);
	while ((r = snap_next(&sn, &db, &m[n])) == 1)
		cr_assert_lt(++n, SNAP_MAX);
	cr_assert_eq(r, 0);
	cr_assert_eq(m[0].type, WIRE_PART_BEGIN);
	cr_assert_eq(m[0].u.part.vni, 100);
	cr_assert_eq(m[0].u.part.epoch, CTLDB_EPOCH);
	cr_assert_eq(m[0].u.part.seq, db.last_seq);
	cr_assert_eq(m[0].u.part.count, n - 1, "PART_BEGIN counts the records before END");
	cr_assert_eq(n, 4, "a, b's tombstone, blue's VPC SNAPSHOT");
	for (size_t i = 1; i < 3; i++) {
		cr_assert_eq(m[i].type, WIRE_RULE);
		cr_assert_eq(m[i].u.rule.vni, 100, "green's rule is not blue's");
	}
	cr_assert_eq(m[3].type, WIRE_VPC);
	cr_assert_eq(m[3].u.vpc.op, WIRE_VPC_SNAPSHOT);
	cr_assert_eq(m[3].u.vpc.vni, 100);
	cr_assert_eq(m[3].u.vpc.version, blue.version);
	cr_assert_eq(m[n].type, WIRE_SNAP_END);
	cr_assert_eq(m[n].u.snap.seq, db.last_seq);
}

Test(stream, a_snapshot_of_a_deleted_vpc_is_empty)
{
	struct wire_msg m;
	struct snap sn;

	open_db(RETENTION);
	world();
	vm("a", "blue", "10.0.0.1");
	TXN(model_vm_delete(t, "a"));
	TXN(model_vpc_delete(t, "blue"));
	cr_assert_eq(snap_open(&sn, &db, 100, &m), 0);
	cr_assert_eq(m.type, WIRE_PART_BEGIN);
	cr_assert_eq(m.u.part.count, 0);
	cr_assert_eq(snap_next(&sn, &db, &m), 0, "no rule, no VPC record: the end");
	cr_assert_eq(m.type, WIRE_SNAP_END);
}

/* A stream with rule-stores that reported these tables, for admission. */
static void
gateways(struct stream *s, struct sub *subs, const struct wire_status *st, size_t n)
{
	*s = (struct stream){ 0 };
	for (size_t i = 0; i < n; i++) {
		subs[i] = (struct sub){ .s = s, .state = SUB_LOG, .has_status = true,
		    .status = st[i], .next = i + 1 < n ? &subs[i + 1] : NULL };
		snprintf(subs[i].node, sizeof(subs[i].node), "gw%zu", i + 1);
	}
	s->subs = subs;
	s->c = calloc(1, sizeof(*s->c));
}

Test(stream, a_change_past_the_smallest_gateways_room_is_refused_with_its_name)
{
	struct wire_status st[2] = {
		{ .capacity = 100000, .used = 1000, .tombs = 10, .max_vnis = 64, .vnis = 2 },
		{ .capacity = 1000, .used = 994, .tombs = 0, .max_vnis = 64, .vnis = 2 },
	};
	struct stream s;
	struct sub subs[2];
	char msg[256];

	gateways(&s, subs, st, 2);
	/* The controller holds 994 rules; the import brings 235,000 more. */
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vm.import",
	    .rules_now = 994, .rules_after = 994 + 235000, .vpcs_now = 2, .vpcs_after = 2 },
	    msg, sizeof(msg)), -ENOSPC);
	cr_assert(strstr(msg, "vm.import would need 235000 more rules; gateway gw2 has room "
	    "for 6") != NULL, "%s", msg);
	cr_assert_eq(s.c->admission_refused, 1);
	/* What fits the smallest is admitted, and so is anything that adds no rule. */
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vm.import",
	    .rules_now = 994, .rules_after = 1000, .vpcs_now = 2, .vpcs_after = 2 },
	    msg, sizeof(msg)), 0);
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vm.delete",
	    .rules_now = 5000, .rules_after = 4999, .vpcs_now = 2, .vpcs_after = 2 },
	    msg, sizeof(msg)), 0, "a gateway already short must still take deletes");
	/* The gateway's own tombstones take room too. */
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vm.create",
	    .rules_now = 99990, .rules_after = 99991, .vpcs_now = 2, .vpcs_after = 2 },
	    msg, sizeof(msg)), -ENOSPC);
	cr_assert(strstr(msg, "gateway gw") != NULL, "%s", msg);
	free(s.c);
}

Test(stream, a_vpc_past_a_gateways_vni_slots_is_refused)
{
	struct wire_status st = { .capacity = 1000, .max_vnis = 4, .vnis = 4 };
	struct stream s;
	struct sub sub;
	char msg[256];

	gateways(&s, &sub, &st, 1);
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vpc.create",
	    .vpcs_now = 4, .vpcs_after = 5 }, msg, sizeof(msg)), -ENOSPC);
	cr_assert(strstr(msg, "gateway gw1 holds at most 4 VPCs") != NULL, "%s", msg);
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vpc.create",
	    .vpcs_now = 3, .vpcs_after = 4 }, msg, sizeof(msg)), 0);
	/* One that has not reported its table, or is not on the log stream, is not asked. */
	sub.has_status = false;
	cr_assert_eq(stream_admit(&s, &(struct stream_need){ .what = "vpc.create",
	    .vpcs_now = 4, .vpcs_after = 5 }, msg, sizeof(msg)), 0);
	free(s.c);
}

/* --- over a socket: a stream, a client of ours --------------------------------------- */

static struct controller_counters ctr;
static struct stream *st;
static int cli = -1;
static uint8_t rx[1 << 16];
static size_t rxlen;
static bool rx_eof;

/* The stream on a unix socket in the database's directory, a client connected to it. */
static void
serve(void)
{
	struct stream_params p = { .heartbeat_ns = 10000 * MS, .max_subs = 4,
	    .sub_buffer = 1 << 20 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stream.sock", dir);
	cr_assert_geq(ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(ls, 4), 0);
	new_loop();
	cr_assert_not_null(st = stream_new(L, &db, ls, &p, &ctr));
	cr_assert_geq(cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
}

static void
send_bytes(const uint8_t *b, size_t n)
{
	cr_assert_eq(send(cli, b, n, 0), (ssize_t)n);
}

static void
send_hello(uint64_t last_seq, uint64_t epoch)
{
	struct wire_msg m = { .type = WIRE_HELLO, .u.hello = { .stream = WIRE_STREAM_RULES,
	    .last_seq = last_seq, .epoch = epoch, .node = "gw1" } };
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n = wire_encode(&m, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	send_bytes(buf, (size_t)n);
}

/* Whatever the controller sent so far, without waiting. */
static void
rx_poll(void)
{
	ssize_t n;

	while (rxlen < sizeof(rx) &&
	    (n = recv(cli, rx + rxlen, sizeof(rx) - rxlen, MSG_DONTWAIT)) != 0) {
		if (n < 0) {
			cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "%s", strerror(errno));
			return;
		}
		rxlen += (size_t)n;
	}
	rx_eof = rxlen < sizeof(rx);
}

/* The first n records the controller sends, decoded (the loop runs until they came). */
static void
rx_records(struct wire_msg *out, size_t n)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		int r;

		while ((r = wire_decode(rx + off, rxlen - off, &out[i])) == 0) {
			cr_assert_not(rx_eof, "the controller closed after %zu records", i);
			run_for(5);
			rx_poll();
		}
		cr_assert_gt(r, 0, "record %zu does not decode: %s", i, strerror(-r));
		off += (size_t)r;
	}
}

Test(stream, a_hello_of_another_history_at_a_seq_the_log_holds_gets_a_snapshot)
{
	struct wire_msg m[2];

	open_db(RETENTION);
	world();
	grow_log_to(10);
	serve();
	/* seq 5 is in the log, but of another history: the log after it is not its own. */
	send_hello(5, OTHER_EPOCH);
	rx_records(m, 1);
	cr_assert_eq(m[0].type, WIRE_SNAP_BEGIN, "got a %s", wire_type_name(m[0].type));
	cr_assert_eq(m[0].u.snap.seq, db.last_seq);
	cr_assert_eq(m[0].u.snap.epoch, CTLDB_EPOCH, "the snapshot names the log's history");
	cr_assert_eq(ctr.snapshots, 1);
	cr_assert_eq(ctr.hello_other_epoch, 1);
}

Test(stream, a_hello_of_the_same_history_resumes_from_the_log)
{
	struct wire_msg m[2];

	open_db(RETENTION);
	world();
	grow_log_to(10);
	serve();
	send_hello(5, CTLDB_EPOCH);
	rx_records(m, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert(m[i].type == WIRE_RULE || m[i].type == WIRE_VPC, "got a %s",
		    wire_type_name(m[i].type));
		cr_assert_eq(m[i].type == WIRE_RULE ? m[i].u.rule.seq : m[i].u.vpc.seq,
		    6 + (uint64_t)i, "the records after its seq, in order");
	}
	cr_assert_eq(ctr.snapshots, 0);
	cr_assert_eq(ctr.hello_other_epoch, 0);
}

Test(stream, a_hello_of_no_known_history_past_seq_0_gets_a_snapshot)
{
	struct wire_msg m;

	open_db(RETENTION);
	world();
	grow_log_to(10);
	serve();
	send_hello(5, 0);
	rx_records(&m, 1);
	cr_assert_eq(m.type, WIRE_SNAP_BEGIN, "got a %s", wire_type_name(m.type));
	cr_assert_eq(ctr.hello_other_epoch, 1);
}

Test(stream, a_new_rule_store_on_an_empty_log_gets_an_empty_snapshot_naming_the_history)
{
	struct wire_msg m[2];

	open_db(RETENTION);
	serve();
	send_hello(0, 0);
	rx_records(m, 2);
	cr_assert_eq(m[0].type, WIRE_SNAP_BEGIN);
	cr_assert_eq(m[0].u.snap.seq, 0);
	cr_assert_eq(m[0].u.snap.count, 0);
	cr_assert_eq(m[0].u.snap.epoch, CTLDB_EPOCH);
	cr_assert_eq(m[1].type, WIRE_SNAP_END);
	cr_assert_eq(ctr.hello_other_epoch, 0, "a new table is of no other history");
}

/* A HELLO as version 1 wrote it: 80 bytes, no epoch (docs/protocol.md, version 1). */
Test(stream, a_hello_of_stream_version_1_is_refused_in_version_1)
{
	uint8_t v1[4 + 80] = { 0, 0, 0, 80, 1, WIRE_HELLO, 0, 0, WIRE_STREAM_RULES };
	struct wire_msg m;

	memcpy(v1 + 4 + 16, "gw1", 3);
	open_db(RETENTION);
	world();
	serve();
	send_bytes(v1, sizeof(v1));
	while (!rx_eof) {
		run_for(5);
		rx_poll();
	}
	cr_assert_gt(rxlen, 4 + 8, "no ERROR came before the close");
	cr_assert_eq(rx[4], 1, "the ERROR is in the subscriber's version, which it reads");
	cr_assert_eq(rx[5], WIRE_ERROR);
	cr_assert_eq(wire_decode(rx, rxlen, &m), -EPROTONOSUPPORT, "not ours");
	rx[4] = WIRE_VERSION;	/* ERROR is the same in both: read it as ours */
	cr_assert_eq(wire_decode(rx, rxlen, &m), (int)rxlen, "one record, then the close");
	cr_assert_eq(m.u.error.code, EPROTONOSUPPORT);
	cr_assert(strstr(m.u.error.msg, "speaks stream version 2, not 1") != NULL, "%s",
	    m.u.error.msg);
	cr_assert_eq(ctr.subs_wrong_version, 1);
	cr_assert_eq(ctr.snapshots, 0);
}
