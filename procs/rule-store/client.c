/*
 * client: see client.h. Invariant: at most one connection exists, and a timer is armed
 * whenever none does, so the rule-store always either talks to a controller or is
 * about to try the next one.
 */
#include "client.h"
#include "common/conn.h"
#include "common/log.h"
#include "common/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client {
	struct loop *l;
	struct client_params p;
	struct apply *a;
	struct rule_store_counters *c;
	struct conn *conn;
	size_t cur;			/* address being tried or used */
	uint64_t backoff_ns;
	uint64_t last_rx_ns;
	bool got_data;			/* this connection delivered something */
	struct loop_timer retry;	/* reconnect */
	struct loop_timer watch;	/* silence */
	struct log_ratelimit rl;
};

static void start(struct client *cl);

static void
schedule(struct client *cl)
{
	/* A full round of addresses failed: wait longer before the next round. */
	cl->cur = (cl->cur + 1) % cl->p.naddrs;
	loop_timer_set(cl->l, &cl->retry, cl->cur == 0 ? cl->backoff_ns : 0);
	if (cl->cur == 0) {
		cl->backoff_ns *= 2;
		if (cl->backoff_ns > cl->p.backoff_max_ns)
			cl->backoff_ns = cl->p.backoff_max_ns;
	}
}

static int
on_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct client *cl = conn_arg(c);
	struct wire_msg m;
	int rc;

	cl->last_rx_ns = loop_now(cl->l);
	if (!cl->got_data) {
		cl->got_data = true;
		cl->backoff_ns = cl->p.backoff_min_ns;
	}
	if (wire_decode_payload(payload, len, &m) < 0) {
		STATS_INC(cl->c, malformed);
		log_warnx_rl(&cl->rl, "malformed record from the controller; reconnecting");
		return -1;
	}
	if (m.type == WIRE_ERROR) {
		log_warnx("the controller refused us: %s", m.u.error.msg);
		return -1;
	}
	if ((rc = apply_msg(cl->a, &m)) < 0) {
		STATS_INC(cl->c, malformed);
		log_warnx_rl(&cl->rl, "a %s record out of place (%s); reconnecting",
		    wire_type_name(m.type), strerror(-rc));
		return -1;
	}
	return 0;
}

static void
on_connected(struct conn *c, int err)
{
	struct client *cl = conn_arg(c);
	struct wire_msg m = { .type = WIRE_HELLO };
	char ep[NET_ENDPOINT_STRLEN];
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n;

	net_endpoint_format(&cl->p.addrs[cl->cur], ep);
	if (err < 0) {
		STATS_INC(cl->c, connect_fails);
		log_warnx_rl(&cl->rl, "controller %s: %s", ep, strerror(-err));
		return;	/* `closed` follows and schedules the next try */
	}
	m.u.hello.stream = WIRE_STREAM_RULES;
	m.u.hello.last_seq = apply_seq(cl->a);
	snprintf(m.u.hello.node, sizeof(m.u.hello.node), "%s", cl->p.node);
	if ((n = wire_encode(&m, buf, sizeof(buf))) < 0 || conn_send(c, buf, n) < 0) {
		conn_close(c, false);
		return;
	}
	STATS_INC(cl->c, reconnects);
	STATS_SET(cl->c, connected, 1);
	cl->last_rx_ns = loop_now(cl->l);
	log_info("connected to controller %s, asking for records after seq %llu", ep,
	    (unsigned long long)m.u.hello.last_seq);
}

static void
on_closed(struct conn *c, int err)
{
	struct client *cl = conn_arg(c);

	if (cl == NULL)		/* client_free let go of it */
		return;
	if (cl->got_data)
		log_warnx("controller connection closed%s%s", err ? ": " : "",
		    err ? strerror(-err) : "");
	cl->conn = NULL;
	STATS_SET(cl->c, connected, 0);
	apply_reset(cl->a);
	schedule(cl);
}

static const struct conn_ops client_ops = {
	.frame = on_frame,
	.connected = on_connected,
	.closed = on_closed,
};

static void
start(struct client *cl)
{
	struct conn_params cp = { .frame_max = WIRE_RECORD_MAX, .out_max = 64 * 1024,
	    .out_low = 0 };

	cl->got_data = false;
	cl->conn = conn_connect(cl->l, (const struct sockaddr *)&cl->p.addrs[cl->cur],
	    sizeof(cl->p.addrs[0]), &cp, &client_ops, cl);
	if (cl->conn == NULL) {
		STATS_INC(cl->c, connect_fails);
		schedule(cl);
	}
}

static void
on_retry(struct loop_timer *t)
{
	start(t->arg);
}

/* A controller sends a heartbeat every second: silence means it is gone. */
static void
on_watch(struct loop_timer *t)
{
	struct client *cl = t->arg;

	if (cl->conn && loop_now(cl->l) - cl->last_rx_ns > cl->p.timeout_ns) {
		STATS_INC(cl->c, timeouts);
		log_warnx("controller silent for %llu ms; trying another",
		    (unsigned long long)(cl->p.timeout_ns / 1000000));
		conn_close(cl->conn, false);
	}
	loop_timer_set(cl->l, &cl->watch, cl->p.timeout_ns / 4);
}

struct client *
client_new(struct loop *l, const struct client_params *p, struct apply *a,
    struct rule_store_counters *c)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return NULL;
	cl->l = l;
	cl->p = *p;
	cl->a = a;
	cl->c = c;
	cl->backoff_ns = p->backoff_min_ns;
	cl->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	cl->retry = (struct loop_timer){ .fn = on_retry, .arg = cl };
	cl->watch = (struct loop_timer){ .fn = on_watch, .arg = cl };
	loop_timer_set(l, &cl->watch, p->timeout_ns / 4);
	start(cl);
	return cl;
}

void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	loop_timer_cancel(cl->l, &cl->retry);
	loop_timer_cancel(cl->l, &cl->watch);
	if (cl->conn) {
		conn_set_arg(cl->conn, NULL);
		conn_close(cl->conn, false);
	}
	free(cl);
}
