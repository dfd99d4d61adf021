/*
 * vpcfwd-table: a debugging dump of one rule table (shm/table.h). It attaches as a
 * reader, which claims a reader slot and never blocks the writer (reads are lock-free,
 * protected by epochs), copies out the header, the counters, the state of every VNI
 * and, with -v, the valid versions and the entries of one VNI (its live rules; with -d
 * its tombstones too; with --changes-since V what changed after V, as syncd would send
 * it to a learner at V), closes the table (freeing its slot), and then prints the copy
 * as text or as one JSON document. A table whose writer died is still readable and is
 * shown as STALE. With no segment named, it lists the table segments in /dev/shm without
 * taking a reader slot. See docs/table-tool.md.
 */
#include "common/clock.h"
#include "common/json.h"
#include "common/version.h"
#include "shm/seg.h"
#include "shm/table.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TBL_WHAT	"table"	/* vpcfwd.<node>.<proc>.table */
#define TBL_PAGE	256	/* entries asked of one table_changes call */
#define TBL_RESTARTS	5	/* walks restarted because the table moved under them */
#define TBL_VSEGS	8	/* runs of valid versions a text line shows in full */
#define TBL_OPT_SINCE	256	/* --changes-since: a long option only */

struct tbl_opts {
	bool json;
	bool has_vni;		/* -v */
	uint32_t vni;
	bool deleted;		/* -d: the tombstones too */
	bool has_since;		/* --changes-since */
	uint64_t since;
	const char *node;	/* -N */
	const char *arg;	/* the segment operand */
};

/* The table's counters, named once by TABLE_COUNTERS (shm/table.h). */
struct tbl_ctr {
	const char *name;
	const char *desc;
	size_t off;
};

#define TBL_CTR_(n, d) { #n, d, offsetof(struct table_counters, n) },
static const struct tbl_ctr tbl_ctrs[] = { TABLE_COUNTERS(TBL_CTR_) };
#undef TBL_CTR_
#define TBL_NCTRS	(sizeof(tbl_ctrs) / sizeof(tbl_ctrs[0]))

/* One table, sampled while attached: everything printed comes from here. */
struct tbl_snap {
	char segment[SEG_NAME_MAX];
	struct table_params params;
	int32_t pid;
	const char *state;	/* "running", "STALE" or "unknown" */
	uint64_t created_s;	/* CLOCK_REALTIME */
	uint64_t hb_age_ns;
	uint32_t count, live, tombs;
	uint64_t size;
	uint32_t attached, active;
	uint32_t limbo, free_now;
	uint32_t vni_slots, vni_slots_retired;
	uint32_t homeless;	/* VPCs whose changes found no VNI slot (incomplete) */
	uint64_t applied_seq;
	uint64_t applied_epoch;	/* the history applied_seq is of; 0: not known */
	uint64_t ctr[TBL_NCTRS];
	struct table_vni_info *vnis;
	uint32_t nvnis;
	bool has_entries;	/* -v */
	uint32_t entries_vni;
	uint64_t *valid;	/* the VNI's valid versions: 0, then the window, oldest first */
	uint32_t nvalid;
	bool ops;		/* -d or --changes-since: entries may be deletes, say which */
	bool deleted;		/* -d */
	bool has_since;		/* --changes-since */
	uint64_t since, upto;	/* upto: the version the changes bring a learner to */
	struct table_rule *entries;
	size_t nentries, entries_cap;
	size_t ndeleted;	/* tombstones among the entries */
};

static const char *progname = "vpcfwd-table";

static void
usage(FILE *f, bool full)
{
	fprintf(f, "usage: %s [--json] [-v vni [-d] [--changes-since version]] "
	    "segment | -N node\n"
	    "       %s [--json]\n"
	    "       %s --version\n", progname, progname, progname);
	if (!full)
		return;
	fprintf(f, "  segment       a rule table segment, vpcfwd.<node>.<proc>.table, "
	    "or its path in %s\n"
	    "  -N node       the table segment of this node (it must have exactly one)\n"
	    "  -v vni        also show the valid versions of this VNI and list its "
	    "entries in list\n"
	    "                order (version order in a gateway, eviction order in a "
	    "host). A full\n"
	    "                walk skips tombstones, so only live rules are listed; the "
	    "counts\n"
	    "                include the tombstones\n"
	    "  -d, --deleted with -v: list the tombstones (deletes) of a gateway VNI too,"
	    " marked\n"
	    "                \"del\" (a host table keeps none)\n"
	    "  --changes-since version\n"
	    "                with -v: list what changed after this version in "
	    "version order,\n"
	    "                deletes marked \"del\": what syncd sends a learner at it. It "
	    "must be a\n"
	    "                valid version; 0 is a full dump (live rules; -d adds the "
	    "tombstones)\n"
	    "  --json, -j    print one JSON document\n"
	    "  -h, --help    this text\n"
	    "With no segment and no -N: list the table segments in %s, with the pid\n"
	    "and state of their owners.\n", SEG_DIR, SEG_DIR);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(stderr, false);
	exit(2);
}

/* The table segments of node (every node when NULL) in SEG_DIR; exits if it cannot list. */
static size_t
list_tables(struct seg_ent **l, const char *node)
{
	int n = seg_list(node, TBL_WHAT, l);

	if (n < 0)
		errx(1, "%s: cannot list the segments: %s", SEG_DIR, strerror(-n));
	return n;
}

static void
json_put(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) < 0)
		errx(1, "out of memory building JSON");
}

/*
 * No segment named: each table segment with the pid and state of its owner. Attached
 * read-only through seg.h alone, so the listing takes no reader slot. Exits 0 even when
 * there is none, or when some cannot be read (those are reported on stderr).
 */
static int
run_list(const struct tbl_opts *o)
{
	json_t *arr = o->json ? json_checked(json_array()) : NULL;
	struct seg_ent *l;
	size_t n = list_tables(&l, NULL);

	if (n == 0)
		warnx("no vpcfwd table segments in %s", SEG_DIR);
	for (size_t i = 0; i < n; i++) {
		const char *state;
		struct seg s;
		int32_t pid;
		int r;

		r = seg_attach(&s, l[i].name, SEG_KIND_TABLE, TABLE_LAYOUT, 0, SEG_RDONLY);
		if (r < 0) {
			/* ENOENT: removed since it was listed; nothing to report. */
			if (r != -ENOENT)
				warnx("%s", s.err);
			continue;
		}
		/* The owner stores its pid with a plain store; no ordering is needed. */
		pid = __atomic_load_n(&s.hdr->owner_pid, __ATOMIC_RELAXED);
		state = seg_owner_state(&s);
		seg_detach(&s);
		if (arr)
			json_push(arr, json_pack("{s:s, s:i, s:s}", "segment", l[i].name, "pid",
			    (int)pid, "state", state));
		else
			printf("%s  pid %d  %s\n", l[i].name, (int)pid, state);
	}
	free(l);
	if (arr)
		json_print(stdout, arr);
	return 0;
}

/* The segment to dump, from the operand or -N, into name; exits 1 when there is none. */
static void
resolve(char *name, size_t len, const struct tbl_opts *o)
{
	const char *dir = SEG_DIR "/", *base = o->arg;
	struct seg_ent *l;
	size_t n;

	if (o->node) {
		if (!addr_part_valid(o->node))
			usage_error("-N %s: not a node name (1..%d of [a-z0-9_-])", o->node,
			    SEG_PART_MAX);
		n = list_tables(&l, o->node);
		if (n == 0)
			errx(1, "no table segment of node %s in %s", o->node, SEG_DIR);
		if (n > 1) {
			warnx("node %s has %zu table segments; name one:", o->node, n);
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, "  %s\n", l[i].name);
			exit(1);
		}
		snprintf(name, len, "%s", l[0].name);
		free(l);
		return;
	}
	if (strncmp(o->arg, dir, strlen(dir)) == 0)
		base = o->arg + strlen(dir);
	if (base[0] == '\0' || strchr(base, '/') != NULL)
		errx(1, "%s: not a segment in %s", o->arg, SEG_DIR);
	if ((size_t)snprintf(name, len, "%s", base) >= len)
		errx(1, "%s: name too long for a segment", o->arg);
}

static void
ents_append(struct tbl_snap *s, const struct table_rule *r)
{
	if (s->nentries == s->entries_cap) {
		s->entries_cap = s->entries_cap ? 2 * s->entries_cap : 4 * TBL_PAGE;
		s->entries = reallocarray(s->entries, s->entries_cap, sizeof(*s->entries));
		if (s->entries == NULL)
			err(1, "reallocarray");
	}
	s->entries[s->nentries++] = *r;
}

/*
 * Append the changes of a VNI after `since`, paged from table_changes, in list order;
 * *upto gets the version they bring a learner to. A walk since 0 past its first page
 * also returns the deletes newer than its cursor (what a syncing peer needs, for rules
 * an earlier page may have sent): kept only when tombs is set. In a host table the
 * cursor's entry may be evicted, replaced or moved between two pages, and a walk in
 * eviction order cannot find its place again: start over, a few times at most.
 */
static int
walk_changes(struct table *t, struct tbl_snap *s, uint32_t vni, uint64_t since, bool tombs,
    uint64_t *upto)
{
	struct table_rule page[TBL_PAGE];
	struct table_cursor cur;
	size_t base = s->nentries;
	bool more;
	int restarts = 0, r;

	memset(&cur, 0, sizeof(cur));
	do {
		r = table_changes(t, vni, since, &cur, page, TBL_PAGE, upto, &more);
		/* Since 0 is never ahead: -EAGAIN is a host walk that lost its place. */
		if (r == -EAGAIN && since == 0 && ++restarts <= TBL_RESTARTS) {
			memset(&cur, 0, sizeof(cur));
			s->nentries = base;
			more = true;
			continue;
		}
		if (r < 0)
			return r;
		for (int i = 0; i < r; i++)
			if (tombs || !(page[i].flags & TABLE_F_TOMBSTONE))
				ents_append(s, &page[i]);
	} while (more);
	return 0;
}

static int
rule_cmp_ip_newest(const void *a, const void *b)
{
	const struct table_rule *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->version > y->version ? -1 : x->version < y->version;
}

/* A gateway list's order. */
static int
rule_cmp_list(const void *a, const void *b)
{
	const struct table_rule *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/*
 * -d on a gateway: every entry of the VNI, live rules and tombstones, in list order.
 * No walk lists them all: a full dump (since 0) leaves out the tombstones, and a walk
 * since the oldest valid version V lists only what changed after V. But a tombstone
 * is kept only while a valid version older than it exists, so every tombstone is newer
 * than V: the full dump's rules up to V and everything after V make the whole list.
 * Should the writer change a rule between the two walks, both may hold its key: the
 * newer entry is kept. When V leaves the window meanwhile (-ESTALE), or the VNI is
 * flushed and so behind V (-EAGAIN), start again.
 */
static int
walk_with_tombs(struct table *t, struct tbl_snap *s, uint32_t vni, uint64_t *upto)
{
	struct table_vni_info vi;
	size_t n;
	int tries = 0, r;

	do {
		s->nentries = 0;
		if ((r = table_vni_get(t, vni, &vi)) < 0)
			return r;
		if ((r = walk_changes(t, s, vni, 0, false, upto)) < 0)
			return r;
		/* oldest is 0 when no version was recorded: nothing is published yet. */
		if (vi.oldest == 0)
			break;
		for (size_t i = n = 0; i < s->nentries; i++)
			if (s->entries[i].version <= vi.oldest)
				s->entries[n++] = s->entries[i];
		s->nentries = n;
		r = walk_changes(t, s, vni, vi.oldest, true, upto);
	} while ((r == -ESTALE || r == -EAGAIN) && ++tries <= TBL_RESTARTS);
	if (r < 0)
		return r;

	qsort(s->entries, s->nentries, sizeof(*s->entries), rule_cmp_ip_newest);
	for (size_t i = n = 0; i < s->nentries; i++)
		if (n == 0 || s->entries[i].ip != s->entries[n - 1].ip)
			s->entries[n++] = s->entries[i];
	s->nentries = n;
	qsort(s->entries, s->nentries, sizeof(*s->entries), rule_cmp_list);
	return 0;
}

static int
vni_cmp(const void *a, const void *b)
{
	const struct table_vni_info *x = a, *y = b;

	return x->vni < y->vni ? -1 : x->vni > y->vni;
}

/*
 * Valid versions (0 first, then the window, oldest first) for a line of text: runs in
 * arithmetic progression as "lo..hi" or "lo..hi step d", the first and last few runs
 * when there are many, and the size of the window.
 */
static const char *
fmt_versions(char *buf, size_t len, const uint64_t *v, uint32_t n)
{
	const uint64_t *w = v + 1;	/* the window */
	uint32_t nw = n - 1, nseg = 0, seg = 0;
	size_t k = 0;

	/* k counts what did not fit too; nothing is written past len. */
#define TBL_PUT_(...) \
	(k += (size_t)snprintf(buf + (k < len ? k : len), k < len ? len - k : 0, __VA_ARGS__))
	TBL_PUT_("0");
	if (nw == 0) {
		TBL_PUT_(" (no version recorded)");
		return buf;
	}
	/* Two passes: count the runs, then print them, eliding the middle ones. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0, j; i < nw; i = j + 1, seg++) {
			uint64_t d = i + 2 < nw ? w[i + 1] - w[i] : 0;

			j = i;
			if (d != 0 && w[i + 2] - w[i + 1] == d)
				for (j = i + 2; j + 1 < nw && w[j + 1] - w[j] == d; j++)
					;
			if (pass == 0)
				continue;
			if (nseg > TBL_VSEGS && seg >= TBL_VSEGS / 2 &&
			    seg < nseg - (TBL_VSEGS / 2 - 1)) {
				if (seg == TBL_VSEGS / 2)
					TBL_PUT_(", ...");
				continue;
			}
			TBL_PUT_(", %llu", (unsigned long long)w[i]);
			if (j > i)
				TBL_PUT_("..%llu", (unsigned long long)w[j]);
			if (j > i && d > 1)
				TBL_PUT_(" step %llu", (unsigned long long)d);
		}
		nseg = seg;
		seg = 0;
	}
	TBL_PUT_(" (%u in the window)", nw);
#undef TBL_PUT_
	return buf;
}

/* -v: the VNI's valid versions and entries. 0, or -1 after reporting on stderr. */
static int
snap_vni(struct table *t, struct tbl_snap *s, const char *name, const struct tbl_opts *o)
{
	uint32_t window = s->params.version_window;
	char vs[512];
	int r;

	s->has_entries = true;
	s->entries_vni = o->vni;
	s->ops = o->deleted || o->has_since;
	s->deleted = o->deleted;
	s->has_since = o->has_since;
	s->since = o->since;
	if ((s->valid = calloc((size_t)window + 1, sizeof(*s->valid))) == NULL)
		err(1, "calloc");
	/* 0 is always valid: a learner that holds nothing syncs from it. */
	if ((r = table_vni_versions(t, o->vni, s->valid + 1, window)) >= 0) {
		s->nvalid = 1 + r;
		/* A VNI rebased to version 0 has 0 in its window too: list it once. */
		if (r > 0 && s->valid[1] == 0) {
			memmove(s->valid + 1, s->valid + 2, (size_t)(r - 1) * sizeof(*s->valid));
			s->nvalid--;
		}
		if (o->has_since && o->since > 0)
			r = walk_changes(t, s, o->vni, o->since, true, &s->upto);
		else if (o->deleted && s->params.mode == TABLE_GATEWAY)
			r = walk_with_tombs(t, s, o->vni, &s->upto);
		else
			r = walk_changes(t, s, o->vni, 0, false, &s->upto);
	}
	if (r >= 0) {
		for (size_t i = 0; i < s->nentries; i++)
			if (s->entries[i].flags & TABLE_F_TOMBSTONE)
				s->ndeleted++;
		return 0;
	}
	switch (r) {
	case -ENOENT:
		warnx("%s: no VNI %u in this table", name, o->vni);
		break;
	case -ENOTSUP:
		warnx("%s: a host table keeps no history of changes: only --changes-since 0 "
		    "(a full dump)", name);
		break;
	case -ESTALE:
		if (o->has_since && o->since > 0)
			warnx("%s: VNI %u: %llu is not a valid version (a learner at it "
			    "relearns); valid versions: %s", name, o->vni,
			    (unsigned long long)o->since,
			    fmt_versions(vs, sizeof(vs), s->valid, s->nvalid));
		else
			warnx("%s: VNI %u: its versions moved under every one of %d walks (a "
			    "busy writer?); try again", name, o->vni, TBL_RESTARTS + 1);
		break;
	case -EAGAIN:
		if (o->has_since && o->since > 0) {
			warnx("%s: VNI %u: version %llu is ahead of this table (at %llu)", name,
			    o->vni, (unsigned long long)o->since,
			    (unsigned long long)s->valid[s->nvalid - 1]);
			break;
		}
		warnx("%s: VNI %u changed under every one of %d walks (a busy writer "
		    "evicting or flushing?); try again", name, o->vni, TBL_RESTARTS + 1);
		break;
	default:
		warnx("%s: VNI %u: cannot walk its entries: %s", name, o->vni, strerror(-r));
	}
	return -1;
}

/* Sample everything while attached. Returns 0, or -1 after reporting on stderr. */
static int
snap_take(struct table *t, struct tbl_snap *s, const char *name, const struct tbl_opts *o)
{
	const struct table_counters *c = table_counters(t);
	const struct seg *sg = table_seg(t);
	uint32_t *vnis;
	int r;

	memset(s, 0, sizeof(*s));
	snprintf(s->segment, sizeof(s->segment), "%s", name);
	s->params = *table_params(t);
	/* The owner stores its pid with a plain store; no ordering is needed. */
	s->pid = __atomic_load_n(&sg->hdr->owner_pid, __ATOMIC_RELAXED);
	s->hb_age_ns = seg_heartbeat_age(sg, clock_mono_ns());
	s->state = seg_owner_state(sg);
	s->created_s = table_created(t);
	s->count = table_count(t);
	s->live = table_live(t);
	/* Two loads: a writer between them may make live exceed count for a moment. */
	s->tombs = s->count > s->live ? s->count - s->live : 0;
	s->size = sg->size;
	table_readers(t, &s->attached, &s->active);
	table_limbo(t, &s->limbo, &s->free_now);
	table_vni_slots(t, &s->vni_slots, &s->vni_slots_retired);
	s->homeless = table_homeless(t);
	s->applied_seq = table_applied_seq(t);
	s->applied_epoch = table_applied_epoch(t);
	for (size_t i = 0; i < TBL_NCTRS; i++)
		s->ctr[i] = __atomic_load_n((const uint64_t *)((const char *)c +
		    tbl_ctrs[i].off), __ATOMIC_RELAXED);

	if ((vnis = calloc(s->params.max_vnis, sizeof(*vnis))) == NULL ||
	    (s->vnis = calloc(s->params.max_vnis, sizeof(*s->vnis))) == NULL)
		err(1, "calloc");
	r = (int)table_vnis(t, vnis, s->params.max_vnis);
	for (int i = 0; i < r; i++)
		/* A VNI listed may be dropped before we ask: skip it then. */
		if (table_vni_get(t, vnis[i], &s->vnis[s->nvnis]) == 0)
			s->nvnis++;
	free(vnis);
	qsort(s->vnis, s->nvnis, sizeof(*s->vnis), vni_cmp);

	return o->has_vni ? snap_vni(t, s, name, o) : 0;
}

static void
snap_free(struct tbl_snap *s)
{
	free(s->vnis);
	free(s->valid);
	free(s->entries);
}

static const char *
mode_name(uint32_t mode)
{
	switch (mode) {
	case TABLE_GATEWAY:
		return "gateway";
	case TABLE_HOST:
		return "host";
	default:
		return "unknown";
	}
}

/* IPv4 in host byte order, dotted. */
static const char *
fmt_ip(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff,
	    ip & 0xff);
	return buf;
}

static const char *
fmt_mac(char *buf, size_t len, const uint8_t *m)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
	    m[5]);
	return buf;
}

/* "tombstone,retired", "external", or "-" for a plain rule. */
static const char *
fmt_flags(char *buf, size_t len, uint8_t flags)
{
	static const struct { uint8_t bit; const char *name; } names[] = {
		{ TABLE_F_TOMBSTONE, "tombstone" }, { TABLE_F_EXTERNAL, "external" },
		{ TABLE_F_RETIRED, "retired" } };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
			    n ? "," : "", names[i].name);
	if (n == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* The line above the entries of -v: what they are and in which order. */
static void
print_entries_title(const struct tbl_snap *s)
{
	const char *what;

	printf("VNI %u: ", s->entries_vni);
	if (s->has_since && s->since > 0) {
		printf("%zu change%s after version %llu (%zu delete%s) in version order, "
		    "bringing a learner to version %llu\n", s->nentries,
		    s->nentries == 1 ? "" : "s", (unsigned long long)s->since, s->ndeleted,
		    s->ndeleted == 1 ? "" : "s", (unsigned long long)s->upto);
		return;
	}
	if (s->params.mode != TABLE_GATEWAY)
		what = "live rules; a host table keeps no tombstones";
	else if (!s->deleted)
		what = "live rules; -d lists the tombstones too";
	else
		what = NULL;
	if (s->has_since)
		printf("%zu change%s after version 0: a full dump in list order, bringing a "
		    "learner to version %llu (", s->nentries, s->nentries == 1 ? "" : "s",
		    (unsigned long long)s->upto);
	else
		printf("%zu entr%s in list order (", s->nentries,
		    s->nentries == 1 ? "y" : "ies");
	if (what)
		printf("%s)\n", what);
	else
		printf("live rules and %zu tombstone%s)\n", s->ndeleted,
		    s->ndeleted == 1 ? "" : "s");
}

static void
print_text(const struct tbl_snap *s)
{
	const struct table_params *p = &s->params;
	char when[64], ip[16], mac[18], vtep[16], flags[40], vs[512];
	time_t created = (time_t)s->created_s;
	int wname = 0, wval = 0;
	struct tm tm;

	if (localtime_r(&created, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(when, sizeof(when), "%llu s", (unsigned long long)s->created_s);
	printf("segment      %s\n", s->segment);
	printf("mode         %s\n", mode_name(p->mode));
	printf("owner        pid %d, %s\n", (int)s->pid, s->state);
	printf("created      %s\n", when);
	printf("heartbeat    %llu.%03llu s ago\n",
	    (unsigned long long)(s->hb_age_ns / 1000000000u),
	    (unsigned long long)(s->hb_age_ns / 1000000u % 1000));
	printf("params       capacity %u, max_vnis %u, version_window %u, max_readers %u\n",
	    p->capacity, p->max_vnis, p->version_window, p->max_readers);
	printf("rules        %u held: %u live, %u tombstones\n", s->count, s->live, s->tombs);
	printf("size         %llu bytes, %.1f bytes a rule of capacity\n",
	    (unsigned long long)s->size, (double)s->size / p->capacity);
	printf("readers      %u attached (this one included), %u active\n", s->attached,
	    s->active);
	printf("entries      %u in limbo, %u free\n", s->limbo, s->free_now);
	printf("vni slots    %u of %u held, %u of dropped VNIs waiting for readers\n",
	    s->vni_slots, p->max_vnis, s->vni_slots_retired);
	if (s->homeless)
		printf("homeless     %u VPC(s) found no VNI slot: incomplete here\n", s->homeless);
	if (s->applied_epoch)
		printf("applied_seq  %llu (epoch %016llx)\n", (unsigned long long)s->applied_seq,
		    (unsigned long long)s->applied_epoch);
	else
		printf("applied_seq  %llu (epoch not known)\n",
		    (unsigned long long)s->applied_seq);

	for (size_t i = 0; i < TBL_NCTRS; i++) {
		int w = snprintf(NULL, 0, "%llu", (unsigned long long)s->ctr[i]);

		if ((int)strlen(tbl_ctrs[i].name) > wname)
			wname = strlen(tbl_ctrs[i].name);
		if (w > wval)
			wval = w;
	}
	printf("\ncounters\n");
	for (size_t i = 0; i < TBL_NCTRS; i++)
		printf("  %-*s  %*llu  %s\n", wname, tbl_ctrs[i].name, wval,
		    (unsigned long long)s->ctr[i], tbl_ctrs[i].desc);

	printf("\n%u VNI%s\n", s->nvnis, s->nvnis == 1 ? "" : "s");
	if (s->nvnis)
		printf("  %10s %10s %12s %12s %10s %8s %10s %10s  %s\n", "vni", "gen",
		    "version", "oldest", "versions", "flushes", "rules", "tombstones", "held");
	for (uint32_t i = 0; i < s->nvnis; i++) {
		const struct table_vni_info *v = &s->vnis[i];

		/* An incomplete VPC: a change of it was refused (table full); syncd says RETRY. */
		printf("  %10u %10u %12llu %12llu %10llu %8llu %10u %10u  %s\n", v->vni, v->gen,
		    (unsigned long long)v->version, (unsigned long long)v->oldest,
		    (unsigned long long)v->nversions, (unsigned long long)v->flushes, v->live,
		    v->tombs, v->flags & TABLE_VNI_INCOMPLETE ? "INCOMPLETE" : "whole");
	}

	if (!s->has_entries)
		return;
	printf("\nVNI %u: valid versions %s\n", s->entries_vni,
	    fmt_versions(vs, sizeof(vs), s->valid, s->nvalid));
	print_entries_title(s);
	if (s->nentries)
		printf("  %s%-15s  %-17s  %-15s  %12s  %s\n", s->ops ? "op   " : "", "ip",
		    "mac", "vtep", "version", "flags");
	for (size_t i = 0; i < s->nentries; i++) {
		const struct table_rule *r = &s->entries[i];

		printf("  %s%-15s  %-17s  %-15s  %12llu  %s\n",
		    !s->ops ? "" : r->flags & TABLE_F_TOMBSTONE ? "del  " : "set  ",
		    fmt_ip(ip, sizeof(ip), r->ip), fmt_mac(mac, sizeof(mac), r->mac),
		    fmt_ip(vtep, sizeof(vtep), r->vtep), (unsigned long long)r->version,
		    fmt_flags(flags, sizeof(flags), r->flags));
	}
}

static json_t *
entry_json(const struct table_rule *r, bool op)
{
	char ip[16], mac[18], vtep[16];
	json_t *flags = json_checked(json_array()), *e;

	if (r->flags & TABLE_F_TOMBSTONE)
		json_push(flags, json_string("tombstone"));
	if (r->flags & TABLE_F_EXTERNAL)
		json_push(flags, json_string("external"));
	if (r->flags & TABLE_F_RETIRED)
		json_push(flags, json_string("retired"));
	e = json_checked(json_pack("{s:s, s:s, s:s, s:o, s:o}", "ip",
	    fmt_ip(ip, sizeof(ip), r->ip), "mac", fmt_mac(mac, sizeof(mac), r->mac), "vtep",
	    fmt_ip(vtep, sizeof(vtep), r->vtep), "version", json_u64(r->version), "flags",
	    flags));
	if (op)
		json_put(e, "op", json_string(r->flags & TABLE_F_TOMBSTONE ? "delete" : "set"));
	return e;
}

static void
print_json(const struct tbl_snap *s)
{
	const struct table_params *p = &s->params;
	json_t *doc = json_checked(json_object()), *ctrs, *vnis, *ents;

	json_put(doc, "segment", json_string(s->segment));
	json_put(doc, "mode", json_string(mode_name(p->mode)));
	json_put(doc, "pid", json_integer(s->pid));
	json_put(doc, "state", json_string(s->state));
	json_put(doc, "created", json_u64(s->created_s));
	json_put(doc, "heartbeat_age_ms", json_u64(s->hb_age_ns / 1000000u));
	json_put(doc, "params", json_pack("{s:I, s:I, s:I, s:I}", "capacity",
	    (json_int_t)p->capacity, "max_vnis", (json_int_t)p->max_vnis, "version_window",
	    (json_int_t)p->version_window, "max_readers", (json_int_t)p->max_readers));
	json_put(doc, "count", json_integer(s->count));
	json_put(doc, "live", json_integer(s->live));
	json_put(doc, "tombs", json_integer(s->tombs));
	json_put(doc, "size_bytes", json_u64(s->size));
	json_put(doc, "bytes_per_rule", json_real((double)s->size / p->capacity));
	json_put(doc, "readers", json_pack("{s:I, s:I}", "attached", (json_int_t)s->attached,
	    "active", (json_int_t)s->active));
	json_put(doc, "limbo", json_integer(s->limbo));
	json_put(doc, "free", json_integer(s->free_now));
	json_put(doc, "vni_slots", json_pack("{s:I, s:I, s:I}", "held",
	    (json_int_t)s->vni_slots, "retired", (json_int_t)s->vni_slots_retired, "max",
	    (json_int_t)p->max_vnis));
	json_put(doc, "homeless", json_integer(s->homeless));
	json_put(doc, "applied_seq", json_u64(s->applied_seq));
	{
		char epoch[17];

		/* Hex, as the controller logs it; "" when not known. */
		snprintf(epoch, sizeof(epoch), "%016llx", (unsigned long long)s->applied_epoch);
		json_put(doc, "applied_epoch", json_string(s->applied_epoch ? epoch : ""));
	}

	ctrs = json_checked(json_object());
	for (size_t i = 0; i < TBL_NCTRS; i++)
		json_put(ctrs, tbl_ctrs[i].name, json_u64(s->ctr[i]));
	json_put(doc, "counters", ctrs);

	vnis = json_checked(json_array());
	for (uint32_t i = 0; i < s->nvnis; i++) {
		const struct table_vni_info *v = &s->vnis[i];

		json_push(vnis, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:b}", "vni",
		    (json_int_t)v->vni, "gen", (json_int_t)v->gen, "version",
		    json_u64(v->version), "oldest", json_u64(v->oldest), "nversions",
		    json_u64(v->nversions), "flushes", json_u64(v->flushes), "live",
		    (json_int_t)v->live, "tombs", (json_int_t)v->tombs, "incomplete",
		    (v->flags & TABLE_VNI_INCOMPLETE) != 0));
	}
	json_put(doc, "vnis", vnis);

	if (s->has_entries) {
		ents = json_checked(json_array());
		for (uint32_t i = 0; i < s->nvalid; i++)
			json_push(ents, json_u64(s->valid[i]));
		json_put(doc, "valid_versions", ents);
		if (s->has_since) {
			json_put(doc, "since", json_u64(s->since));
			json_put(doc, "upto", json_u64(s->upto));
		}
		ents = json_checked(json_array());
		for (size_t i = 0; i < s->nentries; i++)
			json_push(ents, entry_json(&s->entries[i], s->ops));
		json_put(doc, "entries", ents);
	}
	json_print(stdout, doc);
}

static int
run_dump(const struct tbl_opts *o)
{
	char name[SEG_NAME_MAX], errbuf[512];
	struct tbl_snap s;
	struct table *t;
	int r;

	resolve(name, sizeof(name), o);
	if (table_attach(&t, name, errbuf, sizeof(errbuf)) < 0)
		errx(1, "%s", errbuf);
	r = snap_take(t, &s, name, o);
	/* Free the reader slot before printing: a slow pipe must not hold it. */
	table_close(t);
	if (r == 0) {
		if (o->json)
			print_json(&s);
		else
			print_text(&s);
	}
	snap_free(&s);
	return r == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "deleted", no_argument, NULL, 'd' },
		{ "changes-since", required_argument, NULL, TBL_OPT_SINCE },
		{ NULL, 0, NULL, 0 },
	};
	struct tbl_opts o = { 0 };
	unsigned long long v;
	char *end;
	int ch, rc;

	version_exit_if_asked(argc, argv, progname);
	while ((ch = getopt_long(argc, argv, "dhjN:v:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o.deleted = true;
			break;
		case TBL_OPT_SINCE:
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || optarg[0] < '0' ||
			    optarg[0] > '9')
				usage_error("--changes-since %s: want a version, 0 to %llu",
				    optarg, (unsigned long long)UINT64_MAX);
			o.has_since = true;
			o.since = v;
			break;
		case 'h':
			usage(stdout, true);
			return 0;
		case 'j':
			o.json = true;
			break;
		case 'N':
			o.node = optarg;
			break;
		case 'v':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || optarg[0] < '0' ||
			    optarg[0] > '9' || v > UINT32_MAX)
				usage_error("-v %s: want a VNI, 0 to %u", optarg, UINT32_MAX);
			o.has_vni = true;
			o.vni = (uint32_t)v;
			break;
		default:
			usage(stderr, false);
			return 2;
		}
	}
	if (argc - optind > 1)
		usage_error("one segment at a time");
	if (argc - optind == 1)
		o.arg = argv[optind];
	if (o.arg && o.node)
		usage_error("name a segment or give -N, not both");
	if (o.has_vni && !o.arg && !o.node)
		usage_error("-v needs a segment (or -N)");
	if ((o.deleted || o.has_since) && !o.has_vni)
		usage_error("%s lists the entries of a VNI: give -v",
		    o.deleted ? "-d" : "--changes-since");

	rc = o.arg || o.node ? run_dump(&o) : run_list(&o);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return rc;
}
