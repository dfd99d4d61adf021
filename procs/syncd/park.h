/*
 * park: sync requests with nothing new to answer, held until a VPC they ask about
 * advances or their wait runs out (the long poll of DESIGN.md §3.5). Bounded in count;
 * indexed by VNI so an advance finds its requests without looking at the others.
 */
#ifndef SYNCD_PARK_H
#define SYNCD_PARK_H

#include "common/sync.h"

#include <netinet/in.h>
#include <stdint.h>

struct park;

/* A parked request leaves: answer it now. */
typedef void park_fn(void *arg, const struct sync_req *req, const struct sockaddr_in *from);

struct park *park_new(uint32_t max);
void park_free(struct park *p);
/* Hold req until deadline_ns; -ENOSPC when max are held already. */
int park_add(struct park *p, const struct sync_req *req, const struct sockaddr_in *from,
    uint64_t deadline_ns);
/* Every request waiting on vni leaves through fn; returns how many. */
uint32_t park_wake(struct park *p, uint32_t vni, park_fn *fn, void *arg);
/* Every request whose deadline is past leaves through fn; returns how many. */
uint32_t park_expire(struct park *p, uint64_t now_ns, park_fn *fn, void *arg);
uint32_t park_count(const struct park *p);

#endif
