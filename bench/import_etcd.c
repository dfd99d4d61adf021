/*
 * bench/import_etcd: `vpcfwdctl import` of N VMs (default 100 k) into one VPC of a
 * controller on etcd (controller.store = "etcd", a cluster of three members on
 * loopback, bench/etcdcluster.h), in batches of B VMs a vm.import (default 1000: each
 * batch is one etcd txn of ~5 B operations and ~1.2 kB of JSON a VM, well inside the
 * limits docs/cluster.md has a deployment raise; common/etcd.c sends at most 6 MiB of
 * JSON a request, about 5000 VMs). Each batch is acknowledged once etcd committed it and
 * the controller's view applied it, before the next is sent.
 *
 * Baseline, in the same run: bare etcd. The controller's own txns, read back from
 * etcd's history (a watch), replayed through common/etcd.c alone on a cluster of three
 * of their own: the same keys and values, the same compares (a value compare for a
 * record read and rewritten, "absent" for one created, none for rules and the log key,
 * as procs/controller/etcdstore.c makes them), one txn each, in order, each after the
 * last one's answer. What etcd itself costs for the same work: the controller's model,
 * capture, view and watch are what the ratio measures (goal >= 0.8).
 * Also in the same run:
 *  - watched: the same txns replayed on a third cluster with a watch of the log key (a
 *    thread and a handle of its own: the controller's view watches that key alone, its
 *    value saying the txn's table writes), each txn waited for on the watch before the
 *    next: what the controller's view, fed by its watch, costs etcd and a client before
 *    any of the controller's own work;
 *  - the same import into a controller on LMDB (the default store).
 *
 * The machine is shared and its load changes by the second, so the four take turns: the
 * VMs go in S slices (-s, default 10); each round the controller on etcd and the one on
 * LMDB import a slice, and the two replays replay the slice the controller imported the
 * round before, in an order that rotates. Each cluster is its own (the same start for
 * every path), every client talks to its cluster's leader first, so that which member
 * happens to lead does not move the ratios.
 * CPU per VM: the controller's and its members' (the client's, for the replays; the
 * watched replay's client includes its watcher).
 *
 *	import_etcd [-n VMS] [-b BATCH] [-s SLICES]	writes bench/results/import_etcd.json
 */
#include "bench/etcdcluster.h"
#include "common/apiclient.h"
#include "common/clock.h"
#include "common/mix.h"

#include <pthread.h>
#include <stdatomic.h>

#define PREFIX	"/vpcfwd/1/"	/* the controller's default controller.etcd.prefix */

static uint64_t n = 100000, batch = 1000, slices = 10;
/* The controller's cluster, the bare replay's, the watched replay's. */
static struct ec ca, cb, cw;

/* One event of etcd's history, its bytes in hist.arena. */
struct hev {
	int64_t rev, create;
	bool del;
	size_t koff, klen, voff, vlen;
	size_t prev;		/* the key's event before this one, + 1; 0: none */
};

static struct {
	struct hev *ev;
	size_t n, cap;
	uint8_t *arena;
	size_t alen, acap;
	int64_t until;		/* the watch stops once this revision was given */
	uint32_t *slot;		/* key -> its last event + 1, open addressing */
	size_t slot_cap;
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

static uint32_t *
hist_slot(const uint8_t *k, size_t klen)
{
	size_t s = fnv1a32(FNV1A32_INIT, k, klen) & (hist.slot_cap - 1);

	for (; hist.slot[s] != 0; s = (s + 1) & (hist.slot_cap - 1)) {
		const struct hev *o = &hist.ev[hist.slot[s] - 1];

		if (o->klen == klen && memcmp(hist.arena + o->koff, k, klen) == 0)
			break;
	}
	return &hist.slot[s];
}

/* Event i was added: link it to its key's previous event, growing the index. */
static void
hist_link(size_t i)
{
	struct hev *h = &hist.ev[i];
	uint32_t *s;

	if (2 * (i + 1) > hist.slot_cap) {
		uint32_t *old = hist.slot;
		size_t cap = hist.slot_cap;

		hist.slot_cap = cap ? 4 * cap : 1 << 16;
		if ((hist.slot = calloc(hist.slot_cap, sizeof(*hist.slot))) == NULL)
			fatalx("import_etcd: out of memory");
		for (size_t j = 0; j < cap; j++)
			if (old[j] != 0) {
				const struct hev *o = &hist.ev[old[j] - 1];

				*hist_slot(hist.arena + o->koff, o->klen) = old[j];
			}
		free(old);
	}
	s = hist_slot(hist.arena + h->koff, h->klen);
	h->prev = *s;
	*s = (uint32_t)i + 1;
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
		h = &hist.ev[hist.n];
		h->rev = e->kv.mod_revision;
		h->create = e->kv.create_revision;
		h->del = e->type == ETCD_EV_DELETE;
		h->klen = e->kv.key_len;
		h->vlen = e->kv.value_len;
		hist_bytes(e->kv.key, h->klen, &h->koff);
		hist_bytes(e->kv.value, h->vlen, &h->voff);
		hist_link(hist.n++);
	}
	return b->n > 0 && b->ev[b->n - 1].kv.mod_revision >= hist.until ? 1 : 0;
}

/* The controller's cluster's history, revisions from..until, appended to hist. */
static void
hist_read(int64_t from, int64_t until)
{
	/* etcd sends up to 1000 revisions a message: far over 64 MiB here. */
	struct etcd *e = ec_handle(&ca, 10000, 1ull << 31);
	uint8_t end[1] = { 0 };
	struct etcd_watch_params p = { .key = "\0", .key_len = 1, .end = end, .end_len = 1,
	    .start_revision = from };
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

/*
 * The watched replay's watcher: a thread of its own with its own handle, as the
 * controller's view has, watching the log key and noting the newest revision seen.
 */
static struct {
	pthread_t th;
	struct etcd *e;
	int64_t from;
	atomic_int stop;
	_Atomic int64_t seen;
} w;

static int
on_watched(void *arg, const struct etcd_watch_batch *b)
{
	(void)arg;
	if (b->n > 0)
		atomic_store(&w.seen, b->ev[b->n - 1].kv.mod_revision);
	return 0;
}

static void *
watch_main(void *arg)
{
	struct etcd_watch_params p = { .key = PREFIX "log", .key_len = strlen(PREFIX "log"),
	    .start_revision = w.from, .stop = &w.stop };
	int rc;

	(void)arg;
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

/* What one path took: seconds, and CPU of the client (or controller) and members. */
struct path {
	double secs;
	uint64_t cpu_ns, members_ns;
	uint64_t txns, cmps, ops, bytes;	/* the replays: of the timed txns */
};

/*
 * Replay events [i0, i1) of the history (whole revisions) with e; watched: each txn
 * waited for on the watcher. Timed into p when p is given.
 */
static void
replay(struct etcd *e, const struct ec *c, size_t i0, size_t i1, bool watched,
    struct path *p)
{
	static struct etcd_cmp *cmps;
	static struct etcd_op *ops;
	static size_t cap;
	uint64_t t0 = clock_mono_ns(), cpu0 = bench_self_cpu_ns(),
	    m0 = p ? ec_members_cpu_ns(c) : 0;

	for (size_t i = i0; i < i1;) {
		int64_t rev = hist.ev[i].rev;
		size_t j, nc = 0, no = 0, bytes = 0;
		struct etcd_txn_result res;
		int rc;

		for (j = i; j < i1 && hist.ev[j].rev == rev; j++)
			;
		if (j - i > cap) {
			cap = j - i;
			cmps = realloc(cmps, cap * sizeof(*cmps));
			ops = realloc(ops, cap * sizeof(*ops));
			if (cmps == NULL || ops == NULL)
				fatalx("import_etcd: out of memory");
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
					const struct hev *o;

					if (h->prev == 0)
						fatalx("import_etcd: revision %lld rewrites a key "
						    "never written", (long long)rev);
					o = &hist.ev[h->prev - 1];
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
		if (res.revision != rev)
			fatalx("import_etcd: revision %lld replayed as %lld", (long long)rev,
			    (long long)res.revision);
		if (watched)
			watch_wait(res.revision);
		if (p) {
			p->txns++;
			p->cmps += nc;
			p->ops += no;
			p->bytes += bytes;
		}
		i = j;
	}
	if (p) {
		p->secs += (clock_mono_ns() - t0) / 1e9;
		p->cpu_ns += bench_self_cpu_ns() - cpu0;
		p->members_ns += ec_members_cpu_ns(c) - m0;
	}
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

/* `vpcfwdctl -s sock import --batch B csv` into controller pid (on cluster c, or NULL). */
static void
import_file(const char *sock, const char *csv, pid_t pid, const struct ec *c,
    struct path *p)
{
	char log[256], b[24], *args[8];
	uint64_t t0, cpu0 = ec_cpu_ns(pid), m0 = c ? ec_members_cpu_ns(c) : 0;
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
	p->secs += (clock_mono_ns() - t0) / 1e9;
	p->cpu_ns += ec_cpu_ns(pid) - cpu0;
	if (c)
		p->members_ns += ec_members_cpu_ns(c) - m0;
}

/* Slice k of the VMs, a CSV file of its own: DIR/vms<k>.csv. */
static const char *
write_slice(uint64_t k)
{
	static char path[256];
	uint64_t from = n * k / slices, to = n * (k + 1) / slices;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vms%llu.csv", cluster_dir(), (unsigned long long)k);
	if ((f = fopen(path, "w")) == NULL)
		fatal("import_etcd: %s", path);
	fprintf(f, "name,vpc,ip,host\n");
	for (uint64_t i = from; i < to; i++)
		fprintf(f, "vm%07llu,big,10.%llu.%llu.%llu,h%llu\n", (unsigned long long)i,
		    (unsigned long long)((i + 1) >> 16 & 255),
		    (unsigned long long)((i + 1) >> 8 & 255), (unsigned long long)((i + 1) & 255),
		    (unsigned long long)(i % 4));
	if (fclose(f) != 0)
		fatal("import_etcd: %s", path);
	return path;
}

static int64_t
revision_of(const struct ec *c)
{
	struct etcd *e = ec_handle(c, 5000, 0);
	struct etcd_status st;

	if (etcd_status(e, &st) < 0)
		fatalx("import_etcd: etcd status: %s", etcd_error(e));
	etcd_close(e);
	return st.revision;
}

static void
start_cluster(struct ec *c)
{
	ec_start(c);
	ec_order(c, ec_leader(c));
}

int
main(int argc, char **argv)
{
	char sock[256], parts[768];
	struct path pc = { 0 }, pb = { 0 }, pw = { 0 }, pl = { 0 };
	struct etcd *eb, *ew;
	struct apiclient c;
	double rate_lmdb, rate_etcd, rate_bare, rate_watched;
	int64_t rev0, rev_done;
	size_t done = 0;	/* events of hist the replays have replayed */
	pid_t ctl, lctl;
	json_t *res;
	int ch;

	log_init("bench-import_etcd", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:b:s:")) != -1) {
		if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'b')
			batch = strtoull(optarg, NULL, 10);
		else if (ch == 's')
			slices = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: import_etcd [-n VMS] [-b BATCH] [-s SLICES]");
	}
	if (n < 1 || n > (1u << 24) - 2 || batch < 1 || batch > 100000 || slices < 1 ||
	    slices > n)
		fatalx("import_etcd: -n must be 1..%u (VMs in 10.0.0.0/8), -b 1..100000, -s "
		    "1..n", (1u << 24) - 2);
	cluster_init("import_etcd");

	/* LMDB, the default store. */
	cluster_controller();
	lctl = the_cluster.procs[the_cluster.nprocs - 1];
	cluster_api_connect(&c);
	setup(&c);
	apiclient_close(&c);
	/* etcd: the controller's cluster and the replays'. */
	start_cluster(&ca);
	start_cluster(&cb);
	start_cluster(&cw);
	ec_controller(&ca, "ectl", &ctl);
	ec_api_connect(&c, "ectl", 0);
	setup(&c);
	apiclient_close(&c);
	snprintf(sock, sizeof(sock), "%s/ectl.sock", cluster_dir());
	/* The set-up, replayed untimed; the watched replay's watch from after it. */
	rev0 = revision_of(&ca);
	hist_read(1, rev0);
	eb = ec_handle(&cb, 10000, 0);
	ew = ec_handle(&cw, 10000, 0);
	replay(eb, &cb, 0, hist.n, false, NULL);
	replay(ew, &cw, 0, hist.n, false, NULL);
	done = hist.n;
	rev_done = rev0;
	memset(&w, 0, sizeof(w));
	w.e = ec_handle(&cw, 10000, 0);
	w.from = rev0 + 1;
	if (pthread_create(&w.th, NULL, watch_main, NULL) != 0)
		fatalx("import_etcd: pthread_create");

	/*
	 * Round k: slice k into both controllers, slice k - 1 replayed by both replays,
	 * in an order that turns each round.
	 */
	for (uint64_t k = 0; k <= slices; k++) {
		const char *csv = k < slices ? write_slice(k) : NULL;
		size_t upto = hist.n;

		for (int step = 0; step < 4; step++) {
			switch ((step + k) % 4) {
			case 0:
				if (csv)
					import_file(sock, csv, ctl, &ca, &pc);
				break;
			case 1:
				if (csv)
					import_file(the_cluster.api_sock, csv, lctl, NULL, &pl);
				break;
			case 2:
				replay(eb, &cb, done, upto, false, &pb);
				break;
			case 3:
				replay(ew, &cw, done, upto, true, &pw);
				break;
			}
		}
		done = upto;
		if (csv) {
			int64_t rev = revision_of(&ca);

			/* What the controller committed this round, for the next. */
			hist_read(rev_done + 1, rev);
			rev_done = rev;
		}
	}
	atomic_store(&w.stop, 1);
	pthread_join(w.th, NULL);
	etcd_close(w.e);
	etcd_close(eb);
	etcd_close(ew);
	if (pb.txns != pw.txns || pb.txns == 0)
		fatalx("import_etcd: the replays replayed %llu and %llu txns",
		    (unsigned long long)pb.txns, (unsigned long long)pw.txns);

	rate_lmdb = n / pl.secs;
	rate_etcd = n / pc.secs;
	rate_bare = n / pb.secs;
	rate_watched = n / pw.secs;
	printf("import_etcd: %llu VMs into one VPC with vpcfwdctl import --batch %llu, 3 etcd "
	    "members on loopback, in %llu slices taking turns\n", (unsigned long long)n,
	    (unsigned long long)batch, (unsigned long long)slices);
	printf("  %llu import txns: %.0f compares, %.0f operations, %.0f bytes of keys and "
	    "values each on average\n", (unsigned long long)pb.txns,
	    (double)pb.cmps / pb.txns, (double)pb.ops / pb.txns, (double)pb.bytes / pb.txns);
	printf("%-34s %10s %12s %12s\n", "", "VMs/s", "ratio", "CPU us/VM");
	printf("%-34s %10.0f %11.2fx %12.1f   (controller %.1f, members %.1f)\n",
	    "controller on etcd", rate_etcd, rate_etcd / rate_bare,
	    (pc.cpu_ns + pc.members_ns) / 1e3 / n, pc.cpu_ns / 1e3 / n, pc.members_ns / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (client %.1f, members %.1f)\n",
	    "baseline: the same txns, bare", rate_bare, 1.0,
	    (pb.cpu_ns + pb.members_ns) / 1e3 / n, pb.cpu_ns / 1e3 / n, pb.members_ns / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (client %.1f, members %.1f)\n",
	    "the same txns, watched", rate_watched, rate_watched / rate_bare,
	    (pw.cpu_ns + pw.members_ns) / 1e3 / n, pw.cpu_ns / 1e3 / n, pw.members_ns / 1e3 / n);
	printf("%-34s %10.0f %11.2fx %12.1f   (controller)\n", "controller on LMDB", rate_lmdb,
	    rate_lmdb / rate_bare, pl.cpu_ns / 1e3 / n);
	printf("goal: etcd import >= 0.8x bare etcd: %s\n",
	    rate_etcd >= 0.8 * rate_bare ? "met" : "NOT met");

	res = bench_results();
	snprintf(parts, sizeof(parts), "%llu VMs, vpcfwdctl import --batch %llu: %llu txns of "
	    "%.0f compares, %.0f operations, %.0f bytes; 3 etcd members on loopback, the "
	    "leader first; %llu slices taking turns", (unsigned long long)n,
	    (unsigned long long)batch, (unsigned long long)pb.txns, (double)pb.cmps / pb.txns,
	    (double)pb.ops / pb.txns, (double)pb.bytes / pb.txns,
	    (unsigned long long)slices);
	bench_row(res, "import_etcd", "", rate_etcd, "VMs/s", "bare etcd: the controller's txns "
	    "replayed through common/etcd.c on a cluster of their own", rate_bare, parts,
	    rate_etcd >= 0.8 * rate_bare ? NULL : "goal >= 0.8 not met");
	bench_row(res, "import_etcd_vs_watched", "", rate_etcd, "VMs/s", "the same bare txns "
	    "with a watch of the log key, each waited for on it (the view's part)", rate_watched,
	    parts, NULL);
	bench_row(res, "import_etcd_watched_vs_bare", "", rate_watched, "VMs/s", "the same "
	    "bare txns without the watch", rate_bare, parts, NULL);
	bench_row(res, "import_etcd_vs_lmdb", "", rate_etcd, "VMs/s", "the same import into a "
	    "controller on LMDB", rate_lmdb, parts, NULL);
	snprintf(parts, sizeof(parts), "controller %.1f + members %.1f us/VM; bare: client %.1f "
	    "+ members %.1f; watched: client %.1f + members %.1f; LMDB controller %.1f",
	    pc.cpu_ns / 1e3 / n, pc.members_ns / 1e3 / n, pb.cpu_ns / 1e3 / n,
	    pb.members_ns / 1e3 / n, pw.cpu_ns / 1e3 / n, pw.members_ns / 1e3 / n,
	    pl.cpu_ns / 1e3 / n);
	bench_row(res, "import_etcd_cpu_us_per_vm", "", (pc.cpu_ns + pc.members_ns) / 1e3 / n,
	    "us", "bare etcd: client + members", (pb.cpu_ns + pb.members_ns) / 1e3 / n, parts,
	    NULL);
	free(hist.ev);
	free(hist.arena);
	free(hist.slot);
	cluster_end();
	ec_stop_all();
	return bench_write(res, "import_etcd") < 0;
}
