/*
 * udp_test: UDP sockets on the io_uring loop. Two endpoints in one loop exchange
 * thousands of datagrams of random sizes both ways, each arriving whole (checked byte by
 * byte) and at most once, from the right port; loopback loses none while the receiver
 * keeps up, but the test only demands nearly all. A datagram larger than dgram_max is
 * counted as truncated and dropped; udp_buf runs out (and counts it) while every buffer
 * is held or in flight, and the next send to complete then says a buffer is back;
 * udp_free from a callback, or with operations in flight, frees everything (the ASan
 * build checks the frees; every build checks the fd got closed). The one multishot
 * receive: every size up to dgram_max arrives whole; a burst larger than the ring of
 * receive buffers waits in the socket and arrives whole (rx_nobuf counted); an ICMP
 * error ends the receive and it starts again; datagrams one at a time start no io-wq
 * worker (nrecv single receives did: a herd woken by every datagram).
 */
#include "common/loop.h"
#include "common/mix.h"
#include "common/udp.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS		(1000ull * 1000)
#define HANG_NS		(30000 * MS)	/* a test that gets nowhere fails instead of hanging */
#define QUIET_NS	(300 * MS)	/* nothing arrived for this long: the rest is lost */
#define DGRAM_MAX	1500u
#define NDGRAMS		5000u
#define HDR		12u		/* seq (8), len (4) */

#include "tests/unit/looptest.h"

/* No Criterion .timeout (see conn_test.c): run_until() bounds every wait. */
TestSuite(udp);

/* The fd the next socket gets (the lowest free one), to check later that it closed. */
static int
next_fd(void)
{
	int fd = dup(0);

	cr_assert_geq(fd, 0);
	close(fd);
	return fd;
}

static void
assert_closed(int fd)
{
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "fd %d still open: the socket was not freed", fd);
	cr_assert_eq(errno, EBADF);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static struct udp *
new_udp(const struct udp_params *p, udp_recv_fn *fn, void *arg)
{
	struct sockaddr_in sin = loopback(0);
	struct udp *u;
	char err[256];

	u = udp_new(L, &sin, p, fn, arg, err, sizeof(err));
	cr_assert_not_null(u, "%s", err);
	cr_assert_gt(udp_port(u), 0);
	return u;
}

/* Datagram seq of a stream: its size (HDR..DGRAM_MAX, random) and bytes. */
static size_t
size_of(uint64_t stream, uint64_t seq)
{
	return HDR + (size_t)(mix64(stream << 32 ^ seq) % (DGRAM_MAX - HDR + 1));
}

static uint8_t
byte_of(uint64_t stream, uint64_t seq, size_t i)
{
	return (uint8_t)(mix64(stream << 40 ^ seq << 16 ^ i) >> 7);
}

static void
fill(uint8_t *p, uint64_t stream, uint64_t seq)
{
	size_t len = size_of(stream, seq);
	uint32_t l32 = (uint32_t)len;

	memcpy(p, &seq, 8);
	memcpy(p + 8, &l32, 4);
	for (size_t i = HDR; i < len; i++)
		p[i] = byte_of(stream, seq, i);
}

/* An endpoint of the exchange test. */
struct end {
	struct udp *u;
	uint64_t stream;	/* what it sends; the peer's stream is what it receives */
	uint64_t peer_stream;
	int peer_port;
	uint64_t sent;		/* udp_send calls */
	uint64_t got;		/* datagrams that arrived intact */
	uint64_t dups;
	uint64_t bad;		/* wrong size, bytes or source */
	uint64_t last_rx_ns;
	uint8_t seen[NDGRAMS];
	char why[160];
};

static struct end ends[2];

static void
end_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	struct end *e = arg;
	uint64_t seq;
	uint32_t l32;

	(void)u;
	e->last_rx_ns = loop_now(L);
	if (len < HDR) {
		e->bad++;
		snprintf(e->why, sizeof(e->why), "%zu bytes, shorter than a header", len);
		return;
	}
	memcpy(&seq, data, 8);
	memcpy(&l32, data + 8, 4);
	if (seq >= NDGRAMS || l32 != len || len != size_of(e->peer_stream, seq) ||
	    ntohs(from->sin_port) != e->peer_port ||
	    from->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
		e->bad++;
		snprintf(e->why, sizeof(e->why), "seq %llu: %zu bytes (header says %u) from "
		    "port %d", (unsigned long long)seq, len, l32, ntohs(from->sin_port));
		return;
	}
	for (size_t i = HDR; i < len; i++)
		if (data[i] != byte_of(e->peer_stream, seq, i)) {
			e->bad++;
			snprintf(e->why, sizeof(e->why), "seq %llu: byte %zu differs",
			    (unsigned long long)seq, i);
			return;
		}
	if (e->seen[seq]++)
		e->dups++;
	else
		e->got++;
}

/* Send what the free buffers allow, every pass, until NDGRAMS went out each way. */
static void
pump_fire(struct loop_timer *t)
{
	bool more = false;

	for (int k = 0; k < 2; k++) {
		struct end *e = &ends[k];
		struct sockaddr_in to = loopback(e->peer_port);
		uint8_t *b;

		/* A few a pass, so the receiver keeps up as a real server would. */
		for (int n = 0; n < 16 && e->sent < NDGRAMS && (b = udp_buf(e->u)) != NULL;
		    n++) {
			fill(b, e->stream, e->sent);
			udp_send(e->u, b, size_of(e->stream, e->sent), &to);
			e->sent++;
		}
		more |= e->sent < NDGRAMS;
	}
	if (more)
		loop_timer_set(L, t, 0);
}

static bool
exchange_done(void)
{
	uint64_t now = loop_now(L);

	for (int k = 0; k < 2; k++) {
		const struct end *e = &ends[k], *peer = &ends[!k];
		const struct udp_counters *pc = udp_counters(peer->u);

		if (e->got + e->bad + e->dups == NDGRAMS)
			continue;
		/* The peer sent all and nothing came for a while: what is missing is lost. */
		if (peer->sent < NDGRAMS || pc->tx + pc->tx_errors < NDGRAMS ||
		    now - e->last_rx_ns < QUIET_NS)
			return false;
	}
	return true;
}

Test(udp, thousands_of_random_sized_datagrams_arrive_intact_both_ways)
{
	struct udp_params p = { .nrecv = 64, .nsend = 32, .dgram_max = DGRAM_MAX };
	struct loop_timer pump = { .fn = pump_fire };

	new_loop();
	for (int k = 0; k < 2; k++) {
		ends[k].stream = (uint64_t)k + 1;
		ends[k].peer_stream = (uint64_t)!k + 1;
		ends[k].u = new_udp(&p, end_recv, &ends[k]);
	}
	ends[0].peer_port = udp_port(ends[1].u);
	ends[1].peer_port = udp_port(ends[0].u);
	loop_timer_set(L, &pump, 0);
	run_until(exchange_done);
	loop_timer_cancel(L, &pump);
	for (int k = 0; k < 2; k++) {
		const struct end *e = &ends[k];
		const struct udp_counters *c = udp_counters(e->u), *pc = udp_counters(ends[!k].u);

		cr_log_info("end %d: %llu of %u arrived", k, (unsigned long long)e->got, NDGRAMS);
		cr_assert_eq(e->bad, 0, "end %d: %llu bad datagrams, e.g. %s", k,
		    (unsigned long long)e->bad, e->why);
		cr_assert_eq(e->dups, 0, "end %d: a datagram arrived twice", k);
		cr_assert_eq(pc->tx, NDGRAMS, "end %d sent %llu", !k, (unsigned long long)pc->tx);
		cr_assert_eq(pc->tx_errors, 0);
		cr_assert_geq(e->got, NDGRAMS * 99 / 100, "end %d: only %llu of %u arrived", k,
		    (unsigned long long)e->got, NDGRAMS);
		cr_assert_eq(c->rx, e->got, "rx counts what was handed over");
		cr_assert_eq(c->rx_errors, 0);
		cr_assert_eq(c->rx_truncated, 0);
	}
	udp_free(ends[0].u);
	udp_free(ends[1].u);
	drain_loop();
	loop_free(L);
}

/* One endpoint that records what it gets. */
struct sink {
	uint64_t calls;
	size_t last_len;
	uint8_t last[DGRAM_MAX];
	bool free_in_cb;
};

static void
sink_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	struct sink *s = arg;

	(void)from;
	s->calls++;
	s->last_len = len;
	memcpy(s->last, data, len);
	if (s->free_in_cb)
		udp_free(u);
}

static struct udp *trunc_rx;

static bool
trunc_done(void)
{
	const struct udp_counters *c = udp_counters(trunc_rx);

	return c->rx + c->rx_truncated >= 4;
}

Test(udp, datagram_larger_than_dgram_max_is_counted_truncated_and_dropped)
{
	struct udp_params tp = { .nrecv = 1, .nsend = 4, .dgram_max = DGRAM_MAX };
	struct udp_params rp = { .nrecv = 4, .nsend = 0, .dgram_max = 512 };
	static const size_t lens[] = { 1000, 512, 513, DGRAM_MAX };
	struct sink s = { 0 };
	struct sockaddr_in to;
	struct udp *tx;
	int txfd, rxfd;

	new_loop();
	txfd = next_fd();
	tx = new_udp(&tp, sink_recv, &s);
	rxfd = next_fd();
	trunc_rx = new_udp(&rp, sink_recv, &s);
	to = loopback(udp_port(trunc_rx));
	for (size_t i = 0; i < 4; i++) {
		uint8_t *b = udp_buf(tx);

		cr_assert_not_null(b);
		memset(b, 'a' + (int)i, lens[i]);
		udp_send(tx, b, lens[i], &to);
	}
	run_until(trunc_done);
	cr_assert_eq(udp_counters(trunc_rx)->rx_truncated, 3);
	cr_assert_eq(udp_counters(trunc_rx)->rx, 1);
	cr_assert_eq(s.calls, 1, "only the datagram that fits is handed over");
	cr_assert_eq(s.last_len, 512);
	for (size_t i = 0; i < 512; i++)
		cr_assert_eq(s.last[i], 'b', "byte %zu", i);
	cr_assert_eq(udp_counters(tx)->tx, 4);
	udp_free(tx);
	udp_free(trunc_rx);
	drain_loop();
	assert_closed(txfd);
	assert_closed(rxfd);
	loop_free(L);
}

/* Where the ICMP errors said datagrams could not go. */
struct unreach_log {
	int calls, err;
	struct sockaddr_in to;
};

static void
on_unreach(struct udp *u, const struct sockaddr_in *to, int err, void *arg)
{
	struct unreach_log *g = arg;

	(void)u;
	g->calls++;
	g->err = err;
	g->to = *to;
}

static struct udp *unreach_tx;

static bool
unreach_sent(void)
{
	return udp_counters(unreach_tx)->tx + udp_counters(unreach_tx)->unreach >= 3;
}

/*
 * A server that died: its port answers with ICMP port unreachable. With unreach the
 * sender is told where each datagram was going, at once; without, nothing is said and
 * nothing counts as an error (the kernel's default for unconnected sockets).
 */
Test(udp, a_closed_port_is_reported_to_unreach_with_its_address)
{
	struct udp_params p = { .nrecv = 2, .nsend = 4, .dgram_max = 64,
	    .unreach = on_unreach };
	struct unreach_log g = { 0 };
	struct sockaddr_in dead;
	struct udp *gone;
	struct sink s = { 0 };

	new_loop();
	gone = new_udp(&p, sink_recv, &s);
	dead = loopback(udp_port(gone));
	udp_free(gone);
	drain_loop();
	unreach_tx = new_udp(&p, sink_recv, &g);
	for (int i = 0; i < 3; i++) {
		uint8_t *b = udp_buf(unreach_tx);

		memset(b, 'x', 10);
		udp_send(unreach_tx, b, 10, &dead);
	}
	RUN_UNTIL(g.calls >= 1 && unreach_sent());
	cr_assert_eq(g.err, ECONNREFUSED, "errno %d", g.err);
	cr_assert_eq(g.to.sin_port, dead.sin_port, "the address the datagram went to");
	cr_assert_eq(g.to.sin_addr.s_addr, dead.sin_addr.s_addr);
	cr_assert_eq(udp_counters(unreach_tx)->rx_errors, 0, "not a failed receive");
	cr_assert_eq(udp_counters(unreach_tx)->unreach, (uint64_t)g.calls);
	udp_free(unreach_tx);
	drain_loop();

	/* The same without unreach: nothing said, nothing counted. */
	p.unreach = NULL;
	unreach_tx = new_udp(&p, sink_recv, &g);
	g.calls = 0;
	for (int i = 0; i < 3; i++) {
		uint8_t *b = udp_buf(unreach_tx);

		memset(b, 'x', 10);
		udp_send(unreach_tx, b, 10, &dead);
	}
	RUN_UNTIL(udp_counters(unreach_tx)->tx == 3);
	run_for(100);
	cr_assert_eq(g.calls, 0);
	cr_assert_eq(udp_counters(unreach_tx)->rx_errors + udp_counters(unreach_tx)->unreach,
	    0);
	udp_free(unreach_tx);
	drain_loop();
	loop_free(L);
}

/*
 * What the kernel drops at a socket whose buffer is full is counted: 2000 datagrams of
 * 60 KB (120 MB), sent with plain sendto to a udp whose loop does not run, overflow its
 * buffer (4 MB asked, doubled by the kernel for its bookkeeping).
 */
Test(udp, datagrams_the_kernel_dropped_at_the_socket_are_counted)
{
	struct udp_params p = { .nrecv = 1, .nsend = 0, .dgram_max = 64 };
	struct sockaddr_in to;
	static char junk[60000];
	struct udp *u;
	int fd;

	new_loop();
	u = new_udp(&p, sink_recv, &(struct sink){ 0 });
	cr_assert_eq(udp_sock_drops(u), 0);
	to = loopback(udp_port(u));
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (int i = 0; i < 2000; i++)
		sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	cr_assert_gt(udp_sock_drops(u), 0, "2000 datagrams of 60 KB into a buffer of 8 MB "
	    "at most");
	udp_free(u);
	drain_loop();
	loop_free(L);
}

static struct udp *pend_tx;
static struct sink pend_sink;

static bool
pend_all_in(void)
{
	return pend_sink.calls >= 50;
}

/*
 * A send that meets an ICMP error still pending on the socket (from a datagram to a dead
 * port just before) fails with it and sends nothing: udp sends it again. 50 rounds of a
 * datagram to a dead port then one to a live one, each pair in one submission: every
 * live one arrives.
 */
Test(udp, a_send_stopped_by_a_pending_icmp_error_is_sent_again)
{
	struct udp_params p = { .nrecv = 1, .nsend = 8, .dgram_max = 64,
	    .unreach = on_unreach };
	struct udp_params rp = { .nrecv = 8, .nsend = 0, .dgram_max = 64 };
	struct unreach_log g = { 0 };
	struct sockaddr_in dead, live;
	struct udp *gone, *rx;

	new_loop();
	gone = new_udp(&p, sink_recv, &g);
	dead = loopback(udp_port(gone));
	udp_free(gone);
	drain_loop();
	rx = new_udp(&rp, sink_recv, &pend_sink);
	live = loopback(udp_port(rx));
	pend_tx = new_udp(&p, sink_recv, &g);
	for (int i = 0; i < 50; i++) {
		uint8_t *a = udp_buf(pend_tx), *b;

		memset(a, 'd', 10);
		udp_send(pend_tx, a, 10, &dead);
		b = udp_buf(pend_tx);
		memset(b, 'l', 10);
		udp_send(pend_tx, b, 10, &live);
		run_for(2);
	}
	run_until(pend_all_in);
	cr_assert_eq(pend_sink.calls, 50, "%d of 50 datagrams to the live port arrived",
	    pend_sink.calls);
	cr_log_info("resent %llu, unreach %llu", (unsigned long long)
	    udp_counters(pend_tx)->tx_resent, (unsigned long long)udp_counters(pend_tx)->unreach);
	udp_free(pend_tx);
	udp_free(rx);
	drain_loop();
	loop_free(L);
}

static struct udp *nobuf_tx;

static bool
nobuf_sent(void)
{
	return udp_counters(nobuf_tx)->tx == 4;
}

Test(udp, udp_buf_returns_null_while_every_buffer_is_held_or_in_flight)
{
	struct udp_params p = { .nrecv = 2, .nsend = 4, .dgram_max = 64 };
	struct sink s = { 0 };
	struct sockaddr_in to;
	uint8_t *b[4];
	struct udp *rx;

	new_loop();
	nobuf_tx = new_udp(&p, sink_recv, &s);
	rx = new_udp(&p, sink_recv, &s);
	to = loopback(udp_port(rx));

	for (int i = 0; i < 4; i++) {
		b[i] = udp_buf(nobuf_tx);
		cr_assert_not_null(b[i], "buffer %d of 4", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(b[i], b[j], "a buffer handed out twice");
	}
	cr_assert_null(udp_buf(nobuf_tx), "all 4 are held");
	cr_assert_null(udp_buf(nobuf_tx));
	cr_assert_eq(udp_counters(nobuf_tx)->tx_nobuf, 2);
	udp_drop(nobuf_tx, b[2]);
	b[2] = udp_buf(nobuf_tx);
	cr_assert_not_null(b[2], "a dropped buffer is free again");

	/* Queued sends hold their buffers until they complete. */
	for (int i = 0; i < 4; i++) {
		memset(b[i], i, 64);
		udp_send(nobuf_tx, b[i], 64, &to);
	}
	cr_assert_null(udp_buf(nobuf_tx), "all 4 are in flight");
	cr_assert_eq(udp_counters(nobuf_tx)->tx_nobuf, 3);
	run_until(nobuf_sent);
	for (int i = 0; i < 4; i++)
		cr_assert_not_null(b[i] = udp_buf(nobuf_tx), "sent buffers come back");
	for (int i = 0; i < 4; i++)
		udp_drop(nobuf_tx, b[i]);
	cr_assert_eq(udp_counters(nobuf_tx)->tx_nobuf, 3);
	udp_free(nobuf_tx);
	udp_free(rx);
	drain_loop();
	loop_free(L);
}

/* buf_back: counts its calls; while refilling, sends on every buffer it can get. */
static struct {
	struct udp *u;
	struct sockaddr_in to;
	uint64_t calls, sent, limit;
	bool refill;
} back;

static void
back_send(void)
{
	uint8_t *b;

	while (back.sent < back.limit && (b = udp_buf(back.u)) != NULL) {
		memset(b, (int)back.sent, 64);
		udp_send(back.u, b, 64, &back.to);
		back.sent++;
	}
}

static void
back_fn(struct udp *u, void *arg)
{
	(void)arg;
	cr_assert_eq(u, back.u);
	back.calls++;
	if (back.refill)
		back_send();
}

static bool
back_sent(void)
{
	return udp_counters(back.u)->tx == back.sent;
}

Test(udp, buf_back_is_called_once_a_buffer_returns_after_udp_buf_found_none)
{
	struct udp_params p = { .nrecv = 2, .nsend = 4, .dgram_max = 64, .buf_back = back_fn };
	struct sink s = { 0 };
	struct udp *rx;

	new_loop();
	memset(&back, 0, sizeof(back));
	back.u = new_udp(&p, sink_recv, &s);
	rx = new_udp(&p, sink_recv, &s);
	back.to = loopback(udp_port(rx));

	/* Buffers that were always there to take: nobody waits, nobody is told. */
	back.limit = 4;
	back_send();
	run_until(back_sent);
	drain_loop();
	cr_assert_eq(back.calls, 0, "told, though udp_buf never found none");

	/* Every buffer in flight and two NULLs: one call, at the first completion. */
	back.limit = 8;
	back_send();
	cr_assert_null(udp_buf(back.u));
	run_until(back_sent);
	drain_loop();
	cr_assert_eq(back.calls, 1, "%llu calls for 4 completions after 2 NULLs",
	    (unsigned long long)back.calls);

	/* A callee that takes buffers until none is left is told again each time. */
	back.refill = true;
	back.limit = 100;
	back_send();
	run_until(back_sent);
	cr_assert_eq(back.sent, 100, "sends stopped: a NULL in the callback was not re-armed");
	drain_loop();
	cr_assert_eq(udp_counters(back.u)->tx, 100);
	cr_assert_eq(udp_counters(back.u)->tx_errors, 0);
	udp_free(back.u);
	udp_free(rx);
	drain_loop();
	loop_free(L);
}

static struct sink *free_sink;

static bool
free_done(void)
{
	return free_sink->calls > 0;
}

Test(udp, udp_free_from_inside_the_callback_frees_once_all_completed)
{
	struct udp_params p = { .nrecv = 8, .nsend = 16, .dgram_max = 256 };
	struct sink s = { .free_in_cb = true }, t = { 0 };
	struct sockaddr_in to;
	struct udp *tx, *rx;
	int rxfd;

	new_loop();
	tx = new_udp(&p, sink_recv, &t);
	rxfd = next_fd();
	rx = new_udp(&p, sink_recv, &s);
	to = loopback(udp_port(rx));
	/* Several arrive in one batch: none after the one that freed may be handed over. */
	for (int i = 0; i < 16; i++) {
		uint8_t *b = udp_buf(tx);

		cr_assert_not_null(b);
		memset(b, i, 100);
		udp_send(tx, b, 100, &to);
	}
	free_sink = &s;
	run_until(free_done);
	drain_loop();
	cr_assert_eq(s.calls, 1, "a callback after udp_free");
	assert_closed(rxfd);
	udp_free(tx);
	drain_loop();
	loop_free(L);
}

Test(udp, udp_free_with_sends_and_receives_in_flight_frees_everything)
{
	struct udp_params p = { .nrecv = 16, .nsend = 8, .dgram_max = 1024 };
	struct sink s = { 0 };
	struct sockaddr_in to = loopback(9);	/* discard: nobody listens */
	struct udp *u;
	int fd;

	new_loop();
	fd = next_fd();
	u = new_udp(&p, sink_recv, &s);
	for (int i = 0; i < 8; i++) {
		uint8_t *b = udp_buf(u);

		cr_assert_not_null(b);
		udp_send(u, b, 1024, &to);
	}
	/* Queued, not even submitted: the cancel follows them in the same submit. */
	udp_free(u);
	drain_loop();
	assert_closed(fd);
	cr_assert_eq(s.calls, 0);
	loop_free(L);
}

Test(udp, bad_parameters_are_refused_with_a_reason)
{
	static const struct udp_params bad[] = {
		{ .nrecv = 0, .nsend = 1, .dgram_max = 100 },
		{ .nrecv = 1, .nsend = 1, .dgram_max = 0 },
		{ .nrecv = 1, .nsend = 1, .dgram_max = 70000 },
	};
	struct sockaddr_in sin = loopback(0);
	struct sink s = { 0 };
	char err[256];

	new_loop();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_null(udp_new(L, &sin, &bad[i], sink_recv, &s, err, sizeof(err)));
		cr_assert_not_null(strstr(err, "dgram_max"), "%s", err);
	}
	loop_free(L);
}

/*
 * A port in use is refused, after the second net_bind waits for a killed process's
 * socket to go: two endpoints never share a port (each would get part of the traffic).
 */
Test(udp, a_port_in_use_is_refused_not_shared)
{
	struct udp_params p = { .nrecv = 2, .nsend = 2, .dgram_max = 64 };
	struct sockaddr_in sin;
	struct sink s = { 0 };
	struct udp *first;
	uint64_t t0;
	char err[256];

	new_loop();
	first = new_udp(&p, sink_recv, &s);
	sin = loopback(udp_port(first));
	t0 = clock_mono_ns();
	cr_assert_null(udp_new(L, &sin, &p, sink_recv, &s, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "Address already in use"), "%s", err);
	cr_assert_geq(clock_mono_ns() - t0, 500000000ull, "refused without waiting for it");
	udp_free(first);
	drain_loop();
	loop_free(L);
}

/* Threads of this process named iou-wrk-*: io_uring's io-wq workers. */
static int
iowq_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* the thread went */
		if (fgets(comm, sizeof(comm), f) != NULL && strncmp(comm, "iou-wrk", 7) == 0)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Stops the loop at each datagram, so the next is sent only once this one arrived. */
static void
stop_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	sink_recv(u, data, len, from, arg);
	stop = 1;
}

/*
 * Datagrams that come one at a time, as requests and answers do: each may wake only one
 * receive. With many receives armed on the socket, each datagram woke them all, the
 * losers failed and polled again, and after io_uring's limit of such retries
 * (APOLL_MAX_RETRY) a receive went to an io-wq worker thread, where it blocked in the
 * socket: the learner's and syncd's CPU went to wake-ups (bench/scale's relearn).
 */
Test(udp, datagrams_one_at_a_time_wake_no_herd_of_receives)
{
	struct udp_params p = { .nrecv = 64, .nsend = 0, .dgram_max = 64 };
	struct sink s = { 0 };
	struct sockaddr_in to;
	struct udp *u;
	int fd;

	new_loop();
	u = new_udp(&p, stop_recv, &s);
	to = loopback(udp_port(u));
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	run_for(1);
	for (uint32_t i = 0; i < 1000; i++) {
		cr_assert_eq(sendto(fd, &i, sizeof(i), 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)sizeof(i));
		run_until(NULL);	/* until stop_recv */
		cr_assert_eq(s.calls, i + 1);
		cr_assert_eq(memcmp(s.last, &i, sizeof(i)), 0, "datagram %u", i);
	}
	cr_assert_eq(iowq_workers(), 0, "%d io-wq workers: receives were punted there after "
	    "failing too often", iowq_workers());
	close(fd);
	udp_free(u);
	drain_loop();
	loop_free(L);
}

/* A receiver that checks each datagram: size `size` holds bytes byte_of(3, size, i). */
static struct {
	uint32_t dgram_max;
	uint64_t calls, bad;
	uint8_t *seen;		/* dgram_max + 1 sizes */
	char why[160];
} sizes;

static void
sizes_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	(void)u;
	(void)from;
	(void)arg;
	sizes.calls++;
	if (len > sizes.dgram_max) {
		sizes.bad++;
		snprintf(sizes.why, sizeof(sizes.why), "%zu bytes, past dgram_max", len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (data[i] != byte_of(3, len, i)) {
			sizes.bad++;
			snprintf(sizes.why, sizeof(sizes.why), "%zu bytes: byte %zu differs", len,
			    i);
			return;
		}
	sizes.seen[len]++;
}

static struct udp *sizes_rx;

static bool
sizes_done(void)
{
	const struct udp_counters *c = udp_counters(sizes_rx);

	return c->rx + c->rx_truncated + c->rx_errors >= sizes.dgram_max + 2;
}

/*
 * Every size from 0 to dgram_max arrives whole, each once; one byte more is counted
 * truncated and dropped. Sent in bursts of 50 into a ring of 8 buffers, so receives end
 * for want of a buffer and start again all along.
 */
Test(udp, every_size_up_to_dgram_max_arrives_whole_and_one_more_is_truncated)
{
	struct udp_params p = { .nrecv = 8, .nsend = 0, .dgram_max = 700 };
	static uint8_t b[1000];
	struct sockaddr_in to;
	uint32_t len = 0;
	int fd;

	new_loop();
	memset(&sizes, 0, sizeof(sizes));
	sizes.dgram_max = (uint32_t)p.dgram_max;
	cr_assert_not_null(sizes.seen = calloc(p.dgram_max + 1, 1));
	sizes_rx = new_udp(&p, sizes_recv, NULL);
	to = loopback(udp_port(sizes_rx));
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	while (len <= p.dgram_max + 1) {
		for (int n = 0; n < 50 && len <= p.dgram_max + 1; n++, len++) {
			for (size_t i = 0; i < len; i++)
				b[i] = byte_of(3, len, i);
			cr_assert_eq(sendto(fd, b, len, 0, (struct sockaddr *)&to, sizeof(to)),
			    (ssize_t)len);
		}
		run_for(2);
	}
	run_until(sizes_done);
	cr_assert_eq(sizes.bad, 0, "%llu bad, e.g. %s", (unsigned long long)sizes.bad,
	    sizes.why);
	for (uint32_t i = 0; i <= p.dgram_max; i++)
		cr_assert_eq(sizes.seen[i], 1, "%u bytes arrived %u times", i, sizes.seen[i]);
	cr_assert_eq(udp_counters(sizes_rx)->rx, p.dgram_max + 1);
	cr_assert_eq(udp_counters(sizes_rx)->rx_truncated, 1);
	cr_assert_eq(udp_counters(sizes_rx)->rx_errors, 0);
	cr_assert_eq(udp_sock_drops(sizes_rx), 0);
	cr_log_info("rx_nobuf %llu", (unsigned long long)udp_counters(sizes_rx)->rx_nobuf);
	close(fd);
	udp_free(sizes_rx);
	drain_loop();
	free(sizes.seen);
	loop_free(L);
}

static struct udp *burst_rx;
static struct {
	uint32_t next, calls, out_of_order;
} burst;

static void
burst_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	uint32_t seq;

	(void)u;
	(void)from;
	(void)arg;
	cr_assert_eq(len, 100);
	memcpy(&seq, data, sizeof(seq));
	burst.out_of_order += seq != burst.next;
	burst.next = seq + 1;
	burst.calls++;
}

static bool
burst_done(void)
{
	return burst.calls >= 200;
}

/*
 * 200 datagrams wait in the socket before the loop runs, for a ring of 8 buffers: the
 * receive takes 8, ends for want of a buffer (counted), is armed again with the 8 given
 * back, and so on until all 200 arrived, none lost, in order. Then the next one arrives
 * too.
 */
Test(udp, a_burst_larger_than_the_ring_waits_in_the_socket_and_all_arrive)
{
	struct udp_params p = { .nrecv = 8, .nsend = 0, .dgram_max = 128 };
	uint8_t b[100] = { 0 };
	struct sockaddr_in to;
	int fd;

	new_loop();
	memset(&burst, 0, sizeof(burst));
	burst_rx = new_udp(&p, burst_recv, NULL);
	to = loopback(udp_port(burst_rx));
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (uint32_t i = 0; i < 200; i++) {
		memcpy(b, &i, sizeof(i));
		cr_assert_eq(sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)sizeof(b));
	}
	cr_assert_eq(udp_sock_drops(burst_rx), 0, "the socket's buffer is too small here");
	run_until(burst_done);
	drain_loop();
	cr_assert_eq(burst.calls, 200);
	cr_assert_eq(burst.out_of_order, 0);
	cr_assert_eq(udp_counters(burst_rx)->rx, 200);
	cr_assert_geq(udp_counters(burst_rx)->rx_nobuf, 200 / 8 - 1, "%llu",
	    (unsigned long long)udp_counters(burst_rx)->rx_nobuf);
	cr_assert_eq(udp_counters(burst_rx)->rx_errors, 0);
	cr_assert_eq(udp_sock_drops(burst_rx), 0);
	b[0] = 200;
	cr_assert_eq(sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(to)),
	    (ssize_t)sizeof(b));
	RUN_UNTIL(burst.calls == 201);
	cr_assert_eq(burst.out_of_order, 0);
	close(fd);
	udp_free(burst_rx);
	drain_loop();
	loop_free(L);
}

/* The owner of a udp that both receives and hears of ICMP errors. */
static struct {
	struct unreach_log g;
	uint64_t calls;
} both;

static void
both_recv(struct udp *u, const uint8_t *data, size_t len, const struct sockaddr_in *from,
    void *arg)
{
	(void)u;
	(void)data;
	(void)len;
	(void)from;
	(void)arg;
	both.calls++;
}

static void
both_unreach(struct udp *u, const struct sockaddr_in *to, int err, void *arg)
{
	on_unreach(u, to, err, &both.g);
	(void)arg;
}

/*
 * An ICMP error ends the receive (it fails with the socket's error): it is armed again,
 * and the datagrams that come next arrive. 20 rounds of a datagram to a dead port, its
 * error reported, then one datagram in.
 */
Test(udp, datagrams_arrive_after_an_icmp_error_ended_the_receive)
{
	struct udp_params p = { .nrecv = 4, .nsend = 4, .dgram_max = 64,
	    .unreach = both_unreach };
	struct sockaddr_in dead, to;
	struct sink s = { 0 };
	struct udp *gone, *u;
	int fd;

	new_loop();
	memset(&both, 0, sizeof(both));
	gone = new_udp(&p, sink_recv, &s);
	dead = loopback(udp_port(gone));
	udp_free(gone);
	drain_loop();
	u = new_udp(&p, both_recv, NULL);
	to = loopback(udp_port(u));
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (int i = 0; i < 20; i++) {
		uint8_t *b = udp_buf(u);

		cr_assert_not_null(b);
		memset(b, 'x', 10);
		udp_send(u, b, 10, &dead);
		RUN_UNTIL(both.g.calls == i + 1);
		cr_assert_eq(both.g.err, ECONNREFUSED);
		cr_assert_eq(sendto(fd, "y", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
		RUN_UNTIL(both.calls == (uint64_t)i + 1);
	}
	cr_assert_eq(udp_counters(u)->unreach, 20);
	cr_assert_eq(udp_counters(u)->rx, 20);
	cr_assert_eq(udp_counters(u)->rx_errors, 0);
	close(fd);
	udp_free(u);
	drain_loop();
	loop_free(L);
}

static int closing_fd;

static bool
fd_closed(void)
{
	return fcntl(closing_fd, F_GETFD) == -1;
}

/*
 * udp_free while the receive is armed in the kernel and datagrams are landing in its
 * buffers: none is handed over after it, the socket closes, and its buffer group is
 * free again: 300 sockets made and freed one after the other on one loop (more than it
 * has group ids), then three at once, each getting its own datagrams.
 */
Test(udp, udp_free_with_the_receive_armed_and_datagrams_landing_frees_everything)
{
	struct udp_params p = { .nrecv = 16, .nsend = 0, .dgram_max = 256 };
	struct sink s = { 0 }, three[3] = { 0 };
	struct sockaddr_in to;
	struct udp *u, *us[3];
	int fd;

	new_loop();
	cr_assert_geq(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (int k = 0; k < 300; k++) {
		closing_fd = next_fd();
		u = new_udp(&p, sink_recv, &s);
		to = loopback(udp_port(u));
		run_for(1);	/* the receive is in the kernel */
		for (int i = 0; i < 40; i++)
			sendto(fd, "z", 1, 0, (struct sockaddr *)&to, sizeof(to));
		udp_free(u);
		run_until(fd_closed);
		assert_closed(closing_fd);
	}
	cr_assert_eq(s.calls, 0, "%llu datagrams handed over after udp_free",
	    (unsigned long long)s.calls);
	for (int k = 0; k < 3; k++)
		us[k] = new_udp(&p, sink_recv, &three[k]);
	for (int k = 0; k < 3; k++) {
		to = loopback(udp_port(us[k]));
		for (int i = 0; i <= k; i++)
			sendto(fd, "abc", (size_t)k + 1, 0, (struct sockaddr *)&to, sizeof(to));
	}
	RUN_UNTIL(three[0].calls == 1 && three[1].calls == 2 && three[2].calls == 3);
	run_for(10);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(three[k].calls, (uint64_t)k + 1);
		cr_assert_eq(three[k].last_len, (size_t)k + 1, "another socket's datagram");
		udp_free(us[k]);
	}
	close(fd);
	drain_loop();
	loop_free(L);
}
