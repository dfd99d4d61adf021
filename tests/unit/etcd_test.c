/*
 * etcd_test: the etcd client against a real etcd member each test starts (etcdrun.h):
 * what the gateway's JSON hides (base64 with zero bytes, integers as strings, fields
 * left out) comes back as etcd holds it; a range paged at one revision does not see the
 * writes made while it pages; compare-and-swap holds; etcd's refusals (compacted or
 * future revision, too many ops, too large) are errors of their own; a dead endpoint is
 * passed over and a stopped member is a timeout, not a hang. etcdctl, a client that is
 * not ours, checks the encoding from the other side.
 */
#include "common/etcd.h"
#include "tests/unit/etcdrun.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

static struct etcdrun run;
static struct etcd *e;

static void
start(void)
{
	const char *ep[1];
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = 5000 };
	char why[ETCD_ERROR_MAX];
	int rc;

	rc = etcdrun_start(&run, 1, NULL);
	if (rc == -ENOENT)
		cr_skip_test("etcd is not installed (make deps installs etcd-server)");
	cr_assert_eq(rc, 0, "etcd: %s", run.why);
	ep[0] = run.endpoint[0];
	cr_assert_eq(etcd_open(&e, &conf, why), 0, "%s", why);
}

static void
stop(void)
{
	etcd_close(e);
	e = NULL;
	etcdrun_stop(&run);
}

TestSuite(etcd, .init = start, .fini = stop, .timeout = 60);

#define KEY(s)	(s), strlen(s)

static void
put(const char *k, const char *v, int64_t *rev)
{
	cr_assert_eq(etcd_put(e, KEY(k), KEY(v), rev), 0, "%s", etcd_error(e));
}

static void
assert_value(const char *k, const char *v)
{
	struct etcd_kv kv;

	cr_assert_eq(etcd_get(e, KEY(k), &kv, NULL), 0, "%s: %s", k, etcd_error(e));
	cr_assert_eq(kv.value_len, strlen(v), "%s", k);
	cr_assert_eq(memcmp(kv.value, v, kv.value_len), 0, "%s", k);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Stop member pid (a child of this test) and wait until it is stopped: kill() returns
 * before every thread of it is, and a member still running for a moment answers.
 */
static void
sigstop(pid_t pid)
{
	int status;

	cr_assert_eq(kill(pid, SIGSTOP), 0);
	cr_assert_eq(waitpid(pid, &status, WUNTRACED), pid);
	cr_assert(WIFSTOPPED(status));
}

Test(etcd, put_then_get_gives_the_value_and_its_revisions)
{
	struct etcd_kv kv;
	int64_t r1, r2, rev;

	put("vpc/blue", "v1", &r1);
	put("vpc/blue", "v2", &r2);
	cr_assert_gt(r1, 0);
	cr_assert_eq(r2, r1 + 1);
	cr_assert_eq(etcd_get(e, KEY("vpc/blue"), &kv, &rev), 0, "%s", etcd_error(e));
	cr_assert_eq(kv.key_len, 8);
	cr_assert_eq(memcmp(kv.key, "vpc/blue", 8), 0);
	cr_assert_eq(kv.value_len, 2);
	cr_assert_eq(memcmp(kv.value, "v2", 2), 0);
	cr_assert_eq(kv.create_revision, r1);
	cr_assert_eq(kv.mod_revision, r2);
	cr_assert_eq(kv.version, 2);
	cr_assert_eq(rev, r2);
}

Test(etcd, a_key_that_does_not_exist_is_enoent)
{
	struct etcd_kv kv;
	int64_t rev = -1;

	put("other", "x", NULL);
	cr_assert_eq(etcd_get(e, KEY("missing"), &kv, &rev), -ENOENT);
	cr_assert_gt(rev, 0, "the store's revision is given with the miss");
	cr_assert_eq(kv.key, NULL);
}

Test(etcd, an_empty_value_is_a_value)
{
	struct etcd_kv kv;

	put("empty", "", NULL);
	cr_assert_eq(etcd_get(e, KEY("empty"), &kv, NULL), 0, "%s", etcd_error(e));
	cr_assert_eq(kv.value_len, 0);
	cr_assert_eq(kv.version, 1);
}

Test(etcd, binary_keys_and_values_with_zero_bytes_round_trip)
{
	uint8_t key[5] = { 0, 'a', 0, 0xff, 0 }, val[256], key2[6];
	struct etcd_kv kv;
	struct etcd_range_result res;
	struct etcd_range r = { .key = key, .key_len = sizeof(key), .end = key2,
	    .end_len = sizeof(key2) };
	int i;

	for (i = 0; i < 256; i++)
		val[i] = (uint8_t)(255 - i);
	cr_assert_eq(etcd_put(e, key, sizeof(key), val, sizeof(val), NULL), 0, "%s",
	    etcd_error(e));
	/* The same key cut at its first zero byte is another key, absent. */
	cr_assert_eq(etcd_get(e, key, 1, &kv, NULL), -ENOENT);
	cr_assert_eq(etcd_get(e, key, sizeof(key), &kv, NULL), 0, "%s", etcd_error(e));
	cr_assert_eq(kv.value_len, sizeof(val));
	cr_assert_eq(memcmp(kv.value, val, sizeof(val)), 0);
	/* [key, key + "\0") holds exactly the key: etcd compares the bytes we sent. */
	memcpy(key2, key, sizeof(key));
	key2[5] = 0;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), 0, "%s", etcd_error(e));
	cr_assert_eq(res.n, 1);
	cr_assert_eq(res.count, 1);
}

/* etcdctl (etcd's own client, gRPC) writes; we read, and the other way round. */
Test(etcd, etcdctl_and_this_client_agree_on_keys_and_values)
{
	char cmd[512], out[128] = "";
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s put ctl/k "
	    "'from etcdctl' >/dev/null 2>&1", run.endpoint[0]);
	if (system(cmd) != 0)
		cr_skip_test("etcdctl is not installed (make deps installs etcd-client)");
	assert_value("ctl/k", "from etcdctl");
	put("ctl/ours", "from etcd.c", NULL);
	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s get ctl/ours "
	    "--print-value-only", run.endpoint[0]);
	cr_assert_not_null(f = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	cr_assert_str_eq(out, "from etcd.c\n");
}

struct collect {
	char keys[256][16];
	char vals[256][16];
	int n;
	struct etcd *writer;	/* writes while the range pages, when not NULL */
};

static int
collect_kv(void *arg, const struct etcd_kv *kv)
{
	struct collect *c = arg;
	char k[16];

	cr_assert_lt(c->n, 256);
	cr_assert_lt(kv->key_len, sizeof(c->keys[0]));
	cr_assert_lt(kv->value_len, sizeof(c->vals[0]));
	memcpy(c->keys[c->n], kv->key, kv->key_len);
	c->keys[c->n][kv->key_len] = '\0';
	memcpy(c->vals[c->n], kv->value, kv->value_len);
	c->vals[c->n][kv->value_len] = '\0';
	c->n++;
	if (c->writer != NULL && c->n % 10 == 0) {
		/* A new key ahead of the page, one changed ahead, one deleted ahead. */
		snprintf(k, sizeof(k), "p/%03da", c->n + 20);
		cr_assert_eq(etcd_put(c->writer, KEY(k), KEY("new"), NULL), 0);
		snprintf(k, sizeof(k), "p/%03d", c->n + 15);
		if (c->n + 15 < 100)
			cr_assert_eq(etcd_put(c->writer, KEY(k), KEY("changed"), NULL), 0);
		snprintf(k, sizeof(k), "p/%03d", c->n + 16);
		if (c->n + 16 < 100)
			cr_assert_eq(etcd_delete(c->writer, KEY(k), NULL, 0, NULL, NULL), 0);
	}
	return 0;
}

Test(etcd, a_range_paged_at_one_revision_does_not_see_writes_made_meanwhile)
{
	const char *ep[1] = { run.endpoint[0] };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = 5000 };
	struct collect *c = calloc(1, sizeof(*c));
	uint8_t end[8];
	struct etcd_range r = { .key = "p/", .key_len = 2, .end = end, .limit = 7 };
	struct etcd_range_result res;
	char k[16], v[16];
	int64_t rev, start_rev;
	int i;

	cr_assert_not_null(c);
	r.end_len = etcd_prefix_end("p/", 2, end);
	cr_assert_eq(r.end_len, 2);
	cr_assert_eq(end[1], '/' + 1);
	put("o/before", "x", NULL);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "p/%03d", i);
		snprintf(v, sizeof(v), "v%d", i);
		put(k, v, &start_rev);
	}
	put("q/after", "x", NULL);
	cr_assert_eq(etcd_open(&c->writer, &conf, NULL), 0);
	cr_assert_eq(etcd_range_all(e, &r, collect_kv, c, &rev), 0, "%s", etcd_error(e));
	cr_assert_eq(rev, start_rev + 1, "the revision of the first page");
	cr_assert_eq(c->n, 100, "100 keys at the first page's revision, got %d", c->n);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "p/%03d", i);
		snprintf(v, sizeof(v), "v%d", i);
		cr_assert_str_eq(c->keys[i], k);
		cr_assert_str_eq(c->vals[i], v);
	}
	/* The writes did happen: the range now, at the current revision, has them. */
	r.limit = 0;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), 0, "%s", etcd_error(e));
	cr_assert_neq(res.count, 100);
	cr_assert_gt(res.revision, rev);
	/* One page only, with more: the whole count is given, and more. */
	r.limit = 3;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), 0, "%s", etcd_error(e));
	cr_assert_eq(res.n, 3);
	cr_assert(res.more);
	etcd_close(c->writer);
	free(c);
}

Test(etcd, cas_txn_applies_when_the_mod_revision_matches_and_not_otherwise)
{
	struct etcd_kv kv;
	struct etcd_txn_result res;
	int64_t r1;
	struct etcd_cmp cmp = { .target = ETCD_CMP_MOD, .key = "vpc/1/version",
	    .key_len = 13 };
	struct etcd_op ops[2] = {
		{ .kind = ETCD_OP_PUT, .key = "vpc/1/version", .key_len = 13, .value = "2",
		  .value_len = 1 },
		{ .kind = ETCD_OP_PUT, .key = "vpc/1/vm/a", .key_len = 10, .value = "10.0.0.5",
		  .value_len = 8 },
	};

	put("vpc/1/version", "1", &r1);
	cmp.rev = r1;
	cr_assert_eq(etcd_txn(e, &cmp, 1, ops, 2, &res), 0, "%s", etcd_error(e));
	cr_assert(res.succeeded);
	cr_assert_eq(res.revision, r1 + 1);
	assert_value("vpc/1/version", "2");
	assert_value("vpc/1/vm/a", "10.0.0.5");
	/* The same compare again: the version key moved on, nothing is applied. */
	ops[1].key = "vpc/1/vm/b";
	cr_assert_eq(etcd_txn(e, &cmp, 1, ops, 2, &res), 0, "%s", etcd_error(e));
	cr_assert_not(res.succeeded);
	cr_assert_eq(res.revision, r1 + 1);
	cr_assert_eq(etcd_get(e, KEY("vpc/1/vm/b"), &kv, NULL), -ENOENT);
}

Test(etcd, txn_compares_on_absence_version_and_value)
{
	struct etcd_txn_result res;
	struct etcd_cmp absent = { .target = ETCD_CMP_ABSENT, .key = "lock", .key_len = 4 };
	struct etcd_cmp value = { .target = ETCD_CMP_VALUE, .key = "lock", .key_len = 4,
	    .value = "me", .value_len = 2 };
	struct etcd_cmp version = { .target = ETCD_CMP_VERSION, .result = ETCD_GREATER,
	    .key = "lock", .key_len = 4, .rev = 1 };
	struct etcd_op take = { .kind = ETCD_OP_PUT, .key = "lock", .key_len = 4,
	    .value = "me", .value_len = 2 };
	struct etcd_op drop = { .kind = ETCD_OP_DELETE, .key = "lock", .key_len = 4 };

	cr_assert_eq(etcd_txn(e, &absent, 1, &take, 1, &res), 0, "%s", etcd_error(e));
	cr_assert(res.succeeded, "absent, so taken");
	cr_assert_eq(etcd_txn(e, &absent, 1, &take, 1, &res), 0, "%s", etcd_error(e));
	cr_assert_not(res.succeeded, "present now");
	cr_assert_eq(etcd_txn(e, &version, 1, &take, 1, &res), 0, "%s", etcd_error(e));
	cr_assert_not(res.succeeded, "version 1 is not greater than 1");
	value.value = "you";
	value.value_len = 3;
	cr_assert_eq(etcd_txn(e, &value, 1, &drop, 1, &res), 0, "%s", etcd_error(e));
	cr_assert_not(res.succeeded, "not ours to drop");
	value.value = "me";
	value.value_len = 2;
	cr_assert_eq(etcd_txn(e, &value, 1, &drop, 1, &res), 0, "%s", etcd_error(e));
	cr_assert(res.succeeded);
	cr_assert_eq(etcd_txn(e, &absent, 1, NULL, 0, &res), 0, "%s", etcd_error(e));
	cr_assert(res.succeeded, "dropped");
}

Test(etcd, more_ops_in_a_txn_than_etcd_allows_is_e2big)
{
	static struct etcd_op ops[129];
	static char keys[129][8];
	struct etcd_txn_result res;
	int i;

	for (i = 0; i < 129; i++) {
		snprintf(keys[i], sizeof(keys[i]), "m/%03d", i);
		ops[i] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = keys[i], .key_len = 5 };
	}
	cr_assert_eq(etcd_txn(e, NULL, 0, ops, 128, &res), 0, "%s", etcd_error(e));
	cr_assert(res.succeeded, "128 ops: etcd's default --max-txn-ops");
	cr_assert_eq(etcd_txn(e, NULL, 0, ops, 129, &res), -E2BIG, "%s", etcd_error(e));
	cr_assert(strstr(etcd_error(e), "too many operations") != NULL, "%s", etcd_error(e));
}

Test(etcd, a_request_over_etcds_limit_is_emsgsize)
{
	const size_t dflt = 3u << 19;	/* etcd's default --max-request-bytes, 1.5 MiB */
	char *big = calloc(1, (size_t)ETCD_VALUE_MAX + 1);

	cr_assert_not_null(big);
	cr_assert_eq(etcd_put(e, KEY("big"), big, dflt - 4096, NULL), 0, "%s",
	    etcd_error(e));
	cr_assert_eq(etcd_put(e, KEY("big"), big, dflt, NULL), -EMSGSIZE, "%s",
	    etcd_error(e));
	cr_assert_eq(etcd_put(e, KEY("big"), big, (size_t)ETCD_VALUE_MAX + 1, NULL), -EINVAL);
	free(big);
}

Test(etcd, a_compacted_revision_is_estale_and_a_future_one_erange)
{
	struct etcd_range r = { .key = "c", .key_len = 1 };
	struct etcd_range_result res;
	int64_t r1, r2, r3;

	put("c", "1", &r1);
	put("c", "2", &r2);
	put("c", "3", &r3);
	r.revision = r1;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), 0, "%s", etcd_error(e));
	cr_assert_eq(res.n, 1);
	cr_assert_eq(etcd_compact(e, r2, true), 0, "%s", etcd_error(e));
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), -ESTALE, "%s", etcd_error(e));
	cr_assert_eq(etcd_stats(e)->compacted, 1);
	r.revision = r2;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), 0, "the compaction revision stays");
	r.revision = r3 + 10;
	cr_assert_eq(etcd_range(e, &r, NULL, NULL, &res), -ERANGE, "%s", etcd_error(e));
	/* Paging from a compacted revision says so too: the caller starts again. */
	r.revision = r1;
	r.limit = 1;
	cr_assert_eq(etcd_range_all(e, &r, collect_kv, &(struct collect){ 0 }, &r3), -ESTALE);
}

Test(etcd, delete_of_a_prefix_removes_it_alone)
{
	uint8_t end[8];
	size_t end_len = etcd_prefix_end("d/", 2, end);
	int64_t deleted;
	struct etcd_kv kv;

	put("d/1", "x", NULL);
	put("d/2", "x", NULL);
	put("d0", "x", NULL);
	put("e", "x", NULL);
	cr_assert_eq(etcd_delete(e, KEY("d/"), end, end_len, &deleted, NULL), 0, "%s",
	    etcd_error(e));
	cr_assert_eq(deleted, 2);
	cr_assert_eq(etcd_get(e, KEY("d/1"), &kv, NULL), -ENOENT);
	assert_value("d0", "x");
	cr_assert_eq(etcd_delete(e, KEY("d/1"), NULL, 0, &deleted, NULL), 0);
	cr_assert_eq(deleted, 0, "deleted is omitted when 0, and read as 0");
}

Test(etcd, status_names_the_leader_and_the_revision)
{
	struct etcd_status st;
	int64_t rev;

	put("s", "x", &rev);
	cr_assert_eq(etcd_status(e, &st), 0, "%s", etcd_error(e));
	cr_assert_neq(st.member_id, 0);
	cr_assert_eq(st.leader, st.member_id, "one member leads itself");
	cr_assert_neq(st.cluster_id, 0);
	cr_assert_eq(st.revision, rev);
	cr_assert_gt(st.db_size, 0);
	cr_assert_gt(st.raft_term, 0);
	cr_assert_eq(st.alarms, 0);
	cr_assert_eq(strncmp(st.version, "3.", 2), 0, "%s", st.version);
}

Test(etcd, a_dead_first_endpoint_is_passed_over_and_the_live_one_kept)
{
	int dead = 0;
	char url[64];
	const char *ep[2] = { url, run.endpoint[0] };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 2, .timeout_ms = 2000 };
	struct etcd *two;
	struct etcd_kv kv;

	cr_assert_eq(etcdrun_ports(&dead, 1), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead);
	cr_assert_eq(etcd_open(&two, &conf, NULL), 0);
	cr_assert_eq(etcd_put(two, KEY("k"), KEY("v"), NULL), 0, "%s", etcd_error(two));
	cr_assert_eq(etcd_stats(two)->failovers, 1);
	cr_assert_str_eq(etcd_endpoint(two), run.endpoint[0]);
	cr_assert_eq(etcd_get(two, KEY("k"), &kv, NULL), 0, "%s", etcd_error(two));
	cr_assert_eq(etcd_stats(two)->failovers, 1, "stays on the live endpoint");
	cr_assert_eq(etcd_stats(two)->requests, 3);
	etcd_close(two);
	/* Only dead endpoints: refused, naming the endpoint. */
	ep[1] = url;
	cr_assert_eq(etcd_open(&two, &conf, NULL), 0);
	cr_assert_eq(etcd_get(two, KEY("k"), &kv, NULL), -ECONNREFUSED);
	cr_assert(strstr(etcd_error(two), url) != NULL, "%s", etcd_error(two));
	etcd_close(two);
}

Test(etcd, a_stopped_member_is_a_timeout_not_a_hang)
{
	const char *ep[1] = { run.endpoint[0] };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = 300 };
	struct etcd *t;
	struct etcd_kv kv;
	double t0, dt;

	cr_assert_eq(etcd_open(&t, &conf, NULL), 0);
	cr_assert_eq(etcd_put(t, KEY("k"), KEY("v"), NULL), 0, "%s", etcd_error(t));
	sigstop(run.pid[0]);
	t0 = now_s();
	cr_assert_eq(etcd_get(t, KEY("k"), &kv, NULL), -ETIMEDOUT, "%s", etcd_error(t));
	dt = now_s() - t0;
	cr_assert_eq(etcd_put(t, KEY("k"), KEY("w"), NULL), -ETIMEDOUT, "%s", etcd_error(t));
	cr_assert_eq(etcd_stats(t)->timeouts, 2);
	kill(run.pid[0], SIGCONT);
	cr_assert(dt >= 0.25 && dt < 3, "gave up after %.3f s, the timeout is 0.3 s", dt);
	/* Back: the next call works (the put that timed out may or may not have applied). */
	cr_assert_eq(etcd_get(t, KEY("k"), &kv, NULL), 0, "%s", etcd_error(t));
	etcd_close(t);
}

/*
 * A write on a kept-alive connection that times out may have been read: it is not sent
 * on to the next endpoint, and the answer is the timeout (the caller settles it), not
 * the next endpoint's refusal (curl reports no connect time for a kept connection).
 */
Test(etcd, a_write_timed_out_on_a_kept_connection_is_not_sent_on)
{
	int dead = 0;
	char url[64];
	const char *ep[2] = { run.endpoint[0], url };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 2, .timeout_ms = 300 };
	struct etcd *t;

	cr_assert_eq(etcdrun_ports(&dead, 1), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead);
	cr_assert_eq(etcd_open(&t, &conf, NULL), 0);
	cr_assert_eq(etcd_put(t, KEY("k"), KEY("v"), NULL), 0, "%s", etcd_error(t));
	cr_assert_eq(kill(run.pid[0], SIGSTOP), 0);
	cr_assert_eq(etcd_put(t, KEY("k"), KEY("w"), NULL), -ETIMEDOUT, "%s", etcd_error(t));
	kill(run.pid[0], SIGCONT);
	cr_assert_eq(etcd_stats(t)->failovers, 0, "the write was sent on to %s", url);
	cr_assert_str_eq(etcd_endpoint(t), run.endpoint[0]);
	etcd_close(t);
}

Test(etcd, bad_arguments_are_einval_and_nothing_is_sent)
{
	const char *bad[] = { "127.0.0.1:2379", "ftp://x", "http://", "http://a b",
	    "http://x?y=1", NULL };
	struct etcd_conf conf = { .n_endpoints = 1, .timeout_ms = 100 };
	struct etcd *x;
	struct etcd_kv kv;
	struct etcd_txn_result res;
	struct etcd_op op = { .kind = 7, .key = "k", .key_len = 1 };
	uint64_t sent = etcd_stats(e)->requests;
	int i;

	for (i = 0; i < 6; i++) {
		conf.endpoints = &bad[i];
		cr_assert_eq(etcd_open(&x, &conf, NULL), -EINVAL, "%s", bad[i] ? bad[i] : "NULL");
		cr_assert_null(x);
	}
	const char *good[1] = { run.endpoint[0] };
	conf.endpoints = good;
	conf.timeout_ms = 0;
	cr_assert_eq(etcd_open(&x, &conf, NULL), -EINVAL);
	cr_assert_eq(etcd_get(e, "", 0, &kv, NULL), -EINVAL);
	cr_assert_eq(etcd_put(e, NULL, 3, KEY("v"), NULL), -EINVAL);
	cr_assert_eq(etcd_txn(e, NULL, 0, &op, 1, &res), -EINVAL);
	cr_assert_eq(etcd_compact(e, 0, false), -EINVAL);
	cr_assert_eq(etcd_stats(e)->requests, sent);
}

/* ---- watch ---- */

/* What a watch handed out, and what its callback does. */
struct wlog {
	struct {
		enum etcd_ev_type type;
		char key[16], value[16];
		int64_t create, mod, version;
		size_t batch;
	} ev[256];
	size_t n, batches, created, progress;
	int64_t created_rev, progress_rev;
	int64_t until;		/* fn returns 1 once an event at or past it came; 0 never */
	int stop_with;		/* fn returns it at the first event, when non-zero */
	size_t stop_after_progress;	/* fn calls on_progress after that many, then goes on */
	void (*on_created)(struct wlog *);
	void (*on_progress)(struct wlog *);
	struct etcd *writer;
	int64_t rev[8];		/* revisions of on_created's writes */
	atomic_size_t seen;	/* events so far, for another thread */
	pthread_t thread;
	bool have_thread;
};

static int
wlog_fn(void *arg, const struct etcd_watch_batch *b)
{
	struct wlog *w = arg;
	size_t i;

	w->batches++;
	if (b->created) {
		cr_assert_eq(b->n, 0);
		w->created++;
		w->created_rev = b->revision;
		if (w->on_created != NULL)
			w->on_created(w);
		return 0;
	}
	if (b->progress) {
		cr_assert_eq(b->n, 0);
		w->progress++;
		w->progress_rev = b->revision;
		if (w->on_progress != NULL && w->progress == w->stop_after_progress)
			w->on_progress(w);
		return 0;
	}
	cr_assert_gt(b->n, 0);
	for (i = 0; i < b->n; i++) {
		const struct etcd_kv *kv = &b->ev[i].kv;

		cr_assert_lt(w->n, 256);
		cr_assert_lt(kv->key_len, sizeof(w->ev[0].key));
		cr_assert_lt(kv->value_len, sizeof(w->ev[0].value));
		w->ev[w->n].type = b->ev[i].type;
		memcpy(w->ev[w->n].key, kv->key, kv->key_len);
		w->ev[w->n].key[kv->key_len] = '\0';
		memcpy(w->ev[w->n].value, kv->value, kv->value_len);
		w->ev[w->n].value[kv->value_len] = '\0';
		w->ev[w->n].create = kv->create_revision;
		w->ev[w->n].mod = kv->mod_revision;
		w->ev[w->n].version = kv->version;
		w->ev[w->n].batch = w->batches;
		w->n++;
		atomic_store(&w->seen, w->n);
		if (w->stop_with != 0)
			return w->stop_with;
	}
	return w->until > 0 && w->ev[w->n - 1].mod >= w->until ? 1 : 0;
}

static void
assert_ev(const struct wlog *w, size_t i, enum etcd_ev_type type, const char *key,
	  const char *value, int64_t create, int64_t mod, int64_t version)
{
	cr_assert_lt(i, w->n, "event %zu of %zu", i, w->n);
	cr_assert_eq(w->ev[i].type, type, "event %zu", i);
	cr_assert_str_eq(w->ev[i].key, key, "event %zu", i);
	cr_assert_str_eq(w->ev[i].value, value, "event %zu", i);
	cr_assert_eq(w->ev[i].create, create, "event %zu (%s)", i, key);
	cr_assert_eq(w->ev[i].mod, mod, "event %zu (%s)", i, key);
	cr_assert_eq(w->ev[i].version, version, "event %zu (%s)", i, key);
}

/*
 * Writes in w/ (and one outside it): put a, put b, delete a, one txn (put c, put d "",
 * delete b), put a again. Their revisions in rev[0..4].
 */
static void
w_writes(struct etcd *x, int64_t rev[5])
{
	struct etcd_op txn[3] = {
		{ .kind = ETCD_OP_PUT, .key = "w/c", .key_len = 3, .value = "3", .value_len = 1 },
		{ .kind = ETCD_OP_PUT, .key = "w/d", .key_len = 3, .value = "", .value_len = 0 },
		{ .kind = ETCD_OP_DELETE, .key = "w/b", .key_len = 3 },
	};
	struct etcd_txn_result res;
	int64_t deleted;

	cr_assert_eq(etcd_put(x, KEY("w/a"), KEY("1"), &rev[0]), 0, "%s", etcd_error(x));
	cr_assert_eq(etcd_put(x, KEY("w/b"), KEY("2"), &rev[1]), 0, "%s", etcd_error(x));
	cr_assert_eq(etcd_put(x, KEY("x/outside"), KEY("-"), NULL), 0, "%s", etcd_error(x));
	cr_assert_eq(etcd_delete(x, KEY("w/a"), NULL, 0, &deleted, &rev[2]), 0, "%s",
	    etcd_error(x));
	cr_assert_eq(deleted, 1);
	cr_assert_eq(etcd_txn(x, NULL, 0, txn, 3, &res), 0, "%s", etcd_error(x));
	cr_assert(res.succeeded);
	rev[3] = res.revision;
	cr_assert_eq(etcd_put(x, KEY("w/a"), KEY("5"), &rev[4]), 0, "%s", etcd_error(x));
}

/*
 * The events of w_writes from revision rev[from] on, in order, a txn's in one batch;
 * live, a batch a revision (a replay may put several revisions in one batch).
 */
static void
assert_w_events(const struct wlog *w, const int64_t rev[5], int from, bool live)
{
	size_t i = 0;

	if (from <= 0)
		assert_ev(w, i++, ETCD_EV_PUT, "w/a", "1", rev[0], rev[0], 1);
	if (from <= 1)
		assert_ev(w, i++, ETCD_EV_PUT, "w/b", "2", rev[1], rev[1], 1);
	if (from <= 2)
		assert_ev(w, i++, ETCD_EV_DELETE, "w/a", "", 0, rev[2], 0);
	assert_ev(w, i, ETCD_EV_PUT, "w/c", "3", rev[3], rev[3], 1);
	assert_ev(w, i + 1, ETCD_EV_PUT, "w/d", "", rev[3], rev[3], 1);
	assert_ev(w, i + 2, ETCD_EV_DELETE, "w/b", "", 0, rev[3], 0);
	cr_assert_eq(w->ev[i].batch, w->ev[i + 2].batch, "one txn, one batch");
	cr_assert_eq(w->ev[i].batch, w->ev[i + 1].batch, "one txn, one batch");
	assert_ev(w, i + 3, ETCD_EV_PUT, "w/a", "5", rev[4], rev[4], 1);
	cr_assert_eq(w->n, i + 4, "%zu events", w->n);
	if (live) {
		cr_assert_eq(w->ev[0].batch + 1, w->ev[1].batch, "a revision, a batch");
		cr_assert_eq(w->ev[1].batch + 1, w->ev[2].batch);
		cr_assert_eq(w->ev[2].batch + 1, w->ev[3].batch);
		cr_assert_eq(w->ev[5].batch + 1, w->ev[6].batch);
	}
}

static void
w_prefix(struct etcd_watch_params *p, uint8_t end[8])
{
	p->key = "w/";
	p->key_len = 2;
	p->end = end;
	p->end_len = etcd_prefix_end("w/", 2, end);
}

static void
writes_on_created(struct wlog *w)
{
	w_writes(w->writer, w->rev);
	w->until = w->rev[4];
}

static struct etcd *
open1(const char *endpoint, unsigned timeout_ms)
{
	const char *ep[1] = { endpoint };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = timeout_ms };
	struct etcd *x;

	cr_assert_eq(etcd_open(&x, &conf, NULL), 0);
	return x;
}

Test(etcd, watch_gives_puts_deletes_and_a_txn_live_in_order_a_revision_a_batch)
{
	static struct wlog w;
	struct etcd_watch_params p = { 0 };
	uint8_t end[8];

	w_prefix(&p, end);
	w.writer = open1(run.endpoint[0], 5000);
	w.on_created = writes_on_created;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 1, "%s", etcd_error(e));
	cr_assert_eq(w.created, 1);
	cr_assert_lt(w.created_rev, w.rev[0]);
	assert_w_events(&w, w.rev, 0, true);
	cr_assert_eq(etcd_stats(e)->watches, 1);
	cr_assert_eq(etcd_stats(e)->watch_events, 7);
	cr_assert_eq(etcd_stats(e)->watch_responses, 6, "created, then a message a revision");
	cr_assert_eq(etcd_stats(e)->watch_broken, 0);
	/* The handle is itself again: a plain call works on it. */
	assert_value("w/a", "5");
	etcd_close(w.writer);
}

Test(etcd, watch_from_a_past_revision_replays_history_from_exactly_there)
{
	static struct wlog w;
	struct etcd_watch_params p = { 0 };
	uint8_t end[8];
	int64_t rev[5];
	int from;

	w_writes(e, rev);
	w_prefix(&p, end);
	for (from = 0; from < 4; from++) {
		memset(&w, 0, sizeof(w));
		w.until = rev[4];
		p.start_revision = rev[from];
		cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 1, "from %d: %s", from,
		    etcd_error(e));
		assert_w_events(&w, rev, from, false);
	}
	/* From the revision of the txn's last change plus one: the last put alone. */
	memset(&w, 0, sizeof(w));
	w.until = rev[4];
	p.start_revision = rev[4];
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 1, "%s", etcd_error(e));
	cr_assert_eq(w.n, 1);
	assert_ev(&w, 0, ETCD_EV_PUT, "w/a", "5", rev[4], rev[4], 1);
}

Test(etcd, watch_from_a_compacted_revision_is_estale_with_the_compact_revision)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "c", .key_len = 1 };
	int64_t r1, r2, r3, compact = -1, deleted;

	put("c", "1", &r1);
	cr_assert_eq(etcd_delete(e, KEY("c"), NULL, 0, &deleted, &r2), 0);
	put("c", "3", &r3);
	cr_assert_eq(etcd_compact(e, r2, true), 0, "%s", etcd_error(e));
	p.start_revision = r1;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, &compact), -ESTALE, "%s", etcd_error(e));
	cr_assert_eq(compact, r2);
	/*
	 * From the compaction's revision itself: etcd drops the delete made there from
	 * history yet would start the watch (and hand out the put at r3 alone, the delete
	 * missed). The watch asks from r2 - 1 and so learns it cannot.
	 */
	memset(&w, 0, sizeof(w));
	w.until = r3;
	p.start_revision = r2;
	compact = -1;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, &compact), -ESTALE, "%s", etcd_error(e));
	cr_assert_eq(compact, r2);
	cr_assert_eq(w.n, 0);
	cr_assert_eq(etcd_stats(e)->compacted, 2);
	/* Just after it: the history is whole. */
	memset(&w, 0, sizeof(w));
	w.until = r3;
	p.start_revision = r2 + 1;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, &compact), 1, "%s", etcd_error(e));
	cr_assert_eq(compact, 0);
	cr_assert_eq(w.n, 1);
	assert_ev(&w, 0, ETCD_EV_PUT, "c", "3", r3, r3, 1);
}

static void *
stop_later(void *arg)
{
	atomic_int *stop = arg;

	usleep(300000);
	atomic_store(stop, 1);
	return NULL;
}

Test(etcd, watch_ends_when_the_stop_flag_is_set)
{
	static struct wlog w;
	static atomic_int stop;
	/* idle_ms: a watch that missed the flag ends -ETIMEDOUT, not in the suite's timeout */
	struct etcd_watch_params p = { .key = "s", .key_len = 1, .stop = &stop,
	    .idle_ms = 10000 };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, stop_later, &stop), 0);
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 0, "%s", etcd_error(e));
	pthread_join(t, NULL);
	cr_assert_eq(w.created, 1);
	cr_assert_eq(etcd_stats(e)->watch_broken, 0);
	/* Set before the call: it ends at once. */
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 0, "%s", etcd_error(e));
	/* The handle is itself again. */
	put("s", "x", NULL);
	assert_value("s", "x");
}

static void
put_on_created(struct wlog *w)
{
	cr_assert_eq(etcd_put(w->writer, KEY("f"), KEY("1"), NULL), 0);
	cr_assert_eq(etcd_put(w->writer, KEY("f"), KEY("2"), NULL), 0);
}

Test(etcd, watch_ends_with_what_its_function_returns)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "f", .key_len = 1 };

	w.writer = open1(run.endpoint[0], 5000);
	w.on_created = put_on_created;
	w.stop_with = 42;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 42, "%s", etcd_error(e));
	cr_assert_eq(w.n, 1, "nothing after the function said stop");
	cr_assert_eq(etcd_stats(e)->watch_broken, 0);
	cr_assert_eq(etcd_stats(e)->errors, 0);
	etcd_close(w.writer);
}

Test(etcd, watch_bad_arguments_are_einval_and_nothing_is_sent)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "b", .key_len = 1, .end = "a", .end_len = 1 };
	uint64_t sent = etcd_stats(e)->requests;

	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), -EINVAL, "an empty range");
	p.end = "b";
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), -EINVAL, "an empty range");
	p.end_len = 0;
	cr_assert_eq(etcd_watch(e, &p, NULL, &w, NULL), -EINVAL, "no function");
	p.start_revision = -1;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), -EINVAL);
	p.start_revision = 0;
	p.key_len = 0;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), -EINVAL);
	cr_assert_eq(etcd_watch(e, NULL, wlog_fn, &w, NULL), -EINVAL);
	cr_assert_eq(etcd_stats(e)->requests, sent);
	cr_assert_eq(w.batches, 0);
	/* "\0" as the end: every key from key on, not an empty range */
	p.key_len = 1;
	p.end = "";
	p.end_len = 1;
	w.stop_with = 1;
	w.writer = open1(run.endpoint[0], 5000);
	w.on_created = put_on_created;
	cr_assert_eq(etcd_watch(e, &p, wlog_fn, &w, NULL), 1, "%s", etcd_error(e));
	etcd_close(w.writer);
}

static atomic_int stop_flag;

static void
stop_on_created(struct wlog *w)
{
	(void)w;
	atomic_store(&stop_flag, 1);
}

Test(etcd, watch_passes_a_dead_endpoint_over_and_times_out_on_a_stopped_member)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "t", .key_len = 1, .stop = &stop_flag };
	int dead = 0;
	char url[64];
	const char *ep[2] = { url, run.endpoint[0] };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 2, .timeout_ms = 500 };
	struct etcd *t;

	/* A dead endpoint first: passed over, the watch made on the live one, and kept. */
	cr_assert_eq(etcdrun_ports(&dead, 1), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead);
	cr_assert_eq(etcd_open(&t, &conf, NULL), 0);
	w.on_created = stop_on_created;
	cr_assert_eq(etcd_watch(t, &p, wlog_fn, &w, NULL), 0, "%s", etcd_error(t));
	cr_assert_eq(w.created, 1);
	cr_assert_str_eq(etcd_endpoint(t), run.endpoint[0]);
	cr_assert_eq(etcd_stats(t)->failovers, 1);
	etcd_close(t);
	/* A stopped member: the connection is taken, no answer: not made within timeout_ms. */
	t = open1(run.endpoint[0], 500);
	atomic_store(&stop_flag, 0);
	sigstop(run.pid[0]);
	memset(&w, 0, sizeof(w));
	cr_assert_eq(etcd_watch(t, &p, wlog_fn, &w, NULL), -ETIMEDOUT, "%s", etcd_error(t));
	kill(run.pid[0], SIGCONT);
	cr_assert_eq(w.batches, 0);
	cr_assert(strstr(etcd_error(t), "not made") != NULL, "%s", etcd_error(t));
	cr_assert_eq(etcd_stats(t)->watch_broken, 0);
	etcd_close(t);
}

/*
 * ---- watch: members killed, stopped, cut off ----
 *
 * Each test starts the members it needs (three, or one with a flag of its own).
 */
static struct etcdrun run3;

static void
stop3(void)
{
	etcdrun_stop(&run3);
}

TestSuite(etcd_watch, .fini = stop3, .timeout = 90);

static void
start_n(int n, const char *const *extra)
{
	int rc = etcdrun_start(&run3, n, extra);

	if (rc == -ENOENT)
		cr_skip_test("etcd is not installed (make deps installs etcd-server)");
	cr_assert_eq(rc, 0, "etcd: %s", run3.why);
}

static struct etcd *
open_n(int first, int n, unsigned timeout_ms)
{
	const char *ep[ETCDRUN_MAX];
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = (unsigned)n,
	    .timeout_ms = timeout_ms };
	struct etcd *x;
	int i;

	for (i = 0; i < n; i++)
		ep[i] = run3.endpoint[first + i];
	cr_assert_eq(etcd_open(&x, &conf, NULL), 0);
	return x;
}

#define KILL_KEYS	60
#define KILL_AT		20

/*
 * Puts k/00..k/59 through members 1 and 2, each once (a CAS on the key's absence: a
 * put retried after a timeout cannot land twice), killing member 0 after KILL_AT.
 */
static void *
kill_writer(void *arg)
{
	struct wlog *w = arg;
	struct etcd_txn_result res;
	char k[8];
	int i, tries;

	for (i = 0; i < KILL_KEYS; i++) {
		struct etcd_cmp absent = { .target = ETCD_CMP_ABSENT, .key = k, .key_len = 4 };
		struct etcd_op op = { .kind = ETCD_OP_PUT, .key = k, .key_len = 4, .value = k,
		    .value_len = 4 };

		snprintf(k, sizeof(k), "k/%02d", i);
		for (tries = 0; etcd_txn(w->writer, &absent, 1, &op, 1, &res) != 0; tries++) {
			cr_assert_lt(tries, 100, "k/%02d: %s", i, etcd_error(w->writer));
			usleep(100000);
		}
		if (i != KILL_AT)
			continue;
		/* Once the watch has seen some (member 0 may lag behind the two others). */
		for (tries = 0; tries < 1000 && atomic_load(&w->seen) == 0; tries++)
			usleep(10000);
		kill(run3.pid[0], SIGKILL);
	}
	return NULL;
}

static void
start_kill_writer(struct wlog *w)
{
	if (w->have_thread)
		return;
	cr_assert_eq(pthread_create(&w->thread, NULL, kill_writer, w), 0);
	w->have_thread = true;
}

Test(etcd_watch, killing_the_member_ends_the_watch_and_the_next_resumes_on_another)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "k/", .key_len = 2, .idle_ms = 10000 };
	uint8_t end[8];
	struct etcd *wt;
	int64_t r0;
	int rc, i;

	start_n(3, NULL);
	p.end = end;
	p.end_len = etcd_prefix_end("k/", 2, end);
	wt = open_n(0, 3, 2000);
	w.writer = open_n(1, 2, 2000);
	cr_assert_eq(etcd_put(w.writer, KEY("start"), KEY("-"), &r0), 0);
	w.on_created = start_kill_writer;
	p.start_revision = r0 + 1;
	rc = etcd_watch(wt, &p, wlog_fn, &w, NULL);
	cr_assert_eq(rc, -ECONNRESET, "rc %d: %s", rc, etcd_error(wt));
	cr_assert_str_eq(etcd_endpoint(wt), run3.endpoint[1], "moved on from the dead member");
	cr_assert_gt(w.n, 0);
	cr_assert_lt(w.n, KILL_KEYS, "the watch ended before the writes did");
	cr_assert_eq(etcd_stats(wt)->watch_broken, 1);
	/* Resumed after the last revision seen: every key once, no revision missed. */
	p.start_revision = w.ev[w.n - 1].mod + 1;
	w.until = r0 + KILL_KEYS;
	rc = etcd_watch(wt, &p, wlog_fn, &w, NULL);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, etcd_error(wt));
	pthread_join(w.thread, NULL);
	cr_assert_eq(w.n, KILL_KEYS);
	for (i = 0; i < KILL_KEYS; i++) {
		char k[8];

		snprintf(k, sizeof(k), "k/%02d", i);
		assert_ev(&w, (size_t)i, ETCD_EV_PUT, k, k, r0 + 1 + i, r0 + 1 + i, 1);
	}
	cr_assert_eq(etcd_stats(wt)->watches, 2);
	cr_assert_eq(w.created, 2);
	etcd_close(w.writer);
	etcd_close(wt);
}

static void
kill_others_on_created(struct wlog *w)
{
	(void)w;
	kill(run3.pid[1], SIGKILL);
	kill(run3.pid[2], SIGKILL);
}

Test(etcd_watch, a_member_that_loses_its_quorum_ends_the_watch_with_eagain)
{
	static struct wlog w;
	struct etcd_watch_params p = { .key = "q", .key_len = 1, .idle_ms = 30000 };
	struct etcd *wt;
	int rc;

	start_n(3, NULL);
	wt = open_n(0, 1, 2000);
	w.on_created = kill_others_on_created;
	rc = etcd_watch(wt, &p, wlog_fn, &w, NULL);
	cr_assert_eq(rc, -EAGAIN, "rc %d: %s", rc, etcd_error(wt));
	cr_assert(strstr(etcd_error(wt), "no leader") != NULL, "%s", etcd_error(wt));
	cr_assert_eq(w.created, 1);
	etcd_close(wt);
}

static void
sigstop_member(struct wlog *w)
{
	(void)w;
	sigstop(run3.pid[0]);
}

Test(etcd_watch, progress_notifications_come_and_their_silence_is_a_timeout)
{
	static const char *const flags[] = { "--experimental-watch-progress-notify-interval",
	    "200ms", NULL };
	static struct wlog w;
	struct etcd_watch_params p = { .key = "i", .key_len = 1, .progress_notify = true,
	    .idle_ms = 1500 };
	struct etcd *wt;
	int64_t rev;
	int rc;

	start_n(1, flags);
	wt = open_n(0, 1, 2000);
	cr_assert_eq(etcd_put(wt, KEY("other"), KEY("x"), &rev), 0);
	w.on_progress = sigstop_member;
	w.stop_after_progress = 5;
	rc = etcd_watch(wt, &p, wlog_fn, &w, NULL);
	kill(run3.pid[0], SIGCONT);
	cr_assert_eq(rc, -ETIMEDOUT, "rc %d: %s", rc, etcd_error(wt));
	cr_assert(strstr(etcd_error(wt), "nothing from etcd") != NULL, "%s", etcd_error(wt));
	/* (a sixth may have been read with the fifth, before the member stopped) */
	cr_assert_geq(w.progress, 5, "progress notifications, then none from a stopped member");
	cr_assert_eq(w.progress_rev, rev, "a progress notification says the store's revision");
	cr_assert_eq(etcd_stats(wt)->watch_progress, w.progress);
	cr_assert_eq(etcd_stats(wt)->watch_broken, 1);
	etcd_close(wt);
}

/* lo of this test's own network namespace up or down. */
static int
lo_set(bool up)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

static void
cut_on_created(struct wlog *w)
{
	(void)w;
	cr_assert_eq(lo_set(false), 0);
}

static void *
stop_much_later(void *arg)
{
	atomic_int *stop = arg;

	sleep(30);
	atomic_store(stop, 1);
	return NULL;
}

/*
 * A partition: no FIN, no RST, no byte. In a network namespace of the test's own, lo
 * goes down under the watch: packets are dropped silently both ways. Only TCP keepalive
 * can tell (no progress_notify, no idle_ms): the watch must end, not wait for ever (a
 * flag set after 30 s would end it with 0, failing the test).
 */
Test(etcd_watch, a_partition_without_fin_is_found_by_tcp_keepalive)
{
	static struct wlog w;
	static atomic_int stop;
	struct etcd_watch_params p = { .key = "n", .key_len = 1, .stop = &stop };
	struct etcd *wt;
	pthread_t t;
	int rc;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		cr_skip_test("needs root for a network namespace of its own");
	cr_assert_eq(lo_set(true), 0);
	start_n(1, NULL);
	wt = open_n(0, 1, 2000);
	w.on_created = cut_on_created;
	cr_assert_eq(pthread_create(&t, NULL, stop_much_later, &stop), 0);
	rc = etcd_watch(wt, &p, wlog_fn, &w, NULL);
	cr_assert_eq(rc, -ECONNRESET, "rc %d: %s", rc, etcd_error(wt));
	cr_assert(strstr(etcd_error(wt), "timed out") != NULL, "%s", etcd_error(wt));
	cr_assert_eq(w.created, 1);
	pthread_cancel(t);
	pthread_join(t, NULL);
	etcd_close(wt);
}

/* Big values: a message of the stream over many of libcurl's reads (16 KiB each). */
struct wbig {
	size_t n, sizes[4];
	bool ok[4];
};

static uint8_t
big_byte(size_t i, size_t size)
{
	return (uint8_t)(i * 7 + size);
}

static int
wbig_fn(void *arg, const struct etcd_watch_batch *b)
{
	struct wbig *w = arg;
	size_t i, j;

	for (i = 0; i < b->n && w->n < 4; i++, w->n++) {
		const struct etcd_kv *kv = &b->ev[i].kv;

		w->sizes[w->n] = kv->value_len;
		w->ok[w->n] = true;
		for (j = 0; j < kv->value_len; j++)
			w->ok[w->n] &= kv->value[j] == big_byte(j, kv->value_len);
	}
	return w->n == 3 ? 1 : 0;
}

Test(etcd, watch_reads_messages_over_many_reads_whole_and_bounds_them_by_resp_max)
{
	static const size_t sizes[3] = { 200000, 1, 1000000 };
	const char *ep[1] = { run.endpoint[0] };
	struct etcd_conf conf = { .endpoints = ep, .n_endpoints = 1, .timeout_ms = 5000,
	    .resp_max = 1u << 20 };
	struct etcd_watch_params p = { .key = "big", .key_len = 3 };
	struct wbig w = { 0 };
	struct etcd *small;
	uint8_t *v;
	int64_t rev = 0;
	size_t i, j;

	for (i = 0; i < 3; i++) {
		cr_assert_not_null(v = malloc(sizes[i]));
		for (j = 0; j < sizes[i]; j++)
			v[j] = big_byte(j, sizes[i]);
		cr_assert_eq(etcd_put(e, KEY("big"), v, sizes[i], i == 0 ? &rev : NULL), 0, "%s",
		    etcd_error(e));
		free(v);
	}
	p.start_revision = rev;
	cr_assert_eq(etcd_watch(e, &p, wbig_fn, &w, NULL), 1, "%s", etcd_error(e));
	for (i = 0; i < 3; i++) {
		cr_assert_eq(w.sizes[i], sizes[i], "value %zu", i);
		cr_assert(w.ok[i], "value %zu: bytes differ", i);
	}
	/* The 1 MB value makes a message of 1.33 MB: over a resp_max of 1 MiB. */
	cr_assert_eq(etcd_open(&small, &conf, NULL), 0);
	memset(&w, 0, sizeof(w));
	cr_assert_eq(etcd_watch(small, &p, wbig_fn, &w, NULL), -EFBIG, "%s", etcd_error(small));
	cr_assert_lt(w.n, 3, "the message of the big value never handed out");
	etcd_close(small);
}
