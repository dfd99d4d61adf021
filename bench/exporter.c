/*
 * bench/exporter: what a Prometheus scrape of vpcfwd-exporter costs, to the data plane
 * and to the machine (issue 15: "a scrape costs nothing to the data plane").
 *
 * The data plane's side: a writer process on CPU 0 does what a forwarder does per
 * packet to its stats segment, relaxed stores to HOT counters on HOT different cache
 * lines, as fast as it can; its rate is the figure. A scrape reads those lines, so the
 * writer's next store to each misses once: the rate with the real exporter (on CPU 1)
 * scraped over HTTP at 10/s, at 100/s and back to back, against the same writer not
 * scraped (the baseline), the modes taking turns round after round so that drift on a
 * shared machine falls on all of them alike.
 *
 * The exporter's side: a page's time (GET to the last byte, at 10/s) and the exporter's
 * CPU a page (back to back, every thread of it), against reading the same segments
 * alone in this process (stats_scan, no formatting, no HTTP): what the page adds.
 *
 * The page: NSEG segments of NCTR counters (about a forwarder's), the writer's included,
 * plus whatever else runs on the machine.
 *
 *	exporter [-n ROUNDS] [-t MS]
 */
#include "bench/bench.h"
#include "common/clock.h"
#include "common/log.h"
#include "shm/seg.h"
#include "shm/stats.h"
#include "shm/stats_read.h"

#include <curl/curl.h>
#include <dirent.h>

#define NSEG		24	/* a gateway's and a few hosts' processes */
#define NCTR		96	/* counters a segment, about the forwarder's */
#define HOT		8	/* counters a "packet" bumps, one a cache line */
#define ROUNDS_DEF	5
#define ROUND_MS_DEF	2000
#define SCRAPES_MAX	100000

enum { M_NONE, M_10, M_100, M_FLAT, M_N };
static const char *const m_name[M_N] = { "none", "10hz", "100hz", "flat_out" };
static const int m_hz[M_N] = { 0, 10, 100, -1 };

static char node[SEG_PART_MAX + 1];
static struct stats_def defs[NCTR];
static char names[NCTR][16];

/* ns all threads of pid have run (/proc/PID/task/N/schedstat); 0 when it is gone. */
static uint64_t
proc_cpu_ns(pid_t pid)
{
	char dir[64];
	struct dirent *d;
	uint64_t sum = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL)
		if (d->d_name[0] != '.')
			sum += bench_schedstat((pid_t)atoi(d->d_name), 0);
	closedir(dp);
	return sum;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
defs_init(void)
{
	for (int i = 0; i < NCTR; i++) {
		snprintf(names[i], sizeof(names[i]), "c%02d", i);
		defs[i] = (struct stats_def){ names[i], i % 4 ? STATS_COUNTER : STATS_GAUGE,
		    "a counter of the benchmark" };
	}
}

/* The writer: forever, a "packet" at a time; killed by the parent. */
static void __attribute__((noreturn))
writer(int ready_fd)
{
	struct stats st;
	uint64_t *v;

	bench_pin(0);
	if ((v = stats_create(&st, node, "hot", defs, NCTR)) == NULL)
		fatalx("writer: %s", st.seg.err);
	(void)!write(ready_fd, "x", 1);
	for (;;)
		for (int k = 0; k < HOT; k++)
			__atomic_store_n(&v[k * 8], v[k * 8] + 1, __ATOMIC_RELAXED);
}

static size_t
discard(void *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += size * n;
	return size * n;
}

/* GET the page; its bytes, or 0 when it failed. */
static size_t
scrape(CURL *c)
{
	size_t got = 0;
	long code = 0;

	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	if (curl_easy_perform(c) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
		return 0;
	return got;
}

struct round {
	double ops_s;		/* the writer's packets a second */
	uint64_t pages;
	uint64_t exp_cpu_ns;	/* the exporter's, over the round */
	size_t bytes;		/* of the last page */
};

/* One round of mode m: the writer's rate while the page is taken at m's rate. */
static void
round_run(int m, uint64_t ms, const struct stats *hot, CURL *c, pid_t exp, struct round *r,
    uint64_t *lat, size_t *nlat)
{
	uint64_t t0, end, next, cpu0, v0, period;

	memset(r, 0, sizeof(*r));
	period = m_hz[m] > 0 ? 1000000000ull / (uint64_t)m_hz[m] : 0;
	cpu0 = proc_cpu_ns(exp);
	v0 = stats_value(hot, 0);
	t0 = clock_mono_ns();
	end = t0 + ms * 1000000ull;
	next = t0;
	while (clock_mono_ns() < end) {
		uint64_t s;

		if (m_hz[m] == 0) {
			sleep_ns(end - clock_mono_ns());
			break;
		}
		if (period) {
			uint64_t now = clock_mono_ns();

			if (next > now)
				sleep_ns(next - now);
			next += period;
			if (next >= end)
				next = end;
		}
		s = clock_mono_ns();
		if ((r->bytes = scrape(c)) == 0)
			fatalx("a scrape of the exporter failed");
		if (m == M_10 && *nlat < SCRAPES_MAX)
			lat[(*nlat)++] = clock_mono_ns() - s;
		r->pages++;
	}
	r->ops_s = (double)(stats_value(hot, 0) - v0) / ((double)(clock_mono_ns() - t0) / 1e9);
	r->exp_cpu_ns = proc_cpu_ns(exp) - cpu0;
}

/* The reading alone, in this process: ns a scan of every segment (median of n). */
static double
scan_ns(int n)
{
	double *v = calloc(n, sizeof(*v));
	double med;

	if (v == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		struct stats_scan sc;
		uint64_t t = bench_self_cpu_ns();

		if (stats_scan(&sc, NULL, NULL, NULL) < 0)
			fatalx("stats_scan failed");
		v[i] = (double)(bench_self_cpu_ns() - t);
		stats_scan_free(&sc);
	}
	med = bench_median(v, n);
	free(v);
	return med;
}

int
main(int argc, char **argv)
{
	struct stats cold[NSEG - 1], hot;
	struct round r[M_N];
	double ops[M_N][64], cpu_page[64], med[M_N], scan;
	uint64_t ms = ROUND_MS_DEF, *lat;
	size_t nlat = 0, bytes = 0;
	int rounds = ROUNDS_DEF, ch, pfd[2], nflat = 0;
	char url[64], port[16], seg[SEG_NAME_MAX], parts[256];
	pid_t w, exp;
	json_t *res;
	CURL *c;

	log_init("bench-exporter", LOG_LVL_INFO);
	while ((ch = getopt(argc, argv, "n:t:")) != -1) {
		if (ch == 'n')
			rounds = atoi(optarg);
		else if (ch == 't')
			ms = strtoull(optarg, NULL, 10);
		else
			fatalx("usage: exporter [-n ROUNDS] [-t MS]");
	}
	if (rounds < 1 || rounds > 64 || ms < 100 || ms > 60000)
		fatalx("usage: exporter [-n ROUNDS 1..64] [-t MS 100..60000]");
	if ((lat = calloc(SCRAPES_MAX, sizeof(*lat))) == NULL)
		fatal("calloc");
	snprintf(node, sizeof(node), "bx%d", (int)getpid());
	defs_init();
	for (int i = 0; i < NSEG - 1; i++) {
		char proc[16];

		snprintf(proc, sizeof(proc), "p%02d", i);
		if (stats_create(&cold[i], node, proc, defs, NCTR) == NULL)
			fatalx("%s", cold[i].seg.err);
	}
	if (pipe(pfd) == -1)
		fatal("pipe");
	if ((w = fork()) == 0)
		writer(pfd[1]);
	if (read(pfd[0], &ch, 1) != 1)
		fatalx("the writer did not start");
	seg_name(seg, sizeof(seg), node, "hot", "stats");
	if (stats_attach(&hot, seg) < 0)
		fatalx("%s", hot.seg.err);

	snprintf(port, sizeof(port), "%d", 20000 + (int)getpid() % 20000);
	snprintf(url, sizeof(url), "127.0.0.1:%s", port);
	if ((exp = fork()) == 0) {
		char bin[256];

		bench_pin(1);
		snprintf(bin, sizeof(bin), "%s/bin/vpcfwd-exporter",
		    getenv("BUILD") ? getenv("BUILD") : "build");
		execl(bin, bin, "-l", url, "--log-level", "error", (char *)NULL);
		_exit(127);
	}
	bench_pin(1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/metrics", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	for (int i = 0; scrape(c) == 0; i++) {
		if (i == 100)
			fatalx("the exporter does not answer on %s", url);
		sleep_ns(50000000);
	}

	printf("exporter: %d rounds of %llu ms a mode; writer on CPU 0, exporter and scraper "
	    "on CPU 1\n", rounds, (unsigned long long)ms);
	for (int k = 0; k < rounds; k++)
		for (int i = 0; i < M_N; i++) {
			int m = (i + k) % M_N;	/* each mode in each place in turn */

			round_run(m, ms, &hot, c, exp, &r[m], lat, &nlat);
			ops[m][k] = r[m].ops_s;
			if (m == M_FLAT && r[m].pages) {
				cpu_page[nflat++] = (double)r[m].exp_cpu_ns / (double)r[m].pages;
				bytes = r[m].bytes;
			}
		}
	scan = scan_ns(200);

	res = bench_results();
	for (int m = 0; m < M_N; m++)
		med[m] = bench_median(ops[m], rounds);
	snprintf(parts, sizeof(parts), "the real vpcfwd-exporter over HTTP (libcurl), a page "
	    "of %zu bytes from %d+ segments of %d counters; writer pinned to CPU 0", bytes,
	    NSEG, NCTR);
	for (int m = M_10; m < M_N; m++) {
		char name[64];

		snprintf(name, sizeof(name), "exporter_writer_scraped_%s", m_name[m]);
		bench_row(res, name, "_ops", med[m], "ops/s", "the same writer, not scraped",
		    med[M_NONE], parts, NULL);
		printf("  spread over %d rounds: %.0f..%.0f (baseline %.0f..%.0f)\n", rounds,
		    ops[m][0], ops[m][rounds - 1], ops[M_NONE][0], ops[M_NONE][rounds - 1]);
	}
	bench_row(res, "exporter_page", "_p50_ms", bench_pct_ms(lat, nlat, 0.5), "ms",
	    "reading the same segments alone in-process (stats_scan, CPU ms)", scan / 1e6,
	    parts, NULL);
	bench_row(res, "exporter_page", "_p99_ms", bench_pct_ms(lat, nlat, 0.99), "ms",
	    "reading the same segments alone in-process (stats_scan, CPU ms)", scan / 1e6,
	    parts, NULL);
	bench_row(res, "exporter_cpu_per_page", "_us", bench_median(cpu_page, nflat) / 1e3,
	    "us", "reading the same segments alone in-process (stats_scan)", scan / 1e3, parts,
	    NULL);
	printf("  pages back to back: %.0f/s\n", (double)r[M_FLAT].pages / ((double)ms / 1e3));

	curl_easy_cleanup(c);
	curl_global_cleanup();
	kill(exp, SIGTERM);
	kill(w, SIGKILL);
	waitpid(exp, NULL, 0);
	waitpid(w, NULL, 0);
	stats_close(&hot);
	seg_unlink_name(seg);
	for (int i = 0; i < NSEG - 1; i++) {
		char proc[16];

		snprintf(proc, sizeof(proc), "p%02d", i);
		stats_close(&cold[i]);
		seg_name(seg, sizeof(seg), node, proc, "stats");
		seg_unlink_name(seg);
	}
	free(lat);
	return bench_write(res, "exporter") < 0;
}
