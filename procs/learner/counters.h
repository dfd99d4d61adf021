/*
 * The learner's counters, declared once (shm/stats.h).
 */
#ifndef LEARNER_COUNTERS_H
#define LEARNER_COUNTERS_H

#include "shm/stats.h"

#define LEARNER_COUNTERS(X)						\
	X(learn_rx,        COUNTER, "LEARN datagrams received")		\
	X(learn_installed, COUNTER, "rules installed from LEARNs")		\
	X(learn_stale,     COUNTER, "LEARNs ignored: older than what the VPC synced past") \
	X(sync_tx,         COUNTER, "sync requests sent")			\
	X(sync_rx,         COUNTER, "sync responses received")		\
	X(sync_bytes,      COUNTER, "bytes of sync responses received (UDP payload)") \
	X(sync_stale,      COUNTER, "sync responses for no request in flight (late, duplicated)") \
	X(sync_timeouts,   COUNTER, "sync requests unanswered in time")	\
	X(rules_updated,   COUNTER, "cached rules changed by sync")		\
	X(rules_deleted,   COUNTER, "cached rules deleted by sync")		\
	X(rules_older,     COUNTER, "sync entries older than the cache's (ignored)") \
	X(pages,           COUNTER, "sync pages received with more to come")	\
	X(versions,        COUNTER, "VPC versions completed")			\
	X(relearns,        COUNTER, "VPCs dropped: the gateway said RELEARN or UNKNOWN") \
	X(resyncs,         COUNTER, "RELEARNs answered by a walk from version 0 for the IPs held") \
	X(resyncs_done,    COUNTER, "resyncs whose walk completed")		\
	X(resyncs_abandoned, COUNTER, "resyncs given up: held IPs under 1 in 32 of the walk") \
	X(resync_rules,    COUNTER, "rules installed by resyncs")		\
	X(resync_scanned,  COUNTER, "entries resync walks received")		\
	X(retries,         COUNTER, "VPCs sent to another gateway: RETRY or timeout") \
	X(dgram_denied,    COUNTER, "datagrams dropped: not from a configured gateway") \
	X(auth_failed,     COUNTER, "datagrams dropped: MAC, key id or host name not valid") \
	X(learn_replayed,  COUNTER, "LEARNs dropped: timestamp outside learn_window") \
	X(dgram_malformed, COUNTER, "datagrams dropped: failed to decode")	\
	X(evicted,         COUNTER, "rules evicted (cache_max_rules, cache_max_age)") \
	X(evict_kept,      COUNTER, "rules eviction kept: used within cache_max_age") \
	X(vnis,            GAUGE,   "VPCs held")				\
	X(rules,           GAUGE,   "rules in the cache")			\
	X(table_vnis,      GAUGE,   "VNI slots held by VPCs in the cache")	\
	X(table_vnis_retired, GAUGE, "VNI slots of dropped VPCs, free once readers move on") \
	X(table_max_vnis,  GAUGE,   "VNI slots in the cache (table_max_vnis)")	\
	X(gateways_up,     GAUGE,   "gateways answering")			\
	X(gateway_downs,   COUNTER, "times a gateway was marked down")	\
	X(gateway_unreachable, COUNTER, "ICMP unreachable for a datagram to a gateway: down at once") \
	X(sync_resent,     COUNTER, "requests a pending ICMP error stopped, sent again") \
	X(rx_sock_drops,   GAUGE,   "datagrams the kernel dropped at the sync socket since start (buffer full)") \
	X(rx_nobuf,        COUNTER, "times every receive buffer of the sync socket was taken: the next waited") \
	X(probes,          COUNTER, "probes sent (a down gateway, or a live one silent for gateway_probe)") \
	X(ports,           GAUGE,   "VMs bound to this host")		\
	X(feed_connected,  GAUGE,   "1 while the binding feed is connected") \
	X(feed_reconnects, COUNTER, "binding feed connections made")	\
	X(vteps,           GAUGE,   "other hosts' VTEPs the vswitch accepts VXLAN from") \
	X(vteps_loaded,    GAUGE,   "1 once the VTEP list held the controller's whole list") \
	X(vteps_full,      COUNTER, "VTEPs the list had no room for (their VXLAN is dropped)") \
	X(tx_nobuf,        COUNTER, "sends dropped: every buffer in flight")
STATS_DECLARE(learner, LEARNER_COUNTERS)

#endif
