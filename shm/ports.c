/*
 * ports: see ports.h. Invariant: a slot's published copy (copy[pub & 1]) is whole; the
 * writer only ever writes the other one, then publishes it with a release store.
 */
#include "shm/ports.h"

#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct port_copy {
	uint64_t seq;		/* == the slot's pub when whole; 0 while being written */
	struct port port;
};

struct port_slot {
	struct port_copy copy[2];
	uint64_t pub;
	uint8_t marked;		/* writer only: ports_mark_all / ports_sweep */
	uint8_t _pad[7];
};

struct ports_hdr {
	uint32_t max;
	uint32_t _pad;
	uint64_t generation;
	uint8_t _pad2[48];
};

struct ports {
	struct seg seg;
	struct ports_hdr *h;
	struct port_slot *slot;
};

static size_t
hdr_off(void)
{
	return (sizeof(struct seg_hdr) + 63) & ~(size_t)63;
}

static size_t
ports_size(uint32_t max)
{
	return hdr_off() + sizeof(struct ports_hdr) + (size_t)max * sizeof(struct port_slot);
}

static void
bind(struct ports *p)
{
	p->h = seg_ptr(&p->seg, hdr_off());
	p->slot = seg_ptr(&p->seg, hdr_off() + sizeof(struct ports_hdr));
}

int
ports_create(struct ports **pp, const char *node, uint32_t max_ports, char *err,
    size_t errlen)
{
	struct ports *p = calloc(1, sizeof(*p));
	int r;

	if (p == NULL)
		return -ENOMEM;
	if (max_ports < 1 || max_ports > 65536) {
		snprintf(err, errlen, "ports: max_ports must be 1..65536");
		free(p);
		return -EINVAL;
	}
	r = seg_create(&p->seg, node, "learner", "ports", SEG_KIND_PORTS, PORTS_LAYOUT,
	    ports_size(max_ports));
	if (r < 0) {
		snprintf(err, errlen, "%s", p->seg.err);
		free(p);
		return r;
	}
	bind(p);
	if (p->seg.created)
		p->h->max = max_ports;
	*pp = p;
	return 0;
}

int
ports_attach(struct ports **pp, const char *node, char *err, size_t errlen)
{
	struct ports *p = calloc(1, sizeof(*p));
	char name[SEG_NAME_MAX];
	int r;

	if (p == NULL)
		return -ENOMEM;
	if ((r = seg_name(name, sizeof(name), node, "learner", "ports")) < 0 ||
	    (r = seg_attach(&p->seg, name, SEG_KIND_PORTS, PORTS_LAYOUT, 0, SEG_RDONLY)) < 0) {
		snprintf(err, errlen, "%s", r == -EINVAL ? "ports: bad node name" : p->seg.err);
		free(p);
		return r;
	}
	bind(p);
	if (p->seg.size < ports_size(1) || ports_size(p->h->max) != p->seg.size) {
		snprintf(err, errlen, "%s/%s: port table does not match the segment", SEG_DIR,
		    name);
		seg_detach(&p->seg);
		free(p);
		return -EPROTO;
	}
	*pp = p;
	return 0;
}

void
ports_close(struct ports *p)
{
	if (p == NULL)
		return;
	seg_detach(&p->seg);
	free(p);
}

uint32_t
ports_max(const struct ports *p)
{
	return p->h->max;
}

uint64_t
ports_generation(const struct ports *p)
{
	return __atomic_load_n(&p->h->generation, __ATOMIC_ACQUIRE);
}

bool
ports_get(const struct ports *p, uint32_t i, struct port *out)
{
	const struct port_slot *s = &p->slot[i];

	for (;;) {
		uint64_t pub = __atomic_load_n(&s->pub, __ATOMIC_ACQUIRE);
		const struct port_copy *c = &s->copy[pub & 1];
		uint64_t s1 = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);

		memcpy(out, &c->port, sizeof(*out));
		/* Whole if the writer did not start rewriting this copy meanwhile. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (s1 == pub && __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == pub)
			break;
	}
	out->tap[PORTS_TAP_MAX - 1] = '\0';
	return out->in_use;
}

int
ports_find(const struct ports *p, uint32_t vni, uint32_t ip, struct port *out)
{
	for (uint32_t i = 0; i < p->h->max; i++)
		if (ports_get(p, i, out) && out->vni == vni && out->ip == ip)
			return (int)i;
	return -1;
}

/* Writer: publish port (or a free slot when port is NULL) in slot i. */
static void
publish(struct ports *p, uint32_t i, const struct port *port)
{
	struct port_slot *s = &p->slot[i];
	uint64_t next = s->pub + 1;
	struct port_copy *c = &s->copy[next & 1];

	__atomic_store_n(&c->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (port)
		c->port = *port;
	else
		memset(&c->port, 0, sizeof(c->port));
	c->port.in_use = port != NULL;
	__atomic_store_n(&c->seq, next, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pub, next, __ATOMIC_RELEASE);
	__atomic_store_n(&p->h->generation, p->h->generation + 1, __ATOMIC_RELEASE);
}

int
ports_set(struct ports *p, const struct port *port)
{
	struct port cur;
	int free_slot = -1;

	for (uint32_t i = 0; i < p->h->max; i++) {
		if (!ports_get(p, i, &cur)) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (cur.vni == port->vni && cur.ip == port->ip) {
			p->slot[i].marked = 0;
			if (memcmp(&cur, port, offsetof(struct port, in_use)) != 0 ||
			    strncmp(cur.tap, port->tap, PORTS_TAP_MAX) != 0)
				publish(p, i, port);
			return 0;
		}
	}
	if (free_slot < 0)
		return -ENOSPC;
	p->slot[free_slot].marked = 0;
	publish(p, (uint32_t)free_slot, port);
	return 0;
}

int
ports_del(struct ports *p, uint32_t vni, uint32_t ip)
{
	struct port cur;
	int i = ports_find(p, vni, ip, &cur);

	if (i < 0)
		return -ENOENT;
	publish(p, (uint32_t)i, NULL);
	return 0;
}

void
ports_mark_all(struct ports *p)
{
	for (uint32_t i = 0; i < p->h->max; i++)
		p->slot[i].marked = 1;
}

uint32_t
ports_sweep(struct ports *p)
{
	struct port cur;
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->h->max; i++) {
		if (p->slot[i].marked && ports_get(p, i, &cur)) {
			publish(p, i, NULL);
			n++;
		}
		p->slot[i].marked = 0;
	}
	return n;
}

void
ports_heartbeat(struct ports *p)
{
	seg_heartbeat(&p->seg);
}
