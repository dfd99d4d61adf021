/*
 * syncd's counters, declared once (shm/stats.h).
 */
#ifndef SYNCD_COUNTERS_H
#define SYNCD_COUNTERS_H

#include "shm/stats.h"

#define SYNCD_COUNTERS(X)						\
	X(req_rx,          COUNTER, "sync requests received")		\
	X(req_malformed,   COUNTER, "datagrams dropped: failed to decode") \
	X(req_denied,      COUNTER, "datagrams dropped: source not in allow") \
	X(req_limited,     COUNTER, "datagrams dropped: source over its rate") \
	X(auth_failed,     COUNTER, "datagrams dropped: MAC, key id or host name not valid") \
	X(host_keys_derived, COUNTER, "host keys derived from the secret (not in the cache)") \
	X(req_not_ready,   COUNTER, "requests dropped: no gateway table yet") \
	X(resp_tx,         COUNTER, "sync responses sent")			\
	X(resp_bytes,      COUNTER, "bytes of sync responses sent (UDP payload)") \
	X(sections_ok,     COUNTER, "sections answered OK")		\
	X(sections_relearn, COUNTER, "sections answered RELEARN")		\
	X(sections_retry,  COUNTER, "sections answered RETRY (asker ahead, park full, VPC incomplete)") \
	X(sections_incomplete, COUNTER, "of those, VPCs this gateway does not hold whole (table full)") \
	X(sections_unknown, COUNTER, "sections answered UNKNOWN (no such VPC)") \
	X(entries_tx,      COUNTER, "rules sent in sync responses")		\
	X(pages_more,      COUNTER, "sections ending a page (MORE)")		\
	X(parked,          GAUGE,   "requests parked waiting for a change") \
	X(park_full,       COUNTER, "requests answered RETRY at once: max_parked held") \
	X(park_woken,      COUNTER, "parked requests answered because their VPC advanced") \
	X(park_expired,    COUNTER, "parked requests answered when their wait ran out") \
	X(advances_rx,     COUNTER, "VPC advances read from the rule-store's ring") \
	X(learn_rx,        COUNTER, "learn requests read from the forwarder's ring") \
	X(learn_tx,        COUNTER, "LEARN responses sent")			\
	X(learn_miss,      COUNTER, "learn requests for a rule the table lacks") \
	X(learn_denied,    COUNTER, "learn requests from a source outside allow (no LEARN sent)") \
	X(learn_external,  COUNTER, "learn requests for an external host's rule (never learned)") \
	X(learn_racing,    COUNTER, "learn requests skipped: rule newer than its VPC's version") \
	X(learn_no_host,   COUNTER, "learn requests skipped: no authenticated host at that VTEP yet") \
	X(learn_incomplete, COUNTER, "learn requests skipped: VPC not held whole here") \
	X(learn_waited,    COUNTER, "learn requests that waited for a send buffer (all in flight)") \
	X(tx_backlog,      GAUGE,   "answers waiting for a send buffer, oldest first") \
	X(tx_backlogged,   COUNTER, "answers that found every send buffer in flight and waited") \
	X(tx_nobuf,        COUNTER, "answers dropped: no send buffer, no room to wait") \
	X(tx_errors,       COUNTER, "sends that failed")			\
	X(rx_sock_drops,   GAUGE,   "datagrams the kernel dropped at the socket since start (buffer full)") \
	X(rx_nobuf,        COUNTER, "times every receive buffer (recv_depth) was taken: the next waited in the socket")
STATS_DECLARE(syncd, SYNCD_COUNTERS)

#endif
