/*
 * vpcfwdctl client: the control API's transport with plain blocking I/O. One unix
 * stream socket; a request is one frame (common/wire.h: a 32-bit big-endian length,
 * then the JSON object), and so is its response. A response is read whole into c->in
 * (at most WIRE_JSON_MAX bytes of payload) before it is parsed; bytes past it stay for
 * the next one. Writes use MSG_NOSIGNAL: a controller that goes away is an error to
 * report, not a SIGPIPE; stdout keeps the default, so `vpcfwdctl vm list | head` ends
 * quietly.
 */
#include "tools/vpcfwdctl/ctl.h"

#include "common/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_MIN		(64u << 10)	/* the receive buffer's first size */

/* Why the last response was refused (client_recv's *why). */
static char bad_why[JSON_ERROR_TEXT_LENGTH + 16];

void
client_connect(struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[128];

	ctl_oneline(path, sizeof(path), c->socket);
	if (strlen(c->socket) >= sizeof(sa.sun_path))
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s: the path is longer than "
		    "%zu bytes", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, c->socket, strlen(c->socket) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s: socket: %s", path,
		    strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s: %s", path, strerror(errno));
}

void
client_close(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

int
client_send(struct ctl *c, const void *payload, size_t len)
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
			return -errno;
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
fill(struct ctl *c)
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
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	c->in_len += (size_t)n;
	return 0;
}

int
client_recv(struct ctl *c, json_t **resp, const char **why)
{
	const uint8_t *payload;
	json_error_t jerr;
	uint32_t plen;
	json_t *o;
	int r;

	*why = bad_why;
	while ((r = wire_frame(c->in, c->in_len, WIRE_JSON_MAX, &payload, &plen)) == 0)
		if ((r = fill(c)) < 0)
			return r;
	if (r < 0)
		return r;
	o = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, &jerr);
	memmove(c->in, c->in + r, c->in_len - (size_t)r);
	c->in_len -= (size_t)r;
	if (o == NULL) {
		snprintf(bad_why, sizeof(bad_why), "not JSON: %s", jerr.text);
		return -EBADMSG;
	}
	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "ok"))) {
		snprintf(bad_why, sizeof(bad_why), "not an object with a boolean \"ok\"");
		json_decref(o);
		return -EBADMSG;
	}
	*resp = o;
	return 0;
}

const char *
client_error(json_t *resp, char *buf, size_t len)
{
	const char *e = json_string_value(json_object_get(resp, "error"));

	if (e == NULL || e[0] == '\0')
		e = "the controller refused the request and gave no reason";
	return ctl_oneline(buf, len, e);
}

/* The connection failed with r after it was made: exit 3. */
static void __attribute__((noreturn))
lost(const struct ctl *c, int r)
{
	char path[128];

	ctl_fail(CTL_EXIT_UNREACHABLE, "lost the connection to %s: %s",
	    ctl_oneline(path, sizeof(path), c->socket),
	    r == -ECONNRESET ? "closed by the controller" : strerror(-r));
}

json_t *
client_call(struct ctl *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	char msg[1024];
	const char *why;
	json_t *resp;
	int r;

	json_decref(req);
	if (s == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	if (c->fd < 0)
		client_connect(c);
	r = client_send(c, s, strlen(s));
	free(s);
	if (r == -EMSGSIZE)
		ctl_fail(CTL_EXIT_ERROR, "the request is larger than the API's %u bytes",
		    WIRE_JSON_MAX);
	if (r < 0)
		lost(c, r);
	if ((r = client_recv(c, &resp, &why)) == -EBADMSG)
		ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: %s", why);
	if (r == -EMSGSIZE)
		ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: larger than the "
		    "API's %u bytes", WIRE_JSON_MAX);
	if (r < 0)
		lost(c, r);
	if (!json_is_true(json_object_get(resp, "ok")))
		ctl_fail(CTL_EXIT_ERROR, "%s", client_error(resp, msg, sizeof(msg)));
	return resp;
}
