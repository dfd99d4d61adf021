/*
 * vpcfwdctl client: the control API (common/apiclient.h) with the tool's way of
 * failing: a refused request or a lost controller ends the run with one line and the
 * exit status of docs/cli.md. stdout keeps the default SIGPIPE, so
 * `vpcfwdctl vm list | head` ends quietly.
 */
#include "tools/vpcfwdctl/ctl.h"

#include "common/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void
client_sockets(struct ctl *c)
{
	const char *p = c->socket, *comma;

	c->nsockets = 0;
	c->cur = 0;
	do {
		size_t n;

		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0)
			ctl_usage_fail(c, "-s needs socket paths: an empty one in '%s'",
			    c->socket);
		if (c->nsockets == CTL_SOCKETS_MAX)
			ctl_usage_fail(c, "-s takes at most %d sockets", CTL_SOCKETS_MAX);
		if ((c->sockets[c->nsockets++] = strndup(p, n)) == NULL)
			ctl_fail(CTL_EXIT_ERROR, "out of memory");
		p = comma + 1;
	} while (comma);
}

/* Why connecting to path failed with r, as the words after "path: ". */
static const char *
connect_why(const struct ctl *c, int r, char *buf, size_t len)
{
	if (r == -ENAMETOOLONG)
		snprintf(buf, len, "the path is too long for a unix socket");
	else if (r == -ETIMEDOUT)	/* its listen backlog stayed full */
		snprintf(buf, len, "did not take the connection within %u s", c->timeout_s);
	else
		snprintf(buf, len, "%s", strerror(-r));
	return buf;
}

void
client_connect(struct ctl *c)
{
	char path[128], why[96], all[1024];
	size_t n = 0;
	int r = 0;

	snprintf(all, sizeof(all), "%s", c->moved);
	n = strlen(all);
	for (; c->cur < c->nsockets; c->cur++) {
		ctl_oneline(path, sizeof(path), c->sockets[c->cur]);
		if ((r = apiclient_connect(&c->api, c->sockets[c->cur], c->timeout_s * 1000)) == 0)
			return;
		if (n < sizeof(all))
			n += (size_t)snprintf(all + n, sizeof(all) - n, "%s%s: %s", n ? "; " : "",
			    path, connect_why(c, r, why, sizeof(why)));
	}
	if (c->nsockets == 1 && r == -ETIMEDOUT)
		ctl_fail(CTL_EXIT_UNREACHABLE, "the controller at %s did not take the "
		    "connection within %u s", path, c->timeout_s);
	if (c->nsockets == 1)
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s", all);
	ctl_fail(CTL_EXIT_UNREACHABLE, "no controller of the %d could be reached: %s",
	    c->nsockets, all);
}

/*
 * The connection broke (r): leave this controller for the next of the list. False
 * when it was the last.
 */
static bool
client_next(struct ctl *c, int r)
{
	char why[256];
	size_t n = strlen(c->moved);

	if (c->cur + 1 >= c->nsockets)
		return false;
	client_lost(c, r, why, sizeof(why));
	snprintf(c->moved + n, sizeof(c->moved) - n, "%s%s", n ? "; " : "", why);
	apiclient_close(&c->api);
	c->cur++;
	return true;
}

void
client_close(struct ctl *c)
{
	apiclient_close(&c->api);
}

int
client_send(struct ctl *c, const void *payload, size_t len)
{
	return apiclient_send(&c->api, payload, len);
}

int
client_recv(struct ctl *c, json_t **resp, const char **why)
{
	*why = c->api.why;
	return apiclient_recv(&c->api, resp);
}

const char *
client_error(json_t *resp, char *buf, size_t len)
{
	const char *e = json_string_value(json_object_get(resp, "error"));

	if (e == NULL || e[0] == '\0')
		e = "the controller refused the request and gave no reason";
	return ctl_oneline(buf, len, e);
}

const char *
client_lost(const struct ctl *c, int r, char *buf, size_t len)
{
	char path[128];

	ctl_oneline(path, sizeof(path), c->sockets[c->cur < c->nsockets ? c->cur : 0]);
	if (r == -ETIMEDOUT)
		snprintf(buf, len, "the controller at %s did not answer within %u s", path,
		    c->timeout_s);
	else
		snprintf(buf, len, "lost the connection to %s: %s", path,
		    r == -ECONNRESET ? "closed by the controller" : strerror(-r));
	return buf;
}

/* The connection failed with r after it was made: exit 3. */
static void __attribute__((noreturn))
lost(const struct ctl *c, int r)
{
	char msg[256];

	ctl_fail(CTL_EXIT_UNREACHABLE, "%s", client_lost(c, r, msg, sizeof(msg)));
}

/*
 * What may be asked again of another controller when its answer was lost: the listings
 * and shows (docs/api.md), which change nothing. Anything else is a change.
 */
static bool
op_reads(const char *op)
{
	static const char *const reads[] = { "vpc.list", "vpc.show", "host.list", "vm.list",
	    "vm.show", "rule.list", "gateway.list" };

	for (size_t i = 0; op && i < sizeof(reads) / sizeof(reads[0]); i++)
		if (strcmp(op, reads[i]) == 0)
			return true;
	return false;
}

/* A change's answer was lost: it may or may not be applied there. Exit 3. */
static void __attribute__((noreturn))
unknown(const struct ctl *c, int r, const char *op)
{
	char msg[256], name[64];

	ctl_fail(CTL_EXIT_UNREACHABLE, "%s; whether %s was applied there is unknown (it was "
	    "not sent again)", client_lost(c, r, msg, sizeof(msg)),
	    ctl_oneline(name, sizeof(name), op));
}

json_t *
client_call(struct ctl *c, json_t *req)
{
	const char *opv = json_string_value(json_object_get(req, "op"));
	char *s = json_dumps(req, JSON_COMPACT), op[64], msg[1024];
	bool reads = op_reads(opv);
	const char *why;
	json_t *resp;
	int r;

	snprintf(op, sizeof(op), "%s", opv ? opv : "the request");
	json_decref(req);
	if (s == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	for (;;) {
		if (c->api.fd < 0)
			client_connect(c);
		r = client_send(c, s, strlen(s));
		if (r == -EMSGSIZE)
			ctl_fail(CTL_EXIT_ERROR, "the request is larger than the API's %u bytes",
			    WIRE_JSON_MAX);
		/* Not sent whole: no controller applies a frame cut short. The next one. */
		if (r < 0 && client_next(c, r))
			continue;
		if (r < 0)
			lost(c, r);
		if ((r = client_recv(c, &resp, &why)) == -EBADMSG)
			ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: %s", why);
		if (r == -EMSGSIZE)
			ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: larger than "
			    "the API's %u bytes", WIRE_JSON_MAX);
		if (r == 0)
			break;
		/* Sent whole, answer lost: a read is asked again, a change never. */
		if (!reads)
			unknown(c, r, op);
		if (!client_next(c, r))
			lost(c, r);
	}
	free(s);
	if (!json_is_true(json_object_get(resp, "ok")))
		ctl_fail(CTL_EXIT_ERROR, "%s", client_error(resp, msg, sizeof(msg)));
	return resp;
}
