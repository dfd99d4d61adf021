/*
 * apiclient: see apiclient.h. A response is read whole into c->in (at most
 * WIRE_JSON_MAX bytes of payload) before it is parsed; bytes past it stay for the
 * next one.
 */
#include "common/apiclient.h"
#include "common/addr.h"
#include "common/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_MIN		(64u << 10)	/* the receive buffer's first size */
#define APICLIENT_SNDBUF	(4 << 20)

/*
 * A blocking socket's timeout gives EAGAIN (EWOULDBLOCK): said as what it is, the
 * controller did not answer in time.
 */
static int
neg_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

int
apiclient_connect(struct apiclient *c, const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
		.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	/*
	 * The kernel's timeouts on the blocking socket: each read, each send and a unix
	 * connect (which waits on a full backlog with the send timeout) returns EAGAIN
	 * once it waited that long. Fewer moving parts than poll before every call.
	 */
	if (timeout_ms > 0 &&
	    (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return -e;
	}
	/*
	 * Room for a whole import batch in the socket: with the default ~200 KB, a
	 * megabyte request crosses in many turns of both processes. The kernel caps it
	 * at net.core.wmem_max.
	 */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &(int){ APICLIENT_SNDBUF }, sizeof(int));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = neg_errno();

		close(c->fd);
		c->fd = -1;
		return e;
	}
	return 0;
}

void
apiclient_close(struct apiclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

int
apiclient_send(struct apiclient *c, const void *payload, size_t len)
{
	uint8_t hdr[WIRE_LEN_SIZE];
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (len > WIRE_JSON_MAX)
		return -EMSGSIZE;
	wire_frame_header(hdr, (uint32_t)len);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)payload, len };
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		/* Skip what went out: whole iovecs, then part of the next. */
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Read more into c->in, growing it up to one whole frame of the largest size. */
static int
fill(struct apiclient *c)
{
	ssize_t n;

	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? 2 * c->in_cap : IN_MIN;
		uint8_t *p;

		if (cap > WIRE_LEN_SIZE + WIRE_JSON_MAX)
			cap = WIRE_LEN_SIZE + WIRE_JSON_MAX;
		if (cap <= c->in_cap)	/* cannot happen: wire_frame said -EMSGSIZE first */
			return -EMSGSIZE;
		if ((p = realloc(c->in, cap)) == NULL)
			return -ENOMEM;
		c->in = p;
		c->in_cap = cap;
	}
	do
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return neg_errno();
	if (n == 0)
		return -ECONNRESET;
	c->in_len += (size_t)n;
	return 0;
}

int
apiclient_recv(struct apiclient *c, json_t **resp)
{
	const uint8_t *payload;
	json_error_t jerr;
	uint32_t plen;
	json_t *o;
	int r;

	while ((r = wire_frame(c->in, c->in_len, WIRE_JSON_MAX, &payload, &plen)) == 0)
		if ((r = fill(c)) < 0)
			return r;
	if (r < 0)
		return r;
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, &jerr);
	memmove(c->in, c->in + r, c->in_len - (size_t)r);
	c->in_len -= (size_t)r;
	if (o == NULL) {
		snprintf(c->why, sizeof(c->why), "not JSON: %s", jerr.text);
		addr_printable(c->why);
		return -EBADMSG;
	}
	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "ok"))) {
		snprintf(c->why, sizeof(c->why), "not an object with a boolean \"ok\"");
		json_decref(o);
		return -EBADMSG;
	}
	*resp = o;
	return 0;
}

int
apiclient_call(struct apiclient *c, json_t *req, json_t **resp)
{
	char *s = json_dumps(req, JSON_COMPACT);
	int r;

	if (s == NULL)
		return -ENOMEM;
	r = apiclient_send(c, s, strlen(s));
	free(s);
	return r < 0 ? r : apiclient_recv(c, resp);
}
