/*
 * subscriber: a client of one of the controller's streams (the rule-stores' log stream,
 * the learners' binding feed; docs/protocol.md). It tries the configured controller
 * addresses in turn, says HELLO (the owner fills it at each connection: its last seq,
 * the host it wants), hands each decoded record to the owner, and starts over (the
 * next address, with backoff doubling after each full round) when a connection fails,
 * ends, sends something malformed, or stays silent past the timeout.
 */
#ifndef COMMON_SUBSCRIBER_H
#define COMMON_SUBSCRIBER_H

#include "common/loop.h"
#include "common/wire.h"

#include <netinet/in.h>

struct tls_ctx;
#include <stdint.h>

#define SUBSCRIBER_ADDRS_MAX	8

struct subscriber_params {
	struct sockaddr_in addrs[SUBSCRIBER_ADDRS_MAX];
	size_t naddrs;
	uint64_t timeout_ns;		/* silence that ends a connection */
	uint64_t backoff_min_ns;
	uint64_t backoff_max_ns;
	const char *what;		/* in log lines: "controller", "binding feed" */
	struct tls_ctx *tls;		/* NULL: plaintext */
};

struct subscriber_ops {
	/* Fill the HELLO of a new connection (stream, last seq, node, host). */
	void (*hello)(void *arg, struct wire_hello *h);
	/* One record; a negative return ends the connection (it is out of place). */
	int (*record)(void *arg, const struct wire_msg *m);
	/* The connection ended: whatever was in progress on it is abandoned. */
	void (*lost)(void *arg);
};

struct subscriber_counters {
	uint64_t connects;		/* connections made */
	uint64_t connect_fails;		/* attempts that failed */
	uint64_t timeouts;		/* connections ended by silence */
	uint64_t malformed;		/* connections ended by a bad or refused record */
	uint64_t connected;		/* 1 while connected */
};

struct subscriber;

struct subscriber *subscriber_new(struct loop *l, const struct subscriber_params *p,
    const struct subscriber_ops *ops, void *arg);
void subscriber_free(struct subscriber *s);
const struct subscriber_counters *subscriber_counters(const struct subscriber *s);
/* Send a record to the controller: 0, -ENOTCONN when not connected, or a negative errno. */
int subscriber_send(struct subscriber *s, const struct wire_msg *m);

#endif
