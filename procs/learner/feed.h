/*
 * feed: the learner's subscription to the controller's binding feed for its host
 * (docs/protocol.md): each VM bound to the host, its VNI, IP, MAC and TAP, kept in the
 * host's port table (shm/ports.h) for the forwarder; and every host's VTEP, of which
 * the vswitches' (not external hosts', which only ever talk to gateways) go into the
 * VTEP list the forwarder accepts VXLAN from (shm/vtepset.h). A snapshot starts every
 * connection: ports it does not hold were unbound meanwhile and are removed at its end,
 * and the VTEP list becomes the snapshot's.
 */
#ifndef LEARNER_FEED_H
#define LEARNER_FEED_H

#include "counters.h"
#include "common/loop.h"
#include "common/subscriber.h"
#include "shm/ports.h"
#include "shm/vtepset.h"

struct feed;

struct feed *feed_new(struct loop *l, const struct subscriber_params *p, const char *node,
    const char *host, struct ports *ports, struct vtepset *vteps,
    struct learner_counters *c);
void feed_free(struct feed *f);
/* Copy the subscription's counters to the stats. */
void feed_tick(struct feed *f);

#endif
