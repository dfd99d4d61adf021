/*
 * conncount: the connection's counters into the stats segment. The subscriber
 * (common/subscriber.h) counts from 0 in each process; the segment's counters carry on
 * across a restart, so what changed since the last fold is added to them, never
 * stored over them.
 */
#ifndef RULE_STORE_CONNCOUNT_H
#define RULE_STORE_CONNCOUNT_H

#include "counters.h"
#include "common/subscriber.h"

/*
 * Add what now counts beyond seen (zeroed at start) to c, then remember now in seen.
 * The first connection of a start is not a reconnect; `connected` is set as it is.
 */
void conncount_fold(struct rule_store_counters *c, struct subscriber_counters *seen,
    const struct subscriber_counters *now);

#endif
