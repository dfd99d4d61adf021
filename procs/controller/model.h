/*
 * model: the controller's rules about VPCs, hosts and VMs, as changes inside one write
 * transaction. Each function checks everything it needs against the database (and
 * against what the transaction already changed), then writes; on any error it returns
 * a negative errno and a one-line message, and the caller aborts the transaction, so a
 * refused request changes nothing.
 *
 * Versions (DESIGN.md §2): the first rule a transaction changes in a VPC raises the
 * VPC's version (from 0 to 1, then by version_step: 1, 3, 5, ... with step 2); every
 * rule it changes in that VPC gets that version.
 * model_finish writes the VPCs and hosts it changed and appends one VPC ADVANCE record
 * per VPC after their RULE records, so a rule-store applies a version whole.
 */
#ifndef CONTROLLER_MODEL_H
#define CONTROLLER_MODEL_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model_vpc;	/* a VPC touched by the transaction */
struct model_host;

/* A binding change for the feed of one host, published after the commit. */
struct model_bind {
	char host[DB_NAME_MAX];
	struct wire_bind b;
};

/*
 * The VPCs or hosts a transaction touched, by name: open addressing over their index + 1
 * (0: empty), at most half full. A batch of 10,000 VMs on 10,000 hosts looked each host
 * up among those before it, O(n^2): 71 of the 77 s of a 1.9 M VM import (bench/scale).
 */
struct model_name_idx {
	uint32_t *slot;
	size_t cap;		/* a power of two, or 0 */
};

struct model_txn;

/*
 * Where a transaction commits when not in LMDB alone: a replicated store (the etcd one,
 * etcdstore.h) that captures the transaction's writes (cap), commits them itself and
 * has its view (the LMDB) apply them and publish them to the streams. begin: a
 * transaction starts; commit: in place of db_commit, the LMDB transaction its own to
 * end; 0 when committed, -EAGAIN when the store changed under the transaction (run the
 * request again), or another negative errno with t->err said.
 */
struct model_backend {
	void (*begin)(void *arg);
	int (*commit)(void *arg, struct model_txn *t);
	const struct db_capture *cap;
	void *arg;
};

struct model_txn {
	struct db_txn db;
	const struct model_backend *backend;	/* NULL: LMDB's own */
	uint64_t revision;	/* the store's revision of the commit (0 for LMDB) */
	uint32_t version_step;
	struct model_vpc *vpcs;
	size_t nvpcs, vpcs_cap;
	struct model_name_idx vpc_idx;
	struct model_host *hosts;
	size_t nhosts, hosts_cap;
	struct model_name_idx host_idx;
	struct model_bind *binds;
	size_t nbinds, binds_cap;
	/* Hosts created or deleted, for every binding feed, published after the commit. */
	struct wire_host *hostev;
	size_t nhostev, hostev_cap;
	char err[256];
};

struct model_vm_args {
	const char *name;
	const char *vpc;
	const char *host;
	uint32_t ip;
	bool has_mac;
	uint8_t mac[6];
	const char *tap;	/* NULL: derived from the name */
};

int model_begin(struct db *db, uint32_t version_step, struct model_txn *t);
int model_begin_on(struct db *db, uint32_t version_step, const struct model_backend *b,
    struct model_txn *t);
/* Write what the transaction changed and commit it durably. */
int model_finish(struct model_txn *t);
void model_abort(struct model_txn *t);
/* After model_finish, once t->binds and t->hostev were published. */
void model_release(struct model_txn *t);

int model_vpc_create(struct model_txn *t, const char *name, uint32_t vni,
    const struct addr_cidr *cidrs, uint32_t ncidrs, struct db_vpc *out);
int model_vpc_delete(struct model_txn *t, const char *name);
/* A new generation: every rule of the VPC is sent again at a new version. */
int model_vpc_reset(struct model_txn *t, const char *name, struct db_vpc *out);
int model_host_create(struct model_txn *t, const char *name, uint32_t vtep,
    enum addr_kind kind, struct db_host *out);
int model_host_delete(struct model_txn *t, const char *name);
int model_vm_create(struct model_txn *t, const struct model_vm_args *a, struct db_vm *out);
int model_vm_delete(struct model_txn *t, const char *name);
int model_vm_migrate(struct model_txn *t, const char *name, const char *host,
    struct db_vm *out);

/* The VPC (cached in the transaction, else from the db). */
int model_get_vpc(struct model_txn *t, const char *name, struct db_vpc *out);
/*
 * A VPC's new generation: random, non-zero, not `not` (the one it replaces). Also
 * drawn for every VPC by a restore (backup.h).
 */
uint32_t model_draw_gen(uint32_t not);
/* Derived defaults (docs/api.md). */
void model_default_tap(const char *vm, char tap[WIRE_TAP_MAX]);
bool model_ip_in_vpc(const struct db_vpc *v, uint32_t ip);

#endif
