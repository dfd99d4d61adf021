/*
 * vports: see vports.h. The hash is rebuilt whenever the set of open ports changes
 * (rare); lookups probe linearly from mix64 of the key. A slot being closed keeps its
 * vport until its operations drain, so a new port in that slot waits for the next sync.
 */
#include "vports.h"
#include "tap.h"
#include "common/log.h"
#include "common/mix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A TAP that cannot be opened is tried again soon, then less often: after a migration
 * the VM's old host still holds the device for a moment (EBUSY) and the VM's link
 * waits for this retry.
 */
#define RETRY_MIN_NS	(10ull * 1000 * 1000)
#define RETRY_MAX_NS	(1000ull * 1000 * 1000)

struct vports {
	struct loop *l;
	struct vports_params p;
	vports_open_fn *fn;
	void *arg;
	struct vport *v;
	uint32_t max;
	int32_t *hash;		/* slot + 1, 0 empty */
	uint32_t mask;
	uint64_t gen_seen;
	bool dirty;		/* something to retry or drain: sync again */
	uint32_t open;
	uint64_t errors;
	struct log_ratelimit rl;
};

static uint32_t
slot_of(const struct vports *vp, uint32_t vni, uint32_t ip)
{
	return (uint32_t)mix64((uint64_t)vni << 32 | ip) & vp->mask;
}

static void
rehash(struct vports *vp)
{
	memset(vp->hash, 0, (vp->mask + 1) * sizeof(*vp->hash));
	vp->open = 0;
	for (uint32_t i = 0; i < vp->max; i++) {
		struct vport *v = &vp->v[i];
		uint32_t h;

		if (!v->used || v->closing || v->fd < 0)
			continue;
		vp->open++;
		for (h = slot_of(vp, v->port.vni, v->port.ip); vp->hash[h];
		    h = (h + 1) & vp->mask)
			;
		vp->hash[h] = (int32_t)i + 1;
	}
}

struct vports *
vports_new(struct loop *l, const struct vports_params *p, uint32_t max, vports_open_fn *fn,
    void *arg)
{
	struct vports *vp = calloc(1, sizeof(*vp));
	uint32_t hn = 4;

	while (hn < 2 * max)
		hn *= 2;
	if (vp == NULL || (vp->v = calloc(max, sizeof(*vp->v))) == NULL ||
	    (vp->hash = calloc(hn, sizeof(*vp->hash))) == NULL) {
		if (vp)
			free(vp->v);
		free(vp);
		return NULL;
	}
	vp->l = l;
	vp->p = *p;
	vp->fn = fn;
	vp->arg = arg;
	vp->max = max;
	vp->mask = hn - 1;
	vp->dirty = true;
	vp->gen_seen = UINT64_MAX;
	vp->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
	for (uint32_t i = 0; i < max; i++) {
		vp->v[i].fd = -1;
		vp->v[i].vp = vp;
	}
	return vp;
}

void
vports_free(struct vports *vp)
{
	if (vp == NULL)
		return;
	for (uint32_t i = 0; i < vp->max; i++)
		if (vp->v[i].fd >= 0)
			tap_close(vp->v[i].fd, vp->v[i].closing);
	free(vp->hash);
	free(vp->v);
	free(vp);
}

static void
cancel_done(struct loop_op *op, int res, uint32_t flags)
{
	(void)res;
	(void)flags;
	vports_op_done(op->arg);
}

static void
finish_close(struct vport *v)
{
	if (v->reopen) {
		tap_close(v->fd, false);
		v->fd = -1;
		v->closing = v->reopen = false;
		v->retry_ns = loop_now(v->vp->l) + RETRY_MAX_NS;
		v->vp->dirty = true;
		return;
	}
	log_info("TAP %s closed and removed (VM %u/%08x left this host)", v->port.tap,
	    v->port.vni, v->port.ip);
	tap_close(v->fd, true);
	v->fd = -1;
	v->used = v->closing = false;
	v->vp->dirty = true;	/* a new port may wait for this slot */
}

void
vports_op_done(struct vport *v)
{
	if (--v->inflight == 0 && v->closing)
		finish_close(v);
}

static void
start_close(struct vports *vp, struct vport *v)
{
	if (v->fd < 0) {
		v->used = false;
		return;
	}
	v->closing = true;
	if (v->inflight == 0) {
		finish_close(v);
		return;
	}
	v->cancel = (struct loop_op){ .cb = cancel_done, .arg = v };
	io_uring_prep_cancel_fd(loop_sqe(vp->l, &v->cancel), v->fd, IORING_ASYNC_CANCEL_ALL);
	v->inflight++;
}

void
vports_reopen(struct vport *v)
{
	if (v->closing || v->fd < 0)
		return;
	v->reopen = true;
	start_close(v->vp, v);
}

static void
try_open(struct vports *vp, struct vport *v)
{
	char err[256], ns[256];
	const char *nsp = NULL;

	if (vp->p.tap_netns) {
		snprintf(ns, sizeof(ns), "%s/%s", vp->p.netns_dir, v->port.tap);
		if (access(ns, F_OK) == 0)
			nsp = ns;
	}
	v->fd = tap_open(v->port.tap, v->port.mac, vp->p.mtu, nsp, err, sizeof(err));
	if (v->fd < 0) {
		vp->errors++;
		v->retry_ns = loop_now(vp->l) + v->backoff_ns;
		if ((v->backoff_ns *= 2) > RETRY_MAX_NS)
			v->backoff_ns = RETRY_MAX_NS;
		log_warnx_rl(&vp->rl, "TAP of VM %u/%08x: %s (trying again)", v->port.vni,
		    v->port.ip, err);
		return;
	}
	log_info("TAP %s open%s%s", v->port.tap, nsp ? " in " : "", nsp ? nsp : "");
	v->inflight = v->reads = 0;
	vp->fn(v, vp->arg);
}

static bool
same_port(const struct port *a, const struct port *b)
{
	return a->vni == b->vni && a->ip == b->ip && memcmp(a->mac, b->mac, 6) == 0 &&
	    strncmp(a->tap, b->tap, PORTS_TAP_MAX) == 0;
}

uint32_t
vports_sync(struct vports *vp, const struct ports *pt)
{
	uint64_t gen = ports_generation(pt), now = loop_now(vp->l);
	bool retry = false;

	if (gen == vp->gen_seen && !vp->dirty)
		return vp->open;
	vp->gen_seen = gen;
	vp->dirty = false;
	for (uint32_t i = 0; i < vp->max; i++) {
		struct vport *v = &vp->v[i];
		struct port p;
		bool have = i < ports_max(pt) && ports_get(pt, i, &p);

		if (v->closing) {
			retry = true;
			continue;
		}
		if (v->used && (!have || !same_port(&p, &v->port)))
			start_close(vp, v);
		if (v->closing) {
			retry = true;
			continue;
		}
		if (!v->used && have) {
			v->port = p;
			v->port.tap[PORTS_TAP_MAX - 1] = '\0';
			v->used = true;
			v->retry_ns = 0;
			v->backoff_ns = RETRY_MIN_NS;
		}
		if (v->used && v->fd < 0) {
			if (now >= v->retry_ns)
				try_open(vp, v);
			if (v->fd < 0)
				retry = true;
		}
	}
	vp->dirty = retry;
	rehash(vp);
	return vp->open;
}

struct vport *
vports_find(const struct vports *vp, uint32_t vni, uint32_t ip)
{
	for (uint32_t h = slot_of(vp, vni, ip); vp->hash[h]; h = (h + 1) & vp->mask) {
		struct vport *v = &vp->v[vp->hash[h] - 1];

		if (v->port.vni == vni && v->port.ip == ip)
			return v->fd >= 0 && !v->closing ? v : NULL;
	}
	return NULL;
}

struct vport *
vports_at(struct vports *vp, uint32_t slot)
{
	return &vp->v[slot];
}

uint32_t
vports_max(const struct vports *vp)
{
	return vp->max;
}

uint64_t
vports_errors(const struct vports *vp)
{
	return vp->errors;
}
