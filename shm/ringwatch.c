/*
 * ringwatch: see ringwatch.h. A watch is in one of three modes: detached (its timer
 * retries the attach), sleeping (a futex wait on the ring's wake word is in flight,
 * the ring marked sleeping) or polling (its timer looks at the ring). Invariants:
 * - At most one futex wait is in flight, and only while the timer is not armed: one of
 *   the two always leads back to ringwatch_run, never both.
 * - The callback is never called from inside ringwatch_new, and at most
 *   RINGWATCH_BURST times a pass through the loop: records that keep coming are
 *   taken in the next pass, so the loop's other work is not starved.
 * - A watch is freed only when no futex wait, no cancel and no callback of it is under
 *   way: ringwatch_free with a wait in flight cancels it, and the wait's completion
 *   (or the cancel's, whichever comes last) frees. The ring stays mapped until then.
 */
#include "shm/ringwatch.h"
#include "common/log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RINGWATCH_POLL_NS	(1000ull * 1000)	/* default poll_ns */
#define RINGWATCH_RETRY_NS	(100ull * 1000 * 1000)	/* default retry_ns */
#define RINGWATCH_BURST		8	/* callbacks a pass at most */

struct ringwatch {
	struct loop *l;
	ringwatch_fn *fn;
	void *arg;
	char segname[SEG_NAME_MAX];
	uint32_t rec_size;
	uint32_t type_tag;
	uint64_t poll_ns;
	uint64_t retry_ns;
	bool attached;
	bool polling;		/* no futex waits: the timer polls */
	bool wait_busy;		/* futex wait in flight; the ring is marked sleeping */
	bool cancel_busy;
	bool in_cb;		/* inside fn: ringwatch_free defers the free */
	bool freeing;
	int attach_err;		/* the last attach's error, to log a lasting one once */
	struct ring ring;
	struct loop_op wait_op;
	struct loop_op cancel_op;
	struct loop_timer timer;
	struct log_ratelimit rl;
};

/* Free a watch that was freed and has nothing under way; false when it must wait. */
static bool
ringwatch_reap(struct ringwatch *w)
{
	if (!w->freeing || w->wait_busy || w->cancel_busy || w->in_cb)
		return false;
	loop_timer_cancel(w->l, &w->timer);
	if (w->attached) {
		ring_sleep_end(&w->ring);	/* no wake-ups for a consumer that left */
		ring_close(&w->ring);
	}
	free(w);
	return true;
}

/* Call back; false when the callback freed w (it is gone then). */
static bool
ringwatch_call(struct ringwatch *w)
{
	w->in_cb = true;
	w->fn(w, &w->ring, w->arg);
	w->in_cb = false;
	return !ringwatch_reap(w);
}

/* Records may be waiting: call back while they are, then sleep or poll. */
static void
ringwatch_run(struct ringwatch *w)
{
	uint32_t seq;
	int calls = 0, r;

	assert(w->attached && !w->wait_busy && !w->freeing);
	for (;;) {
		if (ring_count(&w->ring) > 0) {
			if (calls++ == RINGWATCH_BURST) {
				loop_timer_set(w->l, &w->timer, 0);
				return;
			}
			if (!ringwatch_call(w))
				return;
			continue;
		}
		if (w->polling) {
			loop_timer_set(w->l, &w->timer, w->poll_ns);
			return;
		}
		if ((r = ring_sleep_begin(&w->ring, &seq)) == 1)
			continue;	/* a push came in between: call back again */
		if (r < 0) {
			log_warnx_rl(&w->rl, "ringwatch %s: cannot sleep: %s; polling", w->segname,
			    strerror(-r));
			loop_timer_set(w->l, &w->timer, w->poll_ns);
			return;
		}
		if ((r = loop_futex_wait(w->l, &w->wait_op, ring_wake_word(&w->ring), seq)) < 0) {
			/* Only a loop without futex waits refuses: poll from now on. */
			ring_sleep_end(&w->ring);
			w->polling = true;
			loop_timer_set(w->l, &w->timer, w->poll_ns);
			return;
		}
		w->wait_busy = true;
		return;
	}
}

static void
ringwatch_attach(struct ringwatch *w)
{
	int r;

	r = ring_attach(&w->ring, w->segname, w->rec_size, w->type_tag);
	if (r == 0) {
		w->attached = true;
		w->attach_err = 0;
		return;
	}
	/*
	 * Missing: its producer has not started. Anything else may be a producer caught
	 * half-way through creating it; said only when it lasts.
	 */
	if (r != -ENOENT && r == w->attach_err)
		log_warnx_rl(&w->rl, "ringwatch: %s", w->ring.seg.err);
	w->attach_err = r;
}

static void
ringwatch_timer_fire(struct loop_timer *t)
{
	struct ringwatch *w = t->arg;

	if (!w->attached) {
		ringwatch_attach(w);
		if (!w->attached) {
			loop_timer_set(w->l, &w->timer, w->retry_ns);
			return;
		}
	}
	ringwatch_run(w);
}

static void
ringwatch_wait_done(struct loop_op *op, int res, uint32_t flags)
{
	struct ringwatch *w = op->arg;

	(void)flags;
	w->wait_busy = false;
	if (w->freeing) {
		ringwatch_reap(w);
		return;
	}
	ring_sleep_end(&w->ring);
	/*
	 * 0: woken; -EAGAIN: the wake word moved before the wait was armed; -EINTR: the
	 * kernel asks for a retry. Anything else is logged and the ring looked at after
	 * poll_ns, so a wait that keeps failing cannot spin.
	 */
	if (res < 0 && res != -EAGAIN && res != -EINTR) {
		log_warnx_rl(&w->rl, "ringwatch %s: futex wait: %s", w->segname, strerror(-res));
		loop_timer_set(w->l, &w->timer, w->poll_ns);
		return;
	}
	ringwatch_run(w);
}

static void
ringwatch_cancel_done(struct loop_op *op, int res, uint32_t flags)
{
	struct ringwatch *w = op->arg;

	(void)res;	/* the wait completes on its own, -ECANCELED or woken */
	(void)flags;
	w->cancel_busy = false;
	ringwatch_reap(w);
}

struct ringwatch *
ringwatch_new(struct loop *l, const struct ringwatch_params *p, ringwatch_fn *fn, void *arg)
{
	struct ringwatch *w;

	assert(fn != NULL && p->segname != NULL);
	if (strlen(p->segname) >= sizeof(w->segname)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->l = l;
	w->fn = fn;
	w->arg = arg;
	snprintf(w->segname, sizeof(w->segname), "%s", p->segname);
	w->rec_size = p->rec_size;
	w->type_tag = p->type_tag;
	w->poll_ns = p->poll_ns > 0 ? p->poll_ns : RINGWATCH_POLL_NS;
	w->retry_ns = p->retry_ns > 0 ? p->retry_ns : RINGWATCH_RETRY_NS;
	w->polling = p->force_poll || !loop_has_futex(l);
	w->wait_op = (struct loop_op){ .cb = ringwatch_wait_done, .arg = w };
	w->cancel_op = (struct loop_op){ .cb = ringwatch_cancel_done, .arg = w };
	w->timer.fn = ringwatch_timer_fire;
	w->timer.arg = w;
	w->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	/* Attached at once when the ring is there; the first look is the loop's. */
	ringwatch_attach(w);
	loop_timer_set(l, &w->timer, w->attached ? 0 : w->retry_ns);
	return w;
}

void
ringwatch_free(struct ringwatch *w)
{
	struct io_uring_sqe *sqe;

	if (w == NULL || w->freeing)
		return;
	w->freeing = true;
	loop_timer_cancel(w->l, &w->timer);
	if (w->wait_busy) {
		sqe = loop_sqe(w->l, &w->cancel_op);
		io_uring_prep_cancel(sqe, &w->wait_op, 0);
		w->cancel_busy = true;
		return;
	}
	ringwatch_reap(w);
}

struct ring *
ringwatch_ring(struct ringwatch *w)
{
	return w->attached ? &w->ring : NULL;
}
