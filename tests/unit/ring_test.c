/*
 * ring_test: the SPSC ring. Records come out in the order they went in, whole, across
 * the end of the buffer and across the wrap of the 32-bit indices; a full ring drops
 * and counts instead of blocking; attach refuses another record type; a consumer
 * asleep in ring_wait is woken by a push from another process.
 */
#include "shm/ring.h"
#include "tests/unit/ut.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAG		0x55545231u	/* "UTR1" */
#define FORK_RECORDS	10000000ull

struct rec {
	uint64_t seq;
	uint64_t check;
};
_Static_assert(sizeof(struct rec) == 16, "16-byte records");

RING_TYPED(ut, struct rec, TAG)

TestSuite(ring, .init = ut_init, .fini = ut_fini);

static uint64_t
check_of(uint64_t seq)
{
	return seq * 0x9e3779b97f4a7c15ull ^ 0x5555aaaa5555aaaaull;
}

static struct rec
mk(uint64_t seq)
{
	return (struct rec){ .seq = seq, .check = check_of(seq) };
}

static int
rcreate(struct ring *r, const char *what, uint32_t cap)
{
	return ring_create(r, ut_node(), "ringt", what, sizeof(struct rec), TAG, cap, 0);
}

/* Producer r, consumer c on a new ring. */
static void
pair(struct ring *p, struct ring *c, const char *what, uint32_t cap)
{
	cr_assert_eq(rcreate(p, what, cap), 0, "%s", p->seg.err);
	cr_assert_eq(ring_attach(c, p->seg.name, sizeof(struct rec), TAG), 0, "%s", c->seg.err);
}

static void
unpair(struct ring *p, struct ring *c)
{
	char name[SEG_NAME_MAX];

	snprintf(name, sizeof(name), "%s", p->seg.name);
	ring_close(c);
	ring_close(p);
	cr_assert_eq(seg_unlink_name(name), 0);
}

static void
expect_seq(const struct rec *r, uint32_t n, uint64_t first)
{
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(r[i].seq, first + i, "record %u: seq %llu, expected %llu", i,
		    (unsigned long long)r[i].seq, (unsigned long long)(first + i));
		cr_assert_eq(r[i].check, check_of(first + i), "record %u: torn", i);
	}
}

/*
 * Push and pop batches whose sizes do not divide the capacity, never more than fits,
 * so every slot boundary is crossed by a batch at some point. Returns records moved.
 */
static uint64_t
exchange(struct ring *p, struct ring *c, uint32_t cap, int rounds)
{
	static const uint32_t push_n[] = { 7, 3, 5, 13, 1 };
	static const uint32_t pop_n[] = { 5, 7, 2, 11 };
	struct rec in[16], out[16];
	uint64_t pushed = 0, popped = 0;

	for (int i = 0; i < rounds; i++) {
		uint32_t k = push_n[i % 5], j = pop_n[i % 4], want;
		uint32_t room = cap - 1 - (uint32_t)(pushed - popped);

		if (k > room)
			k = room;
		for (uint32_t x = 0; x < k; x++)
			in[x] = mk(pushed + x);
		cr_assert_eq(ring_push(p, in, k), k);
		pushed += k;
		cr_assert_eq(ring_count(c), pushed - popped);

		want = pushed - popped < j ? (uint32_t)(pushed - popped) : j;
		cr_assert_eq(ring_pop(c, out, j), want);
		expect_seq(out, want, popped);
		popped += want;
	}
	while (pushed != popped) {
		uint32_t n = ring_pop(c, out, 16);

		cr_assert_gt(n, 0);
		expect_seq(out, n, popped);
		popped += n;
	}
	cr_assert_eq(ring_pop(c, out, 16), 0);
	cr_assert_eq(p->h->drops, 0, "nothing may be dropped when it fits");
	return popped;
}

Test(ring, capacity_must_be_power_of_two_in_range)
{
	static const uint32_t bad[] = { 0, 1, 3, 6, 1000, RING_CAP_MAX * 2u, 0x80000001u };
	char name[SEG_NAME_MAX], path[SEG_NAME_MAX + 16];
	struct ring r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(rcreate(&r, "cap", bad[i]), -EINVAL, "capacity %u accepted", bad[i]);
		cr_assert_not_null(strstr(r.seg.err, "power of two"), "%s", r.seg.err);
		cr_assert_not_null(strstr(r.seg.err, "ringt.cap"), "%s", r.seg.err);
	}
	cr_assert_eq(ring_create(&r, ut_node(), "ringt", "cap", 0, TAG, 8, 0), -EINVAL);
	cr_assert_eq(ring_create(&r, ut_node(), "ringt", "cap", RING_REC_MAX + 1, TAG, 8, 0),
	    -EINVAL);
	snprintf(path, sizeof(path), SEG_DIR "/%s", ut_segname(name, sizeof(name), "ringt",
	    "cap"));
	cr_assert_eq(access(path, F_OK), -1, "a refused ring must not leave a segment");

	cr_assert_eq(rcreate(&r, "cap", 2), 0, "%s", r.seg.err);
	ring_close(&r);
	seg_unlink_name(r.seg.name);
}

Test(ring, push_pop_single_record)
{
	struct ring p, c;
	struct rec in = mk(1), out = { 0 };

	pair(&p, &c, "single", 8);
	cr_assert_eq(ring_count(&c), 0);
	cr_assert_eq(ring_pop(&c, &out, 1), 0, "an empty ring gives nothing");
	cr_assert_eq(ring_push(&p, &in, 1), 1);
	cr_assert_eq(ring_count(&c), 1);
	cr_assert_eq(ring_pop(&c, &out, 1), 1);
	expect_seq(&out, 1, 1);
	cr_assert_eq(ring_pop(&c, &out, 1), 0);
	cr_assert_eq(ring_count(&p), 0);
	unpair(&p, &c);
}

Test(ring, push_pop_batch_in_order)
{
	struct ring p, c;
	struct rec in[20], out[32];

	pair(&p, &c, "batch", 32);
	for (int i = 0; i < 20; i++)
		in[i] = mk(100 + i);
	cr_assert_eq(ring_push(&p, in, 20), 20);
	cr_assert_eq(ring_pop(&c, out, 6), 6, "pop takes at most max");
	expect_seq(out, 6, 100);
	cr_assert_eq(ring_pop(&c, out, 32), 14, "pop takes what is there");
	expect_seq(out, 14, 106);
	cr_assert_eq(ring_push(&p, in, 0), 0);
	cr_assert_eq(ring_pop(&c, out, 0), 0);
	unpair(&p, &c);
}

Test(ring, full_ring_drops_and_counts)
{
	struct ring p, c;
	struct rec in[10], out[10];

	pair(&p, &c, "full", 8);
	for (int i = 0; i < 10; i++)
		in[i] = mk(i);
	cr_assert_eq(ring_push(&p, in, 10), 7, "capacity 8 holds 7 (one slot kept free)");
	cr_assert_eq(p.h->drops, 3);
	cr_assert_eq(ring_push(&p, in + 7, 1), 0, "a full ring takes nothing");
	cr_assert_eq(p.h->drops, 4);
	cr_assert_eq(ring_count(&c), 7);

	cr_assert_eq(ring_pop(&c, out, 10), 7);
	expect_seq(out, 7, 0);
	cr_assert_eq(ring_push(&p, in + 7, 3), 3, "room again after the consumer popped");
	cr_assert_eq(p.h->drops, 4);
	cr_assert_eq(ring_pop(&c, out, 10), 3);
	expect_seq(out, 3, 7);
	unpair(&p, &c);
}

Test(ring, wrap_around_with_odd_batches_keeps_order)
{
	struct ring p, c;

	pair(&p, &c, "wrap", 16);
	cr_assert_gt(exchange(&p, &c, 16, 5000), 16 * 100, "must wrap many times");
	unpair(&p, &c);
}

Test(ring, indices_wrap_past_uint32_max)
{
	struct ring p, c;
	const uint32_t start = UINT32_MAX - 40;

	cr_assert_eq(rcreate(&p, "wrap32", 16), 0, "%s", p.seg.err);
	p.h->ck.c_head = p.h->ck.p_tail = p.h->ck.p_head = start;
	ring_close(&p);
	/* The producer re-attaches (restart) and picks the indices up. */
	cr_assert_eq(rcreate(&p, "wrap32", 16), 0, "%s", p.seg.err);
	cr_assert(!p.seg.created);
	cr_assert_eq(ring_attach(&c, p.seg.name, sizeof(struct rec), TAG), 0, "%s", c.seg.err);
	exchange(&p, &c, 16, 200);
	cr_assert_lt(p.h->ck.p_tail, start, "p_tail must have wrapped past 2^32");
	unpair(&p, &c);
}

Test(ring, producer_restart_keeps_queued_records)
{
	struct ring p, c;
	struct rec in[3] = { mk(0), mk(1), mk(2) }, out[8];

	pair(&p, &c, "restart", 8);
	cr_assert_eq(ring_push(&p, in, 3), 3);
	ring_close(&p);
	cr_assert_eq(rcreate(&p, "restart", 8), 0, "%s", p.seg.err);
	cr_assert(!p.seg.created);
	cr_assert_eq(ring_count(&p), 3);
	in[0] = mk(3);
	cr_assert_eq(ring_push(&p, in, 1), 1);
	cr_assert_eq(ring_pop(&c, out, 8), 4);
	expect_seq(out, 4, 0);
	unpair(&p, &c);
}

Test(ring, create_refuses_existing_ring_of_other_type)
{
	struct ring p, q;
	int r;

	cr_assert_eq(rcreate(&p, "retype", 8), 0, "%s", p.seg.err);
	ring_close(&p);
	r = ring_create(&q, ut_node(), "ringt", "retype", sizeof(struct rec), TAG + 1, 8, 0);
	cr_assert_eq(r, -EPROTO, "other type tag: %d %s", r, q.seg.err);
	cr_assert_not_null(strstr(q.seg.err, p.seg.name), "%s", q.seg.err);
	cr_assert_eq(q.seg.fd, -1, "a refused create must not keep the owner lock");
	r = ring_create(&q, ut_node(), "ringt", "retype", 32, TAG, 8, 0);
	cr_assert_eq(r, -EPROTO, "other record size: %d %s", r, q.seg.err);
	cr_assert_eq(rcreate(&p, "retype", 8), 0, "%s", p.seg.err);
	ring_close(&p);
	seg_unlink_name(p.seg.name);
}

Test(ring, attach_refuses_wrong_record_size)
{
	struct ring p, c;

	cr_assert_eq(rcreate(&p, "rsize", 8), 0, "%s", p.seg.err);
	cr_assert_eq(ring_attach(&c, p.seg.name, 24, TAG), -EPROTO);
	cr_assert_not_null(strstr(c.seg.err, p.seg.name), "%s", c.seg.err);
	cr_assert_not_null(strstr(c.seg.err, "records are 16 bytes of type 0x55545231, "
	    "expected 24 bytes of type 0x55545231"), "%s", c.seg.err);
	cr_assert_null(c.seg.base);
	ring_close(&p);
	seg_unlink_name(p.seg.name);
}

Test(ring, attach_refuses_wrong_type_tag)
{
	struct ring p, c;

	cr_assert_eq(rcreate(&p, "rtag", 8), 0, "%s", p.seg.err);
	cr_assert_eq(ring_attach(&c, p.seg.name, sizeof(struct rec), 0x1234), -EPROTO);
	cr_assert_not_null(strstr(c.seg.err, p.seg.name), "%s", c.seg.err);
	cr_assert_not_null(strstr(c.seg.err, "expected 16 bytes of type 0x1234"), "%s",
	    c.seg.err);
	ring_close(&p);
	seg_unlink_name(p.seg.name);
}

Test(ring, attach_refuses_segment_that_is_not_a_ring)
{
	struct ring c;
	struct seg s;

	cr_assert_eq(seg_create(&s, ut_node(), "ringt", "notring", SEG_KIND_TEST, RING_LAYOUT,
	    4096), 0, "%s", s.err);
	cr_assert_eq(ring_attach(&c, s.name, sizeof(struct rec), TAG), -EPROTO);
	cr_assert_not_null(strstr(c.seg.err, "kind"), "%s", c.seg.err);
	seg_detach(&s);
	seg_unlink_name(s.name);
}

Test(ring, typed_ring_moves_its_type)
{
	struct ring p, c;
	struct rec in = mk(9), out;
	char name[SEG_NAME_MAX];

	cr_assert_eq(ut_ring_create(&p, ut_node(), "ringt", "typed", 4, 0), 0, "%s", p.seg.err);
	cr_assert_eq(ut_ring_attach(&c, ut_segname(name, sizeof(name), "ringt", "typed")), 0,
	    "%s", c.seg.err);
	cr_assert_eq(ut_ring_push(&p, &in, 1), 1);
	cr_assert_eq(ut_ring_pop(&c, &out, 1), 1);
	expect_seq(&out, 1, 9);
	unpair(&p, &c);
}

static int
fork_producer(void *arg)
{
	struct rec b[32];
	struct ring p;
	uint64_t seq = 0;

	(void)arg;
	if (rcreate(&p, "fork", 1024) != 0)
		return 1;
	ut_ready();
	while (seq < FORK_RECORDS) {
		uint32_t n = FORK_RECORDS - seq < 32 ? (uint32_t)(FORK_RECORDS - seq) : 32;
		uint32_t done = 0;

		for (uint32_t i = 0; i < n; i++)
			b[i] = mk(seq + i);
		/* Retry what a full ring refused; sched_yield in case we share a CPU. */
		while ((done += ring_push(&p, b + done, n - done)) < n)
			sched_yield();
		seq += n;
	}
	return 0;
}

Test(ring, fork_pair_passes_ten_million_records_in_order, .timeout = 300)
{
	char name[SEG_NAME_MAX];
	struct rec out[64];
	struct ring c;
	uint64_t next = 0;
	bool exited = false;
	int st = 0;
	pid_t pid;

	pid = ut_spawn(fork_producer, NULL);
	cr_assert_gt(pid, 0);
	ut_segname(name, sizeof(name), "ringt", "fork");
	cr_assert_eq(ring_attach(&c, name, sizeof(struct rec), TAG), 0, "%s", c.seg.err);
	while (next < FORK_RECORDS) {
		uint32_t n = ring_pop(&c, out, 64);

		if (n == 0) {
			cr_assert(!exited, "producer exited (status %#x) after %llu of %llu "
			    "records", st, (unsigned long long)next, FORK_RECORDS);
			if (waitpid(pid, &st, WNOHANG) == pid) {
				ut_forget(pid);
				exited = true;
			}
			sched_yield();
			continue;
		}
		for (uint32_t i = 0; i < n; i++)
			if (out[i].seq != next + i || out[i].check != check_of(next + i))
				cr_assert_fail("record %llu: seq %llu check %#llx",
				    (unsigned long long)(next + i),
				    (unsigned long long)out[i].seq,
				    (unsigned long long)out[i].check);
		next += n;
	}
	cr_assert_eq(ring_pop(&c, out, 64), 0, "nothing after the last record");
	if (!exited)
		st = ut_wait(pid) << 8;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer status %#x", st);
	ring_close(&c);
	seg_unlink_name(name);
}

Test(ring, wait_times_out_on_empty_ring)
{
	struct ring p, c;

	pair(&p, &c, "timeout", 8);
	cr_assert_eq(ring_wait(&c, 50), 0);
	cr_assert_eq(ring_wait(&c, 0), 0);
	cr_assert_eq(c.h->sleeping, 0, "the consumer must not stay marked asleep");
	cr_assert_eq(c.h->wakeups, 0);
	unpair(&p, &c);
}

Test(ring, wait_returns_at_once_when_records_wait)
{
	struct ring p, c;
	struct rec in = mk(5);

	pair(&p, &c, "ready", 8);
	cr_assert_eq(ring_push(&p, &in, 1), 1);
	cr_assert_eq(ring_wait(&c, 10000), 1);
	cr_assert_eq(c.h->wakeups, 0, "no wake-up is needed when the consumer is awake");
	unpair(&p, &c);
}

static int
sleeping_consumer(void *arg)
{
	const char *name = arg;
	struct ring c;
	struct rec r;

	if (ring_attach(&c, name, sizeof(struct rec), TAG) != 0)
		return 1;
	ut_ready();
	/* No timeout: a timed wait would find the record even if the wake-up were lost. */
	if (ring_wait(&c, -1) != 1)
		return 2;
	if (ring_pop(&c, &r, 1) != 1 || r.seq != 4242 || r.check != check_of(4242))
		return 3;
	return 0;
}

/* The scheduler state of a process: 'S' while it sleeps (in the futex, here). */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return '?';
	return p[2];
}

/* Both ways of ordering the sleep against the push: a fence a push, or membarrier. */
static void
woken_by_push(uint32_t flags)
{
	struct ring p;
	struct rec in = mk(4242);
	pid_t pid;
	int code, i, st = 0;

	cr_assert_eq(ring_create(&p, ut_node(), "ringt", "wake", sizeof(struct rec), TAG, 8,
	    flags), 0, "%s", p.seg.err);
	if (flags & RING_F_ASYM)
		cr_assert_eq(p.h->wake_mode, RING_WAKE_MEMBARRIER, "membarrier(2) missing?");
	else
		cr_assert_eq(p.h->wake_mode, RING_WAKE_FENCE);
	pid = ut_spawn(sleeping_consumer, p.seg.name);
	cr_assert_gt(pid, 0);
	/* Push only once the consumer is really asleep, so the wake-up is needed. */
	for (i = 0; i < 20000; i++) {
		if (ck_pr_load_32(&p.h->sleeping) == 1 && proc_state(pid) == 'S')
			break;
		usleep(500);
	}
	cr_assert_lt(i, 20000, "the consumer never went to sleep");
	cr_assert_eq(ring_push(&p, &in, 1), 1);
	/* A hang detector, not a timing: a woken consumer is done in microseconds. */
	for (i = 0; i < 20000 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(1000);
	cr_assert_lt(i, 20000, "the consumer was not woken by the push");
	ut_forget(pid);
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	cr_assert_eq(code, 0, "consumer: code %d (2: not woken with records, 3: bad record)",
	    code);
	cr_assert_eq(p.h->wakeups, 1);
	cr_assert_eq(p.h->sleeping, 0);
	ring_close(&p);
	seg_unlink_name(p.seg.name);
}

Test(ring, consumer_in_wait_is_woken_by_push_from_other_process, .timeout = 60)
{
	woken_by_push(0);
}

Test(ring, consumer_in_wait_is_woken_by_push_without_fence_under_membarrier, .timeout = 60)
{
	woken_by_push(RING_F_ASYM);
}
