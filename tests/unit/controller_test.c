/*
 * controller_test: the controller's model and database: the rules a request must
 * satisfy (refused with a clear message and nothing changed), version arithmetic with
 * version_step 1 and 2, the log's records and its trimming (tombstones leave with
 * their records; the rules a snapshot is made of stay whole); delete churn leaves the
 * log, the tombstones and the data file bounded.
 */
#include "procs/controller/db.c"
#include "procs/controller/model.c"
#include "tests/unit/ctldb.h"
#include "common/bytes.h"

#include <criterion/criterion.h>
#include <stdlib.h>

TestSuite(controller, .fini = ctldb_teardown);

/* One change in its own transaction; returns the model's result. */
#define TXN(step, call)							\
	({								\
		struct model_txn t_;					\
		int rc_;						\
		cr_assert_eq(model_begin(&db, (step), &t_), 0);	\
		struct model_txn *t = &t_;				\
		rc_ = (call);						\
		if (rc_ < 0) {						\
			snprintf(err, sizeof(err), "%s", t_.err);	\
			model_abort(&t_);				\
		} else {						\
			cr_assert_eq(model_finish(&t_), 0, "%s", t_.err); \
			model_release(&t_);				\
		}							\
		rc_;							\
	})

static void
setup_world(uint32_t step)
{
	struct addr_cidr c = { .net = ip4("10.0.0.0"), .len = 16 };
	struct db_vpc v;
	struct db_host h;

	cr_assert_eq(TXN(step, model_vpc_create(t, "blue", 100, &c, 1, &v)), 0, "%s", err);
	cr_assert_eq(TXN(step, model_host_create(t, "h1", ip4("192.168.0.1"),
	    ADDR_KIND_VSWITCH, &h)), 0, "%s", err);
	cr_assert_eq(TXN(step, model_host_create(t, "h2", ip4("192.168.0.2"),
	    ADDR_KIND_EXTERNAL, &h)), 0, "%s", err);
}

static int
vm(uint32_t step, const char *name, const char *ip, const char *host)
{
	struct model_vm_args a = { .name = name, .vpc = "blue", .host = host, .ip = ip4(ip) };
	struct db_vm out;

	return TXN(step, model_vm_create(t, &a, &out));
}

static uint64_t
vpc_version(void)
{
	struct db_vpc v;
	MDB_txn *txn;

	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_vpc(txn, &db, "blue", &v), 0);
	mdb_txn_abort(txn);
	return v.version;
}

static struct db_rule
rule_of(const char *ip)
{
	struct db_rule r;
	MDB_txn *txn;

	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_rule(txn, &db, 100, ip4(ip), &r), 0, "no rule for %s", ip);
	mdb_txn_abort(txn);
	return r;
}

/* Every record of the log, decoded, in order. */
static size_t
log_records(struct wire_msg *out, size_t max)
{
	struct db_iter it;
	MDB_txn *txn;
	size_t n = 0;

	cr_assert_eq(db_read(&db, &txn), 0);
	db_iter_open(txn, &db, DBI_LOG, NULL, 0, &it);
	while (db_iter_next(&it) > 0 && n < max) {
		cr_assert_eq(wire_decode(it.val.mv_data, it.val.mv_size, &out[n]),
		    (int)it.val.mv_size);
		cr_assert_eq(bytes_get64(it.key.mv_data), db.log_first + n, "log has a hole");
		n++;
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
	return n;
}

Test(controller, each_change_raises_the_version_by_the_step_once)
{
	open_db(100000);
	setup_world(1);
	cr_assert_eq(vm(1, "a", "10.0.0.1", "h1"), 0, "%s", err);
	cr_assert_eq(vm(1, "b", "10.0.0.2", "h1"), 0, "%s", err);
	cr_assert_eq(vpc_version(), 2);
	cr_assert_eq(rule_of("10.0.0.1").version, 1);
	cr_assert_eq(rule_of("10.0.0.2").version, 2);
	cr_assert_eq(TXN(1, model_vm_migrate(t, "a", "h2", &(struct db_vm){ 0 })), 0, "%s", err);
	cr_assert_eq(vpc_version(), 3);
	cr_assert_eq(rule_of("10.0.0.1").version, 3);
	cr_assert_eq(rule_of("10.0.0.1").vtep, ip4("192.168.0.2"));
	cr_assert_eq(rule_of("10.0.0.1").flags, WIRE_RULE_F_EXTERNAL, "h2 is external");
	cr_assert_eq(TXN(1, model_vm_delete(t, "b")), 0, "%s", err);
	cr_assert_eq(rule_of("10.0.0.2").op, WIRE_RULE_DEL, "a delete stays as a tombstone");
	cr_assert_eq(rule_of("10.0.0.2").version, 4);
}

Test(controller, with_step_2_versions_are_odd_and_a_batch_shares_one)
{
	struct model_txn batch;
	struct db_vm out;
	char name[16], ip[16];

	open_db(100000);
	setup_world(2);
	cr_assert_eq(vpc_version(), 0, "a new VPC is at version 0");
	cr_assert_eq(vm(2, "a", "10.0.0.1", "h1"), 0, "%s", err);
	cr_assert_eq(vpc_version(), 1, "the first change is version 1 whatever the step");
	cr_assert_eq(rule_of("10.0.0.1").version, 1);
	/* One transaction of ten VMs: one version for all. */
	cr_assert_eq(model_begin(&db, 2, &batch), 0);
	for (int i = 0; i < 10; i++) {
		struct model_vm_args a = { .name = name, .vpc = "blue", .host = "h1" };

		snprintf(name, sizeof(name), "b%d", i);
		snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
		a.ip = ip4(ip);
		cr_assert_eq(model_vm_create(&batch, &a, &out), 0, "%s", batch.err);
	}
	cr_assert_eq(model_finish(&batch), 0, "%s", batch.err);
	cr_assert_eq(batch.nbinds, 10, "ten bindings to publish");
	model_release(&batch);
	cr_assert_eq(vpc_version(), 3);
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
		cr_assert_eq(rule_of(ip).version, 3);
	}
	cr_assert_eq(TXN(2, model_vm_delete(t, "a")), 0, "%s", err);
	cr_assert_eq(vpc_version(), 5);
	cr_assert_eq(rule_of("10.0.0.1").version, 5);
	cr_assert_eq(TXN(2, model_vpc_reset(t, "blue", &(struct db_vpc){ 0 })), 0, "%s", err);
	cr_assert_eq(vpc_version(), 7, "a reset is a change like any other");
}

/*
 * One transaction over more VPCs and hosts than the transaction's name index starts
 * with (it grows twice): each VPC is found again, not loaded twice (its version rises
 * once), and each VM's rule carries its own host's VTEP.
 */
Test(controller, a_batch_over_hundreds_of_vpcs_and_hosts_finds_each_again)
{
	enum { VPCS = 100, HOSTS_N = 300, VMS = 3000 };
	struct model_txn batch;
	struct db_vm out;
	char name[32], vpc[16], host[16];

	open_db(100000);
	for (int v = 0; v < VPCS; v++) {
		struct addr_cidr c = { .net = ip4("10.0.0.0") + ((uint32_t)v << 16), .len = 16 };
		struct db_vpc dv;

		snprintf(vpc, sizeof(vpc), "v%d", v);
		cr_assert_eq(TXN(1, model_vpc_create(t, vpc, 1000 + v, &c, 1, &dv)), 0, "%s",
		    err);
	}
	for (int h = 0; h < HOSTS_N; h++) {
		struct db_host dh;

		snprintf(host, sizeof(host), "h%d", h);
		cr_assert_eq(TXN(1, model_host_create(t, host, ip4("192.168.0.0") +
		    (uint32_t)h + 1, ADDR_KIND_VSWITCH, &dh)), 0, "%s", err);
	}
	cr_assert_eq(model_begin(&db, 1, &batch), 0);
	for (int i = 0; i < VMS; i++) {
		struct model_vm_args a = { .name = name, .vpc = vpc, .host = host,
		    .ip = ip4("10.0.0.1") + ((uint32_t)(i % VPCS) << 16) + (uint32_t)i };

		snprintf(name, sizeof(name), "vm%d", i);
		snprintf(vpc, sizeof(vpc), "v%d", i % VPCS);
		snprintf(host, sizeof(host), "h%d", i % HOSTS_N);
		cr_assert_eq(model_vm_create(&batch, &a, &out), 0, "%s", batch.err);
	}
	cr_assert_eq(batch.nvpcs, VPCS, "each VPC touched once");
	cr_assert_eq(batch.nhosts, HOSTS_N, "each host touched once");
	cr_assert_eq(model_finish(&batch), 0, "%s", batch.err);
	model_release(&batch);
	for (int i = 0; i < VMS; i += 7) {
		struct db_vpc dv;
		struct db_rule r;
		MDB_txn *txn;

		snprintf(vpc, sizeof(vpc), "v%d", i % VPCS);
		cr_assert_eq(db_read(&db, &txn), 0);
		cr_assert_eq(db_get_vpc(txn, &db, vpc, &dv), 0);
		cr_assert_eq(dv.version, 1, "%s: one version for the batch", vpc);
		cr_assert_eq(db_get_rule(txn, &db, 1000 + (uint32_t)(i % VPCS),
		    ip4("10.0.0.1") + ((uint32_t)(i % VPCS) << 16) + (uint32_t)i, &r), 0);
		cr_assert_eq(r.vtep, ip4("192.168.0.0") + (uint32_t)(i % HOSTS_N) + 1,
		    "vm%d's rule points at its host", i);
		mdb_txn_abort(txn);
	}
}

Test(controller, the_log_has_each_commits_rules_then_its_vpc_record)
{
	struct wire_msg m[64];
	size_t n;

	open_db(100000);
	setup_world(1);
	cr_assert_eq(vm(1, "a", "10.0.0.1", "h1"), 0, "%s", err);
	n = log_records(m, 64);
	/* vpc create (ADVANCE to 0), two hosts, then the VM's RULE and the VPC at version 1 */
	cr_assert_eq(n, 5);
	cr_assert_eq(m[0].type, WIRE_VPC);
	cr_assert_eq(m[0].u.vpc.version, 0);
	cr_assert_eq(m[1].type, WIRE_HOST);
	cr_assert_eq(m[2].type, WIRE_HOST);
	cr_assert_eq(m[3].type, WIRE_RULE);
	cr_assert_eq(m[3].u.rule.version, 1);
	cr_assert_eq(m[3].u.rule.ip, ip4("10.0.0.1"));
	cr_assert_eq(m[4].type, WIRE_VPC);
	cr_assert_eq(m[4].u.vpc.op, WIRE_VPC_ADVANCE);
	cr_assert_eq(m[4].u.vpc.version, 1);
	cr_assert_eq(m[4].u.vpc.gen, m[0].u.vpc.gen);
	cr_assert_neq(m[0].u.vpc.gen, 0);
	cr_assert_eq(db.last_seq, 5);
}

Test(controller, a_host_created_or_deleted_is_a_host_record_in_the_log)
{
	struct wire_msg m[64];
	size_t n;

	open_db(100000);
	setup_world(1);
	cr_assert_eq(TXN(1, model_host_delete(t, "h2")), 0, "%s", err);
	n = log_records(m, 64);
	cr_assert_eq(n, 4);
	cr_assert_eq(m[1].type, WIRE_HOST);
	cr_assert_eq(m[1].u.host.seq, 2);
	cr_assert_eq(m[1].u.host.vtep, ip4("192.168.0.1"));
	cr_assert_eq(m[1].u.host.kind, WIRE_HOST_VSWITCH);
	cr_assert_eq(m[1].u.host.op, WIRE_HOST_ADD);
	cr_assert_eq(m[2].u.host.vtep, ip4("192.168.0.2"));
	cr_assert_eq(m[2].u.host.kind, WIRE_HOST_EXTERNAL);
	cr_assert_eq(m[3].type, WIRE_HOST);
	cr_assert_eq(m[3].u.host.seq, 4);
	cr_assert_eq(m[3].u.host.vtep, ip4("192.168.0.2"));
	cr_assert_eq(m[3].u.host.kind, WIRE_HOST_EXTERNAL);
	cr_assert_eq(m[3].u.host.op, WIRE_HOST_DEL);
}

Test(controller, trimming_the_log_drops_tombstones_with_their_records)
{
	char name[16], ip[16];
	MDB_txn *txn;

	open_db(20);
	setup_world(1);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		cr_assert_eq(vm(1, name, ip, "h1"), 0, "%s", err);
	}
	cr_assert_eq(TXN(1, model_vm_delete(t, "v0")), 0, "%s", err);
	cr_assert_eq(rule_of("10.0.0.1").op, WIRE_RULE_DEL);
	/* Push the delete's record out of the log. */
	for (int i = 30; i < 45; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		cr_assert_eq(vm(1, name, ip, "h1"), 0, "%s", err);
	}
	cr_assert_eq(db.last_seq - db.log_first + 1, 20, "the log keeps its retention");
	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_rule(txn, &db, 100, ip4("10.0.0.1"), &(struct db_rule){ 0 }),
	    -ENOENT, "the tombstone left with its record");
	cr_assert_eq(db_count(txn, &db, DBI_RULES), 44, "every live rule stays (snapshots)");
	cr_assert_eq(db_count(txn, &db, DBI_LOG), 20);
	mdb_txn_abort(txn);
	(void)log_records((struct wire_msg[32]){ 0 }, 32);	/* checks for holes */
}

Test(controller, the_state_survives_a_reopen)
{
	open_db(100000);
	setup_world(1);
	cr_assert_eq(vm(1, "a", "10.0.0.1", "h1"), 0, "%s", err);
	db_close(&db);
	cr_assert_eq(db_open(&db, dir, 1 << 26, 100000, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(db.last_seq, 5, "vpc create, two hosts, then a RULE and a VPC record");
	cr_assert_eq(vpc_version(), 1);
	cr_assert_eq(vm(1, "b", "10.0.0.2", "h1"), 0, "%s", err);
	cr_assert_eq(rule_of("10.0.0.2").version, 2);
}

Test(controller, a_second_controller_on_the_same_directory_is_refused)
{
	struct db other;

	open_db(100000);
	cr_assert_lt(db_open(&other, dir, 1 << 26, 100000, err, sizeof(err)), 0);
	cr_assert(strstr(err, "another controller") != NULL, "%s", err);
}

/* Each rule a request must satisfy: refused, with words that name it, and nothing changed. */
Test(controller, refused_changes_say_why_and_change_nothing)
{
	struct addr_cidr c2[2] = { { ip4("10.1.0.0"), 16 }, { ip4("10.1.128.0"), 17 } };
	struct model_vm_args a = { .name = "x", .vpc = "blue", .host = "h1" };
	struct db_vpc v;
	struct db_host h;
	struct db_vm out;
	uint64_t seq;
	static const struct {
		const char *ip, *vpc, *host, *name, *tap;
		bool mac;
		const char *want;
	} bad[] = {
		{ "10.0.0.9", "nosuch", "h1", "x", NULL, false, "unknown VPC nosuch" },
		{ "10.0.0.9", "blue", "nosuch", "x", NULL, false, "unknown host nosuch" },
		{ "10.9.0.9", "blue", "h1", "x", NULL, false, "outside VPC blue (10.0.0.0/16)" },
		{ "10.0.0.1", "blue", "h1", "x", NULL, false, "ip 10.0.0.1 is VM a's" },
		{ "10.0.0.9", "blue", "h1", "a", NULL, false, "VM a exists" },
		{ "10.0.0.9", "blue", "h1", "x", "vfa", false, "tap vfa is VM a's on host h1" },
		{ "10.0.0.9", "blue", "h1", "x", NULL, true,
		    "mac 02:00:0a:00:00:01 is VM a's in VPC blue" },
		/* No MAC given: the default one, derived from the IP, is m's. */
		{ "10.0.0.7", "blue", "h1", "x", NULL, false, "mac 02:00:0a:00:00:07 (the default "
		    "for 10.0.0.7) is VM m's in VPC blue; give --mac" },
		{ "10.0.0.0", "blue", "h1", "x", NULL, false,
		    "ip 10.0.0.0 is the network address of 10.0.0.0/16" },
		{ "10.0.255.255", "blue", "h1", "x", NULL, false,
		    "ip 10.0.255.255 is the broadcast address of 10.0.0.0/16" },
	};
	struct model_vm_args m = { .name = "m", .vpc = "blue", .host = "h1", .has_mac = true };

	open_db(100000);
	setup_world(1);
	cr_assert_eq(vm(1, "a", "10.0.0.1", "h1"), 0, "%s", err);
	/* m's MAC is the one 10.0.0.7 would get by default. */
	m.ip = ip4("10.0.0.20");
	addr_default_mac(ip4("10.0.0.7"), m.mac);
	cr_assert_eq(TXN(1, model_vm_create(t, &m, &out)), 0, "%s", err);
	seq = db.last_seq;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.ip = ip4(bad[i].ip);
		a.vpc = bad[i].vpc;
		a.host = bad[i].host;
		a.name = bad[i].name;
		a.tap = bad[i].tap;
		a.has_mac = bad[i].mac;
		addr_default_mac(ip4("10.0.0.1"), a.mac);
		cr_assert_lt(TXN(1, model_vm_create(t, &a, &out)), 0, "case %zu accepted", i);
		cr_assert(strstr(err, bad[i].want) != NULL, "case %zu: '%s'", i, err);
	}
	cr_assert_eq(TXN(1, model_vpc_create(t, "green", 100, &c2[0], 1, &v)), -EEXIST);
	cr_assert(strstr(err, "VNI 100 is in use by VPC blue") != NULL, "%s", err);
	cr_assert_eq(TXN(1, model_vpc_create(t, "green", 300, c2, 2, &v)), -EINVAL);
	cr_assert(strstr(err, "overlap") != NULL, "%s", err);
	cr_assert_eq(TXN(1, model_vpc_delete(t, "blue")), -EBUSY);
	cr_assert(strstr(err, "still has 2 VMs") != NULL, "%s", err);
	cr_assert_eq(TXN(1, model_host_delete(t, "h1")), -EBUSY);
	cr_assert_eq(TXN(1, model_host_create(t, "h3", ip4("192.168.0.1"), ADDR_KIND_VSWITCH,
	    &h)), -EEXIST);
	cr_assert(strstr(err, "VTEP 192.168.0.1 is in use by host h1") != NULL, "%s", err);
	cr_assert_eq(TXN(1, model_vm_migrate(t, "a", "h1", &out)), -EINVAL);
	cr_assert_eq(db.last_seq, seq, "a refused change wrote nothing to the log");
	cr_assert_eq(vpc_version(), 2);
}

/*
 * A host's VTEP goes in every gateway's rules for its VMs: an address that cannot be
 * one host's on the underlay is refused, in the words of common/addr.
 */
Test(controller, a_vtep_that_cannot_be_a_hosts_is_refused)
{
	static const struct {
		const char *vtep, *want;
	} bad[] = {
		{ "0.0.0.0", "vtep 0.0.0.0 is in 0.0.0.0/8 (\"this network\"), not a host's" },
		{ "0.1.2.3", "vtep 0.1.2.3 is in 0.0.0.0/8" },
		{ "224.0.0.1", "vtep 224.0.0.1 is a multicast address, not a host's" },
		{ "239.255.255.255", "vtep 239.255.255.255 is a multicast address" },
		{ "240.0.0.1", "vtep 240.0.0.1 is a reserved address (240.0.0.0/4), not a host's" },
		{ "255.255.255.255", "vtep 255.255.255.255 is the broadcast address, not a host's" },
	};
	struct db_host h;
	MDB_txn *txn;

	open_db(100000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(TXN(1, model_host_create(t, "hx", ip4(bad[i].vtep),
		    ADDR_KIND_VSWITCH, &h)), -EINVAL, "%s accepted", bad[i].vtep);
		cr_assert(strstr(err, bad[i].want) != NULL, "%s: '%s'", bad[i].vtep, err);
		cr_assert_eq(TXN(1, model_host_create(t, "hx", ip4(bad[i].vtep),
		    ADDR_KIND_EXTERNAL, &h)), -EINVAL, "%s accepted as external", bad[i].vtep);
	}
	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_count(txn, &db, DBI_HOSTS), 0, "no refused host was stored");
	mdb_txn_abort(txn);
	/* The edges that are a host's; loopback too (tests and benchmarks run on one box). */
	cr_assert_eq(TXN(1, model_host_create(t, "h1", ip4("1.0.0.0"), ADDR_KIND_VSWITCH, &h)),
	    0, "%s", err);
	cr_assert_eq(TXN(1, model_host_create(t, "h2", ip4("223.255.255.255"),
	    ADDR_KIND_VSWITCH, &h)), 0, "%s", err);
	cr_assert_eq(TXN(1, model_host_create(t, "h3", ip4("127.0.0.21"), ADDR_KIND_VSWITCH,
	    &h)), 0, "%s", err);
}

/* The addresses next to the network and broadcast ones are a VM's, in every prefix. */
Test(controller, a_vm_may_take_any_address_of_its_prefix_but_the_two_ends)
{
	struct addr_cidr c[2] = { { ip4("10.1.0.0"), 16 }, { ip4("172.16.0.0"), 30 } };
	struct model_vm_args a = { .vpc = "green", .host = "h1" };
	static const char *const ok[] = { "10.1.0.1", "10.1.255.254", "10.1.1.0",
		"10.1.0.255", "172.16.0.1", "172.16.0.2" };
	struct db_vpc v;
	struct db_vm out;
	char name[16];

	open_db(100000);
	setup_world(1);
	cr_assert_eq(TXN(1, model_vpc_create(t, "green", 200, c, 2, &v)), 0, "%s", err);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(name, sizeof(name), "g%zu", i);
		a.name = name;
		a.ip = ip4(ok[i]);
		cr_assert_eq(TXN(1, model_vm_create(t, &a, &out)), 0, "%s: %s", ok[i], err);
	}
	a.name = "x";
	a.ip = ip4("172.16.0.3");
	cr_assert_eq(TXN(1, model_vm_create(t, &a, &out)), -EINVAL);
	cr_assert(strstr(err, "ip 172.16.0.3 is the broadcast address of 172.16.0.0/30") != NULL,
	    "%s", err);
	a.ip = ip4("172.16.0.0");
	cr_assert_eq(TXN(1, model_vm_create(t, &a, &out)), -EINVAL);
	cr_assert(strstr(err, "ip 172.16.0.0 is the network address of 172.16.0.0/30") != NULL,
	    "%s", err);
}

Test(controller, a_reset_draws_a_new_generation_and_resends_every_rule)
{
	struct db_vpc before, after;
	struct wire_msg m[64];
	MDB_txn *txn;
	size_t n;

	open_db(100000);
	setup_world(1);
	cr_assert_eq(vm(1, "a", "10.0.0.1", "h1"), 0, "%s", err);
	cr_assert_eq(vm(1, "b", "10.0.0.2", "h1"), 0, "%s", err);
	cr_assert_eq(TXN(1, model_vm_delete(t, "b")), 0, "%s", err);
	cr_assert_eq(db_read(&db, &txn), 0);
	db_get_vpc(txn, &db, "blue", &before);
	mdb_txn_abort(txn);
	cr_assert_eq(TXN(1, model_vpc_reset(t, "blue", &after)), 0, "%s", err);
	cr_assert_neq(after.gen, before.gen);
	cr_assert_eq(after.version, before.version + 1);
	n = log_records(m, 64);
	cr_assert_eq(m[n - 2].type, WIRE_RULE, "the live rule again");
	cr_assert_eq(m[n - 2].u.rule.ip, ip4("10.0.0.1"));
	cr_assert_eq(m[n - 2].u.rule.version, after.version);
	cr_assert_eq(m[n - 1].type, WIRE_VPC);
	cr_assert_eq(m[n - 1].u.vpc.gen, after.gen);
	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_rule(txn, &db, 100, ip4("10.0.0.2"), &(struct db_rule){ 0 }),
	    -ENOENT, "no tombstone survives a reset");
	mdb_txn_abort(txn);
}

/* Pages of the environment in use or free: the data file's size in pages. */
static size_t
env_pages(void)
{
	MDB_envinfo ei;

	cr_assert_eq(mdb_env_info(db.env, &ei), 0);
	return ei.me_last_pgno + 1;
}

/*
 * Delete churn: rounds of importing CHURN_VMS VMs in batches, then deleting each in a
 * transaction of its own (as vm.delete does). The log stays at its retention, the
 * tombstones leave with their records, and the pages the deletes freed are used again:
 * the data file after round 3 is the size it had after round 1.
 */
#define CHURN_VMS	600
#define CHURN_KEEP	300
Test(controller, delete_churn_keeps_the_log_the_tombstones_and_the_file_bounded)
{
	size_t pages[3];
	MDB_txn *txn;

	open_db(CHURN_KEEP);
	setup_world(1);
	for (int round = 0; round < 3; round++) {
		for (int b = 0; b < CHURN_VMS; b += 100) {
			struct model_txn t;

			cr_assert_eq(model_begin(&db, 1, &t), 0);
			for (int i = b; i < b + 100; i++) {
				char name[16];
				struct model_vm_args a = { .name = name, .vpc = "blue",
				    .host = "h1", .ip = ip4("10.0.0.0") + i + 1 };

				snprintf(name, sizeof(name), "v%d", i);
				cr_assert_eq(model_vm_create(&t, &a, &(struct db_vm){ 0 }), 0, "%s",
				    t.err);
			}
			cr_assert_eq(model_finish(&t), 0, "%s", t.err);
			model_release(&t);
		}
		for (int i = 0; i < CHURN_VMS; i++) {
			char name[16];

			snprintf(name, sizeof(name), "v%d", i);
			cr_assert_eq(TXN(1, model_vm_delete(t, name)), 0, "%s", err);
		}
		cr_assert_eq(db_read(&db, &txn), 0);
		cr_assert_eq(db_count(txn, &db, DBI_LOG), CHURN_KEEP, "the log keeps its retention");
		cr_assert_leq(db_count(txn, &db, DBI_RULES), CHURN_KEEP,
		    "no VM is left: the rules are tombstones, whose records the log holds");
		cr_assert_eq(db_count(txn, &db, DBI_VMS), 0);
		mdb_txn_abort(txn);
		pages[round] = env_pages();
	}
	cr_assert_leq(pages[2], pages[0] + pages[0] / 20,
	    "round 3 took %zu pages, round 1 %zu: freed pages are not used again", pages[2],
	    pages[0]);
}
