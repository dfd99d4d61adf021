/*
 * db: see db.h. Invariants: every rule change is in `rules` and, as a RULE record, in
 * `log` under the seq stored with it; log holds the seqs in [log_first, next_seq) that
 * were appended (every one of them in LMDB's own mode; in an etcd view seqs follow
 * etcd's revisions, with gaps); a tombstone leaves `rules` in the transaction that trims
 * its record from the log.
 */
#include "db.h"
#include "common/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dbi_names[DBI_COUNT] = {
	"meta", "vpcs", "vni", "hosts", "vtep", "vms", "vm_ip", "vm_mac", "host_tap",
	"rules", "log",
};

/* LMDB's errors are positive and its own; the callers speak negative errno. */
static int
mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
		return -ENOSPC;
	default:
		return rc > 0 && rc < 1000 ? -rc : -EIO;
	}
}

void
db_key_vni_ip(uint8_t key[8], uint32_t vni, uint32_t ip)
{
	bytes_put32(key, vni);
	bytes_put32(key + 4, ip);
}

static MDB_val
val_of(const void *p, size_t n)
{
	return (MDB_val){ .mv_size = n, .mv_data = (void *)p };
}

static MDB_val
str_key(const char *s)
{
	return val_of(s, strlen(s));
}

static int
get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t def, uint64_t *out)
{
	MDB_val k = str_key(name), v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc == MDB_NOTFOUND) {
		*out = def;
		return 0;
	}
	if (rc != 0)
		return mdb_err(rc);
	if (v.mv_size != 8)
		return -EUCLEAN;
	memcpy(out, v.mv_data, 8);
	return 0;
}

static int
put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
	MDB_val k = str_key(name), v = val_of(&val, 8);

	return mdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

int
db_open(struct db *db, const char *dir, uint64_t map_size, uint64_t log_retention,
    char *err, size_t errlen)
{
	MDB_txn *txn = NULL;
	uint64_t schema;
	char path[4096];
	int rc, dead;

	memset(db, 0, sizeof(*db));
	db->log_retention = log_retention;
	db->lock_fd = -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	/* One controller a data directory: LMDB would let two write in turn. */
	snprintf(path, sizeof(path), "%s/controller.lock", dir);
	if ((db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(db->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", path, rc == EWOULDBLOCK ?
		    "another controller uses this data directory" : strerror(rc));
		if (db->lock_fd >= 0)
			close(db->lock_fd);
		return -rc;
	}
	if ((rc = mdb_env_create(&db->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(db->env, DBI_COUNT)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, map_size)) != 0 ||
	    (rc = mdb_env_open(db->env, dir, MDB_NOTLS, 0600)) != 0) {
		snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	/* Read slots of a controller killed while reading would pin old pages. */
	mdb_reader_check(db->env, &dead);
	if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn)) != 0)
		goto fail_rc;
	for (int i = 0; i < DBI_COUNT; i++)
		if ((rc = mdb_dbi_open(txn, dbi_names[i], MDB_CREATE, &db->dbi[i])) != 0)
			goto fail_rc;
	if ((rc = -get_u64(txn, db->dbi[DBI_META], "schema", 0, &schema)) != 0)
		goto fail_rc;
	if (schema == 0) {
		if ((rc = -put_u64(txn, db->dbi[DBI_META], "schema", DB_SCHEMA)) != 0)
			goto fail_rc;
	} else if (schema != DB_SCHEMA) {
		snprintf(err, errlen, "%s: database schema %llu, this controller reads %u", dir,
		    (unsigned long long)schema, DB_SCHEMA);
		rc = EPROTO;
		goto fail;
	}
	{
		uint64_t next;

		if ((rc = -get_u64(txn, db->dbi[DBI_META], "next_seq", 1, &next)) != 0 ||
		    (rc = -get_u64(txn, db->dbi[DBI_META], "log_first", 1, &db->log_first)) != 0)
			goto fail_rc;
		db->last_seq = next - 1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail_rc;
	}
	return 0;
fail_rc:
	snprintf(err, errlen, "%s: %s", dir, rc > 0 && rc < 1000 ? strerror(rc) :
	    mdb_strerror(rc));
fail:
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(db->env);
	db->env = NULL;
	close(db->lock_fd);
	db->lock_fd = -1;
	return rc > 0 && rc < 1000 ? -rc : -EIO;
}

void
db_close(struct db *db)
{
	if (db->env)
		mdb_env_close(db->env);
	db->env = NULL;
	if (db->lock_fd >= 0)
		close(db->lock_fd);
	db->lock_fd = -1;
}

int
db_begin(struct db *db, struct db_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->db = db;
	t->next_seq = db->last_seq + 1;
	t->log_first = db->log_first;
	return mdb_err(mdb_txn_begin(db->env, NULL, 0, &t->txn));
}

void
db_abort(struct db_txn *t)
{
	if (t->txn)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
}

int
db_read(struct db *db, MDB_txn **txn)
{
	return mdb_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn));
}

/* The log record at seq leaves: a tombstone it made leaves with it. */
static int
trim_one(struct db_txn *t, uint64_t seq)
{
	struct db *db = t->db;
	uint8_t key[8];
	MDB_val k = val_of(key, 8), v;
	struct wire_msg m;
	int rc;

	bytes_put64(key, seq);
	rc = mdb_get(t->txn, db->dbi[DBI_LOG], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return mdb_err(rc);
	if (!db->keep_tombstones && wire_decode_log(v.mv_data, v.mv_size, &m) > 0 &&
	    m.type == WIRE_RULE &&
	    m.u.rule.op == WIRE_RULE_DEL) {
		struct db_rule r;
		uint8_t rk[8];
		MDB_val rkv = val_of(rk, 8);

		if (db_get_rule(t->txn, db, m.u.rule.vni, m.u.rule.ip, &r) == 0 &&
		    r.op == WIRE_RULE_DEL && r.seq == seq) {
			db_key_vni_ip(rk, m.u.rule.vni, m.u.rule.ip);
			if ((rc = mdb_del(t->txn, db->dbi[DBI_RULES], &rkv, NULL)) != 0)
				return mdb_err(rc);
		}
	}
	return mdb_err(mdb_del(t->txn, db->dbi[DBI_LOG], &k, NULL));
}

int
db_commit(struct db_txn *t)
{
	struct db *db = t->db;
	uint64_t first = t->log_first;
	int rc;

	/*
	 * By count, not by seq: an etcd view's seqs have gaps. The oldest record goes first;
	 * log_first says that nothing below it is left.
	 */
	while (db_count(t->txn, db, DBI_LOG) > db->log_retention) {
		MDB_cursor *cur;
		MDB_val k, v;
		uint64_t seq;

		if ((rc = mdb_err(mdb_cursor_open(t->txn, db->dbi[DBI_LOG], &cur))) < 0)
			goto fail;
		rc = mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
		mdb_cursor_close(cur);
		if (rc < 0 || k.mv_size != 8) {
			rc = rc < 0 ? rc : -EUCLEAN;
			goto fail;
		}
		seq = bytes_get64(k.mv_data);
		if ((rc = trim_one(t, seq)) < 0)
			goto fail;
		first = seq + 1;
		t->appended++;	/* log_first moved: written below */
	}
	if (t->appended) {
		if ((rc = put_u64(t->txn, db->dbi[DBI_META], "next_seq", t->next_seq)) < 0 ||
		    (rc = put_u64(t->txn, db->dbi[DBI_META], "log_first", first)) < 0)
			goto fail;
	}
	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc != 0)
		return mdb_err(rc);
	/* Durable now: subscribers may read up to here. */
	db->last_seq = t->next_seq - 1;
	db->log_first = first;
	return 0;
fail:
	db_abort(t);
	return rc;
}

static int
get_fixed(MDB_txn *txn, MDB_dbi dbi, MDB_val k, void *out, size_t size)
{
	MDB_val v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc != 0)
		return mdb_err(rc);
	if (v.mv_size != size)
		return -EUCLEAN;
	memcpy(out, v.mv_data, size);
	return 0;
}

static int
get_name(MDB_txn *txn, MDB_dbi dbi, MDB_val k, char *out)
{
	MDB_val v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc != 0)
		return mdb_err(rc);
	if (v.mv_size == 0 || v.mv_size >= DB_NAME_MAX)
		return -EUCLEAN;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return 0;
}

int
db_get_vpc(MDB_txn *txn, struct db *db, const char *name, struct db_vpc *out)
{
	return get_fixed(txn, db->dbi[DBI_VPCS], str_key(name), out, sizeof(*out));
}

int
db_get_host(MDB_txn *txn, struct db *db, const char *name, struct db_host *out)
{
	return get_fixed(txn, db->dbi[DBI_HOSTS], str_key(name), out, sizeof(*out));
}

int
db_get_vm(MDB_txn *txn, struct db *db, const char *name, struct db_vm *out)
{
	return get_fixed(txn, db->dbi[DBI_VMS], str_key(name), out, sizeof(*out));
}

int
db_get_rule(MDB_txn *txn, struct db *db, uint32_t vni, uint32_t ip, struct db_rule *out)
{
	uint8_t key[8];

	db_key_vni_ip(key, vni, ip);
	return get_fixed(txn, db->dbi[DBI_RULES], val_of(key, 8), out, sizeof(*out));
}

int
db_vpc_by_vni(MDB_txn *txn, struct db *db, uint32_t vni, char *out)
{
	uint8_t key[4];

	bytes_put32(key, vni);
	return get_name(txn, db->dbi[DBI_VNI], val_of(key, 4), out);
}

int
db_host_by_vtep(MDB_txn *txn, struct db *db, uint32_t vtep, char *out)
{
	uint8_t key[4];

	bytes_put32(key, vtep);
	return get_name(txn, db->dbi[DBI_VTEP], val_of(key, 4), out);
}

int
db_vm_by_ip(MDB_txn *txn, struct db *db, uint32_t vni, uint32_t ip, char *out)
{
	uint8_t key[8];

	db_key_vni_ip(key, vni, ip);
	return get_name(txn, db->dbi[DBI_VM_IP], val_of(key, 8), out);
}

static void
key_vni_mac(uint8_t key[10], uint32_t vni, const uint8_t *mac)
{
	bytes_put32(key, vni);
	memcpy(key + 4, mac, 6);
}

int
db_vm_by_mac(MDB_txn *txn, struct db *db, uint32_t vni, const uint8_t *mac, char *out)
{
	uint8_t key[10];

	key_vni_mac(key, vni, mac);
	return get_name(txn, db->dbi[DBI_VM_MAC], val_of(key, 10), out);
}

/* host name, 0, second name (a VM's, or a TAP's) */
static size_t
key_host_pair(uint8_t *key, const char *host, const char *name)
{
	size_t hl = strlen(host), nl = strlen(name);

	memcpy(key, host, hl);
	key[hl] = 0;
	memcpy(key + hl + 1, name, nl);
	return hl + 1 + nl;
}

int
db_vm_by_tap(MDB_txn *txn, struct db *db, const char *host, const char *tap, char *out)
{
	uint8_t key[DB_NAME_MAX + WIRE_TAP_MAX];

	return get_name(txn, db->dbi[DBI_HOST_TAP], val_of(key, key_host_pair(key, host, tap)),
	    out);
}

const char *
db_dbi_name(enum db_dbi dbi)
{
	return (unsigned)dbi < DBI_COUNT ? dbi_names[dbi] : NULL;
}

int
db_dbi_by_name(const char *name, size_t len)
{
	for (int i = 0; i < DBI_COUNT; i++)
		if (strlen(dbi_names[i]) == len && memcmp(dbi_names[i], name, len) == 0)
			return i;
	return -ENOENT;
}

/*
 * A write: told to the capture first (with the value it replaces, read before LMDB may
 * overwrite its page in place), so that a replicated store sees exactly what LMDB does.
 */
static int
put(struct db_txn *t, enum db_dbi dbi, MDB_val k, MDB_val v, unsigned flags)
{
	if (t->cap && dbi != DBI_LOG && dbi != DBI_META) {
		MDB_val old;
		int rc = mdb_get(t->txn, t->db->dbi[dbi], &k, &old);

		if (rc != 0 && rc != MDB_NOTFOUND)
			return mdb_err(rc);
		if (rc == 0 && (flags & MDB_NOOVERWRITE))
			return -EEXIST;
		if ((rc = t->cap->change(t->cap->arg, dbi, &k, rc == 0 ? &old : NULL, &v,
		    false)) < 0)
			return rc;
	}
	return mdb_err(mdb_put(t->txn, t->db->dbi[dbi], &k, &v, flags));
}

static int
del(struct db_txn *t, enum db_dbi dbi, MDB_val k)
{
	int rc;

	if (t->cap) {
		MDB_val old;

		if ((rc = mdb_get(t->txn, t->db->dbi[dbi], &k, &old)) == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return mdb_err(rc);
		if ((rc = t->cap->change(t->cap->arg, dbi, &k, &old, NULL, false)) < 0)
			return rc;
	}
	rc = mdb_del(t->txn, t->db->dbi[dbi], &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

int
db_raw_put(struct db_txn *t, enum db_dbi dbi, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	return put(t, dbi, val_of(key, klen), val_of(val, vlen), 0);
}

int
db_raw_del(struct db_txn *t, enum db_dbi dbi, const void *key, size_t klen)
{
	return del(t, dbi, val_of(key, klen));
}

int
db_put_vpc(struct db_txn *t, const char *name, const struct db_vpc *v, bool is_new)
{
	uint8_t key[4];
	int rc;

	if ((rc = put(t, DBI_VPCS, str_key(name), val_of(v, sizeof(*v)), 0)) < 0)
		return rc;
	if (!is_new)
		return 0;
	bytes_put32(key, v->vni);
	return put(t, DBI_VNI, val_of(key, 4), str_key(name), MDB_NOOVERWRITE);
}

int
db_del_vpc(struct db_txn *t, const char *name, uint32_t vni)
{
	uint8_t key[4];
	int rc;

	bytes_put32(key, vni);
	if ((rc = del(t, DBI_VPCS, str_key(name))) < 0)
		return rc;
	return del(t, DBI_VNI, val_of(key, 4));
}

int
db_put_host(struct db_txn *t, const char *name, const struct db_host *h, bool is_new)
{
	uint8_t key[4];
	int rc;

	if ((rc = put(t, DBI_HOSTS, str_key(name), val_of(h, sizeof(*h)), 0)) < 0)
		return rc;
	if (!is_new)
		return 0;
	bytes_put32(key, h->vtep);
	return put(t, DBI_VTEP, val_of(key, 4), str_key(name), MDB_NOOVERWRITE);
}

int
db_del_host(struct db_txn *t, const char *name, uint32_t vtep)
{
	uint8_t key[4];
	int rc;

	bytes_put32(key, vtep);
	if ((rc = del(t, DBI_HOSTS, str_key(name))) < 0)
		return rc;
	return del(t, DBI_VTEP, val_of(key, 4));
}

static int
index_vm(struct db_txn *t, const char *name, const struct db_vm *vm, bool add,
    enum db_dbi *taken)
{
	uint8_t ipk[8], mack[10], tk[DB_NAME_MAX + WIRE_TAP_MAX];
	MDB_val nv = str_key(name);
	size_t tl = key_host_pair(tk, vm->host, vm->tap);
	int rc;

	db_key_vni_ip(ipk, vm->vni, vm->ip);
	key_vni_mac(mack, vm->vni, vm->mac);
	if (!add) {
		if ((rc = del(t, DBI_VM_IP, val_of(ipk, 8))) < 0 ||
		    (rc = del(t, DBI_VM_MAC, val_of(mack, 10))) < 0)
			return rc;
		return del(t, DBI_HOST_TAP, val_of(tk, tl));
	}
	/* The unique indexes refuse a taken key themselves: no lookup before. */
	if ((rc = put(t, *taken = DBI_VM_IP, val_of(ipk, 8), nv, MDB_NOOVERWRITE)) < 0 ||
	    (rc = put(t, *taken = DBI_VM_MAC, val_of(mack, 10), nv, MDB_NOOVERWRITE)) < 0)
		return rc;
	return put(t, *taken = DBI_HOST_TAP, val_of(tk, tl), nv, MDB_NOOVERWRITE);
}

int
db_put_vm(struct db_txn *t, const char *name, const struct db_vm *vm,
    const struct db_vm *old, enum db_dbi *taken)
{
	int rc;

	if (old && (rc = index_vm(t, name, old, false, taken)) < 0)
		return rc;
	*taken = DBI_VMS;
	if ((rc = put(t, DBI_VMS, str_key(name), val_of(vm, sizeof(*vm)),
	    old ? 0 : MDB_NOOVERWRITE)) < 0)
		return rc;
	return index_vm(t, name, vm, true, taken);
}

int
db_del_vm(struct db_txn *t, const char *name, const struct db_vm *vm)
{
	int rc;

	enum db_dbi unused;

	if ((rc = index_vm(t, name, vm, false, &unused)) < 0)
		return rc;
	return del(t, DBI_VMS, str_key(name));
}

static int
log_append(struct db_txn *t, const struct wire_msg *m)
{
	uint8_t key[8], frame[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n = wire_encode(m, frame, sizeof(frame)), rc;

	if (n < 0)
		return n;
	if (t->cap && (rc = t->cap->record(t->cap->arg, frame, (size_t)n)) < 0)
		return rc;
	bytes_put64(key, t->next_seq);
	/* Seqs only grow: appending at the end of the B-tree is the cheap case. */
	if ((rc = put(t, DBI_LOG, val_of(key, 8), val_of(frame, n), MDB_APPEND)) < 0)
		return rc;
	t->next_seq++;
	t->appended++;
	return 0;
}

int
db_put_rule(struct db_txn *t, uint32_t vni, uint32_t ip, const struct db_rule *r)
{
	struct wire_msg m = { .type = WIRE_RULE };
	struct db_rule rec = *r;
	uint8_t key[8];
	int rc;

	rec.seq = t->next_seq;
	m.u.rule = (struct wire_rule){ .seq = rec.seq, .vni = vni, .ip = ip, .vtep = r->vtep,
	    .op = r->op, .flags = r->flags, .version = r->version };
	memcpy(m.u.rule.mac, r->mac, 6);
	db_key_vni_ip(key, vni, ip);
	if ((rc = put(t, DBI_RULES, val_of(key, 8), val_of(&rec, sizeof(rec)), 0)) < 0)
		return rc;
	return log_append(t, &m);
}

int
db_log_vpc(struct db_txn *t, uint32_t vni, uint32_t gen, uint64_t version, uint8_t op)
{
	struct wire_msg m = { .type = WIRE_VPC };

	m.u.vpc = (struct wire_vpc){ .seq = t->next_seq, .vni = vni, .gen = gen,
	    .version = version, .op = op };
	return log_append(t, &m);
}

int
db_log_host(struct db_txn *t, uint32_t vtep, uint8_t kind, uint8_t op, struct wire_host *out)
{
	struct wire_msg m = { .type = WIRE_HOST };

	m.u.host = (struct wire_host){ .seq = t->next_seq, .vtep = vtep, .kind = kind,
	    .op = op };
	*out = m.u.host;
	return log_append(t, &m);
}

int
db_log_at(struct db_txn *t, uint64_t seq, struct wire_msg *m)
{
	if (seq < t->next_seq)
		return -ERANGE;
	t->next_seq = seq;
	switch (m->type) {
	case WIRE_RULE:
		m->u.rule.seq = seq;
		break;
	case WIRE_VPC:
		m->u.vpc.seq = seq;
		break;
	case WIRE_HOST:
		m->u.host.seq = seq;
		break;
	default:
		return -EINVAL;
	}
	return log_append(t, m);
}

int
db_rule_seq(struct db_txn *t, uint32_t vni, uint32_t ip, uint64_t seq)
{
	struct db_rule r;
	uint8_t key[8];
	int rc;

	if ((rc = db_get_rule(t->txn, t->db, vni, ip, &r)) < 0)
		return rc;
	r.seq = seq;
	db_key_vni_ip(key, vni, ip);
	return put(t, DBI_RULES, val_of(key, 8), val_of(&r, sizeof(r)), 0);
}

int
db_clear(struct db_txn *t, uint64_t first_seq)
{
	int rc;

	for (int i = 0; i < DBI_COUNT; i++)
		if (i != DBI_META && (rc = mdb_err(mdb_drop(t->txn, t->db->dbi[i], 0))) < 0)
			return rc;
	t->next_seq = t->log_first = first_seq;
	t->appended++;
	return 0;
}

int
db_clear_log(struct db_txn *t, uint64_t first_seq)
{
	int rc;

	if ((rc = mdb_err(mdb_drop(t->txn, t->db->dbi[DBI_LOG], 0))) < 0)
		return rc;
	t->next_seq = t->log_first = first_seq;
	t->appended++;
	return 0;
}

int
db_meta_get(MDB_txn *txn, struct db *db, const char *name, uint64_t def, uint64_t *out)
{
	return get_u64(txn, db->dbi[DBI_META], name, def, out);
}

int
db_meta_put(struct db_txn *t, const char *name, uint64_t val)
{
	return put_u64(t->txn, t->db->dbi[DBI_META], name, val);
}

uint8_t
db_host_kind(const struct db_host *h)
{
	return h->kind == ADDR_KIND_EXTERNAL ? WIRE_HOST_EXTERNAL : WIRE_HOST_VSWITCH;
}

int
db_del_rules(struct db_txn *t, uint32_t vni)
{
	struct db_iter it;
	uint8_t prefix[4];
	int rc;

	bytes_put32(prefix, vni);
	/* One range delete for a replicated store, not a change a rule. */
	if (t->cap && (rc = t->cap->change(t->cap->arg, DBI_RULES,
	    &(MDB_val){ .mv_size = 4, .mv_data = prefix }, NULL, NULL, true)) < 0)
		return rc;
	if ((rc = db_iter_open(t->txn, t->db, DBI_RULES, prefix, 4, &it)) < 0)
		return rc;
	while ((rc = db_iter_next(&it)) > 0)
		if ((rc = mdb_err(mdb_cursor_del(it.cur, 0))) < 0)
			break;
	db_iter_close(&it);
	return rc;
}

int
db_iter_open(MDB_txn *txn, struct db *db, enum db_dbi dbi, const void *prefix,
    size_t prefix_len, struct db_iter *it)
{
	memset(it, 0, sizeof(*it));
	if (prefix_len > sizeof(it->prefix))
		return -EINVAL;
	if (prefix_len)
		memcpy(it->prefix, prefix, prefix_len);
	it->prefix_len = prefix_len;
	return mdb_err(mdb_cursor_open(txn, db->dbi[dbi], &it->cur));
}

int
db_iter_seek(struct db_iter *it, const void *after, size_t len)
{
	int rc;

	it->started = true;
	it->key = val_of(after, len);
	rc = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND) {
		it->done = true;
		return 0;
	}
	if (rc != 0)
		return mdb_err(rc);
	/* On a key after `after`: the next call returns it without moving. */
	it->pending = !(it->key.mv_size == len && memcmp(it->key.mv_data, after, len) == 0);
	return 0;
}

int
db_iter_next(struct db_iter *it)
{
	int rc = 0;

	if (it->done)
		return 0;
	if (!it->started) {
		it->started = true;
		if (it->prefix_len) {
			it->key = val_of(it->prefix, it->prefix_len);
			rc = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_SET_RANGE);
		} else {
			rc = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_FIRST);
		}
	} else if (it->pending) {
		it->pending = false;
	} else {
		rc = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || (rc == 0 && (it->key.mv_size < it->prefix_len ||
	    memcmp(it->key.mv_data, it->prefix, it->prefix_len) != 0))) {
		it->done = true;
		return 0;
	}
	return rc != 0 ? mdb_err(rc) : 1;
}

int
db_iter_del(struct db_txn *t, struct db_iter *it, enum db_dbi dbi)
{
	int rc;

	if (t->cap && (rc = t->cap->change(t->cap->arg, dbi, &it->key, &it->val, NULL,
	    false)) < 0)
		return rc;
	return mdb_err(mdb_cursor_del(it->cur, 0));
}

void
db_iter_close(struct db_iter *it)
{
	if (it->cur)
		mdb_cursor_close(it->cur);
	it->cur = NULL;
}

uint64_t
db_count(MDB_txn *txn, struct db *db, enum db_dbi dbi)
{
	MDB_stat st;

	if (mdb_stat(txn, db->dbi[dbi], &st) != 0)
		return 0;
	return st.ms_entries;
}
