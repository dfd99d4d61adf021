/*
 * bench/ring: 16-byte records a second through one ring from a producer process to a
 * consumer process, each pinned to its own CPU and busy-polling, the consumer checking
 * every sequence number. Measured:
 *
 *	ring_batch32	our ring, ring_push / ring_pop of 32 records a call
 *	ring_batch1	our ring, one record a call
 *	baseline	Concurrency Kit's per-record SPSC API (CK_RING_PROTOTYPE) on a
 *			ck_ring in a MAP_SHARED anonymous mapping, same capacity
 *
 * Each is run -r times (median reported, runs of the three interleaved) for -d seconds
 * or -n records. Prints a table and writes bench/results/ring.json (run from the
 * repository root, as bench/run does).
 *
 *	ring [-d SECONDS] [-n RECORDS] [-r RUNS] [-o FILE]
 */
#include "bench/bench.h"
#include "common/clock.h"
#include "shm/ring.h"

#include <ck_pr.h>
#include <ck_ring.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_CAP	4096		/* slots, both rings */
#define BENCH_TAG	0x42524e47u	/* "BRNG" */
#define BENCH_GOAL	50.0		/* M records/s, ring_batch32 (the project's goal) */
#define BENCH_RUNS_MAX	15
#define CHECK_EVERY	1024		/* producer: pushes between looks at the clock */

struct rec {
	uint64_t seq;
	uint64_t val;
};
_Static_assert(sizeof(struct rec) == 16, "16-byte records");

CK_RING_PROTOTYPE(rec, rec)

enum variant { V_BATCH32, V_BATCH1, V_BATCH1_FENCE, V_CK, V_COUNT };

/* RING_F_ASYM for the data-path variants; one without, for what a fence a push costs. */
static const struct {
	const char *name;
	uint32_t batch;
	uint32_t flags;
} variants[V_COUNT] = {
	[V_BATCH32] = { "ring_batch32", 32, RING_F_ASYM },
	[V_BATCH1] = { "ring_batch1", 1, RING_F_ASYM },
	[V_BATCH1_FENCE] = { "ring_batch1_fence", 1, 0 },
	[V_CK] = { "ck_ring_spsc_per_record", 1, 0 },
};

/* Shared by the parent and both children (MAP_SHARED | MAP_ANONYMOUS). */
struct ctl {
	uint32_t ready;		/* children that are set up */
	uint32_t go;		/* parent: start */
	uint64_t start_ns;	/* producer: when it started pushing */
	uint64_t total;		/* producer: records pushed, UINT64_MAX until done */
	uint64_t end_ns;	/* consumer: when the last record came out */
	uint64_t received;	/* consumer */
	uint64_t bad;		/* consumer: records out of sequence */
	uint64_t first_bad;	/* consumer: expected seq of the first bad one */
};

/* The baseline's ring and slots, cache aligned, in one shared mapping. */
struct ck_area {
	ck_ring_t ring;
	uint8_t _pad[64 - sizeof(ck_ring_t) % 64];
	struct rec slots[BENCH_CAP];
};

static uint64_t opt_ns = 1000000000ull;
static uint64_t opt_records;
static int opt_runs = 3;
static const char *opt_out = "bench/results/ring.json";
static int cpus[2] = { -1, -1 };

/* The first two CPUs we may run on; none when there is only one. */
static void
pick_cpus(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n < 2) {
		cpus[0] = cpus[1] = -1;
		fprintf(stderr, "ring: fewer than 2 CPUs; producer and consumer are not pinned\n");
	}
}

static void
child_start(struct ctl *ctl, int cpu)
{
	bench_pin(cpu);
	ck_pr_inc_32(&ctl->ready);
	while (ck_pr_load_32(&ctl->go) == 0)
		ck_pr_stall();
	ck_pr_fence_acquire();
}

/* Producer: true when it is time to stop after seq records. */
static bool
producer_done(uint64_t seq, uint64_t deadline)
{
	if (opt_records)
		return seq >= opt_records;
	return clock_mono_ns() >= deadline;
}

static void
producer_finish(struct ctl *ctl, uint64_t seq)
{
	ck_pr_fence_release();	/* after the last push; pairs with consumer_total */
	ck_pr_store_64(&ctl->total, seq);
}

/* Consumer, ring empty: whether all the producer will ever push has come out. */
static bool
consumer_total(struct ctl *ctl, uint64_t expect)
{
	uint64_t total = ck_pr_load_64(&ctl->total);

	ck_pr_fence_acquire();
	return total != UINT64_MAX && expect >= total;
}

static void
consumer_check(struct ctl *ctl, const struct rec *r, uint32_t n, uint64_t *expect)
{
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].seq != *expect || r[i].val != ~*expect) {
			if (ctl->bad++ == 0)
				ctl->first_bad = *expect;
			*expect = r[i].seq;
		}
		(*expect)++;
	}
}

static void
consumer_finish(struct ctl *ctl, uint64_t expect)
{
	ctl->end_ns = clock_mono_ns();
	ctl->received = expect;
}

static int
ours_producer(struct ctl *ctl, struct ring *r, uint32_t batch)
{
	struct rec b[32];
	uint64_t seq = 0, deadline, iter = 0;

	child_start(ctl, cpus[0]);
	ctl->start_ns = clock_mono_ns();
	deadline = ctl->start_ns + opt_ns;
	do {
		uint32_t done = 0;

		for (uint32_t i = 0; i < batch; i++) {
			b[i].seq = seq + i;
			b[i].val = ~(seq + i);
		}
		while (done < batch)
			done += ring_push(r, b + done, batch - done);
		seq += batch;
	} while ((++iter % CHECK_EVERY) != 0 || !producer_done(seq, deadline));
	producer_finish(ctl, seq);
	return 0;
}

static int
ours_consumer(struct ctl *ctl, const char *name, uint32_t batch)
{
	struct rec b[32];
	struct ring r;
	uint64_t expect = 0;

	if (ring_attach(&r, name, sizeof(struct rec), BENCH_TAG) < 0) {
		fprintf(stderr, "ring: %s\n", r.seg.err);
		return 1;
	}
	child_start(ctl, cpus[1]);
	for (;;) {
		uint32_t n = ring_pop(&r, b, batch);

		if (n == 0) {
			if (consumer_total(ctl, expect))
				break;
			continue;
		}
		consumer_check(ctl, b, n, &expect);
	}
	consumer_finish(ctl, expect);
	ring_close(&r);
	return 0;
}

static int
ck_producer(struct ctl *ctl, struct ck_area *a)
{
	uint64_t seq = 0, deadline;
	struct rec x;

	child_start(ctl, cpus[0]);
	ctl->start_ns = clock_mono_ns();
	deadline = ctl->start_ns + opt_ns;
	do {
		x.seq = seq;
		x.val = ~seq;
		while (!ck_ring_enqueue_spsc_rec(&a->ring, a->slots, &x))
			;
		seq++;
	} while ((seq % CHECK_EVERY) != 0 || !producer_done(seq, deadline));
	producer_finish(ctl, seq);
	return 0;
}

static int
ck_consumer(struct ctl *ctl, struct ck_area *a)
{
	uint64_t expect = 0;
	struct rec x;

	child_start(ctl, cpus[1]);
	for (;;) {
		if (!ck_ring_dequeue_spsc_rec(&a->ring, a->slots, &x)) {
			if (consumer_total(ctl, expect))
				break;
			continue;
		}
		consumer_check(ctl, &x, 1, &expect);
	}
	consumer_finish(ctl, expect);
	return 0;
}

static void *
shared_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "ring: mmap %zu bytes: %s\n", len, strerror(errno));
		exit(1);
	}
	return p;
}

static int
reap(pid_t pid, const char *who)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, "ring: %s failed (status %#x)\n", who, st);
	return -1;
}

/* One run of variant v: M records/s, or a negative number when it failed. */
static double
run_once(enum variant v)
{
	struct ctl *ctl = shared_map(sizeof(*ctl));
	struct ck_area *area = NULL;
	struct ring r;
	char node[SEG_PART_MAX + 1], name[SEG_NAME_MAX];
	pid_t prod, cons;
	double rate = -1;
	int bad = 0;

	memset(ctl, 0, sizeof(*ctl));
	ctl->total = UINT64_MAX;
	if (v == V_CK) {
		area = shared_map(sizeof(*area));
		ck_ring_init(&area->ring, BENCH_CAP);
	} else {
		snprintf(node, sizeof(node), "bench%d", (int)getpid());
		if (ring_create(&r, node, "ring", variants[v].name + 5, sizeof(struct rec),
		    BENCH_TAG, BENCH_CAP, variants[v].flags) < 0) {
			fprintf(stderr, "ring: %s\n", r.seg.err);
			exit(1);
		}
		snprintf(name, sizeof(name), "%s", r.seg.name);
	}
	fflush(NULL);
	if ((prod = fork()) == 0)
		_exit(v == V_CK ? ck_producer(ctl, area) :
		    ours_producer(ctl, &r, variants[v].batch));
	if ((cons = fork()) == 0)
		_exit(v == V_CK ? ck_consumer(ctl, area) :
		    ours_consumer(ctl, name, variants[v].batch));
	if (prod == -1 || cons == -1) {
		fprintf(stderr, "ring: fork: %s\n", strerror(errno));
		exit(1);
	}
	for (int i = 0; ck_pr_load_32(&ctl->ready) < 2 && i < 10000; i++)
		usleep(1000);
	if (v != V_CK) {
		/* Both have it mapped: nothing is left in /dev/shm whatever happens next. */
		ring_close(&r);
		seg_unlink_name(name);
	}
	if (ck_pr_load_32(&ctl->ready) < 2) {
		fprintf(stderr, "ring: %s: children did not start\n", variants[v].name);
		kill(prod, SIGKILL);
		kill(cons, SIGKILL);
	}
	ck_pr_fence_release();
	ck_pr_store_32(&ctl->go, 1);
	bad |= reap(prod, "producer");
	bad |= reap(cons, "consumer");
	if (bad == 0 && ctl->bad != 0) {
		fprintf(stderr, "ring: %s: %llu records out of sequence, first at %llu\n",
		    variants[v].name, (unsigned long long)ctl->bad,
		    (unsigned long long)ctl->first_bad);
		bad = -1;
	}
	if (bad == 0 && ctl->received != ctl->total) {
		fprintf(stderr, "ring: %s: %llu records pushed, %llu received\n",
		    variants[v].name, (unsigned long long)ctl->total,
		    (unsigned long long)ctl->received);
		bad = -1;
	}
	if (bad == 0)
		rate = (double)ctl->total * 1e3 / (double)(ctl->end_ns - ctl->start_ns);
	munmap(ctl, sizeof(*ctl));
	if (area)
		munmap(area, sizeof(*area));
	return rate;
}

struct result {
	double median, min, max;
};

/* Runs of the variants interleave, so a burst of load elsewhere hits all of them. */
static int
measure(struct result *res)
{
	double rates[V_COUNT][BENCH_RUNS_MAX];

	for (int i = 0; i < opt_runs; i++)
		for (int v = 0; v < V_COUNT; v++)
			if ((rates[v][i] = run_once(v)) < 0)
				return -1;
	for (int v = 0; v < V_COUNT; v++) {
		double *r = rates[v];

		res[v].median = bench_median(r, opt_runs);	/* sorts r */
		res[v].min = r[0];
		res[v].max = r[opt_runs - 1];
	}
	return 0;
}

static int
write_json(const struct result *res)
{
	json_t *arr = bench_results();

	for (int v = 0; v < V_CK; v++)
		bench_add(arr, variants[v].name, res[v].median, "Mrecords/s", variants[V_CK].name,
		    res[V_CK].median);
	return bench_write_to(arr, "ring", opt_out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ring [-d SECONDS] [-n RECORDS] [-r RUNS] [-o FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct result res[V_COUNT];
	int ch;

	while ((ch = getopt(argc, argv, "d:n:r:o:")) != -1) {
		switch (ch) {
		case 'd':
			opt_ns = (uint64_t)(strtod(optarg, NULL) * 1e9);
			break;
		case 'n':
			opt_records = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			opt_runs = atoi(optarg);
			break;
		case 'o':
			opt_out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt_runs < 1 || opt_runs > BENCH_RUNS_MAX || opt_ns == 0)
		usage();
	pick_cpus();

	if (measure(res) < 0)
		return 1;

	printf("ring: 16-byte records between two processes (producer cpu %d, consumer cpu "
	    "%d),\n      median of %d runs of ", cpus[0], cpus[1], opt_runs);
	if (opt_records)
		printf("%llu records\n", (unsigned long long)opt_records);
	else
		printf("%.1f s\n", opt_ns / 1e9);
	printf("%-26s %10s %10s %10s %8s\n", "name", "Mrec/s", "min", "max", "ratio");
	for (int v = 0; v < V_COUNT; v++)
		printf("%-26s %10.1f %10.1f %10.1f %7.2fx\n", variants[v].name, res[v].median,
		    res[v].min, res[v].max, res[v].median / res[V_CK].median);
	printf("baseline: %s; goal: ring_batch32 >= %.0f M records/s: %s\n",
	    variants[V_CK].name, BENCH_GOAL, res[V_BATCH32].median >= BENCH_GOAL ? "met" :
	    "NOT met");
	if (write_json(res) < 0)
		return 1;
	return 0;
}
