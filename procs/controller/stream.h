/*
 * stream: the controller's TCP side. Rule-stores subscribe to the log stream and get the
 * records after the seq they last applied, or a snapshot when the log no longer holds
 * it, then the live tail; learners subscribe to the binding feed of their host and get
 * its VMs, then each change as it commits. Idle subscribers get a heartbeat.
 * docs/protocol.md describes both streams.
 */
#ifndef CONTROLLER_STREAM_H
#define CONTROLLER_STREAM_H

#include "counters.h"
#include "db.h"
#include "model.h"
#include "common/loop.h"

struct stream;

struct stream_params {
	uint64_t heartbeat_ns;
	uint32_t max_subs;
	size_t sub_buffer;	/* bytes a subscriber may have queued */
	struct tls_ctx *tls;	/* NULL: plaintext, every HELLO is believed */
};

struct stream *stream_new(struct loop *l, struct db *db, int listen_fd,
    const struct stream_params *p, struct controller_counters *c);
void stream_free(struct stream *s);
/*
 * A transaction committed: send its records on, its binding changes to their host's feed
 * and its host changes (t->hostev) to every feed.
 */
void stream_committed(struct stream *s, const struct model_txn *t);

/*
 * Close every subscriber (the store's history was replaced by a restore): each comes
 * back, a rule-store for a snapshot (its seq is behind the log), a learner for its
 * feed's.
 */
void stream_restart(struct stream *s, const char *why);

/*
 * Whether the controller's state is current (the etcd store: etcd's quorum reached, the
 * view keeping up; etcdprobe.h). While it is not, every subscriber is closed with an
 * ERROR record saying why and each HELLO refused so: rule-stores and learners move to
 * another controller instead of following a log that stopped while the cluster's goes on.
 */
void stream_set_current(struct stream *s, bool current, const char *why);

/*
 * Admission (docs/controller.md): what a change would make the gateways hold. Every
 * rule of the controller is in every gateway's table, so each gateway needs room for
 * the controller's rules plus the tombstones it keeps itself (its last STATUS).
 */
struct stream_need {
	const char *what;	/* the request, for the message ("vm.import") */
	uint64_t rules_now, rules_after;
	uint64_t vpcs_now, vpcs_after;
};
/*
 * 0 when every connected gateway that reported its table has room for the change;
 * -ENOSPC with one line in err naming the gateway with too little room otherwise.
 * Gateways not connected are not asked: they catch up, and mark what does not fit
 * incomplete, when they come back.
 */
int stream_admit(struct stream *s, const struct stream_need *n, char *err, size_t errlen);

/* A rule-store on the log stream, as it last reported. */
struct stream_gateway {
	char node[WIRE_NAME_MAX];
	bool has_status;
	bool snapshot;		/* being sent a snapshot */
	struct wire_status status;
};
size_t stream_gateways(struct stream *s, struct stream_gateway *out, size_t max);

#endif
