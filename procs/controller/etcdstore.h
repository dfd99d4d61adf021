/*
 * etcdstore: the controller's state in etcd (controller.store = "etcd"), shared by every
 * controller of a cluster (docs/cluster.md).
 *
 * etcd decides what is committed and in which order; the controller's LMDB (db.h) is a
 * local view of it that only remembers. A change runs the model against the view in an
 * LMDB write transaction whose writes are captured (db_capture), then becomes one etcd
 * txn: a compare for every record it read and rewrote (its value as the view had it, or
 * "absent"), a put or delete for every record it wrote, and a put of the log key whose
 * value says those writes again, then the transaction's log records and binding changes.
 * The LMDB transaction is then dropped: a thread watches the log key alone (every txn
 * that writes a table key puts it, saying those writes) and the loop thread applies
 * what etcd committed, every controller's changes in revision order, to the view, its
 * log (seq = revision << 24 | record) and the streams. A change is acknowledged once
 * etcd committed it and the view applied it.
 *
 * Keys, under the prefix: "<table>/<LMDB key>" holding the LMDB record as it is (so the
 * controllers of a cluster share one architecture: "meta/format" says which), "log",
 * "meta/format", "meta/epoch", "meta/restoring", "meta/defrag".
 */
#ifndef CONTROLLER_ETCDSTORE_H
#define CONTROLLER_ETCDSTORE_H

#include "counters.h"
#include "db.h"
#include "model.h"
#include "stream.h"
#include "common/etcd.h"
#include "common/loop.h"

#define ETCDSTORE_PREFIX_MAX	128

struct etcdstore;

struct etcdstore_conf {
	struct etcd_conf etcd;		/* endpoints, TLS, each request's timeout */
	const char *prefix;		/* "/vpcfwd/1/" */
	unsigned max_txn_ops;		/* the cluster's --max-txn-ops */
	size_t max_request_bytes;	/* the cluster's --max-request-bytes */
	uint64_t sync_timeout_ns;	/* how long a change waits for the view to apply it */
	uint64_t compact_keep;		/* revisions of history kept (the log's reach) */
	uint64_t maint_interval_ns;	/* compaction and the alarm check, this often */
	uint64_t defrag_min_bytes;	/* free space in a member's file worth a defrag */
	const char *node;		/* this controller's, for the defrag key */
};

/*
 * Connect, check the cluster's format, bring the view up to etcd's newest change (a
 * snapshot when the view is of another cluster or its revision was compacted), and
 * start watching. Blocks (seconds at most, unless the view is large). 0 or a negative
 * errno with err said.
 */
int etcdstore_open(struct etcdstore **out, struct db *db, const struct etcdstore_conf *conf,
    struct controller_counters *c, char *err, size_t errlen);
/* From now on, apply on l and publish what is applied to st. */
int etcdstore_attach(struct etcdstore *es, struct loop *l, struct stream *st);
/*
 * Bring the view up to the newest change any controller made (as of now): 0, or
 * -ETIMEDOUT, or etcd's error. For a read that must see every acknowledged change.
 */
int etcdstore_sync(struct etcdstore *es, uint64_t timeout_ns);
/* The revision the view holds (loop thread). */
int64_t etcdstore_applied(const struct etcdstore *es);
/* The key whose mod_revision is the newest change of any controller; its length. */
size_t etcdstore_log_key(const struct etcdstore *es, uint8_t *out, size_t max);
/* What model transactions commit through. */
const struct model_backend *etcdstore_backend(struct etcdstore *es);
void etcdstore_close(struct etcdstore *es);

/*
 * `vpcfwd-controller --restore FILE` with the etcd store: FILE (a backup: an LMDB data
 * file, from either store) becomes etcd's state under the prefix, over what is there,
 * with running controllers. meta/restoring is put first (every controller refuses
 * changes while it is there), every table's keys deleted, the backup's records put in
 * txns as large as the limits allow, each VPC with a new generation; then
 * meta/restoring goes and the new epoch is put (meta/epoch, and in the log value that
 * every txn of the restore puts, saying its writes): every controller's view starts its
 * log after that revision and sends its subscribers away, so that rule-stores take a
 * snapshot and learners, meeting new generations, relearn. Prints what it did; the
 * process's exit status.
 */
int etcdstore_restore(const struct etcdstore_conf *conf, const char *file);

#endif
