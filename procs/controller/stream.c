/*
 * stream: see stream.h. Each subscriber is a small state machine: HELLO, then SNAPSHOT
 * (a read transaction walked VPC by VPC) or LOG (records copied from the log by seq),
 * or BINDINGS. A subscriber is filled only while it has less than FILL_HIGH bytes
 * queued, so a slow one costs memory bounded by its buffer, never the controller's
 * time; one that falls past the log's retention gets a snapshot instead.
 *
 * Invariant: a LOG subscriber has been sent every record before next_seq, in order, of
 * the history the log belongs to (db->epoch): one whose HELLO names another history,
 * or none, starts with a snapshot whatever its seq. With TLS, a subscriber is past
 * SUB_HELLO only if its certificate allows the stream it asked for (authorized()).
 */
#include "stream.h"
#include "common/bytes.h"
#include "common/conn.h"
#include "common/grow.h"
#include "common/log.h"
#include "common/tls.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_HIGH	(256 * 1024)	/* stop filling a subscriber at this many bytes */
#define SNAP_STEP	512		/* snapshot records made per fill round */

/* SUB_CLOSING: conn_close was called; only `closed` is left to come. */
enum sub_state { SUB_HELLO, SUB_SNAPSHOT, SUB_LOG, SUB_BINDINGS, SUB_CLOSING };

/*
 * A snapshot being made: one read transaction, so the state at one seq, walked VPC by
 * VPC (each VPC's rules, tombstones included, then its VPC SNAPSHOT record).
 */
struct snap {
	uint32_t part_vni;	/* a snapshot of this VPC alone (a WANT's answer); 0: all */
	MDB_txn *txn;
	struct db_iter vnis;
	struct db_iter rules;
	struct db_iter hosts;	/* after the VPCs: every host's VTEP (a HOST ADD each) */
	bool in_vpc;
	bool in_hosts;
	struct db_vpc vpc;
	uint64_t seq;
};

struct sub {
	struct stream *s;
	struct conn *c;
	enum sub_state state;
	char node[WIRE_NAME_MAX];
	char host[WIRE_NAME_MAX];
	uint64_t next_seq;
	uint64_t last_send_ns;
	struct snap snap;	/* SUB_SNAPSHOT */
	bool has_status;	/* a rule-store's STATUS: its table's room, its gaps */
	struct wire_status status;
	bool want;		/* a WANT waits for the stream to be caught up */
	uint32_t want_vni;
	struct sub *prev, *next;
};

struct stream {
	struct loop *l;
	struct db *db;
	struct listener *ls;
	struct sub *subs;
	uint32_t nsubs;
	struct stream_params p;
	struct controller_counters *c;
	struct loop_timer hb;
	struct log_ratelimit rl;
	bool freeing;		/* stream_free was called: the last sub to close frees it */
	bool stale;		/* stream_set_current(false): no subscriber is served */
	char stale_why[WIRE_ERROR_MAX];
};

static void fill(struct sub *sub);
static void snap_close(struct snap *sn);

static void
gauges(struct stream *s)
{
	uint32_t rules = 0, binds = 0;

	for (struct sub *sub = s->subs; sub; sub = sub->next) {
		rules += sub->state == SUB_SNAPSHOT || sub->state == SUB_LOG;
		binds += sub->state == SUB_BINDINGS;
	}
	STATS_SET(s->c, subs_rules, rules);
	STATS_SET(s->c, subs_bindings, binds);
	{
		uint32_t inc = 0;

		for (struct sub *sub = s->subs; sub; sub = sub->next)
			inc += sub->has_status && sub->status.incomplete > 0;
		STATS_SET(s->c, gateways_incomplete, inc);
	}
	STATS_SET(s->c, log_seq, s->db->last_seq);
	STATS_SET(s->c, log_first, s->db->log_first);
}

/* Close a subscriber, once: a failed send drops it, and its caller may try again. */
static void
drop(struct sub *sub, const char *why)
{
	if (sub->state == SUB_CLOSING)
		return;
	log_warnx_rl(&sub->s->rl, "subscriber %s%s%s: %s; closing it", sub->node[0] ?
	    sub->node : "?", sub->host[0] ? " host " : "", sub->host, why);
	STATS_INC(sub->s->c, subs_dropped);
	snap_close(&sub->snap);
	sub->state = SUB_CLOSING;
	conn_close(sub->c, false);
}

static int
send_msg(struct sub *sub, const struct wire_msg *m)
{
	uint8_t *p = conn_reserve(sub->c, WIRE_LEN_SIZE + WIRE_RECORD_MAX);
	int n;

	if (p == NULL) {
		drop(sub, "too slow (its buffer is full)");
		return -ENOBUFS;
	}
	if ((n = wire_encode(m, p, WIRE_LEN_SIZE + WIRE_RECORD_MAX)) < 0) {
		char why[96];

		/* Skipping the record would leave a hole the subscriber cannot see. */
		conn_commit(sub->c, 0);
		snprintf(why, sizeof(why), "cannot encode a %s record (%s)",
		    wire_type_name(m->type), strerror(-n));
		drop(sub, why);
		return n;
	}
	conn_commit(sub->c, n);
	sub->last_send_ns = loop_now(sub->s->l);
	STATS_INC(sub->s->c, records_sent);
	return 0;
}

/* The log holds every record after `last`: a subscriber there can be fed from it. */
static bool
log_holds_after(const struct db *db, uint64_t last)
{
	return last <= db->last_seq && last + 1 >= db->log_first;
}

/*
 * Whether a rule-store that applied every record up to `last` of history `epoch` (its
 * HELLO) starts with a snapshot: its history is not the log's (a restore, another
 * store: its seq means nothing here, whatever its value), or not known (0: a new table
 * too, which learns it from the snapshot, an empty one on an empty log); it is new
 * while we have records; it is ahead of us (our state was replaced; an empty log too:
 * the snapshot is then empty, at seq 0); or the log no longer holds the record after
 * it. Otherwise it gets the log from last + 1.
 */
static bool
needs_snapshot(const struct db *db, uint64_t last, uint64_t epoch)
{
	if (epoch == 0 || epoch != db->epoch)
		return true;
	if (last == 0)
		return db->last_seq > 0;
	return !log_holds_after(db, last);
}

/* A HELLO that applied records of another history than the log's, or of one not known. */
static bool
other_history(const struct db *db, const struct wire_hello *h)
{
	return h->epoch != db->epoch && (h->epoch != 0 || h->last_seq != 0);
}

static void
snap_close(struct snap *sn)
{
	db_iter_close(&sn->hosts);
	db_iter_close(&sn->rules);
	db_iter_close(&sn->vnis);
	if (sn->txn)
		mdb_txn_abort(sn->txn);
	sn->txn = NULL;
}

/* Records of one VPC's snapshot: its rules (tombstones too), then its VPC record. */
static int
part_count(struct snap *sn, struct db *db, uint32_t vni, const uint8_t key[4], uint64_t *n)
{
	char name[DB_NAME_MAX];
	struct db_iter it;
	int r;

	*n = db_vpc_by_vni(sn->txn, db, vni, name) == 0;
	if ((r = db_iter_open(sn->txn, db, DBI_RULES, key, 4, &it)) < 0)
		return r;
	while ((r = db_iter_next(&it)) > 0)
		++*n;
	db_iter_close(&it);
	return r;
}

/*
 * A snapshot of the state at db->last_seq, of every VPC or (part_vni) of one; *begin is
 * its SNAP_BEGIN or PART_BEGIN. 0 or negative errno.
 */
static int
snap_open(struct snap *sn, struct db *db, uint32_t part_vni, struct wire_msg *begin)
{
	uint8_t key[4];
	uint64_t count;
	int rc;

	bytes_put32(key, part_vni);
	*sn = (struct snap){ .part_vni = part_vni };
	if ((rc = db_read(db, &sn->txn)) < 0)
		return rc;
	if ((rc = db_iter_open(sn->txn, db, DBI_VNI, part_vni ? key : NULL, part_vni ? 4 : 0,
	    &sn->vnis)) < 0 || (part_vni && (rc = part_count(sn, db, part_vni, key, &count)) < 0)) {
		snap_close(sn);
		return rc;
	}
	/* The read transaction began after the last commit: it is the state at last_seq. */
	sn->seq = db->last_seq;
	if (part_vni) {
		*begin = (struct wire_msg){ .type = WIRE_PART_BEGIN };
		begin->u.part = (struct wire_part){ .seq = sn->seq, .count = count,
		    .vni = part_vni, .epoch = db->epoch };
		return 0;
	}
	*begin = (struct wire_msg){ .type = WIRE_SNAP_BEGIN };
	begin->u.snap.seq = sn->seq;
	begin->u.snap.epoch = db->epoch;
	begin->u.snap.count = db_count(sn->txn, db, DBI_RULES) + db_count(sn->txn, db, DBI_VNI) +
	    db_count(sn->txn, db, DBI_HOSTS);
	return 0;
}

/* A host record made from a hosts-DB entry: false when the entry does not read. */
static bool
host_record(const struct db_iter *it, uint64_t seq, struct wire_msg *m)
{
	struct db_host h;

	if (it->val.mv_size != sizeof(h))
		return false;
	memcpy(&h, it->val.mv_data, sizeof(h));
	*m = (struct wire_msg){ .type = WIRE_HOST };
	m->u.host = (struct wire_host){ .seq = seq, .vtep = h.vtep, .kind = db_host_kind(&h),
	    .op = WIRE_HOST_ADD };
	return true;
}

/* The snapshot's hosts part: as snap_next. */
static int
snap_next_host(struct snap *sn, struct wire_msg *m)
{
	int r;

	if ((r = db_iter_next(&sn->hosts)) < 0)
		goto fail;
	if (r == 0) {
		*m = (struct wire_msg){ .type = WIRE_SNAP_END };
		m->u.snap.seq = sn->seq;
		snap_close(sn);
		return 0;
	}
	r = -EBADMSG;
	if (!host_record(&sn->hosts, sn->seq, m))
		goto fail;
	return 1;
fail:
	snap_close(sn);
	return r;
}

/*
 * The snapshot's next record: 1 with *m a RULE, a VPC SNAPSHOT or (a whole snapshot,
 * after the VPCs) a HOST; 0 with *m its
 * SNAP_END, the snapshot closed; a negative errno, the snapshot closed, when the
 * database does not read as it should.
 */
static int
snap_next(struct snap *sn, struct db *db, struct wire_msg *m)
{
	char name[DB_NAME_MAX];
	struct db_rule rule;
	int r;

	if (sn->in_hosts)
		return snap_next_host(sn, m);
	if (!sn->in_vpc) {
		if ((r = db_iter_next(&sn->vnis)) < 0)
			goto fail;
		if (r == 0 && !sn->part_vni) {
			/* Every VPC is out: the hosts' VTEPs, then the end. */
			if ((r = db_iter_open(sn->txn, db, DBI_HOSTS, NULL, 0, &sn->hosts)) < 0)
				goto fail;
			sn->in_hosts = true;
			return snap_next_host(sn, m);
		}
		if (r == 0) {
			*m = (struct wire_msg){ .type = WIRE_SNAP_END };
			m->u.snap.seq = sn->seq;
			snap_close(sn);
			return 0;
		}
		r = -EBADMSG;
		if (sn->vnis.val.mv_size == 0 || sn->vnis.val.mv_size >= sizeof(name))
			goto fail;
		memcpy(name, sn->vnis.val.mv_data, sn->vnis.val.mv_size);
		name[sn->vnis.val.mv_size] = '\0';
		if ((r = db_get_vpc(sn->txn, db, name, &sn->vpc)) < 0 ||
		    (r = db_iter_open(sn->txn, db, DBI_RULES, sn->vnis.key.mv_data, 4,
		    &sn->rules)) < 0)
			goto fail;
		sn->in_vpc = true;
	}
	if ((r = db_iter_next(&sn->rules)) < 0)
		goto fail;
	if (r == 0) {
		/* The VPC's rules are all out: it is complete at (gen, version). */
		db_iter_close(&sn->rules);
		sn->in_vpc = false;
		*m = (struct wire_msg){ .type = WIRE_VPC };
		m->u.vpc = (struct wire_vpc){ .seq = sn->seq, .vni = sn->vpc.vni,
		    .gen = sn->vpc.gen, .version = sn->vpc.version, .op = WIRE_VPC_SNAPSHOT };
		return 1;
	}
	r = -EBADMSG;
	if (sn->rules.val.mv_size != sizeof(rule) || sn->rules.key.mv_size != 8)
		goto fail;
	memcpy(&rule, sn->rules.val.mv_data, sizeof(rule));
	*m = (struct wire_msg){ .type = WIRE_RULE };
	m->u.rule = (struct wire_rule){ .seq = rule.seq, .vni = sn->vpc.vni,
	    .ip = bytes_get32((const uint8_t *)sn->rules.key.mv_data + 4), .vtep = rule.vtep,
	    .op = rule.op, .flags = rule.flags, .version = rule.version };
	memcpy(m->u.rule.mac, rule.mac, 6);
	return 1;
fail:
	snap_close(sn);
	return r;
}

/* A snapshot of every VPC (part_vni 0) or of one, at the newest seq. */
static void
snap_start(struct sub *sub, uint32_t part_vni)
{
	struct wire_msg m;

	if (snap_open(&sub->snap, sub->s->db, part_vni, &m) < 0) {
		drop(sub, "cannot read the database for a snapshot");
		return;
	}
	sub->state = SUB_SNAPSHOT;
	if (part_vni) {
		STATS_INC(sub->s->c, vpc_snapshots);
		log_info("snapshot of VPC %u at seq %llu (%llu records) for rule-store %s",
		    part_vni, (unsigned long long)m.u.part.seq,
		    (unsigned long long)m.u.part.count, sub->node);
	} else {
		STATS_INC(sub->s->c, snapshots);
		log_info("snapshot at seq %llu of epoch %016llx (%llu records) for rule-store %s",
		    (unsigned long long)m.u.snap.seq, (unsigned long long)m.u.snap.epoch,
		    (unsigned long long)m.u.snap.count, sub->node);
	}
	send_msg(sub, &m);
}

/* Up to SNAP_STEP records of the snapshot; 0 when it is complete, -1 on error. */
static int
snap_step(struct sub *sub)
{
	struct wire_msg m;
	int r;

	for (int i = 0; i < SNAP_STEP; i++) {
		if ((r = snap_next(&sub->snap, sub->s->db, &m)) < 0) {
			drop(sub, "the database changed under a snapshot");
			return -1;
		}
		if (r == 0) {
			sub->state = SUB_LOG;
			sub->next_seq = sub->snap.seq + 1;
			return send_msg(sub, &m) < 0 ? -1 : 0;
		}
		if (send_msg(sub, &m) < 0)
			return -1;
	}
	return 1;
}

/* Copy log records from next_seq while there is room; -1 when the sub was dropped. */
static int
log_copy(struct sub *sub)
{
	struct db *db = sub->s->db;
	struct db_iter it;
	MDB_txn *txn;
	uint8_t after[8];
	uint64_t seq = sub->next_seq - 1;
	int r = 0;

	for (int i = 7; i >= 0; i--, seq >>= 8)
		after[i] = (uint8_t)seq;
	if (db_read(db, &txn) < 0) {
		drop(sub, "cannot read the log");
		return -1;
	}
	if (db_iter_open(txn, db, DBI_LOG, NULL, 0, &it) < 0 ||
	    db_iter_seek(&it, after, 8) < 0)
		goto fail;
	while (conn_pending(sub->c) < FILL_HIGH && sub->next_seq <= db->last_seq) {
		uint64_t at;

		if ((r = db_iter_next(&it)) < 0 || (r > 0 && it.key.mv_size != 8))
			goto fail;
		/*
		 * An etcd view's seqs have gaps (docs/cluster.md): the next record is the next
		 * key, and none left below last_seq means the sub is caught up.
		 */
		if (r == 0 || (at = bytes_get64(it.key.mv_data)) > db->last_seq) {
			sub->next_seq = db->last_seq + 1;
			break;
		}
		if (at < sub->next_seq)
			goto fail;
		if (it.val.mv_size <= WIRE_LEN_SIZE || wire_payload_version((uint8_t *)
		    it.val.mv_data + WIRE_LEN_SIZE, it.val.mv_size - WIRE_LEN_SIZE) !=
		    WIRE_VERSION) {
			/*
			 * Written by a controller of an older stream version: not these bytes.
			 * Never met (a subscriber resumes only after a snapshot of this
			 * version), but a snapshot is always a right answer.
			 */
			db_iter_close(&it);
			mdb_txn_abort(txn);
			snap_start(sub, 0);
			return sub->state == SUB_CLOSING ? -1 : 0;
		}
		if (conn_send(sub->c, it.val.mv_data, it.val.mv_size) < 0) {
			db_iter_close(&it);
			mdb_txn_abort(txn);
			drop(sub, "too slow (its buffer is full)");
			return -1;
		}
		sub->next_seq = at + 1;
		sub->last_send_ns = loop_now(sub->s->l);
		STATS_INC(sub->s->c, records_sent);
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
	return 0;
fail:
	db_iter_close(&it);
	mdb_txn_abort(txn);
	drop(sub, "the log has a hole");
	return -1;
}

static void
fill(struct sub *sub)
{
	struct db *db = sub->s->db;

	while (conn_pending(sub->c) < FILL_HIGH) {
		if (sub->state == SUB_SNAPSHOT) {
			if (snap_step(sub) < 0)
				return;
		} else if (sub->state == SUB_LOG) {
			if (sub->next_seq > db->last_seq && sub->want) {
				/* Caught up: the snapshot is at the seq the rule-store applied. */
				sub->want = false;
				snap_start(sub, sub->want_vni);
				continue;
			}
			if (sub->next_seq > db->last_seq)
				return;
			if (!log_holds_after(db, sub->next_seq - 1)) {
				/* It fell behind the log's retention while it was being fed. */
				snap_start(sub, 0);
				continue;
			}
			if (log_copy(sub) < 0)
				return;
		} else {
			return;
		}
	}
}

/*
 * The binding feed starts with every VM of the host and every host's VTEP, between
 * SNAP_BEGIN and END.
 */
static int
bindings_start(struct sub *sub)
{
	struct db *db = sub->s->db;
	struct wire_msg *msgs = NULL, m;
	size_t n = 0, cap = 0, hl = strlen(sub->host) + 1;
	uint64_t seq = db->last_seq;
	struct db_iter it;
	MDB_txn *txn;
	uint8_t prefix[WIRE_NAME_MAX + 1];
	int r;

	memcpy(prefix, sub->host, hl);	/* host name and its NUL */
	if (db_read(db, &txn) < 0)
		return -1;
	/* host_tap: host name, 0, TAP -> VM name: the VMs of the host. */
	if ((r = db_iter_open(txn, db, DBI_HOST_TAP, prefix, hl, &it)) < 0)
		goto out;
	while ((r = db_iter_next(&it)) > 0) {
		char name[DB_NAME_MAX];
		struct db_vm vm;

		if (it.val.mv_size == 0 || it.val.mv_size >= sizeof(name))
			continue;
		memcpy(name, it.val.mv_data, it.val.mv_size);
		name[it.val.mv_size] = '\0';
		if (db_get_vm(txn, db, name, &vm) < 0)
			continue;
		if ((r = grow(&msgs, &cap, n, sizeof(*msgs), 64)) < 0)
			break;
		msgs[n] = (struct wire_msg){ .type = WIRE_BIND };
		msgs[n].u.bind = (struct wire_bind){ .seq = seq, .vni = vm.vni, .ip = vm.ip,
		    .op = WIRE_BIND_ADD };
		memcpy(msgs[n].u.bind.mac, vm.mac, 6);
		memcpy(msgs[n].u.bind.tap, vm.tap, sizeof(vm.tap));
		n++;
	}
	db_iter_close(&it);
	/* Every host's VTEP: the vswitch's allow-list (docs/forwarder.md). */
	if (r >= 0 && (r = db_iter_open(txn, db, DBI_HOSTS, NULL, 0, &it)) == 0) {
		while ((r = db_iter_next(&it)) > 0) {
			if ((r = grow(&msgs, &cap, n, sizeof(*msgs), 64)) < 0)
				break;
			if (host_record(&it, seq, &msgs[n]))
				n++;
		}
		db_iter_close(&it);
	}
out:
	mdb_txn_abort(txn);
	if (r < 0) {
		free(msgs);
		return -1;
	}
	m = (struct wire_msg){ .type = WIRE_SNAP_BEGIN, .u.snap = { .seq = seq, .count = n,
	    .epoch = db->epoch } };
	r = send_msg(sub, &m);
	for (size_t i = 0; i < n && r == 0; i++)
		r = send_msg(sub, &msgs[i]);
	free(msgs);
	if (r < 0)
		return -1;
	m = (struct wire_msg){ .type = WIRE_SNAP_END, .u.snap = { .seq = seq } };
	sub->state = SUB_BINDINGS;
	return send_msg(sub, &m);
}

/* Tell the subscriber why (WIRE_ERROR), then close; the caller counted it. */
static void
refuse_(struct sub *sub, int code, const char *msg)
{
	struct wire_msg m = { .type = WIRE_ERROR };

	m.u.error.code = code;
	snprintf(m.u.error.msg, sizeof(m.u.error.msg), "%s", msg);
	log_warnx_rl(&sub->s->rl, "subscription refused: %s", msg);
	send_msg(sub, &m);
	snap_close(&sub->snap);
	sub->state = SUB_CLOSING;
	conn_close(sub->c, true);
}

static void
refuse(struct sub *sub, int code, const char *msg)
{
	STATS_INC(sub->s->c, subs_refused);
	refuse_(sub, code, msg);
}

/*
 * What a certificate allows (docs/protocol.md, "TLS and identities"): "gateway:*" the
 * rule log, "host:NAME" the binding feed of host NAME. 0, or -1 after refusing.
 */
static int
authorized(struct sub *sub, const struct wire_hello *h)
{
	const char *peer = conn_peer(sub->c);
	char msg[WIRE_ERROR_MAX];

	if (sub->s->p.tls == NULL)
		return 0;
	/* Frames come only after the handshake, so a peer is always named here. */
	assert(peer != NULL);
	if (h->stream == WIRE_STREAM_BINDINGS ? h->host[0] != '\0' &&
	    strncmp(peer, "host:", 5) == 0 &&
	    strncmp(peer + 5, h->host, WIRE_NAME_MAX) == 0 :
	    strncmp(peer, "gateway:", 8) == 0)
		return 0;
	if (h->stream == WIRE_STREAM_BINDINGS)
		snprintf(msg, sizeof(msg), "%s may not read the binding feed of host %.32s",
		    peer, h->host);
	else
		snprintf(msg, sizeof(msg), "%s may not read the rule log", peer);
	STATS_INC(sub->s->c, subs_unauthorized);
	refuse_(sub, EACCES, msg);
	return -1;
}

static void
hello(struct sub *sub, const struct wire_hello *h)
{
	struct db *db = sub->s->db;

	if (sub->s->stale) {
		refuse(sub, EAGAIN, sub->s->stale_why);
		return;
	}
	if (authorized(sub, h) < 0)
		return;
	memcpy(sub->node, h->node, sizeof(sub->node));
	memcpy(sub->host, h->host, sizeof(sub->host));
	if (h->stream == WIRE_STREAM_BINDINGS) {
		log_info("learner %s subscribed to the bindings of host %s", sub->node,
		    sub->host);
		if (bindings_start(sub) < 0)
			drop(sub, "cannot read its bindings");
		gauges(sub->s);
		return;
	}
	if (other_history(db, h)) {
		char had[32] = "no known epoch";

		/* A restore, or another store: the log after its seq is not what it missed. */
		if (h->epoch)
			snprintf(had, sizeof(had), "epoch %016llx", (unsigned long long)h->epoch);
		STATS_INC(sub->s->c, hello_other_epoch);
		log_warnx_rl(&sub->s->rl, "rule-store %s applied up to seq %llu of %s, not of "
		    "this log's history (epoch %016llx): a snapshot, whatever its seq", sub->node,
		    (unsigned long long)h->last_seq, had, (unsigned long long)db->epoch);
	}
	if (needs_snapshot(db, h->last_seq, h->epoch)) {
		snap_start(sub, 0);
	} else {
		sub->state = SUB_LOG;
		sub->next_seq = h->last_seq + 1;
	}
	log_info("rule-store %s subscribed after seq %llu of epoch %016llx (log %llu..%llu of "
	    "epoch %016llx)%s", sub->node, (unsigned long long)h->last_seq,
	    (unsigned long long)h->epoch, (unsigned long long)db->log_first,
	    (unsigned long long)db->last_seq, (unsigned long long)db->epoch,
	    sub->state == SUB_SNAPSHOT ? ": snapshot" : "");
	gauges(sub->s);
	fill(sub);
}

/*
 * A HELLO of another stream version: refused with an ERROR the subscriber can read, in
 * its own version when it is older (ERROR has not changed), else in ours.
 */
static void
refuse_version(struct sub *sub, uint8_t version)
{
	struct wire_error e = { .code = EPROTONOSUPPORT };
	const char *peer = conn_peer(sub->c);
	uint8_t *p = conn_reserve(sub->c, WIRE_LEN_SIZE + WIRE_RECORD_MAX);
	int n = -ENOBUFS;

	snprintf(e.msg, sizeof(e.msg), "this controller speaks stream version %u, not %u: "
	    "upgrade the %s", WIRE_VERSION, version, version < WIRE_VERSION ?
	    "subscriber (rule-store, learner)" : "controller");
	STATS_INC(sub->s->c, subs_wrong_version);
	log_warnx_rl(&sub->s->rl, "subscription%s%s refused: %s", peer ? " of " : "",
	    peer ? peer : "", e.msg);
	if (p != NULL)
		n = wire_encode_error_v(version >= 1 && version < WIRE_VERSION ? version :
		    WIRE_VERSION, &e, p, WIRE_LEN_SIZE + WIRE_RECORD_MAX);
	if (p != NULL)
		conn_commit(sub->c, n > 0 ? (size_t)n : 0);
	sub->state = SUB_CLOSING;
	conn_close(sub->c, true);
}

static int
on_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct sub *sub = conn_arg(c);
	struct wire_msg m;
	int rc;

	if ((rc = wire_decode_payload(payload, len, &m)) < 0) {
		if (rc == -EPROTONOSUPPORT && sub->state == SUB_HELLO) {
			refuse_version(sub, wire_payload_version(payload, len));
			return 0;
		}
		drop(sub, "sent a malformed record");
		return -1;
	}
	if (sub->state == SUB_HELLO && m.type == WIRE_HELLO) {
		hello(sub, &m.u.hello);
		return 0;
	}
	if (sub->state != SUB_HELLO && m.type == WIRE_HEARTBEAT)
		return 0;
	if (sub->state != SUB_HELLO && sub->host[0] == '\0' && m.type == WIRE_STATUS) {
		if (!sub->has_status || sub->status.incomplete != m.u.status.incomplete)
			log_info("rule-store %s: room for %u more rules (%u of %u held), %u VPC(s) "
			    "incomplete", sub->node, m.u.status.capacity - m.u.status.used,
			    m.u.status.used, m.u.status.capacity, m.u.status.incomplete);
		sub->status = m.u.status;
		sub->has_status = true;
		STATS_INC(sub->s->c, status_rx);
		gauges(sub->s);
		return 0;
	}
	if (sub->state != SUB_HELLO && sub->host[0] == '\0' && m.type == WIRE_WANT) {
		/* Served once the stream is caught up, so the snapshot is at the applied seq. */
		sub->want = true;
		sub->want_vni = m.u.want_vni;
		STATS_INC(sub->s->c, wants_rx);
		fill(sub);
		return 0;
	}
	refuse(sub, EPROTO, sub->state == SUB_HELLO ? "expected HELLO" : "unexpected record");
	return 0;
}

static void
on_writable(struct conn *c)
{
	fill(conn_arg(c));
}

static void
on_closed(struct conn *c, int err)
{
	struct sub *sub = conn_arg(c);
	struct stream *s = sub->s;

	if (err == -EKEYREJECTED)
		STATS_INC(s->c, tls_failed);	/* conn logged why */
	snap_close(&sub->snap);
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		s->subs = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	s->nsubs--;
	free(sub);
	if (s->freeing) {
		if (s->nsubs == 0)
			free(s);
		return;
	}
	gauges(s);
}

static const struct conn_ops sub_ops = {
	.frame = on_frame,
	.writable = on_writable,
	.closed = on_closed,
};

static void
on_accept(struct listener *ls, int fd, void *arg)
{
	struct stream *s = arg;
	struct conn_params cp = { .frame_max = WIRE_RECORD_MAX, .out_max = s->p.sub_buffer,
	    .out_low = FILL_HIGH / 2, .tls = s->p.tls };
	struct sub *sub;

	(void)ls;
	if (s->nsubs >= s->p.max_subs || (sub = calloc(1, sizeof(*sub))) == NULL) {
		log_warnx_rl(&s->rl, "too many subscribers (%u): connection refused", s->nsubs);
		STATS_INC(s->c, subs_refused);
		close(fd);
		return;
	}
	sub->s = s;
	sub->state = SUB_HELLO;
	sub->last_send_ns = loop_now(s->l);
	if ((sub->c = conn_new(s->l, fd, &cp, &sub_ops, sub)) == NULL) {
		free(sub);
		close(fd);
		return;
	}
	sub->next = s->subs;
	if (s->subs)
		s->subs->prev = sub;
	s->subs = sub;
	s->nsubs++;
}

static void
heartbeat(struct loop_timer *t)
{
	struct stream *s = t->arg;
	uint64_t now = loop_now(s->l);
	struct sub *sub, *next;

	for (sub = s->subs; sub; sub = next) {
		next = sub->next;	/* send_msg may drop it */
		if ((sub->state == SUB_LOG || sub->state == SUB_BINDINGS) &&
		    now - sub->last_send_ns >= s->p.heartbeat_ns) {
			struct wire_msg m = { .type = WIRE_HEARTBEAT,
			    .u.heartbeat_seq = s->db->last_seq };

			if (send_msg(sub, &m) == 0)
				STATS_INC(s->c, heartbeats);
		}
	}
	loop_timer_set(s->l, &s->hb, s->p.heartbeat_ns);
}

struct stream *
stream_new(struct loop *l, struct db *db, int listen_fd, const struct stream_params *p,
    struct controller_counters *c)
{
	struct stream *s;

	/* Every snapshot names the history (SNAP_BEGIN's epoch): the store has one. */
	assert(db->epoch != 0);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->l = l;
	s->db = db;
	s->p = *p;
	s->c = c;
	s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	if ((s->ls = listener_new(l, listen_fd, on_accept, s)) == NULL) {
		free(s);
		return NULL;
	}
	s->hb.fn = heartbeat;
	s->hb.arg = s;
	loop_timer_set(l, &s->hb, p->heartbeat_ns);
	gauges(s);
	return s;
}

void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	loop_timer_cancel(s->l, &s->hb);
	listener_free(s->ls);
	/*
	 * The subs free themselves as their connections close, later (conn_reap), and
	 * unlink themselves from s: so s goes with the last of them, not now.
	 */
	s->freeing = true;
	if (s->nsubs == 0) {
		free(s);
		return;
	}
	for (struct sub *sub = s->subs, *next; sub; sub = next) {
		next = sub->next;
		conn_close(sub->c, false);
	}
}

void
stream_restart(struct stream *s, const char *why)
{
	for (struct sub *sub = s->subs, *next; sub; sub = next) {
		next = sub->next;
		drop(sub, why);
	}
}

void
stream_set_current(struct stream *s, bool current, const char *why)
{
	if (current == !s->stale)
		return;
	s->stale = !current;
	if (current) {
		log_info("the state is current again: subscribers are served");
		return;
	}
	snprintf(s->stale_why, sizeof(s->stale_why), "%s", why);
	log_warnx("%s: sending every subscriber (%u) to another controller", why, s->nsubs);
	for (struct sub *sub = s->subs, *next; sub; sub = next) {
		next = sub->next;	/* closed later (conn_reap): the list holds */
		if (sub->state == SUB_CLOSING)
			continue;
		STATS_INC(s->c, subs_dropped);
		refuse_(sub, EAGAIN, why);
	}
	gauges(s);
}

void
stream_committed(struct stream *s, const struct model_txn *t)
{
	struct sub *sub, *next;

	for (sub = s->subs; sub; sub = next) {
		int r = 0;

		next = sub->next;
		if (sub->state == SUB_LOG) {
			fill(sub);
		} else if (sub->state == SUB_BINDINGS) {
			for (size_t i = 0; i < t->nbinds && r == 0; i++) {
				struct wire_msg m = { .type = WIRE_BIND, .u.bind = t->binds[i].b };

				if (strcmp(t->binds[i].host, sub->host) == 0)
					r = send_msg(sub, &m);
			}
			/* Every learner: its forwarder's allow-list is every host's VTEP. */
			for (size_t i = 0; i < t->nhostev && r == 0; i++) {
				struct wire_msg m = { .type = WIRE_HOST, .u.host = t->hostev[i] };

				r = send_msg(sub, &m);
			}
		}
	}
	gauges(s);
}

/* A rule-store that told us its table: connected, on the log stream. */
static bool
sub_gateway(const struct sub *sub)
{
	return sub->has_status && (sub->state == SUB_LOG || sub->state == SUB_SNAPSHOT);
}

int
stream_admit(struct stream *s, const struct stream_need *n, char *err, size_t errlen)
{
	const struct sub *least = NULL, *fewest = NULL;
	uint64_t least_room = 0;

	/* The gateway with the least room names the refusal: it is what must grow. */
	for (const struct sub *sub = s->subs; sub; sub = sub->next) {
		const struct wire_status *st = &sub->status;
		uint64_t held = n->rules_now + st->tombs;
		uint64_t room = held < st->capacity ? st->capacity - held : 0;

		if (!sub_gateway(sub))
			continue;
		if (least == NULL || room < least_room) {
			least = sub;
			least_room = room;
		}
		if (fewest == NULL || st->max_vnis < fewest->status.max_vnis)
			fewest = sub;
	}
	if (least && n->rules_after > n->rules_now &&
	    n->rules_after - n->rules_now > least_room) {
		uint64_t more = n->rules_after - n->rules_now;

		snprintf(err, errlen, "%s would need %llu more rule%s; gateway %s has room for "
		    "%llu (table_capacity %u, %u tombstones)", n->what,
		    (unsigned long long)more, more == 1 ? "" : "s", least->node,
		    (unsigned long long)least_room, least->status.capacity,
		    least->status.tombs);
		STATS_INC(s->c, admission_refused);
		return -ENOSPC;
	}
	if (fewest && n->vpcs_after > n->vpcs_now && n->vpcs_after > fewest->status.max_vnis) {
		uint64_t more = n->vpcs_after - n->vpcs_now;

		snprintf(err, errlen, "%s would need %llu more VNI slot%s; gateway %s holds at "
		    "most %u VPCs (table_max_vnis)", n->what, (unsigned long long)more,
		    more == 1 ? "" : "s", fewest->node,
		    fewest->status.max_vnis);
		STATS_INC(s->c, admission_refused);
		return -ENOSPC;
	}
	return 0;
}

size_t
stream_gateways(struct stream *s, struct stream_gateway *out, size_t max)
{
	size_t n = 0;

	for (struct sub *sub = s->subs; sub && n < max; sub = sub->next) {
		if (sub->host[0] != '\0' || (sub->state != SUB_LOG && sub->state != SUB_SNAPSHOT))
			continue;
		out[n] = (struct stream_gateway){ .has_status = sub->has_status,
		    .status = sub->status, .snapshot = sub->state == SUB_SNAPSHOT };
		memcpy(out[n].node, sub->node, sizeof(out[n].node));
		n++;
	}
	return n;
}
