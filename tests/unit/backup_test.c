/*
 * backup_test: the controller's backup and restore (procs/controller/backup.c) on a
 * real database, without the loop. A backup is a controller data file holding the
 * state at one seq; anything else (a text file, another program's LMDB file) is refused
 * as a backup. A restore gives every VPC a new generation and keeps its version, drops
 * the tombstones with the log, goes on at the backup's next seq and draws a new epoch,
 * so that the stream (procs/controller/stream.c) sends a snapshot to every rule-store
 * of the replaced history, one whose seq the restored log reaches again included.
 */
#include "procs/controller/db.c"
#include "procs/controller/model.c"
#include "procs/controller/stream.c"
#include "procs/controller/backup.c"
#include "tests/unit/ctldb.h"

#include <criterion/criterion.h>
#include <stdlib.h>

TestSuite(backup, .fini = ctldb_teardown);

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
vm(const char *name, const char *vpc_name, const char *ip)
{
	struct model_vm_args a = { .name = name, .vpc = vpc_name, .host = "h1",
	    .ip = ip4(ip) };

	TXN(model_vm_create(t, &a, &(struct db_vm){ 0 }));
}

/* Two VPCs, three VMs, one deleted (a tombstone in the rules and the log). */
static void
world(void)
{
	struct addr_cidr c = { .net = ip4("10.0.0.0"), .len = 16 };

	TXN(model_host_create(t, "h1", ip4("192.168.0.1"), ADDR_KIND_VSWITCH,
	    &(struct db_host){ 0 }));
	TXN(model_vpc_create(t, "blue", 100, &c, 1, &(struct db_vpc){ 0 }));
	TXN(model_vpc_create(t, "red", 200, &c, 1, &(struct db_vpc){ 0 }));
	vm("a", "blue", "10.0.0.5");
	vm("b", "blue", "10.0.0.6");
	vm("c", "red", "10.0.0.5");
	TXN(model_vm_delete(t, "b"));
}

static struct db_vpc
vpc_of(const char *name)
{
	struct db_vpc v;
	MDB_txn *txn;

	cr_assert_eq(db_read(&db, &txn), 0);
	cr_assert_eq(db_get_vpc(txn, &db, name, &v), 0, "VPC %s", name);
	mdb_txn_abort(txn);
	return v;
}

static uint64_t
entries(enum db_dbi dbi)
{
	MDB_txn *txn;
	uint64_t n;

	cr_assert_eq(db_read(&db, &txn), 0);
	n = db_count(txn, &db, dbi);
	mdb_txn_abort(txn);
	return n;
}

Test(backup, a_restore_gives_every_vpc_a_new_generation_and_keeps_its_version)
{
	struct db_vpc blue, red, nblue, nred;
	struct restored r = { 0 };
	uint64_t seq;

	open_db(1000);
	world();
	blue = vpc_of("blue");
	red = vpc_of("red");
	cr_assert_eq(entries(DBI_RULES), 3, "a, c and b's tombstone");
	seq = db.last_seq + 1000;
	cr_assert_eq(regenerate(&db, seq, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.vpcs, 2);
	cr_assert_eq(r.tombstones, 1);
	cr_assert_neq(r.epoch, 0);
	/* Durable: read again from a reopened environment. */
	db_close(&db);
	cr_assert_eq(db_open(&db, dir, 1 << 26, 1000, err, sizeof(err)), 0, "%s", err);
	nblue = vpc_of("blue");
	nred = vpc_of("red");
	cr_assert_neq(nblue.gen, blue.gen, "a learner holding (gen, version) relearns");
	cr_assert_neq(nred.gen, red.gen);
	cr_assert_neq(nblue.gen, 0);
	cr_assert_eq(nblue.version, blue.version, "versions are kept");
	cr_assert_eq(nred.version, red.version);
	cr_assert_eq(nblue.nvms, 1);
	cr_assert_eq(entries(DBI_RULES), 2, "the tombstone left with the log");
	cr_assert_eq(entries(DBI_VMS), 2);
	cr_assert_eq(entries(DBI_LOG), 0, "the log is empty");
	cr_assert_eq(db.log_first, seq);
	cr_assert_eq(db.last_seq, seq - 1);
	{
		uint64_t epoch;

		cr_assert_eq(backup_epoch(&db, &epoch), 0);
		cr_assert_eq(epoch, r.epoch, "the restore's epoch is the store's");
	}
}

Test(backup, after_a_restore_every_rule_store_loads_a_snapshot)
{
	struct restored r = { 0 };
	uint64_t lost_last, backup_next;
	struct wire_msg m;
	struct snap sn;
	char name[24], ip[24];

	open_db(1000);
	world();
	backup_next = db.last_seq + 1;		/* the backup's meta next_seq */
	/* The history lost with the restore: rule-stores applied up to lost_last. */
	vm("lost1", "blue", "10.0.0.7");
	vm("lost2", "red", "10.0.0.8");
	lost_last = db.last_seq;
	/* As backup_restore_run does it: the log goes on at the backup's next seq. */
	cr_assert_eq(regenerate(&db, backup_next, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(r.epoch, CTLDB_EPOCH);
	db.epoch = r.epoch;			/* what the restored controller starts with */

	cr_assert(needs_snapshot(&db, 0, 0), "a new rule-store");
	cr_assert(needs_snapshot(&db, backup_next - 1, CTLDB_EPOCH),
	    "one at the backup's own seq (old generations)");
	cr_assert(needs_snapshot(&db, lost_last, CTLDB_EPOCH), "one of the lost history");
	cr_assert(needs_snapshot(&db, UINT64_MAX - 1, CTLDB_EPOCH), "one far ahead");
	/* The snapshot is at backup_next - 1 of the new epoch: after it, the log. */
	cr_assert_eq(snap_open(&sn, &db, 0, &m), 0);
	cr_assert_eq(m.type, WIRE_SNAP_BEGIN);
	cr_assert_eq(m.u.snap.seq, backup_next - 1);
	cr_assert_eq(m.u.snap.epoch, r.epoch);
	snap_close(&sn);
	cr_assert_not(needs_snapshot(&db, backup_next - 1, r.epoch),
	    "one that loaded the restored snapshot");

	/* The restored log reaches the lost history's seqs again, with other records. */
	for (int i = 0; db.last_seq < lost_last + 2; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
		vm(name, "blue", ip);
	}
	cr_assert_eq(db.log_first, backup_next);
	cr_assert(log_holds_after(&db, lost_last), "by its seq alone it would resume");
	cr_assert(needs_snapshot(&db, lost_last, CTLDB_EPOCH),
	    "the lost history's seq lost_last: a snapshot all the same");
	cr_assert_not(needs_snapshot(&db, lost_last, r.epoch),
	    "(the same seq of the restored history: the log)");
}

Test(backup, a_backup_is_the_state_of_one_seq_and_reads_as_a_controller_file)
{
	struct backup b = { .db = &db };
	struct backup_info in;

	open_db(1000);
	world();
	snprintf(b.path, sizeof(b.path), "%s/copy.mdb", dir);
	snprintf(b.tmp, sizeof(b.tmp), "%s.tmp", b.path);
	b.fd = open(b.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(b.fd, 0);
	backup_thread(&b);
	cr_assert_eq(b.rc, 0, "%s", b.err);
	cr_assert_eq(access(b.tmp, F_OK), -1, "PATH.tmp is gone");
	cr_assert_eq(file_info(b.path, true, &in, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(in.next_seq - 1, db.last_seq, "its seq is the controller's");
	cr_assert_eq(in.vpcs, 2);
	cr_assert_eq(in.vms, 2);
	cr_assert_eq(in.rules, 3);
	cr_assert_eq(b.info.bytes, in.bytes);
	cr_assert_str_eq(b.info.path, b.path);

	/* The same file cut short: refused, not mapped past its end (SIGBUS). */
	{
		char cut[160];

		snprintf(cut, sizeof(cut), "%s/cut.mdb", dir);
		cr_assert_eq(copy_file(b.path, cut, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(truncate(cut, (off_t)in.bytes - 4096), 0);
		cr_assert_eq(file_info(cut, true, &in, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "is cut short"), "%s", err);
	}

	/* Again, without force: the file is there. */
	b.rc = 0;
	b.fd = open(b.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	backup_thread(&b);
	cr_assert_eq(b.rc, -EEXIST, "%s", b.err);
	cr_assert_eq(access(b.tmp, F_OK), -1, "a failed backup leaves no PATH.tmp");
}

Test(backup, a_file_that_is_not_a_controller_backup_is_refused)
{
	struct backup_info in;
	char path[128];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	FILE *f;

	open_db(1000);
	snprintf(path, sizeof(path), "%s/text", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "node = \"x\";\n");
	fclose(f);
	cr_assert_eq(file_info(path, false, &in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not an LMDB data file"), "%s", err);

	/* Another program's LMDB file: no meta table. */
	snprintf(path, sizeof(path), "%s/other.mdb", dir);
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 4), 0);
	cr_assert_eq(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "things", MDB_CREATE, &dbi), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	cr_assert_eq(file_info(path, false, &in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a controller backup (no meta table)"), "%s", err);

	cr_assert_eq(file_info(dir, false, &in, err, sizeof(err)), -EINVAL, "a directory");
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(file_info(path, false, &in, err, sizeof(err)), -ENOENT);
}

Test(backup, restore_arg_takes_its_file_out_of_the_command_line)
{
	char *argv[] = { "vpcfwd-controller", "--restore", "/b.mdb", "-c", "x.conf", NULL };
	char *argv2[] = { "vpcfwd-controller", "-c", "x.conf", "--restore=/b.mdb", NULL };
	char *argv3[] = { "vpcfwd-controller", "-c", "-n", NULL };
	int argc = 5, argc2 = 4, argc3 = 3;

	cr_assert_str_eq(backup_restore_arg(&argc, argv), "/b.mdb");
	cr_assert_eq(argc, 3);
	cr_assert_str_eq(argv[1], "-c");
	cr_assert_str_eq(argv[2], "x.conf");
	cr_assert_null(argv[3]);
	cr_assert_str_eq(backup_restore_arg(&argc2, argv2), "/b.mdb");
	cr_assert_eq(argc2, 3);
	/* "-n" here is -c's value, not -n: no restore, nothing refused. */
	cr_assert_null(backup_restore_arg(&argc3, argv3));
	cr_assert_eq(argc3, 3);
}

Test(backup, restore_arg_refuses_detach, .exit_code = 2)
{
	char *argv[] = { "vpcfwd-controller", "-dc", "x.conf", "--restore", "/b.mdb", NULL };
	int argc = 5;

	backup_restore_arg(&argc, argv);
}
