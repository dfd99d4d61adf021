/*
 * db: the controller's durable state in LMDB, one environment under data_dir.
 *
 *	meta      "next_seq", "log_first" -> u64; "schema" -> u32; "epoch" -> u64 (the
 *	          history this store holds: drawn anew by each restore, backup.h)
 *	vpcs      name -> struct db_vpc
 *	vni       vni (u32 BE) -> VPC name
 *	hosts     name -> struct db_host
 *	vtep      vtep (u32 BE) -> host name
 *	vms       name -> struct db_vm
 *	vm_ip     (vni, ip) (u32 BE each) -> VM name: the IP is unique in its VPC
 *	vm_mac    (vni, mac) -> VM name: so is the MAC
 *	host_tap  host name, 0, TAP name -> VM name: the VMs of a host, each TAP name
 *	          unique on its host
 *	rules     (vni, ip) -> struct db_rule: every rule, deletes kept as tombstones while
 *	          the log holds the record that made them
 *	log       seq (u64 BE) -> one encoded record (common/wire.h): what rule-stores
 *	          replay (RULE, VPC, HOST), kept for the last log_retention records
 *
 * Integers inside values are in host byte order (the file never leaves the machine);
 * keys are big-endian so that LMDB's byte order is numeric order. A write transaction
 * is durable when db_commit returns (no MDB_NOSYNC).
 */
#ifndef CONTROLLER_DB_H
#define CONTROLLER_DB_H

#include "common/addr.h"
#include "common/wire.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA	1
#define DB_NAME_MAX	64	/* names: 1..63 characters, NUL included here */

struct db_vpc {
	uint32_t vni;
	uint32_t gen;
	uint64_t version;
	uint32_t nvms;
	uint32_t ncidrs;
	struct addr_cidr cidrs[ADDR_CIDRS_MAX];
};

struct db_host {
	uint32_t vtep;
	uint32_t kind;		/* enum addr_kind */
	uint32_t nvms;
};

struct db_vm {
	uint32_t vni;
	uint32_t ip;
	uint8_t mac[6];
	char vpc[DB_NAME_MAX];
	char host[DB_NAME_MAX];
	char tap[WIRE_TAP_MAX];
};

struct db_rule {
	uint32_t vtep;
	uint8_t mac[6];
	uint8_t op;		/* WIRE_RULE_SET or WIRE_RULE_DEL */
	uint8_t flags;		/* WIRE_RULE_F_* */
	uint64_t version;
	uint64_t seq;		/* of the log record that made this state */
};

enum db_dbi {
	DBI_META, DBI_VPCS, DBI_VNI, DBI_HOSTS, DBI_VTEP, DBI_VMS, DBI_VM_IP, DBI_VM_MAC,
	DBI_HOST_TAP, DBI_RULES, DBI_LOG, DBI_COUNT
};

struct db {
	MDB_env *env;
	MDB_dbi dbi[DBI_COUNT];
	int lock_fd;		/* flock on data_dir/controller.lock: one controller a dir */
	uint64_t log_retention;	/* records kept in the log */
	/*
	 * A view of etcd: a tombstone stays when its record leaves the log, since etcd
	 * holds it still; the store's own collection deletes it there (etcdstore.c).
	 */
	bool keep_tombstones;
	/*
	 * The history the log belongs to: LMDB's meta "epoch" (backup_epoch), or an etcd
	 * store's (etcdstore.c: etcd's meta/epoch, else its cluster id). A restore changes
	 * it. Set before the streams start.
	 */
	uint64_t epoch;
	/* Published after each commit (what subscribers may read up to). */
	uint64_t last_seq;	/* newest record in the log; 0: none */
	uint64_t log_first;	/* oldest record still in the log */
};

/*
 * What a replicated store (the etcd one) needs to see of a transaction: every change to
 * a table but meta and log, before LMDB applies it, and every log record. change: old
 * is the value the transaction saw (NULL: absent), new the value written (NULL: a
 * delete); prefix: every key of dbi that begins with k goes (old and new NULL). A
 * negative return fails the write.
 */
struct db_capture {
	int (*change)(void *arg, enum db_dbi dbi, const MDB_val *k, const MDB_val *old,
	    const MDB_val *new, bool prefix);
	int (*record)(void *arg, const uint8_t *frame, size_t len);
	void *arg;
};

/* A write transaction and what it appended to the log. */
struct db_txn {
	struct db *db;
	MDB_txn *txn;
	const struct db_capture *cap;	/* NULL: nothing watches */
	uint64_t next_seq;
	uint64_t log_first;
	uint64_t appended;	/* records appended in this transaction */
};

int db_open(struct db *db, const char *dir, uint64_t map_size, uint64_t log_retention,
    char *err, size_t errlen);
void db_close(struct db *db);

int db_begin(struct db *db, struct db_txn *t);
/* Commit (durably), trimming the log past its retention first. 0 or negative errno. */
int db_commit(struct db_txn *t);
void db_abort(struct db_txn *t);
/* A read-only transaction (MDB_NOTLS: several may be open in one thread). */
int db_read(struct db *db, MDB_txn **txn);

/* Get a record: 0, -ENOENT, or another negative errno. Works in either kind of txn. */
int db_get_vpc(MDB_txn *txn, struct db *db, const char *name, struct db_vpc *out);
int db_get_host(MDB_txn *txn, struct db *db, const char *name, struct db_host *out);
int db_get_vm(MDB_txn *txn, struct db *db, const char *name, struct db_vm *out);
int db_get_rule(MDB_txn *txn, struct db *db, uint32_t vni, uint32_t ip, struct db_rule *out);
/* Name of the VPC with this VNI / the host with this VTEP / the VM at (vni, ip) or (vni,
 * mac); out has DB_NAME_MAX bytes. */
int db_vpc_by_vni(MDB_txn *txn, struct db *db, uint32_t vni, char *out);
int db_host_by_vtep(MDB_txn *txn, struct db *db, uint32_t vtep, char *out);
int db_vm_by_ip(MDB_txn *txn, struct db *db, uint32_t vni, uint32_t ip, char *out);
int db_vm_by_mac(MDB_txn *txn, struct db *db, uint32_t vni, const uint8_t *mac, char *out);
int db_vm_by_tap(MDB_txn *txn, struct db *db, const char *host, const char *tap, char *out);

/* Writes, in a write transaction. */
int db_put_vpc(struct db_txn *t, const char *name, const struct db_vpc *v, bool is_new);
int db_del_vpc(struct db_txn *t, const char *name, uint32_t vni);
int db_put_host(struct db_txn *t, const char *name, const struct db_host *h, bool is_new);
int db_del_host(struct db_txn *t, const char *name, uint32_t vtep);
/*
 * A VM with its indexes; old (when not NULL) is the record it replaces. -EEXIST when a
 * unique key is taken, with *taken naming which (DBI_VMS: the name, DBI_VM_IP,
 * DBI_VM_MAC, DBI_HOST_TAP); the transaction must then be aborted.
 */
int db_put_vm(struct db_txn *t, const char *name, const struct db_vm *vm,
    const struct db_vm *old, enum db_dbi *taken);
int db_del_vm(struct db_txn *t, const char *name, const struct db_vm *vm);
/* Record a rule's new state and append its RULE record to the log. */
int db_put_rule(struct db_txn *t, uint32_t vni, uint32_t ip, const struct db_rule *r);
/* Append a VPC record (ADVANCE or DELETE) to the log. */
int db_log_vpc(struct db_txn *t, uint32_t vni, uint32_t gen, uint64_t version, uint8_t op);
/*
 * Append a HOST record (a host's VTEP created or deleted: the data plane's allow-lists)
 * to the log; *out is the record, for the binding feeds.
 */
int db_log_host(struct db_txn *t, uint32_t vtep, uint8_t kind, uint8_t op,
    struct wire_host *out);
/* A host's kind as a HOST record says it (enum wire_host_kind). */
uint8_t db_host_kind(const struct db_host *h);
/* Drop every rule of a VNI (the VPC is deleted; the log says so). */
int db_del_rules(struct db_txn *t, uint32_t vni);

/*
 * For a view of a replicated store (procs/controller/etcdstore.c), which writes what the
 * store committed as it is: a table's record by its raw key, a log record at a given
 * seq (m's seq set to it; seqs only grow), a rule's seq, and everything cleared (the
 * log to start at first_seq). Tables are named as in the etcd keys.
 */
const char *db_dbi_name(enum db_dbi dbi);
int db_dbi_by_name(const char *name, size_t len);	/* enum db_dbi, or -ENOENT */
int db_raw_put(struct db_txn *t, enum db_dbi dbi, const void *key, size_t klen,
    const void *val, size_t vlen);
int db_raw_del(struct db_txn *t, enum db_dbi dbi, const void *key, size_t klen);
int db_log_at(struct db_txn *t, uint64_t seq, struct wire_msg *m);
int db_rule_seq(struct db_txn *t, uint32_t vni, uint32_t ip, uint64_t seq);
int db_clear(struct db_txn *t, uint64_t first_seq);
int db_clear_log(struct db_txn *t, uint64_t first_seq);	/* the log alone */
int db_meta_get(MDB_txn *txn, struct db *db, const char *name, uint64_t def, uint64_t *out);
int db_meta_put(struct db_txn *t, const char *name, uint64_t val);

/*
 * Cursors over one transaction, for listings and snapshots. Each iterator returns 1
 * with the next record, 0 at the end, or a negative errno.
 */
struct db_iter {
	MDB_cursor *cur;
	MDB_val key, val;
	bool started, pending, done;
	uint8_t prefix[DB_NAME_MAX + 8];
	size_t prefix_len;
};
int db_iter_open(MDB_txn *txn, struct db *db, enum db_dbi dbi, const void *prefix,
    size_t prefix_len, struct db_iter *it);
int db_iter_next(struct db_iter *it);
/* Delete the record the iterator is on (in a write transaction, seen by t->cap). */
int db_iter_del(struct db_txn *t, struct db_iter *it, enum db_dbi dbi);
void db_iter_close(struct db_iter *it);
/* Position after `after` (exclusive) instead of at the prefix's start. */
int db_iter_seek(struct db_iter *it, const void *after, size_t len);

/* Key helpers (big-endian, so that LMDB's byte order is the numbers'; common/bytes.h). */
void db_key_vni_ip(uint8_t key[8], uint32_t vni, uint32_t ip);
/* Entries of a DB in a transaction. */
uint64_t db_count(MDB_txn *txn, struct db *db, enum db_dbi dbi);

#endif
