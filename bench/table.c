/*
 * bench/table: lookups a second by a reader process on the shared rule table, while a
 * writer process applies 100k updates a second to it, on 1 M and 10 M rules. Measured
 * in the same run, on the same keys and lookup sequence, pinned to the same CPU:
 *
 *	naive		an in-process open-addressing table (linear probing, load <= 0.75,
 *			rule inline), no writer: the ceiling of one-miss lookups
 *	naive_batch	the same table given every advantage: NAIVE_BATCH keys at a time,
 *			every key's slot prefetched (both its cache lines) before the first
 *			is probed, so that the batch's misses overlap as ours do
 *	ck_ht		Concurrency Kit's ck_ht (direct mode, value behind a pointer)
 *	table_batch	table_lookup_batch(), 32 keys a call (the data path)
 *	table_single	table_lookup(), one key a call
 *
 * each on two workloads: hits (keys in the table) and misses (keys of the same VNIs,
 * at addresses no rule has: what a host's forwarder looks up for a destination it has
 * not learned); and the segment's bytes per rule for a gateway table of 10 M rules and
 * a host cache of 500 k (goals: <= 128 B and <= 64 B). Each hit copies the whole rule
 * out.
 *
 * A host cache's data-path lookups also mark each rule found as in use (for eviction):
 * table_batch on a host cache of 1 M rules, against the same lookups by a second reader
 * of the same table that marks nothing (its use stamps taken away, white-box), in turns;
 * with keys drawn from all the rules (the worst case), from 16 k of them and from 1 k
 * (everything in cache: what is left is the extra line a lookup reads).
 *
 *	table [-b KEYS_PER_CALL] [-d SECONDS] [-r RUNS] [-w UPDATES_PER_S] [-n N[,N...]]
 */
#include "bench/bench.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/mix.h"
#include "shm/seg.h"
#include "shm/table.h"
#include "shm/table_layout.h"

#include <ck_ht.h>
#include <ck_pr.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOOKUPS		(1u << 22)	/* lookup sequence, cycled */
#define RUNS_MAX	9
#define VNIS		16
#define NAIVE_BATCH	16		/* keys naive_get_batch() prefetches at once */

struct naive_ent {
	uint32_t vni, ip, vtep;
	uint8_t mac[6];
	uint16_t used;
	uint64_t version;
};

struct naive {
	struct naive_ent *e;
	uint64_t mask;
};

struct val {
	uint32_t vtep;
	uint8_t mac[6];
	uint64_t version;
};

struct ctl {
	uint32_t stop;
	uint32_t ready;
	uint64_t updates;
	uint64_t ns;
};

static double opt_secs = 1.5;
static int opt_runs = 3;
static uint64_t opt_rate = 100000;
static uint32_t opt_batch = 32;	/* keys a table_lookup_batch() call */
static struct table_key *seq[2];	/* the lookup sequences: hits, misses */
static volatile uint64_t sink;

static struct table_key
key_of(uint64_t k)
{
	return (struct table_key){ .vni = 1 + k % VNIS, .ip = 0x0a000000u + (uint32_t)(k / VNIS) };
}

static void
value_of(uint64_t k, uint64_t version, uint8_t mac[6], uint32_t *vtep)
{
	uint64_t x = mix64(k ^ version << 40);

	memcpy(mac, &x, 6);
	*vtep = (uint32_t)(x >> 32);
}

static void
naive_init(struct naive *n, uint64_t count)
{
	uint64_t size = 1;

	while (size * 3 < count * 4)
		size <<= 1;
	n->e = calloc(size, sizeof(*n->e));
	if (n->e == NULL)
		fatal("calloc naive");
	n->mask = size - 1;
}

static void
naive_put(struct naive *n, uint32_t vni, uint32_t ip, const uint8_t *mac, uint32_t vtep,
    uint64_t version)
{
	uint64_t i = table_hash(vni, ip) & n->mask;

	while (n->e[i].used && !(n->e[i].vni == vni && n->e[i].ip == ip))
		i = (i + 1) & n->mask;
	n->e[i] = (struct naive_ent){ .vni = vni, .ip = ip, .vtep = vtep, .used = 1,
	    .version = version };
	memcpy(n->e[i].mac, mac, 6);
}

/* Linear probing from slot i. */
static bool
naive_probe(const struct naive *n, uint64_t i, uint32_t vni, uint32_t ip,
    struct table_rule *out)
{
	for (; n->e[i].used; i = (i + 1) & n->mask) {
		const struct naive_ent *x = &n->e[i];

		if (x->vni == vni && x->ip == ip) {
			out->vni = vni;
			out->ip = ip;
			out->vtep = x->vtep;
			memcpy(out->mac, x->mac, 6);
			out->version = x->version;
			return true;
		}
	}
	return false;
}

static bool
naive_get(const struct naive *n, uint32_t vni, uint32_t ip, struct table_rule *out)
{
	return naive_probe(n, table_hash(vni, ip) & n->mask, vni, ip, out);
}

/*
 * cnt <= NAIVE_BATCH keys: every key's slot and the cache line after it (where a probe
 * goes on) requested first, then each probed, the batch's misses overlapping.
 */
static uint32_t
naive_get_batch(const struct naive *n, const struct table_key *k, uint32_t cnt,
    struct table_rule *out, bool *hit)
{
	uint64_t at[NAIVE_BATCH];
	uint32_t hits = 0;

	for (uint32_t j = 0; j < cnt; j++) {
		at[j] = table_hash(k[j].vni, k[j].ip) & n->mask;
		__builtin_prefetch(&n->e[at[j]]);
		__builtin_prefetch((const char *)&n->e[at[j]] + 64);
	}
	for (uint32_t j = 0; j < cnt; j++) {
		hit[j] = naive_probe(n, at[j], k[j].vni, k[j].ip, &out[j]);
		hits += hit[j];
	}
	return hits;
}

static void *
ht_malloc(size_t n)
{
	return malloc(n);
}

static void
ht_free(void *p, size_t n, bool defer)
{
	(void)n;
	(void)defer;
	free(p);
}

static void *
ht_realloc(void *p, size_t old, size_t n, bool defer)
{
	(void)old;
	(void)defer;
	return realloc(p, n);
}

static struct ck_malloc ht_alloc = { ht_malloc, ht_realloc, ht_free };

static bool
ht_get(ck_ht_t *ht, uint32_t vni, uint32_t ip, struct table_rule *out)
{
	uintptr_t key = (uintptr_t)vni << 32 | ip;
	ck_ht_entry_t e;
	ck_ht_hash_t h;
	const struct val *v;

	ck_ht_hash_direct(&h, ht, key);
	ck_ht_entry_key_set_direct(&e, key);
	if (!ck_ht_get_spmc(ht, h, &e))
		return false;
	v = (const struct val *)ck_ht_entry_value_direct(&e);
	out->vni = vni;
	out->ip = ip;
	out->vtep = v->vtep;
	memcpy(out->mac, v->mac, 6);
	out->version = v->version;
	return true;
}

enum kind { K_NAIVE, K_NAIVE_BATCH, K_CKHT, K_BATCH, K_SINGLE, K_COUNT };
static const char *const kind_name[K_COUNT] = { "naive", "naive_batch", "ck_ht",
	"table_batch", "table_single" };

enum work { W_HIT, W_MISS, W_COUNT };
static const char *const work_name[W_COUNT] = { "hits", "misses" };

struct subjects {
	struct naive naive;
	ck_ht_t ht;
	struct table *rd;
};

/* Lookups a second (millions) of one kind on one workload for opt_secs. */
static double
run(struct subjects *s, enum kind k, enum work w)
{
	const struct table_key *sq = seq[w];
	struct table_rule out[256];
	bool hit[256];
	uint64_t n = 0, sum = 0, t0 = clock_mono_ns(), dl = t0 + (uint64_t)(opt_secs * 1e9);
	uint64_t now;
	uint32_t i = 0;

	do {
		for (int rep = 0; rep < 256; rep++, i = (i + 32) & (LOOKUPS - 1)) {
			const struct table_key *kk = &sq[i];

			switch (k) {
			case K_BATCH:
				for (uint32_t j = 0; j < 32; j += opt_batch)
					sum += table_lookup_batch(s->rd, kk + j, opt_batch, out, hit);
				sum += out[0].vtep;
				break;
			case K_NAIVE_BATCH:
				for (uint32_t j = 0; j < 32; j += NAIVE_BATCH)
					sum += naive_get_batch(&s->naive, kk + j, NAIVE_BATCH, out,
					    hit);
				sum += out[0].vtep;
				break;
			default:
				for (int j = 0; j < 32; j++) {
					bool h = k == K_NAIVE ?
					    naive_get(&s->naive, kk[j].vni, kk[j].ip, &out[0]) :
					    k == K_CKHT ? ht_get(&s->ht, kk[j].vni, kk[j].ip, &out[0]) :
					    table_lookup(s->rd, kk[j].vni, kk[j].ip, &out[0]);

					sum += h + out[0].vtep;
				}
			}
		}
		n += 256 * 32;
		now = clock_mono_ns();
	} while (now < dl);
	sink += sum;
	return (double)n * 1e3 / (double)(now - t0);
}

/* The writer process: opt_rate updates a second until told to stop. */
static void
writer(struct table *t, struct ctl *ctl, uint64_t count, int cpu)
{
	uint64_t version = 2, t0, done = 0, r = 12345;

	bench_pin(cpu);
	ck_pr_store_32(&ctl->ready, 1);
	t0 = clock_mono_ns();
	while (!ck_pr_load_32(&ctl->stop)) {
		uint64_t due = (clock_mono_ns() - t0) * opt_rate / 1000000000u;

		while (done < due) {
			uint64_t k = (r = mix64(r)) % count;
			struct table_key key = key_of(k);
			struct table_rule rule = { .vni = key.vni, .ip = key.ip, .version = version };

			value_of(k, version, rule.mac, &rule.vtep);
			if (table_set(t, &rule) == TABLE_APPLIED)
				table_vni_advance(t, key.vni, 1, version);
			version++;
			if ((++done & 255) == 0)
				table_maintain(t);
		}
		usleep(500);
	}
	ctl->updates = done;
	ctl->ns = clock_mono_ns() - t0;
	_exit(0);
}

static int
bench_size(json_t *res, uint64_t count, int cpu_writer)
{
	struct subjects s = { 0 };
	struct table_params p;
	struct table *t;
	struct val *vals;
	struct ctl *ctl;
	double rates[W_COUNT][K_COUNT][RUNS_MAX], med[W_COUNT][K_COUNT];
	char node[32], seg[SEG_NAME_MAX], err[512], name[64], label[16], what[96];
	uint64_t t0;
	pid_t pid;
	int st;

	snprintf(node, sizeof(node), "bt%d", (int)getpid());
	snprintf(label, sizeof(label), "%lluM", (unsigned long long)(count / 1000000));
	table_params_default(&p, TABLE_GATEWAY);
	p.capacity = count;
	p.max_vnis = 64;
	p.max_readers = 8;
	if (table_create(&t, node, "writer", &p, err, sizeof(err)) < 0)
		fatalx("%s", err);
	snprintf(seg, sizeof(seg), "%s", table_seg(t)->name);
	naive_init(&s.naive, count);
	if (!ck_ht_init(&s.ht, CK_HT_MODE_DIRECT, NULL, &ht_alloc, count * 2, 42))
		fatalx("ck_ht_init");
	if ((vals = calloc(count, sizeof(*vals))) == NULL)
		fatal("calloc");
	t0 = clock_mono_ns();
	for (uint64_t k = 0; k < count; k++) {
		struct table_key key = key_of(k);
		struct table_rule r = { .vni = key.vni, .ip = key.ip, .version = 1 };
		uintptr_t hk = (uintptr_t)key.vni << 32 | key.ip;
		ck_ht_entry_t e;
		ck_ht_hash_t h;

		value_of(k, 1, r.mac, &r.vtep);
		if (table_set(t, &r) != TABLE_APPLIED)
			fatalx("table_set failed at %llu", (unsigned long long)k);
		naive_put(&s.naive, key.vni, key.ip, r.mac, r.vtep, 1);
		vals[k] = (struct val){ .vtep = r.vtep, .version = 1 };
		memcpy(vals[k].mac, r.mac, 6);
		ck_ht_hash_direct(&h, &s.ht, hk);
		ck_ht_entry_set_direct(&e, h, hk, (uintptr_t)&vals[k]);
		if (!ck_ht_put_spmc(&s.ht, h, &e))
			fatalx("ck_ht_put_spmc failed at %llu", (unsigned long long)k);
	}
	for (uint32_t v = 1; v <= VNIS; v++)
		table_vni_advance(t, v, 1, 1);
	printf("table %s: filled three tables in %.1f s\n", label,
	    (clock_mono_ns() - t0) / 1e9);
	/* Misses: keys count..2*count-1, the same VNIs at addresses above every rule's. */
	for (uint32_t i = 0; i < LOOKUPS; i++) {
		seq[W_HIT][i] = key_of(mix64(i * 7919ull) % count);
		seq[W_MISS][i] = key_of(count + mix64(i * 7919ull + 1) % count);
	}

	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (ctl == MAP_FAILED)
		fatal("mmap");
	memset(ctl, 0, sizeof(*ctl));
	fflush(NULL);
	if ((pid = fork()) == 0)
		writer(t, ctl, count, cpu_writer);
	while (!ck_pr_load_32(&ctl->ready))
		usleep(1000);
	if (table_attach(&s.rd, seg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	for (int run_i = 0; run_i < opt_runs; run_i++)
		for (int w = 0; w < W_COUNT; w++)
			for (int k = 0; k < K_COUNT; k++)
				rates[w][k][run_i] = run(&s, k, w);
	ck_pr_store_32(&ctl->stop, 1);
	waitpid(pid, &st, 0);
	for (int w = 0; w < W_COUNT; w++)
		for (int k = 0; k < K_COUNT; k++)
			med[w][k] = bench_median(rates[w][k], opt_runs);

	for (int w = 0; w < W_COUNT; w++) {
		printf("%-14s %12s   (%s rules, %s, writer %.0f updates/s, median of %d)\n",
		    "lookup", "M lookups/s", label, work_name[w], ctl->updates * 1e9 / ctl->ns,
		    opt_runs);
		for (int k = 0; k < K_COUNT; k++)
			printf("%-14s %12.2f   %.2fx naive  %.2fx naive_batch  %.2fx ck_ht\n",
			    kind_name[k], med[w][k], med[w][k] / med[w][K_NAIVE],
			    med[w][k] / med[w][K_NAIVE_BATCH], med[w][k] / med[w][K_CKHT]);
	}
	/* Hits keep the row names they had; misses add "_miss". */
	for (int w = 0; w < W_COUNT; w++) {
		const char *sfx = w == W_MISS ? "_miss" : "";

		for (int k = K_BATCH; k <= K_SINGLE; k++) {
			snprintf(name, sizeof(name), "%s%s_%s_vs_naive", kind_name[k], sfx, label);
			bench_add(res, name, med[w][k], "Mlookups/s",
			    "naive open addressing, no writer", med[w][K_NAIVE]);
			if (k == K_BATCH) {
				snprintf(name, sizeof(name), "%s%s_%s_vs_naive_batch", kind_name[k],
				    sfx, label);
				snprintf(what, sizeof(what), "naive open addressing, no writer, "
				    "%d keys a batch prefetched", NAIVE_BATCH);
				bench_add(res, name, med[w][k], "Mlookups/s", what,
				    med[w][K_NAIVE_BATCH]);
			}
			snprintf(name, sizeof(name), "%s%s_%s_vs_ck_ht", kind_name[k], sfx, label);
			bench_add(res, name, med[w][k], "Mlookups/s", "ck_ht", med[w][K_CKHT]);
		}
	}
	snprintf(name, sizeof(name), "writer_updates_%s", label);
	bench_add(res, name, ctl->updates * 1e9 / ctl->ns, "updates/s", "target",
	    (double)opt_rate);

	munmap(ctl, sizeof(*ctl));
	table_close(s.rd);
	table_close(t);
	seg_unlink_name(seg);
	free(s.naive.e);
	ck_ht_destroy(&s.ht);
	free(vals);
	return 0;
}

/*
 * Host cache lookups with use marks against the same without, on one table of count
 * rules and the same key sequence, taking turns so that load from elsewhere falls on
 * both.
 */
static void
bench_host(json_t *res, uint64_t count)
{
	static const struct {
		const char *name;
		uint64_t keys;
	} sets[] = { { "all", 0 }, { "16k", 16384 }, { "1k", 1024 } };
	struct subjects mark = { 0 }, plain = { 0 };
	struct table_params p;
	struct table *t;
	double rm[RUNS_MAX], rp[RUNS_MAX], mm, mp;
	char node[32], seg[SEG_NAME_MAX], err[512], name[64], label[16];

	snprintf(node, sizeof(node), "bh%d", (int)getpid());
	snprintf(label, sizeof(label), "%lluM", (unsigned long long)(count / 1000000));
	table_params_default(&p, TABLE_HOST);
	p.capacity = count;
	p.max_vnis = 64;
	p.max_readers = 8;
	if (table_create(&t, node, "writer", &p, err, sizeof(err)) < 0)
		fatalx("%s", err);
	snprintf(seg, sizeof(seg), "%s", table_seg(t)->name);
	for (uint64_t k = 0; k < count; k++) {
		struct table_key key = key_of(k);
		struct table_rule r = { .vni = key.vni, .ip = key.ip, .version = 1 };

		value_of(k, 1, r.mac, &r.vtep);
		if (table_set(t, &r) != TABLE_APPLIED)
			fatalx("table_set failed at %llu", (unsigned long long)k);
	}
	if (table_attach(&mark.rd, seg, err, sizeof(err)) < 0 ||
	    table_attach(&plain.rd, seg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	plain.rd->uses = NULL;	/* a reader that records no use: the baseline */
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		uint64_t n = sets[s].keys ? sets[s].keys : count;

		/* n keys spread over the table (the whole of it for "all"). */
		for (uint32_t i = 0; i < LOOKUPS; i++)
			seq[W_HIT][i] = key_of(mix64(i * 7919ull) % n * (count / n));
		for (int i = 0; i < opt_runs; i++) {
			rm[i] = run(&mark, K_BATCH, W_HIT);
			rp[i] = run(&plain, K_BATCH, W_HIT);
		}
		mm = bench_median(rm, opt_runs);
		mp = bench_median(rp, opt_runs);
		printf("host cache %s, keys from %s: table_batch %.2f M lookups/s marking use, "
		    "%.2f without (%.3fx, median of %d)\n", label, sets[s].name, mm, mp,
		    mm / mp, opt_runs);
		snprintf(name, sizeof(name), "table_batch_host_%s_keys_%s_use_marks", label,
		    sets[s].name);
		bench_add(res, name, mm, "Mlookups/s", "same lookups, no use marks", mp);
	}
	table_close(plain.rd);
	table_close(mark.rd);
	table_close(t);
	seg_unlink_name(seg);
}

static double
per_rule(uint32_t mode, uint32_t capacity)
{
	struct table_params p;

	table_params_default(&p, mode);
	p.capacity = capacity;
	return (double)table_size(&p) / capacity;
}

/*
 * The goals are at 10 M gateway rules and a host cache; a host cache is shown at other
 * sizes too: below about 250 k rules its fixed part (4096 VNI states, 1 MiB) shows.
 */
static void
bytes_per_rule(json_t *res)
{
	double gw = per_rule(TABLE_GATEWAY, 10000000), host = per_rule(TABLE_HOST, 500000);
	double host1 = per_rule(TABLE_HOST, 1000000), host10 = per_rule(TABLE_HOST, 10000000);

	printf("bytes per rule: gateway 10M %.1f (goal <= 128), host 500k %.1f (goal <= 64); "
	    "host 1M %.1f, 10M %.1f\n", gw, host, host1, host10);
	bench_add(res, "bytes_per_rule_gateway_10M", gw, "B", "goal", 128);
	bench_add(res, "bytes_per_rule_host_500k", host, "B", "goal", 64);
	bench_add(res, "bytes_per_rule_host_1M", host1, "B", "goal", 64);
	bench_add(res, "bytes_per_rule_host_10M", host10, "B", "goal", 64);
}

int
main(int argc, char **argv)
{
	uint64_t sizes[4] = { 1000000, 10000000 };
	int nsizes = 2, ch;
	json_t *res = bench_results();
	char *s;

	log_init("bench-table", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "b:d:r:w:n:")) != -1) {
		switch (ch) {
		case 'b': opt_batch = strtoul(optarg, NULL, 10); break;
		case 'd': opt_secs = strtod(optarg, NULL); break;
		case 'r': opt_runs = atoi(optarg); break;
		case 'w': opt_rate = strtoull(optarg, NULL, 10); break;
		case 'n':
			nsizes = 0;
			for (s = strtok(optarg, ","); s && nsizes < 4; s = strtok(NULL, ","))
				sizes[nsizes++] = strtoull(s, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: table [-b 1..32] [-d SECONDS] [-r RUNS] [-w UPDATES_PER_S] "
			    "[-n N[,N...]]\n");
			return 2;
		}
	}
	if (opt_runs < 1 || opt_runs > RUNS_MAX || nsizes == 0 || opt_batch < 1 ||
	    opt_batch > 32 || 32 % opt_batch)
		fatalx("bad arguments");
	for (int w = 0; w < W_COUNT; w++)
		if ((seq[w] = malloc(LOOKUPS * sizeof(*seq[w]))) == NULL)
			fatal("malloc");
	bench_pin(0);
	bytes_per_rule(res);
	for (int i = 0; i < nsizes; i++)
		bench_size(res, sizes[i], 1);
	bench_host(res, 1000000);
	return bench_write(res, "table") < 0;
}
