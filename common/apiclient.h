/*
 * apiclient: the control API's client transport with plain blocking I/O (vpcfwdctl,
 * benchmarks, tests): one unix stream socket, a request is one frame (common/wire.h:
 * a 32-bit big-endian length, then the JSON object), and so is its response. Writes
 * use MSG_NOSIGNAL: a controller that goes away is an error to report, not a SIGPIPE.
 * A timeout bounds each wait on the controller (to take the connection, to take a
 * request's bytes, to send a response's), so a controller that accepts and never
 * answers is -ETIMEDOUT, not a client blocked for good; it does not bound a whole
 * exchange, so a long response that keeps coming is read to its end.
 */
#ifndef COMMON_APICLIENT_H
#define COMMON_APICLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct apiclient {
	int fd;
	unsigned timeout_ms;	/* each wait on the controller; 0: no limit */
	uint8_t *in;		/* received, not yet parsed */
	size_t in_len, in_cap;
	char why[JSON_ERROR_TEXT_LENGTH + 48];	/* why the last response was refused */
};

/*
 * Connect to path; every wait on the controller afterwards, and connect's own (a full
 * listen backlog), gives up after timeout_ms (0: never). 0, or a negative errno:
 * -ENAMETOOLONG for a path too long for a unix socket, -ETIMEDOUT.
 */
int apiclient_connect(struct apiclient *c, const char *path, unsigned timeout_ms);
void apiclient_close(struct apiclient *c);
/*
 * Send one request frame. 0, -EMSGSIZE past WIRE_JSON_MAX, -ETIMEDOUT when the
 * controller took none of it for timeout_ms (part of the frame may be out), or the
 * socket's errno.
 */
int apiclient_send(struct apiclient *c, const void *payload, size_t len);
/*
 * Receive one response: a JSON object with a boolean "ok". 0 and *resp, -EBADMSG
 * (c->why says why), -EMSGSIZE, -ECONNRESET when the controller closed, -ETIMEDOUT
 * when it sent nothing for timeout_ms, or an errno.
 */
int apiclient_recv(struct apiclient *c, json_t **resp);
/* Send req (not consumed) and receive its response: 0 or as above. */
int apiclient_call(struct apiclient *c, json_t *req, json_t **resp);

#endif
