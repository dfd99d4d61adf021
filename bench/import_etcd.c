/*
 * bench/import_etcd: `vpcfwdctl import` of N VMs (default 100 k) into one VPC of a
 * controller on etcd (controller.store = "etcd", a cluster of three members on
 * loopback, bench/etcdcluster.h), in batches of B VMs a vm.import (default 1000: each
 * batch is one etcd txn of ~5 B operations and ~1.2 kB of JSON a VM, well inside the
 * limits docs/cluster.md has a deployment raise; etcd.c takes at most 6 MiB of JSON a
 * request, about 5000 VMs). Each batch is acknowledged once etcd committed it and the
 * controller's view applied it, before the next is sent.
 *
 * Baseline, in the same run: bare etcd. The controller's own txns, read back from
 * etcd's history (a watch from revision 1), replayed through common/etcd.c alone on a
 * fresh cluster of three: the same keys and values, the same compares (a value compare
 * for a record read and rewritten, "absent" for one created, none for rules and the
 * log key, as procs/controller/etcdstore.c makes them), one txn each, in order, each
 * after the last one's answer. What etcd itself costs for the same work: the
 * controller's model, capture, view and watch are what the ratio measures (goal >= 0.8).
 * Also in the same run: the same txns replayed with a watch of the prefix (a thread and
 * a handle of its own), each txn waited for on the watch before the next: what the
 * controller's view, fed by its watch, costs etcd and a client before any of the
 * controller's own work; and the same import into a controller on LMDB (the default
 * store), for the price of etcd itself.
 *
 * Every client talks to the leader first (the endpoints given it first), on both
 * clusters, so that which member happens to lead does not move the ratio.
 * CPU per VM: the controller's and every member's (the client's, for the baseline).
 *
 *	import_etcd [-n VMS] [-b BATCH]		writes bench/results/import_etcd.json
 */
#include "bench/etcdcluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/mix.h"

#include <pthread.h>
#include <stdatomic.h>

#define PREFIX	"/vpcfwd/1/"	/* the controller's default controller.etcd.prefix */

static uint64_t n = 100000, batch = 1000;

/* One event of etcd's history, its bytes in hist.arena. */
struct hev {
	int64_t rev, create;
	bool del;
	size_t koff, klen, voff, vlen;
};

static struct {
	struct hev *ev;
	size_t n, cap;
	uint8_t *arena;
	size_t alen, acap;
	int64_t until;		/* the watch stops once this revision was given */
} hist;

static void
hist_bytes(const void *p, size_t len, size_t *off)
{
	if (hist.alen + len > hist.acap) {
		hist.acap = hist.acap ? hist.acap * 2 : 1 << 24;
		while (hist.acap < hist.alen + len)
			hist.acap *= 2;
		if ((hist.arena = realloc(hist.arena, hist.acap)) == NULL)
			fatalx("import_etcd: out of memory");
	}
	memcpy(hist.arena + hist.alen, p, len);
	*off = hist.alen;
	hist.alen += len;
}

static int
on_hist(void *arg, const struct etcd_watch_batch *b)
{
	(void)arg;
	for (size_t i = 0; i < b->n; i++) {
		const struct etcd_event *e = &b->ev[i];
		struct hev *h;

		if (hist.n == hist.cap) {
			hist.cap = hist.cap ? hist.cap * 2 : 1 << 16;
			if ((hist.ev = realloc(hist.ev, hist.cap * sizeof(*hist.ev))) == NULL)
				fatalx("import_etcd: out of memory");
		}
		h = &hist.ev[hist.n++];
		h->rev = e->kv.mod_revision;
		h->create = e->kv.create_revision;
		h->del = e->type == ETCD_EV_DELETE;
		h->klen = e->kv.key_len;
		h->vlen = e->kv.value_len;
		hist_bytes(e->kv.key, h->klen, &h->koff);
		hist_bytes(e->kv.value, h->vlen, &h->voff);
	}
	return b->n > 0 && b->ev[b->n - 1].kv.mod_revision >= hist.until ? 1 : 0;
}

/* Every event of etcd's history up to revision until (nothing is compacted yet). */
static void
hist_read(int64_t until)
{
	/* etcd sends up to 1000 revisions of history a message: far over 64 MiB here. */
	struct etcd *e = ec_handle(10000, 1ull << 31);
	uint8_t end[1] = { 0 };
	struct etcd_watch_params p = { .key = "\0", .key_len = 1, .end = end, .end_len = 1,
	    .start_revision = 1 };
	int rc;

	hist.until = until;
	if ((rc = etcd_watch(e, &p, on_hist, NULL, NULL)) != 1)
		fatalx("import_etcd: reading etcd's history: %s",
		    rc < 0 ? etcd_error(e) : "the watch ended early");
	etcd_close(e);
}

static bool
key_is(const struct hev *h, const char *what, bool whole)
{
	size_t pl = strlen(PREFIX), wl = strlen(what);

	return h->klen >= pl + wl && (!whole || h->klen == pl + wl) &&
	    memcmp(hist.arena + h->koff, PREFIX, pl) == 0 &&
	    memcmp(hist.arena + h->koff + pl, what, wl) == 0;
}

/* The index of the last event of each key, for the value a compare wants. */
static struct {
	uint32_t *slot;		/* event index + 1 */
	size_t cap;
} last;

static uint32_t *
last_slot(const struct hev *h)
{
	const uint8_t *k = hist.arena + h->koff;
	size_t s = fnv1a32(FNV1A32_INIT, k, h->klen) & (last.cap - 1);

	for (; last.slot[s] != 0; s = (s + 1) & (last.cap - 1)) {
		const struct hev *o = &hist.ev[last.slot[s] - 1];

		if (o->klen == h->klen && memcmp(hist.arena + o->koff, k, h->klen) == 0)
			break;
	}
	return &last.slot[s];
}

/*
 * The watched replay's watcher: a thread of its own with its own handle, as the
 * controller's view has, watching the prefix and noting the newest revision seen.
 */
static struct {
	pthread_t th;
	struct etcd *e;
	int64_t from;
	atomic_int stop;
	_Atomic int64_t seen;
	uint64_t events;
} w;

static int
on_watched(void *arg, const struct etcd_watch_batch *b)
{
	(void)arg;
	w.events += b->n;
	if (b->n > 0)
		atomic_store(&w.seen, b->ev[b->n - 1].kv.mod_revision);
	return 0;
}

static void *
watch_main(void *arg)
{
	uint8_t end[sizeof(PREFIX)];
	struct etcd_watch_params p = { .key = PREFIX, .key_len = strlen(PREFIX), .end = end,
	    .start_revision = w.from, .stop = &w.stop };
	int rc;

	(void)arg;
	p.end_len = etcd_prefix_end(PREFIX, strlen(PREFIX), end);
	if ((rc = etcd_watch(w.e, &p, on_watched, NULL, NULL)) != 0)
		fatalx("import_etcd: the replay's watch: %s", etcd_error(w.e));
	return NULL;
}

/* Until the watcher has seen revision rev. */
static void
watch_wait(int64_t rev)
{
	struct timespec ts = { 0, 20000 };
	uint64_t t0 = clock_mono_ns();

	while (atomic_load(&w.seen) < rev) {
		if (clock_mono_ns() - t0 > 30000000000ull)
			fatalx("import_etcd: the replay's watch did not see revision %lld in 30 s",
			    (long long)rev);
		nanosleep(&ts, NULL);
	}
}

struct replay {
	uint64_t txns, cmps, ops, bytes;	/* of the timed (import) txns */
	double secs;
	uint64_t members_cpu_ns, client_cpu_ns;
};

/*
 * Replay the history on the cluster now running: revisions up to from untimed (the
 * set-up), the rest timed. Watched: with a watch of the prefix from the first timed
 * revision on, each txn waited for on the watch before the next is sent, as the
 * controller waits for its view.
 */
static void
replay(int64_t from, bool watched, struct replay *out)
{
	struct etcd *e = ec_handle(10000, 0);
	struct etcd_cmp *cmps = NULL;
	struct etcd_op *ops = NULL;
	size_t cap = 0;
	uint64_t t0 = 0, cpu0 = 0, self0 = 0;

	memset(out, 0, sizeof(*out));
	for (last.cap = 1024; last.cap < 2 * hist.n; last.cap *= 2)
		;
	if ((last.slot = calloc(last.cap, sizeof(*last.slot))) == NULL)
		fatalx("import_etcd: out of memory");
	for (size_t i = 0; i < hist.n;) {
		int64_t rev = hist.ev[i].rev;
		size_t j, nc = 0, no = 0, bytes = 0;
		struct etcd_txn_result res;
		int rc;

		for (j = i; j < hist.n && hist.ev[j].rev == rev; j++)
			;
		if (j - i > cap) {
			cap = j - i;
			cmps = realloc(cmps, cap * sizeof(*cmps));
			ops = realloc(ops, cap * sizeof(*ops));
			if (cmps == NULL || ops == NULL)
				fatalx("import_etcd: out of memory");
		}
		if (rev > from && t0 == 0) {
			if (watched) {
				memset(&w, 0, sizeof(w));
				w.e = ec_handle(10000, 0);
				w.from = rev;
				if (pthread_create(&w.th, NULL, watch_main, NULL) != 0)
					fatalx("import_etcd: pthread_create");
			}
			cpu0 = ec_members_cpu_ns();
			self0 = bench_self_cpu_ns();
			t0 = clock_mono_ns();
		}
		for (size_t k = i; k < j; k++) {
			const struct hev *h = &hist.ev[k];
			const uint8_t *key = hist.arena + h->koff;

			bytes += h->klen + h->vlen;
			/* As etcdstore's commit: no compare for a rule or the log key. */
			if (!key_is(h, "rules/", false) && !key_is(h, "log", true)) {
				if (!h->del && h->create == rev) {
					cmps[nc++] = (struct etcd_cmp){ .target = ETCD_CMP_ABSENT,
					    .key = key, .key_len = h->klen };
				} else {
					uint32_t s = *last_slot(h);
					const struct hev *o;

					if (s == 0)
						fatalx("import_etcd: revision %lld rewrites a key "
						    "never written", (long long)rev);
					o = &hist.ev[s - 1];
					cmps[nc++] = (struct etcd_cmp){ .target = ETCD_CMP_VALUE,
					    .result = ETCD_EQUAL, .key = key, .key_len = h->klen,
					    .value = hist.arena + o->voff, .value_len = o->vlen };
					bytes += o->vlen;
				}
			}
			ops[no++] = h->del ?
			    (struct etcd_op){ .kind = ETCD_OP_DELETE, .key = key,
			    .key_len = h->klen } :
			    (struct etcd_op){ .kind = ETCD_OP_PUT, .key = key, .key_len = h->klen,
			    .value = hist.arena + h->voff, .value_len = h->vlen };
		}
		if ((rc = etcd_txn(e, cmps, nc, ops, no, &res)) < 0 || !res.succeeded)
			fatalx("import_etcd: the replay of revision %lld: %s", (long long)rev,
			    rc < 0 ? etcd_error(e) : "a compare failed");
		if (watched && rev > from)
			watch_wait(res.revision);
		for (size_t k = i; k < j; k++)
			*last_slot(&hist.ev[k]) = (uint32_t)k + 1;
		if (rev > from) {
			out->txns++;
			out->cmps += nc;
			out->ops += no;
			out->bytes += bytes;
		}
		i = j;
	}
	if (t0 == 0)
		fatalx("import_etcd: nothing to replay after revision %lld", (long long)from);
	out->secs = (clock_mono_ns() - t0) / 1e9;
	out->members_cpu_ns = ec_members_cpu_ns() - cpu0;
	out->client_cpu_ns = bench_self_cpu_ns() - self0;
	if (watched) {
		atomic_store(&w.stop, 1);
		pthread_join(w.th, NULL);
		etcd_close(w.e);
	}
	etcd_close(e);
	free(cmps);
	free(ops);
	free(last.slot);
}

/* The VPC and the four hosts the import's VMs go to, through controller c. */
static void
setup(struct apiclient *c)
{
	json_decref(cluster_call(c, json_pack("{s:s, s:s, s:i, s:[s]}", "op", "vpc.create",
	    "name", "big", "vni", 1, "cidrs", "10.0.0.0/8")));
	for (int h = 0; h < 4; h++) {
		char name[16], vtep[16];

		snprintf(name, sizeof(name), "h%d", h);
		snprintf(vtep, sizeof(vtep), "192.168.0.%d", h + 1);
		json_decref(cluster_call(c, json_pack("{s:s, s:s, s:s}", "op", "host.create",
		    "name", name, "vtep", vtep)));
	}
}

/* `vpcfwdctl -s sock import --batch B csv`: seconds, or exit. */
static double
import_file(const char *sock, const char *csv)
{
	char log[256], b[24], *args[9];
	uint64_t t0;
	pid_t imp;
	int st;

	snprintf(b, sizeof(b), "%llu", (unsigned long long)batch);
	args[0] = (char *)bench_bin("vpcfwdctl");
	args[1] = "-s";
	args[2] = (char *)sock;
	args[3] = "import";
	args[4] = "--batch";
	args[5] = b;
	args[6] = (char *)csv;
	args[7] = NULL;
	snprintf(log, sizeof(log), "%s/vpcfwdctl.log", cluster_dir());
	t0 = clock_mono_ns();
	imp = bench_spawn(args, log);
	waitpid(imp, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("import_etcd: vpcfwdctl import failed (see %s)", log);
	return (clock_mono_ns() - t0) / 1e9;
}

static void
write_csv(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fatal("import_etcd: %s", path);
	fprintf(f, "name,vpc,ip,host\n");
	for (uint64_t i = 0; i < n; i++)
		fprintf(f, "vm%07llu,big,10.%llu.%llu.%llu,h%llu\n", (unsigned long long)i,
		    (unsigned long long)((i + 1) >> 16 & 255),
		    (unsigned long long)((i + 1) >> 8 & 255), (unsigned long long)((i + 1) & 255),
		    (unsigned long long)(i % 4));
	if (fclose(f) != 0)
		fatal("import_etcd: %s", path);
}

static int64_t
etcd_revision_now(void)
{
	struct etcd *e = ec_handle(5000, 0);
	struct etcd_status st;

	if (etcd_status(e, &st) < 0)
		fatalx("import_etcd: etcd status: %s", etcd_error(e));
	etcd_close(e);
	return st.revision;
}

int
main(int argc, char **argv)
{
	char csv[256], sock[256], parts[512];
	struct apiclient c;
	struct replay base, watched;
	double lmdb_s, etcd_s, rate_lmdb, rate_etcd, rate_bare, rate_watched;
	uint64_t lmdb_cpu, ctl_cpu, mem_cpu, cpu0, mcpu0;
	int64_t rev0, rev1;
	int leader, leader_bare, ch;
	pid_t ctl;
	json_t *res;

	log_init("bench-import_etcd", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:b:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'b')
			batch = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: import_etcd [-n VMS] [-b BATCH]");
	}
	if (n < 1 || n > (1u << 24) - 2 || batch < 1 || batch > 100000)
		fatalx("import_etcd: -n must be 1..%u (VMs in 10.0.0.0/8), -b 1..100000",
		    (1u << 24) - 2);
	cluster_init("import_etcd");
	snprintf(csv, sizeof(csv), "%s/vms.csv", cluster_dir());
	write_csv(csv);

	/* 1. LMDB, the default store: the same file, the same batches. */
	cluster_controller();
	cluster_api_connect(&c);
	setup(&c);
	apiclient_close(&c);
	ctl = the_cluster.procs[the_cluster.nprocs - 1];
	cpu0 = ec_cpu_ns(ctl);
	lmdb_s = import_file(the_cluster.api_sock, csv);
	lmdb_cpu = ec_cpu_ns(ctl) - cpu0;
	cluster_stop(ctl);

	/* 2. etcd: three members, a controller talking to the leader first. */
	ec_start();
	leader = ec_leader();
	ec_order(leader);
	ec_controller("ectl", &ctl);
	ec_api_connect(&c, "ectl", 0);
	setup(&c);
	apiclient_close(&c);
	rev0 = etcd_revision_now();
	snprintf(sock, sizeof(sock), "%s/ectl.sock", cluster_dir());
	cpu0 = ec_cpu_ns(ctl);
	mcpu0 = ec_members_cpu_ns();
	etcd_s = import_file(sock, csv);
	ctl_cpu = ec_cpu_ns(ctl) - cpu0;
	mem_cpu = ec_members_cpu_ns() - mcpu0;
	rev1 = etcd_revision_now();
	cluster_stop(ctl);
	hist_read(rev1);
	ec_stop();

	/* 3. Bare etcd: the same txns on a fresh cluster, the leader first again. */
	ec_start();
	leader_bare = ec_leader();
	ec_order(leader_bare);
	replay(rev0, false, &base);
	ec_stop();

	/* 4. The same, with a watch of the prefix waited for, as the controller's view. */
	ec_start();
	ec_order(ec_leader());
	replay(rev0, true, &watched);
	ec_stop();

	rate_lmdb = n / lmdb_s;
	rate_etcd = n / etcd_s;
	rate_bare = n / base.secs;
	rate_watched = n / watched.secs;
	printf("import_etcd: %llu VMs into one VPC with vpcfwdctl import --batch %llu, 3 etcd "
	    "members on loopback\n", (unsigned long long)n, (unsigned long long)batch);
	printf("  %llu import txns: %.0f compares, %.0f operations, %.0f bytes of keys and "
	    "values each on average\n", (unsigned long long)base.txns,
	    (double)base.cmps / base.txns, (double)base.ops / base.txns,
	    (double)base.bytes / base.txns);
	printf("%-34s %10s %12s %12s\n", "", "VMs/s", "ratio", "CPU us/VM");
	printf("%-34s %10.0f %11.2fx %12.1f   (controller %.1f, members %.1f)\n",
	    "controller on etcd", rate_etcd, rate_etcd / rate_bare,
	    (ctl_cpu + mem_cpu) / 1e3 / n, ctl_cpu / 1e3 / n, mem_cpu / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (client %.1f, members %.1f)\n",
	    "baseline: the same txns, bare", rate_bare, 1.0,
	    (base.client_cpu_ns + base.members_cpu_ns) / 1e3 / n, base.client_cpu_ns / 1e3 / n,
	    base.members_cpu_ns / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (client %.1f, members %.1f)\n",
	    "the same txns, watched", rate_watched, rate_watched / rate_bare,
	    (watched.client_cpu_ns + watched.members_cpu_ns) / 1e3 / n,
	    watched.client_cpu_ns / 1e3 / n, watched.members_cpu_ns / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (controller)\n", "controller on LMDB", rate_lmdb,
	    rate_lmdb / rate_bare, lmdb_cpu / 1e3 / n);
	printf("goal: etcd import >= 0.8x bare etcd: %s\n",
	    rate_etcd >= 0.8 * rate_bare ? "met" : "NOT met");

	res = bench_results();
	snprintf(parts, sizeof(parts), "%llu VMs, vpcfwdctl import --batch %llu: %llu txns of "
	    "%.0f compares, %.0f operations, %.0f bytes; 3 etcd members on loopback, the "
	    "leader first", (unsigned long long)n, (unsigned long long)batch,
	    (unsigned long long)base.txns, (double)base.cmps / base.txns,
	    (double)base.ops / base.txns, (double)base.bytes / base.txns);
	bench_row(res, "import_etcd", "", rate_etcd, "VMs/s", "bare etcd: the controller's txns "
	    "replayed through common/etcd.c on a fresh cluster", rate_bare, parts, NULL);
	bench_row(res, "import_etcd_vs_watched", "", rate_etcd, "VMs/s", "the same bare txns "
	    "with a watch of the prefix, each waited for on it (the view's part)", rate_watched,
	    parts, NULL);
	bench_row(res, "import_etcd_vs_lmdb", "", rate_etcd, "VMs/s", "the same import into a "
	    "controller on LMDB", rate_lmdb, parts, NULL);
	snprintf(parts, sizeof(parts), "controller %.1f + members %.1f us/VM; bare: client %.1f "
	    "+ members %.1f; watched: client %.1f + members %.1f; LMDB controller %.1f",
	    ctl_cpu / 1e3 / n, mem_cpu / 1e3 / n, base.client_cpu_ns / 1e3 / n,
	    base.members_cpu_ns / 1e3 / n, watched.client_cpu_ns / 1e3 / n,
	    watched.members_cpu_ns / 1e3 / n, lmdb_cpu / 1e3 / n);
	bench_row(res, "import_etcd_cpu_us_per_vm", "", (ctl_cpu + mem_cpu) / 1e3 / n, "us",
	    "bare etcd: client + members", (base.client_cpu_ns + base.members_cpu_ns) / 1e3 / n,
	    parts, NULL);
	free(hist.ev);
	free(hist.arena);
	cluster_end();
	return bench_write(res, "import_etcd") < 0;
}
