/*
 * backup: the controller's LMDB environment copied out while it serves (the API's
 * "backup", docs/api.md) and put back offline (`vpcfwd-controller --restore FILE`),
 * docs/controller.md "Backup and restore". With controller.store = "etcd" the same file
 * is put back into etcd, live: etcdstore_restore (etcdstore.h).
 *
 * A backup is a compacted copy of the environment (mdb_env_copyfd2, MDB_CP_COMPACT)
 * from one read transaction, so the state at one seq: an LMDB data file, a data.mdb.
 * A thread of its own writes it into PATH.tmp, syncs it, reads it back and renames it
 * to PATH, so the loop goes on serving meanwhile and PATH is whole or absent.
 *
 * A restore must never hand out a (generation, version) that a learner may hold for
 * state the backup lacks (changes made after it), nor let a rule-store resume from the
 * log over a history it does not share. So in one transaction every VPC gets a new
 * generation (versions kept), the log is emptied (it goes on at the backup's next
 * seq), and the store's epoch (meta "epoch", u64) is drawn anew: it names the history
 * the data directory holds, and a rule-store whose HELLO names another gets a snapshot
 * whatever its seq (procs/controller/stream.c).
 */
#ifndef CONTROLLER_BACKUP_H
#define CONTROLLER_BACKUP_H

#include "counters.h"
#include "db.h"
#include "common/loop.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* What a backup file holds (read back from it). */
struct backup_info {
	char path[PATH_MAX];
	uint64_t bytes;
	uint64_t next_seq;	/* the log's next seq: the copy's newest record is next_seq - 1 */
	uint64_t log_first;
	uint64_t epoch;		/* 0: a store from before epochs */
	uint64_t vpcs, hosts, vms, rules;
};

/*
 * Called from the loop once the backup is written (rc 0, info) or failed (rc a negative
 * errno, err one line; nothing is left at PATH or PATH.tmp).
 */
typedef void backup_done_fn(void *arg, int rc, const struct backup_info *info,
    const char *err);

struct backup;

/*
 * Start a backup of db into path: absolute, not there unless force (then replaced
 * whole, at the end). 0 and *out, or a negative errno with err: a relative path
 * (-EINVAL), PATH or PATH.tmp there (-EEXIST), its directory missing or not writable.
 * Counts in c (backups, backup_bytes, backups_failed).
 */
int backup_start(struct loop *l, struct db *db, const char *path, bool force,
    struct controller_counters *c, backup_done_fn *done, void *arg, struct backup **out,
    char *err, size_t errlen);
const char *backup_path(const struct backup *b);
/* At shutdown: wait for the thread, finish the backup, free b; done is not called. */
void backup_wait(struct backup *b);

/*
 * The store's epoch (meta "epoch"), drawn and written first when the store has none (a
 * new one, or one from before epochs). 0 or a negative errno.
 */
int backup_epoch(struct db *db, uint64_t *epoch);

/*
 * The command line's `--restore FILE` (or --restore=FILE): taken out of argv (the rest
 * is common/daemon's), FILE returned, NULL when absent. Exits 2 on bad usage: no FILE,
 * given twice, or with -n or -d.
 */
const char *backup_restore_arg(int *argc, char **argv);
/*
 * Whether FILE is a whole controller backup this controller reads: a regular file, an
 * LMDB data file not cut short (its pages would be mapped past the file's end: SIGBUS
 * on reading), every entry of every table readable, the controller's tables and schema.
 * 0, or a negative errno with err one line. What both restores check before they
 * change anything (backup_restore_run, etcdstore_restore).
 */
int backup_file_check(const char *file, char *err, size_t errlen);
/*
 * Restore FILE into the data directory dir (made if missing), offline: refused while a
 * controller holds the directory's lock, or when FILE is not a controller's backup.
 * Prints what it did on stdout; returns the process's exit status (errors: one line on
 * stderr, 1).
 */
int backup_restore_run(const char *file, const char *dir, uint64_t map_size,
    uint64_t log_retention);

#endif
