/*
 * vtepset: the VTEPs a node's forwarder accepts VXLAN from (DESIGN.md §9),
 * vpcfwd.<node>.<proc>.vteps: a set of IPv4 addresses written by one process (the
 * rule-store on a gateway, the learner on a host) from the controller's streams, and
 * read by the forwarder on every VXLAN datagram without a lock.
 *
 * Open addressing with linear probing over a power-of-two array, twice: the writer
 * changes the copy readers are not told to use, publishes it with a release store of
 * `pub`, then makes the same change to the other copy, so the two never differ by more
 * than the change being made. A reader checks that the copy it used was not being
 * rewritten meanwhile (its seq still equals the pub it read) and tries again if it
 * was: it never waits on the writer, and a writer killed mid-change leaves the
 * published copy whole. `loaded` says the set once held the controller's whole list.
 */
#ifndef SHM_VTEPSET_H
#define SHM_VTEPSET_H

#include "shm/seg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VTEPSET_LAYOUT		1
#define VTEPSET_MAX_DEFAULT	65536	/* VTEPs (hosts) a set holds: 1 MB of /dev/shm */
#define VTEPSET_MAX_LIMIT	(1u << 22)

struct vtepset;

/*
 * Writer: create vpcfwd.<node>.<proc>.vteps for max addresses, or re-attach it (a
 * restart keeps the list, loaded or not).
 */
int vtepset_create(struct vtepset **vp, const char *node, const char *proc, uint32_t max,
    char *err, size_t errlen);
/* Reader (forwarder, tools): attach read-only. */
int vtepset_attach(struct vtepset **vp, const char *node, const char *proc, char *err,
    size_t errlen);
void vtepset_close(struct vtepset *v);

/* Whether ip (host byte order) is in the set. Lock-free; never waits on the writer. */
bool vtepset_has(const struct vtepset *v, uint32_t ip);
/* Whether the writer ever stored the controller's whole list (vtepset_set_loaded). */
bool vtepset_loaded(const struct vtepset *v);
/* Addresses in the published copy. */
uint32_t vtepset_count(const struct vtepset *v);
uint32_t vtepset_max(const struct vtepset *v);
/* Changes since creation. */
uint64_t vtepset_generation(const struct vtepset *v);
/* Up to max addresses of the set, in slot order; returns how many. */
uint32_t vtepset_list(const struct vtepset *v, uint32_t *out, uint32_t max);

/* Writer: 0 (also when present), -EINVAL for 0, -ENOSPC when max are held. */
int vtepset_add(struct vtepset *v, uint32_t ip);
/* Writer: 0, or -ENOENT. */
int vtepset_del(struct vtepset *v, uint32_t ip);
/*
 * Writer: make the set exactly ips[0..n) (a snapshot's list; duplicates and 0s are
 * ignored): addresses not in it are removed first, then the missing ones added, each
 * one change, so a reader sees every address of both lists flip at most once. 0, or
 * -ENOSPC when the list has more than max addresses (those past it are not added), or
 * -ENOMEM.
 */
int vtepset_replace(struct vtepset *v, const uint32_t *ips, size_t n);
void vtepset_set_loaded(struct vtepset *v);
void vtepset_heartbeat(struct vtepset *v);

#endif
