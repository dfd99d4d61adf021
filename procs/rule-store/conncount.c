/*
 * conncount: see conncount.h. Invariant: each connection, failure, timeout and
 * malformed record the subscriber counted is in the segment once.
 */
#include "conncount.h"

/* Connections after the first: the ones that replaced a lost one. */
static uint64_t
beyond_first(uint64_t connects)
{
	return connects > 0 ? connects - 1 : 0;
}

void
conncount_fold(struct rule_store_counters *c, struct subscriber_counters *seen,
    const struct subscriber_counters *now)
{
	STATS_ADD(c, reconnects, beyond_first(now->connects) - beyond_first(seen->connects));
	STATS_ADD(c, connect_fails, now->connect_fails - seen->connect_fails);
	STATS_ADD(c, timeouts, now->timeouts - seen->timeouts);
	STATS_ADD(c, malformed, now->malformed - seen->malformed);
	STATS_SET(c, connected, now->connected);
	*seen = *now;
}
