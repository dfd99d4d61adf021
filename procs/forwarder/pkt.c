/*
 * pkt: see pkt.h. The buffers are one allocation, page aligned (an AF_XDP UMEM must be).
 */
#include "pkt.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
pkt_pool_init(struct pkt_pool *pp, uint32_t n)
{
	memset(pp, 0, sizeof(*pp));
	if ((pp->p = calloc(n, sizeof(*pp->p))) == NULL ||
	    (pp->mem = aligned_alloc(PKT_UMEM_ALIGN, pkt_pool_bytes(n))) == NULL) {
		free(pp->p);
		return -ENOMEM;
	}
	pp->n = n;
	pp->free_head = PKT_NONE;
	for (uint32_t i = n; i-- > 0;) {
		pp->p[i].buf = pp->mem + (size_t)i * PKT_SIZE;
		pkt_put(pp, &pp->p[i]);
	}
	return 0;
}

void
pkt_pool_free(struct pkt_pool *pp)
{
	free(pp->p);
	free(pp->mem);
	memset(pp, 0, sizeof(*pp));
}

struct pkt *
pkt_get(struct pkt_pool *pp)
{
	struct pkt *p;

	if (pp->free_head == PKT_NONE)
		return NULL;
	p = &pp->p[pp->free_head];
	pp->free_head = p->next;
	pp->nfree--;
	return p;
}

void
pkt_put(struct pkt_pool *pp, struct pkt *p)
{
	uint32_t i = (uint32_t)(p - pp->p);

	assert(i < pp->n);
	p->next = pp->free_head;
	pp->free_head = i;
	pp->nfree++;
}
