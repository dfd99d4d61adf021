/*
 * stats: a process's named counters and gauges in its own segment
 * (vpcfwd.<node>.<proc>.stats), self-describing so vpcfwd-stat needs no knowledge of
 * any process. A process declares its counters once, as an X-macro table:
 *
 *	#define SYNCD_COUNTERS(X)					\
 *		X(req_rx,        COUNTER, "sync requests received")	\
 *		X(parked,        GAUGE,   "requests parked waiting for a change")
 *	STATS_DECLARE(syncd, SYNCD_COUNTERS)
 *
 * which makes struct syncd_counters (one u64 a counter, in table order) and
 * syncd_stats_defs[]. stats_create() writes names, kinds and descriptions into the
 * segment and returns the live struct; the owner updates it with STATS_INC/ADD/SET.
 * Each segment has one writer (its process, single-threaded), so updates are plain
 * relaxed stores that readers load whole.
 */
#ifndef SHM_STATS_H
#define SHM_STATS_H

#include "shm/seg.h"

#include <stdint.h>

#define STATS_LAYOUT	1
#define STATS_NAME_MAX	48
#define STATS_DESC_MAX	80

enum stats_kind { STATS_COUNTER = 1, STATS_GAUGE = 2 };

struct stats_def {
	const char *name;
	enum stats_kind kind;
	const char *desc;
};

/* In the segment, after struct seg_hdr. */
struct stats_hdr {
	uint32_t count;		/* number of counters */
	uint32_t desc_off;	/* offset of struct stats_desc[count] */
	uint32_t val_off;	/* offset of uint64_t[count] */
	uint32_t _pad;
};

struct stats_desc {
	char name[STATS_NAME_MAX];
	uint32_t kind;		/* enum stats_kind */
	char desc[STATS_DESC_MAX];
};
_Static_assert(sizeof(struct stats_desc) == 132, "stats_desc layout changed");

#define STATS_FIELD_(n, k, d)	uint64_t n;
#define STATS_DEF_(n, k, d)	{ #n, STATS_##k, d },
#define STATS_DECLARE(prefix, LIST)					\
	struct prefix##_counters { LIST(STATS_FIELD_) };		\
	static const struct stats_def prefix##_stats_defs[] = { LIST(STATS_DEF_) }; \
	enum { prefix##_stats_count =					\
	    sizeof(prefix##_stats_defs) / sizeof(prefix##_stats_defs[0]) };

#define STATS_ADD(c, f, n) \
	__atomic_store_n(&(c)->f, (c)->f + (uint64_t)(n), __ATOMIC_RELAXED)
#define STATS_INC(c, f)		STATS_ADD(c, f, 1)
#define STATS_SET(c, f, v)	__atomic_store_n(&(c)->f, (uint64_t)(v), __ATOMIC_RELAXED)
/*
 * A count a module keeps from 0 in each process into a COUNTER, which carries on across
 * restarts: add what it gained since the last fold (seen, a uint64_t the caller keeps,
 * 0 at start), never store it over the counter.
 */
#define STATS_FOLD(c, f, now, seen)					\
	do {								\
		uint64_t now_ = (now);					\
		STATS_ADD(c, f, now_ - (seen));				\
		(seen) = now_;						\
	} while (0)

struct stats {
	struct seg seg;
	struct stats_hdr *hdr;
	const struct stats_desc *desc;
	uint64_t *val;
};

/*
 * Owner: create or re-attach vpcfwd.<node>.<proc>.stats. Counters survive a restart of
 * the same build; a segment from a build with other counters is replaced. Returns the
 * values array (cast it to struct <prefix>_counters *), NULL with st->seg.err set.
 */
void *stats_create(struct stats *st, const char *node, const char *proc,
    const struct stats_def *defs, uint32_t count);
/* Reader: attach read-only by segment name. 0 or negative errno, st->seg.err set. */
int stats_attach(struct stats *st, const char *name);
void stats_close(struct stats *st);
/* Owner: store the heartbeat the supervisor and vpcfwd-stat read. */
void stats_heartbeat(struct stats *st);

static inline uint64_t
stats_value(const struct stats *st, uint32_t i)
{
	return __atomic_load_n(&st->val[i], __ATOMIC_RELAXED);
}

#endif
