/*
 * etcdstore_test: the controller's etcd store (procs/controller/etcdstore.c) with the
 * model above it, two controllers' views on one real etcd member (etcdrun.h): a change
 * made through one is in the other's view with the same log records; two transactions
 * that read the same VPC race and the second is told to run again (-EAGAIN), and run
 * again it sees the first; a taken IP is refused across controllers; a change past the
 * txn limits is refused whole, nothing committed; etcd out of space (its NOSPACE alarm)
 * refuses changes saying so, and the alarm is a gauge; a view, fed by the log key alone,
 * holds what etcd's table keys hold after every kind of write (changes, a VPC's range
 * delete, a tombstone collection, a restore); every log value those writes put reads back
 * whole (etcdblob.h), every kind of entry among them (with ETCDBLOB_SEEDS=DIR set, they
 * are written there: fuzz/corpus/etcd_blob's seeds); a malformed log value is refused
 * and none of it applied, a real change's with one thing broken.
 */
#include "procs/controller/db.c"
#include "procs/controller/model.c"
#include "procs/controller/stream.c"
#include "procs/controller/etcdblob.c"
#include "procs/controller/etcdstore.c"
#include "procs/controller/backup.c"
#include "tests/unit/etcdrun.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>

static struct etcdrun run;
static struct db dbs[2];
static struct etcdstore *es[2];
static struct controller_counters ctr[2];
static char dirs[2][64];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static const char *endpoint[1];

static struct etcdstore_conf
store_conf(unsigned max_ops)
{
	endpoint[0] = run.endpoint[0];
	return (struct etcdstore_conf){
		.etcd = { .endpoints = endpoint, .n_endpoints = 1, .timeout_ms = 5000 },
		.prefix = "/t/", .max_txn_ops = max_ops, .max_request_bytes = 1 << 20,
		.sync_timeout_ns = 5000000000ull, .compact_keep = 1000,
		.maint_interval_ns = 60000000000ull,
	};
}

static void
open_store(int i, unsigned max_ops)
{
	struct etcdstore_conf conf = store_conf(max_ops);
	char err[512];

	snprintf(dirs[i], sizeof(dirs[i]), "/tmp/esdb.%d.%d", (int)getpid(), i);
	nftw(dirs[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
	cr_assert_eq(db_open(&dbs[i], dirs[i], 1 << 26, 100000, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(etcdstore_open(&es[i], &dbs[i], &conf, &ctr[i], err, sizeof(err)), 0,
	    "%s", err);
}

static void
start_with(const char *const *extra)
{
	int rc = etcdrun_start(&run, 1, extra);

	if (rc == -ENOENT)
		cr_skip_test("etcd is not installed (make deps installs etcd-server)");
	cr_assert_eq(rc, 0, "etcd: %s", run.why);
	open_store(0, 4096);
	open_store(1, 4096);
}

static void
start(void)
{
	start_with(NULL);
}

/* A member with a quota of 2 MiB: a few hundred VMs fill it. */
static void
start_small(void)
{
	static const char *const quota[] = { "--quota-backend-bytes=2097152",
	    "--max-txn-ops=4096", NULL };

	start_with(quota);
}

static void
stop(void)
{
	for (int i = 0; i < 2; i++) {
		etcdstore_close(es[i]);
		db_close(&dbs[i]);
		nftw(dirs[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
	}
	etcdrun_stop(&run);
}

static int
begin(int i, struct model_txn *t)
{
	return model_begin_on(&dbs[i], 1, etcdstore_backend(es[i]), t);
}

/* One change through store i: fn in a transaction, committed; its result. */
#define CHANGE(i, call) ({						\
	struct model_txn t_;						\
	int rc_;							\
	cr_assert_eq(begin((i), &t_), 0);				\
	if ((rc_ = (call)) < 0)						\
		model_abort(&t_);					\
	else								\
		rc_ = model_finish(&t_);				\
	model_release(&t_);						\
	rc_;								\
})

static void
setup_vpc(void)
{
	struct addr_cidr c = { .net = 0x0a000000, .len = 16 };
	struct db_vpc v;
	struct db_host h;

	cr_assert_eq(CHANGE(0, model_vpc_create(&t_, "blue", 100, &c, 1, &v)), 0);
	cr_assert_eq(CHANGE(0, model_host_create(&t_, "h1", 0xc0a8000b, ADDR_KIND_VSWITCH,
	    &h)), 0);
}

static struct model_vm_args
vm(const char *name, uint32_t ip)
{
	return (struct model_vm_args){ .name = name, .vpc = "blue", .host = "h1", .ip = ip };
}

TestSuite(etcdstore, .init = start, .fini = stop, .timeout = 60);

Test(etcdstore, a_change_through_one_is_in_the_others_view_with_its_records)
{
	struct model_vm_args a = vm("web1", 0x0a000005);
	struct db_vm out;
	struct db_vpc v;
	struct db_rule r;
	MDB_txn *txn;
	uint64_t seq = 0;

	setup_vpc();
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_assert_eq(etcdstore_applied(es[1]), etcdstore_applied(es[0]));
	cr_assert_eq(db_read(&dbs[1], &txn), 0);
	cr_assert_eq(db_get_vpc(txn, &dbs[1], "blue", &v), 0);
	cr_expect_eq(v.nvms, 1);
	cr_expect_eq(v.version, 1);
	cr_assert_eq(db_get_rule(txn, &dbs[1], 100, 0x0a000005, &r), 0);
	cr_expect_eq(r.vtep, 0xc0a8000b);
	/* The rule's record is the first of its revision: seq = revision << 24. */
	cr_expect_eq(r.seq, (uint64_t)etcdstore_applied(es[1]) << 24);
	db_meta_get(txn, &dbs[1], "next_seq", 0, &seq);
	mdb_txn_abort(txn);
	/* Both views logged the same records at the same seqs. */
	cr_expect_eq(dbs[0].last_seq, dbs[1].last_seq);
	cr_expect_eq(dbs[1].last_seq, r.seq + 1, "RULE then VPC ADVANCE");
}

Test(etcdstore, two_transactions_on_one_vpc_race_and_the_loser_runs_again)
{
	struct model_vm_args a = vm("web1", 0x0a000005), b = vm("web2", 0x0a000006);
	struct model_txn ta, tb;
	struct db_vm out;
	struct db_vpc v;
	MDB_txn *txn;

	setup_vpc();
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	/* Both read blue at version 0, then each commits a VM. */
	cr_assert_eq(begin(0, &ta), 0);
	cr_assert_eq(model_vm_create(&ta, &a, &out), 0);
	cr_assert_eq(begin(1, &tb), 0);
	cr_assert_eq(model_vm_create(&tb, &b, &out), 0);
	cr_assert_eq(model_finish(&ta), 0, "%s", ta.err);
	model_release(&ta);
	cr_assert_eq(model_finish(&tb), -EAGAIN, "%s", tb.err);
	model_release(&tb);
	cr_expect_eq(ctr[1].etcd_conflicts, 1);
	/* Run again: it sees web1 and makes version 2. */
	cr_assert_eq(CHANGE(1, model_vm_create(&t_, &b, &out)), 0);
	cr_assert_eq(etcdstore_sync(es[0], 5000000000ull), 0);
	cr_assert_eq(db_read(&dbs[0], &txn), 0);
	cr_assert_eq(db_get_vpc(txn, &dbs[0], "blue", &v), 0);
	mdb_txn_abort(txn);
	cr_expect_eq(v.nvms, 2);
	cr_expect_eq(v.version, 2);
}

Test(etcdstore, an_ip_taken_through_another_controller_is_refused)
{
	struct model_vm_args a = vm("web1", 0x0a000005), b = vm("web2", 0x0a000005);
	struct model_txn tb;
	struct db_vm out;

	setup_vpc();
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_assert_eq(begin(1, &tb), 0);
	cr_assert_eq(model_vm_create(&tb, &b, &out), 0);	/* its view: the IP is free */
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	cr_assert_eq(model_finish(&tb), -EAGAIN);
	model_release(&tb);
	cr_assert_eq(CHANGE(1, model_vm_create(&t_, &b, &out)), -EEXIST);
}

Test(etcdstore, a_change_past_the_txn_limit_is_refused_whole)
{
	struct model_txn t;
	struct db_vm out;
	char name[16];
	int64_t rev;

	etcdstore_close(es[1]);
	db_close(&dbs[1]);
	open_store(1, 16);
	setup_vpc();
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	rev = etcdstore_applied(es[1]);
	cr_assert_eq(begin(1, &t), 0);
	for (int i = 0; i < 10; i++) {
		struct model_vm_args a;

		snprintf(name, sizeof(name), "v%d", i);
		a = vm(name, 0x0a000010 + (uint32_t)i);
		cr_assert_eq(model_vm_create(&t, &a, &out), 0, "%s", t.err);
	}
	cr_assert_eq(model_finish(&t), -E2BIG);
	cr_expect(strstr(t.err, "too large for one etcd transaction") != NULL, "%s", t.err);
	model_release(&t);
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_expect_eq(etcdstore_applied(es[1]), rev, "nothing was committed");
}

TestSuite(etcdstore_quota, .init = start_small, .fini = stop, .timeout = 120);

Test(etcdstore_quota, a_full_etcd_refuses_changes_saying_so_and_raises_the_gauge)
{
	struct db_vm out;
	char name[16];
	int rc = 0, i;

	setup_vpc();
	for (i = 0; i < 60000 && rc == 0; i++) {
		struct model_txn t;

		cr_assert_eq(begin(0, &t), 0);
		for (int j = 0; j < 100 && rc == 0; j++) {
			struct model_vm_args a;

			snprintf(name, sizeof(name), "v%d", i * 100 + j);
			a = vm(name, 0x0a000001 + (uint32_t)(i * 100 + j) % 65000);
			a.host = "h1";
			if ((rc = model_vm_create(&t, &a, &out)) < 0)
				break;
		}
		if (rc == 0)
			rc = model_finish(&t);
		else
			model_abort(&t);
		if (rc == -ENOSPC)
			cr_expect(strstr(t.err, "out of space") != NULL, "%s", t.err);
		model_release(&t);
		/* Deleting them all again keeps the VMs in the VPC's range. */
		if (rc == 0) {
			cr_assert_eq(begin(0, &t), 0);
			for (int j = 0; j < 100; j++) {
				snprintf(name, sizeof(name), "v%d", i * 100 + j);
				cr_assert_eq(model_vm_delete(&t, name), 0, "%s", t.err);
			}
			rc = model_finish(&t);
			model_release(&t);
		}
	}
	cr_assert_eq(rc, -ENOSPC, "changes went on: %d after %d rounds", rc, i);
	cr_expect_eq(ctr[0].etcd_alarm_nospace, 0);
	on_maint(&es[0]->maint);
	cr_expect_eq(ctr[0].etcd_alarm_nospace, 1, "the NOSPACE alarm is not reported");
}

Test(etcdstore, tombstones_older_than_the_compacted_history_leave_etcd)
{
	struct model_vm_args a = vm("web1", 0x0a000005), b = vm("web2", 0x0a000006);
	uint8_t key[64];
	struct db_vm out;
	struct db_rule r;
	struct etcd_kv kv;
	MDB_txn *txn;

	setup_vpc();
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &b, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_delete(&t_, "web1")), 0);
	/* Not compacted yet: the tombstone stays. */
	on_maint(&es[0]->maint);
	cr_expect_eq(ctr[0].etcd_tombstones_collected, 0);
	es[0]->compact_keep = 0;
	on_maint(&es[0]->maint);		/* compacts to the newest revision */
	cr_expect_gt(es[0]->compacted, 0);
	on_maint(&es[0]->maint);		/* collects */
	cr_expect_eq(ctr[0].etcd_tombstones_collected, 1, "%llu", (unsigned long long)ctr[0].etcd_tombstones_collected);
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_assert_eq(db_read(&dbs[1], &txn), 0);
	cr_expect_eq(db_get_rule(txn, &dbs[1], 100, 0x0a000005, &r), -ENOENT,
	    "the other view still holds web1's tombstone");
	cr_expect_eq(db_get_rule(txn, &dbs[1], 100, 0x0a000006, &r), 0, "web2's rule went");
	mdb_txn_abort(txn);
	db_key_vni_ip(key + 40, 100, 0x0a000005);
	cr_expect_eq(etcd_get(es[0]->e, key, table_key(es[0], DBI_RULES, key + 40, 8, key, 40),
	    &kv, NULL), -ENOENT);
}

/* Compares a view with etcd's table keys. */
struct view_cmp {
	struct etcdstore *es;
	struct db *db;
	MDB_txn *txn;
	uint64_t n[DBI_COUNT];
	unsigned bad;
};

static int
view_cmp_kv(void *arg, const struct etcd_kv *kv)
{
	struct view_cmp *c = arg;
	const uint8_t *rk;
	size_t rklen;
	int dbi = parse_key(c->es, kv->key, kv->key_len, &rk, &rklen);
	MDB_val k = { .mv_size = rklen, .mv_data = (void *)rk }, v;
	size_t n;

	if (dbi < 0)
		return 0;
	c->n[dbi]++;
	/* A rule's seq in etcd is its writer's; in a view, its revision's. */
	n = dbi == DBI_RULES ? offsetof(struct db_rule, seq) : kv->value_len;
	if (mdb_get(c->txn, c->db->dbi[dbi], &k, &v) != 0 || v.mv_size != kv->value_len ||
	    memcmp(v.mv_data, kv->value, n) != 0) {
		cr_log_error("%.*s: not in the view as in etcd", (int)kv->key_len,
		    (const char *)kv->key);
		c->bad++;
	}
	return 0;
}

/* View i, caught up, holds every table key of etcd, and nothing else. */
static void
expect_view_is_etcd(int i)
{
	uint8_t end[8];
	struct etcd_range r = { .key = "/t/", .key_len = 3, .end = end,
	    .end_len = etcd_prefix_end("/t/", 3, end) };
	struct etcd_range_result res;
	struct view_cmp c = { .es = es[i], .db = &dbs[i] };

	cr_assert_eq(etcdstore_sync(es[i], 5000000000ull), 0);
	cr_assert_eq(db_read(&dbs[i], &c.txn), 0);
	cr_assert_eq(etcd_range(es[i]->e, &r, view_cmp_kv, &c, &res), 0);
	cr_expect_eq(c.bad, 0, "view %d: %u records differ from etcd's", i, c.bad);
	for (int d = 0; d < DBI_COUNT; d++)
		if (d != DBI_META && d != DBI_LOG)
			cr_expect_eq(db_count(c.txn, &dbs[i], d), c.n[d], "view %d: table %s "
			    "holds %llu records, etcd %llu", i, db_dbi_name(d),
			    (unsigned long long)db_count(c.txn, &dbs[i], d),
			    (unsigned long long)c.n[d]);
	mdb_txn_abort(c.txn);
}

Test(etcdstore, a_view_fed_by_the_log_key_misses_no_table_write)
{
	struct model_vm_args a = vm("web1", 0x0a000005), b = vm("web2", 0x0a000006),
	    w3 = vm("web3", 0x0a000007), r1 = vm("r1", 0x0b000005);
	struct addr_cidr red = { .net = 0x0b000000, .len = 16 };
	struct etcdstore_conf conf = store_conf(4096);
	char backup[64];
	struct db_vpc v;
	struct db_host h;
	struct db_vm out;
	int fd;

	setup_vpc();
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &b, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_delete(&t_, "web1")), 0);
	cr_assert_eq(CHANGE(0, model_host_create(&t_, "h2", 0xc0a8000c, ADDR_KIND_VSWITCH,
	    &h)), 0);
	cr_assert_eq(CHANGE(0, model_host_delete(&t_, "h2")), 0);
	/* A VPC's delete takes its rules (a tombstone among them) by one range delete. */
	r1.vpc = "red";
	cr_assert_eq(CHANGE(0, model_vpc_create(&t_, "red", 200, &red, 1, &v)), 0);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &r1, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_delete(&t_, "r1")), 0);
	cr_assert_eq(CHANGE(0, model_vpc_delete(&t_, "red")), 0);
	expect_view_is_etcd(1);
	/* The tombstone collection's deletes. */
	cr_assert_eq(CHANGE(1, model_vm_create(&t_, &w3, &out)), 0);
	cr_assert_eq(CHANGE(1, model_vm_delete(&t_, "web3")), 0);
	cr_assert_eq(etcdstore_sync(es[0], 5000000000ull), 0);
	es[0]->compact_keep = 0;
	on_maint(&es[0]->maint);
	on_maint(&es[0]->maint);
	cr_assert_eq(ctr[0].etcd_tombstones_collected, 2, "%llu",
	    (unsigned long long)ctr[0].etcd_tombstones_collected);
	expect_view_is_etcd(1);
	expect_view_is_etcd(0);
	/* A restore of view 0 as it is now, over a change made since. */
	snprintf(backup, sizeof(backup), "/tmp/esbackup.%d", (int)getpid());
	cr_assert((fd = open(backup, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	cr_assert_eq(mdb_env_copyfd(dbs[0].env, fd), 0);
	close(fd);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &w3, &out)), 0);
	cr_assert_eq(etcdstore_restore(&conf, backup), 0);
	unlink(backup);
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_expect_eq(ctr[1].etcd_restores_seen, 1);
	expect_view_is_etcd(1);
	expect_view_is_etcd(0);
}

/* The log values etcd holds, one a revision that put the log key, named by the step. */
#define LOGV_MAX	64

struct logv {
	char name[64];
	int64_t rev;
	uint8_t *val;
	size_t len;
};

static struct logv logv[LOGV_MAX];
static size_t nlogv;

struct logv_get {
	int64_t rev;
	struct logv *out;
};

static int
logv_kv(void *arg, const struct etcd_kv *kv)
{
	struct logv_get *g = arg;

	if (kv->mod_revision != g->rev)
		return 0;	/* put before: this revision did not */
	cr_assert_lt(nlogv, LOGV_MAX);
	g->out = &logv[nlogv++];
	g->out->rev = g->rev;
	g->out->len = kv->value_len;
	g->out->val = malloc(kv->value_len + 1);
	cr_assert_not_null(g->out->val);
	memcpy(g->out->val, kv->value, kv->value_len);
	return 0;
}

/* The log values of revisions (from, to], named after the step that wrote them. */
static void
logv_read(int64_t from, int64_t to, const char *step)
{
	uint8_t key[64];
	struct etcd_range_result res;
	unsigned k = 0;

	for (int64_t rev = from + 1; rev <= to; rev++) {
		struct logv_get g = { .rev = rev };
		struct etcd_range r = { .key = key, .key_len = named_key(es[0], LOG_KEY, key),
		    .revision = rev };

		cr_assert_eq(etcd_range(es[0]->e, &r, logv_kv, &g, &res), 0, "%s",
		    etcd_error(es[0]->e));
		if (g.out && k++ == 0)
			snprintf(g.out->name, sizeof(g.out->name), "%s", step);
		else if (g.out)
			snprintf(g.out->name, sizeof(g.out->name), "%s-%u", step, k);
	}
}

static int64_t
log_newest(void)
{
	int64_t rev;

	cr_assert_eq(newest_change(es[0], &rev), 0);
	return rev;
}

/* The values of a step: what the log key held after *from, to now. */
static void
logv_step(int64_t *from, const char *step)
{
	int64_t to = log_newest();

	logv_read(*from, to, step);
	*from = to;
}

Test(etcdstore, every_log_value_the_store_wrote_reads_back_whole)
{
	struct model_vm_args a = vm("web1", 0x0a000005), r1 = vm("r1", 0x0b000005);
	struct addr_cidr blue = { .net = 0x0a000000, .len = 16 },
	    red = { .net = 0x0b000000, .len = 16 };
	struct etcdstore_conf conf = store_conf(4096);
	const char *dir = getenv("ETCDBLOB_SEEDS");
	unsigned kinds = 0;
	char backup[64];
	struct db_vpc v;
	struct db_host h;
	struct db_vm out;
	int64_t from;
	int fd;

	from = log_newest();
	cr_assert_eq(CHANGE(0, model_vpc_create(&t_, "blue", 100, &blue, 1, &v)), 0);
	logv_step(&from, "vpc-create");
	cr_assert_eq(CHANGE(0, model_host_create(&t_, "h1", 0xc0a8000b, ADDR_KIND_VSWITCH,
	    &h)), 0);
	logv_step(&from, "host-create");
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	logv_step(&from, "vm-create");
	cr_assert_eq(CHANGE(0, model_vm_delete(&t_, "web1")), 0);
	logv_step(&from, "vm-delete");
	cr_assert_eq(CHANGE(0, model_host_create(&t_, "h2", 0xc0a8000c, ADDR_KIND_VSWITCH,
	    &h)), 0);
	logv_step(&from, "host-create-h2");
	cr_assert_eq(CHANGE(0, model_host_delete(&t_, "h2")), 0);
	logv_step(&from, "host-delete");
	/* A VPC's delete: its rules (a tombstone among them) by one range delete. */
	r1.vpc = "red";
	cr_assert_eq(CHANGE(0, model_vpc_create(&t_, "red", 200, &red, 1, &v)), 0);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &r1, &out)), 0);
	cr_assert_eq(CHANGE(0, model_vm_delete(&t_, "r1")), 0);
	logv_step(&from, "vpc-red-vm");
	cr_assert_eq(CHANGE(0, model_vpc_delete(&t_, "red")), 0);
	logv_step(&from, "vpc-delete");
	/* The tombstone collection's deletes: history compacted, so after the above. */
	cr_assert_eq(etcdstore_sync(es[0], 5000000000ull), 0);
	es[0]->compact_keep = 0;
	on_maint(&es[0]->maint);
	on_maint(&es[0]->maint);
	cr_assert_gt(ctr[0].etcd_tombstones_collected, 0);
	logv_step(&from, "gc-tombstones");
	snprintf(backup, sizeof(backup), "/tmp/esbackup.%d", (int)getpid());
	cr_assert((fd = open(backup, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	cr_assert_eq(mdb_env_copyfd(dbs[0].env, fd), 0);
	close(fd);
	cr_assert_eq(etcdstore_restore(&conf, backup), 0);
	logv_step(&from, "restore");
	unlink(backup);
	cr_assert_geq(nlogv, 12);
	for (size_t i = 0; i < nlogv; i++) {
		struct etcdblob_reader r;
		struct etcdblob_ent e;
		int rc;

		cr_expect_eq(etcdblob_check(logv[i].val, logv[i].len), 0, "%s", logv[i].name);
		etcdblob_reader_init(&r, logv[i].val, logv[i].len);
		while ((rc = etcdblob_next(&r, &e)) > 0)
			kinds |= 1u << e.kind;
		if (dir) {
			char path[256];
			FILE *f;

			cr_assert_lt((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			    logv[i].name), sizeof(path));
			f = fopen(path, "w");
			cr_assert_not_null(f, "%s", path);
			cr_assert_eq(fwrite(logv[i].val, 1, logv[i].len, f), logv[i].len);
			fclose(f);
		}
		free(logv[i].val);
	}
	cr_expect_eq(kinds, (1u << (ETCDBLOB_EPOCH + 1)) - 1, "kinds seen: %#x", kinds);
	/* And a view applied them all. */
	expect_view_is_etcd(1);
}

/* View 1's tables, its log among them. */
static void
view_counts(uint64_t n[DBI_COUNT])
{
	MDB_txn *txn;

	cr_assert_eq(db_read(&dbs[1], &txn), 0);
	for (int d = 0; d < DBI_COUNT; d++)
		n[d] = db_count(txn, &dbs[1], d);
	mdb_txn_abort(txn);
}

/* Value val, as revision rev of the log key, to view 1: refused, nothing of it applied. */
static void
expect_refused(int64_t rev, const uint8_t *val, size_t len, const char *what)
{
	uint8_t key[64];
	struct wev ev = { .rev = rev, .key = key, .klen = named_key(es[1], LOG_KEY, key),
	    .val = (uint8_t *)val, .vlen = len };
	uint64_t before[DBI_COUNT], after[DBI_COUNT];
	int64_t applied = es[1]->applied;

	view_counts(before);
	cr_expect_eq(apply_events(es[1], &ev, 1), -EBADMSG, "%s", what);
	cr_expect_eq(es[1]->applied, applied, "%s: the view moved on", what);
	cr_expect_eq(es[1]->id_seen, 0, "%s: its id was seen", what);
	view_counts(after);
	for (int d = 0; d < DBI_COUNT; d++)
		cr_expect_eq(before[d], after[d], "%s: view 1's %s changed", what,
		    db_dbi_name(d));
}

Test(etcdstore, a_malformed_log_value_is_refused_and_none_of_it_applied)
{
	struct model_vm_args a = vm("web1", 0x0a000005);
	uint8_t key[64], val[4096], bad[4096 + 8];
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	struct db_vm out;
	struct db_rule rule;
	struct etcd_kv kv;
	size_t len, ends[64], n = 0;
	int64_t rev;
	MDB_txn *txn;
	char what[64];

	setup_vpc();
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_assert_eq(CHANGE(0, model_vm_create(&t_, &a, &out)), 0);
	/* The change's value as etcd holds it; view 1 has not applied it yet. */
	cr_assert_eq(etcd_get(es[0]->e, key, named_key(es[0], LOG_KEY, key), &kv, NULL), 0);
	cr_assert_leq(kv.value_len, sizeof(val));
	memcpy(val, kv.value, len = kv.value_len);
	rev = kv.mod_revision;
	etcdblob_reader_init(&r, val, len);
	while (etcdblob_next(&r, &e) > 0)
		ends[n++] = r.off;
	cr_assert_eq(r.off, len);
	cr_assert_gt(n, 4);
	/* Cut inside every entry, at every byte. */
	for (size_t cut = 1, i = 0; cut < len; cut++) {
		while (ends[i] < cut)
			i++;
		if (ends[i] != cut) {
			snprintf(what, sizeof(what), "cut at %zu", cut);
			expect_refused(rev, val, cut, what);
		}
	}
	/* Its first entry's length past the end; the most a length can say. */
	memcpy(bad, val, len);
	bytes_put16(bad + 1, (uint16_t)(len - ETCDBLOB_HDR + 1));
	expect_refused(rev, bad, len, "a length past the end");
	bytes_put16(bad + 1, 0xffff);
	expect_refused(rev, bad, len, "a length of 0xffff");
	/* Its last entry (the id) of an unknown kind. */
	memcpy(bad, val, len);
	bad[ends[n - 2]] = ETCDBLOB_EPOCH + 1;
	expect_refused(rev, bad, len, "an unknown kind");
	/* Trailing bytes: one, then a header of nothing. */
	memcpy(bad, val, len);
	bad[len] = 0;
	expect_refused(rev, bad, len + 1, "a byte after the last entry");
	bad[len + 1] = bad[len + 2] = 0;
	expect_refused(rev, bad, len + 3, "an empty record after the last entry");
	/* View 1's running commit's id, then garbage: the id is not taken for landed. */
	bad[0] = ETCDBLOB_ID;
	bytes_put16(bad + 1, ETCDBLOB_ID_LEN);
	bytes_put64(bad + 3, es[1]->self);
	bytes_put64(bad + 11, es[1]->txn_id);
	bad[19] = 0xff;
	expect_refused(rev, bad, 20, "an id, then garbage");
	/* The value as it is applies: what was refused was what was broken. */
	cr_assert_eq(etcdstore_sync(es[1], 5000000000ull), 0);
	cr_expect_eq(es[1]->applied, rev);
	cr_assert_eq(db_read(&dbs[1], &txn), 0);
	cr_expect_eq(db_get_rule(txn, &dbs[1], 100, 0x0a000005, &rule), 0);
	mdb_txn_abort(txn);
}
