/*
 * client: the rule-store's connection to a controller. It tries the configured
 * addresses in turn, says HELLO with the last seq the table holds, hands every record
 * to apply, and starts over (the next address, with backoff) when the connection
 * fails, ends, or stays silent past the timeout.
 */
#ifndef RULE_STORE_CLIENT_H
#define RULE_STORE_CLIENT_H

#include "apply.h"
#include "counters.h"
#include "common/loop.h"

#include <netinet/in.h>

#define CLIENT_ADDRS_MAX	8

struct client_params {
	struct sockaddr_in addrs[CLIENT_ADDRS_MAX];
	size_t naddrs;
	const char *node;
	uint64_t timeout_ns;		/* silence that ends a connection */
	uint64_t backoff_min_ns;
	uint64_t backoff_max_ns;
};

struct client;

struct client *client_new(struct loop *l, const struct client_params *p, struct apply *a,
    struct rule_store_counters *c);
void client_free(struct client *cl);

#endif
