/*
 * udp: a UDP socket on the loop (common/loop.h) for the sync protocol's servers and
 * clients. One multishot receive stays in flight and the kernel puts each datagram in
 * one of nrecv buffers (provided buffers: Linux 6.0 or later); every datagram is handed
 * to a callback with its source, and a batch of completions is one trip through the
 * loop. When all nrecv are taken before the loop comes round, the next datagrams wait in
 * the socket (counted: rx_nobuf). Sends take a buffer from a pool (udp_buf), are queued
 * as SQEs and submitted with the loop's next submit, and give the buffer back when they
 * complete: no copy, no syscall per datagram. A sender that found every buffer in
 * flight can be told when one comes back, so it need not drop what it had to send.
 */
#ifndef COMMON_UDP_H
#define COMMON_UDP_H

#include "common/loop.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct udp;

/*
 * A send buffer came back after udp_buf had found none: called once, from that send's
 * completion, however many NULLs there were. The callee may take buffers until udp_buf
 * finds none again, which arms the next call. (udp_drop does not call it: its caller
 * knows.)
 */
typedef void udp_buf_fn(struct udp *u, void *arg);

/*
 * A datagram sent to `to` came back as an ICMP error (port or host unreachable: nothing
 * listens there now). The kernel reports these only when asked (IP_RECVERR); a client
 * learns in one round trip that its server died, instead of after its timeout.
 */
typedef void udp_unreach_fn(struct udp *u, const struct sockaddr_in *to, int err,
    void *arg);

struct udp_params {
	uint32_t nrecv;		/* receive buffers (1..32768): datagrams a trip can take */
	uint32_t nsend;		/* send buffers */
	size_t dgram_max;	/* bytes a datagram (buffers are this size) */
	udp_buf_fn *buf_back;	/* NULL: not told (the arg is udp_new's) */
	udp_unreach_fn *unreach;/* NULL: ICMP errors ignored, as the kernel does */
};

/* A datagram arrived (data valid during the call only). */
typedef void udp_recv_fn(struct udp *u, const uint8_t *data, size_t len,
    const struct sockaddr_in *from, void *arg);

struct udp_counters {
	uint64_t rx, tx;		/* datagrams */
	uint64_t rx_errors;		/* receives that failed (re-armed) */
	uint64_t rx_truncated;		/* datagrams larger than dgram_max (dropped) */
	uint64_t rx_nobuf;		/* every receive buffer taken: the rest waited */
	uint64_t tx_errors;		/* sends that failed */
	uint64_t tx_nobuf;		/* udp_buf found every buffer in flight */
	uint64_t unreach;		/* ICMP errors for datagrams sent (with unreach) */
	uint64_t tx_resent;		/* sends stopped by such an error pending, sent again */
};

/* Bind to addr (port 0: any). NULL with err set. */
struct udp *udp_new(struct loop *l, const struct sockaddr_in *addr,
    const struct udp_params *p, udp_recv_fn *fn, void *arg, char *err, size_t errlen);
/* Cancels what is in flight and frees once it completed (safe from a callback). */
void udp_free(struct udp *u);
/* A free buffer of dgram_max bytes to build a datagram in; NULL (counted) when none. */
uint8_t *udp_buf(struct udp *u);
/* Send len bytes of a buffer from udp_buf to `to`; the buffer is the socket's again. */
void udp_send(struct udp *u, uint8_t *buf, size_t len, const struct sockaddr_in *to);
/* Give back a buffer from udp_buf without sending it. */
void udp_drop(struct udp *u, uint8_t *buf);
int udp_port(const struct udp *u);
/* Datagrams the kernel dropped at the socket since it was made (its buffer was full). */
uint64_t udp_sock_drops(const struct udp *u);
const struct udp_counters *udp_counters(const struct udp *u);

#endif
