/*
 * udpio: see udpio.h. Invariant: a ring buffer (pool index < nring) is either in the
 * kernel's ring or held by the caller (ring_held counts those); udpio_release puts it back.
 */
#include "udpio.h"
#include "common/log.h"
#include "common/net.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKBUF		(8 << 20)

struct udpio {
	struct loop *l;
	struct pkt_pool *pool;
	struct forwarder_counters *c;
	udpio_rx_fn *rx;
	void *arg;
	int fd;
	uint32_t recvs;			/* single receives in flight, without a ring */
	uint32_t armed;
	/*
	 * Multishot receive: one recvmsg SQE keeps delivering datagrams, each into a
	 * buffer the kernel takes from a ring of provided buffers (pkts 0..nring-1, which
	 * go back to that ring, not to the pool, when done with).
	 */
	bool mshot;
	bool mshot_armed;
	struct io_uring_buf_ring *br;
	int bgid;			/* br's group id on the loop's ring */
	uint32_t nring;
	uint32_t ring_held;		/* ring buffers the kernel filled, not yet back */
	struct msghdr mshot_msg;
	struct loop_op mshot_op;
	struct loop_op cancel_op;
	bool stopping;
	struct tx *tx;
	struct log_ratelimit rl;
};

bool
udpio_release(struct udpio *u, struct pkt *p)
{
	uint32_t i = (uint32_t)(p - u->pool->p);

	if (i >= u->nring)
		return false;
	u->ring_held--;
	io_uring_buf_ring_add(u->br, p->buf, PKT_SIZE, (unsigned short)i,
	    io_uring_buf_ring_mask(u->nring), 0);
	io_uring_buf_ring_advance(u->br, 1);
	return true;
}

static void
drop_buf(struct udpio *u, struct pkt *p)
{
	if (!udpio_release(u, p))
		pkt_put(u->pool, p);
}

static bool arm(struct udpio *u);

static void
on_rx(struct loop_op *op, int res, uint32_t flags)
{
	struct pkt *p = (struct pkt *)op;
	struct udpio *u = op->arg;

	(void)flags;
	u->armed--;
	if (res < 0 || u->stopping) {
		if (res != -ECANCELED && !u->stopping) {
			STATS_INC(u->c, rx_errors);
			log_warnx_rl(&u->rl, "VXLAN receive: %s", strerror(-res));
		}
		drop_buf(u, p);
		return;
	}
	STATS_INC(u->c, rx_vxlan);
	STATS_ADD(u->c, rx_bytes, res);
	if ((size_t)res > PKT_SIZE) {
		STATS_INC(u->c, drop_truncated);
		drop_buf(u, p);
	} else {
		p->off = 0;
		p->len = (uint32_t)res;
		u->rx(p, u->arg);
	}
	arm(u);
}

static void
on_mshot(struct loop_op *op, int res, uint32_t flags)
{
	struct udpio *u = op->arg;
	struct io_uring_recvmsg_out *out;
	struct pkt *p;

	if (!(flags & IORING_CQE_F_MORE))
		u->mshot_armed = false;		/* re-armed by the flush */
	if (flags & IORING_CQE_F_BUFFER) {
		p = &u->pool->p[flags >> IORING_CQE_BUFFER_SHIFT];
		u->ring_held++;
		if (res < 0 || u->stopping) {
			udpio_release(u, p);
			return;
		}
		out = io_uring_recvmsg_validate(p->buf, res, &u->mshot_msg);
		STATS_INC(u->c, rx_vxlan);
		if (out)
			STATS_ADD(u->c, rx_bytes, out->payloadlen);
		if (out == NULL || out->namelen < sizeof(p->addr) ||
		    (out->flags & MSG_TRUNC)) {
			STATS_INC(u->c, drop_truncated);
			udpio_release(u, p);
			return;
		}
		memcpy(&p->addr, io_uring_recvmsg_name(out), sizeof(p->addr));
		p->off = (uint32_t)((uint8_t *)io_uring_recvmsg_payload(out, &u->mshot_msg) -
		    p->buf);
		p->len = io_uring_recvmsg_payload_length(out, res, &u->mshot_msg);
		p->port = -1;
		u->rx(p, u->arg);
		return;
	}
	/*
	 * -ENOBUFS: every ring buffer is in use, the datagram waits in the socket; the
	 * flush re-arms, and the batch it handles gives buffers back.
	 */
	if (res < 0 && res != -ENOBUFS && res != -ECANCELED && !u->stopping) {
		STATS_INC(u->c, rx_errors);
		log_warnx_rl(&u->rl, "VXLAN receive: %s", strerror(-res));
	}
}

static bool
arm(struct udpio *u)
{
	struct pkt *p;

	if (u->mshot) {
		struct io_uring_sqe *sqe;

		if (u->stopping || u->mshot_armed)
			return false;
		u->mshot_op = (struct loop_op){ .cb = on_mshot, .arg = u };
		sqe = loop_sqe(u->l, &u->mshot_op);
		/* MSG_TRUNC: a datagram cut to the buffer says its real length. */
		io_uring_prep_recvmsg_multishot(sqe, u->fd, &u->mshot_msg, MSG_TRUNC);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = (uint16_t)u->bgid;
		u->mshot_armed = true;
		return false;
	}
	if (u->stopping || u->armed >= u->recvs)
		return false;
	if ((p = pkt_get(u->pool)) == NULL) {
		STATS_INC(u->c, drop_nobuf);
		return false;
	}
	p->port = -1;
	p->iov = (struct iovec){ p->buf, PKT_SIZE };
	p->msg = (struct msghdr){ .msg_name = &p->addr, .msg_namelen = sizeof(p->addr),
	    .msg_iov = &p->iov, .msg_iovlen = 1 };
	p->op = (struct loop_op){ .cb = on_rx, .arg = u };
	/* MSG_TRUNC: a datagram larger than the buffer reports its real size. */
	io_uring_prep_recvmsg(loop_sqe(u->l, &p->op), u->fd, &p->msg, MSG_TRUNC);
	u->armed++;
	return true;
}

void
udpio_send(struct udpio *u, struct pkt *p, uint32_t ip, uint16_t port)
{
	tx_add(u->tx, p, ip, port);
}

void
udpio_set_bypass(struct udpio *u, tx_bypass_fn *fn, void *arg, uint32_t min_run)
{
	tx_set_bypass(u->tx, fn, arg, min_run);
}

void
udpio_flush(struct udpio *u)
{
	if (tx_pending(u->tx))
		tx_flush(u->tx);
	while (arm(u))
		;
}

uint32_t
udpio_reserved(const struct udpio *u)
{
	return u->mshot ? 0 : u->recvs;
}

uint32_t
udpio_dgram_max(const struct udpio *u)
{
	return u->mshot ? PKT_SIZE - sizeof(struct io_uring_recvmsg_out) -
	    sizeof(struct sockaddr_in) : PKT_SIZE;
}

void
udpio_tick(struct udpio *u)
{
	/* What the forwarder never sees is counted too: overflows of its socket. */
	STATS_SET(u->c, rx_sock_drops, net_sock_drops(u->fd));
}

static int
vxlan_socket(const struct sockaddr_in *a, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), v = SOCKBUF, r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (net_bind(fd, a) < 0) {
		r = -errno;
		snprintf(err, errlen, "bind %s:%u: %s", inet_ntoa(a->sin_addr),
		    ntohs(a->sin_port), strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Multishot receive when the kernel has provided-buffer rings (5.19): the ring gets
 * 2 x recvs buffers (a power of two, at most half the pool), kept out of the pool.
 * Otherwise recvs single receives stay in flight.
 */
static void
mshot_setup(struct udpio *u)
{
	struct io_uring_buf_reg reg = { 0 };
	uint32_t n = 1;
	int r;

	while (n < 2 * u->recvs && 2 * n <= u->pool->n / 2 && n < 32768)
		n *= 2;
	/* A group id of its own: other users of the loop's ring (common/udp.c) have theirs. */
	if ((u->bgid = loop_bgid_get(u->l)) < 0)
		return;
	u->br = mmap(NULL, n * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
	    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		loop_bgid_put(u->l, u->bgid);
		return;
	}
	reg.ring_addr = (unsigned long)u->br;
	reg.ring_entries = n;
	reg.bgid = (uint16_t)u->bgid;
	if ((r = io_uring_register_buf_ring(loop_ring(u->l), &reg, 0)) < 0) {
		log_info("no provided-buffer rings (%s): a receive a datagram", strerror(-r));
		munmap(u->br, n * sizeof(struct io_uring_buf));
		u->br = NULL;
		loop_bgid_put(u->l, u->bgid);
		return;
	}
	io_uring_buf_ring_init(u->br);
	for (uint32_t i = 0; i < n; i++) {
		struct pkt *p = pkt_get(u->pool);

		assert(p == &u->pool->p[i]);	/* a fresh pool hands out 0, 1, 2, ... */
		io_uring_buf_ring_add(u->br, p->buf, PKT_SIZE, (unsigned short)i,
		    io_uring_buf_ring_mask(n), (int)i);
	}
	io_uring_buf_ring_advance(u->br, (int)n);
	u->nring = n;
	u->mshot = true;
	u->mshot_msg = (struct msghdr){ .msg_namelen = sizeof(struct sockaddr_in) };
}

int
udpio_new(struct udpio **out, struct loop *l, const struct sockaddr_in *listen,
    struct pkt_pool *pool, uint32_t recvs, struct forwarder_counters *c, udpio_rx_fn *rx,
    tx_done_fn *done, void *arg, char *err, size_t errlen)
{
	struct udpio *u = calloc(1, sizeof(*u));
	int r;

	if (u == NULL) {
		snprintf(err, errlen, "forwarder: out of memory");
		return -ENOMEM;
	}
	*u = (struct udpio){ .l = l, .pool = pool, .c = c, .rx = rx, .arg = arg,
	    .recvs = recvs, .rl = LOG_RATELIMIT_INIT(10000, 10) };
	if ((u->fd = vxlan_socket(listen, err, errlen)) < 0) {
		r = u->fd;
		free(u);
		return r;
	}
	if ((u->tx = tx_new(l, u->fd, c, done, arg)) == NULL) {
		snprintf(err, errlen, "forwarder: out of memory");
		close(u->fd);
		free(u);
		return -ENOMEM;
	}
	mshot_setup(u);
	*out = u;
	return 0;
}

void
udpio_stop(struct udpio *u)
{
	if (tx_pending(u->tx))
		tx_flush(u->tx);
	u->stopping = true;
	u->cancel_op = (struct loop_op){ .cb = loop_op_ignore, .arg = u };
	io_uring_prep_cancel_fd(loop_sqe(u->l, &u->cancel_op), u->fd, IORING_ASYNC_CANCEL_ALL);
}

void
udpio_free(struct udpio *u)
{
	if (u == NULL)
		return;
	close(u->fd);
	tx_free(u->tx);
	if (u->br) {
		io_uring_unregister_buf_ring(loop_ring(u->l), u->bgid);
		loop_bgid_put(u->l, u->bgid);
		munmap(u->br, u->nring * sizeof(struct io_uring_buf));
	}
	free(u);
}
