/*
 * park: sync requests syncd holds until it answers them. A request with nothing new
 * waits until a VPC it asks about advances or its wait runs out (the long poll of
 * DESIGN.md §3.5); it is then due, as is at once a request whose answer found every
 * send buffer in flight, and due requests are answered in the order they became due as
 * send buffers come back. Bounded in count, waiting and due together; indexed by VNI so
 * an advance finds its requests without looking at the others, and by deadline so
 * expiry looks at the expired ones only.
 */
#ifndef SYNCD_PARK_H
#define SYNCD_PARK_H

#include "common/sync.h"

#include <netinet/in.h>
#include <stdint.h>

struct park;

/* Answer a due request: 0 when sent, negative (no send buffer) to keep it due. */
typedef int park_fn(void *arg, const struct sync_req *req, const struct sockaddr_in *from);

struct park *park_new(uint32_t max);
void park_free(struct park *p);
/* Hold req until one of its VNIs wakes or deadline_ns; -ENOSPC when max are held. */
int park_add(struct park *p, const struct sync_req *req, const struct sockaddr_in *from,
    uint64_t deadline_ns);
/* Hold req as due, behind those due already; -ENOSPC when max are held. */
int park_add_due(struct park *p, const struct sync_req *req, const struct sockaddr_in *from);
/* Every request waiting on vni becomes due; returns how many. */
uint32_t park_wake(struct park *p, uint32_t vni);
/* Every request whose deadline is past becomes due; returns how many. */
uint32_t park_expire(struct park *p, uint64_t now_ns);
/*
 * Due requests leave through fn, oldest first, until fn fails or none is left (fn must
 * not call into the park); returns how many left.
 */
uint32_t park_answer(struct park *p, park_fn *fn, void *arg);
uint32_t park_waiting(const struct park *p);
uint32_t park_due(const struct park *p);

#endif
