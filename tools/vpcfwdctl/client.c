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
client_connect(struct ctl *c)
{
	char path[128];
	int r;

	ctl_oneline(path, sizeof(path), c->socket);
	r = apiclient_connect(&c->api, c->socket, c->timeout_s * 1000);
	if (r == -ENAMETOOLONG)
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s: the path is too long "
		    "for a unix socket", path);
	if (r == -ETIMEDOUT)	/* its listen backlog stayed full */
		ctl_fail(CTL_EXIT_UNREACHABLE, "the controller at %s did not take the "
		    "connection within %u s", path, c->timeout_s);
	if (r < 0)
		ctl_fail(CTL_EXIT_UNREACHABLE, "cannot connect to %s: %s", path, strerror(-r));
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

	ctl_oneline(path, sizeof(path), c->socket);
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
	if (c->api.fd < 0)
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
