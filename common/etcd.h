/*
 * etcd: a small synchronous client of etcd v3 (3.4) through its JSON gateway (gRPC
 * gateway: POST /v3/<service>/<method>, a JSON body, a JSON answer), over libcurl.
 * Meant for the controller's store (issue 13), which calls it from a thread of its own:
 *
 *   EVERY CALL BLOCKS until etcd answered, or failed, or the handle's timeout passed on
 *   each endpoint it tried (so at most n_endpoints x timeout_ms); etcd_watch until the
 *   watch ends. A handle is one connection at a time and is not thread-safe: one handle
 *   per thread (a watch's thread has its own).
 *
 * Endpoints: a list of base URLs ("http://127.0.0.1:2379", "https://10.0.0.1:2379"). A
 * call goes to the endpoint that last answered; when it cannot be reached (refused,
 * unreachable, no connection within the timeout) the call moves to the next one and
 * stays there. A read (range, status) also moves on when an endpoint timed out after
 * taking the request or answered "unavailable" (no leader); a write never does, since
 * the first endpoint may have committed it: the caller gets -ETIMEDOUT/-EAGAIN and
 * decides (a CAS txn re-read tells it which).
 *
 * What the gateway does to JSON, and this module undoes (docs/etcd-client.md has more):
 *   - keys and values are protobuf `bytes`: base64 (standard alphabet, padded) in JSON;
 *     here they are byte strings with a length, zero bytes allowed;
 *   - 64-bit integers (revisions, versions, ids) are JSON strings ("revision":"42");
 *   - fields at their default value are omitted: no "kvs" for an empty range, no
 *     "succeeded" for a failed txn, no "value" for an empty value; a missing field is 0,
 *     false or empty here;
 *   - 3.4 serves /v3/ (and the older /v3beta/); 3.3 had /v3beta/ and /v3alpha/ only.
 *     This client speaks /v3/ only: etcd 3.4 or later.
 *   - etcd's limits: a request of at most 1.5 MiB (--max-request-bytes), at most 128
 *     operations a txn (--max-txn-ops), a 2 GiB quota before the NOSPACE alarm.
 *   - /v3/watch answers with a stream: one JSON object a line ({"result":{...}}), for
 *     as long as the connection lasts; etcd_watch below reads it.
 *   - errors are HTTP 4xx/5xx with {"error","message","code"} (a gRPC code); see the
 *     errors below.
 *
 * Responses are treated as hostile: a body larger than the handle's resp_max is cut off
 * (-EFBIG), JSON that does not parse, has a field of the wrong type, an integer out of
 * range or base64 that is not canonical is -EBADMSG with the reason in etcd_error().
 *
 * Errors, as negative errno (etcd_error() says what happened, with the endpoint):
 *   -ETIMEDOUT      no answer within timeout_ms (a stopped member, a partition)
 *   -ECONNREFUSED   no endpoint could be reached (the last one's reason in etcd_error)
 *   -ENOENT         etcd_get: no such key
 *   -ESTALE         the revision asked for has been compacted: take a snapshot instead
 *   -ERANGE         the revision asked for is in the future
 *   -E2BIG          too many operations in one txn (--max-txn-ops, 128 by default)
 *   -EMSGSIZE       request too large (--max-request-bytes, 1.5 MiB by default)
 *   -ENOSPC         the NOSPACE alarm is raised (quota, 2 GiB by default): etcd takes
 *                   no write until compaction, defragmentation and an alarm disarm
 *   -EAGAIN         etcd is unavailable (no leader, leader changed): try again later
 *   -EACCES         authentication or permission refused
 *   -EINVAL         an argument this module or etcd refused
 *   -EBADMSG        a response that is not what the API promises
 *   -EFBIG          a response larger than resp_max
 *   -EPROTO         any other error etcd or the transport reported (see etcd_error)
 *   -ECONNRESET     etcd_watch: the stream was cut once the watch was made (a member
 *                   killed, a partition found by TCP keepalive, a member shutting down)
 *   -ENOMEM
 */
#ifndef COMMON_ETCD_H
#define COMMON_ETCD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_ENDPOINTS_MAX	16
#define ETCD_ENDPOINT_MAX	256		/* characters of one base URL */
/* A key's bytes: etcd has no limit of its own but the request's; ours are short. */
#define ETCD_KEY_MAX		4096
/*
 * A value's bytes: what the largest request we build (64 MiB of JSON) holds in base64.
 * etcd's own bound is its --max-request-bytes (1.5 MiB by default: -EMSGSIZE); the
 * controller's log value, which says a whole import batch's writes, takes more.
 */
#define ETCD_VALUE_MAX		(48u << 20)
/* Compares, or operations, in one txn: a bound on what we build, etcd's own is lower. */
#define ETCD_TXN_MAX		65536
#define ETCD_RESP_MAX_DEFAULT	(64u << 20)
#define ETCD_ERROR_MAX		256

struct etcd;	/* opaque: the curl handle, buffers, the current endpoint */

struct etcd_conf {
	const char *const *endpoints;	/* base URLs, http:// or https:// */
	unsigned n_endpoints;		/* 1..ETCD_ENDPOINTS_MAX */
	unsigned timeout_ms;		/* each request on each endpoint, connect included; >0 */
	size_t resp_max;		/* largest response body read; 0: ETCD_RESP_MAX_DEFAULT */
	/* TLS, all optional: the CA that signs the members, our certificate and key. */
	const char *ca_file, *cert_file, *key_file;
};

/* What this handle did; the controller's counters will read them (counters.h). */
struct etcd_stats {
	uint64_t requests;	/* requests sent (each endpoint tried counts) */
	uint64_t failovers;	/* moves to the next endpoint */
	uint64_t timeouts;
	uint64_t errors;	/* calls that returned an error, timeouts included */
	uint64_t compacted;	/* -ESTALE answers */
	uint64_t nospace;	/* -ENOSPC answers */
	uint64_t watches;		/* watches etcd made (etcd_watch calls that got going) */
	uint64_t watch_responses;	/* messages read on watch streams, created included */
	uint64_t watch_events;		/* events handed to watch callbacks */
	uint64_t watch_progress;	/* progress notifications handed to watch callbacks */
	uint64_t watch_broken;		/* watches that ended on an error once created: each
					   is a restart for the caller */
};

/* One key-value as etcd holds it. The bytes belong to the handle until its next call. */
struct etcd_kv {
	const uint8_t *key, *value;
	size_t key_len, value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/*
 * Open a handle on conf (copied: conf's strings may go). Nothing is sent yet. 0, or
 * -EINVAL for a bad conf (why in *why when why is not NULL), -ENOMEM.
 */
int etcd_open(struct etcd **ep, const struct etcd_conf *conf, char why[ETCD_ERROR_MAX]);
void etcd_close(struct etcd *e);
/* Why the last call failed: endpoint and etcd's own message. Valid until the next call. */
const char *etcd_error(const struct etcd *e);
const struct etcd_stats *etcd_stats(const struct etcd *e);
/* The endpoint the next call goes to first. */
const char *etcd_endpoint(const struct etcd *e);

/*
 * The end of the range of every key that begins with prefix ([prefix, end)): the prefix
 * with its last byte below 0xff incremented and what follows dropped; "\0" (every key
 * from prefix on) when each byte is 0xff or the prefix is empty. Writes at most plen
 * bytes (1 for "\0") to end and returns how many.
 */
size_t etcd_prefix_end(const void *prefix, size_t plen, uint8_t *end);

/* Put one key; *revision (may be NULL) is the revision of the write. */
int etcd_put(struct etcd *e, const void *key, size_t key_len, const void *value,
	     size_t value_len, int64_t *revision);
/*
 * Get one key (linearizable). 0 and *kv, -ENOENT when absent; *revision (may be NULL) is
 * the store's revision when read, either way.
 */
int etcd_get(struct etcd *e, const void *key, size_t key_len, struct etcd_kv *kv,
	     int64_t *revision);
/*
 * Delete key, or [key, end) when end_len > 0 (end "\0": every key from key on).
 * *deleted and *revision may be NULL.
 */
int etcd_delete(struct etcd *e, const void *key, size_t key_len, const void *end,
		size_t end_len, int64_t *deleted, int64_t *revision);

/*
 * A range [key, end) read at one revision. end_len 0: key alone. revision 0: the
 * current one, else that revision (-ESTALE when compacted, -ERANGE when in the future).
 * limit 0: no limit (beware: one response; see etcd_range_all to page).
 */
struct etcd_range {
	const void *key, *end;
	size_t key_len, end_len;
	int64_t revision;
	int64_t limit;
	bool keys_only;		/* no values: a listing */
};
struct etcd_range_result {
	int64_t revision;	/* the store's revision the header gives */
	int64_t count;		/* keys in the whole range (not this page) */
	bool more;		/* keys past the limit remain */
	size_t n;		/* kvs given to fn */
};
/*
 * Called once a kv, in key order; a non-zero return stops the range and is returned
 * by etcd_range / etcd_range_all. kv's bytes are valid during the call only.
 */
typedef int (*etcd_kv_fn)(void *arg, const struct etcd_kv *kv);
int etcd_range(struct etcd *e, const struct etcd_range *r, etcd_kv_fn fn, void *arg,
	       struct etcd_range_result *res);
/*
 * The whole of r's range, in pages of r->limit keys (> 0), all at one revision:
 * r->revision, or when it is 0 the revision of the first page, given back in
 * *revision. Writes during the paging are not seen. -ESTALE when that revision is
 * compacted mid-way (the caller starts again at a new one). Note that etcd 3.4 scans
 * the range from its start for every page, so a page costs O(range), not O(page).
 */
int etcd_range_all(struct etcd *e, const struct etcd_range *r, etcd_kv_fn fn, void *arg,
		   int64_t *revision);

/* A compare: its target of key (EQUAL etc. to the given number or value). */
enum etcd_cmp_target {
	ETCD_CMP_MOD,		/* mod_revision ? rev */
	ETCD_CMP_CREATE,	/* create_revision ? rev */
	ETCD_CMP_VERSION,	/* version ? rev (0: the key is absent) */
	ETCD_CMP_VALUE,		/* value ? value */
	ETCD_CMP_ABSENT,	/* the key does not exist (version == 0); result ignored */
};
enum etcd_cmp_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_LESS, ETCD_GREATER };
struct etcd_cmp {
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	const void *key;
	size_t key_len;
	int64_t rev;			/* MOD, CREATE, VERSION */
	const void *value;		/* VALUE */
	size_t value_len;
};
enum etcd_op_kind { ETCD_OP_PUT, ETCD_OP_DELETE };
struct etcd_op {
	enum etcd_op_kind kind;
	const void *key, *value, *end;	/* end: DELETE of [key, end) when end_len > 0 */
	size_t key_len, value_len, end_len;
};
struct etcd_txn_result {
	bool succeeded;		/* every compare held, and the ops were applied */
	int64_t revision;	/* the store's revision after the txn (unchanged when it failed) */
};
/*
 * If every compare holds, apply every op, atomically; else nothing. 0 either way (see
 * res->succeeded); -E2BIG past etcd's --max-txn-ops, -EMSGSIZE past its request size.
 */
int etcd_txn(struct etcd *e, const struct etcd_cmp *cmps, size_t n_cmps,
	     const struct etcd_op *ops, size_t n_ops, struct etcd_txn_result *res);

/* Compact history before revision; physical: wait until it is removed from disk. */
int etcd_compact(struct etcd *e, int64_t revision, bool physical);

#define ETCD_ALARM_NOSPACE	1u
#define ETCD_ALARM_CORRUPT	2u
struct etcd_status {
	uint64_t cluster_id, member_id, leader;	/* leader 0: none known to this member */
	int64_t revision, raft_term, raft_index;
	int64_t db_size, db_size_in_use;	/* bytes of the member's database file */
	unsigned alarms;			/* ETCD_ALARM_*, raised on any member */
	char version[32];			/* the member's etcd version */
};
/* The status of the member the handle talks to, and the cluster's alarms. */
int etcd_status(struct etcd *e, struct etcd_status *st);
/*
 * Maintenance of one member, endpoint i of the handle's list (no failover: each member
 * has its own file): its status (alarms not read), and defragmentation, which blocks
 * that member's reads and writes while it rewrites its file (seconds for gigabytes):
 * one member at a time. The handle's timeout bounds it.
 */
unsigned etcd_endpoints(const struct etcd *e);
int etcd_member_status(struct etcd *e, unsigned i, struct etcd_status *st);
int etcd_defragment(struct etcd *e, unsigned i);

/*
 * ---- watch ----
 *
 * A watch streams every change of [key, end) from start_revision on, in revision order,
 * until the caller stops it or it fails; the caller then starts a new one at the last
 * revision it saw + 1. Exact: a revision's events come whole in one batch, never twice,
 * never out of order, none below start_revision (a stream that breaks any of it is
 * -EBADMSG), and a start whose history etcd no longer has all of is -ESTALE.
 */
enum etcd_ev_type { ETCD_EV_PUT, ETCD_EV_DELETE };
struct etcd_event {
	enum etcd_ev_type type;
	/*
	 * PUT: the kv as etcd_get would give it at that revision. DELETE: key and
	 * mod_revision (the revision of the delete) only; the rest 0, value "".
	 */
	struct etcd_kv kv;
};
struct etcd_watch_batch {
	/*
	 * The header's revision: the member's revision when it sent this. A promise only
	 * for progress: when a batch replays history it is later than the batch's events,
	 * and events between them may come in later batches.
	 */
	int64_t revision;
	const struct etcd_event *ev;	/* n events, revisions non-decreasing; all the */
	size_t n;			/* events of a revision are in one batch */
	/*
	 * A progress notification (n 0): every event at or below revision was given. Its
	 * revision never falls below an event's or a progress's given before.
	 */
	bool progress;
	/*
	 * The watch is made (n 0), on the member etcd_endpoint() names; revision is the
	 * member's then. With start_revision 0 the events are those after about that
	 * revision: not exact (a write may fall between), see start_revision.
	 */
	bool created;
};
/*
 * Called once a batch: created first, then events and progress notifications. Its
 * events' bytes are valid during the call only. It runs inside the watch's transfer:
 * it must not call etcd functions on this handle (another handle is fine), and while
 * it runs nothing is read (TCP holds etcd back). A non-zero return stops the watch and
 * is what etcd_watch returns.
 */
typedef int (*etcd_watch_fn)(void *arg, const struct etcd_watch_batch *b);
struct etcd_watch_params {
	/* [key, end); end_len 0: key alone; end "\0": every key from key on */
	const void *key, *end;
	size_t key_len, end_len;
	/*
	 * The first revision wanted; 0: from now (for an exact view, read a snapshot with
	 * etcd_range_all at revision R, then watch from R + 1).
	 */
	int64_t start_revision;
	/*
	 * Ask etcd for progress notifications: sent to a watch that is up to date every
	 * --experimental-watch-progress-notify-interval (10 minutes by default in etcd 3.4).
	 */
	bool progress_notify;
	const atomic_int *stop;		/* may be NULL; non-zero ends the watch: read every
					   200 ms at least */
	/*
	 * Silence after which the watch gives up with -ETIMEDOUT: no byte from etcd (no
	 * event, no progress notification) for idle_ms. 0: none. Only useful with
	 * progress_notify and idle_ms above etcd's interval: it finds a member that is
	 * stopped or wedged while its kernel keeps the connection up.
	 */
	unsigned idle_ms;
};
/*
 * Watch p's range, calling fn per batch; blocks until the watch ends. The stream asks
 * etcd for start_revision - 1 and drops that revision's events: etcd removes a delete
 * made at the compaction revision itself from history, yet lets a watch start there,
 * which would miss it silently; asking one revision earlier makes etcd refuse such a
 * start instead. So:
 *
 *   0           *stop was set
 *   fn's value  fn returned non-zero
 *   -ESTALE     history at start_revision is compacted (start_revision <= the compact
 *               revision, *compact_revision): read a snapshot, watch from after it
 *   -ECONNRESET the stream was cut once made (member killed, shut down, partitioned)
 *   -EAGAIN     the member lost its leader (the watch asks etcd to end it when it has
 *               none for a few election timeouts, not to go silent in a minority)
 *   -ETIMEDOUT  no answer to the watch within timeout_ms, or idle_ms of silence
 *   -ECONNREFUSED  no endpoint could be reached
 *   -EBADMSG    a stream that is not what etcd promises (etcd_error says what)
 *   -EFBIG      one message of the stream over resp_max
 *   -EINVAL, -EACCES  etcd or this module refused the watch
 *
 * Before the watch is made it tries each endpoint in turn like a read; once made, an
 * error that may be the member's (-ECONNRESET, -EAGAIN, -ETIMEDOUT) moves the handle
 * to the next endpoint, where the caller's next watch goes. TCP keepalive finds a
 * connection whose peer went silent (a partition, no FIN) after about timeout_ms.
 * *compact_revision (may be NULL) is set only with -ESTALE, 0 otherwise.
 */
int etcd_watch(struct etcd *e, const struct etcd_watch_params *p, etcd_watch_fn fn,
	       void *arg, int64_t *compact_revision);

#endif
