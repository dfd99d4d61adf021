/*
 * learnlim: the vswitch's learn-bit limiter (DESIGN.md §3.1): at most one frame with the
 * learn bit for a destination (VNI, IP) per interval, so that a flow whose rule has not
 * come yet does not ask again with every frame. It remembers the destinations that got
 * the bit in a table of `slots` entries, WAYS to a set: an entry older than the
 * interval is free again. A destination whose set is full of live ones is not
 * remembered (counted): its frames keep the bit until a way frees up, and the
 * destinations remembered before it keep their limit (evicting one would have it and
 * the next take turns, each frame with the bit). With sets of 8, a storm of 100,000 new
 * destinations an interval in the default table leaves about 0.3 % of them
 * unremembered (sets overflowing at random). It replaced a direct-mapped table of
 * 16,384 slots, which forgot nearly every destination of such a storm (issue 12).
 */
#ifndef FORWARDER_LEARNLIM_H
#define FORWARDER_LEARNLIM_H

#include <stdbool.h>
#include <stdint.h>

#define LEARNLIM_WAYS		8
#define LEARNLIM_SLOTS_MIN	1024
#define LEARNLIM_SLOTS_MAX	(1u << 24)
#define LEARNLIM_SLOTS_DEFAULT	262144	/* 4 MB: storms of ~130,000 destinations */

struct learnlim;

/* slots: a power of two in LEARNLIM_SLOTS_MIN..LEARNLIM_SLOTS_MAX. NULL: no memory. */
struct learnlim *learnlim_new(uint32_t slots, uint64_t interval_ns);
void learnlim_free(struct learnlim *l);
/*
 * Whether a frame to (vni, ip) may carry the learn bit at now_ns (now_ns > 0); when it
 * may, it is remembered, or *full is set: its set holds live destinations only.
 */
bool learnlim_allow(struct learnlim *l, uint32_t vni, uint32_t ip, uint64_t now_ns,
    bool *full);

#endif
