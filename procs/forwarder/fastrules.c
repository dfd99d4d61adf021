/*
 * fastrules: the XDP program's rule cache, written through the forwarder's mapping of
 * its map (fastrules.h).
 */
#include "procs/forwarder/fastrules.h"

#include <assert.h>
#include <string.h>

uint32_t
fastrules_buckets(uint32_t rules)
{
	uint32_t n = rules / XDP_FAST_WAYS + (rules % XDP_FAST_WAYS != 0);

	return n ? n : 1;
}

static uint32_t
used_now(uint64_t now)
{
	return (uint32_t)(now >> XDP_FAST_USED_SHIFT);
}

/*
 * The seqlock's writer. The odd seq is stored before the fields (the release fence), the
 * even one after them (the release store): a reader that saw the same even seq before
 * and after its reads (xdp_vxlan.bpf.c's rule_find, fastrules_get) read no field of a
 * write in progress. On x86 both are plain stores in order.
 */
static void
slot_write(struct xdp_fast_slot *s, uint32_t vni, uint32_t ip, const struct xdp_fast_rule *r,
    uint32_t used)
{
	uint32_t seq = s->seq;

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->vni, vni, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ip, ip, __ATOMIC_RELAXED);
	if (r) {
		memcpy(s->mac, r->mac, sizeof(s->mac));
		s->port = r->port;
		s->vtep = r->vtep;
		s->vgen = r->vgen;
	}
	__atomic_store_n(&s->used, used, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static void
slot_copy(struct xdp_fast_rule *r, const struct xdp_fast_slot *s)
{
	memcpy(r->mac, s->mac, sizeof(r->mac));
	r->port = s->port;
	r->vtep = s->vtep;
	r->vgen = s->vgen;
}

static struct xdp_fast_bucket *
bucket(const struct fastrules *t, uint32_t vni, uint32_t ip, int which)
{
	return &t->b[xdp_fast_bucket_of(vni, ip, t->seed, t->n, which)];
}

/* The key's slot; NULL: not in the cache. Only the writer reads this way. */
static struct xdp_fast_slot *
slot_find(const struct fastrules *t, const struct xdp_fast_key *k)
{
	for (int c = 0; c < 2; c++) {
		struct xdp_fast_bucket *b = bucket(t, k->vni, k->ip, c);

		for (int w = 0; w < XDP_FAST_WAYS; w++)
			if (b->slot[w].vni == k->vni && b->slot[w].ip == k->ip)
				return &b->slot[w];
	}
	return NULL;
}

static struct xdp_fast_slot *
slot_free(struct xdp_fast_bucket *b)
{
	for (int w = 0; w < XDP_FAST_WAYS; w++)
		if (b->slot[w].vni == 0)
			return &b->slot[w];
	return NULL;
}

/*
 * A slot of b emptied by moving its rule to a free slot of that rule's other bucket,
 * written there first so that a reader finds it in one or the other throughout.
 */
static struct xdp_fast_slot *
slot_make_room(struct fastrules *t, struct xdp_fast_bucket *b)
{
	for (int w = 0; w < XDP_FAST_WAYS; w++) {
		struct xdp_fast_slot *s = &b->slot[w], *to;
		struct xdp_fast_bucket *o = bucket(t, s->vni, s->ip, 0);
		struct xdp_fast_rule r;

		if (o == b)
			o = bucket(t, s->vni, s->ip, 1);
		if (o == b || (to = slot_free(o)) == NULL)
			continue;
		slot_copy(&r, s);
		slot_write(to, s->vni, s->ip, &r,
		    __atomic_load_n(&s->used, __ATOMIC_RELAXED));
		return s;
	}
	return NULL;
}

enum fastrules_put
fastrules_put(struct fastrules *t, const struct xdp_fast_key *k, const struct xdp_fast_rule *r,
    uint64_t now)
{
	struct xdp_fast_bucket *b0 = bucket(t, k->vni, k->ip, 0);
	struct xdp_fast_bucket *b1 = bucket(t, k->vni, k->ip, 1);
	struct xdp_fast_slot *s, *victim = NULL;
	enum fastrules_put how = FASTRULES_NEW;

	assert(k->vni != 0);	/* a free slot's */
	if ((s = slot_find(t, k)) != NULL)
		how = FASTRULES_UPDATED;
	else if ((s = slot_free(b0)) == NULL && (s = slot_free(b1)) == NULL) {
		how = FASTRULES_MOVED;
		if ((s = slot_make_room(t, b0)) == NULL && (s = slot_make_room(t, b1)) == NULL) {
			/* The one relayed by least lately; used is the program's to write too. */
			for (int c = 0; c < 2; c++)
				for (int w = 0; w < XDP_FAST_WAYS; w++) {
					struct xdp_fast_slot *v = &(c ? b1 : b0)->slot[w];

					if (!victim || (int32_t)(__atomic_load_n(&v->used,
					    __ATOMIC_RELAXED) - __atomic_load_n(&victim->used,
					    __ATOMIC_RELAXED)) < 0)
						victim = v;
				}
			s = victim;
			how = FASTRULES_EVICTED;
		}
	}
	slot_write(s, k->vni, k->ip, r, used_now(now));
	return how;
}

bool
fastrules_del(struct fastrules *t, const struct xdp_fast_key *k)
{
	struct xdp_fast_slot *s = slot_find(t, k);

	if (!s)
		return false;
	slot_write(s, 0, 0, NULL, 0);
	return true;
}

bool
fastrules_get(const struct fastrules *t, const struct xdp_fast_key *k, struct xdp_fast_rule *r)
{
	for (int c = 0; c < 2; c++) {
		struct xdp_fast_bucket *b = bucket(t, k->vni, k->ip, c);

		for (int w = 0; w < XDP_FAST_WAYS; w++) {
			struct xdp_fast_slot *s = &b->slot[w];
			uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

			if (__atomic_load_n(&s->vni, __ATOMIC_RELAXED) != k->vni ||
			    __atomic_load_n(&s->ip, __ATOMIC_RELAXED) != k->ip)
				continue;
			slot_copy(r, s);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			return (seq & 1) == 0 && __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq;
		}
	}
	return false;
}
