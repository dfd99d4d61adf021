/*
 * tx: see tx.h.
 */
#include "tx.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define TX_MAX		256		/* datagrams queued */
#define GSO_SEGS_MAX	64		/* datagrams a GSO message */
#define GSO_BYTES_MAX	60000		/* bytes a GSO message (under 64 KB with headers) */

struct tx {
	struct loop *l;
	int fd;
	struct forwarder_counters *c;
	tx_done_fn *done;
	void *arg;
	bool gso;			/* runs go as UDP_SEGMENT messages */
	struct pkt *q[TX_MAX];
	uint32_t n;
	struct mmsghdr m[TX_MAX];	/* the messages: a run each */
	struct iovec iov[TX_MAX];
	uint32_t first[TX_MAX], count[TX_MAX];
	char cm[TX_MAX][CMSG_SPACE(sizeof(uint16_t))] __attribute__((aligned(8)));
	tx_bypass_fn *bypass;
	void *bypass_arg;
	uint32_t min_run;
	struct log_ratelimit rl;
};

void
tx_set_bypass(struct tx *t, tx_bypass_fn *fn, void *arg, uint32_t min_run)
{
	t->bypass = fn;
	t->bypass_arg = arg;
	t->min_run = min_run;
}

struct tx *
tx_new(struct loop *l, int fd, struct forwarder_counters *c, tx_done_fn *done, void *arg)
{
	struct tx *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	*t = (struct tx){ .l = l, .fd = fd, .c = c, .done = done, .arg = arg, .gso = true,
	    .rl = LOG_RATELIMIT_INIT(10000, 10) };
	return t;
}

void
tx_free(struct tx *t)
{
	free(t);
}

bool
tx_pending(const struct tx *t)
{
	return t->n > 0;
}

static void
on_sent(struct loop_op *op, int res, uint32_t flags)
{
	struct pkt *p = (struct pkt *)op;
	struct tx *t = op->arg;

	(void)flags;
	if (res < 0) {
		STATS_INC(t->c, tx_errors);
		log_warnx_rl(&t->rl, "send to %s: %s", inet_ntoa(p->addr.sin_addr),
		    strerror(-res));
	}
	t->done(p, t->arg);
}

/* One datagram as an io_uring send: for what sendmmsg could not take at once. */
static void
send_async(struct tx *t, struct pkt *p)
{
	p->op = (struct loop_op){ .cb = on_sent, .arg = t };
	io_uring_prep_sendmsg(loop_sqe(t->l, &p->op), t->fd, &p->msg, 0);
}

static bool
same_run(const struct pkt *a, const struct pkt *b)
{
	return a->len == b->len && a->addr.sin_addr.s_addr == b->addr.sin_addr.s_addr &&
	    a->addr.sin_port == b->addr.sin_port;
}

/* The end of the run starting at i (a GSO message's worth at most). */
static uint32_t
run_end(const struct tx *t, uint32_t i)
{
	const struct pkt *p = t->q[i];
	uint32_t j;

	for (j = i + 1; t->gso && j < t->n && j - i < GSO_SEGS_MAX &&
	    (j - i + 1) * p->len <= GSO_BYTES_MAX && same_run(p, t->q[j]); j++)
		;
	return j;
}

/*
 * The datagrams to VTEPs without a run of min_run or more go to the bypass; the queue
 * keeps the rest, in order.
 */
static void
bypass(struct tx *t)
{
	uint32_t longs[TX_MAX], nl = 0, k = 0;
	bool l;

	for (uint32_t i = 0, j; t->min_run > 0 && i < t->n; i = j)
		if ((j = run_end(t, i)) - i >= t->min_run)
			longs[nl++] = t->q[i]->addr.sin_addr.s_addr;
	for (uint32_t i = 0; i < t->n; i++) {
		struct pkt *p = t->q[i];

		l = false;
		for (uint32_t m = 0; m < nl && !l; m++)
			l = longs[m] == p->addr.sin_addr.s_addr;
		if (l)
			STATS_INC(t->c, xdp_tx_runs);
		if (l || !t->bypass(p, t->bypass_arg))
			t->q[k++] = p;
	}
	t->n = k;
}

/* The queue as messages: a run of consecutive datagrams to one VTEP with one size each. */
static uint32_t
group(struct tx *t)
{
	uint32_t ng = 0;

	for (uint32_t i = 0, j; i < t->n; i = j) {
		struct pkt *p = t->q[i];
		struct msghdr *h = &t->m[ng].msg_hdr;
		uint16_t seg = (uint16_t)p->len;

		j = run_end(t, i);
		for (uint32_t k = i; k < j; k++)
			t->iov[k] = t->q[k]->iov;
		*h = (struct msghdr){ .msg_name = &p->addr, .msg_namelen = sizeof(p->addr),
		    .msg_iov = &t->iov[i], .msg_iovlen = j - i };
		if (j - i > 1) {
			struct cmsghdr *cm = (struct cmsghdr *)t->cm[ng];

			h->msg_control = cm;
			h->msg_controllen = CMSG_SPACE(sizeof(seg));
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
			STATS_INC(t->c, tx_gso);
		}
		t->first[ng] = i;
		t->count[ng++] = j - i;
	}
	return ng;
}

/* Message g's datagrams: done with (sent, or failed), or handed to io_uring. */
static void
finish_msg(struct tx *t, uint32_t g, bool async)
{
	for (uint32_t k = 0; k < t->count[g]; k++) {
		struct pkt *p = t->q[t->first[g] + k];

		if (async)
			send_async(t, p);
		else
			t->done(p, t->arg);
	}
}

void
tx_flush(struct tx *t)
{
	uint32_t g = 0, ng;
	int r;

	if (t->bypass)
		bypass(t);
	ng = group(t);

	while (g < ng) {
		r = sendmmsg(t->fd, t->m + g, ng - g, MSG_DONTWAIT);
		if (r > 0) {
			for (uint32_t e = g + (uint32_t)r; g < e; g++)
				finish_msg(t, g, false);
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			while (g < ng)
				finish_msg(t, g++, true);
		} else if (t->count[g] > 1 && (errno == EIO || errno == EINVAL ||
		    errno == EOPNOTSUPP)) {
			/* No UDP GSO here: this run one by one, and no more runs. */
			log_info("UDP GSO refused (%s): one datagram a message", strerror(errno));
			t->gso = false;
			finish_msg(t, g++, true);
		} else {
			/* This one failed (no route, ...): count it, send the rest. */
			STATS_ADD(t->c, tx_errors, t->count[g]);
			log_warnx_rl(&t->rl, "send to %s: %s",
			    inet_ntoa(t->q[t->first[g]]->addr.sin_addr), strerror(errno));
			finish_msg(t, g++, false);
		}
	}
	t->n = 0;
}

void
tx_add(struct tx *t, struct pkt *p, uint32_t ip, uint16_t port)
{
	if (t->n == TX_MAX)
		tx_flush(t);
	p->addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(ip) };
	p->iov = (struct iovec){ p->buf + p->off, p->len };
	p->msg = (struct msghdr){ .msg_name = &p->addr, .msg_namelen = sizeof(p->addr),
	    .msg_iov = &p->iov, .msg_iovlen = 1 };
	t->q[t->n++] = p;
	STATS_ADD(t->c, tx_bytes, p->len);
}
