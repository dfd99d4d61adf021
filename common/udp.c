/*
 * udp: see udp.h. Invariants:
 * - One receive at most is in flight (rx_armed): a multishot recvmsg that takes one of
 *   nrecv buffers from the socket's provided-buffer ring (bgid) for each datagram. A
 *   buffer is in that ring, or filled and not yet handed back: from the kernel's
 *   taking it to the end of its completion's handler, which gives it back after the
 *   callback. So all nrecv are in the ring whenever no handler runs, and a receive
 *   that ended for want of one (-ENOBUFS) finds them back when its completion comes,
 *   after the completions of the datagrams that took them.
 * - Every send buffer has its own msghdr, iovec and address, which the kernel may read
 *   until its send completes: they are never reused or freed before that.
 * - A send buffer is in exactly one place: the free list, the caller's hands (after
 *   udp_buf), or in flight (after udp_send).
 * - A udp is freed only from the completion of its last operation in flight, and only
 *   after udp_free. udp_free always submits a cancel that is itself counted, so the
 *   socket is never freed from inside udp_free or a callback, and a callback may free
 *   its udp. The fd stays open until then, so the cancel by fd cannot hit a newer file.
 * - starved: a udp_buf found no buffer and buf_back was not called since. The next
 *   send completion calls it, so a sender waiting for a buffer is told when one is
 *   back (unless it holds them all itself).
 */
#include "common/udp.h"
#include "common/log.h"
#include "common/net.h"

#include <assert.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define UDP_DGRAM_MAX	65507u		/* the largest UDP payload over IPv4 */
#define UDP_OPS_MAX	65536u		/* nsend */
#define UDP_RING_MAX	32768u		/* nrecv: the kernel's largest buffer ring */
#define UDP_SOCKBUF	(4 << 20)	/* SO_RCVBUF, SO_SNDBUF asked (the kernel caps them) */
#define UDP_RETRY_NS	(1000ull * 1000)	/* a receive that failed is re-armed after */
#define UDP_NONE	UINT32_MAX	/* end of the free list */
static const uint8_t udp_resends_max = 4;	/* a send stopped by pending ICMP errors */

/*
 * A receive buffer as the multishot recvmsg fills it: struct io_uring_recvmsg_out, the
 * source address (msg_namelen bytes), then the datagram. Strides are rounded up so that
 * every buffer's header is aligned.
 */
#define UDP_RX_HDR	(sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in))
#define UDP_RX_ALIGN	64u

enum udp_tx_state {
	UDP_TX_FREE,
	UDP_TX_HELD,		/* handed out by udp_buf */
	UDP_TX_BUSY,		/* send in flight */
};

struct udp_tx {
	struct loop_op op;
	struct udp *u;
	uint32_t next;		/* free list */
	enum udp_tx_state state;
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_in to;
	uint8_t resends;	/* sends again after a pending ICMP error stopped it */
};

struct udp {
	struct loop *l;
	int fd;
	int port;
	struct udp_params p;
	udp_recv_fn *fn;
	void *arg;
	struct udp_counters ctr;
	struct udp_tx *tx;
	struct io_uring_buf_ring *br;	/* the receive buffers the kernel may take */
	uint32_t br_entries;	/* a power of two, nrecv or more */
	int bgid;		/* br's group id on the loop's ring; -1: none */
	bool br_registered;
	uint32_t rx_len;	/* a receive buffer's length: header and dgram_max */
	uint32_t rx_stride;
	bool rx_armed;		/* the multishot receive is in flight */
	bool rx_parked;		/* it failed: re-armed by the retry timer */
	struct msghdr rx_msg;	/* what each buffer holds before the datagram */
	struct loop_op rx_op;
	uint8_t *rx_mem;	/* nrecv buffers of rx_stride bytes */
	uint8_t *tx_mem;	/* nsend buffers of dgram_max bytes */
	uint32_t tx_free;	/* head of the free list, UDP_NONE when empty */
	uint32_t inflight;	/* operations in flight, the cancel included */
	bool starved;		/* udp_buf found none; buf_back not called since */
	bool freeing;
	struct loop_op cancel_op;
	struct loop_timer retry;
	struct log_ratelimit rl;
};

/* Everything u holds, whatever udp_new got to; nothing of it is in flight. */
static void
udp_release(struct udp *u)
{
	if (u->br_registered)
		io_uring_unregister_buf_ring(loop_ring(u->l), u->bgid);
	if (u->bgid >= 0)
		loop_bgid_put(u->l, u->bgid);
	if (u->br != NULL)
		munmap(u->br, u->br_entries * sizeof(struct io_uring_buf));
	if (u->fd >= 0)
		close(u->fd);
	free(u->tx);
	free(u->rx_mem);
	free(u->tx_mem);
	free(u);
}

static void
udp_reap(struct udp *u)
{
	if (!u->freeing || u->inflight > 0)
		return;
	loop_timer_cancel(u->l, &u->retry);
	udp_release(u);
}

/* Receive buffer bid back to the ring, for the kernel to take again. */
static void
udp_rx_put(struct udp *u, uint32_t bid)
{
	io_uring_buf_ring_add(u->br, u->rx_mem + (size_t)bid * u->rx_stride, u->rx_len,
	    (unsigned short)bid, io_uring_buf_ring_mask(u->br_entries), 0);
	io_uring_buf_ring_advance(u->br, 1);
}

/*
 * One receive for every datagram, not one a datagram: nrecv single receives on the
 * socket were each woken by every datagram, the losers polled again, and past io_uring's
 * limit of such retries went to io-wq worker threads that blocked in the socket.
 */
static void
udp_rx_arm(struct udp *u)
{
	struct io_uring_sqe *sqe;

	assert(!u->rx_armed && !u->freeing);
	u->rx_parked = false;
	sqe = loop_sqe(u->l, &u->rx_op);
	/* MSG_TRUNC: the header says a datagram's real length even when it did not fit. */
	io_uring_prep_recvmsg_multishot(sqe, u->fd, &u->rx_msg, MSG_TRUNC);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)u->bgid;
	u->rx_armed = true;
	u->inflight++;
}

static void
udp_retry_fire(struct loop_timer *t)
{
	struct udp *u = t->arg;

	if (u->rx_parked)
		udp_rx_arm(u);
}

/* Is res a socket error an ICMP message left (IP_RECVERR), not a failed receive? */
static bool
udp_icmp_error(int res)
{
	return res == -ECONNREFUSED || res == -EHOSTUNREACH || res == -ENETUNREACH ||
	    res == -EHOSTDOWN;
}

/*
 * Read every ICMP error queued on the socket and tell the owner where each datagram
 * was going. Non-blocking: the queue is only read after the kernel said it has some.
 */
static void
udp_errqueue(struct udp *u)
{
	for (int i = 0; i < 256; i++) {
		char cbuf[CMSG_SPACE(sizeof(struct sock_extended_err) +
		    sizeof(struct sockaddr_in))];
		struct sockaddr_in to;
		struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
		    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };

		if (recvmsg(u->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct sock_extended_err ee;

			if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR)
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP ||
			    mh.msg_namelen < sizeof(to) || to.sin_family != AF_INET)
				continue;
			u->ctr.unreach++;
			u->p.unreach(u, &to, (int)ee.ee_errno, u->arg);
			if (u->freeing)
				return;
		}
	}
}

/* Hand over the datagram in buffer bid (res: the bytes the kernel wrote), give it back. */
static void
udp_rx_take(struct udp *u, uint32_t bid, int res)
{
	uint8_t *buf = u->rx_mem + (size_t)bid * u->rx_stride;
	struct io_uring_recvmsg_out *out;
	struct sockaddr_in from;

	assert(bid < u->p.nrecv);
	out = res < 0 ? NULL : io_uring_recvmsg_validate(buf, res, &u->rx_msg);
	if (out == NULL || out->namelen < sizeof(from)) {
		u->ctr.rx_errors++;	/* a kernel that fills buffers otherwise: never seen */
	} else if ((out->flags & MSG_TRUNC) || out->payloadlen > u->p.dgram_max) {
		u->ctr.rx_truncated++;
	} else {
		memcpy(&from, io_uring_recvmsg_name(out), sizeof(from));
		u->ctr.rx++;
		u->fn(u, io_uring_recvmsg_payload(out, &u->rx_msg), out->payloadlen, &from,
		    u->arg);
		if (u->freeing)
			return;	/* the ring goes with u */
	}
	udp_rx_put(u, bid);
}

static void
udp_rx_done(struct loop_op *op, int res, uint32_t flags)
{
	struct udp *u = op->arg;

	/* Without F_MORE the receive ended: this is its last completion. */
	if (!(flags & IORING_CQE_F_MORE)) {
		u->rx_armed = false;
		u->inflight--;
	}
	if (u->freeing) {
		udp_reap(u);
		return;
	}
	if (flags & IORING_CQE_F_BUFFER) {
		udp_rx_take(u, flags >> IORING_CQE_BUFFER_SHIFT, res);
		if (u->freeing)
			return;	/* the cancel udp_free submitted is in flight */
	}
	if (u->rx_armed)
		return;
	/* A receive can end with a datagram (the kernel's CQ overflowed, say). */
	if (res >= 0 || res == -EINTR || res == -EAGAIN) {
		udp_rx_arm(u);
		return;
	}
	/*
	 * Every buffer was taken before the loop came round to give them back: the
	 * datagrams wait in the socket (its buffer is what may overflow, udp_sock_drops).
	 * The completions of the datagrams that took them came first: they are back.
	 */
	if (res == -ENOBUFS) {
		u->ctr.rx_nobuf++;
		udp_rx_arm(u);
		return;
	}
	if (u->p.unreach != NULL && udp_icmp_error(res)) {
		udp_errqueue(u);
		if (!u->freeing)
			udp_rx_arm(u);
		return;
	}
	/* Parked a while: a receive that keeps failing must not spin. */
	u->ctr.rx_errors++;
	log_warnx_rl(&u->rl, "udp: receive on port %d: %s", u->port, strerror(-res));
	u->rx_parked = true;
	if (!u->retry.armed)
		loop_timer_set(u->l, &u->retry, UDP_RETRY_NS);
}

static uint32_t
udp_tx_index(const struct udp *u, const uint8_t *buf)
{
	size_t off;

	assert(buf >= u->tx_mem);
	off = (size_t)(buf - u->tx_mem);
	assert(off % u->p.dgram_max == 0 && off / u->p.dgram_max < u->p.nsend);
	return (uint32_t)(off / u->p.dgram_max);
}

static void
udp_tx_put(struct udp *u, uint32_t i)
{
	u->tx[i].state = UDP_TX_FREE;
	u->tx[i].next = u->tx_free;
	u->tx_free = i;
}

static void
udp_tx_submit(struct udp *u, struct udp_tx *t)
{
	struct io_uring_sqe *sqe = loop_sqe(u->l, &t->op);

	io_uring_prep_sendmsg(sqe, u->fd, &t->msg, 0);
	t->state = UDP_TX_BUSY;
	u->inflight++;
}

static void
udp_tx_done(struct loop_op *op, int res, uint32_t flags)
{
	struct udp_tx *t = op->arg;
	struct udp *u = t->u;

	(void)flags;
	assert(t->state == UDP_TX_BUSY);
	u->inflight--;
	/*
	 * A send that meets the socket's pending error (an ICMP error for an earlier
	 * datagram: IP_RECVERR) returns it and sends nothing: the kernel checks the error
	 * before it builds the packet. Tell the owner of the errors, then send this one
	 * again, a few times at most (each failure takes one error off).
	 */
	if (!u->freeing && u->p.unreach != NULL && udp_icmp_error(res) &&
	    t->resends < udp_resends_max) {
		t->resends++;
		u->ctr.tx_resent++;
		udp_errqueue(u);
		if (u->freeing) {
			udp_tx_put(u, (uint32_t)(t - u->tx));
			udp_reap(u);
			return;
		}
		udp_tx_submit(u, t);
		return;
	}
	udp_tx_put(u, (uint32_t)(t - u->tx));
	if (u->freeing) {
		udp_reap(u);
		return;
	}
	if (u->p.unreach != NULL && udp_icmp_error(res)) {
		udp_errqueue(u);
		if (u->freeing)
			return;
		u->ctr.tx_errors++;
	} else if (res < 0) {
		u->ctr.tx_errors++;
		log_warnx_rl(&u->rl, "udp: send from port %d: %s", u->port, strerror(-res));
	} else {
		u->ctr.tx++;
	}
	/* Last: the callee may send (and starve us again) or free u. */
	if (u->starved && u->p.buf_back != NULL) {
		u->starved = false;
		u->p.buf_back(u, u->arg);
	}
}

static void
udp_cancel_done(struct loop_op *op, int res, uint32_t flags)
{
	struct udp *u = op->arg;

	(void)res;	/* what it cancelled completes on its own */
	(void)flags;
	u->inflight--;
	udp_reap(u);
}

static int
udp_socket(const struct sockaddr_in *addr, bool recverr, int *port, char *err,
    size_t errlen)
{
	struct sockaddr_in sin;
	socklen_t len;
	int fd, sz = UDP_SOCKBUF, e, one = 1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "udp: socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * No SO_REUSEADDR: on UDP it lets two sockets share a port (and port 0 hand out
	 * one in use), each getting part of the traffic. A second process on a port is
	 * refused instead; one killed a moment ago is waited for (net_bind).
	 */
	/* Past net.core.[rw]mem_max the kernel caps the size: not an error. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == -1 ||
	    (recverr && setsockopt(fd, SOL_IP, IP_RECVERR, &one, sizeof(one)) == -1))
		goto fail_errno;
	if (net_bind(fd, addr) == -1)
		goto fail_errno;
	len = sizeof(sin);
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		goto fail_errno;
	*port = ntohs(sin.sin_port);
	return fd;
fail_errno:
	e = errno;
	snprintf(err, errlen, "udp: port %u: %s", ntohs(addr->sin_port), strerror(e));
	close(fd);
	return -1;
}

/* The receive buffers, in a ring of provided buffers registered with the loop's ring. */
static int
udp_ring(struct udp *u, char *err, size_t errlen)
{
	struct io_uring_buf_reg reg = { 0 };
	int r;

	u->br_entries = 1;
	while (u->br_entries < u->p.nrecv)
		u->br_entries *= 2;
	if ((u->bgid = loop_bgid_get(u->l)) < 0) {
		snprintf(err, errlen, "udp: no provided-buffer group id left on the ring");
		return -1;
	}
	/* The kernel maps the ring: page-aligned memory of its own. */
	u->br = mmap(NULL, u->br_entries * sizeof(struct io_uring_buf),
	    PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		snprintf(err, errlen, "udp: out of memory");
		return -1;
	}
	reg.ring_addr = (unsigned long)u->br;
	reg.ring_entries = u->br_entries;
	reg.bgid = (uint16_t)u->bgid;
	if ((r = io_uring_register_buf_ring(loop_ring(u->l), &reg, 0)) < 0) {
		snprintf(err, errlen, "udp: provided-buffer ring: %s (Linux 6.0 or later "
		    "needed)", strerror(-r));
		return -1;
	}
	u->br_registered = true;
	io_uring_buf_ring_init(u->br);
	for (uint32_t i = 0; i < u->p.nrecv; i++)
		udp_rx_put(u, i);
	return 0;
}

struct udp *
udp_new(struct loop *l, const struct sockaddr_in *addr, const struct udp_params *p,
    udp_recv_fn *fn, void *arg, char *err, size_t errlen)
{
	struct udp *u;
	size_t stride;

	assert(fn != NULL);
	if (p->nrecv == 0 || p->nrecv > UDP_RING_MAX || p->nsend > UDP_OPS_MAX ||
	    p->dgram_max == 0 || p->dgram_max > UDP_DGRAM_MAX) {
		snprintf(err, errlen, "udp: nrecv must be 1..%u, nsend 0..%u and dgram_max "
		    "1..%u", UDP_RING_MAX, UDP_OPS_MAX, UDP_DGRAM_MAX);
		return NULL;
	}
	stride = (UDP_RX_HDR + p->dgram_max + UDP_RX_ALIGN - 1) & ~(size_t)(UDP_RX_ALIGN - 1);
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "udp: out of memory");
		return NULL;
	}
	u->fd = -1;
	u->bgid = -1;
	u->l = l;
	u->p = *p;
	if ((u->rx_mem = aligned_alloc(UDP_RX_ALIGN, p->nrecv * stride)) == NULL ||
	    (p->nsend > 0 && ((u->tx = calloc(p->nsend, sizeof(*u->tx))) == NULL ||
	    (u->tx_mem = malloc(p->nsend * p->dgram_max)) == NULL))) {
		snprintf(err, errlen, "udp: out of memory");
		goto fail;
	}
	u->rx_len = (uint32_t)(UDP_RX_HDR + p->dgram_max);
	u->rx_stride = (uint32_t)stride;
	/* Each buffer gets the source address before the datagram; no control data. */
	u->rx_msg = (struct msghdr){ .msg_namelen = sizeof(struct sockaddr_in) };
	u->rx_op = (struct loop_op){ .cb = udp_rx_done, .arg = u };
	if ((u->fd = udp_socket(addr, p->unreach != NULL, &u->port, err, errlen)) == -1 ||
	    udp_ring(u, err, errlen) < 0)
		goto fail;
	u->fn = fn;
	u->arg = arg;
	u->cancel_op = (struct loop_op){ .cb = udp_cancel_done, .arg = u };
	u->retry.fn = udp_retry_fire;
	u->retry.arg = u;
	u->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	u->tx_free = UDP_NONE;
	for (uint32_t i = p->nsend; i-- > 0;) {
		u->tx[i].op = (struct loop_op){ .cb = udp_tx_done, .arg = &u->tx[i] };
		u->tx[i].u = u;
		udp_tx_put(u, i);
	}
	udp_rx_arm(u);
	return u;
fail:
	udp_release(u);
	return NULL;
}

void
udp_free(struct udp *u)
{
	struct io_uring_sqe *sqe;

	if (u == NULL || u->freeing)
		return;
	u->freeing = true;
	loop_timer_cancel(u->l, &u->retry);
	/* Always a cancel, even with nothing in flight: u is freed from its completion. */
	sqe = loop_sqe(u->l, &u->cancel_op);
	io_uring_prep_cancel_fd(sqe, u->fd, IORING_ASYNC_CANCEL_ALL);
	u->inflight++;
}

uint8_t *
udp_buf(struct udp *u)
{
	struct udp_tx *t;
	uint32_t i = u->tx_free;

	if (i == UDP_NONE || u->freeing) {
		u->ctr.tx_nobuf++;
		u->starved = !u->freeing;
		return NULL;
	}
	t = &u->tx[i];
	assert(t->state == UDP_TX_FREE);
	u->tx_free = t->next;
	t->state = UDP_TX_HELD;
	return u->tx_mem + (size_t)i * u->p.dgram_max;
}

void
udp_send(struct udp *u, uint8_t *buf, size_t len, const struct sockaddr_in *to)
{
	uint32_t i = udp_tx_index(u, buf);
	struct udp_tx *t = &u->tx[i];

	assert(t->state == UDP_TX_HELD && len <= u->p.dgram_max);
	if (u->freeing) {
		udp_tx_put(u, i);
		return;
	}
	t->to = *to;
	t->iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	t->msg = (struct msghdr){ .msg_name = &t->to, .msg_namelen = sizeof(t->to),
	    .msg_iov = &t->iov, .msg_iovlen = 1 };
	t->resends = 0;
	udp_tx_submit(u, t);
}

void
udp_drop(struct udp *u, uint8_t *buf)
{
	uint32_t i = udp_tx_index(u, buf);

	assert(u->tx[i].state == UDP_TX_HELD);
	udp_tx_put(u, i);
}

uint64_t
udp_sock_drops(const struct udp *u)
{
	return net_sock_drops(u->fd);
}

int
udp_port(const struct udp *u)
{
	return u->port;
}

const struct udp_counters *
udp_counters(const struct udp *u)
{
	return &u->ctr;
}
