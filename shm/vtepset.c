/*
 * vtepset: see vtepset.h. Invariant: the published copy (copy[pub & 1], whose seq equals
 * pub) is a whole set; the writer only ever changes the other copy, or this one after it
 * stopped being the published one. Between two changes both copies hold the same
 * addresses in the same slots, since the same changes are made to both in the same order
 * (insertion and backward-shift deletion are deterministic).
 */
#include "shm/vtepset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHELINE	64

struct vtepset_hdr {
	uint32_t max;		/* addresses held at most */
	uint32_t slots;		/* per copy: a power of two, at least 2 x max */
	uint64_t pub;		/* copy[pub & 1] is the one to read; each change adds 1 */
	uint32_t loaded;	/* 1 once the whole list was stored */
	uint8_t _pad[44];
};
_Static_assert(sizeof(struct vtepset_hdr) == CACHELINE, "vtepset_hdr layout changed");

/* A copy: this header, then `slots` addresses (0: empty). */
struct vtepset_copy {
	uint64_t seq;		/* == pub while whole and published; 0 while being changed */
	uint32_t count;
	uint8_t _pad[52];
	uint32_t slot[];
};
_Static_assert(sizeof(struct vtepset_copy) == CACHELINE, "vtepset_copy layout changed");

struct vtepset {
	struct seg seg;
	struct vtepset_hdr *h;
	struct vtepset_copy *copy[2];
	uint32_t mask;
};

enum { OP_ADD, OP_DEL };

static size_t
hdr_off(void)
{
	return (sizeof(struct seg_hdr) + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
}

static size_t
copy_size(uint32_t slots)
{
	return sizeof(struct vtepset_copy) + (size_t)slots * sizeof(uint32_t);
}

static size_t
vtepset_size(uint32_t slots)
{
	return hdr_off() + sizeof(struct vtepset_hdr) + 2 * copy_size(slots);
}

static uint32_t
slots_for(uint32_t max)
{
	uint32_t n = 16;

	while (n < 2 * max)
		n *= 2;
	return n;
}

static uint32_t
home(const struct vtepset *v, uint32_t ip)
{
	return ((ip * 0x9e3779b1u) ^ (ip >> 16)) & v->mask;
}

static void
bind(struct vtepset *v)
{
	uint8_t *c = seg_ptr(&v->seg, hdr_off() + sizeof(struct vtepset_hdr));

	v->h = seg_ptr(&v->seg, hdr_off());
	v->mask = v->h->slots - 1;
	v->copy[0] = (struct vtepset_copy *)c;
	v->copy[1] = (struct vtepset_copy *)(c + copy_size(v->h->slots));
}

/*
 * Probe c for ip: its slot, or -1. Bounded by the size, so a copy being rewritten under
 * a reader (which then retries) cannot keep it here.
 */
static int32_t
probe(const struct vtepset *v, const struct vtepset_copy *c, uint32_t ip)
{
	uint32_t i = home(v, ip);

	for (uint32_t n = 0; n <= v->mask; n++, i = (i + 1) & v->mask) {
		uint32_t s = __atomic_load_n(&c->slot[i], __ATOMIC_RELAXED);

		if (s == ip)
			return (int32_t)i;
		if (s == 0)
			return -1;
	}
	return -1;
}

static void
slot_set(struct vtepset_copy *c, uint32_t i, uint32_t ip)
{
	__atomic_store_n(&c->slot[i], ip, __ATOMIC_RELAXED);
}

/* Writer: the change itself, on copy c (which no reader is told to use). */
static void
change_copy(struct vtepset *v, struct vtepset_copy *c, int op, uint32_t ip)
{
	int32_t at = probe(v, c, ip);
	uint32_t i, j, k;

	if (op == OP_ADD) {
		if (at >= 0)
			return;
		for (i = home(v, ip); c->slot[i] != 0; i = (i + 1) & v->mask)
			;
		slot_set(c, i, ip);
		c->count++;
		return;
	}
	if (at < 0)
		return;
	/* Backward shift: no tombstones, so a lookup stops at the first empty slot. */
	i = (uint32_t)at;
	for (j = (i + 1) & v->mask; c->slot[j] != 0; j = (j + 1) & v->mask) {
		k = home(v, c->slot[j]);
		/* Stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		slot_set(c, i, c->slot[j]);
		i = j;
	}
	slot_set(c, i, 0);
	c->count--;
}

/* Open c for a change: a reader that used it sees seq move and tries again. */
static void
copy_open(struct vtepset_copy *c)
{
	__atomic_store_n(&c->seq, 0, __ATOMIC_RELAXED);
	/* Pairs with the reader's acquire fence before it re-reads seq. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Writer: one change, published, then made to the other copy too. */
static void
change(struct vtepset *v, int op, uint32_t ip)
{
	uint64_t next = v->h->pub + 1;
	struct vtepset_copy *c = v->copy[next & 1], *old = v->copy[(next & 1) ^ 1];

	copy_open(c);
	change_copy(v, c, op, ip);
	/* Pairs with the reader's acquire load of seq: the slots are in place first. */
	__atomic_store_n(&c->seq, next, __ATOMIC_RELEASE);
	__atomic_store_n(&v->h->pub, next, __ATOMIC_RELEASE);
	copy_open(old);
	change_copy(v, old, op, ip);
}

/* Writer, on re-attach: the other copy may be half changed (its writer was killed). */
static void
resync(struct vtepset *v)
{
	uint64_t pub = v->h->pub;
	const struct vtepset_copy *c = v->copy[pub & 1];
	struct vtepset_copy *o = v->copy[(pub & 1) ^ 1];

	copy_open(o);
	for (uint32_t i = 0; i <= v->mask; i++)
		slot_set(o, i, c->slot[i]);
	o->count = c->count;
}

int
vtepset_create(struct vtepset **vp, const char *node, const char *proc, uint32_t max,
    char *err, size_t errlen)
{
	struct vtepset *v;
	uint32_t slots;
	int r;

	if (max < 1 || max > VTEPSET_MAX_LIMIT) {
		snprintf(err, errlen, "vtepset: max must be 1..%u", VTEPSET_MAX_LIMIT);
		return -EINVAL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -ENOMEM;
	slots = slots_for(max);
	r = seg_create(&v->seg, node, proc, "vteps", SEG_KIND_VTEPS, VTEPSET_LAYOUT,
	    vtepset_size(slots));
	if (r < 0) {
		snprintf(err, errlen, "%s", v->seg.err);
		free(v);
		return r;
	}
	if (v->seg.created) {
		struct vtepset_hdr *h = seg_ptr(&v->seg, hdr_off());

		h->max = max;
		h->slots = slots;
	}
	bind(v);
	if (v->h->max != max) {
		snprintf(err, errlen, "%s/%s: made for %u VTEPs, not %u: stop its users and "
		    "remove it", SEG_DIR, v->seg.name, v->h->max, max);
		seg_detach(&v->seg);
		free(v);
		return -EPROTO;
	}
	if (!v->seg.created)
		resync(v);
	*vp = v;
	return 0;
}

int
vtepset_attach(struct vtepset **vp, const char *node, const char *proc, char *err,
    size_t errlen)
{
	struct vtepset *v = calloc(1, sizeof(*v));
	char name[SEG_NAME_MAX];
	const struct vtepset_hdr *h;
	int r;

	if (v == NULL)
		return -ENOMEM;
	if ((r = seg_name(name, sizeof(name), node, proc, "vteps")) < 0 ||
	    (r = seg_attach(&v->seg, name, SEG_KIND_VTEPS, VTEPSET_LAYOUT, 0, SEG_RDONLY)) < 0) {
		snprintf(err, errlen, "%s", r == -EINVAL ? "vtepset: bad node name" : v->seg.err);
		free(v);
		return r;
	}
	h = seg_ptr(&v->seg, hdr_off());
	if (v->seg.size < vtepset_size(16) || h->slots < 16 || (h->slots & (h->slots - 1)) ||
	    h->slots > slots_for(VTEPSET_MAX_LIMIT) || vtepset_size(h->slots) != v->seg.size ||
	    h->max == 0 || 2 * (uint64_t)h->max > h->slots) {
		snprintf(err, errlen, "%s/%s: VTEP set does not match the segment", SEG_DIR,
		    name);
		seg_detach(&v->seg);
		free(v);
		return -EPROTO;
	}
	bind(v);
	*vp = v;
	return 0;
}

void
vtepset_close(struct vtepset *v)
{
	if (v == NULL)
		return;
	seg_detach(&v->seg);
	free(v);
}

bool
vtepset_has(const struct vtepset *v, uint32_t ip)
{
	if (ip == 0)
		return false;
	for (;;) {
		uint64_t pub = __atomic_load_n(&v->h->pub, __ATOMIC_ACQUIRE);
		const struct vtepset_copy *c = v->copy[pub & 1];
		/* Pairs with the writer's release store of seq when it published c. */
		uint64_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		bool found = probe(v, c, ip) >= 0;

		/* Pairs with copy_open's release fence: a slot it changed shows in seq. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (s1 == pub && __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == pub)
			return found;
	}
}

bool
vtepset_loaded(const struct vtepset *v)
{
	/* Pairs with the release store in vtepset_set_loaded, after the list's changes. */
	return __atomic_load_n(&v->h->loaded, __ATOMIC_ACQUIRE) != 0;
}

uint32_t
vtepset_count(const struct vtepset *v)
{
	for (;;) {
		uint64_t pub = __atomic_load_n(&v->h->pub, __ATOMIC_ACQUIRE);
		const struct vtepset_copy *c = v->copy[pub & 1];
		uint64_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		uint32_t n = __atomic_load_n(&c->count, __ATOMIC_RELAXED);

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (s1 == pub && __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == pub)
			return n;
	}
}

uint32_t
vtepset_max(const struct vtepset *v)
{
	return v->h->max;
}

uint64_t
vtepset_generation(const struct vtepset *v)
{
	return __atomic_load_n(&v->h->pub, __ATOMIC_ACQUIRE);
}

uint32_t
vtepset_list(const struct vtepset *v, uint32_t *out, uint32_t max)
{
	for (;;) {
		uint64_t pub = __atomic_load_n(&v->h->pub, __ATOMIC_ACQUIRE);
		const struct vtepset_copy *c = v->copy[pub & 1];
		uint64_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		uint32_t n = 0;

		for (uint32_t i = 0; i <= v->mask && n < max; i++) {
			uint32_t s = __atomic_load_n(&c->slot[i], __ATOMIC_RELAXED);

			if (s != 0)
				out[n++] = s;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (s1 == pub && __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == pub)
			return n;
	}
}

int
vtepset_add(struct vtepset *v, uint32_t ip)
{
	const struct vtepset_copy *c = v->copy[v->h->pub & 1];

	if (ip == 0)
		return -EINVAL;
	if (probe(v, c, ip) >= 0)
		return 0;
	if (c->count >= v->h->max)
		return -ENOSPC;
	change(v, OP_ADD, ip);
	return 0;
}

int
vtepset_del(struct vtepset *v, uint32_t ip)
{
	if (ip == 0 || probe(v, v->copy[v->h->pub & 1], ip) < 0)
		return -ENOENT;
	change(v, OP_DEL, ip);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
vtepset_replace(struct vtepset *v, const uint32_t *ips, size_t n)
{
	uint32_t *want = malloc((n ? n : 1) * sizeof(*want));
	uint32_t *have = malloc((size_t)v->h->max * sizeof(*have)), nhave;
	int rc = 0;

	if (want == NULL || have == NULL) {
		free(want);
		free(have);
		return -ENOMEM;
	}
	if (n > 0) {		/* ips may be NULL for an empty list */
		memcpy(want, ips, n * sizeof(*want));
		qsort(want, n, sizeof(*want), cmp_u32);
	}
	nhave = vtepset_list(v, have, v->h->max);
	for (uint32_t i = 0; i < nhave; i++)
		if (bsearch(&have[i], want, n, sizeof(*want), cmp_u32) == NULL)
			change(v, OP_DEL, have[i]);
	for (size_t i = 0; i < n; i++)
		if (want[i] != 0 && vtepset_add(v, want[i]) == -ENOSPC)
			rc = -ENOSPC;
	free(want);
	free(have);
	return rc;
}

void
vtepset_set_loaded(struct vtepset *v)
{
	__atomic_store_n(&v->h->loaded, 1, __ATOMIC_RELEASE);
}

void
vtepset_heartbeat(struct vtepset *v)
{
	seg_heartbeat(&v->seg);
}
