/*
 * stats_demo: a stand-in process for tests of vpcfwd-stat. It owns the stats segment
 * vpcfwd.<node>.<proc>.stats, adds to a counter at a steady rate, keeps a gauge set and
 * writes its heartbeat, until SIGTERM or SIGINT (exit 0) or until it is killed. Like a
 * real process it leaves its segment behind; whoever started it removes it.
 *
 *	stats_demo NODE PROC [RATE]	RATE: increments a second, default 1000
 */
#include "common/clock.h"
#include "common/log.h"
#include "shm/stats.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_COUNTERS(X)						\
	X(ticks,      COUNTER, "increments, at a steady rate")		\
	X(heartbeats, COUNTER, "heartbeats written")			\
	X(rate,       GAUGE,   "increments a second it aims for")
STATS_DECLARE(demo, DEMO_COUNTERS)

#define DEMO_STEP_NS	10000000ull	/* add the ticks due every 10 ms */
#define DEMO_BEAT_NS	100000000ull	/* heartbeat every 100 ms */

static volatile sig_atomic_t demo_stop;

static void
demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

/* Ticks due after elapsed ns at rate a second, without overflowing for days. */
static uint64_t
demo_due(uint64_t elapsed, uint64_t rate)
{
	return elapsed / 1000000000u * rate + elapsed % 1000000000u * rate / 1000000000u;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct demo_counters *c;
	struct stats st;
	uint64_t rate = 1000, done = 0, t0, last_beat, now, due;
	char *end;

	log_init("stats_demo", LOG_LVL_INFO);
	if (argc < 3 || argc > 4)
		fatalx("usage: stats_demo node proc [rate]");
	if (argc == 4) {
		errno = 0;
		rate = strtoull(argv[3], &end, 10);
		if (errno || *end != '\0' || rate == 0 || rate > 1000000000u)
			fatalx("rate '%s': must be 1..1000000000 a second", argv[3]);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = demo_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");

	c = stats_create(&st, argv[1], argv[2], demo_stats_defs, demo_stats_count);
	if (c == NULL)
		fatalx("%s", st.seg.err);
	STATS_SET(c, rate, rate);

	t0 = last_beat = clock_mono_ns();
	while (!demo_stop) {
		struct timespec ts = { 0, DEMO_STEP_NS };

		/* Interrupted by a signal: the loop condition decides. */
		nanosleep(&ts, NULL);
		now = clock_mono_ns();
		due = demo_due(now - t0, rate);
		STATS_ADD(c, ticks, due - done);
		done = due;
		if (now - last_beat >= DEMO_BEAT_NS) {
			stats_heartbeat(&st);
			STATS_INC(c, heartbeats);
			last_beat = now;
		}
	}
	stats_close(&st);
	return 0;
}
