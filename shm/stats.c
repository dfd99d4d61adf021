/*
 * stats: see stats.h. Invariant: desc[i] names val[i]; both arrays are written before
 * the segment's magic is published, and only the values change afterwards.
 */
#include "shm/stats.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static size_t
stats_size(uint32_t count, uint32_t *desc_off, uint32_t *val_off)
{
	size_t off = sizeof(struct seg_hdr) + sizeof(struct stats_hdr);

	*desc_off = off;
	off += (size_t)count * sizeof(struct stats_desc);
	off = (off + 63) & ~(size_t)63;	/* values on their own cache lines */
	*val_off = off;
	return off + (size_t)count * sizeof(uint64_t);
}

static bool
stats_same_defs(const struct stats *st, const struct stats_def *defs, uint32_t count)
{
	if (st->hdr->count != count)
		return false;
	for (uint32_t i = 0; i < count; i++)
		if (strcmp(st->desc[i].name, defs[i].name) != 0 ||
		    st->desc[i].kind != (uint32_t)defs[i].kind)
			return false;
	return true;
}

static void
stats_bind(struct stats *st)
{
	st->hdr = (struct stats_hdr *)((char *)st->seg.base + sizeof(struct seg_hdr));
	st->desc = seg_ptr(&st->seg, st->hdr->desc_off);
	st->val = seg_ptr(&st->seg, st->hdr->val_off);
}

void *
stats_create(struct stats *st, const char *node, const char *proc,
    const struct stats_def *defs, uint32_t count)
{
	uint32_t desc_off, val_off;
	size_t size = stats_size(count, &desc_off, &val_off);
	struct stats_desc *d;
	int r;

	r = seg_create(&st->seg, node, proc, "stats", SEG_KIND_STATS, STATS_LAYOUT, size);
	if (r == -EPROTO) {
		/* Counters of another build: they are not worth keeping. */
		log_info("%s; replacing it", st->seg.err);
		seg_unlink_name(st->seg.name);
		r = seg_create(&st->seg, node, proc, "stats", SEG_KIND_STATS, STATS_LAYOUT,
		    size);
	}
	if (r < 0)
		return NULL;
	if (!st->seg.created) {
		stats_bind(st);
		if (st->hdr->desc_off == desc_off && st->hdr->val_off == val_off &&
		    stats_same_defs(st, defs, count))
			return st->val;
		log_info("%s/%s: counters changed; resetting them", SEG_DIR, st->seg.name);
		memset((char *)st->seg.base + sizeof(struct seg_hdr), 0,
		    size - sizeof(struct seg_hdr));
	}
	st->hdr = (struct stats_hdr *)((char *)st->seg.base + sizeof(struct seg_hdr));
	st->hdr->count = count;
	st->hdr->desc_off = desc_off;
	st->hdr->val_off = val_off;
	d = seg_ptr(&st->seg, desc_off);
	for (uint32_t i = 0; i < count; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", defs[i].name);
		d[i].kind = defs[i].kind;
		snprintf(d[i].desc, sizeof(d[i].desc), "%s", defs[i].desc);
	}
	stats_bind(st);
	return st->val;
}

int
stats_attach(struct stats *st, const char *name)
{
	uint32_t desc_off, val_off;
	int r;

	r = seg_attach(&st->seg, name, SEG_KIND_STATS, STATS_LAYOUT, 0, SEG_RDONLY);
	if (r < 0)
		return r;
	if (st->seg.size < sizeof(struct seg_hdr) + sizeof(struct stats_hdr))
		goto bad;
	st->hdr = (struct stats_hdr *)((char *)st->seg.base + sizeof(struct seg_hdr));
	if (st->hdr->count > 65536 ||
	    stats_size(st->hdr->count, &desc_off, &val_off) != st->seg.size ||
	    st->hdr->desc_off != desc_off || st->hdr->val_off != val_off)
		goto bad;
	stats_bind(st);
	return 0;
bad:
	snprintf(st->seg.err, sizeof(st->seg.err), "%s/%s: counter table does not match the "
	    "segment size", SEG_DIR, name);
	seg_detach(&st->seg);
	return -EPROTO;
}

void
stats_close(struct stats *st)
{
	seg_detach(&st->seg);
}

void
stats_heartbeat(struct stats *st)
{
	seg_heartbeat(&st->seg);
}
