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
#include <stdio.h>
#include <string.h>
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
	char *big = calloc(1, ETCD_VALUE_MAX);

	cr_assert_not_null(big);
	cr_assert_eq(etcd_put(e, KEY("big"), big, ETCD_VALUE_MAX - 4096, NULL), 0, "%s",
	    etcd_error(e));
	cr_assert_eq(etcd_put(e, KEY("big"), big, ETCD_VALUE_MAX, NULL), -EMSGSIZE, "%s",
	    etcd_error(e));
	cr_assert_eq(etcd_put(e, KEY("big"), big, ETCD_VALUE_MAX + 1, NULL), -EINVAL);
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
	cr_assert_eq(kill(run.pid[0], SIGSTOP), 0);
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
