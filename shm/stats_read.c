/*
 * stats_read: see stats_read.h. Invariant: nothing is read outside the mapping, whatever
 * the segment holds (its counter count is loaded once and checked against the mapping's
 * size before any counter is read), and nothing is written to it.
 */
#include "shm/stats_read.h"

#include "common/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Copy a string out of a segment: not trusted to be terminated nor printable (a
 * corrupt or hostile segment must not write escape sequences to a terminal, nor make
 * invalid UTF-8 for a JSON or text page). dst has room for max + 1 bytes.
 */
static void
field_copy(char *dst, const volatile char *src, size_t max)
{
	size_t i;
	char ch;

	/* Each byte read once: the check and the copy must see the same byte. */
	for (i = 0; i < max && (ch = src[i]) != '\0'; i++)
		dst[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
	dst[i] = '\0';
}

static uint64_t
since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Whether n counters fit the mapping where stats_attach found the tables. */
static bool
count_fits(const struct stats *st, uint32_t n)
{
	size_t desc_off = (const char *)st->desc - (const char *)st->seg.base;
	size_t val_off = (const char *)st->val - (const char *)st->seg.base;

	return desc_off <= st->seg.size && val_off <= st->seg.size &&
	    n <= (st->seg.size - desc_off) / sizeof(struct stats_desc) &&
	    n <= (st->seg.size - val_off) / sizeof(uint64_t);
}

int
stats_snap_take(struct stats_snap *s, const struct seg_ent *e, char *err, size_t errlen,
    stats_read_warn_fn *warn, void *arg)
{
	const struct seg_hdr *h;
	struct stats st;
	char msg[SEG_NAME_MAX + 128];
	int r, alive;

	memset(s, 0, sizeof(*s));
	s->ent = *e;
	if ((r = stats_attach(&st, e->name)) < 0) {
		snprintf(err, errlen, "%s", st.seg.err);
		return r;
	}
	h = st.seg.hdr;
	/* Loaded once: the owner (or anyone who can write the file) may change it. */
	s->count = __atomic_load_n(&st.hdr->count, __ATOMIC_RELAXED);
	if (!count_fits(&st, s->count)) {
		snprintf(err, errlen, "%s/%s: counter table does not match the segment size",
		    SEG_DIR, e->name);
		stats_close(&st);
		return -EPROTO;
	}
	if (s->count && (s->ctr = calloc(s->count, sizeof(*s->ctr))) == NULL) {
		snprintf(err, errlen, "%s/%s: out of memory", SEG_DIR, e->name);
		stats_close(&st);
		return -ENOMEM;
	}
	/* The owner stores these with plain or relaxed stores; no ordering is needed. */
	s->pid = __atomic_load_n(&h->owner_pid, __ATOMIC_RELAXED);
	s->sampled_ns = clock_mono_ns();
	s->uptime_ns = since(clock_real_ns(), __atomic_load_n(&h->start_ns, __ATOMIC_RELAXED));
	s->hb_age_ns = seg_heartbeat_age(&st.seg, s->sampled_ns);
	for (uint32_t i = 0; i < s->count; i++) {
		field_copy(s->ctr[i].name, st.desc[i].name, STATS_NAME_MAX);
		field_copy(s->ctr[i].desc, st.desc[i].desc, STATS_DESC_MAX);
		s->ctr[i].kind = __atomic_load_n(&st.desc[i].kind, __ATOMIC_RELAXED);
		s->ctr[i].value = stats_value(&st, i);
	}
	alive = seg_owner_alive(&st.seg);
	if (alive < 0) {
		s->owner = STATS_OWNER_UNKNOWN;
		s->state = "unknown";
		if (warn) {
			snprintf(msg, sizeof(msg), "%s/%s: cannot tell whether its owner runs: %s",
			    SEG_DIR, st.seg.name, strerror(-alive));
			warn(msg, arg);
		}
	} else {
		s->owner = alive ? STATS_OWNER_RUNNING : STATS_OWNER_STALE;
		s->state = alive ? "running" : "STALE";
	}
	stats_close(&st);
	return 0;
}

void
stats_snap_free(struct stats_snap *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].ctr);
	free(s);
}

void
stats_scan_free(struct stats_scan *sc)
{
	free(sc->all);
	stats_snap_free(sc->snap, sc->nsnap);
	memset(sc, 0, sizeof(*sc));
}

int
stats_scan(struct stats_scan *sc, stats_read_match_fn *match, stats_read_warn_fn *warn,
    void *arg)
{
	char err[256];
	int n, r;

	memset(sc, 0, sizeof(*sc));
	if ((n = seg_list(NULL, STATS_READ_WHAT, &sc->all)) < 0)
		return n;
	sc->nall = n;
	if (sc->nall && (sc->snap = calloc(sc->nall, sizeof(*sc->snap))) == NULL) {
		stats_scan_free(sc);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sc->nall; i++) {
		if (match && !match(&sc->all[i], arg))
			continue;
		sc->nmatch++;
		r = stats_snap_take(&sc->snap[sc->nsnap], &sc->all[i], err, sizeof(err), warn,
		    arg);
		if (r == 0) {
			sc->nsnap++;
			continue;
		}
		if (r == -ENOMEM) {
			stats_scan_free(sc);
			return r;
		}
		/* ENOENT: removed since the directory was listed; nothing to report. */
		if (r != -ENOENT) {
			sc->nfailed++;
			if (warn)
				warn(err, arg);
		}
	}
	return 0;
}
