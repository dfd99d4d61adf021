/*
 * etcd_parse: the parser of etcd's JSON gateway answers, for common/etcd.c and its fuzzer
 * and tests only (not an interface for other modules: they use etcd.h). Pure functions:
 * a response body (bytes, length) in, the structures etcd.h returns out, no I/O. Every
 * body is hostile: it must be one JSON object without duplicate keys, each field of the
 * type and range the API promises (docs/etcd-client.md), or the answer is -EBADMSG with
 * the reason in why. Nothing is written to the output but zeros unless the answer parsed.
 */
#ifndef COMMON_ETCD_PARSE_H
#define COMMON_ETCD_PARSE_H

#include "common/etcd.h"

/*
 * The decoded keys and values a range hands to its callback: the current key, the one
 * before (to check that keys rise without copying), the current value. Grown as needed;
 * zero it to start, etcd_parse_buf_free to end. A kv's bytes live until the next parse.
 */
struct etcd_parse_buf {
	uint8_t *key, *prev, *value;
	size_t key_cap, prev_cap, value_cap;
};
void etcd_parse_buf_free(struct etcd_parse_buf *b);

/*
 * Each returns 0, -EBADMSG (why says what, never empty) or -ENOMEM; why has
 * ETCD_ERROR_MAX bytes and is "" on success.
 */
/* A JSON object, what etcd answers to a compaction. */
int etcd_parse_object(const char *body, size_t len, char *why);
/* A put: the header's revision, > 0. */
int etcd_parse_put(const char *body, size_t len, int64_t *revision, char *why);
int etcd_parse_delete(const char *body, size_t len, int64_t *deleted, int64_t *revision,
		      char *why);
/*
 * A range page, asked with limit (0: none): each kv to fn (may be NULL) in key order;
 * refused unless the keys strictly rise, there are at most limit of them and at most
 * count. fn's non-zero return stops the parse and is returned, why left "".
 */
int etcd_parse_range(const char *body, size_t len, int64_t limit, struct etcd_parse_buf *b,
		     etcd_kv_fn fn, void *arg, struct etcd_range_result *res, char *why);
int etcd_parse_txn(const char *body, size_t len, struct etcd_txn_result *res, char *why);
/* /v3/maintenance/status; st->alarms is left 0 (etcd_parse_alarms fills it). */
int etcd_parse_status(const char *body, size_t len, struct etcd_status *st, char *why);
/* /v3/maintenance/alarm with action GET: ETCD_ALARM_* raised. */
int etcd_parse_alarms(const char *body, size_t len, unsigned *alarms, char *why);
/*
 * An answer with an HTTP status other than 200: etcd's {"error","message","code"}
 * mapped to one of etcd.h's errors (-ESTALE, -ERANGE, -E2BIG, -EMSGSIZE, -ENOSPC,
 * -EAGAIN, -EINVAL, -ETIMEDOUT, -ENOENT, -EACCES, -EPROTO), why saying etcd's message.
 * Never 0: a body that is not etcd's error is -EPROTO.
 */
int etcd_parse_error(long http, const char *body, size_t len, char *why);

#endif
