/*
 * page: what vpcfwd-exporter says about each segment, as samples of an expo page (the
 * metric names and labels of docs/exporter.md are made here and nowhere else). A
 * process's counters become vpcfwd_<proc>_<counter>[_total] with labels node and process
 * (a counter in _ns, _us or _ms shown in _seconds), plus vpcfwd_up; a rule table's and a ring's occupancy become vpcfwd_table_* and
 * vpcfwd_ring_*. Everything read from a segment is treated as hostile: names reduced to
 * [a-zA-Z0-9_], kinds other than counter and gauge left out.
 */
#ifndef EXPORTER_PAGE_H
#define EXPORTER_PAGE_H

#include "expo.h"
#include "shm/ring.h"
#include "shm/seg.h"
#include "shm/stats_read.h"
#include "shm/table.h"

/*
 * The samples of n stats snapshots. A process is up when its owner lock is held and its
 * heartbeat is at most stale_ns old. Returns how many counters were left out (a name or
 * kind that cannot be exported), or -ENOMEM.
 */
int page_stats(struct expo *e, const struct stats_snap *s, size_t n, uint64_t stale_ns);
/*
 * Only the counters of s, named for s->ent.proc, with labels l (the exporter's own
 * counters, which have no node). Returns how many were left out, or -ENOMEM.
 */
int page_counters(struct expo *e, const struct stats_snap *s, const struct expo_label *l,
    size_t nl);
/* A rule table's occupancy, labelled by the segment's node, process and name. */
int page_table(struct expo *e, const struct seg_ent *ent, const struct table_occupancy *o);
/* A ring's occupancy and drops, labelled by the segment's node, producer and name. */
int page_ring(struct expo *e, const struct seg_ent *ent, const struct ring_occupancy *o);

#endif
