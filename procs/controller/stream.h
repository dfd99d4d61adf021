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
};

struct stream *stream_new(struct loop *l, struct db *db, int listen_fd,
    const struct stream_params *p, struct controller_counters *c);
void stream_free(struct stream *s);
/* A transaction committed: send its records on and its binding changes. */
void stream_committed(struct stream *s, const struct model_bind *binds, size_t nbinds);

#endif
