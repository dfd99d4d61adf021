/*
 * ports: a host's local port table, vpcfwd.<node>.learner.ports: the VMs bound to this
 * host (VNI, IP, MAC, TAP name), written by the learner from the controller's binding
 * feed, read by the host's forwarder to deliver frames to local VMs and to answer their
 * ARP (DESIGN.md §3.9).
 *
 * A small fixed array of slots. Each slot is double-buffered like a VNI's state in the
 * rule table: the writer fills the copy readers are not told to use, then flips the
 * slot's sequence, so a reader never waits and never sees half a port, and a writer
 * killed mid-change leaves the published copy whole. `generation` rises with every
 * change, so a reader can cache the table and re-read it only when it moved.
 */
#ifndef SHM_PORTS_H
#define SHM_PORTS_H

#include "shm/seg.h"

#include <stdbool.h>
#include <stdint.h>

#define PORTS_LAYOUT	1
#define PORTS_TAP_MAX	16	/* IFNAMSIZ, NUL included */

struct port {
	uint32_t vni;
	uint32_t ip;		/* host byte order */
	uint8_t mac[6];
	uint8_t in_use;
	uint8_t _pad;
	char tap[PORTS_TAP_MAX];
};

struct ports;

/* Learner: create or re-attach (a restart keeps the ports). */
int ports_create(struct ports **pp, const char *node, uint32_t max_ports, char *err,
    size_t errlen);
/* Forwarder: attach read-only. */
int ports_attach(struct ports **pp, const char *node, char *err, size_t errlen);
void ports_close(struct ports *p);

uint32_t ports_max(const struct ports *p);
/* Changes since creation; re-read the table when it moved. */
uint64_t ports_generation(const struct ports *p);
/* Slot i as a consistent copy; false when the slot is free. */
bool ports_get(const struct ports *p, uint32_t i, struct port *out);
/* The port of (vni, ip): its slot, or -1. */
int ports_find(const struct ports *p, uint32_t vni, uint32_t ip, struct port *out);

/* Learner: add or replace the port of (vni, ip). 0, or -ENOSPC when the table is full. */
int ports_set(struct ports *p, const struct port *port);
/* Learner: remove the port of (vni, ip); 0 or -ENOENT. */
int ports_del(struct ports *p, uint32_t vni, uint32_t ip);
/*
 * Learner, around a snapshot of the binding feed: ports_mark_all, then ports_set for each
 * port of the snapshot (which unmarks it), then ports_sweep removes the ports still
 * marked (bound no more) and returns how many.
 */
void ports_mark_all(struct ports *p);
uint32_t ports_sweep(struct ports *p);
/* Learner: store the heartbeat. */
void ports_heartbeat(struct ports *p);

#endif
