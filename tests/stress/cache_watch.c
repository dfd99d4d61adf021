/*
 * cache_watch: a reader of a host's rule cache for the sync tests. Samples the rules of
 * a VNI over and over and fails the moment a rule's version goes back (a learner must
 * never install an older version of a rule, whatever the network does to its
 * datagrams). Stops on SIGTERM and prints how many samples it took.
 *
 *	cache_watch NODE VNI
 */
#include "common/log.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KEYS	65536

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static uint64_t seen[KEYS];	/* by the low 16 bits of the IP */
	char seg[SEG_NAME_MAX], err[512];
	struct table *t;
	uint64_t samples = 0;
	uint32_t vni;

	log_init("cache_watch", LOG_LVL_INFO);
	if (argc != 3)
		fatalx("usage: cache_watch NODE VNI");
	vni = (uint32_t)strtoul(argv[2], NULL, 10);
	seg_name(seg, sizeof(seg), argv[1], "learner", "table");
	for (int i = 0; table_attach(&t, seg, err, sizeof(err)) < 0; i++) {
		if (i == 100)
			fatalx("%s", err);
		usleep(50000);
	}
	signal(SIGTERM, on_term);
	printf("watching\n");
	fflush(stdout);
	while (!stop) {
		struct table_cursor cur = { 0 };
		struct table_rule buf[256];
		uint64_t upto;
		bool more = true;

		while (more && !stop) {
			int n = table_changes(t, vni, 0, &cur, buf, 256, &upto, &more);

			if (n < 0)
				break;	/* not there yet, or just flushed */
			for (int i = 0; i < n; i++) {
				uint32_t k = buf[i].ip & (KEYS - 1);

				if (buf[i].version < seen[k])
					fatalx("VNI %u ip %#x went back from version %llu to %llu", vni,
					    buf[i].ip, (unsigned long long)seen[k],
					    (unsigned long long)buf[i].version);
				seen[k] = buf[i].version;
			}
		}
		samples++;
		usleep(1000);
	}
	printf("%llu samples, no version went back\n", (unsigned long long)samples);
	table_close(t);
	return 0;
}
