/*
 * apiclient_test: the control API's blocking client. A controller that takes the
 * connection and never answers, or never takes it (its listen backlog full), ends a
 * call with -ETIMEDOUT once the timeout passes, instead of blocking the client for
 * good; a controller that answers is read as before.
 */
#include "common/apiclient.h"
#include "common/wire.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char path[64];

/* A unix listener at path that never accepts, with room for backlog + 1 connects. */
static int
listener(int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	snprintf(path, sizeof(path), "/tmp/apiclient_test.%d.sock", (int)getpid());
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, backlog), 0);
	return fd;
}

Test(apiclient, a_controller_that_never_answers_times_out)
{
	int l = listener(16);
	struct apiclient c;
	json_t *req = json_pack("{s:s}", "op", "vpc.list"), *resp = NULL;

	cr_assert_eq(apiclient_connect(&c, path, 100), 0);
	cr_assert_eq(apiclient_call(&c, req, &resp), -ETIMEDOUT);
	cr_assert_null(resp);
	apiclient_close(&c);
	json_decref(req);
	close(l);
	unlink(path);
}

Test(apiclient, a_controller_that_never_accepts_times_out_in_connect)
{
	int l = listener(0);
	struct apiclient fill, c;

	/* The backlog's one place taken: the next connect waits for an accept. */
	cr_assert_eq(apiclient_connect(&fill, path, 100), 0);
	cr_assert_eq(apiclient_connect(&c, path, 100), -ETIMEDOUT);
	cr_assert_eq(c.fd, -1);
	apiclient_close(&fill);
	close(l);
	unlink(path);
}

Test(apiclient, an_answer_is_read_with_a_timeout_set)
{
	int l = listener(16), s;
	struct apiclient c;
	uint8_t hdr[WIRE_LEN_SIZE], buf[256];
	static const char ans[] = "{\"ok\":true,\"vpcs\":[]}";
	json_t *resp = NULL;

	cr_assert_eq(apiclient_connect(&c, path, 100), 0);
	cr_assert_eq(apiclient_send(&c, "{}", 2), 0);
	cr_assert_geq(s = accept(l, NULL, NULL), 0);
	cr_assert_eq(read(s, buf, sizeof(buf)), WIRE_LEN_SIZE + 2);
	wire_frame_header(hdr, sizeof(ans) - 1);
	cr_assert_eq(write(s, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	cr_assert_eq(write(s, ans, sizeof(ans) - 1), (ssize_t)sizeof(ans) - 1);
	cr_assert_eq(apiclient_recv(&c, &resp), 0);
	cr_assert(json_is_true(json_object_get(resp, "ok")));
	json_decref(resp);
	apiclient_close(&c);
	close(s);
	close(l);
	unlink(path);
}
