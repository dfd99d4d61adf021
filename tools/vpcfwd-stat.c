/*
 * vpcfwd-stat: the operator's view of every process's counters. shm/stats_read.h finds
 * the stats segments in /dev/shm (vpcfwd.<node>.<proc>.stats) and copies each out
 * read-only; this prints them once as text, once as JSON (--json) or refreshed like top
 * (-w). Nothing here writes to a segment or takes an owner lock, so it cannot disturb the
 * processes it watches; a segment whose owner lock nobody holds belongs to a dead process
 * and is shown as STALE. See docs/stat.md.
 */
#include "common/clock.h"
#include "common/json.h"
#include "common/version.h"
#include "shm/seg.h"
#include "shm/stats_read.h"

#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STAT_WATCH_MAX	86400.0		/* -w: at most a day between refreshes */

struct stat_opts {
	bool json;
	double watch_s;		/* 0: print once */
	long rounds;		/* -n: 0 means until SIGINT */
	const char *node;	/* -N */
	char **pats;		/* positional arguments */
	int npats;
};

static const char *progname = "vpcfwd-stat";

static void
usage(FILE *f, bool full)
{
	fprintf(f, "usage: %s [--json] [-w seconds [-n count]] [-N node] [pattern ...]\n"
	    "       %s --version\n", progname, progname);
	if (!full)
		return;
	fprintf(f, "  --json, -j    print one JSON document\n"
	    "  -w seconds    refresh every so many seconds, with rates, until SIGINT\n"
	    "  -n count      with -w: stop after count refreshes\n"
	    "  -N node       only the segments of this node\n"
	    "  pattern       fnmatch(3) pattern on \"node.proc\" or \"proc\", e.g. 'gw1.*'\n"
	    "  -h, --help    this text\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(stderr, false);
	exit(2);
}

static bool
ent_match(const struct seg_ent *e, const struct stat_opts *o)
{
	char full[2 * SEG_PART_MAX + 2];

	if (o->node && strcmp(e->node, o->node) != 0)
		return false;
	if (o->npats == 0)
		return true;
	snprintf(full, sizeof(full), "%s.%s", e->node, e->proc);
	for (int i = 0; i < o->npats; i++)
		if (fnmatch(o->pats[i], full, 0) == 0 || fnmatch(o->pats[i], e->proc, 0) == 0)
			return true;
	return false;
}

/*
 * Rates from the previous round of the same segment: a counter's rate needs the same
 * counter (by position and name) seen before, and a value that did not go back (the
 * owner reset its counters). Gauges have no rate. Returns rate[i][k] for counter k of
 * s[i], NAN where there is none; free it with rates_free.
 */
static double **
rates(const struct stats_snap *s, size_t n, const struct stats_snap *prev, size_t nprev)
{
	double **rate = calloc(n ? n : 1, sizeof(*rate));

	if (rate == NULL)
		err(1, "calloc");
	for (size_t i = 0; i < n; i++) {
		const struct stats_snap *p = NULL;
		double dt;

		if ((rate[i] = malloc((s[i].count ? s[i].count : 1) * sizeof(**rate))) == NULL)
			err(1, "malloc");
		for (uint32_t k = 0; k < s[i].count; k++)
			rate[i][k] = NAN;
		for (size_t j = 0; j < nprev && p == NULL; j++)
			if (strcmp(prev[j].ent.name, s[i].ent.name) == 0)
				p = &prev[j];
		if (p == NULL || p->count != s[i].count || s[i].sampled_ns <= p->sampled_ns)
			continue;
		dt = (s[i].sampled_ns - p->sampled_ns) / 1e9;
		for (uint32_t k = 0; k < s[i].count; k++) {
			const struct stats_rctr *c = &s[i].ctr[k];
			const struct stats_rctr *pc = &p->ctr[k];

			if (c->kind != STATS_COUNTER || pc->kind != STATS_COUNTER ||
			    strcmp(c->name, pc->name) != 0 || c->value < pc->value)
				continue;
			rate[i][k] = (c->value - pc->value) / dt;
		}
	}
	return rate;
}

static void
rates_free(double **rate, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rate[i]);
	free(rate);
}

static const char *
kind_name(uint32_t kind)
{
	switch (kind) {
	case STATS_COUNTER:
		return "counter";
	case STATS_GAUGE:
		return "gauge";
	default:
		return "unknown";
	}
}

/* "42s", "3m07s", "5h03m07s", "2d05h03m". */
static const char *
fmt_dur(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000u;

	if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)s / 60,
		    (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum%02llus", (unsigned long long)s / 3600,
		    (unsigned long long)s / 60 % 60, (unsigned long long)s % 60);
	else
		snprintf(buf, len, "%llud%02lluh%02llum", (unsigned long long)s / 86400,
		    (unsigned long long)s / 3600 % 24, (unsigned long long)s / 60 % 60);
	return buf;
}

/* Heartbeat age: milliseconds while it is young, a duration once it is old. */
static const char *
fmt_age(char *buf, size_t len, uint64_t ns)
{
	if (ns < 10000000000ull)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
	else
		fmt_dur(buf, len, ns);
	return buf;
}

static int
width_u64(uint64_t v)
{
	char buf[24];

	return snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
}

static int
imax(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Text: a heading a segment, a line a counter; columns aligned across all segments.
 * rate (rates()) adds the RATE column; NULL leaves it out.
 */
static void
print_text(FILE *f, const struct stats_snap *s, size_t n, double *const *rate_of)
{
	bool with_rates = rate_of != NULL;

	int wseg = 0, wpid = 0, wup = 0, wname = 4, wval = 1, wrate = 4;
	char up[32], age[32], rate[32];

	for (size_t i = 0; i < n; i++) {
		wseg = imax(wseg, strlen(s[i].ent.node) + 1 + strlen(s[i].ent.proc));
		wpid = imax(wpid, width_u64(s[i].pid < 0 ? 0 : s[i].pid));
		wup = imax(wup, strlen(fmt_dur(up, sizeof(up), s[i].uptime_ns)));
		for (uint32_t k = 0; k < s[i].count; k++) {
			const struct stats_rctr *c = &s[i].ctr[k];

			wname = imax(wname, strlen(c->name));
			wval = imax(wval, width_u64(c->value));
			if (with_rates && !isnan(rate_of[i][k]))
				wrate = imax(wrate, snprintf(rate, sizeof(rate), "%.1f/s",
				    rate_of[i][k]));
		}
	}
	/* Like top, a refreshed screen names its columns; "-" is a rate not known yet. */
	if (with_rates && n > 0) {
		wname = imax(wname, strlen("COUNTER"));
		wval = imax(wval, strlen("VALUE"));
		fprintf(f, "  %-*s  %*s  %*s  %-7s  %s\n\n", wname, "COUNTER", wval, "VALUE",
		    wrate, "RATE", "KIND", "DESCRIPTION");
	}
	for (size_t i = 0; i < n; i++) {
		int pad = wseg - (int)(strlen(s[i].ent.node) + 1 + strlen(s[i].ent.proc));

		fprintf(f, "%s%s.%s%*s  pid %*d  %-7s  up %*s  heartbeat %s ago\n",
		    i ? "\n" : "", s[i].ent.node, s[i].ent.proc, pad, "", wpid, (int)s[i].pid,
		    s[i].state, wup, fmt_dur(up, sizeof(up), s[i].uptime_ns),
		    fmt_age(age, sizeof(age), s[i].hb_age_ns));
		for (uint32_t k = 0; k < s[i].count; k++) {
			const struct stats_rctr *c = &s[i].ctr[k];

			fprintf(f, "  %-*s  %*llu", wname, c->name, wval,
			    (unsigned long long)c->value);
			if (with_rates) {
				if (!isnan(rate_of[i][k]))
					snprintf(rate, sizeof(rate), "%.1f/s", rate_of[i][k]);
				else
					snprintf(rate, sizeof(rate), "-");
				fprintf(f, "  %*s", wrate, rate);
			}
			fprintf(f, "  %-7s  %s\n", kind_name(c->kind), c->desc);
		}
	}
}

static json_t *
snap_json(const struct stats_snap *s)
{
	json_t *ctrs = json_checked(json_array());

	for (uint32_t k = 0; k < s->count; k++) {
		const struct stats_rctr *c = &s->ctr[k];

		json_push(ctrs, json_pack("{s:s, s:s, s:o, s:s}", "name", c->name, "kind",
		    kind_name(c->kind), "value", json_u64(c->value), "description", c->desc));
	}
	return json_checked(json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:o}", "node",
	    s->ent.node, "proc", s->ent.proc, "segment", s->ent.name, "pid", (int)s->pid,
	    "state", s->state, "uptime_s", (json_int_t)(s->uptime_ns / 1000000000u),
	    "heartbeat_age_ms", (json_int_t)(s->hb_age_ns / 1000000u), "counters", ctrs));
}

static void
print_json(FILE *f, const struct stats_snap *s, size_t n)
{
	json_t *arr = json_checked(json_array());

	for (size_t i = 0; i < n; i++)
		json_push(arr, snap_json(&s[i]));
	json_print(f, arr);
}

/* Why nothing is shown: one line, naming the filters and what exists instead. */
static void
explain_empty(char *buf, size_t len, const struct stats_scan *sc, const struct stat_opts *o)
{
	size_t n;

	if (sc->nall == 0) {
		snprintf(buf, len, "no vpcfwd stats segments in %s", SEG_DIR);
		return;
	}
	if (sc->nmatch) {
		snprintf(buf, len, "none of the %zu matching stats segments could be read",
		    sc->nmatch);
		return;
	}
	n = snprintf(buf, len, "no stats segment in %s matches", SEG_DIR);
	if (o->node && n < len)
		n += snprintf(buf + n, len - n, " -N %s", o->node);
	for (int i = 0; i < o->npats && n < len; i++)
		n += snprintf(buf + n, len - n, " '%s'", o->pats[i]);
	for (size_t i = 0; i < sc->nall && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s.%s", i ? ", " : "; there are: ",
		    sc->all[i].node, sc->all[i].proc);
}

static bool
scan_match(const struct seg_ent *e, void *arg)
{
	return ent_match(e, arg);
}

static void
scan_warn(const char *msg, void *arg)
{
	(void)arg;
	warnx("%s", msg);
}

/* List SEG_DIR and read every segment the filters select. Exits if it cannot list. */
static void
scan(struct stats_scan *sc, const struct stat_opts *o)
{
	int r = stats_scan(sc, scan_match, scan_warn, (void *)o);

	if (r == -ENOMEM)
		errx(1, "out of memory");
	if (r < 0)
		errx(1, "%s: %s", SEG_DIR, strerror(-r));
}

static int
run_once(const struct stat_opts *o)
{
	struct stats_scan sc;
	char why[512];
	int rc = 0;

	scan(&sc, o);
	if (o->json)
		print_json(stdout, sc.snap, sc.nsnap);
	else
		print_text(stdout, sc.snap, sc.nsnap, NULL);
	if (sc.nsnap == 0) {
		explain_empty(why, sizeof(why), &sc, o);
		warnx("%s", why);
		rc = 1;
	}
	stats_scan_free(&sc);
	return rc;
}

/*
 * Sleep until deadline (CLOCK_MONOTONIC ns) unless SIGINT or SIGTERM comes first; both
 * are blocked, so one that arrives while a round is printed is not lost. true: stop.
 */
static bool
watch_sleep(const sigset_t *set, uint64_t deadline)
{
	for (;;) {
		uint64_t now = clock_mono_ns();
		struct timespec ts;

		if (now >= deadline)
			return false;
		ts.tv_sec = (deadline - now) / 1000000000u;
		ts.tv_nsec = (deadline - now) % 1000000000u;
		if (sigtimedwait(set, NULL, &ts) >= 0)
			return true;
		if (errno != EAGAIN && errno != EINTR)
			err(1, "sigtimedwait");
	}
}

static int
run_watch(const struct stat_opts *o)
{
	struct stats_snap *prev = NULL;
	size_t nprev = 0;
	uint64_t period = (uint64_t)llround(o->watch_s * 1e9), next;
	bool tty = isatty(STDOUT_FILENO);
	sigset_t set;
	char why[512], when[64];

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(1, "sigprocmask");
	/* A whole screen in one write: a line-buffered terminal would flicker. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	next = clock_mono_ns();
	for (long nround = 1;; nround++) {
		struct stats_scan sc;
		time_t t = time(NULL);
		struct tm tm;
		double **rate;

		scan(&sc, o);
		rate = rates(sc.snap, sc.nsnap, prev, nprev);
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		/* Home the cursor and clear the screen, as top does; a log gets no escapes. */
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (nround > 1)
			fputc('\n', stdout);
		printf("%s  every %gs  %s  %zu segment%s\n\n", progname, o->watch_s, when,
		    sc.nsnap, sc.nsnap == 1 ? "" : "s");
		if (sc.nsnap == 0) {
			explain_empty(why, sizeof(why), &sc, o);
			printf("%s (waiting)\n", why);
		}
		print_text(stdout, sc.snap, sc.nsnap, rate);
		rates_free(rate, sc.nsnap);
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		stats_snap_free(prev, nprev);
		prev = sc.snap;
		nprev = sc.nsnap;
		sc.snap = NULL;
		sc.nsnap = 0;
		stats_scan_free(&sc);
		if (o->rounds && nround >= o->rounds)
			break;
		next += period;
		if (next < clock_mono_ns())	/* fell behind (stopped?): no burst of rounds */
			next = clock_mono_ns() + period;
		if (watch_sleep(&set, next))
			break;
	}
	stats_snap_free(prev, nprev);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_opts o = { 0 };
	char *end;
	int ch, rc;

	version_exit_if_asked(argc, argv, progname);
	while ((ch = getopt_long(argc, argv, "hjn:N:w:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, true);
			return 0;
		case 'j':
			o.json = true;
			break;
		case 'n':
			errno = 0;
			o.rounds = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || o.rounds < 1)
				usage_error("-n %s: want a count of refreshes, 1 or more",
				    optarg);
			break;
		case 'N':
			o.node = optarg;
			break;
		case 'w':
			errno = 0;
			o.watch_s = strtod(optarg, &end);
			if (errno || end == optarg || *end != '\0' || !isfinite(o.watch_s) ||
			    o.watch_s < 0.001 || o.watch_s > STAT_WATCH_MAX)
				usage_error("-w %s: want seconds, 0.001 to %g", optarg,
				    STAT_WATCH_MAX);
			break;
		default:
			usage(stderr, false);
			return 2;
		}
	}
	if (o.rounds && o.watch_s == 0)
		usage_error("-n counts refreshes: use it with -w");
	if (o.json && o.watch_s > 0)
		usage_error("--json prints once: it cannot be combined with -w");
	o.pats = argv + optind;
	o.npats = argc - optind;

	rc = o.watch_s > 0 ? run_watch(&o) : run_once(&o);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return rc;
}
