/*
 * etcdprobe: whether this controller's state is current, with controller.store = "etcd"
 * (docs/cluster.md, "Failure behaviour"). A controller cut off from etcd's quorum (a
 * partition, a member of a minority), or whose view stopped following etcd (a watch on
 * such a member), still holds a log and would go on serving it, with heartbeats, to the
 * rule-stores and learners streaming from it: they would stay on a log that stopped while
 * the cluster's goes on. So a thread of its own reads the newest change (the log key,
 * linearizable: only a member with a quorum answers) every half timeout; the loop checks
 * every time after it, and when no read succeeded for CUT_TIMEOUTS x timeout, or the
 * view has not applied a change read that long ago, tells the stream
 * (stream_set_current), which sends its subscribers away until the state is current
 * again. Changes need no such guard: their commits fail by themselves, saying why.
 */
#ifndef CONTROLLER_ETCDPROBE_H
#define CONTROLLER_ETCDPROBE_H

#include "counters.h"
#include "etcdstore.h"
#include "stream.h"
#include "common/etcd.h"
#include "common/loop.h"

#define ETCDPROBE_CUT_TIMEOUTS	3	/* timeouts without etcd's quorum: cut off */

struct etcdprobe;

/*
 * Start probing etcd (conf: the store's endpoints, TLS and timeout) for es's newest
 * change, judged on l, told to st. 0 or a negative errno with err said.
 */
int etcdprobe_start(struct etcdprobe **out, const struct etcd_conf *conf,
    struct etcdstore *es, struct loop *l, struct stream *st, struct controller_counters *c,
    char *err, size_t errlen);
void etcdprobe_stop(struct etcdprobe *p);

#endif
