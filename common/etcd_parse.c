/*
 * etcd_parse: etcd's JSON gateway answers to etcd.h's structures (see etcd_parse.h).
 * The only parser of those answers: etcd.c calls it on what libcurl received, the fuzzer
 * and tests on bytes of their own. Invariant: an answer returns 0 only when every field
 * it has is of the type and range the API promises (integers as strict decimal strings,
 * canonical base64, revisions positive and ordered, a page's keys strictly rising).
 */
#include "common/etcd_parse.h"
#include "common/base64.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
etcd_bad(char *why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Say why (never ""), and return rc. */
static int
etcd_bad(char *why, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, ETCD_ERROR_MAX, fmt, ap);
	va_end(ap);
	if (why[0] == '\0')
		snprintf(why, ETCD_ERROR_MAX, "?");
	return rc;
}

void
etcd_parse_buf_free(struct etcd_parse_buf *b)
{
	free(b->key);
	free(b->prev);
	free(b->value);
	memset(b, 0, sizeof(*b));
}

/* body as one JSON object, duplicate keys refused; NULL and why when it is not one. */
static json_t *
etcd_load(const char *body, size_t len, char *why)
{
	json_error_t jerr;
	json_t *o;

	why[0] = '\0';
	o = json_loadb(len ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		etcd_bad(why, -EBADMSG, "not JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		etcd_bad(why, -EBADMSG, "not a JSON object");
		return NULL;
	}
	return o;
}

/* ---- errors: etcd's gRPC status (code and message) to an errno ---- */

/* gRPC status codes the gateway puts in "code" (google.golang.org/grpc/codes). */
enum {
	GRPC_CANCELED = 1,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

/*
 * etcd's messages (etcdserver/api/v3rpc/rpctypes) say more than its codes: compaction
 * and a future revision are both OUT_OF_RANGE, too many ops and too large a request
 * both INVALID_ARGUMENT, yet the caller acts differently on each.
 */
static int
etcd_grpc_errno(int64_t code, const char *msg)
{
	static const struct {
		const char *text;
		int rc;
	} by_msg[] = {
		{ "required revision has been compacted", -ESTALE },
		{ "required revision is a future revision", -ERANGE },
		{ "too many operations in txn request", -E2BIG },
		{ "request is too large", -EMSGSIZE },
		{ "database space exceeded", -ENOSPC },
		{ "no leader", -EAGAIN },
		{ "leader changed", -EAGAIN },
		{ "too many requests", -EAGAIN },
	};
	size_t i;

	for (i = 0; i < sizeof(by_msg) / sizeof(by_msg[0]); i++)
		if (strstr(msg, by_msg[i].text) != NULL)
			return by_msg[i].rc;
	switch (code) {
	case GRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case GRPC_NOT_FOUND:
		return -ENOENT;
	case GRPC_PERMISSION_DENIED:
	case GRPC_UNAUTHENTICATED:
		return -EACCES;
	case GRPC_RESOURCE_EXHAUSTED:
	case GRPC_UNAVAILABLE:
		return -EAGAIN;
	case GRPC_OUT_OF_RANGE:
		return -ERANGE;
	default:
		return -EPROTO;
	}
}

/* ---- JSON fields as the gateway writes them ---- */

/* "123" or 123 (a gateway may write either), strictly; a missing value (NULL) is 0. */
static int
etcd_json_i64v(json_t *v, int64_t *out)
{
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EBADMSG;
	s = json_string_value(v);
	if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
		return -EBADMSG;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || (size_t)(end - s) != json_string_length(v))
		return -EBADMSG;
	*out = x;
	return 0;
}

static int
etcd_json_i64(json_t *obj, const char *name, int64_t *out)
{
	return etcd_json_i64v(json_object_get(obj, name), out);
}

/* Member and cluster ids are uint64, above INT64_MAX half the time. */
static int
etcd_json_u64(json_t *obj, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	char *end;
	unsigned long long x;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EBADMSG;
	s = json_string_value(v);
	if (s[0] < '0' || s[0] > '9')
		return -EBADMSG;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || (size_t)(end - s) != json_string_length(v))
		return -EBADMSG;
	*out = x;
	return 0;
}

static int
etcd_json_bool(json_t *obj, const char *name, bool *out)
{
	json_t *v = json_object_get(obj, name);

	*out = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return -EBADMSG;
	*out = json_is_true(v);
	return 0;
}

/* Decode base64 field name into *buf (grown as needed); missing: 0 bytes. */
static int
etcd_json_bytes(json_t *obj, const char *name, uint8_t **buf, size_t *cap, size_t *len)
{
	json_t *v = json_object_get(obj, name);
	size_t need;
	uint8_t *q;
	long n;

	*len = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -EBADMSG;
	need = base64_decoded_max(json_string_length(v)) + 1;
	if (need > *cap) {
		if ((q = realloc(*buf, need)) == NULL)
			return -ENOMEM;
		*buf = q;
		*cap = need;
	}
	n = base64_decode(json_string_value(v), json_string_length(v), *buf, *cap);
	if (n < 0)
		return -EBADMSG;
	*len = (size_t)n;
	return 0;
}

/* The response header's revision: every answer carries one. */
static int
etcd_json_revision(json_t *resp, int64_t *rev)
{
	json_t *h = json_object_get(resp, "header");

	*rev = 0;
	if (h == NULL || !json_is_object(h))
		return -EBADMSG;
	if (etcd_json_i64(h, "revision", rev) != 0 || *rev < 0)
		return -EBADMSG;
	return 0;
}

/* One element of "kvs", decoded into b's current key and value. */
static int
etcd_json_kv(struct etcd_parse_buf *b, json_t *o, struct etcd_kv *kv)
{
	int rc;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -EBADMSG;
	if ((rc = etcd_json_bytes(o, "key", &b->key, &b->key_cap, &kv->key_len)) != 0 ||
	    (rc = etcd_json_bytes(o, "value", &b->value, &b->value_cap, &kv->value_len)) != 0)
		return rc;
	if (kv->key_len == 0)
		return -EBADMSG;	/* etcd has no empty key */
	kv->key = b->key;
	kv->value = kv->value_len ? b->value : (const uint8_t *)"";
	if (etcd_json_i64(o, "create_revision", &kv->create_revision) != 0 ||
	    etcd_json_i64(o, "mod_revision", &kv->mod_revision) != 0 ||
	    etcd_json_i64(o, "version", &kv->version) != 0 ||
	    etcd_json_i64(o, "lease", &kv->lease) != 0)
		return -EBADMSG;
	if (kv->mod_revision <= 0 || kv->create_revision <= 0 || kv->version <= 0 ||
	    kv->create_revision > kv->mod_revision || kv->lease < 0)
		return -EBADMSG;
	return 0;
}

/* a < b as byte strings (a prefix is below what extends it). */
static bool
etcd_key_below(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c < 0 || (c == 0 && alen < blen);
}

/* ---- the answers ---- */

int
etcd_parse_object(const char *body, size_t len, char *why)
{
	json_t *o = etcd_load(body, len, why);

	if (o == NULL)
		return -EBADMSG;
	json_decref(o);
	return 0;
}

int
etcd_parse_put(const char *body, size_t len, int64_t *revision, char *why)
{
	json_t *o = etcd_load(body, len, why);
	int rc;

	*revision = 0;
	if (o == NULL)
		return -EBADMSG;
	rc = etcd_json_revision(o, revision);
	json_decref(o);
	if (rc != 0 || *revision <= 0) {
		*revision = 0;
		return etcd_bad(why, -EBADMSG, "no revision in the answer");
	}
	return 0;
}

int
etcd_parse_delete(const char *body, size_t len, int64_t *deleted, int64_t *revision,
		  char *why)
{
	json_t *o = etcd_load(body, len, why);
	int bad;

	*deleted = 0;
	*revision = 0;
	if (o == NULL)
		return -EBADMSG;
	bad = etcd_json_revision(o, revision) != 0 || etcd_json_i64(o, "deleted", deleted) != 0 ||
	    *deleted < 0;
	json_decref(o);
	if (bad) {
		*deleted = 0;
		*revision = 0;
		return etcd_bad(why, -EBADMSG, "a header or deleted that is not one");
	}
	return 0;
}

int
etcd_parse_range(const char *body, size_t len, int64_t limit, struct etcd_parse_buf *b,
		 etcd_kv_fn fn, void *arg, struct etcd_range_result *res, char *why)
{
	json_t *o = etcd_load(body, len, why), *kvs, *kvo;
	struct etcd_kv kv;
	uint8_t *t;
	size_t i, prev_len = 0, tc;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (o == NULL)
		return -EBADMSG;
	if (etcd_json_revision(o, &res->revision) != 0 ||
	    etcd_json_i64(o, "count", &res->count) != 0 || res->count < 0 ||
	    etcd_json_bool(o, "more", &res->more) != 0) {
		rc = etcd_bad(why, -EBADMSG, "a header, count or more that is not one");
		goto out;
	}
	kvs = json_object_get(o, "kvs");
	if (kvs != NULL && !json_is_array(kvs)) {
		rc = etcd_bad(why, -EBADMSG, "kvs is not an array");
		goto out;
	}
	/* Checked before any kv is given: a hostile page must not reach fn at all. */
	if (kvs != NULL && ((limit > 0 && json_array_size(kvs) > (uint64_t)limit) ||
	    json_array_size(kvs) > (uint64_t)res->count)) {
		rc = etcd_bad(why, -EBADMSG, "%zu keys past a limit of %" PRId64 " or a count "
		    "of %" PRId64, json_array_size(kvs), limit, res->count);
		goto out;
	}
	json_array_foreach(kvs, i, kvo) {
		if ((rc = etcd_json_kv(b, kvo, &kv)) != 0) {
			rc = etcd_bad(why, rc, "kvs[%zu] is not a key-value", i);
			goto out;
		}
		if (i > 0 && !etcd_key_below(b->prev, prev_len, kv.key, kv.key_len)) {
			rc = etcd_bad(why, -EBADMSG, "kvs[%zu]: keys out of order", i);
			goto out;
		}
		res->n++;
		if (fn != NULL && (rc = fn(arg, &kv)) != 0)
			goto out;
		/* This key becomes the previous one: swap buffers, no copy. */
		t = b->prev, b->prev = b->key, b->key = t;
		tc = b->prev_cap, b->prev_cap = b->key_cap, b->key_cap = tc;
		prev_len = kv.key_len;
	}
out:
	json_decref(o);
	if (rc != 0 && why[0] != '\0')
		memset(res, 0, sizeof(*res));
	return rc;
}

int
etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *res, char *why)
{
	json_t *o = etcd_load(body, len, why);
	int bad;

	memset(res, 0, sizeof(*res));
	if (o == NULL)
		return -EBADMSG;
	bad = etcd_json_revision(o, &res->revision) != 0 ||
	    etcd_json_bool(o, "succeeded", &res->succeeded) != 0;
	json_decref(o);
	if (bad) {
		memset(res, 0, sizeof(*res));
		return etcd_bad(why, -EBADMSG, "a header or succeeded that is not one");
	}
	return 0;
}

/* The status message's fields are camelCase in 3.4's gateway (dbSize), snake elsewhere. */
static json_t *
etcd_json_either(json_t *o, const char *camel, const char *snake)
{
	json_t *v = json_object_get(o, camel);

	return v != NULL ? v : json_object_get(o, snake);
}

static int
etcd_status_fields(json_t *resp, struct etcd_status *st)
{
	json_t *h = json_object_get(resp, "header"), *v;
	struct {
		const char *camel, *snake;
		int64_t *out;
	} ints[] = {
		{ "raftTerm", "raft_term", &st->raft_term },
		{ "raftIndex", "raft_index", &st->raft_index },
		{ "dbSize", "db_size", &st->db_size },
		{ "dbSizeInUse", "db_size_in_use", &st->db_size_in_use },
	};
	size_t i;
	int rc = 0;

	if (!json_is_object(h) || etcd_json_i64(h, "revision", &st->revision) != 0 ||
	    st->revision < 0 || etcd_json_u64(h, "cluster_id", &st->cluster_id) != 0 ||
	    etcd_json_u64(h, "member_id", &st->member_id) != 0 ||
	    etcd_json_u64(resp, "leader", &st->leader) != 0)
		return -EBADMSG;
	for (i = 0; rc == 0 && i < sizeof(ints) / sizeof(ints[0]); i++) {
		v = etcd_json_either(resp, ints[i].camel, ints[i].snake);
		rc = etcd_json_i64v(v, ints[i].out) != 0 || *ints[i].out < 0;
	}
	if (rc != 0)
		return -EBADMSG;
	v = json_object_get(resp, "version");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) >= sizeof(st->version)))
		return -EBADMSG;
	if (v != NULL)
		memcpy(st->version, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
etcd_parse_status(const char *body, size_t len, struct etcd_status *st, char *why)
{
	json_t *o = etcd_load(body, len, why);
	int rc;

	memset(st, 0, sizeof(*st));
	if (o == NULL)
		return -EBADMSG;
	rc = etcd_status_fields(o, st);
	json_decref(o);
	if (rc != 0) {
		memset(st, 0, sizeof(*st));
		return etcd_bad(why, rc, "a field that is not one");
	}
	return 0;
}

int
etcd_parse_alarms(const char *body, size_t len, unsigned *alarms, char *why)
{
	json_t *resp = etcd_load(body, len, why), *a, *o, *v;
	size_t i;
	int rc = 0;

	*alarms = 0;
	if (resp == NULL)
		return -EBADMSG;
	a = json_object_get(resp, "alarms");
	if (a != NULL && !json_is_array(a))
		rc = -EBADMSG;
	json_array_foreach(a, i, o) {
		if (rc != 0)
			break;
		if (!json_is_object(o)) {
			rc = -EBADMSG;
			break;
		}
		v = json_object_get(o, "alarm");
		/* An enum: its name, or its number (NONE 0, NOSPACE 1, CORRUPT 2). */
		if (v == NULL || (json_is_string(v) && strcmp(json_string_value(v), "NONE") == 0))
			continue;
		if ((json_is_string(v) && strcmp(json_string_value(v), "NOSPACE") == 0) ||
		    (json_is_integer(v) && json_integer_value(v) == 1))
			*alarms |= ETCD_ALARM_NOSPACE;
		else if ((json_is_string(v) && strcmp(json_string_value(v), "CORRUPT") == 0) ||
		    (json_is_integer(v) && json_integer_value(v) == 2))
			*alarms |= ETCD_ALARM_CORRUPT;
		else if (!json_is_integer(v) || json_integer_value(v) != 0)
			rc = -EBADMSG;
	}
	json_decref(resp);
	if (rc != 0) {
		*alarms = 0;
		return etcd_bad(why, rc, "an alarm that is not one");
	}
	return 0;
}

/*
 * A stream's error, {"grpc_code","http_code","message","http_status"}: grpc-gateway
 * ends a stream with it (HTTP 200 already sent), or answers it alone with the HTTP
 * status when the call failed before its first message. A CANCELED ends a watch when
 * its member shuts down: reset, when reset says so, the connection is as good as lost.
 */
static int
etcd_stream_error(json_t *err, bool reset, long http, char *why)
{
	json_t *msg = json_object_get(err, "message");
	int64_t code;
	int rc;

	if (!json_is_string(msg) || json_object_get(err, "grpc_code") == NULL ||
	    etcd_json_i64(err, "grpc_code", &code) != 0)
		return etcd_bad(why, -EPROTO, "HTTP %ld: an error without a message and a code",
		    http);
	rc = etcd_grpc_errno(code, json_string_value(msg));
	if (reset && code == GRPC_CANCELED && rc == -EPROTO)
		rc = -ECONNRESET;
	return etcd_bad(why, rc, "%s (HTTP %ld, gRPC code %" PRId64 ")",
	    json_string_value(msg), http, code);
}

int
etcd_parse_error(long http, const char *body, size_t len, char *why)
{
	json_t *o = etcd_load(body, len, why), *msg;
	int64_t code;
	int rc;

	if (o == NULL)
		return etcd_bad(why, -EPROTO, "HTTP %ld: not a JSON object", http);
	msg = json_object_get(o, "error");
	if (json_is_object(msg)) {
		rc = etcd_stream_error(msg, false, http, why);
		json_decref(o);
		return rc;
	}
	if (!json_is_string(msg))
		msg = json_object_get(o, "message");
	if (!json_is_string(msg) || etcd_json_i64(o, "code", &code) != 0) {
		json_decref(o);
		return etcd_bad(why, -EPROTO, "HTTP %ld without an error and a code", http);
	}
	rc = etcd_grpc_errno(code, json_string_value(msg));
	etcd_bad(why, rc, "%s (HTTP %ld, code %" PRId64 ")", json_string_value(msg), http, code);
	json_decref(o);
	return rc;
}

/* ---- watch: one message ---- */

void
etcd_watch_buf_free(struct etcd_watch_buf *b)
{
	free(b->ev);
	free(b->bytes);
	memset(b, 0, sizeof(*b));
}

/* An enum as grpc-gateway may write it: its name, or its number. */
static bool
etcd_json_enum(json_t *v, const char *name, json_int_t number)
{
	return (json_is_string(v) && strcmp(json_string_value(v), name) == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == number);
}

/*
 * Decode base64 field name of o into b->bytes at *off. Room was made for the whole
 * message: a field's bytes are fewer than its characters, and fields do not overlap.
 */
static int
etcd_json_bytes_at(json_t *o, const char *name, struct etcd_watch_buf *b, size_t *off,
		   const uint8_t **p, size_t *len)
{
	json_t *v = json_object_get(o, name);
	long n;

	*p = (const uint8_t *)"";
	*len = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -EBADMSG;
	n = base64_decode(json_string_value(v), json_string_length(v), b->bytes + *off,
	    b->bytes_cap - *off);
	if (n < 0)
		return -EBADMSG;
	*p = b->bytes + *off;
	*len = (size_t)n;
	*off += (size_t)n;
	return 0;
}

/*
 * One event: {"type":"DELETE"|"PUT"|omitted,"kv":{...}}. A PUT's kv is checked as a
 * range's, and its version is 1 exactly when it was created at this revision; a
 * DELETE's kv is a tombstone: a key and the delete's revision, nothing else.
 */
static int
etcd_json_event(json_t *o, struct etcd_watch_buf *b, size_t *off, struct etcd_event *ev)
{
	struct etcd_kv *kv = &ev->kv;
	json_t *t, *kvo;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(o))
		return -EBADMSG;
	t = json_object_get(o, "type");
	if (t == NULL || etcd_json_enum(t, "PUT", 0))
		ev->type = ETCD_EV_PUT;
	else if (etcd_json_enum(t, "DELETE", 1))
		ev->type = ETCD_EV_DELETE;
	else
		return -EBADMSG;
	kvo = json_object_get(o, "kv");
	if (!json_is_object(kvo) ||
	    etcd_json_bytes_at(kvo, "key", b, off, &kv->key, &kv->key_len) != 0 ||
	    etcd_json_bytes_at(kvo, "value", b, off, &kv->value, &kv->value_len) != 0 ||
	    etcd_json_i64(kvo, "create_revision", &kv->create_revision) != 0 ||
	    etcd_json_i64(kvo, "mod_revision", &kv->mod_revision) != 0 ||
	    etcd_json_i64(kvo, "version", &kv->version) != 0 ||
	    etcd_json_i64(kvo, "lease", &kv->lease) != 0)
		return -EBADMSG;
	if (kv->key_len == 0 || kv->mod_revision <= 0)
		return -EBADMSG;
	if (ev->type == ETCD_EV_DELETE)
		return kv->create_revision == 0 && kv->version == 0 && kv->lease == 0 &&
		    kv->value_len == 0 ? 0 : -EBADMSG;
	if (kv->create_revision <= 0 || kv->version <= 0 || kv->lease < 0 ||
	    kv->create_revision > kv->mod_revision ||
	    (kv->version == 1) != (kv->create_revision == kv->mod_revision))
		return -EBADMSG;
	return 0;
}

/* Room for n events and the decoded bytes of a message of len bytes. */
static int
etcd_watch_buf_room(struct etcd_watch_buf *b, size_t n, size_t len)
{
	void *q;

	if (n > b->ev_cap) {
		if (n > SIZE_MAX / sizeof(*b->ev))
			return -ENOMEM;
		if ((q = realloc(b->ev, n * sizeof(*b->ev))) == NULL)
			return -ENOMEM;
		b->ev = q;
		b->ev_cap = n;
	}
	if (len + 1 > b->bytes_cap) {
		if (len == SIZE_MAX || (q = realloc(b->bytes, len + 1)) == NULL)
			return -ENOMEM;
		b->bytes = q;
		b->bytes_cap = len + 1;
	}
	return 0;
}

static int
etcd_watch_result(json_t *r, size_t len, struct etcd_watch_buf *b, struct etcd_watch_msg *m,
		  char *why)
{
	json_t *h = json_object_get(r, "header"), *evs, *v;
	bool fragment;
	size_t i, n, off = 0;
	int rc;

	if (!json_is_object(h) || etcd_json_i64(h, "revision", &m->revision) != 0 ||
	    m->revision < 0)
		return etcd_bad(why, -EBADMSG, "a header that is not one");
	if (etcd_json_i64(r, "watch_id", &m->watch_id) != 0 || m->watch_id < -1 ||
	    etcd_json_bool(r, "created", &m->created) != 0 ||
	    etcd_json_bool(r, "canceled", &m->canceled) != 0 ||
	    etcd_json_bool(r, "fragment", &fragment) != 0 ||
	    etcd_json_i64(r, "compact_revision", &m->compact_revision) != 0 ||
	    m->compact_revision < 0)
		return etcd_bad(why, -EBADMSG, "a watch_id, created, canceled, fragment or "
		    "compact_revision that is not one");
	v = json_object_get(r, "cancel_reason");
	if (v != NULL && (!json_is_string(v) || !m->canceled))
		return etcd_bad(why, -EBADMSG, "a cancel_reason that is not one");
	if (v != NULL)
		snprintf(m->cancel_reason, sizeof(m->cancel_reason), "%s", json_string_value(v));
	/* Asked for by a client that can put a message back together; this one does not. */
	if (fragment)
		return etcd_bad(why, -EBADMSG, "a fragment, never asked for");
	if (m->compact_revision > 0 && !m->canceled)
		return etcd_bad(why, -EBADMSG, "a compact_revision, not canceled");
	if (m->watch_id == -1 && !(m->created && m->canceled))
		return etcd_bad(why, -EBADMSG, "watch_id -1 in a watch that was created");
	/* etcd leaves the revision out of a compaction's cancel alone. */
	if (m->revision == 0 && !m->canceled)
		return etcd_bad(why, -EBADMSG, "no revision in the header");
	evs = json_object_get(r, "events");
	if (evs != NULL && !json_is_array(evs))
		return etcd_bad(why, -EBADMSG, "events is not an array");
	n = json_array_size(evs);
	if (n > 0 && (m->created || m->canceled))
		return etcd_bad(why, -EBADMSG, "events with created or canceled");
	if (n > 0 && (rc = etcd_watch_buf_room(b, n, len)) != 0)
		return etcd_bad(why, rc, "out of memory");
	json_array_foreach(evs, i, v) {
		if (etcd_json_event(v, b, &off, &b->ev[i]) != 0)
			return etcd_bad(why, -EBADMSG, "events[%zu] is not an event", i);
		if (i > 0 && b->ev[i].kv.mod_revision < b->ev[i - 1].kv.mod_revision)
			return etcd_bad(why, -EBADMSG, "events[%zu]: revisions fall", i);
		if (b->ev[i].kv.mod_revision > m->revision)
			return etcd_bad(why, -EBADMSG, "events[%zu] at revision %" PRId64
			    ", after the header's %" PRId64, i, b->ev[i].kv.mod_revision,
			    m->revision);
	}
	m->ev = n > 0 ? b->ev : NULL;
	m->n = n;
	m->progress = !m->created && !m->canceled && n == 0;
	return 0;
}

int
etcd_parse_watch(const char *msg, size_t len, struct etcd_watch_buf *b,
		 struct etcd_watch_msg *m, char *why)
{
	json_t *o = etcd_load(msg, len, why), *r, *err;
	int rc;

	memset(m, 0, sizeof(*m));
	if (o == NULL)
		return -EBADMSG;
	r = json_object_get(o, "result");
	err = json_object_get(o, "error");
	if ((r == NULL) == (err == NULL))
		rc = etcd_bad(why, -EBADMSG, "not one result or error");
	else if (err != NULL && !json_is_object(err))
		rc = etcd_bad(why, -EBADMSG, "an error that is not an object");
	else if (err != NULL)
		rc = etcd_stream_error(err, true, 200, why);
	else if (!json_is_object(r))
		rc = etcd_bad(why, -EBADMSG, "a result that is not an object");
	else
		rc = etcd_watch_result(r, len, b, m, why);
	json_decref(o);
	if (rc != 0)
		memset(m, 0, sizeof(*m));
	return rc;
}

/* ---- watch: the stream ---- */

void
etcd_watch_stream_init(struct etcd_watch_stream *s, int64_t start, size_t max,
		       struct etcd_stats *st)
{
	memset(s, 0, sizeof(*s));
	s->start = start;
	/* One revision early: see etcd.h (a compaction at start itself must be refused). */
	s->ask = start > 1 ? start - 1 : start;
	s->min_ev = s->ask;
	s->max = max;
	s->st = st;
}

void
etcd_watch_stream_free(struct etcd_watch_stream *s)
{
	free(s->line);
	etcd_watch_buf_free(&s->buf);
	s->line = NULL;
	s->len = s->cap = 0;
}

static int
etcd_watch_call(struct etcd_watch_stream *s, etcd_watch_fn fn, void *arg,
		const struct etcd_watch_batch *bt, char *why)
{
	int rc = fn != NULL ? fn(arg, bt) : 0;

	if (rc != 0) {
		s->fn_stopped = true;
		why[0] = '\0';
	}
	return rc;
}

/* A message after the one that made the watch, against what came before it. */
static int
etcd_watch_stream_next(struct etcd_watch_stream *s, const struct etcd_watch_msg *m,
		       etcd_watch_fn fn, void *arg, char *why)
{
	struct etcd_watch_batch bt = { .revision = m->revision };
	size_t i0 = 0;

	if (m->created)
		return etcd_bad(why, -EBADMSG, "created twice");
	if (m->watch_id != s->watch_id)
		return etcd_bad(why, -EBADMSG, "watch %" PRId64 " in the stream of watch %"
		    PRId64, m->watch_id, s->watch_id);
	if (m->canceled && m->compact_revision > 0) {
		s->compact_revision = m->compact_revision;
		return etcd_bad(why, -ESTALE, "history before revision %" PRId64 " is compacted",
		    m->compact_revision);
	}
	if (m->canceled)
		return etcd_bad(why, -EPROTO, "etcd canceled the watch: %s",
		    m->cancel_reason[0] ? m->cancel_reason : "no reason given");
	if (m->progress) {
		if (m->revision < s->last)
			return etcd_bad(why, -EBADMSG, "progress at revision %" PRId64 " after an "
			    "event or progress at %" PRId64, m->revision, s->last);
		s->last = m->revision;
		if (m->revision >= s->min_ev)
			s->min_ev = m->revision + 1;
		if (s->st != NULL)
			s->st->watch_progress++;
		bt.progress = true;
		return etcd_watch_call(s, fn, arg, &bt, why);
	}
	/* The revision before start, asked for only to learn whether start is compacted. */
	while (i0 < m->n && s->ask < s->start && s->min_ev <= s->ask &&
	    m->ev[i0].kv.mod_revision == s->ask)
		i0++;
	if (i0 > 0)
		s->min_ev = s->ask + 1;
	if (i0 == m->n)
		return 0;
	/* Strictly above the last batch: a revision split across two batches is refused. */
	if (m->ev[i0].kv.mod_revision < s->min_ev)
		return etcd_bad(why, -EBADMSG, "an event at revision %" PRId64 ", below %" PRId64,
		    m->ev[i0].kv.mod_revision, s->min_ev);
	s->last = m->ev[m->n - 1].kv.mod_revision;
	s->min_ev = s->last + 1;
	if (s->st != NULL)
		s->st->watch_events += m->n - i0;
	bt.ev = m->ev + i0;
	bt.n = m->n - i0;
	return etcd_watch_call(s, fn, arg, &bt, why);
}

static int
etcd_watch_stream_line(struct etcd_watch_stream *s, const char *line, size_t len,
		       etcd_watch_fn fn, void *arg, char *why)
{
	struct etcd_watch_batch bt = { 0 };
	struct etcd_watch_msg m;
	int rc;

	if (len == 0)
		return 0;
	if ((rc = etcd_parse_watch(line, len, &s->buf, &m, why)) != 0)
		return rc;
	if (s->st != NULL)
		s->st->watch_responses++;
	if (s->created)
		return etcd_watch_stream_next(s, &m, fn, arg, why);
	if (!m.created)
		return etcd_bad(why, -EBADMSG, "a message before the watch was created");
	if (m.canceled)
		return etcd_bad(why, strstr(m.cancel_reason, "permission denied") != NULL ?
		    -EACCES : -EINVAL, "etcd refused the watch: %s",
		    m.cancel_reason[0] ? m.cancel_reason : "no reason given");
	s->created = true;
	s->watch_id = m.watch_id;
	/* From now: the watch starts after the revision etcd read when making it. */
	if (s->start == 0)
		s->min_ev = m.revision + 1;
	if (s->st != NULL)
		s->st->watches++;
	bt.revision = m.revision;
	bt.created = true;
	return etcd_watch_call(s, fn, arg, &bt, why);
}

static int
etcd_watch_stream_append(struct etcd_watch_stream *s, const char *p, size_t n)
{
	size_t c;
	char *q;

	if (s->len + n > s->cap) {
		c = s->cap ? s->cap : 4096;
		while (c < s->len + n)
			c = c > SIZE_MAX / 2 ? SIZE_MAX : c * 2;
		if ((q = realloc(s->line, c)) == NULL)
			return -ENOMEM;
		s->line = q;
		s->cap = c;
	}
	memcpy(s->line + s->len, p, n);
	s->len += n;
	return 0;
}

/* The end the stream already had, again. */
static int
etcd_watch_stream_again(const struct etcd_watch_stream *s, char *why)
{
	if (s->fn_stopped)
		why[0] = '\0';
	else
		etcd_bad(why, s->rc, "the watch has ended already");
	return s->rc;
}

int
etcd_watch_stream_feed(struct etcd_watch_stream *s, const char *p, size_t n,
		       etcd_watch_fn fn, void *arg, char *why)
{
	const char *nl;
	size_t take;
	int rc = 0;

	why[0] = '\0';
	if (s->rc != 0)
		return etcd_watch_stream_again(s, why);
	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl != NULL ? (size_t)(nl - p) : n;
		if (take > s->max - s->len) {
			rc = etcd_bad(why, -EFBIG, "a message over %zu bytes", s->max);
			break;
		}
		if (nl != NULL && s->len == 0) {
			/* A whole line in this chunk: parsed where it is. */
			rc = etcd_watch_stream_line(s, p, take, fn, arg, why);
		} else {
			if (etcd_watch_stream_append(s, p, take) != 0) {
				rc = etcd_bad(why, -ENOMEM, "out of memory");
				break;
			}
			if (nl == NULL)
				break;
			rc = etcd_watch_stream_line(s, s->line, s->len, fn, arg, why);
			s->len = 0;
		}
		if (rc != 0)
			break;
		p += take + 1;
		n -= take + 1;
	}
	s->rc = rc;
	return rc;
}

int
etcd_watch_stream_end(struct etcd_watch_stream *s, etcd_watch_fn fn, void *arg, char *why)
{
	int rc = 0;

	why[0] = '\0';
	if (s->rc != 0)
		return etcd_watch_stream_again(s, why);
	/* grpc-gateway writes the error that ends a stream without a newline after it. */
	if (s->len > 0) {
		rc = etcd_watch_stream_line(s, s->line, s->len, fn, arg, why);
		s->len = 0;
	}
	if (rc == 0)
		rc = etcd_bad(why, -ECONNRESET, "%s", s->created ?
		    "etcd ended the watch's stream" :
		    "etcd ended the stream before the watch was made");
	s->rc = rc;
	return rc;
}
