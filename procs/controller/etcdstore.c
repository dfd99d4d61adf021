/*
 * etcdstore: see etcdstore.h. Two threads: the loop thread does everything but one
 * blocking call, the watch, which a thread of its own makes with its own etcd handle and
 * turns into batches on a queue; an eventfd tells the loop, which applies them. Only the
 * loop thread touches LMDB.
 *
 * Invariant: the view holds etcd's tables as of revision `applied` (the newest revision
 * of the log key it applied: every txn that writes a table key puts the log key, its
 * value saying the writes), and its log every record of the revisions after the one it
 * was loaded at (less what log_retention trimmed).
 */
#include "etcdstore.h"
#include "backup.h"
#include "etcdblob.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/grow.h"
#include "common/log.h"
#include "common/mix.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SEQ_SHIFT	24		/* seq = revision << 24 | the record's index */
#define SEQ_RECORDS	(1ull << SEQ_SHIFT)
#define RETRIES		64		/* a change lost to others this often: EBUSY (api.c) */
#define FORMAT_KEY	"meta/format"
#define EPOCH_KEY	"meta/epoch"		/* a restore's: the history changed */
#define RESTORING_KEY	"meta/restoring"	/* while a restore writes */
#define DEFRAG_KEY	"meta/defrag"		/* who defragments a member, until when */
#define DEFRAG_HOLD_NS	(600ull * 1000000000ull)
#define GC_SCAN		50000		/* rules a maintenance round looks at */
#define LOG_KEY		"log"
/*
 * The log value's entries (etcdblob.h): the txn's table writes, ahead of its records
 * (which find the rules they stamp); the views watch the log key alone, so every txn that
 * writes a table key says it there.
 */
#define SNAP_PAGE	10000		/* keys a page when loading a snapshot */
#define CONFLICT_WAIT_NS (500ull * 1000 * 1000)
#define WATCH_BACKOFF_NS (200ull * 1000 * 1000)
#define SETTLE_PAUSE_NS	(100ull * 1000 * 1000)	/* between tries of an unsure commit */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* One key the transaction wrote: the value it first saw, the last it wrote. */
struct cap_ent {
	uint8_t dbi;
	bool prefix;		/* every key of dbi beginning with the key goes */
	bool had_old, has_new;
	size_t koff, klen, ooff, olen, noff, nlen;	/* in the arena */
};

/* One event of the watch, copied for the loop thread. */
struct wev {
	bool del;
	int64_t rev;
	uint8_t *key, *val;
	size_t klen, vlen;
};
struct wbatch {
	struct wbatch *next;
	uint64_t gen;		/* the watch's (etcdstore.gen) that made it */
	/*
	 * > 0: the watch's start was compacted, to this revision; -1: what the view lacks
	 * is more than one watch answer may be (resp_max): either way, load a snapshot.
	 */
	int64_t compacted;
	size_t n;
	struct wev ev[];
};

struct etcdstore {
	struct db *db;
	struct controller_counters *c;
	struct etcd *e;			/* the loop thread's handle */
	struct etcd *we;		/* the watch thread's */
	char prefix[ETCDSTORE_PREFIX_MAX];
	size_t plen;
	unsigned max_txn_ops;
	size_t max_request_bytes;
	uint64_t sync_timeout_ns, compact_keep, maint_interval_ns, defrag_min_bytes;
	unsigned defrag_next;		/* the member the next maintenance looks at */
	uint8_t gc_after[8];		/* the rule key the tombstone collection is past */
	int64_t gc_rev;			/* the last collection's: the view must apply it first */
	bool gc_started;
	char node[64];
	struct model_backend backend;
	struct db_capture cap;
	/* The capture of the transaction running. */
	struct buf arena, blob;
	struct buf out;			/* the log value sent: table entries, then blob */
	struct cap_ent *ents;
	size_t nents, ents_cap;
	uint32_t *slot;			/* open addressing over ents: index + 1 */
	size_t slot_cap;
	size_t nrec;			/* log records captured */
	/*
	 * Each commit carries an id in its log value, so that a commit etcd did not answer
	 * for sure can be told landed (the view applied its id) or not (settle).
	 */
	uint64_t self;			/* this process's, random */
	uint64_t txn_id;		/* the commit running's */
	int64_t id_seen;		/* the revision whose log value held it, or 0 */
	uint64_t settle_ns;		/* an unsure commit is sent again this long */
	/* The view. */
	int64_t applied;		/* the revision the view holds */
	uint64_t cluster;		/* etcd's cluster id */
	int64_t compacted;		/* what this controller last compacted to */
	/* The queue from the watch thread. */
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* a batch arrived, or the watch may start again */
	struct wbatch *head, *tail;
	int64_t watch_from;		/* the next revision the watch asks for */
	bool watch_wait;		/* after a compaction, until the loop reloaded */
	/*
	 * Raised by the loop when it could not apply a revision: batches of older watches
	 * are dropped, and the watch starts again from what the view holds.
	 */
	uint64_t gen, watch_gen;
	atomic_int stop;	/* the watch thread ends */
	int efd;
	/* The loop side. */
	struct loop *l;
	struct stream *st;
	struct loop_op efd_op;
	uint64_t efd_val;
	struct loop_timer maint;
};

static int
buf_add(struct buf *b, const void *p, size_t n, size_t *off)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 14;
		uint8_t *q;

		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	if (off)
		*off = b->len;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* The etcd key of table dbi's record k; its length, 0 if it does not fit. */
static size_t
table_key(const struct etcdstore *es, enum db_dbi dbi, const void *k, size_t klen,
    uint8_t *out, size_t max)
{
	const char *name = db_dbi_name(dbi);
	size_t nl = strlen(name), n = es->plen + nl + 1 + klen;

	if (n > max)
		return 0;
	memcpy(out, es->prefix, es->plen);
	memcpy(out + es->plen, name, nl);
	out[es->plen + nl] = '/';
	memcpy(out + es->plen + nl + 1, k, klen);
	return n;
}

static size_t
named_key(const struct etcdstore *es, const char *name, uint8_t *out)
{
	size_t nl = strlen(name);

	memcpy(out, es->prefix, es->plen);
	memcpy(out + es->plen, name, nl);
	return es->plen + nl;
}

/* ---- Capture: what the model's transaction writes, as etcd will have to. ---- */

static uint32_t
ent_hash(unsigned dbi, bool prefix, const void *k, size_t klen)
{
	return fnv1a32(FNV1A32_INIT ^ dbi ^ (prefix ? 0x100u : 0), k, klen);
}

static void
ent_slot(struct etcdstore *es, size_t i)
{
	const struct cap_ent *e = &es->ents[i];
	size_t s = ent_hash(e->dbi, e->prefix, es->arena.p + e->koff, e->klen) &
	    (es->slot_cap - 1);

	while (es->slot[s] != 0)
		s = (s + 1) & (es->slot_cap - 1);
	es->slot[s] = (uint32_t)i + 1;
}

static struct cap_ent *
ent_find(struct etcdstore *es, unsigned dbi, bool prefix, const MDB_val *k)
{
	if (es->slot_cap == 0)
		return NULL;
	for (size_t s = ent_hash(dbi, prefix, k->mv_data, k->mv_size) & (es->slot_cap - 1);
	    es->slot[s] != 0; s = (s + 1) & (es->slot_cap - 1)) {
		struct cap_ent *e = &es->ents[es->slot[s] - 1];

		if (e->dbi == dbi && e->prefix == prefix && e->klen == k->mv_size &&
		    memcmp(es->arena.p + e->koff, k->mv_data, e->klen) == 0)
			return e;
	}
	return NULL;
}

/* ents[nents - 1] was added: index it, growing the index to keep it half empty. */
static int
ent_index(struct etcdstore *es)
{
	if (2 * es->nents > es->slot_cap) {
		size_t cap = es->slot_cap ? 4 * es->slot_cap : 1024;
		uint32_t *slot = calloc(cap, sizeof(*slot));

		if (slot == NULL)
			return -ENOMEM;
		free(es->slot);
		es->slot = slot;
		es->slot_cap = cap;
		for (size_t i = 0; i < es->nents; i++)
			ent_slot(es, i);
		return 0;
	}
	ent_slot(es, es->nents - 1);
	return 0;
}

static int
cap_change(void *arg, enum db_dbi dbi, const MDB_val *k, const MDB_val *old,
    const MDB_val *new, bool prefix)
{
	struct etcdstore *es = arg;
	struct cap_ent *e = ent_find(es, dbi, prefix, k);
	int rc;

	if (e == NULL) {
		if ((rc = grow(&es->ents, &es->ents_cap, es->nents, sizeof(*e), 256)) < 0)
			return rc;
		e = &es->ents[es->nents];
		memset(e, 0, sizeof(*e));
		e->dbi = (uint8_t)dbi;
		e->prefix = prefix;
		e->klen = k->mv_size;
		if ((rc = buf_add(&es->arena, k->mv_data, k->mv_size, &e->koff)) < 0)
			return rc;
		/* The first value seen is what etcd must still hold for the commit. */
		if (old) {
			e->had_old = true;
			e->olen = old->mv_size;
			if ((rc = buf_add(&es->arena, old->mv_data, old->mv_size, &e->ooff)) < 0)
				return rc;
		}
		es->nents++;
		if ((rc = ent_index(es)) < 0)
			return rc;
	}
	e->has_new = new != NULL;
	if (new) {
		e->nlen = new->mv_size;
		if ((rc = buf_add(&es->arena, new->mv_data, new->mv_size, &e->noff)) < 0)
			return rc;
	}
	return 0;
}

/* An entry of the log key's value (etcdblob.h): its header, the bytes. */
static int
blob_add(struct buf *b, uint8_t kind, const void *p, size_t n)
{
	uint8_t hdr[ETCDBLOB_HDR];
	int rc;

	if ((rc = etcdblob_hdr(hdr, kind, n)) < 0 ||
	    (rc = buf_add(b, hdr, sizeof(hdr), NULL)) < 0)
		return rc;
	return buf_add(b, p, n, NULL);
}

/* A table write as a log value's entry (ETCDBLOB_PUT, ETCDBLOB_DEL, ETCDBLOB_DELPFX). */
static int
blob_table(struct buf *b, uint8_t kind, enum db_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	uint8_t hdr[ETCDBLOB_TABLE_HDR_MAX];
	int hl = etcdblob_table_hdr(hdr, kind, dbi, klen, vlen), rc;

	if (hl < 0)
		return hl;
	if ((rc = buf_add(b, hdr, (size_t)hl, NULL)) < 0 ||
	    (rc = buf_add(b, k, klen, NULL)) < 0)
		return rc;
	return kind == ETCDBLOB_PUT ? buf_add(b, v, vlen, NULL) : 0;
}

static int
cap_record(void *arg, const uint8_t *frame, size_t len)
{
	struct etcdstore *es = arg;

	es->nrec++;
	return blob_add(&es->blob, ETCDBLOB_RECORD, frame, len);
}

static void
cap_begin(void *arg)
{
	struct etcdstore *es = arg;

	es->arena.len = 0;
	es->blob.len = 0;
	es->nents = 0;
	es->nrec = 0;
	if (es->slot_cap)
		memset(es->slot, 0, es->slot_cap * sizeof(*es->slot));
}

/* ---- The queue from the watch thread. ---- */

static void
queue_push(struct etcdstore *es, struct wbatch *b)
{
	uint64_t one = 1;

	pthread_mutex_lock(&es->mu);
	b->next = NULL;
	if (es->tail)
		es->tail->next = b;
	else
		es->head = b;
	es->tail = b;
	pthread_cond_broadcast(&es->cv);
	pthread_mutex_unlock(&es->mu);
	if (write(es->efd, &one, sizeof(one)) < 0) {
		/* The counter is full (it cannot be): the loop drains the queue anyway. */
	}
}

static struct wbatch *
queue_take(struct etcdstore *es)
{
	struct wbatch *b;

	pthread_mutex_lock(&es->mu);
	b = es->head;
	es->head = es->tail = NULL;
	pthread_mutex_unlock(&es->mu);
	return b;
}

static int
on_watch(void *arg, const struct etcd_watch_batch *wb)
{
	struct etcdstore *es = arg;
	size_t bytes = 0;
	struct wbatch *b;
	uint8_t *p;

	if (wb->n == 0)
		return atomic_load(&es->stop) ? 1 : 0;
	for (size_t i = 0; i < wb->n; i++)
		bytes += wb->ev[i].kv.key_len + wb->ev[i].kv.value_len;
	if ((b = malloc(sizeof(*b) + wb->n * sizeof(b->ev[0]) + bytes)) == NULL)
		return -ENOMEM;
	b->compacted = 0;
	b->n = wb->n;
	p = (uint8_t *)&b->ev[wb->n];
	for (size_t i = 0; i < wb->n; i++) {
		const struct etcd_event *e = &wb->ev[i];
		struct wev *w = &b->ev[i];

		w->del = e->type == ETCD_EV_DELETE;
		w->rev = e->kv.mod_revision;
		w->klen = e->kv.key_len;
		w->vlen = e->kv.value_len;
		w->key = p;
		memcpy(p, e->kv.key, w->klen);
		p += w->klen;
		w->val = p;
		if (w->vlen)
			memcpy(p, e->kv.value, w->vlen);
		p += w->vlen;
	}
	pthread_mutex_lock(&es->mu);
	if (es->gen != es->watch_gen) {
		/* The loop wants the watch again from what it applied: this one is stale. */
		pthread_mutex_unlock(&es->mu);
		free(b);
		return 1;
	}
	b->gen = es->gen;
	es->watch_from = b->ev[b->n - 1].rev + 1;
	pthread_mutex_unlock(&es->mu);
	queue_push(es, b);
	return atomic_load(&es->stop) ? 1 : 0;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
	    .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

static void *
watch_main(void *arg)
{
	struct etcdstore *es = arg;
	uint8_t key[ETCDSTORE_PREFIX_MAX + 8];
	size_t klen = named_key(es, LOG_KEY, key);
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60000, 5);

	/*
	 * The log key alone: its value says every table write of its txn, so the view
	 * follows from it, and etcd sends (and this parses) one event a txn.
	 */
	while (!atomic_load(&es->stop)) {
		struct etcd_watch_params p = { .key = key, .key_len = klen,
		    .progress_notify = true, .stop = &es->stop };
		int64_t compact = 0;
		int rc;

		pthread_mutex_lock(&es->mu);
		while (es->watch_wait && !atomic_load(&es->stop))
			pthread_cond_wait(&es->cv, &es->mu);
		p.start_revision = es->watch_from;
		es->watch_gen = es->gen;
		pthread_mutex_unlock(&es->mu);
		if (atomic_load(&es->stop))
			break;
		rc = etcd_watch(es->we, &p, on_watch, es, &compact);
		if (atomic_load(&es->stop))
			break;
		STATS_INC(es->c, etcd_watch_restarts);
		/*
		 * etcd sends up to 1000 revisions of history in one answer: a view far
		 * behind (a new controller, a large import made while it was away) gets one
		 * larger than the handle takes, every time it asks. A snapshot instead.
		 */
		if (rc == -ESTALE || rc == -EFBIG) {
			struct wbatch *b = calloc(1, sizeof(*b));

			if (b == NULL) {
				sleep_ns(WATCH_BACKOFF_NS);
				continue;
			}
			b->compacted = rc == -EFBIG ? -1 : compact > 0 ? compact : 1;
			pthread_mutex_lock(&es->mu);
			b->gen = es->watch_gen;
			es->watch_wait = true;
			pthread_mutex_unlock(&es->mu);
			queue_push(es, b);
			continue;
		}
		/* Cut off from etcd, this is 5 a second: a few lines a minute say it. */
		log_warnx_rl(&rl, "etcd watch from revision %lld ended: %s; watching again",
		    (long long)p.start_revision, rc < 0 ? etcd_error(es->we) : "closed");
		sleep_ns(WATCH_BACKOFF_NS);
	}
	return NULL;
}

/* ---- The view: what etcd committed, applied to LMDB in revision order. ---- */

/* The table and its LMDB key of an etcd key; -ENOENT for one that is not a table's. */
static int
parse_key(const struct etcdstore *es, const uint8_t *k, size_t klen, const uint8_t **rk,
    size_t *rklen)
{
	const uint8_t *p = k + es->plen, *slash;
	int dbi;

	if (klen <= es->plen || memcmp(k, es->prefix, es->plen) != 0)
		return -ENOENT;
	if ((slash = memchr(p, '/', klen - es->plen)) == NULL)
		return -ENOENT;
	if ((dbi = db_dbi_by_name((const char *)p, (size_t)(slash - p))) < 0 ||
	    dbi == DBI_META || dbi == DBI_LOG)
		return -ENOENT;
	*rk = slash + 1;
	*rklen = klen - (size_t)(slash + 1 - k);
	return dbi;
}

static bool
is_named(const struct etcdstore *es, const uint8_t *k, size_t klen, const char *name)
{
	size_t nl = strlen(name);

	return klen == es->plen + nl && memcmp(k, es->prefix, es->plen) == 0 &&
	    memcmp(k + es->plen, name, nl) == 0;
}

/* Every key of table dbi that begins with the prefix goes from the view. */
static int
view_del_prefix(struct db_txn *t, enum db_dbi dbi, const uint8_t *pfx, size_t len)
{
	struct db_iter it;
	int rc;

	if (len == 0)	/* the whole table (a restore's first txn) */
		return mdb_drop(t->txn, t->db->dbi[dbi], 0) == 0 ? 0 : -EIO;
	if ((rc = db_iter_open(t->txn, t->db, dbi, pfx, len, &it)) < 0)
		return rc;
	while ((rc = db_iter_next(&it)) > 0)
		if (mdb_cursor_del(it.cur, 0) != 0) {
			rc = -EIO;
			break;
		}
	db_iter_close(&it);
	return rc;
}

/* One table write of a log value (ETCDBLOB_PUT, DEL, DELPFX) into the view. */
static int
apply_table(struct db_txn *t, const struct etcdblob_ent *e)
{
	if (e->kind == ETCDBLOB_DEL)
		return db_raw_del(t, e->dbi, e->key, e->klen);
	if (e->kind == ETCDBLOB_DELPFX)
		return view_del_prefix(t, e->dbi, e->key, e->klen);
	return db_raw_put(t, e->dbi, e->key, e->klen, e->val, e->vlen);
}

_Static_assert(SEQ_RECORDS == ETCDBLOB_RECORDS_MAX, "a value's records fit a revision's seqs");
_Static_assert(ETCDBLOB_HOST_MAX < sizeof(((struct model_bind *)0)->host), "a BIND's host fits");

/*
 * What one revision's log value holds: its table writes into the view, its records into
 * the log, its binds for the feeds, its commit's id (this controller's running commit's:
 * id_seen), or a restore's epoch (*epoch, *restart). The table writes come first: the
 * RULE records then find the rules they stamp with their seq. The value is written by
 * any controller and read back from etcd: checked whole before any of it is applied.
 */
static int
apply_blob(struct etcdstore *es, struct db_txn *t, struct model_txn *pub, int64_t rev,
    const uint8_t *p, size_t len, uint64_t *epoch, bool *restart)
{
	uint64_t base = (uint64_t)rev << SEQ_SHIFT;
	struct etcdblob_reader r;
	struct etcdblob_ent e;
	int rc;

	if ((rc = etcdblob_check(p, len)) < 0)
		return rc;
	etcdblob_reader_init(&r, p, len);
	while ((rc = etcdblob_next(&r, &e)) > 0) {
		switch (e.kind) {
		case ETCDBLOB_RECORD:
			if ((rc = db_log_at(t, base | e.index, &e.m)) < 0)
				return rc;
			if (e.m.type == WIRE_RULE &&
			    (rc = db_rule_seq(t, e.m.u.rule.vni, e.m.u.rule.ip,
			    base | e.index)) < 0)
				return rc;
			if (e.m.type == WIRE_HOST) {
				if ((rc = grow(&pub->hostev, &pub->hostev_cap, pub->nhostev,
				    sizeof(*pub->hostev), 4)) < 0)
					return rc;
				pub->hostev[pub->nhostev++] = e.m.u.host;
			}
			break;
		case ETCDBLOB_BIND: {
			struct model_bind *b;

			if ((rc = grow(&pub->binds, &pub->binds_cap, pub->nbinds,
			    sizeof(*pub->binds), 16)) < 0)
				return rc;
			b = &pub->binds[pub->nbinds++];
			memset(b, 0, sizeof(*b));
			memcpy(b->host, e.host, e.host_len);
			b->b = e.m.u.bind;
			b->b.seq = base | (e.m.u.bind.seq - 1);
			break;
		}
		case ETCDBLOB_ID:
			if (e.id_proc == es->self && e.id_txn == es->txn_id)
				es->id_seen = rev;
			break;
		case ETCDBLOB_PUT:
		case ETCDBLOB_DEL:
		case ETCDBLOB_DELPFX:
			if ((rc = apply_table(t, &e)) < 0)
				return rc;
			break;
		case ETCDBLOB_EPOCH:
			/*
			 * A restore replaced the history (its last txn, with nothing else): the
			 * log starts after it, so that every rule-store takes a snapshot, and
			 * every subscriber is sent away to come back to it (apply_events).
			 */
			if ((rc = db_clear_log(t, (uint64_t)(rev + 1) << SEQ_SHIFT)) < 0)
				return rc;
			*epoch = e.epoch ? e.epoch : es->cluster;
			*restart = true;
			break;
		}
	}
	return rc;
}

/* An epoch as meta/epoch holds it (16 hex digits); cluster when it holds none. */
static uint64_t
parse_epoch(const uint8_t *v, size_t len, uint64_t cluster)
{
	char s[17];
	uint64_t e;

	if (len == 0 || len > 16)
		return cluster;
	memcpy(s, v, len);
	s[len] = '\0';
	e = strtoull(s, NULL, 16);
	return e ? e : cluster;
}

/*
 * Apply a run of events of the log key (one a revision, in order) in one LMDB
 * transaction, then publish.
 */
static int
apply_events(struct etcdstore *es, const struct wev *ev, size_t n)
{
	struct model_txn pub;
	struct db_txn t;
	bool restart = false;
	uint64_t epoch = 0;	/* a restore's, once the transaction that applies it commits */
	int64_t was = es->applied;
	int rc = 0;

	memset(&pub, 0, sizeof(pub));
	if ((rc = db_begin(es->db, &t)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t rev = ev[i].rev;

		if (rev <= es->applied)		/* a watch restarted over what was applied */
			continue;
		if (!ev[i].del && is_named(es, ev[i].key, ev[i].klen, LOG_KEY))
			rc = apply_blob(es, &t, &pub, rev, ev[i].val, ev[i].vlen, &epoch,
			    &restart);
		if (rc == 0)
			rc = db_meta_put(&t, "etcd_revision", (uint64_t)rev);
		if (rc == 0)
			es->applied = rev;
	}
	if (rc < 0) {
		db_abort(&t);
		model_release(&pub);
		es->applied = was;	/* none of them: the watch starts again from there */
		return rc;
	}
	if ((rc = db_commit(&t)) < 0) {
		model_release(&pub);
		es->applied = was;
		return rc;
	}
	/* Snapshots name it from now on: the log they are of is the restore's. */
	if (restart)
		es->db->epoch = epoch;
	STATS_SET(es->c, etcd_revision, (uint64_t)es->applied);
	if (es->st)
		stream_committed(es->st, &pub);
	model_release(&pub);
	if (restart) {
		STATS_INC(es->c, etcd_restores_seen);
		log_warnx("a restore replaced etcd's state (revision %lld): every subscriber "
		    "starts again", (long long)es->applied);
		if (es->st)
			stream_restart(es->st, "a restore replaced the store's history");
	}
	return 0;
}

struct snap_load {
	struct etcdstore *es;
	struct db_txn *t;
	uint64_t seq;
	uint64_t keys;
};

static int
snap_kv(void *arg, const struct etcd_kv *kv)
{
	struct snap_load *sl = arg;
	const uint8_t *rk;
	size_t rklen;
	int dbi = parse_key(sl->es, kv->key, kv->key_len, &rk, &rklen);

	if (dbi < 0)
		return 0;
	sl->keys++;
	if (dbi == DBI_RULES && kv->value_len == sizeof(struct db_rule)) {
		struct db_rule r;

		/* The seq in etcd is the writer's own; here it is the snapshot's. */
		memcpy(&r, kv->value, sizeof(r));
		r.seq = sl->seq;
		return db_raw_put(sl->t, dbi, rk, rklen, &r, sizeof(r));
	}
	return db_raw_put(sl->t, dbi, rk, rklen, kv->value, kv->value_len);
}

/*
 * The view from nothing: etcd's prefix as of revision rev (0: the newest), the log to
 * start after it (so every rule-store with less takes a snapshot from this controller).
 */
static int
load_snapshot(struct etcdstore *es, int64_t rev, char *err, size_t errlen)
{
	uint8_t end[ETCDSTORE_PREFIX_MAX];
	struct etcd_range r = { .key = es->prefix, .key_len = es->plen, .end = end,
	    .end_len = etcd_prefix_end(es->prefix, es->plen, end), .revision = rev,
	    .limit = SNAP_PAGE };
	struct db_txn t;
	struct snap_load sl = { .es = es, .t = &t };
	uint64_t t0 = clock_mono_ns();
	int64_t at = rev;
	int rc;

	if (rev == 0) {
		struct etcd_status st;

		/* At one revision named first: paging at 0 would read the range twice. */
		if ((rc = etcd_status(es->e, &st)) < 0) {
			snprintf(err, errlen, "cannot load the view from etcd: %s",
			    etcd_error(es->e));
			return rc;
		}
		r.revision = rev = at = st.revision;
	}
	for (int tries = 0; tries < 4; tries++) {
		if ((rc = db_begin(es->db, &t)) < 0)
			break;
		sl.keys = 0;
		/* The seq of a record of revision `at`: below the log's start after it. */
		sl.seq = rev > 0 ? (uint64_t)rev << SEQ_SHIFT : 0;
		if ((rc = db_clear(&t, 0)) < 0) {
			db_abort(&t);
			break;
		}
		rc = etcd_range_all(es->e, &r, snap_kv, &sl, &at);
		if (rc == 0 && rev == 0) {
			/* The revision came with the first page: stamp the rules again. */
			db_abort(&t);
			r.revision = rev = at;
			continue;
		}
		if (rc == 0) {
			t.next_seq = t.log_first = (uint64_t)(at + 1) << SEQ_SHIFT;
			if ((rc = db_meta_put(&t, "etcd_revision", (uint64_t)at)) == 0)
				rc = db_commit(&t);
			else
				db_abort(&t);
			if (rc == 0) {
				es->applied = at;
				STATS_INC(es->c, etcd_snapshots);
				log_info("view loaded from etcd at revision %lld: %llu records in "
				    "%.2f s", (long long)at, (unsigned long long)sl.keys,
				    (double)(clock_mono_ns() - t0) / 1e9);
				return 0;
			}
			break;
		}
		db_abort(&t);
		if (rc != -ESTALE)
			break;
		/* Compacted while paging: again at the newest. */
		{
			struct etcd_status st;

			if ((rc = etcd_status(es->e, &st)) < 0)
				break;
			r.revision = rev = at = st.revision;
		}
	}
	snprintf(err, errlen, "cannot load the view from etcd: %s",
	    rc == -ENOMEM ? "out of memory" : etcd_error(es->e));
	return rc;
}

/* Apply what the watch queued; 1 when something was applied. */
static int
drain(struct etcdstore *es)
{
	struct wbatch *b = queue_take(es), *next;
	char err[256];
	int rc = 0, did = 0;

	for (; b; b = next) {
		next = b->next;
		if (b->gen != es->gen) {
			free(b);	/* of a watch from before an error: made again */
			continue;
		}
		if (rc == 0 && b->compacted) {
			if (b->compacted > 0)
				log_warnx("etcd compacted the history this view needs (revision "
				    "%lld and before): loading the view again",
				    (long long)b->compacted);
			else
				log_warnx("the history this view lacks is larger than a watch "
				    "answer may be: loading the view again");
			if ((rc = load_snapshot(es, b->compacted > 0 ? b->compacted : 0, err,
			    sizeof(err))) < 0)
				log_warnx("%s", err);
			pthread_mutex_lock(&es->mu);
			es->watch_from = es->applied + 1;
			es->watch_wait = false;
			pthread_cond_broadcast(&es->cv);
			pthread_mutex_unlock(&es->mu);
			did = 1;
		} else if (rc == 0 && b->n) {
			if ((rc = apply_events(es, b->ev, b->n)) < 0)
				log_warnx("cannot apply etcd's revision %lld to the view: %s",
				    (long long)b->ev[0].rev, strerror(-rc));
			did = 1;
		}
		free(b);
	}
	if (rc < 0) {
		/* The view is as of `applied`: watch again from there. */
		STATS_INC(es->c, etcd_apply_errors);
		pthread_mutex_lock(&es->mu);
		es->watch_from = es->applied + 1;
		es->gen++;
		es->watch_wait = false;
		pthread_cond_broadcast(&es->cv);
		pthread_mutex_unlock(&es->mu);
	}
	return did;
}

/*
 * Apply until the view holds revision rev, for at most timeout_ns: 0, or -ETIMEDOUT.
 * Blocks the loop thread: a change's answer waits for it anyway.
 */
static int
catch_up(struct etcdstore *es, int64_t rev, uint64_t timeout_ns)
{
	uint64_t until = clock_mono_ns() + timeout_ns;

	drain(es);
	while (es->applied < rev) {
		struct timespec ts;
		uint64_t now = clock_mono_ns(), wait;

		if (now >= until)
			return -ETIMEDOUT;
		wait = until - now < 50000000ull ? until - now : 50000000ull;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)wait;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&es->mu);
		if (es->head == NULL)
			pthread_cond_timedwait(&es->cv, &es->mu, &ts);
		pthread_mutex_unlock(&es->mu);
		drain(es);
	}
	return 0;
}

/* The revision of the newest change any controller made (the log key's), or 0. */
static int
newest_change(struct etcdstore *es, int64_t *rev)
{
	uint8_t key[ETCDSTORE_PREFIX_MAX + 8];
	struct etcd_kv kv;
	int rc = etcd_get(es->e, key, named_key(es, LOG_KEY, key), &kv, NULL);

	*rev = rc == 0 ? kv.mod_revision : 0;
	return rc == -ENOENT ? 0 : rc;
}

/* ---- Commit: the captured transaction as one etcd txn. ---- */

static int
commit_fail(struct model_txn *t, struct etcdstore *es, int rc, const char *what)
{
	STATS_INC(es->c, etcd_errors);
	switch (rc) {
	case -E2BIG:
	case -EMSGSIZE:
		snprintf(t->err, sizeof(t->err), "%s: the change is too large for one etcd "
		    "transaction (controller.etcd max_txn_ops / max_request_bytes, etcd's "
		    "--max-txn-ops / --max-request-bytes): send it in smaller batches", what);
		return -E2BIG;
	case -ENOSPC:
		snprintf(t->err, sizeof(t->err), "%s: etcd is out of space (its NOSPACE alarm): "
		    "compact, defragment and disarm it (docs/cluster.md)", what);
		return -ENOSPC;
	case -ETIMEDOUT:
	case -EAGAIN:
	case -EPROTO:
		snprintf(t->err, sizeof(t->err), "%s: etcd did not commit in time; the change "
		    "may or may not be committed: read it back (%.140s)", what, etcd_error(es->e));
		return -ETIMEDOUT;
	case -ENOTCONN:
		/* settle: the first try unanswered, then no member reached. */
		snprintf(t->err, sizeof(t->err), "%s: etcd did not answer in time and no etcd "
		    "member can be reached now; the change may or may not be committed: read it "
		    "back (%.90s)", what, etcd_error(es->e));
		return -ETIMEDOUT;
	case -ECONNREFUSED:
		/* No member reached, none took the request: nothing was committed. */
		snprintf(t->err, sizeof(t->err), "%s: no etcd member can be reached; nothing was "
		    "committed (%.150s)", what, etcd_error(es->e));
		return -EIO;
	case -ENOMEM:
		snprintf(t->err, sizeof(t->err), "%s: out of memory", what);
		return rc;
	default:
		snprintf(t->err, sizeof(t->err), "%s: etcd: %s (%s)", what, strerror(-rc),
		    etcd_error(es->e));
		return -EIO;
	}
}

/* The binds of t, into the blob: their seq is their RULE record's index. */
static int
blob_binds(struct etcdstore *es, const struct model_txn *t)
{
	uint64_t first = t->db.next_seq - es->nrec;

	for (size_t i = 0; i < t->nbinds; i++) {
		struct wire_msg m = { .type = WIRE_BIND, .u.bind = t->binds[i].b };
		uint8_t rec[1 + WIRE_NAME_MAX + WIRE_LEN_SIZE + WIRE_RECORD_MAX];
		size_t hl = strnlen(t->binds[i].host, sizeof(t->binds[i].host));
		int n, rc;

		if (hl >= WIRE_NAME_MAX)
			return -ENAMETOOLONG;
		/* Its RULE record's index, plus one: a BIND's seq is never 0 on the wire. */
		m.u.bind.seq = m.u.bind.seq - first + 1;
		rec[0] = (uint8_t)hl;
		memcpy(rec + 1, t->binds[i].host, hl);
		if ((n = wire_encode(&m, rec + 1 + hl, sizeof(rec) - 1 - hl)) < 0)
			return n;
		if ((rc = blob_add(&es->blob, ETCDBLOB_BIND, rec, 1 + hl + (size_t)n)) < 0)
			return rc;
	}
	return 0;
}

/*
 * etcd_txn's answers that leave a commit unsure: the request reached a member, which may
 * have committed it (a timeout, a member lost mid-answer, a leader lost under it).
 */
static bool
unsure(int rc)
{
	return rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EPROTO;
}

/*
 * A commit whose first try etcd answered unsure (rc): send the same txn again until
 * an answer settles it, for settle_ns at most. Sending again is safe: the txn compares
 * every record it rewrites, the VPC's (whose version only grows) among them, so of two
 * tries at most one can ever succeed. A try that succeeds is the commit; one whose
 * compares fail says that the first try landed or another change did: the view, caught
 * up to that answer's revision, says which by the commit's id in the log. 0 with res
 * as if the first try had answered (succeeded or not), or rc: still unsure (at once when
 * no member can be reached: a controller cut off says so within its timeout).
 */
static int
settle(struct etcdstore *es, const struct etcd_cmp *cmps, size_t ncmps,
    const struct etcd_op *ops, size_t nops, struct etcd_txn_result *res, int rc)
{
	uint64_t until = clock_mono_ns() + es->settle_ns, now;
	int64_t newest;
	int r;

	STATS_INC(es->c, etcd_unsure);
	log_warnx("etcd did not answer a commit for sure (%s): sending it again",
	    etcd_error(es->e));
	while ((now = clock_mono_ns()) < until) {
		drain(es);
		if (es->id_seen)
			break;
		sleep_ns(SETTLE_PAUSE_NS);
		STATS_INC(es->c, etcd_txns);
		if ((r = etcd_txn(es->e, cmps, ncmps, ops, nops, res)) == -ECONNREFUSED) {
			rc = -ENOTCONN;	/* cut off from every member: no telling for now */
			break;
		}
		if (r < 0)
			continue;	/* unsure again */
		if (res->succeeded) {
			log_info("commit settled: committed by a second try, at revision %lld",
			    (long long)res->revision);
			return 0;
		}
		/*
		 * The view follows the log key alone: res->revision may be another txn's
		 * (a meta key's) that it never applies; a landed try put the log key at or
		 * before the newest change.
		 */
		if (newest_change(es, &newest) < 0)
			continue;
		now = clock_mono_ns();
		if (catch_up(es, newest, now < until ? until - now : 0) < 0)
			break;
		if (!es->id_seen) {
			log_info("commit settled: not committed (another change came first)");
			return 0;	/* a conflict: the change runs again */
		}
		break;
	}
	if (es->id_seen) {
		STATS_INC(es->c, etcd_unsure_landed);
		log_info("commit settled: the first try was committed, at revision %lld",
		    (long long)es->id_seen);
		res->succeeded = true;
		res->revision = es->id_seen;
		return 0;
	}
	return rc;
}

static int
es_commit(void *arg, struct model_txn *t)
{
	struct etcdstore *es = arg;
	struct etcd_cmp *cmps = NULL;
	struct etcd_op *ops = NULL;
	struct buf keys = { 0 };
	size_t ncmps = 0, nops = 0, bytes = 0;
	struct etcd_txn_result res;
	uint8_t logkey[ETCDSTORE_PREFIX_MAX + 8], restkey[ETCDSTORE_PREFIX_MAX + 16];
	uint8_t id[ETCDBLOB_ID_LEN];
	struct etcd_kv kv;
	int64_t newest;
	int rc;

	db_abort(&t->db);	/* the view only changes by what etcd committed */
	if (es->nrec >= SEQ_RECORDS)
		return commit_fail(t, es, -E2BIG, "transaction");
	es->id_seen = 0;
	bytes_put64(id, es->self);
	bytes_put64(id + 8, ++es->txn_id);
	if ((rc = blob_binds(es, t)) < 0 ||
	    (rc = blob_add(&es->blob, ETCDBLOB_ID, id, sizeof(id))) < 0)
		return commit_fail(t, es, rc, "transaction");
	if ((cmps = calloc(es->nents + 2, sizeof(*cmps))) == NULL ||
	    (ops = calloc(es->nents + 1, sizeof(*ops))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* Keys, all in one buffer sized first (a move would leave pointers behind). */
	for (size_t i = 0; i < es->nents; i++)
		keys.cap += 2 * (es->plen + 16 + es->ents[i].klen + 2);
	if ((keys.p = malloc(keys.cap + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	es->out.len = 0;
	for (size_t i = 0; i < es->nents; i++) {
		const struct cap_ent *e = &es->ents[i];
		uint8_t *k = keys.p + keys.len;
		size_t kl = table_key(es, e->dbi, es->arena.p + e->koff, e->klen, k,
		    keys.cap - keys.len);

		if (kl == 0) {
			rc = -ENOMEM;
			goto out;
		}
		keys.len += kl;
		bytes += 2 * kl + e->olen + e->nlen;
		if (e->prefix) {
			uint8_t *end = keys.p + keys.len;
			size_t el = etcd_prefix_end(k, kl, end);

			keys.len += el;
			ops[nops++] = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = k,
			    .key_len = kl, .end = end, .end_len = el };
			if ((rc = blob_table(&es->out, ETCDBLOB_DELPFX, e->dbi,
			    es->arena.p + e->koff, e->klen, NULL, 0)) < 0)
				goto out;
			continue;
		}
		/*
		 * Every record read and rewritten must be as the view saw it; a rule needs no
		 * compare: its VPC's record, rewritten with every rule change, has one.
		 */
		if (e->dbi != DBI_RULES)
			cmps[ncmps++] = e->had_old ?
			    (struct etcd_cmp){ .target = ETCD_CMP_VALUE, .result = ETCD_EQUAL,
			    .key = k, .key_len = kl, .value = es->arena.p + e->ooff,
			    .value_len = e->olen } :
			    (struct etcd_cmp){ .target = ETCD_CMP_ABSENT, .key = k, .key_len = kl };
		if (e->has_new) {
			ops[nops++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = k,
			    .key_len = kl, .value = es->arena.p + e->noff, .value_len = e->nlen };
			rc = blob_table(&es->out, ETCDBLOB_PUT, e->dbi, es->arena.p + e->koff,
			    e->klen, es->arena.p + e->noff, e->nlen);
		} else if (e->had_old) {
			ops[nops++] = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = k,
			    .key_len = kl };
			rc = blob_table(&es->out, ETCDBLOB_DEL, e->dbi, es->arena.p + e->koff,
			    e->klen, NULL, 0);
		}
		if (rc < 0)
			goto out;
	}
	/* The views see the table writes by the log value alone (watch_main). */
	if ((rc = buf_add(&es->out, es->blob.p, es->blob.len, NULL)) < 0)
		goto out;
	ops[nops++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = logkey,
	    .key_len = named_key(es, LOG_KEY, logkey), .value = es->out.p,
	    .value_len = es->out.len };
	/* No change while a restore writes (etcdstore_restore). */
	cmps[ncmps++] = (struct etcd_cmp){ .target = ETCD_CMP_ABSENT, .key = restkey,
	    .key_len = named_key(es, RESTORING_KEY, restkey) };
	/* base64 makes 4 of 3, and JSON adds its names: a bound, not an exact size. */
	bytes = (bytes + es->out.len) * 4 / 3 + 96 * (ncmps + nops);
	if (ncmps > es->max_txn_ops || nops > es->max_txn_ops) {
		rc = commit_fail(t, es, -E2BIG, "transaction");
		snprintf(t->err + strlen(t->err), sizeof(t->err) - strlen(t->err),
		    " (%zu compares and %zu operations, at most %u each)", ncmps, nops,
		    es->max_txn_ops);
		goto done;
	}
	if (bytes > es->max_request_bytes) {
		rc = commit_fail(t, es, -EMSGSIZE, "transaction");
		goto done;
	}
	STATS_INC(es->c, etcd_txns);
	rc = etcd_txn(es->e, cmps, ncmps, ops, nops, &res);
	if (unsure(rc))
		rc = settle(es, cmps, ncmps, ops, nops, &res, rc);
	if (rc < 0) {
		rc = commit_fail(t, es, rc, "commit");
		goto done;
	}
	if (!res.succeeded && etcd_get(es->e, restkey, named_key(es, RESTORING_KEY, restkey),
	    &kv, NULL) == 0) {
		rc = -EBUSY;
		snprintf(t->err, sizeof(t->err), "a restore is writing etcd's state (or one was "
		    "cut short: run it again): no change until it is done");
		goto done;
	}
	if (!res.succeeded) {
		/* Another controller changed what this one read: wait until it is seen. */
		if (newest_change(es, &newest) == 0)
			catch_up(es, newest, CONFLICT_WAIT_NS);
		/*
		 * Or an earlier try of this very commit did: one etcd_txn sent to a member
		 * that failed before it answered, then to the next member.
		 */
		if (es->id_seen) {
			STATS_INC(es->c, etcd_unsure_landed);
			res.succeeded = true;
			res.revision = es->id_seen;
		}
	}
	if (!res.succeeded) {
		STATS_INC(es->c, etcd_conflicts);
		rc = -EAGAIN;
		snprintf(t->err, sizeof(t->err), "another controller changed the same "
		    "records %d times in a row: try again", RETRIES);
		goto done;
	}
	t->revision = (uint64_t)res.revision;
	if (catch_up(es, res.revision, es->sync_timeout_ns) < 0) {
		/* Committed all the same: the answer says so; the view follows when it can. */
		STATS_INC(es->c, etcd_view_late);
		log_warnx("etcd committed revision %lld, but this controller's view has not "
		    "applied it within %llu ms", (long long)res.revision,
		    (unsigned long long)(es->sync_timeout_ns / 1000000));
	}
	rc = 0;
	goto done;
out:
	rc = commit_fail(t, es, rc, "transaction");
done:
	free(cmps);
	free(ops);
	free(keys.p);
	return rc;
}

/* ---- The loop side. ---- */

static void
efd_arm(struct etcdstore *es);

static void
on_efd(struct loop_op *op, int res, uint32_t flags)
{
	struct etcdstore *es = op->arg;

	(void)flags;
	if (res < 0 && res != -EINTR && res != -EAGAIN)
		log_warnx("etcd view: eventfd read: %s", strerror(-res));
	drain(es);
	efd_arm(es);
}

static void
efd_arm(struct etcdstore *es)
{
	struct io_uring_sqe *sqe = loop_sqe(es->l, &es->efd_op);

	if (sqe == NULL) {
		log_warnx("etcd view: no submission entry: the view waits for the next change");
		return;
	}
	io_uring_prep_read(sqe, es->efd, &es->efd_val, sizeof(es->efd_val), 0);
}

/*
 * Defragmentation of one member a round, in turn, when a quarter of its file (and at
 * least defrag_min_bytes) is free space that compaction left; only while this controller
 * holds meta/defrag, so that one member of the cluster is defragmented at a time (it
 * takes no request meanwhile). The key says until when: a controller that died holding
 * it holds it no longer after that.
 */
static void
maint_defrag(struct etcdstore *es)
{
	uint8_t key[ETCDSTORE_PREFIX_MAX + 16];
	size_t kl = named_key(es, DEFRAG_KEY, key);
	unsigned m = es->defrag_next++ % etcd_endpoints(es->e);
	char mine[128], held[128];
	struct etcd_status st;
	struct etcd_kv kv;
	struct etcd_txn_result res;
	struct etcd_cmp cmp = { .key = key, .key_len = kl };
	struct etcd_op op = { .kind = ETCD_OP_PUT, .key = key, .key_len = kl, .value = mine };
	unsigned long long until = 0;
	int64_t free_bytes;
	int rc;

	if (etcd_member_status(es->e, m, &st) < 0)
		return;
	free_bytes = st.db_size - st.db_size_in_use;
	if (free_bytes < (int64_t)es->defrag_min_bytes || free_bytes < st.db_size / 4)
		return;
	if ((rc = etcd_get(es->e, key, kl, &kv, NULL)) == 0) {
		size_t n = kv.value_len < sizeof(held) - 1 ? kv.value_len : sizeof(held) - 1;

		memcpy(held, kv.value, n);
		held[n] = '\0';
		if (sscanf(held, "%llu", &until) == 1 && until > clock_real_ns())
			return;		/* another controller is at it */
		cmp.target = ETCD_CMP_VALUE;
		cmp.result = ETCD_EQUAL;
		cmp.value = kv.value;
		cmp.value_len = kv.value_len;
	} else if (rc == -ENOENT) {
		cmp.target = ETCD_CMP_ABSENT;
	} else {
		return;
	}
	snprintf(mine, sizeof(mine), "%llu %s", (unsigned long long)(clock_real_ns() +
	    DEFRAG_HOLD_NS), es->node);
	op.value_len = strlen(mine);
	if (etcd_txn(es->e, &cmp, 1, &op, 1, &res) < 0 || !res.succeeded)
		return;
	log_info("defragmenting etcd member %u: %lld of its %lld bytes are free", m,
	    (long long)free_bytes, (long long)st.db_size);
	if ((rc = etcd_defragment(es->e, m)) == 0)
		STATS_INC(es->c, etcd_defrags);
	else
		log_warnx("defragmenting etcd member %u: %s", m, etcd_error(es->e));
	cmp = (struct etcd_cmp){ .target = ETCD_CMP_VALUE, .result = ETCD_EQUAL, .key = key,
	    .key_len = kl, .value = mine, .value_len = op.value_len };
	op = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = key, .key_len = kl };
	etcd_txn(es->e, &cmp, 1, &op, 1, &res);
}

/*
 * Tombstones (deleted rules) older than the compacted history leave etcd: a rule-store
 * that would need one to resume needs history that is gone, and loads a snapshot,
 * which has no tombstone. A round looks at GC_SCAN rules of the view from where the last
 * stopped; each delete compares the tombstone's revision, so one rewritten since stays.
 * The views see the deletes like any, by the log value the txn puts with them (and
 * delete nothing of their own: keep_tombstones).
 */
static void
maint_gc(struct etcdstore *es)
{
	struct etcd_cmp *cmps = NULL;
	struct etcd_op *ops = NULL;
	size_t n = 0, max = es->max_txn_ops / 2 > 0 ? es->max_txn_ops / 2 : 1, seen = 0;
	uint8_t *keys = NULL, logkey[ETCDSTORE_PREFIX_MAX + 8];
	struct buf blob = { 0 };
	struct etcd_txn_result res;
	struct db_iter it;
	MDB_txn *txn;
	int r;

	if (es->compacted <= 0 || es->applied < es->gc_rev || db_read(es->db, &txn) < 0)
		return;
	if ((cmps = calloc(max, sizeof(*cmps))) == NULL ||
	    (ops = calloc(max + 1, sizeof(*ops))) == NULL ||
	    (keys = malloc(max * (es->plen + 16))) == NULL ||
	    db_iter_open(txn, es->db, DBI_RULES, NULL, 0, &it) < 0)
		goto out;
	if (es->gc_started)
		db_iter_seek(&it, es->gc_after, 8);
	while (n < max && seen < GC_SCAN && (r = db_iter_next(&it)) > 0) {
		struct db_rule rule;
		uint8_t *k = keys + n * (es->plen + 16);
		size_t kl;

		seen++;
		if (it.key.mv_size != 8 || it.val.mv_size != sizeof(rule))
			continue;
		memcpy(es->gc_after, it.key.mv_data, 8);
		memcpy(&rule, it.val.mv_data, sizeof(rule));
		if (rule.op != WIRE_RULE_DEL ||
		    (int64_t)(rule.seq >> SEQ_SHIFT) > es->compacted)
			continue;
		kl = table_key(es, DBI_RULES, it.key.mv_data, 8, k, es->plen + 16);
		cmps[n] = (struct etcd_cmp){ .target = ETCD_CMP_MOD, .result = ETCD_LESS,
		    .key = k, .key_len = kl, .rev = es->compacted + 1 };
		if (blob_table(&blob, ETCDBLOB_DEL, DBI_RULES, it.key.mv_data, 8, NULL, 0) < 0) {
			db_iter_close(&it);
			goto out;
		}
		ops[n++] = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = k, .key_len = kl };
	}
	/* At the end of the rules: the next round starts again from the first. */
	es->gc_started = seen == GC_SCAN || n == max;
	db_iter_close(&it);
	ops[n] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = logkey,
	    .key_len = named_key(es, LOG_KEY, logkey), .value = blob.p, .value_len = blob.len };
	if (n > 0 && etcd_txn(es->e, cmps, n, ops, n + 1, &res) == 0 && res.succeeded) {
		STATS_ADD(es->c, etcd_tombstones_collected, n);
		es->gc_rev = res.revision;
	}
out:
	mdb_txn_abort(txn);
	free(cmps);
	free(ops);
	free(keys);
	free(blob.p);
}

/* Compaction of what no view needs any more, and etcd's alarms, now and then. */
static void
on_maint(struct loop_timer *tm)
{
	struct etcdstore *es = tm->arg;
	struct etcd_status st;
	int64_t to = es->applied - (int64_t)es->compact_keep;

	if (etcd_status(es->e, &st) == 0) {
		STATS_SET(es->c, etcd_alarm_nospace, (st.alarms & ETCD_ALARM_NOSPACE) ? 1 : 0);
		STATS_SET(es->c, etcd_db_bytes, (uint64_t)st.db_size);
		if (st.alarms)
			log_warnx("etcd alarm raised:%s%s: etcd takes no write until it is "
			    "disarmed (docs/cluster.md)",
			    (st.alarms & ETCD_ALARM_NOSPACE) ? " NOSPACE (quota)" : "",
			    (st.alarms & ETCD_ALARM_CORRUPT) ? " CORRUPT" : "");
	}
	if (to > es->compacted && to > 0) {
		int rc = etcd_compact(es->e, to, false);

		/* Another controller may have compacted as far: that is as good. */
		if (rc == 0 || rc == -ESTALE) {
			es->compacted = to;
			STATS_INC(es->c, etcd_compactions);
		} else {
			log_warnx("etcd compaction to revision %lld: %s", (long long)to,
			    etcd_error(es->e));
		}
	}
	mdb_env_sync(es->db->env, 1);
	maint_gc(es);
	maint_defrag(es);
	if (es->l)
		loop_timer_set(es->l, &es->maint, es->maint_interval_ns);
}

int
etcdstore_attach(struct etcdstore *es, struct loop *l, struct stream *st)
{
	es->l = l;
	es->st = st;
	es->efd_op = (struct loop_op){ .cb = on_efd, .arg = es };
	efd_arm(es);
	loop_timer_set(l, &es->maint, es->maint_interval_ns);
	drain(es);
	return 0;
}

int
etcdstore_sync(struct etcdstore *es, uint64_t timeout_ns)
{
	int64_t newest;
	int rc;

	if ((rc = newest_change(es, &newest)) < 0)
		return rc;
	return catch_up(es, newest, timeout_ns);
}

int64_t
etcdstore_applied(const struct etcdstore *es)
{
	return es->applied;
}

size_t
etcdstore_log_key(const struct etcdstore *es, uint8_t *out, size_t max)
{
	return max >= es->plen + sizeof(LOG_KEY) - 1 ? named_key(es, LOG_KEY, out) : 0;
}

const struct model_backend *
etcdstore_backend(struct etcdstore *es)
{
	return &es->backend;
}

/* The cluster's format (how its records are laid out): set by the first controller. */
static int
check_format(struct etcdstore *es, char *err, size_t errlen)
{
	uint8_t key[ETCDSTORE_PREFIX_MAX + 16];
	size_t kl = named_key(es, FORMAT_KEY, key);
	char want[160];
	struct etcd_cmp cmp = { .target = ETCD_CMP_ABSENT, .key = key, .key_len = kl };
	struct etcd_op op = { .kind = ETCD_OP_PUT, .key = key, .key_len = kl, .value = want };
	struct etcd_txn_result res;
	struct etcd_kv kv;
	int rc;

	/*
	 * "log 2": the log value says the table writes (the views watch it alone); a
	 * cluster written before has txns whose writes a view would miss.
	 */
	snprintf(want, sizeof(want), "vpcfwd schema %u, %s-endian, vpc %zu host %zu vm %zu "
	    "rule %zu, log 2", DB_SCHEMA, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "little" :
	    "big", sizeof(struct db_vpc), sizeof(struct db_host), sizeof(struct db_vm),
	    sizeof(struct db_rule));
	op.value_len = strlen(want);
	if ((rc = etcd_txn(es->e, &cmp, 1, &op, 1, &res)) < 0) {
		snprintf(err, errlen, "etcd: %s", etcd_error(es->e));
		return rc;
	}
	if (res.succeeded)
		return 0;
	if ((rc = etcd_get(es->e, key, kl, &kv, NULL)) < 0) {
		snprintf(err, errlen, "etcd: %s", etcd_error(es->e));
		return rc;
	}
	if (kv.value_len != op.value_len || memcmp(kv.value, want, op.value_len) != 0) {
		snprintf(err, errlen, "etcd's prefix %s holds records of another format "
		    "(\"%.*s\"; this controller writes \"%s\")", es->prefix,
		    (int)(kv.value_len > 120 ? 120 : kv.value_len), (const char *)kv.value, want);
		return -EPROTO;
	}
	return 0;
}

int
etcdstore_open(struct etcdstore **out, struct db *db, const struct etcdstore_conf *conf,
    struct controller_counters *c, char *err, size_t errlen)
{
	struct etcdstore *es = calloc(1, sizeof(*es));
	char why[ETCD_ERROR_MAX];
	struct etcd_status st;
	uint64_t cluster = 0, rev = 0;
	int64_t newest;
	MDB_txn *txn;
	int rc;

	if (es == NULL)
		return -ENOMEM;
	*out = NULL;
	es->db = db;
	db->keep_tombstones = true;
	/*
	 * The view need not reach the disk at each commit: etcd holds what is committed,
	 * and a view that lost its last transactions in a power cut (LMDB keeps it whole)
	 * asks etcd for those revisions again, getting the same records at the same seqs
	 * (they follow from the revisions). The maintenance round syncs it.
	 */
	if ((rc = mdb_env_set_flags(db->env, MDB_NOSYNC, 1)) != 0) {
		snprintf(err, errlen, "the view: %s", mdb_strerror(rc));
		free(es);
		return -EIO;
	}
	es->c = c;
	es->efd = -1;
	es->plen = strlen(conf->prefix);
	if (es->plen == 0 || es->plen >= sizeof(es->prefix)) {
		snprintf(err, errlen, "controller.etcd.prefix must have 1 to %zu characters",
		    sizeof(es->prefix) - 1);
		free(es);
		return -EINVAL;
	}
	memcpy(es->prefix, conf->prefix, es->plen);
	es->max_txn_ops = conf->max_txn_ops;
	es->max_request_bytes = conf->max_request_bytes;
	es->sync_timeout_ns = conf->sync_timeout_ns;
	es->compact_keep = conf->compact_keep;
	es->maint_interval_ns = conf->maint_interval_ns;
	es->defrag_min_bytes = conf->defrag_min_bytes;
	snprintf(es->node, sizeof(es->node), "%s", conf->node ? conf->node : "?");
	es->maint = (struct loop_timer){ .fn = on_maint, .arg = es };
	/* Time for etcd to elect a new leader (1 s by default) and answer again. */
	es->settle_ns = 2ull * conf->etcd.timeout_ms * 1000000ull;
	if (getrandom(&es->self, sizeof(es->self), 0) != sizeof(es->self))
		es->self = clock_mono_ns() ^ ((uint64_t)getpid() << 32);
	es->cap = (struct db_capture){ .change = cap_change, .record = cap_record, .arg = es };
	es->backend = (struct model_backend){ .begin = cap_begin, .commit = es_commit,
	    .cap = &es->cap, .arg = es };
	pthread_mutex_init(&es->mu, NULL);
	pthread_cond_init(&es->cv, NULL);
	if ((rc = etcd_open(&es->e, &conf->etcd, why)) < 0 ||
	    (rc = etcd_open(&es->we, &conf->etcd, why)) < 0) {
		snprintf(err, errlen, "controller.etcd: %s", why);
		goto fail;
	}
	if ((es->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = etcd_status(es->e, &st)) < 0) {
		snprintf(err, errlen, "etcd: %s", etcd_error(es->e));
		goto fail;
	}
	if ((rc = check_format(es, err, errlen)) < 0)
		goto fail;
	if ((rc = db_read(db, &txn)) < 0) {
		snprintf(err, errlen, "the view: %s", strerror(-rc));
		goto fail;
	}
	db_meta_get(txn, db, "etcd_cluster", 0, &cluster);
	db_meta_get(txn, db, "etcd_revision", 0, &rev);
	mdb_txn_abort(txn);
	if (cluster != st.cluster_id || rev == 0 || (int64_t)rev > st.revision) {
		struct db_txn t;

		/* Another cluster's view (or none): from nothing, etcd's history first. */
		if (cluster || rev)
			log_warnx("the view in the data directory is of etcd cluster %llx at "
			    "revision %llu, this is cluster %llx at %lld: starting it again",
			    (unsigned long long)cluster, (unsigned long long)rev,
			    (unsigned long long)st.cluster_id, (long long)st.revision);
		if ((rc = db_begin(db, &t)) < 0 || (rc = db_clear(&t, 1)) < 0 ||
		    (rc = db_meta_put(&t, "etcd_cluster", st.cluster_id)) < 0 ||
		    (rc = db_meta_put(&t, "etcd_revision", 0)) < 0 ||
		    (rc = db_commit(&t)) < 0) {
			snprintf(err, errlen, "the view: %s", strerror(-rc));
			goto fail;
		}
		rev = 0;
	}
	es->applied = (int64_t)rev;
	es->watch_from = (int64_t)rev + 1;
	if ((rc = pthread_create(&es->thread, NULL, watch_main, es)) != 0) {
		rc = -rc;
		snprintf(err, errlen, "watch thread: %s", strerror(-rc));
		goto fail;
	}
	es->thread_on = true;
	/* Serve nothing older than what etcd holds now. */
	if ((rc = newest_change(es, &newest)) < 0) {
		snprintf(err, errlen, "etcd: %s", etcd_error(es->e));
		goto fail;
	}
	if ((rc = catch_up(es, newest, 600ull * 1000000000ull)) < 0) {
		snprintf(err, errlen, "the view did not reach etcd's revision %lld (it holds "
		    "%lld)", (long long)newest, (long long)es->applied);
		goto fail;
	}
	es->cluster = st.cluster_id;
	{
		uint8_t ek[ETCDSTORE_PREFIX_MAX + 16];
		struct etcd_kv kv;

		rc = etcd_get(es->e, ek, named_key(es, EPOCH_KEY, ek), &kv, NULL);
		if (rc < 0 && rc != -ENOENT) {
			snprintf(err, errlen, "etcd: %s", etcd_error(es->e));
			goto fail;
		}
		db->epoch = rc == 0 ? parse_epoch(kv.value, kv.value_len, st.cluster_id) :
		    st.cluster_id;
	}
	log_info("store: etcd cluster %llx (%s, etcd %s), view at revision %lld, epoch "
	    "%016llx", (unsigned long long)st.cluster_id, etcd_endpoint(es->e), st.version,
	    (long long)es->applied, (unsigned long long)db->epoch);
	*out = es;
	return 0;
fail:
	etcdstore_close(es);
	return rc;
}

void
etcdstore_close(struct etcdstore *es)
{
	struct wbatch *b, *next;

	if (es == NULL)
		return;
	atomic_store(&es->stop, 1);
	pthread_mutex_lock(&es->mu);
	pthread_cond_broadcast(&es->cv);
	pthread_mutex_unlock(&es->mu);
	if (es->thread_on)
		pthread_join(es->thread, NULL);
	if (es->l)
		loop_timer_cancel(es->l, &es->maint);
	for (b = queue_take(es); b; b = next) {
		next = b->next;
		free(b);
	}
	etcd_close(es->e);
	etcd_close(es->we);
	if (es->efd >= 0)
		close(es->efd);
	pthread_mutex_destroy(&es->mu);
	pthread_cond_destroy(&es->cv);
	free(es->arena.p);
	free(es->blob.p);
	free(es->out.p);
	free(es->ents);
	free(es->slot);
	free(es);
}

/* ---- Restore: a backup (an LMDB data file) into etcd, over whatever is there. ---- */

struct restore {
	struct etcdstore *es;
	struct etcd_op *ops;
	size_t nops, bytes;
	struct buf keys;		/* the ops' keys and values until they are sent */
	struct buf blob;		/* the log value saying them, for the views */
	uint64_t txns, records;
};

static int
restore_flush(struct restore *r)
{
	struct etcd_txn_result res;
	uint8_t key[ETCDSTORE_PREFIX_MAX + 16], logkey[ETCDSTORE_PREFIX_MAX + 8];
	struct etcd_cmp cmp = { .target = ETCD_CMP_VERSION, .result = ETCD_GREATER,
	    .key = key, .key_len = named_key(r->es, RESTORING_KEY, key) };
	int rc;

	if (r->nops == 0)
		return 0;
	/* The views follow the log key alone: its value says the puts (restore_put). */
	r->ops[r->nops++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = logkey,
	    .key_len = named_key(r->es, LOG_KEY, logkey), .value = r->blob.p,
	    .value_len = r->blob.len };
	/* Only while this restore holds the key: a second restore started meanwhile wins. */
	if ((rc = etcd_txn(r->es->e, &cmp, 1, r->ops, r->nops, &res)) < 0)
		return rc;
	if (!res.succeeded)
		return -ECANCELED;
	r->txns++;
	r->nops = r->bytes = 0;
	r->keys.len = r->blob.len = 0;
	return 0;
}

/* One record of the backup as a put; the ops point into keys, so a flush comes first. */
static int
restore_put(struct restore *r, enum db_dbi dbi, const MDB_val *k, const void *v,
    size_t vlen)
{
	size_t need = r->es->plen + 16 + k->mv_size + vlen, off, kl;
	size_t entry = 5 + k->mv_size + vlen;	/* its PUT entry in the log value */
	int rc;

	if ((r->nops + 2 > r->es->max_txn_ops ||
	    (r->bytes + need + entry) * 4 / 3 + 96 * (r->nops + 2) >
	    r->es->max_request_bytes / 2 ||
	    r->keys.len + need > r->keys.cap) && (rc = restore_flush(r)) < 0)
		return rc;
	if (r->keys.len + need > r->keys.cap)
		return -E2BIG;		/* one record larger than a request: cannot be */
	off = r->keys.len;
	kl = table_key(r->es, dbi, k->mv_data, k->mv_size, r->keys.p + off, need);
	if ((rc = blob_table(&r->blob, ETCDBLOB_PUT, dbi, k->mv_data, k->mv_size, v,
	    vlen)) < 0)
		return rc;
	memcpy(r->keys.p + off + kl, v, vlen);
	r->keys.len += kl + vlen;
	r->ops[r->nops++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = r->keys.p + off,
	    .key_len = kl, .value = r->keys.p + off + kl, .value_len = vlen };
	r->bytes += kl + vlen + entry;
	r->records++;
	return 0;
}

/* The meta keys' puts and deletes that begin or end a restore, in one txn. */
static int
restore_meta(struct etcdstore *es, bool begin, uint64_t epoch)
{
	uint8_t rk[ETCDSTORE_PREFIX_MAX + 16], ek[ETCDSTORE_PREFIX_MAX + 16],
	    lk[ETCDSTORE_PREFIX_MAX + 8], tk[DBI_COUNT][ETCDSTORE_PREFIX_MAX + 16],
	    te[DBI_COUNT][ETCDSTORE_PREFIX_MAX + 16];
	char ev[32];
	struct etcd_op ops[DBI_COUNT + 4];
	struct etcd_txn_result res;
	struct buf blob = { 0 };
	uint8_t eb[8];
	size_t n = 0;
	int rc = 0;

	snprintf(ev, sizeof(ev), "%016llx", (unsigned long long)epoch);
	if (begin) {
		ops[n++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = rk,
		    .key_len = named_key(es, RESTORING_KEY, rk), .value = ev,
		    .value_len = strlen(ev) };
		/* Every table's keys go: what the backup lacks must not stay. */
		for (int d = 0; d < DBI_COUNT; d++) {
			size_t kl;

			if (d == DBI_META || d == DBI_LOG)
				continue;
			kl = table_key(es, d, "", 0, tk[d], sizeof(tk[d]));
			ops[n++] = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = tk[d],
			    .key_len = kl, .end = te[d], .end_len = etcd_prefix_end(tk[d], kl,
			    te[d]) };
			if (rc == 0)
				rc = blob_table(&blob, ETCDBLOB_DELPFX, d, "", 0, NULL, 0);
		}
	} else {
		ops[n++] = (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = rk,
		    .key_len = named_key(es, RESTORING_KEY, rk) };
		/* For etcdstore_open; the views see the epoch in the log value. */
		ops[n++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = ek,
		    .key_len = named_key(es, EPOCH_KEY, ek), .value = ev,
		    .value_len = strlen(ev) };
		bytes_put64(eb, epoch);
		rc = blob_add(&blob, ETCDBLOB_EPOCH, eb, sizeof(eb));
	}
	/* A change like any other's: views apply it, and catch up to it (newest_change). */
	ops[n++] = (struct etcd_op){ .kind = ETCD_OP_PUT, .key = lk,
	    .key_len = named_key(es, LOG_KEY, lk), .value = blob.p, .value_len = blob.len };
	if (rc == 0)
		rc = etcd_txn(es->e, NULL, 0, ops, n, &res);
	free(blob.p);
	return rc;
}

int
etcdstore_restore(const struct etcdstore_conf *conf, const char *file)
{
	struct etcdstore es = { .plen = strlen(conf->prefix),
	    .max_txn_ops = conf->max_txn_ops, .max_request_bytes = conf->max_request_bytes };
	struct restore r = { .es = &es };
	uint64_t counts[DBI_COUNT] = { 0 }, schema = 0, epoch = 0;
	MDB_dbi dbi[DBI_COUNT];
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	char why[ETCD_ERROR_MAX], err[512];
	int rc;

	if (es.plen == 0 || es.plen >= sizeof(es.prefix)) {
		fprintf(stderr, "vpcfwd-controller: controller.etcd.prefix is too long\n");
		return 1;
	}
	memcpy(es.prefix, conf->prefix, es.plen);
	/* Before etcd is touched: a file cut short would be SIGBUS halfway through. */
	if (backup_file_check(file, err, sizeof(err)) < 0) {
		fprintf(stderr, "vpcfwd-controller: %s\n", err);
		return 1;
	}
	if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, DBI_COUNT)) != 0 ||
	    (rc = mdb_env_open(env, file, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		fprintf(stderr, "vpcfwd-controller: %s: not a controller backup: %s\n", file,
		    mdb_strerror(rc));
		goto fail_env;
	}
	for (int d = 0; d < DBI_COUNT; d++)
		if ((rc = mdb_dbi_open(txn, db_dbi_name(d), 0, &dbi[d])) != 0) {
			fprintf(stderr, "vpcfwd-controller: %s: not a controller backup (no "
			    "table %s)\n", file, db_dbi_name(d));
			goto fail_env;
		}
	{
		MDB_val k = { .mv_size = 6, .mv_data = "schema" }, v;

		if (mdb_get(txn, dbi[DBI_META], &k, &v) == 0 && v.mv_size == 8)
			memcpy(&schema, v.mv_data, 8);
	}
	if (schema != DB_SCHEMA) {
		fprintf(stderr, "vpcfwd-controller: %s: database schema %llu, this controller "
		    "reads %u\n", file, (unsigned long long)schema, DB_SCHEMA);
		goto fail_env;
	}
	if ((rc = etcd_open(&es.e, &conf->etcd, why)) < 0) {
		fprintf(stderr, "vpcfwd-controller: controller.etcd: %s\n", why);
		goto fail_env;
	}
	if ((rc = check_format(&es, err, sizeof(err))) < 0) {
		fprintf(stderr, "vpcfwd-controller: %s\n", err);
		goto fail;
	}
	r.keys.cap = conf->max_request_bytes;
	if ((r.keys.p = malloc(r.keys.cap)) == NULL ||
	    (r.ops = calloc(conf->max_txn_ops, sizeof(*r.ops))) == NULL) {
		fprintf(stderr, "vpcfwd-controller: out of memory\n");
		goto fail;
	}
	while (epoch == 0)
		epoch = mix64((uint64_t)clock_real_ns() ^ (uint64_t)getpid() << 32 ^
		    (uint64_t)model_draw_gen(0));
	if ((rc = restore_meta(&es, true, epoch)) < 0) {
		fprintf(stderr, "vpcfwd-controller: etcd: %s\n", etcd_error(es.e));
		goto fail;
	}
	for (int d = 0; d < DBI_COUNT && rc == 0; d++) {
		MDB_cursor *cur;
		MDB_val k, v;
		int g;

		if (d == DBI_META || d == DBI_LOG)
			continue;
		if ((rc = mdb_cursor_open(txn, dbi[d], &cur)) != 0) {
			rc = -EIO;
			break;
		}
		for (g = mdb_cursor_get(cur, &k, &v, MDB_FIRST); g == 0 && rc == 0;
		    g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (d == DBI_VPCS && v.mv_size == sizeof(struct db_vpc)) {
				struct db_vpc vpc;

				/* A generation no learner can hold for any other state. */
				memcpy(&vpc, v.mv_data, sizeof(vpc));
				vpc.gen = model_draw_gen(vpc.gen);
				rc = restore_put(&r, d, &k, &vpc, sizeof(vpc));
			} else {
				rc = restore_put(&r, d, &k, v.mv_data, v.mv_size);
			}
			counts[d]++;
		}
		mdb_cursor_close(cur);
		if (rc == 0 && g != MDB_NOTFOUND)
			rc = -EIO;
	}
	if (rc == 0)
		rc = restore_flush(&r);
	if (rc == 0)
		rc = restore_meta(&es, false, epoch);
	if (rc < 0) {
		fprintf(stderr, "vpcfwd-controller: restore into etcd stopped: %s; etcd holds "
		    "part of it and takes no change until a restore completes: run it again\n",
		    rc == -ECANCELED ? "another restore started" : rc == -EIO ?
		    "the backup cannot be read whole" : etcd_error(es.e));
		goto fail;
	}
	printf("restored %s into etcd (%s, prefix %s) in %llu txns: %llu VPCs (each a new "
	    "generation), %llu hosts, %llu VMs, %llu rules; epoch %016llx. Every controller "
	    "sends its rule-stores and learners away to start again on it.\n", file,
	    etcd_endpoint(es.e), es.prefix, (unsigned long long)r.txns + 2,
	    (unsigned long long)counts[DBI_VPCS], (unsigned long long)counts[DBI_HOSTS],
	    (unsigned long long)counts[DBI_VMS], (unsigned long long)counts[DBI_RULES],
	    (unsigned long long)epoch);
	free(r.keys.p);
	free(r.blob.p);
	free(r.ops);
	etcd_close(es.e);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
fail:
	free(r.keys.p);
	free(r.blob.p);
	free(r.ops);
	etcd_close(es.e);
fail_env:
	if (txn)
		mdb_txn_abort(txn);
	if (env)
		mdb_env_close(env);
	return 1;
}
