/*
 * fuzz/etcd: etcd's JSON gateway answers, as hostile bytes, to common/etcd_parse.c (the
 * only parser common/etcd.c uses). The first byte picks the parser (low 3 bits: range,
 * put, delete, txn, status, alarms, an error answer, a compaction's object); for a range
 * bits 3-6 are the limit asked (0: none) and bit 7 makes the callback stop at the first
 * kv; for an error the next two bytes are the HTTP status (big-endian); with low bits 7
 * and bit 3 set (0x0f), a watch stream (below). The rest is the body. Checked: no crash
 * or leak (ASan), each answer 0 or one of its documented errors, why "" on success and a
 * string otherwise, outputs zero when refused, and what is accepted is bounded: a page
 * has at most limit and at most count kvs, keys strictly rising, non-empty, revisions
 * positive and ordered, bytes no longer than the body could carry.
 *
 * A watch stream: the next bytes are the start revision (0-255), a seed for cutting the
 * stream into chunks (its top two bits: fn stops at that batch, 0 never) and the bound
 * of a message (32 << (b & 15) bytes); the rest is the stream. It is fed whole, then in
 * chunks: both must hand out the same batches and end the same way (the framing does
 * not depend on where TCP cut the stream), and the batches must keep etcd.h's promises:
 * created first and once, events at or above start, strictly above every event and
 * progress before, non-decreasing in a batch, none above the batch's revision.
 * abort() on any broken invariant.
 */
#include "common/etcd_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define STOP_RC		7

struct seen {
	size_t len, body_len, n, stop_at;
	uint8_t prev[1 << 16];
	size_t prev_len;
};

static struct etcd_parse_buf buf;

static int
seen_kv(void *arg, const struct etcd_kv *kv)
{
	struct seen *s = arg;
	size_t m;
	int c;

	CHECK(kv->key != NULL && kv->key_len > 0 && kv->value != NULL);
	/* base64 makes 3 bytes 4 characters: no decoded field outgrows its text. */
	CHECK(kv->key_len <= s->body_len && kv->value_len <= s->body_len);
	CHECK(kv->create_revision > 0 && kv->create_revision <= kv->mod_revision);
	CHECK(kv->version > 0 && kv->lease >= 0);
	if (s->n > 0) {
		m = kv->key_len < s->prev_len ? kv->key_len : s->prev_len;
		c = memcmp(s->prev, kv->key, m);
		CHECK(c < 0 || (c == 0 && s->prev_len < kv->key_len));
	}
	CHECK(kv->key_len <= sizeof(s->prev));
	memcpy(s->prev, kv->key, kv->key_len);
	s->prev_len = kv->key_len;
	s->n++;
	return s->n == s->stop_at ? STOP_RC : 0;
}

static void
check_why(int rc, const char *why)
{
	CHECK(memchr(why, '\0', ETCD_ERROR_MAX) != NULL);
	CHECK((rc == 0) == (why[0] == '\0'));
}

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return false;
	return true;
}

static void
fuzz_range(const char *body, size_t len, uint8_t sel)
{
	static struct seen s;
	struct etcd_range_result res;
	char why[ETCD_ERROR_MAX];
	int64_t limit = (sel >> 3) & 15;
	int rc;

	s.body_len = len;
	s.n = 0;
	s.stop_at = (sel & 0x80) ? 1 : 0;
	rc = etcd_parse_range(body, len, limit, &buf, seen_kv, &s, &res, why);
	if (rc == STOP_RC) {
		CHECK(s.stop_at == 1 && s.n == 1 && why[0] == '\0');
		return;
	}
	CHECK(rc == 0 || rc == -EBADMSG);
	check_why(rc, why);
	if (rc != 0) {
		CHECK(all_zero(&res, sizeof(res)));
		return;
	}
	CHECK(res.n == s.n && res.revision >= 0 && res.count >= 0);
	CHECK((int64_t)res.n <= res.count && (limit == 0 || (int64_t)res.n <= limit));
}

/* What a watch stream handed out, hashed, and the promises it keeps. */
struct wseen {
	int64_t start, floor;	/* floor: the last event's or progress's revision */
	size_t body_len, batches, stop_at;
	bool created;
	uint64_t hash;
};

static void
hash_in(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0)
		*h = (*h ^ *b++) * 1099511628211ull;
}

static int
seen_batch(void *arg, const struct etcd_watch_batch *b)
{
	struct wseen *w = arg;
	const struct etcd_kv *kv;
	size_t i;

	CHECK(b->created + b->progress + (b->n > 0) == 1);
	CHECK(b->created == !w->created);
	w->created = true;
	if (b->progress) {
		CHECK(b->revision >= w->floor);
		w->floor = b->revision;
	}
	for (i = 0; i < b->n; i++) {
		kv = &b->ev[i].kv;
		CHECK(kv->key != NULL && kv->key_len > 0 && kv->value != NULL);
		CHECK(kv->key_len <= w->body_len && kv->value_len <= w->body_len);
		CHECK(kv->mod_revision > 0 && kv->mod_revision >= w->start);
		CHECK(kv->mod_revision <= b->revision && kv->lease >= 0);
		if (i == 0)
			CHECK(kv->mod_revision > w->floor);
		else
			CHECK(kv->mod_revision >= b->ev[i - 1].kv.mod_revision);
		if (b->ev[i].type == ETCD_EV_DELETE)
			CHECK(kv->create_revision == 0 && kv->version == 0 && kv->value_len == 0);
		else
			CHECK(b->ev[i].type == ETCD_EV_PUT && kv->create_revision > 0 &&
			    kv->create_revision <= kv->mod_revision && kv->version > 0);
		hash_in(&w->hash, &b->ev[i].type, sizeof(b->ev[i].type));
		hash_in(&w->hash, kv->key, kv->key_len);
		hash_in(&w->hash, kv->value, kv->value_len);
		hash_in(&w->hash, &kv->mod_revision, sizeof(kv->mod_revision));
		hash_in(&w->hash, &kv->create_revision, sizeof(kv->create_revision));
		hash_in(&w->hash, &kv->version, sizeof(kv->version));
	}
	if (b->n > 0)
		w->floor = b->ev[b->n - 1].kv.mod_revision;
	hash_in(&w->hash, &b->revision, sizeof(b->revision));
	hash_in(&w->hash, &b->n, sizeof(b->n));
	hash_in(&w->hash, &b->progress, sizeof(b->progress));
	hash_in(&w->hash, &b->created, sizeof(b->created));
	w->batches++;
	return w->batches == w->stop_at ? STOP_RC : 0;
}

/* Feed the stream in chunks (seed 0: whole), end it; the end, w what fn saw. */
static int
watch_run(const char *body, size_t len, int64_t start, size_t max, uint32_t seed,
	  struct wseen *w, struct etcd_stats *st, int64_t *compact, char *why)
{
	struct etcd_watch_stream s;
	char again[ETCD_ERROR_MAX];
	size_t off, n;
	int rc = 0;

	etcd_watch_stream_init(&s, start, max, st);
	for (off = 0; rc == 0 && off < len; off += n) {
		n = len - off;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % (n < 97 ? n : 97);
		}
		rc = etcd_watch_stream_feed(&s, body + off, n, seen_batch, w, why);
		check_why(rc != 0 && !s.fn_stopped, why);
	}
	if (rc == 0)
		rc = etcd_watch_stream_end(&s, seen_batch, w, why);
	CHECK(rc != 0);
	CHECK(s.fn_stopped == (rc == STOP_RC && w->stop_at != 0 && w->batches == w->stop_at));
	check_why(!s.fn_stopped, why);
	/* a second end gives the same */
	CHECK(etcd_watch_stream_end(&s, seen_batch, w, again) == rc);
	*compact = s.compact_revision;
	CHECK(rc == -ESTALE || *compact == 0);
	etcd_watch_stream_free(&s);
	return rc;
}

static void
fuzz_watch(const uint8_t *data, size_t size)
{
	char why1[ETCD_ERROR_MAX], why2[ETCD_ERROR_MAX];
	struct etcd_stats st1 = { 0 }, st2 = { 0 };
	struct wseen w1 = { 0 }, w2 = { 0 };
	int64_t c1, c2;
	size_t max;
	uint8_t seed;
	int rc1, rc2;

	if (size < 3)
		return;
	w1.start = w2.start = data[0];
	seed = data[1];
	w1.stop_at = w2.stop_at = seed >> 6;
	max = (size_t)32 << (data[2] & 15);
	w1.body_len = w2.body_len = size - 3;
	rc1 = watch_run((const char *)data + 3, size - 3, data[0], max, 0, &w1, &st1, &c1, why1);
	rc2 = watch_run((const char *)data + 3, size - 3, data[0], max, seed | 1u, &w2, &st2,
	    &c2, why2);
	CHECK(rc1 == STOP_RC || rc1 == -ESTALE || rc1 == -ERANGE || rc1 == -E2BIG ||
	    rc1 == -EMSGSIZE || rc1 == -ENOSPC || rc1 == -EAGAIN || rc1 == -EINVAL ||
	    rc1 == -ETIMEDOUT || rc1 == -ENOENT || rc1 == -EACCES || rc1 == -EPROTO ||
	    rc1 == -ECONNRESET || rc1 == -EBADMSG || rc1 == -EFBIG);
	CHECK(rc1 == rc2 && c1 == c2 && w1.hash == w2.hash && w1.batches == w2.batches);
	CHECK(strcmp(why1, why2) == 0);
	CHECK(memcmp(&st1, &st2, sizeof(st1)) == 0);
	CHECK(st1.watches <= 1 && st1.watch_progress + st1.watches <= st1.watch_responses);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[ETCD_ERROR_MAX];
	const char *body;
	struct etcd_txn_result txn;
	struct etcd_status st;
	int64_t a, b;
	unsigned alarms;
	long http;
	uint8_t sel;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	sel = data[0];
	body = (const char *)data + 1;
	len = size - 1;
	memset(why, 'x', sizeof(why));
	switch (sel & 7) {
	case 0:
		fuzz_range(body, len, sel);
		break;
	case 1:
		rc = etcd_parse_put(body, len, &a, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		CHECK(rc == 0 ? a > 0 : a == 0);
		break;
	case 2:
		rc = etcd_parse_delete(body, len, &a, &b, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		CHECK(rc == 0 ? a >= 0 && b >= 0 : a == 0 && b == 0);
		break;
	case 3:
		rc = etcd_parse_txn(body, len, &txn, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		CHECK(rc == 0 ? txn.revision >= 0 : all_zero(&txn, sizeof(txn)));
		break;
	case 4:
		rc = etcd_parse_status(body, len, &st, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		if (rc != 0) {
			CHECK(all_zero(&st, sizeof(st)));
			break;
		}
		CHECK(memchr(st.version, '\0', sizeof(st.version)) != NULL && st.alarms == 0);
		CHECK(st.revision >= 0 && st.raft_term >= 0 && st.raft_index >= 0 &&
		    st.db_size >= 0 && st.db_size_in_use >= 0);
		break;
	case 5:
		rc = etcd_parse_alarms(body, len, &alarms, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		CHECK((alarms & ~(ETCD_ALARM_NOSPACE | ETCD_ALARM_CORRUPT)) == 0);
		CHECK(rc == 0 || alarms == 0);
		break;
	case 6:
		if (len < 2)
			return 0;
		http = (long)((uint8_t)body[0]) << 8 | (uint8_t)body[1];
		rc = etcd_parse_error(http, body + 2, len - 2, why);
		CHECK(rc == -ESTALE || rc == -ERANGE || rc == -E2BIG || rc == -EMSGSIZE ||
		    rc == -ENOSPC || rc == -EAGAIN || rc == -EINVAL || rc == -ETIMEDOUT ||
		    rc == -ENOENT || rc == -EACCES || rc == -EPROTO);
		CHECK(memchr(why, '\0', ETCD_ERROR_MAX) != NULL && why[0] != '\0');
		break;
	case 7:
		if (sel & 8) {
			fuzz_watch((const uint8_t *)body, len);
			break;
		}
		rc = etcd_parse_object(body, len, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		break;
	}
	return 0;
}
