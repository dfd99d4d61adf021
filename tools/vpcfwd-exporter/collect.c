/*
 * collect: see collect.h. Invariant: a segment that cannot be read (gone, corrupt, of
 * another layout) costs the page that segment's samples and nothing else.
 */
#include "collect.h"

#include "common/log.h"
#include "page.h"
#include "shm/ring.h"
#include "shm/seg.h"
#include "shm/stats_read.h"
#include "shm/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A corrupt segment is seen at every scrape: say so now and then, not every second. */
static struct log_ratelimit unreadable_rl = LOG_RATELIMIT_INIT(60000, 5);

static void
stats_warn(const char *msg, void *arg)
{
	(void)arg;
	log_warnx_rl(&unreadable_rl, "%s", msg);
}

/* A rule table or a ring: attached read-only as a plain segment, sampled, detached. */
static int
collect_other(struct expo *e, const struct seg_ent *ent, struct exporter_counters *c)
{
	struct table_occupancy to;
	struct ring_occupancy ro;
	uint32_t kind, layout;
	struct seg s;
	int r;

	if ((r = seg_kind_read(ent->name, &kind)) < 0) {
		if (r == -ENOENT)	/* removed since it was listed */
			return 0;
		STATS_INC(c, segments_unreadable);
		log_warnx_rl(&unreadable_rl, "%s/%s: %s", SEG_DIR, ent->name,
		    r == -EPROTO ? "not a vpcfwd segment header" : strerror(-r));
		return 0;
	}
	if (kind == SEG_KIND_TABLE)
		layout = TABLE_LAYOUT;
	else if (kind == SEG_KIND_RING)
		layout = RING_LAYOUT;
	else
		return 0;	/* ports, VTEP sets: nothing to export */
	if ((r = seg_attach(&s, ent->name, kind, layout, 0, SEG_RDONLY)) < 0) {
		if (r != -ENOENT) {
			STATS_INC(c, segments_unreadable);
			log_warnx_rl(&unreadable_rl, "%s", s.err);
		}
		return 0;
	}
	if (kind == SEG_KIND_TABLE) {
		if ((r = table_occupancy(&s, &to)) == 0)
			r = page_table(e, ent, &to);
	} else {
		if ((r = ring_occupancy(&s, &ro)) == 0)
			r = page_ring(e, ent, &ro);
	}
	seg_detach(&s);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		STATS_INC(c, segments_unreadable);
		log_warnx_rl(&unreadable_rl, "%s/%s: header does not match the segment",
		    SEG_DIR, ent->name);
	}
	return 0;
}

int
collect_page(struct expo *e, const struct collect_params *p, struct exporter_counters *c,
    char *err, size_t errlen)
{
	struct stats_scan sc;
	struct seg_ent *all = NULL;
	int n, r;

	if ((r = stats_scan(&sc, NULL, stats_warn, NULL)) < 0) {
		snprintf(err, errlen, "%s: %s", SEG_DIR, strerror(-r));
		return r;
	}
	STATS_ADD(c, segments_unreadable, sc.nfailed);
	r = page_stats(e, sc.snap, sc.nsnap, p->stale_ns);
	stats_scan_free(&sc);
	if (r < 0) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	STATS_ADD(c, samples_dropped, r);

	if ((n = seg_list(NULL, NULL, &all)) < 0) {
		snprintf(err, errlen, "%s: %s", SEG_DIR, strerror(-n));
		return n;
	}
	r = 0;
	for (int i = 0; i < n && r == 0; i++)
		if (strcmp(all[i].what, STATS_READ_WHAT) != 0)
			r = collect_other(e, &all[i], c);
	free(all);
	if (r < 0)
		snprintf(err, errlen, "out of memory");
	return r;
}

int
collect_self(struct expo *e, const struct exporter_counters *c)
{
	const uint64_t *v = (const uint64_t *)c;
	struct stats_rctr ctr[exporter_stats_count];
	const struct stats_snap self = { .ent = { .proc = "exporter" }, .owner =
	    STATS_OWNER_RUNNING, .count = exporter_stats_count, .ctr = ctr };
	int r;

	/* As a process's counters are named, without node, process and vpcfwd_up. */
	for (uint32_t i = 0; i < exporter_stats_count; i++) {
		snprintf(ctr[i].name, sizeof(ctr[i].name), "%s", exporter_stats_defs[i].name);
		snprintf(ctr[i].desc, sizeof(ctr[i].desc), "%s", exporter_stats_defs[i].desc);
		ctr[i].kind = exporter_stats_defs[i].kind;
		ctr[i].value = v[i];
	}
	r = page_counters(e, &self, NULL, 0);
	return r < 0 ? r : 0;
}
