/*
 * collect: one scrape. Reads every segment of this machine in /dev/shm read-only (stats
 * through shm/stats_read.h, rule tables and rings through their occupancy readers, none
 * taking a lock or a reader slot) and adds what page.h makes of them, and the exporter's
 * own counters, to an expo page. It costs the data plane nothing: it only loads words
 * from shared memory.
 */
#ifndef EXPORTER_COLLECT_H
#define EXPORTER_COLLECT_H

#include "counters.h"
#include "expo.h"

#include <stdint.h>

struct collect_params {
	uint64_t stale_ns;	/* heartbeat older than this: vpcfwd_up 0 */
};

/*
 * Fill e (new, empty) with one page's samples and count what happened in c (segments
 * that could not be read, samples left out). 0, or a negative errno when SEG_DIR cannot
 * be listed or memory runs out (with err set to one line).
 */
int collect_page(struct expo *e, const struct collect_params *p, struct exporter_counters *c,
    char *err, size_t errlen);
/* The exporter's own counters, as samples (after collect_page, before rendering). */
int collect_self(struct expo *e, const struct exporter_counters *c);

#endif
