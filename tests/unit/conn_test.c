/*
 * conn_test: the io_uring loop and framed connections on it. Timers fire in due order,
 * re-arm and cancel, and loop_run returns once *stop is set; frames of 1 byte to 1 MiB
 * round-trip intact and in order over a unix socketpair and TCP loopback; frame_max,
 * out_max and out_low hold; every way a connection ends (peer, error, close from a
 * callback, flush, refused connect) calls `closed` exactly once and frees everything
 * (the ASan build checks the frees); a listener accepts many connections.
 */
#include "common/conn.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mix.h"
#include "common/wire.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(30000 * MS)	/* a test that gets nowhere fails instead of hanging */
#define FRAME_MAX	(1u << 20)
#define PEERS_MAX	256

#include "tests/unit/looptest.h"

/*
 * No Criterion .timeout: with --jobs > 1 its watcher sometimes leaks in the runner, which
 * fails the ASan build. run_until() bounds every wait instead.
 */
TestSuite(loop);
TestSuite(conn);

/* timers */

static int fired[16];
static int nfired;

static void
record_fire(struct loop_timer *t)
{
	fired[nfired++] = (int)(intptr_t)t->arg;
	if (nfired == 3)
		stop = 1;
}

Test(loop, timers_fire_in_due_order)
{
	struct loop_timer t[4];

	new_loop();
	for (int i = 0; i < 4; i++)
		t[i] = (struct loop_timer){ .fn = record_fire, .arg = (void *)(intptr_t)i };
	loop_timer_set(L, &t[2], 30 * MS);
	loop_timer_set(L, &t[0], 10 * MS);
	loop_timer_set(L, &t[3], 5 * MS);
	loop_timer_set(L, &t[1], 20 * MS);
	loop_timer_set(L, &t[3], 40 * MS);	/* re-arming moves it */
	run_until(NULL);
	cr_assert_eq(nfired, 3);
	cr_assert_eq(fired[0], 0);
	cr_assert_eq(fired[1], 1);
	cr_assert_eq(fired[2], 2);
	cr_assert(t[3].armed);
	loop_timer_cancel(L, &t[3]);
	loop_free(L);
}

static int rearm_count;

static void
rearm_fire(struct loop_timer *t)
{
	if (++rearm_count == 5)
		stop = 1;
	else
		loop_timer_set(L, t, MS);
}

Test(loop, timer_rearmed_from_its_callback_fires_again)
{
	struct loop_timer t = { .fn = rearm_fire };

	new_loop();
	loop_timer_set(L, &t, MS);
	run_until(NULL);
	cr_assert_eq(rearm_count, 5);
	cr_assert(!t.armed);
	loop_free(L);
}

static struct loop_timer *victim;
static int victim_fired;

static void
victim_fire(struct loop_timer *t)
{
	(void)t;
	victim_fired++;
}

static void
killer_fire(struct loop_timer *t)
{
	(void)t;
	loop_timer_cancel(L, victim);
	stop = 1;
}

Test(loop, cancelled_timer_never_fires)
{
	struct loop_timer a = { .fn = victim_fire }, b = { .fn = victim_fire };
	struct loop_timer k = { .fn = killer_fire };

	new_loop();
	/* a: cancelled before the loop runs */
	loop_timer_set(L, &a, 5 * MS);
	loop_timer_cancel(L, &a);
	cr_assert(!a.armed);
	/* b: due in the same pass as k, after it; k cancels it from its callback */
	victim = &b;
	loop_timer_set(L, &k, 10 * MS);
	loop_timer_set(L, &b, 10 * MS);
	b.due_ns = k.due_ns;	/* same due time: arming order decides */
	run_until(NULL);
	drain_loop();
	cr_assert_eq(victim_fired, 0);
	cr_assert(!b.armed);
	loop_free(L);
}

static int spin_count;

static void
spin_fire(struct loop_timer *t)
{
	spin_count++;
	loop_timer_set(L, t, 0);
}

Test(loop, timer_rearmed_with_zero_delay_does_not_starve_other_timers)
{
	struct loop_timer spin = { .fn = spin_fire }, s = { .fn = stop_fire };

	new_loop();
	loop_timer_set(L, &spin, 0);
	loop_timer_set(L, &s, 5 * MS);
	run_until(NULL);
	cr_assert_gt(spin_count, 1);
	loop_timer_cancel(L, &spin);
	loop_free(L);
}

Test(loop, run_returns_when_stop_is_set_from_a_timer)
{
	struct loop_timer s = { .fn = stop_fire };

	new_loop();
	stop = 0;
	loop_timer_set(L, &s, MS);
	cr_assert_eq(loop_run(L, &stop), 0);
	cr_assert_eq(stop, 1);
	cr_assert(!s.armed);
	loop_free(L);
}

static void
on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static void *
kick_main(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

Test(loop, run_returns_when_a_signal_handler_sets_stop)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct loop_timer hang = { .fn = hang_fire };
	pthread_t self = pthread_self(), th;

	new_loop();
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	loop_timer_set(L, &hang, HANG_NS);
	stop = 0;
	cr_assert_eq(pthread_create(&th, NULL, kick_main, &self), 0);
	cr_assert_eq(loop_run(L, &stop), 0);
	pthread_join(th, NULL);
	cr_assert(!hung);
	loop_timer_cancel(L, &hang);
	loop_free(L);
}

/* connections */

struct peer {
	struct conn *c;
	int id;
	/* behaviour */
	bool echo;		/* send each frame back */
	bool verify;		/* frames are seq 0, 1, ... made by fill() */
	bool close_in_frame;	/* conn_close(c, close_flush) from the first frame */
	bool close_flush;
	int frame_ret;		/* what the frame callback returns */
	bool reply_in_frame;	/* send a reply before closing from the frame */
	/* what happened */
	int closed_calls;
	int closed_err;
	int connected_calls;
	int connected_err;
	bool connected_after_closed;
	int writable_calls;
	size_t pending_at_writable;
	uint64_t frames;
	uint64_t bytes;
	uint64_t last_len;
	int send_err;		/* the first conn_send error a callback saw */
	bool bad;
	char why[160];
};

static struct peer peers[PEERS_MAX];
static uint8_t scratch[FRAME_MAX];

/* Frame seq of a test stream: its size (1 B, FRAME_MAX, then log-uniform) and bytes. */
static uint32_t
size_of(uint64_t seq)
{
	if (seq == 0)
		return 1;
	if (seq == 1)
		return FRAME_MAX;
	return 1 + (uint32_t)(mix64(seq ^ 0x5eed) % (1u << (mix64(seq) % 21)));
}

static void
fill(uint8_t *p, uint64_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t v = mix64(seq << 32 | i);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static int
on_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct peer *p = conn_arg(c);
	int r;

	if (p->verify && !p->bad) {
		if (len != size_of(p->frames)) {
			p->bad = true;
			snprintf(p->why, sizeof(p->why), "frame %llu: %u bytes, expected %u",
			    (unsigned long long)p->frames, len, size_of(p->frames));
		} else {
			fill(scratch, p->frames, len);
			if (memcmp(scratch, payload, len) != 0) {
				p->bad = true;
				snprintf(p->why, sizeof(p->why), "frame %llu: bytes differ",
				    (unsigned long long)p->frames);
			}
		}
	}
	p->frames++;
	p->bytes += len;
	p->last_len = len;
	if (p->echo && (r = conn_send_frame(c, payload, len)) < 0 && p->send_err == 0)
		p->send_err = r;
	if (p->close_in_frame) {
		if (p->reply_in_frame && (r = conn_send_frame(c, "bye", 3)) < 0)
			p->send_err = r;
		conn_close(c, p->close_flush);
		conn_close(c, p->close_flush);	/* twice: a no-op */
		if (conn_send_frame(c, "x", 1) != -EPIPE)
			p->send_err = -EINVAL;
	}
	return p->frame_ret;
}

static void
on_writable(struct conn *c)
{
	struct peer *p = conn_arg(c);

	p->writable_calls++;
	p->pending_at_writable = conn_pending(c);
}

static void
on_connected(struct conn *c, int err)
{
	struct peer *p = conn_arg(c);

	p->connected_calls++;
	p->connected_err = err;
	if (p->closed_calls > 0)
		p->connected_after_closed = true;
}

static void
on_closed(struct conn *c, int err)
{
	struct peer *p = conn_arg(c);

	p->closed_calls++;
	p->closed_err = err;
	p->c = NULL;
}

static const struct conn_ops ops = {
	.frame = on_frame,
	.writable = on_writable,
	.connected = on_connected,
	.closed = on_closed,
};

static const struct conn_params params = {
	.frame_max = FRAME_MAX,
	.out_max = 16u << 20,
	.out_low = 256u << 10,
};

/* peers[0] and peers[1] on the two ends of a unix socketpair. */
static void
pair(const struct conn_params *p0, const struct conn_params *p1)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0].id = 0;
	peers[1].id = 1;
	peers[0].c = conn_new(L, sv[0], p0, &ops, &peers[0]);
	peers[1].c = conn_new(L, sv[1], p1, &ops, &peers[1]);
	cr_assert(peers[0].c != NULL && peers[1].c != NULL);
}

static int
tcp_listen(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	*sin = (struct sockaddr_in){ .sin_family = AF_INET };
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	cr_assert_eq(listen(fd, 512), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

static const struct conn_params *accept_params;
static int accepted;	/* server ends are peers[1], peers[3], ... */

static void
on_accept(struct listener *ls, int fd, void *arg)
{
	int i = 2 * accepted++ + 1;
	struct peer *p = &peers[i];

	(void)ls;
	(void)arg;
	cr_assert_lt(i, PEERS_MAX);
	*p = (struct peer){ .id = i, .echo = true };
	if ((p->c = conn_new(L, fd, accept_params, &ops, p)) == NULL)
		close(fd);
}

static bool
all_closed(void)
{
	for (int i = 0; i < PEERS_MAX; i++)
		if (peers[i].c != NULL)
			return false;
	return true;
}

static void
expect_no_bad(void)
{
	for (int i = 0; i < PEERS_MAX; i++) {
		cr_assert(!peers[i].bad, "peer %d: %s", i, peers[i].why);
		cr_assert_leq(peers[i].closed_calls, 1, "peer %d closed %d times", i,
		    peers[i].closed_calls);
	}
}

/* Close what is still open, wait for every `closed`, free the loop. */
static void
finish(void)
{
	for (int i = 0; i < PEERS_MAX; i++)
		if (peers[i].c != NULL)
			conn_close(peers[i].c, false);
	run_until(all_closed);
	expect_no_bad();
	drain_loop();
	loop_free(L);
}

/*
 * The round trip: the client (peers[0]) keeps up to WINDOW bytes of frames unanswered;
 * the echo end sends each frame back; the client checks each one.
 */
#define RT_FRAMES	400
#define WINDOW		(4u << 20)

static uint64_t rt_next;	/* the next seq to send */
static uint64_t rt_unanswered;

static void
rt_push(struct conn *c)
{
	while (rt_next < RT_FRAMES && rt_unanswered < WINDOW) {
		uint32_t len = size_of(rt_next);
		uint8_t *b;

		/* Alternate the two ways of queueing a frame. */
		if (rt_next % 2 == 0) {
			fill(scratch, rt_next, len);
			cr_assert_eq(conn_send_frame(c, scratch, len), 0);
		} else {
			b = conn_reserve(c, WIRE_LEN_SIZE + len);
			cr_assert_not_null(b);
			wire_frame_header(b, len);
			fill(b + WIRE_LEN_SIZE, rt_next, len);
			conn_commit(c, WIRE_LEN_SIZE + len);
		}
		rt_unanswered += len;
		rt_next++;
	}
}

static int
rt_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	int r = on_frame(c, payload, len);

	rt_unanswered -= len;
	rt_push(c);
	return r;
}

static void
rt_connected(struct conn *c, int err)
{
	on_connected(c, err);
	if (err == 0)
		rt_push(c);
}

static const struct conn_ops rt_ops = {
	.frame = rt_frame,
	.writable = on_writable,
	.connected = rt_connected,
	.closed = on_closed,
};

static bool
rt_done(void)
{
	return peers[0].frames == RT_FRAMES || peers[0].bad || peers[0].c == NULL;
}

static void
rt_check(void)
{
	cr_assert(!peers[0].bad, "%s", peers[0].why);
	cr_assert_eq(peers[0].frames, RT_FRAMES, "%llu frames came back",
	    (unsigned long long)peers[0].frames);
	cr_assert_eq(peers[1].send_err, 0, "echo: %s", strerror(-peers[1].send_err));
	cr_assert_eq(peers[0].closed_calls, 0);
}

Test(conn, frames_of_random_sizes_round_trip_in_order_over_socketpair)
{
	int sv[2];

	new_loop();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0] = (struct peer){ .verify = true };
	peers[1] = (struct peer){ .echo = true };
	peers[0].c = conn_new(L, sv[0], &params, &rt_ops, &peers[0]);
	peers[1].c = conn_new(L, sv[1], &params, &ops, &peers[1]);
	cr_assert(peers[0].c != NULL && peers[1].c != NULL);
	rt_push(peers[0].c);
	run_until(rt_done);
	rt_check();
	/* The client closes; the echo end sees the end of the stream. */
	conn_close(peers[0].c, false);
	run_until(all_closed);
	cr_assert_eq(peers[0].closed_err, 0);
	cr_assert_eq(peers[1].closed_err, 0);
	cr_assert_eq(peers[1].frames, RT_FRAMES);
	finish();
}

Test(conn, frames_of_random_sizes_round_trip_in_order_over_tcp)
{
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	new_loop();
	lfd = tcp_listen(&sin);
	accept_params = &params;
	ls = listener_new(L, lfd, on_accept, NULL);
	cr_assert_not_null(ls);
	peers[0] = (struct peer){ .verify = true };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &params, &rt_ops,
	    &peers[0]);
	cr_assert_not_null(peers[0].c);
	run_until(rt_done);
	rt_check();
	cr_assert_eq(peers[0].connected_calls, 1);
	cr_assert_eq(peers[0].connected_err, 0);
	cr_assert_eq(accepted, 1);
	conn_close(peers[0].c, false);
	run_until(all_closed);
	cr_assert_eq(peers[1].closed_err, 0);
	listener_free(ls);
	finish();
}

Test(conn, frame_above_frame_max_closes_with_emsgsize)
{
	struct conn_params small = params;
	static uint8_t b[1001];

	new_loop();
	small.frame_max = 1000;
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ 0 };
	pair(&params, &small);
	cr_assert_eq(conn_send_frame(peers[0].c, b, 1000), 0);	/* exactly frame_max: fine */
	cr_assert_eq(conn_send_frame(peers[0].c, b, 1001), 0);
	cr_assert_eq(conn_send_frame(peers[0].c, b, 10), 0);
	run_until(all_closed);
	cr_assert_eq(peers[1].frames, 1);
	cr_assert_eq(peers[1].last_len, 1000);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, -EMSGSIZE);
	finish();
}

static uint64_t want_frames;

/* peers[1] has want_frames frames and peers[0] has nothing left to send. */
static bool
frames_in(void)
{
	return peers[1].frames == want_frames && peers[0].c != NULL &&
	    conn_pending(peers[0].c) == 0;
}

Test(conn, send_past_out_max_returns_enobufs)
{
	struct conn_params tiny = params;
	static uint8_t b[5000];

	new_loop();
	tiny.out_max = 4096;
	tiny.out_low = 1024;
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ 0 };
	pair(&tiny, &params);
	cr_assert_eq(conn_send_frame(peers[0].c, b, 5000), -ENOBUFS);
	cr_assert_eq(conn_send(peers[0].c, b, 4097), -ENOBUFS);
	cr_assert_eq(conn_pending(peers[0].c), 0);
	cr_assert_eq(conn_send_frame(peers[0].c, b, 4092), 0);	/* exactly out_max */
	cr_assert_eq(conn_pending(peers[0].c), 4096);
	cr_assert_eq(conn_send_frame(peers[0].c, b, 0), -ENOBUFS);
	cr_assert_eq(conn_send(peers[0].c, b, 1), -ENOBUFS);
	cr_assert_null(conn_reserve(peers[0].c, 1));
	cr_assert_eq(conn_pending(peers[0].c), 4096);
	want_frames = 1;
	run_until(frames_in);
	/* Sent: room again. */
	cr_assert_eq(conn_send_frame(peers[0].c, b, 4092), 0);
	want_frames = 2;
	run_until(frames_in);
	cr_assert_eq(peers[1].bytes, 2 * 4092);
	cr_assert_eq(peers[0].closed_calls, 0);
	finish();
}

Test(conn, writable_fires_once_when_the_buffer_drains_to_out_low)
{
	struct conn_params p0 = params;

	new_loop();
	p0.out_max = 1u << 20;
	p0.out_low = 64u << 10;
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ 0 };
	pair(&p0, &params);
	/* Never above out_low: no transition, no writable. */
	cr_assert_eq(conn_send_frame(peers[0].c, scratch, 1000), 0);
	want_frames = 1;
	run_until(frames_in);
	cr_assert_eq(peers[0].writable_calls, 0);
	/* 512 KiB: above out_low until it drains. */
	for (int i = 0; i < 32; i++)
		cr_assert_eq(conn_send_frame(peers[0].c, scratch, (16u << 10) - 4), 0);
	cr_assert_gt(conn_pending(peers[0].c), p0.out_low);
	want_frames = 33;
	run_until(frames_in);
	cr_assert_eq(peers[0].writable_calls, 1);
	cr_assert_leq(peers[0].pending_at_writable, p0.out_low);
	/* A small frame later stays below out_low: no second writable. */
	cr_assert_eq(conn_send_frame(peers[0].c, scratch, 96), 0);
	want_frames = 34;
	run_until(frames_in);
	cr_assert_eq(peers[0].writable_calls, 1);
	finish();
}

/* A producer with more to say than out_max writes as `writable` lets it. */
#define PROD_FRAMES	3000
static uint64_t prod_next;

static void
prod_fill(struct conn *c)
{
	while (prod_next < PROD_FRAMES && conn_pending(c) < (1u << 20)) {
		uint32_t len = 1 + (uint32_t)(mix64(prod_next) % 8192);
		uint8_t *b = conn_reserve(c, WIRE_LEN_SIZE + len);

		cr_assert_not_null(b);
		wire_frame_header(b, len);
		memset(b + WIRE_LEN_SIZE, (int)(prod_next & 0xff), len);
		conn_commit(c, WIRE_LEN_SIZE + len);
		prod_next++;
	}
}

static void
prod_writable(struct conn *c)
{
	on_writable(c);
	prod_fill(c);
}

static int
prod_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct peer *p = conn_arg(c);

	if (!p->bad && (len != 1 + mix64(p->frames) % 8192 ||
	    payload[0] != (p->frames & 0xff) || payload[len - 1] != (p->frames & 0xff))) {
		p->bad = true;
		snprintf(p->why, sizeof(p->why), "frame %llu garbled",
		    (unsigned long long)p->frames);
	}
	p->frames++;
	return 0;
}

static const struct conn_ops prod_ops = {
	.frame = prod_frame,
	.writable = prod_writable,
	.connected = on_connected,
	.closed = on_closed,
};

static bool
prod_done(void)
{
	return peers[1].frames == PROD_FRAMES || peers[1].bad;
}

Test(conn, producer_driven_by_writable_delivers_everything)
{
	struct conn_params p0 = params;
	int sv[2];

	new_loop();
	p0.out_max = 2u << 20;
	p0.out_low = 512u << 10;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ 0 };
	peers[0].c = conn_new(L, sv[0], &p0, &prod_ops, &peers[0]);
	peers[1].c = conn_new(L, sv[1], &params, &prod_ops, &peers[1]);
	prod_fill(peers[0].c);
	run_until(prod_done);
	cr_assert(!peers[1].bad, "%s", peers[1].why);
	cr_assert_eq(peers[1].frames, PROD_FRAMES);
	cr_assert_gt(peers[0].writable_calls, 0);
	finish();
}

static bool
first_closed(void)
{
	return peers[0].closed_calls > 0;
}

Test(conn, peer_close_gives_closed_with_err_0)
{
	int sv[2];

	new_loop();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_new(L, sv[0], &params, &ops, &peers[0]);
	cr_assert_eq(write(sv[1], "\0\0\0\2hi", 6), 6);
	close(sv[1]);
	run_until(first_closed);
	cr_assert_eq(peers[0].frames, 1);
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_eq(peers[0].closed_err, 0);
	finish();
}

static bool
second_closed(void)
{
	return peers[1].closed_calls > 0;
}

Test(conn, close_from_frame_callback_stops_delivery_and_closes_once)
{
	uint8_t b[10 * 8];

	new_loop();
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ .close_in_frame = true };
	pair(&params, &params);
	/* Ten frames in one write: they arrive together, the first one closes. */
	for (int i = 0; i < 10; i++) {
		wire_frame_header(b + 8 * i, 4);
		memcpy(b + 8 * i + 4, "ping", 4);
	}
	cr_assert_eq(conn_send(peers[0].c, b, sizeof(b)), 0);
	run_until(all_closed);
	cr_assert_eq(peers[1].frames, 1);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, 0);
	cr_assert_eq(peers[1].send_err, 0, "conn_send after conn_close did not fail -EPIPE");
	cr_assert_eq(peers[0].closed_calls, 1);
	finish();
}

Test(conn, frame_callback_returning_error_closes_with_eproto)
{
	new_loop();
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ .frame_ret = -1 };
	pair(&params, &params);
	cr_assert_eq(conn_send_frame(peers[0].c, "a", 1), 0);
	cr_assert_eq(conn_send_frame(peers[0].c, "b", 1), 0);
	run_until(second_closed);
	cr_assert_eq(peers[1].frames, 1);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, -EPROTO);
	finish();
}

Test(conn, reply_then_flush_close_from_frame_callback_delivers_the_reply)
{
	new_loop();
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ .close_in_frame = true, .close_flush = true,
	    .reply_in_frame = true };
	pair(&params, &params);
	cr_assert_eq(conn_send_frame(peers[0].c, "hello", 5), 0);
	run_until(all_closed);
	cr_assert_eq(peers[0].frames, 1);
	cr_assert_eq(peers[0].last_len, 3);
	cr_assert_eq(peers[0].closed_err, 0);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, 0);
	cr_assert_eq(peers[1].send_err, 0);
	finish();
}

/*
 * Flush: the sender queues FLUSH_FRAMES (more than the socket buffers hold) and closes
 * with flush at once; the receiver must get every frame, then the end of the stream.
 * Over TCP the receiver keeps talking meanwhile: input left unread at close would make
 * the sender's kernel reset the connection and drop what it still had to send.
 */
#define FLUSH_FRAMES	60

static int
chatty_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	int r = on_frame(c, payload, len);

	(void)conn_send_frame(c, scratch, 1000);
	return r;
}

static const struct conn_ops chatty_ops = {
	.frame = chatty_frame,
	.writable = on_writable,
	.connected = on_connected,
	.closed = on_closed,
};

static void
flush_send_all(struct conn *c)
{
	for (uint64_t i = 0; i < FLUSH_FRAMES; i++) {
		uint32_t len = size_of(i);

		fill(scratch, i, len);
		cr_assert_eq(conn_send_frame(c, scratch, len), 0);
	}
	conn_close(c, true);
	conn_close(c, true);	/* twice: a no-op */
	cr_assert_eq(conn_send_frame(c, "x", 1), -EPIPE);
}

Test(conn, flush_close_delivers_everything_queued_over_socketpair)
{
	struct conn_params big = params;

	new_loop();
	big.out_max = 64u << 20;
	peers[0] = (struct peer){ 0 };
	peers[1] = (struct peer){ .verify = true };
	pair(&big, &params);
	flush_send_all(peers[0].c);
	run_until(all_closed);
	cr_assert(!peers[1].bad, "%s", peers[1].why);
	cr_assert_eq(peers[1].frames, FLUSH_FRAMES);
	cr_assert_eq(peers[1].closed_err, 0);
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_eq(peers[0].closed_err, 0);
	finish();
}

static struct conn_params flush_params;

static void
on_accept_flush(struct listener *ls, int fd, void *arg)
{
	(void)ls;
	(void)arg;
	accepted++;
	peers[1] = (struct peer){ .id = 1 };
	peers[1].c = conn_new(L, fd, &flush_params, &ops, &peers[1]);
	cr_assert_not_null(peers[1].c);
	flush_send_all(peers[1].c);
}

Test(conn, flush_close_delivers_everything_queued_over_tcp_while_the_peer_talks)
{
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	new_loop();
	flush_params = params;
	flush_params.out_max = 64u << 20;
	lfd = tcp_listen(&sin);
	ls = listener_new(L, lfd, on_accept_flush, NULL);
	cr_assert_not_null(ls);
	peers[0] = (struct peer){ .verify = true };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &params,
	    &chatty_ops, &peers[0]);
	cr_assert_not_null(peers[0].c);
	cr_assert_eq(conn_send_frame(peers[0].c, scratch, 1000), 0);
	run_until(all_closed);
	cr_assert(!peers[0].bad, "%s", peers[0].why);
	cr_assert_eq(peers[0].frames, FLUSH_FRAMES);
	cr_assert_eq(peers[0].closed_err, 0);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, 0);
	listener_free(ls);
	finish();
}

Test(conn, close_without_flush_with_a_send_in_flight_closes_once)
{
	int sv[2];

	new_loop();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_new(L, sv[0], &params, &ops, &peers[0]);
	/* Nobody reads sv[1]: the send stays in flight. */
	for (int i = 0; i < 8; i++)
		cr_assert_eq(conn_send_frame(peers[0].c, scratch, FRAME_MAX), 0);
	drain_loop();
	cr_assert_gt(conn_pending(peers[0].c), 0);
	/* More while the send is in flight: the buffer is replaced, not moved. */
	for (int i = 0; i < 6; i++)
		cr_assert_eq(conn_send_frame(peers[0].c, scratch, FRAME_MAX), 0);
	conn_close(peers[0].c, false);
	run_until(all_closed);
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_eq(peers[0].closed_err, 0);
	close(sv[1]);
	finish();
}

Test(conn, flush_close_then_close_cuts_the_flush_short)
{
	int sv[2];

	new_loop();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_new(L, sv[0], &params, &ops, &peers[0]);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(conn_send_frame(peers[0].c, scratch, FRAME_MAX), 0);
	conn_close(peers[0].c, true);
	drain_loop();
	cr_assert_not_null(peers[0].c, "a flush nobody reads cannot finish");
	conn_close(peers[0].c, false);
	run_until(all_closed);
	cr_assert_eq(peers[0].closed_calls, 1);
	close(sv[1]);
	finish();
}

static int
closed_port(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	*sin = (struct sockaddr_in){ .sin_family = AF_INET };
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	/* Bound, never listening: connects to it are refused while fd stays open. */
	return fd;
}

Test(conn, connect_to_a_closed_port_gives_econnrefused_then_closed)
{
	struct sockaddr_in sin;
	int fd;

	new_loop();
	fd = closed_port(&sin);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &params, &ops,
	    &peers[0]);
	cr_assert_not_null(peers[0].c);
	cr_assert_eq(conn_send_frame(peers[0].c, "queued", 6), 0);
	run_until(all_closed);
	cr_assert_eq(peers[0].connected_calls, 1);
	cr_assert_eq(peers[0].connected_err, -ECONNREFUSED);
	cr_assert(!peers[0].connected_after_closed);
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_eq(peers[0].closed_err, -ECONNREFUSED);
	close(fd);
	finish();
}

Test(conn, close_before_the_connect_completes_gives_closed_only)
{
	struct sockaddr_in sin;
	int lfd;

	new_loop();
	lfd = tcp_listen(&sin);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &params, &ops,
	    &peers[0]);
	cr_assert_not_null(peers[0].c);
	conn_close(peers[0].c, false);
	run_until(all_closed);
	cr_assert_eq(peers[0].connected_calls, 0);
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_eq(peers[0].closed_err, 0);
	close(lfd);
	finish();
}

/* Many clients (even peers), each echoed by its accepted end (odd peers). */
#define CLIENTS		100

static int echoed;

static int
many_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct peer *p = conn_arg(c);

	if (len != sizeof(int) || memcmp(payload, &p->id, sizeof(int)) != 0) {
		p->bad = true;
		snprintf(p->why, sizeof(p->why), "client %d: not its echo", p->id);
	}
	echoed++;
	return 0;
}

static void
many_connected(struct conn *c, int err)
{
	struct peer *p = conn_arg(c);

	on_connected(c, err);
	if (err == 0)
		cr_assert_eq(conn_send_frame(c, &p->id, sizeof(int)), 0);
}

static const struct conn_ops many_ops = {
	.frame = many_frame,
	.connected = many_connected,
	.closed = on_closed,
};

static bool
all_echoed(void)
{
	return echoed == CLIENTS;
}

Test(conn, listener_accepts_many_connections)
{
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	new_loop();
	lfd = tcp_listen(&sin);
	accept_params = &params;
	ls = listener_new(L, lfd, on_accept, NULL);
	cr_assert_not_null(ls);
	for (int i = 0; i < CLIENTS; i++) {
		peers[2 * i] = (struct peer){ .id = 2 * i };
		peers[2 * i].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &params,
		    &many_ops, &peers[2 * i]);
		cr_assert_not_null(peers[2 * i].c);
	}
	run_until(all_echoed);
	cr_assert_eq(accepted, CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		cr_assert_eq(peers[2 * i].connected_err, 0);
		conn_close(peers[2 * i].c, i % 2 == 0);
	}
	run_until(all_closed);
	for (int i = 0; i < 2 * CLIENTS; i++) {
		cr_assert_eq(peers[i].closed_calls, 1, "peer %d", i);
		cr_assert_eq(peers[i].closed_err, 0, "peer %d: %s", i,
		    strerror(-peers[i].closed_err));
	}
	listener_free(ls);
	drain_loop();
	cr_assert_eq(fcntl(lfd, F_GETFD), -1, "the listener did not close its socket");
	finish();
}

static void
free_in_accept(struct listener *ls, int fd, void *arg)
{
	(void)arg;
	accepted++;
	close(fd);
	listener_free(ls);
	listener_free(ls);	/* twice: a no-op */
}

static bool
one_accepted(void)
{
	return accepted > 0;
}

Test(conn, listener_freed_from_its_accept_callback_closes_its_socket)
{
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd, cfd;

	new_loop();
	lfd = tcp_listen(&sin);
	ls = listener_new(L, lfd, free_in_accept, NULL);
	cr_assert_not_null(ls);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	run_until(one_accepted);
	drain_loop();
	cr_assert_eq(accepted, 1);
	cr_assert_eq(fcntl(lfd, F_GETFD), -1, "the listener did not close its socket");
	close(cfd);
	finish();
}

static void
count_accept(struct listener *ls, int fd, void *arg)
{
	(void)ls;
	(void)arg;
	accepted++;
	close(fd);
}

Test(conn, listener_resumes_accepting_after_emfile)
{
	struct sockaddr_in sin;
	struct listener *ls;
	struct rlimit rl, low;
	int lfd, cfd, k;

	new_loop();
	log_set_level(LOG_LVL_ERROR);	/* the warning about EMFILE is expected */
	lfd = tcp_listen(&sin);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* No fd can be made any more: the accept fails with EMFILE. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	k = dup(0);
	cr_assert_geq(k, 0);
	close(k);
	low = rl;
	low.rlim_cur = (rlim_t)k;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ls = listener_new(L, lfd, count_accept, NULL);
	cr_assert_not_null(ls);
	drain_loop();
	cr_assert_eq(accepted, 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	run_until(one_accepted);
	cr_assert_eq(accepted, 1);
	listener_free(ls);
	close(cfd);
	finish();
}

/*
 * TLS (conn_params.tls): the same round trip and flush over TLS 1.3 on TCP, each end
 * naming the other; a client whose certificate another CA signed is refused in the
 * handshake, and the server's `closed` says -EKEYREJECTED.
 */
#include "tests/unit/pki.h"

static struct tls_ctx *tls_server, *tls_client;

static void
tls_setup(const char *client_sub)
{
	pki_make();
	tls_server = pki_ctx("", "controller-ctl", true);
	if (client_sub[0] == '\0') {
		tls_client = pki_ctx("", "gateway-gw1", false);
	} else {
		char ca[160], cert[160], key[160], err[256];
		struct tls_conf tc = { .on = true, .ca = ca, .cert = cert, .key = key };

		snprintf(ca, sizeof(ca), "%s/ca.crt", pki_dir);
		snprintf(cert, sizeof(cert), "%s/%sgateway-gw1.crt", pki_dir, client_sub);
		snprintf(key, sizeof(key), "%s/%sgateway-gw1.key", pki_dir, client_sub);
		tls_client = tls_ctx_new(&tc, false, err, sizeof(err));
		cr_assert_not_null(tls_client, "%s", err);
	}
}

static void
tls_teardown(void)
{
	tls_ctx_free(tls_server);
	tls_ctx_free(tls_client);
	pki_remove();
}

static const char *tls_peer_seen;	/* what the server end named its peer */

static int
tls_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	if (tls_peer_seen == NULL)
		tls_peer_seen = conn_peer(c);
	return on_frame(c, payload, len);
}

static const struct conn_ops tls_echo_ops = {
	.frame = tls_frame,
	.writable = on_writable,
	.closed = on_closed,
};

static struct conn_params tls_accept_params;

static void
on_accept_tls(struct listener *ls, int fd, void *arg)
{
	(void)ls;
	(void)arg;
	accepted++;
	peers[1] = (struct peer){ .id = 1, .echo = true };
	peers[1].c = conn_new(L, fd, &tls_accept_params, &tls_echo_ops, &peers[1]);
	cr_assert_not_null(peers[1].c);
}

Test(conn, frames_round_trip_over_tls_and_each_end_names_the_other)
{
	struct conn_params cp = params;
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	tls_setup("");
	new_loop();
	tls_accept_params = params;
	tls_accept_params.tls = tls_server;
	cp.tls = tls_client;
	lfd = tcp_listen(&sin);
	ls = listener_new(L, lfd, on_accept_tls, NULL);
	peers[0] = (struct peer){ .verify = true };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &cp, &rt_ops,
	    &peers[0]);
	cr_assert_not_null(peers[0].c);
	run_until(rt_done);
	rt_check();
	cr_assert_eq(peers[0].connected_calls, 1);
	cr_assert_str_eq(conn_peer(peers[0].c), "controller:ctl");
	cr_assert_not_null(tls_peer_seen);
	cr_assert_str_eq(tls_peer_seen, "gateway:gw1");
	conn_close(peers[0].c, false);
	run_until(all_closed);
	listener_free(ls);
	finish();
	tls_teardown();
}

static void
on_accept_tls_flush(struct listener *ls, int fd, void *arg)
{
	(void)ls;
	(void)arg;
	accepted++;
	peers[1] = (struct peer){ .id = 1 };
	peers[1].c = conn_new(L, fd, &tls_accept_params, &ops, &peers[1]);
	cr_assert_not_null(peers[1].c);
	flush_send_all(peers[1].c);
}

Test(conn, flush_close_over_tls_delivers_everything_then_close_notify)
{
	struct conn_params cp = params;
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	tls_setup("");
	new_loop();
	tls_accept_params = params;
	tls_accept_params.out_max = 64u << 20;
	tls_accept_params.tls = tls_server;
	cp.tls = tls_client;
	lfd = tcp_listen(&sin);
	ls = listener_new(L, lfd, on_accept_tls_flush, NULL);
	peers[0] = (struct peer){ .verify = true };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &cp,
	    &chatty_ops, &peers[0]);
	cr_assert_not_null(peers[0].c);
	run_until(all_closed);
	cr_assert(!peers[0].bad, "%s", peers[0].why);
	cr_assert_eq(peers[0].frames, FLUSH_FRAMES);
	cr_assert_eq(peers[0].closed_err, 0);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, 0);
	listener_free(ls);
	finish();
	tls_teardown();
}

Test(conn, tls_client_of_another_ca_is_refused_with_ekeyrejected)
{
	struct conn_params cp = params;
	struct sockaddr_in sin;
	struct listener *ls;
	int lfd;

	tls_setup("other/");
	new_loop();
	tls_accept_params = params;
	tls_accept_params.tls = tls_server;
	cp.tls = tls_client;
	lfd = tcp_listen(&sin);
	ls = listener_new(L, lfd, on_accept_tls, NULL);
	peers[0] = (struct peer){ 0 };
	peers[0].c = conn_connect(L, (struct sockaddr *)&sin, sizeof(sin), &cp, &ops,
	    &peers[0]);
	cr_assert_not_null(peers[0].c);
	cr_assert_eq(conn_send_frame(peers[0].c, "hello", 5), 0);
	run_until(all_closed);
	cr_assert_eq(accepted, 1);
	cr_assert_eq(peers[1].closed_calls, 1);
	cr_assert_eq(peers[1].closed_err, -EKEYREJECTED);
	cr_assert_eq(peers[1].frames, 0, "the server read a frame from a refused client");
	cr_assert_eq(peers[0].closed_calls, 1);
	cr_assert_neq(peers[0].closed_err, 0);
	listener_free(ls);
	finish();
	tls_teardown();
}
