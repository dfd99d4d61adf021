/*
 * net: see net.h.
 */
#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sock_diag.h>

int
net_endpoint_parse(const char *s, struct sockaddr_in *sin, int allow_zero)
{
	char host[NET_ENDPOINT_STRLEN], *end;
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || (port == 0 && !allow_zero))
		return -EINVAL;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

char *
net_endpoint_format(const struct sockaddr_in *sin, char *buf)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	snprintf(buf, NET_ENDPOINT_STRLEN, "%s:%u", ip, ntohs(sin->sin_port));
	return buf;
}

int
net_bind(int fd, const struct sockaddr_in *sin)
{
	for (int i = 0; bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1; i++) {
		if (errno != EADDRINUSE || i == 50)
			return -1;
		usleep(20000);
	}
	return 0;
}

int
net_tcp_listen(const struct sockaddr_in *sin, int backlog, char *err, size_t errlen)
{
	char ep[NET_ENDPOINT_STRLEN];
	int fd, one = 1, e;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (net_bind(fd, sin) == -1 || listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	e = errno;
	snprintf(err, errlen, "listen on %s: %s", net_endpoint_format(sin, ep), strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

int
net_unix_listen(const char *path, mode_t mode, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = -1, probe, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	/*
	 * Someone listening there already? Then it is not ours to replace. A process killed
	 * a moment ago may still seem to listen (io_uring releases the files of its
	 * requests after the process is gone): ask again for a second before deciding.
	 */
	for (int i = 0; (probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0; i++) {
		int live = connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;

		close(probe);
		if (!live)
			break;
		if (i == 50) {
			snprintf(err, errlen, "%s: another process listens on it", path);
			return -EADDRINUSE;
		}
		usleep(20000);
	}
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, mode) == -1 || listen(fd, backlog) == -1) {
		e = errno;
		snprintf(err, errlen, "listen on %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int
net_local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -errno;
	return ntohs(sin.sin_port);
}

uint64_t
net_sock_drops(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mi[0]))
		return 0;
	return mi[SK_MEMINFO_DROPS];
}
