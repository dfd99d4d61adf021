/*
 * park: see park.h. Requests live in slots: a slot is free, waiting or due. Each VNI a
 * waiting request names points back at its slot through a per-VNI list of (slot,
 * generation) pairs. A slot's generation rises when its request stops waiting, so
 * entries of a request that already left (through another of its VNIs, or its deadline)
 * are recognised as stale and dropped when met: removal is O(1) and the index never
 * needs a search. Waiting slots also sit in a min-heap by deadline (deadlines differ:
 * each request asks for its own wait), due slots in a FIFO. The big request bodies are
 * kept apart from the slots, so the heap and the lists walk small records.
 */
#include "park.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VNI_BUCKETS	4096

enum slot_state { SLOT_FREE, SLOT_WAITING, SLOT_DUE };

struct slot {
	struct sockaddr_in from;
	uint64_t deadline_ns;
	uint32_t gen;
	uint32_t next;		/* free list, or the due FIFO */
	uint32_t pos;		/* in the heap, while waiting */
	enum slot_state state;
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
	struct sync_req *reqs;	/* a slot's request, same index */
	uint32_t *heap;		/* waiting slots, earliest deadline first */
	uint32_t max, nwaiting, ndue, free_head, due_head, due_tail;
	struct vni_list *buckets[VNI_BUCKETS];
};

#define NONE	UINT32_MAX

struct park *
park_new(uint32_t max)
{
	struct park *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->slots = calloc(max, sizeof(*p->slots))) == NULL ||
	    (p->reqs = calloc(max, sizeof(*p->reqs))) == NULL ||
	    (p->heap = calloc(max, sizeof(*p->heap))) == NULL) {
		if (p != NULL) {
			free(p->slots);
			free(p->reqs);
		}
		free(p);
		return NULL;
	}
	p->max = max;
	for (uint32_t i = 0; i < max; i++)
		p->slots[i].next = i + 1 < max ? i + 1 : NONE;
	p->free_head = 0;
	p->due_head = p->due_tail = NONE;
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
	free(p->heap);
	free(p->reqs);
	free(p->slots);
	free(p);
}

/* --- the deadline heap ------------------------------------------------------------ */

static void
heap_put(struct park *p, uint32_t pos, uint32_t i)
{
	p->heap[pos] = i;
	p->slots[i].pos = pos;
}

static bool
earlier(const struct park *p, uint32_t a, uint32_t b)
{
	return p->slots[p->heap[a]].deadline_ns < p->slots[p->heap[b]].deadline_ns;
}

static void
sift_up(struct park *p, uint32_t pos)
{
	uint32_t i = p->heap[pos];

	while (pos > 0 && earlier(p, pos, (pos - 1) / 2)) {
		uint32_t up = (pos - 1) / 2;

		heap_put(p, pos, p->heap[up]);
		heap_put(p, up, i);
		pos = up;
	}
}

static void
sift_down(struct park *p, uint32_t pos)
{
	for (;;) {
		uint32_t l = 2 * pos + 1, r = l + 1, m = pos, i = p->heap[pos];

		if (l < p->nwaiting && earlier(p, l, m))
			m = l;
		if (r < p->nwaiting && earlier(p, r, m))
			m = r;
		if (m == pos)
			return;
		heap_put(p, pos, p->heap[m]);
		heap_put(p, m, i);
		pos = m;
	}
}

static void
heap_remove(struct park *p, uint32_t pos)
{
	uint32_t last = p->heap[--p->nwaiting];

	if (pos == p->nwaiting)
		return;
	heap_put(p, pos, last);
	sift_up(p, pos);
	sift_down(p, p->slots[last].pos);
}

/* --- the VNI index ------------------------------------------------------------------ */

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
	return p->slots[r.slot].state == SLOT_WAITING && p->slots[r.slot].gen == r.gen;
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

/* --- slots -------------------------------------------------------------------------- */

static int
take_slot(struct park *p, const struct sync_req *req, const struct sockaddr_in *from)
{
	uint32_t i = p->free_head;

	if (i == NONE)
		return -ENOSPC;
	p->free_head = p->slots[i].next;
	p->reqs[i] = *req;
	p->slots[i].from = *from;
	return (int)i;
}

static void
due_append(struct park *p, uint32_t i)
{
	p->slots[i].state = SLOT_DUE;
	p->slots[i].next = NONE;
	if (p->due_tail == NONE)
		p->due_head = i;
	else
		p->slots[p->due_tail].next = i;
	p->due_tail = i;
	p->ndue++;
}

/* It stops waiting: out of the heap, its VNI refs stale from now on, due. */
static void
to_due(struct park *p, uint32_t i)
{
	struct slot *s = &p->slots[i];

	assert(s->state == SLOT_WAITING && p->heap[s->pos] == i);
	heap_remove(p, s->pos);
	s->gen++;
	due_append(p, i);
}

int
park_add(struct park *p, const struct sync_req *req, const struct sockaddr_in *from,
    uint64_t deadline_ns)
{
	int i = take_slot(p, req, from);
	struct slot *s;

	if (i < 0)
		return i;
	s = &p->slots[i];
	s->deadline_ns = deadline_ns;
	s->state = SLOT_WAITING;
	heap_put(p, p->nwaiting++, (uint32_t)i);
	sift_up(p, s->pos);
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
		l->refs[l->n++] = (struct ref){ .slot = (uint32_t)i, .gen = s->gen };
	}
	return 0;
}

int
park_add_due(struct park *p, const struct sync_req *req, const struct sockaddr_in *from)
{
	int i = take_slot(p, req, from);

	if (i < 0)
		return i;
	due_append(p, (uint32_t)i);
	return 0;
}

uint32_t
park_wake(struct park *p, uint32_t vni)
{
	struct vni_list *l = list_of(p, vni, false);
	uint32_t woken = 0;

	if (l == NULL)
		return 0;
	for (uint32_t k = 0; k < l->n; k++) {
		if (!live(p, l->refs[k]))
			continue;
		to_due(p, l->refs[k].slot);
		woken++;
	}
	l->n = 0;	/* the array stays: the next requests on this VNI reuse it */
	return woken;
}

uint32_t
park_expire(struct park *p, uint64_t now_ns)
{
	uint32_t n = 0;

	while (p->nwaiting > 0 && p->slots[p->heap[0]].deadline_ns <= now_ns) {
		to_due(p, p->heap[0]);
		n++;
	}
	return n;
}

uint32_t
park_answer(struct park *p, park_fn *fn, void *arg)
{
	uint32_t n = 0, i;

	while ((i = p->due_head) != NONE) {
		if (fn(arg, &p->reqs[i], &p->slots[i].from) < 0)
			break;
		p->due_head = p->slots[i].next;
		if (p->due_head == NONE)
			p->due_tail = NONE;
		p->ndue--;
		p->slots[i].state = SLOT_FREE;
		p->slots[i].next = p->free_head;
		p->free_head = i;
		n++;
	}
	return n;
}

uint32_t
park_waiting(const struct park *p)
{
	return p->nwaiting;
}

uint32_t
park_due(const struct park *p)
{
	return p->ndue;
}
