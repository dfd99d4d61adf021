/*
 * stats_read: a reader's copy of the processes' stats segments (shm/stats.h), for the
 * tools that show them (vpcfwd-stat, vpcfwd-exporter). It lists SEG_DIR, attaches each
 * vpcfwd.<node>.<proc>.stats read-only, copies out the owner's pid, state and heartbeat
 * and every counter's name, kind, description and value, and detaches. It never writes a
 * segment and never takes an owner lock, so it cannot disturb the processes it reads.
 *
 * What comes out of a segment is not trusted: strings are copied bounded, terminated and
 * with every byte outside printable ASCII replaced by '?', and a counter table whose size
 * no longer matches the segment is refused.
 */
#ifndef SHM_STATS_READ_H
#define SHM_STATS_READ_H

#include "shm/seg.h"
#include "shm/stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_READ_WHAT	"stats"		/* vpcfwd.<node>.<proc>.stats */

/* One counter, copied out of its segment. */
struct stats_rctr {
	char name[STATS_NAME_MAX + 1];
	char desc[STATS_DESC_MAX + 1];
	uint32_t kind;		/* enum stats_kind, or whatever the segment held */
	uint64_t value;
};

/* Whether the segment's owner runs: its owner lock is held (shm/seg.h). */
enum stats_owner { STATS_OWNER_RUNNING, STATS_OWNER_STALE, STATS_OWNER_UNKNOWN };

/* One segment, sampled: everything a tool shows comes from here, not from the mapping. */
struct stats_snap {
	struct seg_ent ent;
	int32_t pid;
	enum stats_owner owner;
	const char *state;	/* "running", "STALE" or "unknown", as seg_owner_state says */
	uint64_t uptime_ns;
	uint64_t hb_age_ns;
	uint64_t sampled_ns;	/* CLOCK_MONOTONIC */
	uint32_t count;
	struct stats_rctr *ctr;	/* count of them, malloc'd */
};

/* Called with one line (naming the segment) for each segment that could not be read. */
typedef void stats_read_warn_fn(const char *msg, void *arg);

/*
 * Attach e read-only, copy it out into s, detach. 0, or a negative errno: -ENOENT when it
 * was removed since it was listed (nothing to report), -ENOMEM, or another with err set to
 * one line. A failure to tell whether the owner runs is not one: s->state is "unknown"
 * and warn (when not NULL) says why.
 */
int stats_snap_take(struct stats_snap *s, const struct seg_ent *e, char *err, size_t errlen,
    stats_read_warn_fn *warn, void *arg);
void stats_snap_free(struct stats_snap *s, size_t n);

/* The result of one scan of SEG_DIR. */
struct stats_scan {
	struct seg_ent *all;	/* every stats segment, selected or not, sorted */
	size_t nall;
	struct stats_snap *snap;/* the selected segments that could be read, in that order */
	size_t nsnap;
	size_t nmatch;		/* selected segments, read or not */
	size_t nfailed;		/* selected segments that could not be read (not gone) */
};

typedef bool stats_read_match_fn(const struct seg_ent *e, void *arg);

/*
 * List SEG_DIR and read every stats segment match selects (NULL: all); warn (may be NULL)
 * hears of each that could not be read. 0, or a negative errno when SEG_DIR cannot be
 * listed or memory runs out (sc is then empty).
 */
int stats_scan(struct stats_scan *sc, stats_read_match_fn *match, stats_read_warn_fn *warn,
    void *arg);
void stats_scan_free(struct stats_scan *sc);

#endif
