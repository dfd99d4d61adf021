/*
 * api: see api.h. A request is parsed with jansson, every argument checked with
 * common/addr's rules, then run; a request that fails answers with one line and leaves
 * the database as it was (its transaction is aborted). Listings read a snapshot (a read
 * transaction) and are paged: at most LIST_MAX objects a response, then "next". A backup
 * is answered once its thread has written the file (backup.h); requests that come behind
 * it on its connection wait for that answer, so every client's answers keep its order.
 */
#include "api.h"
#include "backup.h"
#include "model.h"
#include "common/addr.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/grow.h"
#include "common/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LIST_MAX	50000		/* objects a listing returns at once */
#define IMPORT_MAX	100000		/* VMs a vm.import request may carry */
#define ARGS_MAX	16
#define GATEWAYS_MAX	256		/* rule-stores gateway.list and vpc.show report */
#define TXN_RETRIES	64		/* runs of a change that lost to another controller's */
#define TXN_BACKOFF_US	250		/* a retry waits up to this times the runs lost */
#define HELD_MAX	1024		/* requests held behind a backup on its connection */

/* A request that came while its connection waits for a backup's answer. */
struct held {
	uint8_t *payload;
	uint32_t len;
};

struct api {
	struct loop *l;
	struct db *db;
	struct stream *st;
	struct listener *ls;
	uint32_t version_step;
	const struct model_backend *backend;
	struct controller_counters *c;
	struct log_ratelimit rl;
	/*
	 * The backup being written (one at a time) and the connection waiting for its
	 * answer (NULL once it closed): that connection's later requests are held, in
	 * order, until the answer is sent, so that answers stay in the requests' order.
	 */
	struct backup *bk;
	struct conn *bk_conn;
	struct held *held;
	size_t nheld, held_cap, held_next;
};

/* One request: its arguments and, on failure, why. */
struct req {
	struct api *a;
	struct conn *conn;		/* the client's, for an answer sent later (backup) */
	bool deferred;			/* answered later: no response now */
	const char *op;
	json_t *obj;
	const char *seen[ARGS_MAX];
	int nseen;
	char err[ADDR_ERR_MAX + 64];
	int code;			/* negative errno when failed */
	json_t *out;			/* the response's results */
};

static int
req_fail(struct req *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	addr_printable(r->err);
	r->code = code;
	return code;
}

static json_t *
arg_get(struct req *r, const char *key)
{
	if (r->nseen < ARGS_MAX)
		r->seen[r->nseen++] = key;
	return json_object_get(r->obj, key);
}

/* A string argument; *out NULL when optional and absent. */
static int
arg_str(struct req *r, const char *key, bool required, const char **out)
{
	json_t *v = arg_get(r, key);

	*out = NULL;
	if (v == NULL)
		return required ? req_fail(r, -EINVAL, "%s is missing", key) : 0;
	if (!json_is_string(v))
		return req_fail(r, -EINVAL, "%s must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static int
arg_name(struct req *r, const char *key, bool required, const char **out)
{
	if (arg_str(r, key, required, out) < 0)
		return -EINVAL;
	if (*out && addr_name_check(key, *out, r->err) < 0)
		return r->code = -EINVAL;
	return 0;
}

static int
arg_ip(struct req *r, const char *key, bool required, uint32_t *ip, bool *given)
{
	const char *s;

	if (arg_str(r, key, required, &s) < 0)
		return -EINVAL;
	if (given)
		*given = s != NULL;
	if (s && addr_ip4_check(key, s, ip, r->err) < 0)
		return r->code = -EINVAL;
	return 0;
}

static int
arg_int(struct req *r, const char *key, bool required, int64_t *out)
{
	json_t *v = arg_get(r, key);

	if (v == NULL)
		return required ? req_fail(r, -EINVAL, "%s is missing", key) : 1;
	if (!json_is_integer(v))
		return req_fail(r, -EINVAL, "%s must be an integer", key);
	*out = json_integer_value(v);
	return 0;
}

/* Every argument was one the operation knows. */
static int
args_done(struct req *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(r->obj, key, v) {
		bool known = strcmp(key, "op") == 0;

		for (int i = 0; i < r->nseen && !known; i++)
			known = strcmp(key, r->seen[i]) == 0;
		if (!known) {
			char q[ADDR_QUOTE_MAX + 1];

			return req_fail(r, -EINVAL, "unknown argument '%s'", addr_quote(q, key));
		}
	}
	return 0;
}

static json_t *
vpc_json(const char *name, const struct db_vpc *v)
{
	json_t *cidrs = json_array();
	char buf[ADDR_CIDR_STRLEN];

	for (uint32_t i = 0; i < v->ncidrs; i++)
		json_array_append_new(cidrs, json_string(addr_cidr_format(&v->cidrs[i], buf)));
	return json_pack("{s:s, s:i, s:o, s:I, s:I, s:i}", "name", name, "vni", (int)v->vni,
	    "cidrs", cidrs, "gen", (json_int_t)v->gen, "version", (json_int_t)v->version,
	    "vms", (int)v->nvms);
}

static json_t *
host_json(const char *name, const struct db_host *h)
{
	char ip[ADDR_IP4_STRLEN];

	return json_pack("{s:s, s:s, s:s, s:i}", "name", name, "vtep",
	    addr_ip4_format(h->vtep, ip), "kind", addr_kind_name(h->kind), "vms", (int)h->nvms);
}

static json_t *
vm_json(MDB_txn *txn, struct db *db, const char *name, const struct db_vm *vm)
{
	char ip[ADDR_IP4_STRLEN], mac[ADDR_MAC_STRLEN], vtep[ADDR_IP4_STRLEN];
	struct db_host h = { 0 };

	db_get_host(txn, db, vm->host, &h);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "name", name, "vpc",
	    vm->vpc, "vni", (int)vm->vni, "ip", addr_ip4_format(vm->ip, ip), "mac",
	    addr_mac_format(vm->mac, mac), "host", vm->host, "vtep",
	    addr_ip4_format(h.vtep, vtep), "tap", vm->tap);
}

static json_t *
rule_json(uint32_t vni, uint32_t ip, const struct db_rule *rule)
{
	char ipb[ADDR_IP4_STRLEN], mac[ADDR_MAC_STRLEN], vtep[ADDR_IP4_STRLEN];

	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:s}", "vni", (int)vni, "ip",
	    addr_ip4_format(ip, ipb), "mac", addr_mac_format(rule->mac, mac), "vtep",
	    addr_ip4_format(rule->vtep, vtep), "version", (json_int_t)rule->version, "op",
	    rule->op == WIRE_RULE_SET ? "set" : "delete");
}

/* One try of run_txn. */
static int
run_txn_once(struct req *r, int (*fn)(struct req *r, struct model_txn *t))
{
	struct api *a = r->a;
	struct stream_need need = { .what = r->op };
	struct model_txn t;
	uint64_t t0;
	int rc;

	if ((rc = model_begin_on(a->db, a->version_step, a->backend, &t)) < 0)
		return req_fail(r, rc, "cannot start a transaction: %s", strerror(-rc));
	/* Every VM is one rule in every gateway's table; every VPC one VNI slot. */
	need.rules_now = db_count(t.db.txn, a->db, DBI_VMS);
	need.vpcs_now = db_count(t.db.txn, a->db, DBI_VPCS);
	if ((rc = fn(r, &t)) < 0) {
		if (r->code == 0)
			req_fail(r, rc, "%s", t.err);
		model_abort(&t);
		return rc;
	}
	need.rules_after = db_count(t.db.txn, a->db, DBI_VMS);
	need.vpcs_after = db_count(t.db.txn, a->db, DBI_VPCS);
	if ((rc = stream_admit(a->st, &need, r->err, sizeof(r->err))) < 0) {
		r->code = rc;
		model_abort(&t);
		return rc;
	}
	t0 = clock_mono_ns();
	if ((rc = model_finish(&t)) < 0) {
		req_fail(r, rc, "%s", t.err);
		model_release(&t);
		return rc;
	}
	STATS_INC(a->c, commits);
	STATS_ADD(a->c, commit_us, (clock_mono_ns() - t0) / 1000);
	/* A replicated store's view publishes what it applies, every controller's. */
	if (a->backend == NULL)
		stream_committed(a->st, &t);
	else
		json_object_set_new(r->out, "revision", json_integer((json_int_t)t.revision));
	model_release(&t);
	return 0;
}

/*
 * Run a model change: begin, fn, commit durably, publish. A replicated store may say
 * that another controller changed what the change read: it runs again on what is now
 * there, a bounded number of times.
 */
static int
run_txn(struct req *r, int (*fn)(struct req *r, struct model_txn *t))
{
	int rc;

	for (int tries = 0;; tries++) {
		if ((rc = run_txn_once(r, fn)) != -EAGAIN)
			return rc;
		if (tries == TXN_RETRIES) {
			r->code = -EBUSY;
			return -EBUSY;
		}
		/*
		 * Two controllers changing one host or VPC back to back: the one that lost
		 * waits a random while, longer each time, so that it finds a gap rather than
		 * losing to every commit of the other (16 losses in a row were seen).
		 */
		{
			uint32_t rnd;

			if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
				rnd = (uint32_t)clock_mono_ns();
			usleep(rnd % ((uint32_t)(tries + 1) * TXN_BACKOFF_US + 1));
		}
		/* Again from the arguments: what fn answered goes. */
		json_object_clear(r->out);
		r->code = 0;
		r->nseen = 0;
		r->err[0] = '\0';
	}
}

/* vpc.create */
static int
do_vpc_create(struct req *r, struct model_txn *t)
{
	struct addr_cidr cidrs[ADDR_CIDRS_MAX];
	const char *name;
	struct db_vpc v;
	json_t *arr, *e;
	int64_t vni;
	size_t i;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || arg_int(r, "vni", true, &vni) < 0)
		return r->code;
	if (addr_vni_check("vni", vni, r->err) < 0)
		return r->code = -EINVAL;
	arr = arg_get(r, "cidrs");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return req_fail(r, -EINVAL, "cidrs must be an array of 1..%d prefixes",
		    ADDR_CIDRS_MAX);
	if (json_array_size(arr) > ADDR_CIDRS_MAX)
		return req_fail(r, -EINVAL, "cidrs must hold at most %d prefixes",
		    ADDR_CIDRS_MAX);
	json_array_foreach(arr, i, e) {
		char arg[32];

		snprintf(arg, sizeof(arg), "cidrs[%zu]", i);
		if (!json_is_string(e))
			return req_fail(r, -EINVAL, "%s must be a string", arg);
		if (addr_cidr_check(arg, json_string_value(e), &cidrs[i], r->err) < 0)
			return r->code = -EINVAL;
	}
	if (addr_cidrs_check("cidrs", cidrs, json_array_size(arr), r->err) < 0)
		return r->code = -EINVAL;
	if (args_done(r) < 0)
		return r->code;
	if ((rc = model_vpc_create(t, name, (uint32_t)vni, cidrs, json_array_size(arr),
	    &v)) < 0)
		return rc;
	json_object_set_new(r->out, "vpc", vpc_json(name, &v));
	return 0;
}

static int
do_vpc_delete(struct req *r, struct model_txn *t)
{
	const char *name;

	if (arg_name(r, "name", true, &name) < 0 || args_done(r) < 0)
		return r->code;
	return model_vpc_delete(t, name);
}

static int
do_vpc_reset(struct req *r, struct model_txn *t)
{
	const char *name;
	struct db_vpc v;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || args_done(r) < 0)
		return r->code;
	if ((rc = model_vpc_reset(t, name, &v)) < 0)
		return rc;
	json_object_set_new(r->out, "vpc", vpc_json(name, &v));
	return 0;
}

static int
do_host_create(struct req *r, struct model_txn *t)
{
	const char *name, *kind_s;
	enum addr_kind kind = ADDR_KIND_VSWITCH;
	struct db_host h;
	uint32_t vtep;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || arg_ip(r, "vtep", true, &vtep, NULL) < 0 ||
	    arg_str(r, "kind", false, &kind_s) < 0)
		return r->code;
	if (addr_vtep_valid("vtep", vtep, r->err) < 0)
		return r->code = -EINVAL;
	if (kind_s && addr_kind_check("kind", kind_s, &kind, r->err) < 0)
		return r->code = -EINVAL;
	if (args_done(r) < 0)
		return r->code;
	if ((rc = model_host_create(t, name, vtep, kind, &h)) < 0)
		return rc;
	json_object_set_new(r->out, "host", host_json(name, &h));
	return 0;
}

static int
do_host_delete(struct req *r, struct model_txn *t)
{
	const char *name;

	if (arg_name(r, "name", true, &name) < 0 || args_done(r) < 0)
		return r->code;
	return model_host_delete(t, name);
}

/* The arguments of one VM (vm.create, or an element of vm.import). */
static int
vm_args(struct req *r, struct model_vm_args *va)
{
	const char *mac;

	memset(va, 0, sizeof(*va));
	if (arg_name(r, "name", true, &va->name) < 0 || arg_name(r, "vpc", true, &va->vpc) < 0 ||
	    arg_ip(r, "ip", true, &va->ip, NULL) < 0 ||
	    arg_name(r, "host", true, &va->host) < 0 || arg_str(r, "mac", false, &mac) < 0 ||
	    arg_str(r, "tap", false, &va->tap) < 0)
		return r->code;
	if (mac && addr_mac_check("mac", mac, va->mac, r->err) < 0)
		return r->code = -EINVAL;
	va->has_mac = mac != NULL;
	if (va->tap && addr_tap_check("tap", va->tap, r->err) < 0)
		return r->code = -EINVAL;
	return args_done(r);
}

static int
do_vm_create(struct req *r, struct model_txn *t)
{
	struct model_vm_args va;
	struct db_vm vm;
	int rc;

	if (vm_args(r, &va) < 0)
		return r->code;
	if ((rc = model_vm_create(t, &va, &vm)) < 0)
		return rc;
	json_object_set_new(r->out, "vm", vm_json(t->db.txn, t->db.db, va.name, &vm));
	return 0;
}

static int
do_vm_import(struct req *r, struct model_txn *t)
{
	json_t *arr = arg_get(r, "vms"), *e;
	struct model_vm_args va;
	struct req sub;
	struct db_vm vm;
	size_t i;
	int rc;

	if (args_done(r) < 0)
		return r->code;
	if (!json_is_array(arr))
		return req_fail(r, -EINVAL, "vms must be an array of VMs");
	if (json_array_size(arr) > IMPORT_MAX)
		return req_fail(r, -EINVAL, "vms holds %zu VMs, at most %d a request",
		    json_array_size(arr), IMPORT_MAX);
	json_array_foreach(arr, i, e) {
		memset(&sub, 0, sizeof(sub));
		sub.a = r->a;
		sub.obj = e;
		if (!json_is_object(e))
			return req_fail(r, -EINVAL, "vms[%zu]: must be an object", i);
		if (vm_args(&sub, &va) < 0)
			return req_fail(r, sub.code, "vms[%zu]: %s", i, sub.err);
		if ((rc = model_vm_create(t, &va, &vm)) < 0)
			return req_fail(r, rc, "vms[%zu]: %s", i, t->err);
	}
	json_object_set_new(r->out, "imported", json_integer((json_int_t)i));
	STATS_ADD(r->a->c, vms_imported, json_array_size(arr));
	return 0;
}

/*
 * vm.delete: one VM by "name", or a batch by "names" in one transaction: all of them or,
 * when one is refused, none (the error names its index, as vm.import's do). Each VPC
 * touched takes one version for the whole batch (model.h).
 */
static int
do_vm_delete(struct req *r, struct model_txn *t)
{
	json_t *arr = arg_get(r, "names"), *e;
	const char *name;
	size_t i;
	int rc;

	if (arg_name(r, "name", arr == NULL, &name) < 0 || args_done(r) < 0)
		return r->code;
	if (arr == NULL) {
		if ((rc = model_vm_delete(t, name)) == 0)
			STATS_INC(r->a->c, vms_deleted);
		return rc;
	}
	if (name)
		return req_fail(r, -EINVAL, "give name or names, not both");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > IMPORT_MAX)
		return req_fail(r, -EINVAL, "names must be an array of 1..%d VM names",
		    IMPORT_MAX);
	json_array_foreach(arr, i, e) {
		char key[32];

		snprintf(key, sizeof(key), "names[%zu]", i);
		if (!json_is_string(e))
			return req_fail(r, -EINVAL, "%s must be a string", key);
		if (addr_name_check(key, json_string_value(e), r->err) < 0)
			return r->code = -EINVAL;
		if ((rc = model_vm_delete(t, json_string_value(e))) < 0)
			return req_fail(r, rc, "%s: %s", key, t->err);
	}
	json_object_set_new(r->out, "deleted", json_integer((json_int_t)i));
	STATS_ADD(r->a->c, vms_deleted, i);
	return 0;
}

static int
do_vm_migrate(struct req *r, struct model_txn *t)
{
	const char *name, *host;
	struct db_vm vm;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || arg_name(r, "host", true, &host) < 0 ||
	    args_done(r) < 0)
		return r->code;
	if ((rc = model_vm_migrate(t, name, host, &vm)) < 0)
		return rc;
	json_object_set_new(r->out, "vm", vm_json(t->db.txn, t->db.db, name, &vm));
	return 0;
}

/* Listings. */

struct page {
	const char *after;	/* where the previous page ended (exclusive) */
	int64_t limit;
	json_t *items;
	size_t n;
	char last[DB_NAME_MAX];	/* cursor of the last item in this page */
};

static int
page_args(struct req *r, struct page *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->limit = LIST_MAX;
	if (arg_str(r, "after", false, &p->after) < 0 ||
	    (rc = arg_int(r, "limit", false, &p->limit)) < 0)
		return r->code;
	if (p->limit < 1 || p->limit > LIST_MAX)
		return req_fail(r, -EINVAL, "limit must be 1..%d", LIST_MAX);
	p->items = json_array();
	return 0;
}

/*
 * Add one item; false when the page is full: then "next" is the cursor of the page's
 * last item, and the next page starts after it.
 */
static bool
page_add(struct req *r, struct page *p, json_t *item, const char *cursor)
{
	if ((int64_t)p->n == p->limit) {
		json_decref(item);
		json_object_set_new(r->out, "more", json_true());
		json_object_set_new(r->out, "next", json_string(p->last));
		return false;
	}
	json_array_append_new(p->items, item);
	p->n++;
	snprintf(p->last, sizeof(p->last), "%s", cursor);
	return true;
}

static int
read_begin(struct req *r, MDB_txn **txn)
{
	int rc = db_read(r->a->db, txn);

	return rc < 0 ? req_fail(r, rc, "cannot read the database: %s", strerror(-rc)) : 0;
}

static void
key_name(const MDB_val *k, char *out)
{
	size_t n = k->mv_size < DB_NAME_MAX ? k->mv_size : DB_NAME_MAX - 1;

	memcpy(out, k->mv_data, n);
	out[n] = '\0';
}

/* vpc.list and host.list: every record of a name-keyed DB, paged by name. */
static int
list_named(struct req *r, enum db_dbi dbi, const char *field)
{
	struct page p = { 0 };
	struct db_iter it;
	MDB_txn *txn;
	int rc;

	if (page_args(r, &p) < 0 || args_done(r) < 0 || read_begin(r, &txn) < 0) {
		json_decref(p.items);
		return r->code;
	}
	db_iter_open(txn, r->a->db, dbi, NULL, 0, &it);
	if (p.after)
		db_iter_seek(&it, p.after, strlen(p.after));
	while ((rc = db_iter_next(&it)) > 0) {
		char name[DB_NAME_MAX];
		json_t *o;

		/* LMDB values are not aligned: copy them out before reading fields. */
		key_name(&it.key, name);
		if (dbi == DBI_VPCS && it.val.mv_size == sizeof(struct db_vpc)) {
			struct db_vpc v;

			memcpy(&v, it.val.mv_data, sizeof(v));
			o = vpc_json(name, &v);
		} else if (dbi == DBI_HOSTS && it.val.mv_size == sizeof(struct db_host)) {
			struct db_host h;

			memcpy(&h, it.val.mv_data, sizeof(h));
			o = host_json(name, &h);
		} else {
			continue;
		}
		if (!page_add(r, &p, o, name))
			break;
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
	json_object_set_new(r->out, field, p.items);
	return 0;
}

/*
 * The connected gateways that do not hold the VPC whole (their table refused a change
 * of it) or may not (more VPCs incomplete there than a STATUS names).
 */
static json_t *
incomplete_at(struct api *a, uint32_t vni)
{
	struct stream_gateway gw[GATEWAYS_MAX];
	size_t n = stream_gateways(a->st, gw, GATEWAYS_MAX);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct wire_status *st = &gw[i].status;
		bool listed = st->incomplete > st->nlisted;

		for (uint32_t j = 0; j < st->nlisted && !listed; j++)
			listed = st->vni[j] == vni;
		if (gw[i].has_status && listed)
			json_array_append_new(arr, json_string(gw[i].node));
	}
	return arr;
}

/*
 * gateway.list: the rule-stores on the log stream and their tables, as they reported;
 * room is how many more rules a change may add for that gateway (stream_admit).
 */
static int
do_gateway_list(struct req *r)
{
	struct stream_gateway gw[GATEWAYS_MAX];
	uint64_t rules;
	MDB_txn *txn;
	size_t n;
	json_t *arr = json_array();

	if (args_done(r) < 0) {
		json_decref(arr);
		return r->code;
	}
	if (read_begin(r, &txn) < 0) {
		json_decref(arr);
		return r->code;
	}
	rules = db_count(txn, r->a->db, DBI_VMS);
	mdb_txn_abort(txn);
	n = stream_gateways(r->a->st, gw, GATEWAYS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct wire_status *st = &gw[i].status;
		uint64_t last = r->a->db->last_seq;
		json_t *o, *inc = json_array();

		for (uint32_t j = 0; j < st->nlisted; j++)
			json_array_append_new(inc, json_integer(st->vni[j]));
		o = json_pack("{s:s, s:b, s:b}", "node", gw[i].node, "reported",
		    gw[i].has_status, "snapshot", gw[i].snapshot);
		if (gw[i].has_status) {
			json_object_set_new(o, "capacity", json_integer(st->capacity));
			json_object_set_new(o, "used", json_integer(st->used));
			json_object_set_new(o, "tombstones", json_integer(st->tombs));
			/* What stream_admit lets in: every rule of ours, its tombstones. */
			json_object_set_new(o, "room", json_integer(rules + st->tombs <
			    st->capacity ? (json_int_t)(st->capacity - st->tombs - rules) : 0));
			json_object_set_new(o, "max_vnis", json_integer(st->max_vnis));
			json_object_set_new(o, "vnis", json_integer(st->vnis));
			json_object_set_new(o, "applied_seq", json_integer((json_int_t)st->applied_seq));
			json_object_set_new(o, "lag", json_integer(last > st->applied_seq ?
			    (json_int_t)(last - st->applied_seq) : 0));
			json_object_set_new(o, "incomplete", json_integer(st->incomplete));
			json_object_set_new(o, "incomplete_vnis", inc);
		} else {
			json_decref(inc);
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(r->out, "gateways", arr);
	return 0;
}

static backup_done_fn backup_done;

/*
 * backup: a copy of the database written to "path" by a thread while the loop serves
 * (backup.h); the answer is sent when the file is in place (backup_done).
 */
static int
do_backup(struct req *r)
{
	struct api *a = r->a;
	const char *path;
	json_t *force;
	char err[PATH_MAX + 256];
	int rc;

	if (arg_str(r, "path", true, &path) < 0)
		return r->code;
	force = arg_get(r, "force");
	if (force && !json_is_boolean(force))
		return req_fail(r, -EINVAL, "force must be true or false");
	if (args_done(r) < 0)
		return r->code;
	if (path[0] != '/')
		return req_fail(r, -EINVAL, "path must be absolute (the controller's own view "
		    "of the file system)");
	if (a->bk)
		return req_fail(r, -EBUSY, "a backup to %s is being written; ask again once it "
		    "is done", backup_path(a->bk));
	if (r->conn == NULL)
		return req_fail(r, -EINVAL, "backup needs a connection to answer on");
	if ((rc = backup_start(a->l, a->db, path, json_is_true(force), a->c, backup_done, a,
	    &a->bk, err, sizeof(err))) < 0)
		return req_fail(r, rc, "%s", err);
	a->bk_conn = r->conn;
	r->deferred = true;
	return 0;
}

static int
do_vpc_show(struct req *r)
{
	const char *name;
	struct db_vpc v;
	MDB_txn *txn;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || args_done(r) < 0 || read_begin(r, &txn) < 0)
		return r->code;
	rc = db_get_vpc(txn, r->a->db, name, &v);
	mdb_txn_abort(txn);
	if (rc < 0)
		return req_fail(r, rc, rc == -ENOENT ? "unknown VPC %s" : "cannot read VPC %s",
		    name);
	json_object_set_new(r->out, "vpc", vpc_json(name, &v));
	json_object_set_new(json_object_get(r->out, "vpc"), "incomplete_at",
	    incomplete_at(r->a, v.vni));
	return 0;
}

static int
do_vm_show(struct req *r)
{
	const char *name;
	struct db_vm vm;
	MDB_txn *txn;
	int rc;

	if (arg_name(r, "name", true, &name) < 0 || args_done(r) < 0 || read_begin(r, &txn) < 0)
		return r->code;
	if ((rc = db_get_vm(txn, r->a->db, name, &vm)) == 0)
		json_object_set_new(r->out, "vm", vm_json(txn, r->a->db, name, &vm));
	mdb_txn_abort(txn);
	if (rc < 0)
		return req_fail(r, rc, rc == -ENOENT ? "unknown VM %s" : "cannot read VM %s",
		    name);
	return 0;
}

/*
 * vm.list: all VMs by name; of a host through host_tap (paged by TAP); of a VPC through
 * vm_ip (then
 * paged by IP: the cursor is the last IP); both filters: the host's, kept if in the VPC.
 */
static int
do_vm_list(struct req *r)
{
	const char *vpc, *host;
	struct db *db = r->a->db;
	struct db_vpc v;
	struct page p = { 0 };
	struct db_iter it;
	uint8_t prefix[DB_NAME_MAX + 1];
	size_t plen = 0;
	enum db_dbi dbi = DBI_VMS;
	MDB_txn *txn;
	int rc;

	if (arg_name(r, "vpc", false, &vpc) < 0 || arg_name(r, "host", false, &host) < 0 ||
	    page_args(r, &p) < 0 || args_done(r) < 0 || read_begin(r, &txn) < 0)
		goto fail;
	if (vpc && db_get_vpc(txn, db, vpc, &v) < 0) {
		req_fail(r, -ENOENT, "unknown VPC %s", vpc);
		goto fail_txn;
	}
	if (host && db_get_host(txn, db, host, &(struct db_host){ 0 }) < 0) {
		req_fail(r, -ENOENT, "unknown host %s", host);
		goto fail_txn;
	}
	if (host) {
		dbi = DBI_HOST_TAP;
		plen = strlen(host) + 1;
		memcpy(prefix, host, plen);
	} else if (vpc) {
		dbi = DBI_VM_IP;
		plen = 4;
		bytes_put32(prefix, v.vni);
	}
	db_iter_open(txn, db, dbi, prefix, plen, &it);
	if (p.after) {
		uint8_t after[DB_NAME_MAX + 8];
		size_t alen = 0;
		uint32_t ip;

		if (dbi == DBI_VM_IP) {
			if (addr_ip4_check("after", p.after, &ip, r->err) < 0) {
				r->code = -EINVAL;
				db_iter_close(&it);
				goto fail_txn;
			}
			db_key_vni_ip(after, v.vni, ip);
			alen = 8;
		} else {
			memcpy(after, prefix, plen);
			alen = plen + snprintf((char *)after + plen, sizeof(after) - plen, "%s",
			    p.after);
		}
		db_iter_seek(&it, after, alen);
	}
	while ((rc = db_iter_next(&it)) > 0) {
		char name[DB_NAME_MAX], cursor[DB_NAME_MAX];
		struct db_vm vm;

		if (dbi == DBI_VMS)
			key_name(&it.key, name);
		else
			key_name(&it.val, name);
		if (db_get_vm(txn, db, name, &vm) < 0 || (vpc && strcmp(vm.vpc, vpc) != 0))
			continue;
		if (dbi == DBI_VM_IP)
			addr_ip4_format(vm.ip, cursor);
		else if (dbi == DBI_HOST_TAP)
			memcpy(cursor, vm.tap, sizeof(vm.tap));
		else
			memcpy(cursor, name, sizeof(cursor));
		if (!page_add(r, &p, vm_json(txn, db, name, &vm), cursor))
			break;
	}
	db_iter_close(&it);
	mdb_txn_abort(txn);
	json_object_set_new(r->out, "vms", p.items);
	return 0;
fail_txn:
	mdb_txn_abort(txn);
fail:
	json_decref(p.items);
	return r->code;
}

static int
do_rule_list(struct req *r)
{
	const char *vpc;
	struct db *db = r->a->db;
	struct db_vpc v;
	struct page p = { 0 };
	struct db_iter it;
	uint8_t prefix[8], after[8];
	uint32_t ip = 0, after_ip;
	bool one;
	MDB_txn *txn;
	int rc;

	if (arg_name(r, "vpc", true, &vpc) < 0 || arg_ip(r, "ip", false, &ip, &one) < 0 ||
	    page_args(r, &p) < 0 || args_done(r) < 0 || read_begin(r, &txn) < 0) {
		json_decref(p.items);
		return r->code;
	}
	if (db_get_vpc(txn, db, vpc, &v) < 0) {
		req_fail(r, -ENOENT, "unknown VPC %s", vpc);
		goto out;
	}
	if (one && !model_ip_in_vpc(&v, ip)) {
		char s[ADDR_IP4_STRLEN];

		req_fail(r, -EINVAL, "ip %s is outside VPC %s", addr_ip4_format(ip, s), vpc);
		goto out;
	}
	/* One rule: its whole key is the prefix. */
	db_key_vni_ip(prefix, v.vni, ip);
	db_iter_open(txn, db, DBI_RULES, prefix, one ? 8 : 4, &it);
	if (p.after) {
		if (addr_ip4_check("after", p.after, &after_ip, r->err) < 0) {
			r->code = -EINVAL;
			db_iter_close(&it);
			goto out;
		}
		db_key_vni_ip(after, v.vni, after_ip);
		db_iter_seek(&it, after, 8);
	}
	while ((rc = db_iter_next(&it)) > 0) {
		uint32_t rip = bytes_get32((const uint8_t *)it.key.mv_data + 4);
		char cursor[ADDR_IP4_STRLEN];

		struct db_rule rule;

		if (it.val.mv_size != sizeof(rule))
			continue;
		memcpy(&rule, it.val.mv_data, sizeof(rule));
		if (!page_add(r, &p, rule_json(v.vni, rip, &rule),
		    addr_ip4_format(rip, cursor)))
			break;
	}
	db_iter_close(&it);
out:
	mdb_txn_abort(txn);
	if (r->code) {
		json_decref(p.items);
		return r->code;
	}
	json_object_set_new(r->out, "rules", p.items);
	return 0;
}

static int
do_vpc_list(struct req *r)
{
	return list_named(r, DBI_VPCS, "vpcs");
}

static int
do_host_list(struct req *r)
{
	return list_named(r, DBI_HOSTS, "hosts");
}

static const struct {
	const char *op;
	int (*change)(struct req *r, struct model_txn *t);	/* a transaction */
	int (*read)(struct req *r);				/* or a read */
} ops[] = {
	{ "vpc.create", do_vpc_create, NULL },
	{ "vpc.delete", do_vpc_delete, NULL },
	{ "vpc.reset", do_vpc_reset, NULL },
	{ "vpc.list", NULL, do_vpc_list },
	{ "vpc.show", NULL, do_vpc_show },
	{ "host.create", do_host_create, NULL },
	{ "host.delete", do_host_delete, NULL },
	{ "host.list", NULL, do_host_list },
	{ "vm.create", do_vm_create, NULL },
	{ "vm.delete", do_vm_delete, NULL },
	{ "vm.migrate", do_vm_migrate, NULL },
	{ "vm.import", do_vm_import, NULL },
	{ "vm.list", NULL, do_vm_list },
	{ "vm.show", NULL, do_vm_show },
	{ "rule.list", NULL, do_rule_list },
	{ "gateway.list", NULL, do_gateway_list },
	{ "backup", NULL, do_backup },
};

static const char *
errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EBUSY: return "EBUSY";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EPROTO: return "EPROTO";
	case E2BIG: return "E2BIG";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EACCES: return "EACCES";
	default: return "EIO";
	}
}

static void
respond(struct conn *c, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);

	if (text == NULL || conn_send_frame(c, text, strlen(text)) < 0) {
		log_warnx("cannot send a response; closing the client");
		conn_close(c, false);
	}
	free(text);
	json_decref(resp);
}

/*
 * One request's response: {"ok": true, <results>} or {"ok": false, "error": <one line>,
 * "code": <errno name>}, the change (if any) durable by then; NULL when it is sent
 * later on conn (a backup). Apart from the socket, all of the API: fuzz/api.c drives it
 * directly (conn NULL).
 */
static json_t *
api_handle(struct api *a, struct conn *conn, const uint8_t *payload, size_t len)
{
	struct req r = { .a = a, .conn = conn };
	json_error_t jerr;
	const char *op = NULL;
	json_t *resp;
	size_t i;

	STATS_INC(a->c, api_requests);
	r.out = json_object();
	r.obj = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r.obj == NULL || !json_is_object(r.obj)) {
		STATS_INC(a->c, api_malformed);
		req_fail(&r, -EINVAL, "the request is not a JSON object: %s",
		    r.obj ? "another type" : jerr.text);
	} else if (arg_str(&r, "op", true, &op) == 0) {
		r.nseen = 0;
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(op, ops[i].op) == 0)
				break;
		if (i == sizeof(ops) / sizeof(ops[0])) {
			char q[ADDR_QUOTE_MAX + 1];

			req_fail(&r, -EINVAL, "unknown op '%s'", addr_quote(q, op));
		} else if (ops[i].change) {
			r.op = ops[i].op;
			run_txn(&r, ops[i].change);
		} else {
			ops[i].read(&r);
		}
	}
	if (r.deferred) {
		json_decref(r.out);
		json_decref(r.obj);
		return NULL;
	}
	if (r.code) {
		STATS_INC(a->c, api_errors);
		log_debug("%s: %s", op ? op : "request", r.err);
		json_decref(r.out);
		resp = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", r.err, "code",
		    errno_name(-r.code));
	} else {
		resp = r.out;
		json_object_set_new(resp, "ok", json_true());
	}
	json_decref(r.obj);
	return resp;
}

static void
serve(struct api *a, struct conn *c, const uint8_t *payload, uint32_t len)
{
	json_t *resp = api_handle(a, c, payload, len);

	if (resp)
		respond(c, resp);
}

static void
held_clear(struct api *a)
{
	for (size_t i = a->held_next; i < a->nheld; i++)
		free(a->held[i].payload);
	a->nheld = a->held_next = 0;
}

/* The backup's answer, then the requests its connection sent meanwhile, in order. */
static void
backup_done(void *arg, int rc, const struct backup_info *info, const char *err)
{
	struct api *a = arg;
	struct conn *c = a->bk_conn;

	a->bk = NULL;
	a->bk_conn = NULL;
	if (rc < 0)
		STATS_INC(a->c, api_errors);
	if (c == NULL)
		return;		/* the client left; the file is written (or not) all the same */
	if (rc < 0) {
		char line[PATH_MAX + 256];

		snprintf(line, sizeof(line), "%s", err);
		addr_printable(line);
		respond(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", line, "code",
		    errno_name(-rc)));
	} else {
		char epoch[17];

		/* Hex: a u64 does not fit a JSON integer as jansson reads it (signed). */
		snprintf(epoch, sizeof(epoch), "%016llx", (unsigned long long)info->epoch);
		respond(c, json_pack("{s:b, s:s, s:I, s:I, s:s}", "ok", 1, "path", info->path,
		    "bytes", (json_int_t)info->bytes, "seq", (json_int_t)(info->next_seq - 1),
		    "epoch", epoch));
	}
	while (a->held_next < a->nheld && a->bk_conn == NULL) {
		struct held h = a->held[a->held_next++];

		serve(a, c, h.payload, h.len);
		free(h.payload);
	}
	if (a->held_next == a->nheld)
		held_clear(a);
}

static int
on_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct api *a = conn_arg(c);
	struct held *h;

	if (c != a->bk_conn) {
		serve(a, c, payload, len);
		return 0;
	}
	/* Its backup is not answered yet: this request waits its turn. */
	if (a->nheld - a->held_next >= HELD_MAX) {
		log_warnx_rl(&a->rl, "a client sent %d requests behind its backup's answer; "
		    "closing it", HELD_MAX);
		return -1;
	}
	h = grow(&a->held, &a->held_cap, a->nheld, sizeof(*a->held), 8) < 0 ? NULL :
	    &a->held[a->nheld];
	if (h == NULL || (h->payload = malloc(len ? len : 1)) == NULL) {
		log_warnx_rl(&a->rl, "out of memory holding a request behind a backup; closing "
		    "the client");
		return -1;
	}
	memcpy(h->payload, payload, len);
	h->len = len;
	a->nheld++;
	return 0;
}

static void
on_closed(struct conn *c, int err)
{
	struct api *a = conn_arg(c);

	(void)err;
	if (c == a->bk_conn) {
		a->bk_conn = NULL;
		held_clear(a);
	}
	STATS_ADD(a->c, api_conns, -1);
}

static const struct conn_ops client_ops = {
	.frame = on_frame,
	.closed = on_closed,
};

static void
on_accept(struct listener *ls, int fd, void *arg)
{
	struct api *a = arg;
	struct conn_params cp = { .frame_max = WIRE_JSON_MAX, .out_max = 4 * WIRE_JSON_MAX,
	    .out_low = 0 };

	(void)ls;
	if (conn_new(a->l, fd, &cp, &client_ops, a) == NULL) {
		close(fd);
		return;
	}
	STATS_INC(a->c, api_conns);
}

struct api *
api_new(struct loop *l, struct db *db, struct stream *st, int listen_fd,
    uint32_t version_step, const struct model_backend *backend,
    struct controller_counters *c)
{
	struct api *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->l = l;
	a->db = db;
	a->st = st;
	a->version_step = version_step;
	a->backend = backend;
	a->c = c;
	a->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	if ((a->ls = listener_new(l, listen_fd, on_accept, a)) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	/* The thread reads the environment: it ends before the database closes. */
	backup_wait(a->bk);
	held_clear(a);
	free(a->held);
	listener_free(a->ls);
	free(a);
}
