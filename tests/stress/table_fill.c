/*
 * table_fill: a stand-in table writer for tests of vpcfwd-table. It creates the rule
 * table vpcfwd.<node>.filler.table, fills it with rules whose every field derives from
 * their number, deletes a few, prints "ready" and then keeps the table up (reclaim,
 * reaping of dead readers, heartbeat) every 10 ms until SIGTERM or SIGINT (exit 0) or
 * until it is killed. Like a real writer it leaves its segment behind; whoever started
 * it removes it.
 *
 *	table_fill NODE MODE NRULES NVNIS	MODE: gateway or host
 *
 * Rule i, 0 <= i < NRULES: VNI 1 + i % NVNIS, IP 10.0.0.0 + i, MAC 02:00 followed by i
 * (4 bytes, big-endian), VTEP 172.16.0.1 + i % 250, version i + 1; its VNI then
 * advances to version i + 1 in generation 1234. Then rules 0 .. D-1, D = min(16,
 * NRULES / 2), are deleted at version NRULES + 1 + i, their VNI advancing to it: a
 * gateway keeps them as tombstones (the window is far larger than the few versions
 * that follow), a host drops them.
 */
#include "common/log.h"
#include "shm/table.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILL_GEN	1234
#define FILL_DELETES	16
#define FILL_STEP_NS	10000000L	/* table_maintain every 10 ms */

static volatile sig_atomic_t fill_stop;

static void
fill_on_signal(int sig)
{
	(void)sig;
	fill_stop = 1;
}

static uint32_t
fill_arg(const char *name, const char *s, uint32_t lo, uint32_t hi)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] < '0' || s[0] > '9' || v < lo || v > hi)
		fatalx("%s '%s': must be %u..%u", name, s, lo, hi);
	return (uint32_t)v;
}

/* Any status but TABLE_APPLIED is a bug in this program or in the table. */
static void
fill_check(int r, const char *what, uint32_t i)
{
	if (r != TABLE_APPLIED)
		fatalx("%s of rule %u: %s", what, i, r < 0 ? strerror(-r) : "refused as stale");
}

int
main(int argc, char **argv)
{
	struct table_params p;
	struct sigaction sa;
	struct table *t;
	uint32_t mode, nrules, nvnis, ndel;
	char err[512];
	int r;

	log_init("table_fill", LOG_LVL_INFO);
	if (argc != 5)
		fatalx("usage: table_fill node gateway|host nrules nvnis");
	if (strcmp(argv[2], "gateway") == 0)
		mode = TABLE_GATEWAY;
	else if (strcmp(argv[2], "host") == 0)
		mode = TABLE_HOST;
	else
		fatalx("mode '%s': must be gateway or host", argv[2]);
	nrules = fill_arg("nrules", argv[3], 1, 1u << 30);
	nvnis = fill_arg("nvnis", argv[4], 1, 1u << 20);
	ndel = nrules / 2 < FILL_DELETES ? nrules / 2 : FILL_DELETES;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fill_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");

	table_params_default(&p, mode);
	if (p.capacity < nrules)
		p.capacity = nrules < 16 ? 16 : nrules;
	if (p.max_vnis < nvnis)
		p.max_vnis = nvnis;
	if (table_create(&t, argv[1], "filler", &p, err, sizeof(err)) < 0)
		fatalx("%s", err);

	for (uint32_t i = 0; i < nrules; i++) {
		struct table_rule rule = {
			.vni = 1 + i % nvnis,
			.ip = 0x0a000000u + i,
			.vtep = 0xac100001u + i % 250,
			.mac = { 0x02, 0x00, i >> 24, i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff },
			.version = (uint64_t)i + 1,
		};

		fill_check(table_set(t, &rule), "set", i);
		fill_check(table_vni_advance(t, rule.vni, FILL_GEN, rule.version), "advance",
		    i);
	}
	for (uint32_t i = 0; i < ndel; i++) {
		uint64_t version = (uint64_t)nrules + 1 + i;
		uint32_t vni = 1 + i % nvnis;

		fill_check(table_delete(t, vni, 0x0a000000u + i, version), "delete", i);
		fill_check(table_vni_advance(t, vni, FILL_GEN, version), "advance", i);
	}
	if ((r = table_check(t, err, sizeof(err))) < 0)
		fatalx("table_check: %s", err);
	table_maintain(t);
	printf("ready\n");
	if (fflush(stdout) == EOF)
		fatal("stdout");

	while (!fill_stop) {
		struct timespec ts = { 0, FILL_STEP_NS };

		/* Interrupted by a signal: the loop condition decides. */
		nanosleep(&ts, NULL);
		table_maintain(t);
	}
	table_close(t);
	return 0;
}
