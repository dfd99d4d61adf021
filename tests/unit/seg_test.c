/*
 * seg_test: named segments. An attacher sees a whole header and refuses any segment
 * that is not exactly what it expects, naming the segment; there is at most one owner;
 * an owner that comes back (detached or killed) keeps the contents; seg_owner_alive
 * tells a live owner from a dead one.
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
		cr_assert(!seg_part_valid(bad[i]), "'%s' accepted", bad[i]);
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
	cr_assert(seg_part_valid(good));
	cr_assert(seg_part_valid("gw1_a-b"));
	cr_assert_eq(seg_name(buf, sizeof(buf), "gw1", "rule-store", "table"), 0);
	cr_assert_str_eq(buf, "vpcfwd.gw1.rule-store.table");
	cr_assert_eq(seg_name(buf, 10, "gw1", "rule-store", "table"), -ENAMETOOLONG);
}
