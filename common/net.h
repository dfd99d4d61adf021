/*
 * net: endpoints and listening sockets for the control plane: "a.b.c.d:port" parsed
 * strictly, TCP and unix listeners set up the way every process wants them, and what a
 * socket's kernel buffer dropped.
 */
#ifndef COMMON_NET_H
#define COMMON_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_ENDPOINT_STRLEN	22	/* "255.255.255.255:65535" and a NUL */

/* "10.0.0.1:7400" -> sin. 0, or -EINVAL. Port 0 allowed only when allow_zero. */
int net_endpoint_parse(const char *s, struct sockaddr_in *sin, int allow_zero);
char *net_endpoint_format(const struct sockaddr_in *sin, char *buf);
/*
 * bind(2), waiting up to a second while the port is in use: a process killed a moment
 * ago may still hold it (io_uring releases the files of its requests after the process
 * is gone). 0, or -1 with errno set.
 */
int net_bind(int fd, const struct sockaddr_in *sin);
/* A listening TCP socket (SO_REUSEADDR), or -errno with err set. */
int net_tcp_listen(const struct sockaddr_in *sin, int backlog, char *err, size_t errlen);
/*
 * A listening unix stream socket at path with the given mode. A socket file left by
 * a dead process is replaced; one a live process listens on is refused (-EADDRINUSE).
 */
int net_unix_listen(const char *path, mode_t mode, int backlog, char *err, size_t errlen);
/* The port a socket is bound to (after binding port 0). */
int net_local_port(int fd);
/* Datagrams the kernel dropped at socket fd since it was made (its buffer full); 0 if unknown. */
uint64_t net_sock_drops(int fd);

#endif
