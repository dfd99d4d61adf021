/*
 * The rule-store's counters, declared once (shm/stats.h). COUNTERs carry on across a
 * restart (the stats segment keeps them, as it does every process's); GAUGEs say what
 * is true now and are set again at start.
 */
#ifndef RULE_STORE_COUNTERS_H
#define RULE_STORE_COUNTERS_H

#include "shm/stats.h"

#define RULE_STORE_COUNTERS(X)						\
	X(records,         COUNTER, "RULE, VPC and HOST records applied (log and snapshots)") \
	X(rules_set,       COUNTER, "rules set in the table")			\
	X(rules_deleted,   COUNTER, "rules deleted (tombstones) in the table")	\
	X(rules_stale,     COUNTER, "rule records the table already had (replays)") \
	X(apply_errors,    COUNTER, "records the table refused (full, too many VNIs): VPC incomplete") \
	X(vnis_advanced,   COUNTER, "VPC versions applied")			\
	X(vnis_flushed,    COUNTER, "VPCs dropped (deleted at the controller): VNI slot given back") \
	X(vnis_rebased,    COUNTER, "VPCs whose history restarted (snapshot, reset)") \
	X(vnis_rebuilt,    COUNTER, "VPCs a snapshot rebuilt: the table held another history") \
	X(snapshot_loads,  COUNTER, "snapshots loaded whole (up to their SNAP_END)") \
	X(snapshot_drops,  COUNTER, "rules dropped because a snapshot lacked them") \
	X(epoch_changes,   COUNTER, "snapshots of another history than the table's (the controller restored or replaced)") \
	X(vnis_marked_incomplete, COUNTER, "VPCs marked incomplete: the table refused a change") \
	X(vnis_completed,  COUNTER, "incomplete VPCs held whole again (or deleted)") \
	X(wants_sent,      COUNTER, "snapshots asked for to complete VPCs (WANT)")	\
	X(vpc_snapshot_loads, COUNTER, "snapshots of one VPC loaded whole")	\
	X(status_sent,     COUNTER, "STATUS records sent (room, incomplete VPCs)")	\
	X(ring_drops,      COUNTER, "VNI advances dropped: syncd's ring was full") \
	X(hosts_changed,   COUNTER, "hosts' VTEPs added to or removed from the VTEP list (log)") \
	X(vteps_full,      COUNTER, "VTEPs the list had no room for (their VXLAN is dropped)") \
	X(heartbeats,      COUNTER, "heartbeats received: the controller had nothing new") \
	X(reconnects,      COUNTER, "connections made after the first of each start") \
	X(connect_fails,   COUNTER, "connection attempts that failed")		\
	X(timeouts,        COUNTER, "connections closed: the controller went silent") \
	X(malformed,       COUNTER, "connections closed: a malformed record")	\
	X(applied_seq,     GAUGE,   "last log record applied")			\
	X(controller_seq,  GAUGE,   "newest log record the controller announced") \
	X(lag,             GAUGE,   "seqs behind the controller (a snapshot: until its end)") \
	X(connected,       GAUGE,   "1 while connected to a controller")	\
	X(rules,           GAUGE,   "rules and tombstones in the table")	\
	X(room,            GAUGE,   "rules the table can still take (capacity - rules)") \
	X(vnis_incomplete, GAUGE,   "VPCs not held whole: syncd answers RETRY for them") \
	X(table_vnis,      GAUGE,   "VNI slots held by VPCs in the table")	\
	X(table_vnis_retired, GAUGE, "VNI slots of deleted VPCs, free once readers move on") \
	X(table_max_vnis,  GAUGE,   "VNI slots in the table (table_max_vnis)") \
	X(vteps,           GAUGE,   "VTEPs the gateway forwarder accepts VXLAN from (hosts)") \
	X(vteps_loaded,    GAUGE,   "1 once the VTEP list held the controller's whole list")
STATS_DECLARE(rule_store, RULE_STORE_COUNTERS)

#endif
