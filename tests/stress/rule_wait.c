/*
 * rule_wait: for the sync tests, when a change reaches a host's rule cache. Reads a rule
 * of a learner's cache, says "ready", then watches it until it changes (another
 * version, installed or gone) and prints the versions and the wall-clock time it saw
 * the change at (seconds since the epoch, as bash's EPOCHREALTIME), for the caller to
 * compare with when it made the change.
 *
 *	rule_wait NODE VNI IP TIMEOUT_MS
 */
#include "common/clock.h"
#include "common/log.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The rule's version, 0 when the cache does not hold it. */
static uint64_t
version_of(struct table *t, uint32_t vni, uint32_t ip)
{
	struct table_rule r;

	return table_get(t, vni, ip, &r) ? r.version : 0;
}

int
main(int argc, char **argv)
{
	char seg[SEG_NAME_MAX], err[512];
	uint64_t t0, timeout_ns, v0, v;
	struct in_addr a;
	struct timespec now;
	struct table *t;
	uint32_t vni;

	log_init("rule_wait", LOG_LVL_INFO);
	if (argc != 5 || inet_pton(AF_INET, argv[3], &a) != 1)
		fatalx("usage: rule_wait NODE VNI IP TIMEOUT_MS");
	vni = (uint32_t)strtoul(argv[2], NULL, 10);
	timeout_ns = strtoull(argv[4], NULL, 10) * 1000000ull;
	seg_name(seg, sizeof(seg), argv[1], "learner", "table");
	if (table_attach(&t, seg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	v0 = version_of(t, vni, ntohl(a.s_addr));
	printf("ready\n");
	fflush(stdout);
	t0 = clock_mono_ns();
	while ((v = version_of(t, vni, ntohl(a.s_addr))) == v0) {
		if (clock_mono_ns() - t0 > timeout_ns)
			fatalx("VNI %u %s still at version %llu after %s ms", vni, argv[3],
			    (unsigned long long)v0, argv[4]);
		usleep(50);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	printf("%llu %llu %lld.%06ld\n", (unsigned long long)v0, (unsigned long long)v,
	    (long long)now.tv_sec, now.tv_nsec / 1000);
	table_close(t);
	return 0;
}
