/*
 * fuzz/etcd: etcd's JSON gateway answers, as hostile bytes, to common/etcd_parse.c (the
 * only parser common/etcd.c uses). The first byte picks the parser (low 3 bits: range,
 * put, delete, txn, status, alarms, an error answer, a compaction's object); for a range
 * bits 3-6 are the limit asked (0: none) and bit 7 makes the callback stop at the first
 * kv; for an error the next two bytes are the HTTP status (big-endian). The rest is the
 * body. Checked: no crash or leak (ASan), each answer 0 or one of its documented errors,
 * why "" on success and a string otherwise, outputs zero when refused, and what is
 * accepted is bounded: a page has at most limit and at most count kvs, keys strictly
 * rising, non-empty, revisions positive and ordered, bytes no longer than the body could
 * carry. abort() on any broken invariant.
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
		rc = etcd_parse_object(body, len, why);
		CHECK(rc == 0 || rc == -EBADMSG);
		check_why(rc, why);
		break;
	}
	return 0;
}
