/*
 * learnlim: see learnlim.h. Invariant: a destination is in at most one way of its set,
 * the one mix64(vni, ip) picks; at == 0 marks a way never used.
 */
#include "learnlim.h"
#include "common/mix.h"

#include <stdlib.h>

struct learnlim_way {
	uint32_t vni, ip;
	uint64_t at;		/* when it last got the learn bit */
};

_Static_assert(sizeof(struct learnlim_way) * LEARNLIM_WAYS == 128, "a set is two cache lines");

struct learnlim {
	uint64_t interval_ns;
	uint32_t mask;		/* sets - 1 */
	struct learnlim_way *ways;
};

struct learnlim *
learnlim_new(uint32_t slots, uint64_t interval_ns)
{
	struct learnlim *l;

	if (slots < LEARNLIM_SLOTS_MIN || slots > LEARNLIM_SLOTS_MAX || (slots & (slots - 1)))
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->ways = aligned_alloc(64, slots * sizeof(*l->ways))) == NULL) {
		free(l);
		return NULL;
	}
	for (uint32_t i = 0; i < slots; i++)
		l->ways[i] = (struct learnlim_way){ 0 };
	l->interval_ns = interval_ns;
	l->mask = slots / LEARNLIM_WAYS - 1;
	return l;
}

void
learnlim_free(struct learnlim *l)
{
	if (l == NULL)
		return;
	free(l->ways);
	free(l);
}

bool
learnlim_allow(struct learnlim *l, uint32_t vni, uint32_t ip, uint64_t now_ns, bool *full)
{
	struct learnlim_way *set = &l->ways[(mix64((uint64_t)vni << 32 | ip) & l->mask) *
	    LEARNLIM_WAYS], *free_way = NULL;

	*full = false;
	for (int w = 0; w < LEARNLIM_WAYS; w++) {
		struct learnlim_way *x = &set[w];
		bool live = x->at != 0 && now_ns - x->at < l->interval_ns;

		if (x->at != 0 && x->vni == vni && x->ip == ip) {
			if (live)
				return false;
			x->at = now_ns;
			return true;
		}
		if (!live && free_way == NULL)
			free_way = x;
	}
	if (free_way == NULL)
		*full = true;
	else
		*free_way = (struct learnlim_way){ .vni = vni, .ip = ip, .at = now_ns };
	return true;
}
