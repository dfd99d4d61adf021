/*
 * apply: records of the controller's log stream into the gateway table. Live records
 * are applied as they come, and the table records the seq of each; a snapshot is
 * applied over the table in place (readers keep forwarding) and only its end moves the
 * recorded seq, and the epoch (the controller's history) with it, so a rule-store
 * killed in the middle asks again from where it was.
 */
#ifndef RULE_STORE_APPLY_H
#define RULE_STORE_APPLY_H

#include "counters.h"
#include "common/wire.h"
#include "shm/ring.h"
#include "shm/table.h"
#include "shm/vtepset.h"

struct apply;

/* vteps: the gateway forwarder's allow-list, which HOST records keep (its one writer). */
struct apply *apply_new(struct table *t, struct vtepset *vteps, struct ring *advance,
    struct rule_store_counters *c);
void apply_free(struct apply *a);
/* One record; -EPROTO when it makes no sense here (the connection should close). */
int apply_msg(struct apply *a, const struct wire_msg *m);
/* The connection went away: a snapshot in progress is abandoned. */
void apply_reset(struct apply *a);
uint64_t apply_seq(const struct apply *a);
/*
 * The seq a HELLO asks after (apply_seq), remembered for this connection, and in *epoch
 * the history it belongs to (0: not known; the controller then sends a snapshot).
 */
uint64_t apply_hello(struct apply *a, uint64_t *epoch);
/*
 * Whether to ask the controller for a snapshot now: 1 with *vni the VPC to fetch whole
 * (0: every VPC), when some VPC is incomplete, the table has room again and no earlier
 * WANT is still being answered, or (*vni 0) when the VTEP list was never loaded and the
 * log alone will not load it; 0 otherwise. Repeated asks back off (1 s to 30 s).
 */
int apply_want(struct apply *a, uint64_t now_ns, uint32_t *vni);
/* The STATUS to report: the table's room, the incomplete VPCs. */
void apply_status(struct apply *a, struct wire_status *st);
/* Changes whenever the incomplete VPCs change (send a STATUS then, not only each second). */
uint64_t apply_status_gen(const struct apply *a);
/* Set the gauges that follow the table (rules, VNI slots): after each record, each tick. */
void apply_gauges(struct apply *a);

#endif
