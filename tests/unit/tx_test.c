/*
 * tx_test: the forwarder's socket sends (procs/forwarder/tx.c) and the share of them the
 * xdp mode takes (tx_set_bypass). A flush hands the bypass every datagram to a VTEP that
 * has no run of min_run or more in the queue, and keeps all of a VTEP's datagrams on the
 * socket when it has one (its other sizes too: a flow keeps its order); what the bypass
 * refuses leaves through the socket; min_run 0 hands it everything; without a bypass
 * everything leaves through the socket. What leaves through the socket arrives, every
 * datagram whole (a run as a UDP GSO message, cut by the kernel), and every buffer comes
 * back to the caller exactly once. Counters: tx_gso, xdp_tx_runs.
 */
#include "procs/forwarder/tx.c"
#include "procs/forwarder/pkt.c"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/looptest.h"

TestSuite(tx);

#define NPKT	64

static struct pkt_pool pool;
static struct forwarder_counters ctr;
static struct tx *T;
static int out_fd, sink[2];		/* the two "VTEPs": 127.0.0.1 and .2 */
static uint16_t sink_port[2];
static uint32_t done_n, bypassed_n, refuse_left;
static struct pkt *bypassed[NPKT];

static void
on_done(struct pkt *p, void *arg)
{
	(void)arg;
	done_n++;
	pkt_put(&pool, p);
}

/* The bypass: takes a datagram unless told to refuse the next ones. */
static bool
take(struct pkt *p, void *arg)
{
	(void)arg;
	if (refuse_left > 0) {
		refuse_left--;
		return false;
	}
	bypassed[bypassed_n++] = p;
	return true;
}

/* A socket on ip, an ephemeral port (tests run in parallel), into *port. */
static int
udp_on(const char *ip, uint16_t *port)
{
	struct sockaddr_in a = sin_of(ip, 0);
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s: %s", ip,
	    strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void
setup(void)
{
	struct sockaddr_in a = sin_of("127.0.0.1", 0);

	new_loop();
	cr_assert_eq(pkt_pool_init(&pool, NPKT), 0);
	memset(&ctr, 0, sizeof(ctr));
	done_n = bypassed_n = refuse_left = 0;
	out_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(out_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	sink[0] = udp_on("127.0.0.1", &sink_port[0]);
	sink[1] = udp_on("127.0.0.2", &sink_port[1]);
	cr_assert_not_null(T = tx_new(L, out_fd, &ctr, on_done, NULL));
}

static void
teardown(void)
{
	tx_free(T);
	close(out_fd);
	close(sink[0]);
	close(sink[1]);
	pkt_pool_free(&pool);
	loop_free(L);
}

/* Queue a datagram of len bytes, its first byte tag, to VTEP v (0 or 1). */
static void
queue(int v, uint32_t len, uint8_t tag)
{
	struct pkt *p = pkt_get(&pool);

	cr_assert_not_null(p);
	p->off = 64;
	p->len = len;
	memset(p->buf + p->off, tag, len);
	tx_add(T, p, v ? 0x7f000002u : 0x7f000001u, sink_port[v]);
}

/* The tags of what VTEP v received, in order, into tags; how many. */
static uint32_t
received(int v, uint8_t *tags, uint32_t max)
{
	uint8_t b[2048];
	uint32_t n = 0;
	ssize_t r;

	run_for(20);
	while (n < max && (r = recv(sink[v], b, sizeof(b), 0)) > 0)
		tags[n++] = b[0];
	return n;
}

Test(tx, short_runs_go_to_the_bypass_a_vtep_with_a_long_run_stays_whole, .init = setup,
    .fini = teardown)
{
	uint8_t tags[NPKT];
	uint32_t n;

	tx_set_bypass(T, take, NULL, 4);
	for (uint8_t i = 0; i < 5; i++)		/* A: a run of 5 */
		queue(0, 100, (uint8_t)(1 + i));
	queue(1, 100, 20);			/* B: 2 datagrams */
	queue(0, 300, 6);			/* A: another size, after the run */
	queue(1, 100, 21);
	tx_flush(T);
	cr_assert_eq(bypassed_n, 2, "the bypass got %u", bypassed_n);
	for (uint32_t i = 0; i < 2; i++) {
		cr_assert_eq(bypassed[i]->buf[bypassed[i]->off], 20 + i);
		on_done(bypassed[i], NULL);	/* the bypass is done with it */
	}
	n = received(0, tags, NPKT);
	cr_assert_eq(n, 6, "VTEP A received %u of 6", n);
	for (uint32_t i = 0; i < 6; i++)
		cr_assert_eq(tags[i], i + 1, "A's datagram %u is %u: out of order", i, tags[i]);
	cr_assert_eq(received(1, tags, NPKT), 0, "B's went through the socket too");
	cr_assert_eq(ctr.tx_gso, 1);
	cr_assert_eq(ctr.xdp_tx_runs, 6);
	cr_assert_eq(done_n, 8);
	cr_assert_eq(pool.nfree, NPKT);
}

Test(tx, what_the_bypass_refuses_leaves_through_the_socket, .init = setup,
    .fini = teardown)
{
	uint8_t tags[NPKT];

	tx_set_bypass(T, take, NULL, 4);
	refuse_left = 1;
	queue(1, 100, 30);
	queue(1, 100, 31);
	queue(1, 200, 32);
	tx_flush(T);
	cr_assert_eq(bypassed_n, 2);
	cr_assert_eq(bypassed[0]->buf[bypassed[0]->off], 31);
	cr_assert_eq(received(1, tags, NPKT), 1);
	cr_assert_eq(tags[0], 30);
	on_done(bypassed[0], NULL);
	on_done(bypassed[1], NULL);
	cr_assert_eq(pool.nfree, NPKT);
}

Test(tx, min_run_0_hands_the_bypass_everything_and_none_sends_all, .init = setup,
    .fini = teardown)
{
	uint8_t tags[NPKT];

	tx_set_bypass(T, take, NULL, 0);
	for (uint8_t i = 0; i < 8; i++)
		queue(0, 100, i);
	tx_flush(T);
	cr_assert_eq(bypassed_n, 8);
	cr_assert_eq(received(0, tags, NPKT), 0);
	for (uint32_t i = 0; i < 8; i++)
		on_done(bypassed[i], NULL);

	tx_set_bypass(T, NULL, NULL, 0);
	bypassed_n = 0;
	for (uint8_t i = 0; i < 3; i++)
		queue(1, 100, i);
	tx_flush(T);
	cr_assert_eq(bypassed_n, 0);
	cr_assert_eq(received(1, tags, NPKT), 3);
	cr_assert_eq(pool.nfree, NPKT);
}
