/*
 * vports: a host's local VM ports as the forwarder holds them: the learner's port table
 * (shm/ports.h) mirrored slot for slot, each with its TAP open, and a hash from (VNI, IP)
 * to the port for the data path. A port the learner removes has its TAP destroyed once
 * no read or write is in flight on it; a TAP that cannot be opened is tried again.
 */
#ifndef FORWARDER_VPORTS_H
#define FORWARDER_VPORTS_H

#include "common/loop.h"
#include "shm/ports.h"

#include <stdbool.h>
#include <stdint.h>

struct vport {
	struct port port;	/* as the learner published it */
	int fd;			/* the TAP; -1 while not open */
	uint32_t inflight;	/* the data path's reads and writes on fd */
	uint32_t reads;		/* of which reads */
	bool used;		/* the slot holds a port */
	bool closing;		/* waiting for inflight to drain, then closed */
	bool reopen;		/* closing to open again (the device failed) */
	uint64_t retry_ns;	/* when to try opening again */
	uint64_t backoff_ns;	/* after the next failure */
	struct loop_op cancel;
	struct vports *vp;
};

struct vports_params {
	int mtu;
	bool tap_netns;		/* open each TAP in /run/netns/<tap> when that exists */
	const char *netns_dir;	/* "/run/netns" */
};

/* A TAP was opened: the data path starts reading it. */
typedef void vports_open_fn(struct vport *v, void *arg);

struct vports;

struct vports *vports_new(struct loop *l, const struct vports_params *p, uint32_t max,
    vports_open_fn *fn, void *arg);
/* Closes every TAP, keeping the devices (a restart attaches them again). */
void vports_free(struct vports *vp);

/*
 * Follow the port table: open, close and retry TAPs. Cheap when nothing changed.
 * Returns the number of ports with an open TAP.
 */
uint32_t vports_sync(struct vports *vp, const struct ports *pt);
/* After an operation on v completed: closes it when it was the last of a closing port. */
void vports_op_done(struct vport *v);
/* The TAP failed: close it (keeping the device) and open it again a little later. */
void vports_reopen(struct vport *v);
/* The open port of (vni, ip), or NULL. */
struct vport *vports_find(const struct vports *vp, uint32_t vni, uint32_t ip);
struct vport *vports_at(struct vports *vp, uint32_t slot);
uint32_t vports_max(const struct vports *vp);
/* TAPs that failed to open, since start. */
uint64_t vports_errors(const struct vports *vp);

#endif
