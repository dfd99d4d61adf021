/*
 * seg_test: named segments. An attacher sees a whole header and refuses any segment
 * that is not exactly what it expects, naming the segment; there is at most one owner;
 * an owner that comes back (detached or killed) keeps the contents; seg_owner_alive
 * tells a live owner from a dead one. seg_name_parse takes exactly the names seg_name
 * makes, and seg_list finds those files alone, filtered and sorted by their parts.
 */
#include "shm/seg.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ		4096
#define LAYOUT		3
#define BODY_LEN	(SZ - sizeof(struct seg_hdr))

TestSuite(seg, .init = ut_init, .fini = ut_fini);

static unsigned char *
body(const struct seg *s)
{
	return (unsigned char *)s->base + sizeof(struct seg_hdr);
}

static bool
body_is(const struct seg *s, unsigned char v)
{
	for (size_t i = 0; i < BODY_LEN; i++)
		if (body(s)[i] != v)
			return false;
	return true;
}

static int
create(struct seg *s, const char *what)
{
	return seg_create(s, ut_node(), "segt", what, SEG_KIND_TEST, LAYOUT, SZ);
}

/* A file in /dev/shm that is not a valid segment: `len` bytes of `fill`. */
static void
make_raw(const char *name, size_t len, unsigned char fill)
{
	char path[SEG_NAME_MAX + 1];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_neq(fd, -1, "shm_open %s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	memset(p, fill, len);
	munmap(p, len);
	close(fd);
}

/* Attach must fail with `want`, leave nothing open and say `words` and the name. */
static void
expect_refused(const char *name, uint32_t kind, uint32_t layout, size_t size, int want,
    const char *words)
{
	struct seg a;
	int r;

	r = seg_attach(&a, name, kind, layout, size, 0);
	cr_assert_eq(r, want, "attach returned %d (%s), expected %d", r, a.err, want);
	cr_assert_not_null(strstr(a.err, name), "error does not name the segment: %s", a.err);
	cr_assert_not_null(strstr(a.err, words), "error '%s' does not say '%s'", a.err, words);
	cr_assert_null(a.base);
	cr_assert_eq(a.fd, -1);
}

Test(seg, create_then_attach_sees_header_and_contents)
{
	char name[SEG_NAME_MAX];
	struct seg o, a, any;

	ut_segname(name, sizeof(name), "segt", "basic");
	cr_assert_eq(create(&o, "basic"), 0, "%s", o.err);
	cr_assert(o.owner);
	cr_assert(o.created);
	cr_assert_str_eq(o.name, name);
	cr_assert(body_is(&o, 0), "a new segment must be zeroed");
	memset(body(&o), 0xab, BODY_LEN);

	cr_assert_eq(seg_attach(&a, name, SEG_KIND_TEST, LAYOUT, SZ, 0), 0, "%s", a.err);
	cr_assert(!a.owner);
	cr_assert_eq(a.size, SZ);
	cr_assert_eq(a.hdr->magic, SEG_MAGIC);
	cr_assert_eq(a.hdr->kind, SEG_KIND_TEST);
	cr_assert_eq(a.hdr->layout, LAYOUT);
	cr_assert_eq(a.hdr->hdr_size, sizeof(struct seg_hdr));
	cr_assert_eq(a.hdr->size, SZ);
	cr_assert_eq(a.hdr->owner_pid, getpid());
	cr_assert_eq(a.hdr->owner_starts, 1);
	cr_assert_neq(a.hdr->heartbeat_ns, 0);
	cr_assert_geq(a.hdr->start_ns, a.hdr->created_ns);
	cr_assert_str_eq(a.hdr->node, ut_node());
	cr_assert_str_eq(a.hdr->proc, "segt");
	cr_assert_str_eq(a.hdr->what, "basic");
	cr_assert(body_is(&a, 0xab), "the attacher must see what the owner wrote");
	cr_assert_eq(seg_owner_alive(&a), 1);
	cr_assert_eq(seg_owner_alive(&o), 1);

	/* size 0: any size the header declares; read-only mapping on request. */
	cr_assert_eq(seg_attach(&any, name, SEG_KIND_TEST, LAYOUT, 0, SEG_RDONLY), 0, "%s",
	    any.err);
	cr_assert(any.readonly);
	cr_assert_eq(any.size, SZ);
	cr_assert(body_is(&any, 0xab));

	seg_detach(&any);
	seg_detach(&a);
	seg_detach(&o);
	cr_assert_eq(seg_unlink_name(name), 0);
	cr_assert_eq(seg_unlink_name(name), -ENOENT);
}

Test(seg, heartbeat_moves_forward)
{
	struct seg o;
	uint64_t before;

	cr_assert_eq(create(&o, "hb"), 0, "%s", o.err);
	before = o.hdr->heartbeat_ns;
	usleep(1000);
	seg_heartbeat(&o);
	cr_assert_gt(o.hdr->heartbeat_ns, before);
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, attach_refuses_missing_segment)
{
	char name[SEG_NAME_MAX];

	ut_segname(name, sizeof(name), "segt", "nothere");
	expect_refused(name, SEG_KIND_TEST, LAYOUT, SZ, -ENOENT, "no such segment");
}

Test(seg, attach_refuses_bad_magic)
{
	char name[SEG_NAME_MAX];

	ut_segname(name, sizeof(name), "segt", "magic");
	make_raw(name, SZ, 0x11);
	expect_refused(name, SEG_KIND_TEST, LAYOUT, SZ, -EPROTO, "bad magic");
	seg_unlink_name(name);
}

Test(seg, attach_refuses_file_smaller_than_header)
{
	char name[SEG_NAME_MAX];

	ut_segname(name, sizeof(name), "segt", "tiny");
	make_raw(name, 16, 0);
	expect_refused(name, SEG_KIND_TEST, LAYOUT, 0, -EPROTO, "too small");
	seg_unlink_name(name);
}

Test(seg, attach_refuses_wrong_kind)
{
	struct seg o;

	cr_assert_eq(create(&o, "kind"), 0, "%s", o.err);
	expect_refused(o.name, SEG_KIND_RING, LAYOUT, SZ, -EPROTO, "kind");
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, attach_refuses_wrong_layout_version)
{
	struct seg o;

	cr_assert_eq(create(&o, "layout"), 0, "%s", o.err);
	expect_refused(o.name, SEG_KIND_TEST, LAYOUT + 1, SZ, -EPROTO, "layout version 3, "
	    "expected 4");
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, attach_refuses_wrong_size)
{
	struct seg o;

	cr_assert_eq(create(&o, "size"), 0, "%s", o.err);
	expect_refused(o.name, SEG_KIND_TEST, LAYOUT, 2 * SZ, -EPROTO, "size 4096 bytes, "
	    "expected 8192");
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, create_refuses_existing_segment_of_other_kind_layout_or_size)
{
	struct seg o, s;
	int r;

	cr_assert_eq(create(&o, "other"), 0, "%s", o.err);
	seg_detach(&o);

	r = seg_create(&s, ut_node(), "segt", "other", SEG_KIND_STATS, LAYOUT, SZ);
	cr_assert_eq(r, -EPROTO, "kind: %d %s", r, s.err);
	cr_assert_not_null(strstr(s.err, o.name), "%s", s.err);
	r = seg_create(&s, ut_node(), "segt", "other", SEG_KIND_TEST, LAYOUT + 1, SZ);
	cr_assert_eq(r, -EPROTO, "layout: %d %s", r, s.err);
	cr_assert_not_null(strstr(s.err, "layout version"), "%s", s.err);
	r = seg_create(&s, ut_node(), "segt", "other", SEG_KIND_TEST, LAYOUT, 2 * SZ);
	cr_assert_eq(r, -EPROTO, "size: %d %s", r, s.err);
	cr_assert_not_null(strstr(s.err, "has 4096 bytes, expected 8192"), "%s", s.err);
	cr_assert_eq(s.fd, -1, "a refused create must not keep the owner lock");

	/* None of the refusals damaged it. */
	cr_assert_eq(create(&o, "other"), 0, "%s", o.err);
	cr_assert(!o.created);
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, create_refuses_size_smaller_than_header)
{
	struct seg s;

	cr_assert_eq(seg_create(&s, ut_node(), "segt", "small", SEG_KIND_TEST, LAYOUT, 8),
	    -EINVAL);
	cr_assert_not_null(strstr(s.err, "smaller than the header"), "%s", s.err);
}

Test(seg, create_over_unpublished_segment_starts_fresh)
{
	char name[SEG_NAME_MAX];
	struct seg o;

	/* What a creator that died before storing the magic leaves behind. */
	ut_segname(name, sizeof(name), "segt", "unpub");
	make_raw(name, SZ, 0xee);
	cr_assert_eq(create(&o, "unpub"), 0, "%s", o.err);
	cr_assert(o.created);
	cr_assert_eq(o.hdr->magic, SEG_MAGIC);
	cr_assert_eq(o.hdr->owner_starts, 1);
	cr_assert(body_is(&o, 0), "leftovers of the dead creator must be cleared");
	seg_detach(&o);
	seg_unlink_name(name);
}

static int
second_owner(void *arg)
{
	const char *owner_pid = arg;
	struct seg s;
	int r;

	r = create(&s, "busy");
	if (r != -EBUSY)
		return 1;
	if (strstr(s.err, "vpcfwd.") == NULL || strstr(s.err, owner_pid) == NULL)
		return 2;
	if (s.fd != -1 || s.base != NULL || s.owner)
		return 3;
	return 0;
}

static int
next_owner(void *arg)
{
	struct seg s;

	(void)arg;
	if (create(&s, "busy") != 0)
		return 1;
	if (s.created || s.hdr->owner_starts != 2 || s.hdr->owner_pid != getpid())
		return 2;
	return body_is(&s, 0x42) ? 0 : 3;
}

Test(seg, second_owner_is_refused_while_first_holds_it)
{
	char owner_pid[32];
	struct seg o;
	pid_t pid;
	int code;

	cr_assert_eq(create(&o, "busy"), 0, "%s", o.err);
	memset(body(&o), 0x42, BODY_LEN);
	snprintf(owner_pid, sizeof(owner_pid), "pid %d", (int)getpid());
	pid = ut_spawn(second_owner, owner_pid);
	cr_assert_gt(pid, 0);
	code = ut_wait(pid);
	cr_assert_eq(code, 0, "second owner: code %d (1: not -EBUSY, 2: message does not "
	    "name segment and owner, 3: left state behind)", code);
	cr_assert_eq(o.hdr->owner_pid, getpid());
	cr_assert_eq(o.hdr->owner_starts, 1);

	/* Once the first owner lets go, another process may take over. */
	seg_detach(&o);
	pid = ut_spawn(next_owner, NULL);
	cr_assert_gt(pid, 0);
	code = ut_wait(pid);
	cr_assert_eq(code, 0, "next owner: code %d", code);
	seg_unlink_name(o.name);
}

Test(seg, owner_recreate_after_detach_keeps_contents)
{
	struct seg o;
	uint64_t created, started;

	cr_assert_eq(create(&o, "again"), 0, "%s", o.err);
	memset(body(&o), 0x5a, BODY_LEN);
	created = o.hdr->created_ns;
	started = o.hdr->start_ns;
	seg_detach(&o);

	cr_assert_eq(create(&o, "again"), 0, "%s", o.err);
	cr_assert(o.owner);
	cr_assert(!o.created, "an existing segment must be re-attached, not re-created");
	cr_assert(body_is(&o, 0x5a));
	cr_assert_eq(o.hdr->owner_starts, 2);
	cr_assert_eq(o.hdr->created_ns, created);
	cr_assert_geq(o.hdr->start_ns, started);
	seg_detach(&o);
	seg_unlink_name(o.name);
}

static int
owner_until_killed(void *arg)
{
	const char *what = arg;
	struct seg s;

	if (create(&s, what) != 0)
		return 1;
	memset(body(&s), 0x77, BODY_LEN);
	ut_ready();
	for (;;)
		pause();
}

Test(seg, owner_recreate_after_kill_keeps_contents)
{
	struct seg o;
	pid_t pid;

	pid = ut_spawn(owner_until_killed, "killed");
	cr_assert_gt(pid, 0);
	cr_assert_eq(create(&o, "killed"), -EBUSY, "the child still owns it: %s", o.err);
	ut_kill(pid);

	cr_assert_eq(create(&o, "killed"), 0, "%s", o.err);
	cr_assert(!o.created);
	cr_assert(body_is(&o, 0x77), "what the killed owner wrote must survive");
	cr_assert_eq(o.hdr->owner_starts, 2);
	cr_assert_eq(o.hdr->owner_pid, getpid());
	seg_detach(&o);
	seg_unlink_name(o.name);
}

Test(seg, owner_alive_until_owner_dies)
{
	char name[SEG_NAME_MAX];
	struct seg a;
	pid_t pid;

	ut_segname(name, sizeof(name), "segt", "alive");
	pid = ut_spawn(owner_until_killed, "alive");
	cr_assert_gt(pid, 0);
	cr_assert_eq(seg_attach(&a, name, SEG_KIND_TEST, LAYOUT, SZ, SEG_RDONLY), 0, "%s",
	    a.err);
	cr_assert_eq(a.hdr->owner_pid, pid);
	cr_assert_eq(seg_owner_alive(&a), 1);
	ut_kill(pid);
	cr_assert_eq(seg_owner_alive(&a), 0, "the owner was killed");
	cr_assert(body_is(&a, 0x77));
	seg_detach(&a);
	seg_unlink_name(name);
}

Test(seg, bad_name_parts_are_refused)
{
	static const char *const bad[] = {
		"", "Upper", "a.b", "a/b", "sp ace", "tab\t", "dot.", "..",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 characters */
	};
	const char *good = "abcdefghijklmnopqrstuvwxyz01234";	/* 31 */
	char buf[SEG_NAME_MAX];
	struct seg s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(!addr_part_valid(bad[i]), "'%s' accepted", bad[i]);
		cr_assert_eq(seg_create(&s, bad[i], "segt", "w", SEG_KIND_TEST, LAYOUT, SZ),
		    -EINVAL, "node '%s' accepted", bad[i]);
		cr_assert_not_null(strstr(s.err, "bad segment name parts"), "%s", s.err);
		cr_assert_eq(seg_create(&s, ut_node(), bad[i], "w", SEG_KIND_TEST, LAYOUT, SZ),
		    -EINVAL, "proc '%s' accepted", bad[i]);
		cr_assert_eq(seg_create(&s, ut_node(), "segt", bad[i], SEG_KIND_TEST, LAYOUT,
		    SZ), -EINVAL, "what '%s' accepted", bad[i]);
		cr_assert_eq(s.fd, -1);
		cr_assert_eq(seg_name(buf, sizeof(buf), "n", bad[i], "w"), -EINVAL);
	}
	cr_assert(addr_part_valid(good));
	cr_assert(addr_part_valid("gw1_a-b"));
	cr_assert_eq(seg_name(buf, sizeof(buf), "gw1", "rule-store", "table"), 0);
	cr_assert_str_eq(buf, "vpcfwd.gw1.rule-store.table");
	cr_assert_eq(seg_name(buf, 10, "gw1", "rule-store", "table"), -ENAMETOOLONG);
}

Test(seg, name_parse_splits_valid_names)
{
	const char *p31 = "abcdefghijklmnopqrstuvwxyz01234";
	char name[SEG_NAME_MAX];
	struct seg_ent e;

	cr_assert(seg_name_parse("vpcfwd.gw1.rule-store.table", &e));
	cr_assert_str_eq(e.name, "vpcfwd.gw1.rule-store.table");
	cr_assert_str_eq(e.node, "gw1");
	cr_assert_str_eq(e.proc, "rule-store");
	cr_assert_str_eq(e.what, "table");

	/* The longest name seg_name makes: three parts of 31. */
	cr_assert_eq(seg_name(name, sizeof(name), p31, p31, p31), 0);
	cr_assert(seg_name_parse(name, &e), "'%s' refused", name);
	cr_assert_str_eq(e.name, name);
	cr_assert_str_eq(e.node, p31);
	cr_assert_str_eq(e.proc, p31);
	cr_assert_str_eq(e.what, p31);

	cr_assert(seg_name_parse("vpcfwd.a.0_-.z", &e));
	cr_assert_str_eq(e.node, "a");
	cr_assert_str_eq(e.proc, "0_-");
	cr_assert_str_eq(e.what, "z");
}

/* Each name must be refused and leave e as it was. */
static void
expect_unparsed(const char *const *names, size_t n)
{
	struct seg_ent e, before;

	memset(&e, 0x5c, sizeof(e));
	before = e;
	for (size_t i = 0; i < n; i++) {
		cr_assert(!seg_name_parse(names[i], &e), "'%s' accepted", names[i]);
		cr_assert_eq(memcmp(&e, &before, sizeof(e)), 0, "'%s' changed e", names[i]);
	}
}

Test(seg, name_parse_refuses_bad_parts)
{
	static const char *const bad[] = {
		"vpcfwd.", "vpcfwd..", "vpcfwd...", "vpcfwd.n", "vpcfwd.n.p", "vpcfwd.n.p.",
		"vpcfwd..p.w", "vpcfwd.n..w", "vpcfwd.n.p.w.x", "vpcfwd.n.p.w.", "vpcfwd.Gw1.p.w",
		"vpcfwd.n.P.w", "vpcfwd.n.p.W", "vpcfwd.n p.p.w", "vpcfwd.n.p/q.w",
		"vpcfwd.n.p.w\n", "vpcfwd.n.p.w\t", "vpcfwd.n.\xc3\xa9.w",
		"vpcfwd.abcdefghijklmnopqrstuvwxyz012345.p.w",	/* node of 32 */
		"vpcfwd.n.abcdefghijklmnopqrstuvwxyz012345.w",	/* proc of 32 */
		"vpcfwd.n.p.abcdefghijklmnopqrstuvwxyz012345",	/* what of 32 */
	};

	expect_unparsed(bad, sizeof(bad) / sizeof(bad[0]));
}

Test(seg, name_parse_refuses_other_prefixes)
{
	static const char *const other[] = {
		"", "vpcfwd", "vpcfwdx.n.p.w", "Vpcfwd.n.p.w", "xvpcfwd.n.p.w", "vpcfwd-n.p.w",
		"/vpcfwd.n.p.w", " vpcfwd.n.p.w", "sem.vpcfwd.n.p.w", "n.p.w", ".vpcfwd.n.p.w",
	};

	expect_unparsed(other, sizeof(other) / sizeof(other[0]));
}

/*
 * seg_list tests make files of two nodes, ut<pid> and ut<pid>-b, and files that are not
 * segments; list_fini removes every one, whether the test passed or not.
 */
#define LIST_FILES_MAX	32

static char list_files[LIST_FILES_MAX][sizeof(SEG_DIR) + SEG_NAME_MAX];
static int list_nfiles;
static char list_node2[SEG_PART_MAX + 1];

static void
list_init(void)
{
	ut_init();
	snprintf(list_node2, sizeof(list_node2), "%.29s-b", ut_node());
}

static void
list_fini(void)
{
	for (int i = 0; i < list_nfiles; i++)
		if (rmdir(list_files[i]) == -1)
			unlink(list_files[i]);
	ut_fini();
}

TestSuite(seg_list, .init = list_init, .fini = list_fini);

/* An empty file, or a directory, in SEG_DIR named "<a>.<b>.<c>.<d>" (NULL: fewer parts). */
static void
list_make(bool dir, const char *a, const char *b, const char *c, const char *d)
{
	char *path;

	cr_assert_lt(list_nfiles, LIST_FILES_MAX);
	path = list_files[list_nfiles++];	/* recorded first: a failure still cleans */
	snprintf(path, sizeof(list_files[0]), "%s/%s.%s.%s%s%s", SEG_DIR, a, b, c, d ? "." : "",
	    d ? d : "");
	if (dir) {
		cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %s", path, strerror(errno));
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		cr_assert_neq(fd, -1, "create %s: %s", path, strerror(errno));
		close(fd);
	}
}

/* A segment file: "vpcfwd.<node>.<proc>.<what>". */
static void
list_seg(const char *node, const char *proc, const char *what)
{
	list_make(false, "vpcfwd", node, proc, what);
}

/*
 * The entries of this test's two nodes, in the order listed, as "1.proc.what" (node
 * ut<pid>) and "2.proc.what" (ut<pid>-b) separated by spaces; checks that every entry
 * listed is consistent with its name and that the whole list is sorted.
 */
static const char *
list_ours(char *buf, size_t len, const struct seg_ent *v, int n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char name[SEG_NAME_MAX];
		int tag;

		cr_assert_eq(seg_name(name, sizeof(name), v[i].node, v[i].proc, v[i].what), 0,
		    "entry %d: bad parts", i);
		cr_assert_str_eq(v[i].name, name);
		if (i > 0) {
			int r = strcmp(v[i - 1].node, v[i].node);

			if (r == 0)
				r = strcmp(v[i - 1].proc, v[i].proc);
			if (r == 0)
				r = strcmp(v[i - 1].what, v[i].what);
			cr_assert_leq(r, 0, "%s listed before %s", v[i - 1].name, v[i].name);
		}
		if (strcmp(v[i].node, ut_node()) == 0)
			tag = 1;
		else if (strcmp(v[i].node, list_node2) == 0)
			tag = 2;
		else
			continue;
		off += snprintf(buf + off, len - off, "%s%d.%s.%s", off ? " " : "", tag,
		    v[i].proc, v[i].what);
		cr_assert_lt(off, len);
	}
	return buf;
}

Test(seg_list, lists_valid_segment_files_only)
{
	struct seg_ent *v;
	char got[512];
	int n;

	list_seg(ut_node(), "p", "stats");
	list_seg(ut_node(), "p", "table");
	/* Not segments: bad parts, another prefix, too many parts, too few, a directory. */
	list_seg(ut_node(), "Bad", "stats");
	list_seg(ut_node(), "p", "s.x");
	list_make(false, "vpcfwdx", ut_node(), "q", "stats");
	list_make(false, "sem", "vpcfwd", ut_node(), "q");
	list_make(false, "vpcfwd", ut_node(), "q", NULL);
	list_make(true, "vpcfwd", ut_node(), "dir", "stats");

	n = seg_list(ut_node(), NULL, &v);
	cr_assert_eq(n, 2, "seg_list: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n), "1.p.stats 1.p.table");
	free(v);
}

Test(seg_list, filters_by_node_and_by_what)
{
	struct seg_ent *v;
	char got[512], none[SEG_PART_MAX + 1];
	int n;

	list_seg(ut_node(), "p", "stats");
	list_seg(ut_node(), "p", "table");
	list_seg(ut_node(), "q", "stats");
	list_seg(list_node2, "p", "stats");
	list_seg(list_node2, "r", "ring");

	n = seg_list(ut_node(), NULL, &v);
	cr_assert_eq(n, 3, "node: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n), "1.p.stats 1.p.table 1.q.stats");
	free(v);

	n = seg_list(ut_node(), "stats", &v);
	cr_assert_eq(n, 2, "node and what: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n), "1.p.stats 1.q.stats");
	free(v);

	n = seg_list(list_node2, "ring", &v);
	cr_assert_eq(n, 1, "other node and what: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n), "2.r.ring");
	free(v);

	/* Any node: other tests' segments may be listed too, but only of that what. */
	n = seg_list(NULL, "stats", &v);
	cr_assert_geq(n, 3, "what: %d", n);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(v[i].what, "stats", "%s listed", v[i].name);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n), "1.p.stats 1.q.stats 2.p.stats");
	free(v);

	n = seg_list(NULL, NULL, &v);
	cr_assert_geq(n, 5, "all: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n),
	    "1.p.stats 1.p.table 1.q.stats 2.p.stats 2.r.ring");
	free(v);

	snprintf(none, sizeof(none), "%.26s-none", ut_node());
	v = (struct seg_ent *)&n;
	cr_assert_eq(seg_list(none, NULL, &v), 0);
	cr_assert_null(v, "no segment: out must be NULL");
	cr_assert_eq(seg_list(ut_node(), "nothing", &v), 0);
	cr_assert_null(v);
}

Test(seg_list, sorts_by_node_then_proc_then_what)
{
	struct seg_ent *v;
	char got[512];
	int n;

	/*
	 * Sorted by name, "ut<pid>-b" would come before "ut<pid>." and "p-x" before "p.":
	 * '-' sorts before '.'. By parts, the shorter name of a pair comes first.
	 */
	list_seg(list_node2, "p-x", "b");
	list_seg(ut_node(), "p-x", "a");
	list_seg(list_node2, "p", "a");
	list_seg(ut_node(), "p", "b");
	list_seg(ut_node(), "p", "a-z");
	list_seg(ut_node(), "p", "a");
	list_seg(ut_node(), "p-x", "0");

	n = seg_list(NULL, NULL, &v);
	cr_assert_geq(n, 7, "seg_list: %d", n);
	cr_assert_str_eq(list_ours(got, sizeof(got), v, n),
	    "1.p.a 1.p.a-z 1.p.b 1.p-x.0 1.p-x.a 2.p.a 2.p-x.b");
	free(v);
}
