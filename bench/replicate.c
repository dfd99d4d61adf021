/*
 * bench/replicate: how fast the controller's changes reach a gateway's table.
 *
 *  latency	a VM created through the API (durable when answered) from the request
 *		until its rule is in the rule-store's table, seen by a reader of the table:
 *		p50 and p99 over -n changes, one at a time. Baseline in the same run, one
 *		after each change: a durable write that changes no rule, given every
 *		advantage: this process commits one LMDB write transaction of one record
 *		as large as all vm.create puts (NOOP_BYTES), in an environment opened as
 *		the controller opens its own (synced commits), in the same directory (the
 *		same disk). No API, no JSON, no model, no stream, one B-tree instead of
 *		ten: what any durable change costs before it can reach a table.
 *		(From the API's answer to the table is not measured: the controller sends
 *		a commit's records before it answers, so that interval says nothing.)
 *  snapshot	a fresh rule-store loading the whole state (-s VMs): rules a second from
 *		its start to the last record applied. Baseline in the same run: table_set of
 *		the same number of rules in one process, nothing else.
 *
 *	replicate [-n CHANGES] [-s SNAPSHOT_VMS]
 */
#include "bench/cluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"
#include "shm/table.h"

#include <lmdb.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#define ROUNDS	3	/* snapshots of each kind: the spread is reported */
/*
 * The keys and values a vm.create of this benchmark puts, all together: 11 records in
 * 10 B-trees, 475 bytes for VM "lat0" to 490 for "lat1999" (counted with an mdb_put
 * wrapper around the controller). The baseline writes the fewest.
 */
#define NOOP_BYTES	475

/* A controller with its stream over TLS (tls) or plaintext (cluster_controller). */
static int
start_ctl(bool tls)
{
	const char *d = cluster_dir();
	char conf[2048];

	if (!tls)
		return cluster_controller();
	snprintf(conf, sizeof(conf), "node = \"%s\";\ncontroller = {\n data_dir = \"%s/tdata\";\n"
	    " api_socket = \"%s/tapi.sock\";\n listen = \"127.0.0.1:0\";\n"
	    " tls_ca = \"%s/pki/ca.crt\";\n tls_cert = \"%s/pki/controller-ctl.crt\";\n"
	    " tls_key = \"%s/pki/controller-ctl.key\";\n};\n", cluster_node("tctl"), d, d, d,
	    d, d);
	cluster_start("vpcfwd-controller", conf, "tcontroller");
	return cluster_log_port("tcontroller", "streams on port ");
}

static pid_t
start_gw(const char *name, int port, bool tls, uint64_t capacity)
{
	const char *d = cluster_dir();
	char conf[2048], files[1024];

	if (tls)
		snprintf(files, sizeof(files), " tls_ca = \"%s/pki/ca.crt\";\n tls_cert = "
		    "\"%s/pki/gateway-gw.crt\";\n tls_key = \"%s/pki/gateway-gw.key\";\n", d, d,
		    d);
	else
		snprintf(files, sizeof(files), " tls = false;\n");
	snprintf(conf, sizeof(conf), "node = \"%s\";\nrule_store = {\n controllers = "
	    "[\"127.0.0.1:%d\"];\n table_capacity = %llu;\n%s};\n", cluster_node(name), port,
	    (unsigned long long)capacity, files);
	return cluster_start("vpcfwd-rule-store", conf, name);
}

static double
pct(uint64_t *v, size_t n, double p)
{
	return v[(size_t)((n - 1) * p)] / 1000.0;
}

static void
nap(void)
{
	struct timespec ts = { 0, 5000 };

	nanosleep(&ts, NULL);
}

/* One controller and its first gateway: plaintext ([0]) or TLS ([1]). */
struct side {
	bool tls;
	int port;
	struct apiclient c;
	struct table *gw;
	struct stats st;
	uint64_t *total, *rtt;
	double snap[ROUNDS];
};

static void
side_start(struct side *sd, uint64_t n, uint64_t capacity)
{
	char sock[256];

	sd->port = start_ctl(sd->tls);
	start_gw(sd->tls ? "tgw1" : "gw1", sd->port, sd->tls, capacity);
	sd->gw = cluster_table_wait(cluster_node(sd->tls ? "tgw1" : "gw1"), "rule-store");
	if (sd->tls) {
		snprintf(sock, sizeof(sock), "%s/tapi.sock", cluster_dir());
		for (int i = 0; apiclient_connect(&sd->c, sock, 0) < 0; i++)
			if (i == CLUSTER_WAIT_TRIES)
				fatalx("replicate: cannot reach the TLS controller at %s", sock);
			else
				usleep(10000);
	} else {
		cluster_api_connect(&sd->c);
	}
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:i, s:[s]}", "op",
	    "vpc.create", "name", "v", "vni", 7, "cidrs", "10.0.0.0/8")));
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
	    "name", "h1", "vtep", "192.168.0.1")));
	sd->total = calloc(n, sizeof(*sd->total));
	sd->rtt = calloc(n, sizeof(*sd->rtt));
	cluster_stats_wait(&sd->st, cluster_node(sd->tls ? "tctl" : "ctl"), "controller");
}

/* Change i: from the request to the reader seeing it; then a read-only round trip. */
static void
side_change(struct side *sd, uint64_t i)
{
	struct table_rule r;
	char name[32], ip[32];
	uint32_t ipn = 0x0a010000u + (uint32_t)i + 1;
	uint64_t t0;

	snprintf(name, sizeof(name), "lat%llu", (unsigned long long)i);
	snprintf(ip, sizeof(ip), "10.1.%u.%u", (ipn >> 8) & 255, ipn & 255);
	t0 = clock_mono_ns();
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op",
	    "vm.create", "name", name, "vpc", "v", "ip", ip, "host", "h1")));
	while (!table_lookup(sd->gw, 7, ipn, &r))
		nap();
	sd->total[i] = clock_mono_ns() - t0;
	t0 = clock_mono_ns();
	json_decref(cluster_call(&sd->c, json_pack("{s:s, s:s}", "op", "vpc.show", "name",
	    "v")));
	sd->rtt[i] = clock_mono_ns() - t0;
}

/* The baseline's LMDB environment: DIR/noop, opened as procs/controller/db.c opens its. */
struct noop {
	MDB_env *env;
	MDB_dbi dbi;
	uint8_t val[NOOP_BYTES - 8];
};

static void
noop_open(struct noop *no)
{
	char dir[256];
	MDB_txn *txn;
	int rc;

	snprintf(dir, sizeof(dir), "%s/noop", cluster_dir());
	if (mkdir(dir, 0700) == -1)
		fatal("replicate: mkdir %s", dir);
	if ((rc = mdb_env_create(&no->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(no->env, 64ull << 20)) != 0 ||
	    (rc = mdb_env_open(no->env, dir, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(no->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &no->dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0)
		fatalx("replicate: %s: %s", dir, mdb_strerror(rc));
	memset(no->val, 0x5a, sizeof(no->val));
}

/* One durable write of NOOP_BYTES that changes no rule: nanoseconds, begin to synced. */
static uint64_t
noop_write(struct noop *no, uint64_t i)
{
	uint8_t key[8] = { 'n', 'o', 'o', 'p' };
	MDB_val k = { sizeof(key), key }, v = { sizeof(no->val), no->val };
	uint64_t t0 = clock_mono_ns();
	MDB_txn *txn;
	int rc;

	/* The same key each time, its value changed: the file stays as it is. */
	memcpy(no->val, &i, sizeof(i));
	if ((rc = mdb_txn_begin(no->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_put(txn, no->dbi, &k, &v, 0)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0)
		fatalx("replicate: the baseline's write: %s", mdb_strerror(rc));
	return clock_mono_ns() - t0;
}

static void
side_import(struct side *sd, uint64_t snap_vms)
{
	json_t *vms = json_array();

	for (uint64_t i = 0; i < snap_vms; i++) {
		char name[32], ip[32];
		uint32_t ipn = 0x0a400000u + (uint32_t)i + 1;

		snprintf(name, sizeof(name), "s%llu", (unsigned long long)i);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", ipn >> 16 & 255, ipn >> 8 & 255,
		    ipn & 255);
		json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", name,
		    "vpc", "v", "ip", ip, "host", "h1"));
		if (json_array_size(vms) == 10000 || i + 1 == snap_vms) {
			json_decref(cluster_call(&sd->c, json_pack("{s:s, s:o}", "op",
			    "vm.import", "vms", vms)));
			vms = json_array();
		}
	}
	json_decref(vms);
}

/* A fresh rule-store loads the whole state: rules a second, start to last applied. */
static double
side_snapshot(struct side *sd, int round, uint64_t capacity, uint32_t *count)
{
	uint64_t last = cluster_stat(&sd->st, "log_seq"), t0, t;
	struct table *gw;
	char name[16];
	double rate;
	pid_t pid;

	/* One node a kind, its segments removed after each round: a fresh table each. */
	(void)round;
	snprintf(name, sizeof(name), "%sgs", sd->tls ? "t" : "");
	t0 = clock_mono_ns();
	pid = start_gw(name, sd->port, sd->tls, capacity);
	gw = cluster_table_wait(cluster_node(name), "rule-store");
	while (table_applied_seq(gw) < last)
		nap();
	t = clock_mono_ns() - t0;
	*count = table_count(gw);
	rate = table_count(gw) * 1e9 / t;
	table_close(gw);
	cluster_stop(pid);
	cluster_unlink_nodes(cluster_node(name), false);
	return rate;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	uint64_t n = 2000, snap_vms = 500000, capacity;
	struct side sides[2] = { { .tls = false }, { .tls = true } };
	struct noop no;
	uint64_t *dur, commits0, commit_us0, commits, commit_us;
	char seg[SEG_NAME_MAX], cmd[512], what[128];
	uint32_t count = 0;
	double base_rate, med[2], ratio[ROUNDS];
	json_t *res;
	int ch;

	log_init("bench-replicate", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:s:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 's')
			snap_vms = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: replicate [-n CHANGES] [-s SNAPSHOT_VMS]");
	}
	/* Polling naps of a few microseconds, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cluster_init("replicate");
	snprintf(cmd, sizeof(cmd), "exec >/dev/null; set -e; p=tools/vpcfwd-pki; d=%s/pki; "
	    "$p $d ca; $p $d controller ctl; $p $d gateway gw", cluster_dir());
	if (system(cmd) != 0)
		fatalx("replicate: tools/vpcfwd-pki failed (run from the repository's top)");
	capacity = (n + snap_vms) * 5 / 4 + 1024;
	for (int k = 0; k < 2; k++)
		side_start(&sides[k], n, capacity);
	noop_open(&no);
	if ((dur = calloc(n, sizeof(*dur))) == NULL)
		fatalx("replicate: out of memory");

	/*
	 * Latency: one change at a time, plaintext and TLS in turn, then the baseline's
	 * durable write; the plaintext controller's own commit time, from its counters.
	 */
	commits0 = cluster_stat(&sides[0].st, "commits");
	commit_us0 = cluster_stat(&sides[0].st, "commit_us");
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++)
			side_change(&sides[k], i);
		dur[i] = noop_write(&no, i);
	}
	commits = cluster_stat(&sides[0].st, "commits") - commits0;
	commit_us = cluster_stat(&sides[0].st, "commit_us") - commit_us0;
	mdb_env_close(no.env);
	qsort(dur, n, sizeof(uint64_t), bench_cmp_u64);
	for (int k = 0; k < 2; k++) {
		qsort(sides[k].total, n, sizeof(uint64_t), bench_cmp_u64);
		qsort(sides[k].rtt, n, sizeof(uint64_t), bench_cmp_u64);
		side_import(&sides[k], snap_vms);
	}
	/* Snapshots: ROUNDS fresh rule-stores each, plaintext and TLS in turn. */
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++)
			sides[k].snap[r] = side_snapshot(&sides[k], r, capacity, &count);
		ratio[r] = sides[1].snap[r] / sides[0].snap[r];
	}
	for (int k = 0; k < 2; k++) {
		double v[ROUNDS];

		memcpy(v, sides[k].snap, sizeof(v));
		qsort(v, ROUNDS, sizeof(double), cmp_dbl);
		med[k] = v[ROUNDS / 2];
	}
	qsort(ratio, ROUNDS, sizeof(double), cmp_dbl);
	{
		/* The baseline: the same number of rules set in one process. */
		struct table_params p;
		struct table *t;
		char err[512];
		uint64_t t0;

		table_params_default(&p, TABLE_GATEWAY);
		p.capacity = count + 16;
		if (table_create(&t, cluster_node("base"), "bench", &p, err, sizeof(err)) < 0)
			fatalx("replicate: %s", err);
		t0 = clock_mono_ns();
		for (uint32_t i = 0; i < count; i++) {
			struct table_rule br = { .vni = 7, .ip = 0x0a400000u + i, .vtep = 1,
			    .mac = { 2, 0, 1, 2, 3, 4 }, .version = 1 };

			table_set(t, &br);
		}
		table_vni_advance(t, 7, 1, 1);
		base_rate = table_count(t) * 1e9 / (clock_mono_ns() - t0);
		snprintf(seg, sizeof(seg), "%s", table_seg(t)->name);
		table_close(t);
		seg_unlink_name(seg);
	}

	printf("replicate: commit -> applied in a rule-store's table, %llu changes one at a "
	    "time, plaintext and TLS 1.3 in turn\n", (unsigned long long)n);
	printf("%-40s %10s %10s\n", "", "p50 us", "p99 us");
	for (int k = 0; k < 2; k++) {
		struct side *sd = &sides[k];
		const char *w = sd->tls ? "TLS" : "plain";
		char l[64];

		snprintf(l, sizeof(l), "%s: API request -> in the table", w);
		printf("%-40s %10.0f %10.0f\n", l, pct(sd->total, n, 0.5),
		    pct(sd->total, n, 0.99));
		snprintf(l, sizeof(l), "%s: read-only API round trip", w);
		printf("%-40s %10.0f %10.0f\n", l, pct(sd->rtt, n, 0.5), pct(sd->rtt, n, 0.99));
	}
	printf("%-40s %10.0f %10.0f\n", "durable LMDB write, one process", pct(dur, n, 0.5),
	    pct(dur, n, 0.99));
	printf("plain controller's own commits: %llu, %.0f us each on average\n",
	    (unsigned long long)commits, commits ? (double)commit_us / commits : 0.0);
	for (int k = 0; k < 2; k++)
		printf("snapshot %-5s: %u rules by a fresh rule-store, %d rounds: %.0f %.0f %.0f "
		    "rules/s (median %.0f; table_set alone: %.0f/s)\n",
		    sides[k].tls ? "TLS" : "plain", count, ROUNDS, sides[k].snap[0],
		    sides[k].snap[1], sides[k].snap[2], med[k], base_rate);
	printf("snapshot TLS / plain, the rounds lowest first: %.2f %.2f %.2f (goal >= 0.7)\n",
	    ratio[0], ratio[1], ratio[2]);
	res = bench_results();
	for (int p = 50; p <= 99; p += 49) {
		char name[64];

		snprintf(name, sizeof(name), "request_to_table_p%d_us", p);
		snprintf(what, sizeof(what), "durable LMDB write of %d B changing no rule, one "
		    "process, p%d", NOOP_BYTES, p);
		bench_add(res, name, pct(sides[0].total, n, p / 100.0), "us", what,
		    pct(dur, n, p / 100.0));
	}
	bench_add(res, "snapshot_rules_per_s", med[0], "rules/s", "table_set in one process",
	    base_rate);
	/* TLS against plaintext, same run: rates TLS / plain, latencies plain / TLS. */
	bench_add(res, "replicate_tls_snapshot_rules_per_s", med[1], "rules/s",
	    "plaintext snapshot rules/s (median of 3 rounds each)", med[0]);
	bench_add(res, "replicate_tls_snapshot_ratio_min", ratio[0], "ratio",
	    "goal 0.7 (the lowest of 3 rounds' TLS/plain)", 0.7);
	bench_add(res, "replicate_tls_snapshot_ratio_max", ratio[ROUNDS - 1], "ratio",
	    "goal 0.7 (the highest of 3 rounds' TLS/plain)", 0.7);
	bench_add(res, "replicate_tls_request_to_table_p50_us", pct(sides[0].total, n, 0.5),
	    "us", "TLS request -> table p50 (ratio = plain / TLS)", pct(sides[1].total, n, 0.5));
	bench_add(res, "replicate_tls_request_to_table_p99_us", pct(sides[0].total, n, 0.99),
	    "us", "TLS request -> table p99 (ratio = plain / TLS)", pct(sides[1].total, n, 0.99));
	for (int k = 0; k < 2; k++) {
		table_close(sides[k].gw);
		stats_close(&sides[k].st);
		apiclient_close(&sides[k].c);
		free(sides[k].total);
		free(sides[k].rtt);
	}
	free(dur);
	cluster_end();
	return bench_write(res, "replicate") < 0;
}
