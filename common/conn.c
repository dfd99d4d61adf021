/*
 * conn: see conn.h. Invariants:
 * - A conn is freed only from the completion of its last operation in flight, and only
 *   in state CLOSING. Closing always submits a cancel that is itself counted, so
 *   `closed` is never called from inside conn_close() or a callback of the same conn,
 *   and a callback may close or send on its conn: the conn outlives the callback.
 * - The fd stays open until the conn is freed, so the fd number cannot be reused while
 *   an operation (or the cancel that matches by fd) still refers to it.
 * - The kernel reads the bytes of a send in flight until it completes: they are never
 *   moved or freed before that. A buffer replaced meanwhile is kept in out_old.
 * - After conn_close(), the only callback the owner gets is `closed`.
 * - TLS: the kernel receives into and sends from the TLS wire rings, never from in or
 *   out, so out is never pinned; plaintext is encrypted only while no send is in flight,
 *   so a burst of frames leaves as full records. The plaintext path pays one branch.
 */
#include "common/conn.h"
#include "common/log.h"
#include "common/net.h"
#include "common/tls.h"
#include "common/wire.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONN_IN_INIT	(16u << 10)	/* first input buffer */
#define CONN_IN_KEEP	(256u << 10)	/* larger input buffers are shrunk when empty */
#define CONN_OUT_INIT	(16u << 10)
#define CONN_OUT_KEEP	(256u << 10)	/* larger output buffers are freed when empty */
#define CONN_SEND_MAX	(1u << 30)	/* one send's length fits cqe->res */
#define CONN_FRAME_MAX	(1u << 30)	/* frame_max the input buffer can hold */
/*
 * After a flush, the write side is shut and the input read and dropped until the peer
 * ends its side or this long has passed: closing with unread input makes TCP send a
 * reset, which can destroy what was flushed before the peer read it.
 */
#define CONN_LINGER_NS	(2000ull * 1000 * 1000)
#define LISTENER_RETRY_NS	(100ull * 1000 * 1000)	/* after EMFILE and the like */
#define LISTENER_BROKEN_NS	(1000ull * 1000 * 1000)	/* after any other error */

enum conn_state {
	CONN_CONNECTING,	/* connect in flight */
	CONN_OPEN,
	CONN_FLUSHING,		/* conn_close(flush): sending what is queued; input dropped */
	CONN_LINGERING,		/* all sent, write side shut: waiting for the peer's end */
	CONN_CLOSING,		/* cancel submitted; freed when nothing is in flight */
};

struct conn {
	struct loop *l;
	const struct conn_ops *ops;
	void *arg;
	struct conn_params p;
	int fd;
	enum conn_state state;
	int err;		/* for `closed` */
	bool recv_busy;
	bool send_busy;
	bool connect_busy;
	bool cancel_busy;
	bool eof;		/* the peer ended its side: no more receives */
	bool above_low;		/* pending rose above out_low since the last `writable` */

	/* input: [in_off, in_len) received and not parsed; receives go to [in_len, in_cap) */
	uint8_t *in;
	size_t in_cap;
	size_t in_off;
	size_t in_len;

	/*
	 * output: [out_off, out_len) queued and not sent; a send in flight covers
	 * [out_off, out_off + send_len) of it, read from out_old when that is set.
	 */
	uint8_t *out;
	uint8_t *out_old;
	size_t out_cap;
	size_t out_off;
	size_t out_len;
	size_t send_len;
	size_t reserved;	/* by conn_reserve, until conn_commit */

	struct loop_op recv_op;
	struct loop_op send_op;
	struct loop_op connect_op;
	struct loop_op cancel_op;
	struct loop_timer linger;
	struct sockaddr_storage sa;	/* the kernel reads it when the connect is submitted */

	struct tls *tls;	/* NULL: plaintext */
	bool tls_connect;	/* `connected` is owed once the handshake is done */
	bool tls_shut;		/* close_notify queued */
	int tls_err;		/* the handshake failed: `closed` gets this */
};

struct listener {
	struct loop *l;
	int fd;
	void (*accept_fn)(struct listener *ls, int fd, void *arg);
	void *arg;
	bool accept_busy;
	bool cancel_busy;
	bool freeing;
	struct loop_op accept_op;
	struct loop_op cancel_op;
	struct loop_timer retry;
	struct log_ratelimit rl;
};

static void conn_recv_done(struct loop_op *op, int res, uint32_t flags);
static void conn_send_done(struct loop_op *op, int res, uint32_t flags);
static void conn_connect_done(struct loop_op *op, int res, uint32_t flags);
static void conn_cancel_done(struct loop_op *op, int res, uint32_t flags);
static void conn_linger_expired(struct loop_timer *t);
static void conn_tls_kick(struct conn *c);

static struct log_ratelimit conn_tls_rl = LOG_RATELIMIT_INIT(10000, 10);

static size_t
conn_pending_(const struct conn *c)
{
	return c->out_len - c->out_off;
}

static bool
conn_idle(const struct conn *c)
{
	return !c->recv_busy && !c->send_busy && !c->connect_busy && !c->cancel_busy;
}

/*
 * Called at the end of every completion: frees a closing conn with nothing left in
 * flight. The caller must not touch c afterwards.
 */
static void
conn_reap(struct conn *c)
{
	if (c->state != CONN_CLOSING || !conn_idle(c))
		return;
	loop_timer_cancel(c->l, &c->linger);
	c->ops->closed(c, c->tls_err != 0 ? c->tls_err : c->err);
	close(c->fd);
	tls_free(c->tls);
	free(c->in);
	free(c->out);
	free(c->out_old);
	free(c);
}

/* Stop everything: cancel what is in flight; `closed` follows from a completion. */
static void
conn_abort(struct conn *c, int err)
{
	struct io_uring_sqe *sqe;

	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	c->err = err;
	loop_timer_cancel(c->l, &c->linger);
	sqe = loop_sqe(c->l, &c->cancel_op);
	io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
	c->cancel_busy = true;
}

static void
conn_recv(struct conn *c)
{
	struct io_uring_sqe *sqe;
	uint8_t *buf = c->in + c->in_len;
	size_t len = c->in_cap - c->in_len;

	assert(!c->recv_busy && c->in_len < c->in_cap);
	/* The TLS ring is drained by every input: full, it is a bug or a stuck peer. */
	if (c->tls != NULL && (len = tls_wire_in(c->tls, &buf)) == 0) {
		conn_abort(c, -ENOBUFS);
		return;
	}
	sqe = loop_sqe(c->l, &c->recv_op);
	io_uring_prep_recv(sqe, c->fd, buf, len, 0);
	c->recv_busy = true;
}

static void
conn_send_kick(struct conn *c)
{
	struct io_uring_sqe *sqe;
	size_t n = conn_pending_(c);

	if (c->tls != NULL) {
		conn_tls_kick(c);
		return;
	}
	if (c->send_busy || n == 0 || c->connect_busy ||
	    (c->state != CONN_OPEN && c->state != CONN_FLUSHING))
		return;
	if (n > CONN_SEND_MAX)
		n = CONN_SEND_MAX;
	sqe = loop_sqe(c->l, &c->send_op);
	io_uring_prep_send(sqe, c->fd, c->out + c->out_off, n, MSG_NOSIGNAL);
	c->send_len = n;
	c->send_busy = true;
}

/* Everything queued was handed to the kernel after conn_close(flush). */
static void
conn_linger(struct conn *c)
{
	/* TLS: the close_notify first, so the peer knows the end is no truncation. */
	if (c->tls != NULL && !c->tls_shut && c->tls_err == 0 && tls_ready(c->tls)) {
		c->tls_shut = true;
		tls_shutdown(c->tls);
		conn_send_kick(c);
		return;
	}
	c->state = CONN_LINGERING;
	if (shutdown(c->fd, SHUT_WR) == -1) {
		conn_abort(c, -errno);
		return;
	}
	if (c->eof) {
		conn_abort(c, 0);
		return;
	}
	loop_timer_set(c->l, &c->linger, CONN_LINGER_NS);
}

static void
conn_linger_expired(struct loop_timer *t)
{
	conn_abort(t->arg, 0);
}

/*
 * Make room after parsing: move a partial frame to the front and, once its length is
 * known, grow the buffer to hold it whole. 0, or -ENOMEM.
 */
static int
conn_in_room(struct conn *c)
{
	size_t left = c->in_len - c->in_off, need;
	uint8_t *nb;

	if (left == 0) {
		c->in_off = c->in_len = 0;
		if (c->in_cap > CONN_IN_KEEP) {
			size_t cap = c->p.frame_max + WIRE_LEN_SIZE;

			if (cap > CONN_IN_INIT)
				cap = CONN_IN_INIT;
			if ((nb = realloc(c->in, cap)) != NULL) {
				c->in = nb;
				c->in_cap = cap;
			}
		}
		return 0;
	}
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, left);
		c->in_off = 0;
		c->in_len = left;
	}
	if (left < WIRE_LEN_SIZE)
		return 0;
	/* wire_frame() refused a length above frame_max, so need <= frame_max + 4. */
	need = WIRE_LEN_SIZE + ((size_t)c->in[0] << 24 | (size_t)c->in[1] << 16 |
	    (size_t)c->in[2] << 8 | c->in[3]);
	assert(need <= c->p.frame_max + WIRE_LEN_SIZE && need > left);
	if (need <= c->in_cap)
		return 0;
	if ((nb = realloc(c->in, need)) == NULL)
		return -ENOMEM;
	c->in = nb;
	c->in_cap = need;
	return 0;
}

static void
conn_parse(struct conn *c)
{
	const uint8_t *payload;
	uint32_t plen;
	int r;

	while (c->state == CONN_OPEN) {
		r = wire_frame(c->in + c->in_off, c->in_len - c->in_off, c->p.frame_max,
		    &payload, &plen);
		if (r == 0)
			break;
		if (r < 0) {
			conn_abort(c, r);
			break;
		}
		c->in_off += (size_t)r;
		if (c->ops->frame(c, payload, plen) != 0)
			conn_abort(c, -EPROTO);
	}
}

/* Encrypt what is queued, as far as the wire ring takes it. */
static void
conn_tls_encrypt(struct conn *c)
{
	size_t n = conn_pending_(c);

	if (n == 0 || c->tls_shut || c->tls_err != 0 || !tls_ready(c->tls) ||
	    (c->state != CONN_OPEN && c->state != CONN_FLUSHING))
		return;
	c->out_off += tls_write(c->tls, c->out + c->out_off, n);
	if (c->out_off == c->out_len && c->reserved == 0) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > CONN_OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
}

/* conn_send_kick with TLS: encrypt, send the ring's ciphertext, linger when all went. */
static void
conn_tls_kick(struct conn *c)
{
	struct io_uring_sqe *sqe;
	const uint8_t *p;
	size_t n;

	if (c->send_busy || c->connect_busy ||
	    (c->state != CONN_OPEN && c->state != CONN_FLUSHING))
		return;
	conn_tls_encrypt(c);
	if ((n = tls_wire_out(c->tls, &p)) > 0) {
		if (n > CONN_SEND_MAX)
			n = CONN_SEND_MAX;
		sqe = loop_sqe(c->l, &c->send_op);
		io_uring_prep_send(sqe, c->fd, p, n, MSG_NOSIGNAL);
		c->send_len = n;
		c->send_busy = true;
		return;
	}
	/* A failed handshake's queued plaintext is dropped: only its alert leaves. */
	if (c->state == CONN_FLUSHING && (conn_pending_(c) == 0 || c->tls_err != 0))
		conn_linger(c);
}

/* The output fell to out_low after being above it: the owner may queue more. */
static void
conn_writable(struct conn *c)
{
	if (c->above_low && conn_pending_(c) <= c->p.out_low) {
		c->above_low = false;
		if (c->ops->writable != NULL)
			c->ops->writable(c);
	}
}

static void
conn_tls_sent(struct conn *c, size_t n)
{
	tls_wire_sent(c->tls, n);
	if (c->state == CONN_OPEN) {
		/* writable sees what is left once the ring took its share. */
		conn_tls_encrypt(c);
		conn_writable(c);
	}
	conn_send_kick(c);
}

/*
 * The handshake failed: log why, tell a connecting owner, and send the peer its alert
 * (a flush); `closed` then carries err.
 */
static void
conn_tls_fail(struct conn *c, int err)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char ep[NET_ENDPOINT_STRLEN] = "?";

	if (getpeername(c->fd, (struct sockaddr *)&sin, &len) == 0 && sin.sin_family == AF_INET)
		net_endpoint_format(&sin, ep);
	log_warnx_rl(&conn_tls_rl, "TLS with %s refused: %s", ep, tls_error(c->tls));
	c->tls_err = err;
	if (c->tls_connect) {
		c->tls_connect = false;
		if (c->ops->connected != NULL)
			c->ops->connected(c, err);
	}
	if (c->state != CONN_OPEN && c->state != CONN_FLUSHING)
		return;
	c->state = CONN_FLUSHING;
	conn_send_kick(c);
}

/* The TCP connect of a TLS conn is done: start the handshake. */
static void
conn_tls_connected(struct conn *c, bool tell)
{
	int r;

	/* Closed with flush while connecting: flushed once the handshake is done. */
	if (c->state == CONN_CONNECTING)
		c->state = CONN_OPEN;
	c->tls_connect = tell;
	conn_recv(c);
	if ((r = tls_handshake(c->tls)) < 0)	/* writes the ClientHello */
		conn_tls_fail(c, r);
	else
		conn_send_kick(c);
}

/*
 * n bytes of ciphertext arrived: advance the handshake, then decrypt into the input
 * buffer and parse frames as the plaintext path does, until the session has no more.
 */
static void
conn_tls_input(struct conn *c, size_t n)
{
	ssize_t got;
	int r;

	if (c->tls_err != 0) {
		conn_abort(c, 0);	/* the alert went: anything the peer says ends it */
		return;
	}
	tls_wire_received(c->tls, n);
	if (!tls_ready(c->tls)) {
		if ((r = tls_handshake(c->tls)) < 0) {
			conn_tls_fail(c, r);
			if (c->state != CONN_CLOSING && !c->recv_busy)
				conn_recv(c);
			return;
		}
		if (r == 1 && c->tls_connect) {
			c->tls_connect = false;
			if (c->ops->connected != NULL)
				c->ops->connected(c, 0);
			if (c->state == CONN_CLOSING)
				return;
		}
	}
	while (tls_ready(c->tls)) {
		got = tls_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
		if (got == 0)
			break;
		if (got == -EPIPE) {
			/* close_notify: the peer's orderly end, like a FIN. */
			c->eof = true;
			if (c->state != CONN_FLUSHING)
				conn_abort(c, 0);
			return;
		}
		if (got < 0) {
			log_warnx_rl(&conn_tls_rl, "TLS stream on fd %d: %s", c->fd,
			    tls_error(c->tls));
			conn_abort(c, (int)got);
			return;
		}
		c->in_len += (size_t)got;
		conn_parse(c);
		if (c->state == CONN_CLOSING)
			return;
		if (c->state != CONN_OPEN)
			c->in_off = c->in_len = 0;
		if ((r = conn_in_room(c)) < 0) {
			conn_abort(c, r);
			return;
		}
	}
	conn_send_kick(c);	/* handshake messages, or what waited for the handshake */
	if (c->state != CONN_CLOSING)
		conn_recv(c);
}

static void
conn_recv_done(struct loop_op *op, int res, uint32_t flags)
{
	struct conn *c = op->arg;
	int r;

	(void)flags;
	c->recv_busy = false;
	if (c->state == CONN_CLOSING) {
		conn_reap(c);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		conn_recv(c);
		return;
	}
	if (res < 0) {
		conn_abort(c, res);
		return;
	}
	if (res == 0) {
		c->eof = true;
		/* While flushing, the peer may have shut only its write side: go on. */
		if (c->state != CONN_FLUSHING)
			conn_abort(c, 0);
		return;
	}
	if (c->tls != NULL) {
		conn_tls_input(c, (size_t)res);
		return;
	}
	c->in_len += (size_t)res;
	conn_parse(c);
	if (c->state == CONN_CLOSING)
		return;
	if (c->state != CONN_OPEN)
		c->in_off = c->in_len = 0;
	if ((r = conn_in_room(c)) < 0) {
		conn_abort(c, r);
		return;
	}
	conn_recv(c);
}

static void
conn_send_done(struct loop_op *op, int res, uint32_t flags)
{
	struct conn *c = op->arg;

	(void)flags;
	c->send_busy = false;
	free(c->out_old);
	c->out_old = NULL;
	if (c->state == CONN_CLOSING) {
		conn_reap(c);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		conn_send_kick(c);
		return;
	}
	if (res <= 0) {
		/* A stream send of at least one byte never returns 0. */
		conn_abort(c, res < 0 ? res : -EIO);
		return;
	}
	assert((size_t)res <= c->send_len);
	if (c->tls != NULL) {
		conn_tls_sent(c, (size_t)res);
		return;
	}
	c->out_off += (size_t)res;
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > CONN_OUT_KEEP && c->reserved == 0) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	if (c->state == CONN_FLUSHING) {
		if (conn_pending_(c) == 0)
			conn_linger(c);
		else
			conn_send_kick(c);
		return;
	}
	/* writable first, so that what it queues leaves in the same send. */
	conn_writable(c);
	conn_send_kick(c);
}

static void
conn_connect_done(struct loop_op *op, int res, uint32_t flags)
{
	struct conn *c = op->arg;
	bool tell = c->state == CONN_CONNECTING;

	(void)flags;
	c->connect_busy = false;
	if (c->state == CONN_CLOSING) {
		conn_reap(c);
		return;
	}
	if (res < 0) {
		/* Closing first: whatever `connected` does, `closed` carries res. */
		conn_abort(c, res);
		if (tell && c->ops->connected != NULL)
			c->ops->connected(c, res);
		return;
	}
	if (c->tls != NULL) {
		conn_tls_connected(c, tell);
		return;
	}
	conn_recv(c);
	if (c->state == CONN_FLUSHING) {
		if (conn_pending_(c) == 0)
			conn_linger(c);
		else
			conn_send_kick(c);
		return;
	}
	c->state = CONN_OPEN;
	if (c->ops->connected != NULL)
		c->ops->connected(c, 0);
	conn_send_kick(c);
}

static void
conn_cancel_done(struct loop_op *op, int res, uint32_t flags)
{
	struct conn *c = op->arg;

	(void)res;	/* what it cancelled completes on its own, -ECANCELED or not */
	(void)flags;
	c->cancel_busy = false;
	conn_reap(c);
}

static void
conn_nodelay(int fd)
{
	socklen_t len;
	int proto, one = 1;

	len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == -1 ||
	    proto != IPPROTO_TCP)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("conn: TCP_NODELAY");
}

static struct conn *
conn_alloc(struct loop *l, int fd, const struct conn_params *p, const struct conn_ops *ops,
    void *arg)
{
	struct conn *c;

	assert(ops->frame != NULL && ops->closed != NULL);
	assert(p->frame_max <= CONN_FRAME_MAX && p->out_max > 0 && p->out_low <= p->out_max);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->in_cap = p->frame_max + WIRE_LEN_SIZE;
	if (c->in_cap > CONN_IN_INIT)
		c->in_cap = CONN_IN_INIT;
	if ((c->in = malloc(c->in_cap)) == NULL) {
		free(c);
		return NULL;
	}
	if (p->tls != NULL && (c->tls = tls_new(p->tls)) == NULL) {
		free(c->in);
		free(c);
		return NULL;
	}
	c->l = l;
	c->fd = fd;
	c->p = *p;
	c->ops = ops;
	c->arg = arg;
	c->recv_op = (struct loop_op){ .cb = conn_recv_done, .arg = c };
	c->send_op = (struct loop_op){ .cb = conn_send_done, .arg = c };
	c->connect_op = (struct loop_op){ .cb = conn_connect_done, .arg = c };
	c->cancel_op = (struct loop_op){ .cb = conn_cancel_done, .arg = c };
	c->linger.fn = conn_linger_expired;
	c->linger.arg = c;
	return c;
}

struct conn *
conn_new(struct loop *l, int fd, const struct conn_params *p, const struct conn_ops *ops,
    void *arg)
{
	struct conn *c;

	if ((c = conn_alloc(l, fd, p, ops, arg)) == NULL)
		return NULL;
	conn_nodelay(fd);
	c->state = CONN_OPEN;
	conn_recv(c);
	return c;
}

struct conn *
conn_connect(struct loop *l, const struct sockaddr *sa, socklen_t salen,
    const struct conn_params *p, const struct conn_ops *ops, void *arg)
{
	struct io_uring_sqe *sqe;
	struct conn *c;
	int fd;

	if (salen > sizeof(c->sa)) {
		errno = EINVAL;
		return NULL;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return NULL;
	if ((c = conn_alloc(l, fd, p, ops, arg)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	conn_nodelay(fd);
	memcpy(&c->sa, sa, salen);
	c->state = CONN_CONNECTING;
	sqe = loop_sqe(l, &c->connect_op);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&c->sa, salen);
	c->connect_busy = true;
	return c;
}

/*
 * Room for len more bytes at out_len without moving bytes a send in flight reads.
 * 0, -ENOBUFS past out_max, -EPIPE once closed, or -ENOMEM.
 */
static int
conn_out_room(struct conn *c, size_t len)
{
	size_t pending = conn_pending_(c), need, cap;
	/* the kernel reads out (never with TLS: it sends from the wire ring) */
	bool pinned = c->tls == NULL && c->send_busy && c->out_old == NULL;
	uint8_t *nb;

	if (c->state != CONN_OPEN && c->state != CONN_CONNECTING)
		return -EPIPE;
	assert(c->reserved == 0);
	if (len > c->p.out_max - pending)
		return -ENOBUFS;
	if (c->out_cap - c->out_len >= len)
		return 0;
	need = pending + len;
	if (!pinned && c->out_cap >= need) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
		return 0;
	}
	cap = c->out_cap > 0 ? c->out_cap : CONN_OUT_INIT;
	while (cap < need)
		cap *= 2;
	if (cap > c->p.out_max)
		cap = c->p.out_max;
	if (cap < need)
		cap = need;
	if ((nb = malloc(cap)) == NULL)
		return -ENOMEM;
	if (pending > 0)
		memcpy(nb, c->out + c->out_off, pending);
	if (pinned)
		c->out_old = c->out;
	else
		free(c->out);
	c->out = nb;
	c->out_cap = cap;
	c->out_off = 0;
	c->out_len = pending;
	return 0;
}

static void
conn_queued(struct conn *c)
{
	if (conn_pending_(c) > c->p.out_low)
		c->above_low = true;
	conn_send_kick(c);
}

int
conn_send(struct conn *c, const void *data, size_t len)
{
	int r;

	if ((r = conn_out_room(c, len)) < 0)
		return r;
	if (len == 0)
		return 0;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	conn_queued(c);
	return 0;
}

int
conn_send_frame(struct conn *c, const void *payload, uint32_t len)
{
	int r;

	if ((r = conn_out_room(c, WIRE_LEN_SIZE + (size_t)len)) < 0)
		return r;
	wire_frame_header(c->out + c->out_len, len);
	if (len > 0)
		memcpy(c->out + c->out_len + WIRE_LEN_SIZE, payload, len);
	c->out_len += WIRE_LEN_SIZE + (size_t)len;
	conn_queued(c);
	return 0;
}

uint8_t *
conn_reserve(struct conn *c, size_t len)
{
	if (conn_out_room(c, len) < 0)
		return NULL;
	c->reserved = len;
	return c->out + c->out_len;
}

void
conn_commit(struct conn *c, size_t used)
{
	assert(used <= c->reserved);
	c->reserved = 0;
	c->out_len += used;
	conn_queued(c);
}

size_t
conn_pending(const struct conn *c)
{
	return conn_pending_(c);
}

void
conn_close(struct conn *c, bool flush)
{
	switch (c->state) {
	case CONN_CLOSING:
		return;
	case CONN_CONNECTING:
		/* A flush waits for the connect (conn_connect_done goes on). */
		if (flush)
			c->state = CONN_FLUSHING;
		else
			conn_abort(c, 0);
		return;
	case CONN_OPEN:
		if (!flush) {
			conn_abort(c, 0);
			return;
		}
		c->state = CONN_FLUSHING;
		if (c->tls != NULL)
			conn_send_kick(c);	/* after the handshake: encrypt, send, linger */
		/* From `writable`, pending may be non-zero with no send in flight. */
		else if (conn_pending_(c) == 0 && !c->send_busy)
			conn_linger(c);
		else
			conn_send_kick(c);
		return;
	case CONN_FLUSHING:
	case CONN_LINGERING:
		/* A second close without flush cuts a flush short. */
		if (!flush)
			conn_abort(c, 0);
		return;
	}
}

void *
conn_arg(const struct conn *c)
{
	return c->arg;
}

void
conn_set_arg(struct conn *c, void *arg)
{
	c->arg = arg;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

const char *
conn_peer(const struct conn *c)
{
	if (c->tls == NULL || !tls_ready(c->tls))
		return NULL;
	return tls_peer(c->tls);
}

static void
listener_reap(struct listener *ls)
{
	if (!ls->freeing || ls->accept_busy || ls->cancel_busy)
		return;
	loop_timer_cancel(ls->l, &ls->retry);
	close(ls->fd);
	free(ls);
}

static void
listener_arm(struct listener *ls)
{
	struct io_uring_sqe *sqe;

	sqe = loop_sqe(ls->l, &ls->accept_op);
	io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL, SOCK_CLOEXEC);
	ls->accept_busy = true;
}

static void
listener_retry(struct loop_timer *t)
{
	struct listener *ls = t->arg;

	if (!ls->freeing && !ls->accept_busy)
		listener_arm(ls);
}

static void
listener_accept_done(struct loop_op *op, int res, uint32_t flags)
{
	struct listener *ls = op->arg;
	uint64_t delay;

	if (!(flags & IORING_CQE_F_MORE))
		ls->accept_busy = false;
	if (ls->freeing) {
		if (res >= 0)
			close(res);
		listener_reap(ls);
		return;
	}
	if (res >= 0) {
		/* accept_fn may free ls: the cancel then keeps it alive until below. */
		ls->accept_fn(ls, res, ls->arg);
		if (!ls->freeing && !ls->accept_busy)
			listener_arm(ls);
		return;
	}
	switch (res) {
	case -EINTR:
	case -EAGAIN:
		delay = 0;
		break;
	case -EMFILE:
	case -ENFILE:
	case -ENOBUFS:
	case -ENOMEM:
	case -ECONNABORTED:
		delay = LISTENER_RETRY_NS;
		break;
	default:
		delay = LISTENER_BROKEN_NS;
		break;
	}
	if (delay > 0)
		log_warnx_rl(&ls->rl, "listener: accept on fd %d: %s", ls->fd, strerror(-res));
	if (ls->accept_busy)
		return;
	if (delay == 0)
		listener_arm(ls);
	else
		loop_timer_set(ls->l, &ls->retry, delay);
}

static void
listener_cancel_done(struct loop_op *op, int res, uint32_t flags)
{
	struct listener *ls = op->arg;

	(void)res;
	(void)flags;
	ls->cancel_busy = false;
	listener_reap(ls);
}

struct listener *
listener_new(struct loop *l, int fd,
    void (*accept_fn)(struct listener *ls, int fd, void *arg), void *arg)
{
	struct listener *ls;

	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return NULL;
	ls->l = l;
	ls->fd = fd;
	ls->accept_fn = accept_fn;
	ls->arg = arg;
	ls->accept_op = (struct loop_op){ .cb = listener_accept_done, .arg = ls };
	ls->cancel_op = (struct loop_op){ .cb = listener_cancel_done, .arg = ls };
	ls->retry.fn = listener_retry;
	ls->retry.arg = ls;
	ls->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	listener_arm(ls);
	return ls;
}

void
listener_free(struct listener *ls)
{
	struct io_uring_sqe *sqe;

	if (ls == NULL || ls->freeing)
		return;
	ls->freeing = true;
	loop_timer_cancel(ls->l, &ls->retry);
	/* Always a cancel, even with no accept armed: ls is freed from its completion. */
	sqe = loop_sqe(ls->l, &ls->cancel_op);
	io_uring_prep_cancel(sqe, &ls->accept_op, IORING_ASYNC_CANCEL_ALL);
	ls->cancel_busy = true;
}
