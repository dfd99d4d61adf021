/*
 * etcd_parse_test: common/etcd_parse.c, the parser of etcd's gateway answers, fed real
 * answers (captured from etcd 3.4.23, as in fuzz/corpus/etcd/) and malformed ones: each
 * malformed answer is refused with -EBADMSG, its outputs zero, its kvs never handed out
 * past the point where the page went wrong. No network: the bytes are here.
 */
#include "common/etcd_parse.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define HDR	"\"header\":{\"cluster_id\":\"15118495548433857066\"," \
		"\"member_id\":\"13668033151171901709\",\"revision\":\"4\",\"raft_term\":\"2\"}"
/* A kv of key k and value v (base64), revisions 2. */
#define KV(k, v) "{\"key\":\"" k "\",\"create_revision\":\"2\",\"mod_revision\":\"2\"," \
		 "\"version\":\"1\",\"value\":\"" v "\"}"
#define A	"L3AvYQ=="	/* "/p/a" */
#define B	"L3AvYg=="	/* "/p/b" */
#define S(s)	(s), strlen(s)

static struct etcd_parse_buf buf;
static char why[ETCD_ERROR_MAX];

struct got {
	size_t n;
	char keys[4][8];
};

static int
got_kv(void *arg, const struct etcd_kv *kv)
{
	struct got *g = arg;

	if (g->n < 4 && kv->key_len < 8)
		memcpy(g->keys[g->n], kv->key, kv->key_len);
	g->n++;
	return 0;
}

static void
fini(void)
{
	etcd_parse_buf_free(&buf);
}

TestSuite(etcd_parse, .fini = fini);

/* A range answer, limit 0; returns rc, *g the kvs handed out. */
static int
range(const char *body, int64_t limit, struct got *g, struct etcd_range_result *res)
{
	memset(g, 0, sizeof(*g));
	return etcd_parse_range(S(body), limit, &buf, got_kv, g, res, why);
}

static void
assert_range_bad(const char *body, int64_t limit, size_t handed_max)
{
	struct etcd_range_result res;
	struct got g;
	int rc = range(body, limit, &g, &res);

	cr_assert_eq(rc, -EBADMSG, "accepted (rc %d): %s", rc, body);
	cr_assert_neq(why[0], '\0');
	cr_assert_eq(res.n, 0);
	cr_assert_eq(res.revision, 0);
	cr_assert_leq(g.n, handed_max, "%zu kvs handed out of a bad page", g.n);
}

Test(etcd_parse, real_page)
{
	struct etcd_range_result res;
	struct got g;

	cr_assert_eq(range("{" HDR ",\"kvs\":[" KV(A, "dmE=") "," KV(B, "dmI=") "],"
	    "\"more\":true,\"count\":\"3\"}", 2, &g, &res), 0, "%s", why);
	cr_assert_eq(res.n, 2);
	cr_assert_eq(g.n, 2);
	cr_assert_str_eq(g.keys[0], "/p/a");
	cr_assert_str_eq(g.keys[1], "/p/b");
	cr_assert_eq(res.count, 3);
	cr_assert(res.more);
	cr_assert_eq(res.revision, 4);
	cr_assert_eq(why[0], '\0');
	/* an empty range: no kvs, no count */
	cr_assert_eq(range("{" HDR "}", 0, &g, &res), 0, "%s", why);
	cr_assert_eq(res.n + (size_t)res.count + res.more, 0);
}

Test(etcd_parse, key_not_base64)
{
	assert_range_bad("{" HDR ",\"kvs\":[" KV("L3Av!Q==", "") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[" KV("L3AvYQ", "") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "dm E=") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[{\"key\":42,\"create_revision\":\"2\","
	    "\"mod_revision\":\"2\",\"version\":\"1\"}],\"count\":\"1\"}", 0, 0);
}

Test(etcd_parse, base64_not_canonical)
{
	/* "YR==": the unused bits of the last symbol are not zero ("YQ==" is "a"). */
	assert_range_bad("{" HDR ",\"kvs\":[" KV("L3AvYR==", "") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "dmE") "],\"count\":\"1\"}", 0, 0);
}

Test(etcd_parse, int64_negative_or_overflowing)
{
	int64_t rev;

	assert_range_bad("{\"header\":{\"revision\":\"-4\"}}", 0, 0);
	assert_range_bad("{\"header\":{\"revision\":\"9223372036854775808\"}}", 0, 0);
	assert_range_bad("{\"header\":{\"revision\":\"4 \"}}", 0, 0);
	assert_range_bad("{\"header\":{\"revision\":\"+4\"}}", 0, 0);
	assert_range_bad("{" HDR ",\"count\":\"-1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[{\"key\":\"" A "\",\"create_revision\":\"2\","
	    "\"mod_revision\":\"-2\",\"version\":\"1\"}],\"count\":\"1\"}", 0, 0);
	/* created after its last change */
	assert_range_bad("{" HDR ",\"kvs\":[{\"key\":\"" A "\",\"create_revision\":\"3\","
	    "\"mod_revision\":\"2\",\"version\":\"1\"}],\"count\":\"1\"}", 0, 0);
	cr_assert_eq(etcd_parse_put(S("{\"header\":{\"revision\":\"-5\"}}"), &rev, why),
	    -EBADMSG);
	cr_assert_eq(rev, 0);
	cr_assert_eq(etcd_parse_put(S("{\"header\":{\"revision\":\"18446744073709551621\"}}"),
	    &rev, why), -EBADMSG);
	cr_assert_eq(etcd_parse_put(S("{\"header\":{\"revision\":\"5\"}}"), &rev, why), 0);
	cr_assert_eq(rev, 5);
}

Test(etcd_parse, duplicate_json_keys)
{
	struct etcd_txn_result t;

	assert_range_bad("{" HDR ",\"count\":\"1\",\"count\":\"0\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[{\"key\":\"" A "\",\"key\":\"" B "\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}],"
	    "\"count\":\"1\"}", 0, 0);
	cr_assert_eq(etcd_parse_txn(S("{" HDR ",\"succeeded\":false,\"succeeded\":true}"), &t,
	    why), -EBADMSG);
	cr_assert_eq(t.succeeded, false);
}

Test(etcd_parse, keys_out_of_order)
{
	/* falling, and the same key twice: the first kv only reaches the callback */
	assert_range_bad("{" HDR ",\"kvs\":[" KV(B, "") "," KV(A, "") "],\"count\":\"2\"}", 0, 1);
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "") "," KV(A, "") "],\"count\":\"2\"}", 0, 1);
	/* "/p/" is below "/p/a" (a prefix first): accepted; the other way round is not */
	struct etcd_range_result res;
	struct got g;

	cr_assert_eq(range("{" HDR ",\"kvs\":[" KV("L3Av", "") "," KV(A, "") "],"
	    "\"count\":\"2\"}", 0, &g, &res), 0, "%s", why);
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "") "," KV("L3Av", "") "],\"count\":\"2\"}",
	    0, 1);
}

Test(etcd_parse, more_kvs_than_limit_or_count)
{
	const char *two = "{" HDR ",\"kvs\":[" KV(A, "") "," KV(B, "") "],\"count\":\"9\"}";
	struct etcd_range_result res;
	struct got g;

	assert_range_bad(two, 1, 0);
	cr_assert_eq(range(two, 2, &g, &res), 0, "%s", why);
	cr_assert_eq(range(two, 0, &g, &res), 0, "%s", why);
	/* a page of more kvs than the whole range's count */
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "") "," KV(B, "") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":[" KV(A, "") "]}", 0, 0);
}

Test(etcd_parse, missing_header)
{
	struct etcd_txn_result t;
	struct etcd_status st;
	int64_t a, b;

	assert_range_bad("{\"kvs\":[" KV(A, "") "],\"count\":\"1\"}", 0, 0);
	assert_range_bad("{\"header\":[],\"count\":\"0\"}", 0, 0);
	cr_assert_eq(etcd_parse_put(S("{}"), &a, why), -EBADMSG);
	cr_assert_eq(etcd_parse_delete(S("{\"deleted\":\"1\"}"), &a, &b, why), -EBADMSG);
	cr_assert_eq(a + b, 0);
	cr_assert_eq(etcd_parse_txn(S("{\"succeeded\":true}"), &t, why), -EBADMSG);
	cr_assert_eq(t.succeeded, false);
	cr_assert_eq(etcd_parse_status(S("{\"version\":\"3.4.23\"}"), &st, why), -EBADMSG);
	cr_assert_eq(st.version[0], '\0');
}

Test(etcd_parse, huge_count)
{
	assert_range_bad("{" HDR ",\"count\":\"99999999999999999999\"}", 0, 0);
	assert_range_bad("{" HDR ",\"count\":1e300}", 0, 0);
	assert_range_bad("{" HDR ",\"count\":\"0x10\"}", 0, 0);
}

Test(etcd_parse, not_json_or_not_an_object)
{
	assert_range_bad("", 0, 0);
	assert_range_bad("[]", 0, 0);
	assert_range_bad("{" HDR "} trailing", 0, 0);
	assert_range_bad("{" HDR ",\"kvs\":{}}", 0, 0);
	assert_range_bad("{" HDR ",\"more\":\"true\"}", 0, 0);
}

Test(etcd_parse, status_and_alarms)
{
	struct etcd_status st;
	unsigned al;

	cr_assert_eq(etcd_parse_status(S("{" HDR ",\"version\":\"3.4.23\",\"dbSize\":\"24576\","
	    "\"leader\":\"13668033151171901709\",\"raftIndex\":\"4\",\"raftTerm\":\"2\","
	    "\"dbSizeInUse\":\"16384\"}"), &st, why), 0, "%s", why);
	cr_assert_eq(st.leader, 13668033151171901709u);
	cr_assert_str_eq(st.version, "3.4.23");
	cr_assert_eq(st.db_size, 24576);
	cr_assert_eq(etcd_parse_status(S("{" HDR ",\"version\":\"3.4.23-and-a-suffix-of-32-or-more\"}"),
	    &st, why), -EBADMSG);
	cr_assert_eq(etcd_parse_status(S("{" HDR ",\"dbSize\":\"-1\"}"), &st, why), -EBADMSG);
	cr_assert_eq(etcd_parse_status(S("{" HDR ",\"leader\":\"18446744073709551616\"}"), &st,
	    why), -EBADMSG);
	cr_assert_eq(etcd_parse_alarms(S("{" HDR ",\"alarms\":[{\"alarm\":\"NOSPACE\"},"
	    "{\"alarm\":2}]}"), &al, why), 0, "%s", why);
	cr_assert_eq(al, ETCD_ALARM_NOSPACE | ETCD_ALARM_CORRUPT);
	cr_assert_eq(etcd_parse_alarms(S("{" HDR ",\"alarms\":[{\"alarm\":\"NOSPACE\"},"
	    "{\"alarm\":\"FIRE\"}]}"), &al, why), -EBADMSG);
	cr_assert_eq(al, 0);
}

Test(etcd_parse, errors)
{
	cr_assert_eq(etcd_parse_error(400, S("{\"error\":\"etcdserver: mvcc: required revision "
	    "has been compacted\",\"message\":\"etcdserver: mvcc: required revision has been "
	    "compacted\",\"code\":11}"), why), -ESTALE);
	cr_assert(strstr(why, "compacted") != NULL);
	cr_assert_eq(etcd_parse_error(400, S("{\"error\":\"etcdserver: mvcc: required revision "
	    "is a future revision\",\"code\":11}"), why), -ERANGE);
	cr_assert_eq(etcd_parse_error(503, S("{\"error\":\"etcdserver: no leader\",\"code\":14}"),
	    why), -EAGAIN);
	cr_assert_eq(etcd_parse_error(403, S("{\"message\":\"x\",\"code\":\"7\"}"), why), -EACCES);
	cr_assert_eq(etcd_parse_error(500, S("<html>"), why), -EPROTO);
	cr_assert_eq(etcd_parse_error(500, S("{\"error\":\"x\"}"), why), -EPROTO);
	cr_assert_eq(etcd_parse_error(500, S("{\"error\":\"x\",\"code\":\"99999999999999999999\"}"),
	    why), -EPROTO);
	cr_assert_eq(etcd_parse_error(500, S("{\"error\":\"x\",\"code\":2,\"code\":3}"), why),
	    -EPROTO);
	cr_assert_neq(why[0], '\0');
}
