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

int
etcd_parse_error(long http, const char *body, size_t len, char *why)
{
	json_t *o = etcd_load(body, len, why), *msg;
	int64_t code;
	int rc;

	if (o == NULL)
		return etcd_bad(why, -EPROTO, "HTTP %ld: not a JSON object", http);
	msg = json_object_get(o, "error");
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
