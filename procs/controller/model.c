/*
 * model: see model.h. Invariant: a VPC's version changes at most once a transaction,
 * and every rule the transaction changes in that VPC carries the new version.
 */
#include "model.h"
#include "common/addr.h"
#include "common/bytes.h"
#include "common/grow.h"
#include "common/mix.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct model_vpc {
	char name[DB_NAME_MAX];
	struct db_vpc rec;
	bool bumped;		/* version raised in this transaction */
	bool dirty;
	bool deleted;
};

struct model_host {
	char name[DB_NAME_MAX];
	struct db_host rec;
	bool dirty;
};

static int
fail(struct model_txn *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

/* strlcpy: names were checked already, so this never truncates in practice. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The element of arr (stride bytes each, a name first) named name, or NULL. */
static void *
idx_find(const struct model_name_idx *x, void *arr, size_t stride, const char *name)
{
	if (x->cap == 0)
		return NULL;
	for (size_t s = fnv1a32(FNV1A32_INIT, name, strlen(name)) & (x->cap - 1);
	    x->slot[s] != 0; s = (s + 1) & (x->cap - 1)) {
		char *e = (char *)arr + (x->slot[s] - 1) * stride;

		if (strcmp(e, name) == 0)
			return e;
	}
	return NULL;
}

static void
idx_put(struct model_name_idx *x, const void *arr, size_t stride, size_t i)
{
	const char *name = (const char *)arr + i * stride;
	size_t s = fnv1a32(FNV1A32_INIT, name, strlen(name)) & (x->cap - 1);

	while (x->slot[s] != 0)
		s = (s + 1) & (x->cap - 1);
	x->slot[s] = (uint32_t)i + 1;
}

/* arr[n - 1] was just added: index it, growing the index to keep it half empty. */
static int
idx_add(struct model_name_idx *x, const void *arr, size_t stride, size_t n)
{
	if (2 * n > x->cap) {
		size_t cap = x->cap ? 4 * x->cap : 64;
		uint32_t *slot = calloc(cap, sizeof(*slot));

		if (slot == NULL)
			return -ENOMEM;
		free(x->slot);
		x->slot = slot;
		x->cap = cap;
		for (size_t i = 0; i < n; i++)
			idx_put(x, arr, stride, i);
		return 0;
	}
	idx_put(x, arr, stride, n - 1);
	return 0;
}

static int
db_fail(struct model_txn *t, int rc)
{
	if (rc == -ENOSPC)
		return fail(t, rc, "the controller's database is full (raise db_map_size)");
	return fail(t, rc, "database error: %s", strerror(-rc));
}

int
model_begin_on(struct db *db, uint32_t version_step, const struct model_backend *b,
    struct model_txn *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->version_step = version_step;
	t->backend = b;
	if ((rc = db_begin(db, &t->db)) < 0)
		return rc;
	if (b) {
		b->begin(b->arg);
		t->db.cap = b->cap;
	}
	return 0;
}

int
model_begin(struct db *db, uint32_t version_step, struct model_txn *t)
{
	return model_begin_on(db, version_step, NULL, t);
}

static void
model_free(struct model_txn *t)
{
	free(t->vpcs);
	free(t->hosts);
	free(t->vpc_idx.slot);
	free(t->host_idx.slot);
	t->vpcs = NULL;
	t->hosts = NULL;
	t->vpc_idx = t->host_idx = (struct model_name_idx){ 0 };
	t->nvpcs = t->nhosts = 0;
}

void
model_release(struct model_txn *t)
{
	model_free(t);
	free(t->binds);
	t->binds = NULL;
	t->nbinds = 0;
	free(t->hostev);
	t->hostev = NULL;
	t->nhostev = 0;
}

/* A host's VTEP appears or goes: a HOST record in the log, and one for the feeds. */
static int
host_event(struct model_txn *t, const struct db_host *h, uint8_t op)
{
	int rc;

	if ((rc = grow(&t->hostev, &t->hostev_cap, t->nhostev, sizeof(*t->hostev), 4)) < 0)
		return rc;
	if ((rc = db_log_host(&t->db, h->vtep, db_host_kind(h), op, &t->hostev[t->nhostev])) < 0)
		return rc;
	t->nhostev++;
	return 0;
}

void
model_abort(struct model_txn *t)
{
	db_abort(&t->db);
	model_release(t);
}

int
model_finish(struct model_txn *t)
{
	int rc = 0;

	for (size_t i = 0; i < t->nvpcs && rc == 0; i++) {
		struct model_vpc *v = &t->vpcs[i];

		if (v->deleted || !v->dirty)
			continue;
		rc = db_put_vpc(&t->db, v->name, &v->rec, false);
		/* After the VPC's RULE records: a rule-store applies the version whole. */
		if (rc == 0 && v->bumped)
			rc = db_log_vpc(&t->db, v->rec.vni, v->rec.gen, v->rec.version,
			    WIRE_VPC_ADVANCE);
	}
	for (size_t i = 0; i < t->nhosts && rc == 0; i++)
		if (t->hosts[i].dirty)
			rc = db_put_host(&t->db, t->hosts[i].name, &t->hosts[i].rec, false);
	if (rc == 0 && t->backend) {
		/* The backend says why it failed itself. */
		rc = t->backend->commit(t->backend->arg, t);
		db_abort(&t->db);
		model_free(t);
		return rc;
	}
	if (rc == 0)
		rc = db_commit(&t->db);
	else
		db_abort(&t->db);
	model_free(t);
	if (rc < 0)
		return db_fail(t, rc);
	return 0;
}

/*
 * The transaction's copy of a VPC, loaded on first use. Imports touch few VPCs each,
 * so a linear search is cheaper than a map.
 */
static struct model_vpc *
vpc_touch(struct model_txn *t, const char *name, int *rc)
{
	struct model_vpc *v = idx_find(&t->vpc_idx, t->vpcs, sizeof(*v), name);

	if (v != NULL)
		return v->deleted ? (*rc = -ENOENT, NULL) : v;
	if ((*rc = grow(&t->vpcs, &t->vpcs_cap, t->nvpcs, sizeof(*v), 16)) < 0)
		return NULL;
	v = &t->vpcs[t->nvpcs];
	memset(v, 0, sizeof(*v));
	if ((*rc = db_get_vpc(t->db.txn, t->db.db, name, &v->rec)) < 0)
		return NULL;
	copy_str(v->name, sizeof(v->name), name);
	if ((*rc = idx_add(&t->vpc_idx, t->vpcs, sizeof(*v), ++t->nvpcs)) < 0)
		return NULL;
	return v;
}

static struct model_host *
host_touch(struct model_txn *t, const char *name, int *rc)
{
	struct model_host *h = idx_find(&t->host_idx, t->hosts, sizeof(*h), name);

	if (h != NULL)
		return h;
	if ((*rc = grow(&t->hosts, &t->hosts_cap, t->nhosts, sizeof(*h), 16)) < 0)
		return NULL;
	h = &t->hosts[t->nhosts];
	memset(h, 0, sizeof(*h));
	if ((*rc = db_get_host(t->db.txn, t->db.db, name, &h->rec)) < 0)
		return NULL;
	copy_str(h->name, sizeof(h->name), name);
	if ((*rc = idx_add(&t->host_idx, t->hosts, sizeof(*h), ++t->nhosts)) < 0)
		return NULL;
	return h;
}

int
model_get_vpc(struct model_txn *t, const char *name, struct db_vpc *out)
{
	int rc;
	struct model_vpc *v = vpc_touch(t, name, &rc);

	if (v == NULL)
		return rc;
	*out = v->rec;
	return 0;
}

static int
add_bind(struct model_txn *t, const char *host, const struct db_vm *vm, uint8_t op)
{
	struct model_bind *b;

	if (grow(&t->binds, &t->binds_cap, t->nbinds, sizeof(*b), 16) < 0)
		return -ENOMEM;
	b = &t->binds[t->nbinds++];
	memset(b, 0, sizeof(*b));
	copy_str(b->host, sizeof(b->host), host);
	/* The RULE record just appended names the change. */
	b->b.seq = t->db.next_seq - 1;
	b->b.vni = vm->vni;
	b->b.ip = vm->ip;
	memcpy(b->b.mac, vm->mac, 6);
	b->b.op = op;
	copy_str(b->b.tap, sizeof(b->b.tap), vm->tap);
	return 0;
}

/*
 * A VPC's next version: its first change is version 1 whatever the step, then each
 * commit adds version_step (DESIGN.md §2: with step 2 the versions are 1, 3, 5, ...,
 * so an even version was never one and a learner holding it is told to relearn).
 */
static uint64_t
next_version(uint64_t v, uint32_t step)
{
	return v == 0 ? 1 : v + step;
}

/* A rule of VPC v changes: the VPC's version rises once in this transaction. */
static int
rule_change(struct model_txn *t, struct model_vpc *v, uint32_t ip, uint8_t op,
    const uint8_t *mac, const struct db_host *h)
{
	struct db_rule r = { .vtep = h ? h->vtep : 0, .op = op };

	if (!v->bumped) {
		v->rec.version = next_version(v->rec.version, t->version_step);
		v->bumped = true;
		v->dirty = true;
	}
	r.version = v->rec.version;
	if (h && h->kind == ADDR_KIND_EXTERNAL)
		r.flags |= WIRE_RULE_F_EXTERNAL;
	memcpy(r.mac, mac, 6);
	return db_put_rule(&t->db, v->rec.vni, ip, &r);
}

/* The VPC's prefix that holds ip, or NULL. */
static const struct addr_cidr *
vpc_cidr_of(const struct db_vpc *v, uint32_t ip)
{
	for (uint32_t i = 0; i < v->ncidrs && i < ADDR_CIDRS_MAX; i++)
		if (addr_cidr_contains(&v->cidrs[i], ip))
			return &v->cidrs[i];
	return NULL;
}

bool
model_ip_in_vpc(const struct db_vpc *v, uint32_t ip)
{
	return vpc_cidr_of(v, ip) != NULL;
}

void
model_default_tap(const char *vm, char tap[WIRE_TAP_MAX])
{
	char try[WIRE_TAP_MAX];

	snprintf(try, sizeof(try), "vf%.13s", vm);
	if (strlen(vm) <= 13 && addr_tap_check("tap", try, NULL) == 0) {
		memcpy(tap, try, sizeof(try));
		return;
	}
	/* A long or unusual name: a hash of it, still readable as ours. */
	uint64_t h = 0;

	for (const char *p = vm; *p; p++)
		h = mix64(h ^ (uint8_t)*p);
	snprintf(tap, WIRE_TAP_MAX, "vf%08x", (uint32_t)h);
}

static void
cidrs_text(const struct db_vpc *v, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < v->ncidrs && n < len; i++) {
		char c[ADDR_CIDR_STRLEN];

		addr_cidr_format(&v->cidrs[i], c);
		n += snprintf(buf + n, len - n, "%s%s", i ? ", " : "", c);
	}
}

uint32_t
model_draw_gen(uint32_t not)
{
	uint32_t g = 0;

	while (g == 0 || g == not)
		if (getrandom(&g, sizeof(g), 0) != sizeof(g))
			g = (uint32_t)mix64((uint64_t)(uintptr_t)&g ^ g);
	return g;
}

int
model_vpc_create(struct model_txn *t, const char *name, uint32_t vni,
    const struct addr_cidr *cidrs, uint32_t ncidrs, struct db_vpc *out)
{
	char other[DB_NAME_MAX];
	struct db_vpc v = { .vni = vni, .ncidrs = ncidrs };
	int rc;

	if ((rc = db_get_vpc(t->db.txn, t->db.db, name, &v)) == 0)
		return fail(t, -EEXIST, "VPC %s exists", name);
	if (rc != -ENOENT)
		return db_fail(t, rc);
	if ((rc = db_vpc_by_vni(t->db.txn, t->db.db, vni, other)) == 0)
		return fail(t, -EEXIST, "VNI %u is in use by VPC %s", vni, other);
	if (addr_cidrs_check("cidrs", cidrs, ncidrs, t->err) < 0)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	v.vni = vni;
	v.gen = model_draw_gen(0);
	v.ncidrs = ncidrs;
	memcpy(v.cidrs, cidrs, ncidrs * sizeof(cidrs[0]));
	if ((rc = db_put_vpc(&t->db, name, &v, true)) < 0 ||
	    (rc = db_log_vpc(&t->db, vni, v.gen, 0, WIRE_VPC_ADVANCE)) < 0)
		return db_fail(t, rc);
	*out = v;
	return 0;
}

int
model_vpc_delete(struct model_txn *t, const char *name)
{
	struct model_vpc *v = vpc_touch(t, name, &(int){ 0 });
	int rc;

	if (v == NULL)
		return fail(t, -ENOENT, "unknown VPC %s", name);
	if (v->rec.nvms)
		return fail(t, -EBUSY, "VPC %s still has %u VMs", name, v->rec.nvms);
	if ((rc = db_del_rules(&t->db, v->rec.vni)) < 0 ||
	    (rc = db_del_vpc(&t->db, name, v->rec.vni)) < 0 ||
	    (rc = db_log_vpc(&t->db, v->rec.vni, v->rec.gen, v->rec.version,
	    WIRE_VPC_DELETE)) < 0)
		return db_fail(t, rc);
	v->deleted = true;
	return 0;
}

int
model_vpc_reset(struct model_txn *t, const char *name, struct db_vpc *out)
{
	struct model_vpc *v = vpc_touch(t, name, &(int){ 0 });
	struct db_iter it;
	uint8_t prefix[4];
	int rc;

	if (v == NULL)
		return fail(t, -ENOENT, "unknown VPC %s", name);
	v->rec.gen = model_draw_gen(v->rec.gen);
	v->rec.version = next_version(v->rec.version, t->version_step);
	v->bumped = true;
	v->dirty = true;
	bytes_put32(prefix, v->rec.vni);
	/*
	 * Every rule again at the new version; tombstones go, since no learner can hold a
	 * version of the old generation any more.
	 */
	if ((rc = db_iter_open(t->db.txn, t->db.db, DBI_RULES, prefix, 4, &it)) < 0)
		return db_fail(t, rc);
	while ((rc = db_iter_next(&it)) > 0) {
		struct db_rule r;
		uint32_t ip = bytes_get32((const uint8_t *)it.key.mv_data + 4);

		memcpy(&r, it.val.mv_data, sizeof(r));
		if (r.op == WIRE_RULE_DEL) {
			rc = db_iter_del(&t->db, &it, DBI_RULES);
		} else {
			r.version = v->rec.version;
			rc = db_put_rule(&t->db, v->rec.vni, ip, &r);
		}
		if (rc < 0)
			break;
	}
	db_iter_close(&it);
	if (rc < 0)
		return db_fail(t, rc);
	*out = v->rec;
	return 0;
}

int
model_host_create(struct model_txn *t, const char *name, uint32_t vtep,
    enum addr_kind kind, struct db_host *out)
{
	struct db_host h = { .vtep = vtep, .kind = kind };
	char other[DB_NAME_MAX], ip[ADDR_IP4_STRLEN];
	int rc;

	if (addr_vtep_valid("vtep", vtep, t->err) < 0)
		return -EINVAL;
	if (db_get_host(t->db.txn, t->db.db, name, &(struct db_host){ 0 }) == 0)
		return fail(t, -EEXIST, "host %s exists", name);
	if (db_host_by_vtep(t->db.txn, t->db.db, vtep, other) == 0)
		return fail(t, -EEXIST, "VTEP %s is in use by host %s",
		    addr_ip4_format(vtep, ip), other);
	if ((rc = db_put_host(&t->db, name, &h, true)) < 0 ||
	    (rc = host_event(t, &h, WIRE_HOST_ADD)) < 0)
		return db_fail(t, rc);
	*out = h;
	return 0;
}

int
model_host_delete(struct model_txn *t, const char *name)
{
	struct db_host h;
	int rc;

	if (db_get_host(t->db.txn, t->db.db, name, &h) < 0)
		return fail(t, -ENOENT, "unknown host %s", name);
	if (h.nvms)
		return fail(t, -EBUSY, "host %s still has %u VMs", name, h.nvms);
	if ((rc = db_del_host(&t->db, name, h.vtep)) < 0 ||
	    (rc = host_event(t, &h, WIRE_HOST_DEL)) < 0)
		return db_fail(t, rc);
	return 0;
}

/*
 * A unique key of the VM was taken (db_put_vm said which): say by whom. default_mac:
 * the VM's MAC was not given but derived from its IP, which the user must be told, since
 * it is not what they typed.
 */
static int
taken_fail(struct model_txn *t, enum db_dbi taken, const char *name, const struct db_vm *vm,
    bool default_mac)
{
	char other[DB_NAME_MAX] = "?", ip[ADDR_IP4_STRLEN], mac[ADDR_MAC_STRLEN];
	MDB_txn *txn = t->db.txn;
	struct db *db = t->db.db;

	switch (taken) {
	case DBI_VMS:
		return fail(t, -EEXIST, "VM %s exists", name);
	case DBI_VM_IP:
		db_vm_by_ip(txn, db, vm->vni, vm->ip, other);
		return fail(t, -EEXIST, "ip %s is VM %s's in VPC %s", addr_ip4_format(vm->ip, ip),
		    other, vm->vpc);
	case DBI_VM_MAC:
		db_vm_by_mac(txn, db, vm->vni, vm->mac, other);
		if (default_mac)
			return fail(t, -EEXIST, "mac %s (the default for %s) is VM %s's in VPC %s; "
			    "give --mac", addr_mac_format(vm->mac, mac),
			    addr_ip4_format(vm->ip, ip), other, vm->vpc);
		return fail(t, -EEXIST, "mac %s is VM %s's in VPC %s",
		    addr_mac_format(vm->mac, mac), other, vm->vpc);
	default:
		db_vm_by_tap(txn, db, vm->host, vm->tap, other);
		return fail(t, -EEXIST, "tap %s is VM %s's on host %s", vm->tap, other, vm->host);
	}
}

int
model_vm_create(struct model_txn *t, const struct model_vm_args *a, struct db_vm *out)
{
	const struct addr_cidr *cidr;
	struct model_vpc *v;
	struct model_host *h;
	enum db_dbi taken;
	struct db_vm vm;
	int rc;

	if ((v = vpc_touch(t, a->vpc, &rc)) == NULL)
		return rc == -ENOENT ? fail(t, rc, "unknown VPC %s", a->vpc) : db_fail(t, rc);
	if ((h = host_touch(t, a->host, &rc)) == NULL)
		return rc == -ENOENT ? fail(t, rc, "unknown host %s", a->host) : db_fail(t, rc);
	if ((cidr = vpc_cidr_of(&v->rec, a->ip)) == NULL) {
		char c[ADDR_CIDRS_MAX * (ADDR_CIDR_STRLEN + 2)], ip[ADDR_IP4_STRLEN];

		cidrs_text(&v->rec, c, sizeof(c));
		return fail(t, -EINVAL, "ip %s is outside VPC %s (%s)", addr_ip4_format(a->ip, ip),
		    a->vpc, c);
	}
	if (addr_host_check("ip", a->ip, cidr, t->err) < 0)
		return -EINVAL;
	memset(&vm, 0, sizeof(vm));
	vm.vni = v->rec.vni;
	vm.ip = a->ip;
	if (a->has_mac)
		memcpy(vm.mac, a->mac, 6);
	else
		addr_default_mac(vm.ip, vm.mac);
	copy_str(vm.vpc, sizeof(vm.vpc), a->vpc);
	copy_str(vm.host, sizeof(vm.host), a->host);
	if (a->tap)
		copy_str(vm.tap, sizeof(vm.tap), a->tap);
	else
		model_default_tap(a->name, vm.tap);
	if ((rc = db_put_vm(&t->db, a->name, &vm, NULL, &taken)) == -EEXIST)
		return taken_fail(t, taken, a->name, &vm, !a->has_mac);
	if (rc < 0 || (rc = rule_change(t, v, vm.ip, WIRE_RULE_SET, vm.mac, &h->rec)) < 0)
		return db_fail(t, rc);
	v->rec.nvms++;
	v->dirty = true;
	h->rec.nvms++;
	h->dirty = true;
	if (add_bind(t, vm.host, &vm, WIRE_BIND_ADD) < 0)
		return fail(t, -ENOMEM, "out of memory");
	*out = vm;
	return 0;
}

int
model_vm_delete(struct model_txn *t, const char *name)
{
	struct model_vpc *v;
	struct model_host *h;
	struct db_vm vm;
	int rc;

	if ((rc = db_get_vm(t->db.txn, t->db.db, name, &vm)) < 0)
		return rc == -ENOENT ? fail(t, rc, "unknown VM %s", name) : db_fail(t, rc);
	if ((v = vpc_touch(t, vm.vpc, &rc)) == NULL || (h = host_touch(t, vm.host, &rc)) == NULL)
		return db_fail(t, rc == -ENOENT ? -EUCLEAN : rc);
	if ((rc = db_del_vm(&t->db, name, &vm)) < 0 ||
	    (rc = rule_change(t, v, vm.ip, WIRE_RULE_DEL, vm.mac, &h->rec)) < 0)
		return db_fail(t, rc);
	v->rec.nvms--;
	v->dirty = true;
	h->rec.nvms--;
	h->dirty = true;
	if (add_bind(t, vm.host, &vm, WIRE_BIND_DEL) < 0)
		return fail(t, -ENOMEM, "out of memory");
	return 0;
}

int
model_vm_migrate(struct model_txn *t, const char *name, const char *host,
    struct db_vm *out)
{
	struct model_vpc *v;
	struct model_host *from, *to;
	struct db_vm vm, old;
	enum db_dbi taken;
	int rc;

	if ((rc = db_get_vm(t->db.txn, t->db.db, name, &old)) < 0)
		return rc == -ENOENT ? fail(t, rc, "unknown VM %s", name) : db_fail(t, rc);
	if ((to = host_touch(t, host, &rc)) == NULL)
		return rc == -ENOENT ? fail(t, rc, "unknown host %s", host) : db_fail(t, rc);
	if (strcmp(old.host, host) == 0)
		return fail(t, -EINVAL, "VM %s is already on host %s", name, host);
	if ((v = vpc_touch(t, old.vpc, &rc)) == NULL ||
	    (from = host_touch(t, old.host, &rc)) == NULL)
		return db_fail(t, rc == -ENOENT ? -EUCLEAN : rc);
	vm = old;
	copy_str(vm.host, sizeof(vm.host), host);
	if ((rc = db_put_vm(&t->db, name, &vm, &old, &taken)) == -EEXIST)
		return taken_fail(t, taken, name, &vm, false);
	if (rc < 0 || (rc = rule_change(t, v, vm.ip, WIRE_RULE_SET, vm.mac, &to->rec)) < 0)
		return db_fail(t, rc);
	from->rec.nvms--;
	from->dirty = true;
	to->rec.nvms++;
	to->dirty = true;
	if (add_bind(t, old.host, &old, WIRE_BIND_DEL) < 0 ||
	    add_bind(t, host, &vm, WIRE_BIND_ADD) < 0)
		return fail(t, -ENOMEM, "out of memory");
	*out = vm;
	return 0;
}
