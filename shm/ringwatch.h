/*
 * ringwatch: a ring's consumer inside an event loop. When the ring is empty it sleeps
 * through the loop (an io_uring futex wait on the ring's wake word, so the producer's
 * wake-up ends it at once), and calls back as soon as records are there; the callback
 * pops them. On a kernel whose io_uring cannot wait on a futex it polls instead, every
 * poll_ns. A ring that does not exist yet (its producer has not started) is attached
 * when it appears, checked every retry_ns.
 */
#ifndef SHM_RINGWATCH_H
#define SHM_RINGWATCH_H

#include "common/loop.h"
#include "shm/ring.h"

struct ringwatch;

/* Records are waiting: pop them (all, or the callback is called again at once). */
typedef void ringwatch_fn(struct ringwatch *w, struct ring *r, void *arg);

struct ringwatch_params {
	const char *segname;	/* vpcfwd.<node>.<producer>.<what> */
	uint32_t rec_size;
	uint32_t type_tag;
	uint64_t poll_ns;	/* without io_uring futex waits (default 1 ms) */
	uint64_t retry_ns;	/* attach retries while the ring is missing (default 100 ms) */
	bool force_poll;	/* poll even where futex waits work (tests the fallback) */
};

struct ringwatch *ringwatch_new(struct loop *l, const struct ringwatch_params *p,
    ringwatch_fn *fn, void *arg);
void ringwatch_free(struct ringwatch *w);
/* The ring, NULL until attached. */
struct ring *ringwatch_ring(struct ringwatch *w);

#endif
