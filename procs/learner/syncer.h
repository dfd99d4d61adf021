/*
 * syncer: the learner's side of the sync protocol (common/sync.h). It installs the
 * rules LEARNs bring into the host's rule cache, and keeps each VPC it holds current:
 * for each, the (generation, version) it reached (kept in the cache's table, so a
 * restarted learner resumes from them), a request in flight to one gateway, many VPCs a
 * request, long-polled so a change arrives as soon as its gateway has it.
 *
 * The rules it keeps to (DESIGN.md §2, §3):
 * - a VPC's version moves only when a response section comes without MORE: every page
 *   of the changes up to it has been applied;
 * - a rule is never replaced by an older version of it (the table refuses);
 * - sync updates only rules the cache holds: the others were never asked for;
 * - a LEARN older than the point its VPC's sync has consumed is ignored: sync passed
 *   changes of rules the cache did not hold then, and this one may be among them;
 * - UNKNOWN, or RELEARN of a VPC held by fewer than resync_min_rules rules: the VPC is
 *   flushed and starts over at the next LEARN;
 * - RELEARN of a VPC held by more: its rules are flushed (no longer trusted) but its
 *   IPs remembered, and the VPC is walked whole from version 0 in the new generation,
 *   installing the remembered IPs only (resync); a walk where they are rare (under 1
 *   in 32 of 4096 entries or more) is abandoned: the VPC starts over at the next LEARN;
 * - RETRY or no answer in time: the VPC asks another gateway.
 *
 * With auth every datagram's MAC is checked with this host's key of the id its header
 * names, before anything past the header is read; a LEARN is refused outside
 * learn_window of its timestamp, and a response must answer a request in flight to
 * the gateway it comes from, whose id was drawn at random (so one cannot be guessed).
 */
#ifndef LEARNER_SYNCER_H
#define LEARNER_SYNCER_H

#include "counters.h"
#include "gateways.h"
#include "common/auth.h"
#include "common/loop.h"
#include "shm/table.h"

#include <netinet/in.h>

struct syncer;

struct syncer_params {
	struct sockaddr_in listen;	/* LEARNs and responses arrive here */
	uint64_t wait_ns;		/* how long a gateway may park a request */
	uint64_t timeout_ns;		/* beyond wait_ns: no answer means it failed */
	uint32_t batch;			/* VPCs a request */
	const char *host;		/* this host's name: in every request's header */
	bool auth;			/* MACs required and sent (learner.auth) */
	struct auth_keys keys;		/* this host's keys (learner.auth_key) */
	uint64_t learn_window_ns;	/* a LEARN's timestamp within this of now */
	uint32_t resync_min_rules;	/* rules held for RELEARN to resync; 0: never */
};

struct syncer *syncer_new(struct loop *l, const struct syncer_params *p, struct table *t,
    struct gateways *gw, struct learner_counters *c, char *err, size_t errlen);
void syncer_free(struct syncer *s);
/* The VPCs the cache holds with a version: sync resumes from there (a restart). */
void syncer_load(struct syncer *s);
/* The cache evicted rules: VPCs left without any stop syncing. */
void syncer_prune(struct syncer *s);
int syncer_port(const struct syncer *s);

#endif
