/*
 * The controller's counters, declared once (shm/stats.h).
 */
#ifndef CONTROLLER_COUNTERS_H
#define CONTROLLER_COUNTERS_H

#include "shm/stats.h"

#define CONTROLLER_COUNTERS(X)						\
	X(api_conns,        GAUGE,   "control API connections open")	\
	X(api_requests,     COUNTER, "control API requests")		\
	X(api_errors,       COUNTER, "requests refused (bad argument, conflict, ...)") \
	X(api_malformed,    COUNTER, "requests dropped: not a JSON object (connection closed)") \
	X(commits,          COUNTER, "durable transactions committed")	\
	X(commit_us,        COUNTER, "time spent committing, microseconds") \
	X(vms_imported,     COUNTER, "VMs created by vm.import")		\
	X(vms_deleted,      COUNTER, "VMs deleted by vm.delete (one, or a batch of names)") \
	X(log_seq,          GAUGE,   "newest record in the rule log")	\
	X(log_first,        GAUGE,   "oldest record still in the rule log") \
	X(subs_rules,       GAUGE,   "rule-stores subscribed to the log stream") \
	X(subs_bindings,    GAUGE,   "learners subscribed to a binding feed") \
	X(subs_refused,     COUNTER, "subscriptions refused: bad HELLO or too many") \
	X(subs_unauthorized, COUNTER, "subscriptions refused: the peer's certificate may not read that stream") \
	X(subs_wrong_version, COUNTER, "subscriptions refused: a HELLO of another stream version (an older or newer peer)") \
	X(tls_failed,       COUNTER, "stream connections whose TLS handshake failed (no, bad or foreign certificate)") \
	X(subs_dropped,     COUNTER, "subscribers closed: slow, gone or misbehaving") \
	X(snapshots,        COUNTER, "snapshots sent (a rule-store new, of another history, or whose seq was no longer kept)") \
	X(hello_other_epoch, COUNTER, "rule-store HELLOs naming another history than the log's (a restore): a snapshot, whatever their seq") \
	X(records_sent,     COUNTER, "log, snapshot and binding records sent") \
	X(heartbeats,       COUNTER, "heartbeats sent to idle subscribers") \
	X(vpc_snapshots,    COUNTER, "snapshots of one VPC sent (a rule-store's WANT)") \
	X(status_rx,        COUNTER, "STATUS records from rule-stores (their table's room)") \
	X(wants_rx,         COUNTER, "WANT records from rule-stores (a VPC to send whole)") \
	X(admission_refused, COUNTER, "changes refused: a gateway has no room for them") \
	X(gateways_incomplete, GAUGE, "connected gateways holding some VPC incompletely") \
	X(etcd_txns,        COUNTER, "etcd store: changes sent to etcd as one txn") \
	X(etcd_conflicts,   COUNTER, "etcd store: txns that lost to another controller's change (run again)") \
	X(etcd_errors,      COUNTER, "etcd store: changes etcd refused or did not answer") \
	X(etcd_unsure,      COUNTER, "etcd store: commits etcd answered unsure (timeout, member or leader lost): sent again to settle") \
	X(etcd_unsure_landed, COUNTER, "etcd store: of those, found committed by their first try (its id in the log)") \
	X(etcd_revision,    GAUGE,   "etcd store: the revision the local view holds") \
	X(etcd_cut_off,     GAUGE,   "etcd store: 1 while cut off from etcd's quorum or the view lags (subscribers sent away)") \
	X(etcd_probe_fails, COUNTER, "etcd store: reads of etcd's newest change (every half timeout) that failed") \
	X(etcd_view_late,   COUNTER, "etcd store: commits the view had not applied within sync_timeout") \
	X(etcd_watch_restarts, COUNTER, "etcd store: watches of the prefix started again (member lost, compaction)") \
	X(etcd_snapshots,   COUNTER, "etcd store: views loaded whole from etcd (history compacted)") \
	X(etcd_apply_errors, COUNTER, "etcd store: watched changes the view could not apply (watched again)") \
	X(etcd_compactions, COUNTER, "etcd store: compactions of etcd's history this controller made") \
	X(etcd_defrags,     COUNTER, "etcd store: members defragmented by this controller (one at a time)") \
	X(etcd_tombstones_collected, COUNTER, "etcd store: deleted rules older than the compacted history removed from etcd") \
	X(etcd_alarm_nospace, GAUGE, "etcd store: 1 while etcd's NOSPACE alarm is raised (no writes)") \
	X(etcd_db_bytes,    GAUGE,   "etcd store: size of the member's database file") \
	X(etcd_restores_seen, COUNTER, "etcd store: restores that replaced etcd's state (subscribers sent away)") \
	X(backups,          COUNTER, "backups written (the API's backup: a copy of the database)") \
	X(backup_bytes,     COUNTER, "bytes of the backups written") \
	X(backups_failed,   COUNTER, "backups that failed (nothing left at their path)")
STATS_DECLARE(controller, CONTROLLER_COUNTERS)

#endif
