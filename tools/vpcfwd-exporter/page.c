/*
 * page: see page.h. Invariant: every sample carries the labels node and process, so two
 * nodes' samples of one family never collide, and no label changes while a process
 * lives through restarts (its pid is not one).
 */
#include "page.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PAGE_PREFIX	"vpcfwd_"
#define PAGE_NAME_MAX	(sizeof(PAGE_PREFIX) + SEG_PART_MAX + 1 + STATS_NAME_MAX + \
			    sizeof("_seconds_total"))

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Prometheus counts time in seconds (and promtool refuses abbreviated units): a counter
 * named for a smaller unit is shown in seconds, its value scaled.
 */
static const struct {
	const char *suffix;
	double scale;
} page_units[] = {
	{ "_ns", 1e-9 },
	{ "_us", 1e-6 },
	{ "_ms", 1e-3 },
};

/*
 * vpcfwd_<proc>_<counter>, '-' and anything else outside [a-zA-Z0-9_] made '_', a time
 * unit made _seconds, and _total after a counter's. Returns the scale of the value (1
 * when the unit stays).
 */
static double
metric_name(char *buf, size_t len, const char *proc, const char *ctr, bool counter)
{
	char p[SEG_PART_MAX + 1], c[STATS_NAME_MAX + sizeof("_seconds")];
	double scale = 1;

	snprintf(p, sizeof(p), "%s", proc);
	snprintf(c, sizeof(c), "%s", ctr);
	expo_name_clean(p);
	expo_name_clean(c);
	for (size_t i = 0; i < sizeof(page_units) / sizeof(page_units[0]); i++)
		if (ends_with(c, page_units[i].suffix)) {
			c[strlen(c) - strlen(page_units[i].suffix)] = '\0';
			strcat(c, "_seconds");
			scale = page_units[i].scale;
			break;
		}
	snprintf(buf, len, PAGE_PREFIX "%s_%s%s", p, c,
	    counter && !ends_with(c, "_total") ? "_total" : "");
	return scale;
}

int
page_counters(struct expo *e, const struct stats_snap *s, const struct expo_label *l,
    size_t nl)
{
	char name[PAGE_NAME_MAX];
	enum expo_type type;
	int left_out = 0, r;
	double scale;

	for (uint32_t i = 0; i < s->count; i++) {
		const struct stats_rctr *c = &s->ctr[i];

		if ((c->kind != STATS_COUNTER && c->kind != STATS_GAUGE) || c->name[0] == '\0') {
			left_out++;
			continue;
		}
		type = c->kind == STATS_COUNTER ? EXPO_COUNTER : EXPO_GAUGE;
		scale = metric_name(name, sizeof(name), s->ent.proc, c->name,
		    c->kind == STATS_COUNTER);
		if (scale == 1)
			r = expo_add_u64(e, name, type, c->desc, l, nl, c->value);
		else
			r = expo_add_double(e, name, type, c->desc, l, nl, c->value * scale);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			left_out++;
	}
	return left_out;
}

static int
add_stats_one(struct expo *e, const struct stats_snap *s, uint64_t stale_ns)
{
	const struct expo_label l[] = { { "node", s->ent.node }, { "process", s->ent.proc } };
	bool up = s->owner == STATS_OWNER_RUNNING && s->hb_age_ns <= stale_ns;
	int r;

	r = expo_add_u64(e, "vpcfwd_up", EXPO_GAUGE, "1 when the process runs: its stats "
	    "segment's owner lock is held and its heartbeat is recent, else 0", l, 2, up);
	if (r == 0)
		r = expo_add_double(e, "vpcfwd_heartbeat_age_seconds", EXPO_GAUGE,
		    "time since the process last stored its heartbeat", l, 2,
		    s->hb_age_ns / 1e9);
	if (r == 0)
		r = expo_add_double(e, "vpcfwd_uptime_seconds", EXPO_GAUGE,
		    "time since the process (its last start) attached its stats segment", l, 2,
		    s->uptime_ns / 1e9);
	if (r < 0)
		return r;
	return page_counters(e, s, l, 2);
}

int
page_stats(struct expo *e, const struct stats_snap *s, size_t n, uint64_t stale_ns)
{
	int left_out = 0, r;

	for (size_t i = 0; i < n; i++) {
		if ((r = add_stats_one(e, &s[i], stale_ns)) < 0)
			return r;
		left_out += r;
	}
	return left_out;
}

/* One gauge or counter of a segment's family. */
struct page_metric {
	const char *name;
	enum expo_type type;
	const char *help;
	uint64_t value;
};

static int
add_metrics(struct expo *e, const struct page_metric *m, size_t n, const struct expo_label *l,
    size_t nl)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = expo_add_u64(e, m[i].name, m[i].type, m[i].help, l, nl, m[i].value);
	return r;
}

int
page_table(struct expo *e, const struct seg_ent *ent, const struct table_occupancy *o)
{
	const struct expo_label l[] = { { "node", ent->node }, { "process", ent->proc },
	    { "table", ent->what } };
	const struct page_metric m[] = {
		{ "vpcfwd_table_entries", EXPO_GAUGE,
		    "rules and tombstones the rule table holds", o->entries },
		{ "vpcfwd_table_tombstones", EXPO_GAUGE,
		    "deletes the rule table keeps for learners (gateways)", o->tombs },
		{ "vpcfwd_table_capacity", EXPO_GAUGE,
		    "rules and tombstones the rule table can hold", o->capacity },
		{ "vpcfwd_table_vnis", EXPO_GAUGE, "VNI slots of the rule table in use", o->vnis },
		{ "vpcfwd_table_vnis_capacity", EXPO_GAUGE,
		    "VNI slots of the rule table (max_vnis)", o->max_vnis },
	};

	return add_metrics(e, m, sizeof(m) / sizeof(m[0]), l, 3);
}

int
page_ring(struct expo *e, const struct seg_ent *ent, const struct ring_occupancy *o)
{
	const struct expo_label l[] = { { "node", ent->node }, { "process", ent->proc },
	    { "ring", ent->what } };
	const struct page_metric m[] = {
		{ "vpcfwd_ring_used", EXPO_GAUGE,
		    "records waiting in the ring for its consumer", o->used },
		{ "vpcfwd_ring_capacity", EXPO_GAUGE, "records the ring can hold", o->capacity },
		{ "vpcfwd_ring_drops_total", EXPO_COUNTER,
		    "records the producer dropped because the ring was full", o->drops },
	};

	return add_metrics(e, m, sizeof(m) / sizeof(m[0]), l, 3);
}
