/*
 * etcd_parse_test: common/etcd_parse.c, the parser of etcd's gateway answers, fed real
 * answers (captured from etcd 3.4.23, as in fuzz/corpus/etcd/) and malformed ones: each
 * malformed answer is refused with -EBADMSG, its outputs zero, its kvs never handed out
 * past the point where the page went wrong. No network: the bytes are here.
 */
#include "common/etcd_parse.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
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

static struct etcd_watch_buf wbuf;

static void
fini(void)
{
	etcd_parse_buf_free(&buf);
	etcd_watch_buf_free(&wbuf);
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

/* ---- watch ---- */

/*
 * A real stream, etcd 3.4.23 (as fuzz/corpus/etcd/watch-*): a watch of /p/ asked from
 * revision 2 (etcd_watch's start 3) with progress_notify; revisions 2-3 put /p/a and
 * /p/b, 4 deletes /p/a, 5 is a txn (put /p/c "", put /p/d "x", delete /p/b), replayed in
 * one message; 6 puts /p/a live; two progress notifications; the member is stopped.
 */
#define WHDR(rev) "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":" \
		  "\"13668033151171901709\",\"revision\":\"" rev "\",\"raft_term\":\"2\"}"
#define W_CREATED	"{\"result\":{" WHDR("5") ",\"created\":true}}"
#define W_REPLAY	"{\"result\":{" WHDR("5") ",\"events\":[" \
	"{\"kv\":{\"key\":\"L3AvYQ==\",\"create_revision\":\"2\",\"mod_revision\":\"2\"," \
	"\"version\":\"1\",\"value\":\"MQ==\"}}," \
	"{\"kv\":{\"key\":\"L3AvYg==\",\"create_revision\":\"3\",\"mod_revision\":\"3\"," \
	"\"version\":\"1\",\"value\":\"Mg==\"}}," \
	"{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3AvYQ==\",\"mod_revision\":\"4\"}}," \
	"{\"kv\":{\"key\":\"L3AvYw==\",\"create_revision\":\"5\",\"mod_revision\":\"5\"," \
	"\"version\":\"1\"}}," \
	"{\"kv\":{\"key\":\"L3AvZA==\",\"create_revision\":\"5\",\"mod_revision\":\"5\"," \
	"\"version\":\"1\",\"value\":\"eA==\"}}," \
	"{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3AvYg==\",\"mod_revision\":\"5\"}}]}}"
#define W_LIVE		"{\"result\":{" WHDR("6") ",\"events\":[" \
	"{\"kv\":{\"key\":\"L3AvYQ==\",\"create_revision\":\"6\",\"mod_revision\":\"6\"," \
	"\"version\":\"1\",\"value\":\"Mw==\"}}]}}"
#define W_PROGRESS	"{\"result\":{" WHDR("6") "}}"
#define W_CLOSING	"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":" \
	"\"transport is closing\",\"http_status\":\"Service Unavailable\"}}"
#define W_STREAM	W_CREATED "\n" W_REPLAY "\n" W_LIVE "\n" W_PROGRESS "\n" W_PROGRESS "\n" \
			W_CLOSING
/* Other real messages: a start below the compaction, a range etcd found empty. */
#define W_COMPACTED	"{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"raft_term\":\"2\"},\"canceled\":true," \
	"\"compact_revision\":\"4\"}}"
#define W_EMPTY		"{\"result\":{" WHDR("6") ",\"watch_id\":\"-1\",\"created\":true," \
	"\"canceled\":true,\"cancel_reason\":\"mvcc: watcher range is empty\"}}"
#define W_NOLEADER	"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":" \
	"\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}"

static int
watch_msg(const char *msg, struct etcd_watch_msg *m)
{
	return etcd_parse_watch(S(msg), &wbuf, m, why);
}

static void
assert_event(const struct etcd_event *ev, enum etcd_ev_type type, const char *key,
	     const char *value, int64_t create, int64_t mod, int64_t version)
{
	cr_assert_eq(ev->type, type, "%s", key);
	cr_assert_eq(ev->kv.key_len, strlen(key));
	cr_assert_eq(memcmp(ev->kv.key, key, strlen(key)), 0, "%s", key);
	cr_assert_eq(ev->kv.value_len, strlen(value), "%s", key);
	cr_assert_eq(memcmp(ev->kv.value, value, strlen(value)), 0, "%s", key);
	cr_assert_eq(ev->kv.create_revision, create, "%s", key);
	cr_assert_eq(ev->kv.mod_revision, mod, "%s", key);
	cr_assert_eq(ev->kv.version, version, "%s", key);
	cr_assert_eq(ev->kv.lease, 0);
}

Test(etcd_parse, watch_message_of_events_puts_and_deletes)
{
	struct etcd_watch_msg m;

	cr_assert_eq(watch_msg(W_REPLAY, &m), 0, "%s", why);
	cr_assert_eq(m.n, 6);
	cr_assert_eq(m.revision, 5);
	cr_assert_not(m.progress || m.created || m.canceled);
	assert_event(&m.ev[0], ETCD_EV_PUT, "/p/a", "1", 2, 2, 1);
	assert_event(&m.ev[1], ETCD_EV_PUT, "/p/b", "2", 3, 3, 1);
	assert_event(&m.ev[2], ETCD_EV_DELETE, "/p/a", "", 0, 4, 0);
	assert_event(&m.ev[3], ETCD_EV_PUT, "/p/c", "", 5, 5, 1);
	assert_event(&m.ev[4], ETCD_EV_PUT, "/p/d", "x", 5, 5, 1);
	assert_event(&m.ev[5], ETCD_EV_DELETE, "/p/b", "", 0, 5, 0);
	/* "type":"PUT" spelt out, or as the enum's number, is a PUT too */
	cr_assert_eq(watch_msg("{\"result\":{" WHDR("7") ",\"events\":[{\"type\":\"PUT\",\"kv\":"
	    "{\"key\":\"eA==\",\"create_revision\":\"2\",\"mod_revision\":\"7\","
	    "\"version\":\"3\"}},"
	    "{\"type\":1,\"kv\":{\"key\":\"eQ==\",\"mod_revision\":\"7\"}}]}}", &m), 0, "%s", why);
	cr_assert_eq(m.ev[0].type, ETCD_EV_PUT);
	cr_assert_eq(m.ev[1].type, ETCD_EV_DELETE);
}

Test(etcd_parse, watch_messages_created_progress_canceled_and_errors)
{
	struct etcd_watch_msg m;

	cr_assert_eq(watch_msg(W_CREATED, &m), 0, "%s", why);
	cr_assert(m.created);
	cr_assert_eq(m.revision, 5);
	cr_assert_eq(m.watch_id, 0, "watch_id 0 is left out");
	cr_assert_not(m.progress);
	cr_assert_eq(watch_msg(W_PROGRESS, &m), 0, "%s", why);
	cr_assert(m.progress);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(m.revision, 6);
	/* A compaction's cancel has no revision in its header. */
	cr_assert_eq(watch_msg(W_COMPACTED, &m), 0, "%s", why);
	cr_assert(m.canceled);
	cr_assert_eq(m.compact_revision, 4);
	cr_assert_eq(m.revision, 0);
	cr_assert_eq(watch_msg(W_EMPTY, &m), 0, "%s", why);
	cr_assert(m.created && m.canceled);
	cr_assert_eq(m.watch_id, -1);
	cr_assert_str_eq(m.cancel_reason, "mvcc: watcher range is empty");
	/* The error a stream ends with: a member going away is a reset, no leader EAGAIN. */
	cr_assert_eq(watch_msg("{\"error\":{\"grpc_code\":1,\"http_code\":408,\"message\":\"grpc: "
	    "the client connection is closing\",\"http_status\":\"Request Timeout\"}}", &m),
	    -ECONNRESET);
	cr_assert(strstr(why, "closing") != NULL, "%s", why);
	cr_assert_eq(watch_msg(W_NOLEADER, &m), -EAGAIN);
	cr_assert_eq(watch_msg(W_CLOSING, &m), -EAGAIN);
	cr_assert_eq(watch_msg("{\"error\":{\"http_code\":503}}", &m), -EPROTO);
	/* The same error alone with its HTTP status: a watch refused before it began. */
	cr_assert_eq(etcd_parse_error(503, S(W_NOLEADER), why), -EAGAIN);
	cr_assert(strstr(why, "no leader") != NULL, "%s", why);
}

/* A result of revision 5 with fields x; one event of kv {k}; a delete's. */
#define R5(x)	"{\"result\":{" WHDR("5") x "}}"
#define EV5(k)	R5(",\"events\":[{\"kv\":{\"key\":\"eA==\"," k "}}]")
#define DEL5(k)	R5(",\"events\":[{\"type\":\"DELETE\",\"kv\":{" k "}}]")

Test(etcd_parse, watch_messages_etcd_never_sends_are_ebadmsg)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		W_CREATED "x",
		"{\"result\":{" WHDR("5") "},\"error\":{\"grpc_code\":1,\"message\":\"x\"}}",
		"{\"result\":[]}",
		"{\"error\":\"no leader\"}",
		/* no header, no revision, a negative one */
		"{\"result\":{\"created\":true}}",
		"{\"result\":{\"header\":{},\"created\":true}}",
		"{\"result\":{" WHDR("-5") ",\"created\":true}}",
		R5(",\"created\":\"true\""),
		R5(",\"created\":true,\"created\":true"),
		R5(",\"watch_id\":\"-2\""),
		R5(",\"watch_id\":\"-1\",\"created\":true"),
		/* a compaction or a reason, not canceled */
		R5(",\"compact_revision\":\"4\""),
		R5(",\"canceled\":true,\"compact_revision\":\"-4\""),
		R5(",\"cancel_reason\":\"x\""),
		R5(",\"canceled\":true,\"cancel_reason\":7"),
		R5(",\"fragment\":true"),
		R5(",\"events\":{}"),
		/* events with created, or in a cancel */
		R5(",\"created\":true,\"events\":[{\"kv\":{\"key\":\"eA==\",\"create_revision\":"
		    "\"5\",\"mod_revision\":\"5\",\"version\":\"1\"}}]"),
		R5(",\"canceled\":true,\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\","
		    "\"mod_revision\":\"5\"}}]"),
		/* an event after the header's revision */
		EV5("\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\""),
		/* revisions falling within a message */
		R5(",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\",\"mod_revision\":"
		    "\"5\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"eQ==\","
		    "\"mod_revision\":\"4\"}}]"),
		/* a type that is not one */
		R5(",\"events\":[{\"type\":\"PATCH\",\"kv\":{\"key\":\"eA==\",\"mod_revision\":"
		    "\"5\"}}]"),
		R5(",\"events\":[{\"type\":2,\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"5\"}}]"),
		/* no kv, no key, an empty key, a key not canonical base64 */
		R5(",\"events\":[{\"type\":\"DELETE\"}]"),
		DEL5("\"mod_revision\":\"5\""),
		DEL5("\"key\":\"\",\"mod_revision\":\"5\""),
		DEL5("\"key\":\"eR==\",\"mod_revision\":\"5\""),
		/* a delete with what a tombstone does not have: a value, a version, a lease */
		DEL5("\"key\":\"eA==\",\"mod_revision\":\"5\",\"value\":\"eA==\""),
		DEL5("\"key\":\"eA==\",\"mod_revision\":\"5\",\"version\":\"1\""),
		DEL5("\"key\":\"eA==\",\"mod_revision\":\"5\",\"lease\":\"9\""),
		/* a delete without its revision */
		DEL5("\"key\":\"eA==\""),
		/* a put at version 1 that was not created then, a created key at version 2 */
		EV5("\"create_revision\":\"3\",\"mod_revision\":\"5\",\"version\":\"1\""),
		EV5("\"create_revision\":\"5\",\"mod_revision\":\"5\",\"version\":\"2\""),
		/* created after its last change, a revision too large */
		EV5("\"create_revision\":\"5\",\"mod_revision\":\"4\",\"version\":\"1\""),
		EV5("\"create_revision\":\"2\",\"mod_revision\":\"9223372036854775808\","
		    "\"version\":\"2\""),
	};
	struct etcd_watch_msg m;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&m, 0x55, sizeof(m));
		rc = watch_msg(bad[i], &m);
		cr_assert_eq(rc, -EBADMSG, "bad[%zu] (rc %d): %s", i, rc, bad[i]);
		cr_assert_neq(why[0], '\0');
		cr_assert_eq(m.n + (size_t)m.revision + m.created + m.canceled, 0,
		    "bad[%zu]: outputs not zero", i);
	}
}
#undef R5
#undef EV5
#undef DEL5

/* What a stream handed out: its batches, printed, and how it ended. */
struct wgot {
	char text[4096];
	size_t len, batches;
	size_t stop_at;		/* fn returns 99 at this batch (1-based), 0: never */
};

static int
wgot_batch(void *arg, const struct etcd_watch_batch *b)
{
	struct wgot *g = arg;
	size_t i;

	g->len += (size_t)snprintf(g->text + g->len, sizeof(g->text) - g->len, "%s%s@%lld:",
	    b->created ? "C" : "", b->progress ? "P" : "", (long long)b->revision);
	for (i = 0; i < b->n; i++)
		g->len += (size_t)snprintf(g->text + g->len, sizeof(g->text) - g->len,
		    " %c%.*s=%.*s/%lld", b->ev[i].type == ETCD_EV_PUT ? '+' : '-',
		    (int)b->ev[i].kv.key_len, (const char *)b->ev[i].kv.key,
		    (int)b->ev[i].kv.value_len, (const char *)b->ev[i].kv.value,
		    (long long)b->ev[i].kv.mod_revision);
	g->len += (size_t)snprintf(g->text + g->len, sizeof(g->text) - g->len, "\n");
	cr_assert_lt(g->len, sizeof(g->text) - 1);
	g->batches++;
	return g->batches == g->stop_at ? 99 : 0;
}

/*
 * Feed body to a stream of start and max in chunks of size chunk (0: whole), then end
 * it unless the feed ended it; returns the end, g what fn saw.
 */
static int
wfeed(const char *body, size_t len, int64_t start, size_t max, size_t chunk, struct wgot *g,
      struct etcd_watch_stream *s)
{
	size_t stop_at = g->stop_at, off, n;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->stop_at = stop_at;
	etcd_watch_stream_init(s, start, max, NULL);
	for (off = 0; rc == 0 && off < len; off += n) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		rc = etcd_watch_stream_feed(s, body + off, n, wgot_batch, g, why);
	}
	if (rc == 0)
		rc = etcd_watch_stream_end(s, wgot_batch, g, why);
	return rc;
}

/* The whole of W_STREAM as etcd_watch hands it out, asked from 3 (etcd asked for 2). */
#define W_STREAM_GOT \
	"C@5:\n" \
	"@5: +/p/b=2/3 -/p/a=/4 +/p/c=/5 +/p/d=x/5 -/p/b=/5\n" \
	"@6: +/p/a=3/6\n" \
	"P@6:\n" \
	"P@6:\n"

Test(etcd_parse, watch_stream_gives_the_same_batches_however_it_is_cut)
{
	static const char body[] = W_STREAM;
	struct etcd_watch_stream s;
	struct wgot g = { 0 }, whole;
	size_t len = sizeof(body) - 1, cut, chunk;
	int rc;

	rc = wfeed(body, len, 3, 4096, 0, &whole, &s);
	etcd_watch_stream_free(&s);
	cr_assert_eq(rc, -EAGAIN, "the stream ends with etcd's error: %d %s", rc, why);
	cr_assert_str_eq(whole.text, W_STREAM_GOT);
	/* Two chunks, cut at every byte; then chunks of every size. */
	for (cut = 0; cut <= len; cut++) {
		etcd_watch_stream_init(&s, 3, 4096, NULL);
		memset(&g, 0, sizeof(g));
		rc = etcd_watch_stream_feed(&s, body, cut, wgot_batch, &g, why);
		if (rc == 0)
			rc = etcd_watch_stream_feed(&s, body + cut, len - cut, wgot_batch, &g,
			    why);
		if (rc == 0)
			rc = etcd_watch_stream_end(&s, wgot_batch, &g, why);
		etcd_watch_stream_free(&s);
		cr_assert_eq(rc, -EAGAIN, "cut at %zu: %d %s", cut, rc, why);
		cr_assert_str_eq(g.text, whole.text, "cut at %zu", cut);
	}
	for (chunk = 1; chunk <= len; chunk++) {
		rc = wfeed(body, len, 3, 4096, chunk, &g, &s);
		etcd_watch_stream_free(&s);
		cr_assert_eq(rc, -EAGAIN, "chunks of %zu: %d %s", chunk, rc, why);
		cr_assert_str_eq(g.text, whole.text, "chunks of %zu", chunk);
	}
}

Test(etcd_parse, watch_stream_drops_the_revision_before_start_and_nothing_else)
{
	static const char body[] = W_STREAM;
	struct etcd_watch_stream s;
	struct wgot g = { 0 };

	/* From 3, etcd is asked for 2: revision 2 (the put of /p/a) is not handed out. */
	etcd_watch_stream_init(&s, 3, 4096, NULL);
	cr_assert_eq(s.ask, 2);
	etcd_watch_stream_init(&s, 1, 4096, NULL);
	cr_assert_eq(s.ask, 1, "no revision before 1");
	etcd_watch_stream_init(&s, 0, 4096, NULL);
	cr_assert_eq(s.ask, 0);
	/* Asked from 2 (start 3) but started from 2: all of revision 2 handed out. */
	cr_assert_eq(wfeed(body, sizeof(body) - 1, 2, 4096, 0, &g, &s), -EAGAIN);
	etcd_watch_stream_free(&s);
	cr_assert(strncmp(g.text, "C@5:\n@5: +/p/a=1/2 +/p/b=2/3", 26) == 0, "%s", g.text);
	/* From 4, etcd asked for 3: an event at 2 is below what was asked. */
	cr_assert_eq(wfeed(body, sizeof(body) - 1, 4, 4096, 0, &g, &s), -EBADMSG);
	etcd_watch_stream_free(&s);
	cr_assert_str_eq(g.text, "C@5:\n");
	cr_assert(strstr(why, "below") != NULL, "%s", why);
}

Test(etcd_parse, watch_stream_refuses_what_breaks_etcds_promises)
{
#define EV(rev) "{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"" rev "\"}}"
#define EVS(hdr, evs) "{\"result\":{" WHDR(hdr) ",\"events\":[" evs "]}}\n"
	static const struct {
		const char *body, *got;
	} bad[] = {
		/* an event before the watch is made */
		{ EVS("5", EV("5")), "" },
		/* made twice */
		{ W_CREATED "\n" W_CREATED "\n", "C@5:\n" },
		/* another watch's event */
		{ W_CREATED "\n{\"result\":{" WHDR("5") ",\"watch_id\":\"1\",\"events\":[" EV("5")
		  "]}}\n", "C@5:\n" },
		/* a revision split across two messages */
		{ W_CREATED "\n" EVS("5", EV("4") "," EV("5")) EVS("5", EV("5")),
		  "C@5:\n@5: -x=/4 -x=/5\n" },
		/* an event again, or below the last */
		{ W_CREATED "\n" EVS("5", EV("5")) EVS("6", EV("4")), "C@5:\n@5: -x=/5\n" },
		/* a progress below an event given */
		{ W_CREATED "\n" EVS("5", EV("5")) "{\"result\":{" WHDR("4") "}}\n",
		  "C@5:\n@5: -x=/5\n" },
		/* a progress below a progress */
		{ W_CREATED "\n{\"result\":{" WHDR("6") "}}\n{\"result\":{" WHDR("5") "}}\n",
		  "C@5:\nP@6:\n" },
		/* an event at or below a progress */
		{ W_CREATED "\n{\"result\":{" WHDR("6") "}}\n" EVS("6", EV("6")), "C@5:\nP@6:\n" },
		/* below start (3; asked 2) */
		{ W_CREATED "\n" EVS("5", EV("1")), "C@5:\n" },
	};
	struct etcd_watch_stream s;
	struct wgot g = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = wfeed(bad[i].body, strlen(bad[i].body), 3, 4096, 0, &g, &s);
		etcd_watch_stream_free(&s);
		cr_assert_eq(rc, -EBADMSG, "bad[%zu] (rc %d, %s): %s", i, rc, why, bad[i].body);
		cr_assert_str_eq(g.text, bad[i].got, "bad[%zu]", i);
	}
	/* From now (0): events after the revision the watch was made at. */
	rc = wfeed(W_CREATED "\n" EVS("5", EV("5")), strlen(W_CREATED "\n" EVS("5", EV("5"))),
	    0, 4096, 0, &g, &s);
	etcd_watch_stream_free(&s);
	cr_assert_eq(rc, -EBADMSG, "%s", why);
	/* A progress below start is no promise broken: a watch from the future. */
	rc = wfeed(W_CREATED "\n{\"result\":{" WHDR("5") "}}\n" EVS("9", EV("9")),
	    strlen(W_CREATED "\n{\"result\":{" WHDR("5") "}}\n" EVS("9", EV("9"))), 9, 4096, 0,
	    &g, &s);
	etcd_watch_stream_free(&s);
	cr_assert_eq(rc, -ECONNRESET, "%s", why);
	cr_assert_str_eq(g.text, "C@5:\nP@5:\n@9: -x=/9\n");
#undef EV
#undef EVS
}

Test(etcd_parse, watch_stream_ends_compacted_refused_cut_or_stopped)
{
	struct etcd_watch_stream s;
	struct wgot g = { 0 };
	const char *b;
	int rc;

	b = W_CREATED "\n" W_COMPACTED "\n" W_PROGRESS "\n";
	cr_assert_eq(wfeed(b, strlen(b), 2, 4096, 0, &g, &s), -ESTALE, "%s", why);
	cr_assert_eq(s.compact_revision, 4);
	cr_assert_str_eq(g.text, "C@5:\n", "nothing after the cancel");
	etcd_watch_stream_free(&s);
	b = W_EMPTY "\n";
	cr_assert_eq(wfeed(b, strlen(b), 2, 4096, 0, &g, &s), -EINVAL, "%s", why);
	cr_assert(strstr(why, "watcher range is empty") != NULL, "%s", why);
	cr_assert_eq(g.batches, 0);
	etcd_watch_stream_free(&s);
	b = "{\"result\":{" WHDR("6") ",\"watch_id\":\"-1\",\"created\":true,\"canceled\":true,"
	    "\"cancel_reason\":\"etcdserver: permission denied\"}}";
	cr_assert_eq(wfeed(b, strlen(b), 2, 4096, 0, &g, &s), -EACCES, "%s", why);
	etcd_watch_stream_free(&s);
	/* Ended by etcd without a word (the last line without its newline is read). */
	b = W_CREATED "\n" W_LIVE;
	cr_assert_eq(wfeed(b, strlen(b), 6, 4096, 0, &g, &s), -ECONNRESET, "%s", why);
	cr_assert_str_eq(g.text, "C@5:\n@6: +/p/a=3/6\n");
	etcd_watch_stream_free(&s);
	b = W_CREATED "\n";
	cr_assert_eq(wfeed(b, strlen(b), 6, 4096, 0, &g, &s), -ECONNRESET, "%s", why);
	etcd_watch_stream_free(&s);
	/* fn's value stops it, why "", and it stays stopped. */
	g.stop_at = 2;
	b = W_STREAM;
	rc = wfeed(b, strlen(b), 3, 4096, 0, &g, &s);
	cr_assert_eq(rc, 99);
	cr_assert(s.fn_stopped);
	cr_assert_str_eq(why, "");
	cr_assert_eq(g.batches, 2);
	cr_assert_eq(etcd_watch_stream_feed(&s, S(W_PROGRESS "\n"), wgot_batch, &g, why), 99);
	cr_assert_eq(g.batches, 2, "nothing handed out once stopped");
	etcd_watch_stream_free(&s);
}

Test(etcd_parse, watch_stream_line_over_max_is_efbig_however_it_is_cut)
{
	static const char body[] = W_STREAM;
	struct etcd_watch_stream s;
	struct wgot g = { 0 };
	size_t chunk;
	int rc;

	/* W_REPLAY is the longest line: 627 bytes. */
	cr_assert_eq(strlen(W_REPLAY), 627);
	for (chunk = 0; chunk < 700; chunk += 7) {
		rc = wfeed(body, sizeof(body) - 1, 3, 626, chunk, &g, &s);
		etcd_watch_stream_free(&s);
		cr_assert_eq(rc, -EFBIG, "chunks of %zu: %d", chunk, rc);
		cr_assert_str_eq(g.text, "C@5:\n");
		rc = wfeed(body, sizeof(body) - 1, 3, 627, chunk, &g, &s);
		etcd_watch_stream_free(&s);
		cr_assert_eq(rc, -EAGAIN, "chunks of %zu: %d", chunk, rc);
	}
}
