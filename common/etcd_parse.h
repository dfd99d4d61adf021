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
 * An answer with an HTTP status other than 200: etcd's {"error","message","code"}, or
 * a stream's {"error":{"grpc_code","message",...}} (a watch refused before it began),
 * mapped to one of etcd.h's errors (-ESTALE, -ERANGE, -E2BIG, -EMSGSIZE, -ENOSPC,
 * -EAGAIN, -EINVAL, -ETIMEDOUT, -ENOENT, -EACCES, -EPROTO), why saying etcd's message.
 * Never 0: a body that is not etcd's error is -EPROTO.
 */
int etcd_parse_error(long http, const char *body, size_t len, char *why);

/* ---- watch ---- */

/* The events of one watch message, with their keys and values. Zero it to start. */
struct etcd_watch_buf {
	struct etcd_event *ev;
	size_t ev_cap;
	uint8_t *bytes;		/* the decoded keys and values, one after the other */
	size_t bytes_cap;
};
void etcd_watch_buf_free(struct etcd_watch_buf *b);

/* One message of a watch stream: {"result":{...}}. */
struct etcd_watch_msg {
	int64_t revision;		/* the header's: > 0 but in a compaction's cancel */
	int64_t watch_id;		/* -1 only in a refused creation */
	int64_t compact_revision;	/* > 0 only when canceled by a compaction */
	bool created, canceled;
	bool progress;			/* none of the above and no event */
	const struct etcd_event *ev;	/* in b; revisions non-decreasing, none above */
	size_t n;			/* the header's revision (when it has one) */
	char cancel_reason[128];	/* etcd's, cut to fit */
};
/*
 * One line of a watch stream, without its newline. 0 for a result (in *m, its events
 * in b until the next parse); for an {"error":{...}} the stream ends with, the error
 * etcd_parse_error would give but -ECONNRESET for a gRPC CANCELED (a member shutting
 * down), why saying etcd's message; -EBADMSG for anything else, -ENOMEM.
 */
int etcd_parse_watch(const char *msg, size_t len, struct etcd_watch_buf *b,
		     struct etcd_watch_msg *m, char *why);

/*
 * A watch stream as it arrives, in chunks cut anywhere: cut into lines (each at most
 * max bytes), each line parsed, checked against what came before (etcd.h's promises:
 * created first, one watch id, events above start and strictly rising from batch to
 * batch, a progress never below an event or progress given), and handed to fn as
 * etcd.h's batches.
 * Pure but for allocation: etcd.c feeds it what libcurl reads, the fuzzer and tests
 * their own bytes.
 */
struct etcd_watch_stream {
	int64_t start;			/* the caller's first revision (0: from now) */
	int64_t ask;			/* the start_revision to ask etcd for (etcd.h) */
	size_t max;			/* bytes of one message, at most */
	struct etcd_stats *st;		/* watches, watch_responses, _events, _progress */
	/* what came so far */
	int rc;				/* the end, once there is one: returned again */
	bool created, fn_stopped;	/* fn_stopped: rc is fn's */
	int64_t watch_id;
	int64_t min_ev;			/* the least revision an event may have now */
	int64_t last;			/* of the last event or progress given, or 0 */
	int64_t compact_revision;	/* with -ESTALE */
	char *line;			/* the start of a line whose end has not come */
	size_t len, cap;
	struct etcd_watch_buf buf;
};
/* start >= 0; max > 0; st may be NULL. Allocates nothing yet. */
void etcd_watch_stream_init(struct etcd_watch_stream *s, int64_t start, size_t max,
			    struct etcd_stats *st);
void etcd_watch_stream_free(struct etcd_watch_stream *s);
/*
 * n more bytes of the stream. 0: go on; else the watch's end, and every later call
 * returns it again: fn's non-zero value (fn_stopped, why ""), -ESTALE (the compaction's
 * revision in compact_revision), -EINVAL or -EACCES (etcd refused the watch), an
 * error etcd ended the stream with (etcd_parse_watch), -EPROTO (canceled otherwise),
 * -EFBIG (a line over max), -EBADMSG, -ENOMEM; why says which (ETCD_ERROR_MAX bytes).
 */
int etcd_watch_stream_feed(struct etcd_watch_stream *s, const char *p, size_t n,
			   etcd_watch_fn fn, void *arg, char *why);
/*
 * The stream ended: a last line without its newline is parsed, then -ECONNRESET
 * (a watch never ends by itself), or the end the stream already had.
 */
int etcd_watch_stream_end(struct etcd_watch_stream *s, etcd_watch_fn fn, void *arg,
			  char *why);

#endif
