/*
 * park: see park.h. Requests live in slots; each VNI a request names points back at its
 * slot through a per-VNI list of (slot, generation) pairs. A slot's generation rises
 * when it is freed, so entries of a request that already left (through another of its
 * VNIs, or its deadline) are recognised as stale and dropped when met: removal is O(1)
 * and the index never needs a search.
 */
#include "park.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VNI_BUCKETS	4096

struct slot {
	struct sync_req req;
	struct sockaddr_in from;
	uint64_t deadline_ns;
	uint32_t gen;
	uint32_t next_free;
	bool used;
};

struct ref {
	uint32_t slot, gen;
};

struct vni_list {
	uint32_t vni;
	uint32_t n, cap;
	struct ref *refs;
	struct vni_list *next;
};

struct park {
	struct slot *slots;
	uint32_t max, count, free_head;
	struct vni_list *buckets[VNI_BUCKETS];
};

#define NONE	UINT32_MAX

struct park *
park_new(uint32_t max)
{
	struct park *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->slots = calloc(max, sizeof(*p->slots))) == NULL) {
		free(p);
		return NULL;
	}
	p->max = max;
	for (uint32_t i = 0; i < max; i++)
		p->slots[i].next_free = i + 1 < max ? i + 1 : NONE;
	p->free_head = 0;
	return p;
}

void
park_free(struct park *p)
{
	if (p == NULL)
		return;
	for (int b = 0; b < VNI_BUCKETS; b++) {
		for (struct vni_list *l = p->buckets[b], *next; l; l = next) {
			next = l->next;
			free(l->refs);
			free(l);
		}
	}
	free(p->slots);
	free(p);
}

static struct vni_list **
bucket(struct park *p, uint32_t vni)
{
	return &p->buckets[(vni * 0x9e3779b1u) >> 20 & (VNI_BUCKETS - 1)];
}

static struct vni_list *
list_of(struct park *p, uint32_t vni, bool create)
{
	struct vni_list **b = bucket(p, vni), *l;

	for (l = *b; l; l = l->next)
		if (l->vni == vni)
			return l;
	if (!create || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->vni = vni;
	l->next = *b;
	*b = l;
	return l;
}

static bool
live(const struct park *p, struct ref r)
{
	return p->slots[r.slot].used && p->slots[r.slot].gen == r.gen;
}

/* Drop the refs of requests that left, so a list never grows past its live ones twice. */
static void
compact(struct park *p, struct vni_list *l)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < l->n; i++)
		if (live(p, l->refs[i]))
			l->refs[n++] = l->refs[i];
	l->n = n;
}

int
park_add(struct park *p, const struct sync_req *req, const struct sockaddr_in *from,
    uint64_t deadline_ns)
{
	uint32_t i = p->free_head;
	struct slot *s;

	if (i == NONE)
		return -ENOSPC;
	s = &p->slots[i];
	p->free_head = s->next_free;
	s->req = *req;
	s->from = *from;
	s->deadline_ns = deadline_ns;
	s->used = true;
	p->count++;
	for (uint8_t k = 0; k < req->count; k++) {
		struct vni_list *l = list_of(p, req->items[k].vni, true);

		if (l == NULL)
			continue;	/* out of memory: its deadline still answers it */
		if (l->n == l->cap) {
			compact(p, l);
			if (l->n == l->cap) {
				uint32_t cap = l->cap ? 2 * l->cap : 8;
				struct ref *r = realloc(l->refs, cap * sizeof(*r));

				if (r == NULL)
					continue;
				l->refs = r;
				l->cap = cap;
			}
		}
		l->refs[l->n++] = (struct ref){ .slot = i, .gen = s->gen };
	}
	return 0;
}

/* The request leaves: copy it out, free its slot, then answer it. */
static void
leave(struct park *p, uint32_t i, park_fn *fn, void *arg)
{
	struct slot *s = &p->slots[i];
	struct sync_req req = s->req;
	struct sockaddr_in from = s->from;

	s->used = false;
	s->gen++;
	s->next_free = p->free_head;
	p->free_head = i;
	p->count--;
	fn(arg, &req, &from);
}

uint32_t
park_wake(struct park *p, uint32_t vni, park_fn *fn, void *arg)
{
	struct vni_list *l = list_of(p, vni, false);
	struct ref *refs;
	uint32_t n, woken = 0;

	if (l == NULL || l->n == 0)
		return 0;
	/* Take the list: fn may park new requests on this VNI. */
	refs = l->refs;
	n = l->n;
	l->refs = NULL;
	l->n = l->cap = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!live(p, refs[i]))
			continue;
		leave(p, refs[i].slot, fn, arg);
		woken++;
	}
	free(refs);
	return woken;
}

uint32_t
park_expire(struct park *p, uint64_t now_ns, park_fn *fn, void *arg)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->max; i++) {
		if (p->slots[i].used && p->slots[i].deadline_ns <= now_ns) {
			leave(p, i, fn, arg);
			n++;
		}
	}
	return n;
}

uint32_t
park_count(const struct park *p)
{
	return p->count;
}
