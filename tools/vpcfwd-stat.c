/*
 * vpcfwd-stat: the operator's view of every process's counters. It finds the stats
 * segments in /dev/shm (vpcfwd.<node>.<proc>.stats), attaches each read-only, copies
 * out its header and counters, detaches, and prints them once as text, once as JSON
 * (--json) or refreshed like top (-w). It never writes to a segment and never takes an
 * owner lock, so it cannot disturb the processes it watches; a segment whose owner lock
 * nobody holds belongs to a dead process and is shown as STALE. See docs/stat.md.
 */
#include "common/clock.h"
#include "common/json.h"
#include "shm/seg.h"
#include "shm/stats.h"

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

#define STAT_WHAT	"stats"		/* vpcfwd.<node>.<proc>.stats */
#define STAT_WATCH_MAX	86400.0		/* -w: at most a day between refreshes */

/* One counter, copied out of its segment. */
struct stat_ctr {
	char name[STATS_NAME_MAX + 1];
	char desc[STATS_DESC_MAX + 1];
	uint32_t kind;
	uint64_t value;
	bool has_rate;		/* watch mode: a counter seen in the previous round too */
	double rate;		/* a second */
};

/* One segment, sampled: everything printed comes from here, not from the mapping. */
struct stat_snap {
	struct seg_ent ent;
	int32_t pid;
	const char *state;	/* "running", "STALE" or "unknown" */
	uint64_t uptime_ns;
	uint64_t hb_age_ns;
	uint64_t sampled_ns;	/* CLOCK_MONOTONIC */
	uint32_t count;
	struct stat_ctr *ctr;
};

struct stat_opts {
	bool json;
	double watch_s;		/* 0: print once */
	long rounds;		/* -n: 0 means until SIGINT */
	const char *node;	/* -N */
	char **pats;		/* positional arguments */
	int npats;
};

/* The result of one scan of SEG_DIR. */
struct stat_scan {
	struct seg_ent *all;	/* every stats segment, filtered or not, sorted */
	size_t nall;
	struct stat_snap *snap;	/* the matching segments that could be read */
	size_t nsnap;
	size_t nmatch;		/* matching segments, read or not */
};

static const char *progname = "vpcfwd-stat";

static void
usage(FILE *f, bool full)
{
	fprintf(f, "usage: %s [--json] [-w seconds [-n count]] [-N node] [pattern ...]\n",
	    progname);
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

/*
 * Copy a string out of a segment: not trusted to be terminated nor printable (a
 * corrupt or hostile segment must not write escape sequences to the terminal, nor
 * make invalid UTF-8 for jansson). dst has room for max + 1 bytes.
 */
static void
field_copy(char *dst, const volatile char *src, size_t max)
{
	size_t i;
	char ch;

	/* Each byte read once: the check and the copy must see the same byte. */
	for (i = 0; i < max && (ch = src[i]) != '\0'; i++)
		dst[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
	dst[i] = '\0';
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

static uint64_t
since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Attach, copy out, detach. -1 (reported on stderr) when the segment cannot be read. */
static int
snap_take(struct stat_snap *s, const struct seg_ent *e)
{
	const struct seg_hdr *h;
	struct stats st;
	int r;

	memset(s, 0, sizeof(*s));
	s->ent = *e;
	if ((r = stats_attach(&st, e->name)) < 0) {
		/* ENOENT: removed since the directory was listed; nothing to report. */
		if (r != -ENOENT)
			warnx("%s", st.seg.err);
		return -1;
	}
	h = st.seg.hdr;
	s->count = st.hdr->count;
	if (s->count && (s->ctr = calloc(s->count, sizeof(*s->ctr))) == NULL)
		err(1, "calloc");
	/* The owner stores these with plain or relaxed stores; no ordering is needed. */
	s->pid = __atomic_load_n(&h->owner_pid, __ATOMIC_RELAXED);
	s->sampled_ns = clock_mono_ns();
	s->uptime_ns = since(clock_real_ns(), __atomic_load_n(&h->start_ns, __ATOMIC_RELAXED));
	s->hb_age_ns = seg_heartbeat_age(&st.seg, s->sampled_ns);
	for (uint32_t i = 0; i < s->count; i++) {
		field_copy(s->ctr[i].name, st.desc[i].name, STATS_NAME_MAX);
		field_copy(s->ctr[i].desc, st.desc[i].desc, STATS_DESC_MAX);
		s->ctr[i].kind = st.desc[i].kind;
		s->ctr[i].value = stats_value(&st, i);
	}
	s->state = seg_owner_state(&st.seg);
	stats_close(&st);
	return 0;
}

static void
snap_free(struct stat_snap *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].ctr);
	free(s);
}

static void
scan_free(struct stat_scan *sc)
{
	free(sc->all);
	snap_free(sc->snap, sc->nsnap);
	memset(sc, 0, sizeof(*sc));
}

/* List SEG_DIR and read every segment the filters select. Exits if it cannot list. */
static void
scan(struct stat_scan *sc, const struct stat_opts *o)
{
	int n;

	memset(sc, 0, sizeof(*sc));
	if ((n = seg_list(NULL, STAT_WHAT, &sc->all)) < 0)
		errx(1, "%s: %s", SEG_DIR, strerror(-n));
	sc->nall = n;
	if (sc->nall && (sc->snap = calloc(sc->nall, sizeof(*sc->snap))) == NULL)
		err(1, "calloc");
	for (size_t i = 0; i < sc->nall; i++) {
		if (!ent_match(&sc->all[i], o))
			continue;
		sc->nmatch++;
		if (snap_take(&sc->snap[sc->nsnap], &sc->all[i]) == 0)
			sc->nsnap++;
	}
}

/*
 * Rates from the previous round of the same segment: a counter's rate needs the same
 * counter (by position and name) seen before, and a value that did not go back (the
 * owner reset its counters). Gauges have no rate.
 */
static void
rates(struct stat_snap *s, size_t n, const struct stat_snap *prev, size_t nprev)
{
	for (size_t i = 0; i < n; i++) {
		const struct stat_snap *p = NULL;
		double dt;

		for (size_t j = 0; j < nprev && p == NULL; j++)
			if (strcmp(prev[j].ent.name, s[i].ent.name) == 0)
				p = &prev[j];
		if (p == NULL || p->count != s[i].count || s[i].sampled_ns <= p->sampled_ns)
			continue;
		dt = (s[i].sampled_ns - p->sampled_ns) / 1e9;
		for (uint32_t k = 0; k < s[i].count; k++) {
			struct stat_ctr *c = &s[i].ctr[k];
			const struct stat_ctr *pc = &p->ctr[k];

			if (c->kind != STATS_COUNTER || pc->kind != STATS_COUNTER ||
			    strcmp(c->name, pc->name) != 0 || c->value < pc->value)
				continue;
			c->has_rate = true;
			c->rate = (c->value - pc->value) / dt;
		}
	}
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

/* Text: a heading a segment, a line a counter; columns aligned across all segments. */
static void
print_text(FILE *f, const struct stat_snap *s, size_t n, bool with_rates)
{
	int wseg = 0, wpid = 0, wup = 0, wname = 4, wval = 1, wrate = 4;
	char up[32], age[32], rate[32];

	for (size_t i = 0; i < n; i++) {
		wseg = imax(wseg, strlen(s[i].ent.node) + 1 + strlen(s[i].ent.proc));
		wpid = imax(wpid, width_u64(s[i].pid < 0 ? 0 : s[i].pid));
		wup = imax(wup, strlen(fmt_dur(up, sizeof(up), s[i].uptime_ns)));
		for (uint32_t k = 0; k < s[i].count; k++) {
			const struct stat_ctr *c = &s[i].ctr[k];

			wname = imax(wname, strlen(c->name));
			wval = imax(wval, width_u64(c->value));
			if (c->has_rate)
				wrate = imax(wrate, snprintf(rate, sizeof(rate), "%.1f/s",
				    c->rate));
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
			const struct stat_ctr *c = &s[i].ctr[k];

			fprintf(f, "  %-*s  %*llu", wname, c->name, wval,
			    (unsigned long long)c->value);
			if (with_rates) {
				if (c->has_rate)
					snprintf(rate, sizeof(rate), "%.1f/s", c->rate);
				else
					snprintf(rate, sizeof(rate), "-");
				fprintf(f, "  %*s", wrate, rate);
			}
			fprintf(f, "  %-7s  %s\n", kind_name(c->kind), c->desc);
		}
	}
}

static json_t *
snap_json(const struct stat_snap *s)
{
	json_t *ctrs = json_checked(json_array());

	for (uint32_t k = 0; k < s->count; k++) {
		const struct stat_ctr *c = &s->ctr[k];

		json_push(ctrs, json_pack("{s:s, s:s, s:o, s:s}", "name", c->name, "kind",
		    kind_name(c->kind), "value", json_u64(c->value), "description", c->desc));
	}
	return json_checked(json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:o}", "node",
	    s->ent.node, "proc", s->ent.proc, "segment", s->ent.name, "pid", (int)s->pid,
	    "state", s->state, "uptime_s", (json_int_t)(s->uptime_ns / 1000000000u),
	    "heartbeat_age_ms", (json_int_t)(s->hb_age_ns / 1000000u), "counters", ctrs));
}

static void
print_json(FILE *f, const struct stat_snap *s, size_t n)
{
	json_t *arr = json_checked(json_array());

	for (size_t i = 0; i < n; i++)
		json_push(arr, snap_json(&s[i]));
	json_print(f, arr);
}

/* Why nothing is shown: one line, naming the filters and what exists instead. */
static void
explain_empty(char *buf, size_t len, const struct stat_scan *sc, const struct stat_opts *o)
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

static int
run_once(const struct stat_opts *o)
{
	struct stat_scan sc;
	char why[512];
	int rc = 0;

	scan(&sc, o);
	if (o->json)
		print_json(stdout, sc.snap, sc.nsnap);
	else
		print_text(stdout, sc.snap, sc.nsnap, false);
	if (sc.nsnap == 0) {
		explain_empty(why, sizeof(why), &sc, o);
		warnx("%s", why);
		rc = 1;
	}
	scan_free(&sc);
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
	struct stat_snap *prev = NULL;
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
		struct stat_scan sc;
		time_t t = time(NULL);
		struct tm tm;

		scan(&sc, o);
		rates(sc.snap, sc.nsnap, prev, nprev);
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
		print_text(stdout, sc.snap, sc.nsnap, true);
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		snap_free(prev, nprev);
		prev = sc.snap;
		nprev = sc.nsnap;
		sc.snap = NULL;
		sc.nsnap = 0;
		scan_free(&sc);
		if (o->rounds && nround >= o->rounds)
			break;
		next += period;
		if (next < clock_mono_ns())	/* fell behind (stopped?): no burst of rounds */
			next = clock_mono_ns() + period;
		if (watch_sleep(&set, next))
			break;
	}
	snap_free(prev, nprev);
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
