/*
 * subscriber: see subscriber.h. Invariant: at most one connection exists, and a timer
 * is armed whenever none does, so the owner always either talks to a controller or is
 * about to try the next one.
 */
#include "common/subscriber.h"
#include "common/conn.h"
#include "common/log.h"
#include "common/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct subscriber {
	struct loop *l;
	struct subscriber_params p;
	const struct subscriber_ops *ops;
	void *arg;
	struct subscriber_counters c;
	struct conn *conn;
	size_t cur;			/* address being tried or used */
	uint64_t backoff_ns;
	uint64_t last_rx_ns;
	bool got_data;			/* this connection delivered something */
	struct loop_timer retry;	/* reconnect */
	struct loop_timer watch;	/* silence */
	struct log_ratelimit rl;
};

static void
schedule(struct subscriber *s)
{
	/* A full round of addresses failed: wait longer before the next round. */
	s->cur = (s->cur + 1) % s->p.naddrs;
	loop_timer_set(s->l, &s->retry, s->cur == 0 ? s->backoff_ns : 0);
	if (s->cur == 0) {
		s->backoff_ns *= 2;
		if (s->backoff_ns > s->p.backoff_max_ns)
			s->backoff_ns = s->p.backoff_max_ns;
	}
}

static int
on_frame(struct conn *c, const uint8_t *payload, uint32_t len)
{
	struct subscriber *s = conn_arg(c);
	struct wire_msg m;
	int rc;

	s->last_rx_ns = loop_now(s->l);
	if (!s->got_data) {
		s->got_data = true;
		s->backoff_ns = s->p.backoff_min_ns;
	}
	if ((rc = wire_decode_payload(payload, len, &m)) < 0) {
		s->c.malformed++;
		if (rc == -EPROTONOSUPPORT)
			log_warnx_rl(&s->rl, "the %s speaks stream version %u, this process %u: "
			    "upgrade one of them; reconnecting", s->p.what,
			    wire_payload_version(payload, len), WIRE_VERSION);
		else
			log_warnx_rl(&s->rl, "malformed record from the %s; reconnecting",
			    s->p.what);
		return -1;
	}
	if (m.type == WIRE_ERROR) {
		log_warnx("the %s refused us: %s", s->p.what, m.u.error.msg);
		s->c.malformed++;
		return -1;
	}
	if ((rc = s->ops->record(s->arg, &m)) < 0) {
		s->c.malformed++;
		log_warnx_rl(&s->rl, "a %s record out of place from the %s (%s); reconnecting",
		    wire_type_name(m.type), s->p.what, strerror(-rc));
		return -1;
	}
	return 0;
}

static void
on_connected(struct conn *c, int err)
{
	struct subscriber *s = conn_arg(c);
	struct wire_msg m = { .type = WIRE_HELLO };
	char ep[NET_ENDPOINT_STRLEN];
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n;

	net_endpoint_format(&s->p.addrs[s->cur], ep);
	if (err < 0) {
		s->c.connect_fails++;
		log_warnx_rl(&s->rl, "%s %s: %s", s->p.what, ep, strerror(-err));
		return;	/* `closed` follows and schedules the next try */
	}
	s->ops->hello(s->arg, &m.u.hello);
	if ((n = wire_encode(&m, buf, sizeof(buf))) < 0 || conn_send(c, buf, n) < 0) {
		conn_close(c, false);
		return;
	}
	s->c.connects++;
	s->c.connected = 1;
	s->last_rx_ns = loop_now(s->l);
	log_info("connected to %s %s (after seq %llu)", s->p.what, ep,
	    (unsigned long long)m.u.hello.last_seq);
}

static void
on_closed(struct conn *c, int err)
{
	struct subscriber *s = conn_arg(c);

	if (s == NULL)		/* subscriber_free let go of it */
		return;
	if (s->got_data)
		log_warnx("%s connection closed%s%s", s->p.what, err ? ": " : "",
		    err ? strerror(-err) : "");
	s->conn = NULL;
	s->c.connected = 0;
	s->ops->lost(s->arg);
	schedule(s);
}

static const struct conn_ops sub_ops = {
	.frame = on_frame,
	.connected = on_connected,
	.closed = on_closed,
};

static void
start(struct subscriber *s)
{
	struct conn_params cp = { .frame_max = WIRE_RECORD_MAX, .out_max = 64 * 1024,
	    .out_low = 0, .tls = s->p.tls };

	s->got_data = false;
	/* The watch gives a handshake that hangs the same timeout as a silent stream. */
	s->last_rx_ns = loop_now(s->l);
	s->conn = conn_connect(s->l, (const struct sockaddr *)&s->p.addrs[s->cur],
	    sizeof(s->p.addrs[0]), &cp, &sub_ops, s);
	if (s->conn == NULL) {
		s->c.connect_fails++;
		schedule(s);
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
	struct subscriber *s = t->arg;

	if (s->conn && loop_now(s->l) - s->last_rx_ns > s->p.timeout_ns) {
		s->c.timeouts++;
		log_warnx("%s silent for %llu ms; trying another", s->p.what,
		    (unsigned long long)(s->p.timeout_ns / 1000000));
		conn_close(s->conn, false);
	}
	loop_timer_set(s->l, &s->watch, s->p.timeout_ns / 4);
}

struct subscriber *
subscriber_new(struct loop *l, const struct subscriber_params *p,
    const struct subscriber_ops *ops, void *arg)
{
	struct subscriber *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->l = l;
	s->p = *p;
	s->ops = ops;
	s->arg = arg;
	s->backoff_ns = p->backoff_min_ns;
	s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
	s->retry = (struct loop_timer){ .fn = on_retry, .arg = s };
	s->watch = (struct loop_timer){ .fn = on_watch, .arg = s };
	loop_timer_set(l, &s->watch, p->timeout_ns / 4);
	start(s);
	return s;
}

void
subscriber_free(struct subscriber *s)
{
	if (s == NULL)
		return;
	loop_timer_cancel(s->l, &s->retry);
	loop_timer_cancel(s->l, &s->watch);
	if (s->conn) {
		conn_set_arg(s->conn, NULL);
		conn_close(s->conn, false);
	}
	free(s);
}

const struct subscriber_counters *
subscriber_counters(const struct subscriber *s)
{
	return &s->c;
}

int
subscriber_send(struct subscriber *s, const struct wire_msg *m)
{
	uint8_t buf[WIRE_LEN_SIZE + WIRE_RECORD_MAX];
	int n;

	if (s->conn == NULL || !s->c.connected)
		return -ENOTCONN;
	if ((n = wire_encode(m, buf, sizeof(buf))) < 0)
		return n;
	return conn_send(s->conn, buf, n);
}
